//! The other real timing of a ring change that both drops and adds members: the members that
//! lost peers notice it first (token timeout) and form a ring among themselves, and only
//! then merge with the newcomers.
//!
//! Owns `ClusterState::leave_first_rings`, which `settle` calls on the exploration branches
//! of `ClusterState::apply_with_orders` (never on `apply`'s default path, nor for the model
//! checker's successors): for every group of the new membership that comes from one old ring
//! and lost some of it, the branch chooses whether that group first forms its own ring.
//! Real corosync takes this path when totem's token timeout fires before knet reports the
//! new links up (seen on the lab, issue 9: 4 nodes, wait_for_all and auto_tie_breaker,
//! `move 1:2,3,4; move 0:4`: node 4 first forms the ring {4}, loses its QUORATE flag and
//! re-arms wait_for_all, so node 1 is not released from wait_for_all in {1,4}; in the other
//! runs node 4 joins {1,4} straight from {2,3,4} with its stale QUORATE flag, node 1's
//! wait_for_all is lifted (votequorum.c 3.1.7 lines 2178-2182) and the tie-breaker grants it
//! quorum, lines 1026-1032). It must not change any transition itself: it only runs the
//! existing ring change on a subset. A child module of `cluster` (it reads private fields).
//!
//! See: issue 9

use super::OrderBranch;
use crate::quorum::node_set::NodeSet;
use crate::quorum::ClusterState;

impl ClusterState {
    /// Before the ring change to `members`, each group of members that shared an old ring
    /// and lost some of it may form a ring of its own first, as `branch` chooses (one binary
    /// choice per such group, the direct path first).
    pub(super) fn leave_first_rings(&mut self, members: NodeSet, branch: &mut OrderBranch) {
        for group in self.leave_first_groups(members) {
            if branch.choose(2) == 1 {
                self.ring_change_branch(group, branch);
            }
        }
    }

    /// The groups of `members` (disjoint, in position order of their first member) that come
    /// from one old ring, lost part of it, and are not the whole new membership.
    fn leave_first_groups(&self, members: NodeSet) -> Vec<NodeSet> {
        let mut groups: Vec<NodeSet> = Vec::new();
        let mut covered = NodeSet::EMPTY;
        for pos in members {
            let old_ring = self.nodes[pos].votequorum.members;
            let group = old_ring & members;
            let lost_peers = old_ring != group;
            if group.contains(pos) && group != members && lost_peers && (group & covered).is_empty() {
                covered |= group;
                groups.push(group);
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use crate::quorum::{ClusterState, QuorumSettings, StepOutcome};
    use crate::scenario::parse;

    fn run(settings: &QuorumSettings, script: &str) -> (ClusterState, Vec<StepOutcome>) {
        let mut state = ClusterState::new(settings).unwrap();
        let outcomes = parse(script)
            .unwrap()
            .steps
            .iter()
            .map(|step| state.apply_with_orders(settings, step))
            .collect();
        (state, outcomes)
    }

    /// The case of issue 9, as measured on the lab (corosync 3.1.7, 4 runs: 3 split-brains,
    /// 1 with node 1 inquorate after node 4 formed the ring {4} first). The default answer
    /// stays the direct ring change (the split-brain is real), node 1 is flagged, and the
    /// leave-first path can also keep only {2,3} quorate.
    #[test]
    fn issue9_atb_wfa_4_nodes_move_1_then_move_0_4() {
        let settings = QuorumSettings {
            wait_for_all: Some(true),
            auto_tie_breaker: true,
            ..QuorumSettings::plain(4)
        };
        let (state, outcomes) = run(&settings, "move 1:2,3,4; move 0:4");
        let quorate: Vec<bool> = (0..4).map(|pos| state.is_quorate(pos)).collect();
        assert_eq!(quorate, [true, true, true, false], "direct ring change (default)");
        assert!(outcomes[1].split_brain, "the direct path is a real split-brain");
        assert!(outcomes[0].order_dependent.is_empty());
        assert_eq!(outcomes[1].order_dependent, [1]);
        let possible = &outcomes[1].possible_quorate;
        assert_eq!(
            possible[0],
            (true, true),
            "node 1: quorate directly, inquorate leave-first"
        );
        assert_eq!(possible[3], (true, false), "node 4: inquorate either way");
        assert_eq!(possible[1], (false, true));
    }

    /// A plain cluster: the leave-first timing never changes who is quorate.
    #[test]
    fn issue9_leave_first_changes_nothing_without_wfa_or_atb() {
        let settings = QuorumSettings::plain(5);
        let (_, outcomes) = run(&settings, "move 1:3,4,5; move 0:3; move 2:1,2; heal");
        assert!(outcomes.iter().all(|outcome| outcome.order_dependent.is_empty()));
    }
}
