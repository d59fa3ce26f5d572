//! The lab: a real corosync cluster on one machine, one network namespace per node.
//!
//! Owns `Lab` (open a lab directory and drive it: status, partition, link down/up, heal,
//! stop/start, exec), `up` and `down`. Each node gets a network namespace `qlab-<lab>-<node>`,
//! a veth per corosync link into a bridge `qlb-l<N>` in the lab's switch namespace
//! `qlab-<lab>-sw` (so one link can fail alone), addresses from 198.18.0.0/15, and a holder
//! process (`sleep infinity`) that keeps its private mount and UTS namespaces: its own `/run`
//! and `/dev/shm` (tmpfs), `/etc/corosync`, `/var/lib/corosync`, `/var/log/corosync` and
//! `/etc/ssh` bound from the lab directory, and its hostname. corosync and sshd run inside.
//! Everything the lab makes is recorded in `<dir>/lab.json` before it is made, so `down`
//! works from any later process, after a crash too. Waiting is by polling the nodes until
//! their memberships are the expected, stable ones, within a limit derived from the effective
//! token and consensus; never by fixed sleeps. It must not touch the host's own network
//! namespace, mounts or files outside the lab directory.

pub mod layout;
pub mod replay;
pub mod state;
pub mod sys;
pub mod timing;
pub mod topology;

use crate::error::{Error, Result};
use crate::inventory::{Inventory, InventoryNode};
use crate::ssh::{self, SshOptions};
use crate::status::{classify, Corosync, NodeReport};
use layout::{Layout, Rewrite};
use state::{write_atomically, LabState, NodeState};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The default lab directory.
pub const DEFAULT_DIR: &str = "/run/quorate/lab";
/// Every lab namespace starts with this.
pub const NAMESPACE_PREFIX: &str = "qlab-";
/// The inventory file inside the lab directory.
pub const INVENTORY_FILE: &str = "inventory.toml";
/// How often nodes are polled while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Slack on top of the timing-derived limits, for process start-up and slow machines.
const WAIT_SLACK: Duration = Duration::from_secs(10);

/// The holder's set-up script: private mounts, hostname, then `sleep infinity` keeps the
/// namespaces alive. Arguments: etc-corosync, var-lib-corosync, var-log-corosync, ssh dirs,
/// hostname.
const HOLDER_SCRIPT: &str = r#"set -e
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount --bind "$1" /etc/corosync
mount --bind "$2" /var/lib/corosync
mount --bind "$3" /var/log/corosync
mount --bind "$4" /etc/ssh
mount -t tmpfs -o mode=0755,size=64m qlab-run /run
mount -t tmpfs -o mode=1777,size=64m qlab-shm /dev/shm
mkdir -p -m 0755 /run/sshd
hostname "$5"
exec sleep infinity
"#;

/// Where the cluster of a new lab comes from.
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
    /// Whether to start corosync (and wait for the cluster to form).
    pub start: bool,
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

fn check_privileges() -> Result<()> {
    if !sys::is_root() {
        return Err(Error::NotRoot);
    }
    sys::check_programs()
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|error| Error::io(path, error))
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    write_atomically(path, text.as_bytes(), mode)
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

