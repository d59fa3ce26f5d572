//! Tests of corosync parity validation: every check against its test_data file (recorded
//! from real corosync 3.1.7) and the passing variant, plus host-fact handling.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::Config;
use crate::diag::Severity;
use crate::syntax::parse;

fn test_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/validate")
}

/// The host the test_data files were verified on (see their `# host:` line).
fn lab_host(config: &Config) -> HostFacts {
    let authkey = config.authkey_path().map(|path| {
        let len = match path.as_str() {
            "/etc/corosync/authkey" => Some(256),
            "/etc/corosync/authkey-short" => Some(100),
            _ => None,
        };
        AuthkeyFacts {
            os_error: len.is_none().then(|| "No such file or directory".to_string()),
            path,
            len,
        }
    });
    HostFacts {
        local_node: Some("198.18.0.1".to_string()),
        authkey,
        hosts: None,
    }
}

/// Validates `text` as it would be on `host` (the lab host when `None`).
fn check(text: &str, host: Option<HostFacts>) -> Vec<Diagnostic> {
    let (document, _) = parse(text);
    let (config, _) = Config::from_document(&document);
    let host = host.unwrap_or_else(|| lab_host(&config));
    validate(&document, &config, &host)
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|diagnostic| diagnostic.code).collect()
}

/// One test_data file with its header.
struct Case {
    name: String,
    text: String,
    corosync_t: String,
    startup: Option<String>,
    fix: (String, String),
    also: Vec<String>,
}

fn cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(test_data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let header = |prefix: &str| {
                text.lines()
                    .take_while(|line| line.starts_with('#'))
                    .find_map(|line| line.strip_prefix(prefix).map(str::to_string))
            };
            let (from, to) = header("# fix: ")
                .unwrap()
                .split_once(" => ")
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap();
            Case {
                name: path.file_stem().unwrap().to_string_lossy().to_string(),
                corosync_t: header("# corosync -t: ").unwrap(),
                startup: header("# corosync startup: exit 20, "),
                fix: (from.replace("\\n", "\n"), to.replace("\\n", "\n")),
                also: header("# also: ")
                    .map(|also| also.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
                text,
            }
        })
        .collect()
}

#[test]
fn every_check_has_a_test_data_file() {
    let names: Vec<String> = cases().into_iter().map(|case| case.name).collect();
    for check in CHECKS {
        let expected = format!("{}-{}", check.code, check.name);
        assert!(
            names.contains(&expected),
            "missing model/test_data/validate/{expected}.conf"
        );
    }
    assert_eq!(
        names.len(),
        CHECKS.len(),
        "a test_data file without a check: {names:?}"
    );
}

