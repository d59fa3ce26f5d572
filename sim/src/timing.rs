//! The clock of a failure: for one `whatif` step, when each node notices it, forms its new
//! membership, decides quorum, and on Proxmox VE when `/etc/pve` turns read-only, an
//! HA-managed node self-fences and the quorate side recovers its services (issue 15).
//!
//! Owns `Timers` (corosync's own timers of a configuration: the effective token with its
//! coefficient, consensus, join, merge, knet ping timers, spec 3.4), the timeline types
//! (`TimelineEvent`, `EventKind`) and `step_timeline`, which reads one step, the report
//! before it and the report after it. The times follow spec 3.5 (token, then consensus),
//! 2.8 (the qdevice sync wait), 2.3 (the last_man_standing window) and 6.6 (the HA
//! watchdog and lock lifetimes); every time is in ms counted from the step's fault. Where
//! the model cannot be exact an event says so in its own fields (`estimate`, `earliest_ms`
//! /`latest_ms`, `assumes`), never silently. It must not drive the engine (that is
//! `whatif::evaluate`), read files, read the clock, nor render.

use crate::whatif::{NodeRow, StepReport};
use model::quorum::{NodeId, QuorumSettings};
use model::scenario::{LinkScope, NodeRef, Step};
use serde::Serialize;

/// How long an HA-managed Proxmox node survives without a lock renewal before watchdog-mux
/// stops feeding the watchdog (`CLIENT_WATCHDOG_TIMEOUT`, spec 6.6).
pub const PVE_WATCHDOG_CLIENT_MS: u64 = 60_000;
/// The hardware watchdog's own timeout after watchdog-mux stops feeding it (softdog, spec 6.6):
/// the reset comes up to this much later.
pub const PVE_WATCHDOG_HARDWARE_MS: u64 = 10_000;
/// One round of the LRM and CRM loops (~10 s, spec 6.6): the last lock renewal before a fault
/// can be up to this much before it, and the CRM master acts up to this much late.
pub const PVE_HA_ROUND_MS: u64 = 10_000;
/// The lifetime of a pmxcfs cluster lock: the quorate side can take a lost node's agent lock
/// (and recover its services) only this long after its last renewal (spec 6.6).
pub const PVE_LOCK_LIFETIME_MS: u64 = 120_000;
/// The CRM's `fence_delay`: a node must have been offline this long before its services
/// move to `fence` (spec 6.6).
pub const PVE_FENCE_DELAY_MS: u64 = 60_000;

/// The knet ping timers of one link (spec 3.2: a link goes down after `ping_timeout`
/// without a pong, and comes up after `pong_count` good pongs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LinkTimers {
    /// The link number.
    pub linknumber: u8,
    /// `knet_ping_interval` in ms.
    pub ping_interval_ms: u32,
    /// `knet_ping_timeout` in ms.
    pub ping_timeout_ms: u32,
    /// `knet_pong_count`.
    pub pong_count: u32,
}

/// corosync's own timers of one configuration, as it computes them (spec 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// The effective token timeout: `token` + (N − 2) · `token_coefficient` when N, the
    /// number of nodelist entries with a `ring0_addr`, is above 2.
    pub token_ms: u32,
    /// `token` as written (or its default 3000), before the coefficient.
    pub token_base_ms: u32,
    /// `token_coefficient` (default 650; 0 disables it).
    pub token_coefficient_ms: u32,
    /// N of the coefficient: nodelist entries with a `ring0_addr`.
    pub ring0_nodes: u32,
    /// `consensus` (default `(int)(1.2 · token_ms)`).
    pub consensus_ms: u32,
    /// `hold` (default `(int)(token_retransmit · 0.8 − 10)`): on an idle ring the ring
    /// representative holds the token this long each rotation, so a node last saw the token
    /// up to about this long before a fault, and its token timer runs from then.
    pub hold_ms: u32,
    /// `join` (default 50).
    pub join_ms: u32,
    /// `merge` (default 200).
    pub merge_ms: u32,
    /// The transport is knet (link-down detection and link-up by pongs); udp/udpu have none.
    pub knet: bool,
    /// The configured links' knet timers, by link number (`None`: link not configured).
    pub links: [Option<LinkTimers>; 8],
}

