//! apply on simulated nodes: every branch of the preflight, the step loop, the journal and
//! `--resume`, and that no authkey byte reaches an event, the journal or an error.
//!
//! `SimNode` is a `FakeNode` (files, call log) whose corosync is a small shared cluster:
//! `systemctl start|stop|restart corosync` change who runs and the ring id (a restarted node
//! rejoins after a few of its own readings), `corosync-quorumtool -s -p` answers from it, and hooks can
//! kill a node's corosync or raise a signal when a given command runs. `pvecm` commands do
//! what a test tells them (`Pvecm`: the file pmxcfs copies to the members, the node started,
//! the expected votes after), since there is no Proxmox VE in the lab.

use super::execute::{backup_name, execute, BACKUP_SCRIPT};
use super::journal::{self, Record};
use super::observe::OBSERVE;
use super::plan::{Plan, Snapshot, Step};
use super::preflight::{preflight, FREE_SPACE, MISSING_PROGRAMS};
use super::{dry_run, reachable, ApplyOptions, Event, Nodes, Outcome};
use crate::status::reading::{sha256_hex, COROSYNC_CONF};
use crate::transport::{CommandOutput, FakeCall, FakeNode, Remote};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn conf(version: u32, extra: &str) -> String {
    format!(
        "totem {{\n version: 2\n cluster_name: c\n config_version: {version}\n crypto_cipher: aes256\n crypto_hash: sha256\n}}\n\
         nodelist {{\n node {{\n  nodeid: 1\n  name: n1\n  ring0_addr: 198.18.0.1\n }}\n node {{\n  nodeid: 2\n  name: n2\n  ring0_addr: 198.18.0.2\n }}\n\
         node {{\n  nodeid: 3\n  name: n3\n  ring0_addr: 198.18.0.3\n }}\n}}\nquorum {{\n provider: corosync_votequorum\n{extra}}}\n"
    )
}

fn ok(text: &str) -> CommandOutput {
    CommandOutput {
        code: Some(0),
        stdout: text.as_bytes().to_vec(),
        stderr: Vec::new(),
    }
}

