//! Risk rules: what corosync silently accepts but hurts (split-brain, no redundancy, ignored
//! keys, values other tools misread).
//!
//! Owns the single entry point `lint`, `LintOptions`, the Proxmox heuristic `is_proxmox`, the
//! rule framework (`Checker`, `Violation`) and, in `registry` and `rules/`, one rule per file.
//! It must not re-implement corosync's own refusals (that is `validate`), must not re-parse
//! values the typed `config::Config` provides, and must not do IO or print.

mod engine;
mod keys;
pub mod registry;
mod rules;

use crate::config::Config;
use crate::diag::{Diagnostic, Fix, Severity, Span};
use crate::quorum::settings::QuorumSettings;
use crate::syntax::{Document, Entry, KeyValue, LineKind, Section};
use crate::validate::{self, HostFacts};

pub use registry::{all_rules, rule_by_code_or_name, Rule, RuleStatus};

/// What `lint` needs besides the file.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// Facts about the host running corosync, passed through to `validate::validate`.
    pub host: HostFacts,
    /// Whether the file is managed by Proxmox VE (`pmxcfs`/`pvecm`). `None`: decide with
    /// `is_proxmox`. The binary sets `Some(true)` for files under `/etc/pve/`.
    pub proxmox: Option<bool>,
}

impl LintOptions {
    /// Options for a file read from `path`: a file under `/etc/pve/` is Proxmox-managed, any
    /// other path is left to `is_proxmox`.
    pub fn for_path(path: &str) -> LintOptions {
        LintOptions {
            proxmox: path.starts_with("/etc/pve/").then_some(true),
            ..LintOptions::default()
        }
    }
}

/// Lints one parsed file: corosync-parity validation (`validate::validate`) plus every rule
/// of the registry that is not `Removed`, sorted by position (whole-file findings first).
///
/// The parser's own diagnostics are not included: the caller already has them from
/// `syntax::parse` (and `Config::from_document`).
pub fn lint(document: &Document, config: &Config, options: &LintOptions) -> Vec<Diagnostic> {
    let mut diagnostics = validate::validate(document, config, &options.host);
    diagnostics.append(&mut run_rules(document, config, options, |_| true));
    sort_by_position(&mut diagnostics);
    diagnostics
}

/// The findings of the registry's rules (not `Removed`) that `wanted` selects.
fn run_rules(
    document: &Document,
    config: &Config,
    options: &LintOptions,
    wanted: impl Fn(&Rule) -> bool,
) -> Vec<Diagnostic> {
    let mut checker = Checker {
        document,
        config,
        quorum: config.quorum_settings(),
        proxmox: options.proxmox.unwrap_or_else(|| is_proxmox(document)),
        rule: None,
        diagnostics: Vec::new(),
    };
    for rule in all_rules() {
        if rule.status == RuleStatus::Removed || !wanted(rule) {
            continue;
        }
        checker.rule = Some(rule);
        rule.run(&mut checker);
    }
    checker.diagnostics
}

/// Rules whose findings depend only on the line they are on, not on the section tree, so
/// they stay true after a fatal parse error.
const LINE_LOCAL_RULES: &[&str] = &["inline-comment"];

/// Parses `text` and lints it: the parser's diagnostics (`syntax::parse`) plus everything
/// `lint` reports, sorted by position. The convenience entry point for callers that hold
/// text rather than a parsed document.
///
/// After a fatal syntax error (an error the parser reports, such as a missing closing
/// brace) only what does not depend on the section tree is added to the parser's
/// diagnostics: the value refusals (corosync reads values in file order and reports them
/// first) and the line-local rules. What follows from a broken tree (missing keys, no
/// nodelist, quorum and partition findings) would be errors the file does not have; the
/// first fatal error's help says the rest was not checked. See: issue 10 item 7.
pub fn lint_text(text: &str, options: &LintOptions) -> Vec<Diagnostic> {
    let (document, diagnostics) = crate::syntax::parse(text);
    let (config, _already_in_validate) = Config::from_document(&document);
    lint_parsed(&document, &config, diagnostics, options)
}

