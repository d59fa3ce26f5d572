//! What-if scenarios: a script of events run against the votequorum engine, reported as data.
//!
//! Owns `evaluate` and the report types (`Report`, `StepReport`, `NodeRow`,
//! `ProxmoxConsequence`, `UnstableGroupReport`) and `WhatifError`. The votequorum semantics
//! live in `model::quorum` and the script language in `model::scenario`; this module only
//! drives them step by step, checks that the script names known nodes, and derives what each
//! state means (split-brain, unstable memberships, Proxmox consequences, spec 6.5-6.6). Each
//! step runs through `ClusterState::apply_with_orders`, so a row also says whether its
//! quorate flag depends on the ring change's message delivery order.
//! It must not do IO: a `reload FILE` is resolved by the caller's `reload` closure, and
//! nothing is rendered here (the binary renders tables and JSON).

use model::quorum::{ClusterState, NodeId, NodeView, QuorumFlags, QuorumSettings, TooManyNodes};
use model::scenario::{self, LinkScope, NodeRef, Script, ScriptError, Step};
use serde::Serialize;

/// How long an HA-managed Proxmox node survives without quorum: the watchdog-mux client
/// timeout (spec 6.6, `CLIENT_WATCHDOG_TIMEOUT`).
pub const PVE_SELF_FENCE_MS: u64 = 60_000;

/// How long until the quorate side recovers a lost node's HA services: the agent lock
/// lifetime that `fence_node` must wait out (spec 6.6, 120 s after the last renewal).
pub const PVE_RECOVERY_MS: u64 = 120_000;

/// Options of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WhatifOptions {
    /// Add Proxmox VE consequences (pmxcfs read-only, HA self-fencing) to every node row.
    pub proxmox: bool,
}

/// A scenario that cannot be run: the script does not parse, names an unknown node, or a
/// `reload FILE` cannot be used. Every variant names the line and column of the script.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WhatifError {
    /// The script does not parse.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A step names a node that is neither a node id nor a name of the configuration.
    #[error("line {line}, column {column}: unknown node `{node}` in `{command}` (known: {known})")]
    UnknownNode {
        /// 1-based line.
        line: u32,
        /// 1-based column of the node token.
        column: u32,
        /// The node as written.
        node: String,
        /// The step as written.
        command: String,
        /// The node ids and names the configuration has.
        known: String,
    },
    /// `reload FILE`: the caller could not provide settings for FILE.
    #[error("line {line}, column {column}: cannot reload `{file}`: {reason}")]
    Reload {
        /// 1-based line.
        line: u32,
        /// 1-based column of the file token.
        column: u32,
        /// The file as written in the script.
        file: String,
        /// Why (unreadable, not a corosync.conf, ...).
        reason: String,
    },
    /// The configuration has more node ids than the engine models.
    #[error(transparent)]
    TooManyNodes(#[from] TooManyNodes),
    /// A step names something the cluster does not have at that point, or contradicts
    /// itself (see `script_check`).
    #[error("line {line}, column {column}: `{command}` is refused: {problem}")]
    Refused {
        /// 1-based line.
        line: u32,
        /// 1-based column of the offending token.
        column: u32,
        /// The step as written.
        command: String,
        /// What is wrong.
        problem: crate::script_check::StepProblem,
    },
}

impl WhatifError {
    /// `(line, column)` in the script, when the error is about a place in it.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            WhatifError::Script(error) => Some((error.line, error.column)),
            WhatifError::UnknownNode { line, column, .. }
            | WhatifError::Reload { line, column, .. }
            | WhatifError::Refused { line, column, .. } => Some((*line, *column)),
            WhatifError::TooManyNodes(_) => None,
        }
    }

    /// The message without the position prefix.
    pub fn detail(&self) -> String {
        match self {
            WhatifError::Script(error) => format!("expected {}, found {}", error.expected, error.found),
            WhatifError::UnknownNode {
                node, command, known, ..
            } => format!("unknown node `{node}` in `{command}` (known: {known})"),
            WhatifError::Reload { file, reason, .. } => format!("cannot reload `{file}`: {reason}"),
            WhatifError::TooManyNodes(error) => error.to_string(),
            WhatifError::Refused { command, problem, .. } => format!("`{command}` is refused: {problem}"),
        }
    }
}

