//! The configuration files a plan handles: the source, the target (with its config_version
//! bumped when it must be), and the temporary files some changes need (readdressing a link
//! goes through a temporary one), each parsed, validated for every node that reads it and
//! hashed.
//!
//! Owns `FileTable`, `FileEntry`, `FileId`, `sha256_hex`, the startup-only key comparison
//! (spec 5.2: what a reload does not change) and the generation of temporary files through
//! the lossless edit API (`model::syntax::Document`). It must not decide anything about
//! quorum or order (that is `state` and `search`).

use model::config::Config;
use model::diag::Severity;
use model::quorum::{NodeConfig, NodeId, QuorumSettings, ReloadRefusal};
use model::syntax::{self, Document, SectionId};
use model::validate::{validate, HostFacts};
use model::Diagnostic;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::pvecm::{PveConf, PveNode, PVECM_TOKEN_COEFFICIENT};
use crate::{Endpoint, Error};

/// Index of a file in the `FileTable`.
pub(crate) type FileId = u8;

/// No file (a node without corosync.conf, or not running).
pub(crate) const NO_FILE: FileId = u8::MAX;

/// The lowercase hex sha256 of `text`.
pub(crate) fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a file is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The running cluster's file.
    Source,
    /// The target.
    Target,
    /// A temporary step, with the reason in words.
    Temporary(String),
    /// What `pvecm create`, `pvecm add` or `pvecm delnode` leaves in /etc/pve (Proxmox
    /// plans that form a cluster, add or remove nodes: spec 6.4).
    Pvecm,
}

/// One configuration file.
#[derive(Clone, Debug)]
pub(crate) struct FileEntry {
    /// The name a script and messages use.
    pub name: String,
    /// The full text.
    pub text: String,
    /// `sha256_hex(text)`.
    pub sha256: String,
    /// The typed configuration.
    pub config: Config,
    /// The engine's view of it.
    pub node_config: NodeConfig,
    /// What it is for.
    pub purpose: Purpose,
    /// Node ids of its nodelist, in file order.
    pub nodeids: Vec<NodeId>,
    /// Per node id, the validation errors corosync gives on that node (`--local-node`
    /// semantics); nodes absent from the list have none.
    pub refused_on: Vec<(NodeId, Vec<Diagnostic>)>,
}

impl FileEntry {
    /// Parses and validates `text` for each of its nodes.
    pub fn new(name: &str, text: &str, purpose: Purpose) -> (FileEntry, Vec<Diagnostic>) {
        let (document, parse_diagnostics) = syntax::parse(text);
        let (config, _) = Config::from_document(&document);
        let settings = config.quorum_settings();
        let nodeids: Vec<NodeId> = settings.nodes.iter().map(|node| node.nodeid).collect();
        let mut refused_on = Vec::new();
        for node in &settings.nodes {
            let host = HostFacts {
                local_node: Some(node.name.clone()),
                ..HostFacts::default()
            };
            let errors: Vec<Diagnostic> = validate(&document, &config, &host)
                .into_iter()
                .filter(|diagnostic| diagnostic.severity == Severity::Error)
                .collect();
            if !errors.is_empty() {
                refused_on.push((node.nodeid, errors));
            }
        }
        let parse_errors: Vec<Diagnostic> = parse_diagnostics
            .into_iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .collect();
        let entry = FileEntry {
            name: name.to_string(),
            text: text.to_string(),
            sha256: sha256_hex(text),
            node_config: NodeConfig::from_config(&config),
            config,
            purpose,
            nodeids,
            refused_on,
        };
        (entry, parse_errors)
    }

    /// The votequorum input.
    pub fn settings(&self) -> &QuorumSettings {
        self.node_config.settings()
    }

    /// The node ids of the nodelist, sorted.
    pub fn nodeids_sorted(&self) -> Vec<NodeId> {
        let mut nodeids = self.nodeids.clone();
        nodeids.sort_unstable();
        nodeids
    }

    /// Whether the nodelist lists `nodeid`.
    pub fn lists(&self, nodeid: NodeId) -> bool {
        self.nodeids.contains(&nodeid)
    }

