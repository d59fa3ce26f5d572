//! The votequorum state of ONE corosync node, and the handlers that change it.
//!
//! Owns `Votequorum` (what `exec/votequorum.c` keeps in its static globals and in its
//! `cluster_node` list), the nodeinfo message, and the per-node transitions: startup and
//! reload (`readconfig`), the sync steps of a ring change, nodeinfo and reconfigure
//! delivery, the LMS timer and `corosync-quorumtool -e`. It follows spec sections 1 and 2
//! step by step, including the uint8 `quorum` wrap. It must not know about other nodes'
//! states (the cluster level in `cluster.rs` routes the messages), clocks or IO.

use super::node_set::NodeSet;
use super::settings::{NodeId, Provider, QuorumSettings, TieBreaker};
use crate::Error;

/// The largest number of distinct node ids a `ClusterState` can hold (bits of `NodeSet`).
pub const MAX_NODES: usize = NodeSet::CAPACITY;

/// votequorum's `NODE_FLAGS_*` bits as one node sees them (its own, or a peer's last nodeinfo).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeFlags(u8);

impl NodeFlags {
    /// `NODE_FLAGS_QUORATE`.
    pub const QUORATE: u8 = 1;
    /// `NODE_FLAGS_LEAVING` (clean shutdown with allow_downscale).
    pub const LEAVING: u8 = 2;
    /// `NODE_FLAGS_WFASTATUS`: wait_for_all is armed.
    pub const WFA_STATUS: u8 = 4;
    /// `NODE_FLAGS_FIRST`: set at startup, cleared by the first multi-node ring.
    pub const FIRST: u8 = 8;
    /// `NODE_FLAGS_QDEVICE_REGISTERED`.
    pub const QDEVICE_REGISTERED: u8 = 16;
    /// `NODE_FLAGS_QDEVICE_ALIVE`.
    pub const QDEVICE_ALIVE: u8 = 32;
    /// `NODE_FLAGS_QDEVICE_CAST_VOTE`: this node adds the device votes to its total.
    pub const QDEVICE_CAST_VOTE: u8 = 64;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    fn set(&mut self, mask: u8, on: bool) {
        if on {
            self.0 |= mask;
        } else {
            self.0 &= !mask;
        }
    }
}

/// What a node knows about another node's liveness (`nodestate_t`, plus "never heard of").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// No nodeinfo ever received (`find_node_by_nodeid` would allocate a new entry).
    #[default]
    Unknown,
    /// `NODESTATE_MEMBER`: counted.
    Member,
    /// `NODESTATE_DEAD`: left a previous ring.
    Dead,
    /// `NODESTATE_LEAVING`: announced a clean shutdown (allow_downscale).
    Leaving,
}

/// One entry of a node's `cluster_members_list`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Liveness as this node sees it.
    pub state: PeerState,
    /// Votes from the peer's last nodeinfo.
    pub votes: u32,
    /// The *recorded* expected votes (spec 1.2). For the node itself this is E_own.
    pub expected_votes: u32,
    /// Flags from the peer's last nodeinfo (for the node itself: its live flags).
    pub flags: NodeFlags,
}

/// The effective auto_tie_breaker mode (`ATB_NONE`/`LOWEST`/`HIGHEST`/`LIST`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum AtbMode {
    /// ATB off (never set, invalid node string, or disabled by the odd-sum rule).
    #[default]
    Off,
    /// `lowest`.
    Lowest,
    /// `highest`.
    Highest,
    /// A list of node ids in priority order.
    List(Vec<NodeId>),
}

/// A nodeinfo message as multicast during sync (or after a flag change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    /// Position of the sender.
    pub from: usize,
    /// The sender's votes.
    pub votes: u32,
    /// The sender's E_own when it sent the message.
    pub expected_votes: u32,
    /// The sender's flags when it sent the message.
    pub flags: NodeFlags,
    /// The sender's qdevice votes (the second, nodeid-0 nodeinfo it sends right after).
    pub qdevice_votes: u32,
}

