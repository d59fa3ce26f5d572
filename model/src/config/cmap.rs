//! The cmap view of a corosync.conf: what corosync's parser callback stores, key by key.
//!
//! Owns `Cmap`, `CmapValue` and `flatten`, which walks a `syntax::Document` the way
//! `main_config_parser_cb` (coroparse.c, 3.1.7) does: repeated sections merge and the last
//! value wins, `totem.interface` keys move under their link number when the section ends,
//! nodelist nodes are numbered per `nodelist {}` section (a second one restarts at 0 and
//! overwrites), and typed keys are range-checked. Its diagnostics are the parser-time
//! refusals (spec 4.2 T1-T10, L1 is in `config::logging`). It must not interpret values
//! beyond what the parser callback itself does.

use std::collections::BTreeMap;

use serde::Serialize;

use super::int::{safe_atoq, str_to_ull, IntType};
use crate::diag::{Diagnostic, Span};
use crate::syntax::{Document, Entry, KeyValue, Section};
use crate::validate::checks;

/// One value stored in cmap, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CmapValue {
    /// The text corosync stores (for typed keys, the text that was parsed).
    pub value: String,
    /// Where the key is written.
    pub key_span: Span,
    /// Where the value is written.
    pub value_span: Span,
    /// Index of the line in `Document::lines`.
    pub line: usize,
}

impl CmapValue {
    fn from_item(item: &KeyValue) -> CmapValue {
        CmapValue {
            value: item.value.clone(),
            key_span: item.key_span,
            value_span: item.value_span,
            line: item.line,
        }
    }
}

/// The flat key map corosync builds from the file (`icmap`), sorted as icmap iterates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cmap {
    /// Key (e.g. `nodelist.node.0.ring0_addr`) to its effective value. Values corosync's
    /// parser refuses are left out.
    pub entries: BTreeMap<String, CmapValue>,
}

impl Cmap {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&CmapValue> {
        self.entries.get(key)
    }

    /// All entries whose key starts with `prefix`, in icmap order.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a CmapValue)> + 'a {
        self.entries
            .range(prefix.to_string()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
    }
}

/// Where a `nodelist { node {} }` section landed in cmap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSection {
    /// The position corosync gives it (`nodelist.node.<index>`); restarts at 0 in every
    /// `nodelist {}` section and also advances at the end of any subsection of a node.
    pub index: u32,
    /// The span of the `node` section name.
    pub name_span: Span,
    /// Index of the `node {` line.
    pub start_line: Option<usize>,
}

/// Where a `totem { interface {} }` section landed in cmap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceSection {
    /// The link number its keys are stored under (`linknumber`, default 0).
    pub linknumber: u8,
    /// The span of the `interface` section name.
    pub name_span: Span,
    /// Whether it stored any per-link key; one that does not is ignored by corosync.
    pub stores_keys: bool,
}

/// A `uidgid { uid: ... }` or `gid` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UidGidItem {
    /// `uid` or `gid`.
    pub kind: String,
    /// The user or group name.
    pub value: CmapValue,
}

/// Everything `flatten` learns.
#[derive(Clone, Debug, Default)]
pub struct Flattened {
    /// The cmap.
    pub cmap: Cmap,
    /// Node sections in file order.
    pub node_sections: Vec<NodeSection>,
    /// Interface sections in file order.
    pub interface_sections: Vec<InterfaceSection>,
    /// uidgid items in file order.
    pub uidgid: Vec<UidGidItem>,
    /// Parser-time refusals.
    pub diagnostics: Vec<Diagnostic>,
    /// cmap keys whose value the parser refused (left out of `cmap`).
    pub refused: std::collections::BTreeSet<String>,
}

/// The parser callback's state, chosen by a section's exact path and inherited by unknown
/// subsections (`main_cp_cb_data_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Normal,
    Totem,
    Interface,
    LoggerSubsys,
    LoggingDaemon,
    Uidgid,
    Member,
    Quorum,
    Qdevice,
    Nodelist,
    NodelistNode,
    System,
    Resources,
    ResourcesPoll,
}

fn state_for(path: &str, parent: State) -> State {
    match path {
        "totem" => State::Totem,
        "totem.interface" => State::Interface,
        "totem.interface.member" => State::Member,
        "logging.logger_subsys" => State::LoggerSubsys,
        "logging.logging_daemon" => State::LoggingDaemon,
        "uidgid" => State::Uidgid,
        "quorum" => State::Quorum,
        "quorum.device" => State::Qdevice,
        "nodelist" => State::Nodelist,
        "nodelist.node" => State::NodelistNode,
        "system" => State::System,
        "resources" => State::Resources,
        "resources.system"
        | "resources.system.memory_used"
        | "resources.process"
        | "resources.process.memory_used" => State::ResourcesPoll,
        _ => parent,
    }
}