    /// The validation errors corosync gives for this file on `nodeid`, if any.
    pub fn refusal_on(&self, nodeid: NodeId) -> Option<&[Diagnostic]> {
        self.refused_on
            .iter()
            .find(|(id, _)| *id == nodeid)
            .map(|(_, errors)| errors.as_slice())
    }

    /// `totem.config_version` (0 when absent).
    pub fn config_version(&self) -> u64 {
        self.node_config.totem().config_version
    }

    /// The keys only a restart applies (spec 5.2), as `(key, value)` text, on a node that
    /// started with `self` and runs `reloaded` now (`self` again when it started with its
    /// current file): votequorum's startup-only options and the read-only totem keys.
    /// wait_for_all is the value in force, which follows the reloaded file's two_node when
    /// the start file does not write the key (spec 2.1).
    fn startup_keys(&self, reloaded: &FileEntry) -> Vec<(&'static str, String)> {
        let settings = self.settings();
        let totem = &self.config.totem;
        let text = |setting: &Option<model::config::Setting<String>>| {
            setting
                .as_ref()
                .map(|setting| setting.value.clone())
                .unwrap_or_default()
        };
        let number = |setting: &Option<model::config::Setting<u32>>| {
            setting
                .as_ref()
                .map(|setting| setting.value.to_string())
                .unwrap_or_default()
        };
        vec![
            (
                "quorum.wait_for_all",
                format!("{:?}", settings.wait_for_all_in_force(reloaded.settings())),
            ),
            (
                "quorum.last_man_standing",
                format!("{}", settings.last_man_standing),
            ),
            (
                "quorum.last_man_standing_window",
                format!("{}", settings.last_man_standing_window_ms),
            ),
            (
                "quorum.auto_tie_breaker",
                format!("{}", settings.auto_tie_breaker),
            ),
            (
                "quorum.auto_tie_breaker_node",
                format!("{:?}", settings.auto_tie_breaker_node),
            ),
            ("quorum.allow_downscale", format!("{}", settings.allow_downscale)),
            (
                "quorum.expected_votes_tracking",
                format!("{}", settings.expected_votes_tracking),
            ),
            ("quorum.provider", format!("{:?}", settings.provider)),
            (
                "totem.transport",
                format!("{:?}", self.config.effective.transport),
            ),
            ("totem.cluster_name", text(&totem.cluster_name)),
            ("totem.ip_version", text(&totem.ip_version)),
            ("totem.threads", number(&totem.threads)),
            ("totem.netmtu", number(&totem.netmtu)),
            ("totem.version", number(&totem.version)),
        ]
    }

    /// The startup-only keys whose values differ between a node that started with `self`
    /// and reloaded `other` and a node that started with `other`: what only a restart
    /// with `other` changes.
    pub fn startup_differences(&self, other: &FileEntry) -> Vec<&'static str> {
        self.startup_keys(other)
            .into_iter()
            .zip(other.startup_keys(other))
            .filter(|((_, a), (_, b))| a != b)
            .map(|((key, _), _)| key)
            .collect()
    }

    /// Why a node running `self` refuses `other` at reload, if it does.
    pub fn reload_refusal(&self, other: &FileEntry) -> Option<ReloadRefusal> {
        self.node_config.reload_refusal(&other.node_config)
    }

    /// Effective token (with coefficient) plus consensus, in ms: how long a membership
    /// change takes (spec 3.4, 3.5).
    pub fn membership_ms(&self) -> u64 {
        u64::from(self.config.effective.token) + u64::from(self.config.effective.consensus)
    }

    /// Whether nodes need an authkey to start with this file (crypto enabled).
    pub fn needs_authkey(&self) -> bool {
        self.config.effective.crypto_enabled
    }

    /// The name of `nodeid` in this file (`name`, else `ring0_addr`).
    pub fn node_name(&self, nodeid: NodeId) -> Option<&str> {
        self.settings()
            .nodes
            .iter()
            .find(|node| node.nodeid == nodeid)
            .map(|node| node.name.as_str())
    }
}

/// Every file of one plan. Index 0 is the target; the source, when there is one, is 1.
#[derive(Clone, Debug)]
pub(crate) struct FileTable {
    /// The files.
    pub entries: Vec<FileEntry>,
    /// The source's id, if any.
    pub source: Option<FileId>,
    /// Why the target's config_version was bumped, if it was.
    pub bumped: Option<String>,
}