/// Builds a new lab and (unless `start` is false) waits until its cluster formed.
/// `progress` receives one line per step. On failure everything made so far is removed.
pub fn up(options: &UpOptions, progress: &mut dyn FnMut(&str)) -> Result<UpReport> {
    check_privileges()?;
    let dir = &options.dir;
    if LabState::load(dir)?.is_some() {
        return Err(Error::Lab {
            dir: dir.clone(),
            message: "a lab is already up here; run `quorate lab down` first, or use another --dir".into(),
        });
    }
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(Error::Lab {
                dir: dir.clone(),
                message: "the directory is not empty; give an empty or new --dir".into(),
            });
        }
    }
    let name = lab_name(dir);
    let leftovers = sys::netns_with_prefix(&namespace_prefix(&name));
    if !leftovers.is_empty() {
        return Err(Error::Lab {
            dir: dir.clone(),
            message: format!(
                "namespaces of an earlier lab `{name}` remain ({}); run `quorate lab down --dir {}`",
                leftovers.join(", "),
                dir.display()
            ),
        });
    }
    let layout = match &options.source {
        ClusterSource::Config(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
            layout::layout(&text).map_err(|message| Error::Config {
                path: path.clone(),
                message,
            })?
        }
        ClusterSource::Generated { nodes, links } => {
            let text =
                layout::generated_config(&format!("qlab-{name}"), *nodes, *links).map_err(Error::Usage)?;
            layout::layout(&text).map_err(Error::Usage)?
        }
    };
    create_dir(dir)?;
    let result = build(dir, &name, &layout, options.start, progress);
    match result {
        Ok(report) => Ok(report),
        Err(error) => {
            progress("lab up failed; removing what was made");
            let _ = down(dir, &mut |_| {});
            Err(error)
        }
    }
}

