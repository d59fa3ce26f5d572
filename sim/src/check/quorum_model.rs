//! The stateright `Model` of a corosync cluster over time: `QuorumModel`, its state and actions.
//!
//! Owns the action alphabet (faults, recoveries, time, operator actions), the fault budget,
//! the properties and the symmetry classes. Every action IS one `model::scenario::Step`
//! in one totem delivery order, and every transition IS the engine's result of that step
//! (`ClusterState::apply` for the ascending order, otherwise one distinct state of
//! `ClusterState::successors_over_orders`): this file must not give any step its own
//! semantics, or a counterexample would not replay in `quorate whatif` (which replays the
//! ascending order and flags order-dependent steps). It must not run a checker or print
//! (see `run.rs`).
//!
//! Modelling choices:
//! - Two initial states: the running cluster (`ClusterState::new`, all nodes booted together
//!   in partition 0) and the cold cluster (the same after `down` of every node), from which
//!   nodes start one by one with `up P:N`, to find boot-time split-brains.
//! - A fault is a crash (`down N`; with allow_downscale also a clean `stop N`), a move that separates nodes (`move P:N,...`, a subset of
//!   one partition to another partition or a new one), or a link going down (whole link, at
//!   one node, or between two nodes). Starts, merges of whole partitions, `link up` and
//!   `heal` are recoveries and cost nothing. Operator actions (`expected V on N`, `reload`)
//!   count against the same budget, which therefore bounds every behaviour: the number of
//!   ring changes, and so of LMS timers, is finite.
//! - Delivery order: where the configuration can make it matter, a step whose ring changes
//!   have several distinct outcomes over the nodeinfo delivery orders is one action per
//!   outcome (`CheckAction::order`), so every alternative carries into later steps.
//!   `ModelOptions::fixed_order` keeps the ascending order only.
//! - Time: `wait MS` is enabled only while a timer (an LMS window) is pending and advances
//!   exactly to the earliest deadline.
//! - Partition labels: a start or move targets a label some running node uses or the
//!   smallest unused one, so labels stay small.

use model::quorum::{ClusterState, NodeId, NodeSet, OrderSuccessors, QuorumSettings};
use model::scenario::{LinkScope, NodeRef, NodeSpec, Step};
use stateright::{Model, Property, Representative};
use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One state's cluster and, per step, its successors over delivery orders.
type CachedSuccessors = (ClusterState, Vec<(Step, OrderSuccessors)>);

thread_local! {
    /// The successors over delivery orders `actions` computed for the last state it saw on
    /// this thread, per step: `next_state`, called next for those actions, reuses them
    /// instead of exploring the orders again. A pure cache: same inputs, same answer.
    static SUCCESSORS: RefCell<Option<CachedSuccessors>> =
        const { RefCell::new(None) };
}

/// Property name: never two disjoint memberships quorate at once.
pub const NO_SPLIT_BRAIN: &str = "no-split-brain";
/// Property name: a stable membership with a majority of the votes is quorate once timers ran.
pub const QUORUM_REGAINED: &str = "quorum-regained";
/// Property name: a node cut off from every other running node is not quorate (unless it
/// alone holds a majority of the votes).
pub const ISOLATED_NODE_NEVER_QUORATE: &str = "isolated-node-never-quorate";

/// Which operator actions the checker may take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OperatorActions {
    /// `expected V on N` (`corosync-quorumtool -e`, `pvecm expected`).
    pub expected: bool,
    /// `reload` (`corosync-cfgtool -R` with the same file).
    pub reload: bool,
}

/// What an action is, for the budget and for rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Costs one unit of the fault budget.
    Fault,
    /// A start, merge, link up or heal: free.
    Recovery,
    /// `wait`: free.
    Time,
    /// An operator command: costs one unit of the budget.
    Operator,
}