#[test]
fn check_table_is_well_formed() {
    let mut seen = std::collections::BTreeSet::new();
    for check in CHECKS {
        assert!(seen.insert(check.code), "duplicate code {}", check.code);
        assert!(check
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        let startup = check.code.starts_with("E2");
        assert_eq!(
            startup,
            check.rejected_by == RejectedBy::CorosyncStartup,
            "{}",
            check.code
        );
        assert!(!check.summary.ends_with('.'));
        assert_eq!(checks::find(check.name), Some(check));
        assert_eq!(checks::find(&check.code.to_lowercase()), Some(check));
    }
}

#[test]
fn test_data_files_fail_like_corosync_and_their_fix_passes() {
    for case in cases() {
        let code = &case.name[..4];
        let diagnostics = check(&case.text, None);
        let found = codes(&diagnostics);
        assert!(
            found.contains(&code),
            "{}: expected {code}, got {diagnostics:#?}",
            case.name
        );
        for other in &found {
            assert!(
                *other == code || case.also.iter().any(|also| also == other),
                "{}: unexpected {other} in {diagnostics:#?}",
                case.name
            );
        }
        for diagnostic in &diagnostics {
            assert_eq!(diagnostic.severity, Severity::Error);
            assert!(
                diagnostic.span.is_some(),
                "{}: {diagnostic:?} has no span",
                case.name
            );
            assert!(
                !diagnostic.message.ends_with('.'),
                "{}: {}",
                case.name,
                diagnostic.message
            );
        }
        // corosync's own words, as recorded from the real binary.
        let expected_help = match &case.startup {
            Some(message) => {
                assert_eq!(case.corosync_t, "rc=0", "{}", case.name);
                format!("corosync startup: {message}")
            }
            None => {
                let (_, message) = case.corosync_t.split_once(' ').unwrap();
                format!("corosync -t: {message}")
            }
        };
        let helps: Vec<_> = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.code == code)
            .filter_map(|diagnostic| diagnostic.help.clone())
            .collect();
        assert!(
            helps.contains(&expected_help),
            "{}: {expected_help:?} not in {helps:#?}",
            case.name
        );
        // The passing variant (also verified with corosync -t and corosync-vqsim).
        let body_start = case.text.find("\ntotem").map_or(0, |start| start + 1);
        let (header, body) = case.text.split_at(body_start);
        assert!(body.contains(&case.fix.0), "{}", case.name);
        let fixed = format!("{header}{}", body.replacen(&case.fix.0, &case.fix.1, 1));
        let after = check(&fixed, None);
        assert!(
            after.is_empty(),
            "{}: the fixed file still has {after:#?}",
            case.name
        );
    }
}

const TWO_NODES: &str = "totem {\n    version: 2\n    cluster_name: t\n}\nnodelist {\n    node {\n        name: alpha.example.org\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n    }\n    node {\n        name: beta\n        nodeid: 2\n        ring0_addr: beta-ring\n    }\n}\n";

fn host(local: &str, hosts: &[(&str, &str)]) -> HostFacts {
    HostFacts {
        local_node: Some(local.to_string()),
        authkey: None,
        hosts: (!hosts.is_empty()).then(|| {
            hosts
                .iter()
                .map(|(name, address)| (name.to_string(), address.parse().unwrap()))
                .collect::<BTreeMap<_, _>>()
        }),
    }
}

#[test]
fn local_node_is_found_by_name_domain_address_or_hosts_map() {
    let (document, _) = parse(TWO_NODES);
    let (config, _) = Config::from_document(&document);
    let find = |facts: HostFacts| {
        local::find_local_node(
            &config,
            facts.local_node.as_deref().unwrap(),
            facts.hosts.as_ref(),
        )
    };
    assert_eq!(find(host("alpha.example.org", &[])), Some(0));
    assert_eq!(find(host("beta.example.org", &[])), Some(1));
    assert_eq!(find(host("198.18.0.1", &[])), Some(0));
    assert_eq!(find(host("gamma", &[])), None);
    assert_eq!(find(host("198.18.0.2", &[("beta-ring", "198.18.0.2")])), Some(1));
    assert_eq!(
        find(host(
            "myhost",
            &[("myhost", "198.18.0.2"), ("beta-ring", "198.18.0.2")]
        )),
        Some(1)
    );
}

#[test]
fn host_dependent_checks_run_only_when_asked() {
    let text = "totem {\n    version: 2\n    secauth: on\n}\nnodelist {\n    node {\n        nodeid: 1\n        ring0_addr: 198.18.0.5\n    }\n}\n";
    assert!(check(text, Some(HostFacts::default())).is_empty());
    let facts = HostFacts {
        local_node: Some("198.18.0.1".to_string()),
        authkey: Some(AuthkeyFacts {
            path: "/etc/corosync/authkey".to_string(),
            len: None,
            os_error: Some("Permission denied".to_string()),
        }),
        hosts: None,
    };
    let diagnostics = check(text, Some(facts));
    assert_eq!(codes(&diagnostics), vec!["E113", "E126"]);
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("corosync -t: Could not open /etc/corosync/authkey: Permission denied")
    );
}

