//! The plan as `apply` reads it: the JSON contract of `quorate plan` (format 1, issue 11),
//! and the commands a step runs, parsed.
//!
//! Owns `Plan`, `Step`, `Snapshot` (serde views of the plan file; fields apply does not use
//! are ignored, so a plan with more fields still reads), `Command` (a step's command line
//! read as an action: an atomic file write with the content from the plan, a key copied from
//! node to node, or a program run as an argv, never through a shell) and the timing floor of
//! a plan. It must not run anything.

use crate::status::reading::sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// A plan file that cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Not JSON of the plan's shape.
    #[error("{}: not a plan (format 1): {message}", path.display())]
    Json {
        /// The plan file.
        path: std::path::PathBuf,
        /// serde's message (with line and column).
        message: String,
    },
    /// A format apply does not know.
    #[error("{}: plan format {format}; this quorate applies format 1", path.display())]
    Format {
        /// The plan file.
        path: std::path::PathBuf,
        /// The format found.
        format: u32,
    },
    /// A command apply cannot carry out.
    #[error("{}: step {step}, node {node}: `{command}`: {problem}", path.display())]
    Command {
        /// The plan file.
        path: std::path::PathBuf,
        /// The step id.
        step: u32,
        /// The node.
        node: String,
        /// The command as written.
        command: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The cluster as a plan expects it around a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The memberships of the running nodes (names), sorted.
    pub members: Vec<Vec<String>>,
    /// The quorate nodes.
    pub quorate: Vec<String>,
    /// The expected votes of the quorate nodes (of the running ones when none is quorate; 0
    /// when nothing runs).
    pub expected_votes: u32,
    /// Per node, the sha256 of the corosync.conf on its disk; a plan node missing here has
    /// no file.
    pub config_sha256_by_node: BTreeMap<String, String>,
    /// The running nodes (derived from `members` when the plan does not list them).
    #[serde(default)]
    pub running: Vec<String>,
    /// A plan that adds or removes a quorum device: the nodes whose corosync-qdevice casts
    /// the device's votes (absent in other plans: not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qdevice_casting: Option<Vec<String>>,
}

impl Snapshot {
    /// The running nodes: `running`, or every node of `members`.
    pub fn running_nodes(&self) -> Vec<String> {
        if !self.running.is_empty() {
            let mut running = self.running.clone();
            running.sort();
            return running;
        }
        let mut running: Vec<String> = self.members.iter().flatten().cloned().collect();
        running.sort();
        running.dedup();
        running
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position.
    pub id: u32,
    /// `write_config`, `install_authkey`, `generate_authkey`, `enable`, `reload`, `start`,
    /// `restart`, `stop`, `leave`, `wait`, ...
    pub action: String,
    /// The nodes it acts on.
    pub nodes: Vec<String>,
    /// The sha256 of the file a write step writes.
    #[serde(default)]
    pub config_sha256: Option<String>,
    /// Per node, the commands run there, in order.
    #[serde(default)]
    pub commands: BTreeMap<String, Vec<String>>,
    /// The cluster before the step.
    pub pre: Snapshot,
    /// The cluster after it.
    pub post: Snapshot,
    /// How long to wait for `post`.
    pub timeout_ms: u64,
    /// The estimated duration.
    #[serde(default)]
    pub estimate_ms: u64,
    /// Why this step, here.
    #[serde(default)]
    pub why: String,
}

impl Step {
    /// Whether the step changes who runs (a start, restart, stop or leave): it counts towards
    /// the convergence floor, and its `post` must be seen on a new ring.
    pub fn changes_membership(&self) -> bool {
        matches!(
            self.action.as_str(),
            "start" | "restart" | "stop" | "leave" | "pvecm_create" | "pvecm_add" | "pvecm_delnode"
        )
    }
}

/// A plan (format 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Always 1.
    pub format: u32,
    /// The source file's sha256 (`None`: a new cluster).
    #[serde(default)]
    pub from_sha256: Option<String>,
    /// The sha256 of `to_config`.
    pub to_sha256: String,
    /// The target as written to the nodes.
    pub to_config: String,
    /// Temporary files some steps write, by sha256.
    #[serde(default)]
    pub temp_configs: BTreeMap<String, String>,
    /// Node ids by name.
    #[serde(default)]
    pub nodeids: BTreeMap<String, u32>,
    /// The qnetd host of a plan that adds or removes a quorum device: some steps run
    /// commands there (the inventory's `[qnetd]`); it is not a cluster node and is never
    /// observed as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qnetd_host: Option<String>,
    /// Whether Proxmox actions are used.
    #[serde(default)]
    pub proxmox: bool,
    /// `safe` or `needs-outage`.
    #[serde(default)]
    pub verdict: String,
    /// The steps.
    pub steps: Vec<Step>,
    /// The plan's identity: the sha256 of its JSON without this field.
    pub plan_sha256: String,
}