/// One action of the model: exactly one scenario step, in one totem delivery order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CheckAction {
    /// The scenario step the engine applies.
    pub step: Step,
    /// Its kind.
    pub kind: ActionKind,
    /// Which distinct outcome of the step over the delivery orders of its ring changes'
    /// nodeinfo messages: 0 is ascending node id (`ClusterState::apply`, what `whatif`
    /// replays), k > 0 the k-th other distinct state of
    /// `ClusterState::successors_over_orders`. Part of the action so that `next_state`
    /// stays deterministic.
    pub order: u8,
}

impl CheckAction {
    /// The step in the default (ascending node id) delivery order.
    pub fn new(step: Step, kind: ActionKind) -> CheckAction {
        CheckAction { step, kind, order: 0 }
    }
}

impl fmt::Debug for CheckAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.step)?;
        if self.order > 0 {
            write!(f, "  # delivery order variant {}", self.order)?;
        }
        Ok(())
    }
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
        self.spent == other.spent && self.unstable == other.unstable && self.cluster == other.cluster
    }
}

impl Eq for CheckState {}

impl Hash for CheckState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.cluster.hash(state);
        self.spent.hash(state);
        self.unstable.hash(state);
    }
}

impl fmt::Debug for CheckState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckState")
            .field("spent", &self.spent)
            .field("unstable", &self.unstable)
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

/// The cluster of one configuration as a stateright model.
#[derive(Clone, Debug)]
pub struct QuorumModel {
    settings: QuorumSettings,
    options: ModelOptions,
    running: ClusterState,
    cold: ClusterState,
    /// Configured votes per position.
    votes: Vec<u32>,
    /// Configured links per position (bit L).
    links: Vec<u8>,
    /// Every link number some node has, ascending.
    link_numbers: Vec<u8>,
    /// The physical votes: nodes plus a configured device.
    total_votes: u64,
    classes: Arc<Vec<Vec<usize>>>,
    /// Actions branch on delivery orders: not `fixed_order`, and the configuration is one
    /// where the order can matter. Where `node_symmetry_sound` holds, every member of every
    /// ring agrees on expected votes (at least the ring's vote sum) and has no WFA, ATB,
    /// allow_downscale, two_node or device votes, so `successors_over_orders` gives one
    /// state; the model then skips computing it (plain clusters cost what they did), and
    /// order variants never meet node permutation.
    branch_orders: bool,
}

/// Why a configuration cannot be model-checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// More nodes than the checker explores (the move actions grow as 2^nodes).
    #[error("model checking handles at most {max} nodes, the configuration has {count}")]
    TooManyNodes {
        /// Nodes in the configuration.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No node at all.
    #[error("the configuration has no nodes to check")]
    NoNodes,
}

/// The largest cluster `QuorumModel` accepts.
pub const MAX_CHECK_NODES: usize = 9;

fn bit(pos: usize) -> NodeSet {
    NodeSet::single(pos)
}

/// The positions in `set`, ascending.
fn positions(set: NodeSet) -> impl Iterator<Item = usize> {
    set.iter()
}

