//! `quorate report`: one self-contained design-review page (or JSON) for a corosync.conf.
//!
//! Owns gathering (each section is the JSON of an existing command, run in-process: `show`
//! for the topology, `lint` for the findings, `whatif --all` for the failure matrix,
//! `whatif -s` per scenario) and hands the data to [`html`] and [`svg`]. It must not decide
//! anything itself: there is no second engine here, only the existing commands' output.

pub mod html;
pub mod layout;
pub mod svg;
pub mod timeline;

use serde::Serialize;
use serde_json::Value;

/// One node of the topology, read from the cmap `show` computes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TopologyNode {
    /// `name` (or `ring0_addr` when there is no name).
    pub name: String,
    /// `nodeid`, when set.
    pub nodeid: Option<u32>,
    /// `quorum_votes` (1 when unset).
    pub votes: u32,
    /// `(link number, address)` for every `ringX_addr`.
    pub addresses: Vec<(u32, String)>,
}

/// Nodes, links and the quorum device host of the configuration.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Topology {
    /// The nodelist, in file order.
    pub nodes: Vec<TopologyNode>,
    /// Every link number any node has an address on, ascending.
    pub links: Vec<u32>,
    /// `quorum.device.net.host`, when a qdevice is configured.
    pub qnetd_host: Option<String>,
    /// `quorum.device.model`, when a qdevice is configured.
    pub device_model: Option<String>,
}

/// A section that could not be produced: the command's own message, never a guess.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Refusal {
    /// The command line that was run.
    pub command: String,
    /// Its exit code.
    pub exit_code: u8,
    /// What it wrote on stderr.
    pub reason: String,
}

/// The output of one in-process command: its JSON, or why there is none.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The command printed JSON.
    Data(Value),
    /// The command refused or failed.
    Refused(Refusal),
}

/// One `-s` scenario and what whatif said about it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Scenario {
    /// The script as given.
    pub script: String,
    /// `whatif FILE -s SCRIPT --timeline --format json`.
    pub whatif: Section,
}

/// Everything the page shows, also the `--format json` output.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// The file, as given.
    pub file: String,
    /// Section 1.
    pub topology: Topology,
    /// Section 2: `lint FILE --format json`.
    pub findings: Section,
    /// Section 3: `whatif FILE --all --format json`.
    pub failure_matrix: Section,
    /// Section 4.
    pub scenarios: Vec<Scenario>,
    /// The file's text, for the code frames of the findings.
    #[serde(skip)]
    pub source: String,
}

/// Errors of gathering a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// `show` could not read or parse the file, so there is nothing to draw.
    #[error("{file}: cannot read the configuration: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// `show`'s message.
        reason: String,
    },
}

/// Runs `quorate ARGS` in-process and returns its JSON, or a refusal with its stderr.
fn run_json(args: &[&str]) -> Section {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["quorate"];
    argv.extend_from_slice(args);
    let exit_code = crate::run(argv.iter().copied(), &mut out, &mut err);
    let command = format!("quorate {}", args.join(" "));
    match serde_json::from_slice::<Value>(&out) {
        Ok(value) if exit_code != crate::EXIT_ERROR => Section::Data(value),
        _ => Section::Refused(Refusal {
            command,
            exit_code,
            reason: String::from_utf8_lossy(&err).trim().to_string(),
        }),
    }
}

/// Reads the topology out of `show`'s cmap entries.
fn topology(show: &Value) -> Topology {
    let entries = show.pointer("/cmap/entries").and_then(Value::as_object);
    let value =
        |key: &str| -> Option<String> { entries?.get(key)?.get("value")?.as_str().map(str::to_string) };
    let mut nodes = Vec::new();
    let mut links = std::collections::BTreeSet::new();
    for index in 0.. {
        let prefix = format!("nodelist.node.{index}.");
        let has_any = entries.is_some_and(|map| map.keys().any(|key| key.starts_with(&prefix)));
        if !has_any {
            break;
        }
        let mut addresses = Vec::new();
        for link in 0..8u32 {
            if let Some(address) = value(&format!("{prefix}ring{link}_addr")) {
                links.insert(link);
                addresses.push((link, address));
            }
        }
        let name = value(&format!("{prefix}name"))
            .or_else(|| addresses.first().map(|(_, address)| address.clone()))
            .unwrap_or_else(|| format!("node {index}"));
        nodes.push(TopologyNode {
            name,
            nodeid: value(&format!("{prefix}nodeid")).and_then(|text| text.parse().ok()),
            votes: value(&format!("{prefix}quorum_votes"))
                .and_then(|text| text.parse().ok())
                .unwrap_or(1),
            addresses,
        });
    }
    Topology {
        nodes,
        links: links.into_iter().collect(),
        qnetd_host: value("quorum.device.net.host"),
        device_model: value("quorum.device.model"),
    }
}

/// Gathers every section for `file` with the given `-s` scripts.
pub fn gather(file: &str, scripts: &[String]) -> Result<Report, ReportError> {
    let source = std::fs::read_to_string(file).map_err(|error| ReportError::Unreadable {
        file: file.to_string(),
        reason: error.to_string(),
    })?;
    let show = match run_json(&["show", file, "--format", "json"]) {
        Section::Data(value) => value,
        Section::Refused(refusal) => {
            return Err(ReportError::Unreadable {
                file: file.to_string(),
                reason: refusal.reason,
            })
        }
    };
    let scenarios = scripts
        .iter()
        .map(|script| Scenario {
            script: script.clone(),
            whatif: run_json(&["whatif", file, "-s", script, "--timeline", "--format", "json"]),
        })
        .collect();
    Ok(Report {
        file: file.to_string(),
        topology: topology(&show),
        findings: run_json(&["lint", file, "--format", "json"]),
        failure_matrix: run_json(&["whatif", file, "--all", "--format", "json"]),
        scenarios,
        source,
    })
}
