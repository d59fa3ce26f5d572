//! The votequorum engine: per-node state machine, cluster transitions, membership from links.
//!
//! Owns `QuorumSettings` (inputs) and the transition functions. Pure: no IO, no clocks
//! (time is an explicit input), no randomness.
//!
//! # Public API summary
//!
//! - [`ClusterState::new`]`(&QuorumSettings)`: every node with a ring address boots together
//!   in partition 0 (as corosync-vqsim starts); [`ClusterState::stopped`] starts with all
//!   nodes down (for boot scenarios). Both fail only with [`TooManyNodes`] (> [`MAX_NODES`]).
//! - [`ClusterState::apply`]`(&mut self, &QuorumSettings, &scenario::Step) -> `[`StepOutcome`]:
//!   applies one step of a scenario script (see `crate::scenario`). The outcome says whether
//!   the step was rejected (unknown node, `-e` refused, node that cannot start), whether two
//!   disjoint memberships are quorate at once (`split_brain`), and which groups have no
//!   stable membership (`unstable`, partial mesh: those nodes keep their previous state).
//!   `settings` is the configuration on disk at that step (for `reload FILE`, the new one).
//! - [`ClusterState::apply_with_orders`]: the same step and the same default answer, plus
//!   what other totem delivery orders of each ring change's nodeinfo messages would give:
//!   `StepOutcome::order_dependent` (nodes whose quorate flag depends on the order),
//!   `possible_quorate` and `split_brain_possible`. Not for hot loops (up to 720 orders per
//!   ring change, explored breadth-first over sets of delivered messages so that orders
//!   reaching the same state are followed once, and memoised per thread);
//!   [`ClusterState::views_with_orders`] sets `NodeView::order_dependent`.
//! - [`ClusterState::successors_over_orders`]: every distinct state a step can lead to over
//!   those delivery orders (ascending first), for a model checker that branches on them;
//!   as cheap as `apply` where the order cannot matter (no WFA/ATB member, equal expected
//!   and device votes in the ring).
//! - Direct transitions: [`ClusterState::advance`] (model time; LMS timers fire),
//!   [`ClusterState::reload`].
//! - Queries: [`ClusterState::views`] / [`ClusterState::view`] give a [`NodeView`] per node
//!   (nodeid, name, up, members, quorate, votes, expected_votes, highest_expected, quorum,
//!   total_votes, [`QuorumFlags`], `why`); cheap ones for hot loops: `is_up`, `is_quorate`,
//!   `ring`, `quorate_set`, `up_nodes`, `split_brain`, `nodeids`, `position`, `now_ms`
//!   (positions index `nodeids()`; a [`NodeSet`] is a set of positions, a [`LinkMask`] a
//!   set of knet links).
//! - qnetd: a script's first `qnetd`/`heuristics` step makes qnetd decide the device's
//!   vote ([`qnetd`] holds the algorithms); [`ClusterState::qnetd_view`] shows each node's
//!   qdevice and, per membership, who holds ACK and why.
//! - [`startup_error`]: the exit-20 message corosync gives for a configuration, if any.
//! - [`membership::memberships`]: connectivity (links, partitions, link faults) to stable
//!   memberships or unstable groups with their maximal cliques.
//!
//! `ClusterState` is `Clone + Eq + Hash + Debug`, holds no HashMap, and every transition is
//! deterministic, so a model checker can hash it.

pub mod cluster;
pub mod membership;
pub mod node;
pub mod node_config;
pub mod node_set;
pub mod qnetd;
pub mod settings;

pub use cluster::{
    Canonical, ClusterState, NodeView, OrderSuccessor, OrderSuccessors, QdeviceNodeView, QnetdPartitionView,
    QnetdView, QuorumFlags, StepOutcome, TooManyNodes, UnstableMembership,
};
pub use node::{startup_error, MAX_NODES};
pub use node_config::{NodeConfig, ReloadRefusal, TotemFacts};
pub use node_set::{LinkMask, NodeSet};
pub use settings::{DeviceSettings, NodeId, NodeSettings, Provider, QuorumSettings, TieBreaker, Transport};

#[cfg(test)]
mod per_node_tests;
#[cfg(test)]
mod qnetd_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod votes_tests;
