//! What the lab builds from a corosync.conf: nodes, links and lab addresses.
//!
//! Owns `Layout` (the nodes with their lab addresses, the links, the rewritten config text and
//! the address mapping), `layout` (from a user's config), `generated_config` (for `--nodes N`)
//! and `lab_address`. A given config keeps its structure: only `ringN_addr` values, a
//! `bindnetaddr` and a `logfile` outside `/var/log/corosync` are rewritten, through
//! `model::syntax`'s edit API. It must not do IO.

use crate::lab::timing::Timing;
use model::syntax::{self, Document, SectionId};
use model::Severity;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The most nodes a lab can have: one host byte per node in each link's /24.
pub const MAX_NODES: usize = 254;
/// corosync 3 with knet supports links 0 to 7.
pub const MAX_LINK: u8 = 7;
/// Where a node's corosync log goes inside the node (its own bind-mounted directory).
pub const LAB_LOGFILE: &str = "/var/log/corosync/corosync.log";

/// The address of the node in `slot` (1-based) on `link`: `198.18.<link>.<slot>`.
///
/// 198.18.0.0/15 is reserved for benchmarking (RFC 2544); the lab uses it only inside its own
/// network namespaces, so its traffic never leaves the machine.
pub fn lab_address(link: u8, slot: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, link, slot)
}

/// The node in `slot`'s spare address on `link` (`lab up --spare-addresses`):
/// `198.18.<link>.<SPARE_ADDRESS_OFFSET + slot>`, in the link's /24 beside its lab address
/// and in no config, an address a plan can move the node to (`readdress`).
pub fn spare_address(link: u8, slot: u8) -> Option<Ipv4Addr> {
    SPARE_ADDRESS_OFFSET
        .checked_add(slot)
        .filter(|byte| *byte < 255)
        .map(|byte| Ipv4Addr::new(198, 18, link, byte))
}

/// Spare addresses take the host bytes above this one, so a lab with them has at most
/// `254 - SPARE_ADDRESS_OFFSET` nodes (spare nodes included).
pub const SPARE_ADDRESS_OFFSET: u8 = 100;

/// Adds `count` links after `layout`'s highest (`lab up --spare-links N`) to every node:
/// a bridge and an address `198.18.<link>.<slot>` each, which the cluster's config does not
/// use (what an `add-link` plan adds). Spare nodes made afterwards get them too.
pub fn add_spare_links(layout: &mut Layout, count: u8) -> Result<(), LayoutError> {
    if count == 0 {
        return Ok(());
    }
    let highest = layout.links.iter().copied().max().unwrap_or(0);
    let last = highest
        .checked_add(count)
        .filter(|last| *last <= MAX_LINK)
        .ok_or(LayoutError::SpareLinks { highest, count })?;
    let added: Vec<u8> = (highest + 1..=last).collect();
    for node in &mut layout.nodes {
        for link in &added {
            node.addresses.insert(*link, lab_address(*link, node.slot));
        }
    }
    layout.links.extend(added);
    Ok(())
}

/// The network of `link` on which `bindnetaddr` is rewritten.
pub fn lab_network(link: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, link, 0)
}

/// One node of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabNode {
    /// The node's name: `name` from the nodelist, else `node<nodeid>`. It is the hostname.
    pub name: String,
    /// The corosync node id (`nodeid`, else the node's position in the nodelist).
    pub nodeid: u32,
    /// The node's 1-based position in the nodelist; the last byte of its addresses.
    pub slot: u8,
    /// The node's lab address on each of its links.
    pub addresses: BTreeMap<u8, Ipv4Addr>,
}

impl LabNode {
    /// The address sshd listens on and the inventory names: the one on the lowest link.
    pub fn main_address(&self) -> Option<Ipv4Addr> {
        self.addresses.values().next().copied()
    }
}

