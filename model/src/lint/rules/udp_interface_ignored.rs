//! Rule L009 `udp-interface-ignored`: owns this check only; a second link on udp/udpu is
//! refused by validation.
//!
//! ## What it does
//! Notes, with the udp (multicast) transport, an interface section for a link other than 0
//! that has no `bindnetaddr`.
//!
//! ## Why is this bad?
//! For udp corosync only processes an interface section that has a `bindnetaddr` (link 0
//! gets one from the local node's address). The section is silently ignored, so its
//! settings (multicast address, port, ttl) are not in force, and udp has a single link
//! anyway: there is no second ring in corosync 3.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     transport: udp
//!     interface {
//!         linknumber: 1
//!         mcastaddr: 239.255.2.1
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     transport: udp
//!     interface {
//!         linknumber: 0
//!         mcastaddr: 239.255.1.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! The section is ignored, so removing it is safe.
//!
//! ## References
//! corosync.conf(5) `interface`, `bindnetaddr`; spec section 3.1 (`get_interface_params`).

use crate::lint::{Checker, Violation};
use crate::quorum::settings::Transport;

/// Ignored udp interface section.
struct UdpInterfaceIgnored {
    link: String,
}

impl Violation for UdpInterfaceIgnored {
    fn message(&self) -> String {
        format!(
            "interface section for link {} is ignored: with udp only sections with `bindnetaddr` count",
            self.link
        )
    }

    fn help(&self) -> Option<String> {
        Some("udp has a single link (0); remove this section".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove the interface section".to_string())
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// L009
pub(crate) fn udp_interface_ignored(checker: &mut Checker) {
    if checker.quorum.transport != Transport::Udp {
        return;
    }
    for interface in checker.document.sections_at("totem.interface") {
        let link = interface.value("linknumber").unwrap_or("0");
        if link == "0" || interface.key("bindnetaddr").is_some() {
            continue;
        }
        let violation = UdpInterfaceIgnored {
            link: link.to_string(),
        };
        checker.report(&violation, Some(interface.name_span));
    }
}
