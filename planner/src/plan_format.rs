//! The plan as data: the stable JSON contract `quorate apply` consumes (issue 11), and its
//! construction from a search result.
//!
//! Owns `Plan`, `Step`, `Snapshot`, `Verdict`, the commands each step runs per node (what
//! `apply` runs, exactly), the steps the search does not order (authkey, enable, the
//! final wait), the `why` of each step and `plan_sha256`. It must not search or judge.

use std::collections::BTreeMap;

use model::quorum::NodeSet;
use serde::{Deserialize, Serialize};

use crate::files::{sha256_hex, FileEntry, Purpose, NO_FILE, TARGET};
use crate::search::{Found, Judge};
use crate::state::{Context, Move, PlanState, TIMEOUT_MARGIN_MS, WRITE_MS};
use crate::{Endpoint, Rejected};

/// Where plain corosync reads its file.
pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
/// The cluster-wide copy on Proxmox VE (spec 6.1).
pub const PVE_CONF: &str = "/etc/pve/corosync.conf";
/// The key file.
pub const AUTHKEY: &str = "/etc/corosync/authkey";

/// The plan's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Quorum is kept throughout and no state is exposed to split-brain under the budget.
    Safe,
    /// Some state has no quorate node (asked for with `allow_outage`).
    NeedsOutage,
}

/// The cluster as seen around a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The memberships of the running nodes (names, each sorted by node id), sorted.
    pub members: Vec<Vec<String>>,
    /// The quorate nodes.
    pub quorate: Vec<String>,
    /// The expected votes of the quorate nodes (of the running ones when none is quorate;
    /// 0 when nothing runs).
    pub expected_votes: u32,
    /// Per node, the sha256 of the corosync.conf on its disk.
    pub config_sha256_by_node: BTreeMap<String, String>,
    /// The running nodes.
    pub running: Vec<String>,
    /// Plans that add or remove a quorum device: the nodes whose corosync-qdevice casts the
    /// device's votes (qnetd ACKed them). Absent in other plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qdevice_casting: Option<Vec<String>>,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position.
    pub id: u32,
    /// `write_config`, `write_pve_config`, `install_authkey`, `generate_authkey`, `enable`,
    /// `reload`, `start`, `restart`, `stop`, `leave` or `wait`.
    pub action: String,
    /// The nodes the step acts on.
    pub nodes: Vec<String>,
    /// The sha256 of the file a write step writes (its text is `to_config` or in
    /// `temp_configs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// Per node, the commands `apply` runs there, in order.
    pub commands: BTreeMap<String, Vec<String>>,
    /// The cluster before the step (`apply` checks it first).
    pub pre: Snapshot,
    /// The cluster after the step (`apply` waits for it).
    pub post: Snapshot,
    /// How long `apply` waits for `post` (estimate plus margin).
    pub timeout_ms: u64,
    /// The estimated duration (timing model, spec 3.4).
    pub estimate_ms: u64,
    /// Why this step, at this point.
    pub why: String,
    /// Safe but worth knowing: the state is less available than both endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A plan (format 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Always 1.
    pub format: u32,
    /// The source file's sha256 (`None`: a new cluster).
    pub from_sha256: Option<String>,
    /// The sha256 of `to_config`.
    pub to_sha256: String,
    /// The target as written to the nodes (its config_version bumped if it had to be).
    pub to_config: String,
    /// The temporary files some steps write, by sha256.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub temp_configs: BTreeMap<String, String>,
    /// Node ids by name (every node the plan touches).
    pub nodeids: BTreeMap<String, u32>,
    /// The qnetd host (`quorum.device.net.host`) of a plan that adds or removes a quorum
    /// device: a host some steps run commands on, not a cluster node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qnetd_host: Option<String>,
    /// The fault budget every state was checked under.
    pub fault_budget: u32,
    /// Whether Proxmox actions are used.
    pub proxmox: bool,
    /// `safe` or `needs-outage`.
    pub verdict: Verdict,
    /// The steps.
    pub steps: Vec<Step>,
    /// Natural orders that are not safe, and why.
    pub rejected: Vec<Rejected>,
    /// How many distinct states the search explored.
    pub states_explored: usize,
    /// The sha256 of the plan's JSON without this field.
    pub plan_sha256: String,
}

