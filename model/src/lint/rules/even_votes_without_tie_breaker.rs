//! Rule Q010 `even-votes-without-tie-breaker`: owns this check only.
//!
//! ## What it does
//! Notes a cluster whose nodes have an even number of votes in total and nothing to break a
//! tie: no `two_node`, no `auto_tie_breaker`, no quorum device.
//!
//! ## Why is this bad?
//! Quorum is a strict majority. When a split cuts the votes in two equal halves, neither
//! half is quorate and the whole cluster stops (spec TV02, TV06). An odd number of votes, a
//! quorum device or `auto_tie_breaker` lets one half continue. A note, since stopping is
//! safe.
//!
//! ## Example
//! ```conf
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
//!     node {
//!         nodeid: 4
//!         ring0_addr: 10.0.0.4
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//! }
//! ```
//!
//! ## Fix safety
//! A tie-breaker changes which partition survives a split: a planner target.
//!
//! ## References
//! votequorum(5) `auto_tie_breaker`; corosync-qdevice(8).

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::settings::{NodeId, Provider};

/// Even vote total without tie-breaker, with a split of equal halves the quorum engine
/// finds inquorate on both sides.
struct EvenVotesWithoutTieBreaker {
    votes: u64,
    side: Vec<NodeId>,
    rest: Vec<NodeId>,
}

impl Violation for EvenVotesWithoutTieBreaker {
    fn message(&self) -> String {
        format!(
            "the nodes have {} votes and nothing breaks a tie, so an even split ({} | {}) leaves both sides inquorate",
            self.votes,
            describe_nodes(&self.side),
            describe_nodes(&self.rest)
        )
    }

    fn help(&self) -> Option<String> {
        Some("add a node or a quorum device, or set `auto_tie_breaker: 1`".to_string())
    }
}

/// Q010
pub(crate) fn even_votes_without_tie_breaker(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if quorum.provider != Provider::Votequorum
        || quorum.two_node
        || quorum.auto_tie_breaker
        || quorum.last_man_standing
        || quorum.device.is_some()
        || quorum.expected_votes.is_some()
        || quorum.nodes.len() < 2
    {
        return;
    }
    let votes = checker.node_vote_sum();
    if votes == 0 || !votes.is_multiple_of(2) {
        return;
    }
    let span = checker
        .document
        .sections_at("nodelist")
        .first()
        .map(|nodelist| nodelist.name_span);
    // The claim of the message, as the quorum engine computes it: an even split exists and
    // leaves both sides inquorate.
    let Some((side, rest)) = engine::split_facts(quorum).even_split_inquorate else {
        return;
    };
    checker.report(&EvenVotesWithoutTieBreaker { votes, side, rest }, span);
}