impl Timers {
    /// The timers of `config` (its effective values, `model::config::Config::effective`).
    pub fn from_config(config: &model::config::Config) -> Timers {
        let effective = &config.effective;
        let mut links = [None; 8];
        for link in &effective.links {
            if let Some(slot) = links.get_mut(usize::from(link.linknumber)) {
                *slot = Some(LinkTimers {
                    linknumber: link.linknumber,
                    ping_interval_ms: link.knet_ping_interval,
                    ping_timeout_ms: link.knet_ping_timeout,
                    pong_count: link.knet_pong_count,
                });
            }
        }
        let ring0_nodes = config
            .nodelist
            .nodes
            .iter()
            .filter(|node| node.ring0_addr().is_some())
            .count() as u32;
        Timers {
            token_ms: effective.token,
            token_base_ms: config
                .totem
                .token
                .as_ref()
                .map(|token| token.value)
                .filter(|token| *token != 0)
                .unwrap_or(model::config::effective::DEFAULT_TOKEN),
            token_coefficient_ms: effective.token_coefficient,
            ring0_nodes,
            consensus_ms: effective.consensus,
            hold_ms: effective.hold,
            join_ms: effective.join,
            merge_ms: effective.merge,
            knet: effective.transport == model::quorum::Transport::Knet,
            links,
        }
    }

    /// The configured links' timers, by link number.
    pub fn configured_links(&self) -> impl Iterator<Item = &LinkTimers> {
        self.links.iter().flatten()
    }

    /// The model's failure-to-new-membership time: token, then consensus (spec 3.5). It is
    /// the latest: the token timer started at the fault.
    pub fn failure_membership_ms(&self) -> u64 {
        u64::from(self.token_ms) + u64::from(self.consensus_ms)
    }

    /// How much earlier than token (+ consensus) a failure can be noticed: the token timer
    /// runs from the last token a node saw, and on an idle ring the token comes round once
    /// per `hold` (the ring representative holds it that long, totemsrp's
    /// `my_token_held` after `seqno_unchanged_const` idle rotations). Measured on corosync
    /// 3.1.7 (tests/it/timing/reality.rs, docs/known-limitations.md): membership came between
    /// token + consensus − hold and token + consensus.
    pub fn idle_rotation_ms(&self) -> u64 {
        u64::from(self.hold_ms).min(u64::from(self.token_ms))
    }

    /// `, or up to hold 685 ms earlier (...)`: the range text of a token-timed event.
    fn rotation_text(&self) -> String {
        format!(
            "; up to hold {} ms earlier: the token timer runs from the last token seen, which on an \
             idle ring comes round once per hold",
            self.hold_ms
        )
    }

    /// `token 3650 ms (3000 + 1 × token_coefficient 650)`: the token and where it comes from.
    fn token_text(&self) -> String {
        if self.ring0_nodes > 2 && self.token_coefficient_ms > 0 {
            format!(
                "token {} ms ({} + {} × token_coefficient {})",
                self.token_ms,
                self.token_base_ms,
                self.ring0_nodes - 2,
                self.token_coefficient_ms
            )
        } else {
            format!("token {} ms", self.token_ms)
        }
    }

    /// How long knet takes to report a link up again: `pong_count` pongs, one per ping
    /// interval, on the quickest link (0 without knet: udp/udpu have no link state).
    fn link_up_ms(&self) -> (u64, String) {
        if !self.knet {
            return (0, "no knet link state (udp/udpu)".to_string());
        }
        self.configured_links()
            .map(|link| {
                let ms = u64::from(link.ping_interval_ms) * u64::from(link.pong_count);
                (
                    ms,
                    format!(
                        "knet link {} up after {} pongs × ping interval {} ms",
                        link.linknumber, link.pong_count, link.ping_interval_ms
                    ),
                )
            })
            .min_by_key(|(ms, _)| *ms)
            .unwrap_or((0, "no configured link".to_string()))
    }
}

impl Serialize for Timers {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut timers = serializer.serialize_struct("Timers", 10)?;
        timers.serialize_field("token_ms", &self.token_ms)?;
        timers.serialize_field("token_base_ms", &self.token_base_ms)?;
        timers.serialize_field("token_coefficient_ms", &self.token_coefficient_ms)?;
        timers.serialize_field("ring0_nodes", &self.ring0_nodes)?;
        timers.serialize_field("consensus_ms", &self.consensus_ms)?;
        timers.serialize_field("hold_ms", &self.hold_ms)?;
        timers.serialize_field("join_ms", &self.join_ms)?;
        timers.serialize_field("merge_ms", &self.merge_ms)?;
        timers.serialize_field("knet", &self.knet)?;
        let links: Vec<&LinkTimers> = self.configured_links().collect();
        timers.serialize_field("links", &links)?;
        timers.end()
    }
}

/// What happens at a point of a timeline. The JSON names (snake_case) are a contract; more
/// kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// knet marks a link to a peer down (`knet_ping_timeout` without a pong); only for
    /// `link down` steps. With another link up knet fails over and nothing else happens.
    LinkDown,
    /// totem notices the failure: the token timed out (or a stopping node's leave message
    /// arrived); the node enters gather.
    FailureDetected,
    /// The node's new membership is formed (`A new membership (...) was formed`).
    Membership,
    /// votequorum decides the node's quorum for the new state.
    Quorum,
    /// The last_man_standing window expires: if the node is still quorate then, expected
    /// votes shrink to the members (spec 2.3).
    LmsWindow,
    /// Proxmox VE: the node lost quorum, `/etc/pve` turns read-only.
    PveReadonly,
    /// Proxmox VE: an HA-managed node resets itself (watchdog).
    SelfFence,
    /// Proxmox VE: the quorate side recovers this (lost) node's HA services.
    HaRecovery,
}

