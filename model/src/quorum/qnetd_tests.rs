//! The engine with qnetd deciding the device's vote: spec 7.5's vectors (TV43-TV48) and the
//! qdevice side's rules (disconnect, changes while disconnected), through scenario scripts.

use super::settings::{DeviceSettings, QuorumSettings};
use super::ClusterState;
use crate::scenario;

fn device(count: u32, algorithm: &str, votes: Option<u32>, tie_breaker: Option<&str>) -> QuorumSettings {
    QuorumSettings {
        device: Some(DeviceSettings {
            model: "net".to_string(),
            votes,
            algorithm: Some(algorithm.to_string()),
            tie_breaker: tie_breaker.map(str::to_string),
            timeout_ms: 10_000,
            sync_timeout_ms: 30_000,
            keep_active_partition_tie_breaker: true,
            heuristics: false,
        }),
        ..QuorumSettings::plain(count)
    }
}

/// After each step: `nodeid:quorate/votes` per node (votes = total votes counted, `-` when
/// down).
fn check(settings: &QuorumSettings, script: &str, expect: &[&str]) -> ClusterState {
    let mut state = ClusterState::new(settings).unwrap();
    let mut seen = Vec::new();
    for step in scenario::parse(script).unwrap().steps {
        state.apply(settings, &step);
        let views = state.views(settings);
        let row: Vec<String> = views
            .iter()
            .map(|view| {
                if view.up {
                    format!("{}:{}/{}", view.nodeid, u8::from(view.quorate), view.total_votes)
                } else {
                    format!("{}:-", view.nodeid)
                }
            })
            .collect();
        seen.push(row.join(" "));
    }
    assert_eq!(seen, expect, "script: {script}");
    state
}

fn partition_why(state: &ClusterState, members: &[u32]) -> String {
    let view = state.qnetd_view().unwrap();
    view.partitions
        .iter()
        .find(|partition| partition.members == members)
        .map(|partition| partition.why.clone())
        .unwrap_or_default()
}

#[test]
fn tv43_two_nodes_ffsplit_split_goes_to_the_lowest_node() {
    let settings = device(2, "ffsplit", Some(1), None);
    let state = check(
        &settings,
        "qnetd up; split 1:1 2:2",
        &["1:1/3 2:1/3", "1:1/2 2:0/1"],
    );
    assert_eq!(
        partition_why(&state, &[1]),
        "tie: equal halves, equal scores; lowest node id 1 is in this partition"
    );
    assert_eq!(
        partition_why(&state, &[2]),
        "tie: equal halves, equal scores; lowest node id 1 is not in this partition"
    );
}

#[test]
fn tv44_ffsplit_node_cut_from_qnetd_loses_the_tie() {
    let settings = device(2, "ffsplit", Some(1), None);
    let state = check(
        &settings,
        "qnetd cut 1; split 1:1 2:2; heal",
        &["1:1/2 2:1/3", "1:0/1 2:1/2", "1:1/3 2:1/3"],
    );
    assert_eq!(
        partition_why(&state, &[1, 2]),
        "2 of 2 configured nodes: more than half"
    );
}

#[test]
fn ffsplit_qnetd_down_then_a_node_down() {
    // Both NACK at once when qnetd goes away; 2 of 3 votes still make quorum, 1 does not.
    let settings = device(2, "ffsplit", Some(1), None);
    let state = check(
        &settings,
        "qnetd down; down 2; qnetd up",
        &["1:1/2 2:1/2", "1:0/1 2:-", "1:1/2 2:-"],
    );
    assert_eq!(
        partition_why(&state, &[1]),
        "1 of 2 configured nodes: half, and no node of the other half reaches qnetd"
    );
}

#[test]
fn tv45_heuristics_decide_equal_halves() {
    let mut settings = device(4, "ffsplit", Some(1), None);
    if let Some(device) = settings.device.as_mut() {
        device.heuristics = true;
    }
    check(
        &settings,
        "heuristics fail 1 2; split 1:1,2 2:3,4; heal; heuristics pass 1 2",
        &[
            "1:1/5 2:1/5 3:1/5 4:1/5",
            "1:0/2 2:0/2 3:1/3 4:1/3",
            "1:1/5 2:1/5 3:1/5 4:1/5",
            "1:1/5 2:1/5 3:1/5 4:1/5",
        ],
    );
    // Without heuristics the lowest node id decides; with heuristics unset, `heuristics`
    // leaves the result undefined and says so.
    let plain = device(4, "ffsplit", Some(1), None);
    let mut state = ClusterState::new(&plain).unwrap();
    let outcome = state.apply(&plain, &scenario::parse("heuristics fail 1").unwrap().steps[0]);
    assert!(outcome.notes[0].contains("no heuristics configured"));
    check(
        &plain,
        "qnetd up; split 1:1,2 2:3,4",
        &["1:1/5 2:1/5 3:1/5 4:1/5", "1:1/3 2:1/3 3:0/2 4:0/2"],
    );
}

#[test]
fn tv46_tv47_lms_one_node_left_reaching_qnetd() {
    let settings = device(4, "lms", None, None);
    // Votes unset: N-1 = 3 device votes, E = 7, q = 4.
    check(
        &settings,
        "qnetd cut 2 3 4; split 1:1 2:2,3,4",
        &["1:1/7 2:1/4 3:1/4 4:1/4", "1:1/4 2:0/3 3:0/3 4:0/3"],
    );
    check(
        &settings,
        "qnetd up; split 1:1 2:2,3,4",
        &["1:1/7 2:1/7 3:1/7 4:1/7", "1:0/1 2:1/6 3:1/6 4:1/6"],
    );
}

