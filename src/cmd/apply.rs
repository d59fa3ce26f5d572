//! `quorate apply PLAN --inventory INV`: a plan carried out on real nodes over SSH.
//!
//! Owns the clap arguments, reading the plan and inventory files, opening the SSH sessions,
//! the confirmation prompt (on a terminal, without `--yes`), SIGINT/SIGTERM (the first one
//! asks the engine to stop after the action in flight; a second one exits at once), the
//! rendering of the engine's events (human lines, or one JSON object per line with
//! `--format json`) and the exit code. The engine is `executor::apply`.
//!
//! Before anything else the plan's integrity is checked (`integrity_problems`: plan_sha256
//! recomputed as `plan verify` does, and the file hashes): a plan edited after planning is
//! refused like a failed preflight, before any node is contacted.
//!
//! Exit status: 0 every step verified (or `--dry-run` passed its preflight, or nothing was
//! left to do); 1 the plan changed after planning, the preflight refused (drift, unreachable node, missing address, program or
//! space, journal) or a step stopped (precondition, command, postcondition); 130 stopped by a
//! signal; 2 the plan or inventory cannot be read.
//!
//! JSON events (`--format json`, one per line, stable): `{"event": "preflight", "start_step",
//! "steps", "problems": [{"node", "message", "diff"?}], "notes"}`, `{"event": "step_started",
//! "step", "of", "action", "nodes", "why"}`, `{"event": "command", "step", "node", "command",
//! "remote": [S], "dry_run"}`, `{"event": "waiting", "step", "elapsed_ms", "differences"}`,
//! `{"event": "step_done", "step", "elapsed_ms"}`, `{"event": "failed", "step", "phase",
//! "message", "differences", "resume"}`, `{"event": "interrupted", "step", "resume", "unfinished"?}`,
//! `{"event": "done", "took_ms", "floor_ms"}`.

use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use executor::apply::plan::Plan;
use executor::apply::preflight::preflight;
use executor::apply::{self, ApplyOptions, Event, Nodes, Outcome, Problem};
use executor::inventory::Inventory;
use executor::Remote;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Exit code: stopped by SIGINT or SIGTERM.
const EXIT_INTERRUPTED: u8 = 130;

/// Output formats of `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// Progress lines for people.
    Human,
    /// One JSON event per line (see the module documentation).
    Json,
}

/// Arguments of `quorate apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan (JSON, from `quorate plan --format json -o PLAN`).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The inventory (TOML: nodes, addresses, SSH keys; `lab up` writes one).
    #[arg(long, value_name = "INV")]
    pub inventory: PathBuf,
    /// Run the preflight, then print per step and node the exact remote commands; change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Continue a run the journal recorded, after re-verifying the live state.
    #[arg(long)]
    pub resume: bool,
    /// Do not ask for confirmation on a terminal.
    #[arg(long)]
    pub yes: bool,
    /// The journal (append-only JSON lines; default: PLAN.journal).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub format: ApplyFormat,
}

/// Runs `quorate apply`; SIGINT and SIGTERM stop it after the action in flight (exit 130).
pub fn run(args: &ApplyArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut handlers = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once; the first sets the flag.
        handlers.extend(signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(EXIT_INTERRUPTED),
            Arc::clone(&cancel),
        ));
        handlers.extend(signal_hook::flag::register(signal, Arc::clone(&cancel)));
    }
    let result = run_with(args, out, err, &cancel);
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    result
}

