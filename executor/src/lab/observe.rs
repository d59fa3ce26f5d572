//! Reading the lab's nodes, and waiting for them.
//!
//! Owns `Lab::read_nsenter` / `read_ssh` / `status`, the wait limits derived from the
//! effective token and consensus, and the one wait-until-converged loop (`Lab::settle_on`):
//! poll every node through nsenter until every running node shows the membership
//! `topology` expects and no node's reading changed for a quiet period, or a limit passes.
//! `lab up`, `lab partition` and friends wait through it (`wait_converged`), and so does
//! `lab replay` with its own expectation and quiet period. It must not change the lab.

use super::state::NodeState;
use super::topology::{self, NodeLinks};
use super::{log_tail, sys, Lab, Via};
use crate::error::{Error, Result};
use crate::ssh;
use crate::status::{read_corosync, Corosync, NodeReport};
use model::quorum::membership::LinkFaults;
use model::quorum::{LinkMask, NodeId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often nodes are polled while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Slack on top of the timing-derived limits, for process start-up and slow machines.
const WAIT_SLACK: Duration = Duration::from_secs(10);

/// The membership each running node should show (ascending node ids), keyed by node id;
/// `None` when it cannot be predicted (partial mesh, or the model's prediction is unstable).
pub type Expected = Option<BTreeMap<NodeId, Vec<NodeId>>>;

/// What `Lab::settle_on` waits for.
#[derive(Clone, Debug)]
pub struct SettleSpec {
    /// The memberships to wait for.
    pub expected: Expected,
    /// How long no node's reading may change before it counts as settled (at least token +
    /// consensus when `expected` is `None`).
    pub quiet: Duration,
    /// When to give up.
    pub limit: Duration,
    /// Fail at once when a corosync the lab started exits on its own (`lab` commands), rather
    /// than report what the nodes show (`lab replay`, which compares whatever happens).
    pub fail_if_corosync_exits: bool,
}

/// What `Lab::settle_on` saw.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The last readings, in lab order.
    pub reports: Vec<NodeReport>,
    /// Whether the expectation held for the quiet period within the limit.
    pub settled: bool,
    /// How long it took (until settled or until the limit passed).
    pub elapsed: Duration,
}

