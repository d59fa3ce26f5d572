//! Unit tests of the check model: pinned state counts, symmetry soundness, known cases.

use super::*;
use model::quorum::QuorumSettings;
