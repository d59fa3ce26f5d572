//! Tests of the exhaustive analysis: counts against Bell numbers, symmetry reduction against
//! the plain enumeration, the membership cache against whole-scenario engine runs, and the
//! split-brain findings of the spec's test vectors.

use super::enumerate::bell;
use super::*;
use model::quorum::{NodeSettings, TieBreaker, Transport};

fn analyze_with(settings: &QuorumSettings, symmetry: bool) -> Analysis {
    let options = ExhaustiveOptions {
        symmetry,
        ..ExhaustiveOptions::default()
    };
    analyze(settings, &options, &mut |_| {}).unwrap()
}

fn with_votes(votes: &[u32]) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(votes.len() as u32);
    for (node, vote) in settings.nodes.iter_mut().zip(votes) {
        node.votes = *vote;
    }
    settings
}

fn two_node(wait_for_all: Option<bool>) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(2);
    settings.two_node = true;
    settings.wait_for_all = wait_for_all;
    settings
}

/// Configurations with interesting symmetry: equal and unequal votes, options, links.
fn variety() -> Vec<(&'static str, QuorumSettings)> {
    let mut list = vec![
        ("plain 3", QuorumSettings::plain(3)),
        ("plain 5", QuorumSettings::plain(5)),
        ("votes 1 1 2 3", with_votes(&[1, 1, 2, 3])),
        ("votes 2 1 1 1 2 1", with_votes(&[2, 1, 1, 1, 2, 1])),
        ("two_node", two_node(None)),
        ("two_node wfa 0", two_node(Some(false))),
    ];
    let mut expected = QuorumSettings::plain(4);
    expected.expected_votes = Some(3);
    list.push(("4 nodes expected_votes 3", expected));
    let mut wait = QuorumSettings::plain(5);
    wait.wait_for_all = Some(true);
    list.push(("5 nodes wait_for_all", wait));
    let mut atb = QuorumSettings::plain(4);
    atb.auto_tie_breaker = true;
    list.push(("4 nodes atb lowest", atb));
    let mut atb_list = QuorumSettings::plain(6);
    atb_list.auto_tie_breaker = true;
    atb_list.auto_tie_breaker_node = Some(TieBreaker::List(vec![4]));
    list.push(("6 nodes atb list 4", atb_list));
    let mut lms = QuorumSettings::plain(5);
    lms.last_man_standing = true;
    list.push(("5 nodes lms", lms));
    let mut links = QuorumSettings::plain(5);
    for (node, node_links) in
        links
            .nodes
            .iter_mut()
            .zip([vec![0, 1], vec![0, 1], vec![0], vec![1], vec![0, 1]])
    {
        node.links = node_links;
    }
    list.push(("5 nodes mixed links", links));
    let mut udpu = with_votes(&[1, 1, 1, 2]);
    udpu.transport = Transport::Udpu;
    for node in &mut udpu.nodes {
        node.links = vec![0, 1];
    }
    list.push(("udpu with two addresses", udpu));
    list
}

#[test]
fn totals_are_bell_numbers_times_link_sets() {
    for count in 1..=6u32 {
        let settings = QuorumSettings::plain(count);
        for symmetry in [true, false] {
            let analysis = analyze_with(&settings, symmetry);
            assert_eq!(
                analysis.scenarios.total,
                bell(count as usize + 1),
                "{count} nodes"
            );
            assert_eq!(analysis.scenarios.link_failure_sets, 1);
        }
    }
    assert_eq!(bell(10), 115_975);
    assert_eq!(bell(11), 678_570);
    let mut two_links = QuorumSettings::plain(4);
    for node in &mut two_links.nodes {
        node.links = vec![0, 1];
    }
    let analysis = analyze_with(&two_links, true);
    assert_eq!(analysis.scenarios.link_failure_sets, 3);
    assert_eq!(analysis.scenarios.total, bell(5) * 3);
}

#[test]
fn symmetry_reduction_gives_the_counts_of_the_plain_enumeration() {
    for (name, settings) in variety() {
        let reduced = analyze_with(&settings, true);
        let plain = analyze_with(&settings, false);
        assert_eq!(reduced.scenarios.total, plain.scenarios.total, "{name}");
        assert_eq!(reduced.classes, plain.classes, "{name}");
        assert_eq!(reduced.failure_sizes, plain.failure_sizes, "{name}");
        assert_eq!(reduced.grid, plain.grid, "{name}");
        assert_eq!(reduced.split_brain.running, plain.split_brain.running, "{name}");
        assert_eq!(
            reduced.split_brain.cold_start, plain.split_brain.cold_start,
            "{name}"
        );
        assert_eq!(
            reduced.always_tolerated_node_failures, plain.always_tolerated_node_failures,
            "{name}"
        );
        let losses =
            |analysis: &Analysis| -> u128 { analysis.smallest_total_loss.iter().map(|set| set.count).sum() };
        assert_eq!(losses(&reduced), losses(&plain), "{name}");
        assert!(reduced.scenarios.evaluated <= plain.scenarios.evaluated, "{name}");
    }
}

