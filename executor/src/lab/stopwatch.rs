//! Timing a fault on the lab against corosync's own log (issue 15's reality test).
//!
//! Owns `FaultWindow` (two wall-clock readings around a fault: when it was injected, to the
//! precision of the call that injected it), `Lab::crash` (SIGKILL of a node's corosync: no
//! leave message, as a crashed host), `Lab::timed` (any other lab fault between two readings),
//! `LogMark`/`MarkKind` (the lines of a node's `corosync.log` that time a failure: knet link
//! down, token timeout, new membership, quorum decision) read by `Lab::log_marks` and waited for
//! by `Lab::wait_marks`. corosync writes each line with its own clock when `logging.timestamp`
//! is `hires` (milliseconds), so the times are corosync's, not a poller's. It must not decide
//! what the times should be (that is `sim::timing`) nor change the cluster beyond the fault.

use super::{sys, Lab};
use crate::error::{Error, Result};
use model::quorum::NodeId;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY_MS: i64 = 86_400_000;

/// When a fault was injected: after `before` and before `after` (wall clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultWindow {
    /// Read just before the fault's first action.
    pub before: SystemTime,
    /// Read just after its last action returned.
    pub after: SystemTime,
}

impl FaultWindow {
    /// How long after the fault `at` is, as (shortest, longest) in ms: `at` minus `after`
    /// and minus `before` (negative when `at` is before the fault).
    pub fn delay_ms(&self, at: SystemTime) -> (i64, i64) {
        (signed_ms(self.after, at), signed_ms(self.before, at))
    }

    /// The width of the window in ms (how precisely the fault's moment is known).
    pub fn width_ms(&self) -> i64 {
        signed_ms(self.before, self.after)
    }
}

/// `to − from` in ms, negative when `to` is earlier.
fn signed_ms(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(later) => later.as_millis() as i64,
        Err(earlier) => -(earlier.duration().as_millis() as i64),
    }
}

/// What a log line says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MarkKind {
    /// `[KNET  ] link: host: H link: L is down`: knet gave up on a link to a peer.
    LinkDown,
    /// `[TOTEM ] A processor failed, forming new configuration: token timed out`: this node's
    /// token timer expired (only the nodes whose own timer fired log it).
    TokenTimeout,
    /// `[TOTEM ] A new membership (...) was formed`.
    Membership,
    /// `[QUORUM] Members[N]: ...`: votequorum's decision for the new membership is out.
    Quorum,
}

/// One timed line of a node's corosync log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMark {
    /// The node whose log it is.
    pub nodeid: NodeId,
    /// What happened.
    pub kind: MarkKind,
    /// When corosync logged it.
    pub at: SystemTime,
    /// The line, for messages.
    pub line: String,
}

/// The kind of a corosync log line, if it is one of the marks.
fn mark_kind(line: &str) -> Option<MarkKind> {
    if line.contains("[TOTEM ] A new membership (") {
        Some(MarkKind::Membership)
    } else if line.contains("[QUORUM] Members[") {
        Some(MarkKind::Quorum)
    } else if line.contains("[TOTEM ] A processor failed, forming new configuration") {
        Some(MarkKind::TokenTimeout)
    } else if line.contains("[KNET  ] link: host:") && line.trim_end().ends_with("is down") {
        Some(MarkKind::LinkDown)
    } else {
        None
    }
}

