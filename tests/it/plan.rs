//! `quorate plan` (issue 11): every flag and exit code, the JSON contract's shape (an insta
//! snapshot of field names and types), `--format script` replayed by `quorate whatif`, the
//! `-o` plan file, `plan verify` on a good and a hand-edited plan, and every bad input with
//! its message. The seed's cluster: forming pve1 from nothing, and adding the second link
//! to a running one-link pve1.

use crate::support::quorate;
use std::path::{Path, PathBuf};

const FIXED: &str = "examples/pve1/corosync.fixed.conf";
const LINK1: &str = "10.31.0.11,10.31.0.12,10.31.0.13";

/// A scratch directory for one test, removed on drop (also when the test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("quorate-plancli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ONE_LINK: &str = "examples/pve1/corosync.one-link.conf";

/// pve1 running on its first link only (`examples/pve1/corosync.one-link.conf`): the fixed
/// file without link 1, at config_version 1 (the fixed file, at 2, adds the link).
fn one_link_pve1() -> String {
    let text = std::fs::read_to_string(ONE_LINK).unwrap();
    let fixed = std::fs::read_to_string(FIXED).unwrap();
    let derived: String = fixed
        .replace("config_version: 2", "config_version: 1")
        .replace(
            "\n\n  interface {\n    linknumber: 1\n    knet_link_priority: 10\n  }\n",
            "\n",
        )
        .lines()
        .skip(2)
        .filter(|line| !line.trim_start().starts_with("ring1_addr"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        text.lines().skip(3).collect::<Vec<_>>(),
        derived.lines().collect::<Vec<_>>()
    );
    text
}

/// The JSON's shape: every field name with the type of its value, nested, arrays by their
/// first element; the per-node maps (`commands`, `config_sha256_by_node`, `nodeids`) by
/// one entry named NODE.
fn shape(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = "  ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let kind = match child {
                    Value::Null => "null",
                    Value::Bool(_) => "bool",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                out.push_str(&format!("{pad}{key}: {kind}\n"));
                let per_node = matches!(key.as_str(), "commands" | "config_sha256_by_node" | "nodeids");
                match child {
                    Value::Object(inner) if per_node => {
                        if let Some((_, first)) = inner.iter().next() {
                            out.push_str(&format!(
                                "{pad}  NODE: {}\n",
                                if first.is_array() { "array" } else { "value" }
                            ));
                        }
                    }
                    Value::Object(_) => shape(child, indent + 1, out),
                    Value::Array(items) => {
                        if let Some(first) = items.first().filter(|first| first.is_object()) {
                            shape(first, indent + 1, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => out.push_str(&format!("{pad}{value}\n")),
    }
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|error| panic!("not JSON ({error}):\n{out}"))
}

fn actions(plan: &serde_json::Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn issue11_seed_forms_pve1_from_nothing() {
    let (code, out, err) = quorate(&["plan", "--from", "none", "--to", FIXED, "--color", "never"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with(&format!("plan: none (a new cluster) -> {FIXED}\n")),
        "{out}"
    );
    assert!(out.contains("verdict: safe"), "{out}");
    assert!(out.contains("\n1. ") && out.contains("after: members"), "{out}");
    assert!(out.contains("\ntotal: "), "{out}");
    // Told it is a plain cluster: the files, the key and the start by hand.
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        "none",
        "--to",
        FIXED,
        "--format",
        "json",
        "--no-proxmox",
    ]);
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    assert_eq!(plan["format"], 1);
    assert_eq!(plan["from_sha256"], serde_json::Value::Null);
    assert_eq!(plan["verdict"], "safe");
    let actions = actions(&plan);
    assert!(actions.contains(&"generate_authkey".to_string()), "{actions:?}");
    assert!(actions.contains(&"write_config".to_string()), "{actions:?}");
    assert!(actions.contains(&"start".to_string()), "{actions:?}");
    // The authkey's bytes never appear: it is generated on one node and copied node to node.
    assert!(
        !out.contains("BEGIN") && !out.to_lowercase().contains("base64"),
        "{out}"
    );
}

/// On Proxmox (pve1 is detected as one), forming, growing and shrinking go through pvecm:
/// the plan's actions are `pvecm_create`, `pvecm_add` and `pvecm_delnode` with the commands
/// pvecm runs, no step writes /etc/corosync/corosync.conf itself, `plan verify` accepts the
/// plans, and refuses one hand-edited to run `pvecm delnode` while the node still runs.
#[test]
fn issue11_proxmox_plans_use_pvecm_create_add_delnode() {
    let scratch = Scratch::new("pvecm");
    let formed = scratch.path("form.json");
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        "none",
        "--to",
        FIXED,
        "--proxmox",
        "--format",
        "json",
        "-o",
        &formed,
    ]);
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    assert_eq!(plan["proxmox"], true);
    assert_eq!(
        actions(&plan),
        [
            "pvecm_create",
            "pvecm_add",
            "pvecm_add",
            "write_pve_config",
            "wait"
        ]
    );
    assert_eq!(
        plan["steps"][0]["commands"]["pve1-node1"][0],
        "pvecm create pve1 --link0 10.30.0.11,priority=20 --link1 10.31.0.11,priority=10"
    );
    assert_eq!(
        plan["steps"][1]["commands"]["pve1-node2"][0],
        "pvecm add 10.30.0.11 --link0 10.30.0.12 --link1 10.31.0.12 --nodeid 2 --use_ssh"
    );
    assert!(!out.contains("write-file /etc/corosync/corosync.conf"), "{out}");
    assert!(
        !out.contains("corosync-keygen") && !out.contains("copy-file"),
        "{out}"
    );
    // pvecm's own files are in the plan, by hash, like temporary files.
    let create_sha = plan["steps"][0]["config_sha256"].as_str().unwrap();
    assert!(plan["temp_configs"][create_sha]
        .as_str()
        .unwrap()
        .contains("  config_version: 1\n"));
    let (code, out, err) = quorate(&["plan", "verify", &formed]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(": verified: "), "{out}");

    let grown = scratch.path("grow.json");
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        FIXED,
        "--goal",
        "add-node pve1-node4 10.30.0.14,10.31.0.14",
        "--format",
        "json",
        "-o",
        &grown,
    ]);
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    assert_eq!(actions(&plan), ["pvecm_add", "write_pve_config", "wait"]);
    assert_eq!(
        plan["steps"][0]["commands"]["pve1-node4"][0],
        "pvecm add 10.30.0.11 --link0 10.30.0.14 --link1 10.31.0.14 --nodeid 4 --use_ssh"
    );
    let (code, out, err) = quorate(&["plan", "verify", &grown, "--from", FIXED]);
    assert_eq!(code, 0, "{out}\n{err}");

    let shrunk = scratch.path("shrink.json");
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        FIXED,
        "--goal",
        "remove-node pve1-node3",
        "--format",
        "json",
        "-o",
        &shrunk,
    ]);
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    assert_eq!(
        actions(&plan),
        ["leave", "pvecm_delnode", "write_pve_config", "wait"]
    );
    assert_eq!(
        plan["steps"][1]["commands"]["pve1-node1"],
        serde_json::json!(["pvecm delnode pve1-node3"])
    );
    let (code, out, err) = quorate(&["plan", "verify", &shrunk, "--from", FIXED]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Hand-edited: pvecm delnode before pve1-node3 stops.
    let mut edited: planner::Plan = serde_json::from_str(&std::fs::read_to_string(&shrunk).unwrap()).unwrap();
    edited.steps.swap(0, 1);
    edited.plan_sha256 = edited.compute_sha256();
    let edited_path = scratch.write("edited.json", &serde_json::to_string_pretty(&edited).unwrap());
    let (code, out, err) = quorate(&["plan", "verify", &edited_path, "--from", FIXED]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("(pvecm_delnode): pve1-node3 still runs corosync"),
        "{err}"
    );
}

