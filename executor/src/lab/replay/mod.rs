//! `lab replay`: a what-if script run on the lab, reality next to the prediction.
//!
//! Owns `replay`, the driver that does each step to the lab; the report types and the
//! comparison itself are in `compare` (pure). The prediction is `sim::whatif::evaluate` on the lab's own corosync.conf, which
//! is exactly what `quorate whatif <lab dir>/corosync.conf -s SCRIPT` prints. Each step is
//! translated into lab actions: `split`/`move`/`join`/`isolate`/`up P:` into partitions (the
//! partition numbers come from the model's own bookkeeping, so both sides agree on who is
//! where), `down`/`restart` into SIGKILL of corosync (a crash), `stop` into SIGTERM (a clean
//! shutdown), `up` into starting corosync, `link` into veth state (whole link or per node) and
//! blackhole routes (`between A B`), `heal` into all of that undone, `expected V on N` into
//! `corosync-quorumtool -e V` inside N, `votes V [of T] on N` into `corosync-quorumtool -v V
//! [-n T]` inside N, `reload` into `corosync-cfgtool -R` once per ring, and
//! `wait MS` into a real wait, `install FILE on NODES` into FILE written (atomically) as those
//! nodes' corosync.conf and `reload FILE` into FILE written on every node, then a reload (FILE
//! read beside the script, else from the working directory, as `quorate whatif` reads it, and
//! rewritten to lab addresses as `lab up --config` rewrites a file, unless its addresses are
//! already the lab's own: `ScriptFiles`). Link faults are not tracked here: the model run alongside (the
//! tracker, a `ClusterState`) records them as the script says, and the lab's veths and routes
//! are set to match; who should see whom afterwards is asked of `model::quorum::membership`
//! through `topology`. Commands inside nodes go through `transport::Remote` (nsenter). Then
//! the lab is polled (never a fixed sleep) until every running
//! node shows the membership its connectivity implies and nothing changed for a quiet period,
//! every node is read over SSH with the lab inventory, and the readings are compared with the
//! prediction. qdevice steps are refused before anything is done. It must
//! not decide quorum itself (the model does) nor render anything (the binary does).

pub mod compare;

use super::observe::{Expected, SettleSpec};
use super::topology;
use super::{sys, Lab};
use crate::error::{Error, Result};
use crate::transport::Remote;
use compare::summary_line;
pub use compare::{compare, NodeComparison, Reading, ReplayReport, StepComparison};
use model::quorum::membership::LinkFaults;
use model::quorum::{ClusterState, LinkMask, NodeConfig, NodeId, QuorumSettings};
use model::scenario::{self, NodeRef, Step};
use sim::whatif::WhatifOptions;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long nothing may change before a reading counts as settled, when no ring change is
/// expected that polling could see (votequorum messages travel in milliseconds).
const QUIET: Duration = Duration::from_millis(1000);

/// Extra quiet time on top of token + consensus after link changes: losing the active knet
/// link can cost a token and form a new ring with the same members.
const LINK_QUIET_SLACK: Duration = Duration::from_millis(1500);

/// With a quorum device: how long the predicted quorate flags and votes must hold (two
/// qdevice heartbeats, 0.8 × the lab's `quorum.device.timeout` each, plus slack, so that a
/// late loss of qnetd shows).
const QDEVICE_QUIET: Duration = Duration::from_millis(5 * super::qnetd::DEVICE_TIMEOUT_MS / 3);

/// With a quorum device: how long to wait for the predicted quorate flags and votes.
const QDEVICE_LIMIT: Duration = Duration::from_secs(45);

/// Options of one replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Restart corosync on every node (all together, no partition, every link up) before the
    /// first step, so that no earlier history (a re-armed wait_for_all, `-e`) is carried in.
    pub fresh: bool,
    /// Where the files of `install FILE on N` and `reload FILE` are looked for first (the
    /// script file's directory); a relative FILE not found there is read from the working
    /// directory.
    pub files_dir: Option<PathBuf>,
}

