//! Rule Q004 `expected-votes-below-node-votes`: owns this check only.
//!
//! ## What it does
//! Flags `quorum.expected_votes` lower than the votes of the nodelist (plus the quorum
//! device's votes).
//!
//! ## Why is this bad?
//! Quorum is computed from expected votes. Set too low, a small group of nodes that boots
//! apart from the others is quorate on its own: with three nodes and `expected_votes: 1`,
//! each node booting alone is quorate (spec TV11), a split-brain. Expected votes only rise
//! to the real total once the nodes have met.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     expected_votes: 1
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//!     node {
//!         nodeid: 3
//!         ring0_addr: 10.0.0.3
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//! }
//! ```
//!
//! ## Fix safety
//! Removing `expected_votes` raises quorum: unsafe.
//!
//! ## References
//! votequorum(5) `expected_votes`; spec section 2.7.

use crate::lint::{Checker, Violation};

/// expected_votes below the real vote total.
struct ExpectedVotesBelowNodeVotes {
    expected: u32,
    total: u64,
}

impl Violation for ExpectedVotesBelowNodeVotes {
    fn message(&self) -> String {
        format!(
            "`expected_votes: {}` is below the {} votes of the configuration, so a minority that boots alone can be quorate",
            self.expected, self.total
        )
    }

    fn help(&self) -> Option<String> {
        Some(Checker::EXPECTED_VOTES_HELP.to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `expected_votes`".to_string())
    }
}

/// Q004
pub(crate) fn expected_votes_below_node_votes(checker: &mut Checker) {
    let Some((expected, total, span)) = checker.expected_votes_against_total() else {
        return;
    };
    if u64::from(expected) >= total {
        return;
    }
    checker.report(&ExpectedVotesBelowNodeVotes { expected, total }, span);
}
