//! The typed corosync.conf: what the file says and what corosync 3.1.7 computes from it.
//!
//! Owns `Config` and its sections, built by `Config::from_document` from the cmap view
//! (`cmap::flatten`), plus the effective values corosync derives (`effective`) and the
//! votequorum input (`Config::quorum_settings`). Every value keeps its spans so that
//! diagnostics can point at it. It must not do IO and must not judge: the corosync parity
//! checks live in `validate`, the risk rules in `lint`.
//!
//! Reading rules (all verified against `corosync -t` 3.1.7 or read from its sources):
//! - repeated sections merge, and for a repeated key the last value wins;
//! - a value corosync's parser refuses (spec 4.2 T1-T10) is reported by `from_document`
//!   and then treated as absent;
//! - nodes are numbered per `nodelist {}` section, so a second `nodelist {}` overwrites the
//!   first nodes' keys: `Nodelist::nodes` is what corosync sees, `Nodelist::written` what
//!   the file says.

pub mod cmap;
pub mod effective;
pub mod int;
mod logging;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::diag::{Diagnostic, Span};
use crate::quorum::settings::{
    DeviceSettings, NodeSettings, Provider, QuorumSettings, TieBreaker, Transport,
};
use crate::syntax::{Document, Entry, Section};
use cmap::{Cmap, CmapValue, Flattened};
pub use effective::{Effective, EffectiveLink, IpVersion};
use int::{safe_atoq, str_to_ull, IntType};

/// A value read from the file, with where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    /// The value as corosync reads it.
    pub value: T,
    /// The text as written (redacted for secrets such as `totem.key`).
    pub text: String,
    /// Where the key is.
    pub key_span: Span,
    /// Where the value is.
    pub value_span: Span,
}

impl<T> Setting<T> {
    fn new(value: T, raw: &CmapValue) -> Setting<T> {
        Setting {
            value,
            text: raw.value.clone(),
            key_span: raw.key_span,
            value_span: raw.value_span,
        }
    }

    /// The span of the whole `key: value` item.
    pub fn span(&self) -> Span {
        Span::new(self.key_span.start, self.value_span.end.max(self.key_span.end))
    }
}

/// `totem {}`: every key corosync 3.1.7 reads (absent keys are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totem {
    /// `version` (must be 2).
    pub version: Option<Setting<u32>>,
    /// `cluster_name`.
    pub cluster_name: Option<Setting<String>>,
    /// `config_version`, uint64 read with `strtoull` (so `-1` is 18446744073709551615).
    pub config_version: Option<Setting<u64>>,
    /// `transport` as written (`knet` when absent).
    pub transport: Option<Setting<String>>,
    /// `link_mode` as written (`passive` when absent).
    pub link_mode: Option<Setting<String>>,
    /// `ip_version` as written.
    pub ip_version: Option<Setting<String>>,
    /// `crypto_model`.
    pub crypto_model: Option<Setting<String>>,
    /// `crypto_cipher`.
    pub crypto_cipher: Option<Setting<String>>,
    /// `crypto_hash`.
    pub crypto_hash: Option<Setting<String>>,
    /// `secauth` (`on` means aes256 + sha256 unless cipher/hash say otherwise).
    pub secauth: Option<Setting<String>>,
    /// `keyfile`.
    pub keyfile: Option<Setting<String>>,
    /// `key`: only its length in bytes as corosync counts it (with the terminating NUL);
    /// the text is redacted.
    pub key_len: Option<Setting<usize>>,
    /// `clear_node_high_bit` (`yes` clears bit 31 of generated nodeids).
    pub clear_node_high_bit: Option<Setting<String>>,
    /// `nodeid` (deprecated and ignored when the nodelist has one).
    pub nodeid: Option<Setting<u32>>,
    /// `threads`.
    pub threads: Option<Setting<u32>>,
    /// `token` in ms (before the coefficient is added).
    pub token: Option<Setting<u32>>,
    /// `token_coefficient` in ms.
    pub token_coefficient: Option<Setting<u32>>,
    /// `token_retransmit` in ms.
    pub token_retransmit: Option<Setting<u32>>,
    /// `token_warning` in percent.
    pub token_warning: Option<Setting<u32>>,
    /// `hold` in ms.
    pub hold: Option<Setting<u32>>,
    /// `token_retransmits_before_loss_const`.
    pub token_retransmits_before_loss_const: Option<Setting<u32>>,
    /// `join` in ms.
    pub join: Option<Setting<u32>>,
    /// `send_join` in ms.
    pub send_join: Option<Setting<u32>>,
    /// `consensus` in ms.
    pub consensus: Option<Setting<u32>>,
    /// `merge` in ms.
    pub merge: Option<Setting<u32>>,
    /// `downcheck` in ms.
    pub downcheck: Option<Setting<u32>>,
    /// `fail_recv_const`.
    pub fail_recv_const: Option<Setting<u32>>,
    /// `seqno_unchanged_const`.
    pub seqno_unchanged_const: Option<Setting<u32>>,
    /// `heartbeat_failures_allowed`.
    pub heartbeat_failures_allowed: Option<Setting<u32>>,
    /// `max_network_delay` in ms.
    pub max_network_delay: Option<Setting<u32>>,
    /// `window_size`.
    pub window_size: Option<Setting<u32>>,
    /// `max_messages`.
    pub max_messages: Option<Setting<u32>>,
    /// `miss_count_const`.
    pub miss_count_const: Option<Setting<u32>>,
    /// `knet_pmtud_interval` in s.
    pub knet_pmtud_interval: Option<Setting<u32>>,
    /// `knet_mtu`.
    pub knet_mtu: Option<Setting<u32>>,
    /// `knet_compression_model`.
    pub knet_compression_model: Option<Setting<String>>,
    /// `knet_compression_threshold`.
    pub knet_compression_threshold: Option<Setting<u32>>,
    /// `knet_compression_level` (int32).
    pub knet_compression_level: Option<Setting<i32>>,
    /// `netmtu`.
    pub netmtu: Option<Setting<u32>>,
    /// `block_unlisted_ips` (`yes`/`no`).
    pub block_unlisted_ips: Option<Setting<String>>,
    /// `ip_dscp` (3.1.10 only; 3.1.7 ignores it).
    pub ip_dscp: Option<Setting<String>>,
}