/// The votequorum state of one running node.
///
/// Invariant: `peers.len()` is the size of the cluster universe and `peers[me]` is the node
/// itself (its `expected_votes` is E_own, its `flags` are the live `us->flags`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Votequorum {
    /// This node's position.
    pub(crate) me: usize,
    /// `cluster_members_list`, by universe position.
    pub(crate) peers: Vec<Peer>,
    /// `static uint8_t quorum`: wraps modulo 256 on purpose (spec 2.10).
    pub(crate) quorum: u8,
    /// `cluster_is_quorate`.
    pub(crate) quorate: bool,
    /// Effective two_node (may be disabled by ATB or a registered qdevice).
    pub(crate) two_node: bool,
    /// Effective wait_for_all.
    pub(crate) wait_for_all: bool,
    /// `wait_for_all_autoset`: the file the node started with had no `quorum.wait_for_all`,
    /// so wait_for_all follows two_node on every reload (startup-only, like the key itself).
    pub(crate) wfa_autoset: bool,
    /// `wait_for_all_status`: armed at startup and on every loss of quorum.
    pub(crate) wfa_status: bool,
    /// Effective last_man_standing (switches itself off on a nodeinfo with votes > 1).
    pub(crate) lms: bool,
    /// `last_man_standing_window` in ms (startup-only).
    pub(crate) lms_window_ms: u32,
    /// LMS timer deadline in model ms, when armed.
    pub(crate) lms_deadline: Option<u64>,
    /// ATB mode read at startup (`initial_auto_tie_breaker`).
    pub(crate) atb_initial: AtbMode,
    /// Effective ATB mode (reload resets it to `atb_initial`, then the odd rule applies).
    pub(crate) atb: AtbMode,
    /// `lowest_node_id`, refreshed only while quorate; `None` is the C `-1` ("unknown").
    pub(crate) lowest_node_id: Option<NodeId>,
    /// `highest_node_id`, same rule.
    pub(crate) highest_node_id: Option<NodeId>,
    /// `quorum_members`: the current ring.
    pub(crate) members: NodeSet,
    /// `previous_quorum_members`: the ring before.
    pub(crate) previous_members: NodeSet,
    /// `qdevice->votes`.
    pub(crate) qdevice_votes: u32,
    /// `qdevice_can_operate`.
    pub(crate) qdevice_can_operate: bool,
    /// Effective allow_downscale.
    pub(crate) allow_downscale: bool,
    /// Effective expected_votes_tracking (forced on by allow_downscale).
    pub(crate) ev_tracking: bool,
    /// `ev_barrier` (E_own at config time or the last set-expected value).
    pub(crate) ev_barrier: u32,
    /// `ev_tracking_barrier` (mirrors the on-disk ev_tracking file).
    pub(crate) ev_tracking_barrier: u32,
}

/// What the configuration says, evaluated the way `votequorum_readconfig` does.
struct ReadConfig {
    node_count: u32,
    node_vote_sum: u32,
    own_votes: Option<u32>,
    qdevice: Option<Option<u32>>,
}

impl ReadConfig {
    fn new(settings: &QuorumSettings, nodeid: NodeId) -> ReadConfig {
        ReadConfig {
            node_count: settings.nodes.len() as u32,
            node_vote_sum: settings
                .nodes
                .iter()
                .fold(0u32, |sum, node| sum.wrapping_add(node.votes)),
            own_votes: settings
                .nodes
                .iter()
                .find(|node| node.nodeid == nodeid)
                .map(|node| node.votes),
            qdevice: settings
                .device
                .as_ref()
                .filter(|device| !device.model.is_empty())
                .map(|device| device.votes),
        }
    }
}

