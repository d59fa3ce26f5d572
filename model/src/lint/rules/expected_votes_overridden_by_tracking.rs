//! Rule Q017 `expected-votes-overridden-by-tracking`: owns this check only.
//!
//! ## What it does
//! Flags `quorum.expected_votes` together with `expected_votes_tracking: 1` or
//! `allow_downscale: 1` (which turns tracking on).
//!
//! ## Why is this bad?
//! With expected votes tracking, votequorum keeps the highest expected votes it has seen in
//! a state file (`ev_tracking` in corosync's state directory) and uses that value instead of
//! `quorum.expected_votes`, at startup and on every reload. On the first start the file
//! holds 0 and the nodelist sum is used. Editing `expected_votes` therefore has no effect,
//! and the value in force depends on the node's history, not on the file.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     expected_votes: 3
//!     expected_votes_tracking: 1
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     expected_votes: 3
//! }
//! ```
//!
//! ## Fix safety
//! Turning tracking off changes expected votes after the next restart: unsafe.
//!
//! ## References
//! votequorum(5) `expected_votes_tracking`, `allow_downscale`; spec sections 2.5 and 2.6.

use crate::lint::{Checker, Violation};

/// expected_votes with tracking.
struct ExpectedVotesOverriddenByTracking {
    by_downscale: bool,
}

impl Violation for ExpectedVotesOverriddenByTracking {
    fn message(&self) -> String {
        if self.by_downscale {
            "`expected_votes` is overridden by the tracked value, because `allow_downscale` turns on expected votes tracking"
                .to_string()
        } else {
            "`expected_votes` is overridden by the value `expected_votes_tracking` keeps in its state file"
                .to_string()
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            "remove `expected_votes_tracking` (and `allow_downscale`), or remove `expected_votes`"
                .to_string(),
        )
    }
}

/// Q017
pub(crate) fn expected_votes_overridden_by_tracking(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if quorum.expected_votes.is_none() || !(quorum.expected_votes_tracking || quorum.allow_downscale) {
        return;
    }
    let violation = ExpectedVotesOverriddenByTracking {
        by_downscale: !quorum.expected_votes_tracking,
    };
    let span = checker.span_of("quorum", "expected_votes");
    checker.report(&violation, span);
}
