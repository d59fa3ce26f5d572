//! Running the checker on a `QuorumModel`: verdicts, shortest counterexamples, the Explorer.
//!
//! Owns `check` (an exhaustive DFS, with symmetry reduction when it is sound, then a
//! single-threaded BFS without symmetry for the shortest counterexample of each violated
//! property), the report types and `explore` (stateright's web Explorer). It must not
//! print or read files: progress goes to a caller's callback, cancellation comes from the
//! caller's hook (`check_with`), results are values.
//!
//! Two deliberate exceptions to "sim does no IO" (ARCHITECTURE.md): stateright's checker
//! runs on worker threads, so this file polls them and reads the wall clock for the
//! progress callback and `CheckReport::seconds` (never for a verdict); and `explore` runs
//! stateright's own Explorer web server, which only stateright can start.

use super::properties::{ISOLATED_NODE_NEVER_QUORATE, NO_SPLIT_BRAIN, QUORUM_REGAINED};
use super::quorum_model::{ModelError, ModelOptions, QuorumModel};
use model::quorum::{NodeId, QuorumSettings};
use model::scenario::Step;
use serde::Serialize;
use stateright::{Checker, HasDiscoveries, Model};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Options of one `check` run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// The model: fault budget and operator actions.
    pub model: ModelOptions,
    /// The longest behaviour explored, in steps (`None`: only the budget bounds it).
    pub depth: Option<usize>,
    /// Worker threads of the exhaustive run (the counterexample search uses one).
    pub threads: usize,
    /// Use symmetry reduction when the configuration allows it.
    pub symmetry: bool,
    /// Stop the exhaustive run as soon as this property is violated (`lint --prove` asks
    /// only about split-brain); the other verdicts are then incomplete (`complete` false).
    pub stop_at: Option<&'static str>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            model: ModelOptions::default(),
            depth: None,
            threads: 1,
            symmetry: true,
            stop_at: None,
        }
    }
}

/// Whether a violated property is a safety problem (exit 1) or an availability one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PropertyKind {
    /// Something bad must never happen (split-brain).
    Safety,
    /// Something good must come back (quorum).
    Liveness,
}

/// The verdict on one property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropertyVerdict {
    /// The property's name, e.g. `no-split-brain`.
    pub name: &'static str,
    /// Safety or liveness.
    pub kind: PropertyKind,
    /// No reachable state (within the budget and depth) violates it.
    pub holds: bool,
    /// The shortest behaviour that violates it, as scenario steps from the running cluster
    /// (`quorate whatif`'s start); empty when it holds.
    #[serde(serialize_with = "serialize_steps")]
    pub counterexample: Vec<Step>,
    /// A remark on the verdict (e.g. that two_node relies on fencing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Indexes into `counterexample` of the steps that need a totem delivery order other
    /// than ascending node id (`quorate whatif` replays ascending order and flags such a
    /// step's nodes as order-dependent instead of reproducing it).
    pub order_dependent_steps: Vec<usize>,
    /// Per step of `counterexample`, the delivery order (node ids) of each of its ring
    /// changes that needs a non-ascending one; empty for the default order.
    #[serde(skip)]
    pub delivery_orders: Vec<Vec<Vec<NodeId>>>,
}

/// A delivery-order note for a counterexample step, e.g. `node 2's message first` or
/// `messages delivered 3,1,2` (one part per ring change, joined by `, then `); `None` for
/// the default order.
pub fn delivery_order_note(orders: &[Vec<NodeId>]) -> Option<String> {
    if orders.is_empty() {
        return None;
    }
    let parts: Vec<String> = orders
        .iter()
        .map(|order| {
            let rest: Vec<NodeId> = order.iter().skip(1).copied().collect();
            let sorted = rest.windows(2).all(|pair| pair[0] < pair[1]);
            match order.first() {
                Some(first) if sorted && rest.first().is_some_and(|next| next < first) => {
                    format!("node {first}'s message first")
                }
                _ => {
                    let ids: Vec<String> = order.iter().map(|id| id.to_string()).collect();
                    format!("messages delivered {}", ids.join(","))
                }
            }
        })
        .collect();
    Some(parts.join(", then "))
}

fn serialize_steps<S: serde::Serializer>(steps: &[Step], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(steps.iter().map(|step| step.to_string()))
}

