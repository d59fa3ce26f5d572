//! `quorate check FILE`: model-check quorum safety over time; counterexamples as scripts.
//!
//! Owns the clap arguments, reading the file, progress on stderr, rendering (human, JSON,
//! script) and the exit code; `--explore` serves stateright's Explorer; `--confirm` hands the
//! violated safety properties to `confirm` (a throwaway lab of real corosync). The checking itself
//! is `sim::check`; this file must not decide verdicts.

use crate::cmd::confirm::{self, Confirmation};
use crate::input::LoadedConfig;
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use model::quorum::QuorumSettings;
use serde::Serialize;
use sim::check::{CheckOptions, CheckReport, Hooks, ModelOptions, OperatorActions, Progress};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A verdict per property, counterexamples as scripts, statistics.
    Human,
    /// `{"properties":[{"name","holds","counterexample":[..]}],"states","seconds",..}`.
    Json,
    /// The first violated safety property's counterexample, one step per line (for
    /// `quorate whatif FILE -s "$(quorate check FILE --format script)"`).
    Script,
}

/// The operator actions `--operator` enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OperatorAction {
    /// `expected V on N` (`corosync-quorumtool -e`, `pvecm expected`).
    Expected,
    /// `reload` (`corosync-cfgtool -R`).
    Reload,
}

/// Default address of the Explorer.
pub const DEFAULT_EXPLORE_ADDRESS: &str = "127.0.0.1:3000";

/// Arguments of `quorate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The corosync.conf to check; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Fault budget: crashes, partitions and link failures (and operator actions) along one
    /// behaviour. Starts, heals and waiting are free.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub max_faults: u8,
    /// The longest behaviour explored, in steps (default: only the budget bounds it).
    #[arg(long, value_name = "D")]
    pub depth: Option<usize>,
    /// Let the checker also act as an operator: `--operator` alone enables all, or a list
    /// such as `--operator=expected,reload` (with `=`, so that a following FILE is never
    /// taken for an action).
    #[arg(long, value_enum, value_delimiter = ',', num_args = 0..=1, require_equals = true, value_name = "ACTIONS")]
    pub operator: Option<Vec<OperatorAction>>,
    /// Worker threads of the exhaustive run.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// Do not reduce the state space by symmetry (slower; for comparison).
    #[arg(long)]
    pub no_symmetry: bool,
    /// Deliver each ring change's nodeinfo messages in ascending node id order only (as
    /// `quorate whatif` does) instead of following every delivery order that gives a
    /// distinct state. Faster, for comparison; misses order-dependent behaviours.
    #[arg(long)]
    pub fixed_order: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Serve stateright's Explorer (a web UI to step through the model) on this address
    /// instead of checking; keep it on loopback.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_EXPLORE_ADDRESS,
        conflicts_with_all = ["format", "threads"]
    )]
    pub explore: Option<String>,
    /// Replay every violated safety property's counterexample on a throwaway lab of real
    /// corosync built from FILE (root; up to 3 replays each), and report whether reality
    /// shows the violation, with the real readings next to the model's.
    #[arg(long, conflicts_with = "explore")]
    pub confirm: bool,
}

impl CheckArgs {
    /// The sim options these arguments ask for.
    pub fn options(&self) -> CheckOptions {
        let operator = match &self.operator {
            None => OperatorActions::default(),
            Some(list) if list.is_empty() => OperatorActions {
                expected: true,
                reload: true,
            },
            Some(list) => OperatorActions {
                expected: list.contains(&OperatorAction::Expected),
                reload: list.contains(&OperatorAction::Reload),
            },
        };
        CheckOptions {
            model: ModelOptions {
                max_faults: self.max_faults,
                operator,
                fixed_order: self.fixed_order,
            },
            depth: self.depth,
            threads: self.threads.max(1),
            symmetry: !self.no_symmetry,
            stop_at: None,
        }
    }
}

/// Reads `path` into votequorum settings; also returns the name to show and the text.
fn settings_from(path: &str) -> Result<(String, String, QuorumSettings, Vec<String>), String> {
    let loaded = LoadedConfig::load(path).map_err(|error| error.to_string())?;
    let settings = loaded.config.quorum_settings();
    let refusals = loaded.refusals(loaded.is_proxmox(path));
    Ok((loaded.source.name, loaded.source.text, settings, refusals))
}

