//! Rule Q015 `auto-tie-breaker-node-without-auto-tie-breaker`: owns this check only.
//!
//! ## What it does
//! Notes `auto_tie_breaker_node` in a configuration where `auto_tie_breaker` is off.
//!
//! ## Why is this bad?
//! The tie-breaker node is only used by auto_tie_breaker; votequorum logs
//! `auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0`. A reader may
//! believe ties are broken.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker_node: lowest
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: lowest
//! }
//! ```
//!
//! ## Fix safety
//! Removing the unused key is safe; turning auto_tie_breaker on is not.
//!
//! ## References
//! votequorum(5) `auto_tie_breaker_node`.

use crate::lint::{Checker, Violation};

/// auto_tie_breaker_node without auto_tie_breaker.
struct AutoTieBreakerNodeWithoutAutoTieBreaker;

impl Violation for AutoTieBreakerNodeWithoutAutoTieBreaker {
    fn message(&self) -> String {
        "`auto_tie_breaker_node` has no effect because `auto_tie_breaker` is off".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("set `auto_tie_breaker: 1` or remove `auto_tie_breaker_node`".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `auto_tie_breaker_node`".to_string())
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// Q015
pub(crate) fn auto_tie_breaker_node_without_auto_tie_breaker(checker: &mut Checker) {
    if checker.quorum.auto_tie_breaker {
        return;
    }
    let Some(item) = checker.effective_key("quorum", "auto_tie_breaker_node") else {
        return;
    };
    let span = item.key_span;
    checker.report(&AutoTieBreakerNodeWithoutAutoTieBreaker, Some(span));
}
