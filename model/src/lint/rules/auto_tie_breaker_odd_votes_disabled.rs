//! Rule Q012 `auto-tie-breaker-odd-votes-disabled`: owns this check only; with
//! `last_man_standing` the same case is a startup error reported by validation.
//!
//! ## What it does
//! Flags `auto_tie_breaker: 1` when the nodelist votes add up to an odd number and
//! `wait_for_all` is off.
//!
//! ## Why is this bad?
//! votequorum switches auto_tie_breaker off in that case, logging `auto_tie_breaker is set
//! and the cluster has an odd number of nodes.` ... `Therefore auto_tie_breaker has been
//! disabled`. The file promises a tie-breaker the cluster does not have (spec TV33). Note
//! that the rule looks at the vote sum, not the node count.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
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
//!     auto_tie_breaker: 1
//!     wait_for_all: 1
//! }
//! ```
//!
//! ## Fix safety
//! Adding `wait_for_all` turns auto_tie_breaker on for real and changes startup: unsafe.
//!
//! ## References
//! votequorum(5) `auto_tie_breaker`; spec section 2.4.

use crate::lint::{Checker, Violation};

/// ATB silently disabled.
struct AutoTieBreakerOddVotesDisabled {
    votes: u64,
}

impl Violation for AutoTieBreakerOddVotesDisabled {
    fn message(&self) -> String {
        format!(
            "`auto_tie_breaker` is disabled by corosync: the nodes have an odd number of votes ({}) and `wait_for_all` is off",
            self.votes
        )
    }

    fn help(&self) -> Option<String> {
        Some("add `wait_for_all: 1` to keep auto_tie_breaker, or remove `auto_tie_breaker`".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("add `wait_for_all: 1` to `quorum`".to_string())
    }
}

/// Q012
pub(crate) fn auto_tie_breaker_odd_votes_disabled(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if !quorum.auto_tie_breaker
        || quorum.last_man_standing
        || quorum.device.is_some()
        || checker.wait_for_all_effective()
        || quorum.nodes.is_empty()
    {
        return;
    }
    let votes = checker.node_vote_sum();
    if votes.is_multiple_of(2) {
        return;
    }
    let span = checker.span_of("quorum", "auto_tie_breaker");
    checker.report(&AutoTieBreakerOddVotesDisabled { votes }, span);
}
