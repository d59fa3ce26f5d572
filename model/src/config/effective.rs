//! The values corosync 3.1.7 computes from the configuration: defaults, the effective token
//! with its coefficient, the derived timeouts, the configured links and their knet ping
//! timers, netmtu by transport.
//!
//! Owns `Effective`, `EffectiveLink`, `IpVersion` and `compute`. The arithmetic follows
//! `totem_volatile_config_read` and `calc_knet_ping_timers` (totemconfig.c) with the same C
//! types: uint32 wrap-around, double-to-int casts that truncate, and the `(int)(float)` of
//! the consensus default. It must not validate (see `validate`).

use serde::Serialize;

use super::Config;
use crate::quorum::settings::Transport;

/// `totem.ip_version` as corosync uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpVersion {
    /// `ipv4` (the default for udp).
    Ipv4,
    /// `ipv6`.
    Ipv6,
    /// `ipv4-6`: IPv4 first, IPv6 allowed.
    Ipv4Then6,
    /// `ipv6-4` (the default for knet and udpu): IPv6 first, IPv4 allowed.
    #[default]
    Ipv6Then4,
}

impl IpVersion {
    /// The `totem.ip_version` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            IpVersion::Ipv4 => "ipv4",
            IpVersion::Ipv6 => "ipv6",
            IpVersion::Ipv4Then6 => "ipv4-6",
            IpVersion::Ipv6Then4 => "ipv6-4",
        }
    }

    /// Whether an address of this family is accepted (`totemip_parse` with this version).
    pub fn allows(self, address: std::net::IpAddr) -> bool {
        match self {
            IpVersion::Ipv4 => address.is_ipv4(),
            IpVersion::Ipv6 => address.is_ipv6(),
            IpVersion::Ipv4Then6 | IpVersion::Ipv6Then4 => true,
        }
    }
}

/// One configured link with the values corosync uses for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EffectiveLink {
    /// Link number, 0..=7.
    pub linknumber: u8,
    /// Number of nodes with a `ring<linknumber>_addr` (corosync's `member_count`).
    pub member_count: u32,
    /// UDP port: `mcastport`, or 5405 + linknumber (5405 + 2·linknumber with broadcast).
    pub mcastport: u16,
    /// `ttl` (default 1).
    pub ttl: u8,
    /// `knet_link_priority` (default 1).
    pub knet_link_priority: u8,
    /// `knet_ping_interval` in ms (default token / (pong_count · 2)).
    pub knet_ping_interval: u32,
    /// `knet_ping_timeout` in ms (default token / pong_count).
    pub knet_ping_timeout: u32,
    /// `knet_ping_precision` (default 2048).
    pub knet_ping_precision: u32,
    /// `knet_pong_count` (default 2).
    pub knet_pong_count: u32,
    /// `knet_transport` (default `udp`).
    pub knet_transport: String,
}