/// A group of running nodes without a stable membership (partial mesh, spec 3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnstableGroupReport {
    /// Every node of the group.
    pub nodes: Vec<NodeId>,
    /// The memberships corosync may settle on, one at a time (maximal cliques).
    pub candidates: Vec<Vec<NodeId>>,
}

/// What a node's state means on Proxmox VE (spec 6.5 and 6.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxmoxConsequence {
    /// `/etc/pve` (pmxcfs): `read-write` when quorate, `read-only` when inquorate,
    /// `unavailable` when corosync does not run.
    pub etc_pve: &'static str,
    /// An HA-managed node self-fences (watchdog reset) if it stays like this: it lost quorum
    /// after having had it, so its LRM cannot renew its agent lock.
    pub self_fence: bool,
    /// Model time left before that self-fence (0: it has fenced by now); `None` when no
    /// self-fence is pending.
    pub self_fence_in_ms: Option<u64>,
    /// One sentence for humans.
    pub summary: String,
}

/// One node after one step: `corosync-quorumtool -s` plus the partition and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    /// Node id.
    pub nodeid: NodeId,
    /// Node name (`name`, or `ring0_addr`).
    pub name: String,
    /// Whether corosync runs.
    pub up: bool,
    /// The script partition the node is in (`split P:N`); `None` when down.
    pub partition: Option<u8>,
    /// Current membership, ascending node ids (empty when down).
    pub members: Vec<NodeId>,
    /// Quorate.
    pub quorate: bool,
    /// Own votes.
    pub votes: u32,
    /// Own expected votes.
    pub expected_votes: u32,
    /// Highest expected votes among members.
    pub highest_expected: u32,
    /// Quorum (as corosync stores it, modulo 256).
    pub quorum: u32,
    /// Votes counted.
    pub total_votes: u32,
    /// Flags in force, by their snake_case names (`two_node`, `wait_for_all`,
    /// `wait_for_all_status`, `last_man_standing`, `last_man_standing_timer`,
    /// `auto_tie_breaker`, `allow_downscale`, `qdevice_cast_vote`).
    pub flags: Vec<&'static str>,
    /// Why the node is (in)quorate, e.g. `2 of 3 votes >= quorum 2`.
    pub why: String,
    /// `quorate` depends on the totem delivery order of this step's ring change (the
    /// engine's answer is for ascending node ids; real corosync may show either value, by
    /// timing). See `model::quorum::ClusterState::apply_with_orders`.
    pub order_dependent: bool,
    /// Proxmox consequences, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxmox: Option<ProxmoxConsequence>,
}

/// The state after one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The step as written in the script (`start` for the initial state).
    pub command: String,
    /// 1-based line of the step in the script (`None` for `start`).
    pub line: Option<u32>,
    /// Model time after the step, in ms (moves only with `wait`).
    pub time_ms: u64,
    /// Two disjoint memberships are quorate at once.
    pub split_brain: bool,
    /// Some totem delivery order of this step's ring changes makes two disjoint memberships
    /// quorate at once (`split_brain` is the answer for ascending node ids).
    pub split_brain_possible: bool,
    /// Some group has no stable membership (corosync will flap there).
    pub unstable: bool,
    /// The unstable groups and their candidate memberships.
    pub unstable_memberships: Vec<UnstableGroupReport>,
    /// The quorate memberships, distinct, ascending.
    pub quorate_memberships: Vec<Vec<NodeId>>,
    /// The step (or part of it) was refused (for example `expected` rejected by corosync).
    pub rejected: bool,
    /// Remarks from the engine and, with Proxmox, cluster-wide consequences.
    pub notes: Vec<String>,
    /// One row per node of the configuration (and of earlier configurations).
    pub nodes: Vec<NodeRow>,
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The error that makes corosync refuse to start with this configuration (exit 20);
    /// every node then stays down.
    pub startup_error: Option<String>,
    /// Some step is split-brain.
    pub split_brain: bool,
    /// Some step is unstable.
    pub unstable: bool,
    /// `start`, then one report per step.
    pub steps: Vec<StepReport>,
}

