//! Rule T001 `consensus-below-token-ratio`: owns this check only; timeouts corosync refuses
//! are validation's.
//!
//! ## What it does
//! Flags a written `consensus` below 1.2 times the effective token timeout (token plus the
//! per-node `token_coefficient`).
//!
//! ## Why is this bad?
//! corosync.conf(5) says the minimum consensus is 1.2 · token, but corosync accepts less
//! without a warning (`corosync -t` exits 0). A consensus shorter than the token lets nodes
//! give up on agreement while the token may still arrive, which causes extra membership
//! changes. Raising `token` without raising a hand-written `consensus` leads there, and the
//! effective token grows with every node added.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     token: 5000
//!     consensus: 1000
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     token: 5000
//! }
//! ```
//!
//! ## Fix safety
//! Removing `consensus` lets corosync compute 1.2 · token; it changes failure detection
//! time, so the fix is unsafe.
//!
//! ## References
//! corosync.conf(5) `consensus`, `token`, `token_coefficient`; spec section 3.4.

use crate::lint::{Checker, Violation};

/// consensus below 1.2 token.
struct ConsensusBelowTokenRatio {
    consensus: u64,
    token: u64,
}

impl Violation for ConsensusBelowTokenRatio {
    fn message(&self) -> String {
        format!(
            "`consensus` is {} ms, below 1.2 times the effective token of {} ms ({} ms)",
            self.consensus,
            self.token,
            self.token * 12 / 10
        )
    }

    fn help(&self) -> Option<String> {
        Some("remove `consensus` (corosync then uses 1.2 times the token) or raise it".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `consensus`".to_string())
    }
}

/// T001
pub(crate) fn consensus_below_token_ratio(checker: &mut Checker) {
    let timing = checker.timing();
    if !timing.consensus_written
        || timing.consensus.saturating_mul(10) >= timing.token_effective.saturating_mul(12)
    {
        return;
    }
    let span = checker
        .effective_key("totem", "consensus")
        .map(|item| item.value_span);
    checker.report(
        &ConsensusBelowTokenRatio {
            consensus: timing.consensus,
            token: timing.token_effective,
        },
        span,
    );
}
