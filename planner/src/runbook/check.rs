//! The runbook checker: follows the runbook block by block, tracks on which node each
//! command runs, what each node has on disk and whether its corosync runs, and turns each
//! recognised command into actions and findings.
//!
//! Config blocks go through `model::lint`; starts through the planner's `FileEntry`
//! validation for that node (`--local-node` semantics); forced expected votes through the
//! votequorum engine and the planner's `safety::Safety` fault analysis. It must not print
//! or read files.

use std::collections::{BTreeMap, BTreeSet};

use model::action::{Action, Event, Fault};
use model::diag::Severity;
use model::lint::{lint_text, LintOptions};
use model::quorum::{ClusterState, NodeConfig};
use model::scenario::NodeRef;

use super::markdown::Block;
use super::shell::{self, Item};
use super::{Finding, Kind, RunbookOptions, RunbookReport, Step};
use crate::files::{FileEntry, Purpose};
use crate::safety::Safety;

mod split;

use split::{Shadow, Transition};

/// Every finding code the checker gives: (code, name, kind, summary). Codes are stable and never reused.
pub const CODES: &[(&str, &str, &str, &str)] = &[
    (
        "R001",
        "unrecognised-cluster-command",
        "unrecognised",
        "a cluster command the checker cannot interpret",
    ),
    (
        "R002",
        "removed-option",
        "wrong",
        "an option the tool's current version removed",
    ),
    (
        "R003",
        "path-not-read",
        "wrong",
        "a corosync.conf path neither corosync nor Proxmox reads",
    ),
    (
        "R004",
        "edit-not-applied",
        "wrong",
        "a restart or reload that does not apply the edit the runbook made",
    ),
    (
        "R005",
        "wait-too-short",
        "wrong",
        "a wait shorter than the membership change takes (token + consensus, spec 3.4)",
    ),
    ("R006", "secret-printed", "insecure", "the authkey is printed"),
    (
        "R007",
        "secret-in-shared-place",
        "insecure",
        "the authkey is copied through a world-readable place or left behind",
    ),
    (
        "R008",
        "manual-join",
        "wrong",
        "a Proxmox node joined by copying files instead of `pvecm add`",
    ),
    (
        "R009",
        "start-refused",
        "refused",
        "corosync cannot start with what the node has",
    ),
    (
        "R010",
        "expectation-contradicts-model",
        "wrong",
        "an expected output the cluster cannot show at that point",
    ),
    (
        "R011",
        "check-cannot-show",
        "wrong",
        "a check that cannot show what it claims",
    ),
    (
        "R012",
        "command-cut-off",
        "wrong",
        "a command that needs traffic the runbook itself drops",
    ),
    (
        "R013",
        "no-such-key",
        "wrong",
        "reads a key corosync.conf does not have",
    ),
    (
        "R014",
        "key-regenerated-on-running-cluster",
        "insecure",
        "a new authkey on a node of a running cluster",
    ),
    (
        "R015",
        "forced-expected-votes",
        "unsafe",
        "expected votes forced down: split-brain within the fault budget",
    ),
    (
        "R016",
        "copy-into-pmxcfs",
        "wrong",
        "a file copied into /etc/pve by hand",
    ),
    (
        "R017",
        "reload-refused",
        "refused",
        "a new config the running nodes refuse at reload (spec 5.2)",
    ),
    (
        "R018",
        "config-version-not-bumped",
        "wrong",
        "a Proxmox edit that does not increase totem.config_version",
    ),
    (
        "R019",
        "delete-myself",
        "refused",
        "`pvecm delnode` of the node it runs on",
    ),
    (
        "R020",
        "qdevice-setup-refused",
        "refused",
        "`pvecm qdevice setup` on an odd node count without --force, or with a member offline",
    ),
    (
        "R021",
        "pcs-needs-stopped-cluster",
        "refused",
        "`pcs quorum update` while corosync runs (pcs needs the cluster stopped)",
    ),
    (
        "R022",
        "stop-loses-quorum",
        "unsafe",
        "a stop, restart or power-off that leaves the running nodes without quorum, with no fault",
    ),
    (
        "R023",
        "node-votes-refused",
        "refused",
        "`corosync-quorumtool -v` that votequorum refuses (quorum above the votes present, a node it has never seen, corosync not running there)",
    ),
    (
        "R024",
        "node-votes-split-brain",
        "unsafe",
        "node votes changed at runtime (`corosync-quorumtool -v`): split-brain within the fault budget",
    ),
    (
        "R025",
        "runtime-votes-reverted",
        "wrong",
        "a restart or reload that puts back the votes `corosync-quorumtool -v` changed (they are runtime only)",
    ),
    (
        "R026",
        "crmsh-init-refused",
        "refused",
        "`crm cluster init` (or its stage) that crmsh refuses for the cluster's state on that node",
    ),
    (
        "R027",
        "split-brain-within-budget",
        "unsafe",
        "a step after which faults within the fault budget make two memberships quorate at once (nodes running different files mid-change, a node down for a stop or restart)",
    ),
];

fn code_info(code: &'static str) -> (&'static str, Kind) {
    let (_, name, kind, _) = CODES
        .iter()
        .find(|entry| entry.0 == code)
        .copied()
        .unwrap_or(("", "", "wrong", ""));
    let kind = match kind {
        "unsafe" => Kind::Unsafe,
        "refused" => Kind::Refused,
        "insecure" => Kind::Insecure,
        "unrecognised" => Kind::Unrecognised,
        _ => Kind::Wrong,
    };
    (name, kind)
}

const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
const PVE_CONF: &str = "/etc/pve/corosync.conf";
const AUTHKEY: &str = "/etc/corosync/authkey";
/// The node label when the runbook does not say where a command runs.
const UNKNOWN_NODE: &str = "this node";

/// Which cluster tool edits the config (their two_node rules differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    /// pcs (`__update_two_node`).
    Pcs,
    /// crmsh (`corosync.add_node_ucast` / `del_node`).
    Crmsh,
    /// pvecm (never writes two_node).
    Pvecm,
}

/// What a file on a node holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Content {
    /// A config (index into `Checker::configs`).
    Config(usize),
    /// The cluster's authkey.
    Authkey,
}

/// One configuration the runbook writes or shows.
#[derive(Clone, Debug)]
struct KnownConfig {
    text: String,
    config: model::config::Config,
    /// The runbook line that shows, writes or (through a tool) generates it.
    line: usize,
}

/// The checker's state.
pub(crate) struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    options: &'a RunbookOptions,
    proxmox: bool,
    heading: String,
    node: Option<String>,
    addresses: BTreeMap<String, String>,
    configs: Vec<KnownConfig>,
    files: BTreeMap<(String, String), Content>,
    running: BTreeMap<String, usize>,
    joined_by_copy: BTreeSet<String>,
    dropped: BTreeMap<String, BTreeSet<String>>,
    membership_changed: Option<u64>,
    last_status: bool,
    pending_edit: Option<(String, String, usize)>,
    steps: Vec<Step>,
    other: BTreeSet<String>,
    start_config: Option<String>,
    end_config: Option<String>,
    changed_cluster: bool,
    fault_pending: bool,
    /// Nodes the runbook stopped (or powered off), in order, each once: the engine replays
    /// these stops before judging the next one.
    stopped: Vec<String>,
    /// While a "repeat step N for X" replays step N: (the node step N worked on, X).
    alias: Option<(String, String)>,
    /// Node votes the runbook changed at runtime (`corosync-quorumtool -v`), in order and
    /// still in force: votequorum writes them nowhere, so the target's stop or restart and
    /// any reload put the configured votes back (and drop them here).
    runtime_votes: Vec<RuntimeVotes>,
    /// What the last command did to the nodes' corosync, for the shadow engine (`split`).
    transitions: Vec<Transition>,
    /// The votequorum engine following the runbook with every node's own files, while it
    /// agrees with the checker (`split`).
    shadow: Option<Shadow>,
    /// The verdict cache for `R027` (the runbook's fault budget).
    split_safety: Safety,
}

/// One `corosync-quorumtool -v V [-n T]` the runbook ran and votequorum accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RuntimeVotes {
    /// Where the tool ran.
    tool: String,
    /// The node whose votes changed.
    target: String,
    /// Its votes now.
    votes: u32,
    /// Its votes in its corosync.conf (what a restart or reload puts back).
    configured: u32,
    /// The runbook line of the command.
    line: usize,
}

