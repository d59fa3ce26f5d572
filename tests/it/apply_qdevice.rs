//! `quorate apply` of plans that add a quorum device, restart the pair that keeps it, and
//! remove it, on a real lab (root; CI runs it).
//!
//! Owns the scenario: a running two_node pair with a qnetd host that serves no cluster yet
//! (`lab up --qdevice ffsplit --qdevice-later`: corosync-qnetd with its CA and an sshd, no
//! `quorum.device`, no certificate, no corosync-qdevice on the nodes), the planner's plan for
//! `add-qdevice 198.19.0.254` (two_node dropped), its `rolling-restart` plan of the pair that
//! now keeps the device, then its plan for `remove-qdevice`, each applied under the
//! independent monitor of `apply.rs` (nsenter, not apply's own polling: never two quorate nodes
//! with disjoint memberships; both nodes quorate throughout the add and the remove, the node not
//! restarting quorate throughout the rolling restart). After
//! each plan every node's file hash, membership, quorum and expected votes are the target's
//! (`quorate status`), corosync-qdevice runs (or not) as the plan says, and qnetd's own view
//! (`corosync-qnetd-tool -l`) lists the cluster's two clients (or no such cluster). The
//! PKCS#12 file's bytes appear in nothing apply printed or journalled. Holds the
//! one-lab-at-a-time lock of the qnetd reality tests; the lab is removed by its guard however
//! the test ends.

use crate::apply::{apply, done_figures, restart_count, status_nodes, Monitor};
use crate::support::lab::{lab, LabGuard};
use crate::support::quorate;
use executor::lab::Lab;
use executor::status::read_corosync;
use executor::status::reading::sha256_hex;
use serde_json::{json, Value};
use std::path::Path;

/// A two_node pair (the lab rewrites the addresses).
const TWO_NODE: &str = "totem {\n  version: 2\n  cluster_name: qdplan\n  transport: knet\n  config_version: 1\n}\n\
nodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 10.1.0.1\n  }\n  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 10.1.0.2\n  }\n}\n\
quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n";

