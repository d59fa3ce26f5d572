//! Which nodes of a configuration are interchangeable: the one symmetry rule `check` and
//! `exhaustive` (`whatif --all`) share.
//!
//! Owns `node_classes` (positions with the same votes and links, `QuorumSettings::link_mask`,
//! that no node-id rule singles out) and the conditions under which
//! a multi-step model may permute nodes (`OrderRule`). It must not decide votequorum
//! behaviour (that is `model::quorum`) nor run anything; both reductions are proven against
//! their unreduced runs by the brute-force tests in `symmetry/tests.rs` (every
//! auto_tie_breaker mode, 2-6 nodes, unequal votes).
//!
//! # The rule
//!
//! The engine reads a node's id in exactly two places (`model/src/quorum/node.rs`):
//! auto_tie_breaker (`lowest`/`highest` compare ids, a list names them; with
//! last_man_standing the LMS window also re-arms on the lowest id being present, whatever
//! the tie-breaker mode), and the delivery order of a ring change's nodeinfo messages
//! (ascending node id in `ClusterState::apply`). Two nodes are therefore interchangeable
//! when they have the same votes and links and auto_tie_breaker does not name either, and
//! the delivery order either cannot matter or every order is followed (see `OrderRule`).
//!
//! History (issue 8): `check` used to permute no node at all under auto_tie_breaker, while
//! `exhaustive` kept the unnamed ids of a tie-breaker list interchangeable. The brute-force
//! tests show the exhaustive rule is right (same counts and verdicts as the unreduced runs,
//! and the successor sets commute with every transposition inside a class), so `check` was
//! needlessly weak; both now call `node_classes`.

use model::quorum::{LinkMask, NodeId, QuorumSettings, TieBreaker};

/// Whether the engine can single out `nodeid` by its id: auto_tie_breaker `lowest` or
/// `highest` compares every id; a list names only its ids, unless last_man_standing is on
/// too (the LMS window then looks at the lowest id as well). An invalid tie-breaker setting
/// turns auto_tie_breaker off in corosync, so no id matters.
pub fn id_matters(settings: &QuorumSettings, nodeid: NodeId) -> bool {
    if !settings.auto_tie_breaker {
        return false;
    }
    match &settings.auto_tie_breaker_node {
        Some(TieBreaker::Invalid) => false,
        Some(TieBreaker::List(list)) if !settings.last_man_standing => list.contains(&nodeid),
        _ => true,
    }
}

/// Groups the positions of `node_ids` into classes of interchangeable nodes: same votes,
/// same links, and not singled out by auto_tie_breaker. Every position is in exactly one
/// class (singletons included); classes are ordered by their first position and positions
/// ascend inside a class.
pub fn node_classes(settings: &QuorumSettings, node_ids: &[NodeId]) -> Vec<Vec<usize>> {
    let mut keys: Vec<(u32, LinkMask, Option<NodeId>)> = Vec::new();
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for (pos, nodeid) in node_ids.iter().enumerate() {
        let votes = settings
            .nodes
            .iter()
            .find(|node| node.nodeid == *nodeid)
            .map_or(0, |node| node.votes);
        let key = (
            votes,
            settings.link_mask(*nodeid),
            id_matters(settings, *nodeid).then_some(*nodeid),
        );
        match keys.iter().position(|existing| *existing == key) {
            Some(index) => classes[index].push(pos),
            None => {
                keys.push(key);
                classes.push(vec![pos]);
            }
        }
    }
    classes
}

/// The largest ring whose every delivery order `ClusterState::successors_over_orders`
/// tries (above it, a family of orders defined relative to ascending node id, which a node
/// permutation does not preserve). Mirrors `ALL_ORDERS_UP_TO` in `model/src/quorum/cluster.rs`.
pub const ALL_ORDERS_UP_TO: usize = 6;

/// How a multi-step model treats the delivery order of ring changes, which decides whether
/// node permutations are a symmetry of it at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderRule {
    /// The order cannot change any outcome for this configuration (`order_cannot_matter`
    /// holds on every reachable ring): permuting nodes commutes with the ascending order.
    Irrelevant,
    /// Every distinct outcome over every delivery order is a successor: the successor set
    /// is invariant under node permutations (rings of at most `ALL_ORDERS_UP_TO` nodes).
    AllOrders,
    /// Only the ascending order is followed although the order matters: a permutation
    /// changes which node's message comes first, so nodes must not be permuted.
    AscendingOnly,
    /// Every order matters and the cluster is larger than `ALL_ORDERS_UP_TO`, so only a
    /// family of orders relative to node ids is followed: nodes must not be permuted.
    SampledOrders,
    /// Operator actions (`expected`, `reload`) send messages outside ring changes, which the
    /// engine delivers in ascending node id order only (no branching): nodes must not be
    /// permuted (`check`'s tests find swaps that do not commute).
    OperatorMessages,
}

