//! `quorate whatif FILE -s SCRIPT | --script-file F` end to end through `quorate::run`:
//! the JSON contract, exit codes, the spec's test vectors (TV01, TV12, TV19, TV25, TV50),
//! links, partial mesh, `reload FILE`, script errors and Proxmox consequences.

use crate::support::quorate;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A directory of its own for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-whatif-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A corosync.conf with `count` nodes (n1..nN, ids 1..N), `links` knet links each, and
/// `quorum` lines added to the quorum section.
fn conf(count: u32, links: u32, quorum: &str) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!("  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n"));
        for link in 0..links {
            nodes.push_str(&format!("    ring{link}_addr: 10.0.{link}.{nodeid}\n"));
        }
        nodes.push_str("  }\n");
    }
    format!(
        "totem {{\n  version: 2\n  cluster_name: test\n  transport: knet\n}}\n\
         nodelist {{\n{nodes}}}\nquorum {{\n  provider: corosync_votequorum\n{quorum}}}\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `whatif --format json`: (exit code, parsed report, stderr).
fn whatif_json(file: &str, script: &str) -> (u8, Value, String) {
    let (code, out, err) = quorate(&["whatif", file, "-s", script, "--format", "json"]);
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, json, err)
}

/// `nodeid:quorate` for every node after step `index` (0 is `start`).
fn quorate_at(json: &Value, index: usize) -> String {
    json["steps"][index]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| format!("{}:{}", node["nodeid"], u8::from(node["quorate"] == true)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn members_at(json: &Value, index: usize) -> Vec<Value> {
    json["steps"][index]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["members"].clone())
        .collect()
}

#[test]
fn json_contract_keys() {
    let dir = temp_dir("contract");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    let (code, json, _) = whatif_json(&file, "split 1:1");
    assert_eq!(code, 0);
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["command"], "start");
    let step = &steps[1];
    assert_eq!(step["command"], "split 1:1");
    assert_eq!(step["split_brain"], false);
    assert_eq!(step["unstable"], false);
    let node = &step["nodes"][0];
    let expected = serde_json::json!({
        "nodeid": 1, "name": "n1", "up": true, "members": [1], "quorate": false,
        "votes": 1, "expected_votes": 3, "quorum": 2, "total_votes": 1,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&node[key], value, "key {key} in {node}");
    }
    for key in ["highest_expected", "flags", "why", "partition"] {
        assert!(node.get(key).is_some(), "missing {key} in {node}");
    }
    assert_eq!(node["why"], "1 of 3 votes < quorum 2");
    assert_eq!(node["partition"], 1);
    // Not a Proxmox file: no consequences unless asked for.
    assert!(node.get("proxmox").is_none());
}

#[test]
fn tv01_three_node_split_majority_keeps_quorum() {
    let dir = temp_dir("tv01");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    let (code, json, _) = whatif_json(&file, "split 1:3");
    assert_eq!(code, 0);
    assert_eq!(quorate_at(&json, 0), "1:1 2:1 3:1");
    assert_eq!(quorate_at(&json, 1), "1:1 2:1 3:0");
    assert_eq!(json["steps"][1]["nodes"][0]["why"], "2 of 3 votes >= quorum 2");
    assert_eq!(json["split_brain"], false);
}

