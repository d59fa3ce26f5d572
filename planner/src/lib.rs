//! `quorate plan`: a safe ordered plan from the cluster we have to the cluster we want, every
//! intermediate state verified with the votequorum engine.
//!
//! Owns the planner: the per-node state it searches over (`state`: which file each node has
//! on disk, which one it started with and last reloaded, who runs, the engine's
//! `model::quorum::ClusterState`), the operator actions and the rules real corosync puts on
//! them (`state::Move`), the safety verdict of every state, the moments inside a step
//! included (`safety`: no split-brain under up to F faults, quorum kept with none), the
//! shortest-time search over the explored state graph with petgraph (`search`), the plan
//! format (`plan_format`: serde, the JSON contract of issue 11, the commands `apply` runs),
//! the natural orders a person would try and why they are unsafe (`rejected`), the
//! re-verification of a (hand-edited) plan file and its `whatif` script (`verify`), and
//! the files Proxmox's `pvecm create/add/delnode` write (`pvecm`).
//!
//! It must not do IO (files arrive as `Endpoint` text, the binary reads and writes them),
//! print, or give any transition its own semantics: every transition is
//! `ClusterState::apply_event` of a `model::action::Event`, so every plan is a `whatif`
//! script. Dependencies: `model` and `sim` only (see ARCHITECTURE.md).

mod files;
mod plan_format;
mod pvecm;
mod qdevice;
#[cfg(test)]
mod qdevice_tests;
mod rejected;
pub mod runbook;
mod safety;
mod search;
mod state;
#[cfg(test)]
mod tests;
mod verify;

pub use plan_format::{Plan, Snapshot, Step, Verdict};
pub use verify::{to_script, verify, VerifyReport};

use model::Diagnostic;
use serde::Serialize;

/// A corosync.conf the planner starts from or goes to: its path as the user gave it and
/// its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The path as the user gave it (used in messages and scripts).
    pub name: String,
    /// The file's content.
    pub text: String,
}

/// What the planner may do and must guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Extra faults (crashes, partitions, link failures) every intermediate state must
    /// survive without split-brain. Default 1.
    pub fault_budget: u32,
    /// Allow states where no node is quorate (verdict `needs-outage`), when no plan keeps
    /// quorum throughout.
    pub allow_outage: bool,
    /// Whether the cluster is managed by Proxmox VE; `None`: detect it from the files.
    pub proxmox: Option<bool>,
    /// Restart every node of the target once even where no file change needs it (e.g. for
    /// an upgrade).
    pub rolling_restart: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            fault_budget: 1,
            allow_outage: false,
            proxmox: None,
            rolling_restart: false,
        }
    }
}

/// What `plan` found.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum PlanOutcome {
    /// A plan whose every state (the moments inside each step included) was verified.
    Found(Plan),
    /// No sequence of allowed actions reaches the target safely under the fault budget:
    /// the whole state space was searched.
    NoSafePlan(NoSafePlan),
}

/// Why there is no safe plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoSafePlan {
    /// The step kinds the search could never take, each with the first reason found.
    pub impossible: Vec<Impossible>,
    /// The natural orders a person would try, each with its first unsafe state.
    pub rejected: Vec<Rejected>,
    /// How many distinct states the search explored.
    pub states_explored: usize,
}

/// One kind of step the search found unsafe or refused, and why (a sentence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Impossible {
    /// The step kind (`restart`, `reload`, `write_config`, ...).
    pub step: String,
    /// Why, e.g. `restart n2: while n2 restarts no node is quorate`.
    pub why: String,
}

/// A natural order that is not safe (or does not reach the target), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rejected {
    /// The order in words, e.g. `edit everywhere and restart every node at once`.
    pub order: String,
    /// The first unsafe state and its reason.
    pub because: String,
}

/// Why the planner cannot plan or verify (a tool error: exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The target is a file corosync refuses (for some node that reads it).
    #[error("{file}: corosync refuses this configuration{}", node_suffix(.node))]
    TargetRefused {
        /// The target's name.
        file: String,
        /// The node for which it is refused (`--local-node` semantics), if node-specific.
        node: Option<String>,
        /// The parser and validation errors.
        diagnostics: Vec<Diagnostic>,
    },
    /// The source file does not parse (a running cluster cannot run it).
    #[error("{file}: the source configuration does not parse")]
    SourceRefused {
        /// The source's name.
        file: String,
        /// The parser's errors.
        diagnostics: Vec<Diagnostic>,
    },
    /// The target is the source and no rolling restart was asked for.
    #[error("{to}: nothing to do, the target is the running configuration")]
    NothingToDo {
        /// The target's name.
        to: String,
    },
    /// A node name that neither file lists.
    #[error("unknown node `{name}`: neither configuration lists it")]
    UnknownNode {
        /// The name.
        name: String,
    },
    /// More nodes than the engine models.
    #[error("the planner handles at most {max} nodes, the configurations have {count}")]
    TooManyNodes {
        /// How many node ids the files give.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A node id present in both files with another name, or a file without any node.
    #[error("{why}")]
    Unsupported {
        /// What is not supported, and what to do.
        why: String,
    },
    /// The search gave up before exploring the whole state space.
    #[error("the search explored {states} states without finishing; reduce the change (fewer goals at once) or the fault budget")]
    SearchTooLarge {
        /// States explored.
        states: usize,
    },
    /// A plan file that is inconsistent (sha mismatch, unknown action, unknown node).
    #[error("bad plan: {why}")]
    BadPlan {
        /// What is wrong.
        why: String,
    },
}

fn node_suffix(node: &Option<String>) -> String {
    node.as_ref()
        .map(|node| format!(" on node {node}"))
        .unwrap_or_default()
}

/// Plans the change from `from` (`None`: no cluster yet, form it) to `to`.
///
/// Every returned plan has been replayed in the engine state by state, the moments inside
/// each step included, under `options.fault_budget` extra faults.
pub fn plan(from: Option<&Endpoint>, to: &Endpoint, options: &PlanOptions) -> Result<PlanOutcome, Error> {
    search::plan(from, to, options)
}