#[test]
fn hostnames_resolve_only_through_the_hosts_map_when_one_is_given() {
    let local = host("198.18.0.1", &[]);
    assert!(check(TWO_NODES, Some(local)).is_empty());
    let diagnostics = check(TWO_NODES, Some(host("198.18.0.1", &[("other", "198.18.0.9")])));
    assert_eq!(codes(&diagnostics), vec!["E124"]);
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("corosync -t: failed to parse node address 'beta-ring'")
    );
    let diagnostics = check(TWO_NODES, Some(host("198.18.0.1", &[("beta-ring", "fd00::2")])));
    assert_eq!(codes(&diagnostics), vec!["E135"]);
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let text = "totem {\n    version: 3\n    transport: udpu\n    link_mode: x\n    token: 10\n    token_coefficient: 0\n}\nnodelist {\n    node {\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n        ring1_addr: 198.18.1.1\n    }\n    node {\n        nodeid: 1\n        ring0_addr: 198.18.0.2\n        ring1_addr: 198.18.1.2\n    }\n}\nquorum {\n    provider: corosync_votequorum\n    two_node: 1\n    device {\n        model: net\n    }\n}\n";
    let diagnostics = check(text, Some(host("198.18.0.1", &[])));
    let mut found = codes(&diagnostics);
    found.sort_unstable();
    found.dedup();
    assert_eq!(
        found,
        vec!["E131", "E132", "E133", "E136", "E137", "E138", "E202"]
    );
    // Startup refusals come after everything corosync -t refuses.
    assert_eq!(diagnostics.last().map(|d| d.code), Some("E202"));
}

#[test]
fn atb_odd_rule_disables_atb_before_the_device_check() {
    // ATB on an odd vote sum without WFA is switched off (a CRIT log), so it no longer
    // conflicts with the quorum device.
    let text = "totem {\n    version: 2\n}\nnodelist {\n    node {\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n    }\n    node {\n        nodeid: 2\n        ring0_addr: 198.18.0.2\n    }\n    node {\n        nodeid: 3\n        ring0_addr: 198.18.0.3\n    }\n}\nquorum {\n    provider: corosync_votequorum\n    auto_tie_breaker: 1\n    device {\n        model: net\n    }\n}\n";
    assert!(check(text, Some(HostFacts::default())).is_empty());
    let with_wfa = text.replace(
        "auto_tie_breaker: 1\n",
        "auto_tie_breaker: 1\n    wait_for_all: 1\n",
    );
    assert_eq!(codes(&check(&with_wfa, Some(HostFacts::default()))), vec!["E205"]);
}

#[test]
fn udp_nodeids_generated_from_addresses_can_collide() {
    let text = "totem {\n    version: 2\n    transport: udpu\n}\nnodelist {\n    node {\n        ring0_addr: 198.18.0.1\n    }\n    node {\n        nodeid: 3323068417\n        ring0_addr: 198.18.0.2\n    }\n}\n";
    let diagnostics = check(text, Some(HostFacts::default()));
    assert_eq!(codes(&diagnostics), vec!["E136"]);
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("corosync -t: Nodeid 3323068417 appears twice in corosync.conf")
    );
    assert_eq!(diagnostics[0].labels.len(), 1);
}

#[test]
fn numeric_hosts_parse_like_getaddrinfo() {
    let parse = |text: &str| local::parse_numeric(text).map(|address| address.to_string());
    assert_eq!(parse("198.18.0.2").as_deref(), Some("198.18.0.2"));
    assert_eq!(parse("3323068418").as_deref(), Some("198.18.0.2"));
    assert_eq!(parse("198.18.2").as_deref(), Some("198.18.0.2"));
    assert_eq!(parse("0xc6.18.0.2").as_deref(), Some("198.18.0.2"));
    assert_eq!(parse("0306.18.0.2").as_deref(), Some("198.18.0.2"));
    assert_eq!(parse("fe80::1%lo").as_deref(), Some("fe80::1"));
    assert_eq!(parse("198.18.0.770"), None);
    assert_eq!(parse("1.2.3.4.5"), None);
    assert_eq!(parse("node1"), None);
    assert_eq!(
        local::resolve("198.18.0.770", None),
        local::Resolution::Unresolvable
    );
    assert_eq!(local::resolve("node1", None), local::Resolution::Assumed);
    assert_eq!(
        local::resolve("node3.invalid", None),
        local::Resolution::Unresolvable
    );
}

