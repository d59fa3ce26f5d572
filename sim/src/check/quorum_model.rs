//! The stateright `Model` of a corosync cluster over time: `QuorumModel`, its state, options
//! and transitions.
//!
//! Owns `CheckState`, `ModelOptions`, `QuorumModel` (generic over its `ActionGenerator`,
//! `super::actions`), the fault budget, the delivery-order branching and the symmetry
//! classes it reduces by (computed by `crate::symmetry`, shared with `exhaustive`). Every
//! transition IS the engine's result of one event (`ClusterState::apply_event` for the
//! ascending order, otherwise one distinct state of
//! `ClusterState::event_successors_over_orders`), the event printing as its scenario step:
//! this file must not give any event its own semantics, or a counterexample would not replay in
//! `quorate whatif` (which replays the ascending order and flags order-dependent steps). It
//! must not run a checker or print (see `run.rs`); the properties are `properties.rs`.
//!
//! Modelling choices:
//! - Two initial states: the running cluster (`ClusterState::new`, all nodes booted together
//!   in partition 0) and the cold cluster (the same after `down` of every node), from which
//!   nodes start one by one with `up P:N`, to find boot-time split-brains (booting cut off
//!   from every running node is a network fault and costs a unit, `actions::start_kind`;
//!   the first node boots free). With a quorum
//!   device that qnetd decides (`model: net`), both begin with `qnetd up` (qnetd has run and
//!   been reached by every node since the start), so qnetd decides the device's vote in
//!   every state and qnetd faults (`super::actions`) can be taken.
//! - Delivery order: where the configuration can make it matter, a step whose ring changes
//!   have several distinct outcomes over the nodeinfo delivery orders is one action per
//!   outcome (`CheckAction::order`), so every alternative carries into later steps.
//!   `ModelOptions::fixed_order` keeps the ascending order only.
//! - Symmetry: partition labels and time are always canonicalised; nodes of one
//!   `crate::symmetry::node_classes` class are permuted when the order rule permits it
//!   (the order cannot matter, or every order of every ring is followed).

use super::actions::{ActionGenerator, CheckAction, FaultActions, OperatorActions};
use super::properties::always_properties;
use crate::symmetry::{self, OrderRule};
use model::action::Event;
use model::quorum::{ClusterState, LinkMask, NodeId, NodeSet, OrderSuccessors, QuorumSettings};
use model::scenario::{NodeRef, QnetdChange, Step};
use stateright::{Model, Property, Representative};
use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One state's cluster and, per step, its successors over delivery orders.
type CachedSuccessors = (ClusterState, Vec<(Event, OrderSuccessors)>);

thread_local! {
    /// The successors over delivery orders `actions` computed for the last state it saw on
    /// this thread, per step: `next_state`, called next for those actions, reuses them
    /// instead of exploring the orders again. A pure cache: same inputs, same answer.
    static SUCCESSORS: RefCell<Option<CachedSuccessors>> =
        const { RefCell::new(None) };
}

/// A state of the model: the engine's cluster state plus the budget spent.
///
/// `classes` (the symmetry classes) is the same for every state of one model; it rides
/// along because `Representative` gets no model, and it is left out of `Eq` and `Hash`.
#[derive(Clone)]
pub struct CheckState {
    /// Every node's votequorum state, who runs, partitions, link faults, model time.
    pub cluster: ClusterState,
    /// Budget spent so far (faults and operator actions).
    pub spent: u8,
    /// After the last step some group of nodes had no stable membership (partial mesh).
    /// A function of `cluster`, stored because recomputing it needs the settings.
    pub unstable: bool,
    /// The action generator's position (`ActionGenerator::stage_after`), e.g. how many
    /// events of a plan were taken; always 0 for `quorate check`.
    pub stage: u32,
    classes: Arc<Vec<Vec<usize>>>,
}

impl CheckState {
    /// The same state (budget, stability, symmetry classes) with another cluster state.
    pub fn with_cluster(&self, cluster: ClusterState) -> CheckState {
        CheckState {
            cluster,
            ..self.clone()
        }
    }
}

