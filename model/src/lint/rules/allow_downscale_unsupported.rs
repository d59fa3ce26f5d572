//! Rule Q016 `allow-downscale-unsupported`: owns this check only; allow_downscale with a
//! quorum device is a startup error reported by validation.
//!
//! ## What it does
//! Flags `allow_downscale: 1`.
//!
//! ## Why is this bad?
//! votequorum(5) calls the feature "INCOMPLETE AND CURRENTLY UNSUPPORTED". It lowers
//! expected votes when a node shuts down cleanly, which makes the remaining partition
//! quorate with fewer nodes, and it silently turns on `expected_votes_tracking`, which
//! stores expected votes in a state file that then overrides `quorum.expected_votes`.
//! A crash does not downscale, so behaviour depends on how nodes left.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     allow_downscale: 1
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
//! It is read at startup and changes quorum after shutdowns: unsafe.
//!
//! ## References
//! votequorum(5) `allow_downscale`, `expected_votes_tracking`; spec section 2.5.

use crate::lint::{Checker, Violation};

/// allow_downscale is on.
struct AllowDownscaleUnsupported;

impl Violation for AllowDownscaleUnsupported {
    fn message(&self) -> String {
        "`allow_downscale` is documented as incomplete and unsupported".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("remove `allow_downscale`; it also turns on `expected_votes_tracking`".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `allow_downscale`".to_string())
    }
}

/// Q016
pub(crate) fn allow_downscale_unsupported(checker: &mut Checker) {
    if !checker.quorum.allow_downscale {
        return;
    }
    let span = checker.span_of("quorum", "allow_downscale");
    checker.report(&AllowDownscaleUnsupported, span);
}
