//! The corosync.conf files Proxmox VE's `pvecm create`, `pvecm add` and `pvecm delnode`
//! write, byte for byte as pve-cluster 9.1.6 writes them (spec 6.3, 6.4).
//!
//! Owns `PveConf` (the file as `PVE::Corosync::parse_conf` reads it: comments dropped,
//! values split on blanks, only `node` and `interface` sections repeated, the nodelist keyed
//! by node name and the interfaces by link number), its serialisation as
//! `PVE::Corosync::write_conf` prints it (every key sorted, two spaces per level, a blank
//! line after each top-level section), `create_conf`'s file for the first node, the
//! nodelist edits `addnode` and `delnode` make with their refusals, and the
//! `config_version` bump `atomic_write_conf` adds to each. It must not judge quorum or
//! order (that is `state`): it only says which file pvecm would leave in /etc/pve.
//!
//! See: issue 11.

use std::collections::BTreeMap;

use model::syntax::{self, Entry, Section};

/// The token_coefficient `pvecm create` writes when not told otherwise (pve-cluster 9.1.6,
/// commit a7b1c76; older versions write none, so corosync's 650 applies: spec 6.4).
pub(crate) const PVECM_TOKEN_COEFFICIENT: u32 = 125;

/// One value of a pvecm configuration hash.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// `key: value`.
    Value(String),
    /// A section that appears once.
    Section(PveConf),
    /// A section that may repeat (`node`, `interface`), in file order (`nodelist.node` and
    /// `totem.interface` are kept sorted by their key, as pvecm re-keys them).
    List(Vec<PveConf>),
}

/// A corosync.conf as pvecm holds it: one hash per section, keys unique (the last wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PveConf {
    items: BTreeMap<String, Item>,
}

/// A node as pvecm adds it: the target's name, nodeid, votes and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PveNode {
    /// `name`.
    pub name: String,
    /// `nodeid`.
    pub nodeid: u32,
    /// `quorum_votes` as asked for (`--votes`); 0 is not written (spec 6.4, addnode 7).
    pub votes: u32,
    /// `ring<N>_addr` by link number.
    pub addresses: BTreeMap<u8, String>,
}

/// The sections pvecm's parser lets repeat (`$conf_array_sections`).
const ARRAY_SECTIONS: &[&str] = &["node", "interface"];

impl PveConf {
    /// Reads `text` as `PVE::Corosync::parse_conf` does; `Err` with pvecm's message where
    /// it dies, or where its whitespace split reads another file than corosync does.
    pub fn parse(text: &str) -> Result<PveConf, String> {
        let (document, errors) = syntax::parse(text);
        if !errors.is_empty() {
            return Err("the file does not parse".to_string());
        }
        let mut conf = PveConf::from_section(document.root())?;
        conf.rekey();
        Ok(conf)
    }

    fn from_section(section: &Section) -> Result<PveConf, String> {
        let mut items = BTreeMap::new();
        for entry in &section.entries {
            match entry {
                Entry::Key(key) => {
                    let value = key.value.trim();
                    if value.is_empty() || value.contains(char::is_whitespace) || value.contains('#') {
                        return Err(format!(
                            "pvecm's parser splits on blanks and cuts `#` anywhere: `{}: {}` does not read back (spec 6.3)",
                            key.key, key.value
                        ));
                    }
                    items.insert(key.key.clone(), Item::Value(value.to_string()));
                }
                Entry::Section(child) => {
                    let conf = PveConf::from_section(child)?;
                    if ARRAY_SECTIONS.contains(&child.name.as_str()) {
                        match items.entry(child.name.clone()) {
                            std::collections::btree_map::Entry::Occupied(mut occupied) => {
                                match occupied.get_mut() {
                                    Item::List(list) => list.push(conf),
                                    _ => return Err(format!("section '{}' already exists", child.name)),
                                }
                            }
                            std::collections::btree_map::Entry::Vacant(vacant) => {
                                vacant.insert(Item::List(vec![conf]));
                            }
                        }
                    } else if items.contains_key(&child.name) {
                        return Err(format!(
                            "section '{}' already exists and not marked as array!",
                            child.name
                        ));
                    } else {
                        items.insert(child.name.clone(), Item::Section(conf));
                    }
                }
            }
        }
        Ok(PveConf { items })
    }