/// What corosync computes; every field is the value in force at startup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// Transport (knet when absent or invalid).
    pub transport: Transport,
    /// IP version (ipv6-4 for knet/udpu, ipv4 for udp, unless set).
    pub ip_version: IpVersion,
    /// `link_mode` (default `passive`).
    pub link_mode: String,
    /// Cipher in force (`secauth: on` implies aes256; `crypto_cipher` overrides).
    pub crypto_cipher: String,
    /// Hash in force (`secauth: on` implies sha256; `crypto_hash` overrides).
    pub crypto_hash: String,
    /// Crypto library (`nss` by default).
    pub crypto_model: String,
    /// Whether corosync reads a key (cipher or hash is not `none`).
    pub crypto_enabled: bool,
    /// N of the token formula: nodelist entries with a `ring0_addr`.
    pub ring0_node_count: u32,
    /// `token_retransmits_before_loss_const` (default 4; 0 means default).
    pub token_retransmits_before_loss_const: u32,
    /// Effective token in ms: token + (N − 2) · token_coefficient when N > 2.
    pub token: u32,
    /// `token_coefficient` in ms (default 650; 0 disables).
    pub token_coefficient: u32,
    /// `token_warning` in percent (default 75; 0 disables).
    pub token_warning: u32,
    /// Token retransmit in ms: `(int)(token / (const + 0.2))` unless set.
    pub token_retransmit: u32,
    /// Hold in ms: `(int)(retransmit · 0.8 − 10)` unless set.
    pub hold: u32,
    /// Join in ms (default 50).
    pub join: u32,
    /// Consensus in ms: `(int)(float)(1.2 · token)` unless set.
    pub consensus: u32,
    /// Merge in ms (default 200).
    pub merge: u32,
    /// Downcheck in ms (default 1000).
    pub downcheck: u32,
    /// `fail_recv_const` (default 2500).
    pub fail_recv_const: u32,
    /// `seqno_unchanged_const` (default 30).
    pub seqno_unchanged_const: u32,
    /// `send_join` in ms (default 0).
    pub send_join: u32,
    /// `max_network_delay` in ms (default 50).
    pub max_network_delay: u32,
    /// `window_size` (default 50).
    pub window_size: u32,
    /// `max_messages` (default 17).
    pub max_messages: u32,
    /// `miss_count_const` (default 5).
    pub miss_count_const: u32,
    /// `knet_pmtud_interval` in s (default 30).
    pub knet_pmtud_interval: u32,
    /// `netmtu`: set value, else 65536 for knet (KNET_MAX_PACKET_SIZE) and 1500 otherwise.
    pub netmtu: u32,
    /// Configured links in link order: links some node has an address on, and links an
    /// interface section stores keys for (for udp only with a bindnetaddr).
    pub links: Vec<EffectiveLink>,
}

impl Default for Effective {
    fn default() -> Effective {
        // Spelled out: `Config::default()` would call this function again.
        compute(&Config {
            totem: super::Totem::default(),
            interfaces: Default::default(),
            interface_sections: Vec::new(),
            nodelist: super::Nodelist::default(),
            quorum: super::Quorum::default(),
            logging: super::Logging::default(),
            system: super::System::default(),
            uidgid: super::UidGid::default(),
            resources: super::Resources::default(),
            effective: Effective::placeholder(),
            cmap: super::cmap::Cmap::default(),
            refused_keys: Default::default(),
            value_diagnostics: Vec::new(),
        })
    }
}

impl Effective {
    fn placeholder() -> Effective {
        Effective {
            transport: Transport::Knet,
            ip_version: IpVersion::Ipv6Then4,
            link_mode: String::new(),
            crypto_cipher: String::new(),
            crypto_hash: String::new(),
            crypto_model: String::new(),
            crypto_enabled: false,
            ring0_node_count: 0,
            token_retransmits_before_loss_const: 0,
            token: 0,
            token_coefficient: 0,
            token_warning: 0,
            token_retransmit: 0,
            hold: 0,
            join: 0,
            consensus: 0,
            merge: 0,
            downcheck: 0,
            fail_recv_const: 0,
            seqno_unchanged_const: 0,
            send_join: 0,
            max_network_delay: 0,
            window_size: 0,
            max_messages: 0,
            miss_count_const: 0,
            knet_pmtud_interval: 0,
            netmtu: 0,
            links: Vec::new(),
        }
    }

    /// The effective link with this number, if configured.
    pub fn link(&self, linknumber: u8) -> Option<&EffectiveLink> {
        self.links.iter().find(|link| link.linknumber == linknumber)
    }
}

/// corosync 3's default token timeout.
pub const DEFAULT_TOKEN: u32 = 3000;
/// Default `token_coefficient`.
pub const DEFAULT_TOKEN_COEFFICIENT: u32 = 650;
/// `MINIMUM_TIMEOUT`: `(int)(1000/HZ)*3` with HZ = 100.
pub const MINIMUM_TIMEOUT: u32 = 30;
/// `MINIMUM_TIMEOUT_HOLD`: `(int)(MINIMUM_TIMEOUT * 0.8 - (1000/HZ))`.
pub const MINIMUM_TIMEOUT_HOLD: u32 = 14;
/// The first knet/udp port; link N uses 5405 + N.
pub const DEFAULT_PORT: u16 = 5405;

/// C's `(int)` of a double as x86-64 does it: truncation, and INT_MIN when out of range.
fn c_int(value: f64) -> i32 {
    if !(-2_147_483_648.0..2_147_483_648.0).contains(&value) {
        i32::MIN
    } else {
        value.trunc() as i32
    }
}

