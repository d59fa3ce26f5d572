//! Exhaustive failure analysis (`quorate whatif FILE --all`): every way the nodes can fail,
//! evaluated with the votequorum engine, folded into counts and a summary.
//!
//! Owns `analyze`, its options, the result types (`Analysis` and its parts) and the witness
//! scripts. The votequorum semantics live in `model::quorum`; this module only enumerates
//! scenarios, asks the engine about each distinct membership once, and combines the answers.
//! It must not do IO, read clocks or render anything (progress is a callback; the binary
//! decides when and how to show it).
//!
//! # What is enumerated
//!
//! A *scenario* is a triple (down set, partition of the other nodes, failed links):
//!
//! - every node is either down or up, and the up nodes are split into a set partition
//!   (blocks: nodes in different blocks cannot talk). Equivalently: a set partition of the
//!   n nodes plus one extra marker element, whose block is the down set. For n nodes there
//!   are Bell(n + 1) of them (10 nodes: 678,570, of which 115,975 = Bell(10) have every node
//!   up);
//! - every set F of whole links that fail (knet `ringN_addr` links, at every node), except
//!   "every configured link": that is full isolation, which the partition into singletons
//!   already covers. With L configured links there are 2^L − 1 such sets (one link: only
//!   "no link failure"; udp/udpu count as one link).
//!
//! The total is Bell(n + 1) × (2^L − 1). Each scenario is evaluated twice:
//!
//! - **running**: the cluster was fully joined (`ClusterState::new`), then the whole failure
//!   happens at once: one ring change per resulting membership. Nodes in a partial mesh
//!   (an unstable group, spec 3.3) keep their previous, fully joined state;
//! - **cold start**: every node stopped (`ClusterState::stopped`, no ev_tracking file), the
//!   links in F down, then the up nodes boot together, each inside its block.
//!
//! Model time does not pass (no LMS window expires). A quorum device that qnetd decides
//! (`model: net`) adds qnetd's states to every scenario (down, cut from each set of running
//! nodes, before or after the failure): see `enumerate`'s `qnetd` module, which replays each
//! such scenario as its whole script (no per-membership cache, no symmetry). Another device
//! casts no vote.
//!
//! # How it stays fast
//!
//! Memberships do not influence each other: a membership's outcome depends only on its own
//! node set (and the starting state, which is the same for every scenario). So the engine
//! runs once per distinct membership and case, and every scenario is combined from cached
//! answers. On top of that, nodes that are interchangeable (same votes, same links, and not
//! singled out by their node id: auto_tie_breaker makes ids matter) form symmetry classes;
//! only one canonical scenario per orbit is evaluated (blocks as count vectors per class,
//! in non-increasing lexicographic order) and weighted by the number of concrete scenarios
//! it stands for, so every count equals the count of the plain enumeration.

mod enumerate;

pub(crate) use enumerate::qnetd::qnetd_algorithm;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vote_sums_tests;

use model::quorum::{ClusterState, NodeId, NodeSet, QuorumSettings};
use model::scenario::{self, LinkScope, NodeRef, NodeSpec, Step};
use serde::Serialize;

/// Options of one analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExhaustiveOptions {
    /// Use symmetry classes (off: every node is its own class, the plain enumeration).
    pub symmetry: bool,
    /// Give up (with `ExhaustiveError::TooManyScenarios`) after this many canonical scenarios.
    pub max_evaluated: u64,
}

impl Default for ExhaustiveOptions {
    fn default() -> ExhaustiveOptions {
        ExhaustiveOptions {
            symmetry: true,
            max_evaluated: 20_000_000,
        }
    }
}

/// Why the analysis cannot be done (`sim::Error`'s `TooManyNodes`, `NoNodes`,
/// `TooManyScenarios`, `CountOverflow`). The name stays for callers of `analyze`.
pub type ExhaustiveError = crate::Error;

/// Which starting point a scenario is evaluated from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Case {
    /// A fully joined cluster suffers the failure.
    Running,
    /// The nodes boot inside the failure.
    ColdStart,
}

impl Case {
    /// `running` or `cold-start`.
    pub fn name(self) -> &'static str {
        match self {
            Case::Running => "running",
            Case::ColdStart => "cold-start",
        }
    }
}

/// What a scenario ends in. Checked in this order: the first that applies wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeClass {
    /// No node runs.
    AllDown,
    /// Two disjoint memberships are quorate at once.
    SplitBrain,
    /// Some group is a partial mesh: totem cannot settle, nothing is predicted for it.
    Unstable,
    /// Nodes run, none is quorate.
    NoneQuorate,
    /// Every running node is quorate (in one membership).
    AllQuorate,
    /// One membership is quorate, the other running nodes are not.
    OneQuorate,
}

