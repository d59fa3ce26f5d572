//! `quorate apply` on a real lab over its real sshd (root; CI runs it).
//!
//! Owns the apply scenarios, each with a plan from the planner (`planner::plan`) for the
//! lab's own config: `set quorum.wait_for_all=1` rolled through a running 3-node cluster
//! (refused first while a node's file differs, then a dry run, then applied); a 4th node
//! added from a `--spare` host (file everywhere, reload, authkey copied node to node, start);
//! a cluster formed from bare `--no-start` nodes (key generated on n1 and copied); corosync
//! killed on a node mid-plan (apply stops, resume finishes once it is back); a full disk (a
//! small tmpfs over a node's /etc/corosync: refused at preflight when full, and when filled
//! after the preflight the write fails, the old file stays whole, resume redoes the step); a
//! rolling restart of 5 nodes; a node removed (it leaves before the reload that drops it);
//! SIGTERM to the real binary while step 1's writes are in flight
//! (exit 130, every file old or new and whole, resume finishes); sshd killed on a node
//! mid-plan, listener and connections (apply stops at once naming it, resume is refused while
//! it is unreachable and finishes once sshd is back); a partition cutting off the node being
//! restarted (the postcondition fails, resume finishes after the heal); SIGINT while a write
//! is in flight (made slow by a `sync` in front of the node's), to apply alone (the write
//! finishes and is recorded) and to its whole process group as a terminal's Ctrl-C (the ssh
//! processes die too: exit 130 naming the cut command, resume reads the files); plan 4 of
//! the issue on a lab with a spare link and spare addresses (`--spare-links 1
//! --spare-addresses`): link 1 added, then n1's link 0 moved to its spare address (through a
//! file without link 0), every node quorate throughout and the peers reaching n1 there.
//! During the plans an independent monitor (nsenter, one thread per node, not apply's own
//! SSH polling) reads `corosync-quorumtool` on every node every 50 ms plus the reading's own
//! time, and the test asserts that no two quorate nodes ever had disjoint memberships, that a
//! majority stayed quorate where the plan promises it, and that the end state (file hashes,
//! membership, quorum, expected votes) is the target. Wall times are printed, never asserted.
//! Tests without a lab check that apply reads every plan the planner writes and refuses one
//! edited after planning before contacting any node. Each lab is
//! removed by its Drop guard, also when an assertion fails.

use crate::support::lab::{lab, LabGuard};
use crate::support::quorate;
use executor::lab::Lab;
use executor::status::read_corosync;
use executor::status::reading::sha256_hex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The latest reading of every node: quorate, membership.
type Latest = BTreeMap<u32, (bool, Vec<u32>)>;

/// One monitor reading: per node (id), whether it is quorate and its membership.
type Sample = Vec<(u32, bool, Vec<u32>)>;

/// Reads every node's quorumtool through nsenter until stopped: one thread per node (a
/// node whose corosync is starting can keep quorumtool waiting; the others go on), every
/// reading adds a sample of the latest reading of every node.
pub(crate) struct Monitor {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<Vec<Duration>>>,
    samples: Arc<Mutex<Vec<(Duration, Sample)>>>,
}