#[test]
fn issue11_json_contract_shape() {
    let scratch = Scratch::new("shape");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    let (code, out, err) = quorate(&["plan", "--from", &from, "--to", FIXED, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let mut text = String::new();
    shape(&json(&out), 0, &mut text);
    insta::assert_snapshot!(text);
}

#[test]
fn issue11_seed_adds_the_second_link_to_a_running_one_link_pve1() {
    let scratch = Scratch::new("link");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    let goal = format!("add-link 1 {LINK1}");
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        &goal,
        "--format",
        "json",
        "--no-proxmox",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan = json(&out);
    assert_eq!(plan["verdict"], "safe");
    let to_config = plan["to_config"].as_str().unwrap();
    for address in LINK1.split(',') {
        assert!(
            to_config.contains(&format!("ring1_addr: {address}\n")),
            "{to_config}"
        );
    }
    assert!(
        to_config.contains("  interface {\n    linknumber: 1\n  }\n"),
        "{to_config}"
    );
    assert!(err.contains("note: totem.config_version 1 -> 2"), "{err}");
    let actions = actions(&plan);
    assert!(
        actions.contains(&"reload".to_string()),
        "adding a link is a reload: {actions:?}"
    );
    assert!(
        !actions.contains(&"restart".to_string()),
        "no restart is needed: {actions:?}"
    );
    // The same change given as a target file plans the same way.
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "--format",
        "json",
        "--no-proxmox",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(crate::plan::actions(&json(&out)).contains(&"reload".to_string()));
    // pve1 is a Proxmox cluster (every node writes quorum_votes): there the file goes through
    // /etc/pve, and pmxcfs propagates and reloads it (spec 6.2).
    let (code, out, err) = quorate(&["plan", "--from", &from, "--goal", &goal, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    assert_eq!(plan["proxmox"], true);
    let actions = crate::plan::actions(&plan);
    assert!(actions.contains(&"write_pve_config".to_string()), "{actions:?}");
    assert!(
        !actions.contains(&"reload".to_string()),
        "pmxcfs reloads, no second reload: {actions:?}"
    );
}

#[test]
fn issue11_output_file_and_formats_agree() {
    let scratch = Scratch::new("output");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    let plan_path = scratch.path("plan.json");
    let (code, out, err) = quorate(&[
        "plan", "--from", &from, "--to", FIXED, "--format", "json", "-o", &plan_path,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("wrote the plan to {plan_path}")), "{err}");
    let written = std::fs::read_to_string(&plan_path).unwrap();
    assert_eq!(json(&written), json(&out));
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    // --output is -o's long name; the human format goes to stdout while the file is written.
    let (code, out, _) = quorate(&[
        "plan", "--from", &from, "--to", FIXED, "--output", &plan_path, "--color", "never",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("plan: "), "{out}");
    // --color always paints, never does not.
    let (_, painted, _) = quorate(&["plan", "--from", &from, "--to", FIXED, "--color", "always"]);
    assert!(painted.contains("\x1b["), "{painted}");
    assert!(!out.contains("\x1b["), "{out}");
    // An unwritable -o is a tool error.
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "-o",
        "/nonexistent/dir/plan.json",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot write the plan to /nonexistent/dir/plan.json"),
        "{err}"
    );
}

#[test]
fn issue11_fault_budget_and_proxmox_flags_reach_the_plan() {
    let scratch = Scratch::new("flags");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    for budget in ["0", "2"] {
        let (code, out, err) = quorate(&[
            "plan",
            "--from",
            &from,
            "--to",
            FIXED,
            "--format",
            "json",
            "--fault-budget",
            budget,
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(json(&out)["fault_budget"].to_string(), budget);
    }
    let (_, out, _) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "--format",
        "json",
        "--proxmox",
    ]);
    assert_eq!(json(&out)["proxmox"], true);
    let (_, out, _) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "--format",
        "json",
        "--no-proxmox",
    ]);
    assert_eq!(json(&out)["proxmox"], false);
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "--proxmox",
        "--no-proxmox",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, err) = quorate(&["plan", "--from", &from, "--to", FIXED, "--fault-budget", "x"]);
    assert_eq!(code, 2, "{err}");
}

/// Runs the plan's script through `quorate whatif` from `start`, beside its files.
fn replay(scratch: &Scratch, start: &str, plan_args: &[&str]) -> (u8, String, String) {
    let plan_path = scratch.path("plan.json");
    let mut args = vec!["plan"];
    args.extend_from_slice(plan_args);
    args.extend_from_slice(&["--format", "script", "-o", &plan_path]);
    let (code, script, err) = quorate(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(the script installs it)"), "{err}");
    let script_path = scratch.write("plan.whatif", &script);
    quorate(&["whatif", start, "--script-file", &script_path, "--format", "json"])
}

/// `whatif --format json` output `out` shows no split-brain and every node quorate at the end.
fn assert_ends_split_free_with_every_node_quorate(out: &str) {
    let report = json(out);
    assert_eq!(report["split_brain"], false, "{out}");
    let last = report["steps"].as_array().unwrap().last().unwrap();
    assert!(
        last["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|node| node["quorate"] == true),
        "every node ends quorate: {last}"
    );
}

#[test]
fn issue11_script_replays_in_whatif() {
    let scratch = Scratch::new("script");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    let (code, out, err) = replay(&scratch, &from, &["--from", &from, "--to", FIXED]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_ends_split_free_with_every_node_quorate(&out);
    // A new cluster's script starts from the target with every node down.
    let (code, out, err) = replay(&scratch, FIXED, &["--from", "none", "--to", FIXED]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(json(&out)["split_brain"], false);
}

#[test]
fn issue11_verify_a_good_plan_and_a_hand_edited_one() {
    let scratch = Scratch::new("verify");
    let from = scratch.write("one-link.conf", &one_link_pve1());
    let plan_path = scratch.path("plan.json");
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--to",
        FIXED,
        "--format",
        "json",
        "--no-proxmox",
        "-o",
        &plan_path,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = quorate(&["plan", "verify", &plan_path, "--from", &from]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(": verified: "), "{out}");
    let (code, out, err) = quorate(&[
        "plan",
        "verify",
        &plan_path,
        "--from",
        &from,
        "--fault-budget",
        "0",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("up to 0 extra fault(s)"), "{out}");
    // Without the source file the plan cannot be checked against where it starts.
    let (code, _, err) = quorate(&["plan", "verify", &plan_path]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no source file was given"), "{err}");
    // A hand edit without updating plan_sha256 is caught.
    let mut plan: planner::Plan =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let reload = plan
        .steps
        .iter()
        .position(|step| step.action == "reload")
        .expect("a reload step");
    plan.steps.remove(reload);
    let edited = scratch.write("edited.json", &serde_json::to_string_pretty(&plan).unwrap());
    let (code, _, err) = quorate(&["plan", "verify", &edited, "--from", &from]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("plan_sha256 does not match"), "{err}");
    // With the hash updated, the replay finds that the plan no longer ends in its target.
    plan.plan_sha256 = plan.compute_sha256();
    let edited = scratch.write("edited.json", &serde_json::to_string_pretty(&plan).unwrap());
    let (code, out, err) = quorate(&["plan", "verify", &edited, "--from", &from]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("the plan fails verification"), "{err}");
    // Not a plan at all: a tool error with the position.
    let junk = scratch.write("junk.json", "{\"format\": 1,");
    let (code, _, err) = quorate(&["plan", "verify", &junk]);
    assert_eq!(code, 2);
    assert!(
        err.contains("junk.json:1:") && err.contains("not a quorate plan file"),
        "{err}"
    );
    let (code, _, err) = quorate(&["plan", "verify", &scratch.path("missing.json")]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn issue11_a_target_corosync_refuses_is_shown_with_its_lint_errors() {
    let scratch = Scratch::new("refused");
    let fixed = std::fs::read_to_string(FIXED).unwrap();
    // Two nodes with nodeid 2: corosync -t refuses it.
    let refused = scratch.write("refused.conf", &fixed.replace("nodeid: 3", "nodeid: 2"));
    let (code, out, err) = quorate(&["plan", "--from", FIXED, "--to", &refused, "--color", "never"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("--> {refused}:")),
        "rustc-style frame with file:line:col:\n{err}"
    );
    assert!(err.contains("error[E"), "{err}");
    assert!(err.contains("corosync would refuse the target"), "{err}");
    // A source that does not parse is shown the same way, before any goal is applied.
    let broken = scratch.write("broken.conf", &fixed.replace("quorum {", "quorum {{"));
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        &broken,
        "--goal",
        "rolling-restart",
        "--color",
        "never",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("--> {broken}:")) && err.contains("the source does not parse"),
        "{err}"
    );
    // A goal that makes a target corosync refuses: the goals' target is shown the same way.
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        FIXED,
        "--goal",
        "set totem.transport=udpu",
        "--color",
        "never",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--> <goals>:"), "{err}");
}

#[test]
fn issue11_bad_goals_say_which_goal_what_is_wrong_and_what_to_write() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--goal", "remove-node pve1-node9"],
            "error: goal `remove-node pve1-node9`: no node `pve1-node9` in the nodelist",
        ),
        (
            &["--goal", "set totem.token=3000"],
            "error: goal `set totem.token=3000`: changes nothing: totem.token is already 3000",
        ),
        (
            &[
                "--goal",
                "add-node n4 10.30.0.14,10.31.0.14",
                "--goal",
                "remove-node n4",
            ],
            "conflicts with goal `add-node n4 10.30.0.14,10.31.0.14`",
        ),
        (
            &["--goal", "add-node n4 10.30.0.14"],
            "1 address(es) given, but the cluster has 2 link(s) (0, 1)",
        ),
        (
            &["--goal", "add-node n4 10.30.0.14,10.31.0.14 nodeid=1"],
            "nodeid 1 is already used by `pve1-node1`",
        ),
        (&["--goal", "add-link 1 a,b,c"], "link 1 already exists"),
        (&["--goal", "remove-link 5"], "link 5 does not exist"),
        (&["--goal", "frobnicate"], "unknown goal `frobnicate`"),
    ];
    for (goals, expected) in cases {
        let mut args = vec!["plan", "--from", FIXED];
        args.extend_from_slice(goals);
        let (code, out, err) = quorate(&args);
        assert_eq!(code, 2, "{goals:?}: {out}\n{err}");
        assert!(err.contains(expected), "{goals:?}:\n{err}\nexpected: {expected}");
        assert!(err.contains("  = help: "), "{goals:?}: no way out:\n{err}");
    }
}

#[test]
fn issue11_bad_invocations_are_tool_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["plan", "--from", "none", "--goal", "rolling-restart"],
            "--from none has none",
        ),
        (
            &["plan", "--from", "missing.conf", "--to", FIXED],
            "cannot read missing.conf",
        ),
        (
            &["plan", "--from", FIXED, "--to", "missing.conf"],
            "cannot read missing.conf",
        ),
        (&["plan", "--from", FIXED], "--to <FILE>"),
        (&["plan", "--to", FIXED], "--from <FILE|none>"),
        (
            &[
                "plan",
                "--from",
                FIXED,
                "--to",
                FIXED,
                "--goal",
                "rolling-restart",
            ],
            "cannot be used with",
        ),
        (
            &["plan", "--from", "-", "--to", "-"],
            "standard input can be read only once",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = quorate(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}:\n{err}\nexpected: {expected}");
    }
}

#[test]
fn issue11_goal_notes_reach_the_human_output() {
    let scratch = Scratch::new("notes");
    let two_node = "totem {\n  version: 2\n  cluster_name: duo\n  config_version: 3\n  transport: knet\n}\n\
                    nodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 198.18.0.1\n  }\n  node {\n    name: b\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n  }\n}\n\
                    quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n";
    let from = scratch.write("two-node.conf", two_node);
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "add-node c 198.18.0.3",
        "--color",
        "never",
    ]);
    // A two_node pair growing: planned (file everywhere, one reload, then c starts); the
    // goal's notes explain the target.
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("note: two_node dropped: two_node is for exactly two nodes"),
        "{out}"
    );
    assert!(out.contains("2. reload on a"), "{out}");
    assert!(out.contains("4. start on c"), "{out}");
    assert!(!out.contains(". restart on "), "no step restarts: {out}");
    assert!(
        out.contains(
            "- edit the file everywhere, start the new node first, then restart the others one at a time"
        ),
        "{out}"
    );
    let (_, _, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "add-node c 198.18.0.3",
        "--format",
        "json",
    ]);
    assert!(err.contains("note: two_node dropped"), "{err}");
    let _ = Path::new(&from);
}

