//! `lab up`: building a lab.
//!
//! Owns `up` (check privileges and leftovers, lay out the cluster, record every namespace in
//! `lab.json` before creating it, then namespaces, bridges, veths and addresses), the files
//! a lab writes (corosync.conf, authkey, ssh keys, sshd and ssh configs, inventory), and
//! starting the per-node processes (holder, sshd, corosync) and waiting for each to be up.
//! Spare nodes (`--spare N`) and every node of a `--no-start` lab get no corosync.conf and no
//! authkey: what `apply` forms or adds them from.
//! On failure everything made so far is removed (`teardown::down`). It must not drive a
//! built lab (`faults`, `observe`) nor remove one by itself.

use super::layout::{self, Layout};
use super::state::{write_atomically, LabState, NodeState, QnetdState};
use super::teardown::down;
use super::{
    create_dir, lab_name, log_tail, namespace_prefix, sys, ClusterSource, Lab, UpOptions, UpReport,
    INVENTORY_FILE,
};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The holder's set-up script: private mounts, hostname, then `sleep infinity` keeps the
/// namespaces alive. Arguments: etc-corosync, var-lib-corosync, var-log-corosync, ssh dirs,
/// hostname, then the node's sbin dir (holding `SYSTEMCTL_SHIM`), bound over
/// /usr/local/sbin so that a plan's `systemctl ... corosync` runs there, and its
/// var-lib-quorate dir (apply's backups). /var/lib is a private tmpfs holding only those two
/// mount points, so nothing a node writes there reaches the host. /root is a private empty
/// tmpfs too: a node's root has a home of its own, not the host's, whose shell start-up files
/// (sourced by bash for every command sshd runs) cost this host up to a second per remote
/// command under load (pyenv init), a cost no real node has.
pub(crate) const HOLDER_SCRIPT: &str = r#"set -e
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount --bind "$1" /etc/corosync
mount -t tmpfs -o mode=0755,size=16m qlab-varlib /var/lib
mkdir -p /var/lib/corosync /var/lib/quorate
mount --bind "$2" /var/lib/corosync
mount --bind "$3" /var/log/corosync
mount --bind "$4" /etc/ssh
if [ -d /usr/local/sbin ]; then mount --bind "$6" /usr/local/sbin; fi
mount --bind "$7" /var/lib/quorate
mount -t tmpfs -o mode=0755,size=64m qlab-run /run
mount -t tmpfs -o mode=1777,size=64m qlab-shm /dev/shm
if [ -d /root ]; then mount -t tmpfs -o mode=0700,size=4m qlab-root /root; fi
mkdir -p -m 0755 /run/sshd
hostname "$5"
exec sleep infinity
"#;

/// The command line that starts a holder in namespace `netns`: `HOLDER_SCRIPT` under
/// `unshare` with the directories it mounts (`mounts`, in the script's order), the hostname,
/// and the host's `sbin` and `var-lib-quorate` directories under `dir`.
pub(crate) fn holder_argv(netns: &str, mounts: &[PathBuf], hostname: &str, dir: &Path) -> Vec<String> {
    let ip = sys::which("ip").map_or("ip".to_string(), |path| path.to_string_lossy().into_owned());
    let mut argv: Vec<String> = [
        ip.as_str(),
        "netns",
        "exec",
        netns,
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
    argv.extend(mounts.iter().map(|path| path.to_string_lossy().into_owned()));
    argv.push(hostname.to_string());
    argv.push(dir.join("sbin").to_string_lossy().into_owned());
    argv.push(dir.join("var-lib-quorate").to_string_lossy().into_owned());
    argv
}

/// `systemctl` inside a lab node, where no systemd runs: `start|stop|restart|is-active|
/// enable|disable|is-enabled corosync|corosync-qdevice`, so that `quorate apply` runs a plan's
/// commands on the lab as written. For corosync, start runs `corosync` (it daemonizes;
/// /run/corosync.pid) and waits for its pid file, stop sends SIGTERM and waits (SIGKILL after
/// 15 s), enabled is a marker file. corosync-qdevice runs under a supervising loop that
/// starts it again a second after it exits (it exits when its corosync goes away; systemd's
/// unit comes back with corosync), as `lab up --qdevice` runs it; stop ends the loop, then
/// the daemon.
const SYSTEMCTL_SHIM: &str = r#"#!/bin/sh
# systemctl for corosync inside a quorate lab node (no systemd here); written by `quorate lab up`.
set -u
case "${2:-}" in
  corosync|corosync.service) ;;
  corosync-qdevice|corosync-qdevice.service)
    loop=/run/quorate-qdevice-loop.pid; child=/run/quorate-qdevice.pid
    qrunning() { [ -s "$loop" ] && kill -0 "$(cat "$loop")" 2>/dev/null; }
    qstop() {
      if qrunning; then kill -TERM "$(cat "$loop")" 2>/dev/null; fi
      if [ -s "$child" ]; then
        pid=$(cat "$child"); kill -TERM "$pid" 2>/dev/null; i=0
        while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ "$i" -eq 300 ] && kill -KILL "$pid"; sleep 0.05; done
      fi
      rm -f "$loop" "$child"
    }
    qstart() {
      qrunning && return 0
      setsid sh -c 'echo $$ > /run/quorate-qdevice-loop.pid
        while :; do corosync-qdevice -f -d >>/var/log/corosync/qdevice.log 2>&1 & echo $! > /run/quorate-qdevice.pid; wait $!; sleep 1; done' </dev/null >/dev/null 2>&1 &
      i=0
      until qrunning; do i=$((i+1)); [ "$i" -gt 200 ] && { echo "corosync-qdevice did not start" >&2; return 1; }; sleep 0.05; done
    }
    case "${1:-}" in
      start) qstart ;;
      stop) qstop ;;
      restart) qstop; qstart ;;
      is-active) if qrunning; then echo active; else echo inactive; exit 3; fi ;;
      enable) touch /var/lib/corosync/.lab-qdevice-enabled ;;
      disable) rm -f /var/lib/corosync/.lab-qdevice-enabled ;;
      is-enabled) if [ -e /var/lib/corosync/.lab-qdevice-enabled ]; then echo enabled; else echo disabled; exit 1; fi ;;
      *) echo "lab systemctl: unsupported command ${1:-}" >&2; exit 1 ;;
    esac
    exit $? ;;
  *) echo "lab systemctl: only corosync and corosync-qdevice are managed here" >&2; exit 1;;
