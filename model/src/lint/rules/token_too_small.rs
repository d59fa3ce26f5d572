//! Rule T004 `token-too-small`: owns this check only; a token corosync refuses (below
//! 126 ms) is validation's.
//!
//! ## What it does
//! Flags an effective token timeout below 1000 ms.
//!
//! ## Why is this bad?
//! The token timeout is how long a node may stay silent before the others declare it lost
//! and form a new membership. corosync accepts any token from 126 ms (spec 3.4), but the
//! timers derived from it shrink with it: consensus is 1.2 · token, and knet declares a
//! link down after token / 2 without a reply (pinging every token / 4). With `token: 200` a
//! node is lost after 200 ms of silence and a link after 100 ms, so a short stall that is
//! no failure at all (a scheduler hiccup, a live migration, a storage or backup burst on the
//! network) becomes a membership change: quorum is recomputed, and with HA a node may fence
//! itself. 1000 ms was corosync 2's default; corosync 3 defaults to 3000 ms.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     token: 200
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     token: 3000
//! }
//! ```
//!
//! ## Fix safety
//! Changing `token` changes failure detection time on every node: unsafe, a planner target.
//!
//! ## References
//! corosync.conf(5) `token`, `token_coefficient`, `knet_ping_timeout`; spec sections 3.4
//! and 3.5.

use crate::lint::{Checker, Violation};
use crate::quorum::settings::Transport;

/// The smallest effective token this rule accepts, in ms.
const SAFE_TOKEN_MS: u64 = 1000;

/// An effective token timeout below `SAFE_TOKEN_MS`.
struct TokenTooSmall {
    /// The written `token`, when the file has one.
    written: Option<u32>,
    token: u64,
    consensus: u64,
    /// The shortest knet ping timeout of the links (knet only): how long until a link is
    /// declared down.
    link_down: Option<u32>,
}

impl Violation for TokenTooSmall {
    fn message(&self) -> String {
        let source = match self.written {
            Some(written) if u64::from(written) != self.token => {
                format!(
                    "`token: {written}` gives an effective token timeout of {} ms",
                    self.token
                )
            }
            Some(written) => format!("`token: {written}` is the effective token timeout"),
            None => format!("the effective token timeout is {} ms", self.token),
        };
        let link = self
            .link_down
            .map(|timeout| format!(" and knet declares a link down after {timeout} ms without a reply"))
            .unwrap_or_default();
        format!(
            "{source}: a node silent for that long is declared lost (consensus {} ms){link}, so a short stall causes a membership change",
            self.consensus
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "use a token of at least {SAFE_TOKEN_MS} ms (corosync 3 defaults to 3000 ms), or remove `token`"
        ))
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `token`".to_string())
    }
}

/// T004
pub(crate) fn token_too_small(checker: &mut Checker) {
    let timing = checker.timing();
    if timing.token_effective >= SAFE_TOKEN_MS {
        return;
    }
    let span = checker
        .effective_key("totem", "token")
        .map(|item| item.value_span)
        .or_else(|| checker.span_of("totem", "token"));
    checker.report(
        &TokenTooSmall {
            written: checker.config.totem.token.as_ref().map(|token| token.value),
            token: timing.token_effective,
            consensus: timing.consensus,
            link_down: (checker.config.effective.transport == Transport::Knet)
                .then(|| {
                    checker
                        .config
                        .effective
                        .links
                        .iter()
                        .map(|link| link.knet_ping_timeout)
                        .min()
                })
                .flatten(),
        },
        span,
    );
}
