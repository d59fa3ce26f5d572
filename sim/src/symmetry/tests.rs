//! Brute-force tests of the one symmetry rule (issue 8): for every auto_tie_breaker mode
//! (lowest, highest, lists), 2-6 nodes, equal and unequal votes, the reduced `exhaustive`
//! analysis gives the counts of the plain enumeration, the reduced `check` gives the
//! verdicts of the unreduced one, its successor sets commute with every transposition inside
//! a class, and it visits exactly the orbits of the unreduced reachable states.

use super::*;
use crate::check::{CheckState, ModelOptions, OperatorActions, QuorumModel};
use crate::exhaustive::{self, Analysis, ExhaustiveOptions};
use model::quorum::ClusterState;
use model::scenario::{LinkScope, NodeRef, NodeSpec, Step};
use stateright::{Checker, Model, Representative};
use std::collections::{HashSet, VecDeque};

/// `count` nodes with `votes` (cycled) and the given ATB mode (`None`: ATB off).
fn settings(count: u32, votes: &[u32], atb: Option<TieBreaker>) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(count);
    for (node, vote) in settings.nodes.iter_mut().zip(votes.iter().cycle()) {
        node.votes = *vote;
    }
    if let Some(mode) = atb {
        settings.auto_tie_breaker = true;
        settings.auto_tie_breaker_node = Some(mode);
    }
    settings
}

/// Every ATB mode on 2-6 nodes, equal and unequal votes (a heavy first or last node), and
/// lists naming some nodes (first, last, two of them) so unnamed nodes stay interchangeable.
fn atb_family() -> Vec<(String, QuorumSettings)> {
    let mut family = Vec::new();
    for count in 2..=6u32 {
        let mut votes_patterns = vec![vec![1], vec![2, 1], vec![1; count as usize]];
        if let Some(last) = votes_patterns[2].last_mut() {
            *last = 3;
        }
        let mut modes = vec![TieBreaker::Lowest, TieBreaker::Highest, TieBreaker::List(vec![1])];
        modes.push(TieBreaker::List(vec![count]));
        if count >= 3 {
            modes.push(TieBreaker::List(vec![2, count]));
        }
        for votes in &votes_patterns {
            for mode in &modes {
                family.push((
                    format!("{count} nodes, votes {votes:?}, atb {mode:?}"),
                    settings(count, votes, Some(mode.clone())),
                ));
            }
        }
    }
    family
}

fn analyze(settings: &QuorumSettings, symmetry: bool) -> Analysis {
    let options = ExhaustiveOptions {
        symmetry,
        ..ExhaustiveOptions::default()
    };
    exhaustive::analyze(settings, &options, &mut |_| {}).unwrap()
}

/// The counts of an analysis that symmetry must not change.
fn counts(analysis: &Analysis) -> String {
    let losses: u128 = analysis.smallest_total_loss.iter().map(|set| set.count).sum();
    format!(
        "total {} classes {:?} sizes {:?} split {} {} tolerated {:?} {:?} losses {losses} links {:?}",
        analysis.scenarios.total,
        analysis.classes,
        analysis.failure_sizes,
        analysis.split_brain.running,
        analysis.split_brain.cold_start,
        analysis.always_tolerated_node_failures,
        analysis.cold_start_tolerated_missing_nodes,
        analysis.single_link_failures,
    )
}

#[test]
fn exhaustive_symmetry_gives_the_plain_counts_for_every_tie_breaker() {
    let mut reduced_somewhere = false;
    for (name, settings) in atb_family() {
        let reduced = analyze(&settings, true);
        let plain = analyze(&settings, false);
        assert_eq!(counts(&reduced), counts(&plain), "{name}");
        assert_eq!(reduced.split_brain.possible, plain.split_brain.possible, "{name}");
        reduced_somewhere |= reduced.scenarios.evaluated < plain.scenarios.evaluated;
    }
    // Unnamed nodes of a list form classes: the test exercised a real reduction.
    assert!(reduced_somewhere);
}

#[test]
fn classes_single_out_exactly_the_ids_the_engine_reads() {
    let ids = [1, 2, 3, 4, 5];
    assert_eq!(
        node_classes(&settings(5, &[1], Some(TieBreaker::Lowest)), &ids).len(),
        5
    );
    assert_eq!(
        node_classes(&settings(5, &[1], Some(TieBreaker::Highest)), &ids).len(),
        5
    );
    let list = settings(5, &[1], Some(TieBreaker::List(vec![2, 5])));
    assert_eq!(node_classes(&list, &ids), [vec![0, 2, 3], vec![1], vec![4]]);
    // last_man_standing re-arms its window on the lowest id being present: every id matters.
    let mut lms = list.clone();
    lms.last_man_standing = true;
    assert_eq!(node_classes(&lms, &ids).len(), 5);
    let invalid = settings(5, &[2, 1], Some(TieBreaker::Invalid));
    assert_eq!(node_classes(&invalid, &ids), [vec![0, 2, 4], vec![1, 3]]);
}