impl OutcomeClass {
    /// Every class, in report order.
    pub const ALL: [OutcomeClass; 6] = [
        OutcomeClass::AllQuorate,
        OutcomeClass::OneQuorate,
        OutcomeClass::NoneQuorate,
        OutcomeClass::SplitBrain,
        OutcomeClass::Unstable,
        OutcomeClass::AllDown,
    ];

    /// The stable kebab-case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeClass::AllQuorate => "all-quorate",
            OutcomeClass::OneQuorate => "one-quorate",
            OutcomeClass::NoneQuorate => "none-quorate",
            OutcomeClass::SplitBrain => "split-brain",
            OutcomeClass::Unstable => "unstable",
            OutcomeClass::AllDown => "all-down",
        }
    }

    /// A short phrase for humans.
    pub fn label(self) -> &'static str {
        match self {
            OutcomeClass::AllQuorate => "every running node quorate",
            OutcomeClass::OneQuorate => "one partition keeps quorum",
            OutcomeClass::NoneQuorate => "nobody quorate",
            OutcomeClass::SplitBrain => "split-brain",
            OutcomeClass::Unstable => "partial mesh (membership undefined)",
            OutcomeClass::AllDown => "no node running",
        }
    }

    fn index(self) -> usize {
        match self {
            OutcomeClass::AllQuorate => 0,
            OutcomeClass::OneQuorate => 1,
            OutcomeClass::NoneQuorate => 2,
            OutcomeClass::SplitBrain => 3,
            OutcomeClass::Unstable => 4,
            OutcomeClass::AllDown => 5,
        }
    }
}

/// How the counts were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Every canonical scenario evaluated (symmetry reduction, weights).
    Enumeration,
    /// Counted from the engine's answer per membership signature (vote sum, node count,
    /// tie-breaker presence) with subset sums over the votes: no scenario is enumerated,
    /// every count is still exact (`docs/scale.md`).
    VoteSums,
}

impl Method {
    /// `enumeration` or `vote-sums`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Enumeration => "enumeration",
            Method::VoteSums => "vote-sums",
        }
    }
}

/// How many scenarios there are and how many were evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioCounts {
    /// Concrete scenarios: Bell(n + 1) × link failure sets (each evaluated in both cases).
    pub total: u128,
    /// How the counts were obtained.
    pub method: Method,
    /// Canonical scenarios evaluated one by one after symmetry reduction (0 with
    /// `Method::VoteSums`, which evaluates memberships, not scenarios).
    pub evaluated: u64,
    /// Distinct membership signatures the engine answered (`Method::VoteSums`; 0 otherwise).
    pub membership_signatures: u64,
    /// Whole-link failure sets per partition (2^L − 1).
    pub link_failure_sets: u32,
    /// Engine runs (distinct memberships, both cases).
    pub engine_runs: u64,
}

/// Node failures of one size (no partition, no link failure), from a running cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureSize {
    /// How many nodes are down.
    pub nodes_down: u32,
    /// How many down sets of that size there are.
    pub total: u128,
    /// How many of them leave no quorate node (running case).
    pub lose_quorum: u128,
    /// How many of them leave no quorate node when the rest boot from cold.
    pub cold_start_lose_quorum: u128,
}

/// A set of down nodes, standing for `count` symmetric sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DownSet {
    /// The representative's node ids, ascending.
    pub down: Vec<NodeId>,
    /// How many concrete down sets it stands for (itself included).
    pub count: u128,
}

/// A scenario that is split-brain, as a script `quorate whatif FILE -s` replays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// The scenario language script (lines separated by `\n`).
    pub script: String,
    /// Which case showed the split-brain.
    pub case: Case,
    /// The scenario in words, e.g. `partition 1 | 2`.
    pub description: String,
    /// Replaying `script` from a fully started cluster shows the split-brain (checked here).
    pub replay_verified: bool,
    /// The quorate memberships at the end of that replay (node ids, ascending; two or more
    /// when `replay_verified`): the sides of the split-brain.
    pub quorate_sides: Vec<Vec<NodeId>>,
}