/// The ATB mode `parse_atb_string` and the startup rules give for `settings`, before the
/// two_node and odd-sum rules.
fn atb_from_settings(settings: &QuorumSettings) -> AtbMode {
    if !settings.auto_tie_breaker {
        return AtbMode::Off;
    }
    match &settings.auto_tie_breaker_node {
        None | Some(TieBreaker::Lowest) => AtbMode::Lowest,
        Some(TieBreaker::Highest) => AtbMode::Highest,
        Some(TieBreaker::List(list)) if !list.is_empty() => AtbMode::List(list.clone()),
        Some(TieBreaker::List(_)) | Some(TieBreaker::Invalid) => AtbMode::Off,
    }
}

/// The error that makes corosync refuse to start with `settings` (exit 20), if any: the
/// quorum provider check and the startup-only branches of `votequorum_readconfig`.
pub fn startup_error(settings: &QuorumSettings) -> Option<&'static str> {
    match settings.provider {
        Provider::Other(_) => return Some("Invalid quorum provider"),
        Provider::None => return None,
        Provider::Votequorum => {}
    }
    let config = ReadConfig::new(settings, 0);
    if settings.nodes.is_empty() && settings.expected_votes.unwrap_or(0) == 0 {
        return Some("configuration error: nodelist or quorum.expected_votes must be configured!");
    }
    if settings.two_node && config.qdevice.is_some() {
        return Some(
            "configuration error: two_node and quorum device cannot be configured at the same time!",
        );
    }
    let wait_for_all = settings.wait_for_all.unwrap_or(settings.two_node);
    let mut atb = atb_from_settings(settings);
    if atb != AtbMode::Off && config.node_vote_sum % 2 == 1 && !wait_for_all {
        if settings.last_man_standing {
            return Some(
                "configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster",
            );
        }
        atb = AtbMode::Off;
    }
    if let Some(device_votes) = config.qdevice {
        if settings.last_man_standing {
            return Some("configuration error: quorum.device is not compatible with last_man_standing");
        }
        if atb != AtbMode::Off {
            return Some("configuration error: quorum.device is not compatible with auto_tie_breaker");
        }
        if settings.allow_downscale {
            return Some("configuration error: quorum.device is not compatible with allow_downscale");
        }
        let expected = settings.expected_votes.unwrap_or(0);
        if expected != 0 && device_votes.is_none() {
            return Some(
                "configuration error: quorum.device.votes must be specified when quorum.expected_votes is set",
            );
        }
        if device_votes.is_none() && config.node_count != config.node_vote_sum {
            return Some(
                "configuration error: quorum.device.votes must be specified when not all nodes votes 1",
            );
        }
        if let Some(votes) = device_votes {
            if votes > 0 && expected != 0 && (i64::from(expected) - i64::from(votes)) < 2 {
                return Some(
                    "configuration error: quorum.device.votes is too high or expected_votes is too low",
                );
            }
        }
    }
    None
}

impl Votequorum {
    /// A node starting (`votequorum_exec_init_fn`): reads the configuration, runs the first
    /// recalculation and arms wait_for_all. `disk_ev_barrier` is the ev_tracking file.
    /// The caller checks `startup_error` first.
    pub(crate) fn boot(
        me: usize,
        ids: &[NodeId],
        settings: &QuorumSettings,
        disk_ev_barrier: u32,
    ) -> Votequorum {
        let mut state = Votequorum {
            me,
            peers: vec![Peer::default(); ids.len()],
            ev_tracking_barrier: disk_ev_barrier,
            qdevice_can_operate: true,
            lms_window_ms: settings.last_man_standing_window_ms,
            ..Votequorum::default()
        };
        state.peers[me] = Peer {
            state: PeerState::Member,
            votes: 1,
            expected_votes: 0,
            flags: NodeFlags::default(),
        };
        state.peers[me].flags.set(NodeFlags::FIRST, true);
        // Startup-only options.
        state.wait_for_all = settings.wait_for_all.unwrap_or(settings.two_node);
        state.wfa_autoset = settings.wait_for_all.is_none();
        state.allow_downscale = settings.allow_downscale;
        state.lms = settings.last_man_standing;
        state.ev_tracking = settings.expected_votes_tracking || settings.allow_downscale;
        state.atb_initial = atb_from_settings(settings);
        state.atb = state.atb_initial.clone();
        state.readconfig(ids, settings, false);
        state.recalculate(ids, false, false);
        state
    }