fn model_options(max_faults: u8) -> ModelOptions {
    ModelOptions {
        max_faults,
        operator: OperatorActions::default(),
        fixed_order: false,
    }
}

/// A budget that keeps the unreduced runs of the family small in a debug build.
fn budget(count: usize) -> u8 {
    match count {
        0..=2 => 2,
        3 => 1,
        _ => 0,
    }
}

/// The properties a full DFS finds violated (the exhaustive phase of `check::check`, the
/// only one symmetry reduction takes part in), and its unique state count.
fn violated(settings: &QuorumSettings, max_faults: u8, symmetry: bool) -> (Vec<&'static str>, usize) {
    let model = QuorumModel::new(settings, model_options(max_faults)).unwrap();
    let checker = if symmetry {
        model.checker().threads(1).symmetry().spawn_dfs().join()
    } else {
        model.without_symmetry().checker().threads(1).spawn_dfs().join()
    };
    let mut names: Vec<&'static str> = checker.discoveries().keys().copied().collect();
    names.sort_unstable();
    (names, checker.unique_state_count())
}

#[test]
fn check_symmetry_gives_the_unreduced_verdicts_for_every_tie_breaker() {
    // Lowest/highest permute no node (only labels and time) and cost the same: 2-3 nodes;
    // lists, whose unnamed nodes are permuted: 2-4 nodes (5-6 take minutes unreduced).
    let small = |settings: &QuorumSettings| match settings.auto_tie_breaker_node {
        Some(TieBreaker::List(_)) => settings.nodes.len() <= 4,
        _ => settings.nodes.len() <= 3,
    };
    for (name, settings) in atb_family().into_iter().filter(|(_, settings)| small(settings)) {
        let max_faults = budget(settings.nodes.len());
        let (reduced, reduced_states) = violated(&settings, max_faults, true);
        let started = std::time::Instant::now();
        let (plain, plain_states) = violated(&settings, max_faults, false);
        if std::env::var_os("SYMMETRY_DEBUG").is_some() {
            eprintln!("{name}: {plain_states} states, {:?}", started.elapsed());
        }
        assert_eq!(reduced, plain, "{name}");
        assert!(reduced_states <= plain_states, "{name}");
    }
}