/// Per-node memory across steps, for the Proxmox HA consequences.
#[derive(Clone, Copy, Debug, Default)]
struct HaTrack {
    /// Has been quorate since corosync (re)started: its LRM may be active with a watchdog.
    armed: bool,
    /// Model time at which it lost quorum while armed.
    lost_at: Option<u64>,
    /// Model time of its last agent lock renewal before it went down (when it lost quorum,
    /// or when it went down while quorate): recovery on the quorate side counts from there.
    down_at: Option<u64>,
}

/// Runs `script_text` against a cluster configured by `settings`, all configured nodes
/// started together (as corosync-vqsim starts). `reload` maps a `reload FILE` argument (as
/// written) to the settings read from that file; it is the only way files enter here.
///
/// The report starts with the state `start`, then has one entry per step.
pub fn evaluate(
    settings: &QuorumSettings,
    script_text: &str,
    options: &WhatifOptions,
    reload: &mut dyn FnMut(&str) -> Result<QuorumSettings, String>,
) -> Result<Report, WhatifError> {
    let script = scenario::parse(script_text)?;
    let commands = command_texts(script_text, &script);
    let mut current = settings.clone();
    let mut state = ClusterState::new(&current)?;
    let mut tracks: Vec<HaTrack> = Vec::new();
    let startup = model::quorum::startup_error(&current).map(str::to_string);
    let mut start_notes = Vec::new();
    if let Some(error) = &startup {
        start_notes.push(format!(
            "corosync refuses to start on every node (exit 20): {error}; every node stays down"
        ));
    }
    let start = snapshot(
        &state,
        &current,
        options,
        &mut tracks,
        &[],
        Snapshot {
            command: "start".to_string(),
            line: None,
            split_brain: state.split_brain(),
            split_brain_possible: state.split_brain(),
            order_dependent: Vec::new(),
            unstable: Vec::new(),
            rejected: false,
            notes: start_notes,
        },
    );
    let mut steps = vec![start];
    for (index, step) in script.steps.iter().enumerate() {
        let (line, column) = script.positions.get(index).copied().unwrap_or((0, 0));
        let command = commands.get(index).cloned().unwrap_or_else(|| step.to_string());
        let source = crate::script_check::step_source(script_text, line, column);
        let refused = |refusal: crate::script_check::Refusal| WhatifError::Refused {
            line,
            column: column + refusal.offset,
            command: command.clone(),
            problem: refusal.problem,
        };
        crate::script_check::check_names(&state, &current, step, &source).map_err(refused)?;
        check_nodes(&state, &current, step, line, column, &command)?;
        crate::script_check::check_step(&state, &current, step, &source).map_err(refused)?;
        // `reload FILE` and `install FILE on N` carry the file's content (the per-node
        // form: with the same file everywhere it is the whole-cluster one).
        let mut read_file = None;
        if let Step::Reload { file: Some(file) } | Step::Install { file, .. } = step {
            let settings = reload(file).map_err(|reason| WhatifError::Reload {
                line,
                column: column + token_offset(&command, file),
                file: file.clone(),
                reason,
            })?;
            if matches!(step, Step::Reload { .. }) {
                current = settings.clone();
            }
            read_file = Some(model::quorum::NodeConfig::from_settings(&settings));
        }
        let event = model::action::Event::from_step(step, &mut |_: &str| {
            read_file.clone().ok_or("no file was read for this step")
        })
        .map_err(|error| WhatifError::Reload {
            line,
            column,
            file: error.file,
            reason: error.reason,
        })?;
        let restarted = restarted_ids(&state, &current, step);
        let outcome = state.apply_event_with_orders(&event);
        let unstable = outcome
            .unstable
            .iter()
            .map(|group| UnstableGroupReport {
                nodes: group.nodes.clone(),
                candidates: group.candidates.clone(),
            })
            .collect();
        steps.push(snapshot(
            &state,
            &current,
            options,
            &mut tracks,
            &restarted,
            Snapshot {
                command,
                line: Some(line),
                split_brain: outcome.split_brain,
                split_brain_possible: outcome.split_brain_possible,
                order_dependent: outcome.order_dependent,
                unstable,
                rejected: outcome.rejected,
                notes: outcome.notes,
            },
        ));
    }
    Ok(Report {
        startup_error: startup,
        split_brain: steps.iter().any(|step| step.split_brain),
        unstable: steps.iter().any(|step| step.unstable),
        steps,
    })
}

