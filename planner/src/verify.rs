//! Re-verifying a plan file (`quorate plan verify`, e.g. after hand edits) and printing a
//! plan as a `whatif` script.
//!
//! Owns `verify`, `VerifyReport` and `to_script`. `verify` checks the hashes, turns the
//! steps back into moves, and replays them with up to F faults interleaved at every point
//! between and inside steps (after a fault the operator goes on only while the next step's
//! `pre` still holds, as `apply` does), failing on split-brain, on a lost quorum the plan
//! does not declare, on a step real corosync refuses, on a `post` that differs from the
//! replay and on an end state that is not the target. It must not search.

use std::collections::HashSet;

use model::quorum::NodeSet;
use model::scenario::{NodeRef, NodeSpec, Step as ScriptStep};
use serde::Serialize;

use crate::files::{sha256_hex, FileId, FileTable};
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
        "enable" | "install_authkey" | "generate_authkey" | "wait" => return Ok(None),
        other => return Err(bad(format!("unknown action `{other}`"))),
    }))
}

/// The parts of a snapshot `apply` checks before a step: memberships, quorate and running
/// nodes.
fn same_cluster(a: &Snapshot, b: &Snapshot) -> bool {
    a.members == b.members && a.quorate == b.quorate && a.running == b.running
}

struct Replay<'a> {
    context: &'a Context,
    plan: &'a Plan,
    moves: Vec<Option<Move>>,
    fault_budget: u32,
    visited: HashSet<(usize, PlanState, u32)>,
    problems: Vec<String>,
    /// An endpoint is itself exposed to split-brain under the budget (e.g. two_node): the
    /// same exposure in between is what the planner accepts, with a warning.
    tolerated_exposure: bool,
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
        if spent < self.fault_budget {
            for (fault, costs) in fault_list(&state.cluster) {
                let mut next = state.clone();
                let outcome = next
                    .cluster
                    .apply_event(&model::action::Event::Fault(fault.clone()));
                if outcome.rejected || next.cluster == state.cluster {
                    continue;
                }
                faults.push(model::action::Event::Fault(fault).to_string());
                let next_spent = spent + u32::from(costs);
                // The operator goes on only while the next step's `pre` still holds.
                let go_on = self
                    .plan
                    .steps
                    .get(index)
                    .is_some_and(|step| same_cluster(&snapshot(self.context, &next), &step.pre));
                let resume = if go_on { index } else { self.plan.steps.len() };
                self.walk(resume, next, next_spent, faults, false);
                faults.pop();
            }
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
                if on_plan && !same_cluster(&snapshot(self.context, &applied.state), &step.post) {
                    self.problem(format!(
                        "step {} ({}): the cluster after it is not the step's `post` (members {:?}, quorate {:?})",
                        step.id,
                        step.action,
                        snapshot(self.context, &applied.state).members,
                        snapshot(self.context, &applied.state).quorate
                    ));
                }
                for inner in applied.inner {
                    if spent < self.fault_budget {
                        let mut inside = applied.state.clone();
                        inside.cluster = inner;
                        // Faults inside the step: the step does not go on (the node being
                        // restarted is down); only the fault closure is replayed.
                        self.walk(self.plan.steps.len(), inside, spent, faults, false);
                    }
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
        fault_budget,
        visited: HashSet::new(),
        problems: Vec::new(),
    };
    replay.walk(0, context.start.clone(), 0, &mut Vec::new(), true);
    Ok(VerifyReport {
        ok: replay.problems.is_empty(),
        states_checked: replay.visited.len(),
        problems: replay.problems,
    })
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
        let script: Vec<ScriptStep> = match step.action.as_str() {
            "write_config" => vec![ScriptStep::Install {
                file: file.unwrap_or_default(),
                nodes: ids(&step.nodes),
            }],
            "write_pve_config" => vec![
                ScriptStep::Install {
                    file: file.unwrap_or_default(),
                    nodes: ids(&step.nodes),
                },
                ScriptStep::Reload { file: None },
            ],
            "reload" => vec![ScriptStep::Reload { file: None }],
            "start" => vec![ScriptStep::Up(vec![NodeSpec {
                partition: None,
                nodes: ids(&step.nodes),
            }])],
            "restart" => vec![ScriptStep::Restart(ids(&step.nodes))],
            "stop" | "leave" => vec![ScriptStep::Stop(ids(&step.nodes))],
            _ => Vec::new(),
        };
        lines.extend(script.iter().map(ToString::to_string));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
