//! The human rendering of a plan: a numbered list a person can follow by hand.
//!
//! Owns `PlanView` (the plan as its JSON contract says it, read back from the planner's
//! serialisation, so the rendering depends on the contract and not on the planner's Rust
//! types) and `human` / `no_safe_plan`: per step what runs on which node, what the cluster
//! looks like after it, why this order and how long it may take; the total; the rejected
//! orders. It must not decide anything: the planner did.

use crate::render::Style;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A plan as the JSON contract of issue 11 describes it (the fields the rendering reads).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanView {
    /// The plan format version (1).
    pub format: u32,
    /// SHA-256 of the source file (empty for `--from none`).
    pub from_sha256: Option<String>,
    /// SHA-256 of the target file.
    pub to_sha256: String,
    /// Node ids by name: every node the plan touches.
    pub nodeids: BTreeMap<String, u32>,
    /// The faults every intermediate state survives without split-brain.
    pub fault_budget: u32,
    /// Whether the plan uses the Proxmox VE paths and commands.
    pub proxmox: bool,
    /// `safe` or `needs-outage`.
    pub verdict: String,
    /// The steps, in order.
    pub steps: Vec<StepView>,
    /// The natural orders that are unsafe, and why.
    pub rejected: Vec<RejectedView>,
    /// SHA-256 of the plan itself.
    pub plan_sha256: String,
}

/// One step of a plan.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct StepView {
    /// The step's number or id.
    pub id: serde_json::Value,
    /// `write_config`, `reload`, `restart`, ...
    pub action: String,
    /// The nodes the step acts on.
    pub nodes: Vec<String>,
    /// The hash of the file a `write_config` writes.
    pub config_sha256: Option<String>,
    /// Per node, the remote commands `apply` runs, in order.
    pub commands: BTreeMap<String, Vec<String>>,
    /// The cluster after the step.
    pub post: SnapshotView,
    /// How long `apply` waits for the step's postcondition.
    pub timeout_ms: u64,
    /// How long the step should take (the timing model).
    pub estimate_ms: u64,
    /// Why this step comes here.
    pub why: String,
    /// Safe, but less available than both endpoints.
    pub warning: Option<String>,
}

/// The cluster at one point of a plan.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SnapshotView {
    /// The memberships: each inner list is one group of running nodes that see each other.
    pub members: Vec<Vec<String>>,
    /// The quorate nodes.
    pub quorate: Vec<String>,
    /// Expected votes (of the quorate nodes, or the largest membership).
    pub expected_votes: u32,
    /// The running nodes.
    pub running: Vec<String>,
}

/// One rejected order.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RejectedView {
    /// The order in words.
    pub order: String,
    /// Its first unsafe state and why.
    pub because: String,
}

/// `350 ms`, `7.6 s`, `2 min 05 s`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let seconds = ms.div_ceil(1000);
        format!("{} min {:02} s", seconds / 60, seconds % 60)
    }
}