/// The files a script installs or reloads, as the lab's nodes get them: read once before
/// anything runs, each rewritten to lab addresses (`layout::layout`, the rewrite of `lab up
/// --config`) unless every address in it is already one the lab gives that node on that link
/// (its address or its spare address: a file made for this lab, e.g. a plan's readdress).
/// Every node a file lists must be a lab node (a spare node for one the file adds) with the
/// same name, at the address the lab gives it: a file whose nodelist order differs from the
/// lab's would put nodes at other nodes' addresses, and is refused.
#[derive(Clone, Debug, Default)]
struct ScriptFiles {
    /// Per FILE argument: the text written to the nodes and what the model reads from it.
    files: BTreeMap<String, (String, NodeConfig)>,
}

impl ScriptFiles {
    /// Reads every file `script` names.
    fn load(lab: &Lab, script: &scenario::Script, base: Option<&Path>) -> Result<ScriptFiles> {
        let mut files = BTreeMap::new();
        for step in &script.steps {
            let (Step::Install { file, .. } | Step::Reload { file: Some(file) }) = step else {
                continue;
            };
            if files.contains_key(file) {
                continue;
            }
            let path = resolve_file(base, file);
            let text = std::fs::read_to_string(&path).map_err(|error| Error::io(&path, error))?;
            let lab_text = lab_file(&lab.state.nodes, &path, &text)?;
            let config = node_config_of(&lab_text);
            files.insert(file.clone(), (lab_text, config));
        }
        Ok(ScriptFiles { files })
    }

    /// What the model reads from `file` (loaded by `load`).
    fn config(&self, file: &str) -> std::result::Result<NodeConfig, String> {
        self.files
            .get(file)
            .map(|(_, config)| config.clone())
            .ok_or_else(|| format!("{file} was not read before the replay"))
    }

    /// The text the lab writes for `file`.
    fn text(&self, file: &str) -> Option<&str> {
        self.files.get(file).map(|(text, _)| text.as_str())
    }

    /// The node a name in any of the files stands for.
    fn resolve(&self, name: &str) -> Option<NodeId> {
        self.files.values().find_map(|(_, config)| {
            config
                .settings()
                .nodes
                .iter()
                .find(|entry| entry.name == name)
                .map(|entry| entry.nodeid)
        })
    }
}

/// `file` beside the script when it is there, else as given (as `quorate whatif` reads it).
fn resolve_file(base: Option<&Path>, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if let Some(beside) = base.map(|base| base.join(path)).filter(|beside| beside.exists()) {
        return beside;
    }
    path.to_path_buf()
}

/// `text` (the file at `path`) as the lab writes it: its own text when every address is the
/// lab's for that node and link, else rewritten to lab addresses; refused when its nodes are
/// not the lab's (see `ScriptFiles`).
fn lab_file(lab_nodes: &[super::state::NodeState], path: &Path, text: &str) -> Result<String> {
    let refuse = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let layout = super::layout::layout(text).map_err(|error| refuse(error.to_string()))?;
    let (document, _) = model::syntax::parse(text);
    let mut own = true;
    for node in &layout.nodes {
        let Some(lab_node) = lab_nodes.iter().find(|lab_node| lab_node.nodeid == node.nodeid) else {
            return Err(refuse(format!(
                "node {} (id {}) is not a lab node: make the lab with every node the script's files list                  (`lab up --config` with them, or `--spare N` for nodes a file adds)",
                node.name, node.nodeid
            )));
        };
        if lab_node.name != node.name {
            return Err(refuse(format!(
                "node id {} is `{}` here and `{}` in the lab: the files must name the nodes as the lab does",
                node.nodeid, node.name, lab_node.name
            )));
        }
        let section = document.sections_at("nodelist.node").into_iter().find(|section| {
            section.value("name").map(str::trim) == Some(node.name.as_str())
                || section.value("nodeid").map(str::trim) == Some(node.nodeid.to_string().as_str())
        });
        for (link, address) in &node.addresses {
            let Some(lab_address) = lab_node.addresses.get(link) else {
                return Err(refuse(format!(
                    "node {} has an address on link {link}, which the lab does not have (`lab up --spare-links N`                      adds links a file can use)",
                    node.name
                )));
            };
            if address != lab_address {
                return Err(refuse(format!(
                    "node {} would be at {address} on link {link} and the lab has it at {lab_address}: the lab                      numbers nodes by their place in its nodelist; list the nodes in the lab's order",
                    node.name
                )));
            }
            let written = section
                .as_ref()
                .and_then(|section| section.value(&format!("ring{link}_addr")))
                .and_then(|value| value.trim().parse::<std::net::Ipv4Addr>().ok());
            let lab_spare = lab_node.spare_addresses.get(link);
            if written != Some(*lab_address) && written.as_ref() != lab_spare {
                own = false;
            }
        }
    }
    Ok(if own { text.to_string() } else { layout.config })
}