impl Plan {
    /// Reads a plan from JSON text; `path` names it in errors. Every command is parsed, so a
    /// plan apply could not carry out is refused before anything runs.
    pub fn from_json(text: &str, path: &Path) -> Result<Plan, PlanError> {
        let plan: Plan = serde_json::from_str(text).map_err(|error| PlanError::Json {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        if plan.format != 1 {
            return Err(PlanError::Format {
                path: path.to_path_buf(),
                format: plan.format,
            });
        }
        for step in &plan.steps {
            for (node, commands) in &step.commands {
                for command in commands {
                    let problem = match Command::parse(command) {
                        Ok(Command::WriteFile { sha256, .. }) if plan.config_text(&sha256).is_none() => {
                            Some(format!("the plan has no file with sha256 {sha256}"))
                        }
                        Ok(Command::CopyFile { from, .. }) if from == *node => {
                            Some("copies a file from the node to itself".to_string())
                        }
                        Ok(_) => None,
                        Err(problem) => Some(problem),
                    };
                    if let Some(problem) = problem {
                        return Err(PlanError::Command {
                            path: path.to_path_buf(),
                            step: step.id,
                            node: node.clone(),
                            command: command.clone(),
                            problem,
                        });
                    }
                }
            }
        }
        Ok(plan)
    }

    /// Every way the plan's file hashes disagree with its texts: `to_sha256` against
    /// `to_config`, each `temp_configs` key against its text, and each write step's
    /// `config_sha256` against the files the plan holds. Empty: they agree. (A plan edited by
    /// hand can break them; apply would then write a file no step's `post` expects.)
    pub fn content_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let to = sha256_hex(self.to_config.as_bytes());
        if to != self.to_sha256 {
            problems.push(format!(
                "to_sha256 {} is not the sha256 of to_config ({to})",
                self.to_sha256
            ));
        }
        for (sha, text) in &self.temp_configs {
            let actual = sha256_hex(text.as_bytes());
            if actual != *sha {
                problems.push(format!(
                    "temp_configs entry {sha} is not the sha256 of its text ({actual})"
                ));
            }
        }
        for step in &self.steps {
            if let Some(sha) = &step.config_sha256 {
                if self.config_text(sha).is_none() {
                    problems.push(format!(
                        "step {}: config_sha256 {sha} names no file of the plan",
                        step.id
                    ));
                }
            }
        }
        problems
    }

    /// The text of the file with `sha256` (the target or a temporary file).
    pub fn config_text(&self, sha256: &str) -> Option<&str> {
        if sha256 == self.to_sha256 {
            return Some(&self.to_config);
        }
        self.temp_configs.get(sha256).map(String::as_str)
    }

    /// Every node the plan names (its node ids, its steps' nodes and commands), sorted by
    /// node id, then name.
    pub fn node_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.nodeids.keys().cloned().collect();
        for step in &self.steps {
            names.extend(step.nodes.iter().cloned());
            names.extend(step.commands.keys().cloned());
            names.extend(step.pre.config_sha256_by_node.keys().cloned());
        }
        names.sort_by_key(|name| (self.nodeids.get(name).copied().unwrap_or(u32::MAX), name.clone()));
        names.dedup();
        names
    }

    /// The node's name for node id `nodeid`, or `node<ID>`.
    pub fn name_of(&self, nodeid: u32) -> String {
        self.nodeids
            .iter()
            .find(|(_, id)| **id == nodeid)
            .map_or_else(|| format!("node{nodeid}"), |(name, _)| name.clone())
    }

    /// The convergence floor in ms: token (with its coefficient) plus consensus of the
    /// target, for every membership-changing step (spec 3.4).
    pub fn floor_ms(&self) -> u64 {
        let (document, _) = model::syntax::parse(&self.to_config);
        let (config, _) = model::config::Config::from_document(&document);
        let per_change = u64::from(config.effective.token) + u64::from(config.effective.consensus);
        let changes = self.steps.iter().filter(|step| step.changes_membership()).count() as u64;
        changes * per_change
    }
}