/// `{a, b, c}` or `{a, b} | {c}`.
fn memberships(members: &[Vec<String>]) -> String {
    members
        .iter()
        .filter(|group| !group.is_empty())
        .map(|group| format!("{{{}}}", group.join(", ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The quorate nodes in words: `all 3`, `a, b (not c)`, `none`.
fn quorate(post: &SnapshotView) -> String {
    if post.quorate.is_empty() {
        return "none".into();
    }
    let not: Vec<&str> = post
        .members
        .iter()
        .flatten()
        .filter(|name| !post.quorate.contains(name))
        .map(String::as_str)
        .collect();
    if not.is_empty() {
        format!("all {}", post.quorate.len())
    } else {
        format!("{} (not {})", post.quorate.join(", "), not.join(", "))
    }
}

/// The step's commands, grouped: nodes that run the same commands share one block.
fn command_blocks(step: &StepView) -> Vec<(Vec<String>, Vec<String>)> {
    let mut blocks: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (node, commands) in &step.commands {
        match blocks.iter_mut().find(|(_, existing)| existing == commands) {
            Some((nodes, _)) => nodes.push(node.clone()),
            None => blocks.push((vec![node.clone()], commands.clone())),
        }
    }
    blocks
}

/// What the plan starts from and goes to, for the heading.
#[derive(Clone, Debug)]
pub struct Heading {
    /// The source's name (`none` for a new cluster).
    pub from: String,
    /// The target's name (`<goals>` for goals).
    pub to: String,
    /// The goals, as given (empty with `--to`).
    pub goals: Vec<String>,
    /// What the goals' application says beyond the goals (two_node dropped...).
    pub notes: Vec<String>,
}

/// The numbered list: heading, verdict, each step, the total, the rejected orders.
pub fn human(plan: &PlanView, heading: &Heading, style: Style) -> String {
    let mut out = String::new();
    let bold = |text: &str| style.paint("1", text);
    let _ = writeln!(out, "{} {} -> {}", bold("plan:"), heading.from, heading.to);
    goals_and_notes(&mut out, heading, style);
    let verdict = match plan.verdict.as_str() {
        // A new cluster has nothing to keep quorate: it is quorate once enough of it runs
        // (e.g. a lone member between pvecm add's reload and the new node's start is not).
        "safe" if plan.from_sha256.as_deref().is_none_or(str::is_empty) => format!(
            "{}: a new cluster; it is quorate once enough of its nodes run, and no step splits it",
            style.paint("1;32", "safe")
        ),
        "safe" => format!(
            "{}: the running cluster stays quorate at every step",
            style.paint("1;32", "safe")
        ),
        "needs-outage" => format!(
            "{}: some steps leave no node quorate (accepted with --allow-outage)",
            style.paint("1;33", "needs-outage")
        ),
        other => other.to_string(),
    };
    let _ = writeln!(out, "{} {verdict}", bold("verdict:"));
    // Steps where split-brain is possible under the budget because an endpoint itself is
    // exposed (e.g. a two_node pair): the planner accepts them with a warning, so the
    // headline must not promise what those steps do not keep.
    let exposed: Vec<String> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| {
            step.warning
                .as_deref()
                .is_some_and(|warning| warning.starts_with("split-brain is possible"))
        })
        .map(|(index, _)| (index + 1).to_string())
        .collect();
    let guarantee = match plan.fault_budget {
        0 => "no extra fault is assumed on top of the steps".to_string(),
        budget if !exposed.is_empty() => format!(
            "split-brain is possible after {budget} more crash(es), partition(s) or link failure(s) \
             in step{} {} (see the warning{}): the same exposure the cluster has at its start or \
             its end (two_node relies on fencing for it); no other state is exposed",
            if exposed.len() == 1 { "" } else { "s" },
            exposed.join(", "),
            if exposed.len() == 1 { "" } else { "s" },
        ),
        budget => format!(
            "no state, between or inside steps, can split-brain after {budget} more crash(es), \
             partition(s) or link failure(s)"
        ),
    };
    let _ = writeln!(out, "  fault budget {}: {guarantee}", plan.fault_budget);
    let _ = writeln!(
        out,
        "{} {}",
        bold("mode:"),
        if plan.proxmox {
            "Proxmox VE (the file goes through /etc/pve; pmxcfs propagates it)"
        } else {
            "plain corosync (every node's /etc/corosync/corosync.conf)"
        }
    );
    let _ = writeln!(out);
    let width = plan.steps.len().to_string().len();
    for (index, step) in plan.steps.iter().enumerate() {
        let number = format!("{:>width$}.", index + 1);
        let nodes = if step.nodes.is_empty() {
            String::new()
        } else {
            format!(" on {}", step.nodes.join(", "))
        };
        let hash = step
            .config_sha256
            .as_deref()
            .map(|hash| format!(" (config {})", hash.chars().take(12).collect::<String>()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {}{nodes}{hash}  {}",
            bold(&number),
            style.paint("1;36", &step.action),
            style.paint(
                "2",
                &format!(
                    "(about {}, timeout {})",
                    duration(step.estimate_ms),
                    duration(step.timeout_ms)
                )
            )
        );
        let pad = " ".repeat(width + 2);
        for (nodes, commands) in command_blocks(step) {
            let _ = writeln!(out, "{pad}run on {}:", nodes.join(", "));
            for command in commands {
                let _ = writeln!(out, "{pad}  $ {command}");
            }
        }
        let down: Vec<&str> = plan
            .nodeids
            .keys()
            .filter(|name| !step.post.members.iter().flatten().any(|member| member == *name))
            .map(String::as_str)
            .collect();
        let down = if down.is_empty() {
            String::new()
        } else {
            format!(" (down: {})", down.join(", "))
        };
        if step.post.members.iter().all(Vec::is_empty) {
            let _ = writeln!(out, "{pad}after: no node runs");
        } else {
            let _ = writeln!(
                out,
                "{pad}after: members {}{down}; quorate: {}; expected votes {}",
                memberships(&step.post.members),
                quorate(&step.post),
                step.post.expected_votes
            );
        }
        if !step.why.is_empty() {
            let _ = writeln!(out, "{pad}why: {}", step.why);
        }
        if let Some(warning) = &step.warning {
            let _ = writeln!(out, "{pad}{} {warning}", style.paint("1;33", "warning:"));
        }
    }
    let estimate: u64 = plan.steps.iter().map(|step| step.estimate_ms).sum();
    let total: u64 = plan.steps.iter().map(|step| step.timeout_ms).sum();
    let _ = writeln!(
        out,
        "\n{} {} step(s), about {}; at most {} if every step runs to its timeout",
        bold("total:"),
        plan.steps.len(),
        duration(estimate),
        duration(total)
    );
    rejected(&mut out, &plan.rejected, style);
    out
}

/// `goal: ...` lines, then `note: ...` lines, under the heading.
fn goals_and_notes(out: &mut String, heading: &Heading, style: Style) {
    for goal in &heading.goals {
        let _ = writeln!(out, "  {} {goal}", style.paint("1", "goal:"));
    }
    for note in &heading.notes {
        let _ = writeln!(out, "  {} {note}", style.paint("1;36", "note:"));
    }
}

fn rejected(out: &mut String, rejected: &[RejectedView], style: Style) {
    if rejected.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.paint("1", "rejected orders:"));
    for order in rejected {
        let _ = writeln!(out, "  {} {}", style.paint("1;31", "-"), order.order);
        let _ = writeln!(out, "    because: {}", order.because);
    }
}

/// One step kind the search could not take, and why.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImpossibleView {
    /// The step kind.
    pub step: String,
    /// Why.
    pub why: String,
}

/// Why there is no safe plan, as the planner serialises it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoSafePlanView {
    /// The step kinds that are impossible.
    pub impossible: Vec<ImpossibleView>,
    /// The natural orders and why they fail.
    pub rejected: Vec<RejectedView>,
    /// How many states the search explored.
    pub states_explored: usize,
}

/// The report of exit 1: no safe plan, which step kinds are impossible and why.
pub fn no_safe_plan(report: &NoSafePlanView, heading: &Heading, fault_budget: u32, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: no safe plan from {} to {} under a fault budget of {fault_budget}",
        style.paint("1;31", "error"),
        heading.from,
        heading.to
    );
    goals_and_notes(&mut out, heading, style);
    let _ = writeln!(
        out,
        "  the search explored {} state(s); these steps are never safe:",
        report.states_explored
    );
    for impossible in &report.impossible {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            style.paint("1;31", "-"),
            impossible.step,
            impossible.why
        );
    }
    rejected(&mut out, &report.rejected, style);
    let _ = writeln!(
        out,
        "\n{}: --allow-outage accepts a plan with states where no node is quorate; a lower \
         --fault-budget accepts fewer simultaneous faults",
        style.paint("1;36", "help")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanView {
        serde_json::from_value(serde_json::json!({
            "format": 1,
            "from_sha256": "aa",
            "to_sha256": "bb",
            "to_config": "totem {}\n",
            "nodeids": {"n1": 1, "n2": 2, "n3": 3},
            "fault_budget": 1,
            "proxmox": false,
            "verdict": "safe",
            "steps": [
                {"id": 1, "action": "write_config", "nodes": ["n1", "n2"], "config_sha256": "0123456789abcdef0123",
                 "commands": {"n1": ["install -m 644 /dev/stdin /etc/corosync/corosync.conf"],
                              "n2": ["install -m 644 /dev/stdin /etc/corosync/corosync.conf"]},
                 "pre": {}, "post": {"members": [["n1", "n2"]], "quorate": ["n1", "n2"], "expected_votes": 2,
                 "config_sha256_by_node": {}}, "timeout_ms": 2000, "estimate_ms": 500, "why": "every node has the new file before any reload"},
                {"id": 2, "action": "restart", "nodes": ["n2"], "commands": {"n2": ["systemctl restart corosync"]},
                 "post": {"members": [["n1"], ["n2"]], "quorate": ["n1"], "expected_votes": 3},
                 "timeout_ms": 65000, "estimate_ms": 8200, "why": "wait_for_all takes effect only at start",
                 "warning": "while n2 restarts, n1 alone keeps quorum"}
            ],
            "rejected": [{"order": "restart first", "because": "n2 (config_version 4) exits when it joins members at 5"}],
            "plan_sha256": "cc"
        }))
        .unwrap()
    }

    #[test]
    fn a_new_cluster_is_not_promised_continuous_quorum() {
        // See: issue 11 (pvecm add leaves a lone member inquorate until the new node runs).
        let heading = Heading {
            from: "none (a new cluster)".into(),
            to: "to.conf".into(),
            goals: Vec::new(),
            notes: Vec::new(),
        };
        let mut new_cluster = plan();
        new_cluster.from_sha256 = None;
        let text = human(&new_cluster, &heading, Style::default());
        assert!(
            text.contains("verdict: safe: a new cluster; it is quorate once enough of its nodes run"),
            "{text}"
        );
        assert!(!text.contains("stays quorate at every step"), "{text}");
        let running = human(&plan(), &heading, Style::default());
        assert!(running.contains("stays quorate at every step"), "{running}");
    }

    #[test]
    fn human_is_a_numbered_list_with_commands_state_reason_time_and_rejected_orders() {
        let heading = Heading {
            from: "a.conf".into(),
            to: "<goals>".into(),
            goals: vec!["add-node n3 10.0.0.3".into()],
            notes: vec!["two_node dropped: ...".into()],
        };
        let text = human(&plan(), &heading, Style::default());
        let expected = "\
plan: a.conf -> <goals>
  goal: add-node n3 10.0.0.3
  note: two_node dropped: ...
verdict: safe: the running cluster stays quorate at every step
  fault budget 1: no state, between or inside steps, can split-brain after 1 more crash(es), partition(s) or link failure(s)
mode: plain corosync (every node's /etc/corosync/corosync.conf)

1. write_config on n1, n2 (config 0123456789ab)  (about 500 ms, timeout 2.0 s)
   run on n1, n2:
     $ install -m 644 /dev/stdin /etc/corosync/corosync.conf
   after: members {n1, n2} (down: n3); quorate: all 2; expected votes 2
   why: every node has the new file before any reload
2. restart on n2  (about 8.2 s, timeout 1 min 05 s)
   run on n2:
     $ systemctl restart corosync
   after: members {n1} | {n2} (down: n3); quorate: n1 (not n2); expected votes 3
   why: wait_for_all takes effect only at start
   warning: while n2 restarts, n1 alone keeps quorum

total: 2 step(s), about 8.7 s; at most 1 min 07 s if every step runs to its timeout

rejected orders:
  - restart first
    because: n2 (config_version 4) exits when it joins members at 5
";
        assert_eq!(text, expected);
        let coloured = human(&plan(), &heading, Style { color: true });
        assert!(coloured.contains("\x1b[1;32msafe\x1b[0m"), "{coloured}");
    }

    #[test]
    fn no_safe_plan_names_the_impossible_step_kinds() {
        let report = NoSafePlanView {
            impossible: vec![ImpossibleView {
                step: "restart".into(),
                why: "restart n2: while n2 restarts no node is quorate".into(),
            }],
            rejected: vec![],
            states_explored: 12,
        };
        let heading = Heading {
            from: "a".into(),
            to: "b".into(),
            goals: vec![],
            notes: vec![],
        };
        let text = no_safe_plan(&report, &heading, 1, Style::default());
        assert!(
            text.starts_with("error: no safe plan from a to b under a fault budget of 1\n"),
            "{text}"
        );
        assert!(
            text.contains("  - restart: restart n2: while n2 restarts no node is quorate\n"),
            "{text}"
        );
        assert!(text.contains("help: --allow-outage"), "{text}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(350), "350 ms");
        assert_eq!(duration(7600), "7.6 s");
        assert_eq!(duration(125_000), "2 min 05 s");
    }
}