/// Two nodes of one vote, no two_node: restarting either one leaves no node quorate.
const DUO: &str = "totem {\n  version: 2\n  cluster_name: duo\n  config_version: 3\n  transport: knet\n}\n\
nodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 198.18.0.1\n  }\n  node {\n    name: b\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n  }\n}\n\
quorum {\n  provider: corosync_votequorum\n}\n";

#[test]
fn issue11_no_safe_plan_exits_1_and_allow_outage_accepts_one() {
    let scratch = Scratch::new("outage");
    let from = scratch.write("duo.conf", DUO);
    // wait_for_all takes effect only at a restart, and a restart of either node loses quorum.
    let goal = [
        "plan",
        "--from",
        &from,
        "--goal",
        "set quorum.wait_for_all=1",
        "--color",
        "never",
    ];
    let (code, out, err) = quorate(&goal);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.starts_with(&format!(
            "error: no safe plan from {from} to <goals> under a fault budget of 1\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("these steps are never safe:\n  - restart: "),
        "{out}"
    );
    assert!(out.contains("\nrejected orders:\n"), "{out}");
    assert!(out.contains("help: --allow-outage"), "{out}");
    let mut json_args = goal.to_vec();
    json_args.extend_from_slice(&["--format", "json"]);
    let (code, out, _) = quorate(&json_args);
    assert_eq!(code, 1);
    let report = json(&out);
    assert_eq!(report["verdict"], "no-safe-plan");
    assert_eq!(report["fault_budget"], 1);
    assert_eq!(report["impossible"][0]["step"], "restart");
    assert!(
        report["rejected"]
            .as_array()
            .is_some_and(|rejected| !rejected.is_empty()),
        "{out}"
    );
    // With --allow-outage the plan is found, and says so.
    let mut outage = goal.to_vec();
    outage.push("--allow-outage");
    let (code, out, err) = quorate(&outage);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("verdict: needs-outage"), "{out}");
    outage.extend_from_slice(&["--format", "json"]);
    let (_, out, _) = quorate(&outage);
    assert_eq!(json(&out)["verdict"], "needs-outage");
}

