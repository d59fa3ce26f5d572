//! `quorate status --inventory INV`: every node's corosync read over SSH, next to what its
//! own file predicts, with drift flagged.
//!
//! Owns the clap arguments, the table and the JSON document, and the exit code. Reading and
//! judging are `executor::status::{collect, drift}`'s.
//!
//! Exit status: 0 every node reached and no drift; 1 drift or an unreachable node (both are
//! reported, the rest of the cluster still is); 2 the inventory cannot be read.
//!
//! JSON schema of `status --format json` (stable): `{"nodes": [{"name", "nodeid", "address",
//! "reachable", "error", "corosync": {"state": "running"|"stopped"|"unknown", ...}, "version",
//! "runtime": {"members", "config_version", "member_config_versions"}|null, "links": [{"link",
//! "address", "peers": [{"nodeid", "status"}]}], "corosync_conf": {"path", "sha256"}|null,
//! "pve_conf": ...|null, "authkey": {"path", "present", "mode", "size"}|null, "problems"}],
//! "predictions": {NAME: {"from_sha256", "up", "members", "quorate", "expected_votes",
//! "quorum", "total_votes", "why"}}, "drift": [{"kind", ...}], "drift_messages": [S],
//! "prediction_errors": {NAME: S}}`.

use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use executor::inventory::Inventory;
use executor::ssh::SshOptions;
use executor::status::drift::{ClusterStatus, Drift};
use executor::status::Corosync;
use std::io::Write;
use std::path::PathBuf;

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A table per node, then drift.
    Human,
    /// The JSON document in the module documentation.
    Json,
}

/// Arguments of `quorate status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The inventory (TOML: nodes, addresses, SSH keys; `lab up` writes one).
    #[arg(long, value_name = "INV")]
    pub inventory: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

/// Runs `quorate status`.
pub fn run(args: &StatusArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let inventory = match Inventory::read(&args.inventory) {
        Ok(inventory) => inventory,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let options = ssh_options(&args.inventory);
    let status = executor::status::collect::read_inventory(&inventory, &options)?;
    match args.format {
        StatusFormat::Human => render(&status, out)?,
        StatusFormat::Json => {
            let mut value = serde_json::to_value(&status)?;
            if let Some(object) = value.as_object_mut() {
                let messages: Vec<String> = status.drift.iter().map(Drift::message).collect();
                object.insert("drift_messages".into(), serde_json::to_value(messages)?);
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(if status.drift.is_empty() && status.unreachable().is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// SSH options for an inventory: ControlMaster sockets in a short private directory of this
/// process (Unix socket paths are limited to about 108 bytes).
pub fn ssh_options(inventory: &std::path::Path) -> SshOptions {
    let _ = inventory;
    SshOptions {
        control_dir: std::env::temp_dir().join(format!("quorate-ssh-{}", std::process::id())),
        ..SshOptions::default()
    }
}

fn short(sha: Option<&str>) -> String {
    sha.map_or_else(|| "missing".to_string(), |sha| sha.chars().take(12).collect())
}

/// The table, the predictions and the drift.
fn render(status: &ClusterStatus, out: &mut dyn Write) -> std::io::Result<()> {
    let header = [
        "NODE",
        "ID",
        "COROSYNC",
        "QUORATE",
        "MEMBERS",
        "EXPECTED",
        "QUORUM",
        "PREDICTED",
        "CONFIG",
        "VERSION",
        "AUTHKEY",
        "LINKS",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut notes = Vec::new();
    for node in &status.nodes {
        let mut row = vec![node.name.clone(), node.nodeid.to_string()];
        if !node.reachable {
            row.push("unreachable".into());
            row.extend(std::iter::repeat_n("-".to_string(), 9));
            notes.push(format!(
                "{}: {}",
                node.name,
                node.error.as_deref().unwrap_or("unreachable")
            ));
            rows.push(row);
            continue;
        }
        match &node.corosync {
            Corosync::Running { quorum } => {
                let members: Vec<String> = quorum.member_ids().iter().map(u32::to_string).collect();
                row.extend([
                    "running".to_string(),
                    if quorum.quorate { "yes" } else { "no" }.to_string(),
                    members.join(","),
                    quorum.expected_votes.to_string(),
                    quorum.quorum.to_string(),
                ]);
            }
            Corosync::Stopped { .. } => row.extend(["stopped", "-", "-", "-", "-"].map(String::from)),
            other => {
                row.extend(["unknown", "-", "-", "-", "-"].map(String::from));
                if let Corosync::Unknown { error } = other {
                    notes.push(format!("{}: {error}", node.name));
                }
            }
        }
        row.push(match status.predictions.get(&node.name) {
            Some(prediction) if prediction.up => format!(
                "{} E{} Q{}",
                if prediction.quorate {
                    "quorate"
                } else {
                    "inquorate"
                },
                prediction.expected_votes,
                prediction.quorum
            ),
            Some(_) => "down".into(),
            None => "-".into(),
        });
        let config = node
            .corosync_conf
            .as_ref()
            .map_or_else(|| "unread".to_string(), |file| short(file.sha256.as_deref()));
        let version = node
            .runtime
            .as_ref()
            .map(|runtime| format!(" v{}", runtime.config_version));
        row.push(format!("{config}{}", version.unwrap_or_default()));
        row.push(node.version.clone().unwrap_or_else(|| "-".into()));
        row.push(match &node.authkey {
            Some(key) if key.present => format!("0{}", key.mode.as_deref().unwrap_or("?")),
            Some(_) => "missing".into(),
            None => "-".into(),
        });
        row.push(if node.links.is_empty() {
            "-".into()
        } else {
            node.links
                .iter()
                .map(|link| {
                    let down = link.down_peers();
                    if down.is_empty() {
                        format!("{}:ok", link.link)
                    } else {
                        let ids: Vec<String> = down.iter().map(u32::to_string).collect();
                        format!("{}:down({})", link.link, ids.join(","))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        });
        for problem in &node.problems {
            notes.push(format!("{}: {problem}", node.name));
        }
        rows.push(row);
    }
    for line in crate::render::plain_columns(&rows) {
        writeln!(out, "{line}")?;
    }
    for note in &notes {
        writeln!(out, "  {note}")?;
    }
    for (node, error) in &status.prediction_errors {
        writeln!(out, "  {node}: no prediction: {error}")?;
    }
    if status.drift.is_empty() {
        writeln!(
            out,
            "no drift: every file, runtime configuration and quorum state matches"
        )?;
    } else {
        writeln!(out, "drift:")?;
        for drift in &status.drift {
            writeln!(out, "  {}", drift.message())?;
        }
    }
    Ok(())
}
