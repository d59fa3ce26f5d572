//! `quorate status` against a real lab over its real sshd (root; CI runs it).
//!
//! Owns the status scenarios: a formed 3-node lab reads fully over SSH with no drift (exit
//! 0); then a hand edit on one node, an expected-votes override and a node whose sshd is
//! gone are each reported (drift, unreachable; exit 1) while the other nodes still read.
//! The lab is removed by its Drop guard, also when an assertion fails. It must not touch any
//! network but the lab's own namespaces.

use crate::support::lab::{lab, LabGuard};
use crate::support::quorate;
use serde_json::Value;

#[test]
fn status_reads_a_real_lab_over_ssh_and_flags_drift_and_an_unreachable_node() {
    if !crate::support::reality_available("status on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-status-apply");
    let dir = guard.dir_text();
    lab(&guard.dir, &["up", "--nodes", "3", "--links", "2"]);
    let inventory = format!("{dir}/inventory.toml");
    let (code, out, err) = quorate(&["status", "--inventory", &inventory, "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let mut hashes = Vec::new();
    for node in nodes {
        assert_eq!(node["reachable"], true, "{node}");
        assert_eq!(node["corosync"]["state"], "running", "{node}");
        assert_eq!(node["corosync"]["quorum"]["quorate"], true);
        assert_eq!(node["runtime"]["members"], serde_json::json!([1, 2, 3]));
        assert_eq!(node["version"], "3.1.7");
        assert_eq!(node["authkey"]["mode"], "400");
        assert_eq!(node["authkey"]["size"], 256);
        assert_eq!(node["links"].as_array().unwrap().len(), 2);
        hashes.push(node["corosync_conf"]["sha256"].as_str().unwrap().to_string());
        let name = node["name"].as_str().unwrap();
        let prediction = &status["predictions"][name];
        assert_eq!(prediction["quorate"], true);
        assert_eq!(prediction["expected_votes"], 3);
    }
    // The lab's file on every node, hashed as sha256sum would.
    let text = std::fs::read(guard.dir.join("corosync.conf")).unwrap();
    assert_eq!(hashes, vec![executor::status::reading::sha256_hex(&text); 3]);
    assert_eq!(status["drift"], serde_json::json!([]));

    // Drift: n2's file edited by hand, n3 stopped, then n1 told `-e 2`; n3's sshd killed.
    lab(
        &guard.dir,
        &[
            "exec",
            "n2",
            "--",
            "sh",
            "-c",
            "echo '# by hand' >> /etc/corosync/corosync.conf",
        ],
    );
    lab(&guard.dir, &["stop", "n3"]);
    lab(
        &guard.dir,
        &["exec", "n1", "--", "corosync-quorumtool", "-e", "2"],
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(guard.dir.join("lab.json")).unwrap()).unwrap();
    let sshd = state["nodes"][2]["sshd_pid"].as_u64().unwrap();
    let killed = std::process::Command::new("kill")
        .arg(sshd.to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, out, err) = quorate(&["status", "--inventory", &inventory]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("/etc/corosync/corosync.conf differs between nodes"),
        "{out}"
    );
    assert!(
        out.contains("n1: expected votes 2, quorum 2, quorate yes but its file predicts 3, 2, yes (an expected votes override"),
        "{out}"
    );
    let n3 = out.lines().find(|line| line.starts_with("n3 ")).unwrap();
    assert!(n3.contains("unreachable"), "{out}");
    assert!(out.contains("  n3: ssh to node n3"), "{out}");
    let n2 = out.lines().find(|line| line.starts_with("n2 ")).unwrap();
    assert!(n2.contains("running") && n2.contains("1,2"), "{out}");
}
