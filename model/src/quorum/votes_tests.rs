//! `votes V [of T] on N` (`corosync-quorumtool -v V [-n T]`) in the engine: the refusals of
//! `message_handler_req_lib_votequorum_setvotes`, the NODE_VOTES reconfigure every node of
//! the ring applies, and what puts the configured votes back (the node's restart, any
//! reload). Each sequence here was also replayed on real corosync 3.1.7 in the lab with the
//! same readings (tests/it/reality.rs `three_nodes_node_votes_at_runtime`,
//! `two_nodes_node_votes_refused_by_two_node`). See: issue 13.

use super::*;
use crate::scenario::parse;

/// `(votes, total, expected, quorum, quorate)` of node `nodeid`.
fn reading(state: &ClusterState, settings: &QuorumSettings, nodeid: NodeId) -> (u32, u32, u32, u32, bool) {
    let view = state.view(settings, state.position(nodeid).unwrap()).unwrap();
    (
        view.votes,
        view.total_votes,
        view.expected_votes,
        view.quorum,
        view.quorate,
    )
}

/// Runs `script` from every node up and returns the state and each step's outcome.
fn run(settings: &QuorumSettings, script: &str) -> (ClusterState, Vec<StepOutcome>) {
    let mut state = ClusterState::new(settings).unwrap();
    let outcomes = parse(script)
        .unwrap()
        .steps
        .iter()
        .map(|step| state.apply(settings, step))
        .collect();
    (state, outcomes)
}

#[test]
fn raising_a_cut_off_nodes_votes_makes_it_quorate_alone_a_split_brain() {
    let settings = QuorumSettings::plain(3);
    let (state, outcomes) = run(&settings, "move 1:1; votes 3 on 1");
    assert!(!outcomes[1].rejected);
    assert!(outcomes[1].split_brain);
    // Node 1: 3 votes of expected 3, quorum 2; nodes 2 and 3 keep their quorum.
    assert_eq!(reading(&state, &settings, 1), (3, 3, 3, 2, true));
    assert_eq!(reading(&state, &settings, 2), (1, 2, 3, 2, true));
}

#[test]
fn raising_votes_in_a_whole_cluster_raises_expected_votes_and_quorum() {
    let settings = QuorumSettings::plain(3);
    let (state, outcomes) = run(&settings, "votes 3 on 1");
    assert!(!outcomes[0].rejected && !outcomes[0].split_brain);
    for nodeid in 1..=3 {
        let (_, total, expected, quorum, quorate) = reading(&state, &settings, nodeid);
        assert_eq!((total, expected, quorum, quorate), (5, 5, 3, true));
    }
    // Cut off, node 1 alone holds quorum and the two others do not.
    let (state, _) = run(&settings, "votes 3 on 1; move 1:1");
    assert_eq!(reading(&state, &settings, 1), (3, 3, 5, 3, true));
    assert_eq!(reading(&state, &settings, 2), (1, 2, 5, 3, false));
}

#[test]
fn lowering_votes_is_refused_where_quorum_would_exceed_the_votes_present() {
    let settings = QuorumSettings::plain(3);
    let (state, outcomes) = run(&settings, "votes 0 of 3 on 1; votes 0 of 2 on 1");
    assert!(!outcomes[0].rejected);
    assert_eq!(reading(&state, &settings, 3), (0, 2, 3, 2, true));
    assert!(outcomes[1].rejected);
    assert_eq!(
        outcomes[1].notes,
        [
            "votes 0 for node 2 on node 1 rejected: Unable to set votes 0 for nodeid: 2: \
          CS_ERR_INVALID_PARAM (quorum would be 2 with 1 votes present)"
        ]
    );
    // The refused change is put back on the node that checked it.
    assert_eq!(reading(&state, &settings, 2), (1, 2, 3, 2, true));
}

#[test]
fn a_reload_or_the_nodes_restart_puts_the_configured_votes_back() {
    let settings = QuorumSettings::plain(3);
    let (state, _) = run(&settings, "votes 3 on 1; reload");
    for nodeid in 1..=3 {
        assert_eq!(reading(&state, &settings, nodeid), (1, 3, 3, 2, true));
    }
    let (state, _) = run(&settings, "votes 0 of 3 on 1; stop 3; up 3");
    assert_eq!(reading(&state, &settings, 3), (1, 3, 3, 2, true));
    let (state, _) = run(&settings, "votes 3 on 1; restart 1");
    assert_eq!(reading(&state, &settings, 1).0, 1);
    assert_eq!(reading(&state, &settings, 2).1, 3);
}

#[test]
fn votes_of_a_stopped_node_are_accepted_and_lost_when_it_starts() {
    let settings = QuorumSettings::plain(3);
    let (state, outcomes) = run(&settings, "stop 3; votes 1 of 3 on 1; votes 4 of 3 on 1; up 3");
    assert!(!outcomes[1].rejected && !outcomes[2].rejected);
    assert_eq!(reading(&state, &settings, 1), (1, 3, 3, 2, true));
}

#[test]
fn a_node_never_seen_or_a_stopped_tool_node_is_refused() {
    let settings = QuorumSettings::plain(3);
    let mut state = ClusterState::stopped(&settings).unwrap();
    let script = parse("up 1 2; votes 2 of 3 on 1; votes 2 on 3").unwrap();
    let outcomes: Vec<StepOutcome> = script
        .steps
        .iter()
        .map(|step| state.apply(&settings, step))
        .collect();
    assert_eq!(
        outcomes[1].notes,
        [
            "votes 2 for node 3 on node 1 rejected: Unable to set votes 2 for nodeid: 3: \
          CS_ERR_NAME_NOT_FOUND (this node has never seen node 3)"
        ]
    );
    assert_eq!(
        outcomes[2].notes,
        ["node 3 is not running: corosync-quorumtool -v fails"]
    );
    assert!(outcomes[1].rejected && outcomes[2].rejected);
}

#[test]
fn two_node_refuses_votes_that_put_quorum_below_half_the_votes() {
    let settings = QuorumSettings {
        two_node: true,
        ..QuorumSettings::plain(2)
    };
    let (state, outcomes) = run(&settings, "votes 4 on 1; votes 2 on 1; move 1:1");
    assert!(outcomes[0].rejected);
    assert!(outcomes[0].notes[0].contains("quorum would be 1 with 5 votes present"));
    assert!(!outcomes[1].rejected);
    assert_eq!(reading(&state, &settings, 1), (2, 2, 3, 1, true));
    assert_eq!(reading(&state, &settings, 2), (1, 1, 3, 1, true));
}
