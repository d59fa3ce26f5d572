//! `quorate runbook`: reads a human-written cluster runbook (Markdown with shell and
//! corosync.conf blocks) and says, per command and with the runbook's line, what is unsafe,
//! refused, wrong, insecure or unrecognised.
//!
//! Owns the Markdown reading (`markdown`, pulldown-cmark with source offsets), the shell
//! splitter (`shell`), the node tracking (`ssh root@ADDR`, "On node X" prose and comments,
//! addresses mapped to nodes through the configs seen so far) and the checker (`check`),
//! which follows each node's files and corosync through the runbook. Config blocks are
//! judged by `model::lint` and, per node, by the planner's `FileEntry` validation;
//! quorum questions go to the votequorum engine (`model::quorum::ClusterState`) and the
//! planner's fault analysis (`safety::Safety`): no second checker.
//!
//! It must not do IO or print: the runbook arrives as a string, findings leave as values.

mod check;
mod markdown;
mod shell;

pub use check::CODES;

use serde::Serialize;

/// The largest runbook read (bytes): real runbooks are a few hundred kilobytes at most.
pub const MAX_RUNBOOK_BYTES: usize = 2 * 1024 * 1024;

/// What `runbook` may assume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunbookOptions {
    /// Whether the cluster is Proxmox VE; `None`: detected from the runbook (`pvecm`, `/etc/pve`).
    pub proxmox: Option<bool>,
    /// Extra faults under which a forced quorum change must not allow split-brain.
    pub fault_budget: u32,
}

impl Default for RunbookOptions {
    fn default() -> RunbookOptions {
        RunbookOptions {
            proxmox: None,
            fault_budget: 1,
        }
    }
}

/// The kind of a finding (the issue's contract names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Quorum lost with no fault, or split-brain possible within the fault budget.
    Unsafe,
    /// corosync (or pvecm, pmxcfs) would refuse the config, the start or the reload.
    Refused,
    /// Does not do what the text says or expects.
    Wrong,
    /// Secrets printed, copied through world-readable places or left behind, key changes on a running cluster.
    Insecure,
    /// A cluster-looking command the checker cannot interpret.
    Unrecognised,
}

impl Kind {
    /// The contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unsafe => "unsafe",
            Kind::Refused => "refused",
            Kind::Wrong => "wrong",
            Kind::Insecure => "insecure",
            Kind::Unrecognised => "unrecognised",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Its kind.
    pub kind: Kind,
    /// Its stable code (`R001`...; findings of a config block keep lint's code).
    pub code: &'static str,
    /// The code's kebab-case name.
    pub name: &'static str,
    /// What is wrong (no trailing period).
    pub message: String,
    /// 1-based line in the runbook.
    pub line: usize,
    /// What to do instead.
    pub help: String,
    /// The what-if replay that shows an `unsafe` finding, when there is one (R027): in JSON
    /// only when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatif: Option<WhatifReplay>,
    /// Byte range in the runbook the finding points at.
    #[serde(skip)]
    pub span: (usize, usize),
}

/// A what-if replay of a finding: `quorate whatif DIR/CONFIG -s SCRIPT` after `quorate runbook
/// --configs-out DIR`, or `quorate lab replay` on a lab made from CONFIG.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatifReplay {
    /// The `line-N.conf` file the script starts from (every node runs it).
    pub config: String,
    /// The script, one step per line; the files it installs are `line-N.conf` files too.
    pub script: String,
}

/// One command of the runbook (or one config block), where it runs and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// 1-based line.
    pub line: usize,
    /// The nearest heading above it.
    pub heading: String,
    /// The node it runs on, when the runbook says.
    pub node: Option<String>,
    /// The command as written (a config block: `<config block>`).
    pub command: String,
    /// What it does to the cluster, in the planner's action words (`start pve1-node2`).
    pub actions: Vec<String>,
    /// Its findings.
    pub findings: Vec<Finding>,
}