impl Witness {
    /// A witness of `script`, replayed here (`replay_verified`, `quorate_sides`).
    pub(crate) fn replayed(
        settings: &QuorumSettings,
        script: String,
        case: Case,
        description: String,
    ) -> Witness {
        let quorate_sides = replay_quorate_sides(settings, &script);
        Witness {
            replay_verified: replay_shows_split_brain(settings, &script),
            script,
            case,
            description,
            quorate_sides,
        }
    }
}

/// Split-brain findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitBrain {
    /// Some scenario (either case) is split-brain.
    pub possible: bool,
    /// Split-brain scenarios, running case.
    pub running: u128,
    /// Split-brain scenarios, cold-start case.
    pub cold_start: u128,
    /// The smallest one: fewest failed links, then fewest blocks, then fewest down nodes.
    pub witness: Option<Witness>,
}

/// What one whole link failing (and nothing else) does to a running cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkFailure {
    /// The link number.
    pub link: u8,
    /// Some node's membership changes (or becomes undefined).
    pub changes_membership: bool,
    /// Some node is still quorate afterwards.
    pub quorum_kept: bool,
    /// Two memberships are quorate afterwards.
    pub split_brain: bool,
}

/// The count of one outcome class in both cases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The class.
    pub class: OutcomeClass,
    /// Scenarios in that class, running case.
    pub running: u128,
    /// Scenarios in that class, cold-start case.
    pub cold_start: u128,
}

/// The scenarios with one number of down nodes and one set of failed links (every
/// partition of the other nodes), and the outcome classes they end in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GridCell {
    /// How many nodes are down.
    pub nodes_down: u32,
    /// The whole links that fail, ascending (empty: none); after a start script, the links
    /// that fail further.
    pub failed_links: Vec<u8>,
    /// How many concrete scenarios the cell holds (the same in both cases; with a qnetd
    /// device, each of qnetd's faults counts as its own scenario, as in `classes`).
    pub scenarios: u128,
    /// The classes that occur in either case, in `OutcomeClass::ALL` order, with their
    /// counts (a class absent here occurs in neither case).
    pub classes: Vec<ClassCount>,
    /// Per case in which the cell has a split-brain scenario (running first): one of them,
    /// as a script that replays it (the fewest blocks, then qnetd's smallest fault, then the
    /// first found). Empty, and left out of the JSON, when the cell has none. See: issue 15.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub split_brain_witnesses: Vec<Witness>,
}

/// The result of `analyze`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Node ids of the universe, in nodelist order.
    pub node_ids: Vec<NodeId>,
    /// The symmetry classes used (node ids per class).
    pub symmetry_classes: Vec<Vec<NodeId>>,
    /// Configured links (knet link numbers; udp/udpu: link 0).
    pub links: Vec<u8>,
    /// Why corosync refuses to start on every node, if it does (then nothing ever runs).
    pub startup_error: Option<String>,
    /// Counts.
    pub scenarios: ScenarioCounts,
    /// Largest k such that every failure of at most k nodes leaves a quorate membership
    /// (running case). `None`: even the intact cluster is not quorate.
    pub always_tolerated_node_failures: Option<u32>,
    /// Same for a cold start with k nodes missing. `None`: a full cold start is not quorate.
    pub cold_start_tolerated_missing_nodes: Option<u32>,
    /// Per number of down nodes: how many such failures lose quorum everywhere.
    pub failure_sizes: Vec<FailureSize>,
    /// The smallest down sets after which no node is quorate (running case), in
    /// enumeration order: every one, or the first `LISTED_LOSSES` when there are more.
    pub smallest_total_loss: Vec<DownSet>,
    /// `smallest_total_loss` lists every representative (false: only the first
    /// `LISTED_LOSSES`; `failure_sizes` still counts all of them exactly).
    pub smallest_total_loss_complete: bool,
    /// Split-brain findings.
    pub split_brain: SplitBrain,
    /// Each configured link failing alone.
    pub single_link_failures: Vec<LinkFailure>,
    /// Outcome classes, in `OutcomeClass::ALL` order.
    pub classes: Vec<ClassCount>,
    /// `classes` per number of down nodes and set of failed links (the non-empty cells,
    /// by down nodes, then link set). Every count exact with either method
    /// (`Method::VoteSums` counts each down-set size apart); always `Some` (the `Option`
    /// stays for the JSON shape, where it was `null` for vote sums before).
    pub grid: Option<Vec<GridCell>>,
    /// What the analysis leaves out for this configuration (LMS windows, qdevice votes,
    /// ev_tracking files), as sentences.
    pub notes: Vec<String>,
    /// qnetd's part of the enumeration (`None`: no quorum device qnetd decides).
    pub qnetd: Option<QnetdAnalysis>,
}

