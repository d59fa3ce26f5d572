//! Split-brain within the fault budget at every step that changes what a node runs or
//! whether it runs (`R027`): a shadow votequorum engine follows the runbook with each
//! node's own running configuration and on-disk file, and the planner's safety verdict
//! (`safety::Safety::verdict`, the runbook's `--fault-budget`) judges each state it reaches.
//!
//! Owns `Transition` (what the checker did to a node's corosync, recorded where it does it),
//! `Shadow` (the engine state, its node names and the `whatif` script that rebuilds it from
//! one configuration with every node up) and the `R027` finding. It must not decide
//! anything the checker decides (starts, reload refusals, files): it replays the checker's
//! transitions in the engine and, where the engine and the checker disagree about who runs
//! what, drops the shadow without a finding (and builds a new one once the cluster is again
//! one configuration with all its nodes running). It does no IO.

use model::action::{Action, ConfigFile, Event, Fault};
use model::quorum::{ClusterState, NodeConfig, NodeId};
use model::scenario::{NodeRef, NodeSpec};

use super::{Checker, Content, Step, COROSYNC_CONF};

/// What the checker did to a node's corosync, in the runbook's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Transition {
    /// corosync started on the node (it was not running).
    Start(String),
    /// corosync restarted on the node (it was running): down for a moment, then its file.
    Restart(String),
    /// corosync stopped on the node (or the node powered off or was removed).
    Stop(String),
    /// Every running node re-read its own file.
    Reload,
    /// `corosync-quorumtool -v VOTES -n TARGET` run on TOOL, accepted.
    Votes {
        /// Where the tool ran.
        tool: String,
        /// The node whose votes changed.
        target: String,
        /// Its votes now.
        votes: u32,
    },
}

/// The engine following the runbook.
#[derive(Clone, Debug)]
pub(super) struct Shadow {
    /// The config every node ran when the shadow was made (the `whatif` FILE).
    base: usize,
    /// The engine's state.
    cluster: ClusterState,
    /// Node names by engine position (empty: not known).
    names: Vec<String>,
    /// The config index on each position's disk, as installed in the engine.
    disks: Vec<Option<usize>>,
    /// The `whatif` script lines from `base` with every node up to `cluster`.
    script: Vec<String>,
    /// Running nodes the last event left in a partial mesh (one's nodelist does not list
    /// another, or lists another address): totem's membership there is undefined (spec 3.3).
    partial_mesh: Option<model::quorum::UnstableMembership>,
    /// Whether the state the shadow started from already allowed split-brain within the
    /// budget (then the configuration itself is the problem, lint's and `whatif --all`'s
    /// business, and no step is blamed for it).
    exposed_from_start: bool,
}

impl Shadow {
    /// After an install: the position tables grow to the engine's node count, and every id
    /// the installed file added gets its name (a known name is kept).
    fn adopt(&mut self, ids: &[(NodeId, Option<String>)]) {
        while self.names.len() < self.cluster.nodeids().len() {
            self.names.push(String::new());
            self.disks.push(None);
        }
        for (id, name) in ids {
            if let (Some(at), Some(name)) = (self.cluster.position(*id), name) {
                if self.names[at].is_empty() {
                    self.names[at] = name.clone();
                }
            }
        }
    }
}

/// A split-brain found after one transition.
struct Exposure {
    /// The whatif script (from `base`, every node up) that shows it.
    script: String,
    /// The lines after the state judged, within the budget (faults, time passing, a crashed
    /// node's restart, the restarting node's own start; empty: split-brain right away).
    faults: Vec<String>,
    /// How many of `faults` are faults.
    fault_count: u32,
    /// The restarting node's own start among `faults` (not a fault: said apart).
    own_start: Option<String>,
    /// The two (or more) quorate memberships at the end, as node names.
    sides: Vec<Vec<String>>,
    /// Who runs what in the state judged.
    state: String,
    /// Whether the state judged is the moment a restart has the node down.
    during_restart: Option<String>,
    /// The nodes of a partial mesh the step left (then `faults` and `sides` are empty).
    partial_mesh: Vec<String>,
}

