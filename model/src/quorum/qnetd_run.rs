//! The quorum device driven by qnetd: per node the qdevice daemon's state, the qnetd
//! server, and the round that turns qnetd's decision into each node's vote cast.
//!
//! Owns `QnetdState` (held by `ClusterState` once a script's first `qnetd` or `heuristics`
//! step switches the device from an input, `qdevice on|off`, to qnetd's decision), the
//! `qnetd`/`heuristics` transitions, the round run after every settle, and the read-only
//! `QnetdView`. The algorithms are `qnetd::decide`'s; the qdevice side's rules (spec 2.9:
//! what a client does when it loses qnetd, and while it is disconnected) are here. A child
//! module of `cluster` (it reads private fields). Pure and deterministic.
//!
//! Modelling choices, beyond the spec:
//! - Steady state: after each step every client has reported its membership and qnetd's
//!   last run of the algorithm stands (see `qnetd`). A round repeats while casts change
//!   (a quorum change makes lms decide again), at most `MAX_PASSES` times.
//! - A node's qdevice daemon runs while its corosync runs; a crashed node's client is gone
//!   (qnetd forgets its saved result), and a restarted one connects as a newcomer.
//! - `qdevice off N` (once qnetd decides) stops N's corosync-qdevice daemon (`systemctl stop
//!   corosync-qdevice`): N holds no vote and casts none until `qdevice on N` starts it again,
//!   across corosync restarts (systemd starts an enabled qdevice with corosync). Starting one
//!   on a node whose running configuration has no usable device fails, as corosync-qdevice
//!   exits when it cannot read `quorum.device` from cmap.

use super::{ClusterState, StepOutcome};
use crate::quorum::node_set::NodeSet;
use crate::quorum::qnetd::{decide, Algorithm, Client, DeviceNet, Heuristics, Vote};
use crate::quorum::settings::NodeId;
use crate::scenario::QnetdChange;
use crate::Error;
use serde::Serialize;

/// Rounds per settle at most (each pass may change casts, which changes quorum).
const MAX_PASSES: usize = 4;

/// The qnetd server and every node's qdevice daemon.
///
/// Invariant: every per-position vector has one entry per node of the universe (resized by
/// the round when nodes join it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct QnetdState {
    /// The qnetd server runs.
    server_up: bool,
    /// Positions that cannot reach the qnetd host.
    cut: NodeSet,
    /// Positions whose heuristics fail (the others pass when heuristics are configured).
    heuristics_fail: NodeSet,
    /// Positions whose corosync-qdevice daemon the operator stopped (`qdevice off`).
    stopped: NodeSet,
    /// Positions whose qdevice was connected after the last round.
    connected: NodeSet,
    /// The vote each node's qdevice holds (`None`: none yet, or no daemon).
    vote: Vec<Option<Vote>>,
    /// qnetd's saved result per client (lms, 2nodelms; `None`: newcomer or not connected).
    last_result: Vec<Option<Vote>>,
    /// ffsplit: the partition last given the vote (node ids).
    quorate_partition: Vec<NodeId>,
    /// Each node's ring and quorate flag after the last round (a disconnected qdevice turns
    /// an ACK into NACK on any change of either).
    seen_ring: Vec<NodeSet>,
    seen_quorate: NodeSet,
    /// Why each node holds its vote, in words.
    rule: Vec<String>,
    /// ffsplit: the clients' inputs (node id, members, configured nodes, heuristics) of the
    /// last decision; qnetd decides again for everyone when any of them changes.
    ffsplit_inputs: Vec<(NodeId, Vec<NodeId>, Vec<NodeId>, Heuristics)>,
    /// lms, 2nodelms: per client, its ring and (lms) quorate flag when qnetd last decided
    /// for it; qnetd decides again for one client when its own membership (lms: or quorum)
    /// changes, or when it connects.
    decided: Vec<Option<(NodeSet, bool)>>,
}

impl QnetdState {
    fn new(count: usize) -> QnetdState {
        QnetdState {
            server_up: true,
            cut: NodeSet::EMPTY,
            heuristics_fail: NodeSet::EMPTY,
            stopped: NodeSet::EMPTY,
            connected: NodeSet::EMPTY,
            vote: vec![None; count],
            last_result: vec![None; count],
            quorate_partition: Vec::new(),
            seen_ring: vec![NodeSet::EMPTY; count],
            seen_quorate: NodeSet::EMPTY,
            rule: vec![String::new(); count],
            ffsplit_inputs: Vec::new(),
            decided: vec![None; count],
        }
    }