/// The target's id.
pub(crate) const TARGET: FileId = 0;

impl FileTable {
    /// The table of `from` and `to`; bumps the target's config_version above the source's
    /// when it is not (Proxmox, or a non-zero source version), refuses a target corosync
    /// refuses on one of its nodes.
    pub fn new(from: Option<&Endpoint>, to: &Endpoint, proxmox: bool) -> Result<FileTable, Error> {
        let source = match from {
            Some(from) => {
                let (entry, errors) = FileEntry::new(&from.name, &from.text, Purpose::Source);
                if !errors.is_empty() {
                    return Err(Error::SourceRefused {
                        file: from.name.clone(),
                        diagnostics: errors,
                    });
                }
                Some(entry)
            }
            None => None,
        };
        let (mut target, errors) = FileEntry::new(&to.name, &to.text, Purpose::Target);
        if !errors.is_empty() {
            return Err(Error::TargetRefused {
                file: to.name.clone(),
                node: None,
                diagnostics: errors,
            });
        }
        if let Some((nodeid, diagnostics)) = target.refused_on.first() {
            return Err(Error::TargetRefused {
                file: to.name.clone(),
                node: target.node_name(*nodeid).map(str::to_string),
                diagnostics: diagnostics.clone(),
            });
        }
        if target.nodeids.is_empty() {
            return Err(Error::Unsupported {
                why: format!(
                    "{}: the target has no nodelist node; give every node a nodeid and ring0_addr",
                    to.name
                ),
            });
        }
        let mut bumped = None;
        // On Proxmox every node pvecm adds or removes bumps the version in /etc/pve once
        // (`atomic_write_conf`), and pmxcfs does not overwrite a local file with a lower
        // version (spec 6.2): the target must come above all of them.
        let pvecm_runs = if proxmox {
            let listed = |entry: &Option<FileEntry>, nodeid: NodeId| {
                entry.as_ref().is_some_and(|entry| entry.lists(nodeid))
            };
            let added = target
                .nodeids
                .iter()
                .filter(|nodeid| !listed(&source, **nodeid))
                .count();
            let removed = source.as_ref().map_or(0, |source| {
                source
                    .nodeids
                    .iter()
                    .filter(|nodeid| !target.lists(**nodeid))
                    .count()
            });
            u64::try_from(added + removed).unwrap_or(u64::MAX)
        } else {
            0
        };
        let floor = match &source {
            Some(source) if source.text == target.text => None,
            Some(source) if source.config_version() != 0 || proxmox => {
                Some((source.config_version(), pvecm_runs))
            }
            Some(_) => None,
            None if pvecm_runs > 0 => Some((0, pvecm_runs)),
            None => None,
        };
        if let Some((old, runs)) = floor {
            let new = target.config_version();
            let highest = old.saturating_add(runs);
            if new <= highest {
                let wanted = highest.saturating_add(1);
                let (document, _) = syntax::parse(&target.text);
                let text = bump_version(&document, wanted).ok_or_else(|| Error::Unsupported {
                    why: format!(
                        "{}: the target has no totem section to set config_version in",
                        to.name
                    ),
                })?;
                let (entry, _) = FileEntry::new(&to.name, &text, Purpose::Target);
                bumped = Some(if runs == 0 {
                    format!(
                        "the target's config_version is {new}, not above the running {old}: it is written as {wanted}, \
                         so no node with the new file exits when it meets one with the old (spec 5.4)"
                    )
                } else {
                    format!(
                        "the target's config_version is {new}, not above the {highest} pvecm reaches (each pvecm create/add/delnode \
                         adds one): it is written as {wanted}, since pmxcfs does not overwrite a local file with a lower version \
                         (spec 6.2) and no node with it may exit when it meets one with an older file (spec 5.4)"
                    )
                });
                target = entry;
            }
        }
        let mut entries = vec![target];
        // The same text is one file: a node that has it already has the target.
        let source_id = source.map(|entry| {
            if entry.text == entries[0].text {
                return TARGET;
            }
            entries.push(entry);
            1
        });
        Ok(FileTable {
            entries,
            source: source_id,
            bumped,
        })
    }

