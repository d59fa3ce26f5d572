//! Plans that add or remove a quorum device (model net): the certificate exchange with the
//! qnetd host, the file written and reloaded, corosync-qdevice started on every node, qnetd
//! deciding the vote; every plan replayed and re-verified (`plan verify`, qnetd faults in
//! the budget).

use crate::tests::{check, cluster, shape};
use crate::{plan, Endpoint, PlanOptions, PlanOutcome};

/// The `device` section `add-qdevice 198.19.0.254` writes (votes only for ffsplit).
fn device(algorithm: &str, votes: Option<u32>) -> String {
    let votes = votes.map_or(String::new(), |votes| format!("        votes: {votes}\n"));
    format!(
        "    device {{\n        model: net\n{votes}        net {{\n            tls: on\n            host: 198.19.0.254\n            algorithm: {algorithm}\n        }}\n    }}\n"
    )
}

fn casting(plan: &crate::Plan) -> Vec<String> {
    plan.steps
        .last()
        .and_then(|step| step.post.qdevice_casting.clone())
        .unwrap_or_default()
}

/// The position of the first step with `action` (panics with the shape when absent).
fn position(plan: &crate::Plan, action: &str) -> usize {
    plan.steps
        .iter()
        .position(|step| step.action == action)
        .unwrap_or_else(|| panic!("no {action} step:\n{}", shape(plan)))
}

/// What every adding plan shares: the certificate exchange in pvecm's order (qnetd's CA,
/// the nodes' databases, the first node's request, qnetd's signature, the import there,
/// then on the others) before the reload that adds the device; corosync-qdevice started
/// only after it; every node quorate and casting at the end.
fn assert_adds(plan: &crate::Plan, nodes: &[&str], expected_votes: u32) {
    let text = shape(plan);
    let exchange = [
        "qnetd_init",
        "qdevice_ca",
        "qdevice_request",
        "qnetd_sign",
        "qdevice_import",
        "qdevice_certificate",
    ];
    let at: Vec<usize> = exchange.iter().map(|action| position(plan, action)).collect();
    assert!(at.windows(2).all(|pair| pair[1] == pair[0] + 1), "{text}");
    let reload = plan
        .steps
        .iter()
        .position(|step| step.action == "reload" || step.action == "write_pve_config")
        .expect("a reload");
    let start = position(plan, "start_qdevice");
    assert!(at[5] < reload && reload < start, "{text}");
    assert_eq!(plan.qnetd_host.as_deref(), Some("198.19.0.254"));
    // The qnetd host runs commands but is no node of the plan.
    assert!(!plan.nodeids.contains_key("198.19.0.254"));
    assert!(plan.steps[at[0]].commands.contains_key("198.19.0.254"), "{text}");
    assert!(plan.steps[at[0]].nodes.is_empty());
    let last = &plan.steps.last().unwrap().post;
    assert_eq!(last.quorate, nodes, "{text}");
    assert_eq!(casting(plan), nodes, "{text}");
    assert_eq!(last.expected_votes, expected_votes, "{text}");
    // Until corosync-qdevice starts, the device's votes count in expected votes and no
    // node casts them.
    let before_start = &plan.steps[start].pre;
    assert_eq!(before_start.qdevice_casting.as_deref(), Some(&[][..]), "{text}");
    // Nothing secret travels in the plan: the PKCS#12 file moves node to node.
    let json = serde_json::to_string(plan).unwrap();
    for command in plan
        .steps
        .iter()
        .flat_map(|step| step.commands.values().flatten())
    {
        if command.contains(".p12") && !command.starts_with("copy-file") {
            assert!(
                command.starts_with("corosync-qdevice-net-certutil -m") || command.starts_with("rm -f"),
                "{command}"
            );
        }
    }
    assert!(!json.contains("PRIVATE KEY"));
}

