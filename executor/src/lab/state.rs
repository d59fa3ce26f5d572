//! The lab's record of what it made, kept in the lab directory.
//!
//! Owns `LabState` and `NodeState` and their file `<dir>/lab.json`, written atomically
//! (temporary file, fsync, rename) after every change, and always *before* the thing it
//! records is created, so that `lab down` in a later process (even after a crash) finds every
//! namespace and process. It must not run programs.

use crate::error::{Error, Result};
use crate::lab::timing::Timing;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The state file's name inside the lab directory.
pub const STATE_FILE: &str = "lab.json";

/// One node as the lab made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// The node name (hostname, inventory name).
    pub name: String,
    /// The corosync node id.
    pub nodeid: u32,
    /// 1-based position; names the node's veths (`n<slot>l<link>`).
    pub slot: u8,
    /// The node's network namespace (`qlab-<lab>-<name>`).
    pub netns: String,
    /// The node's address on each of its links.
    pub addresses: BTreeMap<u8, Ipv4Addr>,
    /// The process that holds the node's mount and UTS namespaces (`sleep infinity`).
    pub holder_pid: Option<u32>,
    /// corosync's pid, while the lab believes it runs.
    pub corosync_pid: Option<u32>,
    /// sshd's pid.
    pub sshd_pid: Option<u32>,
    /// Links the lab has cut for this node (`lab link down`).
    pub links_down: BTreeSet<u8>,
    /// A spare node (`lab up --spare N`): a host in no nodelist, given no corosync.conf and no
    /// authkey. Absent (false) in the files of labs made before spares existed.
    #[serde(default)]
    pub spare: bool,
    /// The pid of the node's qdevice supervisor (`lab up --qdevice`), if any.
    #[serde(default)]
    pub qdevice_pid: Option<u32>,
    /// Its spare address on each link (`lab up --spare-addresses`), configured beside
    /// `addresses` but in no config. Empty in labs without them.
    #[serde(default)]
    pub spare_addresses: BTreeMap<u8, Ipv4Addr>,
}

impl NodeState {
    /// The node's directory inside the lab directory.
    pub fn dir(&self, lab_dir: &Path) -> PathBuf {
        lab_dir.join("nodes").join(&self.name)
    }

    /// The address sshd listens on: the one on the lowest link.
    pub fn main_address(&self) -> Option<Ipv4Addr> {
        self.addresses.values().next().copied()
    }

    /// The veth end in the switch namespace for `link` (at most 9 characters).
    pub fn switch_port(&self, link: u8) -> String {
        format!("n{}l{link}", self.slot)
    }
}

/// Everything a later process needs to drive or remove the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// The lab name; every namespace is `qlab-<name>-...`.
    pub name: String,
    /// The namespace with one bridge per link.
    pub switch_netns: String,
    /// The links (bridges `qlb-l<N>` in the switch namespace).
    pub links: Vec<u8>,
    /// Effective token and consensus of the lab's config.
    pub timing: Timing,
    /// The nodes, in nodelist order.
    pub nodes: Vec<NodeState>,
    /// Partition groups in force (node names), if any.
    pub partition: Option<Vec<Vec<String>>>,
    /// Every namespace the lab created or was about to create, with its inode once known,
    /// so that processes inside can be found even after the namespace's name is gone.
    pub namespaces: BTreeMap<String, Option<u64>>,
    /// The qnetd host, with `lab up --qdevice` (absent in labs made without one).
    #[serde(default)]
    pub qnetd: Option<QnetdState>,
}

/// The lab's qnetd host (`lab up --qdevice`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QnetdState {
    /// Its network namespace (`qlab-<lab>-qnetd`).
    pub netns: String,
    /// What the lab was asked for.
    pub options: crate::lab::qnetd::QdeviceOptions,
    /// The holder of its mount namespace.
    pub holder_pid: Option<u32>,
    /// corosync-qnetd's pid while it runs.
    pub qnetd_pid: Option<u32>,
    /// `lab qnetd down` is in force.
    pub down: bool,
    /// Nodes (by name) whose path to the qnetd host the lab has cut.
    pub cut: BTreeSet<String>,
}

impl LabState {
    /// Reads `<dir>/lab.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<LabState>> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Error::io(path, error)),
        };
        serde_json::from_str(&text).map(Some).map_err(|error| Error::Lab {
            dir: dir.to_path_buf(),
            message: format!(
                "{STATE_FILE} is unreadable ({error}); `quorate lab down` still removes the lab"
            ),
        })
    }

    /// Writes `<dir>/lab.json` atomically, readable by root only.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|error| Error::Lab {
            dir: dir.to_path_buf(),
            message: format!("cannot encode {STATE_FILE}: {error}"),
        })?;
        write_atomically(&dir.join(STATE_FILE), text.as_bytes(), 0o600)
    }

    /// The node named `name`, or the node whose id is `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.name == name).or_else(|| {
            self.nodes
                .iter()
                .position(|node| name.parse::<u32>().ok() == Some(node.nodeid))
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory (created with
/// `mode`), fsyncs it and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(path, error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_file_and_finds_nodes_by_name_or_id() {
        let dir = std::env::temp_dir().join(format!("quorate-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(LabState::load(&dir).unwrap(), None);
        let state = LabState {
            name: "t".into(),
            switch_netns: "qlab-t-sw".into(),
            links: vec![0],
            timing: Timing {
                token_ms: 3650,
                consensus_ms: 4380,
            },
            nodes: vec![NodeState {
                name: "alpha".into(),
                nodeid: 7,
                slot: 1,
                netns: "qlab-t-alpha".into(),
                addresses: BTreeMap::from([(0, Ipv4Addr::new(198, 18, 0, 1))]),
                spare_addresses: BTreeMap::new(),
                holder_pid: Some(42),
                corosync_pid: None,
                sshd_pid: None,
                links_down: BTreeSet::new(),
                spare: false,
                qdevice_pid: None,
            }],
            partition: None,
            namespaces: BTreeMap::from([("qlab-t-sw".to_string(), Some(4026531840))]),
            qnetd: None,
        };
        state.save(&dir).unwrap();
        let loaded = LabState::load(&dir).unwrap().unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.node_index("alpha"), Some(0));
        assert_eq!(loaded.node_index("7"), Some(0));
        assert_eq!(loaded.node_index("1"), None);
        assert_eq!(loaded.nodes[0].switch_port(3), "n1l3");
        // A file written before `spare` and `spare_addresses` existed still loads.
        let text = std::fs::read_to_string(dir.join(STATE_FILE)).unwrap();
        let old = text
            .replace(",\n      \"spare\": false", "")
            .replace(",\n      \"spare_addresses\": {}", "");
        assert!(!old.contains("spare"), "{old}");
        std::fs::write(dir.join(STATE_FILE), old).unwrap();
        assert_eq!(LabState::load(&dir).unwrap().unwrap(), state);
        std::fs::write(dir.join(STATE_FILE), "{").unwrap();
        assert!(LabState::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("lab.json is unreadable"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