/// One link's `interface {}` settings as corosync stores them (`totem.interface.<n>.*`),
/// merged over every interface section with the same `linknumber`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// The link number (`linknumber`, default 0; `ringnumber` is ignored by corosync 3).
    pub linknumber: u8,
    /// Spans of the interface section names that wrote to this link.
    pub sections: Vec<Span>,
    /// `bindnetaddr`.
    pub bindnetaddr: Option<Setting<String>>,
    /// `mcastaddr`.
    pub mcastaddr: Option<Setting<String>>,
    /// `broadcast` (`yes` uses broadcast instead of multicast, udp only).
    pub broadcast: Option<Setting<String>>,
    /// `mcastport`.
    pub mcastport: Option<Setting<u16>>,
    /// `ttl`.
    pub ttl: Option<Setting<u8>>,
    /// `knet_link_priority`.
    pub knet_link_priority: Option<Setting<u8>>,
    /// `knet_ping_interval` in ms.
    pub knet_ping_interval: Option<Setting<u32>>,
    /// `knet_ping_timeout` in ms.
    pub knet_ping_timeout: Option<Setting<u32>>,
    /// `knet_ping_precision`.
    pub knet_ping_precision: Option<Setting<u32>>,
    /// `knet_pong_count`.
    pub knet_pong_count: Option<Setting<u32>>,
    /// `knet_transport` (`udp` or `sctp`).
    pub knet_transport: Option<Setting<String>>,
    /// Deprecated `member { memberaddr }` entries.
    pub members: Vec<Setting<String>>,
}

/// An interface section as written, in file order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceSection {
    /// The `linknumber` it stores under (default 0).
    pub linknumber: u8,
    /// The span of the section name.
    pub span: Span,
    /// Whether it stores any per-link key (a section with only `linknumber` is ignored).
    pub stores_keys: bool,
}

/// A nodelist node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The position corosync stores the node at (`nodelist.node.<index>`).
    pub index: u32,
    /// Spans of the `node` section names that wrote to this position.
    pub sections: Vec<Span>,
    /// `nodeid`.
    pub nodeid: Option<Setting<u32>>,
    /// `name`.
    pub name: Option<Setting<String>>,
    /// `quorum_votes` (default 1).
    pub quorum_votes: Option<Setting<u32>>,
    /// `ringN_addr` by N (N may be above 7, which corosync refuses).
    pub ring_addrs: BTreeMap<u32, Setting<String>>,
    /// Any other key.
    pub other: BTreeMap<String, Setting<String>>,
}

impl Node {
    /// `quorum_votes`, or the default 1.
    pub fn votes(&self) -> u32 {
        self.quorum_votes.as_ref().map_or(1, |votes| votes.value)
    }