fn failed(code: i32, stderr: &str) -> CommandOutput {
    CommandOutput {
        code: Some(code),
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

#[derive(Default)]
struct Cluster {
    running: BTreeSet<u32>,
    ring: u32,
    /// Restarted nodes and the readings left until they rejoin.
    rejoining: BTreeMap<u32, u32>,
    /// A restarted node that never comes back.
    start_fails: BTreeSet<u32>,
    /// When this (node, command) runs, corosync on the third node dies three readings later.
    kill_on: Option<(u32, String, u32)>,
    /// Readings left before the armed kill, and its victim.
    kill_armed: Option<(u32, u32)>,
    /// When this (node, command) runs, the cancel flag is raised.
    signal_on: Option<(u32, String)>,
    /// When this (node, command) runs, the third node can no longer be reached (its sshd
    /// killed, connection and all).
    cut_off_on: Option<(u32, String, u32)>,
    /// Nodes that cannot be reached.
    cut_off: BTreeSet<u32>,
    /// When this (node, command) runs, the cancel flag is raised and the command's ssh
    /// process dies of the same signal (exit 255), as a terminal's Ctrl-C does.
    signal_kills_on: Option<(u32, String)>,
    missing_programs: BTreeMap<u32, String>,
    free_kib: BTreeMap<u32, u64>,
    addresses: BTreeMap<u32, Vec<String>>,
    /// The expected votes the quorum tool shows (3 when unset); quorate is a majority of it.
    expected: Option<u32>,
    /// Simulated pvecm (Proxmox), by command line.
    pvecm: BTreeMap<String, Pvecm>,
    /// Files pmxcfs delivers to a node's /etc/corosync, written at its next command.
    delivered: BTreeMap<u32, Vec<u8>>,
}

/// What a simulated `pvecm create|add|delnode` command does: the file it leaves in /etc/pve,
/// which pmxcfs copies to the members' /etc/corosync (and `pvecm add` to the joining node),
/// the node whose corosync it starts, the expected votes after the reload pmxcfs triggers.
#[derive(Clone, Debug, Default)]
struct Pvecm {
    /// pvecm refuses: exit 255 with this message, nothing changes.
    refuses: Option<String>,
    /// The file.
    file: Vec<u8>,
    /// The nodes that get it.
    to: Vec<u32>,
    /// The node corosync starts on (create, add).
    starts: Option<u32>,
    /// Expected votes after it.
    expected: u32,
}

struct SimNode {
    fake: FakeNode,
    id: u32,
    cluster: Arc<Mutex<Cluster>>,
    cancel: Arc<AtomicBool>,
}

impl SimNode {
    fn quorumtool(&self, cluster: &mut Cluster) -> CommandOutput {
        if let Some((left, victim)) = cluster.kill_armed {
            if left == 0 {
                cluster.running.remove(&victim);
                cluster.ring += 1;
                cluster.kill_armed = None;
            } else {
                cluster.kill_armed = Some((left - 1, victim));
            }
        }
        // A rejoining node comes back after a few of its own readings. (Counting every
        // node's readings made the outcome depend on the order the parallel readings of
        // one poll took: read last, the restarted node was already back.)
        let mut back = Vec::new();
        if let Some(left) = cluster.rejoining.get_mut(&self.id) {
            *left = left.saturating_sub(1);
            if *left == 0 {
                back.push(self.id);
            }
        }
        for id in back {
            cluster.rejoining.remove(&id);
            cluster.running.insert(id);
            cluster.ring += 1;
        }
        if !cluster.running.contains(&self.id) {
            return failed(1, "Cannot initialize QUORUM service\n");
        }
        let members: Vec<u32> = cluster.running.iter().copied().collect();
        let expected = cluster.expected.unwrap_or(3);
        let quorate = members.len() * 2 > usize::try_from(expected).unwrap_or(usize::MAX);
        let mut text = format!(
            "Quorum information\n------------------\nQuorum provider:  corosync_votequorum\nNodes:            {}\n\
             Node ID:          {}\nRing ID:          1.{}\nQuorate:          {}\n\nVotequorum information\n\
             ----------------------\nExpected votes:   {expected}\nHighest expected: {expected}\nTotal votes:      {}\nQuorum:           {}  \n\
             Flags:            {}\n\nMembership information\n----------------------\n    Nodeid      Votes    Qdevice Name\n",
            members.len(),
            self.id,
            cluster.ring,
            if quorate { "Yes" } else { "No" },
            members.len(),
            expected / 2 + 1,
            if quorate { "Quorate" } else { "" }
        );
        for id in &members {
            text.push_str(&format!("         {id}          1         NR n{id}\n"));
        }
        CommandOutput {
            code: Some(if quorate { 0 } else { 2 }),
            stdout: text.into_bytes(),
            stderr: Vec::new(),
        }
    }

    fn hooks(&self, cluster: &mut Cluster, line: &str) {
        if let Some((node, command, victim)) = &cluster.kill_on {
            if *node == self.id && command == line {
                cluster.kill_armed = Some((3, *victim));
                cluster.kill_on = None;
            }
        }
        if let Some((node, command, victim)) = &cluster.cut_off_on {
            if *node == self.id && command == line {
                let victim = *victim;
                cluster.cut_off.insert(victim);
                cluster.cut_off_on = None;
            }
        }
        if let Some((node, command)) = &cluster.signal_on {
            if *node == self.id && command == line {
                self.cancel.store(true, Ordering::SeqCst);
            }
        }
    }
}

impl Remote for SimNode {
    fn node(&self) -> &str {
        self.fake.node()
    }

    fn run(&self, command: &[&str]) -> crate::Result<CommandOutput> {
        let mut cluster = self.cluster.lock().unwrap();
        let line = command.join(" ");
        self.hooks(&mut cluster, &line);
        // Recorded in the fake's call log, whatever the answer.
        let _ = self.fake.run(command);
        if let Some(bytes) = cluster.delivered.remove(&self.id) {
            self.fake.put_file(Path::new(COROSYNC_CONF), &bytes, 0o644);
        }
        if self.fake.file(Path::new("/unreachable")).is_some() || cluster.cut_off.contains(&self.id) {
            return Err(crate::Error::Remote {
                node: self.node().into(),
                command: line,
                message: "the node cannot be reached (sim)".into(),
            });
        }
        if let Some((node, killed)) = &cluster.signal_kills_on {
            if *node == self.id && *killed == line {
                cluster.signal_kills_on = None;
                self.cancel.store(true, Ordering::SeqCst);
                return Ok(failed(255, "Exiting on signal 2\n"));
            }
        }
        Ok(match command {
            cmd if cmd == OBSERVE => {
                let quorumtool = self.quorumtool(&mut cluster);
                let hash = self
                    .fake
                    .file(Path::new(COROSYNC_CONF))
                    // An empty file stands for none (a node that never had one).
                    .filter(|file| !file.bytes.is_empty())
                    .map_or("none".to_string(), |file| {
                        format!("{}  -", sha256_hex(&file.bytes))
                    });
                let text = format!(
                    "{}{}quorate-rc={}\n{hash}\n",
                    quorumtool.stdout_text(),
                    String::from_utf8_lossy(&quorumtool.stderr),
                    quorumtool.code.unwrap_or(1)
                );
                ok(&text)
            }
            ["systemctl", "restart", "corosync"] => {
                cluster.running.remove(&self.id);
                cluster.ring += 1;
                if !cluster.start_fails.contains(&self.id) {
                    cluster.rejoining.insert(self.id, 3);
                }
                ok("")
            }
            ["systemctl", "start", "corosync"] => {
                cluster.running.insert(self.id);
                cluster.ring += 1;
                ok("")
            }
            ["systemctl", "stop", "corosync"] => {
                cluster.running.remove(&self.id);
                cluster.ring += 1;
                ok("")
            }
            ["systemctl", "enable" | "disable", "corosync"] | ["corosync-cfgtool", "-R"] => ok(""),
            ["pvecm", ..] => match cluster.pvecm.get(&line).cloned() {
                None => failed(127, &format!("sim: unexpected command {line}")),
                Some(Pvecm {
                    refuses: Some(message),
                    ..
                }) => failed(255, &message),
                Some(pvecm) => {
                    for node in &pvecm.to {
                        if *node == self.id {
                            self.fake.put_file(Path::new(COROSYNC_CONF), &pvecm.file, 0o644);
                        } else {
                            cluster.delivered.insert(*node, pvecm.file.clone());
                        }
                    }
                    if let Some(node) = pvecm.starts {
                        cluster.running.insert(node);
                        cluster.ring += 1;
                    }
                    cluster.expected = Some(pvecm.expected);
                    ok("")
                }
            },
            ["sh", "-c", script, "sh", programs @ ..] if *script == MISSING_PROGRAMS => {
                let missing = cluster
                    .missing_programs
                    .get(&self.id)
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    programs.contains(&"systemctl") || programs.contains(&"corosync"),
                    "{programs:?}"
                );
                ok(&missing)
            }
            ["sh", "-c", script, "sh", _dir] if *script == FREE_SPACE => {
                let free = cluster.free_kib.get(&self.id).copied().unwrap_or(1_000_000);
                ok(&format!("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 2000000 1000 {free} 1% /\n"))
            }
            ["sh", "-c", script, "sh", dir, path, name] if *script == BACKUP_SCRIPT => {
                if let Some(file) = self.fake.file(Path::new(path)) {
                    let backup = PathBuf::from(format!("{dir}/{name}"));
                    if self.fake.file(&backup).is_none() {
                        self.fake.put_file(&backup, &file.bytes, file.mode);
                    }
                }
                ok("")
            }
            ["ip", "-j", "addr"] => {
                let addresses = cluster
                    .addresses
                    .get(&self.id)
                    .cloned()
                    .unwrap_or_else(|| vec![format!("198.18.0.{}", self.id)]);
                let infos: Vec<String> = addresses
                    .iter()
                    .map(|address| {
                        format!("{{\"family\":\"inet\",\"local\":\"{address}\",\"prefixlen\":24}}")
                    })
                    .collect();
                ok(&format!(
                    "[{{\"ifname\":\"lo\",\"addr_info\":[{{\"local\":\"127.0.0.1\"}}]}},{{\"ifname\":\"l0\",\"addr_info\":[{}]}}]",
                    infos.join(",")
                ))
            }
            ["test", "-s", path] => {
                if self
                    .fake
                    .file(Path::new(path))
                    .is_some_and(|file| !file.bytes.is_empty())
                {
                    ok("")
                } else {
                    failed(1, "")
                }
            }
            _ => failed(127, &format!("sim: unexpected command {line}")),
        })
    }

    fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> crate::Result<CommandOutput> {
        self.fake.run_with_stdin(command, stdin)
    }

    fn read_file(&self, path: &Path) -> crate::Result<Option<Vec<u8>>> {
        if self.fake.file(Path::new("/unreachable")).is_some() {
            return Err(crate::Error::Remote {
                node: self.node().into(),
                command: "read".into(),
                message: "the node cannot be reached (sim)".into(),
            });
        }
        self.fake.read_file(path)
    }

    fn write_file_atomic(&self, path: &Path, bytes: &[u8], mode: u32) -> crate::Result<()> {
        self.fake.write_file_atomic(path, bytes, mode)
    }
}

struct World {
    nodes: Vec<SimNode>,
    cluster: Arc<Mutex<Cluster>>,
    cancel: Arc<AtomicBool>,
    journal: PathBuf,
    events: Mutex<Vec<Event>>,
}

impl World {
    /// A running 3-node cluster whose nodes hold `text`.
    fn new(name: &str, text: &str) -> World {
        let cluster = Arc::new(Mutex::new(Cluster {
            running: [1, 2, 3].into(),
            ring: 10,
            ..Cluster::default()
        }));
        let cancel = Arc::new(AtomicBool::new(false));
        let nodes = (1..=3)
            .map(|id| {
                let fake = FakeNode::new(&format!("n{id}"));
                fake.put_file(Path::new(COROSYNC_CONF), text.as_bytes(), 0o644);
                SimNode {
                    fake,
                    id,
                    cluster: cluster.clone(),
                    cancel: cancel.clone(),
                }
            })
            .collect();
        let journal =
            std::env::temp_dir().join(format!("quorate-apply-{name}-{}.journal", std::process::id()));
        let _ = std::fs::remove_file(&journal);
        World {
            nodes,
            cluster,
            cancel,
            journal,
            events: Mutex::new(Vec::new()),
        }
    }

    /// Three nodes with no file and nothing running (a cluster to form).
    fn empty(name: &str) -> World {
        // An empty file reads as none.
        let world = World::new(name, "");
        world.cluster.lock().unwrap().running.clear();
        world
    }

    fn nodes(&self) -> Nodes<'_> {
        self.nodes
            .iter()
            .map(|node| (node.node().to_string(), Ok(node as &dyn Remote)))
            .collect()
    }

    fn options(&self, resume: bool) -> ApplyOptions {
        ApplyOptions {
            resume,
            journal: self.journal.clone(),
            poll_interval: Duration::from_millis(1),
            resume_command: format!(
                "quorate apply plan.json --inventory inv.toml --journal {} --resume",
                self.journal.display()
            ),
        }
    }

    /// Preflight, then (when it passes) the steps; the events are kept.
    fn apply(&self, plan: &Plan, resume: bool) -> (Outcome, Vec<super::Problem>) {
        self.apply_on(plan, &self.nodes(), resume)
    }

    fn apply_on(&self, plan: &Plan, nodes: &Nodes<'_>, resume: bool) -> (Outcome, Vec<super::Problem>) {
        let found = preflight(plan, nodes, resume, &self.journal).unwrap();
        if !found.problems.is_empty() {
            return (Outcome::Refused, found.problems);
        }
        let sink = |event: &Event| self.events.lock().unwrap().push(event.clone());
        let outcome = execute(
            plan,
            &reachable(nodes),
            &found,
            &self.options(resume),
            &self.cancel,
            &sink,
        )
        .unwrap();
        (outcome, Vec::new())
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The step the first `step_started` event names, if any.
    fn first_started_step(&self) -> Option<u32> {
        self.events().into_iter().find_map(|event| match event {
            Event::StepStarted { step, .. } => Some(step),
            _ => None,
        })
    }

    fn writes(&self) -> usize {
        self.nodes
            .iter()
            .flat_map(|node| node.fake.calls())
            .filter(|call| matches!(call, FakeCall::Write { .. }))
            .count()
    }

    fn ran(&self, line: &str) -> usize {
        self.nodes
            .iter()
            .flat_map(|node| node.fake.calls())
            .filter(|call| matches!(call, FakeCall::Run { command, .. } if command.join(" ") == line))
            .count()
    }

    fn hash(&self, index: usize) -> Option<String> {
        self.nodes[index]
            .fake
            .file(Path::new(COROSYNC_CONF))
            .map(|file| sha256_hex(&file.bytes))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.journal);
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| name.to_string()).collect()
}