/// Every key corosync 3.1.7 reads in `totem`, with the cmap integer type it range-checks
/// (`None`: a string, or an integer it does not range-check), from corosync.conf(5) and
/// totemconfig.c. The one list of totem keys: lint's `unknown-key` schema reads its names
/// (`TOTEM_KEY_NAMES`). See: issue 8 item 7.
pub(crate) const TOTEM_KEYS: &[(&str, Option<IntType>)] = &[
    ("version", Some(IntType::U32)),
    ("nodeid", Some(IntType::U32)),
    ("threads", Some(IntType::U32)),
    ("token", Some(IntType::U32)),
    ("token_coefficient", Some(IntType::U32)),
    ("token_retransmit", Some(IntType::U32)),
    ("token_warning", Some(IntType::U32)),
    ("hold", Some(IntType::U32)),
    ("token_retransmits_before_loss_const", Some(IntType::U32)),
    ("join", Some(IntType::U32)),
    ("send_join", Some(IntType::U32)),
    ("consensus", Some(IntType::U32)),
    ("merge", Some(IntType::U32)),
    ("downcheck", Some(IntType::U32)),
    ("fail_recv_const", Some(IntType::U32)),
    ("seqno_unchanged_const", Some(IntType::U32)),
    ("heartbeat_failures_allowed", Some(IntType::U32)),
    ("max_network_delay", Some(IntType::U32)),
    ("window_size", Some(IntType::U32)),
    ("max_messages", Some(IntType::U32)),
    ("miss_count_const", Some(IntType::U32)),
    ("knet_pmtud_interval", Some(IntType::U32)),
    ("knet_mtu", Some(IntType::U32)),
    ("knet_compression_model", None),
    ("knet_compression_threshold", Some(IntType::U32)),
    ("knet_compression_level", Some(IntType::I32)),
    ("netmtu", Some(IntType::U32)),
    ("config_version", None),
    ("ip_version", None),
    ("ip_dscp", None),
    ("crypto_model", None),
    ("crypto_cipher", None),
    ("crypto_hash", None),
    ("secauth", None),
    ("keyfile", None),
    ("key", None),
    ("link_mode", None),
    ("transport", None),
    ("cluster_name", None),
    ("clear_node_high_bit", None),
    ("block_unlisted_ips", None),
    ("cancel_token_hold_on_retransmit", None),
    ("rrp_mode", None),
    ("rrp_problem_count_timeout", Some(IntType::U32)),
    ("rrp_problem_count_threshold", Some(IntType::U32)),
    ("rrp_problem_count_mcast_threshold", Some(IntType::U32)),
    ("rrp_token_expired_timeout", Some(IntType::U32)),
    ("rrp_autorecovery_check_timeout", Some(IntType::U32)),
];

/// The names of `TOTEM_KEYS`, in the same order.
pub(crate) const TOTEM_KEY_NAMES: [&str; TOTEM_KEYS.len()] = {
    let mut names = [""; TOTEM_KEYS.len()];
    let mut index = 0;
    while index < TOTEM_KEYS.len() {
        names[index] = TOTEM_KEYS[index].0;
        index += 1;
    }
    names
};

/// Every key corosync reads in an `interface` section: the link number (`linknumber`, or
/// the older `ringnumber`) and then the keys it stores under
/// `totem.interface.<linknumber>.` (`INTERFACE_LINK_KEYS`). The one list: `lint`'s
/// `unknown-key` schema uses it too.
pub(crate) const INTERFACE_KEYS: &[&str] = &[
    "linknumber",
    "ringnumber",
    "bindnetaddr",
    "broadcast",
    "mcastaddr",
    "mcastport",
    "ttl",
    "knet_link_priority",
    "knet_ping_interval",
    "knet_ping_timeout",
    "knet_ping_precision",
    "knet_pong_count",
    "knet_transport",
];

/// Interface keys corosync stores under `totem.interface.<linknumber>.`.
const INTERFACE_LINK_KEYS: &[&str] = INTERFACE_KEYS.split_at(2).1;

