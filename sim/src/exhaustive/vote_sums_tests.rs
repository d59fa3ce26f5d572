//! Cross-checks of the vote-sum method against the enumeration: random 2-10 node
//! configurations (votes, options, links) where both run must give identical summaries and
//! counts; fixed configurations too; the examples it prints replayed through the engine;
//! and the method's refusals. The number of random cases is CI-sized by default;
//! `QUORATE_SCALE_CASES=N` runs N of them.

use super::*;
use model::quorum::{DeviceSettings, NodeSettings, Provider, TieBreaker};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// `analysis` without the fields that describe how it was obtained (method, evaluated
/// scenarios, signatures, engine runs): what must agree between the two methods.
fn summary(analysis: &Analysis) -> Analysis {
    let mut summary = analysis.clone();
    summary.scenarios.method = Method::Enumeration;
    summary.scenarios.evaluated = 0;
    summary.scenarios.membership_signatures = 0;
    summary.scenarios.engine_runs = 0;
    summary
}

fn enumerated(settings: &QuorumSettings) -> Analysis {
    analyze_by_enumeration(settings, &ExhaustiveOptions::default()).unwrap()
}

/// Both methods on `settings`: `Some(true)` when they agree, `None` when the vote-sum
/// method refuses (then the enumeration must be the reason it is needed: its refusal is a
/// sentence), panics on a disagreement.
fn cross_check(name: &str, settings: &QuorumSettings) -> Option<()> {
    let by_votes = match analyze_by_vote_sums(settings) {
        Ok(analysis) => analysis,
        Err(crate::Error::VoteSumsUnsupported { reason }) => {
            assert!(!reason.is_empty(), "{name}");
            eprintln!("{name}: vote sums refuse: {reason}");
            return None;
        }
        Err(other) => panic!("{name}: {other}"),
    };
    let reference = enumerated(settings);
    assert_eq!(by_votes.scenarios.method, Method::VoteSums, "{name}");
    assert_eq!(summary(&by_votes), summary(&reference), "{name}: {settings:#?}");
    Some(())
}

fn with_votes(votes: &[u32]) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(votes.len() as u32);
    for (node, vote) in settings.nodes.iter_mut().zip(votes) {
        node.votes = *vote;
    }
    settings
}

#[test]
fn vote_sums_agree_with_the_enumeration_on_fixed_configurations() {
    let mut cases: Vec<(&str, QuorumSettings)> = vec![
        ("plain 5", QuorumSettings::plain(5)),
        ("votes 1 1 2 3", with_votes(&[1, 1, 2, 3])),
        ("votes 3 1 1 (heavy node alone quorate)", with_votes(&[3, 1, 1])),
        ("votes 1..7", with_votes(&[1, 2, 3, 4, 5, 6, 7])),
    ];
    let mut atb = with_votes(&[1, 2, 1, 2, 1, 1]);
    atb.auto_tie_breaker = true;
    cases.push(("atb lowest unequal", atb.clone()));
    atb.auto_tie_breaker_node = Some(TieBreaker::Highest);
    cases.push(("atb highest unequal", atb.clone()));
    atb.auto_tie_breaker_node = Some(TieBreaker::List(vec![9, 4, 2]));
    atb.wait_for_all = Some(true);
    cases.push(("atb list 9 4 2 wfa", atb));
    let mut wfa = with_votes(&[2, 1, 1, 1, 1]);
    wfa.wait_for_all = Some(true);
    cases.push(("wait_for_all unequal", wfa));
    let mut lms = QuorumSettings::plain(6);
    lms.last_man_standing = true;
    lms.auto_tie_breaker = true;
    cases.push(("lms atb", lms));
    let mut expected = QuorumSettings::plain(5);
    expected.expected_votes = Some(7);
    cases.push(("expected above the votes", expected));
    let mut links = with_votes(&[1, 1, 2, 1]);
    for node in &mut links.nodes {
        node.links = vec![0, 1, 2];
    }
    cases.push(("three links", links));
    // Link 1 on some nodes only: link 0 failing isolates the others.
    let mut second = with_votes(&[1, 2, 1, 1, 2]);
    for node in &mut second.nodes[..3] {
        node.links = vec![0, 1];
    }
    cases.push(("link 1 on three nodes of five", second.clone()));
    second.auto_tie_breaker = true;
    cases.push(("link 1 on three nodes, atb", second));
    let mut heavy = with_votes(&[4, 1, 1, 1]);
    for node in &mut heavy.nodes[1..] {
        node.links = vec![0, 1];
    }
    cases.push(("a heavy node isolated by link 0", heavy));
    let mut ghost = QuorumSettings::plain(4);
    ghost.nodes[1].links = Vec::new();
    cases.push(("a node without address", ghost));
    let mut refused = QuorumSettings::plain(4);
    refused.provider = Provider::Other("corosync_ykd".to_string());
    cases.push(("startup error", refused));
    let mut agree = 0;
    for (name, settings) in &cases {
        if cross_check(name, settings).is_some() {
            agree += 1;
        }
    }
    // Every one of these is within the method (none can split): all must have run.
    assert_eq!(agree, cases.len());
}

