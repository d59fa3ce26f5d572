//! Plan shapes per goal kind on small clusters, replayed in the engine and re-verified.

use crate::state::Move;
use crate::{plan, verify, Endpoint, Error, Plan, PlanOptions, PlanOutcome};
use model::quorum::NodeSet;

/// A plain knet cluster of `count` nodes (ids 1..=count, names n1.., one link on
/// 198.18.0.0/24, a second on 198.19.0.0/24 with `links == 2`), `quorum` lines added.
pub(crate) fn cluster(count: u32, links: u8, version: u64, quorum: &str) -> String {
    let mut text = format!(
        "totem {{\n    version: 2\n    cluster_name: lab\n    transport: knet\n    config_version: {version}\n}}\n\nnodelist {{\n"
    );
    for id in 1..=count {
        text.push_str(&format!(
            "    node {{\n        name: n{id}\n        nodeid: {id}\n"
        ));
        for link in 0..links {
            text.push_str(&format!("        ring{link}_addr: 198.{}.0.{id}\n", 18 + link));
        }
        text.push_str("    }\n");
    }
    text.push_str(&format!(
        "}}\n\nquorum {{\n    provider: corosync_votequorum\n{quorum}}}\n"
    ));
    text
}

/// Why a restart is never safe, from a "no safe plan" outcome (panics on a found plan or
/// when restart is not among the impossible steps).
pub(crate) fn impossible_restart(outcome: PlanOutcome) -> String {
    let PlanOutcome::NoSafePlan(none) = outcome else {
        panic!("a plan was found under a fault budget of 1");
    };
    none.impossible
        .into_iter()
        .find(|entry| entry.step == "restart")
        .expect("restart is the impossible step")
        .why
}

pub(crate) fn endpoint(name: &str, text: &str) -> Endpoint {
    Endpoint {
        name: name.to_string(),
        text: text.to_string(),
    }
}

/// Plans `from` -> `to`; returns the plan (panics with the reasons when none is found),
/// after checking it verifies and every state of it replays.
pub(crate) fn check(from: Option<&str>, to: &str, options: &PlanOptions) -> Plan {
    let from = from.map(|text| endpoint("from.conf", text));
    let to = endpoint("to.conf", to);
    let outcome = plan(from.as_ref(), &to, options).expect("plan");
    let plan = match outcome {
        PlanOutcome::Found(plan) => plan,
        PlanOutcome::NoSafePlan(none) => panic!("no safe plan: {none:#?}"),
    };
    let report = verify(&plan, from.as_ref(), options.fault_budget).expect("verify");
    assert!(report.ok, "verify: {:#?}\n{}", report.problems, shape(&plan));
    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    plan
}

