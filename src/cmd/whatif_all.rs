//! `quorate whatif FILE --all`: the exhaustive failure analysis, rendered.
//!
//! Owns the rendering of `sim::exhaustive::Analysis` (a human summary then the outcome
//! classes, or JSON), the progress line on stderr and the exit code (1 when some scenario is
//! split-brain, else 0; 2 when the analysis cannot be done). It must not decide quorum:
//! `sim::exhaustive` enumerates and `model::quorum` answers.
//!
//! # JSON shape (`--format json`, stable: fields are only ever added)
//!
//! ```text
//! {
//!   "file": "corosync.conf",
//!   "nodes": 5,                       // node ids in the configuration
//!   "node_ids": [1, 2, 3, 4, 5],
//!   "links": [0],                     // configured links (udp/udpu: [0])
//!   "startup_error": null,            // why corosync refuses to start, if it does
//!   "scenarios": {
//!     "total": 203,                   // Bell(nodes + 1) x link_failure_sets (with a qnetd
//!                                     // device: x (1 + 2 * 2^running nodes) per scenario)
//!     "method": "enumeration",        // or "vote-sums" (exact counts from membership
//!                                     // signatures, no scenario enumerated: docs/scale.md)
//!     "evaluated": 18,                // canonical scenarios after symmetry reduction (vote-sums: 0)
//!     "membership_signatures": 0,     // vote-sums: memberships the engine answered
//!     "link_failure_sets": 1,         // 2^links - 1 (all links down = full isolation)
//!     "engine_runs": 10,
//!     "symmetry_classes": [[1, 2, 3, 4, 5]]
//!   },
//!   "summary": {
//!     "always_tolerated_node_failures": 2,       // null: the intact cluster is not quorate
//!     "cold_start_tolerated_missing_nodes": 2,   // null: a full cold start is not quorate
//!     "smallest_total_loss": [{"down": [1, 2, 3], "count": 10}],
//!     "smallest_total_loss_complete": true,    // false: only the first 256 representatives
//!                                              // are listed (failure_sizes counts them all)
//!     "split_brain": {
//!       "possible": false,
//!       "running": 0,                 // split-brain scenarios from a running cluster
//!       "cold_start": 0,              // split-brain scenarios from a cold start
//!       "witness": null               // or {"script": "move 1:2", "case": "running"|"cold-start",
//!                                     //     "description": "partition 1 | 2", "replay_verified": true,
//!                                     //     "quorate_sides": [[1], [2]]}  // quorate at the replay's end
//!     },
//!     "single_link_failures": [
//!       {"link": 0, "changes_membership": true, "quorum_kept": false, "split_brain": false}
//!     ],
//!     "time_dependent": ["last_man_standing"],  // options acting over time: not analysed here
//!     "check_command": "quorate check corosync.conf"  // null when time_dependent is empty
//!   },
//!   "failure_sizes": [                // node failures only (no partition, no link failure)
//!     {"nodes_down": 0, "total": 1, "lose_quorum": 0, "cold_start_lose_quorum": 0}, ...
//!   ],
//!   "classes": [                      // every class, always in this order
//!     {"class": "all-quorate", "label": "every running node quorate", "running": 16, "cold_start": 16},
//!     {"class": "one-quorate", ...}, {"class": "none-quorate", ...}, {"class": "split-brain", ...},
//!     {"class": "unstable", ...}, {"class": "all-down", ...}
//!   ],
//!   "grid": [                         // the classes per number of down nodes and set of
//!                                     // failed links (every partition of the rest): the
//!                                     // non-empty cells, by nodes_down then link set;
//!                                     // exact with either method (vote-sums too)
//!     {"nodes_down": 1, "failed_links": [], "scenarios": 10,
//!      "classes": [{"class": "all-quorate", "running": 5, "cold_start": 5}, ...],
//!      "split_brain_witnesses": [...]}, ...  // only in a cell with split-brain: per case,
//!                                     // one witness of the cell (as summary.split_brain.witness)
//!   ],                                // (only the classes that occur in either case)
//!   "notes": ["last_man_standing: every scenario is evaluated right after the failure, ..."],
//!   "start": null,                    // -s SCRIPT --all: the script and who runs at its end
//!   "qnetd": {...}                    // only with a qnetd device (model: net):
//!                                     // {"algorithm": "ffsplit"|"lms"|"2nodelms",
//!                                     //  "without_qnetd_fault": 2,   // scenarios with qnetd up and reached
//!                                     //  "qnetd_down_tolerated_node_failures": 0,  // qnetd down first
//!                                     //  "qnetd_down_failure_sizes": [...]}        // as failure_sizes
//! }
//! ```
//!
//! Counts are exact JSON integers and may exceed 64 bits (32 nodes: about 1.9e27 scenarios).
//! `script` separates steps with `\n`; `quorate whatif FILE -s "$script"` replays it from a
//! fully started cluster.

