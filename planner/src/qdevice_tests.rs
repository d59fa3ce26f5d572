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
