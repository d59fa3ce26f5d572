//! Judging what `reading` found: what `quorate whatif` predicts from the nodes' own files,
//! and drift.
//!
//! Owns `ClusterStatus`, `Prediction`, `Drift` and `analyze`. The prediction runs
//! `sim::whatif::evaluate` on each distinct corosync.conf the nodes hold, with the running
//! set and the partitions the nodes' own memberships show (`down` for the nodes nobody sees,
//! `split` when memberships differ), and gives each node the row of its own file. Drift is:
//! a file that differs between nodes (or between /etc/pve and /etc/corosync on one node),
//! a running configuration that differs from the file on disk (nodelist, quorum keys,
//! config_version), a quorum state that differs from the prediction (an `expected votes`
//! override such as `pvecm expected 1` shows here), members announcing different
//! config_versions, and an authkey that is missing or not mode 0400 when crypto is on. It
//! must not read anything from the nodes.

use super::reading::{NodeStatus, COROSYNC_CONF, PVE_CONF};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What `quorate whatif` predicts for one node from its own file and what the cluster shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prediction {
    /// The sha256 of the file it was predicted from.
    pub from_sha256: String,
    /// Whether corosync runs on it (as the memberships show).
    pub up: bool,
    /// Its membership.
    pub members: Vec<u32>,
    /// Quorate.
    pub quorate: bool,
    /// Expected votes.
    pub expected_votes: u32,
    /// The quorum threshold.
    pub quorum: u32,
    /// Total votes.
    pub total_votes: u32,
    /// The engine's explanation (`2 of 3 votes >= quorum 2`).
    pub why: String,
}

/// A key whose running value differs from the file's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyDifference {
    /// The cmap key (`nodelist.node.2.ring0_addr`, `quorum.two_node`, `totem.config_version`).
    pub key: String,
    /// The value in the file on disk (`None`: not set there).
    pub file: Option<String>,
    /// The value corosync runs with (`None`: not set).
    pub runtime: Option<String>,
}

/// The numbers a quorum state is compared by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumNumbers {
    /// Expected votes.
    pub expected_votes: u32,
    /// The quorum threshold.
    pub quorum: u32,
    /// Quorate.
    pub quorate: bool,
}

/// The nodes holding one version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileGroup {
    /// The version's sha256 (`None`: no such file).
    pub sha256: Option<String>,
    /// The nodes holding it.
    pub nodes: Vec<String>,
}

/// One finding of drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Drift {
    /// A file differs between the reachable nodes.
    FilesDiffer {
        /// The file.
        path: String,
        /// Each version and who holds it.
        groups: Vec<FileGroup>,
    },
    /// On one node, /etc/pve/corosync.conf differs from /etc/corosync/corosync.conf.
    PveCopyDiffers {
        /// The node.
        node: String,
    },
    /// corosync runs with something other than the file on its disk (not reloaded yet, or
    /// the file was changed by hand).
    RuntimeDiffersFromFile {
        /// The node.
        node: String,
        /// The keys that differ.
        keys: Vec<KeyDifference>,
    },
    /// The node's quorum state differs from what its own file predicts, e.g. an expected
    /// votes override (`corosync-quorumtool -e`, `pvecm expected`).
    QuorumDiffersFromPrediction {
        /// The node.
        node: String,
        /// What corosync shows.
        actual: QuorumNumbers,
        /// What the prediction says.
        predicted: QuorumNumbers,
    },
    /// The members announce different config_versions.
    ConfigVersionsDiffer {
        /// The node that sees it.
        node: String,
        /// Per member, its config_version.
        versions: BTreeMap<u32, u64>,
    },
    /// Crypto is on but the node's authkey is missing or not mode 0400.
    Authkey {
        /// The node.
        node: String,
        /// What is wrong: `missing` or `mode 644`.
        problem: String,
    },
}