/// What the engine said about one step, before it becomes a `StepReport`.
struct Snapshot {
    command: String,
    line: Option<u32>,
    split_brain: bool,
    split_brain_possible: bool,
    order_dependent: Vec<NodeId>,
    unstable: Vec<UnstableGroupReport>,
    rejected: bool,
    notes: Vec<String>,
}

fn snapshot(
    state: &ClusterState,
    settings: &QuorumSettings,
    options: &WhatifOptions,
    tracks: &mut Vec<HaTrack>,
    restarted: &[NodeId],
    snap: Snapshot,
) -> StepReport {
    let views = state.views(settings);
    let now = state.now_ms();
    tracks.resize(views.len(), HaTrack::default());
    let any_quorate = views.iter().any(|view| view.quorate);
    let mut nodes = Vec::with_capacity(views.len());
    let mut quorate_memberships: Vec<Vec<NodeId>> = Vec::new();
    for (pos, view) in views.into_iter().enumerate() {
        if view.quorate && !quorate_memberships.contains(&view.members) {
            quorate_memberships.push(view.members.clone());
        }
        let track = &mut tracks[pos];
        if restarted.contains(&view.nodeid) {
            *track = HaTrack::default();
        }
        update_track(track, &view, now);
        let proxmox = options
            .proxmox
            .then(|| consequence(track, &view, now, any_quorate));
        let flapping = snap
            .unstable
            .iter()
            .any(|group| group.nodes.contains(&view.nodeid));
        let order_dependent = snap.order_dependent.contains(&view.nodeid);
        let mut node_row = row(state, pos, view, proxmox);
        node_row.order_dependent = order_dependent;
        if flapping {
            node_row.why.push_str(" (unstable: previous state kept)");
        }
        nodes.push(node_row);
    }
    quorate_memberships.sort();
    let mut notes = snap.notes;
    if options.proxmox {
        proxmox_notes(&mut notes, snap.split_brain, &snap.unstable, &quorate_memberships);
    }
    StepReport {
        command: snap.command,
        line: snap.line,
        time_ms: now,
        split_brain: snap.split_brain,
        split_brain_possible: snap.split_brain_possible,
        unstable: !snap.unstable.is_empty(),
        unstable_memberships: snap.unstable,
        quorate_memberships,
        rejected: snap.rejected,
        notes,
        nodes,
    }
}

fn update_track(track: &mut HaTrack, view: &NodeView, now: u64) {
    if !view.up {
        if track.down_at.is_none() {
            // Its agent lock was last renewed when it lost quorum, or now if it still had it.
            track.down_at = Some(track.lost_at.unwrap_or(now));
        }
        track.armed = false;
        track.lost_at = None;
        return;
    }
    track.down_at = None;
    if view.quorate {
        track.armed = true;
        track.lost_at = None;
    } else if track.armed && track.lost_at.is_none() {
        track.lost_at = Some(now);
    }
}