impl Plan {
    /// The sha256 of the plan's compact JSON with `plan_sha256` empty.
    pub fn compute_sha256(&self) -> String {
        let mut copy = self.clone();
        copy.plan_sha256 = String::new();
        sha256_hex(&serde_json::to_string(&copy).unwrap_or_default())
    }

    /// Estimated total duration (ms).
    pub fn estimate_ms(&self) -> u64 {
        self.steps.iter().map(|step| step.estimate_ms).sum()
    }

    /// The text of the file with `sha256` (the target or a temporary file).
    pub fn config_text(&self, sha256: &str) -> Option<&str> {
        if sha256 == self.to_sha256 {
            return Some(&self.to_config);
        }
        self.temp_configs.get(sha256).map(String::as_str)
    }
}

/// The snapshot of `state`.
pub(crate) fn snapshot(context: &Context, state: &PlanState) -> Snapshot {
    let universe = &context.universe;
    let cluster = &state.cluster;
    let count = universe.nodeids.len();
    let order = |set: NodeSet| -> Vec<String> {
        let mut positions: Vec<usize> = set.iter().collect();
        positions.sort_by_key(|pos| universe.nodeids[*pos]);
        positions
            .into_iter()
            .map(|pos| universe.names[pos].clone())
            .collect()
    };
    let mut members: Vec<Vec<String>> = Vec::new();
    for pos in cluster.up_nodes().iter() {
        let ring = order(cluster.ring(pos));
        if !members.contains(&ring) {
            members.push(ring);
        }
    }
    members.sort();
    let settings = context.files.target().settings();
    let quorate = cluster.quorate_set();
    let looked_at = if quorate.is_empty() {
        cluster.up_nodes()
    } else {
        quorate
    };
    let expected_votes = looked_at
        .iter()
        .filter_map(|pos| cluster.view(settings, pos))
        .map(|view| view.expected_votes)
        .max()
        .unwrap_or(0);
    let config_sha256_by_node = (0..count)
        .filter_map(|pos| {
            context
                .files
                .get(state.disk[pos])
                .map(|entry| (universe.names[pos].clone(), entry.sha256.clone()))
        })
        .collect();
    let qdevice_casting = context.qdevice.as_ref().map(|_| {
        let casting: NodeSet = cluster
            .up_nodes()
            .iter()
            .filter(|pos| {
                cluster
                    .view(settings, *pos)
                    .is_some_and(|view| view.flags.qdevice_cast_vote)
            })
            .collect();
        order(casting)
    });
    Snapshot {
        members,
        quorate: order(quorate),
        expected_votes,
        config_sha256_by_node,
        running: order(cluster.up_nodes()),
        qdevice_casting,
    }
}

fn conf_path(context: &Context) -> &'static str {
    let _ = context;
    COROSYNC_CONF
}

/// The command that writes `entry` at `path` (apply: `Remote::write_file_atomic`, a
/// temporary file in the same directory, fsync, rename; the content is the plan's).
fn write_command(path: &str, entry: &FileEntry) -> String {
    format!("write-file {path} sha256:{} mode:0644", entry.sha256)
}