/// One value the lab changed in a given config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    /// Where: the node name, or the section path for non-node keys.
    pub place: String,
    /// The key (`ring0_addr`, `bindnetaddr`, `logfile`).
    pub key: String,
    /// The value in the given config.
    pub from: String,
    /// The value in the lab.
    pub to: String,
}

/// Everything the lab needs to know about its cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The nodes, in nodelist order.
    pub nodes: Vec<LabNode>,
    /// The link numbers any node uses, ascending.
    pub links: Vec<u8>,
    /// The corosync.conf every node gets.
    pub config: String,
    /// What was changed in a given config (empty for a generated one).
    pub rewrites: Vec<Rewrite>,
    /// Effective token and consensus, for waiting.
    pub timing: Timing,
}

/// Why the lab cannot build a cluster from a configuration or from `--nodes`/`--links`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// `--nodes` out of range.
    #[error("--nodes must be between 1 and {MAX_NODES}, not {0}")]
    NodeCount(usize),
    /// `--links` out of range.
    #[error("--links must be between 1 and {max}, not {0}", max = MAX_LINK + 1)]
    LinkCount(u8),
    /// The file has an error corosync's parser refuses.
    #[error("corosync would refuse this file: {}{message}", line.map(|line| format!("line {line}: ")).unwrap_or_default())]
    Refused {
        /// 1-based line, when known.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// No node sections.
    #[error("no `nodelist {{ node {{ ... }} }}`: the lab needs a nodelist")]
    NoNodelist,
    /// More node sections than the lab has addresses for.
    #[error("{0} nodes; the lab supports at most {MAX_NODES}")]
    TooManyNodes(usize),
    /// A `nodeid` that is not a positive number.
    #[error("node {slot}: `nodeid: {value}` is not a positive number")]
    BadNodeid {
        /// 1-based position of the node section.
        slot: u8,
        /// The value given.
        value: String,
    },
    /// A node name that cannot be a hostname or namespace name.
    #[error("node name `{0}` cannot be a hostname: use letters, digits, `-`, `_` and `.`")]
    BadName(String),
    /// Two nodes with one name.
    #[error("two nodes are named `{0}`")]
    DuplicateName(String),
    /// Two nodes with one node id.
    #[error("two nodes have nodeid {0}")]
    DuplicateNodeid(u32),
    /// A node section without its closing brace.
    #[error("node `{0}`: section is not closed")]
    Unclosed(String),
    /// A `ringN_addr` beyond knet's links.
    #[error("node `{node}`: `{key}` names link {link}; knet has links 0 to {MAX_LINK}")]
    BadLink {
        /// The node.
        node: String,
        /// The key.
        key: String,
        /// The link it names.
        link: u8,
    },
    /// A node without any ring address.
    #[error("node `{0}` has no `ringN_addr`")]
    NoAddress(String),
    /// More spare nodes than the lab has addresses (or node ids) for.
    #[error("{nodes} cluster nodes and {spare} spare nodes; the lab supports at most {MAX_NODES} in all")]
    TooManySpare {
        /// The cluster's nodes.
        nodes: usize,
        /// The spare nodes asked for.
        spare: usize,
    },
    /// `--spare-links` past knet's last link.
    #[error("--spare-links {count} after link {highest} goes past knet's last link {MAX_LINK}")]
    SpareLinks {
        /// The cluster's highest link.
        highest: u8,
        /// The spare links asked for.
        count: u8,
    },
    /// `--spare-addresses` with more nodes than spare host bytes.
    #[error("{0} nodes; with --spare-addresses the lab supports at most {max}", max = 254 - SPARE_ADDRESS_OFFSET)]
    TooManyForSpareAddresses(usize),
    /// The edit API could not rewrite a value.
    #[error("cannot rewrite `{key}` {place}")]
    Rewrite {
        /// The key.
        key: String,
        /// Where (`of node `a``, `of link 0`, `in `logging``).
        place: String,
    },
}

