//! Rule Q013 `auto-tie-breaker-node-invalid`: owns this check only.
//!
//! ## What it does
//! Flags an `auto_tie_breaker_node` that votequorum does not read as written: a value that
//! is not `lowest`, `highest` or a space-separated list of node ids (corosync then disables
//! auto_tie_breaker), a list that corosync stops reading early (`1,2` is read as `1`), or a
//! listed node id that is not in the nodelist.
//!
//! ## Why is this bad?
//! votequorum's `parse_atb_string` reads numbers until the first 0 or non-number. A value
//! starting with 0 or a word logs `auto_tie_breaker_node is not valid ... auto_tie_breaker
//! is disabled`, so ties stop the cluster. A comma-separated list silently keeps only its
//! first id, and an id of no node never breaks a tie.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: 1,3
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: 1 3
//! }
//! ```
//!
//! ## Fix safety
//! Any corrected value changes which partition wins a tie: unsafe.
//!
//! ## References
//! votequorum(5) `auto_tie_breaker_node`; corosync `exec/votequorum.c` `parse_atb_string`.

use crate::lint::{Checker, Violation};
use crate::quorum::settings::TieBreaker;

/// What is wrong with the value.
enum Problem {
    Invalid,
    Truncated { read: String },
    UnknownNode { nodeid: u32 },
}

/// An auto_tie_breaker_node corosync does not read as written.
struct AutoTieBreakerNodeInvalid {
    value: String,
    problem: Problem,
}

impl Violation for AutoTieBreakerNodeInvalid {
    fn message(&self) -> String {
        match &self.problem {
            Problem::Invalid => format!(
                "`auto_tie_breaker_node: {}` is not valid, so corosync disables auto_tie_breaker",
                self.value
            ),
            Problem::Truncated { read } => format!(
                "`auto_tie_breaker_node: {}` is read as `{read}`: corosync stops at the first 0 or non-number",
                self.value
            ),
            Problem::UnknownNode { nodeid } => {
                format!("`auto_tie_breaker_node` lists node id {nodeid}, which is not in the nodelist")
            }
        }
    }

    fn help(&self) -> Option<String> {
        Some("use `lowest`, `highest` or node ids of the nodelist separated by spaces".to_string())
    }
}

/// Q013
pub(crate) fn auto_tie_breaker_node_invalid(checker: &mut Checker) {
    if !checker.quorum.auto_tie_breaker {
        return;
    }
    let Some(setting) = &checker.config.quorum.auto_tie_breaker_node else {
        return;
    };
    let value = setting.value.clone();
    let span = Some(setting.value_span);
    let problem = match &checker.quorum.auto_tie_breaker_node {
        Some(TieBreaker::Invalid) => Some(Problem::Invalid),
        Some(TieBreaker::List(ids)) => {
            let written_ok = value
                .split_whitespace()
                .all(|token| token.parse::<u32>().is_ok_and(|id| id > 0));
            if !written_ok {
                let read: Vec<String> = ids.iter().map(u32::to_string).collect();
                Some(Problem::Truncated { read: read.join(" ") })
            } else {
                ids.iter()
                    .find(|id| !checker.quorum.nodes.iter().any(|node| node.nodeid == **id))
                    .map(|nodeid| Problem::UnknownNode { nodeid: *nodeid })
            }
        }
        _ => None,
    };
    if let Some(problem) = problem {
        checker.report(&AutoTieBreakerNodeInvalid { value, problem }, span);
    }
}