    /// `votequorum_readconfig`: the part re-read on every reload (`runtime`) and at startup.
    /// Returns false when a runtime reload aborted early (ATB + LMS on an odd vote sum).
    fn readconfig(&mut self, ids: &[NodeId], settings: &QuorumSettings, runtime: bool) -> bool {
        let config = ReadConfig::new(settings, ids[self.me]);
        if runtime {
            self.atb = self.atb_initial.clone();
        }
        let mut two_node = settings.two_node;
        let have_qdevice = config.qdevice.is_some();
        if two_node && have_qdevice && runtime {
            if self.peers[self.me].flags.has(NodeFlags::QDEVICE_REGISTERED) {
                two_node = false;
            } else {
                self.qdevice_can_operate = false;
            }
        }
        if runtime && self.wfa_autoset {
            // The autoset follows two_node (after the qdevice rule, before the ATB rule) on
            // every reload, whatever the new file says of wait_for_all: whether the key was
            // set is read at startup only (`wait_for_all_autoset`, votequorum_readconfig).
            // The status is not re-armed; it is cleared when wait_for_all goes off.
            self.wait_for_all = two_node;
        }
        if two_node && self.atb != AtbMode::Off {
            two_node = false;
        }
        self.two_node = two_node;
        if self.atb != AtbMode::Off && config.node_vote_sum % 2 == 1 && !self.wait_for_all {
            if self.lms {
                // Runtime: CRIT log and `goto out`: votes and expected votes are not updated.
                return false;
            }
            self.atb = AtbMode::Off;
        }
        if have_qdevice && (self.lms || self.atb != AtbMode::Off || self.allow_downscale) {
            self.qdevice_can_operate = false;
        }
        let expected_config = settings.expected_votes.unwrap_or(0);
        let mut qdevice_votes = config.qdevice.flatten();
        let mut nodelist_expected = config.node_vote_sum;
        if have_qdevice {
            if expected_config != 0 && qdevice_votes.is_none() {
                self.qdevice_can_operate = false;
            }
            if qdevice_votes.is_none() && config.node_count != config.node_vote_sum {
                self.qdevice_can_operate = false;
            }
            if let Some(votes) = qdevice_votes {
                if votes > 0 && expected_config != 0 && (i64::from(expected_config) - i64::from(votes)) < 2 {
                    self.qdevice_can_operate = false;
                }
            }
            if qdevice_votes.is_none() && expected_config == 0 && config.node_count == config.node_vote_sum {
                let auto_votes = config.node_vote_sum.wrapping_sub(1);
                qdevice_votes = Some(auto_votes);
                nodelist_expected = nodelist_expected.wrapping_add(auto_votes);
            }
        }
        let expected_votes = if self.ev_tracking {
            self.ev_tracking_barrier
        } else {
            expected_config
        };
        if let Some(votes) = config.own_votes {
            self.peers[self.me].votes = votes;
        }
        if !settings.nodes.is_empty() {
            self.peers[self.me].expected_votes = nodelist_expected;
        }
        if expected_votes != 0 {
            self.peers[self.me].expected_votes = expected_votes;
        }
        if !have_qdevice {
            self.qdevice_votes = 0;
        }
        if let Some(votes) = qdevice_votes {
            self.qdevice_votes = votes;
        }
        if !self.qdevice_can_operate {
            let flags = &mut self.peers[self.me].flags;
            flags.set(
                NodeFlags::QDEVICE_CAST_VOTE | NodeFlags::QDEVICE_ALIVE | NodeFlags::QDEVICE_REGISTERED,
                false,
            );
        }
        self.ev_barrier = self.peers[self.me].expected_votes;
        if self.wait_for_all {
            if !runtime {
                self.set_wfa_status(true);
            }
        } else if self.wfa_autoset && self.wfa_status {
            // "Reset wait for all status for consistency when wfa is auto-unset by 2node".
            self.set_wfa_status(false);
        }
        true
    }