#[test]
fn apply_adds_an_ffsplit_qdevice_to_a_running_two_node_pair_restarts_it_then_removes_it() {
    if !crate::support::reality_available("apply (add a quorum device) on a real lab") {
        return;
    }
    let _one_at_a_time = crate::reality::ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (guard, config) = LabGuard::new("qdevplan-apply").with_config(TWO_NODE);
    let dir = guard.dir.clone();
    let config = config.to_string_lossy().into_owned();
    lab(
        &dir,
        &[
            "up",
            "--config",
            &config,
            "--qdevice",
            "ffsplit",
            "--qdevice-later",
        ],
    );
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let inventory_text = std::fs::read_to_string(&inventory).unwrap();
    assert!(inventory_text.contains("[qnetd]"), "{inventory_text}");
    let from = format!("{}/corosync.conf", guard.dir_text());
    assert!(!std::fs::read_to_string(&from).unwrap().contains("device"));
    let (plan_path, plan) = planned(&dir, &from, "add-qdevice 198.19.0.254", "add-qdevice.json");
    assert_eq!(plan["qnetd_host"], "198.19.0.254");
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!("apply add-qdevice to a two_node lab pair: took {took:.1} s; convergence floor {floor:.1} s");
    let with_device = plan["to_config"].as_str().unwrap().to_string();
    assert!(with_device.contains("device {"), "{with_device}");
    assert_target(&inventory, &with_device, 3);
    // Every node counts the device's vote: qnetd ACKed both (2 of 2 configured nodes).
    let lab_handle = Lab::open(&dir).unwrap();
    for id in [1, 2] {
        let remote = lab_handle.node(id).unwrap();
        let quorum = read_corosync(&remote).quorum().cloned().expect("corosync runs");
        assert!(quorum.quorate, "node {id}: {quorum:?}");
        assert_eq!(
            (quorum.expected_votes, quorum.total_votes),
            (3, 3),
            "node {id}: {quorum:?}"
        );
        assert!(
            quorum.flags.iter().any(|flag| flag == "Qdevice"),
            "node {id}: {quorum:?}"
        );
        assert!(
            !quorum.flags.iter().any(|flag| flag == "2Node"),
            "node {id}: {quorum:?}"
        );
        let own = quorum
            .members
            .iter()
            .find(|member| member.local)
            .expect("its own row");
        let column = own.qdevice.clone().unwrap_or_default();
        assert!(column.split(',').any(|flag| flag == "V"), "node {id}: {column}");
    }
    let qnetd = qnetd_list(&lab_handle);
    assert!(qnetd.contains("Cluster \"qdplan\""), "{qnetd}");
    // The client key (PKCS#12 from n1's database) is in nothing apply printed or wrote.
    let p12 =
        std::fs::read(dir.join("nodes/n1/etc-corosync/qdevice/net/nssdb/qdevice-net-node.p12")).unwrap();
    assert!(p12.len() > 64);
    let journal = std::fs::read(dir.join("add-qdevice.json.journal")).unwrap();
    for haystack in [all_output.as_bytes(), journal.as_slice()] {
        assert!(
            !haystack.windows(32).any(|window| window == &p12[16..48]),
            "PKCS#12 bytes leaked"
        );
    }
    // The copy on n2 was removed once imported.
    assert!(!dir.join("nodes/n2/etc-corosync/qdevice-net-node.p12").exists());
    for id in [1, 2] {
        assert_eq!(qdevice_daemon(&lab_handle, id), "active", "node {id}");
    }
    assert_eq!(
        qnetd_clients(&qnetd_list(&lab_handle), "qdplan"),
        vec![1, 2],
        "qnetd's view"
    );
    // The add plan restarts no node and promises every node quorate at every step (the
    // reload that adds the device counts it before any qdevice casts, 2 of 3 votes).
    let (readings, median, gap) = monitor.finish(2);
    eprintln!(
        "monitor (add-qdevice): {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );

    // The pair keeps its device through a rolling restart (issue 11: planned as a kept
    // device, qnetd deciding from the start): one node at a time, the other quorate on its
    // own vote and the device's (2 of 3) while corosync and its corosync-qdevice restart;
    // each step ends when the restarted node's qdevice casts again.
    let from = dir.join("with-device.conf");
    std::fs::write(&from, &with_device).unwrap();
    let from = from.to_string_lossy().into_owned();
    let (plan_path, plan) = planned(&dir, &from, "rolling-restart", "rolling-restart.json");
    let steps = plan["steps"].as_array().unwrap();
    let restarts: Vec<&Value> = steps.iter().filter(|step| step["action"] == "restart").collect();
    assert_eq!(restarts.len(), 2, "{plan}");
    for step in &restarts {
        assert_eq!(step["nodes"].as_array().unwrap().len(), 1, "{step}");
        assert_eq!(step["post"]["qdevice_casting"], json!(["n1", "n2"]), "{step}");
    }
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    // At least one node quorate at every reading (the one not restarting), never two
    // quorate nodes with disjoint memberships.
    let (readings, median, gap) = monitor.finish(1);
    assert_eq!(code, 0, "{all_output}");
    assert_eq!(restart_count(&events), 2, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply rolling-restart of the lab pair with its ffsplit qdevice: took {took:.1} s; convergence floor \
         {floor:.1} s; monitor {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    assert_target(&inventory, &with_device, 3);
    // The device votes again on both nodes, and qnetd lists both clients.
    for id in [1, 2] {
        let remote = lab_handle.node(id).unwrap();
        let quorum = read_corosync(&remote).quorum().cloned().expect("corosync runs");
        assert_eq!(
            (quorum.expected_votes, quorum.total_votes),
            (3, 3),
            "node {id}: {quorum:?}"
        );
        let own = quorum
            .members
            .iter()
            .find(|member| member.local)
            .expect("its own row");
        let column = own.qdevice.clone().unwrap_or_default();
        assert!(column.split(',').any(|flag| flag == "V"), "node {id}: {column}");
        assert_eq!(qdevice_daemon(&lab_handle, id), "active", "node {id}");
    }
    assert_eq!(
        qnetd_clients(&qnetd_list(&lab_handle), "qdplan"),
        vec![1, 2],
        "qnetd's view after the rolling restart"
    );

    // Then the device goes again: planned from the file the first plan wrote.
    let (plan_path, plan) = planned(&dir, &from, "remove-qdevice", "remove-qdevice.json");
    assert!(plan.get("qnetd_host").is_some(), "{plan}");
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    // No restart: the daemons stop before the reload that drops the device (2 of 3), every
    // node quorate at every step.
    let (readings, median, gap) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply remove-qdevice on the lab pair: took {took:.1} s; convergence floor {floor:.1} s; monitor \
         {readings} readings, per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    let without_device = plan["to_config"].as_str().unwrap().to_string();
    assert!(!without_device.contains("device {"), "{without_device}");
    assert_target(&inventory, &without_device, 2);
    for id in [1, 2] {
        let remote = lab_handle.node(id).unwrap();
        let quorum = read_corosync(&remote).quorum().cloned().expect("corosync runs");
        assert_eq!(quorum.total_votes, 2, "node {id}: {quorum:?}");
        assert!(
            !quorum.flags.iter().any(|flag| flag == "Qdevice"),
            "node {id}: {quorum:?}\nqdevice.log:\n{}\ncorosync.log:\n{}",
            log_tail(&dir, id, "qdevice.log"),
            log_tail(&dir, id, "corosync.log")
        );
        assert_eq!(qdevice_daemon(&lab_handle, id), "inactive", "node {id}");
    }
    let qnetd = qnetd_list(&lab_handle);
    assert!(!qnetd.contains("Cluster \"qdplan\""), "{qnetd}");
}

/// `quorate plan --from FROM --goal GOAL -o DIR/NAME`, which must succeed and pass `plan
/// verify`; returns the plan's path and JSON.
fn planned(dir: &Path, from: &str, goal: &str, name: &str) -> (std::path::PathBuf, Value) {
    let plan_path = dir.join(name);
    let plan_text = plan_path.to_string_lossy().into_owned();
    let (code, out, err) = quorate(&["plan", "--from", from, "--goal", goal, "-o", &plan_text]);
    assert_eq!(code, 0, "{goal}: {out}\n{err}");
    let (code, out, err) = quorate(&["plan", "verify", &plan_text, "--from", from]);
    assert_eq!(code, 0, "plan verify {goal}: {out}\n{err}");
    let plan = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    (plan_path, plan)
}

/// Every node (`quorate status`) holds `target` as its file, runs in one membership of both
/// nodes, is quorate and expects `expected_votes`.
fn assert_target(inventory: &str, target: &str, expected_votes: u32) {
    for node in status_nodes(inventory) {
        assert_eq!(node["runtime"]["members"], json!([1, 2]), "{node}");
        assert_eq!(node["corosync"]["quorum"]["quorate"], true, "{node}");
        assert_eq!(
            node["corosync"]["quorum"]["expected_votes"], expected_votes,
            "{node}"
        );
        assert_eq!(
            node["corosync_conf"]["sha256"],
            json!(sha256_hex(target.as_bytes())),
            "{node}"
        );
    }
}

/// `systemctl is-active corosync-qdevice` on the node (the lab's systemctl).
fn qdevice_daemon(lab_handle: &Lab, id: u32) -> String {
    let words = ["systemctl", "is-active", "corosync-qdevice"].map(str::to_string);
    let output = lab_handle.exec(id, &words).unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// qnetd's own view: `corosync-qnetd-tool -l -v` in the qnetd host.
fn qnetd_list(lab_handle: &Lab) -> String {
    lab_handle
        .qdevice_status()
        .unwrap()
        .into_iter()
        .find(|(name, _)| name == "qnetd")
        .map(|(_, text)| text)
        .unwrap_or_default()
}

/// The node ids qnetd lists under `Cluster "NAME":` (its client nodes).
fn qnetd_clients(list: &str, cluster: &str) -> Vec<u32> {
    let mut ids = Vec::new();
    let mut inside = false;
    for line in list.lines() {
        if let Some(name) = line.strip_prefix("Cluster \"") {
            inside = name.trim_end_matches(':').trim_end_matches('"') == cluster;
        } else if inside {
            if let Some(rest) = line.trim_start().strip_prefix("Node ID ") {
                if let Ok(id) = rest.trim_end_matches(':').trim().parse() {
                    ids.push(id);
                }
            }
        }
    }
    ids.sort_unstable();
    ids
}

/// The last 60 lines of node `id`'s log `name` (var-log-corosync), for a failure's message.
fn log_tail(dir: &Path, id: u32, name: &str) -> String {
    let path = dir.join(format!("nodes/n{id}/var-log-corosync/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| format!("{}: {error}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Three nodes with no device yet (`lab up --qdevice lms` adds it; the lab rewrites the
/// addresses).
const THREE_NODES: &str = "totem {\n  version: 2\n  cluster_name: lmsroll\n  transport: knet\n  token: 1000\n}\n\
nodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n  }\n  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n  }\n  node {\n    name: n3\n    nodeid: 3\n    ring0_addr: 10.0.0.3\n  }\n}\n\
quorum {\n  provider: corosync_votequorum\n}\n";

#[test]
fn a_kept_lms_device_rolling_restart_the_planner_refuses_splits_real_qnetd() {
    // The planner finds no rolling restart of three nodes keeping an lms device under one
    // fault, and names the behaviour: inside n1's restart, a partition, then n1's start on
    // the other side. Replayed on real corosync 3.1.7 + corosync-qnetd 3.0.3: the lone n2
    // keeps the ACK qnetd gave it, while n1 and n3 become the larger group and n3 gets one
    // too (qnetd's lms decides per client, on its own membership), two quorate memberships.
    if !crate::support::reality_available("a kept lms device restart on a real lab") {
        return;
    }
    let _one_at_a_time = crate::reality::ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (guard, config) = LabGuard::new("qdev-lmsroll").with_config(THREE_NODES);
    let dir = guard.dir.clone();
    let config = config.to_string_lossy().into_owned();
    lab(&dir, &["up", "--config", &config, "--qdevice", "lms"]);
    let from = format!("{}/corosync.conf", guard.dir_text());
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "rolling-restart",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let why = report["impossible"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["step"] == "restart")
        .and_then(|entry| entry["why"].as_str())
        .expect("the restart is the impossible step")
        .to_string();
    // `restart n1: while it runs, after `LINES` (1 fault within the budget of 1) ...`
    let restarted = why
        .strip_prefix("restart n")
        .and_then(|rest| rest.split(':').next())
        .expect("the restarted node")
        .to_string();
    let witness = why
        .split('`')
        .nth(1)
        .expect("the fault sequence in backquotes")
        .replace("; ", "\n");
    // The restart's moment with the node down (a crash on the lab), then the witness.
    let script = format!("down {restarted}\n{witness}\n");
    let (code, json_text, err) = quorate(&[
        "lab",
        "--dir",
        &guard.dir_text(),
        "replay",
        "-s",
        &script,
        "--format",
        "json",
    ]);
    assert!(code <= 1, "lab replay (exit {code})\n{json_text}\n{err}");
    let replayed: Value = serde_json::from_str(&json_text).unwrap();
    let last = replayed["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["settled"], true, "{last}");
    // Real corosync: quorate nodes and their vote totals, per node.
    let quorate_nodes: Vec<(String, u64)> = last["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["real"]["corosync"] == "running" && node["real"]["quorate"] == true)
        .map(|node| {
            (
                node["name"].as_str().unwrap().to_string(),
                node["real"]["total_votes"].as_u64().unwrap(),
            )
        })
        .collect();
    eprintln!(
        "kept lms restart on the lab: script {script:?}; quorate (node, total votes): {quorate_nodes:?}"
    );
    // Two quorate nodes in different memberships: the alone one on 1 + 2 device votes, the
    // other with its partner on 2 + 2, as the planner's engine predicted (no mismatch).
    assert_eq!(
        quorate_nodes,
        [("n2".to_string(), 3), ("n3".to_string(), 4)],
        "{last}"
    );
    for node in last["nodes"].as_array().unwrap() {
        assert!(node["mismatches"].as_array().unwrap().is_empty(), "{node}");
    }
    drop(guard);
}
