//! `quorate report`: the HTML page of every bundled example holds every section and node,
//! references nothing outside itself, is well-formed XML (the page and every SVG in it,
//! parsed by roxmltree), and its pictures never overlap label boxes (the topology for 2..32
//! nodes with 8 links, every timeline as drawn); headless Chromium renders it (the PNG
//! decoded: expected size, many colours) and its DOM holds every section and node; the
//! JSON form is snapshotted.

use crate::support::quorate;
use quorate::report::layout::{LabelBox, CHAR_WIDTH, LINE_HEIGHT};
use quorate::report::{Topology, TopologyNode};
use std::path::{Path, PathBuf};

/// The scenario of every example page: a `-s` script and a `--script-file` one.
const SCRIPT: &str = "stop 3";
const SCRIPT_FILE: &str = "isolate 1\nwait 30000\nheal\n";

/// The id of every section the page has, in order.
const SECTIONS: [&str; 6] = [
    "topology",
    "findings",
    "failure-matrix",
    "scenarios",
    "model-check",
    "plan",
];

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The planner's plan from the one-link example to the fixed one, written into `dir`.
fn plan_file(dir: &Path) -> String {
    let path = dir.join("plan.json").to_string_lossy().into_owned();
    let (code, _, stderr) = quorate(&[
        "plan",
        "--from",
        "examples/pve1/corosync.one-link.conf",
        "--to",
        "examples/pve1/corosync.fixed.conf",
        "-o",
        &path,
    ]);
    assert_eq!(code, 0, "{stderr}");
    path
}

/// The report page of `file` with the standard scenarios and the plan (and `extra`
/// arguments).
fn page_of(dir: &Path, file: &str, extra: &[&str]) -> String {
    let script_file = dir.join("scenario.whatif");
    std::fs::write(&script_file, SCRIPT_FILE).expect("script file");
    let script_file = script_file.to_string_lossy().into_owned();
    let plan = plan_file(dir);
    let mut args = vec![
        "report",
        file,
        "-s",
        SCRIPT,
        "--script-file",
        &script_file,
        "--plan",
        &plan,
    ];
    args.extend_from_slice(extra);
    let (code, page, stderr) = quorate(&args);
    assert_eq!(code, 0, "{file}: {stderr}");
    page
}

/// A corosync.conf with `count` nodes (pve-node-1.., ids 1..) on `links` knet links.
fn generated_conf(count: u32, links: u32) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!(
            "  node {{\n    name: pve-node-{nodeid}\n    nodeid: {nodeid}\n    quorum_votes: 1\n"
        ));
        for link in 0..links {
            nodes.push_str(&format!("    ring{link}_addr: 198.18.{link}.{nodeid}\n"));
        }
        nodes.push_str("  }\n");
    }
    let interfaces: String = (0..links)
        .map(|link| format!("  interface {{\n    linknumber: {link}\n  }}\n"))
        .collect();
    format!(
        "totem {{\n  version: 2\n  cluster_name: big\n  transport: knet\n{interfaces}}}\nnodelist {{\n{nodes}}}\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n"
    )
}

/// Parses `page` as XML (it is XHTML-clean), and every `<svg>` in it again on its own as a
/// standalone SVG document; returns the SVG texts.
fn well_formed(page: &str, what: &str) -> Vec<String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(page, options)
        .unwrap_or_else(|error| panic!("{what}: the page is not well-formed XML: {error}"));
    let svgs: Vec<String> = document
        .descendants()
        .filter(|node| node.has_tag_name("svg"))
        .map(|node| page[node.range()].to_string())
        .collect();
    for svg in &svgs {
        let standalone = roxmltree::Document::parse(svg)
            .unwrap_or_else(|error| panic!("{what}: an SVG is not well-formed on its own: {error}"));
        assert_eq!(
            standalone.root_element().tag_name().namespace(),
            Some("http://www.w3.org/2000/svg"),
            "{what}"
        );
    }
    svgs
}

/// The boxes of a timeline SVG's event labels, as drawn: from each `<text>`'s x and y
/// (baseline) and its length in the 12px monospace font.
fn timeline_label_boxes(svg: &str) -> Vec<(LabelBox, String)> {
    let document = roxmltree::Document::parse(svg).expect("svg parses");
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("event"))
        .flat_map(|group| group.children().filter(|node| node.has_tag_name("text")))
        .map(|text| {
            let number =
                |name: &str| -> f64 { text.attribute(name).expect("x and y").parse().expect("a number") };
            let label = text.text().unwrap_or("").to_string();
            (
                LabelBox {
                    x: number("x") - 1.0,
                    y: number("y") + 4.0 - LINE_HEIGHT,
                    width: label.chars().count() as f64 * CHAR_WIDTH + 2.0,
                    height: LINE_HEIGHT,
                },
                label,
            )
        })
        .collect()
}