    /// parse_conf's re-keying: `nodelist.node` by `name` (else `ring0_addr`),
    /// `totem.interface` by `linknumber` (else `ringnumber`); a duplicate key collapses to
    /// the last; write_conf prints them sorted by that key.
    fn rekey(&mut self) {
        let rekey = |conf: &mut PveConf, list: &str, keys: [&str; 2]| {
            if let Some(Item::List(entries)) = conf.items.get_mut(list) {
                let mut keyed: BTreeMap<String, PveConf> = BTreeMap::new();
                for entry in entries.drain(..) {
                    let key = keys
                        .iter()
                        .find_map(|key| entry.value(key))
                        .unwrap_or_default()
                        .to_string();
                    keyed.insert(key, entry);
                }
                entries.extend(keyed.into_values());
            }
        };
        if let Some(Item::Section(nodelist)) = self.items.get_mut("nodelist") {
            rekey(nodelist, "node", ["name", "ring0_addr"]);
        }
        if let Some(Item::Section(totem)) = self.items.get_mut("totem") {
            rekey(totem, "interface", ["linknumber", "ringnumber"]);
        }
    }

    fn value(&self, key: &str) -> Option<&str> {
        match self.items.get(key) {
            Some(Item::Value(value)) => Some(value),
            _ => None,
        }
    }

    fn section_mut(&mut self, name: &str) -> &mut PveConf {
        let item = self
            .items
            .entry(name.to_string())
            .or_insert_with(|| Item::Section(PveConf::default()));
        if !matches!(item, Item::Section(_)) {
            *item = Item::Section(PveConf::default());
        }
        match item {
            Item::Section(section) => section,
            _ => unreachable!("just made a section"),
        }
    }

    fn set(&mut self, key: &str, value: impl ToString) {
        self.items.insert(key.to_string(), Item::Value(value.to_string()));
    }

    /// Whether the nodelist has a node named `name`.
    pub fn lists_node(&self, name: &str) -> bool {
        self.nodes().iter().any(|node| node.value("name") == Some(name))
    }

