//! The state the planner searches over and the operator actions between states.
//!
//! Owns `Universe` (every node of the source and the target, in the engine's position
//! order), `PlanState` (per node: the file on disk, the file it started with, the file it
//! last accepted at reload, whether it was (re)started during the plan, whether its qdevice
//! certificate is installed, plus the engine's `ClusterState`, which holds whether each
//! node's corosync-qdevice runs and qnetd's decision), `Move` (write, write through pmxcfs,
//! reload, start, restart, stop, leave, the qdevice certificates, start and stop
//! corosync-qdevice), `Context::apply` (a move as `model::action::Event`s run by
//! `ClusterState::apply_event`, refused where real corosync refuses or fails it), the goal
//! test, the moves of a state and their estimated durations (spec 3.4). It must not judge
//! safety (that is `safety`) nor search (that is `search`).

use std::fmt;

use model::action::{Action, ConfigFile, Event, Fault};
use model::quorum::{ClusterState, NodeId, NodeSet, MAX_NODES};
use model::scenario::{NodeRef, NodeSpec, QnetdChange};

use crate::files::{FileId, FileTable, PvecmInputs, NO_FILE, TARGET};
use crate::pvecm::PveConf;
use crate::qdevice::{DeviceChange, QdevicePlan};
use crate::{Error, PlanOptions};

/// Extra time per step beyond the membership change: the SSH round trip, systemd, the
/// sync after a ring forms. A planning estimate, not a measurement.
pub(crate) const STEP_MARGIN_MS: u64 = 1_000;
/// What `timeout_ms` adds to a step's estimate before `apply` gives up waiting for `post`.
pub(crate) const TIMEOUT_MARGIN_MS: u64 = 10_000;
/// Writing a file on nodes (SSH, temporary file, fsync, rename).
pub(crate) const WRITE_MS: u64 = 1_000;
/// The qdevice certificate exchange: six SSH steps between the qnetd host and the nodes.
pub(crate) const CERTIFY_MS: u64 = 6 * WRITE_MS;
/// Starting corosync-qdevice until it casts: connect to qnetd over TLS, qnetd's decision,
/// the first poll (a planning estimate, not a measurement).
pub(crate) const QDEVICE_START_MS: u64 = 2_000;

/// Every node the plan touches.
#[derive(Clone, Debug)]
pub(crate) struct Universe {
    /// Node ids by position (the engine's order).
    pub nodeids: Vec<NodeId>,
    /// Names by position (target name, else source name).
    pub names: Vec<String>,
    /// Positions the target lists.
    pub in_target: NodeSet,
    /// Positions the source lists.
    pub in_source: NodeSet,
}

impl Universe {
    /// The position of the node named `name` (or whose id is `name`).
    pub fn position_of(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|candidate| candidate == name)
            .or_else(|| {
                let id: NodeId = name.parse().ok()?;
                self.nodeids.iter().position(|nodeid| *nodeid == id)
            })
    }

    /// The names of the positions in `set`, in position order.
    pub fn names_of(&self, set: NodeSet) -> Vec<String> {
        set.iter()
            .filter_map(|pos| self.names.get(pos).cloned())
            .collect()
    }

    fn refs(&self, set: NodeSet) -> Vec<NodeRef> {
        set.iter()
            .filter_map(|pos| self.nodeids.get(pos))
            .map(|nodeid| NodeRef::Id(*nodeid))
            .collect()
    }
}

/// One state of the search.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PlanState {
    /// The engine's state (per node disk and running configuration, votequorum, network).
    pub cluster: ClusterState,
    /// Per position, the file on its disk.
    pub disk: Vec<FileId>,
    /// Per position, the file it started with (`NO_FILE` when down).
    pub boot: Vec<FileId>,
    /// Per position, the file it last applied (start or accepted reload).
    pub live: Vec<FileId>,
    /// Positions started or restarted during the plan.
    pub restarted: NodeSet,
    /// Positions whose qdevice NSS database holds the cluster's client certificate.
    pub certified: NodeSet,
}

/// An operator action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Move {
    /// Write `file` as corosync.conf on `nodes` (atomic; nothing reads it yet).
    Write {
        /// The file.
        file: FileId,
        /// Where.
        nodes: NodeSet,
    },
    /// Proxmox: write `/etc/pve/corosync.conf` on `via`; pmxcfs copies it to `nodes` (the
    /// members) and `via` reloads after a second (spec 6.2).
    WritePve {
        /// The file.
        file: FileId,
        /// The members that receive it.
        nodes: NodeSet,
        /// Where it is written.
        via: usize,
    },
    /// `corosync-cfgtool -R` on `via` (every running node re-reads its own file).
    Reload {
        /// Where the command runs.
        via: usize,
    },
    /// `systemctl start corosync`.
    Start(NodeSet),
    /// `systemctl restart corosync`.
    Restart(NodeSet),
    /// `systemctl stop corosync` on nodes of the target (an outage step).
    Stop(NodeSet),
    /// A node the target drops leaves: `systemctl stop corosync` and disable.
    Leave(NodeSet),
    /// The qdevice certificates: qnetd's CA on the nodes, the cluster certificate qnetd
    /// signs, imported on the nodes (no effect on votes; `corosync-qdevice` needs it).
    Certify(NodeSet),
    /// `systemctl enable/start corosync-qdevice`: the daemon connects to qnetd.
    QdeviceStart(NodeSet),
    /// `systemctl stop/disable corosync-qdevice`.
    QdeviceStop(NodeSet),
    /// Proxmox: `pvecm create` on `node`, with nothing running and no node in a cluster:
    /// the file `create_conf` writes (the node alone, config_version 1) in /etc/pve and
    /// /etc/corosync, a new authkey, and corosync (re)started there (spec 6.4).
    PvecmCreate {
        /// Where it runs.
        node: usize,
    },
    /// Proxmox: `pvecm add VIA --use_ssh` on `node`: `via` (quorate) adds the node to
    /// /etc/pve/corosync.conf with config_version + 1, pmxcfs copies it to the members and
    /// `via` reloads; then the node gets the file and the authkey and starts corosync
    /// (spec 6.4).
    PvecmAdd {
        /// The joining node.
        node: usize,
        /// The member whose address it names (where `pvecm addnode` runs).
        via: usize,
    },
    /// Proxmox: `pvecm delnode NODE` on `via` (quorate), once `node` is down: the nodelist
    /// without it, config_version + 1, copied by pmxcfs, reloaded (spec 6.4).
    PvecmDelnode {
        /// The removed node.
        node: usize,
        /// Where it runs.
        via: usize,
    },
}

