//! Differential test: quorate's votequorum engine (`model::quorum`) against the real
//! `corosync-vqsim` 3.1.7, which runs the real `exec/votequorum.c`.
//!
//! Generated configurations and generated scenarios are run in both. After every step the
//! quorate flag and the membership of every node must agree. Cases where vqsim is documented
//! to differ from real corosync are not compared with vqsim but asserted against the spec.
//! This module must not modify the engine's inputs to make them agree, nor compare anything
//! vqsim cannot simulate (qdevice, `-e`, reload, links, clean leaves).

use std::fmt::Write as _;

use crate::support::vqsim::{self, Vqsim};

/// A deterministic pseudo-random generator (splitmix64), so every run generates the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (bound > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One nodelist entry of a generated configuration.
#[derive(Clone, Debug)]
struct CaseNode {
    nodeid: u32,
    votes: u32,
    /// Runs from the start; otherwise it is booted later with `up` (spec 8.1: in the vqsim
    /// configuration such a node has a `nodeid` and a `name` but no `ring0_addr`).
    at_start: bool,
}

/// A generated configuration (quorum options only; totem is fixed).
#[derive(Clone, Debug)]
struct Case {
    nodes: Vec<CaseNode>,
    two_node: Option<u8>,
    wait_for_all: Option<u8>,
    /// `auto_tie_breaker: 1` with this `auto_tie_breaker_node` (`None`: not written).
    auto_tie_breaker: Option<Option<String>>,
    /// `last_man_standing: 1` with this window in ms.
    last_man_standing_window: Option<u32>,
    expected_votes: Option<u32>,
}

impl Case {
    /// The corosync.conf text. For vqsim, nodes that boot later have no `ring0_addr`; for the
    /// engine every node has one (it only starts nodes that have an address).
    fn config(&self, for_vqsim: bool) -> String {
        let mut text = String::from("totem {\n  version: 2\n  cluster_name: vqdiff\n}\n");
        text.push_str("quorum {\n  provider: corosync_votequorum\n");
        if let Some(value) = self.two_node {
            let _ = writeln!(text, "  two_node: {value}");
        }
        if let Some(value) = self.wait_for_all {
            let _ = writeln!(text, "  wait_for_all: {value}");
        }
        if let Some(node) = &self.auto_tie_breaker {
            text.push_str("  auto_tie_breaker: 1\n");
            if let Some(node) = node {
                let _ = writeln!(text, "  auto_tie_breaker_node: {node}");
            }
        }
        if let Some(window) = self.last_man_standing_window {
            let _ = writeln!(
                text,
                "  last_man_standing: 1\n  last_man_standing_window: {window}"
            );
        }
        if let Some(expected) = self.expected_votes {
            let _ = writeln!(text, "  expected_votes: {expected}");
        }
        text.push_str("}\nnodelist {\n");
        for node in &self.nodes {
            text.push_str("  node {\n");
            if node.at_start || !for_vqsim {
                // 198.18.0.0/15 only: vqsim never sends anything, but no other address is used.
                let _ = writeln!(text, "    ring0_addr: 198.18.0.{}", node.nodeid);
            }
            let _ = writeln!(text, "    nodeid: {}\n    name: n{}", node.nodeid, node.nodeid);
            if node.votes != 1 {
                let _ = writeln!(text, "    quorum_votes: {}", node.votes);
            }
            text.push_str("  }\n");
        }
        text.push_str("}\n");
        text
    }

    fn window(&self) -> Option<u32> {
        self.last_man_standing_window
    }
}

/// Scenario steps vqsim can run (spec 8.1; `down` takes one node, Q2).
#[derive(Clone, Debug)]
enum Op {
    Move {
        partition: u8,
        nodes: Vec<u32>,
    },
    Join {
        into: u8,
        from: u8,
    },
    Down(u32),
    Up {
        partition: u8,
        node: u32,
    },
    /// Real time (vqsim) or model time (engine) beyond the LMS window.
    Wait,
}

/// Extra time past the LMS window for a `wait`: vqsim's timer runs in real time.
const WAIT_MARGIN_MS: u32 = 150;

/// The LMS window of generated configurations: short, since vqsim waits in real time.
const LMS_WINDOW_MS: u32 = 400;

impl Op {
    fn vqsim_command(&self) -> Option<String> {
        match self {
            Op::Move { partition, nodes } => Some(format!("move {partition}:{}", join_ids(nodes))),
            Op::Join { into, from } => Some(format!("join {into} {from}")),
            Op::Down(node) => Some(format!("down {node}")),
            Op::Up { partition, node } => Some(format!("up {partition}:{node}")),
            Op::Wait => None,
        }
    }

    fn script_line(&self, window: u32) -> String {
        match self.vqsim_command() {
            Some(command) => command,
            None => format!("wait {}", window + WAIT_MARGIN_MS),
        }
    }
}