fn consequence(track: &HaTrack, view: &NodeView, now: u64, any_quorate: bool) -> ProxmoxConsequence {
    if !view.up {
        let summary = if any_quorate {
            let since = now.saturating_sub(track.down_at.unwrap_or(now));
            let left = PVE_RECOVERY_MS.saturating_sub(since);
            if left == 0 {
                "corosync down; its HA services have been recovered on the quorate side".to_string()
            } else {
                format!(
                    "corosync down; the quorate side recovers its HA services in about {} s \
                     (fence delay 60 s, agent lock expiry 120 s)",
                    left.div_ceil(1000)
                )
            }
        } else {
            "corosync down; no quorate partition, so nobody recovers its HA services".to_string()
        };
        return ProxmoxConsequence {
            etc_pve: "unavailable",
            self_fence: false,
            self_fence_in_ms: None,
            summary,
        };
    }
    if view.quorate {
        return ProxmoxConsequence {
            etc_pve: "read-write",
            self_fence: false,
            self_fence_in_ms: None,
            summary: "/etc/pve writable; HA active (watchdog fed)".to_string(),
        };
    }
    match track.lost_at {
        Some(lost) => {
            let since = now.saturating_sub(lost);
            let left = PVE_SELF_FENCE_MS.saturating_sub(since);
            let mut summary = if left == 0 {
                "/etc/pve read-only; an HA-managed node has self-fenced by now (watchdog reset)".to_string()
            } else {
                format!(
                    "/etc/pve read-only; an HA-managed node self-fences in about {} s (watchdog)",
                    left.div_ceil(1000)
                )
            };
            if any_quorate {
                let recovery = PVE_RECOVERY_MS.saturating_sub(since);
                if recovery == 0 {
                    summary.push_str("; its HA services have been recovered on the quorate side");
                } else {
                    summary.push_str(&format!(
                        "; the quorate side recovers its HA services in about {} s",
                        recovery.div_ceil(1000)
                    ));
                }
            }
            ProxmoxConsequence {
                etc_pve: "read-only",
                self_fence: true,
                self_fence_in_ms: Some(left),
                summary,
            }
        }
        None => ProxmoxConsequence {
            etc_pve: "read-only",
            self_fence: false,
            self_fence_in_ms: None,
            summary: "/etc/pve read-only; HA waits for quorum (never quorate since start, no self-fence)"
                .to_string(),
        },
    }
}

fn proxmox_notes(
    notes: &mut Vec<String>,
    split_brain: bool,
    unstable: &[UnstableGroupReport],
    quorate_memberships: &[Vec<NodeId>],
) {
    if split_brain {
        notes.push(format!(
            "proxmox: /etc/pve is writable in {} partitions at once; pmxcfs diverges and HA may run \
             the same guest twice",
            quorate_memberships.len()
        ));
    }
    if !unstable.is_empty() {
        notes.push(
            "proxmox: with a flapping membership pmxcfs loses quorum again and again; HA nodes may \
             self-fence"
                .to_string(),
        );
    }
}

fn row(state: &ClusterState, pos: usize, view: NodeView, proxmox: Option<ProxmoxConsequence>) -> NodeRow {
    NodeRow {
        nodeid: view.nodeid,
        name: view.name,
        up: view.up,
        partition: if view.up { state.partition(pos) } else { None },
        members: view.members,
        quorate: view.quorate,
        votes: view.votes,
        expected_votes: view.expected_votes,
        highest_expected: view.highest_expected,
        quorum: view.quorum,
        total_votes: view.total_votes,
        flags: flag_names(&view.flags),
        why: view.why,
        order_dependent: false,
        proxmox,
    }
}

