//! A complete canonical form of a `ClusterState` under permutations of interchangeable
//! nodes, partition relabelling and time shift (the counter abstraction of `quorate check`,
//! `sim/src/check/counter/`), and the nodes that are interchangeable *in* a state (twins).
//!
//! Owns `ClusterState::canonical` and `Canonical`. `symmetry_representative` (next door, in
//! `checking.rs`) sorts nodes by a per-node signature and keeps ties in position order, so
//! two isomorphic states can get different representatives; this form is complete: two
//! states that are images of each other under a permutation within the classes (plus
//! relabelling and time shift) get the same `Canonical::state`. It is also sound by
//! construction: `Canonical::state` IS `self.permuted(perm)` with labels and time
//! normalised, a state of the same orbit.
//!
//! How: colour refinement (1-dimensional Weisfeiler-Leman) over the nodes, where a node's
//! first colour is its class and everything in its slot that names no position, and an
//! ordered pair of nodes is coloured by everything that relates them (the peer entries each
//! keeps of the other, ring and previous-ring membership, same partition, pair link faults).
//! Positions of a class are then ordered by colour. Nodes left with equal colours are
//! checked to be twins (swapping the two leaves the normalised state unchanged); a cell of
//! equal colours whose nodes are not all twins (e.g. two disjoint pair link faults) is split
//! by individualising each of its nodes in turn and refining again, keeping the candidate
//! with the smallest fingerprint (the candidate set is the same for isomorphic states, so
//! the choice is too). Within a cell of twins the order does not matter, which is what makes
//! the form complete. It must not change any transition: everything here is a read.
//! A child module of `cluster` (it reads the private fields), kept in its own file.

use crate::quorum::node::{AtbMode, Peer, PeerState, Votequorum};
use crate::quorum::node_config::NodeConfig;
use crate::quorum::node_set::{LinkMask, NodeSet};
use crate::quorum::ClusterState;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// How many leaves the individualisation search may visit before it settles for the best
/// candidate so far (then `Canonical::complete` is false: still sound, maybe less reduction).
const MAX_LEAVES: usize = 4096;

/// The canonical form of a state: see `ClusterState::canonical`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canonical {
    /// The canonical state: `self.permuted(&perm)` with partition labels renumbered and time
    /// shifted to 0 (`ClusterState::normalised`).
    pub state: ClusterState,
    /// The permutation that took the state to `state` (position `p` moved to `perm[p]`).
    pub perm: Vec<usize>,
    /// The twin classes of `state`: positions whose pairwise swaps leave `state` unchanged
    /// (after normalising labels). Disjoint, each ascending, every position in one, ordered
    /// by first position. Any permutation inside each twin class is an automorphism.
    pub twins: Vec<Vec<usize>>,
    /// The search visited every candidate (false only past `MAX_LEAVES` candidates).
    pub complete: bool,
    /// `state.fingerprint()`, computed once by the search.
    pub fingerprint: (u64, u64),
}

/// A candidate labelling: its fingerprint, permutation, state and twin classes.
type Leaf = ((u64, u64), Vec<usize>, ClusterState, Vec<Vec<usize>>);

/// Everything of one node that names no position (compared exactly for twins).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Local {
    class: usize,
    running: bool,
    disk_ev_barrier: u32,
    disk: Option<NodeConfig>,
    runtime: Option<NodeConfig>,
    provider_none: bool,
    links_down: LinkMask,
    /// The node's own peer entry and whether it is in its own ring / previous ring.
    own: Option<Peer>,
    in_ring: bool,
    in_previous: bool,
    /// The votequorum state without `me`, the peer table, the member sets, unread ids, and
    /// with the LMS deadline relative to now.
    votequorum: Votequorum,
}

/// Everything that relates one node to another (compared exactly for twins).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Relation {
    /// The entry the first node keeps of the second (running first node only).
    peer: Option<Peer>,
    member: bool,
    previous: bool,
    /// Both run in the same partition.
    same_partition: bool,
    /// Links down between the two only.
    pair_links: LinkMask,
}

