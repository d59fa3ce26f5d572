//! What the quorum engine (`quorum::ClusterState`) computes for the quantitative claims of
//! rule messages ("a partition of one node stays quorate"), so that a message states what
//! votequorum does, never a paraphrase.
//!
//! Owns `split_facts` and `boot_facts`. It only asks the engine (pure, deterministic); it
//! must not re-implement votequorum's arithmetic.
//!
//! See: issue 10 item 3.

use crate::quorum::settings::{NodeId, QuorumSettings};
use crate::quorum::ClusterState;
use crate::scenario::{self, Step};

/// Above this many nodes, subsets are not enumerated (2^n engine runs); only the
/// highest-vote nodes are tried, and the results say they are not exhaustive.
const EXHAUSTIVE_NODES: usize = 8;

/// What splitting a running cluster (every node booted together) into two sides does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SplitFacts {
    /// The smallest side found that stays quorate on its own, by node id.
    pub smallest_quorate: Option<Vec<NodeId>>,
    /// A split where both sides stay quorate (side, other side), when one was found.
    pub both_quorate: Option<(Vec<NodeId>, Vec<NodeId>)>,
    /// A split into two sides of equal votes where neither side is quorate, when one was
    /// found.
    pub even_split_inquorate: Option<(Vec<NodeId>, Vec<NodeId>)>,
    /// Whether every split was tried (else only splits of the highest-vote nodes).
    pub exhaustive: bool,
}

/// What booting only some nodes (the others stay down) does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BootFacts {
    /// The smallest set of nodes found that is quorate when only they boot, by node id.
    pub smallest_quorate: Option<Vec<NodeId>>,
    /// Whether every set was tried.
    pub exhaustive: bool,
}

/// The node ids of the nodes, and the candidate sides (index sets) to try: every non-empty
/// proper subset when there are few nodes, else the `k` highest-vote nodes for each `k`.
fn candidate_sides(settings: &QuorumSettings) -> (Vec<NodeId>, Vec<Vec<usize>>, bool) {
    let nodeids: Vec<NodeId> = settings.nodes.iter().map(|node| node.nodeid).collect();
    let count = nodeids.len();
    if count <= EXHAUSTIVE_NODES {
        let mut sides: Vec<Vec<usize>> = (1u32..(1u32 << count))
            .map(|mask| (0..count).filter(|index| mask & (1 << index) != 0).collect())
            .collect();
        sides.sort_by_key(Vec::len);
        return (nodeids, sides, true);
    }
    let mut by_votes: Vec<usize> = (0..count).collect();
    by_votes.sort_by_key(|index| std::cmp::Reverse(settings.nodes[*index].votes));
    let sides = (1..=count).map(|size| by_votes[..size].to_vec()).collect();
    (nodeids, sides, false)
}

/// A step from script text the engine's own parser reads (`move 1:1,2`).
fn step(text: &str) -> Option<Step> {
    scenario::parse(text).ok()?.steps.into_iter().next()
}

