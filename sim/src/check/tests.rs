//! Unit tests of the check model: pinned state counts, symmetry soundness, known verdicts.

use super::*;
use crate::symmetry::tests::non_commuting_sets;
use model::quorum::{QuorumSettings, TieBreaker};
use model::scenario::{NodeRef, NodeSpec, Step};
use stateright::{Checker, Model};

fn options(max_faults: u8, operator: bool) -> ModelOptions {
    ModelOptions {
        max_faults,
        operator: OperatorActions {
            expected: operator,
            reload: operator,
        },
        fixed_order: false,
    }
}

/// Unique states of full single-threaded runs: (BFS, DFS, DFS with symmetry).
fn counts(settings: &QuorumSettings, max_faults: u8) -> (usize, usize, usize) {
    let model = QuorumModel::new(settings, options(max_faults, false)).unwrap();
    let plain = model.without_symmetry();
    let bfs = plain.clone().checker().threads(1).spawn_bfs().join();
    let dfs = plain.checker().threads(1).spawn_dfs().join();
    let symmetric = model.checker().threads(1).symmetry().spawn_dfs().join();
    (
        bfs.unique_state_count(),
        dfs.unique_state_count(),
        symmetric.unique_state_count(),
    )
}

#[test]
fn pinned_state_counts() {
    // (BFS, DFS, DFS + symmetry). Symmetry reduces 3 nodes by 8x and 5 nodes (cold start
    // only) by 12x: node permutations, partition relabelling and the time shift together.
    // (Before a start cut off from the running nodes cost a fault: 14597/690 and
    // 14008/61, every partition of a cold start free.)
    assert_eq!(counts(&QuorumSettings::plain(2), 2), (119, 119, 54));
    assert_eq!(counts(&QuorumSettings::plain(3), 2), (2837, 2837, 354));
    assert_eq!(counts(&QuorumSettings::plain(5), 0), (82, 82, 7));
    let five = QuorumModel::new(&QuorumSettings::plain(5), options(1, false)).unwrap();
    let symmetric = five.checker().threads(1).symmetry().spawn_dfs().join();
    assert_eq!(symmetric.unique_state_count(), 122);
}

/// The model permutes nodes for `settings`, and that commutes with every transition.
fn assert_node_symmetry_sound(settings: &QuorumSettings, model_options: ModelOptions) {
    let model = QuorumModel::new(settings, model_options).unwrap();
    assert!(!model.symmetry_classes().is_empty());
    assert_eq!(model.order_rule(), crate::symmetry::OrderRule::Irrelevant);
    assert_eq!(non_commuting_sets(&model, model.symmetry_classes(), 3000), 0);
}

#[test]
fn node_symmetry_commutes_with_transitions_plain() {
    assert_node_symmetry_sound(&QuorumSettings::plain(3), options(2, false));
    let mut settings = QuorumSettings::plain(3);
    settings.expected_votes = Some(5);
    assert_node_symmetry_sound(&settings, options(2, false));
}

#[test]
fn node_symmetry_commutes_with_transitions_tracking_and_two_links() {
    let mut settings = QuorumSettings::plain(4);
    settings.expected_votes_tracking = true;
    assert_node_symmetry_sound(&settings, options(2, false));
    let mut settings = QuorumSettings::plain(3);
    for node in settings.nodes.iter_mut() {
        node.links = vec![0, 1];
    }
    assert_node_symmetry_sound(&settings, options(2, false));
}