impl EventKind {
    /// Every kind, in timeline order for events at the same time.
    pub const ALL: [EventKind; 8] = [
        EventKind::LinkDown,
        EventKind::FailureDetected,
        EventKind::Membership,
        EventKind::Quorum,
        EventKind::LmsWindow,
        EventKind::PveReadonly,
        EventKind::SelfFence,
        EventKind::HaRecovery,
    ];

    /// The JSON name (`failure_detected`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LinkDown => "link_down",
            EventKind::FailureDetected => "failure_detected",
            EventKind::Membership => "membership",
            EventKind::Quorum => "quorum",
            EventKind::LmsWindow => "lms_window",
            EventKind::PveReadonly => "pve_readonly",
            EventKind::SelfFence => "self_fence",
            EventKind::HaRecovery => "ha_recovery",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of one node's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// The node the event happens on (for `ha_recovery`: the node whose services the
    /// quorate side recovers).
    pub node: NodeId,
    /// What happens.
    pub event: EventKind,
    /// When, in ms from the step's fault: the model's time.
    pub at_ms: u64,
    /// The earliest the event can come where the model knows a range (else `None`).
    pub earliest_ms: Option<u64>,
    /// The latest the event can come where the model knows a range (else `None`): the
    /// qdevice sync wait's maximum, the watchdog's hardware margin.
    pub latest_ms: Option<u64>,
    /// Part of the time is not from a corosync or Proxmox timer (start-up, the merge's
    /// message exchange, a leave): an estimate, not measured against real corosync.
    pub estimate: bool,
    /// A condition the model cannot see, under which the event happens (`None`: always).
    pub assumes: Option<String>,
    /// How the time is computed, with the values used.
    pub basis: String,
}

impl TimelineEvent {
    /// An event the model times exactly: no range, no estimate, no assumption.
    fn exact(node: NodeId, event: EventKind, at_ms: u64, basis: String) -> TimelineEvent {
        TimelineEvent {
            node,
            event,
            at_ms,
            earliest_ms: None,
            latest_ms: None,
            estimate: false,
            assumes: None,
            basis,
        }
    }

    /// An event timed by a token timeout: at `at_ms` at the latest, up to one idle token
    /// rotation (`Timers::idle_rotation_ms`) earlier; no estimate, no assumption.
    fn token_timed(
        timers: &Timers,
        node: NodeId,
        event: EventKind,
        at_ms: u64,
        basis: String,
    ) -> TimelineEvent {
        TimelineEvent {
            node,
            event,
            at_ms,
            earliest_ms: Some(at_ms.saturating_sub(timers.idle_rotation_ms())),
            latest_ms: Some(at_ms),
            estimate: false,
            assumes: None,
            basis,
        }
    }
}

/// How one ring (a membership after the step) formed.
struct Ring {
    at_ms: u64,
    /// The earliest it can form where that is known (a failure: one idle token rotation
    /// before `at_ms`, which is then the latest).
    earliest_ms: Option<u64>,
    estimate: bool,
    basis: String,
}

impl Ring {
    /// (earliest, latest) of an event at the ring's forming plus `offset_ms`.
    fn range(&self, offset_ms: u64) -> (Option<u64>, Option<u64>) {
        match self.earliest_ms {
            Some(earliest) => (Some(earliest + offset_ms), Some(self.at_ms + offset_ms)),
            None => (None, None),
        }
    }
}

/// The node id `node` names in `settings` (ids are taken as written).
fn resolve(settings: &QuorumSettings, node: &NodeRef) -> Option<NodeId> {
    match node {
        NodeRef::Id(nodeid) => Some(*nodeid),
        NodeRef::Name(name) => settings
            .nodes
            .iter()
            .find(|entry| entry.name == *name)
            .map(|entry| entry.nodeid),
    }
}

fn resolve_all<'a>(settings: &QuorumSettings, nodes: impl IntoIterator<Item = &'a NodeRef>) -> Vec<NodeId> {
    nodes
        .into_iter()
        .filter_map(|node| resolve(settings, node))
        .collect()
}