impl QuorumModel {
    /// The model of `settings` with `options`.
    pub fn new(settings: &QuorumSettings, options: ModelOptions) -> Result<QuorumModel, ModelError> {
        let running = ClusterState::new(settings).map_err(|error| ModelError::TooManyNodes {
            count: error.count,
            max: MAX_CHECK_NODES,
        })?;
        let count = running.nodeids().len();
        if count == 0 {
            return Err(ModelError::NoNodes);
        }
        if count > MAX_CHECK_NODES {
            return Err(ModelError::TooManyNodes {
                count,
                max: MAX_CHECK_NODES,
            });
        }
        let mut cold = running.clone();
        cold.apply(settings, &Self::down_all_step(&running));
        let node_settings = |nodeid| settings.nodes.iter().find(|node| node.nodeid == nodeid);
        let votes: Vec<u32> = running
            .nodeids()
            .iter()
            .map(|nodeid| node_settings(*nodeid).map_or(0, |node| node.votes))
            .collect();
        let links: Vec<u8> = running
            .nodeids()
            .iter()
            .map(|nodeid| settings.link_mask(*nodeid).bits())
            .collect();
        let all_links = links.iter().fold(0u8, |all, mask| all | mask);
        let link_numbers = (0..8u8).filter(|link| all_links & 1 << link != 0).collect();
        let device_votes = settings.device.as_ref().map_or(0u64, |device| {
            device.votes.map_or(count.saturating_sub(1) as u64, u64::from)
        });
        let total_votes = votes.iter().map(|votes| u64::from(*votes)).sum::<u64>() + device_votes;
        let branch_orders = !options.fixed_order && !node_symmetry_sound(settings, options);
        let classes = Arc::new(if node_symmetry_sound(settings, options) {
            symmetry_classes(settings, &votes, &links)
        } else {
            Vec::new()
        });
        Ok(QuorumModel {
            settings: settings.clone(),
            options,
            running,
            cold,
            votes,
            links,
            link_numbers,
            total_votes,
            classes,
            branch_orders,
        })
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

    /// The settings checked.
    pub fn settings(&self) -> &QuorumSettings {
        &self.settings
    }

    /// The options.
    pub fn options(&self) -> ModelOptions {
        self.options
    }

    /// The classes of interchangeable positions symmetry reduction permutes (empty: nodes
    /// are not permuted; partition labels and time are still canonicalised).
    pub fn symmetry_classes(&self) -> &[Vec<usize>] {
        &self.classes
    }

    /// A copy of this model in the ascending delivery order only (`fixed_order`), e.g. to
    /// prefer counterexamples `quorate whatif` replays exactly.
    pub fn with_fixed_order(&self) -> QuorumModel {
        QuorumModel {
            options: ModelOptions {
                fixed_order: true,
                ..self.options
            },
            branch_orders: false,
            ..self.clone()
        }
    }

    /// A copy of this model without symmetry classes (for runs that must not reduce).
    pub fn without_symmetry(&self) -> QuorumModel {
        QuorumModel {
            classes: Arc::new(Vec::new()),
            ..self.clone()
        }
    }

    /// The steps that lead to `state`'s path's initial state from the running cluster a
    /// scenario starts with: `down` of every node for the cold start, nothing otherwise.
    pub fn prefix_for(&self, init: &CheckState) -> Vec<Step> {
        if init.cluster == self.cold && self.cold != self.running {
            vec![Self::down_all_step(&self.cold)]
        } else {
            Vec::new()
        }
    }

    fn state(&self, cluster: ClusterState) -> CheckState {
        CheckState {
            cluster,
            spent: 0,
            unstable: false,
            classes: Arc::clone(&self.classes),
        }
    }

    fn node_ref(&self, cluster: &ClusterState, pos: usize) -> NodeRef {
        NodeRef::Id(cluster.nodeids()[pos])
    }

    fn budget_left(&self, state: &CheckState) -> bool {
        state.spent < self.options.max_faults
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
        state
            .cluster
            .successors_over_orders(&self.settings, &action.step)
            .successors
            .into_iter()
            .nth(usize::from(action.order))
            .map(|successor| successor.orders)
            .unwrap_or_default()
    }

    /// Votes of the positions in `set`.
    fn votes_of(&self, set: NodeSet) -> u64 {
        positions(set)
            .filter_map(|pos| self.votes.get(pos))
            .map(|votes| u64::from(*votes))
            .sum()
    }
}

/// Whether swapping nodes of equal configuration is a symmetry of the engine for `settings`.
///
/// The engine delivers the nodeinfo messages of a ring change in ascending nodeid order, and
/// a node records a non-quorate sender's expected votes as its own current value (spec 1.2),
/// so once nodes disagree about expected votes the delivery order changes what they record,
/// and a node's nodeid (its place in that order) matters. Expected votes provably stay equal
/// on every node only without last_man_standing, allow_downscale, a quorum device, operator
/// actions, and with `quorum.expected_votes` (if set) at least the vote sum (else a ring
/// with more votes raises some nodes' value). wait_for_all (also implied by two_node) makes
/// a receiver's armed/disarmed status depend on delivery order too (found by the tests).
/// auto_tie_breaker names nodes by id. two_node without wait_for_all forces quorum 1 while
/// at most two nodes count, so what a member records mid ring change depends on the order
/// (found by the quorum tests' `successors_over_orders_match_full_exploration`); it is left
/// out so that no symmetric configuration branches on delivery orders. In every
/// other case only partition relabelling and the time shift are used (always sound).
/// `sim/src/check/tests.rs` checks the commutation on every reachable state of small models.
fn node_symmetry_sound(settings: &QuorumSettings, options: ModelOptions) -> bool {
    let vote_sum: u64 = settings.nodes.iter().map(|node| u64::from(node.votes)).sum();
    !settings.auto_tie_breaker
        && !settings.last_man_standing
        && !settings.allow_downscale
        && settings.device.is_none()
        && !settings.wait_for_all.unwrap_or(settings.two_node)
        && !settings.two_node
        && !options.operator.expected
        && !options.operator.reload
        && settings
            .expected_votes
            .is_none_or(|expected| u64::from(expected) >= vote_sum)
}

/// Classes of positions that are interchangeable: same votes and links, and no
/// auto_tie_breaker (which names nodes by id: lowest, highest or a list). Singletons dropped.
fn symmetry_classes(settings: &QuorumSettings, votes: &[u32], links: &[u8]) -> Vec<Vec<usize>> {
    if settings.auto_tie_breaker {
        return Vec::new();
    }
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for pos in 0..votes.len() {
        match classes
            .iter_mut()
            .find(|class| votes[class[0]] == votes[pos] && links[class[0]] == links[pos])
        {
            Some(class) => class.push(pos),
            None => classes.push(vec![pos]),
        }
    }
    classes.retain(|class| class.len() > 1);
    classes
}

impl Model for QuorumModel {
    type State = CheckState;
    type Action = CheckAction;

