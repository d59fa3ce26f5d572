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

/// Resolves `text` as this crate can: an address literal as `getaddrinfo` reads it
/// (including `inet_aton` forms such as `10.1` or `0xc6.18.0.2`, and IPv6 with a `%zone`),
/// then the hosts map. Without a hosts map a hostname is assumed to resolve, except a name
/// made only of digits and dots or one in the reserved `.invalid` domain, which no resolver
/// answers.
pub fn resolve(text: &str, hosts: Option<&BTreeMap<String, IpAddr>>) -> Resolution {
    if let Some(address) = parse_numeric(text) {
        return Resolution::Address(address);
    }
    match hosts {
        Some(hosts) => hosts
            .get(text)
            .map_or(Resolution::Unresolvable, |address| Resolution::Address(*address)),
        // All digits and dots (not an address), or the reserved `.invalid` domain
        // (RFC 6761): no resolver answers these.
        None if (!text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.'))
            || text
                .to_ascii_lowercase()
                .trim_end_matches('.')
                .ends_with(".invalid") =>
        {
            Resolution::Unresolvable
        }
        None => Resolution::Assumed,
    }
}

/// A numeric host as glibc's `getaddrinfo` accepts it: `inet_aton` for IPv4, `inet_pton`
/// for IPv6 with an optional `%scope`.
pub fn parse_numeric(text: &str) -> Option<IpAddr> {
    if let Some(address) = inet_aton(text) {
        return Some(IpAddr::V4(address));
    }
    let without_scope = text.split_once('%').map_or(text, |(address, _)| address);
    without_scope.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

/// `inet_aton`: one to four parts in C notation (hex `0x`, octal `0`, decimal); the last
/// part fills the remaining bytes.
fn inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
    // Fast path: a plain dotted quad without leading zeros means the same to both parsers.
    if let Ok(address) = text.parse::<std::net::Ipv4Addr>() {
        return Some(address);
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) || digits.len() > 12 {
            return None;
        }
        let value = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        values.push(value);
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|value| *value > 255) {
        return None;
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut address: u64 = 0;
    for (position, value) in leading.iter().enumerate() {
        address |= value << (24 - 8 * position as u32);
    }
    address |= last;
    u32::try_from(address).ok().map(std::net::Ipv4Addr::from)
}

/// Nodes in the order corosync's icmap iterates them: by the decimal text of their
/// position (`nodelist.node.10.` sorts before `nodelist.node.2.`).
pub fn icmap_order(config: &Config) -> Vec<&Node> {
    let mut nodes: Vec<&Node> = config.nodelist.nodes.iter().collect();
    nodes.sort_by_cached_key(|node| node.index.to_string());
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
    if let Some(address) = parse_numeric(local) {
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
            let same = |text: &str| parse_numeric(text) == Some(*address);
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