#[test]
fn a_two_node_pair_gets_an_ffsplit_device_and_drops_two_node() {
    // See: issue 11 (add-qdevice), spec 2.1 (two_node and a device at reload), TV49.
    let from = cluster(2, 1, 3, "    two_node: 1\n");
    let to = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_adds(&plan, &["n1", "n2"], 3);
    // No node ever runs two_node and the device together (the target drops two_node).
    replay_script(&plan, &from);
    // Starting corosync-qdevice before the device is in the running file is the order the
    // plan rejects: the daemon exits without quorum.device in cmap.
    assert!(
        plan.rejected
            .iter()
            .any(|rejected| rejected.because.contains("corosync-qdevice exits")),
        "{:#?}",
        plan.rejected
    );
}

#[test]
fn four_nodes_get_an_ffsplit_device() {
    let from = cluster(4, 2, 3, "");
    let to = cluster(4, 2, 4, &device("ffsplit", Some(1)));
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_adds(&plan, &["n1", "n2", "n3", "n4"], 5);
    // 4 of 5 expected votes before any qdevice casts: one crash still leaves 3, quorate;
    // no warning.
    let reload = position(&plan, "reload");
    assert!(
        plan.steps[reload].warning.is_none(),
        "{:?}",
        plan.steps[reload].warning
    );
    assert!(!shape(&plan).contains("restart"), "{}", shape(&plan));
    replay_script(&plan, &from);
}

#[test]
fn three_nodes_get_an_lms_device_with_two_votes() {
    // lms with votes left to votequorum: N - 1 = 2, so expected votes rise from 3 to 5 at
    // the reload while no node casts yet (3 of 5: every node needed), the window the plan
    // keeps as short as it can and warns about.
    let from = cluster(3, 2, 3, "");
    let to = cluster(3, 2, 4, &device("lms", None));
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_adds(&plan, &["n1", "n2", "n3"], 5);
    let reload = position(&plan, "reload");
    assert_eq!(plan.steps[reload].post.expected_votes, 5);
    assert!(
        plan.steps[reload]
            .warning
            .as_deref()
            .is_some_and(|warning| warning.contains("leaves no node quorate")),
        "{:?}",
        plan.steps[reload].warning
    );
    replay_script(&plan, &from);
    // The same plan also holds with two extra faults (qnetd down or cut count too).
    let report = crate::verify(&plan, Some(&crate::tests::endpoint("from.conf", &from)), 2).unwrap();
    assert!(report.ok, "{:#?}", report.problems);
}

#[test]
fn removing_the_device_stops_every_qdevice_and_reloads() {
    // See: issue 11 (remove-qdevice).
    let from = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let to = cluster(2, 1, 5, "");
    let plan = check(Some(&from), &to, &PlanOptions::default());
    let text = shape(&plan);
    assert!(text.contains("stop_qdevice"), "{text}");
    assert!(text.contains("reload"), "{text}");
    assert!(!text.contains("qdevice_certificate"), "{text}");
    let last = &plan.steps.last().unwrap().post;
    assert_eq!(last.quorate, ["n1", "n2"]);
    assert_eq!(last.expected_votes, 2);
    assert_eq!(casting(&plan), Vec::<String>::new());
    let stop = position(&plan, "stop_qdevice");
    assert_eq!(
        plan.steps[stop].commands["n1"],
        [
            "systemctl stop corosync-qdevice",
            "corosync-quorumtool -f",
            "systemctl disable corosync-qdevice"
        ]
    );
    replay_script(&plan, &from);
}

