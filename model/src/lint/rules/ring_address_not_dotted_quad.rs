//! Rule L011 `ring-address-not-dotted-quad`: owns this check only.
//!
//! ## What it does
//! Warns about a `ringN_addr` that corosync reads as an IPv4 address although it is not
//! written as four plain decimal numbers: `10.1` (fewer parts), `010.0.0.1` (a leading zero
//! is octal), `0x0a.0.0.1` or `167772161` (hex or one number).
//!
//! ## Why is this bad?
//! corosync hands the text to `getaddrinfo`, which reads IPv4 the way `inet_aton` does:
//! `010.1.1.1` is 8.1.1.1, not 10.1.1.1, and `10.1` is 10.0.0.1 (measured: `corosync -t`
//! 3.1.7 accepts all these forms). The address corosync binds and sends to is then not the
//! one the reader sees (measured: with node 1 written `0306.18.0.1`, corosync -t finds the
//! local node 198.18.0.1), and other tools (pcs, pvecm, monitoring) read the text
//! differently.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 010.000.000.001
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 8.0.0.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Writing the address corosync already uses changes nothing for corosync (safe); but if
//! the decimal reading was meant, the address itself is wrong, which only the operator
//! knows.
//!
//! ## References
//! corosync.conf(5) `ringX_addr`; inet_aton(3).

use std::net::IpAddr;

use crate::lint::{ring_addresses, Checker, Violation};
use crate::validate::local::parse_numeric;

/// An IPv4 ring address in an `inet_aton` form other than the plain dotted quad.
struct RingAddressNotDottedQuad {
    key: String,
    written: String,
    read_as: IpAddr,
}

impl Violation for RingAddressNotDottedQuad {
    fn message(&self) -> String {
        format!(
            "`{}: {}` is read by corosync as {} (inet_aton: fewer than four parts fill the last, a leading 0 is octal, 0x is hex)",
            self.key, self.written, self.read_as
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "write `{}` if that is the address you mean",
            self.read_as
        ))
    }

    fn fix_title(&self) -> Option<String> {
        Some(format!("write `{}`", self.read_as))
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// L011
pub(crate) fn ring_address_not_dotted_quad(checker: &mut Checker) {
    for node in checker.nodes() {
        for (_, item) in ring_addresses(node) {
            let Some(address @ IpAddr::V4(_)) = parse_numeric(&item.value) else {
                continue;
            };
            if item.value == address.to_string() {
                continue;
            }
            let violation = RingAddressNotDottedQuad {
                key: item.key.clone(),
                written: item.value.clone(),
                read_as: address,
            };
            checker.report(&violation, Some(item.value_span));
        }
    }
}