    /// The first half of a reload on this node (`votequorum_refresh_config`): re-reads the
    /// configuration and returns the messages it then multicasts: its nodeinfo, and the new
    /// votes / expected votes when they changed.
    pub(crate) fn reload(&mut self, ids: &[NodeId], settings: &QuorumSettings) -> ReloadMessages {
        let old_votes = self.peers[self.me].votes;
        let old_expected = self.peers[self.me].expected_votes;
        self.readconfig(ids, settings, true);
        let new_votes = self.peers[self.me].votes;
        let new_expected = self.peers[self.me].expected_votes;
        ReloadMessages {
            nodeinfo: self.nodeinfo(),
            votes: (new_votes != old_votes).then_some(new_votes),
            expected_votes: (new_expected != old_expected).then_some(new_expected),
        }
    }

    /// The nodeinfo this node would multicast now.
    pub(crate) fn nodeinfo(&self) -> NodeInfo {
        let own = &self.peers[self.me];
        NodeInfo {
            from: self.me,
            votes: own.votes,
            expected_votes: own.expected_votes,
            flags: own.flags,
            qdevice_votes: self.qdevice_votes,
        }
    }

    /// The LEAVING nodeinfo a clean shutdown multicasts (only with allow_downscale).
    pub(crate) fn leaving_nodeinfo(&self) -> Option<NodeInfo> {
        self.allow_downscale.then(|| {
            let mut info = self.nodeinfo();
            info.flags.set(NodeFlags::LEAVING, true);
            info
        })
    }

    fn set_wfa_status(&mut self, armed: bool) {
        self.wfa_status = armed;
        let me = self.me;
        self.peers[me].flags.set(NodeFlags::WFA_STATUS, armed);
    }

    /// `votequorum_sync_init` for a new ring `members` at model time `now_ms`.
    pub(crate) fn sync_init(&mut self, ids: &[NodeId], members: NodeSet, now_ms: u64) {
        if members.len() > 1 {
            let me = self.me;
            self.peers[me].flags.set(NodeFlags::FIRST, false);
        }
        let left = self.members - members;
        for pos in left {
            if pos != self.me {
                self.peers[pos].state = PeerState::Dead;
            }
        }
        if self.lms {
            let entries = members.len() as u32;
            let quorum = u32::from(self.quorum);
            if (entries >= quorum && !left.is_empty())
                || (entries <= quorum && self.atb != AtbMode::Off && self.low_node_id_present(ids))
            {
                self.lms_deadline = Some(now_ms.saturating_add(u64::from(self.lms_window_ms)));
            }
        }
        self.previous_members = self.members;
        self.members = members;
    }

    /// `votequorum_sync_activate`.
    pub(crate) fn sync_activate(&mut self, ids: &[NodeId]) {
        self.recalculate(ids, false, false);
    }

