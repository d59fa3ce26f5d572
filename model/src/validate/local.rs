//! Local-node identification without IO (spec 4.4, `find_local_node` in totemconfig.c) and
//! address resolution from the user's hosts map.
//!
//! Owns `find_local_node` and `Resolution`. It must not touch DNS, /etc/hosts or network
//! interfaces: the user's `HostFacts` stand in for uname, getifaddrs and getaddrinfo.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::config::{Config, Node};

/// How a ring address or name resolves here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// An IP literal, or a hostname found in the hosts map.
    Address(IpAddr),
    /// A hostname and no hosts map: assumed to resolve, family unknown.
    Assumed,
    /// A hostname the given hosts map does not know.
    Unresolvable,
}

/// Resolves `text` as this crate can: literal, then hosts map.
pub fn resolve(text: &str, hosts: Option<&BTreeMap<String, IpAddr>>) -> Resolution {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Resolution::Address(address);
    }
    match hosts {
        None => Resolution::Assumed,
        Some(hosts) => hosts
            .get(text)
            .map_or(Resolution::Unresolvable, |address| Resolution::Address(*address)),
    }
}

/// Nodes in the order corosync's icmap iterates them: by the decimal text of their
/// position (`nodelist.node.10.` sorts before `nodelist.node.2.`).
pub fn icmap_order(config: &Config) -> Vec<&Node> {
    let mut nodes: Vec<&Node> = config.nodelist.nodes.iter().collect();
    nodes.sort_by_key(|node| node.index.to_string());
    nodes
}

/// `nodelist_byname(find_name, 0)`: the first node whose `name`, then `ring0_addr`, is
/// exactly `find_name`.
fn by_name(nodes: &[&Node], find_name: &str) -> Option<u32> {
    nodes.iter().find_map(|node| {
        let matches = node.name.as_ref().is_some_and(|name| name.value == find_name)
            || node.ring0_addr().is_some_and(|ring0| ring0.value == find_name);
        matches.then_some(node.index)
    })
}

/// The position of the local node, identified as `find_local_node` does, with `local` (a
/// name or an address given by the user) standing in for the host's uname and addresses:
/// 1. exact match of `local` with a node's `name`, then `ring0_addr`;
/// 2. the same with `local` stripped of trailing domain labels, one at a time;
/// 3. when `local` is an address: names the hosts map gives for it, then the address
///    itself compared with each node's `name`/`ring0_addr` read as an address;
/// 4. each node's `name`/`ring0_addr` resolved (literal or hosts map) and compared with the
///    local addresses.
pub fn find_local_node(
    config: &Config,
    local: &str,
    hosts: Option<&BTreeMap<String, IpAddr>>,
) -> Option<u32> {
    let nodes = icmap_order(config);
    if let Some(index) = by_name(&nodes, local) {
        return Some(index);
    }
    let mut stripped = local;
    while let Some((head, _)) = stripped.rsplit_once('.') {
        stripped = head;
        if let Some(index) = by_name(&nodes, stripped) {
            return Some(index);
        }
    }
    let mut local_addresses: Vec<IpAddr> = Vec::new();
    if let Ok(address) = local.parse::<IpAddr>() {
        local_addresses.push(address);
    }
    if let Some(address) = hosts.and_then(|hosts| hosts.get(local)) {
        local_addresses.push(*address);
    }
    for address in &local_addresses {
        if let Some(hosts) = hosts {
            for (name, mapped) in hosts {
                if mapped == address {
                    if let Some(index) = by_name(&nodes, name) {
                        return Some(index);
                    }
                }
            }
        }
        let numeric = nodes.iter().find_map(|node| {
            let same = |text: &str| text.parse::<IpAddr>().is_ok_and(|parsed| parsed == *address);
            let matches = node.name.as_ref().is_some_and(|name| same(&name.value))
                || node.ring0_addr().is_some_and(|ring0| same(&ring0.value));
            matches.then_some(node.index)
        });
        if numeric.is_some() {
            return numeric;
        }
    }
    nodes.iter().find_map(|node| {
        let resolves_here = |text: &str| match resolve(text, hosts) {
            Resolution::Address(address) => local_addresses.contains(&address),
            Resolution::Assumed | Resolution::Unresolvable => false,
        };
        let matches = node.name.as_ref().is_some_and(|name| resolves_here(&name.value))
            || node.ring0_addr().is_some_and(|ring0| resolves_here(&ring0.value));
        matches.then_some(node.index)
    })
}