/// The lab nodes (indexes) whose corosync.conf is not `text`.
fn nodes_without(lab: &Lab, text: &str) -> Vec<usize> {
    (0..lab.state.nodes.len())
        .filter(|index| std::fs::read_to_string(node_conf(lab, *index)).ok().as_deref() != Some(text))
        .collect()
}

/// The corosync.conf of the lab node at `index`, as the host sees it.
fn node_conf(lab: &Lab, index: usize) -> PathBuf {
    lab.state.nodes[index]
        .dir(&lab.dir)
        .join("etc-corosync")
        .join("corosync.conf")
}

/// What the model reads from a corosync.conf text, as `quorate whatif` reads a file
/// (votequorum's settings and the addresses and transports).
fn node_config_of(text: &str) -> NodeConfig {
    let (document, _) = model::syntax::parse(text);
    let (config, _) = model::config::Config::from_document(&document);
    NodeConfig::from_config(&config)
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

/// Steps the lab cannot perform, refused before anything is done (`qnetd`: whether the lab
/// runs a quorum device).
fn check_supported(script: &scenario::Script, qnetd: bool) -> Result<()> {
    for (index, step) in script.steps.iter().enumerate() {
        let (line, column) = script.positions.get(index).copied().unwrap_or((0, 0));
        let reason = match step {
            Step::Qdevice { .. } => Some(
                "qdevice steps are not supported by the lab (it runs no corosync-qnetd); \
                 replay this scenario with `quorate whatif` only",
            ),
            Step::Qnetd(_) | Step::Heuristics { .. } if !qnetd => Some(
                "qnetd and heuristics steps need a lab with a quorum device (`lab up \
                 --qdevice ALG`); this one runs no corosync-qnetd",
            ),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(Error::Unsupported {
                line,
                column,
                step: step.to_string(),
                reason,
            });
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
    let lab_text = std::fs::read_to_string(&config_path).map_err(|error| Error::io(&config_path, error))?;
    let lab_config = node_config_of(&lab_text);
    let settings = lab_config.settings().clone();
    let script = scenario::parse(script_text)?;
    let qnetd = lab.has_qnetd();
    check_supported(&script, qnetd)?;
    let files = ScriptFiles::load(lab, &script, options.files_dir.as_deref())?;
    let mut read = |file: &str| files.config(file);
    // With a quorum device qnetd decides from the start in the lab; so does the prediction:
    // `qnetd up` first (a no-op on a running qnetd), its state taken as the start state and
    // the later lines shifted back.
    let prediction = if qnetd {
        let mut prediction = sim::whatif::evaluate_config(
            &lab_config,
            &format!("qnetd up\n{script_text}"),
            &WhatifOptions::default(),
            &mut read,
        )?;
        if prediction.steps.len() > 1 {
            let first = prediction.steps.remove(0);
            prediction.steps[0].command = first.command;
            prediction.steps[0].line = None;
        }
        for step in prediction.steps.iter_mut().skip(1) {
            step.line = step.line.map(|line| line.saturating_sub(1));
        }
        prediction
    } else {
        sim::whatif::evaluate_config(&lab_config, script_text, &WhatifOptions::default(), &mut read)?
    };
    if let Some(error) = &prediction.startup_error {
        return Err(Error::Refused { error: error.clone() });
    }
    for node in &lab.state.nodes {
        if !settings.nodes.iter().any(|entry| entry.nodeid == node.nodeid) {
            return Err(Error::NotInConfig {
                node: node.name.clone(),
                nodeid: node.nodeid,
                path: config_path.clone(),
            });
        }
    }
    let mut driver = Driver {
        settings: settings.clone(),
        config: lab_config.clone(),
        lab_text,
        files,
        tracker: ClusterState::from_config(&lab_config)?,
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
        if let Some(index) = nodes_without(lab, &driver.lab_text).first() {
            return Err(Error::Lab {
                dir: lab.dir.clone(),
                message: format!(
                    "node {}'s corosync.conf is not the lab's {} (an earlier replay installed another \
                     file?): the prediction starts from the lab's file on every node; use `lab replay --fresh`",
                    lab.state.nodes[*index].name,
                    config_path.display()
                ),
            });
        }
    }

    let mut steps = Vec::with_capacity(prediction.steps.len());
    // `evaluate` always reports the start state first.
    let Some((start_prediction, step_predictions)) = prediction.steps.split_first() else {
        return Ok(ReplayReport {
            lab: lab.state.name.clone(),
            config: config_path,
            steps,
            mismatches: 0,
        });
    };
    if qnetd {
        driver.track(&Step::Qnetd(scenario::QnetdChange::Up))?;
    }
    let (settle, settle_ms, settle_note) = driver.settle(lab, false, QUIET, lab.formation_limit())?;
    let (settle, settle_ms) = driver.settle_qdevice(lab, start_prediction, settle, settle_ms)?;
    let mut start = compare(start_prediction, &lab.read_ssh()?, Vec::new(), settle, settle_ms);
    start.notes.extend(settle_note);
    progress(&summary_line(&start));
    steps.push(start);

    for (step, predicted) in script.steps.iter().zip(step_predictions) {
        let had_faults = !driver.tracker.link_faults().is_clear();
        driver.track(step)?;
        let Performed {
            actions,
            mut notes,
            refused,
        } = driver.perform(lab, step)?;
        if let Some(refused) = refused.filter(|refused| *refused != predicted.rejected) {
            notes.push(format!(
                "lab: corosync-quorumtool {} was {} but the model {} it",
                if matches!(step, Step::Votes { .. }) {
                    "-v"
                } else {
                    "-e"
                },
                if refused { "refused" } else { "accepted" },
                if predicted.rejected { "rejects" } else { "accepts" }
            ));
        }
        let long_quiet = matches!(step, Step::Link { .. }) || (matches!(step, Step::Heal) && had_faults);
        let quiet = if long_quiet {
            lab.membership_change() + LINK_QUIET_SLACK
        } else {
            QUIET
        };
        let starts = matches!(step, Step::Up(_) | Step::Restart(_));
        let limit = if starts {
            lab.formation_limit()
        } else {
            lab.change_limit()
        };
        let (settled, settle_ms, settle_note) = driver.settle(lab, predicted.unstable, quiet, limit)?;
        notes.extend(settle_note);
        let (settled, settle_ms) = driver.settle_qdevice(lab, predicted, settled, settle_ms)?;
        let mut comparison = compare(predicted, &lab.read_ssh()?, actions, settled, settle_ms);
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

/// What the lab did for one step.
struct Performed {
    /// The actions, for the reader.
    actions: Vec<String>,
    /// Remarks (a command that failed).
    notes: Vec<String>,
    /// For `expected` and `votes`: whether corosync-quorumtool refused the new value.
    refused: Option<bool>,
}

/// The replay's own bookkeeping next to the lab.
struct Driver {
    /// The configuration (the lab's).
    settings: QuorumSettings,
    /// The same, whole (addresses and transports too).
    config: NodeConfig,
    /// The lab's corosync.conf as text: what every node runs at the start.
    lab_text: String,
    /// The files the script installs or reloads.
    files: ScriptFiles,
    /// The model run alongside, only for who is in which partition.
    tracker: ClusterState,
    /// Blackhole routes in place: (link, node index, peer index) means the node drops its
    /// traffic to the peer on the link.
    blackholes: BTreeSet<(u8, usize, usize)>,
}

impl Driver {
    /// The lab indexes of the nodes a step names.
    fn indexes(&self, lab: &Lab, nodes: &[NodeRef]) -> Result<Vec<usize>> {
        nodes
            .iter()
            .map(|node| {
                let nodeid = resolve(&self.settings, node)
                    .or_else(|| match node {
                        NodeRef::Name(name) => self.files.resolve(name),
                        NodeRef::Id(_) => None,
                    })
                    .ok_or_else(|| lab.unknown_node(&node.to_string()))?;
                lab.index_of(nodeid)
            })
            .collect()
    }

    /// Applies `step` to the tracker, per node (an installed file stays on its nodes' disks).
    fn track(&mut self, step: &Step) -> Result<()> {
        let files = &self.files;
        let event =
            model::action::Event::from_step(step, &mut |file: &str| files.config(file)).map_err(|error| {
                Error::Config {
                    path: PathBuf::from(&error.file),
                    message: error.reason,
                }
            })?;
        self.tracker.apply_event(&event);
        Ok(())
    }

    /// Writes `file`'s lab text as the corosync.conf of the lab nodes at `indexes`.
    fn install(&self, lab: &Lab, file: &str, indexes: &[usize], actions: &mut Vec<String>) -> Result<()> {
        let text = self.files.text(file).ok_or_else(|| Error::Config {
            path: PathBuf::from(file),
            message: "not read before the replay".into(),
        })?;
        for index in indexes {
            super::state::write_atomically(&node_conf(lab, *index), text.as_bytes(), 0o644)?;
            actions.push(format!("install {file} on {}", lab.state.nodes[*index].name));
        }
        Ok(())
    }

    /// Stops every corosync, removes every fault, starts them all and waits for the cluster.
    fn fresh_start(&mut self, lab: &mut Lab) -> Result<()> {
        for index in 0..lab.state.nodes.len() {
            crash(lab, index)?;
        }
        self.tracker = ClusterState::from_config(&self.config)?;
        // An earlier replay may have installed other files: every node starts from the lab's.
        for index in nodes_without(lab, &self.lab_text) {
            super::state::write_atomically(&node_conf(lab, index), self.lab_text.as_bytes(), 0o644)?;
        }
        self.apply_links(lab)?;
        for node in &lab.state.nodes {
            // Routes a replay in an earlier process may have left.
            let _ = sys::run("ip", &["-n", &node.netns, "route", "flush", "type", "blackhole"]);
        }
        self.blackholes.clear();
        lab.set_partition(None)?;
        if lab.has_qnetd() {
            lab.qnetd_heal()?;
            lab.qnetd_up()?;
            let ids: Vec<NodeId> = lab.state.nodes.iter().map(|node| node.nodeid).collect();
            lab.set_heuristics(&ids, true)?;
        }
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
                        lab.stop(lab.state.nodes[index].nodeid, false)?;
                        actions.push(format!("stop corosync on {name} (SIGTERM)"));
                    }
                }
            }
            _ => {}
        }
        // 2. Connectivity: link faults, then partitions.
        match step {
            Step::Link { link, .. } if !lab.state.links.contains(link) => {
                return Err(Error::UnknownLink {
                    link: *link,
                    links: lab.state.links.clone(),
                });
            }
            Step::Link { .. } | Step::Heal => actions.extend(self.apply_links(lab)?),
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
                let output = lab
                    .node_at(index)?
                    .run(&["corosync-quorumtool", "-e", &votes_text])?;
                refused = Some(!output.success());
                if !output.success() {
                    notes.push(format!(
                        "lab: corosync-quorumtool -e {votes} on {name} was refused ({}): {}",
                        output.status_text(),
                        output.stderr_text()
                    ));
                }
            }
            Step::Votes { votes, target, node } => {
                let index = self.indexes(lab, std::slice::from_ref(node))?[0];
                let target_index = self.indexes(lab, std::slice::from_ref(target))?[0];
                let name = lab.state.nodes[index].name.clone();
                let votes_text = votes.to_string();
                let nodeid_text = lab.state.nodes[target_index].nodeid.to_string();
                let arguments = ["corosync-quorumtool", "-v", &votes_text, "-n", &nodeid_text];
                actions.push(format!("{} on {name}", arguments.join(" ")));
                let output = lab.node_at(index)?.run(&arguments)?;
                refused = Some(!output.success());
                if !output.success() {
                    notes.push(format!(
                        "lab: corosync-quorumtool -v {votes} -n {nodeid_text} on {name} was refused ({}): {}",
                        output.status_text(),
                        output.stderr_text()
                    ));
                }
            }
            Step::Install { file, nodes } => {
                let indexes = self.indexes(lab, nodes)?;
                self.install(lab, file, &indexes, &mut actions)?;
            }
            Step::Reload { file } => {
                if let Some(file) = file {
                    // `reload FILE`: FILE on every node the model knows, then the reload.
                    let indexes: Vec<usize> = self
                        .tracker
                        .nodeids()
                        .iter()
                        .filter_map(|nodeid| lab.index_of(*nodeid).ok())
                        .collect();
                    self.install(lab, file, &indexes, &mut actions)?;
                }
                for index in self.one_node_per_ring(lab) {
                    let name = lab.state.nodes[index].name.clone();
                    actions.push(format!("corosync-cfgtool -R on {name}"));
                    let output = lab.node_at(index)?.run(&["corosync-cfgtool", "-R"])?;
                    if !output.success() {
                        notes.push(format!(
                            "lab: corosync-cfgtool -R on {name} failed ({}): {}",
                            output.status_text(),
                            output.stderr_text()
                        ));
                    }
                }
            }
            Step::Wait(ms) => {
                actions.push(format!("wait {ms} ms"));
                std::thread::sleep(Duration::from_millis(*ms));
            }
            Step::Qnetd(change) => match change {
                scenario::QnetdChange::Down => {
                    lab.qnetd_down()?;
                    actions.push("stop corosync-qnetd".into());
                }
                scenario::QnetdChange::Up => {
                    lab.qnetd_up()?;
                    actions.push("start corosync-qnetd (if stopped)".into());
                }
                scenario::QnetdChange::Cut(nodes) | scenario::QnetdChange::Reach(nodes) => {
                    let reach = matches!(change, scenario::QnetdChange::Reach(_));
                    let ids: Vec<NodeId> = self
                        .indexes(lab, nodes)?
                        .into_iter()
                        .map(|index| lab.state.nodes[index].nodeid)
                        .collect();
                    lab.qnetd_reach(&ids, reach)?;
                    actions.push(format!(
                        "{} the path to qnetd of node(s) {ids:?}",
                        if reach { "restore" } else { "cut" }
                    ));
                }
            },
            Step::Heuristics { pass, nodes } => {
                let ids: Vec<NodeId> = self
                    .indexes(lab, nodes)?
                    .into_iter()
                    .map(|index| lab.state.nodes[index].nodeid)
                    .collect();
                lab.set_heuristics(&ids, *pass)?;
                actions.push(format!(
                    "heuristics {} on node(s) {ids:?}",
                    if *pass { "pass" } else { "fail" }
                ));
            }
            Step::Heal if lab.has_qnetd() => {
                lab.qnetd_heal()?;
            }
            _ => {}
        }
        Ok(Performed {
            actions,
            notes,
            refused,
        })
    }

    /// The link faults the tracker holds, indexed by lab node instead of model position.
    fn lab_faults(&self, lab: &Lab) -> LinkFaults {
        let faults = self.tracker.link_faults();
        let lab_index = |pos: u8| {
            let nodeid = self.tracker.nodeids().get(usize::from(pos))?;
            let index = lab.state.nodes.iter().position(|node| node.nodeid == *nodeid)?;
            u8::try_from(index).ok()
        };
        let mut pair_links_down: Vec<(u8, u8, u8)> = faults
            .pair_links_down
            .iter()
            .filter_map(|(link, a, b)| {
                let (a, b) = (lab_index(*a)?, lab_index(*b)?);
                Some((*link, a.min(b), a.max(b)))
            })
            .collect();
        pair_links_down.sort_unstable();
        LinkFaults {
            links_down: faults.links_down,
            node_links_down: lab
                .state
                .nodes
                .iter()
                .map(|node| {
                    self.tracker
                        .position(node.nodeid)
                        .and_then(|pos| faults.node_links_down.get(pos))
                        .copied()
                        .unwrap_or(LinkMask::EMPTY)
                })
                .collect(),
            pair_links_down,
        }
    }

    /// Sets every veth and blackhole route as the tracker's link faults say; returns what
    /// changed.
    fn apply_links(&mut self, lab: &mut Lab) -> Result<Vec<String>> {
        let faults = self.lab_faults(lab);
        let mut actions = Vec::new();
        for index in 0..lab.state.nodes.len() {
            let node_down = faults
                .node_links_down
                .get(index)
                .copied()
                .unwrap_or(LinkMask::EMPTY);
            let links: Vec<u8> = lab.state.nodes[index].addresses.keys().copied().collect();
            for link in links {
                let want_down = (faults.links_down | node_down).contains(link);
                if want_down == lab.state.nodes[index].links_down.contains(&link) {
                    continue;
                }
                lab.set_port(index, link, !want_down)?;
                actions.push(format!(
                    "link {link} {} at {}",
                    if want_down { "down" } else { "up" },
                    lab.state.nodes[index].name
                ));
            }
        }
        // One blackhole route per direction: (link, node index, peer index).
        let mut wanted = BTreeSet::new();
        for (link, a, b) in &faults.pair_links_down {
            wanted.insert((*link, usize::from(*a), usize::from(*b)));
            wanted.insert((*link, usize::from(*b), usize::from(*a)));
        }
        let removed: Vec<_> = self.blackholes.difference(&wanted).copied().collect();
        let added: Vec<_> = wanted.difference(&self.blackholes).copied().collect();
        for ((link, index, peer), add) in removed
            .into_iter()
            .map(|route| (route, false))
            .chain(added.into_iter().map(|route| (route, true)))
        {
            if lab.set_blackhole(index, peer, link, add)? && index < peer {
                actions.push(format!(
                    "link {link} {} between {} and {}",
                    if add { "down" } else { "up" },
                    lab.state.nodes[index].name,
                    lab.state.nodes[peer].name
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
        lab.set_partition(wanted)?;
        Ok(Some(action))
    }

    /// The membership each running lab node should show, from the tracker's partitions and
    /// link faults and the lab's running nodes (`None`: a partial mesh).
    fn expected_members(&self, lab: &Lab) -> Expected {
        let nodes = lab.node_links(|node| {
            self.tracker
                .position(node.nodeid)
                .and_then(|pos| self.tracker.partition(pos))
                .unwrap_or(0)
        });
        topology::expected_members(&nodes, &self.lab_faults(lab))
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

    /// Waits (the lab's one wait loop) until every running node shows the expected
    /// membership and no node's reading (membership, ring id, quorum fields) changed for
    /// `quiet`; with `unstable` or no expectation, until nothing changed for token +
    /// consensus. Returns whether it settled within `limit`, how long it took, and a note if
    /// it did not.
    /// With a quorum device, after the memberships settled: waits until every node shows
    /// the predicted quorate flag and total votes (qnetd's vote arrives after the ring
    /// change, and losing qnetd shows after heartbeats) and nothing changed for
    /// `QDEVICE_QUIET`, within `QDEVICE_LIMIT`. Without one, passes `settled` through.
    fn settle_qdevice(
        &self,
        lab: &Lab,
        predicted: &sim::whatif::StepReport,
        settled: bool,
        settle_ms: u64,
    ) -> Result<(bool, u64)> {
        if !lab.has_qnetd() || !settled {
            return Ok((settled, settle_ms));
        }
        let want: BTreeMap<NodeId, Option<(bool, u32)>> = predicted
            .nodes
            .iter()
            .map(|row| (row.nodeid, row.up.then_some((row.quorate, row.total_votes))))
            .collect();
        let (matched, waited) = lab.wait_quorum_readings(&want, QDEVICE_QUIET, QDEVICE_LIMIT);
        Ok((matched, settle_ms + waited.as_millis() as u64))
    }

    fn settle(
        &self,
        lab: &Lab,
        unstable: bool,
        quiet: Duration,
        limit: Duration,
    ) -> Result<(bool, u64, Option<String>)> {
        let expected = if unstable {
            None
        } else {
            self.expected_members(lab)
        };
        let settled = lab.settle_on(&SettleSpec {
            expected: expected.clone(),
            quiet,
            limit,
            fail_if_corosync_exits: false,
        })?;
        let elapsed_ms = settled.elapsed.as_millis() as u64;
        if settled.settled {
            return Ok((true, elapsed_ms, None));
        }
        let note = format!(
            "lab: did not settle within {} s (expected memberships {:?}); last seen: {}",
            limit.as_secs(),
            expected.map(|map| map.into_values().collect::<BTreeSet<_>>()),
            settled.last_seen()
        );
        Ok((false, elapsed_ms, Some(note)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qdevice_and_reload_file_are_refused_with_their_place() {
        let script = scenario::parse("split 1:1\nqdevice on 1").unwrap();
        let error = check_supported(&script, false).unwrap_err().to_string();
        assert!(
            error.starts_with("script line 2, column 1: `qdevice on 1`: qdevice steps are not supported"),
            "{error}"
        );
        // `reload FILE` and `install FILE` are the lab's too (ScriptFiles).
        let script = scenario::parse("reload new.conf\ninstall new.conf on 1").unwrap();
        assert!(check_supported(&script, true).is_ok());
        assert!(check_supported(
            &scenario::parse("reload; heal; link down 0 between 1 2").unwrap(),
            false
        )
        .is_ok());
        let qnetd = scenario::parse("qnetd cut 1; heuristics fail 2").unwrap();
        assert!(check_supported(&qnetd, false)
            .unwrap_err()
            .to_string()
            .contains("need a lab with a quorum device"));
        assert!(check_supported(&qnetd, true).is_ok());
    }

    fn lab_nodes(count: u8) -> Vec<super::super::state::NodeState> {
        (1..=count)
            .map(|slot| super::super::state::NodeState {
                name: format!("n{slot}"),
                nodeid: u32::from(slot),
                slot,
                netns: format!("qlab-t-n{slot}"),
                addresses: [(0, super::super::layout::lab_address(0, slot))]
                    .into_iter()
                    .collect(),
                holder_pid: None,
                corosync_pid: None,
                sshd_pid: None,
                links_down: BTreeSet::new(),
                spare: false,
                qdevice_pid: None,
                spare_addresses: [(0, super::super::layout::spare_address(0, slot).unwrap())]
                    .into_iter()
                    .collect(),
            })
            .collect()
    }

    fn file(addresses: &[(u32, &str)]) -> String {
        let mut text = "totem {\n  version: 2\n  cluster_name: t\n}\nnodelist {\n".to_string();
        for (nodeid, address) in addresses {
            text.push_str(&format!(
                "  node {{\n    name: n{nodeid}\n    nodeid: {nodeid}\n    ring0_addr: {address}\n  }}\n"
            ));
        }
        text.push_str("}\nquorum {\n  provider: corosync_votequorum\n  auto_tie_breaker: 1\n}\n");
        text
    }

    #[test]
    fn script_files_are_rewritten_to_lab_addresses_or_kept_when_already_the_labs() {
        let nodes = lab_nodes(3);
        let path = Path::new("line-56.conf");
        // A file with its own addresses gets the lab's, options kept.
        let given = file(&[(1, "10.40.0.11"), (2, "10.40.0.12"), (3, "10.40.0.13")]);
        let lab_text = lab_file(&nodes, path, &given).unwrap();
        assert_eq!(
            lab_text,
            file(&[(1, "198.18.0.1"), (2, "198.18.0.2"), (3, "198.18.0.3")])
        );
        // A file made for the lab (n2 moved to its spare address) is written as it is.
        let own = file(&[(1, "198.18.0.1"), (2, "198.18.0.102"), (3, "198.18.0.3")]);
        assert_eq!(lab_file(&nodes, path, &own).unwrap(), own);
        // Nodes the lab does not have, in another order, or on a link it lacks, are refused.
        let four = file(&[(1, "10.0.0.1"), (2, "10.0.0.2"), (3, "10.0.0.3"), (4, "10.0.0.4")]);
        let error = lab_file(&nodes, path, &four).unwrap_err().to_string();
        assert!(
            error.starts_with("line-56.conf: node n4 (id 4) is not a lab node"),
            "{error}"
        );
        let swapped = file(&[(2, "10.0.0.2"), (1, "10.0.0.1"), (3, "10.0.0.3")]);
        let error = lab_file(&nodes, path, &swapped).unwrap_err().to_string();
        assert!(
            error.contains("node n2 would be at 198.18.0.1 on link 0 and the lab has it at 198.18.0.2"),
            "{error}"
        );
        let link1 = given.replace(
            "ring0_addr: 10.40.0.11",
            "ring0_addr: 10.40.0.11\n    ring1_addr: 10.41.0.11",
        );
        let error = lab_file(&nodes, path, &link1).unwrap_err().to_string();
        assert!(
            error.contains("node n1 has an address on link 1, which the lab does not have"),
            "{error}"
        );
    }
}
