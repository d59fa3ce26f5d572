//! Rule Q011 `two-node-with-auto-tie-breaker`: owns this check only.
//!
//! ## What it does
//! Flags `two_node: 1` together with `auto_tie_breaker: 1`.
//!
//! ## Why is this bad?
//! The two options cannot be combined: at startup votequorum logs `two_node and
//! auto_tie_breaker are both specified but are not compatible.` and `two_node has been
//! disabled, please fix your corosync.conf`, then continues. `wait_for_all`, already turned
//! on by `two_node`, stays on. The cluster therefore behaves as an ATB cluster with
//! `wait_for_all`, not as the file suggests.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
//!     auto_tie_breaker: 1
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
//! Writing what corosync already does (`two_node` off, `wait_for_all: 1`) keeps behaviour:
//! safe.
//!
//! ## References
//! votequorum(5) `two_node`, `auto_tie_breaker`; spec section 2.1.

use crate::lint::{Checker, Violation};

/// two_node with ATB.
struct TwoNodeWithAutoTieBreaker;

impl Violation for TwoNodeWithAutoTieBreaker {
    fn message(&self) -> String {
        "`two_node` is disabled by corosync because `auto_tie_breaker` is also set".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("corosync logs `two_node and auto_tie_breaker are both specified but are not compatible`; remove `two_node` and write `wait_for_all: 1`".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("replace `two_node: 1` with `wait_for_all: 1`".to_string())
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// Q011
pub(crate) fn two_node_with_auto_tie_breaker(checker: &mut Checker) {
    if !checker.quorum.two_node || !checker.quorum.auto_tie_breaker {
        return;
    }
    let span = checker.span_of("quorum", "two_node");
    checker.report(&TwoNodeWithAutoTieBreaker, span);
}
