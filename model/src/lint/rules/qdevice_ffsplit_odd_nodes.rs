//! Rule D001 `qdevice-ffsplit-odd-nodes`: owns this check only.
//!
//! ## What it does
//! Flags a quorum device using the `ffsplit` algorithm (the default) in a cluster with an
//! odd number of nodes.
//!
//! ## Why is this bad?
//! ffsplit is made for an even node count: it gives its vote to the half that wins a 50/50
//! split. With an odd count there is no such split, and the device's vote becomes a
//! dependency instead: with three nodes and `votes: 1`, expected votes are 4 and quorum 3,
//! so even two of three nodes are inquorate whenever qnetd is unreachable (spec TV48).
//! Proxmox refuses it (`Clusters with an odd node count are not officially supported!`).
//!
//! ## Example
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
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//! }
//! ```
//!
//! ## Fix safety
//! Removing the device or switching to `lms` changes quorum: unsafe.
//!
//! ## References
//! corosync-qdevice(8) `algorithm`; spec section 2.9.

use crate::lint::{Checker, Violation};

/// ffsplit on an odd node count.
struct QdeviceFfsplitOddNodes {
    nodes: usize,
}

impl Violation for QdeviceFfsplitOddNodes {
    fn message(&self) -> String {
        format!(
            "quorum device algorithm `ffsplit` with {} node{} makes quorum depend on the device",
            self.nodes,
            if self.nodes == 1 { "" } else { "s" }
        )
    }

    fn help(&self) -> Option<String> {
        Some(
            "ffsplit is for an even node count; with an odd count remove the device or use `algorithm: lms`"
                .to_string(),
        )
    }
}

/// D001
pub(crate) fn qdevice_ffsplit_odd_nodes(checker: &mut Checker) {
    let Some(device) = &checker.quorum.device else {
        return;
    };
    let nodes = checker.quorum.nodes.len();
    if device.model != "net"
        || device.algorithm.as_deref().unwrap_or("ffsplit") != "ffsplit"
        || nodes.is_multiple_of(2)
    {
        return;
    }
    let span = checker
        .effective_key("quorum.device.net", "algorithm")
        .map(|item| item.value_span)
        .or_else(|| checker.span_of("quorum.device", "model"));
    checker.report(&QdeviceFfsplitOddNodes { nodes }, span);
}
