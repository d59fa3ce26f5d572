//! What apply sees of the cluster between actions, and whether it is what a step expects.
//!
//! Owns `Observation` (per plan node: reachable, corosync running, ring id, members, quorate,
//! expected votes, the sha256 of its corosync.conf, whether its corosync-qdevice casts), `observe` (every node at once, one
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
    /// Its corosync-qdevice casts the device's votes (quorumtool's Qdevice column of the
    /// local node holds `V`).
    pub qdevice_casting: bool,
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
        qdevice_casting: false,
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
            seen.qdevice_casting = quorum
                .members
                .iter()
                .filter(|member| member.local)
                .filter_map(|member| member.qdevice.as_deref())
                .any(|flags| flags.split(',').any(|flag| flag == "V"));
        }
        Corosync::Stopped { .. } => {}
        Corosync::Unknown { error } => seen.error = Some(error),
    }
    seen
}

/// Reads every node of `remotes` at once (the plan's qnetd host, no cluster node, is not
/// read).
pub fn observe(plan: &Plan, remotes: &BTreeMap<String, &dyn Remote>) -> Observation {
    std::thread::scope(|scope| {
        let handles: Vec<_> = remotes
            .iter()
            .filter(|(name, _)| plan.qnetd_host.as_ref() != Some(*name))
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
                    qdevice_casting: false,
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
    if let Some(want) = &snapshot.qdevice_casting {
        let casting: Vec<String> = observation
            .iter()
            .filter(|(_, seen)| seen.running && seen.qdevice_casting)
            .map(|(name, _)| name.clone())
            .collect();
        let mut want: Vec<String> = want
            .iter()
            .filter(|name| observation.contains_key(*name))
            .cloned()
            .collect();
        want.sort();
        if casting != want {
            differences.push(format!(
                "qdevice casting: expected {}, is {}",
                list(&want),
                list(&casting)
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{CommandOutput, FakeNode};

    /// `corosync-quorumtool -s -p` of node `local` in a 2-node cluster with a device of one
    /// vote, with `qdevice` as that node's Qdevice column, then the reading's own lines.
    fn reading(local: u32, qdevice: &str) -> CommandOutput {
        let rows: String = [1, 2]
            .iter()
            .map(|id| {
                let column = if *id == local { qdevice } else { "A,V,NMW" };
                let mark = if *id == local { " (local)" } else { "" };
                format!("         {id}          1    {column:>7} n{id}{mark}\n")
            })
            .collect();
        let text = format!(
            "Quorum information\n------------------\nQuorum provider:  corosync_votequorum\nNodes:            2\n\
             Node ID:          {local}\nRing ID:          1.9\nQuorate:          Yes\n\nVotequorum information\n\
             ----------------------\nExpected votes:   3\nHighest expected: 3\nTotal votes:      3\n\
             Quorum:           2  \nFlags:            Quorate Qdevice \n\nMembership information\n\
             ----------------------\n    Nodeid      Votes    Qdevice Name\n{rows}\
                      0          1            Qdevice\nquorate-rc=0\n{} -\n",
            "a".repeat(64)
        );
        CommandOutput {
            code: Some(0),
            stdout: text.into_bytes(),
            stderr: Vec::new(),
        }
    }

    fn plan() -> Plan {
        serde_json::from_str(
            r#"{"format":1,"to_sha256":"x","to_config":"","steps":[],"plan_sha256":"p",
                "nodeids":{"n1":1,"n2":2},"qnetd_host":"q"}"#,
        )
        .unwrap()
    }

    #[test]
    fn qdevice_casting_is_read_from_the_local_row_and_compared_in_qdevice_plans_only() {
        // See: issue 11 (add-qdevice / remove-qdevice applied).
        let n1 = FakeNode::new("n1");
        let n2 = FakeNode::new("n2");
        let qnetd = FakeNode::new("q");
        // n1 casts (V in its own row); n2's own row says NV: its qdevice does not cast,
        // although n1's row for n2 would say V.
        n1.respond(OBSERVE, reading(1, "A,V,NMW"));
        n2.respond(OBSERVE, reading(2, "A,NV,NMW"));
        let mut remotes: BTreeMap<String, &dyn Remote> = BTreeMap::new();
        remotes.insert("n1".into(), &n1);
        remotes.insert("n2".into(), &n2);
        remotes.insert("q".into(), &qnetd);
        let plan = plan();
        let observation = observe(&plan, &remotes);
        // The qnetd host is no cluster node: never read, never in the observation.
        assert!(qnetd.calls().is_empty(), "{:?}", qnetd.calls());
        assert_eq!(observation.keys().collect::<Vec<_>>(), ["n1", "n2"]);
        assert!(observation["n1"].qdevice_casting);
        assert!(!observation["n2"].qdevice_casting);
        let both = |casting: Option<Vec<String>>| Snapshot {
            members: vec![vec!["n1".into(), "n2".into()]],
            quorate: vec!["n1".into(), "n2".into()],
            expected_votes: 3,
            config_sha256_by_node: [("n1", "a".repeat(64)), ("n2", "a".repeat(64))]
                .into_iter()
                .map(|(name, sha)| (name.to_string(), sha))
                .collect(),
            running: vec!["n1".into(), "n2".into()],
            qdevice_casting: casting,
        };
        let want_both = both(Some(vec!["n1".into(), "n2".into()]));
        assert_eq!(
            compare(&plan, &want_both, &observation),
            vec!["qdevice casting: expected n1,n2, is n1".to_string()]
        );
        assert!(compare(&plan, &both(Some(vec!["n1".into()])), &observation).is_empty());
        // A snapshot without `qdevice_casting` (every other plan) does not look at it.
        assert!(compare(&plan, &both(None), &observation).is_empty());
    }
}
