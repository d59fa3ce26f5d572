//! The evidence for the counter abstraction (docs/check-scale.md): on every
//! configuration where both run, the same verdict per property and the same shortest
//! counterexample length as the explicit path; every counter counterexample replays on the
//! concrete cluster to a state that violates its property; on every state reached, the
//! canonical form is complete (`verify`: a permuted copy gets the same form, twin swaps are
//! automorphisms) and sound (a debug assertion: it is an image of the state).

use super::*;
use crate::check::quorum_model::ModelOptions;
use crate::check::run::check;
use model::quorum::TieBreaker;

fn options(max_faults: u8, depth: Option<usize>) -> CheckOptions {
    CheckOptions {
        model: ModelOptions {
            max_faults,
            ..ModelOptions::default()
        },
        depth,
        ..CheckOptions::default()
    }
}

fn counter(settings: &QuorumSettings, options: &CheckOptions) -> CheckReport {
    check_counter_with(
        settings,
        options,
        &mut Hooks {
            progress: &mut |_| {},
            cancelled: &|| false,
        },
        true,
        true,
        COUNTER_MAX_STATES,
    )
    .unwrap()
}

/// Replays `steps` with the engine from the running cluster (each step in the delivery
/// orders the report gives) and returns the final state.
fn replayed(settings: &QuorumSettings, verdict: &PropertyVerdict) -> ClusterState {
    let mut state = ClusterState::new(settings).unwrap();
    for (index, step) in verdict.counterexample.iter().enumerate() {
        let event =
            Event::from_step::<String>(step, &mut |file: &str| Err(format!("no file {file}"))).unwrap();
        let wanted = &verdict.delivery_orders[index];
        let successors = state.event_successors_over_orders(&event);
        state = successors
            .successors
            .into_iter()
            .find(|successor| successor.orders == *wanted)
            .map(|successor| successor.state)
            .unwrap_or_else(|| panic!("step {step} has no successor in orders {wanted:?}"));
    }
    state
}

/// Both paths on `settings`: same verdicts and shortest counterexample lengths, fewer or
/// as many states, and counter counterexamples that replay to a violation.
fn compare(what: &str, settings: &QuorumSettings, options: &CheckOptions) -> (usize, usize) {
    let explicit = check(settings, options, &mut |_| {}).unwrap();
    let abstracted = counter(settings, options);
    assert_eq!(abstracted.method, CheckMethod::Counter);
    for (left, right) in explicit.properties.iter().zip(&abstracted.properties) {
        assert_eq!(left.name, right.name);
        assert_eq!(left.holds, right.holds, "{what}: {}", left.name);
        assert_eq!(
            left.counterexample.len(),
            right.counterexample.len(),
            "{what}: {}: explicit {:?} counter {:?}",
            left.name,
            left.counterexample,
            right.counterexample
        );
        if !right.holds {
            let model = QuorumModel::with_initial_states(
                settings,
                options.model,
                FaultActions,
                vec![(ClusterState::new(settings).unwrap(), 0)],
            )
            .unwrap();
            let template = model.init_states().remove(0);
            let last = replayed(settings, right);
            // The unstable flag is the last step's; the replayed state decides the rest.
            let violated = [false, true].into_iter().any(|unstable| {
                let mut state = template.with_cluster(last.clone());
                state.unstable = unstable;
                match right.name {
                    NO_SPLIT_BRAIN => !no_split_brain(&state),
                    QUORUM_REGAINED => !quorum_regained(&model, &state),
                    _ => !isolated_node_never_quorate(&model, &state),
                }
            });
            assert!(
                violated,
                "{what}: {}: {:?} does not violate it",
                right.name, right.counterexample
            );
        }
    }
    assert!(
        abstracted.states <= explicit.states,
        "{what}: counter {} states, explicit {}",
        abstracted.states,
        explicit.states
    );
    (explicit.states, abstracted.states)
}

fn with(count: u32, change: impl Fn(&mut QuorumSettings)) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(count);
    change(&mut settings);
    settings
}

/// Whether the larger cross-checks run (`QUORATE_COUNTER_CASES=full`): every size of the
/// CI set one fault further (minutes in a debug build). The CI set keeps the whole file
/// within its time budget.
fn full() -> bool {
    std::env::var("QUORATE_COUNTER_CASES").is_ok_and(|value| value == "full")
}