impl Drift {
    /// One line for people.
    pub fn message(&self) -> String {
        let short = |sha: &Option<String>| {
            sha.as_deref()
                .map_or("missing".to_string(), |sha| sha[..sha.len().min(12)].to_string())
        };
        match self {
            Drift::FilesDiffer { path, groups } => format!(
                "{path} differs between nodes: {}",
                groups
                    .iter()
                    .map(|group| format!("{} on {}", short(&group.sha256), group.nodes.join(",")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Drift::PveCopyDiffers { node } => {
                format!("{node}: {PVE_CONF} differs from {COROSYNC_CONF} (pmxcfs has not copied it)")
            }
            Drift::RuntimeDiffersFromFile { node, keys } => format!(
                "{node}: corosync runs with another configuration than the file on its disk ({}); \
                 a reload (corosync-cfgtool -R) or restart would change it",
                keys.iter()
                    .map(|key| format!(
                        "{} file {} running {}",
                        key.key,
                        key.file.as_deref().unwrap_or("unset"),
                        key.runtime.as_deref().unwrap_or("unset")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Drift::QuorumDiffersFromPrediction {
                node,
                actual,
                predicted,
            } => {
                let override_hint = if actual.expected_votes != predicted.expected_votes {
                    " (an expected votes override, e.g. `corosync-quorumtool -e` or `pvecm expected`)"
                } else {
                    ""
                };
                format!(
                    "{node}: expected votes {}, quorum {}, quorate {} but its file predicts {}, {}, {}{override_hint}",
                    actual.expected_votes,
                    actual.quorum,
                    yes_no(actual.quorate),
                    predicted.expected_votes,
                    predicted.quorum,
                    yes_no(predicted.quorate)
                )
            }
            Drift::ConfigVersionsDiffer { node, versions } => format!(
                "{node}: members run different config_versions ({})",
                versions
                    .iter()
                    .map(|(id, version)| format!("node {id}: {version}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Drift::Authkey { node, problem } => format!("{node}: crypto is on but the authkey is {problem}"),
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// The whole picture: every node's readings, its prediction, and the drift found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// The nodes, in inventory order.
    pub nodes: Vec<NodeStatus>,
    /// Per node name, what its own file predicts (nodes without a readable file have none).
    pub predictions: BTreeMap<String, Prediction>,
    /// Drift, in a stable order.
    pub drift: Vec<Drift>,
    /// Predictions that could not be made (a file whatif refuses), per node.
    pub prediction_errors: BTreeMap<String, String>,
}

impl ClusterStatus {
    /// The nodes that could not be reached.
    pub fn unreachable(&self) -> Vec<&NodeStatus> {
        self.nodes.iter().filter(|node| !node.reachable).collect()
    }
}

/// Compares, predicts and flags drift over the nodes' readings.
pub fn analyze(nodes: Vec<NodeStatus>) -> ClusterStatus {
    let mut drift = Vec::new();
    file_drift(
        &nodes,
        COROSYNC_CONF,
        |node| node.corosync_conf.as_ref().map(|file| file.sha256.clone()),
        &mut drift,
    );
    if nodes.iter().any(|node| node.pve_conf.is_some()) {
        file_drift(
            &nodes,
            PVE_CONF,
            |node| node.pve_conf.as_ref().map(|file| file.sha256.clone()),
            &mut drift,
        );
    }
    for node in &nodes {
        if let (Some(pve), Some(local)) = (&node.pve_conf, &node.corosync_conf) {
            if pve.sha256 != local.sha256 {
                drift.push(Drift::PveCopyDiffers {
                    node: node.name.clone(),
                });
            }
        }
        if let (Some(runtime), Some(text)) = (&node.runtime, node.config_text()) {
            let keys = runtime_differences(text, &runtime.cmap);
            if !keys.is_empty() {
                drift.push(Drift::RuntimeDiffersFromFile {
                    node: node.name.clone(),
                    keys,
                });
            }
            let versions: BTreeSet<u64> = runtime.member_config_versions.values().copied().collect();
            if versions.len() > 1 {
                drift.push(Drift::ConfigVersionsDiffer {
                    node: node.name.clone(),
                    versions: runtime.member_config_versions.clone(),
                });
            }
        }
        if let Some(authkey) = &node.authkey {
            if !authkey.ok() {
                let problem = if authkey.present {
                    format!("mode {}", authkey.mode.as_deref().unwrap_or("unknown"))
                } else {
                    format!("missing ({})", authkey.path)
                };
                drift.push(Drift::Authkey {
                    node: node.name.clone(),
                    problem,
                });
            }
        }
    }
    let (predictions, prediction_errors) = predict(&nodes);
    for node in &nodes {
        if let (Some(quorum), Some(prediction)) = (node.quorum(), predictions.get(&node.name)) {
            let actual = QuorumNumbers {
                expected_votes: quorum.expected_votes,
                quorum: quorum.quorum,
                quorate: quorum.quorate,
            };
            let predicted = QuorumNumbers {
                expected_votes: prediction.expected_votes,
                quorum: prediction.quorum,
                quorate: prediction.quorate,
            };
            if actual != predicted {
                drift.push(Drift::QuorumDiffersFromPrediction {
                    node: node.name.clone(),
                    actual,
                    predicted,
                });
            }
        }
    }
    ClusterStatus {
        nodes,
        predictions,
        drift,
        prediction_errors,
    }
}

/// Flags `path` when its versions differ between the reachable nodes that were read.
fn file_drift(
    nodes: &[NodeStatus],
    path: &str,
    sha_of: impl Fn(&NodeStatus) -> Option<Option<String>>,
    drift: &mut Vec<Drift>,
) {
    let mut groups: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for node in nodes.iter().filter(|node| node.reachable) {
        if let Some(sha) = sha_of(node) {
            groups.entry(sha).or_default().push(node.name.clone());
        }
    }
    if groups.len() > 1 {
        drift.push(Drift::FilesDiffer {
            path: path.to_string(),
            groups: groups
                .into_iter()
                .map(|(sha256, nodes)| FileGroup { sha256, nodes })
                .collect(),
        });
    }
}

/// The keys corosync holds differently from `text` (nodelist, quorum, config_version): what
/// a reload would change. Keys corosync adds itself (`nodelist.local_node_pos`) are skipped.
pub fn runtime_differences(text: &str, runtime: &BTreeMap<String, String>) -> Vec<KeyDifference> {
    let (document, _) = model::syntax::parse(text);
    let flattened = model::config::cmap::flatten(&document);
    let compared = |key: &str| {
        (key.starts_with("nodelist.node.") || key.starts_with("quorum.") || key == "totem.config_version")
            && key != "nodelist.local_node_pos"
    };
    let file: BTreeMap<&str, &str> = flattened
        .cmap
        .entries
        .iter()
        .filter(|(key, _)| compared(key))
        .map(|(key, value)| (key.as_str(), value.value.as_str()))
        .collect();
    let running: BTreeMap<&str, &str> = runtime
        .iter()
        .filter(|(key, _)| compared(key))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let keys: BTreeSet<&str> = file.keys().chain(running.keys()).copied().collect();
    keys.into_iter()
        .filter(|key| file.get(key) != running.get(key))
        // corosync does not store `totem.config_version: 0`'s absence differently from 0.
        .filter(|key| {
            !(*key == "totem.config_version"
                && file.get(key).copied().unwrap_or("0") == running.get(key).copied().unwrap_or("0"))
        })
        .map(|key| KeyDifference {
            key: key.to_string(),
            file: file.get(key).map(|value| value.to_string()),
            runtime: running.get(key).map(|value| value.to_string()),
        })
        .collect()
}

/// The running nodes and their partitions as the reachable nodes' memberships show them:
/// one group per distinct membership, first seen first (a node is in the first group that
/// lists it).
fn observed_groups(nodes: &[NodeStatus]) -> Vec<Vec<u32>> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut placed = BTreeSet::new();
    for node in nodes {
        let Some(quorum) = node.quorum() else {
            continue;
        };
        let group: Vec<u32> = quorum
            .member_ids()
            .into_iter()
            .filter(|id| !placed.contains(id))
            .collect();
        if !group.is_empty() {
            placed.extend(group.iter().copied());
            groups.push(group);
        }
    }
    groups
}

/// Predicts every node from its own file (one whatif run per distinct file).
fn predict(nodes: &[NodeStatus]) -> (BTreeMap<String, Prediction>, BTreeMap<String, String>) {
    let groups = observed_groups(nodes);
    let mut by_file: BTreeMap<String, (String, Vec<&NodeStatus>)> = BTreeMap::new();
    for node in nodes {
        if let (Some(file), Some(text)) = (&node.corosync_conf, node.config_text()) {
            if let Some(sha) = &file.sha256 {
                by_file
                    .entry(sha.clone())
                    .or_insert_with(|| (text.to_string(), Vec::new()))
                    .1
                    .push(node);
            }
        }
    }
    let mut predictions = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for (sha, (text, holders)) in by_file {
        match predict_file(&text, &groups) {
            Ok(rows) => {
                for node in holders {
                    if let Some(row) = rows.iter().find(|row| row.nodeid == node.nodeid) {
                        predictions.insert(
                            node.name.clone(),
                            Prediction {
                                from_sha256: sha.clone(),
                                up: row.up,
                                members: row.members.clone(),
                                quorate: row.quorate,
                                expected_votes: row.expected_votes,
                                quorum: row.quorum,
                                total_votes: row.total_votes,
                                why: row.why.clone(),
                            },
                        );
                    }
                }
            }
            Err(error) => {
                for node in holders {
                    errors.insert(node.name.clone(), error.clone());
                }
            }
        }
    }
    (predictions, errors)
}

/// The whatif script that brings a cluster configured by `settings` to the observed state:
/// every configured node starts, the ones no membership shows go down, and differing
/// memberships become partitions.
pub fn observed_script(configured: &[u32], groups: &[Vec<u32>]) -> String {
    let seen: BTreeSet<u32> = groups.iter().flatten().copied().collect();
    let down: Vec<String> = configured
        .iter()
        .filter(|id| !seen.contains(id))
        .map(ToString::to_string)
        .collect();
    let mut steps = Vec::new();
    if !down.is_empty() {
        steps.push(format!("down {}", down.join(",")));
    }
    let known: Vec<Vec<String>> = groups
        .iter()
        .map(|group| {
            group
                .iter()
                .filter(|id| configured.contains(id))
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|group| !group.is_empty())
        .collect();
    if known.len() > 1 {
        let parts: Vec<String> = known
            .iter()
            .enumerate()
            .map(|(index, group)| format!("{index}:{}", group.join(",")))
            .collect();
        steps.push(format!("split {}", parts.join(" ")));
    }
    steps.join("; ")
}

fn predict_file(text: &str, groups: &[Vec<u32>]) -> Result<Vec<sim::whatif::NodeRow>, String> {
    let (document, _) = model::syntax::parse(text);
    let (config, _) = model::config::Config::from_document(&document);
    let settings = config.quorum_settings();
    let configured: Vec<u32> = settings.nodes.iter().map(|node| node.nodeid).collect();
    let script = observed_script(&configured, groups);
    let options = sim::whatif::WhatifOptions::default();
    let mut no_reload =
        |_: &str| -> Result<model::quorum::QuorumSettings, &'static str> { Err("status never reloads") };
    let report = sim::whatif::evaluate(&settings, &script, &options, &mut no_reload)
        .map_err(|error| format!("whatif `{script}`: {error}"))?;
    Ok(report
        .steps
        .last()
        .map(|step| step.nodes.clone())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observed_script_downs_the_unseen_and_splits_differing_memberships() {
        assert_eq!(observed_script(&[1, 2, 3], &[vec![1, 2, 3]]), "");
        assert_eq!(observed_script(&[1, 2, 3], &[vec![1, 2]]), "down 3");
        assert_eq!(
            observed_script(&[1, 2, 3, 4], &[vec![1, 2], vec![3], vec![9]]),
            "down 4; split 0:1,2 1:3"
        );
        assert_eq!(observed_script(&[1, 2], &[]), "down 1,2");
    }

    #[test]
    fn runtime_differences_name_the_keys_a_reload_would_change() {
        let text = "totem {\n version: 2\n cluster_name: c\n config_version: 3\n}\n\
                    nodelist {\n node {\n  nodeid: 1\n  name: n1\n  ring0_addr: 198.18.0.1\n }\n}\n\
                    quorum {\n provider: corosync_votequorum\n two_node: 1\n}\n";
        let runtime: BTreeMap<String, String> = [
            ("nodelist.local_node_pos", "0"),
            ("nodelist.node.0.nodeid", "1"),
            ("nodelist.node.0.name", "n1"),
            ("nodelist.node.0.ring0_addr", "198.18.0.9"),
            ("quorum.provider", "corosync_votequorum"),
            ("totem.config_version", "2"),
            ("runtime.votequorum.two_node", "1"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
        let differences = runtime_differences(text, &runtime);
        let keys: Vec<&str> = differences
            .iter()
            .map(|difference| difference.key.as_str())
            .collect();
        assert_eq!(
            keys,
            vec![
                "nodelist.node.0.ring0_addr",
                "quorum.two_node",
                "totem.config_version"
            ]
        );
        assert_eq!(differences[1].runtime, None);
        assert_eq!(differences[2].file.as_deref(), Some("3"));
        let same = runtime_differences(text.replace("config_version: 3\n", "").as_str(), &BTreeMap::new());
        assert!(
            same.iter()
                .all(|difference| difference.key != "totem.config_version"),
            "{same:?}"
        );
    }
}
