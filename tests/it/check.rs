//! `quorate check FILE` end to end: the known split-brain cases are found with a
//! counterexample that replays (through the engine and through `quorate whatif`), safe
//! configurations hold within the budget, the JSON and script formats, exit codes,
//! `lint --prove`, and the Explorer (`--explore`) served by the real binary on loopback.

use crate::support::quorate;
use model::quorum::{ClusterState, QuorumSettings};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A directory of its own for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-check-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A corosync.conf with `count` nodes (n1..nN, ids 1..N) on one knet link, and `quorum`
/// lines added to the quorum section.
fn conf(count: u32, quorum: &str) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!(
            "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
    }
    format!(
        "totem {{\n  version: 2\n  cluster_name: t\n  transport: knet\n}}\nnodelist {{\n{nodes}}}\n\
         quorum {{\n  provider: corosync_votequorum\n{quorum}}}\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn settings_of(text: &str) -> QuorumSettings {
    let (document, _) = model::syntax::parse(text);
    model::config::Config::from_document(&document)
        .0
        .quorum_settings()
}

/// `quorate check FILE ARGS --format json`: the exit code and the document.
fn check_json(file: &str, args: &[&str]) -> (u8, Value) {
    let mut argv = vec!["check", file, "--format", "json"];
    argv.extend_from_slice(args);
    let (code, out, err) = quorate(&argv);
    assert_ne!(code, 2, "tool error: {err}");
    (code, serde_json::from_str(&out).unwrap())
}

fn property<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|property| property["name"] == name)
        .unwrap()
}

