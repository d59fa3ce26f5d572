//! `quorate apply`: carrying out a verified plan on real nodes, step by step, checking the
//! cluster before, during and after every step.
//!
//! Owns the engine's surface: `Event` (what the binary prints, human or one JSON line each),
//! `ApplyOptions`, `Problem`, `Outcome`, `Nodes` and `ApplyError`; its children hold the
//! parts: `plan` (the plan file as apply reads it, its commands), `observe` (what the
//! cluster shows and whether a snapshot holds), `preflight` (read-only checks and where to
//! start, also for `--resume`), `execute` (the step loop: re-check, run, poll, stop at the
//! first mismatch), `journal` and `diff`.
//!
//! What it never does: roll back on its own (a mismatch stops the run and leaves the cluster
//! as it is), write a file other than atomically (temporary file, fsync, rename, fsync of the
//! directory, after a backup under `BACKUP_ROOT/PLAN_SHA256/`), or let an authkey's bytes
//! leave memory: a key is read from one node's SSH stdout and written to another's stdin,
//! and no event, journal record or error carries it. It must not render anything: the
//! binary prints the events.

pub mod diff;
pub mod execute;
pub mod journal;
pub mod observe;
pub mod plan;
pub mod preflight;

#[cfg(test)]
mod tests;

use crate::transport::Remote;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where the previous version of every file apply replaces is kept, per plan, on the node.
pub const BACKUP_ROOT: &str = "/var/lib/quorate/backup";

/// The nodes of a plan: by name, the way to each, or why there is none.
pub type Nodes<'a> = BTreeMap<String, Result<&'a dyn Remote, String>>;

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Continue a run the journal recorded, after re-verifying the live state.
    pub resume: bool,
    /// The journal file.
    pub journal: PathBuf,
    /// How often the cluster is read while waiting for a postcondition.
    pub poll_interval: Duration,
    /// The exact command that resumes this run (printed when it stops).
    pub resume_command: String,
}

/// One preflight finding that refuses the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The node it concerns, if one.
    pub node: Option<String>,
    /// What is wrong, and what to do.
    pub message: String,
    /// A diff (`-` the plan expects, `+` the node has), when a file differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// What apply tells its caller as it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The preflight finished.
    Preflight {
        /// The step the run starts at (1-based; past the last step: nothing left).
        start_step: u32,
        /// The number of steps.
        steps: u32,
        /// What it found (empty: the run may go on).
        problems: Vec<Problem>,
        /// Things worth knowing that refuse nothing.
        notes: Vec<String>,
    },
    /// A step begins.
    StepStarted {
        /// Step id.
        step: u32,
        /// Number of steps.
        of: u32,
        /// The step's action.
        action: String,
        /// Its nodes.
        nodes: Vec<String>,
        /// Why it comes here.
        why: String,
    },
    /// A command runs (or, with `dry_run`, would run) on a node.
    Command {
        /// Step id.
        step: u32,
        /// The node.
        node: String,
        /// The plan's command.
        command: String,
        /// What is run on the node for it, exactly (the program and its arguments; a
        /// file's content goes on stdin and is named, never shown).
        remote: Vec<String>,
        /// True in `--dry-run`: nothing was run.
        dry_run: bool,
    },
    /// The postcondition does not hold yet.
    Waiting {
        /// Step id.
        step: u32,
        /// Since the step's commands finished, ms.
        elapsed_ms: u64,
        /// What still differs from the step's `post`.
        differences: Vec<String>,
    },
    /// A step's postcondition holds.
    StepDone {
        /// Step id.
        step: u32,
        /// The step's wall time, ms.
        elapsed_ms: u64,
    },
    /// The run stopped: nothing more is done, nothing is undone.
    Failed {
        /// Step id.
        step: u32,
        /// `precondition`, `command` or `postcondition`.
        phase: String,
        /// What happened.
        message: String,
        /// Every difference between what the step expects and what is.
        differences: Vec<String>,
        /// The command that continues once the cause is fixed.
        resume: String,
    },
    /// SIGINT or SIGTERM: the action in flight finished and was recorded.
    Interrupted {
        /// The step it stopped in (or before).
        step: u32,
        /// The command that continues.
        resume: String,
        /// A command the signal cut short on this side (`NODE: `COMMAND`: what it reported`):
        /// the signal reached its ssh process too, as a terminal's Ctrl-C reaches every
        /// process of the foreground group, so whether it finished on the node is not known
        /// here; `--resume` reads that from the nodes. Absent when every action in flight
        /// finished and was recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        unfinished: Option<String>,
    },
    /// Every step is verified.
    Done {
        /// The steps' wall time, ms.
        took_ms: u64,
        /// The convergence floor of the plan, ms.
        floor_ms: u64,
    },
}

