//! The vote-sum method: the tallies `Analyzer::run` produces (outcome classes in both cases,
//! failure sizes, the smallest total loss) counted exactly without enumerating scenarios.
//!
//! It must not decide votequorum behaviour: every quorate/inquorate answer still comes from
//! `model::quorum::ClusterState`, once per *membership signature*. It must refuse (with a
//! sentence saying why) every configuration where the counting argument below does not
//! hold, rather than guess; `analyze` then falls back to the enumeration or to its limit.
//!
//! # The argument (docs/scale.md has it in full)
//!
//! 1. Where every combination of failed links leaves the nodes that still reach someone one
//!    full mesh (and the intact cluster one full mesh), each block of a scenario's set
//!    partition is one membership of its meshed nodes plus one single-node membership per
//!    isolated node, whose answers do not depend on the other blocks (the enumeration's own
//!    rule). Partial meshes are refused.
//! 2. From the fully joined cluster (running) or from every node stopped (cold start), a
//!    membership's answer depends only on its signature: its vote sum, its node count, and
//!    whether it holds the nodes the engine singles out (the tie-breaker of the running
//!    cluster; a node of an auto_tie_breaker list; a node quorate on its own). During a
//!    ring change quorum only rises while votes are added, expected votes only rise, and
//!    the final `sync_activate` recalculation sees the whole ring, so the delivery order of
//!    the members' nodeinfo does not change the final answer (spec 1.3-1.6). Each signature
//!    is evaluated on two different memberships where it has two, and the method refuses if
//!    the engine disagrees, or if some nodes of one membership are quorate and others not.
//! 3. When no two disjoint memberships can both be quorate (checked over the signatures:
//!    two quorate ones never fit side by side in the votes, nodes and singled-out nodes
//!    there are), a scenario has at most one quorate block. Then, with Bell numbers B:
//!    scenarios with a quorate block B = sum over quorate subsets S of B(n - |S| + 1) (the
//!    other nodes and the down marker partitioned freely, none of their blocks quorate),
//!    and the subsets are counted by signature with a subset-sum DP over the symmetry
//!    classes (binomial multiplicities), so every count equals the plain enumeration's.
//!    Per link set, isolated nodes count like nodes that never run, and an isolated node
//!    quorate alone adds the B(n + 1) - B(n) scenarios where it is up.

use super::{bell, Analyzer, SizeTally};
use crate::exhaustive::{Case, Method, OutcomeClass, LISTED_LOSSES};
use model::quorum::{NodeId, NodeSet, TieBreaker};
use std::collections::{BTreeMap, HashSet};

/// Signature bit: the membership holds the running cluster's auto_tie_breaker node.
const TIE_BREAKER: u8 = 1;
/// Signature bit: the membership holds a node of the auto_tie_breaker list.
const LISTED: u8 = 2;
/// Signature bit: the membership holds a node that is quorate booting alone.
const ALONE_QUORATE: u8 = 4;
/// The bits the running case reads (its tie-breaker is the one the fully joined cluster
/// knows: the lowest/highest id there, or the first listed id running).
const RUNNING_BITS: u8 = TIE_BREAKER;
/// The bits the cold start reads (booting nodes know no lowest/highest id yet, and their
/// previous ring is empty, so any listed node breaks a tie).
const COLD_BITS: u8 = LISTED | ALONE_QUORATE;

/// More distinct (vote sum, node count, bits, ghosts) keys than this: refuse (votes so
/// varied that subset sums barely coincide).
const MAX_KEYS: usize = 250_000;

/// A vote total from which votequorum's `uint8_t quorum` wraps (spec 2.10): the order of
/// intermediate recalculations then matters, so the method refuses.
const WRAPPING_VOTES: u64 = 510;

/// The classes the vote-sum method counts, in the order of `case_counts`' and
/// `cell_counts`' arrays (split-brain and partial meshes are refused, never counted).
const VOTE_SUM_CLASSES: [OutcomeClass; 4] = [
    OutcomeClass::AllQuorate,
    OutcomeClass::OneQuorate,
    OutcomeClass::NoneQuorate,
    OutcomeClass::AllDown,
];

/// Per case (running, cold start), per number of down nodes: `cell_counts`' four classes.
type CellCounts = [Vec<[u128; 4]>; 2];

