//! The lab: a real corosync cluster on one machine, one network namespace per node.
//!
//! Owns `Lab` (open a lab directory and drive it), its shared helpers and these parts:
//! `provision` (`up`: namespaces, bridges, veths, keys, holder, sshd and corosync
//! processes), `teardown` (`down`), `observe` (reading the nodes through nsenter or SSH, and
//! the one wait-until-converged loop), `faults` (partitions, link state: the one place that
//! sets a veth up or down), `node` (a lab node as a `transport::Remote` through nsenter),
//! `topology` (who should see whom, asked of `model::quorum::membership`), `replay` (a
//! what-if script on the lab against the prediction), `stopwatch` (a fault's moment against
//! corosync's own log lines, for the timing reality test), plus `layout`, `state`, `sys` and
//! `timing`, and `qnetd` (`lab up --qdevice`: a real corosync-qnetd host on a bridge of its
//! own, corosync-qdevice on every node).
//!
//! Each node gets a network namespace `qlab-<lab>-<node>`, a veth per corosync link into a
//! bridge `qlb-l<N>` in the lab's switch namespace `qlab-<lab>-sw` (so one link can fail
//! alone), addresses from 198.18.0.0/15, and a holder process (`sleep infinity`) that keeps
//! its private mount and UTS namespaces: its own `/run` and `/dev/shm` (tmpfs),
//! `/etc/corosync`, `/var/lib/corosync`, `/var/log/corosync` and `/etc/ssh` bound from the
//! lab directory, and its hostname. corosync and sshd run inside. Everything the lab makes is
//! recorded in `<dir>/lab.json` before it is made, so `down` works from any later process,
//! after a crash too. Waiting is by polling the nodes until their memberships are the
//! expected, stable ones, within a limit derived from the effective token and consensus;
//! never by fixed sleeps. It must not touch the host's own network namespace, mounts or files
//! outside the lab directory.

pub mod faults;
pub mod interrupt;
pub mod layout;
pub mod node;
pub mod observe;
pub mod provision;
pub mod qnetd;
pub mod replay;
pub mod state;
pub mod stopwatch;
pub mod sys;
pub mod teardown;
pub mod timing;
pub mod topology;

use crate::error::{Error, Result};
use crate::inventory::{Inventory, InventoryNode};
use crate::ssh::SshOptions;
use crate::status::NodeReport;
use layout::Rewrite;
use model::quorum::NodeId;
use node::NsenterNode;
pub use provision::up;
use state::LabState;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
pub use teardown::down;

/// The default lab directory.
pub const DEFAULT_DIR: &str = "/run/quorate/lab";
/// Every lab namespace starts with this.
pub const NAMESPACE_PREFIX: &str = "qlab-";
/// The inventory file inside the lab directory.
pub const INVENTORY_FILE: &str = "inventory.toml";

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterSource {
    /// A corosync.conf; its addresses are rewritten to lab addresses.
    Config(PathBuf),
    /// A generated knet cluster of `nodes` nodes and `links` links.
    Generated {
        /// Number of nodes (1 to 254).
        nodes: usize,
        /// Number of links (1 to 8).
        links: u8,
    },
}

/// What `up` builds.
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// The lab directory (state, configs, keys, logs).
    pub dir: PathBuf,
    /// The cluster.
    pub source: ClusterSource,
    /// Whether to start corosync (and wait for the cluster to form). Without it no node gets
    /// corosync.conf or an authkey: the cluster's config stays in `<dir>/corosync.conf`.
    pub start: bool,
    /// Spare nodes after the cluster's: in no nodelist, an address on every link and sshd,
    /// but no corosync.conf, no authkey and no corosync (see `layout::spare_nodes`).
    pub spare: usize,
    /// A quorum device: a qnetd host and corosync-qdevice on every cluster node.
    pub qdevice: Option<qnetd::QdeviceOptions>,
    /// Links after the cluster's highest that its config does not use: a bridge each and an
    /// address on it for every node (see `layout::add_spare_links`), for `add-link` plans.
    pub spare_links: u8,
    /// A second address for every node on every link (`layout::spare_address`), configured
    /// but in no config, for `readdress` plans.
    pub spare_addresses: bool,
}

