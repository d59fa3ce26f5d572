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
    /// A request named something that does not exist or cannot be done.
    #[error("{0}")]
    Usage(String),
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

/// The executor's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An `Io` error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