#[test]
fn without_name_or_ring0_at_position_0_corosync_ignores_the_nodelist() {
    // Verified with corosync -t: "No valid name found for local host" on any host, and the
    // last node (icmap order) still lends its ring addresses as bind addresses.
    let text = "totem {\n    version: 2\n}\nnodelist {\n    node {\n        nodeid: 1\n    }\n    node {\n        nodeid: 2\n        ring0_addr: 198.18.0.2\n        ring9_addr: 198.18.9.2\n    }\n}\n";
    let diagnostics = check(text, Some(HostFacts::default()));
    assert_eq!(codes(&diagnostics), vec!["E126", "E117"]);
}

#[test]
fn an_unfound_local_node_falls_back_to_the_last_node() {
    // corosync 3.1.7 uses the last node it looked at as "local" for the nodeid check.
    let text = "totem {\n    version: 2\n}\nnodelist {\n    node {\n        nodeid: 1\n        ring0_addr: 198.18.0.5\n    }\n    node {\n        ring0_addr: 198.18.0.6\n    }\n}\n";
    let diagnostics = check(text, Some(host("198.18.0.1", &[])));
    assert_eq!(codes(&diagnostics), vec!["E126", "E120"]);
    let diagnostics = check(text, Some(HostFacts::default()));
    assert_eq!(codes(&diagnostics), vec!["E121"]);
}

#[test]
fn duplicate_nodeids_follow_icmap_string_order() {
    // Verified with corosync -t: with 12 nodes a duplicate between positions 4 and 10 is not
    // noticed (position 10 is compared only with 0 and 1), one between 1 and 11 is.
    let cluster = |duplicate: (u32, u32)| {
        let mut text = String::from("totem {\n    version: 2\n}\nnodelist {\n");
        for position in 0..12u32 {
            let nodeid = if position == duplicate.1 {
                duplicate.0 + 1
            } else {
                position + 1
            };
            text.push_str(&format!(
                "    node {{\n        name: n{position}\n        nodeid: {nodeid}\n        ring0_addr: 198.18.0.{}\n    }}\n",
                position + 1
            ));
        }
        text + "}\n"
    };
    assert!(check(&cluster((4, 10)), Some(HostFacts::default())).is_empty());
    assert_eq!(
        codes(&check(&cluster((1, 11)), Some(HostFacts::default()))),
        vec!["E136"]
    );
    assert_eq!(
        codes(&check(&cluster((0, 5)), Some(HostFacts::default()))),
        vec!["E136"]
    );
}

