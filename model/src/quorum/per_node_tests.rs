//! Per-node configuration: each node's disk file and the configuration it runs with
//! (`ClusterState::apply_event`), against the whole-cluster form (`ClusterState::apply`).
//!
//! Covers spec 5.1 (every node re-reads its own file at reload) and 5.2 (startup-only keys
//! wait for a restart; a changed address refuses the reload on that node), and that the
//! whole-cluster form is the per-node form with the same file everywhere.

use super::*;
use crate::action::{Action, ConfigFile, Event};
use crate::config::Config;
use crate::scenario::{parse, NodeRef};

/// The configuration of a knet cluster of `nodes` (nodeid, ring0 address, votes), with
/// `quorum` lines added to the quorum section.
fn conf(nodes: &[(u32, &str, u32)], quorum: &str) -> NodeConfig {
    let mut text = String::from("totem {\n version: 2\n cluster_name: t\n transport: knet\n}\nnodelist {\n");
    for (nodeid, address, votes) in nodes {
        text.push_str(&format!(
            " node {{\n  nodeid: {nodeid}\n  name: node{nodeid}\n  ring0_addr: {address}\n  quorum_votes: {votes}\n }}\n"
        ));
    }
    text.push_str(&format!(
        "}}\nquorum {{\n provider: corosync_votequorum\n{quorum}}}\n"
    ));
    let (document, _) = crate::syntax::parse(&text);
    let (config, _) = Config::from_document(&document);
    NodeConfig::from_config(&config)
}

fn three() -> NodeConfig {
    conf(
        &[(1, "198.18.0.1", 1), (2, "198.18.0.2", 1), (3, "198.18.0.3", 1)],
        "",
    )
}

fn four() -> NodeConfig {
    conf(
        &[
            (1, "198.18.0.1", 1),
            (2, "198.18.0.2", 1),
            (3, "198.18.0.3", 1),
            (4, "198.18.0.4", 1),
        ],
        "",
    )
}

/// Runs `script`, resolving file names through `files`, and returns the outcomes.
fn run(state: &mut ClusterState, files: &[(&str, NodeConfig)], script: &str) -> Vec<StepOutcome> {
    let mut read = |name: &str| -> Result<NodeConfig, String> {
        files
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, config)| config.clone())
            .ok_or_else(|| format!("no file {name}"))
    };
    parse(script)
        .unwrap()
        .steps
        .iter()
        .map(|step| {
            let event = Event::from_step(step, &mut read).unwrap();
            state.apply_event(&event)
        })
        .collect()
}

fn node_view(state: &ClusterState, nodeid: u32) -> NodeView {
    let pos = state.position(nodeid).unwrap();
    let settings = state.disk_config(pos).unwrap().settings().clone();
    state.view(&settings, pos).unwrap()
}

#[test]
fn the_whole_cluster_form_is_the_per_node_form_with_one_file_everywhere() {
    let old = QuorumSettings {
        wait_for_all: Some(true),
        ..QuorumSettings::plain(3)
    };
    let new = QuorumSettings {
        two_node: false,
        expected_votes: Some(5),
        ..QuorumSettings::plain(4)
    };
    let script = "move 1:3; reload new.conf; up 1:4; join 0 1; expected 4 on 1; restart 2; reload; \
                  stop 3; wait 100";
    let mut whole = ClusterState::new(&old).unwrap();
    let mut per_node = ClusterState::new(&old).unwrap();
    let files = [("new.conf", NodeConfig::from_settings(&new))];
    let mut current = &old;
    for step in parse(script).unwrap().steps {
        if matches!(step, crate::scenario::Step::Reload { file: Some(_) }) {
            current = &new;
        }
        let expected = whole.apply(current, &step);
        let outcome = run(&mut per_node, &files, &step.to_string()).remove(0);
        assert_eq!(outcome, expected, "{step}");
        assert_eq!(per_node, whole, "{step}");
    }
}

