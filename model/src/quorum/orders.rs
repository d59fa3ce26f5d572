//! Delivery-order exploration: what other totem delivery orders of a ring change's nodeinfo
//! messages (and the leave-first timing) would give.
//!
//! Owns the candidate orders, the shortcut where the order cannot matter
//! (`order_cannot_matter`), the breadth-first exploration of a ring change's orders that
//! collapses prefixes reaching the same joint state (`distinct_ring_outcomes`) and the
//! per-thread memo of ring-change outcomes (`ring_outcomes`), `OrderBranch` (one path
//! through the choices of a step), the branching ring change,
//! `ClusterState::apply_with_orders` and `ClusterState::successors_over_orders` with their
//! per-node forms (and `successors_over_enumerated_orders`, the one-order-at-a-time
//! reference). It must not change what a single order does: each branch runs the same
//! transitions as `apply`. A child module of `cluster` (it reads private fields).

use super::step::Files;
use super::{ClusterState, StepOutcome};
use crate::action::Event;
use crate::quorum::node::{AtbMode, NodeFlags, NodeInfo, Votequorum};
use crate::quorum::node_set::NodeSet;
use crate::quorum::settings::{NodeId, QuorumSettings};
use crate::scenario::Step;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Rings up to this size get every permutation of their nodeinfo messages explored.
const ALL_ORDERS_UP_TO: usize = 6;

/// At most this many branches (combinations of per-ring-change choices) per step.
const MAX_ORDER_BRANCHES: usize = 4096;

/// Whether the delivery order of a ring change's nodeinfo messages cannot change its
/// outcome: no member (after `sync_init`) has wait_for_all, auto_tie_breaker,
/// allow_downscale, two_node or quorum device votes, and every message carries the same
/// expected votes, at least the ring's vote sum (else a member raises its own value to the
/// votes it has seen so far, which depends on the order). Then a receiver's adoptions (spec 1.2) and WFA disarming never depend on what it
/// delivered before. (Random scripts found that equal device votes are not enough, and
/// that two_node without wait_for_all makes intermediate quorum 1 leave different state.) The criterion of the quorum tests' `without_wfa_and_atb_order_never_matters`,
/// at run time per ring; `successors_over_orders_match_full_exploration` checks it against
/// every candidate order.
fn order_cannot_matter(members: &[Votequorum], infos: &[NodeInfo]) -> bool {
    let uniform =
        |value: fn(&NodeInfo) -> u32| infos.windows(2).all(|pair| value(&pair[0]) == value(&pair[1]));
    let device_flags =
        NodeFlags::QDEVICE_REGISTERED | NodeFlags::QDEVICE_ALIVE | NodeFlags::QDEVICE_CAST_VOTE;
    members.iter().all(|votequorum| {
        !votequorum.wait_for_all
            && votequorum.atb == AtbMode::Off
            && !votequorum.allow_downscale
            && !votequorum.two_node
            && votequorum.qdevice_votes == 0
    }) && infos
        .iter()
        .all(|info| info.qdevice_votes == 0 && !info.flags.has(device_flags))
        && uniform(|info| info.expected_votes)
        && infos.first().is_none_or(|info| {
            u64::from(info.expected_votes) >= infos.iter().map(|info| u64::from(info.votes)).sum::<u64>()
        })
}

/// One member of a ring change delivers the ring's nodeinfo messages in `infos` order, then
/// activates the new ring (`sync_activate`).
pub(super) fn receive_all<'a>(
    votequorum: &mut Votequorum,
    nodeids: &[NodeId],
    infos: impl Iterator<Item = &'a NodeInfo>,
) {
    for info in infos {
        votequorum.deliver_nodeinfo(nodeids, info, true);
    }
    votequorum.sync_activate(nodeids);
}

