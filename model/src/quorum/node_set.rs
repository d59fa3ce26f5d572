//! `NodeSet`: a set of node positions as one `u128`, and `LinkMask`: a set of knet links
//! as one `u8`.
//!
//! Owns the bit arithmetic every part of the quorum engine and its model checkers shares
//! (memberships, rings, partitions, link faults, symmetry classes), so nobody shifts bits
//! by hand. Both are `Copy` newtypes with inlined operations: as cheap as the raw integers
//! on the hot paths (exhaustive enumeration, model checking). They must not know what a
//! position or a link means: positions index a `ClusterState`'s universe (`nodeids()`),
//! links are knet link numbers 0..=7.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Sub, SubAssign};

/// The set operators of a bit-set newtype: `|` union, `&` intersection, `-` difference,
/// and their assigning forms, all on the inner integer.
macro_rules! set_operators {
    ($set:ident) => {
        impl BitOr for $set {
            type Output = $set;

            #[inline]
            fn bitor(self, other: $set) -> $set {
                $set(self.0 | other.0)
            }
        }

        impl BitOrAssign for $set {
            #[inline]
            fn bitor_assign(&mut self, other: $set) {
                self.0 |= other.0;
            }
        }

        impl BitAnd for $set {
            type Output = $set;

            #[inline]
            fn bitand(self, other: $set) -> $set {
                $set(self.0 & other.0)
            }
        }

        impl BitAndAssign for $set {
            #[inline]
            fn bitand_assign(&mut self, other: $set) {
                self.0 &= other.0;
            }
        }

        impl Sub for $set {
            type Output = $set;

            #[inline]
            fn sub(self, other: $set) -> $set {
                $set(self.0 & !other.0)
            }
        }

        impl SubAssign for $set {
            #[inline]
            fn sub_assign(&mut self, other: $set) {
                self.0 &= !other.0;
            }
        }
    };
}

set_operators!(NodeSet);
set_operators!(LinkMask);

/// A set of node positions (position `i` = `ClusterState::nodeids()[i]`), at most
/// `MAX_NODES` (128) of them.
///
/// Ordered and hashed as its bits, so sorting sets (e.g. maximal cliques) gives the same
/// order as sorting the bit patterns. `a | b` is the union, `a & b` the intersection and
/// `a - b` the difference.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeSet(u128);

impl NodeSet {
    /// The empty set.
    pub const EMPTY: NodeSet = NodeSet(0);

    /// The number of positions a set can hold.
    pub const CAPACITY: usize = 128;

    /// The set holding only `pos`. `pos` must be below `CAPACITY` (positions of a
    /// `ClusterState` always are).
    #[inline]
    #[must_use]
    pub const fn single(pos: usize) -> NodeSet {
        NodeSet(1u128 << pos)
    }

    /// The positions `0..count` (`count` at most `CAPACITY`).
    #[inline]
    #[must_use]
    pub const fn first(count: usize) -> NodeSet {
        if count >= NodeSet::CAPACITY {
            NodeSet(u128::MAX)
        } else {
            NodeSet((1u128 << count) - 1)
        }
    }

    /// The set whose bit `i` is position `i`.
    #[inline]
    #[must_use]
    pub const fn from_bits(bits: u128) -> NodeSet {
        NodeSet(bits)
    }

    /// The bits of the set (bit `i` = position `i`).
    #[inline]
    #[must_use]
    pub const fn bits(self) -> u128 {
        self.0
    }

    /// Whether `pos` is in the set.
    #[inline]
    #[must_use]
    pub const fn contains(self, pos: usize) -> bool {
        pos < NodeSet::CAPACITY && self.0 >> pos & 1 == 1
    }