#[test]
fn a_device_without_a_host_or_cluster_name_is_refused() {
    let from = cluster(2, 1, 3, "");
    let no_host = cluster(2, 1, 4, "    device {\n        model: net\n        votes: 1\n        net {\n            algorithm: ffsplit\n        }\n    }\n");
    let error = plan(
        Some(&crate::tests::endpoint("a.conf", &from)),
        &crate::tests::endpoint("b.conf", &no_host),
        &PlanOptions::default(),
    );
    let message = match error {
        Err(error) => error.to_string(),
        Ok(PlanOutcome::Found(_)) | Ok(PlanOutcome::NoSafePlan(_)) => String::new(),
    };
    assert!(message.contains("no host"), "{message}");
    let unnamed_from = from.replace("    cluster_name: lab\n", "");
    let unnamed_to = cluster(2, 1, 4, &device("ffsplit", Some(1))).replace("    cluster_name: lab\n", "");
    let error = plan(
        Some(&Endpoint {
            name: "a.conf".into(),
            text: unnamed_from,
        }),
        &Endpoint {
            name: "b.conf".into(),
            text: unnamed_to,
        },
        &PlanOptions::default(),
    );
    let message = match error {
        Err(error) => error.to_string(),
        Ok(_) => String::new(),
    };
    assert!(message.contains("cluster_name"), "{message}");
}

/// Replays `plan`'s `whatif` script in the engine from `from` (the script's `install`
/// lines read `to.conf`): every step accepted, every node quorate at the end, and the
/// final casts those of the plan's last `post`.
fn replay_script(plan: &crate::Plan, from: &str) {
    use model::action::Event;
    use model::quorum::{ClusterState, NodeConfig};
    let script = crate::to_script(plan);
    let parsed = model::scenario::parse(&script).expect("the script parses");
    let parse = |text: &str| {
        let (document, _) = model::syntax::parse(text);
        let (config, _) = model::config::Config::from_document(&document);
        NodeConfig::from_config(&config)
    };
    let source = parse(from);
    let mut state = ClusterState::from_config(&source).unwrap();
    let settings = source.settings().clone();
    for step in &parsed.steps {
        sim::script_check::check_step(&state, &settings, step, &step.to_string())
            .unwrap_or_else(|refusal| panic!("`{step}` refused: {refusal:?}\n{script}"));
        let mut read = |name: &str| -> Result<NodeConfig, String> {
            match name {
                "to.conf" => Ok(parse(&plan.to_config)),
                other => Err(format!("no file {other}")),
            }
        };
        let event = Event::from_step(step, &mut read).unwrap();
        let outcome = state.apply_event(&event);
        assert!(!outcome.rejected, "`{step}`: {:?}\n{script}", outcome.notes);
    }
    let names: Vec<String> = plan.nodeids.keys().cloned().collect();
    assert_eq!(state.quorate_set().len(), names.len(), "{script}");
    let casting = (0..names.len())
        .filter(|pos| {
            state
                .view(&settings, *pos)
                .is_some_and(|view| view.flags.qdevice_cast_vote)
        })
        .count();
    assert_eq!(casting, casting_len(plan), "{script}");
}

fn casting_len(plan: &crate::Plan) -> usize {
    casting(plan).len()
}

/// The options of `--goal rolling-restart`.
fn rolling() -> PlanOptions {
    PlanOptions {
        rolling_restart: true,
        ..PlanOptions::default()
    }
}

/// The node names of `names` as owned strings.
fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(ToString::to_string).collect()
}

