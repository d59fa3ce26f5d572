//! Rule Q005 `expected-votes-above-node-votes`: owns this check only.
//!
//! ## What it does
//! Flags `quorum.expected_votes` higher than the votes of the nodelist (plus the quorum
//! device's votes).
//!
//! ## Why is this bad?
//! Expected votes never fall on their own, so quorum stays higher than the nodes can
//! provide: with three nodes and `expected_votes: 5`, quorum is 3 and losing a single node
//! loses quorum for everyone (spec TV10). The cluster has no fault tolerance left.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     expected_votes: 5
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
//! Lowering expected votes lowers quorum: unsafe.
//!
//! ## References
//! votequorum(5) `expected_votes`; spec section 2.7.

use crate::lint::engine;
use crate::lint::{Checker, Violation};
use crate::quorum::settings::NodeId;

/// expected_votes above the real vote total, with what the quorum engine computes for
/// booting nodes.
struct ExpectedVotesAboveNodeVotes {
    expected: u32,
    total: u64,
    nodes: usize,
    /// The smallest set of nodes quorate when only they boot (`None`: not even all nodes).
    smallest: Option<Vec<NodeId>>,
    exhaustive: bool,
}

impl Violation for ExpectedVotesAboveNodeVotes {
    fn message(&self) -> String {
        let consequence = match &self.smallest {
            None => ", so no set of nodes, not even all of them, is quorate".to_string(),
            Some(smallest) if self.exhaustive => format!(
                ", so quorum needs at least {} of the {} nodes",
                smallest.len(),
                self.nodes
            ),
            // Not every set was tried: claim nothing the engine did not compute.
            Some(_) => String::new(),
        };
        format!(
            "`expected_votes: {}` is above the {} votes of the configuration{consequence}",
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

/// Q005
pub(crate) fn expected_votes_above_node_votes(checker: &mut Checker) {
    let Some((expected, total, span)) = checker.expected_votes_against_total() else {
        return;
    };
    if u64::from(expected) <= total {
        return;
    }
    let boot = engine::boot_facts(&checker.quorum);
    let violation = ExpectedVotesAboveNodeVotes {
        expected,
        total,
        nodes: checker.quorum.nodes.len(),
        smallest: boot.smallest_quorate,
        exhaustive: boot.exhaustive,
    };
    checker.report(&violation, span);
}