impl Move {
    /// The plan's action name.
    pub fn kind(&self) -> &'static str {
        match self {
            Move::Write { .. } => "write_config",
            Move::WritePve { .. } => "write_pve_config",
            Move::Reload { .. } => "reload",
            Move::Start(_) => "start",
            Move::Restart(_) => "restart",
            Move::Stop(_) => "stop",
            Move::Leave(_) => "leave",
            Move::Certify(_) => "qdevice_certificate",
            Move::QdeviceStart(_) => "start_qdevice",
            Move::QdeviceStop(_) => "stop_qdevice",
            Move::PvecmCreate { .. } => "pvecm_create",
            Move::PvecmAdd { .. } => "pvecm_add",
            Move::PvecmDelnode { .. } => "pvecm_delnode",
        }
    }

    /// The nodes the move names.
    pub fn nodes(&self) -> NodeSet {
        match self {
            Move::Write { nodes, .. } | Move::WritePve { nodes, .. } => *nodes,
            Move::Reload { via } => NodeSet::single(*via),
            Move::Start(nodes)
            | Move::Restart(nodes)
            | Move::Stop(nodes)
            | Move::Leave(nodes)
            | Move::Certify(nodes)
            | Move::QdeviceStart(nodes)
            | Move::QdeviceStop(nodes) => *nodes,
            Move::PvecmCreate { node } | Move::PvecmAdd { node, .. } | Move::PvecmDelnode { node, .. } => {
                NodeSet::single(*node)
            }
        }
    }
}

/// What a move did.
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    /// The state after it.
    pub state: PlanState,
    /// The engine states inside the step (a restarting node is down), to check too.
    pub inner: Vec<ClusterState>,
    /// The events, in order (what `to_script` prints for the step; the tests compare).
    #[cfg_attr(not(test), allow(dead_code))]
    pub events: Vec<Event>,
}

#[cfg(test)]
impl Applied {
    /// The events as `whatif` script lines.
    pub fn script_lines(&self) -> Vec<String> {
        self.events.iter().map(ToString::to_string).collect()
    }
}

/// Everything fixed during one planning run.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    /// The files.
    pub files: FileTable,
    /// The nodes.
    pub universe: Universe,
    /// The options.
    pub options: PlanOptions,
    /// Whether Proxmox actions are used.
    pub proxmox: bool,
    /// Token plus consensus, the largest of the files (ms).
    pub membership_ms: u64,
    /// The state the plan starts from.
    pub start: PlanState,
    /// The quorum device the plan adds or removes, if any.
    pub qdevice: Option<QdevicePlan>,
    /// Proxmox: the target's nodes as pvecm adds them (`None` on plain clusters).
    pub pvecm: Option<PvecmInputs>,
}

impl Context {
    /// The context of `files`: the universe (source nodes first, then the target's new
    /// ones) and the start state (the source running everywhere, or nothing at all).
    pub fn new(files: FileTable, options: PlanOptions, proxmox: bool) -> Result<Context, Error> {
        let target = files.target();
        let target_entry = files.target().clone();
        let target_entry = &target_entry;
        let mut nodeids: Vec<NodeId> = Vec::new();
        if let Some(source) = files.source() {
            nodeids.extend(&source.nodeids);
        }
        for nodeid in &target.nodeids {
            if !nodeids.contains(nodeid) {
                nodeids.push(*nodeid);
            }
        }
        let qdevice = QdevicePlan::new(files.source(), target)?;
        if nodeids.len() > MAX_NODES {
            return Err(Error::TooManyNodes {
                count: nodeids.len(),
                max: MAX_NODES,
            });
        }
        let mut names = Vec::new();
        for nodeid in &nodeids {
            let in_target = target.node_name(*nodeid);
            let in_source = files.source().and_then(|source| source.node_name(*nodeid));
            if let (Some(new), Some(old)) = (in_target, in_source) {
                if new != old {
                    return Err(Error::Unsupported {
                        why: format!(
                            "node id {nodeid} is `{old}` in the source and `{new}` in the target: renaming a node is \
                             not planned; remove it and add it under its new name in two plans"
                        ),
                    });
                }
            }
            names.push(in_target.or(in_source).unwrap_or_default().to_string());
        }
        let mut cluster = match files.source() {
            Some(source) => ClusterState::from_config(&source.node_config),
            None => ClusterState::stopped(&model::quorum::QuorumSettings::plain(0)),
        }
        .map_err(|error| Error::TooManyNodes {
            count: error.count,
            max: MAX_NODES,
        })?;
        // Make every target node known to the engine (nodes new in the target have no
        // file yet): an install on nobody adopts the file's node ids.
        cluster.apply_event(&Event::Action(Action::InstallConfig {
            file: ConfigFile {
                name: target.name.clone(),
                config: target.node_config.clone(),
            },
            nodes: Vec::new(),
        }));
        if let Some(device) = &qdevice {
            // qnetd decides the device's vote from the start (`qnetd up` switches the engine
            // to it); when adding, no node runs corosync-qdevice yet; when removing or
            // keeping it, every running node's corosync-qdevice casts, as on the cluster.
            cluster.apply_event(&Event::Fault(Fault::Qnetd(QnetdChange::Up)));
            if device.adding() {
                cluster.apply_event(&Event::Action(Action::SetQdeviceVote {
                    on: false,
                    nodes: nodeids.iter().map(|nodeid| NodeRef::Id(*nodeid)).collect(),
                }));
            }
        }
        if cluster.nodeids() != nodeids.as_slice() {
            return Err(Error::Unsupported {
                why: "the engine ordered the nodes differently from the files (a node id listed twice?)"
                    .to_string(),
            });
        }
        let count = nodeids.len();
        let position_set = |listed: &dyn Fn(NodeId) -> bool| -> NodeSet {
            (0..count).filter(|pos| listed(nodeids[*pos])).collect()
        };
        let in_target = position_set(&|nodeid| target.lists(nodeid));
        let in_source = position_set(&|nodeid| files.source().is_some_and(|source| source.lists(nodeid)));
        let source_id = files.source.unwrap_or(NO_FILE);
        let running: Vec<FileId> = (0..count)
            .map(|pos| if cluster.is_up(pos) { source_id } else { NO_FILE })
            .collect();
        let disk: Vec<FileId> = (0..count)
            .map(|pos| {
                if in_source.contains(pos) {
                    source_id
                } else {
                    NO_FILE
                }
            })
            .collect();
        let certified = match &qdevice {
            Some(device) if !device.adding() => in_source,
            _ => NodeSet::EMPTY,
        };
        let start = PlanState {
            cluster,
            disk,
            boot: running.clone(),
            live: running,
            restarted: NodeSet::EMPTY,
            certified,
        };
        let membership_ms = files
            .entries
            .iter()
            .map(|entry| entry.membership_ms())
            .max()
            .unwrap_or(0);
        Ok(Context {
            universe: Universe {
                nodeids,
                names,
                in_target,
                in_source,
            },
            files,
            options,
            proxmox,
            membership_ms,
            start,
            qdevice,
            pvecm: proxmox.then(|| PvecmInputs::of(target_entry)),
        })
    }