/// `run` with the cancel flag given (for tests and embedding).
pub fn run_with(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    cancel: &AtomicBool,
) -> anyhow::Result<u8> {
    let plan_text = match std::fs::read_to_string(&args.plan) {
        Ok(text) => text,
        Err(error) => {
            writeln!(err, "error: {}: {error}", args.plan.display())?;
            return Ok(EXIT_ERROR);
        }
    };
    let plan = match Plan::from_json(&plan_text, &args.plan) {
        Ok(plan) => plan,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let steps = u32::try_from(plan.steps.len()).unwrap_or(u32::MAX);
    let integrity = integrity_problems(&plan_text, &plan, &args.plan);
    if !integrity.is_empty() {
        render(
            &Event::Preflight {
                start_step: 1,
                steps,
                problems: integrity,
                notes: Vec::new(),
            },
            args.format,
            out,
        )?;
        return Ok(EXIT_FINDINGS);
    }
    let inventory = match Inventory::read(&args.inventory) {
        Ok(inventory) => inventory,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let journal = args.journal.clone().unwrap_or_else(|| {
        let mut name = args.plan.clone().into_os_string();
        name.push(".journal");
        PathBuf::from(name)
    });
    let resume_command = format!(
        "quorate apply {} --inventory {} --journal {} --resume",
        args.plan.display(),
        args.inventory.display(),
        journal.display()
    );
    let options = ApplyOptions {
        resume: args.resume,
        journal: journal.clone(),
        poll_interval: Duration::from_millis(100),
        resume_command,
    };
    // Sessions to every plan node the inventory lists, all at once.
    let wanted: Vec<String> = plan.node_names();
    let subset = Inventory {
        ssh_config: inventory.ssh_config.clone(),
        nodes: inventory
            .nodes
            .iter()
            .chain(
                inventory
                    .qnetd
                    .iter()
                    .filter(|qnetd| plan.qnetd_host.as_ref() == Some(&qnetd.name)),
            )
            .filter(|node| wanted.contains(&node.name))
            .cloned()
            .collect(),
        qnetd: None,
    };
    let sessions = executor::ssh::connect_all(&subset, &super::status::ssh_options(&args.inventory))?;
    let mut nodes: Nodes<'_> = Nodes::new();
    for (node, session) in subset.nodes.iter().zip(&sessions) {
        nodes.insert(
            node.name.clone(),
            session
                .as_ref()
                .map(|session| session as &dyn Remote)
                .map_err(ToString::to_string),
        );
    }
    let format = args.format;
    let found = match preflight(&plan, &nodes, args.resume, &journal) {
        Ok(found) => found,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let start_step = plan.steps.get(found.start).map_or(steps + 1, |step| step.id);
    render(
        &Event::Preflight {
            start_step,
            steps,
            problems: found.problems.clone(),
            notes: found.notes.clone(),
        },
        format,
        out,
    )?;
    if !found.problems.is_empty() {
        return Ok(EXIT_FINDINGS);
    }
    if args.dry_run {
        let events = std::sync::Mutex::new(Vec::new());
        apply::dry_run(&plan, found.start, &|event: &Event| {
            events
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(event.clone());
        });
        for event in events.into_inner().unwrap_or_default() {
            render(&event, format, out)?;
        }
        return Ok(EXIT_OK);
    }
    if found.start >= plan.steps.len() && found.found_done.is_empty() {
        if format == ApplyFormat::Human {
            writeln!(out, "nothing to do: every step of this plan is verified")?;
        }
        return Ok(EXIT_OK);
    }
    if !args.yes
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && !confirm(&plan, found.start, out)?
    {
        writeln!(err, "not confirmed; nothing was changed")?;
        return Ok(EXIT_FINDINGS);
    }
    let remotes = apply::reachable(&nodes);
    let (sender, receiver) = std::sync::mpsc::channel::<Event>();
    let outcome = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let sink = move |event: &Event| {
                let _ = sender.send(event.clone());
            };
            apply::execute::execute(&plan, &remotes, &found, &options, cancel, &sink)
        });
        let mut written = Ok(());
        for event in receiver {
            if written.is_ok() {
                written = render(&event, format, out);
            }
        }
        let outcome = worker.join();
        written.map(|()| outcome)
    })?;
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
        Err(_) => anyhow::bail!("the apply thread panicked (a bug)"),
    };
    drop(sessions);
    Ok(match outcome {
        Outcome::Done { .. } | Outcome::NothingToDo | Outcome::DryRun => EXIT_OK,
        Outcome::Interrupted { .. } => EXIT_INTERRUPTED,
        _ => EXIT_FINDINGS,
    })
}