    /// `message_handler_req_exec_votequorum_nodeinfo` for `info`, followed by the nodeid-0
    /// (qdevice) nodeinfo the same sender multicasts right after it when `with_qdevice`.
    pub(crate) fn deliver_nodeinfo(&mut self, ids: &[NodeId], info: &NodeInfo, with_qdevice: bool) {
        let pos = info.from;
        let old = self.peers[pos];
        let new_node = old.state == PeerState::Unknown;
        let mut allow_downgrade = false;
        let mut by_node = false;
        {
            let peer = &mut self.peers[pos];
            peer.flags = info.flags;
            peer.votes = info.votes;
            peer.state = PeerState::Member;
            if info.flags.has(NodeFlags::LEAVING) {
                peer.state = PeerState::Leaving;
                allow_downgrade = true;
                by_node = true;
            }
        }
        if !self.quorate && info.flags.has(NodeFlags::QUORATE) {
            allow_downgrade = true;
            let me = self.me;
            self.peers[me].expected_votes = info.expected_votes;
        }
        let recorded = if info.flags.has(NodeFlags::QUORATE) || self.ev_tracking {
            info.expected_votes
        } else {
            self.peers[self.me].expected_votes
        };
        self.peers[pos].expected_votes = recorded;
        if self.lms && info.votes > 1 {
            self.lms = false;
            self.lms_deadline = None;
        }
        let now = self.peers[pos];
        if new_node
            || pos == self.me
            || now.flags.has(NodeFlags::FIRST)
            || old.votes != now.votes
            || old.expected_votes != now.expected_votes
            || old.flags != now.flags
            || old.state != now.state
        {
            self.recalculate(ids, allow_downgrade, by_node);
        }
        let flags = self.peers[pos].flags;
        if self.wait_for_all && !flags.has(NodeFlags::WFA_STATUS) && flags.has(NodeFlags::QUORATE) {
            self.set_wfa_status(false);
        }
        if with_qdevice {
            let old_votes = self.qdevice_votes;
            if !self.quorate && self.peers[pos].flags.has(NodeFlags::QUORATE) {
                self.qdevice_votes = info.qdevice_votes;
            } else {
                self.qdevice_votes = self.qdevice_votes.max(info.qdevice_votes);
            }
            if self.qdevice_votes != old_votes {
                self.recalculate(ids, false, false);
            }
        }
    }

    /// A RECONFIGURE EXPECTED_VOTES message (setexpected or reload) with `value`.
    pub(crate) fn deliver_expected_votes(&mut self, ids: &[NodeId], value: u32) {
        self.update_member_expected(value);
        self.ev_barrier = value;
        if self.ev_tracking {
            let me = self.me;
            self.peers[me].expected_votes = self.peers[me].expected_votes.max(self.ev_tracking_barrier);
        }
        self.recalculate(ids, true, false);
    }

    /// A RECONFIGURE NODE_VOTES message for position `pos`.
    pub(crate) fn deliver_node_votes(&mut self, ids: &[NodeId], pos: usize, votes: u32) {
        if self.peers[pos].state == PeerState::Unknown {
            return;
        }
        self.peers[pos].votes = votes;
        self.recalculate(ids, true, false);
    }

    /// The LMS timer fired (`votequorum_last_man_standing_timer_fn`).
    pub(crate) fn lms_expire(&mut self, ids: &[NodeId]) {
        self.lms_deadline = None;
        if self.quorate {
            self.recalculate(ids, true, true);
        }
    }

    /// `corosync-quorumtool -e value` checked on this node: `Ok(())` when the daemon would
    /// accept it and multicast the RECONFIGURE, the refusal otherwise.
    pub(crate) fn check_set_expected(&self, value: u32) -> Result<(), Error> {
        if value < 1 {
            return Err(Error::ExpectedVotesNotPositive);
        }
        let (newquorum, total) = self.calculate_quorum(true, value, false);
        if value < total {
            return Err(Error::ExpectedVotesBelowTotal { value, total });
        }
        if self.quorate && newquorum > total {
            return Err(Error::ExpectedVotesLoseQuorum {
                quorum: newquorum,
                total,
            });
        }
        Ok(())
    }

    /// `corosync-quorumtool -v votes [-n nodeid]` checked on this node for the node at
    /// `pos` (`message_handler_req_lib_votequorum_setvotes`): refused when this node has
    /// never seen that node (CS_ERR_NAME_NOT_FOUND), or when with the new votes the quorum
    /// (expected votes and quorum allowed to decrease) would be above the votes present or
    /// below half of them (CS_ERR_INVALID_PARAM; the second only with two_node). As in
    /// corosync the new votes stay set here when accepted (the NODE_VOTES reconfigure this
    /// node then multicasts sets them again) and are put back when refused.
    pub(crate) fn try_set_votes(&mut self, ids: &[NodeId], pos: usize, votes: u32) -> Result<(), Error> {
        let nodeid = ids.get(pos).copied().unwrap_or_default();
        if pos != self.me && self.peers[pos].state == PeerState::Unknown {
            return Err(Error::NodeVotesUnknownNode { votes, nodeid });
        }
        let saved = self.peers[pos].votes;
        self.peers[pos].votes = votes;
        let (newquorum, total) = self.calculate_quorum(true, 0, self.allow_downscale);
        if newquorum < total / 2 || newquorum > total {
            self.peers[pos].votes = saved;
            return Err(Error::NodeVotesInvalid {
                votes,
                nodeid,
                quorum: newquorum,
                total,
            });
        }
        Ok(())
    }