/// A corosync.conf for `nodes` nodes named `n1..nN` with knet links `0..links`, crypto on
/// and corosync's default timings.
pub fn generated_config(cluster_name: &str, nodes: usize, links: u8) -> Result<String, LayoutError> {
    if nodes == 0 || nodes > MAX_NODES {
        return Err(LayoutError::NodeCount(nodes));
    }
    if links == 0 || links > MAX_LINK + 1 {
        return Err(LayoutError::LinkCount(links));
    }
    let mut text = format!(
        "# Generated by `quorate lab up`.\ntotem {{\n  version: 2\n  cluster_name: {cluster_name}\n  \
         transport: knet\n  crypto_cipher: aes256\n  crypto_hash: sha256\n"
    );
    for link in 0..links {
        text.push_str(&format!("  interface {{\n    linknumber: {link}\n  }}\n"));
    }
    text.push_str("}\n\nnodelist {\n");
    for slot in 1..=nodes {
        text.push_str(&format!("  node {{\n    name: n{slot}\n    nodeid: {slot}\n"));
        for link in 0..links {
            // `slot` is at most MAX_NODES, checked above.
            let address = lab_address(link, slot as u8);
            text.push_str(&format!("    ring{link}_addr: {address}\n"));
        }
        text.push_str("  }\n");
    }
    text.push_str(&format!(
        "}}\n\nquorum {{\n  provider: corosync_votequorum\n}}\n\nlogging {{\n  to_logfile: yes\n  \
         logfile: {LAB_LOGFILE}\n  to_syslog: no\n  to_stderr: no\n  timestamp: on\n}}\n"
    ));
    Ok(text)
}

/// `count` spare nodes for `layout`: hosts after the cluster's nodes that are in no nodelist.
///
/// They take the next slots (so `198.18.<link>.<slot>` on every link of the cluster), node ids
/// above the cluster's highest, and names numbered on from the cluster's when every cluster
/// name is one prefix followed by a number (`n1..n3` gives `n4`, `pve1..pve3` gives `pve4`),
/// else `node<nodeid>` as the lab names a node without `name`. A name already taken is
/// skipped.
pub fn spare_nodes(layout: &Layout, count: usize) -> Result<Vec<LabNode>, LayoutError> {
    let too_many = || LayoutError::TooManySpare {
        nodes: layout.nodes.len(),
        spare: count,
    };
    let total = layout.nodes.len().checked_add(count).ok_or_else(too_many)?;
    if total > MAX_NODES {
        return Err(too_many());
    }
    let numbered: Vec<(&str, u64)> = layout
        .nodes
        .iter()
        .filter_map(|node| split_number(&node.name))
        .collect();
    let pattern = match numbered.first() {
        Some((prefix, _))
            if numbered.len() == layout.nodes.len() && numbered.iter().all(|(p, _)| p == prefix) =>
        {
            numbered
                .iter()
                .map(|(_, number)| *number)
                .max()
                .map(|max| (*prefix, max))
        }
        _ => None,
    };
    let mut taken: BTreeSet<String> = layout.nodes.iter().map(|node| node.name.clone()).collect();
    let highest_nodeid = layout.nodes.iter().map(|node| node.nodeid).max().unwrap_or(0);
    let mut next_number = pattern.map_or(0, |(_, max)| max);
    let mut spare = Vec::with_capacity(count);
    for index in 1..=count {
        // `total` is at most MAX_NODES (254), checked above.
        let slot = (layout.nodes.len() + index) as u8;
        let nodeid = u32::try_from(index)
            .ok()
            .and_then(|index| highest_nodeid.checked_add(index))
            .ok_or_else(too_many)?;
        let name = loop {
            let candidate = match pattern {
                Some((prefix, _)) => {
                    next_number = next_number.checked_add(1).ok_or_else(too_many)?;
                    format!("{prefix}{next_number}")
                }
                None => format!("node{nodeid}"),
            };
            if !taken.contains(&candidate) && valid_node_name(&candidate) {
                break candidate;
            }
            if pattern.is_none() {
                // `node<nodeid>` is taken by a cluster node's own name: fall back on a
                // numbered one that no cluster node uses.
                break (1..)
                    .map(|k| format!("spare{k}"))
                    .find(|name| !taken.contains(name))
                    .unwrap_or_default();
            }
        };
        taken.insert(name.clone());
        let addresses = layout
            .links
            .iter()
            .map(|link| (*link, lab_address(*link, slot)))
            .collect();
        spare.push(LabNode {
            name,
            nodeid,
            slot,
            addresses,
        });
    }
    Ok(spare)
}

