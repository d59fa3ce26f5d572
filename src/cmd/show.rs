//! `quorate show FILE`: the typed configuration with the values corosync computes.
//!
//! Owns the rendering of `model::config::Config` (text summary or JSON). Secrets (an inline
//! `totem.key`) are redacted here too, whatever the model keeps. It must not judge the file.

use crate::input::read_source;
use crate::{EXIT_ERROR, EXIT_OK};
use clap::{Args, ValueEnum};
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
    let source = match read_source(&args.file) {
        Ok(source) => source,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let (document, _) = model::syntax::parse(&source.text);
    let (config, _) = model::config::Config::from_document(&document);
    match args.format {
        ShowFormat::Json => {
            let mut value = serde_json::to_value(&config)?;
            redact(&mut value);
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        ShowFormat::Human => write_summary(&config, out)?,
    }
    Ok(EXIT_OK)
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
