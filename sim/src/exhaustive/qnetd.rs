//! qnetd in the exhaustive analysis: for a configuration whose `quorum.device` is
//! `model: net`, every scenario is also taken with each state of the qnetd server and of the
//! nodes' paths to it, before and after the failure.
//!
//! A child module of `enumerate` (it reads the analyzer's private tallies). It must not
//! decide anything about qnetd or votequorum: every scenario is replayed as its own script
//! through `model::quorum::ClusterState`, whose qnetd model decides. Why whole scripts and
//! no per-membership cache: ffsplit's decision depends on every partition at once (who
//! else reaches qnetd, with what score), lms and 2nodelms on each client's history (saved
//! results, a newcomer's NACK), so a membership's answer is not its own.
//!
//! # What is enumerated on top of the node/partition/link scenario
//!
//! - no qnetd fault: the server up, every running node reaching it;
//! - `qnetd down`, or `qnetd cut C` for every non-empty set C of the scenario's running
//!   nodes;
//! - each fault either *before* the failure (it settles first: the qdevices react to losing
//!   qnetd, then the nodes fail or boot) or *after* it. The order matters: a quorate lms node
//!   with wait_for_all keeps its ACK when qnetd goes away, and 2nodelms keeps it until the
//!   membership changes, but a membership change while disconnected turns ACK into NACK.
//!
//! So a scenario whose running nodes number u stands for 1 + 2 · 2^u qnetd scenarios. Nodes
//! are not reduced by symmetry (qnetd's tie-breakers and the clients' order read node ids).
//! Heuristics pass everywhere (`whatif -s` with `heuristics fail N` shows a failing one).
//!
//! # The script of a scenario (what is evaluated, and the witness)
//!
//! From the start state (the fully joined cluster, or the state `-s SCRIPT` leaves) and a
//! first `qnetd up` (qnetd has run and been reached by every node since the start):
//! running: `down D`, then one `move` that puts every block after the first into its own
//! partition, then the link failures; cold start: `down` of every running node, the link
//! failures, then one `up` that boots each block in its partition. The qnetd fault's step
//! comes first or last. The crashes come before the split so that no down node is ever a
//! membership of its own (qnetd would take it for a client and decide with it).

use super::{Analyzer, Eval, SizeTally, WitnessKey};
use crate::exhaustive::{describe, ids_in, link_steps, refs, Case, OutcomeClass, Scenario};
use crate::Error as ExhaustiveError;
use model::quorum::qnetd::{Algorithm, DeviceNet};
use model::quorum::{ClusterState, NodeSet, QuorumSettings};
use model::scenario::{NodeSpec, QnetdChange, Step};

/// At most this many qnetd scenarios are evaluated (each a whole script through the engine,
/// in both cases): about a minute in a debug build, a few seconds in a release build.
pub const QNETD_SCENARIOS_UP_TO: u128 = 2_000_000;

/// The qnetd state of one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum QnetdFault {
    /// qnetd up, every running node reaches it.
    Healthy,
    /// The qnetd server is down.
    Down,
    /// These running nodes cannot reach the qnetd host.
    Cut(NodeSet),
}

/// Whether the qnetd fault comes before or after the node/partition/link failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FaultOrder {
    /// The fault settles first.
    Before,
    /// The failure (or boot) settles first.
    After,
}

/// The algorithm qnetd runs for `settings`, when its device is one the qnetd model decides
/// (`model: net` with a known algorithm and tie_breaker).
pub(crate) fn qnetd_algorithm(settings: &QuorumSettings) -> Option<Algorithm> {
    let device = settings.device.as_ref()?;
    DeviceNet::from_settings(device).ok().map(|net| net.algorithm)
}

