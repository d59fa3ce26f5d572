//! Re-verifying a plan file (`quorate plan verify`, e.g. after hand edits) and printing a
//! plan as a `whatif` script.
//!
//! Owns `verify`, `VerifyReport`, `to_script` and `PlanActions`, the `sim::check`
//! `ActionGenerator` of a plan. `verify` checks the hashes, turns the steps back into moves
//! and replays them without faults (failing on a lost quorum the plan does not declare, on a
//! step real corosync refuses, on a `post` that differs from the replay and on an end state
//! that is not the target), then runs the plan's events as a fixed operator sequence through
//! `sim::check`'s stateright model with up to F faults interleaved at every point between
//! and inside steps (after a fault the operator goes on only while the next step's `pre`
//! still holds, as `apply` does), failing on split-brain. It must not search, nor give any
//! event its own semantics (the model's transitions are the engine's).

use std::collections::HashSet;
use std::sync::Arc;

use model::action::{Action, Event, Fault};
use model::quorum::ClusterState;
use sim::check::{
    ActionGenerator, ActionKind, CheckAction, CheckState, ModelOptions, OperatorActions, Property,
    QuorumModel,
};

use model::quorum::NodeSet;
use model::scenario::{NodeRef, NodeSpec, QnetdChange, Step as ScriptStep};
use serde::Serialize;

use crate::files::{sha256_hex, FileId, FileTable, PvecmInputs};
use crate::plan_format::{snapshot, Plan, Snapshot, Verdict};
use crate::safety::fault_list;
use crate::state::{Context, Move, PlanState};
use crate::{Endpoint, Error, PlanOptions};

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// No problem found.
    pub ok: bool,
    /// Each problem as a sentence naming its step.
    pub problems: Vec<String>,
    /// Distinct (step, state, faults spent) points replayed.
    pub states_checked: usize,
}

/// A step turned back into a move (`None`: a step with no effect on the model: authkey,
/// enable, wait).
fn step_move(context: &Context, plan: &Plan, index: usize) -> Result<Option<Move>, Error> {
    let step = &plan.steps[index];
    let bad = |why: String| Error::BadPlan {
        why: format!("step {} ({}): {why}", step.id, step.action),
    };
    let mut nodes = NodeSet::EMPTY;
    for name in &step.nodes {
        let pos = context
            .universe
            .position_of(name)
            .ok_or_else(|| bad(format!("unknown node `{name}`")))?;
        nodes.insert(pos);
    }
    let file = |sha: &Option<String>| -> Result<FileId, Error> {
        let sha = sha
            .as_deref()
            .ok_or_else(|| bad("no config_sha256".to_string()))?;
        context
            .files
            .entries
            .iter()
            .position(|entry| entry.sha256 == sha)
            .and_then(|index| FileId::try_from(index).ok())
            .ok_or_else(|| {
                bad(format!(
                    "config_sha256 {sha} is neither to_config nor a temp_configs entry"
                ))
            })
    };
    let only = |set: NodeSet| set.min().ok_or_else(|| bad("no node".to_string()));
    Ok(Some(match step.action.as_str() {
        "write_config" => Move::Write {
            file: file(&step.config_sha256)?,
            nodes,
        },
        "write_pve_config" => {
            let via_name = step
                .commands
                .keys()
                .next()
                .ok_or_else(|| bad("no node runs its commands".to_string()))?;
            let via = context
                .universe
                .position_of(via_name)
                .ok_or_else(|| bad(format!("unknown node `{via_name}`")))?;
            Move::WritePve {
                file: file(&step.config_sha256)?,
                nodes,
                via,
            }
        }
        "reload" => Move::Reload { via: only(nodes)? },
        "start" => Move::Start(nodes),
        "restart" => Move::Restart(nodes),
        "stop" => Move::Stop(nodes),
        "leave" => Move::Leave(nodes),
        "pvecm_create" => Move::PvecmCreate { node: only(nodes)? },
        "pvecm_add" => {
            let node = only(nodes)?;
            // `pvecm add ADDRESS ...` on the joining node: the member it names.
            let address = step
                .commands
                .get(&context.universe.names[node])
                .and_then(|commands| commands.first())
                .and_then(|command| command.split_whitespace().nth(2))
                .ok_or_else(|| bad("no `pvecm add ADDRESS` on the joining node".to_string()))?;
            let via = (0..context.universe.nodeids.len())
                .find(|pos| context.address_of(*pos).as_deref() == Some(address))
                .ok_or_else(|| bad(format!("`{address}` is no node's address")))?;
            Move::PvecmAdd { node, via }
        }
        "pvecm_delnode" => {
            let via_name = step
                .commands
                .keys()
                .next()
                .ok_or_else(|| bad("no node runs its commands".to_string()))?;
            let via = context
                .universe
                .position_of(via_name)
                .ok_or_else(|| bad(format!("unknown node `{via_name}`")))?;
            Move::PvecmDelnode {
                node: only(nodes)?,
                via,
            }
        }
        "qdevice_certificate" => Move::Certify(nodes),
        "start_qdevice" => Move::QdeviceStart(nodes),
        "stop_qdevice" => Move::QdeviceStop(nodes),
        "enable" | "install_authkey" | "generate_authkey" | "wait" | "qnetd_init" | "qdevice_ca"
        | "qdevice_request" | "qnetd_sign" | "qdevice_import" => return Ok(None),
        other => return Err(bad(format!("unknown action `{other}`"))),
    }))
}

