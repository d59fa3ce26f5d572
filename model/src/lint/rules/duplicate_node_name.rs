//! Rule S010 `duplicate-node-name`: owns this check only.
//!
//! ## What it does
//! Flags two nodelist entries with the same `name`.
//!
//! ## Why is this bad?
//! corosync does not check names for uniqueness (`corosync -t` exits 0), but it identifies
//! the local node by comparing the host name with each node's `name`: two entries with one
//! name make the first match win, so a host can take another node's id and addresses.
//! Proxmox keys nodes by name and silently collapses duplicates.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         name: node1
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         name: node1
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
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
//!     node {
//!         name: node2
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Renaming a node changes which host takes which entry: no fix is offered.
//!
//! ## References
//! corosync.conf(5) `name` and ADDRESS RESOLUTION; `totemconfig.c` `find_local_node`.

use std::collections::HashMap;

use crate::diag::Label;
use crate::lint::{Checker, Violation};

/// A node name used twice.
struct DuplicateNodeName {
    name: String,
}

impl Violation for DuplicateNodeName {
    fn message(&self) -> String {
        format!("node name `{}` is used by more than one node", self.name)
    }

    fn help(&self) -> Option<String> {
        Some(
            "give every node its own `name`; corosync finds the local node by name and takes the first match"
                .to_string(),
        )
    }
}

/// S010
pub(crate) fn duplicate_node_name(checker: &mut Checker) {
    let mut first_seen = HashMap::new();
    for node in checker.nodes() {
        let Some(item) = node.key("name") else {
            continue;
        };
        match first_seen.get(item.value.as_str()) {
            None => {
                first_seen.insert(item.value.as_str(), item.value_span);
            }
            Some(first) => {
                let first = *first;
                checker
                    .report(
                        &DuplicateNodeName {
                            name: item.value.clone(),
                        },
                        Some(item.value_span),
                    )
                    .labels
                    .push(Label {
                        span: first,
                        message: "first used here".to_string(),
                    });
            }
        }
    }
}