/// Whether the plan is the one `quorate plan` wrote or `quorate plan verify` accepted: its
/// `plan_sha256` recomputed by the planner's own `Plan::compute_sha256` (the function
/// `plan verify` checks it with, so the two agree on every plan), and its file hashes
/// (`content_problems`). Empty: intact. A plan changed by hand after planning is refused
/// before any node is contacted: its steps' safety was proven for other content.
pub fn integrity_problems(text: &str, plan: &Plan, path: &Path) -> Vec<Problem> {
    let shown = path.display();
    let refuse = |message: String| Problem {
        node: None,
        message,
        diff: Vec::new(),
    };
    let mut problems = Vec::new();
    match serde_json::from_str::<planner::Plan>(text) {
        Ok(planned) => {
            let computed = planned.compute_sha256();
            if computed != planned.plan_sha256 {
                problems.push(refuse(format!(
                    "{shown}: the plan's content does not match its plan_sha256 (recorded {}, the content hashes to \
                     {computed}): it was changed after `quorate plan` wrote it, and its safety was proven for other \
                     content. Plan again (`quorate plan ... -o {shown}`), or review the change, set plan_sha256 to \
                     {computed} and run `quorate plan verify {shown}` before applying",
                    planned.plan_sha256
                )));
            }
        }
        Err(error) => problems.push(refuse(format!(
            "{shown}: not a plan as `quorate plan` writes it ({error}), so its plan_sha256 cannot be checked: \
             plan again (`quorate plan ... -o {shown}`) and check it with `quorate plan verify {shown}`"
        ))),
    }
    for problem in plan.content_problems() {
        problems.push(refuse(format!(
            "{shown}: {problem}: the plan was changed after planning; plan again, or fix it and run \
             `quorate plan verify {shown}`"
        )));
    }
    problems
}