    /// `ring0_addr`, if any.
    pub fn ring0_addr(&self) -> Option<&Setting<String>> {
        self.ring_addrs.get(&0)
    }

    /// `name`, falling back to `ring0_addr`: how corosync and votequorum name a node.
    pub fn display_name(&self) -> Option<&str> {
        self.name
            .as_ref()
            .or(self.ring0_addr())
            .map(|setting| setting.value.as_str())
    }

    /// The span to point at for this node: its first section name.
    pub fn span(&self) -> Option<Span> {
        self.sections.first().copied()
    }
}

/// `nodelist {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Nodelist {
    /// What corosync sees, by position: one entry per `nodelist.node.<index>` that has at
    /// least one key, in index order. Repeated `nodelist {}` sections overwrite earlier
    /// nodes at the same position key by key.
    pub nodes: Vec<Node>,
    /// What the file says: one entry per `node {}` section, in file order, with only that
    /// section's own keys (`index` is where corosync stores it).
    pub written: Vec<Node>,
    /// How many `nodelist {}` sections the file has.
    pub section_count: usize,
}

/// `quorum { device {} }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuorumDevice {
    /// `model` (the device is configured only when this is non-empty).
    pub model: Option<Setting<String>>,
    /// `votes`.
    pub votes: Option<Setting<u32>>,
    /// `timeout` in ms (default 10000).
    pub timeout: Option<Setting<u32>>,
    /// `sync_timeout` in ms (default 30000).
    pub sync_timeout: Option<Setting<u32>>,
    /// `master_wins` (parsed, never read by votequorum).
    pub master_wins: Option<Setting<u8>>,
    /// `net { ... }` keys (host, port, algorithm, tie_breaker, tls, ...).
    pub net: BTreeMap<String, Setting<String>>,
    /// `heuristics { ... }` keys (mode, timeout, interval, exec_*, ...).
    pub heuristics: BTreeMap<String, Setting<String>>,
    /// Spans of the `device` section names.
    pub sections: Vec<Span>,
}

impl QuorumDevice {
    /// Whether votequorum considers a device configured (`model` non-empty).
    pub fn is_configured(&self) -> bool {
        self.model.as_ref().is_some_and(|model| !model.value.is_empty())
    }
}

/// `quorum {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Quorum {
    /// `provider`.
    pub provider: Option<Setting<String>>,
    /// `expected_votes`.
    pub expected_votes: Option<Setting<u32>>,
    /// `votes` (deprecated, used only without a nodelist).
    pub votes: Option<Setting<u32>>,
    /// `two_node` (uint8; any non-zero value is on).
    pub two_node: Option<Setting<u8>>,
    /// `wait_for_all` (uint8).
    pub wait_for_all: Option<Setting<u8>>,
    /// `last_man_standing` (uint8).
    pub last_man_standing: Option<Setting<u8>>,
    /// `last_man_standing_window` in ms (default 10000).
    pub last_man_standing_window: Option<Setting<u32>>,
    /// `auto_tie_breaker` (uint8).
    pub auto_tie_breaker: Option<Setting<u8>>,
    /// `auto_tie_breaker_node` as written.
    pub auto_tie_breaker_node: Option<Setting<String>>,
    /// `allow_downscale` (uint8).
    pub allow_downscale: Option<Setting<u8>>,
    /// `expected_votes_tracking` (uint8).
    pub expected_votes_tracking: Option<Setting<u8>>,
    /// `leaving_timeout` in ms.
    pub leaving_timeout: Option<Setting<u32>>,
    /// `device {}`, when there is such a section.
    pub device: Option<QuorumDevice>,
}

impl Quorum {
    /// A uint8 flag as votequorum reads it: absent is 0, any non-zero value is on.
    pub fn flag(setting: &Option<Setting<u8>>) -> bool {
        setting.as_ref().is_some_and(|flag| flag.value != 0)
    }
}

/// A `logger_subsys {}` section after corosync stored it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoggerSubsys {
    /// Its keys (debug, to_syslog, ...).
    pub keys: BTreeMap<String, Setting<String>>,
}

/// `logging {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Logging {
    /// Top-level logging keys (to_syslog, to_logfile, logfile, debug, timestamp, ...).
    pub keys: BTreeMap<String, Setting<String>>,
    /// `logger_subsys` sections by `subsys`.
    pub logger_subsys: BTreeMap<String, LoggerSubsys>,
}

