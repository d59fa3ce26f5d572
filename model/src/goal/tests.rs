//! Unit tests of the goals: text in, exact text out (comments kept), and every refusal.

use super::*;
use crate::syntax::parse as parse_conf;
use proptest::strategy::Strategy;

/// A Proxmox-style 3-node cluster with one link and comments that must survive.
const THREE: &str = "\
# managed by hand
totem {
  version: 2
  cluster_name: lab
  config_version: 4
  transport: knet
  interface {
    linknumber: 0
  }
}

nodelist {
  # the rack A nodes
  node {
    name: n1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
  node {
    name: n2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 10.0.0.2
  }
  node {
    name: n3
    nodeid: 3
    quorum_votes: 1
    ring0_addr: 10.0.0.3
  }
}

quorum {
  # keep this comment
  provider: corosync_votequorum
}
";

/// A 2-node two_node cluster without config_version, addresses first in each node.
const TWO: &str = "\
totem {
  version: 2
}
nodelist {
  node {
    ring0_addr: 10.0.0.1
    name: a
    nodeid: 1
  }
  node {
    ring0_addr: 10.0.0.2
    name: b
    nodeid: 2
  }
}
quorum {
  provider: corosync_votequorum
  two_node: 1
}
";

/// Parses every goal, applies them to `source`, and returns (target text, notes).
fn check(source: &str, goals: &[&str]) -> Result<(String, Vec<String>), String> {
    let (document, _) = parse_conf(source);
    let goals: Vec<Goal> = goals
        .iter()
        .map(|text| parse(text))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("{error}\nhelp: {}", error.help()))?;
    let applied = apply(&document, &goals).map_err(|error| format!("{error}\nhelp: {}", error.help()))?;
    Ok((applied.document.to_text(), applied.notes))
}

/// The target must differ from `source` exactly by `edits` (pairs of old, new text).
fn expect_edits(source: &str, edits: &[(&str, &str)]) -> String {
    let mut text = source.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{old:?} not in the source");
        text = text.replacen(old, new, 1);
    }
    text
}

fn error(source: &str, goals: &[&str]) -> String {
    match check(source, goals) {
        Ok((text, _)) => panic!("goals {goals:?} were accepted:\n{text}"),
        Err(message) => message,
    }
}

#[test]
fn add_node_copies_the_layout_bumps_config_version_and_keeps_comments() {
    let (text, notes) = check(THREE, &["add-node n4 10.0.0.4"]).unwrap();
    let expected = expect_edits(
        THREE,
        &[
            ("config_version: 4", "config_version: 5"),
            (
                "    ring0_addr: 10.0.0.3\n  }\n",
                "    ring0_addr: 10.0.0.3\n  }\n  node {\n    name: n4\n    nodeid: 4\n    quorum_votes: 1\n    ring0_addr: 10.0.0.4\n  }\n",
            ),
        ],
    );
    assert_eq!(text, expected);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("totem.config_version 4 -> 5"), "{notes:?}");
}

#[test]
fn add_node_with_votes_and_nodeid_follows_an_addresses_first_layout() {
    let (text, _) = check(TWO, &["add-node c 10.0.0.3 votes=2 nodeid=7"]).unwrap();
    let expected = expect_edits(
        TWO,
        &[
            (
                "    nodeid: 2\n  }\n",
                "    nodeid: 2\n  }\n  node {\n    ring0_addr: 10.0.0.3\n    name: c\n    nodeid: 7\n    quorum_votes: 2\n  }\n",
            ),
            ("  two_node: 1\n", ""),
        ],
    );
    assert_eq!(text, expected);
}

#[test]
fn add_node_to_a_two_node_cluster_drops_two_node_and_says_so() {
    let (text, notes) = check(TWO, &["add-node c 10.0.0.3"]).unwrap();
    assert!(!text.contains("two_node"), "{text}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("two_node dropped: two_node is for exactly two nodes")
            && notes[0].contains("wait_for_all, which two_node implied, goes with it"),
        "{notes:?}"
    );
    // With wait_for_all written, it stays and the note does not mention it.
    let with_wfa = TWO.replace("  two_node: 1\n", "  two_node: 1\n  wait_for_all: 1\n");
    let (text, notes) = check(&with_wfa, &["add-node c 10.0.0.3"]).unwrap();
    assert!(
        text.contains("  wait_for_all: 1\n") && !text.contains("two_node"),
        "{text}"
    );
    assert!(!notes[0].contains("wait_for_all"), "{notes:?}");
}