impl Settled {
    /// The last readings, for messages: `n1 ring 1.4 members [1, 2] ...; n2 stopped`.
    pub fn last_seen(&self) -> String {
        self.reports
            .iter()
            .map(|report| format!("{} {}", report.name, signature(report)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What polling compares between two readings of one node.
fn signature(report: &NodeReport) -> String {
    match &report.corosync {
        Corosync::Running { quorum } => format!(
            "ring {} members {:?} quorate {} votes {} expected {} quorum {}",
            quorum.ring_id,
            quorum.member_ids(),
            quorum.quorate,
            quorum.total_votes,
            quorum.expected_votes,
            quorum.quorum
        ),
        Corosync::Stopped { .. } => "stopped".into(),
        _ => "unknown".into(),
    }
}

/// Whether every node shows what `expected` says: its membership when it is expected to
/// run, not running otherwise.
fn shows(expected: &BTreeMap<NodeId, Vec<NodeId>>, reports: &[NodeReport]) -> bool {
    reports.iter().all(
        |report| match (expected.get(&report.nodeid), report.corosync.quorum()) {
            (Some(want), Some(quorum)) => quorum.member_ids() == *want,
            (Some(_), None) => false,
            (None, _) => !matches!(report.corosync, Corosync::Running { .. }),
        },
    )
}

impl Lab {
    /// How long forming the whole cluster may take: start-up plus a few membership rounds.
    pub(crate) fn formation_limit(&self) -> Duration {
        WAIT_SLACK + Duration::from_millis(4 * self.state.timing.membership_change_ms())
    }

    /// How long a membership change may take to settle.
    pub(crate) fn change_limit(&self) -> Duration {
        WAIT_SLACK + Duration::from_millis(3 * self.state.timing.membership_change_ms())
    }

    /// Token + consensus of the lab's configuration.
    pub(crate) fn membership_change(&self) -> Duration {
        Duration::from_millis(self.state.timing.membership_change_ms())
    }

    /// Reads every node's corosync through `nsenter`.
    pub fn read_nsenter(&self) -> Vec<NodeReport> {
        (0..self.state.nodes.len())
            .map(|index| {
                let node = &self.state.nodes[index];
                let corosync = match self.node_at(index) {
                    Ok(remote) => read_corosync(&remote),
                    Err(error) => Corosync::Unknown {
                        error: error.to_string(),
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

    /// Reads every node's corosync over SSH with the lab inventory, all nodes at once.
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

    /// Every lab node as `topology` takes it, with its partition group from `group_of`.
    pub(crate) fn node_links(&self, group_of: impl Fn(&NodeState) -> u8) -> Vec<NodeLinks> {
        self.state
            .nodes
            .iter()
            .map(|node| NodeLinks {
                nodeid: node.nodeid,
                running: node.corosync_pid.is_some_and(sys::alive),
                links: node.addresses.keys().copied().collect(),
                group: group_of(node),
            })
            .collect()
    }

    /// The lab's own connectivity as `topology` takes it: which nodes run, their links and
    /// partition groups, and the links the lab has cut per node.
    fn connectivity(&self) -> (Vec<NodeLinks>, LinkFaults) {
        let nodes = self.node_links(|node| {
            self.state
                .partition
                .as_ref()
                .and_then(|groups| groups.iter().position(|group| group.contains(&node.name)))
                .and_then(|group| u8::try_from(group).ok())
                .unwrap_or(0)
        });
        let faults = LinkFaults {
            links_down: LinkMask::EMPTY,
            node_links_down: self
                .state
                .nodes
                .iter()
                .map(|node| node.links_down.iter().copied().collect())
                .collect(),
            pair_links_down: Vec::new(),
        };
        (nodes, faults)
    }

    /// Polls the nodes until `spec` holds (see `SettleSpec`) or its limit passes. This is the
    /// lab's one wait loop.
    pub fn settle_on(&self, spec: &SettleSpec) -> Result<Settled> {
        let started = Instant::now();
        let quiet = if spec.expected.is_none() {
            spec.quiet.max(self.membership_change())
        } else {
            spec.quiet
        };
        let mut previous: Option<Vec<String>> = None;
        let mut stable_since = Instant::now();
        loop {
            if spec.fail_if_corosync_exits {
                self.check_corosync_alive()?;
            }
            let reports = self.read_nsenter();
            let signatures: Vec<String> = reports.iter().map(signature).collect();
            if previous.as_ref() != Some(&signatures) {
                stable_since = Instant::now();
                previous = Some(signatures);
            }
            let members_ok = spec
                .expected
                .as_ref()
                .is_none_or(|expected| shows(expected, &reports));
            let elapsed = started.elapsed();
            let settled = members_ok && stable_since.elapsed() >= quiet;
            if settled || elapsed > spec.limit {
                return Ok(Settled {
                    reports,
                    settled,
                    elapsed,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Polls the nodes until every running node shows the membership the lab's connectivity
    /// implies, unchanged for two polls (or, when it implies none, the same readings for a
    /// token + consensus period). Fails after `limit`, with the last observation.
    pub fn wait_converged(&self, limit: Duration) -> Result<Vec<NodeReport>> {
        let (nodes, faults) = self.connectivity();
        let expected = topology::expected_members(&nodes, &faults);
        let settled = self.settle_on(&SettleSpec {
            expected: expected.clone(),
            quiet: POLL_INTERVAL,
            limit,
            fail_if_corosync_exits: true,
        })?;
        if settled.settled {
            return Ok(settled.reports);
        }
        let want = match &expected {
            Some(expected) => format!("expected {expected:?}"),
            None => "waiting for stable memberships".into(),
        };
        Err(Error::NotConverged {
            timeout_ms: limit.as_millis() as u64,
            details: format!("{want}; {}", settled.last_seen()),
        })
    }

    /// Waits for a membership change (`wait`), or just reads the nodes.
    pub(crate) fn settle(&self, wait: bool) -> Result<Vec<NodeReport>> {
        if wait {
            self.wait_converged(self.change_limit())
        } else {
            Ok(self.read_nsenter())
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
}