/// A name's prefix and trailing number (`pve12` gives `("pve", 12)`), if it ends in digits.
fn split_number(name: &str) -> Option<(&str, u64)> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 9 {
        return None;
    }
    let (prefix, number) = name.split_at(name.len() - digits);
    Some((prefix, number.parse().ok()?))
}

/// The link number of a `ringN_addr` key.
fn ring_key_link(key: &str) -> Option<u8> {
    let number = key.strip_prefix("ring")?.strip_suffix("_addr")?;
    number.parse().ok()
}

/// A hostname-safe node name: corosync names may hold anything, a hostname and a namespace
/// name may not.
fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with(['-', '.'])
}

/// Builds the lab's layout from a corosync.conf text. Addresses are rewritten to lab
/// addresses; everything else (comments, order, options) is kept.
pub fn layout(text: &str) -> Result<Layout, LayoutError> {
    let (document, diagnostics) = syntax::parse(text);
    if let Some(error) = diagnostics.iter().find(|d| d.severity == Severity::Error) {
        let line = error
            .span
            .map(|span| model::LineIndex::new(text).line_col(text, span.start).0);
        return Err(LayoutError::Refused {
            line,
            message: error.message.clone(),
        });
    }
    let node_sections = document.sections_at("nodelist.node");
    if node_sections.is_empty() {
        return Err(LayoutError::NoNodelist);
    }
    if node_sections.len() > MAX_NODES {
        return Err(LayoutError::TooManyNodes(node_sections.len()));
    }
    let mut nodes = Vec::new();
    let mut edits: Vec<(usize, String, String)> = Vec::new();
    let mut seen_names = BTreeSet::new();
    let mut seen_ids = BTreeSet::new();
    for (index, section) in node_sections.iter().enumerate() {
        // At most MAX_NODES (254) sections, checked above.
        let slot = (index + 1) as u8;
        let nodeid = match section.value("nodeid") {
            Some(value) => value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| LayoutError::BadNodeid {
                    slot,
                    value: value.to_string(),
                })?,
            None => u32::from(slot),
        };
        let name = match section.value("name") {
            Some(name) => name.trim().to_string(),
            None => format!("node{nodeid}"),
        };
        if !valid_node_name(&name) {
            return Err(LayoutError::BadName(name));
        }
        if !seen_names.insert(name.clone()) {
            return Err(LayoutError::DuplicateName(name));
        }
        if !seen_ids.insert(nodeid) {
            return Err(LayoutError::DuplicateNodeid(nodeid));
        }
        let Some(start_line) = section.start_line else {
            return Err(LayoutError::Unclosed(name));
        };
        let mut addresses = BTreeMap::new();
        for key in section.keys() {
            let Some(link) = ring_key_link(&key.key) else {
                continue;
            };
            if link > MAX_LINK {
                return Err(LayoutError::BadLink {
                    node: name,
                    key: key.key.clone(),
                    link,
                });
            }
            let address = lab_address(link, slot);
            addresses.insert(link, address);
            edits.push((start_line, key.key.clone(), address.to_string()));
        }
        if addresses.is_empty() {
            return Err(LayoutError::NoAddress(name));
        }
        nodes.push(LabNode {
            name,
            nodeid,
            slot,
            addresses,
        });
    }
    let links: Vec<u8> = nodes
        .iter()
        .flat_map(|node| node.addresses.keys().copied())
        .collect::<BTreeSet<u8>>()
        .into_iter()
        .collect();

    let mut rewrites = Vec::new();
    let mut document: Document = document;
    for (start_line, key, address) in edits {
        let place = node_name_at(&document, start_line);
        let from = document
            .section(SectionId::Line(start_line))
            .and_then(|section| section.value(&key))
            .unwrap_or_default()
            .to_string();
        // set_key rewrites one value on its own line: line numbers stay valid.
        document = document
            .set_key(SectionId::Line(start_line), &key, &address)
            .ok_or_else(|| LayoutError::Rewrite {
                key: key.clone(),
                place: format!("of node `{place}`"),
            })?;
        if from != address {
            rewrites.push(Rewrite {
                place,
                key,
                from,
                to: address,
            });
        }
    }
    document = rewrite_interfaces(document, &mut rewrites)?;
    document = rewrite_logfile(document, &mut rewrites)?;
    let timing = Timing::of(&document);
    Ok(Layout {
        nodes,
        links,
        config: document.to_text(),
        rewrites,
        timing,
    })
}

