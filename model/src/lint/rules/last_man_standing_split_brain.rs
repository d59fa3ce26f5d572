//! Rule Q006 `last-man-standing-split-brain`: owns this check only.
//!
//! ## What it does
//! Flags `last_man_standing: 1`.
//!
//! ## Why is this bad?
//! Last man standing lowers expected votes to the current members once the window expires,
//! assuming the departed nodes are dead. When they were only cut off, a later membership
//! change gives two quorate partitions: with five nodes, {4,5} cut off, then node 3 moving
//! over, both {1,2} and {3,4,5} are quorate (spec TV25). `wait_for_all` does not prevent it
//! (TV25b). Any config reload also resets the lowered expected votes.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     last_man_standing: 1
//!     wait_for_all: 1
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     wait_for_all: 1
//! }
//! ```
//!
//! ## Fix safety
//! Disabling it raises quorum after failures: unsafe.
//!
//! ## References
//! votequorum(5) `last_man_standing`; spec sections 2.3 and 2.11 (S6).

use crate::lint::{Checker, Violation};

/// last_man_standing is on.
struct LastManStandingSplitBrain;

impl Violation for LastManStandingSplitBrain {
    fn message(&self) -> String {
        "`last_man_standing` can make two partitions quorate when departed nodes were only cut off"
            .to_string()
    }

    fn help(&self) -> Option<String> {
        Some(
            "use it only when departed nodes are reliably fenced; otherwise remove `last_man_standing`"
                .to_string(),
        )
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `last_man_standing`".to_string())
    }
}

/// Q006
pub(crate) fn last_man_standing_split_brain(checker: &mut Checker) {
    if !checker.quorum.last_man_standing {
        return;
    }
    let span = checker.span_of("quorum", "last_man_standing");
    checker.report(&LastManStandingSplitBrain, span);
}