    /// The nodes of the nodelist, sorted by name.
    fn nodes(&self) -> Vec<PveConf> {
        match self.items.get("nodelist") {
            Some(Item::Section(nodelist)) => match nodelist.items.get("node") {
                Some(Item::List(nodes)) => nodes.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn set_nodes(&mut self, mut nodes: Vec<PveConf>) {
        nodes.sort_by(|a, b| {
            let key = |node: &PveConf| {
                node.value("name")
                    .or_else(|| node.value("ring0_addr"))
                    .unwrap_or_default()
                    .to_string()
            };
            key(a).cmp(&key(b))
        });
        self.section_mut("nodelist")
            .items
            .insert("node".to_string(), Item::List(nodes));
    }

    /// `atomic_write_conf`: config_version + 1; pvecm dies without one.
    fn bump_version(&mut self) -> Result<u64, String> {
        let totem = self.section_mut("totem");
        let version: u64 = totem
            .value("config_version")
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| "invalid corosync config: unable to read config version".to_string())?;
        let bumped = version.saturating_add(1);
        totem.set("config_version", bumped);
        Ok(bumped)
    }

    /// The file `pvecm create CLUSTER --link0 ... --nodeid N --votes V` writes on the first
    /// node (`create_conf`, then `atomic_write_conf`: config_version 0 -> 1).
    /// `priorities` are the links' `knet_link_priority` (0: not written).
    pub fn create(
        cluster_name: &str,
        first: &PveNode,
        priorities: &BTreeMap<u8, u32>,
        token_coefficient: u32,
    ) -> PveConf {
        let mut conf = PveConf::default();
        {
            let totem = conf.section_mut("totem");
            totem.set("version", 2);
            totem.set("secauth", "on");
            totem.set("cluster_name", cluster_name);
            totem.set("config_version", 1);
            totem.set("ip_version", "ipv4-6");
            totem.set("link_mode", "passive");
            totem.set("token_coefficient", token_coefficient);
            let interfaces = first
                .addresses
                .keys()
                .map(|link| {
                    let mut interface = PveConf::default();
                    interface.set("linknumber", link);
                    if let Some(priority) = priorities.get(link).filter(|priority| **priority != 0) {
                        interface.set("knet_link_priority", priority);
                    }
                    interface
                })
                .collect();
            totem
                .items
                .insert("interface".to_string(), Item::List(interfaces));
        }
        let mut node = PveConf::default();
        node.set("name", &first.name);
        node.set("nodeid", first.nodeid);
        // create's votes have minimum 1 and are always written.
        node.set("quorum_votes", first.votes.max(1));
        for (link, address) in &first.addresses {
            node.set(&format!("ring{link}_addr"), address);
        }
        conf.set_nodes(vec![node]);
        conf.section_mut("quorum").set("provider", "corosync_votequorum");
        let logging = conf.section_mut("logging");
        logging.set("to_syslog", "yes");
        logging.set("debug", "off");
        conf
    }

    /// `addnode` (run on a member for `pvecm add`): `node` added to the nodelist with
    /// config_version + 1; `Err` with pvecm's refusal (an address in use, a link set other
    /// than the cluster's, an existing name, no config_version).
    pub fn add_node(&self, node: &PveNode) -> Result<PveConf, String> {
        let nodes = self.nodes();
        for other in &nodes {
            let other_name = other.value("name").unwrap_or_default();
            if other_name == node.name {
                return Err(format!("can't add existing node '{}'", node.name));
            }
            for (key, item) in &other.items {
                if let (Item::Value(address), true) =
                    (item, key.starts_with("ring") && key.ends_with("_addr"))
                {
                    if node.addresses.values().any(|mine| mine == address) {
                        return Err(format!(
                            "corosync: address '{address}' already used on link {key} by node '{other_name}'"
                        ));
                    }
                }
            }
        }
        if let Some(first) = nodes.first() {
            for link in 0..8u8 {
                let cluster_has = first.value(&format!("ring{link}_addr")).is_some();
                let node_has = node.addresses.contains_key(&link);
                if cluster_has && !node_has {
                    return Err(format!(
                        "corosync: link {link} exists in cluster config but wasn't specified for new node"
                    ));
                }
                if !cluster_has && node_has {
                    return Err(format!(
                        "corosync: link {link} specified for new node doesn't exist in cluster config"
                    ));
                }
            }
        }
        let mut conf = self.clone();
        let mut entry = PveConf::default();
        entry.set("name", &node.name);
        entry.set("nodeid", node.nodeid);
        // `quorum_votes` is written only when votes is true-ish: --votes 0 gives 1 vote.
        if node.votes != 0 {
            entry.set("quorum_votes", node.votes);
        }
        for (link, address) in &node.addresses {
            entry.set(&format!("ring{link}_addr"), address);
        }
        let mut nodes = nodes;
        nodes.push(entry);
        conf.set_nodes(nodes);
        conf.bump_version()?;
        Ok(conf)
    }

    /// `delnode NAME`: the node removed from the nodelist with config_version + 1; `Err`
    /// when no node has that name or ring0/ring1 address.
    pub fn remove_node(&self, name: &str) -> Result<PveConf, String> {
        let nodes = self.nodes();
        let matches = |node: &PveConf| {
            node.value("name") == Some(name)
                || node.value("ring0_addr") == Some(name)
                || node.value("ring1_addr") == Some(name)
        };
        if !nodes.iter().any(matches) {
            return Err(format!("Node/IP: {name} is not a known host of the cluster."));
        }
        let mut conf = self.clone();
        conf.set_nodes(nodes.into_iter().filter(|node| !matches(node)).collect());
        conf.bump_version()?;
        Ok(conf)
    }

    /// The file as `write_conf` prints it.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        self.dump(&mut text, "");
        text
    }

    fn dump(&self, text: &mut String, prefix: &str) {
        let deeper = format!("{prefix}  ");
        for (key, item) in &self.items {
            match item {
                Item::Value(value) => text.push_str(&format!("{prefix}{key}: {value}\n")),
                Item::Section(section) => {
                    text.push_str(&format!("{prefix}{key} {{\n"));
                    section.dump(text, &deeper);
                    text.push_str(&format!("{prefix}}}\n"));
                    if prefix.is_empty() {
                        text.push('\n');
                    }
                }
                Item::List(children) => {
                    for child in children {
                        text.push_str(&format!("{prefix}{key} {{\n"));
                        child.dump(text, &deeper);
                        text.push_str(&format!("{prefix}}}\n"));
                    }
                }
            }
        }
    }
}

/// The dotted keys whose values differ between the files `a` and `b` as pvecm reads them
/// (totem.config_version left out), e.g. `totem.token`, `logging.logfile`; every key when
/// one does not read.
pub(crate) fn differences(a: &str, b: &str) -> Vec<String> {
    let flat = |text: &str| -> BTreeMap<String, String> {
        let mut flat = BTreeMap::new();
        if let Ok(conf) = PveConf::parse(text) {
            conf.flatten("", &mut flat);
        }
        flat.remove("totem.config_version");
        flat
    };
    let (a, b) = (flat(a), flat(b));
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|key| a.get(*key) != b.get(*key))
        .map(|key| key.split('[').next().unwrap_or(key).to_string())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl PveConf {
    fn flatten(&self, prefix: &str, flat: &mut BTreeMap<String, String>) {
        for (key, item) in &self.items {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match item {
                Item::Value(value) => {
                    flat.insert(path, value.clone());
                }
                Item::Section(section) => section.flatten(&path, flat),
                Item::List(children) => {
                    for (index, child) in children.iter().enumerate() {
                        let mut inner = BTreeMap::new();
                        child.flatten("", &mut inner);
                        for (key, value) in inner {
                            flat.insert(format!("{path}.{key}[{index}]"), value);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, nodeid: u32, addresses: &[&str]) -> PveNode {
        PveNode {
            name: name.to_string(),
            nodeid,
            votes: 1,
            addresses: addresses
                .iter()
                .enumerate()
                .map(|(link, address)| (u8::try_from(link).unwrap_or(0), address.to_string()))
                .collect(),
        }
    }

    #[test]
    fn create_writes_what_write_conf_prints() {
        let conf = PveConf::create(
            "pve1",
            &node("pve1-node1", 1, &["198.18.0.1", "198.19.0.1"]),
            &BTreeMap::from([(0, 20), (1, 0)]),
            PVECM_TOKEN_COEFFICIENT,
        );
        let expected: String = [
            "logging {",
            "  debug: off",
            "  to_syslog: yes",
            "}",
            "",
            "nodelist {",
            "  node {",
            "    name: pve1-node1",
            "    nodeid: 1",
            "    quorum_votes: 1",
            "    ring0_addr: 198.18.0.1",
            "    ring1_addr: 198.19.0.1",
            "  }",
            "}",
            "",
            "quorum {",
            "  provider: corosync_votequorum",
            "}",
            "",
            "totem {",
            "  cluster_name: pve1",
            "  config_version: 1",
            "  interface {",
            "    knet_link_priority: 20",
            "    linknumber: 0",
            "  }",
            "  interface {",
            "    linknumber: 1",
            "  }",
            "  ip_version: ipv4-6",
            "  link_mode: passive",
            "  secauth: on",
            "  token_coefficient: 125",
            "  version: 2",
            "}",
            "",
        ]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
        assert_eq!(conf.to_text(), expected);
    }

    /// `runbook::check::pvecm_create_text("pve1", "pve1-node1", "198.18.0.1")` (the runbook
    /// checker's own test pins that they are the same).
    const RUNBOOK_PVECM_CREATE: &str = include_str!("../../tests/data/parity/OK-runbook-pvecm-create.conf");

    /// The file the runbook checker assumes for `pvecm create` (checked by real
    /// `corosync -t` in tests/data/parity) reads as the same configuration as ours, but for
    /// the token_coefficient it leaves out.
    #[test]
    fn create_is_the_runbook_checkers_file_in_pvecms_layout() {
        let ours = PveConf::create(
            "pve1",
            &node("pve1-node1", 1, &["198.18.0.1"]),
            &BTreeMap::new(),
            650,
        );
        let mut theirs = PveConf::parse(RUNBOOK_PVECM_CREATE).expect("the runbook's file reads");
        theirs.section_mut("totem").set("token_coefficient", 650);
        assert_eq!(ours, theirs);
        let (document, _) = syntax::parse(&ours.to_text());
        let (config, _) = model::config::Config::from_document(&document);
        let (runbook, _) = syntax::parse(RUNBOOK_PVECM_CREATE);
        let (runbook, _) = model::config::Config::from_document(&runbook);
        assert_eq!(
            model::quorum::NodeConfig::from_config(&config),
            model::quorum::NodeConfig::from_config(&runbook)
        );
    }

    #[test]
    fn add_and_delnode_edit_the_nodelist_and_bump_the_version() {
        let created = PveConf::create("c", &node("b", 1, &["198.18.0.2"]), &BTreeMap::new(), 125);
        let added = created.add_node(&node("a", 2, &["198.18.0.1"])).expect("joins");
        let text = added.to_text();
        assert!(text.contains("config_version: 2"), "{text}");
        // Sorted by name: `a` before `b`.
        assert!(
            text.find("name: a").unwrap_or(usize::MAX) < text.find("name: b").unwrap_or(0),
            "{text}"
        );
        assert_eq!(
            added.add_node(&node("a", 3, &["198.18.0.3"])),
            Err("can't add existing node 'a'".to_string())
        );
        assert_eq!(
            added.add_node(&node("d", 3, &["198.18.0.2"])),
            Err("corosync: address '198.18.0.2' already used on link ring0_addr by node 'b'".to_string())
        );
        assert_eq!(
            added.add_node(&node("d", 3, &["198.18.0.4", "198.19.0.4"])),
            Err("corosync: link 1 specified for new node doesn't exist in cluster config".to_string())
        );
        let mut zero = node("z", 4, &["198.18.0.9"]);
        zero.votes = 0;
        let with_zero = added.add_node(&zero).expect("joins").to_text();
        assert!(!with_zero.contains("quorum_votes: 0"), "{with_zero}");
        let removed = added.remove_node("b").expect("removes");
        assert!(removed.to_text().contains("config_version: 3"));
        assert!(!removed.to_text().contains("name: b"));
        assert_eq!(
            removed.remove_node("b"),
            Err("Node/IP: b is not a known host of the cluster.".to_string())
        );
    }

    #[test]
    fn parse_refuses_what_pvecms_parser_breaks_on() {
        assert!(PveConf::parse("quorum {\n auto_tie_breaker_node: 1 3\n}\n").is_err());
        assert!(PveConf::parse("quorum {\n}\nquorum {\n}\n").is_err());
        let text = "# a comment\ntotem {\n  config_version: 3\n}\n";
        assert_eq!(
            PveConf::parse(text).map(|conf| conf.to_text()),
            Ok("totem {\n  config_version: 3\n}\n\n".to_string())
        );
        assert_eq!(
            PveConf::parse("totem {\n}\n")
                .and_then(|conf| conf.remove_node("x"))
                .err(),
            Some("Node/IP: x is not a known host of the cluster.".to_string())
        );
    }
}