#[test]
fn issue11_rolling_restart_restarts_every_node_once() {
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        FIXED,
        "--goal",
        "rolling-restart",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan = json(&out);
    let restarted: Vec<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["action"] == "restart")
        .flat_map(|step| {
            step["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|node| node.as_str().unwrap().to_string())
        })
        .collect();
    let mut sorted = restarted.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["pve1-node1", "pve1-node2", "pve1-node3"],
        "{restarted:?}"
    );
    // One at a time: each restart step names one node.
    assert_eq!(restarted.len(), 3);
}

#[test]
fn issue11_every_goal_kind_plans_on_pve1() {
    // (goal, what to_config then has, whether a restart is needed: only startup keys and
    // rolling-restart need one, spec 5.2).
    let cases: &[(&str, &str, bool)] = &[
        (
            "add-node pve1-node4 10.30.0.14,10.31.0.14",
            "name: pve1-node4\n    nodeid: 4\n",
            false,
        ),
        ("remove-node pve1-node3", "", false),
        ("remove-link 1", "", false),
        (
            "readdress pve1-node2 1 10.31.0.22",
            "ring1_addr: 10.31.0.22\n",
            false,
        ),
        ("set totem.token=5000", "  token: 5000\n", false),
        ("unset totem.token_retransmits_before_loss_const", "", false),
        ("set quorum.wait_for_all=1", "  wait_for_all: 1\n", true),
        ("rolling-restart", "", true),
    ];
    for proxmox in ["--no-proxmox", "--proxmox"] {
        for (goal, added, restarts) in cases {
            let (code, out, err) = quorate(&[
                "plan", "--from", FIXED, "--goal", goal, "--format", "json", proxmox,
            ]);
            assert_eq!(code, 0, "{goal} {proxmox}: {out}\n{err}");
            let plan = json(&out);
            assert_eq!(plan["verdict"], "safe", "{goal} {proxmox}");
            let to_config = plan["to_config"].as_str().unwrap();
            assert!(to_config.contains(added), "{goal}:\n{to_config}");
            if *goal == "remove-node pve1-node3" {
                assert!(!to_config.contains("pve1-node3"), "{to_config}");
            }
            if *goal == "remove-link 1" {
                assert!(!to_config.contains("ring1_addr"), "{to_config}");
            }
            let actions = actions(&plan);
            assert_eq!(
                actions.contains(&"restart".to_string()),
                *restarts,
                "{goal} {proxmox}: {actions:?}"
            );
            assert_eq!(
                actions.last().map(String::as_str),
                Some("wait"),
                "{goal}: {actions:?}"
            );
            if proxmox == "--proxmox" && !goal.starts_with("rolling") {
                assert!(
                    !actions.contains(&"reload".to_string()),
                    "pmxcfs reloads: {goal}: {actions:?}"
                );
            }
        }
    }
    // A quorum device: the certificate exchange with the qnetd host first, the file through
    // pmxcfs (which reloads), then corosync-qdevice on every node (see planner's qdevice tests).
    for goal in [
        "add-qdevice 198.18.0.9",
        "add-qdevice 198.18.0.9 algorithm=ffsplit",
    ] {
        let (code, out, err) = quorate(&["plan", "--from", FIXED, "--goal", goal, "--format", "json"]);
        assert_eq!(code, 0, "{goal}: {err}");
        let plan = json(&out);
        assert_eq!(plan["qnetd_host"], "198.18.0.9", "{goal}");
        let actions = actions(&plan);
        let certificate = actions.iter().position(|action| action == "qdevice_certificate");
        let write = actions.iter().position(|action| action == "write_pve_config");
        let start = actions.iter().position(|action| action == "start_qdevice");
        assert!(
            certificate.is_some() && certificate < write && write < start,
            "{goal}: {actions:?}"
        );
    }
    // A removed node leaves before the reload that drops it.
    let (_, out, _) = quorate(&[
        "plan",
        "--from",
        FIXED,
        "--goal",
        "remove-node pve1-node3",
        "--format",
        "json",
        "--no-proxmox",
    ]);
    let actions = actions(&json(&out));
    let leave = actions.iter().position(|action| action == "leave");
    let reload = actions.iter().position(|action| action == "reload");
    assert!(leave.is_some() && leave < reload, "{actions:?}");
}