/// The `name` of the node section starting at `start_line`, for messages.
fn node_name_at(document: &Document, start_line: usize) -> String {
    let section = document.section(SectionId::Line(start_line));
    match section.and_then(|s| s.value("name").or(s.value("nodeid"))) {
        Some(name) => name.to_string(),
        None => format!("line {}", start_line + 1),
    }
}

/// Points each `totem.interface` `bindnetaddr` at its link's lab network (udp/udpu use it).
fn rewrite_interfaces(mut document: Document, rewrites: &mut Vec<Rewrite>) -> Result<Document, LayoutError> {
    let interfaces: Vec<(usize, u8, String)> = document
        .sections_at("totem.interface")
        .iter()
        .filter_map(|section| {
            let start = section.start_line?;
            let link = section
                .value("linknumber")
                .or(section.value("ringnumber"))
                .map_or(Some(0), |v| v.trim().parse::<u8>().ok())?;
            let bindnetaddr = section.value("bindnetaddr")?.to_string();
            Some((start, link, bindnetaddr))
        })
        .collect();
    for (start, link, from) in interfaces {
        let to = lab_network(link).to_string();
        document = document
            .set_key(SectionId::Line(start), "bindnetaddr", &to)
            .ok_or_else(|| LayoutError::Rewrite {
                key: "bindnetaddr".into(),
                place: format!("of link {link}"),
            })?;
        if from != to {
            rewrites.push(Rewrite {
                place: format!("totem.interface (link {link})"),
                key: "bindnetaddr".into(),
                from,
                to,
            });
        }
    }
    Ok(document)
}