    /// How many positions the set holds.
    #[inline]
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    #[inline]
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest position in the set.
    #[inline]
    #[must_use]
    pub const fn min(self) -> Option<usize> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as usize)
        }
    }

    /// Adds `pos`; returns whether it was absent.
    #[inline]
    pub fn insert(&mut self, pos: usize) -> bool {
        let absent = !self.contains(pos);
        self.0 |= 1u128 << pos;
        absent
    }

    /// Removes `pos`; returns whether it was present.
    #[inline]
    pub fn remove(&mut self, pos: usize) -> bool {
        let present = self.contains(pos);
        if pos < NodeSet::CAPACITY {
            self.0 &= !(1u128 << pos);
        }
        present
    }

    /// The positions in either set.
    #[inline]
    #[must_use]
    pub const fn union(self, other: NodeSet) -> NodeSet {
        NodeSet(self.0 | other.0)
    }

    /// The positions in both sets.
    #[inline]
    #[must_use]
    pub const fn intersection(self, other: NodeSet) -> NodeSet {
        NodeSet(self.0 & other.0)
    }

    /// The positions of `self` not in `other`.
    #[inline]
    #[must_use]
    pub const fn difference(self, other: NodeSet) -> NodeSet {
        NodeSet(self.0 & !other.0)
    }

    /// Whether every position of `self` is in `other`.
    #[inline]
    #[must_use]
    pub const fn is_subset(self, other: NodeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the sets have no position in common.
    #[inline]
    #[must_use]
    pub const fn is_disjoint(self, other: NodeSet) -> bool {
        self.0 & other.0 == 0
    }

    /// The positions, ascending.
    #[inline]
    pub fn iter(self) -> Positions {
        Positions(self.0)
    }

    /// Every subset of `self`, the empty set first, then in increasing order of their bits
    /// (2^len subsets: meant for small sets).
    #[inline]
    pub fn subsets(self) -> Subsets {
        Subsets {
            of: self.0,
            next: Some(0),
        }
    }

    /// The image of the set under `map` (position `p` goes to `map[p]`). Positions without
    /// an entry in `map` are dropped.
    #[must_use]
    pub fn mapped(self, map: &[usize]) -> NodeSet {
        self.iter()
            .filter_map(|pos| map.get(pos))
            .map(|pos| NodeSet::single(*pos))
            .fold(NodeSet::EMPTY, NodeSet::union)
    }
}

impl fmt::Debug for NodeSet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<usize> for NodeSet {
    fn from_iter<I: IntoIterator<Item = usize>>(positions: I) -> NodeSet {
        let mut set = NodeSet::EMPTY;
        for pos in positions {
            set.insert(pos);
        }
        set
    }
}

impl IntoIterator for NodeSet {
    type Item = usize;
    type IntoIter = Positions;

    fn into_iter(self) -> Positions {
        self.iter()
    }
}

/// The positions of a `NodeSet`, ascending ([`NodeSet::iter`]).
#[derive(Clone, Debug)]
pub struct Positions(u128);

impl Iterator for Positions {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let pos = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(pos)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.0.count_ones() as usize;
        (len, Some(len))
    }
}

impl ExactSizeIterator for Positions {}

impl DoubleEndedIterator for Positions {
    #[inline]
    fn next_back(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let pos = 127 - self.0.leading_zeros() as usize;
        self.0 &= !(1u128 << pos);
        Some(pos)
    }
}

/// Every subset of a `NodeSet` ([`NodeSet::subsets`]).
#[derive(Clone, Debug)]
pub struct Subsets {
    of: u128,
    next: Option<u128>,
}

impl Iterator for Subsets {
    type Item = NodeSet;

    #[inline]
    fn next(&mut self) -> Option<NodeSet> {
        let current = self.next?;
        // The next subset in increasing order: add one in the carry arithmetic of `of`.
        let following = current.wrapping_sub(self.of) & self.of;
        self.next = (following != 0).then_some(following);
        Some(NodeSet(current))
    }
}

/// A set of knet link numbers 0..=7 (bit `L` = link `L`): the links a node has, or the
/// links down as a whole or at one node.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkMask(u8);

impl LinkMask {
    /// No link.
    pub const EMPTY: LinkMask = LinkMask(0);

    /// Every link number (0..=7).
    pub const ALL: LinkMask = LinkMask(u8::MAX);

    /// The mask holding only `link`; empty for a link number above 7 (knet has 8 links).
    #[inline]
    #[must_use]
    pub const fn single(link: u8) -> LinkMask {
        if link < 8 {
            LinkMask(1 << link)
        } else {
            LinkMask(0)
        }
    }

    /// The mask whose bit `L` is link `L`.
    #[inline]
    #[must_use]
    pub const fn from_bits(bits: u8) -> LinkMask {
        LinkMask(bits)
    }

    /// The bits of the mask.
    #[inline]
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether `link` is in the mask.
    #[inline]
    #[must_use]
    pub const fn contains(self, link: u8) -> bool {
        link < 8 && self.0 >> link & 1 == 1
    }

    /// How many links the mask holds.
    #[inline]
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the mask is empty.
    #[inline]
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds `link` (ignored above 7).
    #[inline]
    pub fn insert(&mut self, link: u8) {
        self.0 |= LinkMask::single(link).0;
    }

    /// Removes `link`.
    #[inline]
    pub fn remove(&mut self, link: u8) {
        self.0 &= !LinkMask::single(link).0;
    }