/// `plan verify` finds a split-brain that only a fault produces: a safe plan for a plain
/// pair (a token change) hand-edited to pass through a temporary two_node config (write it,
/// reload, then the target, reload). Neither endpoint has two_node, so nothing excuses the
/// exposure: with no extra fault every state is quorate and the plan verifies; with one,
/// the partition inside the two_node stretch leaves both halves quorate and verify fails,
/// naming the fault.
#[test]
fn issue11_verify_finds_a_split_brain_only_a_fault_produces() {
    let scratch = Scratch::new("faultonly");
    let pair = "totem {\n  version: 2\n  cluster_name: pair\n  config_version: 1\n  transport: knet\n}\n\nnodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 198.18.0.1\n  }\n  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n";
    let from = scratch.write("pair.conf", pair);
    let plan_path = scratch.path("plan.json");
    let (code, _, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "set totem.token=5000",
        "--no-proxmox",
        "-o",
        &plan_path,
    ]);
    assert_eq!(code, 0, "{err}");
    let mut plan: planner::Plan =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let actions: Vec<&str> = plan.steps.iter().map(|step| step.action.as_str()).collect();
    assert_eq!(actions, ["write_config", "reload", "wait"], "{actions:?}");
    // The temporary file: the target with two_node on.
    let temp = plan.to_config.replace(
        "provider: corosync_votequorum\n",
        "provider: corosync_votequorum\n  two_node: 1\n",
    );
    assert_ne!(temp, plan.to_config);
    let temp_sha = executor::status::reading::sha256_hex(temp.as_bytes());
    let to_sha = plan.to_sha256.clone();
    let write = plan.steps[0].clone();
    let reload = plan.steps[1].clone();
    let on_temp = |step: &planner::Step, pre: bool| {
        let mut step = step.clone();
        for snapshot in [&mut step.post].into_iter().chain(pre.then_some(&mut step.pre)) {
            for sha in snapshot.config_sha256_by_node.values_mut() {
                *sha = temp_sha.clone();
            }
        }
        for commands in step.commands.values_mut() {
            for command in commands.iter_mut() {
                *command = command.replace(&to_sha, &temp_sha);
            }
        }
        if step.config_sha256.is_some() {
            step.config_sha256 = Some(temp_sha.clone());
        }
        step
    };
    let mut write_target = write.clone();
    for sha in write_target.pre.config_sha256_by_node.values_mut() {
        *sha = temp_sha.clone();
    }
    plan.steps = vec![on_temp(&write, false), on_temp(&reload, true), write_target]
        .into_iter()
        .chain(plan.steps[1..].iter().cloned())
        .collect();
    for (index, step) in plan.steps.iter_mut().enumerate() {
        step.id = index as u32 + 1;
    }
    plan.temp_configs.insert(temp_sha, temp);
    plan.plan_sha256 = plan.compute_sha256();
    let edited = scratch.write("edited.json", &serde_json::to_string_pretty(&plan).unwrap());
    let (code, out, err) = quorate(&["plan", "verify", &edited, "--from", &from, "--fault-budget", "0"]);
    assert_eq!(
        code, 0,
        "with no extra fault the edited plan is fine:\n{out}\n{err}"
    );
    let (code, out, err) = quorate(&["plan", "verify", &edited, "--from", &from]);
    assert_eq!(code, 1, "{out}\n{err}");
    let all = format!("{out}\n{err}");
    assert!(all.contains("the plan fails verification"), "{all}");
    assert!(
        all.contains("two memberships are quorate at once") && all.contains("after `"),
        "{all}"
    );

    // The planner itself accepts a two_node target with that exposure (fencing is what a
    // pair relies on) and warns; its headline then says so instead of promising no
    // split-brain under the budget.
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "set quorum.two_node=1",
        "--no-proxmox",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("warning: split-brain is possible after `"), "{out}");
    assert!(
        out.contains("fault budget 1: split-brain is possible after 1 more crash(es), partition(s) or link failure(s) in step"),
        "{out}"
    );
    assert!(
        !out.contains("no state, between or inside steps, can split-brain"),
        "{out}"
    );
}