#[test]
fn a_kept_ffsplit_device_rolls_a_two_node_pair_one_restart_at_a_time() {
    // See: issue 11 (a cluster that keeps its device: "no safe plan: while it runs, no node
    // is quorate" before, as the engine counted no device vote).
    let from = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let plan = check(Some(&from), &from, &rolling());
    let text = shape(&plan);
    assert_eq!(text, "restart n1\nrestart n2\nwait n1,n2");
    let both = owned(&["n1", "n2"]);
    for step in &plan.steps {
        // apply checks the device casts on every node before and after each step.
        assert_eq!(step.pre.qdevice_casting.as_ref(), Some(&both), "{text}");
        assert_eq!(step.post.qdevice_casting.as_ref(), Some(&both), "{text}");
        assert_eq!(step.post.quorate, both, "{text}");
        assert_eq!(step.post.expected_votes, 3, "{text}");
    }
    assert_eq!(plan.qnetd_host.as_deref(), Some("198.19.0.254"));
    for (index, name) in [(0, "n1"), (1, "n2")] {
        let step = &plan.steps[index];
        // systemd restarts corosync-qdevice with corosync: no qdevice command, nothing on
        // the qnetd host.
        assert_eq!(step.commands.len(), 1, "{text}");
        assert_eq!(step.commands[name], ["systemctl restart corosync"]);
        assert!(step.why.contains("Requires=corosync.service"), "{}", step.why);
        // qnetd lost while the other node is down leaves no node quorate (ffsplit NACKs at
        // once on a disconnect, spec 2.9), a single fault the steady pair survives.
        assert!(
            step.warning
                .as_deref()
                .is_some_and(|warning| warning.contains("leaves no node quorate")),
            "{:?}",
            step.warning
        );
        // The estimate includes corosync-qdevice connecting again.
        assert!(
            step.estimate_ms >= crate::state::QDEVICE_START_MS,
            "{}",
            step.estimate_ms
        );
    }
    replay_script(&plan, &from);
    // With two extra faults too (qnetd down or cut among them), no split-brain.
    let report = crate::verify(&plan, Some(&crate::tests::endpoint("from.conf", &from)), 2).unwrap();
    assert!(report.ok, "{:#?}", report.problems);
}

#[test]
fn inside_a_kept_device_restart_the_vote_is_gone_until_qdevice_reconnects_and_a_lost_qnetd_is_judged() {
    use crate::files::FileTable;
    use crate::safety::Safety;
    use crate::state::{Context, Move};
    use model::action::{Event, Fault};
    use model::quorum::{ClusterState, NodeSet};
    use model::scenario::QnetdChange;

    let from = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let source = crate::tests::endpoint("from.conf", &from);
    let files = FileTable::new(Some(&source), &source, false).unwrap();
    let context = Context::new(files, rolling(), false).unwrap();
    let settings = context.files.target().settings().clone();
    let casting = |cluster: &ClusterState| -> Vec<usize> {
        (0..2)
            .filter(|pos| {
                cluster
                    .view(&settings, *pos)
                    .is_some_and(|view| view.flags.qdevice_cast_vote)
            })
            .collect()
    };
    // The running cluster: qnetd up, both daemons casting (3 of 3 votes).
    assert_eq!(casting(&context.start.cluster), [0, 1]);
    let applied = context
        .apply(&context.start, &Move::Restart(NodeSet::single(0)))
        .unwrap();
    assert_eq!(applied.script_lines(), ["restart 1"]);
    let [down, back] = applied.inner.as_slice() else {
        panic!("two moments inside the restart: {:?}", applied.inner.len());
    };
    // n1 down: n2 keeps quorum with the device's vote, 2 of 3.
    assert!(!down.is_up(0));
    assert_eq!(down.quorate_set(), NodeSet::single(1));
    assert_eq!(casting(down), [1]);
    // n1 back, its corosync-qdevice not connected yet: a member without the vote; the
    // node votes make 2 of 3, both quorate.
    assert!(back.is_up(0));
    assert_eq!(casting(back), [1]);
    assert_eq!(back.quorate_set().len(), 2);
    // After the step n1's daemon casts again.
    assert_eq!(casting(&applied.state.cluster), [0, 1]);

    // qnetd lost while n1 is down: ffsplit NACKs at once on a disconnect (spec 2.9), so n2
    // holds 1 of 3 and no node is quorate; no split-brain either.
    let mut lost = down.clone();
    let outcome = lost.apply_event(&Event::Fault(Fault::Qnetd(QnetdChange::Down)));
    assert!(!outcome.rejected);
    assert_eq!(lost.quorate_set(), NodeSet::EMPTY);
    assert!(!lost.split_brain());
    // The verdict of that moment under a budget of one fault, with n1's start still to
    // come in any partition: quorum can be lost, split-brain cannot (n1 back beside n2
    // makes 2 of 3 on one side only; alone it has 1 of 3).
    let mut safety = Safety::new(1);
    let verdict = safety.verdict_pending(down, NodeSet::single(0));
    assert!(!verdict.split_brain_now);
    assert!(verdict.quorate);
    assert!(verdict.one_fault_loses_quorum, "{verdict:?}");
    assert_eq!(verdict.split_brain_after, None, "{verdict:?}");
    // The search's judge accepts it, with the warning the plan prints.
    let mut judge = crate::search::judge_for(&context, false);
    let judgement = judge.judge_pending(down, NodeSet::single(0));
    assert_eq!(judgement.unsafe_because, None);
    assert!(
        judgement
            .warning
            .as_deref()
            .is_some_and(|warning| warning.contains("leaves no node quorate")),
        "{judgement:?}"
    );
}

