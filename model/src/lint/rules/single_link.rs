//! Rule L002 `single-link`: owns this check only.
//!
//! ## What it does
//! Notes a knet cluster whose nodes all have one link.
//!
//! ## Why is this bad?
//! With one link, any failure of that network path (interface, cable, switch, a saturated
//! storage or backup network) isolates the node: it loses quorum and, with HA, fences
//! itself. knet can carry up to 8 links and fails over between them within the ping timeout,
//! without a membership change. Nothing is wrong with one link by itself, hence a note.
//!
//! ## Example
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
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         name: node1
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!         ring1_addr: 10.1.0.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Adding a link needs a second network and a reload on every node; it is a planner target,
//! not a text fix.
//!
//! ## References
//! corosync.conf(5) `ringX_addr`, `link_mode`, `knet_link_priority`.

use std::collections::BTreeSet;

use crate::lint::{ring_addresses, Checker, Violation};
use crate::quorum::settings::Transport;

/// All nodes have one link.
struct SingleLink {
    link: u32,
}

impl Violation for SingleLink {
    fn message(&self) -> String {
        format!(
            "every node has only link {}, so one network failure isolates a node",
            self.link
        )
    }

    fn help(&self) -> Option<String> {
        Some("add a second link (`ring1_addr` on every node) on an independent network".to_string())
    }
}

/// L002
pub(crate) fn single_link(checker: &mut Checker) {
    if checker.quorum.transport != Transport::Knet {
        return;
    }
    let nodes = checker.nodes();
    let links: BTreeSet<u32> = nodes
        .iter()
        .flat_map(|node| ring_addresses(node).into_iter().map(|(link, _)| link))
        .collect();
    if nodes.len() < 2 || links.len() != 1 {
        return;
    }
    let Some(link) = links.first().copied() else {
        return;
    };
    let span = checker
        .document
        .sections_at("nodelist")
        .first()
        .map(|nodelist| nodelist.name_span);
    checker.report(&SingleLink { link }, span);
}