/// The parts of a snapshot `apply` checks before a step: memberships, quorate and running
/// nodes, and the nodes whose qdevice casts (in a plan that adds or removes a device).
fn same_cluster(a: &Snapshot, b: &Snapshot) -> bool {
    a.members == b.members
        && a.quorate == b.quorate
        && a.running == b.running
        && a.qdevice_casting == b.qdevice_casting
}

struct Replay<'a> {
    context: &'a Context,
    plan: &'a Plan,
    moves: Vec<Option<Move>>,
    visited: HashSet<(usize, PlanState, u32)>,
    problems: Vec<String>,
    /// An endpoint is itself exposed to split-brain under the budget (e.g. two_node): the
    /// same exposure in between is what the planner accepts, with a warning.
    tolerated_exposure: bool,
    /// The plan's events along its fault-free path, in order.
    events: Vec<PlanEvent>,
    /// The engine states inside its steps along that path.
    inner: Vec<ClusterState>,
}

impl Replay<'_> {
    fn problem(&mut self, text: String) {
        if !self.problems.contains(&text) && self.problems.len() < 20 {
            self.problems.push(text);
        }
    }

    /// Replays from step `index` in `state` with `spent` faults so far; `faults` is the
    /// fault path in script lines (empty on the plan's own path).
    fn walk(&mut self, index: usize, state: PlanState, spent: u32, faults: &mut Vec<String>, on_plan: bool) {
        if !self.visited.insert((index, state.clone(), spent)) {
            return;
        }
        let during = |faults: &[String]| {
            if faults.is_empty() {
                String::new()
            } else {
                format!(" after `{}`", faults.join("; "))
            }
        };
        if state.cluster.split_brain() && (faults.is_empty() || !self.tolerated_exposure) {
            let at = if index == 0 {
                "before the first step".to_string()
            } else {
                format!("after step {}", self.plan.steps[index - 1].id)
            };
            self.problem(format!(
                "{at}{}: two memberships are quorate at once",
                during(faults)
            ));
            return;
        }
        let Some(step) = self.plan.steps.get(index) else {
            if on_plan && !self.context.is_goal(&state) {
                let missing: Vec<String> = self
                    .context
                    .universe
                    .in_target
                    .iter()
                    .filter(|pos| !self.context.runs_target(&state, *pos))
                    .map(|pos| self.context.universe.names[pos].clone())
                    .collect();
                if missing.is_empty() {
                    self.problem(
                        "the plan ends with a node running that the target does not list".to_string(),
                    );
                } else {
                    self.problem(format!(
                        "the plan does not end in the target: {} do not run the target file",
                        missing.join(", ")
                    ));
                }
            }
            return;
        };
        let Some(mv) = self.moves[index].clone() else {
            self.walk(index + 1, state, spent, faults, on_plan);
            return;
        };
        match self.context.apply(&state, &mv) {
            Err(why) if on_plan => self.problem(format!("step {} ({}): {why}", step.id, step.action)),
            // After a fault whose state still matches `pre`, a step that fails stops `apply`.
            Err(_) => {}
            Ok(applied) => {
                for inner in &applied.inner {
                    if inner.split_brain() && (faults.is_empty() || !self.tolerated_exposure) {
                        self.problem(format!(
                            "step {} ({}){}: two memberships are quorate at once while it runs",
                            step.id,
                            step.action,
                            during(faults)
                        ));
                    }
                }
                let outage = self.plan.verdict == Verdict::NeedsOutage;
                let lost = |cluster: &model::quorum::ClusterState| {
                    !cluster.up_nodes().is_empty() && cluster.quorate_set().is_empty()
                };
                let quorum_kept = !self.context.start.cluster.quorate_set().is_empty();
                if on_plan
                    && !outage
                    && quorum_kept
                    && (applied.inner.iter().any(lost) || lost(&applied.state.cluster))
                {
                    self.problem(format!(
                        "step {} ({}): no node is quorate, but the plan's verdict is `safe`",
                        step.id, step.action
                    ));
                }
                if on_plan
                    && step.action.starts_with("pvecm_")
                    && snapshot(self.context, &applied.state).config_sha256_by_node
                        != step.post.config_sha256_by_node
                {
                    self.problem(format!(
                        "step {} ({}): the files pvecm leaves are not the step's `post` (config_sha256_by_node)",
                        step.id, step.action
                    ));
                }
                if on_plan && !same_cluster(&snapshot(self.context, &applied.state), &step.post) {
                    self.problem(format!(
                        "step {} ({}): the cluster after it is not the step's `post` (members {:?}, quorate {:?})",
                        step.id,
                        step.action,
                        snapshot(self.context, &applied.state).members,
                        snapshot(self.context, &applied.state).quorate
                    ));
                }
                if on_plan {
                    self.events.extend(
                        applied
                            .events
                            .iter()
                            .enumerate()
                            .map(|(number, event)| PlanEvent {
                                event: event.clone(),
                                step: index,
                                first: number == 0,
                            }),
                    );
                    self.inner.extend(applied.inner);
                }
                self.walk(index + 1, applied.state, spent, faults, on_plan);
            }
        }
    }
}