    fn config_file(&self, file: FileId) -> Option<ConfigFile> {
        self.files.get(file).map(|entry| ConfigFile {
            name: entry.name.clone(),
            config: entry.node_config.clone(),
        })
    }

    /// The address a command names `pos` by: its lowest link's address in the target, else
    /// in the source.
    pub fn address_of(&self, pos: usize) -> Option<String> {
        let nodeid = *self.universe.nodeids.get(pos)?;
        let from_target = self
            .pvecm
            .as_ref()
            .and_then(|inputs| inputs.node(nodeid))
            .and_then(|node| node.addresses.values().next().cloned());
        from_target.or_else(|| {
            let source = self.files.source()?;
            source
                .node_config
                .totem()
                .addresses
                .iter()
                .filter(|(id, _, _)| *id == nodeid)
                .min_by_key(|(_, link, _)| *link)
                .map(|(_, _, address)| address.clone())
        })
    }

    fn name(&self, pos: usize) -> &str {
        self.universe.names.get(pos).map_or("?", String::as_str)
    }

    /// Whether the node at `pos` runs the target as the target says: started with it, or
    /// reloaded into it from a start file whose startup-only keys are the same.
    pub fn runs_target(&self, state: &PlanState, pos: usize) -> bool {
        if !state.cluster.is_up(pos) || state.disk[pos] != TARGET {
            return false;
        }
        if state.boot[pos] == TARGET {
            return true;
        }
        let (Some(boot), Some(target)) = (self.files.get(state.boot[pos]), self.files.get(TARGET)) else {
            return false;
        };
        state.live[pos] == TARGET && boot.startup_differences(target).is_empty()
    }

    /// Whether `state` is the target: every target node runs the target (and was restarted
    /// during the plan, for a rolling restart), every other node is stopped.
    pub fn is_goal(&self, state: &PlanState) -> bool {
        self.qdevice_done(state)
            && (0..self.universe.nodeids.len()).all(|pos| {
                if self.universe.in_target.contains(pos) {
                    self.runs_target(state, pos)
                        && (!self.options.rolling_restart || state.restarted.contains(pos))
                } else {
                    !state.cluster.is_up(pos)
                }
            })
    }

    /// Whether the quorum device change is done: adding or keeping it, every target node
    /// has its certificate and runs corosync-qdevice; removing, no node runs it.
    pub fn qdevice_done(&self, state: &PlanState) -> bool {
        match &self.qdevice {
            None => true,
            Some(device) if device.change != DeviceChange::Remove => self
                .universe
                .in_target
                .iter()
                .all(|pos| state.certified.contains(pos) && !state.cluster.qdevice_stopped(pos)),
            Some(_) => (0..self.universe.nodeids.len()).all(|pos| state.cluster.qdevice_stopped(pos)),
        }
    }

    /// A lower bound of the time left to the goal (consistent: no move lowers it by more
    /// than its cost): every target node that must still (re)start costs a start, a disk
    /// without the target costs a write, a dropped node still running costs a leave.
    pub fn heuristic(&self, state: &PlanState) -> u64 {
        let mut boots = 0u64;
        let mut needs_write = false;
        let mut leaves = 0u64;
        let target = self.files.target();
        for pos in 0..self.universe.nodeids.len() {
            if self.universe.in_target.contains(pos) {
                if state.disk[pos] != TARGET {
                    needs_write = true;
                }
                let up = state.cluster.is_up(pos);
                let startup_ok = self
                    .files
                    .get(state.boot[pos])
                    .is_some_and(|boot| boot.startup_differences(target).is_empty());
                if !up || !startup_ok || (self.options.rolling_restart && !state.restarted.contains(pos)) {
                    boots += 1;
                }
            } else if state.cluster.is_up(pos) {
                leaves += 1;
            }
        }
        boots * self.boot_ms() + leaves * self.leave_ms() + if needs_write { WRITE_MS } else { 0 }
    }

    /// Estimated duration of a start or restart.
    pub fn boot_ms(&self) -> u64 {
        self.membership_ms + STEP_MARGIN_MS
    }

    /// Estimated duration of a stop or leave.
    pub fn leave_ms(&self) -> u64 {
        self.membership_ms + STEP_MARGIN_MS
    }

