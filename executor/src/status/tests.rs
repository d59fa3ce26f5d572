//! `quorate status`'s readings and drift on in-memory nodes (`FakeNode`): every reading,
//! unreachable nodes, each kind of drift, and that the authkey's bytes are never read.

use super::collect::{read_remotes, Target};
use super::drift::{analyze, Drift};
use super::reading::{authkey_stat, CFGTOOL, CMAPCTL, COROSYNC_CONF, QUORUMTOOL, VERSION};
use crate::transport::{CommandOutput, FakeCall, FakeNode, Remote};
use std::path::Path;

const CONF: &str = "totem {\n version: 2\n cluster_name: c\n config_version: 2\n crypto_cipher: aes256\n crypto_hash: sha256\n}\n\
nodelist {\n node {\n  nodeid: 1\n  name: n1\n  ring0_addr: 198.18.0.1\n }\n node {\n  nodeid: 2\n  name: n2\n  ring0_addr: 198.18.0.2\n }\n\
 node {\n  nodeid: 3\n  name: n3\n  ring0_addr: 198.18.0.3\n }\n}\nquorum {\n provider: corosync_votequorum\n}\n";

fn ok(text: &str) -> CommandOutput {
    CommandOutput {
        code: Some(0),
        stdout: text.as_bytes().to_vec(),
        stderr: Vec::new(),
    }
}

/// `corosync-quorumtool -s -p` as node `local` of `members` prints it.
pub(crate) fn quorumtool(local: u32, members: &[u32], expected: u32, quorum: u32) -> CommandOutput {
    let total = members.len() as u32;
    let quorate = total >= quorum;
    let mut text = format!(
        "Quorum information\n------------------\nDate:             today\nQuorum provider:  corosync_votequorum\n\
         Nodes:            {}\nNode ID:          {local}\nRing ID:          1.9\nQuorate:          {}\n\n\
         Votequorum information\n----------------------\nExpected votes:   {expected}\nHighest expected: {expected}\n\
         Total votes:      {total}\nQuorum:           {quorum}  \nFlags:            {}\n\n\
         Membership information\n----------------------\n    Nodeid      Votes    Qdevice Name\n",
        members.len(),
        if quorate { "Yes" } else { "No" },
        if quorate { "Quorate" } else { "" },
    );
    for id in members {
        let local_marker = if *id == local { " (local)" } else { "" };
        text.push_str(&format!(
            "         {id}          1         NR n{id}{local_marker}\n"
        ));
    }
    CommandOutput {
        code: Some(if quorate { 0 } else { 2 }),
        stdout: text.into_bytes(),
        stderr: Vec::new(),
    }
}

/// The runtime cmap of a node running `CONF` with `members`.
pub(crate) fn cmapctl(members: &[u32], config_version: u64) -> CommandOutput {
    let mut text = String::from("nodelist.local_node_pos (u32) = 0\n");
    for (index, id) in [1, 2, 3].iter().enumerate() {
        text.push_str(&format!(
            "nodelist.node.{index}.name (str) = n{id}\nnodelist.node.{index}.nodeid (u32) = {id}\n\
             nodelist.node.{index}.ring0_addr (str) = 198.18.0.{id}\n"
        ));
    }
    text.push_str("quorum.provider (str) = corosync_votequorum\n");
    for id in members {
        text.push_str(&format!(
            "runtime.members.{id}.config_version (u64) = {config_version}\nruntime.members.{id}.status (str) = joined\n"
        ));
    }
    text.push_str(&format!("totem.config_version (u64) = {config_version}\n"));
    ok(&text)
}

