//! What a model checker needs from `ClusterState` beyond the scenario driver: cheap queries
//! (partitions, link faults, the next timer, wait_for_all armed) and the symmetry image.
//!
//! Owns `ClusterState::permuted` (the same cluster with node states moved between positions,
//! every per-node field moved consistently) and `ClusterState::symmetry_representative`
//! (a canonical member of a state's class under permutations of interchangeable nodes,
//! partition relabelling and time shift). It must not change any transition: everything
//! here is a read or builds a new value, and deciding which nodes are interchangeable is
//! the caller's job (same votes and links, not named by auto_tie_breaker).
//! A child module of `cluster` (it reads the private fields), kept in its own file.

use crate::quorum::membership::LinkFaults;
use crate::quorum::node::{AtbMode, PeerState};
use crate::quorum::node_set::{LinkMask, NodeSet};
use crate::quorum::settings::NodeId;
use crate::quorum::ClusterState;
use std::hash::{Hash, Hasher};

impl ClusterState {
    /// Partition label per position (meaningful for running nodes only).
    pub fn partitions(&self) -> &[u8] {
        &self.group
    }

    /// The link faults in force.
    pub fn link_faults(&self) -> &LinkFaults {
        &self.faults
    }

    /// The earliest pending timer (an armed LMS window) of a running node, in model ms.
    pub fn next_timer_ms(&self) -> Option<u64> {
        self.nodes
            .iter()
            .filter(|slot| slot.running)
            .filter_map(|slot| slot.votequorum.lms_deadline)
            .min()
    }

    /// Whether the node at `pos` runs with wait_for_all armed (waiting to see all votes).
    pub fn wait_for_all_armed(&self, pos: usize) -> bool {
        self.nodes
            .get(pos)
            .is_some_and(|slot| slot.running && slot.votequorum.wait_for_all && slot.votequorum.wfa_status)
    }

    /// The same cluster with the state of the node at position `p` moved to position
    /// `perm[p]` (node ids stay with their positions). Every per-node field moves: the slot,
    /// the partition label, link faults, and inside each votequorum state its own position,
    /// peer table, member sets and remembered node ids. `lowest_node_id`/`highest_node_id`
    /// are cleared on nodes that never read them (auto_tie_breaker off, or a tie-breaker list
    /// without last_man_standing).
    /// `None` when `perm` is not a permutation of the positions.
    ///
    /// Sound as a symmetry only when the permuted nodes have the same configuration and are
    /// not named by auto_tie_breaker; the caller decides that.
    pub fn permuted(&self, perm: &[usize]) -> Option<ClusterState> {
        let count = self.nodeids.len();
        // qnetd's tie-breakers and client order read node ids: no symmetry there.
        if perm.len() != count || self.qnetd.is_some() {
            return None;
        }
        let mut seen = NodeSet::EMPTY;
        for target in perm {
            if *target >= count || !seen.insert(*target) {
                return None;
            }
        }
        let map_set = |set: NodeSet| set.mapped(perm);
        let map_id = |nodeid: NodeId| {
            self.position(nodeid)
                .map_or(nodeid, |pos| self.nodeids[perm[pos]])
        };
        // Each slot is cloned once, straight into its new position.
        let mut inverse = vec![0usize; count];
        for (pos, target) in perm.iter().enumerate() {
            inverse[*target] = pos;
        }
        let mut image = ClusterState {
            nodeids: self.nodeids.clone(),
            nodes: Vec::with_capacity(count),
            group: vec![0; count],
            faults: LinkFaults {
                links_down: self.faults.links_down,
                node_links_down: vec![LinkMask::EMPTY; count],
                pair_links_down: Vec::new(),
            },
            now_ms: self.now_ms,
            qnetd: None,
        };
        for pos in inverse {
            let slot = &self.nodes[pos];
            let mut moved = slot.clone();
            if moved.running {
                let votequorum = &mut moved.votequorum;
                votequorum.me = perm[votequorum.me];
                for (peer_pos, peer) in slot.votequorum.peers.iter().enumerate() {
                    votequorum.peers[perm[peer_pos]] = *peer;
                }
                votequorum.members = map_set(votequorum.members);
                votequorum.previous_members = map_set(votequorum.previous_members);
                // The remembered ids are read only by the lowest/highest tie-breakers and by
                // LMS with any tie-breaker (`low_node_id_present`); elsewhere they are the
                // min/max of the members' ids, which a permutation does not preserve.
                let lms = votequorum.lms;
                let reads_ids = |mode: &AtbMode| {
                    matches!(mode, AtbMode::Lowest | AtbMode::Highest) || (lms && *mode != AtbMode::Off)
                };
                if !reads_ids(&votequorum.atb) && !reads_ids(&votequorum.atb_initial) {
                    votequorum.lowest_node_id = None;
                    votequorum.highest_node_id = None;
                } else {
                    votequorum.lowest_node_id = votequorum.lowest_node_id.map(map_id);
                    votequorum.highest_node_id = votequorum.highest_node_id.map(map_id);
                }
                for mode in [&mut votequorum.atb, &mut votequorum.atb_initial] {
                    if let AtbMode::List(list) = mode {
                        list.iter_mut().for_each(|nodeid| *nodeid = map_id(*nodeid));
                    }
                }
            }
            image.nodes.push(moved);
            image.group[perm[pos]] = self.group[pos];
            image.faults.node_links_down[perm[pos]] = self.faults.node_links_down[pos];
        }
        image.faults.pair_links_down = self
            .faults
            .pair_links_down
            .iter()
            .map(|(link, a, b)| {
                let (a, b) = (perm[usize::from(*a)] as u8, perm[usize::from(*b)] as u8);
                (*link, a.min(b), a.max(b))
            })
            .collect();
        image.faults.pair_links_down.sort_unstable();
        Some(image)
    }