/// Why node permutation needs every delivery order with operator actions, LMS, a low
/// `expected_votes` or wait_for_all: nodes then disagree about expected votes (or WFA
/// status), and the nodeid order of messages changes what they record. With the ascending
/// order alone a swap does not commute; over every ring change's order it does for LMS, a
/// low `expected_votes` and WFA (`crate::symmetry::tests`), not for operator actions.
#[test]
fn node_symmetry_needs_every_order_when_expected_votes_can_differ() {
    let operator = QuorumModel::new(
        &QuorumSettings::plain(3),
        ModelOptions {
            fixed_order: true,
            ..options(2, true)
        },
    )
    .unwrap();
    assert!(operator.symmetry_classes().is_empty());
    assert!(non_commuting_sets(&operator, &[vec![0, 1, 2]], 3000) > 0);
    // Branching on ring changes' orders is not enough: `expected` and `reload` send
    // messages outside ring changes, delivered in node id order only.
    let branching = QuorumModel::new(&QuorumSettings::plain(3), options(2, true)).unwrap();
    assert!(branching.symmetry_classes().is_empty());
    assert_eq!(
        branching.order_rule(),
        crate::symmetry::OrderRule::OperatorMessages
    );
    assert!(non_commuting_sets(&branching, &[vec![0, 1, 2]], 1500) > 0);
}

#[test]
fn symmetry_classes_leave_out_tie_breakers_and_different_nodes() {
    let mut settings = QuorumSettings::plain(4);
    settings.nodes[0].votes = 2;
    settings.nodes[3].links = vec![0, 1];
    let model = QuorumModel::new(&settings, ModelOptions::default()).unwrap();
    assert_eq!(model.symmetry_classes(), &[vec![1, 2]]);
    settings.auto_tie_breaker = true;
    let model = QuorumModel::new(&settings, ModelOptions::default()).unwrap();
    assert!(model.symmetry_classes().is_empty());
}

fn verdicts(settings: &QuorumSettings, max_faults: u8, symmetry: bool) -> Vec<(&'static str, bool)> {
    let check_options = CheckOptions {
        model: options(max_faults, false),
        symmetry,
        ..CheckOptions::default()
    };
    check(settings, &check_options, &mut |_| {})
        .unwrap()
        .properties
        .iter()
        .map(|verdict| (verdict.name, verdict.holds))
        .collect()
}

#[test]
fn symmetry_does_not_change_verdicts() {
    let mut lms = QuorumSettings::plain(3);
    lms.last_man_standing = true;
    let mut two = QuorumSettings::plain(2);
    two.two_node = true;
    let mut expected = QuorumSettings::plain(4);
    expected.expected_votes = Some(3);
    let mut wait_for_all = QuorumSettings::plain(3);
    wait_for_all.wait_for_all = Some(true);
    for (settings, most) in [
        (QuorumSettings::plain(3), 2),
        (lms, 2),
        (two, 2),
        (expected, 1),
        (wait_for_all, 2),
    ] {
        for max_faults in 1..=most {
            assert_eq!(
                verdicts(&settings, max_faults, true),
                verdicts(&settings, max_faults, false)
            );
        }
    }
}

#[test]
fn counterexamples_are_shortest_and_replay() {
    let settings = QuorumSettings::plain(3);
    let check_options = CheckOptions {
        model: options(2, true),
        ..CheckOptions::default()
    };
    let report = check(&settings, &check_options, &mut |_| {}).unwrap();
    let verdict = report.first_violated_safety().unwrap();
    assert_eq!(verdict.name, NO_SPLIT_BRAIN);
    // TV50: cut one node off, then `expected 1` on it.
    assert_eq!(verdict.counterexample.len(), 2);
    let mut cluster = model::quorum::ClusterState::new(&settings).unwrap();
    for step in &verdict.counterexample {
        assert!(!cluster.apply(&settings, step).rejected);
    }
    assert!(cluster.split_brain());
}

#[test]
fn atb_list_without_wait_for_all_splits_at_boot() {
    let mut settings = QuorumSettings::plain(4);
    settings.auto_tie_breaker = true;
    settings.auto_tie_breaker_node = Some(TieBreaker::List(vec![1, 3]));
    let at_budget = |max_faults: u8| {
        let options = CheckOptions {
            model: options(max_faults, false),
            ..CheckOptions::default()
        };
        check(&settings, &options, &mut |_| {}).unwrap()
    };
    // One fault: a node booting cut off from the running ones (a start into a partition of
    // its own while another node runs costs one unit, `start_kind`). The list names 1 and
    // 3; the unnamed 2 and 4 are interchangeable (crate::symmetry).
    let report = at_budget(1);
    assert_eq!(report.symmetry, [vec![2, 4]]);
    let verdict = report.first_violated_safety().unwrap();
    assert_eq!(verdict.counterexample[0].to_string(), "down 1 2 3 4");
    // Without a fault the cluster boots into one partition: no split-brain at budget 0.
    let none = at_budget(0);
    assert!(none.first_violated_safety().is_none(), "{:?}", none.properties);
}

