//! Rule L004 `node-without-address`: owns this check only.
//!
//! ## What it does
//! Flags a nodelist entry without any `ringX_addr`.
//!
//! ## Why is this bad?
//! votequorum counts every nodelist entry (its votes raise expected votes), but totem can
//! never reach a node without an address, so it never becomes a member. The cluster needs
//! more votes for quorum than it can ever gather from reachable nodes, and `corosync -t`
//! says nothing.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         name: node3
//!         nodeid: 3
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         name: node3
//!         nodeid: 3
//!         ring0_addr: 10.0.0.3
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! The address is unknown: no fix is offered.
//!
//! ## References
//! corosync.conf(5) `nodelist`; votequorum(5) expected votes; spec section 2.10.

use crate::lint::{node_label, ring_addresses, Checker, Violation};

/// A node without address.
struct NodeWithoutAddress {
    node: String,
}

impl Violation for NodeWithoutAddress {
    fn message(&self) -> String {
        format!(
            "node {} has no `ringX_addr`, so it counts for quorum but can never join",
            self.node
        )
    }

    fn help(&self) -> Option<String> {
        Some("add the node's `ring0_addr` (and one address per link), or remove the node".to_string())
    }
}

/// L004
pub(crate) fn node_without_address(checker: &mut Checker) {
    for (position, node) in checker.nodes().into_iter().enumerate() {
        if ring_addresses(node).is_empty() {
            checker.report(
                &NodeWithoutAddress {
                    node: node_label(node, position),
                },
                Some(node.name_span),
            );
        }
    }
}