impl Checker<'_> {
    /// The name `whatif` scripts give config `index`: `line-L.conf` for the config the
    /// runbook shows, writes or generates at line L (`line-L-2.conf` for a second one there).
    pub(super) fn config_file_name(&self, index: usize) -> String {
        let line = self.configs.get(index).map_or(0, |known| known.line);
        let earlier = self.configs[..index.min(self.configs.len())]
            .iter()
            .filter(|known| known.line == line)
            .count();
        if earlier == 0 {
            format!("line-{line}.conf")
        } else {
            format!("line-{line}-{}.conf", earlier + 1)
        }
    }

    /// The engine's reading of config `index`.
    fn node_config(&self, index: usize) -> NodeConfig {
        NodeConfig::from_config(&self.configs[index].config)
    }

    /// (node id, name) of every node config `index` lists (ids as corosync takes them).
    fn ids_and_names(&self, index: usize) -> Vec<(NodeId, Option<String>)> {
        let known = &self.configs[index];
        let names = self.config_names(known);
        let settings = self.node_config(index);
        known
            .config
            .nodelist
            .nodes
            .iter()
            .zip(names)
            .filter_map(|(entry, name)| {
                let nodeid = known.config.effective_nodeid(entry)?;
                let name = name.or_else(|| {
                    settings
                        .settings()
                        .nodes
                        .iter()
                        .find(|node| node.nodeid == nodeid && !node.name.is_empty())
                        .map(|node| node.name.clone())
                });
                Some((nodeid, name))
            })
            .collect()
    }

    /// Records a transition for the shadow engine (replayed after the command).
    pub(super) fn transition(&mut self, transition: Transition) {
        self.transitions.push(transition);
    }

    /// A shadow made from the checker's state, when it is one configuration that every
    /// node it lists runs (and no other node runs): `whatif FILE` starts exactly there.
    fn make_shadow(&mut self) -> Option<Shadow> {
        let mut running = self.running.values().copied();
        let base = running.next()?;
        if running.any(|index| index != base) {
            return None;
        }
        let listed = self.ids_and_names(base);
        if listed.len() != self.running.len()
            || !listed
                .iter()
                .all(|(_, name)| name.as_ref().is_some_and(|name| self.running.contains_key(name)))
        {
            return None;
        }
        let cluster = ClusterState::from_config(&self.node_config(base)).ok()?;
        let names: Vec<String> = cluster
            .nodeids()
            .iter()
            .map(|nodeid| {
                listed
                    .iter()
                    .find(|(id, _)| id == nodeid)
                    .and_then(|(_, name)| name.clone())
                    .unwrap_or_default()
            })
            .collect();
        if !(0..names.len()).all(|pos| cluster.is_up(pos)) {
            return None;
        }
        let count = names.len();
        let mut shadow = Shadow {
            base,
            cluster,
            names,
            disks: vec![Some(base); count],
            script: Vec::new(),
            partial_mesh: None,
            exposed_from_start: false,
        };
        self.sync_disks(&mut shadow)?;
        shadow.exposed_from_start = self.exposure(&shadow, None).is_some();
        Some(shadow)
    }

    /// Applies `event` to the shadow; its script line is kept when it changed the state.
    /// `None` when the engine rejects it.
    fn shadow_apply(shadow: &mut Shadow, event: Event) -> Option<()> {
        let mut next = shadow.cluster.clone();
        let outcome = next.apply_event(&event);
        if outcome.rejected {
            return None;
        }
        if next != shadow.cluster {
            shadow.script.push(event.to_string());
            shadow.cluster = next;
        }
        if let Some(group) = outcome.unstable.first() {
            shadow.partial_mesh = Some(group.clone());
        }
        Some(())
    }

    /// Writes, in the shadow, every corosync.conf the checker has on a node and the engine
    /// does not (nodes a file adds join the engine's universe). `None` when it cannot.
    fn sync_disks(&self, shadow: &mut Shadow) -> Option<()> {
        // Wanted: (position or a new node id, config index).
        let mut wanted: Vec<(String, usize)> = self
            .files
            .iter()
            .filter(|((_, path), _)| path == COROSYNC_CONF)
            .filter_map(|((node, _), content)| match content {
                Content::Config(index) => Some((node.clone(), *index)),
                Content::Authkey => None,
            })
            .collect();
        wanted.sort_by_key(|(_, index)| *index);
        for (node, index) in wanted {
            let ids = self.ids_and_names(index);
            let position = shadow.names.iter().position(|name| *name == node);
            if let Some(pos) = position {
                if shadow.disks[pos] == Some(index) {
                    continue;
                }
            }
            let file = ConfigFile {
                name: self.config_file_name(index),
                config: self.node_config(index),
            };
            let install = |pos: usize, shadow: &Shadow| {
                Event::Action(Action::InstallConfig {
                    file: file.clone(),
                    nodes: vec![NodeRef::Id(shadow.cluster.nodeids()[pos])],
                })
            };
            let pos = match position {
                Some(pos) => pos,
                None => {
                    // A node the engine does not know yet: its id in this file.
                    let nodeid = ids
                        .iter()
                        .find(|(_, name)| name.as_deref() == Some(node.as_str()))
                        .map(|(id, _)| *id)?;
                    if shadow.cluster.position(nodeid).is_some() {
                        // The id is another node's: the names disagree.
                        return None;
                    }
                    // `whatif` names only nodes it knows: the file first goes to a known
                    // node's disk (which adds the new ids) and that disk is put back;
                    // nothing reads a disk between the two lines.
                    let carrier = (0..shadow.names.len()).find(|pos| shadow.disks[*pos].is_some())?;
                    let previous = shadow.disks[carrier]?;
                    Self::shadow_apply(shadow, install(carrier, shadow))?;
                    let back = Event::Action(Action::InstallConfig {
                        file: ConfigFile {
                            name: self.config_file_name(previous),
                            config: self.node_config(previous),
                        },
                        nodes: vec![NodeRef::Id(shadow.cluster.nodeids()[carrier])],
                    });
                    let new_pos = shadow.cluster.position(nodeid)?;
                    shadow.adopt(&ids);
                    if shadow.names[new_pos] != node {
                        return None;
                    }
                    Self::shadow_apply(shadow, install(new_pos, shadow))?;
                    shadow.disks[new_pos] = Some(index);
                    Self::shadow_apply(shadow, back)?;
                    continue;
                }
            };
            Self::shadow_apply(shadow, install(pos, shadow))?;
            shadow.disks[pos] = Some(index);
            shadow.adopt(&ids);
        }
        Some(())
    }

    /// Whether the shadow and the checker agree on who runs which configuration.
    /// Whether a node running `running` runs config `index` (a reload keeps the
    /// startup-only keys the model reads outside votequorum).
    fn runs_config(&self, running: &NodeConfig, index: usize) -> bool {
        let expected = self.node_config(index);
        if *running == expected {
            return true;
        }
        let mut settings = running.settings().clone();
        settings.provider = expected.settings().provider.clone();
        settings.transport = expected.settings().transport;
        settings == *expected.settings() && running.totem() == expected.totem()
    }

    fn agrees(&self, shadow: &Shadow) -> bool {
        let same = |running: &NodeConfig, index: usize| self.runs_config(running, index);
        for (node, index) in &self.running {
            let Some(pos) = shadow.names.iter().position(|name| name == node) else {
                return false;
            };
            match shadow.cluster.running_config(pos) {
                Some(running) if same(running, *index) => {}
                _ => return false,
            }
        }
        (0..shadow.names.len())
            .filter(|pos| shadow.cluster.is_up(*pos))
            .all(|pos| self.running.contains_key(&shadow.names[pos]))
    }

    /// The event of `transition` in the shadow (`None`: a node it does not know).
    fn event_of(shadow: &Shadow, transition: &Transition) -> Option<Vec<Event>> {
        let id = |name: &str| {
            shadow
                .names
                .iter()
                .position(|candidate| candidate == name)
                .map(|pos| NodeRef::Id(shadow.cluster.nodeids()[pos]))
        };
        Some(match transition {
            Transition::Start(node) => vec![Event::Action(Action::StartNodes(vec![NodeSpec {
                partition: None,
                nodes: vec![id(node)?],
            }]))],
            Transition::Restart(node) => vec![Event::Action(Action::RestartNodes(vec![id(node)?]))],
            Transition::Stop(node) => {
                let pos = shadow.names.iter().position(|candidate| candidate == node)?;
                let mut events = vec![Event::Action(Action::StopNodes(vec![id(node)?]))];
                // As the stop rule (R022) does: with last_man_standing the runbook is taken
                // to have waited for the window after a stop.
                if let Some(settings) = shadow.cluster.running_config(pos).map(NodeConfig::settings) {
                    if settings.last_man_standing {
                        events.push(Event::Fault(Fault::Wait(
                            u64::from(settings.last_man_standing_window_ms) + 1,
                        )));
                    }
                }
                events
            }
            Transition::Reload => vec![Event::Action(Action::ReloadConfig { file: None })],
            Transition::Votes { tool, target, votes } => vec![Event::Action(Action::SetNodeVotes {
                votes: *votes,
                target: id(target)?,
                node: id(tool)?,
            })],
        })
    }

    /// Who runs what in `cluster` (names by position), for the message.
    fn describe(&self, shadow: &Shadow, cluster: &ClusterState) -> String {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut down: Vec<String> = Vec::new();
        for pos in 0..shadow.names.len() {
            let name = if shadow.names[pos].is_empty() {
                cluster.nodeids()[pos].to_string()
            } else {
                shadow.names[pos].clone()
            };
            let Some(running) = cluster.running_config(pos) else {
                if shadow.disks[pos].is_some() {
                    down.push(name);
                }
                continue;
            };
            let file = (0..self.configs.len())
                .rev()
                .find(|index| self.runs_config(running, *index))
                .map_or_else(|| "its file".to_string(), |index| self.config_file_name(index));
            match groups.iter_mut().find(|(seen, _)| *seen == file) {
                Some((_, nodes)) => nodes.push(name),
                None => groups.push((file, vec![name])),
            }
        }
        let mut parts: Vec<String> = groups
            .into_iter()
            .map(|(file, nodes)| {
                let verb = if nodes.len() == 1 { "runs" } else { "run" };
                format!("{} {verb} {file}", nodes.join(", "))
            })
            .collect();
        if !down.is_empty() {
            parts.push(format!(
                "{} {} down",
                down.join(", "),
                if down.len() == 1 { "is" } else { "are" }
            ));
        }
        parts.join(", ")
    }

    /// The split-brain the verdict finds from the shadow's state (or from `moment`, a state
    /// the shadow passes through, with the script lines that reach it).
    fn exposure(
        &mut self,
        shadow: &Shadow,
        moment: Option<(&ClusterState, Vec<String>, String, usize)>,
    ) -> Option<Exposure> {
        let (cluster, script, during_restart, pending) = match &moment {
            Some((cluster, script, node, pos)) => (
                *cluster,
                script.clone(),
                Some(node.clone()),
                model::quorum::NodeSet::from_iter([*pos]),
            ),
            None => (
                &shadow.cluster,
                shadow.script.clone(),
                None,
                model::quorum::NodeSet::EMPTY,
            ),
        };
        // Inside a restart the node is still to start: after a fault it may come up, with its
        // file, in any partition (the planner's judgement of a step's inner moment).
        let verdict = self.split_safety.verdict_pending(cluster, pending);
        let faults = if verdict.split_brain_now {
            Vec::new()
        } else {
            verdict.split_brain_after?
        };
        let mut end = cluster.clone();
        for line in &faults {
            let step = model::scenario::parse(line).ok()?.steps.into_iter().next()?;
            let event = Event::from_step(&step, &mut |_: &str| Err::<NodeConfig, &str>("no file")).ok()?;
            end.apply_event(&event);
        }
        let quorate = end.quorate_set();
        let mut sides: Vec<Vec<String>> = Vec::new();
        let mut seen = Vec::new();
        for pos in quorate.iter() {
            let ring = end.ring(pos);
            if seen.contains(&ring) {
                continue;
            }
            seen.push(ring);
            sides.push(
                ring.iter()
                    .filter(|member| quorate.contains(*member))
                    .map(|member| {
                        shadow
                            .names
                            .get(member)
                            .filter(|name| !name.is_empty())
                            .cloned()
                            .unwrap_or_else(|| end.nodeids()[member].to_string())
                    })
                    .collect(),
            );
        }
        // A side quorate through two_node is the pair's own exposure (both halves of a
        // two_node pair stay quorate when split; fencing decides): not blamed on a step.
        let by_two_node = quorate.iter().any(|pos| {
            end.running_config(pos)
                .is_some_and(|config| config.settings().two_node)
        });
        if by_two_node && !faults.is_empty() {
            return None;
        }
        let state = self.describe(shadow, cluster);
        let mut lines = script;
        lines.extend(faults.iter().cloned());
        // The restarting node's own start, `up P:ID` of its node id alone.
        let own_start = moment.as_ref().and_then(|(cluster, _, _, pos)| {
            let own = NodeRef::Id(cluster.nodeids()[*pos]);
            faults
                .iter()
                .find(|line| {
                    model::scenario::parse(line).ok().is_some_and(|script| {
                        matches!(script.steps.as_slice(), [model::scenario::Step::Up(specs)]
                            if specs.len() == 1 && specs[0].nodes == [own.clone()])
                    })
                })
                .cloned()
        });
        Some(Exposure {
            script: lines.join("; "),
            fault_count: verdict.split_brain_faults,
            own_start,
            faults,
            sides,
            state,
            during_restart,
            partial_mesh: Vec::new(),
        })
    }

    /// Replays the transitions the last command made in the shadow, judges every state it
    /// passes through and adds `R027` to `step` for the first split-brain within the fault
    /// budget (not where `R015` or `R024` already says so). Then checks that the shadow and
    /// the checker agree (else drops it, and the finding) and makes a new shadow where the
    /// cluster is again one configuration with all its nodes running.
    pub(super) fn follow_transitions(&mut self, span: (usize, usize), step: &mut Step) {
        let transitions = std::mem::take(&mut self.transitions);
        if let Some(mut shadow) = self.shadow.take() {
            let mut found: Option<Exposure> = None;
            let mut healthy = true;
            for transition in &transitions {
                if self.sync_disks(&mut shadow).is_none() {
                    healthy = false;
                    break;
                }
                let Some(events) = Self::event_of(&shadow, transition) else {
                    healthy = false;
                    break;
                };
                if let (Transition::Restart(node), None, false) =
                    (transition, &found, shadow.exposed_from_start)
                {
                    // The moment a restart has the node down (a clean stop, then its start).
                    if let Some(pos) = shadow.names.iter().position(|name| name == node) {
                        let mut moment = shadow.cluster.clone();
                        let stop = Event::Action(Action::StopNodes(vec![NodeRef::Id(moment.nodeids()[pos])]));
                        if !moment.apply_event(&stop).rejected {
                            let mut script = shadow.script.clone();
                            script.push(stop.to_string());
                            found = self.exposure(&shadow, Some((&moment, script, node.clone(), pos)));
                        }
                    }
                }
                if events
                    .into_iter()
                    .try_for_each(|event| Self::shadow_apply(&mut shadow, event))
                    .is_none()
                {
                    healthy = false;
                    break;
                }
                if let (Some(group), None) = (shadow.partial_mesh.take(), &found) {
                    let name = |nodeid: &NodeId| {
                        shadow
                            .cluster
                            .position(*nodeid)
                            .and_then(|pos| shadow.names.get(pos))
                            .filter(|name| !name.is_empty())
                            .cloned()
                            .unwrap_or_else(|| nodeid.to_string())
                    };
                    found = Some(Exposure {
                        script: shadow.script.join("; "),
                        faults: Vec::new(),
                        fault_count: 0,
                        own_start: None,
                        sides: group
                            .candidates
                            .iter()
                            .map(|candidate| candidate.iter().map(name).collect())
                            .collect(),
                        state: self.describe(&shadow, &shadow.cluster),
                        during_restart: None,
                        partial_mesh: group.nodes.iter().map(name).collect(),
                    });
                }
                if found.is_none() && !shadow.exposed_from_start {
                    found = self.exposure(&shadow, None);
                }
            }
            healthy = healthy && self.sync_disks(&mut shadow).is_some() && self.agrees(&shadow);
            if healthy {
                let covered = step
                    .findings
                    .iter()
                    .any(|finding| matches!(finding.code, "R015" | "R024"));
                if let (Some(exposure), false) = (found, covered) {
                    let finding = self.split_finding(&shadow, exposure, span);
                    step.findings.push(finding);
                }
                self.shadow = Some(shadow);
            }
        }
        if self.shadow.is_none() {
            self.shadow = self.make_shadow();
        }
    }

    fn split_finding(&self, shadow: &Shadow, exposure: Exposure, span: (usize, usize)) -> super::Finding {
        let base = self.config_file_name(shadow.base);
        let sides: Vec<String> = exposure
            .sides
            .iter()
            .map(|side| format!("{{{}}}", side.join(", ")))
            .collect();
        let when = match &exposure.during_restart {
            Some(node) => format!("while {node} is down for this restart ({})", exposure.state),
            None => format!("after this, {}", exposure.state),
        };
        let how = if exposure.faults.is_empty() {
            "two memberships are quorate at once right away".to_string()
        } else {
            // The restarting node's own start after the fault is not a fault: said apart.
            let then = match (&exposure.during_restart, &exposure.own_start) {
                (Some(node), Some(line)) => format!(", then {node}'s start into a side (`{line}`),"),
                _ => String::new(),
            };
            let shown: Vec<&str> = exposure
                .faults
                .iter()
                .filter(|line| Some(*line) != exposure.own_start.as_ref())
                .map(String::as_str)
                .collect();
            format!(
                "{} fault(s) within the budget of {} (`{}`){then} leave two memberships quorate at once",
                exposure.fault_count,
                self.options.fault_budget,
                shown.join("; ")
            )
        };
        let message = if exposure.partial_mesh.is_empty() {
            format!(
                "{when}: {how}, {}: a split-brain (whatif: `{}`, on {base}; `quorate runbook --configs-out DIR` writes the line-N.conf files, the configs the runbook has at line N)",
                sides.join(" and "),
                exposure.script
            )
        } else {
            format!(
                "after this, {}: {} form a partial mesh (one's running nodelist does not list another), so totem's membership is undefined (candidates {}; real corosync was seen splitting there, a node quorate on each side, docs/known-limitations.md) (whatif: `{}`, on {base}, shows UNSTABLE; `quorate runbook --configs-out DIR` writes the line-N.conf files, the configs the runbook has at line N)",
                exposure.state,
                exposure.partial_mesh.join(", "),
                sides.join(", "),
                exposure.script
            )
        };
        // The newest configuration a node runs or has on disk: what the runbook moves to.
        let newest = (0..shadow.names.len())
            .filter_map(|pos| shadow.disks[pos])
            .max()
            .unwrap_or(shadow.base);
        let mixed = {
            let mut running = (0..shadow.names.len()).filter_map(|pos| shadow.cluster.running_config(pos));
            let first = running.next();
            running.any(|config| Some(config) != first)
        };
        let help = if mixed && newest != shadow.base {
            format!(
                "do not leave nodes running different quorum settings (nodelist, votes, two_node, expected_votes, last_man_standing, auto_tie_breaker, wait_for_all) while a fault can split them: write the new file on every node first, then apply it on all at once with one reload (`corosync-cfgtool -R`, `pcs cluster reload corosync`) where a reload can, or with the whole cluster stopped; `quorate plan --from {base} --to {}` gives the verified order, or says that only a whole-cluster restart is safe (then `--allow-outage`)",
                self.config_file_name(newest)
            )
        } else {
            "keep the cluster at its full strength while a fault can split it: bring each node back (and wait until `corosync-quorumtool -s` shows it) before the next change; `quorate plan --goal rolling-restart` gives the verified order".to_string()
        };
        let mut finding = self.finding("R027", span, message, help);
        finding.whatif = Some(super::super::WhatifReplay {
            config: base,
            script: exposure.script.replace("; ", "\n"),
        });
        finding
    }
}
