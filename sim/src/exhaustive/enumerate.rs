//! The machinery behind `analyze`: symmetry classes, the orbit enumeration with weights,
//! and the per-membership cache of engine answers.
//!
//! It must not decide votequorum behaviour: every quorate/inquorate answer comes from
//! `model::quorum::ClusterState`. The only rules applied here are the engine's own
//! documented ones (memberships do not influence each other; nodes of a partial mesh keep
//! their state; split-brain is two quorate nodes with disjoint rings).

use super::{
    describe, ids_in, link_steps, refs, witness_script_from, Analysis, Case, ClassCount, DownSet,
    ExhaustiveError, ExhaustiveOptions, FailureSize, GridCell, LinkFailure, Method, OutcomeClass,
    QnetdAnalysis, Scenario, ScenarioCounts, SplitBrain, Witness, ENUMERATION_CHEAP_UP_TO,
};
use crate::symmetry::node_classes;
use model::quorum::membership::{adjacency, Connectivity, LinkFaults};
use model::quorum::{ClusterState, LinkMask, NodeId, NodeSet, QuorumSettings};
use model::scenario::{LinkScope, NodeSpec, Step};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A cheap hasher for `NodeSet` keys (the cache is hit millions of times).
#[derive(Default)]
struct SetHasher(u64);

impl Hasher for SetHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_u128(&mut self, value: u128) {
        let folded = (value as u64) ^ ((value >> 64) as u64).rotate_left(29);
        let mixed = (self.0 ^ folded).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = mixed ^ (mixed >> 29);
    }
}

type SetMap<V> = HashMap<NodeSet, V, BuildHasherDefault<SetHasher>>;

// The vote-sum method: the same tallies without enumerating scenarios.
#[path = "vote_sums.rs"]
mod vote_sums;

// qnetd's states and the order of its faults, for configurations with a qnetd device.
#[path = "qnetd.rs"]
pub(super) mod qnetd;

/// Splits each class (keeping only positions in `runnable`) so that two positions share a
/// class only if swapping their states leaves `state` unchanged: nodes the start state
/// treats differently (a fault on one, a different history) are not interchangeable.
/// Swapping is a symmetry of the whole state, so "swap fixes the state" is an equivalence.
fn refine_for_start(classes: Vec<Vec<usize>>, runnable: NodeSet, state: &ClusterState) -> Vec<Vec<usize>> {
    let count = state.nodeids().len();
    let identity: Vec<usize> = (0..count).collect();
    // `permuted` normalises a few fields; compare images with the identity's image.
    let reference = state.permuted(&identity);
    let swap_fixes = |a: usize, b: usize| {
        let mut perm = identity.clone();
        perm.swap(a, b);
        reference.is_some() && state.permuted(&perm) == reference
    };
    let mut refined: Vec<Vec<usize>> = Vec::new();
    for class in classes {
        let mut parts: Vec<Vec<usize>> = Vec::new();
        for pos in class.into_iter().filter(|pos| runnable.contains(*pos)) {
            match parts.iter_mut().find(|part| swap_fixes(part[0], pos)) {
                Some(part) => part.push(pos),
                None => parts.push(vec![pos]),
            }
        }
        refined.extend(parts);
    }
    refined.sort_by_key(|class| class[0]);
    refined
}

/// A start state other than the fully joined cluster (`analyze_after`).
pub(super) struct Start {
    /// The state the script left.
    pub state: ClusterState,
    /// The script, one step per line (witness scripts replay it first).
    pub script: String,
}

/// Bell(n), saturating at `u128::MAX`.
pub(crate) fn bell(n: usize) -> u128 {
    let mut row = vec![1u128];
    for _ in 0..n {
        let mut next = Vec::with_capacity(row.len() + 1);
        next.push(*row.last().unwrap_or(&1));
        for value in &row {
            let last = *next.last().unwrap_or(&0);
            next.push(last.saturating_add(*value));
        }
        row = next;
    }
    row[0]
}

/// One set of failed links and the adjacency it leaves.
struct LinkSet {
    links_down: u8,
    /// Per position: the nodes it can talk to.
    adjacent: Vec<NodeSet>,
    /// Every pair of runnable nodes can talk: every block is one clique.
    complete: bool,
}

/// What a scenario ended in, in one case.
#[derive(Clone, Copy)]
struct Eval {
    class: OutcomeClass,
    any_quorate: bool,
}

/// Accumulators per number of down nodes.
#[derive(Clone, Default)]
struct SizeTally {
    total: u128,
    lose: u128,
    cold_lose: u128,
    /// Representatives of the down sets that lose quorum (running case), with weights.
    losses: Vec<(NodeSet, u128)>,
}