/// Asserts that no two event labels of any timeline in `svgs` overlap; returns how many
/// labels the timelines have.
fn timeline_labels_apart(svgs: &[String], what: &str) -> usize {
    let mut count = 0;
    for svg in svgs.iter().filter(|svg| svg.contains("class=\"timeline\"")) {
        let boxes = timeline_label_boxes(svg);
        count += boxes.len();
        for (index, (first, first_label)) in boxes.iter().enumerate() {
            for (second, second_label) in &boxes[index + 1..] {
                assert!(
                    !first.overlaps(second),
                    "{what}: label {first_label:?} {first:?} overlaps {second_label:?} {second:?}"
                );
            }
        }
    }
    count
}

fn examples() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir("examples/pve1")
        .expect("examples/pve1 exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().to_string_lossy().into_owned())
        .filter(|path| path.ends_with(".conf"))
        .collect();
    files.sort();
    files
}

#[test]
fn report_of_every_example_has_every_section_and_node_and_no_external_reference() {
    let files = examples();
    assert!(files.len() >= 3, "{files:?}");
    let dir = temp_dir("sections");
    for file in files {
        let page = page_of(&dir, &file, &[]);
        for id in SECTIONS {
            assert!(
                page.contains(&format!("<section id=\"{id}\">")),
                "{file}: no section {id}"
            );
        }
        let (_, show, _) = quorate(&["show", &file, "--format", "json"]);
        let show: serde_json::Value = serde_json::from_str(&show).expect("show json");
        let names: Vec<String> = show["cmap"]["entries"]
            .as_object()
            .expect("cmap")
            .iter()
            .filter(|(key, _)| key.starts_with("nodelist.node.") && key.ends_with(".name"))
            .map(|(_, entry)| entry["value"].as_str().expect("name").to_string())
            .collect();
        assert!(!names.is_empty(), "{file}");
        for name in &names {
            assert!(
                page.contains(&format!("data-node=\"{name}\"")),
                "{file}: node {name} not drawn"
            );
        }
        // The only URL is the SVG namespace name, which is never fetched.
        assert_eq!(
            page.matches("http").count(),
            page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "{file}"
        );
        assert_eq!(
            page.matches("href").count(),
            page.matches("href=\"#").count(),
            "{file}: only links inside the page"
        );
        for external in ["src=", "url(", "@import", "<link", "<img", "<iframe", "<object"] {
            assert!(!page.contains(external), "{file}: {external}");
        }
        let losses = failure_matrix_has_grid_and_examples(&page, &file, names.len());
        let svgs = well_formed(&page, &file);
        // Topology, one membership picture per step (start and stop 3, then start,
        // isolate 1, wait, heal; the plan's before and its 2 steps; each smallest
        // failure's start and failure), and a timeline per step some node notices.
        let timelines = svgs
            .iter()
            .filter(|svg| svg.contains("class=\"timeline\""))
            .count();
        assert_eq!(
            svgs.iter()
                .filter(|svg| svg.contains("class=\"membership\""))
                .count(),
            6 + 3 + 2 * losses,
            "{file}"
        );
        assert_eq!(timelines, 3, "{file}: stop 3, isolate 1 and heal have a timeline");
        assert!(timeline_labels_apart(&svgs, &file) >= 6, "{file}");
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// `whatif --all`'s counts, read exactly (serde reads a JSON integer into `u128` digit for
/// digit; a `serde_json::Value` would round counts beyond 64 bits to `f64`).
#[derive(serde::Deserialize)]
struct ExactAll {
    scenarios: ExactTotal,
    grid: Vec<ExactCell>,
}

#[derive(serde::Deserialize)]
struct ExactTotal {
    total: u128,
    method: String,
}

#[derive(serde::Deserialize, PartialEq)]
struct ExactCell {
    nodes_down: u64,
    failed_links: Vec<u8>,
    scenarios: u128,
    classes: Vec<ExactCount>,
}

#[derive(serde::Deserialize, PartialEq)]
struct ExactCount {
    class: String,
    running: u128,
    cold_start: u128,
}

/// The section of `page` with id `id`.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let section = &page[page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"))..];
    &section[..section.find("</section>").expect("section end")]
}

/// The failure matrix of `file`'s page holds the grid of `whatif --all`'s JSON (a row per
/// number of down nodes, in each cell the running case's classes and counts) and, per
/// smallest total loss (at most 8), a toggle with its whatif command and two membership
/// pictures, linked from the grid; returns how many losses it shows.
fn failure_matrix_has_grid_and_examples(page: &str, file: &str, nodes: usize) -> usize {
    let (_, text, _) = quorate(&["whatif", file, "--all", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_str(&text).expect("whatif --all json");
    let exact: ExactAll = serde_json::from_str(&text).expect("whatif --all counts");
    let matrix = section(page, "failure-matrix");
    let running = &matrix[matrix
        .find("<table class=\"grid\" data-case=\"running\">")
        .unwrap_or_else(|| panic!("{file}: no grid"))..];
    let running = &running[..running.find("</table>").expect("grid end")];
    assert!(
        matrix.contains("<table class=\"grid\" data-case=\"cold-start\">"),
        "{file}"
    );
    // A header row, then one row per number of down nodes: 0 to every node.
    assert_eq!(
        running.matches("<tr>").count(),
        1 + nodes + 1,
        "{file}: {running}"
    );
    let counted: u128 = exact.grid.iter().map(|cell| cell.scenarios).sum();
    assert_eq!(counted, exact.scenarios.total, "{file}");
    let cold = &matrix[matrix
        .find("<table class=\"grid\" data-case=\"cold-start\">")
        .expect("cold grid")..];
    let cold = &cold[..cold.find("</table>").expect("grid end")];
    // Each class count of the cells without a failed link is drawn in its row, exactly
    // (both cases), and the classes of a cell add up to its scenarios.
    for cell in exact.grid.iter().filter(|cell| cell.failed_links.is_empty()) {
        let down = cell.nodes_down;
        for (grid, case) in [(running, "running"), (cold, "cold start")] {
            let row = &grid[grid
                .find(&format!("<tr><th>{down}</th>"))
                .unwrap_or_else(|| panic!("{file}: no row {down}"))..];
            let row = &row[..row.find("</tr>").expect("row end")];
            let mut sum = 0;
            for count in &cell.classes {
                let number = if case == "running" {
                    count.running
                } else {
                    count.cold_start
                };
                sum += number;
                if number > 0 {
                    assert!(
                        row.contains(&format!("<span class=\"k k-{}\" title=", count.class))
                            && row.contains(&format!(">{number}</span>")),
                        "{file}: {case} row {down} lacks {} {number}: {row}",
                        count.class
                    );
                }
            }
            assert_eq!(sum, cell.scenarios, "{file}: row {down}");
            assert!(!row.contains("&#8776;"), "{file}: every count exact: {row}");
        }
    }
    let losses = all["summary"]["smallest_total_loss"].as_array().expect("losses");
    for (index, loss) in losses.iter().take(8).enumerate() {
        let down: Vec<String> = loss["down"]
            .as_array()
            .expect("down")
            .iter()
            .map(|id| id.to_string())
            .collect();
        let example = &matrix[matrix
            .find(&format!(
                "<details class=\"example total-loss\" id=\"example-{index}\">"
            ))
            .unwrap_or_else(|| panic!("{file}: no example {index}"))..];
        let example = &example[..example.find("</details>").expect("example end")];
        assert!(
            example.contains(&format!(
                "<pre>quorate whatif {file} -s 'stop {}'</pre>",
                down.join(",")
            )),
            "{file}: {example}"
        );
        assert_eq!(example.matches("class=\"membership\"").count(), 2, "{file}");
        if index == 0 {
            let row = &running[running
                .find(&format!("<tr><th>{}</th>", down.len()))
                .expect("row")..];
            let row = &row[..row.find("</tr>").expect("row end")];
            assert!(
                row.contains("href=\"#example-0\""),
                "{file}: the grid links the example: {row}"
            );
        }
    }
    losses.len().min(8)
}

/// A two_node pair on two links that does not wait for all: a partition is split-brain.
const TWO_NODE_NO_WAIT: &str = "totem {\n  version: 2\n  cluster_name: pair\n  transport: knet\n  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 1\n  }\n}\nnodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 198.18.0.1\n    ring1_addr: 198.18.1.1\n  }\n  node {\n    name: b\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n    ring1_addr: 198.18.1.2\n  }\n}\nquorum {\n  provider: corosync_votequorum\n  two_node: 1\n  wait_for_all: 0\n}\n";

#[test]
fn report_failure_matrix_grid_and_the_smallest_split_brain_as_a_clickable_example() {
    let dir = temp_dir("grid");
    let file = dir.join("pair.conf");
    std::fs::write(&file, TWO_NODE_NO_WAIT).expect("write conf");
    let file = file.to_string_lossy().into_owned();
    let (code, page, stderr) = quorate(&["report", &file]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(failure_matrix_has_grid_and_examples(&page, &file, 2), 1);
    let matrix = section(&page, "failure-matrix");
    // One link failing leaves the other: the three link sets are one column.
    assert!(
        matrix.contains("<th>no link down; link 0 down; link 1 down</th>"),
        "{matrix}"
    );
    let row = &matrix[matrix.find("<tr><th>0</th>").expect("row 0")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.starts_with("<tr><th>0</th><td class=\"cell c-split-brain\">"),
        "{row}"
    );
    let example = &matrix[matrix
        .find("<details class=\"example split-brain\" id=\"example-1\"><summary>split-brain: partition 1 | 2 (running)</summary>")
        .expect("split-brain example")..];
    let example = &example[..example.find("</details>").expect("example end")];
    assert!(
        example.contains(&format!("<pre>quorate whatif {file} -s 'move 1:2'</pre>")),
        "{example}"
    );
    assert!(
        example.contains("<b>move 1:2</b> <span class=\"error\">split-brain</span>"),
        "{example}"
    );
    assert_eq!(example.matches("class=\"membership\"").count(), 2);

    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// Six nodes on two links whose expected_votes (2) lets two disjoint groups both be quorate
/// when they boot apart (nothing raises their expected votes): split-brain from a cold start
/// with 0, 1 and 2 nodes down.
fn six_split_prone() -> String {
    generated_conf(6, 2).replace(
        "provider: corosync_votequorum\n",
        "provider: corosync_votequorum\n  expected_votes: 2\n",
    )
}

/// `quorate whatif FILE -s SCRIPT --format json` through the binary (not in-process): the
/// verdict of its last step and that step's quorate memberships.
fn cli_replay(file: &str, script: &str) -> (bool, Vec<Vec<u64>>) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["whatif", file, "-s", script, "--format", "json"])
        .output()
        .expect("run quorate");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("whatif json: {}", String::from_utf8_lossy(&output.stderr)));
    let last = json["steps"]
        .as_array()
        .and_then(|steps| steps.last())
        .expect("a step")
        .clone();
    let sides = last["quorate_memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|side| {
            side.as_array()
                .expect("side")
                .iter()
                .map(|id| id.as_u64().expect("id"))
                .collect()
        })
        .collect();
    (last["split_brain"].as_bool().expect("verdict"), sides)
}

/// Every grid cell whose scenarios include a split-brain (either case, every column as
/// drawn) links to a concrete witness on the page: the cell's failure in words, the quorate
/// sides, the whatif command; replaying that script through the CLI gives split-brain with
/// the same quorate sides. Checked on the two_node pair (running and cold start) and on
/// six nodes that split in three rows. See: issue 15.
#[test]
fn report_grid_cells_with_split_brain_link_a_witness_that_replays() {
    let dir = temp_dir("witness");
    for (name, text, least_cells) in [
        ("pair.conf", TWO_NODE_NO_WAIT.to_string(), 2),
        ("six.conf", six_split_prone(), 3),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write conf");
        let file = file.to_string_lossy().into_owned();
        let (code, page, stderr) = quorate(&["report", &file]);
        assert_eq!(code, 0, "{stderr}");
        let (_, json, _) = quorate(&["report", &file, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&json).expect("report json");
        let matrix = &report["failure_matrix"]["data"];
        let examples = report["failure_examples"].as_array().expect("examples");
        let page_matrix = section(&page, "failure-matrix");
        let mut checked = 0;
        for (case, key) in [("running", "running"), ("cold-start", "cold_start")] {
            let grid = &page_matrix[page_matrix
                .find(&format!("<table class=\"grid\" data-case=\"{case}\">"))
                .expect("grid")..];
            let grid = &grid[..grid.find("</table>").expect("grid end")];
            // The first link set of each drawn column, in column order.
            let header = &grid[..grid.find("</tr>").expect("header")];
            let columns = header.matches("<th").count() - 1;
            for cell in matrix["grid"].as_array().expect("grid cells") {
                let split = cell["classes"]
                    .as_array()
                    .expect("classes")
                    .iter()
                    .find(|count| count["class"] == "split-brain")
                    .map_or(0, |count| count[key].as_u64().expect("count"));
                if split == 0 {
                    continue;
                }
                let down = cell["nodes_down"].as_u64().expect("down");
                // The cell's witness example (a column's first link set only).
                let Some((index, example)) = examples.iter().enumerate().find(|(_, example)| {
                    example["cell"]["nodes_down"] == down
                        && example["cell"]["failed_links"] == cell["failed_links"]
                        && example["cell"]["case"] == case
                }) else {
                    // Another link set of a drawn column: its cells equal the first's.
                    continue;
                };
                assert_eq!(example["kind"], "split_brain", "{name}");
                let witness = cell["split_brain_witnesses"]
                    .as_array()
                    .expect("witnesses")
                    .iter()
                    .find(|witness| witness["case"] == case)
                    .expect("a witness of this case");
                assert_eq!(example["script"], witness["script"], "{name}");
                assert_eq!(witness["replay_verified"], true, "{name}");
                let script = witness["script"].as_str().expect("script");
                let sides: Vec<Vec<u64>> =
                    serde_json::from_value(witness["quorate_sides"].clone()).expect("sides");
                assert!(sides.len() >= 2, "{name}: {sides:?}");
                // Disjoint sides.
                let all: Vec<u64> = sides.iter().flatten().copied().collect();
                let mut unique = all.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(unique.len(), all.len(), "{name}: {sides:?}");
                assert_eq!(
                    serde_json::from_value::<Vec<Vec<u64>>>(example["quorate_sides"].clone())
                        .expect("example sides"),
                    sides
                );
                // The CLI replays the script to the same verdict and the same sides.
                assert_eq!(
                    cli_replay(&file, script),
                    (true, sides.clone()),
                    "{name}: {script}"
                );
                // The page: the cell's row links the example, which shows all of it.
                let row = &grid[grid.find(&format!("<tr><th>{down}</th>")).expect("row")..];
                let row = &row[..row.find("</tr>").expect("row end")];
                assert!(
                    row.contains(&format!("<a class=\"witness-link\" href=\"#example-{index}\"")),
                    "{name}: {case} row {down}: {row}"
                );
                let item = &page_matrix[page_matrix
                    .find(&format!(
                        "<details class=\"example split-brain\" id=\"example-{index}\">"
                    ))
                    .expect("example")..];
                let item = &item[..item.find("</details>").expect("example end")];
                assert!(
                    item.contains(&format!(
                        "<pre>quorate whatif {file} -s '{}'</pre>",
                        script.replace('\n', "; ")
                    )),
                    "{name}: {item}"
                );
                let drawn: Vec<String> = sides
                    .iter()
                    .map(|side| {
                        let ids: Vec<String> = side.iter().map(u64::to_string).collect();
                        format!("<b>{{{}}}</b>", ids.join(", "))
                    })
                    .collect();
                assert!(
                    item.contains(&format!("quorate at once: {} (node ids)", drawn.join(" and "))),
                    "{name}: {item}"
                );
                let description = witness["description"].as_str().expect("description");
                assert!(item.contains(description), "{name}: {item}");
                assert!(
                    item.contains("<span class=\"error\">split-brain</span>"),
                    "{name}: {item}"
                );
                checked += 1;
            }
            assert!(columns >= 1);
        }
        assert!(checked >= least_cells, "{name}: {checked} cells checked");
        assert!(!page_matrix.contains("no witness recorded"), "{name}");
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// Bell(n), computed here independently of sim.
fn bell(n: usize) -> u128 {
    let mut row = vec![1u128];
    for _ in 0..n {
        let mut next = vec![*row.last().expect("row")];
        for value in &row {
            next.push(next.last().expect("next") + value);
        }
        row = next;
    }
    row[0]
}

/// C(n, k), computed here.
fn choose(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |ways, index| {
        ways * (n - index) as u128 / (index as u128 + 1)
    })
}

/// 32 nodes on 8 links are counted by vote sums, and the page has their grid, every count
/// exact: one row per number of down nodes, one column (each of the 255 link sets leaves
/// the other links meshing every node), in each cell the counts by hand: with d down, a
/// block of at least 17 of the 32 - d up nodes is quorate (no tie-breaker). The report's
/// JSON carries the same exact integers. See: issue 15.
#[test]
fn report_grid_of_a_vote_sum_cluster_is_exact() {
    let dir = temp_dir("votesums");
    let big = dir.join("big.conf");
    std::fs::write(&big, generated_conf(32, 8)).expect("write conf");
    let big = big.to_string_lossy().into_owned();
    let (code, page, stderr) = quorate(&["report", &big]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(failure_matrix_has_grid_and_examples(&page, &big, 32), 1);
    let matrix = section(&page, "failure-matrix");
    assert!(matrix.contains("<p class=\"note method\" data-method=\"vote-sums\">Counted by vote sums"));
    assert!(matrix.contains("<details class=\"example total-loss\" id=\"example-0\"><summary>all quorum lost with nodes 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 down ("), "{matrix}");
    let running = &matrix[matrix
        .find("<table class=\"grid\" data-case=\"running\">")
        .expect("grid")..];
    let running = &running[..running.find("</table>").expect("grid end")];
    // One column of cells, its header naming the first three of the 255 link sets.
    assert!(
        running.contains("no link down; link 0 down; link 1 down; &#8230; (255 link sets, each with the same cells)</th></tr>"),
        "{}",
        &running[..running.len().min(600)]
    );
    let (_, text, _) = quorate(&["whatif", &big, "--all", "--format", "json"]);
    let exact: ExactAll = serde_json::from_str(&text).expect("whatif --all counts");
    assert_eq!(exact.scenarios.method, "vote-sums");
    assert_eq!(exact.scenarios.total, bell(33) * 255);
    assert_eq!(exact.grid.len(), 33 * 255);
    for down in 0..=32usize {
        let up = 32 - down;
        let with_quorate: u128 = (17..=up)
            .map(|k| choose(32, down) * choose(up, k) * bell(up - k))
            .sum();
        let all_quorate = if up >= 17 { choose(32, down) } else { 0 };
        let scenarios = choose(32, down) * bell(up);
        let all_down = u128::from(up == 0);
        let expected = [
            ("all-quorate", all_quorate),
            ("one-quorate", with_quorate - all_quorate),
            ("none-quorate", scenarios - with_quorate - all_down),
            ("all-down", all_down),
        ];
        let row = &running[running.find(&format!("<tr><th>{down}</th>")).expect("row")..];
        let row = &row[..row.find("</tr>").expect("row end")];
        for (class, number) in expected.into_iter().filter(|(_, number)| *number > 0) {
            assert!(
                row.contains(&format!("<span class=\"k k-{class}\" title=\""))
                    && row.contains(&format!(">{number}</span>")),
                "row {down}: {class} {number}: {row}"
            );
        }
        for cell in exact.grid.iter().filter(|cell| cell.nodes_down == down as u64) {
            assert_eq!(cell.scenarios, scenarios);
        }
    }
    // The report's JSON holds the same exact integers (not rounded through f64).
    let (code, json, stderr) = quorate(&["report", &big, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    #[derive(serde::Deserialize)]
    struct Matrix {
        data: ExactAll,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        failure_matrix: Matrix,
    }
    let report: Page = serde_json::from_str(&json).expect("report json");
    assert_eq!(report.failure_matrix.data.scenarios.total, bell(33) * 255);
    assert!(
        report.failure_matrix.data.grid == exact.grid,
        "the report's grid is whatif's, digit for digit"
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn report_timeline_of_32_nodes_with_8_links_has_a_lane_per_node_and_no_overlapping_labels() {
    let dir = temp_dir("timeline32");
    let file = dir.join("big.conf");
    std::fs::write(&file, generated_conf(32, 8)).expect("write conf");
    let file = file.to_string_lossy().into_owned();
    let (code, page, stderr) = quorate(&["report", &file, "-s", "isolate 1\nlink down 0\nstop 5"]);
    assert_eq!(code, 0, "{stderr}");
    let svgs = well_formed(&page, &file);
    let timelines: Vec<&String> = svgs
        .iter()
        .filter(|svg| svg.contains("class=\"timeline\""))
        .collect();
    assert_eq!(timelines.len(), 3, "isolate, link down and stop are all noticed");
    for timeline in &timelines {
        for nodeid in 1..=32 {
            assert!(
                timeline.contains(&format!("pve-node-{nodeid} ({nodeid})")),
                "lane {nodeid}"
            );
        }
    }
    assert!(timeline_labels_apart(&svgs, &file) >= 32 * 3);
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// A two_node pair: `check` finds its split-brain (no fencing in the model).
const TWO_NODE: &str = "totem {\n  version: 2\n  cluster_name: t\n  transport: knet\n}\nnodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n  }\n  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n  }\n}\nquorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n";

#[test]
fn report_model_check_shows_verdicts_and_each_counterexample_step_by_step() {
    let dir = temp_dir("check");
    let file = dir.join("two.conf");
    std::fs::write(&file, TWO_NODE).expect("write conf");
    let file = file.to_string_lossy().into_owned();
    let (code, page, stderr) = quorate(&["report", &file]);
    assert_eq!(code, 0, "{stderr}");
    let (_, check, _) = quorate(&["check", &file, "--format", "json"]);
    let check: serde_json::Value = serde_json::from_str(&check).expect("check json");
    let section = &page[page
        .find("<section id=\"model-check\">")
        .expect("model check section")..];
    let section = &section[..section.find("</section>").expect("section end")];
    for property in check["properties"].as_array().expect("properties") {
        let name = property["name"].as_str().expect("name");
        let holds = property["holds"].as_bool().expect("holds");
        assert!(
            section.contains(&format!("<td style=\"text-align:left\">{name}</td>")),
            "{name}"
        );
        let anchor = format!("href=\"#counterexample-{name}\"");
        assert_eq!(
            section.contains(&anchor),
            !holds,
            "{name}: a link to its counterexample iff violated"
        );
        if !holds {
            // The counterexample, the same steps `quorate check` printed, drawn step by step.
            let target = format!("id=\"counterexample-{name}\"");
            let block = &section[section.find(&target).expect("counterexample block")..];
            let block = &block[..block[1..]
                .find("<div class=\"counterexample\"")
                .map_or(block.len(), |end| end + 1)];
            let steps: Vec<&str> = property["counterexample"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|step| step.as_str().expect("step"))
                .collect();
            assert!(!steps.is_empty());
            assert!(block.contains(&format!("-s '{}'", steps.join("; "))), "{block}");
            // whatif's start, then one picture per step.
            assert_eq!(
                block.matches("class=\"membership\"").count(),
                steps.len() + 1,
                "{block}"
            );
            assert!(block.contains("split-brain"), "{block}");
            // The two nodes of the split are drawn in two rings.
            assert!(
                block.contains("ring {1}") && block.contains("ring {2}"),
                "{block}"
            );
        }
    }
    assert!(section.contains("VIOLATED"));
    well_formed(&page, &file);

    // Beyond the report's limit the check is not run, and the page says why.
    let seven = dir.join("seven.conf");
    std::fs::write(&seven, generated_conf(7, 1)).expect("write conf");
    let (code, page, stderr) = quorate(&["report", &seven.to_string_lossy()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        page.contains("<p class=\"refused\">Not run: 7 nodes: the report checks clusters of at most 5 nodes"),
        "{page}"
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn report_plan_shows_every_step_with_the_cluster_after_it_and_the_rejected_orders() {
    let dir = temp_dir("plan");
    let plan_path = plan_file(&dir);
    let file = "examples/pve1/corosync.one-link.conf";
    let (code, page, stderr) = quorate(&["report", file, "--plan", &plan_path]);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).expect("plan")).expect("plan json");
    let section = &page[page.find("<section id=\"plan\">").expect("plan section")..];
    let section = &section[..section.find("</section>").expect("section end")];
    let steps = plan["steps"].as_array().expect("steps");
    assert!(steps.len() >= 2);
    for step in steps {
        let id = step["id"].as_u64().expect("id");
        let block = &section[section
            .find(&format!("id=\"plan-step-{id}\""))
            .expect("step block")..];
        let block = &block[..block.find("</svg>").expect("step picture")];
        assert!(
            block.contains(step["action"].as_str().expect("action")),
            "{block}"
        );
        assert!(
            block.contains("class=\"membership\""),
            "step {id} has its cluster picture"
        );
        for name in step["post"]["quorate"].as_array().expect("quorate") {
            let name = name.as_str().expect("name");
            assert!(
                block.contains(&format!(">{name}</text><text x=")) && block.contains(">quorate</text>"),
                "{block}"
            );
        }
    }
    // Before the first step, then one picture after each.
    assert_eq!(section.matches("class=\"membership\"").count(), steps.len() + 1);
    let rejected = plan["rejected"].as_array().expect("rejected");
    assert!(!rejected.is_empty());
    for order in rejected {
        let text = quorate::report::html::escape(order["order"].as_str().expect("order"));
        assert!(section.contains(&text), "rejected order {text} missing");
    }
    assert!(!section.contains("does not match its plan_sha256"), "{section}");
    assert!(!section.contains("does not start from"), "{section}");

    // A hand-edited plan is shown, with the warning plan verify would give.
    let edited =
        std::fs::read_to_string(&plan_path)
            .expect("plan")
            .replacen("\"why\": \"", "\"why\": \"edited: ", 1);
    let edited_path = dir.join("edited.json");
    std::fs::write(&edited_path, edited).expect("write edited plan");
    let (code, page, stderr) = quorate(&[
        "report",
        "examples/pve1/corosync.fixed.conf",
        "--plan",
        &edited_path.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(page.contains("does not match its plan_sha256"));
    assert!(page.contains("The plan does not start from examples/pve1/corosync.fixed.conf"));
    let edited_path = edited_path.to_string_lossy();
    assert!(
        stderr.contains(&format!(
            "warning: {edited_path}: the plan's content does not match its plan_sha256"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: {edited_path}: the plan does not start from examples/pve1/corosync.fixed.conf"
        )),
        "{stderr}"
    );

    // Something that is not a plan is a tool error naming the place.
    let (code, _, stderr) = quorate(&["report", file, "--plan", file]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{file}:1:1: not a quorate plan file")),
        "{stderr}"
    );
    let (code, _, stderr) = quorate(&["report", file, "--plan", "/nonexistent/plan.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/nonexistent/plan.json: cannot read the plan"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn report_html_escapes_text() {
    assert_eq!(
        quorate::report::html::escape("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn report_layout_of_2_to_32_nodes_with_8_links_has_no_overlapping_boxes() {
    for count in 2..=32u32 {
        let nodes = (1..=count)
            .map(|id| TopologyNode {
                name: format!("pve-node-{id}"),
                nodeid: Some(id),
                votes: 1,
                addresses: (0..8).map(|link| (link, format!("198.18.{link}.{id}"))).collect(),
            })
            .collect();
        let topology = Topology {
            nodes,
            links: (0..8).collect(),
            qnetd_host: Some("198.19.0.1".into()),
            device_model: None,
        };
        let layout = quorate::report::svg::topology_layout(&topology);
        let mut boxes = layout.nodes.clone();
        boxes.extend(layout.centre);
        assert_eq!(boxes.len(), count as usize + 1);
        for (index, first) in boxes.iter().enumerate() {
            for second in &boxes[index + 1..] {
                assert!(
                    !first.overlaps(second),
                    "{count} nodes: {first:?} overlaps {second:?}"
                );
            }
        }
        let svg = quorate::report::svg::topology(&topology);
        assert_eq!(svg.matches("class=\"node\"").count(), count as usize);
    }
}

#[test]
fn report_json_of_the_fixed_example() {
    let dir = temp_dir("json");
    // A plan that starts from the reported file (back to one link).
    let plan = dir.join("plan.json").to_string_lossy().into_owned();
    let (code, _, stderr) = quorate(&[
        "plan",
        "--from",
        "examples/pve1/corosync.fixed.conf",
        "--to",
        "examples/pve1/corosync.one-link.conf",
        "-o",
        &plan,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, json, stderr) = quorate(&[
        "report",
        "examples/pve1/corosync.fixed.conf",
        "-s",
        "stop 3",
        "--plan",
        &plan,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    // The plan's path holds the test's pid.
    insta::assert_snapshot!(json.replace(&plan, "PLAN"));
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn report_of_a_missing_file_is_a_tool_error() {
    let (code, _, stderr) = quorate(&["report", "/nonexistent/corosync.conf"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/corosync.conf"), "{stderr}");
}

/// Decodes a PNG screenshot: its width, height and how many distinct colours it has.
fn decode_png(png: &[u8]) -> (u32, u32, usize) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    let channels = frame.color_type.samples();
    // One bit per 24-bit colour (alpha ignored: screenshots are opaque); grey images
    // repeat their one channel.
    let mut seen = vec![0u64; (1 << 24) / 64];
    let mut colours = 0;
    for pixel in pixels[..frame.buffer_size()].chunks_exact(channels) {
        let (red, green, blue) = match pixel {
            [grey] | [grey, _] => (*grey, *grey, *grey),
            [red, green, blue, ..] => (*red, *green, *blue),
            [] => continue,
        };
        let index = usize::from(red) << 16 | usize::from(green) << 8 | usize::from(blue);
        if seen[index / 64] & (1 << (index % 64)) == 0 {
            seen[index / 64] |= 1 << (index % 64);
            colours += 1;
        }
    }
    (frame.width, frame.height, colours)
}

/// Runs headless Chromium on `url` with its own profile directory under `dir`.
fn chromium(dir: &std::path::Path, args: &[&str], url: &str) -> Vec<u8> {
    let output = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs (apt-get install chromium)");
    assert!(
        output.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn report_renders_in_headless_chromium() {
    let dir = temp_dir("chromium");
    for file in examples() {
        let html = dir.join("report.html");
        let html_path = html.to_string_lossy().into_owned();
        page_of(&dir, &file, &["-o", &html_path]);
        let url = format!("file://{}", html.display());
        let shot = dir.join("shot.png");
        // One run takes the screenshot and dumps the DOM (a run costs seconds).
        let dom = chromium(
            &dir,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1200,1600",
                "--dump-dom",
            ],
            &url,
        );
        let dom = String::from_utf8(dom).expect("utf-8 dom");
        let png = std::fs::read(&shot).expect("screenshot written");
        let (width, height, colours) = decode_png(&png);
        assert_eq!((width, height), (1200, 1600), "{file}");
        // A blank page is one colour; text (anti-aliased), the link colours, the green,
        // orange and red cells give hundreds.
        assert!(colours >= 100, "{file}: only {colours} distinct colours");
        for id in SECTIONS {
            assert!(
                dom.contains(&format!("<section id=\"{id}\">")),
                "{file}: dom has no section {id}"
            );
        }
        for node in ["pve1-node1", "pve1-node2", "pve1-node3"] {
            assert!(
                dom.contains(&format!("data-node=\"{node}\"")),
                "{file}: dom has no node {node}"
            );
        }
        assert!(dom.contains("class=\"timeline\""), "{file}: dom has no timeline");
        assert!(
            dom.contains("<table class=\"grid\" data-case=\"running\">"),
            "{file}: dom has no grid"
        );
        assert!(
            dom.contains("<details class=\"example total-loss\" id=\"example-0\">"),
            "{file}: dom has no closed example"
        );
    }
    // Following the grid's example link opens the example (the page's one script).
    let file = "examples/pve1/corosync.fixed.conf";
    let html = dir.join("report.html");
    page_of(&dir, file, &["-o", &html.to_string_lossy()]);
    let dom = chromium(
        &dir,
        &["--dump-dom"],
        &format!("file://{}#example-0", html.display()),
    );
    let dom = String::from_utf8(dom).expect("utf-8 dom");
    assert!(
        dom.contains("<details class=\"example total-loss\" id=\"example-0\" open=\"\"><summary>all quorum lost with nodes 1, 2 down (3 such sets)</summary>"),
        "{file}: the example is not opened"
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}