/// Keeps a node's log inside the node: a `logfile` elsewhere would write to the host.
fn rewrite_logfile(mut document: Document, rewrites: &mut Vec<Rewrite>) -> Result<Document, LayoutError> {
    let sections: Vec<(usize, String, String)> = ["logging", "logging.logger_subsys"]
        .iter()
        .flat_map(|path| document.sections_at(path))
        .filter_map(|section| {
            let from = section.value("logfile")?;
            let start = section.start_line?;
            (!from.starts_with("/var/log/corosync/")).then(|| (start, section.path.clone(), from.to_string()))
        })
        .collect();
    for (start, place, from) in sections {
        document = document
            .set_key(SectionId::Line(start), "logfile", LAB_LOGFILE)
            .ok_or_else(|| LayoutError::Rewrite {
                key: "logfile".into(),
                place: format!("in `{place}`"),
            })?;
        rewrites.push(Rewrite {
            place,
            key: "logfile".into(),
            from,
            to: LAB_LOGFILE.into(),
        });
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PVE: &str = "logging {
  debug: off
  to_syslog: yes
  logfile: /var/log/cluster/corosync.log
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.11 # mgmt
    ring1_addr: 172.16.0.11
  }
  node {
    name: pve2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: pve2.example.org
    ring1_addr: 172.16.0.12
  }
  node {
    name: pve3
    nodeid: 3
    quorum_votes: 1
    ring0_addr: 10.0.0.13
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: pve
  config_version: 4
  interface {
    linknumber: 0
  }
  interface {
    linknumber: 1
    bindnetaddr: 172.16.0.0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}
";

    #[test]
    fn rewrites_addresses_and_keeps_everything_else() {
        let layout = layout(PVE).unwrap();
        let names: Vec<&str> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, vec!["pve1", "pve2", "pve3"]);
        assert_eq!(layout.links, vec![0, 1]);
        assert_eq!(
            layout.nodes[1].addresses,
            BTreeMap::from([
                (0, Ipv4Addr::new(198, 18, 0, 2)),
                (1, Ipv4Addr::new(198, 18, 1, 2))
            ])
        );
        assert_eq!(layout.nodes[2].addresses.len(), 1);
        // Only the rewritten values differ, line by line.
        let changed: Vec<(&str, &str)> = PVE
            .lines()
            .zip(layout.config.lines())
            .filter(|(before, after)| before != after)
            .collect();
        assert_eq!(
            changed,
            vec![
                (
                    "  logfile: /var/log/cluster/corosync.log",
                    "  logfile: /var/log/corosync/corosync.log"
                ),
                ("    ring0_addr: 10.0.0.11 # mgmt", "    ring0_addr: 198.18.0.1"),
                ("    ring1_addr: 172.16.0.11", "    ring1_addr: 198.18.1.1"),
                ("    ring0_addr: pve2.example.org", "    ring0_addr: 198.18.0.2"),
                ("    ring1_addr: 172.16.0.12", "    ring1_addr: 198.18.1.2"),
                ("    ring0_addr: 10.0.0.13", "    ring0_addr: 198.18.0.3"),
                ("    bindnetaddr: 172.16.0.0", "    bindnetaddr: 198.18.1.0"),
            ]
        );
        assert_eq!(PVE.lines().count(), layout.config.lines().count());
        assert_eq!(layout.rewrites.len(), 7);
        assert_eq!(
            layout.rewrites[3],
            Rewrite {
                place: "pve2".into(),
                key: "ring1_addr".into(),
                from: "172.16.0.12".into(),
                to: "198.18.1.2".into()
            }
        );
        assert_eq!(
            layout.timing,
            Timing {
                token_ms: 3650,
                consensus_ms: 4380
            }
        );
    }

    #[test]
    fn a_generated_config_is_its_own_layout() {
        let text = generated_config("qlab", 3, 2).unwrap();
        let layout = layout(&text).unwrap();
        assert_eq!(layout.config, text);
        assert!(layout.rewrites.is_empty());
        assert_eq!(layout.links, vec![0, 1]);
        assert_eq!(layout.nodes[2].name, "n3");
        assert_eq!(layout.nodes[2].main_address(), Some(Ipv4Addr::new(198, 18, 0, 3)));
    }

    #[test]
    fn spare_links_and_addresses_stay_out_of_the_config() {
        let text = generated_config("qlab", 3, 1).unwrap();
        let mut one_link = layout(&text).unwrap();
        add_spare_links(&mut one_link, 2).unwrap();
        assert_eq!(one_link.links, vec![0, 1, 2]);
        assert_eq!(one_link.config, text, "the config is not touched");
        assert_eq!(
            one_link.nodes[1].addresses.get(&2),
            Some(&Ipv4Addr::new(198, 18, 2, 2))
        );
        // Spare nodes made afterwards are on the spare links too.
        assert_eq!(spare_nodes(&one_link, 1).unwrap()[0].addresses.len(), 3);
        let mut full = layout(&generated_config("qlab", 3, 8).unwrap()).unwrap();
        assert_eq!(
            add_spare_links(&mut full, 1).unwrap_err().to_string(),
            "--spare-links 1 after link 7 goes past knet's last link 7"
        );
        assert_eq!(spare_address(1, 3), Some(Ipv4Addr::new(198, 18, 1, 103)));
        assert_eq!(spare_address(0, 154), Some(Ipv4Addr::new(198, 18, 0, 254)));
        assert_eq!(spare_address(0, 155), None);
    }

    #[test]
    fn spare_nodes_follow_the_cluster_on_every_link() {
        let generated = layout(&generated_config("qlab", 3, 2).unwrap()).unwrap();
        let spare = spare_nodes(&generated, 2).unwrap();
        assert_eq!(
            spare,
            vec![
                LabNode {
                    name: "n4".into(),
                    nodeid: 4,
                    slot: 4,
                    addresses: BTreeMap::from([
                        (0, Ipv4Addr::new(198, 18, 0, 4)),
                        (1, Ipv4Addr::new(198, 18, 1, 4))
                    ]),
                },
                LabNode {
                    name: "n5".into(),
                    nodeid: 5,
                    slot: 5,
                    addresses: BTreeMap::from([
                        (0, Ipv4Addr::new(198, 18, 0, 5)),
                        (1, Ipv4Addr::new(198, 18, 1, 5))
                    ]),
                },
            ]
        );
        assert_eq!(spare_nodes(&generated, 0).unwrap(), Vec::new());
        // pve3 has no ring1_addr; a spare still gets an address on both links.
        let pve = layout(PVE).unwrap();
        let spare = spare_nodes(&pve, 1).unwrap();
        assert_eq!((spare[0].name.as_str(), spare[0].nodeid), ("pve4", 4));
        assert_eq!(spare[0].addresses.len(), 2);
        // No common pattern: named as the lab names a node without `name`.
        let mixed = layout(
            "nodelist {\n node {\n  name: alpha\n  nodeid: 11\n  ring0_addr: x\n }\n node {\n  \
             name: node13\n  nodeid: 12\n  ring0_addr: y\n }\n}\n",
        )
        .unwrap();
        let names: Vec<(String, u32)> = spare_nodes(&mixed, 2)
            .unwrap()
            .into_iter()
            .map(|node| (node.name, node.nodeid))
            .collect();
        assert_eq!(
            names,
            vec![("spare1".to_string(), 13), ("node14".to_string(), 14)]
        );
        assert_eq!(
            spare_nodes(&generated, 252).unwrap_err().to_string(),
            "3 cluster nodes and 252 spare nodes; the lab supports at most 254 in all"
        );
        assert_eq!(spare_nodes(&generated, 251).unwrap().len(), 251);
    }

    #[test]
    fn refuses_what_the_lab_cannot_build() {
        let check = |text: &str| layout(text).unwrap_err().to_string();
        assert_eq!(
            check("totem {\n}\n"),
            "no `nodelist { node { ... } }`: the lab needs a nodelist"
        );
        assert_eq!(
            check("nodelist {\n node {\n  name: a b\n  ring0_addr: x\n }\n}\n"),
            "node name `a b` cannot be a hostname: use letters, digits, `-`, `_` and `.`"
        );
        assert_eq!(
            check("nodelist {\n node {\n  nodeid: 1\n  ring0_addr: x\n }\n node {\n  nodeid: 1\n  ring0_addr: y\n }\n}\n"),
            "two nodes are named `node1`"
        );
        assert_eq!(
            check("nodelist {\n node {\n  nodeid: 1\n }\n}\n"),
            "node `node1` has no `ringN_addr`"
        );
        assert_eq!(
            check("totem {\n  version 2\n}\n"),
            "corosync would refuse this file: line 2: Line is not opening or closing section or key value"
        );
        assert_eq!(
            generated_config("x", 0, 1).unwrap_err().to_string(),
            "--nodes must be between 1 and 254, not 0"
        );
        assert_eq!(
            generated_config("x", 2, 9).unwrap_err().to_string(),
            "--links must be between 1 and 8, not 9"
        );
    }
}
