//! The step interpreter: one scenario step (or event) applied to a `ClusterState`.
//!
//! Owns `ClusterState::apply` (the whole-cluster form: one file on every disk),
//! `ClusterState::apply_event` (the per-node form: an `action::Event`, which carries the
//! files it writes), `Files` (where a step's configuration comes from) and the resolution
//! of the nodes a step names. It routes each step to the transitions of `cluster`; it must
//! not implement votequorum behaviour itself. A child module of `cluster` (it reads
//! private fields).

use super::{ClusterState, OrderBranch, StepOutcome};
use crate::action::{ConfigFile, Event, FileError};
use crate::quorum::membership::LinkFaults;
use crate::quorum::node::MAX_NODES;
use crate::quorum::node_set::LinkMask;
use crate::quorum::settings::QuorumSettings;
use crate::scenario::{LinkScope, NodeRef, Step};
use crate::Error;

/// What one step gets its configuration files from.
#[derive(Clone, Copy)]
pub(super) enum Files<'a> {
    /// The whole-cluster form (`apply`): this is the file on every node's disk now.
    Everywhere(&'a QuorumSettings),
    /// The per-node form (`apply_event`): the file the event carries, if any; every other
    /// node keeps the file on its disk.
    Event(Option<&'a ConfigFile>),
}

impl ClusterState {
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

    pub(super) fn apply_files(&mut self, files: Files<'_>, step: &Step) -> StepOutcome {
        let mut outcome = StepOutcome::default();
        if let Err(reason) = self.apply_step(files, step, &mut outcome, None) {
            outcome.rejected = true;
            outcome.notes.push(reason.to_string());
        }
        self.finish(outcome)
    }

    pub(super) fn apply_step(
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
                let targets = self.resolve_all(nodes)?;
                if self.qnetd_modelled() {
                    // qnetd decides the vote: on|off starts or stops the qdevice daemons.
                    self.qdevice_daemon_change(*on, &targets, outcome);
                } else {
                    for pos in targets {
                        self.qdevice(pos, *on, outcome);
                    }
                }
            }
            Step::Qnetd(change) => self.qnetd_change(change, outcome)?,
            Step::Heuristics { pass, nodes } => {
                let targets = self.resolve_all(nodes)?;
                self.heuristics_change(*pass, &targets, outcome);
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
                self.qnetd_heal();
            }
            Step::Expected { votes, node } => {
                let pos = self.resolve(node)?;
                self.set_expected(pos, *votes, outcome);
            }
            Step::Votes { votes, target, node } => {
                let pos = self.resolve(node)?;
                let target = self.resolve(target)?;
                self.set_votes(pos, target, *votes, outcome);
            }
            Step::Install { file, nodes } => {
                let targets = self.resolve_all(nodes)?;
                match files {
                    Files::Event(Some(installed)) => self.install(&installed.config, &targets),
                    Files::Everywhere(_) | Files::Event(None) => {
                        return Err(Error::File(FileError {
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

    /// The position of `node`. A name is looked up in the nodelists of the nodes' disk
    /// files, in position order (the whole-cluster form: the one file).
    pub(super) fn resolve(&self, node: &NodeRef) -> Result<usize, Error> {
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

    pub(super) fn resolve_all<'a>(
        &self,
        nodes: impl IntoIterator<Item = &'a NodeRef>,
    ) -> Result<Vec<usize>, Error> {
        nodes.into_iter().map(|node| self.resolve(node)).collect()
    }
}