/// Re-verifies `plan` from `from` (`None`: a new cluster) under `fault_budget` faults.
pub fn verify(plan: &Plan, from: Option<&Endpoint>, fault_budget: u32) -> Result<VerifyReport, Error> {
    if plan.format != 1 {
        return Err(Error::BadPlan {
            why: format!(
                "format {} is not supported (this quorate writes format 1)",
                plan.format
            ),
        });
    }
    if plan.compute_sha256() != plan.plan_sha256 {
        return Err(Error::BadPlan {
            why: "plan_sha256 does not match the plan (edited by hand? verify recomputes it only for plans it wrote; \
                  set plan_sha256 to the new value after reviewing the edit)"
                .to_string(),
        });
    }
    if sha256_hex(&plan.to_config) != plan.to_sha256 {
        return Err(Error::BadPlan {
            why: "to_sha256 is not the sha256 of to_config".to_string(),
        });
    }
    for (sha, text) in &plan.temp_configs {
        if sha256_hex(text) != *sha {
            return Err(Error::BadPlan {
                why: format!("temp_configs entry {sha} does not hash to its key"),
            });
        }
    }
    let from_sha = from.map(|from| sha256_hex(&from.text));
    if from_sha != plan.from_sha256 {
        return Err(Error::BadPlan {
            why: match (&plan.from_sha256, from) {
                (Some(_), None) => {
                    "the plan starts from a running cluster, but no source file was given".to_string()
                }
                (None, Some(from)) => format!(
                    "the plan forms a new cluster, but {} was given as the source",
                    from.name
                ),
                _ => format!(
                    "{} is not the file the plan was made from (sha256 differs)",
                    from.map_or("the source", |from| from.name.as_str())
                ),
            },
        });
    }
    let to = Endpoint {
        name: "to_config".to_string(),
        text: plan.to_config.clone(),
    };
    let mut files = FileTable::new(from, &to, plan.proxmox)?;
    if files.target().sha256 != plan.to_sha256 {
        return Err(Error::BadPlan {
            why: "to_config's config_version is not above the source's".to_string(),
        });
    }
    if plan.proxmox {
        files.add_pvecm_steps(&PvecmInputs::of(files.target()))?;
    }
    for text in plan.temp_configs.values() {
        if files
            .add_temporary(text.clone(), "from the plan".to_string())
            .is_none()
        {
            return Err(Error::BadPlan {
                why: "a temp_configs file is refused by corosync".to_string(),
            });
        }
    }
    let options = PlanOptions {
        fault_budget,
        allow_outage: plan.verdict == Verdict::NeedsOutage,
        proxmox: Some(plan.proxmox),
        rolling_restart: false,
    };
    let context = Context::new(files, options, plan.proxmox)?;
    let moves = (0..plan.steps.len())
        .map(|index| step_move(&context, plan, index))
        .collect::<Result<Vec<_>, _>>()?;
    let tolerated_exposure = crate::search::judge_for(&context, false)
        .tolerated_exposure
        .is_some();
    let mut replay = Replay {
        tolerated_exposure,
        context: &context,
        plan,
        moves,
        visited: HashSet::new(),
        problems: Vec::new(),
        events: Vec::new(),
        inner: Vec::new(),
    };
    // The operator sequence itself, without faults: refusals, `post`s, quorum, the end.
    replay.walk(0, context.start.clone(), 0, &mut Vec::new(), true);
    let mut problems = std::mem::take(&mut replay.problems);
    let mut states_checked = replay.visited.len();
    if problems.is_empty() {
        // The same sequence with up to F faults at any point, through `sim::check`.
        let (problem, states) = check_with_faults(
            &context,
            plan,
            replay.events,
            replay.inner,
            fault_budget,
            tolerated_exposure,
        )?;
        states_checked += states;
        problems.extend(problem);
    }
    Ok(VerifyReport {
        ok: problems.is_empty(),
        states_checked,
        problems,
    })
}