/// `system {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct System {
    /// Its keys (qb_ipc_type, sched_rr, priority, move_to_root_cgroup,
    /// allow_knet_handle_fallback, state_dir, ...).
    pub keys: BTreeMap<String, Setting<String>>,
}

/// `uidgid {}`: users and groups allowed to use corosync's IPC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UidGid {
    /// `uid` entries (user names).
    pub uids: Vec<Setting<String>>,
    /// `gid` entries (group names).
    pub gids: Vec<Setting<String>>,
}

/// `resources {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// `watchdog_timeout` in s.
    pub watchdog_timeout: Option<Setting<u32>>,
    /// Every key below `resources.`, by its cmap key.
    pub keys: BTreeMap<String, Setting<String>>,
}

/// The whole typed configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Config {
    /// `totem {}`.
    pub totem: Totem,
    /// `totem { interface {} }` by link number, merged as corosync stores them. Only links
    /// that received at least one key appear.
    pub interfaces: BTreeMap<u8, Interface>,
    /// Every interface section as written, in file order.
    pub interface_sections: Vec<InterfaceSection>,
    /// `nodelist {}`.
    pub nodelist: Nodelist,
    /// `quorum {}`.
    pub quorum: Quorum,
    /// `logging {}`.
    pub logging: Logging,
    /// `system {}`.
    pub system: System,
    /// `uidgid {}`.
    pub uidgid: UidGid,
    /// `resources {}`.
    pub resources: Resources,
    /// The values corosync computes (defaults, effective token, ping timers, ...).
    pub effective: Effective,
    /// The flat cmap view every typed field above was read from (`totem.key` redacted).
    pub cmap: Cmap,
    /// cmap keys (e.g. `totem.crypto_hash`, `nodelist.node.1.nodeid`) whose value corosync's
    /// parser refuses; they are absent from every field above.
    pub refused_keys: std::collections::BTreeSet<String>,
    /// The diagnostics `from_document` returned (value refusals, logging errors), kept so
    /// that `validate` does not read the document a second time. Invariant: this config was
    /// built from the document it is validated with.
    #[serde(skip)]
    pub value_diagnostics: Vec<Diagnostic>,
}

fn string_setting(cmap: &Cmap, key: &str) -> Option<Setting<String>> {
    cmap.get(key).map(|raw| Setting::new(raw.value.clone(), raw))
}

fn int_setting<T: TryFrom<i64>>(cmap: &Cmap, key: &str, int_type: IntType) -> Option<Setting<T>> {
    let raw = cmap.get(key)?;
    let value = T::try_from(safe_atoq(&raw.value, int_type)?).ok()?;
    Some(Setting::new(value, raw))
}

fn u32_setting(cmap: &Cmap, key: &str) -> Option<Setting<u32>> {
    int_setting(cmap, key, IntType::U32)
}

fn u8_setting(cmap: &Cmap, key: &str) -> Option<Setting<u8>> {
    int_setting(cmap, key, IntType::U8)
}

fn map_with_prefix(cmap: &Cmap, prefix: &str) -> BTreeMap<String, Setting<String>> {
    cmap.with_prefix(prefix)
        .map(|(key, raw)| {
            (
                key[prefix.len()..].to_string(),
                Setting::new(raw.value.clone(), raw),
            )
        })
        .collect()
}

