//! `model::Error`: every way a `model` operation can fail, as one typed enum.
//!
//! Owns `Error`. Parsing never fails (it returns diagnostics), so what is left is a
//! scenario script that does not parse, a file a step names that the caller could not
//! provide, a cluster too large for the engine, and a step the engine refuses (an unknown
//! node, `corosync-quorumtool -e` or `-v` refused). A refused step is also reported as a note of
//! its `StepOutcome`: the message is the note's text. Messages are lowercase, without a
//! trailing period, and name the node or file involved.

use crate::action::FileError;
use crate::quorum::{NodeId, TooManyNodes};
use crate::scenario::ScriptError;

/// Every way a `model` operation can fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scenario script does not parse.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A `quorate plan --goal` that cannot be parsed or applied.
    #[error(transparent)]
    Goal(#[from] crate::goal::GoalError),
    /// A step names a file the caller could not provide.
    #[error(transparent)]
    File(#[from] FileError),
    /// More distinct node ids than the engine holds.
    #[error(transparent)]
    TooManyNodes(#[from] TooManyNodes),
    /// A step names a node name no configuration of the cluster has.
    #[error("unknown node name {0}")]
    UnknownNodeName(String),
    /// A step names a node id outside the cluster.
    #[error("unknown node id {0}")]
    UnknownNodeId(NodeId),
    /// `link ... between A A`.
    #[error("link between a node and itself")]
    LinkToItself,
    /// `corosync-quorumtool -e 0`.
    #[error("New expected votes value was not valid, try a positive number")]
    ExpectedVotesNotPositive,
    /// `corosync-quorumtool -e V` with V below the votes present.
    #[error(
        "Unable to set expected votes: CS_ERR_INVALID_PARAM ({value} is below the {total} votes present)"
    )]
    ExpectedVotesBelowTotal {
        /// The value asked for.
        value: u32,
        /// The votes present.
        total: u32,
    },
    /// `corosync-quorumtool -e V` on a quorate node that would lose quorum by it.
    #[error(
        "Unable to set expected votes: CS_ERR_INVALID_PARAM (quorum would become {quorum} with {total} votes present)"
    )]
    ExpectedVotesLoseQuorum {
        /// The quorum V would give.
        quorum: u32,
        /// The votes present.
        total: u32,
    },
    /// `corosync-quorumtool -v V -n T` run on a node that has never seen node T.
    #[error("Unable to set votes {votes} for nodeid: {nodeid}: CS_ERR_NAME_NOT_FOUND (this node has never seen node {nodeid})")]
    NodeVotesUnknownNode {
        /// The votes asked for.
        votes: u32,
        /// The node whose votes were to change.
        nodeid: NodeId,
    },
    /// `corosync-quorumtool -v V [-n T]` that votequorum refuses: with V votes for T the
    /// quorum would be above the votes present (or, two_node, below half of them).
    #[error("Unable to set votes {votes} for nodeid: {nodeid}: CS_ERR_INVALID_PARAM (quorum would be {quorum} with {total} votes present)")]
    NodeVotesInvalid {
        /// The votes asked for.
        votes: u32,
        /// The node whose votes were to change.
        nodeid: NodeId,
        /// The quorum those votes would give.
        quorum: u32,
        /// The votes present with them.
        total: u32,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