impl Monitor {
    pub(crate) fn start(dir: &Path) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let lab = Arc::new(Lab::open(dir).unwrap());
        let ids: Vec<u32> = lab.state().nodes.iter().map(|node| node.nodeid).collect();
        let latest: Arc<Mutex<Latest>> = Arc::new(Mutex::new(BTreeMap::new()));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let began = Instant::now();
        let handles = ids
            .iter()
            .map(|id| {
                let (id, stop, lab, latest, samples) =
                    (*id, stop.clone(), lab.clone(), latest.clone(), samples.clone());
                std::thread::spawn(move || {
                    let remote = lab.node(id).unwrap();
                    let mut times = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let reading = match read_corosync(&remote).quorum() {
                            Some(quorum) => (quorum.quorate, quorum.member_ids()),
                            None => (false, Vec::new()),
                        };
                        let at = began.elapsed();
                        times.push(at);
                        let mut latest = latest.lock().unwrap();
                        latest.insert(id, reading);
                        let sample: Sample = latest
                            .iter()
                            .map(|(id, (quorate, members))| (*id, *quorate, members.clone()))
                            .collect();
                        samples.lock().unwrap().push((at, sample));
                        drop(latest);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    times
                })
            })
            .collect();
        Monitor {
            stop,
            handles,
            samples,
        }
    }

    /// Stops the monitor and checks its readings: never two quorate nodes with disjoint
    /// memberships, always at least `majority` quorate nodes (once every node was read).
    /// Returns the number of readings, the median and the largest gap between two readings
    /// of one node.
    pub(crate) fn finish(mut self, majority: usize) -> (usize, Duration, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let mut gaps = Vec::new();
        for handle in self.handles.drain(..) {
            let times = handle.join().unwrap();
            gaps.extend(times.windows(2).map(|window| window[1] - window[0]));
        }
        gaps.sort();
        let samples = self.samples.lock().unwrap().clone();
        let nodes = samples.last().map_or(0, |(_, sample)| sample.len());
        for (at, sample) in &samples {
            let quorate: Vec<&(u32, bool, Vec<u32>)> =
                sample.iter().filter(|(_, quorate, _)| *quorate).collect();
            for a in &quorate {
                for b in &quorate {
                    assert!(
                        a.2.iter().any(|id| b.2.contains(id)),
                        "split-brain at {at:?}: {sample:?}"
                    );
                }
            }
            if sample.len() == nodes {
                assert!(quorate.len() >= majority, "quorum lost at {at:?}: {sample:?}");
            }
        }
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or_default();
        (samples.len(), median, gaps.last().copied().unwrap_or_default())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Runs apply in-process with `--yes --format json`; returns the exit code and events.
pub(crate) fn apply(plan_path: &Path, inventory: &str, extra: &[&str]) -> (u8, Vec<Value>, String) {
    let plan_text = plan_path.to_string_lossy().into_owned();
    let mut args = vec![
        "apply",
        &plan_text,
        "--inventory",
        inventory,
        "--yes",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = quorate(&args);
    let events = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (code, events, format!("{out}\n{err}"))
}

pub(crate) fn done_figures(events: &[Value]) -> (f64, f64) {
    let steps: Vec<String> = events
        .iter()
        .filter(|event| event["event"] == "step_done")
        .map(|event| format!("{}:{}ms", event["step"], event["elapsed_ms"]))
        .collect();
    eprintln!("step wall times: {}", steps.join(" "));
    let done = events
        .iter()
        .find(|event| event["event"] == "done")
        .expect("a done event");
    (
        done["took_ms"].as_f64().unwrap() / 1000.0,
        done["floor_ms"].as_f64().unwrap() / 1000.0,
    )
}

fn node_file(dir: &Path, node: &str, file: &str) -> Vec<u8> {
    std::fs::read(dir.join("nodes").join(node).join("etc-corosync").join(file)).unwrap_or_default()
}

/// Asserts that each of `nodes` holds a corosync.conf whose SHA-256 is `sha`.
pub(crate) fn assert_files(dir: &Path, nodes: &[&str], sha: &str) {
    for node in nodes {
        assert_eq!(sha256_hex(&node_file(dir, node, "corosync.conf")), sha, "{node}");
    }
}

/// The nodes of `quorate status --inventory INV --format json`, which must come to succeed:
/// no drift, every node reached. apply's last step ends when every node shows the target's
/// members, quorum and file; corosync applies a reload on each node as its message arrives,
/// so a node's runtime keys or the config_versions it records for its peers can still lag for
/// a moment (a CI run once saw exit 1 right after a readdress plan and never again). A few
/// readings over up to 10 s are allowed; every one that is not clean is printed with its
/// drift, and if none is clean the assertion names the drift first.
pub(crate) fn status_nodes(inventory: &str) -> Vec<Value> {
    let mut last = String::new();
    for attempt in 0..10 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        let (code, out, err) = quorate(&["status", "--inventory", inventory, "--format", "json"]);
        let status: Value =
            serde_json::from_str(&out).unwrap_or_else(|error| panic!("{error}: {out}\n{err}"));
        if code == 0 {
            return status["nodes"].as_array().unwrap().clone();
        }
        let unreachable: Vec<String> = status["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|node| node["reachable"] != true)
            .map(|node| format!("{}: {}", node["name"], node["error"]))
            .collect();
        last = format!(
            "status exit {code} (attempt {}): drift {}; unreachable {unreachable:?}\n{err}",
            attempt + 1,
            status["drift_messages"]
        );
        eprintln!("{last}");
    }
    panic!("status never came clean: {last}");
}

/// How many `systemctl restart corosync` commands a run's events show.
pub(crate) fn restart_count(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|event| event["event"] == "command" && event["command"] == "systemctl restart corosync")
        .count()
}

#[test]
fn apply_rolls_wait_for_all_through_a_running_cluster_after_refusing_drift() {
    if !crate::support::reality_available("apply (rolling restart) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-roll");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from
        .replace("  version: 2\n", "  version: 2\n  config_version: 2\n")
        .replace(
            "provider: corosync_votequorum\n",
            "provider: corosync_votequorum\n  wait_for_all: 1\n",
        );
    assert_ne!(from, to);
    let b = sha256_hex(to.as_bytes());
    let all = ["n1", "n2", "n3"];
    // The planner's plan: write everywhere, restart one node at a time (wait_for_all is
    // read at startup only), wait.
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let plan: Value = serde_json::from_str(&plan_text).unwrap();
    let actions = actions_of(&plan_text);
    assert_eq!(actions, ["write_config", "restart", "restart", "restart", "wait"]);
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, &plan_text).unwrap();

    // Drift: n2's file changed by hand after planning: refused before anything is touched.
    let n2_conf = dir.join("nodes/n2/etc-corosync/corosync.conf");
    std::fs::write(&n2_conf, format!("{from}# by hand\n")).unwrap();
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    assert_eq!(code, 1, "{all_output}");
    let problems = events[0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{all_output}");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("n2: /etc/corosync/corosync.conf is not the file the plan starts from"),
        "{all_output}"
    );
    let diff = problems[0]["diff"].as_array().unwrap();
    assert_eq!(diff.last(), Some(&json!("+ # by hand")), "{all_output}");
    assert!(
        diff.iter().all(|line| !line.as_str().unwrap().starts_with('-')),
        "{all_output}"
    );
    assert_eq!(node_file(&dir, "n1", "corosync.conf"), from.as_bytes());
    for node in all {
        let backups = dir.join("nodes").join(node).join("var-lib-quorate");
        assert_eq!(
            std::fs::read_dir(&backups).unwrap().count(),
            0,
            "{node} was touched"
        );
    }
    std::fs::write(&n2_conf, &from).unwrap();

    // The dry run lists the commands and changes nothing.
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--dry-run"]);
    assert_eq!(code, 0, "{all_output}");
    let dry: Vec<&Value> = events
        .iter()
        .filter(|event| event["event"] == "command")
        .collect();
    assert_eq!(dry.len(), 3 + 3, "{all_output}");
    assert!(dry.iter().all(|event| event["dry_run"] == true));
    assert_eq!(node_file(&dir, "n3", "corosync.conf"), from.as_bytes());

    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    let (readings, median, gap) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply rolling wait_for_all on 3 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    let floor_ms = events.iter().find(|event| event["event"] == "done").unwrap()["floor_ms"].clone();
    assert_eq!(floor_ms, json!(3 * 8030));
    // End state: every file the target, every node a member, quorate, WaitForAll in force.
    for node in all {
        assert_eq!(sha256_hex(&node_file(&dir, node, "corosync.conf")), b, "{node}");
        let backup = dir
            .join("nodes")
            .join(node)
            .join("var-lib-quorate/backup")
            .join(plan["plan_sha256"].as_str().unwrap())
            .join("etc_corosync_corosync.conf");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), from, "{node}'s backup");
    }
    for node in status_nodes(&inventory) {
        let quorum = &node["corosync"]["quorum"];
        assert_eq!(quorum["quorate"], true, "{node}");
        assert_eq!(quorum["expected_votes"], 3);
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]));
        assert!(
            quorum["flags"].as_array().unwrap().contains(&json!("WaitForAll")),
            "{node}"
        );
    }
    // The journal recorded every step as verified and the run as done; a second run is refused.
    let journal = std::fs::read_to_string(dir.join("plan.json.journal")).unwrap();
    assert_eq!(
        journal.matches("\"record\":\"step_verified\"").count(),
        5,
        "{journal}"
    );
    assert!(
        journal
            .lines()
            .last()
            .unwrap()
            .starts_with("{\"record\":\"done\""),
        "{journal}"
    );
    let (code, _, all_output) = apply(&plan_path, &inventory, &[]);
    assert_eq!(code, 1, "{all_output}");
    assert!(
        all_output.contains("shows this plan applied already"),
        "{all_output}"
    );
}