impl SizeTally {
    /// Counts one scenario of `weight` with `down` down, given whether some node is
    /// quorate in the running and in the cold-start case.
    fn add(&mut self, weight: u128, down: NodeSet, running_quorate: bool, cold_quorate: bool) {
        self.total = self.total.saturating_add(weight);
        if !running_quorate {
            self.lose = self.lose.saturating_add(weight);
            self.losses.push((down, weight));
        }
        if !cold_quorate {
            self.cold_lose = self.cold_lose.saturating_add(weight);
        }
    }
}

/// Witness ordering: failed links, blocks, down nodes, qnetd fault (none first, then
/// `qnetd down`, then cuts from fewer nodes; before the failure, then after), then
/// discovery order.
type WitnessKey = (u32, usize, u32, u32, u64);

pub(super) struct Analyzer<'a> {
    settings: &'a QuorumSettings,
    options: ExhaustiveOptions,
    node_ids: Vec<NodeId>,
    classes: Vec<Vec<usize>>,
    class_masks: Vec<NodeSet>,
    /// `prefix[c][k]`: the first `k` positions of class `c`.
    prefix: Vec<Vec<NodeSet>>,
    all_singletons: bool,
    all_links: u8,
    link_sets: Vec<LinkSet>,
    runnable: NodeSet,
    initial: ClusterState,
    stopped: ClusterState,
    initial_quorate: NodeSet,
    initial_rings: Vec<NodeSet>,
    binomial: Vec<Vec<u128>>,
    /// The script that led to `initial`, when it is not the fully joined cluster.
    start_script: Option<String>,
    /// The first partition label witness scripts may give a block (above every label the
    /// start state uses).
    first_label: u8,
    /// Links not already down in the start state (the ones that can still fail).
    free_links: u8,
    running_cache: SetMap<u32>,
    cold_cache: SetMap<u32>,
    cold_unstable_cache: HashMap<(NodeSet, u8), NodeSet>,
    engine_runs: u64,
    evaluated: u64,
    leaves: u64,
    total: u128,
    class_counts: [[u128; 6]; 2],
    split_counts: [u128; 2],
    sizes: Vec<SizeTally>,
    /// Class counts per (down nodes, link set): `grid[down * link_sets.len() + index]`,
    /// `[case][class index]`. Filled by the enumeration as it goes, by the vote sums at once.
    grid: Vec<[[u128; 6]; 2]>,
    witness: Option<(WitnessKey, Scenario, Case)>,
    /// Per (grid cell, case): the smallest split-brain scenario found there (witness key,
    /// script, description), for `GridCell::split_brain_witnesses`.
    cell_witnesses: HashMap<(usize, Case), (WitnessKey, String, String)>,
    /// How the tallies were obtained.
    method: Method,
    /// Membership signatures the vote-sum method evaluated.
    signatures: u64,
    /// `sizes[..].losses` of the smallest losing size holds every representative.
    losses_complete: bool,
    rings: Vec<NodeSet>,
    /// Block count vectors, `depth * classes.len()` flat.
    vectors: Vec<u32>,
    blocks: Vec<NodeSet>,
    down: NodeSet,
    remaining: Vec<u32>,
    /// qnetd's part of the enumeration, for a configuration with a qnetd device.
    qnetd: Option<qnetd::QnetdPlan>,
}

