//! The preflight: read-only checks before anything is touched, and where a run starts.
//!
//! Owns `preflight`: every plan node reachable; the journal consistent with the request
//! (no unfinished run without `--resume`, a recorded run with it); the files on every node
//! equal to what the first step expects (else a diff against a node that holds the expected
//! version); the live runtime equal to the first step's `pre` (or, resuming, to the last
//! verified step's `post`, or the interrupted step found done or not done from file hashes
//! and runtime); every address the target gives a node configured on it (`ip -j addr`);
//! every program the steps run present; room to write. It must not change anything.

use super::journal::{self, Progress};
use super::observe::{compare, observe, Observation};
use super::plan::{Command, Plan, Step};
use super::{Nodes, Problem, BACKUP_ROOT};
use crate::status::reading::COROSYNC_CONF;
use crate::transport::Remote;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

/// What the preflight found.
#[derive(Clone, Debug)]
pub struct Preflight {
    /// Refusals (empty: go on).
    pub problems: Vec<Problem>,
    /// Remarks that refuse nothing.
    pub notes: Vec<String>,
    /// The index (0-based) of the first step to run; `plan.steps.len()`: nothing left.
    pub start: usize,
    /// Steps the journal left unverified that the live state shows done (resume).
    pub found_done: Vec<u32>,
    /// A file step a resume redoes although some nodes already hold its new file (its
    /// precondition then accepts either version per node).
    pub partial: Option<u32>,
    /// The observation the decision was made on.
    pub observation: Observation,
}

/// Programs apply itself runs on every node (the atomic write, backup and read scripts).
const OWN_PROGRAMS: &[&str] = &[
    "sh",
    "cat",
    "mktemp",
    "wc",
    "chmod",
    "sync",
    "mv",
    "dirname",
    "basename",
    "cp",
    "mkdir",
    "rm",
    "stat",
    "df",
    "ip",
    "sha256sum",
    "test",
];
/// corosync's tools apply reads the cluster with.
const COROSYNC_PROGRAMS: &[&str] = &[
    "corosync",
    "corosync-quorumtool",
    "corosync-cfgtool",
    "corosync-cmapctl",
];

/// Prints the programs of `$@` that are not in PATH, one a line.
pub(crate) const MISSING_PROGRAMS: &str = r#"for p do command -v "$p" >/dev/null 2>&1 || echo "$p"; done"#;

/// `df -Pk` of directory `$1`, or of its nearest existing parent (/var/lib/quorate may not
/// exist yet).
pub(crate) const FREE_SPACE: &str =
    r#"d=$1; while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done; df -Pk -- "$d""#;

fn problem(node: Option<&str>, message: String) -> Problem {
    Problem {
        node: node.map(str::to_string),
        message,
        diff: Vec::new(),
    }
}

/// Runs the preflight. `remotes` are the reachable plan nodes (`nodes` has every one).
pub fn preflight(
    plan: &Plan,
    nodes: &Nodes<'_>,
    resume: bool,
    journal_path: &Path,
) -> Result<Preflight, super::ApplyError> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut remotes: BTreeMap<String, &dyn Remote> = BTreeMap::new();
    for name in plan.node_names() {
        match nodes.get(&name) {
            Some(Ok(remote)) => {
                remotes.insert(name, *remote);
            }
            Some(Err(error)) => problems.push(problem(
                Some(&name),
                format!("{name}: cannot be reached: {error}"),
            )),
            None => problems.push(problem(
                Some(&name),
                format!("{name}: the plan names it but the inventory does not: add it to the inventory"),
            )),
        }
    }
    if plan.verdict == "needs-outage" {
        notes.push("the plan's verdict is needs-outage: quorum is lost on purpose during some steps".into());
    }
    let records = journal::read(journal_path)?;
    let progress = journal::progress(&records, &plan.plan_sha256);
    let mut preflight = Preflight {
        problems: Vec::new(),
        notes: Vec::new(),
        start: 0,
        found_done: Vec::new(),
        partial: None,
        observation: Observation::new(),
    };
    check_journal(&progress, resume, journal_path, &mut problems);
    if !problems.is_empty() {
        preflight.problems = problems;
        preflight.notes = notes;
        return Ok(preflight);
    }
    let observation = observe(plan, &remotes);
    let (start, found_done, state_problems) = if resume {
        resume_point(plan, &progress, &observation, &remotes)
    } else {
        (0, Vec::new(), fresh_state(plan, &observation, &remotes))
    };
    problems.extend(state_problems);
    let remaining = plan.steps.get(start..).unwrap_or(&[]);
    problems.extend(addresses(plan, &remotes));
    problems.extend(programs(plan, remaining, &remotes));
    problems.extend(space(plan, remaining, &remotes));
    preflight.problems = problems;
    preflight.notes = notes;
    preflight.start = start;
    preflight.found_done = found_done;
    preflight.partial = plan
        .steps
        .get(start)
        .filter(|step| resume && progress.interrupted == Some(step.id) && writes_files(step))
        .filter(|step| !compare(plan, &step.pre, &observation).is_empty())
        .map(|step| step.id);
    preflight.observation = observation;
    Ok(preflight)
}