/// What `up` did.
#[derive(Clone, Debug)]
pub struct UpReport {
    /// The lab name.
    pub name: String,
    /// Values rewritten in a given config (address mapping).
    pub rewrites: Vec<Rewrite>,
    /// The inventory file written.
    pub inventory: PathBuf,
    /// Node reports once the cluster formed (empty with `start: false`).
    pub nodes: Vec<NodeReport>,
}

/// What `down` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Processes killed.
    pub processes: usize,
    /// Whether the lab directory was removed.
    pub removed_dir: bool,
}

/// How `status` reads the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// SSH when every node's sshd runs, else nsenter.
    Auto,
    /// `nsenter` into the node's namespaces.
    Nsenter,
    /// SSH with the lab inventory (openssh).
    Ssh,
}

/// The lab name for a lab directory: the letters and digits of its last component
/// (lowercased), or `lab`. Having no `-`, it keeps `qlab-<name>-` prefixes unambiguous.
pub fn lab_name(dir: &Path) -> String {
    let name: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(24)
        .collect();
    if name.is_empty() {
        "lab".into()
    } else {
        name
    }
}

/// The namespace prefix of the lab named `name`.
pub fn namespace_prefix(name: &str) -> String {
    format!("{NAMESPACE_PREFIX}{name}-")
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|error| Error::io(path, error))
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    if tail.is_empty() {
        format!("(nothing in {})", path.display())
    } else {
        format!("{} (from {})", tail, path.display())
    }
}

/// A lab that is up: its directory and state.
#[derive(Debug)]
pub struct Lab {
    dir: PathBuf,
    state: LabState,
}

impl Lab {
    /// Opens the lab in `dir`.
    pub fn open(dir: &Path) -> Result<Lab> {
        if !sys::is_root() {
            return Err(Error::NotRoot);
        }
        let state = LabState::load(dir)?.ok_or_else(|| Error::NoLab {
            dir: dir.to_path_buf(),
        })?;
        Ok(Lab {
            dir: dir.to_path_buf(),
            state,
        })
    }

    /// The lab's recorded state.
    pub fn state(&self) -> &LabState {
        &self.state
    }

