//! `quorate report`: the HTML page of every bundled example holds every section and node,
//! references nothing outside itself, and the topology layout never overlaps label boxes
//! for 2..32 nodes with 8 links; the JSON form is snapshotted.

use crate::support::quorate;
use quorate::report::{Topology, TopologyNode};

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

/// Counts of opening and closing tags of `name` (self-closing tags count as both).
fn tag_balance(page: &str, name: &str) -> (usize, usize) {
    let opening = page.matches(&format!("<{name} ")).count() + page.matches(&format!("<{name}>")).count();
    let self_closing = page
        .split(&format!("<{name} "))
        .skip(1)
        .filter(|rest| rest.split('>').next().is_some_and(|tag| tag.ends_with('/')))
        .count();
    (
        opening,
        page.matches(&format!("</{name}>")).count() + self_closing,
    )
}

#[test]
fn report_of_every_example_has_every_section_and_node_and_no_external_reference() {
    let files = examples();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let (code, page, stderr) = quorate(&["report", &file, "-s", "stop 3"]);
        assert_eq!(code, 0, "{file}: {stderr}");
        for id in ["topology", "findings", "failure-matrix", "scenarios"] {
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
        for external in ["href", "src=", "url(", "@import", "<script"] {
            assert!(!page.contains(external), "{file}: {external}");
        }
        for tag in [
            "svg", "g", "section", "table", "details", "rect", "text", "circle",
        ] {
            let (opening, closing) = tag_balance(&page, tag);
            assert_eq!(
                opening, closing,
                "{file}: <{tag}> opened {opening} closed {closing}"
            );
        }
    }
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
    let (code, json, stderr) = quorate(&[
        "report",
        "examples/pve1/corosync.fixed.conf",
        "-s",
        "stop 3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(json);
}

#[test]
fn report_of_a_missing_file_is_a_tool_error() {
    let (code, _, stderr) = quorate(&["report", "/nonexistent/corosync.conf"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/corosync.conf"), "{stderr}");
}

/// Width and height from a PNG's IHDR chunk (bytes 16..24, big-endian).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "not a PNG"
    );
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
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
    let dir = std::env::temp_dir().join(format!("quorate-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let blank = dir.join("blank.png");
    chromium(
        &dir,
        &[
            &format!("--screenshot={}", blank.display()),
            "--window-size=1200,1600",
        ],
        "about:blank",
    );
    let blank_len = std::fs::read(&blank).expect("blank screenshot").len();
    for file in examples() {
        let html = dir.join("report.html");
        let (code, _, stderr) = quorate(&["report", &file, "-s", "stop 3", "-o", &html.to_string_lossy()]);
        assert_eq!(code, 0, "{stderr}");
        let url = format!("file://{}", html.display());
        let shot = dir.join("shot.png");
        chromium(
            &dir,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1200,1600",
            ],
            &url,
        );
        let png = std::fs::read(&shot).expect("screenshot written");
        assert_eq!(png_size(&png), (1200, 1600), "{file}");
        // A blank page compresses to a few kilobytes; text and pictures do not.
        assert!(
            png.len() > 10 * blank_len,
            "{file}: screenshot {} bytes, blank page {blank_len}",
            png.len()
        );
        let dom = String::from_utf8(chromium(&dir, &["--dump-dom"], &url)).expect("utf-8 dom");
        for id in ["topology", "findings", "failure-matrix", "scenarios"] {
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
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}
