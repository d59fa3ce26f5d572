//! Rule Q018 `node-votes-single-point-of-failure`: owns this check only.
//!
//! ## What it does
//! Warns about a node whose failure alone leaves every other node inquorate because of how
//! the votes are distributed (some node has more votes than the others).
//!
//! ## Why is this bad?
//! Giving one node more `quorum_votes` is usually meant to let it win ties, but when the
//! other nodes together do not reach quorum without it, that node is a single point of
//! failure: if it crashes, or is cut off, or is rebooted for maintenance, the whole cluster
//! loses quorum although most machines still run. The quorum engine computes the answer
//! (votequorum's arithmetic, spec 1.3): with votes 3, 1, 1 the quorum is 3, and nodes 2 and
//! 3 have 2 votes without node 1. A quorum device, or equal votes with an odd node count,
//! survives any single failure.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         quorum_votes: 3
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
//! ## Fix safety
//! Changing votes changes quorum: unsafe, a planner target.
//!
//! ## References
//! votequorum(5) `quorum_votes`, `expected_votes`; spec sections 1.3 and 1.7.

use crate::lint::engine::describe_nodes;
use crate::lint::{Checker, Violation};
use crate::quorum::settings::NodeId;
use crate::quorum::ClusterState;
use crate::scenario;

/// A node whose failure alone leaves the others inquorate.
struct NodeVotesSinglePointOfFailure {
    nodeid: NodeId,
    votes: u32,
    total: u64,
    others: Vec<NodeId>,
}

impl Violation for NodeVotesSinglePointOfFailure {
    fn message(&self) -> String {
        let rest = self.total - u64::from(self.votes);
        let (unit, verb) = match (rest, self.others.len()) {
            (1, 1) => ("vote", "is"),
            (_, 1) => ("votes", "is"),
            (1, _) => ("vote", "are"),
            _ => ("votes", "are"),
        };
        format!(
            "node {} has {} of the {} votes: when it fails, {} ({rest} {unit}) {verb} not quorate",
            self.nodeid,
            self.votes,
            self.total,
            describe_nodes(&self.others)
        )
    }

    fn help(&self) -> Option<String> {
        Some("give every node one vote (odd node count), or add a quorum device, so that no single node carries quorum".to_string())
    }
}

/// Q018
pub(crate) fn node_votes_single_point_of_failure(checker: &mut Checker) {
    let quorum = &checker.quorum;
    let Some(first) = quorum.nodes.first() else {
        return;
    };
    // Equal votes: losing any one node is a matter of node count (Q010 and the size of the
    // cluster), not of one node's votes.
    if quorum.nodes.iter().all(|node| node.votes == first.votes) || quorum.device.is_some() {
        return;
    }
    let Ok(start) = ClusterState::new(quorum) else {
        return;
    };
    let total = checker.node_vote_sum();
    let mut findings = Vec::new();
    for node in &quorum.nodes {
        let Some(step) = scenario::parse(&format!("down {}", node.nodeid))
            .ok()
            .and_then(|script| script.steps.into_iter().next())
        else {
            continue;
        };
        let mut state = start.clone();
        state.apply(quorum, &step);
        let others: Vec<NodeId> = quorum
            .nodes
            .iter()
            .map(|other| other.nodeid)
            .filter(|nodeid| *nodeid != node.nodeid)
            .collect();
        let others_quorate = others
            .iter()
            .filter_map(|nodeid| state.position(*nodeid))
            .any(|pos| state.is_quorate(pos));
        // Only a node with more votes than some other node: the one the votes single out.
        let singled_out = quorum.nodes.iter().any(|other| other.votes < node.votes);
        if !others_quorate && singled_out && !others.is_empty() {
            findings.push(NodeVotesSinglePointOfFailure {
                nodeid: node.nodeid,
                votes: node.votes,
                total,
                others,
            });
        }
    }
    let sections = checker.nodes();
    for finding in findings {
        let span = sections
            .iter()
            .find(|section| section.value("nodeid") == Some(finding.nodeid.to_string().as_str()))
            .and_then(|section| section.key("quorum_votes").or_else(|| section.key("nodeid")))
            .map(|item| item.value_span);
        checker.report(&finding, span);
    }
}