/// A Proxmox VE pair with a QDevice as `pvecm qdevice setup` leaves it (ffsplit, votes 1,
/// tls on), on 198.18.0.0/15.
const PVE_PAIR_QDEVICE: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: pve-a\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 198.18.0.11\n  }\n  node {\n    name: pve-b\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 198.18.0.12\n  }\n}\n\n\
quorum {\n  device {\n    model: net\n    net {\n      algorithm: ffsplit\n      host: 198.19.0.254\n      tls: on\n    }\n    votes: 1\n  }\n  provider: corosync_votequorum\n}\n\n\
totem {\n  cluster_name: homelab\n  config_version: 5\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n";

#[test]
fn issue11_a_kept_qdevice_rolls_a_proxmox_pair_one_node_at_a_time() {
    // Before: "no safe plan: while it runs, no node is quorate" (no device vote counted).
    let scratch = Scratch::new("kept-qdevice");
    let from = scratch.write("corosync.conf", PVE_PAIR_QDEVICE);
    let plan_path = scratch.path("plan.json");
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "rolling-restart",
        "--format",
        "json",
        "-o",
        &plan_path,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan = json(&out);
    assert_eq!(plan["verdict"], "safe", "{out}");
    assert_eq!(plan["qnetd_host"], "198.19.0.254", "{out}");
    assert_eq!(actions(&plan), ["restart", "restart", "wait"], "{out}");
    let both = serde_json::json!(["pve-a", "pve-b"]);
    for step in plan["steps"].as_array().unwrap() {
        // apply checks every node's corosync-qdevice casts before and after each step.
        assert_eq!(step["pre"]["qdevice_casting"], both, "{step}");
        assert_eq!(step["post"]["qdevice_casting"], both, "{step}");
        assert_eq!(step["post"]["quorate"], both, "{step}");
        assert_eq!(step["post"]["expected_votes"], 3, "{step}");
        // Nothing runs on the qnetd host; a restart is corosync's alone (systemd restarts
        // corosync-qdevice with it).
        assert!(step["commands"].get("198.19.0.254").is_none(), "{step}");
        if step["action"] == "restart" {
            assert_eq!(step["nodes"].as_array().unwrap().len(), 1, "{step}");
            let node = step["nodes"][0].as_str().unwrap();
            assert_eq!(
                step["commands"][node],
                serde_json::json!(["systemctl restart corosync"])
            );
            assert!(
                step["warning"]
                    .as_str()
                    .is_some_and(|warning| warning.contains("leaves no node quorate")),
                "{step}"
            );
        }
    }
    // The plan file verifies, with two extra faults as well (qnetd down or cut among them).
    for budget in ["1", "2"] {
        let (code, out, err) = quorate(&[
            "plan",
            "verify",
            &plan_path,
            "--from",
            &from,
            "--fault-budget",
            budget,
        ]);
        assert_eq!(code, 0, "budget {budget}: {out}\n{err}");
    }
    // Its script replays in whatif with qnetd deciding: no split-brain, both quorate.
    let (code, out, err) = replay(&scratch, &from, &["--from", &from, "--goal", "rolling-restart"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let script = std::fs::read_to_string(scratch.path("plan.whatif")).unwrap();
    assert!(script.contains("\nqnetd up\n"), "{script}");
    assert_ends_split_free_with_every_node_quorate(&out);
    // A new qnetd host for the kept device is refused, with what to do instead.
    let (code, out, err) = quorate(&[
        "plan",
        "--from",
        &from,
        "--goal",
        "set quorum.device.net.host=198.19.0.253",
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("quorum.device.net.host changes from `198.19.0.254` to `198.19.0.253`"),
        "{err}"
    );
    assert!(err.contains("plan remove-qdevice, then add-qdevice"), "{err}");
}