    /// The lab directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn save(&self) -> Result<()> {
        self.state.save(&self.dir)
    }

    /// The node id of the node named `name`, or whose id `name` is (as the CLI takes nodes).
    pub fn resolve(&self, name: &str) -> Result<NodeId> {
        self.state
            .node_index(name)
            .map(|index| self.state.nodes[index].nodeid)
            .ok_or_else(|| self.unknown_node(name))
    }

    fn unknown_node(&self, node: &str) -> Error {
        Error::UnknownNode {
            node: node.to_string(),
            known: self.state.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }

    /// The lab index of node `nodeid`.
    fn index_of(&self, nodeid: NodeId) -> Result<usize> {
        self.state
            .nodes
            .iter()
            .position(|node| node.nodeid == nodeid)
            .ok_or_else(|| self.unknown_node(&nodeid.to_string()))
    }

    /// The inventory `apply` and the SSH readers use.
    pub fn inventory(&self) -> Inventory {
        let ssh_dir = self.dir.join("ssh");
        Inventory {
            ssh_config: Some(ssh_dir.join("config")),
            nodes: self
                .state
                .nodes
                .iter()
                .map(|node| InventoryNode {
                    name: node.name.clone(),
                    nodeid: node.nodeid,
                    address: node.main_address().map(|a| a.to_string()).unwrap_or_default(),
                    link_addresses: node.addresses.values().map(ToString::to_string).collect(),
                    spare: node.spare,
                    ssh_user: "root".into(),
                    ssh_port: 22,
                    ssh_key: ssh_dir.join("id_ed25519"),
                    known_hosts: ssh_dir.join("known_hosts"),
                })
                .collect(),
            qnetd: self.qdevice_later().then(|| InventoryNode {
                name: qnetd::qnetd_address().to_string(),
                nodeid: 0,
                address: qnetd::qnetd_address().to_string(),
                link_addresses: Vec::new(),
                spare: false,
                ssh_user: "root".into(),
                ssh_port: 22,
                ssh_key: ssh_dir.join("id_ed25519"),
                known_hosts: ssh_dir.join("known_hosts"),
            }),
        }
    }

    /// Whether this lab's qnetd host waits for a plan to add the device (`--qdevice-later`).
    pub fn qdevice_later(&self) -> bool {
        self.state.qnetd.as_ref().is_some_and(|qnetd| qnetd.options.later)
    }

    /// SSH options for this lab: control sockets under the lab directory when its path is
    /// short enough for a Unix socket.
    pub fn ssh_options(&self) -> SshOptions {
        let control_dir = self.dir.join("ctl");
        let control_dir = if control_dir.as_os_str().len() <= 60 && create_dir(&control_dir).is_ok() {
            control_dir
        } else {
            std::env::temp_dir()
        };
        SshOptions {
            control_dir,
            ..SshOptions::default()
        }
    }

    fn holder(&self, index: usize) -> Result<u32> {
        let node = &self.state.nodes[index];
        match node.holder_pid {
            Some(pid) if sys::alive(pid) => Ok(pid),
            _ => Err(Error::Lab {
                dir: self.dir.clone(),
                message: format!(
                    "node {}: its namespace holder is gone; run `quorate lab down`",
                    node.name
                ),
            }),
        }
    }

    /// Node `nodeid` as a `Remote` that runs commands inside it through nsenter.
    pub fn node(&self, nodeid: NodeId) -> Result<NsenterNode> {
        let index = self.index_of(nodeid)?;
        self.node_at(index)
    }

    fn node_at(&self, index: usize) -> Result<NsenterNode> {
        Ok(NsenterNode::new(
            &self.state.nodes[index].name,
            self.holder(index)?,
        ))
    }

    /// Stops corosync on node `nodeid` (SIGTERM, then SIGKILL if it lingers).
    pub fn stop(&mut self, nodeid: NodeId, wait: bool) -> Result<Vec<NodeReport>> {
        let index = self.index_of(nodeid)?;
        if let Some(pid) = self.state.nodes[index]
            .corosync_pid
            .filter(|pid| sys::alive(*pid))
        {
            sys::kill(&[pid], "TERM");
            let deadline = Instant::now() + Duration::from_secs(15);
            while sys::alive(pid) {
                if Instant::now() > deadline {
                    sys::kill(&[pid], "KILL");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.state.nodes[index].corosync_pid = None;
        self.save()?;
        self.settle(wait)
    }

    /// Starts corosync on node `nodeid`.
    pub fn start(&mut self, nodeid: NodeId, wait: bool) -> Result<Vec<NodeReport>> {
        let index = self.index_of(nodeid)?;
        if self.state.nodes[index].corosync_pid.is_some_and(sys::alive) {
            return Err(Error::AlreadyRunning {
                node: self.state.nodes[index].name.clone(),
            });
        }
        self.start_corosync(index)?;
        if wait {
            self.wait_converged(self.formation_limit())
        } else {
            Ok(self.read_nsenter())
        }
    }

    /// Runs `command` inside node `nodeid` (its network, mount and UTS namespaces), stdin
    /// inherited from this process (unlike `Remote::run`: `lab exec` passes the terminal's),
    /// output captured.
    pub fn exec(&self, nodeid: NodeId, command: &[String]) -> Result<std::process::Output> {
        let index = self.index_of(nodeid)?;
        let holder = self.holder(index)?;
        if command.is_empty() {
            return Err(Error::NoCommand);
        }
        let words: Vec<&str> = command.iter().map(String::as_str).collect();
        let argv = sys::node_argv(holder, &words);
        let nsenter = sys::which("nsenter").ok_or_else(|| Error::MissingProgram {
            program: "nsenter".into(),
            package: "util-linux".into(),
        })?;
        std::process::Command::new(nsenter)
            .args(&argv[1..])
            .stdin(std::process::Stdio::inherit())
            .output()
            .map_err(|error| Error::Command {
                command: command.join(" "),
                message: error.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_keep_namespace_prefixes_unambiguous() {
        assert_eq!(lab_name(Path::new(DEFAULT_DIR)), "lab");
        assert_eq!(lab_name(Path::new("/run/quorate/it-three-123")), "itthree123");
        assert_eq!(lab_name(Path::new("/")), "lab");
        assert_eq!(namespace_prefix("itthree123"), "qlab-itthree123-");
    }
}