/// The names of the flags in force, in a fixed order.
pub fn flag_names(flags: &QuorumFlags) -> Vec<&'static str> {
    [
        (flags.two_node, "two_node"),
        (flags.wait_for_all, "wait_for_all"),
        (flags.wait_for_all_status, "wait_for_all_status"),
        (flags.last_man_standing, "last_man_standing"),
        (flags.last_man_standing_timer, "last_man_standing_timer"),
        (flags.auto_tie_breaker, "auto_tie_breaker"),
        (flags.allow_downscale, "allow_downscale"),
        (flags.qdevice_cast_vote, "qdevice_cast_vote"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// The node references a step makes.
fn step_nodes(step: &Step) -> Vec<&NodeRef> {
    match step {
        Step::Up(specs) | Step::Move(specs) => specs.iter().flat_map(|spec| spec.nodes.iter()).collect(),
        Step::Down(nodes) | Step::Restart(nodes) | Step::Stop(nodes) => nodes.iter().collect(),
        Step::Qdevice { nodes, .. } => nodes.iter().collect(),
        Step::Link { scope, .. } => match scope {
            LinkScope::All => Vec::new(),
            LinkScope::Nodes(nodes) => nodes.iter().collect(),
            LinkScope::Between(a, b) => vec![a, b],
        },
        Step::Isolate(node) => vec![node],
        Step::Expected { node, .. } => vec![node],
        _ => Vec::new(),
    }
}

fn resolve_id(state: &ClusterState, settings: &QuorumSettings, node: &NodeRef) -> Option<NodeId> {
    match node {
        NodeRef::Id(nodeid) => state.position(*nodeid).map(|_| *nodeid),
        NodeRef::Name(name) => settings
            .nodes
            .iter()
            .find(|entry| entry.name == *name)
            .map(|entry| entry.nodeid)
            .filter(|nodeid| state.position(*nodeid).is_some()),
    }
}

fn check_nodes(
    state: &ClusterState,
    settings: &QuorumSettings,
    step: &Step,
    line: u32,
    column: u32,
    command: &str,
) -> Result<(), WhatifError> {
    for node in step_nodes(step) {
        if resolve_id(state, settings, node).is_some() {
            continue;
        }
        let written = node.to_string();
        let known: Vec<String> = state
            .nodeids()
            .iter()
            .map(
                |nodeid| match settings.nodes.iter().find(|entry| entry.nodeid == *nodeid) {
                    Some(entry) if !entry.name.is_empty() => format!("{nodeid} ({})", entry.name),
                    _ => nodeid.to_string(),
                },
            )
            .collect();
        return Err(WhatifError::UnknownNode {
            line,
            column: column + token_offset(command, &written),
            node: written,
            command: command.to_string(),
            known: if known.is_empty() {
                "no nodes".to_string()
            } else {
                known.join(", ")
            },
        });
    }
    Ok(())
}

/// Node ids a `restart` step boots afresh (their HA state starts over).
fn restarted_ids(state: &ClusterState, settings: &QuorumSettings, step: &Step) -> Vec<NodeId> {
    match step {
        Step::Restart(nodes) => nodes
            .iter()
            .filter_map(|node| resolve_id(state, settings, node))
            .collect(),
        _ => Vec::new(),
    }
}

/// The offset (in characters, 0-based) of `token` in `command` as a whole token or a
/// comma-separated part of one (0 when not found).
fn token_offset(command: &str, token: &str) -> u32 {
    for (offset, (byte, _)) in command.char_indices().enumerate() {
        let boundary_before = command[..byte]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ',' || c == ':');
        if boundary_before && command[byte..].starts_with(token) {
            let after = command[byte + token.len()..].chars().next();
            if after.is_none_or(|c| c.is_whitespace() || c == ',') {
                return offset as u32;
            }
        }
    }
    0
}

/// Each step's source text: from its first word to the next `;`, `#` or the end of line.
fn command_texts(text: &str, script: &Script) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    script
        .positions
        .iter()
        .zip(&script.steps)
        .map(|((line, column), step)| {
            let source = lines
                .get((*line as usize).saturating_sub(1))
                .map(|line_text| {
                    line_text
                        .chars()
                        .skip((*column as usize).saturating_sub(1))
                        .take_while(|c| *c != ';' && *c != '#')
                        .collect::<String>()
                })
                .unwrap_or_default();
            let words: Vec<&str> = source.split_whitespace().collect();
            if words.is_empty() {
                step.to_string()
            } else {
                words.join(" ")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_reload(file: &str) -> Result<QuorumSettings, String> {
        Err(format!("no file {file}"))
    }

    fn quorate(report: &Report, step: usize) -> String {
        report.steps[step]
            .nodes
            .iter()
            .map(|node| format!("{}:{}", node.nodeid, u8::from(node.quorate)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn start_then_one_entry_per_step_with_source_text() {
        let report = evaluate(
            &QuorumSettings::plain(3),
            "split 1:1  # the first node\nheal",
            &WhatifOptions::default(),
            &mut no_reload,
        )
        .unwrap();
        let commands: Vec<&str> = report.steps.iter().map(|step| step.command.as_str()).collect();
        assert_eq!(commands, ["start", "split 1:1", "heal"]);
        assert_eq!(quorate(&report, 1), "1:0 2:1 3:1");
        assert_eq!(report.steps[1].nodes[0].partition, Some(1));
        assert_eq!(report.steps[1].nodes[0].why, "1 of 3 votes < quorum 2");
        assert_eq!(report.steps[1].quorate_memberships, vec![vec![2, 3]]);
        assert!(!report.split_brain);
    }

    #[test]
    fn unknown_nodes_and_reload_failures_name_line_and_column() {
        let error = evaluate(
            &QuorumSettings::plain(3),
            "up 1\ndown 2,n9",
            &WhatifOptions::default(),
            &mut no_reload,
        )
        .unwrap_err();
        assert_eq!(error.position(), Some((2, 8)));
        assert!(error.to_string().contains("unknown node `n9`"), "{error}");
        let error = evaluate(
            &QuorumSettings::plain(3),
            "heal; reload new.conf",
            &WhatifOptions::default(),
            &mut no_reload,
        )
        .unwrap_err();
        assert_eq!(error.position(), Some((1, 14)));
    }

    #[test]
    fn proxmox_self_fence_counts_down_with_model_time() {
        let options = WhatifOptions { proxmox: true };
        let report = evaluate(
            &QuorumSettings::plain(3),
            "isolate 3; wait 30000; wait 30000; down 3; wait 120000",
            &options,
            &mut no_reload,
        )
        .unwrap();
        let node3 = |step: usize| report.steps[step].nodes[2].proxmox.clone().unwrap();
        assert_eq!(node3(0).etc_pve, "read-write");
        assert_eq!(node3(1).self_fence_in_ms, Some(60_000));
        assert_eq!(node3(2).self_fence_in_ms, Some(30_000));
        assert_eq!(node3(3).self_fence_in_ms, Some(0));
        assert_eq!(node3(4).etc_pve, "unavailable");
        assert!(
            node3(5).summary.contains("have been recovered"),
            "{}",
            node3(5).summary
        );
    }

    #[test]
    fn order_dependent_nodes_are_flagged_and_the_default_answer_kept() {
        // Spec TV22: node 2 processing its own nodeinfo first re-arms wait_for_all.
        let settings = QuorumSettings {
            wait_for_all: Some(true),
            ..QuorumSettings::plain(3)
        };
        let report = evaluate(
            &settings,
            "split 1:1 2:2,3; split 1:1,2 2:3",
            &WhatifOptions::default(),
            &mut no_reload,
        )
        .unwrap();
        let flagged = |step: usize| -> Vec<NodeId> {
            report.steps[step]
                .nodes
                .iter()
                .filter(|node| node.order_dependent)
                .map(|node| node.nodeid)
                .collect()
        };
        assert_eq!(quorate(&report, 2), "1:1 2:1 3:0");
        assert_eq!(flagged(0), Vec::<NodeId>::new());
        assert_eq!(flagged(1), Vec::<NodeId>::new());
        // Node 1 too, by the leave-first timing (node 2 forms {2} first). See: issue 9
        assert_eq!(flagged(2), [1, 2]);
        assert!(report.steps.iter().all(|step| !step.split_brain_possible));
        let plain = evaluate(
            &QuorumSettings::plain(3),
            "split 1:1 2:2,3; split 1:1,2 2:3",
            &WhatifOptions::default(),
            &mut no_reload,
        )
        .unwrap();
        assert!(plain
            .steps
            .iter()
            .flat_map(|step| &step.nodes)
            .all(|node| !node.order_dependent));
    }

    #[test]
    fn token_offsets() {
        assert_eq!(token_offset("down 2,n9", "n9"), 7);
        assert_eq!(token_offset("split 1:1", "1"), 8);
        assert_eq!(token_offset("reload x", "y"), 0);
    }
}
