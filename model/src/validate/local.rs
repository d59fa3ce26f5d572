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
/// then the hosts map. Without a hosts map a hostname is assumed to resolve when it is a
/// name DNS can hold (`host_name_problem` finds nothing); anything else (a port, brackets,
/// a prefix length, an empty label, a name of only digits and dots, the reserved `.invalid`
/// domain...) no resolver answers, and corosync -t refuses it.
pub fn resolve(text: &str, hosts: Option<&BTreeMap<String, IpAddr>>) -> Resolution {
    if let Some(address) = parse_numeric(text) {
        return Resolution::Address(address);
    }
    match hosts {
        Some(hosts) => hosts
            .get(text)
            .map_or(Resolution::Unresolvable, |address| Resolution::Address(*address)),
        None if host_name_problem(text).is_some() => Resolution::Unresolvable,
        None => Resolution::Assumed,
    }
}

/// Why `text`, which is not an address literal, is not a name any DNS resolver can return
/// an address for; `None` for a name that may resolve.
///
/// corosync 3.1.7 hands ring addresses to `getaddrinfo` unchanged (`totemip_parse`), so
/// whatever is not a literal must be a host name. Measured with `corosync -t` in a network
/// namespace (hosts: files): every such form is refused with `failed to parse node address`
/// unless /etc/hosts lists that exact string, which glibc's files backend matches without
/// checking its syntax (a name with a space cannot be listed at all). DNS cannot hold these
/// forms: its names are labels of 1 to 63 bytes, 253 bytes in all, separated by single dots
/// (RFC 1035 2.3.4), and host names use letters, digits and hyphens (RFC 1123 2.1); `_` is
/// allowed here because DNS carries it and resolvers do not refuse it.
pub fn host_name_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("is empty".to_string());
    }
    if text.chars().any(char::is_whitespace) {
        return Some(
            "contains a space, so no resolver (not even /etc/hosts) can return an address for it".to_string(),
        );
    }
    if let Some(problem) = address_like_problem(text) {
        return Some(problem);
    }
    if let Some(bad) = text
        .chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '.' | '_')))
    {
        return Some(format!(
            "is not an IP address and not a host name: `{bad}` cannot appear in a host name (letters, digits, `-` and `.` only)"
        ));
    }
    if text.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.') {
        return Some("is made of digits and dots but is not an IPv4 address".to_string());
    }
    let absolute = text.strip_suffix('.').unwrap_or(text);
    if absolute.is_empty() || absolute.split('.').any(str::is_empty) {
        return Some(
            "is not a host name: it has an empty label (a leading dot or two dots in a row)".to_string(),
        );
    }
    if let Some(label) = absolute.split('.').find(|label| label.len() > 63) {
        return Some(format!(
            "is not a host name: the label `{label}` has {} characters, DNS allows at most 63",
            label.len()
        ));
    }
    if absolute.len() > 253 {
        return Some(format!(
            "is not a host name: it has {} characters, DNS allows at most 253",
            absolute.len()
        ));
    }
    if absolute.to_ascii_lowercase().ends_with(".invalid") || absolute.eq_ignore_ascii_case("invalid") {
        return Some(
            "is in the reserved `.invalid` domain, which no resolver answers (RFC 6761)".to_string(),
        );
    }
    None
}

/// The address-shaped mistakes, named for what the user meant: an address with a port, in
/// brackets, with a prefix length, or an IPv4 address with a scope id.
fn address_like_problem(text: &str) -> Option<String> {
    let unbracketed = text.strip_prefix('[').and_then(|rest| rest.split_once(']'));
    if let Some((inner, rest)) = unbracketed {
        if parse_numeric(inner).is_some() {
            let port = if rest.is_empty() {
                ""
            } else {
                " (the port is totem.interface.mcastport)"
            };
            let what = if rest.is_empty() {
                "brackets are"
            } else {
                "brackets and a port are"
            };
            return Some(format!(
                "is not an address: {what} URL syntax; write the bare address `{inner}`{port}"
            ));
        }
    }
    if let Some((address, port)) = text.rsplit_once(':') {
        if !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()) && inet_aton(address).is_some()
        {
            return Some(format!(
                "is not an address: `:{port}` is a port; write `{address}` (the port is totem.interface.mcastport)"
            ));
        }
    }
    if let Some((address, prefix)) = text.split_once('/') {
        if parse_numeric(address).is_some() {
            return Some(format!(
                "is not an address: `/{prefix}` is a prefix length; write the bare address `{address}`"
            ));
        }
    }
    if let Some((address, _)) = text.split_once('%') {
        if inet_aton(address).is_some() {
            return Some(format!(
                "is not an address: a scope id (`%...`) belongs to IPv6 link-local addresses only; write `{address}`"
            ));
        }
    }
    None
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