/// `action nodes` per step, one per line.
pub(crate) fn shape(plan: &Plan) -> String {
    plan.steps
        .iter()
        .map(|step| format!("{} {}", step.action, step.nodes.join(",")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_runtime_key_change_is_written_everywhere_then_reloaded() {
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    expected_votes: 3\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(shape(&plan), "write_config n1,n2,n3\nreload n1\nwait n1,n2,n3");
    assert_eq!(plan.steps[1].commands["n1"], ["corosync-cfgtool -R"]);
    assert_eq!(plan.steps[1].post.quorate, ["n1", "n2", "n3"]);
    assert_eq!(plan.steps[1].post.expected_votes, 3);
}

#[test]
fn wait_for_all_needs_every_node_restarted_one_at_a_time_after_the_file_is_everywhere() {
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    wait_for_all: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let shape = shape(&plan);
    assert!(shape.starts_with("write_config n1,n2,n3\n"), "{shape}");
    assert_eq!(shape.matches("restart ").count(), 3, "{shape}");
    assert!(!shape.contains("reload"), "{shape}");
    // The natural "edit everywhere and reload" order is rejected: wait_for_all needs a restart.
    let reload = plan
        .rejected
        .iter()
        .find(|rejected| rejected.order == "edit the file everywhere and reload")
        .expect("rejected reload order");
    assert!(
        reload.because.contains("quorum.wait_for_all"),
        "{}",
        reload.because
    );
    let at_once = plan
        .rejected
        .iter()
        .find(|rejected| rejected.order.contains("at once"))
        .expect("rejected at-once order");
    assert!(
        at_once.because.contains("no node is quorate"),
        "{}",
        at_once.because
    );
}

#[test]
fn a_node_restarted_with_an_older_version_is_a_rejected_order() {
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    wait_for_all: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let one_by_one = plan
        .rejected
        .iter()
        .find(|rejected| {
            rejected
                .order
                .starts_with("edit the file on n1, restart the nodes one at a time")
        })
        .expect("rejected restart-first order");
    assert!(
        one_by_one
            .because
            .contains("n2 (config_version 4) exits when it joins members at 5"),
        "{}",
        one_by_one.because
    );
}

#[test]
fn rolling_restart_restarts_every_node_once() {
    let from = cluster(5, 1, 1, "");
    let options = PlanOptions {
        rolling_restart: true,
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &from, &options);
    assert_eq!(
        shape(&plan),
        "restart n1\nrestart n2\nrestart n3\nrestart n4\nrestart n5\nwait n1,n2,n3,n4,n5"
    );
    assert!(plan.steps.iter().all(|step| step.timeout_ms > step.estimate_ms));
}

#[test]
fn the_same_file_without_rolling_restart_is_nothing_to_do() {
    let from = cluster(3, 1, 1, "");
    let error = plan(
        Some(&endpoint("a.conf", &from)),
        &endpoint("b.conf", &from),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::NothingToDo { .. }), "{error}");
}

#[test]
fn a_target_corosync_refuses_is_an_error_with_its_diagnostics() {
    let from = cluster(3, 1, 1, "");
    let to = from.replace("version: 2", "version: 3");
    let error = plan(
        Some(&endpoint("a.conf", &from)),
        &endpoint("b.conf", &to),
        &PlanOptions::default(),
    )
    .unwrap_err();
    match error {
        Error::TargetRefused { diagnostics, .. } => assert!(!diagnostics.is_empty()),
        other => panic!("{other}"),
    }
}

#[test]
fn a_target_version_not_above_the_source_is_bumped() {
    let from = cluster(3, 1, 7, "");
    let to = cluster(3, 1, 7, "    expected_votes: 3\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert!(plan.to_config.contains("config_version: 8"), "{}", plan.to_config);
    assert!(
        plan.steps[0].why.contains("written as 8"),
        "{}",
        plan.steps[0].why
    );
}

#[test]
fn the_script_replays_the_plan_step_for_step() {
    // The script lines `to_script` prints are the events the search applied.
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    wait_for_all: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let script = crate::to_script(&plan);
    let parsed = model::scenario::parse(&script).expect("the script parses");
    let context = {
        let files = crate::files::FileTable::new(
            Some(&endpoint("from.conf", &from)),
            &endpoint("to.conf", &to),
            false,
        )
        .unwrap();
        crate::state::Context::new(files, PlanOptions::default(), false).unwrap()
    };
    let mut judge = crate::search::judge_for(&context, false);
    let found = crate::search::search(&context, &mut judge).unwrap().unwrap();
    let lines: Vec<String> = found
        .steps
        .iter()
        .flat_map(|(_, applied, _, _)| applied.script_lines())
        .collect();
    let printed: Vec<String> = parsed.steps.iter().map(ToString::to_string).collect();
    assert_eq!(printed, lines);
}

#[test]
fn adding_a_node_writes_everywhere_reloads_then_starts_it() {
    let from = cluster(3, 1, 3, "");
    let to = cluster(4, 1, 4, "");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_config n1,n2,n3,n4\nreload n1\nenable n4\nstart n4\nwait n1,n2,n3,n4"
    );
    assert_eq!(plan.steps.last().unwrap().post.quorate, ["n1", "n2", "n3", "n4"]);
    assert_eq!(plan.steps.last().unwrap().post.expected_votes, 4);
}

#[test]
fn removing_a_node_lets_it_leave_before_the_reload() {
    let from = cluster(4, 1, 3, "");
    let to = cluster(3, 1, 4, "");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let shape = shape(&plan);
    let leave = shape.find("leave n4").expect("n4 leaves");
    let reload = shape.find("reload").expect("a reload");
    assert!(leave < reload, "{shape}");
}

#[test]
fn sixteen_node_rolling_restart_plans() {
    let from = cluster(16, 1, 1, "");
    let options = PlanOptions {
        rolling_restart: true,
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &from, &options);
    assert_eq!(
        plan.steps.iter().filter(|step| step.action == "restart").count(),
        16
    );
}

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pve1")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_seed_forms_pve1_from_nothing() {
    let to = example("corosync.fixed.conf");
    let options = PlanOptions {
        proxmox: Some(false),
        ..PlanOptions::default()
    };
    let plan = check(None, &to, &options);
    assert_eq!(
        shape(&plan),
        "write_config pve1-node1,pve1-node2,pve1-node3\n\
         generate_authkey pve1-node1\n\
         install_authkey pve1-node2,pve1-node3\n\
         enable pve1-node1,pve1-node2,pve1-node3\n\
         start pve1-node1,pve1-node2,pve1-node3\n\
         wait pve1-node1,pve1-node2,pve1-node3"
    );
    assert_eq!(plan.from_sha256, None);
    assert!(!plan.proxmox);
    assert_eq!(
        plan.steps[1].commands["pve1-node1"],
        ["corosync-keygen -k /etc/corosync/authkey"]
    );
    assert_eq!(
        plan.steps[2].commands["pve1-node3"],
        ["copy-file /etc/corosync/authkey from:pve1-node1 mode:0400"]
    );
    let script = crate::to_script(&plan);
    assert!(model::scenario::parse(&script).is_ok(), "{script}");
}

/// The seed on Proxmox (detected from the file): `pvecm create` on the first node with
/// both links and their priorities, `pvecm add` of the others through it, then the
/// target's own file through /etc/pve (pvecm writes neither the crypto settings, the token
/// nor the logging the target has), its config_version above the 3 pvecm reached. The
/// file `pvecm create` writes is what `PvecmInputs::create` gives (pve-cluster's
/// `create_conf` and `write_conf`, `pvecm::tests`).
/// See: issue 11.
#[test]
fn the_seed_forms_pve1_from_nothing_with_pvecm() {
    let to = example("corosync.fixed.conf");
    let plan = check(None, &to, &PlanOptions::default());
    assert!(plan.proxmox);
    assert_eq!(
        shape(&plan),
        "pvecm_create pve1-node1
\
         pvecm_add pve1-node2
\
         pvecm_add pve1-node3
\
         write_pve_config pve1-node1,pve1-node2,pve1-node3
\
         wait pve1-node1,pve1-node2,pve1-node3"
    );
    assert_eq!(
        plan.steps[0].commands["pve1-node1"],
        ["pvecm create pve1 --link0 10.30.0.11,priority=20 --link1 10.31.0.11,priority=10"]
    );
    assert_eq!(
        plan.steps[2].commands["pve1-node3"],
        ["pvecm add 10.30.0.11 --link0 10.30.0.13 --link1 10.31.0.13 --nodeid 3 --use_ssh"]
    );
    // No step writes /etc/corosync/corosync.conf, generates or copies a key, or enables.
    for step in &plan.steps {
        for command in step.commands.values().flatten() {
            assert!(!command.contains("/etc/corosync/"), "step {}: {command}", step.id);
        }
    }
    let files = crate::files::FileTable::new(None, &endpoint("to.conf", &to), true).unwrap();
    let inputs = crate::files::PvecmInputs::of(files.target());
    let created = inputs.create(1).unwrap().to_text();
    let create_sha = plan.steps[0].config_sha256.clone().unwrap();
    assert_eq!(plan.config_text(&create_sha), Some(created.as_str()));
    assert!(created.contains("config_version: 1\n"), "{created}");
    assert_eq!(plan.steps[0].post.config_sha256_by_node["pve1-node1"], create_sha);
    let second = plan
        .config_text(plan.steps[1].config_sha256.as_deref().unwrap())
        .unwrap();
    assert!(
        second.contains("config_version: 2\n") && second.contains("name: pve1-node2"),
        "{second}"
    );
    // Every node ends with the target, bumped above pvecm's 3.
    assert!(plan.to_config.contains("config_version: 4"), "{}", plan.to_config);
    assert!(plan.steps[3].why.contains("totem.token"), "{}", plan.steps[3].why);
    let script = crate::to_script(&plan);
    assert!(model::scenario::parse(&script).is_ok(), "{script}");
}

/// Forming 3 and 5 node Proxmox clusters: one create, the others join one by one (each
/// join needs a quorate member; the second node's join leaves the first inquorate until it
/// runs, which forming a cluster allows), then the target through /etc/pve. pvecm writes
/// `ip_version: ipv4-6`, a key only a restart changes: a target without it (corosync's
/// default, ipv6-4) needs every node restarted once, one at a time.
#[test]
fn proxmox_clusters_of_three_and_five_form_with_create_then_one_add_each() {
    for count in [3u32, 5] {
        let to = cluster(count, 1, 1, "");
        let options = PlanOptions {
            proxmox: Some(true),
            ..PlanOptions::default()
        };
        let plan = check(None, &to, &options);
        let mut expected = vec!["pvecm_create n1".to_string()];
        expected.extend((2..=count).map(|id| format!("pvecm_add n{id}")));
        let all: Vec<String> = (1..=count).map(|id| format!("n{id}")).collect();
        expected.push(format!("write_pve_config {}", all.join(",")));
        expected.extend(all.iter().map(|name| format!("restart {name}")));
        expected.push(format!("wait {}", all.join(",")));
        assert_eq!(shape(&plan), expected.join("\n"), "{count} nodes");
        let restart = plan.steps.iter().find(|step| step.action == "restart").unwrap();
        assert!(restart.why.contains("totem.ip_version"), "{}", restart.why);
        // With pvecm's ip_version in the target, no restart.
        let to = to.replace(
            "    transport: knet\n",
            "    transport: knet\n    ip_version: ipv4-6\n",
        );
        let plan = check(None, &to, &options);
        assert!(!shape(&plan).contains("restart"), "{}", shape(&plan));
        let last_add = &plan.steps[usize::try_from(count).unwrap() - 1];
        assert_eq!(last_add.post.quorate, all);
        assert_eq!(last_add.post.expected_votes, count);
        assert!(plan.to_config.contains(&format!("config_version: {}", count + 1)));
    }
}

/// Removing a node on Proxmox: it stops first (pvecm delnode is only for a node that is
/// off), then `pvecm delnode` on a remaining member drops it with a bumped version and the
/// reload pmxcfs triggers; a plan that runs delnode while the node runs fails `verify`.
/// See: issue 11.
#[test]
fn proxmox_remove_node_leaves_then_pvecm_delnode_on_a_member() {
    let from = cluster(4, 1, 4, "");
    let (document, _) = model::syntax::parse(&from);
    let to = model::goal::apply(&document, &[model::goal::parse("remove-node n4").unwrap()])
        .unwrap()
        .document
        .to_text();
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &to, &options);
    assert_eq!(
        shape(&plan),
        "leave n4\npvecm_delnode n4\nwrite_pve_config n1,n2,n3\nwait n1,n2,n3"
    );
    let delnode = &plan.steps[1];
    assert_eq!(delnode.commands.keys().collect::<Vec<_>>(), ["n1"]);
    assert_eq!(delnode.commands["n1"], ["pvecm delnode n4"]);
    assert_eq!(delnode.pre.expected_votes, 4);
    assert_eq!(delnode.post.expected_votes, 3);
    let written = plan
        .config_text(delnode.config_sha256.as_deref().unwrap())
        .unwrap();
    assert!(
        written.contains("config_version: 5") && !written.contains("name: n4"),
        "{written}"
    );
    assert!(plan.to_config.contains("config_version: 6"), "{}", plan.to_config);
    // Hand-edited: delnode before the node stops.
    let mut edited = plan.clone();
    edited.steps.swap(0, 1);
    edited.plan_sha256 = edited.compute_sha256();
    let source = endpoint("from.conf", &from);
    let report = verify(&edited, Some(&source), 1).unwrap();
    assert!(!report.ok);
    assert!(
        report.problems[0].contains("pvecm_delnode): n4 still runs corosync"),
        "{:#?}",
        report.problems
    );
}

