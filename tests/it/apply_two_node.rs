//! `quorate apply` of a two_node pair growing to 3 nodes and of 3 nodes shrinking to a
//! two_node pair, on a real lab over its real sshd (root; CI runs it).
//!
//! Owns the three scenarios (issue 12's plan 6, with and without `wait_for_all`, and its
//! reverse). Growing: a 2-node cluster with `two_node: 1` and crypto, plus a spare host n3;
//! `quorate plan --goal 'add-node n3 198.18.0.3'` must give the file everywhere, one reload,
//! the authkey copied, n3 enabled and started, and no restart (the reload drops two_node and
//! the wait_for_all it implied). With `set quorum.wait_for_all=1` too: n1 restarts before the
//! reload (n2 quorate alone by two_node), n2 after n3 runs. Shrinking: 3 nodes, `remove-node
//! n3` with `set quorum.two_node=1`: the file on n1 and n2, n3 leaves, one reload. Every plan
//! passes `plan verify`. Apply runs each plan while the independent monitor of `apply.rs`
//! (nsenter, one thread per node) reads every node's quorumtool; the test asserts that no two
//! quorate nodes ever had disjoint memberships, that as many nodes stayed quorate as the plan
//! promises (2, or 1 while n1 restarts in the wait_for_all plan), the number of restarts,
//! and the end state: every member's file is the target (on disk and as `status` reads it),
//! memberships, quorum, expected votes and the exact quorumtool Flags (`Quorate` after
//! growing, `Quorate WaitForAll` with wait_for_all, `2Node Quorate WaitForAll` after
//! shrinking). Wall times are printed, never asserted. Each lab is removed by its Drop guard.

use crate::apply::{apply, assert_files, done_figures, restart_count, status_nodes, steps, Monitor};
use crate::support::lab::{lab, LabGuard};
use crate::support::quorate;
use executor::status::reading::sha256_hex;
use serde_json::{json, Value};
use std::path::Path;

/// The pair: two_node, crypto (so the new node needs the authkey), config_version 3.
const PAIR: &str = "totem {\n  version: 2\n  cluster_name: duo\n  transport: knet\n  crypto_cipher: aes256\n  \
crypto_hash: sha256\n  config_version: 3\n}\n\nnodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: \
198.18.0.1\n  }\n  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n  }\n}\n\nquorum {\n  provider: \
corosync_votequorum\n  two_node: 1\n}\n\nlogging {\n  to_logfile: yes\n  logfile: /var/log/corosync/corosync.log\n  \
to_syslog: no\n  to_stderr: no\n  timestamp: on\n}\n";

/// `quorate plan --from FROM GOALS --no-proxmox -o DIR/NAME` (must succeed), then `plan
/// verify` of the written file (must pass); returns the plan and its path.
fn plan_and_verify(dir: &Path, from: &str, goals: &[&str], name: &str) -> (Value, String) {
    let from_path = dir.join("from.conf");
    std::fs::write(&from_path, from).unwrap();
    let from_text = from_path.to_string_lossy().into_owned();
    let plan_path = dir.join(name).to_string_lossy().into_owned();
    let mut args = vec!["plan", "--from", &from_text];
    for goal in goals {
        args.extend_from_slice(&["--goal", goal]);
    }
    args.extend_from_slice(&["--no-proxmox", "--format", "json", "-o", &plan_path]);
    let (code, out, err) = quorate(&args);
    assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
    let (code, out, err) = quorate(&["plan", "verify", &plan_path, "--from", &from_text]);
    assert_eq!(code, 0, "plan verify\n{out}\n{err}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    (plan, plan_path)
}

fn step(action: &str, nodes: &[&str]) -> (String, Value) {
    (action.to_string(), json!(nodes))
}

/// The quorumtool Flags of a status node.
fn flags(node: &Value) -> Vec<String> {
    node["corosync"]["quorum"]["flags"]
        .as_array()
        .unwrap_or_else(|| panic!("no flags: {node}"))
        .iter()
        .map(|flag| flag.as_str().unwrap().to_string())
        .collect()
}

/// Every node in `nodes` is settled in the target: quorate with `expected_votes`, members
/// `members`, the target's file `sha` and exactly `expected_flags`.
fn assert_settled<'a>(
    nodes: impl IntoIterator<Item = &'a Value>,
    expected_votes: u32,
    members: &Value,
    sha: &str,
    expected_flags: &[&str],
) {
    for node in nodes {
        assert_eq!(node["corosync"]["quorum"]["quorate"], true, "{node}");
        assert_eq!(
            node["corosync"]["quorum"]["expected_votes"], expected_votes,
            "{node}"
        );
        assert_eq!(node["runtime"]["members"], *members, "{node}");
        assert_eq!(node["corosync_conf"]["sha256"], json!(sha), "{node}");
        assert_eq!(flags(node), expected_flags, "{node}");
    }
}

