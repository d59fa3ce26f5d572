//! A driver for the real `corosync-vqsim` (3.1.7): one simulator process per [`Vqsim`], fed one
//! command at a time through a pipe, with its state read by `show` once it has settled.
//!
//! Why interactive: vqsim runs piped commands as fast as it reads them and `show` prints each
//! node's last quorum callback, so a script piped in at once prints stale state (spec 8.2, Q6).
//! [`Vqsim::settle`] therefore polls `show` until every partition agrees on one ring, every
//! node's member list is its partition, and two polls in a row print the same thing.
//!
//! How it runs vqsim (spec 8.1, 8.2): the configuration is written as `c.conf` into a fresh
//! directory and vqsim is started there with `-c c.conf` (Q1: a `-c` path of 8 or more
//! characters is refused). The directory is also votequorum's state directory (Q11); it is
//! removed when the value is dropped, and the process is killed if it is still running.
//! This module knows nothing of quorate's engine and asserts nothing about quorum; it only
//! reports what the real software printed. It sends no network traffic (vqsim has none).

use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The program name; CI installs it with the Debian package `corosync-vqsim`.
pub const PROGRAM: &str = "corosync-vqsim";

/// How long one command's echo, or one `show`, may take before the driver gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Numbers the working directories of this process.
static NEXT_DIRECTORY: AtomicU32 = AtomicU32::new(0);

/// Whether `corosync-vqsim` can be run (it is on `PATH`).
pub fn installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|directory| directory.join(PROGRAM).is_file()))
}

/// One line of `show`: a running node as vqsim last heard from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeState {
    /// The vqsim partition the node is in (0..=15).
    pub partition: u8,
    /// The node id.
    pub nodeid: u32,
    /// `q=1`; `None` while vqsim has no quorum callback from the node yet (`q=UNINITIALIZED`).
    pub quorate: Option<bool>,
    /// The ring id of the node's last callback: representative and sequence number.
    pub ring: (u32, u64),
    /// The node's view of the membership, sorted ascending.
    pub members: Vec<u32>,
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quorate = match self.quorate {
            Some(true) => "1",
            Some(false) => "0",
            None => "?",
        };
        write!(
            f,
            "{}:{} q={} ring={}.{:x} nodes={:?}",
            self.partition, self.nodeid, quorate, self.ring.0, self.ring.1, self.members
        )
    }
}