/// `lint_text` for a caller that has already parsed the file: `parse_diagnostics` are the
/// parser's findings for `document`, and `config` was built from it. The same suppression
/// after a fatal syntax error applies, so every command reports a broken file alike.
pub fn lint_parsed(
    document: &Document,
    config: &Config,
    mut diagnostics: Vec<Diagnostic>,
    options: &LintOptions,
) -> Vec<Diagnostic> {
    if let Some(first_fatal) = diagnostics
        .iter_mut()
        .find(|diagnostic| diagnostic.severity == Severity::Error)
    {
        let note = "the section structure is broken here, so quorate checks nothing that depends on it until this is fixed";
        first_fatal.help = Some(match first_fatal.help.take() {
            Some(help) => format!("{help}\n{note}"),
            None => note.to_string(),
        });
        diagnostics.extend(config.value_diagnostics.iter().cloned());
        diagnostics.extend(run_rules(document, config, options, |rule| {
            LINE_LOCAL_RULES.contains(&rule.name)
        }));
        sort_by_position(&mut diagnostics);
        return diagnostics;
    }
    diagnostics.extend(lint(document, config, options));
    sort_by_position(&mut diagnostics);
    diagnostics
}

/// Sorts diagnostics by primary position; whole-file findings first, then by code. Stable,
/// so one rule's findings at the same place keep their order.
pub fn sort_by_position(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|diagnostic| {
        (
            diagnostic.span.map(|span| (1, span.start)).unwrap_or((0, 0)),
            diagnostic.code,
        )
    });
}

/// Whether `document` looks written by Proxmox VE (`pvecm`/`PVE::Corosync::write_conf`).
///
/// Heuristic, since a file does not say who wrote it. It is Proxmox-made when either
/// - a comment mentions `/etc/pve/` (copies of the cluster file often say where they came
///   from), or
/// - every node has `quorum_votes` (PVE always writes it; other tools rarely do) and at least
///   one of: the top-level sections are exactly `logging, nodelist, quorum, totem` in this
///   order (PVE's writer sorts them), or totem has `link_mode: passive` and
///   `ip_version: ipv4-6` (what `pvecm create` writes since PVE 6).
pub fn is_proxmox(document: &Document) -> bool {
    let mentions_pve = document
        .lines()
        .iter()
        .any(|line| line.kind == LineKind::Comment && line.content().contains("/etc/pve/"));
    if mentions_pve {
        return true;
    }
    let nodes = document.sections_at("nodelist.node");
    if nodes.is_empty() || !nodes.iter().all(|node| node.key("quorum_votes").is_some()) {
        return false;
    }
    let top: Vec<&str> = document
        .root()
        .subsections()
        .map(|section| section.name.as_str())
        .collect();
    let sorted_sections = top == ["logging", "nodelist", "quorum", "totem"];
    let totem_value = |key: &str| {
        document
            .sections_at("totem")
            .iter()
            .rev()
            .find_map(|totem| totem.value(key))
    };
    let pvecm_totem =
        totem_value("link_mode") == Some("passive") && totem_value("ip_version") == Some("ipv4-6");
    sorted_sections || pvecm_totem
}

/// What one finding of a rule says. Each rule has one violation struct whose fields hold the
/// data of its message.
pub(crate) trait Violation {
    /// What is wrong, no trailing period.
    fn message(&self) -> String;
    /// What to do (help text), if there is more to say than the message.
    fn help(&self) -> Option<String> {
        None
    }
    /// An imperative fix title, if a fix is known.
    fn fix_title(&self) -> Option<String> {
        None
    }
    /// Whether the fix only changes config text (safe) or cluster behaviour (unsafe: it must
    /// go through the planner).
    fn fix_is_safe(&self) -> bool {
        false
    }
}