fn wait_for_all_three() -> QuorumSettings {
    let mut settings = QuorumSettings::plain(3);
    settings.wait_for_all = Some(true);
    settings
}

/// Unique states of a full single-threaded DFS of `settings` with symmetry reduction (with
/// `fixed_order`: partition labels and time only), as `quorate check` counts them.
fn dfs_count(settings: &QuorumSettings, model_options: ModelOptions) -> usize {
    let model = QuorumModel::new(settings, model_options).unwrap();
    assert_eq!(model.symmetry_classes().is_empty(), model_options.fixed_order);
    model
        .checker()
        .threads(1)
        .symmetry()
        .spawn_dfs()
        .join()
        .unique_state_count()
}

#[test]
fn delivery_orders_branch_only_where_they_matter() {
    // 3 nodes with wait_for_all (TV22): the alternative delivery orders add states, and
    // `fixed_order` gives back the ascending-order model. Plain clusters do not branch (see
    // `pinned_state_counts`, unchanged).
    let settings = wait_for_all_three();
    let fixed = ModelOptions {
        fixed_order: true,
        ..options(2, false)
    };
    assert_eq!(dfs_count(&settings, fixed), 1155);
    // With every order followed, the three nodes are interchangeable too (crate::symmetry).
    assert_eq!(dfs_count(&settings, options(2, false)), 257);
    assert!(QuorumModel::new(&settings, options(2, false))
        .unwrap()
        .branches_on_orders());
    assert!(!QuorumModel::new(&settings, fixed).unwrap().branches_on_orders());
    assert!(!QuorumModel::new(&QuorumSettings::plain(3), options(2, false))
        .unwrap()
        .branches_on_orders());
}

#[test]
fn tv22_order_variant_is_an_action_and_reaches_the_other_outcome() {
    // {1}|{2,3}, then `move 0:2` makes {1,2}|{3}: in ascending order node 2 stays quorate,
    // with its own message first it loses quorum and re-arms wait_for_all.
    let settings = wait_for_all_three();
    let model = QuorumModel::new(&settings, options(2, false)).unwrap();
    let running = model.init_states().remove(0);
    let split = model
        .next_state(
            &running,
            CheckAction::new(
                model::action::Event::Fault(model::action::Fault::MoveNodes(vec![NodeSpec {
                    partition: Some(1),
                    nodes: vec![NodeRef::Id(2), NodeRef::Id(3)],
                }])),
                ActionKind::Fault,
            ),
        )
        .unwrap();
    let mut actions = Vec::new();
    model.actions(&split, &mut actions);
    let step = Step::Move(vec![NodeSpec {
        partition: Some(0),
        nodes: vec![NodeRef::Id(2)],
    }]);
    let variants: Vec<&CheckAction> = actions.iter().filter(|action| action.step() == step).collect();
    assert_eq!(variants.iter().map(|a| a.order).collect::<Vec<_>>(), [0, 1]);
    let quorate_2 = |action: &CheckAction| {
        let next = model.next_state(&split, action.clone()).unwrap();
        next.cluster.is_quorate(next.cluster.position(2).unwrap())
    };
    assert!(quorate_2(variants[0]));
    assert!(!quorate_2(variants[1]));
    assert_eq!(model.delivery_orders(&split, variants[1]), [vec![2, 1]]);
    assert_eq!(
        delivery_order_note(&model.delivery_orders(&split, variants[1])).unwrap(),
        "node 2's message first"
    );
}

