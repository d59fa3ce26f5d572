//! Inventories: which nodes a cluster has and how to reach each over SSH.
//!
//! Owns `Inventory` and `InventoryNode` and their TOML form, which `lab up` writes and
//! `apply` reads:
//!
//! ```toml
//! ssh_config = "/run/quorate/lab/ssh/config"   # optional: an ssh_config(5) file to use
//!
//! [[node]]
//! name = "n1"
//! nodeid = 1
//! address = "198.18.0.1"
//! link_addresses = ["198.18.0.1", "198.18.1.1"]  # optional: its address on each of its links
//! spare = true                                   # optional, default false: in no nodelist yet
//! ssh_user = "root"
//! ssh_port = 22                                  # optional, default 22
//! ssh_key = "/run/quorate/lab/ssh/id_ed25519"
//! known_hosts = "/run/quorate/lab/ssh/known_hosts"
//!
//! [qnetd]                                        # optional: the qnetd host a plan runs
//! name = "198.19.0.254"                          # commands on (its `quorum.device.net.host`)
//! nodeid = 0
//! address = "198.19.0.254"
//! ssh_user = "root"
//! ssh_key = "/run/quorate/lab/ssh/id_ed25519"
//! known_hosts = "/run/quorate/lab/ssh/known_hosts"
//! ```
//!
//! It must not connect anywhere: `ssh` does.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How to reach one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryNode {
    /// The node's name, as in the nodelist (`name`).
    pub name: String,
    /// The corosync node id.
    pub nodeid: u32,
    /// The address (or host name) SSH connects to.
    pub address: String,
    /// The node's address on each of its corosync links, in link order (what a target
    /// config's `ringN_addr` may name; the lab writes them, a hand-written inventory may
    /// leave them out).
    #[serde(default)]
    pub link_addresses: Vec<String>,
    /// A spare node: reachable, but in no nodelist and without corosync.conf or authkey yet
    /// (`lab up --spare N`), a host a plan may form or add. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spare: bool,
    /// The user SSH logs in as.
    pub ssh_user: String,
    /// The SSH port (default 22).
    #[serde(default = "default_port")]
    pub ssh_port: u16,
    /// The private key to log in with.
    pub ssh_key: PathBuf,
    /// The known_hosts file that holds the node's host key; the host key is checked strictly.
    pub known_hosts: PathBuf,
}

fn default_port() -> u16 {
    22
}

/// A cluster's nodes and how to reach them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// An ssh_config(5) file used for every connection (the lab's sets a `ProxyCommand`
    /// into each node's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
    /// The nodes, in nodelist order.
    #[serde(rename = "node")]
    pub nodes: Vec<InventoryNode>,
    /// The qnetd host (no cluster node; `nodeid` 0): where a plan that adds or removes a
    /// quorum device runs its qnetd-side commands. Its `name` is the plan's `qnetd_host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qnetd: Option<InventoryNode>,
}

impl Inventory {
    /// Parses an inventory from TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Inventory> {
        let inventory: Inventory = toml::from_str(text).map_err(|error| Error::Inventory {
            path: path.to_path_buf(),
            message: error.message().to_string(),
        })?;
        let mut names = std::collections::BTreeSet::new();
        for node in &inventory.nodes {
            if !names.insert(node.name.as_str()) {
                return Err(Error::Inventory {
                    path: path.to_path_buf(),
                    message: format!("node `{}` is listed twice", node.name),
                });
            }
        }
        Ok(inventory)
    }

    /// Reads an inventory file.
    pub fn read(path: &Path) -> Result<Inventory> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
        Inventory::from_toml(&text, path)
    }

    /// The inventory as TOML text.
    pub fn to_toml(&self) -> String {
        // Serialising plain strings, numbers and paths cannot fail; fall back to empty text
        // rather than panic if toml ever says otherwise.
        toml::to_string(self).unwrap_or_default()
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&InventoryNode> {
        self.nodes.iter().find(|node| node.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults_the_port() {
        let text = r#"
ssh_config = "/run/q/ssh/config"

[[node]]
name = "n1"
nodeid = 1
address = "198.18.0.1"
ssh_user = "root"
ssh_key = "/run/q/ssh/id_ed25519"
known_hosts = "/run/q/ssh/known_hosts"
"#;
        let inventory = Inventory::from_toml(text, Path::new("inv.toml")).unwrap();
        assert_eq!(inventory.nodes[0].ssh_port, 22);
        assert_eq!(
            (inventory.nodes[0].link_addresses.len(), inventory.nodes[0].spare),
            (0, false)
        );
        assert_eq!(inventory.node("n1").map(|n| n.nodeid), Some(1));
        let again = Inventory::from_toml(&inventory.to_toml(), Path::new("inv.toml")).unwrap();
        assert_eq!(again, inventory);
        let mut spare = inventory.clone();
        spare.nodes[0].link_addresses = vec!["198.18.0.4".into(), "198.18.1.4".into()];
        spare.nodes[0].spare = true;
        let text = spare.to_toml();
        assert!(
            text.contains("link_addresses = [\"198.18.0.4\", \"198.18.1.4\"]\n"),
            "{text}"
        );
        assert!(text.contains("spare = true\n"), "{text}");
        assert!(!inventory.to_toml().contains("spare"));
        assert_eq!(Inventory::from_toml(&text, Path::new("inv.toml")).unwrap(), spare);
    }

    #[test]
    fn names_the_file_and_the_problem() {
        let error = Inventory::from_toml("[[node]]\nname = \"n1\"\n", Path::new("inv.toml")).unwrap_err();
        assert_eq!(error.to_string(), "inventory inv.toml: missing field `nodeid`");
        let node = "[[node]]\nname = \"a\"\nnodeid = 1\naddress = \"x\"\nssh_user = \"root\"\nssh_key = \"k\"\nknown_hosts = \"h\"\n";
        let error = Inventory::from_toml(&format!("{node}{node}"), Path::new("inv.toml")).unwrap_err();
        assert_eq!(error.to_string(), "inventory inv.toml: node `a` is listed twice");
    }
}