    fn init_states(&self) -> Vec<CheckState> {
        let mut states = vec![self.state(self.running.clone())];
        if self.cold != self.running {
            states.push(self.state(self.cold.clone()));
        }
        states
    }

    fn actions(&self, state: &CheckState, actions: &mut Vec<CheckAction>) {
        let first = actions.len();
        self.default_order_actions(state, actions);
        if !self.branch_orders {
            return;
        }
        // Order variants, each right after its step (deterministic: the engine's order).
        // The successors are kept for `next_state`, which stateright calls next for them.
        let defaults = actions.split_off(first);
        let mut computed = Vec::with_capacity(defaults.len());
        for action in defaults {
            let all = state.cluster.successors_over_orders(&self.settings, &action.step);
            let successors = all.successors.len();
            computed.push((action.step.clone(), all));
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
            let cached = SUCCESSORS.with(|cache| {
                cache.borrow().as_ref().and_then(|(cluster, computed)| {
                    (*cluster == state.cluster)
                        .then(|| computed.iter().find(|(step, _)| *step == action.step))
                        .flatten()
                        .map(|(_, successors)| successors.clone())
                })
            });
            let successors =
                cached.unwrap_or_else(|| state.cluster.successors_over_orders(&self.settings, &action.step));
            let successor = successors.successors.into_iter().nth(usize::from(action.order))?;
            (successor.state, successors.outcome)
        } else if action.order == 0 {
            let mut cluster = state.cluster.clone();
            let outcome = cluster.apply(&self.settings, &action.step);
            (cluster, outcome)
        } else {
            return None;
        };
        if outcome.rejected || cluster == state.cluster {
            return None;
        }
        let cost = u8::from(matches!(action.kind, ActionKind::Fault | ActionKind::Operator));
        Some(CheckState {
            cluster,
            spent: state.spent.saturating_add(cost),
            unstable: !outcome.unstable.is_empty(),
            classes: Arc::clone(&state.classes),
        })
    }

