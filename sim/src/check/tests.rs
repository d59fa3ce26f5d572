//! Unit tests of the check model: pinned state counts, symmetry soundness, known verdicts.

use super::*;
use model::quorum::{QuorumSettings, TieBreaker};
use model::scenario::{LinkScope, NodeRef, NodeSpec, Step};
use stateright::{Checker, Model};
use std::collections::{HashSet, VecDeque};

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
    // (BFS, DFS, DFS + symmetry). Symmetry reduces 3 nodes by 21x and 5 nodes (cold start
    // only) by 230x: node permutations, partition relabelling and the time shift together.
    assert_eq!(counts(&QuorumSettings::plain(2), 2), (245, 245, 73));
    assert_eq!(counts(&QuorumSettings::plain(3), 2), (14597, 14597, 690));
    assert_eq!(counts(&QuorumSettings::plain(5), 0), (14008, 14008, 61));
    let five = QuorumModel::new(&QuorumSettings::plain(5), options(1, false)).unwrap();
    let symmetric = five.checker().threads(1).symmetry().spawn_dfs().join();
    assert_eq!(symmetric.unique_state_count(), 1138);
}

/// `step` with every node id mapped by `map`.
fn map_step(step: &Step, map: &dyn Fn(&NodeRef) -> NodeRef) -> Step {
    let nodes = |list: &[NodeRef]| list.iter().map(map).collect::<Vec<_>>();
    let specs = |list: &[NodeSpec]| {
        list.iter()
            .map(|spec| NodeSpec {
                partition: spec.partition,
                nodes: nodes(&spec.nodes),
            })
            .collect::<Vec<_>>()
    };
    match step {
        Step::Up(list) => Step::Up(specs(list)),
        Step::Move(list) => Step::Move(specs(list)),
        Step::Down(list) => Step::Down(nodes(list)),
        Step::Link { link, up, scope } => Step::Link {
            link: *link,
            up: *up,
            scope: match scope {
                LinkScope::All => LinkScope::All,
                LinkScope::Nodes(list) => LinkScope::Nodes(nodes(list)),
                LinkScope::Between(a, b) => LinkScope::Between(map(a), map(b)),
            },
        },
        Step::Expected { votes, node } => Step::Expected {
            votes: *votes,
            node: map(node),
        },
        other => other.clone(),
    }
}

/// Up to `limit` states reachable in `model`, breadth first.
fn reachable(model: &QuorumModel, limit: usize) -> Vec<CheckState> {
    let mut seen: HashSet<CheckState> = HashSet::new();
    let mut queue: VecDeque<CheckState> = model.init_states().into();
    let mut states = Vec::new();
    while let Some(state) = queue.pop_front() {
        if states.len() >= limit {
            break;
        }
        if !seen.insert(state.clone()) {
            continue;
        }
        for (_, next) in model.next_steps(&state) {
            if model.within_boundary(&next) {
                queue.push_back(next);
            }
        }
        states.push(state);
    }
    states
}

