//! Rule L010 `ring-address-hostname`: owns this check only; a ring address no resolver can
//! answer is validation's (E124).
//!
//! ## What it does
//! Notes a `ringN_addr` that is a host name rather than an IP address; on a Proxmox VE file
//! it warns.
//!
//! ## Why is this bad?
//! corosync resolves ring addresses once, when it starts (and on reload), with
//! `getaddrinfo`: every node needs the name in DNS or /etc/hosts at that moment, and to the
//! same address. A DNS outage at boot keeps corosync from starting, a name that resolves to
//! another address (or to IPv6 first) puts the node on another network, and `quorate`
//! cannot check what it cannot resolve (it assumes the name resolves). Proxmox VE's pvecm
//! documentation advises IP addresses for the links, and `pvecm add` writes them, so on a
//! Proxmox file a host name is a warning.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         name: node1
//!         nodeid: 1
//!         ring0_addr: node1.example.com
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         name: node1
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Replacing a name by its address changes nothing if the name resolves to that address
//! on every node, which only the operator can confirm: unsafe.
//!
//! ## References
//! corosync.conf(5) `ringX_addr`; pvecm(1) "Adding Nodes With Separated Cluster Network";
//! spec sections 4.2 (R14) and 6.4.

use crate::lint::{ring_addresses, Checker, Violation};
use crate::validate::local::{resolve, Resolution};

/// A ring address that is a host name.
struct RingAddressHostname {
    key: String,
    name: String,
    proxmox: bool,
}

impl Violation for RingAddressHostname {
    fn message(&self) -> String {
        if self.proxmox {
            format!(
                "`{}: {}` is a host name; Proxmox VE advises IP addresses for corosync links",
                self.key, self.name
            )
        } else {
            format!(
                "`{}: {}` is a host name: corosync must resolve it on every node when it starts",
                self.key, self.name
            )
        }
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "write the address `{}` resolves to (the same on every node), so that corosync does not depend on DNS or /etc/hosts at boot",
            self.name
        ))
    }
}

/// L010
pub(crate) fn ring_address_hostname(checker: &mut Checker) {
    let proxmox = checker.proxmox;
    for node in checker.nodes() {
        for (_, item) in ring_addresses(node) {
            // Only names that may resolve: what cannot is validation's E124.
            if resolve(&item.value, None) != Resolution::Assumed {
                continue;
            }
            let violation = RingAddressHostname {
                key: item.key.clone(),
                name: item.value.clone(),
                proxmox,
            };
            let diagnostic = checker.report(&violation, Some(item.value_span));
            if proxmox {
                diagnostic.severity = crate::diag::Severity::Warning;
            }
        }
    }
}
