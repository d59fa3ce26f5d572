//! The checks `corosync -t` makes after parsing (spec 4.2 R1-R14, V1-V17):
//! `totem_config_read`, `put_nodelist_members_to_config`, `get_interface_params`,
//! `totem_config_validate`, `totem_volatile_config_validate` and `totem_config_keyread`.
//!
//! Owns `check_totem`. Every condition is checked independently (corosync stops at the
//! first), using corosync 3.1.7's arithmetic and message text. It must not check anything
//! `corosync -t` accepts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::checks::{self, Check};
use super::local::{icmap_order, resolve, Resolution};
use super::HostFacts;
use crate::config::effective::{MINIMUM_TIMEOUT, MINIMUM_TIMEOUT_HOLD};
use crate::config::{Config, Node, Setting};
use crate::diag::{Diagnostic, Span};
use crate::quorum::settings::Transport;

/// Shared inputs of the checks.
pub(super) struct Context<'a> {
    /// The typed configuration.
    pub config: &'a Config,
    /// What the caller knows about the host.
    pub host: &'a HostFacts,
    /// Position of the node corosync treats as local: the one found for
    /// `HostFacts::local_node`, or when it is not found the last node in icmap order.
    pub local: Option<u32>,
    /// Whether `HostFacts::local_node` was found in the nodelist.
    pub local_found: bool,
    /// The findings so far.
    pub out: Vec<Diagnostic>,
}

impl Context<'_> {
    fn hosts(&self) -> Option<&BTreeMap<String, IpAddr>> {
        self.host.hosts.as_ref()
    }

    fn push(&mut self, check: Check, message: String, span: Option<Span>, corosync_says: String) {
        self.out.push(check.diagnostic(message, span, &corosync_says));
    }

    /// The span of the totem section name, for findings about a missing totem key.
    fn totem_span(&self, document: &crate::syntax::Document) -> Option<Span> {
        document
            .sections_at("totem")
            .first()
            .map(|section| section.name_span)
    }

    /// `totemip_parse(address, ip_version)`: the address, `Ok(None)` when it is a hostname
    /// assumed to resolve, `Err` when it does not parse for the configured ip_version.
    fn parse_address(&self, text: &str) -> Result<Option<IpAddr>, ()> {
        match resolve(text, self.hosts()) {
            Resolution::Address(address) if self.config.effective.ip_version.allows(address) => {
                Ok(Some(address))
            }
            Resolution::Address(_) | Resolution::Unresolvable => Err(()),
            Resolution::Assumed => Ok(None),
        }
    }
}

/// R8: an interface address (`bindnetaddr` or `mcastaddr`) that does not parse for the
/// configured `ip_version`; `what` is the word corosync uses in its message.
fn push_bad_interface_address(context: &mut Context<'_>, key: &str, what: &str, setting: &Setting<String>) {
    let ip_version = context.config.effective.ip_version.as_str();
    context.push(
        checks::INVALID_INTERFACE_ADDRESS,
        format!(
            "{key} \"{}\" is not an address for ip_version {ip_version}",
            setting.value
        ),
        Some(setting.value_span),
        format!("failed to parse {what} address '{}'", setting.value),
    );
}

fn value_span<T>(setting: &Option<Setting<T>>) -> Option<Span> {
    setting.as_ref().map(|setting| setting.value_span)
}

/// C's `%d` of an unsigned value.
fn as_c_int(value: u32) -> i32 {
    value as i32
}

/// Runs every totem check.
pub(super) fn check_totem(context: &mut Context<'_>, document: &crate::syntax::Document) {
    transport_and_crypto(context);
    link_mode(context);
    interfaces(context);
    local_bind_addresses(context);
    nodeids_and_addresses(context);
    links(context, document);
    version_and_timeouts(context, document);
    duplicate_nodeids(context);
}

