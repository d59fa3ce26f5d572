//! One node's corosync.conf as the cluster model keeps it: votequorum's input
//! (`QuorumSettings`) plus the totem and nodelist facts the runtime-change rules of a
//! reload compare (spec 5.2), behind a cheap shared handle.
//!
//! Owns `NodeConfig`, `TotemFacts` and `ReloadRefusal` (why a node refuses to apply a new
//! file at reload). A `ClusterState` holds one `NodeConfig` per node for the file on its
//! disk and one for the configuration it runs with, and hashes them often, so a
//! `NodeConfig` is an `Arc` with a precomputed fingerprint: clone, hash and (usually)
//! equality cost a pointer or a `u64`. It must not read files (the caller builds it from a
//! parsed `config::Config` or from settings) nor decide anything about quorum.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use super::settings::{NodeId, QuorumSettings};
use crate::config::Config;

/// The totem/nodelist facts of a file that reload rules need (spec 5.2), as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TotemFacts {
    /// `(nodeid, link, ringN_addr)` of every node with an effective node id, sorted.
    /// An address that parses as an IP address is stored in its canonical form.
    pub addresses: Vec<(NodeId, u8, String)>,
    /// `(link, knet_transport)` of every `interface` section that sets it, sorted. An
    /// absent entry is the default (`udp`).
    pub knet_transports: Vec<(u8, String)>,
    /// `totem.config_version` (0 when absent). A node that starts with a non-zero version
    /// lower than a member's exits at its first sync (spec 5.4, see `ClusterState`).
    pub config_version: u64,
}

impl TotemFacts {
    /// The facts of a parsed configuration.
    pub fn from_config(config: &Config) -> TotemFacts {
        let mut addresses = Vec::new();
        for node in &config.nodelist.nodes {
            let Some(nodeid) = config.effective_nodeid(node) else {
                continue;
            };
            for (link, address) in &node.ring_addrs {
                let Ok(link) = u8::try_from(*link) else {
                    continue;
                };
                let text = address.value.trim();
                let canonical = text
                    .parse::<IpAddr>()
                    .map_or_else(|_| text.to_string(), |ip| ip.to_string());
                addresses.push((nodeid, link, canonical));
            }
        }
        addresses.sort();
        let mut knet_transports: Vec<(u8, String)> = config
            .interfaces
            .iter()
            .filter_map(|(link, interface)| {
                interface
                    .knet_transport
                    .as_ref()
                    .map(|transport| (*link, transport.value.trim().to_ascii_lowercase()))
            })
            .collect();
        knet_transports.sort();
        TotemFacts {
            addresses,
            knet_transports,
            config_version: config
                .totem
                .config_version
                .as_ref()
                .map_or(0, |version| version.value),
        }
    }

    /// The address of `nodeid` on `link`, if the file gives one.
    pub fn address(&self, nodeid: NodeId, link: u8) -> Option<&str> {
        self.addresses
            .iter()
            .find(|(id, at, _)| *id == nodeid && *at == link)
            .map(|(_, _, address)| address.as_str())
    }

    /// The knet transport of `link` (`udp` when the file does not set it).
    pub fn knet_transport(&self, link: u8) -> &str {
        self.knet_transports
            .iter()
            .find(|(at, _)| *at == link)
            .map_or("udp", |(_, transport)| transport.as_str())
    }
}

/// Why a running node refuses to apply a new file at reload (spec 5.2): the reload fails on
/// that node and it keeps running with its previous configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadRefusal {
    /// The node's disk has no corosync.conf it can read.
    #[error("it has no configuration file to re-read")]
    NoFile,
    /// An existing node's address on an existing link changed (`check_things_have_not_changed`).
    #[error(
        "new config has different address for link {link} (addr changed from {old} to {new}) \
         for node {nodeid}: to reconfigure an interface it must be deleted and recreated"
    )]
    AddressChanged {
        /// The node whose address changed.
        nodeid: NodeId,
        /// The link.
        link: u8,
        /// The address in force.
        old: String,
        /// The address in the new file.
        new: String,
    },
    /// The knet transport of an existing link changed.
    #[error("new config has different knet transport for link {link} ({old} to {new})")]
    KnetTransportChanged {
        /// The link.
        link: u8,
        /// The transport in force.
        old: String,
        /// The transport in the new file.
        new: String,
    },
}

