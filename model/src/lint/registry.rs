//! The rule registry: code -> (status, rule).
//!
//! Owns `Rule`, `RuleStatus`, `all_rules` and `rule_by_code_or_name`. A rule's documentation
//! and summary come from the leading `//!` comment of its file (one source, included with
//! `include_str!`). Codes are a category letter plus three digits and are never reused: a
//! rule that goes away stays here as `Removed`. Categories: Q quorum and split-brain,
//! L links and network, S syntax and structure, T timing, D quorum device. It must not
//! contain check logic.

use super::Checker;
use crate::diag::Severity;

/// Where a rule stands in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// New; findings and wording may still change. Every rule starts here.
    Preview,
    /// Settled.
    Stable,
    /// Still runs, will be removed.
    Deprecated,
    /// No longer runs; the code stays reserved.
    Removed,
}

impl RuleStatus {
    /// The lowercase name used in docs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Preview => "preview",
            RuleStatus::Stable => "stable",
            RuleStatus::Deprecated => "deprecated",
            RuleStatus::Removed => "removed",
        }
    }
}

/// One lint rule: metadata plus its check function.
pub struct Rule {
    /// Stable code, e.g. `Q001`.
    pub code: &'static str,
    /// Stable kebab-case name (part of the JSON contract).
    pub name: &'static str,
    /// Life-cycle status.
    pub status: RuleStatus,
    /// Severity of its findings.
    pub severity: Severity,
    /// The text of the rule's source file, whose leading `//!` comment is its documentation.
    source: &'static str,
    check: fn(&mut Checker),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Rule")
            .field("code", &self.code)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("severity", &self.severity)
            .finish()
    }
}

/// JSON shape of a rule (for `quorate explain --format json`): code, name, status,
/// severity, summary and the Markdown documentation.
impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Rule", 6)?;
        state.serialize_field("code", self.code)?;
        state.serialize_field("name", self.name)?;
        state.serialize_field("status", &self.status)?;
        state.serialize_field("severity", &self.severity)?;
        state.serialize_field("summary", &self.summary())?;
        state.serialize_field("documentation", &self.documentation())?;
        state.end()
    }
}

impl Rule {
    /// The rule's documentation in Markdown: its file's leading `//!` comment from the
    /// `## What it does` heading on (the line before it says what the file owns).
    pub fn documentation(&self) -> String {
        let mut lines = Vec::new();
        for line in self.source.lines() {
            let Some(text) = line.strip_prefix("//!") else {
                break;
            };
            lines.push(text.strip_prefix(' ').unwrap_or(text));
        }
        let start = lines
            .iter()
            .position(|line| line.starts_with("## What it does"))
            .unwrap_or(0);
        let mut text = lines[start..].join("\n");
        text.push('\n');
        text
    }