#[test]
fn tv48_ffsplit_on_three_nodes_makes_the_device_a_dependency() {
    let settings = device(3, "ffsplit", Some(1), None);
    check(
        &settings,
        "qnetd down; split 1:1,2 2:3",
        &["1:1/3 2:1/3 3:1/3", "1:0/2 2:0/2 3:0/1"],
    );
}

#[test]
fn lms_numeric_tie_breaker_splits_a_partition() {
    // 4 nodes, lms, tie_breaker 2: in a 2|2 tie only node 2 itself gets ACK (spec 2.9 lms 5).
    let settings = device(4, "lms", None, Some("2"));
    let state = check(
        &settings,
        "qnetd up; split 1:1,2 2:3,4",
        &["1:1/7 2:1/7 3:1/7 4:1/7", "1:0/2 2:1/5 3:0/2 4:0/2"],
    );
    let why = partition_why(&state, &[1, 2]);
    assert!(
        why.starts_with("node 1: equal scores and sizes; only tie_breaker node 2"),
        "{why}"
    );
}

#[test]
fn lms_keeps_its_vote_without_qnetd_only_with_wait_for_all() {
    let settings = device(3, "lms", None, None);
    // Votes unset: 2 device votes, E = 5, q = 3. Without WFA the vote goes with qnetd.
    check(
        &settings,
        "qnetd down; down 3",
        &["1:1/3 2:1/3 3:1/3", "1:0/2 2:0/2 3:-"],
    );
    let wfa = QuorumSettings {
        wait_for_all: Some(true),
        ..device(3, "lms", None, None)
    };
    // Kept while nothing changes; the node going down changes the membership: NACK.
    check(
        &wfa,
        "qnetd down; down 3",
        &["1:1/5 2:1/5 3:1/5", "1:0/2 2:0/2 3:-"],
    );
    // A quorum change alone keeps nothing either; with WFA and no change, the vote stays.
    check(
        &wfa,
        "qnetd down; wait 1000",
        &["1:1/5 2:1/5 3:1/5", "1:1/5 2:1/5 3:1/5"],
    );
}

#[test]
fn two_node_lms_keeps_its_vote_until_the_membership_changes() {
    let settings = device(2, "2nodelms", Some(1), None);
    check(&settings, "qnetd down; down 2", &["1:1/3 2:1/3", "1:0/1 2:-"]);
    // Node 1 keeps its ACK when cut from qnetd; node 2's vote is decided again only on its
    // own membership change.
    check(
        &settings,
        "qnetd up; split 1:1 2:2; qnetd cut 1; heal",
        &["1:1/3 2:1/3", "1:1/2 2:0/1", "1:1/2 2:0/1", "1:1/3 2:1/3"],
    );
}

#[test]
fn qdevice_on_off_stops_and_starts_the_daemon_once_qnetd_decides() {
    let settings = device(2, "ffsplit", Some(1), None);
    let mut state = ClusterState::new(&settings).unwrap();
    for step in scenario::parse("qdevice on 1 2").unwrap().steps {
        assert!(!state.apply(&settings, &step).rejected);
    }
    assert!(state.qnetd_view().is_none());
    let steps = scenario::parse("qnetd up; qdevice off 1").unwrap().steps;
    assert!(!state.apply(&settings, &steps[0]).rejected);
    assert!(!state.qdevice_stopped(0));
    assert!(!state.apply(&settings, &steps[1]).rejected);
    assert!(state.qdevice_stopped(0));
    assert_eq!(state.qnetd_view().unwrap().nodes[0].vote, None);
}

#[test]
fn a_stopped_qdevice_daemon_casts_nothing_until_it_starts_again() {
    let settings = device(2, "ffsplit", Some(1), None);
    // qnetd decides from `qnetd up`; `qdevice off 2` stops node 2's daemon: node 2 counts
    // 2 of 3 votes, node 1 still 3; a crash of node 1 leaves node 2 inquorate (its daemon
    // does not run), `qdevice on 2` makes it quorate with the device again; a restart of
    // corosync keeps a stopped daemon stopped.
    let state = check(
        &settings,
        "qnetd up\nqdevice off 2\ndown 1\nqdevice on 2\nqdevice off 2\nrestart 2\n",
        &[
            "1:1/3 2:1/3",
            "1:1/3 2:1/2",
            "1:- 2:0/1",
            "1:- 2:1/2",
            "1:- 2:0/1",
            "1:- 2:0/1",
        ],
    );
    assert!(state.qdevice_stopped(1));
    let view = state.qnetd_view().unwrap();
    assert_eq!(view.nodes[1].why, "corosync-qdevice does not run (stopped)");
}

#[test]
fn a_qdevice_daemon_does_not_start_without_the_device_in_the_running_file() {
    let settings = QuorumSettings::plain(2);
    let mut state = ClusterState::new(&settings).unwrap();
    let steps = scenario::parse("qnetd up\nqdevice on 1\n").unwrap().steps;
    state.apply(&settings, &steps[0]);
    let outcome = state.apply(&settings, &steps[1]);
    assert!(outcome.rejected);
    assert!(
        outcome.notes[0].contains("corosync-qdevice exits"),
        "{:?}",
        outcome.notes
    );
    // Stopping one that does not run is a no-op, not a refusal (systemctl stop).
    let steps = scenario::parse("qdevice off 1 2\n").unwrap().steps;
    assert!(!state.apply(&settings, &steps[0]).rejected);
}
