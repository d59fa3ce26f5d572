//! The inputs of the votequorum engine: what votequorum reads from corosync.conf.
//!
//! Owns `QuorumSettings` and its parts. Built from a typed `config::Config` (see
//! `Config::quorum_settings`) or by hand in tests. Pure data; no parsing of text here.

use super::node_set::LinkMask;
use serde::Serialize;

/// A corosync node id (nodelist `nodeid`). 0 is reserved for the quorum device.
pub type NodeId = u32;

/// Which quorum provider corosync loads (`quorum.provider`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Provider {
    /// `corosync_votequorum`.
    Votequorum,
    /// No `quorum.provider` key: every partition is quorate (`primary_designated=1`).
    None,
    /// Anything else (`corosync_ykd` or garbage): corosync refuses to start.
    Other(String),
}

/// `auto_tie_breaker_node`, as `parse_atb_string` reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TieBreaker {
    /// `lowest` (the default): the lowest node id of the last quorate partition.
    Lowest,
    /// `highest`.
    Highest,
    /// A list of node ids, in priority order (parsing stops at the first 0 or non-number).
    List(Vec<NodeId>),
    /// The value starts with 0 or a non-number: corosync disables ATB with a warning.
    Invalid,
}

/// Transport, as far as membership is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Transport {
    /// knet: up to 8 links, a pair can talk over any link both have.
    Knet,
    /// udpu: one link (ring0).
    Udpu,
    /// udp multicast: one link (ring0).
    Udp,
}

/// A node as votequorum and totem see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct NodeSettings {
    /// Node id (explicit, or generated from the ring0 address for udp/udpu).
    pub nodeid: NodeId,
    /// `name`, or `ring0_addr` when there is no name.
    pub name: String,
    /// `quorum_votes` (default 1).
    pub votes: u32,
    /// Link numbers (0..=7) on which the node has a `ringN_addr`, ascending. Empty: the node
    /// still counts for expected votes but never becomes a totem member.
    pub links: Vec<u8>,
}

/// The quorum device (`quorum.device`), when configured (`model` non-empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceSettings {
    /// `quorum.device.model` (e.g. `net`).
    pub model: String,
    /// `quorum.device.votes` as written (`None`: computed as node count − 1 when allowed).
    pub votes: Option<u32>,
    /// `quorum.device.net.algorithm` (`ffsplit` default, `lms`, `2nodelms`).
    pub algorithm: Option<String>,
    /// `quorum.device.net.tie_breaker` (`lowest` default, `highest`, or a node id).
    pub tie_breaker: Option<String>,
    /// `quorum.device.timeout` in ms (default 10000).
    pub timeout_ms: u32,
    /// `quorum.device.sync_timeout` in ms (default 30000).
    pub sync_timeout_ms: u32,
    /// `quorum.device.net.keep_active_partition_tie_breaker` (default on; `off` turns it off).
    pub keep_active_partition_tie_breaker: bool,
    /// Heuristics run: `quorum.device.heuristics.mode` is `on` or `sync` and at least one
    /// `exec_` command is given.
    pub heuristics: bool,
}

/// Everything votequorum reads from the configuration (spec sections 1 and 2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct QuorumSettings {
    /// Nodelist entries in file order.
    pub nodes: Vec<NodeSettings>,
    /// `quorum.provider`.
    pub provider: Provider,
    /// `quorum.expected_votes` (overrides the nodelist sum).
    pub expected_votes: Option<u32>,
    /// `quorum.two_node` (any non-zero value is on).
    pub two_node: bool,
    /// `quorum.wait_for_all` as written (`None`: absent, so it follows two_node).
    pub wait_for_all: Option<bool>,
    /// `quorum.last_man_standing`.
    pub last_man_standing: bool,
    /// `quorum.last_man_standing_window` in ms (default 10000).
    pub last_man_standing_window_ms: u32,
    /// `quorum.auto_tie_breaker`.
    pub auto_tie_breaker: bool,
    /// `quorum.auto_tie_breaker_node` (default lowest); `None` when not written.
    pub auto_tie_breaker_node: Option<TieBreaker>,
    /// `quorum.allow_downscale`.
    pub allow_downscale: bool,
    /// `quorum.expected_votes_tracking`.
    pub expected_votes_tracking: bool,
    /// `quorum.device`, when `model` is set.
    pub device: Option<DeviceSettings>,
    /// Transport (membership: how many links).
    pub transport: Transport,
}

impl QuorumSettings {
    /// A plain cluster of `count` one-vote nodes (ids 1..=count, one knet link), with
    /// `corosync_votequorum` and no options: the starting point of tests and examples.
    pub fn plain(count: u32) -> QuorumSettings {
        QuorumSettings {
            nodes: (1..=count)
                .map(|nodeid| NodeSettings {
                    nodeid,
                    name: format!("node{nodeid}"),
                    votes: 1,
                    links: vec![0],
                })
                .collect(),
            provider: Provider::Votequorum,
            expected_votes: None,
            two_node: false,
            wait_for_all: None,
            last_man_standing: false,
            last_man_standing_window_ms: 10_000,
            auto_tie_breaker: false,
            auto_tie_breaker_node: None,
            allow_downscale: false,
            expected_votes_tracking: false,
            device: None,
            transport: Transport::Knet,
        }
    }

    /// Whether wait_for_all is in force on a node that started with `self` and then reloaded
    /// `reloaded` (pass `self` for a node that started with its current file): a
    /// `quorum.wait_for_all` written in the start file stays as written whatever a reload
    /// brings (startup-only, spec 5.2); absent there, wait_for_all follows the reloaded
    /// file's two_node (`wait_for_all_autoset`, spec 2.1), whatever that file says of
    /// wait_for_all. Confirmed on corosync 3.1.7 (`corosync-quorumtool -s` Flags after
    /// `corosync-cfgtool -R`). A registered quorum device disabling two_node at reload is
    /// runtime state, not counted here (corosync refuses two_node with a device at startup).
    pub fn wait_for_all_in_force(&self, reloaded: &QuorumSettings) -> bool {
        match self.wait_for_all {
            Some(written) => written,
            None => reloaded.two_node,
        }
    }

    /// The links of `nodeid` as totem membership uses them: its `ringN_addr` link numbers
    /// for knet, only link 0 for udp/udpu; empty when the node is not in the nodelist.
    pub fn link_mask(&self, nodeid: NodeId) -> LinkMask {
        let mask: LinkMask = self
            .nodes
            .iter()
            .find(|node| node.nodeid == nodeid)
            .map_or(LinkMask::EMPTY, |node| node.links.iter().copied().collect());
        match self.transport {
            Transport::Knet => mask,
            Transport::Udp | Transport::Udpu => mask & LinkMask::single(0),
        }
    }
}