/// The node a pvecm move runs on and its command line (spec 6.4): `pvecm create` with the
/// target's links (and their priorities), node id, votes and token_coefficient where they
/// are not pvecm's defaults; `pvecm add` over SSH naming the member's address, with every
/// link of the joining node; `pvecm delnode` on the member.
fn pvecm_command(context: &Context, mv: &Move) -> (usize, String) {
    let universe = &context.universe;
    let node_of = |pos: usize| {
        context
            .pvecm
            .as_ref()
            .and_then(|inputs| inputs.node(universe.nodeids[pos]))
    };
    let links = |pos: usize, priorities: bool| -> String {
        let Some(node) = node_of(pos) else {
            return String::new();
        };
        node.addresses
            .iter()
            .map(|(link, address)| {
                let priority = context
                    .pvecm
                    .as_ref()
                    .and_then(|inputs| inputs.priorities.get(link))
                    .filter(|priority| priorities && **priority != 0)
                    .map_or(String::new(), |priority| format!(",priority={priority}"));
                format!(" --link{link} {address}{priority}")
            })
            .collect()
    };
    let votes = |pos: usize| {
        node_of(pos)
            .filter(|node| node.votes != 1)
            .map_or(String::new(), |node| format!(" --votes {}", node.votes))
    };
    match mv {
        Move::PvecmCreate { node } => {
            let nodeid = universe.nodeids[*node];
            let inputs = context.pvecm.as_ref();
            let cluster = inputs.map_or("", |inputs| inputs.cluster_name.as_str());
            let token = inputs
                .and_then(|inputs| inputs.token_coefficient)
                .map_or(String::new(), |value| format!(" --token-coefficient {value}"));
            let nodeid = if nodeid == 1 {
                String::new()
            } else {
                format!(" --nodeid {nodeid}")
            };
            (
                *node,
                format!(
                    "pvecm create {cluster}{}{nodeid}{}{token}",
                    links(*node, true),
                    votes(*node)
                ),
            )
        }
        Move::PvecmAdd { node, via } => (
            *node,
            format!(
                "pvecm add {}{} --nodeid {}{} --use_ssh",
                context.address_of(*via).unwrap_or_default(),
                links(*node, false),
                universe.nodeids[*node],
                votes(*node)
            ),
        ),
        Move::PvecmDelnode { node, via } => (*via, format!("pvecm delnode {}", universe.names[*node])),
        _ => (0, String::new()),
    }
}