    fn within_boundary(&self, state: &CheckState) -> bool {
        state.spent <= self.options.max_faults
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::<Self>::always(NO_SPLIT_BRAIN, |_, state| !state.cluster.split_brain()),
            Property::<Self>::always(QUORUM_REGAINED, quorum_regained),
            Property::<Self>::always(ISOLATED_NODE_NEVER_QUORATE, isolated_node_never_quorate),
        ]
    }

    fn format_action(&self, action: &CheckAction) -> String {
        format!("{action:?}")
    }

    fn format_step(&self, state: &CheckState, action: CheckAction) -> Option<String> {
        let next = self.next_state(state, action)?;
        Some(describe(self, &next))
    }
}

impl QuorumModel {
    /// Every action of `state` in the ascending delivery order (order 0).
    fn default_order_actions(&self, state: &CheckState, actions: &mut Vec<CheckAction>) {
        let cluster = &state.cluster;
        let count = cluster.nodeids().len();
        let budget = self.budget_left(state);
        let up = cluster.up_nodes();
        let groups = cluster.partitions();
        let mut labels: Vec<u8> = positions(up).map(|pos| groups[pos]).collect();
        labels.sort_unstable();
        labels.dedup();
        let fresh = (0..=u8::MAX)
            .find(|label| !labels.contains(label))
            .unwrap_or(u8::MAX);
        let mut targets = labels.clone();
        targets.push(fresh);

        // Crashes and starts.
        for pos in 0..count {
            let node = self.node_ref(cluster, pos);
            if up.contains(pos) {
                if budget {
                    actions.push(CheckAction {
                        order: 0,
                        step: Step::Down(vec![node.clone()]),
                        kind: ActionKind::Fault,
                    });
                    // A clean shutdown differs from a crash only with allow_downscale.
                    if self.settings.allow_downscale {
                        actions.push(CheckAction {
                            order: 0,
                            step: Step::Stop(vec![node]),
                            kind: ActionKind::Fault,
                        });
                    }
                }
            } else if self.links[pos] != 0 {
                for target in &targets {
                    actions.push(CheckAction {
                        order: 0,
                        step: Step::Up(vec![NodeSpec {
                            partition: Some(*target),
                            nodes: vec![node.clone()],
                        }]),
                        kind: ActionKind::Recovery,
                    });
                }
            }
        }

        // Moves: a subset of one partition to another partition or a new one.
        for label in &labels {
            let group: Vec<usize> = positions(up).filter(|pos| groups[*pos] == *label).collect();
            let subsets: u32 = 1 << group.len();
            for mask in 1..subsets {
                let whole = mask == subsets - 1;
                if !whole && !budget {
                    continue;
                }
                let members: Vec<NodeRef> = group
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| mask & (1 << index) != 0)
                    .map(|(_, pos)| self.node_ref(cluster, *pos))
                    .collect();
                for target in &targets {
                    if target == label || (whole && *target == fresh) {
                        continue;
                    }
                    actions.push(CheckAction {
                        order: 0,
                        step: Step::Move(vec![NodeSpec {
                            partition: Some(*target),
                            nodes: members.clone(),
                        }]),
                        kind: if whole {
                            ActionKind::Recovery
                        } else {
                            ActionKind::Fault
                        },
                    });
                }
            }
        }