#[test]
fn apply_adds_a_fourth_node_copying_the_authkey_node_to_node() {
    if !crate::support::reality_available("apply (add a node) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-add");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3", "--spare", "1"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from.replace("  version: 2\n", "  version: 2\n  config_version: 2\n").replace(
        "    ring0_addr: 198.18.0.3\n  }\n",
        "    ring0_addr: 198.18.0.3\n  }\n  node {\n    name: n4\n    nodeid: 4\n    ring0_addr: 198.18.0.4\n  }\n",
    );
    assert!(to.contains("name: n4"), "{to}");
    let b = sha256_hex(to.as_bytes());
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let actions = actions_of(&plan_text);
    assert_eq!(
        actions,
        [
            "write_config",
            "reload",
            "install_authkey",
            "enable",
            "start",
            "wait"
        ]
    );
    let plan_path = dir.join("add.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    let (readings, median, gap) = monitor.finish(3);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply add n4 to 3 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    // The key reached n4 intact, mode 0400, and appears in nothing apply printed or wrote.
    let key = node_file(&dir, "n1", "authkey");
    assert_eq!(key.len(), 256);
    assert_eq!(node_file(&dir, "n4", "authkey"), key);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("nodes/n4/etc-corosync/authkey"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    let journal = std::fs::read(dir.join("add.json.journal")).unwrap();
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    for haystack in [all_output.as_bytes(), journal.as_slice()] {
        assert!(
            !haystack.windows(16).any(|window| window == &key[..16]),
            "raw key bytes leaked"
        );
        let text = String::from_utf8_lossy(haystack).to_lowercase();
        assert!(!text.contains(&hex[..32]), "the key leaked in hex");
    }
    let status_dir: BTreeSet<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.len() < 1 << 20)
        })
        .filter(|entry| {
            std::fs::read(entry.path())
                .is_ok_and(|bytes| bytes.windows(32).any(|window| window == &key[..32]))
        })
        .map(|entry| entry.path().display().to_string())
        .collect();
    assert!(status_dir.is_empty(), "the key was written to {status_dir:?}");
    for node in status_nodes(&inventory) {
        assert_eq!(node["corosync"]["quorum"]["quorate"], true, "{node}");
        assert_eq!(node["corosync"]["quorum"]["expected_votes"], 4, "{node}");
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3, 4]), "{node}");
        assert_eq!(node["corosync_conf"]["sha256"], json!(b), "{node}");
    }
}

/// The planner's plan for `from` → `to`, as the JSON file apply reads.
fn planned(from: &str, to: &str, options: &planner::PlanOptions) -> String {
    let from = planner::Endpoint {
        name: "from.conf".into(),
        text: from.into(),
    };
    let to = planner::Endpoint {
        name: "to.conf".into(),
        text: to.into(),
    };
    match planner::plan(Some(&from), &to, options).unwrap() {
        planner::PlanOutcome::Found(plan) => serde_json::to_string_pretty(&plan).unwrap(),
        planner::PlanOutcome::NoSafePlan(none) => panic!("no safe plan: {none:?}"),
    }
}

#[test]
fn apply_reads_every_plan_the_planner_writes() {
    let from =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/apply/lab3.conf")).unwrap();
    let wait_for_all = from
        .replace("  version: 2\n", "  version: 2\n  config_version: 2\n")
        .replace(
            "provider: corosync_votequorum\n",
            "provider: corosync_votequorum\n  wait_for_all: 1\n",
        );
    let fourth = from.replace("  version: 2\n", "  version: 2\n  config_version: 2\n").replace(
        "    ring0_addr: 198.18.0.3\n  }\n",
        "    ring0_addr: 198.18.0.3\n  }\n  node {\n    name: n4\n    nodeid: 4\n    ring0_addr: 198.18.0.4\n  }\n",
    );
    for (name, to, options) in [
        ("wait_for_all", &wait_for_all, planner::PlanOptions::default()),
        ("add n4", &fourth, planner::PlanOptions::default()),
        (
            "rolling restart",
            &from,
            planner::PlanOptions {
                rolling_restart: true,
                ..Default::default()
            },
        ),
    ] {
        let text = planned(&from, to, &options);
        let plan = executor::apply::plan::Plan::from_json(&text, Path::new(name))
            .unwrap_or_else(|error| panic!("{name}: {error}\n{text}"));
        let actions: Vec<&str> = plan.steps.iter().map(|step| step.action.as_str()).collect();
        eprintln!("{name}: {actions:?}");
        assert!(!plan.steps.is_empty(), "{name}");
        assert_eq!(plan.config_text(&plan.to_sha256), Some(plan.to_config.as_str()));
    }
}