fn join_ids(nodes: &[u32]) -> String {
    nodes.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn generate_case(rng: &mut Rng) -> Case {
    let count = 2 + rng.below(6) as usize;
    let mut nodeids: Vec<u32> = if rng.chance(70) {
        (1..=count as u32).collect()
    } else {
        let mut ids = Vec::new();
        while ids.len() < count {
            let id = 1 + rng.below(12) as u32;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        ids
    };
    if rng.chance(15) {
        // Nodelist order is not nodeid order.
        for index in (1..nodeids.len()).rev() {
            let other = rng.below(index as u64 + 1) as usize;
            nodeids.swap(index, other);
        }
    }
    let weighted = rng.chance(25);
    let huge = rng.chance(3);
    let late = rng.chance(25);
    let mut nodes: Vec<CaseNode> = nodeids
        .iter()
        .map(|nodeid| CaseNode {
            nodeid: *nodeid,
            votes: if huge {
                200
            } else if weighted && rng.chance(35) {
                2 + rng.below(2) as u32
            } else {
                1
            },
            at_start: !late || rng.chance(50),
        })
        .collect();
    if !nodes.iter().any(|node| node.at_start) {
        nodes[0].at_start = true;
    }
    let two_node = if rng.chance(15) { Some(1) } else { None };
    let wait_for_all = match rng.below(20) {
        0..=4 => Some(1),
        5..=7 => Some(0),
        _ => None,
    };
    let auto_tie_breaker = if rng.chance(35) {
        Some(match rng.below(5) {
            0 => None,
            1 => Some("lowest".to_string()),
            2 => Some("highest".to_string()),
            _ => {
                let length = 1 + rng.below(3) as usize;
                let mut list: Vec<u32> = Vec::new();
                for _ in 0..length {
                    let id = rng.pick(&nodeids);
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
                Some(list.iter().map(u32::to_string).collect::<Vec<_>>().join(" "))
            }
        })
    } else {
        None
    };
    let last_man_standing_window = if rng.chance(30) { Some(LMS_WINDOW_MS) } else { None };
    let sum: u32 = nodes.iter().map(|node| node.votes).sum();
    let expected_votes = if rng.chance(15) {
        Some(1 + rng.below(u64::from(sum) + 2) as u32)
    } else {
        None
    };
    Case {
        nodes,
        two_node,
        wait_for_all,
        auto_tie_breaker,
        last_man_standing_window,
        expected_votes,
    }
}

/// Generates `length` steps that vqsim accepts: only running nodes move or go down, only
/// stopped nodes come up, partitions stay within 0..=15. With LMS, a wait follows at most
/// two other steps (vqsim's LMS timer runs in real time).
fn generate_ops(rng: &mut Rng, case: &Case, length: usize) -> Vec<Op> {
    // Partition of each running node.
    let mut running: Vec<(u32, u8)> = case
        .nodes
        .iter()
        .filter(|node| node.at_start)
        .map(|node| (node.nodeid, 0))
        .collect();
    let mut ops = Vec::new();
    let mut since_wait = 0;
    while ops.len() < length {
        if case.window().is_some() && (since_wait >= 2 || rng.chance(25)) {
            ops.push(Op::Wait);
            since_wait = 0;
            continue;
        }
        let mut partitions: Vec<u8> = running.iter().map(|(_, partition)| *partition).collect();
        partitions.sort_unstable();
        partitions.dedup();
        let fresh = (0..16u8)
            .find(|partition| !partitions.contains(partition))
            .unwrap_or(15);
        let stopped: Vec<u32> = case
            .nodes
            .iter()
            .map(|node| node.nodeid)
            .filter(|nodeid| !running.iter().any(|(id, _)| id == nodeid))
            .collect();
        let op = match rng.below(10) {
            0..=4 if !running.is_empty() => {
                let mut nodes: Vec<u32> = running
                    .iter()
                    .filter(|_| rng.chance(35))
                    .map(|(nodeid, _)| *nodeid)
                    .collect();
                if nodes.is_empty() {
                    nodes.push(running[rng.below(running.len() as u64) as usize].0);
                }
                let partition = if rng.chance(60) {
                    fresh
                } else {
                    rng.pick(&partitions)
                };
                Op::Move { partition, nodes }
            }
            5 | 6 if partitions.len() >= 2 => {
                let into = rng.pick(&partitions);
                let others: Vec<u8> = partitions.iter().copied().filter(|p| *p != into).collect();
                Op::Join {
                    into,
                    from: rng.pick(&others),
                }
            }
            7 if running.len() >= 2 => Op::Down(running[rng.below(running.len() as u64) as usize].0),
            8 | 9 if !stopped.is_empty() => {
                let partition = if partitions.is_empty() || rng.chance(30) {
                    fresh
                } else {
                    rng.pick(&partitions)
                };
                Op::Up {
                    partition,
                    node: rng.pick(&stopped),
                }
            }
            _ => continue,
        };
        match &op {
            Op::Move { partition, nodes } => {
                for entry in running.iter_mut().filter(|(id, _)| nodes.contains(id)) {
                    entry.1 = *partition;
                }
            }
            Op::Join { into, from } => {
                for entry in running.iter_mut().filter(|(_, p)| p == from) {
                    entry.1 = *into;
                }
            }
            Op::Down(node) => running.retain(|(id, _)| id != node),
            Op::Up { partition, node } => running.push((*node, *partition)),
            Op::Wait => {}
        }
        ops.push(op);
        since_wait += 1;
    }
    ops
}

/// One node's state as compared: `(quorate, sorted members)`; absent when not running.
type Observed = std::collections::BTreeMap<u32, (bool, Vec<u32>)>;

fn observed_vqsim(states: &[vqsim::NodeState]) -> Observed {
    states
        .iter()
        .map(|state| {
            (
                state.nodeid,
                (state.quorate.unwrap_or(false), state.members.clone()),
            )
        })
        .collect()
}

fn observed_engine(
    cluster: &model::quorum::ClusterState,
    settings: &model::quorum::QuorumSettings,
) -> Observed {
    cluster
        .views(settings)
        .into_iter()
        .filter(|view| view.up)
        .map(|view| (view.nodeid, (view.quorate, view.members)))
        .collect()
}

fn render(observed: &Observed) -> String {
    observed
        .iter()
        .map(|(nodeid, (quorate, members))| format!("{nodeid}:{} {members:?}", u8::from(*quorate)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn settings_of(text: &str) -> model::quorum::QuorumSettings {
    let (document, _) = model::syntax::parse(text);
    let (config, _) = model::config::Config::from_document(&document);
    config.quorum_settings()
}

#[derive(Default)]
struct Tally {
    scenarios: usize,
    steps: usize,
    agree: usize,
    disagree: Vec<String>,
    skipped_configs: usize,
}

fn run_scenario(case: &Case, ops: &[Op], tally: &mut Tally) -> Result<(), String> {
    let engine_text = case.config(false);
    let vqsim_text = case.config(true);
    let settings = settings_of(&engine_text);
    if model::quorum::startup_error(&settings).is_some() {
        tally.skipped_configs += 1;
        return Ok(());
    }
    let window = case.window().unwrap_or(LMS_WINDOW_MS);
    let mut cluster = if case.nodes.iter().all(|node| node.at_start) {
        model::quorum::ClusterState::new(&settings).map_err(|error| error.to_string())?
    } else {
        let mut cluster =
            model::quorum::ClusterState::stopped(&settings).map_err(|error| error.to_string())?;
        let first: Vec<u32> = case
            .nodes
            .iter()
            .filter(|node| node.at_start)
            .map(|node| node.nodeid)
            .collect();
        let script =
            model::scenario::parse(&format!("up {}", join_ids(&first))).map_err(|error| error.to_string())?;
        cluster.apply(&settings, &script.steps[0]);
        cluster
    };
    let mut simulator = Vqsim::start(&vqsim_text)?;
    let mut states = simulator.settle()?;
    tally.scenarios += 1;
    let mut history = String::new();
    for index in 0..=ops.len() {
        if index > 0 {
            let op = &ops[index - 1];
            let line = op.script_line(window);
            let script = model::scenario::parse(&line).map_err(|error| error.to_string())?;
            cluster.apply(&settings, &script.steps[0]);
            states = match op.vqsim_command() {
                Some(command) => simulator.run(&command)?,
                None => {
                    std::thread::sleep(std::time::Duration::from_millis(u64::from(
                        window + WAIT_MARGIN_MS,
                    )));
                    simulator.settle()?
                }
            };
            let _ = writeln!(history, "{line}");
        }
        let real = observed_vqsim(&states);
        let predicted = observed_engine(&cluster, &settings);
        tally.steps += 1;
        if real == predicted {
            tally.agree += 1;
        } else {
            tally.disagree.push(format!(
                "--- config (vqsim):\n{vqsim_text}--- steps:\n{history}--- vqsim:  {}\n--- engine: {}\n",
                render(&real),
                render(&predicted)
            ));
            break;
        }
    }
    Ok(())
}

#[test]
fn engine_agrees_with_vqsim_on_generated_scenarios() {
    assert!(
        vqsim::installed(),
        "{} is not installed: apt-get install corosync-vqsim (CI installs it)",
        vqsim::PROGRAM
    );
    let count: usize = std::env::var("QUORATE_VQSIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("QUORATE_VQSIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    for _ in 0..count {
        let case = generate_case(&mut rng);
        let length = 3 + rng.below(5) as usize;
        let ops = generate_ops(&mut rng, &case, length);
        if let Err(error) = run_scenario(&case, &ops, &mut tally) {
            panic!("{error}");
        }
    }
    let message = format!(
        "vqsim differential: {} scenarios, {} steps compared, {} agree, {} disagree, {} configs skipped\n",
        tally.scenarios,
        tally.steps,
        tally.agree,
        tally.disagree.len(),
        tally.skipped_configs
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
    for text in &tally.disagree {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
    }
    assert!(tally.disagree.is_empty(), "{message}");
}
