//! Who should see whom: the lab's connectivity and the membership to wait for.
//!
//! Owns `parse_partition` (the `"1,2|3"` syntax of `lab partition`) and `expected_members`:
//! from which nodes run, which links each node has up and which partition groups are in
//! force, the membership each running node should converge to. Two nodes can talk when they
//! are in the same group and share a link that is up at both ends (spec section 3.2). When
//! the connectivity is not a disjoint union of cliques, corosync's outcome is not defined
//! (spec section 3.3) and there is no expectation. It must not do IO.

use std::collections::{BTreeMap, BTreeSet};

/// What the topology needs to know about one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The corosync node id.
    pub nodeid: u32,
    /// Whether corosync runs on the node.
    pub running: bool,
    /// The links the node has, and is configured on.
    pub links: BTreeSet<u8>,
    /// The links the lab has cut for this node.
    pub links_down: BTreeSet<u8>,
    /// The node's partition group (nodes in different groups cannot talk); `None` when no
    /// partition is in force.
    pub group: Option<usize>,
}

impl NodeView {
    fn links_up(&self) -> impl Iterator<Item = &u8> {
        self.links.difference(&self.links_down)
    }
}

/// Whether `a` and `b` can exchange totem traffic.
fn connected(a: &NodeView, b: &NodeView) -> bool {
    a.group == b.group && a.links_up().any(|link| b.links_up().any(|other| other == link))
}

/// The membership (node ids) each running node should converge to, keyed by node id.
/// Returns `None` when the running nodes' connectivity is not a union of cliques: then
/// corosync's memberships are not predictable and only stability can be awaited.
pub fn expected_members(nodes: &[NodeView]) -> Option<BTreeMap<u32, BTreeSet<u32>>> {
    let running: Vec<&NodeView> = nodes.iter().filter(|node| node.running).collect();
    let mut expected = BTreeMap::new();
    for node in &running {
        let reach: BTreeSet<u32> = running
            .iter()
            .filter(|other| other.nodeid == node.nodeid || connected(node, other))
            .map(|other| other.nodeid)
            .collect();
        expected.insert(node.nodeid, reach);
    }
    // A union of cliques: everyone a node reaches reaches exactly the same set.
    let cliques = expected
        .values()
        .all(|reach| reach.iter().all(|member| expected.get(member) == Some(reach)));
    cliques.then_some(expected)
}

/// Parses a partition such as `1,2|3` or `n1,n2|n3` into groups of node names. Each token
/// is a node name or a node id; `nodes` lists (name, nodeid) of every lab node. Every node
/// must be in exactly one group.
pub fn parse_partition(spec: &str, nodes: &[(String, u32)]) -> Result<Vec<Vec<String>>, String> {
    let mut groups = Vec::new();
    let mut placed = BTreeSet::new();
    for group_text in spec.split('|') {
        let mut group = Vec::new();
        for token in group_text.split(',').map(str::trim) {
            if token.is_empty() {
                return Err(format!("partition `{spec}`: empty node name (use e.g. `1,2|3`)"));
            }
            let name = nodes
                .iter()
                .find(|(name, _)| name == token)
                .or_else(|| {
                    nodes
                        .iter()
                        .find(|(_, id)| token.parse::<u32>().ok() == Some(*id))
                })
                .map(|(name, _)| name.clone())
                .ok_or_else(|| format!("partition `{spec}`: no node `{token}` in the lab"))?;
            if !placed.insert(name.clone()) {
                return Err(format!("partition `{spec}`: node `{name}` is in two groups"));
            }
            group.push(name);
        }
        groups.push(group);
    }
    let missing: Vec<&str> = nodes
        .iter()
        .filter(|(name, _)| !placed.contains(name))
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "partition `{spec}`: every node must be in a group; missing {}",
            missing.join(", ")
        ));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(nodeid: u32, links: &[u8], down: &[u8], group: Option<usize>) -> NodeView {
        NodeView {
            nodeid,
            running: true,
            links: links.iter().copied().collect(),
            links_down: down.iter().copied().collect(),
            group,
        }
    }

    fn set(ids: &[u32]) -> BTreeSet<u32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_partition_splits_the_membership_and_a_stopped_node_leaves_it() {
        let mut nodes = vec![
            view(1, &[0], &[], Some(0)),
            view(2, &[0], &[], Some(0)),
            view(3, &[0], &[], Some(1)),
        ];
        let expected = expected_members(&nodes).unwrap();
        assert_eq!(expected[&1], set(&[1, 2]));
        assert_eq!(expected[&3], set(&[3]));
        nodes[2].group = Some(0);
        nodes[1].running = false;
        let expected = expected_members(&nodes).unwrap();
        assert_eq!(expected.len(), 2);
        assert_eq!(expected[&3], set(&[1, 3]));
    }

    #[test]
    fn one_link_down_of_two_changes_nothing_and_both_down_isolates() {
        let mut nodes = vec![view(1, &[0, 1], &[0], None), view(2, &[0, 1], &[], None)];
        assert_eq!(expected_members(&nodes).unwrap()[&1], set(&[1, 2]));
        nodes[1].links_down.insert(1);
        assert_eq!(expected_members(&nodes).unwrap()[&1], set(&[1]));
        assert_eq!(expected_members(&nodes).unwrap()[&2], set(&[2]));
    }

    #[test]
    fn a_partial_mesh_has_no_expectation() {
        // 1-2 on link 0, 2-3 on link 1, 1 and 3 share nothing.
        let nodes = vec![
            view(1, &[0], &[], None),
            view(2, &[0, 1], &[], None),
            view(3, &[1], &[], None),
        ];
        assert_eq!(expected_members(&nodes), None);
    }

    #[test]
    fn partitions_parse_by_id_or_name() {
        let nodes: Vec<(String, u32)> = vec![("n1".into(), 1), ("n2".into(), 2), ("n3".into(), 3)];
        assert_eq!(
            parse_partition("1,2|3", &nodes).unwrap(),
            vec![vec!["n1".to_string(), "n2".into()], vec!["n3".to_string()]]
        );
        assert_eq!(parse_partition(" n3 | n1 , 2", &nodes).unwrap().len(), 2);
        assert_eq!(
            parse_partition("1,2", &nodes).unwrap_err(),
            "partition `1,2`: every node must be in a group; missing n3"
        );
        assert_eq!(
            parse_partition("1,2|2,3", &nodes).unwrap_err(),
            "partition `1,2|2,3`: node `n2` is in two groups"
        );
        assert_eq!(
            parse_partition("1,2|4", &nodes).unwrap_err(),
            "partition `1,2|4`: no node `4` in the lab"
        );
        assert_eq!(
            parse_partition("1,|3", &nodes).unwrap_err(),
            "partition `1,|3`: empty node name (use e.g. `1,2|3`)"
        );
    }
}