/// The timeline of one step: `before` is the report of the state the step starts from,
/// `after` the report it leaves, `settings` the votequorum settings in force after it (for
/// the last_man_standing window and the quorum device). Proxmox HA events come only with
/// `proxmox` (and only for nodes whose rows carry Proxmox consequences).
///
/// The step is taken as the cluster's only change: a later step that comes before an event
/// (a `heal` after `wait 30000` cancels a pending self-fence) is not looked at. Steps that
/// are no fault (`wait`, `show`, `install`) have no events. Events come sorted by time,
/// then node, then kind.
pub fn step_timeline(
    timers: &Timers,
    settings: &QuorumSettings,
    step: &Step,
    before: &StepReport,
    after: &StepReport,
    proxmox: bool,
) -> Vec<TimelineEvent> {
    if matches!(step, Step::Wait(_) | Step::Show | Step::Install { .. }) {
        return Vec::new();
    }
    let previous = |nodeid: NodeId| before.nodes.iter().find(|row| row.nodeid == nodeid);
    let unstable = |nodeid: NodeId| {
        after
            .unstable_memberships
            .iter()
            .any(|group| group.nodes.contains(&nodeid))
    };
    let leavers = match step {
        Step::Stop(nodes) => resolve_all(settings, nodes),
        _ => Vec::new(),
    };
    let restarted = match step {
        Step::Restart(nodes) => resolve_all(settings, nodes),
        _ => Vec::new(),
    };
    // Up after the step and either down before it or restarted by it: corosync starts.
    let started = |row: &NodeRow| {
        row.up && (restarted.contains(&row.nodeid) || !previous(row.nodeid).is_some_and(|old| old.up))
    };
    let mut events = Vec::new();

    if let Step::Link {
        link,
        up: false,
        scope,
    } = step
    {
        link_down_events(timers, settings, *link, scope, before, after, &mut events);
    }

    // The rings after the step: one per distinct membership of running, stable nodes.
    let mut rings: Vec<(Vec<NodeId>, Ring)> = Vec::new();
    for row in after.nodes.iter().filter(|row| row.up && !unstable(row.nodeid)) {
        if rings.iter().any(|(members, _)| *members == row.members) {
            continue;
        }
        let changed = row.members.iter().any(|member| {
            after
                .nodes
                .iter()
                .find(|other| other.nodeid == *member)
                .is_some_and(|other| {
                    started(other) || previous(*member).is_none_or(|old| old.members != row.members)
                })
        });
        if !changed {
            continue;
        }
        let starting: Vec<NodeId> = after
            .nodes
            .iter()
            .filter(|other| row.members.contains(&other.nodeid) && started(other))
            .map(|other| other.nodeid)
            .collect();
        let ring = form_ring(timers, &row.members, &leavers, &restarted, &starting, before);
        rings.push((row.members.clone(), ring));
    }
    let ring_of = |members: &Vec<NodeId>| {
        rings
            .iter()
            .find(|(ring, _)| ring == members)
            .map(|(_, ring)| ring)
    };

    let device = settings.device.as_ref();
    for row in &after.nodes {
        if !row.up {
            continue;
        }
        let old = previous(row.nodeid).filter(|old| old.up && !restarted.contains(&row.nodeid));
        if unstable(row.nodeid) {
            // Spec 3.3: a partial mesh has no stable membership; the token loss is all the
            // model can time.
            if old.is_some() && !unstable_before(before, row.nodeid) {
                events.push(TimelineEvent::token_timed(
                    timers,
                    row.nodeid,
                    EventKind::FailureDetected,
                    u64::from(timers.token_ms),
                    format!(
                        "{}{}; then no stable membership (partial mesh, spec 3.3): corosync keeps \
                         re-forming, nothing more is predicted",
                        timers.token_text(),
                        timers.rotation_text()
                    ),
                ));
            }
            continue;
        }
        let quorum_changed = old.is_none_or(|old| {
            old.quorate != row.quorate
                || old.votes != row.votes
                || old.expected_votes != row.expected_votes
                || old.quorum != row.quorum
                || old.total_votes != row.total_votes
        });
        let (quorum_at, quorum_event) = match ring_of(&row.members).filter(|_| {
            started(row)
                || old.is_none_or(|old| old.members != row.members)
                || restarted.iter().any(|id| row.members.contains(id))
        }) {
            Some(ring) => {
                if let Some(old) =
                    old.filter(|old| old.members.iter().any(|member| !row.members.contains(member)))
                {
                    let failed: Vec<NodeId> = old
                        .members
                        .iter()
                        .copied()
                        .filter(|member| !row.members.contains(member))
                        .collect();
                    let only_leavers = failed.iter().all(|member| leavers.contains(member));
                    events.push(if only_leavers {
                        TimelineEvent::exact(
                            row.nodeid,
                            EventKind::FailureDetected,
                            0,
                            format!(
                                "the leave message of {} (a clean shutdown announces itself)",
                                list(&failed)
                            ),
                        )
                    } else {
                        TimelineEvent::token_timed(
                            timers,
                            row.nodeid,
                            EventKind::FailureDetected,
                            u64::from(timers.token_ms),
                            format!(
                                "token timeout, {}; lost {}{}",
                                timers.token_text(),
                                list(&failed),
                                timers.rotation_text()
                            ),
                        )
                    });
                }
                let (earliest_ms, latest_ms) = ring.range(0);
                events.push(TimelineEvent {
                    node: row.nodeid,
                    event: EventKind::Membership,
                    at_ms: ring.at_ms,
                    earliest_ms,
                    latest_ms,
                    estimate: ring.estimate,
                    assumes: None,
                    basis: format!("{}: {}", set(&row.members), ring.basis),
                });
                let casting = device.is_some()
                    && (old.is_some_and(|old| old.flags.qdevice_cast_vote)
                        || row.flags.qdevice_cast_vote
                        || after.qnetd.as_ref().is_some_and(|qnetd| {
                            qnetd.nodes.iter().any(|q| q.nodeid == row.nodeid && q.running)
                        }));
                let event = match device.filter(|_| casting) {
                    Some(device) => TimelineEvent {
                        node: row.nodeid,
                        event: EventKind::Quorum,
                        at_ms: ring.at_ms,
                        earliest_ms: Some(ring.earliest_ms.unwrap_or(ring.at_ms)),
                        latest_ms: Some(ring.at_ms + u64::from(device.sync_timeout_ms)),
                        estimate: true,
                        assumes: None,
                        basis: format!(
                            "{}; votequorum waits for the qdevice's poll with the new ring id, at most \
                             quorum.device.sync_timeout {} ms (spec 2.8)",
                            quorum_text(row),
                            device.sync_timeout_ms
                        ),
                    },
                    None => TimelineEvent {
                        node: row.nodeid,
                        event: EventKind::Quorum,
                        at_ms: ring.at_ms,
                        earliest_ms,
                        latest_ms,
                        estimate: ring.estimate,
                        assumes: None,
                        basis: format!("{}, decided in the sync of the new membership", quorum_text(row)),
                    },
                };
                let at = event.at_ms;
                if row.flags.last_man_standing_timer {
                    let window = u64::from(settings.last_man_standing_window_ms);
                    let (earliest_ms, latest_ms) = ring.range(window);
                    events.push(TimelineEvent {
                        node: row.nodeid,
                        event: EventKind::LmsWindow,
                        at_ms: ring.at_ms + window,
                        earliest_ms,
                        latest_ms,
                        estimate: ring.estimate,
                        assumes: None,
                        basis: format!(
                            "membership + last_man_standing_window {} ms: if still quorate then, \
                             expected votes shrink to the members (spec 2.3)",
                            settings.last_man_standing_window_ms
                        ),
                    });
                }
                (at, Some(event))
            }
            None if quorum_changed => {
                let qdevice_step = matches!(
                    step,
                    Step::Qdevice { .. } | Step::Qnetd(_) | Step::Heuristics { .. }
                );
                let event = match device.filter(|_| qdevice_step) {
                    Some(device) => TimelineEvent {
                        node: row.nodeid,
                        event: EventKind::Quorum,
                        at_ms: 0,
                        earliest_ms: Some(0),
                        latest_ms: Some(u64::from(device.timeout_ms)),
                        estimate: true,
                        assumes: None,
                        basis: format!(
                            "{}; the membership stays; the device's vote changes with the qdevice's next \
                             poll, at the latest when quorum.device.timeout {} ms passes without one (spec 2.8)",
                            quorum_text(row),
                            device.timeout_ms
                        ),
                    },
                    None => TimelineEvent::exact(row.nodeid, EventKind::Quorum, 0, format!("{}; the membership stays (a votequorum message, no timer)", quorum_text(row))),
                };
                (0, Some(event))
            }
            None => (0, None),
        };
        let quorum_range = quorum_event
            .as_ref()
            .map_or((None, None), |event| (event.earliest_ms, event.latest_ms));
        if let Some(event) = quorum_event {
            events.push(event);
        }
        let lost_quorum = old.is_some_and(|old| old.quorate) && !row.quorate;
        if proxmox && lost_quorum {
            events.push(TimelineEvent {
                earliest_ms: quorum_range.0,
                latest_ms: quorum_range.1,
                ..TimelineEvent::exact(
                    row.nodeid,
                    EventKind::PveReadonly,
                    quorum_at,
                    "quorum lost: pmxcfs refuses writes (spec 6.5)".to_string(),
                )
            });
            if row
                .proxmox
                .as_ref()
                .is_some_and(|consequence| consequence.self_fence)
            {
                let at = PVE_WATCHDOG_CLIENT_MS.max(quorum_at);
                events.push(TimelineEvent {
                    node: row.nodeid,
                    event: EventKind::SelfFence,
                    at_ms: at,
                    earliest_ms: Some(at.saturating_sub(PVE_HA_ROUND_MS)),
                    latest_ms: Some(at + PVE_WATCHDOG_HARDWARE_MS),
                    estimate: false,
                    assumes: Some(format!("node {} runs HA-managed guests (its LRM is active)", row.nodeid)),
                    basis: format!(
                        "the last lock renewal was at the fault (up to one LRM round, {} s, earlier): \
                         watchdog-mux stops feeding after {} s, the hardware watchdog resets within {} s (spec 6.6)",
                        PVE_HA_ROUND_MS / 1000,
                        PVE_WATCHDOG_CLIENT_MS / 1000,
                        PVE_WATCHDOG_HARDWARE_MS / 1000
                    ),
                });
            }
        }
    }

    if proxmox {
        for row in &after.nodes {
            let Some(old) = previous(row.nodeid) else {
                continue;
            };
            if !(old.up && old.quorate) || (row.up && row.quorate) || restarted.contains(&row.nodeid) {
                continue;
            }
            // The quorate memberships without this node, and when each formed.
            let fence_from = after
                .quorate_memberships
                .iter()
                .filter(|members| !members.contains(&row.nodeid))
                .map(|members| ring_of(members).map_or(0, |ring| ring.at_ms))
                .min();
            let Some(membership_at) = fence_from else {
                continue;
            };
            let at = PVE_LOCK_LIFETIME_MS.max(membership_at + PVE_FENCE_DELAY_MS);
            events.push(TimelineEvent {
                node: row.nodeid,
                event: EventKind::HaRecovery,
                at_ms: at,
                earliest_ms: Some(at.saturating_sub(PVE_HA_ROUND_MS)),
                latest_ms: Some(at + PVE_HA_ROUND_MS),
                estimate: false,
                assumes: Some(format!(
                    "node {} runs HA-managed guests; the quorate side has a CRM master",
                    row.nodeid
                )),
                basis: format!(
                    "its agent lock expires {} s after its last renewal (at the fault, up to one round \
                     earlier) and it has been offline for fence_delay {} s since the quorate membership \
                     at {} ms; the CRM acts within a round of {} s (spec 6.6)",
                    PVE_LOCK_LIFETIME_MS / 1000,
                    PVE_FENCE_DELAY_MS / 1000,
                    membership_at,
                    PVE_HA_ROUND_MS / 1000
                ),
            });
        }
    }
    events.sort_by_key(|event| (event.at_ms, event.node, event.event));
    events
}