fn counterexample(report: &Value, name: &str) -> Vec<String> {
    property(report, name)["counterexample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step.as_str().unwrap().to_string())
        .collect()
}

/// Replays `steps` through the engine from the running cluster `quorate whatif` starts
/// with; every step is accepted and the last one ends in a split-brain (and none before).
fn assert_replays_to_split_brain(text: &str, steps: &[String]) {
    let settings = settings_of(text);
    let mut cluster = ClusterState::new(&settings).unwrap();
    for (index, line) in steps.iter().enumerate() {
        let script = model::scenario::parse(line).unwrap();
        assert_eq!(script.steps.len(), 1, "{line}");
        let outcome = cluster.apply(&settings, &script.steps[0]);
        assert!(!outcome.rejected, "{line}: {:?}", outcome.notes);
        assert_eq!(
            outcome.split_brain,
            index + 1 == steps.len(),
            "split-brain after step {line}"
        );
    }
}

/// Finds a no-split-brain counterexample for `quorum` on `count` nodes with `args`, checks
/// that it replays in the engine and in `quorate whatif`, and returns it with the report.
fn split_brain_case(test: &str, count: u32, quorum: &str, args: &[&str]) -> (Vec<String>, Value) {
    let dir = temp_dir(test);
    let text = conf(count, quorum);
    let file = write(&dir, "corosync.conf", &text);
    let (code, report) = check_json(&file, args);
    assert_eq!(code, 1);
    assert_eq!(property(&report, "no-split-brain")["holds"], false);
    let steps = counterexample(&report, "no-split-brain");
    assert!(!steps.is_empty());
    assert_replays_to_split_brain(&text, &steps);
    let mut script_args = vec!["check", file.as_str(), "--format", "script"];
    script_args.extend_from_slice(args);
    let (code, script, _) = quorate(&script_args);
    assert_eq!(code, 1);
    assert_eq!(script, format!("{}\n", steps.join("\n")));
    let (code, whatif, err) = quorate(&["whatif", &file, "-s", &script]);
    assert_eq!(code, 1, "whatif does not see the split-brain: {whatif}{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    (steps, report)
}

#[test]
fn two_node_without_wait_for_all_splits_at_boot() {
    // Booting cut off from the running node is one fault (a start into a partition of its
    // own while a node runs); within one fault the shortest split of two_node is the
    // runtime one (`two_node_runtime_split_requires_fencing`), and without a fault the
    // cluster boots whole and holds.
    let (steps, _) = split_brain_case(
        "two-node-wfa0",
        2,
        "  two_node: 1\n  wait_for_all: 0\n",
        &["--max-faults", "1"],
    );
    assert_eq!(steps.len(), 1);
    let dir = temp_dir("two-node-wfa0-boot");
    let boot = "down 1 2\nup 0:1\nup 1:2\n";
    let without = write(
        &dir,
        "without.conf",
        &conf(2, "  two_node: 1\n  wait_for_all: 0\n"),
    );
    let (code, _) = check_json(&without, &["--max-faults", "0"]);
    assert_eq!(code, 0);
    // The boot split itself: without wait_for_all both nodes are quorate alone, with it
    // (two_node's default) neither is until it has seen the other.
    let (code, out, err) = quorate(&["whatif", &without, "-s", boot]);
    assert_eq!(code, 1, "{out}{err}");
    let with = write(&dir, "with.conf", &conf(2, "  two_node: 1\n"));
    let (code, out, err) = quorate(&["whatif", &with, "-s", boot]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_node_runtime_split_requires_fencing() {
    let (steps, report) = split_brain_case("two-node", 2, "  two_node: 1\n", &[]);
    assert_eq!(steps.len(), 1);
    let note = property(&report, "no-split-brain")["note"].as_str().unwrap();
    assert!(note.starts_with("requires fencing"), "{note}");
}

#[test]
fn expected_votes_below_node_count_splits_at_cold_start() {
    let (steps, _) = split_brain_case("expected3", 4, "  expected_votes: 3\n", &["--max-faults", "1"]);
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[0], "down 1 2 3 4");
}

#[test]
fn tv25_last_man_standing_splits_after_the_window() {
    let (steps, report) = split_brain_case(
        "tv25",
        5,
        "  last_man_standing: 1\n  last_man_standing_window: 1000\n",
        // LMS makes members disagree on expected votes, so branching on delivery orders
        // explores up to 120 orders per 5-node ring change (about 30 s in a debug build);
        // the TV25 split needs only the ascending order.
        &["--depth", "3", "--fixed-order"],
    );
    assert_eq!(steps.len(), 3);
    assert!(steps.contains(&"wait 1000".to_string()));
    assert!(property(&report, "no-split-brain")["note"]
        .as_str()
        .unwrap()
        .contains("last_man_standing"));
}

#[test]
fn tv35_tie_breaker_list_without_wait_for_all_splits_at_boot() {
    let (steps, report) = split_brain_case(
        "tv35",
        4,
        "  auto_tie_breaker: 1\n  auto_tie_breaker_node: 1 3\n",
        &["--max-faults", "1"],
    );
    assert_eq!(steps[0], "down 1 2 3 4");
    // The list names 1 and 3; 2 and 4 are interchangeable (sim::symmetry, issue 8).
    assert_eq!(report["symmetry"], serde_json::json!([[2, 4]]));
}

#[test]
fn tv50_expected_one_on_an_isolated_node() {
    let (steps, report) = split_brain_case("tv50", 3, "", &["--operator=expected"]);
    assert_eq!(steps.len(), 2);
    assert!(steps[1].starts_with("expected 1 on "), "{steps:?}");
    assert_eq!(property(&report, "isolated-node-never-quorate")["holds"], false);
    // Without operator actions the same cluster is safe.
    let dir = temp_dir("tv50-no-operator");
    let file = write(&dir, "corosync.conf", &conf(3, ""));
    assert_eq!(check_json(&file, &[]).0, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn assert_all_hold(report: &Value) {
    for property in report["properties"].as_array().unwrap() {
        assert_eq!(property["holds"], true, "{property}");
        assert_eq!(property["counterexample"], serde_json::json!([]));
    }
}

#[test]
fn plain_three_and_five_nodes_hold_within_the_budget() {
    let dir = temp_dir("plain");
    for count in [3, 5] {
        let file = write(&dir, &format!("plain{count}.conf"), &conf(count, ""));
        let (code, report) = check_json(&file, &[]);
        assert_eq!(code, 0);
        assert_all_hold(&report);
        assert!(report["states"].as_u64().unwrap() > 100);
        assert!(report["seconds"].as_f64().unwrap() >= 0.0);
        let ids: Vec<Value> = (1..=count).map(Value::from).collect();
        assert_eq!(report["symmetry"], Value::Array(vec![Value::Array(ids)]));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fixed_pve1_holds_within_the_budget() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pve1/corosync.fixed.conf");
    let (code, report) = check_json(file, &[]);
    assert_eq!(code, 0);
    assert_all_hold(&report);
    // Two links: cutting one of them is not a partition.
    let (code, out, _) = quorate(&["check", file, "--max-faults", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("no-split-brain"), "{out}");
    assert!(out.contains("holds"), "{out}");
}

#[test]
fn quorum_regained_is_an_availability_verdict() {
    let dir = temp_dir("regained");
    // expected_votes above the vote sum: two of three nodes never make quorum.
    let file = write(&dir, "corosync.conf", &conf(3, "  expected_votes: 5\n"));
    let (code, report) = check_json(&file, &[]);
    assert_eq!(code, 0, "availability is not a safety violation");
    let verdict = property(&report, "quorum-regained");
    assert_eq!(verdict["holds"], false);
    assert_eq!(verdict["kind"], "liveness");
    assert_eq!(counterexample(&report, "quorum-regained").len(), 1);
    assert_eq!(property(&report, "no-split-brain")["holds"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn human_report_shows_verdicts_counterexample_and_replay_line() {
    let dir = temp_dir("human");
    let file = write(&dir, "corosync.conf", &conf(2, "  two_node: 1\n"));
    let (code, out, _) = quorate(&["check", &file]);
    assert_eq!(code, 1);
    assert!(out.contains("no-split-brain"), "{out}");
    assert!(out.contains("VIOLATED in 1 step(s):"), "{out}");
    assert!(out.contains("note: requires fencing"), "{out}");
    assert!(
        out.contains(&format!("replay: quorate whatif {file} -s '")),
        "{out}"
    );
    assert!(out.contains(" states ("), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exit_codes_and_bad_input() {
    let (code, _, err) = quorate(&["check", "/nonexistent/corosync.conf"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/corosync.conf"), "{err}");
    let dir = temp_dir("bad");
    let file = write(&dir, "empty.conf", "totem {\n}\n");
    let (code, _, err) = quorate(&["check", &file]);
    assert_eq!(code, 2);
    assert!(err.contains("no nodes"), "{err}");
    // A safe configuration prints nothing for --format script.
    let file = write(&dir, "plain.conf", &conf(3, ""));
    let (code, out, _) = quorate(&["check", &file, "--format", "script"]);
    assert_eq!((code, out.as_str()), (0, ""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_prove_attaches_counterexamples_to_split_brain_rules() {
    let dir = temp_dir("prove");
    let file = write(
        &dir,
        "corosync.conf",
        &conf(2, "  two_node: 1\n  wait_for_all: 0\n"),
    );
    let (_, plain, _) = quorate(&["lint", &file, "--format", "json"]);
    assert!(!plain.contains("quorate check"), "{plain}");
    let (_, out, _) = quorate(&["lint", &file, "--prove", "--format", "json"]);
    // The shortest split-brain is at runtime: one link down between the two nodes.
    assert!(
        out.contains("quorate check found a split-brain in 1 step(s): `link down 0 between 1 2`"),
        "{out}"
    );
    // A rule that does not fire on a safe cluster: nothing to prove, nothing attached.
    let file = write(&dir, "plain.conf", &conf(3, ""));
    let (_, out, _) = quorate(&["lint", &file, "--prove", "--format", "json"]);
    assert!(!out.contains("quorate check"), "{out}");
    // A finding that the checker refutes within the budget gets the proved note.
    let file = write(&dir, "fencing.conf", &conf(2, "  two_node: 1\n"));
    let (_, out, _) = quorate(&["lint", &file, "--prove", "--format", "json"]);
    assert!(
        out.contains("quorate check found a split-brain in 1 step(s)"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explore_refuses_a_taken_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let dir = temp_dir("explore-taken");
    let file = write(&dir, "corosync.conf", &conf(3, ""));
    let (code, _, err) = quorate(&["check", &file, "--explore", &address]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("cannot listen on {address}")), "{err}");
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Kills the child when dropped (also when an assertion fails).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tiny HTTP/1.0 GET on loopback: (status code, body).
fn http_get(address: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string());
    Ok((status, body))
}

#[test]
fn explore_serves_the_explorer_on_loopback() {
    let dir = temp_dir("explore");
    let file = write(&dir, "corosync.conf", &conf(3, ""));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["check", &file, "--explore", &address])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let index = loop {
        match http_get(&address, "/") {
            Ok(answer) => break answer,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => panic!("the Explorer did not answer on {address}: {error}"),
        }
    };
    assert_eq!(index.0, 200);
    assert!(
        index.1.contains("<html") || index.1.contains("<!DOCTYPE"),
        "{}",
        index.1
    );
    let (status, body) = http_get(&address, "/.status").unwrap();
    assert_eq!(status, 200);
    let status_json: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = status_json["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|property| property[1].as_str())
        .collect();
    assert!(names.contains(&"no-split-brain"), "{body}");
    let (status, body) = http_get(&address, "/.states").unwrap();
    assert_eq!(status, 200);
    let states: Value = serde_json::from_str(&body).unwrap();
    // The running cluster and the cold one.
    assert_eq!(states.as_array().unwrap().len(), 2, "{body}");
    let (status, body) = http_get(&address, "/.states/0").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("down 1"), "{body}");
    drop(_child);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Replays a counterexample made of `move` and `wait` steps in the real corosync-vqsim:
/// `wait MS` becomes a real pause past the window, then the state settles. Returns the
/// partitions' quorate flags after the last step, as (members, quorate) per node.
fn vqsim_replay(text: &str, steps: &[String]) -> Vec<(Vec<u32>, Option<bool>)> {
    use crate::support::vqsim::{self, Vqsim};
    assert!(
        vqsim::installed(),
        "{} is not installed: apt-get install corosync-vqsim (CI installs it)",
        vqsim::PROGRAM
    );
    let mut simulator = Vqsim::start(text).unwrap();
    let mut states = Vec::new();
    for step in steps {
        states = match step.strip_prefix("wait ") {
            Some(ms) => simulator
                .settle_after(Duration::from_millis(ms.parse::<u64>().unwrap() + 1000))
                .unwrap(),
            None => {
                assert!(step.starts_with("move "), "not replayable in vqsim: {step}");
                simulator.run(step).unwrap()
            }
        };
    }
    states
        .into_iter()
        .map(|state| (state.members, state.quorate))
        .collect()
}

/// Two disjoint memberships quorate at once, in what vqsim printed.
fn vqsim_split_brain(states: &[(Vec<u32>, Option<bool>)]) -> bool {
    let quorate: Vec<&Vec<u32>> = states
        .iter()
        .filter(|(_, quorate)| *quorate == Some(true))
        .map(|(members, _)| members)
        .collect();
    quorate.iter().enumerate().any(|(index, a)| {
        quorate[index + 1..]
            .iter()
            .any(|b| a.iter().all(|node| !b.contains(node)))
    })
}

/// Real software decides: the runtime counterexamples for TV25 (LMS) and an ATB list
/// without wait_for_all are split-brains in corosync-vqsim too (checked 2026-11-25).
#[test]
fn runtime_counterexamples_split_corosync_vqsim_too() {
    for (test, count, quorum, args) in [
        (
            "vqsim-lms",
            5,
            "  last_man_standing: 1\n  last_man_standing_window: 1000\n",
            // Ascending order only: branching on delivery orders takes ~30 s in debug here.
            vec!["--depth", "3", "--fixed-order"],
        ),
        (
            "vqsim-atb",
            4,
            "  auto_tie_breaker: 1\n  auto_tie_breaker_node: 1 3\n",
            vec!["--depth", "2"],
        ),
    ] {
        let (steps, _) = split_brain_case(test, count, quorum, &args);
        let states = vqsim_replay(&conf(count, quorum), &steps);
        assert!(vqsim_split_brain(&states), "{test}: {steps:?} -> {states:?}");
    }
}

/// `--operator` before FILE enables every operator action and leaves FILE alone;
/// `--operator=LIST` restricts them. See: the check engineer's report (the flag used to
/// swallow the file name).
#[test]
fn operator_flag_never_swallows_the_file() {
    let dir = std::env::temp_dir().join(format!("quorate-check-{}-operator", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("three.conf");
    let mut text = String::from("totem {\n version: 2\n cluster_name: c\n}\nnodelist {\n");
    for id in 1..=3 {
        text.push_str(&format!(
            " node {{\n  name: n{id}\n  nodeid: {id}\n  ring0_addr: 198.18.0.{id}\n }}\n"
        ));
    }
    text.push_str("}\nquorum {\n provider: corosync_votequorum\n}\n");
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let (code, out, err) = quorate(&[
        "check",
        "--operator",
        file,
        "--max-faults",
        "2",
        "--format",
        "json",
    ]);
    // One fault isolates a node, `expected 1` on it is the second unit.
    assert_eq!(
        code, 1,
        "expected 1 on an isolated node is a split-brain: {out}{err}"
    );
    let (code, _, err) = quorate(&["check", "--operator=reload", file, "--max-faults", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(quorate(&["check", "--operator=bogus", file]).0, 2);
}

/// `lint --prove` on a rule whose split-brain the checker cannot reach within the budget
/// says so ("proved within budget") instead of attaching a counterexample: two nodes with
/// two_node and auto_tie_breaker (corosync drops two_node, keeps wait_for_all, and the
/// lowest node breaks the tie).
#[test]
fn lint_prove_notes_a_proof_within_budget() {
    let dir = std::env::temp_dir().join(format!("quorate-check-{}-prove", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two-atb.conf");
    let mut text = String::from("totem {\n version: 2\n cluster_name: c\n}\nnodelist {\n");
    for id in 1..=2 {
        text.push_str(&format!(
            " node {{\n  name: n{id}\n  nodeid: {id}\n  ring0_addr: 198.18.0.{id}\n }}\n"
        ));
    }
    text.push_str("}\nquorum {\n provider: corosync_votequorum\n two_node: 1\n auto_tie_breaker: 1\n}\n");
    std::fs::write(&path, text).unwrap();
    let (_, out, err) = quorate(&["lint", "--prove", "--format", "json", path.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let helps: Vec<String> = json["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"] == "two-node-with-auto-tie-breaker")
        .map(|d| d["help"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(helps.len(), 1, "{out}{err}");
    assert!(helps[0].contains("proved within budget"), "{}", helps[0]);
}

/// The quorum section lines of a qnetd device (`model: net`) with `algorithm`, 1 vote.
fn qnetd_device(algorithm: &str) -> String {
    format!(
        "  device {{\n    model: net\n    votes: 1\n    net {{\n      host: 10.0.9.1\n      algorithm: {algorithm}\n    }}\n  }}\n"
    )
}

#[test]
fn two_nodes_ffsplit_with_qnetd_faults_hold_every_property_issue_14() {
    let dir = temp_dir("qnetd-ffsplit");
    let file = write(&dir, "corosync.conf", &conf(2, &qnetd_device("ffsplit")));
    let (code, report) = check_json(&file, &["--max-faults", "2"]);
    assert_eq!(code, 0, "{report:#}");
    for name in ["no-split-brain", "isolated-node-never-quorate", "quorum-regained"] {
        assert_eq!(property(&report, name)["holds"], true, "{name}: {report:#}");
    }
    // qnetd down/up and cuts explored on top of the node and network faults (pinned in
    // sim/src/check/tests.rs).
    assert_eq!(report["states"], 603);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_nodes_2nodelms_split_brain_through_a_qnetd_cut_issue_14() {
    // 2nodelms keeps node 2's vote while it is cut from qnetd (it booted first, alone), and
    // node 1 booting cut off from it is the only client qnetd has: both quorate.
    let (steps, _) = split_brain_case(
        "qnetd-2nodelms",
        2,
        &qnetd_device("2nodelms"),
        &["--max-faults", "2"],
    );
    assert_eq!(
        steps,
        vec!["qnetd up", "down 1 2", "up 0:2", "qnetd cut 2", "up 1:1"]
    );
}
