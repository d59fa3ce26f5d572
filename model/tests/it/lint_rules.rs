//! Inline tests of lint rule findings: where each finding points and what it says.
//!
//! Every test calls `check(input, expect)`, which writes each finding of a lint rule (not
//! validation) under the line it points at: carets under the span, the code and message,
//! and the help on the next line. It must not hold rule logic.

use model::config::Config;
use model::lint::{self, LintOptions};
use model::LineIndex;

/// Lints `input` (as a Proxmox file when `proxmox`) and renders the findings under their
/// lines.
fn render(input: &str, options: &LintOptions) -> String {
    let (document, _) = model::syntax::parse(input);
    let (config, _) = Config::from_document(&document);
    let diagnostics: Vec<_> = lint::lint(&document, &config, options)
        .into_iter()
        .filter(|diagnostic| lint::rule_by_code_or_name(diagnostic.code).is_some())
        .collect();
    let index = LineIndex::new(input);
    let mut out = String::new();
    for diagnostic in diagnostics.iter().filter(|diagnostic| diagnostic.span.is_none()) {
        out.push_str(&format!("{} {}\n", diagnostic.code, diagnostic.message));
    }
    for (number, line) in input.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        for diagnostic in &diagnostics {
            let Some(span) = diagnostic.span else {
                continue;
            };
            let (line_number, column) = index.line_col(input, span.start);
            if line_number != number + 1 {
                continue;
            }
            let width = input
                .get(span.start..span.end)
                .map_or(1, |text| text.chars().count().max(1));
            out.push_str(&format!(
                "{}{} {} {}\n",
                " ".repeat(column - 1),
                "^".repeat(width),
                diagnostic.code,
                diagnostic.message
            ));
            if let Some(help) = &diagnostic.help {
                out.push_str(&format!("{}= help: {help}\n", " ".repeat(column - 1)));
            }
        }
    }
    out
}

fn check(input: &str, expect: &str) {
    check_with(input, &LintOptions::default(), expect);
}

fn check_with(input: &str, options: &LintOptions, expect: &str) {
    let actual = render(input, options);
    assert_eq!(actual.trim_end(), expect.trim_end(), "\n--- actual ---\n{actual}");
}

#[test]
fn links_share_address_once_per_node_on_the_repeated_address() {
    check(
        "nodelist {
node {
nodeid: 1
ring0_addr: 10.0.0.1
ring1_addr: 10.0.0.1
ring2_addr: 10.0.0.1
}
node {
nodeid: 2
ring0_addr: 10.0.0.2
ring1_addr: 10.1.0.2
ring2_addr: 10.2.0.2
}
}
quorum {
provider: corosync_votequorum
two_node: 1
}
",
        "nodelist {
node {
nodeid: 1
ring0_addr: 10.0.0.1
ring1_addr: 10.0.0.1
            ^^^^^^^^ L001 node `10.0.0.1` uses address `10.0.0.1` for both link 0 and link 1, so the links are not redundant
            = help: put each link of a node on its own network interface and subnet
ring2_addr: 10.0.0.1
}
node {
nodeid: 2
ring0_addr: 10.0.0.2
ring1_addr: 10.1.0.2
ring2_addr: 10.2.0.2
}
}
quorum {
provider: corosync_votequorum
two_node: 1
^^^^^^^^ Q002 with `two_node` both nodes stay quorate when the network between them fails
= help: this is safe only with working fencing; a quorum device on a third machine breaks the tie instead
}",
    );
}

#[test]
fn unknown_key_suggests_the_closest_known_key_of_its_section() {
    check(
        "totem {
  version: 2
  secauth: on
  tokken: 10000
  interface {
    linknumber: 0
    knet_ping_intervall: 100
  }
}
quorum {
  provider: corosync_votequorum
  two_nodes: 1
  device {
    model: net
    heuristics {
      exec_ping: /bin/true
    }
  }
}
",
        "totem {
  version: 2
  secauth: on
  tokken: 10000
  ^^^^^^ S001 unknown key `tokken` in `totem`
  = help: did you mean `token`? corosync ignores unknown keys without a warning
  interface {
    linknumber: 0
    knet_ping_intervall: 100
    ^^^^^^^^^^^^^^^^^^^ S001 unknown key `knet_ping_intervall` in `totem.interface`
    = help: did you mean `knet_ping_interval`? corosync ignores unknown keys without a warning
  }
}
quorum {
  provider: corosync_votequorum
  two_nodes: 1
  ^^^^^^^^^ S001 unknown key `two_nodes` in `quorum`
  = help: did you mean `two_node`? corosync ignores unknown keys without a warning
  device {
    model: net
    heuristics {
      exec_ping: /bin/true
    }
  }
}",
    );
}

#[test]
fn inline_comment_points_at_the_hash_and_the_rest_of_the_value() {
    check(
        "totem {
    version: 2
    secauth: on
    cluster_name: prod # main
    crypto_model: nss#fips
}
",
        "Q009 no `quorum.provider`, so every partition is quorate
totem {
    version: 2
    secauth: on
    cluster_name: prod # main
                       ^^^^^^ S005 `#` does not start a comment here: the value of `cluster_name` is `prod # main`
                       = help: corosync only treats whole lines starting with `#` as comments; move the comment to its own line
    crypto_model: nss#fips
}",
    );
}