/// More nodes joining through pvecm than the planner prepares files for: a tool error that
/// says to split the change, before any search.
#[test]
fn seven_nodes_joining_through_pvecm_is_refused_with_what_to_do() {
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let to = endpoint("to.conf", &cluster(7, 1, 1, ""));
    let error = plan(None, &to, &options).expect_err("refused");
    assert!(matches!(error, Error::Unsupported { .. }), "{error}");
    assert!(
        error.to_string().contains("at most 6 per plan: split the change"),
        "{error}"
    );
}

/// pvecm's refusals are preconditions: no add without a quorate member, no delnode of the
/// node it runs on, no second create, no join of a node already in a cluster.
#[test]
fn pvecm_refusals_are_preconditions() {
    let from = cluster(3, 1, 3, "");
    let to = cluster(4, 1, 4, "");
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let mut files = crate::files::FileTable::new(
        Some(&endpoint("from.conf", &from)),
        &endpoint("to.conf", &to),
        true,
    )
    .unwrap();
    files
        .add_pvecm_steps(&crate::files::PvecmInputs::of(files.target()))
        .unwrap();
    let context = crate::state::Context::new(files, options, true).unwrap();
    let start = context.start.clone();
    // n4 joins through n1: fine. Inside the step, the moment the members count n4 before
    // it runs has n4's file on its disk already, so that the start pvecm goes on to do is
    // judged after a fault there (a pending start reads the node's file).
    let applied = context
        .apply(&start, &Move::PvecmAdd { node: 3, via: 0 })
        .unwrap();
    let moment = applied.inner.last().expect("the moment before n4 runs");
    assert!(!moment.is_up(3));
    assert!(moment.disk_config(3).is_some());
    assert_eq!(moment.disk_config(3), applied.state.cluster.disk_config(3));
    // n1 alone (n2 and n3 stopped) is not quorate: addnode refuses.
    let lonely = context
        .apply(&start, &Move::Stop(NodeSet::from_iter([1, 2])))
        .unwrap()
        .state;
    let refused = context
        .apply(&lonely, &Move::PvecmAdd { node: 3, via: 0 })
        .unwrap_err();
    assert!(
        refused.contains("n1 is not quorate: pvecm addnode refuses"),
        "{refused}"
    );
    let refused = context
        .apply(&start, &Move::PvecmDelnode { node: 0, via: 0 })
        .unwrap_err();
    assert!(
        refused.contains("Cannot delete myself from cluster!"),
        "{refused}"
    );
    let refused = context.apply(&start, &Move::PvecmCreate { node: 3 }).unwrap_err();
    assert!(refused.contains("is in a cluster already"), "{refused}");
    let joined = context
        .apply(&start, &Move::PvecmAdd { node: 3, via: 0 })
        .unwrap()
        .state;
    let refused = context
        .apply(&joined, &Move::PvecmAdd { node: 3, via: 0 })
        .unwrap_err();
    assert!(
        refused.contains("corosync runs on n4: pvecm add refuses"),
        "{refused}"
    );
    assert!(!context
        .moves(&joined)
        .iter()
        .any(|mv| matches!(mv, Move::PvecmAdd { .. })));
}