    fn resize(&mut self, count: usize) {
        self.vote.resize(count, None);
        self.last_result.resize(count, None);
        self.seen_ring.resize(count, NodeSet::EMPTY);
        self.rule.resize(count, String::new());
        self.decided.resize(count, None);
    }
}

/// One node's qdevice as `whatif` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QdeviceNodeView {
    /// Node id.
    pub nodeid: NodeId,
    /// Its qdevice daemon runs (corosync runs and the device is usable).
    pub running: bool,
    /// The node reaches the qnetd host (`qnetd cut` not in force).
    pub reaches_qnetd: bool,
    /// Its qdevice is connected to a running qnetd.
    pub connected: bool,
    /// The vote it holds (`None`: none).
    pub vote: Option<Vote>,
    /// Its heuristics result.
    pub heuristics: Heuristics,
    /// Why it holds that vote.
    pub why: String,
}

/// One membership (partition) and what qnetd gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QnetdPartitionView {
    /// The members, ascending.
    pub members: Vec<NodeId>,
    /// The members whose qdevice is connected.
    pub connected: Vec<NodeId>,
    /// The members whose qdevice holds ACK (they add the device's votes).
    pub ack: Vec<NodeId>,
    /// Why, one sentence per distinct rule (prefixed `node N:` when its nodes differ).
    pub why: String,
}

/// The quorum device as qnetd decides it, for `whatif`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QnetdView {
    /// The algorithm (of the first node whose device is usable).
    pub algorithm: Option<Algorithm>,
    /// The qnetd server runs.
    pub server_up: bool,
    /// One entry per node of the universe.
    pub nodes: Vec<QdeviceNodeView>,
    /// One entry per running membership, by lowest member.
    pub partitions: Vec<QnetdPartitionView>,
}

impl ClusterState {
    /// Whether qnetd decides the device's vote (a `qnetd` or `heuristics` step ran).
    pub fn qnetd_modelled(&self) -> bool {
        self.qnetd.is_some()
    }

    /// The device net settings the node at `pos` runs with, when its device is usable.
    fn device_net(&self, pos: usize) -> Option<DeviceNet> {
        let slot = self.nodes.get(pos)?;
        if !slot.running || !slot.votequorum.qdevice_can_operate {
            return None;
        }
        let device = slot.runtime.as_ref()?.settings().device.as_ref()?;
        DeviceNet::from_settings(device).ok()
    }

    /// `qnetd down|up|cut|reach` (switching qnetd on first).
    pub(super) fn qnetd_change(
        &mut self,
        change: &QnetdChange,
        outcome: &mut StepOutcome,
    ) -> Result<(), Error> {
        self.switch_to_qnetd(outcome);
        let targets = match change {
            QnetdChange::Cut(nodes) | QnetdChange::Reach(nodes) => self.resolve_all(nodes)?,
            QnetdChange::Down | QnetdChange::Up => Vec::new(),
        };
        if let Some(qnetd) = self.qnetd.as_mut() {
            match change {
                QnetdChange::Down => qnetd.server_up = false,
                QnetdChange::Up => qnetd.server_up = true,
                QnetdChange::Cut(_) => {
                    for pos in &targets {
                        qnetd.cut.insert(*pos);
                    }
                }
                QnetdChange::Reach(_) => {
                    for pos in &targets {
                        qnetd.cut.remove(*pos);
                    }
                }
            }
        }
        Ok(())
    }

    /// `heuristics fail|pass NODES` (switching qnetd on first).
    pub(super) fn heuristics_change(&mut self, pass: bool, targets: &[usize], outcome: &mut StepOutcome) {
        self.switch_to_qnetd(outcome);
        for pos in targets {
            if !self.device_net(*pos).is_some_and(|net| net.heuristics) {
                outcome.notes.push(format!(
                    "node {}: no heuristics configured (quorum.device.heuristics mode on|sync with an \
                     exec_ command), its result stays undefined",
                    self.nodeids[*pos]
                ));
            }
        }
        if let Some(qnetd) = self.qnetd.as_mut() {
            for pos in targets {
                if pass {
                    qnetd.heuristics_fail.remove(*pos);
                } else {
                    qnetd.heuristics_fail.insert(*pos);
                }
            }
        }
    }