/// The delivery orders explored for a ring of `count` members, as permutations of the
/// indexes `0..count` (ascending nodeid order), the identity first: every permutation up to
/// `ALL_ORDERS_UP_TO` members, otherwise ascending, descending, and per member its message
/// first (then the rest ascending) and its message last.
fn candidate_orders(count: usize) -> Vec<Vec<usize>> {
    let identity: Vec<usize> = (0..count).collect();
    if count <= ALL_ORDERS_UP_TO {
        let mut all = Vec::new();
        permutations(&mut identity.clone(), 0, &mut all);
        // Heap-style generation starts from the identity; keep it first explicitly.
        all.retain(|order| *order != identity);
        all.insert(0, identity);
        return all;
    }
    let mut family = vec![identity.clone(), identity.iter().rev().copied().collect()];
    for member in 0..count {
        let rest = identity.iter().copied().filter(|index| *index != member);
        family.push(std::iter::once(member).chain(rest.clone()).collect());
        family.push(rest.chain(std::iter::once(member)).collect());
    }
    let mut distinct: Vec<Vec<usize>> = Vec::with_capacity(family.len());
    for order in family {
        if !distinct.contains(&order) {
            distinct.push(order);
        }
    }
    distinct
}

/// One prefix of a delivery order on the way through `distinct_ring_outcomes`: the members'
/// states after the messages of `delivered` (a bit per ring index), reached first (in
/// `candidate_orders` enumeration order) by the choices `choices`.
struct Prefix {
    /// Ring indexes already delivered, one bit each.
    delivered: u32,
    /// Every member's state after delivering them (in ring order).
    states: Vec<Votequorum>,
    /// The choice index at each depth of the swap enumeration of `permutations` (which
    /// remaining position goes next): `candidate_orders` lists permutations in
    /// lexicographic order of these vectors, so the smallest is the first order listed.
    choices: Vec<usize>,
    /// The enumeration's working array after those swaps (its tail holds the messages left).
    arrangement: Vec<usize>,
}

/// The distinct results of delivering `infos` to `base` (the ring's members, each after
/// `sync_init`, in ring order) over every order `candidate_orders` lists, each with the first
/// listed order that gives it, in the order of first appearance: exactly what enumerating
/// `candidate_orders` gives, computed without enumerating it where it has every permutation.
///
/// Every member delivers the same messages in the same order, so the members' joint state
/// after a prefix depends only on the prefix; two prefixes of the same set of messages that
/// reach the same joint state have the same continuations. The exploration therefore goes
/// breadth-first over sets of delivered messages (at most 2^6 for six members) and keeps one
/// prefix per distinct joint state: the first in enumeration order, which stays first when
/// extended (`choices` compare lexicographically, and every prefix of one depth has the same
/// length), so the representative orders and their ranking are those of the enumeration.
/// Where deliveries converge this does a small fraction of the per-order work (issue 9 item
/// 4: 120 orders of a 5-node ring with last_man_standing). Rings above `ALL_ORDERS_UP_TO`
/// enumerate their family of orders as before.
fn distinct_ring_outcomes(base: &[Votequorum], infos: &[NodeInfo], nodeids: &[NodeId]) -> RingOutcomes {
    let count = base.len();
    if count > ALL_ORDERS_UP_TO {
        return enumerate_ring_outcomes(base, infos, nodeids, candidate_orders(count));
    }
    let mut layer = vec![Prefix {
        delivered: 0,
        states: base.to_vec(),
        choices: Vec::with_capacity(count),
        arrangement: (0..count).collect(),
    }];
    for depth in 0..count {
        let mut next: Vec<Prefix> = Vec::new();
        for prefix in &layer {
            for choice in depth..count {
                let index = prefix.arrangement[choice];
                let delivered = prefix.delivered | (1 << index);
                let mut states = prefix.states.clone();
                for votequorum in &mut states {
                    votequorum.deliver_nodeinfo(nodeids, &infos[index], true);
                }
                let mut choices = prefix.choices.clone();
                choices.push(choice);
                match next
                    .iter_mut()
                    .find(|known| known.delivered == delivered && known.states == states)
                {
                    Some(known) => {
                        if choices < known.choices {
                            let mut arrangement = prefix.arrangement.clone();
                            arrangement.swap(depth, choice);
                            known.choices = choices;
                            known.arrangement = arrangement;
                        }
                    }
                    None => {
                        let mut arrangement = prefix.arrangement.clone();
                        arrangement.swap(depth, choice);
                        next.push(Prefix {
                            delivered,
                            states,
                            choices,
                            arrangement,
                        });
                    }
                }
            }
        }
        layer = next;
    }
    let mut results: Vec<(Vec<Votequorum>, Vec<usize>, Vec<usize>)> = Vec::new();
    for mut prefix in layer {
        for votequorum in &mut prefix.states {
            votequorum.sync_activate(nodeids);
        }
        match results.iter_mut().find(|(states, _, _)| *states == prefix.states) {
            Some(known) => {
                if prefix.choices < known.1 {
                    known.1 = prefix.choices;
                    known.2 = prefix.arrangement;
                }
            }
            None => results.push((prefix.states, prefix.choices, prefix.arrangement)),
        }
    }
    results.sort_by(|left, right| left.1.cmp(&right.1));
    results
        .into_iter()
        .map(|(states, _, arrangement)| (states, arrangement))
        .collect()
}

