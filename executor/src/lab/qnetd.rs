//! The lab's quorum device: a real corosync-qnetd host and corosync-qdevice on every node.
//!
//! Owns `QdeviceOptions` (`lab up --qdevice ALG [--tie-breaker T] [--heuristics]`), the
//! `quorum.device` section the lab writes into the cluster's config, the qnetd host (its
//! namespace `qlab-<lab>-qnetd`, its own bridge `qlb-q` in the switch namespace with one veth
//! per node, addresses `198.19.0.<slot>` and `198.19.0.254`, so reaching qnetd fails
//! independently of every cluster link), the TLS certificates made as `pvecm qdevice setup`
//! makes them (`corosync-qnetd-certutil -i`, `corosync-qdevice-net-certutil -i/-r/-M/-m`,
//! `corosync-qnetd-certutil -s`), the qnetd process and each node's qdevice (a supervising
//! shell loop that starts `corosync-qdevice` again whenever it exits, as systemd's
//! `Restart=` would when corosync comes back), and the faults on them (`qnetd down|up`,
//! `qnetd cut|reach`, heuristics fail|pass). Every namespace is recorded in `lab.json`
//! before it is made and every process runs inside a lab namespace, so `lab down` removes
//! them by name and inode, also after a failure. It must not decide anything about votes
//! (the model does).

use super::provision::holder_argv;
use super::state::{write_atomically, QnetdState};
use super::{create_dir, log_tail, sys, Lab};
use crate::error::{Error, Result};
use model::quorum::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The bridge of the qnetd network, in the switch namespace.
pub const QNETD_BRIDGE: &str = "qlb-q";
/// The file whose presence makes a node's heuristics fail (in the node's private /run).
pub const HEURISTICS_FAIL_FILE: &str = "/run/quorate-heuristics-fail";
/// `quorum.device.timeout` the lab writes (ms): short, so losing qnetd shows within seconds.
pub const DEVICE_TIMEOUT_MS: u64 = 3000;

/// The qnetd host's address.
pub fn qnetd_address() -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, 254)
}

/// A node's address on the qnetd network.
pub fn node_qnetd_address(slot: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, slot)
}

/// A node's veth end on the qnetd bridge, in the switch namespace.
pub fn qnetd_port(slot: u8) -> String {
    format!("n{slot}q")
}

/// `lab up --qdevice`: the quorum device the lab runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QdeviceOptions {
    /// `ffsplit`, `lms` or `2nodelms`.
    pub algorithm: String,
    /// `quorum.device.net.tie_breaker` (`lowest`, `highest`, a node id), if given.
    pub tie_breaker: Option<String>,
    /// Configure heuristics (`mode: on`, one `exec_` command that fails while
    /// `HEURISTICS_FAIL_FILE` exists in the node; the shortest interval and timeouts
    /// corosync-qdevice accepts, 2000 and 1000 ms).
    pub heuristics: bool,
    /// `lab up --qdevice ALG --qdevice-later`: the qnetd host runs corosync-qnetd with its CA
    /// (`corosync-qnetd-certutil -i`) and an sshd, listed as the inventory's `[qnetd]`, but
    /// the nodes get no `quorum.device`, no certificate and no corosync-qdevice: what a plan
    /// that adds the device does (`quorate plan --goal 'add-qdevice 198.19.0.254'`).
    #[serde(default)]
    pub later: bool,
}

