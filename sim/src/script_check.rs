//! Refusing script steps that name something the cluster does not have, or contradict
//! themselves, before they run.
//!
//! Owns `StepProblem` and the checks `evaluate` makes on each step against the cluster as it
//! is at that step: links that are not configured (or not configured on the node named),
//! partitions no running node is in, a node put in two partitions by one step, a partition
//! joined into itself, a link between a node and itself, `qdevice` without a quorum device,
//! and a number that is also the name of another node. Unknown nodes stay with
//! `whatif::check_nodes`. It must not change what a valid step does: it only reads the
//! state and the settings, and answers with the column of the offending token.
//!
//! See: issue 10 items 5 and 12.

use model::quorum::{ClusterState, NodeId, QuorumSettings, Transport};
use model::scenario::{LinkScope, NodeRef, Step};
use std::fmt;

/// What is wrong with a step that names only known nodes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepProblem {
    /// The link number is not configured on any node.
    #[error("link {link} is not configured (configured: {})", link_list(configured))]
    UnknownLink {
        /// The link named.
        link: u8,
        /// The links some node has, ascending.
        configured: Vec<u8>,
    },
    /// The node named has no address on the link.
    #[error(
        "node {node} has no ring{link}_addr, so it is not on link {link} (its links: {})",
        link_list(links)
    )]
    NodeWithoutLink {
        /// The node id.
        node: NodeId,
        /// The link named.
        link: u8,
        /// The links the node has.
        links: Vec<u8>,
    },
    /// One step puts a node in two different partitions.
    #[error("node {node} is put in partition {first} and in partition {second} by the same step")]
    NodeInTwoPartitions {
        /// The node id.
        node: NodeId,
        /// The first partition named for it.
        first: u8,
        /// The other one.
        second: u8,
    },
    /// `join` names a partition no running node is in.
    #[error(
        "no running node is in partition {partition} (partitions now: {})",
        partition_list(existing)
    )]
    NoSuchPartition {
        /// The partition named.
        partition: u8,
        /// The partitions running nodes are in, with their nodes.
        existing: Vec<(u8, Vec<NodeId>)>,
    },
    /// `join P ... P`: a partition merged into itself or named twice.
    #[error("partition {partition} is named twice in one join")]
    PartitionTwice {
        /// The partition.
        partition: u8,
    },
    /// `link ... between N N`.
    #[error("a link between node {node} and itself")]
    LinkToItself {
        /// The node id.
        node: NodeId,
    },
    /// `qdevice on|off` without `quorum.device` in the configuration.
    #[error("the configuration has no quorum device (quorum.device with a model), so no qdevice runs")]
    NoQuorumDevice,
    /// A number written for a node is also the name of another node.
    #[error(
        "`{number}` is ambiguous: a number in a script always means a node id, but node {named} is \
         named `{number}`{}",
        ambiguity_help(*number, *named, id_alias.as_deref())
    )]
    NumberIsAName {
        /// The number written.
        number: u32,
        /// The node whose name is that number.
        named: NodeId,
        /// Another name of node `number` usable in scripts, when node `number` exists.
        id_alias: Option<String>,
    },
}

fn link_list(links: &[u8]) -> String {
    if links.is_empty() {
        return "none".to_string();
    }
    links.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")
}

fn partition_list(partitions: &[(u8, Vec<NodeId>)]) -> String {
    if partitions.is_empty() {
        return "none, no node runs".to_string();
    }
    partitions
        .iter()
        .map(|(partition, nodes)| {
            let ids: Vec<String> = nodes.iter().map(u32::to_string).collect();
            format!("{partition} = {{{}}}", ids.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ambiguity_help(number: u32, named: NodeId, id_alias: Option<&str>) -> String {
    match id_alias {
        Some(alias) => format!(
            " and node {number} exists too; write `{alias}` for node {number}, or rename node {named}"
        ),
        None => format!("; write {named} for node {named} (by its id)"),
    }
}

/// A step refused by `check_step`: the problem and the 0-based character offset of the
/// offending token in the step's source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Offset (characters) from the step's first word.
    pub offset: u32,
    /// What is wrong.
    pub problem: StepProblem,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.problem.fmt(f)
    }
}

/// A word of a step's source text split at `:` and `,`: its offset, text, and whether it is
/// the partition prefix of a `P:NODES` token.
struct Piece<'a> {
    offset: u32,
    text: &'a str,
    partition: bool,
}

fn pieces(source: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, u32)> = None;
    fn push<'a>(word: &'a str, begin_offset: u32, out: &mut Vec<Piece<'a>>) {
        let (prefix, rest, rest_offset) = match word.split_once(':') {
            Some((prefix, rest)) => (
                Some(prefix),
                rest,
                begin_offset + prefix.chars().count() as u32 + 1,
            ),
            None => (None, word, begin_offset),
        };
        if let Some(prefix) = prefix {
            out.push(Piece {
                offset: begin_offset,
                text: prefix,
                partition: true,
            });
        }
        let mut at = rest_offset;
        for part in rest.split(',') {
            out.push(Piece {
                offset: at,
                text: part,
                partition: false,
            });
            at += part.chars().count() as u32 + 1;
        }
    }
    for (offset, (byte, character)) in source.char_indices().enumerate() {
        if character.is_whitespace() {
            if let Some((begin, begin_offset)) = start.take() {
                push(&source[begin..byte], begin_offset, &mut out);
            }
        } else if start.is_none() {
            start = Some((byte, offset as u32));
        }
    }
    if let Some((begin, begin_offset)) = start {
        push(&source[begin..], begin_offset, &mut out);
    }
    out
}