fn id_list(ids: &[NodeId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// Whether some running node among `ids` is quorate.
fn any_quorate(state: &ClusterState, ids: &[NodeId]) -> bool {
    ids.iter()
        .filter_map(|nodeid| state.position(*nodeid))
        .any(|pos| state.is_quorate(pos))
}

/// Splits the running cluster into each candidate side and the rest, and records what the
/// engine says about each.
pub(crate) fn split_facts(settings: &QuorumSettings) -> SplitFacts {
    let (nodeids, sides, exhaustive) = candidate_sides(settings);
    let mut facts = SplitFacts {
        exhaustive,
        ..SplitFacts::default()
    };
    let Ok(start) = ClusterState::new(settings) else {
        return facts;
    };
    let total_votes: u64 = settings.nodes.iter().map(|node| u64::from(node.votes)).sum();
    for side in sides {
        if side.len() == nodeids.len() {
            continue;
        }
        let side_ids: Vec<NodeId> = side.iter().map(|index| nodeids[*index]).collect();
        let rest_ids: Vec<NodeId> = nodeids
            .iter()
            .copied()
            .filter(|nodeid| !side_ids.contains(nodeid))
            .collect();
        let Some(split) = step(&format!("move 1:{}", id_list(&side_ids))) else {
            continue;
        };
        let mut state = start.clone();
        state.apply(settings, &split);
        let side_quorate = any_quorate(&state, &side_ids);
        let rest_quorate = any_quorate(&state, &rest_ids);
        if side_quorate && facts.smallest_quorate.is_none() {
            facts.smallest_quorate = Some(side_ids.clone());
        }
        if side_quorate && rest_quorate && facts.both_quorate.is_none() {
            facts.both_quorate = Some((side_ids.clone(), rest_ids.clone()));
        }
        let side_votes: u64 = side
            .iter()
            .map(|index| u64::from(settings.nodes[*index].votes))
            .sum();
        if 2 * side_votes == total_votes
            && !side_quorate
            && !rest_quorate
            && facts.even_split_inquorate.is_none()
        {
            facts.even_split_inquorate = Some((side_ids, rest_ids));
        }
    }
    facts
}

/// Boots each candidate set alone (the other nodes stay down) and records the smallest that
/// the engine finds quorate.
pub(crate) fn boot_facts(settings: &QuorumSettings) -> BootFacts {
    let (nodeids, mut sides, exhaustive) = candidate_sides(settings);
    if exhaustive {
        sides.push((0..nodeids.len()).collect());
    }
    let mut facts = BootFacts {
        exhaustive,
        ..BootFacts::default()
    };
    let Ok(stopped) = ClusterState::stopped(settings) else {
        return facts;
    };
    for side in sides {
        let side_ids: Vec<NodeId> = side.iter().map(|index| nodeids[*index]).collect();
        let Some(boot) = step(&format!("up {}", id_list(&side_ids))) else {
            continue;
        };
        let mut state = stopped.clone();
        state.apply(settings, &boot);
        if any_quorate(&state, &side_ids) {
            facts.smallest_quorate = Some(side_ids);
            break;
        }
    }
    facts
}

/// A way to boot the nodes apart (two groups that never saw each other, every node up) so
/// that both groups are quorate, by node id; `None` when the engine finds none (among the
/// candidate sides).
pub(crate) fn both_quorate_booting_apart(settings: &QuorumSettings) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
    let (nodeids, sides, _) = candidate_sides(settings);
    let stopped = ClusterState::stopped(settings).ok()?;
    for side in sides {
        if side.len() == nodeids.len() {
            continue;
        }
        let side_ids: Vec<NodeId> = side.iter().map(|index| nodeids[*index]).collect();
        let rest_ids: Vec<NodeId> = nodeids
            .iter()
            .copied()
            .filter(|nodeid| !side_ids.contains(nodeid))
            .collect();
        // Each side once: the one holding the first node.
        if !side_ids.contains(&nodeids[0]) {
            continue;
        }
        let Some(boot) = step(&format!("up 1:{} 2:{}", id_list(&side_ids), id_list(&rest_ids))) else {
            continue;
        };
        let mut state = stopped.clone();
        state.apply(settings, &boot);
        if any_quorate(&state, &side_ids) && any_quorate(&state, &rest_ids) {
            return Some((side_ids, rest_ids));
        }
    }
    None
}

/// `node 1`, `nodes 1 and 2`, `nodes 1, 2 and 3`.
pub(crate) fn describe_nodes(ids: &[NodeId]) -> String {
    match ids {
        [] => "no node".to_string(),
        [one] => format!("node {one}"),
        [init @ .., last] => format!(
            "nodes {} and {last}",
            init.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `1 node`, `2 nodes`.
pub(crate) fn count_nodes(count: usize) -> String {
    if count == 1 {
        "1 node".to_string()
    } else {
        format!("{count} nodes")
    }
}

/// What the engine says when the lowest node is cut off from the others and is the only one
/// that reaches the quorum device's qnetd host (qnetd decides, `quorum::qnetd`): the lone
/// node and whether it stays quorate, and the others and whether any of them is. `None`
/// when there are fewer than two nodes or no device.
pub(crate) fn lone_node_reaching_qnetd(
    settings: &QuorumSettings,
) -> Option<(NodeId, bool, Vec<NodeId>, bool)> {
    settings.device.as_ref()?;
    let mut ids: Vec<NodeId> = settings.nodes.iter().map(|node| node.nodeid).collect();
    ids.sort_unstable();
    let (lone, rest) = ids.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut state = ClusterState::new(settings).ok()?;
    for text in [
        format!("qnetd cut {}", id_list(rest)),
        format!("move 1:{lone} 2:{}", id_list(rest)),
    ] {
        state.apply(settings, &step(&text)?);
    }
    Some((
        *lone,
        any_quorate(&state, &[*lone]),
        rest.to_vec(),
        any_quorate(&state, rest),
    ))
}

/// What the engine says when the lowest node is cut off from the others and its qdevice
/// casts the device's vote (the vote as an input, whatever qnetd's algorithm): whether it
/// stays quorate alone while the others, together, are not.
pub(crate) fn lone_node_with_device_vote(
    settings: &QuorumSettings,
) -> Option<(NodeId, bool, Vec<NodeId>, bool)> {
    settings.device.as_ref()?;
    let mut ids: Vec<NodeId> = settings.nodes.iter().map(|node| node.nodeid).collect();
    ids.sort_unstable();
    let (lone, rest) = ids.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut state = ClusterState::new(settings).ok()?;
    for text in [
        format!("move 1:{lone} 2:{}", id_list(rest)),
        format!("qdevice on {lone}"),
    ] {
        state.apply(settings, &step(&text)?);
    }
    Some((
        *lone,
        any_quorate(&state, &[*lone]),
        rest.to_vec(),
        any_quorate(&state, rest),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue10_three_nodes_with_two_node_one_node_alone_is_quorate() {
        let mut settings = QuorumSettings::plain(3);
        settings.two_node = true;
        let facts = split_facts(&settings);
        assert_eq!(facts.smallest_quorate.as_deref().map(<[u32]>::len), Some(1));
        assert!(facts.both_quorate.is_some(), "{facts:?}");
        assert!(facts.exhaustive);
    }

    #[test]
    fn plain_clusters_need_a_majority() {
        let facts = split_facts(&QuorumSettings::plain(3));
        assert_eq!(facts.smallest_quorate, Some(vec![1, 2]));
        assert_eq!(facts.both_quorate, None);
        let four = split_facts(&QuorumSettings::plain(4));
        assert_eq!(four.smallest_quorate.as_deref().map(<[u32]>::len), Some(3));
        assert_eq!(four.even_split_inquorate, Some((vec![1, 2], vec![3, 4])));
        let boot = boot_facts(&QuorumSettings::plain(3));
        assert_eq!(boot.smallest_quorate, Some(vec![1, 2]));
    }

    /// The Q003 message states the engine's answer for 3 nodes with `two_node`: one node
    /// alone stays quorate (whatif and corosync-vqsim agree), not "two nodes".
    #[test]
    fn issue10_q003_message_says_one_node_alone_is_quorate() {
        let text = "totem {\n\tversion: 2\n\tcluster_name: c\n}\nnodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 198.18.0.1\n\t}\n\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 198.18.0.2\n\t}\n\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 198.18.0.3\n\t}\n}\nquorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 1\n}\n";
        let diagnostics = crate::lint::lint_text(text, &crate::lint::LintOptions::default());
        let q003 = diagnostics
            .iter()
            .find(|diagnostic| diagnostic.code == "Q003")
            .expect("Q003");
        assert!(
            q003.message
                .contains("a partition of as few as 1 node stays quorate (node 1)"),
            "{}",
            q003.message
        );
        assert!(!q003.message.contains("two nodes"), "{}", q003.message);
    }

    #[test]
    fn booting_apart_is_a_split_brain_only_without_wait_for_all() {
        let mut settings = QuorumSettings::plain(2);
        settings.two_node = true;
        settings.wait_for_all = Some(false);
        assert_eq!(both_quorate_booting_apart(&settings), Some((vec![1], vec![2])));
        settings.wait_for_all = None;
        assert_eq!(both_quorate_booting_apart(&settings), None);
        assert_eq!(both_quorate_booting_apart(&QuorumSettings::plain(3)), None);
    }

    #[test]
    fn describes_node_lists() {
        assert_eq!(describe_nodes(&[1]), "node 1");
        assert_eq!(describe_nodes(&[1, 2, 3]), "nodes 1, 2 and 3");
        assert_eq!(count_nodes(1), "1 node");
    }
}