    /// Whether this node's qdevice casts its vote (the flag `qdevice_poll` sets).
    pub(crate) fn casts_vote(&self) -> bool {
        self.peers
            .get(self.me)
            .is_some_and(|own| own.flags.has(NodeFlags::QDEVICE_CAST_VOTE))
    }

    /// Sets this node's qdevice cast flag (a qdevice poll with `cast_vote`, registering first).
    /// Returns whether the flags changed (then the node multicasts its nodeinfo).
    pub(crate) fn qdevice_poll(&mut self, cast_vote: bool) -> bool {
        let me = self.me;
        let old = self.peers[me].flags;
        let flags = &mut self.peers[me].flags;
        if cast_vote {
            flags.set(NodeFlags::QDEVICE_REGISTERED | NodeFlags::QDEVICE_ALIVE, true);
        }
        flags.set(NodeFlags::QDEVICE_CAST_VOTE, cast_vote);
        self.peers[me].flags != old
    }

    fn update_member_expected(&mut self, value: u32) {
        if value == 0 {
            return;
        }
        for peer in self
            .peers
            .iter_mut()
            .filter(|peer| peer.state == PeerState::Member)
        {
            peer.expected_votes = value;
        }
    }

    /// `recalculate_quorum(allow_decrease, by_current_nodes)`.
    fn recalculate(&mut self, ids: &[NodeId], allow_decrease: bool, by_current_nodes: bool) {
        let mut total = 0u32;
        let mut members = 0u32;
        for peer in self.peers.iter().filter(|peer| peer.state == PeerState::Member) {
            total = total.wrapping_add(peer.votes);
            members += 1;
        }
        if self.qdevice_votes != 0 {
            total = total.wrapping_add(self.qdevice_votes);
            members += 1;
        }
        let cluster_members = if by_current_nodes { members } else { 0 };
        let me = self.me;
        if total > self.peers[me].expected_votes {
            self.peers[me].expected_votes = total;
        }
        if self.ev_tracking && self.peers[me].expected_votes > self.ev_tracking_barrier {
            self.ev_tracking_barrier = self.peers[me].expected_votes;
        }
        let (newquorum, total_votes) =
            self.calculate_quorum(allow_decrease, cluster_members, self.allow_downscale);
        self.quorum = newquorum as u8;
        self.update_member_expected(cluster_members);
        self.are_we_quorate(ids, total_votes);
    }

    /// `calculate_quorum`: the new (unwrapped) quorum and the total votes T.
    fn calculate_quorum(&self, allow_decrease: bool, max_expected: u32, allow_downscale: bool) -> (u32, u32) {
        let mut max_expected = max_expected;
        if allow_downscale && allow_decrease && max_expected != 0 {
            max_expected = max_expected.max(self.ev_barrier);
        }
        let mut highest = 0u32;
        let mut total = 0u32;
        let mut total_nodes = 0u32;
        for peer in self.peers.iter().filter(|peer| peer.state == PeerState::Member) {
            highest = highest.max(peer.expected_votes);
            total = total.wrapping_add(peer.votes);
            total_nodes += 1;
        }
        if self.peers[self.me].flags.has(NodeFlags::QDEVICE_CAST_VOTE) {
            total = total.wrapping_add(self.qdevice_votes);
            total_nodes += 1;
        }
        if max_expected > 0 {
            highest = max_expected;
        }
        let q1 = highest.wrapping_add(2) / 2;
        let q2 = total.wrapping_add(2) / 2;
        let mut newquorum = q1.max(q2);
        if !allow_decrease {
            newquorum = newquorum.max(u32::from(self.quorum));
        }
        if self.two_node && total_nodes <= 2 {
            newquorum = 1;
        }
        (newquorum, total)
    }