/// How many words of `step` come before its nodes (`link down 0 3`: three).
fn lead_words(step: &Step) -> usize {
    match step {
        Step::Link { .. } | Step::Expected { .. } => 3,
        Step::Qdevice { .. } | Step::Heuristics { .. } | Step::Qnetd(_) | Step::Votes { .. } => 2,
        _ => 1,
    }
}

/// Offset of the `nth` (0-based) node-like piece (not a partition prefix) equal to `text`,
/// after the `lead` words that precede the nodes; 0 when not found.
fn node_offset(source: &str, lead: usize, text: &str, nth: usize) -> u32 {
    pieces(source)
        .iter()
        .skip(lead)
        .filter(|piece| !piece.partition && piece.text.eq_ignore_ascii_case(text))
        .nth(nth)
        .map_or(0, |piece| piece.offset)
}

/// Offset of the `index`-th word (0-based) of `source`.
fn word_offset(source: &str, index: usize) -> u32 {
    let mut count = 0usize;
    let mut in_word = false;
    for (offset, character) in source.chars().enumerate() {
        if character.is_whitespace() {
            in_word = false;
        } else if !in_word {
            if count == index {
                return offset as u32;
            }
            count += 1;
            in_word = true;
        }
    }
    0
}

fn resolve(state: &ClusterState, settings: &QuorumSettings, node: &NodeRef) -> Option<NodeId> {
    match node {
        NodeRef::Id(nodeid) => state.position(*nodeid).map(|_| *nodeid),
        NodeRef::Name(name) => settings
            .nodes
            .iter()
            .find(|entry| entry.name == *name)
            .map(|entry| entry.nodeid),
    }
}

/// The links of `nodeid` as membership sees them (udp/udpu: link 0 only).
fn node_links(settings: &QuorumSettings, nodeid: NodeId) -> Option<Vec<u8>> {
    let node = settings.nodes.iter().find(|node| node.nodeid == nodeid)?;
    let mut links: Vec<u8> = node
        .links
        .iter()
        .copied()
        .filter(|link| match settings.transport {
            Transport::Knet => *link < 8,
            Transport::Udp | Transport::Udpu => *link == 0,
        })
        .collect();
    links.sort_unstable();
    links.dedup();
    Some(links)
}

fn configured_links(settings: &QuorumSettings) -> Vec<u8> {
    let mut links: Vec<u8> = settings
        .nodes
        .iter()
        .filter_map(|node| node_links(settings, node.nodeid))
        .flatten()
        .collect();
    links.sort_unstable();
    links.dedup();
    links
}

/// Refuses a number written for a node when some other node is named by that number
/// (names that are numbers would otherwise be silently shadowed by node ids). Runs before
/// the unknown-node check, so that `3` for the node named `3` says why it is not found.
pub fn check_names(
    state: &ClusterState,
    settings: &QuorumSettings,
    step: &Step,
    source: &str,
) -> Result<(), Refusal> {
    for node in step.node_refs() {
        let NodeRef::Id(number) = node else {
            continue;
        };
        let written = number.to_string();
        let Some(named) = settings
            .nodes
            .iter()
            .find(|entry| entry.name == written && entry.nodeid != *number)
        else {
            continue;
        };
        let id_alias = state.position(*number).map(|_| {
            settings
                .nodes
                .iter()
                .find(|entry| entry.nodeid == *number)
                .map(|entry| entry.name.clone())
                .filter(|name| !name.is_empty() && name.parse::<u32>().is_err())
                .unwrap_or_else(|| "its name".to_string())
        });
        return Err(Refusal {
            offset: node_offset(source, lead_words(step), &written, 0),
            problem: StepProblem::NumberIsAName {
                number: *number,
                named: named.nodeid,
                id_alias,
            },
        });
    }
    Ok(())
}

