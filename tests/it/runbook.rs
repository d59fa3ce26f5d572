//! `quorate runbook` (issue 13): the seed runbook's findings pinned by a snapshot, the JSON
//! and SARIF shapes, the flags, the other fixture runbooks (what each must and must not
//! report) and bad input.

use crate::support::quorate;
use std::collections::BTreeSet;

const SEED: &str = "examples/runbooks/pve1-phase3.md";
const ADD_RIGHT: &str = "examples/runbooks/pve-add-node-right.md";
const ADD_WRONG: &str = "examples/runbooks/pve-add-node-wrong.md";

fn json(args: &[&str]) -> (u8, serde_json::Value) {
    let mut full = vec!["runbook", "--format", "json"];
    full.extend_from_slice(args);
    let (code, out, err) = quorate(&full);
    let value = serde_json::from_str(&out).unwrap_or_else(|error| panic!("{error}: {out}\n{err}"));
    (code, value)
}

fn codes(value: &serde_json::Value) -> Vec<(String, u64)> {
    value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["findings"].as_array().cloned().unwrap_or_default())
        .map(|finding| {
            (
                finding["code"].as_str().unwrap_or_default().to_string(),
                finding["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn issue13_seed_runbook_snapshot() {
    let (code, out, err) = quorate(&["runbook", "--color", "never", SEED]);
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!(out);
}

/// Every problem a Proxmox/corosync expert raises on the seed runbook, with its line.
#[test]
fn issue13_seed_runbook_has_every_expert_finding() {
    let (code, value) = json(&[SEED]);
    assert_eq!(code, 1);
    let found: BTreeSet<(String, u64)> = codes(&value).into_iter().collect();
    let expected: &[(&str, u64)] = &[
        ("R002", 21),  // pvecm create --bindnet0_addr/--ring0_addr: removed in PVE 6
        ("R003", 46),  // /etc/corosync/conf.d/pve1.conf is not read
        ("R003", 59),  // the edit goes to that path
        ("E139", 97),  // crypto on udpu: corosync refuses
        ("E138", 104), // a second link (ring1_addr) on udpu: corosync refuses
        ("L001", 104), // both links on one address: no redundancy
        ("L006", 87),  // ringnumber ignored: the second interface is link 0 again
        ("S009", 65),  // no config_version: pmxcfs does not propagate the file
        ("R004", 161), // the restart does not read the edited file
        ("R005", 164), // sleep 5 is shorter than token + consensus
        ("R005", 241), // again after node 2's start
        ("R005", 281), // and node 3's
        ("R006", 184), // cat authkey prints the secret
        ("R007", 202), // authkey copied through /tmp
        ("R007", 206), // scp to the other node's /tmp
        ("R007", 231), // taken from /tmp and left there
        ("R008", 231), // a manual join instead of pvecm add
        ("R009", 238), // node 2 cannot start: no /etc/corosync/corosync.conf
        ("R010", 246), // expects 2 nodes
        ("R009", 280), // node 3 cannot start either
        ("R010", 320), // the expected output's 3 nodes
        ("R011", 306), // cfgtool -s does not show quorum
        ("R011", 309), // netstat -t cannot show corosync (UDP)
        ("R005", 342), // status right after the iptables cut
        ("R012", 345), // ssh to a peer whose packets the node drops
        ("R013", 375), // no cluster_uuid key
        ("R014", 451), // corosync-keygen on a running cluster
        ("R015", 465), // -e 1: split-brain
        ("R016", 484), // scp into /etc/pve by hand
    ];
    for (code, line) in expected {
        assert!(
            found.contains(&(code.to_string(), *line)),
            "missing {code} at line {line}; found {found:?}"
        );
    }
    // Nothing the runbook does right is reported: pvecm status after create expects 1 node.
    assert!(!found.iter().any(|(_, line)| *line == 40 || *line == 33));
}

#[test]
fn issue13_json_shape_and_kinds() {
    let (_, value) = json(&[SEED]);
    assert_eq!(value["file"], SEED);
    let steps = value["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    for step in steps {
        for key in ["line", "heading", "node", "command", "actions", "findings"] {
            assert!(step.get(key).is_some(), "step without {key}: {step}");
        }
        for finding in step["findings"].as_array().expect("findings") {
            for key in ["kind", "code", "message", "line", "help"] {
                assert!(finding.get(key).is_some(), "finding without {key}: {finding}");
            }
            let kind = finding["kind"].as_str().unwrap_or_default();
            assert!(
                ["unsafe", "refused", "wrong", "insecure", "unrecognised"].contains(&kind),
                "{kind}"
            );
        }
    }
    assert!(value.get("plan").is_none());
    let node_of = |line: u64| {
        steps
            .iter()
            .find(|step| step["line"] == line)
            .map(|step| step["node"].clone())
    };
    assert_eq!(node_of(21), Some("pve1-node1".into()));
    assert_eq!(node_of(238), Some("pve1-node2".into()));
    assert_eq!(node_of(280), Some("pve1-node3".into()));
}

#[test]
fn issue13_sarif_and_flags() {
    let (code, out, _) = quorate(&["runbook", "--format", "sarif", SEED]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out).expect("sarif json");
    assert_eq!(sarif["version"], "2.1.0");
    let (_, value) = json(&[SEED]);
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(codes(&value).len())
    );
    // --no-proxmox: the Proxmox-only findings go away.
    let (_, plain) = json(&["--no-proxmox", SEED]);
    let plain_codes: BTreeSet<String> = codes(&plain).into_iter().map(|(code, _)| code).collect();
    assert!(
        !plain_codes.contains("S009") && !plain_codes.contains("R008"),
        "{plain_codes:?}"
    );
    // --fault-budget 0: forcing expected votes shows split-brain only with a fault.
    let (_, budget0) = json(&["--fault-budget", "0", SEED]);
    assert!(codes(&budget0).iter().any(|(code, _)| code == "R015"));
    // --plan-out: the seed's end state is a config corosync refuses, so no plan is written.
    let dir = std::env::temp_dir().join(format!("quorate-runbook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plan_path = dir.join("plan.json");
    let plan_text = plan_path.to_string_lossy().to_string();
    let (_, with_plan) = json(&["--plan-out", &plan_text, SEED]);
    assert_eq!(with_plan["plan"]["written"], false, "{}", with_plan["plan"]);
    assert!(with_plan["plan"]["why"]
        .as_str()
        .unwrap_or_default()
        .contains("refuses"));
    assert!(!plan_path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue13_add_node_right_is_clean_and_wrong_is_not() {
    let (code, out, err) = quorate(&["runbook", "--color", "never", ADD_RIGHT]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 finding(s)"), "{out}");
    let (code, value) = json(&[ADD_WRONG]);
    assert_eq!(code, 1);
    let found: BTreeSet<String> = codes(&value).into_iter().map(|(code, _)| code).collect();
    for code in ["R005", "R007", "R008", "R009"] {
        assert!(found.contains(code), "missing {code} in {found:?}");
    }
    for code in ["R015", "R006", "R013"] {
        assert!(!found.contains(code), "unexpected {code} in {found:?}");
    }
}

#[test]
fn issue13_bad_input_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("quorate-runbook-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no-code.md",
            b"# Title\n\nJust prose, no commands.\n".to_vec(),
            "no code blocks",
        ),
        (
            "corosync.conf",
            b"totem {\n  version: 2\n}\n".to_vec(),
            "no code blocks",
        ),
        (
            "binary.md",
            b"# x\n```bash\nls\n```\n\0\x01\x02".to_vec(),
            "binary data",
        ),
        (
            "latin1.md",
            b"# caf\xe9\n```bash\nls\n```\n".to_vec(),
            "not UTF-8",
        ),
        (
            "huge.md",
            "```bash\necho x\n```\n"
                .repeat(10 * 1024 * 1024 / 20)
                .into_bytes(),
            "too large",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let path = path.to_string_lossy().to_string();
        let (code, out, err) = quorate(&["runbook", &path]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(err.contains(expected) && err.contains(name), "{name}: {err}");
    }
    let (code, _, err) = quorate(&["runbook", "/nonexistent/runbook.md"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/runbook.md"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue13_readdress_in_place_is_refused_at_reload() {
    let (code, value) = json(&["examples/runbooks/pve-readdress-link.md"]);
    assert_eq!(code, 1);
    let found: Vec<(String, u64)> = codes(&value);
    // mv into /etc/pve at line 98: pmxcfs propagates, the reload refuses the re-address
    // (spec 5.2), and config_version was not increased.
    assert!(found.contains(&("R017".to_string(), 98)), "{found:?}");
    assert!(found.contains(&("R018".to_string(), 98)), "{found:?}");
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn issue13_node_removal_right_and_wrong() {
    let (code, out, err) = quorate(&[
        "runbook",
        "--color",
        "never",
        "examples/runbooks/pve-remove-node-right.md",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, value) = json(&["examples/runbooks/pve-remove-node-wrong.md"]);
    assert_eq!(code, 1);
    let found: BTreeSet<String> = codes(&value).into_iter().map(|(code, _)| code).collect();
    assert_eq!(
        found,
        ["R015", "R019"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
    );
}

#[test]
fn issue13_docs_list_every_code() {
    let docs = std::fs::read_to_string("docs/runbook.md").expect("docs/runbook.md");
    for (code, name, kind, _) in planner::runbook::CODES {
        assert!(
            docs.contains(&format!("| `{code}` | `{name}` | {kind} |")),
            "docs/runbook.md lacks {code}"
        );
    }
}

#[test]
fn issue13_qdevice_setup_right_and_wrong() {
    let (code, out, err) = quorate(&[
        "runbook",
        "--color",
        "never",
        "examples/runbooks/pve-qdevice-right.md",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("not cluster-related: apt-get"), "{out}");
    let (code, value) = json(&["examples/runbooks/pve-qdevice-wrong.md"]);
    assert_eq!(code, 1);
    let found = codes(&value);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "R020");
}

#[test]
fn issue13_pcs_two_node_right_and_wrong() {
    let (code, value) = json(&["examples/runbooks/pcs-two-node-setup.md"]);
    assert_eq!(code, 0, "{value}");
    let actions: Vec<String> = value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(String::from))
        .collect();
    assert!(
        actions.contains(&"start ha-1".to_string()) && actions.contains(&"start ha-2".to_string()),
        "{actions:?}"
    );
    let (code, value) = json(&["examples/runbooks/pcs-two-node-wrong.md"]);
    assert_eq!(code, 1);
    let found: BTreeSet<String> = codes(&value).into_iter().map(|(code, _)| code).collect();
    assert_eq!(
        found,
        ["R005", "R021"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
    );
}

/// `--plan-out` writes a plan `quorate plan verify` accepts, from the runbook's current
/// configuration to its end configuration (here: the re-address the runbook does in place).
#[test]
fn issue13_plan_out_writes_a_verified_plan() {
    let file = "examples/runbooks/pve-readdress-link.md";
    let dir = std::env::temp_dir().join(format!("quorate-runbook-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plan_path = dir.join("plan.json").to_string_lossy().to_string();
    let (code, value) = json(&["--plan-out", &plan_path, file]);
    assert_eq!(code, 1);
    assert_eq!(value["plan"]["written"], true, "{}", value["plan"]);
    let text = std::fs::read_to_string(file).expect("runbook");
    let start = text
        .find("## Current configuration\n\n```\n")
        .expect("current block")
        + "## Current configuration\n\n```\n".len();
    let end = start + text[start..].find("```").expect("fence");
    let from = dir.join("from.conf");
    std::fs::write(&from, &text[start..end]).expect("write from");
    let (code, out, err) = quorate(&["plan", "verify", &plan_path, "--from", &from.to_string_lossy()]);
    assert_eq!(code, 0, "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A two-node "current" cluster restarted on one node, with or without `two_node`.
fn two_node_restart_runbook(two_node: bool) -> String {
    let quorum = if two_node {
        "quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n"
    } else {
        "quorum {\n  provider: corosync_votequorum\n}\n"
    };
    format!(
        "# Restart db1\n\n## Current configuration\n\n```\ntotem {{\n  cluster_name: db\n  transport: knet\n  version: 2\n}}\n\nnodelist {{\n  node {{\n    name: db1\n    nodeid: 1\n    ring0_addr: 10.80.0.1\n  }}\n  node {{\n    name: db2\n    nodeid: 2\n    ring0_addr: 10.80.0.2\n  }}\n}}\n\n{quorum}```\n\n## Step 1\n\nOn db1:\n\n```bash\nsystemctl restart corosync\n```\n"
    )
}

/// Stops judged in the votequorum engine (R022): two of three nodes out at once loses
/// quorum, one at a time does not; a restart counts as down for its moment (a pair without
/// two_node loses quorum, with two_node it does not).
#[test]
fn issue13_stops_that_lose_quorum_are_unsafe() {
    let (code, value) = json(&["examples/runbooks/pcs-patch-nodes-wrong.md"]);
    assert_eq!(code, 1);
    let found = codes(&value);
    assert_eq!(
        found
            .iter()
            .filter(|(code, _)| code == "R022")
            .collect::<Vec<_>>(),
        vec![&("R022".to_string(), 61)],
        "{found:?}"
    );
    let finding = value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["findings"].as_array().cloned().unwrap_or_default())
        .find(|finding| finding["code"] == "R022")
        .expect("R022");
    assert_eq!(finding["kind"], "unsafe");
    let message = finding["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("stopping web3 leaves web1 running without quorum")
            && message.contains("`stop 2; stop 3`"),
        "{message}"
    );
    let (code, out, err) = quorate(&[
        "runbook",
        "--color",
        "never",
        "examples/runbooks/pcs-patch-nodes-right.md",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // Removing a node after powering it off keeps 3 of 4: no R022.
    let (_, removal) = json(&["examples/runbooks/pve-remove-node-right.md"]);
    assert!(!codes(&removal).iter().any(|(code, _)| code == "R022"));

    let dir = std::env::temp_dir().join(format!("quorate-runbook-r022-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (two_node, expect) in [(false, true), (true, false)] {
        let path = dir.join(format!("restart-{two_node}.md"));
        std::fs::write(&path, two_node_restart_runbook(two_node)).expect("write runbook");
        let (_, value) = json(&[&path.to_string_lossy()]);
        let r022: Vec<String> = value["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|step| step["findings"].as_array().cloned().unwrap_or_default())
            .filter(|finding| finding["code"] == "R022")
            .map(|finding| finding["message"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(!r022.is_empty(), expect, "two_node {two_node}: {r022:?}");
        if expect {
            assert!(
                r022[0].starts_with("restarting db1 leaves db2 running without quorum"),
                "{r022:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Repeat step 1 for pve-n5" with no block of its own replays step 1's blocks with step
/// 1's node read as pve-n5 (its `ssh` to pve-n4's address included), so the join and its
/// too-short wait are found for both nodes; a step that repeats another but has its own
/// block (the seed's Step 5) is read from its block only.
#[test]
fn issue13_repeat_step_n_for_a_node_is_expanded() {
    let (code, value) = json(&["examples/runbooks/pve-add-nodes-repeat.md"]);
    assert_eq!(code, 1);
    let steps = value["steps"].as_array().expect("steps");
    let repeated: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|step| {
            step["heading"]
                .as_str()
                .unwrap_or_default()
                .ends_with("(step 1 repeated for pve-n5)")
        })
        .collect();
    assert_eq!(repeated.len(), 4, "{repeated:#?}");
    assert!(
        repeated.iter().all(|step| step["node"] == "pve-n5"),
        "{repeated:#?}"
    );
    let actions: Vec<String> = repeated
        .iter()
        .flat_map(|step| step["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(str::to_string))
        .collect();
    for action in ["log in to pve-n5", "join pve-n5 through 10.40.0.11"] {
        assert!(actions.iter().any(|seen| seen == action), "{action}: {actions:?}");
    }
    let short_waits = codes(&value)
        .into_iter()
        .filter(|(code, line)| code == "R005" && *line == 17)
        .count();
    assert_eq!(short_waits, 2, "{:?}", codes(&value));
    let (_, seed) = json(&[SEED]);
    assert!(!seed["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|step| step["heading"]
            .as_str()
            .unwrap_or_default()
            .contains("repeated for")));
}

fn step_actions(value: &serde_json::Value, line: u64) -> Vec<String> {
    value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|step| step["line"] == line)
        .flat_map(|step| step["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(str::to_string))
        .collect()
}

/// pcs's membership and link commands are followed (issue 13): `node add` writes the
/// grown nodelist on every node (the authkey to the new one), reloads and, with --start,
/// starts it; `link add` adds the link everywhere; `node remove` stops the node first
/// (judged: removing two of three at once leaves one node without quorum) and keeps pcs's
/// own two_node rule. The runbook's end state is the plan's target: `--plan-out` writes a
/// plan that `plan verify` accepts.
#[test]
fn issue13_pcs_node_and_link_commands_are_followed() {
    let right = "examples/runbooks/pcs-grow-cluster-right.md";
    let (code, value) = json(&[right]);
    assert_eq!(code, 0, "{value}");
    let add = step_actions(&value, 51);
    assert_eq!(
        add,
        [
            "add web4 to the nodelist (pcs: every node's file, the authkey to web4, reload)",
            "write /etc/corosync/corosync.conf on web1, web2, web3, web4",
            "start web4"
        ],
        "{add:?}"
    );
    assert_eq!(
        step_actions(&value, 62),
        [
            "link add (pcs: every node's file, reload)",
            "write /etc/corosync/corosync.conf on web1, web2, web3, web4"
        ]
    );
    assert_eq!(
        step_actions(&value, 71),
        [
            "stop web3 (pcs)",
            "remove web3 from the nodelist (pcs: every node's file, reload)",
            "write /etc/corosync/corosync.conf on web1, web2, web4"
        ]
    );
    let scratch = std::env::temp_dir().join(format!("quorate-runbook-pcs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("temp dir");
    let plan_path = scratch.join("plan.json");
    let (code, out, err) = quorate(&["runbook", "--plan-out", &plan_path.to_string_lossy(), right]);
    assert_eq!(code, 0, "{out}{err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).expect("plan written")).expect("plan json");
    let target = plan["to_config"].as_str().unwrap_or_default();
    for expected in ["name: web4", "ring1_addr: 10.71.0.14", "ring1_addr: 10.71.0.11"] {
        assert!(target.contains(expected), "{expected}: {target}");
    }
    assert!(!target.contains("name: web3"), "{target}");
    let _ = std::fs::remove_dir_all(&scratch);

    let (code, value) = json(&["examples/runbooks/pcs-shrink-cluster-wrong.md"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&value), [("R022".to_string(), 49)], "{value}");
    // Two nodes left: pcs writes two_node; one node left: it drops it again.
    let pair = "# Shrink\n\n## Current configuration\n\n```\ntotem {\n  cluster_name: web\n  transport: knet\n  crypto_cipher: aes256\n  crypto_hash: sha256\n  version: 2\n}\n\nnodelist {\n  node {\n    name: web1\n    nodeid: 1\n    ring0_addr: 10.70.0.11\n  }\n  node {\n    name: web2\n    nodeid: 2\n    ring0_addr: 10.70.0.12\n  }\n  node {\n    name: web3\n    nodeid: 3\n    ring0_addr: 10.70.0.13\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n```\n\n## Step 1\n\nOn web1:\n\n```bash\npcs cluster node remove web3\n```\n";
    let dir = std::env::temp_dir().join(format!("quorate-runbook-pcs2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("shrink.md");
    std::fs::write(&path, pair).expect("write");
    let (code, value) = json(&[&path.to_string_lossy()]);
    assert_eq!(code, 0, "{value}");
    let actions = step_actions(&value, 42);
    assert!(
        actions
            .iter()
            .any(|action| action.starts_with("two_node set: pcs writes it for exactly two nodes")),
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// crmsh's join and remove are followed like pcs's (issue 13): `crm cluster join -c
/// sles1` on the new node grows sles1's nodelist with it (its address from the `ssh` that
/// reached it), puts the file everywhere and starts it; `crm cluster remove -c sles2`
/// stops sles2 first and removes it. The end state is what `--plan-out` plans towards.
#[test]
fn issue13_crm_join_and_remove_are_followed() {
    let file = "examples/runbooks/crm-replace-node-right.md";
    let (code, value) = json(&[file]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(
        step_actions(&value, 52),
        [
            "add sles4 to sles1's nodelist (crmsh: every node's file, the authkey to sles4, reload)",
            "write /etc/corosync/corosync.conf on sles1, sles2, sles3, sles4",
            "start sles4"
        ]
    );
    assert_eq!(
        step_actions(&value, 61),
        [
            "stop sles2 (crmsh)",
            "remove sles2 from the nodelist (crmsh: every node's file, reload)",
            "write /etc/corosync/corosync.conf on sles1, sles3, sles4"
        ]
    );
    let dir = std::env::temp_dir().join(format!("quorate-runbook-crm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plan_path = dir.join("plan.json");
    let (code, out, err) = quorate(&["runbook", "--plan-out", &plan_path.to_string_lossy(), file]);
    assert_eq!(code, 0, "{out}{err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).expect("plan written")).expect("plan json");
    let target = plan["to_config"].as_str().unwrap_or_default();
    assert!(
        target.contains("name: sles4") && target.contains("ring0_addr: 10.90.0.14"),
        "{target}"
    );
    assert!(!target.contains("name: sles2"), "{target}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// R010 compares an expected node count with the membership of the node the status is
/// read on: after n1 drops n3's packets, n1's membership is {n1, n2}, so "Nodes: 3" is
/// wrong there (and "Nodes: 2" is right).
#[test]
fn issue13_expected_node_counts_are_per_membership() {
    let file = "examples/runbooks/cut-node-expectation-wrong.md";
    let (code, value) = json(&[file]);
    assert_eq!(code, 1);
    let finding = value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["findings"].as_array().cloned().unwrap_or_default())
        .find(|finding| finding["code"] == "R010")
        .expect("R010");
    assert_eq!(finding["line"], 50);
    assert_eq!(
        finding["message"],
        "the runbook expects 3 nodes here, but at this point n1's membership has 2 node(s): n1, n2"
    );
    let text = std::fs::read_to_string(file)
        .expect("fixture")
        .replace("Nodes: 3", "Nodes: 2");
    let dir = std::env::temp_dir().join(format!("quorate-runbook-r010-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("cut-right.md");
    std::fs::write(&path, text).expect("write");
    let (code, value) = json(&[&path.to_string_lossy()]);
    assert_eq!(code, 0, "{value}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pvecm qdevice setup` (when pvecm accepts it) adds the device with pvecm's algorithm
/// choice (ffsplit for an even node count) to every node's config; `pvecm qdevice remove`
/// takes it out again.
#[test]
fn issue13_pvecm_qdevice_setup_and_remove_edit_the_config() {
    let file = "examples/runbooks/pve-qdevice-right.md";
    let (code, value) = json(&[file]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(
        step_actions(&value, 65),
        [
            "pvecm qdevice setup 10.70.0.5 on pve-c1",
            "quorum device 10.70.0.5 (ffsplit) in the config (pvecm: through /etc/pve, every node, reload)",
            "write /etc/corosync/corosync.conf on pve-c1, pve-c2, pve-c3, pve-c4"
        ]
    );
    let text = std::fs::read_to_string(file).expect("fixture")
        + "\n## Step 3: Remove it again\n\nOn pve-c1:\n\n```bash\npvecm qdevice remove\n```\n";
    let lines = text.lines().count() as u64;
    let dir = std::env::temp_dir().join(format!("quorate-runbook-qdrm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("qdevice-remove.md");
    std::fs::write(&path, &text).expect("write");
    let (code, value) = json(&[&path.to_string_lossy()]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(
        step_actions(&value, lines - 1),
        [
            "pvecm qdevice remove on pve-c1",
            "quorum device removed from the config (pvecm: through /etc/pve, every node, reload)",
            "write /etc/corosync/corosync.conf on pve-c1, pve-c2, pve-c3, pve-c4"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every finding of `value` as `(code, kind, message)`, in runbook order.
fn findings_of(value: &serde_json::Value) -> Vec<(String, String, String)> {
    value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["findings"].as_array().cloned().unwrap_or_default())
        .map(|finding| {
            let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
            (text("code"), text("kind"), text("message"))
        })
        .collect()
}

/// The whatif script a finding's message quotes (`(whatif: `...`)`).
fn whatif_script(message: &str) -> &str {
    message
        .split_once("(whatif: `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map_or("", |(script, _)| script)
}

/// A three-node "current" cluster (v1..v3, knet) and `steps` after it.
fn three_node_runbook(steps: &str) -> String {
    let mut conf = String::from("totem {\n  version: 2\n  cluster_name: v\n  transport: knet\n  crypto_cipher: aes256\n  crypto_hash: sha256\n}\n\nnodelist {\n");
    for nodeid in 1..=3 {
        conf.push_str(&format!(
            "  node {{\n    name: v{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.50.0.{nodeid}\n  }}\n"
        ));
    }
    conf.push_str("}\n\nquorum {\n  provider: corosync_votequorum\n}\n");
    format!("# Votes\n\n## Current configuration\n\n```\n{conf}```\n\n{steps}")
}

/// `corosync-quorumtool -v V [-n NODEID]` is followed in the votequorum engine (issue 13):
/// more votes for a node that may be cut off is a split-brain (R024, with the whatif
/// script that shows it), a restart puts the configured votes back (R025) and, while the
/// raised votes are in force, the restart leaves the others without quorum (R022); taking
/// a retiring node's vote away and then stopping it gives no finding.
#[test]
fn issue13_node_votes_survivor_recipe_and_retiring_a_node() {
    let file = "examples/runbooks/votes-survivor-wrong.md";
    let (code, value) = json(&[file]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&value),
        [
            ("R024".to_string(), 48),
            ("R022".to_string(), 57),
            ("R025".to_string(), 57)
        ],
        "{value}"
    );
    assert_eq!(
        step_actions(&value, 48),
        ["votes 3 for app1 on app1 (runtime only)"]
    );
    let found = findings_of(&value);
    assert_eq!(found[0].1, "unsafe");
    assert!(
        found[0].2.starts_with("if app1 is cut off from the others (not down) when this runs, 3 votes for app1 make app1's side quorate")
            && whatif_script(&found[0].2) == "isolate 1; votes 3 on 1",
        "{found:?}"
    );
    assert_eq!(whatif_script(&found[1].2), "votes 3 on 1; stop 1");
    assert_eq!((found[2].1.as_str()), "wrong");
    assert!(
        found[2].2.starts_with("restarting app1 puts the votes `corosync-quorumtool -v` changed back to corosync.conf's: app1 back from 3 to 1 (line 48)"),
        "{found:?}"
    );

    let (code, out, err) = quorate(&[
        "runbook",
        "--color",
        "never",
        "examples/runbooks/votes-retire-node-right.md",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, value) = json(&["examples/runbooks/votes-retire-node-right.md"]);
    assert_eq!(
        step_actions(&value, 53),
        ["votes 0 for db4 on db1 (runtime only)"]
    );
    // With a fault budget of 0 the cut-off case is not judged: the recipe alone is no
    // split-brain in a cluster whose nodes all run.
    let (code, value) = json(&["--fault-budget", "0", file]);
    assert_eq!(code, 1);
    assert!(!codes(&value).iter().any(|(code, _)| code == "R024"), "{value}");
}

/// The whatif script an `R024` or `R022` finding quotes shows what it says when run by
/// `quorate whatif` on the runbook's config (split-brain; the last stop without quorum).
#[test]
fn issue13_node_votes_findings_quote_whatif_scripts_that_show_them() {
    let dir = std::env::temp_dir().join(format!("quorate-runbook-votes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    // The runbook's own iptables cut: v1 alone, then 3 votes for it: split-brain right away.
    let cut = write(
        "cut.md",
        &three_node_runbook("## Step 1\n\nOn v1:\n\n```bash\niptables -A INPUT -s 10.50.0.2 -j DROP\niptables -A INPUT -s 10.50.0.3 -j DROP\nsleep 10\ncorosync-quorumtool -v 3\n```\n"),
    );
    let (code, value) = json(&[&cut]);
    assert_eq!(code, 1);
    let found = findings_of(&value);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "R024");
    assert_eq!(
        found[0].2,
        "3 votes for v1 make two memberships quorate at once right away, a split-brain (whatif: `move 1:1; votes 3 on 1`)"
    );
    // A vote taken away counts when a node stops later: v2's stop leaves 1 of 2 needed.
    let lowered = write(
        "lowered.md",
        &three_node_runbook("## Step 1\n\nOn v1:\n\n```bash\ncorosync-quorumtool -v 0 -n 3\n```\n\n## Step 2\n\nOn v2:\n\n```bash\nsystemctl stop corosync\n```\n"),
    );
    let (code, value) = json(&[&lowered]);
    assert_eq!(code, 1);
    let found = findings_of(&value);
    assert_eq!(
        found.iter().map(|(code, _, _)| code.as_str()).collect::<Vec<_>>(),
        ["R022"]
    );
    assert_eq!(whatif_script(&found[0].2), "votes 0 of 3 on 1; stop 2");
    // The whatif scripts, on the runbook's config, show what the findings say.
    let conf = write(
        "v.conf",
        "totem {\n  version: 2\n  cluster_name: v\n  transport: knet\n  crypto_cipher: aes256\n  crypto_hash: sha256\n}\n\nnodelist {\n  node {\n    name: v1\n    nodeid: 1\n    ring0_addr: 10.50.0.1\n  }\n  node {\n    name: v2\n    nodeid: 2\n    ring0_addr: 10.50.0.2\n  }\n  node {\n    name: v3\n    nodeid: 3\n    ring0_addr: 10.50.0.3\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n",
    );
    let (code, out, _) = quorate(&[
        "whatif",
        &conf,
        "-s",
        "move 1:1; votes 3 on 1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let whatif: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(whatif["split_brain"], true);
    let (_, out, _) = quorate(&[
        "whatif",
        &conf,
        "-s",
        "votes 0 of 3 on 1; stop 2",
        "--format",
        "json",
    ]);
    let whatif: serde_json::Value = serde_json::from_str(&out).expect("json");
    let last = whatif["steps"]
        .as_array()
        .and_then(|steps| steps.last())
        .cloned()
        .unwrap_or_default();
    assert!(
        last["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|node| node["quorate"] != true),
        "{last}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// votequorum's refusals of `-v` are `R023` with its own message; a reload puts every
/// runtime change back (`R025`, listing them).
#[test]
fn issue13_node_votes_refusals_and_reload() {
    let dir = std::env::temp_dir().join(format!("quorate-runbook-votes-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("refused.md");
    std::fs::write(
        &path,
        three_node_runbook("## Step 1\n\nOn v1:\n\n```bash\ncorosync-quorumtool -v 0 -n 3\ncorosync-quorumtool -v 0 -n 2\ncorosync-quorumtool -v 2 -n 9\ncorosync-quorumtool -v 2\ncorosync-cfgtool -R\n```\n\n## Step 2\n\nOn v3:\n\n```bash\nsystemctl stop corosync\ncorosync-quorumtool -v 2\n```\n"),
    )
    .expect("write");
    let (code, value) = json(&[&path.to_string_lossy()]);
    assert_eq!(code, 1);
    assert_eq!(
        findings_of(&value),
        [
            (
                "R023".to_string(),
                "refused".to_string(),
                "votequorum on v1 refuses 0 votes for v2: `Unable to set votes 0 for nodeid: 2: CS_ERR_INVALID_PARAM (quorum would be 2 with 1 votes present)` (whatif: `votes 0 of 3 on 1; votes 0 of 2 on 1`)".to_string()
            ),
            (
                "R023".to_string(),
                "refused".to_string(),
                "no node of the cluster has node id 9: votequorum refuses (`Unable to set votes 2 for nodeid: 9: CS_ERR_NAME_NOT_FOUND`)".to_string()
            ),
            (
                "R025".to_string(),
                "wrong".to_string(),
                "this reload puts the votes `corosync-quorumtool -v` changed back to corosync.conf's: v3 back from 0 to 1 (line 42), v1 back from 2 to 1 (line 45) (votequorum keeps such changes at runtime only; a start and a reload read quorum_votes from the file)".to_string()
            ),
            (
                "R023".to_string(),
                "refused".to_string(),
                "corosync does not run on v3 at this point (the runbook stopped it above): `corosync-quorumtool -v` cannot reach votequorum there and changes nothing".to_string()
            ),
        ],
        "{value}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `crm cluster init` is followed like `pcs cluster setup` (issue 13): the one-node file
/// crmsh writes (the parity fixture `OK-runbook-crm-init.conf` is that file, accepted by
/// real `corosync -t`), the authkey, the start; nodes then join with crmsh's two_node
/// rule. A second init on another node creates a second cluster (the expected two nodes
/// contradict the model, R010); an init where the cluster runs is refused by crmsh (R026).
#[test]
fn issue13_crm_cluster_init_right_and_wrong() {
    let right = "examples/runbooks/crm-init-cluster-right.md";
    let (code, out, err) = quorate(&["runbook", "--color", "never", right]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, value) = json(&[right]);
    assert_eq!(
        step_actions(&value, 12),
        [
            "generate authkey on sles1",
            "write /etc/corosync/corosync.conf on sles1 (1 node, crmsh)",
            "start sles1"
        ]
    );
    assert!(step_actions(&value, 22).contains(
        &"two_node set: crmsh writes it for exactly two nodes without a quorum device".to_string()
    ));
    assert_eq!(
        step_actions(&value, 31).last().map(String::as_str),
        Some("start sles3")
    );

    let (code, value) = json(&["examples/runbooks/crm-init-cluster-wrong.md"]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&value),
        [("R010".to_string(), 23), ("R026".to_string(), 32)],
        "{value}"
    );
    let found = findings_of(&value);
    assert_eq!(
        found[0].2,
        "the runbook expects 2 nodes here, but at this point sles2's membership has 1 node(s): sles2"
    );
    assert_eq!(
        (found[1].1.as_str(), found[1].2.as_str()),
        (
            "refused",
            "crmsh refuses this on sles1 (`Cluster is already running!`): nothing is changed"
        )
    );
}

/// `crm cluster init`'s stages and `-N`: the corosync stage writes the file without
/// starting, the cluster stage starts, `-N NODE` joins each node through the init node,
/// and the qdevice stage where the cluster does not run is refused (R026).
#[test]
fn issue13_crm_cluster_init_stages_and_nodes() {
    let dir = std::env::temp_dir().join(format!("quorate-runbook-crm-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("stages.md");
    std::fs::write(
        &path,
        "# crmsh stages\n\n## Step 1\n\nOn ha2:\n\n```bash\ncrm cluster init qdevice --qnetd-hostname qnetd1 -y\n```\n\n\
         ## Step 2\n\nOn ha1:\n\n```bash\nssh root@10.91.0.1\ncrm cluster init corosync -y -n pair -i 10.91.0.1\ncrm cluster init cluster -y\n```\n\n\
         ## Step 3\n\nOn ha3:\n\n```bash\nssh root@10.91.0.3\ncrm cluster init -y -n other -i 10.91.0.3 -N ha4\n```\n",
    )
    .expect("write");
    let (code, value) = json(&[&path.to_string_lossy()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&value), [("R026".to_string(), 8)], "{value}");
    assert_eq!(
        findings_of(&value)[0].2,
        "crmsh refuses this on ha2 (`Cluster is inactive, can't run 'qdevice' stage`): nothing is changed"
    );
    assert_eq!(
        step_actions(&value, 17),
        [
            "generate authkey on ha1",
            "write /etc/corosync/corosync.conf on ha1 (1 node, crmsh)"
        ]
    );
    assert_eq!(step_actions(&value, 18), ["start ha1"]);
    let actions = step_actions(&value, 27);
    assert!(
        actions.contains(&"ha4 joins through ha3 (crmsh -N)".to_string())
            && actions.contains(&"start ha4".to_string()),
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