/// The state a rule's check function sees: the file, its typed config, and the findings so far.
pub(crate) struct Checker<'a> {
    /// The syntax tree (for spans and for what `Config` does not keep).
    pub document: &'a Document,
    /// The typed configuration.
    pub config: &'a Config,
    /// What votequorum reads (`Config::quorum_settings`), computed once.
    pub quorum: QuorumSettings,
    /// Whether the file is Proxmox-managed.
    pub proxmox: bool,
    rule: Option<&'static Rule>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// Records a finding of the running rule at `span` (`None`: the whole file).
    pub fn report(&mut self, violation: &impl Violation, span: Option<Span>) -> &mut Diagnostic {
        let (code, name, severity) = match self.rule {
            Some(rule) => (rule.code, rule.name, rule.severity),
            None => ("X000", "unknown-rule", Severity::Warning),
        };
        let mut diagnostic = Diagnostic::new(code, name, severity, violation.message());
        diagnostic.span = span;
        diagnostic.help = violation.help();
        diagnostic.fix = violation.fix_title().map(|title| Fix {
            title,
            safe: violation.fix_is_safe(),
        });
        self.diagnostics.push(diagnostic);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Every section of the file with its path, depth first in file order.
    pub fn all_sections(&self) -> Vec<&'a Section> {
        fn walk<'s>(section: &'s Section, out: &mut Vec<&'s Section>) {
            for entry in &section.entries {
                if let Entry::Section(sub) = entry {
                    out.push(sub);
                    walk(sub, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.document.root(), &mut out);
        out
    }

    /// The effective item `key` of the sections at `path` (the last one in the file wins,
    /// as corosync merges repeated sections).
    pub fn effective_key(&self, path: &str, key: &str) -> Option<&'a KeyValue> {
        self.document
            .sections_at(path)
            .into_iter()
            .rev()
            .find_map(|section| section.key(key))
    }

    /// The span of the effective `key` at `path`, else of the first section at `path`.
    pub fn span_of(&self, path: &str, key: &str) -> Option<Span> {
        self.effective_key(path, key)
            .map(|item| item.key_span)
            .or_else(|| {
                self.document
                    .sections_at(path)
                    .first()
                    .map(|section| section.name_span)
            })
    }

    /// The `nodelist.node` sections in file order.
    pub fn nodes(&self) -> Vec<&'a Section> {
        self.document.sections_at("nodelist.node")
    }
}

/// The `ringN_addr` items of a node section, in file order, with their link number.
pub(crate) fn ring_addresses(node: &Section) -> Vec<(u32, &KeyValue)> {
    node.keys()
        .filter_map(|item| keys::ring_number(&item.key).map(|number| (number, item)))
        .collect()
}

/// A node's label for messages: its `name`, else `ring0_addr`, else `nodeid`, else its
/// position.
pub(crate) fn node_label(node: &Section, position: usize) -> String {
    node.value("name")
        .or_else(|| node.value("ring0_addr"))
        .map(|value| format!("`{value}`"))
        .or_else(|| node.value("nodeid").map(|id| format!("with nodeid {id}")))
        .unwrap_or_else(|| format!("#{}", position + 1))
}

/// Facts derived from `QuorumSettings` that several quorum rules share.
impl Checker<'_> {
    /// `wait_for_all` as votequorum uses it: the written value, else `two_node`.
    pub fn wait_for_all_effective(&self) -> bool {
        self.quorum.wait_for_all.unwrap_or(self.quorum.two_node)
    }

    /// Sum of the nodelist votes (u64: no overflow).
    pub fn node_vote_sum(&self) -> u64 {
        self.quorum.nodes.iter().map(|node| u64::from(node.votes)).sum()
    }

    /// The votes the quorum device brings: the written value, else node count − 1 when
    /// every node has one vote (votequorum's default), else 0.
    pub fn device_votes(&self) -> u64 {
        match &self.quorum.device {
            None => 0,
            Some(device) => match device.votes {
                Some(votes) => u64::from(votes),
                None if self.quorum.nodes.iter().all(|node| node.votes == 1) => {
                    self.quorum.nodes.len().saturating_sub(1) as u64
                }
                None => 0,
            },
        }
    }

    /// What to do about an `expected_votes` that differs from the vote total (both
    /// expected-votes rules give this help).
    pub const EXPECTED_VOTES_HELP: &'static str =
        "remove `expected_votes` (votequorum then sums the nodelist votes) or set it to the vote total";

    /// `quorum.expected_votes` next to the real vote total (nodes plus device), with the
    /// value's span; `None` when there is no override to compare, when the nodelist is empty,
    /// or when a device without `votes` makes it a startup error (reported by validation).
    pub fn expected_votes_against_total(&self) -> Option<(u32, u64, Option<Span>)> {
        let expected = self.quorum.expected_votes?;
        if self.quorum.nodes.is_empty()
            || self
                .quorum
                .device
                .as_ref()
                .is_some_and(|device| device.votes.is_none())
        {
            return None;
        }
        let total = self.node_vote_sum() + self.device_votes();
        let span = self
            .effective_key("quorum", "expected_votes")
            .map(|item| item.value_span);
        Some((expected, total, span))
    }
}