/// A node of a running 3-node cluster holding `CONF` and a 0400 authkey.
pub(crate) fn running_node(id: u32, members: &[u32]) -> FakeNode {
    let node = FakeNode::new(&format!("n{id}"));
    node.respond(QUORUMTOOL, quorumtool(id, members, 3, 2));
    node.respond(CMAPCTL, cmapctl(members, 2));
    node.respond(
        CFGTOOL,
        ok(&format!(
            "Local node ID {id}, transport knet\nLINK ID 0 udp\n\taddr\t= 198.18.0.{id}\n\tstatus:\n\t\tnodeid:          1:\tconnected\n"
        )),
    );
    node.respond(
        VERSION,
        ok("Corosync Cluster Engine, version '3.1.7'\nCopyright\n"),
    );
    node.respond(&authkey_stat("/etc/corosync/authkey"), ok("400 256\n"));
    node.put_file(Path::new(COROSYNC_CONF), CONF.as_bytes(), 0o644);
    node.put_file(Path::new("/etc/corosync/authkey"), b"SECRETKEYBYTES", 0o400);
    node
}

fn read(nodes: &[&FakeNode]) -> super::drift::ClusterStatus {
    let targets: Vec<Target<'_>> = nodes
        .iter()
        .map(|node| Target {
            name: node.node().to_string(),
            nodeid: node.node()[1..].parse().unwrap(),
            address: format!("198.18.0.{}", &node.node()[1..]),
            remote: Ok(*node as &dyn Remote),
        })
        .collect();
    analyze(read_remotes(&targets))
}

#[test]
fn a_healthy_cluster_reads_fully_matches_its_prediction_and_has_no_drift() {
    let nodes: Vec<FakeNode> = (1..=3).map(|id| running_node(id, &[1, 2, 3])).collect();
    let status = read(&nodes.iter().collect::<Vec<_>>());
    assert_eq!(status.drift, Vec::<Drift>::new(), "{:?}", status.drift);
    let n1 = &status.nodes[0];
    assert!(n1.reachable && n1.problems.is_empty(), "{:?}", n1.problems);
    assert_eq!(n1.version.as_deref(), Some("3.1.7"));
    assert_eq!(n1.runtime.as_ref().unwrap().members, vec![1, 2, 3]);
    assert_eq!(n1.runtime.as_ref().unwrap().config_version, 2);
    assert_eq!(n1.links[0].address, "198.18.0.1");
    assert!(n1.authkey.as_ref().unwrap().ok());
    assert_eq!(
        n1.corosync_conf.as_ref().unwrap().sha256.as_deref().map(str::len),
        Some(64)
    );
    let prediction = &status.predictions["n2"];
    assert_eq!(
        (
            prediction.quorate,
            prediction.expected_votes,
            prediction.quorum,
            prediction.members.clone()
        ),
        (true, 3, 2, vec![1, 2, 3])
    );
    // The authkey is looked at with stat only, never read.
    for node in &nodes {
        for call in node.calls() {
            if let FakeCall::Read { path } = &call {
                assert_ne!(path, Path::new("/etc/corosync/authkey"));
            }
            if let FakeCall::Run { command, .. } = &call {
                assert!(!command.iter().any(|word| word == "cat"), "{command:?}");
            }
        }
    }
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains("SECRETKEYBYTES"));
}

#[test]
fn an_unreachable_node_is_reported_and_the_others_still_read() {
    let nodes: Vec<FakeNode> = (1..=3).map(|id| running_node(id, &[1, 2])).collect();
    nodes[2].set_unreachable(true);
    let status = read(&nodes.iter().collect::<Vec<_>>());
    assert_eq!(status.unreachable().len(), 1);
    let n3 = &status.nodes[2];
    assert!(!n3.reachable);
    assert!(n3.error.as_deref().unwrap().contains("node n3"), "{:?}", n3.error);
    assert!(status.nodes[0].reachable);
    // n3 is not in anyone's membership: predicted down, n1 and n2 quorate with 2 of 3.
    assert!(!status.predictions.contains_key("n3"));
    assert!(status.predictions["n1"].quorate);
    assert_eq!(status.drift, Vec::<Drift>::new());
    let missing_target = Target {
        name: "n9".into(),
        nodeid: 9,
        address: "198.18.0.9".into(),
        remote: Err("ssh to node n9: connection refused".into()),
    };
    let readings = read_remotes(&[missing_target]);
    assert_eq!(
        readings[0].error.as_deref(),
        Some("ssh to node n9: connection refused")
    );
}

