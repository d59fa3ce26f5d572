//! Rule T002 `knet-ping-interval-above-timeout`: owns this check only.
//!
//! ## What it does
//! Flags a `totem.interface` whose `knet_ping_interval` is greater than its
//! `knet_ping_timeout` (either written, the other derived from the token).
//!
//! ## Why is this bad?
//! knet declares a link down when no pong arrives within the ping timeout. Pinging less
//! often than that makes a healthy link flap down between pings. `corosync -t` accepts the
//! pair; since corosync 3.1.8 knet refusing the timers makes the daemon exit at startup.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     interface {
//!         linknumber: 0
//!         knet_ping_interval: 2000
//!         knet_ping_timeout: 1000
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     interface {
//!         linknumber: 0
//!         knet_ping_interval: 500
//!         knet_ping_timeout: 1000
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Removing both keys lets corosync derive them from the token (interval = token / 4,
//! timeout = token / 2); it changes link failure detection, so the fix is unsafe.
//!
//! ## References
//! corosync.conf(5) `knet_ping_interval`, `knet_ping_timeout`; spec section 3.2.

use crate::lint::{Checker, Violation};

/// ping interval above ping timeout.
struct KnetPingIntervalAboveTimeout {
    interval: u64,
    timeout: u64,
}

impl Violation for KnetPingIntervalAboveTimeout {
    fn message(&self) -> String {
        format!(
            "`knet_ping_interval` ({} ms) is above `knet_ping_timeout` ({} ms), so the link is declared down between pings",
            self.interval, self.timeout
        )
    }

    fn help(&self) -> Option<String> {
        Some(
            "make the ping interval at most half the ping timeout, or remove both to use the defaults"
                .to_string(),
        )
    }
}

/// T002
pub(crate) fn knet_ping_interval_above_timeout(checker: &mut Checker) {
    let config = checker.config;
    for link in &config.effective.links {
        if link.knet_ping_interval <= link.knet_ping_timeout {
            continue;
        }
        let Some(interface) = config.interfaces.get(&link.linknumber) else {
            continue;
        };
        let Some(written) = interface
            .knet_ping_interval
            .as_ref()
            .or(interface.knet_ping_timeout.as_ref())
        else {
            continue;
        };
        let violation = KnetPingIntervalAboveTimeout {
            interval: u64::from(link.knet_ping_interval),
            timeout: u64::from(link.knet_ping_timeout),
        };
        checker.report(&violation, Some(written.value_span));
    }
}