/// The distinct results of delivering `infos` to `base` in each of `orders`, in order of
/// first appearance, each with the first order that gives it.
fn enumerate_ring_outcomes(
    base: &[Votequorum],
    infos: &[NodeInfo],
    nodeids: &[NodeId],
    orders: Vec<Vec<usize>>,
) -> RingOutcomes {
    let mut results: Vec<(Vec<Votequorum>, Vec<usize>)> = Vec::new();
    for order in orders {
        let mut states = base.to_vec();
        for votequorum in &mut states {
            receive_all(votequorum, nodeids, order.iter().map(|index| &infos[*index]));
        }
        if !results.iter().any(|(known, _)| *known == states) {
            results.push((states, order));
        }
    }
    results
}

/// Ring changes whose outcomes one thread keeps, per generation (see `RingCache`).
const RING_CACHE_GENERATION: usize = 8192;

/// What a ring change's distinct outcomes over every order depend on: the cluster's node
/// ids (the ascending order and the tie-breakers read them) and the ring's members' states
/// after `sync_init` (in ring order; the messages are their nodeinfo).
#[derive(PartialEq, Eq, Hash)]
struct RingKey {
    nodeids: Vec<NodeId>,
    base: Vec<Votequorum>,
}

/// A bounded memo of ring-change outcomes: two generations of at most
/// `RING_CACHE_GENERATION` entries; when the newer fills up, the older is dropped, so the
/// ring changes used lately stay. Many states of a model checker run the same ring change
/// (the same members in the same votequorum states, the rest of the cluster different):
/// on 5 nodes with last_man_standing about one in five is new (issue 9 item 4).
#[derive(Default)]
struct RingCache {
    newer: HashMap<RingKey, Arc<RingOutcomes>>,
    older: HashMap<RingKey, Arc<RingOutcomes>>,
}

thread_local! {
    /// This thread's memo of ring-change outcomes. A pure cache: the outcomes are a
    /// function of the key, so a hit returns what computing them again would.
    static RING_CACHE: RefCell<RingCache> = RefCell::new(RingCache::default());
}

/// The distinct outcomes of the ring change of `base` (members after `sync_init`, ring
/// order): one order where it cannot matter and `cheap` asks for the shortcut, otherwise
/// `distinct_ring_outcomes`, from this thread's memo when it has them.
fn ring_outcomes(nodeids: &[NodeId], base: Vec<Votequorum>, cheap: bool) -> Arc<RingOutcomes> {
    let infos: Vec<NodeInfo> = base.iter().map(Votequorum::nodeinfo).collect();
    if cheap && order_cannot_matter(&base, &infos) {
        // One order: cheaper to run than to look up (plain clusters cost what they did).
        let order = (0..base.len()).collect();
        return Arc::new(enumerate_ring_outcomes(&base, &infos, nodeids, vec![order]));
    }
    let key = RingKey {
        nodeids: nodeids.to_vec(),
        base,
    };
    let known = RING_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache.newer.get(&key) {
            return Some(Arc::clone(found));
        }
        let (key, found) = cache.older.remove_entry(&key)?;
        cache.newer.insert(key, Arc::clone(&found));
        Some(found)
    });
    if let Some(found) = known {
        return found;
    }
    let outcomes = Arc::new(distinct_ring_outcomes(&key.base, &infos, nodeids));
    RING_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.newer.len() >= RING_CACHE_GENERATION {
            cache.older = std::mem::take(&mut cache.newer);
        }
        cache.newer.insert(key, Arc::clone(&outcomes));
    });
    outcomes
}