/// R1, R2, R3, R4, R5, V17.
fn transport_and_crypto(context: &mut Context<'_>) {
    let config = context.config;
    let totem = &config.totem;
    if let Some(transport) = totem.transport.as_ref() {
        if !["udpu", "udp", "knet"].contains(&transport.value.as_str()) {
            context.push(
                checks::INVALID_TRANSPORT,
                format!("unknown transport \"{}\" (knet, udp or udpu)", transport.value),
                Some(transport.value_span),
                "Invalid transport type. Should be udpu, udp or knet".to_string(),
            );
        }
    }
    let effective = &config.effective;
    let crypto_span = value_span(&totem.crypto_cipher)
        .or(value_span(&totem.crypto_hash))
        .or(value_span(&totem.secauth));
    let crypto_refused = ["totem.crypto_cipher", "totem.crypto_hash"]
        .iter()
        .any(|key| config.refused_keys.contains(*key));
    if effective.crypto_cipher != "none" && effective.crypto_hash == "none" && !crypto_refused {
        context.push(
            checks::CIPHER_WITHOUT_HASH,
            format!(
                "crypto_cipher {} needs a crypto_hash other than none",
                effective.crypto_cipher
            ),
            value_span(&totem.crypto_hash).or(crypto_span),
            "crypto_cipher requires crypto_hash with value other than none".to_string(),
        );
    }
    if effective.crypto_enabled {
        key_checks(context);
        if effective.transport != Transport::Knet {
            context.push(
                checks::CRYPTO_WITHOUT_KNET,
                format!(
                    "crypto ({} / {}) is only supported by the knet transport",
                    effective.crypto_cipher, effective.crypto_hash
                ),
                crypto_span,
                "parse error in config: crypto_cipher & crypto_hash are only valid for the Knet transport."
                    .to_string(),
            );
        }
    }
}

/// R3, R4, R5 (`totem_config_keyread`).
fn key_checks(context: &mut Context<'_>) {
    let totem = &context.config.totem;
    if totem.keyfile.is_none() {
        if let Some(key) = totem.key_len.as_ref() {
            if key.value < 128 {
                context.push(
                    checks::SHORT_INLINE_KEY,
                    format!(
                        "totem.key is {} bytes long, corosync needs at least 127",
                        key.value - 1
                    ),
                    Some(key.value_span),
                    "key is too short".to_string(),
                );
            }
            return;
        }
    }
    let (Some(path), Some(facts)) = (context.config.authkey_path(), context.host.authkey.as_ref()) else {
        return;
    };
    let span = value_span(&totem.keyfile);
    // The file examined is the one the user gave (it may stand in for corosync's path on
    // another host); name it, and corosync's path when they differ. See: issue 10 item 7.
    let examined = if facts.path == path {
        path.clone()
    } else {
        format!("{} (examined for corosync's {path})", facts.path)
    };
    match facts.len {
        None => {
            let reason = facts
                .os_error
                .clone()
                .unwrap_or_else(|| "No such file or directory".to_string());
            context.push(
                checks::UNREADABLE_AUTHKEY,
                format!("crypto is enabled but the key file {examined} cannot be read"),
                span,
                format!("Could not open {path}: {reason}"),
            );
        }
        Some(len) if len < 128 => {
            context.push(
                checks::SHORT_AUTHKEY,
                format!("the key file {examined} has {len} bytes, corosync needs at least 128"),
                span,
                format!(
                    "Could only read {} bits of minimum 1024 bits from {path}.",
                    len * 8
                ),
            );
        }
        Some(_) => {}
    }
}

/// R6, V15.
fn link_mode(context: &mut Context<'_>) {
    let Some(mode) = context.config.totem.link_mode.as_ref() else {
        return;
    };
    if mode.value.len() >= 64 {
        context.push(
            checks::LINK_MODE_TOO_LONG,
            format!("link_mode is {} characters long (at most 63)", mode.value.len()),
            Some(mode.value_span),
            "totem.link_mode is too long".to_string(),
        );
    } else if !["active", "passive", "rr"].contains(&mode.value.as_str()) {
        context.push(
            checks::INVALID_LINK_MODE,
            format!("unknown link_mode \"{}\" (active, passive or rr)", mode.value),
            Some(mode.value_span),
            format!(
                "parse error in config: The Knet link mode \"{}\" specified is invalid.  It must be active, passive or rr.",
                mode.value
            ),
        );
    }
}

/// Whether corosync replaces `totem.interface.<link>.bindnetaddr` with the local node's
/// ring address (`config_convert_nodelist_to_interface`). Without a known local node: only
/// when every node has that link, so the local node certainly has it.
fn bindnetaddr_replaced(context: &Context<'_>, link: u8) -> bool {
    let config = context.config;
    let bindnetaddr_0 = config
        .interfaces
        .get(&0)
        .is_some_and(|interface| interface.bindnetaddr.is_some());
    let converts = !bindnetaddr_0 || config.node_at(0).is_some_and(|node| node.ring0_addr().is_some());
    if !converts {
        return false;
    }
    let has_link = |node: &Node| node.ring_addrs.contains_key(&u32::from(link));
    match context.local {
        Some(local) => config.node_at(local).is_some_and(has_link),
        None => !config.nodelist.nodes.is_empty() && config.nodelist.nodes.iter().all(has_link),
    }
}