#[test]
fn identical_nodes_collapse_to_integer_partitions() {
    let analysis = analyze_with(&QuorumSettings::plain(8), true);
    // Orbits: a down count k and an integer partition of 8 - k: sum of p(0..=8).
    let partitions = [1u64, 1, 2, 3, 5, 7, 11, 15, 22];
    assert_eq!(analysis.scenarios.evaluated, partitions.iter().sum::<u64>());
    assert_eq!(analysis.symmetry_classes.len(), 1);
}

/// All set partitions of `0..count` as restricted growth strings.
fn set_partitions(count: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = vec![0usize; count];
    fn go(index: usize, max: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if index == current.len() {
            out.push(current.clone());
            return;
        }
        for block in 0..=max + 1 {
            current[index] = block;
            go(index + 1, max.max(block), current, out);
        }
    }
    if count == 0 {
        out.push(Vec::new());
    } else {
        go(1, 0, &mut current, &mut out);
    }
    out
}

/// The class of the final state of a whole-scenario engine run.
fn class_of(state: &ClusterState) -> OutcomeClass {
    let up = state.up_nodes();
    let quorate = state.quorate_set();
    if up.is_empty() {
        OutcomeClass::AllDown
    } else if state.split_brain() {
        OutcomeClass::SplitBrain
    } else if quorate.is_empty() {
        OutcomeClass::NoneQuorate
    } else if quorate == up {
        OutcomeClass::AllQuorate
    } else {
        OutcomeClass::OneQuorate
    }
}

/// Brute force without the cache: every (down set, partition) as a script through the
/// engine, both cases, classified from the final state.
fn brute_force(settings: &QuorumSettings) -> Vec<ClassCount> {
    let initial = ClusterState::new(settings).unwrap();
    let node_ids = initial.nodeids().to_vec();
    let count = node_ids.len();
    let mut counts: Vec<ClassCount> = OutcomeClass::ALL
        .iter()
        .map(|class| ClassCount {
            class: *class,
            running: 0,
            cold_start: 0,
        })
        .collect();
    for labels in set_partitions(count + 1) {
        // Element `count` marks the down block.
        let down_label = labels[count];
        let mut down = NodeSet::EMPTY;
        let mut blocks: Vec<NodeSet> = Vec::new();
        let mut block_labels: Vec<usize> = Vec::new();
        for (pos, label) in labels[..count].iter().enumerate() {
            if *label == down_label {
                down.insert(pos);
                continue;
            }
            match block_labels.iter().position(|existing| existing == label) {
                Some(index) => blocks[index] |= NodeSet::single(pos),
                None => {
                    block_labels.push(*label);
                    blocks.push(NodeSet::single(pos));
                }
            }
        }
        let scenario = Scenario {
            down,
            blocks,
            links_down: 0,
        };
        for case in [Case::Running, Case::ColdStart] {
            let script = witness_script(&node_ids, &scenario, case);
            let parsed = model::scenario::parse(&script).unwrap();
            let mut state = initial.clone();
            for step in &parsed.steps {
                let outcome = state.apply(settings, step);
                assert!(!outcome.rejected, "{script}: {:?}", outcome.notes);
            }
            let class = class_of(&state);
            let entry = counts.iter_mut().find(|entry| entry.class == class).unwrap();
            match case {
                Case::Running => entry.running += 1,
                Case::ColdStart => entry.cold_start += 1,
            }
        }
    }
    counts
}

#[test]
fn cached_memberships_agree_with_whole_scenario_engine_runs() {
    for (name, settings) in variety() {
        let one_link = settings.nodes.iter().all(|node| node.links == [0]);
        if !one_link || settings.nodes.len() > 5 {
            continue;
        }
        let analysis = analyze_with(&settings, true);
        assert_eq!(analysis.classes, brute_force(&settings), "{name}");
    }
}

#[test]
fn two_node_splits_in_the_running_case_tv12() {
    let settings = two_node(None);
    let analysis = analyze_with(&settings, true);
    assert!(analysis.split_brain.possible);
    let witness = analysis.split_brain.witness.unwrap();
    assert_eq!(witness.case, Case::Running);
    assert_eq!(witness.script, "move 1:2");
    assert_eq!(witness.description, "partition 1 | 2");
    assert!(witness.replay_verified);
    assert!(replay_shows_split_brain(&settings, &witness.script));
    // wait_for_all (on by default with two_node) protects the cold start.
    assert_eq!(analysis.split_brain.cold_start, 0);
}