/// The stage of a plan's behaviour that left the operator sequence (a fault broke the next
/// step's `pre`, or a fault struck inside a restart): only faults follow.
const OFF_PLAN: u32 = u32::MAX;

/// The property `plan verify` checks through `sim::check`: `no-split-brain`, except where an
/// endpoint has the same exposure after a fault (what the planner accepts with a warning).
const PLAN_NO_SPLIT_BRAIN: &str = "plan-no-split-brain";

/// One event of a plan's fault-free path.
#[derive(Clone, Debug)]
struct PlanEvent {
    /// The event (`ClusterState::apply_event`).
    event: Event,
    /// Index of its step in the plan.
    step: usize,
    /// It is its step's first event (where `apply` checks the step's `pre`).
    first: bool,
}

/// The `sim::check` action generator of a plan: its events in order (stage = how many
/// were taken), a crash of the restarting nodes inside each restart, and the planner's
/// faults (`safety::fault_list`, per node from the configuration it runs) while budget is
/// left. After a fault the sequence goes on only while the next step's `pre` holds.
#[derive(Clone, Debug)]
struct PlanActions {
    context: Arc<Context>,
    events: Arc<Vec<PlanEvent>>,
    pre: Arc<Vec<Snapshot>>,
    tolerated_exposure: bool,
}

impl ActionGenerator for PlanActions {
    fn actions(&self, model: &QuorumModel<Self>, state: &CheckState, actions: &mut Vec<CheckAction>) {
        if let Some(next) = self.events.get(state.stage as usize) {
            actions.push(CheckAction::new(next.event.clone(), ActionKind::Step));
            if let Event::Action(Action::RestartNodes(nodes)) = &next.event {
                actions.push(CheckAction::new(
                    Event::Fault(Fault::CrashNodes(nodes.clone())),
                    ActionKind::Step,
                ));
            }
        }
        if model.budget_left(state) {
            for (fault, costs) in fault_list(&state.cluster) {
                let kind = if costs {
                    ActionKind::Fault
                } else {
                    ActionKind::Time
                };
                actions.push(CheckAction::new(Event::Fault(fault), kind));
            }
        }
    }

    fn goals(&self) -> Vec<Property<QuorumModel<Self>>> {
        vec![Property::<QuorumModel<Self>>::always(
            PLAN_NO_SPLIT_BRAIN,
            |model, state| {
                !state.cluster.split_brain() || (model.generator().tolerated_exposure && state.spent > 0)
            },
        )]
    }