#[test]
fn apply_refuses_a_plan_edited_after_planning_before_contacting_any_node() {
    let from =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/apply/lab3.conf")).unwrap();
    let to = from.replace(
        "  version: 2\n",
        "  version: 2\n  config_version: 2\n  token: 4000\n",
    );
    let text = planned(&from, &to, &planner::PlanOptions::default());
    let path = std::env::temp_dir().join(format!("quorate-apply-edited-{}.json", std::process::id()));
    let path_text = path.to_string_lossy().into_owned();
    // As the planner wrote it, the plan passes and apply goes on to read the inventory.
    std::fs::write(&path, &text).unwrap();
    let (code, out, err) = quorate(&[
        "apply",
        &path_text,
        "--inventory",
        "/nonexistent/inventory.toml",
        "--yes",
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("/nonexistent/inventory.toml"), "{err}");
    let mut value: Value = serde_json::from_str(&text).unwrap();
    // A hand edit: a longer timeout for the reload, plan_sha256 left as it was.
    let timeout = value["steps"][1]["timeout_ms"].as_u64().unwrap();
    value["steps"][1]["timeout_ms"] = json!(timeout * 4);
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    // The inventory does not exist: the refusal comes before it is read (that would exit 2).
    let (code, out, err) = quorate(&[
        "apply",
        &path_text,
        "--inventory",
        "/nonexistent/inventory.toml",
        "--yes",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.starts_with("preflight refused; nothing was changed:\n"),
        "{out}"
    );
    assert!(
        out.contains("the plan's content does not match its plan_sha256"),
        "{out}"
    );
    assert!(
        out.contains(&format!("`quorate plan verify {path_text}`")),
        "{out}"
    );
}

#[test]
fn apply_forms_a_cluster_from_bare_nodes() {
    if !crate::support::reality_available("apply (form a cluster) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-form");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3", "--no-start"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let to = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let b = sha256_hex(to.as_bytes());
    let end = planner::Endpoint {
        name: "corosync.conf".into(),
        text: to.clone(),
    };
    let planner::PlanOutcome::Found(found) =
        planner::plan(None, &end, &planner::PlanOptions::default()).unwrap()
    else {
        panic!("no plan to form the lab's cluster");
    };
    let plan_text = serde_json::to_string_pretty(&found).unwrap();
    let actions: Vec<&str> = found.steps.iter().map(|step| step.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "write_config",
            "generate_authkey",
            "install_authkey",
            "enable",
            "start",
            "wait"
        ]
    );
    let plan_path = dir.join("form.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    // Nothing runs before the start: no majority to keep, only no split-brain.
    let (readings, median, gap) = monitor.finish(0);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply form 3 bare lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    // One key, generated on n1, the same on every node, 0400, in nothing apply printed or wrote.
    let key = node_file(&dir, "n1", "authkey");
    assert!(key.len() >= 128, "corosync-keygen wrote {} bytes", key.len());
    let journal = std::fs::read(dir.join("form.json.journal")).unwrap();
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    for node in ["n2", "n3"] {
        assert_eq!(node_file(&dir, node, "authkey"), key, "{node}");
    }
    for haystack in [all_output.as_bytes(), journal.as_slice()] {
        assert!(
            !haystack.windows(16).any(|window| window == &key[..16]),
            "raw key bytes leaked"
        );
        assert!(
            !String::from_utf8_lossy(haystack)
                .to_lowercase()
                .contains(&hex[..32]),
            "the key leaked in hex"
        );
    }
    for node in status_nodes(&inventory) {
        assert_eq!(node["corosync"]["quorum"]["quorate"], true, "{node}");
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]), "{node}");
        assert_eq!(node["corosync_conf"]["sha256"], json!(b), "{node}");
        assert_eq!(node["authkey"]["mode"], "400", "{node}");
    }
}

#[test]
fn corosync_killed_mid_plan_stops_apply_and_resume_finishes_once_it_is_back() {
    if !crate::support::reality_available("apply with corosync killed on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-kill");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from
        .replace("  version: 2\n", "  version: 2\n  config_version: 2\n")
        .replace(
            "provider: corosync_votequorum\n",
            "provider: corosync_votequorum\n  wait_for_all: 1\n",
        );
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let journal_path = dir.join("plan.json.journal");
    let monitor = Monitor::start(&dir);
    // n3's corosync is killed as soon as the first step (the writes) starts.
    let killer = {
        let (dir, journal_path) = (dir.clone(), journal_path.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !std::fs::read_to_string(&journal_path)
                .unwrap_or_default()
                .contains("\"record\":\"step_started\"")
            {
                assert!(Instant::now() < deadline, "apply never started a step");
                std::thread::sleep(Duration::from_millis(10));
            }
            lab(
                &dir,
                &[
                    "exec",
                    "n3",
                    "--",
                    "sh",
                    "-c",
                    "kill -KILL $(cat /run/corosync.pid)",
                ],
            );
        })
    };
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    killer.join().unwrap();
    assert_eq!(code, 1, "{all_output}");
    let failed = events
        .iter()
        .find(|event| event["event"] == "failed")
        .expect("a failed event");
    assert_eq!(failed["step"], 1, "{all_output}");
    let differences = failed["differences"].to_string();
    assert!(
        differences.contains("running: expected n1,n2,n3, is n1,n2"),
        "{all_output}"
    );
    assert!(
        failed["resume"].as_str().unwrap().ends_with("--resume"),
        "{all_output}"
    );
    // Nothing was restarted; the survivors kept quorum.
    assert!(
        !all_output.contains("systemctl restart corosync\""),
        "{all_output}"
    );
    // corosync back on n3 (with the new file, which it was given before the kill), then resume.
    lab(&dir, &["exec", "n3", "--", "systemctl", "start", "corosync"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, out, _) = quorate(&["status", "--inventory", &inventory, "--format", "json"]);
        let status: Value = serde_json::from_str(&out).unwrap();
        let joined = status["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|node| node["runtime"]["members"] == json!([1, 2, 3]));
        if joined {
            break;
        }
        assert!(Instant::now() < deadline, "n3 did not rejoin: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    let (readings, _, _) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    // The writes were done: resume found step 1 done and went on at step 2.
    assert_eq!(events[0]["start_step"], 2, "{all_output}");
    assert!(readings > 0);
    assert_files(&dir, &["n1", "n2", "n3"], &sha256_hex(to.as_bytes()));
}

#[test]
fn a_full_disk_fails_the_write_keeps_the_old_file_and_resume_redoes_it() {
    if !crate::support::reality_available("apply with a full disk on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-full");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from.replace(
        "  version: 2\n",
        "  version: 2\n  config_version: 2\n  token: 4000\n",
    );
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let actions = actions_of(&plan_text);
    assert_eq!(actions, ["write_config", "reload", "wait"]);
    let plan_path = dir.join("token.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    // n2's /etc/corosync becomes a small tmpfs holding its files.
    let shrink = "set -e; mkdir -p /run/keep; cp -a /etc/corosync/. /run/keep/; \
                  mount -t tmpfs -o size=256k,mode=0755 qlab-full /etc/corosync; cp -a /run/keep/. /etc/corosync/";
    lab(&dir, &["exec", "n2", "--", "sh", "-c", shrink]);
    let fill = "dd if=/dev/zero of=/etc/corosync/fill bs=4k 2>/dev/null; true";
    // Full already: the preflight refuses, nothing is touched.
    lab(&dir, &["exec", "n2", "--", "sh", "-c", fill]);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    assert_eq!(code, 1, "{all_output}");
    assert!(
        events[0]["problems"]
            .to_string()
            .contains("n2: /etc/corosync has 0 KiB free"),
        "{all_output}"
    );
    // Filled after the preflight passed: n2's write fails, its old file stays whole.
    lab(&dir, &["exec", "n2", "--", "rm", "-f", "/etc/corosync/fill"]);
    let journal_path = dir.join("token.json.journal");
    let filler = {
        let (dir, journal_path) = (dir.clone(), journal_path.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !std::fs::read_to_string(&journal_path)
                .unwrap_or_default()
                .contains("\"record\":\"begin\"")
            {
                assert!(Instant::now() < deadline, "apply never began");
                std::thread::sleep(Duration::from_millis(5));
            }
            lab(&dir, &["exec", "n2", "--", "sh", "-c", fill]);
        })
    };
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    filler.join().unwrap();
    assert_eq!(code, 1, "{all_output}");
    let failed = events
        .iter()
        .find(|event| event["event"] == "failed")
        .expect("a failed event");
    assert_eq!(
        (failed["step"].clone(), failed["phase"].clone()),
        (json!(1), json!("command")),
        "{all_output}"
    );
    assert!(
        failed["message"].as_str().unwrap().starts_with("n2: "),
        "{all_output}"
    );
    let n2_conf = || lab(&dir, &["exec", "n2", "--", "cat", "/etc/corosync/corosync.conf"]);
    assert_eq!(n2_conf(), from, "n2's old file is intact");
    let listing = lab(&dir, &["exec", "n2", "--", "ls", "-a", "/etc/corosync"]);
    assert!(
        !listing.contains("quorate-"),
        "a temporary file remained: {listing}"
    );
    // Room again: resume redoes the partly written step and finishes.
    lab(&dir, &["exec", "n2", "--", "rm", "-f", "/etc/corosync/fill"]);
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    assert_eq!(code, 0, "{all_output}");
    assert_eq!(events[0]["start_step"], 1, "{all_output}");
    assert_eq!(n2_conf(), to);
    status_nodes(&inventory);
}

#[test]
fn apply_restarts_five_nodes_one_at_a_time() {
    if !crate::support::reality_available("apply (rolling restart of 5) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-five");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "5"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let options = planner::PlanOptions {
        rolling_restart: true,
        ..Default::default()
    };
    let plan_text = planned(&from, &from, &options);
    assert_eq!(
        actions_of(&plan_text),
        ["restart", "restart", "restart", "restart", "restart", "wait"]
    );
    let plan_path = dir.join("restart.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    let (readings, median, gap) = monitor.finish(4);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply rolling restart of 5 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    // Five restarts of a 5-node cluster: 5 x (4950 + 5940) ms.
    assert_eq!(
        events.iter().find(|event| event["event"] == "done").unwrap()["floor_ms"],
        json!(5 * 10890)
    );
    for node in status_nodes(&inventory) {
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3, 4, 5]), "{node}");
    }
}