/// A step's command, as apply carries it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `write-file PATH sha256:HEX mode:0644`: the plan's file with that hash, written
    /// atomically (backup first).
    WriteFile {
        /// The path on the node.
        path: String,
        /// The content's sha256 (its text is in the plan).
        sha256: String,
        /// The mode.
        mode: u32,
    },
    /// `copy-file PATH from:NODE mode:0400 [source:PATH]`: the file's bytes read from NODE
    /// over its SSH session into memory and written to this node over its own; never stored
    /// elsewhere.
    CopyFile {
        /// The path on this node (and on NODE, without `source:`).
        path: String,
        /// The node (or the qnetd host) it is copied from.
        from: String,
        /// The mode.
        mode: u32,
        /// The path on NODE when it differs from `path` (`source:PATH`).
        source: Option<String>,
    },
    /// `unless-exists PATH PROGRAM ARGS...`: runs the program unless PATH exists on the
    /// node (an initialisation that refuses to run twice, e.g. `corosync-qnetd-certutil -i`).
    UnlessExists {
        /// The path whose existence skips the program.
        path: String,
        /// The program and its arguments.
        argv: Vec<String>,
    },
    /// Any other command line, run as an argv (split on whitespace; no shell).
    Run {
        /// The words.
        argv: Vec<String>,
    },
}

fn parse_mode(word: Option<&str>) -> Result<u32, String> {
    let text = word
        .and_then(|word| word.strip_prefix("mode:"))
        .ok_or("missing `mode:OCTAL`")?;
    u32::from_str_radix(text, 8).map_err(|_| format!("`{text}` is not an octal mode"))
}

fn absolute(word: Option<&str>) -> Result<String, String> {
    match word {
        Some(path) if path.starts_with('/') => Ok(path.to_string()),
        Some(path) => Err(format!("`{path}` is not an absolute path")),
        None => Err("missing the path".into()),
    }
}

