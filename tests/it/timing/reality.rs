//! The timing model against real corosync 3.1.7 (issue 15): failure-to-new-membership and
//! the quorum decision measured on the lab, held against `quorate whatif --timeline`.
//!
//! Owns the cases (3 and 5 nodes; default token/consensus, a non-default token_coefficient,
//! an explicit consensus), their faults (SIGKILL of a node's corosync; the lab's partition
//! isolating a node, which drops its packets with iptables; its link-0 veth set down) and the
//! tolerance. Each case runs in a lab of its own (directory and name with `timing` and the
//! pid, removed by `LabGuard` also on failure), all cases at once on threads, so the test
//! takes about as long as its slowest case (about 50 s); it holds the reality suite's
//! one-lab-at-a-time lock meanwhile.
//!
//! How it measures: the fault is injected between two wall-clock readings (`FaultWindow`:
//! a few ms wide for a kill, ~0.1-0.3 s for the iptables partition), and the times of the
//! events are corosync's own, from each node's `corosync.log` written with `timestamp: hires`
//! (ms): `A new membership (...) was formed`, `[QUORUM] Members[..]`, and knet's `link ... is
//! down`. So neither a poller's latency nor its CPU use enters the figures.
//!
//! Tolerance (`EARLY_MS`, `LATE_MS`): a measurement passes when its window overlaps the
//! model's range (`earliest_ms`..`latest_ms`, or `at_ms`) widened by `EARLY_MS` below and
//! `LATE_MS` above. Load on a 2-core CI can only make corosync later (a timer fires late, a
//! token round is slow), rarely earlier, so the slack is asymmetric. The formula terms the
//! cases separate differ by more than that: consensus missing is off by >= 4 s in every case,
//! the coefficient ignored by 4.3 s on 5 nodes and 5.2 s with coefficient 3000, the default
//! consensus instead of an explicit one by 4 s. `QUORATE_TIMING_RUNS=N` repeats every fault
//! N times (default 1) and the summary line per case and event gives min/median/max, the
//! figures docs/known-limitations.md records. It must not touch any network but the labs'.

use crate::support::lab::{lab, LabGuard};
use crate::support::{quorate, reality_available};
use executor::lab::stopwatch::{FaultWindow, LogMark, MarkKind};
use executor::lab::Lab;
use serde_json::Value;
use std::time::Duration;

/// How far below the model's earliest time a measurement may be (ms): the log's ms
/// granularity and a token round slower than idle.
const EARLY_MS: i64 = 300;
/// How far above the model's latest time a measurement may be (ms): timers firing late and
/// the log line written late on a loaded 2-core machine.
const LATE_MS: i64 = 1000;
/// How long a link must have been up before knet's pong-timeout backoff is back to 1 ×.
const KNET_BACKOFF_SETTLE: Duration = Duration::from_secs(10);

/// A fault injected into a running lab, and the what-if step that predicts it.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL of the node's corosync (`down N`).
    Crash(u32),
    /// The lab's partition `others|N` (`isolate N`).
    Isolate(u32),
    /// The node's veth on link 0 set down (`link down 0 N`).
    LinkCut(u32),
}