/// Reads a uint32 totem key with corosync's rule: absent, or 0 when zero is not allowed,
/// gives the default (`totem_volatile_config_set_uint32_value`).
fn value_or(setting: &Option<super::Setting<u32>>, default: u32, allow_zero: bool) -> u32 {
    match setting {
        Some(setting) if allow_zero || setting.value != 0 => setting.value,
        _ => default,
    }
}

/// Computes the effective values of `config` (its own `effective` field is ignored).
pub fn compute(config: &Config) -> Effective {
    let totem = &config.totem;
    let transport = match totem.transport.as_ref().map(|t| t.value.as_str()) {
        Some("udpu") => Transport::Udpu,
        Some("udp") => Transport::Udp,
        _ => Transport::Knet,
    };
    let ip_version = match totem.ip_version.as_ref().map(|v| v.value.as_str()) {
        Some("ipv4") => IpVersion::Ipv4,
        Some("ipv6") => IpVersion::Ipv6,
        Some("ipv4-6") => IpVersion::Ipv4Then6,
        Some("ipv6-4") => IpVersion::Ipv6Then4,
        _ if transport == Transport::Udp => IpVersion::Ipv4,
        _ => IpVersion::Ipv6Then4,
    };
    // totem_get_crypto.
    let secauth = totem.secauth.as_ref().is_some_and(|s| s.value == "on");
    let (mut cipher, mut hash) = if secauth {
        ("aes256", "sha256")
    } else {
        ("none", "none")
    };
    if let Some(value) = totem.crypto_cipher.as_ref() {
        if ["none", "aes256", "aes192", "aes128"].contains(&value.value.as_str()) {
            cipher = value.value.as_str();
        }
    }
    if let Some(value) = totem.crypto_hash.as_ref() {
        if ["none", "md5", "sha1", "sha256", "sha384", "sha512"].contains(&value.value.as_str()) {
            hash = value.value.as_str();
        }
    }
    let crypto_model = match totem.crypto_model.as_ref().map(|m| m.value.as_str()) {
        None => "nss",
        Some("openssl") => "openssl",
        Some(_) => "nss",
    };

    let ring0_node_count = config
        .nodelist
        .nodes
        .iter()
        .filter(|node| node.ring0_addr().is_some())
        .count() as u32;

    // totem_volatile_config_read, in its order.
    let retransmits_const = value_or(&totem.token_retransmits_before_loss_const, 4, false);
    let mut token = value_or(&totem.token, DEFAULT_TOKEN, false);
    let token_warning = value_or(&totem.token_warning, 75, true);
    let token_coefficient = totem
        .token_coefficient
        .as_ref()
        .map_or(DEFAULT_TOKEN_COEFFICIENT, |c| c.value);
    if ring0_node_count > 2 {
        token = token.wrapping_add((ring0_node_count - 2).wrapping_mul(token_coefficient));
    }
    let max_network_delay = value_or(&totem.max_network_delay, 50, false);
    let window_size = value_or(&totem.window_size, 50, false);
    let max_messages = value_or(&totem.max_messages, 17, false);
    let miss_count_const = value_or(&totem.miss_count_const, 5, false);
    let knet_pmtud_interval = value_or(&totem.knet_pmtud_interval, 30, false);
    let retransmit_default = c_int(f64::from(token) / (f64::from(retransmits_const) + 0.2)) as u32;
    let token_retransmit = value_or(&totem.token_retransmit, retransmit_default, false);
    let hold_default = c_int(f64::from(token_retransmit) * 0.8 - 10.0) as u32;
    let hold = value_or(&totem.hold, hold_default, false);
    let join = value_or(&totem.join, 50, false);
    let consensus_default = c_int(f64::from((1.2 * f64::from(token)) as f32)) as u32;
    let consensus = value_or(&totem.consensus, consensus_default, false);
    let merge = value_or(&totem.merge, 200, false);
    let downcheck = value_or(&totem.downcheck, 1000, false);
    let fail_recv_const = value_or(&totem.fail_recv_const, 2500, false);
    let seqno_unchanged_const = value_or(&totem.seqno_unchanged_const, 30, false);
    let send_join = value_or(&totem.send_join, 0, true);
    let netmtu = match totem.netmtu.as_ref().map(|m| m.value) {
        Some(mtu) if mtu != 0 => mtu,
        _ if transport == Transport::Knet => 65536,
        _ => 1500,
    };

    let links = configured_links(config, transport, token);

    Effective {
        transport,
        ip_version,
        link_mode: totem
            .link_mode
            .as_ref()
            .map_or_else(|| "passive".to_string(), |m| m.value.clone()),
        crypto_cipher: cipher.to_string(),
        crypto_hash: hash.to_string(),
        crypto_model: crypto_model.to_string(),
        crypto_enabled: cipher != "none" || hash != "none",
        ring0_node_count,
        token_retransmits_before_loss_const: retransmits_const,
        token,
        token_coefficient,
        token_warning,
        token_retransmit,
        hold,
        join,
        consensus,
        merge,
        downcheck,
        fail_recv_const,
        seqno_unchanged_const,
        send_join,
        max_network_delay,
        window_size,
        max_messages,
        miss_count_const,
        knet_pmtud_interval,
        netmtu,
        links,
    }
}

