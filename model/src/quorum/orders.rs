//! Delivery-order exploration: what other totem delivery orders of a ring change's nodeinfo
//! messages (and the leave-first timing) would give.
//!
//! Owns the candidate orders, the shortcut where the order cannot matter
//! (`order_cannot_matter`), `OrderBranch` (one path through the choices of a step), the
//! branching ring change, `ClusterState::apply_with_orders` and
//! `ClusterState::successors_over_orders` with their per-node forms. It must not change
//! what a single order does: each branch runs the same transitions as `apply`. A child
//! module of `cluster` (it reads private fields).

use super::step::Files;
use super::{ClusterState, StepOutcome};
use crate::action::Event;
use crate::quorum::node::{AtbMode, NodeFlags, NodeInfo, Votequorum};
use crate::quorum::node_set::NodeSet;
use crate::quorum::settings::{NodeId, QuorumSettings};
use crate::scenario::Step;

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
}

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
        let infos: Vec<NodeInfo> = base.iter().map(Votequorum::nodeinfo).collect();
        let orders = if branch.cheap && order_cannot_matter(&base, &infos) {
            vec![(0..ring.len()).collect()]
        } else {
            candidate_orders(ring.len())
        };
        let mut results: Vec<(Vec<Votequorum>, Vec<usize>)> = Vec::new();
        for order in orders {
            let mut states = base.clone();
            for votequorum in &mut states {
                receive_all(
                    votequorum,
                    &self.nodeids,
                    order.iter().map(|index| &infos[*index]),
                );
            }
            if !results.iter().any(|(known, _)| *known == states) {
                results.push((states, order));
            }
        }
        let choice = branch.choose(results.len());
        if let Some((states, order)) = results.into_iter().nth(choice) {
            if choice > 0 {
                branch
                    .chosen
                    .push(order.iter().map(|index| self.nodeids[ring[*index]]).collect());
            }
            for (pos, votequorum) in ring.iter().zip(states) {
                self.nodes[*pos].votequorum = votequorum;
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
        self.successors(Files::Everywhere(settings), step, true)
    }

    /// `successors_over_orders` for an event (per-node form, see `apply_event`).
    pub fn event_successors_over_orders(&self, event: &Event) -> OrderSuccessors {
        let step = event.to_step();
        self.successors(Files::Event(event.config()), &step, true)
    }

    /// `successors_over_orders`, with every ring change explored (`cheap` false), for the
    /// test of the shortcut.
    #[cfg(test)]
    pub(crate) fn successors_all_orders_for_tests(
        &self,
        settings: &QuorumSettings,
        step: &Step,
    ) -> OrderSuccessors {
        self.successors(Files::Everywhere(settings), step, false)
    }

    pub(super) fn successors(&self, files: Files<'_>, step: &Step, cheap: bool) -> OrderSuccessors {
        let mut first = self.clone();
        let mut branch = OrderBranch {
            cheap,
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
