//! The whole cluster: every node's votequorum state, who runs, the network, model time.
//!
//! Owns `ClusterState`, its transitions (ring changes per spec 1.6, crash, boot, LMS timer
//! expiry, setexpected, reload, qdevice votes), the scenario driver (`ClusterState::apply`),
//! the per-node `NodeView` and the split-brain check. Pure and deterministic: no IO, no
//! clocks (time only moves by `advance`), no HashMap (the state is hashed by the model
//! checker). It must not parse text (see `scenario`) nor decide memberships from links
//! itself (see `membership`).
//!
//! Modelling choices, beyond the spec:
//! - During a ring change every member multicasts its nodeinfo (taken after `sync_init`,
//!   i.e. as it stood at the end of its previous ring) and every member delivers them all in
//!   ascending nodeid order before `sync_activate`.
//!   Real totem's agreed order depends on the token rotation and on when each node queued
//!   its message, and with wait_for_all (or an `expected_votes` adoption) the outcome can
//!   depend on it. `apply` keeps the ascending order (cheap, deterministic: the default
//!   answer); `apply_with_orders` also follows alternative orders (all permutations up to 6
//!   members, a structured family above) and reports the nodes whose quorate flag differs
//!   (`StepOutcome::order_dependent`) and whether an order gives split-brain.
//! - A group of nodes whose connectivity is not a clique (spec 3.3) is reported as unstable
//!   and its nodes keep their previous votequorum state; nothing is predicted for them.
//! - A qdevice's decision is an input (`qdevice on|off`), kept across ring changes: the
//!   device polls again with the same answer within its sync timeout. qnetd is not modelled.
//! - A reload re-reads the same `QuorumSettings` on every running node; each node then
//!   multicasts its nodeinfo and reconfigure messages, delivered per ring in nodeid order.

use super::membership::{memberships, Connectivity, LinkFaults, UnstableGroup};
use super::node::{startup_error, AtbMode, NodeFlags, NodeInfo, Votequorum, MAX_NODES};
use super::node_config::{NodeConfig, ReloadRefusal};
use super::node_set::{LinkMask, NodeSet};
use super::settings::{NodeId, Provider, QuorumSettings};
use crate::action::{ConfigFile, Event};
use crate::scenario::{LinkScope, NodeRef, Step};
use crate::Error;

// Model-checker queries and the symmetry image (reads private fields, so a child module).
#[path = "checking.rs"]
mod checking;
// The leave-first timing of a ring change (issue 9), explored by `apply_with_orders`.
#[path = "leave_first.rs"]
mod leave_first;

/// A cluster has more distinct node ids than `MAX_NODES`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the quorum model handles at most {max} nodes, the configuration has {count}", max = MAX_NODES)]
pub struct TooManyNodes {
    /// How many node ids were given.
    pub count: usize,
}

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
fn receive_all<'a>(
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
struct OrderBranch {
    prefix: Vec<usize>,
    taken: Vec<usize>,
    counts: Vec<usize>,
    /// Skip the alternative orders of a ring change where they cannot matter (see
    /// `order_cannot_matter`: every order then gives the same whole state, so this changes
    /// no result, only the cost). Off only in the test that checks the shortcut.
    cheap: bool,
    /// Also follow the timing where members that lost peers form a ring of their own before
    /// the merge (see `leave_first`). `apply_with_orders` only: the model checker's
    /// successors keep the direct ring change.
    leave_first: bool,
    /// The delivery order (node ids) of each ring change that took a non-default outcome:
    /// the first candidate order that gives it.
    chosen: Vec<Vec<NodeId>>,
}

impl OrderBranch {
    /// The choice for the next ring change, which has `count` distinct outcomes.
    fn choose(&mut self, count: usize) -> usize {
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
    fn next_prefix(&self) -> Option<Vec<usize>> {
        let depth = (0..self.taken.len())
            .rev()
            .find(|depth| self.taken[*depth] + 1 < self.counts[*depth])?;
        let mut prefix = self.taken[..depth].to_vec();
        prefix.push(self.taken[depth] + 1);
        Some(prefix)
    }
}

/// One node slot of the universe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct NodeSlot {
    /// Whether corosync runs on it.
    running: bool,
    /// The ev_tracking file, which survives restarts.
    disk_ev_barrier: u32,
    /// The corosync.conf on its disk (`None`: none, the node cannot start). Survives
    /// restarts; a start or a reload reads it.
    disk: Option<NodeConfig>,
    /// The configuration it runs with: the disk file it started with or last reloaded
    /// successfully, with the startup-only keys of its start (see `NodeConfig::reloaded`).
    /// `None` while not running.
    runtime: Option<NodeConfig>,
    /// It runs without `quorum.provider` (startup-only): every partition is quorate.
    provider_none: bool,
    /// The votequorum state; `Default` while not running (keeps equal states equal).
    votequorum: Votequorum,
}