    /// Estimated duration of `mv` from `before` to `after` (ms).
    /// A moment inside a reload where memberships differ from before it costs a membership
    /// change too (nodes drop out and come back while the others re-read their files).
    pub fn cost(&self, mv: &Move, before: &PlanState, applied: &Applied) -> u64 {
        let after = &applied.state;
        let changed = |cluster: &ClusterState| {
            (0..self.universe.nodeids.len()).any(|pos| before.cluster.ring(pos) != cluster.ring(pos))
        };
        let churn = if matches!(
            mv,
            Move::Reload { .. } | Move::WritePve { .. } | Move::PvecmAdd { .. } | Move::PvecmDelnode { .. }
        ) {
            applied.inner.iter().filter(|cluster| changed(cluster)).count() as u64 * self.membership_ms
        } else {
            0
        };
        let membership = churn
            + if changed(&after.cluster) {
                self.membership_ms
            } else {
                0
            };
        match mv {
            Move::Write { .. } => WRITE_MS,
            // pmxcfs waits a second before it reloads (spec 6.2).
            Move::WritePve { .. } => WRITE_MS + 1_000 + STEP_MARGIN_MS + membership,
            Move::Reload { .. } => STEP_MARGIN_MS + membership,
            Move::Start(_) => self.boot_ms(),
            // corosync-qdevice, restarted with corosync, connects again before the step ends.
            Move::Restart(nodes) if self.restarts_qdevice(before, *nodes) => {
                self.boot_ms() + QDEVICE_START_MS
            }
            Move::Restart(_) => self.boot_ms(),
            Move::Stop(_) | Move::Leave(_) => self.leave_ms(),
            Move::Certify(_) => CERTIFY_MS,
            Move::QdeviceStart(_) => QDEVICE_START_MS,
            Move::QdeviceStop(_) => STEP_MARGIN_MS,
            // Key generation and the file, then a start.
            Move::PvecmCreate { .. } => WRITE_MS + self.boot_ms(),
            // The cluster side's write and pmxcfs's reload a second later, then the join.
            Move::PvecmAdd { .. } => WRITE_MS + 1_000 + churn + self.boot_ms(),
            Move::PvecmDelnode { .. } => WRITE_MS + 1_000 + STEP_MARGIN_MS + membership,
        }
    }

    /// The moves worth trying from `state`.
    pub fn moves(&self, state: &PlanState) -> Vec<Move> {
        let count = self.universe.nodeids.len();
        let up = state.cluster.up_nodes();
        let mut moves = Vec::new();
        for (index, entry) in self.files.entries.iter().enumerate() {
            let Ok(file) = FileId::try_from(index) else {
                continue;
            };
            if Some(file) == self.files.source {
                continue;
            }
            let needing: NodeSet = (0..count)
                .filter(|pos| entry.lists(self.universe.nodeids[*pos]) && state.disk[*pos] != file)
                .filter(|pos| self.universe.in_target.contains(*pos) || up.contains(*pos))
                .collect();
            if needing.is_empty() {
                continue;
            }
            if self.proxmox {
                let running = needing.intersection(up);
                if let Some(via) = state.cluster.quorate_set().min() {
                    // Only pvecm changes who the nodelist lists (spec 6.4).
                    let same_nodes = self
                        .files
                        .get(state.disk[via])
                        .is_some_and(|current| current.nodeids_sorted() == entry.nodeids_sorted());
                    if !running.is_empty() && same_nodes {
                        let members = state.cluster.ring(via);
                        moves.push(Move::WritePve {
                            file,
                            nodes: members,
                            via,
                        });
                    }
                }
                // A member that is down gets the file locally; a node that joins gets it
                // from `pvecm add`.
                let down = needing.difference(up).intersection(self.universe.in_source);
                if !down.is_empty() {
                    moves.push(Move::Write { file, nodes: down });
                }
            } else {
                moves.push(Move::Write { file, nodes: needing });
            }
        }
        if let Some(via) = up.min() {
            if up.iter().any(|pos| state.disk[pos] != state.live[pos]) {
                moves.push(Move::Reload { via });
            }
        }
        let startable: NodeSet = (0..count)
            .filter(|pos| {
                !up.contains(*pos) && self.universe.in_target.contains(*pos) && state.disk[*pos] != NO_FILE
            })
            .collect();
        for pos in startable.iter() {
            moves.push(Move::Start(NodeSet::single(pos)));
        }
        if startable.len() > 1 {
            moves.push(Move::Start(startable));
        }
        for pos in up.iter() {
            if self.universe.in_target.contains(pos) {
                let stale = state.boot[pos] != state.disk[pos] || state.live[pos] != state.disk[pos];
                if stale || (self.options.rolling_restart && !state.restarted.contains(pos)) {
                    moves.push(Move::Restart(NodeSet::single(pos)));
                }
                if self.options.allow_outage {
                    moves.push(Move::Stop(NodeSet::single(pos)));
                }
            } else {
                moves.push(Move::Leave(NodeSet::single(pos)));
            }
        }
        self.qdevice_moves(state, &mut moves);
        self.pvecm_moves(state, &mut moves);
        moves
    }

    /// The pvecm moves of `state` (Proxmox): `pvecm create` on any target node while no
    /// node is in a cluster; `pvecm add` of a target node that never ran, through the
    /// lowest quorate member; `pvecm delnode` of a dropped node that is down and still
    /// listed, on the lowest quorate member.
    fn pvecm_moves(&self, state: &PlanState, moves: &mut Vec<Move>) {
        if self.pvecm.is_none() {
            return;
        }
        let count = self.universe.nodeids.len();
        let up = state.cluster.up_nodes();
        if up.is_empty() && state.disk.iter().all(|disk| *disk == NO_FILE) {
            for node in self.universe.in_target.iter() {
                moves.push(Move::PvecmCreate { node });
            }
        }
        let Some(via) = state.cluster.quorate_set().min() else {
            return;
        };
        let listed = self.files.get(state.disk[via]);
        for node in 0..count {
            let nodeid = self.universe.nodeids[node];
            if up.contains(node) || listed.is_none() {
                continue;
            }
            let in_file = listed.is_some_and(|entry| entry.lists(nodeid));
            if self.universe.in_target.contains(node)
                && !self.universe.in_source.contains(node)
                && state.disk[node] == NO_FILE
                && !in_file
            {
                moves.push(Move::PvecmAdd { node, via });
            }
            if !self.universe.in_target.contains(node) && in_file {
                moves.push(Move::PvecmDelnode { node, via });
            }
        }
    }