    /// A canonical member of this state's class: within each class of interchangeable
    /// positions (`classes`, disjoint, each ascending) nodes are sorted by a
    /// position-independent signature, partition labels of running nodes are renumbered in
    /// order of first appearance (stopped nodes get 0: every start names its partition),
    /// and time is shifted so that `now` is 0 (only deadlines relative to now matter).
    /// Equal signatures keep their order, so two equivalent states may still get different
    /// representatives (less reduction, never unsound). Positions outside every class stay.
    pub fn symmetry_representative(&self, classes: &[Vec<usize>]) -> ClusterState {
        let count = self.nodeids.len();
        let signatures: Vec<u64> = if classes.is_empty() {
            Vec::new()
        } else {
            (0..count).map(|pos| self.signature(pos)).collect()
        };
        let mut perm: Vec<usize> = (0..count).collect();
        for class in classes {
            if class.iter().any(|pos| *pos >= count) {
                continue;
            }
            let mut sorted = class.clone();
            sorted.sort_by_key(|pos| (signatures[*pos], *pos));
            let mut targets = class.clone();
            targets.sort_unstable();
            for (source, target) in sorted.iter().zip(targets) {
                perm[*source] = target;
            }
        }
        let mut image = self.permuted(&perm).unwrap_or_else(|| self.clone());
        image.relabel_and_shift();
        image
    }

    /// Renumbers partition labels of running nodes in order of first appearance (stopped
    /// nodes get 0) and shifts time so that `now` is 0: what `symmetry_representative` does
    /// after moving nodes.
    pub(super) fn relabel_and_shift(&mut self) {
        let mut labels: Vec<u8> = Vec::new();
        for pos in 0..self.nodes.len() {
            if !self.nodes[pos].running {
                self.group[pos] = 0;
                continue;
            }
            let label = self.group[pos];
            let index = match labels.iter().position(|known| *known == label) {
                Some(index) => index,
                None => {
                    labels.push(label);
                    labels.len() - 1
                }
            };
            self.group[pos] = index as u8;
        }
        let now = self.now_ms;
        for slot in self.nodes.iter_mut() {
            if let Some(deadline) = slot.votequorum.lms_deadline.as_mut() {
                *deadline = deadline.saturating_sub(now);
            }
        }
        self.now_ms = 0;
    }