/// What `runbook` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunbookReport {
    /// The runbook's name as given.
    pub file: String,
    /// The cluster-related commands and config blocks, in order.
    pub steps: Vec<Step>,
    /// Commands that are not cluster-related (each program listed once).
    pub not_cluster_related: Vec<String>,
    /// Whether the runbook was read as a Proxmox VE one.
    pub proxmox: bool,
    /// The configuration the cluster runs before the runbook (`None`: it forms the cluster).
    #[serde(skip)]
    pub start_config: Option<String>,
    /// The last configuration the runbook installs or shows (its intended end state).
    #[serde(skip)]
    pub end_config: Option<String>,
    /// Every configuration the runbook shows, writes or generates (pcs, crmsh, pvecm), by
    /// the name the `whatif` scripts of its findings give it (`line-N.conf`: the one it has
    /// at line N), with its text: written beside a script, they make it replay.
    #[serde(skip)]
    pub configs: Vec<(String, String)>,
}

impl RunbookReport {
    /// Every finding, in runbook order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.steps.iter().flat_map(|step| step.findings.iter())
    }
}

/// Why a runbook cannot be checked (a tool error: exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunbookError {
    /// Larger than `MAX_RUNBOOK_BYTES`.
    #[error("{file}: {bytes} bytes is too large for a runbook (at most {max}); split it or check the part that changes the cluster")]
    TooLarge {
        /// The name.
        file: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Contains NUL bytes or other control characters: not a text file.
    #[error("{file}:{line}: binary data (a NUL or control byte): a runbook is a Markdown text file")]
    Binary {
        /// The name.
        file: String,
        /// The first line with such a byte.
        line: usize,
    },
    /// No fenced or indented code block: nothing to check.
    #[error("{file}: no code blocks: a runbook's commands and configs go in fenced blocks (```bash ... ```), so there is nothing to check")]
    NoCodeBlocks {
        /// The name.
        file: String,
    },
}

/// Checks the runbook `text` (named `file`).
pub fn runbook(file: &str, text: &str, options: &RunbookOptions) -> Result<RunbookReport, RunbookError> {
    if text.len() > MAX_RUNBOOK_BYTES {
        return Err(RunbookError::TooLarge {
            file: file.to_string(),
            bytes: text.len(),
            max: MAX_RUNBOOK_BYTES,
        });
    }
    if let Some(position) = text
        .bytes()
        .position(|byte| byte == 0 || (byte < 0x20 && !matches!(byte, b'\n' | b'\r' | b'\t' | 0x0c)))
    {
        return Err(RunbookError::Binary {
            file: file.to_string(),
            line: text[..position].matches('\n').count() + 1,
        });
    }
    let blocks = markdown::blocks(text);
    if !blocks
        .iter()
        .any(|block| matches!(block, markdown::Block::Code { .. }))
    {
        return Err(RunbookError::NoCodeBlocks {
            file: file.to_string(),
        });
    }
    Ok(check::Checker::new(file, text, options).run(&blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("QUORATE_RUNBOOK_CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(64)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// No input makes the checker panic: arbitrary text, and text made of runbook pieces.
        #[test]
        fn no_input_panics(text in ".{0,400}", pieces in proptest::collection::vec(prop_oneof![
            Just("# Step 1\n"), Just("On node2:\n\n"), Just("```bash\n"), Just("```\n"), Just("ssh root@10.0.0.1\n"),
            Just("pvecm create c --link0 10.0.0.1\n"), Just("systemctl start corosync\n"), Just("sleep 1\n"),
            Just("cat > /etc/corosync/corosync.conf << 'EOF'\n"), Just("EOF\n"), Just("totem {\n"), Just("}\n"),
            Just("nodelist {\n node {\n ring0_addr: 10.0.0.1\n name: node2\n nodeid: 1\n }\n}\n"),
            Just("corosync-quorumtool -e 1\n"), Just("iptables -I INPUT -s 10.0.0.2 -j DROP\n"), Just("'\""),
            Just("\\\n"), Just("&& || ; | $(x\n"), Just("# Nodes: 3\n"), Just("cp /tmp/authkey /etc/corosync/\n"),
        ], 0..30)) {
            let _ = runbook("prop.md", &text, &RunbookOptions::default());
            let joined: String = pieces.concat();
            let _ = runbook("prop.md", &joined, &RunbookOptions::default());
        }
    }

    #[test]
    fn errors_name_the_file() {
        let error = runbook("x.md", "# only prose\n", &RunbookOptions::default()).err();
        assert_eq!(error, Some(RunbookError::NoCodeBlocks { file: "x.md".into() }));
    }
}
