//! Quorum devices decided by qnetd: `whatif` with `qnetd`/`heuristics` steps end to end
//! through `quorate::run` (the JSON `qnetd` section, the human block, the old `qdevice
//! on|off` unchanged).

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
    // `qdevice on|off` keeps its meaning without qnetd steps, and is refused with them.
    // (Both cast as told: split-brain, exit 1.)
    let old = whatif_code(&path, "qdevice on 1 2; split 1:1 2:2", 1);
    assert_eq!(quorate_row(&old["steps"][2]), "1:1 2:1");
    let refused = whatif_json(&path, "qnetd up; qdevice off 1");
    assert_eq!(refused["steps"][2]["rejected"], true);
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