/// Parses one `show` line: `<partition>:<nodeid>: q=<0|1> ring=[<rep>.<seq hex>] nodes=[...]`.
pub fn parse_show_line(line: &str) -> Option<NodeState> {
    let (partition, rest) = line.split_once(':')?;
    let partition = partition.trim().parse::<u8>().ok()?;
    let (nodeid, rest) = rest.split_once(':')?;
    let nodeid = nodeid.trim().parse::<u32>().ok()?;
    let rest = rest.trim();
    if rest.starts_with("q=UNINITIALIZED") {
        return Some(NodeState {
            partition,
            nodeid,
            quorate: None,
            ring: (0, 0),
            members: Vec::new(),
        });
    }
    let quorate = match rest.strip_prefix("q=")?.chars().next()? {
        '1' => true,
        '0' => false,
        _ => return None,
    };
    let ring_text = rest.split("ring=[").nth(1)?.split(']').next()?;
    // 3.1.7 prints `rep.seq` in hex; later versions print `rep/seq` in decimal.
    let ring = if let Some((rep, seq)) = ring_text.split_once('.') {
        (
            u32::from_str_radix(rep, 16).ok()?,
            u64::from_str_radix(seq, 16).ok()?,
        )
    } else {
        let (rep, seq) = ring_text.split_once('/')?;
        (rep.parse().ok()?, seq.parse().ok()?)
    };
    let nodes_text = rest.split("nodes=[").nth(1)?.split(']').next()?;
    let mut members = nodes_text
        .split_whitespace()
        .map(|word| word.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()?;
    members.sort_unstable();
    Some(NodeState {
        partition,
        nodeid,
        quorate: Some(quorate),
        ring,
        members,
    })
}

/// Whether a `show` snapshot is settled: every partition's nodes share one ring id and each
/// node's membership is exactly its partition.
pub fn is_consistent(states: &[NodeState]) -> bool {
    states.iter().all(|state| {
        let mut partition: Vec<u32> = states
            .iter()
            .filter(|other| other.partition == state.partition)
            .map(|other| other.nodeid)
            .collect();
        partition.sort_unstable();
        state.quorate.is_some()
            && state.members == partition
            && states
                .iter()
                .filter(|other| other.partition == state.partition)
                .all(|other| other.ring == state.ring)
    })
}

/// A running `corosync-vqsim` in its own working directory.
pub struct Vqsim {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    directory: PathBuf,
    /// Every line read from stdout so far (for error messages).
    transcript: Vec<String>,
}

impl Vqsim {
    /// Starts vqsim on `config` (the text of a corosync.conf). Nodes with `ring0_addr` and
    /// `nodeid` start at once in partition 0; the call returns once their state has settled.
    pub fn start(config: &str) -> Result<Vqsim, String> {
        let directory = std::env::temp_dir().join(format!(
            "qrt-vqsim-{}-{}",
            std::process::id(),
            NEXT_DIRECTORY.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&directory).map_err(|error| format!("{}: {error}", directory.display()))?;
        fs::write(directory.join("c.conf"), config).map_err(|error| format!("c.conf: {error}"))?;
        let mut child = match Command::new(PROGRAM)
            .args(["-c", "c.conf"])
            .current_dir(&directory)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                let _ = fs::remove_dir_all(&directory);
                return Err(format!("cannot run {PROGRAM}: {error}"));
            }
        };
        let (Some(stdin), Some(stdout), Some(mut stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_dir_all(&directory);
            return Err("vqsim pipes are missing".to_string());
        };
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(count) = stderr_pipe.read(&mut buffer) {
                if count == 0 {
                    break;
                }
                if let Ok(mut text) = stderr_sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..count]));
                }
            }
        });
        let mut vqsim = Vqsim {
            child,
            stdin,
            lines,
            stderr,
            directory,
            transcript: Vec::new(),
        };
        vqsim.settle()?;
        Ok(vqsim)
    }

    /// What vqsim wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|text| text.clone()).unwrap_or_default()
    }

    fn failure(&self, what: &str) -> String {
        let tail: Vec<&String> = self.transcript.iter().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().map(String::as_str).collect();
        format!(
            "vqsim: {what}\n-- stdout (last lines):\n{}\n-- stderr:\n{}",
            tail.join("\n"),
            self.stderr()
        )
    }

    fn next_line(&mut self, deadline: Instant) -> Result<String, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.transcript.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => Err(self.failure("no reply in time")),
            Err(RecvTimeoutError::Disconnected) => Err(self.failure("the process ended")),
        }
    }

    /// Writes one command and waits until vqsim has echoed it (it reads one line at a time,
    /// after the previous command finished). Does not wait for the state to settle.
    pub fn send(&mut self, command: &str) -> Result<(), String> {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .map_err(|error| self.failure(&format!("writing `{command}`: {error}")))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let line = self.next_line(deadline)?;
            let echoed = line
                .trim_start_matches("#vqsim>")
                .trim_start_matches("vqsim>")
                .trim();
            if echoed == command {
                return Ok(());
            }
        }
    }

    /// Runs `show` and parses its node lines.
    pub fn show(&mut self) -> Result<Vec<NodeState>, String> {
        self.send("show")?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut states = Vec::new();
        loop {
            let line = self.next_line(deadline)?;
            if line.starts_with("#autofence:") {
                states.sort_by_key(|state: &NodeState| state.nodeid);
                return Ok(states);
            }
            if let Some(state) = parse_show_line(&line) {
                states.push(state);
            }
        }
    }

    /// Polls `show` until the state is consistent (see [`is_consistent`]) and stays the same
    /// for a quiet period: at least `SETTLE_QUIET`, and twice as long as it took to become
    /// consistent (a loaded machine delays vqsim's 10 ms sync timers and message relays).
    /// Returns that state. Fails after `SETTLE_TIMEOUT`.
    pub fn settle(&mut self) -> Result<Vec<NodeState>, String> {
        const SETTLE_POLL: Duration = Duration::from_millis(15);
        const SETTLE_QUIET: Duration = Duration::from_millis(40);
        const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
        let started = Instant::now();
        let deadline = started + SETTLE_TIMEOUT;
        // The last consistent state and when it was first seen.
        let mut stable: Option<(Vec<NodeState>, Instant)> = None;
        loop {
            thread::sleep(SETTLE_POLL);
            let states = self.show()?;
            let now = Instant::now();
            if !is_consistent(&states) {
                stable = None;
            } else {
                match &stable {
                    Some((seen, since)) if *seen == states => {
                        let quiet = SETTLE_QUIET.max(since.duration_since(started) * 2);
                        if now.duration_since(*since) >= quiet {
                            return Ok(states);
                        }
                    }
                    _ => stable = Some((states.clone(), now)),
                }
            }
            if now > deadline {
                let shown: Vec<String> = states.iter().map(ToString::to_string).collect();
                return Err(self.failure(&format!("state did not settle: {}", shown.join("; "))));
            }
        }
    }

    /// Waits `pause`, then settles again: a second look before calling a result final.
    pub fn settle_after(&mut self, pause: Duration) -> Result<Vec<NodeState>, String> {
        thread::sleep(pause);
        self.settle()
    }

    /// Runs one command and returns the settled state after it.
    pub fn run(&mut self, command: &str) -> Result<Vec<NodeState>, String> {
        self.send(command)?;
        self.settle()
    }
}

impl Drop for Vqsim {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "q");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        let _ = fs::remove_dir_all(&self.directory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_lines_parse_in_both_ring_formats() {
        let state = parse_show_line("1:3: q=0 ring=[3.1c] nodes=[3 1]").unwrap();
        assert_eq!(
            state,
            NodeState {
                partition: 1,
                nodeid: 3,
                quorate: Some(false),
                ring: (3, 0x1c),
                members: vec![1, 3]
            }
        );
        let state = parse_show_line("0:02: q=1 ring=[1/12] nodes=[1 2]").unwrap();
        assert_eq!(state.ring, (1, 12));
        assert_eq!(
            parse_show_line("0:10: q=1 ring=[a.10] nodes=[10 1]")
                .unwrap()
                .ring,
            (10, 16)
        );
        assert_eq!(parse_show_line("0:3: Quit (on request)"), None);
        assert_eq!(parse_show_line("#autofence: off"), None);
    }
}