fn unstable_before(before: &StepReport, nodeid: NodeId) -> bool {
    before
        .unstable_memberships
        .iter()
        .any(|group| group.nodes.contains(&nodeid))
}

/// When a ring of `members` forms after the step (spec 3.5).
fn form_ring(
    timers: &Timers,
    members: &[NodeId],
    leavers: &[NodeId],
    restarted: &[NodeId],
    starting: &[NodeId],
    before: &StepReport,
) -> Ring {
    let mut failed = Vec::new();
    let mut left = Vec::new();
    for member in members {
        if restarted.contains(member) {
            continue;
        }
        let Some(old) = before.nodes.iter().find(|old| old.nodeid == *member && old.up) else {
            continue;
        };
        for gone in old.members.iter().filter(|gone| !members.contains(gone)) {
            let target = if leavers.contains(gone) {
                &mut left
            } else {
                &mut failed
            };
            if !target.contains(gone) {
                target.push(*gone);
            }
        }
    }
    if !failed.is_empty() {
        // The survivors wait the token out, then gather; the lost nodes stay in the proc
        // list until the consensus timeout moves them to the failed list.
        let at_ms = timers.failure_membership_ms();
        return Ring {
            at_ms,
            earliest_ms: Some(at_ms.saturating_sub(timers.idle_rotation_ms())),
            estimate: false,
            basis: format!(
                "{} + consensus {} ms (without {}){}",
                timers.token_text(),
                timers.consensus_ms,
                list(&failed),
                timers.rotation_text()
            ),
        };
    }
    if !left.is_empty() {
        return Ring {
            at_ms: u64::from(timers.join_ms),
            earliest_ms: None,
            estimate: true,
            basis: format!(
                "{} left cleanly: gather and commit without waiting for the token, about one join \
                 timeout ({} ms)",
                list(&left),
                timers.join_ms
            ),
        };
    }
    let (link_up, link_text) = timers.link_up_ms();
    let start_text = if starting.is_empty() {
        String::new()
    } else {
        format!(
            " after corosync starts on {} (its start-up time is not modelled)",
            list(starting)
        )
    };
    Ring {
        at_ms: link_up + u64::from(timers.merge_ms) + u64::from(timers.join_ms),
        earliest_ms: None,
        estimate: true,
        basis: format!(
            "merge{start_text}: {link_text}, then merge detection within merge {} ms and a join {} ms",
            timers.merge_ms, timers.join_ms
        ),
    }
}