/// R7 (interface sections), R8, R9 (`get_interface_params`).
fn interfaces(context: &mut Context<'_>) {
    let config = context.config;
    let udp = config.effective.transport == Transport::Udp;
    for (linknumber, interface) in &config.interfaces {
        // For udp only a bindnetaddr key makes corosync look at a link.
        if udp && interface.bindnetaddr.is_none() && !bindnetaddr_replaced(context, *linknumber) {
            continue;
        }
        let span = interface.sections.first().copied();
        if *linknumber >= 8 {
            context.push(
                checks::LINK_NUMBER_TOO_HIGH,
                format!("interface linknumber {linknumber} is above the maximum 7"),
                span,
                format!("parse error in config: interface ring number {linknumber} is bigger than allowed maximum 7"),
            );
            continue;
        }
        if let Some(bindnetaddr) = interface
            .bindnetaddr
            .as_ref()
            .filter(|_| !bindnetaddr_replaced(context, *linknumber))
        {
            if context.parse_address(&bindnetaddr.value).is_err() {
                push_bad_interface_address(context, "bindnetaddr", "bindnet", bindnetaddr);
            }
        }
        if let Some(mcastaddr) = interface.mcastaddr.as_ref() {
            // A multicast group is never a host name in practice, and corosync's lookup of
            // one would need DNS: without a hosts map a non-literal is refused, as corosync
            // refuses it wherever the name does not resolve (parity case R8).
            let literal_or_known = match resolve(&mcastaddr.value, context.hosts()) {
                Resolution::Assumed => false,
                _ => context.parse_address(&mcastaddr.value).is_ok(),
            };
            if !literal_or_known {
                push_bad_interface_address(context, "mcastaddr", "mcast", mcastaddr);
            }
        }
        if let Some(transport) = interface.knet_transport.as_ref() {
            if transport.value != "udp" && transport.value != "sctp" {
                context.push(
                    checks::INVALID_KNET_TRANSPORT,
                    format!("unknown knet_transport \"{}\" (udp or sctp)", transport.value),
                    Some(transport.value_span),
                    "Unrecognised knet_transport. expected 'udp' or 'sctp'".to_string(),
                );
            }
        }
    }
}

/// R8 for the bind addresses corosync takes from the local node's ring addresses
/// (`config_convert_nodelist_to_interface`): they are parsed with `ip_version` before any
/// other node address.
fn local_bind_addresses(context: &mut Context<'_>) {
    let config = context.config;
    let Some(local) = context.local.and_then(|index| config.node_at(index)) else {
        return;
    };
    for (ring, address) in &local.ring_addrs {
        let link = u8::try_from(*ring).unwrap_or(u8::MAX);
        if link >= 8 {
            // With the nodelist read, the node-level check reports this ring; without it,
            // only this conversion sees it.
            if !nodes_loaded(config) {
                context.push(
                    checks::LINK_NUMBER_TOO_HIGH,
                    format!("ring{ring}_addr: link {ring} is above the maximum 7"),
                    Some(address.key_span),
                    format!("parse error in config: interface ring number {ring} is bigger than allowed maximum 7"),
                );
            }
            continue;
        }
        if !bindnetaddr_replaced(context, link) {
            continue;
        }
        if context.parse_address(&address.value).is_err() {
            context.push(
                checks::INVALID_INTERFACE_ADDRESS,
                format!(
                    "the local node's ring{ring}_addr \"{}\", used as bind address, is not an address for ip_version {}",
                    address.value,
                    config.effective.ip_version.as_str()
                ),
                Some(address.value_span),
                format!("failed to parse bindnet address '{}'", address.value),
            );
        }
    }
}