#[test]
fn add_node_updates_an_expected_votes_equal_to_the_old_sum() {
    let source = THREE.replace(
        "  provider: corosync_votequorum\n",
        "  provider: corosync_votequorum\n  expected_votes: 3\n",
    );
    let (text, notes) = check(&source, &["add-node n4 10.0.0.4"]).unwrap();
    assert!(text.contains("  expected_votes: 4\n"), "{text}");
    assert!(
        notes
            .iter()
            .any(|note| note.starts_with("quorum.expected_votes 3 -> 4")),
        "{notes:?}"
    );
    let odd = source.replace("expected_votes: 3", "expected_votes: 5");
    let (text, notes) = check(&odd, &["add-node n4 10.0.0.4"]).unwrap();
    assert!(text.contains("  expected_votes: 5\n"), "{text}");
    assert!(
        notes
            .iter()
            .any(|note| note.starts_with("quorum.expected_votes stays 5")),
        "{notes:?}"
    );
}

#[test]
fn remove_node_keeps_the_rest_and_warns_about_two_nodes() {
    let (text, notes) = check(THREE, &["remove-node n2"]).unwrap();
    let expected = expect_edits(
        THREE,
        &[
            ("config_version: 4", "config_version: 5"),
            (
                "  node {\n    name: n2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.0.0.2\n  }\n",
                "",
            ),
        ],
    );
    assert_eq!(text, expected);
    assert!(
        notes
            .iter()
            .any(|note| note.starts_with("the cluster goes down to 2 nodes")
                && note.contains("pvecm never does")),
        "{notes:?}"
    );
    assert!(!text.contains("two_node"), "two_node is not added silently");
    // A node is found by nodeid too.
    assert_eq!(check(THREE, &["remove-node 2"]).unwrap().0, expected);
}

#[test]
fn add_link_puts_each_address_beside_the_last_ring_and_declares_the_interface() {
    let (text, _) = check(THREE, &["add-link 1 10.1.0.1,10.1.0.2,10.1.0.3"]).unwrap();
    let expected = expect_edits(
        THREE,
        &[
            ("config_version: 4", "config_version: 5"),
            (
                "    linknumber: 0\n  }\n",
                "    linknumber: 0\n  }\n  interface {\n    linknumber: 1\n  }\n",
            ),
            (
                "ring0_addr: 10.0.0.1\n",
                "ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n",
            ),
            (
                "ring0_addr: 10.0.0.2\n",
                "ring0_addr: 10.0.0.2\n    ring1_addr: 10.1.0.2\n",
            ),
            (
                "ring0_addr: 10.0.0.3\n",
                "ring0_addr: 10.0.0.3\n    ring1_addr: 10.1.0.3\n",
            ),
        ],
    );
    assert_eq!(text, expected);
    // Without interface sections, none is added; ring1 goes after ring0, not at the end.
    let (text, _) = check(TWO, &["add-link 1 10.1.0.1,10.1.0.2"]).unwrap();
    assert_eq!(
        text,
        expect_edits(
            TWO,
            &[
                (
                    "ring0_addr: 10.0.0.1\n",
                    "ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n"
                ),
                (
                    "ring0_addr: 10.0.0.2\n",
                    "ring0_addr: 10.0.0.2\n    ring1_addr: 10.1.0.2\n"
                ),
            ]
        )
    );
}

#[test]
fn remove_link_and_readdress() {
    let (two_links, _) = check(THREE, &["add-link 1 10.1.0.1,10.1.0.2,10.1.0.3"]).unwrap();
    let (text, _) = check(&two_links, &["remove-link 0"]).unwrap();
    assert!(
        !text.contains("ring0_addr") && !text.contains("linknumber: 0"),
        "{text}"
    );
    assert!(
        text.contains("# the rack A nodes\n") && text.contains("config_version: 6"),
        "{text}"
    );
    let (text, _) = check(THREE, &["readdress n3 0 10.0.0.33"]).unwrap();
    assert_eq!(
        text,
        expect_edits(
            THREE,
            &[
                ("config_version: 4", "config_version: 5"),
                ("ring0_addr: 10.0.0.3", "ring0_addr: 10.0.0.33")
            ]
        )
    );
}

