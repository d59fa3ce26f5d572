//! Quorum devices decided by qnetd: `whatif` with `qnetd`/`heuristics` steps end to end
//! through `quorate::run` (the JSON `qnetd` section, the human block, the old `qdevice
//! on|off` unchanged), and the reality cases: `lab up --qdevice` (real corosync-qnetd and
//! corosync-qdevice 3.0.3) replayed against `whatif` for ffsplit, lms and 2nodelms (root, one
//! lab at a time with the reality suite; each lab removed by its guard however the test
//! ends). qnetd's decision log of each case is kept in tests/data/qdevice/.

use crate::support::lab::LabGuard;
use crate::support::quorate;
use serde_json::Value;
use std::path::PathBuf;

/// A corosync.conf with `count` nodes and `device` lines inside `quorum.device`.
fn conf(count: u32, device: &str) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!(
            "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
    }
    format!(
        "totem {{\n  version: 2\n  cluster_name: qdev\n  transport: knet\n}}\n\
         nodelist {{\n{nodes}}}\nquorum {{\n  provider: corosync_votequorum\n  device {{\n    model: net\n\
         {device}  }}\n}}\n"
    )
}

fn write(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-qdevice-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("corosync.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// `whatif --format json`, expecting exit `code` (1: a step was rejected).
fn whatif_code(path: &std::path::Path, script: &str, code: u8) -> Value {
    let (actual, out, err) = quorate(&["whatif", path.to_str().unwrap(), "-s", script, "--format", "json"]);
    assert_eq!(actual, code, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn whatif_json(path: &std::path::Path, script: &str) -> Value {
    whatif_code(path, script, 0)
}

/// `nodeid:quorate` per node of the step.
fn quorate_row(step: &Value) -> String {
    step["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| format!("{}:{}", node["nodeid"], u8::from(node["quorate"] == true)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn two_nodes_ffsplit_split_one_side_quorate_and_why() {
    let path = write(
        "split",
        &conf(
            2,
            "    votes: 1\n    net {\n      host: 10.0.9.1\n      algorithm: ffsplit\n    }\n",
        ),
    );
    let report = whatif_json(&path, "split 1:1 2:2; qnetd up; heal; qnetd up; split 1:1 2:2");
    // Before any qnetd step the vote is an input: nobody casts, the split leaves both out.
    assert_eq!(quorate_row(&report["steps"][1]), "1:0 2:0");
    assert!(report["steps"][1].get("qnetd").is_none());
    // qnetd up (first qnetd step): the tie goes to the lowest node id.
    let split = &report["steps"][5];
    assert_eq!(quorate_row(split), "1:1 2:0");
    let partitions = split["qnetd"]["partitions"].as_array().unwrap();
    assert_eq!(partitions[0]["members"], serde_json::json!([1]));
    assert_eq!(partitions[0]["ack"], serde_json::json!([1]));
    assert_eq!(
        partitions[0]["why"],
        "tie: equal halves, equal scores; lowest node id 1 is in this partition"
    );
    assert_eq!(split["qnetd"]["nodes"][1]["vote"], "NACK");
    // The human form shows the same block.
    let (code, out, _) = quorate(&["whatif", path.to_str().unwrap(), "-s", "qnetd up; split 1:1 2:2"]);
    assert_eq!(code, 0);
    assert!(out.contains("qnetd (ffsplit, server up):"), "{out}");
    assert!(out.contains("{2}         2          none  tie: equal halves, equal scores; lowest node id 1 is not in this partition"), "{out}");
}

#[test]
fn qnetd_down_then_a_node_down_and_the_old_qdevice_step() {
    let path = write(
        "down",
        &conf(2, "    votes: 1\n    net {\n      host: 10.0.9.1\n    }\n"),
    );
    let report = whatif_json(&path, "qnetd down; down 2");
    assert_eq!(quorate_row(&report["steps"][1]), "1:1 2:1");
    assert_eq!(quorate_row(&report["steps"][2]), "1:0 2:0");
    assert_eq!(
        report["steps"][1]["qnetd"]["nodes"][0]["why"],
        "qnetd is down: ffsplit NACKs at once"
    );
    // `qdevice on|off` keeps its meaning without qnetd steps; with them it stops and starts
    // the node's corosync-qdevice daemon (the vote stays qnetd's).
    // (Both cast as told: split-brain, exit 1.)
    let old = whatif_code(&path, "qdevice on 1 2; split 1:1 2:2", 1);
    assert_eq!(quorate_row(&old["steps"][2]), "1:1 2:1");
    let stopped = whatif_json(&path, "qnetd up; qdevice off 1; down 2; qdevice on 1");
    assert_eq!(stopped["steps"][2]["rejected"], false);
    assert_eq!(quorate_row(&stopped["steps"][3]), "1:0 2:0");
    assert_eq!(quorate_row(&stopped["steps"][4]), "1:1 2:0");
}

#[test]
fn qnetd_steps_without_a_device_are_refused() {
    let path = write(
        "nodevice",
        &conf(2, "").replace("  device {\n    model: net\n  }\n", ""),
    );
    let (code, _, err) = quorate(&["whatif", path.to_str().unwrap(), "-s", "qnetd cut 1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no quorum device"), "{err}");
}

/// A knet corosync.conf of `nodes` nodes (token 1000, as the reality suite's), without a
/// quorum device: `lab up --qdevice` writes its own.
fn lab_config(name: &str, nodes: u32) -> String {
    let mut text = format!(
        "totem {{\n  version: 2\n  cluster_name: {name}\n  transport: knet\n  crypto_cipher: aes256\n  \
         crypto_hash: sha256\n  token: 1000\n}}\n\nnodelist {{\n"
    );
    for nodeid in 1..=nodes {
        text.push_str(&format!(
            "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
    }
    text.push_str("}\n\nquorum {\n  provider: corosync_votequorum\n}\n");
    text
}

/// What one reality case found.
struct QdeviceReplay {
    /// `lab replay --format json`.
    report: Value,
    /// `quorate whatif` on the lab's config with `qnetd up` first, as the replay predicts.
    whatif: Value,
    /// (readings that agree, readings compared).
    agreement: (usize, usize),
}

/// The lines of qnetd's debug log that show its decisions, without timestamps and client
/// ports (evidence for tests/data/qdevice/).
fn decision_lines(log: &str) -> String {
    let keep = [
        "ffsplit:",
        "algo-lms",
        "algo-2nodelms",
        "vote = ",
        "Sending vote info",
        "tie-breaker",
        "partition",
    ];
    let mut out = String::new();
    for line in log.lines() {
        if !keep.iter().any(|word| line.contains(word)) {
            continue;
        }
        // `Dec 07 01:04:28 debug   ...`: drop the timestamp.
        let text = line.get(16..).unwrap_or(line).trim_start();
        let text: String = text
            .split(' ')
            .map(|word| match word.rsplit_once(':') {
                Some((address, port))
                    if address.starts_with("198.19.") && port.chars().all(|c| c.is_ascii_digit()) =>
                {
                    address.to_string()
                }
                _ => word.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// Brings up a lab of `nodes` nodes with `lab up --qdevice ARGS...`, replays `script`,
/// checks that every step settled and was compared and that the replay's predictions are
/// `quorate whatif`'s (with `qnetd up` first), keeps qnetd's decisions as evidence
/// (`QUORATE_QDEVICE_EVIDENCE=1` writes them to tests/data/qdevice/NAME.log), and removes the
/// lab however the test ends.
fn replay_case(name: &str, nodes: u32, qdevice: &[&str], script: &str) -> QdeviceReplay {
    let _one_at_a_time = crate::reality::ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (guard, config) = LabGuard::new(&format!("qd-{name}")).with_config(&lab_config(name, nodes));
    let dir = guard.dir_text();
    let config = config.to_string_lossy().into_owned();
    let mut up = vec!["lab", "--dir", &dir, "up", "--config", &config, "--qdevice"];
    up.extend_from_slice(qdevice);
    let (code, out, err) = quorate(&up);
    assert_eq!(code, 0, "lab up failed\n{out}\n{err}");
    let (code, json, err) = quorate(&["lab", "--dir", &dir, "replay", "-s", script, "--format", "json"]);
    assert!(code <= 1, "lab replay failed (exit {code})\n{json}\n{err}");
    let report: Value = serde_json::from_str(&json).unwrap();
    let lab_config = format!("{dir}/corosync.conf");
    let (whatif_code, whatif_json, whatif_err) = quorate(&[
        "whatif",
        &lab_config,
        "-s",
        &format!("qnetd up\n{script}"),
        "--format",
        "json",
    ]);
    assert!(whatif_code <= 1, "{whatif_err}");
    let whatif: Value = serde_json::from_str(&whatif_json).unwrap();
    let steps = report["steps"].as_array().unwrap();
    // The replay's start is whatif's `qnetd up`.
    assert_eq!(
        steps.len() + 1,
        whatif["steps"].as_array().unwrap().len(),
        "{json}"
    );
    let (mut agree, mut total) = (0, 0);
    for (index, step) in steps.iter().enumerate() {
        assert_eq!(step["compared"], true, "{step}");
        assert_eq!(step["settled"], true, "{step}");
        let predicted = &whatif["steps"][index + 1];
        for node in step["nodes"].as_array().unwrap() {
            let row = predicted["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["nodeid"] == node["nodeid"])
                .unwrap();
            if row["up"] == true {
                assert_eq!(node["predicted"]["quorate"], row["quorate"], "{step}");
                assert_eq!(node["predicted"]["total_votes"], row["total_votes"], "{step}");
            }
            assert_ne!(node["real"]["corosync"], "unknown", "{step}");
            total += 1;
            if node["mismatches"].as_array().unwrap().is_empty() {
                agree += 1;
            }
        }
    }
    let log = std::fs::read_to_string(format!("{dir}/qnetd/qnetd.log")).unwrap_or_default();
    let decisions = decision_lines(&log);
    assert!(!decisions.is_empty(), "no qnetd decision in its log:\n{log}");
    if std::env::var("QUORATE_QDEVICE_EVIDENCE").as_deref() == Ok("1") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/qdevice")
            .join(format!("{name}.log"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            format!("# qdevice {qdevice:?}, {nodes} nodes\n# script: {script:?}\n{decisions}"),
        )
        .unwrap();
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("qdevice reality {name}: {agree}/{total} readings agree\n").as_bytes(),
    );
    drop(guard);
    QdeviceReplay {
        report,
        whatif,
        agreement: (agree, total),
    }
}

/// `name:quorate/total_votes` per node as the lab read it after replay step `index`.
fn real_row(replayed: &QdeviceReplay, index: usize) -> String {
    replayed.report["steps"][index]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let real = &node["real"];
            if real["corosync"] == "running" {
                format!(
                    "{}:{}/{}",
                    node["name"].as_str().unwrap(),
                    u8::from(real["quorate"] == true),
                    real["total_votes"]
                )
            } else {
                format!("{}:-", node["name"].as_str().unwrap())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// whatif's `why` of the membership `members` after whatif step `index`.
fn qnetd_why(replayed: &QdeviceReplay, index: usize, members: &[u32]) -> String {
    replayed.whatif["steps"][index]["qnetd"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|partition| partition["members"] == serde_json::json!(members))
        .map(|partition| partition["why"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn reality_two_nodes_ffsplit_split_cut_winner_qnetd_down_then_node_down() {
    if !crate::support::reality_available("qdevice reality: 2 nodes ffsplit") {
        return;
    }
    let replayed = replay_case(
        "ffsplit2",
        2,
        &["ffsplit"],
        "split 1:1 2:2\nqnetd cut 1\nheal\nqnetd down\ndown 2\nup 2\nqnetd up\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    // Split 1|2: exactly one side quorate, node 1's, by the lowest node id.
    assert_eq!(real_row(&replayed, 1), "n1:1/2 n2:0/1");
    assert_eq!(
        qnetd_why(&replayed, 2, &[1]),
        "tie: equal halves, equal scores; lowest node id 1 is in this partition"
    );
    // qnetd cut from the winning node: the vote moves to node 2.
    assert_eq!(real_row(&replayed, 2), "n1:0/1 n2:1/2");
    // qnetd down (both NACK), then a node down: the survivor is inquorate.
    assert_eq!(real_row(&replayed, 4), "n1:1/2 n2:1/2");
    assert_eq!(real_row(&replayed, 5), "n1:0/1 n2:-");
    assert_eq!(real_row(&replayed, 7), "n1:1/3 n2:1/3");
}

#[test]
fn reality_four_nodes_ffsplit_two_two_heuristics_and_node_id_tie_breaker() {
    if !crate::support::reality_available("qdevice reality: 4 nodes ffsplit") {
        return;
    }
    let replayed = replay_case(
        "ffsplit4",
        4,
        &["ffsplit", "--tie-breaker", "3", "--heuristics"],
        "split 1:1,2 2:3,4\nheal\nheuristics fail 3 4\nsplit 1:1,2 2:3,4\nheal\nheuristics pass 3 4\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    // Heuristics all pass: equal scores, tie_breaker node 3 decides.
    assert_eq!(real_row(&replayed, 1), "n1:0/2 n2:0/2 n3:1/3 n4:1/3");
    assert_eq!(
        qnetd_why(&replayed, 2, &[3, 4]),
        "tie: equal halves, equal scores; tie_breaker node 3 is in this partition"
    );
    // Heuristics fail on 3 and 4: the score gives {1,2} the vote.
    assert_eq!(real_row(&replayed, 4), "n1:1/3 n2:1/3 n3:0/2 n4:0/2");
    assert!(qnetd_why(&replayed, 5, &[1, 2]).starts_with("tie: equal halves; score 4 vs 0"));
}

#[test]
fn reality_three_nodes_lms_one_node_left_reaching_qnetd_stays_quorate() {
    if !crate::support::reality_available("qdevice reality: 3 nodes lms") {
        return;
    }
    let replayed = replay_case(
        "lms3",
        3,
        &["lms"],
        "qnetd cut 2 3\nsplit 1:1 2:2,3\nheal\nqnetd reach 2 3\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    // Nodes of one membership disagree: node 1 casts the device's 2 votes, 2 and 3 do not.
    assert_eq!(real_row(&replayed, 1), "n1:1/5 n2:1/3 n3:1/3");
    // Node 1 alone, the only one reaching qnetd: 1 + 2 = 3 = quorum.
    assert_eq!(real_row(&replayed, 2), "n1:1/3 n2:0/2 n3:0/2");
    assert_eq!(real_row(&replayed, 4), "n1:1/5 n2:1/5 n3:1/5");
}

#[test]
fn reality_four_nodes_lms_numeric_tie_breaker() {
    if !crate::support::reality_available("qdevice reality: 4 nodes lms tie_breaker 2") {
        return;
    }
    // Spec 2.9 lms 5 [C, U]: with a numeric tie_breaker qnetd compares it with the asking
    // node's own id, so in a tie only that node gets the vote, not its partition-mates.
    let replayed = replay_case(
        "lms4tb",
        4,
        &["lms", "--tie-breaker", "2"],
        "split 1:1,2 2:3,4\nheal\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    assert_eq!(real_row(&replayed, 1), "n1:0/2 n2:1/5 n3:0/2 n4:0/2");
}

#[test]
fn reality_two_nodes_2nodelms_keeps_its_vote_without_qnetd_until_a_change() {
    if !crate::support::reality_available("qdevice reality: 2nodelms") {
        return;
    }
    let replayed = replay_case(
        "twonodelms",
        2,
        &["2nodelms"],
        "split 1:1 2:2\nqnetd cut 1\nheal\nqnetd down\ndown 2\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    assert_eq!(real_row(&replayed, 1), "n1:1/2 n2:0/1");
    // Cut from qnetd, node 1 keeps its ACK (2nodelms), node 2 is not decided again.
    assert_eq!(real_row(&replayed, 2), "n1:1/2 n2:0/1");
    // qnetd down: both keep ACK; node 2 down is a membership change: NACK.
    assert_eq!(real_row(&replayed, 4), "n1:1/3 n2:1/3");
    assert_eq!(real_row(&replayed, 5), "n1:0/1 n2:-");
}

/// `quorate check`'s shortest split-brain of 2 nodes + 2nodelms (sim's
/// `a_two_node_lms_split_brain_through_qnetd_is_found_and_replays_issue_14`: two faults,
/// the qnetd cut and node 1 booting cut off from node 2) on real corosync-qnetd: node 2
/// boots alone and gets ACK, keeps it when cut from qnetd, and node 1, booting on its own,
/// is the only client qnetd has and gets ACK too.
#[test]
fn reality_two_nodes_2nodelms_check_split_brain_is_real() {
    if !crate::support::reality_available("qdevice reality: 2nodelms check split") {
        return;
    }
    let replayed = replay_case(
        "twonodelms-split",
        2,
        &["2nodelms"],
        "down 1 2\nup 0:2\nqnetd cut 2\nup 1:1\n",
    );
    assert_eq!(
        replayed.agreement.0, replayed.agreement.1,
        "{:#}",
        replayed.report
    );
    assert_eq!(real_row(&replayed, 2), "n1:- n2:1/2");
    assert_eq!(real_row(&replayed, 3), "n1:- n2:1/2");
    assert_eq!(real_row(&replayed, 4), "n1:1/2 n2:1/2");
}

/// `nodeid:quorate` rows of every step after the start.
fn rows(report: &Value) -> Vec<String> {
    report["steps"].as_array().unwrap()[1..]
        .iter()
        .map(quorate_row)
        .collect()
}

#[test]
fn lms_and_2nodelms_first_client_to_reconnect_gets_the_vote_issue_14() {
    // The startup race: a newcomer (no saved result) gets NACK while another partition
    // holds ACK, so after qnetd comes back the first partition to reconnect keeps the vote,
    // whatever the tie_breaker says.
    let path = write(
        "race-2nodelms",
        &conf(
            2,
            "    votes: 1\n    net {\n      host: 10.0.9.1\n      algorithm: 2nodelms\n    }\n",
        ),
    );
    // Both reconnect together: the tie goes to the lowest node id, node 1.
    let together = whatif_json(&path, "qnetd down; split 1:1 2:2; qnetd up");
    assert_eq!(rows(&together), vec!["1:1 2:1", "1:0 2:0", "1:1 2:0"]);
    // Node 2 reconnects first (node 1 still cut): node 2 keeps the vote once node 1 is back.
    let race = whatif_json(
        &path,
        "qnetd down; split 1:1 2:2; qnetd cut 1; qnetd up; qnetd reach 1; heal",
    );
    assert_eq!(
        rows(&race),
        vec!["1:1 2:1", "1:0 2:0", "1:0 2:0", "1:0 2:1", "1:0 2:1", "1:1 2:1"]
    );
    assert_eq!(
        race["steps"][5]["qnetd"]["nodes"][0]["why"],
        "newcomer: node 2 in another partition already holds the vote"
    );
    let path = write(
        "race-lms",
        &conf(
            4,
            "    votes: 3\n    net {\n      host: 10.0.9.1\n      algorithm: lms\n    }\n",
        ),
    );
    // lms, 2|2: together the tie goes to {1,2}; {3,4} first keep it.
    let together = whatif_json(&path, "qnetd down; split 1:1,2 2:3,4; qnetd up");
    assert_eq!(rows(&together)[2], "1:1 2:1 3:0 4:0");
    let race = whatif_json(
        &path,
        "qnetd down; split 1:1,2 2:3,4; qnetd cut 1 2; qnetd up; qnetd reach 1 2",
    );
    assert_eq!(rows(&race)[3], "1:0 2:0 3:1 4:1");
    assert_eq!(rows(&race)[4], "1:0 2:0 3:1 4:1");
}
