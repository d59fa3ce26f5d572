//! Rule D003 `qdevice-lms-numeric-tie-breaker`: owns this check only.
//!
//! ## What it does
//! Flags a quorum device using the `lms` algorithm with a node id as `tie_breaker`.
//!
//! ## Why is this bad?
//! In qnetd's lms algorithm a numeric tie-breaker is compared with the id of the node that
//! asks, not with the members of each partition. In a tie only the tie-breaker node itself
//! gets the vote; its partition-mates are refused and stay inquorate while it is quorate.
//! Nodes of one partition then disagree about quorum (spec 2.9, S11; seen on corosync-qnetd
//! 3.0.3: a 2|2 split of four nodes with `tie_breaker: 2` leaves node 2 quorate and node 1,
//! its partition-mate, inquorate, reality test `reality_four_nodes_lms_numeric_tie_breaker`).
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
//!             tie_breaker: 2
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
//!         net {
//!             host: qnetd.example.com
//!             algorithm: lms
//!             tie_breaker: lowest
//!         }
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Changing the tie-breaker changes which partition wins a tie: unsafe.
//!
//! ## References
//! corosync-qdevice(8) `tie_breaker`; corosync-qdevice `qnetd-algo-lms.c`.

use crate::lint::{Checker, Violation};

/// lms with a numeric tie_breaker.
struct QdeviceLmsNumericTieBreaker {
    nodeid: String,
}

impl Violation for QdeviceLmsNumericTieBreaker {
    fn message(&self) -> String {
        format!(
            "algorithm `lms` with `tie_breaker: {}` gives a tie only to that node, not to its partition",
            self.nodeid
        )
    }

    fn help(&self) -> Option<String> {
        Some("use `tie_breaker: lowest` or `highest` with lms".to_string())
    }
}

/// D003
pub(crate) fn qdevice_lms_numeric_tie_breaker(checker: &mut Checker) {
    let Some(device) = &checker.quorum.device else {
        return;
    };
    if device.algorithm.as_deref() != Some("lms") {
        return;
    }
    let Some(tie_breaker) = device.tie_breaker.clone() else {
        return;
    };
    if tie_breaker.is_empty() || !tie_breaker.bytes().all(|byte| byte.is_ascii_digit()) {
        return;
    }
    let span = checker
        .effective_key("quorum.device.net", "tie_breaker")
        .map(|item| item.value_span);
    checker.report(&QdeviceLmsNumericTieBreaker { nodeid: tie_breaker }, span);
}