    /// One line: the first paragraph of `## What it does`.
    pub fn summary(&self) -> String {
        let documentation = self.documentation();
        let paragraph: Vec<&str> = documentation
            .lines()
            .skip_while(|line| !line.starts_with("## What it does"))
            .skip(1)
            .skip_while(|line| line.trim().is_empty())
            .take_while(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(str::trim)
            .collect();
        paragraph.join(" ")
    }

    pub(crate) fn run(&self, checker: &mut Checker) {
        (self.check)(checker);
    }
}

macro_rules! registry {
    ($($code:literal $name:literal $module:ident $status:ident $severity:ident;)*) => {
        static RULES: &[Rule] = &[$(Rule {
            code: $code,
            name: $name,
            status: RuleStatus::$status,
            severity: Severity::$severity,
            source: include_str!(concat!("rules/", stringify!($module), ".rs")),
            check: super::rules::$module::$module,
        },)*];
    };
}

registry! {
    "Q001" "two-node-without-wait-for-all" two_node_without_wait_for_all Preview Warning;
    "Q002" "two-node-relies-on-fencing" two_node_relies_on_fencing Preview Warning;
    "Q003" "two-node-with-more-than-two-nodes" two_node_with_more_than_two_nodes Preview Warning;
    "Q004" "expected-votes-below-node-votes" expected_votes_below_node_votes Preview Warning;
    "Q005" "expected-votes-above-node-votes" expected_votes_above_node_votes Preview Warning;
    "Q006" "last-man-standing-split-brain" last_man_standing_split_brain Preview Warning;
    "Q007" "auto-tie-breaker-list-without-wait-for-all" auto_tie_breaker_list_without_wait_for_all Preview Warning;
    "Q008" "quorum-vote-overflow" quorum_vote_overflow Preview Warning;
    "Q009" "no-quorum-provider" no_quorum_provider Preview Warning;
    "Q010" "even-votes-without-tie-breaker" even_votes_without_tie_breaker Preview Info;
    "Q011" "two-node-with-auto-tie-breaker" two_node_with_auto_tie_breaker Preview Warning;
    "Q012" "auto-tie-breaker-odd-votes-disabled" auto_tie_breaker_odd_votes_disabled Preview Warning;
    "Q013" "auto-tie-breaker-node-invalid" auto_tie_breaker_node_invalid Preview Warning;
    "Q014" "last-man-standing-disabled-by-votes" last_man_standing_disabled_by_votes Preview Warning;
    "Q015" "auto-tie-breaker-node-without-auto-tie-breaker" auto_tie_breaker_node_without_auto_tie_breaker Preview Info;
    "Q016" "allow-downscale-unsupported" allow_downscale_unsupported Preview Warning;
    "Q017" "expected-votes-overridden-by-tracking" expected_votes_overridden_by_tracking Preview Warning;
    "Q018" "node-votes-single-point-of-failure" node_votes_single_point_of_failure Preview Warning;
    "L001" "links-share-address" links_share_address Preview Warning;
    "L002" "single-link" single_link Preview Info;
    "L003" "duplicate-node-address" duplicate_node_address Preview Warning;
    "L004" "node-without-address" node_without_address Preview Warning;
    "L005" "bindnetaddr-ignored-with-nodelist" bindnetaddr_ignored_with_nodelist Preview Info;
    "L006" "legacy-interface-option" legacy_interface_option Preview Info;
    "L007" "crypto-disabled" crypto_disabled Preview Warning;
    "L008" "authentication-without-encryption" authentication_without_encryption Preview Info;
    "L009" "udp-interface-ignored" udp_interface_ignored Preview Info;
    "L010" "ring-address-hostname" ring_address_hostname Preview Info;
    "L011" "ring-address-not-dotted-quad" ring_address_not_dotted_quad Preview Warning;
    "S001" "unknown-key" unknown_key Preview Warning;
    "S002" "unknown-section" unknown_section Preview Warning;
    "S003" "duplicate-key" duplicate_key Preview Warning;
    "S004" "repeated-nodelist" repeated_nodelist Preview Warning;
    "S005" "inline-comment" inline_comment Preview Warning;
    "S006" "member-section-deprecated" member_section_deprecated Preview Info;
    "S007" "totem-nodeid-deprecated" totem_nodeid_deprecated Preview Info;
    "S008" "pve-value-with-spaces" pve_value_with_spaces Preview Warning;
    "S009" "pve-config-version-missing" pve_config_version_missing Preview Warning;
    "S010" "duplicate-node-name" duplicate_node_name Preview Warning;
    "S011" "negative-config-version" negative_config_version Preview Warning;
    "T001" "consensus-below-token-ratio" consensus_below_token_ratio Preview Warning;
    "T002" "knet-ping-interval-above-timeout" knet_ping_interval_above_timeout Preview Warning;
    "T003" "token-budget-near-pve-watchdog" token_budget_near_pve_watchdog Preview Warning;
    "T004" "token-too-small" token_too_small Preview Warning;
    "T005" "last-man-standing-window-too-small" last_man_standing_window_too_small Preview Warning;
    "D001" "qdevice-ffsplit-odd-nodes" qdevice_ffsplit_odd_nodes Preview Warning;
    "D002" "qdevice-votes-not-one" qdevice_votes_not_one Preview Warning;
    "D003" "qdevice-lms-numeric-tie-breaker" qdevice_lms_numeric_tie_breaker Preview Warning;
    "D004" "qdevice-lms-even-nodes" qdevice_lms_even_nodes Preview Warning;
    "D005" "qdevice-votes-outvote-nodes" qdevice_votes_outvote_nodes Preview Warning;
}

/// Every rule, in registry order (by category, then code).
pub fn all_rules() -> &'static [Rule] {
    RULES
}

/// The rule whose code (case-insensitive, e.g. `q001`) or name (e.g. `single-link`) is
/// `code_or_name`.
pub fn rule_by_code_or_name(code_or_name: &str) -> Option<&'static Rule> {
    let wanted = code_or_name.trim();
    RULES
        .iter()
        .find(|rule| rule.code.eq_ignore_ascii_case(wanted) || rule.name.eq_ignore_ascii_case(wanted))
}