    /// The file `id`.
    pub fn get(&self, id: FileId) -> Option<&FileEntry> {
        self.entries.get(usize::from(id))
    }

    /// The target.
    pub fn target(&self) -> &FileEntry {
        &self.entries[usize::from(TARGET)]
    }

    /// The source, if any.
    pub fn source(&self) -> Option<&FileEntry> {
        self.source.and_then(|id| self.get(id))
    }

    /// Adds a temporary file (deduplicated by content); returns its id.
    pub fn add_temporary(&mut self, text: String, why: String) -> Option<FileId> {
        self.add_file(text, Purpose::Temporary(why), "step")
    }

    /// The temporary files readdressing needs: where the source and the target give a
    /// node another address on a link both have (which reload refuses, spec 5.2), the
    /// route through a link that stays: with another common link, the source without the
    /// changed link, then the target; on a single link, a temporary link with the new
    /// addresses, then without the old link, then the target plus the temporary link.
    pub fn add_readdress_steps(&mut self) {
        let Some(source) = self.source().cloned() else {
            return;
        };
        let target = self.target().clone();
        let Some(ReloadRefusal::AddressChanged { link, .. }) = source.reload_refusal(&target) else {
            return;
        };
        let version = target.config_version();
        let links = |entry: &FileEntry| -> Vec<u8> {
            let mut links: Vec<u8> = entry
                .node_config
                .totem()
                .addresses
                .iter()
                .map(|(_, link, _)| *link)
                .collect();
            links.sort_unstable();
            links.dedup();
            links
        };
        let (source_links, target_links) = (links(&source), links(&target));
        let kept = source_links
            .iter()
            .any(|other| *other != link && target_links.contains(other));
        let (source_document, _) = syntax::parse(&source.text);
        let (target_document, _) = syntax::parse(&target.text);
        // Temporary files carry the target's config_version: reload never compares
        // versions, and pmxcfs overwrites a local file unless its version is higher.
        let versioned = |document: Option<Document>| -> Option<String> {
            let document = document?;
            if version == 0 {
                return Some(document.to_text());
            }
            bump_version(&document, version)
        };
        if kept {
            // Source without the changed link, then the target (which re-adds it).
            let text = versioned(source_document.remove_link(link));
            if let Some(text) = text {
                self.add_temporary(
                    text,
                    format!(
                        "link {link} removed first: reload refuses to change an address in place (spec 5.2)"
                    ),
                );
            }
            return;
        }
        let used: Vec<u8> = source_links.iter().chain(&target_links).copied().collect();
        let Some(spare) = (0..8u8).find(|candidate| !used.contains(candidate)) else {
            return;
        };
        let new_addresses: Vec<(String, String)> = target
            .node_config
            .totem()
            .addresses
            .iter()
            .filter(|(_, at, _)| *at == link)
            .map(|(nodeid, _, address)| (nodeid.to_string(), address.clone()))
            .collect();
        let pairs: Vec<(&str, &str)> = new_addresses
            .iter()
            .map(|(nodeid, address)| (nodeid.as_str(), address.as_str()))
            .collect();
        let with_spare = source_document.add_link(spare, &pairs);
        let spare_only = with_spare
            .as_ref()
            .and_then(|document| document.remove_link(link));
        let target_plus_spare = target_document.add_link(spare, &pairs);
        let why = |what: &str| {
            format!("{what}: reload refuses to change link {link}'s addresses in place, so a temporary link {spare} carries the cluster meanwhile (spec 5.2)")
        };
        for (document, what) in [
            (with_spare, "temporary link added"),
            (spare_only, "old link removed"),
            (target_plus_spare, "link re-added with its new addresses"),
        ] {
            if let Some(text) = versioned(document) {
                self.add_temporary(text, why(what));
            }
        }
    }
}

/// How pvecm sees the nodes of a plan: the target's nodes as `pvecm create` / `pvecm add`
/// give them, and the cluster name and link priorities `pvecm create` writes.
#[derive(Clone, Debug, Default)]
pub(crate) struct PvecmInputs {
    /// Every node of the target, by node id.
    pub nodes: Vec<(NodeId, PveNode)>,
    /// `totem.cluster_name` of the target.
    pub cluster_name: String,
    /// `knet_link_priority` per link of the target (0 when not set).
    pub priorities: BTreeMap<u8, u32>,
    /// The target's `totem.token_coefficient`, if it sets one (`--token-coefficient`).
    pub token_coefficient: Option<u32>,
}