/// Up sets grouped by what the answer and the counts depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    /// Votes of the runnable up nodes.
    votes: u64,
    /// Runnable up nodes.
    nodes: u32,
    /// `TIE_BREAKER` | `LISTED` | `ALONE_QUORATE`.
    bits: u8,
    /// Up nodes that can never run (no ring address, or corosync refuses to start).
    ghosts: u32,
}

/// A membership signature in one case: vote sum, node count, the bits that case reads.
type Signature = (u64, u32, u8);

/// How many up sets share a key, and up to two different representatives.
struct Entry {
    count: u128,
    first: NodeSet,
    other: Option<NodeSet>,
}

/// One symmetry class as the DP sees it.
struct Class {
    size: usize,
    votes: u64,
    runnable: bool,
    /// Bits an up set gets from holding at least one node of the class.
    bits: u8,
}

/// The engine's answers per signature, for one case.
type Answers = BTreeMap<Signature, bool>;

impl Analyzer<'_> {
    /// Fills the tallies by the vote-sum method, or says why it cannot count this
    /// configuration exactly (then no tally changed: the engine-run and signature counters
    /// are restored).
    pub(in crate::exhaustive) fn count_by_vote_sums(&mut self) -> Result<(), String> {
        let engine_runs = self.engine_runs;
        let result = self.vote_sums();
        if result.is_err() {
            self.engine_runs = engine_runs;
            self.signatures = 0;
        }
        result
    }

    fn vote_sums(&mut self) -> Result<(), String> {
        self.check_preconditions()?;
        let classes = self.dp_classes()?;
        let keys = self.count_up_sets(&classes, NodeSet::EMPTY)?;
        let running = self.answers(Case::Running, &keys)?;
        let cold = self.answers(Case::ColdStart, &keys)?;
        self.signatures = (running.len() + cold.len()) as u64;
        let alone_quorate = classes
            .iter()
            .filter(|class| class.bits & ALONE_QUORATE != 0)
            .map(|class| class.size)
            .sum::<usize>();
        let listed = classes
            .iter()
            .filter(|class| class.bits & LISTED != 0)
            .map(|class| class.size)
            .sum::<usize>();
        self.at_most_one_quorate(Case::Running, &running, |a, b| a & b & TIE_BREAKER == 0)?;
        self.at_most_one_quorate(Case::ColdStart, &cold, |a, b| {
            (a & b & LISTED == 0 || listed >= 2) && (a & b & ALONE_QUORATE == 0 || alone_quorate >= 2)
        })?;
        let count = self.node_ids.len();
        let ghosts = count - self.runnable.len();
        let link_sets = self.link_sets.len() as u128;
        let overflow = || "the number of scenarios does not fit in 128 bits".to_string();
        let bells: Vec<u128> = (0..=count + 1).map(bell).collect();
        if bells[count + 1] == u128::MAX {
            return Err(overflow());
        }
        // Ways to add the ghosts to two distinguished blocks (the quorate one and the down
        // block), the rest forming blocks of their own.
        let mut two_blocks = 0u128;
        for (alone, bell_alone) in bells.iter().enumerate().take(ghosts + 1) {
            let ways = self.binomial[ghosts][alone]
                .checked_mul(2u128.pow((ghosts - alone) as u32))
                .and_then(|ways| ways.checked_mul(*bell_alone))
                .ok_or_else(overflow)?;
            two_blocks = two_blocks.checked_add(ways).ok_or_else(overflow)?;
        }
        // Per link set: the nodes it isolates (no running peer reachable), the others one
        // full mesh. Link sets isolating the same nodes give the same counts.
        let mut class_counts = [[0u128; 6]; 2];
        // The grid: class counts per (down nodes, link set), `[case][class index]`.
        let mut grid = vec![[[0u128; 6]; 2]; (count + 1) * self.link_sets.len()];
        let mut by_isolated: Vec<(NodeSet, [[u128; 4]; 2], CellCounts)> = Vec::new();
        for index in 0..self.link_sets.len() {
            let isolated = self.isolated_by(index)?;
            let (counts, cells) = match by_isolated.iter().find(|(set, ..)| *set == isolated) {
                Some((_, counts, cells)) => (*counts, cells.clone()),
                None => {
                    let keys_here = if isolated.is_empty() {
                        None
                    } else {
                        Some(self.count_up_sets(&classes, isolated)?)
                    };
                    let keys_here = keys_here.as_ref().unwrap_or(&keys);
                    let mut counts = [[0u128; 4]; 2];
                    let mut cells: CellCounts = [Vec::new(), Vec::new()];
                    for (case, answers, bits) in [(0, &running, RUNNING_BITS), (1, &cold, COLD_BITS)] {
                        let alone: u128 = classes
                            .iter()
                            .enumerate()
                            .filter(|(class_index, class)| {
                                class.runnable
                                    && self.class_masks[*class_index].is_subset(isolated)
                                    && answers[&(class.votes, 1, class.bits & bits)]
                            })
                            .map(|(_, class)| class.size as u128)
                            .sum();
                        counts[case] =
                            self.case_counts(keys_here, answers, bits, alone, &bells, two_blocks)?;
                        cells[case] = self.cell_counts(keys_here, answers, bits, alone, &bells)?;
                        // The cells of each size add up to the link set's totals (two
                        // derivations of the same counts: a cross-check of both).
                        for (class, total) in counts[case].iter().enumerate() {
                            let summed = cells[case]
                                .iter()
                                .try_fold(0u128, |sum, cell| sum.checked_add(cell[class]))
                                .ok_or_else(overflow)?;
                            if summed != *total {
                                return Err("the vote-sum counts per number of down nodes do not add up \
                                     (a bug: please report it)"
                                    .to_string());
                            }
                        }
                    }
                    by_isolated.push((isolated, counts, cells.clone()));
                    (counts, cells)
                }
            };
            for (case, case_cells) in cells.iter().enumerate() {
                for (nodes_down, cell) in case_cells.iter().enumerate() {
                    let slot = &mut grid[nodes_down * self.link_sets.len() + index][case];
                    for (class, value) in VOTE_SUM_CLASSES.iter().zip(cell) {
                        slot[class.index()] = *value;
                    }
                }
            }
            for (case, case_counts) in counts.iter().enumerate() {
                for (class, value) in VOTE_SUM_CLASSES.iter().zip(case_counts) {
                    let slot = &mut class_counts[case][class.index()];
                    *slot = slot.checked_add(*value).ok_or_else(overflow)?;
                }
            }
        }
        let mut sizes = vec![SizeTally::default(); count + 1];
        for (nodes_down, tally) in sizes.iter_mut().enumerate() {
            tally.total = self.binomial[count][nodes_down];
        }
        for (key, entry) in &keys {
            let nodes_down = count - key.nodes as usize - key.ghosts as usize;
            let quorate = |answers: &Answers, bits: u8| {
                key.nodes > 0 && answers[&(key.votes, key.nodes, key.bits & bits)]
            };
            if !quorate(&running, RUNNING_BITS) {
                sizes[nodes_down].lose += entry.count;
            }
            if !quorate(&cold, COLD_BITS) {
                sizes[nodes_down].cold_lose += entry.count;
            }
        }
        let mut complete = true;
        if let Some(smallest) = sizes.iter().position(|tally| tally.lose > 0) {
            let losses = self.list_losses(&classes, smallest, &running);
            let listed: u128 = losses.iter().map(|(_, weight)| weight).sum();
            complete = listed == sizes[smallest].lose;
            sizes[smallest].losses = losses;
        }
        self.total = bells[count + 1].checked_mul(link_sets).ok_or_else(overflow)?;
        self.class_counts = class_counts;
        self.grid = grid;
        self.split_counts = [0, 0];
        self.sizes = sizes;
        self.witness = None;
        self.evaluated = 0;
        self.method = Method::VoteSums;
        self.losses_complete = complete;
        Ok(())
    }

    /// (every running node quorate, one membership quorate, nobody quorate, no node running)
    /// for one case and one link set: `keys` counts the up sets of the nodes that link set
    /// leaves in one mesh (isolated nodes counted as `ghosts`), `alone` is the number of
    /// isolated nodes quorate on their own.
    fn case_counts(
        &self,
        keys: &BTreeMap<Key, Entry>,
        answers: &Answers,
        bits: u8,
        alone: u128,
        bells: &[u128],
        two_blocks: u128,
    ) -> Result<[u128; 4], String> {
        let overflow = || "the number of scenarios does not fit in 128 bits".to_string();
        let count = self.node_ids.len();
        let ghosts = count - self.runnable.len();
        // An isolated node quorate alone is the one quorate membership wherever it is up.
        let mut with_quorate = alone
            .checked_mul(bells[count + 1] - bells[count])
            .ok_or_else(overflow)?;
        let mut all_quorate = alone.checked_mul(two_blocks).ok_or_else(overflow)?;
        for (key, entry) in keys {
            if key.nodes == 0 || !answers[&(key.votes, key.nodes, key.bits & bits)] {
                continue;
            }
            let rest = count - key.nodes as usize - key.ghosts as usize;
            let ways = entry.count.checked_mul(bells[rest + 1]).ok_or_else(overflow)?;
            with_quorate = with_quorate.checked_add(ways).ok_or_else(overflow)?;
            if key.ghosts == 0 {
                let ways = entry.count.checked_mul(two_blocks).ok_or_else(overflow)?;
                all_quorate = all_quorate.checked_add(ways).ok_or_else(overflow)?;
            }
        }
        let all_down = bells[ghosts + 1];
        let inconsistent = || "the vote-sum counts do not add up (a bug: please report it)".to_string();
        let none = bells[count + 1]
            .checked_sub(with_quorate)
            .and_then(|rest| rest.checked_sub(all_down))
            .ok_or_else(inconsistent)?;
        let one = with_quorate.checked_sub(all_quorate).ok_or_else(inconsistent)?;
        Ok([all_quorate, one, none, all_down])
    }

    /// `case_counts` per number of down nodes (index: nodes down, 0 to every node): the
    /// same four classes for the scenarios of one link set whose down set has that size.
    ///
    /// With n nodes, g of them never running, R runnable and B the Bell numbers, a cell of
    /// d down nodes holds C(n, d) B(n - d) scenarios. A quorate up set S (its key: |S| =
    /// nodes + ghosts) is the quorate block; the other r = n - |S| nodes give the d down
    /// ones in C(r, d) ways and the rest partition freely: C(r, d) B(r - d). Every running
    /// node is quorate when S holds no ghost and every other runnable node is down: then
    /// d = R - |S| + j where j of the g never-running nodes are down, C(g, j) ways, the
    /// other g - j join S or blocks of their own, B(g - j + 1) ways. An isolated node quorate
    /// alone, up: C(n - 1, d) B(n - d) scenarios, all quorate with the R - 1 others down.
    /// No node runs with d = R + j: C(g, j) B(g - j). The sums over d are `case_counts`'s
    /// (Vandermonde-like identities of the Bell numbers), which `vote_sums` checks.
    fn cell_counts(
        &self,
        keys: &BTreeMap<Key, Entry>,
        answers: &Answers,
        bits: u8,
        alone: u128,
        bells: &[u128],
    ) -> Result<Vec<[u128; 4]>, String> {
        let overflow = || "the number of scenarios does not fit in 128 bits".to_string();
        let count = self.node_ids.len();
        let runnable = self.runnable.len();
        let ghosts = count - runnable;
        let binomial = &self.binomial;
        let product = |a: u128, b: u128, c: u128| a.checked_mul(b).and_then(|ab| ab.checked_mul(c));
        let add = |slot: &mut u128, value: Option<u128>| -> Result<(), String> {
            *slot = value
                .and_then(|value| slot.checked_add(value))
                .ok_or_else(overflow)?;
            Ok(())
        };
        let mut with_quorate = vec![0u128; count + 1];
        let mut all_quorate = vec![0u128; count + 1];
        let mut all_down = vec![0u128; count + 1];
        if alone > 0 {
            for nodes_down in 0..count {
                let ways = product(alone, binomial[count - 1][nodes_down], bells[count - nodes_down]);
                add(&mut with_quorate[nodes_down], ways)?;
            }
            for down_ghosts in 0..=ghosts {
                let ways = product(
                    alone,
                    binomial[ghosts][down_ghosts],
                    bells[ghosts - down_ghosts + 1],
                );
                add(&mut all_quorate[runnable - 1 + down_ghosts], ways)?;
            }
        }
        for (key, entry) in keys {
            if key.nodes == 0 || !answers[&(key.votes, key.nodes, key.bits & bits)] {
                continue;
            }
            let rest = count - key.nodes as usize - key.ghosts as usize;
            for nodes_down in 0..=rest {
                let ways = product(entry.count, binomial[rest][nodes_down], bells[rest - nodes_down]);
                add(&mut with_quorate[nodes_down], ways)?;
            }
            if key.ghosts == 0 {
                let forced = runnable - key.nodes as usize;
                for down_ghosts in 0..=ghosts {
                    let ways = product(
                        entry.count,
                        binomial[ghosts][down_ghosts],
                        bells[ghosts - down_ghosts + 1],
                    );
                    add(&mut all_quorate[forced + down_ghosts], ways)?;
                }
            }
        }
        for down_ghosts in 0..=ghosts {
            all_down[runnable + down_ghosts] = binomial[ghosts][down_ghosts]
                .checked_mul(bells[ghosts - down_ghosts])
                .ok_or_else(overflow)?;
        }
        let inconsistent = || "the vote-sum counts do not add up (a bug: please report it)".to_string();
        (0..=count)
            .map(|nodes_down| {
                let total = binomial[count][nodes_down]
                    .checked_mul(bells[count - nodes_down])
                    .ok_or_else(overflow)?;
                let none = total
                    .checked_sub(with_quorate[nodes_down])
                    .and_then(|rest| rest.checked_sub(all_down[nodes_down]))
                    .ok_or_else(inconsistent)?;
                let one = with_quorate[nodes_down]
                    .checked_sub(all_quorate[nodes_down])
                    .ok_or_else(inconsistent)?;
                Ok([all_quorate[nodes_down], one, none, all_down[nodes_down]])
            })
            .collect()
    }

    /// The running nodes link set `index` isolates (no running node reachable), when the
    /// others are one full mesh; a partial mesh is refused.
    fn isolated_by(&self, index: usize) -> Result<NodeSet, String> {
        let set = &self.link_sets[index];
        let isolated: NodeSet = self
            .runnable
            .iter()
            .filter(|pos| ((set.adjacent[*pos] & self.runnable) - NodeSet::single(*pos)).is_empty())
            .collect();
        let meshed = self.runnable - isolated;
        for pos in meshed.iter() {
            let reach = set.adjacent[pos] | NodeSet::single(pos);
            if let Some(missing) = (meshed - reach).min() {
                let links: Vec<String> = (0..8u8)
                    .filter(|link| set.links_down >> link & 1 == 1)
                    .map(|link| link.to_string())
                    .collect();
                return Err(format!(
                    "with {} nodes {} and {} cannot talk although both still reach other nodes \
                     (a partial mesh), which is enumerated only",
                    if links.is_empty() {
                        "every link up".to_string()
                    } else {
                        format!("link {} down", links.join(","))
                    },
                    self.node_ids[pos],
                    self.node_ids[missing]
                ));
            }
        }
        Ok(isolated)
    }

    /// The configurations the argument covers: the fully joined start, full connectivity
    /// under every link set, no 8-bit quorum wrap, a tie-breaker every node agrees on.
    fn check_preconditions(&self) -> Result<(), String> {
        if self.qnetd.is_some() {
            return Err(
                "qnetd decides the quorum device's vote from every partition at once (ffsplit) or \
                 from each node's history (lms, 2nodelms), which no membership signature captures: \
                 qdevice configurations are enumerated only"
                    .to_string(),
            );
        }
        if self.start_script.is_some() {
            return Err(
                "it starts from the fully joined cluster only (`-s SCRIPT --all` is enumerated)".to_string(),
            );
        }
        if !self
            .link_sets
            .first()
            .is_some_and(|set| set.links_down == 0 && set.complete)
        {
            return Err(
                "with every link up the running nodes are not one full mesh (their links \
                 differ), which is enumerated only"
                    .to_string(),
            );
        }
        let settings = self.settings;
        let vote_sum: u64 = settings.nodes.iter().map(|node| u64::from(node.votes)).sum();
        let device_votes = settings.device.as_ref().map_or(0, |device| {
            device.votes.map_or(settings.nodes.len() as u64, u64::from)
        });
        let expected = u64::from(settings.expected_votes.unwrap_or(0));
        if vote_sum + device_votes >= WRAPPING_VOTES || expected >= WRAPPING_VOTES {
            return Err(format!(
                "the vote total reaches {WRAPPING_VOTES}, where votequorum's 8-bit quorum wraps \
                 (spec 2.10) and the order of recalculations matters"
            ));
        }
        if settings.auto_tie_breaker && self.initial_quorate != self.runnable {
            return Err(
                "with auto_tie_breaker the intact cluster is not quorate everywhere, so nodes may \
                 disagree on which node breaks ties"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// The symmetry classes with their votes and signature bits.
    fn dp_classes(&mut self) -> Result<Vec<Class>, String> {
        let settings = self.settings;
        let votes_of = |nodeid: NodeId| {
            settings
                .nodes
                .iter()
                .find(|node| node.nodeid == nodeid)
                .map_or(0, |node| u64::from(node.votes))
        };
        let running_ids: Vec<(NodeId, usize)> = self
            .runnable
            .iter()
            .map(|pos| (self.node_ids[pos], pos))
            .collect();
        let position_of = |nodeid: NodeId| {
            running_ids
                .iter()
                .find(|(id, _)| *id == nodeid)
                .map(|(_, pos)| *pos)
        };
        let (tie_breaker, listed) = if settings.auto_tie_breaker {
            match &settings.auto_tie_breaker_node {
                None | Some(TieBreaker::Lowest) => {
                    (running_ids.iter().min().map(|(_, pos)| *pos), NodeSet::EMPTY)
                }
                Some(TieBreaker::Highest) => (running_ids.iter().max().map(|(_, pos)| *pos), NodeSet::EMPTY),
                Some(TieBreaker::List(list)) => (
                    list.iter().find_map(|nodeid| position_of(*nodeid)),
                    list.iter().filter_map(|nodeid| position_of(*nodeid)).collect(),
                ),
                Some(TieBreaker::Invalid) => (None, NodeSet::EMPTY),
            }
        } else {
            (None, NodeSet::EMPTY)
        };
        let mut classes = Vec::new();
        for index in 0..self.classes.len() {
            let positions = self.classes[index].clone();
            let first = positions[0];
            let votes = votes_of(self.node_ids[first]);
            let runnable = self.runnable.contains(first);
            let uniform = positions.iter().all(|pos| {
                votes_of(self.node_ids[*pos]) == votes && self.runnable.contains(*pos) == runnable
            });
            let mask = self.class_masks[index];
            let holds_tie_breaker = tie_breaker.is_some_and(|pos| mask.contains(pos));
            let holds_listed = !(mask & listed).is_empty();
            if !uniform
                || (holds_tie_breaker && positions.len() > 1)
                || (holds_listed && !(mask - listed).is_empty())
            {
                return Err(format!(
                    "the symmetry class of node {} mixes nodes the engine tells apart (a bug: please report it)",
                    self.node_ids[first]
                ));
            }
            let mut bits = 0;
            if holds_tie_breaker {
                bits |= TIE_BREAKER;
            }
            if holds_listed {
                bits |= LISTED;
            }
            if runnable && self.run_engine(Case::ColdStart, NodeSet::single(first)) > 0 {
                bits |= ALONE_QUORATE;
            }
            classes.push(Class {
                size: positions.len(),
                votes,
                runnable,
                bits,
            });
        }
        Ok(classes)
    }

    /// Every up set, grouped by key: a subset-sum DP over the classes, taking `u` of a
    /// class's `size` nodes in `C(size, u)` ways (its first `u` as the representative).
    /// Nodes in `isolated` count as `ghosts` (they join blocks without joining the mesh).
    fn count_up_sets(&self, classes: &[Class], isolated: NodeSet) -> Result<BTreeMap<Key, Entry>, String> {
        let mut layer: BTreeMap<Key, Entry> = BTreeMap::new();
        layer.insert(
            Key {
                votes: 0,
                nodes: 0,
                bits: 0,
                ghosts: 0,
            },
            Entry {
                count: 1,
                first: NodeSet::EMPTY,
                other: None,
            },
        );
        for (index, class) in classes.iter().enumerate() {
            let mut next: BTreeMap<Key, Entry> = BTreeMap::new();
            let meshed = class.runnable && !self.class_masks[index].is_subset(isolated);
            for (key, entry) in &layer {
                for up in 0..=class.size {
                    let taken = up as u32;
                    let next_key = if meshed {
                        Key {
                            votes: key.votes + class.votes * u64::from(taken),
                            nodes: key.nodes + taken,
                            bits: key.bits | if up > 0 { class.bits } else { 0 },
                            ghosts: key.ghosts,
                        }
                    } else {
                        Key {
                            ghosts: key.ghosts + taken,
                            ..*key
                        }
                    };
                    let chosen = self.prefix[index][up];
                    let count = entry.count * self.binomial[class.size][up];
                    let first = entry.first | chosen;
                    let other = entry.other.map(|other| other | chosen);
                    match next.get_mut(&next_key) {
                        None => {
                            next.insert(next_key, Entry { count, first, other });
                        }
                        Some(existing) => {
                            existing.count += count;
                            if existing.other.is_none() {
                                existing.other = Some(first).filter(|set| *set != existing.first).or(other);
                            }
                        }
                    }
                }
            }
            if next.len() > MAX_KEYS {
                return Err(format!(
                    "the votes are so varied that the up sets have more than {MAX_KEYS} distinct \
                     vote sums and sizes"
                ));
            }
            layer = next;
        }
        Ok(layer)
    }

    /// The engine's answer for every signature of `case` (quorate or not), each evaluated on
    /// up to two different memberships that must agree, and all-or-nothing inside one.
    fn answers(&mut self, case: Case, keys: &BTreeMap<Key, Entry>) -> Result<Answers, String> {
        let bits = match case {
            Case::Running => RUNNING_BITS,
            Case::ColdStart => COLD_BITS,
        };
        let mut witnesses: BTreeMap<Signature, (NodeSet, Option<NodeSet>)> = BTreeMap::new();
        for (key, entry) in keys {
            if key.nodes == 0 {
                continue;
            }
            let members = entry.first & self.runnable;
            let other = entry
                .other
                .map(|set| set & self.runnable)
                .filter(|set| *set != members);
            let slot = witnesses
                .entry((key.votes, key.nodes, key.bits & bits))
                .or_insert((members, None));
            if slot.1.is_none() {
                slot.1 = Some(members).filter(|set| *set != slot.0).or(other);
            }
        }
        let mut answers = Answers::new();
        for (signature, (first, other)) in witnesses {
            let quorate = self.run_engine(case, first);
            if quorate != 0 && quorate != signature.1 {
                return Err(format!(
                    "in the {} case only {quorate} of the {} nodes of membership {{{}}} are quorate \
                     (the nodes disagree), which vote sums cannot count",
                    case.name(),
                    signature.1,
                    self.id_list(first)
                ));
            }
            if let Some(other) = other {
                let other_quorate = self.run_engine(case, other);
                if other_quorate != quorate {
                    return Err(format!(
                        "in the {} case memberships {{{}}} and {{{}}} have the same votes and node \
                         count but the engine answers differently",
                        case.name(),
                        self.id_list(first),
                        self.id_list(other)
                    ));
                }
            }
            answers.insert(signature, quorate > 0);
        }
        Ok(answers)
    }

    /// Refuses when two disjoint memberships might both be quorate in `case`: some pair of
    /// quorate signatures fits side by side in the runnable nodes' votes and count, and
    /// `compatible` says their bits can be held by disjoint sets.
    fn at_most_one_quorate(
        &self,
        case: Case,
        answers: &Answers,
        compatible: impl Fn(u8, u8) -> bool,
    ) -> Result<(), String> {
        let total_votes: u64 = self
            .runnable
            .iter()
            .map(|pos| {
                let nodeid = self.node_ids[pos];
                self.settings
                    .nodes
                    .iter()
                    .find(|node| node.nodeid == nodeid)
                    .map_or(0, |node| u64::from(node.votes))
            })
            .sum();
        let total_nodes = self.runnable.len() as u32;
        // Per bits: quorate signatures sorted by votes, and the running minimum of nodes.
        let mut groups: BTreeMap<u8, Vec<(u64, u32)>> = BTreeMap::new();
        for ((votes, nodes, bits), quorate) in answers {
            if *quorate {
                groups.entry(*bits).or_default().push((*votes, *nodes));
            }
        }
        let mut fewest: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
        for (bits, list) in &mut groups {
            list.sort_unstable();
            let mut least = u32::MAX;
            let mins = list
                .iter()
                .map(|(_, nodes)| {
                    least = least.min(*nodes);
                    least
                })
                .collect();
            fewest.insert(*bits, mins);
        }
        for (bits_a, list_a) in &groups {
            for (bits_b, list_b) in &groups {
                if !compatible(*bits_a, *bits_b) {
                    continue;
                }
                let mins_b = &fewest[bits_b];
                for (votes_a, nodes_a) in list_a {
                    let room = total_votes.saturating_sub(*votes_a);
                    let fits = list_b.partition_point(|(votes, _)| *votes <= room);
                    if fits == 0 || mins_b[fits - 1] + nodes_a > total_nodes {
                        continue;
                    }
                    let Some((votes_b, nodes_b)) = list_b[..fits]
                        .iter()
                        .find(|(_, nodes)| nodes + nodes_a <= total_nodes)
                    else {
                        continue;
                    };
                    return Err(format!(
                        "in the {} case two disjoint memberships may both be quorate ({} with {} \
                         beside {} with {}), so split-brain scenarios may exist; the vote-sum \
                         method counts exactly only where at most one membership can be quorate",
                        case.name(),
                        plural(*nodes_a, "node"),
                        plural_votes(*votes_a),
                        plural(*nodes_b, "node"),
                        plural_votes(*votes_b),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The down sets of `nodes_down` nodes that leave nobody quorate (running case), as the
    /// enumeration lists them: canonical representatives in its down-vector order (class 0
    /// varies fastest), with their orbit sizes, at most `LISTED_LOSSES` of them.
    fn list_losses(&self, classes: &[Class], nodes_down: usize, running: &Answers) -> Vec<(NodeSet, u128)> {
        let mut search = LossSearch {
            analyzer: self,
            classes,
            running,
            dead: HashSet::new(),
            found: Vec::new(),
        };
        search.visit(classes.len(), nodes_down, 0, 0, 0, NodeSet::EMPTY, 1);
        search.found
    }

    fn id_list(&self, set: NodeSet) -> String {
        super::ids_in(&self.node_ids, set)
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn plural(count: u32, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn plural_votes(votes: u64) -> String {
    if votes == 1 {
        "1 vote".to_string()
    } else {
        format!("{votes} votes")
    }
}

/// The depth-first search behind `list_losses`: classes from the last (the slowest digit of
/// the enumeration's down vectors) to the first, fewest down nodes first, remembering the
/// partial choices that cannot be completed into a loss.
struct LossSearch<'s, 'a> {
    analyzer: &'s Analyzer<'a>,
    classes: &'s [Class],
    running: &'s Answers,
    /// (classes left, down nodes left, votes, nodes, bits) with no loss below.
    dead: HashSet<(usize, usize, u64, u32, u8)>,
    found: Vec<(NodeSet, u128)>,
}

impl LossSearch<'_, '_> {
    /// Chooses the down count of class `left - 1` (classes `left..` are chosen; `votes`,
    /// `nodes`, `bits` describe their runnable up nodes). Whether some loss lies below.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        left: usize,
        down_left: usize,
        votes: u64,
        nodes: u32,
        bits: u8,
        down: NodeSet,
        weight: u128,
    ) -> bool {
        if left == 0 {
            let quorate = nodes > 0 && self.running[&(votes, nodes, bits)];
            if down_left == 0 && !quorate {
                self.found.push((down, weight));
                return true;
            }
            return false;
        }
        let state = (left, down_left, votes, nodes, bits);
        if self.dead.contains(&state) {
            return false;
        }
        let index = left - 1;
        let class = &self.classes[index];
        let mut any = false;
        for taken in 0..=class.size.min(down_left) {
            if self.found.len() >= LISTED_LOSSES {
                return true;
            }
            let up = class.size - taken;
            let (next_votes, next_nodes) = if class.runnable {
                (votes + class.votes * up as u64, nodes + up as u32)
            } else {
                (votes, nodes)
            };
            let next_bits = bits | if up > 0 { class.bits & RUNNING_BITS } else { 0 };
            let next_down = down | self.analyzer.prefix[index][taken];
            let next_weight = weight * self.analyzer.binomial[class.size][taken];
            any |= self.visit(
                index,
                down_left - taken,
                next_votes,
                next_nodes,
                next_bits,
                next_down,
                next_weight,
            );
        }
        if !any {
            self.dead.insert(state);
        }
        any
    }
}
