//! What one node says about corosync, however it was asked.
//!
//! Owns `NodeReport` and `Corosync` and `classify`, which turns the output of
//! `corosync-quorumtool -s` (run through `nsenter` in the lab or over SSH) into a `Corosync`,
//! and `read_corosync`, which asks any `Remote`. Its children hold what `quorate status`
//! shows: `reading` (everything read from one node: quorum, runtime cmap, links, version,
//! file hashes, the authkey's mode), `drift` (the prediction from the nodes' own files and
//! the drift found) and `collect` (every node of an inventory at once). Only `collect` knows
//! how a node is reached (SSH, through `ssh::connect_all`).

pub mod collect;
pub mod drift;
pub mod reading;

use crate::quorumtool::{parse_status, QuorumStatus};
use crate::transport::Remote;
use serde::Serialize;

/// corosync's state on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Corosync {
    /// corosync answers; its quorum status.
    Running {
        /// What `corosync-quorumtool -s` reported.
        quorum: QuorumStatus,
    },
    /// corosync does not run on the node (quorumtool could not reach it).
    Stopped {
        /// Why we think so.
        reason: String,
    },
    /// We could not ask: the node, SSH or quorumtool failed in another way.
    Unknown {
        /// What went wrong.
        error: String,
    },
}

impl Corosync {
    /// The quorum status, when corosync runs.
    pub fn quorum(&self) -> Option<&QuorumStatus> {
        match self {
            Corosync::Running { quorum } => Some(quorum),
            _ => None,
        }
    }
}

/// One node's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    /// The node name.
    pub name: String,
    /// The node id.
    pub nodeid: u32,
    /// The node's (main) address.
    pub address: String,
    /// corosync's state there.
    pub corosync: Corosync,
}

/// Interprets one run of `corosync-quorumtool -s`: its exit code (`None` when killed) and
/// output. quorumtool exits 0 when quorate, 2 when not, 1 when it cannot reach corosync.
pub fn classify(code: Option<i32>, stdout: &str, stderr: &str) -> Corosync {
    match parse_status(stdout) {
        Ok(quorum) => Corosync::Running { quorum },
        Err(parse_error) => {
            let said = format!("{} {}", stdout.trim(), stderr.trim());
            if said.contains("Cannot initialize") {
                Corosync::Stopped {
                    reason: format!("corosync-quorumtool: {}", said.trim()),
                }
            } else {
                let code = code.map_or_else(|| "a signal".to_string(), |c| format!("code {c}"));
                Corosync::Unknown {
                    error: format!(
                        "corosync-quorumtool exited with {code}: {parse_error}; stderr: {}",
                        stderr.trim()
                    ),
                }
            }
        }
    }
}

/// Asks `remote` with `corosync-quorumtool -s`; a node that cannot be asked is `Unknown`.
pub fn read_corosync(remote: &dyn Remote) -> Corosync {
    match remote.run(&["corosync-quorumtool", "-s"]) {
        Ok(output) => classify(output.code, &output.stdout_text(), &output.stderr_text()),
        Err(error) => Corosync::Unknown {
            error: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{CommandOutput, FakeNode};

    #[test]
    fn reads_any_remote_and_an_unreachable_one_is_unknown() {
        let node = FakeNode::new("n1");
        node.respond(
            &["corosync-quorumtool", "-s"],
            CommandOutput {
                code: Some(1),
                stdout: Vec::new(),
                stderr: b"Cannot initialize QUORUM service\n".to_vec(),
            },
        );
        assert!(matches!(read_corosync(&node), Corosync::Stopped { .. }));
        node.set_unreachable(true);
        let Corosync::Unknown { error } = read_corosync(&node) else {
            panic!("expected Unknown");
        };
        assert!(
            error.starts_with("node n1: `corosync-quorumtool -s` failed"),
            "{error}"
        );
    }

    #[test]
    fn tells_stopped_from_broken() {
        assert!(matches!(
            classify(Some(1), "", "Cannot initialize CMAP service\n"),
            Corosync::Stopped { .. }
        ));
        let Corosync::Unknown { error } = classify(Some(127), "", "sh: 1: corosync-quorumtool: not found")
        else {
            panic!("expected Unknown");
        };
        assert_eq!(
            error,
            "corosync-quorumtool exited with code 127: no `Quorum provider` line in corosync-quorumtool \
             output; stderr: sh: 1: corosync-quorumtool: not found"
        );
    }
}

#[cfg(test)]
#[path = "status/tests.rs"]
mod cluster_tests;