impl PvecmInputs {
    /// The inputs of `target`.
    pub fn of(target: &FileEntry) -> PvecmInputs {
        let (document, _) = syntax::parse(&target.text);
        let totem = document.sections_at("totem");
        let totem_value = |key: &str| totem.iter().rev().find_map(|section| section.value(key));
        let mut priorities = BTreeMap::new();
        for interface in document.sections_at("totem.interface") {
            let link = interface
                .value("linknumber")
                .or_else(|| interface.value("ringnumber"))
                .and_then(|value| value.trim().parse::<u8>().ok());
            if let Some(link) = link {
                let priority = interface
                    .value("knet_link_priority")
                    .and_then(|value| value.trim().parse().ok())
                    .unwrap_or(0);
                priorities.insert(link, priority);
            }
        }
        let mut nodes = Vec::new();
        for section in document.sections_at("nodelist.node") {
            let name = section.value("name").map(|name| name.trim().to_string());
            let nodeid = section
                .value("nodeid")
                .and_then(|value| value.trim().parse::<NodeId>().ok());
            let (Some(name), Some(nodeid)) = (name, nodeid) else {
                continue;
            };
            let votes = section
                .value("quorum_votes")
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(1);
            let addresses = (0..8u8)
                .filter_map(|link| {
                    section
                        .value(&format!("ring{link}_addr"))
                        .map(|address| (link, address.trim().to_string()))
                })
                .collect();
            nodes.push((
                nodeid,
                PveNode {
                    name,
                    nodeid,
                    votes,
                    addresses,
                },
            ));
        }
        PvecmInputs {
            nodes,
            cluster_name: totem_value("cluster_name").unwrap_or_default().trim().to_string(),
            priorities,
            token_coefficient: totem_value("token_coefficient").and_then(|value| value.trim().parse().ok()),
        }
    }

    /// The target's node `nodeid` as pvecm adds it.
    pub fn node(&self, nodeid: NodeId) -> Option<&PveNode> {
        self.nodes
            .iter()
            .find(|(id, _)| *id == nodeid)
            .map(|(_, node)| node)
    }

    /// `pvecm create` on `nodeid`: the file it leaves (`Err`: what pvecm refuses).
    pub fn create(&self, nodeid: NodeId) -> Result<PveConf, String> {
        let node = self
            .node(nodeid)
            .ok_or_else(|| format!("node id {nodeid} is not in the target"))?;
        if node.votes == 0 {
            return Err(format!(
                "{} has 0 votes: `pvecm create --votes` is at least 1",
                node.name
            ));
        }
        Ok(PveConf::create(
            &self.cluster_name,
            node,
            &self.priorities,
            self.token_coefficient.unwrap_or(PVECM_TOKEN_COEFFICIENT),
        ))
    }
}

impl FileTable {
    /// The file whose text is `text`, if the table has it.
    pub fn find_text(&self, text: &str) -> Option<FileId> {
        self.entries
            .iter()
            .position(|entry| entry.text == text)
            .and_then(|index| FileId::try_from(index).ok())
    }