impl PartialEq for CheckState {
    fn eq(&self, other: &Self) -> bool {
        self.spent == other.spent
            && self.unstable == other.unstable
            && self.stage == other.stage
            && self.cluster == other.cluster
    }
}

impl Eq for CheckState {}

impl Hash for CheckState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.cluster.hash(state);
        self.spent.hash(state);
        self.unstable.hash(state);
        self.stage.hash(state);
    }
}

impl fmt::Debug for CheckState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckState")
            .field("spent", &self.spent)
            .field("unstable", &self.unstable)
            .field("stage", &self.stage)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl Representative for CheckState {
    fn representative(&self) -> Self {
        CheckState {
            cluster: self.cluster.symmetry_representative(&self.classes),
            spent: self.spent,
            unstable: self.unstable,
            stage: self.stage,
            classes: Arc::clone(&self.classes),
        }
    }
}

/// Options of the model (what the checker may do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// Fault budget: faults plus operator actions along one behaviour.
    pub max_faults: u8,
    /// Operator actions enabled.
    pub operator: OperatorActions,
    /// Deliver every ring change's nodeinfo messages in ascending node id order only (the
    /// engine's default answer, as `quorate whatif` replays), instead of branching on every
    /// delivery order that gives a distinct state. Faster; unsound where order matters.
    pub fixed_order: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            max_faults: 2,
            operator: OperatorActions::default(),
            fixed_order: false,
        }
    }
}

/// The cluster of one configuration as a stateright model, with the actions of `G`.
#[derive(Clone, Debug)]
pub struct QuorumModel<G: ActionGenerator = FaultActions> {
    settings: QuorumSettings,
    options: ModelOptions,
    generator: G,
    running: ClusterState,
    cold: ClusterState,
    /// Configured votes per position.
    votes: Vec<u32>,
    /// Configured links per position.
    links: Vec<LinkMask>,
    /// Every link number some node has, ascending.
    link_numbers: Vec<u8>,
    /// The physical votes: nodes plus a configured device.
    total_votes: u64,
    /// The device's votes (0 without a device).
    device_votes: u64,
    /// The steps that lead from `ClusterState::new` to `running`: `qnetd up` when qnetd
    /// decides the device's vote, else none (and none for `with_initial_states`).
    start_steps: Vec<Step>,
    /// How delivery orders are treated, which decides whether nodes may be permuted.
    order_rule: OrderRule,
    /// The classes of positions `Representative` permutes (no singletons; empty: none).
    classes: Arc<Vec<Vec<usize>>>,
    /// Why no node is permuted, when `classes` is empty.
    no_permutation: Option<String>,
    /// Symmetry reduction asked for (`without_symmetry` clears it).
    reduce: bool,
    /// Set to stop a run early (`run::check_with`'s cancellation): states then have no
    /// actions, so every checker worker drains its queue and ends. Shared by the clones of
    /// one model; never set by the model itself.
    stop: Arc<AtomicBool>,
    /// Actions branch on delivery orders: not `fixed_order`, and the configuration is one
    /// where the order can matter. Where it cannot (`OrderRule::Irrelevant`), every member
    /// of every ring agrees on expected votes (at least the ring's vote sum) and has no WFA,
    /// ATB, allow_downscale, two_node or device votes, so `successors_over_orders` gives one
    /// state; the model then skips computing it (plain clusters cost what they did).
    branch_orders: bool,
    /// Compute successors over delivery orders by delivering every candidate order one by
    /// one (`ClusterState::successors_over_enumerated_orders`) instead of the engine's
    /// breadth-first exploration: the same successors, slowly; the reference of the tests.
    enumerate_orders: bool,
    /// Initial states given by the caller (`with_initial_states`: cluster, stage) instead
    /// of the running and the cold cluster of `settings`.
    initial: Option<Arc<Vec<(ClusterState, u32)>>>,
}

