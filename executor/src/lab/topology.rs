//! Who should see whom in the lab, asked of the model.
//!
//! Owns `expected_members`: from which lab nodes run, which links each has, which partition
//! group each is in and which link faults are in force, the membership each running node
//! should converge to. The rule itself (two nodes talk when they are in the same group and
//! share a link that is up at both ends and between them, spec 3.2; memberships are cliques,
//! spec 3.3) is `model::quorum::membership::memberships`, the same function the model runs:
//! this module only translates lab nodes into its inputs. Also owns `parse_partition` (the
//! `"1,2|3"` syntax of `lab partition`) and `check_partition`. It must not do IO.

use crate::error::{Error, PartitionProblem, Result};
use model::quorum::membership::{memberships, Connectivity, LinkFaults};
use model::quorum::{LinkMask, NodeId, NodeSet};
use std::collections::{BTreeMap, BTreeSet};

/// What connectivity needs to know about one lab node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLinks {
    /// The corosync node id.
    pub nodeid: NodeId,
    /// Whether corosync runs on the node.
    pub running: bool,
    /// The links the node is configured on (has an address on).
    pub links: BTreeSet<u8>,
    /// The node's partition group (nodes in different groups cannot talk); 0 when no
    /// partition is in force.
    pub group: u8,
}

/// The membership (ascending node ids) each running node should converge to, keyed by node
/// id. `faults` is indexed like `nodes` (position = index). Returns `None` when the running
/// nodes' connectivity is not a union of cliques: then corosync's memberships are not
/// predictable and only stability can be awaited.
pub fn expected_members(nodes: &[NodeLinks], faults: &LinkFaults) -> Option<BTreeMap<NodeId, Vec<NodeId>>> {
    let links: Vec<LinkMask> = nodes
        .iter()
        .map(|node| node.links.iter().copied().collect())
        .collect();
    let group: Vec<u8> = nodes.iter().map(|node| node.group).collect();
    let up: NodeSet = nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| node.running)
        .map(|(pos, _)| pos)
        .collect();
    let result = memberships(&Connectivity {
        links: &links,
        up,
        group: &group,
        faults,
    });
    if !result.is_stable() {
        return None;
    }
    let mut expected = BTreeMap::new();
    for members in result.stable {
        let mut ids: Vec<NodeId> = members
            .into_iter()
            .filter_map(|pos| nodes.get(pos).map(|node| node.nodeid))
            .collect();
        ids.sort_unstable();
        for nodeid in &ids {
            expected.insert(*nodeid, ids.clone());
        }
    }
    Some(expected)
}