#[test]
fn two_node_without_wait_for_all_splits_at_cold_start() {
    let settings = two_node(Some(false));
    let analysis = analyze_with(&settings, true);
    assert!(analysis.split_brain.cold_start > 0);
    let cold = analyze_with(&settings, true);
    assert!(cold.split_brain.witness.unwrap().replay_verified);
    // The same scenario as a cold start: boot each node alone.
    let script = "down 1 2\nup 1 1:2";
    assert!(replay_shows_split_brain(&settings, script));
}

#[test]
fn low_expected_votes_split_only_at_cold_start() {
    let mut settings = QuorumSettings::plain(4);
    settings.expected_votes = Some(3);
    let analysis = analyze_with(&settings, true);
    assert_eq!(analysis.split_brain.running, 0);
    assert!(analysis.split_brain.possible);
    let witness = analysis.split_brain.witness.unwrap();
    assert_eq!(witness.case, Case::ColdStart);
    assert_eq!(witness.description, "partition 1,2 | 3,4");
    assert_eq!(witness.script, "down 1 2 3 4\nup 1,2 1:3,4");
    assert!(witness.replay_verified);
}

#[test]
fn plain_clusters_tolerate_a_minority_and_never_split() {
    for (count, tolerated) in [(3u32, 1u32), (5, 2), (4, 1)] {
        let analysis = analyze_with(&QuorumSettings::plain(count), true);
        assert!(!analysis.split_brain.possible, "{count} nodes");
        assert!(analysis.split_brain.witness.is_none());
        assert_eq!(
            analysis.always_tolerated_node_failures,
            Some(tolerated),
            "{count} nodes"
        );
        let smallest = &analysis.smallest_total_loss;
        assert_eq!(smallest.len(), 1, "one representative for identical nodes");
        assert_eq!(smallest[0].down.len() as u32, tolerated + 1);
        let expected: u128 = (0..=tolerated).fold(1u128, |acc, k| acc * u128::from(count - k))
            / (1..=u128::from(tolerated + 1)).product::<u128>();
        assert_eq!(smallest[0].count, expected, "C({count}, {})", tolerated + 1);
    }
}

#[test]
fn heavy_node_failure_is_the_smallest_total_loss() {
    // 1+1+3 votes: quorum 3; losing the 3-vote node loses quorum everywhere.
    let analysis = analyze_with(&with_votes(&[1, 1, 3]), true);
    assert_eq!(analysis.always_tolerated_node_failures, Some(0));
    assert_eq!(
        analysis.smallest_total_loss,
        vec![DownSet {
            down: vec![3],
            count: 1
        }]
    );
}

#[test]
fn single_link_failures_matter_only_without_redundancy() {
    let one = analyze_with(&QuorumSettings::plain(3), true);
    assert_eq!(
        one.single_link_failures,
        vec![LinkFailure {
            link: 0,
            changes_membership: true,
            quorum_kept: false,
            split_brain: false,
        }]
    );
    let mut two = QuorumSettings::plain(3);
    for node in &mut two.nodes {
        node.links = vec![0, 1];
    }
    let analysis = analyze_with(&two, true);
    assert_eq!(analysis.single_link_failures.len(), 2);
    assert!(analysis
        .single_link_failures
        .iter()
        .all(|failure| !failure.changes_membership && failure.quorum_kept));
    let mut mixed = two.clone();
    mixed.nodes[2].links = vec![0];
    let analysis = analyze_with(&mixed, true);
    let changes: Vec<bool> = analysis
        .single_link_failures
        .iter()
        .map(|failure| failure.changes_membership)
        .collect();
    assert_eq!(changes, vec![true, false]);
}

#[test]
fn partial_mesh_is_its_own_class() {
    // Node 3 has only link 0, node 4 only link 1: with every link up, 3 and 4 cannot talk.
    let mut settings = QuorumSettings::plain(4);
    for (node, links) in settings
        .nodes
        .iter_mut()
        .zip([vec![0, 1], vec![0, 1], vec![0], vec![1]])
    {
        node.links = links;
    }
    let analysis = analyze_with(&settings, true);
    let unstable = analysis
        .classes
        .iter()
        .find(|entry| entry.class == OutcomeClass::Unstable)
        .unwrap();
    assert!(unstable.running > 0);
    assert!(unstable.cold_start > 0);
}

#[test]
fn nodes_without_links_never_run() {
    let mut settings = QuorumSettings::plain(3);
    settings.nodes.push(NodeSettings {
        nodeid: 4,
        name: "node4".to_string(),
        votes: 1,
        links: Vec::new(),
    });
    let analysis = analyze_with(&settings, true);
    assert_eq!(analysis.scenarios.total, bell(5));
    // 3 of 4 expected votes: one more failure loses quorum.
    assert_eq!(analysis.always_tolerated_node_failures, Some(0));
}