/// The JSON document of `--format json` (schema: README, `quorate check`).
#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a CheckReport,
}

/// Exit status of a `check` interrupted by Ctrl-C (128 + SIGINT), after the partial result.
pub const EXIT_INTERRUPTED: u8 = 130;

/// One progress line: phase (with the counterexample search's length, the one estimate a
/// run can give), states, states per second, depth and time.
pub fn progress_line(progress: &Progress) -> String {
    let bound = progress.bound.map_or(String::new(), |(steps, limit)| {
        format!(", length {steps} of at most {limit}")
    });
    format!(
        "checking ({}{bound}): {} states, {:.0} states/s, depth {}, {:.0} s",
        progress.phase,
        progress.states,
        progress.rate,
        progress.depth,
        progress.elapsed.as_secs_f64()
    )
}

/// Runs the check of `settings` with progress on `err` (used by `lint --prove` too): one
/// line updated in place when standard error is a terminal, else a line per second.
pub fn check_settings(
    settings: &QuorumSettings,
    options: &CheckOptions,
    err: &mut dyn Write,
) -> Result<CheckReport, sim::check::ModelError> {
    check_settings_with(settings, options, err, std::io::stderr().is_terminal(), &|| false)
}

/// `check_settings` with the progress style given (`terminal`: one line rewritten in place,
/// cleared at the end) and a cancellation hook (Ctrl-C): once it returns true the run stops
/// and the report is partial (`CheckReport::interrupted`).
pub fn check_settings_with(
    settings: &QuorumSettings,
    options: &CheckOptions,
    err: &mut dyn Write,
    terminal: bool,
    cancelled: &dyn Fn() -> bool,
) -> Result<CheckReport, sim::check::ModelError> {
    let mut shown = false;
    let result = {
        let mut progress = |progress: &Progress| {
            let line = progress_line(progress);
            if terminal {
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
                shown = true;
            } else {
                let _ = writeln!(err, "{line}");
            }
        };
        sim::check::counter::check_auto(
            settings,
            options,
            &mut Hooks {
                progress: &mut progress,
                cancelled,
            },
        )
    };
    if shown {
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
    result
}

/// Runs `quorate check`: Ctrl-C stops the run and prints the partial result (exit 130); a
/// second Ctrl-C exits at once.
pub fn run(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    if args.explore.is_some() {
        return run_with(args, out, err, &|| false);
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    // Without a handler Ctrl-C keeps its default effect (the process ends).
    let handlers: Vec<signal_hook::SigId> = [
        signal_hook::flag::register_conditional_shutdown(
            signal_hook::consts::SIGINT,
            i32::from(EXIT_INTERRUPTED),
            Arc::clone(&interrupt),
        ),
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupt)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let result = run_with(args, out, err, &|| interrupt.load(Ordering::Relaxed));
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    result
}

/// `run` with a cancellation hook instead of Ctrl-C (for tests and embedding).
pub fn run_with(
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    cancelled: &dyn Fn() -> bool,
) -> anyhow::Result<u8> {
    if args.confirm {
        if args.format == CheckFormat::Script {
            writeln!(
                err,
                "error: --confirm reports in the human and JSON formats, not with --format script"
            )?;
            return Ok(EXIT_ERROR);
        }
        if !confirm::is_root() {
            writeln!(err, "error: {}", confirm::NEEDS_ROOT)?;
            return Ok(EXIT_ERROR);
        }
    }
    let (name, text, settings, refusals) = match settings_from(&args.file) {
        Ok(read) => read,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    // What corosync itself refuses comes first, with its position: a syntax error that
    // hides the nodelist must not read as a file without nodes.
    for refusal in &refusals {
        writeln!(err, "{refusal}")?;
    }
    if let Some(startup) = model::quorum::startup_error(&settings) {
        if refusals.is_empty() {
            writeln!(
                err,
                "warning: {name}: corosync would refuse to start ({startup}); every node stays down"
            )?;
        } else {
            writeln!(
                err,
                "warning: {name}: corosync would not start with this file; every node stays down"
            )?;
        }
    }
    let options = args.options();
    if let Some(address) = &args.explore {
        let mut ready = || {
            let _ = writeln!(err, "Explorer for {name} on http://{address}/ (Ctrl-C to stop)");
            let _ = err.flush();
        };
        return match sim::check::explore(&settings, &options, address, &mut ready) {
            Ok(()) => Ok(EXIT_OK),
            Err(error) => {
                writeln!(err, "error: {error}")?;
                Ok(EXIT_ERROR)
            }
        };
    }
    let terminal = std::io::stderr().is_terminal();
    let report = match check_settings_with(&settings, &options, err, terminal, cancelled) {
        Ok(report) => report,
        Err(error) => {
            writeln!(err, "error: {name}: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let confirmations = if args.confirm && !report.interrupted {
        confirm::confirm_report(&text, &settings, &report, err)
    } else {
        vec![None; report.properties.len()]
    };
    match args.format {
        CheckFormat::Human => {
            out.write_all(human(&name, &args.file, &report, &confirmations).as_bytes())?;
            if !report.complete && !report.interrupted {
                writeln!(
                    out,
                    "(stopped at the first violation: other verdicts are incomplete)"
                )?;
            }
        }
        CheckFormat::Json => {
            let mut document = serde_json::to_value(JsonReport {
                file: &name,
                report: &report,
            })?;
            add_confirmations(&mut document, &confirmations)?;
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
        }
        CheckFormat::Script => {
            if let Some(verdict) = report.first_violated_safety() {
                for (index, step) in verdict.counterexample.iter().enumerate() {
                    writeln!(out, "{step}{}", order_comment(verdict, index))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if report.interrupted {
        EXIT_INTERRUPTED
    } else if report.safety_violated() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Adds `"confirmed": true|false|null` to every property of the JSON `document`, and the
/// details (`"confirmation"`: corosync version, replays, the step, every node's predicted and
/// real reading) where a replay was attempted.
fn add_confirmations(
    document: &mut serde_json::Value,
    confirmations: &[Option<Confirmation>],
) -> anyhow::Result<()> {
    let Some(properties) = document["properties"].as_array_mut() else {
        return Ok(());
    };
    for (property, confirmation) in properties.iter_mut().zip(confirmations) {
        let Some(object) = property.as_object_mut() else {
            continue;
        };
        let confirmed = confirmation
            .as_ref()
            .and_then(|confirmation| confirmation.confirmed);
        object.insert("confirmed".into(), serde_json::to_value(confirmed)?);
        if let Some(confirmation) = confirmation {
            object.insert("confirmation".into(), serde_json::to_value(confirmation)?);
        }
    }
    Ok(())
}

/// The human report; `confirmations` (one per property, see `confirm`) are shown under
/// their property.
pub fn human(name: &str, path: &str, report: &CheckReport, confirmations: &[Option<Confirmation>]) -> String {
    let mut text = format!(
        "{name}: model-checked with a fault budget of {}{}\n",
        report.max_faults,
        report
            .max_depth
            .map_or(String::new(), |depth| format!(" and at most {depth} steps"))
    );
    let width = report
        .properties
        .iter()
        .map(|verdict| verdict.name.len())
        .max()
        .unwrap_or(0);
    if report.interrupted {
        text.push_str(&format!(
            "  interrupted: incomplete after {} states; a property marked \"not violated so far\" is not proved\n",
            report.states
        ));
    }
    for (index, verdict) in report.properties.iter().enumerate() {
        let status = if verdict.holds && report.interrupted {
            "not violated so far".to_string()
        } else if verdict.holds {
            "holds".to_string()
        } else {
            let kind = match verdict.kind {
                sim::check::PropertyKind::Safety => "VIOLATED",
                sim::check::PropertyKind::Liveness => "violated (availability)",
            };
            format!("{kind} in {} step(s):", verdict.counterexample.len())
        };
        text.push_str(&format!("  {:width$}  {status}\n", verdict.name));
        for (index, step) in verdict.counterexample.iter().enumerate() {
            text.push_str(&format!("      {step}{}\n", order_comment(verdict, index)));
        }
        if let Some(note) = &verdict.note {
            text.push_str(&format!("    note: {note}\n"));
        }
        if !verdict.order_dependent_steps.is_empty() {
            let steps: Vec<String> = verdict
                .order_dependent_steps
                .iter()
                .map(|index| (index + 1).to_string())
                .collect();
            text.push_str(&format!(
                "    note: step {} needs a delivery order other than ascending node id; whatif flags this step as order-dependent (?) rather than reproducing it\n",
                steps.join(", ")
            ));
        }
        let actions: Vec<String> = verdict
            .counterexample
            .iter()
            .enumerate()
            .map(|(index, step)| (index, step.to_string()))
            .filter(|(_, step)| is_operator_action(step))
            .map(|(index, step)| format!("step {}: `{step}`", index + 1))
            .collect();
        if !verdict.holds && !actions.is_empty() {
            // See: issue 10 item 12. Failures alone do not make this behaviour.
            text.push_str(&format!(
                "    note: this behaviour needs an operator action ({}): it happens only if someone runs it\n",
                actions.join(", ")
            ));
        }
        if !verdict.holds {
            let script: Vec<String> = verdict
                .counterexample
                .iter()
                .map(|step| step.to_string())
                .collect();
            text.push_str(&format!(
                "    replay: quorate whatif {path} -s '{}'\n",
                script.join("; ")
            ));
        }
        if let Some(Some(confirmation)) = confirmations.get(index) {
            text.push_str(&confirmation.human("    "));
        }
    }
    let symmetry = if report.method == sim::check::CheckMethod::Counter {
        let classes: Vec<String> = report
            .symmetry
            .iter()
            .map(|class| {
                let ids: Vec<String> = class.iter().map(|id| id.to_string()).collect();
                format!("{{{}}}", ids.join(","))
            })
            .collect();
        format!("counter abstraction over nodes {}", classes.join(" "))
    } else if report.symmetry.is_empty() {
        match &report.symmetry_note {
            Some(reason) => format!(
                "nodes not interchangeable here ({reason}): only partition labels and time are reduced"
            ),
            None => "nodes not interchangeable here: only partition labels and time are reduced".to_string(),
        }
    } else {
        let classes: Vec<String> = report
            .symmetry
            .iter()
            .map(|class| {
                let ids: Vec<String> = class.iter().map(|id| id.to_string()).collect();
                format!("{{{}}}", ids.join(","))
            })
            .collect();
        format!("symmetry over nodes {}", classes.join(" "))
    };
    text.push_str(&format!(
        "{} states ({} generated, {symmetry}), depth {}, {:.2} s\n",
        report.states, report.generated, report.depth, report.seconds
    ));
    text
}

/// Whether a counterexample step (in the script language) is something an operator does
/// (`expected V on N`, `reload`), not a failure.
fn is_operator_action(step: &str) -> bool {
    matches!(step.split_whitespace().next(), Some("expected" | "reload"))
}

/// `  # delivery order: ...` for a counterexample step that needs a non-ascending delivery
/// order (a whatif comment), else empty.
fn order_comment(verdict: &sim::check::PropertyVerdict, index: usize) -> String {
    verdict
        .delivery_orders
        .get(index)
        .and_then(|orders| sim::check::delivery_order_note(orders))
        .map_or(String::new(), |note| format!("  # delivery order: {note}"))
}

/// Lint rules whose findings are split-brain claims `lint --prove` checks.
pub const SPLIT_BRAIN_RULES: &[&str] = &[
    "two-node-without-wait-for-all",
    "two-node-relies-on-fencing",
    "two-node-with-more-than-two-nodes",
    "two-node-with-auto-tie-breaker",
    "expected-votes-below-node-votes",
    "last-man-standing-split-brain",
    "auto-tie-breaker-list-without-wait-for-all",
    "quorum-vote-overflow",
    "no-quorum-provider",
];

/// The fault budget `lint --prove` uses.
pub const PROVE_MAX_FAULTS: u8 = 2;

/// `lint --prove`: when `diagnostics` hold a split-brain rule, model-checks `text` (stopping
/// at the first split-brain) and appends the outcome to each such diagnostic's help: the
/// counterexample as a whatif script, or that none exists within the budget. With `confirm`
/// (`--confirm`, root) the counterexample is also replayed on a lab built from `text`, and
/// whether real corosync showed the split-brain is appended. Returns whether it found a
/// split-brain.
pub fn prove(text: &str, diagnostics: &mut [model::Diagnostic], confirm: bool, err: &mut dyn Write) -> bool {
    if !diagnostics
        .iter()
        .any(|diagnostic| SPLIT_BRAIN_RULES.contains(&diagnostic.name))
    {
        return false;
    }
    let mut found = false;
    let (document, _) = model::syntax::parse(text);
    let settings = model::config::Config::from_document(&document)
        .0
        .quorum_settings();
    let options = CheckOptions {
        model: ModelOptions {
            max_faults: PROVE_MAX_FAULTS,
            operator: OperatorActions::default(),
            fixed_order: false,
        },
        stop_at: Some(sim::check::NO_SPLIT_BRAIN),
        ..CheckOptions::default()
    };
    let note = match check_settings(&settings, &options, err) {
        Ok(report) => match report
            .properties
            .iter()
            .find(|verdict| verdict.name == sim::check::NO_SPLIT_BRAIN)
        {
            Some(verdict) if !verdict.holds => {
                found = true;
                let script: Vec<String> = verdict.counterexample.iter().map(|step| step.to_string()).collect();
                let mut note = format!(
                    "quorate check found a split-brain in {} step(s): `{}`",
                    script.len(),
                    script.join("; ")
                );
                if confirm {
                    let confirmation = match confirm::ConfirmLab::up(text, err) {
                        Ok(mut lab) => lab.confirm(verdict.name, &verdict.counterexample, &settings, err),
                        Err(error) => Confirmation::not_replayed(
                            format!("the lab could not be built: {error:#}"),
                            confirm::corosync_version(),
                        ),
                    };
                    note.push_str(&format!("; {}", confirmation.headline()));
                }
                note
            }
            _ => format!(
                "quorate check: no split-brain within a fault budget of {PROVE_MAX_FAULTS} (proved within budget, {} states)",
                report.states
            ),
        },
        Err(error) => format!("quorate check could not run: {error}"),
    };
    for diagnostic in diagnostics
        .iter_mut()
        .filter(|diagnostic| SPLIT_BRAIN_RULES.contains(&diagnostic.name))
    {
        diagnostic.help = Some(match diagnostic.help.take() {
            Some(help) => format!("{help}\n{note}"),
            None => note.clone(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }

    fn args(list: &[&str]) -> CheckArgs {
        Cli::parse_from(std::iter::once("check").chain(list.iter().copied())).check
    }

    /// Ctrl-C's path (the hook instead of the signal): the partial result is printed, marked
    /// incomplete, and the exit status is 130. See: issue 10 item 8.
    #[test]
    fn cancelled_check_prints_the_partial_result_and_exits_130() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pve1/corosync.conf");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(&args(&[file]), &mut out, &mut err, &|| true).unwrap();
        assert_eq!(code, EXIT_INTERRUPTED);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("interrupted: incomplete after"), "{text}");
        assert!(text.contains("not violated so far"), "{text}");
        assert!(!text.contains("  holds"), "{text}");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(&args(&[file, "--format", "json"]), &mut out, &mut err, &|| true).unwrap();
        assert_eq!(code, EXIT_INTERRUPTED);
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["interrupted"], true);
        assert_eq!(json["complete"], false);
    }

    #[test]
    fn progress_line_has_the_rate_and_the_counterexample_bound() {
        let progress = Progress {
            phase: "counterexample",
            states: 1200,
            depth: 4,
            elapsed: std::time::Duration::from_secs(2),
            rate: 600.0,
            bound: Some((3, 7)),
        };
        assert_eq!(
            progress_line(&progress),
            "checking (counterexample, length 3 of at most 7): 1200 states, 600 states/s, depth 4, 2 s"
        );
    }
}