    /// The links in either mask.
    #[inline]
    #[must_use]
    pub const fn union(self, other: LinkMask) -> LinkMask {
        LinkMask(self.0 | other.0)
    }

    /// The links in both masks.
    #[inline]
    #[must_use]
    pub const fn intersection(self, other: LinkMask) -> LinkMask {
        LinkMask(self.0 & other.0)
    }

    /// The links of `self` not in `other`.
    #[inline]
    #[must_use]
    pub const fn difference(self, other: LinkMask) -> LinkMask {
        LinkMask(self.0 & !other.0)
    }

    /// Whether every link of `self` is in `other`.
    #[inline]
    #[must_use]
    pub const fn is_subset(self, other: LinkMask) -> bool {
        self.0 & !other.0 == 0
    }

    /// The link numbers, ascending.
    pub fn iter(self) -> impl DoubleEndedIterator<Item = u8> + Clone {
        (0..8u8).filter(move |link| self.contains(*link))
    }

    /// Every subset of `self`, the empty mask first, in increasing order of their bits.
    pub fn subsets(self) -> impl Iterator<Item = LinkMask> {
        (0..=u16::from(self.0))
            .map(|bits| bits as u8)
            .filter(move |bits| bits & !self.0 == 0)
            .map(LinkMask)
    }
}

impl fmt::Debug for LinkMask {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<u8> for LinkMask {
    /// Link numbers above 7 are ignored.
    fn from_iter<I: IntoIterator<Item = u8>>(links: I) -> LinkMask {
        let mut mask = LinkMask::EMPTY;
        for link in links {
            mask.insert(link);
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_ascend_and_round_trip() {
        let set: NodeSet = [5, 0, 127, 64].into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 5, 64, 127]);
        assert_eq!(set.iter().rev().collect::<Vec<_>>(), vec![127, 64, 5, 0]);
        assert_eq!(set.len(), 4);
        assert_eq!(set.min(), Some(0));
        assert!(set.contains(127) && !set.contains(1) && !set.contains(500));
        assert_eq!(format!("{set:?}"), "{0, 5, 64, 127}");
        assert_eq!(NodeSet::first(3), [0, 1, 2].into_iter().collect());
        assert_eq!(NodeSet::first(128).len(), 128);
        assert_eq!(NodeSet::EMPTY.min(), None);
    }

    #[test]
    fn set_algebra() {
        let a: NodeSet = [0, 1, 2].into_iter().collect();
        let b: NodeSet = [2, 3].into_iter().collect();
        assert_eq!(a | b, NodeSet::first(4));
        assert_eq!(a & b, NodeSet::single(2));
        assert_eq!(a - b, NodeSet::first(2));
        assert!(NodeSet::single(1).is_subset(a) && !b.is_subset(a));
        assert!((a - b).is_disjoint(b));
        let mut c = a;
        assert!(!c.insert(1) && c.insert(9) && c.remove(9) && !c.remove(9) && !c.remove(200));
        assert_eq!(c, a);
        assert_eq!(b.mapped(&[0, 1, 0, 7]), [0, 7].into_iter().collect());
    }

    #[test]
    fn subsets_are_every_subset_once() {
        let set: NodeSet = [1, 4, 6].into_iter().collect();
        let subsets: Vec<NodeSet> = set.subsets().collect();
        assert_eq!(subsets.len(), 8);
        assert_eq!(subsets[0], NodeSet::EMPTY);
        assert_eq!(*subsets.last().unwrap_or(&NodeSet::EMPTY), set);
        assert!(subsets.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(subsets.iter().all(|subset| subset.is_subset(set)));
        assert_eq!(NodeSet::EMPTY.subsets().collect::<Vec<_>>(), vec![NodeSet::EMPTY]);
    }

    #[test]
    fn link_masks() {
        let mask: LinkMask = [0, 3, 9].into_iter().collect();
        assert_eq!(mask.bits(), 0b1001);
        assert_eq!(mask.iter().collect::<Vec<_>>(), vec![0, 3]);
        assert!(mask.contains(3) && !mask.contains(9) && mask.len() == 2);
        assert_eq!(mask - LinkMask::single(0), LinkMask::single(3));
        assert_eq!(format!("{mask:?}"), "{0, 3}");
        assert_eq!(mask.subsets().count(), 4);
        assert_eq!(LinkMask::ALL.subsets().count(), 256);
        assert_eq!(LinkMask::single(8), LinkMask::EMPTY);
    }
}
