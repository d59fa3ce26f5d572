//! Rule Q002 `two-node-relies-on-fencing`: owns this check only.
//!
//! ## What it does
//! Warns about a two-node cluster with `two_node: 1` (and `wait_for_all`): when the network
//! between the nodes fails, both stay quorate by design.
//!
//! ## Why is this bad?
//! Both halves of a split are quorate at once: the split-brain `quorate check` proves (so
//! this is a warning, not a note; see issue 10 item 2), and it is only safe with fencing. With `two_node` the quorum is 1 while
//! at most two nodes are members, so after a split each node alone is quorate (spec TV12).
//! Pacemaker (or Proxmox HA) must fence the other node before taking over resources, or
//! both run them. `wait_for_all` only protects the boot. A quorum device (qnetd on a third
//! machine) gives a real tie-breaker instead.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
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
//! Adding a quorum device needs a qnetd host and changes cluster behaviour: a planner
//! target, not a text fix.
//!
//! ## References
//! votequorum(5) `two_node`; corosync-qdevice(8).

use crate::lint::{engine, Checker, Violation};

/// Two nodes with two_node: a split keeps both quorate.
struct TwoNodeReliesOnFencing;

impl Violation for TwoNodeReliesOnFencing {
    fn message(&self) -> String {
        "with `two_node` both nodes stay quorate when the network between them fails".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("this is safe only with working fencing; a quorum device on a third machine breaks the tie instead".to_string())
    }
}

/// Q002
pub(crate) fn two_node_relies_on_fencing(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if !quorum.two_node
        || !checker.wait_for_all_effective()
        || quorum.auto_tie_breaker
        || quorum.device.is_some()
        || quorum.nodes.len() != 2
    {
        return;
    }
    // The claim of the message, as the quorum engine computes it.
    if engine::split_facts(quorum).both_quorate.is_none() {
        return;
    }
    let span = checker.span_of("quorum", "two_node");
    checker.report(&TwoNodeReliesOnFencing, span);
}