/// rustc's FxHasher: fast, not collision-resistant; colours only order the search (their
/// collisions can cost reduction, never soundness: twins are compared exactly).
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, byte: u8) {
        self.write_u64(u64::from(byte));
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

/// A `Hasher` that only collects the bytes written to it (`ClusterState::fingerprint`).
struct Bytes(Vec<u8>);

impl Hasher for Bytes {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

fn fx<T: Hash>(value: &T) -> u64 {
    let mut hasher = Fx::default();
    value.hash(&mut hasher);
    hasher.finish()
}

impl ClusterState {
    /// The same state with partition labels renumbered in order of first appearance over the
    /// running nodes (stopped nodes get 0), time shifted so that `now` is 0, and the
    /// remembered lowest/highest node ids cleared where nothing reads them (as `permuted`
    /// does): what `symmetry_representative` does without moving any node.
    pub fn normalised(&self) -> ClusterState {
        let identity: Vec<usize> = (0..self.nodeids.len()).collect();
        self.permuted(&identity)
            .unwrap_or_else(|| self.clone())
            .symmetry_representative(&[])
    }

    /// The same state with the history no fault-only transition reads forgotten: the exact
    /// coarsening the counter abstraction explores (docs/check-scale.md, "What is
    /// forgotten", for the argument). In every running node's peer table a `Dead` entry
    /// (a node that left one of its earlier rings) becomes `Unknown` with no votes, expected
    /// votes or flags; a node whose auto_tie_breaker is off (effective and at startup)
    /// forgets its previous ring. Exact, that is `e(s).forget_history() ==
    /// e(s.forget_history()).forget_history()` for every event `e` and every view the
    /// properties read equal on `s` and `s.forget_history()`, only for runs with fault
    /// events, starts, stops and waits: operator messages (`expected`, `reload`, node votes)
    /// read `Dead` entries, qnetd reads node ids. `self` unchanged with qnetd state.
    pub fn forget_history(&self) -> ClusterState {
        let mut state = self.clone();
        state.forget_history_in_place();
        state
    }

    /// `forget_history` without the copy: `*self = self.forget_history()`.
    pub fn forget_history_in_place(&mut self) {
        if self.qnetd.is_some() {
            return;
        }
        for slot in self.nodes.iter_mut().filter(|slot| slot.running) {
            let votequorum = &mut slot.votequorum;
            for peer in votequorum
                .peers
                .iter_mut()
                .filter(|peer| peer.state == PeerState::Dead)
            {
                *peer = Peer::default();
            }
            if votequorum.atb == AtbMode::Off && votequorum.atb_initial == AtbMode::Off {
                votequorum.previous_members = NodeSet::EMPTY;
            }
        }
    }

    /// A 128-bit fingerprint of the state: two independent SipHash runs over the bytes
    /// `Hash` writes, collected once into a buffer (`Hash` makes many small writes, each a
    /// call into SipHash when hashed directly: that was most of the counter path's time).
    pub fn fingerprint(&self) -> (u64, u64) {
        thread_local! {
            static BYTES: std::cell::RefCell<Bytes> = const { std::cell::RefCell::new(Bytes(Vec::new())) };
        }
        BYTES.with(|bytes| {
            let mut bytes = bytes.borrow_mut();
            bytes.0.clear();
            self.hash(&mut *bytes);
            let mut first = DefaultHasher::new();
            first.write(&bytes.0);
            let mut second = DefaultHasher::new();
            second.write_u64(0x9e37_79b9_7f4a_7c15);
            second.write(&bytes.0);
            (first.finish(), second.finish())
        })
    }

    /// The complete canonical form of this state under permutations inside `classes`
    /// (disjoint sets of positions, each of nodes with the same configuration that no
    /// node-id rule singles out; positions in no class stay), partition relabelling and
    /// time shift. `None` with qnetd state (qnetd reads node ids) or when `classes` name a
    /// position the state does not have.
    pub fn canonical(&self, classes: &[Vec<usize>]) -> Option<Canonical> {
        let count = self.nodeids.len();
        if self.qnetd.is_some() {
            return None;
        }
        // Class index per position; positions in no class get their own.
        let mut class_of: Vec<usize> = vec![usize::MAX; count];
        for (index, class) in classes.iter().enumerate() {
            for pos in class {
                if *pos >= count || class_of[*pos] != usize::MAX {
                    return None;
                }
                class_of[*pos] = index;
            }
        }
        let mut next = classes.len();
        for class in class_of.iter_mut() {
            if *class == usize::MAX {
                *class = next;
                next += 1;
            }
        }
        let mut all_classes: Vec<Vec<usize>> = vec![Vec::new(); next];
        for (pos, class) in class_of.iter().enumerate() {
            all_classes[*class].push(pos);
        }
        let locals: Vec<Local> = (0..count).map(|pos| self.local(pos, class_of[pos])).collect();
        let mut pair_links = vec![LinkMask::EMPTY; count * count];
        for (link, a, b) in &self.faults.pair_links_down {
            let (a, b) = (usize::from(*a), usize::from(*b));
            if a < count && b < count {
                pair_links[a * count + b].insert(*link);
                pair_links[b * count + a].insert(*link);
            }
        }
        let mut relations = vec![Relation::default(); count * count];
        for from in 0..count {
            for to in 0..count {
                if from != to {
                    relations[from * count + to] = self.relation(from, to, pair_links[from * count + to]);
                }
            }
        }
        let relation_colours: Vec<u64> = relations.iter().map(fx).collect();
        let colours = refine(locals.iter().map(fx).collect(), &relation_colours);
        let mut search = Search {
            cluster: self,
            classes: &all_classes,
            locals: &locals,
            relations: &relations,
            relation_colours: &relation_colours,
            best: None,
            leaves: 0,
        };
        search.run(colours);
        let complete = search.leaves <= MAX_LEAVES;
        let (fingerprint, perm, state, twins) = search.best?;
        Some(Canonical {
            state,
            perm,
            twins,
            complete,
            fingerprint,
        })
    }

    /// Everything of the node at `pos` that names no position, with its class.
    fn local(&self, pos: usize, class: usize) -> Local {
        let slot = &self.nodes[pos];
        let source = &slot.votequorum;
        let lms = source.lms;
        let reads_ids = |mode: &AtbMode| {
            matches!(mode, AtbMode::Lowest | AtbMode::Highest) || (lms && *mode != AtbMode::Off)
        };
        let ids = reads_ids(&source.atb) || reads_ids(&source.atb_initial);
        // Every field named (a field added later must be placed here or the build fails),
        // the positional ones blanked; the peer table is not copied.
        let votequorum = Votequorum {
            me: 0,
            peers: Vec::new(),
            quorum: source.quorum,
            quorate: source.quorate,
            two_node: source.two_node,
            wait_for_all: source.wait_for_all,
            wfa_autoset: source.wfa_autoset,
            wfa_status: source.wfa_status,
            lms: source.lms,
            lms_window_ms: source.lms_window_ms,
            lms_deadline: source
                .lms_deadline
                .map(|deadline| deadline.saturating_sub(self.now_ms)),
            atb_initial: source.atb_initial.clone(),
            atb: source.atb.clone(),
            lowest_node_id: source.lowest_node_id.filter(|_| ids),
            highest_node_id: source.highest_node_id.filter(|_| ids),
            members: NodeSet::EMPTY,
            previous_members: NodeSet::EMPTY,
            qdevice_votes: source.qdevice_votes,
            qdevice_can_operate: source.qdevice_can_operate,
            allow_downscale: source.allow_downscale,
            ev_tracking: source.ev_tracking,
            ev_barrier: source.ev_barrier,
            ev_tracking_barrier: source.ev_tracking_barrier,
        };
        Local {
            class,
            running: slot.running,
            disk_ev_barrier: slot.disk_ev_barrier,
            disk: slot.disk.clone(),
            runtime: slot.runtime.clone(),
            provider_none: slot.provider_none,
            links_down: self.faults.node_links_down[pos],
            own: source.peers.get(source.me).copied(),
            in_ring: source.members.contains(pos),
            in_previous: source.previous_members.contains(pos),
            votequorum,
        }
    }

    /// Everything that relates the node at `from` to the node at `to`.
    fn relation(&self, from: usize, to: usize, pair_links: LinkMask) -> Relation {
        let slot = &self.nodes[from];
        let mut relation = Relation {
            pair_links,
            ..Relation::default()
        };
        if slot.running {
            let votequorum = &slot.votequorum;
            relation.peer = votequorum.peers.get(to).copied();
            relation.member = votequorum.members.contains(to);
            relation.previous = votequorum.previous_members.contains(to);
            relation.same_partition = self.nodes[to].running && self.group[from] == self.group[to];
        }
        relation
    }
}

/// Colour refinement: each round a node's colour becomes its colour with the multiset of
/// (other node's colour, relation both ways), until the number of distinct colours stops
/// growing. Colours are hashes of isomorphism-invariant data only: the multiset is hashed as
/// a wrapping sum of its elements' mixed hashes (order-independent, so no sort per node).
fn refine(mut colours: Vec<u64>, relation: &[u64]) -> Vec<u64> {
    let count = colours.len();
    let mut sorted: Vec<u64> = Vec::with_capacity(count);
    let mut distinct = |colours: &[u64]| {
        sorted.clear();
        sorted.extend_from_slice(colours);
        sorted.sort_unstable();
        sorted.dedup();
        sorted.len()
    };
    let mut cells = distinct(&colours);
    let mut next: Vec<u64> = vec![0; count];
    loop {
        for (node, slot) in next.iter_mut().enumerate() {
            let mut around = 0u64;
            for other in (0..count).filter(|other| *other != node) {
                let mut hasher = Fx::default();
                hasher.write_u64(colours[other]);
                hasher.write_u64(relation[node * count + other]);
                hasher.write_u64(relation[other * count + node]);
                around = around.wrapping_add(mix(hasher.finish()));
            }
            let mut hasher = Fx::default();
            hasher.write_u64(colours[node]);
            hasher.write_u64(around);
            *slot = hasher.finish();
        }
        let now = distinct(&next);
        std::mem::swap(&mut colours, &mut next);
        if now <= cells {
            return colours;
        }
        cells = now;
    }
}

/// splitmix64's finaliser: spreads every input bit over the word, so that sums of mixed
/// hashes (`refine`'s multisets) do not cancel the way sums of raw `Fx` words can.
fn mix(mut word: u64) -> u64 {
    word = (word ^ (word >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    word = (word ^ (word >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    word ^ (word >> 31)
}

/// The individualisation-refinement search for the smallest candidate labelling.
struct Search<'a> {
    cluster: &'a ClusterState,
    /// Every position's class (singletons included), each ascending.
    classes: &'a [Vec<usize>],
    locals: &'a [Local],
    relations: &'a [Relation],
    relation_colours: &'a [u64],
    best: Option<Leaf>,
    leaves: usize,
}

impl Search<'_> {
    /// Whether swapping the nodes at `a` and `b` is an automorphism of the state (up to
    /// partition labels): same local part, same relations to and from every other node,
    /// and the relation between the two the same both ways.
    fn twins(&self, a: usize, b: usize) -> bool {
        if a == b {
            return true;
        }
        let count = self.locals.len();
        let relation = |from: usize, to: usize| &self.relations[from * count + to];
        self.locals[a] == self.locals[b]
            && relation(a, b) == relation(b, a)
            && (0..count)
                .filter(|other| *other != a && *other != b)
                .all(|other| {
                    relation(a, other) == relation(b, other) && relation(other, a) == relation(other, b)
                })
    }

    fn run(&mut self, colours: Vec<u64>) {
        if self.leaves > MAX_LEAVES && self.best.is_some() {
            return;
        }
        let count = colours.len();
        // Within each class, positions by colour; targets are the class's positions.
        let mut perm: Vec<usize> = (0..count).collect();
        let mut cells: Vec<Vec<usize>> = Vec::new(); // original positions, in image order
        for class in self.classes {
            let mut sorted = class.clone();
            sorted.sort_by_key(|pos| (colours[*pos], *pos));
            for (source, target) in sorted.iter().zip(class.iter()) {
                perm[*source] = *target;
            }
            let mut start = 0;
            while start < sorted.len() {
                let mut end = start + 1;
                while end < sorted.len() && colours[sorted[end]] == colours[sorted[start]] {
                    end += 1;
                }
                cells.push(sorted[start..end].to_vec());
                start = end;
            }
        }
        // Twin classes of each cell; the first cell that is not one class gets split.
        let mut twins: Vec<Vec<usize>> = Vec::new();
        for cell in &cells {
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for pos in cell {
                match groups.iter_mut().find(|group| self.twins(group[0], *pos)) {
                    Some(group) => group.push(*pos),
                    None => groups.push(vec![*pos]),
                }
            }
            if groups.len() > 1 {
                // Individualising two twins gives images of each other: one per group.
                for group in &groups {
                    let mut split = colours.clone();
                    split[group[0]] = fx(&(split[group[0]], "individualised"));
                    self.run(refine(split, self.relation_colours));
                }
                return;
            }
            twins.extend(groups);
        }
        self.leaves += 1;
        // `permuted(perm).symmetry_representative(&[])`: the identity permutation that
        // `symmetry_representative` applies first changes nothing on an image.
        let Some(mut image) = self.cluster.permuted(&perm) else {
            return;
        };
        image.relabel_and_shift();
        let fingerprint = image.fingerprint();
        if self
            .best
            .as_ref()
            .is_none_or(|(best, _, _, _)| fingerprint < *best)
        {
            let mut twins: Vec<Vec<usize>> = twins
                .into_iter()
                .map(|group| {
                    let mut mapped: Vec<usize> = group.iter().map(|pos| perm[*pos]).collect();
                    mapped.sort_unstable();
                    mapped
                })
                .collect();
            twins.sort_by_key(|group| group[0]);
            self.best = Some((fingerprint, perm, image, twins));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::quorum::{ClusterState, QuorumSettings};
    use crate::scenario;

    fn after(settings: &QuorumSettings, script: &str) -> ClusterState {
        let mut state = ClusterState::new(settings).unwrap();
        for step in scenario::parse(script).unwrap().steps {
            state.apply(settings, &step);
        }
        state
    }

    /// Every permutation of 0..n (Heap's algorithm).
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        let mut all = Vec::new();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut counters = vec![0; n];
        all.push(perm.clone());
        let mut i = 0;
        while i < n {
            if counters[i] < i {
                if i % 2 == 0 {
                    perm.swap(0, i);
                } else {
                    perm.swap(counters[i], i);
                }
                all.push(perm.clone());
                counters[i] += 1;
                i = 0;
            } else {
                counters[i] = 0;
                i += 1;
            }
        }
        all
    }

    #[test]
    fn every_image_gets_the_same_canonical_state_and_it_is_an_image() {
        let settings = QuorumSettings::plain(5);
        let classes = [vec![0, 1, 2, 3, 4]];
        for script in [
            "",
            "move 1:1",
            "move 1:1,2; down 3",
            "link down 0 between 1 2; link down 0 between 3 4",
            "move 1:1; move 2:2; up 1:1",
            "down 1; up 0:1; move 1:2,3",
            "link down 0 at 2; move 4:4",
        ] {
            let state = after(&settings, script);
            let canonical = state.canonical(&classes).unwrap();
            assert!(canonical.complete, "{script}");
            assert_eq!(
                state.permuted(&canonical.perm).unwrap().normalised(),
                canonical.state,
                "{script}"
            );
            for perm in permutations(5) {
                let image = state.permuted(&perm).unwrap();
                assert_eq!(
                    image.canonical(&classes).unwrap().state,
                    canonical.state,
                    "{script} {perm:?}"
                );
            }
        }
    }

    #[test]
    fn different_orbits_stay_apart_and_twins_are_automorphisms() {
        let settings = QuorumSettings::plain(4);
        let classes = [vec![0, 1, 2, 3]];
        let one = after(&settings, "move 1:1").canonical(&classes).unwrap();
        let two = after(&settings, "move 1:1,2").canonical(&classes).unwrap();
        assert_ne!(one.state, two.state);
        assert_eq!(one.twins.len(), 2);
        // Two disjoint pair faults: not all four nodes are twins, but pairs across are not.
        let pairs = after(&settings, "link down 0 between 1 2; link down 0 between 3 4")
            .canonical(&classes)
            .unwrap();
        for group in &pairs.twins {
            for pos in group {
                let mut perm: Vec<usize> = (0..4).collect();
                perm.swap(group[0], *pos);
                assert_eq!(pairs.state.permuted(&perm).unwrap().normalised(), pairs.state);
            }
        }
        assert!(pairs.twins.len() > 1);
    }
}