/// R7 (ring addresses), R10, R11, R12, R13, R14 (`totem_config_read` and
/// `put_nodelist_members_to_config`).
fn nodeids_and_addresses(context: &mut Context<'_>) {
    let config = context.config;
    if !nodes_loaded(config) {
        return;
    }
    let transport = config.effective.transport;
    // The local node, checked first by totem_config_read.
    let local_node = context.local.and_then(|index| config.node_at(index));
    let local_refused = local_node.is_some_and(|node| {
        config
            .refused_keys
            .contains(&format!("nodelist.node.{}.nodeid", node.index))
    });
    if let Some(local) = local_node.filter(|_| !local_refused) {
        // corosync 3.1.7 ignores totem.nodeid here [verified with corosync -t].
        let nodeid = local.nodeid.as_ref().map_or(0, |nodeid| nodeid.value);
        let span = value_span(&local.nodeid).or(local.span());
        if nodeid == 0 && transport == Transport::Knet {
            context.push(
                checks::LOCAL_NODEID_MISSING,
                format!(
                    "the local node {} has no nodeid, which knet requires",
                    local.display_name().unwrap_or("?")
                ),
                span,
                "Knet requires an explicit nodeid for the local node".to_string(),
            );
        } else if nodeid == 0 && (local.ring0_addr().is_none() || !generates_nodeid(context, local)) {
            // Without a ring0_addr there is nothing to generate the local nodeid from.
            context.push(
                checks::IPV6_NODEID_MISSING,
                format!(
                    "the local node {} needs a nodeid: its ring0_addr is not IPv4, so none can be generated",
                    local.display_name().unwrap_or("?")
                ),
                span,
                "An IPV6 network requires that a node ID be specified".to_string(),
            );
        }
    }
    for node in icmap_order(config) {
        let nodeid = node.nodeid.as_ref().map_or(0, |nodeid| nodeid.value);
        // A nodeid the parser refused is already reported; do not call it missing.
        let nodeid_refused = config
            .refused_keys
            .contains(&format!("nodelist.node.{}.nodeid", node.index));
        let is_local = context.local == Some(node.index) || nodeid_refused;
        // The ring keys in icmap order: `ring10_addr` sorts before `ring2_addr`.
        let mut rings: Vec<(&u32, &Setting<String>)> = node.ring_addrs.iter().collect();
        rings.sort_by_key(|(ring, _)| ring.to_string());
        let mut reported_nodeid = false;
        for (ring, address) in rings {
            if !reported_nodeid && !is_local {
                if transport == Transport::Knet && nodeid == 0 {
                    context.push(
                        checks::KNET_NODEID_MISSING,
                        format!("node {} has no nodeid, which knet requires", address.value),
                        node.span(),
                        format!(
                            "Knet requires an explicit nodeid to be specified for address '{}'.",
                            address.value
                        ),
                    );
                    reported_nodeid = true;
                } else if transport != Transport::Knet && nodeid == 0 && !generates_nodeid(context, node) {
                    context.push(
                        checks::IPV6_NODEID_MISSING,
                        format!(
                            "node {} needs a nodeid: its ring0_addr is not IPv4, so none can be generated",
                            address.value
                        ),
                        node.span(),
                        format!(
                            "An IPV6 network requires that a node ID be specified for address '{}'.",
                            address.value
                        ),
                    );
                    reported_nodeid = true;
                }
            }
            if !reported_nodeid && transport == Transport::Knet && nodeid >= 65536 {
                context.push(
                    checks::KNET_NODEID_TOO_HIGH,
                    format!("nodeid {nodeid} is above knet's maximum 65535"),
                    value_span(&node.nodeid),
                    format!(
                        "Knet requires nodeid to be less than 65536 for address '{}'.",
                        address.value
                    ),
                );
                reported_nodeid = true;
            }
            if *ring >= 8 {
                context.push(
                    checks::LINK_NUMBER_TOO_HIGH,
                    format!("ring{ring}_addr: link {ring} is above the maximum 7"),
                    Some(address.key_span),
                    format!("parse error in config: interface ring number {ring} is bigger than allowed maximum 7"),
                );
                continue;
            }
            if context.parse_address(&address.value).is_err() {
                let reason = match resolve(&address.value, context.hosts()) {
                    Resolution::Unresolvable if context.hosts().is_some() => {
                        "does not resolve (not in the hosts map)".to_string()
                    }
                    Resolution::Unresolvable => super::local::host_name_problem(&address.value)
                        .unwrap_or_else(|| "does not resolve".to_string()),
                    _ => format!(
                        "is not allowed by ip_version {}",
                        config.effective.ip_version.as_str()
                    ),
                };
                context.push(
                    checks::INVALID_NODE_ADDRESS,
                    format!("ring{ring}_addr \"{}\" {reason}", address.value),
                    Some(address.value_span),
                    format!("failed to parse node address '{}'", address.value),
                );
            }
        }
    }
}

/// Whether corosync reads the nodelist at all: only when the node at position 0 has a
/// `name` or a `ring0_addr` (`totem_config_read`).
pub(super) fn nodes_loaded(config: &Config) -> bool {
    config
        .node_at(0)
        .is_some_and(|node| node.name.is_some() || node.ring0_addr().is_some())
}

/// Whether corosync can generate a nodeid from `node`'s ring0_addr (`generate_nodeid`
/// parses it as IPv4; a hostname resolving to IPv4 works too).
fn generates_nodeid(context: &Context<'_>, node: &Node) -> bool {
    let Some(ring0) = node.ring0_addr() else {
        // No ring0_addr: corosync leaves the nodeid 0 without an error.
        return true;
    };
    match resolve(&ring0.value, context.hosts()) {
        Resolution::Address(address) => address.is_ipv4(),
        Resolution::Assumed => true,
        Resolution::Unresolvable => false,
    }
}

