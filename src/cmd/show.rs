//! `quorate show FILE`: the typed configuration with the values corosync computes.
//!
//! Owns the rendering of `model::config::Config` (text summary or JSON). Secrets (an inline
//! `totem.key`) are redacted here too, whatever the model keeps. It must not judge the file.

use crate::input::LoadedConfig;
use crate::{EXIT_ERROR, EXIT_OK};
use clap::{Args, ValueEnum};
use model::quorum::{ClusterState, QuorumSettings};
use model::scenario::{NodeRef, Step};
use serde::Serialize;
use std::io::Write;

/// Output formats of `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// A readable summary.
    Human,
    /// The whole typed configuration as JSON.
    Json,
}

/// Arguments of `quorate show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The corosync.conf; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Human)]
    pub format: ShowFormat,
}

/// What votequorum computes from the file once every node has started and joined: the
/// numbers `corosync-quorumtool -s` would show on a healthy cluster. Asked of the engine
/// (`model::quorum::ClusterState`), never recomputed here. See: issue 10 item 11.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumFacts {
    /// Why corosync refuses to start with this file (then the other facts are `None`).
    pub startup_error: Option<String>,
    /// The sum of the nodelist's `quorum_votes`.
    pub node_votes: u32,
    /// Expected votes in force (`quorum.expected_votes`, else the node votes, plus device votes).
    pub expected_votes: Option<u32>,
    /// The quorum threshold: the votes a partition needs.
    pub quorum: Option<u32>,
    /// two_node in force (only with exactly two nodes).
    pub two_node: Option<bool>,
    /// wait_for_all in force.
    pub wait_for_all: Option<bool>,
    /// wait_for_all is on only because two_node is (not written in the file).
    pub wait_for_all_implied: bool,
    /// The votes of the quorum device (counted only while it casts them); `None` without one.
    pub device_votes: Option<u32>,
}

impl QuorumFacts {
    /// The facts for `settings`.
    pub fn of(settings: &QuorumSettings) -> QuorumFacts {
        let node_votes = settings.nodes.iter().map(|node| node.votes).sum();
        let implied = settings.wait_for_all.is_none() && settings.two_node;
        let startup_error = model::quorum::startup_error(settings).map(str::to_string);
        let empty = QuorumFacts {
            startup_error: startup_error.clone(),
            node_votes,
            expected_votes: None,
            quorum: None,
            two_node: None,
            wait_for_all: None,
            wait_for_all_implied: implied,
            device_votes: None,
        };
        if startup_error.is_some() {
            return empty;
        }
        let Ok(state) = ClusterState::new(settings) else {
            return empty;
        };
        let views = state.views(settings);
        let Some(view) = views.iter().find(|view| view.up) else {
            return empty;
        };
        let device_votes = settings.device.as_ref().map(|_| {
            let ids: Vec<NodeRef> = views
                .iter()
                .filter(|view| view.up)
                .map(|view| NodeRef::Id(view.nodeid))
                .collect();
            let mut casting = state.clone();
            casting.apply(settings, &Step::Qdevice { on: true, nodes: ids });
            casting
                .views(settings)
                .iter()
                .find(|other| other.nodeid == view.nodeid)
                .map_or(0, |other| other.total_votes.saturating_sub(view.total_votes))
        });
        QuorumFacts {
            expected_votes: Some(view.expected_votes),
            quorum: Some(view.quorum),
            two_node: Some(view.flags.two_node),
            wait_for_all: Some(view.flags.wait_for_all),
            device_votes,
            ..empty
        }
    }
}

/// Replaces every inline key value in the JSON rendering of a config.
fn redact(value: &mut serde_json::Value) {
    if let Some(entries) = value.pointer_mut("/cmap/entries").and_then(|v| v.as_object_mut()) {
        for (key, entry) in entries.iter_mut() {
            if key == "totem.key" {
                if let Some(object) = entry.as_object_mut() {
                    object.insert("value".into(), serde_json::Value::String("<redacted>".into()));
                }
            }
        }
    }
}