use crate::cmd::whatif::{WhatifArgs, WhatifFormat};
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use serde::Serialize;
use sim::exhaustive::{analyze, Analysis, ClassCount, ExhaustiveOptions, FailureSize, Method, OutcomeClass};
use std::io::Write;
use std::time::{Duration, Instant};

/// How many representatives of the smallest total loss the human output lists.
const SHOWN_LOSSES: usize = 3;

/// The state a script leaves, for `whatif FILE -s SCRIPT --all` (the maintenance question:
/// what can still fail while node 3 is down). See: issue 10 item 14.
#[derive(Clone, Debug, Serialize)]
pub struct StartInfo {
    /// The script, steps separated by `; `.
    pub script: String,
    /// Node ids running at its end.
    pub running: Vec<model::quorum::NodeId>,
    /// Node ids not running at its end.
    pub down: Vec<model::quorum::NodeId>,
    /// The parsed script.
    #[serde(skip)]
    pub parsed: model::scenario::Script,
}

/// Runs `quorate whatif FILE --all` on the settings `cmd::whatif` read from FILE; with
/// `start`, from the state its script leaves.
pub fn run(
    args: &WhatifArgs,
    settings: &model::quorum::QuorumSettings,
    start: Option<&StartInfo>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let file = if args.file == "-" {
        "<stdin>"
    } else {
        args.file.as_str()
    };
    let analysis = match analyze_with_progress(settings, start.map(|start| &start.parsed), err) {
        Ok(analysis) => analysis,
        Err(error) => {
            writeln!(err, "error: {file}: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let over_time = OverTime::of(settings, &args.file);
    match args.format {
        WhatifFormat::Json => write_json(out, file, &analysis, &over_time, start)?,
        WhatifFormat::Human => out.write_all(human(file, &analysis, &over_time, start).as_bytes())?,
    }
    Ok(exit_code(&analysis))
}

/// What `--all` cannot see: the options that make quorum depend on the order of events over
/// time, and the `quorate check` command that explores sequences. See: issue 10 item 4.
#[derive(Clone, Debug, Default)]
pub struct OverTime {
    /// `sim::exhaustive::time_dependent_options` of the configuration.
    pub options: Vec<&'static str>,
    /// `quorate check FILE` (FILE as given, shell-quoted), when `options` is not empty.
    pub check_command: Option<String>,
}

impl OverTime {
    /// For `settings` read from `file` (as given on the command line).
    pub fn of(settings: &model::quorum::QuorumSettings, file: &str) -> OverTime {
        let options = sim::exhaustive::time_dependent_options(settings);
        let check_command = (!options.is_empty()).then(|| format!("quorate check {}", shell_quote(file)));
        OverTime {
            options,
            check_command,
        }
    }
}

/// `path` as one shell word: unchanged when it has only safe characters, else in single quotes.
pub fn shell_quote(path: &str) -> String {
    let safe = !path.is_empty()
        && path.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '@' | '%')
        });
    if safe {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// 1 when some scenario is split-brain, else 0.
pub fn exit_code(analysis: &Analysis) -> u8 {
    if analysis.split_brain.possible {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Runs the analysis (from the state `start` leaves, if given); after the first second,
/// shows how far it got on `err`.
pub fn analyze_with_progress(
    settings: &model::quorum::QuorumSettings,
    start: Option<&model::scenario::Script>,
    err: &mut dyn Write,
) -> Result<Analysis, sim::exhaustive::StartError> {
    let began = Instant::now();
    let mut shown = false;
    let mut progress = |evaluated: u64| {
        if began.elapsed() >= Duration::from_secs(1) {
            shown = true;
            let _ = write!(
                err,
                "\rwhatif --all: {} scenarios evaluated...",
                grouped(evaluated.into())
            );
            let _ = err.flush();
        }
    };
    let options = ExhaustiveOptions::default();
    let result = match start {
        None => analyze(settings, &options, &mut progress),
        Some(script) => sim::exhaustive::analyze_after(settings, script, &options, &mut progress),
    };
    if shown {
        let _ = writeln!(err);
    }
    result
}

/// `1234567` as `1,234,567`.
fn grouped(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn plural(count: u32, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn id_list(ids: &[model::quorum::NodeId]) -> String {
    ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// The JSON document (see the module documentation).
#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    nodes: usize,
    node_ids: &'a [model::quorum::NodeId],
    links: &'a [u8],
    startup_error: &'a Option<String>,
    scenarios: JsonScenarios<'a>,
    summary: JsonSummary<'a>,
    failure_sizes: &'a [FailureSize],
    classes: Vec<JsonClass<'a>>,
    grid: &'a Option<Vec<sim::exhaustive::GridCell>>,
    notes: &'a [String],
    /// The state the analysis starts from (`-s SCRIPT --all`); null: the fully joined cluster.
    start: Option<&'a StartInfo>,
    /// qnetd's part of the enumeration; absent without a qnetd device (the document of
    /// other configurations is unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    qnetd: Option<&'a sim::exhaustive::QnetdAnalysis>,
}

#[derive(Serialize)]
struct JsonScenarios<'a> {
    total: u128,
    method: &'static str,
    evaluated: u64,
    membership_signatures: u64,
    link_failure_sets: u32,
    engine_runs: u64,
    symmetry_classes: &'a [Vec<model::quorum::NodeId>],
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    always_tolerated_node_failures: Option<u32>,
    cold_start_tolerated_missing_nodes: Option<u32>,
    smallest_total_loss: &'a [sim::exhaustive::DownSet],
    smallest_total_loss_complete: bool,
    split_brain: &'a sim::exhaustive::SplitBrain,
    single_link_failures: &'a [sim::exhaustive::LinkFailure],
    /// Options that make quorum depend on events over time (not analysed here).
    time_dependent: &'a [&'static str],
    /// `quorate check FILE`, when `time_dependent` is not empty.
    check_command: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonClass<'a> {
    class: &'a str,
    label: &'a str,
    running: u128,
    cold_start: u128,
}

/// Writes the analysis as pretty JSON (the shape in the module documentation).
pub fn write_json(
    out: &mut dyn Write,
    file: &str,
    analysis: &Analysis,
    over_time: &OverTime,
    start: Option<&StartInfo>,
) -> anyhow::Result<()> {
    let report = JsonReport {
        file,
        nodes: analysis.node_ids.len(),
        node_ids: &analysis.node_ids,
        links: &analysis.links,
        startup_error: &analysis.startup_error,
        scenarios: JsonScenarios {
            total: analysis.scenarios.total,
            method: analysis.scenarios.method.name(),
            evaluated: analysis.scenarios.evaluated,
            membership_signatures: analysis.scenarios.membership_signatures,
            link_failure_sets: analysis.scenarios.link_failure_sets,
            engine_runs: analysis.scenarios.engine_runs,
            symmetry_classes: &analysis.symmetry_classes,
        },
        summary: JsonSummary {
            always_tolerated_node_failures: analysis.always_tolerated_node_failures,
            cold_start_tolerated_missing_nodes: analysis.cold_start_tolerated_missing_nodes,
            smallest_total_loss: &analysis.smallest_total_loss,
            smallest_total_loss_complete: analysis.smallest_total_loss_complete,
            split_brain: &analysis.split_brain,
            single_link_failures: &analysis.single_link_failures,
            time_dependent: &over_time.options,
            check_command: over_time.check_command.as_deref(),
        },
        failure_sizes: &analysis.failure_sizes,
        classes: analysis
            .classes
            .iter()
            .map(
                |ClassCount {
                     class,
                     running,
                     cold_start,
                 }| JsonClass {
                    class: class.name(),
                    label: class.label(),
                    running: *running,
                    cold_start: *cold_start,
                },
            )
            .collect(),
        grid: &analysis.grid,
        notes: &analysis.notes,
        start,
        qnetd: analysis.qnetd.as_ref(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}

/// The `lose` count of the failures of `nodes_down` nodes, and how many there are.
fn losses(
    sizes: &[FailureSize],
    nodes_down: u32,
    lose: impl Fn(&FailureSize) -> u128,
) -> Option<(u128, u128)> {
    sizes
        .iter()
        .find(|size| size.nodes_down == nodes_down)
        .map(|size| (lose(size), size.total))
}

/// `every one leaves` or `some (3 of 10) leave`, then ` nobody quorate`.
fn how_many(lost: u128, total: u128) -> String {
    if lost == total {
        "every one leaves nobody quorate".to_string()
    } else {
        format!(
            "some ({} of {}) leave nobody quorate",
            grouped(lost),
            grouped(total)
        )
    }
}

/// `any 2 nodes can fail; with 3 nodes down, some (4 of 10) leave nobody quorate`.
fn failure_sentence(analysis: &Analysis, further: bool) -> String {
    failure_sentence_of(
        analysis.always_tolerated_node_failures,
        &analysis.failure_sizes,
        further,
    )
}

/// `failure_sentence` for the tolerated count and failure sizes given (qnetd down first).
fn failure_sentence_of(tolerated: Option<u32>, failure_sizes: &[FailureSize], further: bool) -> String {
    let Some(tolerated) = tolerated else {
        return if further {
            "nobody is quorate at the start".to_string()
        } else {
            "the intact cluster is not quorate".to_string()
        };
    };
    let next = tolerated + 1;
    let nodes = |count: u32| {
        if further {
            format!("{count} more {}", if count == 1 { "node" } else { "nodes" })
        } else {
            plural(count, "node")
        }
    };
    let first = if tolerated == 0 {
        format!(
            "no{} node failure is always survived",
            if further { " further" } else { "" }
        )
    } else {
        format!("any {} can fail", nodes(tolerated))
    };
    match losses(failure_sizes, next, |size| size.lose_quorum) {
        Some((lost, total)) => format!("{first}; with {} down, {}", nodes(next), how_many(lost, total)),
        None => first,
    }
}

/// `quorate with any 1 node missing; with 2 missing, every one leaves nobody quorate`.
fn cold_start_sentence(analysis: &Analysis) -> String {
    let Some(tolerated) = analysis.cold_start_tolerated_missing_nodes else {
        return "even with every node booting, nobody becomes quorate".to_string();
    };
    let next = tolerated + 1;
    let first = if tolerated == 0 {
        "needs every node".to_string()
    } else {
        format!("quorate with any {} missing", plural(tolerated, "node"))
    };
    match losses(&analysis.failure_sizes, next, |size| size.cold_start_lose_quorum) {
        Some((lost, total)) => format!("{first}; with {next} missing, {}", how_many(lost, total)),
        None => first,
    }
}

/// The human report: summary first, then the outcome classes.
pub fn human(file: &str, analysis: &Analysis, over_time: &OverTime, start: Option<&StartInfo>) -> String {
    let mut text = String::new();
    let nodes = analysis.node_ids.len() as u32;
    let links = analysis.links.len() as u32;
    text.push_str(&format!(
        "quorate whatif {file} --all: {}, {}\n",
        plural(nodes, "node"),
        plural(links, "link")
    ));
    let link_sets = match analysis.scenarios.link_failure_sets {
        1 => "links intact".to_string(),
        sets => format!("{sets} combinations of failed links"),
    };
    let how = match analysis.scenarios.method {
        Method::Enumeration => format!(
            "{} evaluated after symmetry reduction",
            grouped(analysis.scenarios.evaluated.into())
        ),
        Method::VoteSums => format!(
            "counted exactly from the engine's answers for {} membership signatures \
             (vote sums, not enumerated: docs/scale.md)",
            grouped(analysis.scenarios.membership_signatures.into())
        ),
    };
    let (qnetd_states, how) = match &analysis.qnetd {
        None => (String::new(), how),
        Some(_) => (
            ", qnetd up, down or cut from each set of running nodes, before or after the failure".to_string(),
            format!(
                "{} evaluated (no symmetry reduction: qnetd reads node ids)",
                grouped(analysis.scenarios.evaluated.into())
            ),
        ),
    };
    text.push_str(&format!(
        "  {} (each node up or down, every partition of the up nodes, {link_sets}{qnetd_states}), \
         {how}; each from a running cluster and from a cold start\n",
        if analysis.scenarios.total == 1 {
            "1 scenario".to_string()
        } else {
            format!("{} scenarios", grouped(analysis.scenarios.total))
        },
    ));
    if let Some(start) = start {
        text.push_str(&format!(
            "  starting from the state after `{}`: {} running ({}), {} down; every further failure from there\n",
            start.script,
            plural(start.running.len() as u32, "node"),
            id_list(&start.running),
            if start.down.is_empty() {
                "none".to_string()
            } else {
                id_list(&start.down)
            }
        ));
    }
    if let Some(error) = &analysis.startup_error {
        text.push_str(&format!(
            "  corosync refuses to start with this configuration ({error}): no node ever runs\n"
        ));
    }
    for note in &analysis.notes {
        text.push_str(&format!("  note: {note}\n"));
    }
    text.push_str("\nSummary\n");
    text.push_str(&format!(
        "  Node failures:  {}{}\n",
        failure_sentence(analysis, start.is_some()),
        if analysis.qnetd.is_some() {
            " (qnetd up and reached)"
        } else {
            ""
        }
    ));
    if let Some(qnetd) = &analysis.qnetd {
        let sentence = match qnetd.qnetd_down_tolerated_node_failures {
            None => "qnetd down alone leaves nobody quorate".to_string(),
            Some(_) => failure_sentence_of(
                qnetd.qnetd_down_tolerated_node_failures,
                &qnetd.qnetd_down_failure_sizes,
                true,
            ),
        };
        text.push_str(&format!("  Qnetd down:     {sentence}\n"));
    }
    if analysis.always_tolerated_node_failures.is_none() {
        text.push_str("  Total loss:     already without any failure\n");
    } else if let Some(first) = analysis.smallest_total_loss.first() {
        // Every such set, counted exactly (the list may hold only the first representatives).
        let sets = losses(&analysis.failure_sizes, first.down.len() as u32, |size| {
            size.lose_quorum
        })
        .map_or(0, |(lost, _)| lost);
        let examples: Vec<String> = analysis
            .smallest_total_loss
            .iter()
            .take(SHOWN_LOSSES)
            .map(|set| format!("down {}", id_list(&set.down)))
            .collect();
        let more = if analysis.smallest_total_loss.len() > SHOWN_LOSSES || sets > examples.len() as u128 {
            format!(" ({} such sets)", grouped(sets))
        } else {
            String::new()
        };
        let count = first.down.len() as u32;
        text.push_str(&format!(
            "  Total loss:     smallest with {} down: {}{more}\n",
            if start.is_some() {
                format!("{count} more {}", if count == 1 { "node" } else { "nodes" })
            } else {
                plural(count, "node")
            },
            examples.join("; "),
        ));
    }
    text.push_str(&format!(
        "  Cold start:     {}{}\n",
        if start.is_some() {
            "the running nodes reboot: "
        } else {
            ""
        },
        cold_start_sentence(analysis)
    ));
    let split = &analysis.split_brain;
    let instants = if over_time.options.is_empty() {
        String::new()
    } else {
        format!(
            " at any single instant; {} can change that over time (not analysed here)",
            over_time.options.join(", ")
        )
    };
    match &split.witness {
        None => text.push_str(&format!("  Split-brain:    none{instants}\n")),
        Some(witness) => {
            text.push_str(&format!(
                "  Split-brain:    POSSIBLE: {} running, {} cold-start scenarios\n",
                grouped(split.running),
                grouped(split.cold_start)
            ));
            text.push_str(&format!(
                "                  smallest: {} ({})\n",
                witness.description,
                witness.case.name()
            ));
            let oneline = witness.script.replace('\n', "; ");
            text.push_str(&format!(
                "                  replay:   quorate whatif {file} -s '{oneline}'\n"
            ));
            if !witness.replay_verified {
                text.push_str(
                    "                  (the replay runs the failure in several steps and may not show it)\n",
                );
            }
        }
    }
    if let Some(command) = &over_time.check_command {
        text.push_str(&format!("                  over time: {command}\n"));
    }
    if analysis.single_link_failures.is_empty() {
        text.push_str("  Single links:   no configured link\n");
    }
    for (index, failure) in analysis.single_link_failures.iter().enumerate() {
        let effect = if !failure.changes_membership {
            "changes no membership".to_string()
        } else if failure.split_brain {
            "changes membership: SPLIT-BRAIN".to_string()
        } else if failure.quorum_kept {
            "changes membership; some node keeps quorum".to_string()
        } else {
            "changes membership; nobody keeps quorum".to_string()
        };
        let head = if index == 0 {
            "  Single links:   "
        } else {
            "                  "
        };
        text.push_str(&format!("{head}link {} down alone {effect}\n", failure.link));
    }
    text.push_str("\nOutcome classes");
    let width = OutcomeClass::ALL
        .iter()
        .map(|class| class.label().len())
        .max()
        .unwrap_or(0);
    let running: Vec<String> = analysis
        .classes
        .iter()
        .map(|entry| grouped(entry.running))
        .collect();
    let cold: Vec<String> = analysis
        .classes
        .iter()
        .map(|entry| grouped(entry.cold_start))
        .collect();
    let running_width = running.iter().map(String::len).max().unwrap_or(0).max(7);
    let cold_width = cold.iter().map(String::len).max().unwrap_or(0).max(10);
    text.push_str(&format!(
        "{:pad$}  {:>running_width$}  {:>cold_width$}\n",
        "",
        "running",
        "cold start",
        pad = width + 2 - "Outcome classes".len().min(width + 2)
    ));
    for ((entry, running), cold) in analysis.classes.iter().zip(&running).zip(&cold) {
        text.push_str(&format!(
            "  {:width$}  {running:>running_width$}  {cold:>cold_width$}\n",
            entry.class.label()
        ));
    }
    text
}
