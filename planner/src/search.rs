//! The search: shortest estimated wall time from the start state to the target over the
//! moves real corosync allows, keeping only states (and moments inside steps) `safety`
//! accepts.
//!
//! Owns `plan` (the whole run: files, context, search, plan building, rejected orders),
//! `Judge` (the safety rule applied to a state: no split-brain now, quorum kept unless an
//! outage is allowed, no split-brain under the fault budget unless an endpoint already has
//! that exposure) and `search` (A* with a consistent heuristic over the state graph, built
//! incrementally as a `petgraph` graph; the path is read back with `petgraph::algo::astar`
//! over the explored graph). It must not give moves their semantics (that is `state`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::files::{FileTable, PvecmInputs};
use crate::plan_format::{self, Verdict as PlanVerdict};
use crate::rejected;
use crate::safety::Safety;
use crate::state::{Applied, Context, Move, PlanState};
use crate::{Endpoint, Error, Impossible, NoSafePlan, PlanOptions, PlanOutcome};

/// The search gives up (`Error::SearchTooLarge`) after this many distinct states.
pub(crate) const MAX_STATES: usize = 200_000;

/// The safety rule of one run.
#[derive(Debug)]
pub(crate) struct Judge {
    /// The verdict cache.
    pub safety: Safety,
    /// States with no quorate node are allowed (needs-outage).
    pub allow_outage: bool,
    /// Quorum must be kept (the source cluster was quorate).
    pub quorum_required: bool,
    /// An endpoint is itself exposed to split-brain under the budget: intermediate states
    /// with the same exposure are accepted, with a warning.
    pub tolerated_exposure: Option<String>,
    /// The fault budget.
    pub fault_budget: u32,
    /// Some endpoint loses quorum everywhere after one fault: a state that does is no
    /// less available than that endpoint, so it gets no warning.
    pub endpoint_fragile: bool,
}

/// What the judge says about one state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Judgement {
    /// Why the state is unsafe, if it is.
    pub unsafe_because: Option<String>,
    /// Safe but worth saying (less available, tolerated exposure).
    pub warning: Option<String>,
    /// No node is quorate (allowed only with allow_outage).
    pub outage: bool,
}

impl Judge {
    /// Judges `cluster`, a state inside a step that is still to start the nodes at `pending`
    /// (none: a state between steps): the step may complete after the faults
    /// (`Safety::verdict_pending`).
    pub fn judge_pending(
        &mut self,
        cluster: &model::quorum::ClusterState,
        pending: model::quorum::NodeSet,
    ) -> Judgement {
        let verdict = self.safety.verdict_pending(cluster, pending);
        let mut judgement = Judgement::default();
        if verdict.split_brain_now {
            judgement.unsafe_because = Some("two memberships are quorate at once".to_string());
            return judgement;
        }
        if verdict.no_quorum && self.quorum_required {
            if self.allow_outage {
                judgement.outage = true;
            } else {
                judgement.unsafe_because = Some("no node is quorate".to_string());
                return judgement;
            }
        }
        if let Some(path) = verdict.split_brain_after {
            match &self.tolerated_exposure {
                Some(endpoint) => {
                    judgement.warning = Some(format!(
                        "split-brain is possible after `{}`, as it is in {endpoint}",
                        path.join("; ")
                    ));
                }
                None => {
                    judgement.unsafe_because = Some(format!(
                        "after `{}` ({} fault{} within the budget of {}) two memberships are quorate at once",
                        path.join("; "),
                        verdict.split_brain_faults,
                        if verdict.split_brain_faults == 1 { "" } else { "s" },
                        self.fault_budget
                    ));
                    return judgement;
                }
            }
        }
        if verdict.one_fault_loses_quorum && !self.endpoint_fragile && judgement.warning.is_none() {
            judgement.warning =
                Some("one more fault (a crash or a partition) leaves no node quorate".to_string());
        }
        judgement
    }
}

/// One edge of the explored graph.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    /// The move.
    pub mv: Move,
    /// Its estimated duration.
    pub cost: u64,
}

/// A path found by the search, with what each move did.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// `(move, what it did, the state before it, the judgements of its inner and post states)`.
    pub steps: Vec<(Move, Applied, PlanState, Vec<Judgement>)>,
    /// Some state has no quorate node.
    pub outage: bool,
    /// States explored.
    pub explored: usize,
}