impl OrderRule {
    /// Whether node permutations are sound under this rule.
    pub fn permits_permutation(self) -> bool {
        matches!(self, OrderRule::Irrelevant | OrderRule::AllOrders)
    }
}

/// Why the delivery order of ring changes can matter for `settings` (the first reason
/// found), or `None` when it provably cannot (every member of every ring agrees on expected
/// votes, at least the ring's vote sum, and none has wait_for_all, auto_tie_breaker,
/// allow_downscale, two_node or device votes; operator actions `expected` and `reload` can
/// make expected votes differ). `model::quorum`'s `order_cannot_matter` is the per-ring
/// criterion; this is its configuration-wide, reachable-state-independent version, checked
/// by `check`'s symmetry tests.
pub fn order_matters_because(settings: &QuorumSettings, operator_actions: bool) -> Option<&'static str> {
    let vote_sum: u64 = settings.nodes.iter().map(|node| u64::from(node.votes)).sum();
    if settings.wait_for_all.unwrap_or(settings.two_node) {
        Some("wait_for_all: a node's armed state depends on the order it receives its peers' messages")
    } else if settings.two_node {
        Some("two_node: quorum 1 while two nodes count makes the order of nodeinfo messages matter")
    } else if settings.auto_tie_breaker {
        Some("auto_tie_breaker: the tie-breaker's view depends on the order of nodeinfo messages")
    } else if settings.last_man_standing {
        Some("last_man_standing: nodes disagree on expected votes, so the delivery order matters")
    } else if settings.allow_downscale {
        Some("allow_downscale: nodes disagree on expected votes, so the delivery order matters")
    } else if settings.device.is_some() {
        Some("quorum device: device votes make the delivery order matter")
    } else if operator_actions {
        Some("operator actions: `expected` and `reload` make nodes disagree on expected votes")
    } else if settings
        .expected_votes
        .is_some_and(|expected| u64::from(expected) < vote_sum)
    {
        Some("expected_votes below the vote sum: nodes raise it to the votes they have seen, in delivery order")
    } else {
        None
    }
}

/// The order rule of a multi-step model of `settings` with `node_count` nodes.
pub fn order_rule(
    settings: &QuorumSettings,
    node_count: usize,
    operator_actions: bool,
    fixed_order: bool,
) -> OrderRule {
    if order_matters_because(settings, operator_actions).is_none() {
        OrderRule::Irrelevant
    } else if operator_actions {
        OrderRule::OperatorMessages
    } else if fixed_order {
        OrderRule::AscendingOnly
    } else if node_count <= ALL_ORDERS_UP_TO {
        OrderRule::AllOrders
    } else {
        OrderRule::SampledOrders
    }
}

/// The classes a multi-step model permutes: `node_classes` without singletons when `rule`
/// permits permutation, else none.
pub fn model_classes(settings: &QuorumSettings, node_ids: &[NodeId], rule: OrderRule) -> Vec<Vec<usize>> {
    if !rule.permits_permutation() {
        return Vec::new();
    }
    let mut classes = node_classes(settings, node_ids);
    classes.retain(|class| class.len() > 1);
    classes
}

/// Why a multi-step model permutes no node of `settings` (for the report), or `None` when it
/// permutes some. `classes` is what `model_classes` gave.
pub fn no_permutation_reason(
    settings: &QuorumSettings,
    classes: &[Vec<usize>],
    rule: OrderRule,
    operator_actions: bool,
) -> Option<String> {
    if !classes.is_empty() {
        return None;
    }
    let order = order_matters_because(settings, operator_actions).unwrap_or("the delivery order matters");
    Some(match rule {
        OrderRule::AscendingOnly => format!("{order}, and --fixed-order follows only the ascending order"),
        OrderRule::SampledOrders => format!(
            "{order}, and with more than {ALL_ORDERS_UP_TO} nodes only some delivery orders are followed"
        ),
        OrderRule::OperatorMessages => {
            "operator actions: `expected` and `reload` messages are delivered in node id order only"
                .to_string()
        }
        OrderRule::Irrelevant | OrderRule::AllOrders => {
            if settings.auto_tie_breaker
                && settings
                    .nodes
                    .iter()
                    .all(|node| id_matters(settings, node.nodeid))
            {
                "auto_tie_breaker: node ids decide ties".to_string()
            } else {
                "no two nodes have the same votes and links (and are not named by auto_tie_breaker)"
                    .to_string()
            }
        }
    })
}

#[cfg(test)]
pub(crate) mod tests;