impl Config {
    /// Reads the typed configuration from a parsed document.
    ///
    /// Never fails. The diagnostics are the value-level refusals of corosync's parser
    /// (spec 4.2 T1-T10 and L1), each tagged `rejected_by: corosync -t`; the refused values
    /// are then treated as absent. `validate::validate` includes these diagnostics again, so
    /// callers that run `validate` should not add them a second time.
    pub fn from_document(document: &Document) -> (Config, Vec<Diagnostic>) {
        let Flattened {
            cmap,
            node_sections,
            interface_sections,
            uidgid,
            mut diagnostics,
            refused,
        } = cmap::flatten(document);
        let totem = read_totem(&cmap);
        let interfaces = read_interfaces(&cmap, &interface_sections);
        let nodelist = read_nodelist(document, &cmap, &node_sections);
        let quorum = read_quorum(document, &cmap);
        let logging = logging::read_logging(&cmap);
        diagnostics.extend(logging::check_logging(&logging));
        let system = System {
            keys: map_with_prefix(&cmap, "system."),
        };
        let mut uidgid_section = UidGid::default();
        for item in uidgid {
            let setting = Setting::new(item.value.value.clone(), &item.value);
            if item.kind == "uid" {
                uidgid_section.uids.push(setting);
            } else {
                uidgid_section.gids.push(setting);
            }
        }
        let resources = Resources {
            watchdog_timeout: u32_setting(&cmap, "resources.watchdog_timeout"),
            keys: map_with_prefix(&cmap, "resources."),
        };
        let mut config = Config {
            totem,
            interfaces,
            interface_sections: interface_sections
                .iter()
                .map(|section| InterfaceSection {
                    linknumber: section.linknumber,
                    span: section.name_span,
                    stores_keys: section.stores_keys,
                })
                .collect(),
            nodelist,
            quorum,
            logging,
            system,
            uidgid: uidgid_section,
            resources,
            effective: Effective::default(),
            cmap,
            refused_keys: refused,
            value_diagnostics: Vec::new(),
        };
        config.effective = effective::compute(&config);
        // The inline key is a secret: keep only its length (in `totem.key_len`).
        if let Some(key) = config.cmap.entries.get_mut("totem.key") {
            key.value = "<redacted>".to_string();
        }
        diagnostics.sort_by_key(|diagnostic| diagnostic.span.map(|span| span.start));
        config.value_diagnostics = diagnostics.clone();
        (config, diagnostics)
    }

    /// The node at cmap position `index`.
    pub fn node_at(&self, index: u32) -> Option<&Node> {
        self.nodelist.nodes.iter().find(|node| node.index == index)
    }

    /// The key file corosync reads when crypto is enabled: `totem.keyfile`, or
    /// `/etc/corosync/authkey` when neither `keyfile` nor `key` is set. `None` when crypto
    /// is off or the key is inline. The binary reads this file to fill `HostFacts`.
    pub fn authkey_path(&self) -> Option<String> {
        if !self.effective.crypto_enabled {
            return None;
        }
        match (&self.totem.keyfile, &self.totem.key_len) {
            (Some(keyfile), _) => Some(keyfile.value.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_AUTHKEY_PATH.to_string()),
        }
    }

    /// The node id corosync uses for `node`: its explicit non-zero `nodeid`, or for udp and
    /// udpu the IPv4 ring0 address read as a big-endian u32 (bit 31 cleared with
    /// `clear_node_high_bit: yes`). `None` when there is neither.
    pub fn effective_nodeid(&self, node: &Node) -> Option<u32> {
        if let Some(nodeid) = node.nodeid.as_ref().filter(|nodeid| nodeid.value != 0) {
            return Some(nodeid.value);
        }
        if self.effective.transport == Transport::Knet {
            return None;
        }
        self.generated_nodeid(node)
    }

    /// The node id corosync would generate from `node`'s ring0 address (IPv4 only).
    pub fn generated_nodeid(&self, node: &Node) -> Option<u32> {
        let ring0 = node.ring0_addr()?;
        let address = match crate::validate::local::parse_numeric(&ring0.value)? {
            IpAddr::V4(address) => address,
            IpAddr::V6(_) => return None,
        };
        let mut nodeid = u32::from(address);
        if self
            .totem
            .clear_node_high_bit
            .as_ref()
            .is_some_and(|flag| flag.value == "yes")
        {
            nodeid &= 0x7FFF_FFFF;
        }
        Some(nodeid)
    }