fn check_journal(progress: &Progress, resume: bool, path: &Path, problems: &mut Vec<Problem>) {
    let shown = path.display();
    if resume && !progress.seen {
        problems.push(problem(
            None,
            format!("--resume: the journal {shown} has no run of this plan; run without --resume"),
        ));
    }
    if !resume && progress.seen && !progress.done {
        problems.push(problem(
            None,
            format!(
                "the journal {shown} shows an unfinished run of this plan (last verified step {}): \
                 continue it with --resume",
                progress.last_verified
            ),
        ));
    }
    if !resume && progress.done {
        problems.push(problem(
            None,
            format!("the journal {shown} shows this plan applied already; nothing to do"),
        ));
    }
}

/// A fresh run: files as the first step expects (with a diff), runtime as its `pre`.
fn fresh_state(
    plan: &Plan,
    observation: &Observation,
    remotes: &BTreeMap<String, &dyn Remote>,
) -> Vec<Problem> {
    let Some(first) = plan.steps.first() else {
        return vec![problem(None, "the plan has no steps".into())];
    };
    let mut problems = Vec::new();
    let mut file_nodes = BTreeSet::new();
    for (name, seen) in observation {
        if seen.error.is_some() {
            continue;
        }
        let want = first.pre.config_sha256_by_node.get(name);
        if seen.config_sha256.as_ref() == want {
            continue;
        }
        file_nodes.insert(name.clone());
        let mut found = problem(
            Some(name),
            format!(
                "{name}: {COROSYNC_CONF} is not the file the plan starts from (sha256 {} expected, {} found): \
                 it changed after planning; plan again from the nodes' current files",
                want.map_or("none (no file)", String::as_str),
                seen.config_sha256.as_deref().unwrap_or("none (no file)")
            ),
        );
        found.diff = file_diff(plan, want.map(String::as_str), name, observation, remotes);
        problems.push(found);
    }
    for difference in compare(plan, &first.pre, observation) {
        // File differences are reported above, with their diff.
        if file_nodes
            .iter()
            .any(|name| difference.starts_with(&format!("{name} {COROSYNC_CONF}")))
        {
            continue;
        }
        problems.push(problem(
            None,
            format!("the cluster is not where step {} starts: {difference}", first.id),
        ));
    }
    problems
}