    fn stage_after(&self, before: &CheckState, action: &CheckAction, after: &ClusterState) -> u32 {
        if before.stage == OFF_PLAN {
            return OFF_PLAN;
        }
        if action.kind == ActionKind::Step {
            return match action.event {
                // A fault inside the restart: the step does not go on.
                Event::Fault(_) => OFF_PLAN,
                _ => before.stage + 1,
            };
        }
        match self.events.get(before.stage as usize) {
            Some(next) if next.first => {
                let state = PlanState {
                    cluster: after.clone(),
                    ..self.context.start.clone()
                };
                if same_cluster(&snapshot(&self.context, &state), &self.pre[next.step]) {
                    before.stage
                } else {
                    OFF_PLAN
                }
            }
            _ => before.stage,
        }
    }
}

/// Runs the plan's `events` with up to `fault_budget` faults interleaved at every point
/// (and from every moment `inner` inside its steps) through `sim::check`'s model; returns
/// the first problem found and the states explored.
fn check_with_faults(
    context: &Context,
    plan: &Plan,
    events: Vec<PlanEvent>,
    inner: Vec<ClusterState>,
    fault_budget: u32,
    tolerated_exposure: bool,
) -> Result<(Option<String>, usize), Error> {
    let events = Arc::new(events);
    let generator = PlanActions {
        context: Arc::new(context.clone()),
        events: Arc::clone(&events),
        pre: Arc::new(plan.steps.iter().map(|step| step.pre.clone()).collect()),
        tolerated_exposure,
    };
    let mut initial = vec![(context.start.cluster.clone(), 0)];
    initial.extend(inner.into_iter().map(|cluster| (cluster, OFF_PLAN)));
    let options = ModelOptions {
        max_faults: u8::try_from(fault_budget).unwrap_or(u8::MAX),
        operator: OperatorActions::default(),
        fixed_order: true,
    };
    let quorum_model =
        QuorumModel::with_initial_states(context.files.target().settings(), options, generator, initial)
            .map_err(|error| Error::Unsupported {
                why: format!("the plan cannot be model-checked: {error}"),
            })?;
    let found = sim::check::first_violation(quorum_model, PLAN_NO_SPLIT_BRAIN);
    let Some(actions) = found.actions else {
        return Ok((None, found.states));
    };
    let started_off_plan = found.initial.is_some_and(|init| init.stage == OFF_PLAN);
    let mut faults: Vec<String> = Vec::new();
    let mut taken = 0usize;
    let mut inside = None;
    for action in &actions {
        match (action.kind, &action.event) {
            (ActionKind::Step, Event::Fault(_)) => inside = Some(taken),
            (ActionKind::Step, _) => taken += 1,
            _ => faults.push(action.event.to_string()),
        }
    }
    let after = if faults.is_empty() {
        String::new()
    } else {
        format!(" after `{}`", faults.join("; "))
    };
    let step = |index: usize| {
        events
            .get(index)
            .and_then(|event| plan.steps.get(event.step))
            .map_or_else(String::new, |step| format!("step {} ({})", step.id, step.action))
    };
    let text = match inside {
        Some(index) => format!(
            "{}{after}: two memberships are quorate at once while it runs",
            step(index)
        ),
        None if started_off_plan => format!("inside a step{after}: two memberships are quorate at once"),
        None if taken == 0 => format!("before the first step{after}: two memberships are quorate at once"),
        None => format!(
            "after {}{after}: two memberships are quorate at once",
            step(taken - 1)
        ),
    };
    Ok((Some(text), found.states))
}

/// The script name of the file with `sha256` in `plan` (`to.conf` for the target).
pub(crate) fn script_file_name(plan: &Plan, sha256: &str) -> String {
    if sha256 == plan.to_sha256 {
        "to.conf".to_string()
    } else {
        format!("step-{}.conf", &sha256[..sha256.len().min(12)])
    }
}

impl Plan {
    /// The files `to_script`'s `install` lines name, with their text: write them next to
    /// the script before replaying it.
    pub fn script_files(&self) -> Vec<(String, String)> {
        let mut files = vec![(script_file_name(self, &self.to_sha256), self.to_config.clone())];
        for (sha, text) in &self.temp_configs {
            files.push((script_file_name(self, sha), text.clone()));
        }
        files
    }
}