/// The family-checked address of `text`, when known.
fn address_of(context: &Context<'_>, text: &str) -> Option<IpAddr> {
    match resolve(text, context.hosts()) {
        Resolution::Address(address) => Some(address),
        _ => None,
    }
}

/// V1, V2, V3, V5, V6, V8, V11, V12, V13, V16 (`totem_config_validate` and the link part of
/// `totem_volatile_config_validate`).
fn links(context: &mut Context<'_>, document: &crate::syntax::Document) {
    let config = context.config;
    let effective = &config.effective;
    let nodelist_span = document
        .sections_at("nodelist")
        .first()
        .map(|section| section.name_span);
    let any_link = if nodes_loaded(config) {
        !effective.links.is_empty()
    } else {
        // Only interface sections and the bind addresses taken from the node corosync
        // falls back to as local (the last in icmap order) configure links.
        let interface_links = config.interfaces.iter().any(|(link, interface)| {
            *link < 8 && (effective.transport != Transport::Udp || interface.bindnetaddr.is_some())
        });
        let fallback_links = icmap_order(config)
            .last()
            .is_some_and(|node| node.ring_addrs.keys().any(|ring| *ring < 8));
        interface_links || fallback_links
    };
    if !any_link {
        context.push(
            checks::NO_INTERFACES,
            "no link is configured: no node has a ringN_addr".to_string(),
            nodelist_span,
            "parse error in config: No interfaces defined".to_string(),
        );
    }
    if !nodes_loaded(config) {
        // corosync reads the nodelist (and looks for the local node) only when position 0
        // has a name or ring0_addr; otherwise V2 fails on every host.
        // Say what is really missing: the nodelist, its nodes, or the first node's name and
        // ring0_addr. See: issue 10 item 7.
        let message = match (config.node_at(0), nodelist_span) {
            (Some(_), _) => {
                "the node at position 0 has neither name nor ring0_addr, so corosync ignores the nodelist"
            }
            (None, Some(_)) => "the nodelist has no node, so corosync cannot find the local node",
            (None, None) => "there is no nodelist, so corosync cannot find the local node",
        };
        context.push(
            checks::LOCAL_NODE_NOT_FOUND,
            message.to_string(),
            config.node_at(0).and_then(Node::span).or(nodelist_span),
            "parse error in config: No valid name found for local host".to_string(),
        );
    } else if let Some(local) = context.host.local_node.clone() {
        if !context.local_found {
            context.push(
                checks::LOCAL_NODE_NOT_FOUND,
                format!("the local node \"{local}\" is not in the nodelist (by name or ring0_addr)"),
                nodelist_span,
                "parse error in config: No valid name found for local host".to_string(),
            );
        }
    }
    let transport = effective.transport;
    let broadcast = config
        .interfaces
        .values()
        .any(|interface| interface.broadcast.as_ref().is_some_and(|b| b.value == "yes"));
    for link in &effective.links {
        let interface = config.interfaces.get(&link.linknumber);
        let interface_span = interface.and_then(|interface| interface.sections.first().copied());
        if transport == Transport::Udp {
            let processed = interface.is_some_and(|interface| interface.bindnetaddr.is_some())
                || bindnetaddr_replaced(context, link.linknumber);
            // corosync reads a udp link's interface keys only when it has a bindnetaddr
            // (written, or taken from the local node's address on that link).
            let explicit = interface
                .and_then(|interface| interface.mcastaddr.as_ref())
                .filter(|_| processed);
            let derived = processed && config.totem.cluster_name.is_some();
            let broadcast_address = broadcast && link.linknumber == 0;
            // Without a known local node, whether it has an address on this link is unknown.
            let knowable = processed || context.local.is_some();
            if explicit.is_none() && !derived && !broadcast_address && knowable {
                let message = if processed {
                    format!(
                        "udp link {} has no mcastaddr and there is no cluster_name to derive one",
                        link.linknumber
                    )
                } else {
                    format!(
                        "udp link {} gets no multicast address: the local node has no address on it and no interface section gives it a bindnetaddr",
                        link.linknumber
                    )
                };
                context.push(
                    checks::NO_MULTICAST_ADDRESS,
                    message,
                    interface_span
                        .or(value_span(&config.totem.transport))
                        .or(nodelist_span),
                    format!(
                        "parse error in config: No multicast address specified for interface {}",
                        link.linknumber
                    ),
                );
            }
            if let (Some(mcast), false) = (explicit, broadcast) {
                multicast_family(context, link.linknumber, mcast);
            }
        }
        // get_interface_params never looked at a link that no interface section stores keys
        // for (udp: no bindnetaddr) and the local node has no address on, so its port stays 0.
        let processed = interface
            .is_some_and(|interface| transport != Transport::Udp || interface.bindnetaddr.is_some())
            || bindnetaddr_replaced(context, link.linknumber);
        if !processed && context.local_found && nodes_loaded(config) {
            context.push(
                checks::LINK_WITHOUT_PORT,
                format!(
                    "link {} has addresses only on other nodes and no interface section, so corosync gives it no port",
                    link.linknumber
                ),
                first_ring_span(config, link.linknumber).or(nodelist_span),
                format!("parse error in config: No multicast port specified for interface {}", link.linknumber),
            );
        }
        if link.ttl != 1 && transport != Transport::Udp {
            let span = interface.and_then(|interface| value_span(&interface.ttl));
            context.push(
                checks::TTL_WITHOUT_MULTICAST,
                format!(
                    "ttl {} on link {} has no meaning without multicast (udp)",
                    link.ttl, link.linknumber
                ),
                span,
                format!(
                    "parse error in config: Can only set ttl on multicast transport types for interface {}",
                    link.linknumber
                ),
            );
        }
        if link.knet_link_priority != 1 && transport != Transport::Knet {
            let span = interface.and_then(|interface| value_span(&interface.knet_link_priority));
            context.push(
                checks::LINK_PRIORITY_WITHOUT_KNET,
                format!("knet_link_priority on link {} needs the knet transport", link.linknumber),
                span,
                format!(
                    "parse error in config: Can only set link priority on knet transport type for interface {}",
                    link.linknumber
                ),
            );
        }
        mixed_families(context, link.linknumber);
    }
    multi_link(context, nodelist_span);
    if transport != Transport::Knet && effective.links.len() > 1 {
        let span = config
            .nodelist
            .nodes
            .iter()
            .find_map(|node| {
                node.ring_addrs
                    .range(1..)
                    .next()
                    .map(|(_, address)| address.key_span)
            })
            .or_else(|| {
                config
                    .interfaces
                    .range(1..)
                    .find_map(|(_, interface)| interface.sections.first().copied())
            });
        context.push(
            checks::TOO_MANY_LINKS,
            format!(
                "{} links configured, but udp and udpu support only one",
                effective.links.len()
            ),
            span,
            format!(
                "parse error in config: {} is too many configured interfaces for non-Knet transport.",
                effective.links.len()
            ),
        );
    }
}