/// What a node's corosync.conf says, for the cluster model: cheap to clone, hash and compare.
///
/// Equality is by content (a pointer comparison first, then the fingerprint, then the
/// content); the hash is the fingerprint, so equal configurations hash alike wherever
/// they were built.
#[derive(Clone)]
pub struct NodeConfig(Arc<Inner>);

#[derive(PartialEq, Eq)]
struct Inner {
    settings: QuorumSettings,
    totem: TotemFacts,
    fingerprint: u64,
}

impl NodeConfig {
    /// A configuration from its votequorum input and its totem facts.
    pub fn new(settings: QuorumSettings, totem: TotemFacts) -> NodeConfig {
        let mut hasher = DefaultHasher::new();
        settings.hash(&mut hasher);
        totem.hash(&mut hasher);
        let fingerprint = hasher.finish();
        NodeConfig(Arc::new(Inner {
            settings,
            totem,
            fingerprint,
        }))
    }

    /// A configuration known only by its votequorum input (no addresses: a reload never
    /// refuses it for an address or transport change).
    pub fn from_settings(settings: &QuorumSettings) -> NodeConfig {
        NodeConfig::new(settings.clone(), TotemFacts::default())
    }

    /// The configuration of a parsed file.
    pub fn from_config(config: &Config) -> NodeConfig {
        NodeConfig::new(config.quorum_settings(), TotemFacts::from_config(config))
    }

    /// What votequorum reads from the file.
    pub fn settings(&self) -> &QuorumSettings {
        &self.0.settings
    }

    /// The totem/nodelist facts reload rules compare.
    pub fn totem(&self) -> &TotemFacts {
        &self.0.totem
    }

    /// Whether both handles point at the same allocation (a cheap "certainly equal").
    pub fn same(&self, other: &NodeConfig) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Why a node running with `self` refuses `new` at reload, if it does: a changed
    /// address of a node and link both files have, or a changed knet transport of a link
    /// both files use. Adding or removing nodes and links is allowed.
    pub fn reload_refusal(&self, new: &NodeConfig) -> Option<ReloadRefusal> {
        let (old, fresh) = (self.totem(), new.totem());
        for (nodeid, link, address) in &fresh.addresses {
            if let Some(previous) = old.address(*nodeid, *link) {
                if previous != address {
                    return Some(ReloadRefusal::AddressChanged {
                        nodeid: *nodeid,
                        link: *link,
                        old: previous.to_string(),
                        new: address.clone(),
                    });
                }
            }
        }
        let links_of = |facts: &TotemFacts| -> Vec<u8> {
            let mut links: Vec<u8> = facts.addresses.iter().map(|(_, link, _)| *link).collect();
            links.sort_unstable();
            links.dedup();
            links
        };
        let old_links = links_of(old);
        for link in links_of(fresh) {
            if old_links.contains(&link) && old.knet_transport(link) != fresh.knet_transport(link) {
                return Some(ReloadRefusal::KnetTransportChanged {
                    link,
                    old: old.knet_transport(link).to_string(),
                    new: fresh.knet_transport(link).to_string(),
                });
            }
        }
        None
    }

    /// The configuration a running node uses after it accepted `new` at reload: `new`,
    /// except for the startup-only keys the model reads outside votequorum
    /// (`quorum.provider`, `totem.transport`), which keep their values from `self`
    /// (spec 5.2: "NOTICE, ignored"). votequorum's own startup-only keys are kept by the
    /// node's votequorum state, which re-reads only the runtime ones.
    pub fn reloaded(&self, new: &NodeConfig) -> NodeConfig {
        let (old, fresh) = (self.settings(), new.settings());
        if old.provider == fresh.provider && old.transport == fresh.transport {
            return new.clone();
        }
        let mut settings = fresh.clone();
        settings.provider = old.provider.clone();
        settings.transport = old.transport;
        NodeConfig::new(settings, new.totem().clone())
    }
}