#[test]
fn a_node_with_the_old_file_cuts_off_a_node_it_does_not_list() {
    let mut state = ClusterState::from_config(&three()).unwrap();
    let files = [("new.conf", four())];
    // Nodes 1 and 2 get the four-node file and reload; node 3 still has the old one.
    let outcomes = run(&mut state, &files, "install new.conf on 1 2 4; reload");
    assert!(!outcomes[1].rejected, "{:?}", outcomes[1].notes);
    assert_eq!(node_view(&state, 1).expected_votes, 4);
    assert_eq!(state.running_config(0).unwrap().settings().nodes.len(), 4);
    assert_eq!(state.running_config(2).unwrap().settings().nodes.len(), 3);
    assert_eq!(state.disk_config(2).unwrap(), &three());
    // Node 4 starts with the new file; node 3 does not know it: a partial mesh.
    let outcomes = run(&mut state, &files, "up 4");
    assert_eq!(outcomes[0].unstable.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].unstable[0].nodes, [1, 2, 3, 4]);
    assert_eq!(outcomes[0].unstable[0].candidates, [vec![1, 2, 3], vec![1, 2, 4]]);
    // Node 3 gets the file and reloads: one ring of four.
    let outcomes = run(&mut state, &files, "install new.conf on 3; reload");
    assert!(outcomes[1].unstable.is_empty(), "{outcomes:?}");
    for nodeid in 1..=4 {
        let view = node_view(&state, nodeid);
        assert_eq!(view.members, [1, 2, 3, 4], "node {nodeid}");
        assert!(view.quorate, "node {nodeid}");
        assert_eq!(view.expected_votes, 4, "node {nodeid}");
    }
}

#[test]
fn a_node_without_a_file_neither_starts_nor_reloads() {
    let mut state = ClusterState::from_config(&three()).unwrap();
    let outcomes = run(&mut state, &[("new.conf", four())], "install new.conf on 1; up 4");
    assert!(outcomes[1].rejected);
    assert_eq!(
        outcomes[1].notes,
        ["node 4 has no corosync.conf: it cannot start"]
    );
    assert!(!state.is_up(3));
    assert!(state.disk_config(3).is_none());
}

#[test]
fn a_startup_only_key_waits_for_a_restart() {
    let with_wfa = conf(
        &[(1, "198.18.0.1", 1), (2, "198.18.0.2", 1), (3, "198.18.0.3", 1)],
        " wait_for_all: 1\n last_man_standing: 1\n",
    );
    let mut state = ClusterState::from_config(&three()).unwrap();
    let files = [("wfa.conf", with_wfa.clone())];
    let outcomes = run(&mut state, &files, "reload wfa.conf");
    assert!(!outcomes[0].rejected, "{:?}", outcomes[0].notes);
    for nodeid in 1..=3 {
        let view = node_view(&state, nodeid);
        assert!(
            !view.flags.wait_for_all,
            "node {nodeid}: reload must not enable wait_for_all"
        );
        assert!(!view.flags.last_man_standing, "node {nodeid}");
        assert_eq!(state.disk_config(nodeid as usize - 1), Some(&with_wfa));
    }
    run(&mut state, &files, "restart 2");
    assert!(
        node_view(&state, 2).flags.wait_for_all,
        "a restart reads the file"
    );
    assert!(node_view(&state, 2).flags.last_man_standing);
    assert!(!node_view(&state, 1).flags.wait_for_all);
}

#[test]
fn a_transport_change_at_reload_is_ignored_until_restart() {
    let mut udpu = three().settings().clone();
    udpu.transport = Transport::Udpu;
    let udpu = NodeConfig::new(udpu, three().totem().clone());
    let mut state = ClusterState::from_config(&three()).unwrap();
    let outcomes = run(&mut state, &[("udpu.conf", udpu)], "reload udpu.conf");
    assert!(!outcomes[0].rejected);
    for pos in 0..3 {
        let running = state.running_config(pos).unwrap().settings();
        assert_eq!(running.transport, Transport::Knet, "position {pos}");
        assert_eq!(
            state.disk_config(pos).unwrap().settings().transport,
            Transport::Udpu
        );
    }
    // Restarted on udpu, node 3 cannot talk to the knet nodes any more.
    run(&mut state, &[], "restart 3");
    assert_eq!(node_view(&state, 3).members, [3]);
    assert_eq!(node_view(&state, 1).members, [1, 2]);
}