/// Why the search found nothing: the first reason per step kind, and the state count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dead {
    /// The first reason per kind.
    pub impossible: Vec<Impossible>,
    /// States explored.
    pub explored: usize,
}

impl Dead {
    fn record(&mut self, kind: &str, why: String) {
        if !self.impossible.iter().any(|entry| entry.step == kind) {
            self.impossible.push(Impossible {
                step: kind.to_string(),
                why,
            });
        }
    }
}

/// Applies `mv` and judges every state it passes through: `Err` with the reason when the
/// move fails or reaches an unsafe state.
pub(crate) fn try_move(
    context: &Context,
    judge: &mut Judge,
    state: &PlanState,
    mv: &Move,
) -> Result<(Applied, Vec<Judgement>), String> {
    let applied = context.apply(state, mv)?;
    let mut judgements = Vec::new();
    // Inside the step, the nodes it has yet to start are pending: the step goes on after a
    // fault as it would on the cluster, so their start is judged after the faults too.
    let after_up = applied.state.cluster.up_nodes();
    for (inner, label, pending) in applied
        .inner
        .iter()
        .map(|cluster| (cluster, "while it runs", after_up - cluster.up_nodes()))
        .chain(std::iter::once((
            &applied.state.cluster,
            "after it",
            model::quorum::NodeSet::EMPTY,
        )))
    {
        let judgement = judge.judge_pending(inner, pending);
        if let Some(why) = &judgement.unsafe_because {
            return Err(format!("{label}, {why}"));
        }
        judgements.push(judgement);
    }
    Ok((applied, judgements))
}

/// A* from the context's start state.
pub(crate) fn search(context: &Context, judge: &mut Judge) -> Result<Result<Found, Dead>, Error> {
    let mut graph: DiGraph<usize, Edge> = DiGraph::new();
    let mut states: Vec<PlanState> = vec![context.start.clone()];
    let mut index: HashMap<PlanState, usize> = HashMap::new();
    index.insert(context.start.clone(), 0);
    let start_node = graph.add_node(0);
    let mut nodes: Vec<NodeIndex> = vec![start_node];
    let mut best: Vec<u64> = vec![0];
    let mut closed: Vec<bool> = vec![false];
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((
        context.heuristic(&context.start),
        Reverse(0u64),
        0usize,
    )));
    let mut dead = Dead::default();
    let mut goal = None;
    while let Some(Reverse((_, Reverse(g), current))) = heap.pop() {
        if closed[current] || g > best[current] {
            continue;
        }
        closed[current] = true;
        let state = states[current].clone();
        if context.is_goal(&state) {
            goal = Some(current);
            break;
        }
        for mv in context.moves(&state) {
            let applied = match try_move(context, judge, &state, &mv) {
                Ok((applied, _)) => applied,
                Err(why) => {
                    dead.record(mv.kind(), format!("{}: {why}", context.describe(&mv)));
                    continue;
                }
            };
            let cost = context.cost(&mv, &state, &applied);
            let next = match index.get(&applied.state) {
                Some(next) => *next,
                None => {
                    if states.len() >= MAX_STATES {
                        return Err(Error::SearchTooLarge { states: states.len() });
                    }
                    let next = states.len();
                    index.insert(applied.state.clone(), next);
                    states.push(applied.state.clone());
                    nodes.push(graph.add_node(next));
                    best.push(u64::MAX);
                    closed.push(false);
                    next
                }
            };
            graph.add_edge(nodes[current], nodes[next], Edge { mv, cost });
            let candidate = g + cost;
            if candidate < best[next] {
                best[next] = candidate;
                let estimate = candidate + context.heuristic(&states[next]);
                heap.push(Reverse((estimate, Reverse(candidate), next)));
            }
        }
    }
    dead.explored = states.len();
    let Some(goal) = goal else {
        return Ok(Err(dead));
    };
    let goal_node = nodes[goal];
    let Some((_, path)) = petgraph::algo::astar(
        &graph,
        start_node,
        |node| node == goal_node,
        |edge| edge.weight().cost,
        |_| 0,
    ) else {
        return Ok(Err(dead));
    };
    let mut steps = Vec::new();
    let mut outage = false;
    let mut state = context.start.clone();
    for pair in path.windows(2) {
        let Some(edge) = graph
            .edges_connecting(pair[0], pair[1])
            .min_by_key(|edge| edge.weight().cost)
        else {
            return Ok(Err(dead));
        };
        let mv = edge.weight().mv.clone();
        let (applied, judgements) = try_move(context, judge, &state, &mv).map_err(|why| Error::BadPlan {
            why: format!("the path found does not replay: {why}"),
        })?;
        outage |= judgements.iter().any(|judgement| judgement.outage);
        let before = std::mem::replace(&mut state, applied.state.clone());
        steps.push((mv, applied, before, judgements));
    }
    Ok(Ok(Found {
        steps,
        outage,
        explored: states.len(),
    }))
}