    /// The file pvecm leaves in /etc/pve when it runs `edit` on the file `via` has (the
    /// cluster-wide copy: pmxcfs keeps it the same on every member); `Err` with pvecm's
    /// refusal, or when the planner did not prepare that file.
    fn pvecm_file(
        &self,
        state: &PlanState,
        via: usize,
        edit: impl FnOnce(&PveConf) -> Result<PveConf, String>,
    ) -> Result<FileId, String> {
        let entry = self
            .files
            .get(state.disk[via])
            .ok_or_else(|| format!("{} has no corosync.conf", self.name(via)))?;
        let conf = PveConf::parse(&entry.text).map_err(|why| {
            format!(
                "pvecm cannot read {}'s /etc/pve/corosync.conf: {why}",
                self.name(via)
            )
        })?;
        let edited = edit(&conf).map_err(|why| format!("pvecm refuses: {why}"))?;
        self.files.find_text(&edited.to_text()).ok_or_else(|| {
            "pvecm would write a file corosync refuses on some node (or one the plan did not prepare)"
                .to_string()
        })
    }

    /// Installs `file` on `nodes` (an engine event) and records it on their disks.
    fn install(
        &self,
        next: &mut PlanState,
        events: &mut Vec<Event>,
        file: FileId,
        nodes: NodeSet,
    ) -> Result<(), String> {
        let event = Event::Action(Action::InstallConfig {
            file: self.config_file(file).ok_or("unknown file")?,
            nodes: self.universe.refs(nodes),
        });
        let outcome = next.cluster.apply_event(&event);
        if outcome.rejected {
            return Err(outcome.notes.join("; "));
        }
        events.push(event);
        for pos in nodes.iter() {
            next.disk[pos] = file;
        }
        Ok(())
    }

    /// Starts `node` with the file on its disk (the end of `pvecm create` and `pvecm add`).
    fn start_one(&self, next: &mut PlanState, events: &mut Vec<Event>, node: usize) -> Result<(), String> {
        if let Some(errors) = self
            .files
            .get(next.disk[node])
            .and_then(|entry| entry.refusal_on(self.universe.nodeids[node]))
        {
            let first = errors
                .first()
                .map_or(String::new(), |error| format!(": {}", error.message));
            return Err(format!(
                "{} refuses to start with the file pvecm writes{first}",
                self.name(node)
            ));
        }
        let event = Event::Action(Action::StartNodes(vec![NodeSpec {
            partition: None,
            nodes: self.universe.refs(NodeSet::single(node)),
        }]));
        let outcome = next.cluster.apply_event(&event);
        events.push(event);
        self.settled(&outcome, "after it")?;
        if !next.cluster.is_up(node) {
            return Err(self.explain_exit(next, node, &outcome.notes.join("; ")));
        }
        next.boot[node] = next.disk[node];
        next.live[node] = next.disk[node];
        next.restarted.insert(node);
        Ok(())
    }

    /// Applies a pvecm move (see `Move::PvecmCreate`, `PvecmAdd`, `PvecmDelnode`), with
    /// pvecm's refusals and the planner's own (a node is removed only once it is down).
    fn apply_pvecm(
        &self,
        state: &PlanState,
        mv: &Move,
        next: &mut PlanState,
        events: &mut Vec<Event>,
        inner: &mut Vec<ClusterState>,
    ) -> Result<(), String> {
        let inputs = self.pvecm.as_ref().ok_or("pvecm is for Proxmox VE plans")?;
        match mv {
            Move::PvecmCreate { node } => {
                if let Some(other) = (0..self.universe.nodeids.len())
                    .find(|pos| state.cluster.is_up(*pos) || state.disk[*pos] != NO_FILE)
                {
                    return Err(format!(
                        "{} is in a cluster already: pvecm create forms a new one (`cluster config '/etc/pve/corosync.conf' already exists`); join it with pvecm add",
                        self.name(other)
                    ));
                }
                let conf = inputs.create(self.universe.nodeids[*node])?;
                let file = self
                    .files
                    .find_text(&conf.to_text())
                    .ok_or("pvecm create would write a file corosync refuses")?;
                self.install(next, events, file, NodeSet::single(*node))?;
                self.start_one(next, events, *node)
            }
            Move::PvecmAdd { node, via } => {
                self.pvecm_member(state, *via, "addnode")?;
                if state.cluster.is_up(*node) {
                    return Err(format!(
                        "corosync runs on {}: pvecm add refuses (`corosync is already running, is this node already in a cluster?!`)",
                        self.name(*node)
                    ));
                }
                if state.disk[*node] != NO_FILE {
                    return Err(format!(
                        "{} has been in a cluster (its corosync.conf and authkey are there): pvecm add refuses (`authentication key '/etc/corosync/authkey' already exists`)",
                        self.name(*node)
                    ));
                }
                let joining = inputs
                    .node(self.universe.nodeids[*node])
                    .ok_or_else(|| format!("{} is not in the target", self.name(*node)))?;
                let file = self.pvecm_file(state, *via, |conf| conf.add_node(joining))?;
                let members = state.cluster.ring(*via);
                self.install(next, events, file, members)?;
                self.reload(next, events, inner)?;
                // The members count the new node before it runs: that moment is judged with
                // the node's file already written (pvecm writes it right after the member's
                // answer), so that after a fault there the node's start, which pvecm goes on
                // to do, is judged too (a pending start, `Safety::verdict_pending`: it reads
                // the node's file; without one it could not start at all).
                self.install(next, events, file, NodeSet::single(*node))?;
                inner.push(next.cluster.clone());
                self.start_one(next, events, *node)
            }
            Move::PvecmDelnode { node, via } => {
                if node == via {
                    return Err(
                        "pvecm refuses to remove the node it runs on (`Cannot delete myself from cluster!`)"
                            .to_string(),
                    );
                }
                self.pvecm_member(state, *via, "delnode")?;
                if state.cluster.is_up(*node) {
                    return Err(format!(
                        "{} still runs corosync: a node is removed only once it is powered off (Proxmox VE admin guide; pvecm delnode itself only sends it `corosync-cfgtool -k`, and a node that comes back with its old file rejoins pmxcfs: spec 6.4)",
                        self.name(*node)
                    ));
                }
                let name = self.name(*node).to_string();
                let file = self.pvecm_file(state, *via, |conf| conf.remove_node(&name))?;
                let members = state.cluster.ring(*via);
                self.install(next, events, file, members)?;
                self.reload(next, events, inner)
            }
            _ => Err("not a pvecm move".to_string()),
        }
    }

