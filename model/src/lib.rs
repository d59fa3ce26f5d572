//! quorate's pure model of corosync.
//!
//! Owns the lossless corosync.conf syntax tree (`syntax`), diagnostics as data (`diag`),
//! the typed configuration (`config`), corosync parity validation (`validate`), the risk
//! rules (`lint`), the votequorum engine (`quorum`), scenario scripts (`scenario`),
//! operator actions and faults as data (`action`) and the goals of `quorate plan` (`goal`).
//! It must not do IO, spawn tasks or print: no tokio, no stateright, no terminal.

pub mod action;
pub mod config;
pub mod diag;
pub mod error;
pub mod goal;
pub mod lint;
pub mod quorum;
pub mod scenario;
pub mod syntax;
pub mod validate;

pub use diag::{Diagnostic, LineIndex, RejectedBy, Severity, Span};
pub use error::{Error, Result};
