//! Rule T005 `last-man-standing-window-too-small`: owns this check only.
//!
//! ## What it does
//! Flags a `last_man_standing_window` shorter than the effective token timeout, when
//! `last_man_standing` is on.
//!
//! ## Why is this bad?
//! With `last_man_standing`, votequorum lowers the expected votes to the surviving members
//! once the window has passed after a membership change without a further change (spec
//! 2.3). A node that stops answering just after a change is only declared lost after the
//! token timeout (token plus `token_coefficient` per node beyond two, spec 3.4). With a
//! window shorter than that, the expected votes shrink to a membership that is still losing
//! nodes, one step per failure: a cascade 5 → 3 → 2 within seconds of one incident (a
//! failing switch, nodes rebooting one after another), and nodes that were only cut off come
//! back as a second quorate partition (the LMS split-brain of spec 2.3). The default window
//! is 10000 ms; the man page's examples use 20000 ms.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     last_man_standing: 1
//!     last_man_standing_window: 100
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     last_man_standing: 1
//! }
//! ```
//!
//! ## Fix safety
//! Changing the window changes when quorum is recalculated: unsafe, a planner target.
//!
//! ## References
//! votequorum(5) `last_man_standing`, `last_man_standing_window`; spec sections 2.3 and
//! 3.4.

use crate::lint::{Checker, Violation};

/// A last-man-standing window shorter than the effective token timeout.
struct LastManStandingWindowTooSmall {
    window: u64,
    token: u64,
}

impl Violation for LastManStandingWindowTooSmall {
    fn message(&self) -> String {
        format!(
            "`last_man_standing_window` is {} ms, shorter than the effective token timeout of {} ms, so expected votes can shrink before totem has noticed a further failure",
            self.window, self.token
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "remove `last_man_standing_window` (default 10000 ms) or make it longer than {} ms",
            self.token
        ))
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `last_man_standing_window`".to_string())
    }
}

/// T005
pub(crate) fn last_man_standing_window_too_small(checker: &mut Checker) {
    if !checker.quorum.last_man_standing {
        return;
    }
    let timing = checker.timing();
    let window = u64::from(checker.quorum.last_man_standing_window_ms);
    if window >= timing.token_effective {
        return;
    }
    let span = checker
        .effective_key("quorum", "last_man_standing_window")
        .map(|item| item.value_span)
        .or_else(|| checker.span_of("quorum", "last_man_standing"));
    checker.report(
        &LastManStandingWindowTooSmall {
            window,
            token: timing.token_effective,
        },
        span,
    );
}