/// The key span of the first node address on `linknumber`.
fn first_ring_span(config: &Config, linknumber: u8) -> Option<Span> {
    icmap_order(config).into_iter().find_map(|node| {
        node.ring_addrs
            .get(&u32::from(linknumber))
            .map(|address| address.key_span)
    })
}

/// V8: udp multicast address family and multicast-ness.
fn multicast_family(context: &mut Context<'_>, linknumber: u8, mcast: &Setting<String>) {
    let Some(mcast_address) = address_of(context, &mcast.value) else {
        return;
    };
    let config = context.config;
    // The bind address: the local node's ring address when corosync replaces it, else the
    // written bindnetaddr.
    let bind_text = if bindnetaddr_replaced(context, linknumber) {
        let local = context.local.and_then(|index| config.node_at(index));
        local
            .or_else(|| config.nodelist.nodes.first())
            .and_then(|node| node.ring_addrs.get(&u32::from(linknumber)))
            .map(|address| address.value.clone())
    } else {
        config
            .interfaces
            .get(&linknumber)
            .and_then(|interface| interface.bindnetaddr.as_ref())
            .map(|bind| bind.value.clone())
    };
    let bind_address = bind_text.and_then(|text| address_of(context, &text));
    if let Some(bind_address) = bind_address {
        if bind_address.is_ipv4() != mcast_address.is_ipv4() {
            context.push(
                checks::INVALID_MULTICAST_ADDRESS,
                format!("mcastaddr {} is not of the same IP family as the bind address {bind_address}", mcast.value),
                Some(mcast.value_span),
                format!(
                    "parse error in config: Multicast address family does not match bind address family for interface {linknumber}"
                ),
            );
            return;
        }
    }
    if !mcast_address.is_multicast() {
        context.push(
            checks::INVALID_MULTICAST_ADDRESS,
            format!("mcastaddr {} is not a multicast address", mcast.value),
            Some(mcast.value_span),
            format!("parse error in config: mcastaddr is not a correct multicast address for interface {linknumber}"),
        );
    }
}