#[test]
fn vote_sums_refuse_what_they_cannot_count() {
    let refusal = |settings: &QuorumSettings| match analyze_by_vote_sums(settings) {
        Err(crate::Error::VoteSumsUnsupported { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // two_node left on with 4 nodes: 2|2 is split-brain (spec TV16).
    let mut two_node = QuorumSettings::plain(4);
    two_node.two_node = true;
    two_node.wait_for_all = Some(false);
    assert!(refusal(&two_node).contains("two disjoint memberships may both be quorate"));
    // Mixed links: memberships split by link.
    let mut mixed = QuorumSettings::plain(4);
    mixed.nodes[3].links = vec![1];
    assert!(refusal(&mixed).contains("not one full mesh"));
    // Links that leave a partial mesh when one fails: 1-2 share link 0, 2-3 link 1.
    let mut chain = QuorumSettings::plain(3);
    for (node, links) in chain
        .nodes
        .iter_mut()
        .zip([vec![0, 2], vec![0, 1, 2], vec![1, 2]])
    {
        node.links = links;
    }
    assert!(refusal(&chain).contains("partial mesh"));
    // The uint8 quorum wrap.
    let wrap = with_votes(&[200, 200, 200]);
    assert!(refusal(&wrap).contains("8-bit"));
    // auto_tie_breaker with a list and no wait_for_all: halves booting apart, each with a
    // listed node, are both quorate (spec S7, TV35).
    let mut list = with_votes(&[1, 2, 1, 2, 1, 1]);
    list.auto_tie_breaker = true;
    list.auto_tie_breaker_node = Some(TieBreaker::List(vec![9, 4, 2]));
    assert!(refusal(&list).contains("in the cold-start case two disjoint memberships"));
    assert!(enumerated(&list).split_brain.cold_start > 0);
    // No quorum provider: every partition quorate.
    let mut none = QuorumSettings::plain(3);
    none.provider = Provider::None;
    assert!(refusal(&none).contains("split-brain"));
}

#[test]
fn analyze_refuses_with_the_reason_when_neither_method_can() {
    let mut settings = QuorumSettings::plain(20);
    settings.auto_tie_breaker = true;
    settings.provider = Provider::None;
    let error = analyze(&settings, &ExhaustiveOptions::default(), &mut |_| {}).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, crate::Error::NotCountable { .. }), "{text}");
    assert!(text.contains("vote-sum method does not apply"), "{text}");
}

fn large(count: u32, votes: impl Fn(u32) -> u32) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(count);
    for node in &mut settings.nodes {
        node.votes = votes(node.nodeid);
    }
    settings
}

/// Every listed smallest total loss is a real scenario: the engine, from the fully joined
/// cluster, keeps no node quorate after those nodes fail; one node fewer (the largest
/// tolerated size) keeps quorum for every down set the engine is shown here.
fn examples_replay(name: &str, settings: &QuorumSettings, analysis: &Analysis) {
    let tolerated = analysis.always_tolerated_node_failures.unwrap();
    assert!(!analysis.smallest_total_loss.is_empty(), "{name}");
    for set in &analysis.smallest_total_loss {
        assert_eq!(set.down.len() as u32, tolerated + 1, "{name}");
        let mut state = ClusterState::new(settings).unwrap();
        state.apply(settings, &Step::Down(refs(&set.down)));
        assert!(state.quorate_set().is_empty(), "{name}: down {:?}", set.down);
        // Dropping one node of the set leaves a tolerated failure: someone stays quorate.
        let mut state = ClusterState::new(settings).unwrap();
        state.apply(settings, &Step::Down(refs(&set.down[1..])));
        assert!(
            !state.quorate_set().is_empty(),
            "{name}: down {:?}",
            &set.down[1..]
        );
    }
    let listed: u128 = analysis.smallest_total_loss.iter().map(|set| set.count).sum();
    let exact = analysis.failure_sizes[tolerated as usize + 1].lose_quorum;
    assert_eq!(analysis.smallest_total_loss_complete, listed == exact, "{name}");
}