/// Why a configuration cannot be model-checked (`sim::Error`'s `TooManyToCheck`,
/// `NoNodes`). The name stays for callers of `QuorumModel::new` and `check`.
pub type ModelError = crate::Error;

/// The largest cluster `QuorumModel` accepts.
pub const MAX_CHECK_NODES: usize = 9;

impl QuorumModel<FaultActions> {
    /// The model of `settings` with `options` and the actions of `quorate check`.
    pub fn new(settings: &QuorumSettings, options: ModelOptions) -> Result<QuorumModel, ModelError> {
        QuorumModel::with_generator(settings, options, FaultActions)
    }
}

impl<G: ActionGenerator> QuorumModel<G> {
    /// The model of `settings` with `options`, whose actions `generator` proposes.
    pub fn with_generator(
        settings: &QuorumSettings,
        options: ModelOptions,
        generator: G,
    ) -> Result<QuorumModel<G>, ModelError> {
        QuorumModel::build(settings, options, generator, true)
    }

    /// The model of `settings`; `limit`: refuse more than `MAX_CHECK_NODES` nodes.
    fn build(
        settings: &QuorumSettings,
        options: ModelOptions,
        generator: G,
        limit: bool,
    ) -> Result<QuorumModel<G>, ModelError> {
        let mut running = ClusterState::new(settings).map_err(|error| ModelError::TooManyToCheck {
            count: error.count,
            max: MAX_CHECK_NODES,
        })?;
        let mut start_steps = Vec::new();
        if crate::exhaustive::qnetd_algorithm(settings).is_some() {
            let step = Step::Qnetd(QnetdChange::Up);
            running.apply(settings, &step);
            start_steps.push(step);
        }
        let count = running.nodeids().len();
        if count == 0 {
            return Err(ModelError::NoNodes { task: "check" });
        }
        if limit && count > MAX_CHECK_NODES {
            return Err(ModelError::TooManyToCheck {
                count,
                max: MAX_CHECK_NODES,
            });
        }
        let mut cold = running.clone();
        cold.apply(settings, &down_all_step(&running));
        let node_settings = |nodeid| settings.nodes.iter().find(|node| node.nodeid == nodeid);
        let votes: Vec<u32> = running
            .nodeids()
            .iter()
            .map(|nodeid| node_settings(*nodeid).map_or(0, |node| node.votes))
            .collect();
        let links: Vec<LinkMask> = running
            .nodeids()
            .iter()
            .map(|nodeid| settings.link_mask(*nodeid))
            .collect();
        let all_links = links.iter().fold(LinkMask::EMPTY, |all, mask| all | *mask);
        let link_numbers = all_links.iter().collect();
        let device_votes = settings.device.as_ref().map_or(0u64, |device| {
            device.votes.map_or(count.saturating_sub(1) as u64, u64::from)
        });
        let total_votes = votes.iter().map(|votes| u64::from(*votes)).sum::<u64>() + device_votes;
        let order_rule = symmetry::order_rule(settings, count, options.operator.any(), options.fixed_order);
        let branch_orders = !options.fixed_order && order_rule != OrderRule::Irrelevant;
        let mut model = QuorumModel {
            settings: settings.clone(),
            options,
            generator,
            running,
            cold,
            votes,
            links,
            link_numbers,
            total_votes,
            device_votes,
            start_steps,
            order_rule,
            classes: Arc::new(Vec::new()),
            no_permutation: None,
            reduce: true,
            stop: Arc::new(AtomicBool::new(false)),
            branch_orders,
            enumerate_orders: false,
            initial: None,
        };
        model.set_classes(true);
        Ok(model)
    }

