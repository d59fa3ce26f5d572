//! `sim::Error`: every way a `sim` entry point can fail, as one typed enum.
//!
//! Owns the error variants of `check` (model limits, the Explorer's address), `exhaustive`
//! (scenario limits) and `whatif` (the script and its `reload FILE`s). Violated properties,
//! split-brains and rejected steps are results, not errors. Messages are lowercase, without a
//! trailing period, and name the node, file or script position involved.

use model::quorum::TooManyNodes;
use model::scenario::ScriptError;

/// A `sim` operation that cannot be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration has more node ids than the engine models.
    #[error(transparent)]
    TooManyNodes(#[from] TooManyNodes),
    /// More nodes than the checker explores (the move actions grow as 2^nodes).
    #[error("model checking handles at most {max} nodes, the configuration has {count}")]
    TooManyToCheck {
        /// Nodes in the configuration.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More nodes than the explicit checker explores, and the counter abstraction
    /// (`check::counter`) does not apply to this configuration (`reason` says why).
    #[error(
        "model checking handles at most {max} nodes one by one, the configuration has {count}, and \
         the counter abstraction does not apply: {reason}"
    )]
    CounterRefused {
        /// Nodes in the configuration.
        count: usize,
        /// The explicit checker's limit.
        max: usize,
        /// Why the counter abstraction refuses, as a sentence.
        reason: String,
    },
    /// The counter abstraction reached more abstract states than it keeps (`limit`, set so
    /// that its memory stays well under 2 GiB): the run stops there instead of running for
    /// hours, and no verdict is given (docs/check-scale.md, "State limit").
    #[error(
        "the counter abstraction stopped after {limit} abstract states of {count} nodes at fault \
         budget {budget} (depth {depth} fully explored) without a complete answer: check with a \
         lower --max-faults, or fewer nodes (32 identical nodes at budget 2 take 364,152 states)"
    )]
    CounterTooManyStates {
        /// Nodes in the configuration.
        count: usize,
        /// The fault budget of the run.
        budget: u8,
        /// The state limit reached (`check::counter::COUNTER_MAX_STATES`).
        limit: usize,
        /// Breadth-first levels explored completely before the limit.
        depth: usize,
    },
    /// A counterexample of the counter abstraction did not replay on the concrete cluster
    /// (a bug: the abstract and concrete runs disagree); names the property.
    #[error("internal error: the counter abstraction's counterexample for {property} does not replay")]
    CounterReplay {
        /// The property whose counterexample failed to replay.
        property: &'static str,
    },
    /// No node at all: nothing to check or analyse.
    #[error("the configuration has no nodes to {task}")]
    NoNodes {
        /// What could not be done: `check` or `analyse`.
        task: &'static str,
    },
    /// The Explorer's address cannot be bound (taken, not local, bad syntax).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Even after symmetry reduction there are too many scenarios.
    #[error(
        "more than {limit} distinct scenarios to evaluate even after symmetry reduction: \
         the cluster has too many distinguishable nodes for an exhaustive analysis"
    )]
    TooManyScenarios {
        /// The limit that was reached.
        limit: u64,
    },
    /// With a qnetd device every node is distinguishable and every set of running nodes may
    /// be cut from qnetd: more scenarios than the enumeration evaluates.
    #[error(
        "{scenarios} scenarios with qnetd's states (down, cut from each set of running nodes, \
         before or after the failure), above the limit of {limit}: with a quorum device every \
         node is distinguishable; `whatif -s` with qnetd steps answers single scenarios"
    )]
    TooManyQnetdScenarios {
        /// The exact number of scenarios.
        scenarios: u128,
        /// The limit.
        limit: u128,
    },
    /// Too many scenarios to enumerate, and the vote-sum method cannot count this
    /// configuration exactly (`reason` says why).
    #[error(
        "more than {limit} distinct scenarios to evaluate even after symmetry reduction, and \
         the exact vote-sum method does not apply: {reason}"
    )]
    NotCountable {
        /// The enumeration limit.
        limit: u64,
        /// Why the vote-sum method refuses, as a sentence.
        reason: String,
    },
    /// `exhaustive::analyze_by_vote_sums` on a configuration the method cannot count exactly.
    #[error("the vote-sum method cannot count this configuration exactly: {reason}")]
    VoteSumsUnsupported {
        /// Why, as a sentence.
        reason: String,
    },
    /// `whatif --all` after a script: the running nodes are not one membership at the end of
    /// the script, and the analysis applies every further failure to one fully joined
    /// membership.
    #[error(
        "after the script the running nodes are in {} memberships ({}); --all starts from one \
         membership: end the script with `heal` or leave partitions out",
        memberships.len(),
        memberships.iter().map(|m| format!("{{{}}}", m.iter().map(u32::to_string).collect::<Vec<_>>().join(","))).collect::<Vec<_>>().join(" ")
    )]
    SeveralMemberships {
        /// The memberships of the running nodes, ascending.
        memberships: Vec<Vec<model::quorum::NodeId>>,
    },
    /// A scenario count does not fit in 128 bits.
    #[error(
        "the number of scenarios does not fit in 128 bits: the cluster is too large to count exhaustively"
    )]
    CountOverflow,
    /// The script does not parse.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A step names a node that is neither a node id nor a name of the configuration.
    #[error("line {line}, column {column}: unknown node `{node}` in `{command}` (known: {known})")]
    UnknownNode {
        /// 1-based line.
        line: u32,
        /// 1-based column of the node token.
        column: u32,
        /// The node as written.
        node: String,
        /// The step as written.
        command: String,
        /// The node ids and names the configuration has.
        known: String,
    },
    /// A step names something the cluster does not have at that point, or contradicts
    /// itself (see `script_check`).
    #[error("line {line}, column {column}: `{command}` is refused: {problem}")]
    Refused {
        /// 1-based line.
        line: u32,
        /// 1-based column of the offending token.
        column: u32,
        /// The step as written.
        command: String,
        /// What is wrong.
        problem: crate::script_check::StepProblem,
    },
    /// `reload FILE`: the caller could not provide settings for FILE.
    #[error("line {line}, column {column}: cannot reload `{file}`: {reason}")]
    Reload {
        /// 1-based line.
        line: u32,
        /// 1-based column of the file token.
        column: u32,
        /// The file as written in the script.
        file: String,
        /// Why, as the caller's reader put it (unreadable, not a corosync.conf, ...).
        reason: String,
    },
}

impl Error {
    /// `(line, column)` in the script, when the error is about a place in it.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            Error::Script(error) => Some((error.line, error.column)),
            Error::UnknownNode { line, column, .. }
            | Error::Reload { line, column, .. }
            | Error::Refused { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The message without the position prefix.
    pub fn detail(&self) -> String {
        match self {
            Error::Script(error) => format!("expected {}, found {}", error.expected, error.found),
            Error::UnknownNode {
                node, command, known, ..
            } => format!("unknown node `{node}` in `{command}` (known: {known})"),
            Error::Reload { file, reason, .. } => format!("cannot reload `{file}`: {reason}"),
            Error::Refused { command, problem, .. } => format!("`{command}` is refused: {problem}"),
            other => other.to_string(),
        }
    }
}

/// `Result` with `sim::Error`.
pub type Result<T> = std::result::Result<T, Error>;
