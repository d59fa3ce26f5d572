//! Reading everything `quorate status` shows from one node, through any `Remote`.
//!
//! Owns `NodeStatus` (corosync's quorum status, its runtime cmap, its links, its version,
//! the sha256 of the corosync.conf files, the authkey's presence and mode), the parsers of
//! `corosync-cmapctl` and `corosync-cfgtool -s` output, and `read_node_status`. The authkey
//! is looked at with `stat` only: its bytes are never read. A reading that fails is recorded
//! in `NodeStatus::problems` and the others still happen; a node that cannot be reached at
//! all is `NodeStatus::unreachable`. It must not judge what it read (`drift` does) nor know
//! how a node is reached.

use crate::quorumtool::QuorumStatus;
use crate::status::{classify, Corosync};
use crate::transport::Remote;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Where plain corosync reads its configuration.
pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
/// The cluster-wide copy on Proxmox VE, which pmxcfs copies to `COROSYNC_CONF`.
pub const PVE_CONF: &str = "/etc/pve/corosync.conf";
/// The key file corosync reads when the configuration names none.
pub const DEFAULT_AUTHKEY: &str = "/etc/corosync/authkey";

/// The argv that reads the quorum status (`-p`: machine-parseable columns).
pub const QUORUMTOOL: &[&str] = &["corosync-quorumtool", "-s", "-p"];
/// The argv that dumps the runtime cmap.
pub const CMAPCTL: &[&str] = &["corosync-cmapctl"];
/// The argv that reads the link status.
pub const CFGTOOL: &[&str] = &["corosync-cfgtool", "-s"];
/// The argv that prints corosync's version.
pub const VERSION: &[&str] = &["corosync", "-v"];

/// The sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One configuration file on a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReading {
    /// The file's path on the node.
    pub path: String,
    /// Its sha256; `None` when there is no such file.
    pub sha256: Option<String>,
    /// Its text (a corosync.conf is not secret; kept for predictions, not serialised).
    #[serde(skip)]
    pub text: Option<String>,
}

/// The authkey as `stat` sees it (its bytes are never read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthkeyReading {
    /// The key file's path on the node.
    pub path: String,
    /// Whether the file exists.
    pub present: bool,
    /// Its permission bits in octal (`400`), when present.
    pub mode: Option<String>,
    /// Its size in bytes, when present.
    pub size: Option<u64>,
}

impl AuthkeyReading {
    /// Present with mode 0400, as corosync-keygen leaves it.
    pub fn ok(&self) -> bool {
        self.present && self.mode.as_deref() == Some("400")
    }
}

/// What corosync holds at runtime (from `corosync-cmapctl`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Runtime {
    /// The node ids cmap lists as joined members (`runtime.members.N.status = joined`).
    pub members: Vec<u32>,
    /// The running configuration's `totem.config_version` (0 when not set).
    pub config_version: u64,
    /// Per member, the config_version it announced (`runtime.members.N.config_version`).
    pub member_config_versions: BTreeMap<u32, u64>,
    /// Every key corosync-cmapctl printed, with its value (not serialised: comparisons use it).
    #[serde(skip)]
    pub cmap: BTreeMap<String, String>,
}

/// One peer's state on one link (`corosync-cfgtool -s`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkPeer {
    /// The peer's node id.
    pub nodeid: u32,
    /// `localhost`, `connected`, `disconnected`, ...
    pub status: String,
}

/// One link as `corosync-cfgtool -s` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkReading {
    /// The link number.
    pub link: u8,
    /// The local address on it.
    pub address: String,
    /// Every peer's state.
    pub peers: Vec<LinkPeer>,
}

impl LinkReading {
    /// The peers that are neither this node nor connected.
    pub fn down_peers(&self) -> Vec<u32> {
        self.peers
            .iter()
            .filter(|peer| peer.status != "localhost" && peer.status != "connected")
            .map(|peer| peer.nodeid)
            .collect()
    }
}

/// Everything read from one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// The node name (from the inventory).
    pub name: String,
    /// The node id (from the inventory).
    pub nodeid: u32,
    /// The address it was reached at.
    pub address: String,
    /// Whether the node could be reached at all; when false only `error` says more.
    pub reachable: bool,
    /// Why the node could not be reached.
    pub error: Option<String>,
    /// corosync's quorum status (`corosync-quorumtool -s -p`).
    pub corosync: Corosync,
    /// corosync's version (`corosync -v`).
    pub version: Option<String>,
    /// The runtime cmap, when corosync runs.
    pub runtime: Option<Runtime>,
    /// The links, when corosync runs.
    pub links: Vec<LinkReading>,
    /// `/etc/corosync/corosync.conf`.
    pub corosync_conf: Option<FileReading>,
    /// `/etc/pve/corosync.conf`, when the node has `/etc/pve` (Proxmox VE).
    pub pve_conf: Option<FileReading>,
    /// The authkey (the path the node's own file names, or the default).
    pub authkey: Option<AuthkeyReading>,
    /// Readings that failed (the others were made).
    pub problems: Vec<String>,
}