        // Links: whole link, at one node, between two nodes.
        let faults = cluster.link_faults();
        let running_with = |link: u8| positions(up).filter(move |pos| self.links[*pos] & 1 << link != 0);
        for link in &self.link_numbers {
            let mask = 1u8 << link;
            if faults.links_down.contains(*link) {
                actions.push(CheckAction {
                    order: 0,
                    step: Step::Link {
                        link: *link,
                        up: true,
                        scope: LinkScope::All,
                    },
                    kind: ActionKind::Recovery,
                });
            } else if budget && running_with(*link).count() > 1 {
                actions.push(CheckAction {
                    order: 0,
                    step: Step::Link {
                        link: *link,
                        up: false,
                        scope: LinkScope::All,
                    },
                    kind: ActionKind::Fault,
                });
            }
            for pos in 0..count {
                let down_here = faults
                    .node_links_down
                    .get(pos)
                    .is_some_and(|node| node.contains(*link));
                if down_here {
                    actions.push(CheckAction {
                        order: 0,
                        step: Step::Link {
                            link: *link,
                            up: true,
                            scope: LinkScope::Nodes(vec![self.node_ref(cluster, pos)]),
                        },
                        kind: ActionKind::Recovery,
                    });
                } else if budget && up.contains(pos) && self.links[pos] & mask != 0 {
                    actions.push(CheckAction {
                        order: 0,
                        step: Step::Link {
                            link: *link,
                            up: false,
                            scope: LinkScope::Nodes(vec![self.node_ref(cluster, pos)]),
                        },
                        kind: ActionKind::Fault,
                    });
                }
            }
            for a in 0..count {
                for b in a + 1..count {
                    let entry = (*link, a as u8, b as u8);
                    let scope = LinkScope::Between(self.node_ref(cluster, a), self.node_ref(cluster, b));
                    if faults.pair_links_down.contains(&entry) {
                        actions.push(CheckAction {
                            order: 0,
                            step: Step::Link {
                                link: *link,
                                up: true,
                                scope,
                            },
                            kind: ActionKind::Recovery,
                        });
                    } else if budget
                        && up.contains(a)
                        && up.contains(b)
                        && self.links[a] & self.links[b] & mask != 0
                    {
                        actions.push(CheckAction {
                            order: 0,
                            step: Step::Link {
                                link: *link,
                                up: false,
                                scope,
                            },
                            kind: ActionKind::Fault,
                        });
                    }
                }
            }
        }
        if !faults.is_clear() || labels.len() > 1 {
            actions.push(CheckAction {
                order: 0,
                step: Step::Heal,
                kind: ActionKind::Recovery,
            });
        }

        // Time.
        if let Some(deadline) = cluster.next_timer_ms() {
            actions.push(CheckAction {
                order: 0,
                step: Step::Wait(deadline.saturating_sub(cluster.now_ms())),
                kind: ActionKind::Time,
            });
        }

        // Operator actions.
        if budget && !up.is_empty() {
            if self.options.operator.expected {
                let most = self.total_votes.clamp(1, 64) as u32;
                for pos in positions(up) {
                    for votes in 1..=most {
                        actions.push(CheckAction {
                            order: 0,
                            step: Step::Expected {
                                votes,
                                node: self.node_ref(cluster, pos),
                            },
                            kind: ActionKind::Operator,
                        });
                    }
                }
            }
            if self.options.operator.reload {
                actions.push(CheckAction {
                    order: 0,
                    step: Step::Reload { file: None },
                    kind: ActionKind::Operator,
                });
            }
        }
    }
}

/// A multi-line, `corosync-quorumtool`-like description of a state (Explorer, reports).
pub fn describe(model: &QuorumModel, state: &CheckState) -> String {
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

/// `quorum-regained`: once no timer is pending and every group is stable, each membership
/// holding a strict majority of the physical votes is quorate.
fn quorum_regained(model: &QuorumModel, state: &CheckState) -> bool {
    let cluster = &state.cluster;
    if state.unstable || cluster.next_timer_ms().is_some() {
        return true;
    }
    positions(cluster.up_nodes()).all(|pos| {
        let ring = cluster.ring(pos);
        cluster.is_quorate(pos) || model.votes_of(ring) * 2 <= model.total_votes
    })
}

/// `isolated-node-never-quorate`: a running node alone in its ring while another node runs
/// is not quorate, unless it holds a strict majority of the votes by itself.
fn isolated_node_never_quorate(model: &QuorumModel, state: &CheckState) -> bool {
    let cluster = &state.cluster;
    let up = cluster.up_nodes();
    positions(up).all(|pos| {
        let alone = cluster.ring(pos) == bit(pos) && up != bit(pos);
        !alone || !cluster.is_quorate(pos) || model.votes_of(bit(pos)) * 2 > model.total_votes
    })
}
