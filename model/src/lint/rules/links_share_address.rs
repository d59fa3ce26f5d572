//! Rule L001 `links-share-address`: owns this check only.
//!
//! ## What it does
//! Flags a node whose links use the same address twice, e.g. `ring0_addr` and `ring1_addr`
//! both `10.30.0.11`. It reports once per node, on the first repeated ring address.
//!
//! ## Why is this bad?
//! A second link exists to survive the failure of the first network path. Two links on one
//! address share the same interface, cable and switch port: when it fails, both links fail
//! together and the node drops out of the membership, although the file looks redundant.
//! corosync does not check this (`corosync -t` exits 0).
//!
//! ## Example
//! ```conf
//! node {
//!     name: node1
//!     nodeid: 1
//!     ring0_addr: 10.30.0.11
//!     ring1_addr: 10.30.0.11
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! node {
//!     name: node1
//!     nodeid: 1
//!     ring0_addr: 10.30.0.11
//!     ring1_addr: 10.31.0.11
//! }
//! ```
//!
//! ## Fix safety
//! Choosing another network is a design decision, and changing a link's address needs the
//! link removed and re-added: no fix is offered.
//!
//! ## References
//! corosync.conf(5) `ringX_addr` and `link_mode`; spec section 4.6 (duplicate addresses are
//! not checked).

use crate::diag::Label;
use crate::lint::{node_label, ring_addresses, Checker, Violation};

/// Two links of one node on one address.
struct LinksShareAddress {
    node: String,
    address: String,
    first_link: u32,
    link: u32,
}

impl Violation for LinksShareAddress {
    fn message(&self) -> String {
        format!(
            "node {} uses address `{}` for both link {} and link {}, so the links are not redundant",
            self.node, self.address, self.first_link, self.link
        )
    }

    fn help(&self) -> Option<String> {
        Some("put each link of a node on its own network interface and subnet".to_string())
    }
}

/// L001
pub(crate) fn links_share_address(checker: &mut Checker) {
    for (position, node) in checker.nodes().into_iter().enumerate() {
        let rings = ring_addresses(node);
        let duplicate = rings.iter().enumerate().find_map(|(index, (link, item))| {
            rings[..index]
                .iter()
                .find(|(other_link, other)| {
                    other_link != link && other.value.eq_ignore_ascii_case(&item.value)
                })
                .map(|(first_link, first)| (*first_link, *first, *link, *item))
        });
        if let Some((first_link, first, link, item)) = duplicate {
            let violation = LinksShareAddress {
                node: node_label(node, position),
                address: item.value.clone(),
                first_link,
                link,
            };
            checker
                .report(&violation, Some(item.value_span))
                .labels
                .push(Label {
                    span: first.value_span,
                    message: format!("link {first_link} uses the same address"),
                });
        }
    }
}
