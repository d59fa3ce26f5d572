//! Rule T003 `token-budget-near-pve-watchdog`: owns this check only; runs on
//! Proxmox-managed files.
//!
//! ## What it does
//! In a file managed by Proxmox VE, flags an effective token plus consensus timeout of 30 s
//! or more, half of Proxmox HA's 60 s watchdog.
//!
//! ## Why is this bad?
//! After a failure corosync needs about token + consensus to form a new membership, and
//! only then does the quorate side know who is gone. Proxmox HA's LRM must renew its lock,
//! which needs quorum, well within the 60 s watchdog; otherwise nodes that keep quorum
//! fence themselves during an ordinary membership change. With corosync's default
//! `token_coefficient` of 650 ms the budget grows with every node: 32 nodes reach 49.5 s.
//! That is why `pvecm create` writes `token_coefficient: 125` since 2026.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     token: 20000
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     token: 3000
//!     token_coefficient: 125
//! }
//! ```
//!
//! ## Fix safety
//! Shorter timeouts change failure detection: unsafe.
//!
//! ## References
//! corosync.conf(5) `token`, `token_coefficient`, `consensus`; pve-ha-manager
//! `src/watchdog-mux.c`; spec sections 3.4, 3.5 and 6.6.

use crate::lint::{Checker, Violation};

/// The budget from which the rule fires, in ms.
const BUDGET_LIMIT_MS: u64 = 30_000;

/// Timing budget close to the watchdog.
struct TokenBudgetNearPveWatchdog {
    token: u64,
    consensus: u64,
}

impl Violation for TokenBudgetNearPveWatchdog {
    fn message(&self) -> String {
        format!(
            "token ({} ms) plus consensus ({} ms) is {} ms, close to Proxmox HA's 60 s watchdog",
            self.token,
            self.consensus,
            self.token + self.consensus
        )
    }

    fn help(&self) -> Option<String> {
        Some("lower `token` or set `token_coefficient: 125` (what `pvecm create` writes)".to_string())
    }
}

/// T003
pub(crate) fn token_budget_near_pve_watchdog(checker: &mut Checker) {
    if !checker.proxmox {
        return;
    }
    let timing = checker.timing();
    if timing.token_effective.saturating_add(timing.consensus) < BUDGET_LIMIT_MS {
        return;
    }
    let span = checker
        .effective_key("totem", "token")
        .or_else(|| checker.effective_key("totem", "token_coefficient"))
        .map(|item| item.value_span)
        .or_else(|| {
            checker
                .document
                .sections_at("totem")
                .first()
                .map(|totem| totem.name_span)
        });
    checker.report(
        &TokenBudgetNearPveWatchdog {
            token: timing.token_effective,
            consensus: timing.consensus,
        },
        span,
    );
}