/// Shows the plan summary and asks; true when the answer is yes.
fn confirm(plan: &Plan, start: usize, out: &mut dyn Write) -> std::io::Result<bool> {
    let remaining = plan.steps.get(start..).unwrap_or(&[]);
    writeln!(
        out,
        "plan {} ({}):",
        &plan.plan_sha256[..plan.plan_sha256.len().min(12)],
        plan.verdict
    )?;
    for step in remaining {
        writeln!(out, "  {:>2}. {} {}", step.id, step.action, step.nodes.join(","))?;
    }
    let estimate: u64 = remaining.iter().map(|step| step.estimate_ms).sum();
    write!(
        out,
        "apply {} steps to {} (about {:.1} s)? [y/N] ",
        remaining.len(),
        plan.node_names().join(", "),
        estimate as f64 / 1000.0
    )?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Prints one event.
fn render(event: &Event, format: ApplyFormat, out: &mut dyn Write) -> std::io::Result<()> {
    if format == ApplyFormat::Json {
        let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
        writeln!(out, "{line}")?;
        return out.flush();
    }
    match event {
        Event::Preflight {
            start_step,
            steps,
            problems,
            notes,
        } => {
            for note in notes {
                writeln!(out, "note: {note}")?;
            }
            if problems.is_empty() {
                if start_step > steps {
                    writeln!(out, "preflight passed: every step is verified already")?;
                } else {
                    writeln!(out, "preflight passed: {steps} steps, starting at step {start_step}")?;
                }
            } else {
                writeln!(out, "preflight refused; nothing was changed:")?;
                for found in problems {
                    writeln!(out, "  error: {}", found.message)?;
                    for line in &found.diff {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
        }
        Event::StepStarted {
            step,
            of,
            action,
            nodes,
            why,
        } => {
            writeln!(out, "[{step}/{of}] {action} {}", nodes.join(","))?;
            if !why.is_empty() {
                writeln!(out, "      why: {why}")?;
            }
        }
        Event::Command {
            node,
            command,
            remote,
            dry_run,
            ..
        } => {
            if *dry_run {
                writeln!(out, "      {node}: {command}")?;
                for line in remote {
                    writeln!(out, "        $ {line}")?;
                }
            } else {
                writeln!(out, "      {node}: {command}")?;
            }
        }
        Event::Waiting {
            elapsed_ms,
            differences,
            ..
        } => writeln!(out, "      waiting ({}): {}", seconds(*elapsed_ms), differences.join("; "))?,
        Event::StepDone { elapsed_ms, .. } => writeln!(out, "      done in {}", seconds(*elapsed_ms))?,
        Event::Failed {
            step,
            phase,
            message,
            differences,
            resume,
        } => {
            writeln!(out, "error: stopped at step {step} ({phase}): {message}")?;
            for difference in differences {
                writeln!(out, "  {difference}")?;
            }
            writeln!(out, "nothing was undone. Once the cause is fixed, continue with:\n  {resume}")?;
        }
        Event::Interrupted {
            step,
            resume,
            unfinished: None,
        } => writeln!(
            out,
            "interrupted at step {step}: the action in flight finished and was recorded. Continue with:\n  {resume}"
        )?,
        Event::Interrupted {
            step,
            resume,
            unfinished: Some(unfinished),
        } => writeln!(
            out,
            "interrupted at step {step}: the signal also reached the ssh process of a command in flight \
             ({unfinished}); whether it finished on the node is read from the nodes on resume. Continue with:\n  {resume}"
        )?,
        Event::Done { took_ms, floor_ms } => {
            writeln!(out, "took {}; convergence floor {}", seconds(*took_ms), seconds(*floor_ms))?
        }
        _ => {}
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A one-step plan as `quorate plan` writes it (pretty JSON), with its true plan_sha256.
    fn written_plan() -> String {
        let to_config = "totem {\n  version: 2\n}\n";
        let snapshot = json!({
            "members": [["n1"]], "quorate": ["n1"], "expected_votes": 1,
            "config_sha256_by_node": {"n1": "a".repeat(64)}, "running": ["n1"]
        });
        let value = json!({
            "format": 1,
            "from_sha256": "a".repeat(64),
            "to_sha256": executor::status::reading::sha256_hex(to_config.as_bytes()),
            "to_config": to_config,
            "nodeids": {"n1": 1},
            "fault_budget": 1,
            "proxmox": false,
            "verdict": "safe",
            "steps": [{
                "id": 1, "action": "reload", "nodes": ["n1"],
                "commands": {"n1": ["corosync-cfgtool -R"]},
                "pre": snapshot, "post": snapshot,
                "timeout_ms": 5000, "estimate_ms": 1000, "why": "the new file takes effect"
            }],
            "rejected": [],
            "states_explored": 3,
            "plan_sha256": ""
        });
        let mut planned: planner::Plan = serde_json::from_value(value).unwrap();
        planned.plan_sha256 = planned.compute_sha256();
        serde_json::to_string_pretty(&planned).unwrap()
    }

    fn check(text: &str) -> Vec<String> {
        let path = Path::new("p.json");
        let plan = Plan::from_json(text, path).unwrap();
        integrity_problems(text, &plan, path)
            .into_iter()
            .map(|problem| problem.message)
            .collect()
    }

    #[test]
    fn a_plan_as_written_is_intact_and_any_edit_of_its_content_is_refused() {
        let text = written_plan();
        assert_eq!(check(&text), Vec::<String>::new());
        // Whitespace is not content: the compact form is the same plan.
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap();
        assert_eq!(check(&compact), Vec::<String>::new());
        // A longer timeout, edited by hand.
        let edited = text.replace("\"timeout_ms\": 5000", "\"timeout_ms\": 9000");
        assert_ne!(edited, text);
        let problems = check(&edited);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("p.json: the plan's content does not match its plan_sha256 (recorded "),
            "{problems:?}"
        );
        assert!(
            problems[0].contains("run `quorate plan verify p.json` before applying"),
            "{problems:?}"
        );
        // The edited plan with its plan_sha256 updated (what verify then checks) is accepted.
        let mut resealed: planner::Plan = serde_json::from_str(&edited).unwrap();
        resealed.plan_sha256 = resealed.compute_sha256();
        assert!(problems[0].contains(&format!("content hashes to {}", resealed.plan_sha256)));
        assert_eq!(
            check(&serde_json::to_string(&resealed).unwrap()),
            Vec::<String>::new()
        );
        // to_config edited and plan_sha256 resealed, to_sha256 left: still refused.
        let mut target_edited = resealed.clone();
        target_edited.to_config.push_str("# by hand\n");
        target_edited.plan_sha256 = target_edited.compute_sha256();
        let problems = check(&serde_json::to_string(&target_edited).unwrap());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("p.json: to_sha256 "), "{problems:?}");
    }

    #[test]
    fn a_plan_missing_what_the_planner_writes_cannot_be_checked_and_is_refused() {
        let mut value: serde_json::Value = serde_json::from_str(&written_plan()).unwrap();
        value.as_object_mut().unwrap().remove("fault_budget");
        let problems = check(&value.to_string());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .starts_with("p.json: not a plan as `quorate plan` writes it (missing field `fault_budget`"),
            "{problems:?}"
        );
    }
}