#[test]
fn set_and_unset_edit_in_place_or_create_the_section() {
    let (text, _) = check(THREE, &["set quorum.wait_for_all=1", "set totem.token=5000"]).unwrap();
    assert_eq!(
        text,
        expect_edits(
            THREE,
            &[
                ("config_version: 4", "config_version: 5"),
                (
                    "    linknumber: 0\n  }\n",
                    "    linknumber: 0\n  }\n  token: 5000\n"
                ),
                (
                    "  provider: corosync_votequorum\n",
                    "  provider: corosync_votequorum\n  wait_for_all: 1\n"
                ),
            ]
        )
    );
    let (text, _) = check(TWO, &["unset quorum.two_node"]).unwrap();
    assert_eq!(text, TWO.replace("  two_node: 1\n", ""));
    let (text, _) = check(TWO, &["set logging.to_syslog=yes"]).unwrap();
    assert!(text.ends_with("logging {\n  to_syslog: yes\n}\n"), "{text}");
    // A value with blanks is written whole.
    let (text, _) = check(THREE, &["set quorum.auto_tie_breaker_node=1 3"]).unwrap();
    assert!(text.contains("  auto_tie_breaker_node: 1 3\n"), "{text}");
}

#[test]
fn add_qdevice_writes_the_section_as_pvecm_does() {
    let (text, notes) = check(TWO, &["add-qdevice 198.18.0.9"]).unwrap();
    assert_eq!(
        text,
        expect_edits(
            TWO,
            &[(
                "  two_node: 1\n}\n",
                "  device {\n    model: net\n    votes: 1\n    net {\n      tls: on\n      host: 198.18.0.9\n      algorithm: ffsplit\n    }\n  }\n}\n"
            )]
        )
    );
    assert!(
        notes.iter().any(|note| note
            .starts_with("two_node dropped: votequorum refuses two_node together with a quorum device")),
        "{notes:?}"
    );
    // An odd count takes lms, with votes left to votequorum (N-1), and says why.
    let (text, notes) = check(THREE, &["add-qdevice qnetd.example"]).unwrap();
    assert!(text.contains("  device {\n    model: net\n    net {\n      tls: on\n      host: qnetd.example\n      algorithm: lms\n    }\n  }\n"), "{text}");
    assert!(
        notes
            .iter()
            .any(|note| note.contains("odd count") && note.contains("--force")),
        "{notes:?}"
    );
    let (text, notes) = check(THREE, &["add-qdevice q algorithm=ffsplit"]).unwrap();
    assert!(
        text.contains("algorithm: ffsplit") && text.contains("votes: 1"),
        "{text}"
    );
    assert!(!notes.iter().any(|note| note.contains("odd count")), "{notes:?}");
    // And remove-qdevice gives the original back (but for the version bump).
    let (with, _) = check(THREE, &["add-qdevice q"]).unwrap();
    let (without, _) = check(&with, &["remove-qdevice"]).unwrap();
    assert_eq!(without, THREE.replace("config_version: 4", "config_version: 6"));
}

#[test]
fn rolling_restart_changes_nothing_and_is_accepted() {
    let (document, _) = parse_conf(THREE);
    let applied = apply(&document, &[Goal::RollingRestart]).unwrap();
    assert!(applied.rolling_restart);
    assert_eq!(applied.document.to_text(), THREE);
    assert!(applied.notes.is_empty());
}

