//! What apply sees of the cluster between actions, and whether it is what a step expects.
//!
//! Owns `Observation` (per plan node: reachable, corosync running, ring id, members, quorate,
//! expected votes, the sha256 of its corosync.conf), `observe` (every node at once, one
//! thread each: `corosync-quorumtool -s -p` and `sha256sum` in one remote command) and `compare`, which lists every way
//! an observation differs from a plan `Snapshot` (empty: it holds). It must not change
//! anything on a node.

use super::plan::{Plan, Snapshot};
use crate::status::reading::COROSYNC_CONF;
use crate::status::{classify, Corosync};
use crate::transport::Remote;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One node as apply sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSeen {
    /// Why the node could not be read (then nothing else is known).
    pub error: Option<String>,
    /// The reading's command could not be run at all (the SSH connection failed or was
    /// lost, as when the node's sshd is killed): the node cannot be reached, which no wait
    /// mends, unlike a reading that ran and could not be understood.
    pub unreachable: bool,
    /// corosync runs.
    pub running: bool,
    /// The ring id quorumtool printed.
    pub ring_id: Option<String>,
    /// Its membership (names), sorted by node id.
    pub members: Vec<String>,
    /// Quorate.
    pub quorate: bool,
    /// Expected votes.
    pub expected_votes: u32,
    /// The sha256 of its corosync.conf (`None`: no file).
    pub config_sha256: Option<String>,
}

/// Every plan node, by name.
pub type Observation = BTreeMap<String, NodeSeen>;

/// The nodes of `observation` that could not be reached, with why (`node: error`), in name
/// order; empty when every node answered.
pub fn unreachable(observation: &Observation) -> Vec<String> {
    observation
        .iter()
        .filter(|(_, seen)| seen.unreachable)
        .map(|(name, seen)| format!("{name}: {}", seen.error.as_deref().unwrap_or("cannot be reached")))
        .collect()
}

/// Reads the quorum status and hashes corosync.conf in one remote command (one SSH round
/// trip per node and reading): quorumtool's output (stderr merged), a `quorate-rc=N` line,
/// then `sha256sum`'s line or `none` when there is no file.
pub const OBSERVE_SCRIPT: &str = r#"corosync-quorumtool -s -p 2>&1; echo "quorate-rc=$?"
if [ -e /etc/corosync/corosync.conf ]; then sha256sum < /etc/corosync/corosync.conf; else echo none; fi"#;

/// The argv of one reading.
pub const OBSERVE: &[&str] = &["sh", "-c", OBSERVE_SCRIPT];

/// Reads one node.
pub fn observe_node(plan: &Plan, remote: &dyn Remote) -> NodeSeen {
    let mut seen = NodeSeen {
        error: None,
        unreachable: false,
        running: false,
        ring_id: None,
        members: Vec::new(),
        quorate: false,
        expected_votes: 0,
        config_sha256: None,
    };
    let output = match remote.run(OBSERVE) {
        Ok(output) => output,
        Err(error) => {
            seen.error = Some(error.to_string());
            seen.unreachable = true;
            return seen;
        }
    };
    let text = output.stdout_text();
    let Some((quorumtool, rest)) = text.rsplit_once("quorate-rc=") else {
        seen.error = Some(format!(
            "cannot read the node ({}): {}",
            output.status_text(),
            output.stderr_text()
        ));
        return seen;
    };
    let mut lines = rest.lines();
    let code = lines.next().and_then(|code| code.trim().parse().ok());
    match lines.next().map(str::trim) {
        Some("none") => seen.config_sha256 = None,
        Some(line) => match line.split_whitespace().next() {
            Some(hex) if hex.len() == 64 => seen.config_sha256 = Some(hex.to_string()),
            _ => seen.error = Some(format!("cannot hash {COROSYNC_CONF}: {line}")),
        },
        None => seen.error = Some(format!("cannot hash {COROSYNC_CONF}: {}", output.stderr_text())),
    }
    match classify(code, quorumtool, "") {
        Corosync::Running { quorum } => {
            seen.running = true;
            seen.ring_id = Some(quorum.ring_id.clone());
            seen.members = quorum
                .member_ids()
                .into_iter()
                .map(|id| plan.name_of(id))
                .collect();
            seen.quorate = quorum.quorate;
            seen.expected_votes = quorum.expected_votes;
        }
        Corosync::Stopped { .. } => {}
        Corosync::Unknown { error } => seen.error = Some(error),
    }
    seen
}