/// What a `check` run found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// One verdict per property, in a fixed order.
    pub properties: Vec<PropertyVerdict>,
    /// Unique states of the exhaustive run (representatives when symmetry is on).
    pub states: usize,
    /// States generated, repeats included.
    pub generated: usize,
    /// The longest behaviour explored, in steps.
    pub depth: usize,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// The node ids symmetry reduction treated as interchangeable, per class (empty: off).
    pub symmetry: Vec<Vec<NodeId>>,
    /// The fault budget used.
    pub max_faults: u8,
    /// The depth bound used, if any.
    pub max_depth: Option<usize>,
    /// Every verdict is final: the run was not stopped early by `stop_at` or cancelled.
    pub complete: bool,
    /// The run was cancelled (`check_with`'s hook, Ctrl-C): `states` are those explored so
    /// far, a property that `holds` was only not violated yet, and counterexamples are the
    /// exhaustive run's paths (not necessarily shortest).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Why no node was treated as interchangeable when `symmetry` is empty (e.g.
    /// `wait_for_all: ...`, `symmetry reduction is off`).
    #[serde(skip)]
    pub symmetry_note: Option<String>,
    /// How the states were explored: node by node (`explicit`, not serialised, the JSON of
    /// before), or as counts of interchangeable nodes (`counter`, `super::counter`).
    #[serde(skip_serializing_if = "CheckMethod::is_explicit")]
    pub method: CheckMethod,
}

/// How a `check` run explored the states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMethod {
    /// stateright over concrete states, each node by position (symmetry reduction aside).
    #[default]
    Explicit,
    /// The counter abstraction: breadth-first over complete canonical forms, successors
    /// by counts of interchangeable nodes (`super::counter`).
    Counter,
}

impl CheckMethod {
    /// Whether this is the explicit method (serde's skip test).
    pub fn is_explicit(&self) -> bool {
        *self == CheckMethod::Explicit
    }
}

impl CheckReport {
    /// The first violated safety property, if any.
    pub fn first_violated_safety(&self) -> Option<&PropertyVerdict> {
        self.properties
            .iter()
            .find(|verdict| verdict.kind == PropertyKind::Safety && !verdict.holds)
    }

    /// Whether some safety property is violated.
    pub fn safety_violated(&self) -> bool {
        self.first_violated_safety().is_some()
    }
}

/// Progress of a running check, handed to the caller about once a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// `exhaustive` or `counterexample`.
    pub phase: &'static str,
    /// Unique states so far (of this run of the phase).
    pub states: usize,
    /// The longest behaviour so far, in steps.
    pub depth: usize,
    /// Time since the phase started.
    pub elapsed: Duration,
    /// Unique states per second since the phase started.
    pub rate: f64,
    /// In the counterexample phase: the length searched now and the longest it may search
    /// (`(steps, limit)`), the only progress that can be estimated (the exhaustive run's
    /// state count is not known before it ends).
    pub bound: Option<(usize, usize)>,
}

/// The kind of each property, by name.
pub fn property_kind(name: &str) -> PropertyKind {
    if name == QUORUM_REGAINED {
        PropertyKind::Liveness
    } else {
        PropertyKind::Safety
    }
}

/// What a run reports to and asks of its caller while it runs.
pub struct Hooks<'a> {
    /// Called about once a second with the progress.
    pub progress: &'a mut dyn FnMut(&Progress),
    /// Polled about every 10 ms; once it returns true the run stops as soon as the workers
    /// drain and returns a partial report (`CheckReport::interrupted`).
    pub cancelled: &'a dyn Fn() -> bool,
}

/// Runs `checker` to the end, calling `progress` about once a second; when `hooks` says
/// the run is cancelled, stops `stop` (the model being checked) and lets the workers drain.
/// A worker that panicked (a bug) panics here too rather than leaving partial results that
/// look like verdicts.
fn wait<M, C>(
    mut checker: C,
    phase: &'static str,
    bound: Option<(usize, usize)>,
    stop: &QuorumModel,
    hooks: &mut Hooks<'_>,
) -> C
where
    M: Model,
    C: Checker<M>,
{
    let start = Instant::now();
    let mut last = Instant::now();
    let handles = checker.handles();
    while !handles.iter().all(|handle| handle.is_finished()) {
        std::thread::sleep(Duration::from_millis(10));
        if !stop.stopped() && (hooks.cancelled)() {
            stop.stop();
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let states = checker.unique_state_count();
            let elapsed = start.elapsed();
            (hooks.progress)(&Progress {
                phase,
                states,
                depth: checker.max_depth().saturating_sub(1),
                elapsed,
                rate: states as f64 / elapsed.as_secs_f64().max(1e-3),
                bound,
            });
        }
    }
    for handle in handles {
        if let Err(payload) = handle.join() {
            std::panic::resume_unwind(payload);
        }
    }
    checker
}

/// The stateright depth bound for behaviours of at most `steps` steps (init is depth 1, and
/// states at the bound itself are generated but not evaluated).
fn checker_depth(steps: usize) -> usize {
    steps.saturating_add(2)
}

