//! `apply`: a list of goals edited into a corosync.conf through the lossless edit API.
//!
//! Owns the meaning of each goal on a `Document` (which lines it adds, rewrites or
//! removes), the refusals (unknown node, used nodeid or address, missing or existing link,
//! a goal that changes nothing, goals that contradict each other) and the consequences the
//! operator must know (two_node dropped when a third node or a qdevice arrives,
//! expected_votes following the sum of votes, config_version bumped). It must not order
//! steps (the planner does) nor judge the target (lint does).

use super::{Goal, GoalError, GoalProblem, QdeviceAlgorithm};
use crate::syntax::{Document, SectionId};
use std::collections::BTreeMap;

/// The target the goals describe, and what the operator should know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The source document with every goal applied (untouched lines byte for byte).
    pub document: Document,
    /// Consequences of the goals beyond their own lines, one sentence each (two_node
    /// dropped, expected_votes updated, config_version bumped, what to consider).
    pub notes: Vec<String>,
    /// Whether a `rolling-restart` goal asks for every node to be restarted once.
    pub rolling_restart: bool,
}

/// One node of the nodelist as the goals need it.
#[derive(Clone, Debug)]
struct NodeView {
    start_line: usize,
    name: Option<String>,
    nodeid: Option<String>,
    /// `ring<N>_addr` by link number.
    links: BTreeMap<u8, String>,
    /// `quorum_votes`, default 1.
    votes: u32,
    /// Whether the node section writes `quorum_votes`.
    has_votes_key: bool,
    /// The node's keys in file order (the layout a new node copies).
    keys: Vec<String>,
}

impl NodeView {
    /// `pve1-node1`, else `nodeid 3`, else its ring0 address.
    fn label(&self) -> String {
        match (&self.name, &self.nodeid) {
            (Some(name), _) => name.clone(),
            (None, Some(nodeid)) => format!("nodeid {nodeid}"),
            (None, None) => self
                .links
                .get(&0)
                .cloned()
                .unwrap_or_else(|| format!("the node at line {}", self.start_line + 1)),
        }
    }
}

fn ring_key(link: u8) -> String {
    format!("ring{link}_addr")
}

fn nodes(document: &Document) -> Vec<NodeView> {
    document
        .sections_at("nodelist.node")
        .into_iter()
        .filter_map(|section| {
            let start_line = section.start_line?;
            let links = (0..super::MAX_LINKS)
                .filter_map(|link| {
                    section
                        .value(&ring_key(link))
                        .map(|address| (link, address.to_string()))
                })
                .collect();
            Some(NodeView {
                start_line,
                name: section.value("name").map(str::to_string),
                nodeid: section.value("nodeid").map(str::to_string),
                links,
                votes: section
                    .value("quorum_votes")
                    .and_then(|votes| votes.parse().ok())
                    .unwrap_or(1),
                has_votes_key: section.key("quorum_votes").is_some(),
                keys: section.keys().map(|key| key.key.clone()).collect(),
            })
        })
        .collect()
}

/// The links the cluster has: every link number some node has an address on.
fn cluster_links(nodes: &[NodeView]) -> Vec<u8> {
    let mut links: Vec<u8> = nodes.iter().flat_map(|node| node.links.keys().copied()).collect();
    links.sort_unstable();
    links.dedup();
    links
}

/// The node `reference` names: by name, else by nodeid, else by ring0 address.
fn find_node(nodes: &[NodeView], reference: &str) -> Result<usize, GoalProblem> {
    let by = |matches: &dyn Fn(&NodeView) -> bool| nodes.iter().position(matches);
    by(&|node| node.name.as_deref() == Some(reference))
        .or_else(|| by(&|node| node.nodeid.as_deref() == Some(reference)))
        .or_else(|| by(&|node| node.links.get(&0).map(String::as_str) == Some(reference)))
        .ok_or_else(|| GoalProblem::UnknownNode {
            node: reference.to_string(),
            known: nodes
                .iter()
                .map(|node| match (&node.name, &node.nodeid) {
                    (Some(name), Some(nodeid)) => format!("{name} ({nodeid})"),
                    _ => node.label(),
                })
                .collect(),
        })
}