    /// A model whose initial states are `initial` (each a cluster state, per node with the
    /// file on its disk and the configuration it runs, and the generator's stage) instead
    /// of `settings`' running and cold cluster: e.g. `plan verify`, whose nodes run
    /// different files along the plan. `settings` still gives the votes, links and
    /// symmetry the model's own helpers read (`FaultActions`, `quorum-regained`); a
    /// generator for such clusters reads each node's running configuration instead. The
    /// node limit of `quorate check` does not apply: the generator bounds the space.
    pub fn with_initial_states(
        settings: &QuorumSettings,
        options: ModelOptions,
        generator: G,
        initial: Vec<(ClusterState, u32)>,
    ) -> Result<QuorumModel<G>, ModelError> {
        let first = initial
            .first()
            .map(|(cluster, _)| cluster.clone())
            .ok_or(ModelError::NoNodes { task: "check" })?;
        let mut model = QuorumModel::build(settings, options, generator, false)?;
        model.running = first.clone();
        model.cold = first;
        model.start_steps = Vec::new();
        model.initial = Some(Arc::new(initial));
        Ok(model)
    }

    /// Sets the symmetry classes the order rule and the generator allow (`reduce`), or none.
    fn set_classes(&mut self, reduce: bool) {
        let qnetd = self.running.qnetd_modelled();
        let classes = if !reduce || !self.generator.symmetric() || qnetd {
            Vec::new()
        } else {
            symmetry::model_classes(&self.settings, self.running.nodeids(), self.order_rule)
        };
        self.no_permutation = if !reduce {
            Some("symmetry reduction is off".to_string())
        } else if !self.generator.symmetric() {
            Some("the actions are not symmetric in the nodes".to_string())
        } else if qnetd {
            Some(
                "qnetd decides the device's vote, and its tie-breakers and client order read node ids"
                    .to_string(),
            )
        } else {
            symmetry::no_permutation_reason(
                &self.settings,
                &classes,
                self.order_rule,
                self.options.operator.any(),
            )
        };
        self.classes = Arc::new(classes);
        self.reduce = reduce;
    }

    /// The settings checked.
    pub fn settings(&self) -> &QuorumSettings {
        &self.settings
    }

    /// The options.
    pub fn options(&self) -> ModelOptions {
        self.options
    }

    /// The action generator.
    pub fn generator(&self) -> &G {
        &self.generator
    }

    /// Configured links per position (udp/udpu: link 0 only).
    pub fn node_links(&self) -> &[LinkMask] {
        &self.links
    }

    /// Every link number some node has, ascending.
    pub fn link_numbers(&self) -> &[u8] {
        &self.link_numbers
    }

    /// The physical votes: nodes plus a configured device.
    pub fn total_votes(&self) -> u64 {
        self.total_votes
    }

    /// The configured device's votes (0 without a device).
    pub fn device_votes(&self) -> u64 {
        self.device_votes
    }

    /// Whether `state` has budget left for one more fault or operator action.
    pub fn budget_left(&self, state: &CheckState) -> bool {
        state.spent < self.options.max_faults
    }

    /// The classes of interchangeable positions symmetry reduction permutes (empty: nodes
    /// are not permuted; partition labels and time are still canonicalised).
    pub fn symmetry_classes(&self) -> &[Vec<usize>] {
        &self.classes
    }

    /// Why no node is permuted (for the report), `None` when some are.
    pub fn no_permutation_reason(&self) -> Option<&str> {
        self.no_permutation.as_deref()
    }

    /// How the model treats delivery orders (which decides whether nodes may be permuted).
    pub fn order_rule(&self) -> OrderRule {
        self.order_rule
    }

    /// A copy of this model in the ascending delivery order only (`fixed_order`), e.g. to
    /// prefer counterexamples `quorate whatif` replays exactly. Node permutation stays only
    /// where the order cannot matter.
    pub fn with_fixed_order(&self) -> QuorumModel<G> {
        let mut model = QuorumModel {
            options: ModelOptions {
                fixed_order: true,
                ..self.options
            },
            order_rule: symmetry::order_rule(
                &self.settings,
                self.running.nodeids().len(),
                self.options.operator.any(),
                true,
            ),
            branch_orders: false,
            ..self.clone()
        };
        model.set_classes(self.reduce);
        model
    }

