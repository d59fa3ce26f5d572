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

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::settings::NodeId;

/// expected_votes below the real vote total, with the smallest set of nodes the quorum
/// engine finds quorate when only they boot (when it is a minority).
struct ExpectedVotesBelowNodeVotes {
    expected: u32,
    total: u64,
    minority: Option<Vec<NodeId>>,
}

impl Violation for ExpectedVotesBelowNodeVotes {
    fn message(&self) -> String {
        let mut message = format!(
            "`expected_votes: {}` is below the {} votes of the configuration",
            self.expected, self.total
        );
        if let Some(minority) = &self.minority {
            message.push_str(&format!(
                ", so a minority that boots alone is quorate ({})",
                describe_nodes(minority)
            ));
        }
        message
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
    let quorum = &checker.quorum;
    let minority = engine::boot_facts(quorum).smallest_quorate.filter(|ids| {
        let votes: u64 = quorum
            .nodes
            .iter()
            .filter(|node| ids.contains(&node.nodeid))
            .map(|node| u64::from(node.votes))
            .sum();
        2 * votes < total
    });
    checker.report(
        &ExpectedVotesBelowNodeVotes {
            expected,
            total,
            minority,
        },
        span,
    );
}