#[test]
fn a_kept_device_on_four_nodes_rolls_and_reloads_a_runtime_key() {
    let from = cluster(4, 1, 4, &device("ffsplit", Some(1)));
    let plan = check(Some(&from), &from, &rolling());
    let text = shape(&plan);
    assert_eq!(text.matches("restart ").count(), 4, "{text}");
    assert_eq!(plan.steps.len(), 5, "{text}");
    let all = owned(&["n1", "n2", "n3", "n4"]);
    assert!(plan
        .steps
        .iter()
        .all(|step| step.post.qdevice_casting.as_ref() == Some(&all) && step.post.expected_votes == 5));
    replay_script(&plan, &from);
    // A key a reload applies: the file everywhere, one reload, the daemons untouched.
    let to = cluster(
        4,
        1,
        5,
        &format!("{}    expected_votes: 5\n", device("ffsplit", Some(1))),
    );
    let plan = check(Some(&from), &to, &PlanOptions::default());
    assert_eq!(
        shape(&plan),
        "write_config n1,n2,n3,n4\nreload n1\nwait n1,n2,n3,n4"
    );
    assert_eq!(casting(&plan), all);
}

#[test]
fn a_kept_lms_device_on_three_nodes_has_no_rolling_restart_under_one_fault() {
    // lms: qnetd decides again only for the client whose own membership changed
    // (qnetd-algo-lms.c) and gives a lone node's group the vote. Inside n1's restart a
    // partition {2}|{3} gives n2 the vote (tie, lowest id: 1 + 2 of 5); n1 back on n3's side
    // makes {1,3} the larger group, ACKed for n3 (2 + 2 of 5), while n2 keeps its ACK: two
    // quorate sides. So under one fault no order is safe; with none, one restart at a time.
    let from = cluster(3, 1, 4, &device("lms", None));
    let outcome = plan(
        Some(&crate::tests::endpoint("from.conf", &from)),
        &crate::tests::endpoint("from.conf", &from),
        &rolling(),
    )
    .expect("plan");
    let why = crate::tests::impossible_restart(outcome);
    assert!(why.contains("while it runs, after `move "), "{why}");
    assert!(why.contains("; up "), "{why}");
    let options = PlanOptions {
        fault_budget: 0,
        ..rolling()
    };
    let plan = check(Some(&from), &from, &options);
    assert_eq!(shape(&plan).matches("restart ").count(), 3, "{}", shape(&plan));
    assert_eq!(casting(&plan), owned(&["n1", "n2", "n3"]));
    assert_eq!(plan.steps.last().unwrap().post.expected_votes, 5);
}