impl Command {
    /// Reads one command line of a plan.
    pub fn parse(line: &str) -> Result<Command, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            None => Err("empty command".into()),
            Some("write-file") => {
                let path = absolute(words.get(1).copied())?;
                let sha256 = words
                    .get(2)
                    .and_then(|word| word.strip_prefix("sha256:"))
                    .filter(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .ok_or("missing `sha256:HEX` (64 hex digits)")?
                    .to_string();
                let mode = parse_mode(words.get(3).copied())?;
                if words.len() > 4 {
                    return Err("unexpected words after the mode".into());
                }
                Ok(Command::WriteFile { path, sha256, mode })
            }
            Some("copy-file") => {
                let path = absolute(words.get(1).copied())?;
                let from = words
                    .get(2)
                    .and_then(|word| word.strip_prefix("from:"))
                    .filter(|node| !node.is_empty())
                    .ok_or("missing `from:NODE`")?
                    .to_string();
                let mode = parse_mode(words.get(3).copied())?;
                let source = match words.get(4) {
                    None => None,
                    Some(word) => Some(absolute(word.strip_prefix("source:")).map_err(|problem| {
                        format!("after the mode only `source:PATH` may follow ({problem})")
                    })?),
                };
                if words.len() > 5 {
                    return Err("unexpected words after `source:PATH`".into());
                }
                Ok(Command::CopyFile {
                    path,
                    from,
                    mode,
                    source,
                })
            }
            Some("unless-exists") => {
                let path = absolute(words.get(1).copied())?;
                let argv: Vec<String> = words.iter().skip(2).map(|word| word.to_string()).collect();
                if argv.is_empty() {
                    return Err("missing the program to run".into());
                }
                Ok(Command::UnlessExists { path, argv })
            }
            Some(_) => Ok(Command::Run {
                argv: words.iter().map(|word| word.to_string()).collect(),
            }),
        }
    }

    /// The program this command needs on the node (`None`: apply's own file handling).
    pub fn program(&self) -> Option<&str> {
        match self {
            Command::Run { argv } | Command::UnlessExists { argv, .. } => argv.first().map(String::as_str),
            _ => None,
        }
    }

    /// The file this command replaces, if any (`mv A B` replaces B).
    pub fn written_path(&self) -> Option<&str> {
        match self {
            Command::WriteFile { path, .. } | Command::CopyFile { path, .. } => Some(path),
            Command::Run { argv } if argv.first().map(String::as_str) == Some("mv") => {
                argv.last().map(String::as_str)
            }
            Command::Run { argv } if argv.first().map(String::as_str) == Some("corosync-keygen") => argv
                .iter()
                .position(|word| word == "-k")
                .and_then(|index| argv.get(index + 1))
                .map(String::as_str)
                .or(Some("/etc/corosync/authkey")),
            Command::Run { .. } | Command::UnlessExists { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_commands_a_plan_gives() {
        let sha = "a".repeat(64);
        assert_eq!(
            Command::parse(&format!(
                "write-file /etc/corosync/corosync.conf sha256:{sha} mode:0644"
            )),
            Ok(Command::WriteFile {
                path: "/etc/corosync/corosync.conf".into(),
                sha256: sha.clone(),
                mode: 0o644
            })
        );
        assert_eq!(
            Command::parse("copy-file /etc/corosync/authkey from:n1 mode:0400"),
            Ok(Command::CopyFile {
                path: "/etc/corosync/authkey".into(),
                from: "n1".into(),
                mode: 0o400,
                source: None,
            })
        );
        assert_eq!(
            Command::parse(
                "copy-file /etc/corosync/qnetd-cacert.crt from:198.19.0.254 mode:0644 \
                 source:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt"
            ),
            Ok(Command::CopyFile {
                path: "/etc/corosync/qnetd-cacert.crt".into(),
                from: "198.19.0.254".into(),
                mode: 0o644,
                source: Some("/etc/corosync/qnetd/nssdb/qnetd-cacert.crt".into()),
            })
        );
        assert!(Command::parse("copy-file /a from:n1 mode:0644 source:b").is_err());
        assert!(Command::parse("copy-file /a from:n1 mode:0644 /b").is_err());
        let init = Command::parse("unless-exists /etc/x corosync-qnetd-certutil -i").unwrap();
        assert_eq!(
            init,
            Command::UnlessExists {
                path: "/etc/x".into(),
                argv: vec!["corosync-qnetd-certutil".into(), "-i".into()],
            }
        );
        assert_eq!(init.program(), Some("corosync-qnetd-certutil"));
        assert!(Command::parse("unless-exists /etc/x").is_err());
        let keygen = Command::parse("corosync-keygen -k /etc/corosync/authkey").unwrap();
        assert_eq!(keygen.program(), Some("corosync-keygen"));
        assert_eq!(keygen.written_path(), Some("/etc/corosync/authkey"));
        let mv = Command::parse("mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf").unwrap();
        assert_eq!(mv.written_path(), Some("/etc/pve/corosync.conf"));
        assert_eq!(
            Command::parse("systemctl restart corosync")
                .unwrap()
                .written_path(),
            None
        );
        assert_eq!(
            Command::parse("write-file etc/x sha256:00 mode:0644"),
            Err("`etc/x` is not an absolute path".into())
        );
        assert_eq!(
            Command::parse("write-file /etc/x sha256:00 mode:0644"),
            Err("missing `sha256:HEX` (64 hex digits)".into())
        );
        assert_eq!(
            Command::parse(&format!("write-file /etc/x sha256:{sha} mode:9")),
            Err("`9` is not an octal mode".into())
        );
        assert_eq!(Command::parse("  "), Err("empty command".into()));
    }

    fn plan_with(to_config: &str, to_sha256: &str, temp: &[(&str, &str)], step_sha: Option<&str>) -> Plan {
        let snapshot = Snapshot::default();
        Plan {
            format: 1,
            from_sha256: None,
            to_sha256: to_sha256.into(),
            to_config: to_config.into(),
            temp_configs: temp
                .iter()
                .map(|(sha, text)| (sha.to_string(), text.to_string()))
                .collect(),
            nodeids: BTreeMap::new(),
            qnetd_host: None,
            proxmox: false,
            verdict: "safe".into(),
            steps: vec![Step {
                id: 1,
                action: "write_config".into(),
                nodes: vec!["n1".into()],
                config_sha256: step_sha.map(str::to_string),
                commands: BTreeMap::new(),
                pre: snapshot.clone(),
                post: snapshot,
                timeout_ms: 1000,
                estimate_ms: 0,
                why: String::new(),
            }],
            plan_sha256: String::new(),
        }
    }

    #[test]
    fn content_problems_name_every_hash_that_disagrees_with_its_text() {
        let to = "totem {\n}\n";
        let to_sha = sha256_hex(to.as_bytes());
        let temp = "quorum {\n}\n";
        let temp_sha = sha256_hex(temp.as_bytes());
        let whole = plan_with(to, &to_sha, &[(&temp_sha, temp)], Some(&temp_sha));
        assert_eq!(whole.content_problems(), Vec::<String>::new());
        // to_config edited by hand, to_sha256 left as it was.
        let edited = plan_with("totem {\n token: 1\n}\n", &to_sha, &[], Some(&to_sha));
        let problems = edited.content_problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(&format!("to_sha256 {to_sha} is not the sha256 of to_config")));
        // A step naming a file the plan does not hold.
        let other = "b".repeat(64);
        let dangling = plan_with(to, &to_sha, &[], Some(&other));
        assert_eq!(
            dangling.content_problems(),
            [format!("step 1: config_sha256 {other} names no file of the plan")]
        );
        // A temporary file's text edited under its old key.
        let temp_edited = plan_with(to, &to_sha, &[(&temp_sha, "quorum {\n x: 1\n}\n")], None);
        let problems = temp_edited.content_problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(&format!(
            "temp_configs entry {temp_sha} is not the sha256 of its text"
        )));
    }
}
