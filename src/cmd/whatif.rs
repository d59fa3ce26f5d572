//! `quorate whatif FILE -s SCRIPT | --script-file F | --all`: per-node quorum after each step.
//!
//! Owns the arguments, reading the configuration, the script and the files a `reload FILE`
//! names, the warnings about a configuration corosync would refuse, and the rendering of
//! `sim::whatif::Report` (a table per step, or JSON). `--all` is handed to
//! `cmd::whatif_all`. It must not decide quorum: `sim::whatif` and `model::quorum` do.

use crate::input::{read_input, LoadedConfig};
use crate::render::{ColorChoice, Style};
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{ArgGroup, Args, ValueEnum};
use sim::whatif::{NodeRow, Report, StepReport, WhatifError, WhatifOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Output formats of `whatif`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhatifFormat {
    /// One block per step: the command, then a row per node.
    Human,
    /// The report as JSON (`{"steps":[{"command":..,"split_brain":..,"nodes":[..]}]}`).
    Json,
}

/// Arguments of `quorate whatif`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("scenario").required(true).multiple(true).args(["script", "script_file", "all"])))]
pub struct WhatifArgs {
    /// The corosync.conf; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The scenario, e.g. `split 1:1; heal` (steps separated by `;` or newlines).
    #[arg(
        short = 's',
        long = "script",
        value_name = "SCRIPT",
        conflicts_with = "script_file"
    )]
    pub script: Option<String>,
    /// Read the scenario from a file (`reload FILE` inside it is relative to its directory).
    #[arg(long, value_name = "F")]
    pub script_file: Option<String>,
    /// Exhaustive analysis: every partition and failure; with -s or --script-file, every
    /// further failure from the state the script leaves (node 3 in maintenance: `-s 'stop 3'`).
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = WhatifFormat::Human)]
    pub format: WhatifFormat,
    /// Add Proxmox VE consequences (read-only /etc/pve, HA self-fencing); default: on when
    /// the file looks written by Proxmox.
    #[arg(long, conflicts_with = "no_proxmox")]
    pub proxmox: bool,
    /// No Proxmox VE consequences.
    #[arg(long)]
    pub no_proxmox: bool,
    /// Add each step's timeline: when every node detects the failure, forms its new
    /// membership, decides quorum (and, with Proxmox, the HA events), from corosync's timers.
    #[arg(long, conflicts_with = "all")]
    pub timeline: bool,
    /// Colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Runs `quorate whatif`.