fn configured_links(config: &Config, transport: Transport, token: u32) -> Vec<EffectiveLink> {
    let mut member_counts = [0u32; 8];
    let mut configured = [false; 8];
    for node in &config.nodelist.nodes {
        for ring in node.ring_addrs.keys() {
            if let Some(slot) = usize::try_from(*ring).ok().filter(|ring| *ring < 8) {
                member_counts[slot] += 1;
                configured[slot] = true;
            }
        }
    }
    for (linknumber, interface) in &config.interfaces {
        let slot = usize::from(*linknumber);
        if slot >= 8 {
            continue;
        }
        // get_interface_params: for udp only a bindnetaddr makes a link.
        if transport != Transport::Udp || interface.bindnetaddr.is_some() {
            configured[slot] = true;
        }
    }
    let broadcast = config
        .interfaces
        .values()
        .any(|interface| interface.broadcast.as_ref().is_some_and(|b| b.value == "yes"));
    (0u8..8)
        .filter(|link| configured[usize::from(*link)])
        .map(|linknumber| {
            let interface = config.interfaces.get(&linknumber);
            let field =
                |get: fn(&super::Interface) -> Option<u32>| interface.and_then(get).filter(|v| *v != 0);
            let mcastport = interface
                .and_then(|i| i.mcastport.as_ref().map(|p| p.value))
                .filter(|port| *port != 0)
                .unwrap_or_else(|| {
                    let step = if broadcast { 2 } else { 1 };
                    DEFAULT_PORT.wrapping_add(u16::from(linknumber) * step)
                });
            let knet_pong_count = field(|i| i.knet_pong_count.as_ref().map(|v| v.value)).unwrap_or(2);
            let knet_ping_timeout =
                field(|i| i.knet_ping_timeout.as_ref().map(|v| v.value)).unwrap_or(token / knet_pong_count);
            let doubled = knet_pong_count.wrapping_mul(2);
            // corosync divides by zero (SIGFPE) when pong_count * 2 wraps to 0; report 0.
            let interval_default = token.checked_div(doubled).unwrap_or(0);
            let knet_ping_interval =
                field(|i| i.knet_ping_interval.as_ref().map(|v| v.value)).unwrap_or(interval_default);
            EffectiveLink {
                linknumber,
                member_count: member_counts[usize::from(linknumber)],
                mcastport,
                ttl: interface
                    .and_then(|i| i.ttl.as_ref().map(|t| t.value))
                    .unwrap_or(1),
                knet_link_priority: interface
                    .and_then(|i| i.knet_link_priority.as_ref().map(|p| p.value))
                    .unwrap_or(1),
                knet_ping_interval,
                knet_ping_timeout,
                knet_ping_precision: field(|i| i.knet_ping_precision.as_ref().map(|v| v.value))
                    .unwrap_or(2048),
                knet_pong_count,
                knet_transport: interface
                    .and_then(|i| i.knet_transport.as_ref().map(|t| t.value.clone()))
                    .unwrap_or_else(|| "udp".to_string()),
            }
        })
        .collect()
}