    /// A copy of this model that computes the successors over delivery orders by
    /// delivering every candidate order of every ring change one by one, without the
    /// engine's breadth-first exploration and memo: the same model, slower (the unreduced
    /// reference that tests compare `quorate check`'s runs with).
    pub fn with_enumerated_orders(&self) -> QuorumModel<G> {
        QuorumModel {
            enumerate_orders: true,
            ..self.clone()
        }
    }

    /// The successors of `step` from `state` over delivery orders.
    fn successors_of(&self, state: &CheckState, event: &Event) -> OrderSuccessors {
        if self.enumerate_orders {
            state.cluster.event_successors_over_enumerated_orders(event)
        } else {
            state.cluster.event_successors_over_orders(event)
        }
    }

    /// A copy of this model without symmetry classes (for runs that must not reduce).
    pub fn without_symmetry(&self) -> QuorumModel<G> {
        let mut model = self.clone();
        model.set_classes(false);
        model
    }

    /// The steps that lead to `state`'s path's initial state from the running cluster a
    /// scenario starts with (`ClusterState::new`): `qnetd up` first when qnetd decides the
    /// device's vote, then `down` of every node for the cold start.
    pub fn prefix_for(&self, init: &CheckState) -> Vec<Step> {
        let mut steps = self.start_steps.clone();
        if init.cluster == self.cold && self.cold != self.running {
            steps.push(down_all_step(&self.cold));
        }
        steps
    }

    fn state(&self, cluster: ClusterState) -> CheckState {
        CheckState {
            cluster,
            spent: 0,
            unstable: false,
            stage: 0,
            classes: Arc::clone(&self.classes),
        }
    }

    /// Makes every state of this model (and of its clones) have no actions from now on, so
    /// that a running checker ends soon; its results are then partial.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether `stop` was called (and not `resume`d since).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Gives states their actions back after `stop` (stateright replays actions to rebuild
    /// discovery paths); returns whether the model had been stopped.
    pub fn resume(&self) -> bool {
        self.stop.swap(false, Ordering::Relaxed)
    }

    /// Whether actions branch on delivery orders (see `ModelOptions::fixed_order`).
    pub fn branches_on_orders(&self) -> bool {
        self.branch_orders
    }

    /// The delivery orders `action` needs from `state` when it is an order variant: for
    /// each ring change of its step that does not deliver in ascending node id order, the
    /// node ids in delivery order. Empty for the default order (or a variant that no longer
    /// exists).
    pub fn delivery_orders(&self, state: &CheckState, action: &CheckAction) -> Vec<Vec<NodeId>> {
        if action.order == 0 {
            return Vec::new();
        }
        self.successors_of(state, &action.event)
            .successors
            .into_iter()
            .nth(usize::from(action.order))
            .map(|successor| successor.orders)
            .unwrap_or_default()
    }

    /// Votes of the positions in `set`.
    pub fn votes_of(&self, set: NodeSet) -> u64 {
        set.iter()
            .filter_map(|pos| self.votes.get(pos))
            .map(|votes| u64::from(*votes))
            .sum()
    }
}

/// The step that takes every node down (the cold start's prefix).
fn down_all_step(cluster: &ClusterState) -> Step {
    Step::Down(
        cluster
            .nodeids()
            .iter()
            .map(|nodeid| NodeRef::Id(*nodeid))
            .collect(),
    )
}

impl<G: ActionGenerator> Model for QuorumModel<G> {
    type State = CheckState;
    type Action = CheckAction;

    fn init_states(&self) -> Vec<CheckState> {
        if let Some(initial) = &self.initial {
            return initial
                .iter()
                .map(|(cluster, stage)| CheckState {
                    stage: *stage,
                    ..self.state(cluster.clone())
                })
                .collect();
        }
        let mut states = vec![self.state(self.running.clone())];
        if self.cold != self.running {
            states.push(self.state(self.cold.clone()));
        }
        states
    }