fn all_running(hash: &str) -> Snapshot {
    Snapshot {
        members: vec![names(&["n1", "n2", "n3"])],
        quorate: names(&["n1", "n2", "n3"]),
        expected_votes: 3,
        config_sha256_by_node: ["n1", "n2", "n3"]
            .iter()
            .map(|n| (n.to_string(), hash.to_string()))
            .collect(),
        running: names(&["n1", "n2", "n3"]),
        qdevice_casting: None,
    }
}

fn step(
    id: u32,
    action: &str,
    nodes: &[&str],
    commands: &[(&str, &[&str])],
    pre: Snapshot,
    post: Snapshot,
) -> Step {
    Step {
        id,
        action: action.into(),
        nodes: names(nodes),
        config_sha256: None,
        commands: commands
            .iter()
            .map(|(node, lines)| {
                (
                    node.to_string(),
                    lines.iter().map(|line| line.to_string()).collect(),
                )
            })
            .collect(),
        pre,
        post,
        timeout_ms: 2_000,
        estimate_ms: 100,
        why: format!("{action} because"),
    }
}

/// `set quorum.wait_for_all=1`: write everywhere, reload, restart one node at a time, wait.
fn rolling_plan(from: &str, to: &str) -> Plan {
    let (a, b) = (sha256_hex(from.as_bytes()), sha256_hex(to.as_bytes()));
    let write = format!("write-file {COROSYNC_CONF} sha256:{b} mode:0644");
    let write = write.as_str();
    let mut steps = vec![step(
        1,
        "write_config",
        &["n1", "n2", "n3"],
        &[("n1", &[write]), ("n2", &[write]), ("n3", &[write])],
        all_running(&a),
        all_running(&b),
    )];
    steps.push(step(
        2,
        "reload",
        &["n1"],
        &[("n1", &["corosync-cfgtool -R"])],
        all_running(&b),
        all_running(&b),
    ));
    for (id, node) in [(3, "n1"), (4, "n2"), (5, "n3")] {
        steps.push(step(
            id,
            "restart",
            &[node],
            &[(node, &["systemctl restart corosync"])],
            all_running(&b),
            all_running(&b),
        ));
    }
    steps.push(step(
        6,
        "wait",
        &["n1", "n2", "n3"],
        &[],
        all_running(&b),
        all_running(&b),
    ));
    plan_of(from, to, steps)
}

/// A plan from `from` to `to` made of `steps`, hashed and read back as the binary reads it.
fn plan_of(from: &str, to: &str, steps: Vec<Step>) -> Plan {
    let (a, b) = (sha256_hex(from.as_bytes()), sha256_hex(to.as_bytes()));
    let mut plan = Plan {
        format: 1,
        from_sha256: Some(a),
        to_sha256: b.clone(),
        to_config: to.to_string(),
        temp_configs: BTreeMap::new(),
        nodeids: [("n1", 1), ("n2", 2), ("n3", 3)]
            .iter()
            .map(|(n, id)| (n.to_string(), *id))
            .collect(),
        qnetd_host: None,
        proxmox: false,
        verdict: "safe".into(),
        steps,
        plan_sha256: String::new(),
    };
    plan.plan_sha256 = sha256_hex(serde_json::to_string(&plan).unwrap().as_bytes());
    // Through the file format, as the binary reads it.
    Plan::from_json(
        &serde_json::to_string_pretty(&plan).unwrap(),
        Path::new("plan.json"),
    )
    .unwrap()
}