/// Whether the files look managed by Proxmox VE.
fn detect_proxmox(from: Option<&Endpoint>, to: &Endpoint) -> bool {
    let managed = |endpoint: &Endpoint| {
        endpoint.name.starts_with("/etc/pve/")
            || model::lint::is_proxmox(&model::syntax::parse(&endpoint.text).0)
    };
    managed(to) || from.is_some_and(managed)
}

/// The judge of `context`: quorum is required when the source cluster is quorate, the
/// exposure of the endpoints decides what is tolerated.
pub(crate) fn judge_for(context: &Context, allow_outage: bool) -> Judge {
    let mut judge = Judge {
        safety: Safety::new(context.options.fault_budget),
        allow_outage,
        quorum_required: !context.start.cluster.quorate_set().is_empty(),
        tolerated_exposure: None,
        fault_budget: context.options.fault_budget,
        endpoint_fragile: false,
    };
    let mut exposed = Vec::new();
    let start = judge.safety.verdict(&context.start.cluster);
    if start.split_brain_after.is_some() {
        exposed.push("the running cluster");
    }
    judge.endpoint_fragile = context.files.source.is_none() || start.one_fault_loses_quorum;
    if let Ok(mut steady) = model::quorum::ClusterState::from_config(&context.files.target().node_config) {
        if context.qdevice.is_some() {
            // The target with qnetd deciding and corosync-qdevice running everywhere.
            steady.apply_event(&model::action::Event::Fault(model::action::Fault::Qnetd(
                model::scenario::QnetdChange::Up,
            )));
        }
        let target = judge.safety.verdict(&steady);
        if target.split_brain_after.is_some() {
            exposed.push("the target cluster");
        }
        judge.endpoint_fragile |= target.one_fault_loses_quorum;
    }
    if !exposed.is_empty() {
        judge.tolerated_exposure = Some(exposed.join(" and "));
    }
    judge
}

/// The whole planning run (see `crate::plan`).
pub(crate) fn plan(
    from: Option<&Endpoint>,
    to: &Endpoint,
    options: &PlanOptions,
) -> Result<PlanOutcome, Error> {
    let proxmox = options.proxmox.unwrap_or_else(|| detect_proxmox(from, to));
    let mut files = FileTable::new(from, to, proxmox)?;
    files.add_readdress_steps();
    if proxmox {
        files.add_pvecm_steps(&PvecmInputs::of(files.target()))?;
    }
    let context = Context::new(files, options.clone(), proxmox)?;
    if context.is_goal(&context.start) {
        return Err(Error::NothingToDo { to: to.name.clone() });
    }
    let mut judge = judge_for(&context, false);
    let mut result = search(&context, &mut judge)?;
    if result.is_err() && options.allow_outage {
        let mut outage_judge = judge_for(&context, true);
        if let Ok(found) = search(&context, &mut outage_judge)? {
            judge = outage_judge;
            result = Ok(found);
        }
    }
    let rejected = rejected::natural_orders(&context, &mut judge);
    match result {
        Ok(found) => {
            let verdict = if found.outage {
                PlanVerdict::NeedsOutage
            } else {
                PlanVerdict::Safe
            };
            Ok(PlanOutcome::Found(plan_format::build(
                &context, from, &found, verdict, rejected, &judge,
            )))
        }
        Err(dead) => Ok(PlanOutcome::NoSafePlan(NoSafePlan {
            impossible: dead.impossible,
            rejected,
            states_explored: dead.explored,
        })),
    }
}