    /// `qdevice on|off NODES` once qnetd decides: the nodes' corosync-qdevice daemons start or
    /// stop. A start is refused (the step is rejected) on a node that does not run corosync
    /// or whose running configuration has no usable device: corosync-qdevice exits there.
    pub(super) fn qdevice_daemon_change(&mut self, on: bool, targets: &[usize], outcome: &mut StepOutcome) {
        if on {
            for pos in targets {
                if self.device_net(*pos).is_none() {
                    outcome.rejected = true;
                    outcome.notes.push(format!(
                        "node {}: corosync-qdevice exits at once: {}",
                        self.nodeids[*pos],
                        if self.nodes[*pos].running {
                            "its running configuration has no usable quorum.device (reload the file with the device first)"
                        } else {
                            "corosync does not run there"
                        }
                    ));
                    return;
                }
            }
        }
        if let Some(qnetd) = self.qnetd.as_mut() {
            for pos in targets {
                if on {
                    qnetd.stopped.remove(*pos);
                } else {
                    qnetd.stopped.insert(*pos);
                }
            }
        }
    }

    /// Whether the node at `pos`'s corosync-qdevice daemon was stopped (`qdevice off`).
    pub fn qdevice_stopped(&self, pos: usize) -> bool {
        self.qnetd
            .as_ref()
            .is_some_and(|qnetd| qnetd.stopped.contains(pos))
    }

    /// Heal: every node reaches the qnetd host again (the server's state is not the
    /// network's).
    pub(super) fn qnetd_heal(&mut self) {
        if let Some(qnetd) = self.qnetd.as_mut() {
            qnetd.cut = NodeSet::EMPTY;
        }
    }

    /// The first qnetd step: qnetd has run and been reached by every node since the start,
    /// so its decision for the current memberships stands before the step applies.
    fn switch_to_qnetd(&mut self, outcome: &mut StepOutcome) {
        if self.qnetd.is_some() {
            return;
        }
        self.qnetd = Some(Box::new(QnetdState::new(self.nodes.len())));
        self.qnetd_round(outcome);
    }

    /// Runs qnetd's decision and every qdevice's rules until the casts are stable.
    pub(super) fn qnetd_round(&mut self, outcome: &mut StepOutcome) {
        let Some(mut qnetd) = self.qnetd.take() else {
            return;
        };
        qnetd.resize(self.nodes.len());
        for _ in 0..MAX_PASSES {
            if !self.qnetd_pass(&mut qnetd, outcome) {
                break;
            }
        }
        self.qnetd = Some(qnetd);
    }

    fn heuristics_of(&self, qnetd: &QnetdState, pos: usize, net: &DeviceNet) -> Heuristics {
        if !net.heuristics {
            Heuristics::Undefined
        } else if qnetd.heuristics_fail.contains(pos) {
            Heuristics::Fail
        } else {
            Heuristics::Pass
        }
    }

