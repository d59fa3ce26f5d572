//! The report page: one self-contained HTML file (inline CSS and SVG, no network, no
//! script: the toggles are `<details>` elements), printable.
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
svg{display:block;max-width:100%;height:auto;margin:.3em 0}@media print{details{display:block}details>*{display:block}}";

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

fn number(value: Option<&Value>) -> u128 {
    value
        .map(|value| value.to_string().parse().unwrap_or(0))
        .unwrap_or(0)
}

fn script_block(out: &mut String, file: &str, script: &str, title: &str) {
    let _ = write!(
        out,
        "<details><summary>{}</summary><pre>quorate whatif {} -s '{}'</pre></details>",
        escape(title),
        escape(file),
        escape(&script.replace('\n', "; "))
    );
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
            out.push_str("</table><h3>Smallest failures</h3>");
            for loss in items(value, "/summary/smallest_total_loss") {
                let down: Vec<String> = items(loss, "/down").map(|id| id.to_string()).collect();
                let script: Vec<String> = down.iter().map(|id| format!("stop {id}")).collect();
                script_block(
                    out,
                    &report.file,
                    &script.join("\n"),
                    &format!(
                        "all quorum lost with nodes {} down ({} such sets)",
                        down.join(", "),
                        number(loss.get("count"))
                    ),
                );
            }
            match value.pointer("/summary/split_brain/witness") {
                Some(witness) if !witness.is_null() => {
                    let script = witness.get("script").and_then(Value::as_str).unwrap_or("");
                    let description = witness.get("description").and_then(Value::as_str).unwrap_or("");
                    script_block(
                        out,
                        &report.file,
                        script,
                        &format!("split-brain possible: {description}"),
                    );
                }
                _ => out.push_str("<p>No split-brain scenario found.</p>"),
            }
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
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/><title>quorate report: {file}</title><style>{STYLE}</style></head><body><h1>quorate report: {file}</h1>",
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