/// `link_down` events of `link down L [scope]`: every running node that loses link L to a
/// peer of its membership, at `knet_ping_timeout` of that link.
fn link_down_events(
    timers: &Timers,
    settings: &QuorumSettings,
    link: u8,
    scope: &LinkScope,
    before: &StepReport,
    after: &StepReport,
    events: &mut Vec<TimelineEvent>,
) {
    let Some(link_timers) = timers
        .links
        .get(usize::from(link))
        .copied()
        .flatten()
        .filter(|_| timers.knet)
    else {
        return;
    };
    let named = match scope {
        LinkScope::All => Vec::new(),
        LinkScope::Nodes(nodes) => resolve_all(settings, nodes),
        LinkScope::Between(a, b) => resolve_all(settings, [a, b]),
    };
    let cut = |x: NodeId, y: NodeId| match scope {
        LinkScope::All => true,
        LinkScope::Nodes(_) => named.contains(&x) || named.contains(&y),
        LinkScope::Between(..) => named.contains(&x) && named.contains(&y),
    };
    let has_link = |nodeid: NodeId| settings.link_mask(nodeid).contains(link);
    for old in before.nodes.iter().filter(|old| old.up && has_link(old.nodeid)) {
        let Some(row) = after.nodes.iter().find(|row| row.nodeid == old.nodeid && row.up) else {
            continue;
        };
        let peers: Vec<NodeId> = old
            .members
            .iter()
            .copied()
            .filter(|peer| *peer != old.nodeid && has_link(*peer) && cut(old.nodeid, *peer))
            .filter(|peer| after.nodes.iter().any(|other| other.nodeid == *peer && other.up))
            .collect();
        if peers.is_empty() {
            continue;
        }
        let then = if row.members == old.members {
            "knet fails over to another link, the membership stays"
        } else {
            "no other link reaches them: totem loses the token"
        };
        let timeout = u64::from(link_timers.ping_timeout_ms);
        events.push(TimelineEvent {
            earliest_ms: Some(timeout.saturating_sub(u64::from(link_timers.ping_interval_ms))),
            latest_ms: Some(timeout),
            ..TimelineEvent::exact(
                old.nodeid,
                EventKind::LinkDown,
                timeout,
                format!(
                    "knet link {link} to {}: no pong for knet_ping_timeout {} ms since the last one, up to \
                     one ping interval {} ms before the cut; {then} (on a link up for less than ~10 s \
                     knet's pong-timeout backoff, 10 × shrinking by 1 × a second, makes it later)",
                    list(&peers),
                    link_timers.ping_timeout_ms,
                    link_timers.ping_interval_ms
                ),
            )
        });
    }
}