/// The cmap type of a key corosync range-checks, if any.
fn int_type(state: State, path: &str, key: &str) -> Option<IntType> {
    match state {
        State::Quorum => match path {
            "quorum.expected_votes"
            | "quorum.votes"
            | "quorum.last_man_standing_window"
            | "quorum.leaving_timeout" => Some(IntType::U32),
            "quorum.two_node"
            | "quorum.expected_votes_tracking"
            | "quorum.allow_downscale"
            | "quorum.wait_for_all"
            | "quorum.auto_tie_breaker"
            | "quorum.last_man_standing" => Some(IntType::U8),
            _ => None,
        },
        State::Qdevice => match path {
            "quorum.device.timeout" | "quorum.device.sync_timeout" | "quorum.device.votes" => {
                Some(IntType::U32)
            }
            "quorum.device.master_wins" => Some(IntType::U8),
            _ => None,
        },
        State::Totem => {
            let name = path.strip_prefix("totem.")?;
            TOTEM_KEYS
                .iter()
                .find(|(key, _)| *key == name)
                .and_then(|(_, int_type)| *int_type)
        }
        State::Interface => match path {
            "totem.interface.linknumber" | "totem.interface.ttl" | "totem.interface.knet_link_priority" => {
                Some(IntType::U8)
            }
            "totem.interface.mcastport" => Some(IntType::U16),
            "totem.interface.knet_ping_interval"
            | "totem.interface.knet_ping_timeout"
            | "totem.interface.knet_ping_precision"
            | "totem.interface.knet_pong_count" => Some(IntType::U32),
            _ => None,
        },
        State::NodelistNode => matches!(key, "nodeid" | "quorum_votes").then_some(IntType::U32),
        State::Resources => (key == "watchdog_timeout").then_some(IntType::U32),
        _ => None,
    }
}

/// A value check for an enumerated key: (allowed values, check, corosync message).
fn enum_rule(state: State, path: &str) -> Option<(&'static [&'static str], checks::Check, &'static str)> {
    match (state, path) {
        (State::Totem, "totem.ip_version") => Some((
            &["ipv4", "ipv6", "ipv6-4", "ipv4-6"],
            checks::INVALID_IP_VERSION,
            "Invalid ip_version type",
        )),
        (State::Totem, "totem.crypto_model") => Some((
            &["nss", "openssl"],
            checks::INVALID_CRYPTO_MODEL,
            "Invalid crypto model. Should be nss or openssl",
        )),
        (State::Totem, "totem.crypto_cipher") => Some((
            &["none", "aes256", "aes192", "aes128"],
            checks::INVALID_CRYPTO_CIPHER,
            "Invalid cipher type. Should be none, aes256, aes192 or aes128",
        )),
        (State::Totem, "totem.crypto_hash") => Some((
            &["none", "md5", "sha1", "sha256", "sha384", "sha512"],
            checks::INVALID_CRYPTO_HASH,
            "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512",
        )),
        (State::Totem, "totem.knet_compression_model") => Some((
            &["zlib", "lz4", "lz4hc", "lzo2", "lzma", "bzip2", "zstd"],
            checks::INVALID_COMPRESSION_MODEL,
            "Invalid compression model. Should be zlib, lz4, lz4hc, lzo2, lzma, bzip2 or zstd",
        )),
        (State::System, "system.qb_ipc_type") => Some((
            &["native", "shm", "socket"],
            checks::INVALID_SYSTEM_VALUE,
            "Invalid system.qb_ipc_type",
        )),
        (State::System, "system.sched_rr") => Some((
            &["yes", "no"],
            checks::INVALID_SYSTEM_VALUE,
            "Invalid system.sched_rr value",
        )),
        (State::System, "system.move_to_root_cgroup") => Some((
            &["yes", "no", "auto"],
            checks::INVALID_SYSTEM_VALUE,
            "Invalid system.move_to_root_cgroup",
        )),
        (State::System, "system.allow_knet_handle_fallback") => Some((
            &["yes", "no"],
            checks::INVALID_SYSTEM_VALUE,
            "Invalid system.allow_knet_handle_fallback",
        )),
        _ => None,
    }
}

/// Per-section scratch data (`struct main_cp_cb_data` pieces that live for one section).
#[derive(Default)]
struct InterfaceScratch {
    linknumber: u8,
    keys: BTreeMap<String, CmapValue>,
    members: Vec<CmapValue>,
}

#[derive(Default)]
struct SubsysScratch {
    subsys: Option<String>,
    name: Option<String>,
    items: Vec<(String, CmapValue)>,
}

struct Walker {
    out: Flattened,
    node_number: u32,
    interface: InterfaceScratch,
    subsys: SubsysScratch,
}

