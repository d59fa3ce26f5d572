//! The step loop: for every step, re-check its precondition live, run its commands (the
//! nodes of one step in parallel, each node's commands in order), then poll every node until
//! its postcondition holds or its timeout passes; stop at the first mismatch.
//!
//! Owns `execute`, the file actions (`write_file` with its backup, `copy_file` whose bytes
//! go from one node's SSH stdout to another's stdin through memory only), `backup_name`,
//! and the journal records of a run. A step that changes membership is done only when every
//! node that ran before and after shows a new ring id as well as the `post` (so a restart
//! cannot be taken as done before the others noticed it; a node whose expected membership
//! holds none of the step's nodes is not asked to). A signal is honoured between
//! actions: the action in flight finishes and is recorded first. Nothing is ever undone.

use super::journal::{now_ms, Journal, Record};
use super::observe::{compare, observe, same_ring, unreachable, Observation};
use super::plan::{Command, Plan, Step};
use super::{remote_commands, ApplyError, ApplyOptions, Event, Outcome, Sink, BACKUP_ROOT};
use crate::status::reading::COROSYNC_CONF;
use crate::transport::Remote;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keeps the first version of `$2` as `$1/$3` (mode and owner kept; an existing backup is
/// not replaced, so it stays the file from before the plan). A missing `$2` has nothing to
/// keep.
pub const BACKUP_SCRIPT: &str = r#"set -eu
[ -e "$2" ] || exit 0
mkdir -p -m 0700 -- "$1"
[ -e "$1/$3" ] || cp -p -- "$2" "$1/$3"
sync -- "$1"
"#;

/// The backup file name of `path`: its slashes turned into underscores.
pub fn backup_name(path: &str) -> String {
    path.trim_start_matches('/').replace('/', "_")
}

/// Why a step stopped.
enum Stop {
    /// A command failed: the message.
    Command(String),
    /// A signal arrived (between actions: every action finished and was recorded).
    Signal,
    /// A signal arrived and a command failed meanwhile: the signal reached its ssh process
    /// too (a terminal sends SIGINT to the whole foreground group), so its outcome on the
    /// node is unknown. The node, command and what was reported.
    SignalDuring(String),
}

/// Runs the steps of `plan` from index `start`. `remotes` holds every plan node.
pub fn execute(
    plan: &Plan,
    remotes: &BTreeMap<String, &dyn Remote>,
    preflight: &super::preflight::Preflight,
    options: &ApplyOptions,
    cancel: &AtomicBool,
    sink: Sink<'_>,
) -> Result<Outcome, ApplyError> {
    let journal = Mutex::new(Journal::open(&options.journal)?);
    let append = |record: Record| -> Result<(), ApplyError> {
        let mut journal = journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        journal.append(&record).map_err(ApplyError::from)
    };
    append(Record::Begin {
        plan_sha256: plan.plan_sha256.clone(),
        at_ms: now_ms(),
        resume: options.resume,
    })?;
    // Steps a resume found done (their postcondition holds) are recorded as verified.
    for step in &preflight.found_done {
        append(Record::StepVerified {
            plan_sha256: plan.plan_sha256.clone(),
            step: *step,
            at_ms: now_ms(),
            config_sha256_by_node: preflight
                .observation
                .iter()
                .map(|(name, seen)| (name.clone(), seen.config_sha256.clone()))
                .collect(),
        })?;
    }
    let start = preflight.start;
    let began = Instant::now();
    let count = u32::try_from(plan.steps.len()).unwrap_or(u32::MAX);
    for step in plan.steps.iter().skip(start) {
        if cancel.load(Ordering::SeqCst) {
            sink(&Event::Interrupted {
                step: step.id,
                resume: options.resume_command.clone(),
                unfinished: None,
            });
            append(Record::Stopped {
                step: step.id,
                reason: "interrupted before the step".into(),
            })?;
            return Ok(Outcome::Interrupted { step: step.id });
        }
        let step_began = Instant::now();
        sink(&Event::StepStarted {
            step: step.id,
            of: count,
            action: step.action.clone(),
            nodes: step.nodes.clone(),
            why: step.why.clone(),
        });
        // Always a new reading: the one that verified the previous step is older, and a node
        // that failed since must stop the run before this step acts.
        let before = observe(plan, remotes);
        let mut differences = compare(plan, &step.pre, &before);
        if preflight.partial == Some(step.id) {
            // Redoing a file step a signal or crash cut short: a node may hold either version.
            differences.retain(|difference| {
                !before.iter().any(|(name, seen)| {
                    difference.starts_with(&format!("{name} {COROSYNC_CONF}:"))
                        && seen.config_sha256.as_ref() == step.post.config_sha256_by_node.get(name)
                })
            });
        }
        if !differences.is_empty() {
            let lost = unreachable(&before);
            let message = if lost.is_empty() {
                format!("step {} does not start from the state it expects", step.id)
            } else {
                format!(
                    "step {}: cannot reach {}; nothing of this step ran",
                    step.id,
                    lost.join("; ")
                )
            };
            return fail(
                plan,
                step,
                "precondition",
                message,
                differences,
                options,
                sink,
                &append,
            );
        }
        append(Record::StepStarted {
            plan_sha256: plan.plan_sha256.clone(),
            step: step.id,
            at_ms: now_ms(),
        })?;
        match run_commands(plan, step, remotes, cancel, sink, &append) {
            Ok(()) => {}
            Err(Stop::Signal) => {
                sink(&Event::Interrupted {
                    step: step.id,
                    resume: options.resume_command.clone(),
                    unfinished: None,
                });
                append(Record::Stopped {
                    step: step.id,
                    reason: "interrupted between commands".into(),
                })?;
                return Ok(Outcome::Interrupted { step: step.id });
            }
            Err(Stop::SignalDuring(unfinished)) => {
                append(Record::Stopped {
                    step: step.id,
                    reason: format!(
                        "interrupted during a command whose ssh process the signal reached too, its \
                         outcome on the node unknown: {unfinished}"
                    ),
                })?;
                sink(&Event::Interrupted {
                    step: step.id,
                    resume: options.resume_command.clone(),
                    unfinished: Some(unfinished),
                });
                return Ok(Outcome::Interrupted { step: step.id });
            }
            Err(Stop::Command(message)) => {
                return fail(plan, step, "command", message, Vec::new(), options, sink, &append);
            }
        }
        match wait_for_post(plan, step, remotes, &before, options, cancel, sink) {
            Ok(seen) => {
                append(Record::StepVerified {
                    plan_sha256: plan.plan_sha256.clone(),
                    step: step.id,
                    at_ms: now_ms(),
                    config_sha256_by_node: seen
                        .iter()
                        .map(|(name, seen)| (name.clone(), seen.config_sha256.clone()))
                        .collect(),
                })?;
                sink(&Event::StepDone {
                    step: step.id,
                    elapsed_ms: millis(step_began.elapsed()),
                });
            }
            Err(Wait::Signal) => {
                sink(&Event::Interrupted {
                    step: step.id,
                    resume: options.resume_command.clone(),
                    unfinished: None,
                });
                append(Record::Stopped {
                    step: step.id,
                    reason: "interrupted while waiting for the postcondition".into(),
                })?;
                return Ok(Outcome::Interrupted { step: step.id });
            }
            Err(Wait::Unreachable { lost, differences }) => {
                let message = format!(
                    "step {}: lost {}; its commands ran, its postcondition is not verified (stopped \
                     at once: no wait brings an unreachable node back)",
                    step.id,
                    lost.join("; ")
                );
                return fail(
                    plan,
                    step,
                    "postcondition",
                    message,
                    differences,
                    options,
                    sink,
                    &append,
                );
            }
            Err(Wait::TimedOut(differences)) => {
                let message = format!(
                    "step {} did not reach its postcondition within {} ms",
                    step.id, step.timeout_ms
                );
                return fail(
                    plan,
                    step,
                    "postcondition",
                    message,
                    differences,
                    options,
                    sink,
                    &append,
                );
            }
        }
    }
    append(Record::Done {
        plan_sha256: plan.plan_sha256.clone(),
        at_ms: now_ms(),
    })?;
    let took_ms = millis(began.elapsed());
    let floor_ms = plan.floor_ms();
    sink(&Event::Done { took_ms, floor_ms });
    Ok(Outcome::Done { took_ms, floor_ms })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[allow(clippy::too_many_arguments)]
fn fail(
    plan: &Plan,
    step: &Step,
    phase: &str,
    message: String,
    differences: Vec<String>,
    options: &ApplyOptions,
    sink: Sink<'_>,
    append: &dyn Fn(Record) -> Result<(), ApplyError>,
) -> Result<Outcome, ApplyError> {
    let _ = plan;
    append(Record::Stopped {
        step: step.id,
        reason: format!("{phase}: {message}"),
    })?;
    sink(&Event::Failed {
        step: step.id,
        phase: phase.to_string(),
        message,
        differences,
        resume: options.resume_command.clone(),
    });
    Ok(Outcome::Failed { step: step.id })
}

/// How long a failed command waits for a signal that may have killed its ssh process
/// before the failure is taken as the node's (see `run_commands`).
const SIGNAL_GRACE: Duration = Duration::from_millis(500);

/// Runs the step's commands: one thread per node, each node's commands in order. The first
/// failure is returned (the other nodes finish the command they are in and stop).
fn run_commands(
    plan: &Plan,
    step: &Step,
    remotes: &BTreeMap<String, &dyn Remote>,
    cancel: &AtomicBool,
    sink: Sink<'_>,
    append: &(dyn Fn(Record) -> Result<(), ApplyError> + Sync),
) -> Result<(), Stop> {
    let failed = AtomicBool::new(false);
    let results: Vec<Result<(), Stop>> = std::thread::scope(|scope| {
        let handles: Vec<_> = step
            .commands
            .iter()
            .map(|(node, commands)| {
                let failed = &failed;
                scope.spawn(move || -> Result<(), Stop> {
                    let remote = remotes
                        .get(node)
                        .ok_or_else(|| Stop::Command(format!("{node}: no connection to the node")))?;
                    for line in commands {
                        if cancel.load(Ordering::SeqCst) {
                            return Err(Stop::Signal);
                        }
                        if failed.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        let command = Command::parse(line)
                            .map_err(|problem| Stop::Command(format!("{node}: `{line}`: {problem}")))?;
                        sink(&Event::Command {
                            step: step.id,
                            node: node.clone(),
                            command: line.clone(),
                            remote: remote_commands(plan, &command, node),
                            dry_run: false,
                        });
                        let result = run_one(plan, &command, *remote, remotes);
                        if let Err(message) = result {
                            failed.store(true, Ordering::SeqCst);
                            // A terminal's Ctrl-C reaches apply and its ssh processes at
                            // once, and the ssh may die (failing the command) before apply's
                            // handler has run: give that signal a moment before calling the
                            // failure the node's (a CI run read exit 1 instead of 130 here).
                            let grace = Instant::now() + SIGNAL_GRACE;
                            while !cancel.load(Ordering::SeqCst) && Instant::now() < grace {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            let message = format!("{node}: `{line}`: {message}");
                            // A signal that came while the command ran may have reached its
                            // ssh process as well: then the failure is the signal's doing,
                            // not the node's, and the run is interrupted, not failed.
                            if cancel.load(Ordering::SeqCst) {
                                return Err(Stop::SignalDuring(message));
                            }
                            return Err(Stop::Command(message));
                        }
                        append(Record::CommandDone {
                            step: step.id,
                            node: node.clone(),
                            command: line.clone(),
                        })
                        .map_err(|error| Stop::Command(error.to_string()))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(Stop::Command("a node's thread panicked (a bug)".into())))
            })
            .collect()
    });
    let mut signal = false;
    let mut unfinished = Vec::new();
    for result in results {
        match result {
            Err(Stop::Command(message)) => return Err(Stop::Command(message)),
            Err(Stop::SignalDuring(message)) => unfinished.push(message),
            Err(Stop::Signal) => signal = true,
            Ok(()) => {}
        }
    }
    if !unfinished.is_empty() {
        return Err(Stop::SignalDuring(unfinished.join("; ")));
    }
    if signal {
        Err(Stop::Signal)
    } else {
        Ok(())
    }
}

/// Carries out one command on `remote`.
fn run_one(
    plan: &Plan,
    command: &Command,
    remote: &dyn Remote,
    remotes: &BTreeMap<String, &dyn Remote>,
) -> Result<(), String> {
    match command {
        Command::WriteFile { path, sha256, mode } => {
            let text = plan
                .config_text(sha256)
                .ok_or_else(|| format!("the plan has no file with sha256 {sha256}"))?;
            backup(plan, remote, path)?;
            remote
                .write_file_atomic(Path::new(path), text.as_bytes(), *mode)
                .map_err(|error| error.to_string())
        }
        Command::CopyFile {
            path,
            from,
            mode,
            source: source_path,
        } => {
            let source = remotes
                .get(from)
                .ok_or_else(|| format!("no connection to {from}, the node to copy from"))?;
            let read_path = source_path.as_deref().unwrap_or(path);
            // The bytes live in this buffer only, between the two SSH sessions.
            let bytes = source
                .read_file(Path::new(read_path))
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("{from} has no {read_path} to copy"))?;
            backup(plan, remote, path)?;
            let written = remote.write_file_atomic(Path::new(path), &bytes, *mode);
            drop(bytes);
            written.map_err(|error| error.to_string())
        }
        Command::UnlessExists { path, argv } => {
            let exists = remote
                .run(&["test", "-e", path])
                .map_err(|error| error.to_string())?
                .success();
            if exists {
                return Ok(());
            }
            let words: Vec<&str> = argv.iter().map(String::as_str).collect();
            let output = remote.run(&words).map_err(|error| error.to_string())?;
            if output.success() {
                Ok(())
            } else {
                Err(format!("{}: {}", output.status_text(), output.stderr_text()))
            }
        }
        Command::Run { argv } => {
            if let Some(path) = command.written_path() {
                backup(plan, remote, path)?;
            }
            let words: Vec<&str> = argv.iter().map(String::as_str).collect();
            let output = remote.run(&words).map_err(|error| error.to_string())?;
            if output.success() {
                Ok(())
            } else {
                Err(format!("{}: {}", output.status_text(), output.stderr_text()))
            }
        }
    }
}

/// Keeps the file at `path` under the plan's backup directory on the node first.
fn backup(plan: &Plan, remote: &dyn Remote, path: &str) -> Result<(), String> {
    let dir = format!("{BACKUP_ROOT}/{}", plan.plan_sha256);
    let name = backup_name(path);
    let output = remote
        .run(&["sh", "-c", BACKUP_SCRIPT, "sh", &dir, path, &name])
        .map_err(|error| error.to_string())?;
    if output.success() {
        Ok(())
    } else {
        Err(format!(
            "backing up {path} to {dir} failed ({}): {}; nothing was written",
            output.status_text(),
            output.stderr_text()
        ))
    }
}

/// Why waiting for a postcondition ended without it.
enum Wait {
    /// The step's timeout passed: what still differs.
    TimedOut(Vec<String>),
    /// A node could not be reached (its SSH connection failed): which (`node: error`), and
    /// what differed at that reading.
    Unreachable {
        /// The nodes not reached, with why.
        lost: Vec<String>,
        /// Every difference at that reading.
        differences: Vec<String>,
    },
    /// A signal arrived.
    Signal,
}

/// Polls until the step's `post` holds (and, for a membership change, every node that ran
/// before and after is on a new ring), one reading every `poll_interval` counted from the
/// start of the previous reading (a reading slower than the interval is followed by the next
/// at once). Stops at once when a node cannot be reached (a lost SSH connection does not come
/// back by waiting, and a step must not be taken as done without reading every node).
///
/// A step without commands that changes no membership (`wait`) is verified by its
/// precondition reading `before` when that already shows `post`: the reading was taken after
/// the step began and nothing of the step runs, so a second reading could only be later, not
/// more after the step's actions. Any other step is verified by a reading taken after its last
/// command.
fn wait_for_post(
    plan: &Plan,
    step: &Step,
    remotes: &BTreeMap<String, &dyn Remote>,
    before: &Observation,
    options: &ApplyOptions,
    cancel: &AtomicBool,
    sink: Sink<'_>,
) -> Result<Observation, Wait> {
    let began = Instant::now();
    let limit = Duration::from_millis(step.timeout_ms);
    let mut last_reported: Option<Vec<String>> = None;
    let mut reuse_before = step.commands.values().all(Vec::is_empty) && !step.changes_membership();
    loop {
        let taken = Instant::now();
        let seen = if std::mem::take(&mut reuse_before) {
            before.clone()
        } else {
            observe(plan, remotes)
        };
        let mut differences = compare(plan, &step.post, &seen);
        if step.changes_membership() {
            // A node must see a new ring when its expected membership holds a node the step
            // acts on (it saw that node leave and come back, or join); a node that stays
            // apart from the acted-on nodes (their rings never meet) keeps its ring.
            let must_see_change = |node: &str| {
                step.post
                    .members
                    .iter()
                    .find(|members| members.iter().any(|member| member == node))
                    .is_some_and(|members| members.iter().any(|member| step.nodes.contains(member)))
            };
            for node in same_ring(before, &seen)
                .into_iter()
                .filter(|node| must_see_change(node))
            {
                differences.push(format!(
                    "{node}: still on the ring it had before the step (no new membership seen yet)"
                ));
            }
        }
        if differences.is_empty() {
            return Ok(seen);
        }
        let lost = unreachable(&seen);
        if !lost.is_empty() {
            return Err(Wait::Unreachable { lost, differences });
        }
        if began.elapsed() >= limit {
            return Err(Wait::TimedOut(differences));
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(Wait::Signal);
        }
        if last_reported.as_ref() != Some(&differences) {
            sink(&Event::Waiting {
                step: step.id,
                elapsed_ms: millis(began.elapsed()),
                differences: differences.clone(),
            });
            last_reported = Some(differences);
        }
        if let Some(rest) = options.poll_interval.checked_sub(taken.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{CommandOutput, FakeCall, FakeNode};

    fn plan() -> Plan {
        serde_json::from_str(
            r#"{"format":1,"to_sha256":"x","to_config":"","steps":[],"plan_sha256":"p","qnetd_host":"q"}"#,
        )
        .unwrap()
    }

    fn ok() -> CommandOutput {
        CommandOutput {
            code: Some(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn copy_file_reads_the_source_path_and_writes_the_destination() {
        let qnetd = FakeNode::new("q");
        let node = FakeNode::new("n1");
        qnetd.put_file(
            Path::new("/etc/corosync/qnetd/nssdb/qnetd-cacert.crt"),
            b"CA",
            0o644,
        );
        node.respond(
            &[
                "sh",
                "-c",
                BACKUP_SCRIPT,
                "sh",
                "/var/lib/quorate/backup/p",
                "/etc/corosync/ca.crt",
                "etc_corosync_ca.crt",
            ],
            ok(),
        );
        let mut remotes: BTreeMap<String, &dyn Remote> = BTreeMap::new();
        remotes.insert("q".into(), &qnetd);
        remotes.insert("n1".into(), &node);
        let command = Command::parse(
            "copy-file /etc/corosync/ca.crt from:q mode:0644 source:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt",
        )
        .unwrap();
        run_one(&plan(), &command, &node, &remotes).unwrap();
        let copied = node.file(Path::new("/etc/corosync/ca.crt")).unwrap();
        assert_eq!((copied.bytes.as_slice(), copied.mode), (&b"CA"[..], 0o644));
        // Without `source:` the same path is read: absent there, a clear error.
        let same = Command::parse("copy-file /etc/corosync/ca.crt from:q mode:0644").unwrap();
        let error = run_one(&plan(), &same, &node, &remotes).unwrap_err();
        assert_eq!(error, "q has no /etc/corosync/ca.crt to copy");
    }

    #[test]
    fn unless_exists_runs_the_program_only_when_the_path_is_absent() {
        let qnetd = FakeNode::new("q");
        let remotes: BTreeMap<String, &dyn Remote> = BTreeMap::new();
        let command = Command::parse("unless-exists /etc/db corosync-qnetd-certutil -i").unwrap();
        qnetd.respond_in_turn(
            &["test", "-e", "/etc/db"],
            vec![
                CommandOutput {
                    code: Some(1),
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                },
                ok(),
            ],
        );
        qnetd.respond(&["corosync-qnetd-certutil", "-i"], ok());
        run_one(&plan(), &command, &qnetd, &remotes).unwrap();
        run_one(&plan(), &command, &qnetd, &remotes).unwrap();
        let runs = qnetd
            .calls()
            .iter()
            .filter(|call| matches!(call, FakeCall::Run { command, .. } if command[0] == "corosync-qnetd-certutil"))
            .count();
        assert_eq!(runs, 1, "{:?}", qnetd.calls());
    }
}