/// The diff between the expected version (from the plan, or from a node holding it) and
/// the node's file.
fn file_diff(
    plan: &Plan,
    want: Option<&str>,
    name: &str,
    observation: &Observation,
    remotes: &BTreeMap<String, &dyn Remote>,
) -> Vec<String> {
    let read = |node: &str| -> Option<String> {
        let remote = remotes.get(node)?;
        let bytes = remote.read_file(Path::new(COROSYNC_CONF)).ok()??;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    let actual = read(name).unwrap_or_default();
    let expected = match want {
        None => Some(String::new()),
        Some(sha) => plan.config_text(sha).map(str::to_string).or_else(|| {
            observation
                .iter()
                .find(|(other, seen)| other.as_str() != name && seen.config_sha256.as_deref() == Some(sha))
                .and_then(|(other, _)| read(other))
        }),
    };
    match expected {
        Some(expected) => super::diff::line_diff(&expected, &actual, 2),
        None => Vec::new(),
    }
}

/// Where a `--resume` continues: after the last verified step when the cluster shows its
/// `post`; at an interrupted step when the cluster shows its `pre` (or, for a file step,
/// every node's file is its `pre` or its `post` version, which redoing makes whole); past it
/// when the cluster shows its `post`.
fn resume_point(
    plan: &Plan,
    progress: &Progress,
    observation: &Observation,
    remotes: &BTreeMap<String, &dyn Remote>,
) -> (usize, Vec<u32>, Vec<Problem>) {
    let index_of = |id: u32| plan.steps.iter().position(|step| step.id == id);
    let verified_index = if progress.last_verified == 0 {
        None
    } else {
        index_of(progress.last_verified)
    };
    let next = verified_index.map_or(0, |index| index + 1);
    let Some(step) = plan.steps.get(next) else {
        return (plan.steps.len(), Vec::new(), Vec::new());
    };
    let after_post = compare(plan, &step.post, observation);
    let at_pre = compare(plan, &step.pre, observation);
    let interrupted = progress.interrupted == Some(step.id);
    if at_pre.is_empty() {
        return (next, Vec::new(), Vec::new());
    }
    if interrupted && after_post.is_empty() && !authkey_step_incomplete(step, remotes) {
        return (next + 1, vec![step.id], Vec::new());
    }
    if interrupted && writes_files(step) && partly_written(step, observation) {
        return (next, Vec::new(), Vec::new());
    }
    let mut problems = vec![problem(
        None,
        format!(
            "--resume: the cluster is neither where step {} starts nor where it ends; fix it by hand \
             (compare with `quorate status`) or plan again",
            step.id
        ),
    )];
    for difference in at_pre {
        problems.push(problem(
            None,
            format!("against step {}'s start: {difference}", step.id),
        ));
    }
    for difference in after_post {
        problems.push(problem(
            None,
            format!("against step {}'s end: {difference}", step.id),
        ));
    }
    (next, Vec::new(), problems)
}

fn writes_files(step: &Step) -> bool {
    step.commands.values().flatten().all(|command| {
        matches!(
            Command::parse(command),
            Ok(Command::WriteFile { .. } | Command::CopyFile { .. })
        )
    })
}

/// Every node's file is the step's `pre` or `post` version and nothing else differs.
fn partly_written(step: &Step, observation: &Observation) -> bool {
    observation.iter().all(|(name, seen)| {
        let sha = seen.config_sha256.as_ref();
        seen.error.is_none()
            && (sha == step.pre.config_sha256_by_node.get(name)
                || sha == step.post.config_sha256_by_node.get(name))
    })
}

/// A key step whose nodes do not all hold a key yet (its snapshots cannot tell).
fn authkey_step_incomplete(step: &Step, remotes: &BTreeMap<String, &dyn Remote>) -> bool {
    step.commands.iter().any(|(node, commands)| {
        commands.iter().any(|command| {
            let path = match Command::parse(command) {
                Ok(Command::CopyFile { path, .. }) => path,
                Ok(parsed @ Command::Run { .. }) if parsed.program() == Some("corosync-keygen") => parsed
                    .written_path()
                    .unwrap_or("/etc/corosync/authkey")
                    .to_string(),
                _ => return false,
            };
            remotes.get(node).is_none_or(|remote| {
                !remote
                    .run(&["test", "-s", &path])
                    .is_ok_and(|output| output.success())
            })
        })
    })
}

/// Every address the target gives a plan node is configured on it.
fn addresses(plan: &Plan, remotes: &BTreeMap<String, &dyn Remote>) -> Vec<Problem> {
    let (document, _) = model::syntax::parse(&plan.to_config);
    let (config, _) = model::config::Config::from_document(&document);
    let mut problems = Vec::new();
    for node in &config.nodelist.nodes {
        let Some(name) = node.display_name().map(str::to_string) else {
            continue;
        };
        let Some(remote) = remotes.get(&name) else {
            continue;
        };
        let wanted: Vec<(String, IpAddr)> = node
            .ring_addrs
            .iter()
            .filter_map(|(link, setting)| {
                setting
                    .value
                    .parse()
                    .ok()
                    .map(|ip| (format!("ring{link}_addr"), ip))
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let configured = match remote.run(&["ip", "-j", "addr"]) {
            Ok(output) if output.success() => local_addresses(&output.stdout_text()),
            Ok(output) => {
                problems.push(problem(
                    Some(&name),
                    format!(
                        "{name}: `ip -j addr` failed ({}): {}",
                        output.status_text(),
                        output.stderr_text()
                    ),
                ));
                continue;
            }
            Err(error) => {
                problems.push(problem(Some(&name), error.to_string()));
                continue;
            }
        };
        for (key, ip) in wanted {
            if !configured.contains(&ip) {
                problems.push(problem(
                    Some(&name),
                    format!(
                        "{name}: the target's {key} {ip} is not configured on the node (`ip -j addr` has {}): \
                         corosync would not bind it; configure the address first",
                        configured.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    problems
}

/// The `local` addresses of `ip -j addr` output.
pub fn local_addresses(json: &str) -> BTreeSet<IpAddr> {
    let Ok(serde_json::Value::Array(interfaces)) = serde_json::from_str::<serde_json::Value>(json) else {
        return BTreeSet::new();
    };
    interfaces
        .iter()
        .filter_map(|interface| interface.get("addr_info")?.as_array().cloned())
        .flatten()
        .filter_map(|info| info.get("local")?.as_str()?.parse().ok())
        .collect()
}

/// Every program the remaining steps (and apply itself) run is present on its node.
fn programs(plan: &Plan, steps: &[Step], remotes: &BTreeMap<String, &dyn Remote>) -> Vec<Problem> {
    let mut needed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for name in remotes.keys() {
        let set = needed.entry(name.as_str()).or_default();
        set.extend(OWN_PROGRAMS.iter().map(|program| program.to_string()));
        // The qnetd host needs only what its steps run (it runs no corosync).
        if plan.qnetd_host.as_ref() != Some(name) {
            set.extend(COROSYNC_PROGRAMS.iter().map(|program| program.to_string()));
        }
    }
    for step in steps {
        for (node, commands) in &step.commands {
            if let Some(set) = needed.get_mut(node.as_str()) {
                set.extend(
                    commands
                        .iter()
                        .filter_map(|command| Command::parse(command).ok())
                        .filter_map(|command| command.program().map(str::to_string)),
                );
            }
        }
    }
    let mut problems = Vec::new();
    for (name, programs) in needed {
        let Some(remote) = remotes.get(name) else {
            continue;
        };
        let mut argv = vec!["sh", "-c", MISSING_PROGRAMS, "sh"];
        argv.extend(programs.iter().map(String::as_str));
        match remote.run(&argv) {
            Ok(output) if output.success() => {
                let missing: Vec<String> = output.stdout_text().lines().map(str::to_string).collect();
                if !missing.is_empty() {
                    problems.push(problem(
                        Some(name),
                        format!("{name}: not installed (not in PATH): {}", missing.join(", ")),
                    ));
                }
            }
            Ok(output) => problems.push(problem(
                Some(name),
                format!(
                    "{name}: cannot look for programs ({}): {}",
                    output.status_text(),
                    output.stderr_text()
                ),
            )),
            Err(error) => problems.push(problem(Some(name), error.to_string())),
        }
    }
    problems
}

/// Room to write: the directories of the files the remaining steps write, and the backup
/// root's nearest existing parent, each with at least twice the largest file plus 64 KiB.
fn space(plan: &Plan, steps: &[Step], remotes: &BTreeMap<String, &dyn Remote>) -> Vec<Problem> {
    let largest = plan
        .temp_configs
        .values()
        .map(String::len)
        .chain([plan.to_config.len()])
        .max()
        .unwrap_or(0);
    let need_kib = (2 * largest as u64).div_ceil(1024) + 64;
    let mut dirs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for step in steps {
        for (node, commands) in &step.commands {
            for command in commands.iter().filter_map(|command| Command::parse(command).ok()) {
                if let Some(path) = command.written_path() {
                    let dir = Path::new(path)
                        .parent()
                        .map_or("/".to_string(), |dir| dir.display().to_string());
                    let set = dirs.entry(node.as_str()).or_default();
                    set.insert(dir);
                    set.insert(
                        Path::new(BACKUP_ROOT)
                            .parent()
                            .map_or("/".into(), |dir| dir.display().to_string()),
                    );
                }
            }
        }
    }
    let mut problems = Vec::new();
    for (node, dirs) in dirs {
        let Some(remote) = remotes.get(node) else {
            continue;
        };
        for dir in dirs {
            match remote.run(&["sh", "-c", FREE_SPACE, "sh", &dir]) {
                Ok(output) if output.success() => {
                    let available = output
                        .stdout_text()
                        .lines()
                        .nth(1)
                        .and_then(|line| line.split_whitespace().nth(3))
                        .and_then(|kib| kib.parse::<u64>().ok());
                    match available {
                        Some(kib) if kib < need_kib => problems.push(problem(
                            Some(node),
                            format!(
                                "{node}: {dir} has {kib} KiB free; writing needs at least {need_kib} KiB"
                            ),
                        )),
                        Some(_) => {}
                        None => problems.push(problem(
                            Some(node),
                            format!("{node}: cannot read the free space of {dir} from `df -Pk`"),
                        )),
                    }
                }
                Ok(output) => problems.push(problem(
                    Some(node),
                    format!(
                        "{node}: `df -Pk {dir}` failed ({}): {}",
                        output.status_text(),
                        output.stderr_text()
                    ),
                )),
                Err(error) => problems.push(problem(Some(node), error.to_string())),
            }
        }
    }
    problems
}
