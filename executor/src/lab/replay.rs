//! `lab replay`: a what-if script run on the lab, reality next to the prediction.
//!
//! Owns `replay` and its report types (`ReplayReport`, `StepComparison`, `NodeComparison`,
//! `Reading`). The prediction is `sim::whatif::evaluate` on the lab's own corosync.conf, which
//! is exactly what `quorate whatif <lab dir>/corosync.conf -s SCRIPT` prints. Each step is
//! translated into lab actions: `split`/`move`/`join`/`isolate`/`up P:` into partitions (the
//! partition numbers come from the model's own bookkeeping, so both sides agree on who is
//! where), `down`/`restart` into SIGKILL of corosync (a crash), `stop` into SIGTERM (a clean
//! shutdown), `up` into starting corosync, `link` into veth state (whole link or per node) and
//! blackhole routes (`between A B`), `heal` into all of that undone, `expected V on N` into
//! `corosync-quorumtool -e V` inside N, `reload` into `corosync-cfgtool -R` once per ring, and
//! `wait MS` into a real wait. Then the lab is polled (never a fixed sleep) until every running
//! node shows the membership its connectivity implies and nothing changed for a quiet period,
//! every node is read over SSH with the lab inventory, and the readings are compared with the
//! prediction. qdevice steps and `reload FILE` are refused before anything is done. It must
//! not decide quorum itself (the model does) nor render anything (the binary does).

use super::{sys, Lab, POLL_INTERVAL};
use crate::error::{Error, Result};
use crate::status::{Corosync, NodeReport};
use model::quorum::{ClusterState, NodeId, QuorumSettings};
use model::scenario::{self, LinkScope, NodeRef, Step};
use serde::Serialize;
use sim::whatif::{NodeRow, WhatifOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long nothing may change before a reading counts as settled, when no ring change is
/// expected that polling could see (votequorum messages travel in milliseconds).
const QUIET: Duration = Duration::from_millis(1000);

/// Extra quiet time on top of token + consensus after link changes: losing the active knet
/// link can cost a token and form a new ring with the same members.
const LINK_QUIET_SLACK: Duration = Duration::from_millis(1500);

/// Options of one replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Restart corosync on every node (all together, no partition, every link up) before the
    /// first step, so that no earlier history (a re-armed wait_for_all, `-e`) is carried in.
    pub fresh: bool,
}

/// One node's quorum state as compared: what `corosync-quorumtool -s` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// `running`, `stopped` or `unknown` (could not be read).
    pub corosync: &'static str,
    /// Quorate (`None` unless running).
    pub quorate: Option<bool>,
    /// Membership, ascending node ids (`None` unless running).
    pub members: Option<Vec<u32>>,
    /// Total votes (`None` unless running).
    pub total_votes: Option<u32>,
    /// Expected votes (`None` unless running).
    pub expected_votes: Option<u32>,
    /// Quorum (`None` unless running).
    pub quorum: Option<u32>,
}

impl Reading {
    /// The model's prediction for one node.
    pub fn predicted(row: &NodeRow) -> Reading {
        if !row.up {
            return Reading::absent("stopped");
        }
        Reading {
            corosync: "running",
            quorate: Some(row.quorate),
            members: Some(row.members.clone()),
            total_votes: Some(row.total_votes),
            expected_votes: Some(row.expected_votes),
            quorum: Some(row.quorum),
        }
    }

    /// What a node reported.
    pub fn real(corosync: &Corosync) -> Reading {
        match corosync {
            Corosync::Running { quorum } => Reading {
                corosync: "running",
                quorate: Some(quorum.quorate),
                members: Some(quorum.member_ids()),
                total_votes: Some(quorum.total_votes),
                expected_votes: Some(quorum.expected_votes),
                quorum: Some(quorum.quorum),
            },
            Corosync::Stopped { .. } => Reading::absent("stopped"),
            _ => Reading::absent("unknown"),
        }
    }

    fn absent(corosync: &'static str) -> Reading {
        Reading {
            corosync,
            quorate: None,
            members: None,
            total_votes: None,
            expected_votes: None,
            quorum: None,
        }
    }

    /// The names of the fields in which `self` and `other` differ (`corosync`, `quorate`,
    /// `members`, `total_votes`, `expected_votes`, `quorum`).
    pub fn differences(&self, other: &Reading) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.corosync != other.corosync {
            fields.push("corosync");
        }
        if self.quorate != other.quorate {
            fields.push("quorate");
        }
        if self.members != other.members {
            fields.push("members");
        }
        if self.total_votes != other.total_votes {
            fields.push("total_votes");
        }
        if self.expected_votes != other.expected_votes {
            fields.push("expected_votes");
        }
        if self.quorum != other.quorum {
            fields.push("quorum");
        }
        fields
    }
}