esac
pidfile=/run/corosync.pid
running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
stop() {
  if running; then
    pid=$(cat "$pidfile"); kill -TERM "$pid"; i=0
    while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ "$i" -eq 300 ] && kill -KILL "$pid"; sleep 0.05; done
  fi
  rm -f "$pidfile"
}
start() {
  running && return 0
  [ -e /etc/corosync/corosync.conf ] || { echo "no /etc/corosync/corosync.conf" >&2; return 1; }
  rm -f "$pidfile"
  corosync </dev/null >/dev/null 2>&1 || { echo "corosync exited with $?" >&2; return 1; }
  i=0
  until running; do i=$((i+1)); [ "$i" -gt 200 ] && { echo "corosync did not start" >&2; return 1; }; sleep 0.05; done
}
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
  enable) touch /var/lib/corosync/.lab-enabled ;;
  disable) rm -f /var/lib/corosync/.lab-enabled ;;
  is-enabled) if [ -e /var/lib/corosync/.lab-enabled ]; then echo enabled; else echo disabled; exit 1; fi ;;
  *) echo "lab systemctl: unsupported command ${1:-}" >&2; exit 1 ;;
esac
"#;

fn check_privileges() -> Result<()> {
    if !sys::is_root() {
        return Err(Error::NotRoot);
    }
    sys::check_programs()
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    write_atomically(path, text.as_bytes(), mode)
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
    if let Some(qdevice) = &options.qdevice {
        qdevice.validate()?;
    }
    let mut layout = match &options.source {
        ClusterSource::Config(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
            layout::layout(&text).map_err(|problem| Error::Config {
                path: path.clone(),
                message: problem.to_string(),
            })?
        }
        ClusterSource::Generated { nodes, links } => {
            let text = layout::generated_config(&format!("qlab-{name}"), *nodes, *links)?;
            layout::layout(&text)?
        }
    };
    if let Some(qdevice) = options.qdevice.as_ref().filter(|qdevice| !qdevice.later) {
        layout.config = qdevice.add_to(&layout.config).map_err(|message| Error::Lab {
            dir: dir.clone(),
            message,
        })?;
    }
    layout::add_spare_links(&mut layout, options.spare_links)?;
    let spare = layout::spare_nodes(&layout, options.spare)?;
    let all_nodes = layout.nodes.len() + spare.len();
    if options.spare_addresses && all_nodes > usize::from(254 - layout::SPARE_ADDRESS_OFFSET) {
        return Err(layout::LayoutError::TooManyForSpareAddresses(all_nodes).into());
    }
    create_dir(dir)?;
    let result = build(dir, &name, &layout, &spare, options, progress);
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
    spare: &[layout::LabNode],
    options: &UpOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<UpReport> {
    let start = options.start;
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
                .map(|node| (node, false))
                .chain(spare.iter().map(|node| (node, true)))
                .map(|(node, spare)| NodeState {
                    name: node.name.clone(),
                    nodeid: node.nodeid,
                    slot: node.slot,
                    netns: format!("{prefix}{}", node.name),
                    addresses: node.addresses.clone(),
                    holder_pid: None,
                    corosync_pid: None,
                    sshd_pid: None,
                    links_down: BTreeSet::new(),
                    spare,
                    qdevice_pid: None,
                    spare_addresses: if options.spare_addresses {
                        node.addresses
                            .keys()
                            .filter_map(|link| {
                                layout::spare_address(*link, node.slot).map(|address| (*link, address))
                            })
                            .collect()
                    } else {
                        BTreeMap::new()
                    },
                })
                .collect(),
            partition: None,
            namespaces: BTreeMap::new(),
            qnetd: options.qdevice.as_ref().map(|qdevice| QnetdState {
                netns: format!("{prefix}qnetd"),
                options: qdevice.clone(),
                holder_pid: None,
                qnetd_pid: None,
                down: false,
                cut: BTreeSet::new(),
            }),
        },
    };
    // Record every namespace before creating any.
    let mut all_namespaces = vec![lab.state.switch_netns.clone()];
    all_namespaces.extend(lab.state.nodes.iter().map(|node| node.netns.clone()));
    all_namespaces.extend(lab.state.qnetd.as_ref().map(|qnetd| qnetd.netns.clone()));
    for netns in &all_namespaces {
        lab.state.namespaces.insert(netns.clone(), None);
    }
    lab.save()?;

    let spare_note = if spare.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = spare.iter().map(|node| node.name.as_str()).collect();
        format!(" and {} spare ({})", spare.len(), names.join(", "))
    };
    progress(&format!(
        "lab `{name}`: {} nodes{spare_note}, links {:?}, in {}",
        layout.nodes.len(),
        layout.links,
        dir.display()
    ));
    write_files(&lab, layout, start)?;
    progress(if start {
        "wrote corosync.conf, authkey, ssh keys and inventory"
    } else {
        "wrote ssh keys and inventory; the cluster's corosync.conf only in the lab directory (--no-start)"
    });

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
            if let Some(spare_address) = node.spare_addresses.get(link) {
                let cidr = format!("{spare_address}/24");
                sys::run("ip", &["-n", &node.netns, "addr", "add", &cidr, "dev", &inside])?;
            }
            sys::run("ip", &["-n", &node.netns, "link", "set", &inside, "up"])?;
        }
    }
    lab.build_qnetd_network()?;
    progress("created namespaces, bridges and veths");

    for index in 0..lab.state.nodes.len() {
        lab.start_holder(index)?;
    }
    for index in 0..lab.state.nodes.len() {
        lab.wait_holder(index)?;
    }
    progress("node mount namespaces and hostnames ready");
    if lab.has_qnetd() {
        lab.start_qnetd_holder()?;
        let (document, _) = model::syntax::parse(&layout.config);
        let (parsed, _) = model::config::Config::from_document(&document);
        let cluster_name = parsed
            .totem
            .cluster_name
            .map(|setting| setting.value)
            .unwrap_or_else(|| name.to_string());
        if lab.qdevice_later() {
            lab.make_qnetd_ca()?;
            lab.start_qnetd()?;
            lab.start_qnetd_sshd()?;
            progress(&format!(
                "qnetd host {} runs corosync-qnetd and sshd; no node has a quorum device yet (--qdevice-later)",
                super::qnetd::qnetd_address()
            ));
        } else {
            lab.make_qdevice_certificates(&cluster_name)?;
            lab.start_qnetd()?;
            progress(&format!(
                "qnetd host {} runs corosync-qnetd; certificates made for cluster `{cluster_name}`",
                super::qnetd::qnetd_address()
            ));
        }
    }
    for index in 0..lab.state.nodes.len() {
        lab.start_sshd(index)?;
    }
    if start {
        for index in 0..lab.state.nodes.len() {
            if !lab.state.nodes[index].spare {
                lab.start_corosync(index)?;
            }
        }
        progress(if spare.is_empty() {
            "started sshd and corosync on every node"
        } else {
            "started sshd on every node, corosync on every cluster node"
        });
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
        if lab.has_qnetd() && !lab.qdevice_later() {
            // Once the membership formed, as `pvecm qdevice setup` starts them: qdevices
            // started with the cluster would connect from one-node rings, and lms/2nodelms
            // would then keep a newcomer's NACK (spec 2.9) until its next membership change.
            for index in 0..lab.state.nodes.len() {
                if !lab.state.nodes[index].spare {
                    lab.start_qdevice(index)?;
                }
            }
            progress("started corosync-qdevice on every cluster node");
        }
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

/// Writes the per-node directories, the config, the ssh keys and configs and the inventory;
/// with `start`, also each cluster node's corosync.conf and the authkey (spare nodes get
/// neither).
fn write_files(lab: &Lab, layout: &Layout, start: bool) -> Result<()> {
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
        for sub in [
            "etc-corosync",
            "var-lib-corosync",
            "var-log-corosync",
            "ssh",
            "sbin",
            "var-lib-quorate",
        ] {
            create_dir(&node_dir.join(sub))?;
        }
        write_file(&node_dir.join("sbin").join("systemctl"), SYSTEMCTL_SHIM, 0o755)?;
        if start && !node.spare {
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
        }
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
    if lab.qdevice_later() {
        // The qnetd host: an sshd a plan's qnetd-side commands reach, as the nodes'.
        let qnetd_ssh = super::qnetd::qnetd_dir(dir).join("ssh");
        create_dir(&qnetd_ssh)?;
        let host_key = qnetd_ssh.join("ssh_host_ed25519_key");
        keygen(&host_key, "qnetd")?;
        let host_public = read(&host_key.with_extension("pub"))?;
        let address = super::qnetd::qnetd_address();
        let key_fields: Vec<&str> = host_public.split_whitespace().take(2).collect();
        known_hosts.push_str(&format!("{address} {}\n", key_fields.join(" ")));
        write_file(&qnetd_ssh.join("authorized_keys"), &client_public, 0o600)?;
        write_file(&qnetd_ssh.join("sshd_config"), &sshd_config(&address), 0o644)?;
        if let Some(qnetd) = &lab.state.qnetd {
            ssh_config.push_str(&format!(
                "Host {address}\n  ProxyCommand {} netns exec {} {} -c 'exec 3<>/dev/tcp/%h/%p; cat <&3 & exec cat >&3'\n",
                ip.display(),
                qnetd.netns,
                bash.display()
            ));
        }
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
    node.main_address().ok_or_else(|| Error::NoAddress {
        node: node.name.clone(),
    })
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

impl Lab {
    /// Creates network namespace `netns` and records its inode.
    pub(crate) fn add_netns(&mut self, netns: &str) -> Result<()> {
        sys::run("ip", &["netns", "add", netns])?;
        let inode = sys::namespace_inode(&sys::netns_path(netns));
        self.state.namespaces.insert(netns.to_string(), inode);
        self.save()
    }

    fn start_holder(&mut self, index: usize) -> Result<()> {
        let node = &self.state.nodes[index];
        let node_dir = node.dir(&self.dir);
        let mounts: Vec<PathBuf> = ["etc-corosync", "var-lib-corosync", "var-log-corosync", "ssh"]
            .iter()
            .map(|sub| node_dir.join(sub))
            .collect();
        let argv = holder_argv(&node.netns, &mounts, &node.name, &node_dir);
        let pid = sys::spawn_daemon(&argv, &node_dir.join("holder.log"))?;
        self.state.nodes[index].holder_pid = Some(pid);
        self.save()
    }

    fn wait_holder(&self, index: usize) -> Result<()> {
        let node = &self.state.nodes[index];
        let pid = node.holder_pid.ok_or_else(|| Error::Lab {
            dir: self.dir.clone(),
            message: format!("node {} has no holder", node.name),
        })?;
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

    pub(crate) fn start_sshd(&mut self, index: usize) -> Result<()> {
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

    /// Starts corosync on the node at `index`; refuses a node without /etc/corosync/corosync.conf
    /// (a spare node, or any node of a `--no-start` lab until something writes one), where
    /// corosync would only exit.
    pub(crate) fn start_corosync(&mut self, index: usize) -> Result<()> {
        let holder = self.holder(index)?;
        let node = &self.state.nodes[index];
        if !node
            .dir(&self.dir)
            .join("etc-corosync")
            .join("corosync.conf")
            .exists()
        {
            let kind = if node.spare {
                "a spare node"
            } else {
                "the lab was made with --no-start"
            };
            return Err(Error::Lab {
                dir: self.dir.clone(),
                message: format!(
                    "node {}: no /etc/corosync/corosync.conf ({kind}); write one into the node \
                     first (the lab's cluster config is {})",
                    node.name,
                    self.dir.join("corosync.conf").display()
                ),
            });
        }
        let corosync = sys::which("corosync").map_or("corosync".into(), |p| p.to_string_lossy().into_owned());
        let argv = sys::node_argv(holder, &[&corosync, "-f"]);
        let log = self.state.nodes[index].dir(&self.dir).join("corosync.stderr");
        let pid = sys::spawn_daemon(&argv, &log)?;
        self.state.nodes[index].corosync_pid = Some(pid);
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_listens_on_the_node_address_only() {
        let config = sshd_config(&std::net::Ipv4Addr::new(198, 18, 0, 2));
        assert!(config.contains("\nListenAddress 198.18.0.2\n"));
        assert!(config.contains("\nPasswordAuthentication no\n"));
        assert!(config.contains("\nHostKey /etc/ssh/ssh_host_ed25519_key\n"));
    }
}