fn from_to() -> (String, String) {
    (conf(2, ""), conf(3, " wait_for_all: 1\n"))
}

/// How many readings (`OBSERVE`) the nodes answered.
fn readings(world: &World) -> usize {
    world.ran(&OBSERVE.join(" "))
}

#[test]
fn a_wait_step_is_verified_by_its_precondition_reading_and_polls_while_post_differs() {
    let text = conf(2, "");
    let a = sha256_hex(text.as_bytes());
    // pre = post, no commands: the precondition reading, taken after the step began, shows
    // post; nothing of the step runs, so it verifies the step (one reading per node, after
    // the preflight's one).
    let world = World::new("wait-once", &text);
    let wait = step(
        1,
        "wait",
        &["n1", "n2", "n3"],
        &[],
        all_running(&a),
        all_running(&a),
    );
    let plan = plan_of(&text, &text, vec![wait]);
    let (outcome, problems) = world.apply(&plan, false);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    assert_eq!(readings(&world), 3 * 2);
    // A post the precondition reading does not show is polled for, never taken from it: n3
    // never stops, so the step times out at its postcondition after more readings.
    let world = World::new("wait-polls", &text);
    let mut post = all_running(&a);
    post.running = names(&["n1", "n2"]);
    post.members = vec![names(&["n1", "n2"])];
    post.quorate = names(&["n1", "n2"]);
    let mut wait = step(1, "wait", &["n1", "n2", "n3"], &[], all_running(&a), post);
    wait.timeout_ms = 50;
    let plan = plan_of(&text, &text, vec![wait]);
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Failed { step: 1 }, "{:?}", world.events());
    let phase = world.events().into_iter().find_map(|event| match event {
        Event::Failed { phase, .. } => Some(phase),
        _ => None,
    });
    assert_eq!(phase.as_deref(), Some("postcondition"));
    assert!(readings(&world) > 3 * 2, "{}", readings(&world));
}

#[test]
fn a_rolling_restart_plan_runs_to_the_end_and_journals_every_step() {
    let (from, to) = from_to();
    let world = World::new("rolling", &from);
    let plan = rolling_plan(&from, &to);
    let (outcome, problems) = world.apply(&plan, false);
    assert!(problems.is_empty(), "{problems:?}");
    let Outcome::Done { floor_ms, .. } = outcome else {
        panic!("{outcome:?} {:?}", world.events());
    };
    // Three restarts of a 3-node cluster: 3 x (3650 + 4380) ms.
    assert_eq!(floor_ms, 3 * 8030);
    let target = Some(sha256_hex(to.as_bytes()));
    assert_eq!(
        (world.hash(0), world.hash(1), world.hash(2)),
        (target.clone(), target.clone(), target)
    );
    // The old file was kept first, on every node.
    let backup = format!(
        "/var/lib/quorate/backup/{}/{}",
        plan.plan_sha256,
        backup_name(COROSYNC_CONF)
    );
    for node in &world.nodes {
        assert_eq!(node.fake.file(Path::new(&backup)).unwrap().bytes, from.as_bytes());
    }
    assert_eq!(world.ran("systemctl restart corosync"), 3);
    let events = world.events();
    let done: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            Event::StepDone { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![1, 2, 3, 4, 5, 6]);
    // A restart is done only once the others saw the node leave and come back.
    assert!(
        events.iter().any(
            |event| matches!(event, Event::Waiting { step: 3, differences, .. }
        if differences.iter().any(|line| line.starts_with("running: expected n1,n2,n3, is n2,n3")))
        ),
        "{events:?}"
    );
    assert!(matches!(events.last(), Some(Event::Done { .. })));
    let records = journal::read(&world.journal).unwrap();
    let verified = records
        .iter()
        .filter(|record| matches!(record, Record::StepVerified { .. }))
        .count();
    let started = records
        .iter()
        .filter(|record| matches!(record, Record::StepStarted { .. }))
        .count();
    assert_eq!((started, verified), (6, 6));
    assert!(matches!(records.last(), Some(Record::Done { .. })));
    // Applying it again is refused by the journal: it is done.
    let (outcome, problems) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Refused);
    assert!(
        problems[0].message.contains("shows this plan applied already"),
        "{problems:?}"
    );
}

#[test]
fn drift_after_planning_is_refused_with_a_diff_before_anything_is_touched() {
    let (from, to) = from_to();
    let world = World::new("drift", &from);
    let edited = from.replace(" cluster_name: c\n", " cluster_name: c\n token: 5000\n");
    world.nodes[1]
        .fake
        .put_file(Path::new(COROSYNC_CONF), edited.as_bytes(), 0o644);
    let plan = rolling_plan(&from, &to);
    let (outcome, problems) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Refused);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .message
            .starts_with("n2: /etc/corosync/corosync.conf is not the file the plan starts from"),
        "{problems:?}"
    );
    assert!(
        problems[0].diff.contains(&"+  token: 5000".to_string()),
        "{:?}",
        problems[0].diff
    );
    assert_eq!(world.writes(), 0);
    assert_eq!(world.ran("systemctl restart corosync"), 0);
    assert!(!world.journal.exists(), "the preflight writes no journal");
}

#[test]
fn the_preflight_refuses_unreachable_unknown_unbound_unequipped_and_full_nodes() {
    let (from, to) = from_to();
    let world = World::new("preflight", &from);
    let plan = rolling_plan(&from, &to);
    {
        let mut cluster = world.cluster.lock().unwrap();
        cluster.missing_programs.insert(1, "systemctl\n".into());
        cluster.free_kib.insert(2, 10);
        cluster.addresses.insert(3, vec!["198.18.0.33".into()]);
    }
    let (outcome, problems) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Refused);
    let messages: Vec<&str> = problems.iter().map(|problem| problem.message.as_str()).collect();
    let all = messages.join("\n");
    assert!(
        all.contains("n1: not installed (not in PATH): systemctl"),
        "{all}"
    );
    assert!(
        all.contains("n2: /etc/corosync has 10 KiB free; writing needs at least"),
        "{all}"
    );
    assert!(
        all.contains("n3: the target's ring0_addr 198.18.0.3 is not configured on the node (`ip -j addr` has 127.0.0.1, 198.18.0.33)"),
        "{all}"
    );
    // Unreachable and missing from the inventory.
    let mut nodes = world.nodes();
    nodes.insert("n2".into(), Err("ssh to node n2: connection refused".into()));
    nodes.remove("n3");
    let (outcome, problems) = world.apply_on(&plan, &nodes, false);
    assert_eq!(outcome, Outcome::Refused);
    let all: Vec<String> = problems.iter().map(|problem| problem.message.clone()).collect();
    assert_eq!(
        all,
        vec![
            "n2: cannot be reached: ssh to node n2: connection refused".to_string(),
            "n3: the plan names it but the inventory does not: add it to the inventory".to_string()
        ]
    );
    assert_eq!(world.writes(), 0);
}

