//! The safety verdict of one engine state: is it split-brain now, is some node quorate,
//! and can up to F extra faults (crashes, partitions, link failures, qnetd down or cut
//! from a node, with the time they let pass) make two memberships quorate at once.
//!
//! Owns `Safety` (the verdict cache, keyed by the state's symmetry representative over
//! interchangeable nodes, `sim::symmetry`) and `Verdict`. Every fault is a
//! `model::action::Fault` run by `ClusterState::apply_event` and split-brain is the
//! `no-split-brain` property of `sim::check::properties` (`ClusterState::split_brain`): no
//! second engine. It must not know about files or moves (that is `state`).
//!
//! A state inside a step may have nodes the step is still to start (`pending`: down now, up
//! when the step is done, e.g. the node a restart has stopped). The step goes on after a
//! fault as it would on the real cluster: after a fault, each pending node may start with
//! its on-disk file into any partition, free, or alone, which is one more fault (booting
//! cut off from every running node, as `quorate check` counts it), and split-brain is
//! judged again.
//! (Real corosync 3.1.7 on the lab: four last_man_standing nodes, one down past the window,
//! a partition {1}|{2,3}, the node back on n1's side: {1,4} and {2,3} are both quorate;
//! `reality::four_nodes_lms_a_node_back_into_the_minority_makes_a_second_quorate_side`.)
//!
//! Not explored (documented in docs/plan.md): other recoveries after a fault (a crashed
//! node starting again, partitions merging), and delivery orders other than ascending node
//! id; `verify` runs a plan through `sim::check` with faults at every point between its
//! steps.

use std::collections::{HashMap, HashSet};

use model::action::{Action, Event, Fault};
use model::quorum::{ClusterState, NodeConfig, NodeSet};
use model::scenario::{LinkScope, NodeRef, NodeSpec, QnetdChange};
use sim::check::start_kind;

/// What the fault analysis of one state found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Two disjoint memberships are quorate now.
    pub split_brain_now: bool,
    /// Some running node is quorate (or no node runs).
    pub quorate: bool,
    /// No node is quorate (none may run at all).
    pub no_quorum: bool,
    /// A fault sequence within the budget that ends in split-brain, as script lines (with
    /// the pending nodes' starts among them, `up P:N`).
    pub split_brain_after: Option<Vec<String>>,
    /// How many of `split_brain_after`'s lines are faults (the rest are the step's own
    /// pending starts and time passing).
    pub split_brain_faults: u32,
    /// Some single fault leaves no node quorate.
    pub one_fault_loses_quorum: bool,
}

/// The verdict cache of one planning run.
#[derive(Debug)]
pub(crate) struct Safety {
    fault_budget: u32,
    cache: HashMap<(ClusterState, NodeSet), Verdict>,
    /// How many distinct states were analysed (cache misses).
    pub analysed: usize,
}

impl Safety {
    /// A cache for `fault_budget` extra faults.
    pub fn new(fault_budget: u32) -> Safety {
        Safety {
            fault_budget,
            cache: HashMap::new(),
            analysed: 0,
        }
    }

    /// The verdict of `cluster` (a state between steps: nothing pending).
    pub fn verdict(&mut self, cluster: &ClusterState) -> Verdict {
        self.verdict_pending(cluster, NodeSet::EMPTY)
    }

    /// The verdict of `cluster` inside a step that is still to start the (down) nodes at
    /// positions `pending`: after a fault, each of them may start into any partition.
    pub fn verdict_pending(&mut self, cluster: &ClusterState, pending: NodeSet) -> Verdict {
        let pending = pending - cluster.up_nodes();
        let mut classes = symmetry_classes(cluster);
        // A pending node is not interchangeable with a down node that stays down.
        for class in &mut classes {
            class.retain(|pos| !pending.contains(*pos));
        }
        classes.retain(|class| class.len() > 1);
        let key = if classes.is_empty() {
            (cluster.clone(), pending)
        } else {
            (cluster.symmetry_representative(&classes), pending)
        };
        if let Some(verdict) = self.cache.get(&key) {
            return verdict.clone();
        }
        self.analysed += 1;
        let up = cluster.up_nodes();
        let mut verdict = Verdict {
            split_brain_now: cluster.split_brain(),
            quorate: up.is_empty() || !cluster.quorate_set().is_empty(),
            no_quorum: cluster.quorate_set().is_empty(),
            ..Verdict::default()
        };
        if !verdict.split_brain_now && self.fault_budget > 0 {
            let mut visited = HashSet::new();
            let mut path = Vec::new();
            explore(
                cluster,
                Pending {
                    starts: pending,
                    crashed: NodeSet::EMPTY,
                },
                self.fault_budget,
                true,
                &mut path,
                &mut visited,
                &mut verdict,
            );
        }
        self.cache.insert(key, verdict.clone());
        verdict
    }
}