/// `step` with every node id mapped by `map`, node lists in ascending order (as generators
/// write them), so that the image of a proposed step is comparable with proposed steps.
pub(crate) fn map_step(step: &Step, map: &dyn Fn(&NodeRef) -> NodeRef) -> Step {
    let nodes = |list: &[NodeRef]| {
        let mut mapped = list.iter().map(map).collect::<Vec<_>>();
        mapped.sort();
        mapped
    };
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
        Step::Stop(list) => Step::Stop(nodes(list)),
        Step::Link { link, up, scope } => Step::Link {
            link: *link,
            up: *up,
            scope: match scope {
                LinkScope::All => LinkScope::All,
                LinkScope::Nodes(list) => LinkScope::Nodes(nodes(list)),
                LinkScope::Between(a, b) => {
                    let (a, b) = (map(a), map(b));
                    if a <= b {
                        LinkScope::Between(a, b)
                    } else {
                        LinkScope::Between(b, a)
                    }
                }
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
pub(crate) fn reachable(model: &QuorumModel, limit: usize) -> Vec<CheckState> {
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

/// A comparable form of a successor: the cluster normalised by `permuted` (which clears
/// fields no transition reads), the budget and the stability flag.
type Successor = (ClusterState, u8, bool);

/// The successors of `state` per step (every delivery-order variant of a step together),
/// each mapped by `perm`; a step that changes nothing counts as the state itself.
fn successor_sets(
    model: &QuorumModel,
    state: &CheckState,
    perm: &[usize],
) -> Vec<(Step, HashSet<Successor>)> {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    let mut sets: Vec<(Step, HashSet<Successor>)> = Vec::new();
    for action in actions {
        let next = model
            .next_state(state, action.clone())
            .unwrap_or_else(|| state.clone());
        let image = (next.cluster.permuted(perm).unwrap(), next.spent, next.unstable);
        match sets.iter_mut().find(|(step, _)| *step == action.step()) {
            Some((_, set)) => {
                set.insert(image);
            }
            None => sets.push((action.step(), HashSet::from([image]))),
        }
    }
    sets
}

/// How many (state, step) pairs of up to `limit` reachable states do not commute with
/// swapping two nodes of one of `model`'s classes: the successor set (over every delivery
/// order) of the swapped state under the swapped step must be the swapped successor set,
/// the swapped state must propose exactly the swapped steps, and every property must give
/// the same answer. Zero means every such swap is a symmetry (as far as these states go).
pub(crate) fn non_commuting_sets(model: &QuorumModel, classes: &[Vec<usize>], limit: usize) -> usize {
    let properties = model.properties();
    let states = reachable(&model.without_symmetry(), limit);
    let nodeids = states[0].cluster.nodeids().to_vec();
    let identity: Vec<usize> = (0..nodeids.len()).collect();
    let mut checked = 0;
    let mut failures = 0;
    for class in classes {
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
                        if (property.condition)(model, state) != (property.condition)(model, &swapped) {
                            failures += 1;
                        }
                    }
                    let left = successor_sets(model, state, &perm);
                    let right = successor_sets(model, &swapped, &identity);
                    if left.len() != right.len() {
                        failures += 1;
                    }
                    for (step, set) in &left {
                        checked += 1;
                        let image = map_step(step, &map);
                        match right.iter().find(|(other, _)| *other == image) {
                            Some((_, other)) if other == set => {}
                            found => {
                                if failures == 0 && std::env::var_os("SYMMETRY_DEBUG").is_some() {
                                    eprintln!(
                                        "swap {a} {b}\nstate {:?}\nstep {step}\nleft {:#?}\nright {:#?}",
                                        state.cluster, set, found
                                    );
                                }
                                failures += 1
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} steps checked");
    failures
}

/// Every permutation of positions that maps each class onto itself.
fn class_permutations(count: usize, classes: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut perms = vec![(0..count).collect::<Vec<usize>>()];
    for class in classes {
        let mut orders = Vec::new();
        let mut items = class.clone();
        permute(&mut items, 0, &mut orders);
        let mut next = Vec::new();
        for perm in &perms {
            for order in &orders {
                let mut extended = perm.clone();
                for (source, target) in class.iter().zip(order) {
                    extended[*source] = *target;
                }
                next.push(extended);
            }
        }
        perms = next;
    }
    perms
}

fn permute(items: &mut Vec<usize>, start: usize, out: &mut Vec<Vec<usize>>) {
    if start + 1 >= items.len() {
        out.push(items.clone());
        return;
    }
    for index in start..items.len() {
        items.swap(start, index);
        permute(items, start + 1, out);
        items.swap(start, index);
    }
}

/// A true canonical form of `state`'s orbit: the least (by its `Debug` text) image over
/// every class permutation, labels and time canonicalised.
fn orbit(state: &CheckState, perms: &[Vec<usize>]) -> String {
    perms
        .iter()
        .map(|perm| {
            let image = state.cluster.permuted(perm).unwrap().symmetry_representative(&[]);
            format!("{} {} {image:?}", state.spent, state.unstable)
        })
        .min()
        .unwrap_or_default()
}

/// The states a symmetric DFS visits: deduplicated by `Representative`, continuing from the
/// original states (as stateright's DFS does).
fn symmetric_visits(model: &QuorumModel) -> Vec<CheckState> {
    let mut seen: HashSet<CheckState> = HashSet::new();
    let mut stack: Vec<CheckState> = Vec::new();
    for init in model.init_states() {
        if seen.insert(init.representative()) {
            stack.push(init);
        }
    }
    let mut visited = Vec::new();
    while let Some(state) = stack.pop() {
        for (_, next) in model.next_steps(&state) {
            if model.within_boundary(&next) && seen.insert(next.representative()) {
                stack.push(next);
            }
        }
        visited.push(state);
    }
    visited
}

/// The reduced model visits one state per orbit of the unreduced reachable set: the same
/// orbits, so the reduction loses no behaviour and merges only symmetric states.
fn assert_same_orbits(name: &str, model: &QuorumModel) {
    let count = model.init_states()[0].cluster.nodeids().len();
    let perms = class_permutations(count, model.symmetry_classes());
    let all = reachable(&model.without_symmetry(), usize::MAX);
    let orbits: HashSet<String> = all.iter().map(|state| orbit(state, &perms)).collect();
    let visits = symmetric_visits(model);
    let visited: HashSet<String> = visits.iter().map(|state| orbit(state, &perms)).collect();
    assert_eq!(visited, orbits, "{name}");
    assert!(visits.len() >= orbits.len(), "{name}");
    assert!(visits.len() < all.len(), "{name}: no reduction");
}

#[test]
fn check_classes_commute_with_every_order_under_tie_breaker_lists() {
    let mut tested = 0;
    for (name, settings) in atb_family() {
        let count = settings.nodes.len();
        let model = QuorumModel::new(&settings, model_options(budget(count).max(1))).unwrap();
        if model.symmetry_classes().is_empty() || count > 4 {
            continue;
        }
        assert_eq!(model.order_rule(), OrderRule::AllOrders, "{name}");
        assert_eq!(
            non_commuting_sets(&model, model.symmetry_classes(), 60),
            0,
            "{name}"
        );
        if count <= 3 {
            assert_same_orbits(&name, &QuorumModel::new(&settings, model_options(1)).unwrap());
        }
        tested += 1;
    }
    assert!(tested >= 4, "only {tested} configurations had classes");
}

/// The order-sensitive options beyond auto_tie_breaker: permuting nodes is sound once every
/// delivery order is followed, and unsound with the ascending order alone.
#[test]
fn node_permutation_needs_every_delivery_order_where_order_matters() {
    let mut wait_for_all = QuorumSettings::plain(3);
    wait_for_all.wait_for_all = Some(true);
    let mut lms = QuorumSettings::plain(3);
    lms.last_man_standing = true;
    lms.last_man_standing_window_ms = 1000;
    let mut low = QuorumSettings::plain(3);
    low.expected_votes = Some(2);
    let mut two_node = QuorumSettings::plain(2);
    two_node.two_node = true;
    let mut downscale = QuorumSettings::plain(3);
    downscale.allow_downscale = true;
    for (name, settings) in [
        ("wait_for_all", wait_for_all.clone()),
        ("last_man_standing", lms),
        ("expected_votes 2", low),
        ("two_node", two_node),
        ("allow_downscale", downscale),
    ] {
        let model = QuorumModel::new(&settings, model_options(2)).unwrap();
        assert_eq!(model.order_rule(), OrderRule::AllOrders, "{name}");
        assert!(!model.symmetry_classes().is_empty(), "{name}");
        assert_eq!(
            non_commuting_sets(&model, model.symmetry_classes(), 250),
            0,
            "{name}"
        );
        assert_same_orbits(name, &QuorumModel::new(&settings, model_options(1)).unwrap());
        let fixed = model.with_fixed_order();
        assert_eq!(fixed.order_rule(), OrderRule::AscendingOnly, "{name}");
        assert!(fixed.symmetry_classes().is_empty(), "{name}");
        assert!(fixed
            .no_permutation_reason()
            .is_some_and(|reason| reason.contains("--fixed-order")));
    }
    // The ascending order alone does not commute with swapping nodes (TV22's asymmetry):
    // why `--fixed-order` keeps nodes apart.
    let fixed = QuorumModel::new(
        &wait_for_all,
        ModelOptions {
            fixed_order: true,
            ..model_options(2)
        },
    )
    .unwrap();
    assert!(non_commuting_sets(&fixed, &[vec![0, 1, 2]], 250) > 0);
}

#[test]
fn reasons_name_the_option_that_keeps_nodes_apart() {
    let mut wait_for_all = QuorumSettings::plain(7);
    wait_for_all.wait_for_all = Some(true);
    let model = QuorumModel::new(&wait_for_all, model_options(0)).unwrap();
    assert_eq!(model.order_rule(), OrderRule::SampledOrders);
    assert!(model.symmetry_classes().is_empty());
    assert!(model
        .no_permutation_reason()
        .is_some_and(|reason| reason.starts_with("wait_for_all") && reason.contains("more than 6 nodes")));
    let lowest = settings(3, &[1], Some(TieBreaker::Lowest));
    let model = QuorumModel::new(&lowest, model_options(0)).unwrap();
    assert_eq!(
        model.no_permutation_reason(),
        Some("auto_tie_breaker: node ids decide ties")
    );
    let plain = QuorumModel::new(&QuorumSettings::plain(3), model_options(0)).unwrap();
    assert_eq!(plain.no_permutation_reason(), None);
    assert_eq!(
        plain.without_symmetry().no_permutation_reason(),
        Some("symmetry reduction is off")
    );
}
