//! The executor's error type.
//!
//! Owns `Error`, the one error enum of the crate. Messages are lowercase, have no trailing
//! period and name the file, node or program involved. It must not carry secrets (authkey
//! bytes) or render anything.

use std::path::PathBuf;

/// Everything the executor (the lab, inventories, SSH) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The lab creates namespaces, bridges and mounts, which needs root.
    #[error("the lab needs root privileges (effective uid 0); run it as root, e.g. with sudo")]
    NotRoot,
    /// A program the lab runs is not installed.
    #[error("`{program}` not found in PATH: install the Debian package `{package}`")]
    MissingProgram {
        /// The program looked for.
        program: String,
        /// The Debian package that ships it.
        package: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A program the lab ran failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Its exit status and standard error.
        message: String,
    },
    /// A corosync.conf the lab cannot use.
    #[error("{}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// There is no lab in the lab directory.
    #[error("no lab in {}: run `quorate lab up` first", dir.display())]
    NoLab {
        /// The lab directory.
        dir: PathBuf,
    },
    /// The lab is in a state that does not allow the request.
    #[error("lab {}: {message}", dir.display())]
    Lab {
        /// The lab directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A lab request named a node the lab does not have.
    #[error("no node `{node}` in the lab (nodes: {})", known.join(", "))]
    UnknownNode {
        /// The name or id given.
        node: String,
        /// The lab's node names.
        known: Vec<String>,
    },
    /// A lab request named a link the lab does not have.
    #[error("the lab has no link {link} (links: {links:?})")]
    UnknownLink {
        /// The link given.
        link: u8,
        /// The lab's links.
        links: Vec<u8>,
    },
    /// A link request named a node that has no address on that link.
    #[error("node {node} is not on link {link}")]
    NotOnLink {
        /// The node.
        node: String,
        /// The link.
        link: u8,
    },
    /// A `link ... between A B` with A and B the same node.
    #[error("link between a node and itself (node id {nodeid})")]
    LinkToItself {
        /// The node.
        nodeid: u32,
    },
    /// A partition that does not place every lab node in exactly one group.
    #[error("partition `{spec}`: {problem}")]
    Partition {
        /// The partition as given.
        spec: String,
        /// What is wrong with it.
        problem: PartitionProblem,
    },
    /// `lab start` on a node whose corosync runs.
    #[error("corosync already runs on node {node}")]
    AlreadyRunning {
        /// The node.
        node: String,
    },
    /// `lab exec` without a command.
    #[error("no command given (use `lab exec NODE -- CMD ...`)")]
    NoCommand,
    /// A lab node without any address.
    #[error("node {node} has no address")]
    NoAddress {
        /// The node.
        node: String,
    },
    /// `--nodes N` / `--links L` out of range, or a corosync.conf the lab cannot lay out.
    #[error(transparent)]
    Layout(#[from] crate::lab::layout::LayoutError),
    /// A what-if script that does not parse.
    #[error("script: {0}")]
    Script(model::scenario::ScriptError),
    /// A what-if script the prediction refuses (unknown node, bad reload).
    #[error("script: {0}")]
    Whatif(sim::whatif::WhatifError),
    /// A script step the lab cannot perform.
    #[error("script line {line}, column {column}: `{step}`: {reason}")]
    Unsupported {
        /// 1-based line of the step.
        line: u32,
        /// 1-based column of the step.
        column: u32,
        /// The step as written.
        step: String,
        /// Why the lab cannot do it, and what to do instead.
        reason: &'static str,
    },
    /// corosync refuses the lab's configuration on every node, so there is nothing to replay.
    #[error("corosync refuses this configuration ({error}); nothing to replay")]
    Refused {
        /// corosync's startup error.
        error: String,
    },
    /// A lab node that the lab's corosync.conf does not list.
    #[error("lab node {node} (id {nodeid}) is not in {}", path.display())]
    NotInConfig {
        /// The node.
        node: String,
        /// Its node id.
        nodeid: u32,
        /// The configuration.
        path: PathBuf,
    },
    /// More nodes than the model can track.
    #[error(transparent)]
    TooManyNodes(#[from] model::quorum::TooManyNodes),
    /// A command on a node could not be run (the node, the way to it or the program failed;
    /// a command that runs and exits non-zero is not this error).
    #[error("node {node}: `{command}` failed: {message}")]
    Remote {
        /// The node.
        node: String,
        /// The command line.
        command: String,
        /// What went wrong.
        message: String,
    },
    /// Reading or replacing a file on a node failed.
    #[error("node {node}: {}: {message}", path.display())]
    RemoteFile {
        /// The node.
        node: String,
        /// The file on the node.
        path: PathBuf,
        /// What went wrong (the remote command's status and stderr).
        message: String,
    },
    /// The nodes did not reach the expected membership in time.
    #[error("the lab did not converge within {timeout_ms} ms: {details}")]
    NotConverged {
        /// How long we polled.
        timeout_ms: u64,
        /// The last observation, node by node.
        details: String,
    },
    /// SSH to a node failed.
    #[error("ssh to node {node}: {source}")]
    Ssh {
        /// The node.
        node: String,
        /// What openssh reported.
        source: openssh::Error,
    },
    /// SSH to a node took too long.
    #[error("ssh to node {node}: no answer within {seconds} s")]
    SshTimeout {
        /// The node.
        node: String,
        /// The time limit.
        seconds: u64,
    },
    /// An inventory file could not be read.
    #[error("inventory {}: {message}", path.display())]
    Inventory {
        /// The inventory file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// What is wrong with a `lab partition` spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartitionProblem {
    /// `1,|3`.
    #[error("empty node name (use e.g. `1,2|3`)")]
    EmptyName,
    /// A token that names no lab node.
    #[error("no node `{0}` in the lab")]
    UnknownNode(String),
    /// A node in two groups.
    #[error("node `{0}` is in two groups")]
    InTwoGroups(String),
    /// Nodes in no group.
    #[error("every node must be in a group; missing {}", .0.join(", "))]
    Missing(Vec<String>),
}

/// The executor's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// Not `#[from]`: that would make the script error the source too, and the binary would
// print its message twice (once as the cause).
impl From<model::scenario::ScriptError> for Error {
    fn from(error: model::scenario::ScriptError) -> Error {
        Error::Script(error)
    }
}

impl From<sim::whatif::WhatifError> for Error {
    fn from(error: sim::whatif::WhatifError) -> Error {
        Error::Whatif(error)
    }
}

impl Error {
    /// An `Io` error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
