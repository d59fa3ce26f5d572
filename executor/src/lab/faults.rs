//! The lab's network faults: partitions and link state.
//!
//! Owns `Lab::partition`, `set_link`, `heal`, the iptables rules that enforce a partition
//! (`apply_partition`), `set_port`, the one place that sets a node's veth on a link's bridge
//! up or down, and `set_blackhole`, the route that cuts one link between two nodes only. Each
//! change is recorded in `lab.json` with the state it creates. Also `kill_sshd` and
//! `restart_sshd`: a node that cannot be reached over SSH while its corosync runs on. It
//! must not decide who should see whom (`topology` asks the model) nor wait by itself
//! (`observe` does), except for sshd to listen again.

use super::topology;
use super::{sys, Lab};
use crate::error::{Error, Result};
use crate::status::NodeReport;
use model::quorum::NodeId;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

impl Lab {
    /// Applies the iptables rules of the current partition (none: all flushed) on every node.
    pub(crate) fn apply_partition(&self) -> Result<()> {
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
                .flat_map(|other| other.addresses.values().chain(other.spare_addresses.values()))
                .map(ToString::to_string)
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

    /// (name, node id) of every lab node, in lab order.
    fn names_and_ids(&self) -> Vec<(String, NodeId)> {
        self.state
            .nodes
            .iter()
            .map(|node| (node.name.clone(), node.nodeid))
            .collect()
    }

    /// Records partition `groups` (node names; `None`: no partition), enforces it, and says
    /// whether anything changed.
    pub(crate) fn set_partition(&mut self, groups: Option<Vec<Vec<String>>>) -> Result<()> {
        self.state.partition = groups;
        self.save()?;
        self.apply_partition()
    }

    /// Splits the cluster: nodes in different groups (node ids; every lab node in exactly
    /// one group) cannot talk on any link. Waits for the memberships unless `wait` is false.
    pub fn partition(&mut self, groups: &[Vec<NodeId>], wait: bool) -> Result<Vec<NodeReport>> {
        let named = topology::check_partition(groups, &self.names_and_ids(), None)?;
        self.set_partition(Some(named))?;
        self.settle(wait)
    }

    /// Parses a `lab partition` spec (`1,2|3`, node ids or names) into groups of node ids.
    pub fn parse_partition(&self, spec: &str) -> Result<Vec<Vec<NodeId>>> {
        topology::parse_partition(spec, &self.names_and_ids())
    }

    /// Sets node `index`'s veth on `link`'s bridge up or down, and records it. The lab's one
    /// `ip link set`.
    pub(crate) fn set_port(&mut self, index: usize, link: u8, up: bool) -> Result<()> {
        let node = &self.state.nodes[index];
        let port = node.switch_port(link);
        sys::run(
            "ip",
            &[
                "-n",
                &self.state.switch_netns,
                "link",
                "set",
                &port,
                if up { "up" } else { "down" },
            ],
        )?;
        let node = &mut self.state.nodes[index];
        if up {
            node.links_down.remove(&link);
        } else {
            node.links_down.insert(link);
        }
        self.save()
    }

    /// Adds (or removes) a blackhole route in node `index` to `peer_index`'s address on
    /// `link`: the node's traffic to that peer on that link only is dropped. Returns false
    /// when either node has no address on the link (nothing to block).
    pub(crate) fn set_blackhole(&self, index: usize, peer_index: usize, link: u8, add: bool) -> Result<bool> {
        let node = &self.state.nodes[index];
        let peer = &self.state.nodes[peer_index];
        let (Some(peer_address), true) = (peer.addresses.get(&link), node.addresses.contains_key(&link))
        else {
            return Ok(false);
        };
        let target = format!("{peer_address}/32");
        sys::run(
            "ip",
            &[
                "-n",
                &node.netns,
                "route",
                if add { "add" } else { "del" },
                "blackhole",
                &target,
            ],
        )?;
        Ok(true)
    }

    /// Cuts (`up == false`) or restores link `link` for `nodes` (node ids; all nodes on the
    /// link when empty), by setting the node's veth on that link's bridge down or up.
    pub fn set_link(&mut self, link: u8, nodes: &[NodeId], up: bool, wait: bool) -> Result<Vec<NodeReport>> {
        if !self.state.links.contains(&link) {
            return Err(Error::UnknownLink {
                link,
                links: self.state.links.clone(),
            });
        }
        let indexes: Vec<usize> = if nodes.is_empty() {
            (0..self.state.nodes.len())
                .filter(|index| self.state.nodes[*index].addresses.contains_key(&link))
                .collect()
        } else {
            let mut indexes = Vec::new();
            for nodeid in nodes {
                let index = self.index_of(*nodeid)?;
                if !self.state.nodes[index].addresses.contains_key(&link) {
                    return Err(Error::NotOnLink {
                        node: self.state.nodes[index].name.clone(),
                        link,
                    });
                }
                indexes.push(index);
            }
            indexes
        };
        for index in indexes {
            self.set_port(index, link, up)?;
        }
        self.settle(wait)
    }

    /// Removes any partition and brings every link back up.
    pub fn heal(&mut self, wait: bool) -> Result<Vec<NodeReport>> {
        for index in 0..self.state.nodes.len() {
            let down: Vec<u8> = self.state.nodes[index].links_down.iter().copied().collect();
            for link in down {
                self.set_port(index, link, true)?;
            }
        }
        self.set_partition(None)?;
        self.qnetd_heal()?;
        self.settle(wait)
    }

    /// Kills sshd on node `nodeid`, the listening daemon and every connection's own sshd
    /// process (an OpenSSH ControlMaster connection outlives the listener: without these, a
    /// client with a master open could still run commands). Only processes named `sshd` in
    /// that node's network namespace are signalled, by pid. Returns how many were.
    pub fn kill_sshd(&mut self, nodeid: NodeId) -> Result<usize> {
        let index = self.index_of(nodeid)?;
        let netns = self.state.nodes[index].netns.clone();
        let inode = sys::namespace_inode(&sys::netns_path(&netns)).ok_or_else(|| Error::Lab {
            dir: self.dir.clone(),
            message: format!(
                "node {}: its network namespace {netns} is gone",
                self.state.nodes[index].name
            ),
        })?;
        let pids: Vec<u32> = sys::processes_in(&BTreeSet::from([inode]))
            .into_iter()
            .filter(|pid| sys::comm(*pid).as_deref() == Some("sshd"))
            .collect();
        sys::kill(&pids, "KILL");
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|pid| sys::alive(*pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.state.nodes[index].sshd_pid = None;
        self.save()?;
        Ok(pids.len())
    }

    /// Starts sshd on node `nodeid` again (after `kill_sshd`) and waits until it listens.
    pub fn restart_sshd(&mut self, nodeid: NodeId) -> Result<()> {
        let index = self.index_of(nodeid)?;
        if self.state.nodes[index].sshd_pid.is_some_and(sys::alive) {
            return Ok(());
        }
        let log = self.state.nodes[index].dir(&self.dir).join("sshd.log");
        let listening = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("Server listening")
                .count()
        };
        let before = listening();
        self.start_sshd(index)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while listening() == before {
            let running = self.state.nodes[index].sshd_pid.is_some_and(sys::alive);
            if !running || Instant::now() > deadline {
                return Err(Error::Lab {
                    dir: self.dir.clone(),
                    message: format!(
                        "node {}: sshd did not start again: {}",
                        self.state.nodes[index].name,
                        super::log_tail(&log)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}