/// pve1 as it runs before its second link: `corosync.fixed.conf` without link 1.
fn pve1_one_link() -> String {
    let fixed = example("corosync.fixed.conf");
    let (document, _) = model::syntax::parse(&fixed);
    document.remove_link(1).expect("link 1").to_text()
}

#[test]
fn the_seed_adds_the_second_link_to_a_running_one_link_pve1() {
    let from = pve1_one_link();
    let to = example("corosync.fixed.conf");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_pve_config pve1-node1,pve1-node2,pve1-node3\nwait pve1-node1,pve1-node2,pve1-node3"
    );
    let write = &plan.steps[0];
    assert_eq!(
        write.commands["pve1-node1"][1],
        "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf"
    );
    // Same config_version in both files: written one higher, as pmxcfs needs (spec 6.2).
    assert!(plan.to_config.contains("config_version: 3"), "{}", plan.to_config);
    assert!(write.why.contains("written as 3"), "{}", write.why);
}

#[test]
fn readdressing_a_single_link_goes_through_a_temporary_link() {
    let from = cluster(3, 1, 2, "");
    let to = cluster(3, 1, 3, "").replace("198.18.0.3", "198.18.0.33");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let shape = shape(&plan);
    assert!(!plan.temp_configs.is_empty(), "{shape}");
    assert_eq!(shape.matches("reload").count(), 4, "{shape}");
    assert!(!shape.contains("restart"), "{shape}");
}

/// The property tests: generated (cluster, target) pairs.
mod generated {
    use std::collections::{HashSet, VecDeque};

    use proptest::prelude::*;

    use super::{cluster, endpoint};
    use crate::files::FileTable;
    use crate::search::{judge_for, try_move};
    use crate::state::Context;
    use crate::{plan, verify, Error, PlanOptions, PlanOutcome};