#[test]
fn tv12_two_node_split_is_split_brain_exit_1() {
    let dir = temp_dir("tv12");
    let file = write(&dir, "tn.conf", &conf(2, 1, "  two_node: 1\n"));
    let (code, json, _) = whatif_json(&file, "split 1:1");
    assert_eq!(code, 1);
    assert_eq!(quorate_at(&json, 1), "1:1 2:1");
    assert_eq!(json["steps"][1]["split_brain"], true);
    let flags = json["steps"][1]["nodes"][0]["flags"].as_array().unwrap();
    assert!(flags.contains(&Value::from("two_node")), "{flags:?}");
    assert!(flags.contains(&Value::from("wait_for_all")), "{flags:?}");
    let (code, out, _) = quorate(&["whatif", &file, "-s", "split 1:1", "--color", "never"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("SPLIT-BRAIN: {1} and {2} are quorate at once"),
        "{out}"
    );
    assert!(out.contains("== split 1:1"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not asked for: {out}");
}

#[test]
fn tv19_wait_for_all_re_arms_as_real_corosync_does() {
    let dir = temp_dir("tv19");
    let file = write(&dir, "wfa.conf", &conf(3, 1, "  wait_for_all: 1\n"));
    // {1}|{2,3}; then {1}|{2}|{3}; then {1,2}|{3}.
    let (code, json, _) = whatif_json(&file, "split 1:1; split 2:2; join 1 2");
    assert_eq!(code, 0);
    assert_eq!(quorate_at(&json, 1), "1:0 2:1 3:1");
    assert_eq!(quorate_at(&json, 2), "1:0 2:0 3:0");
    // vqsim shows {1,2} quorate here (its quirk Q6); real corosync re-arms WFA.
    assert_eq!(quorate_at(&json, 3), "1:0 2:0 3:0");
    assert_eq!(json["steps"][3]["nodes"][0]["members"], serde_json::json!([1, 2]));
    assert_eq!(
        json["steps"][3]["nodes"][0]["why"],
        "waiting for all: saw 2 of 3 votes"
    );
    let flags = json["steps"][3]["nodes"][0]["flags"].as_array().unwrap();
    assert!(flags.contains(&Value::from("wait_for_all_status")), "{flags:?}");
}

#[test]
fn one_link_down_of_two_changes_nothing_one_of_one_partitions() {
    let dir = temp_dir("links");
    let two = write(&dir, "two.conf", &conf(3, 2, ""));
    let (code, json, _) = whatif_json(&two, "link down 0 3");
    assert_eq!(code, 0);
    assert_eq!(quorate_at(&json, 1), "1:1 2:1 3:1");
    assert_eq!(members_at(&json, 1), members_at(&json, 0));
    let one = write(&dir, "one.conf", &conf(3, 1, ""));
    let (code, json, _) = whatif_json(&one, "link down 0 3");
    assert_eq!(code, 0);
    assert_eq!(quorate_at(&json, 1), "1:1 2:1 3:0");
    assert_eq!(json["steps"][1]["nodes"][2]["members"], serde_json::json!([3]));
    // Both links of node 3 down in the two-link cluster: it is cut off too.
    let (_, json, _) = whatif_json(&two, "link down 0 3; link down 1 3; link up 1 3");
    assert_eq!(quorate_at(&json, 2), "1:1 2:1 3:0");
    assert_eq!(quorate_at(&json, 3), "1:1 2:1 3:1");
}

#[test]
fn partial_mesh_is_unstable_with_candidates() {
    let dir = temp_dir("mesh");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    let (code, json, _) = whatif_json(&file, "link down 0 between 1 3");
    assert_eq!(code, 0);
    let step = &json["steps"][1];
    assert_eq!(step["unstable"], true);
    assert_eq!(json["unstable"], true);
    assert_eq!(
        step["unstable_memberships"][0]["nodes"],
        serde_json::json!([1, 2, 3])
    );
    assert_eq!(
        step["unstable_memberships"][0]["candidates"],
        serde_json::json!([[1, 2], [2, 3]])
    );
    let (_, out, _) = quorate(&["whatif", &file, "-s", "link down 0 between 1 3"]);
    assert!(
        out.contains("UNSTABLE: corosync will flap in {1,2,3}; candidate memberships {1,2} {2,3}"),
        "{out}"
    );
}

#[test]
fn reload_file_beside_the_script_file() {
    let dir = temp_dir("reload");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    write(&dir, "four.conf", &conf(4, 1, ""));
    let script = write(
        &dir,
        "scenario.txt",
        "# add node 4 to the nodelist\nreload four.conf\nsplit 1:1\n",
    );
    let (code, out, err) = quorate(&["whatif", &file, "--script-file", &script, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let after_reload = &json["steps"][1];
    assert_eq!(after_reload["command"], "reload four.conf");
    assert_eq!(after_reload["line"], 2);
    assert_eq!(after_reload["nodes"][0]["expected_votes"], 4);
    assert_eq!(after_reload["nodes"][0]["quorum"], 3);
    assert_eq!(after_reload["nodes"][3]["up"], false);
    // {2,3} now has 2 of 4 votes: not enough.
    assert_eq!(quorate_at(&json, 2), "1:0 2:0 3:0 4:0");
    // A file that does not exist: exit 2, line and column of the file name.
    let script = write(&dir, "missing.txt", "heal\nreload nowhere.conf\n");
    let (code, _, err) = quorate(&["whatif", &file, "--script-file", &script]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.txt:2:8: cannot reload `nowhere.conf`"),
        "{err}"
    );
}

#[test]
fn tv50_expected_1_on_an_isolated_node_is_split_brain() {
    let dir = temp_dir("tv50");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    let (code, json, _) = whatif_json(&file, "split 1:1\nexpected 1 on 1");
    assert_eq!(code, 1);
    assert_eq!(quorate_at(&json, 1), "1:0 2:1 3:1");
    assert_eq!(quorate_at(&json, 2), "1:1 2:1 3:1");
    assert_eq!(json["steps"][2]["split_brain"], true);
    assert_eq!(json["steps"][2]["nodes"][0]["expected_votes"], 1);
    // TV51: on the majority, -e 1 is refused and nothing changes.
    let (code, json, _) = whatif_json(&file, "split 1:1\nexpected 1 on 2");
    assert_eq!(code, 0);
    assert_eq!(json["steps"][2]["rejected"], true);
    assert_eq!(quorate_at(&json, 2), "1:0 2:1 3:1");
}

#[test]
fn tv25_wait_lets_the_lms_window_expire_into_split_brain() {
    let dir = temp_dir("tv25");
    let lms = "  last_man_standing: 1\n  last_man_standing_window: 1000\n";
    let file = write(&dir, "lms.conf", &conf(5, 1, lms));
    let (code, json, _) = whatif_json(&file, "split 1:4,5\nwait 1500\nmove 1:3");
    assert_eq!(code, 1);
    assert_eq!(quorate_at(&json, 1), "1:1 2:1 3:1 4:0 5:0");
    assert_eq!(json["steps"][2]["time_ms"], 1500);
    assert_eq!(json["steps"][2]["nodes"][0]["expected_votes"], 3);
    assert_eq!(quorate_at(&json, 3), "1:1 2:1 3:1 4:1 5:1");
    assert_eq!(json["steps"][3]["split_brain"], true);
    assert_eq!(
        json["steps"][3]["quorate_memberships"],
        serde_json::json!([[1, 2], [3, 4, 5]])
    );
    // Without the wait (TV28-like) the window never expires: {1,2} stays inquorate.
    let (code, json, _) = whatif_json(&file, "split 1:4,5\nmove 1:3");
    assert_eq!(code, 0);
    assert_eq!(quorate_at(&json, 2), "1:0 2:0 3:1 4:1 5:1");
}

#[test]
fn script_errors_name_line_column_and_token() {
    let dir = temp_dir("errors");
    let file = write(&dir, "c3.conf", &conf(3, 1, ""));
    let (code, out, err) = quorate(&["whatif", &file, "-s", "split 1:1\ndown x!"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("<script>:2:6: expected a node id or node name, found `x!`"),
        "{err}"
    );
    let (code, _, err) = quorate(&["whatif", &file, "-s", "up 1; frob 2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("<script>:1:7:") && err.contains("found `frob`"),
        "{err}"
    );
    let (code, _, err) = quorate(&["whatif", &file, "-s", "heal\ndown 2,n9"]);
    assert_eq!(code, 2);
    assert!(err.contains("<script>:2:8: unknown node `n9`"), "{err}");
    // Names of the configuration are fine.
    let (code, _, err) = quorate(&["whatif", &file, "-s", "down n2"]);
    assert_eq!(code, 0, "{err}");
    // A scenario is required; -s excludes --script-file; with --all a script is the start
    // state (issue 10 item 14, tests/it/cli_issue10.rs).
    let (code, _, _) = quorate(&["whatif", &file]);
    assert_eq!(code, 2);
    let (code, _, _) = quorate(&["whatif", &file, "-s", "heal", "--script-file", &file]);
    assert_eq!(code, 2);
    let (code, _, err) = quorate(&["whatif", &file, "--all", "-s", "heal"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = quorate(&["whatif", "/nonexistent/corosync.conf", "-s", "heal"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/corosync.conf"), "{err}");
}

/// What `pvecm create` / `addnode` write: every node has quorum_votes, sections sorted.
fn proxmox_conf() -> String {
    let mut nodes = String::new();
    for nodeid in 1..=3 {
        nodes.push_str(&format!(
            "  node {{\n    name: pve{nodeid}\n    nodeid: {nodeid}\n    quorum_votes: 1\n    \
             ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
    }
    format!(
        "logging {{\n  debug: off\n  to_syslog: yes\n}}\n\nnodelist {{\n{nodes}}}\n\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n\n\
         totem {{\n  cluster_name: pve\n  config_version: 3\n  interface {{\n    linknumber: 0\n  }}\n  \
         ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}}\n"
    )
}

#[test]
fn proxmox_consequences_for_a_proxmox_looking_file() {
    let dir = temp_dir("proxmox");
    let file = write(&dir, "corosync.conf", &proxmox_conf());
    let (code, json, _) = whatif_json(&file, "isolate 3\nwait 61000\ndown 3");
    assert_eq!(code, 0);
    assert_eq!(json["proxmox"], true);
    let pve = |step: usize, node: usize| json["steps"][step]["nodes"][node]["proxmox"].clone();
    assert_eq!(pve(0, 2)["etc_pve"], "read-write");
    assert_eq!(pve(1, 0)["etc_pve"], "read-write");
    assert_eq!(pve(1, 2)["etc_pve"], "read-only");
    assert_eq!(pve(1, 2)["self_fence"], true);
    assert_eq!(pve(1, 2)["self_fence_in_ms"], 60_000);
    assert_eq!(pve(2, 2)["self_fence_in_ms"], 0);
    assert!(pve(2, 2)["summary"].as_str().unwrap().contains("self-fenced"));
    assert_eq!(pve(3, 2)["etc_pve"], "unavailable");
    let (_, out, _) = quorate(&["whatif", &file, "-s", "isolate 3"]);
    assert!(out.contains("/etc/pve"), "{out}");
    assert!(
        out.contains("node 3 (pve3): /etc/pve read-only; an HA-managed node self-fences in about 60 s"),
        "{out}"
    );
    // --no-proxmox turns it off; --proxmox turns it on for any file.
    let (_, json, _) = {
        let (code, out, err) = quorate(&[
            "whatif",
            &file,
            "-s",
            "isolate 3",
            "--format",
            "json",
            "--no-proxmox",
        ]);
        (code, serde_json::from_str::<Value>(&out).unwrap(), err)
    };
    assert!(json["steps"][1]["nodes"][2].get("proxmox").is_none());
    let plain = write(&dir, "plain.conf", &conf(3, 1, ""));
    let (_, out, _) = quorate(&[
        "whatif",
        &plain,
        "-s",
        "isolate 3",
        "--format",
        "json",
        "--proxmox",
    ]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["steps"][1]["nodes"][2]["proxmox"]["etc_pve"], "read-only");
}

#[test]
fn a_config_corosync_refuses_warns_and_still_runs() {
    let dir = temp_dir("refused");
    let device = "  two_node: 1\n  device {\n    model: net\n    votes: 1\n  }\n";
    let file = write(&dir, "tnqd.conf", &conf(2, 1, device));
    let (code, json, err) = whatif_json(&file, "split 1:1");
    assert_eq!(code, 0);
    assert!(
        err.contains("two_node and quorum device cannot be configured at the same time"),
        "{err}"
    );
    assert!(err.contains("exit 20"), "{err}");
    assert!(json["startup_error"].as_str().unwrap().contains("two_node"));
    assert_eq!(json["steps"][1]["nodes"][0]["up"], false);
    // corosync -t refuses a knet node without nodeid: warned, simulated as read.
    let text = conf(3, 1, "").replace("    nodeid: 3\n", "");
    let file = write(&dir, "noid.conf", &text);
    let (_, out, err) = quorate(&["whatif", &file, "-s", "heal"]);
    assert!(err.contains("corosync -t rejects it"), "{err}");
    assert!(out.contains("== heal"), "{out}");
}

/// A syntax error that hides the nodelist (`node { name: a` on one line, which corosync -t
/// refuses with "Extra characters after opening bracket"): whatif, check and show name that
/// error with its line and column first; check and show no longer give the nodelist's
/// absence as the reason corosync would not start.
#[test]
fn a_syntax_error_hiding_the_nodelist_is_named_by_whatif_check_and_show() {
    let dir = temp_dir("brace");
    let text = "totem {\n  version: 2\n  cluster_name: five\n}\nnodelist {\n  node { name: a\n    nodeid: 1\n    ring0_addr: 198.18.0.1 }\n}\nquorum {\n  provider: corosync_votequorum\n}\n";
    let file = write(&dir, "brace.conf", text);
    let position = format!("{file}:6:3: Extra characters after opening bracket '{{' [E001]");
    for args in [
        vec!["whatif", file.as_str(), "-s", "down 1"],
        vec!["check", file.as_str()],
        vec!["show", file.as_str()],
    ] {
        let (code, _, err) = quorate(&args);
        assert!(err.contains(&position), "{args:?}: {err}");
        assert!(err.contains("corosync -t rejects it"), "{args:?}: {err}");
        assert!(
            !err.contains("nodelist or quorum.expected_votes must be configured"),
            "{args:?}: {err}"
        );
        let expected = if args[0] == "show" { 0 } else { 2 };
        assert_eq!(code, expected, "{args:?}: {err}");
    }
}