impl PartialEq for NodeConfig {
    fn eq(&self, other: &NodeConfig) -> bool {
        self.same(other) || (self.0.fingerprint == other.0.fingerprint && self.0 == other.0)
    }
}

impl Eq for NodeConfig {}

impl Hash for NodeConfig {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.fingerprint);
    }
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NodeConfig")
            .field("settings", self.settings())
            .field("totem", self.totem())
            .finish()
    }
}

impl From<&QuorumSettings> for NodeConfig {
    fn from(settings: &QuorumSettings) -> NodeConfig {
        NodeConfig::from_settings(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> NodeConfig {
        let (document, _) = crate::syntax::parse(text);
        let (config, _) = Config::from_document(&document);
        NodeConfig::from_config(&config)
    }

    const BASE: &str = "totem {\n version: 2\n cluster_name: t\n transport: knet\n}\n\
        nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 198.18.0.1\n }\n node {\n  nodeid: 2\n  ring0_addr: 198.18.0.2\n }\n}\n\
        quorum {\n provider: corosync_votequorum\n}\n";

    #[test]
    fn equal_content_is_equal_and_hashes_alike() {
        let a = config(BASE);
        let b = config(BASE);
        assert!(!a.same(&b));
        assert_eq!(a, b);
        let hash = |config: &NodeConfig| {
            let mut hasher = DefaultHasher::new();
            config.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(a.totem().address(2, 0), Some("198.18.0.2"));
        assert_ne!(a, config(&BASE.replace("198.18.0.2", "198.18.0.3")));
    }

    #[test]
    fn readdressing_an_existing_link_is_refused_adding_a_node_is_not() {
        let old = config(BASE);
        let moved = config(&BASE.replace("198.18.0.2", "198.18.0.9"));
        assert_eq!(
            old.reload_refusal(&moved),
            Some(ReloadRefusal::AddressChanged {
                nodeid: 2,
                link: 0,
                old: "198.18.0.2".to_string(),
                new: "198.18.0.9".to_string(),
            })
        );
        let grown = config(&BASE.replace(
            " node {\n  nodeid: 2",
            " node {\n  nodeid: 3\n  ring0_addr: 198.18.0.3\n }\n node {\n  nodeid: 2",
        ));
        assert_eq!(old.reload_refusal(&grown), None);
        assert_eq!(old.reload_refusal(&old), None);
        let udp_transport = config(&BASE.replace(
            " transport: knet\n}",
            " transport: knet\n interface {\n  linknumber: 0\n  knet_transport: sctp\n }\n}",
        ));
        assert!(matches!(
            old.reload_refusal(&udp_transport),
            Some(ReloadRefusal::KnetTransportChanged { link: 0, .. })
        ));
    }

    #[test]
    fn a_node_restarted_with_a_new_address_cannot_talk_to_members_that_list_the_old_one() {
        use crate::action::{Action, ConfigFile, Event};
        use crate::quorum::ClusterState;
        use crate::scenario::NodeRef;
        let three = BASE.replace(
            " node {\n  nodeid: 2",
            " node {\n  nodeid: 3\n  ring0_addr: 198.18.0.3\n }\n node {\n  nodeid: 2",
        );
        let mut state = ClusterState::from_config(&config(&three)).unwrap();
        let moved = ConfigFile {
            name: "moved.conf".to_string(),
            config: config(&three.replace("198.18.0.3", "198.18.0.33")),
        };
        state.apply_event(&Event::Action(Action::InstallConfig {
            file: moved,
            nodes: vec![NodeRef::Id(3)],
        }));
        state.apply_event(&Event::Action(Action::RestartNodes(vec![NodeRef::Id(3)])));
        let pos3 = state.position(3).unwrap();
        assert_eq!(
            state.ring(pos3).len(),
            1,
            "node 3 binds 198.18.0.33, the others send to 198.18.0.3"
        );
        assert!(state.is_quorate(0) && !state.is_quorate(pos3));
    }
}