/// Whether some node's file on disk or running configuration has a quorum device (a script
/// that installs one, e.g. a plan adding a device, may drive qnetd from then on).
fn some_file_has_a_device(state: &ClusterState) -> bool {
    (0..state.nodeids().len()).any(|pos| {
        [state.disk_config(pos), state.running_config(pos)]
            .into_iter()
            .flatten()
            .any(|config| config.settings().device.is_some())
    })
}

/// Checks a step whose nodes are all known (see `whatif::check_nodes`) against the cluster
/// at that step. `source` is the step's text as written, from its first word.
pub fn check_step(
    state: &ClusterState,
    settings: &QuorumSettings,
    step: &Step,
    source: &str,
) -> Result<(), Refusal> {
    match step {
        Step::Up(specs) | Step::Move(specs) => {
            let mut placed: Vec<(NodeId, u8)> = Vec::new();
            let mut seen_text: Vec<String> = Vec::new();
            for spec in specs {
                let partition = spec.partition.unwrap_or(0);
                for node in &spec.nodes {
                    let text = node.to_string();
                    let nth = seen_text
                        .iter()
                        .filter(|seen| seen.eq_ignore_ascii_case(&text))
                        .count();
                    seen_text.push(text.clone());
                    let Some(nodeid) = resolve(state, settings, node) else {
                        continue;
                    };
                    if let Some((_, first)) = placed.iter().find(|(id, _)| *id == nodeid) {
                        if *first != partition {
                            return Err(Refusal {
                                offset: node_offset(source, 1, &text, nth),
                                problem: StepProblem::NodeInTwoPartitions {
                                    node: nodeid,
                                    first: *first,
                                    second: partition,
                                },
                            });
                        }
                    }
                    placed.push((nodeid, partition));
                }
            }
        }
        Step::Join { into, from } => {
            let mut existing: Vec<(u8, Vec<NodeId>)> = Vec::new();
            for (pos, nodeid) in state.nodeids().iter().enumerate() {
                if !state.is_up(pos) {
                    continue;
                }
                let Some(partition) = state.partitions().get(pos).copied() else {
                    continue;
                };
                match existing.iter_mut().find(|(label, _)| *label == partition) {
                    Some((_, nodes)) => nodes.push(*nodeid),
                    None => existing.push((partition, vec![*nodeid])),
                }
            }
            existing.sort();
            for nodes in existing.iter_mut().map(|(_, nodes)| nodes) {
                nodes.sort_unstable();
            }
            let named: Vec<u8> = std::iter::once(*into).chain(from.iter().copied()).collect();
            for (index, partition) in named.iter().enumerate() {
                if named[..index].contains(partition) {
                    return Err(Refusal {
                        offset: word_offset(source, index + 1),
                        problem: StepProblem::PartitionTwice {
                            partition: *partition,
                        },
                    });
                }
                if !existing.iter().any(|(label, _)| label == partition) {
                    return Err(Refusal {
                        offset: word_offset(source, index + 1),
                        problem: StepProblem::NoSuchPartition {
                            partition: *partition,
                            existing: existing.clone(),
                        },
                    });
                }
            }
        }
        Step::Link { link, scope, .. } => {
            let configured = configured_links(settings);
            if !configured.contains(link) {
                return Err(Refusal {
                    offset: word_offset(source, 2),
                    problem: StepProblem::UnknownLink {
                        link: *link,
                        configured,
                    },
                });
            }
            let nodes: Vec<&NodeRef> = match scope {
                LinkScope::All => Vec::new(),
                LinkScope::Nodes(nodes) => nodes.iter().collect(),
                LinkScope::Between(a, b) => {
                    if let (Some(first), Some(second)) =
                        (resolve(state, settings, a), resolve(state, settings, b))
                    {
                        if first == second {
                            return Err(Refusal {
                                offset: node_offset(source, 3, &b.to_string(), usize::from(a == b)),
                                problem: StepProblem::LinkToItself { node: first },
                            });
                        }
                    }
                    vec![a, b]
                }
            };
            for node in nodes {
                let Some(nodeid) = resolve(state, settings, node) else {
                    continue;
                };
                let Some(links) = node_links(settings, nodeid) else {
                    continue;
                };
                if !links.contains(link) {
                    return Err(Refusal {
                        offset: node_offset(source, 3, &node.to_string(), 0),
                        problem: StepProblem::NodeWithoutLink {
                            node: nodeid,
                            link: *link,
                            links,
                        },
                    });
                }
            }
        }
        Step::Qdevice { .. } | Step::Qnetd(_) | Step::Heuristics { .. }
            if settings.device.is_none() && !some_file_has_a_device(state) =>
        {
            return Err(Refusal {
                offset: 0,
                problem: StepProblem::NoQuorumDevice,
            });
        }
        _ => {}
    }
    Ok(())
}

