//! The root package's integration tests, compiled into one test binary (`it`).
//!
//! Each module is a scenario family; `support` holds shared helpers. Modules must not reach
//! any network but loopback and the namespaces they create themselves.

mod apply;
mod apply_qdevice;
mod apply_two_node;
mod check;
mod check_confirm;
mod cli_help;
mod cli_issue10;
mod cli_lint;
mod cli_snapshots;
mod lab;
mod parity;
mod plan;
mod qdevice;
mod reality;
mod reality_fuzz;
mod report;
mod runbook;
mod runbook_split;
mod status;
mod support;
mod timing;
mod vqsim;
mod whatif;
mod whatif_all;