/// Runs `quorate show`.
pub fn run(args: &ShowArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let loaded = match LoadedConfig::load(&args.file) {
        Ok(loaded) => loaded,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    // The view stays a view (exit 0), but what corosync refuses is said first, with its
    // position: after a syntax error the summary shows only what the parser could read.
    for refusal in loaded.refusals(loaded.is_proxmox(&args.file)) {
        writeln!(err, "{refusal}")?;
    }
    let config = loaded.config;
    match args.format {
        ShowFormat::Json => {
            let mut value = serde_json::to_value(&config)?;
            redact(&mut value);
            if let Some(object) = value.as_object_mut() {
                let facts = QuorumFacts::of(&config.quorum_settings());
                object.insert("quorum_facts".into(), serde_json::to_value(facts)?);
            }
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        ShowFormat::Human => write_summary(&config, out)?,
    }
    Ok(EXIT_OK)
}

fn write_facts(facts: &QuorumFacts, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "quorum facts (every node started and joined)")?;
    if let Some(error) = &facts.startup_error {
        return writeln!(out, "  corosync refuses to start: {error}");
    }
    let (Some(expected), Some(quorum)) = (facts.expected_votes, facts.quorum) else {
        return writeln!(out, "  no node can start (no node has a ring address)");
    };
    writeln!(
        out,
        "  expected votes {expected} (nodes {}), quorum {quorum}: a partition needs {quorum} vote(s)",
        facts.node_votes
    )?;
    let on = |flag: Option<bool>| if flag == Some(true) { "on" } else { "off" };
    writeln!(
        out,
        "  two_node {}, wait_for_all {}{}",
        on(facts.two_node),
        on(facts.wait_for_all),
        if facts.wait_for_all_implied && facts.wait_for_all == Some(true) {
            " (implied by two_node: not written in the file)"
        } else {
            ""
        }
    )?;
    match facts.device_votes {
        None => writeln!(out, "  quorum device none"),
        Some(0) => writeln!(
            out,
            "  quorum device configured, but it can cast no vote with this configuration"
        ),
        Some(votes) => writeln!(
            out,
            "  quorum device {votes} vote(s), counted only while it casts them"
        ),
    }
}

fn write_summary(config: &model::config::Config, out: &mut dyn Write) -> std::io::Result<()> {
    let effective = &config.effective;
    let name = config
        .totem
        .cluster_name
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or("(no cluster_name)");
    writeln!(out, "cluster {name}")?;
    writeln!(
        out,
        "  transport {:?}, link_mode {}, crypto {}/{}",
        effective.transport, effective.link_mode, effective.crypto_cipher, effective.crypto_hash
    )?;
    writeln!(out, "nodes")?;
    for node in &config.nodelist.nodes {
        let nodeid = node
            .nodeid
            .as_ref()
            .map(|s| s.value.to_string())
            .unwrap_or_else(|| "-".into());
        let links: Vec<String> = node
            .ring_addrs
            .iter()
            .map(|(link, addr)| format!("link{link}={}", addr.value))
            .collect();
        writeln!(
            out,
            "  {:>5}  {:<20} votes {}  {}",
            nodeid,
            node.display_name().unwrap_or("(unnamed)"),
            node.votes(),
            links.join(" ")
        )?;
    }
    let settings = config.quorum_settings();
    writeln!(out, "quorum")?;
    writeln!(out, "  provider {:?}", settings.provider)?;
    let flags = [
        ("expected_votes", settings.expected_votes.map(|v| v.to_string())),
        ("two_node", settings.two_node.then(|| "1".to_string())),
        (
            "wait_for_all",
            settings.wait_for_all.map(|v| u8::from(v).to_string()),
        ),
        (
            "last_man_standing",
            settings.last_man_standing.then(|| "1".to_string()),
        ),
        (
            "auto_tie_breaker",
            settings.auto_tie_breaker.then(|| "1".to_string()),
        ),
        ("device", settings.device.as_ref().map(|d| d.model.clone())),
    ];
    for (key, value) in flags {
        if let Some(value) = value {
            writeln!(out, "  {key} {value}")?;
        }
    }
    write_facts(&QuorumFacts::of(&settings), out)?;
    writeln!(out, "timing (effective, ms)")?;
    writeln!(
        out,
        "  token {} (coefficient {}, {} nodes with ring0), consensus {}, token_retransmit {}, hold {}, join {}",
        effective.token,
        effective.token_coefficient,
        effective.ring0_node_count,
        effective.consensus,
        effective.token_retransmit,
        effective.hold,
        effective.join
    )?;
    writeln!(
        out,
        "  a failure becomes a new membership after about token + consensus = {} ms",
        u64::from(effective.token) + u64::from(effective.consensus)
    )?;
    Ok(())
}