/// Model-checks `settings`: every property's verdict, with the shortest counterexample of
/// each violated one. `progress` is called about once a second while it runs.
pub fn check(
    settings: &QuorumSettings,
    options: &CheckOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CheckReport, ModelError> {
    check_with(
        settings,
        options,
        &mut Hooks {
            progress,
            cancelled: &|| false,
        },
    )
}

/// `check` with a cancellation hook: once `hooks.cancelled` returns true the run stops and
/// the report is partial (`interrupted`, `complete` false: the states explored so far, the
/// properties violated so far with the paths found, every other property not violated yet).
pub fn check_with(
    settings: &QuorumSettings,
    options: &CheckOptions,
    hooks: &mut Hooks<'_>,
) -> Result<CheckReport, ModelError> {
    let start = Instant::now();
    let quorum_model = QuorumModel::new(settings, options.model)?;
    let quorum_model = if options.symmetry {
        quorum_model
    } else {
        quorum_model.without_symmetry()
    };
    let symmetric = !quorum_model.symmetry_classes().is_empty();
    let symmetry: Vec<Vec<NodeId>> = if symmetric {
        let init = quorum_model.init_states();
        let nodeids = init
            .first()
            .map(|state| state.cluster.nodeids().to_vec())
            .unwrap_or_default();
        quorum_model
            .symmetry_classes()
            .iter()
            .map(|class| {
                class
                    .iter()
                    .filter_map(|pos| nodeids.get(*pos).copied())
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    let names: Vec<&'static str> = quorum_model
        .properties()
        .iter()
        .map(|property| property.name)
        .collect();

    let mut builder = quorum_model.clone().checker().threads(options.threads.max(1));
    if let Some(depth) = options.depth {
        builder = builder.target_max_depth(checker_depth(depth));
    }
    if options.symmetry {
        builder = builder.symmetry();
    }
    if let Some(name) = options.stop_at {
        builder = builder.finish_when(HasDiscoveries::AnyOf([name].into_iter().collect()));
    }
    if (hooks.cancelled)() {
        quorum_model.stop();
    }
    let exhaustive = wait(builder.spawn_dfs(), "exhaustive", None, &quorum_model, hooks);
    // stateright rebuilds discovery paths by replaying actions: give them back first.
    let mut interrupted = quorum_model.resume();
    let violated: BTreeSet<&'static str> = exhaustive.discoveries().keys().copied().collect();
    let complete = options.stop_at.is_none_or(|name| !violated.contains(name));
    let states = exhaustive.unique_state_count();
    let generated = exhaustive.state_count();
    // States at the bound are generated (and counted in max_depth) but not evaluated.
    let depth = exhaustive
        .max_depth()
        .saturating_sub(1)
        .min(options.depth.unwrap_or(usize::MAX));

    let mut paths = exhaustive.discoveries();
    if !violated.is_empty() && !interrupted {
        // stateright 0.31's BFS overwrites an `always` discovery with every later violating
        // state it evaluates, so one BFS run does not yield the shortest path. Iterative
        // deepening does: with the bound at `steps`, every path found has at most `steps`
        // steps, and none exists with fewer (else the previous bound had found it).
        let plain = quorum_model.without_symmetry();
        let longest = paths
            .values()
            .map(|path| path.clone().into_actions().len())
            .max()
            .unwrap_or(0);
        let limit = options.depth.map_or(longest, |depth| depth.min(longest));
        let mut remaining = violated.clone();
        for steps in 0..=limit {
            if remaining.is_empty() || interrupted {
                break;
            }
            // At each length, the ascending delivery order first: a counterexample that
            // needs no other order replays exactly in `quorate whatif`.
            let models = if plain.branches_on_orders() {
                vec![plain.with_fixed_order(), plain.clone()]
            } else {
                vec![plain.clone()]
            };
            for model in models {
                if remaining.is_empty() {
                    break;
                }
                let bounded = wait(
                    model
                        .clone()
                        .checker()
                        .threads(1)
                        .target_max_depth(checker_depth(steps))
                        .finish_when(HasDiscoveries::AllOf(remaining.clone()))
                        .spawn_bfs(),
                    "counterexample",
                    Some((steps, limit)),
                    &model,
                    hooks,
                );
                if model.resume() {
                    // A cancelled BFS may have missed shorter paths: keep the DFS ones.
                    interrupted = true;
                    break;
                }
                for (name, path) in bounded.discoveries() {
                    if remaining.remove(name) {
                        paths.insert(name, path);
                    }
                }
            }
        }
    }

    let properties = names
        .iter()
        .map(|name| {
            let mut counterexample: Vec<Step> = Vec::new();
            let mut delivery_orders: Vec<Vec<Vec<NodeId>>> = Vec::new();
            if let Some(path) = paths.get(name) {
                let steps = path.clone().into_vec();
                if let Some((init, _)) = steps.first() {
                    for step in quorum_model.prefix_for(init) {
                        counterexample.push(step);
                        delivery_orders.push(Vec::new());
                    }
                }
                for (state, action) in steps {
                    if let Some(action) = action {
                        delivery_orders.push(quorum_model.delivery_orders(&state, &action));
                        counterexample.push(action.step());
                    }
                }
            }
            let order_dependent_steps = delivery_orders
                .iter()
                .enumerate()
                .filter(|(_, orders)| !orders.is_empty())
                .map(|(index, _)| index)
                .collect();
            let holds = !violated.contains(name);
            PropertyVerdict {
                name,
                kind: property_kind(name),
                holds,
                note: note(settings, name, holds),
                counterexample,
                order_dependent_steps,
                delivery_orders,
            }
        })
        .collect();
    Ok(CheckReport {
        properties,
        states,
        generated,
        depth,
        seconds: start.elapsed().as_secs_f64(),
        symmetry,
        max_faults: options.model.max_faults,
        max_depth: options.depth,
        complete: complete && !interrupted,
        interrupted,
        symmetry_note: quorum_model.no_permutation_reason().map(str::to_string),
        method: CheckMethod::Explicit,
    })
}

/// What a verdict should say beyond holds/violated.
pub(crate) fn note(settings: &QuorumSettings, name: &str, holds: bool) -> Option<String> {
    if holds {
        return None;
    }
    let wait_for_all = settings.wait_for_all.unwrap_or(settings.two_node);
    match name {
        NO_SPLIT_BRAIN | ISOLATED_NODE_NEVER_QUORATE if settings.two_node => Some(
            "requires fencing: with two_node both nodes stay quorate when they lose each other; only \
             fencing (the fence race) stops both from running services"
                .to_string(),
        ),
        NO_SPLIT_BRAIN if settings.last_man_standing => Some(
            "last_man_standing assumes the nodes that left are dead or fenced; nodes cut off alive \
             can come back as a second quorate partition"
                .to_string(),
        ),
        QUORUM_REGAINED if wait_for_all => Some(
            "wait_for_all: a node that starts, or that lost quorum, waits until it has seen all votes \
             again, even with a majority present"
                .to_string(),
        ),
        _ => None,
    }
}

/// Why the Explorer could not start (`sim::Error`'s model variants and `Bind`). The name
/// stays for callers of `explore`.
pub type ExploreError = crate::Error;

/// Checks that `address` can be bound now (stateright's server panics when it cannot).
pub fn bind_test(address: &str) -> Result<(), ExploreError> {
    std::net::TcpListener::bind(address)
        .map(drop)
        .map_err(|source| ExploreError::Bind {
            address: address.to_string(),
            source,
        })
}

/// Serves stateright's Explorer for `settings` on `address`; blocks while it serves.
/// `ready` is called once the address was found free, just before serving.
pub fn explore(
    settings: &QuorumSettings,
    options: &CheckOptions,
    address: &str,
    ready: &mut dyn FnMut(),
) -> Result<(), ExploreError> {
    let quorum_model = QuorumModel::new(settings, options.model)?.without_symmetry();
    bind_test(address)?;
    ready();
    let mut builder = quorum_model.checker().threads(options.threads.max(1));
    if let Some(depth) = options.depth {
        builder = builder.target_max_depth(checker_depth(depth));
    }
    let _checker = builder.serve(address);
    Ok(())
}

/// What `first_violation` found: the actions of the first behaviour (breadth-first, so a
/// shortest one) that violates the property, if any, and the unique states explored.
#[derive(Clone, Debug)]
pub struct ViolationSearch {
    /// The actions from the initial state the behaviour starts in (`initial`).
    pub actions: Option<Vec<super::actions::CheckAction>>,
    /// That behaviour's initial state.
    pub initial: Option<super::quorum_model::CheckState>,
    /// Unique states explored.
    pub states: usize,
}

/// Runs `model` breadth-first on one thread (deterministic) until `property` (one of its
/// properties, e.g. a generator's goal) is violated or the space is exhausted; the other
/// properties are not reported. For fixed operator sequences with faults interleaved
/// (`plan verify`), whose generator bounds the space.
pub fn first_violation<G: super::actions::ActionGenerator>(
    model: QuorumModel<G>,
    property: &'static str,
) -> ViolationSearch {
    let checker = model
        .checker()
        .threads(1)
        .finish_when(HasDiscoveries::AnyOf([property].into_iter().collect()))
        .spawn_bfs()
        .join();
    let states = checker.unique_state_count();
    match checker.discovery(property) {
        Some(path) => {
            let steps = path.into_vec();
            let initial = steps.first().map(|(state, _)| state.clone());
            let actions = steps.into_iter().filter_map(|(_, action)| action).collect();
            ViolationSearch {
                actions: Some(actions),
                initial,
                states,
            }
        }
        None => ViolationSearch {
            actions: None,
            initial: None,
            states,
        },
    }
}