/// Node classes the fault analysis may permute in `cluster`: when every running node runs
/// the same configuration and its delivery order cannot matter (`sim::symmetry`), the
/// nodes that configuration makes interchangeable; otherwise none.
fn symmetry_classes(cluster: &ClusterState) -> Vec<Vec<usize>> {
    let Some(config) = common_running_config(cluster) else {
        return Vec::new();
    };
    let settings = config.settings();
    if sim::symmetry::order_matters_because(settings, false).is_some() {
        return Vec::new();
    }
    let mut classes = sim::symmetry::node_classes(settings, cluster.nodeids());
    classes.retain(|class| class.len() > 1);
    classes
}

/// The configuration every running node runs with and every node has on disk, if there is
/// one.
fn common_running_config(cluster: &ClusterState) -> Option<NodeConfig> {
    let mut common: Option<&NodeConfig> = None;
    for pos in 0..cluster.nodeids().len() {
        for config in [cluster.running_config(pos), cluster.disk_config(pos)]
            .into_iter()
            .flatten()
        {
            match common {
                None => common = Some(config),
                Some(seen) if seen == config => {}
                Some(_) => return None,
            }
        }
    }
    common.cloned()
}

/// Per position, a type: positions of one type are interchangeable in `cluster` (same
/// class, same running state and partition). Without classes every position is its own type.
fn types(cluster: &ClusterState, classes: &[Vec<usize>]) -> Vec<usize> {
    let count = cluster.nodeids().len();
    let mut types: Vec<usize> = (0..count).collect();
    let mut keys: Vec<(usize, bool, u8, u128, bool)> = Vec::new();
    for (pos, slot) in types.iter_mut().enumerate() {
        let Some(class) = classes.iter().position(|class| class.contains(&pos)) else {
            continue;
        };
        let key = (
            class,
            cluster.is_up(pos),
            cluster.partitions().get(pos).copied().unwrap_or(0),
            cluster.ring(pos).bits(),
            cluster.is_quorate(pos),
        );
        let index = keys
            .iter()
            .position(|existing| *existing == key)
            .unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            });
        *slot = count + index;
    }
    types
}

