//! What `corosync-quorumtool -s` would show per node: `NodeView` and `QuorumFlags`.
//!
//! Owns `ClusterState::views`, `view` and `views_with_orders`, and the `why` sentence
//! (why a node is quorate or not). Read-only: it must not change any state. A child module
//! of `cluster` (it reads private fields).

use super::{ClusterState, StepOutcome};
use crate::quorum::node::{AtbMode, NodeFlags};
use crate::quorum::settings::{NodeId, QuorumSettings};

/// The quorum-relevant flags of one node, as `corosync-quorumtool -s` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuorumFlags {
    /// two_node in force.
    pub two_node: bool,
    /// wait_for_all enabled.
    pub wait_for_all: bool,
    /// wait_for_all armed (waiting for all votes).
    pub wait_for_all_status: bool,
    /// last_man_standing in force.
    pub last_man_standing: bool,
    /// LMS window running.
    pub last_man_standing_timer: bool,
    /// auto_tie_breaker in force.
    pub auto_tie_breaker: bool,
    /// allow_downscale.
    pub allow_downscale: bool,
    /// This node's qdevice casts its vote.
    pub qdevice_cast_vote: bool,
}

/// One node as `corosync-quorumtool -s` would describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Node id.
    pub nodeid: NodeId,
    /// Name from the settings (empty if no longer configured).
    pub name: String,
    /// Whether corosync runs.
    pub up: bool,
    /// Current ring members, ascending (empty when down).
    pub members: Vec<NodeId>,
    /// Quorate.
    pub quorate: bool,
    /// Own votes.
    pub votes: u32,
    /// Own expected votes (E_own).
    pub expected_votes: u32,
    /// Highest recorded expected votes over members.
    pub highest_expected: u32,
    /// Quorum as stored (uint8, wrapped).
    pub quorum: u32,
    /// Total votes counted (device votes included only when casting).
    pub total_votes: u32,
    /// Flags.
    pub flags: QuorumFlags,
    /// Why the node is (in)quorate, e.g. `2 of 3 votes >= quorum 2`.
    pub why: String,
    /// Its quorate flag depends on the totem delivery order of the last ring change's
    /// nodeinfo messages. Always false from `views`/`view`; set by
    /// [`ClusterState::views_with_orders`] from an `apply_with_orders` outcome.
    pub order_dependent: bool,
}

impl ClusterState {
    /// The view of every node of the universe, in position order.
    pub fn views(&self, settings: &QuorumSettings) -> Vec<NodeView> {
        (0..self.nodes.len())
            .filter_map(|pos| self.view(settings, pos))
            .collect()
    }

    /// The view of the node at `pos` (`None` if there is no such position).
    pub fn view(&self, settings: &QuorumSettings, pos: usize) -> Option<NodeView> {
        let nodeid = *self.nodeids.get(pos)?;
        let name = settings
            .nodes
            .iter()
            .find(|node| node.nodeid == nodeid)
            .map_or(String::new(), |n| n.name.clone());
        let slot = &self.nodes[pos];
        if !slot.running {
            return Some(NodeView {
                nodeid,
                name,
                up: false,
                members: Vec::new(),
                quorate: false,
                votes: 0,
                expected_votes: 0,
                highest_expected: 0,
                quorum: 0,
                total_votes: 0,
                flags: QuorumFlags::default(),
                why: "not running".to_string(),
                order_dependent: false,
            });
        }
        let votequorum = &slot.votequorum;
        let own = votequorum.peers[pos];
        let total = votequorum.total_votes();
        let highest = votequorum.highest_expected();
        let quorum = u32::from(votequorum.quorum);
        let quorate = self.is_quorate(pos);
        let flags = QuorumFlags {
            two_node: votequorum.two_node,
            wait_for_all: votequorum.wait_for_all,
            wait_for_all_status: votequorum.wfa_status,
            last_man_standing: votequorum.lms,
            last_man_standing_timer: votequorum.lms_deadline.is_some(),
            auto_tie_breaker: votequorum.atb != AtbMode::Off,
            allow_downscale: votequorum.allow_downscale,
            qdevice_cast_vote: own.flags.has(NodeFlags::QDEVICE_CAST_VOTE),
        };
        let wrapped = highest.max(total).wrapping_add(2) / 2 > 255;
        let mut why = if slot.provider_none {
            "no quorum provider: every partition is quorate".to_string()
        } else if votequorum.wait_for_all && votequorum.wfa_status && !quorate {
            format!("waiting for all: saw {total} of {} votes", own.expected_votes)
        } else if quorate && votequorum.two_node && votequorum.counted_nodes() <= 2 && quorum == 1 {
            format!("two_node: quorum forced to 1 ({total} of {highest} votes)")
        } else if quorate && quorum <= total {
            format!("{total} of {highest} votes >= quorum {quorum}")
        } else if quorate {
            format!(
                "auto_tie_breaker: {total} of {highest} votes is a tie and the tie-breaker node is a member"
            )
        } else {
            format!("{total} of {highest} votes < quorum {quorum}")
        };
        if wrapped && !slot.provider_none {
            why.push_str(" (quorum wrapped modulo 256)");
        }
        Some(NodeView {
            nodeid,
            name,
            up: true,
            members: self.ids_of(votequorum.members),
            quorate,
            votes: own.votes,
            expected_votes: own.expected_votes,
            highest_expected: highest,
            quorum,
            total_votes: total,
            flags,
            why,
            order_dependent: false,
        })
    }

    /// `views`, with `order_dependent` set for the nodes `outcome` (from
    /// [`ClusterState::apply_with_orders`] on this state) lists.
    pub fn views_with_orders(&self, settings: &QuorumSettings, outcome: &StepOutcome) -> Vec<NodeView> {
        let mut views = self.views(settings);
        for view in &mut views {
            view.order_dependent = outcome.order_dependent.contains(&view.nodeid);
        }
        views
    }
}