/// `groups` written as `lab partition` takes them (`1,2|3`), for messages.
fn spec_of(groups: &[Vec<NodeId>]) -> String {
    groups
        .iter()
        .map(|group| group.iter().map(NodeId::to_string).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("|")
}

/// Checks that `groups` puts every lab node (`nodes`: name and node id) in exactly one group
/// and returns the groups as node names (as `lab.json` records them). `spec` names the
/// partition in errors (`None`: written from `groups`).
pub fn check_partition(
    groups: &[Vec<NodeId>],
    nodes: &[(String, NodeId)],
    spec: Option<&str>,
) -> Result<Vec<Vec<String>>> {
    let problem = |problem: PartitionProblem| Error::Partition {
        spec: spec.map_or_else(|| spec_of(groups), str::to_string),
        problem,
    };
    let mut placed = BTreeSet::new();
    let mut named = Vec::with_capacity(groups.len());
    for group in groups {
        let mut names = Vec::with_capacity(group.len());
        for nodeid in group {
            let name = nodes
                .iter()
                .find(|(_, id)| id == nodeid)
                .map(|(name, _)| name.clone())
                .ok_or_else(|| problem(PartitionProblem::UnknownNode(nodeid.to_string())))?;
            if !placed.insert(*nodeid) {
                return Err(problem(PartitionProblem::InTwoGroups(name)));
            }
            names.push(name);
        }
        named.push(names);
    }
    let missing: Vec<String> = nodes
        .iter()
        .filter(|(_, nodeid)| !placed.contains(nodeid))
        .map(|(name, _)| name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(problem(PartitionProblem::Missing(missing)));
    }
    Ok(named)
}

/// Parses a partition such as `1,2|3` or `n1,n2|n3` into groups of node ids. Each token is a
/// node name or a node id; `nodes` lists (name, node id) of every lab node. Every node must
/// be in exactly one group.
pub fn parse_partition(spec: &str, nodes: &[(String, NodeId)]) -> Result<Vec<Vec<NodeId>>> {
    let problem = |problem: PartitionProblem| Error::Partition {
        spec: spec.to_string(),
        problem,
    };
    let mut groups = Vec::new();
    for group_text in spec.split('|') {
        let mut group = Vec::new();
        for token in group_text.split(',').map(str::trim) {
            if token.is_empty() {
                return Err(problem(PartitionProblem::EmptyName));
            }
            let nodeid = nodes
                .iter()
                .find(|(name, _)| name == token)
                .or_else(|| {
                    nodes
                        .iter()
                        .find(|(_, id)| token.parse::<NodeId>().ok() == Some(*id))
                })
                .map(|(_, nodeid)| *nodeid)
                .ok_or_else(|| problem(PartitionProblem::UnknownNode(token.to_string())))?;
            group.push(nodeid);
        }
        groups.push(group);
    }
    check_partition(&groups, nodes, Some(spec))?;
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(nodeid: NodeId, links: &[u8], group: u8) -> NodeLinks {
        NodeLinks {
            nodeid,
            running: true,
            links: links.iter().copied().collect(),
            group,
        }
    }

    fn node_faults(masks: &[u8]) -> LinkFaults {
        LinkFaults {
            node_links_down: masks.iter().copied().map(LinkMask::from_bits).collect(),
            ..LinkFaults::default()
        }
    }

    #[test]
    fn a_partition_splits_the_membership_and_a_stopped_node_leaves_it() {
        let mut nodes = vec![node(1, &[0], 0), node(2, &[0], 0), node(3, &[0], 1)];
        let expected = expected_members(&nodes, &LinkFaults::default()).unwrap();
        assert_eq!(expected[&1], vec![1, 2]);
        assert_eq!(expected[&3], vec![3]);
        nodes[2].group = 0;
        nodes[1].running = false;
        let expected = expected_members(&nodes, &LinkFaults::default()).unwrap();
        assert_eq!(expected.len(), 2);
        assert_eq!(expected[&3], vec![1, 3]);
    }

    #[test]
    fn one_link_down_of_two_changes_nothing_and_both_down_isolates() {
        let nodes = vec![node(1, &[0, 1], 0), node(2, &[0, 1], 0)];
        assert_eq!(
            expected_members(&nodes, &node_faults(&[0b01, 0])).unwrap()[&1],
            vec![1, 2]
        );
        let expected = expected_members(&nodes, &node_faults(&[0b01, 0b10])).unwrap();
        assert_eq!((&expected[&1], &expected[&2]), (&vec![1], &vec![2]));
        // Both links down between the pair only (the replay's blackhole routes).
        let between = LinkFaults {
            pair_links_down: vec![(0, 0, 1), (1, 0, 1)],
            ..LinkFaults::default()
        };
        assert_eq!(expected_members(&nodes, &between).unwrap()[&2], vec![2]);
    }

    #[test]
    fn a_partial_mesh_has_no_expectation() {
        // 1-2 on link 0, 2-3 on link 1, 1 and 3 share nothing.
        let nodes = vec![node(1, &[0], 0), node(2, &[0, 1], 0), node(3, &[1], 0)];
        assert_eq!(expected_members(&nodes, &LinkFaults::default()), None);
    }

    #[test]
    fn partitions_parse_by_id_or_name() {
        let nodes: Vec<(String, NodeId)> = vec![("n1".into(), 1), ("n2".into(), 2), ("n3".into(), 3)];
        assert_eq!(
            parse_partition("1,2|3", &nodes).unwrap(),
            vec![vec![1, 2], vec![3]]
        );
        assert_eq!(parse_partition(" n3 | n1 , 2", &nodes).unwrap().len(), 2);
        let error = |spec: &str| parse_partition(spec, &nodes).unwrap_err().to_string();
        assert_eq!(
            error("1,2"),
            "partition `1,2`: every node must be in a group; missing n3"
        );
        assert_eq!(
            error("1,2|2,3"),
            "partition `1,2|2,3`: node `n2` is in two groups"
        );
        assert_eq!(error("1,2|4"), "partition `1,2|4`: no node `4` in the lab");
        assert_eq!(
            error("1,|3"),
            "partition `1,|3`: empty node name (use e.g. `1,2|3`)"
        );
        assert_eq!(
            check_partition(&[vec![1, 2], vec![3]], &nodes, None).unwrap(),
            vec![vec!["n1".to_string(), "n2".into()], vec!["n3".to_string()]]
        );
        assert_eq!(
            check_partition(&[vec![1, 2], vec![9]], &nodes, None)
                .unwrap_err()
                .to_string(),
            "partition `1,2|9`: no node `9` in the lab"
        );
    }
}