/// Where events go (from several threads: nodes of a step run in parallel).
pub type Sink<'a> = &'a (dyn Fn(&Event) + Sync);

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The preflight refused; nothing was touched.
    Refused,
    /// `--dry-run`: the preflight passed and the commands were listed.
    DryRun,
    /// Nothing left to do (the journal says every step is verified and the cluster agrees).
    NothingToDo,
    /// Every step verified.
    Done {
        /// The steps' wall time, ms.
        took_ms: u64,
        /// The convergence floor, ms.
        floor_ms: u64,
    },
    /// Stopped at a step (a precondition, a command or a postcondition).
    Failed {
        /// The step.
        step: u32,
    },
    /// Stopped by a signal.
    Interrupted {
        /// The step.
        step: u32,
    },
}

/// A failure of apply itself (not of the cluster: those are `Outcome`s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The plan file.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// The journal.
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
}

/// The steps' commands as they run on `node`, one line per remote command (for events and
/// `--dry-run`). File contents are named by size and hash, never shown.
pub fn remote_commands(plan: &plan::Plan, command: &plan::Command, node: &str) -> Vec<String> {
    use plan::Command;
    let backup = |path: &str| {
        format!(
            "sh -c <backup script> sh {BACKUP_ROOT}/{} {path} {}",
            plan.plan_sha256,
            execute::backup_name(path)
        )
    };
    match command {
        Command::WriteFile { path, sha256, mode } => {
            let size = plan.config_text(sha256).map_or(0, str::len);
            vec![
                backup(path),
                format!(
                    "sh -c <atomic write script> sh {path} {mode:04o} {size} < plan file sha256:{sha256}"
                ),
            ]
        }
        Command::CopyFile {
            path,
            from,
            mode,
            source,
        } => vec![
            format!(
                "on {from}: sh -c <read script> sh {} (bytes kept in memory, never shown)",
                source.as_deref().unwrap_or(path)
            ),
            backup(path),
            format!("sh -c <atomic write script> sh {path} {mode:04o} SIZE < the bytes read from {from}"),
        ],
        Command::UnlessExists { path, argv } => {
            vec![
                format!("test -e {path}"),
                format!("{} (unless {path} exists)", argv.join(" ")),
            ]
        }
        Command::Run { argv } => {
            let mut lines = Vec::new();
            if let Some(path) = command.written_path() {
                lines.push(backup(path));
            }
            let _ = node;
            lines.push(argv.join(" "));
            lines
        }
    }
}

/// The reachable plan nodes of `nodes`.
pub fn reachable<'a>(nodes: &Nodes<'a>) -> BTreeMap<String, &'a dyn Remote> {
    nodes
        .iter()
        .filter_map(|(name, remote)| remote.as_ref().ok().map(|remote| (name.clone(), *remote)))
        .collect()
}

/// `--dry-run` after a passed preflight: every remaining step and, per node, exactly what
/// would run there, as events with `dry_run: true`.
pub fn dry_run(plan: &plan::Plan, start: usize, sink: Sink<'_>) {
    let count = u32::try_from(plan.steps.len()).unwrap_or(u32::MAX);
    for step in plan.steps.iter().skip(start) {
        sink(&Event::StepStarted {
            step: step.id,
            of: count,
            action: step.action.clone(),
            nodes: step.nodes.clone(),
            why: step.why.clone(),
        });
        for (node, commands) in &step.commands {
            for line in commands {
                if let Ok(command) = plan::Command::parse(line) {
                    sink(&Event::Command {
                        step: step.id,
                        node: node.clone(),
                        command: line.clone(),
                        remote: remote_commands(plan, &command, node),
                        dry_run: true,
                    });
                }
            }
        }
    }
}
