//! Tests of the typed configuration: reading rules, cmap quirks and effective values.

use super::*;
use crate::syntax::parse;

/// Parses `text` and reads the typed configuration.
fn check(text: &str) -> (Config, Vec<Diagnostic>) {
    let (document, _) = parse(text);
    Config::from_document(&document)
}

fn cluster(nodes: u32, totem_extra: &str) -> String {
    let mut text = format!("totem {{\n    version: 2\n    cluster_name: t\n{totem_extra}}}\nnodelist {{\n");
    for nodeid in 1..=nodes {
        text.push_str(&format!(
            "    node {{\n        name: n{nodeid}\n        nodeid: {nodeid}\n        ring0_addr: 198.18.{}.{}\n    }}\n",
            nodeid / 200,
            nodeid % 200 + 1
        ));
    }
    text.push_str("}\nquorum {\n    provider: corosync_votequorum\n}\n");
    text
}

#[test]
fn effective_timing_matches_the_reference_table() {
    // Spec 3.4, every row also read back from a running corosync 3.1.7: (nodes, coefficient, token, retransmit, hold, consensus, ping timeout, interval).
    type Row = (u32, Option<u32>, u32, u32, u32, u32, u32, u32);
    let table: &[Row] = &[
        (2, None, 3000, 714, 561, 3600, 1500, 750),
        (3, None, 3650, 869, 685, 4380, 1825, 912),
        (4, None, 4300, 1023, 808, 5160, 2150, 1075),
        (5, None, 4950, 1178, 932, 5940, 2475, 1237),
        (8, None, 6900, 1642, 1303, 8280, 3450, 1725),
        (16, None, 12100, 2880, 2294, 14520, 6050, 3025),
        (32, None, 22500, 5357, 4275, 27000, 11250, 5625),
        (32, Some(125), 6750, 1607, 1275, 8100, 3375, 1687),
    ];
    for &(nodes, coefficient, token, retransmit, hold, consensus, ping_timeout, ping_interval) in table {
        let extra = coefficient.map_or(String::new(), |c| format!("    token_coefficient: {c}\n"));
        let (config, diagnostics) = check(&cluster(nodes, &extra));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let effective = &config.effective;
        let row = (
            effective.token,
            effective.token_retransmit,
            effective.hold,
            effective.consensus,
            effective.links[0].knet_ping_timeout,
            effective.links[0].knet_ping_interval,
        );
        assert_eq!(
            row,
            (token, retransmit, hold, consensus, ping_timeout, ping_interval),
            "{nodes} nodes"
        );
        assert_eq!(effective.token + effective.consensus, token + consensus);
    }
}

#[test]
fn effective_timing_matches_the_real_daemon_in_odd_cases() {
    // Read back from a running corosync 3.1.7 (`corosync-cmapctl -b runtime.config`).
    let cases: &[(u32, &str, [u32; 6])] = &[
        (
            3,
            "    token: 1000\n    token_retransmits_before_loss_const: 10\n    interface {\n        linknumber: 0\n        knet_pong_count: 5\n    }\n",
            [1650, 161, 118, 1980, 330, 165],
        ),
        // uint32 wrap-around: 4294967295 + 650.
        (3, "    token: 4294967295\n", [649, 154, 113, 778, 324, 162]),
        (6, "    token_coefficient: 0\n    consensus: 9000\n", [3000, 714, 561, 9000, 1500, 750]),
    ];
    for (nodes, extra, expected) in cases {
        let (config, diagnostics) = check(&cluster(*nodes, extra));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let effective = &config.effective;
        let link = &effective.links[0];
        assert_eq!(
            [
                effective.token,
                effective.token_retransmit,
                effective.hold,
                effective.consensus,
                link.knet_ping_timeout,
                link.knet_ping_interval
            ],
            *expected,
            "{extra}"
        );
    }
}

#[test]
fn defaults_of_an_empty_config() {
    let (config, _) = check("");
    let effective = &config.effective;
    assert_eq!(effective.transport, Transport::Knet);
    assert_eq!(effective.ip_version, IpVersion::Ipv6Then4);
    assert_eq!(
        (
            effective.join,
            effective.merge,
            effective.downcheck,
            effective.max_network_delay
        ),
        (50, 200, 1000, 50)
    );
    assert_eq!(
        (
            effective.token_warning,
            effective.fail_recv_const,
            effective.seqno_unchanged_const
        ),
        (75, 2500, 30)
    );
    assert_eq!(
        (effective.window_size, effective.max_messages, effective.netmtu),
        (50, 17, 65536)
    );
    assert_eq!(effective.link_mode, "passive");
    assert!(!effective.crypto_enabled);
    assert_eq!(Effective::default(), config.effective);
}

