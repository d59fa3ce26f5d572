//! One module per subcommand; each parses nothing itself (clap does) and calls one library function.

pub mod apply;
pub mod check;
pub mod completions;
pub mod confirm;
pub mod explain;
pub mod lab;
pub mod lint;
pub mod plan;
pub mod plan_render;
pub mod report;
pub mod runbook;
pub mod show;
pub mod status;
pub mod whatif;
pub mod whatif_all;