    fn are_we_quorate(&mut self, ids: &[NodeId], total_votes: u32) {
        let me = self.me;
        if self.wait_for_all && self.wfa_status {
            if total_votes != self.peers[me].expected_votes {
                // Early return: `us->flags` keep their old QUORATE bit (as in the C code).
                self.quorate = false;
                return;
            }
            self.set_wfa_status(false);
        }
        let mut quorate = u32::from(self.quorum) <= total_votes;
        if quorate {
            let lowest = self.member_ids(ids).min();
            let highest = self.member_ids(ids).max();
            self.lowest_node_id = lowest;
            self.highest_node_id = highest;
        }
        if self.atb != AtbMode::Off
            && total_votes == self.peers[me].expected_votes / 2
            && (self.previous_members.len() as i64 - self.members.len() as i64) < i64::from(self.quorum)
            && self.check_auto_tie_breaker(ids)
        {
            quorate = true;
        }
        self.quorate = quorate;
        self.peers[me].flags.set(NodeFlags::QUORATE, quorate);
        if self.wait_for_all {
            self.set_wfa_status(!quorate);
        }
    }

    /// Node ids of the peers in MEMBER state (the node itself included).
    fn member_ids<'a>(&'a self, ids: &'a [NodeId]) -> impl Iterator<Item = NodeId> + 'a {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, peer)| peer.state == PeerState::Member)
            .map(move |(pos, _)| ids[pos])
    }

    fn low_node_id_present(&self, ids: &[NodeId]) -> bool {
        self.lowest_node_id
            .is_some_and(|lowest| self.member_ids(ids).any(|id| id == lowest))
    }

    fn check_auto_tie_breaker(&self, ids: &[NodeId]) -> bool {
        match &self.atb {
            AtbMode::Off => false,
            AtbMode::Lowest => self.low_node_id_present(ids),
            AtbMode::Highest => self
                .highest_node_id
                .is_some_and(|highest| self.member_ids(ids).any(|id| id == highest)),
            AtbMode::List(list) => {
                let in_set = |set: NodeSet, nodeid: NodeId| set.iter().any(|pos| ids[pos] == nodeid);
                for (index, nodeid) in list.iter().enumerate() {
                    if in_set(self.members, *nodeid) {
                        return !list[..index]
                            .iter()
                            .any(|earlier| in_set(self.previous_members, *earlier));
                    }
                }
                false
            }
        }
    }

    /// Total votes T as `calculate_quorum` counts them (device votes only when casting).
    pub(crate) fn total_votes(&self) -> u32 {
        self.calculate_quorum(true, 0, false).1
    }

    /// The highest recorded expected votes over MEMBER peers (`highest_expected`).
    pub(crate) fn highest_expected(&self) -> u32 {
        self.peers
            .iter()
            .filter(|peer| peer.state == PeerState::Member)
            .map(|peer| peer.expected_votes)
            .max()
            .unwrap_or(0)
    }

    /// Number of counted nodes for the two_node rule (members, plus a casting qdevice).
    pub(crate) fn counted_nodes(&self) -> u32 {
        let members = self
            .peers
            .iter()
            .filter(|peer| peer.state == PeerState::Member)
            .count() as u32;
        members + u32::from(self.peers[self.me].flags.has(NodeFlags::QDEVICE_CAST_VOTE))
    }
}

/// What one node multicasts after re-reading its configuration on a reload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReloadMessages {
    /// Its nodeinfo (and the qdevice nodeinfo right after it).
    pub nodeinfo: NodeInfo,
    /// RECONFIGURE NODE_VOTES, when its votes changed.
    pub votes: Option<u32>,
    /// RECONFIGURE EXPECTED_VOTES, when its E_own changed.
    pub expected_votes: Option<u32>,
}
