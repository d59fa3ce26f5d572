//! `quorate whatif FILE --all` end to end through the library entry point (`quorate::run`):
//! the JSON contract, exit codes, the human summary, and split-brain witnesses that replay
//! both through `quorate whatif -s` and directly through the engine.

use crate::support::quorate;
use model::quorum::ClusterState;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A knet cluster of `count` nodes (ids 1..=count) with `links` addresses each and the
/// given `quorum` lines, written to a temporary file.
fn conf(name: &str, count: u32, links: u32, quorum: &str) -> PathBuf {
    let mut text = String::from("totem {\n    version: 2\n    cluster_name: test\n    transport: knet\n}\n");
    text.push_str("nodelist {\n");
    for nodeid in 1..=count {
        text.push_str(&format!(
            "    node {{\n        nodeid: {nodeid}\n        name: node{nodeid}\n"
        ));
        for link in 0..links {
            text.push_str(&format!("        ring{link}_addr: 198.18.{link}.{nodeid}\n"));
        }
        text.push_str("    }\n");
    }
    text.push_str("}\nquorum {\n    provider: corosync_votequorum\n");
    for line in quorum.lines() {
        text.push_str(&format!("    {line}\n"));
    }
    text.push_str("}\n");
    let dir = std::env::temp_dir().join(format!("quorate-whatif-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

fn json(path: &Path) -> (u8, Value) {
    let (code, out, err) = quorate(&["whatif", path.to_str().unwrap(), "--all", "--format", "json"]);
    assert!(!out.is_empty(), "no output; stderr: {err}");
    (code, serde_json::from_str(&out).unwrap())
}

fn class(report: &Value, name: &str, case: &str) -> u64 {
    report["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["class"] == name)
        .unwrap()[case]
        .as_u64()
        .unwrap()
}

/// Replays `script` with the engine directly: parse, then `ClusterState::apply` each step.
fn engine_replay_splits(path: &PathBuf, script: &str) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    let (document, _) = model::syntax::parse(&text);
    let (config, _) = model::config::Config::from_document(&document);
    let settings = config.quorum_settings();
    let parsed = model::scenario::parse(script).unwrap();
    let mut state = ClusterState::new(&settings).unwrap();
    for step in &parsed.steps {
        state.apply(&settings, step);
    }
    state.split_brain()
}

#[test]
fn two_node_split_brain_in_the_running_case_tv12() {
    let path = conf("tv12", 2, 1, "two_node: 1");
    let (code, report) = json(&path);
    assert_eq!(code, 1, "split-brain exits 1");
    let split = &report["summary"]["split_brain"];
    assert_eq!(split["possible"], true);
    assert_eq!(split["witness"]["case"], "running");
    assert_eq!(split["witness"]["script"], "move 1:2");
    assert_eq!(split["witness"]["replay_verified"], true);
    assert_eq!(split["cold_start"], 0, "wait_for_all protects the cold start");
    let script = split["witness"]["script"].as_str().unwrap();
    assert!(engine_replay_splits(&path, script));
    let (replay_code, out, _) = quorate(&["whatif", path.to_str().unwrap(), "-s", script]);
    assert_eq!(replay_code, 1, "{out}");
    assert!(out.contains("SPLIT-BRAIN"), "{out}");
}

#[test]
fn two_node_without_wait_for_all_splits_at_cold_start() {
    let path = conf("two-node-wfa0", 2, 1, "two_node: 1\nwait_for_all: 0");
    let (code, report) = json(&path);
    assert_eq!(code, 1);
    assert_eq!(class(&report, "split-brain", "cold_start"), 1);
    assert_eq!(class(&report, "split-brain", "running"), 1);
}

#[test]
fn low_expected_votes_split_two_two_at_cold_start() {
    let path = conf("ev3", 4, 1, "expected_votes: 3");
    let (code, report) = json(&path);
    assert_eq!(code, 1);
    let split = &report["summary"]["split_brain"];
    assert_eq!(split["running"], 0, "a joined cluster raised expected votes to 4");
    assert_eq!(split["witness"]["case"], "cold-start");
    assert_eq!(split["witness"]["description"], "partition 1,2 | 3,4");
    let script = split["witness"]["script"].as_str().unwrap();
    assert_eq!(script, "down 1 2 3 4\nup 1,2 1:3,4");
    assert!(engine_replay_splits(&path, script));
    let (replay_code, _, _) = quorate(&["whatif", path.to_str().unwrap(), "-s", script]);
    assert_eq!(replay_code, 1);
}

#[test]
fn plain_clusters_tolerate_a_minority_and_never_split() {
    for (count, tolerated, total) in [(3u32, 1u64, 15u64), (5, 2, 203)] {
        let path = conf(&format!("plain{count}"), count, 1, "");
        let (code, report) = json(&path);
        assert_eq!(code, 0, "{count} nodes");
        assert_eq!(report["nodes"], count);
        assert_eq!(report["scenarios"]["total"], total, "Bell({})", count + 1);
        let summary = &report["summary"];
        assert_eq!(summary["always_tolerated_node_failures"], tolerated);
        assert_eq!(summary["split_brain"]["possible"], false);
        assert!(summary["split_brain"]["witness"].is_null());
        assert_eq!(class(&report, "split-brain", "running"), 0);
        let losses = summary["smallest_total_loss"].as_array().unwrap();
        assert_eq!(losses[0]["down"].as_array().unwrap().len() as u64, tolerated + 1);
        let sum: u64 = [
            "all-quorate",
            "one-quorate",
            "none-quorate",
            "split-brain",
            "unstable",
            "all-down",
        ]
        .iter()
        .map(|name| class(&report, name, "running"))
        .sum();
        assert_eq!(sum, total, "classes partition the scenarios");
    }
}

#[test]
fn human_summary_comes_first() {
    let path = conf("plain5-human", 5, 1, "");
    let (code, out, _) = quorate(&["whatif", path.to_str().unwrap(), "--all"]);
    assert_eq!(code, 0);
    let summary = out.find("Summary").unwrap();
    let classes = out.find("Outcome classes").unwrap();
    assert!(summary < classes, "{out}");
    assert!(out.contains("any 2 nodes can fail"), "{out}");
    assert!(out.contains("Split-brain:    none"), "{out}");
    assert!(out.contains("link 0 down alone changes membership"), "{out}");
    assert!(out.contains("203 scenarios"), "{out}");
}

#[test]
fn redundant_links_make_single_link_failures_harmless() {
    let path = conf("two-links", 3, 2, "");
    let (code, report) = json(&path);
    assert_eq!(code, 0);
    assert_eq!(report["scenarios"]["link_failure_sets"], 3);
    assert_eq!(report["scenarios"]["total"], 15 * 3);
    let failures = report["summary"]["single_link_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2);
    for failure in failures {
        assert_eq!(failure["changes_membership"], false, "{failure}");
        assert_eq!(failure["quorum_kept"], true);
    }
}

#[test]
fn large_symmetric_cluster_counts_beyond_64_bits() {
    let path = conf("plain32", 32, 1, "");
    let (code, out, _) = quorate(&["whatif", path.to_str().unwrap(), "--all", "--format", "json"]);
    assert_eq!(code, 0);
    // Bell(33) does not fit in 64 bits; it is written as an exact JSON integer.
    assert!(out.contains("\"total\": 1629595892846007606764728147"), "{out}");
}

/// A knet cluster with one link and the given votes (node ids 1..), written to a file.
fn conf_votes(name: &str, votes: &[u32], quorum: &str) -> PathBuf {
    let path = conf(name, votes.len() as u32, 1, quorum);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (index, vote) in votes.iter().enumerate() {
        let nodeid = index + 1;
        text = text.replace(
            &format!("        nodeid: {nodeid}\n"),
            &format!("        nodeid: {nodeid}\n        quorum_votes: {vote}\n"),
        );
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn issue16_twelve_nodes_with_atb_and_unequal_votes_are_counted_exactly() {
    let votes: Vec<u32> = (1..=12).map(|nodeid| 1 + nodeid % 3).collect();
    let path = conf_votes("atb12", &votes, "auto_tie_breaker: 1");
    let (code, report) = json(&path);
    assert_eq!(code, 0);
    let scenarios = &report["scenarios"];
    assert_eq!(scenarios["method"], "vote-sums");
    assert_eq!(scenarios["evaluated"], 0);
    assert!(scenarios["membership_signatures"].as_u64().unwrap() > 0);
    assert_eq!(scenarios["total"], 27_644_437u64, "Bell(13)");
    for case in ["running", "cold_start"] {
        let sum: u64 = [
            "all-quorate",
            "one-quorate",
            "none-quorate",
            "split-brain",
            "unstable",
            "all-down",
        ]
        .iter()
        .map(|name| class(&report, name, case))
        .sum();
        assert_eq!(sum, 27_644_437, "{case}: classes partition the scenarios");
    }
    // Every listed smallest total loss is confirmed by the engine.
    let text = std::fs::read_to_string(&path).unwrap();
    let (document, _) = model::syntax::parse(&text);
    let (config, _) = model::config::Config::from_document(&document);
    let settings = config.quorum_settings();
    let summary = &report["summary"];
    assert_eq!(summary["smallest_total_loss_complete"], true);
    for set in summary["smallest_total_loss"].as_array().unwrap() {
        let down: Vec<String> = set["down"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.to_string())
            .collect();
        let script = model::scenario::parse(&format!("down {}", down.join(" "))).unwrap();
        let mut state = ClusterState::new(&settings).unwrap();
        for step in &script.steps {
            state.apply(&settings, step);
        }
        assert!(state.quorate_set().is_empty(), "down {down:?}");
    }
    let (code, out, _) = quorate(&["whatif", path.to_str().unwrap(), "--all"]);
    assert_eq!(code, 0);
    assert!(out.contains("27,644,437 scenarios"), "{out}");
    assert!(out.contains("counted exactly from the engine's answers"), "{out}");
}

#[test]
fn issue16_refuses_with_a_reason_when_neither_method_counts() {
    // 14 nodes of different votes with a low expected_votes: too many scenarios to
    // enumerate, and halves booting apart can both be quorate, which vote sums do not count.
    let votes: Vec<u32> = (1..=14).collect();
    let path = conf_votes("ev-low14", &votes, "expected_votes: 3");
    let (code, out, err) = quorate(&["whatif", path.to_str().unwrap(), "--all"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("the exact vote-sum method does not apply"), "{err}");
    assert!(
        err.contains("two disjoint memberships may both be quorate"),
        "{err}"
    );
}

/// `quorum.device` lines for a qnetd device (`model: net`) with `algorithm` and `votes`.
fn qnetd_device(algorithm: &str, votes: u32) -> String {
    format!("device {{\n    model: net\n    votes: {votes}\n    net {{\n        host: 198.18.9.1\n        algorithm: {algorithm}\n    }}\n}}")
}

#[test]
fn two_nodes_and_ffsplit_enumerate_qnetd_states_issue_14() {
    let path = conf("qnetd-2-ffsplit", 2, 1, &qnetd_device("ffsplit", 1));
    let (code, report) = json(&path);
    assert_eq!(code, 0, "no split-brain");
    // 5 node/partition scenarios, each with 1 + 2 * 2^running qnetd states.
    assert_eq!(report["scenarios"]["total"], 31);
    assert_eq!(report["scenarios"]["evaluated"], 31);
    assert_eq!(
        report["scenarios"]["symmetry_classes"],
        serde_json::json!([[1], [2]])
    );
    assert_eq!(class(&report, "all-quorate", "running"), 11);
    assert_eq!(class(&report, "one-quorate", "running"), 5);
    assert_eq!(class(&report, "none-quorate", "running"), 12);
    let qnetd = &report["qnetd"];
    assert_eq!(qnetd["algorithm"], "ffsplit");
    assert_eq!(qnetd["without_qnetd_fault"], 5);
    // qnetd down, then a node down: nobody quorate.
    assert_eq!(qnetd["qnetd_down_tolerated_node_failures"], 0);
    assert_eq!(qnetd["qnetd_down_failure_sizes"][1]["lose_quorum"], 2);
    assert_eq!(report["summary"]["always_tolerated_node_failures"], 1);
    let (_, out, _) = quorate(&["whatif", path.to_str().unwrap(), "--all"]);
    assert!(out.contains("31 scenarios (each node up or down, every partition of the up nodes, links intact, qnetd up, down or cut from each set of running nodes, before or after the failure), 31 evaluated (no symmetry reduction: qnetd reads node ids)"), "{out}");
    assert!(out.contains("  Node failures:  any 1 node can fail; with 2 nodes down, every one leaves nobody quorate (qnetd up and reached)\n"), "{out}");
    assert!(out.contains("  Qnetd down:     no further node failure is always survived; with 1 more node down, every one leaves nobody quorate\n"), "{out}");
    assert!(out.contains("note: quorum device (ffsplit):"), "{out}");
}

#[test]
fn four_nodes_ffsplit_and_three_nodes_lms_through_the_cli_issue_14() {
    let four = conf("qnetd-4-ffsplit", 4, 1, &qnetd_device("ffsplit", 1));
    let (code, report) = json(&four);
    assert_eq!(code, 0);
    // Counts cross-checked by brute force in sim/src/exhaustive/tests.rs.
    assert_eq!(report["scenarios"]["total"], 966);
    assert_eq!(class(&report, "one-quorate", "running"), 513);
    assert_eq!(report["qnetd"]["qnetd_down_tolerated_node_failures"], 1);
    // Without a device the document has no `qnetd` key (its shape is unchanged).
    let (_, plain) = json(&conf("qnetd-none", 3, 1, ""));
    assert!(plain.get("qnetd").is_none(), "{plain:#}");
    let lms = conf("qnetd-3-lms", 3, 1, &qnetd_device("lms", 2));
    let (code, report) = json(&lms);
    assert_eq!(code, 0);
    assert_eq!(report["scenarios"]["total"], 157);
    assert_eq!(class(&report, "all-quorate", "running"), 23);
    assert_eq!(report["qnetd"]["algorithm"], "lms");
}

#[test]
fn a_qnetd_split_brain_witness_replays_through_whatif_issue_14() {
    let path = conf(
        "qnetd-4-ev3",
        4,
        1,
        &format!("expected_votes: 3\n{}", qnetd_device("ffsplit", 1)),
    );
    let (code, report) = json(&path);
    assert_eq!(code, 1, "split-brain exits 1");
    let witness = &report["summary"]["split_brain"]["witness"];
    assert_eq!(witness["script"], "qnetd up\ndown 1 2 3 4\nup 1,2 1:3,4");
    assert_eq!(witness["replay_verified"], true);
    let script = witness["script"].as_str().unwrap();
    assert!(engine_replay_splits(&path, script));
    let (replay_code, _, _) = quorate(&["whatif", path.to_str().unwrap(), "-s", script]);
    assert_eq!(replay_code, 1, "the replay shows the split-brain");
}

#[test]
fn too_many_qnetd_scenarios_is_a_clear_error_issue_14() {
    let path = conf("qnetd-12", 12, 1, &qnetd_device("ffsplit", 1));
    let (code, out, err) = quorate(&["whatif", path.to_str().unwrap(), "--all"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("scenarios with qnetd's states"), "{err}");
    assert!(err.contains("qnetd-12.conf"), "{err}");
}