    /// `Err` unless `via` can run pvecm's cluster-side edit: it runs, is quorate
    /// (`check_cfs_quorum`), and every member of its ring has its file (pmxcfs).
    fn pvecm_member(&self, state: &PlanState, via: usize, what: &str) -> Result<(), String> {
        if !state.cluster.is_quorate(via) {
            return Err(format!(
                "{} is not quorate: pvecm {what} refuses (`cluster not ready - no quorum?`, spec 6.4, 6.5)",
                self.name(via)
            ));
        }
        if let Some(other) = state
            .cluster
            .ring(via)
            .iter()
            .find(|pos| state.disk[*pos] != state.disk[via])
        {
            return Err(format!(
                "{} and {} have different files: pmxcfs keeps /etc/pve/corosync.conf the same on every member",
                self.name(via),
                self.name(other)
            ));
        }
        Ok(())
    }

    /// The qdevice moves of `state`: adding, the certificates of every target node at once,
    /// then corosync-qdevice started on running certified nodes (one, or all together);
    /// removing, corosync-qdevice stopped (one, or all together); keeping, corosync-qdevice
    /// started again where it stopped with corosync.
    fn qdevice_moves(&self, state: &PlanState, moves: &mut Vec<Move>) {
        let Some(device) = &self.qdevice else {
            return;
        };
        let count = self.universe.nodeids.len();
        let up = state.cluster.up_nodes();
        let push_each_and_all = |moves: &mut Vec<Move>, set: NodeSet, make: fn(NodeSet) -> Move| {
            for pos in set.iter() {
                moves.push(make(NodeSet::single(pos)));
            }
            if set.len() > 1 {
                moves.push(make(set));
            }
        };
        if device.kept() {
            // A node whose corosync-qdevice stopped with corosync (`systemctl stop
            // corosync` stops it too, and a start of corosync does not start it again).
            let startable: NodeSet = up
                .intersection(state.certified)
                .iter()
                .filter(|pos| state.cluster.qdevice_stopped(*pos))
                .collect();
            push_each_and_all(moves, startable, Move::QdeviceStart);
        } else if device.adding() {
            let uncertified = self.universe.in_target.difference(state.certified);
            if !uncertified.is_empty() {
                moves.push(Move::Certify(uncertified));
            }
            let startable: NodeSet = up
                .intersection(state.certified)
                .iter()
                .filter(|pos| state.cluster.qdevice_stopped(*pos) && state.live[*pos] == TARGET)
                .collect();
            push_each_and_all(moves, startable, Move::QdeviceStart);
        } else {
            let running: NodeSet = (0..count)
                .filter(|pos| !state.cluster.qdevice_stopped(*pos))
                .collect();
            push_each_and_all(moves, running, Move::QdeviceStop);
        }
    }