/// One node after one step: prediction, reality and where they differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeComparison {
    /// Node name in the lab.
    pub name: String,
    /// Node id.
    pub nodeid: u32,
    /// What `quorate whatif` predicts.
    pub predicted: Reading,
    /// What the node reported over SSH.
    pub real: Reading,
    /// Fields that differ (empty: agreement, or the step was not compared).
    pub mismatches: Vec<&'static str>,
    /// Fields that differ but that the prediction flags as depending on the totem delivery
    /// order of the step's ring change (only `quorate`): real corosync may show either value,
    /// by timing, so they are not mismatches.
    pub order_dependent: Vec<&'static str>,
}

/// One step of the replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepComparison {
    /// The step as written (`start` for the state before the first step).
    pub command: String,
    /// 1-based line in the script (`None` for `start`).
    pub line: Option<u32>,
    /// What the lab did, in order.
    pub actions: Vec<String>,
    /// Whether the readings were compared (not when the model predicts an unstable
    /// membership: corosync then settles on one of several memberships).
    pub compared: bool,
    /// Whether reality settled (expected memberships, then a quiet period) in time.
    pub settled: bool,
    /// How long settling took, in ms.
    pub settle_ms: u64,
    /// The model's notes and the lab's (a refused `corosync-quorumtool -e`, ...).
    pub notes: Vec<String>,
    /// One entry per node, in lab order.
    pub nodes: Vec<NodeComparison>,
}

impl StepComparison {
    /// Whether any node disagrees with the prediction.
    pub fn mismatched(&self) -> bool {
        self.nodes.iter().any(|node| !node.mismatches.is_empty())
    }
}

/// A whole replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// The lab name.
    pub lab: String,
    /// The corosync.conf the prediction was made from (the lab's).
    pub config: PathBuf,
    /// `start`, then one entry per step.
    pub steps: Vec<StepComparison>,
    /// Node readings that differ from the prediction, over all steps.
    pub mismatches: usize,
}

/// Link faults the replay has imposed, mirroring the script's (`link down|up`).
#[derive(Clone, Debug, Default)]
struct Faults {
    /// Links down everywhere.
    links_down: BTreeSet<u8>,
    /// Links down at one node (by node id).
    node_links_down: BTreeMap<NodeId, BTreeSet<u8>>,
    /// Links down between two nodes: (link, lower id, higher id).
    pair_links_down: BTreeSet<(u8, NodeId, NodeId)>,
}

impl Faults {
    /// Whether `nodeid`'s end of `link` is down (its veth).
    fn port_down(&self, nodeid: NodeId, link: u8) -> bool {
        self.links_down.contains(&link)
            || self
                .node_links_down
                .get(&nodeid)
                .is_some_and(|links| links.contains(&link))
    }

    fn any(&self) -> bool {
        !self.links_down.is_empty()
            || self.node_links_down.values().any(|links| !links.is_empty())
            || !self.pair_links_down.is_empty()
    }
}

/// The settings the prediction uses: the lab's corosync.conf, read as `quorate whatif` reads
/// a file.
fn lab_settings(path: &Path) -> Result<QuorumSettings> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    let (document, _) = model::syntax::parse(&text);
    let (config, _) = model::config::Config::from_document(&document);
    Ok(config.quorum_settings())
}

/// The node id a script names: a node id, or a nodelist name (`name`, else `ring0_addr`).
fn resolve(settings: &QuorumSettings, node: &NodeRef) -> Option<NodeId> {
    match node {
        NodeRef::Id(nodeid) => Some(*nodeid),
        NodeRef::Name(name) => settings
            .nodes
            .iter()
            .find(|entry| entry.name == *name)
            .map(|entry| entry.nodeid),
    }
}

/// Steps the lab cannot perform, refused before anything is done.
fn check_supported(script: &scenario::Script) -> Result<()> {
    for (index, step) in script.steps.iter().enumerate() {
        let (line, column) = script.positions.get(index).copied().unwrap_or((0, 0));
        let reason = match step {
            Step::Qdevice { .. } => Some(
                "qdevice steps are not supported by the lab (it runs no corosync-qnetd); \
                 replay this scenario with `quorate whatif` only",
            ),
            Step::Reload { file: Some(_) } => Some(
                "`reload FILE` is not supported by the lab (it would have to rewrite FILE to lab \
                 addresses); use `reload` to reload the unchanged configuration",
            ),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(Error::Usage(format!(
                "script line {line}, column {column}: `{step}`: {reason}"
            )));
        }
    }
    Ok(())
}