#[test]
fn netmtu_and_ip_version_follow_the_transport() {
    let (config, _) = check("totem {\n    transport: udp\n}\n");
    assert_eq!(config.effective.netmtu, 1500);
    assert_eq!(config.effective.ip_version, IpVersion::Ipv4);
    let (config, _) = check("totem {\n    transport: udpu\n    netmtu: 9000\n}\n");
    assert_eq!(config.effective.netmtu, 9000);
    assert_eq!(config.effective.ip_version, IpVersion::Ipv6Then4);
}

#[test]
fn explicit_zero_means_default_except_where_corosync_allows_zero() {
    let (config, _) = check(&cluster(
        3,
        "    token: 0\n    token_warning: 0\n    token_coefficient: 0\n",
    ));
    assert_eq!(config.effective.token, 3000);
    assert_eq!(config.effective.token_warning, 0);
    assert_eq!(config.effective.token_coefficient, 0);
}

#[test]
fn the_coefficient_counts_only_nodes_with_ring0_addr() {
    let text = cluster(3, "").replace("ring0_addr: 198.18.0.3", "ring1_addr: 198.18.0.3");
    let (config, _) = check(&text);
    assert_eq!(config.effective.ring0_node_count, 2);
    assert_eq!(config.effective.token, 3000);
}

#[test]
fn explicit_ping_timers_and_pong_count() {
    let text = cluster(2, "    interface {\n        linknumber: 0\n        knet_pong_count: 5\n        knet_ping_interval: 100\n    }\n");
    let (config, _) = check(&text);
    let link = &config.effective.links[0];
    assert_eq!(
        (
            link.knet_pong_count,
            link.knet_ping_timeout,
            link.knet_ping_interval
        ),
        (5, 600, 100)
    );
    assert_eq!((link.mcastport, link.ttl, link.knet_link_priority), (5405, 1, 1));
}

#[test]
fn config_version_minus_one_wraps() {
    let (config, diagnostics) = check("totem {\n    config_version: -1\n}\n");
    assert!(diagnostics.is_empty());
    assert_eq!(config.totem.config_version.map(|v| v.value), Some(u64::MAX));
    let (config, diagnostics) = check("totem {\n    config_version: 18446744073709551616\n}\n");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, "E102");
    assert!(config.totem.config_version.is_none());
}

#[test]
fn a_second_nodelist_overwrites_the_first_nodes() {
    let text = "nodelist {\n    node {\n        name: a\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n    }\n    node {\n        name: b\n        nodeid: 2\n        ring0_addr: 198.18.0.2\n    }\n}\nnodelist {\n    node {\n        name: c\n        nodeid: 3\n        ring0_addr: 198.18.0.3\n    }\n}\n";
    let (config, _) = check(text);
    let seen: Vec<_> = config
        .nodelist
        .nodes
        .iter()
        .map(|n| (n.index, n.display_name().unwrap_or("")))
        .collect();
    assert_eq!(seen, vec![(0, "c"), (1, "b")]);
    assert_eq!(config.nodelist.nodes[0].sections.len(), 2);
    let written: Vec<_> = config
        .nodelist
        .written
        .iter()
        .map(|n| (n.index, n.display_name().unwrap_or("")))
        .collect();
    assert_eq!(written, vec![(0, "a"), (1, "b"), (0, "c")]);
    assert_eq!(config.nodelist.section_count, 2);
}

#[test]
fn a_subsection_inside_a_node_advances_the_node_number() {
    let text = "nodelist {\n    node {\n        nodeid: 1\n        extra {\n            name: x\n        }\n    }\n    node {\n        nodeid: 2\n    }\n}\n";
    let (config, _) = check(text);
    let seen: Vec<_> = config.nodelist.nodes.iter().map(|n| n.index).collect();
    assert_eq!(seen, vec![0, 2]);
    assert_eq!(
        config.nodelist.nodes[0].name.as_ref().map(|n| n.value.as_str()),
        Some("x")
    );
}