/// The time of day in ms of a `hires` log line (`Dec 07 07:49:10.189 [pid] ...`), or `None`
/// when its third field is not `HH:MM:SS.mmm`.
fn time_of_day_ms(line: &str) -> Option<i64> {
    let clock = line.split_whitespace().nth(2)?;
    let (hms, millis) = clock.split_once('.')?;
    let mut parts = hms.split(':');
    let mut field = |max: i64| -> Option<i64> {
        let value: i64 = parts.next()?.parse().ok()?;
        (value < max).then_some(value)
    };
    let (hours, minutes, seconds) = (field(24)?, field(60)?, field(61)?);
    if millis.len() != 3 {
        return None;
    }
    let millis: i64 = millis.parse().ok()?;
    Some(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

/// The local time zone's offset from UTC in ms, as `date +%z` gives it (corosync's log uses
/// local time; it runs with this process's environment and the host's /etc/localtime).
fn local_offset_ms() -> Result<i64> {
    let text = sys::run("date", &["+%z"])?;
    let text = text.trim();
    let bad = || Error::Command {
        command: "date +%z".into(),
        message: format!("unexpected output `{text}`"),
    };
    let (sign, digits) = match text.split_at_checked(1).ok_or_else(bad)? {
        ("+", digits) => (1, digits),
        ("-", digits) => (-1, digits),
        _ => return Err(bad()),
    };
    if digits.len() != 4 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(bad());
    }
    let hours: i64 = digits[..2].parse().map_err(|_| bad())?;
    let minutes: i64 = digits[2..].parse().map_err(|_| bad())?;
    Ok(sign * (hours * 60 + minutes) * 60_000)
}

/// The moment of a log line's time of day `line_ms` nearest to `reference` (within half a
/// day either side: the log carries no year, and a month/day field is not needed for that).
fn moment(reference: SystemTime, offset_ms: i64, line_ms: i64) -> SystemTime {
    let unix_ms = signed_ms(UNIX_EPOCH, reference);
    let reference_local = (unix_ms + offset_ms).rem_euclid(DAY_MS);
    let mut delta = (line_ms - reference_local).rem_euclid(DAY_MS);
    if delta > DAY_MS / 2 {
        delta -= DAY_MS;
    }
    if delta >= 0 {
        reference + Duration::from_millis(delta as u64)
    } else {
        reference - Duration::from_millis(delta.unsigned_abs())
    }
}

impl Lab {
    /// Crashes corosync on node `nodeid`: SIGKILL, so it sends no leave message and its peers
    /// must time the token out. Returns when the kill was sent and the process is gone.
    pub fn crash(&mut self, nodeid: NodeId) -> Result<FaultWindow> {
        let index = self.index_of(nodeid)?;
        let Some(pid) = self.state.nodes[index]
            .corosync_pid
            .filter(|pid| sys::alive(*pid))
        else {
            return Err(Error::Lab {
                dir: self.dir.clone(),
                message: format!(
                    "node {}: corosync does not run, nothing to crash",
                    self.state.nodes[index].name
                ),
            });
        };
        let before = SystemTime::now();
        sys::kill(&[pid], "KILL");
        let after = SystemTime::now();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sys::alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.state.nodes[index].corosync_pid = None;
        self.save()?;
        self.remove_shm_leftovers(index, pid)?;
        Ok(FaultWindow { before, after })
    }

    /// Removes what a killed corosync `pid` left in node `index`'s private /dev/shm (its
    /// libqb blackbox, 8 MB, and its IPC rings): a crashed host reboots with an empty
    /// /dev/shm, and without this the lab's 64 MB tmpfs is full after a few crashes and the
    /// next corosync cannot serve its clients (`No space left on device`).
    fn remove_shm_leftovers(&self, index: usize, pid: u32) -> Result<()> {
        let holder = self.holder(index)?;
        let shm = std::path::PathBuf::from(format!("/proc/{holder}/root/dev/shm"));
        let entries = std::fs::read_dir(&shm).map_err(|error| Error::io(&shm, error))?;
        let prefixes = [format!("qb-corosync-{pid}-"), format!("qb-{pid}-")];
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !prefixes.iter().any(|prefix| name.starts_with(prefix.as_str())) {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|error| Error::io(&path, error))?;
        }
        Ok(())
    }

    /// Runs `fault` (a lab call that injects a fault without waiting for its outcome, e.g.
    /// `partition(.., false)`) between two clock readings.
    pub fn timed<T>(&mut self, fault: impl FnOnce(&mut Lab) -> Result<T>) -> Result<(T, FaultWindow)> {
        let before = SystemTime::now();
        let value = fault(self)?;
        let after = SystemTime::now();
        Ok((value, FaultWindow { before, after }))
    }

    /// The marks in node `nodeid`'s corosync log timed at or after `since`. Fails when the
    /// log's lines carry no millisecond timestamps (`logging { timestamp: hires }` is needed).
    pub fn log_marks(&self, nodeid: NodeId, since: SystemTime) -> Result<Vec<LogMark>> {
        let index = self.index_of(nodeid)?;
        let node = &self.state.nodes[index];
        let path = node.dir(&self.dir).join("var-log-corosync").join("corosync.log");
        let text = std::fs::read_to_string(&path).map_err(|error| Error::io(&path, error))?;
        let offset_ms = local_offset_ms()?;
        let mut marks = Vec::new();
        for line in text.lines() {
            let Some(kind) = mark_kind(line) else {
                continue;
            };
            let Some(line_ms) = time_of_day_ms(line) else {
                return Err(Error::Lab {
                    dir: self.dir.clone(),
                    message: format!(
                        "node {}: {} has no millisecond timestamps (`{line}`); set `logging {{ timestamp: hires }}`",
                        node.name,
                        path.display()
                    ),
                });
            };
            let at = moment(since, offset_ms, line_ms);
            // Lines are logged to the millisecond, the window's clock is finer: a line of the
            // fault's own millisecond counts.
            if signed_ms(since, at) >= -1 {
                marks.push(LogMark {
                    nodeid,
                    kind,
                    at,
                    line: line.to_string(),
                });
            }
        }
        Ok(marks)
    }

    /// Waits (polling the logs every 50 ms, at most `limit`) until every node of `nodeids`
    /// logged a mark of `kind` at or after `since`; returns every node's marks since then.
    pub fn wait_marks(
        &self,
        nodeids: &[NodeId],
        kind: MarkKind,
        since: SystemTime,
        limit: Duration,
    ) -> Result<Vec<LogMark>> {
        let deadline = Instant::now() + limit;
        loop {
            let mut all = Vec::new();
            for nodeid in nodeids {
                all.extend(self.log_marks(*nodeid, since)?);
            }
            let missing: Vec<NodeId> = nodeids
                .iter()
                .copied()
                .filter(|nodeid| !all.iter().any(|mark| mark.nodeid == *nodeid && mark.kind == kind))
                .collect();
            if missing.is_empty() {
                return Ok(all);
            }
            if Instant::now() > deadline {
                let names: Vec<String> = missing.iter().map(NodeId::to_string).collect();
                return Err(Error::Lab {
                    dir: self.dir.clone(),
                    message: format!(
                        "node(s) {} logged no {kind:?} within {} s of the fault",
                        names.join(", "),
                        limit.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_marks_and_their_time_of_day() {
        let line = "Dec 07 07:49:10.189 [25345] n1 corosync notice  [TOTEM ] A new membership (1.11) was formed. Members left: 3";
        assert_eq!(mark_kind(line), Some(MarkKind::Membership));
        assert_eq!(time_of_day_ms(line), Some(((7 * 60 + 49) * 60 + 10) * 1000 + 189));
        assert_eq!(
            mark_kind("Dec 07 07:49:10.189 [25345] n1 corosync notice  [QUORUM] Members[2]: 1 2"),
            Some(MarkKind::Quorum)
        );
        assert_eq!(
            mark_kind(
                "Dec 07 07:49:03.389 [25345] n1 corosync info    [KNET  ] link: host: 3 link: 0 is down"
            ),
            Some(MarkKind::LinkDown)
        );
        assert_eq!(
            mark_kind("Dec 07 07:49:05.805 [1] n1 corosync notice  [TOTEM ] A processor failed, forming new configuration: token timed out (3650ms), waiting 4380ms for consensus."),
            Some(MarkKind::TokenTimeout)
        );
        assert_eq!(
            mark_kind("Dec 07 07:49:10.189 [1] n1 corosync notice  [QUORUM] Sync members[2]: 1 2"),
            None
        );
        // `timestamp: on` has whole seconds only.
        assert_eq!(
            time_of_day_ms("Dec 07 07:49:10 [25345] n1 corosync notice  [TOTEM ] A new membership"),
            None
        );
    }

    #[test]
    fn a_time_of_day_is_placed_next_to_its_reference_across_midnight() {
        // 1970-01-02 00:00:00.500 UTC; a line at 23:59:59.900 is 600 ms before it.
        let reference = UNIX_EPOCH + Duration::from_millis(86_400_500);
        assert_eq!(
            moment(reference, 0, DAY_MS - 100),
            reference - Duration::from_millis(600)
        );
        assert_eq!(
            moment(reference, 0, 1500),
            reference + Duration::from_millis(1000)
        );
        // At UTC+01:00 the same instant reads 01:00:00.500 locally.
        assert_eq!(
            moment(reference, 3_600_000, 3_600_500 + 250),
            reference + Duration::from_millis(250)
        );
        let window = FaultWindow {
            before: reference,
            after: reference + Duration::from_millis(40),
        };
        assert_eq!(
            window.delay_ms(reference + Duration::from_millis(1000)),
            (960, 1000)
        );
        assert_eq!(window.width_ms(), 40);
    }
}