/// `compare` at `budget`, and at `budget + 1` with `QUORATE_COUNTER_CASES=full`.
fn cross_check(what: &str, settings: &QuorumSettings, budget: u8) {
    compare(what, settings, &options(budget, None));
    if full() {
        compare(
            &format!("{what}, budget {}", budget + 1),
            settings,
            &options(budget + 1, None),
        );
    }
}

fn lms(count: u32) -> QuorumSettings {
    with(count, |s| {
        s.last_man_standing = true;
        s.last_man_standing_window_ms = 1000;
    })
}

#[test]
fn cross_check_plain_two_to_four_nodes() {
    for count in 2..=3 {
        cross_check(&format!("plain {count}"), &QuorumSettings::plain(count), 2);
    }
    cross_check("plain 4", &QuorumSettings::plain(4), 1);
}

#[test]
fn cross_check_plain_five_nodes() {
    cross_check("plain 5", &QuorumSettings::plain(5), 1);
}

#[test]
fn cross_check_last_man_standing() {
    cross_check("last_man_standing 3", &lms(3), 2);
    cross_check("last_man_standing 4", &lms(4), 1);
}

#[test]
fn cross_check_last_man_standing_five_nodes() {
    cross_check("last_man_standing 5", &lms(5), 1);
}

#[test]
fn cross_check_wait_for_all() {
    cross_check("wait_for_all 3", &with(3, |s| s.wait_for_all = Some(true)), 2);
    cross_check("wait_for_all 4", &with(4, |s| s.wait_for_all = Some(true)), 1);
}

#[test]
fn cross_check_wait_for_all_five_nodes() {
    cross_check("wait_for_all 5", &with(5, |s| s.wait_for_all = Some(true)), 1);
}

#[test]
fn cross_check_two_node_downscale_and_expected_votes() {
    cross_check("two_node", &with(2, |s| s.two_node = true), 2);
    cross_check("allow_downscale 3", &with(3, |s| s.allow_downscale = true), 1);
    cross_check(
        "expected_votes below the sum",
        &with(4, |s| s.expected_votes = Some(2)),
        1,
    );
}

#[test]
fn cross_check_auto_tie_breaker_list() {
    let settings = with(4, |s| {
        s.auto_tie_breaker = true;
        s.auto_tie_breaker_node = Some(TieBreaker::List(vec![2]));
    });
    assert_eq!(refusal(&settings, &options(1, None)), None);
    cross_check("auto_tie_breaker list 4", &settings, 1);
}

#[test]
fn cross_check_vote_classes() {
    let four = with(4, |s| {
        s.nodes[2].votes = 2;
        s.nodes[3].votes = 2;
    });
    assert_eq!(refusal(&four, &options(2, None)), None);
    cross_check("votes by class 1,1,2,2", &four, 1);
    let five = with(5, |s| {
        s.nodes[3].votes = 3;
        s.nodes[4].votes = 3;
    });
    cross_check("votes by class 1,1,1,3,3", &five, 1);
}

#[test]
fn refuses_where_nodes_are_not_interchangeable_and_dispatch_keeps_small_clusters_explicit() {
    let lowest = with(5, |s| s.auto_tie_breaker = true);
    assert!(refusal(&lowest, &options(2, None))
        .unwrap()
        .contains("no two nodes"));
    let big_wfa = with(8, |s| s.wait_for_all = Some(true));
    let reason = refusal(&big_wfa, &options(2, None)).unwrap();
    assert!(
        reason.contains("wait_for_all") && reason.contains("more than 6"),
        "{reason}"
    );
    let mut operator = options(2, None);
    operator.model.operator.expected = true;
    assert!(refusal(&QuorumSettings::plain(5), &operator)
        .unwrap()
        .contains("operator"));
    // Above the explicit limit a refusal is an error that says why.
    let big_lowest = with(12, |s| s.auto_tie_breaker = true);
    let mut hooks = Hooks {
        progress: &mut |_| {},
        cancelled: &|| false,
    };
    let error = check_auto(&big_lowest, &options(1, None), &mut hooks).unwrap_err();
    assert!(
        error.to_string().contains("counter abstraction does not apply"),
        "{error}"
    );
    // Small clusters keep the explicit path; larger ones take the counter abstraction.
    let small = check_auto(&QuorumSettings::plain(3), &options(1, None), &mut hooks).unwrap();
    assert_eq!(small.method, CheckMethod::Explicit);
    // 5 nodes with last_man_standing: every order is followed, the counter path runs.
    let branching = check_auto(&lms(5), &options(1, Some(2)), &mut hooks).unwrap();
    assert_eq!(branching.method, CheckMethod::Counter);
    let large = check_auto(&QuorumSettings::plain(12), &options(1, Some(3)), &mut hooks).unwrap();
    assert_eq!(large.method, CheckMethod::Counter);
    assert!(large.properties.iter().all(|verdict| verdict.holds));
}