    /// A hash of what the node at `pos` is, independent of positions and labels.
    fn signature(&self, pos: usize) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let slot = &self.nodes[pos];
        slot.running.hash(&mut hasher);
        slot.disk_ev_barrier.hash(&mut hasher);
        self.faults.node_links_down[pos].hash(&mut hasher);
        let pair_degree = self
            .faults
            .pair_links_down
            .iter()
            .filter(|(_, a, b)| usize::from(*a) == pos || usize::from(*b) == pos)
            .count();
        pair_degree.hash(&mut hasher);
        if slot.running {
            let same_partition = (0..self.nodes.len())
                .filter(|other| self.nodes[*other].running && self.group[*other] == self.group[pos])
                .count();
            same_partition.hash(&mut hasher);
            let votequorum = &slot.votequorum;
            let own = votequorum.peers[votequorum.me];
            (own.state as u8, own.votes, own.expected_votes, own.flags).hash(&mut hasher);
            // The peer table as a multiset: order-independent sum of element hashes.
            let peers_sum = votequorum
                .peers
                .iter()
                .filter(|peer| peer.state != PeerState::Unknown)
                .map(|peer| {
                    let mut peer_hasher = std::collections::hash_map::DefaultHasher::new();
                    (peer.state as u8, peer.votes, peer.expected_votes, peer.flags).hash(&mut peer_hasher);
                    peer_hasher.finish()
                })
                .fold(0u64, u64::wrapping_add);
            peers_sum.hash(&mut hasher);
            (
                votequorum.quorum,
                votequorum.quorate,
                votequorum.two_node,
                votequorum.wait_for_all,
                votequorum.wfa_autoset,
                votequorum.wfa_status,
                votequorum.lms,
                votequorum
                    .lms_deadline
                    .map(|deadline| deadline.saturating_sub(self.now_ms)),
            )
                .hash(&mut hasher);
            (
                votequorum.members.len() as u32,
                votequorum.previous_members.len() as u32,
                (votequorum.members & votequorum.previous_members).len() as u32,
                votequorum.qdevice_votes,
                votequorum.allow_downscale,
                votequorum.ev_tracking,
                votequorum.ev_barrier,
                votequorum.ev_tracking_barrier,
            )
                .hash(&mut hasher);
        }
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::quorum::{ClusterState, QuorumSettings};
    use crate::scenario;

    fn after(settings: &QuorumSettings, script: &str) -> ClusterState {
        let mut state = ClusterState::new(settings).unwrap();
        for step in scenario::parse(script).unwrap().steps {
            state.apply(settings, &step);
        }
        state
    }

    #[test]
    fn permuted_rejects_what_is_not_a_permutation() {
        let state = after(&QuorumSettings::plain(3), "");
        assert!(state.permuted(&[0, 1]).is_none());
        assert!(state.permuted(&[0, 0, 1]).is_none());
        assert!(state.permuted(&[0, 1, 3]).is_none());
        assert!(state.permuted(&[2, 0, 1]).is_some());
    }

    #[test]
    fn swapping_twice_gives_back_the_state() {
        let settings = QuorumSettings::plain(3);
        let state = after(&settings, "move 1:1; link down 0 between 2 3; down 3");
        let once = state.permuted(&[1, 0, 2]).unwrap();
        assert_ne!(once, state.permuted(&[0, 1, 2]).unwrap());
        assert_eq!(
            once.permuted(&[1, 0, 2]).unwrap(),
            state.permuted(&[0, 1, 2]).unwrap()
        );
        assert_eq!(once.partitions(), &[0, 1, 0]);
        assert_eq!(once.link_faults().pair_links_down, vec![(0, 0, 2)]);
    }

    #[test]
    fn representative_merges_mirror_images_and_relabels_partitions() {
        let settings = QuorumSettings::plain(3);
        let classes = [vec![0, 1, 2]];
        let left = after(&settings, "move 1:1");
        let right = after(&settings, "move 5:3");
        assert_ne!(left, right);
        assert_eq!(
            left.symmetry_representative(&classes),
            right.symmetry_representative(&classes)
        );
        // Without classes only labels (and time) are canonical: 1|23 and 3|12 stay apart.
        assert_ne!(
            left.symmetry_representative(&[]),
            right.symmetry_representative(&[])
        );
        let relabelled = after(&settings, "move 7:1");
        assert_eq!(
            left.symmetry_representative(&[]),
            relabelled.symmetry_representative(&[])
        );
    }

    #[test]
    fn representative_shifts_time_and_reports_the_next_timer() {
        let mut settings = QuorumSettings::plain(3);
        settings.last_man_standing = true;
        settings.last_man_standing_window_ms = 1000;
        let early = after(&settings, "move 1:3");
        assert_eq!(early.next_timer_ms(), Some(1000));
        let late = after(&settings, "wait 500; move 1:3");
        assert_eq!(late.next_timer_ms(), Some(1500));
        assert_eq!(
            early.symmetry_representative(&[]),
            late.symmetry_representative(&[])
        );
        assert!(!early.wait_for_all_armed(0));
    }
}