    fn actions(&self, state: &CheckState, actions: &mut Vec<CheckAction>) {
        if self.stopped() {
            return;
        }
        let first = actions.len();
        self.generator.actions(self, state, actions);
        if !self.branch_orders {
            return;
        }
        // Order variants, each right after its step (deterministic: the engine's order).
        // The successors are kept for `next_state`, which stateright calls next for them.
        let defaults = actions.split_off(first);
        let mut computed = Vec::with_capacity(defaults.len());
        for action in defaults {
            let all = self.successors_of(state, &action.event);
            let successors = all.successors.len();
            computed.push((action.event.clone(), all));
            let variants = (1..successors.min(usize::from(u8::MAX) + 1)).map(|order| CheckAction {
                order: order as u8,
                ..action.clone()
            });
            actions.push(action.clone());
            actions.extend(variants);
        }
        SUCCESSORS.with(|cache| {
            *cache.borrow_mut() = Some((state.cluster.clone(), computed));
        });
    }

    fn next_state(&self, state: &CheckState, action: CheckAction) -> Option<CheckState> {
        let (cluster, outcome) = if self.branch_orders {
            // Only the chosen successor is cloned out of the cache (not every variant).
            let order = usize::from(action.order);
            let cached = SUCCESSORS.with(|cache| {
                cache.borrow().as_ref().and_then(|(cluster, computed)| {
                    (*cluster == state.cluster)
                        .then(|| computed.iter().find(|(event, _)| *event == action.event))
                        .flatten()
                        .map(|(_, successors)| {
                            successors
                                .successors
                                .get(order)
                                .map(|successor| (successor.state.clone(), successors.outcome.clone()))
                        })
                })
            });
            match cached {
                Some(found) => found?,
                None => {
                    let successors = self.successors_of(state, &action.event);
                    let successor = successors.successors.into_iter().nth(order)?;
                    (successor.state, successors.outcome)
                }
            }
        } else if action.order == 0 {
            let mut cluster = state.cluster.clone();
            let outcome = cluster.apply_event(&action.event);
            (cluster, outcome)
        } else {
            return None;
        };
        if outcome.rejected {
            return None;
        }
        let stage = self.generator.stage_after(state, &action, &cluster);
        if cluster == state.cluster && stage == state.stage {
            return None;
        }
        let cost = action.kind.cost();
        Some(CheckState {
            cluster,
            spent: state.spent.saturating_add(cost),
            unstable: !outcome.unstable.is_empty(),
            stage,
            classes: Arc::clone(&state.classes),
        })
    }

    fn within_boundary(&self, state: &CheckState) -> bool {
        state.spent <= self.options.max_faults
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = always_properties();
        properties.extend(self.generator.goals());
        properties
    }

    fn format_action(&self, action: &CheckAction) -> String {
        format!("{action:?}")
    }

    fn format_step(&self, state: &CheckState, action: CheckAction) -> Option<String> {
        let next = self.next_state(state, action)?;
        Some(describe(self, &next))
    }
}

/// A multi-line, `corosync-quorumtool`-like description of a state (Explorer, reports).
pub fn describe<G: ActionGenerator>(model: &QuorumModel<G>, state: &CheckState) -> String {
    let mut text = format!(
        "t={} ms, budget spent {}/{}{}\n",
        state.cluster.now_ms(),
        state.spent,
        model.options.max_faults,
        if state.unstable {
            ", a partial mesh has no stable membership"
        } else {
            ""
        }
    );
    for view in state.cluster.views(&model.settings) {
        let partition = state
            .cluster
            .position(view.nodeid)
            .and_then(|pos| state.cluster.partitions().get(pos).copied())
            .unwrap_or(0);
        if view.up {
            text.push_str(&format!(
                "node {} (partition {partition}): {} members {:?}: {}\n",
                view.nodeid,
                if view.quorate { "quorate" } else { "inquorate" },
                view.members,
                view.why
            ));
        } else {
            text.push_str(&format!("node {}: down\n", view.nodeid));
        }
    }
    text
}
