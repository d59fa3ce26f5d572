//! Rule Q014 `last-man-standing-disabled-by-votes`: owns this check only.
//!
//! ## What it does
//! Flags `last_man_standing: 1` when some node has `quorum_votes` other than 1.
//!
//! ## Why is this bad?
//! votequorum supports last man standing only when every node has one vote. As soon as it
//! hears from a node with more, it logs `Last Man Standing feature is supported only when
//! allcluster nodes votes are set to 1. Disabling LMS.` and expected votes stop shrinking
//! (spec TV27). The file promises a behaviour the cluster does not have.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     last_man_standing: 1
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         quorum_votes: 2
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         quorum_votes: 2
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Removing `last_man_standing` writes what corosync already does once running, but it is
//! read at startup: unsafe.
//!
//! ## References
//! votequorum(5) `last_man_standing`; spec section 2.3.

use crate::diag::Label;
use crate::lint::{Checker, Violation};

/// LMS with a node that has votes != 1.
struct LastManStandingDisabledByVotes {
    nodeid: u32,
    votes: u32,
}

impl Violation for LastManStandingDisabledByVotes {
    fn message(&self) -> String {
        format!(
            "`last_man_standing` is disabled at runtime because node {} has {} votes",
            self.nodeid, self.votes
        )
    }

    fn help(&self) -> Option<String> {
        Some(
            "last man standing needs every node to have 1 vote; remove it or set all `quorum_votes` to 1"
                .to_string(),
        )
    }
}

/// Q014
pub(crate) fn last_man_standing_disabled_by_votes(checker: &mut Checker) {
    if !checker.quorum.last_man_standing {
        return;
    }
    let Some(node) = checker.quorum.nodes.iter().find(|node| node.votes != 1) else {
        return;
    };
    let violation = LastManStandingDisabledByVotes {
        nodeid: node.nodeid,
        votes: node.votes,
    };
    let votes_span = checker
        .config
        .nodelist
        .nodes
        .iter()
        .filter_map(|node| node.quorum_votes.as_ref())
        .find(|votes| votes.value != 1)
        .map(|votes| votes.value_span);
    let span = checker.span_of("quorum", "last_man_standing");
    let diagnostic = checker.report(&violation, span);
    if let Some(votes_span) = votes_span {
        diagnostic.labels.push(Label {
            span: votes_span,
            message: "votes other than 1".to_string(),
        });
    }
}