/// `candidate_orders`, for the unit tests.
#[cfg(test)]
pub(crate) fn candidate_orders_for_tests(count: usize) -> Vec<Vec<usize>> {
    candidate_orders(count)
}

/// Pushes every permutation of `items[start..]` (with `items[..start]` fixed) onto `out`.
fn permutations(items: &mut Vec<usize>, start: usize, out: &mut Vec<Vec<usize>>) {
    if start + 1 >= items.len() {
        out.push(items.clone());
        return;
    }
    for index in start..items.len() {
        items.swap(start, index);
        permutations(items, start + 1, out);
        items.swap(start, index);
    }
}

/// One branch of the delivery-order exploration of a step: which distinct outcome each
/// ring change takes, in the order the ring changes happen. Choices past `prefix` are 0
/// (the ascending order's outcome); `taken`/`counts` record the path for the next branch.
#[derive(Debug, Default)]
pub(super) struct OrderBranch {
    pub(super) prefix: Vec<usize>,
    pub(super) taken: Vec<usize>,
    pub(super) counts: Vec<usize>,
    /// Skip the alternative orders of a ring change where they cannot matter (see
    /// `order_cannot_matter`: every order then gives the same whole state, so this changes
    /// no result, only the cost). Off only in the test that checks the shortcut.
    pub(super) cheap: bool,
    /// Also follow the timing where members that lost peers form a ring of their own before
    /// the merge (see `leave_first`). `apply_with_orders` only: the model checker's
    /// successors keep the direct ring change.
    pub(super) leave_first: bool,
    /// The delivery order (node ids) of each ring change that took a non-default outcome:
    /// the first candidate order that gives it.
    pub(super) chosen: Vec<Vec<NodeId>>,
    /// Enumerate every candidate order of a ring change one by one instead of the
    /// breadth-first exploration of `distinct_ring_outcomes` (same results, the reference
    /// the tests compare it with).
    pub(super) enumerate: bool,
}

/// The distinct outcomes of one ring change: the members' states (in ring order) and the
/// first delivery order (ring indexes) that gives each, the ascending order's first.
pub(super) type RingOutcomes = Vec<(Vec<Votequorum>, Vec<usize>)>;

impl OrderBranch {
    /// The choice for the next ring change, which has `count` distinct outcomes.
    pub(super) fn choose(&mut self, count: usize) -> usize {
        let depth = self.taken.len();
        let choice = self
            .prefix
            .get(depth)
            .copied()
            .filter(|choice| *choice < count)
            .unwrap_or(0);
        self.taken.push(choice);
        self.counts.push(count);
        choice
    }

    /// The prefix of the next branch in depth-first order, if any is left.
    pub(super) fn next_prefix(&self) -> Option<Vec<usize>> {
        let depth = (0..self.taken.len())
            .rev()
            .find(|depth| self.taken[*depth] + 1 < self.counts[*depth])?;
        let mut prefix = self.taken[..depth].to_vec();
        prefix.push(self.taken[depth] + 1);
        Some(prefix)
    }
}

/// One distinct result of a step over delivery orders ([`ClusterState::successors_over_orders`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSuccessor {
    /// The cluster state after the step.
    pub state: ClusterState,
    /// The delivery order (node ids, first delivered first) of each ring change of the step
    /// that needs a non-ascending order to reach `state`, in the order the ring changes
    /// happen. Empty for the ascending order's state.
    pub orders: Vec<Vec<NodeId>>,
}

/// Every distinct result of a step over delivery orders, and `apply`'s outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSuccessors {
    /// What `apply` reports for the step (ascending order).
    pub outcome: StepOutcome,
    /// The distinct resulting states, the ascending order's first (never empty).
    pub successors: Vec<OrderSuccessor>,
}