/// The one section at `path`, or None; an error when it repeats.
fn unique_section(document: &Document, path: &str) -> Result<Option<SectionId>, GoalProblem> {
    let sections = document.sections_at(path);
    match sections.as_slice() {
        [] => Ok(None),
        [one] => Ok(one.start_line.map(SectionId::Line)),
        _ => Err(GoalProblem::RepeatedSection(path.to_string())),
    }
}

/// The section at `path`, created (with every missing parent) when absent.
fn ensure_section(document: &Document, path: &str) -> Result<(Document, SectionId), GoalProblem> {
    let mut document = document.clone();
    let mut parent = SectionId::Root;
    let mut prefix = String::new();
    for component in path.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(component);
        parent = match unique_section(&document, &prefix)? {
            Some(id) => id,
            None => {
                document = edited(document.add_section(parent, component, &[]))?;
                unique_section(&document, &prefix)?.ok_or_else(|| GoalProblem::BadKey(path.to_string()))?
            }
        };
    }
    Ok((document, parent))
}

/// An edit of the API that found its section: the edit API returns None only for a
/// section id that does not exist, which the callers looked up just before.
fn edited(document: Option<Document>) -> Result<Document, GoalProblem> {
    document.ok_or(GoalProblem::NoNodes)
}

/// The value of `key` in the one section at `path`.
fn value_at(document: &Document, path: &str, key: &str) -> Option<String> {
    let sections = document.sections_at(path);
    sections
        .last()
        .and_then(|section| section.value(key))
        .map(str::to_string)
}

/// What two goals both change, when they contradict each other.
fn conflict(first: &Goal, second: &Goal) -> Option<&'static str> {
    use Goal::*;
    match (first, second) {
        (AddNode { name: a, .. }, AddNode { name: b, .. }) if a == b => Some("both add the same node"),
        (AddNode { name: a, .. }, RemoveNode { node: b })
        | (RemoveNode { node: b }, AddNode { name: a, .. })
            if a == b =>
        {
            Some("one adds the node the other removes")
        }
        (RemoveNode { node: a }, RemoveNode { node: b }) if a == b => Some("both remove the same node"),
        (
            AddLink { link: a, .. } | RemoveLink { link: a },
            AddLink { link: b, .. } | RemoveLink { link: b },
        ) if a == b => Some("both change the same link"),
        (Readdress { node: a, link: x, .. }, Readdress { node: b, link: y, .. }) if a == b && x == y => {
            Some("both give the node an address on the same link")
        }
        (Readdress { node: a, .. }, RemoveNode { node: b })
        | (RemoveNode { node: b }, Readdress { node: a, .. })
            if a == b =>
        {
            Some("one re-addresses the node the other removes")
        }
        (Readdress { link: a, .. }, RemoveLink { link: b } | AddLink { link: b, .. })
        | (RemoveLink { link: b } | AddLink { link: b, .. }, Readdress { link: a, .. })
            if a == b =>
        {
            Some("one re-addresses a node on the link the other adds or removes")
        }
        (
            Set {
                section: s1, key: k1, ..
            }
            | Unset { section: s1, key: k1 },
            Set {
                section: s2, key: k2, ..
            }
            | Unset { section: s2, key: k2 },
        ) if s1 == s2 && k1 == k2 => Some("both write the same key"),
        (AddQdevice { .. } | RemoveQdevice, AddQdevice { .. } | RemoveQdevice) => {
            Some("both change the quorum device")
        }
        (RollingRestart, RollingRestart) => Some("rolling-restart is given twice"),
        _ => None,
    }
}