/// Runs `script_text` on `lab` and compares every node after every step with what
/// `quorate whatif` predicts for the lab's configuration. `progress` gets one line per step.
///
/// The lab must hold a formed cluster (every node running, no partition, no link down)
/// unless `options.fresh` restarts it. Mismatches are data in the report, not errors; errors
/// are a script that does not parse or that the lab cannot perform, and lab failures.
pub fn replay(
    lab: &mut Lab,
    script_text: &str,
    options: &ReplayOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ReplayReport> {
    let config_path = lab.dir.join("corosync.conf");
    let settings = lab_settings(&config_path)?;
    let mut no_reload = |file: &str| -> std::result::Result<QuorumSettings, String> {
        Err(format!("the lab cannot reload `{file}`"))
    };
    let script = scenario::parse(script_text).map_err(|error| Error::Usage(format!("script: {error}")))?;
    check_supported(&script)?;
    let prediction = sim::whatif::evaluate(&settings, script_text, &WhatifOptions::default(), &mut no_reload)
        .map_err(|error| Error::Usage(format!("script: {error}")))?;
    if let Some(error) = &prediction.startup_error {
        return Err(Error::Usage(format!(
            "corosync refuses this configuration ({error}); nothing to replay"
        )));
    }
    for node in &lab.state.nodes {
        if !settings.nodes.iter().any(|entry| entry.nodeid == node.nodeid) {
            return Err(Error::Usage(format!(
                "lab node {} (id {}) is not in {}",
                node.name,
                node.nodeid,
                config_path.display()
            )));
        }
    }
    let mut driver = Driver {
        settings: settings.clone(),
        tracker: ClusterState::new(&settings).map_err(|error| Error::Usage(error.to_string()))?,
        faults: Faults::default(),
        blackholes: BTreeSet::new(),
    };
    if options.fresh {
        progress("restarting corosync on every node (fresh start)");
        driver.fresh_start(lab)?;
    } else {
        let clean = lab.state.partition.is_none()
            && lab
                .state
                .nodes
                .iter()
                .all(|node| node.links_down.is_empty() && node.corosync_pid.is_some_and(sys::alive));
        if !clean {
            return Err(Error::Lab {
                dir: lab.dir.clone(),
                message: "replay starts from a formed cluster (every node running, no partition, \
                          every link up); use `lab replay --fresh`, or `lab heal` and `lab start`"
                    .into(),
            });
        }
    }

    let mut steps = Vec::with_capacity(prediction.steps.len());
    let start_prediction = prediction
        .steps
        .first()
        .ok_or_else(|| Error::Usage("the prediction has no start state".into()))?;
    let (settle, settle_ms, settle_note) = driver.settle(lab, false, QUIET, lab.formation_limit());
    let mut start = driver.compare(lab, start_prediction, Vec::new(), settle, settle_ms)?;
    start.notes.extend(settle_note);
    progress(&summary_line(&start));
    steps.push(start);

    for (index, step) in script.steps.iter().enumerate() {
        let Some(predicted) = prediction.steps.get(index + 1) else {
            break;
        };
        let had_faults = driver.faults.any();
        driver.tracker.apply(&driver.settings, step);
        let Performed {
            actions,
            mut notes,
            refused,
        } = driver.perform(lab, step)?;
        if let Some(refused) = refused.filter(|refused| *refused != predicted.rejected) {
            notes.push(format!(
                "lab: corosync-quorumtool -e was {} but the model {} it",
                if refused { "refused" } else { "accepted" },
                if predicted.rejected { "rejects" } else { "accepts" }
            ));
        }
        let long_quiet = matches!(step, Step::Link { .. }) || (matches!(step, Step::Heal) && had_faults);
        let quiet = if long_quiet {
            Duration::from_millis(lab.state.timing.membership_change_ms()) + LINK_QUIET_SLACK
        } else {
            QUIET
        };
        let starts = matches!(step, Step::Up(_) | Step::Restart(_));
        let limit = if starts {
            lab.formation_limit()
        } else {
            lab.change_limit()
        };
        let (settled, settle_ms, settle_note) = driver.settle(lab, predicted.unstable, quiet, limit);
        notes.extend(settle_note);
        let mut comparison = driver.compare(lab, predicted, actions, settled, settle_ms)?;
        comparison.notes.extend(notes);
        progress(&summary_line(&comparison));
        steps.push(comparison);
    }
    let mismatches = steps
        .iter()
        .flat_map(|step| &step.nodes)
        .filter(|node| !node.mismatches.is_empty())
        .count();
    Ok(ReplayReport {
        lab: lab.state.name.clone(),
        config: config_path,
        steps,
        mismatches,
    })
}

fn summary_line(step: &StepComparison) -> String {
    let verdict = if !step.compared {
        "not compared (unstable in the model)"
    } else if step.mismatched() {
        "MISMATCH"
    } else if step.nodes.iter().any(|node| !node.order_dependent.is_empty()) {
        "agrees (a quorate flag differs where the prediction is order-dependent)"
    } else {
        "agrees"
    };
    format!(
        "{}: {verdict} (settled in {:.1} s)",
        step.command,
        step.settle_ms as f64 / 1000.0
    )
}

/// What the lab did for one step.
struct Performed {
    /// The actions, for the reader.
    actions: Vec<String>,
    /// Remarks (a command that failed).
    notes: Vec<String>,
    /// For `expected`: whether corosync-quorumtool refused the new value.
    refused: Option<bool>,
}

/// The replay's own bookkeeping next to the lab.
struct Driver {
    /// The configuration (the lab's).
    settings: QuorumSettings,
    /// The model run alongside, only for who is in which partition.
    tracker: ClusterState,
    /// Link faults in force.
    faults: Faults,
    /// Blackhole routes in place: (link, node id, peer id) means node drops traffic to peer
    /// on link.
    blackholes: BTreeSet<(u8, NodeId, NodeId)>,
}

impl Driver {
    fn index_of(&self, lab: &Lab, nodeid: NodeId) -> Result<usize> {
        lab.state
            .nodes
            .iter()
            .position(|node| node.nodeid == nodeid)
            .ok_or_else(|| Error::Usage(format!("node id {nodeid} is not a lab node")))
    }

    fn indexes(&self, lab: &Lab, nodes: &[NodeRef]) -> Result<Vec<usize>> {
        nodes
            .iter()
            .map(|node| {
                let nodeid = resolve(&self.settings, node)
                    .ok_or_else(|| Error::Usage(format!("unknown node `{node}`")))?;
                self.index_of(lab, nodeid)
            })
            .collect()
    }

    /// Stops every corosync, removes every fault, starts them all and waits for the cluster.
    fn fresh_start(&mut self, lab: &mut Lab) -> Result<()> {
        for index in 0..lab.state.nodes.len() {
            crash(lab, index)?;
        }
        self.faults = Faults::default();
        self.apply_links(lab)?;
        for node in &lab.state.nodes {
            // Routes a replay in an earlier process may have left.
            let _ = sys::run("ip", &["-n", &node.netns, "route", "flush", "type", "blackhole"]);
        }
        self.blackholes.clear();
        lab.state.partition = None;
        lab.save()?;
        lab.apply_partition()?;
        for index in 0..lab.state.nodes.len() {
            lab.start_corosync(index)?;
        }
        lab.wait_converged(lab.formation_limit())?;
        Ok(())
    }

    /// Does what `step` says to the lab (the tracker has applied it already).
    fn perform(&mut self, lab: &mut Lab, step: &Step) -> Result<Performed> {
        let mut actions = Vec::new();
        let mut notes = Vec::new();
        let mut refused = None;
        // 1. Nodes that go away.
        match step {
            Step::Down(nodes) | Step::Restart(nodes) => {
                for index in self.indexes(lab, nodes)? {
                    if crash(lab, index)? {
                        actions.push(format!("kill -9 corosync on {}", lab.state.nodes[index].name));
                    }
                }
            }
            Step::Stop(nodes) => {
                for index in self.indexes(lab, nodes)? {
                    let name = lab.state.nodes[index].name.clone();
                    if lab.state.nodes[index].corosync_pid.is_some_and(sys::alive) {
                        lab.stop(&name, false)?;
                        actions.push(format!("stop corosync on {name} (SIGTERM)"));
                    }
                }
            }
            _ => {}
        }
        // 2. Connectivity: link faults, then partitions.
        match step {
            Step::Link { link, up, scope } => {
                self.record_link(lab, *link, *up, scope)?;
                actions.extend(self.apply_links(lab)?);
            }
            Step::Heal => {
                self.faults = Faults::default();
                actions.extend(self.apply_links(lab)?);
            }
            _ => {}
        }
        if let Some(action) = self.apply_groups(lab)? {
            actions.push(action);
        }
        // 3. Nodes that start.
        match step {
            Step::Up(specs) => {
                for spec in specs {
                    for index in self.indexes(lab, &spec.nodes)? {
                        if start(lab, index)? {
                            actions.push(format!("start corosync on {}", lab.state.nodes[index].name));
                        }
                    }
                }
            }
            Step::Restart(nodes) => {
                for index in self.indexes(lab, nodes)? {
                    if start(lab, index)? {
                        actions.push(format!("start corosync on {}", lab.state.nodes[index].name));
                    }
                }
            }
            _ => {}
        }
        // 4. Commands and time.
        match step {
            Step::Expected { votes, node } => {
                let index = self.indexes(lab, std::slice::from_ref(node))?[0];
                let name = lab.state.nodes[index].name.clone();
                let votes_text = votes.to_string();
                actions.push(format!("corosync-quorumtool -e {votes} on {name}"));
                let output = node_command(lab, index, &["corosync-quorumtool", "-e", &votes_text])?;
                refused = Some(!output.status.success());
                if !output.status.success() {
                    notes.push(format!(
                        "lab: corosync-quorumtool -e {votes} on {name} was refused ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ));
                }
            }
            Step::Reload { .. } => {
                for index in self.one_node_per_ring(lab) {
                    let name = lab.state.nodes[index].name.clone();
                    actions.push(format!("corosync-cfgtool -R on {name}"));
                    let output = node_command(lab, index, &["corosync-cfgtool", "-R"])?;
                    if !output.status.success() {
                        notes.push(format!(
                            "lab: corosync-cfgtool -R on {name} failed ({}): {}",
                            output.status,
                            String::from_utf8_lossy(&output.stderr).trim()
                        ));
                    }
                }
            }
            Step::Wait(ms) => {
                actions.push(format!("wait {ms} ms"));
                std::thread::sleep(Duration::from_millis(*ms));
            }
            _ => {}
        }
        Ok(Performed {
            actions,
            notes,
            refused,
        })
    }

    /// Records a `link down|up` step in the faults, as the model does.
    fn record_link(&mut self, lab: &Lab, link: u8, up: bool, scope: &LinkScope) -> Result<()> {
        if !lab.state.links.contains(&link) {
            return Err(Error::Usage(format!(
                "the lab has no link {link} (links: {:?})",
                lab.state.links
            )));
        }
        match scope {
            LinkScope::All if up => {
                self.faults.links_down.remove(&link);
                for links in self.faults.node_links_down.values_mut() {
                    links.remove(&link);
                }
                self.faults
                    .pair_links_down
                    .retain(|(pair_link, _, _)| *pair_link != link);
            }
            LinkScope::All => {
                self.faults.links_down.insert(link);
            }
            LinkScope::Nodes(nodes) => {
                for node in nodes {
                    let nodeid = resolve(&self.settings, node)
                        .ok_or_else(|| Error::Usage(format!("unknown node `{node}`")))?;
                    let links = self.faults.node_links_down.entry(nodeid).or_default();
                    if up {
                        links.remove(&link);
                    } else {
                        links.insert(link);
                    }
                }
            }
            LinkScope::Between(a, b) => {
                let unknown = |node: &NodeRef| Error::Usage(format!("unknown node `{node}`"));
                let a = resolve(&self.settings, a).ok_or_else(|| unknown(a))?;
                let b = resolve(&self.settings, b).ok_or_else(|| unknown(b))?;
                if a == b {
                    return Err(Error::Usage("link between a node and itself".into()));
                }
                let entry = (link, a.min(b), a.max(b));
                if up {
                    self.faults.pair_links_down.remove(&entry);
                } else {
                    self.faults.pair_links_down.insert(entry);
                }
            }
        }
        Ok(())
    }

    /// Sets every veth and blackhole route as the faults say; returns what changed.
    fn apply_links(&mut self, lab: &mut Lab) -> Result<Vec<String>> {
        let mut actions = Vec::new();
        let switch = lab.state.switch_netns.clone();
        for node in &mut lab.state.nodes {
            for link in node.addresses.keys().copied().collect::<Vec<u8>>() {
                let want_down = self.faults.port_down(node.nodeid, link);
                if want_down == node.links_down.contains(&link) {
                    continue;
                }
                let port = node.switch_port(link);
                sys::run(
                    "ip",
                    &[
                        "-n",
                        &switch,
                        "link",
                        "set",
                        &port,
                        if want_down { "down" } else { "up" },
                    ],
                )?;
                if want_down {
                    node.links_down.insert(link);
                } else {
                    node.links_down.remove(&link);
                }
                actions.push(format!(
                    "link {link} {} at {}",
                    if want_down { "down" } else { "up" },
                    node.name
                ));
            }
        }
        lab.save()?;
        let mut wanted = BTreeSet::new();
        for (link, a, b) in &self.faults.pair_links_down {
            wanted.insert((*link, *a, *b));
            wanted.insert((*link, *b, *a));
        }
        let removed: Vec<_> = self.blackholes.difference(&wanted).copied().collect();
        let added: Vec<_> = wanted.difference(&self.blackholes).copied().collect();
        for (route, add) in removed
            .iter()
            .map(|route| (route, false))
            .chain(added.iter().map(|route| (route, true)))
        {
            let (link, nodeid, peer) = *route;
            let node = &lab.state.nodes[self.index_of(lab, nodeid)?];
            let peer_node = &lab.state.nodes[self.index_of(lab, peer)?];
            // A node without an address on the link has nothing to block there.
            let Some(peer_address) = peer_node.addresses.get(&link) else {
                continue;
            };
            if !node.addresses.contains_key(&link) {
                continue;
            }
            let target = format!("{peer_address}/32");
            sys::run(
                "ip",
                &[
                    "-n",
                    &node.netns,
                    "route",
                    if add { "add" } else { "del" },
                    "blackhole",
                    &target,
                ],
            )?;
            if nodeid < peer {
                actions.push(format!(
                    "link {link} {} between {} and {}",
                    if add { "down" } else { "up" },
                    node.name,
                    peer_node.name
                ));
            }
        }
        self.blackholes = wanted;
        Ok(actions)
    }

    /// Puts the lab's partition where the model's partitions are. Returns the action, if
    /// anything changed.
    fn apply_groups(&self, lab: &mut Lab) -> Result<Option<String>> {
        let mut groups: BTreeMap<u8, Vec<String>> = BTreeMap::new();
        for node in &lab.state.nodes {
            let group = self
                .tracker
                .position(node.nodeid)
                .and_then(|pos| self.tracker.partition(pos))
                .unwrap_or(0);
            groups.entry(group).or_default().push(node.name.clone());
        }
        let wanted: Option<Vec<Vec<String>>> = (groups.len() > 1).then(|| groups.into_values().collect());
        let normalise = |partition: &Option<Vec<Vec<String>>>| -> BTreeSet<BTreeSet<String>> {
            partition
                .iter()
                .flatten()
                .map(|group| group.iter().cloned().collect())
                .collect()
        };
        if normalise(&wanted) == normalise(&lab.state.partition) {
            return Ok(None);
        }
        let action = match &wanted {
            Some(groups) => format!(
                "partition {}",
                groups
                    .iter()
                    .map(|group| group.join(","))
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            None => "no partition".to_string(),
        };
        lab.state.partition = wanted;
        lab.save()?;
        lab.apply_partition()?;
        Ok(Some(action))
    }

    /// Whether running nodes `a` and `b` can exchange totem traffic.
    fn connected(&self, lab: &Lab, a: usize, b: usize) -> bool {
        let (node_a, node_b) = (&lab.state.nodes[a], &lab.state.nodes[b]);
        let group = |nodeid: NodeId| {
            self.tracker
                .position(nodeid)
                .and_then(|pos| self.tracker.partition(pos))
        };
        if group(node_a.nodeid) != group(node_b.nodeid) {
            return false;
        }
        node_a.addresses.keys().any(|link| {
            node_b.addresses.contains_key(link)
                && !self.faults.port_down(node_a.nodeid, *link)
                && !self.faults.port_down(node_b.nodeid, *link)
                && !self.faults.pair_links_down.contains(&(
                    *link,
                    node_a.nodeid.min(node_b.nodeid),
                    node_a.nodeid.max(node_b.nodeid),
                ))
        })
    }

    /// The membership each running node should show (by lab index), or `None` when the
    /// connectivity is not a union of cliques.
    fn expected_members(&self, lab: &Lab) -> Option<BTreeMap<usize, Vec<u32>>> {
        let running: Vec<usize> = (0..lab.state.nodes.len())
            .filter(|index| lab.state.nodes[*index].corosync_pid.is_some_and(sys::alive))
            .collect();
        let mut expected = BTreeMap::new();
        for a in &running {
            let mut reach: Vec<u32> = running
                .iter()
                .filter(|b| *a == **b || self.connected(lab, *a, **b))
                .map(|b| lab.state.nodes[*b].nodeid)
                .collect();
            reach.sort_unstable();
            expected.insert(*a, reach);
        }
        let cliques = expected.iter().all(|(_, reach)| {
            reach.iter().all(|member| {
                lab.state
                    .nodes
                    .iter()
                    .position(|node| node.nodeid == *member)
                    .and_then(|index| expected.get(&index))
                    == Some(reach)
            })
        });
        cliques.then_some(expected)
    }

    /// One running node per distinct ring (for `corosync-cfgtool -R`, which reloads its
    /// ring only).
    fn one_node_per_ring(&self, lab: &Lab) -> Vec<usize> {
        let reports = lab.read_nsenter();
        let mut seen: BTreeSet<Vec<u32>> = BTreeSet::new();
        let mut chosen = Vec::new();
        for (index, report) in reports.iter().enumerate() {
            if let Some(quorum) = report.corosync.quorum() {
                if seen.insert(quorum.member_ids()) {
                    chosen.push(index);
                }
            }
        }
        chosen
    }

    /// Polls (through nsenter) until every running node shows the expected membership and no
    /// node's reading (membership, ring id, quorum fields) changed for `quiet`; with
    /// `unstable` or no expectation, until nothing changed for token + consensus. Returns
    /// whether it settled within `limit`, how long it took, and a note if it did not.
    fn settle(
        &self,
        lab: &Lab,
        unstable: bool,
        quiet: Duration,
        limit: Duration,
    ) -> (bool, u64, Option<String>) {
        let started = Instant::now();
        let expected = if unstable {
            None
        } else {
            self.expected_members(lab)
        };
        let quiet = if expected.is_none() {
            quiet.max(Duration::from_millis(lab.state.timing.membership_change_ms()))
        } else {
            quiet
        };
        let mut previous: Option<Vec<String>> = None;
        let mut stable_since = Instant::now();
        loop {
            let reports = lab.read_nsenter();
            let signatures: Vec<String> = reports.iter().map(signature).collect();
            if previous.as_ref() != Some(&signatures) {
                stable_since = Instant::now();
                previous = Some(signatures);
            }
            let members_ok = match &expected {
                None => true,
                Some(expected) => reports.iter().enumerate().all(|(index, report)| {
                    match (expected.get(&index), report.corosync.quorum()) {
                        (Some(want), Some(quorum)) => quorum.member_ids() == *want,
                        (Some(_), None) => false,
                        (None, _) => !matches!(report.corosync, Corosync::Running { .. }),
                    }
                }),
            };
            let elapsed = started.elapsed();
            if members_ok && stable_since.elapsed() >= quiet {
                return (true, elapsed.as_millis() as u64, None);
            }
            if elapsed > limit {
                let seen: Vec<String> = reports
                    .iter()
                    .map(|report| format!("{} {}", report.name, signature(report)))
                    .collect();
                let note = format!(
                    "lab: did not settle within {} s (expected memberships {:?}); last seen: {}",
                    limit.as_secs(),
                    expected.map(|map| map.into_values().collect::<Vec<_>>()),
                    seen.join("; ")
                );
                return (false, elapsed.as_millis() as u64, Some(note));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Reads every node over SSH and compares it with `predicted`.
    fn compare(
        &self,
        lab: &Lab,
        predicted: &sim::whatif::StepReport,
        actions: Vec<String>,
        settled: bool,
        settle_ms: u64,
    ) -> Result<StepComparison> {
        let reports = lab.read_ssh()?;
        let compared = !predicted.unstable;
        let mut notes: Vec<String> = predicted.notes.clone();
        let mut nodes = Vec::with_capacity(reports.len());
        for report in &reports {
            let real = Reading::real(&report.corosync);
            if let Corosync::Unknown { error } = &report.corosync {
                notes.push(format!("lab: {} could not be read: {error}", report.name));
            }
            let row = predicted.nodes.iter().find(|row| row.nodeid == report.nodeid);
            let predicted_reading = row.map_or_else(|| Reading::absent("unknown"), Reading::predicted);
            let mut mismatches = if compared {
                predicted_reading.differences(&real)
            } else {
                Vec::new()
            };
            let flagged = row.is_some_and(|row| row.order_dependent);
            let order_dependent = accept_order_dependent(&mut mismatches, flagged);
            if !order_dependent.is_empty() {
                notes.push(format!(
                    "{}: quorate differs from the prediction, which depends on message delivery \
                     order (either value accepted)",
                    report.name
                ));
            }
            nodes.push(NodeComparison {
                name: report.name.clone(),
                nodeid: report.nodeid,
                predicted: predicted_reading,
                real,
                mismatches,
                order_dependent,
            });
        }
        Ok(StepComparison {
            command: predicted.command.clone(),
            line: predicted.line,
            actions,
            compared,
            settled,
            settle_ms,
            notes,
            nodes,
        })
    }
}

/// Moves `quorate` out of `mismatches` when the prediction flags the node's quorate flag as
/// order-dependent (`flagged`); returns the fields moved. Every other field stays strict.
fn accept_order_dependent(mismatches: &mut Vec<&'static str>, flagged: bool) -> Vec<&'static str> {
    if !flagged {
        return Vec::new();
    }
    let before = mismatches.len();
    mismatches.retain(|field| *field != "quorate");
    if mismatches.len() == before {
        Vec::new()
    } else {
        vec!["quorate"]
    }
}

/// What polling compares between two readings of one node.
fn signature(report: &NodeReport) -> String {
    match &report.corosync {
        Corosync::Running { quorum } => format!(
            "ring {} members {:?} quorate {} votes {} expected {} quorum {}",
            quorum.ring_id,
            quorum.member_ids(),
            quorum.quorate,
            quorum.total_votes,
            quorum.expected_votes,
            quorum.quorum
        ),
        Corosync::Stopped { .. } => "stopped".into(),
        _ => "unknown".into(),
    }
}

/// Kills corosync on node `index` with SIGKILL (a crash: no clean leave). Returns whether it
/// was running.
fn crash(lab: &mut Lab, index: usize) -> Result<bool> {
    let Some(pid) = lab.state.nodes[index].corosync_pid.filter(|pid| sys::alive(*pid)) else {
        lab.state.nodes[index].corosync_pid = None;
        lab.save()?;
        return Ok(false);
    };
    sys::kill(&[pid], "KILL");
    let deadline = Instant::now() + Duration::from_secs(10);
    while sys::alive(pid) {
        if Instant::now() > deadline {
            return Err(Error::Lab {
                dir: lab.dir.clone(),
                message: format!(
                    "node {}: corosync (pid {pid}) survived SIGKILL",
                    lab.state.nodes[index].name
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    lab.state.nodes[index].corosync_pid = None;
    lab.save()?;
    Ok(true)
}

/// Starts corosync on node `index` unless it runs. Returns whether it started it.
fn start(lab: &mut Lab, index: usize) -> Result<bool> {
    if lab.state.nodes[index].corosync_pid.is_some_and(sys::alive) {
        return Ok(false);
    }
    lab.start_corosync(index)?;
    Ok(true)
}

/// Runs `command` inside node `index`.
fn node_command(lab: &Lab, index: usize, command: &[&str]) -> Result<std::process::Output> {
    let holder = lab.holder(index)?;
    sys::node_output(holder, command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_name_the_fields_that_differ() {
        let row = |quorate: bool, members: Vec<u32>| NodeRow {
            nodeid: 1,
            name: "n1".into(),
            up: true,
            partition: Some(0),
            members,
            quorate,
            votes: 1,
            expected_votes: 3,
            highest_expected: 3,
            quorum: 2,
            total_votes: 2,
            flags: Vec::new(),
            why: String::new(),
            order_dependent: false,
            proxmox: None,
        };
        let predicted = Reading::predicted(&row(true, vec![1, 2]));
        assert_eq!(predicted.differences(&predicted), Vec::<&str>::new());
        let other = Reading::predicted(&row(false, vec![1]));
        assert_eq!(predicted.differences(&other), vec!["quorate", "members"]);
        let stopped = Reading::real(&Corosync::Stopped {
            reason: "gone".into(),
        });
        assert_eq!(
            predicted.differences(&stopped),
            vec![
                "corosync",
                "quorate",
                "members",
                "total_votes",
                "expected_votes",
                "quorum"
            ]
        );
        let mut down = row(false, Vec::new());
        down.up = false;
        assert_eq!(
            Reading::predicted(&down).differences(&stopped),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn an_order_dependent_quorate_flag_is_not_a_mismatch() {
        let mut mismatches = vec!["quorate", "members"];
        assert_eq!(accept_order_dependent(&mut mismatches, true), vec!["quorate"]);
        assert_eq!(mismatches, vec!["members"]);
        let mut mismatches = vec!["quorate"];
        assert_eq!(accept_order_dependent(&mut mismatches, false), Vec::<&str>::new());
        assert_eq!(mismatches, vec!["quorate"]);
        let mut mismatches = vec!["quorum"];
        assert_eq!(accept_order_dependent(&mut mismatches, true), Vec::<&str>::new());
        assert_eq!(mismatches, vec!["quorum"]);
    }

    #[test]
    fn qdevice_and_reload_file_are_refused_with_their_place() {
        let script = scenario::parse("split 1:1\nqdevice on 1").unwrap();
        let error = check_supported(&script).unwrap_err().to_string();
        assert!(
            error.starts_with("script line 2, column 1: `qdevice on 1`: qdevice steps are not supported"),
            "{error}"
        );
        let script = scenario::parse("reload new.conf").unwrap();
        assert!(check_supported(&script)
            .unwrap_err()
            .to_string()
            .contains("`reload FILE` is not supported"));
        assert!(check_supported(&scenario::parse("reload; heal; link down 0 between 1 2").unwrap()).is_ok());
    }

    #[test]
    fn faults_mirror_the_scripts_link_semantics() {
        let mut faults = Faults::default();
        faults.links_down.insert(0);
        assert!(faults.port_down(3, 0));
        assert!(!faults.port_down(3, 1));
        faults.node_links_down.entry(2).or_default().insert(1);
        assert!(faults.port_down(2, 1) && !faults.port_down(1, 1));
        assert!(faults.any());
        assert!(!Faults::default().any());
    }
}