/// The source text of the step that starts at `(line, column)` of `script_text`: up to the
/// next `;`, `#` or the end of the line.
pub fn step_source(script_text: &str, line: u32, column: u32) -> String {
    script_text
        .lines()
        .nth((line as usize).saturating_sub(1))
        .map(|line_text| {
            line_text
                .chars()
                .skip((column as usize).saturating_sub(1))
                .take_while(|c| *c != ';' && *c != '#')
                .collect::<String>()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::scenario::parse;

    fn check(settings: &QuorumSettings, script: &str) -> String {
        let state = ClusterState::new(settings).unwrap();
        let parsed = parse(script).unwrap();
        let step = &parsed.steps[0];
        let source = step_source(script, 1, 1);
        match check_names(&state, settings, step, &source)
            .and_then(|()| check_step(&state, settings, step, &source))
        {
            Ok(()) => "ok".to_string(),
            Err(refusal) => format!("{}: {refusal}", refusal.offset),
        }
    }

    #[test]
    fn issue10_refused_steps_name_the_token() {
        let three = QuorumSettings::plain(3);
        assert_eq!(
            check(&three, "split 1:1,2 2:2,3"),
            "14: node 2 is put in partition 1 and in partition 2 by the same step"
        );
        assert_eq!(check(&three, "split 1:1,2 1:2,3"), "ok");
        assert_eq!(
            check(&three, "link down 1"),
            "10: link 1 is not configured (configured: 0)"
        );
        assert_eq!(
            check(&three, "join 5 6"),
            "5: no running node is in partition 5 (partitions now: 0 = {1,2,3})"
        );
        assert_eq!(
            check(&three, "join 0 0"),
            "7: partition 0 is named twice in one join"
        );
        assert_eq!(
            check(&three, "link down 0 between 2 node2"),
            "22: a link between node 2 and itself"
        );
        assert_eq!(
            check(&three, "qdevice on 1"),
            "0: the configuration has no quorum device (quorum.device with a model), so no qdevice runs"
        );
        assert_eq!(
            check(&three, "qnetd cut 1"),
            "0: the configuration has no quorum device (quorum.device with a model), so no qdevice runs"
        );
        assert_eq!(
            check(&three, "heuristics fail 2"),
            "0: the configuration has no quorum device (quorum.device with a model), so no qdevice runs"
        );
        assert_eq!(check(&three, "link down 0 3"), "ok");
        let mut two_links = QuorumSettings::plain(3);
        two_links.nodes[0].links = vec![0, 1];
        two_links.nodes[1].links = vec![0, 1];
        assert_eq!(
            check(&two_links, "link down 1  1,3"),
            "15: node 3 has no ring1_addr, so it is not on link 1 (its links: 0)"
        );
        two_links.transport = Transport::Udpu;
        assert_eq!(
            check(&two_links, "link down 1"),
            "10: link 1 is not configured (configured: 0)"
        );
    }

    #[test]
    fn issue10_number_names_are_not_shadowed() {
        let mut settings = QuorumSettings::plain(3);
        settings.nodes[2].nodeid = 7;
        settings.nodes[2].name = "3".to_string();
        assert_eq!(
            check(&settings, "down 3"),
            "5: `3` is ambiguous: a number in a script always means a node id, but node 7 is named `3`; \
             write 7 for node 7 (by its id)"
        );
        settings.nodes[1].nodeid = 3;
        settings.nodes[1].name = "pve-b".to_string();
        assert_eq!(
            check(&settings, "stop 1 3"),
            "7: `3` is ambiguous: a number in a script always means a node id, but node 7 is named `3` \
             and node 3 exists too; write `pve-b` for node 3, or rename node 7"
        );
        assert_eq!(check(&settings, "stop pve-b 7"), "ok");
    }
}
