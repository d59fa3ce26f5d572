//! Rule Q007 `auto-tie-breaker-list-without-wait-for-all`: owns this check only.
//!
//! ## What it does
//! Flags `auto_tie_breaker` with a list of node ids in `auto_tie_breaker_node` when
//! `wait_for_all` is off.
//!
//! ## Why is this bad?
//! With a list, a half of the cluster is quorate when the first listed node it contains was
//! not preceded by an earlier listed node in its previous membership. Two halves that boot
//! apart have no previous membership, so each half holding a different listed node is
//! quorate: with four nodes and `auto_tie_breaker_node: 1 3`, {1,2} and {3,4} both are
//! (spec TV35). `wait_for_all` makes each half wait for all nodes first.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: 1 3
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: 1 3
//!     wait_for_all: 1
//! }
//! ```
//!
//! ## Fix safety
//! `wait_for_all` changes when nodes become quorate after a start: unsafe.
//!
//! ## References
//! votequorum(5) `auto_tie_breaker_node`, `wait_for_all`; spec section 2.4.

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::settings::{NodeId, TieBreaker};

/// ATB list without WFA, and two groups the quorum engine finds quorate when they boot
/// apart.
struct AutoTieBreakerListWithoutWaitForAll {
    side: Vec<NodeId>,
    rest: Vec<NodeId>,
}

impl Violation for AutoTieBreakerListWithoutWaitForAll {
    fn message(&self) -> String {
        format!(
            "`auto_tie_breaker_node` lists node ids but `wait_for_all` is off, so groups that boot apart can both be quorate ({} | {})",
            describe_nodes(&self.side),
            describe_nodes(&self.rest)
        )
    }

    fn help(&self) -> Option<String> {
        Some("add `wait_for_all: 1`".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("add `wait_for_all: 1` to `quorum`".to_string())
    }
}

/// Q007
pub(crate) fn auto_tie_breaker_list_without_wait_for_all(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if !quorum.auto_tie_breaker
        || !matches!(quorum.auto_tie_breaker_node, Some(TieBreaker::List(_)))
        || checker.wait_for_all_effective()
    {
        return;
    }
    let span = checker
        .effective_key("quorum", "auto_tie_breaker_node")
        .map(|item| item.value_span);
    // The claim of the message, as the quorum engine computes it.
    let Some((side, rest)) = engine::both_quorate_booting_apart(quorum) else {
        return;
    };
    checker.report(&AutoTieBreakerListWithoutWaitForAll { side, rest }, span);
}
