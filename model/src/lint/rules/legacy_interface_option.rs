//! Rule L006 `legacy-interface-option`: owns this check only.
//!
//! ## What it does
//! Notes options left over from corosync 1/2 that corosync 3 reads but does not use with the
//! configured transport: `rrp_mode` in `totem` (redundant ring protocol, gone in 3.x),
//! `ringnumber` in an interface (the corosync 2 name of `linknumber`, ignored by corosync 3),
//! and `mcastaddr`/`broadcast` in an interface with the knet or udpu transport (only udp
//! multicast uses them).
//!
//! ## Why is this bad?
//! The file reads as if it configured redundancy or multicast that does not exist: in
//! corosync 3 redundancy comes from knet links and `link_mode`, and knet/udpu never use a
//! multicast address. Worse, corosync 3 ignores `ringnumber`, so an interface section with
//! `ringnumber: 1` configures link 0 and merges into the section for link 0 (verified with
//! `corosync -t` 3.1.7); that finding is raised to a warning.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     transport: knet
//!     rrp_mode: passive
//!     interface {
//!         ringnumber: 0
//!         mcastaddr: 239.255.1.1
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     transport: knet
//!     link_mode: passive
//!     interface {
//!         linknumber: 0
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! `rrp_mode`, `mcastaddr` and `broadcast` are unused with this transport, so removing
//! them is safe. Renaming `ringnumber: 0` to `linknumber: 0` is safe; for any other number
//! the rename moves the settings to another link, which is unsafe.
//!
//! ## References
//! corosync.conf(5) `linknumber`, `link_mode`, `mcastaddr`; spec section 3.1.

use crate::diag::Severity;
use crate::lint::{Checker, Violation};
use crate::quorum::settings::Transport;

/// A legacy option.
struct LegacyInterfaceOption {
    key: &'static str,
    reason: String,
    fix: &'static str,
    safe: bool,
}

impl Violation for LegacyInterfaceOption {
    fn message(&self) -> String {
        format!("`{}` {}", self.key, self.reason)
    }

    fn fix_title(&self) -> Option<String> {
        Some(self.fix.to_string())
    }

    fn fix_is_safe(&self) -> bool {
        self.safe
    }
}

/// L006
pub(crate) fn legacy_interface_option(checker: &mut Checker) {
    let transport = checker.quorum.transport;
    let mut found = Vec::new();
    for totem in checker.document.sections_at("totem") {
        for item in totem.keys().filter(|item| item.key == "rrp_mode") {
            let violation = LegacyInterfaceOption {
                key: "rrp_mode",
                reason: "has no effect in corosync 3 (redundancy comes from knet links and `link_mode`)"
                    .to_string(),
                fix: "remove `rrp_mode`",
                safe: true,
            };
            found.push((item.key_span, violation, false));
        }
    }
    for interface in checker.document.sections_at("totem.interface") {
        for item in interface.keys() {
            let violation = match item.key.as_str() {
                "ringnumber" => {
                    let zero = item.value == "0";
                    let reason = if zero || interface.key("linknumber").is_some() {
                        "is ignored by corosync 3; the link number is `linknumber`".to_string()
                    } else {
                        format!(
                            "is ignored by corosync 3, so this section configures link 0, not link {}",
                            item.value
                        )
                    };
                    let violation = LegacyInterfaceOption {
                        key: "ringnumber",
                        reason,
                        fix: "rename `ringnumber` to `linknumber`",
                        safe: zero,
                    };
                    let raise = !zero && interface.key("linknumber").is_none();
                    found.push((item.key_span, violation, raise));
                    continue;
                }
                "mcastaddr" | "broadcast" if transport != Transport::Udp => LegacyInterfaceOption {
                    key: if item.key == "mcastaddr" {
                        "mcastaddr"
                    } else {
                        "broadcast"
                    },
                    reason: "is only used by the udp (multicast) transport".to_string(),
                    fix: if item.key == "mcastaddr" {
                        "remove `mcastaddr`"
                    } else {
                        "remove `broadcast`"
                    },
                    safe: true,
                },
                _ => continue,
            };
            found.push((item.key_span, violation, false));
        }
    }
    found.sort_by_key(|(span, _, _)| span.start);
    for (span, violation, raise) in found {
        let diagnostic = checker.report(&violation, Some(span));
        if raise {
            diagnostic.severity = Severity::Warning;
        }
    }
}