#[test]
fn sigterm_during_a_plan_stops_after_the_action_in_flight_and_resume_finishes() {
    if !crate::support::reality_available("apply interrupted on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-term");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from.replace(
        "  version: 2\n",
        "  version: 2\n  config_version: 2\n  token: 4000\n",
    );
    let plan_path = dir.join("token.json");
    std::fs::write(&plan_path, planned(&from, &to, &planner::PlanOptions::default())).unwrap();
    let plan_text = plan_path.to_string_lossy().into_owned();
    // The real binary, so that the signal reaches apply alone.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args([
            "apply",
            &plan_text,
            "--inventory",
            &inventory,
            "--yes",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut signalled = false;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.unwrap();
        // SIGTERM while the writes of step 1 are in flight.
        if !signalled && line.contains("\"event\":\"command\"") {
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            signalled = true;
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let output = lines.join("\n");
    assert_eq!(status.code(), Some(130), "{output}");
    assert!(output.contains("\"event\":\"interrupted\""), "{output}");
    assert!(!output.contains("\"event\":\"done\""), "{output}");
    let journal = std::fs::read_to_string(dir.join("token.json.journal")).unwrap();
    assert!(
        journal
            .lines()
            .last()
            .unwrap()
            .starts_with("{\"record\":\"stopped\""),
        "{journal}"
    );
    // Every node holds the old or the new file, whole.
    let (old, new) = (sha256_hex(from.as_bytes()), sha256_hex(to.as_bytes()));
    for node in ["n1", "n2", "n3"] {
        let sha = sha256_hex(&node_file(&dir, node, "corosync.conf"));
        assert!(sha == old || sha == new, "{node} holds neither file");
    }
    let (code, _, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    assert_eq!(code, 0, "{all_output}");
    assert_files(&dir, &["n1", "n2", "n3"], &new);
}

#[test]
fn apply_removes_a_node_that_leaves_before_the_reload() {
    if !crate::support::reality_available("apply (remove a node) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-remove");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "4"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let start = from.find("  node {\n    name: n4").unwrap();
    let end = start + from[start..].find("  }\n").unwrap() + 4;
    let to = format!("{}{}", &from[..start], &from[end..])
        .replace("  version: 2\n", "  version: 2\n  config_version: 2\n");
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let actions = actions_of(&plan_text);
    assert_eq!(actions, ["write_config", "leave", "reload", "wait"]);
    let plan_path = dir.join("remove.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    let (readings, median, gap) = monitor.finish(3);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply remove n4 from 4 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    let (_, out, err) = quorate(&["status", "--inventory", &inventory, "--format", "json"]);
    let status: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    for node in status["nodes"].as_array().unwrap() {
        if node["name"] == "n4" {
            assert_eq!(node["corosync"]["state"], "stopped", "{node}");
            continue;
        }
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]), "{node}");
        assert_eq!(node["corosync"]["quorum"]["expected_votes"], 3, "{node}");
        assert_eq!(
            node["corosync_conf"]["sha256"],
            json!(sha256_hex(to.as_bytes())),
            "{node}"
        );
    }
    // n4 keeps its old file and is disabled; status says its file differs (it left the cluster).
    assert!(
        status["drift_messages"]
            .to_string()
            .contains("/etc/corosync/corosync.conf differs between nodes"),
        "{out}"
    );
    let enabled = lab(
        &dir,
        &[
            "exec",
            "n4",
            "--",
            "sh",
            "-c",
            "systemctl is-enabled corosync || true",
        ],
    );
    assert_eq!(enabled.trim(), "disabled");
}