    /// One pass: disconnect rules, qnetd's decision, casts. Returns whether a cast changed.
    fn qnetd_pass(&mut self, qnetd: &mut QnetdState, outcome: &mut StepOutcome) -> bool {
        let count = self.nodes.len();
        let nets: Vec<Option<DeviceNet>> = (0..count)
            .map(|pos| self.device_net(pos).filter(|_| !qnetd.stopped.contains(pos)))
            .collect();
        let connected: NodeSet = (0..count)
            .filter(|pos| nets[*pos].is_some() && qnetd.server_up && !qnetd.cut.contains(*pos))
            .collect();
        for (pos, net) in nets.iter().enumerate() {
            let Some(net) = *net else {
                qnetd.vote[pos] = None;
                qnetd.last_result[pos] = None;
                qnetd.decided[pos] = None;
                qnetd.rule[pos] = if self.nodes[pos].running && qnetd.stopped.contains(pos) {
                    "corosync-qdevice does not run (stopped)".to_string()
                } else if self.nodes[pos].running {
                    "no usable quorum device (not configured as model net, or disabled by the \
                     configuration)"
                        .to_string()
                } else {
                    "corosync does not run: no qdevice".to_string()
                };
                continue;
            };
            if connected.contains(pos) {
                continue;
            }
            let why_lost = if qnetd.server_up {
                "cannot reach the qnetd host"
            } else {
                "qnetd is down"
            };
            qnetd.last_result[pos] = None;
            qnetd.decided[pos] = None;
            if qnetd.connected.contains(pos) {
                // Just lost its connection (spec 2.9, the qdevice side).
                let keep = match net.algorithm {
                    Algorithm::Ffsplit => false,
                    Algorithm::Lms => self.is_quorate(pos) && self.running_wait_for_all(pos),
                    Algorithm::TwoNodeLms => true,
                };
                if keep {
                    if qnetd.vote[pos] == Some(Vote::Ack) {
                        qnetd.rule[pos] = match net.algorithm {
                            Algorithm::Lms => format!(
                                "{why_lost}: lms keeps its vote (quorate, wait_for_all set) until \
                                 the membership or quorum changes"
                            ),
                            _ => format!(
                                "{why_lost}: 2nodelms keeps its vote until the membership or quorum \
                                 changes"
                            ),
                        };
                    }
                } else {
                    if qnetd.vote[pos].is_some() {
                        qnetd.vote[pos] = Some(Vote::Nack);
                    }
                    qnetd.rule[pos] = match net.algorithm {
                        Algorithm::Ffsplit => format!("{why_lost}: ffsplit NACKs at once"),
                        _ => format!(
                            "{why_lost}: lms NACKs (it keeps its vote only while quorate with \
                             wait_for_all set)"
                        ),
                    };
                }
            } else if qnetd.vote[pos] == Some(Vote::Ack)
                && (qnetd.seen_ring[pos] != self.ring(pos)
                    || qnetd.seen_quorate.contains(pos) != self.is_quorate(pos))
            {
                qnetd.vote[pos] = Some(Vote::Nack);
                qnetd.rule[pos] = format!(
                    "{why_lost}: the membership or quorum changed while disconnected, ACK turned NACK"
                );
            } else if qnetd.vote[pos] != Some(Vote::Ack) && !qnetd.rule[pos].starts_with(why_lost) {
                qnetd.rule[pos] = format!("{why_lost}: no vote");
            }
        }
        if connected.is_empty() {
            qnetd.quorate_partition.clear();
        }
        let mut order: Vec<usize> = connected.iter().collect();
        order.sort_unstable_by_key(|pos| self.nodeids[*pos]);
        if let Some(net) = order.first().and_then(|pos| nets[*pos]) {
            let clients = |qnetd: &QnetdState| -> Vec<Client> {
                order.iter().map(|pos| self.client(qnetd, *pos, &nets)).collect()
            };
            match net.algorithm {
                Algorithm::Ffsplit => {
                    let current = clients(qnetd);
                    let inputs: Vec<_> = current
                        .iter()
                        .map(|client| {
                            (
                                client.nodeid,
                                client.members.clone(),
                                client.config_nodes.clone(),
                                client.heuristics,
                            )
                        })
                        .collect();
                    if inputs != qnetd.ffsplit_inputs {
                        let decision = decide(&net, &current, &qnetd.quorate_partition);
                        for (pos, client_vote) in order.iter().zip(decision.votes) {
                            qnetd.vote[*pos] = Some(client_vote.vote);
                            qnetd.last_result[*pos] = Some(client_vote.vote);
                            qnetd.rule[*pos] = client_vote.rule;
                        }
                        qnetd.quorate_partition = decision.quorate_partition;
                        qnetd.ffsplit_inputs = inputs;
                    }
                }
                Algorithm::Lms | Algorithm::TwoNodeLms => {
                    let reads_quorum = net.algorithm == Algorithm::Lms;
                    for (index, pos) in order.iter().enumerate() {
                        let key = (self.ring(*pos), reads_quorum && self.is_quorate(*pos));
                        if qnetd.decided[*pos] == Some(key) {
                            continue;
                        }
                        let current = clients(qnetd);
                        let decision = decide(&net, &current, &qnetd.quorate_partition);
                        let Some(client_vote) = decision.votes.into_iter().nth(index) else {
                            continue;
                        };
                        qnetd.vote[*pos] = Some(client_vote.vote);
                        if client_vote.saved {
                            qnetd.last_result[*pos] = Some(client_vote.vote);
                        }
                        qnetd.rule[*pos] = client_vote.rule;
                        qnetd.decided[*pos] = Some(key);
                    }
                }
            }
        } else {
            qnetd.ffsplit_inputs.clear();
        }
        qnetd.connected = connected;
        let mut changed = false;
        for (pos, net) in nets.iter().enumerate() {
            if net.is_none() {
                // A stopped daemon polls no more: its cast ends (the device timeout).
                if qnetd.stopped.contains(pos)
                    && self.device_net(pos).is_some()
                    && self.nodes[pos].votequorum.casts_vote()
                {
                    self.qdevice(pos, false, outcome);
                    changed = true;
                }
                continue;
            }
            let want = qnetd.vote[pos] == Some(Vote::Ack);
            if self.nodes[pos].votequorum.casts_vote() != want {
                self.qdevice(pos, want, outcome);
                changed = true;
            }
        }
        for pos in 0..count {
            qnetd.seen_ring[pos] = self.ring(pos);
            if self.is_quorate(pos) {
                qnetd.seen_quorate.insert(pos);
            } else {
                qnetd.seen_quorate.remove(pos);
            }
        }
        changed
    }