    /// Applies `mv` to `state`: `Err` with the reason when real corosync refuses or fails
    /// it (a file refused on a node, a reload refused, a node that exits or cannot start).
    pub fn apply(&self, state: &PlanState, mv: &Move) -> Result<Applied, String> {
        let mut next = state.clone();
        let mut events = Vec::new();
        let mut inner = Vec::new();
        match mv {
            Move::Write { file, nodes } | Move::WritePve { file, nodes, .. } => {
                let entry = self.files.get(*file).ok_or("unknown file")?;
                for pos in nodes.iter() {
                    if !entry.lists(self.universe.nodeids[pos]) {
                        continue;
                    }
                    if let Some(errors) = entry.refusal_on(self.universe.nodeids[pos]) {
                        let first = errors
                            .first()
                            .map_or(String::new(), |error| format!(": {}", error.message));
                        return Err(format!(
                            "corosync refuses {} on {}{first}",
                            entry.name,
                            self.name(pos)
                        ));
                    }
                }
                if let Move::WritePve { via, .. } = mv {
                    if !state.cluster.is_quorate(*via) {
                        return Err(format!(
                            "{} is not quorate: pmxcfs refuses writes to /etc/pve without quorum (spec 6.5)",
                            self.name(*via)
                        ));
                    }
                }
                let event = Event::Action(Action::InstallConfig {
                    file: self.config_file(*file).ok_or("unknown file")?,
                    nodes: self.universe.refs(*nodes),
                });
                let outcome = next.cluster.apply_event(&event);
                if outcome.rejected {
                    return Err(outcome.notes.join("; "));
                }
                events.push(event);
                for pos in nodes.iter() {
                    next.disk[pos] = *file;
                }
                if matches!(mv, Move::WritePve { .. }) {
                    self.reload(&mut next, &mut events, &mut inner)?;
                }
            }
            Move::Reload { via } => {
                if !state.cluster.is_up(*via) {
                    return Err(format!(
                        "{} is not running: corosync-cfgtool -R fails",
                        self.name(*via)
                    ));
                }
                self.reload(&mut next, &mut events, &mut inner)?;
            }
            Move::Start(nodes) | Move::Restart(nodes) => {
                for pos in nodes.iter() {
                    let Some(entry) = self.files.get(state.disk[pos]) else {
                        return Err(format!(
                            "{} has no corosync.conf: it cannot start",
                            self.name(pos)
                        ));
                    };
                    if let Some(errors) = entry.refusal_on(self.universe.nodeids[pos]) {
                        let first = errors
                            .first()
                            .map_or(String::new(), |error| format!(": {}", error.message));
                        return Err(format!(
                            "{} refuses to start with {}{first}",
                            self.name(pos),
                            entry.name
                        ));
                    }
                }
                let event = if matches!(mv, Move::Start(_)) {
                    Event::Action(Action::StartNodes(vec![NodeSpec {
                        partition: None,
                        nodes: self.universe.refs(*nodes),
                    }]))
                } else {
                    let mut down = state.cluster.clone();
                    let outcome =
                        down.apply_event(&Event::Fault(Fault::CrashNodes(self.universe.refs(*nodes))));
                    self.settled(&outcome, "while it runs")?;
                    inner.push(down);
                    if let Some(back) = self.back_before_qdevice(state, *nodes)? {
                        inner.push(back);
                    }
                    Event::Action(Action::RestartNodes(self.universe.refs(*nodes)))
                };
                let outcome = next.cluster.apply_event(&event);
                events.push(event);
                self.settled(&outcome, "after it")?;
                if let Some(pos) = nodes.iter().find(|pos| !next.cluster.is_up(*pos)) {
                    let why = outcome
                        .notes
                        .iter()
                        .find(|note| note.contains(&format!("node {}", self.universe.nodeids[pos])))
                        .cloned()
                        .unwrap_or_else(|| outcome.notes.join("; "));
                    return Err(self.explain_exit(state, pos, &why));
                }
                for pos in nodes.iter() {
                    next.boot[pos] = next.disk[pos];
                    next.live[pos] = next.disk[pos];
                    next.restarted.insert(pos);
                }
            }
            Move::Certify(nodes) => {
                next.certified = next.certified.union(*nodes);
            }
            Move::QdeviceStart(nodes) | Move::QdeviceStop(nodes) => {
                let on = matches!(mv, Move::QdeviceStart(_));
                if on {
                    if let Some(pos) = nodes.iter().find(|pos| !state.certified.contains(*pos)) {
                        return Err(format!(
                            "{} has no qdevice certificate: corosync-qdevice cannot connect to qnetd (tls on)",
                            self.name(pos)
                        ));
                    }
                }
                let event = Event::Action(Action::SetQdeviceVote {
                    on,
                    nodes: self.universe.refs(*nodes),
                });
                let outcome = next.cluster.apply_event(&event);
                if outcome.rejected {
                    return Err(outcome.notes.join("; "));
                }
                self.settled(&outcome, "after it")?;
                events.push(event);
            }
            Move::PvecmCreate { .. } | Move::PvecmAdd { .. } | Move::PvecmDelnode { .. } => {
                self.apply_pvecm(state, mv, &mut next, &mut events, &mut inner)?;
            }
            Move::Stop(nodes) | Move::Leave(nodes) => {
                let event = Event::Action(Action::StopNodes(self.universe.refs(*nodes)));
                let outcome = next.cluster.apply_event(&event);
                self.settled(&outcome, "after it")?;
                events.push(event);
                if next.cluster.qnetd_modelled() {
                    // `systemctl stop corosync` stops corosync-qdevice too (its unit
                    // `Requires=corosync.service`), and a later `systemctl start corosync`
                    // does not start it again: the daemon is stopped until `start_qdevice`.
                    let event = Event::Action(Action::SetQdeviceVote {
                        on: false,
                        nodes: self.universe.refs(*nodes),
                    });
                    let outcome = next.cluster.apply_event(&event);
                    if outcome.rejected {
                        return Err(outcome.notes.join("; "));
                    }
                    events.push(event);
                }
                for pos in nodes.iter() {
                    next.boot[pos] = NO_FILE;
                    next.live[pos] = NO_FILE;
                }
            }
        }
        Ok(Applied {
            state: next,
            inner,
            events,
        })
    }

    /// The moment inside a restart of `nodes` when corosync runs again but the
    /// corosync-qdevice systemd restarted with it (its unit has `Requires=corosync.service`,
    /// so `systemctl restart corosync` restarts it) has not connected to qnetd yet: the
    /// node is a member without the device's vote. `None` unless qnetd decides the vote and
    /// some restarting node's daemon runs. Built by the engine: the daemon stopped
    /// (`qdevice off`), then the restart.
    fn back_before_qdevice(&self, state: &PlanState, nodes: NodeSet) -> Result<Option<ClusterState>, String> {
        if !self.restarts_qdevice(state, nodes) {
            return Ok(None);
        }
        let mut back = state.cluster.clone();
        let outcome = back.apply_event(&Event::Action(Action::SetQdeviceVote {
            on: false,
            nodes: self.universe.refs(nodes),
        }));
        if outcome.rejected {
            return Ok(None);
        }
        let outcome = back.apply_event(&Event::Action(Action::RestartNodes(self.universe.refs(nodes))));
        self.settled(
            &outcome,
            "while it runs (corosync back, its corosync-qdevice not connected yet)",
        )?;
        Ok(nodes.iter().all(|pos| back.is_up(pos)).then_some(back))
    }

    /// Whether a restart of `nodes` in `state` restarts a corosync-qdevice that casts the
    /// device's vote (qnetd decides it and some node's daemon runs).
    pub fn restarts_qdevice(&self, state: &PlanState, nodes: NodeSet) -> bool {
        state.cluster.qnetd_modelled()
            && nodes
                .iter()
                .any(|pos| state.cluster.is_up(pos) && !state.cluster.qdevice_stopped(pos))
    }

    /// `Err` when the step leaves some nodes in a partial mesh (spec 3.3): totem cannot
    /// settle on a membership there, so nothing about the state can be proven.
    fn settled(&self, outcome: &model::quorum::StepOutcome, label: &str) -> Result<(), String> {
        match outcome.unstable.first() {
            None => Ok(()),
            Some(group) => {
                let names: Vec<String> = group
                    .nodes
                    .iter()
                    .filter_map(|nodeid| self.universe.nodeids.iter().position(|id| id == nodeid))
                    .map(|pos| self.name(pos).to_string())
                    .collect();
                Err(format!(
                    "{label}, {} form a partial mesh (some pairs cannot talk: one's nodelist does not list the other, or lists another address); their membership is undefined (spec 3.3)",
                    names.join(", ")
                ))
            }
        }
    }