/// Walks `document` as corosync 3.1.7's parser callback does.
pub fn flatten(document: &Document) -> Flattened {
    let mut walker = Walker {
        out: Flattened::default(),
        node_number: 0,
        interface: InterfaceScratch::default(),
        subsys: SubsysScratch::default(),
    };
    // Explicit stack of (section, next entry index, state): no recursion, so nesting depth
    // is bounded by memory only.
    let mut stack: Vec<(&Section, usize, State)> = vec![(document.root(), 0, State::Normal)];
    while let Some((section, index, state)) = stack.pop() {
        match section.entries.get(index) {
            None => {
                if section.start_line.is_some() {
                    walker.section_end(section, state);
                }
            }
            Some(Entry::Key(item)) => {
                stack.push((section, index + 1, state));
                walker.item(section, item, state);
            }
            Some(Entry::Section(child)) => {
                stack.push((section, index + 1, state));
                let child_state = state_for(&child.path, state);
                walker.section_start(child, state, child_state);
                stack.push((child, 0, child_state));
            }
        }
    }
    walker.out
}

impl Walker {
    fn error(&mut self, check: checks::Check, message: String, span: Span, corosync_says: String) {
        self.out
            .diagnostics
            .push(check.diagnostic(message, Some(span), &corosync_says));
    }

    fn parser_error(&mut self, check: checks::Check, message: String, span: Span, line: usize, text: &str) {
        let corosync_says = format!("parser error: <file>:{}: {text}", line + 1);
        self.error(check, message, span, corosync_says);
    }

    fn store(&mut self, key: String, value: CmapValue) {
        self.out.cmap.entries.insert(key, value);
    }

    fn section_start(&mut self, section: &Section, parent_state: State, state: State) {
        match section.path.as_str() {
            "totem.interface" => self.interface = InterfaceScratch::default(),
            "logging.logger_subsys" | "logging.logging_daemon" => self.subsys = SubsysScratch::default(),
            "nodelist" => self.node_number = 0,
            "nodelist.node" => self.out.node_sections.push(NodeSection {
                index: self.node_number,
                name_span: section.name_span,
                start_line: section.start_line,
            }),
            _ => {}
        }
        if matches!(parent_state, State::LoggerSubsys | State::LoggingDaemon) && parent_state == state {
            self.error(
                checks::INVALID_SECTION_ITEM,
                format!("subsection `{}` inside a logging subsystem section", section.name),
                section.name_span,
                "corosync 3.1.7 crashes with SIGSEGV (rc=139) and prints nothing".to_string(),
            );
        }
    }

    fn section_end(&mut self, section: &Section, state: State) {
        match state {
            State::Interface if section.path == "totem.interface" => {
                let scratch = std::mem::take(&mut self.interface);
                let stores_keys = !scratch.keys.is_empty() || !scratch.members.is_empty();
                for (key, value) in scratch.keys {
                    self.store(format!("totem.interface.{}.{key}", scratch.linknumber), value);
                }
                for (position, value) in scratch.members.into_iter().enumerate() {
                    self.store(
                        format!("totem.interface.{}.member.{position}", scratch.linknumber),
                        value,
                    );
                }
                self.out.interface_sections.push(InterfaceSection {
                    linknumber: scratch.linknumber,
                    name_span: section.name_span,
                    stores_keys,
                });
            }
            State::LoggerSubsys if section.path == "logging.logger_subsys" => {
                let scratch = std::mem::take(&mut self.subsys);
                match scratch.subsys {
                    None => self.section_error(section, "No subsys key in logger_subsys directive"),
                    Some(subsys) => {
                        for (key, value) in scratch.items {
                            self.store(format!("logging.logger_subsys.{subsys}.{key}"), value);
                        }
                    }
                }
            }
            State::LoggingDaemon if section.path == "logging.logging_daemon" => {
                let scratch = std::mem::take(&mut self.subsys);
                match scratch.name {
                    None => self.section_error(section, "No name key in logging_daemon directive"),
                    Some(name) => {
                        for (key, value) in scratch.items {
                            let cmap_key = match (&scratch.subsys, name == "corosync") {
                                (None, true) => format!("logging.{key}"),
                                (None, false) => format!("logging.logging_daemon.{name}.{key}"),
                                (Some(subsys), true) => format!("logging.logger_subsys.{subsys}.{key}"),
                                (Some(subsys), false) => {
                                    format!("logging.logging_daemon.{name}.{subsys}.{key}")
                                }
                            };
                            self.store(cmap_key, value);
                        }
                    }
                }
            }
            // 3.1.7 advances the node number at the end of the node section and of any
            // subsection inside it [verified with corosync -t].
            State::NodelistNode => self.node_number = self.node_number.saturating_add(1),
            _ => {}
        }
    }

    fn section_error(&mut self, section: &Section, text: &str) {
        let line = section.end_line.or(section.start_line).unwrap_or(0);
        self.parser_error(
            checks::INVALID_SECTION_ITEM,
            format!("`{}` section {}", section.name, lowercase_reason(text)),
            section.name_span,
            line,
            text,
        );
    }