#[test]
fn a_cluster_not_where_the_plan_starts_is_refused() {
    let (from, to) = from_to();
    let world = World::new("runtime", &from);
    world.cluster.lock().unwrap().running.remove(&3);
    let (outcome, problems) = world.apply(&rolling_plan(&from, &to), false);
    assert_eq!(outcome, Outcome::Refused);
    let all: Vec<String> = problems.iter().map(|problem| problem.message.clone()).collect();
    assert!(
        all.contains(
            &"the cluster is not where step 1 starts: running: expected n1,n2,n3, is n1,n2".to_string()
        ),
        "{all:?}"
    );
    assert!(
        all.contains(
            &"the cluster is not where step 1 starts: memberships: expected [n1,n2,n3], are [n1,n2]"
                .to_string()
        ),
        "{all:?}"
    );
    assert_eq!(world.writes(), 0);
}

#[test]
fn corosync_killed_mid_plan_stops_at_the_next_precondition_and_resume_continues_once_fixed() {
    let (from, to) = from_to();
    let world = World::new("killed", &from);
    // n3's corosync dies once step 2's postcondition was read (3 readings later).
    world.cluster.lock().unwrap().kill_on = Some((1, "corosync-cfgtool -R".into(), 3));
    let plan = rolling_plan(&from, &to);
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Failed { step: 3 }, "{:?}", world.events());
    let failed = world
        .events()
        .into_iter()
        .find(|event| matches!(event, Event::Failed { .. }))
        .unwrap();
    let Event::Failed {
        phase,
        differences,
        resume,
        ..
    } = failed
    else {
        unreachable!()
    };
    assert_eq!(phase, "precondition");
    assert!(
        differences
            .iter()
            .any(|line| line.contains("memberships: expected [n1,n2,n3]")),
        "{differences:?}"
    );
    assert!(resume.ends_with("--resume"), "{resume}");
    assert_eq!(
        world.ran("systemctl restart corosync"),
        0,
        "nothing is restarted once the precondition fails"
    );
    // Without --resume the journal refuses a second run.
    let (outcome, problems) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Refused);
    assert!(
        problems[0]
            .message
            .contains("unfinished run of this plan (last verified step 2)"),
        "{problems:?}"
    );
    // Resuming before the fix is refused (the cluster is not where step 3 starts) ...
    let (outcome, problems) = world.apply(&plan, true);
    assert_eq!(outcome, Outcome::Refused, "{problems:?}");
    // ... and after it continues at step 3.
    world.cluster.lock().unwrap().running.insert(3);
    world.events.lock().unwrap().clear();
    let (outcome, problems) = world.apply(&plan, true);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    let first = world.first_started_step();
    assert_eq!(first, Some(3));
    assert_eq!(world.ran("systemctl restart corosync"), 3);
}

#[test]
fn a_node_lost_while_waiting_stops_at_once_naming_it_and_resume_continues_once_back() {
    let (from, to) = from_to();
    let world = World::new("lost", &from);
    // n3 can no longer be reached once n1 reloads (step 2): step 2's wait reads it.
    world.cluster.lock().unwrap().cut_off_on = Some((1, "corosync-cfgtool -R".into(), 3));
    let mut plan = rolling_plan(&from, &to);
    // A timeout the run would wait out if it polled on: it stops at the first reading.
    plan.steps[1].timeout_ms = 3_600_000;
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Failed { step: 2 }, "{:?}", world.events());
    let Some(Event::Failed {
        phase,
        message,
        differences,
        resume,
        ..
    }) = world
        .events()
        .into_iter()
        .find(|event| matches!(event, Event::Failed { .. }))
    else {
        panic!("no failed event");
    };
    assert_eq!(phase, "postcondition");
    assert!(
        message.starts_with("step 2: lost n3: node n3: `sh -c"),
        "{message}"
    );
    assert!(message.contains("the node cannot be reached (sim)"), "{message}");
    assert!(
        differences
            .iter()
            .any(|line| line.starts_with("n3: cannot be read: ")),
        "{differences:?}"
    );
    assert!(resume.ends_with("--resume"), "{resume}");
    assert_eq!(world.ran("systemctl restart corosync"), 0, "nothing went on");
    // While n3 is still unreachable, resume is refused by the preflight.
    let (outcome, problems) = world.apply(&plan, true);
    assert_eq!(outcome, Outcome::Refused, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|problem| problem.node.as_deref() == Some("n3")),
        "{problems:?}"
    );
    // Back: the run goes on at step 2 (a reload's pre and post are the same snapshot here, so
    // the cluster shows where step 2 starts: reloading again is harmless).
    world.cluster.lock().unwrap().cut_off.clear();
    world.events.lock().unwrap().clear();
    let (outcome, problems) = world.apply(&plan, true);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    let first = world.first_started_step();
    assert_eq!(first, Some(2));
    assert_eq!(world.ran("systemctl restart corosync"), 3);
}

#[test]
fn a_postcondition_that_never_holds_stops_with_expected_and_actual() {
    let (from, to) = from_to();
    let world = World::new("timeout", &from);
    world.cluster.lock().unwrap().start_fails.insert(2);
    let mut plan = rolling_plan(&from, &to);
    plan.steps[3].timeout_ms = 50;
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Failed { step: 4 });
    let Some(Event::Failed {
        phase,
        message,
        differences,
        ..
    }) = world
        .events()
        .into_iter()
        .find(|event| matches!(event, Event::Failed { .. }))
    else {
        panic!("no failed event");
    };
    assert_eq!(phase, "postcondition");
    assert_eq!(message, "step 4 did not reach its postcondition within 50 ms");
    assert!(
        differences.contains(&"running: expected n1,n2,n3, is n1,n3".to_string()),
        "{differences:?}"
    );
    assert_eq!(world.ran("systemctl restart corosync"), 2, "n3 is not restarted");
}