#[test]
fn apply_grows_a_two_node_pair_to_three_nodes_with_one_reload_and_no_restart() {
    if !crate::support::reality_available("apply (a two_node pair grows to 3) on a real lab") {
        return;
    }
    let (guard, config) = LabGuard::new("it-twonode-grow").with_config(PAIR);
    let dir = guard.dir.clone();
    lab(
        &dir,
        &["up", "--config", &config.to_string_lossy(), "--spare", "1"],
    );
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    assert!(from.contains("two_node: 1"), "{from}");
    let (plan, plan_path) = plan_and_verify(&dir, &from, &["add-node n3 198.18.0.3"], "grow.json");
    assert_eq!(
        steps(&plan),
        [
            step("write_config", &["n1", "n2", "n3"]),
            step("reload", &["n1"]),
            step("install_authkey", &["n3"]),
            step("enable", &["n3"]),
            step("start", &["n3"]),
            step("wait", &["n1", "n2", "n3"]),
        ]
    );
    let target = plan["to_config"].as_str().unwrap().to_string();
    assert!(!target.contains("two_node"), "{target}");
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(Path::new(&plan_path), &inventory, &[]);
    let (readings, median, gap) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply a two_node pair grows to 3 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor \
         {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    // No restart ran: n1 and n2 run the corosync that started with two_node.
    assert_eq!(restart_count(&events), 0, "{all_output}");
    let sha = sha256_hex(target.as_bytes());
    assert_files(&dir, &["n1", "n2", "n3"], &sha);
    let nodes = status_nodes(&inventory);
    assert_eq!(nodes.len(), 3);
    // n1 and n2 still run the corosync that started with two_node: the reload dropped
    // two_node and the wait_for_all it implied.
    assert_settled(&nodes, 3, &json!([1, 2, 3]), &sha, &["Quorate"]);
}

#[test]
fn apply_grows_a_two_node_pair_to_three_nodes_with_wait_for_all_restarting_each_old_node() {
    if !crate::support::reality_available(
        "apply (a two_node pair grows to 3 with wait_for_all) on a real lab",
    ) {
        return;
    }
    let (guard, config) = LabGuard::new("it-twonode-growwfa").with_config(PAIR);
    let dir = guard.dir.clone();
    lab(
        &dir,
        &["up", "--config", &config.to_string_lossy(), "--spare", "1"],
    );
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let (plan, plan_path) = plan_and_verify(
        &dir,
        &from,
        &["add-node n3 198.18.0.3", "set quorum.wait_for_all=1"],
        "growwfa.json",
    );
    // A reload does not switch on a wait_for_all written in the new file (n1 and n2 started
    // without the key): n1 restarts while n2 holds quorum alone by two_node, then the reload
    // drops two_node, n3 starts, and n2 restarts while n1 and n3 hold quorum.
    assert_eq!(
        steps(&plan),
        [
            step("write_config", &["n1", "n2", "n3"]),
            step("restart", &["n1"]),
            step("reload", &["n1"]),
            step("install_authkey", &["n3"]),
            step("enable", &["n3"]),
            step("start", &["n3"]),
            step("restart", &["n2"]),
            step("wait", &["n1", "n2", "n3"]),
        ]
    );
    // n1 comes back armed and joins n2, which is quorate: that clears n1's wait.
    assert_eq!(plan["steps"][1]["post"]["quorate"], json!(["n1", "n2"]));
    let target = plan["to_config"].as_str().unwrap().to_string();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(Path::new(&plan_path), &inventory, &[]);
    // While n1 restarts only n2 is quorate (by two_node), as the plan says.
    let (readings, median, gap) = monitor.finish(1);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply a two_node pair grows to 3 lab nodes with wait_for_all: took {took:.1} s; convergence floor \
         {floor:.1} s; monitor {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    assert_eq!(restart_count(&events), 2, "{all_output}");
    let sha = sha256_hex(target.as_bytes());
    assert_files(&dir, &["n1", "n2", "n3"], &sha);
    let nodes = status_nodes(&inventory);
    assert_eq!(nodes.len(), 3);
    // Every node started (or restarted) with the target's `wait_for_all: 1`.
    assert_settled(&nodes, 3, &json!([1, 2, 3]), &sha, &["Quorate", "WaitForAll"]);
}

#[test]
fn apply_shrinks_three_nodes_to_a_two_node_pair_with_one_reload_after_the_leave() {
    if !crate::support::reality_available("apply (3 nodes shrink to a two_node pair) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-twonode-shrink");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let (plan, plan_path) = plan_and_verify(
        &dir,
        &from,
        &["remove-node n3", "set quorum.two_node=1"],
        "shrink.json",
    );
    assert_eq!(
        steps(&plan),
        [
            step("write_config", &["n1", "n2"]),
            step("leave", &["n3"]),
            step("reload", &["n1"]),
            step("wait", &["n1", "n2"]),
        ]
    );
    let target = plan["to_config"].as_str().unwrap().to_string();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(Path::new(&plan_path), &inventory, &[]);
    let (readings, median, gap) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply 3 lab nodes shrink to a two_node pair: took {took:.1} s; convergence floor {floor:.1} s; monitor \
         {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    assert_eq!(restart_count(&events), 0, "{all_output}");
    let sha = sha256_hex(target.as_bytes());
    assert_files(&dir, &["n1", "n2"], &sha);
    // n3 left and keeps its old file: status reports that as drift (exit 1), and only that.
    let (code, out, err) = quorate(&["status", "--inventory", &inventory, "--format", "json"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let status: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    let drift = status["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{out}");
    assert_eq!(drift[0]["kind"], "files_differ", "{out}");
    let groups: Vec<&Value> = drift[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| &group["nodes"])
        .collect();
    assert_eq!(groups.len(), 2, "{out}");
    assert!(
        groups.contains(&&json!(["n1", "n2"])) && groups.contains(&&json!(["n3"])),
        "{out}"
    );
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let (left, kept): (Vec<&Value>, Vec<&Value>) = nodes.iter().partition(|node| node["name"] == "n3");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["corosync"]["state"], "stopped", "{}", left[0]);
    // Started without two_node or wait_for_all, never restarted: the reload switched
    // two_node on, and with it the wait_for_all it implies.
    assert_settled(kept, 2, &json!([1, 2]), &sha, &["2Node", "Quorate", "WaitForAll"]);
}