impl ClusterState {
    /// A ring change to `members` on an exploration branch: evaluates every candidate
    /// delivery order (see `candidate_orders`) on copies of the members' states, keeps the
    /// distinct results (the ascending order's first), and installs the one `branch` picks.
    pub(super) fn ring_change_branch(&mut self, members: NodeSet, branch: &mut OrderBranch) {
        let ring = self.message_order(members);
        let now = self.now_ms;
        let mut base: Vec<Votequorum> = ring
            .iter()
            .map(|pos| self.nodes[*pos].votequorum.clone())
            .collect();
        for votequorum in &mut base {
            votequorum.sync_init(&self.nodeids, members, now);
        }
        let results = if branch.enumerate {
            let infos: Vec<NodeInfo> = base.iter().map(Votequorum::nodeinfo).collect();
            let orders = if branch.cheap && order_cannot_matter(&base, &infos) {
                vec![(0..ring.len()).collect()]
            } else {
                candidate_orders(ring.len())
            };
            Arc::new(enumerate_ring_outcomes(&base, &infos, &self.nodeids, orders))
        } else {
            ring_outcomes(&self.nodeids, base, branch.cheap)
        };
        let choice = branch.choose(results.len());
        if let Some((states, order)) = results.get(choice) {
            if choice > 0 {
                branch
                    .chosen
                    .push(order.iter().map(|index| self.nodeids[ring[*index]]).collect());
            }
            for (pos, votequorum) in ring.iter().zip(states) {
                self.nodes[*pos].votequorum = votequorum.clone();
            }
        }
    }

    /// `apply`, plus the honest answer where totem's delivery order matters: every ring
    /// change of the step is also evaluated under alternative delivery orders of its
    /// nodeinfo messages (see `candidate_orders`; all members of a ring see the same order,
    /// rings are independent), and every combination of distinct outcomes is followed to
    /// the end of the step. A ring change that both drops and adds members is also followed
    /// through the leave-first timing (see `leave_first`; seen on real corosync, issue 9).
    /// `self` ends in the default (ascending order) state, and the
    /// outcome equals `apply`'s except for `order_dependent`, `split_brain_possible` and
    /// `possible_quorate`. The exploration starts from this one state: it does not carry
    /// earlier steps' alternatives. Costlier than `apply`; not for hot loops.
    pub fn apply_with_orders(&mut self, settings: &QuorumSettings, step: &Step) -> StepOutcome {
        self.apply_with_orders_files(Files::Everywhere(settings), step)
    }

    pub(super) fn apply_with_orders_files(&mut self, files: Files<'_>, step: &Step) -> StepOutcome {
        let start = self.clone();
        let mut branch = OrderBranch {
            cheap: true,
            leave_first: true,
            ..OrderBranch::default()
        };
        let mut outcome = StepOutcome::default();
        if let Err(reason) = self.apply_step(files, step, &mut outcome, Some(&mut branch)) {
            outcome.rejected = true;
            outcome.notes.push(reason.to_string());
        }
        let mut outcome = self.finish(outcome);
        let mut possible: Vec<(bool, bool)> = Vec::new();
        let mut split_brain_possible = outcome.split_brain;
        let mut record = |state: &ClusterState| {
            possible.resize(state.nodes.len(), (false, false));
            for (pos, entry) in possible.iter_mut().enumerate() {
                if state.is_quorate(pos) {
                    entry.1 = true;
                } else {
                    entry.0 = true;
                }
            }
            state.split_brain()
        };
        record(self);
        let mut branches = 1;
        while let Some(prefix) = branch.next_prefix() {
            if branches >= MAX_ORDER_BRANCHES {
                outcome.notes.push(format!(
                    "delivery orders: only the first {MAX_ORDER_BRANCHES} combinations were explored"
                ));
                break;
            }
            branches += 1;
            branch = OrderBranch {
                prefix,
                cheap: true,
                leave_first: true,
                ..OrderBranch::default()
            };
            let mut world = start.clone();
            let mut ignored = StepOutcome::default();
            // The step was accepted (or refused) identically on the default branch.
            let _ = world.apply_step(files, step, &mut ignored, Some(&mut branch));
            split_brain_possible |= record(&world);
        }
        outcome.order_dependent = possible
            .iter()
            .enumerate()
            .filter(|(pos, (inquorate, quorate))| *inquorate && *quorate && self.is_up(*pos))
            .map(|(pos, _)| self.nodeids[pos])
            .collect();
        outcome.order_dependent.sort_unstable();
        outcome.split_brain_possible = split_brain_possible;
        outcome.possible_quorate = possible;
        outcome
    }

