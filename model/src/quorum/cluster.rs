//! The whole cluster: every node's votequorum state and configuration, who runs, the
//! network, model time.
//!
//! Owns `ClusterState`, its constructors and queries, and its transitions (ring changes
//! per spec 1.6, crash, boot, clean stop, LMS timer expiry, setexpected, reload, qdevice
//! votes) and the split-brain check. Its child modules hold the rest along the seams: the
//! step interpreter (`step`: `apply`, `apply_event`), the delivery-order exploration
//! (`orders`: `apply_with_orders`, `successors_over_orders`), the views (`views`:
//! `NodeView`), the model checker's queries and symmetry image (`checking`) and the
//! leave-first timing (`leave_first`); they are children because they read private fields.
//! Pure and deterministic: no IO, no clocks (time only moves by `advance`), no HashMap (the
//! state is hashed by the model checker). It must not parse text (see `scenario`) nor
//! decide memberships from links itself (see `membership`).
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
//!   device polls again with the same answer within its sync timeout, until a script's
//!   first `qnetd`/`heuristics` step; from then qnetd decides it (`qnetd_run`, the
//!   algorithms in `quorum::qnetd`) after every settle.
//! - Each node has its own disk file and running configuration (`NodeConfig`). A reload
//!   makes every running node re-read its own file (spec 5.1; refused per node by spec
//!   5.2's rules); each node that accepted then multicasts its nodeinfo and reconfigure
//!   messages, delivered per ring in nodeid order. Two nodes talk on a link only if each
//!   one's running nodelist lists the other there. `apply(settings, ..)` is the
//!   whole-cluster form: `settings` is the file on every disk.

use super::membership::{memberships, Connectivity, LinkFaults, UnstableGroup};
use super::node::{startup_error, Votequorum, MAX_NODES};
use super::node_config::{NodeConfig, ReloadRefusal};
use super::node_set::{LinkMask, NodeSet};
use super::settings::{NodeId, Provider, QuorumSettings};

// Model-checker queries and the symmetry image.
#[path = "checking.rs"]
mod checking;
// The complete canonical form of the counter abstraction (`quorate check` at scale).
#[path = "canonical.rs"]
mod canonical;
// The config_version check of a node's first sync (spec 5.4).
#[path = "config_version.rs"]
mod config_version;
// The leave-first timing of a ring change (issue 9), explored by `apply_with_orders`.
#[path = "leave_first.rs"]
mod leave_first;
// Delivery-order exploration: `apply_with_orders`, `successors_over_orders`.
#[path = "orders.rs"]
mod orders;
// The quorum device driven by qnetd: `QnetdState`, its round, `QnetdView`.
#[path = "qnetd_run.rs"]
mod qnetd_run;
// The step interpreter: `apply`, `apply_event`.
#[path = "step.rs"]
mod step;
// `NodeView` and `views`.
#[path = "views.rs"]
mod views;

pub use canonical::Canonical;
#[cfg(test)]
pub(crate) use orders::candidate_orders_for_tests;
use orders::{receive_all, OrderBranch};
pub use orders::{OrderSuccessor, OrderSuccessors};
use qnetd_run::QnetdState;
pub use qnetd_run::{QdeviceNodeView, QnetdPartitionView, QnetdView};
pub use views::{NodeView, QuorumFlags};

/// A cluster has more distinct node ids than `MAX_NODES`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the quorum model handles at most {max} nodes, the configuration has {count}", max = MAX_NODES)]
pub struct TooManyNodes {
    /// How many node ids were given.
    pub count: usize,
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
    /// qnetd and every node's qdevice, once a `qnetd` or `heuristics` step made qnetd decide
    /// the device's vote (`None`: the vote is an input, `qdevice on|off`).
    qnetd: Option<Box<QnetdState>>,
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
    /// The running nodes whose reload failed (spec 5.2: no file, a changed address or knet
    /// transport), in position order, each with why; every one also has a note. They keep
    /// running with their previous configuration.
    pub reload_refusals: Vec<(NodeId, ReloadRefusal)>,
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
            qnetd: None,
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
                    (common & view(a, b) & view(b, a)) - self.address_mismatch(a, b)
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

    /// The links on which the running configurations of `a` and `b` disagree on an
    /// address: one node's nodelist gives the other an address that node's own file does
    /// not bind (knet sends to the listed address, so the pair cannot talk there). Files
    /// known only by their settings (no addresses) never disagree.
    fn address_mismatch(&self, a: usize, b: usize) -> LinkMask {
        let (Some(config_a), Some(config_b)) =
            (self.nodes[a].runtime.as_ref(), self.nodes[b].runtime.as_ref())
        else {
            return LinkMask::EMPTY;
        };
        let (facts_a, facts_b) = (config_a.totem(), config_b.totem());
        let (id_a, id_b) = (self.nodeids[a], self.nodeids[b]);
        let mut mismatch = LinkMask::EMPTY;
        for link in 0..8u8 {
            let disagree = |listed: Option<&str>, own: Option<&str>| matches!((listed, own), (Some(x), Some(y)) if x != y);
            if disagree(facts_a.address(id_b, link), facts_b.address(id_b, link))
                || disagree(facts_b.address(id_a, link), facts_a.address(id_a, link))
            {
                mismatch.insert(link);
            }
        }
        mismatch
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
    /// Before any ring change, nodes whose first sync would show a member with a higher
    /// `config_version` exit (spec 5.4, `config_version::version_exits`); memberships are
    /// then computed again without them.
    fn settle(&mut self, outcome: &mut StepOutcome, mut branch: Option<&mut OrderBranch>) {
        let result = loop {
            let (links, extra_faults) = self.connectivity_links();
            let result = memberships(&Connectivity {
                links: &links,
                up: self.up_set(),
                group: &self.group,
                faults: extra_faults.as_ref().unwrap_or(&self.faults),
            });
            if !self.version_exits(&result.stable, outcome) {
                break result;
            }
        };
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
        self.qnetd_round(outcome);
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

    /// `corosync-quorumtool -v votes [-n T]` on the node at `pos` for the node at `target`:
    /// checked there (`try_set_votes`), then the NODE_VOTES reconfigure reaches every node
    /// in its ring, which sets the votes of `target` (if it knows it) and recalculates with
    /// quorum allowed to decrease. Nothing is written: `target`'s next start or reload reads
    /// its votes from its file again.
    fn set_votes(&mut self, pos: usize, target: usize, votes: u32, outcome: &mut StepOutcome) {
        let nodeid = self.nodeids[pos];
        if !self.nodes[pos].running {
            outcome.rejected = true;
            outcome.notes.push(format!(
                "node {nodeid} is not running: corosync-quorumtool -v fails"
            ));
            return;
        }
        if let Err(reason) = self.nodes[pos]
            .votequorum
            .try_set_votes(&self.nodeids, target, votes)
        {
            outcome.rejected = true;
            outcome.notes.push(format!(
                "votes {votes} for node {} on node {nodeid} rejected: {reason}",
                self.nodeids[target]
            ));
            return;
        }
        for peer in self.ring_peers(pos) {
            self.nodes[peer]
                .votequorum
                .deliver_node_votes(&self.nodeids, target, votes);
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
                    outcome.reload_refusals.push((self.nodeids[pos], refusal));
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

    fn finish(&self, mut outcome: StepOutcome) -> StepOutcome {
        outcome.split_brain = self.split_brain();
        outcome
    }
}