/// V13: one IP family per link, compared with the link's first member.
fn mixed_families(context: &mut Context<'_>, linknumber: u8) {
    let config = context.config;
    if !nodes_loaded(config) {
        return;
    }
    let members: Vec<(IpAddr, &Setting<String>)> = icmap_order(config)
        .into_iter()
        .filter_map(|node| node.ring_addrs.get(&u32::from(linknumber)))
        .filter_map(|address| {
            context
                .parse_address(&address.value)
                .ok()
                .flatten()
                .map(|ip| (ip, address))
        })
        .collect();
    let Some((first, _)) = members.first().copied() else {
        return;
    };
    let mut found = Vec::new();
    for (address, setting) in members.iter().skip(1) {
        if address.is_ipv4() != first.is_ipv4() {
            found.push((*address, setting.value_span));
        }
    }
    for (address, span) in found {
        context.push(
            checks::MIXED_IP_FAMILIES,
            format!("link {linknumber} mixes IP families: {address} and {first}"),
            Some(span),
            format!(
                "parse error in config: Nodes for link {linknumber} have different IP families (compared {address} with {first})"
            ),
        );
    }
}

/// V11, V12: with more than one link, every node position up to the first link's member
/// count needs a name, and every link the same member count.
fn multi_link(context: &mut Context<'_>, nodelist_span: Option<Span>) {
    let config = context.config;
    if !nodes_loaded(config) {
        return;
    }
    let links = &config.effective.links;
    if links.len() < 2 {
        return;
    }
    let members = links[0].member_count;
    for position in 0..members {
        let node = config.node_at(position);
        if node.is_none_or(|node| node.name.is_none()) {
            let message = match node {
                Some(node) => format!(
                    "node {} has no name, which a multi-link configuration requires",
                    node.display_name().unwrap_or("?")
                ),
                None => format!(
                    "there is no node at position {position} (a subsection inside a node or a repeated nodelist shifts positions), so it has no name"
                ),
            };
            context.push(
                checks::MULTI_LINK_WITHOUT_NAME,
                message,
                node.and_then(Node::span).or(nodelist_span),
                "parse error in config: for a multi-link configuration, all nodes must have a 'name' attribute"
                    .to_string(),
            );
        }
    }
    for link in links.iter().skip(1) {
        if link.member_count == members {
            continue;
        }
        // Point at a node that lacks this link, or at the link's interface section.
        let span = config
            .nodelist
            .nodes
            .iter()
            .find(|node| {
                node.ring_addrs.contains_key(&u32::from(links[0].linknumber))
                    != node.ring_addrs.contains_key(&u32::from(link.linknumber))
            })
            .and_then(Node::span)
            .or_else(|| {
                config
                    .interfaces
                    .get(&link.linknumber)
                    .and_then(|i| i.sections.first().copied())
            })
            .or(nodelist_span);
        context.push(
            checks::UNEVEN_LINK_COUNT,
            format!(
                "link {} has {} but link {} has {}",
                link.linknumber,
                node_count(link.member_count),
                links[0].linknumber,
                node_count(members)
            ),
            span,
            "parse error in config: Not all nodes have the same number of links".to_string(),
        );
    }
}

fn node_count(count: u32) -> String {
    if count == 1 {
        "1 node".to_string()
    } else {
        format!("{count} nodes")
    }
}