#[test]
fn counterexamples_prefer_the_ascending_order() {
    // Budget 2 on 3 nodes with wait_for_all: quorum-regained is violated (WFA by design) in
    // 2 steps both with and without an alternative order; the search takes the one that
    // needs none, so `quorate whatif` replays it exactly.
    let check_options = CheckOptions {
        model: options(2, false),
        ..CheckOptions::default()
    };
    let report = check(&wait_for_all_three(), &check_options, &mut |_| {}).unwrap();
    let verdict = report
        .properties
        .iter()
        .find(|v| v.name == QUORUM_REGAINED)
        .unwrap();
    assert!(!verdict.holds);
    let script: Vec<String> = verdict
        .counterexample
        .iter()
        .map(|step| step.to_string())
        .collect();
    assert_eq!(script, ["move 1:1,3", "move 0:1"]);
    assert!(verdict.order_dependent_steps.is_empty());
    assert_eq!(verdict.delivery_orders, [Vec::<Vec<u32>>::new(), Vec::new()]);
}

#[test]
fn a_cancelled_run_reports_what_it_explored_as_incomplete() {
    let check_options = CheckOptions {
        model: options(2, false),
        ..CheckOptions::default()
    };
    let report = check_with(
        &wait_for_all_three(),
        &check_options,
        &mut Hooks {
            progress: &mut |_| {},
            cancelled: &|| true,
        },
    )
    .unwrap();
    assert!(report.interrupted && !report.complete);
    assert!(report.states >= 1);
    let full = check(&wait_for_all_three(), &check_options, &mut |_| {}).unwrap();
    assert!(!full.interrupted && full.complete);
    assert!(report.states <= full.states);
}

