//! What-if scenarios: a script of events run against the votequorum engine, reported as data.
//!
//! Owns `evaluate` and the report types (`Report`, `StepReport`, `NodeRow`,
//! `ProxmoxConsequence`, `UnstableGroupReport`); its errors are `sim::Error`'s (`WhatifError`). The votequorum semantics
//! live in `model::quorum` and the script language in `model::scenario`; this module only
//! drives them step by step, checks that the script names known nodes, and derives what each
//! state means (split-brain, unstable memberships, Proxmox consequences, spec 6.5-6.6). Each
//! step runs through `ClusterState::apply_with_orders`, so a row also says whether its
//! quorate flag depends on the ring change's message delivery order.
//! It must not do IO: a `reload FILE` is resolved by the caller's `reload` closure, and
//! nothing is rendered here (the binary renders tables and JSON).

use model::quorum::{ClusterState, NodeConfig, NodeId, NodeView, QnetdView, QuorumFlags, QuorumSettings};
use model::scenario::{self, NodeRef, Script, Step};
use serde::Serialize;

mod proxmox;

use proxmox::{consequence, proxmox_notes, update_track, HaTrack};
pub use proxmox::{ProxmoxConsequence, PVE_RECOVERY_MS, PVE_SELF_FENCE_MS};

/// Options of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WhatifOptions {
    /// Add Proxmox VE consequences (pmxcfs read-only, HA self-fencing) to every node row.
    pub proxmox: bool,
    /// Add each step's timeline (`StepReport::timeline`, `crate::timing`) computed with
    /// these timers; `None`: no timeline.
    pub timers: Option<crate::timing::Timers>,
}

/// A scenario that cannot be run (`sim::Error`'s script variants: `Script`, `UnknownNode`,
/// `Refused`, `Reload`, `TooManyNodes`). The name stays for callers of `evaluate`.
pub type WhatifError = crate::Error;

/// A group of running nodes without a stable membership (partial mesh, spec 3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnstableGroupReport {
    /// Every node of the group.
    pub nodes: Vec<NodeId>,
    /// The memberships corosync may settle on, one at a time (maximal cliques).
    pub candidates: Vec<Vec<NodeId>>,
}

/// One node after one step: the engine's `model::quorum::NodeView` (`corosync-quorumtool
/// -s`, with `order_dependent` set from the step's outcome) plus what a scenario adds, the
/// script partition and the Proxmox consequences.
///
/// The view's fields read through `Deref` (`row.quorate`, `row.members`...). The JSON shape
/// is a contract (README, `quorate whatif --format json`): the view's fields in their
/// historical order with `partition` after `up` and `flags` as snake_case names
/// (`flag_names`), then `proxmox` when asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    /// The node as the engine sees it.
    pub view: NodeView,
    /// The script partition the node is in (`split P:N`); `None` when down.
    pub partition: Option<u8>,
    /// Proxmox consequences, when asked for.
    pub proxmox: Option<ProxmoxConsequence>,
    /// Why this node refused the step's reload (spec 5.2: a changed address or knet
    /// transport, or no file), keeping its running configuration; `None` when it took the
    /// file or the step is no reload. In JSON only when set (`reload_refusal`).
    pub reload_refusal: Option<String>,
}

impl NodeRow {
    /// The flags in force, by their snake_case names (`two_node`, `wait_for_all`,
    /// `wait_for_all_status`, `last_man_standing`, `last_man_standing_timer`,
    /// `auto_tie_breaker`, `allow_downscale`, `qdevice_cast_vote`).
    pub fn flag_names(&self) -> Vec<&'static str> {
        flag_names(&self.view.flags)
    }
}

impl std::ops::Deref for NodeRow {
    type Target = NodeView;

    fn deref(&self) -> &NodeView {
        &self.view
    }
}