fn build(
    dir: &Path,
    name: &str,
    layout: &Layout,
    start: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<UpReport> {
    let prefix = namespace_prefix(name);
    let mut lab = Lab {
        dir: dir.to_path_buf(),
        state: LabState {
            name: name.to_string(),
            switch_netns: format!("{prefix}sw"),
            links: layout.links.clone(),
            timing: layout.timing,
            nodes: layout
                .nodes
                .iter()
                .map(|node| NodeState {
                    name: node.name.clone(),
                    nodeid: node.nodeid,
                    slot: node.slot,
                    netns: format!("{prefix}{}", node.name),
                    addresses: node.addresses.clone(),
                    holder_pid: None,
                    corosync_pid: None,
                    sshd_pid: None,
                    links_down: BTreeSet::new(),
                })
                .collect(),
            partition: None,
            namespaces: BTreeMap::new(),
        },
    };
    // Record every namespace before creating any.
    let mut all_namespaces = vec![lab.state.switch_netns.clone()];
    all_namespaces.extend(lab.state.nodes.iter().map(|node| node.netns.clone()));
    for netns in &all_namespaces {
        lab.state.namespaces.insert(netns.clone(), None);
    }
    lab.save()?;

    progress(&format!(
        "lab `{name}`: {} nodes, links {:?}, in {}",
        layout.nodes.len(),
        layout.links,
        dir.display()
    ));
    write_files(&lab, layout)?;
    progress("wrote corosync.conf, authkey, ssh keys and inventory");

    let switch = lab.state.switch_netns.clone();
    lab.add_netns(&switch)?;
    sys::run("ip", &["-n", &switch, "link", "set", "lo", "up"])?;
    for link in &layout.links {
        let bridge = format!("qlb-l{link}");
        sys::run("ip", &["-n", &switch, "link", "add", &bridge, "type", "bridge"])?;
        sys::run("ip", &["-n", &switch, "link", "set", &bridge, "up"])?;
    }
    for index in 0..lab.state.nodes.len() {
        let node = lab.state.nodes[index].clone();
        lab.add_netns(&node.netns)?;
        sys::run("ip", &["-n", &node.netns, "link", "set", "lo", "up"])?;
        for (link, address) in &node.addresses {
            let port = node.switch_port(*link);
            let inside = format!("l{link}");
            let bridge = format!("qlb-l{link}");
            let cidr = format!("{address}/24");
            sys::run(
                "ip",
                &[
                    "-n",
                    &switch,
                    "link",
                    "add",
                    &port,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &inside,
                    "netns",
                    &node.netns,
                ],
            )?;
            sys::run(
                "ip",
                &["-n", &switch, "link", "set", &port, "master", &bridge, "up"],
            )?;
            sys::run("ip", &["-n", &node.netns, "addr", "add", &cidr, "dev", &inside])?;
            sys::run("ip", &["-n", &node.netns, "link", "set", &inside, "up"])?;
        }
    }
    progress("created namespaces, bridges and veths");

    for index in 0..lab.state.nodes.len() {
        lab.start_holder(index)?;
    }
    for index in 0..lab.state.nodes.len() {
        lab.wait_holder(index)?;
    }
    progress("node mount namespaces and hostnames ready");
    for index in 0..lab.state.nodes.len() {
        lab.start_sshd(index)?;
    }
    if start {
        for index in 0..lab.state.nodes.len() {
            lab.start_corosync(index)?;
        }
        progress("started sshd and corosync on every node");
    } else {
        progress("started sshd on every node (corosync not started: --no-start)");
    }
    lab.wait_sshd()?;
    let nodes = if start {
        let limit = lab.formation_limit();
        progress(&format!(
            "waiting for the membership to form (at most {} s)",
            limit.as_secs()
        ));
        let reports = lab.wait_converged(limit)?;
        progress("cluster formed");
        reports
    } else {
        Vec::new()
    };
    Ok(UpReport {
        name: name.to_string(),
        rewrites: layout.rewrites.clone(),
        inventory: dir.join(INVENTORY_FILE),
        nodes,
    })
}

/// Writes the per-node directories, the config, the authkey, the ssh keys and configs and
/// the inventory.
fn write_files(lab: &Lab, layout: &Layout) -> Result<()> {
    let dir = &lab.dir;
    write_file(&dir.join("corosync.conf"), &layout.config, 0o644)?;
    let mut authkey = [0u8; 256];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut authkey))
        .map_err(|error| Error::io("/dev/urandom", error))?;
    let ssh_dir = dir.join("ssh");
    create_dir(&ssh_dir)?;
    let client_key = ssh_dir.join("id_ed25519");
    keygen(&client_key, "quorate-lab-client")?;
    let client_public = read(&client_key.with_extension("pub"))?;
    let mut known_hosts = String::new();
    let mut ssh_config = String::new();
    let ip = sys::which("ip").unwrap_or_else(|| PathBuf::from("ip"));
    let bash = sys::which("bash").unwrap_or_else(|| PathBuf::from("bash"));
    for node in &lab.state.nodes {
        let node_dir = node.dir(dir);
        for sub in ["etc-corosync", "var-lib-corosync", "var-log-corosync", "ssh"] {
            create_dir(&node_dir.join(sub))?;
        }
        let etc = node_dir.join("etc-corosync");
        write_file(&etc.join("corosync.conf"), &layout.config, 0o644)?;
        let authkey_path = etc.join("authkey");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(&authkey_path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, &authkey))
            .map_err(|error| Error::io(&authkey_path, error))?;
        let node_ssh = node_dir.join("ssh");
        let host_key = node_ssh.join("ssh_host_ed25519_key");
        keygen(&host_key, &node.name)?;
        let host_public = read(&host_key.with_extension("pub"))?;
        let address = main_address(node)?;
        let key_fields: Vec<&str> = host_public.split_whitespace().take(2).collect();
        known_hosts.push_str(&format!("{address} {}\n", key_fields.join(" ")));
        write_file(&node_ssh.join("authorized_keys"), &client_public, 0o600)?;
        write_file(&node_ssh.join("sshd_config"), &sshd_config(&address), 0o644)?;
        // ssh reaches the node from inside its own namespace, so SSH keeps working whatever
        // partition or link failure the lab imposes on corosync's traffic.
        ssh_config.push_str(&format!(
            "Host {address}\n  ProxyCommand {} netns exec {} {} -c 'exec 3<>/dev/tcp/%h/%p; cat <&3 & exec cat >&3'\n",
            ip.display(),
            node.netns,
            bash.display()
        ));
    }
    let known_hosts_path = ssh_dir.join("known_hosts");
    write_file(&known_hosts_path, &known_hosts, 0o644)?;
    ssh_config.push_str(&format!(
        "Host *\n  User root\n  IdentityFile \"{}\"\n  IdentitiesOnly yes\n  UserKnownHostsFile \"{}\"\n  \
         StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
        client_key.display(),
        known_hosts_path.display()
    ));
    write_file(&ssh_dir.join("config"), &ssh_config, 0o644)?;
    let inventory = lab.inventory();
    write_file(&dir.join(INVENTORY_FILE), &inventory.to_toml(), 0o644)
}