    /// The votequorum input: nodes (cmap view, position order) with their effective node
    /// ids, votes and links, and the quorum options as votequorum reads them.
    pub fn quorum_settings(&self) -> QuorumSettings {
        let nodes = self
            .nodelist
            .nodes
            .iter()
            .map(|node| NodeSettings {
                nodeid: self.effective_nodeid(node).unwrap_or(0),
                name: node.display_name().unwrap_or_default().to_string(),
                votes: node.votes(),
                links: node
                    .ring_addrs
                    .keys()
                    .filter_map(|link| u8::try_from(*link).ok().filter(|link| *link < 8))
                    .collect(),
            })
            .collect();
        let quorum = &self.quorum;
        let provider = match &quorum.provider {
            None => Provider::None,
            Some(provider) if provider.value == "corosync_votequorum" => Provider::Votequorum,
            Some(provider) => Provider::Other(provider.value.clone()),
        };
        let device = quorum
            .device
            .as_ref()
            .filter(|device| device.is_configured())
            .map(|device| {
                DeviceSettings {
                    model: device
                        .model
                        .as_ref()
                        .map(|model| model.value.clone())
                        .unwrap_or_default(),
                    // votequorum reads 0xFFFFFFFF as "unset" (it compares with -1).
                    votes: device
                        .votes
                        .as_ref()
                        .map(|votes| votes.value)
                        .filter(|votes| *votes != u32::MAX),
                    algorithm: device.net.get("algorithm").map(|value| value.value.clone()),
                    tie_breaker: device.net.get("tie_breaker").map(|value| value.value.clone()),
                    timeout_ms: device.timeout.as_ref().map_or(10_000, |timeout| timeout.value),
                    sync_timeout_ms: device
                        .sync_timeout
                        .as_ref()
                        .map_or(30_000, |timeout| timeout.value),
                    keep_active_partition_tie_breaker: device
                        .net
                        .get("keep_active_partition_tie_breaker")
                        .is_none_or(|value| {
                            !["no", "off", "0"]
                                .iter()
                                .any(|off| value.value.eq_ignore_ascii_case(off))
                        }),
                    heuristics: device.heuristics.get("mode").is_some_and(|mode| {
                        mode.value.eq_ignore_ascii_case("on") || mode.value.eq_ignore_ascii_case("sync")
                    }) && device
                        .heuristics
                        .keys()
                        .any(|key| key.strip_prefix("exec_").is_some_and(|name| !name.is_empty())),
                }
            });
        QuorumSettings {
            nodes,
            provider,
            expected_votes: quorum
                .expected_votes
                .as_ref()
                .map(|votes| votes.value)
                .filter(|votes| *votes != 0),
            two_node: Quorum::flag(&quorum.two_node),
            wait_for_all: quorum.wait_for_all.as_ref().map(|flag| flag.value != 0),
            last_man_standing: Quorum::flag(&quorum.last_man_standing),
            last_man_standing_window_ms: quorum
                .last_man_standing_window
                .as_ref()
                .map_or(10_000, |w| w.value),
            auto_tie_breaker: Quorum::flag(&quorum.auto_tie_breaker),
            auto_tie_breaker_node: quorum
                .auto_tie_breaker_node
                .as_ref()
                .map(|atb| parse_atb_string(&atb.value)),
            allow_downscale: Quorum::flag(&quorum.allow_downscale),
            expected_votes_tracking: Quorum::flag(&quorum.expected_votes_tracking),
            device,
            transport: self.effective.transport,
        }
    }
}

/// Where corosync looks for the key when neither `keyfile` nor `key` is set.
pub const DEFAULT_AUTHKEY_PATH: &str = "/etc/corosync/authkey";

/// `parse_atb_string` (votequorum.c): `lowest`, `highest`, or a list of node ids read with
/// `strtol` until the first 0 or non-number, accepted only when `atoi` of the whole string
/// is non-zero.
pub fn parse_atb_string(text: &str) -> TieBreaker {
    match text {
        "lowest" => return TieBreaker::Lowest,
        "highest" => return TieBreaker::Highest,
        _ => {}
    }
    let mut rest = text;
    let mut list = Vec::new();
    while let Some((value, tail)) = c_strtol_prefix(rest) {
        if value == 0 {
            break;
        }
        // votequorum stores the long into a uint32 node id.
        list.push(value as u32);
        rest = tail;
    }
    if list.is_empty() {
        TieBreaker::Invalid
    } else {
        TieBreaker::List(list)
    }
}

/// `strtol(text, &end, 10)` for a prefix: skips C blanks and a sign, reads digits; `None`
/// when there are no digits. Saturates like strtol.
fn c_strtol_prefix(text: &str) -> Option<(i64, &str)> {
    let bytes = text.as_bytes();
    let mut position = 0;
    while position < bytes.len() && matches!(bytes[position], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        position += 1;
    }
    let mut negative = false;
    if position < bytes.len() && (bytes[position] == b'+' || bytes[position] == b'-') {
        negative = bytes[position] == b'-';
        position += 1;
    }
    let digits_start = position;
    let mut value: i64 = 0;
    while position < bytes.len() && bytes[position].is_ascii_digit() {
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(bytes[position] - b'0'));
        position += 1;
    }
    if position == digits_start {
        return None;
    }
    Some((if negative { -value } else { value }, &text[position..]))
}