impl NodeStatus {
    /// A node that could not be reached: `error` says why.
    pub fn unreachable(name: &str, nodeid: u32, address: &str, error: String) -> NodeStatus {
        NodeStatus {
            name: name.to_string(),
            nodeid,
            address: address.to_string(),
            reachable: false,
            corosync: Corosync::Unknown { error: error.clone() },
            error: Some(error),
            version: None,
            runtime: None,
            links: Vec::new(),
            corosync_conf: None,
            pve_conf: None,
            authkey: None,
            problems: Vec::new(),
        }
    }

    /// The quorum status, when corosync runs.
    pub fn quorum(&self) -> Option<&QuorumStatus> {
        self.corosync.quorum()
    }

    /// The text of the file corosync reads on this node.
    pub fn config_text(&self) -> Option<&str> {
        self.corosync_conf.as_ref().and_then(|file| file.text.as_deref())
    }
}

/// Parses `corosync-cmapctl` output (`key (type) = value` lines) into key and value.
pub fn parse_cmap(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (left, value) = line.split_once(" = ")?;
            let key = left.split_once(" (").map_or(left, |(key, _)| key);
            Some((key.trim().to_string(), value.trim_end().to_string()))
        })
        .collect()
}

/// The runtime facts in a cmap dump.
pub fn runtime_of(cmap: BTreeMap<String, String>) -> Runtime {
    let mut members = Vec::new();
    let mut member_config_versions = BTreeMap::new();
    for (key, value) in &cmap {
        let Some(rest) = key.strip_prefix("runtime.members.") else {
            continue;
        };
        let Some((id, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(nodeid) = id.parse::<u32>() else {
            continue;
        };
        match field {
            "status" if value == "joined" => members.push(nodeid),
            "config_version" => {
                if let Ok(version) = value.parse() {
                    member_config_versions.insert(nodeid, version);
                }
            }
            _ => {}
        }
    }
    members.sort_unstable();
    let config_version = cmap
        .get("totem.config_version")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    Runtime {
        members,
        config_version,
        member_config_versions,
        cmap,
    }
}

/// Parses `corosync-cfgtool -s` output: `LINK ID N ...`, `addr = A`, `nodeid: N: status`.
pub fn parse_links(text: &str) -> Vec<LinkReading> {
    let mut links: Vec<LinkReading> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("LINK ID ") {
            if let Some(link) = rest.split_whitespace().next().and_then(|word| word.parse().ok()) {
                links.push(LinkReading {
                    link,
                    address: String::new(),
                    peers: Vec::new(),
                });
            }
        } else if let Some(current) = links.last_mut() {
            if let Some(address) = trimmed.strip_prefix("addr") {
                current.address = address.trim_start().trim_start_matches('=').trim().to_string();
            } else if let Some(rest) = trimmed.strip_prefix("nodeid:") {
                let mut parts = rest.splitn(2, ':');
                let nodeid = parts.next().and_then(|id| id.trim().parse().ok());
                let status = parts.next().map(|status| status.trim().to_string());
                if let (Some(nodeid), Some(status)) = (nodeid, status) {
                    current.peers.push(LinkPeer { nodeid, status });
                }
            }
        }
    }
    links
}

/// Reads one file, recording a failure in `problems`.
fn read_config_file(remote: &dyn Remote, path: &str, problems: &mut Vec<String>) -> Option<FileReading> {
    match remote.read_file(Path::new(path)) {
        Ok(bytes) => Some(FileReading {
            path: path.to_string(),
            sha256: bytes.as_deref().map(sha256_hex),
            text: bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        }),
        Err(error) => {
            problems.push(error.to_string());
            None
        }
    }
}

/// The argv that looks at the authkey without reading it: `stat -c '%a %s' PATH`.
pub fn authkey_stat(path: &str) -> Vec<&str> {
    vec!["stat", "-c", "%a %s", "--", path]
}

/// Looks at the authkey with `stat` (mode and size only).
fn read_authkey(remote: &dyn Remote, path: &str, problems: &mut Vec<String>) -> Option<AuthkeyReading> {
    match remote.run(&authkey_stat(path)) {
        Ok(output) if output.success() => {
            let text = output.stdout_text();
            let mut words = text.split_whitespace();
            let mode = words.next().map(str::to_string);
            let size = words.next().and_then(|size| size.parse().ok());
            Some(AuthkeyReading {
                path: path.to_string(),
                present: true,
                mode,
                size,
            })
        }
        // stat exits 1 for a missing file and says so on stderr.
        Ok(output) if output.stderr_text().contains("No such file") => Some(AuthkeyReading {
            path: path.to_string(),
            present: false,
            mode: None,
            size: None,
        }),
        Ok(output) => {
            problems.push(format!(
                "stat {path} ({}): {}",
                output.status_text(),
                output.stderr_text()
            ));
            None
        }
        Err(error) => {
            problems.push(error.to_string());
            None
        }
    }
}

/// The key file a node's own corosync.conf names (`totem.keyfile`), the default when it
/// names none, `None` when its crypto is off or the key is inline.
fn authkey_path_of(text: Option<&str>) -> Option<String> {
    let Some(text) = text else {
        return Some(DEFAULT_AUTHKEY.to_string());
    };
    let (document, _) = model::syntax::parse(text);
    let (config, _) = model::config::Config::from_document(&document);
    config.authkey_path()
}

/// Reads everything about corosync on one node through `remote`. `name`, `nodeid` and
/// `address` come from the inventory. The first remote call failing outright (not a command
/// exiting non-zero) makes the node unreachable.
pub fn read_node_status(remote: &dyn Remote, nodeid: u32, address: &str) -> NodeStatus {
    let name = remote.node().to_string();
    let mut problems = Vec::new();
    let corosync = match remote.run(QUORUMTOOL) {
        Ok(output) => classify(output.code, &output.stdout_text(), &output.stderr_text()),
        Err(error) => return NodeStatus::unreachable(&name, nodeid, address, error.to_string()),
    };
    let running = matches!(corosync, Corosync::Running { .. });
    let version = match remote.run(VERSION) {
        Ok(output) if output.success() => output
            .stdout_text()
            .lines()
            .next()
            .and_then(|line| line.split('\'').nth(1))
            .map(str::to_string),
        Ok(output) => {
            problems.push(format!(
                "corosync -v ({}): {}",
                output.status_text(),
                output.stderr_text()
            ));
            None
        }
        Err(error) => {
            problems.push(error.to_string());
            None
        }
    };
    let mut runtime = None;
    let mut links = Vec::new();
    if running {
        match remote.run(CMAPCTL) {
            Ok(output) if output.success() => runtime = Some(runtime_of(parse_cmap(&output.stdout_text()))),
            Ok(output) => problems.push(format!(
                "corosync-cmapctl ({}): {}",
                output.status_text(),
                output.stderr_text()
            )),
            Err(error) => problems.push(error.to_string()),
        }
        match remote.run(CFGTOOL) {
            // cfgtool exits non-zero when a link is faulty but still prints every link.
            Ok(output) if !output.stdout.is_empty() => links = parse_links(&output.stdout_text()),
            Ok(output) => problems.push(format!(
                "corosync-cfgtool -s ({}): {}",
                output.status_text(),
                output.stderr_text()
            )),
            Err(error) => problems.push(error.to_string()),
        }
    }
    let corosync_conf = read_config_file(remote, COROSYNC_CONF, &mut problems);
    let pve_conf = read_config_file(remote, PVE_CONF, &mut problems).filter(|file| file.sha256.is_some());
    let key_path = authkey_path_of(corosync_conf.as_ref().and_then(|file| file.text.as_deref()));
    let authkey = key_path.and_then(|path| read_authkey(remote, &path, &mut problems));
    NodeStatus {
        name,
        nodeid,
        address: address.to_string(),
        reachable: true,
        error: None,
        corosync,
        version,
        runtime,
        links,
        corosync_conf,
        pve_conf,
        authkey,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cmap_lines_and_the_runtime_members() {
        let text = "nodelist.node.0.name (str) = n1\n\
                    runtime.members.1.config_version (u64) = 4\n\
                    runtime.members.1.ip (str) = r(0) ip(198.18.0.1) \n\
                    runtime.members.1.status (str) = joined\n\
                    runtime.members.3.status (str) = left\n\
                    runtime.members.2.status (str) = joined\n\
                    totem.config_version (u64) = 4\n\
                    garbage line\n";
        let runtime = runtime_of(parse_cmap(text));
        assert_eq!(runtime.members, vec![1, 2]);
        assert_eq!(runtime.config_version, 4);
        assert_eq!(runtime.member_config_versions, BTreeMap::from([(1, 4)]));
        assert_eq!(runtime.cmap["runtime.members.1.ip"], "r(0) ip(198.18.0.1)");
        assert_eq!(runtime.cmap["nodelist.node.0.name"], "n1");
        assert_eq!(runtime_of(BTreeMap::new()).config_version, 0);
    }

    #[test]
    fn parses_cfgtool_links_and_finds_the_down_peers() {
        let text = "Local node ID 1, transport knet\nLINK ID 0 udp\n\taddr\t= 198.18.0.1\n\tstatus:\n\
                    \t\tnodeid:          1:\tlocalhost\n\t\tnodeid:          2:\tconnected\n\
                    \t\tnodeid:          3:\tdisconnected\nLINK ID 1 udp\n\taddr\t= 198.18.1.1\n\tstatus:\n\
                    \t\tnodeid:          1:\tlocalhost\n";
        let links = parse_links(text);
        assert_eq!(links.len(), 2);
        assert_eq!((links[0].link, links[0].address.as_str()), (0, "198.18.0.1"));
        assert_eq!(links[0].down_peers(), vec![3]);
        assert_eq!(links[1].address, "198.18.1.1");
        assert!(links[1].down_peers().is_empty());
    }

    #[test]
    fn hashes_as_sha256sum_does() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