fn main_address(node: &NodeState) -> Result<std::net::Ipv4Addr> {
    node.main_address()
        .ok_or_else(|| Error::Usage(format!("node {} has no address", node.name)))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|error| Error::io(path, error))
}

fn keygen(path: &Path, comment: &str) -> Result<()> {
    let path_text = path.to_string_lossy();
    sys::run(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", &path_text],
    )
    .map(|_| ())
}

fn sshd_config(address: &std::net::Ipv4Addr) -> String {
    format!(
        "# Written by `quorate lab up`; this node's sshd, seen inside the node as /etc/ssh.\n\
         ListenAddress {address}\nPort 22\nHostKey /etc/ssh/ssh_host_ed25519_key\n\
         AuthorizedKeysFile /etc/ssh/authorized_keys\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n\
         PidFile /run/sshd.pid\nSubsystem sftp internal-sftp\nMaxSessions 20\n"
    )
}

/// Removes the lab in `dir`: kills every process in its namespaces, deletes the namespaces
/// (with their bridges and veths) and the lab directory. Idempotent; works without a state
/// file (by namespace prefix) and after a crash.
pub fn down(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<DownReport> {
    if !sys::is_root() {
        return Err(Error::NotRoot);
    }
    let state = match LabState::load(dir) {
        Ok(state) => state,
        Err(error) => {
            progress(&format!("{error}"));
            None
        }
    };
    let name = state
        .as_ref()
        .map_or_else(|| lab_name(dir), |state| state.name.clone());
    let mut namespaces: BTreeSet<String> = sys::netns_with_prefix(&namespace_prefix(&name))
        .into_iter()
        .collect();
    let mut inodes = BTreeSet::new();
    if let Some(state) = &state {
        namespaces.extend(state.namespaces.keys().cloned());
        inodes.extend(state.namespaces.values().flatten().copied());
    }
    inodes.extend(
        namespaces
            .iter()
            .filter_map(|netns| sys::namespace_inode(&sys::netns_path(netns))),
    );
    let mut report = DownReport::default();
    let pids = sys::processes_in(&inodes);
    report.processes = pids.len();
    if !pids.is_empty() {
        // Nothing of a lab node outlives the lab: no need for a graceful corosync leave.
        sys::kill(&pids, "KILL");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sys::processes_in(&inodes).is_empty() {
            if Instant::now() > deadline {
                return Err(Error::Lab {
                    dir: dir.to_path_buf(),
                    message: format!("processes {:?} survived SIGKILL", sys::processes_in(&inodes)),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        progress(&format!("killed {} processes", report.processes));
    }
    for netns in &namespaces {
        if sys::netns_path(netns).exists() {
            sys::run("ip", &["netns", "del", netns])?;
            report.namespaces.push(netns.clone());
        }
    }
    if !report.namespaces.is_empty() {
        progress(&format!("deleted namespaces {}", report.namespaces.join(", ")));
    }
    report.removed_dir = remove_lab_dir(dir)?;
    Ok(report)
}

/// Removes what the lab wrote into `dir`, then `dir` itself if that left it empty.
fn remove_lab_dir(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    for entry in ["nodes", "ssh", "ctl"] {
        let path = dir.join(entry);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|error| Error::io(&path, error))?;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(false);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(
            file_name.as_str(),
            "corosync.conf" | INVENTORY_FILE | state::STATE_FILE
        ) || file_name.starts_with(".lab.json.tmp.")
            || file_name.starts_with(".corosync.conf.tmp.")
            || file_name.starts_with(".inventory.toml.tmp.");
        if ours {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|error| Error::io(&path, error))?;
        }
    }
    Ok(std::fs::remove_dir(dir).is_ok())
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

    fn add_netns(&mut self, netns: &str) -> Result<()> {
        sys::run("ip", &["netns", "add", netns])?;
        let inode = sys::namespace_inode(&sys::netns_path(netns));
        self.state.namespaces.insert(netns.to_string(), inode);
        self.save()
    }

    fn node_index(&self, name: &str) -> Result<usize> {
        self.state.node_index(name).ok_or_else(|| {
            let names: Vec<&str> = self.state.nodes.iter().map(|n| n.name.as_str()).collect();
            Error::Usage(format!(
                "no node `{name}` in the lab (nodes: {})",
                names.join(", ")
            ))
        })
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
                    ssh_user: "root".into(),
                    ssh_port: 22,
                    ssh_key: ssh_dir.join("id_ed25519"),
                    known_hosts: ssh_dir.join("known_hosts"),
                })
                .collect(),
        }
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

    fn start_holder(&mut self, index: usize) -> Result<()> {
        let node = &self.state.nodes[index];
        let node_dir = node.dir(&self.dir);
        let mut argv: Vec<String> = [
            "ip",
            "netns",
            "exec",
            &node.netns,
            "unshare",
            "-m",
            "-u",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            HOLDER_SCRIPT,
            "sh",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for sub in ["etc-corosync", "var-lib-corosync", "var-log-corosync", "ssh"] {
            argv.push(node_dir.join(sub).to_string_lossy().into_owned());
        }
        argv.push(node.name.clone());
        argv[0] = sys::which("ip").map_or(argv[0].clone(), |p| p.to_string_lossy().into_owned());
        let pid = sys::spawn_daemon(&argv, &node_dir.join("holder.log"))?;
        self.state.nodes[index].holder_pid = Some(pid);
        self.save()
    }

    fn wait_holder(&self, index: usize) -> Result<()> {
        let node = &self.state.nodes[index];
        let pid = node
            .holder_pid
            .ok_or_else(|| Error::Usage(format!("node {} has no holder", node.name)))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if sys::comm(pid).as_deref() == Some("sleep") {
                return Ok(());
            }
            if !sys::alive(pid) || Instant::now() > deadline {
                return Err(Error::Lab {
                    dir: self.dir.clone(),
                    message: format!(
                        "node {}: setting up its namespaces failed: {}",
                        node.name,
                        log_tail(&node.dir(&self.dir).join("holder.log"))
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
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

    fn start_sshd(&mut self, index: usize) -> Result<()> {
        let holder = self.holder(index)?;
        let sshd = sys::which("sshd").map_or("/usr/sbin/sshd".into(), |p| p.to_string_lossy().into_owned());
        let argv = sys::node_argv(holder, &[&sshd, "-D", "-e", "-f", "/etc/ssh/sshd_config"]);
        let log = self.state.nodes[index].dir(&self.dir).join("sshd.log");
        let pid = sys::spawn_daemon(&argv, &log)?;
        self.state.nodes[index].sshd_pid = Some(pid);
        self.save()
    }

    fn wait_sshd(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        for node in &self.state.nodes {
            let log = node.dir(&self.dir).join("sshd.log");
            loop {
                if read(&log).unwrap_or_default().contains("Server listening") {
                    break;
                }
                let running = node.sshd_pid.is_some_and(sys::alive);
                if !running || Instant::now() > deadline {
                    return Err(Error::Lab {
                        dir: self.dir.clone(),
                        message: format!("node {}: sshd did not start: {}", node.name, log_tail(&log)),
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Ok(())
    }

    fn start_corosync(&mut self, index: usize) -> Result<()> {
        let holder = self.holder(index)?;
        let corosync = sys::which("corosync").map_or("corosync".into(), |p| p.to_string_lossy().into_owned());
        let argv = sys::node_argv(holder, &[&corosync, "-f"]);
        let log = self.state.nodes[index].dir(&self.dir).join("corosync.stderr");
        let pid = sys::spawn_daemon(&argv, &log)?;
        self.state.nodes[index].corosync_pid = Some(pid);
        self.save()
    }

    /// How long forming the whole cluster may take: start-up plus a few membership rounds.
    fn formation_limit(&self) -> Duration {
        WAIT_SLACK + Duration::from_millis(4 * self.state.timing.membership_change_ms())
    }

    /// How long a membership change may take to settle.
    fn change_limit(&self) -> Duration {
        WAIT_SLACK + Duration::from_millis(3 * self.state.timing.membership_change_ms())
    }

    /// Reads every node's corosync through `nsenter`.
    pub fn read_nsenter(&self) -> Vec<NodeReport> {
        (0..self.state.nodes.len())
            .map(|index| {
                let node = &self.state.nodes[index];
                let corosync = match self.holder(index) {
                    Err(error) => Corosync::Unknown {
                        error: error.to_string(),
                    },
                    Ok(holder) => match sys::node_output(holder, &["corosync-quorumtool", "-s"]) {
                        Ok(output) => classify(
                            output.status.code(),
                            &String::from_utf8_lossy(&output.stdout),
                            &String::from_utf8_lossy(&output.stderr),
                        ),
                        Err(error) => Corosync::Unknown {
                            error: error.to_string(),
                        },
                    },
                };
                NodeReport {
                    name: node.name.clone(),
                    nodeid: node.nodeid,
                    address: node.main_address().map(|a| a.to_string()).unwrap_or_default(),
                    corosync,
                }
            })
            .collect()
    }

    /// Reads every node's corosync over SSH with the lab inventory.
    pub fn read_ssh(&self) -> Result<Vec<NodeReport>> {
        ssh::read_cluster_blocking(&self.inventory(), &self.ssh_options())
    }

    /// Every node's state, read as `via` says. Returns the reports and the way used.
    pub fn status(&self, via: Via) -> Result<(Vec<NodeReport>, Via)> {
        let via = match via {
            Via::Auto
                if self
                    .state
                    .nodes
                    .iter()
                    .all(|node| node.sshd_pid.is_some_and(sys::alive)) =>
            {
                Via::Ssh
            }
            Via::Auto => Via::Nsenter,
            other => other,
        };
        match via {
            Via::Ssh => Ok((self.read_ssh()?, Via::Ssh)),
            _ => Ok((self.read_nsenter(), Via::Nsenter)),
        }
    }

    fn views(&self) -> Vec<topology::NodeView> {
        self.state
            .nodes
            .iter()
            .map(|node| topology::NodeView {
                nodeid: node.nodeid,
                running: node.corosync_pid.is_some_and(sys::alive),
                links: node.addresses.keys().copied().collect(),
                links_down: node.links_down.clone(),
                group: self
                    .state
                    .partition
                    .as_ref()
                    .and_then(|groups| groups.iter().position(|group| group.contains(&node.name))),
            })
            .collect()
    }

    /// Polls the nodes until every running node shows the membership the topology predicts
    /// (or, when it predicts none, the same memberships for a token + consensus period), in
    /// two polls in a row. Fails after `limit`, with the last observation.
    pub fn wait_converged(&self, limit: Duration) -> Result<Vec<NodeReport>> {
        let started = Instant::now();
        let expected = topology::expected_members(&self.views());
        let quiet = Duration::from_millis(self.state.timing.membership_change_ms());
        let mut previous: Option<Vec<Option<Vec<u32>>>> = None;
        let mut stable_since = Instant::now();
        let mut matched_polls = 0;
        loop {
            self.check_corosync_alive()?;
            let reports = self.read_nsenter();
            let memberships: Vec<Option<Vec<u32>>> = reports
                .iter()
                .map(|r| r.corosync.quorum().map(|q| q.member_ids()))
                .collect();
            let views = self.views();
            let done = match &expected {
                Some(expected) => {
                    let all_match = views.iter().zip(&memberships).all(|(view, members)| {
                        if !view.running {
                            return true;
                        }
                        let want: Option<Vec<u32>> = expected
                            .get(&view.nodeid)
                            .map(|set| set.iter().copied().collect());
                        members.is_some() && *members == want
                    });
                    matched_polls = if all_match { matched_polls + 1 } else { 0 };
                    matched_polls >= 2
                }
                None => {
                    if previous.as_ref() != Some(&memberships) {
                        stable_since = Instant::now();
                    }
                    previous = Some(memberships.clone());
                    stable_since.elapsed() >= quiet
                }
            };
            if done {
                return Ok(reports);
            }
            if started.elapsed() > limit {
                let seen: Vec<String> = reports
                    .iter()
                    .map(|report| match &report.corosync {
                        Corosync::Running { quorum } => {
                            format!("{} sees {:?}", report.name, quorum.member_ids())
                        }
                        Corosync::Stopped { .. } => format!("{} stopped", report.name),
                        Corosync::Unknown { error } => format!("{}: {error}", report.name),
                    })
                    .collect();
                let want = match &expected {
                    Some(expected) => format!("expected {expected:?}"),
                    None => "waiting for stable memberships".into(),
                };
                return Err(Error::NotConverged {
                    timeout_ms: limit.as_millis() as u64,
                    details: format!("{want}; {}", seen.join("; ")),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Fails if a corosync the lab started has exited on its own.
    fn check_corosync_alive(&self) -> Result<()> {
        for node in &self.state.nodes {
            if let Some(pid) = node.corosync_pid {
                if !sys::alive(pid) {
                    return Err(Error::Lab {
                        dir: self.dir.clone(),
                        message: format!(
                            "node {}: corosync exited: {}",
                            node.name,
                            log_tail(&node.dir(&self.dir).join("var-log-corosync").join("corosync.log"))
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies the iptables rules of the current partition (none: all flushed) on every node.
    fn apply_partition(&self) -> Result<()> {
        for node in &self.state.nodes {
            sys::in_netns(&node.netns, "iptables", &["-w", "-F", "INPUT"])?;
            sys::in_netns(&node.netns, "iptables", &["-w", "-F", "OUTPUT"])?;
            let Some(groups) = &self.state.partition else {
                continue;
            };
            let Some(own) = groups.iter().find(|group| group.contains(&node.name)) else {
                continue;
            };
            let peers: Vec<String> = self
                .state
                .nodes
                .iter()
                .filter(|other| !own.contains(&other.name))
                .flat_map(|other| other.addresses.values().map(|a| a.to_string()))
                .collect();
            if peers.is_empty() {
                continue;
            }
            let list = peers.join(",");
            sys::in_netns(
                &node.netns,
                "iptables",
                &["-w", "-I", "INPUT", "-s", &list, "-j", "DROP"],
            )?;
            sys::in_netns(
                &node.netns,
                "iptables",
                &["-w", "-I", "OUTPUT", "-d", &list, "-j", "DROP"],
            )?;
        }
        Ok(())
    }

    /// Splits the cluster: nodes in different groups of `spec` (`"1,2|3"`, ids or names)
    /// cannot talk on any link. Waits for the memberships unless `wait` is false.
    pub fn partition(&mut self, spec: &str, wait: bool) -> Result<Vec<NodeReport>> {
        let nodes: Vec<(String, u32)> = self
            .state
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.nodeid))
            .collect();
        let groups = topology::parse_partition(spec, &nodes).map_err(Error::Usage)?;
        self.state.partition = Some(groups);
        self.save()?;
        self.apply_partition()?;
        self.settle(wait)
    }

    /// Cuts (`up == false`) or restores link `link` for `nodes` (all nodes when empty), by
    /// setting the node's veth on that link's bridge down or up.
    pub fn set_link(&mut self, link: u8, nodes: &[String], up: bool, wait: bool) -> Result<Vec<NodeReport>> {
        if !self.state.links.contains(&link) {
            return Err(Error::Usage(format!(
                "the lab has no link {link} (links: {:?})",
                self.state.links
            )));
        }
        let indexes: Vec<usize> = if nodes.is_empty() {
            (0..self.state.nodes.len())
                .filter(|index| self.state.nodes[*index].addresses.contains_key(&link))
                .collect()
        } else {
            let mut indexes = Vec::new();
            for name in nodes {
                let index = self.node_index(name)?;
                if !self.state.nodes[index].addresses.contains_key(&link) {
                    return Err(Error::Usage(format!(
                        "node {} is not on link {link}",
                        self.state.nodes[index].name
                    )));
                }
                indexes.push(index);
            }
            indexes
        };
        for index in indexes {
            let node = &mut self.state.nodes[index];
            if up {
                node.links_down.remove(&link);
            } else {
                node.links_down.insert(link);
            }
            let port = node.switch_port(link);
            let switch = self.state.switch_netns.clone();
            sys::run(
                "ip",
                &[
                    "-n",
                    &switch,
                    "link",
                    "set",
                    &port,
                    if up { "up" } else { "down" },
                ],
            )?;
        }
        self.save()?;
        self.settle(wait)
    }

    /// Removes any partition and brings every link back up.
    pub fn heal(&mut self, wait: bool) -> Result<Vec<NodeReport>> {
        self.state.partition = None;
        let switch = self.state.switch_netns.clone();
        for node in &mut self.state.nodes {
            for link in std::mem::take(&mut node.links_down) {
                sys::run(
                    "ip",
                    &["-n", &switch, "link", "set", &node.switch_port(link), "up"],
                )?;
            }
        }
        self.save()?;
        self.apply_partition()?;
        self.settle(wait)
    }

    /// Stops corosync on `node` (SIGTERM, then SIGKILL if it lingers).
    pub fn stop(&mut self, node: &str, wait: bool) -> Result<Vec<NodeReport>> {
        let index = self.node_index(node)?;
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

    /// Starts corosync on `node`.
    pub fn start(&mut self, node: &str, wait: bool) -> Result<Vec<NodeReport>> {
        let index = self.node_index(node)?;
        if self.state.nodes[index].corosync_pid.is_some_and(sys::alive) {
            return Err(Error::Usage(format!(
                "corosync already runs on node {}",
                self.state.nodes[index].name
            )));
        }
        self.start_corosync(index)?;
        if wait {
            self.wait_converged(self.formation_limit())
        } else {
            Ok(self.read_nsenter())
        }
    }

    fn settle(&self, wait: bool) -> Result<Vec<NodeReport>> {
        if wait {
            self.wait_converged(self.change_limit())
        } else {
            Ok(self.read_nsenter())
        }
    }

    /// Runs `command` inside `node` (its network, mount and UTS namespaces), stdin inherited,
    /// output captured.
    pub fn exec(&self, node: &str, command: &[String]) -> Result<std::process::Output> {
        let index = self.node_index(node)?;
        let holder = self.holder(index)?;
        if command.is_empty() {
            return Err(Error::Usage(
                "no command given (use `lab exec NODE -- CMD ...`)".into(),
            ));
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

    #[test]
    fn sshd_listens_on_the_node_address_only() {
        let config = sshd_config(&std::net::Ipv4Addr::new(198, 18, 0, 2));
        assert!(config.contains("\nListenAddress 198.18.0.2\n"));
        assert!(config.contains("\nPasswordAuthentication no\n"));
        assert!(config.contains("\nHostKey /etc/ssh/ssh_host_ed25519_key\n"));
    }
}