/// What one step gets its configuration files from.
#[derive(Clone, Copy)]
enum Files<'a> {
    /// The whole-cluster form (`apply`): this is the file on every node's disk now.
    Everywhere(&'a QuorumSettings),
    /// The per-node form (`apply_event`): the file the event carries, if any; every other
    /// node keeps the file on its disk.
    Event(Option<&'a ConfigFile>),
}

/// Every node's votequorum state, which nodes run, the network and model time.
///
/// Invariant: `nodeids`, `nodes` and `group` have one entry per node id ever configured
/// (the universe, in order of first appearance); positions never move.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusterState {
    nodeids: Vec<NodeId>,
    nodes: Vec<NodeSlot>,
    /// Partition group per position.
    group: Vec<u8>,
    faults: LinkFaults,
    now_ms: u64,
}

/// A membership that totem cannot settle on (partial mesh), by node id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnstableMembership {
    /// Every node of the connected group.
    pub nodes: Vec<NodeId>,
    /// The maximal cliques: candidate memberships.
    pub candidates: Vec<Vec<NodeId>>,
}

/// What applying one step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// After the step, two disjoint memberships are quorate at once.
    pub split_brain: bool,
    /// Groups whose membership is undefined after the step (their nodes kept their state).
    pub unstable: Vec<UnstableMembership>,
    /// The step (or part of it) was refused: unknown node, setexpected rejected, a node
    /// that cannot start. The reasons are in `notes`.
    pub rejected: bool,
    /// Human-readable remarks, in order.
    pub notes: Vec<String>,
    /// Filled only by [`ClusterState::apply_with_orders`]: the running nodes (ascending node
    /// ids) whose quorate flag after the step differs between totem delivery orders of the
    /// ring change's nodeinfo messages, or between a direct ring change and the leave-first
    /// timing (members that lost peers form a ring of their own before the merge). Real
    /// corosync may show either value, by timing.
    pub order_dependent: Vec<NodeId>,
    /// Filled only by [`ClusterState::apply_with_orders`]: some delivery order makes two
    /// disjoint memberships quorate at once (`split_brain` is the default order's answer).
    pub split_brain_possible: bool,
    /// Filled only by [`ClusterState::apply_with_orders`]: per position, the quorate values
    /// the node can have after the step over all explored delivery orders, as
    /// `(can be inquorate, can be quorate)`. Empty from `apply`.
    pub possible_quorate: Vec<(bool, bool)>,
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
    /// All nodes that have a ring address boot together in partition 0 (vqsim's start);
    /// nodes whose configuration corosync refuses stay down. Every node has `settings` on
    /// its disk.
    pub fn new(settings: &QuorumSettings) -> Result<ClusterState, TooManyNodes> {
        ClusterState::from_config(&NodeConfig::from_settings(settings))
    }

    /// `new`, with `config` (votequorum input and totem facts) on every node's disk.
    pub fn from_config(config: &NodeConfig) -> Result<ClusterState, TooManyNodes> {
        let mut state = ClusterState::stopped_from_config(config)?;
        let mut outcome = StepOutcome::default();
        for pos in 0..state.nodeids.len() {
            state.boot(pos, 0, &mut outcome);
        }
        state.settle(&mut outcome, None);
        Ok(state)
    }

    /// Every configured node known but stopped, time 0, no faults, `settings` on every disk.
    pub fn stopped(settings: &QuorumSettings) -> Result<ClusterState, TooManyNodes> {
        ClusterState::stopped_from_config(&NodeConfig::from_settings(settings))
    }

    /// `stopped`, with `config` on every node's disk.
    pub fn stopped_from_config(config: &NodeConfig) -> Result<ClusterState, TooManyNodes> {
        let mut state = ClusterState {
            nodeids: Vec::new(),
            nodes: Vec::new(),
            group: Vec::new(),
            faults: LinkFaults::default(),
            now_ms: 0,
        };
        let count = state.adopt(config.settings(), Some(config));
        if count > MAX_NODES {
            return Err(TooManyNodes { count });
        }
        Ok(state)
    }

    /// Adds the node ids of `settings` not yet known, with `disk` as the file on their
    /// disks; returns how many ids there would be.
    fn adopt(&mut self, settings: &QuorumSettings, disk: Option<&NodeConfig>) -> usize {
        let mut wanted = self.nodeids.len();
        for node in &settings.nodes {
            if self.nodeids.contains(&node.nodeid) {
                continue;
            }
            wanted += 1;
            if self.nodeids.len() >= MAX_NODES {
                continue;
            }
            self.nodeids.push(node.nodeid);
            self.nodes.push(NodeSlot {
                disk: disk.cloned(),
                ..NodeSlot::default()
            });
            self.group.push(0);
            self.faults.node_links_down.push(LinkMask::EMPTY);
            let size = self.nodeids.len();
            for slot in self.nodes.iter_mut().filter(|slot| slot.running) {
                slot.votequorum.peers.resize(size, Default::default());
            }
        }
        wanted
    }

    /// Writes `config` to the disks of the nodes at `targets` (known positions).
    fn install(&mut self, config: &NodeConfig, targets: &[usize]) {
        for pos in targets {
            let slot = &mut self.nodes[*pos];
            if !slot.disk.as_ref().is_some_and(|disk| disk.same(config)) {
                slot.disk = Some(config.clone());
            }
        }
    }

    /// The whole-cluster form: `settings` is now the file on every node's disk (the nodes
    /// it adds join the universe). Returns how many ids there would be.
    fn install_everywhere(&mut self, settings: &QuorumSettings) -> usize {
        let known = self
            .nodes
            .iter()
            .find_map(|slot| slot.disk.as_ref())
            .filter(|disk| disk.settings() == settings)
            .cloned();
        let config = known.unwrap_or_else(|| NodeConfig::from_settings(settings));
        self.install_config_everywhere(&config)
    }

    /// `config` is now the file on every node's disk. Returns how many ids there would be.
    fn install_config_everywhere(&mut self, config: &NodeConfig) -> usize {
        let wanted = self.adopt(config.settings(), Some(config));
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.install(config, &all);
        wanted
    }

    /// The corosync.conf on the disk of the node at `pos` (`None`: none, or no such node).
    pub fn disk_config(&self, pos: usize) -> Option<&NodeConfig> {
        self.nodes.get(pos).and_then(|slot| slot.disk.as_ref())
    }

    /// The configuration the node at `pos` runs with (`None` when it does not run).
    pub fn running_config(&self, pos: usize) -> Option<&NodeConfig> {
        self.nodes.get(pos).and_then(|slot| slot.runtime.as_ref())
    }

    /// Model time in ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The node ids of the universe, in position order.
    pub fn nodeids(&self) -> &[NodeId] {
        &self.nodeids
    }

    /// Position of `nodeid`, if known.
    pub fn position(&self, nodeid: NodeId) -> Option<usize> {
        self.nodeids.iter().position(|id| *id == nodeid)
    }

    /// The partition (script group, as in `split P:N`) the node at `pos` is in, if known.
    pub fn partition(&self, pos: usize) -> Option<u8> {
        self.group.get(pos).copied()
    }

    /// Whether the node at `pos` runs.
    pub fn is_up(&self, pos: usize) -> bool {
        self.nodes.get(pos).is_some_and(|slot| slot.running)
    }

    /// Whether the node at `pos` runs and is quorate.
    pub fn is_quorate(&self, pos: usize) -> bool {
        self.nodes
            .get(pos)
            .is_some_and(|slot| slot.running && (slot.provider_none || slot.votequorum.quorate))
    }

    /// The current ring of the node at `pos` (empty when down; just itself when it booted
    /// into an unstable group and has not formed a ring yet).
    pub fn ring(&self, pos: usize) -> NodeSet {
        match self.nodes.get(pos) {
            Some(slot) if slot.running && slot.votequorum.members.is_empty() => NodeSet::single(pos),
            Some(slot) if slot.running => slot.votequorum.members,
            _ => NodeSet::EMPTY,
        }
    }

    /// Positions of the running, quorate nodes.
    pub fn quorate_set(&self) -> NodeSet {
        (0..self.nodes.len())
            .filter(|pos| self.is_quorate(*pos))
            .collect()
    }

    /// Positions of the running nodes.
    pub fn up_nodes(&self) -> NodeSet {
        self.up_set()
    }

    /// Two quorate nodes whose rings are disjoint: two memberships quorate at once.
    pub fn split_brain(&self) -> bool {
        let rings: Vec<NodeSet> = (0..self.nodes.len())
            .filter(|pos| self.is_quorate(*pos))
            .map(|pos| self.ring(pos))
            .collect();
        rings
            .iter()
            .enumerate()
            .any(|(index, a)| rings[index + 1..].iter().any(|b| a.is_disjoint(*b)))
    }

    fn ids_of(&self, set: NodeSet) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = set
            .iter()
            .filter_map(|pos| self.nodeids.get(pos).copied())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Per-position configured links as membership sees them, for one configuration.
    fn links(&self, settings: &QuorumSettings) -> Vec<LinkMask> {
        self.nodeids
            .iter()
            .map(|nodeid| settings.link_mask(*nodeid))
            .collect()
    }

    /// The links membership uses, and extra pair faults, from the configurations the
    /// running nodes run with. When they all run the same one (the whole-cluster case),
    /// its links and no extra fault. Otherwise each node uses the links its own
    /// configuration gives it, and two nodes can talk on a link only if each one's
    /// configuration lists the other on that link (knet adds hosts from its nodelist;
    /// corosync cuts off nodes it does not list, spec 5.2) and both run the same
    /// transport: every other pair gets a pair fault on that link.
    fn connectivity_links(&self) -> (Vec<LinkMask>, Option<LinkFaults>) {
        let mut running = self.nodes.iter().filter_map(|slot| slot.runtime.as_ref());
        let Some(first) = running.next() else {
            return (vec![LinkMask::EMPTY; self.nodes.len()], None);
        };
        if running.all(|config| config == first) {
            return (self.links(first.settings()), None);
        }
        let view = |pos: usize, of: usize| -> LinkMask {
            self.nodes[pos]
                .runtime
                .as_ref()
                .map_or(LinkMask::EMPTY, |config| {
                    config.settings().link_mask(self.nodeids[of])
                })
        };
        let links: Vec<LinkMask> = (0..self.nodes.len()).map(|pos| view(pos, pos)).collect();
        let mut faults = self.faults.clone();
        for a in 0..self.nodes.len() {
            for b in (a + 1)..self.nodes.len() {
                let common = links[a] & links[b];
                if common.is_empty() {
                    continue;
                }
                let transports =
                    |pos: usize| self.nodes[pos].runtime.as_ref().map(|c| c.settings().transport);
                let usable = if transports(a) == transports(b) {
                    common & view(a, b) & view(b, a)
                } else {
                    LinkMask::EMPTY
                };
                for link in (common - usable).iter() {
                    faults.pair_links_down.push((link, a as u8, b as u8));
                }
            }
        }
        faults.pair_links_down.sort_unstable();
        faults.pair_links_down.dedup();
        (links, Some(faults))
    }

    fn up_set(&self) -> NodeSet {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.running)
            .map(|(pos, _)| pos)
            .collect()
    }

    /// Starts the node at `pos` in partition `group` (a fresh boot: WFA armed) with the
    /// file on its disk.
    fn boot(&mut self, pos: usize, group: u8, outcome: &mut StepOutcome) {
        let nodeid = self.nodeids[pos];
        if self.nodes[pos].running {
            outcome.notes.push(format!("node {nodeid} is already running"));
            return;
        }
        let Some(config) = self.nodes[pos].disk.clone() else {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("node {nodeid} has no corosync.conf: it cannot start"));
            return;
        };
        let settings = config.settings();
        let Some(node) = settings.nodes.iter().find(|node| node.nodeid == nodeid) else {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("node {nodeid} is not in the nodelist: it cannot start"));
            return;
        };
        if node.links.is_empty() {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("node {nodeid} has no ring address: it cannot start"));
            return;
        }
        if let Some(error) = startup_error(settings) {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("node {nodeid} refuses to start: {error}"));
            return;
        }
        let disk_ev_barrier = self.nodes[pos].disk_ev_barrier;
        let votequorum = Votequorum::boot(pos, &self.nodeids, settings, disk_ev_barrier);
        self.nodes[pos] = NodeSlot {
            running: true,
            disk_ev_barrier,
            provider_none: settings.provider == Provider::None,
            disk: Some(config.clone()),
            runtime: Some(config),
            votequorum,
        };
        self.group[pos] = group;
    }

    /// Crashes the node at `pos` (no LEAVING message).
    fn crash(&mut self, pos: usize) {
        let slot = &mut self.nodes[pos];
        if slot.running {
            let disk_ev_barrier = slot.votequorum.ev_tracking_barrier.max(slot.disk_ev_barrier);
            *slot = NodeSlot {
                disk_ev_barrier,
                disk: slot.disk.take(),
                ..NodeSlot::default()
            };
        }
    }

    /// Clean shutdown of the node at `pos` (`votequorum_exec_exit_fn`): with allow_downscale
    /// its ring first delivers a nodeinfo flagged LEAVING, then the node is gone.
    fn stop(&mut self, pos: usize) {
        if !self.nodes[pos].running {
            return;
        }
        if let Some(info) = self.nodes[pos].votequorum.leaving_nodeinfo() {
            for peer in self.ring_peers(pos).into_iter().filter(|peer| *peer != pos) {
                self.nodes[peer]
                    .votequorum
                    .deliver_nodeinfo(&self.nodeids, &info, false);
            }
        }
        self.crash(pos);
    }

    /// Recomputes memberships and runs a ring change wherever one differs.
    /// `branch` is `None` on the default path (ascending nodeid order); with a branch, each
    /// ring change takes the delivery-order outcome the branch chooses (see `OrderBranch`).
    fn settle(&mut self, outcome: &mut StepOutcome, mut branch: Option<&mut OrderBranch>) {
        let (links, extra_faults) = self.connectivity_links();
        let result = memberships(&Connectivity {
            links: &links,
            up: self.up_set(),
            group: &self.group,
            faults: extra_faults.as_ref().unwrap_or(&self.faults),
        });
        for members in result.stable {
            if members
                .iter()
                .any(|pos| self.nodes[pos].votequorum.members != members)
            {
                match branch.as_deref_mut() {
                    None => self.ring_change(members),
                    Some(branch) => {
                        if branch.leave_first {
                            self.leave_first_rings(members, branch);
                        }
                        self.ring_change_branch(members, branch);
                    }
                }
            }
        }
        for UnstableGroup { nodes, candidates } in result.unstable {
            outcome.unstable.push(UnstableMembership {
                nodes: self.ids_of(nodes),
                candidates: candidates.iter().map(|set| self.ids_of(*set)).collect(),
            });
        }
    }

    /// The members of `members` in message order (ascending nodeid).
    fn message_order(&self, members: NodeSet) -> Vec<usize> {
        let mut order: Vec<usize> = members.iter().collect();
        order.sort_unstable_by_key(|pos| self.nodeids[*pos]);
        order
    }

    /// A ring change to `members` (spec 1.6): sync_init, nodeinfo exchange, sync_activate.
    fn ring_change(&mut self, members: NodeSet) {
        let order = self.message_order(members);
        let now = self.now_ms;
        for pos in &order {
            self.nodes[*pos].votequorum.sync_init(&self.nodeids, members, now);
        }
        let infos: Vec<_> = order
            .iter()
            .map(|pos| self.nodes[*pos].votequorum.nodeinfo())
            .collect();
        for pos in &order {
            receive_all(&mut self.nodes[*pos].votequorum, &self.nodeids, infos.iter());
        }
    }

    /// A ring change to `members` on an exploration branch: evaluates every candidate
    /// delivery order (see `candidate_orders`) on copies of the members' states, keeps the
    /// distinct results (the ascending order's first), and installs the one `branch` picks.
    fn ring_change_branch(&mut self, members: NodeSet, branch: &mut OrderBranch) {
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

    /// Running nodes sharing `pos`'s current ring, in message order.
    fn ring_peers(&self, pos: usize) -> Vec<usize> {
        let ring = self.ring(pos);
        let peers: NodeSet = ring.iter().filter(|peer| self.ring(*peer) == ring).collect();
        self.message_order(peers)
    }

    /// Model time passes by `ms`; LMS timers whose deadline is reached fire.
    pub fn advance(&mut self, ms: u64) {
        self.now_ms = self.now_ms.saturating_add(ms);
        let now = self.now_ms;
        for slot in self.nodes.iter_mut().filter(|slot| slot.running) {
            if slot
                .votequorum
                .lms_deadline
                .is_some_and(|deadline| deadline <= now)
            {
                slot.votequorum.lms_expire(&self.nodeids);
            }
        }
    }

    /// `corosync-quorumtool -e votes` on the node at `pos`.
    fn set_expected(&mut self, pos: usize, votes: u32, outcome: &mut StepOutcome) {
        let nodeid = self.nodeids[pos];
        if !self.nodes[pos].running {
            outcome.rejected = true;
            outcome.notes.push(format!(
                "node {nodeid} is not running: corosync-quorumtool -e fails"
            ));
            return;
        }
        if let Err(reason) = self.nodes[pos].votequorum.check_set_expected(votes) {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("expected {votes} on node {nodeid} rejected: {reason}"));
            return;
        }
        for peer in self.ring_peers(pos) {
            self.nodes[peer]
                .votequorum
                .deliver_expected_votes(&self.nodeids, votes);
        }
    }

    /// `corosync-cfgtool -R` with `settings` as the file every node now has.
    pub fn reload(&mut self, settings: &QuorumSettings) -> StepOutcome {
        let mut outcome = StepOutcome::default();
        if self.install_everywhere(settings) > MAX_NODES {
            outcome
                .notes
                .push(format!("only the first {MAX_NODES} node ids are modelled"));
        }
        self.reload_into(&mut outcome, None);
        self.finish(outcome)
    }

    /// `corosync-cfgtool -R` (spec 5.1): every running node re-reads the file on its own
    /// disk. A node whose file it cannot accept (no file, a changed address or knet
    /// transport, spec 5.2) fails the reload and keeps running as it was; every other node
    /// takes the runtime part of its file (`NodeConfig::reloaded`; votequorum re-reads only
    /// its runtime keys) and multicasts its nodeinfo and reconfigure messages, delivered per
    /// ring in nodeid order.
    fn reload_into(&mut self, outcome: &mut StepOutcome, branch: Option<&mut OrderBranch>) {
        let mut messages = vec![None; self.nodes.len()];
        for (pos, (slot, message)) in self.nodes.iter_mut().zip(&mut messages).enumerate() {
            let (Some(runtime), true) = (slot.runtime.as_ref(), slot.running) else {
                continue;
            };
            let accepted = match slot.disk.as_ref() {
                None => Err(ReloadRefusal::NoFile),
                Some(disk) => runtime.reload_refusal(disk).map_or(Ok(disk), Err),
            };
            match accepted {
                Ok(disk) => {
                    let reloaded = runtime.reloaded(disk);
                    *message = Some(slot.votequorum.reload(&self.nodeids, disk.settings()));
                    slot.runtime = Some(reloaded);
                }
                Err(refusal) => {
                    outcome.rejected = true;
                    outcome.notes.push(format!(
                        "node {}: the reload fails ({refusal}); it keeps its running configuration",
                        self.nodeids[pos]
                    ));
                }
            }
        }
        let mut done = NodeSet::EMPTY;
        for pos in 0..self.nodes.len() {
            if !self.nodes[pos].running || done.contains(pos) {
                continue;
            }
            let ring = self.ring_peers(pos);
            for sender in &ring {
                done.insert(*sender);
                let Some(message) = messages[*sender] else {
                    continue;
                };
                for receiver in &ring {
                    let votequorum = &mut self.nodes[*receiver].votequorum;
                    votequorum.deliver_nodeinfo(&self.nodeids, &message.nodeinfo, true);
                    if let Some(votes) = message.votes {
                        votequorum.deliver_node_votes(&self.nodeids, *sender, votes);
                    }
                    if let Some(expected) = message.expected_votes {
                        votequorum.deliver_expected_votes(&self.nodeids, expected);
                    }
                }
            }
        }
        self.settle(outcome, branch);
    }

    /// The node at `pos`'s qdevice starts (`on`) or stops casting its vote.
    fn qdevice(&mut self, pos: usize, on: bool, outcome: &mut StepOutcome) {
        let nodeid = self.nodeids[pos];
        let slot = &self.nodes[pos];
        if !slot.running {
            outcome.rejected = true;
            outcome
                .notes
                .push(format!("node {nodeid} is not running: no qdevice poll"));
            return;
        }
        let configured = slot
            .runtime
            .as_ref()
            .is_some_and(|config| config.settings().device.is_some());
        if !configured || !slot.votequorum.qdevice_can_operate {
            outcome.rejected = true;
            outcome.notes.push(format!(
                "node {nodeid}: no usable quorum device (not configured or disabled by the configuration)"
            ));
            return;
        }
        if self.nodes[pos].votequorum.qdevice_poll(on) {
            let info = self.nodes[pos].votequorum.nodeinfo();
            for peer in self.ring_peers(pos) {
                self.nodes[peer]
                    .votequorum
                    .deliver_nodeinfo(&self.nodeids, &info, true);
            }
        }
    }

    /// The position of `node`. A name is looked up in the nodelists of the nodes' disk
    /// files, in position order (the whole-cluster form: the one file).
    fn resolve(&self, node: &NodeRef) -> Result<usize, Error> {
        let nodeid = match node {
            NodeRef::Id(nodeid) => *nodeid,
            NodeRef::Name(name) => self
                .nodes
                .iter()
                .filter_map(|slot| slot.disk.as_ref())
                .find_map(|disk| {
                    disk.settings()
                        .nodes
                        .iter()
                        .find(|entry| entry.name == *name)
                        .map(|entry| entry.nodeid)
                })
                .ok_or_else(|| Error::UnknownNodeName(name.clone()))?,
        };
        self.position(nodeid).ok_or(Error::UnknownNodeId(nodeid))
    }

    fn resolve_all<'a>(&self, nodes: impl IntoIterator<Item = &'a NodeRef>) -> Result<Vec<usize>, Error> {
        nodes.into_iter().map(|node| self.resolve(node)).collect()
    }

    fn finish(&self, mut outcome: StepOutcome) -> StepOutcome {
        outcome.split_brain = self.split_brain();
        outcome
    }

    /// Applies one scenario step, whole-cluster form. `settings` is the configuration on
    /// every node's disk at this step: for `reload FILE` the caller passes the settings read
    /// from FILE (the model does no IO), and keeps passing them for later steps. (`install`
    /// needs [`ClusterState::apply_event`]: here every disk has `settings`.)
    pub fn apply(&mut self, settings: &QuorumSettings, step: &Step) -> StepOutcome {
        self.apply_files(Files::Everywhere(settings), step)
    }

    /// Applies one event, per-node form: each node keeps the file on its own disk unless the
    /// event writes one (`install FILE on N`, or `reload FILE`, which writes FILE to every
    /// node first); a reload makes every running node re-read its own file (spec 5.1), a
    /// start reads the node's file. With the same file everywhere this is `apply`.
    pub fn apply_event(&mut self, event: &Event) -> StepOutcome {
        let step = event.to_step();
        self.apply_files(Files::Event(event.config()), &step)
    }

    /// `apply_with_orders` for an event (per-node form, see `apply_event`).
    pub fn apply_event_with_orders(&mut self, event: &Event) -> StepOutcome {
        let step = event.to_step();
        self.apply_with_orders_files(Files::Event(event.config()), &step)
    }

    /// `successors_over_orders` for an event (per-node form, see `apply_event`).
    pub fn event_successors_over_orders(&self, event: &Event) -> OrderSuccessors {
        let step = event.to_step();
        self.successors(Files::Event(event.config()), &step, true)
    }

    fn apply_files(&mut self, files: Files<'_>, step: &Step) -> StepOutcome {
        let mut outcome = StepOutcome::default();
        if let Err(reason) = self.apply_step(files, step, &mut outcome, None) {
            outcome.rejected = true;
            outcome.notes.push(reason.to_string());
        }
        self.finish(outcome)
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

    fn apply_with_orders_files(&mut self, files: Files<'_>, step: &Step) -> StepOutcome {
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

    fn successors(&self, files: Files<'_>, step: &Step, cheap: bool) -> OrderSuccessors {
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

    fn apply_step(
        &mut self,
        files: Files<'_>,
        step: &Step,
        outcome: &mut StepOutcome,
        mut branch: Option<&mut OrderBranch>,
    ) -> Result<(), Error> {
        let wanted = match (files, step) {
            (Files::Everywhere(settings), _) => self.install_everywhere(settings),
            (Files::Event(Some(file)), Step::Reload { .. }) => self.install_config_everywhere(&file.config),
            (Files::Event(Some(file)), Step::Install { .. }) => self.adopt(file.config.settings(), None),
            (Files::Event(_), _) => self.nodeids.len(),
        };
        if wanted > MAX_NODES {
            outcome
                .notes
                .push(format!("only the first {MAX_NODES} node ids are modelled"));
        }
        match step {
            Step::Up(specs) => {
                let mut targets = Vec::new();
                for spec in specs {
                    for pos in self.resolve_all(&spec.nodes)? {
                        targets.push((pos, spec.partition.unwrap_or(0)));
                    }
                }
                for (pos, group) in targets {
                    self.boot(pos, group, outcome);
                }
            }
            Step::Down(nodes) => {
                for pos in self.resolve_all(nodes)? {
                    self.crash(pos);
                }
            }
            Step::Move(specs) => {
                let mut targets = Vec::new();
                for spec in specs {
                    for pos in self.resolve_all(&spec.nodes)? {
                        targets.push((pos, spec.partition.unwrap_or(0)));
                    }
                }
                for (pos, group) in targets {
                    self.group[pos] = group;
                }
            }
            Step::Join { into, from } => {
                for group in self.group.iter_mut() {
                    if from.contains(group) {
                        *group = *into;
                    }
                }
            }
            Step::Qdevice { on, nodes } => {
                for pos in self.resolve_all(nodes)? {
                    self.qdevice(pos, *on, outcome);
                }
            }
            Step::Link { link, up, scope } => {
                let mask = LinkMask::single(link & 7);
                match scope {
                    LinkScope::All if *up => {
                        self.faults.links_down -= mask;
                        for node_mask in self.faults.node_links_down.iter_mut() {
                            *node_mask -= mask;
                        }
                        self.faults
                            .pair_links_down
                            .retain(|(pair_link, _, _)| pair_link != link);
                    }
                    LinkScope::All => self.faults.links_down |= mask,
                    LinkScope::Nodes(nodes) => {
                        for pos in self.resolve_all(nodes)? {
                            let node_mask = &mut self.faults.node_links_down[pos];
                            *node_mask = if *up { *node_mask - mask } else { *node_mask | mask };
                        }
                    }
                    LinkScope::Between(a, b) => {
                        let (a, b) = (self.resolve(a)?, self.resolve(b)?);
                        if a == b {
                            return Err(Error::LinkToItself);
                        }
                        let entry = (*link, a.min(b) as u8, a.max(b) as u8);
                        self.faults.pair_links_down.retain(|existing| *existing != entry);
                        if !*up {
                            self.faults.pair_links_down.push(entry);
                            self.faults.pair_links_down.sort_unstable();
                        }
                    }
                }
            }
            Step::Isolate(node) => {
                let pos = self.resolve(node)?;
                let free = (0..=u8::MAX)
                    .find(|candidate| !self.group.contains(candidate))
                    .unwrap_or(u8::MAX);
                self.group[pos] = free;
            }
            Step::Heal => {
                self.group.iter_mut().for_each(|group| *group = 0);
                let count = self.nodes.len();
                self.faults = LinkFaults {
                    node_links_down: vec![LinkMask::EMPTY; count],
                    ..LinkFaults::default()
                };
            }
            Step::Expected { votes, node } => {
                let pos = self.resolve(node)?;
                self.set_expected(pos, *votes, outcome);
            }
            Step::Install { file, nodes } => {
                let targets = self.resolve_all(nodes)?;
                match files {
                    Files::Event(Some(installed)) => self.install(&installed.config, &targets),
                    Files::Everywhere(_) | Files::Event(None) => {
                        return Err(Error::File(crate::action::FileError {
                            file: file.clone(),
                            reason: "installing a file on some nodes needs the per-node form \
                                     (ClusterState::apply_event with the file's content)"
                                .to_string(),
                        }))
                    }
                }
                return Ok(());
            }
            Step::Reload { .. } => {
                self.reload_into(outcome, branch);
                return Ok(());
            }
            Step::Restart(nodes) => {
                let targets = self.resolve_all(nodes)?;
                for pos in &targets {
                    self.crash(*pos);
                }
                self.settle(outcome, branch.as_deref_mut());
                outcome.unstable.clear();
                for pos in targets {
                    let group = self.group[pos];
                    self.boot(pos, group, outcome);
                }
            }
            Step::Stop(nodes) => {
                for pos in self.resolve_all(nodes)? {
                    self.stop(pos);
                }
            }
            Step::Wait(ms) => self.advance(*ms),
            Step::Show => {}
        }
        self.settle(outcome, branch);
        Ok(())
    }

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
            auto_tie_breaker: votequorum.atb != super::node::AtbMode::Off,
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