/// Waits (at most 60 s) until `quorate status` shows every node with membership `members`.
fn wait_members(inventory: &str, members: &Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, out, _) = quorate(&["status", "--inventory", inventory, "--format", "json"]);
        let joined = serde_json::from_str::<Value>(&out).is_ok_and(|status| {
            status["nodes"]
                .as_array()
                .is_some_and(|nodes| nodes.iter().all(|node| node["runtime"]["members"] == *members))
        });
        if joined {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not all show {members}: {out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (at most 120 s) until the journal at `path` holds a `record` for step `step`.
fn wait_journal(path: &Path, record: &str, step: u32) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .any(|line| {
                serde_json::from_str::<Value>(line)
                    .is_ok_and(|value| value["record"] == record && value["step"] == step)
            });
        if seen {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {record} record for step {step} in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The planner's `set quorum.wait_for_all=1` plan for the lab's 3-node config (write, then
/// restart n1, n2, n3 one at a time, wait), written to `DIR/NAME`; returns it and the target.
/// `(action, nodes)` per step of a plan's JSON.
pub(crate) fn steps(plan: &Value) -> Vec<(String, Value)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            (
                step["action"].as_str().unwrap().to_string(),
                step["nodes"].clone(),
            )
        })
        .collect()
}

fn wait_for_all_plan(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from
        .replace("  version: 2\n", "  version: 2\n  config_version: 2\n")
        .replace(
            "provider: corosync_votequorum\n",
            "provider: corosync_votequorum\n  wait_for_all: 1\n",
        );
    let plan_text = planned(&from, &to, &planner::PlanOptions::default());
    let plan: Value = serde_json::from_str(&plan_text).unwrap();
    assert_eq!(
        steps(&plan),
        [
            ("write_config".to_string(), json!(["n1", "n2", "n3"])),
            ("restart".to_string(), json!(["n1"])),
            ("restart".to_string(), json!(["n2"])),
            ("restart".to_string(), json!(["n3"])),
            ("wait".to_string(), json!(["n1", "n2", "n3"])),
        ]
    );
    let plan_path = dir.join(name);
    std::fs::write(&plan_path, &plan_text).unwrap();
    (plan_path, to)
}

/// The failed event of a run.
fn failed_event(events: &[Value], all_output: &str) -> Value {
    events
        .iter()
        .find(|event| event["event"] == "failed")
        .unwrap_or_else(|| panic!("no failed event: {all_output}"))
        .clone()
}

#[test]
fn sshd_killed_on_a_node_mid_plan_stops_apply_naming_it_and_resume_finishes_once_it_is_back() {
    if !crate::support::reality_available("apply with sshd killed on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-sshd");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let (plan_path, to) = wait_for_all_plan(&dir, "plan.json");
    let journal_path = dir.join("plan.json.journal");
    let monitor = Monitor::start(&dir);
    // n3's sshd dies, listener and apply's own connection, once n1's restart (step 2) began.
    let killer = {
        let (dir, journal_path) = (dir.clone(), journal_path.clone());
        std::thread::spawn(move || {
            wait_journal(&journal_path, "step_started", 2);
            let mut lab = Lab::open(&dir).unwrap();
            lab.kill_sshd(3).unwrap()
        })
    };
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    let killed = killer.join().unwrap();
    // The listener and at least the connection of apply's ControlMaster.
    assert!(killed >= 2, "killed {killed} sshd processes");
    assert_eq!(code, 1, "{all_output}");
    let failed = failed_event(&events, &all_output);
    assert_eq!(
        (failed["step"].clone(), failed["phase"].clone()),
        (json!(2), json!("postcondition")),
        "{all_output}"
    );
    let message = failed["message"].as_str().unwrap();
    assert!(message.starts_with("step 2: lost n3: "), "{all_output}");
    assert!(
        failed["resume"].as_str().unwrap().ends_with("--resume"),
        "{all_output}"
    );
    // Nothing went on after the loss: n2 and n3 were not restarted.
    assert_eq!(restart_count(&events), 1, "{all_output}");
    // Nothing half-written: step 1 had written the target everywhere.
    assert_files(&dir, &["n1", "n2", "n3"], &sha256_hex(to.as_bytes()));
    // While n3 cannot be reached, a resume is refused before anything runs.
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    assert_eq!(code, 1, "{all_output}");
    assert!(events[0]["problems"].to_string().contains("n3"), "{all_output}");
    // sshd back on n3: the cluster (n1 back from its restart) and resume finishes.
    Lab::open(&dir).unwrap().restart_sshd(3).unwrap();
    wait_members(&inventory, &json!([1, 2, 3]));
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    let (readings, _, _) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    // A restart's pre and post are one snapshot: the cluster shows where step 2 starts, and
    // restarting n1 once more is harmless.
    assert_eq!(events[0]["start_step"], 2, "{all_output}");
    assert!(readings > 0);
    for node in status_nodes(&inventory) {
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]), "{node}");
        assert_eq!(
            node["corosync_conf"]["sha256"],
            json!(sha256_hex(to.as_bytes())),
            "{node}"
        );
        assert!(
            node["corosync"]["quorum"]["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("WaitForAll")),
            "{node}"
        );
    }
}