    /// The client qnetd sees for the connected node at `pos`.
    fn client(&self, qnetd: &QnetdState, pos: usize, nets: &[Option<DeviceNet>]) -> Client {
        let mut config_nodes: Vec<NodeId> = self.nodes[pos]
            .runtime
            .as_ref()
            .map(|config| config.settings().nodes.iter().map(|node| node.nodeid).collect())
            .unwrap_or_default();
        config_nodes.sort_unstable();
        config_nodes.dedup();
        Client {
            nodeid: self.nodeids[pos],
            members: self.ids_of(self.ring(pos)),
            config_nodes,
            heuristics: nets[pos].map_or(Heuristics::Undefined, |own| self.heuristics_of(qnetd, pos, &own)),
            last_result: qnetd.last_result[pos],
        }
    }

    /// `quorum.wait_for_all` set explicitly in the configuration the node runs with (what
    /// the lms qdevice reads from cmap once; two_node's implied WFA does not count).
    fn running_wait_for_all(&self, pos: usize) -> bool {
        self.nodes[pos]
            .runtime
            .as_ref()
            .is_some_and(|config| config.settings().wait_for_all == Some(true))
    }

    /// Whether the qnetd server runs and which positions cannot reach the qnetd host
    /// (`None` until a `qnetd`/`heuristics` step): what a model checker's qnetd faults read.
    pub fn qnetd_reach(&self) -> Option<(bool, NodeSet)> {
        self.qnetd.as_ref().map(|qnetd| (qnetd.server_up, qnetd.cut))
    }

    /// Whether the node at `pos` runs and its qdevice casts the device's votes.
    pub fn casts_device_vote(&self, pos: usize) -> bool {
        self.nodes
            .get(pos)
            .is_some_and(|slot| slot.running && slot.votequorum.casts_vote())
    }

    /// The quorum device as qnetd decides it (`None` until a `qnetd`/`heuristics` step).
    pub fn qnetd_view(&self) -> Option<QnetdView> {
        let qnetd = self.qnetd.as_ref()?;
        let nets: Vec<Option<DeviceNet>> = (0..self.nodes.len())
            .map(|pos| self.device_net(pos).filter(|_| !qnetd.stopped.contains(pos)))
            .collect();
        let nodes: Vec<QdeviceNodeView> = (0..self.nodes.len())
            .map(|pos| QdeviceNodeView {
                nodeid: self.nodeids[pos],
                running: nets[pos].is_some(),
                reaches_qnetd: !qnetd.cut.contains(pos),
                connected: qnetd.connected.contains(pos),
                vote: qnetd.vote.get(pos).copied().flatten(),
                heuristics: nets[pos]
                    .map_or(Heuristics::Undefined, |net| self.heuristics_of(qnetd, pos, &net)),
                why: qnetd.rule.get(pos).cloned().unwrap_or_default(),
            })
            .collect();
        let mut rings: Vec<NodeSet> = Vec::new();
        for pos in 0..self.nodes.len() {
            let ring = self.ring(pos);
            if self.nodes[pos].running && !rings.contains(&ring) {
                rings.push(ring);
            }
        }
        let mut partitions: Vec<QnetdPartitionView> = rings
            .into_iter()
            .map(|ring| {
                let members = self.ids_of(ring);
                let of = |pick: &dyn Fn(&QdeviceNodeView) -> bool| -> Vec<NodeId> {
                    nodes
                        .iter()
                        .filter(|node| members.contains(&node.nodeid) && pick(node))
                        .map(|node| node.nodeid)
                        .collect()
                };
                let mut rules: Vec<(NodeId, &str)> = nodes
                    .iter()
                    .filter(|node| members.contains(&node.nodeid))
                    .map(|node| (node.nodeid, node.why.as_str()))
                    .collect();
                rules.sort_unstable();
                let distinct: Vec<&str> = {
                    let mut texts: Vec<&str> = rules.iter().map(|(_, text)| *text).collect();
                    texts.sort_unstable();
                    texts.dedup();
                    texts
                };
                let why = if distinct.len() <= 1 {
                    distinct.first().copied().unwrap_or_default().to_string()
                } else {
                    rules
                        .iter()
                        .map(|(nodeid, text)| format!("node {nodeid}: {text}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                QnetdPartitionView {
                    connected: of(&|node| node.connected),
                    ack: of(&|node| node.vote == Some(Vote::Ack)),
                    members,
                    why,
                }
            })
            .collect();
        partitions.sort_by(|a, b| a.members.cmp(&b.members));
        Some(QnetdView {
            algorithm: nets.iter().flatten().map(|net| net.algorithm).next(),
            server_up: qnetd.server_up,
            nodes,
            partitions,
        })
    }
}