    /// Proxmox plans that form a cluster or add or remove nodes: every file pvecm can
    /// leave in /etc/pve on the way, one per set of nodes (pvecm sorts the nodelist, so
    /// the file does not depend on the order the nodes came in; the version counts the
    /// pvecm runs). Removals are applied before additions here; the planner recomputes
    /// each step's file from the file the cluster has (`Context::apply`), so an order
    /// pvecm refuses is refused there. Nothing when no node joins or leaves.
    pub fn add_pvecm_steps(&mut self, inputs: &PvecmInputs) -> Result<(), Error> {
        let target = self.target().clone();
        let source = self.source().cloned();
        let listed =
            |entry: Option<&FileEntry>, nodeid: NodeId| entry.is_some_and(|entry| entry.lists(nodeid));
        let added: Vec<NodeId> = target
            .nodeids
            .iter()
            .copied()
            .filter(|nodeid| !listed(source.as_ref(), *nodeid))
            .collect();
        let removed: Vec<NodeId> = source
            .as_ref()
            .map(|source| {
                source
                    .nodeids
                    .iter()
                    .copied()
                    .filter(|nodeid| !target.lists(*nodeid))
                    .collect()
            })
            .unwrap_or_default();
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        let changed = added.len() + removed.len();
        if changed > MAX_PVECM_CHANGES {
            return Err(Error::Unsupported {
                why: format!(
                    "on Proxmox this plan would join or remove {changed} nodes with pvecm; the planner handles at most {MAX_PVECM_CHANGES} per plan: split the change (e.g. form the cluster with fewer nodes, then add the rest)"
                ),
            });
        }
        let name_of = |nodeid: NodeId| -> String {
            target
                .node_name(nodeid)
                .or_else(|| source.as_ref().and_then(|source| source.node_name(nodeid)))
                .unwrap_or_default()
                .to_string()
        };
        let base = match &source {
            Some(source) => match PveConf::parse(&source.text) {
                Ok(conf) => Some(conf),
                // pvecm cannot read the running file: no pvecm file (apply says why).
                Err(_) => return Ok(()),
            },
            None => None,
        };
        for removed_mask in 0u32..(1 << removed.len()) {
            for added_mask in 0u32..(1 << added.len()) {
                let pick = |list: &[NodeId], mask: u32| -> Vec<NodeId> {
                    list.iter()
                        .enumerate()
                        .filter(|(index, _)| mask & (1 << index) != 0)
                        .map(|(_, nodeid)| *nodeid)
                        .collect()
                };
                let (gone, joined) = (pick(&removed, removed_mask), pick(&added, added_mask));
                let mut conf = match &base {
                    Some(base) if gone.is_empty() && joined.is_empty() => continue,
                    Some(base) => base.clone(),
                    None => {
                        // `pvecm create` on the first node that can create, then the others.
                        let Some(first) = joined
                            .iter()
                            .find(|nodeid| inputs.node(**nodeid).is_some_and(|node| node.votes > 0))
                        else {
                            continue;
                        };
                        match inputs.create(*first) {
                            Ok(conf) => conf,
                            Err(_) => continue,
                        }
                    }
                };
                let mut ok = true;
                for nodeid in &gone {
                    match conf.remove_node(&name_of(*nodeid)) {
                        Ok(next) => conf = next,
                        Err(_) => ok = false,
                    }
                }
                for nodeid in &joined {
                    if base.is_none() && conf.lists_node(&name_of(*nodeid)) {
                        continue;
                    }
                    match inputs.node(*nodeid).map(|node| conf.add_node(node)) {
                        Some(Ok(next)) => conf = next,
                        _ => ok = false,
                    }
                }
                if ok {
                    self.add_file(conf.to_text(), Purpose::Pvecm, "pvecm");
                }
            }
        }
        Ok(())
    }

    /// Adds a file of `purpose` (deduplicated by content, refused files left out);
    /// returns its id.
    fn add_file(&mut self, text: String, purpose: Purpose, suffix: &str) -> Option<FileId> {
        if let Some(existing) = self.find_text(&text) {
            return Some(existing);
        }
        let id = FileId::try_from(self.entries.len())
            .ok()
            .filter(|id| *id != NO_FILE)?;
        let name = format!("{}.{suffix}{}", self.target().name, id);
        let (entry, errors) = FileEntry::new(&name, &text, purpose);
        if !errors.is_empty() || !entry.refused_on.is_empty() {
            return None;
        }
        self.entries.push(entry);
        Some(id)
    }
}

/// At most this many nodes join or leave through pvecm in one plan: the table holds one
/// file per set of them, and the search's states grow with the sets (forming 6 nodes
/// explores about 36,000 states; 7 went past `search::MAX_STATES`).
pub(crate) const MAX_PVECM_CHANGES: usize = 6;

/// `document` with `totem.config_version` set to `version` (lossless edit).
fn bump_version(document: &Document, version: u64) -> Option<String> {
    let totem = document.sections_at("totem").first()?.start_line?;
    let edited = document.set_key(SectionId::Line(totem), "config_version", &version.to_string())?;
    Some(edited.to_text())
}