impl<'a> Checker<'a> {
    /// A checker for `text`.
    pub fn new(file: &'a str, text: &'a str, options: &'a RunbookOptions) -> Checker<'a> {
        let proxmox = options
            .proxmox
            .unwrap_or_else(|| text.contains("pvecm ") || text.contains("/etc/pve/"));
        Checker {
            file,
            text,
            options,
            proxmox,
            heading: String::new(),
            node: None,
            addresses: BTreeMap::new(),
            configs: Vec::new(),
            files: BTreeMap::new(),
            running: BTreeMap::new(),
            joined_by_copy: BTreeSet::new(),
            dropped: BTreeMap::new(),
            membership_changed: None,
            last_status: false,
            pending_edit: None,
            steps: Vec::new(),
            other: BTreeSet::new(),
            start_config: None,
            end_config: None,
            changed_cluster: false,
            fault_pending: false,
            stopped: Vec::new(),
            alias: None,
            runtime_votes: Vec::new(),
            transitions: Vec::new(),
            shadow: None,
            split_safety: Safety::new(options.fault_budget),
        }
    }

    /// Follows `blocks` and returns the report.
    pub fn run(mut self, blocks: &[Block]) -> RunbookReport {
        // Sections: a heading and the blocks up to the next heading.
        let mut sections: Vec<(Option<&Block>, Vec<&Block>)> = vec![(None, Vec::new())];
        for block in blocks {
            match block {
                Block::Heading { .. } => sections.push((Some(block), Vec::new())),
                _ => {
                    if let Some(last) = sections.last_mut() {
                        last.1.push(block);
                    }
                }
            }
        }
        // Numbered steps ("Step 4: ...") and the node each first worked on.
        let mut numbered: BTreeMap<u32, (usize, Option<String>)> = BTreeMap::new();
        for (index, (heading, body)) in sections.iter().enumerate() {
            if let Some(Block::Heading { text, .. }) = heading {
                self.heading = text.clone();
                if let Some(node) = self.node_named_in(text) {
                    self.node = Some(node);
                }
            }
            let before = self.node.clone();
            let mut first_node: Option<String> = None;
            for block in body {
                match block {
                    Block::Prose { text, .. } => self.prose(text),
                    Block::Code { tag, content, offset } => self.code(tag, content, *offset),
                    Block::Heading { .. } => {}
                }
                if first_node.is_none() && self.node != before {
                    first_node = self.node.clone();
                }
            }
            let heading_text = match heading {
                Some(Block::Heading { text, .. }) => text.as_str(),
                _ => "",
            };
            if let Some(number) = step_number(heading_text) {
                let named = self.node_named_in(heading_text);
                numbered.insert(number, (index, named.or(first_node).or(before)));
            }
            let has_code = body.iter().any(|block| matches!(block, Block::Code { .. }));
            if has_code {
                continue;
            }
            // "Repeat step 4 for pve1-node3" with no block of its own: step 4's blocks again,
            // with step 4's node read as the named one.
            for block in body {
                let Block::Prose { text, .. } = block else {
                    continue;
                };
                let Some((steps, targets)) = self.repeat_instruction(text) else {
                    continue;
                };
                for target in targets {
                    for number in &steps {
                        let Some((source, original)) = numbered.get(number).cloned() else {
                            continue;
                        };
                        if source == index {
                            continue;
                        }
                        self.alias = original.map(|original| (original, target.clone()));
                        self.node = Some(target.clone());
                        self.heading = format!("{heading_text} (step {number} repeated for {target})");
                        for repeated in &sections[source].1 {
                            match repeated {
                                Block::Prose { text, .. } => self.prose(text),
                                Block::Code { tag, content, offset } => self.code(tag, content, *offset),
                                Block::Heading { .. } => {}
                            }
                        }
                        self.alias = None;
                    }
                }
                self.heading = heading_text.to_string();
            }
        }
        let configs = (0..self.configs.len())
            .map(|index| (self.config_file_name(index), self.configs[index].text.clone()))
            .collect();
        RunbookReport {
            configs,
            file: self.file.to_string(),
            steps: self.steps,
            not_cluster_related: self.other.into_iter().collect(),
            proxmox: self.proxmox,
            start_config: self.start_config,
            end_config: self.end_config,
        }
    }

    /// `name`, or the node a repeated step stands for when `name` is the node the original
    /// step worked on.
    fn aliased(&self, name: String) -> String {
        match &self.alias {
            Some((from, to)) if *from == name => to.clone(),
            _ => name,
        }
    }

    /// "Repeat step 4 for pve1-node3", "repeat steps 2-3 on node3 and node4": the step
    /// numbers and the nodes.
    fn repeat_instruction(&self, text: &str) -> Option<(Vec<u32>, Vec<String>)> {
        let lower = text.to_lowercase();
        let at = lower.find("repeat")?;
        let rest = &text[at..];
        let lower_rest = &lower[at..];
        let step_at = lower_rest.find("step")?;
        let after = &rest[step_at..];
        let words: Vec<&str> = after
            .split(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == ';')
            .filter(|word| !word.is_empty())
            .collect();
        let mut steps = Vec::new();
        let mut index = 1;
        while index < words.len() {
            let word = words[index].trim_end_matches('.');
            if let Some((low, high)) = word.split_once(['-', '–']) {
                if let (Ok(low), Ok(high)) = (low.parse::<u32>(), high.parse::<u32>()) {
                    if low <= high && high - low < 20 {
                        steps.extend(low..=high);
                    }
                    index += 1;
                    continue;
                }
            }
            match word.parse::<u32>() {
                Ok(number) => steps.push(number),
                Err(_) if matches!(word.to_lowercase().as_str(), "and" | "to" | "through" | "&") => {}
                Err(_) => break,
            }
            if word.to_lowercase() == "to" || word.to_lowercase() == "through" {
                if let (Some(low), Some(Ok(high))) = (
                    steps.last().copied(),
                    words
                        .get(index + 1)
                        .map(|next| next.trim_end_matches('.').parse::<u32>()),
                ) {
                    if low < high && high - low < 20 {
                        steps.extend(low + 1..=high);
                    }
                    index += 2;
                    continue;
                }
            }
            index += 1;
        }
        if steps.is_empty() {
            return None;
        }
        let targets: Vec<String> = words[index.min(words.len())..]
            .iter()
            .filter_map(|word| self.node_named_in(word.trim_end_matches(['.', ')', '('])))
            .fold(Vec::new(), |mut seen, node| {
                if !seen.contains(&node) {
                    seen.push(node);
                }
                seen
            });
        (!targets.is_empty()).then_some((steps, targets))
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    fn finding(&self, code: &'static str, span: (usize, usize), message: String, help: String) -> Finding {
        let (name, kind) = code_info(code);
        Finding {
            kind,
            code,
            name,
            message,
            line: self.line_of(span.0),
            help,
            whatif: None,
            span,
        }
    }

    fn prose(&mut self, text: &str) {
        let lower = text.to_lowercase();
        if lower.contains("on any node") || lower.contains("on all") || lower.contains("on each node") {
            self.node = None;
        }
        if let Some(node) = self.node_named_in(text) {
            if lower.starts_with("on ")
                || lower.contains("ssh to")
                || lower.contains("repeat")
                || lower.contains("from ")
            {
                self.node = Some(node);
            }
        } else if let Some(word) = lower
            .strip_prefix("on ")
            .and_then(|rest| rest.strip_suffix(':'))
            .map(str::trim)
        {
            // "On sles4:" naming a host no config lists yet (a node about to join).
            let hostname = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                && word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !matches!(
                    word,
                    "any" | "all" | "each" | "every" | "it" | "this" | "that" | "them" | "there"
                );
            if hostname {
                let original = &text[3..3 + word.len()];
                self.node = Some(self.aliased(original.to_string()));
            }
        }
    }

    /// A node name the text mentions: a name from the configs seen so far or a word like
    /// `pve1-node2`/`node2` (read through a repeated step's alias).
    fn node_named_in(&self, text: &str) -> Option<String> {
        self.node_named_in_text(text).map(|name| self.aliased(name))
    }

    fn node_named_in_text(&self, text: &str) -> Option<String> {
        for config in &self.configs {
            for node in &config.config.nodelist.nodes {
                if let Some(name) = &node.name {
                    if contains_word(text, &name.value) {
                        return Some(name.value.clone());
                    }
                }
            }
        }
        for address in self.addresses.keys() {
            if contains_word(text, address) {
                return self.addresses.get(address).cloned();
            }
        }
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .map(|word| word.trim_end_matches('.'))
            .find(|word| {
                let lower = word.to_lowercase();
                (lower.contains("node") || lower.starts_with("pve") || lower.starts_with("srv"))
                    && lower.chars().last().is_some_and(|c| c.is_ascii_digit())
                    && !lower.contains('.')
            })
            .map(str::to_string)
    }

    /// The node `host` (`[user@]ADDR` or a name) is, read through a repeated step's alias.
    fn resolve(&mut self, host: &str) -> String {
        let name = self.resolve_host(host);
        self.aliased(name)
    }

    fn resolve_host(&mut self, host: &str) -> String {
        let host = host.rsplit('@').next().unwrap_or(host).to_string();
        if let Some(name) = self.addresses.get(&host) {
            return name.clone();
        }
        for config in &self.configs {
            for node in &config.config.nodelist.nodes {
                if node.ring_addrs.values().any(|addr| addr.value == host) {
                    if let Some(name) = &node.name {
                        return name.value.clone();
                    }
                }
            }
        }
        host
    }

    fn code(&mut self, tag: &str, content: &str, offset: usize) {
        if looks_like_config(content) {
            self.config_block(content, offset);
            return;
        }
        let shell_tag = matches!(tag, "bash" | "sh" | "shell" | "console" | "zsh" | "");
        if !shell_tag && !tag.is_empty() {
            return;
        }
        if tag.is_empty() && !looks_like_shell(content) {
            self.expected_output(content, offset);
            return;
        }
        self.last_status = false;
        let items = shell::split(content);
        let mut previous_comment = String::new();
        for item in items {
            match item {
                Item::Comment { text, offset: at } => {
                    self.comment(&text, offset + at);
                    previous_comment = text;
                }
                Item::Command(command) => {
                    let span = (offset + command.offset, offset + command.end);
                    let raw = self.text[span.0..span.1].trim().to_string();
                    let words = strip_prefix(&command.words);
                    let mut step = Step {
                        line: self.line_of(span.0),
                        heading: self.heading.clone(),
                        node: self.node.clone(),
                        command: raw.clone(),
                        actions: Vec::new(),
                        findings: Vec::new(),
                    };
                    let node = self.node.clone();
                    let cluster =
                        self.command(&words, &command, &raw, span, node, &previous_comment, &mut step);
                    if let Some((body, at)) = &command.heredoc {
                        self.heredoc(&command, body, offset + at, &mut step);
                    }
                    self.follow_transitions(span, &mut step);
                    if cluster || !step.findings.is_empty() || !step.actions.is_empty() {
                        self.steps.push(step);
                    } else if let Some(program) = listed_program(&words) {
                        self.other.insert(program);
                    }
                }
            }
        }
    }

    fn comment(&mut self, text: &str, _offset: usize) {
        let lower = text.to_lowercase();
        if lower.starts_with("on any node") || lower.starts_with("on all") || lower.starts_with("on each") {
            self.node = None;
            return;
        }
        let sets_node = lower.starts_with("ssh to")
            || lower.starts_with("on ")
            || lower.starts_with("from ")
            || lower.starts_with("run on");
        if sets_node && !lower.contains(" or ") {
            if let Some(node) = self.node_named_in(text) {
                self.node = Some(node);
            }
        }
        if self.last_status {
            self.expectation(text, _offset);
        }
        if lower.starts_with("expected") && lower.contains("output") {
            // The lines after it describe the status command above.
        }
    }

    /// A comment or output line after a status command: "Nodes: N" / "show N nodes".
    fn expectation(&mut self, text: &str, offset: usize) {
        let lower = text.to_lowercase();
        let expected = lower
            .strip_prefix("nodes:")
            .and_then(|rest| rest.trim().parse::<usize>().ok())
            .or_else(|| {
                let words: Vec<&str> = lower.split_whitespace().collect();
                words
                    .windows(2)
                    .find(|pair| {
                        pair[1].starts_with("node") && (words.contains(&"show") || words.contains(&"shows"))
                    })
                    .and_then(|pair| pair[0].parse::<usize>().ok())
            });
        let Some(expected) = expected else {
            return;
        };
        let reader = self.steps.last().and_then(|step| step.node.clone());
        let reader = reader.filter(|node| self.running.contains_key(node));
        let members: Vec<String> = match &reader {
            Some(node) => self.membership_of(node),
            None => self.running.keys().cloned().collect(),
        };
        let running = members.len();
        if expected != running {
            let end = offset + text.len() + 1;
            let listed = if members.is_empty() {
                "none".to_string()
            } else {
                members.join(", ")
            };
            let finding = self.finding(
                "R010",
                (offset, end),
                match &reader {
                    Some(node) => format!(
                        "the runbook expects {expected} nodes here, but at this point {node}'s membership has {running} node(s): {listed}"
                    ),
                    None => format!(
                        "the runbook expects {expected} nodes here, but at this point {running} node(s) run corosync: {listed}"
                    ),
                },
                if reader.is_some()
                    && running < self.running.len()
                    && self.dropped.values().all(BTreeSet::is_empty)
                {
                    "the running nodes do not all list each other: this node runs a cluster of its own (its corosync.conf lists only the nodes above); a node joins an existing cluster (`crm cluster join -c MEMBER`, `pcs cluster node add`, `pvecm add`), a second init creates a second cluster".to_string()
                } else if reader.is_some() && running < self.running.len() {
                    "the iptables rules above cut the other running nodes off from this one, so its membership is smaller than the cluster: expect what this node sees, or read the status where the runbook means it".to_string()
                } else {
                    "fix the steps before it (the findings above say why nodes did not start or join)".to_string()
                },
            );
            if let Some(step) = self.steps.last_mut() {
                step.findings.push(finding);
            }
            self.last_status = false;
        }
    }

    /// The running nodes in `node`'s membership: those it can exchange packets with (no
    /// iptables rule the runbook added drops one's address on the other), itself included.
    fn membership_of(&self, node: &str) -> Vec<String> {
        let addresses_of = |name: &str| -> BTreeSet<&str> {
            let listed = self.configs.iter().flat_map(|known| {
                known
                    .config
                    .nodelist
                    .nodes
                    .iter()
                    .filter(move |entry| {
                        entry
                            .name
                            .as_ref()
                            .is_some_and(|entry_name| entry_name.value == name)
                    })
                    .flat_map(|entry| entry.ring_addrs.values().map(|addr| addr.value.as_str()))
            });
            self.addresses
                .iter()
                .filter(|(_, owner)| owner.as_str() == name)
                .map(|(address, _)| address.as_str())
                .chain(listed)
                .collect()
        };
        let drops = |from: &str, to: &str| {
            self.dropped
                .get(from)
                .is_some_and(|dropped| addresses_of(to).iter().any(|address| dropped.contains(*address)))
        };
        // corosync forms a membership only with nodes its running nodelist lists: two
        // one-node clusters (each `crm cluster init` on its own) never see each other.
        let lists = |owner: &str, listed: &str| {
            self.running.get(owner).is_none_or(|index| {
                self.configs
                    .get(*index)
                    .is_none_or(|known| config_nodes(&known.config).iter().any(|name| name == listed))
            })
        };
        self.running
            .keys()
            .filter(|other| {
                other.as_str() == node
                    || (!drops(node, other)
                        && !drops(other, node)
                        && lists(node, other)
                        && lists(other, node))
            })
            .cloned()
            .collect()
    }

    fn expected_output(&mut self, content: &str, offset: usize) {
        self.last_status = true;
        let mut at = offset;
        for line in content.lines() {
            if line.trim().to_lowercase().starts_with("nodes:") {
                self.expectation(line.trim(), at + (line.len() - line.trim_start().len()));
            }
            at += line.len() + 1;
        }
        self.last_status = false;
    }

    fn config_block(&mut self, content: &str, offset: usize) {
        let (document, _) = model::syntax::parse(content);
        let (config, _) = model::config::Config::from_document(&document);
        for node in &config.nodelist.nodes {
            if let Some(name) = &node.name {
                for addr in node.ring_addrs.values() {
                    self.addresses.insert(addr.value.clone(), name.value.clone());
                }
            }
        }
        let index = self.configs.len();
        let line = self.line_of(offset);
        self.configs.push(KnownConfig {
            text: content.to_string(),
            config,
            line,
        });
        let mut step = Step {
            line: self.line_of(offset),
            heading: self.heading.clone(),
            node: self.node.clone(),
            command: "<config block>".to_string(),
            actions: Vec::new(),
            findings: Vec::new(),
        };
        let options = LintOptions {
            proxmox: Some(self.proxmox),
            ..LintOptions::default()
        };
        for diagnostic in lint_text(content, &options) {
            let kind = match diagnostic.severity {
                Severity::Error => Kind::Refused,
                Severity::Warning => Kind::Wrong,
                _ => continue,
            };
            let span = diagnostic
                .span
                .map_or((offset, offset), |span| (offset + span.start, offset + span.end));
            step.findings.push(Finding {
                kind,
                code: diagnostic.code,
                name: diagnostic.name,
                message: diagnostic.message.clone(),
                line: self.line_of(span.0),
                help: diagnostic
                    .help
                    .clone()
                    .unwrap_or_else(|| format!("see `quorate explain {}`", diagnostic.code)),
                whatif: None,
                span,
            });
        }
        if let Some((node, path, _)) = self.pending_edit.take() {
            step.node = Some(node.clone());
            step.actions.push(format!("write {path} on {node}"));
            self.files.insert((node, path), Content::Config(index));
        }
        if !self.changed_cluster
            && self.start_config.is_none()
            && self.running.is_empty()
            && self.configs.len() == 1
        {
            // A config shown before anything changes the cluster is the running one.
            let lower_heading = self.heading.to_lowercase();
            if lower_heading.contains("current")
                || lower_heading.contains("existing")
                || lower_heading.contains("before")
            {
                self.start_config = Some(content.to_string());
                for node in config_nodes(&self.configs[index].config) {
                    self.running.insert(node.clone(), index);
                    self.files
                        .insert((node, COROSYNC_CONF.to_string()), Content::Config(index));
                }
            }
        }
        self.end_config = Some(content.to_string());
        self.steps.push(step);
    }

    fn heredoc(&mut self, command: &shell::Command, body: &str, offset: usize, step: &mut Step) {
        let Some(target) = command.redirects.first().cloned().or_else(|| {
            (command.words.first().map(String::as_str) == Some("tee"))
                .then(|| command.words.get(1).cloned())
                .flatten()
        }) else {
            return;
        };
        if looks_like_config(body) {
            self.config_block(body, offset);
            let index = self.configs.len() - 1;
            let node = self.here();
            step.actions.push(format!("write {target} on {node}"));
            self.files.insert((node, target), Content::Config(index));
            return;
        }
        if body.starts_with("#!") || target.ends_with(".sh") {
            // A script: its commands are checked where they are written (they run when the script runs).
            let saved = std::mem::take(&mut self.steps);
            self.code("bash", body, offset);
            let inner = std::mem::replace(&mut self.steps, saved);
            for inner_step in inner {
                step.findings.extend(inner_step.findings);
            }
        }
    }

    fn here(&self) -> String {
        self.node.clone().unwrap_or_else(|| UNKNOWN_NODE.to_string())
    }

    fn running_config(&self) -> Option<&KnownConfig> {
        let index = self.running.values().max()?;
        self.configs.get(*index)
    }

    /// How long a membership change takes with the running (or last) configuration: the
    /// failure clock's failure-to-membership time (`sim::timing`, token with its
    /// coefficient + consensus, spec 3.4-3.5; held against real corosync in
    /// tests/it/timing), so `R005` and `whatif --timeline` give the same figure.
    fn membership_ms(&self) -> u64 {
        self.running_config()
            .or(self.configs.last())
            .map_or(6_600, |known| {
                sim::timing::Timers::from_config(&known.config).failure_membership_ms()
            })
    }

    /// Handles one command; returns whether it is cluster-related.
    #[allow(clippy::too_many_arguments)]
    fn command(
        &mut self,
        words: &[String],
        command: &shell::Command,
        raw: &str,
        span: (usize, usize),
        node: Option<String>,
        comment: &str,
        step: &mut Step,
    ) -> bool {
        let Some(program) = words.first().map(String::as_str) else {
            return false;
        };
        let was_status = std::mem::replace(&mut self.last_status, false);
        let here = node.clone().unwrap_or_else(|| UNKNOWN_NODE.to_string());
        let arg = |index: usize| words.get(index).map(String::as_str).unwrap_or("");
        if raw.contains("cluster_uuid") && raw.contains("corosync.conf") {
            step.findings.push(self.finding(
                "R013",
                span,
                "corosync.conf has no `cluster_uuid` key (neither corosync 3 nor Proxmox writes one): this reads an empty value".to_string(),
                "use `totem.cluster_name` (`corosync-cmapctl -g totem.cluster_name`) or Proxmox's `pvesh get /cluster/status`".to_string(),
            ));
            return true;
        }
        let touches_authkey = words
            .iter()
            .any(|word| word.ends_with("authkey") || word.contains("authkey "))
            || command.redirects.iter().any(|target| target.ends_with("authkey"));
        match program {
            "ssh" => {
                let rest: Vec<String> = words[1..]
                    .iter()
                    .skip_while(|word| word.starts_with('-'))
                    .cloned()
                    .collect();
                let Some(host) = rest.first() else {
                    return true;
                };
                let target = self.resolve(host);
                let address = host.rsplit('@').next().unwrap_or(host).to_string();
                if rest.len() == 1 {
                    let named = node
                        .clone()
                        .filter(|name| name != UNKNOWN_NODE && name.parse::<std::net::IpAddr>().is_err());
                    if let (Some(name), true) = (named, target == address) {
                        // "On pve-n4:" and then `ssh root@ADDR`: ADDR is that node.
                        self.addresses.insert(address.clone(), name);
                    }
                    let target = self.resolve(host);
                    self.node = Some(target.clone());
                    step.node = Some(target.clone());
                    if let Some(name) = self.node_named_in(comment) {
                        if name != address {
                            self.addresses.insert(address.clone(), name.clone());
                            self.node = Some(name.clone());
                            step.node = Some(name);
                        }
                    }
                    step.actions
                        .push(format!("log in to {}", step.node.clone().unwrap_or_default()));
                    return true;
                }
                if let Some(dropped) = node.as_ref().and_then(|node| self.dropped.get(node)) {
                    if dropped.contains(&address) {
                        step.findings.push(self.finding(
                            "R012",
                            span,
                            format!("{here} drops every packet from {address} (the iptables rule above), so this ssh to it gets no answer and hangs"),
                            format!("run the check from a console on {target}, or drop only the corosync ports (UDP 5405-5412) instead of all traffic"),
                        ));
                    }
                }
                let inner: Vec<String> = rest[1..].to_vec();
                let saved = self.node.replace(target.clone());
                step.node = Some(target);
                let cluster = self.command(&inner, command, raw, span, self.node.clone(), comment, step);
                self.node = saved;
                cluster
            }
            "pvecm" => {
                if matches!(arg(1), "status" | "nodes") {
                    self.read_after_fault(span, step);
                }
                self.pvecm(words, span, &here, step);
                if matches!(arg(1), "status" | "nodes") {
                    self.last_status = true;
                }
                true
            }
            "pcs" => {
                self.pcs(words, span, &here, step);
                true
            }
            "crm" => {
                self.changed_cluster = true;
                self.crm(words, span, &here, step);
                true
            }
            "corosync-cfgtool" => {
                let flags: String = words[1..]
                    .iter()
                    .filter(|word| word.starts_with('-'))
                    .cloned()
                    .collect();
                if flags.contains('R') {
                    step.actions.push(format!("reload via {here}"));
                    self.reload(span, step);
                } else if flags.contains('k') {
                    step.actions
                        .push(format!("stop node {} (corosync-cfgtool -k)", arg(2)));
                } else if flags.contains('s')
                    || flags.contains('n')
                    || flags.contains('b')
                    || flags.is_empty()
                {
                    if comment.to_lowercase().contains("quorum") {
                        step.findings.push(self.finding(
                            "R011",
                            span,
                            "`corosync-cfgtool -s` shows the links' status, not quorum: it says nothing about whether this node is quorate".to_string(),
                            "use `corosync-quorumtool -s` (or `pvecm status`) and read its `Quorate:` line".to_string(),
                        ));
                    }
                    if self.membership_changed.take().is_some() && comment.is_empty() {
                        // A read right after a change: covered by the wait rule.
                    }
                } else {
                    step.findings.push(self.unrecognised(span, raw));
                }
                true
            }
            "corosync-quorumtool" => {
                if let Some(position) = words.iter().position(|word| word == "-e") {
                    let votes: u32 = arg(position + 1).parse().unwrap_or(1);
                    self.forced_expected(votes, span, &here, step);
                } else if let Some(position) = words.iter().position(|word| word == "-v") {
                    let votes = arg(position + 1).parse::<u32>();
                    let nodeid = words
                        .iter()
                        .position(|word| word == "-n")
                        .map(|at| arg(at + 1).parse::<u32>());
                    match (votes, nodeid) {
                        (Ok(votes), None) => self.node_votes(votes, None, span, &here, step),
                        (Ok(votes), Some(Ok(nodeid))) => {
                            self.node_votes(votes, Some(nodeid), span, &here, step)
                        }
                        _ => step.findings.push(self.unrecognised(span, raw)),
                    }
                } else {
                    self.last_status = true;
                }
                true
            }
            "corosync-keygen" => {
                if !self.running.is_empty() {
                    step.findings.push(self.finding(
                        "R014",
                        span,
                        format!("a new authkey on {here} while the cluster runs: {here} can no longer talk to the other nodes (their key differs), and any copy of the old key stays valid for them"),
                        "a corrupted key is replaced by copying the cluster's key from a healthy member (mode 0400, never through /tmp); a new key goes to every node with the whole cluster stopped".to_string(),
                    ));
                }
                step.actions.push(format!("generate authkey on {here}"));
                true
            }
            "systemctl" | "service" => {
                let (verb, units): (&str, Vec<&str>) = if program == "service" {
                    (arg(2), vec![arg(1)])
                } else {
                    (arg(1), words[2..].iter().map(String::as_str).collect())
                };
                let corosync = units
                    .iter()
                    .any(|unit| matches!(unit.trim_end_matches(".service"), "corosync" | "pacemaker"));
                let cluster = corosync
                    || units.iter().any(|unit| {
                        matches!(
                            unit.trim_end_matches(".service"),
                            "pve-cluster" | "corosync-qdevice" | "pcsd"
                        )
                    });
                if !cluster {
                    return false;
                }
                if corosync {
                    match verb {
                        "start" | "restart" => self.start(&here, verb, span, step),
                        "stop" => self.stop_node(&here, format!("stop {here}"), true, span, step),
                        "status" | "is-active" | "is-enabled" => self.last_status = false,
                        _ => step.actions.push(format!("{verb} corosync on {here}")),
                    }
                }
                true
            }
            "poweroff" | "shutdown" | "halt" => {
                self.stop_node(&here, format!("power off {here}"), true, span, step);
                true
            }
            "reboot" => {
                self.start(&here, "restart", span, step);
                true
            }
            "sleep" => {
                self.fault_pending = false;
                let seconds: f64 = arg(1).trim_end_matches('s').parse().unwrap_or(0.0);
                if let Some(needed) = self.membership_changed.take() {
                    let waited = (seconds * 1000.0) as u64;
                    if waited < needed {
                        step.findings.push(self.finding(
                            "R005",
                            span,
                            format!("waits {waited} ms, but a membership change with this configuration takes about {needed} ms (token + consensus, spec 3.4): the check after it can still show the old membership"),
                            format!("wait at least {} s, or poll until `corosync-quorumtool -s` shows the expected members", needed.div_ceil(1000) + 1),
                        ));
                    }
                    return true;
                }
                false
            }
            "iptables" | "ip6tables" | "nft" => {
                let drops = words
                    .iter()
                    .any(|word| matches!(word.as_str(), "DROP" | "REJECT" | "drop" | "reject"));
                if !drops {
                    return false;
                }
                let delete = words.iter().any(|word| word == "-D" || word == "delete");
                let source = words
                    .iter()
                    .position(|word| word == "-s" || word == "saddr" || word == "-d" || word == "daddr")
                    .and_then(|position| words.get(position + 1))
                    .cloned()
                    .unwrap_or_default();
                let set = self.dropped.entry(here.clone()).or_default();
                if delete {
                    set.remove(&source);
                    step.actions.push(format!("heal {here} from {source}"));
                } else {
                    set.insert(source.clone());
                    step.actions.push(format!("cut {here} off from {source}"));
                }
                self.membership_changed = Some(self.membership_ms());
                self.fault_pending = true;
                true
            }
            "netstat" | "ss" => {
                let flags: String = words[1..]
                    .iter()
                    .filter(|word| word.starts_with('-'))
                    .cloned()
                    .collect();
                if flags.contains('t') && !flags.contains('u') && raw.contains("corosync")
                    || command.piped && flags.contains('t') && !flags.contains('u')
                {
                    step.findings.push(self.finding(
                        "R011",
                        span,
                        format!("`{program} {flags}` lists TCP sockets only, and corosync talks over UDP (knet, ports 5405 and up): this shows nothing even when corosync works"),
                        "use `corosync-cfgtool -s` for the links, or `ss -ulpn | grep corosync` for the sockets".to_string(),
                    ));
                    return true;
                }
                false
            }
            "vim" | "vi" | "nano" | "emacs" | "editor" => {
                let Some(path) = words.get(1).filter(|path| {
                    path.contains(".conf") && path.contains("corosync") || path.starts_with("/etc/pve")
                }) else {
                    return false;
                };
                self.path_check(path, span, step);
                self.pending_edit = Some((here.clone(), path.clone(), span.0));
                step.actions.push(format!("edit {path} on {here}"));
                true
            }
            "cp" | "mv" | "scp" | "rsync" | "install" => self.copy(words, span, &here, step),
            "cat" | "less" | "more" | "head" | "tail" | "xxd" | "od" | "hexdump" | "base64" | "strings" => {
                if touches_authkey && command.redirects.is_empty() && !command.piped {
                    step.findings.push(self.finding(
                        "R006",
                        span,
                        "prints the cluster's authkey (the secret every node shares) to the terminal, its scrollback and any session log".to_string(),
                        "never print the key; compare keys with `sha256sum /etc/corosync/authkey` on each node".to_string(),
                    ));
                    return true;
                }
                if let Some(path) = words[1..]
                    .iter()
                    .find(|word| word.contains("corosync") && word.ends_with(".conf"))
                {
                    let before = step.findings.len();
                    self.path_check(path, span, step);
                    return step.findings.len() > before;
                }
                false
            }
            "chmod" | "chown" => {
                if touches_authkey {
                    step.actions.push(format!("{} on {here}", words.join(" ")));
                    return true;
                }
                false
            }
            "mkdir" | "diff" => false,
            _ => {
                if program.starts_with("corosync")
                    || program.starts_with("pvecm")
                    || program.contains("qnetd")
                    || program.contains("qdevice")
                {
                    step.findings.push(self.unrecognised(span, raw));
                    return true;
                }
                let _ = was_status;
                false
            }
        }
    }

    /// Proxmox: a config written to /etc/pve/corosync.conf on a running member reaches every
    /// member and is reloaded (spec 6.2).
    fn pve_write(&mut self, node: &str, index: usize, span: (usize, usize), step: &mut Step) {
        if !self.proxmox || !self.running.contains_key(node) {
            return;
        }
        let old = self.running.get(node).copied().unwrap_or(index);
        if old == index {
            return;
        }
        let version = |index: usize| {
            self.configs.get(index).map_or(0, |known| {
                FileEntry::new("v", &known.text, Purpose::Target)
                    .0
                    .config_version()
            })
        };
        let (old_version, new_version) = (version(old), version(index));
        if new_version <= old_version {
            step.findings.push(self.finding(
                "R018",
                span,
                format!("the new /etc/pve/corosync.conf has config_version {new_version}, not above the running {old_version}: pmxcfs keeps a node's newer local file (`local corosync.conf is newer`) and a restarted node may exit (spec 5.4, 6.2)"),
                format!("set totem.config_version to {} in the new file", old_version + 1),
            ));
        }
        let members: Vec<String> = self.running.keys().cloned().collect();
        for member in &members {
            self.files.insert(
                (member.clone(), COROSYNC_CONF.to_string()),
                Content::Config(index),
            );
        }
        step.actions
            .push(format!("pmxcfs copies it to {} and reloads", members.join(", ")));
        self.reload(span, step);
    }

    /// `corosync-cfgtool -R`: every running node re-reads its own file; refused where the
    /// file changes what a reload cannot change (the engine's `reload_refusal`, spec 5.2).
    fn reload(&mut self, span: (usize, usize), step: &mut Step) {
        if !self.running.is_empty() {
            self.transition(Transition::Reload);
            self.revert_runtime_votes(None, "this reload", span, step);
        }
        let running: Vec<(String, usize)> = self
            .running
            .iter()
            .map(|(node, index)| (node.clone(), *index))
            .collect();
        for (node, old) in running {
            let Some(Content::Config(new)) = self
                .files
                .get(&(node.clone(), COROSYNC_CONF.to_string()))
                .cloned()
            else {
                continue;
            };
            if new == old {
                continue;
            }
            let (Some(old_known), Some(new_known)) = (self.configs.get(old), self.configs.get(new)) else {
                continue;
            };
            let (old_entry, _) = FileEntry::new("old", &old_known.text, Purpose::Source);
            let (new_entry, _) = FileEntry::new("new", &new_known.text, Purpose::Target);
            if let Some(refusal) = old_entry.reload_refusal(&new_entry) {
                step.findings.push(self.finding(
                    "R017",
                    span,
                    format!("{node} refuses the reload: {refusal}; it keeps running the old configuration while its file says otherwise"),
                    "a reload cannot re-address a link: remove the link, reload, add it back with the new address, reload (with a second link carrying the cluster meanwhile); `quorate plan --goal 'readdress NODE LINK ADDR'` gives the verified order".to_string(),
                ));
                return;
            }
            self.running.insert(node, new);
        }
    }

    /// `pvecm qdevice setup`: pvecm's own refusals (spec 6.4): every member online, and an
    /// even member count unless `--force` (which selects lms).
    fn qdevice_setup(
        &mut self,
        words: &[String],
        span: (usize, usize),
        step: &mut Step,
    ) -> Option<model::goal::QdeviceAlgorithm> {
        let known = self.running_config()?;
        let members = config_nodes(&known.config);
        let offline: Vec<&String> = members
            .iter()
            .filter(|node| !self.running.contains_key(*node))
            .collect();
        if let Some(node) = offline.first() {
            step.findings.push(self.finding(
                "R020",
                span,
                format!("pvecm refuses the setup while a member is offline (`All nodes must be online! Node {node} is offline, aborting.`)"),
                "start every member first (or remove the ones that are gone with `pvecm delnode`)".to_string(),
            ));
            return None;
        }
        let forced = words
            .iter()
            .any(|word| word == "--force" || word == "-force" || word == "-f");
        if members.len() % 2 == 1 && !forced {
            step.findings.push(self.finding(
                "R020",
                span,
                format!("pvecm refuses a quorum device for {} nodes (`Clusters with an odd node count are not officially supported!`)", members.len()),
                "with an odd node count the cluster already breaks ties; if you still want one, `--force` selects the lms algorithm with N-1 votes for the device (spec 2.9, 6.4), check it with `quorate whatif`".to_string(),
            ));
            return None;
        }
        Some(if members.len() % 2 == 1 {
            model::goal::QdeviceAlgorithm::Lms
        } else {
            model::goal::QdeviceAlgorithm::Ffsplit
        })
    }

    /// `pcs cluster setup|start|stop`, `pcs quorum update`; other pcs commands are listed
    /// as actions.
    fn pcs(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        let sub: Vec<&str> = words.iter().skip(1).take(2).map(String::as_str).collect();
        self.changed_cluster = true;
        match sub.as_slice() {
            ["cluster", "setup"] => {
                let name = words.get(3).cloned().unwrap_or_else(|| "cluster".to_string());
                let mut nodes: Vec<(String, String)> = Vec::new();
                for word in words.iter().skip(4).filter(|word| !word.starts_with('-')) {
                    if let Some(addr) = word.strip_prefix("addr=") {
                        if let Some(last) = nodes.last_mut() {
                            last.1 = addr.to_string();
                        }
                    } else if !word.contains('=') {
                        nodes.push((word.clone(), word.clone()));
                    }
                }
                for (node, addr) in &nodes {
                    self.addresses.insert(addr.clone(), node.clone());
                }
                let text = pcs_setup_text(&name, &nodes);
                let (document, _) = model::syntax::parse(&text);
                let (config, _) = model::config::Config::from_document(&document);
                let index = self.configs.len();
                let line = self.line_of(span.0);
                self.configs.push(KnownConfig { text, config, line });
                for (node, _) in &nodes {
                    self.files
                        .insert((node.clone(), COROSYNC_CONF.to_string()), Content::Config(index));
                    self.files
                        .insert((node.clone(), AUTHKEY.to_string()), Content::Authkey);
                }
                step.actions.push(format!(
                    "write {COROSYNC_CONF} and the authkey on {}",
                    nodes
                        .iter()
                        .map(|(node, _)| node.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if words.iter().any(|word| word == "--start") {
                    for (node, _) in &nodes {
                        self.start(node, "start", span, step);
                    }
                }
            }
            ["cluster", "start"] | ["cluster", "stop"] => {
                let all = words.iter().any(|word| word == "--all");
                let named: Vec<String> = words
                    .iter()
                    .skip(3)
                    .filter(|word| !word.starts_with('-'))
                    .cloned()
                    .collect();
                let nodes: Vec<String> = if all {
                    self.configs
                        .last()
                        .map(|known| config_nodes(&known.config))
                        .unwrap_or_default()
                } else if named.is_empty() {
                    vec![here.to_string()]
                } else {
                    named
                };
                for node in nodes {
                    if sub[1] == "start" {
                        self.start(&node, "start", span, step);
                    } else {
                        // `--all` stops the whole cluster on purpose (a declared outage, e.g.
                        // for `pcs quorum update`): only single stops are judged.
                        self.stop_node(&node, format!("stop {node}"), !all, span, step);
                    }
                }
            }
            ["quorum", "update"] => {
                if !self.running.is_empty() {
                    step.findings.push(self.finding(
                        "R021",
                        span,
                        "pcs refuses to change quorum options while corosync runs (wait_for_all, last_man_standing, auto_tie_breaker are read only at startup, spec 5.2)".to_string(),
                        "stop the cluster first (`pcs cluster stop --all`), update, then start it (`pcs cluster start --all`)".to_string(),
                    ));
                }
                step.actions.push(format!("{} on {here}", words.join(" ")));
            }
            ["cluster", "node"] => self.pcs_node(words, span, here, step),
            ["cluster", "link"] => self.pcs_link(words, span, here, step),
            ["cluster", "sync"] => {
                // pcs copies this node's corosync.conf to every node it lists and reloads.
                let Some(Content::Config(index)) = self
                    .files
                    .get(&(here.to_string(), COROSYNC_CONF.to_string()))
                    .cloned()
                else {
                    step.actions.push(format!("{} on {here}", words.join(" ")));
                    return;
                };
                self.distribute(index, &[], step);
                step.actions
                    .push(format!("reload on every node (pcs, from {here})"));
                self.reload(span, step);
            }
            ["cluster", "reload"] if words.get(3).map(String::as_str) == Some("corosync") => {
                step.actions
                    .push(format!("reload on every node (pcs, from {here})"));
                self.reload(span, step);
            }
            ["quorum", "device"] => {
                let verb = words.get(3).map(String::as_str).unwrap_or("");
                let goal = match verb {
                    "add" => {
                        let value = |key: &str| {
                            words
                                .iter()
                                .find_map(|word| word.strip_prefix(&format!("{key}=")).map(str::to_string))
                        };
                        let algorithm = match value("algorithm").as_deref() {
                            Some("lms") => Some(model::goal::QdeviceAlgorithm::Lms),
                            Some("ffsplit") => Some(model::goal::QdeviceAlgorithm::Ffsplit),
                            _ => None,
                        };
                        value("host").map(|host| model::goal::Goal::AddQdevice { host, algorithm })
                    }
                    "remove" | "delete" => Some(model::goal::Goal::RemoveQdevice),
                    _ => None,
                };
                match goal {
                    Some(goal) => {
                        let what = format!("quorum device {verb} (pcs: every node's file, reload)");
                        self.tool_edit(&[goal], Tool::Pcs, &what, span, here, step);
                    }
                    None => step.actions.push(format!("{} on {here}", words.join(" "))),
                }
            }
            _ => step.actions.push(format!("{} on {here}", words.join(" "))),
        }
    }

    /// The config the cluster around `here` runs: `here`'s file, else the running config,
    /// else the last one seen.
    fn base_config(&self, here: &str) -> Option<usize> {
        match self.files.get(&(here.to_string(), COROSYNC_CONF.to_string())) {
            Some(Content::Config(index)) => Some(*index),
            _ => self
                .running
                .values()
                .next_back()
                .copied()
                .or_else(|| self.configs.len().checked_sub(1)),
        }
    }

    /// Writes config `index` as corosync.conf on every node its nodelist names (and on
    /// `extra`).
    fn distribute(&mut self, index: usize, extra: &[String], step: &mut Step) {
        let mut nodes = config_nodes(&self.configs[index].config);
        for node in extra {
            if !nodes.contains(node) {
                nodes.push(node.clone());
            }
        }
        for node in &nodes {
            self.files
                .insert((node.clone(), COROSYNC_CONF.to_string()), Content::Config(index));
        }
        step.actions
            .push(format!("write {COROSYNC_CONF} on {}", nodes.join(", ")));
    }

    /// A pcs (or crmsh) command that edits the cluster's config the way `quorate plan`'s
    /// goals do (`model::goal`, comments kept), keeps the tool's own two_node rule (pcs:
    /// set for exactly two nodes without a quorum device or auto_tie_breaker; crmsh: set
    /// for exactly two nodes without a quorum device; both drop it otherwise), writes the
    /// result on every node and reloads the running ones. `here` names the node whose
    /// file is the starting point.
    fn tool_edit(
        &mut self,
        goals: &[model::goal::Goal],
        tool: Tool,
        what: &str,
        span: (usize, usize),
        here: &str,
        step: &mut Step,
    ) -> Option<usize> {
        let base = self.base_config(here)?;
        let (document, _) = model::syntax::parse(&self.configs[base].text);
        let applied = match model::goal::apply(&document, goals) {
            Ok(applied) => applied,
            Err(error) => {
                step.findings.push(self.finding(
                    "R001",
                    span,
                    format!("quorate cannot follow this pcs command on the config the runbook has at this point: {error}"),
                    "check the node names and addresses against the cluster's corosync.conf".to_string(),
                ));
                return None;
            }
        };
        let mut text = applied.document.to_text();
        let mut consequences: Vec<String> = applied
            .notes
            .iter()
            .filter(|note| note.starts_with("two_node"))
            .cloned()
            .collect();
        let (document, _) = model::syntax::parse(&text);
        let (config, _) = model::config::Config::from_document(&document);
        let pair = tool != Tool::Pvecm
            && config.nodelist.nodes.len() == 2
            && config.quorum.device.is_none()
            && (tool == Tool::Crmsh
                || config
                    .quorum
                    .auto_tie_breaker
                    .as_ref()
                    .is_none_or(|value| value.value == 0));
        let has_two_node = config
            .quorum
            .two_node
            .as_ref()
            .is_some_and(|value| value.value != 0);
        if pair && !has_two_node {
            if let Ok(set) = model::goal::apply(
                &document,
                &[model::goal::Goal::Set {
                    section: "quorum".to_string(),
                    key: "two_node".to_string(),
                    value: "1".to_string(),
                }],
            ) {
                text = set.document.to_text();
                consequences.push(match tool {
                    Tool::Crmsh => "two_node set: crmsh writes it for exactly two nodes without a quorum device".to_string(),
                    Tool::Pcs | Tool::Pvecm => "two_node set: pcs writes it for exactly two nodes without a quorum device or auto_tie_breaker".to_string(),
                });
            }
        }
        let (document, _) = model::syntax::parse(&text);
        let (config, _) = model::config::Config::from_document(&document);
        let index = self.configs.len();
        let line = self.line_of(span.0);
        self.configs.push(KnownConfig { text, config, line });
        self.end_config = Some(self.configs[index].text.clone());
        step.actions.push(what.to_string());
        step.actions.extend(consequences);
        self.distribute(index, &[], step);
        self.reload(span, step);
        Some(index)
    }

    /// `pcs cluster node add NAME [addr=A]... [--start] [--enable]` and
    /// `pcs cluster node remove|delete NAME...`.
    fn pcs_node(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        let verb = words.get(3).map(String::as_str).unwrap_or("");
        let names: Vec<String> = words
            .iter()
            .skip(4)
            .filter(|word| !word.starts_with('-') && !word.contains('='))
            .cloned()
            .collect();
        match verb {
            "add" => {
                let Some(name) = names.first().cloned() else {
                    step.findings.push(self.unrecognised(span, &words.join(" ")));
                    return;
                };
                let mut addresses: Vec<String> = words
                    .iter()
                    .filter_map(|word| word.strip_prefix("addr=").map(str::to_string))
                    .collect();
                if addresses.is_empty() {
                    // pcs resolves the name and uses it as the address.
                    addresses.push(name.clone());
                }
                for address in &addresses {
                    self.addresses.insert(address.clone(), name.clone());
                }
                let goal = model::goal::Goal::AddNode {
                    name: name.clone(),
                    addresses,
                    votes: None,
                    nodeid: None,
                };
                let what = format!(
                    "add {name} to the nodelist (pcs: every node's file, the authkey to {name}, reload)"
                );
                if self
                    .tool_edit(&[goal], Tool::Pcs, &what, span, here, step)
                    .is_some()
                {
                    self.files
                        .insert((name.clone(), AUTHKEY.to_string()), Content::Authkey);
                    if words.iter().any(|word| word == "--start") {
                        self.start(&name, "start", span, step);
                    }
                }
            }
            "remove" | "delete" => {
                if names.is_empty() {
                    step.findings.push(self.unrecognised(span, &words.join(" ")));
                    return;
                }
                // pcs stops the cluster on the nodes it removes first.
                for name in &names {
                    if self.running.contains_key(name) {
                        self.stop_node(name, format!("stop {name} (pcs)"), true, span, step);
                    }
                }
                let goals: Vec<model::goal::Goal> = names
                    .iter()
                    .map(|name| model::goal::Goal::RemoveNode { node: name.clone() })
                    .collect();
                let what = format!(
                    "remove {} from the nodelist (pcs: every node's file, reload)",
                    names.join(", ")
                );
                if self
                    .tool_edit(&goals, Tool::Pcs, &what, span, here, step)
                    .is_some()
                {
                    for name in &names {
                        self.files.remove(&(name.clone(), COROSYNC_CONF.to_string()));
                        self.files.remove(&(name.clone(), AUTHKEY.to_string()));
                    }
                }
            }
            _ => step.actions.push(format!("{} on {here}", words.join(" "))),
        }
    }

    /// `crm cluster join -c NODE` (run on the joining node: crmsh adds it to NODE's
    /// nodelist, syncs the file to every node, reloads and starts the cluster here) and
    /// `crm cluster remove -c NODE...` (stops the nodes, removes them, syncs, reloads).
    /// Other `crm` commands are listed as actions.
    fn crm(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        let sub: Vec<&str> = words.iter().skip(1).take(2).map(String::as_str).collect();
        let cluster_nodes: Vec<String> = words
            .windows(2)
            .filter(|pair| matches!(pair[0].as_str(), "-c" | "--cluster-node"))
            .map(|pair| pair[1].clone())
            .chain(
                words
                    .iter()
                    .filter_map(|word| word.strip_prefix("--cluster-node=").map(str::to_string)),
            )
            .collect();
        match sub.as_slice() {
            ["cluster", "init"] if here != UNKNOWN_NODE => self.crm_init(words, span, here, step),
            ["cluster", "join"] if here != UNKNOWN_NODE => {
                let Some(seed) = cluster_nodes.first().cloned() else {
                    step.actions.push(format!("{} on {here}", words.join(" ")));
                    return;
                };
                self.crm_join(&seed, span, here, step);
            }
            ["cluster", "remove"] => {
                let names: Vec<String> = cluster_nodes.iter().map(|node| self.resolve(node)).collect();
                if names.is_empty() {
                    step.findings.push(self.unrecognised(span, &words.join(" ")));
                    return;
                }
                for name in &names {
                    if self.running.contains_key(name) {
                        self.stop_node(name, format!("stop {name} (crmsh)"), true, span, step);
                    }
                }
                let goals: Vec<model::goal::Goal> = names
                    .iter()
                    .map(|name| model::goal::Goal::RemoveNode { node: name.clone() })
                    .collect();
                let what = format!(
                    "remove {} from the nodelist (crmsh: every node's file, reload)",
                    names.join(", ")
                );
                if self
                    .tool_edit(&goals, Tool::Crmsh, &what, span, here, step)
                    .is_some()
                {
                    for name in &names {
                        self.files.remove(&(name.clone(), COROSYNC_CONF.to_string()));
                        self.files.remove(&(name.clone(), AUTHKEY.to_string()));
                    }
                }
            }
            _ => step.actions.push(format!("{} on {here}", words.join(" "))),
        }
    }

    /// `crm cluster join -c SEED` run on `here`: crmsh adds `here` to SEED's nodelist (with
    /// its two_node rule), syncs the file to every node, reloads, sends the authkey and
    /// starts the cluster on `here`.
    fn crm_join(&mut self, seed: &str, span: (usize, usize), here: &str, step: &mut Step) {
        let seed = self.resolve(seed);
        let address = self
            .addresses
            .iter()
            .find(|(_, node)| node.as_str() == here)
            .map_or_else(|| here.to_string(), |(address, _)| address.clone());
        let goal = model::goal::Goal::AddNode {
            name: here.to_string(),
            addresses: vec![address],
            votes: None,
            nodeid: None,
        };
        let what = format!(
            "add {here} to {seed}'s nodelist (crmsh: every node's file, the authkey to {here}, reload)"
        );
        if self
            .tool_edit(&[goal], Tool::Crmsh, &what, span, &seed, step)
            .is_some()
        {
            self.files
                .insert((here.to_string(), AUTHKEY.to_string()), Content::Authkey);
            self.start(here, "start", span, step);
        }
    }

    /// `crm cluster init [options] [STAGE]` on `here` (crmsh `bootstrap_init`): without a
    /// stage, the corosync stage (a new authkey and the one-node corosync.conf crmsh
    /// writes, `crm_init_text`), the quorum device with `--qnetd-hostname`, the cluster
    /// stage (the cluster started on `here`), then every `-N NODE` joins as with `crm
    /// cluster join -c here` run on it. The stages `corosync`, `cluster` and `qdevice` alone
    /// do their part; the other stages (ssh, csync2, sbd, ...) are listed as actions.
    /// crmsh's refusals (`_validate_stage`): a full init or the corosync/cluster stage while
    /// the cluster runs on `here`, the qdevice stage while it does not, are `R026`.
    fn crm_init(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        const VALUED: &[&str] = &[
            "-n",
            "--name",
            "-N",
            "--node",
            "-w",
            "--watchdog",
            "-i",
            "--interface",
            "-t",
            "--transport",
            "-A",
            "--admin-ip",
            "--qnetd-hostname",
            "--qdevice-port",
            "--qnetd-port",
            "--qdevice-algo",
            "--qdevice-tie-breaker",
            "--qdevice-tls",
            "--qdevice-heuristics",
            "--qdevice-heuristics-mode",
            "-s",
            "--sbd-device",
            "-o",
            "--ocfs2-device",
            "-g",
            "--gfs2-device",
            "-m",
            "--mount-point",
        ];
        let mut options: Vec<(String, String)> = Vec::new();
        let mut flags: BTreeSet<String> = BTreeSet::new();
        let mut stage = String::new();
        let mut rest = words.iter().skip(3);
        while let Some(word) = rest.next() {
            if let Some((key, value)) = word.split_once('=').filter(|(key, _)| key.starts_with("--")) {
                options.push((key.to_string(), value.to_string()));
            } else if VALUED.contains(&word.as_str()) {
                options.push((word.clone(), rest.next().cloned().unwrap_or_default()));
            } else if word.starts_with('-') {
                flags.insert(word.clone());
            } else if stage.is_empty() {
                stage = word.clone();
            }
        }
        let values = |short: &str, long: &str| -> Vec<String> {
            options
                .iter()
                .filter(|(key, _)| key == short || key == long)
                .map(|(_, value)| value.clone())
                .collect()
        };
        let running = self.running.contains_key(here);
        let refusal = match stage.as_str() {
            "" if running => Some("Cluster is already running!".to_string()),
            "corosync" | "cluster" if running => {
                Some(format!("Cluster is active, can't run '{stage}' stage"))
            }
            "qdevice" | "sbd" | "admin" | "ocfs2" if !running => {
                Some(format!("Cluster is inactive, can't run '{stage}' stage"))
            }
            _ => None,
        };
        self.changed_cluster = true;
        if let Some(refusal) = refusal {
            step.actions.push(format!("{} on {here}", words.join(" ")));
            step.findings.push(self.finding(
                "R026",
                span,
                format!("crmsh refuses this on {here} (`{refusal}`): nothing is changed"),
                if running {
                    format!("a running cluster is grown with `crm cluster join -c {here}` run on the new node, not with a new init")
                } else {
                    format!("start the cluster on {here} first (`crm cluster start`), or run the whole `crm cluster init`")
                },
            ));
            return;
        }
        let qnetd = values("--qnetd-hostname", "--qnetd-hostname").into_iter().next();
        let qdevice_goal = |qnetd: &Option<String>| {
            qnetd.as_ref().map(|host| model::goal::Goal::AddQdevice {
                host: host.rsplit('@').next().unwrap_or(host).to_string(),
                algorithm: match values("--qdevice-algo", "--qdevice-algo")
                    .first()
                    .map(String::as_str)
                {
                    Some("lms") => Some(model::goal::QdeviceAlgorithm::Lms),
                    _ => Some(model::goal::QdeviceAlgorithm::Ffsplit),
                },
            })
        };
        match stage.as_str() {
            "" | "corosync" => {
                let name = values("-n", "--name")
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "hacluster".to_string());
                let transport = values("-t", "--transport")
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "knet".to_string());
                let known_address = self
                    .addresses
                    .iter()
                    .find(|(_, node)| node.as_str() == here)
                    .map(|(address, _)| address.clone());
                // `-i` takes an interface or an address; quorate knows only addresses.
                let mut addresses: Vec<String> = values("-i", "--interface")
                    .into_iter()
                    .filter_map(|value| {
                        if value.parse::<std::net::IpAddr>().is_ok() {
                            Some(value)
                        } else {
                            known_address.clone()
                        }
                    })
                    .collect();
                if addresses.is_empty() {
                    addresses.push(known_address.unwrap_or_else(|| here.to_string()));
                }
                addresses.dedup();
                let ipv6 = flags.contains("-I") || flags.contains("--ipv6");
                for address in &addresses {
                    self.addresses.insert(address.clone(), here.to_string());
                }
                let text = crm_init_text(&name, here, &addresses, &transport, ipv6);
                let (document, _) = model::syntax::parse(&text);
                let (config, _) = model::config::Config::from_document(&document);
                let index = self.configs.len();
                let line = self.line_of(span.0);
                self.configs.push(KnownConfig { text, config, line });
                self.end_config = Some(self.configs[index].text.clone());
                self.files.insert(
                    (here.to_string(), COROSYNC_CONF.to_string()),
                    Content::Config(index),
                );
                self.files
                    .insert((here.to_string(), AUTHKEY.to_string()), Content::Authkey);
                step.actions.extend([
                    format!("generate authkey on {here}"),
                    format!("write {COROSYNC_CONF} on {here} (1 node, crmsh)"),
                ]);
                if stage.is_empty() {
                    if let Some(goal) = qdevice_goal(&qnetd) {
                        let what = "quorum device in the config (crmsh: every node's file)";
                        self.tool_edit(&[goal], Tool::Crmsh, what, span, here, step);
                    }
                    self.start(here, "start", span, step);
                    let seed = here.to_string();
                    for node in values("-N", "--node") {
                        let node = self.resolve(&node);
                        step.actions
                            .push(format!("{node} joins through {seed} (crmsh -N)"));
                        self.crm_join(&seed, span, &node, step);
                    }
                }
            }
            "cluster" => self.start(here, "start", span, step),
            "qdevice" => match qdevice_goal(&qnetd) {
                Some(goal) => {
                    let what = "quorum device in the config (crmsh: every node's file, reload)";
                    self.tool_edit(&[goal], Tool::Crmsh, what, span, here, step);
                }
                None => step.actions.push(format!("{} on {here}", words.join(" "))),
            },
            _ => step.actions.push(format!("{} on {here}", words.join(" "))),
        }
    }

    /// `pcs cluster link add NODE=ADDR... [options linknumber=N]` and
    /// `pcs cluster link delete|remove N...`.
    fn pcs_link(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        let verb = words.get(3).map(String::as_str).unwrap_or("");
        let Some(base) = self.base_config(here) else {
            step.actions.push(format!("{} on {here}", words.join(" ")));
            return;
        };
        let goals: Vec<model::goal::Goal> = match verb {
            "add" => {
                let config = &self.configs[base].config;
                let by_node: BTreeMap<String, String> = words
                    .iter()
                    .skip(4)
                    .filter_map(|word| word.split_once('='))
                    .filter(|(key, _)| {
                        !matches!(
                            *key,
                            "linknumber"
                                | "link_priority"
                                | "mcastport"
                                | "ping_interval"
                                | "ping_precision"
                                | "ping_timeout"
                                | "pong_count"
                                | "transport"
                        )
                    })
                    .map(|(node, addr)| (node.to_string(), addr.to_string()))
                    .collect();
                let used = config_links(config);
                let link = words
                    .iter()
                    .find_map(|word| {
                        word.strip_prefix("linknumber=")
                            .and_then(|value| value.parse::<u8>().ok())
                    })
                    .or_else(|| (0u8..8).find(|link| !used.contains(&u32::from(*link))));
                let addresses: Option<Vec<String>> = config_nodes(config)
                    .iter()
                    .map(|node| by_node.get(node).cloned())
                    .collect();
                match (link, addresses) {
                    (Some(link), Some(addresses)) => vec![model::goal::Goal::AddLink { link, addresses }],
                    _ => {
                        step.findings.push(self.finding(
                            "R001",
                            span,
                            "`pcs cluster link add` needs an address for every node of the cluster (NODE=ADDR for each); quorate cannot follow it".to_string(),
                            "give NODE=ADDR for every node in the nodelist".to_string(),
                        ));
                        return;
                    }
                }
            }
            "delete" | "remove" => words
                .iter()
                .skip(4)
                .filter_map(|word| word.parse::<u8>().ok())
                .map(|link| model::goal::Goal::RemoveLink { link })
                .collect(),
            _ => Vec::new(),
        };
        if goals.is_empty() {
            step.actions.push(format!("{} on {here}", words.join(" ")));
            return;
        }
        let what = format!("link {verb} (pcs: every node's file, reload)");
        self.tool_edit(&goals, Tool::Pcs, &what, span, here, step);
    }

    /// A status read right after the runbook cut nodes off, with no wait in between.
    fn read_after_fault(&mut self, span: (usize, usize), step: &mut Step) {
        if std::mem::replace(&mut self.fault_pending, false) {
            let needed = self.membership_ms();
            step.findings.push(self.finding(
                "R005",
                span,
                format!("reads the status right after the iptables change: the membership changes only after token + consensus (about {needed} ms here, spec 3.5), so this still shows the old membership"),
                format!("wait at least {} s (or poll) before the check", needed.div_ceil(1000) + 1),
            ));
        }
    }

    fn unrecognised(&self, span: (usize, usize), raw: &str) -> Finding {
        self.finding(
            "R001",
            span,
            format!("`{raw}` looks cluster-related but quorate cannot tell what it does to the cluster"),
            "check it by hand, or write it as one of the commands docs/runbook.md lists".to_string(),
        )
    }

    fn path_check(&self, path: &str, span: (usize, usize), step: &mut Step) {
        let base = path.trim_end_matches(".bak");
        if base.contains("corosync")
            && base.ends_with(".conf")
            && base != COROSYNC_CONF
            && base != PVE_CONF
            && !base.starts_with("/tmp")
        {
            step.findings.push(self.finding(
                "R003",
                span,
                format!("`{base}` is read by neither corosync (it reads {COROSYNC_CONF}; corosync 3 has no conf.d) nor Proxmox (its cluster-wide copy is {PVE_CONF})"),
                if self.proxmox {
                    format!("edit a copy of {PVE_CONF}, increase totem.config_version, and move it over {PVE_CONF} (spec 6.1)")
                } else {
                    format!("edit {COROSYNC_CONF}")
                },
            ));
        }
    }

    /// `pvecm add MEMBER [--link0 ADDR] [--link1 ADDR]` run on `here`, followed as pvecm does
    /// it (spec 6.4): the member adds `here` to the cluster's nodelist (next free node id,
    /// config_version bumped) through /etc/pve, every member's corosync.conf gets it and
    /// corosync reloads; then `here` gets the file and the authkey and starts. Only where the
    /// cluster's running config and `here`'s address are known and the file can be edited
    /// (else the caller keeps its coarse view: `here` runs the cluster's config). True when
    /// followed.
    fn pvecm_join(
        &mut self,
        links: &[Option<String>; 2],
        span: (usize, usize),
        here: &str,
        step: &mut Step,
    ) -> bool {
        if here == UNKNOWN_NODE || self.running.contains_key(here) {
            return false;
        }
        let Some(base) = self.running.values().max().copied() else {
            return false;
        };
        let config = &self.configs[base].config;
        if config_nodes(config).iter().any(|node| node == here) {
            return false;
        }
        let used = config_links(config);
        let known = self
            .addresses
            .iter()
            .find(|(_, node)| node.as_str() == here)
            .map(|(address, _)| address.clone());
        let mut addresses = Vec::new();
        for (link, given) in links.iter().enumerate() {
            if !used.contains(&(link as u32)) {
                continue;
            }
            let address = given
                .as_ref()
                .map(|value| value.split(',').next().unwrap_or("").to_string())
                .or_else(|| if link == 0 { known.clone() } else { None });
            match address {
                Some(address) if !address.is_empty() => addresses.push(address),
                _ => return false,
            }
        }
        if addresses.len() != used.len() {
            return false;
        }
        let goal = model::goal::Goal::AddNode {
            name: here.to_string(),
            addresses: addresses.clone(),
            votes: None,
            nodeid: None,
        };
        let (document, _) = model::syntax::parse(&self.configs[base].text);
        if model::goal::apply(&document, std::slice::from_ref(&goal)).is_err() {
            return false;
        }
        for address in &addresses {
            self.addresses.insert(address.clone(), here.to_string());
        }
        let what =
            format!("add {here} to the nodelist (pvecm, through /etc/pve: every member's file, reload)");
        let Some(index) = self.tool_edit(&[goal], Tool::Pvecm, &what, span, here, step) else {
            return false;
        };
        for node in config_nodes(&self.configs[index].config) {
            self.files
                .insert((node, PVE_CONF.to_string()), Content::Config(index));
        }
        self.files
            .insert((here.to_string(), AUTHKEY.to_string()), Content::Authkey);
        self.start(here, "start", span, step);
        true
    }

    fn pvecm(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) {
        let sub = words.get(1).map(String::as_str).unwrap_or("");
        let option = |name: &str| {
            words
                .iter()
                .position(|word| word == name || word.trim_start_matches('-') == name.trim_start_matches('-'))
                .and_then(|position| words.get(position + 1))
                .cloned()
        };
        let removed: Vec<&str> = [
            "--bindnet0_addr",
            "--ring0_addr",
            "--bindnet1_addr",
            "--ring1_addr",
            "-bindnet0_addr",
            "-ring0_addr",
        ]
        .into_iter()
        .filter(|flag| words.iter().any(|word| word == flag))
        .collect();
        if !removed.is_empty() {
            step.findings.push(self.finding(
                "R002",
                span,
                format!(
                    "`pvecm {sub}` has no {} since Proxmox VE 6 (corosync 3): the command refuses them",
                    removed.join(" or ")
                ),
                "give the link address as `--link0 ADDR` (and `--link1 ADDR` for a second link)".to_string(),
            ));
        }
        match sub {
            "create" => {
                let name = words.get(2).cloned().unwrap_or_else(|| "cluster".to_string());
                let address = option("--link0")
                    .or_else(|| option("--ring0_addr"))
                    .map(|value| value.split(',').next().unwrap_or("").to_string())
                    .or_else(|| {
                        self.addresses
                            .iter()
                            .find(|(_, node)| node.as_str() == here)
                            .map(|(addr, _)| addr.clone())
                    })
                    .unwrap_or_else(|| "127.0.0.1".to_string());
                let node = if here == UNKNOWN_NODE {
                    "node1".to_string()
                } else {
                    here.to_string()
                };
                self.addresses.insert(address.clone(), node.clone());
                let text = pvecm_create_text(&name, &node, &address);
                let (document, _) = model::syntax::parse(&text);
                let (config, _) = model::config::Config::from_document(&document);
                let index = self.configs.len();
                let line = self.line_of(span.0);
                self.configs.push(KnownConfig { text, config, line });
                self.files
                    .insert((node.clone(), COROSYNC_CONF.to_string()), Content::Config(index));
                self.files
                    .insert((node.clone(), PVE_CONF.to_string()), Content::Config(index));
                self.files
                    .insert((node.clone(), AUTHKEY.to_string()), Content::Authkey);
                self.running.insert(node.clone(), index);
                self.changed_cluster = true;
                self.membership_changed = Some(self.membership_ms());
                step.actions.extend([
                    format!("generate authkey on {node}"),
                    format!("write {PVE_CONF} on {node} (1 node)"),
                    format!("start {node}"),
                ]);
            }
            "add" => {
                step.actions.push(format!(
                    "join {here} through {}",
                    words.get(2).cloned().unwrap_or_default()
                ));
                self.changed_cluster = true;
                let links = [option("--link0"), option("--link1")];
                if self.pvecm_join(&links, span, here, step) {
                    self.membership_changed = Some(self.membership_ms());
                    return;
                }
                if let Some(index) = self.running.values().max().copied() {
                    self.running.insert(here.to_string(), index);
                    self.files.insert(
                        (here.to_string(), COROSYNC_CONF.to_string()),
                        Content::Config(index),
                    );
                    self.files
                        .insert((here.to_string(), AUTHKEY.to_string()), Content::Authkey);
                }
                self.membership_changed = Some(self.membership_ms());
            }
            "delnode" => {
                let target = words.get(2).cloned().unwrap_or_default();
                let target = self.resolve(&target);
                if target == here {
                    step.findings.push(self.finding(
                        "R019",
                        span,
                        format!("pvecm refuses to remove the node it runs on (`Cannot delete myself from cluster!`): {here} is {target}"),
                        format!("power {target} off first, then run `pvecm delnode {target}` on a remaining member (spec 6.4)"),
                    ));
                    return;
                }
                if self.running.remove(&target).is_some() {
                    self.transition(Transition::Stop(target.clone()));
                }
                self.changed_cluster = true;
                step.actions.push(format!(
                    "stop {target} (corosync-cfgtool -k), write {PVE_CONF} without it"
                ));
                self.membership_changed = Some(self.membership_ms());
            }
            "expected" => {
                let votes: u32 = words.get(2).and_then(|value| value.parse().ok()).unwrap_or(1);
                self.forced_expected(votes, span, here, step);
            }
            "status" | "nodes" => step.actions.push(format!("read quorum on {here}")),
            "qdevice" => {
                step.actions.push(format!("{} on {here}", words.join(" ")));
                self.changed_cluster = true;
                match words.get(2).map(String::as_str) {
                    Some("setup") => {
                        if let Some(algorithm) = self.qdevice_setup(words, span, step) {
                            if let Some(host) = words.iter().skip(3).find(|word| !word.starts_with('-')) {
                                let goal = model::goal::Goal::AddQdevice {
                                    host: host.clone(),
                                    algorithm: Some(algorithm),
                                };
                                let what = format!(
                                    "quorum device {host} ({}) in the config (pvecm: through /etc/pve, every node, reload)",
                                    algorithm.as_str()
                                );
                                self.tool_edit(&[goal], Tool::Pvecm, &what, span, here, step);
                            }
                        }
                    }
                    Some("remove") => {
                        let what = "quorum device removed from the config (pvecm: through /etc/pve, every node, reload)";
                        self.tool_edit(
                            &[model::goal::Goal::RemoveQdevice],
                            Tool::Pvecm,
                            what,
                            span,
                            here,
                            step,
                        );
                    }
                    _ => {}
                }
            }
            _ => step.findings.push(self.unrecognised(span, &words.join(" "))),
        }
    }

    /// Stops corosync on `node` (recording `action`); with `judge`, first asks the
    /// votequorum engine whether the nodes left running keep quorum.
    fn stop_node(&mut self, node: &str, action: String, judge: bool, span: (usize, usize), step: &mut Step) {
        if judge {
            if let Some(finding) = self.quorum_lost_without(node, "stopping", span) {
                step.findings.push(finding);
            }
        }
        if self.running.remove(node).is_some() {
            self.transition(Transition::Stop(node.to_string()));
        }
        // Its runtime votes go with it: it starts again with its file's quorum_votes.
        self.runtime_votes.retain(|change| change.target != node);
        if !self.stopped.iter().any(|seen| seen == node) {
            self.stopped.push(node.to_string());
        }
        step.actions.push(action);
        self.membership_changed = Some(self.membership_ms());
    }

    /// The node names of config `known`'s nodelist, in position order (a node without a
    /// name by the address the runbook gave it).
    fn config_names(&self, known: &KnownConfig) -> Vec<Option<String>> {
        known
            .config
            .nodelist
            .nodes
            .iter()
            .map(|entry| {
                entry.name.as_ref().map(|name| name.value.clone()).or_else(|| {
                    entry
                        .ring_addrs
                        .values()
                        .find_map(|addr| self.addresses.get(&addr.value).cloned())
                })
            })
            .collect()
    }

    /// The votequorum engine on config `index` (`names` its nodes) in the state the runbook
    /// has reached: every node up, the runtime votes changes still in force (accepted ones),
    /// then every node the runbook has stopped (in its order) or not yet started stopped,
    /// except the node at `except`. With last_man_standing the engine lets its window pass
    /// after each stop (the runbook is given the benefit of the doubt that it waited).
    /// Returns the engine, its node ids and the whatif script of what was replayed.
    fn runbook_engine(
        &self,
        index: usize,
        names: &[Option<String>],
        except: Option<usize>,
    ) -> Option<(ClusterState, Vec<model::quorum::NodeId>, Vec<String>)> {
        let known = self.configs.get(index)?;
        let node_config = NodeConfig::from_config(&known.config);
        let settings = node_config.settings().clone();
        let mut cluster = ClusterState::from_config(&node_config).ok()?;
        let ids = cluster.nodeids().to_vec();
        if ids.len() != names.len() {
            return None;
        }
        let position_of = |name: &str| names.iter().position(|entry| entry.as_deref() == Some(name));
        let mut script = Vec::new();
        for change in &self.runtime_votes {
            let Some(target) = position_of(&change.target) else {
                continue;
            };
            let tool = position_of(&change.tool).unwrap_or(target);
            let event = Event::Action(Action::SetNodeVotes {
                votes: change.votes,
                target: NodeRef::Id(ids[target]),
                node: NodeRef::Id(ids[tool]),
            });
            let mut trial = cluster.clone();
            if !trial.apply_event(&event).rejected {
                cluster = trial;
                script.push(event.to_string());
            }
        }
        let down_now = |pos: usize| {
            Some(pos) != except
                && !names[pos]
                    .as_deref()
                    .is_some_and(|name| self.running.contains_key(name))
        };
        let mut order: Vec<usize> = self
            .stopped
            .iter()
            .filter_map(|seen| position_of(seen))
            .filter(|pos| down_now(*pos))
            .collect();
        let never_started: Vec<usize> = (0..names.len())
            .filter(|pos| down_now(*pos) && !order.contains(pos))
            .collect();
        order.extend(never_started);
        for pos in order {
            let stop = Event::Action(Action::StopNodes(vec![NodeRef::Id(ids[pos])]));
            cluster.apply_event(&stop);
            script.push(stop.to_string());
            if settings.last_man_standing {
                let wait = Event::Fault(Fault::Wait(u64::from(settings.last_man_standing_window_ms) + 1));
                cluster.apply_event(&wait);
                script.push(wait.to_string());
            }
        }
        Some((cluster, ids, script))
    }

    /// Whether the cluster `node` runs in loses quorum while `node` is down (stopped, or
    /// for the moment a restart takes), with no fault: the nodes' configuration in the
    /// votequorum engine, every node the runbook has not started or has stopped again
    /// stopped first (in the runbook's order), then `node`. Only judged when every listed
    /// node is known to have run (the runbook starts from a running cluster, or started
    /// them all): a cluster still being formed has no quorum to lose. With
    /// last_man_standing the engine lets its window pass after each earlier stop (the
    /// runbook is given the benefit of the doubt that it waited).
    fn quorum_lost_without(&self, node: &str, doing: &str, span: (usize, usize)) -> Option<Finding> {
        let index = *self.running.get(node)?;
        let known = &self.configs[index];
        let listed = &known.config.nodelist.nodes;
        if listed.len() < 2 {
            return None;
        }
        let names = self.config_names(known);
        let has_run =
            |name: &str| self.running.contains_key(name) || self.stopped.iter().any(|seen| seen == name);
        if self.start_config.is_none() && !names.iter().all(|name| name.as_deref().is_some_and(has_run)) {
            return None;
        }
        let position = names.iter().position(|name| name.as_deref() == Some(node))?;
        let (mut cluster, ids, mut script) = self.runbook_engine(index, &names, Some(position))?;
        if cluster.quorate_set().is_empty() {
            // Already without quorum: this stop does not lose it.
            return None;
        }
        let left: Vec<&str> = (0..names.len())
            .filter(|pos| *pos != position && cluster.up_nodes().contains(*pos))
            .map(|pos| names[pos].as_deref().unwrap_or("?"))
            .collect();
        let stop = Event::Action(Action::StopNodes(vec![NodeRef::Id(ids[position])]));
        cluster.apply_event(&stop);
        if !cluster.quorate_set().is_empty() {
            return None;
        }
        script.push(stop.to_string());
        let left = if left.is_empty() {
            "no node".to_string()
        } else {
            left.join(", ")
        };
        Some(self.finding(
            "R022",
            span,
            format!(
                "{doing} {node} leaves {left} running without quorum: the cluster stops until {node} is back (whatif: `{}`)",
                script.join("; ")
            ),
            "keep a quorate majority running: start the stopped nodes again and wait until they have rejoined (`corosync-quorumtool -s` shows them) before stopping the next; `quorate plan --goal rolling-restart` gives the verified order".to_string(),
        ))
    }

    fn start(&mut self, node: &str, verb: &str, span: (usize, usize), step: &mut Step) {
        let was_running = self.running.contains_key(node);
        if verb == "restart" && was_running {
            // A restart is a stop and a start: for that moment the node is down.
            if let Some(finding) = self.quorum_lost_without(node, "restarting", span) {
                step.findings.push(finding);
            }
            self.revert_runtime_votes(Some(node), &format!("restarting {node}"), span, step);
        }
        step.actions.push(format!("{verb} {node}"));
        self.changed_cluster = true;
        self.membership_changed = Some(self.membership_ms());
        if node == UNKNOWN_NODE {
            // The runbook does not say where: nothing to follow on one node.
            return;
        }
        let on_disk = self
            .files
            .get(&(node.to_string(), COROSYNC_CONF.to_string()))
            .cloned();
        let Some(Content::Config(index)) = on_disk else {
            let pve_only = self.files.contains_key(&(node.to_string(), PVE_CONF.to_string()));
            step.findings.push(self.finding(
                "R009",
                span,
                format!(
                    "{node} has no {COROSYNC_CONF}{}: corosync does not start",
                    if pve_only { " (the runbook copied the file into /etc/pve, which corosync does not read, and which on a node outside the cluster is pmxcfs's local database)" } else { " at this point" }
                ),
                if self.proxmox {
                    format!("join {node} with `pvecm add ADDRESS-OF-A-MEMBER` run on {node}: it adds the node to the nodelist, writes the file and the authkey and starts corosync (spec 6.4); `quorate plan --goal 'add-node {node} ADDR'` shows the verified order")
                } else {
                    format!("write the cluster's corosync.conf to {COROSYNC_CONF} on {node} first")
                },
            ));
            return;
        };
        // Whether edits the runbook made elsewhere are not what this start reads.
        if verb == "restart" {
            if let Some(((_, path), _)) = self.files.iter().find(|((owner, path), content)| {
                owner == node
                    && path != COROSYNC_CONF
                    && path != PVE_CONF
                    && path.ends_with(".conf")
                    && matches!(content, Content::Config(other) if *other != index)
            }) {
                let path = path.clone();
                step.findings.push(self.finding(
                    "R004",
                    span,
                    format!("this restart reads {COROSYNC_CONF}, not the edited {path}: {node} keeps its old configuration"),
                    format!("put the change in {}", if self.proxmox { PVE_CONF } else { COROSYNC_CONF }),
                ));
            }
        }
        let known = &self.configs[index];
        let (entry, _) = FileEntry::new("runbook", &known.text, Purpose::Target);
        let listed = known.config.nodelist.nodes.iter().find(|entry_node| {
            entry_node.name.as_ref().is_some_and(|name| name.value == node)
                || entry_node
                    .ring_addrs
                    .values()
                    .any(|addr| self.addresses.get(&addr.value).is_some_and(|name| name == node))
        });
        let Some(listed) = listed else {
            step.findings.push(self.finding(
                "R009",
                span,
                format!("the corosync.conf on {node} does not list {node}: corosync finds no local node and exits (spec 4.4)"),
                "add the node to the nodelist on every member first (`pvecm add` or `pcs cluster node add` do it)".to_string(),
            ));
            return;
        };
        if let Some(nodeid) = known.config.effective_nodeid(listed) {
            if let Some(errors) = entry.refusal_on(nodeid) {
                let first = errors.first().map_or(String::new(), |error| {
                    format!(" ({}: {})", error.code, error.message)
                });
                step.findings.push(self.finding(
                    "R009",
                    span,
                    format!("corosync on {node} refuses this configuration{first}: it does not start"),
                    "fix the configuration first (the config block's findings say how)".to_string(),
                ));
                return;
            }
        }
        self.running.insert(node.to_string(), index);
        if !was_running {
            self.transition(Transition::Start(node.to_string()));
        } else if verb == "restart" {
            self.transition(Transition::Restart(node.to_string()));
        }
    }

    fn copy(&mut self, words: &[String], span: (usize, usize), here: &str, step: &mut Step) -> bool {
        let operands: Vec<&String> = words[1..].iter().filter(|word| !word.starts_with('-')).collect();
        if operands.len() < 2 {
            return false;
        }
        let destination = operands[operands.len() - 1].clone();
        let sources = &operands[..operands.len() - 1];
        let relevant = |path: &str| {
            path.contains("authkey")
                || path.contains("corosync")
                || path.contains("/etc/pve")
                || path.contains("-join")
        };
        if !relevant(&destination) && !sources.iter().any(|source| relevant(source)) {
            return false;
        }
        let split_remote = |path: &str| -> (Option<String>, String) {
            match path.split_once(':') {
                Some((host, rest)) if !host.contains('/') => (Some(host.to_string()), rest.to_string()),
                _ => (None, path.to_string()),
            }
        };
        let (remote, dest_path) = split_remote(&destination);
        let dest_node = remote
            .map(|host| self.resolve(&host))
            .unwrap_or_else(|| here.to_string());
        let shared = |path: &str| {
            path.starts_with("/tmp") || path.starts_with("/var/tmp") || path.starts_with("/dev/shm")
        };
        for source in sources {
            let (_, source_path) = split_remote(source);
            let name = source_path.rsplit('/').next().unwrap_or("").to_string();
            let is_key = source_path.ends_with("authkey")
                || (source_path.contains("-join") && source_path.ends_with('*'));
            let content = if source_path.ends_with("authkey") {
                Some(Content::Authkey)
            } else {
                self.files
                    .get(&(here.to_string(), source_path.clone()))
                    .cloned()
                    .or_else(|| {
                        (source_path == PVE_CONF)
                            .then(|| self.running.get(here).map(|index| Content::Config(*index)))
                            .flatten()
                    })
            };
            let target_path =
                if dest_path.ends_with('/') || !dest_path.contains('.') && !dest_path.ends_with("authkey") {
                    format!("{}/{}", dest_path.trim_end_matches('/'), name)
                } else {
                    dest_path.clone()
                };
            if is_key && (shared(&dest_path) || shared(&source_path)) {
                step.findings.push(self.finding(
                    "R007",
                    span,
                    format!(
                        "the authkey goes through {}, a world-writable directory where it stays after the runbook ends (nothing removes it) and where any local user can replace it before it is copied in",
                        if shared(&dest_path) { dest_path.clone() } else { source_path.clone() }
                    ),
                    "copy the key node to node in one step with mode 0400 (`scp -p /etc/corosync/authkey root@NODE:/etc/corosync/authkey`), or let `pvecm add` / `pcs cluster node add` send it".to_string(),
                ));
            }
            if self.proxmox
                && !self.running.contains_key(&dest_node)
                && (target_path.starts_with("/etc/corosync") || target_path.starts_with("/etc/pve"))
                && (target_path.ends_with("authkey")
                    || target_path.ends_with("corosync.conf")
                    || target_path.ends_with('/'))
                && self.joined_by_copy.insert(dest_node.clone())
            {
                step.findings.push(self.finding(
                    "R008",
                    span,
                    format!("{dest_node} is joined by copying files by hand; `pvecm add` does much more: it adds {dest_node} to the nodelist of every member (with a config_version bump and a reload), checks the node can join, and replaces its pmxcfs database"),
                    format!("run `pvecm add ADDRESS-OF-A-MEMBER --link0 ADDRESS-OF-{dest_node}` on {dest_node} (spec 6.4)"),
                ));
            }
            if target_path.starts_with("/etc/pve") && dest_node != here {
                step.findings.push(self.finding(
                    "R016",
                    span,
                    format!("/etc/pve is one cluster-wide filesystem (pmxcfs): copying into it on {dest_node} either changes nothing or, with another file, makes every node reload it; without quorum pmxcfs refuses the write"),
                    "edit /etc/pve/corosync.conf once, on one quorate member, with config_version increased (spec 6.1, 6.2)".to_string(),
                ));
            }
            if let Some(content) = content {
                self.files
                    .insert((dest_node.clone(), target_path.clone()), content.clone());
                step.actions
                    .push(format!("copy {source_path} to {target_path} on {dest_node}"));
                if let (Content::Config(index), true) = (content, target_path == PVE_CONF) {
                    self.pve_write(&dest_node, index, span, step);
                }
            }
        }
        true
    }

    /// `corosync-quorumtool -e V` / `pvecm expected V` on `here`: the engine runs the
    /// cluster the runbook describes, with `here` cut off from the others (the situation
    /// the recipe is for), then the forced value, and the planner's fault analysis
    /// says whether two sides can be quorate.
    fn forced_expected(&mut self, votes: u32, span: (usize, usize), here: &str, step: &mut Step) {
        step.actions.push(format!("expected votes {votes} on {here}"));
        let Some(known) = self
            .configs
            .iter()
            .rev()
            .find(|known| known.config.nodelist.nodes.len() > 1)
        else {
            return;
        };
        let node_config = NodeConfig::from_config(&known.config);
        let Ok(mut cluster) = ClusterState::from_config(&node_config) else {
            return;
        };
        let position = known
            .config
            .nodelist
            .nodes
            .iter()
            .position(|node| node.name.as_ref().is_some_and(|name| name.value == here))
            .unwrap_or(0);
        let Some(nodeid) = cluster.nodeids().get(position).copied() else {
            return;
        };
        let isolate = Event::Fault(Fault::IsolateNode(NodeRef::Id(nodeid)));
        let force = Event::Action(Action::SetExpectedVotes {
            votes,
            node: NodeRef::Id(nodeid),
        });
        cluster.apply_event(&isolate);
        cluster.apply_event(&force);
        let mut safety = Safety::new(self.options.fault_budget);
        let verdict = safety.verdict(&cluster);
        let script = if verdict.split_brain_now {
            Some(format!("{isolate}; {force}"))
        } else {
            verdict
                .split_brain_after
                .map(|lines| format!("{isolate}; {force}; {}", lines.join("; ")))
        };
        if let Some(script) = script {
            step.findings.push(self.finding(
                "R015",
                span,
                format!("expected votes {votes} makes {here} quorate on its own: if it is cut off (not down), it and the rest of the cluster are both quorate, a split-brain (whatif: `{script}`)"),
                "never lower expected votes while the missing nodes may still run; power them off (or fence them) first, and prefer a quorum device for small clusters".to_string(),
            ));
        }
    }
}

impl Checker<'_> {
    /// `corosync-quorumtool -v VOTES [-n NODEID]` on `here` (without `-n`: `here`'s own
    /// votes, as the tool takes `runtime.votequorum.this_node_id`). votequorum sets the
    /// node's votes at runtime on every node of `here`'s ring and recalculates with quorum
    /// allowed to decrease; nothing is written (exec/votequorum.c,
    /// `message_handler_req_lib_votequorum_setvotes` and the NODE_VOTES reconfigure).
    /// Judged in the engine (`votes V of T on N`): on the cluster as the runbook has it
    /// (its stops, its earlier votes changes, `here` cut off by its iptables rules), a
    /// refusal is `R023` and split-brain within the fault budget `R024`; and, one fault of
    /// the budget spent on `here` being cut off when the command runs (the situation a
    /// "more votes for the survivor" recipe is for), split-brain with the rest is `R024`.
    fn node_votes(
        &mut self,
        votes: u32,
        nodeid: Option<u32>,
        span: (usize, usize),
        here: &str,
        step: &mut Step,
    ) {
        let target_label = nodeid.map_or_else(|| here.to_string(), |nodeid| format!("node id {nodeid}"));
        let Some(index) = self.running.get(here).copied() else {
            step.actions.push(format!(
                "votes {votes} for {target_label} on {here} (runtime only)"
            ));
            if self.stopped.iter().any(|seen| seen == here) {
                step.findings.push(self.finding(
                    "R023",
                    span,
                    format!("corosync does not run on {here} at this point (the runbook stopped it above): `corosync-quorumtool -v` cannot reach votequorum there and changes nothing"),
                    "run it on a running member of the cluster (with `-n NODEID` for another node's votes)".to_string(),
                ));
            }
            return;
        };
        let known = &self.configs[index];
        let names = self.config_names(known);
        let node_ids: Vec<Option<u32>> = known
            .config
            .nodelist
            .nodes
            .iter()
            .map(|entry| known.config.effective_nodeid(entry))
            .collect();
        let configured: Vec<u32> = known
            .config
            .nodelist
            .nodes
            .iter()
            .map(|entry| entry.quorum_votes.as_ref().map_or(1, |value| value.value))
            .collect();
        let Some(position) = names.iter().position(|name| name.as_deref() == Some(here)) else {
            step.actions.push(format!(
                "votes {votes} for {target_label} on {here} (runtime only)"
            ));
            return;
        };
        let target = match nodeid {
            None => position,
            Some(nodeid) => match node_ids.iter().position(|id| *id == Some(nodeid)) {
                Some(target) => target,
                None => {
                    step.actions.push(format!(
                        "votes {votes} for {target_label} on {here} (runtime only)"
                    ));
                    step.findings.push(self.finding(
                        "R023",
                        span,
                        format!("no node of the cluster has node id {nodeid}: votequorum refuses (`Unable to set votes {votes} for nodeid: {nodeid}: CS_ERR_NAME_NOT_FOUND`)"),
                        "take the node id from `corosync-quorumtool -l` (or the nodelist's nodeid)".to_string(),
                    ));
                    return;
                }
            },
        };
        let target_name = names[target].clone().unwrap_or_else(|| target_label.clone());
        step.actions.push(format!(
            "votes {votes} for {target_name} on {here} (runtime only)"
        ));
        let Some((mut cluster, ids, mut script)) = self.runbook_engine(index, &names, None) else {
            return;
        };
        // The runbook's own iptables cuts: `here` and the nodes it still reaches apart.
        let reached = self.membership_of(here);
        if reached.len() < self.running.len() {
            let group: Vec<NodeRef> = (0..names.len())
                .filter(|pos| names[*pos].as_ref().is_some_and(|name| reached.contains(name)))
                .map(|pos| NodeRef::Id(ids[pos]))
                .collect();
            let cut = Event::Fault(Fault::MoveNodes(vec![model::scenario::NodeSpec {
                partition: Some(1),
                nodes: group,
            }]));
            cluster.apply_event(&cut);
            script.push(cut.to_string());
        }
        let change = Event::Action(Action::SetNodeVotes {
            votes,
            target: NodeRef::Id(ids[target]),
            node: NodeRef::Id(ids[position]),
        });
        let before = cluster.clone();
        let outcome = cluster.apply_event(&change);
        script.push(change.to_string());
        if outcome.rejected {
            let reason = outcome.notes.first().cloned().unwrap_or_default();
            let reason = reason
                .split_once("rejected: ")
                .map_or(reason.as_str(), |(_, reason)| reason)
                .to_string();
            step.findings.push(self.finding(
                "R023",
                span,
                format!("votequorum on {here} refuses {votes} votes for {target_name}: `{reason}` (whatif: `{}`)", script.join("; ")),
                "votequorum accepts a votes change only while the quorum it gives stays within the votes present; to change votes for good, set quorum_votes in the nodelist (every node's file, config_version increased, `corosync-cfgtool -R`)".to_string(),
            ));
            return;
        }
        self.transition(Transition::Votes {
            tool: here.to_string(),
            target: target_name.clone(),
            votes,
        });
        self.runtime_votes.retain(|change| change.target != target_name);
        if votes != configured[target] {
            self.runtime_votes.push(RuntimeVotes {
                tool: here.to_string(),
                target: target_name.clone(),
                votes,
                configured: configured[target],
                line: step.line,
            });
        }
        let mut safety = Safety::new(self.options.fault_budget);
        let verdict = safety.verdict(&cluster);
        // (script, how): how 0 = split-brain now, 1 = after more faults, 2 = with `here` cut off first.
        let found = if verdict.split_brain_now {
            Some((script.join("; "), 0))
        } else {
            verdict
                .split_brain_after
                .map(|lines| (format!("{}; {}", script.join("; "), lines.join("; ")), 1))
        };
        // One fault of the budget spent before the command: `here` cut off from the others.
        let found = found.or_else(|| {
            let budget = self.options.fault_budget.checked_sub(1)?;
            let mut cluster = before;
            let isolate = Event::Fault(Fault::IsolateNode(NodeRef::Id(ids[position])));
            cluster.apply_event(&isolate);
            if cluster.apply_event(&change).rejected {
                return None;
            }
            let prefix: Vec<String> = script[..script.len() - 1]
                .iter()
                .cloned()
                .chain([isolate.to_string(), change.to_string()])
                .collect();
            let mut safety = Safety::new(budget);
            let verdict = safety.verdict(&cluster);
            if verdict.split_brain_now {
                Some((prefix.join("; "), 2))
            } else {
                verdict
                    .split_brain_after
                    .map(|lines| (format!("{}; {}", prefix.join("; "), lines.join("; ")), 2))
            }
        });
        if let Some((script, how)) = found {
            let message = match how {
                0 => format!("{votes} votes for {target_name} make two memberships quorate at once right away, a split-brain (whatif: `{script}`)"),
                1 => format!("with {votes} votes for {target_name}, faults within the budget of {} make two memberships quorate at once, a split-brain (whatif: `{script}`)", self.options.fault_budget),
                _ => format!("if {here} is cut off from the others (not down) when this runs, {votes} votes for {target_name} make {here}'s side quorate while the rest of the cluster is quorate too, a split-brain (whatif: `{script}`)"),
            };
            step.findings.push(self.finding(
                "R024",
                span,
                message,
                "never give votes to a node whose peers may still run; power them off (or fence them) first, and prefer a quorum device for small clusters; a lasting change belongs in the nodelist's quorum_votes".to_string(),
            ));
        }
    }

    /// The votes changes `corosync-quorumtool -v` made that a restart of `node` (or, with
    /// `None`, a reload on every running node) puts back: dropped, and an `R025` finding
    /// when there were any. (A stop drops them silently: the node leaves anyway.)
    fn revert_runtime_votes(
        &mut self,
        node: Option<&str>,
        doing: &str,
        span: (usize, usize),
        step: &mut Step,
    ) {
        let (reverted, kept): (Vec<RuntimeVotes>, Vec<RuntimeVotes>) =
            std::mem::take(&mut self.runtime_votes)
                .into_iter()
                .partition(|change| node.is_none_or(|node| change.target == node));
        self.runtime_votes = kept;
        if reverted.is_empty() {
            return;
        }
        let listed: Vec<String> = reverted
            .iter()
            .map(|change| {
                format!(
                    "{} back from {} to {} (line {})",
                    change.target, change.votes, change.configured, change.line
                )
            })
            .collect();
        step.findings.push(self.finding(
            "R025",
            span,
            format!("{doing} puts the votes `corosync-quorumtool -v` changed back to corosync.conf's: {} (votequorum keeps such changes at runtime only; a start and a reload read quorum_votes from the file)", listed.join(", ")),
            "if the votes are meant to stay, set quorum_votes in the nodelist (every node's file, config_version increased) and reload instead of `corosync-quorumtool -v`".to_string(),
        ));
    }
}

/// The corosync.conf `pvecm create NAME --link0 ADDRESS` writes on `node` (spec 6.4; the
/// token_coefficient newer PVE versions add is left out). Checked by real `corosync -t` in
/// tests/data/parity (`OK-runbook-pvecm-create.conf`).
pub(crate) fn pvecm_create_text(name: &str, node: &str, address: &str) -> String {
    format!(
        "totem {{\n  version: 2\n  secauth: on\n  cluster_name: {name}\n  config_version: 1\n  ip_version: ipv4-6\n  link_mode: passive\n  interface {{\n    linknumber: 0\n  }}\n}}\n\nnodelist {{\n  node {{\n    name: {node}\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: {address}\n  }}\n}}\n\nquorum {{\n  provider: corosync_votequorum\n}}\n\nlogging {{\n  to_syslog: yes\n  debug: off\n}}\n"
    )
}

/// The corosync.conf `pcs cluster setup NAME NODE [addr=ADDR]...` writes on every node
/// (knet with pcs's default crypto, node ids in order, two_node for a pair). Checked by
/// real `corosync -t` in tests/data/parity (`OK-runbook-pcs-setup-*.conf`).
pub(crate) fn pcs_setup_text(name: &str, nodes: &[(String, String)]) -> String {
    let mut text = format!(
        "totem {{\n    version: 2\n    cluster_name: {name}\n    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n}}\n\nnodelist {{\n"
    );
    for (index, (node, addr)) in nodes.iter().enumerate() {
        text.push_str(&format!(
            "    node {{\n        ring0_addr: {addr}\n        name: {node}\n        nodeid: {}\n    }}\n",
            index + 1
        ));
    }
    text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    if nodes.len() == 2 {
        text.push_str("    two_node: 1\n");
    }
    text.push_str("}\n");
    text
}

/// The corosync.conf `crm cluster init -n NAME -i ADDR... [-t TRANSPORT] [-I]` writes on
/// `node` (crmsh `config_corosync_conf`: its template with cluster_name, transport, the
/// node's ring addresses, name and nodeid 1, then `adjust_corosync_parameters_according_to_profiles`
/// with the `default` profile of /etc/crm/profiles.yml and, for knet, `knet-default`'s
/// crypto; written by crmsh's serializer: tab indents, a blank line after each section).
/// Checked by real `corosync -t` in tests/data/parity (`OK-runbook-crm-init.conf`).
pub(crate) fn crm_init_text(
    name: &str,
    node: &str,
    addresses: &[String],
    transport: &str,
    ipv6: bool,
) -> String {
    let mut text = String::from(
        "# Generated by crmsh\n# For more details please see corosync.conf.5 man page\ntotem {\n\tversion: 2\n",
    );
    if ipv6 {
        text.push_str("\tip_version: ipv6\n");
    }
    text.push_str(&format!(
        "\tcluster_name: {name}\n\ttransport: {transport}\n\ttoken: 5000\n\tjoin: 60\n\tmax_messages: 20\n\ttoken_retransmits_before_loss_const: 10\n"
    ));
    if transport == "knet" {
        text.push_str("\tcrypto_hash: sha256\n\tcrypto_cipher: aes256\n");
    }
    text.push_str("}\n\nquorum {\n\tprovider: corosync_votequorum\n}\n\nlogging {\n\tto_logfile: yes\n\tlogfile: /var/log/cluster/corosync.log\n\tto_syslog: yes\n\ttimestamp: hires\n}\n\nnodelist {\n\tnode {\n");
    for (link, address) in addresses.iter().enumerate() {
        text.push_str(&format!("\t\tring{link}_addr: {address}\n"));
    }
    text.push_str(&format!("\t\tname: {node}\n\t\tnodeid: 1\n\t}}\n\n}}\n\n"));
    text
}

/// The number of a "Step 4: ..." heading.
fn step_number(heading: &str) -> Option<u32> {
    let lower = heading.to_lowercase();
    let at = lower.find("step")?;
    let digits: String = lower[at + 4..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The link numbers any node of `config` has an address on.
fn config_links(config: &model::config::Config) -> BTreeSet<u32> {
    config
        .nodelist
        .nodes
        .iter()
        .flat_map(|node| node.ring_addrs.keys().copied())
        .collect()
}

fn config_nodes(config: &model::config::Config) -> Vec<String> {
    config
        .nodelist
        .nodes
        .iter()
        .filter_map(|node| node.name.as_ref().map(|name| name.value.clone()))
        .collect()
}

fn strip_prefix(words: &[String]) -> Vec<String> {
    let mut words: Vec<String> = words.to_vec();
    while let Some(first) = words.first() {
        if first == "sudo"
            || first == "exec"
            || first == "time"
            || (first.contains('=') && !first.starts_with('-') && !first.contains("$("))
        {
            words.remove(0);
        } else {
            break;
        }
    }
    words
}

fn contains_word(text: &str, word: &str) -> bool {
    !word.is_empty()
        && text.match_indices(word).any(|(index, _)| {
            let before = text[..index].chars().last();
            let after = text[index + word.len()..].chars().next();
            let boundary =
                |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            boundary(before)
                && boundary(after)
                && !after.is_some_and(|c| {
                    c == '.' && text[index + word.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
                })
        })
}

fn looks_like_config(content: &str) -> bool {
    let sections = ["totem", "nodelist", "quorum"];
    content.lines().any(|line| {
        let line = line.trim();
        sections
            .iter()
            .any(|section| line.starts_with(section) && line.ends_with('{'))
    }) && !content.contains("<<")
}

fn looks_like_shell(content: &str) -> bool {
    content
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .any(|line| {
            let first = line.split_whitespace().next().unwrap_or("");
            line.starts_with('#')
                || matches!(
                    first,
                    "ssh"
                        | "pvecm"
                        | "pcs"
                        | "crm"
                        | "systemctl"
                        | "cp"
                        | "scp"
                        | "sleep"
                        | "cat"
                        | "sudo"
                        | "$"
                )
                || first.starts_with("corosync")
        })
        && !content
            .lines()
            .any(|line| line.trim_start().starts_with("Nodes:"))
}

/// Whether `word` names a program (not a shell keyword, an assignment or an option).
fn is_program(word: &str) -> bool {
    !matches!(
        word,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "for"
            | "do"
            | "done"
            | "while"
            | "case"
            | "esac"
            | "exit"
            | "[["
            | "["
            | "{"
            | "}"
    ) && word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !word.starts_with('-')
}

/// The program a not-cluster-related command runs (`ssh HOST CMD`: CMD's program).
fn listed_program(words: &[String]) -> Option<String> {
    let first = words.first()?;
    if first == "ssh" {
        let mut rest = words[1..].iter().skip_while(|word| word.starts_with('-'));
        rest.next();
        if let Some(inner) = rest.next() {
            return is_program(inner).then(|| inner.clone());
        }
    }
    is_program(first).then(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker_with_nodes<'a>(text: &'a str, options: &'a RunbookOptions) -> Checker<'a> {
        let mut checker = Checker::new("t.md", text, options);
        checker.addresses.insert("10.0.0.3".into(), "node3".into());
        checker
    }

    #[test]
    fn step_numbers_and_repeat_instructions_are_read() {
        assert_eq!(step_number("Step 4: Join Node 3"), Some(4));
        assert_eq!(step_number("## step 12 - verify"), Some(12));
        assert_eq!(step_number("Verify"), None);
        let options = RunbookOptions::default();
        let checker = checker_with_nodes("", &options);
        assert_eq!(
            checker.repeat_instruction("Repeat Step 4 for pve1-node3:"),
            Some((vec![4], vec!["pve1-node3".to_string()]))
        );
        assert_eq!(
            checker.repeat_instruction("Then repeat steps 2-3 on node4 and node5."),
            Some((vec![2, 3], vec!["node4".to_string(), "node5".to_string()]))
        );
        assert_eq!(
            checker.repeat_instruction("Repeat steps 2 to 4 for 10.0.0.3"),
            Some((vec![2, 3, 4], vec!["node3".to_string()]))
        );
        assert_eq!(checker.repeat_instruction("Repeat until it works"), None);
        assert_eq!(checker.repeat_instruction("Repeat step 2"), None);
    }

    /// The configs the checker assumes pvecm and pcs write are files real `corosync -t`
    /// accepts: the parity suite (tests/it/parity.rs) runs it on these fixtures, and they
    /// must be exactly what the checker generates.
    #[test]
    fn generated_configs_are_the_parity_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/parity");
        let body = |file: &str| -> String {
            let text =
                std::fs::read_to_string(dir.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
            text.lines()
                .skip_while(|line| line.starts_with('#'))
                .map(|line| format!("{line}\n"))
                .collect()
        };
        let pair = [
            ("ha1".to_string(), "198.18.0.1".to_string()),
            ("ha2".to_string(), "198.18.0.2".to_string()),
        ];
        assert_eq!(
            body("OK-runbook-pcs-setup-two-nodes.conf"),
            pcs_setup_text("hapair", &pair)
        );
        let three = [
            ("web1".to_string(), "198.18.0.1".to_string()),
            ("web2".to_string(), "198.18.0.2".to_string()),
            ("web3".to_string(), "198.18.0.3".to_string()),
        ];
        assert_eq!(
            body("OK-runbook-pcs-setup-three-nodes.conf"),
            pcs_setup_text("web", &three)
        );
        assert_eq!(
            body("OK-runbook-pvecm-create.conf"),
            pvecm_create_text("pve1", "pve1-node1", "198.18.0.1")
        );
        // crmsh's own two comment lines open its file; the fixture's header lines are
        // comments too, so both are compared after them.
        let crm = crm_init_text("hacluster", "sles1", &["198.18.0.1".to_string()], "knet", false);
        assert!(crm.starts_with("# Generated by crmsh\n"));
        let crm_body: String = crm
            .lines()
            .skip_while(|line| line.starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(body("OK-runbook-crm-init.conf"), crm_body);
    }
}