#[test]
fn a_changed_address_fails_the_reload_on_every_node_that_sees_it() {
    // The new file re-addresses node 3 and gives node 1 two votes.
    let readdressed = conf(
        &[(1, "198.18.0.1", 2), (2, "198.18.0.2", 1), (3, "198.18.0.9", 1)],
        "",
    );
    let mut state = ClusterState::from_config(&three()).unwrap();
    let outcomes = run(
        &mut state,
        &[("readdressed.conf", readdressed.clone())],
        "reload readdressed.conf",
    );
    assert!(outcomes[0].rejected);
    assert_eq!(outcomes[0].notes.len(), 3, "{:?}", outcomes[0].notes);
    assert!(outcomes[0].notes[0].starts_with(
        "node 1: the reload fails (new config has different address for link 0 (addr changed from \
         198.18.0.3 to 198.18.0.9) for node 3"
    ));
    assert_eq!(
        node_view(&state, 1).votes,
        1,
        "the refused file's votes are not in force"
    );
    assert_eq!(node_view(&state, 1).expected_votes, 3);
    assert_eq!(state.running_config(0), Some(&three()));
    // A restart reads the new file: node 1 now has two votes.
    let outcomes = run(&mut state, &[], "restart 1");
    assert!(!outcomes[0].rejected, "{:?}", outcomes[0].notes);
    assert_eq!(node_view(&state, 1).votes, 2);
    assert_eq!(state.running_config(0), Some(&readdressed));
}

#[test]
fn install_without_content_is_refused_by_the_whole_cluster_form() {
    let settings = QuorumSettings::plain(3);
    let mut state = ClusterState::new(&settings).unwrap();
    let step = &parse("install new.conf on 1").unwrap().steps[0];
    let outcome = state.apply(&settings, step);
    assert!(outcome.rejected);
    assert!(
        outcome.notes[0].starts_with("cannot read `new.conf`"),
        "{:?}",
        outcome.notes
    );
    let event = Event::Action(Action::InstallConfig {
        file: ConfigFile {
            name: "new.conf".to_string(),
            config: four(),
        },
        nodes: vec![NodeRef::Id(1)],
    });
    let outcome = state.apply_event(&event);
    assert!(!outcome.rejected);
    assert_eq!(state.disk_config(0), Some(&four()));
    assert_eq!(state.nodeids(), [1, 2, 3, 4]);
}

fn two_nodes(quorum: &str) -> NodeConfig {
    conf(&[(1, "198.18.0.1", 1), (2, "198.18.0.2", 1)], quorum)
}

fn three_nodes(quorum: &str) -> NodeConfig {
    conf(
        &[(1, "198.18.0.1", 1), (2, "198.18.0.2", 1), (3, "198.18.0.3", 1)],
        quorum,
    )
}

