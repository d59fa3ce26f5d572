//! The report page: one self-contained HTML file (inline CSS and SVG, no network; the
//! toggles are `<details>` elements, and one inline script only opens the toggle a link
//! jumps to), printable.
//!
//! Owns the page structure and escaping. Every string from the file or a command goes
//! through [`escape`]. It must not compute anything the commands did not return.

use super::{ModelCheck, Refusal, Report, Section};
use serde_json::Value;
use std::fmt::Write;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#111}section{margin-bottom:2em;page-break-inside:avoid}\
pre{background:#f6f6f6;padding:.5em;overflow-x:auto}table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:.2em .5em;text-align:right}\
.error{color:#b00}.warning{color:#a60}.info,.note{color:#036}.ok{background:#b7e4b0}.bad{background:#f7a0a0}.some{background:#f7d08a}\
svg{display:block;max-width:100%;height:auto;margin:.3em 0}\
.k{display:inline-block;min-width:1.6em;margin:1px;padding:0 .25em;border:1px solid #555;border-radius:3px;text-align:center}\
.k-all-quorate{background:#b7e4b0}.k-one-quorate{background:#dcefa0}.k-none-quorate{background:#f7c08a}.k-split-brain{background:#f07070}\
.k-unstable{background:#d9c2ef}.k-all-down{background:#d0d0d0}table.grid td{text-align:left}caption{text-align:left;font-style:italic}\
.c-split-brain{background:#fbd0d0}.c-none-quorate{background:#fde6cc}.c-unstable{background:#efe4f8}.c-all-down{background:#eee}\
.c-one-quorate{background:#f0f8d8}.c-all-quorate{background:#e4f4e0}:target{outline:3px solid #36c}\
@media print{details{display:block}details>*{display:block}}";

/// The page's only script: opening the toggle a link jumps to (`#example-N`), so that a
/// click on a grid cell's example shows it. No network, no other behaviour: without
/// JavaScript the link still jumps and the toggle opens by a click.
const SCRIPT: &str =
    "function quorateOpen(){var target=document.getElementById(decodeURIComponent(location.hash.slice(1)));\
if(target){if(target.tagName==='DETAILS'){target.open=true}}}\
window.addEventListener('hashchange',quorateOpen);window.addEventListener('DOMContentLoaded',quorateOpen);";

fn refusal(out: &mut String, refusal: &Refusal) {
    let _ = write!(
        out,
        "<p class=\"refused\">Not available: <code>{}</code> exited {} and said:</p><pre>{}</pre>",
        escape(&refusal.command),
        refusal.exit_code,
        escape(&refusal.reason)
    );
}

fn code_frame(source: &str, line: usize, column: usize, end_column: usize) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut frame = String::new();
    for number in line.saturating_sub(1).max(1)..=(line + 1).min(lines.len()) {
        let _ = writeln!(frame, "{number:>4} | {}", lines[number - 1]);
        if number == line {
            let width = end_column.saturating_sub(column).max(1);
            let _ = writeln!(
                frame,
                "     | {}{}",
                " ".repeat(column.saturating_sub(1)),
                "^".repeat(width)
            );
        }
    }
    escape(&frame)
}

fn findings(out: &mut String, report: &Report) {
    out.push_str("<section id=\"findings\"><h2>2. Findings</h2>");
    match &report.findings {
        Section::Refused(refused) => refusal(out, refused),
        Section::Data(value) => {
            let diagnostics: Vec<&Value> = items(value, "/files")
                .filter_map(|file| file.get("diagnostics").and_then(Value::as_array))
                .flatten()
                .collect();
            if diagnostics.is_empty() {
                out.push_str("<p>lint found nothing.</p>");
            }
            for severity in ["error", "warning", "info", "note"] {
                let of_severity: Vec<_> = diagnostics
                    .iter()
                    .filter(|diagnostic| diagnostic.get("severity").and_then(Value::as_str) == Some(severity))
                    .collect();
                if of_severity.is_empty() {
                    continue;
                }
                let _ = write!(
                    out,
                    "<h3 class=\"{severity}\">{severity} ({})</h3>",
                    of_severity.len()
                );
                for diagnostic in of_severity {
                    let text = |key: &str| {
                        diagnostic
                            .get(key)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    let number =
                        |key: &str| diagnostic.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
                    let _ = write!(
                        out,
                        "<div class=\"diagnostic\"><p class=\"{severity}\"><b>{}</b> {}: {}</p>",
                        escape(&text("code")),
                        escape(&text("name")),
                        escape(&text("message"))
                    );
                    if number("line") > 0 {
                        let _ = write!(
                            out,
                            "<pre>{}</pre>",
                            code_frame(
                                &report.source,
                                number("line"),
                                number("column"),
                                number("end_column")
                            )
                        );
                    }
                    if !text("help").is_empty() {
                        let _ = write!(out, "<p>help: {}</p>", escape(&text("help")));
                    }
                    out.push_str("</div>");
                }
            }
        }
    }
    out.push_str("</section>");
}

fn class_of(lost: u128, total: u128) -> &'static str {
    match lost {
        0 => "ok",
        _ if lost == total => "bad",
        _ => "some",
    }
}

/// The elements of the JSON array at `pointer` in `value`; none when it is absent or not an
/// array.
fn items<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The exact integer at `value` ([`super::exact::integer`]); 0 when absent.
fn number(value: Option<&Value>) -> u128 {
    super::exact::integer(value).unwrap_or(0)
}

fn failure_matrix(out: &mut String, report: &Report) {
    out.push_str("<section id=\"failure-matrix\"><h2>3. Failure matrix (<code>whatif --all</code>)</h2>");
    match &report.failure_matrix {
        Section::Refused(refused) => refusal(out, refused),
        Section::Data(value) => {
            out.push_str("<h3>Node failures</h3><table><tr><th>nodes down</th><th>scenarios</th><th>lose quorum (running)</th><th>lose quorum (cold start)</th></tr>");
            for row in items(value, "/failure_sizes") {
                let total = number(row.get("total"));
                let lost = number(row.get("lose_quorum"));
                let cold = number(row.get("cold_start_lose_quorum"));
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{total}</td><td class=\"{}\">{lost}</td><td class=\"{}\">{cold}</td></tr>",
                    number(row.get("nodes_down")),
                    class_of(lost, total),
                    class_of(cold, total)
                );
            }
            out.push_str("</table><h3>Outcome classes (all scenarios, every link failure set)</h3><table><tr><th>class</th><th>running</th><th>cold start</th></tr>");
            for class in items(value, "/classes") {
                let name = class.get("class").and_then(Value::as_str).unwrap_or("");
                let css = match name {
                    "all-quorate" => "ok",
                    "split-brain" | "none-quorate" | "all-down" => "bad",
                    _ => "some",
                };
                let (running, cold) = (number(class.get("running")), number(class.get("cold_start")));
                let _ = write!(
                    out,
                    "<tr><td style=\"text-align:left\">{}</td><td class=\"{}\">{running}</td><td class=\"{}\">{cold}</td></tr>",
                    escape(class.get("label").and_then(Value::as_str).unwrap_or(name)),
                    if running == 0 { "" } else { css },
                    if cold == 0 { "" } else { css }
                );
            }
            out.push_str("</table><h3>Single link failures</h3><table><tr><th>link</th><th>membership changes</th><th>quorum kept</th><th>split-brain</th></tr>");
            for link in items(value, "/summary/single_link_failures") {
                let flag = |key: &str| link.get(key).and_then(Value::as_bool).unwrap_or(false);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td></tr>",
                    number(link.get("link")),
                    flag("changes_membership"),
                    if flag("quorum_kept") { "ok" } else { "bad" },
                    flag("quorum_kept"),
                    if flag("split_brain") { "bad" } else { "ok" },
                    flag("split_brain")
                );
            }
            out.push_str("</table>");
            grid(out, value, &report.failure_examples);
            smallest_failures(out, report, value);
            for note in items(value, "/notes") {
                let _ = write!(
                    out,
                    "<p class=\"note\">{}</p>",
                    escape(note.as_str().unwrap_or(""))
                );
            }
        }
    }
    out.push_str("</section>");
}

/// The outcome classes, worst first: a grid cell is drawn in the colour of the worst class
/// that occurs in it.
const WORST_FIRST: [&str; 6] = [
    "split-brain",
    "none-quorate",
    "unstable",
    "all-down",
    "one-quorate",
    "all-quorate",
];

/// `link 0,1 down` (or `no link down`) for a grid column's failed links.
pub(crate) fn links_title(failed_links: &[u64]) -> String {
    if failed_links.is_empty() {
        "no link down".to_string()
    } else {
        let links: Vec<String> = failed_links.iter().map(u64::to_string).collect();
        format!("link {} down", links.join(","))
    }
}

/// The header of a grid column: its link sets, at most four by name (more: the first three
/// and how many, every one in the tooltip).
fn column_title(titles: &[String]) -> String {
    if titles.len() <= 4 {
        return format!("<th>{}</th>", escape(&titles.join("; ")));
    }
    format!(
        "<th title=\"{}\">{}; &#8230; ({} link sets, each with the same cells)</th>",
        escape(&titles.join("; ")),
        escape(&titles[..3].join("; ")),
        titles.len()
    )
}

/// The grid: one row per number of down nodes, one column per set of failed links (sets
/// whose whole column is the same are one column), in each cell the classes that occur
/// and how often, running case (the cold start in a second grid, behind a toggle). A
/// cell holding a smallest total loss links to its example. Every count is shown exactly;
/// one that cannot be read as an exact integer is marked `≈` and the page says so.
fn grid(out: &mut String, value: &Value, examples: &[super::FailureExample]) {
    out.push_str("<h3 id=\"grid\">Outcome classes by failed nodes and failed links</h3>");
    let Some(cells) = value.get("grid").and_then(Value::as_array) else {
        out.push_str("<p class=\"note\">No grid: <code>whatif --all</code> gave no counts per number of failed nodes and link set; the tables above have the totals.</p>");
        return;
    };
    let method = value
        .pointer("/scenarios/method")
        .and_then(Value::as_str)
        .unwrap_or("enumeration");
    if method == "vote-sums" {
        out.push_str("<p class=\"note method\" data-method=\"vote-sums\">Counted by vote sums (docs/scale.md): no scenario is enumerated, each cell is counted exactly from the engine's answer per membership signature, per number of failed nodes and link set. Split-brain and partial meshes do not occur: the method refuses configurations where they could, and <code>whatif --all</code> enumerates those.</p>");
    }
    let links_of =
        |cell: &Value| -> Vec<u64> { items(cell, "/failed_links").filter_map(Value::as_u64).collect() };
    let mut by_key: std::collections::HashMap<(u64, Vec<u64>), &Value> = std::collections::HashMap::new();
    let mut rows: Vec<u64> = Vec::new();
    for cell in cells {
        let Some(row) = cell.get("nodes_down").and_then(Value::as_u64) else {
            continue;
        };
        rows.push(row);
        by_key.insert((row, links_of(cell)), cell);
    }
    rows.sort_unstable();
    rows.dedup();
    let cell_at = |row: u64, links: &[u64]| by_key.get(&(row, links.to_vec())).copied();
    // Columns: link sets whose cells are all equal (classes and counts) share one.
    let columns: Vec<(Vec<String>, Vec<u64>)> = super::grid_columns(value)
        .into_iter()
        .filter_map(|sets| {
            let titles = sets.iter().map(|links| links_title(links)).collect();
            Some((titles, sets.into_iter().next()?))
        })
        .collect();
    let labels: Vec<(String, String)> = items(value, "/classes")
        .map(|class| {
            let name = class
                .get("class")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let label = class
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or(&name)
                .to_string();
            (name, label)
        })
        .collect();
    let label_of = |name: &str| {
        labels
            .iter()
            .find(|(class, _)| class == name)
            .map_or(name.to_string(), |(_, label)| label.clone())
    };
    out.push_str("<p class=\"legend\">");
    for (name, label) in &labels {
        let _ = write!(
            out,
            "<span class=\"k k-{}\">{}</span> ",
            escape(name),
            escape(label)
        );
    }
    out.push_str("</p>");
    let loss_example = examples
        .iter()
        .position(|example| example.kind == super::ExampleKind::TotalLoss);
    let mut inexact = false;
    let mut missing_witness = false;
    for (case, key, caption) in [
        ("running", "running", "a running cluster suffers the failure"),
        ("cold-start", "cold_start", "the nodes boot inside the failure"),
    ] {
        if case == "cold-start" {
            out.push_str("<details><summary>the same grid from a cold start</summary>");
        }
        let _ = write!(
            out,
            "<table class=\"grid\" data-case=\"{case}\"><caption>{caption}: scenarios per outcome class (every partition of the other nodes)</caption><tr><th>nodes down</th>"
        );
        for (titles, _) in &columns {
            out.push_str(&column_title(titles));
        }
        out.push_str("</tr>");
        for row in &rows {
            let _ = write!(out, "<tr><th>{row}</th>");
            for (_, links) in &columns {
                let Some(cell) = cell_at(*row, links) else {
                    out.push_str("<td></td>");
                    continue;
                };
                // (class, exact count or the raw text when it is not an exact integer)
                let counts: Vec<(&str, Result<u128, String>)> = items(cell, "/classes")
                    .filter_map(|count| {
                        let name = count.get("class").and_then(Value::as_str)?;
                        let raw = count.get(key)?;
                        match super::exact::integer(Some(raw)) {
                            Some(0) => None,
                            Some(number) => Some((name, Ok(number))),
                            None => Some((name, Err(raw.to_string()))),
                        }
                    })
                    .collect();
                let worst = WORST_FIRST
                    .iter()
                    .find(|name| counts.iter().any(|(class, _)| class == *name))
                    .copied()
                    .unwrap_or("all-quorate");
                let _ = write!(out, "<td class=\"cell c-{worst}\">");
                for (class, count) in &counts {
                    let shown = match count {
                        Ok(number) => number.to_string(),
                        Err(raw) => {
                            inexact = true;
                            format!("&#8776;{}", escape(raw))
                        }
                    };
                    let _ = write!(
                        out,
                        "<span class=\"k k-{class}\" title=\"{}\">{shown}</span>",
                        escape(&label_of(class))
                    );
                }
                let is_loss_row = loss_example
                    .is_some_and(|index| examples[index].nodes_down == Some(*row as usize))
                    && links.is_empty()
                    && case == "running";
                if let (true, Some(index)) = (is_loss_row, loss_example) {
                    let _ = write!(
                        out,
                        " <a class=\"example-link\" href=\"#example-{index}\" title=\"the smallest failure that loses all quorum\">example</a>"
                    );
                }
                if counts.iter().any(|(class, _)| *class == "split-brain") {
                    let witness = examples.iter().position(|example| {
                        example.cell.as_ref().is_some_and(|here| {
                            here.nodes_down == *row && here.failed_links == *links && here.case == case
                        })
                    });
                    match witness {
                        Some(index) => {
                            let _ = write!(
                                out,
                                " <a class=\"witness-link\" href=\"#example-{index}\" title=\"a split-brain scenario of this cell: which nodes and links fail, which sides are quorate, the whatif script that replays it\">split-brain witness</a>"
                            );
                        }
                        None => {
                            missing_witness = true;
                            out.push_str(" <span class=\"no-witness\">no witness recorded</span>");
                        }
                    }
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
        if case == "cold-start" {
            out.push_str("</details>");
        }
    }
    if missing_witness {
        out.push_str("<p class=\"note no-witness\">A cell marked \"no witness recorded\" counts split-brain scenarios, but <code>whatif --all</code> names none of them: replay its scenarios with <code>quorate whatif FILE -s SCRIPT</code> to find one.</p>");
    }
    if inexact {
        out.push_str("<p class=\"note inexact\">Counts marked &#8776; are not exact integers in <code>whatif --all</code>'s JSON: they are shown as printed, not as exact counts.</p>");
    }
}

/// The smallest failures that lose all quorum or allow split-brain: each a toggle (its
/// summary is the link) holding the whatif command that replays it and the membership
/// picture of every step.
fn smallest_failures(out: &mut String, report: &Report, value: &Value) {
    out.push_str("<h3 id=\"smallest-failures\">Smallest failures</h3><p>Click one to see its membership picture and the command that replays it.</p><ul class=\"examples\">");
    // The smallest failures: the total losses and `whatif --all`'s overall split-brain
    // witness (the first split-brain example); the other split-brain examples are the
    // witnesses of grid cells, listed after them.
    let overall = report
        .failure_examples
        .iter()
        .position(|example| example.kind == super::ExampleKind::SplitBrain);
    let is_cell_witness = |index: usize| {
        report.failure_examples[index].kind == super::ExampleKind::SplitBrain && Some(index) != overall
    };
    for (index, example) in report.failure_examples.iter().enumerate() {
        if !is_cell_witness(index) {
            example_item(out, report, index, example);
        }
    }
    out.push_str("</ul>");
    if (0..report.failure_examples.len()).any(is_cell_witness) {
        out.push_str("<h3 id=\"cell-witnesses\">Split-brain witness of each grid cell</h3><p>Every grid cell with a split-brain scenario links to one of them (the fewest partitions first): which nodes and links fail, which sides are quorate, and the command that replays it.</p><ul class=\"examples cell-witnesses\">");
        for (index, example) in report.failure_examples.iter().enumerate() {
            if is_cell_witness(index) {
                example_item(out, report, index, example);
            }
        }
        out.push_str("</ul>");
    }
    let listed = items(value, "/summary/smallest_total_loss").count();
    let shown = report
        .failure_examples
        .iter()
        .filter(|example| example.kind == super::ExampleKind::TotalLoss)
        .count();
    let complete = value
        .pointer("/summary/smallest_total_loss_complete")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if listed > shown || !complete {
        let _ = write!(
            out,
            "<p class=\"note\">{} more down set(s) of that size lose all quorum too: <code>quorate whatif {} --all --format json</code> lists {}.</p>",
            listed - shown,
            escape(&report.file),
            if complete { "them all" } else { "the first 256" }
        );
    }
    if listed == 0 {
        out.push_str("<p>No failure of nodes alone loses all quorum.</p>");
    }
    if value
        .pointer("/summary/split_brain/witness")
        .is_none_or(Value::is_null)
    {
        out.push_str("<p>No split-brain scenario found.</p>");
    }
}

/// One failure example: a toggle whose summary is the link target, holding the whatif
/// command that replays it, for a split-brain the quorate sides, and the membership
/// picture of each step.
fn example_item(out: &mut String, report: &Report, index: usize, example: &super::FailureExample) {
    let kind = match example.kind {
        super::ExampleKind::TotalLoss => "total-loss",
        super::ExampleKind::SplitBrain => "split-brain",
    };
    let _ = write!(
        out,
        "<li><details class=\"example {kind}\" id=\"example-{index}\"><summary>{}</summary><pre>quorate whatif {} -s '{}'</pre>",
        escape(&example.title),
        escape(&report.file),
        escape(&example.script.replace('\n', "; "))
    );
    if !example.quorate_sides.is_empty() {
        let sides: Vec<String> = example
            .quorate_sides
            .iter()
            .map(|side| {
                let ids: Vec<String> = side.iter().map(u64::to_string).collect();
                format!("<b>{{{}}}</b>", ids.join(", "))
            })
            .collect();
        let _ = write!(
            out,
            "<p class=\"sides\">quorate at once: {} (node ids)</p>",
            sides.join(" and ")
        );
    }
    match &example.whatif {
        Section::Refused(refused) => refusal(out, refused),
        Section::Data(whatif) => steps(out, whatif, false, &[]),
    }
    out.push_str("</details></li>");
}

/// One block per step of a whatif run: the command, the membership picture and (with
/// `timelines`) the step's timeline; `notes[i]` is added under step i when given.
fn steps(out: &mut String, whatif: &Value, timelines: bool, notes: &[Option<String>]) {
    for (index, step) in items(whatif, "/steps").enumerate() {
        let command = step.get("command").and_then(Value::as_str).unwrap_or("");
        let split = step.get("split_brain").and_then(Value::as_bool).unwrap_or(false);
        let possible = step
            .get("split_brain_possible")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let flag = if split {
            " <span class=\"error\">split-brain</span>"
        } else if possible {
            " <span class=\"warning\">split-brain possible (another delivery order)</span>"
        } else {
            ""
        };
        let _ = write!(out, "<div class=\"step\"><p><b>{}</b>{flag}</p>", escape(command));
        // Step 0 is whatif's `start`; the script's steps follow.
        if let Some(Some(note)) = index.checked_sub(1).and_then(|step_index| notes.get(step_index)) {
            let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
        }
        out.push_str(&super::svg::membership(step));
        if timelines {
            match super::timeline::timeline(step) {
                Some(svg) => out.push_str(&svg),
                None => {
                    out.push_str("<p class=\"note\">No timeline: no node notices anything in this step.</p>")
                }
            }
        }
        out.push_str("</div>");
    }
}

fn scenarios(out: &mut String, report: &Report) {
    if report.scenarios.is_empty() {
        return;
    }
    out.push_str("<section id=\"scenarios\"><h2>4. Scenarios</h2>");
    for scenario in &report.scenarios {
        let _ = write!(out, "<h3>Script <code>{}</code></h3>", escape(&scenario.script));
        match &scenario.whatif {
            Section::Refused(refused) => refusal(out, refused),
            Section::Data(value) => steps(out, value, true, &[]),
        }
    }
    out.push_str("</section>");
}

fn model_check(out: &mut String, report: &Report) {
    out.push_str("<section id=\"model-check\"><h2>5. Model check (<code>quorate check</code>)</h2>");
    match &report.model_check {
        ModelCheck::NotRun { reason } => {
            let _ = write!(out, "<p class=\"refused\">Not run: {}</p>", escape(reason));
        }
        ModelCheck::Ran(run) => {
            let number = |key: &str| run.check.get(key).map_or_else(String::new, Value::to_string);
            let _ = write!(
                out,
                "<p>Every behaviour of the running cluster with up to {} faults (crashes, partitions, link failures; starts, heals and waiting free): {} states, depth {}.</p>",
                number("max_faults"),
                number("states"),
                number("depth")
            );
            if let Some(stopped) = &run.stopped {
                let _ = write!(out, "<p class=\"warning\">{}</p>", escape(stopped));
            } else if run.check.get("complete").and_then(Value::as_bool) == Some(false) {
                out.push_str("<p class=\"warning\">Stopped at the first violation: the other verdicts are incomplete.</p>");
            }
            out.push_str("<table><tr><th>property</th><th>kind</th><th>verdict</th><th>note</th></tr>");
            for property in items(&run.check, "/properties") {
                let text = |key: &str| property.get(key).and_then(Value::as_str).unwrap_or("");
                let holds = property.get("holds").and_then(Value::as_bool).unwrap_or(false);
                let (class, verdict) = match (holds, text("kind")) {
                    (true, _) => ("ok", "holds"),
                    (false, "safety") => ("bad", "VIOLATED"),
                    (false, _) => ("some", "violated"),
                };
                let anchor = if holds {
                    String::new()
                } else {
                    format!(
                        " (<a href=\"#counterexample-{}\">counterexample</a>)",
                        escape(text("name"))
                    )
                };
                let _ = write!(
                    out,
                    "<tr><td style=\"text-align:left\">{}</td><td>{}</td><td class=\"{class}\">{verdict}{anchor}</td><td style=\"text-align:left\">{}</td></tr>",
                    escape(text("name")),
                    escape(text("kind")),
                    escape(text("note"))
                );
            }
            out.push_str("</table>");
            for counterexample in &run.counterexamples {
                let _ = write!(
                    out,
                    "<div class=\"counterexample\" id=\"counterexample-{name}\"><h3>Counterexample of {name} ({} step(s))</h3><pre>quorate whatif {} -s '{}'</pre>",
                    counterexample.steps.len(),
                    escape(&report.file),
                    escape(&counterexample.steps.join("; ")),
                    name = escape(&counterexample.property)
                );
                let notes: Vec<Option<String>> = counterexample
                    .delivery_orders
                    .iter()
                    .map(|order| {
                        order.as_ref().map(|order| {
                            format!("needs a delivery order other than ascending node id: {order}")
                        })
                    })
                    .collect();
                match &counterexample.whatif {
                    Section::Refused(refused) => refusal(out, refused),
                    Section::Data(value) => steps(out, value, false, &notes),
                }
                out.push_str("</div>");
            }
        }
    }
    out.push_str("</section>");
}

fn plan(out: &mut String, report: &Report) {
    let Some(section) = &report.plan else {
        return;
    };
    let plan = &section.plan;
    out.push_str("<section id=\"plan\"><h2>6. Plan</h2>");
    let verdict = match plan.verdict {
        planner::Verdict::Safe => "safe: the running cluster stays quorate at every step",
        planner::Verdict::NeedsOutage => "needs an outage: some state has no quorate node",
    };
    let _ = write!(
        out,
        "<p><code>{}</code>: {} step(s), about {}; verdict <b>{}</b>; every state checked with {} more fault(s) ({} states explored){}.</p>",
        escape(&section.path),
        plan.steps.len(),
        super::timeline::format_ms(plan.estimate_ms()),
        escape(verdict),
        plan.fault_budget,
        plan.states_explored,
        if plan.proxmox { "; Proxmox VE (through /etc/pve)" } else { "" }
    );
    if !section.sealed {
        out.push_str("<p class=\"error\">The plan's content does not match its plan_sha256 (edited by hand?): <code>quorate plan verify</code> and <code>quorate apply</code> refuse it.</p>");
    }
    match section.starts_from_file {
        Some(false) => {
            let _ = write!(
                out,
                "<p class=\"warning\">The plan does not start from {} (its from_sha256 is another file's).</p>",
                escape(&report.file)
            );
        }
        None => out.push_str("<p>The plan forms a new cluster (<code>--from none</code>).</p>"),
        Some(true) => {}
    }
    let mut all: Vec<(&u32, &String)> = plan.nodeids.iter().map(|(name, id)| (id, name)).collect();
    all.sort();
    let all: Vec<String> = all.into_iter().map(|(_, name)| name.clone()).collect();
    if let Some(first) = plan.steps.first() {
        let _ = write!(
            out,
            "<div class=\"step\"><p><b>before</b>: expected votes {}</p>{}</div>",
            first.pre.expected_votes,
            super::svg::plan_snapshot(&first.pre, &all)
        );
    }
    for step in &plan.steps {
        let _ = write!(
            out,
            "<div class=\"step\" id=\"plan-step-{id}\"><p><b>{id}. {} on {}</b> (about {}, timeout {})</p><p>why: {}</p>",
            escape(&step.action),
            escape(&step.nodes.join(", ")),
            super::timeline::format_ms(step.estimate_ms),
            super::timeline::format_ms(step.timeout_ms),
            escape(&step.why),
            id = step.id
        );
        if let Some(warning) = &step.warning {
            let _ = write!(out, "<p class=\"warning\">{}</p>", escape(warning));
        }
        if !step.commands.is_empty() {
            out.push_str("<details><summary>commands</summary><pre>");
            for (node, commands) in &step.commands {
                let _ = writeln!(out, "on {}:", escape(node));
                for command in commands {
                    let _ = writeln!(out, "  $ {}", escape(command));
                }
            }
            out.push_str("</pre></details>");
        }
        let _ = write!(
            out,
            "<p>after: expected votes {}</p>{}</div>",
            step.post.expected_votes,
            super::svg::plan_snapshot(&step.post, &all)
        );
    }
    out.push_str("<h3>Rejected orders</h3>");
    if plan.rejected.is_empty() {
        out.push_str("<p>None: the planner found no natural order to warn about.</p>");
    } else {
        out.push_str("<ul class=\"rejected\">");
        for rejected in &plan.rejected {
            let _ = write!(
                out,
                "<li><b>{}</b><br/>because: {}</li>",
                escape(&rejected.order),
                escape(&rejected.because)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

/// The whole page.
pub fn page(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/><title>quorate report: {file}</title><style>{STYLE}</style><script>{SCRIPT}</script></head><body><h1>quorate report: {file}</h1>",
        file = escape(&report.file)
    );
    out.push_str("<section id=\"topology\"><h2>1. Topology</h2>");
    out.push_str(&super::svg::topology(&report.topology));
    out.push_str("<table><tr><th>node</th><th>nodeid</th><th>votes</th><th>addresses</th></tr>");
    for node in &report.topology.nodes {
        let addresses: Vec<String> = node
            .addresses
            .iter()
            .map(|(link, address)| {
                format!(
                    "<span style=\"color:{}\">link {link}: {}</span>",
                    super::svg::link_colour(*link),
                    escape(address)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            escape(&node.name),
            node.nodeid.map_or_else(String::new, |id| id.to_string()),
            node.votes,
            addresses.join("<br/>")
        );
    }
    out.push_str("</table></section>");
    findings(&mut out, report);
    failure_matrix(&mut out, report);
    scenarios(&mut out, report);
    model_check(&mut out, report);
    plan(&mut out, report);
    out.push_str("</body></html>\n");
    out
}
