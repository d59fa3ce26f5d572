//! Rule Q001 `two-node-without-wait-for-all`: owns this check only.
//!
//! ## What it does
//! Flags `two_node: 1` together with an explicit `wait_for_all: 0`.
//!
//! ## Why is this bad?
//! `two_node` makes a single node quorate. `wait_for_all` (on by default with `two_node`)
//! is what stops a node that boots alone from becoming quorate before it has seen its peer.
//! Without it, two nodes that boot while the network between them is down are both quorate:
//! a split-brain at boot, even with working fencing, since each side may fence the other
//! (spec TV14).
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
//!     wait_for_all: 0
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
//! }
//! ```
//!
//! ## Fix safety
//! `wait_for_all` is read at startup only and changes when a node becomes quorate: unsafe.
//!
//! ## References
//! votequorum(5) `two_node`, `wait_for_all`.

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::settings::NodeId;

/// two_node with wait_for_all disabled, and the groups the quorum engine finds quorate
/// when they boot apart.
struct TwoNodeWithoutWaitForAll {
    side: Vec<NodeId>,
    rest: Vec<NodeId>,
}

impl Violation for TwoNodeWithoutWaitForAll {
    fn message(&self) -> String {
        format!(
            "`two_node` with `wait_for_all: 0` lets both nodes become quorate when they boot apart ({} and {} each alone)",
            describe_nodes(&self.side),
            describe_nodes(&self.rest)
        )
    }

    fn help(&self) -> Option<String> {
        Some("remove `wait_for_all: 0` (two_node turns wait_for_all on by default)".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `wait_for_all: 0`".to_string())
    }
}

/// Q001
pub(crate) fn two_node_without_wait_for_all(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if !quorum.two_node
        || quorum.wait_for_all != Some(false)
        || quorum.auto_tie_breaker
        || quorum.device.is_some()
    {
        return;
    }
    // The claim of the message, as the quorum engine computes it.
    let Some((side, rest)) = engine::both_quorate_booting_apart(quorum) else {
        return;
    };
    let span = checker.span_of("quorum", "wait_for_all");
    checker.report(&TwoNodeWithoutWaitForAll { side, rest }, span);
}