/// Builds the plan of `found`.
pub(crate) fn build(
    context: &Context,
    from: Option<&Endpoint>,
    found: &Found,
    verdict: Verdict,
    rejected: Vec<Rejected>,
    judge: &Judge,
) -> Plan {
    let universe = &context.universe;
    let target = context.files.target();
    let mut steps: Vec<Step> = Vec::new();
    let mut authkey: NodeSet = universe.in_source;
    let mut enabled: NodeSet = universe.in_source;
    let simple = |action: &str,
                  nodes: Vec<String>,
                  commands: BTreeMap<String, Vec<String>>,
                  state: &PlanState,
                  why: String| Step {
        id: 0,
        action: action.to_string(),
        nodes,
        config_sha256: None,
        commands,
        pre: snapshot(context, state),
        post: snapshot(context, state),
        timeout_ms: WRITE_MS + TIMEOUT_MARGIN_MS,
        estimate_ms: WRITE_MS,
        why,
        warning: None,
    };
    for (mv, applied, before, judgements) in &found.steps {
        // Steps the search does not order: a node that starts for the first time gets the
        // authkey (when the target uses crypto) and is enabled first.
        if let Move::Start(nodes) = mv {
            let lacking_key = nodes.difference(authkey);
            if target.needs_authkey() && !lacking_key.is_empty() {
                let holder = authkey.min();
                match holder {
                    Some(holder) => {
                        let holder_name = universe.names[holder].clone();
                        let commands = lacking_key
                            .iter()
                            .map(|pos| {
                                (
                                    universe.names[pos].clone(),
                                    vec![format!("copy-file {AUTHKEY} from:{holder_name} mode:0400")],
                                )
                            })
                            .collect();
                        steps.push(simple(
                            "install_authkey",
                            universe.names_of(lacking_key),
                            commands,
                            before,
                            format!(
                                "the target enables crypto: corosync on {} cannot start without the cluster's key, copied from {holder_name} (never printed)",
                                universe.names_of(lacking_key).join(", ")
                            ),
                        ));
                    }
                    None => {
                        let first = lacking_key.min().unwrap_or(0);
                        let first_name = universe.names[first].clone();
                        let mut commands = BTreeMap::new();
                        commands.insert(first_name.clone(), vec![format!("corosync-keygen -k {AUTHKEY}")]);
                        steps.push(simple(
                            "generate_authkey",
                            vec![first_name.clone()],
                            commands,
                            before,
                            "a new cluster needs one key shared by every node: generated once, on the first node".to_string(),
                        ));
                        let others = lacking_key.difference(NodeSet::single(first));
                        if !others.is_empty() {
                            let commands = others
                                .iter()
                                .map(|pos| {
                                    (
                                        universe.names[pos].clone(),
                                        vec![format!("copy-file {AUTHKEY} from:{first_name} mode:0400")],
                                    )
                                })
                                .collect();
                            steps.push(simple(
                                "install_authkey",
                                universe.names_of(others),
                                commands,
                                before,
                                format!(
                                    "every node needs the key {first_name} generated (copied, never printed)"
                                ),
                            ));
                        }
                    }
                }
                authkey = authkey.union(lacking_key);
            }
            let not_enabled = nodes.difference(enabled);
            if !not_enabled.is_empty() {
                let commands = not_enabled
                    .iter()
                    .map(|pos| {
                        (
                            universe.names[pos].clone(),
                            vec!["systemctl enable corosync".to_string()],
                        )
                    })
                    .collect();
                steps.push(simple(
                    "enable",
                    universe.names_of(not_enabled),
                    commands,
                    before,
                    "corosync starts at boot on every member".to_string(),
                ));
                enabled = enabled.union(not_enabled);
            }
        }
        if let (Move::Certify(nodes), Some(device)) = (mv, &context.qdevice) {
            // The exchange's first five steps: no effect on the cluster (the last one, below,
            // is the move itself).
            let names = universe.names_of(*nodes);
            if let Some((first, others)) = names.split_first() {
                let exchange = device.certificate_steps(first, others);
                for step in exchange.into_iter().take(5) {
                    steps.push(simple(
                        step.action,
                        step.nodes,
                        step.commands.into_iter().collect(),
                        before,
                        step.why,
                    ));
                }
            }
        }
        let entry_of = |file| context.files.get(file);
        let mut commands: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut config_sha256 = None;
        match mv {
            Move::Write { file, nodes } => {
                if let Some(entry) = entry_of(*file) {
                    config_sha256 = Some(entry.sha256.clone());
                    for pos in nodes.iter() {
                        commands.insert(
                            universe.names[pos].clone(),
                            vec![write_command(conf_path(context), entry)],
                        );
                    }
                }
            }
            Move::WritePve { file, via, .. } => {
                if let Some(entry) = entry_of(*file) {
                    config_sha256 = Some(entry.sha256.clone());
                    commands.insert(
                        universe.names[*via].clone(),
                        vec![
                            write_command(&format!("{PVE_CONF}.new"), entry),
                            format!("mv {PVE_CONF}.new {PVE_CONF}"),
                        ],
                    );
                }
            }
            Move::Reload { via } => {
                commands.insert(
                    universe.names[*via].clone(),
                    vec!["corosync-cfgtool -R".to_string()],
                );
            }
            Move::Start(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(
                        universe.names[pos].clone(),
                        vec!["systemctl start corosync".to_string()],
                    );
                }
            }
            Move::Restart(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(
                        universe.names[pos].clone(),
                        vec!["systemctl restart corosync".to_string()],
                    );
                }
            }
            Move::Stop(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(
                        universe.names[pos].clone(),
                        vec!["systemctl stop corosync".to_string()],
                    );
                }
            }
            Move::Leave(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(
                        universe.names[pos].clone(),
                        vec![
                            "systemctl stop corosync".to_string(),
                            "systemctl disable corosync".to_string(),
                        ],
                    );
                }
                enabled = enabled.difference(*nodes);
            }
            Move::Certify(nodes) => {
                let names = universe.names_of(*nodes);
                if let (Some(device), Some((first, others))) = (&context.qdevice, names.split_first()) {
                    if let Some(last) = device.certificate_steps(first, others).pop() {
                        commands.extend(last.commands);
                    }
                }
            }
            Move::QdeviceStart(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(universe.names[pos].clone(), crate::qdevice::start_commands());
                }
            }
            Move::QdeviceStop(nodes) => {
                for pos in nodes.iter() {
                    commands.insert(universe.names[pos].clone(), crate::qdevice::stop_commands());
                }
            }
            Move::PvecmCreate { node } | Move::PvecmAdd { node, .. } | Move::PvecmDelnode { node, .. } => {
                let written = if let Move::PvecmDelnode { via, .. } = mv {
                    applied.state.disk[*via]
                } else {
                    applied.state.disk[*node]
                };
                config_sha256 = entry_of(written).map(|entry| entry.sha256.clone());
                let (runs_on, command) = pvecm_command(context, mv);
                commands.insert(universe.names[runs_on].clone(), vec![command]);
            }
        }
        let estimate = context.cost(mv, before, applied);
        let warning = judgements.iter().find_map(|judgement| judgement.warning.clone());
        steps.push(Step {
            id: 0,
            action: mv.kind().to_string(),
            nodes: universe.names_of(mv.nodes()),
            config_sha256,
            commands,
            pre: snapshot(context, before),
            post: snapshot(context, &applied.state),
            timeout_ms: estimate + TIMEOUT_MARGIN_MS,
            estimate_ms: estimate,
            why: why(context, mv, before, found),
            warning,
        });
    }
    if let Some((_, last, _, _)) = found.steps.last() {
        let mut wait = simple(
            "wait",
            universe.names_of(last.state.cluster.up_nodes()),
            BTreeMap::new(),
            &last.state,
            "the target is reached when every node shows these members and quorum".to_string(),
        );
        wait.estimate_ms = 0;
        wait.timeout_ms = context.membership_ms + TIMEOUT_MARGIN_MS;
        steps.push(wait);
    }
    for (index, step) in steps.iter_mut().enumerate() {
        step.id = u32::try_from(index + 1).unwrap_or(u32::MAX);
    }
    let temp_configs = context
        .files
        .entries
        .iter()
        .filter(|entry| matches!(entry.purpose, Purpose::Temporary(_) | Purpose::Pvecm))
        .filter(|entry| {
            steps
                .iter()
                .any(|step| step.config_sha256.as_deref() == Some(entry.sha256.as_str()))
        })
        .map(|entry| (entry.sha256.clone(), entry.text.clone()))
        .collect();
    let nodeids = universe
        .names
        .iter()
        .cloned()
        .zip(universe.nodeids.iter().copied())
        .collect();
    let _ = judge;
    let mut plan = Plan {
        format: 1,
        from_sha256: from.map(|from| sha256_hex(&from.text)),
        to_sha256: target.sha256.clone(),
        to_config: target.text.clone(),
        temp_configs,
        nodeids,
        qnetd_host: context.qdevice.as_ref().map(|device| device.host.clone()),
        fault_budget: context.options.fault_budget,
        proxmox: context.proxmox,
        verdict,
        steps,
        rejected,
        states_explored: found.explored,
        plan_sha256: String::new(),
    };
    plan.plan_sha256 = plan.compute_sha256();
    plan
}