#[test]
fn a_kept_device_whose_host_or_algorithm_changes_or_that_gains_a_node_is_refused() {
    let from = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let refusal = |to: &str| match plan(
        Some(&crate::tests::endpoint("from.conf", &from)),
        &crate::tests::endpoint("to.conf", to),
        &PlanOptions::default(),
    ) {
        Err(crate::Error::Unsupported { why }) => why,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("planned"),
    };
    let moved = cluster(
        2,
        1,
        5,
        &device("ffsplit", Some(1)).replace("198.19.0.254", "198.19.0.253"),
    );
    let why = refusal(&moved);
    assert!(
        why.contains("quorum.device.net.host changes from `198.19.0.254` to `198.19.0.253`"),
        "{why}"
    );
    assert!(why.contains("remove-qdevice, then add-qdevice"), "{why}");
    let lms = cluster(2, 1, 5, &device("lms", Some(1)));
    let why = refusal(&lms);
    assert!(
        why.contains("quorum.device.net.algorithm changes from `ffsplit` to `lms`"),
        "{why}"
    );
    let tie = cluster(
        2,
        1,
        5,
        &device("ffsplit", Some(1)).replace(
            "            tls: on\n",
            "            tls: on\n            tie_breaker: highest\n",
        ),
    );
    let why = refusal(&tie);
    assert!(why.contains("quorum.device.net.tie_breaker changes"), "{why}");
    let renamed =
        cluster(2, 1, 5, &device("ffsplit", Some(1))).replace("cluster_name: lab", "cluster_name: lab2");
    let why = refusal(&renamed);
    assert!(
        why.contains("totem.cluster_name changes from `lab` to `lab2`"),
        "{why}"
    );
    let grown = cluster(3, 1, 5, &device("ffsplit", Some(1)));
    let why = refusal(&grown);
    assert!(
        why.starts_with("n3 joins a cluster that keeps its quorum device"),
        "{why}"
    );
    // An algorithm written out as the default it already was is the same device.
    let unset = cluster(
        2,
        1,
        4,
        &device("ffsplit", Some(1)).replace("            algorithm: ffsplit\n", ""),
    );
    let plan = check(Some(&unset), &from, &PlanOptions::default());
    assert_eq!(shape(&plan), "write_config n1,n2\nreload n1\nwait n1,n2");
}

#[test]
fn with_a_kept_device_a_stopped_node_needs_its_qdevice_started_after_corosync() {
    // `systemctl stop corosync` stops corosync-qdevice too (Requires=corosync.service) and a
    // later `systemctl start corosync` does not start it: the node runs without the
    // device's vote until `start_qdevice`, and the plan is not done before.
    use crate::files::FileTable;
    use crate::state::{Context, Move};
    use model::quorum::NodeSet;

    let from = cluster(2, 1, 4, &device("ffsplit", Some(1)));
    let source = crate::tests::endpoint("from.conf", &from);
    let files = FileTable::new(Some(&source), &source, false).unwrap();
    let options = PlanOptions {
        allow_outage: true,
        ..rolling()
    };
    let context = Context::new(files, options, false).unwrap();
    let n1 = NodeSet::single(0);
    let stopped = context.apply(&context.start, &Move::Stop(n1)).unwrap();
    assert_eq!(stopped.script_lines(), ["stop 1", "qdevice off 1"]);
    let started = context.apply(&stopped.state, &Move::Start(n1)).unwrap();
    let cluster = &started.state.cluster;
    assert!(cluster.is_up(0));
    assert!(cluster.qdevice_stopped(0));
    let settings = context.files.target().settings().clone();
    assert!(!cluster
        .view(&settings, 0)
        .is_some_and(|view| view.flags.qdevice_cast_vote));
    assert!(!context.qdevice_done(&started.state));
    assert!(
        context.moves(&started.state).contains(&Move::QdeviceStart(n1)),
        "{:?}",
        context.moves(&started.state)
    );
    let again = context.apply(&started.state, &Move::QdeviceStart(n1)).unwrap();
    assert!(!again.state.cluster.qdevice_stopped(0));
    assert!(again
        .state
        .cluster
        .view(&settings, 0)
        .is_some_and(|view| view.flags.qdevice_cast_vote));
    assert!(context.qdevice_done(&again.state));
}