/// The per-analysis qnetd state: base states, script prefixes, the extra tallies.
pub(super) struct QnetdPlan {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The start state after `qnetd up`: every running-case script starts here.
    running_base: ClusterState,
    /// `running_base` after every running node crashed: every cold-start script starts here.
    cold_base: ClusterState,
    /// The script lines that lead to `running_base` from the fully joined cluster.
    running_prefix: Vec<String>,
    /// The lines that lead to `cold_base`.
    cold_prefix: Vec<String>,
    /// Node failures alone (no partition, no link failure) after `qnetd down`, per size.
    pub down_sizes: Vec<SizeTally>,
    /// Scenarios without a qnetd fault.
    pub healthy: u128,
    /// The best split-brain witness so far: key, script, description, case.
    pub witness: Option<(WitnessKey, String, String, Case)>,
}

impl QnetdPlan {
    /// The plan for `start` (the start state, before `qnetd up`) and its script lines.
    pub(super) fn new(
        settings: &QuorumSettings,
        algorithm: Algorithm,
        start: &ClusterState,
        start_lines: Vec<String>,
        sizes: usize,
    ) -> QnetdPlan {
        let mut running_base = start.clone();
        let mut running_prefix = start_lines;
        if !running_base.qnetd_modelled() {
            let step = Step::Qnetd(QnetdChange::Up);
            running_base.apply(settings, &step);
            running_prefix.push(step.to_string());
        }
        let running: Vec<_> = ids_in(running_base.nodeids(), running_base.up_nodes());
        let mut cold_base = running_base.clone();
        let mut cold_prefix = running_prefix.clone();
        if !running.is_empty() {
            let step = Step::Down(refs(&running));
            cold_base.apply(settings, &step);
            cold_prefix.push(step.to_string());
        }
        QnetdPlan {
            algorithm,
            running_base,
            cold_base,
            running_prefix,
            cold_prefix,
            down_sizes: vec![SizeTally::default(); sizes],
            healthy: 0,
            witness: None,
        }
    }

    /// The state every running-case scenario starts from.
    pub(super) fn running_base(&self) -> &ClusterState {
        &self.running_base
    }
}