/// Applies `goals` in order to `source`: the target text the planner plans towards.
///
/// Fails with the first goal that cannot be applied, contradicts another one or changes
/// nothing. Consequences beyond the goals' own lines are in `Applied::notes`.
pub fn apply(source: &Document, goals: &[Goal]) -> Result<Applied, GoalError> {
    for (index, first) in goals.iter().enumerate() {
        for second in &goals[index + 1..] {
            if let Some(why) = conflict(first, second) {
                return Err(GoalError::new(
                    second.to_string(),
                    GoalProblem::Conflict {
                        other: first.to_string(),
                        why,
                    },
                ));
            }
        }
    }
    let mut document = source.clone();
    let mut notes = Vec::new();
    for goal in goals {
        document = apply_one(&document, goal, &mut notes)
            .map_err(|problem| GoalError::new(goal.to_string(), problem))?;
    }
    let rolling_restart = goals.contains(&Goal::RollingRestart);
    let sets = |section: &str, key: &str| {
        goals.iter().any(|goal| match goal {
            Goal::Set {
                section: s, key: k, ..
            }
            | Goal::Unset { section: s, key: k } => s == section && k == key,
            _ => false,
        })
    };
    let describe = || {
        goals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if document.to_text() != source.to_text() {
        document = consequences(source, document, &sets, &mut notes)
            .map_err(|problem| GoalError::new(describe(), problem))?;
    } else if !rolling_restart {
        return Err(GoalError::new(
            describe(),
            GoalProblem::ChangesNothing("together the goals leave the file as it is".into()),
        ));
    }
    Ok(Applied {
        document,
        notes,
        rolling_restart,
    })
}

fn apply_one(document: &Document, goal: &Goal, notes: &mut Vec<String>) -> Result<Document, GoalProblem> {
    match goal {
        Goal::AddNode {
            name,
            addresses,
            votes,
            nodeid,
        } => add_node(document, name, addresses, *votes, *nodeid),
        Goal::RemoveNode { node } => {
            let nodes = nodes(document);
            let index = find_node(&nodes, node)?;
            if nodes.len() == 1 {
                return Err(GoalProblem::LastNode(nodes[index].label()));
            }
            edited(document.remove_section(SectionId::Line(nodes[index].start_line)))
        }
        Goal::AddLink { link, addresses } => add_link(document, *link, addresses),
        Goal::RemoveLink { link } => {
            let links = cluster_links(&nodes(document));
            if !links.contains(link) {
                return Err(GoalProblem::LinkMissing {
                    link: *link,
                    existing: links,
                });
            }
            if links.len() == 1 {
                return Err(GoalProblem::LastLink(*link));
            }
            edited(document.remove_link(*link))
        }
        Goal::Readdress { node, link, address } => {
            let nodes = nodes(document);
            let index = find_node(&nodes, node)?;
            let target = &nodes[index];
            let Some(current) = target.links.get(link) else {
                return Err(GoalProblem::LinkMissing {
                    link: *link,
                    existing: target.links.keys().copied().collect(),
                });
            };
            if current == address {
                return Err(GoalProblem::ChangesNothing(format!(
                    "`{}` already has {address} on link {link}",
                    target.label()
                )));
            }
            address_free(&nodes, Some(index), address)?;
            edited(document.set_key(SectionId::Line(target.start_line), &ring_key(*link), address))
        }
        Goal::Set { section, key, value } => {
            if let Some(id) = unique_section(document, section)? {
                let current = document.section(id).and_then(|found| found.value(key));
                if current == Some(value.as_str()) {
                    return Err(GoalProblem::ChangesNothing(format!(
                        "{section}.{key} is already {value}"
                    )));
                }
            }
            let (document, id) = ensure_section(document, section)?;
            edited(document.set_key(id, key, value))
        }
        Goal::Unset { section, key } => {
            let id = unique_section(document, section)?;
            let present = id
                .and_then(|id| document.section(id))
                .is_some_and(|found| found.key(key).is_some());
            match id {
                Some(id) if present => edited(document.remove_key(id, key)),
                _ => Err(GoalProblem::ChangesNothing(format!("{section}.{key} is not set"))),
            }
        }
        Goal::RollingRestart => Ok(document.clone()),
        Goal::AddQdevice { host, algorithm } => add_qdevice(document, host, *algorithm, notes),
        Goal::RemoveQdevice => match unique_section(document, "quorum.device")? {
            Some(id) => {
                notes.push(
                    "remove-qdevice: corosync-qdevice is stopped and disabled on every node \
                     before the reload that drops quorum.device, so no daemon still casts \
                     a vote the new file no longer counts"
                        .into(),
                );
                edited(document.remove_section(id))
            }
            None => Err(GoalProblem::QdeviceMissing),
        },
    }
}

/// An address no other node (than `except`) uses on any link: pvecm refuses a reused one.
fn address_free(nodes: &[NodeView], except: Option<usize>, address: &str) -> Result<(), GoalProblem> {
    for (index, node) in nodes.iter().enumerate() {
        if Some(index) == except {
            continue;
        }
        if let Some((link, _)) = node.links.iter().find(|(_, used)| *used == address) {
            return Err(GoalProblem::AddressUsed {
                address: address.to_string(),
                link: *link,
                by: node.label(),
            });
        }
    }
    Ok(())
}

fn add_node(
    document: &Document,
    name: &str,
    addresses: &[String],
    votes: Option<u32>,
    nodeid: Option<u32>,
) -> Result<Document, GoalProblem> {
    let nodes = nodes(document);
    if nodes.iter().any(|node| node.name.as_deref() == Some(name)) {
        return Err(GoalProblem::NodeExists(name.to_string()));
    }
    let links = if nodes.is_empty() {
        (0..addresses.len() as u8).collect()
    } else {
        cluster_links(&nodes)
    };
    if addresses.len() != links.len() {
        return Err(GoalProblem::AddressCount {
            expected: format!(
                "the cluster has {} link(s) ({}): one address per link, lowest link number first",
                links.len(),
                super::join_links(&links)
            ),
            given: addresses.len(),
        });
    }
    for (position, address) in addresses.iter().enumerate() {
        address_free(&nodes, None, address)?;
        if let Some(link) = addresses[..position].iter().position(|other| other == address) {
            return Err(GoalProblem::AddressUsed {
                address: address.clone(),
                link: links[link],
                by: name.to_string(),
            });
        }
    }
    let used: Vec<u32> = nodes
        .iter()
        .filter_map(|node| node.nodeid.as_deref().and_then(|id| id.parse().ok()))
        .collect();
    let free = (1..).find(|id| !used.contains(id)).unwrap_or(1);
    let nodeid = match nodeid {
        Some(id) if used.contains(&id) => {
            let by = nodes
                .iter()
                .find(|node| node.nodeid.as_deref() == Some(id.to_string().as_str()))
                .map(NodeView::label)
                .unwrap_or_default();
            return Err(GoalProblem::NodeIdUsed { nodeid: id, by, free });
        }
        Some(id) => id,
        None => free,
    };
    // The new node's items, in the layout of the first node (pvecm writes name, nodeid,
    // quorum_votes, ring addresses; hand-written files often put the addresses first).
    let mut pending: Vec<(String, String)> = vec![
        ("name".into(), name.into()),
        ("nodeid".into(), nodeid.to_string()),
    ];
    let all_write_votes = !nodes.is_empty() && nodes.iter().all(|node| node.has_votes_key);
    match votes {
        Some(votes) => pending.push(("quorum_votes".into(), votes.to_string())),
        None if all_write_votes => pending.push(("quorum_votes".into(), "1".into())),
        None => {}
    }
    for (link, address) in links.iter().zip(addresses) {
        pending.push((ring_key(*link), address.clone()));
    }
    let mut items = Vec::new();
    if let Some(template) = nodes.first() {
        for key in &template.keys {
            if let Some(position) = pending.iter().position(|(pending_key, _)| pending_key == key) {
                items.push(pending.remove(position));
            }
        }
    }
    items.extend(pending);
    let items: Vec<(&str, &str)> = items
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    edited(document.add_node(&items))
}

fn add_link(document: &Document, link: u8, addresses: &[String]) -> Result<Document, GoalProblem> {
    let nodes = nodes(document);
    if nodes.is_empty() {
        return Err(GoalProblem::NoNodes);
    }
    let links = cluster_links(&nodes);
    if links.contains(&link) {
        return Err(GoalProblem::LinkExists(link));
    }
    if addresses.len() != nodes.len() {
        return Err(GoalProblem::AddressCount {
            expected: format!(
                "the nodelist has {} node(s) ({}): one address per node, in nodelist order",
                nodes.len(),
                nodes.iter().map(NodeView::label).collect::<Vec<_>>().join(", ")
            ),
            given: addresses.len(),
        });
    }
    for (position, address) in addresses.iter().enumerate() {
        address_free(&nodes, Some(position), address)?;
        if let Some(other) = addresses[..position].iter().position(|other| other == address) {
            return Err(GoalProblem::AddressUsed {
                address: address.clone(),
                link,
                by: nodes[other].label(),
            });
        }
    }
    let key = ring_key(link);
    // The address goes after the node's highest lower ring address, keeping the rings together.
    let anchor = links
        .iter()
        .rev()
        .find(|existing| **existing < link)
        .map(|existing| ring_key(*existing));
    let mut document = document.clone();
    for (position, address) in addresses.iter().enumerate() {
        let start_line = self::nodes(&document)[position].start_line;
        let section = SectionId::Line(start_line);
        document = match &anchor {
            Some(anchor) => edited(document.set_key_after(section, &key, address, anchor))?,
            None => edited(document.set_key(section, &key, address))?,
        };
    }
    // A file that declares an interface section for every link (as pvecm writes, and its
    // verify_conf requires) gets one for the new link too.
    let interfaces = document.sections_at("totem.interface");
    let declared = |number: u8| {
        interfaces.iter().any(|section| {
            section.value("linknumber").or(section.value("ringnumber")) == Some(number.to_string().as_str())
        })
    };
    if !interfaces.is_empty() && links.iter().all(|existing| declared(*existing)) && !declared(link) {
        if let Some(totem) = unique_section(&document, "totem")? {
            let number = link.to_string();
            document = edited(document.add_section(totem, "interface", &[("linknumber", number.as_str())]))?;
        }
    }
    Ok(document)
}

fn add_qdevice(
    document: &Document,
    host: &str,
    algorithm: Option<QdeviceAlgorithm>,
    notes: &mut Vec<String>,
) -> Result<Document, GoalProblem> {
    if unique_section(document, "quorum.device")?.is_some() {
        return Err(GoalProblem::QdeviceExists);
    }
    let nodes = nodes(document);
    if nodes.is_empty() {
        return Err(GoalProblem::NoNodes);
    }
    let count = nodes.len();
    let algorithm = algorithm.unwrap_or_else(|| {
        if count.is_multiple_of(2) {
            QdeviceAlgorithm::Ffsplit
        } else {
            notes.push(format!(
                "add-qdevice: {count} nodes is an odd count, so the algorithm is lms (what \
                 `pvecm qdevice setup --force` picks; pvecm refuses an odd count without --force)"
            ));
            QdeviceAlgorithm::Lms
        }
    });
    let total_votes: u32 = nodes.iter().map(|node| node.votes).sum();
    let unequal = nodes.iter().any(|node| node.votes != 1);
    let expected_set = value_at(document, "quorum", "expected_votes").is_some();
    // ffsplit takes one vote (pvecm writes votes: 1); lms takes N-1, which votequorum
    // computes only when every node has one vote and expected_votes is not set (spec 2.8).
    let votes = match algorithm {
        QdeviceAlgorithm::Ffsplit => Some(1),
        QdeviceAlgorithm::Lms if unequal || expected_set => Some(total_votes.saturating_sub(1).max(1)),
        QdeviceAlgorithm::Lms => None,
    };
    let (document, quorum) = ensure_section(document, "quorum")?;
    let document = match document.section(quorum).and_then(|found| found.key("provider")) {
        Some(_) => document,
        None => edited(document.set_key(quorum, "provider", "corosync_votequorum"))?,
    };
    let votes_text = votes.map(|votes| votes.to_string());
    let mut items = vec![("model", "net")];
    if let Some(votes) = &votes_text {
        items.push(("votes", votes.as_str()));
    }
    let document = edited(document.add_section(quorum, "device", &items))?;
    let device = unique_section(&document, "quorum.device")?.ok_or(GoalProblem::QdeviceMissing)?;
    let document = edited(document.add_section(
        device,
        "net",
        &[("tls", "on"), ("host", host), ("algorithm", algorithm.as_str())],
    ))?;
    notes.push(format!(
        "add-qdevice: {host} must run corosync-qnetd, and every node needs corosync-qdevice \
         with its TLS certificate before the reload (pvecm qdevice setup does that over SSH)"
    ));
    Ok(document)
}

/// What follows from the goals beyond their own lines: two_node with a third node or a
/// qdevice, expected_votes following the sum of votes, config_version bumped.
fn consequences(
    source: &Document,
    mut document: Document,
    sets: &dyn Fn(&str, &str) -> bool,
    notes: &mut Vec<String>,
) -> Result<Document, GoalProblem> {
    let before = nodes(source);
    let after = nodes(&document);
    let has_qdevice = !document.sections_at("quorum.device").is_empty();
    let two_node_on = value_at(&document, "quorum", "two_node").is_some_and(|value| value.trim() != "0");
    if two_node_on && (after.len() > 2 || has_qdevice) && !sets("quorum", "two_node") {
        if let Some(quorum) = unique_section(&document, "quorum")? {
            document = edited(document.remove_key(quorum, "two_node"))?;
            let why = if has_qdevice {
                "votequorum refuses two_node together with a quorum device"
            } else {
                "two_node is for exactly two nodes; it must go in the same reload that makes the third node count"
            };
            let mut note = format!("two_node dropped: {why}");
            if value_at(&document, "quorum", "wait_for_all").is_none() {
                note.push_str(
                    "; wait_for_all, which two_node implied, goes with it \
                     (add `--goal 'set quorum.wait_for_all=1'` to keep it)",
                );
            }
            notes.push(note);
        }
    }
    let two_node_after = value_at(&document, "quorum", "two_node").is_some_and(|value| value.trim() != "0");
    if after.len() == 2 && before.len() != 2 && !two_node_after && !has_qdevice {
        notes.push(
            "the cluster goes down to 2 nodes: with one vote each, quorum needs both, so losing \
             either node stops the cluster; consider a quorum device (`--goal 'add-qdevice HOST'`, \
             as Proxmox recommends) or two_node (`--goal 'set quorum.two_node=1'`, which pcs \
             sets and pvecm never does; it implies wait_for_all)"
                .into(),
        );
    }
    let old_total: u32 = before.iter().map(|node| node.votes).sum();
    let new_total: u32 = after.iter().map(|node| node.votes).sum();
    if old_total != new_total && !sets("quorum", "expected_votes") {
        if let Some(expected) = value_at(&document, "quorum", "expected_votes") {
            let quorum = unique_section(&document, "quorum")?;
            match (expected.trim().parse::<u32>(), quorum) {
                (Ok(value), Some(quorum)) if value == old_total => {
                    document = edited(document.set_key(quorum, "expected_votes", &new_total.to_string()))?;
                    notes.push(format!(
                        "quorum.expected_votes {old_total} -> {new_total}: it was the sum of the \
                         votes, and a stale override changes the quorum every node computes"
                    ));
                }
                _ => notes.push(format!(
                    "quorum.expected_votes stays {} while the nodes' votes go from {old_total} to \
                     {new_total}; set it (`--goal 'set quorum.expected_votes=N'`) or unset it on purpose",
                    expected.trim()
                )),
            }
        }
    }
    if !sets("totem", "config_version") {
        if let (Some(text), Ok(Some(totem))) = (
            value_at(&document, "totem", "config_version"),
            unique_section(&document, "totem"),
        ) {
            if let Ok(version) = text.trim().parse::<u64>() {
                let bumped = version.saturating_add(1);
                document = edited(document.set_key(totem, "config_version", &bumped.to_string()))?;
                notes.push(format!(
                    "totem.config_version {version} -> {bumped}: every written change bumps it, as \
                     pvecm does (a node restarted with the old, lower version exits when it \
                     joins members at the new one; spec 5.4)"
                ));
            }
        }
    }
    Ok(document)
}