/// V9, V10.
fn version_and_timeouts(context: &mut Context<'_>, document: &crate::syntax::Document) {
    let config = context.config;
    let totem = &config.totem;
    let totem_span = context.totem_span(document);
    if totem.version.as_ref().is_none_or(|version| version.value != 2) {
        let message = match totem.version.as_ref() {
            Some(version) => format!("totem version {} is not supported (only 2)", version.value),
            None => "totem.version is missing (it must be 2)".to_string(),
        };
        context.push(
            checks::UNSUPPORTED_TOTEM_VERSION,
            message,
            value_span(&totem.version).or(totem_span),
            "parse error in config: This totem parser can only parse version 2 configurations.".to_string(),
        );
    }
    let effective = &config.effective;
    let token_span = value_span(&totem.token).or(totem_span);
    let minimum =
        |context: &mut Context<'_>, name: &str, value: u32, min: u32, span: Option<Span>, text: String| {
            if value < min {
                context.push(
                    checks::TIMEOUT_TOO_SMALL,
                    format!("effective {name} is {value} ms, below corosync's minimum of {min} ms"),
                    span,
                    format!("parse error in config: {text}"),
                );
            }
        };
    minimum(
        context,
        "max_network_delay",
        effective.max_network_delay,
        MINIMUM_TIMEOUT,
        value_span(&totem.max_network_delay),
        format!(
            "The max_network_delay parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.max_network_delay)
        ),
    );
    minimum(
        context,
        "token",
        effective.token,
        MINIMUM_TIMEOUT,
        token_span,
        format!(
            "The token timeout parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.token)
        ),
    );
    if effective.token_warning > 100 {
        context.push(
            checks::TIMEOUT_TOO_SMALL,
            format!("token_warning is {}%, above 100%", effective.token_warning),
            value_span(&totem.token_warning),
            format!(
                "parse error in config: The token warning parameter ({}%) must be between 0 (disabled) and 100.",
                as_c_int(effective.token_warning)
            ),
        );
    }
    if effective.token_retransmit < MINIMUM_TIMEOUT {
        let text = if totem.token_retransmit.is_some() {
            format!(
                "The token retransmit timeout parameter ({} ms) may not be less than (30 ms).",
                as_c_int(effective.token_retransmit)
            )
        } else {
            "Not appropriate token or token_retransmits_before_loss_const value set".to_string()
        };
        minimum(
            context,
            "token_retransmit",
            effective.token_retransmit,
            MINIMUM_TIMEOUT,
            value_span(&totem.token_retransmit).or(token_span),
            text,
        );
    }
    minimum(
        context,
        "hold",
        effective.hold,
        MINIMUM_TIMEOUT_HOLD,
        value_span(&totem.hold)
            .or(value_span(&totem.token_retransmit))
            .or(token_span),
        format!(
            "The token hold timeout parameter ({} ms) may not be less than (14 ms).",
            as_c_int(effective.hold)
        ),
    );
    minimum(
        context,
        "join",
        effective.join,
        MINIMUM_TIMEOUT,
        value_span(&totem.join),
        format!(
            "The join timeout parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.join)
        ),
    );
    minimum(
        context,
        "consensus",
        effective.consensus,
        MINIMUM_TIMEOUT,
        value_span(&totem.consensus).or(token_span),
        format!(
            "The consensus timeout parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.consensus)
        ),
    );
    if effective.consensus >= MINIMUM_TIMEOUT && effective.consensus < effective.join {
        context.push(
            checks::TIMEOUT_TOO_SMALL,
            format!("consensus ({} ms) is below join ({} ms)", effective.consensus, effective.join),
            value_span(&totem.consensus).or(value_span(&totem.join)).or(token_span),
            format!(
                "parse error in config: The consensus timeout parameter ({} ms) may not be less than join timeout ({} ms).",
                as_c_int(effective.consensus),
                as_c_int(effective.join)
            ),
        );
    }
    minimum(
        context,
        "merge",
        effective.merge,
        MINIMUM_TIMEOUT,
        value_span(&totem.merge),
        format!(
            "The merge timeout parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.merge)
        ),
    );
    minimum(
        context,
        "downcheck",
        effective.downcheck,
        MINIMUM_TIMEOUT,
        value_span(&totem.downcheck),
        format!(
            "The downcheck timeout parameter ({} ms) may not be less than (30 ms).",
            as_c_int(effective.downcheck)
        ),
    );
}

/// V14, with corosync 3.1.7's iteration quirk: node P is compared only with the nodes that
/// come before the first node whose position is >= P in icmap's string order (so with 11 or
/// more nodes, duplicates among positions 2..9 go unnoticed) [verified with corosync -t].
/// Node ids are explicit, or generated from an IPv4 ring0_addr.
fn duplicate_nodeids(context: &mut Context<'_>) {
    let config = context.config;
    let order: Vec<&Node> = icmap_order(config)
        .into_iter()
        .filter(|node| {
            !config
                .refused_keys
                .contains(&format!("nodelist.node.{}.nodeid", node.index))
        })
        .collect();
    let nodeid_of = |node: &Node| match node.nodeid.as_ref() {
        Some(nodeid) => Some((nodeid.value, Some(nodeid.value_span), false)),
        None => config
            .generated_nodeid(node)
            .map(|nodeid| (nodeid, node.ring0_addr().map(|ring0| ring0.value_span), true)),
    };
    let mut found = Vec::new();
    for node in &order {
        let Some((nodeid, span, generated)) = nodeid_of(node) else {
            continue;
        };
        let earlier = order.iter().take_while(|other| other.index < node.index);
        if let Some(first_span) = earlier
            .filter_map(|other| nodeid_of(other))
            .find(|(other_id, _, _)| *other_id == nodeid)
            .map(|(_, first_span, _)| first_span)
        {
            found.push((nodeid, span, first_span, generated));
        }
    }
    for (nodeid, span, first_span, generated) in found {
        let how = if generated {
            " (generated from ring0_addr)"
        } else {
            ""
        };
        let mut diagnostic = checks::DUPLICATE_NODEID.diagnostic(
            format!("nodeid {nodeid}{how} is used by an earlier node too"),
            span,
            &format!("Nodeid {nodeid} appears twice in corosync.conf"),
        );
        if let Some(first_span) = first_span {
            diagnostic = diagnostic.with_label(first_span, "first used here");
        }
        context.out.push(diagnostic);
    }
}