/// Reads every node of `remotes` at once.
pub fn observe(plan: &Plan, remotes: &BTreeMap<String, &dyn Remote>) -> Observation {
    std::thread::scope(|scope| {
        let handles: Vec<_> = remotes
            .iter()
            .map(|(name, remote)| (name.clone(), scope.spawn(move || observe_node(plan, *remote))))
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let seen = handle.join().unwrap_or_else(|_| NodeSeen {
                    error: Some("reading the node panicked (a bug)".into()),
                    unreachable: false,
                    running: false,
                    ring_id: None,
                    members: Vec::new(),
                    quorate: false,
                    expected_votes: 0,
                    config_sha256: None,
                });
                (name, seen)
            })
            .collect()
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

fn short(sha: Option<&str>) -> String {
    sha.map_or_else(|| "no file".to_string(), |sha| sha.chars().take(12).collect())
}

/// The sorted membership lists of an observation (one per distinct list).
pub fn memberships(observation: &Observation) -> Vec<Vec<String>> {
    let set: BTreeSet<Vec<String>> = observation
        .values()
        .filter(|seen| seen.running)
        .map(|seen| seen.members.clone())
        .collect();
    set.into_iter().collect()
}

/// Every difference between `observation` and `snapshot`, one line each; empty when the
/// snapshot holds. Membership lists are compared as sets of names (their order in the plan
/// is by node id).
pub fn compare(plan: &Plan, snapshot: &Snapshot, observation: &Observation) -> Vec<String> {
    let mut differences = Vec::new();
    for (name, seen) in observation {
        if let Some(error) = &seen.error {
            differences.push(format!("{name}: cannot be read: {error}"));
        }
    }
    let running: Vec<String> = observation
        .iter()
        .filter(|(_, seen)| seen.running)
        .map(|(name, _)| name.clone())
        .collect();
    let want_running: Vec<String> = snapshot
        .running_nodes()
        .into_iter()
        .filter(|name| observation.contains_key(name))
        .collect();
    if running != want_running {
        differences.push(format!(
            "running: expected {}, is {}",
            list(&want_running),
            list(&running)
        ));
    }
    let as_sets = |lists: &[Vec<String>]| -> BTreeSet<BTreeSet<String>> {
        lists.iter().map(|list| list.iter().cloned().collect()).collect()
    };
    let seen_members = memberships(observation);
    if as_sets(&seen_members) != as_sets(&snapshot.members) {
        let show = |lists: &[Vec<String>]| {
            if lists.is_empty() {
                "none".to_string()
            } else {
                lists
                    .iter()
                    .map(|list| format!("[{}]", list.join(",")))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        differences.push(format!(
            "memberships: expected {}, are {}",
            show(&snapshot.members),
            show(&seen_members)
        ));
    }
    let quorate: BTreeSet<String> = observation
        .iter()
        .filter(|(_, seen)| seen.running && seen.quorate)
        .map(|(name, _)| name.clone())
        .collect();
    let want_quorate: BTreeSet<String> = snapshot.quorate.iter().cloned().collect();
    if quorate != want_quorate {
        differences.push(format!(
            "quorate: expected {}, are {}",
            list(&want_quorate.into_iter().collect::<Vec<_>>()),
            list(&quorate.iter().cloned().collect::<Vec<_>>())
        ));
    }
    let looked_at: Vec<&NodeSeen> = if quorate.is_empty() {
        observation.values().filter(|seen| seen.running).collect()
    } else {
        observation
            .iter()
            .filter(|(name, _)| quorate.contains(*name))
            .map(|(_, seen)| seen)
            .collect()
    };
    let expected = looked_at
        .iter()
        .map(|seen| seen.expected_votes)
        .max()
        .unwrap_or(0);
    if expected != snapshot.expected_votes {
        differences.push(format!(
            "expected votes: expected {}, are {expected}",
            snapshot.expected_votes
        ));
    }
    for (name, seen) in observation {
        if seen.error.is_some() {
            continue;
        }
        let want = snapshot.config_sha256_by_node.get(name).map(String::as_str);
        if seen.config_sha256.as_deref() != want {
            differences.push(format!(
                "{name} {COROSYNC_CONF}: expected {}, is {}",
                short(want),
                short(seen.config_sha256.as_deref())
            ));
        }
    }
    let _ = plan;
    differences
}

/// The nodes whose ring id is the same in `after` as in `before` although they ran in both
/// (they have not seen a new membership yet).
pub fn same_ring(before: &Observation, after: &Observation) -> Vec<String> {
    after
        .iter()
        .filter(|(name, seen)| {
            seen.running
                && before
                    .get(*name)
                    .is_some_and(|old| old.running && old.ring_id.is_some() && old.ring_id == seen.ring_id)
        })
        .map(|(name, _)| name.clone())
        .collect()
}