pub fn run(args: &WhatifArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    if args.file == "-" && args.script_file.as_deref() == Some("-") {
        // See: issue 10 item 6. One stream cannot be both files.
        writeln!(
            err,
            "error: FILE and --script-file are both `-`: standard input can be read only once; \
             give the corosync.conf or the script as a file path"
        )?;
        return Ok(EXIT_ERROR);
    }
    let loaded = match LoadedConfig::load(&args.file) {
        Ok(loaded) => loaded,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let (source, config) = (&loaded.source, &loaded.config);
    let settings = config.quorum_settings();
    let proxmox = if args.proxmox {
        true
    } else if args.no_proxmox {
        false
    } else {
        loaded.is_proxmox(&args.file)
    };
    let warnings = loaded.refusals(proxmox);
    for warning in &warnings {
        writeln!(err, "{warning}")?;
    }
    if settings.nodes.is_empty() {
        // See: issue 10 item 6: as `quorate check` does, refuse instead of simulating nothing.
        writeln!(
            err,
            "error: {}: the configuration has no nodes to simulate (no nodelist entry)",
            source.name
        )?;
        return Ok(EXIT_ERROR);
    }
    if let Some(error) = model::quorum::startup_error(&settings) {
        writeln!(
            err,
            "warning: {}: corosync would refuse to start on every node (exit 20: {error}); \
             the simulation keeps every node down",
            source.name
        )?;
    } else if !warnings.is_empty() {
        writeln!(
            err,
            "warning: {}: the simulation goes on with the values corosync would otherwise read",
            source.name
        )?;
    }
    if args.all && args.script.is_none() && args.script_file.is_none() {
        return crate::cmd::whatif_all::run(args, &settings, None, out, err);
    }
    let (script_name, script_text, base) = match (&args.script, &args.script_file) {
        (Some(script), _) => ("<script>".to_string(), script.clone(), None),
        (None, Some(path)) => match read_input(path, "script") {
            Ok(script) => {
                let base = Path::new(path).parent().map(Path::to_path_buf);
                (script.name, script.text, base)
            }
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(EXIT_ERROR);
            }
        },
        (None, None) => {
            writeln!(
                err,
                "error: give a scenario with -s SCRIPT, --script-file F, or --all"
            )?;
            return Ok(EXIT_ERROR);
        }
    };
    let mut reload_warnings = Vec::new();
    let all = args.all;
    let mut reload = |file: &str| -> Result<model::quorum::NodeConfig, String> {
        if all {
            return Err(
                "--all starts from the state the script leaves with FILE's configuration; \
                        a script that installs another file is not supported there"
                    .to_string(),
            );
        }
        if file == "-" {
            // See: issue 10 item 6. Standard input is the configuration or the script.
            return Err("standard input cannot be a reloaded file: give its path".to_string());
        }
        let path = resolve_reload(base.as_deref(), file);
        let shown = path.display().to_string();
        let reloaded = LoadedConfig::load(&shown).map_err(|error| error.to_string())?;
        reload_warnings.extend(reloaded.refusals(proxmox));
        // The whole file (addresses and knet transports too), so that a node refuses a
        // reload that re-addresses it (spec 5.2) and the report says so.
        Ok(model::quorum::NodeConfig::from_config(&reloaded.config))
    };
    let timers = args.timeline.then(|| sim::timing::Timers::from_config(config));
    let options = WhatifOptions { proxmox, timers };
    let result = sim::whatif::evaluate_config(
        &model::quorum::NodeConfig::from_config(config),
        &script_text,
        &options,
        &mut reload,
    );
    for warning in &reload_warnings {
        writeln!(err, "{warning}")?;
    }
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            write_script_error(err, &script_name, &script_text, &error)?;
            return Ok(EXIT_ERROR);
        }
    };
    if args.all {
        // The script was checked and run above; --all goes on from where it ends.
        let parsed = model::scenario::parse(&script_text)?;
        let last = report
            .steps
            .last()
            .map(|step| step.nodes.as_slice())
            .unwrap_or_default();
        let start = crate::cmd::whatif_all::StartInfo {
            script: parsed
                .steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            running: last
                .iter()
                .filter(|node| node.up)
                .map(|node| node.nodeid)
                .collect(),
            down: last
                .iter()
                .filter(|node| !node.up)
                .map(|node| node.nodeid)
                .collect(),
            parsed,
        };
        return crate::cmd::whatif_all::run(args, &settings, Some(&start), out, err);
    }
    match args.format {
        WhatifFormat::Json => {
            let mut value = serde_json::json!({
                "file": source.name,
                "proxmox": proxmox,
                "startup_error": report.startup_error,
                "split_brain": report.split_brain,
                "unstable": report.unstable,
                "steps": report.steps,
            });
            if let (Some(timers), Some(object)) = (&timers, value.as_object_mut()) {
                // Only with --timeline, so the JSON without it keeps its shape.
                object.insert("timers".to_string(), serde_json::to_value(timers)?);
            }
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        WhatifFormat::Human => {
            let style = Style::for_stdout(args.color);
            out.write_all(human(&report, proxmox, style).as_bytes())?;
        }
    }
    Ok(if report.split_brain {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `reload FILE`: relative to the script file's directory when it exists there, else to
/// the current directory.
fn resolve_reload(base: Option<&Path>, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if let Some(base) = base {
        let beside = base.join(path);
        if beside.exists() {
            return beside;
        }
    }
    path.to_path_buf()
}

fn write_script_error(
    err: &mut dyn Write,
    script_name: &str,
    script_text: &str,
    error: &WhatifError,
) -> std::io::Result<()> {
    let Some((line, column)) = error.position() else {
        return writeln!(err, "error: {error}");
    };
    writeln!(err, "error: {script_name}:{line}:{column}: {}", error.detail())?;
    if let Some(text) = script_text.lines().nth((line as usize).saturating_sub(1)) {
        writeln!(err, "  | {text}")?;
        let pad: String = text
            .chars()
            .take((column as usize).saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(err, "  | {pad}^")?;
    }
    Ok(())
}

/// `node 3 (pve1-node3)`, or `node 3` without a name.
fn node_label(node: &NodeRow) -> String {
    if node.name.is_empty() {
        format!("node {}", node.nodeid)
    } else {
        format!("node {} ({})", node.nodeid, node.name)
    }
}

/// A membership as `{1,2,3}`.
fn set(ids: &[u32]) -> String {
    let inner: Vec<String> = ids.iter().map(u32::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// The short form of a flag in the table.
fn short_flag(flag: &str) -> &str {
    match flag {
        "two_node" => "2node",
        "wait_for_all" => "WFA",
        "wait_for_all_status" => "WFA-armed",
        "last_man_standing" => "LMS",
        "last_man_standing_timer" => "LMS-timer",
        "auto_tie_breaker" => "ATB",
        "allow_downscale" => "AD",
        "qdevice_cast_vote" => "QDEV",
        other => other,
    }
}

/// The `part` cell of every node of a step: the script's partition label, with a letter
/// (`0a`, `0b`) when link failures split the nodes of one label into several memberships, so
/// that the column shows each node's own membership. `?` marks a node of an unstable group
/// (no membership). See: issue 10 item 12.
fn part_cells(step: &StepReport) -> Vec<String> {
    let unstable = |nodeid: u32| {
        step.unstable_memberships
            .iter()
            .any(|group| group.nodes.contains(&nodeid))
    };
    step.nodes
        .iter()
        .map(|node| {
            let Some(label) = node.partition.filter(|_| node.up) else {
                return "-".to_string();
            };
            if unstable(node.nodeid) {
                return format!("{label}?");
            }
            let mut memberships: Vec<&Vec<u32>> = Vec::new();
            for other in step
                .nodes
                .iter()
                .filter(|other| other.up && other.partition == Some(label))
            {
                if !unstable(other.nodeid) && !memberships.contains(&&other.members) {
                    memberships.push(&other.members);
                }
            }
            if memberships.len() <= 1 {
                return label.to_string();
            }
            let index = memberships.iter().position(|m| **m == node.members).unwrap_or(0);
            let letter = char::from(b'a' + (index % 26) as u8);
            format!("{label}{letter}")
        })
        .collect()
}

fn cells(node: &NodeRow, part: &str, proxmox: bool) -> Vec<String> {
    let name = if node.name.is_empty() {
        node.nodeid.to_string()
    } else {
        format!("{} {}", node.nodeid, node.name)
    };
    let mut row = if node.up {
        let flags: Vec<&str> = node.flag_names().into_iter().map(short_flag).collect();
        vec![
            name,
            part.to_string(),
            set(&node.members),
            format!(
                "{}{}",
                if node.quorate { "yes" } else { "no" },
                if node.order_dependent { "?" } else { "" }
            ),
            node.votes.to_string(),
            node.expected_votes.to_string(),
            node.highest_expected.to_string(),
            node.quorum.to_string(),
            if flags.is_empty() {
                "-".to_string()
            } else {
                flags.join(",")
            },
        ]
    } else {
        let mut row = vec![name, "-".into(), "-".into(), "down".into()];
        row.extend(std::iter::repeat_n("-".to_string(), 5));
        row
    };
    if proxmox {
        let pve = match node.proxmox.as_ref().map(|p| p.etc_pve) {
            Some("read-write") => "rw",
            Some("read-only") => "ro",
            _ => "-",
        };
        row.push(pve.to_string());
    }
    row.push(node.why.clone());
    row
}

/// `== split 1:1  (line 1, step 2, t=... ms)`: `step N` only when the line holds several
/// steps (separated by `;`), counting from 1 within the line. See: issue 10 item 12.
fn step_heading(step: &StepReport, in_line: Option<(usize, usize)>) -> String {
    let mut heading = format!("== {}", step.command);
    if let Some(line) = step.line {
        heading.push_str(&format!("  (line {line}"));
        if let Some((index, count)) = in_line.filter(|(_, count)| *count > 1) {
            heading.push_str(&format!(", step {index} of {count}"));
        }
        if step.time_ms > 0 {
            heading.push_str(&format!(", t={} ms", step.time_ms));
        }
        heading.push(')');
    }
    heading
}

/// Who qnetd gives the device's vote to, per membership, and why (after the node table).
fn qnetd_block(qnetd: &model::quorum::QnetdView) -> String {
    let algorithm = qnetd
        .algorithm
        .map_or("no usable device".to_string(), |a| a.to_string());
    let mut text = format!(
        "  qnetd ({algorithm}, server {}):\n",
        if qnetd.server_up { "up" } else { "DOWN" }
    );
    let cut: Vec<u32> = qnetd
        .nodes
        .iter()
        .filter(|node| !node.reaches_qnetd)
        .map(|node| node.nodeid)
        .collect();
    let list = |ids: &[u32]| -> String {
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        }
    };
    let mut table: Vec<Vec<String>> = vec![vec![
        "membership".to_string(),
        "connected".to_string(),
        "ACK".to_string(),
        "why".to_string(),
    ]];
    for partition in &qnetd.partitions {
        table.push(vec![
            set(&partition.members),
            list(&partition.connected),
            list(&partition.ack),
            partition.why.clone(),
        ]);
    }
    for line in crate::render::columns(&table, &|_, _, padded| padded) {
        text.push_str(&format!("    {line}\n"));
    }
    if !cut.is_empty() {
        text.push_str(&format!("    cut from the qnetd host: {}\n", list(&cut)));
    }
    text
}

/// A step's timeline as a table, the nodes with the same event at the same time on one row.
fn timeline_block(timeline: &[sim::timing::TimelineEvent], style: Style) -> String {
    if timeline.is_empty() {
        return String::new();
    }
    let mut rows: Vec<(&sim::timing::TimelineEvent, Vec<u32>)> = Vec::new();
    for event in timeline {
        let same = |other: &&mut (&sim::timing::TimelineEvent, Vec<u32>)| {
            let first = other.0;
            (
                first.event,
                first.at_ms,
                first.earliest_ms,
                first.latest_ms,
                &first.basis,
                first.estimate,
            ) == (
                event.event,
                event.at_ms,
                event.earliest_ms,
                event.latest_ms,
                &event.basis,
                event.estimate,
            )
        };
        match rows.iter_mut().find(same) {
            Some((_, nodes)) => nodes.push(event.node),
            None => rows.push((event, vec![event.node])),
        }
    }
    let mut table: Vec<Vec<String>> = vec![vec![
        "at ms".to_string(),
        "node".to_string(),
        "event".to_string(),
        "how".to_string(),
    ]];
    for (event, nodes) in &rows {
        let mut at = format!("{}{}", if event.estimate { "~" } else { "" }, event.at_ms);
        match (event.earliest_ms, event.latest_ms) {
            (Some(earliest), Some(latest)) => at.push_str(&format!(" ({earliest}-{latest})")),
            (None, Some(latest)) => at.push_str(&format!(" (-{latest})")),
            (Some(earliest), None) => at.push_str(&format!(" ({earliest}-)")),
            (None, None) => {}
        }
        let mut how = event.basis.clone();
        if event.assumes.is_some() {
            let ids: Vec<String> = nodes.iter().map(u32::to_string).collect();
            let (node_word, verb) = if nodes.len() == 1 {
                ("node", "runs")
            } else {
                ("nodes", "run")
            };
            how.push_str(&format!(
                " [if {node_word} {} {verb} HA-managed guests]",
                ids.join(",")
            ));
        }
        table.push(vec![
            at,
            nodes.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
            event.event.to_string(),
            how,
        ]);
    }
    let mut text = "  timeline (ms after the step's fault; ~ estimate, (a-b) range):\n".to_string();
    for (index, line) in crate::render::columns(&table, &|_, _, padded| padded)
        .iter()
        .enumerate()
    {
        if index == 0 {
            text.push_str(&format!("    {}\n", style.paint("2", line)));
        } else {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text
}

/// The human rendering: one block per step.
fn human(report: &Report, proxmox: bool, style: Style) -> String {
    let mut headers = vec![
        "node", "part", "members", "quorate", "votes", "expected", "highest", "quorum", "flags",
    ];
    if proxmox {
        headers.push("/etc/pve");
    }
    headers.push("why");
    let mut text = String::new();
    let line_of = |step: &StepReport| step.line;
    for (position, step) in report.steps.iter().enumerate() {
        let in_line = step.line.map(|line| {
            let same = |other: &&StepReport| line_of(other) == Some(line);
            let before = report.steps[..position].iter().filter(same).count();
            let count = report.steps.iter().filter(same).count();
            (before + 1, count)
        });
        text.push_str(&style.paint("1", &step_heading(step, in_line)));
        text.push('\n');
        if step.split_brain {
            let sets: Vec<String> = step.quorate_memberships.iter().map(|m| set(m)).collect();
            let line = format!("SPLIT-BRAIN: {} are quorate at once", sets.join(" and "));
            text.push_str(&format!("  {}\n", style.paint("1;31", &line)));
        } else if step.split_brain_possible {
            let line = "POSSIBLE SPLIT-BRAIN: another message delivery order makes two memberships \
                        quorate at once";
            text.push_str(&format!("  {}\n", style.paint("1;33", line)));
        }
        for group in &step.unstable_memberships {
            let candidates: Vec<String> = group.candidates.iter().map(|m| set(m)).collect();
            let line = format!(
                "UNSTABLE: corosync will flap in {}; candidate memberships {}",
                set(&group.nodes),
                candidates.join(" ")
            );
            text.push_str(&format!("  {}\n", style.paint("1;33", &line)));
        }
        for note in &step.notes {
            let prefix = if step.rejected && !note.starts_with("proxmox:") && !note.contains("rejected") {
                "rejected: "
            } else {
                ""
            };
            text.push_str(&format!("  {prefix}{note}\n"));
        }
        let parts = part_cells(step);
        let rows: Vec<Vec<String>> = step
            .nodes
            .iter()
            .zip(&parts)
            .map(|(node, part)| cells(node, part, proxmox))
            .collect();
        let mut table: Vec<Vec<String>> = vec![headers.iter().map(|h| h.to_string()).collect()];
        table.extend(rows);
        let paint = |row: usize, column: usize, padded: String| {
            let Some(node) = row.checked_sub(1).and_then(|index| step.nodes.get(index)) else {
                return padded;
            };
            match (column, node.up, node.quorate) {
                (3, true, true) => style.paint("32", &padded),
                (3, true, false) => style.paint("31", &padded),
                (3, false, _) => style.paint("2", &padded),
                _ => padded,
            }
        };
        for (index, line) in crate::render::columns(&table, &paint).iter().enumerate() {
            if index == 0 {
                text.push_str(&format!("  {}\n", style.paint("2", line)));
            } else {
                text.push_str(&format!("  {line}\n"));
            }
        }
        if step.nodes.iter().any(|node| node.order_dependent) {
            text.push_str("  ? depends on message delivery order (real corosync: either, by timing)\n");
        }
        if let Some(qnetd) = &step.qnetd {
            text.push_str(&qnetd_block(qnetd));
        }
        if let Some(timeline) = &step.timeline {
            text.push_str(&timeline_block(timeline, style));
        }
        if proxmox {
            for node in &step.nodes {
                if let Some(consequence) = &node.proxmox {
                    if consequence.etc_pve != "read-write" && (consequence.self_fence || !node.up) {
                        text.push_str(&format!("  {}: {}\n", node_label(node), consequence.summary));
                    }
                }
            }
        }
        text.push('\n');
    }
    let split: Vec<String> = report
        .steps
        .iter()
        .filter(|step| step.split_brain)
        .map(|step| format!("`{}`", step.command))
        .collect();
    if split.is_empty() {
        text.push_str(&format!(
            "no split-brain in {} step(s){}\n",
            report.steps.len(),
            if report.unstable {
                "; some steps are UNSTABLE (nothing predicted there)"
            } else {
                ""
            }
        ));
    } else {
        let line = format!("SPLIT-BRAIN after {}", split.join(", "));
        text.push_str(&style.paint("1;31", &line));
        text.push('\n');
    }
    let possible: Vec<String> = report
        .steps
        .iter()
        .filter(|step| step.split_brain_possible && !step.split_brain)
        .map(|step| format!("`{}`", step.command))
        .collect();
    if !possible.is_empty() {
        let line = format!(
            "split-brain possible by message delivery order after {}",
            possible.join(", ")
        );
        text.push_str(&style.paint("1;33", &line));
        text.push('\n');
    }
    text
}