/// What qnetd adds to the analysis of a configuration whose `quorum.device` is `model: net`:
/// every scenario is also taken with `qnetd down` and with the qnetd host cut from every
/// non-empty set of its running nodes, each before and after the failure (module `qnetd`
/// of `enumerate`). `Analysis::failure_sizes` and the tolerated counts are those with qnetd
/// up and reached by every running node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QnetdAnalysis {
    /// The algorithm qnetd runs.
    pub algorithm: model::quorum::qnetd::Algorithm,
    /// Scenarios without a qnetd fault (`ScenarioCounts::total` counts every qnetd state).
    pub without_qnetd_fault: u128,
    /// Largest k such that, qnetd down first, every failure of at most k nodes leaves a
    /// quorate membership (running case). `None`: qnetd down alone leaves nobody quorate.
    pub qnetd_down_tolerated_node_failures: Option<u32>,
    /// Per number of down nodes, qnetd down first: how many such failures lose quorum
    /// everywhere (running case; cold start: the nodes boot while qnetd is down).
    pub qnetd_down_failure_sizes: Vec<FailureSize>,
}

/// The modelling limits that matter for `settings`, as sentences.
pub(crate) fn notes(settings: &QuorumSettings) -> Vec<String> {
    let mut notes = Vec::new();
    if settings.last_man_standing {
        notes.push(
            "last_man_standing: every scenario is evaluated right after the failure, before any \
             window expires (`whatif -s` with `wait` shows what follows)"
                .to_string(),
        );
    }
    if let Some(algorithm) = enumerate::qnetd::qnetd_algorithm(settings) {
        notes.push(format!(
            "quorum device ({algorithm}): every scenario also with qnetd down and with qnetd cut \
             from each set of running nodes, before and after the failure; heuristics pass \
             everywhere; nodes are not reduced by symmetry (qnetd's tie-breakers read node ids); \
             each scenario is replayed as its script (crashes, then the split, then link \
             failures)"
        ));
    } else if settings.device.is_some() {
        notes.push(
            "the quorum device casts no vote in any scenario (its model is not `net` or its net \
             settings make corosync-qdevice exit, so no qnetd decides)"
                .to_string(),
        );
    }
    if settings.expected_votes_tracking || settings.allow_downscale {
        notes.push(
            "cold starts boot without an ev_tracking file (a first boot); a witness replayed \
             after a full start keeps that file"
                .to_string(),
        );
    }
    notes
}