    /// `apply_with_orders` for an event (per-node form, see `apply_event`).
    pub fn apply_event_with_orders(&mut self, event: &Event) -> StepOutcome {
        let step = event.to_step();
        self.apply_with_orders_files(Files::Event(event.config()), &step)
    }

    /// Every distinct state `step` can lead to over the totem delivery orders of its ring
    /// changes' nodeinfo messages (the orders `apply_with_orders` explores), deduplicated,
    /// the ascending order's (`apply`'s) first. The outcome is `apply`'s: acceptance and
    /// unstable groups do not depend on the order. A ring change whose order cannot matter
    /// (no member with wait_for_all or auto_tie_breaker, all messages with the same expected
    /// and device votes) is not explored, so plain clusters cost one `apply`. For a model
    /// checker that branches on delivery orders (`quorate check`).
    pub fn successors_over_orders(&self, settings: &QuorumSettings, step: &Step) -> OrderSuccessors {
        self.successors(Files::Everywhere(settings), step, true, false)
    }

    /// `successors_over_orders` computed the slow way, every candidate order of every ring
    /// change delivered one by one: the same states, orders and ranking (the reference that
    /// cross-checks of the breadth-first exploration compare with; not for hot loops).
    pub fn successors_over_enumerated_orders(
        &self,
        settings: &QuorumSettings,
        step: &Step,
    ) -> OrderSuccessors {
        self.successors(Files::Everywhere(settings), step, true, true)
    }

    /// `successors_over_orders` for an event (per-node form, see `apply_event`).
    pub fn event_successors_over_orders(&self, event: &Event) -> OrderSuccessors {
        let step = event.to_step();
        self.successors(Files::Event(event.config()), &step, true, false)
    }

    /// `successors_over_enumerated_orders` for an event (per-node form, see `apply_event`).
    pub fn event_successors_over_enumerated_orders(&self, event: &Event) -> OrderSuccessors {
        let step = event.to_step();
        self.successors(Files::Event(event.config()), &step, true, true)
    }

    /// `successors_over_orders`, with every ring change explored (`cheap` false), for the
    /// test of the shortcut.
    #[cfg(test)]
    pub(crate) fn successors_all_orders_for_tests(
        &self,
        settings: &QuorumSettings,
        step: &Step,
    ) -> OrderSuccessors {
        self.successors(Files::Everywhere(settings), step, false, true)
    }

    pub(super) fn successors(
        &self,
        files: Files<'_>,
        step: &Step,
        cheap: bool,
        enumerate: bool,
    ) -> OrderSuccessors {
        let mut first = self.clone();
        let mut branch = OrderBranch {
            cheap,
            enumerate,
            ..OrderBranch::default()
        };
        let mut outcome = StepOutcome::default();
        if let Err(reason) = first.apply_step(files, step, &mut outcome, Some(&mut branch)) {
            outcome.rejected = true;
            outcome.notes.push(reason.to_string());
        }
        let outcome = first.finish(outcome);
        let mut successors = vec![OrderSuccessor {
            state: first,
            orders: Vec::new(),
        }];
        let mut branches = 1;
        while let Some(prefix) = branch.next_prefix() {
            if branches >= MAX_ORDER_BRANCHES {
                break;
            }
            branches += 1;
            branch = OrderBranch {
                prefix,
                cheap,
                enumerate,
                ..OrderBranch::default()
            };
            let mut world = self.clone();
            let mut ignored = StepOutcome::default();
            // The step was accepted (or refused) identically on the default branch.
            let _ = world.apply_step(files, step, &mut ignored, Some(&mut branch));
            if !successors.iter().any(|known| known.state == world) {
                successors.push(OrderSuccessor {
                    state: world,
                    orders: std::mem::take(&mut branch.chosen),
                });
            }
        }
        OrderSuccessors { outcome, successors }
    }
}