/// Why `mv` comes at this point (from the rules that made the search take it).
fn why(context: &Context, mv: &Move, before: &PlanState, found: &Found) -> String {
    let universe = &context.universe;
    let target = context.files.target();
    let names = |set: NodeSet| universe.names_of(set).join(", ");
    match mv {
        Move::Write { file, nodes } | Move::WritePve { file, nodes, .. } => {
            let Some(entry) = context.files.get(*file) else {
                return String::new();
            };
            let mut why = match &entry.purpose {
                Purpose::Temporary(reason) => format!("temporary file: {reason}"),
                _ => {
                    let restarts_later = found.steps.iter().any(|(later, ..)| matches!(later, Move::Restart(_) | Move::Start(_)));
                    if restarts_later && target.config_version() != 0 {
                        format!(
                            "the new file (config_version {}) reaches {} before any node restarts with it: a node that starts with a lower config_version than a running member exits (spec 5.4); nothing reads it until then",
                            target.config_version(),
                            names(*nodes)
                        )
                    } else {
                        format!("the new file reaches {} first; nothing reads it until a reload or a start", names(*nodes))
                    }
                }
            };
            if matches!(mv, Move::WritePve { .. }) {
                why.push_str("; pmxcfs copies /etc/pve/corosync.conf to every member and the writing node reloads a second later (spec 6.2)");
                let via_disk = match mv {
                    Move::WritePve { via, .. } => before.disk[*via],
                    _ => NO_FILE,
                };
                let written_by_pvecm = context
                    .files
                    .get(via_disk)
                    .filter(|current| current.purpose == Purpose::Pvecm);
                if let Some(current) = written_by_pvecm {
                    let differences = crate::pvecm::differences(&current.text, &entry.text);
                    why.push_str("; pvecm wrote the nodelist in its own layout (keys sorted, comments dropped)");
                    if differences.is_empty() {
                        why.push_str(": this writes the target's own text, with the same settings");
                    } else {
                        why.push_str(&format!(": this writes what pvecm does not ({})", differences.join(", ")));
                    }
                }
            }
            if *file == TARGET {
                if let Some(bumped) = &context.files.bumped {
                    why.push_str("; ");
                    why.push_str(bumped);
                }
            }
            why
        }
        Move::Reload { .. } => {
            let mut why = "every running node re-reads its own file (corosync-cfgtool -R, spec 5.1)".to_string();
            let left: Vec<String> = (0..universe.nodeids.len())
                .filter(|pos| !universe.in_target.contains(*pos) && universe.in_source.contains(*pos))
                .map(|pos| universe.names[pos].clone())
                .collect();
            if !left.is_empty() && left.iter().all(|name| {
                universe.position_of(name).is_some_and(|pos| !before.cluster.up_nodes().contains(pos))
            }) {
                why.push_str(&format!("; {} already left, so the nodelist it drops no longer counts its votes", left.join(", ")));
            }
            why.push_str("; the reload resets expected votes to what the new nodelist gives (spec 5.3)");
            why
        }
        Move::Start(nodes) => {
            let fresh = nodes.difference(universe.in_source);
            if !fresh.is_empty() && !before.cluster.up_nodes().is_empty() {
                format!(
                    "{} starts once the running members list it (they cut off nodes their nodelist does not list, spec 5.2)",
                    names(fresh)
                )
            } else {
                format!("{} starts with the target file", names(*nodes))
            }
        }
        Move::Restart(nodes) => {
            let pos = NodeSet::min(*nodes).unwrap_or(0);
            let boot = context.files.get(before.boot[pos]);
            let differences = boot.map(|boot| boot.startup_differences(target)).unwrap_or_default();
            let others_quorate = !before.cluster.quorate_set().difference(*nodes).is_empty();
            let one_at_a_time = if others_quorate {
                "one node at a time, so the others keep quorum while it is down"
            } else {
                "one node at a time; no other node is quorate meanwhile (the outage this plan declares)"
            };
            let mut why = if !differences.is_empty() && before.disk[pos] == TARGET {
                format!(
                    "{} takes effect only at a restart (spec 5.2): restart {}, {one_at_a_time}",
                    differences.join(", "),
                    names(*nodes)
                )
            } else if context.options.rolling_restart && before.boot[pos] == before.disk[pos] {
                format!("rolling restart of {}, {one_at_a_time}", names(*nodes))
            } else {
                format!("{} starts again with the file on its disk, {one_at_a_time}", names(*nodes))
            };
            if context.restarts_qdevice(before, *nodes) {
                why.push_str(
                    "; systemd restarts corosync-qdevice with corosync (its unit has Requires=corosync.service): the \
                     device's vote is gone while it is down and until it reconnects to qnetd, and the step ends when \
                     it casts again",
                );
            }
            why
        }
        Move::Stop(nodes) => format!(
            "{} stops: no order keeps quorum throughout (needs-outage), the nodes start again with the new file",
            names(*nodes)
        ),
        Move::Certify(nodes) => {
            let host = context.qdevice.as_ref().map_or("the qnetd host", |device| device.host.as_str());
            format!(
                "{} import the cluster's client certificate signed by {host}'s CA (tls on): corosync-qdevice cannot connect without it; done before the reload that adds the device, so nothing of it sits in the window where expected votes count the device and no node casts it yet",
                names(*nodes)
            )
        }
        Move::QdeviceStart(nodes) => format!(
            "{} runs the file with the device: its corosync-qdevice can read quorum.device now (it exits without it) and connects to qnetd, whose decision gives the vote (spec 2.8, 2.9); enabled, so it starts again with corosync",
            names(*nodes)
        ),
        Move::QdeviceStop(nodes) => {
            let reload_later = found
                .steps
                .iter()
                .any(|(later, ..)| matches!(later, Move::Reload { .. } | Move::WritePve { .. }));
            if reload_later {
                format!(
                    "{}'s corosync-qdevice stops before the reload that drops the device, so no node still casts a vote the new file no longer counts",
                    names(*nodes)
                )
            } else {
                format!("{} runs a file without the device: its corosync-qdevice stops and is disabled", names(*nodes))
            }
        }
        Move::PvecmCreate { node } => format!(
            "pvecm create forms the cluster on {}: it generates the authkey, writes /etc/pve/corosync.conf with {} alone (config_version 1) and starts corosync, quorate on its own vote (spec 6.4)",
            names(NodeSet::single(*node)),
            names(NodeSet::single(*node))
        ),
        Move::PvecmAdd { node, via } => format!(
            "{node} joins with pvecm add through {via} (which must be quorate): {via} adds {node} to /etc/pve/corosync.conf with config_version + 1, pmxcfs copies it to the members and {via} reloads, so expected votes count {node} before it runs; then {node} gets the file and the authkey and starts (spec 6.4){}",
            if before.cluster.quorate_set().len() == 1 && before.cluster.up_nodes().len() == 1 {
                "; a lone member is not quorate from the reload until the new node is in"
            } else {
                ""
            },
            node = names(NodeSet::single(*node)),
            via = names(NodeSet::single(*via)),
        ),
        Move::PvecmDelnode { node, via } => format!(
            "{node} is down, so pvecm delnode on {via} drops it from /etc/pve/corosync.conf with config_version + 1; pmxcfs copies it and {via} reloads, so expected votes no longer count {node} (spec 6.4); a node is removed only once it is off and it must not come back with its old file",
            node = names(NodeSet::single(*node)),
            via = names(NodeSet::single(*via)),
        ),
        Move::Leave(nodes) => {
            let reload_later = found.steps.iter().any(|(later, ..)| {
                matches!(later, Move::Reload { .. } | Move::WritePve { .. } | Move::PvecmDelnode { .. })
            });
            if reload_later && before.disk.iter().any(|disk| *disk != NO_FILE) {
                format!(
                    "{} is not in the target: it leaves before the reload that drops it, so it is never cut off while it still runs and counts (spec 5.2)",
                    names(*nodes)
                )
            } else {
                format!("{} is not in the target: it stops and is disabled", names(*nodes))
            }
        }
    }
}