/// The effective totem timing the timing rules need, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// `token` + (N − 2) · `token_coefficient` when more than 2 nodes have `ring0_addr`.
    pub token_effective: u64,
    /// The effective consensus timeout.
    pub consensus: u64,
    /// Whether `consensus` is written in the file (else it is 1.2 · token).
    pub consensus_written: bool,
}

impl Checker<'_> {
    /// The effective token and consensus timeouts (from `Config::effective`).
    pub fn timing(&self) -> Timing {
        Timing {
            token_effective: u64::from(self.config.effective.token),
            consensus: u64::from(self.config.effective.consensus),
            consensus_written: self.config.totem.consensus.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unclosed brace is the only finding: no missing-key, quorum or partition errors
    /// cascade from the truncated tree. See: issue 10 item 7.
    #[test]
    fn issue10_syntax_error_suppresses_dependent_findings() {
        let text = "totem {\n\tversion: 2\n\tcluster_name: c\n\nnodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 198.18.0.1\n\t}\n}\n";
        let diagnostics = lint_text(text, &LintOptions::default());
        let codes: Vec<&str> = diagnostics.iter().map(|diagnostic| diagnostic.code).collect();
        assert!(!codes.is_empty());
        assert!(
            codes.iter().all(|code| *code == crate::syntax::PARSE_ERROR_CODE),
            "{diagnostics:?}"
        );
        assert!(diagnostics[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("checks nothing that depends on it until this is fixed"));
        // A file without the error gets its semantic findings as before.
        let fixed = text.replace("\n\nnodelist", "\n}\nnodelist");
        assert!(lint_text(&fixed, &LintOptions::default())
            .iter()
            .any(|diagnostic| diagnostic.code == "Q009"));
    }
}

/// Issue 10 item 13: the new rules and suggestions, each on the issue's own example.
#[cfg(test)]
mod issue10_item13 {
    use super::*;

    /// A two-node file (`two_node` on) with `extra_totem`, `extra_quorum`, node 1's ring0
    /// address `address`, and node votes `votes`.
    fn two_nodes(extra_totem: &str, extra_quorum: &str, address: &str, votes: [u32; 2]) -> String {
        format!(
            "totem {{\n\tversion: 2\n\tcluster_name: c\n\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n{extra_totem}}}\nnodelist {{\n\tnode {{\n\t\tname: a\n\t\tnodeid: 1\n\t\tquorum_votes: {}\n\t\tring0_addr: {address}\n\t\tring1_addr: 198.19.0.1\n\t}}\n\tnode {{\n\t\tname: b\n\t\tnodeid: 2\n\t\tquorum_votes: {}\n\t\tring0_addr: 198.18.0.2\n\t\tring1_addr: 198.19.0.2\n\t}}\n}}\nquorum {{\n\tprovider: corosync_votequorum\n{extra_quorum}}}\n",
            votes[0], votes[1]
        )
    }

    fn find(text: &str, proxmox: bool, code: &str) -> Option<Diagnostic> {
        let options = LintOptions {
            proxmox: Some(proxmox),
            ..LintOptions::default()
        };
        lint_text(text, &options)
            .into_iter()
            .find(|diagnostic| diagnostic.code == code)
    }

    #[test]
    fn issue10_hostname_ring_address_is_a_note_and_on_proxmox_a_warning() {
        let text = two_nodes("", "", "node-a.example.com", [1, 1]);
        let note = find(&text, false, "L010").expect("L010");
        assert_eq!(note.severity, Severity::Info);
        assert!(
            note.message.contains("corosync must resolve it"),
            "{}",
            note.message
        );
        let warning = find(&text, true, "L010").expect("L010 on Proxmox");
        assert_eq!(warning.severity, Severity::Warning);
        assert!(warning.message.contains("Proxmox VE advises IP addresses"));
        // An address, or a string no resolver answers (E124, validation's), is not L010's.
        assert!(find(&two_nodes("", "", "198.18.0.1", [1, 1]), true, "L010").is_none());
        assert!(find(&two_nodes("", "", "198.18.0.1:5405", [1, 1]), true, "L010").is_none());
    }

    #[test]
    fn issue10_node_whose_votes_carry_quorum_is_a_warning() {
        let spof = find(&two_nodes("", "", "198.18.0.1", [2, 1]), false, "Q018").expect("Q018");
        assert_eq!(spof.severity, Severity::Warning);
        assert_eq!(
            spof.message,
            "node 1 has 2 of the 3 votes: when it fails, node 2 (1 vote) is not quorate"
        );
        assert!(find(&two_nodes("", "", "198.18.0.1", [1, 1]), false, "Q018").is_none());
    }

    #[test]
    fn issue10_too_small_timeouts_are_warnings_with_the_reason() {
        let token = find(
            &two_nodes("\ttoken: 200\n", "", "198.18.0.1", [1, 1]),
            false,
            "T004",
        )
        .expect("T004");
        assert_eq!(token.severity, Severity::Warning);
        assert!(
            token
                .message
                .starts_with("`token: 200` is the effective token timeout"),
            "{}",
            token.message
        );
        assert!(
            token.message.contains("knet declares a link down after 100 ms"),
            "{}",
            token.message
        );
        assert!(find(
            &two_nodes("\ttoken: 1000\n", "", "198.18.0.1", [1, 1]),
            false,
            "T004"
        )
        .is_none());
        let lms = "\tlast_man_standing: 1\n\tlast_man_standing_window: 100\n";
        let window = find(&two_nodes("", lms, "198.18.0.1", [1, 1]), false, "T005").expect("T005");
        assert_eq!(window.severity, Severity::Warning);
        assert!(window
            .message
            .contains("100 ms, shorter than the effective token timeout of 3000 ms"));
        assert!(find(
            &two_nodes("", "\tlast_man_standing: 1\n", "198.18.0.1", [1, 1]),
            false,
            "T005"
        )
        .is_none());
    }

    /// `010.1.1.1` is 8.1.1.1 to corosync (measured: with node 1 written `0306.18.0.1`,
    /// corosync -t finds the local node 198.18.0.1). See: issue 10 item 1.
    #[test]
    fn issue10_numeric_looking_addresses_say_what_corosync_reads() {
        for (written, read_as) in [
            ("010.1.1.1", "8.1.1.1"),
            ("10.3", "10.0.0.3"),
            ("0x0a.0.0.1", "10.0.0.1"),
        ] {
            let finding = find(&two_nodes("", "", written, [1, 1]), false, "L011").expect("L011");
            assert_eq!(finding.severity, Severity::Warning);
            assert!(
                finding
                    .message
                    .contains(&format!("is read by corosync as {read_as}")),
                "{}",
                finding.message
            );
        }
        assert!(find(&two_nodes("", "", "198.18.0.1", [1, 1]), false, "L011").is_none());
    }

    #[test]
    fn issue10_typos_get_suggestions() {
        let text = two_nodes("\ttokne: 3000\n", "", "198.18.0.1", [1, 1])
            .replace("\t\tring1_addr: 198.19.0.1", "\t\tringO_addr: 198.19.0.1");
        let options = LintOptions::default();
        let helps: Vec<String> = lint_text(&text, &options)
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "S001")
            .filter_map(|diagnostic| diagnostic.help)
            .collect();
        assert!(
            helps.iter().any(|help| help.contains("did you mean `token`")),
            "{helps:?}"
        );
        assert!(
            helps
                .iter()
                .any(|help| help.contains("did you mean `ring0_addr`")),
            "{helps:?}"
        );
    }
}