#[test]
fn proxmox_rules_follow_the_detection_or_the_path() {
    let text = "totem {
  cluster_name: c
  version: 2
  secauth: on
}
quorum {
  provider: corosync_votequorum
  auto_tie_breaker_node: 1 2
}
";
    check(
        text,
        "totem {
  cluster_name: c
  version: 2
  secauth: on
}
quorum {
  provider: corosync_votequorum
  auto_tie_breaker_node: 1 2
  ^^^^^^^^^^^^^^^^^^^^^ Q015 `auto_tie_breaker_node` has no effect because `auto_tie_breaker` is off
  = help: set `auto_tie_breaker: 1` or remove `auto_tie_breaker_node`
}",
    );
    check_with(
        text,
        &LintOptions::for_path("/etc/pve/corosync.conf"),
        "totem {
^^^^^ S009 `config_version` is missing, so Proxmox will not propagate this file
= help: set `totem.config_version` higher than the version the nodes run now
  cluster_name: c
  version: 2
  secauth: on
}
quorum {
  provider: corosync_votequorum
  auto_tie_breaker_node: 1 2
  ^^^^^^^^^^^^^^^^^^^^^ Q015 `auto_tie_breaker_node` has no effect because `auto_tie_breaker` is off
  = help: set `auto_tie_breaker: 1` or remove `auto_tie_breaker_node`
                         ^^^ S008 value of `auto_tie_breaker_node` contains whitespace, which Proxmox's corosync.conf parser cannot read
                         = help: pvecm fails with `missing ':' after key ...`; use a value without spaces or manage this setting outside Proxmox
}",
    );
}

#[test]
fn proxmox_heuristic() {
    let pvecm = "logging {\n  debug: off\n}\nnodelist {\n  node {\n    name: a\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\nquorum {\n  provider: corosync_votequorum\n}\ntotem {\n  version: 2\n}\n";
    assert!(lint::is_proxmox(&model::syntax::parse(pvecm).0));
    let no_votes = pvecm.replace("    quorum_votes: 1\n", "");
    assert!(!lint::is_proxmox(&model::syntax::parse(&no_votes).0));
    let copied = format!("# copy of /etc/pve/corosync.conf\n{no_votes}");
    assert!(lint::is_proxmox(&model::syntax::parse(&copied).0));
    assert_eq!(LintOptions::for_path("/etc/corosync/corosync.conf").proxmox, None);
}

#[test]
fn findings_are_sorted_by_position_with_whole_file_findings_first() {
    let text = "totem {\n  version: 2\n  secauth: on\n  tokken: 1\n  tokken: 2\n}\n";
    let (document, _) = model::syntax::parse(text);
    let (config, _) = Config::from_document(&document);
    let diagnostics = lint::lint(&document, &config, &LintOptions::default());
    let keys: Vec<_> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic.span.map(|span| span.start))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(diagnostics
        .iter()
        .any(|diagnostic| diagnostic.code == "Q009" && diagnostic.span.is_none()));
    assert!(diagnostics
        .first()
        .is_some_and(|diagnostic| diagnostic.span.is_none()));
}

#[test]
fn lint_text_adds_parser_errors_once() {
    let diagnostics = lint::lint_text(
        "totem {\n  version: 2\n  token: 3000 # ms\n",
        &LintOptions::default(),
    );
    let rendered: Vec<String> = diagnostics
        .iter()
        .map(|diagnostic| format!("{} {}", diagnostic.code, diagnostic.message))
        .collect();
    let count = |code: &str| {
        diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.code == code)
            .count()
    };
    assert_eq!(count("E001"), 1, "{rendered:#?}");
    assert_eq!(count("S005"), 1, "{rendered:#?}");
    assert!(count("E101") <= 1, "{rendered:#?}");
}

#[test]
fn rules_serialize_for_explain() {
    let rule = lint::rule_by_code_or_name("links-share-address").expect("rule exists");
    let json = serde_json::to_value(rule).expect("serializes");
    assert_eq!(json["code"], "L001");
    assert_eq!(json["status"], "preview");
    assert_eq!(json["severity"], "warning");
    assert!(json["documentation"]
        .as_str()
        .is_some_and(|text| text.starts_with("## What it does\n")));
    assert!(json["summary"]
        .as_str()
        .is_some_and(|text| text.starts_with("Flags a node whose links")));
}

#[test]
fn unknown_key_names_the_section_that_reads_it() {
    check(
        "totem {
  version: 2
  secauth: on
  two_node: 1
}
quorum {
  provider: corosync_votequorum
}
",
        "totem {
  version: 2
  secauth: on
  two_node: 1
  ^^^^^^^^ S001 unknown key `two_node` in `totem`
  = help: `two_node` is read in `quorum`, not here; corosync ignores it here without a warning
}
quorum {
  provider: corosync_votequorum
}",
    );
}
