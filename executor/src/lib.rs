//! Talks to real nodes: the lab (real corosync in network namespaces), inventories and SSH.
//!
//! Owns `apply` (carrying out a plan step by step: preflight, journal, resume), `transport` (the `Remote` trait: run, stream stdin, read and atomically replace
//! files on a node; an in-memory fake), `lab` (build, drive and remove a lab; its nodes as
//! `Remote`s through nsenter), `inventory` (which nodes, how to reach them), `ssh` (openssh
//! on the crate's one tokio runtime: `Remote` over SSH and quorum readings of a whole
//! inventory), `quorumtool` (parsing `corosync-quorumtool` output), `status` (a node's
//! corosync state) and `Error`. It is the only crate with tokio and SSH. It must not render
//! anything for the terminal: the binary does.

pub mod apply;
pub mod error;
pub mod inventory;
pub mod lab;
pub mod quorumtool;
pub mod ssh;
pub mod status;
pub mod transport;

pub use error::{Error, PartitionProblem, Result};
pub use transport::{CommandOutput, Remote};