impl Serialize for NodeRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let view = &self.view;
        let fields = 14 + usize::from(self.proxmox.is_some()) + usize::from(self.reload_refusal.is_some());
        let mut row = serializer.serialize_struct("NodeRow", fields)?;
        row.serialize_field("nodeid", &view.nodeid)?;
        row.serialize_field("name", &view.name)?;
        row.serialize_field("up", &view.up)?;
        row.serialize_field("partition", &self.partition)?;
        row.serialize_field("members", &view.members)?;
        row.serialize_field("quorate", &view.quorate)?;
        row.serialize_field("votes", &view.votes)?;
        row.serialize_field("expected_votes", &view.expected_votes)?;
        row.serialize_field("highest_expected", &view.highest_expected)?;
        row.serialize_field("quorum", &view.quorum)?;
        row.serialize_field("total_votes", &view.total_votes)?;
        row.serialize_field("flags", &self.flag_names())?;
        row.serialize_field("why", &view.why)?;
        row.serialize_field("order_dependent", &view.order_dependent)?;
        match &self.proxmox {
            Some(proxmox) => row.serialize_field("proxmox", proxmox)?,
            None => row.skip_field("proxmox")?,
        }
        match &self.reload_refusal {
            Some(refusal) => row.serialize_field("reload_refusal", refusal)?,
            None => row.skip_field("reload_refusal")?,
        }
        row.end()
    }
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
    /// The quorum device as qnetd decides it: every node's qdevice and, per membership, who
    /// holds ACK and why. Only once a `qnetd` or `heuristics` step ran (absent from JSON
    /// before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qnetd: Option<QnetdView>,
    /// When each node notices the step, forms its membership, decides quorum (and, with
    /// Proxmox, the HA events), in ms from the step (`crate::timing::step_timeline`). Only
    /// when `WhatifOptions::timers` is given (absent from JSON otherwise); empty for
    /// `start` and for steps that are no fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<crate::timing::TimelineEvent>>,
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

/// Runs `script_text` against a cluster configured by `settings`, all configured nodes
/// started together (as corosync-vqsim starts). `reload` maps a `reload FILE` argument (as
/// written) to the settings read from that file; it is the only way files enter here.
/// Without addresses and transports no reload is ever refused for changing them: give the
/// parsed files to [`evaluate_config`] for that.
///
/// The report starts with the state `start`, then has one entry per step.
pub fn evaluate<E: std::fmt::Display>(
    settings: &QuorumSettings,
    script_text: &str,
    options: &WhatifOptions,
    reload: &mut dyn FnMut(&str) -> Result<QuorumSettings, E>,
) -> crate::Result<Report> {
    evaluate_config(
        &NodeConfig::from_settings(settings),
        script_text,
        options,
        &mut |file: &str| reload(file).map(|settings| NodeConfig::from_settings(&settings)),
    )
}