/// `quorate (2 of 3 votes, quorum 2)` or `inquorate (...)`.
fn quorum_text(row: &NodeRow) -> String {
    format!(
        "{} ({} of {} votes, quorum {})",
        if row.quorate { "quorate" } else { "inquorate" },
        row.total_votes,
        row.expected_votes,
        row.quorum
    )
}

fn set(ids: &[NodeId]) -> String {
    let inner: Vec<String> = ids.iter().map(NodeId::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

fn list(ids: &[NodeId]) -> String {
    let inner: Vec<String> = ids.iter().map(NodeId::to_string).collect();
    format!(
        "node{} {}",
        if ids.len() == 1 { "" } else { "s" },
        inner.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatif::{evaluate_config, WhatifOptions};

    fn timeline(text: &str, script: &str, proxmox: bool) -> Vec<Vec<(NodeId, &'static str, u64)>> {
        let (document, _) = model::syntax::parse(text);
        let config = model::config::Config::from_document(&document).0;
        let options = WhatifOptions {
            proxmox,
            timers: Some(Timers::from_config(&config)),
        };
        let report = evaluate_config(
            &model::quorum::NodeConfig::from_config(&config),
            script,
            &options,
            &mut |file: &str| -> Result<model::quorum::NodeConfig, String> { Err(file.to_string()) },
        )
        .unwrap();
        report
            .steps
            .iter()
            .map(|step| {
                step.timeline
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|event| (event.node, event.event.as_str(), event.at_ms))
                    .collect()
            })
            .collect()
    }

    fn nodes(count: u32, totem: &str) -> String {
        let mut text = format!("totem {{\n  version: 2\n  cluster_name: t\n{totem}}}\nnodelist {{\n");
        for id in 1..=count {
            text.push_str(&format!(
                "  node {{\n    nodeid: {id}\n    ring0_addr: 10.0.0.{id}\n  }}\n"
            ));
        }
        text.push_str("}\nquorum {\n  provider: corosync_votequorum\n}\n");
        text
    }

    /// Spec 3.4/3.5 and 6.6 by hand: 3 nodes, token 3000 + 1 × 650 = 3650, consensus
    /// (int)(1.2 × 3650) = 4380, membership 8030; self-fence 60 s, recovery
    /// max(120 s, 8030 + 60 s) = 120 s.
    #[test]
    fn three_nodes_default_timers_isolate_one() {
        let steps = timeline(&nodes(3, ""), "isolate 3; wait 1000", true);
        assert!(steps[0].is_empty());
        assert!(steps[2].is_empty());
        assert_eq!(
            steps[1],
            [
                (1, "failure_detected", 3650),
                (2, "failure_detected", 3650),
                (3, "failure_detected", 3650),
                (1, "membership", 8030),
                (1, "quorum", 8030),
                (2, "membership", 8030),
                (2, "quorum", 8030),
                (3, "membership", 8030),
                (3, "quorum", 8030),
                (3, "pve_readonly", 8030),
                (3, "self_fence", 60_000),
                (3, "ha_recovery", 120_000),
            ]
        );
        // Without Proxmox no HA event at all.
        let plain = timeline(&nodes(3, ""), "isolate 3", false);
        assert!(plain[1]
            .iter()
            .all(|(_, event, _)| !event.starts_with("pve") && *event != "self_fence"));
    }

    /// 5 nodes, token 1000 + 3 × 650 = 2950, consensus 2000 as written: 4950; a clean stop
    /// needs no token timeout.
    #[test]
    fn five_nodes_written_timers_crash_and_stop() {
        let steps = timeline(
            &nodes(5, "  token: 1000\n  consensus: 2000\n"),
            "down 5; stop 4",
            false,
        );
        let at = |step: usize, node: NodeId, event: &str| {
            steps[step]
                .iter()
                .find(|(n, e, _)| *n == node && *e == event)
                .map(|(_, _, at)| *at)
        };
        assert_eq!(at(1, 1, "failure_detected"), Some(2950));
        assert_eq!(at(1, 4, "membership"), Some(4950));
        assert_eq!(at(1, 5, "membership"), None);
        assert_eq!(at(2, 1, "failure_detected"), Some(0));
        assert_eq!(at(2, 1, "membership"), Some(50));
    }

    /// A failure's token-timed events are ranges one idle token rotation (hold) wide, at_ms
    /// their latest (the lab measured membership in between, tests/it/timing/reality.rs): 3
    /// nodes, hold (int)((int)(3650 / 4.2) · 0.8 − 10) = 685; a clean leave stays exact.
    #[test]
    fn token_timed_events_reach_back_one_idle_rotation() {
        let text = nodes(3, "");
        let (document, _) = model::syntax::parse(&text);
        let config = model::config::Config::from_document(&document).0;
        assert_eq!(Timers::from_config(&config).hold_ms, 685);
        let options = WhatifOptions {
            proxmox: true,
            timers: Some(Timers::from_config(&config)),
        };
        let report = evaluate_config(
            &model::quorum::NodeConfig::from_config(&config),
            "isolate 3; heal; stop 3",
            &options,
            &mut |file: &str| -> Result<model::quorum::NodeConfig, String> { Err(file.to_string()) },
        )
        .unwrap();
        let range = |step: usize, node: NodeId, event: EventKind| {
            report.steps[step]
                .timeline
                .as_ref()
                .unwrap()
                .iter()
                .find(|entry| entry.node == node && entry.event == event)
                .map(|entry| (entry.earliest_ms, entry.at_ms, entry.latest_ms))
        };
        assert_eq!(
            range(1, 1, EventKind::FailureDetected),
            Some((Some(2965), 3650, Some(3650)))
        );
        assert_eq!(
            range(1, 1, EventKind::Membership),
            Some((Some(7345), 8030, Some(8030)))
        );
        assert_eq!(
            range(1, 3, EventKind::Quorum),
            Some((Some(7345), 8030, Some(8030)))
        );
        assert_eq!(
            range(1, 3, EventKind::PveReadonly),
            Some((Some(7345), 8030, Some(8030)))
        );
        // A merge is an estimate without a range; a clean leave is exact.
        assert_eq!(
            range(2, 1, EventKind::Membership).map(|(earliest, ..)| earliest),
            Some(None)
        );
        assert_eq!(range(3, 1, EventKind::FailureDetected), Some((None, 0, None)));
    }

    #[test]
    fn event_names_are_the_contract() {
        let names: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            names,
            [
                "link_down",
                "failure_detected",
                "membership",
                "quorum",
                "lms_window",
                "pve_readonly",
                "self_fence",
                "ha_recovery"
            ]
        );
    }
}
