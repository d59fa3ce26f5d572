//! Totem memberships from links (spec 3.2 and 3.3).
//!
//! Owns the "who can talk to whom" rule and its reduction to memberships: a membership is
//! a connected group in which every pair can talk (a clique). When the connectivity graph is
//! not a disjoint union of cliques, the affected group is reported as `Unstable` with its
//! maximal cliques as candidates; nothing is predicted for it. Pure bit arithmetic on
//! `NodeSet` masks (hot path of the exhaustive analysis); no allocation beyond the result.

use super::node::{bit, positions, NodeSet};

/// Link faults, by universe position. All empty means every configured link is up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkFaults {
    /// Links down as a whole (bit `L` = link `L`).
    pub links_down: u8,
    /// Per node position: links down at that node (its interface or cable).
    pub node_links_down: Vec<u8>,
    /// `(link, a, b)` with `a < b` positions: link down between two nodes only. Sorted.
    pub pair_links_down: Vec<(u8, u8, u8)>,
}

impl LinkFaults {
    /// Whether no fault at all is recorded.
    pub fn is_clear(&self) -> bool {
        self.links_down == 0
            && self.node_links_down.iter().all(|mask| *mask == 0)
            && self.pair_links_down.is_empty()
    }
}

/// Inputs of one membership computation, all indexed by universe position.
#[derive(Clone, Copy, Debug)]
pub struct Connectivity<'a> {
    /// Per node: configured links (bit `L` = the node has `ringL_addr`). For udp/udpu pass
    /// only bit 0. A node with no link never talks to anyone.
    pub links: &'a [u8],
    /// Running nodes.
    pub up: NodeSet,
    /// Per node: partition group (nodes in different groups cannot talk).
    pub group: &'a [u8],
    /// Link faults.
    pub faults: &'a LinkFaults,
}

/// A group of running nodes whose connectivity is not a clique: totem flaps there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnstableGroup {
    /// Every node of the connected group.
    pub nodes: NodeSet,
    /// The maximal cliques: the memberships totem may settle on, one at a time.
    pub candidates: Vec<NodeSet>,
}

/// The memberships of all running nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Memberships {
    /// Stable memberships (cliques), ascending by lowest position; singletons included.
    pub stable: Vec<NodeSet>,
    /// Groups with partial connectivity.
    pub unstable: Vec<UnstableGroup>,
}

impl Memberships {
    /// Whether every running node is in a stable membership.
    pub fn is_stable(&self) -> bool {
        self.unstable.is_empty()
    }
}

/// Per node: the set of nodes it can talk to (itself excluded).
pub fn adjacency(connectivity: &Connectivity<'_>) -> Vec<NodeSet> {
    let count = connectivity.links.len();
    let faults = connectivity.faults;
    let usable = |pos: usize| -> u8 {
        if connectivity.up & bit(pos) == 0 {
            return 0;
        }
        let node_down = faults.node_links_down.get(pos).copied().unwrap_or(0);
        connectivity.links[pos] & !faults.links_down & !node_down
    };
    let usable_links: Vec<u8> = (0..count).map(usable).collect();
    let mut adjacent = vec![0 as NodeSet; count];
    for a in 0..count {
        if usable_links[a] == 0 {
            continue;
        }
        for b in (a + 1)..count {
            if connectivity.group.get(a) != connectivity.group.get(b) {
                continue;
            }
            let mut common = usable_links[a] & usable_links[b];
            if common == 0 {
                continue;
            }
            for (link, x, y) in &faults.pair_links_down {
                if usize::from(*x) == a && usize::from(*y) == b && *link < 8 {
                    common &= !(1u8 << link);
                }
            }
            if common != 0 {
                adjacent[a] |= bit(b);
                adjacent[b] |= bit(a);
            }
        }
    }
    adjacent
}

