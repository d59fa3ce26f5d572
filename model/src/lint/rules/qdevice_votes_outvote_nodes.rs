//! Rule D005 `qdevice-votes-outvote-nodes`: owns this check only.
//!
//! ## What it does
//! Flags a quorum device whose votes are at least the votes of all nodes together.
//!
//! ## Why is this bad?
//! Then the device outweighs the whole nodelist: any single node holding the device's vote
//! is quorate, and every other node together is not, whatever the algorithm. corosync
//! accepts it (it refuses only `expected_votes - device votes < 2`), and qnetd's choice, not
//! the nodes, decides where the cluster runs. lms is meant for node count − 1 votes
//! (votequorum's default), ffsplit for 1.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     device {
//!         model: net
//!         votes: 3
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
//!         net {
//!             host: qnetd.example.com
//!             algorithm: lms
//!         }
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Changing the device votes changes quorum: unsafe.
//!
//! ## References
//! votequorum(5) `device`, `votes`; corosync-qdevice(8); spec section 2.8.

use crate::lint::engine::{self, describe_nodes};
use crate::lint::{Checker, Violation};
use crate::quorum::NodeId;

/// Device votes at least the nodes' sum.
struct QdeviceVotesOutvoteNodes {
    device_votes: u64,
    node_votes: u64,
    lone: NodeId,
    rest: Vec<NodeId>,
}

impl Violation for QdeviceVotesOutvoteNodes {
    fn message(&self) -> String {
        format!(
            "quorum device has {} votes, {} the {} of all nodes together: node {} with the device's vote \
             stays quorate alone while {} together are not",
            self.device_votes,
            if self.device_votes == self.node_votes {
                "as many as"
            } else {
                "more than"
            },
            self.node_votes,
            self.lone,
            describe_nodes(&self.rest)
        )
    }

    fn help(&self) -> Option<String> {
        Some(
            "give the device fewer votes than the nodes together (lms: leave `votes` unset; ffsplit: `votes: 1`)"
                .to_string(),
        )
    }
}

/// D005
pub(crate) fn qdevice_votes_outvote_nodes(checker: &mut Checker) {
    let Some(device) = &checker.quorum.device else {
        return;
    };
    if device.votes.is_none() {
        return;
    }
    let device_votes = checker.device_votes();
    let node_votes: u64 = checker
        .quorum
        .nodes
        .iter()
        .map(|node| u64::from(node.votes))
        .sum();
    if device_votes < node_votes || node_votes == 0 {
        return;
    }
    let Some((lone, true, rest, false)) = engine::lone_node_with_device_vote(&checker.quorum) else {
        return;
    };
    let span = checker
        .effective_key("quorum.device", "votes")
        .map(|item| item.value_span);
    checker.report(
        &QdeviceVotesOutvoteNodes {
            device_votes,
            node_votes,
            lone,
            rest,
        },
        span,
    );
}