/// `evaluate` with whole configurations: `config` is every node's corosync.conf at the
/// start and `reload` maps a `reload FILE` / `install FILE on N` argument to the file's
/// `NodeConfig` (votequorum input plus the addresses and knet transports), so the engine
/// applies the per-node reload rules (spec 5.2): a running node refuses a file that
/// re-addresses an existing node or changes a link's knet transport, keeps its running
/// configuration, and its row says why (`NodeRow::reload_refusal`).
pub fn evaluate_config<E: std::fmt::Display>(
    config: &NodeConfig,
    script_text: &str,
    options: &WhatifOptions,
    reload: &mut dyn FnMut(&str) -> Result<NodeConfig, E>,
) -> crate::Result<Report> {
    let script = scenario::parse(script_text)?;
    let commands = command_texts(script_text, &script);
    let mut current = config.settings().clone();
    let mut state = ClusterState::from_config(config)?;
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
            reload_refusals: Vec::new(),
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
            let file_config = reload(file).map_err(|reason| WhatifError::Reload {
                line,
                column: column + token_offset(&command, file),
                file: file.clone(),
                reason: reason.to_string(),
            })?;
            if matches!(step, Step::Reload { .. }) {
                current = file_config.settings().clone();
            }
            read_file = Some(file_config);
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
                reload_refusals: outcome
                    .reload_refusals
                    .into_iter()
                    .map(|(nodeid, refusal)| (nodeid, refusal.to_string()))
                    .collect(),
            },
        ));
        if let (Some(timers), [.., before, after]) = (&options.timers, steps.as_mut_slice()) {
            after.timeline = Some(crate::timing::step_timeline(
                timers,
                &current,
                step,
                before,
                after,
                options.proxmox,
            ));
        }
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
    /// Nodes that refused the step's reload, with why.
    reload_refusals: Vec<(NodeId, String)>,
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
        let mut view = view;
        view.order_dependent = snap.order_dependent.contains(&view.nodeid);
        if flapping {
            view.why.push_str(" (unstable: previous state kept)");
        }
        let partition = if view.up { state.partition(pos) } else { None };
        let reload_refusal = snap
            .reload_refusals
            .iter()
            .find(|(nodeid, _)| *nodeid == view.nodeid)
            .map(|(_, refusal)| refusal.clone());
        nodes.push(NodeRow {
            view,
            partition,
            proxmox,
            reload_refusal,
        });
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
        qnetd: state.qnetd_view(),
        timeline: options.timers.map(|_| Vec::new()),
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
) -> crate::Result<()> {
    for node in step.node_refs() {
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

    /// Three knet nodes; node 2 at `node2_address`.
    fn three_nodes(node2_address: &str) -> NodeConfig {
        let text = format!(
            "totem {{\n  version: 2\n  cluster_name: t\n  transport: knet\n}}\nnodelist {{\n\
             node {{\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n}}\n\
             node {{\n  nodeid: 2\n  ring0_addr: {node2_address}\n}}\n\
             node {{\n  nodeid: 3\n  ring0_addr: 10.0.0.3\n}}\n}}\n\
             quorum {{\n  provider: corosync_votequorum\n  expected_votes: 3\n}}\n"
        );
        let (document, _) = model::syntax::parse(&text);
        NodeConfig::from_config(&model::config::Config::from_document(&document).0)
    }

    /// Issue 8 leftover: a `reload FILE` that re-addresses a node is refused by every
    /// running node (spec 5.2), and each row says so, in the report and in JSON; the
    /// settings-only `evaluate` cannot see addresses and accepts it.
    #[test]
    fn a_refused_reload_is_shown_on_every_refusing_node() {
        let moved = three_nodes("10.0.0.9");
        let mut read = |file: &str| -> Result<NodeConfig, String> {
            match file {
                "moved.conf" => Ok(moved.clone()),
                _ => Err(format!("no file {file}")),
            }
        };
        let report = evaluate_config(
            &three_nodes("10.0.0.2"),
            "down 3; reload moved.conf",
            &WhatifOptions::default(),
            &mut read,
        )
        .unwrap();
        let step = &report.steps[2];
        assert!(step.rejected);
        let refusals: Vec<(NodeId, Option<&str>)> = step
            .nodes
            .iter()
            .map(|row| (row.nodeid, row.reload_refusal.as_deref()))
            .collect();
        let expected = "new config has different address for link 0 (addr changed from 10.0.0.2 to \
                        10.0.0.9) for node 2: to reconfigure an interface it must be deleted and recreated";
        assert_eq!(refusals, [(1, Some(expected)), (2, Some(expected)), (3, None)]);
        assert!(step
            .notes
            .iter()
            .any(|note| note.starts_with("node 1: the reload fails (")));
        let json = serde_json::to_value(step).unwrap();
        assert_eq!(json["nodes"][0]["reload_refusal"], expected);
        assert!(json["nodes"][2].get("reload_refusal").is_none());
        // Earlier steps have no such field at all (the JSON shape is additive).
        assert!(serde_json::to_value(&report.steps[1]).unwrap()["nodes"][0]
            .get("reload_refusal")
            .is_none());

        let settings_only = evaluate(
            three_nodes("10.0.0.2").settings(),
            "down 3; reload moved.conf",
            &WhatifOptions::default(),
            &mut |_: &str| -> Result<QuorumSettings, String> { Ok(moved.settings().clone()) },
        )
        .unwrap();
        assert!(!settings_only.steps[2].rejected);
        assert!(settings_only.steps[2]
            .nodes
            .iter()
            .all(|row| row.reload_refusal.is_none()));
    }

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
        let options = WhatifOptions {
            proxmox: true,
            ..WhatifOptions::default()
        };
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