    /// Why the node at `pos` is not running after a start: the config_version exit in the
    /// planner's words, or the engine's note.
    fn explain_exit(&self, state: &PlanState, pos: usize, note: &str) -> String {
        if note.contains("config version") {
            let own = self
                .files
                .get(state.disk[pos])
                .map_or(0, |entry| entry.config_version());
            let highest = (0..self.universe.nodeids.len())
                .filter(|other| state.cluster.is_up(*other))
                .map(|other| state.cluster.running_config_version(other))
                .max()
                .unwrap_or(0);
            return format!(
                "{} (config_version {own}) exits when it joins members at {highest} (spec 5.4)",
                self.name(pos)
            );
        }
        format!("{} does not start: {note}", self.name(pos))
    }

    /// `corosync-cfgtool -R`: refused (as a whole) when a running node would refuse its
    /// file; otherwise every running node's live file becomes its disk file.
    fn reload(
        &self,
        next: &mut PlanState,
        events: &mut Vec<Event>,
        inner: &mut Vec<ClusterState>,
    ) -> Result<(), String> {
        if let Some(device) = self.qdevice.as_ref().filter(|device| device.adding()) {
            let gains_device = next.cluster.up_nodes().iter().any(|pos| {
                next.disk[pos] != next.live[pos]
                    && self
                        .files
                        .get(next.disk[pos])
                        .is_some_and(|entry| entry.settings().device.is_some())
            });
            let uncertified = self.universe.in_target.difference(next.certified);
            if gains_device && !uncertified.is_empty() {
                return Err(format!(
                    "the reload raises expected votes by the device's votes, which no node casts until its corosync-qdevice runs, and that needs the certificates from {} first: {} lack them, so the certificate exchange would sit in the window without margin",
                    device.host,
                    self.universe.names_of(uncertified).join(", ")
                ));
            }
        }
        inner.extend(self.reload_moments(next)?);
        for pos in next.cluster.up_nodes().iter() {
            let (Some(running), Some(disk)) =
                (next.cluster.running_config(pos), next.cluster.disk_config(pos))
            else {
                return Err(format!("{} has no corosync.conf to re-read", self.name(pos)));
            };
            if let Some(refusal) = running.reload_refusal(disk) {
                return Err(format!("{} refuses the reload: {refusal}", self.name(pos)));
            }
        }
        let event = Event::Action(Action::ReloadConfig { file: None });
        let outcome = next.cluster.apply_event(&event);
        if outcome.rejected {
            return Err(outcome.notes.join("; "));
        }
        self.settled(&outcome, "after it")?;
        events.push(event);
        for pos in next.cluster.up_nodes().iter() {
            next.live[pos] = next.disk[pos];
        }
        Ok(())
    }

    /// The moments inside a reload: every node re-reads its file at its own time, so for
    /// each running node with a new file, the state where it alone has reloaded (the others
    /// still run their files). Empty when at most one node has something to re-read.
    fn reload_moments(&self, state: &PlanState) -> Result<Vec<ClusterState>, String> {
        let up = state.cluster.up_nodes();
        let changing: Vec<usize> = up
            .iter()
            .filter(|pos| state.disk[*pos] != state.live[*pos])
            .collect();
        if changing.len() < 2 {
            return Ok(Vec::new());
        }
        let mut moments = Vec::new();
        for pos in &changing {
            let mut cluster = state.cluster.clone();
            for other in changing.iter().filter(|other| *other != pos) {
                let Some(file) = self.config_file(state.live[*other]) else {
                    continue;
                };
                cluster.apply_event(&Event::Action(Action::InstallConfig {
                    file,
                    nodes: vec![NodeRef::Id(self.universe.nodeids[*other])],
                }));
            }
            let outcome = cluster.apply_event(&Event::Action(Action::ReloadConfig { file: None }));
            if !outcome.rejected {
                self.settled(
                    &outcome,
                    &format!(
                        "while it runs (when only {} has re-read its file)",
                        self.name(*pos)
                    ),
                )?;
                moments.push(cluster);
            }
        }
        Ok(moments)
    }

    /// The move in words, for rejected orders and reasons.
    pub fn describe(&self, mv: &Move) -> String {
        let names = |set: NodeSet| self.universe.names_of(set).join(", ");
        match mv {
            Move::Write { file, nodes } => format!(
                "write {} on {}",
                self.files.get(*file).map_or("?", |entry| entry.name.as_str()),
                names(*nodes)
            ),
            Move::WritePve { file, via, .. } => format!(
                "write {} to /etc/pve on {}",
                self.files.get(*file).map_or("?", |entry| entry.name.as_str()),
                self.name(*via)
            ),
            Move::Reload { .. } => "reload".to_string(),
            Move::Start(nodes) => format!("start {}", names(*nodes)),
            Move::Restart(nodes) => format!("restart {}", names(*nodes)),
            Move::Stop(nodes) => format!("stop {}", names(*nodes)),
            Move::Leave(nodes) => format!("{} leaves", names(*nodes)),
            Move::Certify(nodes) => format!("set up the qdevice certificates on {}", names(*nodes)),
            Move::QdeviceStart(nodes) => format!("start corosync-qdevice on {}", names(*nodes)),
            Move::QdeviceStop(nodes) => format!("stop corosync-qdevice on {}", names(*nodes)),
            Move::PvecmCreate { node } => format!("pvecm create on {}", self.name(*node)),
            Move::PvecmAdd { node, via } => {
                format!("pvecm add {} through {}", self.name(*node), self.name(*via))
            }
            Move::PvecmDelnode { node, via } => {
                format!("pvecm delnode {} on {}", self.name(*node), self.name(*via))
            }
        }
    }
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind())
    }
}