/// The faults worth trying from `cluster`, one representative per type: a crash, a split
/// of one partition (a subset moved to a new partition), a whole link or one node's link
/// failing, and once qnetd decides the device's vote, qnetd down or one node cut from it. Time passing to the next timer comes first (it is free).
pub(crate) fn fault_list(cluster: &ClusterState) -> Vec<(Fault, bool)> {
    let mut out: Vec<(Fault, bool)> = wait_event(cluster)
        .into_iter()
        .map(|wait| (wait, false))
        .collect();
    let classes = symmetry_classes(cluster);
    let types = types(cluster, &classes);
    let nodeids = cluster.nodeids();
    let up = cluster.up_nodes();
    let mut seen_types = Vec::new();
    for pos in up.iter() {
        if !seen_types.contains(&types[pos]) {
            seen_types.push(types[pos]);
            out.push((Fault::CrashNodes(vec![NodeRef::Id(nodeids[pos])]), true));
        }
    }
    let partitions = cluster.partitions();
    let (labels, fresh) = partition_labels(cluster);
    for label in &labels {
        let members: Vec<usize> = up.iter().filter(|pos| partitions[*pos] == *label).collect();
        if members.len() < 2 {
            continue;
        }
        // Group the partition's members by type; a subset is a count per group.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for pos in &members {
            match groups.iter_mut().find(|group| types[group[0]] == types[*pos]) {
                Some(group) => group.push(*pos),
                None => groups.push(vec![*pos]),
            }
        }
        let mut counts = vec![0usize; groups.len()];
        loop {
            // Next count vector (odometer).
            let mut index = 0;
            while index < counts.len() {
                if counts[index] < groups[index].len() {
                    counts[index] += 1;
                    break;
                }
                counts[index] = 0;
                index += 1;
            }
            if index == counts.len() {
                break;
            }
            let moved: usize = counts.iter().sum();
            if moved == members.len() {
                continue;
            }
            let nodes: Vec<NodeRef> = groups
                .iter()
                .zip(&counts)
                .flat_map(|(group, count)| group[..*count].iter())
                .map(|pos| NodeRef::Id(nodeids[*pos]))
                .collect();
            out.push((
                Fault::MoveNodes(vec![NodeSpec {
                    partition: Some(fresh),
                    nodes,
                }]),
                true,
            ));
        }
    }
    if let Some(qnetd) = cluster.qnetd_view() {
        // qnetd faults (once qnetd decides): the server fails, or one node loses its path
        // to the qnetd host (its cluster links stay).
        if qnetd.server_up {
            out.push((Fault::Qnetd(QnetdChange::Down), true));
        }
        for node in qnetd
            .nodes
            .iter()
            .filter(|node| node.running && node.reaches_qnetd)
        {
            out.push((
                Fault::Qnetd(QnetdChange::Cut(vec![NodeRef::Id(node.nodeid)])),
                true,
            ));
        }
    }
    let mut links: Vec<u8> = Vec::new();
    for pos in up.iter() {
        if let Some(config) = cluster.running_config(pos) {
            for link in config.settings().link_mask(nodeids[pos]).iter() {
                if !links.contains(&link) {
                    links.push(link);
                }
            }
        }
    }
    links.sort_unstable();
    let faults = cluster.link_faults();
    for link in links {
        if !faults.links_down.contains(link) {
            out.push((
                Fault::SetLink {
                    link,
                    up: false,
                    scope: LinkScope::All,
                },
                true,
            ));
        }
        let mut seen_types = Vec::new();
        for pos in up.iter() {
            if !seen_types.contains(&types[pos]) {
                seen_types.push(types[pos]);
                out.push((
                    Fault::SetLink {
                        link,
                        up: false,
                        scope: LinkScope::Nodes(vec![NodeRef::Id(nodeids[pos])]),
                    },
                    true,
                ));
            }
        }
    }
    out
}

/// Time passing to `cluster`'s next timer, if one is armed (free: not a fault).
fn wait_event(cluster: &ClusterState) -> Option<Fault> {
    cluster
        .next_timer_ms()
        .map(|deadline| Fault::Wait(deadline.saturating_sub(cluster.now_ms()).max(1)))
}

/// The partition labels running nodes are in (sorted), and the lowest free one.
fn partition_labels(cluster: &ClusterState) -> (Vec<u8>, u8) {
    let partitions = cluster.partitions();
    let mut labels: Vec<u8> = cluster.up_nodes().iter().map(|pos| partitions[pos]).collect();
    labels.sort_unstable();
    labels.dedup();
    let fresh = (0..=u8::MAX)
        .find(|label| !labels.contains(label))
        .unwrap_or(u8::MAX);
    (labels, fresh)
}

/// The starts a step still owes from `cluster` after a fault: each pending node into each
/// partition that has a running node (free: the node boots where its network is), or into
/// a partition of its own, which costs a fault while some node runs (it boots cut off from
/// every running node: `sim::check::start_kind`, as `quorate check` counts it). Each with
/// whether it costs.
fn pending_starts(cluster: &ClusterState, pending: NodeSet) -> Vec<(Event, usize, bool)> {
    let nodeids = cluster.nodeids();
    let (mut labels, fresh) = partition_labels(cluster);
    labels.push(fresh);
    let running = !cluster.up_nodes().is_empty();
    let mut out = Vec::new();
    for pos in pending.iter() {
        for label in &labels {
            let costs = start_kind(*label == fresh, running).cost() > 0;
            out.push((
                Event::Action(Action::StartNodes(vec![NodeSpec {
                    partition: Some(*label),
                    nodes: vec![NodeRef::Id(nodeids[pos])],
                }])),
                pos,
                costs,
            ));
        }
    }
    out
}

/// What may still start during an exploration, free (not faults): the step's own pending
/// starts (after a fault, into any partition, or alone for one more fault) and the nodes a fault crashed (a
/// recovery: the node starts again where its network is, its own partition label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Pending {
    /// The step's nodes still to start.
    starts: NodeSet,
    /// Nodes crashed by a fault of this exploration, still down.
    crashed: NodeSet,
}