fn read_totem(cmap: &Cmap) -> Totem {
    let s = |key: &str| string_setting(cmap, &format!("totem.{key}"));
    let u = |key: &str| u32_setting(cmap, &format!("totem.{key}"));
    Totem {
        version: u("version"),
        cluster_name: s("cluster_name"),
        config_version: cmap
            .get("totem.config_version")
            .and_then(|raw| Some(Setting::new(str_to_ull(&raw.value)?, raw))),
        transport: s("transport"),
        link_mode: s("link_mode"),
        ip_version: s("ip_version"),
        crypto_model: s("crypto_model"),
        crypto_cipher: s("crypto_cipher"),
        crypto_hash: s("crypto_hash"),
        secauth: s("secauth"),
        keyfile: s("keyfile"),
        key_len: cmap.get("totem.key").map(|raw| Setting {
            // icmap stores the string with its NUL terminator, and that is what is counted.
            value: raw.value.len() + 1,
            text: "<redacted>".to_string(),
            key_span: raw.key_span,
            value_span: raw.value_span,
        }),
        clear_node_high_bit: s("clear_node_high_bit"),
        nodeid: u("nodeid"),
        threads: u("threads"),
        token: u("token"),
        token_coefficient: u("token_coefficient"),
        token_retransmit: u("token_retransmit"),
        token_warning: u("token_warning"),
        hold: u("hold"),
        token_retransmits_before_loss_const: u("token_retransmits_before_loss_const"),
        join: u("join"),
        send_join: u("send_join"),
        consensus: u("consensus"),
        merge: u("merge"),
        downcheck: u("downcheck"),
        fail_recv_const: u("fail_recv_const"),
        seqno_unchanged_const: u("seqno_unchanged_const"),
        heartbeat_failures_allowed: u("heartbeat_failures_allowed"),
        max_network_delay: u("max_network_delay"),
        window_size: u("window_size"),
        max_messages: u("max_messages"),
        miss_count_const: u("miss_count_const"),
        knet_pmtud_interval: u("knet_pmtud_interval"),
        knet_mtu: u("knet_mtu"),
        knet_compression_model: s("knet_compression_model"),
        knet_compression_threshold: u("knet_compression_threshold"),
        knet_compression_level: int_setting(cmap, "totem.knet_compression_level", IntType::I32),
        netmtu: u("netmtu"),
        block_unlisted_ips: s("block_unlisted_ips"),
        ip_dscp: s("ip_dscp"),
    }
}