impl Fault {
    fn script(self) -> String {
        match self {
            Fault::Crash(node) => format!("down {node}"),
            Fault::Isolate(node) => format!("isolate {node}"),
            Fault::LinkCut(node) => format!("link down 0 {node}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Isolate(_) => "partition",
            Fault::LinkCut(_) => "link cut",
        }
    }
}

/// One lab configuration and the faults injected into it, in order.
struct Case {
    /// Part of the lab name (letters only).
    name: &'static str,
    nodes: u32,
    /// Extra `totem` lines.
    totem: &'static str,
    faults: &'static [Fault],
}

const CASES: &[Case] = &[
    Case {
        name: "threedefault",
        nodes: 3,
        totem: "",
        faults: &[Fault::Crash(3), Fault::Isolate(3), Fault::LinkCut(3)],
    },
    Case {
        name: "fivedefault",
        nodes: 5,
        totem: "",
        faults: &[Fault::Crash(5)],
    },
    Case {
        name: "threecoefficient",
        nodes: 3,
        totem: "  token: 1000\n  token_coefficient: 3000\n",
        faults: &[Fault::Crash(3)],
    },
    Case {
        name: "threeconsensus",
        nodes: 3,
        totem: "  token: 1000\n  consensus: 6000\n",
        faults: &[Fault::Crash(3), Fault::Isolate(3)],
    },
];

fn config(name: &str, nodes: u32, totem: &str) -> String {
    let mut text = format!(
        "totem {{\n  version: 2\n  cluster_name: {name}\n  transport: knet\n  crypto_cipher: aes256\n  \
         crypto_hash: sha256\n{totem}}}\n\nnodelist {{\n"
    );
    for nodeid in 1..=nodes {
        text.push_str(&format!(
            "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: 10.0.0.{nodeid}\n  }}\n"
        ));
    }
    text.push_str(
        "}\n\nquorum {\n  provider: corosync_votequorum\n}\n\nlogging {\n  to_logfile: yes\n  \
         logfile: /var/log/corosync/corosync.log\n  to_syslog: no\n  to_stderr: no\n  timestamp: hires\n}\n",
    );
    text
}

/// The model's range for one event of one node: (earliest, latest) in ms.
fn model_range(event: &Value) -> (i64, i64) {
    let at = event["at_ms"].as_i64().unwrap();
    (
        event["earliest_ms"].as_i64().unwrap_or(at),
        event["latest_ms"].as_i64().unwrap_or(at),
    )
}

/// The timeline `quorate whatif --timeline` predicts for `script` on the lab's config.
fn predicted(guard: &LabGuard, script: &str) -> Vec<Value> {
    let conf = guard.dir.join("corosync.conf");
    let conf_text = conf.to_string_lossy().into_owned();
    let (code, out, err) = quorate(&[
        "whatif",
        &conf_text,
        "-s",
        script,
        "--timeline",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "whatif failed: {err}");
    let value: Value = serde_json::from_str(&out).unwrap();
    value["steps"][1]["timeline"].as_array().unwrap().clone()
}

/// One measured event of one node against the model.
#[derive(Clone, Debug)]
struct Measurement {
    case: &'static str,
    fault: &'static str,
    node: u32,
    event: &'static str,
    model: (i64, i64),
    /// (shortest, longest) delay after the fault, from the fault window.
    real: (i64, i64),
    line: String,
}

impl Measurement {
    fn holds(&self) -> bool {
        self.real.1 >= self.model.0 - EARLY_MS && self.real.0 <= self.model.1 + LATE_MS
    }

    fn midpoint(&self) -> i64 {
        (self.real.0 + self.real.1) / 2
    }
}

/// Injects `fault`, waits for the marks, and returns what the nodes it affects logged.
fn measure_once(lab_handle: &mut Lab, case: &Case, fault: Fault, model: &[Value]) -> Vec<Measurement> {
    let (window, observed): (FaultWindow, Vec<u32>) = match fault {
        Fault::Crash(node) => {
            let window = lab_handle.crash(node).unwrap();
            (window, (1..=case.nodes).filter(|id| *id != node).collect())
        }
        Fault::Isolate(node) => {
            let others: Vec<u32> = (1..=case.nodes).filter(|id| *id != node).collect();
            let groups = vec![others, vec![node]];
            let ((), window) = lab_handle
                .timed(|lab_handle| lab_handle.partition(&groups, false).map(|_| ()))
                .unwrap();
            (window, (1..=case.nodes).collect())
        }
        Fault::LinkCut(node) => {
            // knet's pong timeout is 10 × knet_ping_timeout when a link comes up and shrinks by
            // 1 × a second (libknet `_adjust_pong_timeouts`); the model's link_down is for a link
            // up that long, which a test right after a heal or formation is not.
            std::thread::sleep(KNET_BACKOFF_SETTLE);
            let ((), window) = lab_handle
                .timed(|lab_handle| lab_handle.set_link(0, &[node], false, false).map(|_| ()))
                .unwrap();
            (window, (1..=case.nodes).collect())
        }
    };
    let membership_model = model_range(
        model
            .iter()
            .find(|event| event["event"] == "membership")
            .expect("the model predicts a new membership"),
    );
    let limit = Duration::from_millis((membership_model.1 as u64) * 3 + 10_000);
    let marks = lab_handle
        .wait_marks(&observed, MarkKind::Quorum, window.before, limit)
        .unwrap();
    let mut found = Vec::new();
    for nodeid in &observed {
        let kinds: &[(MarkKind, &str)] = match fault {
            Fault::LinkCut(_) => &[
                (MarkKind::LinkDown, "link_down"),
                (MarkKind::Membership, "membership"),
                (MarkKind::Quorum, "quorum"),
            ],
            _ => &[(MarkKind::Membership, "membership"), (MarkKind::Quorum, "quorum")],
        };
        for (kind, event) in kinds {
            let first: Option<&LogMark> = marks
                .iter()
                .filter(|mark| mark.nodeid == *nodeid && mark.kind == *kind)
                .min_by_key(|mark| mark.at);
            let predicted = model
                .iter()
                .find(|entry| entry["node"] == *nodeid && entry["event"] == *event)
                .unwrap_or_else(|| panic!("{}: the model has no {event} for node {nodeid}", case.name));
            let mark = first.unwrap_or_else(|| panic!("{}: node {nodeid} logged no {event}", case.name));
            found.push(Measurement {
                case: case.name,
                fault: fault.name(),
                node: *nodeid,
                event,
                model: model_range(predicted),
                real: window.delay_ms(mark.at),
                line: mark.line.clone(),
            });
        }
    }
    found
}

/// Undoes `fault` and waits until the whole cluster is one membership again; on failure
/// the panic carries the tail of every node's corosync log.
fn recover(lab_handle: &mut Lab, fault: Fault) {
    let result = match fault {
        Fault::Crash(node) => lab_handle.start(node, true).map(|_| ()),
        Fault::Isolate(_) => lab_handle.heal(true).map(|_| ()),
        Fault::LinkCut(node) => lab_handle.set_link(0, &[node], true, true).map(|_| ()),
    };
    if let Err(error) = result {
        let mut logs = String::new();
        for node in &lab_handle.state().nodes {
            let node_dir = node.dir(lab_handle.dir());
            for file in ["var-log-corosync/corosync.log", "corosync.stderr"] {
                let text = std::fs::read_to_string(node_dir.join(file)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                logs.push_str(&format!("--- {} {file}\n", node.name));
                for line in &lines[lines.len().saturating_sub(25)..] {
                    logs.push_str(line);
                    logs.push('\n');
                }
            }
        }
        panic!("recovering from {} failed: {error}\n{logs}", fault.name());
    }
}

/// Brings up the case's lab and measures every fault `runs` times.
fn run_case(case: &Case, runs: usize) -> Vec<Measurement> {
    let (guard, path) = LabGuard::new(&format!("timing-{}", case.name))
        .with_config(&config(case.name, case.nodes, case.totem));
    lab(&guard.dir, &["up", "--config", &path.to_string_lossy()]);
    let mut lab_handle = Lab::open(&guard.dir).unwrap();
    let mut all = Vec::new();
    for fault in case.faults {
        let model = predicted(&guard, &fault.script());
        for _ in 0..runs {
            all.extend(measure_once(&mut lab_handle, case, *fault, &model));
            recover(&mut lab_handle, *fault);
        }
    }
    drop(guard);
    all
}

/// `min/median/max` of the window midpoints of `values`.
fn spread(values: &mut [i64]) -> String {
    values.sort_unstable();
    format!(
        "{}/{}/{}",
        values[0],
        values[values.len() / 2],
        values[values.len() - 1]
    )
}

#[test]
fn timing_model_against_real_corosync() {
    if !reality_available("timing_model_against_real_corosync") {
        return;
    }
    // Its own four labs run at once, but not next to the reality suite's: both are
    // timing-sensitive on a 2-core machine (a full-suite run with both at once saw a reality
    // replay read a 5-node join before it settled).
    let _one_at_a_time = crate::reality::ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runs: usize = std::env::var("QUORATE_TIMING_RUNS")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|runs| *runs > 0)
        .unwrap_or(1);
    // `QUORATE_TIMING_CASES=a,b` runs only the cases named (for measuring one alone).
    let only: Option<Vec<String>> = std::env::var("QUORATE_TIMING_CASES")
        .ok()
        .map(|text| text.split(',').map(str::to_string).collect());
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|case| {
            only.as_ref()
                .is_none_or(|names| names.iter().any(|name| name == case.name))
        })
        .collect();
    assert!(!cases.is_empty(), "QUORATE_TIMING_CASES names no case");
    let results: Vec<std::thread::Result<Vec<Measurement>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| scope.spawn(move || run_case(case, runs)))
            .collect();
        handles.into_iter().map(|handle| handle.join()).collect()
    });
    let mut measurements = Vec::new();
    let mut failed_cases = Vec::new();
    for (case, result) in cases.iter().zip(results) {
        match result {
            Ok(found) => measurements.extend(found),
            Err(_) => failed_cases.push(case.name),
        }
    }
    let mut report = format!("timing: {runs} run(s) per fault; tolerance -{EARLY_MS}/+{LATE_MS} ms\n");
    for measurement in &measurements {
        report.push_str(&format!(
            "  {:<16} {:<9} node {} {:<10} model {}..{} real {}..{} {} | {}\n",
            measurement.case,
            measurement.fault,
            measurement.node,
            measurement.event,
            measurement.model.0,
            measurement.model.1,
            measurement.real.0,
            measurement.real.1,
            if measurement.holds() { "ok" } else { "OFF" },
            measurement.line
        ));
    }
    let mut keys: Vec<(&str, &str, &str, (i64, i64))> = measurements
        .iter()
        .map(|m| (m.case, m.fault, m.event, m.model))
        .collect();
    keys.sort();
    keys.dedup();
    for (case, fault, event, model) in keys {
        let mut values: Vec<i64> = measurements
            .iter()
            .filter(|m| m.case == case && m.fault == fault && m.event == event && m.model == model)
            .map(Measurement::midpoint)
            .collect();
        report.push_str(&format!(
            "  summary {case} {fault} {event}: model {}..{} ms, real min/median/max {} ms over {} reading(s)\n",
            model.0,
            model.1,
            spread(&mut values),
            values.len()
        ));
    }
    eprint!("{report}");
    assert!(
        failed_cases.is_empty(),
        "cases failed: {failed_cases:?}\n{report}"
    );
    let off: Vec<&Measurement> = measurements.iter().filter(|m| !m.holds()).collect();
    assert!(
        off.is_empty(),
        "the model is off for {} reading(s):\n{report}",
        off.len()
    );
}