#[test]
fn resume_finds_an_interrupted_write_done_or_redoes_a_partial_one() {
    let (from, to) = from_to();
    let plan = rolling_plan(&from, &to);
    // Done: the files are the new ones, the journal has step 1 started only.
    let world = World::new("resume-done", &from);
    let mut journal = journal::Journal::open(&world.journal).unwrap();
    for record in [
        Record::Begin {
            plan_sha256: plan.plan_sha256.clone(),
            at_ms: 0,
            resume: false,
        },
        Record::StepStarted {
            plan_sha256: plan.plan_sha256.clone(),
            step: 1,
            at_ms: 0,
        },
    ] {
        journal.append(&record).unwrap();
    }
    for node in &world.nodes {
        node.fake.put_file(Path::new(COROSYNC_CONF), to.as_bytes(), 0o644);
    }
    let found = preflight(&plan, &world.nodes(), true, &world.journal).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!((found.start, found.found_done.clone()), (1, vec![1]));
    // Partial: only n1 has the new file: step 1 is redone (idempotent).
    let world = World::new("resume-partial", &from);
    let mut journal = journal::Journal::open(&world.journal).unwrap();
    journal
        .append(&Record::StepStarted {
            plan_sha256: plan.plan_sha256.clone(),
            step: 1,
            at_ms: 0,
        })
        .unwrap();
    world.nodes[0]
        .fake
        .put_file(Path::new(COROSYNC_CONF), to.as_bytes(), 0o644);
    let (outcome, problems) = world.apply(&plan, true);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?} {:?}",
        world.events()
    );
    assert_eq!(world.writes(), 3);
    // Neither: a third version on n2 is refused, saying against what.
    let world = World::new("resume-neither", &from);
    let mut journal = journal::Journal::open(&world.journal).unwrap();
    journal
        .append(&Record::StepStarted {
            plan_sha256: plan.plan_sha256.clone(),
            step: 1,
            at_ms: 0,
        })
        .unwrap();
    world.nodes[1]
        .fake
        .put_file(Path::new(COROSYNC_CONF), b"other", 0o644);
    let (outcome, problems) = world.apply(&plan, true);
    assert_eq!(outcome, Outcome::Refused);
    assert!(
        problems[0]
            .message
            .contains("neither where step 1 starts nor where it ends"),
        "{problems:?}"
    );
    // --resume without a journal of this plan.
    let world = World::new("resume-none", &from);
    let (outcome, problems) = world.apply(&plan, true);
    assert_eq!(outcome, Outcome::Refused);
    assert!(
        problems[0]
            .message
            .contains("has no run of this plan; run without --resume"),
        "{problems:?}"
    );
}

#[test]
fn a_signal_finishes_the_command_in_flight_records_it_and_stops() {
    let (from, to) = from_to();
    let world = World::new("signal", &from);
    world.cluster.lock().unwrap().signal_on = Some((1, "corosync-cfgtool -R".into()));
    let plan = rolling_plan(&from, &to);
    let (outcome, _) = world.apply(&plan, false);
    // The reload in flight finished and was verified; the run stops before step 3.
    assert_eq!(outcome, Outcome::Interrupted { step: 3 });
    let records = journal::read(&world.journal).unwrap();
    assert!(records.iter().any(|record| matches!(record, Record::CommandDone { step: 2, command, .. } if command == "corosync-cfgtool -R")));
    assert!(records
        .iter()
        .any(|record| matches!(record, Record::StepVerified { step: 2, .. })));
    assert!(matches!(records.last(), Some(Record::Stopped { step: 3, .. })));
    assert!(world
        .events()
        .iter()
        .any(|event| matches!(event, Event::Interrupted { step: 3, resume, unfinished: None } if resume.contains("--resume"))));
    assert_eq!(world.ran("systemctl restart corosync"), 0);
    world.cancel.store(false, Ordering::SeqCst);
    world.cluster.lock().unwrap().signal_on = None;
    world.events.lock().unwrap().clear();
    let (outcome, problems) = world.apply(&plan, true);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    assert!(matches!(
        world.events().first(),
        Some(Event::StepStarted { step: 3, .. })
    ));
    // A signal between two commands of one node stops before the second.
    let world = World::new("signal-between", &from);
    world.cluster.lock().unwrap().signal_on = Some((1, "systemctl stop corosync".into()));
    let mut plan = rolling_plan(&from, &to);
    plan.steps[2].commands.insert(
        "n1".into(),
        vec![
            "systemctl stop corosync".into(),
            "systemctl start corosync".into(),
        ],
    );
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Interrupted { step: 3 });
    assert_eq!(world.ran("systemctl start corosync"), 0);
    let records = journal::read(&world.journal).unwrap();
    assert!(
        matches!(records.last(), Some(Record::Stopped { step: 3, reason }) if reason == "interrupted between commands")
    );
}

#[test]
fn a_signal_that_kills_the_command_in_flight_interrupts_with_its_outcome_unknown() {
    let (from, to) = from_to();
    let world = World::new("sigkills", &from);
    world.cluster.lock().unwrap().signal_kills_on = Some((1, "corosync-cfgtool -R".into()));
    let plan = rolling_plan(&from, &to);
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Interrupted { step: 2 }, "{:?}", world.events());
    let events = world.events();
    assert!(
        !events.iter().any(|event| matches!(event, Event::Failed { .. })),
        "{events:?}"
    );
    let unfinished = events.iter().find_map(|event| match event {
        Event::Interrupted {
            step: 2,
            unfinished: Some(unfinished),
            ..
        } => Some(unfinished.clone()),
        _ => None,
    });
    assert_eq!(
        unfinished.as_deref(),
        Some("n1: `corosync-cfgtool -R`: exit code 255: Exiting on signal 2")
    );
    let records = journal::read(&world.journal).unwrap();
    assert!(
        matches!(records.last(), Some(Record::Stopped { step: 2, reason }) if reason.contains("outcome on the node unknown")),
        "{records:?}"
    );
    // Resume reads the nodes: the cluster shows where step 2 starts, so it goes on there.
    world.cancel.store(false, Ordering::SeqCst);
    world.events.lock().unwrap().clear();
    let (outcome, problems) = world.apply(&plan, true);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    assert_eq!(world.ran("corosync-cfgtool -R"), 2);
}