/// Per property, the length of the shortest violating behaviour a BFS of `model` finds
/// (`None`: holds), and the unique states of the BFS.
fn bfs_verdicts(model: &QuorumModel) -> (usize, Vec<(&'static str, Option<usize>)>) {
    let checker = model.clone().checker().threads(1).spawn_bfs().join();
    let discoveries = checker.discoveries();
    let verdicts = model
        .properties()
        .iter()
        .map(|property| {
            (
                property.name,
                discoveries
                    .get(property.name)
                    .map(|path| path.clone().into_actions().len()),
            )
        })
        .collect();
    (checker.unique_state_count(), verdicts)
}

/// Issue 9 item 4: the engine explores a ring change's delivery orders breadth-first over
/// the sets of delivered messages, and memoises ring changes across states; the reference
/// delivers every candidate order one by one. On 3-4 node clusters with last_man_standing,
/// auto_tie_breaker and wait_for_all (where orders matter), both give the same reachable
/// states, the same verdicts and the same shortest counterexample lengths (BFS without
/// symmetry), and the same states and verdicts with symmetry reduction.
#[test]
fn order_exploration_matches_enumerating_every_order() {
    let with = |count: u32, lms: bool, atb: bool, wfa: bool| {
        let mut settings = QuorumSettings::plain(count);
        settings.last_man_standing = lms;
        settings.last_man_standing_window_ms = 1000;
        settings.auto_tie_breaker = atb;
        settings.wait_for_all = Some(wfa);
        settings
    };
    for (name, settings, reduce) in [
        ("lms3", with(3, true, false, false), false),
        ("atb3", with(3, false, true, false), false),
        ("wfa3", with(3, false, false, true), false),
        ("lms_atb_wfa3", with(3, true, true, true), false),
        ("lms4", with(4, true, false, false), true),
        ("wfa4", with(4, false, false, true), true),
    ] {
        let model = QuorumModel::new(&settings, options(1, false)).unwrap();
        assert!(model.branches_on_orders(), "{name}");
        if !reduce {
            let explored = bfs_verdicts(&model.without_symmetry());
            let enumerated = bfs_verdicts(&model.with_enumerated_orders().without_symmetry());
            assert_eq!(explored, enumerated, "{name}");
            continue;
        }
        assert!(!model.symmetry_classes().is_empty(), "{name}");
        let symmetric = model.clone().checker().threads(1).symmetry().spawn_dfs().join();
        let symmetric_enumerated = model
            .with_enumerated_orders()
            .checker()
            .threads(1)
            .symmetry()
            .spawn_dfs()
            .join();
        assert_eq!(
            symmetric.unique_state_count(),
            symmetric_enumerated.unique_state_count(),
            "{name}"
        );
        assert_eq!(
            symmetric.discoveries().keys().collect::<Vec<_>>(),
            symmetric_enumerated.discoveries().keys().collect::<Vec<_>>(),
            "{name}"
        );
    }
}

/// `count` nodes and a `model: net` quorum device with `algorithm` and `votes`.
fn with_qnetd(count: u32, algorithm: &str, votes: u32) -> QuorumSettings {
    QuorumSettings {
        device: Some(model::quorum::DeviceSettings {
            model: "net".to_string(),
            votes: Some(votes),
            algorithm: Some(algorithm.to_string()),
            tie_breaker: None,
            timeout_ms: 10_000,
            sync_timeout_ms: 30_000,
            keep_active_partition_tie_breaker: true,
            heuristics: false,
        }),
        ..QuorumSettings::plain(count)
    }
}

/// `FaultActions` plus one goal: qnetd down and some node down with nobody quorate (the
/// forums' "qnetd host down, then a node dies" question), to see that check reaches it.
#[derive(Clone, Debug)]
struct QnetdDownThenNodeDown;

impl ActionGenerator for QnetdDownThenNodeDown {
    fn actions(&self, model: &QuorumModel<Self>, state: &CheckState, actions: &mut Vec<CheckAction>) {
        fault_actions(model, state, actions);
    }

    fn goals(&self) -> Vec<Property<QuorumModel<Self>>> {
        vec![Property::<QuorumModel<Self>>::sometimes(
            "qnetd down, a node down, nobody quorate",
            |_, state| {
                let cluster = &state.cluster;
                let up = cluster.up_nodes();
                cluster.qnetd_reach().is_some_and(|(server_up, _)| !server_up)
                    && !up.is_empty()
                    && up.len() < cluster.nodeids().len()
                    && cluster.quorate_set().is_empty()
            },
        )]
    }
}

#[test]
fn two_nodes_ffsplit_budget_two_qnetd_faults_no_false_split_brain_issue_14() {
    let settings = with_qnetd(2, "ffsplit", 1);
    let check_options = CheckOptions {
        model: options(2, false),
        ..CheckOptions::default()
    };
    let report = check(&settings, &check_options, &mut |_| {}).unwrap();
    // qnetd gives one side of a split the vote; cut from qnetd, a node NACKs at once: no
    // split-brain, and a lone node quorate with the device's vote is no violation.
    for verdict in &report.properties {
        assert!(verdict.holds, "{}: {:?}", verdict.name, verdict.counterexample);
    }
    assert!(report.complete);
    assert!(report
        .symmetry_note
        .as_deref()
        .unwrap_or_default()
        .contains("qnetd"));
    // Pinned: qnetd down/up, cuts of every set of running nodes, reach, on top of the
    // crashes, starts, moves and link faults of two nodes.
    assert_eq!(report.states, 603);
    // The state after `qnetd down` then a node crash is reached, and replays.
    let model = QuorumModel::with_generator(&settings, options(2, false), QnetdDownThenNodeDown).unwrap();
    // stateright's BFS keeps overwriting a discovery with later ones: bound the depth to
    // two steps (init is depth 1; states at the bound are not evaluated: as run.rs's
    // iterative deepening does), where only the shortest path fits.
    let checked = model
        .clone()
        .checker()
        .threads(1)
        .target_max_depth(4)
        .spawn_bfs()
        .join();
    let path = checked
        .discovery("qnetd down, a node down, nobody quorate")
        .expect("reached");
    let init = path.clone().into_states().remove(0);
    let mut steps: Vec<String> = model.prefix_for(&init).iter().map(Step::to_string).collect();
    steps.extend(
        path.into_actions()
            .iter()
            .map(|action: &CheckAction| action.step().to_string()),
    );
    assert_eq!(steps, vec!["qnetd up", "qnetd down", "down 2"]);
    let mut cluster = model::quorum::ClusterState::new(&settings).unwrap();
    for step in model::scenario::parse(&steps.join("\n")).unwrap().steps {
        assert!(!cluster.apply(&settings, &step).rejected);
    }
    assert!(cluster.quorate_set().is_empty());
}

#[test]
fn qnetd_faults_cost_budget_and_recoveries_are_free_issue_14() {
    let settings = with_qnetd(2, "ffsplit", 1);
    let model = QuorumModel::new(&settings, options(1, false)).unwrap();
    let start = model.init_states().remove(0);
    assert!(start.cluster.qnetd_modelled());
    let mut actions = Vec::new();
    model.actions(&start, &mut actions);
    let qnetd: Vec<(String, ActionKind)> = actions
        .iter()
        .filter(|action| matches!(action.step(), Step::Qnetd(_)))
        .map(|action| (action.step().to_string(), action.kind))
        .collect();
    assert_eq!(
        qnetd,
        vec![
            ("qnetd down".to_string(), ActionKind::Fault),
            ("qnetd cut 1".to_string(), ActionKind::Fault),
            ("qnetd cut 2".to_string(), ActionKind::Fault),
            ("qnetd cut 1 2".to_string(), ActionKind::Fault),
        ]
    );
    let down = actions
        .iter()
        .find(|action| action.step().to_string() == "qnetd down")
        .unwrap()
        .clone();
    let after = model.next_state(&start, down).unwrap();
    assert_eq!(after.spent, 1);
    let mut recoveries = Vec::new();
    model.actions(&after, &mut recoveries);
    let up = recoveries
        .iter()
        .find(|action| action.step().to_string() == "qnetd up")
        .unwrap();
    assert_eq!(up.kind, ActionKind::Recovery);
    // Budget spent: no further qnetd fault is offered.
    assert!(!recoveries.iter().any(|action| action.kind == ActionKind::Fault));
}

#[test]
fn a_two_node_lms_split_brain_through_qnetd_is_found_and_replays_issue_14() {
    // 2nodelms keeps a vote while cut from qnetd (until its own membership changes), and a
    // node that boots alone and is the only client qnetd has gets ACK as the last man: from
    // the cold start node 2 boots first (alone, ACK), is cut from qnetd (keeps ACK, one
    // fault), node 1 boots cut off from node 2 (a start into a partition of its own while
    // node 2 runs, the second fault) and is qnetd's only client: both quorate.
    let settings = with_qnetd(2, "2nodelms", 1);
    let check_options = CheckOptions {
        model: options(2, false),
        stop_at: Some(NO_SPLIT_BRAIN),
        ..CheckOptions::default()
    };
    let report = check(&settings, &check_options, &mut |_| {}).unwrap();
    let verdict = report
        .properties
        .iter()
        .find(|verdict| verdict.name == NO_SPLIT_BRAIN)
        .unwrap();
    assert!(!verdict.holds);
    let script: Vec<String> = verdict.counterexample.iter().map(Step::to_string).collect();
    assert_eq!(
        script,
        vec!["qnetd up", "down 1 2", "up 0:2", "qnetd cut 2", "up 1:1"]
    );
    let mut cluster = model::quorum::ClusterState::new(&settings).unwrap();
    for step in &verdict.counterexample {
        assert!(!cluster.apply(&settings, step).rejected);
    }
    assert!(cluster.split_brain());
    // ffsplit in the same place: a node cut from qnetd NACKs at once, no split-brain (the
    // ffsplit test above holds every property at budget 2).
    let ffsplit = with_qnetd(2, "ffsplit", 1);
    let mut cluster = model::quorum::ClusterState::new(&ffsplit).unwrap();
    for step in &verdict.counterexample {
        cluster.apply(&ffsplit, step);
    }
    assert!(!cluster.split_brain());
}