/// How many transitions of reachable states (up to `limit`) do not commute with swapping
/// two nodes of `class`, or tell the swapped state apart by a property. Zero means swapping
/// those nodes is a symmetry of the model (as far as these states go).
fn non_commuting(
    settings: &QuorumSettings,
    model_options: ModelOptions,
    class: &[usize],
    limit: usize,
) -> usize {
    let model = QuorumModel::new(settings, model_options).unwrap();
    let properties = model.properties();
    let states = reachable(&model.without_symmetry(), limit);
    let nodeids = states[0].cluster.nodeids().to_vec();
    let identity: Vec<usize> = (0..nodeids.len()).collect();
    let mut checked = 0;
    let mut failures = 0;
    for (index, a) in class.iter().enumerate() {
        for b in &class[index + 1..] {
            let mut perm = identity.clone();
            perm.swap(*a, *b);
            let map = |node: &NodeRef| match node {
                NodeRef::Id(id) => {
                    let pos = nodeids.iter().position(|known| known == id).unwrap();
                    NodeRef::Id(nodeids[perm[pos]])
                }
                other => other.clone(),
            };
            for state in &states {
                let swapped = state.with_cluster(state.cluster.permuted(&perm).unwrap());
                for property in &properties {
                    if (property.condition)(&model, state) != (property.condition)(&model, &swapped) {
                        failures += 1;
                    }
                }
                let mut actions = Vec::new();
                model.actions(state, &mut actions);
                for action in actions {
                    let image = CheckAction {
                        step: map_step(&action.step, &map),
                        kind: action.kind,
                        order: action.order,
                    };
                    // `None` (no change) counts as the state itself: permuted states
                    // normalise fields no transition reads, so "no change" can differ.
                    let left = model
                        .next_state(state, action.clone())
                        .unwrap_or_else(|| state.clone())
                        .cluster
                        .permuted(&perm)
                        .unwrap();
                    let right = model
                        .next_state(&swapped, image)
                        .unwrap_or_else(|| swapped.clone())
                        .cluster
                        .permuted(&identity)
                        .unwrap();
                    checked += 1;
                    if left != right {
                        failures += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} transitions checked");
    failures
}

/// The model permutes nodes for `settings`, and that commutes with every transition.
fn assert_node_symmetry_sound(settings: &QuorumSettings, model_options: ModelOptions) {
    let model = QuorumModel::new(settings, model_options).unwrap();
    assert!(!model.symmetry_classes().is_empty());
    for class in model.symmetry_classes() {
        assert_eq!(non_commuting(settings, model_options, class, 3000), 0);
    }
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

/// Why nodes are not permuted with operator actions, LMS, a low `expected_votes` or
/// wait_for_all: nodes then disagree about expected votes (or WFA status), and the nodeid
/// order of ring-change messages changes what they record. The model keeps nodes apart.
#[test]
fn node_symmetry_is_unsound_when_expected_votes_can_differ() {
    let all = [0, 1, 2];
    assert!(non_commuting(&QuorumSettings::plain(3), options(2, true), &all, 3000) > 0);
    let mut lms = QuorumSettings::plain(3);
    lms.last_man_standing = true;
    lms.last_man_standing_window_ms = 1000;
    let mut low = QuorumSettings::plain(3);
    low.expected_votes = Some(2);
    let mut wait_for_all = QuorumSettings::plain(4);
    wait_for_all.wait_for_all = Some(true);
    assert!(non_commuting(&wait_for_all, options(2, false), &[0, 1, 2, 3], 3000) > 0);
    let mut two_node = QuorumSettings::plain(2);
    two_node.two_node = true;
    for (settings, operator) in [
        (QuorumSettings::plain(3), true),
        (lms, false),
        (low, false),
        (wait_for_all, false),
        (two_node, false),
    ] {
        let model = QuorumModel::new(&settings, options(2, operator)).unwrap();
        assert!(model.symmetry_classes().is_empty());
    }
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
    let report = check(
        &settings,
        &CheckOptions {
            model: options(0, false),
            ..CheckOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(report.symmetry.is_empty());
    let verdict = report.first_violated_safety().unwrap();
    assert_eq!(verdict.counterexample[0].to_string(), "down 1 2 3 4");
}

fn wait_for_all_three() -> QuorumSettings {
    let mut settings = QuorumSettings::plain(3);
    settings.wait_for_all = Some(true);
    settings
}

/// Unique states of a full single-threaded DFS of `settings` with symmetry reduction (for
/// these configurations: partition labels and time only), as `quorate check` counts them.
fn dfs_count(settings: &QuorumSettings, model_options: ModelOptions) -> usize {
    let model = QuorumModel::new(settings, model_options).unwrap();
    assert!(model.symmetry_classes().is_empty());
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
    assert_eq!(dfs_count(&settings, fixed), 2607);
    assert_eq!(dfs_count(&settings, options(2, false)), 2622);
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
                Step::Move(vec![NodeSpec {
                    partition: Some(1),
                    nodes: vec![NodeRef::Id(2), NodeRef::Id(3)],
                }]),
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
    let variants: Vec<&CheckAction> = actions.iter().filter(|action| action.step == step).collect();
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
