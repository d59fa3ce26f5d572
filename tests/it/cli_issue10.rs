//! Regressions of issue 10 on the command surface (`quorate::run` in-process): scripts that
//! must be refused with line:col and exit 2, input handling (one reader of standard input,
//! configurations without nodes), conflicting flags, and `whatif --all` saying that it
//! analyses instants when the configuration acts over time.

use crate::support::quorate;
use std::path::{Path, PathBuf};

/// A directory of its own for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-cli-issue10-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A knet corosync.conf with `count` nodes (n1..nN, ids 1..N), one link, and `quorum` lines.
fn conf(count: u32, quorum: &str) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!(
            "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
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

/// `whatif FILE -s SCRIPT`: (exit code, stderr); the script must be refused.
fn refused(file: &str, script: &str) -> (u8, String) {
    let (code, out, err) = quorate(&["whatif", file, "-s", script]);
    assert!(
        out.is_empty(),
        "{script}: a refused script prints no table: {out}"
    );
    (code, err)
}

#[test]
fn issue10_scripts_naming_what_the_cluster_lacks_are_refused_with_line_and_column() {
    let dir = temp_dir("refused");
    let file = write(&dir, "c3.conf", &conf(3, ""));
    let cases = [
        (
            "split 1:1,2 2:2,3",
            "<script>:1:15: `split 1:1,2 2:2,3` is refused: node 2 is put in partition 1 and in partition 2",
        ),
        (
            "heal\nlink down 1",
            "<script>:2:11: `link down 1` is refused: link 1 is not configured (configured: 0)",
        ),
        (
            "join 5 6",
            "<script>:1:6: `join 5 6` is refused: no running node is in partition 5 (partitions now: 0 = {1,2,3})",
        ),
        (
            "split 1:3; join 0 1 1",
            "<script>:1:21: `join 0 1 1` is refused: partition 1 is named twice in one join",
        ),
        (
            "link down 0 between n2 2",
            "<script>:1:24: `link down 0 between n2 2` is refused: a link between node 2 and itself",
        ),
        (
            "qdevice on 1",
            "<script>:1:1: `qdevice on 1` is refused: the configuration has no quorum device",
        ),
        (
            "up 1; stop 2; down 9",
            "<script>:1:20: unknown node `9` in `down 9`",
        ),
    ];
    for (script, expected) in cases {
        let (code, err) = refused(&file, script);
        assert_eq!(code, 2, "{script}: {err}");
        assert!(
            err.contains(expected),
            "{script}: expected `{expected}` in:\n{err}"
        );
        assert!(err.contains("  |"), "{script}: the code frame is missing:\n{err}");
    }
    // The same steps are fine where the cluster has what they name.
    let (code, _, err) = quorate(&[
        "whatif",
        &file,
        "-s",
        "split 1:1 2:2,3; join 1 2; link down 0 between n2 3",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn issue10_a_node_named_by_a_number_is_not_shadowed_by_a_node_id() {
    let dir = temp_dir("numeric-name");
    let text = conf(2, "").replace(
        "}\nquorum",
        "  node {\n    name: 1\n    nodeid: 7\n    ring0_addr: 10.0.0.7\n  }\n}\nquorum",
    );
    let file = write(&dir, "numeric.conf", &text);
    let (code, err) = refused(&file, "down 1");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("<script>:1:6: `down 1` is refused: `1` is ambiguous: a number in a script always means a node id, but node 7 is named `1` and node 1 exists too; write `n1` for node 1, or rename node 7"),
        "{err}"
    );
    let (code, _, err) = quorate(&["whatif", &file, "-s", "down n1; down 7"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn issue10_standard_input_is_read_once_and_empty_configs_are_errors() {
    let (code, out, err) = quorate(&["whatif", "-", "--script-file", "-"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("standard input can be read only once"), "{err}");
    let dir = temp_dir("stdin-reload");
    let file = write(&dir, "c3.conf", &conf(3, ""));
    let (code, _, err) = quorate(&["whatif", &file, "-s", "heal; reload -"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("<script>:1:14: cannot reload `-`: standard input cannot be a reloaded file"),
        "{err}"
    );
    let (code, _, err) = quorate(&["lint", "-", "-"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`-` (standard input) is given 2 times"), "{err}");

    let dir = temp_dir("empty");
    let file = write(&dir, "empty.conf", "totem {\n  version: 2\n}\n");
    for args in [
        vec!["whatif", file.as_str(), "--all"],
        vec!["whatif", file.as_str(), "-s", "heal"],
    ] {
        let (code, out, err) = quorate(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert!(err.contains("no nodes to simulate"), "{err}");
    }
    let (code, _, err) = quorate(&["check", &file]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn issue10_a_directory_given_as_script_is_called_a_script() {
    let dir = temp_dir("script-dir");
    let file = write(&dir, "c3.conf", &conf(3, ""));
    let (code, _, err) = quorate(&["whatif", &file, "--script-file", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is a directory; give the script file itself"),
        "{err}"
    );
    let (code, _, err) = quorate(&["whatif", dir.to_str().unwrap(), "-s", "heal"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is a directory; give the corosync.conf file itself"),
        "{err}"
    );
}

#[test]
fn issue10_conflicting_flags_are_errors() {
    let dir = temp_dir("conflicts");
    let file = write(&dir, "c3.conf", &conf(3, ""));
    let cases: [&[&str]; 4] = [
        &["whatif", &file, "-s", "heal", "--proxmox", "--no-proxmox"],
        &["whatif", &file, "-s", "heal", "--script-file", &file],
        &["lint", &file, "--no-proxmox", "--proxmox"],
        &["check", &file, "--explore", "--format", "json"],
    ];
    for args in cases {
        let (code, out, err) = quorate(args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert!(err.contains("cannot be used with"), "{args:?}: {err}");
    }
}

#[test]
fn issue10_whatif_all_says_it_analyses_instants_and_names_the_check_command() {
    let dir = temp_dir("instants");
    // `quorate check` finds `move 1:2,3,4; wait 10000; move 0:4` here (the 4-node form of
    // check.rs's TV25 test); --all evaluates every failure right after it happens.
    let lms = write(&dir, "lms4.conf", &conf(4, "  last_man_standing: 1\n"));
    let (code, out, err) = quorate(&["whatif", &lms, "--all"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|line| line.contains("Split-brain:"))
        .unwrap_or_else(|| panic!("no split-brain line: {out}"));
    assert_eq!(
        line,
        "  Split-brain:    none at any single instant; last_man_standing can change that over time (not analysed here)"
    );
    assert!(
        out.contains(&format!("                  over time: quorate check {lms}\n")),
        "{out}"
    );
    let (_, out, _) = quorate(&["whatif", &lms, "--all", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["summary"]["time_dependent"],
        serde_json::json!(["last_man_standing"])
    );
    assert_eq!(json["summary"]["check_command"], format!("quorate check {lms}"));

    let two_node = write(&dir, "two.conf", &conf(2, "  two_node: 1\n"));
    let (code, out, _) = quorate(&["whatif", &two_node, "--all"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  Split-brain:    POSSIBLE"), "{out}");
    assert!(
        out.contains(&format!(
            "                  over time: quorate check {two_node}\n"
        )),
        "{out}"
    );
    let (_, out, _) = quorate(&["whatif", &two_node, "--all", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["summary"]["time_dependent"],
        serde_json::json!(["wait_for_all"])
    );

    let plain = write(&dir, "plain.conf", &conf(3, ""));
    let (_, out, _) = quorate(&["whatif", &plain, "--all"]);
    assert!(out.contains("  Split-brain:    none\n"), "{out}");
    assert!(!out.contains("over time"), "{out}");
    let (_, out, _) = quorate(&["whatif", &plain, "--all", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["summary"]["time_dependent"], serde_json::json!([]));
    assert_eq!(json["summary"]["check_command"], serde_json::Value::Null);
}

#[test]
fn issue10_whatif_all_after_a_script_answers_the_maintenance_question() {
    let dir = temp_dir("maintenance");
    let five = write(&dir, "c5.conf", &conf(5, ""));
    let (code, out, err) = quorate(&["whatif", &five, "-s", "stop 3", "--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  starting from the state after `stop 3`: 4 nodes running (1,2,4,5), 3 down; every further failure from there\n"),
        "{out}"
    );
    assert!(
        out.contains("  Node failures:  any 1 more node can fail; with 2 more nodes down, every one leaves nobody quorate\n"),
        "{out}"
    );
    let (_, out, _) = quorate(&["whatif", &five, "-s", "stop 3", "--all", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Four running nodes: Bell(4 + 1) = 52 scenarios of further failures.
    assert_eq!(json["scenarios"]["total"], 52);
    assert_eq!(json["start"]["running"], serde_json::json!([1, 2, 4, 5]));
    assert_eq!(json["start"]["down"], serde_json::json!([3]));
    assert_eq!(json["summary"]["always_tolerated_node_failures"], 1);
    let (_, out, _) = quorate(&["whatif", &five, "--all", "--format", "json"]);
    let plain: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plain["start"], serde_json::Value::Null);
    assert_eq!(plain["scenarios"]["total"], 203);

    // A witness replays the script first, with partition labels the script does not use.
    let two = write(&dir, "two.conf", &conf(2, "  two_node: 1\n"));
    let (code, out, err) = quorate(&["whatif", &two, "-s", "move 1:1,2", "--all", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let witness = &json["summary"]["split_brain"]["witness"];
    assert_eq!(witness["script"], "move 1:1,2\nmove 2:2");
    assert_eq!(witness["replay_verified"], true);
    let (code, _, _) = quorate(&["whatif", &two, "-s", "move 1:1,2; move 2:2"]);
    assert_eq!(code, 1);

    // Refused: a start that is not one membership, and a reload of another file.
    let (code, out, err) = quorate(&["whatif", &five, "-s", "split 1:3", "--all"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("the running nodes are in 2 memberships ({1,2,4,5} {3})"),
        "{err}"
    );
    let (code, _, err) = quorate(&["whatif", &five, "-s", "reload other.conf", "--all"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("<script>:1:8: cannot reload `other.conf`"), "{err}");
}

#[test]
fn issue10_start_state_symmetry_matches_the_plain_enumeration() {
    // Node 3 loses link 1 in the script: it is no longer interchangeable with 1 and 2.
    let mut settings = model::quorum::QuorumSettings::plain(4);
    for node in &mut settings.nodes {
        node.links = vec![0, 1];
    }
    settings.last_man_standing = true;
    for script in ["link down 1 3", "stop 4", "down 2; wait 10000", "link down 1"] {
        let parsed = model::scenario::parse(script).unwrap();
        let run = |symmetry: bool| {
            let options = sim::exhaustive::ExhaustiveOptions {
                symmetry,
                ..sim::exhaustive::ExhaustiveOptions::default()
            };
            sim::exhaustive::analyze_after(&settings, &parsed, &options, &mut |_| {}).unwrap()
        };
        let (reduced, plain) = (run(true), run(false));
        assert_eq!(reduced.classes, plain.classes, "{script}");
        assert_eq!(reduced.failure_sizes, plain.failure_sizes, "{script}");
        assert_eq!(reduced.scenarios.total, plain.scenarios.total, "{script}");
        assert_eq!(reduced.split_brain.running, plain.split_brain.running, "{script}");
        assert_eq!(
            reduced.single_link_failures, plain.single_link_failures,
            "{script}"
        );
    }
}

#[test]
fn issue10_show_prints_the_quorum_facts() {
    let dir = temp_dir("show");
    let two = write(&dir, "two.conf", &conf(2, "  two_node: 1\n"));
    let (code, out, err) = quorate(&["show", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("quorum facts (every node started and joined)\n"),
        "{out}"
    );
    assert!(
        out.contains("  expected votes 2 (nodes 2), quorum 1: a partition needs 1 vote(s)\n"),
        "{out}"
    );
    assert!(
        out.contains("  two_node on, wait_for_all on (implied by two_node: not written in the file)\n"),
        "{out}"
    );
    assert!(out.contains("  quorum device none\n"), "{out}");
    let (_, out, _) = quorate(&["show", &two, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["quorum_facts"],
        serde_json::json!({"startup_error": null, "node_votes": 2, "expected_votes": 2, "quorum": 1,
            "two_node": true, "wait_for_all": true, "wait_for_all_implied": true, "device_votes": null})
    );
    assert!(json.get("nodelist").is_some(), "the existing fields stay: {json}");

    let qdevice = conf(
        3,
        "  device {\n    model: net\n    votes: 2\n    net {\n      host: 10.0.0.9\n    }\n  }\n",
    );
    let qdevice = write(&dir, "qdevice.conf", &qdevice);
    let (_, out, _) = quorate(&["show", &qdevice, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["quorum_facts"]["device_votes"], 2,
        "{}",
        json["quorum_facts"]
    );
    assert_eq!(
        json["quorum_facts"]["expected_votes"], 5,
        "{}",
        json["quorum_facts"]
    );
    assert_eq!(json["quorum_facts"]["quorum"], 3, "{}", json["quorum_facts"]);
}

/// The table row of node `nodeid` in the block of step `heading` of a whatif human output.
fn row<'a>(out: &'a str, heading: &str, nodeid: u32) -> &'a str {
    let block = out
        .split("\n\n")
        .find(|block| block.starts_with(heading))
        .unwrap_or_else(|| panic!("no block `{heading}` in:\n{out}"));
    block
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{nodeid} ")))
        .unwrap_or_else(|| panic!("no node {nodeid} in:\n{block}"))
}

#[test]
fn issue10_whatif_tables_show_membership_parts_and_step_positions() {
    let dir = temp_dir("tables");
    let file = write(&dir, "c5.conf", &conf(5, ""));
    let (code, out, err) = quorate(&[
        "whatif",
        &file,
        "-s",
        "link down 0 3; split 1:1,2\nheal",
        "--color",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    // Node 3 lost its only link: it is in partition 0 but not in the others' membership.
    let heading = "== link down 0 3  (line 1, step 1 of 2)";
    assert!(row(&out, heading, 3).contains(" 0b "), "{out}");
    assert!(row(&out, heading, 1).contains(" 0a "), "{out}");
    let heading = "== split 1:1,2  (line 1, step 2 of 2)";
    assert!(row(&out, heading, 1).contains(" 1 "), "{out}");
    assert!(row(&out, heading, 4).contains(" 0b "), "{out}");
    assert!(out.contains("== heal  (line 2)\n"), "{out}");
    assert!(row(&out, "== heal", 3).contains(" 0 "), "{out}");
}

#[test]
fn issue10_proxmox_notes_name_the_node() {
    let dir = temp_dir("pve-notes");
    let text = conf(3, "").replace("name: n", "name: pve1-node");
    let file = write(&dir, "pve.conf", &text);
    let (code, out, err) = quorate(&[
        "whatif",
        &file,
        "-s",
        "isolate 3",
        "--proxmox",
        "--color",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  node 3 (pve1-node3): /etc/pve read-only;"),
        "{out}"
    );
    assert!(!out.contains("pve 3:"), "{out}");
}

#[test]
fn issue10_explain_shows_no_internal_references() {
    let (_, out, _) = quorate(&["explain", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["code"].as_str().unwrap().to_string())
        .collect();
    assert!(codes.len() > 50, "{codes:?}");
    for code in codes {
        let (status, text, _) = quorate(&["explain", &code]);
        assert_eq!(status, 0);
        for (at, _) in text.match_indices("TV") {
            let next = text[at + 2..].chars().next();
            assert!(
                !next.is_some_and(|c| c.is_ascii_digit()),
                "{code} names a test vector:\n{text}"
            );
        }
        for reference in ["spec row", "(spec", "; spec ", "\nspec ", "spec section"] {
            assert!(!text.contains(reference), "{code} has `{reference}`:\n{text}");
        }
    }
    // What is left still reads: the sentence around a removed reference keeps its period.
    let (_, text, _) = quorate(&["explain", "Q006"]);
    assert!(
        text.contains("`wait_for_all` does not prevent it. Any config reload"),
        "{text}"
    );
}

#[test]
fn issue10_a_counterexample_with_an_operator_action_says_so() {
    let dir = temp_dir("operator");
    let file = write(&dir, "c3.conf", &conf(3, ""));
    let (code, out, err) = quorate(&["check", &file, "--operator=expected"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("    note: this behaviour needs an operator action (step 2: `expected 1 on 3`): it happens only if someone runs it\n"),
        "{out}"
    );
    let (_, out, _) = quorate(&["check", &file]);
    assert!(!out.contains("operator action"), "{out}");
}

/// A syntax error (a missing closing brace) is reported alone by `whatif` and `whatif --all`
/// too, as by `lint`: nothing that depends on the broken section tree (missing keys, no
/// nodelist, no link) is added to it.
#[test]
fn issue10_whatif_reports_a_syntax_error_without_its_cascade() {
    let dir = temp_dir("syntax-cascade");
    let text = "totem {\n  version: 2\n  cluster_name: t\n\nnodelist {\n  node {\n    nodeid: 1\n    ring0_addr: 198.18.0.1\n  }\n}\nquorum {\n  provider: corosync_votequorum\n}\n";
    let file = write(&dir, "broken.conf", text);
    let (lint_code, lint_out, _) = quorate(&["lint", &file, "--format", "concise"]);
    assert_eq!(lint_code, 1, "{lint_out}");
    assert!(
        lint_out.contains("[E0"),
        "lint reports the parser error: {lint_out}"
    );
    for args in [
        vec!["whatif", file.as_str(), "-s", "heal"],
        vec!["whatif", file.as_str(), "--all"],
    ] {
        let (_, out, err) = quorate(&args);
        let warnings: Vec<&str> = err.lines().filter(|line| line.starts_with("warning:")).collect();
        assert!(
            !warnings.is_empty(),
            "{args:?} names the syntax error\nstdout:\n{out}\nstderr:\n{err}"
        );
        assert!(
            warnings.iter().all(|line| line.contains("[E0")),
            "{args:?} reports only parser errors, no cascade:\n{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
