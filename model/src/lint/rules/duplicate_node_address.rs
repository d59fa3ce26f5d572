//! Rule L003 `duplicate-node-address`: owns this check only.
//!
//! ## What it does
//! Flags an address that two different nodes use (on the same or on different links).
//!
//! ## Why is this bad?
//! corosync does not check addresses for uniqueness (`corosync -t` exits 0). knet then
//! sends one node's traffic to the other, local-node detection may pick the wrong entry, and
//! the two nodes fight over one identity. Usually it is a copy-paste error when adding a
//! node. Proxmox refuses it when adding a node (`address ... already used on link ...`).
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! The right address is unknown: no fix is offered.
//!
//! ## References
//! corosync.conf(5) `ringX_addr`; proxmox/pve-cluster `API2/ClusterConfig.pm` `addnode`.

use std::collections::HashMap;

use crate::diag::{Label, Span};
use crate::lint::{node_label, ring_addresses, Checker, Violation};

/// An address shared by two nodes.
struct DuplicateNodeAddress {
    address: String,
    node: String,
    other: String,
}

impl Violation for DuplicateNodeAddress {
    fn message(&self) -> String {
        format!(
            "address `{}` of node {} is also used by node {}",
            self.address, self.node, self.other
        )
    }

    fn help(&self) -> Option<String> {
        Some("every node needs its own address on every link".to_string())
    }
}

/// L003
pub(crate) fn duplicate_node_address(checker: &mut Checker) {
    // Labels are built only for findings: this runs once per ring address of every node.
    let nodes = checker.nodes();
    let mut first_seen: HashMap<String, (usize, Span)> = HashMap::new();
    for (position, node) in nodes.iter().enumerate() {
        for (_, item) in ring_addresses(node) {
            let address = item.value.to_ascii_lowercase();
            if address.is_empty() {
                continue;
            }
            match first_seen.get(&address) {
                None => {
                    first_seen.insert(address, (position, item.value_span));
                }
                Some(&(other_position, first)) if other_position != position => {
                    let violation = DuplicateNodeAddress {
                        address: item.value.clone(),
                        node: node_label(node, position),
                        other: node_label(nodes[other_position], other_position),
                    };
                    checker
                        .report(&violation, Some(item.value_span))
                        .labels
                        .push(Label {
                            span: first,
                            message: "first used here".to_string(),
                        });
                }
                Some(_) => {}
            }
        }
    }
}
