//! `quorate lab replay -s SCRIPT | --script-file F`: reality next to the prediction.
//!
//! Owns reading the script, calling `executor::lab::replay::replay` and rendering its report:
//! per step a table of the nodes where every cell that differs reads `predicted/real` and a
//! mismatched node is marked with `!`, or the report as JSON. Exit codes: 0 reality agrees
//! with the prediction everywhere, 1 some node differs, 2 the replay could not run. It must
//! not drive the lab or predict anything itself.
//!
//! JSON schema (stable): `{"lab": NAME, "dir": DIR, "config": FILE, "mismatches": N,
//! "steps": [{"command", "line": N|null, "actions": [S..], "compared": bool, "settled": bool,
//! "settle_ms": N, "notes": [S..], "nodes": [{"name", "nodeid", "predicted": READING,
//! "real": READING, "mismatches": [FIELD..]}]}]}` where READING is `{"corosync":
//! "running"|"stopped"|"unknown", "quorate", "members", "total_votes", "expected_votes",
//! "quorum"}` (null unless running).

use super::{ReplayArgs, StatusFormat};
use crate::{EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use executor::lab::replay::{self, Reading, ReplayOptions, ReplayReport, StepComparison};
use executor::lab::Lab;
use std::io::Write;
use std::path::Path;

/// Runs `lab replay`.
pub fn run(dir: &Path, args: &ReplayArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let script = match (&args.script, &args.script_file) {
        (Some(script), _) => script.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the script {}", path.display()))?,
        (None, None) => anyhow::bail!("give a scenario with -s SCRIPT or --script-file F"),
    };
    let mut lab = Lab::open(dir)?;
    let options = ReplayOptions {
        fresh: args.fresh,
        // `install FILE` / `reload FILE` are read beside the script file first, as whatif reads them.
        files_dir: args
            .script_file
            .as_ref()
            .and_then(|path| Path::new(path).parent().map(Path::to_path_buf)),
    };
    let report = replay::replay(&mut lab, &script, &options, &mut |line| {
        let _ = writeln!(err, "replay: {line}");
    })?;
    match args.format {
        StatusFormat::Json => {
            let document = serde_json::json!({
                "lab": report.lab,
                "dir": dir.display().to_string(),
                "config": report.config.display().to_string(),
                "mismatches": report.mismatches,
                "steps": report.steps,
            });
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
        }
        StatusFormat::Human => out.write_all(human(&report).as_bytes())?,
    }
    Ok(if report.mismatches > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// One cell: the value, or `predicted/real` when they differ.
fn cell(predicted: String, real: String) -> String {
    if predicted == real {
        predicted
    } else {
        format!("{predicted}/{real}")
    }
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

fn number(value: Option<u32>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn members(value: &Option<Vec<u32>>) -> String {
    match value {
        Some(ids) => ids.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        None => "-".into(),
    }
}

fn cells(predicted: &Reading, real: &Reading) -> [String; 6] {
    [
        cell(predicted.corosync.to_string(), real.corosync.to_string()),
        cell(yes_no(predicted.quorate), yes_no(real.quorate)),
        cell(members(&predicted.members), members(&real.members)),
        cell(number(predicted.total_votes), number(real.total_votes)),
        cell(number(predicted.expected_votes), number(real.expected_votes)),
        cell(number(predicted.quorum), number(real.quorum)),
    ]
}

fn step_block(step: &StepComparison, text: &mut String) {
    let line = step
        .line
        .map_or_else(String::new, |line| format!(" [line {line}]"));
    let lab_did = if step.actions.is_empty() {
        String::new()
    } else {
        format!("lab: {}; ", step.actions.join(", "))
    };
    let verdict = if !step.compared {
        "not compared: the model predicts no stable membership"
    } else if step.mismatched() {
        "MISMATCH"
    } else {
        "agrees"
    };
    text.push_str(&format!(
        "{}{line} ({lab_did}{} {:.1} s): {verdict}\n",
        step.command,
        if step.settled {
            "settled in"
        } else {
            "did not settle in"
        },
        step.settle_ms as f64 / 1000.0
    ));
    let header = [
        "", "NODE", "ID", "COROSYNC", "QUORATE", "MEMBERS", "VOTES", "EXPECTED", "QUORUM",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for node in &step.nodes {
        let mut row = vec![
            if node.mismatches.is_empty() { " " } else { "!" }.to_string(),
            node.name.clone(),
            node.nodeid.to_string(),
        ];
        row.extend(cells(&node.predicted, &node.real));
        rows.push(row);
    }
    for line in crate::render::plain_columns(&rows) {
        text.push_str(&format!("  {line}\n"));
    }
    for note in &step.notes {
        text.push_str(&format!("  note: {note}\n"));
    }
}

/// The human rendering of a replay.
fn human(report: &ReplayReport) -> String {
    let mut text = format!(
        "replay on lab {}, predicted by `quorate whatif {}`; a cell `a/b` reads predicted/real, \
         `!` marks a node that differs\n",
        report.lab,
        report.config.display()
    );
    for step in &report.steps {
        text.push('\n');
        step_block(step, &mut text);
    }
    let readings: usize = report
        .steps
        .iter()
        .filter(|step| step.compared)
        .map(|step| step.nodes.len())
        .sum();
    text.push_str(&format!(
        "\n{} steps (with start), {readings} node readings compared, {} mismatch{}\n",
        report.steps.len(),
        report.mismatches,
        if report.mismatches == 1 { "" } else { "es" }
    ));
    text
}
