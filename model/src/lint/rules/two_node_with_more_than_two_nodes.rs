//! Rule Q003 `two-node-with-more-than-two-nodes`: owns this check only.
//!
//! ## What it does
//! Flags `two_node: 1` in a cluster whose nodelist has more than two nodes.
//!
//! ## Why is this bad?
//! votequorum does not switch `two_node` off for bigger clusters: it forces quorum to 1
//! whenever a partition has at most two members. With three nodes split {1,2}|{3}, or four
//! nodes split 2|2, every partition is quorate: split-brain (spec TV15, TV16). corosync
//! accepts the file without a word. It is typically left over after growing a two-node
//! cluster.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//!     node {
//!         nodeid: 3
//!         ring0_addr: 10.0.0.3
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
//! Removing `two_node` raises the quorum of running partitions: unsafe (a planner target).
//!
//! ## References
//! votequorum(5) `two_node`; spec section 2.1.

use crate::lint::engine::{self, count_nodes, describe_nodes, SplitFacts};
use crate::lint::{Checker, Violation};

/// two_node with more than two nodes, and what the quorum engine computes for splits.
struct TwoNodeWithMoreThanTwoNodes {
    nodes: usize,
    splits: SplitFacts,
}

impl Violation for TwoNodeWithMoreThanTwoNodes {
    fn message(&self) -> String {
        let mut message = format!("`two_node` is set but the nodelist has {} nodes", self.nodes);
        if let Some(smallest) = &self.splits.smallest_quorate {
            let few = if self.splits.exhaustive { "as few as " } else { "" };
            message.push_str(&format!(
                ", so a partition of {few}{} stays quorate ({})",
                count_nodes(smallest.len()),
                describe_nodes(smallest)
            ));
        }
        if let Some((side, rest)) = &self.splits.both_quorate {
            message.push_str(&format!(
                " and a split into {} | {} leaves both sides quorate",
                describe_nodes(side),
                describe_nodes(rest)
            ));
        }
        message
    }

    fn help(&self) -> Option<String> {
        Some("remove `two_node`: it is only for clusters of exactly two nodes".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `two_node`".to_string())
    }
}

/// Q003
pub(crate) fn two_node_with_more_than_two_nodes(checker: &mut Checker) {
    let quorum = &checker.quorum;
    if !quorum.two_node || quorum.auto_tie_breaker || quorum.device.is_some() || quorum.nodes.len() <= 2 {
        return;
    }
    let violation = TwoNodeWithMoreThanTwoNodes {
        nodes: quorum.nodes.len(),
        splits: engine::split_facts(quorum),
    };
    let span = checker.span_of("quorum", "two_node");
    checker.report(&violation, span);
}