/// `C(n, k)` for small `n`, saturating.
fn choose(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

impl Analyzer<'_> {
    /// The exact number of qnetd scenarios `run` evaluates: per set partition of the nodes
    /// plus the down marker, 1 + 2 · 2^u with u the running nodes outside the down block,
    /// times the link sets.
    pub(super) fn qnetd_evaluations(&self) -> u128 {
        // The enumerated positions (every node; after a start script, its running ones) and,
        // among them, the ones that cannot run (no link: they never boot).
        let enumerated: NodeSet = self.classes.iter().flatten().copied().collect();
        let runnable = (enumerated & self.runnable).len();
        let ghosts = enumerated.len() - runnable;
        let mut total = 0u128;
        for down_runnable in 0..=runnable {
            for down_ghosts in 0..=ghosts {
                let up = runnable - down_runnable;
                let rest = up + ghosts - down_ghosts;
                let options = 1u128.saturating_add(1u128.checked_shl(up as u32 + 1).unwrap_or(u128::MAX));
                let ways = choose(runnable, down_runnable)
                    .saturating_mul(choose(ghosts, down_ghosts))
                    .saturating_mul(super::bell(rest))
                    .saturating_mul(options);
                total = total.saturating_add(ways);
            }
        }
        total.saturating_mul(self.link_sets.len() as u128)
    }

    /// One (down set, partition) with every link set and every qnetd state and order.
    pub(super) fn qnetd_leaf(&mut self, weight: u128) -> Result<(), ExhaustiveError> {
        let up = self.blocks.iter().fold(NodeSet::EMPTY, |set, block| set | *block) & self.runnable;
        let mut faults = vec![(QnetdFault::Healthy, FaultOrder::Before)];
        for order in [FaultOrder::Before, FaultOrder::After] {
            faults.push((QnetdFault::Down, order));
            for cut in up.subsets().filter(|set| !set.is_empty()) {
                faults.push((QnetdFault::Cut(cut), order));
            }
        }
        for index in 0..self.link_sets.len() {
            for (fault, order) in &faults {
                self.admit(weight)?;
                let (running, running_steps) = self.qnetd_evaluate(Case::Running, index, *fault, *order);
                let (cold, cold_steps) = self.qnetd_evaluate(Case::ColdStart, index, *fault, *order);
                self.count_classes(index, [running.class, cold.class], weight);
                let links_down = self.link_sets[index].links_down;
                let Some(plan) = self.qnetd.as_mut() else {
                    return Ok(());
                };
                if *fault == QnetdFault::Healthy {
                    plan.healthy = plan.healthy.saturating_add(weight);
                }
                if links_down == 0 && self.blocks.len() <= 1 {
                    let size = self.down.len();
                    let tally = match (fault, order) {
                        (QnetdFault::Healthy, _) => Some(&mut self.sizes[size]),
                        (QnetdFault::Down, FaultOrder::Before) => Some(&mut plan.down_sizes[size]),
                        _ => None,
                    };
                    if let Some(tally) = tally {
                        tally.add(weight, self.down, running.any_quorate, cold.any_quorate);
                    }
                }
                let rank = match fault {
                    QnetdFault::Healthy => 0,
                    QnetdFault::Down => 2,
                    QnetdFault::Cut(set) => 2 + 2 * set.len() as u32,
                } + u32::from(*order == FaultOrder::After);
                for (case, eval, steps) in [
                    (Case::Running, running, &running_steps),
                    (Case::ColdStart, cold, &cold_steps),
                ] {
                    if eval.class != OutcomeClass::SplitBrain {
                        continue;
                    }
                    let slot = &mut self.split_counts[usize::from(case == Case::ColdStart)];
                    *slot = slot.saturating_add(weight);
                    let key = (
                        links_down.count_ones(),
                        self.blocks.len(),
                        self.down.len() as u32,
                        rank,
                        self.evaluated,
                    );
                    let cell = self.down.len() * self.link_sets.len() + index;
                    let better_cell = self
                        .cell_witnesses
                        .get(&(cell, case))
                        .is_none_or(|(best, ..)| key < *best);
                    let better = plan.witness.as_ref().is_none_or(|(best, ..)| key < *best);
                    if better || better_cell {
                        let prefix = match case {
                            Case::Running => &plan.running_prefix,
                            Case::ColdStart => &plan.cold_prefix,
                        };
                        let lines: Vec<String> = prefix
                            .iter()
                            .cloned()
                            .chain(steps.iter().map(|step| step.to_string()))
                            .collect();
                        let scenario = Scenario {
                            down: self.down,
                            blocks: self.blocks.clone(),
                            links_down,
                        };
                        let description = describe_with_qnetd(
                            &describe(&self.node_ids, &scenario),
                            &ids_in(
                                &self.node_ids,
                                match fault {
                                    QnetdFault::Cut(set) => *set,
                                    _ => NodeSet::EMPTY,
                                },
                            ),
                            *fault,
                            *order,
                            case,
                        );
                        let script = lines.join("\n");
                        if better_cell {
                            self.cell_witnesses
                                .insert((cell, case), (key, script.clone(), description.clone()));
                        }
                        if better {
                            plan.witness = Some((key, script, description, case));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The steps of the current scenario with link set `index` and the qnetd `fault` in
    /// `order`, in `case` (after the plan's prefix).
    pub(super) fn qnetd_steps(
        &self,
        case: Case,
        index: usize,
        fault: QnetdFault,
        order: FaultOrder,
    ) -> Vec<Step> {
        let fault_steps = match fault {
            QnetdFault::Healthy => Vec::new(),
            QnetdFault::Down => vec![Step::Qnetd(QnetdChange::Down)],
            QnetdFault::Cut(set) => vec![Step::Qnetd(QnetdChange::Cut(refs(&ids_in(&self.node_ids, set))))],
        };
        let mut steps = Vec::new();
        if order == FaultOrder::Before {
            steps.extend(fault_steps.iter().cloned());
        }
        let links_down = self.link_sets[index].links_down;
        let blocks: Vec<NodeSet> = self
            .blocks
            .iter()
            .map(|block| *block & self.runnable)
            .filter(|block| !block.is_empty())
            .collect();
        match case {
            Case::Running => {
                let down = self.down & self.runnable;
                if !down.is_empty() {
                    steps.push(Step::Down(refs(&ids_in(&self.node_ids, down))));
                }
                let mut label = self.first_label;
                let specs: Vec<NodeSpec> = blocks
                    .iter()
                    .skip(1)
                    .map(|block| {
                        let spec = NodeSpec {
                            partition: Some(label),
                            nodes: refs(&ids_in(&self.node_ids, *block)),
                        };
                        label = label.saturating_add(1);
                        spec
                    })
                    .collect();
                if !specs.is_empty() {
                    steps.push(Step::Move(specs));
                }
                steps.extend(link_steps(links_down));
            }
            Case::ColdStart => {
                steps.extend(link_steps(links_down));
                let specs: Vec<NodeSpec> = blocks
                    .iter()
                    .enumerate()
                    .map(|(at, block)| NodeSpec {
                        partition: (at > 0).then(|| u8::try_from(at).unwrap_or(u8::MAX)),
                        nodes: refs(&ids_in(&self.node_ids, *block)),
                    })
                    .collect();
                if !specs.is_empty() {
                    steps.push(Step::Up(specs));
                }
            }
        }
        if order == FaultOrder::After {
            steps.extend(fault_steps);
        }
        steps
    }

    /// Replays the current scenario's script and classifies its final state.
    fn qnetd_evaluate(
        &mut self,
        case: Case,
        index: usize,
        fault: QnetdFault,
        order: FaultOrder,
    ) -> (Eval, Vec<Step>) {
        let steps = self.qnetd_steps(case, index, fault, order);
        self.engine_runs += 1;
        let Some(plan) = self.qnetd.as_ref() else {
            return (
                Eval {
                    class: OutcomeClass::AllDown,
                    any_quorate: false,
                },
                steps,
            );
        };
        let mut state = match case {
            Case::Running => plan.running_base.clone(),
            Case::ColdStart => plan.cold_base.clone(),
        };
        let mut unstable = false;
        for step in &steps {
            unstable = !state.apply(self.settings, step).unstable.is_empty();
        }
        if steps.is_empty() {
            // Reports the unstable groups present since the start (the base states settled
            // them silently).
            unstable = !state.apply(self.settings, &Step::Show).unstable.is_empty();
        }
        (classify_state(&state, unstable), steps)
    }
}

/// The class of a final state (the enumeration's order: all down, split-brain, unstable,
/// nobody quorate, everybody, one).
pub(super) fn classify_state(state: &ClusterState, unstable: bool) -> Eval {
    let up = state.up_nodes();
    let quorate = state.quorate_set();
    let class = if up.is_empty() {
        OutcomeClass::AllDown
    } else if state.split_brain() {
        OutcomeClass::SplitBrain
    } else if unstable {
        OutcomeClass::Unstable
    } else if quorate.is_empty() {
        OutcomeClass::NoneQuorate
    } else if quorate == up {
        OutcomeClass::AllQuorate
    } else {
        OutcomeClass::OneQuorate
    };
    Eval {
        class,
        any_quorate: !quorate.is_empty(),
    }
}

/// `partition 1 | 2, qnetd down (before the failure)`, for humans.
fn describe_with_qnetd(
    base: &str,
    cut: &[model::quorum::NodeId],
    fault: QnetdFault,
    order: FaultOrder,
    case: Case,
) -> String {
    let what = match fault {
        QnetdFault::Healthy => return base.to_string(),
        QnetdFault::Down => "qnetd down".to_string(),
        QnetdFault::Cut(_) => format!(
            "qnetd cut from {}",
            cut.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
        ),
    };
    let when = match (order, case) {
        (FaultOrder::Before, Case::Running) => "before the failure",
        (FaultOrder::After, Case::Running) => "after the failure",
        (FaultOrder::Before, Case::ColdStart) => "before the boot",
        (FaultOrder::After, Case::ColdStart) => "after the boot",
    };
    if base == "no failure" {
        format!("{what} ({when})")
    } else {
        format!("{base}, {what} ({when})")
    }
}
