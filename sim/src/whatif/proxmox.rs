//! Proxmox VE consequences of a node's votequorum state (spec 6.5-6.6): whether pmxcfs
//! (`/etc/pve`) is writable, and when an HA-managed node self-fences or the quorate side
//! recovers its services.
//!
//! Owns `ProxmoxConsequence`, the per-node HA memory across steps (`HaTrack`) and the
//! cluster-wide Proxmox notes. It reads `model::quorum::NodeView`s only; it must not drive
//! the engine (that is `super::evaluate`) nor render.

use super::UnstableGroupReport;
use model::quorum::{NodeId, NodeView};
use serde::Serialize;

/// How long an HA-managed Proxmox node survives without quorum: the watchdog-mux client
/// timeout (spec 6.6, `CLIENT_WATCHDOG_TIMEOUT`).
pub const PVE_SELF_FENCE_MS: u64 = 60_000;

/// How long until the quorate side recovers a lost node's HA services: the agent lock
/// lifetime that `fence_node` must wait out (spec 6.6, 120 s after the last renewal).
pub const PVE_RECOVERY_MS: u64 = 120_000;

/// What a node's state means on Proxmox VE (spec 6.5 and 6.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxmoxConsequence {
    /// `/etc/pve` (pmxcfs): `read-write` when quorate, `read-only` when inquorate,
    /// `unavailable` when corosync does not run.
    pub etc_pve: &'static str,
    /// An HA-managed node self-fences (watchdog reset) if it stays like this: it lost quorum
    /// after having had it, so its LRM cannot renew its agent lock.
    pub self_fence: bool,
    /// Model time left before that self-fence (0: it has fenced by now); `None` when no
    /// self-fence is pending.
    pub self_fence_in_ms: Option<u64>,
    /// One sentence for humans.
    pub summary: String,
}

/// Per-node memory across steps, for the Proxmox HA consequences.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct HaTrack {
    /// Has been quorate since corosync (re)started: its LRM may be active with a watchdog.
    armed: bool,
    /// Model time at which it lost quorum while armed.
    lost_at: Option<u64>,
    /// Model time of its last agent lock renewal before it went down (when it lost quorum,
    /// or when it went down while quorate): recovery on the quorate side counts from there.
    down_at: Option<u64>,
}

pub(super) fn update_track(track: &mut HaTrack, view: &NodeView, now: u64) {
    if !view.up {
        if track.down_at.is_none() {
            // Its agent lock was last renewed when it lost quorum, or now if it still had it.
            track.down_at = Some(track.lost_at.unwrap_or(now));
        }
        track.armed = false;
        track.lost_at = None;
        return;
    }
    track.down_at = None;
    if view.quorate {
        track.armed = true;
        track.lost_at = None;
    } else if track.armed && track.lost_at.is_none() {
        track.lost_at = Some(now);
    }
}

pub(super) fn consequence(
    track: &HaTrack,
    view: &NodeView,
    now: u64,
    any_quorate: bool,
) -> ProxmoxConsequence {
    if !view.up {
        let summary = if any_quorate {
            let since = now.saturating_sub(track.down_at.unwrap_or(now));
            let left = PVE_RECOVERY_MS.saturating_sub(since);
            if left == 0 {
                "corosync down; its HA services have been recovered on the quorate side".to_string()
            } else {
                format!(
                    "corosync down; the quorate side recovers its HA services in about {} s \
                     (fence delay 60 s, agent lock expiry 120 s)",
                    left.div_ceil(1000)
                )
            }
        } else {
            "corosync down; no quorate partition, so nobody recovers its HA services".to_string()
        };
        return ProxmoxConsequence {
            etc_pve: "unavailable",
            self_fence: false,
            self_fence_in_ms: None,
            summary,
        };
    }
    if view.quorate {
        return ProxmoxConsequence {
            etc_pve: "read-write",
            self_fence: false,
            self_fence_in_ms: None,
            summary: "/etc/pve writable; HA active (watchdog fed)".to_string(),
        };
    }
    match track.lost_at {
        Some(lost) => {
            let since = now.saturating_sub(lost);
            let left = PVE_SELF_FENCE_MS.saturating_sub(since);
            let mut summary = if left == 0 {
                "/etc/pve read-only; an HA-managed node has self-fenced by now (watchdog reset)".to_string()
            } else {
                format!(
                    "/etc/pve read-only; an HA-managed node self-fences in about {} s (watchdog)",
                    left.div_ceil(1000)
                )
            };
            if any_quorate {
                let recovery = PVE_RECOVERY_MS.saturating_sub(since);
                if recovery == 0 {
                    summary.push_str("; its HA services have been recovered on the quorate side");
                } else {
                    summary.push_str(&format!(
                        "; the quorate side recovers its HA services in about {} s",
                        recovery.div_ceil(1000)
                    ));
                }
            }
            ProxmoxConsequence {
                etc_pve: "read-only",
                self_fence: true,
                self_fence_in_ms: Some(left),
                summary,
            }
        }
        None => ProxmoxConsequence {
            etc_pve: "read-only",
            self_fence: false,
            self_fence_in_ms: None,
            summary: "/etc/pve read-only; HA waits for quorum (never quorate since start, no self-fence)"
                .to_string(),
        },
    }
}

pub(super) fn proxmox_notes(
    notes: &mut Vec<String>,
    split_brain: bool,
    unstable: &[UnstableGroupReport],
    quorate_memberships: &[Vec<NodeId>],
) {
    if split_brain {
        notes.push(format!(
            "proxmox: /etc/pve is writable in {} partitions at once; pmxcfs diverges and HA may run \
             the same guest twice",
            quorate_memberships.len()
        ));
    }
    if !unstable.is_empty() {
        notes.push(
            "proxmox: with a flapping membership pmxcfs loses quorum again and again; HA nodes may \
             self-fence"
                .to_string(),
        );
    }
}