impl QdeviceOptions {
    /// Checks the algorithm and tie-breaker as corosync-qdevice would.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.algorithm.as_str(), "ffsplit" | "lms" | "2nodelms") {
            return Err(Error::Lab {
                dir: PathBuf::new(),
                message: format!(
                    "--qdevice must be ffsplit, lms or 2nodelms, not `{}`",
                    self.algorithm
                ),
            });
        }
        if let Some(tie_breaker) = &self.tie_breaker {
            let valid = tie_breaker == "lowest"
                || tie_breaker == "highest"
                || tie_breaker.parse::<u32>().is_ok_and(|nodeid| nodeid > 0);
            if !valid {
                return Err(Error::Lab {
                    dir: PathBuf::new(),
                    message: format!(
                        "--tie-breaker must be lowest, highest or a node id, not `{tie_breaker}`"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The `device { ... }` section (inside `quorum`), as `pvecm qdevice setup` writes it:
    /// ffsplit and 2nodelms with `votes: 1`, lms with the votes left to votequorum (N − 1).
    pub fn device_section(&self) -> String {
        let mut text = String::from("    device {\n        model: net\n");
        if self.algorithm != "lms" {
            text.push_str("        votes: 1\n");
        }
        text.push_str(&format!("        timeout: {DEVICE_TIMEOUT_MS}\n"));
        text.push_str(&format!(
            "        net {{\n            tls: on\n            host: {}\n            algorithm: {}\n",
            qnetd_address(),
            self.algorithm
        ));
        if let Some(tie_breaker) = &self.tie_breaker {
            text.push_str(&format!("            tie_breaker: {tie_breaker}\n"));
        }
        text.push_str("        }\n");
        if self.heuristics {
            text.push_str(&format!(
                "        heuristics {{\n            mode: on\n            interval: 2000\n            \
                 timeout: 1000\n            sync_timeout: 1000\n            exec_check: /usr/bin/test ! -e {HEURISTICS_FAIL_FILE}\n        }}\n"
            ));
        }
        text.push_str("    }\n");
        text
    }

    /// `config` with the device section added at the top of its `quorum` section. A config
    /// that has a `device` section already is refused (the lab would run a second one).
    pub fn add_to(&self, config: &str) -> std::result::Result<String, String> {
        let (document, _) = model::syntax::parse(config);
        let (parsed, _) = model::config::Config::from_document(&document);
        if parsed.quorum.device.is_some() {
            return Err(
                "the configuration has a quorum.device section already; remove it to use \
                        --qdevice (the lab writes its own)"
                    .into(),
            );
        }
        let mut out = String::new();
        let mut added = false;
        for line in config.split_inclusive('\n') {
            out.push_str(line);
            let words: String = line.split('#').next().unwrap_or("").split_whitespace().collect();
            if !added && words == "quorum{" {
                out.push_str(&self.device_section());
                added = true;
            }
        }
        if added {
            Ok(out)
        } else {
            Err("the configuration has no `quorum {` line to add the device to".into())
        }
    }
}

/// The qnetd host's directory inside the lab directory.
pub fn qnetd_dir(lab_dir: &Path) -> PathBuf {
    lab_dir.join("qnetd")
}

impl Lab {
    /// Whether this lab runs a quorum device.
    pub fn has_qnetd(&self) -> bool {
        self.state.qnetd.is_some()
    }

    fn qnetd_state(&self) -> Result<&QnetdState> {
        self.state.qnetd.as_ref().ok_or_else(|| Error::Lab {
            dir: self.dir.clone(),
            message: "this lab runs no quorum device; make it with `lab up --qdevice ALG`".into(),
        })
    }

    /// Creates the qnetd namespace, its bridge and one veth per cluster node (the namespace
    /// is recorded in `lab.json` first).
    pub(crate) fn build_qnetd_network(&mut self) -> Result<()> {
        let Some(netns) = self.state.qnetd.as_ref().map(|qnetd| qnetd.netns.clone()) else {
            return Ok(());
        };
        let switch = self.state.switch_netns.clone();
        self.add_netns(&netns)?;
        sys::run("ip", &["-n", &netns, "link", "set", "lo", "up"])?;
        sys::run(
            "ip",
            &["-n", &switch, "link", "add", QNETD_BRIDGE, "type", "bridge"],
        )?;
        sys::run("ip", &["-n", &switch, "link", "set", QNETD_BRIDGE, "up"])?;
        let host_cidr = format!("{}/24", qnetd_address());
        sys::run(
            "ip",
            &[
                "-n", &switch, "link", "add", "qq", "type", "veth", "peer", "name", "q0", "netns", &netns,
            ],
        )?;
        sys::run(
            "ip",
            &["-n", &switch, "link", "set", "qq", "master", QNETD_BRIDGE, "up"],
        )?;
        sys::run("ip", &["-n", &netns, "addr", "add", &host_cidr, "dev", "q0"])?;
        sys::run("ip", &["-n", &netns, "link", "set", "q0", "up"])?;
        for node in self.state.nodes.clone().iter().filter(|node| !node.spare) {
            let port = qnetd_port(node.slot);
            let cidr = format!("{}/24", node_qnetd_address(node.slot));
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
                    "q",
                    "netns",
                    &node.netns,
                ],
            )?;
            sys::run(
                "ip",
                &["-n", &switch, "link", "set", &port, "master", QNETD_BRIDGE, "up"],
            )?;
            sys::run("ip", &["-n", &node.netns, "addr", "add", &cidr, "dev", "q"])?;
            sys::run("ip", &["-n", &node.netns, "link", "set", "q", "up"])?;
        }
        Ok(())
    }

    /// Starts the qnetd host's holder (private /etc/corosync, /run) and waits for it.
    pub(crate) fn start_qnetd_holder(&mut self) -> Result<()> {
        let Some(netns) = self.state.qnetd.as_ref().map(|qnetd| qnetd.netns.clone()) else {
            return Ok(());
        };
        let dir = qnetd_dir(&self.dir);
        let subs = ["etc-corosync", "var-lib-corosync", "var-log-corosync", "ssh"];
        for sub in subs.iter().chain(&["sbin", "var-lib-quorate"]) {
            create_dir(&dir.join(sub))?;
        }
        let mounts: Vec<PathBuf> = subs.iter().map(|sub| dir.join(sub)).collect();
        // After the hostname come a node's sbin and var-lib-quorate: empty directories here,
        // the qnetd host runs no systemctl shim and no apply.
        let argv = holder_argv(&netns, &mounts, "qnetd", &dir);
        let pid = sys::spawn_daemon(&argv, &dir.join("holder.log"))?;
        if let Some(qnetd) = self.state.qnetd.as_mut() {
            qnetd.holder_pid = Some(pid);
        }
        self.save()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while sys::comm(pid).as_deref() != Some("sleep") {
            if !sys::alive(pid) || Instant::now() > deadline {
                return Err(self.qnetd_error(format!(
                    "setting up its namespaces failed: {}",
                    log_tail(&dir.join("holder.log"))
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    fn qnetd_error(&self, message: String) -> Error {
        Error::Lab {
            dir: self.dir.clone(),
            message: format!("qnetd host: {message}"),
        }
    }

    fn qnetd_holder(&self) -> Result<u32> {
        match self.qnetd_state()?.holder_pid {
            Some(pid) if sys::alive(pid) => Ok(pid),
            _ => Err(self.qnetd_error("its namespace holder is gone; run `quorate lab down`".into())),
        }
    }

    /// Runs `command` inside the qnetd host; fails with its output when it fails.
    fn in_qnetd(&self, command: &[&str]) -> Result<String> {
        let argv = sys::node_argv(self.qnetd_holder()?, command);
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        sys::run(words[0], &words[1..])
    }

    /// Runs `command` inside the node at `index`; fails with its output when it fails.
    fn in_node(&self, index: usize, command: &[&str]) -> Result<String> {
        let argv = sys::node_argv(self.holder(index)?, command);
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        sys::run(words[0], &words[1..])
    }

    /// The certificates, as `pvecm qdevice setup` makes them: the qnetd CA and server
    /// certificate, every node's NSS database with the CA, one node's request signed by the
    /// qnetd CA for the cluster name, and that client certificate imported on every node.
    pub(crate) fn make_qdevice_certificates(&self, cluster_name: &str) -> Result<()> {
        // Files travel through each host's /etc/corosync (bound from the lab directory): the
        // lab directory itself is hidden by the hosts' private /run.
        self.in_qnetd(&["corosync-qnetd-certutil", "-i"])?;
        let qnetd_etc = qnetd_dir(&self.dir).join("etc-corosync");
        let qnetd_db = qnetd_etc.join("qnetd/nssdb");
        let copy = |from: &Path, to: &Path| -> Result<()> {
            std::fs::copy(from, to)
                .map(|_| ())
                .map_err(|error| Error::io(from, error))
        };
        let node_etc = |index: usize| self.state.nodes[index].dir(&self.dir).join("etc-corosync");
        let cluster: Vec<usize> = (0..self.state.nodes.len())
            .filter(|index| !self.state.nodes[*index].spare)
            .collect();
        for index in &cluster {
            copy(
                &qnetd_db.join("qnetd-cacert.crt"),
                &node_etc(*index).join("qnetd-cacert.crt"),
            )?;
            self.in_node(
                *index,
                &[
                    "corosync-qdevice-net-certutil",
                    "-i",
                    "-c",
                    "/etc/corosync/qnetd-cacert.crt",
                ],
            )?;
        }
        let Some(first) = cluster.first().copied() else {
            return Ok(());
        };
        let first_db = node_etc(first).join("qdevice/net/nssdb");
        self.in_node(
            first,
            &["corosync-qdevice-net-certutil", "-r", "-n", cluster_name],
        )?;
        copy(
            &first_db.join("qdevice-net-node.crq"),
            &qnetd_etc.join("qdevice-net-node.crq"),
        )?;
        self.in_qnetd(&[
            "corosync-qnetd-certutil",
            "-s",
            "-c",
            "/etc/corosync/qdevice-net-node.crq",
            "-n",
            cluster_name,
        ])?;
        copy(
            &qnetd_db.join(format!("cluster-{cluster_name}.crt")),
            &node_etc(first).join("cluster.crt"),
        )?;
        self.in_node(
            first,
            &[
                "corosync-qdevice-net-certutil",
                "-M",
                "-c",
                "/etc/corosync/cluster.crt",
            ],
        )?;
        for index in cluster.iter().skip(1) {
            copy(
                &first_db.join("qdevice-net-node.p12"),
                &node_etc(*index).join("qdevice-net-node.p12"),
            )?;
            self.in_node(
                *index,
                &[
                    "corosync-qdevice-net-certutil",
                    "-m",
                    "-c",
                    "/etc/corosync/qdevice-net-node.p12",
                ],
            )?;
        }
        Ok(())
    }

    /// The qnetd CA and server certificate only (`corosync-qnetd-certutil -i`): a
    /// `--qdevice-later` lab, whose nodes get their certificates from a plan.
    pub(crate) fn make_qnetd_ca(&self) -> Result<()> {
        self.in_qnetd(&["corosync-qnetd-certutil", "-i"]).map(|_| ())
    }

    /// Starts sshd in the qnetd host (`--qdevice-later`: a plan runs commands there) and
    /// waits until it listens.
    pub(crate) fn start_qnetd_sshd(&mut self) -> Result<()> {
        let holder = self.qnetd_holder()?;
        let sshd = sys::which("sshd").map_or("/usr/sbin/sshd".into(), |p| p.to_string_lossy().into_owned());
        let argv = sys::node_argv(holder, &[&sshd, "-D", "-e", "-f", "/etc/ssh/sshd_config"]);
        let log = qnetd_dir(&self.dir).join("sshd.log");
        let pid = sys::spawn_daemon(&argv, &log)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Server listening")
            {
                return Ok(());
            }
            if !sys::alive(pid) || Instant::now() > deadline {
                return Err(self.qnetd_error(format!("sshd did not start: {}", log_tail(&log))));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts corosync-qnetd in the qnetd host (foreground, debug log, dead peers detected
    /// every second) and waits until it listens.
    pub(crate) fn start_qnetd(&mut self) -> Result<()> {
        let holder = self.qnetd_holder()?;
        let qnetd = sys::which("corosync-qnetd")
            .map_or("corosync-qnetd".into(), |p| p.to_string_lossy().into_owned());
        let address = qnetd_address().to_string();
        let argv = sys::node_argv(
            holder,
            &[&qnetd, "-f", "-d", "-l", &address, "-S", "dpd_interval=1000"],
        );
        let log = qnetd_dir(&self.dir).join("qnetd.log");
        let pid = sys::spawn_daemon(&argv, &log)?;
        if let Some(state) = self.state.qnetd.as_mut() {
            state.qnetd_pid = Some(pid);
            state.down = false;
        }
        self.save()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.in_qnetd(&["corosync-qnetd-tool", "-s"]).is_ok() {
                return Ok(());
            }
            if !sys::alive(pid) || Instant::now() > deadline {
                return Err(self.qnetd_error(format!("corosync-qnetd did not start: {}", log_tail(&log))));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the qdevice supervisor of the node at `index`: `corosync-qdevice -f -d`, started
    /// again a second after it exits (it exits when its corosync goes away).
    pub(crate) fn start_qdevice(&mut self, index: usize) -> Result<()> {
        let holder = self.holder(index)?;
        let qdevice = sys::which("corosync-qdevice")
            .map_or("corosync-qdevice".into(), |p| p.to_string_lossy().into_owned());
        let script = format!("while true; do {qdevice} -f -d; sleep 1; done");
        let argv = sys::node_argv(holder, &["sh", "-c", &script]);
        let log = self.state.nodes[index].dir(&self.dir).join("qdevice.log");
        let pid = sys::spawn_daemon(&argv, &log)?;
        self.state.nodes[index].qdevice_pid = Some(pid);
        self.save()
    }

    /// `lab qnetd down`: stops corosync-qnetd (SIGTERM; its clients see the connection close).
    pub fn qnetd_down(&mut self) -> Result<()> {
        let pid = self.qnetd_state()?.qnetd_pid;
        if let Some(pid) = pid.filter(|pid| sys::alive(*pid)) {
            sys::kill(&[pid], "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while sys::alive(pid) {
                if Instant::now() > deadline {
                    sys::kill(&[pid], "KILL");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(state) = self.state.qnetd.as_mut() {
            state.qnetd_pid = None;
            state.down = true;
        }
        self.save()
    }

    /// `lab qnetd up`: starts corosync-qnetd again (nothing when it runs).
    pub fn qnetd_up(&mut self) -> Result<()> {
        let running = self.qnetd_state()?.qnetd_pid.is_some_and(sys::alive);
        if running {
            return Ok(());
        }
        self.start_qnetd()
    }

    /// `lab qnetd cut|reach NODES`: sets the nodes' veths on the qnetd bridge down or up
    /// (their cluster links stay as they are).
    pub fn qnetd_reach(&mut self, nodes: &[NodeId], reach: bool) -> Result<()> {
        self.qnetd_state()?;
        for nodeid in nodes {
            let index = self.index_of(*nodeid)?;
            let node = self.state.nodes[index].clone();
            sys::run(
                "ip",
                &[
                    "-n",
                    &self.state.switch_netns,
                    "link",
                    "set",
                    &qnetd_port(node.slot),
                    if reach { "up" } else { "down" },
                ],
            )?;
            if let Some(state) = self.state.qnetd.as_mut() {
                if reach {
                    state.cut.remove(&node.name);
                } else {
                    state.cut.insert(node.name.clone());
                }
            }
        }
        self.save()
    }

    /// Every node reaches qnetd again (part of `heal`); nothing on a lab without qnetd.
    pub(crate) fn qnetd_heal(&mut self) -> Result<()> {
        let Some(state) = self.state.qnetd.as_ref() else {
            return Ok(());
        };
        let cut: Vec<NodeId> = self
            .state
            .nodes
            .iter()
            .filter(|node| state.cut.contains(&node.name))
            .map(|node| node.nodeid)
            .collect();
        self.qnetd_reach(&cut, true)
    }

    /// `heuristics fail|pass NODES`: creates or removes `HEURISTICS_FAIL_FILE` in the nodes.
    pub fn set_heuristics(&mut self, nodes: &[NodeId], pass: bool) -> Result<()> {
        self.qnetd_state()?;
        for nodeid in nodes {
            let index = self.index_of(*nodeid)?;
            if pass {
                self.in_node(index, &["rm", "-f", HEURISTICS_FAIL_FILE])?;
            } else {
                self.in_node(index, &["touch", HEURISTICS_FAIL_FILE])?;
            }
        }
        Ok(())
    }

    /// `corosync-qdevice-tool -s` of every cluster node, and `corosync-qnetd-tool -l -v` of
    /// the qnetd host: (name, output or the failure).
    pub fn qdevice_status(&self) -> Result<Vec<(String, String)>> {
        self.qnetd_state()?;
        let mut out = Vec::new();
        for (index, node) in self
            .state
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| !node.spare)
        {
            let text = self
                .in_node(index, &["corosync-qdevice-tool", "-s"])
                .unwrap_or_else(|error| format!("corosync-qdevice-tool -s failed: {error}"));
            out.push((node.name.clone(), text));
        }
        let qnetd = self
            .in_qnetd(&["corosync-qnetd-tool", "-l", "-v"])
            .unwrap_or_else(|error| format!("corosync-qnetd-tool -l failed: {error}"));
        out.push(("qnetd".into(), qnetd));
        Ok(out)
    }

    /// Polls the nodes until each shows `want` (node id -> `Some((quorate, total votes))`
    /// while running, `None` when down) and no reading changed for `quiet`, or `limit`
    /// passes. Returns whether it matched, and how long it took.
    pub fn wait_quorum_readings(
        &self,
        want: &BTreeMap<NodeId, Option<(bool, u32)>>,
        quiet: Duration,
        limit: Duration,
    ) -> (bool, Duration) {
        let started = Instant::now();
        let mut previous: Option<Vec<Option<(bool, u32)>>> = None;
        let mut stable_since = Instant::now();
        loop {
            let readings: Vec<(NodeId, Option<(bool, u32)>)> = self
                .read_nsenter()
                .iter()
                .map(|report| {
                    (
                        report.nodeid,
                        report
                            .corosync
                            .quorum()
                            .map(|quorum| (quorum.quorate, quorum.total_votes)),
                    )
                })
                .collect();
            let values: Vec<Option<(bool, u32)>> = readings.iter().map(|(_, value)| *value).collect();
            if previous.as_ref() != Some(&values) {
                previous = Some(values);
                stable_since = Instant::now();
            }
            let matches = readings
                .iter()
                .all(|(nodeid, value)| want.get(nodeid).is_none_or(|wanted| wanted == value));
            if matches && stable_since.elapsed() >= quiet {
                return (true, started.elapsed());
            }
            if started.elapsed() > limit {
                return (false, started.elapsed());
            }
            std::thread::sleep(super::observe::POLL_INTERVAL);
        }
    }

    /// The qnetd log (its decisions), for evidence.
    pub fn qnetd_log(&self) -> String {
        std::fs::read_to_string(qnetd_dir(&self.dir).join("qnetd.log")).unwrap_or_default()
    }

    /// Writes `text` into the qnetd host's directory (for tests that keep evidence).
    pub fn write_qnetd_file(&self, name: &str, text: &str) -> Result<()> {
        write_atomically(&qnetd_dir(&self.dir).join(name), text.as_bytes(), 0o644)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(algorithm: &str, tie_breaker: Option<&str>, heuristics: bool) -> QdeviceOptions {
        QdeviceOptions {
            algorithm: algorithm.into(),
            tie_breaker: tie_breaker.map(str::to_string),
            heuristics,
            later: false,
        }
    }

    #[test]
    fn the_device_section_is_what_pvecm_writes_plus_the_lab_timeout() {
        let config = "totem {\n  version: 2\n}\nquorum {\n  provider: corosync_votequorum\n}\n";
        let added = options("ffsplit", Some("2"), true).add_to(config).unwrap();
        assert!(added.contains("quorum {\n    device {\n        model: net\n        votes: 1\n"));
        assert!(added.contains("            host: 198.19.0.254\n            algorithm: ffsplit\n"));
        assert!(added.contains("tie_breaker: 2\n"));
        assert!(added.contains("exec_check: /usr/bin/test ! -e /run/quorate-heuristics-fail\n"));
        let (document, diagnostics) = model::syntax::parse(&added);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (parsed, _) = model::config::Config::from_document(&document);
        let settings = parsed.quorum_settings();
        let device = settings.device.unwrap();
        assert_eq!(device.votes, Some(1));
        assert!(device.heuristics);
        let lms = options("lms", None, false).add_to(config).unwrap();
        assert!(!lms.contains("votes"));
        assert!(options("lms", None, false).add_to(&added).is_err());
        assert!(options("ffsplit", None, false).add_to("totem {\n}\n").is_err());
    }

    #[test]
    fn options_are_checked_as_qdevice_would() {
        assert!(options("ffsplit", None, false).validate().is_ok());
        assert!(options("2nodelms", Some("highest"), false).validate().is_ok());
        assert!(options("test", None, false).validate().is_err());
        assert!(options("lms", Some("0"), false).validate().is_err());
    }
}