/// The options of `settings` that make quorum depend on the history of events, not only
/// on the failure in force: an analysis of instants (`analyze`) cannot see what they do over
/// time, `sim::check` can. Snake_case option names, in a fixed order. See: issue 10 item 4.
pub fn time_dependent_options(settings: &QuorumSettings) -> Vec<&'static str> {
    let wait_for_all = settings.wait_for_all.unwrap_or(settings.two_node);
    [
        (settings.last_man_standing, "last_man_standing"),
        (wait_for_all, "wait_for_all"),
        (settings.allow_downscale, "allow_downscale"),
        (settings.expected_votes_tracking, "expected_votes_tracking"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// Why `analyze_after` cannot run (`ExhaustiveError`, or `sim::Error::SeveralMemberships`).
/// The name stays for callers of `analyze_after`.
pub type StartError = crate::Error;

/// `analyze`, from the state `start_script` leaves instead of the fully joined cluster
/// (`quorate whatif FILE -s 'stop 3' --all`: what can still fail while node 3 is down).
/// The script runs from `ClusterState::new` with `settings` (a `reload` re-reads
/// `settings`; a caller with other files refuses it first). Then every further failure of
/// the nodes still running, every partition of them and every set of links still up is
/// evaluated as `analyze` does; a cold start reboots the running nodes from that state.
/// Witness scripts begin with `start_script`. See: issue 10 item 14.
pub fn analyze_after(
    settings: &QuorumSettings,
    start_script: &scenario::Script,
    options: &ExhaustiveOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Analysis, StartError> {
    if settings.nodes.is_empty() {
        return Err(ExhaustiveError::NoNodes { task: "analyse" });
    }
    let mut state = ClusterState::new(settings).map_err(ExhaustiveError::from)?;
    for step in &start_script.steps {
        state.apply(settings, step);
    }
    let mut memberships: Vec<Vec<NodeId>> = Vec::new();
    for (pos, _) in state.nodeids().iter().enumerate() {
        if !state.is_up(pos) {
            continue;
        }
        let ring = ids_in(state.nodeids(), state.ring(pos));
        if !memberships.contains(&ring) {
            memberships.push(ring);
        }
    }
    memberships.sort();
    if memberships.len() > 1 {
        return Err(StartError::SeveralMemberships { memberships });
    }
    let start = enumerate::Start {
        state,
        script: start_script.to_string(),
    };
    let mut analyzer = enumerate::Analyzer::with_start(settings, options, Some(start))?;
    analyzer.run(progress)?;
    Ok(analyzer.finish())
}

/// Runs the exhaustive analysis of `settings`. `progress` is called now and then with the
/// number of canonical scenarios evaluated so far.
pub fn analyze(
    settings: &QuorumSettings,
    options: &ExhaustiveOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Analysis, ExhaustiveError> {
    if settings.nodes.is_empty() {
        return Err(ExhaustiveError::NoNodes { task: "analyse" });
    }
    let mut analyzer = enumerate::Analyzer::new(settings, options)?;
    let mut refusal = None;
    if options.symmetry && !analyzer.enumeration_is_cheap() {
        match analyzer.count_by_vote_sums() {
            Ok(()) => return Ok(analyzer.finish()),
            Err(reason) => refusal = Some(reason),
        }
    }
    match (analyzer.run(progress), refusal) {
        (Err(ExhaustiveError::TooManyScenarios { limit }), Some(reason)) => {
            Err(ExhaustiveError::NotCountable { limit, reason })
        }
        (result, _) => {
            result?;
            Ok(analyzer.finish())
        }
    }
}

/// `analyze` by the vote-sum method whatever the size (`Method::VoteSums`), for the
/// cross-checks against the enumeration and for callers that want the method's answer or
/// its reason for refusing (`sim::Error::VoteSumsUnsupported`).
pub fn analyze_by_vote_sums(settings: &QuorumSettings) -> Result<Analysis, ExhaustiveError> {
    if settings.nodes.is_empty() {
        return Err(ExhaustiveError::NoNodes { task: "analyse" });
    }
    let mut analyzer = enumerate::Analyzer::new(settings, &ExhaustiveOptions::default())?;
    analyzer
        .count_by_vote_sums()
        .map_err(|reason| ExhaustiveError::VoteSumsUnsupported { reason })?;
    Ok(analyzer.finish())
}

/// `analyze` by enumeration whatever the size (the reference the vote-sum method is
/// checked against).
#[cfg(test)]
pub(crate) fn analyze_by_enumeration(
    settings: &QuorumSettings,
    options: &ExhaustiveOptions,
) -> Result<Analysis, ExhaustiveError> {
    let mut analyzer = enumerate::Analyzer::new(settings, options)?;
    analyzer.run(&mut |_| {})?;
    Ok(analyzer.finish())
}

/// Above this many canonical scenarios (counted exactly before enumerating, when that count
/// is cheap), `analyze` counts by vote sums where that method applies: about half a second
/// of enumeration in a release build.
pub const ENUMERATION_CHEAP_UP_TO: u128 = 2_000_000;

/// The vote-sum method lists at most this many representatives of the smallest total loss
/// (`Analysis::smallest_total_loss_complete` says when there are more).
pub const LISTED_LOSSES: usize = 256;

/// A scenario by concrete node sets (positions of the universe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scenario {
    /// Down nodes.
    pub down: NodeSet,
    /// The blocks of up nodes.
    pub blocks: Vec<NodeSet>,
    /// Failed links (bit L = link L).
    pub links_down: u8,
}

fn ids_in(node_ids: &[NodeId], set: NodeSet) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = (0..node_ids.len())
        .filter(|pos| set.contains(*pos))
        .map(|pos| node_ids[pos])
        .collect();
    ids.sort_unstable();
    ids
}

fn refs(ids: &[NodeId]) -> Vec<NodeRef> {
    ids.iter().map(|id| NodeRef::Id(*id)).collect()
}

fn link_steps(links_down: u8) -> Vec<Step> {
    (0..8u8)
        .filter(|link| links_down >> link & 1 == 1)
        .map(|link| Step::Link {
            link,
            up: false,
            scope: LinkScope::All,
        })
        .collect()
}

/// The script that replays `scenario` in `case` from a fully started cluster.
///
/// Running: one `split` puts every block after the first into its own partition and every
/// down node alone into a partition of its own (so that its crash later changes nobody's
/// membership), then the links fail, then the down nodes crash. Without link failures this
/// is exactly the one-step failure. Cold start: every node crashes, the links fail, then
/// the up nodes boot, each block in its partition, in one step.
#[cfg(test)]
pub(crate) fn witness_script(node_ids: &[NodeId], scenario: &Scenario, case: Case) -> String {
    witness_script_from(node_ids, scenario, case, 1)
}

/// `witness_script`, giving moved blocks partition labels from `first_label` on (above
/// every label a start state uses, so that no block lands in the first block's partition).
pub(crate) fn witness_script_from(
    node_ids: &[NodeId],
    scenario: &Scenario,
    case: Case,
    first_label: u8,
) -> String {
    let mut steps = Vec::new();
    let down = ids_in(node_ids, scenario.down);
    match case {
        Case::Running => {
            let mut specs = Vec::new();
            let mut partition = first_label;
            for block in scenario.blocks.iter().skip(1) {
                specs.push(NodeSpec {
                    partition: Some(partition),
                    nodes: refs(&ids_in(node_ids, *block)),
                });
                partition = partition.saturating_add(1);
            }
            for id in &down {
                specs.push(NodeSpec {
                    partition: Some(partition),
                    nodes: vec![NodeRef::Id(*id)],
                });
                partition = partition.saturating_add(1);
            }
            if !specs.is_empty() {
                steps.push(Step::Move(specs));
            }
            steps.extend(link_steps(scenario.links_down));
            if !down.is_empty() {
                steps.push(Step::Down(refs(&down)));
            }
        }
        Case::ColdStart => {
            steps.push(Step::Down(refs(node_ids)));
            steps.extend(link_steps(scenario.links_down));
            let specs: Vec<NodeSpec> = scenario
                .blocks
                .iter()
                .enumerate()
                .map(|(index, block)| NodeSpec {
                    partition: (index > 0).then(|| u8::try_from(index).unwrap_or(u8::MAX)),
                    nodes: refs(&ids_in(node_ids, *block)),
                })
                .collect();
            if !specs.is_empty() {
                steps.push(Step::Up(specs));
            }
        }
    }
    let lines: Vec<String> = steps.iter().map(|step| step.to_string()).collect();
    lines.join("\n")
}

/// `partition 1,2 | 3` plus down nodes and failed links, for humans.
pub(crate) fn describe(node_ids: &[NodeId], scenario: &Scenario) -> String {
    let list = |set: NodeSet| {
        ids_in(node_ids, set)
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts = Vec::new();
    if scenario.blocks.len() > 1 {
        let blocks: Vec<String> = scenario.blocks.iter().map(|block| list(*block)).collect();
        parts.push(format!("partition {}", blocks.join(" | ")));
    }
    if !scenario.down.is_empty() {
        parts.push(format!("down {}", list(scenario.down)));
    }
    if scenario.links_down != 0 {
        let links: Vec<String> = (0..8u8)
            .filter(|link| scenario.links_down >> link & 1 == 1)
            .map(|link| link.to_string())
            .collect();
        parts.push(format!("link {} down", links.join(",")));
    }
    if parts.is_empty() {
        "no failure".to_string()
    } else {
        parts.join(", ")
    }
}

/// Replays `script` from `ClusterState::new` and returns the quorate memberships at its
/// end (each membership's node ids ascending, the memberships in ascending order; empty
/// when the script or the settings do not replay).
pub fn replay_quorate_sides(settings: &QuorumSettings, script: &str) -> Vec<Vec<NodeId>> {
    let Ok(parsed) = scenario::parse(script) else {
        return Vec::new();
    };
    let Ok(mut state) = ClusterState::new(settings) else {
        return Vec::new();
    };
    for step in &parsed.steps {
        state.apply(settings, step);
    }
    let quorate = state.quorate_set();
    let mut sides: Vec<Vec<NodeId>> = Vec::new();
    for pos in quorate.iter() {
        let side = ids_in(state.nodeids(), state.ring(pos) & quorate);
        if !sides.contains(&side) {
            sides.push(side);
        }
    }
    sides.sort();
    sides
}

/// Replays `script` from `ClusterState::new` and says whether the final state is
/// split-brain.
pub fn replay_shows_split_brain(settings: &QuorumSettings, script: &str) -> bool {
    let Ok(parsed) = scenario::parse(script) else {
        return false;
    };
    let Ok(mut state) = ClusterState::new(settings) else {
        return false;
    };
    for step in &parsed.steps {
        state.apply(settings, step);
    }
    state.split_brain()
}