/// The plan as a `whatif` script (replay it with `quorate whatif SOURCE -s`, after writing
/// `Plan::script_files`; for a new cluster, `quorate whatif TARGET -s`, whose first line
/// stops every node). Steps without a model effect (authkey, enable, wait) are comments.
pub fn to_script(plan: &Plan) -> String {
    let ids = |names: &[String]| -> Vec<NodeRef> {
        names
            .iter()
            .map(|name| {
                plan.nodeids
                    .get(name)
                    .map_or(NodeRef::Name(name.clone()), |id| NodeRef::Id(*id))
            })
            .collect()
    };
    let mut lines = Vec::new();
    lines.push(format!(
        "# quorate plan {}: {} steps, verdict {}",
        &plan.plan_sha256[..plan.plan_sha256.len().min(12)],
        plan.steps.len(),
        match plan.verdict {
            Verdict::Safe => "safe",
            Verdict::NeedsOutage => "needs-outage",
        }
    ));
    if plan.from_sha256.is_none() {
        let all: Vec<String> = plan.nodeids.keys().cloned().collect();
        lines.push("# a new cluster: no node runs yet".to_string());
        lines.push(ScriptStep::Down(ids(&all)).to_string());
    }
    // A plan that removes a device drives qnetd from the start; one that adds it, from its
    // first write (a script may name qnetd only once some file has a device).
    let adding = plan
        .steps
        .iter()
        .any(|step| step.action == "start_qdevice" || step.action == "qdevice_certificate");
    let mut qnetd_lines = Vec::new();
    if plan.qnetd_host.is_some() {
        qnetd_lines.push("# qnetd decides the device's vote".to_string());
        qnetd_lines.push(ScriptStep::Qnetd(QnetdChange::Up).to_string());
        if adding {
            let all: Vec<String> = plan.nodeids.keys().cloned().collect();
            qnetd_lines.push("# no node runs corosync-qdevice yet".to_string());
            qnetd_lines.push(
                ScriptStep::Qdevice {
                    on: false,
                    nodes: ids(&all),
                }
                .to_string(),
            );
        } else {
            lines.append(&mut qnetd_lines);
        }
    }
    for step in &plan.steps {
        lines.push(format!(
            "# step {}: {} {}",
            step.id,
            step.action,
            step.nodes.join(", ")
        ));
        let file = step
            .config_sha256
            .as_deref()
            .map(|sha| script_file_name(plan, sha));
        let install = |nodes: &[String]| ScriptStep::Install {
            file: file.clone().unwrap_or_default(),
            nodes: ids(nodes),
        };
        let up = |nodes: &[String]| {
            ScriptStep::Up(vec![NodeSpec {
                partition: None,
                nodes: ids(nodes),
            }])
        };
        let reload = || ScriptStep::Reload { file: None };
        let script: Vec<ScriptStep> = match step.action.as_str() {
            "write_config" => vec![install(&step.nodes)],
            "write_pve_config" => vec![install(&step.nodes), reload()],
            "reload" => vec![reload()],
            // pvecm's file on the members (the running nodes before the step), their
            // reload, then the node that joins gets it and starts.
            "pvecm_create" => vec![install(&step.nodes), up(&step.nodes)],
            "pvecm_add" => vec![
                install(&step.pre.running),
                reload(),
                install(&step.nodes),
                up(&step.nodes),
            ],
            "pvecm_delnode" => vec![install(&step.pre.running), reload()],
            "start" => vec![up(&step.nodes)],
            "restart" => vec![ScriptStep::Restart(ids(&step.nodes))],
            // Once qnetd decides, corosync-qdevice stops with corosync (and stays stopped
            // until `start_qdevice`), as the planner's step does.
            "stop" | "leave" if plan.qnetd_host.is_some() && qnetd_lines.is_empty() => vec![
                ScriptStep::Stop(ids(&step.nodes)),
                ScriptStep::Qdevice {
                    on: false,
                    nodes: ids(&step.nodes),
                },
            ],
            "stop" | "leave" => vec![ScriptStep::Stop(ids(&step.nodes))],
            "start_qdevice" | "stop_qdevice" => vec![ScriptStep::Qdevice {
                on: step.action == "start_qdevice",
                nodes: ids(&step.nodes),
            }],
            _ => Vec::new(),
        };
        let mut printed = script.iter().map(ToString::to_string);
        if matches!(
            step.action.as_str(),
            "write_config" | "write_pve_config" | "pvecm_create" | "pvecm_add" | "pvecm_delnode"
        ) {
            // After the install, before a pmxcfs reload.
            lines.extend(printed.next());
            lines.append(&mut qnetd_lines);
        }
        lines.extend(printed);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