#[test]
fn interface_keys_move_under_their_link_and_ringnumber_is_ignored() {
    let text = "totem {\n    interface {\n        ringnumber: 3\n        mcastport: 6000\n    }\n    interface {\n        linknumber: 1\n        knet_link_priority: 7\n    }\n    interface {\n        linknumber: 9\n    }\n}\n";
    let (config, diagnostics) = check(text);
    assert!(diagnostics.is_empty());
    assert_eq!(config.interfaces.keys().copied().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(
        config.interfaces[&0].mcastport.as_ref().map(|p| p.value),
        Some(6000)
    );
    assert_eq!(
        config.interfaces[&1].knet_link_priority.as_ref().map(|p| p.value),
        Some(7)
    );
    assert!(config.cmap.get("totem.interface.ringnumber").is_some());
    assert!(!config.interface_sections[2].stores_keys);
}

#[test]
fn typed_values_refused_by_the_parser_are_reported_and_dropped() {
    let text = "quorum {\n    two_node: yes\n}\nnodelist {\n    node {\n        nodeid: -1\n    }\n}\n";
    let (config, diagnostics) = check(text);
    let helps: Vec<_> = diagnostics
        .iter()
        .map(|d| d.help.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        helps,
        vec![
            "corosync -t: parser error: <file>:2: Value of key \"quorum.two_node\" is expected to be integer in range (0..255), but \"yes\" was given",
            "corosync -t: parser error: <file>:6: Value of key \"nodelist.node.0.nodeid\" is expected to be integer in range (0..4294967295), but \"-1\" was given",
        ]
    );
    assert!(config.quorum.two_node.is_none());
}

#[test]
fn secauth_on_enables_aes256_and_sha256() {
    let (config, _) = check("totem {\n    secauth: on\n}\n");
    assert_eq!(
        (
            config.effective.crypto_cipher.as_str(),
            config.effective.crypto_hash.as_str()
        ),
        ("aes256", "sha256")
    );
    assert_eq!(config.authkey_path().as_deref(), Some(DEFAULT_AUTHKEY_PATH));
    let (config, _) = check("totem {\n    secauth: on\n    key: abc\n}\n");
    assert_eq!(config.authkey_path(), None);
    assert_eq!(config.totem.key_len.as_ref().map(|k| k.value), Some(4));
}

#[test]
fn quorum_settings_generate_udpu_nodeids_from_ipv4() {
    let text = "totem {\n    transport: udpu\n    clear_node_high_bit: yes\n}\nnodelist {\n    node {\n        ring0_addr: 198.18.0.2\n    }\n    node {\n        ring0_addr: 10.0.0.1\n        quorum_votes: 3\n    }\n}\nquorum {\n    provider: corosync_votequorum\n    auto_tie_breaker: 1\n    auto_tie_breaker_node: 3 1,2\n}\n";
    let (config, _) = check(text);
    let settings = config.quorum_settings();
    assert_eq!(settings.nodes[0].nodeid, 0xC612_0002 & 0x7FFF_FFFF);
    assert_eq!(settings.nodes[1].nodeid, 0x0A00_0001);
    assert_eq!(settings.nodes[1].votes, 3);
    assert_eq!(settings.nodes[1].name, "10.0.0.1");
    assert_eq!(settings.transport, Transport::Udpu);
    assert_eq!(settings.provider, Provider::Votequorum);
    assert!(settings.auto_tie_breaker);
    assert_eq!(settings.auto_tie_breaker_node, Some(TieBreaker::List(vec![3, 1])));
}

#[test]
fn atb_strings_parse_like_votequorum() {
    assert_eq!(parse_atb_string("lowest"), TieBreaker::Lowest);
    assert_eq!(parse_atb_string("highest"), TieBreaker::Highest);
    assert_eq!(parse_atb_string("1 x 3"), TieBreaker::List(vec![1]));
    assert_eq!(parse_atb_string("2 0 3"), TieBreaker::List(vec![2]));
    assert_eq!(parse_atb_string("0 1"), TieBreaker::Invalid);
    assert_eq!(parse_atb_string("low"), TieBreaker::Invalid);
}

#[test]
fn logging_values_are_checked_like_logconfig() {
    let text = "logging {\n    to_syslog: maybe\n    syslog_priority: INFO\n    syslog_facility: DAEMON\n    logger_subsys {\n        subsys: QUORUM\n        debug: x\n        blackbox: x\n    }\n}\n";
    let (config, diagnostics) = check(text);
    let helps: Vec<_> = diagnostics
        .iter()
        .map(|d| d.help.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        helps,
        vec![
            "corosync -t: parse error in config: unknown value for to_syslog.",
            "corosync -t: parse error in config: unknown syslog facility specified.",
            "corosync -t: parse error in config: unknown value for debug.",
        ]
    );
    assert!(config.logging.logger_subsys.contains_key("QUORUM"));
}

#[test]
fn config_serializes_to_json_without_secrets() {
    let (config, _) = check(&cluster(3, "    key: 0123456789abcdef\n"));
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["effective"]["token"], 3650);
    assert_eq!(
        json["nodelist"]["nodes"][2]["ring_addrs"]["0"]["value"],
        "198.18.0.4"
    );
    assert_eq!(json["totem"]["key_len"]["text"], "<redacted>");
    assert!(!json.to_string().contains("0123456789abcdef"));
}