#[test]
fn too_many_distinguishable_nodes_without_symmetry_is_an_error() {
    // The plain enumeration (no symmetry, so no vote sums either) has its limit; with
    // symmetry the vote-sum method counts this cluster (vote_sums_tests.rs).
    let mut settings = QuorumSettings::plain(20);
    settings.auto_tie_breaker = true;
    let options = ExhaustiveOptions {
        symmetry: false,
        ..ExhaustiveOptions::default()
    };
    let error = analyze(&settings, &options, &mut |_| {}).unwrap_err();
    assert!(matches!(error, ExhaustiveError::TooManyScenarios { .. }));
}

#[test]
fn the_orbit_estimate_is_the_number_of_evaluated_scenarios() {
    for (name, settings) in variety() {
        let options = ExhaustiveOptions::default();
        let analyzer = super::enumerate::Analyzer::new(&settings, &options).unwrap();
        let estimate = analyzer.estimated_evaluations();
        let analysis = analyze_with(&settings, true);
        assert_eq!(estimate, Some(u128::from(analysis.scenarios.evaluated)), "{name}");
    }
}

#[test]
fn thirty_two_identical_nodes_are_fast_to_enumerate() {
    let analysis = analyze_with(&QuorumSettings::plain(32), true);
    assert_eq!(analysis.scenarios.total, bell(33));
    assert_eq!(analysis.always_tolerated_node_failures, Some(15));
    assert!(!analysis.split_brain.possible);
}

/// The class of the final state, when the last step reported `unstable` groups or not.
fn class_with_unstable(state: &ClusterState, unstable: bool) -> OutcomeClass {
    let class = class_of(state);
    if unstable && class != OutcomeClass::SplitBrain && class != OutcomeClass::AllDown {
        OutcomeClass::Unstable
    } else {
        class
    }
}