impl<'a> Analyzer<'a> {
    pub(super) fn new(
        settings: &'a QuorumSettings,
        options: &ExhaustiveOptions,
    ) -> Result<Analyzer<'a>, ExhaustiveError> {
        Analyzer::with_start(settings, options, None)
    }

    /// `new`, starting from `start` instead of the fully joined cluster: only the nodes
    /// running there can fail, only links still up can fail, and a cold start reboots the
    /// running nodes from there (keeping what they wrote to disk).
    pub(super) fn with_start(
        settings: &'a QuorumSettings,
        options: &ExhaustiveOptions,
        start: Option<Start>,
    ) -> Result<Analyzer<'a>, ExhaustiveError> {
        let (mut initial, stopped, start_script) = match start {
            None => (
                ClusterState::new(settings)?,
                ClusterState::stopped(settings)?,
                None,
            ),
            Some(Start { state, script }) => {
                let running: Vec<NodeId> = state
                    .nodeids()
                    .iter()
                    .enumerate()
                    .filter(|(pos, _)| state.is_up(*pos))
                    .map(|(_, nodeid)| *nodeid)
                    .collect();
                let mut stopped = state.clone();
                stopped.apply(settings, &Step::Down(refs(&running)));
                (state, stopped, Some(script))
            }
        };
        let count = initial.nodeids().len();
        let sizes = if start_script.is_some() {
            initial.up_nodes().len() + 1
        } else {
            count + 1
        };
        let qnetd = qnetd::qnetd_algorithm(settings).map(|algorithm| {
            let start_lines: Vec<String> = start_script
                .iter()
                .flat_map(|script| script.lines())
                .filter(|line| !line.trim().is_empty())
                .map(str::to_string)
                .collect();
            qnetd::QnetdPlan::new(settings, algorithm, &initial, start_lines, sizes)
        });
        if let Some(plan) = &qnetd {
            initial = plan.running_base().clone();
        }
        let node_ids = initial.nodeids().to_vec();
        let runnable = initial.up_nodes();
        // qnetd's tie-breakers and client order read node ids: no symmetry with a qnetd device.
        let classes = if options.symmetry && qnetd.is_none() {
            node_classes(settings, &node_ids)
        } else {
            (0..count).map(|pos| vec![pos]).collect()
        };
        let classes = if start_script.is_some() && qnetd.is_some() {
            // Only the nodes running at the start can fail (as `refine_for_start` keeps).
            classes
                .into_iter()
                .filter(|class| class.iter().all(|pos| runnable.contains(*pos)))
                .collect()
        } else if start_script.is_some() {
            refine_for_start(classes, runnable, &initial)
        } else {
            classes
        };
        let base_faults = initial.link_faults().clone();
        let first_label = runnable
            .iter()
            .filter_map(|pos| initial.partitions().get(pos).copied())
            .max()
            .map_or(1, |label| label.saturating_add(1));
        let class_masks: Vec<NodeSet> = classes
            .iter()
            .map(|class| class.iter().copied().collect())
            .collect();
        let prefix: Vec<Vec<NodeSet>> = classes
            .iter()
            .map(|class| {
                let mut masks = vec![NodeSet::EMPTY];
                for pos in class {
                    let last = *masks.last().unwrap_or(&NodeSet::EMPTY);
                    masks.push(last | NodeSet::single(*pos));
                }
                masks
            })
            .collect();
        let link_masks: Vec<LinkMask> = node_ids
            .iter()
            .map(|nodeid| settings.link_mask(*nodeid))
            .collect();
        let all_links = link_masks.iter().fold(0u8, |all, mask| all | mask.bits());
        let free_links = all_links & !base_faults.links_down.bits();
        let link_sets: Vec<LinkSet> = (0..=free_links)
            .filter(|set| set & !free_links == 0 && (*set != free_links || free_links == 0))
            .map(|links_down| {
                let faults = LinkFaults {
                    links_down: LinkMask::from_bits(links_down) | base_faults.links_down,
                    node_links_down: if base_faults.node_links_down.len() == count {
                        base_faults.node_links_down.clone()
                    } else {
                        vec![LinkMask::EMPTY; count]
                    },
                    pair_links_down: base_faults.pair_links_down.clone(),
                };
                let group = vec![0u8; count];
                let adjacent = adjacency(&Connectivity {
                    links: &link_masks,
                    up: runnable,
                    group: &group,
                    faults: &faults,
                });
                let complete = runnable
                    .iter()
                    .all(|pos| adjacent[pos] | NodeSet::single(pos) == runnable);
                LinkSet {
                    links_down,
                    adjacent,
                    complete,
                }
            })
            .collect();
        let mut binomial = vec![vec![0u128; count + 1]; count + 1];
        for n in 0..=count {
            binomial[n][0] = 1;
            for k in 1..=n {
                binomial[n][k] = binomial[n - 1][k - 1]
                    .checked_add(binomial[n - 1][k])
                    .ok_or(ExhaustiveError::CountOverflow)?;
            }
        }
        let initial_quorate = initial.quorate_set();
        let initial_rings = (0..count).map(|pos| initial.ring(pos)).collect();
        let all_singletons = classes.iter().all(|class| class.len() == 1);
        let class_count = classes.len();
        let grid = vec![[[0; 6]; 2]; sizes * link_sets.len()];
        Ok(Analyzer {
            settings,
            options: *options,
            node_ids,
            classes,
            class_masks,
            prefix,
            all_singletons,
            all_links,
            link_sets,
            runnable,
            initial,
            stopped,
            initial_quorate,
            initial_rings,
            binomial,
            start_script,
            first_label,
            free_links,
            running_cache: SetMap::default(),
            cold_cache: SetMap::default(),
            cold_unstable_cache: HashMap::new(),
            engine_runs: 0,
            evaluated: 0,
            leaves: 0,
            total: 0,
            class_counts: [[0; 6]; 2],
            split_counts: [0; 2],
            grid,
            sizes: vec![SizeTally::default(); sizes],
            witness: None,
            cell_witnesses: HashMap::new(),
            method: Method::Enumeration,
            signatures: 0,
            losses_complete: true,
            rings: Vec::new(),
            vectors: Vec::new(),
            blocks: Vec::new(),
            down: NodeSet::EMPTY,
            remaining: vec![0; class_count],
            qnetd,
        })
    }

    /// The exact number of canonical scenarios `run` evaluates (orbits times link sets),
    /// when counting them is cheap: `None` when the classes allow too many count vectors
    /// to count the orbits quickly (more than 4,096), which only happens with many
    /// distinguishable nodes.
    pub(super) fn estimated_evaluations(&self) -> Option<u128> {
        if self.qnetd.is_some() {
            return Some(self.qnetd_evaluations());
        }
        let sizes: Vec<usize> = self.classes.iter().map(Vec::len).collect();
        let vectors = sizes
            .iter()
            .try_fold(1usize, |product, size| product.checked_mul(size + 1))
            .filter(|vectors| *vectors <= 4096)?;
        // partitions[u]: multisets of nonzero block vectors summing to u (mixed radix, class
        // 0 least significant): the coin-change recurrence with every vector as a coin, each
        // target reached as `part + rest` with `rest <= sizes - part` (no carry).
        let digits = |mut index: usize| -> Vec<usize> {
            sizes
                .iter()
                .map(|size| {
                    let digit = index % (size + 1);
                    index /= size + 1;
                    digit
                })
                .collect()
        };
        let mut stride = vec![1usize; sizes.len()];
        for class in 1..sizes.len() {
            stride[class] = stride[class - 1] * (sizes[class - 1] + 1);
        }
        let mut partitions = vec![0u128; vectors];
        partitions[0] = 1;
        for part in 1..vectors {
            let room: Vec<usize> = digits(part)
                .iter()
                .zip(&sizes)
                .map(|(used, size)| size - used)
                .collect();
            let mut rest = vec![0usize; sizes.len()];
            let mut rest_index = 0usize;
            loop {
                let target = part + rest_index;
                partitions[target] = partitions[target].saturating_add(partitions[rest_index]);
                let mut class = 0;
                loop {
                    if class == sizes.len() {
                        break;
                    }
                    if rest[class] < room[class] {
                        rest[class] += 1;
                        rest_index += stride[class];
                        break;
                    }
                    rest_index -= rest[class] * stride[class];
                    rest[class] = 0;
                    class += 1;
                }
                if class == sizes.len() {
                    break;
                }
            }
        }
        let orbits = partitions
            .iter()
            .fold(0u128, |sum, count| sum.saturating_add(*count));
        Some(orbits.saturating_mul(self.link_sets.len() as u128))
    }

    /// Whether `run` is cheap here: at most `ENUMERATION_CHEAP_UP_TO` canonical scenarios
    /// (and within the options' limit).
    pub(super) fn enumeration_is_cheap(&self) -> bool {
        if self.qnetd.is_some() {
            // No other method counts qnetd scenarios: `run` enumerates them or refuses.
            return true;
        }
        let limit = ENUMERATION_CHEAP_UP_TO.min(u128::from(self.options.max_evaluated));
        self.estimated_evaluations()
            .is_some_and(|evaluations| evaluations <= limit)
    }

    /// Enumerates every orbit: each down vector, then each multiset of block vectors.
    pub(super) fn run(&mut self, progress: &mut dyn FnMut(u64)) -> Result<(), ExhaustiveError> {
        if self.qnetd.is_some() {
            let scenarios = self.qnetd_evaluations();
            let limit = qnetd::QNETD_SCENARIOS_UP_TO.min(u128::from(self.options.max_evaluated));
            if scenarios > limit {
                return Err(ExhaustiveError::TooManyQnetdScenarios { scenarios, limit });
            }
        }
        let lower_bound = bell(self.classes.len() + 1).saturating_mul(self.link_sets.len() as u128);
        if lower_bound > u128::from(self.options.max_evaluated) {
            return Err(ExhaustiveError::TooManyScenarios {
                limit: self.options.max_evaluated,
            });
        }
        let class_count = self.classes.len();
        let mut down_vector = vec![0u32; class_count];
        loop {
            let mut weight: u128 = 1;
            let mut down = NodeSet::EMPTY;
            for (class, taken) in down_vector.iter().enumerate() {
                let size = self.classes[class].len();
                let taken = *taken as usize;
                weight = weight
                    .checked_mul(self.binomial[size][taken])
                    .ok_or(ExhaustiveError::CountOverflow)?;
                down |= self.prefix[class][taken];
                self.remaining[class] = (size - taken) as u32;
            }
            self.down = down;
            self.next_block(0, 1, weight, progress)?;
            let mut class = 0;
            loop {
                if class == class_count {
                    return Ok(());
                }
                if (down_vector[class] as usize) < self.classes[class].len() {
                    down_vector[class] += 1;
                    break;
                }
                down_vector[class] = 0;
                class += 1;
            }
        }
    }

    /// Chooses the block at `depth` (or evaluates the scenario when no node is left).
    /// `run` counts the blocks before it equal to the previous one (for the weight).
    fn next_block(
        &mut self,
        depth: usize,
        run: u128,
        weight: u128,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ExhaustiveError> {
        let class_count = self.classes.len();
        let Some(first) = self.remaining.iter().position(|count| *count > 0) else {
            return self.leaf(weight, progress);
        };
        self.vectors.resize((depth + 1) * class_count, 0);
        let base = depth * class_count;
        let mut tight = depth > 0;
        for class in 0..first {
            self.vectors[base + class] = 0;
            if depth > 0 && self.vectors[base - class_count + class] > 0 {
                tight = false;
            }
        }
        self.place(depth, first, first, tight, run, weight, progress)
    }

    /// Chooses coordinate `class` of the block at `depth`: blocks come in non-increasing
    /// lexicographic order, and each block holds at least one node of the first class that
    /// still has nodes (otherwise a later, larger block would be needed).
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        depth: usize,
        class: usize,
        first: usize,
        tight: bool,
        run: u128,
        weight: u128,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ExhaustiveError> {
        let class_count = self.classes.len();
        let base = depth * class_count;
        if class == class_count {
            return self.commit(depth, tight, run, weight, progress);
        }
        let previous = if depth > 0 {
            self.vectors[base - class_count + class]
        } else {
            u32::MAX
        };
        let mut high = self.remaining[class];
        if tight {
            high = high.min(previous);
        }
        let low = u32::from(class == first);
        if low > high {
            return Ok(());
        }
        for value in (low..=high).rev() {
            self.vectors[base + class] = value;
            self.place(
                depth,
                class + 1,
                first,
                tight && value == previous,
                run,
                weight,
                progress,
            )?;
        }
        Ok(())
    }

    /// The block at `depth` is chosen: update the weight, recurse, restore.
    fn commit(
        &mut self,
        depth: usize,
        equal: bool,
        run: u128,
        weight: u128,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ExhaustiveError> {
        let class_count = self.classes.len();
        let base = depth * class_count;
        let new_run = if equal { run + 1 } else { 1 };
        let mut new_weight = weight;
        let mut mask = NodeSet::EMPTY;
        for class in 0..class_count {
            let value = self.vectors[base + class];
            if value == 0 {
                continue;
            }
            let left = self.remaining[class] as usize;
            new_weight = new_weight
                .checked_mul(self.binomial[left][value as usize])
                .ok_or(ExhaustiveError::CountOverflow)?;
            let used = self.classes[class].len() - left;
            let prefix = &self.prefix[class];
            mask |= prefix[used + value as usize] - prefix[used];
        }
        new_weight /= new_run;
        for class in 0..class_count {
            self.remaining[class] -= self.vectors[base + class];
        }
        self.blocks.push(mask);
        let result = self.next_block(depth + 1, new_run, new_weight, progress);
        self.blocks.pop();
        for class in 0..class_count {
            self.remaining[class] += self.vectors[base + class];
        }
        result
    }

    /// One canonical (down set, partition) with every link failure set.
    fn leaf(&mut self, weight: u128, progress: &mut dyn FnMut(u64)) -> Result<(), ExhaustiveError> {
        self.leaves += 1;
        if self.leaves & 0x3fff == 0 {
            progress(self.evaluated);
        }
        if self.qnetd.is_some() {
            return self.qnetd_leaf(weight);
        }
        for index in 0..self.link_sets.len() {
            self.admit(weight)?;
            let running = self.evaluate(Case::Running, index);
            let running_split = running.class == OutcomeClass::SplitBrain;
            let cold = self.evaluate(Case::ColdStart, index);
            let cold_split = cold.class == OutcomeClass::SplitBrain;
            self.count_classes(index, [running.class, cold.class], weight);
            let links_down = self.link_sets[index].links_down;
            if links_down == 0 && self.blocks.len() <= 1 {
                let size = self.down.len();
                let down = self.down;
                self.sizes[size].add(weight, down, running.any_quorate, cold.any_quorate);
            }
            for (case, split) in [(Case::Running, running_split), (Case::ColdStart, cold_split)] {
                if !split {
                    continue;
                }
                let slot = &mut self.split_counts[usize::from(case == Case::ColdStart)];
                *slot = slot.saturating_add(weight);
                let key = (
                    links_down.count_ones(),
                    self.blocks.len(),
                    self.down.len() as u32,
                    0,
                    self.evaluated,
                );
                let cell = self.grid_cell(index);
                let better_cell = self
                    .cell_witnesses
                    .get(&(cell, case))
                    .is_none_or(|(best, ..)| key < *best);
                let better = self.witness.as_ref().is_none_or(|(best, _, _)| key < *best);
                if better || better_cell {
                    let scenario = Scenario {
                        down: self.down,
                        blocks: self.blocks.clone(),
                        links_down,
                    };
                    if better_cell {
                        let script = self.plain_witness_script(&scenario, case);
                        let description = describe(&self.node_ids, &scenario);
                        self.cell_witnesses
                            .insert((cell, case), (key, script, description));
                    }
                    if better {
                        self.witness = Some((key, scenario, case));
                    }
                }
            }
        }
        Ok(())
    }

    /// The classes (running, cold start) of one concrete scenario, for tests against
    /// whole-scenario engine runs. `None` if its link set is not enumerated.
    #[cfg(test)]
    pub(super) fn classify(&mut self, scenario: &Scenario) -> Option<(OutcomeClass, OutcomeClass)> {
        let index = self
            .link_sets
            .iter()
            .position(|set| set.links_down == scenario.links_down)?;
        self.down = scenario.down;
        self.blocks = scenario.blocks.clone();
        let running = self.evaluate(Case::Running, index).class;
        let cold = self.evaluate(Case::ColdStart, index).class;
        self.blocks.clear();
        Some((running, cold))
    }

    /// The canonical representative of `set`: the same count of nodes per class, taken
    /// from the start of each class.
    fn canonical(&self, set: NodeSet) -> NodeSet {
        if self.all_singletons {
            return set;
        }
        self.class_masks
            .iter()
            .zip(&self.prefix)
            .fold(NodeSet::EMPTY, |canon, (mask, prefix)| {
                canon | prefix[(set & *mask).len()]
            })
    }

    /// Evaluates the current scenario with link set `index` in `case`.
    fn evaluate(&mut self, case: Case, index: usize) -> Eval {
        let mut rings = std::mem::take(&mut self.rings);
        rings.clear();
        let mut running_nodes = 0u32;
        let mut quorate_nodes = 0u32;
        let mut unstable = false;
        for block_index in 0..self.blocks.len() {
            let block = self.blocks[block_index] & self.runnable;
            if block.is_empty() {
                continue;
            }
            running_nodes += block.len() as u32;
            if self.link_sets[index].complete {
                quorate_nodes += self.stable(case, block, &mut rings);
                continue;
            }
            let mut rest = block;
            while let Some(start) = rest.min() {
                let component = self.component(index, block, start);
                rest -= component;
                let adjacent = &self.link_sets[index].adjacent;
                let clique = component
                    .iter()
                    .all(|pos| (adjacent[pos] | NodeSet::single(pos)) & component == component);
                if clique {
                    quorate_nodes += self.stable(case, component, &mut rings);
                } else {
                    unstable = true;
                    quorate_nodes += self.unstable(case, component, index, &mut rings);
                }
            }
        }
        let split = rings
            .iter()
            .enumerate()
            .any(|(at, a)| rings[at + 1..].iter().any(|b| a.is_disjoint(*b)));
        self.rings = rings;
        let class = if running_nodes == 0 {
            OutcomeClass::AllDown
        } else if split {
            OutcomeClass::SplitBrain
        } else if unstable {
            OutcomeClass::Unstable
        } else if quorate_nodes == 0 {
            OutcomeClass::NoneQuorate
        } else if quorate_nodes == running_nodes {
            OutcomeClass::AllQuorate
        } else {
            OutcomeClass::OneQuorate
        };
        Eval {
            class,
            any_quorate: quorate_nodes > 0,
        }
    }

    /// The connected component of `start` inside `within` under link set `index`.
    fn component(&self, index: usize, within: NodeSet, start: usize) -> NodeSet {
        let adjacent = &self.link_sets[index].adjacent;
        let mut component = NodeSet::single(start);
        let mut frontier = component;
        while !frontier.is_empty() {
            let mut next = NodeSet::EMPTY;
            for pos in frontier.iter() {
                next |= adjacent[pos];
            }
            next &= within;
            frontier = next - component;
            component |= next;
        }
        component
    }

    /// A stable membership `members`: its quorate node count (cached), ring recorded.
    fn stable(&mut self, case: Case, members: NodeSet, rings: &mut Vec<NodeSet>) -> u32 {
        let canon = self.canonical(members);
        let cached = match case {
            Case::Running => self.running_cache.get(&canon),
            Case::ColdStart => self.cold_cache.get(&canon),
        };
        let quorate = match cached {
            Some(quorate) => *quorate,
            None => {
                let quorate = self.run_engine(case, canon);
                match case {
                    Case::Running => self.running_cache.insert(canon, quorate),
                    Case::ColdStart => self.cold_cache.insert(canon, quorate),
                };
                quorate
            }
        };
        if quorate > 0 {
            rings.push(members);
        }
        quorate
    }

    /// The engine's answer for one stable membership (canonical positions).
    fn run_engine(&mut self, case: Case, members: NodeSet) -> u32 {
        self.engine_runs += 1;
        let (mut state, step) = match case {
            Case::Running => {
                let others = self.runnable - members;
                (
                    self.initial.clone(),
                    Step::Down(refs(&ids_in(&self.node_ids, others))),
                )
            }
            Case::ColdStart => (
                self.stopped.clone(),
                Step::Up(vec![NodeSpec {
                    partition: None,
                    nodes: refs(&ids_in(&self.node_ids, members)),
                }]),
            ),
        };
        state.apply(self.settings, &step);
        (state.quorate_set() & members).len() as u32
    }

    /// A partial mesh `nodes`: running, its nodes keep their fully joined state (and ring);
    /// cold, they booted but never formed a ring (each is its own ring).
    fn unstable(&mut self, case: Case, nodes: NodeSet, index: usize, rings: &mut Vec<NodeSet>) -> u32 {
        match case {
            Case::Running => {
                let quorate = nodes & self.initial_quorate;
                for pos in quorate.iter() {
                    let ring = self.initial_rings[pos];
                    if !rings.contains(&ring) {
                        rings.push(ring);
                    }
                }
                quorate.len() as u32
            }
            Case::ColdStart => {
                let canon = self.canonical(nodes);
                let links_down = self.link_sets[index].links_down;
                let canon_quorate = match self.cold_unstable_cache.get(&(canon, links_down)) {
                    Some(quorate) => *quorate,
                    None => {
                        self.engine_runs += 1;
                        let mut state = self.stopped.clone();
                        for step in link_steps(links_down) {
                            state.apply(self.settings, &step);
                        }
                        state.apply(
                            self.settings,
                            &Step::Up(vec![NodeSpec {
                                partition: None,
                                nodes: refs(&ids_in(&self.node_ids, canon)),
                            }]),
                        );
                        let quorate = state.quorate_set() & canon;
                        self.cold_unstable_cache.insert((canon, links_down), quorate);
                        quorate
                    }
                };
                // Nodes of one class inside one group are interchangeable: map per class.
                let quorate = self
                    .class_masks
                    .iter()
                    .filter(|mask| !(canon_quorate & **mask).is_empty())
                    .fold(NodeSet::EMPTY, |set, mask| set | (nodes & *mask));
                for pos in quorate.iter() {
                    rings.push(NodeSet::single(pos));
                }
                quorate.len() as u32
            }
        }
    }

    /// What one whole link failing alone does to the fully joined cluster.
    fn single_link_failures(&self) -> Vec<LinkFailure> {
        (0..8u8)
            .filter(|link| self.free_links >> link & 1 == 1)
            .map(|link| {
                let mut state = self.initial.clone();
                let outcome = state.apply(
                    self.settings,
                    &Step::Link {
                        link,
                        up: false,
                        scope: LinkScope::All,
                    },
                );
                let changes_membership = !outcome.unstable.is_empty()
                    || self
                        .runnable
                        .iter()
                        .any(|pos| state.ring(pos) != self.initial_rings[pos]);
                LinkFailure {
                    link,
                    changes_membership,
                    quorum_kept: !state.quorate_set().is_empty(),
                    split_brain: outcome.split_brain,
                }
            })
            .collect()
    }

    /// Adds `weight` scenarios of the current down set with link set `index` to the grid,
    /// in the classes `classes` (running, cold start).
    /// Counts one more evaluated scenario of `weight`: against the evaluation limit, and in
    /// the total.
    pub(super) fn admit(&mut self, weight: u128) -> Result<(), ExhaustiveError> {
        self.evaluated += 1;
        if self.evaluated > self.options.max_evaluated {
            return Err(ExhaustiveError::TooManyScenarios {
                limit: self.options.max_evaluated,
            });
        }
        self.total = self
            .total
            .checked_add(weight)
            .ok_or(ExhaustiveError::CountOverflow)?;
        Ok(())
    }

    /// Adds one scenario's classes (running, cold start) of `weight` to the class counts and
    /// to the grid cell of link set `index`.
    pub(super) fn count_classes(&mut self, index: usize, classes: [OutcomeClass; 2], weight: u128) {
        for (case, class) in classes.into_iter().enumerate() {
            let slot = &mut self.class_counts[case][class.index()];
            *slot = slot.saturating_add(weight);
        }
        self.tally_grid(index, classes, weight);
    }

    /// The grid cell of the current down set with link set `index`.
    pub(super) fn grid_cell(&self, index: usize) -> usize {
        self.down.len() * self.link_sets.len() + index
    }

    /// The script of a plain (no qnetd) witness `scenario` in `case`, after the start
    /// script when there is one.
    fn plain_witness_script(&self, scenario: &Scenario, case: Case) -> String {
        let script = witness_script_from(&self.node_ids, scenario, case, self.first_label);
        match &self.start_script {
            Some(start) if !start.trim().is_empty() => format!("{}\n{script}", start.trim_end()),
            _ => script,
        }
    }

    pub(super) fn tally_grid(&mut self, index: usize, classes: [OutcomeClass; 2], weight: u128) {
        let cell = self.grid_cell(index);
        if let Some(counts) = self.grid.get_mut(cell) {
            for (case, class) in classes.iter().enumerate() {
                let slot = &mut counts[case][class.index()];
                *slot = slot.saturating_add(weight);
            }
        }
    }

    /// The non-empty cells of the grid, by down nodes, then link set (enumeration order),
    /// each with the classes that occur in either case.
    fn grid_cells(&self) -> Vec<GridCell> {
        let link_sets = self.link_sets.len().max(1);
        self.grid
            .iter()
            .enumerate()
            .filter_map(|(cell, counts)| {
                let scenarios: u128 = counts[0].iter().sum();
                if scenarios == 0 {
                    return None;
                }
                let links_down = self.link_sets.get(cell % link_sets)?.links_down;
                let split = OutcomeClass::SplitBrain.index();
                let split_brain_witnesses = [Case::Running, Case::ColdStart]
                    .into_iter()
                    .filter(|case| counts[usize::from(*case == Case::ColdStart)][split] > 0)
                    .filter_map(|case| {
                        let (_, script, description) = self.cell_witnesses.get(&(cell, case))?;
                        Some(Witness::replayed(
                            self.settings,
                            script.clone(),
                            case,
                            description.clone(),
                        ))
                    })
                    .collect();
                Some(GridCell {
                    split_brain_witnesses,
                    nodes_down: (cell / link_sets) as u32,
                    failed_links: (0..8u8).filter(|link| links_down >> link & 1 == 1).collect(),
                    scenarios,
                    classes: OutcomeClass::ALL
                        .iter()
                        .filter(|class| counts[0][class.index()] + counts[1][class.index()] > 0)
                        .map(|class| ClassCount {
                            class: *class,
                            running: counts[0][class.index()],
                            cold_start: counts[1][class.index()],
                        })
                        .collect(),
                })
            })
            .collect()
    }

    pub(super) fn finish(self) -> Analysis {
        let ids = |set: NodeSet| ids_in(&self.node_ids, set);
        let tolerated_in = |sizes: &[SizeTally], lose: &dyn Fn(&SizeTally) -> bool| -> Option<u32> {
            match sizes.iter().position(lose) {
                Some(0) => None,
                Some(size) => Some(size as u32 - 1),
                None => Some(sizes.len().saturating_sub(1) as u32),
            }
        };
        let tolerated = |lose: &dyn Fn(&SizeTally) -> bool| tolerated_in(&self.sizes, lose);
        let always_tolerated = tolerated(&|tally| tally.lose > 0);
        let cold_tolerated = tolerated(&|tally| tally.cold_lose > 0);
        let size_list = |sizes: &[SizeTally]| -> Vec<FailureSize> {
            sizes
                .iter()
                .enumerate()
                .map(|(size, tally)| FailureSize {
                    nodes_down: size as u32,
                    total: tally.total,
                    lose_quorum: tally.lose,
                    cold_start_lose_quorum: tally.cold_lose,
                })
                .collect()
        };
        let qnetd = self.qnetd.as_ref().map(|plan| QnetdAnalysis {
            algorithm: plan.algorithm,
            without_qnetd_fault: plan.healthy,
            qnetd_down_tolerated_node_failures: tolerated_in(&plan.down_sizes, &|tally| tally.lose > 0),
            qnetd_down_failure_sizes: size_list(&plan.down_sizes),
        });
        let smallest_total_loss = self
            .sizes
            .iter()
            .find(|tally| tally.lose > 0)
            .map(|tally| {
                tally
                    .losses
                    .iter()
                    .map(|(down, count)| DownSet {
                        down: ids(*down),
                        count: *count,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let failure_sizes = size_list(&self.sizes);
        let qnetd_witness = self.qnetd.as_ref().and_then(|plan| plan.witness.as_ref()).map(
            |(_, script, description, case)| {
                Witness::replayed(self.settings, script.clone(), *case, description.clone())
            },
        );
        let plain_witness = self.witness.as_ref().map(|(_, scenario, case)| {
            let script = self.plain_witness_script(scenario, *case);
            Witness::replayed(self.settings, script, *case, describe(&self.node_ids, scenario))
        });
        let witness = qnetd_witness.or(plain_witness);
        let classes = OutcomeClass::ALL
            .iter()
            .map(|class| ClassCount {
                class: *class,
                running: self.class_counts[0][class.index()],
                cold_start: self.class_counts[1][class.index()],
            })
            .collect();
        // Both methods fill the grid (the vote sums per down-set size, `cell_counts`).
        let grid = Some(self.grid_cells());
        Analysis {
            node_ids: self.node_ids.clone(),
            symmetry_classes: self
                .classes
                .iter()
                .map(|class| class.iter().map(|pos| self.node_ids[*pos]).collect())
                .collect(),
            links: (0..8u8).filter(|link| self.all_links >> link & 1 == 1).collect(),
            startup_error: model::quorum::startup_error(self.settings).map(|error| error.to_string()),
            scenarios: ScenarioCounts {
                total: self.total,
                method: self.method,
                evaluated: self.evaluated,
                membership_signatures: self.signatures,
                link_failure_sets: self.link_sets.len() as u32,
                engine_runs: self.engine_runs,
            },
            always_tolerated_node_failures: always_tolerated,
            cold_start_tolerated_missing_nodes: cold_tolerated,
            failure_sizes,
            smallest_total_loss,
            smallest_total_loss_complete: self.losses_complete,
            split_brain: SplitBrain {
                possible: witness.is_some(),
                running: self.split_counts[0],
                cold_start: self.split_counts[1],
                witness,
            },
            single_link_failures: self.single_link_failures(),
            classes,
            grid,
            notes: super::notes(self.settings),
            qnetd,
        }
    }
}
