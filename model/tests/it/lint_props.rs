//! Property tests: the parser prints back any text byte for byte, and `lint` never panics,
//! neither on arbitrary bytes nor on random corosync-like configurations, and every span it
//! reports lies inside the text on character boundaries. It must not hold rule logic.

use proptest::prelude::*;

use model::config::Config;
use model::lint::{self, LintOptions};

fn lint_text(text: &str, proxmox: bool) -> usize {
    let (document, _) = model::syntax::parse(text);
    let (config, _) = Config::from_document(&document);
    let options = LintOptions {
        proxmox: Some(proxmox),
        ..LintOptions::default()
    };
    let diagnostics = lint::lint(&document, &config, &options);
    for diagnostic in &diagnostics {
        let spans = diagnostic
            .span
            .into_iter()
            .chain(diagnostic.labels.iter().map(|label| label.span));
        for span in spans {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{} span {span:?} outside the text of {} bytes",
                diagnostic.code,
                text.len()
            );
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{} span {span:?} splits a character",
                diagnostic.code
            );
        }
        assert!(
            !diagnostic.message.ends_with('.'),
            "{} message ends with a period",
            diagnostic.code
        );
    }
    diagnostics.len()
}

/// Section names, known and not.
fn section_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("totem"),
        Just("interface"),
        Just("nodelist"),
        Just("node"),
        Just("quorum"),
        Just("device"),
        Just("net"),
        Just("heuristics"),
        Just("logging"),
        Just("logger_subsys"),
        Just("member"),
        Just("amf"),
        Just("system"),
        Just("resources"),
    ]
    .prop_map(str::to_string)
}

/// Keys corosync reads (and a few it does not).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("version"),
        Just("token"),
        Just("token_coefficient"),
        Just("consensus"),
        Just("transport"),
        Just("link_mode"),
        Just("config_version"),
        Just("cluster_name"),
        Just("linknumber"),
        Just("ringnumber"),
        Just("bindnetaddr"),
        Just("mcastaddr"),
        Just("knet_ping_interval"),
        Just("knet_ping_timeout"),
        Just("knet_pong_count"),
        Just("nodeid"),
        Just("name"),
        Just("quorum_votes"),
        Just("ring0_addr"),
        Just("ring1_addr"),
        Just("ring7_addr"),
        Just("ring9_addr"),
        Just("provider"),
        Just("expected_votes"),
        Just("two_node"),
        Just("wait_for_all"),
        Just("last_man_standing"),
        Just("auto_tie_breaker"),
        Just("auto_tie_breaker_node"),
        Just("model"),
        Just("votes"),
        Just("algorithm"),
        Just("tie_breaker"),
        Just("exec_ping"),
        Just("secauth"),
        Just("crypto_cipher"),
        Just("crypto_hash"),
        Just("tokken"),
    ]
    .prop_map(str::to_string)
}

/// Values: numbers at the edges, words, lists, inline comments, addresses.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10).prop_map(|number| number.to_string()),
        any::<u32>().prop_map(|number| number.to_string()),
        Just("4294967296".to_string()),
        Just("-1".to_string()),
        Just("255".to_string()),
        Just("65536".to_string()),
        Just("corosync_votequorum".to_string()),
        Just("knet".to_string()),
        Just("udpu".to_string()),
        Just("udp".to_string()),
        Just("ffsplit".to_string()),
        Just("lms".to_string()),
        Just("lowest".to_string()),
        Just("1 3".to_string()),
        Just("1,3".to_string()),
        Just("0 1".to_string()),
        Just("3000 # ms".to_string()),
        Just("net".to_string()),
        Just("on".to_string()),
        Just(String::new()),
        (1u8..6).prop_map(|host| format!("10.0.0.{host}")),
        Just("fe80::1".to_string()),
        "[a-z0-9 #:{}]{0,12}",
    ]
}

/// One line of a random configuration.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(key, value)| format!("  {key}: {value}\n")),
        2 => section_name().prop_map(|name| format!("{name} {{\n")),
        2 => Just("}\n".to_string()),
        1 => Just("# comment\n".to_string()),
        1 => Just("\n".to_string()),
        1 => "[ -~]{0,20}\n",
    ]
}

/// A random configuration: mostly well-formed nesting with random damage.
fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..60).prop_map(|lines| lines.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_parse_round_trips(text in "(?s).{0,400}") {
        let (document, _) = model::syntax::parse(&text);
        prop_assert_eq!(document.to_text(), text);
    }

    #[test]
    fn lint_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), proxmox in any::<bool>()) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = lint_text(&text, proxmox);
    }

    #[test]
    fn lint_never_panics_on_corosync_like_configs(text in config_text(), proxmox in any::<bool>()) {
        let (document, _) = model::syntax::parse(&text);
        prop_assert_eq!(document.to_text(), text.clone());
        let _ = lint_text(&text, proxmox);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Well-formed clusters: nodes with addresses, a quorum section with random options.
    #[test]
    fn lint_never_panics_on_well_formed_clusters(
        nodes in prop::collection::vec((1u32..70000, 0u32..300, prop::collection::vec(0u8..9, 0..4)), 0..8),
        options in prop::collection::vec((key(), value()), 0..8),
        proxmox in any::<bool>(),
    ) {
        let mut text = String::from("totem {\n  version: 2\n}\nnodelist {\n");
        for (nodeid, votes, links) in &nodes {
            text.push_str(&format!("  node {{\n    nodeid: {nodeid}\n    quorum_votes: {votes}\n"));
            for link in links {
                text.push_str(&format!("    ring{link}_addr: 10.{link}.0.{}\n", nodeid % 250));
            }
            text.push_str("  }\n");
        }
        text.push_str("}\nquorum {\n  provider: corosync_votequorum\n");
        for (key, value) in &options {
            text.push_str(&format!("  {key}: {value}\n"));
        }
        text.push_str("  device {\n    model: net\n  }\n}\n");
        let _ = lint_text(&text, proxmox);
    }
}