#[test]
fn every_goal_prints_back_as_it_parses() {
    for text in [
        "add-node n4 10.0.0.4,10.1.0.4 votes=2 nodeid=9",
        "remove-node n2",
        "add-link 1 a,b,c",
        "remove-link 1",
        "readdress n1 0 10.0.0.9",
        "set quorum.device.net.algorithm=lms",
        "unset quorum.two_node",
        "rolling-restart",
        "add-qdevice q algorithm=lms",
        "remove-qdevice",
    ] {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
    assert_eq!(GOAL_USAGE.len(), 10);
}

#[test]
fn parse_errors_say_what_is_wrong_and_what_to_write() {
    let cases: &[(&str, &str)] = &[
        ("", "goal ``: the goal is empty\nhelp: a goal is one of: `add-node NAME"),
        ("frob x", "goal `frob x`: unknown goal `frob`\nhelp: a goal is one of:"),
        ("add-node", "goal `add-node`: missing the node NAME\nhelp: write `add-node NAME ADDR[,ADDR...] [votes=V] [nodeid=I]`"),
        ("add-node n4", "goal `add-node n4`: missing the node's addresses"),
        ("add-node n4 votes=2", "goal `add-node n4 votes=2`: missing the node's addresses"),
        ("add-node n4 a weight=2", "goal `add-node n4 a weight=2`: unexpected `weight=2`"),
        ("add-node n4 a nodeid=0", "nodeid must be 1 to 65535 (knet), not `0`"),
        ("add-node 4 a", "a node name must be a word with a letter"),
        ("add-node n4 a,,b", "`` is not an address"),
        ("add-link 8 a", "the link number must be 0 to 7, not `8`"),
        ("remove-link x", "the link number must be 0 to 7, not `x`"),
        ("remove-node a b", "unexpected `b`"),
        ("readdress n1 0", "missing the new ADDR\nhelp: write `readdress NODE LINK ADDR`"),
        ("set quorum.two_node", "missing `=VALUE` after SECTION.KEY"),
        ("set two_node=1", "`two_node` is not a SECTION.KEY (e.g. quorum.wait_for_all)"),
        ("set quorum.two_node=", "missing a VALUE after `=` (to remove a key, use `unset`)"),
        ("set nodelist.node.name=x", "nodelist entries are not set or unset by key\nhelp: use add-node"),
        ("unset quorum", "`quorum` is not a SECTION.KEY"),
        ("set totem.x=a {", "the value `a {` cannot be written on one corosync.conf line"),
        ("rolling-restart now", "unexpected `now`"),
        ("add-qdevice q algorithm=2nodelms", "unexpected `algorithm=2nodelms`"),
    ];
    for (goal, expected) in cases {
        let message = match parse(goal) {
            Ok(parsed) => panic!("{goal:?} parsed as {parsed:?}"),
            Err(error) => format!("{error}\nhelp: {}", error.help()),
        };
        assert!(
            message.contains(expected),
            "{goal:?}:\n{message}\nexpected: {expected}"
        );
    }
}

#[test]
fn apply_errors_name_the_goal_the_problem_and_the_way_out() {
    let cases: &[(&str, &[&str], &str)] = &[
        (THREE, &["remove-node n9"], "goal `remove-node n9`: no node `n9` in the nodelist\nhelp: name a node of the nodelist (by name or nodeid): n1 (1), n2 (2), n3 (3)"),
        (THREE, &["readdress n9 0 x"], "no node `n9` in the nodelist"),
        (THREE, &["add-node n2 10.0.0.9"], "node `n2` is already in the nodelist"),
        (THREE, &["add-node n4 10.0.0.4 nodeid=2"], "nodeid 2 is already used by `n2`\nhelp: leave nodeid= out to take the smallest free id (4)"),
        (THREE, &["add-node n4 10.0.0.4,10.1.0.4"], "2 address(es) given, but the cluster has 1 link(s) (0): one address per link"),
        (THREE, &["add-node n4 10.0.0.2"], "address 10.0.0.2 is already used on link 0 by `n2`"),
        (THREE, &["add-link 1 a,b"], "2 address(es) given, but the nodelist has 3 node(s) (n1, n2, n3): one address per node, in nodelist order"),
        (THREE, &["add-link 0 a,b,c"], "link 0 already exists\nhelp: to change one node's address on link 0, use `readdress NODE 0 ADDR`"),
        (THREE, &["add-link 1 a,b,a"], "address a is already used on link 1 by `n1`"),
        (THREE, &["remove-link 1"], "link 1 does not exist\nhelp: the cluster's links are: 0"),
        (THREE, &["remove-link 0"], "link 0 is the cluster's only link"),
        (THREE, &["readdress n1 1 x"], "link 1 does not exist"),
        (THREE, &["readdress n1 0 10.0.0.1"], "changes nothing: `n1` already has 10.0.0.1 on link 0"),
        (THREE, &["readdress n1 0 10.0.0.2"], "address 10.0.0.2 is already used on link 0 by `n2`"),
        (THREE, &["set totem.transport=knet"], "changes nothing: totem.transport is already knet\nhelp: leave the goal out"),
        (THREE, &["unset quorum.two_node"], "changes nothing: quorum.two_node is not set"),
        (THREE, &["remove-qdevice"], "no quorum device is configured"),
        (TWO, &["remove-node a", "remove-node b"], "`b` is the cluster's only node"),
        (THREE, &["add-node n4 10.0.0.4", "remove-node n4"], "goal `remove-node n4`: conflicts with goal `add-node n4 10.0.0.4`: one adds the node the other removes"),
        (THREE, &["set quorum.two_node=1", "unset quorum.two_node"], "conflicts with goal `set quorum.two_node=1`: both write the same key"),
        (THREE, &["add-link 1 a,b,c", "remove-link 1"], "both change the same link"),
        (THREE, &["readdress n1 0 x", "remove-node n1"], "one re-addresses the node the other removes"),
        (THREE, &["add-qdevice q", "remove-qdevice"], "both change the quorum device"),
        (THREE, &["rolling-restart", "rolling-restart"], "rolling-restart is given twice"),
    ];
    for (source, goals, expected) in cases {
        let message = error(source, goals);
        assert!(
            message.contains(expected),
            "{goals:?}:\n{message}\nexpected: {expected}"
        );
    }
    let two_interfaces = check(THREE, &["add-link 1 a,b,c"]).unwrap().0;
    let message = error(&two_interfaces, &["set totem.interface.knet_link_priority=5"]);
    assert!(
        message.contains("section `totem.interface` appears more than once") && message.contains("--to FILE"),
        "{message}"
    );
    let (with_qdevice, _) = check(THREE, &["add-qdevice q"]).unwrap();
    assert!(error(&with_qdevice, &["add-qdevice r"]).contains("a quorum device is already configured"));
}

#[test]
fn every_goal_target_on_a_valid_cluster_is_one_corosync_accepts() {
    let options = crate::lint::LintOptions::default();
    let refusals = |text: &str| -> Vec<String> {
        crate::lint::lint_text(text, &options)
            .into_iter()
            .filter(|diagnostic| diagnostic.rejected_by.is_some())
            .map(|diagnostic| format!("{}: {}", diagnostic.code, diagnostic.message))
            .collect()
    };
    assert_eq!(refusals(THREE), Vec::<String>::new());
    for goals in [
        &["add-node n4 10.0.0.4"][..],
        &["add-node n4 10.0.0.4 votes=2 nodeid=9"],
        &["remove-node n2"],
        &["add-link 1 10.1.0.1,10.1.0.2,10.1.0.3"],
        &["readdress n3 0 10.0.0.33"],
        &["set quorum.wait_for_all=1", "set totem.token=5000"],
        &["add-qdevice 198.18.0.9"],
        &["add-qdevice 198.18.0.9 algorithm=ffsplit"],
        &["add-node n4 10.0.0.4", "add-qdevice 198.18.0.9"],
    ] {
        let (text, _) = check(THREE, goals).unwrap();
        assert_eq!(refusals(&text), Vec::<String>::new(), "{goals:?}:\n{text}");
    }
    let (two_links, _) = check(THREE, &["add-link 1 10.1.0.1,10.1.0.2,10.1.0.3"]).unwrap();
    let (text, _) = check(&two_links, &["remove-link 0"]).unwrap();
    assert_eq!(refusals(&text), Vec::<String>::new(), "{text}");
    let (text, _) = check(TWO, &["add-qdevice 198.18.0.9"]).unwrap();
    assert_eq!(refusals(&text), Vec::<String>::new(), "{text}");
}

proptest::proptest! {
    /// No goal, however malformed, panics: parse and apply return a value or an error, and
    /// an applied target parses without a syntax error.
    #[test]
    fn goals_never_panic_and_targets_parse(
        words in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "add-node", "remove-node", "add-link", "remove-link", "readdress", "set", "unset",
                    "rolling-restart", "add-qdevice", "remove-qdevice", "n1", "n2", "n9", "a", "b", "0", "1", "7", "9",
                    "10.0.0.1", "10.0.0.9", "x,y,z", "10.1.0.1,10.1.0.2,10.1.0.3", "votes=2", "nodeid=2",
                    "nodeid=8", "algorithm=lms", "quorum.two_node=1", "totem.token=5000", "quorum.device.votes=1",
                    "totem.interface.linknumber=3", "quorum.two_node", "=", ",", "",
                ]).prop_map(str::to_string),
                "[ -~]{0,12}",
            ],
            0..6,
        ),
        split in 0usize..6,
        two in proptest::bool::ANY,
    ) {
        let source = if two { TWO } else { THREE };
        let (document, _) = parse_conf(source);
        let split = split.min(words.len());
        let texts = [words[..split].join(" "), words[split..].join(" ")];
        let goals: Vec<Goal> = texts.iter().filter_map(|text| parse(text).ok()).collect();
        for goal in &goals {
            proptest::prop_assert_eq!(&parse(&goal.to_string()).ok(), &Some(goal.clone()));
        }
        if let Ok(applied) = apply(&document, &goals) {
            let (_, diagnostics) = parse_conf(&applied.document.to_text());
            proptest::prop_assert!(diagnostics.is_empty(), "{:?} gave {:?}", goals, diagnostics);
        }
    }
}