#[test]
fn a_partition_mid_plan_stops_apply_at_the_postcondition_and_resume_finishes_after_heal() {
    if !crate::support::reality_available("apply with a partition on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-part");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let (plan_path, to) = wait_for_all_plan(&dir, "plan.json");
    let journal_path = dir.join("plan.json.journal");
    let monitor = Monitor::start(&dir);
    // n1 is cut off from n2 and n3 on every link as its restart (step 2) begins: it comes back
    // alone, n2 and n3 keep quorum between them.
    let splitter = {
        let (dir, journal_path) = (dir.clone(), journal_path.clone());
        std::thread::spawn(move || {
            wait_journal(&journal_path, "step_started", 2);
            let mut lab = Lab::open(&dir).unwrap();
            let groups = lab.parse_partition("1|2,3").unwrap();
            lab.partition(&groups, false).unwrap();
        })
    };
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    splitter.join().unwrap();
    assert_eq!(code, 1, "{all_output}");
    let failed = failed_event(&events, &all_output);
    assert_eq!(
        (failed["step"].clone(), failed["phase"].clone()),
        (json!(2), json!("postcondition")),
        "{all_output}"
    );
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .starts_with("step 2 did not reach its postcondition within "),
        "{all_output}"
    );
    assert!(
        failed["differences"]
            .to_string()
            .contains("memberships: expected [n1,n2,n3], are [n1] [n2,n3]"),
        "{all_output}"
    );
    assert_eq!(restart_count(&events), 1, "only n1 was restarted: {all_output}");
    assert_files(&dir, &["n1", "n2", "n3"], &sha256_hex(to.as_bytes()));
    // Healed: one membership again, then resume finishes the plan. (`lab heal` does not wait:
    // the lab's own wait expects the corosync it started, and apply restarted n1's.)
    lab(&dir, &["heal", "--no-wait"]);
    wait_members(&inventory, &json!([1, 2, 3]));
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    let (readings, _, _) = monitor.finish(2);
    assert_eq!(code, 0, "{all_output}");
    assert_eq!(events[0]["start_step"], 2, "{all_output}");
    assert!(readings > 0);
    for node in status_nodes(&inventory) {
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]), "{node}");
        assert_eq!(
            node["corosync_conf"]["sha256"],
            json!(sha256_hex(to.as_bytes())),
            "{node}"
        );
    }
}

/// A `sync` in front of the real one on node `node` (its /usr/local/sbin is the lab's
/// `nodes/NODE/sbin`): syncing apply's temporary corosync.conf (between filling it and the
/// rename) leaves a marker in the node's log directory and takes 2 s, so that a signal sent
/// on the marker lands while that write is in flight.
fn slow_write_on(dir: &Path, node: &str) -> std::path::PathBuf {
    let sync = dir.join("nodes").join(node).join("sbin/sync");
    std::fs::write(
        &sync,
        "#!/bin/sh\ncase \"$*\" in *.corosync.conf.quorate-*) touch /var/log/corosync/write-in-flight; sleep 2;; esac\nexec /bin/sync \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sync, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.join("nodes")
        .join(node)
        .join("var-log-corosync/write-in-flight")
}

/// Runs the real binary's apply of `plan_path` in a process group of its own and sends it
/// SIGINT once `marker` shows a write in flight: to apply alone (as `kill -INT PID` does),
/// or to the whole group, as a terminal's Ctrl-C reaches apply and the ssh processes it runs.
/// Returns the exit code and stdout (with stderr after it).
fn interrupt_during_the_write(
    plan_path: &Path,
    inventory: &str,
    marker: &Path,
    whole_group: bool,
) -> (Option<i32>, String) {
    let _ = std::fs::remove_file(marker);
    let plan_text = plan_path.to_string_lossy().into_owned();
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args([
            "apply",
            &plan_text,
            "--inventory",
            inventory,
            "--yes",
            "--format",
            "json",
        ])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let target = if whole_group {
        format!("-{}", child.id())
    } else {
        child.id().to_string()
    };
    let signaller = {
        let marker = marker.to_path_buf();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !marker.exists() {
                assert!(Instant::now() < deadline, "the write never reached its sync");
                std::thread::sleep(Duration::from_millis(5));
            }
            let sent = std::process::Command::new("kill")
                .args(["-INT", "--", &target])
                .status()
                .unwrap();
            assert!(sent.success());
        })
    };
    let output = child.wait_with_output().unwrap();
    signaller.join().unwrap();
    let all_output = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), all_output)
}