    fn item(&mut self, section: &Section, item: &KeyValue, state: State) {
        let path = if section.path.is_empty() {
            item.key.clone()
        } else {
            format!("{}.{}", section.path, item.key)
        };
        let value = CmapValue::from_item(item);
        // Typed integers.
        if let Some(int_type) = int_type(state, &path, &item.key) {
            let key_name = match state {
                State::NodelistNode => format!("nodelist.node.{}.{}", self.node_number, item.key),
                _ => path.clone(),
            };
            if safe_atoq(&item.value, int_type).is_none() {
                self.out.refused.insert(key_name.clone());
                let (min, max) = int_type.range();
                self.parser_error(
                    checks::INTEGER_OUT_OF_RANGE,
                    format!("`{}` must be an integer from {min} to {max}, not \"{}\"", item.key, item.value),
                    item.value_span,
                    item.line,
                    &format!(
                        "Value of key \"{key_name}\" is expected to be integer in range ({min}..{max}), but \"{}\" was given",
                        item.value
                    ),
                );
                return;
            }
        }
        // 64-bit unsigned keys: 3.1.7 aborts on a bad value.
        let is_u64 = (state == State::Totem && path == "totem.config_version")
            || (state == State::ResourcesPoll && item.key == "poll_period");
        if is_u64 && str_to_ull(&item.value).is_none() {
            self.out.refused.insert(path.clone());
            self.error(
                checks::UNSIGNED_OUT_OF_RANGE,
                format!(
                    "`{}` must be an unsigned 64-bit number, not \"{}\"",
                    item.key, item.value
                ),
                item.value_span,
                checks::UNSIGNED_OUT_OF_RANGE.corosync_message.to_string(),
            );
            return;
        }
        if let Some((allowed, check, text)) = enum_rule(state, &path) {
            if !allowed.contains(&item.value.as_str()) {
                self.out.refused.insert(path.clone());
                self.parser_error(
                    check,
                    format!(
                        "`{}` must be one of {}, not \"{}\"",
                        item.key,
                        allowed.join(", "),
                        item.value
                    ),
                    item.value_span,
                    item.line,
                    text,
                );
                return;
            }
        }
        match state {
            State::Interface if section.path == "totem.interface" => {
                if item.key == "linknumber" {
                    // Already range-checked as uint8 above.
                    self.interface.linknumber = safe_atoq(&item.value, IntType::U8)
                        .and_then(|v| u8::try_from(v).ok())
                        .unwrap_or(0);
                } else if INTERFACE_LINK_KEYS.contains(&item.key.as_str()) {
                    self.interface.keys.insert(item.key.clone(), value);
                } else {
                    self.store(path, value);
                }
            }
            State::Member => {
                if item.key == "memberaddr" {
                    self.interface.members.push(value);
                } else {
                    self.parser_error(
                        checks::INVALID_SECTION_ITEM,
                        format!(
                            "`{}` is not allowed in a member section (only memberaddr)",
                            item.key
                        ),
                        item.key_span,
                        item.line,
                        "Only memberaddr is allowed in member section",
                    );
                }
            }
            State::LoggerSubsys | State::LoggingDaemon => {
                if item.key == "subsys" {
                    self.subsys.subsys = Some(item.value.clone());
                } else if state == State::LoggingDaemon && item.key == "name" {
                    self.subsys.name = Some(item.value.clone());
                } else {
                    self.subsys.items.push((item.key.clone(), value));
                }
            }
            State::Uidgid => {
                if item.key == "uid" || item.key == "gid" {
                    self.out.uidgid.push(UidGidItem {
                        kind: item.key.clone(),
                        value,
                    });
                } else {
                    self.parser_error(
                        checks::INVALID_SECTION_ITEM,
                        format!(
                            "`{}` is not allowed in a uidgid section (only uid and gid)",
                            item.key
                        ),
                        item.key_span,
                        item.line,
                        "uidgid: Only uid and gid are allowed items",
                    );
                }
            }
            State::NodelistNode => {
                self.store(format!("nodelist.node.{}.{}", self.node_number, item.key), value);
            }
            _ => self.store(path, value),
        }
    }
}

/// Turns corosync's capitalised reason into our lowercase message style.
fn lowercase_reason(text: &str) -> String {
    match text {
        "No subsys key in logger_subsys directive" => "has no `subsys` key".to_string(),
        "No name key in logging_daemon directive" => "has no `name` key".to_string(),
        other => other.to_lowercase(),
    }
}