    /// Cases per run: `QUORATE_PLAN_CASES` (default 12, CI-sized).
    fn cases() -> u32 {
        std::env::var("QUORATE_PLAN_CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(12)
    }

    const OPTIONS: [&str; 5] = [
        "",
        "    wait_for_all: 1\n",
        "    last_man_standing: 1\n",
        "    two_node: 1\n",
        // A quorum device the source keeps (or the goal drops).
        "    device {\n        model: net\n        votes: 1\n        net {\n            host: 198.19.0.254\n            algorithm: ffsplit\n        }\n    }\n",
    ];

    /// An independent breadth-first search over the same moves and judge, without
    /// heuristic or costs: whether any safe sequence reaches the target.
    fn reachable(context: &Context, options: &PlanOptions) -> bool {
        let mut judge = judge_for(context, options.allow_outage);
        let mut seen = HashSet::new();
        let mut queue = VecDeque::new();
        seen.insert(context.start.clone());
        queue.push_back(context.start.clone());
        while let Some(state) = queue.pop_front() {
            if context.is_goal(&state) {
                return true;
            }
            for mv in context.moves(&state) {
                if let Ok((applied, _)) = try_move(context, &mut judge, &state, &mv) {
                    if seen.insert(applied.state.clone()) {
                        queue.push_back(applied.state);
                    }
                }
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn every_plan_replays_safely_and_no_safe_plan_means_none_exists(
            count in 2u32..=5,
            links in 1u8..=2,
            option in 0usize..5,
            goal in 0usize..7,
            budget in 0u32..=1,
        ) {
            let quorum = if option == 3 && count != 2 { "" } else { OPTIONS[option] };
            let from = cluster(count, links, 5, quorum);
            let (to, rolling) = match goal {
                0 => (cluster(count, links, 6, quorum).replace("    transport: knet\n", "    transport: knet\n    token: 5000\n"), false),
                1 => (cluster(count, links, 6, if quorum.is_empty() { "    last_man_standing: 1\n" } else { "" }), false),
                2 => (cluster(count + 1, links, 6, quorum), false),
                3 => (cluster(count - 1, links, 6, quorum), false),
                4 => (from.clone(), true),
                5 => (cluster(count, if links == 1 { 2 } else { 1 }, 6, quorum), false),
                // two_node going or coming with the nodelist: a pair grows, a trio shrinks.
                _ if count == 2 => (cluster(3, links, 6, ""), false),
                _ if count == 3 => (cluster(2, links, 6, "    two_node: 1\n"), false),
                _ => (cluster(count - 1, links, 6, quorum), false),
            };
            let options = PlanOptions { fault_budget: budget, rolling_restart: rolling, ..PlanOptions::default() };
            let from_endpoint = endpoint("from.conf", &from);
            let to_endpoint = endpoint("to.conf", &to);
            match plan(Some(&from_endpoint), &to_endpoint, &options) {
                Ok(PlanOutcome::Found(found)) => {
                    let report = verify(&found, Some(&from_endpoint), budget).expect("verify");
                    prop_assert!(report.ok, "{:?}\n{}\n{}", report.problems, super::shape(&found), to);
                }
                Ok(PlanOutcome::NoSafePlan(none)) => {
                    let files = FileTable::new(Some(&from_endpoint), &to_endpoint, false).expect("files");
                    let mut files = files;
                    files.add_readdress_steps();
                    let context = Context::new(files, options.clone(), false).expect("context");
                    prop_assert!(!reachable(&context, &options), "the BFS reaches the target: {none:?}");
                }
                Err(Error::TargetRefused { .. }) | Err(Error::NothingToDo { .. }) => {}
                // A node added to a cluster that keeps its device is refused, with a reason.
                Err(Error::Unsupported { why }) if option == 4 && goal == 2 => {
                    prop_assert!(why.contains("remove-qdevice"), "{why}");
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
    }
}

/// A two_node pair growing to 3 nodes: the file everywhere, one reload (it drops two_node
/// and, with it, the wait_for_all two_node implied: spec 2.1, confirmed on a corosync
/// 3.1.7 lab), then the new node starts: no restart, as `pvecm add` does it. The order
/// the search used to find (start n3, then restart n1 and n2) split-brained a lab run; it
/// is rejected because restarting n1 leaves a partial mesh (n2 does not list n3).
#[test]
fn two_node_growing_to_three_nodes_reloads_once_then_starts_the_new_node() {
    for links in [1, 2] {
        let from = cluster(2, links, 3, "    two_node: 1\n");
        let to = cluster(3, links, 4, "");
        let plan = check(Some(&from), &to, &PlanOptions::default());
        assert_eq!(
            shape(&plan),
            "write_config n1,n2,n3\nreload n1\nenable n3\nstart n3\nwait n1,n2,n3",
            "links {links}"
        );
        assert_eq!(plan.verdict, crate::Verdict::Safe);
        let reload = &plan.steps[1];
        assert_eq!(reload.post.quorate, ["n1", "n2"]);
        assert_eq!(reload.post.expected_votes, 3);
        // The source is split-brain under one partition (two_node); the reloaded pair is
        // not. With two links it is less available than either endpoint until n3 runs (2
        // of 3 votes: one crash leaves no node quorate); with one link the target itself
        // loses quorum everywhere when that link fails, so it is no less available.
        assert!(plan.steps[0]
            .warning
            .as_deref()
            .is_some_and(|warning| warning.contains("split-brain")));
        let warning = reload.warning.as_deref().unwrap_or_default();
        assert_eq!(
            warning.contains("leaves no node quorate"),
            links == 2,
            "{reload:#?}"
        );
        assert!(
            plan.steps[2..].iter().all(|step| step.warning.is_none()),
            "{plan:#?}"
        );
        let old_order = plan
            .rejected
            .iter()
            .find(|rejected| rejected.order.contains("start the new node first"))
            .expect("the old order is rejected");
        assert!(
            old_order
                .because
                .starts_with("restart n1 (after write to.conf on n1, n2, n3, start n3)"),
            "{}",
            old_order.because
        );
        assert!(
            old_order.because.contains("n1, n2, n3 form a partial mesh"),
            "{}",
            old_order.because
        );
    }
}

/// With `wait_for_all: 1` written in the target, the reload does not switch it on (whether
/// wait_for_all follows two_node is decided by the file a node started with; on the lab,
/// Flags stay `Quorate` after the reload): n1 restarts before the reload (n2 keeps quorum
/// by two_node meanwhile), n2 after n3 started (n1 and n3 keep it).
#[test]
fn two_node_growing_to_three_with_wait_for_all_restarts_each_old_node_where_the_others_keep_quorum() {
    let from = cluster(2, 1, 3, "    two_node: 1\n");
    let to = cluster(3, 1, 4, "    wait_for_all: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_config n1,n2,n3\nrestart n1\nreload n1\nenable n3\nstart n3\nrestart n2\nwait n1,n2,n3"
    );
    // n1 comes back with wait_for_all armed and joins n2, quorate without a wait_for_all
    // status of its own: that clears n1's (votequorum's nodeinfo handler), so both are
    // quorate after the restart, still expecting 2 votes until the reload.
    let restart = &plan.steps[1];
    assert_eq!(restart.post.quorate, ["n1", "n2"]);
    assert_eq!(restart.post.expected_votes, 2);
    assert_eq!(plan.steps[2].post.expected_votes, 3);
    assert_eq!(plan.steps[5].post.quorate, ["n1", "n2", "n3"]);
    assert!(
        plan.steps[1]
            .why
            .contains("quorum.wait_for_all takes effect only at a restart"),
        "{}",
        plan.steps[1].why
    );
    let reload_only = plan
        .rejected
        .iter()
        .find(|rejected| rejected.order == "edit the file everywhere and reload")
        .expect("reload only is rejected");
    assert!(
        reload_only
            .because
            .contains("n1 still runs quorum.wait_for_all as it started"),
        "{}",
        reload_only.because
    );
}

/// On Proxmox the third node joins with `pvecm add` (which keeps two_node: pvecm edits only
/// the nodelist, so three nodes run with two_node, the exposure the two_node pair already
/// has), then the target, without two_node, goes through pmxcfs (which reloads).
#[test]
fn two_node_growing_to_three_on_proxmox_joins_with_pvecm_add() {
    let from = cluster(2, 1, 3, "    two_node: 1\n");
    let to = cluster(3, 1, 4, "");
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &to, &options);
    assert_eq!(
        shape(&plan),
        "pvecm_add n3\nwrite_pve_config n1,n2,n3\nwait n1,n2,n3"
    );
    assert_eq!(
        plan.steps[0].commands["n3"],
        ["pvecm add 198.18.0.1 --link0 198.18.0.3 --nodeid 3 --use_ssh"]
    );
    let joined = plan
        .config_text(plan.steps[0].config_sha256.as_deref().unwrap())
        .unwrap();
    assert!(
        joined.contains("two_node: 1") && joined.contains("config_version: 4"),
        "{joined}"
    );
    assert!(plan.to_config.contains("config_version: 5"), "{}", plan.to_config);
}

/// Three nodes shrinking to a two_node pair: the file goes to the two, the removed node
/// leaves, one reload switches two_node on, and with it the wait_for_all it implies (the
/// nodes started without the key; on a corosync 3.1.7 lab Flags become `2Node Quorate
/// WaitForAll` and n1 stays quorate alone when n2 stops). No restart. Reloading before n3
/// leaves is rejected: the moment only n1 has re-read the file (it no longer lists n3, n2
/// and n3 still list each other) is a partial mesh.
#[test]
fn three_nodes_shrinking_to_a_two_node_pair_leave_then_reload() {
    for links in [1, 2] {
        let from = cluster(3, links, 4, "");
        let to = cluster(2, links, 5, "    two_node: 1\n");
        let plan = check(Some(&from), &to, &PlanOptions::default());
        assert_eq!(
            shape(&plan),
            "write_config n1,n2\nleave n3\nreload n1\nwait n1,n2",
            "links {links}"
        );
        let leave = &plan.steps[1];
        assert_eq!(leave.post.quorate, ["n1", "n2"]);
        assert_eq!(leave.post.expected_votes, 3);
        let reload = &plan.steps[2];
        assert_eq!(reload.post.quorate, ["n1", "n2"]);
        assert_eq!(reload.post.expected_votes, 2);
        // The target is two_node: a partition leaves both sides quorate, as in any pair.
        if links == 1 {
            assert!(
                reload
                    .warning
                    .as_deref()
                    .is_some_and(|warning| warning.contains("as it is in the target cluster")),
                "{reload:#?}"
            );
        }
        let reload_first = plan
            .rejected
            .iter()
            .find(|rejected| {
                rejected.order == "edit the file everywhere and reload, then stop the removed node"
            })
            .expect("reloading before the leave is rejected");
        assert!(
            reload_first
                .because
                .contains("(when only n1 has re-read its file), n1, n2, n3 form a partial mesh"),
            "{}",
            reload_first.because
        );
    }
    // On Proxmox the leave comes first, then pvecm delnode (pmxcfs reloads as it propagates
    // the file), then the target's two_node through /etc/pve.
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let plan = check(
        Some(&cluster(3, 1, 4, "")),
        &cluster(2, 1, 5, "    two_node: 1\n"),
        &options,
    );
    assert_eq!(
        shape(&plan),
        "leave n3\npvecm_delnode n3\nwrite_pve_config n1,n2\nwait n1,n2"
    );
    // Nodes started with `wait_for_all: 0` keep it off at reload: the target (which
    // implies wait_for_all by two_node) needs each of them restarted, one at a time while
    // the other keeps quorum by two_node.
    let from = cluster(3, 1, 4, "    wait_for_all: 0\n");
    let to = cluster(2, 1, 5, "    two_node: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_config n1,n2\nleave n3\nreload n1\nrestart n1\nrestart n2\nwait n1,n2"
    );
    assert!(
        plan.steps[3..5]
            .iter()
            .all(|step| step.post.quorate == ["n1", "n2"]),
        "{plan:#?}"
    );
}

/// A pair dropping two_node: one reload is enough, because wait_for_all, which two_node
/// implied, goes with it (spec 2.1; on a corosync 3.1.7 lab the Flags go from `2Node
/// Quorate WaitForAll` to `Quorate` at `corosync-cfgtool -R`). With `wait_for_all: 1`
/// written in the target the reload leaves it off (the nodes started without the key),
/// so each node would have to restart, which a pair without two_node cannot do with quorum.
#[test]
fn a_pair_dropping_two_node_reloads_unless_wait_for_all_is_written() {
    let from = cluster(2, 2, 3, "    two_node: 1\n");
    let plan = check(Some(&from), &cluster(2, 2, 4, ""), &PlanOptions::default());
    assert_eq!(shape(&plan), "write_config n1,n2\nreload n1\nwait n1,n2");
    let outcome = plan_of(&from, &cluster(2, 2, 4, "    wait_for_all: 1\n"));
    let PlanOutcome::NoSafePlan(none) = outcome else {
        panic!("{outcome:?}");
    };
    let reload = none
        .rejected
        .iter()
        .find(|rejected| rejected.order == "edit the file everywhere and reload")
        .expect("reload only is rejected");
    assert!(
        reload
            .because
            .contains("n1 still runs quorum.wait_for_all as it started"),
        "{}",
        reload.because
    );
    assert!(
        none.impossible
            .iter()
            .any(|impossible| impossible.step == "restart"),
        "{none:?}"
    );
}

fn plan_of(from: &str, to: &str) -> PlanOutcome {
    plan(
        Some(&endpoint("from.conf", from)),
        &endpoint("to.conf", to),
        &PlanOptions::default(),
    )
    .expect("plan")
}

#[test]
fn last_man_standing_is_switched_on_by_restarts() {
    let from = cluster(4, 2, 3, "");
    let to = cluster(4, 2, 4, "    last_man_standing: 1\n");
    // Under one fault there is no safe order: inside the last restart the down node outlasts
    // the window of the nodes that already run last_man_standing (expected votes 4 -> 3), a
    // partition leaves {2,3} quorate, and the restart completing on n1's side makes {1,4}
    // quorate too (real corosync 3.1.7 does exactly this on the lab:
    // reality::four_nodes_lms_a_node_back_into_the_minority_makes_a_second_quorate_side).
    let outcome = plan(
        Some(&endpoint("from.conf", &from)),
        &endpoint("to.conf", &to),
        &PlanOptions::default(),
    )
    .expect("plan");
    let why = impossible_restart(outcome);
    assert!(why.contains("while it runs, after `"), "{why}");
    assert!(
        why.contains("; up "),
        "the restart completes after the fault: {why}"
    );
    assert!(why.contains("(1 fault within the budget of 1)"), "{why}");
    // With no fault to survive, the restarts one at a time are the plan.
    let options = PlanOptions {
        fault_budget: 0,
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &to, &options);
    let shape = shape(&plan);
    assert_eq!(shape.matches("restart").count(), 4, "{shape}");
    assert!(plan
        .steps
        .iter()
        .filter(|step| step.action == "restart")
        .all(|step| step.why.contains("quorum.last_man_standing")));
}

#[test]
fn a_new_plain_cluster_without_crypto_needs_no_authkey() {
    let to = cluster(3, 1, 1, "");
    let plan = check(None, &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_config n1,n2,n3\nenable n1,n2,n3\nstart n1,n2,n3\nwait n1,n2,n3"
    );
}

/// A new node on Proxmox joins with `pvecm add` through a member (no file copied by hand:
/// the runbook checker's R008), then the target's own text goes through /etc/pve.
#[test]
fn on_proxmox_a_new_node_joins_with_pvecm_add() {
    let from = example("corosync.fixed.conf");
    let (document, _) = model::syntax::parse(&from);
    let to = document
        .add_node(&[
            ("name", "pve1-node4"),
            ("nodeid", "4"),
            ("quorum_votes", "1"),
            ("ring0_addr", "10.30.0.14"),
            ("ring1_addr", "10.31.0.14"),
        ])
        .unwrap()
        .to_text();
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "pvecm_add pve1-node4\n\
         write_pve_config pve1-node1,pve1-node2,pve1-node3,pve1-node4\n\
         wait pve1-node1,pve1-node2,pve1-node3,pve1-node4"
    );
    let add = &plan.steps[0];
    assert_eq!(
        add.commands["pve1-node4"],
        ["pvecm add 10.30.0.11 --link0 10.30.0.14 --link1 10.31.0.14 --nodeid 4 --use_ssh"]
    );
    assert_eq!(add.pre.expected_votes, 3);
    assert_eq!(add.post.expected_votes, 4);
    assert_eq!(add.post.quorate.len(), 4);
    // The members and the new node hold pvecm's file (its layout, version 3).
    let written = add.config_sha256.clone().unwrap();
    assert!(add.post.config_sha256_by_node.values().all(|sha| *sha == written));
    assert!(plan.config_text(&written).unwrap().contains("config_version: 3"));
    // Told it is a plain cluster: the file is written on every node, as before.
    let options = PlanOptions {
        proxmox: Some(false),
        ..PlanOptions::default()
    };
    let plain = check(Some(&from), &to, &options);
    assert!(
        shape(&plain).starts_with("write_config pve1-node1,pve1-node2,pve1-node3,pve1-node4\n"),
        "{}",
        shape(&plain)
    );
    assert!(!shape(&plain).contains("pvecm"), "{}", shape(&plain));
}

#[test]
fn a_plain_cluster_told_it_is_proxmox_writes_through_pmxcfs() {
    let from = cluster(3, 1, 3, "");
    let to = cluster(3, 1, 4, "    expected_votes: 3\n");
    let options = PlanOptions {
        proxmox: Some(true),
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &to, &options);
    assert_eq!(shape(&plan), "write_pve_config n1,n2,n3\nwait n1,n2,n3");
    assert_eq!(
        plan.steps[0].commands["n1"][0],
        format!(
            "write-file /etc/pve/corosync.conf.new sha256:{} mode:0644",
            plan.to_sha256
        )
    );
}

#[test]
fn a_transport_change_has_no_safe_plan_but_an_outage_plan() {
    let from = cluster(3, 1, 3, "");
    let to = cluster(3, 1, 4, "").replace("transport: knet", "transport: udpu");
    let outcome = plan(
        Some(&endpoint("a.conf", &from)),
        &endpoint("b.conf", &to),
        &PlanOptions::default(),
    )
    .unwrap();
    let PlanOutcome::NoSafePlan(none) = outcome else {
        panic!("a knet to udpu change cannot keep quorum");
    };
    assert!(
        none.impossible.iter().any(|entry| entry.step == "restart"),
        "{none:#?}"
    );
    let options = PlanOptions {
        allow_outage: true,
        ..PlanOptions::default()
    };
    let plan = check(Some(&from), &to, &options);
    assert_eq!(plan.verdict, crate::Verdict::NeedsOutage);
}

#[test]
fn a_hand_edited_plan_that_restarts_two_nodes_at_once_fails_verify() {
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    wait_for_all: 1\n");
    let mut plan = check(Some(&from), &to, &PlanOptions::default());
    let restarts: Vec<usize> = (0..plan.steps.len())
        .filter(|index| plan.steps[*index].action == "restart")
        .collect();
    let second = plan.steps[restarts[1]].nodes[0].clone();
    plan.steps[restarts[0]].nodes.push(second);
    plan.plan_sha256 = plan.compute_sha256();
    let report = verify(&plan, Some(&endpoint("from.conf", &from)), 1).unwrap();
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.contains("no node is quorate")),
        "{:#?}",
        report.problems
    );
    // A plan whose hash does not match is refused before anything is replayed.
    plan.steps[0].why.push('!');
    assert!(matches!(
        verify(&plan, Some(&endpoint("from.conf", &from)), 1),
        Err(Error::BadPlan { .. })
    ));
}

#[test]
fn verify_runs_the_plan_through_sim_check_with_faults_interleaved() {
    // See: issue 11 (plan verify through `sim::check`).
    let from = cluster(3, 1, 4, "");
    let to = cluster(3, 1, 5, "    wait_for_all: 1\n");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let source = endpoint("from.conf", &from);
    let none = verify(&plan, Some(&source), 0).unwrap();
    let one = verify(&plan, Some(&source), 1).unwrap();
    let two = verify(&plan, Some(&source), 2).unwrap();
    assert!(none.ok && one.ok, "{:#?} {:#?}", none.problems, one.problems);
    // The model checker explores the faults between and inside the steps: more states
    // with every unit of budget.
    assert!(
        none.states_checked < one.states_checked,
        "{} {}",
        none.states_checked,
        one.states_checked
    );
    assert!(
        one.states_checked < two.states_checked,
        "{} {}",
        one.states_checked,
        two.states_checked
    );
}

/// A crashed node's restart is a recovery the safety verdict explores (free, as in `quorate
/// check`): four last_man_standing nodes, a node down past the window (expected votes 4 ->
/// 3), a partition {1}|{2,3}, the node back beside n1: {1,4} and {2,3} are both quorate.
/// Real corosync 3.1.7 does exactly this (`reality::four_nodes_lms_a_node_back_into_the_minority...`).
/// It takes two faults; without the restart no sequence of two splits the cluster.
#[test]
fn a_crashed_node_restarting_is_a_recovery_the_verdict_explores() {
    let text = cluster(
        4,
        1,
        5,
        "    last_man_standing: 1\n    last_man_standing_window: 3000\n",
    );
    let (document, _) = model::syntax::parse(&text);
    let (config, _) = model::config::Config::from_document(&document);
    let running =
        model::quorum::ClusterState::from_config(&model::quorum::NodeConfig::from_config(&config)).unwrap();
    let mut safety = crate::safety::Safety::new(1);
    assert_eq!(safety.verdict(&running).split_brain_after, None);
    let mut safety = crate::safety::Safety::new(2);
    let verdict = safety.verdict(&running);
    let script = verdict
        .split_brain_after
        .clone()
        .expect("a split-brain within two faults");
    assert_eq!(verdict.split_brain_faults, 2, "{script:?}");
    assert!(
        script.first().is_some_and(|line| line.starts_with("down ")),
        "{script:?}"
    );
    assert!(script.iter().any(|line| line.starts_with("wait ")), "{script:?}");
    assert!(
        script.last().is_some_and(|line| line.starts_with("up ")),
        "{script:?}"
    );
    // The script replays to the split-brain in the engine.
    let mut replayed = running.clone();
    for line in &script {
        let step = model::scenario::parse(line).unwrap().steps.remove(0);
        let event = model::action::Event::from_step(&step, &mut |_: &str| {
            Err::<model::quorum::NodeConfig, &str>("no file")
        })
        .unwrap();
        assert!(!replayed.apply_event(&event).rejected, "{line}");
    }
    assert!(replayed.split_brain(), "{script:?}");
}