/// Depth-first over fault sequences from `cluster` with `budget` faults left, the step's
/// pending starts still to come and the crashed nodes' restarts possible; fills `verdict`
/// (the first split-brain found, whether one fault loses quorum). A pending start is
/// explored only after a fault (without one the step simply completes, which the next
/// state's verdict judges); a crashed node's restart is a recovery, free, as in `quorate
/// check` (so a node down past the last_man_standing window, a partition, then the node
/// back on the minority's side is found within a budget of 2: real corosync splits there).
fn explore(
    cluster: &ClusterState,
    pending: Pending,
    budget: u32,
    first_level: bool,
    path: &mut Vec<String>,
    visited: &mut HashSet<(ClusterState, Pending)>,
    verdict: &mut Verdict,
) {
    // With the budget spent only the free events are left: time passing, the pending starts
    // and the crashed nodes' restarts; the faults are not even listed (most of the work on
    // large clusters).
    let faults = if budget == 0 {
        wait_event(cluster)
            .into_iter()
            .map(|wait| (wait, false))
            .collect()
    } else {
        fault_list(cluster)
    };
    let nodeids = cluster.nodeids();
    let mut events: Vec<(Event, bool, Pending)> = faults
        .into_iter()
        .map(|(fault, costs)| {
            let mut next = pending;
            if let Fault::CrashNodes(nodes) = &fault {
                for node in nodes {
                    if let Some(pos) = nodeids.iter().position(|id| NodeRef::Id(*id) == *node) {
                        next.crashed.insert(pos);
                    }
                }
            }
            (Event::Fault(fault), costs, next)
        })
        .collect();
    if verdict.split_brain_faults > 0 {
        for (event, pos, costs) in pending_starts(cluster, pending.starts) {
            let mut left = pending;
            left.starts.remove(pos);
            events.push((event, costs, left));
        }
    }
    let partitions = cluster.partitions();
    for pos in (pending.crashed - cluster.up_nodes()).iter() {
        let mut left = pending;
        left.crashed.remove(pos);
        events.push((
            Event::Action(Action::StartNodes(vec![NodeSpec {
                partition: partitions.get(pos).copied(),
                nodes: vec![NodeRef::Id(nodeids[pos])],
            }])),
            false,
            left,
        ));
    }
    for (event, costs, next_pending) in events {
        if costs && budget == 0 {
            continue;
        }
        let mut next = cluster.clone();
        let outcome = next.apply_event(&event);
        if outcome.rejected || next == *cluster || !visited.insert((next.clone(), next_pending)) {
            continue;
        }
        path.push(event.to_string());
        verdict.split_brain_faults += u32::from(costs);
        if next.split_brain() {
            verdict.split_brain_after = Some(path.clone());
            return;
        }
        if first_level && costs && !next.up_nodes().is_empty() && next.quorate_set() == NodeSet::EMPTY {
            verdict.one_fault_loses_quorum = true;
        }
        let left = if costs { budget - 1 } else { budget };
        explore(
            &next,
            next_pending,
            left,
            first_level && !costs,
            path,
            visited,
            verdict,
        );
        if verdict.split_brain_after.is_some() {
            return;
        }
        path.pop();
        verdict.split_brain_faults -= u32::from(costs);
    }
}

#[cfg(test)]
mod start_cost_tests {
    use super::*;
    use model::quorum::QuorumSettings;

    #[test]
    fn a_pending_start_cut_off_from_the_running_nodes_costs_a_fault() {
        let settings = QuorumSettings::plain(3);
        let mut cluster = ClusterState::new(&settings).unwrap();
        cluster.apply(&settings, &model::scenario::Step::Down(vec![NodeRef::Id(3)]));
        let starts = pending_starts(&cluster, NodeSet::single(2));
        // Into the partition of nodes 1 and 2: free; into a partition of its own: a fault.
        let costs: Vec<(String, bool)> = starts
            .iter()
            .map(|(event, _, costs)| (event.to_string(), *costs))
            .collect();
        assert_eq!(
            costs,
            vec![("up 0:3".to_string(), false), ("up 1:3".to_string(), true)]
        );
        // With nothing running the only partition is free.
        cluster.apply(
            &settings,
            &model::scenario::Step::Down(vec![NodeRef::Id(1), NodeRef::Id(2)]),
        );
        let starts = pending_starts(&cluster, NodeSet::single(2));
        assert_eq!(starts.len(), 1);
        assert!(!starts[0].2);
    }
}