#[test]
fn flags_a_differing_file_a_stale_runtime_an_override_and_a_bad_authkey() {
    let nodes: Vec<FakeNode> = (1..=3).map(|id| running_node(id, &[1, 2, 3])).collect();
    // n3's file was edited by hand (config_version 3) and not reloaded.
    let edited = CONF.replace("config_version: 2", "config_version: 3");
    nodes[2].put_file(Path::new(COROSYNC_CONF), edited.as_bytes(), 0o644);
    // n2 runs with `corosync-quorumtool -e 2`.
    nodes[1].respond(QUORUMTOOL, quorumtool(2, &[1, 2, 3], 2, 2));
    // n1's key is world-readable.
    nodes[0].respond(&authkey_stat("/etc/corosync/authkey"), ok("644 256\n"));
    let status = read(&nodes.iter().collect::<Vec<_>>());
    let messages: Vec<String> = status.drift.iter().map(Drift::message).collect();
    let all = messages.join("\n");
    assert!(
        all.contains("/etc/corosync/corosync.conf differs between nodes"),
        "{all}"
    );
    assert!(all.contains(" on n1,n2") && all.contains(" on n3"), "{all}");
    assert!(
        all.contains("n3: corosync runs with another configuration than the file on its disk (totem.config_version file 3 running 2)"),
        "{all}"
    );
    assert!(
        all.contains("n2: expected votes 2, quorum 2, quorate yes but its file predicts 3, 2, yes (an expected votes override"),
        "{all}"
    );
    assert!(
        all.contains("n1: crypto is on but the authkey is mode 644"),
        "{all}"
    );
    assert_eq!(status.drift.len(), 4, "{all}");
}

#[test]
fn a_stopped_node_reads_its_files_and_a_missing_key_is_drift() {
    let nodes: Vec<FakeNode> = (1..=3).map(|id| running_node(id, &[1, 2])).collect();
    nodes[2].respond(
        QUORUMTOOL,
        CommandOutput {
            code: Some(1),
            stdout: Vec::new(),
            stderr: b"Cannot initialize QUORUM service\n".to_vec(),
        },
    );
    nodes[2].respond(
        &authkey_stat("/etc/corosync/authkey"),
        CommandOutput {
            code: Some(1),
            stdout: Vec::new(),
            stderr: b"stat: cannot statx '/etc/corosync/authkey': No such file or directory\n".to_vec(),
        },
    );
    let status = read(&nodes.iter().collect::<Vec<_>>());
    let n3 = &status.nodes[2];
    assert!(n3.reachable && n3.runtime.is_none() && n3.links.is_empty());
    assert!(n3.corosync_conf.as_ref().unwrap().sha256.is_some());
    assert!(!status.predictions["n3"].up);
    let messages: Vec<String> = status.drift.iter().map(Drift::message).collect();
    assert_eq!(
        messages,
        vec!["n3: crypto is on but the authkey is missing (/etc/corosync/authkey)".to_string()]
    );
    // Only the commands a stopped node needs ran there (no cmapctl, no cfgtool).
    let ran: Vec<Vec<String>> = n3_runs(&nodes[2]);
    assert!(
        !ran.iter().any(|command| command[0] == "corosync-cmapctl"),
        "{ran:?}"
    );
}

fn n3_runs(node: &FakeNode) -> Vec<Vec<String>> {
    node.calls()
        .into_iter()
        .filter_map(|call| match call {
            FakeCall::Run { command, .. } => Some(command),
            _ => None,
        })
        .collect()
}