#[test]
fn forgetting_merges_states_and_keeps_every_verdict() {
    // Forgetting peer entries of departed nodes and previous rings is exact (the
    // cross-checks above verify it on every state) and merges states the complete
    // canonical form alone keeps apart.
    for settings in [QuorumSettings::plain(4), lms(4)] {
        let options = options(1, None);
        let forgetting = counter(&settings, &options);
        let keeping = check_counter_keeping_history(
            &settings,
            &options,
            &mut Hooks {
                progress: &mut |_| {},
                cancelled: &|| false,
            },
        )
        .unwrap();
        for (left, right) in forgetting.properties.iter().zip(&keeping.properties) {
            assert_eq!(left.holds, right.holds, "{}", left.name);
            assert_eq!(
                left.counterexample.len(),
                right.counterexample.len(),
                "{}",
                left.name
            );
        }
        assert!(
            forgetting.states < keeping.states,
            "{} states forgetting, {} keeping",
            forgetting.states,
            keeping.states
        );
    }
}

#[test]
fn the_state_limit_stops_the_run_with_a_refusal() {
    // 5 identical nodes at budget 1 take 74 abstract states: a limit below that stops the
    // run with an error naming the limit, the nodes and the budget, never a partial verdict;
    // at the limit's value the same run answers.
    let settings = QuorumSettings::plain(5);
    let options = options(1, None);
    let mut hooks = Hooks {
        progress: &mut |_| {},
        cancelled: &|| false,
    };
    let error = check_counter_with(&settings, &options, &mut hooks, true, false, 50).unwrap_err();
    assert!(
        matches!(
            error,
            Error::CounterTooManyStates {
                count: 5,
                budget: 1,
                limit: 50,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("stopped after 50 abstract states of 5 nodes at fault budget 1")
            && message.contains("--max-faults"),
        "{message}"
    );
    let full = check_counter_with(&settings, &options, &mut hooks, true, false, 100_000).unwrap();
    assert!(full.states > 50 && full.states < 100_000, "{}", full.states);
    let limited = check_counter_with(&settings, &options, &mut hooks, true, false, full.states).unwrap();
    assert_eq!(limited.states, full.states);
}

#[test]
fn every_thread_count_gives_the_same_run() {
    // The search expands batches of a level on worker threads and merges them in frontier
    // order: the same states, ids, verdicts and counterexamples (steps and delivery orders)
    // with any thread count. The cases include violations (a split-brain below the vote
    // sum, last_man_standing's orders) and a run stopped at the first violation.
    let below = with(4, |s| s.expected_votes = Some(2));
    let mut stopping = options(1, None);
    stopping.stop_at = Some(NO_SPLIT_BRAIN);
    for (what, settings, options) in [
        ("plain 5", QuorumSettings::plain(5), options(1, None)),
        ("last_man_standing 4", lms(4), options(1, None)),
        ("expected_votes below the sum", below.clone(), options(1, None)),
        ("stop at split-brain", below, stopping),
    ] {
        let one = counter(&settings, &options);
        assert!(one.states > 10, "{what}: {}", one.states);
        for threads in [2, 3] {
            let mut many = counter(&settings, &CheckOptions { threads, ..options });
            many.seconds = one.seconds;
            assert_eq!(many, one, "{what}, {threads} threads");
        }
    }
}