#[test]
fn dry_run_lists_every_remote_command_and_touches_nothing() {
    let (from, to) = from_to();
    let world = World::new("dry", &from);
    let plan = rolling_plan(&from, &to);
    let found = preflight(&plan, &world.nodes(), false, &world.journal).unwrap();
    assert!(found.problems.is_empty());
    let events = Mutex::new(Vec::new());
    dry_run(&plan, found.start, &|event: &Event| {
        events.lock().unwrap().push(event.clone())
    });
    let events = events.into_inner().unwrap();
    let commands: Vec<(u32, String, Vec<String>)> = events
        .iter()
        .filter_map(|event| match event {
            Event::Command {
                step,
                node,
                remote,
                dry_run: true,
                ..
            } => Some((*step, node.clone(), remote.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(commands.len(), 3 + 1 + 3);
    let (_, node, remote) = &commands[0];
    assert_eq!(node, "n1");
    assert_eq!(
        remote[1],
        format!(
            "sh -c <atomic write script> sh /etc/corosync/corosync.conf 0644 {} < plan file sha256:{}",
            to.len(),
            plan.to_sha256
        )
    );
    assert!(remote[0].starts_with(&format!(
        "sh -c <backup script> sh /var/lib/quorate/backup/{} ",
        plan.plan_sha256
    )));
    assert_eq!(commands[4].2, vec!["systemctl restart corosync".to_string()]);
    assert_eq!(world.writes(), 0);
    assert_eq!(world.ran("systemctl restart corosync"), 0);
}

/// Standard base64, for looking for a key in output.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * index)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_authkey_goes_node_to_node_and_never_into_events_journal_or_errors() {
    let (from, _) = from_to();
    let world = World::new("secret", &from);
    let key: Vec<u8> = (0..256u32).map(|i| (i * 151 + 7) as u8).collect();
    world.nodes[0]
        .fake
        .put_file(Path::new("/etc/corosync/authkey"), &key, 0o400);
    let a = sha256_hex(from.as_bytes());
    let copy = "copy-file /etc/corosync/authkey from:n1 mode:0400";
    let mut plan = rolling_plan(&from, &from);
    plan.steps = vec![step(
        1,
        "install_authkey",
        &["n2", "n3"],
        &[("n2", &[copy]), ("n3", &[copy])],
        all_running(&a),
        all_running(&a),
    )];
    let (outcome, problems) = world.apply(&plan, false);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    for node in &world.nodes[1..] {
        let file = node.fake.file(Path::new("/etc/corosync/authkey")).unwrap();
        assert_eq!((file.bytes.as_slice(), file.mode), (key.as_slice(), 0o400));
    }
    // A failing copy (n3's disk full) names the node and the file, not the bytes.
    world.nodes[2].fake.fail_writes(Some("No space left on device"));
    world.nodes[2]
        .fake
        .put_file(Path::new("/etc/corosync/authkey"), b"old", 0o400);
    let _ = std::fs::remove_file(&world.journal);
    let (outcome, _) = world.apply(&plan, false);
    assert_eq!(outcome, Outcome::Failed { step: 1 });
    assert_eq!(
        world.nodes[2]
            .fake
            .file(Path::new("/etc/corosync/authkey"))
            .unwrap()
            .bytes,
        b"old"
    );
    let mut everything: Vec<String> = world
        .events()
        .iter()
        .map(|event| serde_json::to_string(event).unwrap())
        .collect();
    everything.push(std::fs::read_to_string(&world.journal).unwrap());
    let text = everything.join("\n");
    assert!(text.contains("No space left on device"), "{text}");
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    let lossy = String::from_utf8_lossy(&key[..32]).into_owned();
    for needle in [
        hex.clone(),
        hex.to_uppercase(),
        base64(&key),
        base64(&key[..30]),
        lossy,
    ] {
        assert!(!text.contains(&needle), "the key leaked as {needle}");
    }
    // The bytes went over stdin only: never in an argv.
    for node in &world.nodes {
        for call in node.fake.calls() {
            if let FakeCall::Run { command, .. } = call {
                assert!(!command
                    .iter()
                    .any(|word| word.contains(&hex[..16])
                        || word.as_bytes().windows(16).any(|w| w == &key[..16])));
            }
        }
    }
}

/// Two nodes' file (n1, n2) with `version`: a cluster after n3 is removed.
fn pair_conf(version: u32) -> String {
    format!(
        "totem {{\n version: 2\n cluster_name: c\n config_version: {version}\n crypto_cipher: aes256\n crypto_hash: sha256\n}}\n\
         nodelist {{\n node {{\n  nodeid: 1\n  name: n1\n  ring0_addr: 198.18.0.1\n }}\n node {{\n  nodeid: 2\n  name: n2\n  ring0_addr: 198.18.0.2\n }}\n}}\n\
         quorum {{\n provider: corosync_votequorum\n}}\n"
    )
}

/// The cluster: `running` nodes run, in one membership, `expected` votes, the files by node
/// (a node without one has none).
fn cluster_snapshot(running: &[&str], expected: u32, files: &[(&str, &str)]) -> Snapshot {
    Snapshot {
        members: if running.is_empty() {
            Vec::new()
        } else {
            vec![names(running)]
        },
        quorate: if running.len() * 2 > usize::try_from(expected).unwrap_or(0) {
            names(running)
        } else {
            Vec::new()
        },
        expected_votes: expected,
        config_sha256_by_node: files
            .iter()
            .map(|(node, text)| (node.to_string(), sha256_hex(text.as_bytes())))
            .collect(),
        running: names(running),
        qdevice_casting: None,
    }
}

/// A Proxmox plan from `from` (or a new cluster) to `to`, its pvecm files in `temp_configs`.
fn pve_plan(from: Option<&str>, to: &str, temp: &[&str], steps: Vec<Step>) -> Plan {
    let mut plan = plan_of(from.unwrap_or(""), to, steps);
    plan.from_sha256 = from.map(|from| sha256_hex(from.as_bytes()));
    plan.proxmox = true;
    plan.temp_configs = temp
        .iter()
        .map(|text| (sha256_hex(text.as_bytes()), text.to_string()))
        .collect();
    plan.plan_sha256 = String::new();
    plan.plan_sha256 = sha256_hex(serde_json::to_string(&plan).unwrap().as_bytes());
    Plan::from_json(
        &serde_json::to_string_pretty(&plan).unwrap(),
        Path::new("plan.json"),
    )
    .unwrap()
}

/// See: issue 11. Removing n3 on Proxmox: n3 leaves, then `pvecm delnode n3` on n1, which
/// leaves its file on the members (pmxcfs) and lowers expected votes; apply runs each command
/// where the plan says, checks each `pre` and waits for each `post`.
#[test]
fn a_proxmox_remove_node_plan_leaves_then_runs_pvecm_delnode_on_a_member() {
    let from = conf(2, "");
    let delnoded = pair_conf(3);
    let to = pair_conf(4);
    let world = World::new("pvecm-delnode", &from);
    world.cluster.lock().unwrap().pvecm.insert(
        "pvecm delnode n3".into(),
        Pvecm {
            file: delnoded.clone().into_bytes(),
            to: vec![1, 2],
            expected: 2,
            ..Pvecm::default()
        },
    );
    let all_from = [
        ("n1", from.as_str()),
        ("n2", from.as_str()),
        ("n3", from.as_str()),
    ];
    let after_leave = cluster_snapshot(&["n1", "n2"], 3, &all_from);
    let after_delnode = cluster_snapshot(
        &["n1", "n2"],
        2,
        &[("n1", &delnoded), ("n2", &delnoded), ("n3", &from)],
    );
    let plan = pve_plan(
        Some(&from),
        &to,
        &[&delnoded],
        vec![
            step(
                1,
                "leave",
                &["n3"],
                &[("n3", &["systemctl stop corosync", "systemctl disable corosync"])],
                cluster_snapshot(&["n1", "n2", "n3"], 3, &all_from),
                after_leave.clone(),
            ),
            step(
                2,
                "pvecm_delnode",
                &["n3"],
                &[("n1", &["pvecm delnode n3"])],
                after_leave,
                after_delnode.clone(),
            ),
            step(
                3,
                "wait",
                &["n1", "n2"],
                &[],
                after_delnode.clone(),
                after_delnode,
            ),
        ],
    );
    let (outcome, problems) = world.apply(&plan, false);
    assert!(
        matches!(outcome, Outcome::Done { .. }),
        "{outcome:?} {problems:?}"
    );
    assert_eq!(world.ran("pvecm delnode n3"), 1);
    assert!(world.nodes[0].fake.calls().iter().any(
        |call| matches!(call, FakeCall::Run { command, .. } if command.join(" ") == "pvecm delnode n3")
    ));
    assert_eq!(world.hash(1), Some(sha256_hex(delnoded.as_bytes())));
    assert_eq!(world.hash(2), Some(sha256_hex(from.as_bytes())));
    let verified: Vec<u32> = journal::read(&world.journal)
        .unwrap()
        .iter()
        .filter_map(|record| match record {
            Record::StepVerified { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(verified, [1, 2, 3]);

    // A node that runs again where the plan expects it down: the delnode step's `pre` fails
    // and pvecm never runs (a node is removed only once it is off).
    let world = World::new("pvecm-delnode-running", &from);
    world.cluster.lock().unwrap().pvecm.insert(
        "pvecm delnode n3".into(),
        Pvecm {
            file: delnoded.clone().into_bytes(),
            to: vec![1, 2],
            expected: 2,
            ..Pvecm::default()
        },
    );
    let mut only_delnode = plan.clone();
    only_delnode.steps.remove(0);
    only_delnode.plan_sha256 = String::new();
    let only_delnode = Plan::from_json(
        &serde_json::to_string(&only_delnode).unwrap(),
        Path::new("p.json"),
    )
    .unwrap();
    let (outcome, problems) = world.apply(&only_delnode, false);
    assert!(
        matches!(outcome, Outcome::Refused | Outcome::Failed { .. }),
        "{outcome:?}"
    );
    let said = format!("{problems:?} {:?}", world.events());
    assert!(
        said.contains("where step 2 starts: running: expected n1,n2, is n1,n2,n3"),
        "{said}"
    );
    assert_eq!(world.ran("pvecm delnode n3"), 0);
}

/// See: issue 11. Forming a cluster with pvecm: `pvecm create` on n1 (nothing runs, no node
/// has a file), then `pvecm add` of n2 and n3 through n1; a pvecm that refuses (no quorum)
/// stops apply at that step with pvecm's message, nothing after it runs.
#[test]
fn a_proxmox_new_cluster_is_created_and_joined_with_pvecm_and_a_refusal_stops_apply() {
    let created = pair_conf(1).replace(
        " node {\n  nodeid: 2\n  name: n2\n  ring0_addr: 198.18.0.2\n }\n",
        "",
    );
    let two = pair_conf(2);
    let three = conf(3, "");
    let to = conf(4, "");
    let pvecm = |world: &World, refuse_last: bool| {
        let mut cluster = world.cluster.lock().unwrap();
        cluster.pvecm.insert(
            "pvecm create c".into(),
            Pvecm {
                file: created.clone().into_bytes(),
                to: vec![1],
                starts: Some(1),
                expected: 1,
                ..Pvecm::default()
            },
        );
        cluster.pvecm.insert(
            "pvecm add 198.18.0.1 --link0 198.18.0.2 --nodeid 2 --use_ssh".into(),
            Pvecm {
                file: two.clone().into_bytes(),
                to: vec![1, 2],
                starts: Some(2),
                expected: 2,
                ..Pvecm::default()
            },
        );
        cluster.pvecm.insert(
            "pvecm add 198.18.0.1 --link0 198.18.0.3 --nodeid 3 --use_ssh".into(),
            Pvecm {
                file: three.clone().into_bytes(),
                to: vec![1, 2, 3],
                starts: Some(3),
                expected: 3,
                refuses: refuse_last.then(|| "cluster not ready - no quorum?\n".to_string()),
            },
        );
    };
    let nothing = cluster_snapshot(&[], 0, &[]);
    let first = cluster_snapshot(&["n1"], 1, &[("n1", &created)]);
    let second = cluster_snapshot(&["n1", "n2"], 2, &[("n1", &two), ("n2", &two)]);
    let third = cluster_snapshot(
        &["n1", "n2", "n3"],
        3,
        &[("n1", &three), ("n2", &three), ("n3", &three)],
    );
    let steps = vec![
        step(
            1,
            "pvecm_create",
            &["n1"],
            &[("n1", &["pvecm create c"])],
            nothing,
            first.clone(),
        ),
        step(
            2,
            "pvecm_add",
            &["n2"],
            &[(
                "n2",
                &["pvecm add 198.18.0.1 --link0 198.18.0.2 --nodeid 2 --use_ssh"],
            )],
            first,
            second.clone(),
        ),
        step(
            3,
            "pvecm_add",
            &["n3"],
            &[(
                "n3",
                &["pvecm add 198.18.0.1 --link0 198.18.0.3 --nodeid 3 --use_ssh"],
            )],
            second,
            third.clone(),
        ),
        step(4, "wait", &["n1", "n2", "n3"], &[], third.clone(), third),
    ];
    let plan = pve_plan(None, &to, &[&created, &two, &three], steps);
    for refuse_last in [false, true] {
        let world = World::empty("pvecm-form");
        pvecm(&world, refuse_last);
        let (outcome, problems) = world.apply(&plan, false);
        if refuse_last {
            assert!(
                matches!(outcome, Outcome::Failed { step: 3, .. }),
                "{outcome:?} {problems:?}"
            );
            let said = format!("{:?}", world.events());
            assert!(said.contains("cluster not ready - no quorum?"), "{said}");
            assert_eq!(world.first_started_step(), Some(1));
            assert!(!said.contains("StepStarted { step: 4"), "{said}");
        } else {
            assert!(
                matches!(outcome, Outcome::Done { .. }),
                "{outcome:?} {problems:?}"
            );
            assert_eq!(world.ran("pvecm create c"), 1);
            for index in 0..3 {
                assert_eq!(world.hash(index), Some(sha256_hex(three.as_bytes())));
            }
        }
    }
}