#[test]
fn votequorum_counts_nodes_without_ring_addresses() {
    // Verified by starting corosync 3.1.7: a node with only a name and quorum_votes counts
    // for expected votes, so it makes the vote sum odd and the votes unequal.
    let text = "totem {\n    version: 2\n}\nnodelist {\n    node {\n        name: n1\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n    }\n    node {\n        name: n2\n        nodeid: 2\n        ring0_addr: 198.18.0.2\n    }\n    node {\n        name: n3\n        quorum_votes: 2\n    }\n}\nquorum {\n    provider: corosync_votequorum\n    device {\n        model: net\n    }\n}\n";
    assert_eq!(codes(&check(text, Some(HostFacts::default()))), vec!["E208"]);
    let atb = text.replace("        quorum_votes: 2\n", "").replace(
        "    device {\n        model: net\n    }\n",
        "    auto_tie_breaker: 1\n    last_man_standing: 1\n",
    );
    assert_eq!(codes(&check(&atb, Some(HostFacts::default()))), vec!["E203"]);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Lines that reach deep into the checks: sections, typed keys, addresses, odd numbers.
    fn line() -> impl Strategy<Value = String> {
        let keys = prop::sample::select(vec![
            "version",
            "transport",
            "nodeid",
            "ring0_addr",
            "ring1_addr",
            "ring9_addr",
            "name",
            "quorum_votes",
            "linknumber",
            "mcastaddr",
            "bindnetaddr",
            "mcastport",
            "ttl",
            "knet_link_priority",
            "knet_pong_count",
            "knet_ping_interval",
            "token",
            "token_coefficient",
            "consensus",
            "join",
            "hold",
            "token_retransmit",
            "token_retransmits_before_loss_const",
            "ip_version",
            "crypto_cipher",
            "crypto_hash",
            "secauth",
            "keyfile",
            "key",
            "link_mode",
            "two_node",
            "expected_votes",
            "model",
            "votes",
            "auto_tie_breaker",
            "auto_tie_breaker_node",
            "last_man_standing",
            "wait_for_all",
            "provider",
            "subsys",
            "debug",
            "uid",
            "config_version",
            "clear_node_high_bit",
            "broadcast",
        ]);
        let values = prop::sample::select(vec![
            "0",
            "1",
            "2",
            "3",
            "7",
            "8",
            "255",
            "65535",
            "65536",
            "4294967295",
            "-1",
            "x",
            "",
            "yes",
            "on",
            "knet",
            "udp",
            "udpu",
            "ipv4",
            "ipv6",
            "198.18.0.1",
            "198.18.0.2",
            "fd00::1",
            "239.192.0.1",
            "host.invalid",
            "3323068418",
            "aes256",
            "sha1",
            "none",
            "net",
            "lowest",
            "1 2",
            "corosync_votequorum",
        ]);
        let sections = prop::sample::select(vec![
            "totem {",
            "interface {",
            "nodelist {",
            "node {",
            "quorum {",
            "device {",
            "net {",
            "logging {",
            "logger_subsys {",
            "uidgid {",
            "member {",
            "system {",
            "resources {",
            "}",
            "}",
        ]);
        prop_oneof![
            (keys, values).prop_map(|(key, value)| format!("{key}: {value}")),
            sections.prop_map(str::to_string),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn validate_never_panics(lines in prop::collection::vec(line(), 0..60), local in prop::option::of(prop::sample::select(vec!["198.18.0.1", "node1", "fd00::1"]))) {
            let text = lines.join("\n");
            let facts = HostFacts {
                local_node: local.map(str::to_string),
                authkey: Some(AuthkeyFacts { path: "/k".to_string(), len: Some(3), os_error: None }),
                hosts: Some(BTreeMap::from([("node1".to_string(), "198.18.0.1".parse().unwrap())])),
            };
            let diagnostics = check(&text, Some(facts));
            for diagnostic in diagnostics {
                prop_assert_eq!(diagnostic.severity, Severity::Error);
                prop_assert!(diagnostic.rejected_by.is_some());
            }
            let (document, _) = parse(&text);
            let (config, _) = Config::from_document(&document);
            let _ = config.quorum_settings();
        }
    }
}

#[test]
fn local_node_by_hostname_matches_corosync() {
    // Verified with `unshare -u` (hostname) + corosync -t: the hostname, or its first labels,
    // names the local node even when its address is not on the host.
    let base = std::fs::read_to_string(test_data_dir().join("E131-unsupported-totem-version.conf")).unwrap();
    let text = base
        .replace("version: 3", "version: 2")
        .replace("ring0_addr: 198.18.0.1", "ring0_addr: 198.18.0.77")
        .replace(
            "        name: node2\n        nodeid: 2\n",
            "        name: node2\n",
        );
    let with_local = |local: &str| {
        let (document, _) = parse(&text);
        let (config, _) = Config::from_document(&document);
        let mut facts = lab_host(&config);
        facts.local_node = Some(local.to_string());
        codes(&validate(&document, &config, &facts))
    };
    assert_eq!(with_local("node2"), vec!["E120"]);
    assert_eq!(with_local("node2.x"), vec!["E120"]);
    assert_eq!(with_local("node1"), vec!["E121"]);
}

/// A two-node file whose node 2 has `ring0_addr: {address}` (node 1 is the lab's local node).
fn with_node_two_address(address: &str) -> String {
    format!(
        "totem {{\n\tversion: 2\n\tcluster_name: parity\n}}\nnodelist {{\n\tnode {{\n\t\tring0_addr: 198.18.0.1\n\t\tnodeid: 1\n\t}}\n\tnode {{\n\t\tring0_addr: {address}\n\t\tnodeid: 2\n\t}}\n}}\n"
    )
}

/// Every non-literal form that `corosync -t` 3.1.7 refused without a hosts entry (measured in
/// a namespace with `hosts: files`; see `local::host_name_problem`) is an E124 error at the
/// value, quoting corosync's message; host names DNS can hold stay accepted.
/// See: issue 10 item 1.
#[test]
fn issue10_addresses_corosync_refuses_are_errors_at_their_line() {
    let refused = [
        "10.10.0.13:5405",
        "[fd00::13]",
        "[198.18.0.2]",
        "[fd00::13]:5405",
        "node2:5405",
        "198.18.0.2/24",
        "fd00::13/64",
        "198.18.0.2%lo",
        "a..b",
        ".node2",
        "node2..",
        "1.2.3.256",
        "999.1.1.1",
        "1.2.3.4.5",
        "node2.invalid",
        "nöde2",
        "node*2",
        "node2,node3",
        "\"node2\"",
        "node 2",
        &"a".repeat(64),
    ];
    for address in refused {
        let text = with_node_two_address(address);
        let diagnostics = check(&text, None);
        let error = diagnostics
            .iter()
            .find(|diagnostic| diagnostic.code == "E124")
            .unwrap_or_else(|| panic!("{address:?}: no E124 in {:?}", codes(&diagnostics)));
        assert_eq!(error.severity, Severity::Error, "{address}");
        assert_eq!(error.rejected_by, Some(RejectedBy::CorosyncT), "{address}");
        let help = error.help.as_deref().unwrap_or("");
        assert!(
            help.contains(&format!("failed to parse node address '{address}'")),
            "{address}: {help}"
        );
        let span = error.span.expect("span");
        assert_eq!(
            &text[span.start..span.end],
            address,
            "the value is the primary span"
        );
        assert!(
            !error.message.contains("hosts map"),
            "{address}: {}",
            error.message
        );
    }
    // Accepted by corosync -t with a hosts entry, and names DNS can hold: assumed to resolve.
    let accepted = [
        "node2",
        "NODE2",
        "node2.",
        "node2.example.com.",
        "node_2",
        "-node2",
        "node2-",
        &"a".repeat(63),
    ];
    for address in accepted {
        let diagnostics = check(&with_node_two_address(address), None);
        assert!(
            !codes(&diagnostics).contains(&"E124"),
            "{address}: {diagnostics:?}"
        );
    }
    // Literals corosync -t accepted without a hosts entry (inet_aton forms, IPv4-mapped IPv6
    // is IPv6 and mixes families, which is another error).
    for address in [
        "1.2.3",
        "010.1.1.1",
        "0x0a.0.0.1",
        "198.18.0.02",
        "0xc6120002",
        "3323068418",
    ] {
        assert_eq!(
            check(&with_node_two_address(address), None),
            Vec::new(),
            "{address}"
        );
    }
    let mapped = check(&with_node_two_address("::ffff:198.18.0.2"), None);
    assert!(!codes(&mapped).contains(&"E124"), "{mapped:?}");
    assert!(!mapped.is_empty(), "mixed families must be refused: {mapped:?}");
    // A hosts map stands in for /etc/hosts exactly, as glibc's files backend does.
    let hosts = BTreeMap::from([("node2:5405".to_string(), "198.18.0.2".parse().unwrap())]);
    let host = HostFacts {
        local_node: Some("198.18.0.1".to_string()),
        authkey: None,
        hosts: Some(hosts),
    };
    assert_eq!(
        check(&with_node_two_address("node2:5405"), Some(host)),
        Vec::new()
    );
}

/// A file without a nodelist (or with an empty one) is told so, not that "the node at
/// position 0" lacks a name. See: issue 10 item 7.
#[test]
fn issue10_missing_nodelist_is_named_as_such() {
    let message_of = |text: &str| {
        check(text, None)
            .into_iter()
            .find(|diagnostic| diagnostic.code == checks::LOCAL_NODE_NOT_FOUND.code)
            .map(|diagnostic| diagnostic.message)
            .unwrap_or_default()
    };
    let totem = "totem {\n\tversion: 2\n\tcluster_name: c\n\tinterface {\n\t\tlinknumber: 0\n\t\tbindnetaddr: 198.18.0.0\n\t}\n}\n";
    assert_eq!(
        message_of(totem),
        "there is no nodelist, so corosync cannot find the local node"
    );
    assert_eq!(
        message_of(&format!("{totem}nodelist {{\n}}\n")),
        "the nodelist has no node, so corosync cannot find the local node"
    );
    assert!(message_of(&format!(
        "{totem}nodelist {{\n\tnode {{\n\t\tnodeid: 1\n\t}}\n}}\n"
    ))
    .starts_with("the node at position 0 has neither name nor ring0_addr"));
}

/// The key file the user gave is the one named, with corosync's path beside it.
/// See: issue 10 item 7.
#[test]
fn issue10_authkey_message_names_the_examined_file() {
    let text = "totem {\n\tversion: 2\n\tcluster_name: c\n\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n}\nnodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 198.18.0.1\n\t}\n}\n";
    let host = |len: Option<u64>| HostFacts {
        local_node: Some("198.18.0.1".to_string()),
        authkey: Some(AuthkeyFacts {
            path: "/tmp/copy-of-authkey".to_string(),
            len,
            os_error: len.is_none().then(|| "No such file or directory".to_string()),
        }),
        hosts: None,
    };
    for len in [None, Some(10)] {
        let diagnostics = check(text, Some(host(len)));
        let finding = diagnostics
            .iter()
            .find(|diagnostic| diagnostic.message.contains("key file"))
            .unwrap_or_else(|| panic!("{diagnostics:?}"));
        assert!(
            finding
                .message
                .contains("/tmp/copy-of-authkey (examined for corosync's /etc/corosync/authkey)"),
            "{}",
            finding.message
        );
        assert!(
            finding
                .help
                .as_deref()
                .unwrap_or("")
                .contains("/etc/corosync/authkey"),
            "corosync's own message names its path"
        );
    }
}

/// The E124 message names the mistake in the form the user wrote. See: issue 10 item 1.
#[test]
fn issue10_address_messages_name_the_mistake() {
    let message_of = |address: &str| {
        check(&with_node_two_address(address), None)
            .into_iter()
            .find(|diagnostic| diagnostic.code == "E124")
            .map(|diagnostic| diagnostic.message)
            .unwrap_or_default()
    };
    let port = message_of("10.10.0.13:5405");
    assert!(port.contains("`:5405` is a port; write `10.10.0.13`"), "{port}");
    let brackets = message_of("[fd00::13]");
    assert!(
        brackets.contains("brackets are URL syntax; write the bare address `fd00::13`"),
        "{brackets}"
    );
    assert!(!brackets.contains("port"), "{brackets}");
    assert!(message_of("[fd00::13]:5405").contains("brackets and a port"));
    assert!(message_of("198.18.0.2/24").contains("`/24` is a prefix length"));
    assert!(message_of("a..b").contains("empty label"));
    assert!(message_of(&"a".repeat(64)).contains("64 characters, DNS allows at most 63"));
    assert!(message_of("node 2").contains("not even /etc/hosts"));
    assert!(message_of("").contains("is empty"));
}