/// The journal's records.
fn journal_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits (at most 30 s) until no node has a temporary file of apply's in /etc/corosync (a
/// remote write whose ssh process died goes on or is cleaned up by its own trap), then
/// checks that every node holds `old` or `new` whole; returns whether all hold `new`.
fn settled_files(dir: &Path, old: &str, new: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in ["n1", "n2", "n3"] {
        loop {
            let listing: Vec<String> = std::fs::read_dir(dir.join("nodes").join(node).join("etc-corosync"))
                .unwrap()
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            if listing.iter().all(|name| !name.contains("quorate-")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{node}: a temporary file stays: {listing:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut all_new = true;
    for node in ["n1", "n2", "n3"] {
        let sha = sha256_hex(&node_file(dir, node, "corosync.conf"));
        assert!(sha == old || sha == new, "{node} holds neither file");
        all_new &= sha == new;
    }
    all_new
}

#[test]
fn sigint_during_a_write_exits_130_with_the_resume_command_and_resume_finishes() {
    if !crate::support::reality_available("apply interrupted by SIGINT on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-int");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    let to = from.replace(
        "  version: 2\n",
        "  version: 2\n  config_version: 2\n  token: 4000\n",
    );
    let marker = slow_write_on(&dir, "n2");

    // SIGINT to apply alone while n2's write is in flight: the write finishes and is
    // recorded, then apply stops (as for SIGTERM).
    let plan_path = dir.join("token.json");
    std::fs::write(&plan_path, planned(&from, &to, &planner::PlanOptions::default())).unwrap();
    let (code, all_output) = interrupt_during_the_write(&plan_path, &inventory, &marker, false);
    assert_eq!(code, Some(130), "{all_output}");
    assert!(all_output.contains("\"event\":\"interrupted\""), "{all_output}");
    assert!(!all_output.contains("\"unfinished\""), "{all_output}");
    assert!(!all_output.contains("\"event\":\"failed\""), "{all_output}");
    assert!(all_output.contains("--resume"), "{all_output}");
    let records = journal_records(&dir.join("token.json.journal"));
    assert_eq!(records.last().unwrap()["record"], "stopped", "{records:?}");
    assert!(
        records
            .iter()
            .any(|record| record["record"] == "command_done" && record["node"] == "n2"),
        "the write in flight was recorded: {records:?}"
    );
    let (old, new) = (sha256_hex(from.as_bytes()), sha256_hex(to.as_bytes()));
    assert!(settled_files(&dir, &old, &new), "every write finished");
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    assert_eq!(code, 0, "{all_output}");
    assert_eq!(events[0]["start_step"], 2, "step 1 found done: {all_output}");

    // SIGINT to the whole process group (Ctrl-C on a terminal) during the next plan's write
    // on n2: the ssh processes die of it too, so apply cannot know how the write ended on
    // the node; it says so, exits 130, and resume reads the files and finishes.
    let again = to.replace(
        "  config_version: 2\n  token: 4000\n",
        "  config_version: 3\n  token: 5000\n",
    );
    let plan_path = dir.join("token5.json");
    std::fs::write(&plan_path, planned(&to, &again, &planner::PlanOptions::default())).unwrap();
    let (code, all_output) = interrupt_during_the_write(&plan_path, &inventory, &marker, true);
    assert_eq!(code, Some(130), "{all_output}");
    let interrupted: Value = all_output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "interrupted")
        .unwrap_or_else(|| panic!("no interrupted event: {all_output}"));
    assert!(
        interrupted["unfinished"]
            .as_str()
            .is_some_and(|unfinished| unfinished.contains("n2: `write-file /etc/corosync/corosync.conf")),
        "{all_output}"
    );
    assert!(
        interrupted["resume"].as_str().unwrap().ends_with("--resume"),
        "{all_output}"
    );
    assert!(!all_output.contains("\"event\":\"failed\""), "{all_output}");
    let records = journal_records(&dir.join("token5.json.journal"));
    assert_eq!(records.last().unwrap()["record"], "stopped", "{records:?}");
    let (old, new) = (new, sha256_hex(again.as_bytes()));
    let all_new = settled_files(&dir, &old, &new);
    std::fs::remove_file(dir.join("nodes/n2/sbin/sync")).unwrap();
    let (code, events, all_output) = apply(&plan_path, &inventory, &["--resume"]);
    assert_eq!(code, 0, "{all_output}");
    // All written: step 1 is found done; a mix of old and new: step 1 is redone.
    assert_eq!(
        events[0]["start_step"],
        if all_new { 2 } else { 1 },
        "{all_output}"
    );
    assert_files(&dir, &["n1", "n2", "n3"], &new);
    status_nodes(&inventory);
}

/// `text` with the model's edits for `goals` (as `quorate plan --goal` makes its target).
fn with_goals(text: &str, goals: &[&str]) -> String {
    let (document, _) = model::syntax::parse(text);
    let goals: Vec<model::goal::Goal> = goals
        .iter()
        .map(|goal| model::goal::parse(goal).unwrap())
        .collect();
    model::goal::apply(&document, &goals).unwrap().document.to_text()
}

/// Every step's action of a plan.
fn actions_of(plan_text: &str) -> Vec<String> {
    let plan: Value = serde_json::from_str(plan_text).unwrap();
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn apply_adds_a_second_link_then_readdresses_link_0_of_one_node() {
    if !crate::support::reality_available("apply (add a link, readdress) on a real lab") {
        return;
    }
    let guard = LabGuard::new("it-apply-link");
    let dir = guard.dir.clone();
    // One corosync link; every node also has an address on a second bridge and a spare
    // address on link 0.
    lab(
        &dir,
        &["up", "--nodes", "3", "--spare-links", "1", "--spare-addresses"],
    );
    let inventory = format!("{}/inventory.toml", guard.dir_text());
    let from = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    assert!(!from.contains("ring1_addr"), "{from}");
    let spare = executor::lab::layout::spare_address(0, 1).unwrap().to_string();
    assert_eq!(spare, "198.18.0.101");
    let addresses = lab(&dir, &["exec", "n1", "--", "ip", "-o", "addr"]);
    for address in ["198.18.0.1/24", "198.18.1.1/24", "198.18.0.101/24"] {
        assert!(addresses.contains(address), "{addresses}");
    }

    // Plan 4, first half: link 1 added (the planner's plan, applied under the monitor).
    let two_links = with_goals(&from, &["add-link 1 198.18.1.1,198.18.1.2,198.18.1.3"]);
    let plan_text = planned(&from, &two_links, &planner::PlanOptions::default());
    eprintln!("add-link plan: {:?}", actions_of(&plan_text));
    let plan_path = dir.join("add-link.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let monitor = Monitor::start(&dir);
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!("apply add link 1 on 3 lab nodes: took {took:.1} s; convergence floor {floor:.1} s");
    let links = lab(&dir, &["exec", "n2", "--", "corosync-cfgtool", "-n"]);
    assert!(
        links.contains("LINK: 1") && links.contains("198.18.1.1"),
        "n2 does not reach n1 on link 1: {links}"
    );

    // Second half: n1's link 0 moves to its spare address.
    let readdressed = with_goals(&two_links, &[&format!("readdress n1 0 {spare}")]);
    let plan_text = planned(&two_links, &readdressed, &planner::PlanOptions::default());
    eprintln!("readdress plan: {:?}", actions_of(&plan_text));
    let plan_path = dir.join("readdress.json");
    std::fs::write(&plan_path, &plan_text).unwrap();
    let (code, events, all_output) = apply(&plan_path, &inventory, &[]);
    // No restart in either plan: every node stays quorate throughout.
    let (readings, median, gap) = monitor.finish(3);
    assert_eq!(code, 0, "{all_output}");
    let (took, floor) = done_figures(&events);
    eprintln!(
        "apply readdress n1 link 0 on 3 lab nodes: took {took:.1} s; convergence floor {floor:.1} s; monitor {readings} readings, \
         per node median gap {} ms, largest {} ms",
        median.as_millis(),
        gap.as_millis()
    );
    // End state: the target's file everywhere, one membership, quorate, 3 expected votes,
    // and the peers reach n1 at its new address on link 0.
    for node in status_nodes(&inventory) {
        assert_eq!(node["runtime"]["members"], json!([1, 2, 3]), "{node}");
        assert_eq!(node["corosync"]["quorum"]["quorate"], true, "{node}");
        assert_eq!(node["corosync"]["quorum"]["expected_votes"], 3, "{node}");
        assert_eq!(
            node["corosync_conf"]["sha256"],
            json!(sha256_hex(readdressed.as_bytes())),
            "{node}"
        );
    }
    for peer in ["n2", "n3"] {
        let links = lab(&dir, &["exec", peer, "--", "corosync-cfgtool", "-n"]);
        assert!(
            links.contains(&format!("->{spare})")),
            "{peer} does not reach n1 at {spare} on link 0: {links}"
        );
    }
}
