//! Talks to real nodes: the lab (real corosync in network namespaces), inventories and SSH.
//!
//! Owns `lab` (build, drive and remove a lab), `inventory` (which nodes, how to reach them),
//! `ssh` (openssh on tokio: commands and quorum readings on nodes), `quorumtool` (parsing
//! `corosync-quorumtool` output), `status` (a node's corosync state) and `Error`. It is the
//! only crate with tokio and SSH. It must not render anything for the terminal: the binary
//! does.

pub mod error;
pub mod inventory;
pub mod lab;
pub mod quorumtool;
pub mod ssh;
pub mod status;

pub use error::{Error, Result};