#[test]
fn large_clusters_are_counted_and_their_examples_replay() {
    let mut atb = large(16, |nodeid| 1 + nodeid % 3);
    atb.auto_tie_breaker = true;
    let mut plain_atb = QuorumSettings::plain(32);
    plain_atb.auto_tie_breaker = true;
    let unequal = large(12, |nodeid| nodeid);
    for (name, settings) in [
        ("16 atb unequal", atb),
        ("32 atb", plain_atb),
        ("12 unequal", unequal),
    ] {
        let analysis = analyze(&settings, &ExhaustiveOptions::default(), &mut |_| {}).unwrap();
        assert_eq!(analysis.scenarios.method, Method::VoteSums, "{name}");
        let count = settings.nodes.len();
        assert_eq!(
            analysis.scenarios.total,
            super::enumerate::bell(count + 1),
            "{name}"
        );
        let classes: u128 = analysis.classes.iter().map(|class| class.running).sum();
        assert_eq!(classes, analysis.scenarios.total, "{name}");
        let sizes: u128 = analysis.failure_sizes.iter().map(|size| size.total).sum();
        assert_eq!(sizes, 1u128 << count, "{name}");
        examples_replay(name, &settings, &analysis);
    }
    // 32 equal nodes with ATB lowest: 16 down keeps quorum only with node 1 up (tie broken),
    // so the smallest total loss is 16 down including node 1: C(31, 15) sets, more than the
    // listing holds.
    let mut plain_atb = QuorumSettings::plain(32);
    plain_atb.auto_tie_breaker = true;
    let analysis = analyze(&plain_atb, &ExhaustiveOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(analysis.always_tolerated_node_failures, Some(15));
    assert_eq!(analysis.failure_sizes[16].lose_quorum, 300_540_195);
    assert!(!analysis.smallest_total_loss_complete);
    assert_eq!(analysis.smallest_total_loss.len(), LISTED_LOSSES);
    assert!(analysis
        .smallest_total_loss
        .iter()
        .all(|set| set.down.contains(&1)));
}

/// A random configuration of 2-10 nodes: votes, options, links (mostly the same links on
/// every node; sometimes an extra link on every other node, or one node with link 0 only).
fn arbitrary_settings() -> impl Strategy<Value = QuorumSettings> {
    // Node counts weighted towards what the enumeration does quickly in a debug build;
    // 9 and 10 nodes with one link only. Votes: all 1, 1-3, or 0-6.
    let shape = prop_oneof![
        6 => (2usize..=6, 1usize..=3),
        3 => (7usize..=8, 1usize..=2),
        1 => (9usize..=10, Just(1usize)),
    ];
    let votes = shape.prop_flat_map(|(count, links)| {
        let votes = prop_oneof![
            3 => prop::collection::vec(Just(1u32), count),
            4 => prop::collection::vec(1u32..=3, count),
            2 => prop::collection::vec(0u32..=6, count),
        ];
        (votes, Just(links))
    });
    (
        votes,
        0u8..=4,
        prop::option::of(any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1u32..=14),
        0u8..=7,
        prop::collection::vec(1u32..=11, 1..=3),
    )
        .prop_map(
            |((votes, links), atb, wait_for_all, two_node, lms, expected, extras, list)| {
                let count = votes.len() as u32;
                let mut settings = QuorumSettings::plain(count);
                for (node, vote) in settings.nodes.iter_mut().zip(&votes) {
                    node.votes = *vote;
                    node.links = (0..links as u8).collect();
                }
                settings.auto_tie_breaker = atb > 0;
                settings.auto_tie_breaker_node = match atb {
                    2 => Some(TieBreaker::Highest),
                    3 => Some(TieBreaker::List(list)),
                    4 => Some(TieBreaker::Lowest),
                    _ => None,
                };
                settings.wait_for_all = wait_for_all;
                settings.two_node = two_node && count <= 3;
                settings.last_man_standing = lms;
                settings.expected_votes = expected.filter(|_| extras & 1 == 1);
                settings.allow_downscale = extras == 6;
                settings.expected_votes_tracking = extras == 4;
                if extras == 5 && links <= 2 {
                    // An extra link on every other node: failing the common links isolates
                    // the rest.
                    for node in settings.nodes.iter_mut().step_by(2) {
                        node.links.push(links as u8);
                    }
                }
                if extras == 2 && count < 10 {
                    settings.nodes[0].links = vec![0];
                    settings.nodes.push(NodeSettings {
                        nodeid: count + 1,
                        name: format!("node{}", count + 1),
                        votes: 1,
                        links: Vec::new(),
                    });
                }
                if extras == 3 && !settings.last_man_standing && !settings.auto_tie_breaker {
                    settings.device = Some(DeviceSettings {
                        model: "net".to_string(),
                        votes: Some(1),
                        algorithm: None,
                        tie_breaker: None,
                        timeout_ms: 10_000,
                        sync_timeout_ms: 30_000,
                        keep_active_partition_tie_breaker: true,
                        heuristics: false,
                    });
                    settings.two_node = false;
                }
                settings
            },
        )
}

/// Each `count` enumerations of distinguishable nodes cost: keep the CI default small.
fn cases() -> u32 {
    std::env::var("QUORATE_SCALE_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(48)
}

#[test]
fn vote_sums_agree_with_the_enumeration_on_random_configurations() {
    let cases = cases();
    // A fixed seed: the same configurations on every run (more with QUORATE_SCALE_CASES).
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let agreed = std::cell::Cell::new(0u32);
    let refused = std::cell::Cell::new(0u32);
    runner
        .run(&arbitrary_settings(), |settings| {
            match cross_check("random", &settings) {
                Some(()) => agreed.set(agreed.get() + 1),
                None => refused.set(refused.get() + 1),
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "{} of {cases} random configurations counted by vote sums and equal to the enumeration, {} refused",
        agreed.get(),
        refused.get()
    );
    // The test must be able to fail: most generated configurations are within the method.
    assert!(
        agreed.get() * 2 >= cases,
        "only {} of {cases} random configurations were counted by vote sums ({} refused)",
        agreed.get(),
        refused.get()
    );
}

/// What the vote-sum method claims a membership's answer depends on, derived here from the
/// configuration independently of `vote_sums.rs`: (vote sum, node count, holds the running
/// cluster's tie-breaker) for the running case, (vote sum, node count, holds a listed node,
/// holds a node quorate booting alone) for the cold start.
fn claimed_signature(
    settings: &QuorumSettings,
    state: &ClusterState,
    alone_quorate: NodeSet,
    members: NodeSet,
    case: Case,
) -> (u64, u32, bool, bool) {
    let ids: Vec<NodeId> = state.nodeids().to_vec();
    let votes: u64 = members
        .iter()
        .map(|pos| {
            let node = settings
                .nodes
                .iter()
                .find(|node| node.nodeid == ids[pos])
                .unwrap();
            u64::from(node.votes)
        })
        .sum();
    let running: Vec<NodeId> = state.up_nodes().iter().map(|pos| ids[pos]).collect();
    let holds = |nodeid: NodeId| members.iter().any(|pos| ids[pos] == nodeid);
    let (tie_breaker, listed): (Option<NodeId>, Vec<NodeId>) = if settings.auto_tie_breaker {
        match &settings.auto_tie_breaker_node {
            None | Some(TieBreaker::Lowest) => (running.iter().min().copied(), Vec::new()),
            Some(TieBreaker::Highest) => (running.iter().max().copied(), Vec::new()),
            Some(TieBreaker::List(list)) => (
                list.iter().find(|nodeid| running.contains(nodeid)).copied(),
                list.iter()
                    .filter(|nodeid| running.contains(nodeid))
                    .copied()
                    .collect(),
            ),
            Some(TieBreaker::Invalid) => (None, Vec::new()),
        }
    } else {
        (None, Vec::new())
    };
    match case {
        Case::Running => (votes, members.len() as u32, tie_breaker.is_some_and(holds), false),
        Case::ColdStart => (
            votes,
            members.len() as u32,
            listed.iter().any(|nodeid| holds(*nodeid)),
            !(members & alone_quorate).is_empty(),
        ),
    }
}

/// For every membership of the running nodes (all 2^n of them), in both cases: the engine's
/// answer is all-or-nothing and the same for every membership with the same claimed
/// signature, wherever the vote-sum method accepts the configuration.
fn signatures_determine_answers(name: &str, settings: &QuorumSettings) -> bool {
    if analyze_by_vote_sums(settings).is_err() {
        return false;
    }
    let initial = ClusterState::new(settings).unwrap();
    let stopped = ClusterState::stopped(settings).unwrap();
    let ids: Vec<NodeId> = initial.nodeids().to_vec();
    let runnable = initial.up_nodes();
    let answer = |case: Case, members: NodeSet| -> u32 {
        let ids_of = |set: NodeSet| -> Vec<NodeId> { set.iter().map(|pos| ids[pos]).collect() };
        let (mut state, step) = match case {
            Case::Running => (initial.clone(), Step::Down(refs(&ids_of(runnable - members)))),
            Case::ColdStart => (
                stopped.clone(),
                Step::Up(vec![model::scenario::NodeSpec {
                    partition: None,
                    nodes: refs(&ids_of(members)),
                }]),
            ),
        };
        state.apply(settings, &step);
        (state.quorate_set() & members).len() as u32
    };
    let alone_quorate: NodeSet = runnable
        .iter()
        .filter(|pos| answer(Case::ColdStart, NodeSet::single(*pos)) > 0)
        .collect();
    let positions: Vec<usize> = runnable.iter().collect();
    for case in [Case::Running, Case::ColdStart] {
        let mut seen: std::collections::BTreeMap<(u64, u32, bool, bool), (bool, NodeSet)> =
            std::collections::BTreeMap::new();
        for subset in 1u32..(1 << positions.len()) {
            let members: NodeSet = positions
                .iter()
                .enumerate()
                .filter(|(bit, _)| subset >> bit & 1 == 1)
                .map(|(_, pos)| *pos)
                .collect();
            let quorate = answer(case, members);
            assert!(
                quorate == 0 || quorate == members.len() as u32,
                "{name}: {case:?} {members:?}: {quorate} quorate"
            );
            let signature = claimed_signature(settings, &initial, alone_quorate, members, case);
            let (earlier, example) = *seen.entry(signature).or_insert((quorate > 0, members));
            assert_eq!(
                earlier,
                quorate > 0,
                "{name}: {case:?}: {members:?} and {example:?} share {signature:?}"
            );
        }
    }
    true
}

#[test]
fn signatures_determine_the_engine_answer_on_every_membership() {
    let mut checked = 0;
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let counter = std::cell::Cell::new(0u32);
    runner
        .run(&arbitrary_settings(), |settings| {
            if settings.nodes.len() <= 8 && signatures_determine_answers("random", &settings) {
                counter.set(counter.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    checked += counter.get();
    let mut atb = with_votes(&[1, 2, 1, 2, 1, 1, 2, 2]);
    atb.auto_tie_breaker = true;
    for node in [
        None,
        Some(TieBreaker::Highest),
        Some(TieBreaker::List(vec![5, 2])),
    ] {
        atb.auto_tie_breaker_node = node;
        atb.wait_for_all = Some(true);
        if signatures_determine_answers("atb", &atb) {
            checked += 1;
        }
    }
    eprintln!("{checked} configurations: every membership checked");
    assert!(checked >= cases() / 3, "only {checked} configurations checked");
}

/// C(n, k), computed here independently of the analyzer's table.
fn choose(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |ways, index| {
        ways * (n - index) as u128 / (index as u128 + 1)
    })
}

/// The grid of clusters too large to enumerate, counted by vote sums, against figures
/// derived here by hand. 32 equal nodes with ATB lowest on one link: with d nodes down, a
/// block of k of the 32 - d up nodes is quorate when k >= 17, or k = 16 holding node 1 (the
/// tie-breaker). Per cell: C(32, d) B(32 - d) scenarios; every running node is quorate in
/// one block when that block is every up node. The 12 unequal nodes (votes 1..12, 78 in
/// all, quorum 40) on two links are checked row by row against the class totals.
/// See: issue 15.
#[test]
fn the_vote_sum_grid_is_exact_for_large_clusters() {
    use super::enumerate::bell;
    let count = 32usize;
    let mut atb = QuorumSettings::plain(count as u32);
    atb.auto_tie_breaker = true;
    let analysis = analyze(&atb, &ExhaustiveOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(analysis.scenarios.method, Method::VoteSums);
    let grid = analysis.grid.as_ref().expect("a vote-sum grid");
    assert_eq!(grid.len(), count + 1, "one link: one cell per size");
    for (nodes_down, cell) in grid.iter().enumerate() {
        assert_eq!(cell.nodes_down as usize, nodes_down);
        assert!(cell.failed_links.is_empty());
        let up = count - nodes_down;
        assert_eq!(cell.scenarios, choose(count, nodes_down) * bell(up));
        // Quorate blocks: k >= 17 of the up nodes; k = 16 with node 1 (node 1 up and
        // among them: C(up - 1, 15) such blocks when node 1 is up).
        let mut with_quorate = 0u128;
        for k in 17..=up {
            with_quorate += choose(count, nodes_down) * choose(up, k) * bell(up - k);
        }
        if up >= 16 {
            // Node 1 up: C(31, d) down sets; the block holds node 1 and 15 of the others.
            with_quorate += choose(count - 1, nodes_down) * choose(up - 1, 15) * bell(up - 16);
        }
        let all_quorate = if up >= 17 {
            choose(count, nodes_down)
        } else if up == 16 {
            choose(count - 1, nodes_down)
        } else {
            0
        };
        let class = |class: OutcomeClass| {
            cell.classes
                .iter()
                .find(|count| count.class == class)
                .map_or(0, |count| count.running)
        };
        assert_eq!(class(OutcomeClass::AllQuorate), all_quorate, "{nodes_down} down");
        assert_eq!(
            class(OutcomeClass::OneQuorate),
            with_quorate - all_quorate,
            "{nodes_down} down"
        );
        let all_down = u128::from(nodes_down == count);
        assert_eq!(class(OutcomeClass::AllDown), all_down);
        assert_eq!(
            class(OutcomeClass::NoneQuorate),
            cell.scenarios - with_quorate - all_down,
            "{nodes_down} down"
        );
        assert_eq!(class(OutcomeClass::SplitBrain), 0);
    }
    // 16 down, no partition: the lose-quorum count of failure_sizes is inside that cell.
    let none16 = grid[16]
        .classes
        .iter()
        .find(|count| count.class == OutcomeClass::NoneQuorate)
        .map_or(0, |count| count.running);
    assert!(none16 >= analysis.failure_sizes[16].lose_quorum);

    let mut unequal = large(12, |nodeid| nodeid);
    for node in &mut unequal.nodes {
        node.links = vec![0, 1];
    }
    let analysis = analyze(&unequal, &ExhaustiveOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(analysis.scenarios.method, Method::VoteSums);
    let grid = analysis.grid.as_ref().expect("a vote-sum grid");
    // Three link sets (none, 0, 1), 13 sizes each.
    assert_eq!(grid.len(), 3 * 13);
    for class in &analysis.classes {
        for (case, total) in [
            (Case::Running, class.running),
            (Case::ColdStart, class.cold_start),
        ] {
            let summed: u128 = grid
                .iter()
                .flat_map(|cell| cell.classes.iter())
                .filter(|count| count.class == class.class)
                .map(|count| match case {
                    Case::Running => count.running,
                    Case::ColdStart => count.cold_start,
                })
                .sum();
            assert_eq!(summed, total, "{:?} {case:?}", class.class);
        }
    }
    for cell in grid {
        let down = cell.nodes_down as usize;
        assert_eq!(cell.scenarios, choose(12, down) * bell(12 - down));
        let running: u128 = cell.classes.iter().map(|count| count.running).sum();
        let cold: u128 = cell.classes.iter().map(|count| count.cold_start).sum();
        assert_eq!((running, cold), (cell.scenarios, cell.scenarios));
    }
}