fn read_interfaces(cmap: &Cmap, sections: &[cmap::InterfaceSection]) -> BTreeMap<u8, Interface> {
    let mut interfaces: BTreeMap<u8, Interface> = BTreeMap::new();
    for (key, raw) in cmap.with_prefix("totem.interface.") {
        let rest = &key["totem.interface.".len()..];
        let Some((link, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(linknumber) = link.parse::<u8>() else {
            continue;
        };
        let interface = interfaces.entry(linknumber).or_insert_with(|| Interface {
            linknumber,
            ..Interface::default()
        });
        let text = || Some(Setting::new(raw.value.clone(), raw));
        match field {
            "bindnetaddr" => interface.bindnetaddr = text(),
            "mcastaddr" => interface.mcastaddr = text(),
            "broadcast" => interface.broadcast = text(),
            "knet_transport" => interface.knet_transport = text(),
            "mcastport" => interface.mcastport = int_setting(cmap, key, IntType::U16),
            "ttl" => interface.ttl = int_setting(cmap, key, IntType::U8),
            "knet_link_priority" => interface.knet_link_priority = int_setting(cmap, key, IntType::U8),
            "knet_ping_interval" => interface.knet_ping_interval = u32_setting(cmap, key),
            "knet_ping_timeout" => interface.knet_ping_timeout = u32_setting(cmap, key),
            "knet_ping_precision" => interface.knet_ping_precision = u32_setting(cmap, key),
            "knet_pong_count" => interface.knet_pong_count = u32_setting(cmap, key),
            other if other.starts_with("member.") => {
                interface.members.push(Setting::new(raw.value.clone(), raw));
            }
            _ => {}
        }
    }
    for section in sections.iter().filter(|section| section.stores_keys) {
        if let Some(interface) = interfaces.get_mut(&section.linknumber) {
            interface.sections.push(section.name_span);
        }
    }
    interfaces
}

/// Fills one node field from a key below `nodelist.node.<index>.`.
fn set_node_field(node: &mut Node, field: &str, raw: &CmapValue) {
    match field {
        "nodeid" => {
            node.nodeid = safe_atoq(&raw.value, IntType::U32)
                .and_then(|value| u32::try_from(value).ok())
                .map(|value| Setting::new(value, raw));
        }
        "quorum_votes" => {
            node.quorum_votes = safe_atoq(&raw.value, IntType::U32)
                .and_then(|value| u32::try_from(value).ok())
                .map(|value| Setting::new(value, raw));
        }
        "name" => node.name = Some(Setting::new(raw.value.clone(), raw)),
        other => {
            // `sscanf("ring%u%s")` with the rest exactly `_addr`.
            let ring = other
                .strip_prefix("ring")
                .and_then(|rest| rest.strip_suffix("_addr"))
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u32>().ok());
            match ring {
                Some(ring) => {
                    node.ring_addrs.insert(ring, Setting::new(raw.value.clone(), raw));
                }
                None => {
                    node.other
                        .insert(other.to_string(), Setting::new(raw.value.clone(), raw));
                }
            }
        }
    }
}

fn read_nodelist(document: &Document, cmap: &Cmap, node_sections: &[cmap::NodeSection]) -> Nodelist {
    let mut by_index: BTreeMap<u32, Node> = BTreeMap::new();
    for (key, raw) in cmap.with_prefix("nodelist.node.") {
        let rest = &key["nodelist.node.".len()..];
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        let node = by_index.entry(index).or_insert_with(|| Node {
            index,
            ..Node::default()
        });
        set_node_field(node, field, raw);
    }
    for section in node_sections {
        if let Some(node) = by_index.get_mut(&section.index) {
            node.sections.push(section.name_span);
        }
    }
    // What the file says: each node section's own keys (subsection keys included, as
    // corosync merges them into the node).
    let sections = document.sections_at("nodelist.node");
    let written = node_sections
        .iter()
        .map(|info| {
            let mut node = Node {
                index: info.index,
                sections: vec![info.name_span],
                ..Node::default()
            };
            if let Some(section) = sections
                .iter()
                .find(|section| section.start_line == info.start_line)
            {
                let mut todo: Vec<&Section> = vec![section];
                let mut items = Vec::new();
                while let Some(current) = todo.pop() {
                    for entry in &current.entries {
                        match entry {
                            Entry::Key(item) => items.push(item),
                            Entry::Section(child) => todo.push(child),
                        }
                    }
                }
                items.sort_by_key(|item| item.line);
                for item in items {
                    let raw = CmapValue {
                        value: item.value.clone(),
                        key_span: item.key_span,
                        value_span: item.value_span,
                        line: item.line,
                    };
                    set_node_field(&mut node, &item.key, &raw);
                }
            }
            node
        })
        .collect();
    Nodelist {
        nodes: by_index.into_values().collect(),
        written,
        section_count: document.sections_at("nodelist").len(),
    }
}

fn read_quorum(document: &Document, cmap: &Cmap) -> Quorum {
    let u = |key: &str| u32_setting(cmap, &format!("quorum.{key}"));
    let b = |key: &str| u8_setting(cmap, &format!("quorum.{key}"));
    let device_sections = document.sections_at("quorum.device");
    let device = (!device_sections.is_empty()).then(|| QuorumDevice {
        model: string_setting(cmap, "quorum.device.model"),
        votes: u("device.votes"),
        timeout: u("device.timeout"),
        sync_timeout: u("device.sync_timeout"),
        master_wins: b("device.master_wins"),
        net: map_with_prefix(cmap, "quorum.device.net."),
        heuristics: map_with_prefix(cmap, "quorum.device.heuristics."),
        sections: device_sections.iter().map(|section| section.name_span).collect(),
    });
    Quorum {
        provider: string_setting(cmap, "quorum.provider"),
        expected_votes: u("expected_votes"),
        votes: u("votes"),
        two_node: b("two_node"),
        wait_for_all: b("wait_for_all"),
        last_man_standing: b("last_man_standing"),
        last_man_standing_window: u("last_man_standing_window"),
        auto_tie_breaker: b("auto_tie_breaker"),
        auto_tie_breaker_node: string_setting(cmap, "quorum.auto_tie_breaker_node"),
        allow_downscale: b("allow_downscale"),
        expected_votes_tracking: b("expected_votes_tracking"),
        leaving_timeout: u("leaving_timeout"),
        device,
    }
}

/// Parses a ring address the way this crate can without DNS: an IP literal, or a hostname
/// looked up in `hosts` (`None` when it is a hostname and `hosts` does not know it).
pub fn literal_or_mapped(address: &str, hosts: Option<&BTreeMap<String, IpAddr>>) -> Option<IpAddr> {
    crate::validate::local::parse_numeric(address)
        .or_else(|| hosts.and_then(|hosts| hosts.get(address).copied()))
}
