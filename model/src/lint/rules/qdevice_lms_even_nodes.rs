//! Rule D004 `qdevice-lms-even-nodes`: owns this check only.
//!
//! ## What it does
//! Flags a quorum device using the `lms` algorithm in a cluster with an even number of
//! nodes, when qnetd then keeps a lone node quorate against all the others.
//!
//! ## Why is this bad?
//! lms is the last-man-standing algorithm: with the default `votes` (node count − 1) one
//! node that still reaches qnetd is quorate alone, and the other nodes, still talking to
//! each other but not to qnetd, are all inquorate. On an even node count the supported
//! design is `ffsplit` with `votes: 1` (corosync-qdevice(8), `pvecm qdevice setup`): it
//! gives the vote to a half in a 50/50 split and never to a minority. With lms, a lost path
//! to the qnetd host on the side of the many moves the whole cluster onto one node.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     device {
//!         model: net
//!         net {
//!             host: qnetd.example.com
//!             algorithm: lms
//!         }
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     device {
//!         model: net
//!         votes: 1
//!         net {
//!             host: qnetd.example.com
//!             algorithm: ffsplit
//!         }
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Switching the algorithm or the device votes changes quorum: unsafe.
//!
//! ## References
//! corosync-qdevice(8) `algorithm`; spec sections 2.9 and 6.4 (`pvecm qdevice setup`).

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::NodeId;

/// lms on an even node count, where a lone node reaching qnetd outvotes the rest.
struct QdeviceLmsEvenNodes {
    nodes: usize,
    lone: NodeId,
    rest: Vec<NodeId>,
}

impl Violation for QdeviceLmsEvenNodes {
    fn message(&self) -> String {
        format!(
            "quorum device algorithm `lms` on {} nodes: node {} alone, the only one reaching qnetd, stays \
             quorate while {} together are not",
            self.nodes,
            self.lone,
            describe_nodes(&self.rest)
        )
    }

    fn help(&self) -> Option<String> {
        Some("for an even node count use `algorithm: ffsplit` with `votes: 1`".to_string())
    }
}

/// D004
pub(crate) fn qdevice_lms_even_nodes(checker: &mut Checker) {
    let Some(device) = &checker.quorum.device else {
        return;
    };
    let nodes = checker.quorum.nodes.len();
    if device.model != "net" || device.algorithm.as_deref() != Some("lms") || !nodes.is_multiple_of(2) {
        return;
    }
    let Some((lone, true, rest, false)) = engine::lone_node_reaching_qnetd(&checker.quorum) else {
        return;
    };
    let span = checker
        .effective_key("quorum.device.net", "algorithm")
        .map(|item| item.value_span);
    checker.report(&QdeviceLmsEvenNodes { nodes, lone, rest }, span);
}