/// The memberships that `connectivity` gives (spec 3.3).
pub fn memberships(connectivity: &Connectivity<'_>) -> Memberships {
    let adjacent = adjacency(connectivity);
    let mut result = Memberships::default();
    let mut seen: NodeSet = 0;
    for start in positions(connectivity.up) {
        if start >= adjacent.len() || seen & bit(start) != 0 {
            continue;
        }
        let mut component = bit(start);
        let mut frontier = bit(start);
        while frontier != 0 {
            let mut next = 0;
            for pos in positions(frontier) {
                next |= adjacent[pos];
            }
            frontier = next & !component;
            component |= next;
        }
        seen |= component;
        let is_clique = positions(component).all(|pos| (adjacent[pos] | bit(pos)) & component == component);
        if is_clique {
            result.stable.push(component);
        } else {
            let mut candidates = Vec::new();
            bron_kerbosch(&adjacent, 0, component, 0, &mut candidates);
            candidates.sort_unstable();
            result.unstable.push(UnstableGroup {
                nodes: component,
                candidates,
            });
        }
    }
    result
}

/// Bron–Kerbosch with pivoting over bit masks: pushes every maximal clique.
fn bron_kerbosch(
    adjacent: &[NodeSet],
    clique: NodeSet,
    candidates: NodeSet,
    excluded: NodeSet,
    out: &mut Vec<NodeSet>,
) {
    if candidates == 0 && excluded == 0 {
        out.push(clique);
        return;
    }
    let pivot_pool = candidates | excluded;
    let pivot = positions(pivot_pool).max_by_key(|pos| (adjacent[*pos] & candidates).count_ones());
    let pivot_neighbours = pivot.map(|pos| adjacent[pos]).unwrap_or(0);
    let mut candidates = candidates;
    let mut excluded = excluded;
    for pos in positions(candidates & !pivot_neighbours) {
        bron_kerbosch(
            adjacent,
            clique | bit(pos),
            candidates & adjacent[pos],
            excluded & adjacent[pos],
            out,
        );
        candidates &= !bit(pos);
        excluded |= bit(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(links: &[u8], group: &[u8], faults: &LinkFaults) -> Memberships {
        let up = (0..links.len()).fold(0, |set, pos| set | bit(pos));
        memberships(&Connectivity {
            links,
            up,
            group,
            faults,
        })
    }

    #[test]
    fn one_group_is_one_membership() {
        let result = run(&[1, 1, 1], &[0, 0, 0], &LinkFaults::default());
        assert_eq!(result.stable, vec![0b111]);
        assert!(result.is_stable());
    }

    #[test]
    fn partitions_give_one_membership_each() {
        let result = run(&[1, 1, 1], &[0, 0, 1], &LinkFaults::default());
        assert_eq!(result.stable, vec![0b011, 0b100]);
    }

    #[test]
    fn a_second_link_keeps_the_ring() {
        let faults = LinkFaults {
            links_down: 1,
            ..LinkFaults::default()
        };
        assert_eq!(run(&[3, 3, 3], &[0, 0, 0], &faults).stable, vec![0b111]);
        assert_eq!(
            run(&[1, 1, 1], &[0, 0, 0], &faults).stable,
            vec![0b001, 0b010, 0b100]
        );
    }

    #[test]
    fn partial_mesh_is_unstable_with_maximal_cliques() {
        let faults = LinkFaults {
            pair_links_down: vec![(0, 0, 2)],
            ..LinkFaults::default()
        };
        let result = run(&[1, 1, 1], &[0, 0, 0], &faults);
        assert!(result.stable.is_empty());
        assert_eq!(result.unstable.len(), 1);
        assert_eq!(result.unstable[0].nodes, 0b111);
        assert_eq!(result.unstable[0].candidates, vec![0b011, 0b110]);
    }

    #[test]
    fn node_link_fault_isolates_only_that_node() {
        let faults = LinkFaults {
            node_links_down: vec![0, 0, 1],
            ..LinkFaults::default()
        };
        assert_eq!(run(&[1, 1, 1], &[0, 0, 0], &faults).stable, vec![0b011, 0b100]);
    }
}