/// corosync 3.1.7 on the lab (2 nodes with `two_node: 1`, the 3-node file without it
/// written on both, `corosync-cfgtool -R`): `corosync-quorumtool -s` Flags go from
/// `2Node Quorate WaitForAll` to `Quorate`, and after n2 stops, n1 (inquorate) shows
/// `runtime.votequorum.wait_for_all_status = 0`: wait_for_all is off, not only hidden.
#[test]
fn a_reload_dropping_two_node_clears_the_wait_for_all_it_implied() {
    let mut state = ClusterState::from_config(&two_nodes(" two_node: 1\n")).unwrap();
    assert!(node_view(&state, 1).flags.wait_for_all);
    let files = [("three.conf", three_nodes(""))];
    let outcomes = run(&mut state, &files, "install three.conf on 1 2; reload");
    assert!(!outcomes[1].rejected, "{:?}", outcomes[1].notes);
    for nodeid in 1..=2 {
        let view = node_view(&state, nodeid);
        assert!(
            !view.flags.two_node && !view.flags.wait_for_all,
            "node {nodeid}: {view:?}"
        );
        assert!(
            view.quorate && view.expected_votes == 3,
            "node {nodeid}: {view:?}"
        );
    }
    run(&mut state, &files, "stop 2");
    let view = node_view(&state, 1);
    assert!(!view.quorate && !view.flags.wait_for_all_status, "{view:?}");
    // n2 starts again with the 3-node file: {1,2} is quorate (2 of 3), nothing to wait for.
    run(&mut state, &files, "up 2");
    assert!(node_view(&state, 1).quorate && node_view(&state, 2).quorate);
}

/// Whether wait_for_all follows two_node is decided by the file a node started with (the
/// key absent: `wait_for_all_autoset`), not by the file it reloads: on the lab, the 3-node
/// file with an explicit `wait_for_all: 1` reloaded into the two_node pair leaves Flags at
/// `Quorate` (cmap shows `quorum.wait_for_all = 1`, not in force until a restart).
#[test]
fn an_explicit_wait_for_all_in_the_reloaded_file_does_not_keep_it_on() {
    let mut state = ClusterState::from_config(&two_nodes(" two_node: 1\n")).unwrap();
    let files = [("three.conf", three_nodes(" wait_for_all: 1\n"))];
    run(&mut state, &files, "install three.conf on 1 2; reload");
    for nodeid in 1..=2 {
        assert!(!node_view(&state, nodeid).flags.wait_for_all, "node {nodeid}");
    }
    run(&mut state, &files, "restart 2");
    assert!(node_view(&state, 2).flags.wait_for_all, "a restart reads the key");
    assert!(!node_view(&state, 1).flags.wait_for_all);
}

/// A node started with an explicit wait_for_all keeps it whatever two_node becomes at
/// reload (votequorum_readconfig: only `wait_for_all_autoset` follows two_node).
#[test]
fn an_explicit_wait_for_all_at_startup_survives_a_reload_dropping_two_node() {
    let started = two_nodes(" two_node: 1\n wait_for_all: 1\n");
    let mut state = ClusterState::from_config(&started).unwrap();
    let files = [("three.conf", three_nodes(""))];
    run(&mut state, &files, "install three.conf on 1 2; reload");
    for nodeid in 1..=2 {
        let view = node_view(&state, nodeid);
        assert!(
            !view.flags.two_node && view.flags.wait_for_all,
            "node {nodeid}: {view:?}"
        );
    }
}

/// The reverse, on the lab: 3 nodes started without two_node, n3 stopped, the 2-node file
/// with `two_node: 1` reloaded on n1 and n2: Flags `2Node Quorate WaitForAll`, status 0,
/// and n1 stays quorate alone when n2 stops.
#[test]
fn a_reload_adding_two_node_switches_wait_for_all_on_without_arming_it() {
    let mut state = ClusterState::from_config(&three_nodes("")).unwrap();
    let files = [("two.conf", two_nodes(" two_node: 1\n"))];
    let outcomes = run(&mut state, &files, "stop 3; install two.conf on 1 2; reload");
    assert!(!outcomes[2].rejected, "{:?}", outcomes[2].notes);
    for nodeid in 1..=2 {
        let view = node_view(&state, nodeid);
        assert!(
            view.flags.two_node && view.flags.wait_for_all,
            "node {nodeid}: {view:?}"
        );
        assert!(
            !view.flags.wait_for_all_status && view.quorate,
            "node {nodeid}: {view:?}"
        );
        assert_eq!(view.expected_votes, 2);
    }
    run(&mut state, &files, "stop 2");
    assert!(node_view(&state, 1).quorate);
}
