//! Totem memberships from links (spec 3.2 and 3.3).
//!
//! Owns the "who can talk to whom" rule and its reduction to memberships: a membership is
//! a connected group in which every pair can talk (a clique). When the connectivity graph is
//! not a disjoint union of cliques, the affected group is reported as `Unstable` with its
//! maximal cliques as candidates; nothing is predicted for it. Pure bit arithmetic on
//! `NodeSet` masks (hot path of the exhaustive analysis); no allocation beyond the result.

use super::node_set::{LinkMask, NodeSet};

/// Link faults, by universe position. All empty means every configured link is up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkFaults {
    /// Links down as a whole.
    pub links_down: LinkMask,
    /// Per node position: links down at that node (its interface or cable).
    pub node_links_down: Vec<LinkMask>,
    /// `(link, a, b)` with `a < b` positions: link down between two nodes only. Sorted.
    pub pair_links_down: Vec<(u8, u8, u8)>,
}

impl LinkFaults {
    /// Whether no fault at all is recorded.
    pub fn is_clear(&self) -> bool {
        self.links_down.is_empty()
            && self.node_links_down.iter().all(|mask| mask.is_empty())
            && self.pair_links_down.is_empty()
    }
}

/// Inputs of one membership computation, all indexed by universe position.
#[derive(Clone, Copy, Debug)]
pub struct Connectivity<'a> {
    /// Per node: configured links (link `L` = the node has `ringL_addr`). For udp/udpu pass
    /// only link 0 (see `QuorumSettings::link_mask`). A node with no link never talks to anyone.
    pub links: &'a [LinkMask],
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
    let usable = |pos: usize| -> LinkMask {
        if !connectivity.up.contains(pos) {
            return LinkMask::EMPTY;
        }
        let node_down = faults.node_links_down.get(pos).copied().unwrap_or_default();
        connectivity.links[pos] - faults.links_down - node_down
    };
    let usable_links: Vec<LinkMask> = (0..count).map(usable).collect();
    let mut adjacent = vec![NodeSet::EMPTY; count];
    for a in 0..count {
        if usable_links[a].is_empty() {
            continue;
        }
        for b in (a + 1)..count {
            if connectivity.group.get(a) != connectivity.group.get(b) {
                continue;
            }
            let mut common = usable_links[a] & usable_links[b];
            if common.is_empty() {
                continue;
            }
            for (link, x, y) in &faults.pair_links_down {
                if usize::from(*x) == a && usize::from(*y) == b {
                    common.remove(*link);
                }
            }
            if !common.is_empty() {
                adjacent[a].insert(b);
                adjacent[b].insert(a);
            }
        }
    }
    adjacent
}

/// The memberships that `connectivity` gives (spec 3.3).
pub fn memberships(connectivity: &Connectivity<'_>) -> Memberships {
    let adjacent = adjacency(connectivity);
    let mut result = Memberships::default();
    let mut seen = NodeSet::EMPTY;
    for start in connectivity.up {
        if start >= adjacent.len() || seen.contains(start) {
            continue;
        }
        let mut component = NodeSet::single(start);
        let mut frontier = component;
        while !frontier.is_empty() {
            let mut next = NodeSet::EMPTY;
            for pos in frontier {
                next |= adjacent[pos];
            }
            frontier = next - component;
            component |= next;
        }
        seen |= component;
        let is_clique = component
            .iter()
            .all(|pos| component.is_subset(adjacent[pos] | NodeSet::single(pos)));
        if is_clique {
            result.stable.push(component);
        } else {
            let mut candidates = Vec::new();
            bron_kerbosch(
                &adjacent,
                NodeSet::EMPTY,
                component,
                NodeSet::EMPTY,
                &mut candidates,
            );
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
    if candidates.is_empty() && excluded.is_empty() {
        out.push(clique);
        return;
    }
    let pivot_pool = candidates | excluded;
    let pivot = pivot_pool
        .iter()
        .max_by_key(|pos| (adjacent[*pos] & candidates).len());
    let pivot_neighbours = pivot.map(|pos| adjacent[pos]).unwrap_or_default();
    let mut candidates = candidates;
    let mut excluded = excluded;
    for pos in candidates - pivot_neighbours {
        bron_kerbosch(
            adjacent,
            clique | NodeSet::single(pos),
            candidates & adjacent[pos],
            excluded & adjacent[pos],
            out,
        );
        candidates.remove(pos);
        excluded.insert(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(links: &[u8], group: &[u8], faults: &LinkFaults) -> Memberships {
        let links: Vec<LinkMask> = links.iter().map(|bits| LinkMask::from_bits(*bits)).collect();
        memberships(&Connectivity {
            links: &links,
            up: NodeSet::first(links.len()),
            group,
            faults,
        })
    }

    #[test]
    fn one_group_is_one_membership() {
        let result = run(&[1, 1, 1], &[0, 0, 0], &LinkFaults::default());
        assert_eq!(result.stable, vec![NodeSet::from_bits(0b111)]);
        assert!(result.is_stable());
    }

    #[test]
    fn partitions_give_one_membership_each() {
        let result = run(&[1, 1, 1], &[0, 0, 1], &LinkFaults::default());
        assert_eq!(
            result.stable,
            vec![NodeSet::from_bits(0b011), NodeSet::from_bits(0b100)]
        );
    }

    #[test]
    fn a_second_link_keeps_the_ring() {
        let faults = LinkFaults {
            links_down: LinkMask::single(0),
            ..LinkFaults::default()
        };
        assert_eq!(
            run(&[3, 3, 3], &[0, 0, 0], &faults).stable,
            vec![NodeSet::from_bits(0b111)]
        );
        assert_eq!(
            run(&[1, 1, 1], &[0, 0, 0], &faults).stable,
            vec![
                NodeSet::from_bits(0b001),
                NodeSet::from_bits(0b010),
                NodeSet::from_bits(0b100)
            ]
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
        assert_eq!(result.unstable[0].nodes, NodeSet::from_bits(0b111));
        assert_eq!(
            result.unstable[0].candidates,
            vec![NodeSet::from_bits(0b011), NodeSet::from_bits(0b110)]
        );
    }

    #[test]
    fn node_link_fault_isolates_only_that_node() {
        let faults = LinkFaults {
            node_links_down: vec![LinkMask::EMPTY, LinkMask::EMPTY, LinkMask::single(0)],
            ..LinkFaults::default()
        };
        assert_eq!(
            run(&[1, 1, 1], &[0, 0, 0], &faults).stable,
            vec![NodeSet::from_bits(0b011), NodeSet::from_bits(0b100)]
        );
    }
}