/// Every scenario of `settings` (set partitions with a down block, every enumerated link
/// set) classified by the analyzer, against the engine wherever a script replays it in one
/// step: every cold start, and running failures of links alone.
fn check_scenarios_against_engine(name: &str, settings: &QuorumSettings) {
    let options = ExhaustiveOptions {
        symmetry: false,
        ..ExhaustiveOptions::default()
    };
    let mut analyzer = super::enumerate::Analyzer::new(settings, &options).unwrap();
    let initial = ClusterState::new(settings).unwrap();
    let node_ids = initial.nodeids().to_vec();
    let count = node_ids.len();
    let mut checked = 0;
    for labels in set_partitions(count + 1) {
        let down_label = labels[count];
        let mut down = NodeSet::EMPTY;
        let mut blocks: Vec<NodeSet> = Vec::new();
        let mut block_labels: Vec<usize> = Vec::new();
        for (pos, label) in labels[..count].iter().enumerate() {
            if *label == down_label {
                down.insert(pos);
            } else if let Some(index) = block_labels.iter().position(|existing| existing == label) {
                blocks[index] |= NodeSet::single(pos);
            } else {
                block_labels.push(*label);
                blocks.push(NodeSet::single(pos));
            }
        }
        for links_down in 0..=255u8 {
            let scenario = Scenario {
                down,
                blocks: blocks.clone(),
                links_down,
            };
            let Some((running, cold)) = analyzer.classify(&scenario) else {
                continue;
            };
            let mut cases = vec![(Case::ColdStart, cold)];
            if down.is_empty() && blocks.len() == 1 && links_down.count_ones() <= 1 {
                cases.push((Case::Running, running));
            }
            for (case, class) in cases {
                let script = witness_script(&node_ids, &scenario, case);
                let parsed = model::scenario::parse(&script).unwrap();
                let mut state = initial.clone();
                let mut unstable = false;
                // A final `show` settles nothing new but reports the unstable groups (also
                // those present since the start, which `ClusterState::new` does not report).
                for step in parsed.steps.iter().chain([&Step::Show]) {
                    unstable = !state.apply(settings, step).unstable.is_empty();
                }
                assert_eq!(
                    class,
                    class_with_unstable(&state, unstable),
                    "{name}: {case:?} {}",
                    script.replace('\n', "; ")
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "{name}");
}

#[test]
fn link_failures_and_partial_meshes_agree_with_the_engine() {
    let mut mixed = QuorumSettings::plain(4);
    for (node, links) in mixed
        .nodes
        .iter_mut()
        .zip([vec![0, 1], vec![0, 1], vec![0], vec![1]])
    {
        node.links = links;
    }
    check_scenarios_against_engine("4 nodes mixed links", &mixed);
    let mut redundant = with_votes(&[1, 2, 1]);
    for node in &mut redundant.nodes {
        node.links = vec![0, 1];
    }
    check_scenarios_against_engine("3 nodes two links", &redundant);
    let mut two_node_mixed = two_node(Some(false));
    two_node_mixed.nodes[0].links = vec![0, 1];
    two_node_mixed.nodes[1].links = vec![1];
    check_scenarios_against_engine("two_node mixed links", &two_node_mixed);
    let mut atb = QuorumSettings::plain(5);
    atb.auto_tie_breaker = true;
    for (node, links) in atb
        .nodes
        .iter_mut()
        .zip([vec![0, 1], vec![0], vec![0, 1], vec![1], vec![0, 1]])
    {
        node.links = links;
    }
    check_scenarios_against_engine("5 nodes atb mixed links", &atb);
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

/// Node ids of `set` as `1,2` (scenario syntax).
fn id_text(node_ids: &[NodeId], set: NodeSet) -> String {
    let mut ids: Vec<NodeId> = set.iter().map(|pos| node_ids[pos]).collect();
    ids.sort_unstable();
    ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// What brute force counts for a qnetd configuration: classes per case, and node failures
/// alone after `qnetd down` (total, lost running, lost cold) per size.
struct QnetdCounts {
    classes: Vec<ClassCount>,
    total: u128,
    healthy: u128,
    down_sizes: Vec<(u128, u128, u128)>,
}

/// Brute force for a qdevice configuration (one link), independent of the analyzer: every
/// (down set, partition) × {no qnetd fault, `qnetd down`, `qnetd cut C` for every non-empty
/// set C of running nodes} × {fault before, after}, written as script text, replayed from
/// `ClusterState::new` after `qnetd up`, classified from the final state.
fn qnetd_brute_force(settings: &QuorumSettings) -> QnetdCounts {
    let initial = ClusterState::new(settings).unwrap();
    let node_ids = initial.nodeids().to_vec();
    let count = node_ids.len();
    let mut counts = QnetdCounts {
        classes: OutcomeClass::ALL
            .iter()
            .map(|class| ClassCount {
                class: *class,
                running: 0,
                cold_start: 0,
            })
            .collect(),
        total: 0,
        healthy: 0,
        down_sizes: vec![(0, 0, 0); count + 1],
    };
    for labels in set_partitions(count + 1) {
        let down_label = labels[count];
        let mut down = NodeSet::EMPTY;
        let mut blocks: Vec<NodeSet> = Vec::new();
        let mut block_labels: Vec<usize> = Vec::new();
        for (pos, label) in labels[..count].iter().enumerate() {
            if *label == down_label {
                down.insert(pos);
            } else if let Some(index) = block_labels.iter().position(|existing| existing == label) {
                blocks[index] |= NodeSet::single(pos);
            } else {
                block_labels.push(*label);
                blocks.push(NodeSet::single(pos));
            }
        }
        let up = NodeSet::first(count) - down;
        let mut faults: Vec<(Option<String>, bool)> = vec![(None, true)];
        for before in [true, false] {
            faults.push((Some("qnetd down".to_string()), before));
            for cut in up.subsets().filter(|set| !set.is_empty()) {
                faults.push((Some(format!("qnetd cut {}", id_text(&node_ids, cut))), before));
            }
        }
        for (fault, before) in &faults {
            counts.total += 1;
            if fault.is_none() {
                counts.healthy += 1;
            }
            let mut lost = [false; 2];
            for (case_index, case) in [Case::Running, Case::ColdStart].into_iter().enumerate() {
                let mut lines = vec!["qnetd up".to_string()];
                if case == Case::ColdStart {
                    lines.push(format!(
                        "down {}",
                        id_text(&node_ids, NodeSet::first(count)).replace(',', " ")
                    ));
                }
                if *before {
                    lines.extend(fault.clone());
                }
                match case {
                    Case::Running => {
                        if !down.is_empty() {
                            lines.push(format!("down {}", id_text(&node_ids, down).replace(',', " ")));
                        }
                        let moved: Vec<String> = blocks
                            .iter()
                            .enumerate()
                            .skip(1)
                            .map(|(at, block)| format!("{at}:{}", id_text(&node_ids, *block)))
                            .collect();
                        if !moved.is_empty() {
                            lines.push(format!("move {}", moved.join(" ")));
                        }
                    }
                    Case::ColdStart => {
                        let booted: Vec<String> = blocks
                            .iter()
                            .enumerate()
                            .map(|(at, block)| {
                                if at == 0 {
                                    id_text(&node_ids, *block)
                                } else {
                                    format!("{at}:{}", id_text(&node_ids, *block))
                                }
                            })
                            .collect();
                        if !booted.is_empty() {
                            lines.push(format!("up {}", booted.join(" ")));
                        }
                    }
                }
                if !*before {
                    lines.extend(fault.clone());
                }
                let script = lines.join("\n");
                let parsed = model::scenario::parse(&script).unwrap();
                let mut state = initial.clone();
                for step in &parsed.steps {
                    let outcome = state.apply(settings, step);
                    assert!(!outcome.rejected, "{script}: {:?}", outcome.notes);
                }
                let class = class_of(&state);
                lost[case_index] = state.quorate_set().is_empty();
                let entry = counts
                    .classes
                    .iter_mut()
                    .find(|entry| entry.class == class)
                    .unwrap();
                match case {
                    Case::Running => entry.running += 1,
                    Case::ColdStart => entry.cold_start += 1,
                }
            }
            if fault.as_deref() == Some("qnetd down") && *before && blocks.len() <= 1 {
                let size = &mut counts.down_sizes[down.len()];
                size.0 += 1;
                size.1 += u128::from(lost[0]);
                size.2 += u128::from(lost[1]);
            }
        }
    }
    counts
}

/// `whatif --all` of a qdevice configuration against brute force; returns the analysis.
fn check_qnetd_against_brute_force(name: &str, settings: &QuorumSettings) -> Analysis {
    let analysis = analyze_with(settings, true);
    let brute = qnetd_brute_force(settings);
    assert_eq!(analysis.classes, brute.classes, "{name}");
    assert_eq!(analysis.scenarios.total, brute.total, "{name}");
    assert_eq!(u128::from(analysis.scenarios.evaluated), brute.total, "{name}");
    let qnetd = analysis.qnetd.as_ref().unwrap();
    assert_eq!(qnetd.without_qnetd_fault, brute.healthy, "{name}");
    let sizes: Vec<(u128, u128, u128)> = qnetd
        .qnetd_down_failure_sizes
        .iter()
        .map(|size| (size.total, size.lose_quorum, size.cold_start_lose_quorum))
        .collect();
    assert_eq!(sizes, brute.down_sizes, "{name}");
    // Without symmetry the same (qnetd configurations are never reduced).
    assert_eq!(analyze_with(settings, false).classes, analysis.classes, "{name}");
    let analyzer = super::enumerate::Analyzer::new(settings, &ExhaustiveOptions::default()).unwrap();
    assert_eq!(
        analyzer.estimated_evaluations(),
        Some(u128::from(analysis.scenarios.evaluated)),
        "{name}"
    );
    analysis
}

/// `(running, cold start)` per class, in `OutcomeClass::ALL` order.
fn class_pairs(analysis: &Analysis) -> Vec<(u128, u128)> {
    analysis
        .classes
        .iter()
        .map(|entry| (entry.running, entry.cold_start))
        .collect()
}

#[test]
fn two_nodes_ffsplit_enumerates_qnetd_states_issue_14() {
    let settings = with_qnetd(2, "ffsplit", 1);
    let analysis = check_qnetd_against_brute_force("2+1 ffsplit", &settings);
    // Per scenario 1 + 2 * 2^running: 2 partitions of both up (9 each), 2 single downs
    // (5 each), both down (3).
    assert_eq!(analysis.scenarios.total, 31);
    // By hand: intact (9 all-quorate); split 1|2: the healthy tie goes to node 1, cut 1 or
    // cut 2 leaves the other side quorate (one-quorate 5), qnetd down or both cut leaves
    // nobody (4); one node down: quorate with the device only when it reaches a running
    // qnetd (1 all-quorate, 4 none).
    assert_eq!(
        class_pairs(&analysis),
        vec![(11, 11), (5, 5), (12, 12), (0, 0), (0, 0), (3, 3)]
    );
    assert!(!analysis.split_brain.possible);
    assert_eq!(analysis.always_tolerated_node_failures, Some(1));
    // qnetd down, then one node down: nobody quorate (1 vote of 3).
    let qnetd = analysis.qnetd.unwrap();
    assert_eq!(qnetd.qnetd_down_tolerated_node_failures, Some(0));
    assert_eq!(qnetd.qnetd_down_failure_sizes[1].lose_quorum, 2);
    assert!(analysis.notes[0].starts_with("quorum device (ffsplit)"));
}

#[test]
fn four_nodes_ffsplit_and_three_nodes_lms_agree_with_brute_force() {
    let four = check_qnetd_against_brute_force("4+1 ffsplit", &with_qnetd(4, "ffsplit", 1));
    assert_eq!(four.scenarios.total, 966);
    assert_eq!(
        class_pairs(&four),
        vec![(107, 107), (513, 513), (343, 343), (0, 0), (0, 0), (3, 3)]
    );
    let lms = check_qnetd_against_brute_force("3+2 lms", &with_qnetd(3, "lms", 2));
    assert_eq!(lms.scenarios.total, 157);
    assert_eq!(
        class_pairs(&lms),
        vec![(23, 23), (70, 70), (61, 61), (0, 0), (0, 0), (3, 3)]
    );
    // lms: qnetd down first, a quorate node with wait_for_all unset NACKs: the three nodes
    // hold 3 of 5 votes, any two of them do not.
    assert_eq!(lms.qnetd.unwrap().qnetd_down_tolerated_node_failures, Some(0));
    check_qnetd_against_brute_force("2+1 2nodelms", &with_qnetd(2, "2nodelms", 1));
}

#[test]
fn two_node_lms_order_of_qnetd_down_and_the_split_matters_issue_14() {
    // 2nodelms keeps its vote when qnetd goes down, until the membership changes: qnetd
    // down after the split leaves node 1 quorate, before it nobody.
    let settings = with_qnetd(2, "2nodelms", 1);
    let after = "qnetd up\nmove 1:2\nqnetd down";
    let before = "qnetd up\nqnetd down\nmove 1:2";
    let quorate_after = |script: &str| {
        let mut state = ClusterState::new(&settings).unwrap();
        for step in model::scenario::parse(script).unwrap().steps {
            state.apply(&settings, &step);
        }
        ids_in(state.nodeids(), state.quorate_set())
    };
    assert_eq!(quorate_after(after), vec![1]);
    assert_eq!(quorate_after(before), Vec::<NodeId>::new());
    let analysis = analyze_with(&settings, true);
    let none = &analysis.classes[2];
    let one = &analysis.classes[1];
    assert_eq!(none.class, OutcomeClass::NoneQuorate);
    assert_eq!(one.class, OutcomeClass::OneQuorate);
    // The same scenario counted once per order: the orders land in different classes.
    assert!(one.running > 0 && none.running > 0);
}

#[test]
fn a_qnetd_split_brain_witness_replays() {
    // expected_votes 3 below the 5 votes: at a cold start each half of a 2|2 split holds 2
    // votes, a quorum of 3 expected votes, whoever gets qnetd's ACK.
    let mut settings = with_qnetd(4, "ffsplit", 1);
    settings.expected_votes = Some(3);
    let analysis = analyze_with(&settings, true);
    assert_eq!(analysis.split_brain.running, 0);
    assert!(analysis.split_brain.cold_start > 0);
    let witness = analysis.split_brain.witness.unwrap();
    assert_eq!(witness.case, Case::ColdStart);
    assert_eq!(witness.description, "partition 1,2 | 3,4");
    assert_eq!(witness.script, "qnetd up\ndown 1 2 3 4\nup 1,2 1:3,4");
    assert!(witness.replay_verified);
    assert!(replay_shows_split_brain(&settings, &witness.script));
}

#[test]
fn vote_sums_refuse_qdevice_configurations() {
    let error = analyze_by_vote_sums(&with_qnetd(4, "ffsplit", 1)).unwrap_err();
    assert!(
        matches!(&error, ExhaustiveError::VoteSumsUnsupported { reason } if reason.contains("qnetd")),
        "{error}"
    );
}

#[test]
fn too_many_qnetd_scenarios_are_refused_before_enumerating() {
    let error = analyze(
        &with_qnetd(12, "ffsplit", 1),
        &ExhaustiveOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(error, ExhaustiveError::TooManyQnetdScenarios { .. }),
        "{error}"
    );
}

#[test]
fn qnetd_after_a_start_script_enumerates_the_running_nodes_only() {
    // See: issue 14 (a start script leaves node 2 down; only node 1 can still fail).
    let settings = with_qnetd(2, "ffsplit", 1);
    let script = model::scenario::parse("down 2").unwrap();
    let analysis = analyze_after(&settings, &script, &ExhaustiveOptions::default(), &mut |_| {}).unwrap();
    // Node 1 up (1 + 2 * 2 qnetd states) or down (3).
    assert_eq!(analysis.scenarios.total, 8);
    // Node 1 alone is quorate only with the device's vote: qnetd up and reached.
    assert_eq!(class_pairs(&analysis)[0], (1, 1));
    assert_eq!(analysis.always_tolerated_node_failures, Some(0));
    assert_eq!(analysis.qnetd.unwrap().qnetd_down_tolerated_node_failures, None);
}

#[test]
fn the_grid_splits_the_class_counts_by_down_nodes_and_failed_links() {
    let mut list = variety();
    // qnetd's faults are scenarios of their own, in the cells of their down set too.
    list.push(("qnetd ffsplit 3 nodes", with_qnetd(3, "ffsplit", 1)));
    for (name, settings) in list {
        let analysis = analyze_with(&settings, true);
        let Some(grid) = &analysis.grid else {
            assert_eq!(analysis.scenarios.method, Method::VoteSums, "{name}");
            continue;
        };
        // Every cell's classes add up to its scenarios, the cells to the totals.
        let mut sums = [[0u128; 6]; 2];
        for cell in grid {
            for case in [0, 1] {
                let in_cell: u128 = cell
                    .classes
                    .iter()
                    .map(|count| {
                        if case == 0 {
                            count.running
                        } else {
                            count.cold_start
                        }
                    })
                    .sum();
                assert_eq!(in_cell, cell.scenarios, "{name}: {cell:?}");
            }
            for count in &cell.classes {
                let index = OutcomeClass::ALL
                    .iter()
                    .position(|class| *class == count.class)
                    .unwrap();
                sums[0][index] += count.running;
                sums[1][index] += count.cold_start;
            }
        }
        for (index, count) in analysis.classes.iter().enumerate() {
            assert_eq!(
                (sums[0][index], sums[1][index]),
                (count.running, count.cold_start),
                "{name}"
            );
        }
        let scenarios: u128 = grid.iter().map(|cell| cell.scenarios).sum();
        assert_eq!(scenarios, analysis.scenarios.total, "{name}");
        // The cells without failed links and with every other node in one block are the
        // failure sizes (one partition of the rest among the cell's scenarios).
        for size in &analysis.failure_sizes {
            let cell = grid
                .iter()
                .find(|cell| cell.nodes_down == size.nodes_down && cell.failed_links.is_empty())
                .unwrap();
            assert!(cell.scenarios >= size.total, "{name}: {cell:?}");
        }
    }
    // 3 plain nodes, 1 down: the other two together (both quorate) or apart (neither),
    // 3 ways each.
    let analysis = analyze_with(&QuorumSettings::plain(3), true);
    let grid = analysis.grid.unwrap();
    let cell = grid.iter().find(|cell| cell.nodes_down == 1).unwrap();
    assert_eq!(cell.scenarios, 6);
    let classes: Vec<(OutcomeClass, u128, u128)> = cell
        .classes
        .iter()
        .map(|count| (count.class, count.running, count.cold_start))
        .collect();
    assert_eq!(
        classes,
        [
            (OutcomeClass::AllQuorate, 3, 3),
            (OutcomeClass::NoneQuorate, 3, 3)
        ]
    );
    assert_eq!(grid.len(), 4, "0 to 3 nodes down, one link");
}

/// Every grid cell with a split-brain scenario names one witness per case in which it has
/// one (and no other cell names any): its script, replayed from the fully started
/// cluster, ends split-brain with the quorate sides it lists, with the cell's number of
/// nodes down and the cell's failed links. See: issue 15.
#[test]
fn every_grid_cell_with_split_brain_has_a_witness_of_that_cell() {
    let mut list = variety();
    list.push(("qnetd 2nodelms 2 nodes", with_qnetd(2, "2nodelms", 1)));
    let mut low = QuorumSettings::plain(4);
    low.expected_votes = Some(2);
    for node in &mut low.nodes {
        node.links = vec![0, 1];
    }
    list.push(("4 nodes expected 2, two links", low));
    let mut witnessed = 0;
    for (name, settings) in list {
        let analysis = analyze_with(&settings, true);
        let grid = analysis.grid.as_ref().expect("grid");
        for cell in grid {
            for case in [Case::Running, Case::ColdStart] {
                let split = cell
                    .classes
                    .iter()
                    .find(|count| count.class == OutcomeClass::SplitBrain)
                    .map_or(0, |count| match case {
                        Case::Running => count.running,
                        Case::ColdStart => count.cold_start,
                    });
                let witnesses: Vec<&Witness> = cell
                    .split_brain_witnesses
                    .iter()
                    .filter(|witness| witness.case == case)
                    .collect();
                assert_eq!(witnesses.len(), usize::from(split > 0), "{name}: {cell:?}");
                let Some(witness) = witnesses.first() else {
                    continue;
                };
                witnessed += 1;
                assert!(witness.replay_verified, "{name}: {witness:?}");
                assert!(witness.quorate_sides.len() >= 2, "{name}: {witness:?}");
                assert_eq!(
                    replay_quorate_sides(&settings, &witness.script),
                    witness.quorate_sides
                );
                let script = model::scenario::parse(&witness.script).unwrap();
                let mut state = ClusterState::new(&settings).unwrap();
                let mut links = Vec::new();
                for step in &script.steps {
                    state.apply(&settings, step);
                    if let Step::Link { link, up: false, .. } = step {
                        links.push(*link);
                    }
                }
                links.sort_unstable();
                assert_eq!(links, cell.failed_links, "{name}: {witness:?}");
                assert_eq!(
                    settings.nodes.len() - state.up_nodes().len(),
                    cell.nodes_down as usize,
                    "{name}: {witness:?}"
                );
                assert!(state.split_brain(), "{name}: {witness:?}");
            }
        }
        // The overall witness is its cell's.
        if let Some(overall) = &analysis.split_brain.witness {
            assert!(
                grid.iter()
                    .flat_map(|cell| &cell.split_brain_witnesses)
                    .any(|witness| witness == overall),
                "{name}: {overall:?}"
            );
        }
    }
    assert!(witnessed >= 6, "{witnessed} witnessed cells");
}
