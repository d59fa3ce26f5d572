//! Rule Q008 `quorum-vote-overflow`: owns this check only.
//!
//! ## What it does
//! Flags a configuration whose expected votes (nodelist votes plus quorum device votes, or
//! a higher `expected_votes`) reach 510.
//!
//! ## Why is this bad?
//! votequorum stores the quorum in an 8-bit variable. From 510 expected votes on, quorum
//! (floor(E/2)+1 = 256 and up) wraps around: three nodes with 200 votes each get quorum
//! 45 instead of 301, so a single node is quorate and both sides of any split are
//! (spec TV08); two nodes with 255 votes get quorum 0, always quorate (TV09). corosync
//! accepts such votes without a word.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         quorum_votes: 200
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         quorum_votes: 200
//!         ring0_addr: 10.0.0.2
//!     }
//!     node {
//!         nodeid: 3
//!         quorum_votes: 200
//!         ring0_addr: 10.0.0.3
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         quorum_votes: 2
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         quorum_votes: 2
//!         ring0_addr: 10.0.0.2
//!     }
//!     node {
//!         nodeid: 3
//!         quorum_votes: 2
//!         ring0_addr: 10.0.0.3
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Scaling the votes down keeps the ratios but changes quorum arithmetic: unsafe.
//!
//! ## References
//! votequorum(5) `quorum_votes`; corosync `exec/votequorum.c` (`static uint8_t quorum`);
//! spec sections 1.1 and 2.10.

use crate::lint::{Checker, Violation};

/// Expected votes that wrap the 8-bit quorum.
struct QuorumVoteOverflow {
    expected: u64,
}

impl Violation for QuorumVoteOverflow {
    fn message(&self) -> String {
        let quorum = self.expected / 2 + 1;
        format!(
            "{} expected votes give quorum {}, which votequorum stores in 8 bits as {}",
            self.expected,
            quorum,
            quorum % 256
        )
    }

    fn help(&self) -> Option<String> {
        Some("keep the vote total below 510; scale the votes down (e.g. 1 per node)".to_string())
    }
}

/// Q008
pub(crate) fn quorum_vote_overflow(checker: &mut Checker) {
    let sum = checker.node_vote_sum() + checker.device_votes();
    let expected = sum.max(checker.quorum.expected_votes.map(u64::from).unwrap_or(0));
    if expected < 510 {
        return;
    }
    let span = checker
        .config
        .nodelist
        .nodes
        .iter()
        .filter_map(|node| node.quorum_votes.as_ref())
        .max_by_key(|votes| votes.value)
        .map(|votes| votes.value_span)
        .or_else(|| {
            checker
                .effective_key("quorum", "expected_votes")
                .map(|item| item.value_span)
        });
    checker.report(&QuorumVoteOverflow { expected }, span);
}
