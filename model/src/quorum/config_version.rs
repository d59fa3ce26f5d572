//! The `config_version` check of a node's first sync (spec 5.4, `exec/cmap.c
//! cmap_sync_activate`): a node whose own version is not 0 and that sees a member with a
//! higher version in the first multi-node membership after its start logs `Received config
//! version (%llu) is different than my config version (%llu)! Exiting` and shuts down.
//!
//! Owns `ClusterState::version_exits`, called by `settle` before any ring change. It must
//! not decide memberships (that is `membership`) nor touch votequorum state beyond stopping
//! the nodes that exit. A child module of `cluster` (it reads private fields).
//!
//! Checked on the lab (corosync 3.1.7): with two members reloaded to version 5, a node
//! restarted with 4 exits with that message; with no version or with 6 it joins and no
//! member exits (docs/known-limitations.md).
//!
//! "First sync" is votequorum's own `FIRST` flag (set at start, cleared by the first
//! multi-node `sync_init`), so a node that was in a multi-node ring, got isolated and merges
//! again is not checked, as in corosync.

use super::{ClusterState, StepOutcome};
use crate::quorum::node::NodeFlags;
use crate::quorum::node_set::NodeSet;

impl ClusterState {
    /// The `config_version` of the file the node at `pos` runs with (0 when not running).
    pub fn running_config_version(&self, pos: usize) -> u64 {
        self.nodes
            .get(pos)
            .and_then(|slot| slot.runtime.as_ref())
            .map_or(0, |config| config.totem().config_version)
    }

    /// Stops the nodes of the memberships in `stable` that would exit at their first sync
    /// because a member runs a higher `config_version`; returns whether any did.
    pub(super) fn version_exits(&mut self, stable: &[NodeSet], outcome: &mut StepOutcome) -> bool {
        let mut exits: Vec<(usize, u64, u64)> = Vec::new();
        for members in stable {
            if members.len() < 2 {
                continue;
            }
            let highest = members
                .iter()
                .map(|pos| self.running_config_version(pos))
                .max()
                .unwrap_or(0);
            for pos in members.iter() {
                let own = self.running_config_version(pos);
                let votequorum = &self.nodes[pos].votequorum;
                let first_sync = votequorum
                    .peers
                    .get(votequorum.me)
                    .is_some_and(|own| own.flags.has(NodeFlags::FIRST));
                if own != 0 && own < highest && first_sync {
                    exits.push((pos, own, highest));
                }
            }
        }
        for (pos, own, highest) in &exits {
            outcome.notes.push(format!(
                "node {}: Received config version ({highest}) is different than my config version ({own})! Exiting",
                self.nodeids[*pos]
            ));
            self.crash(*pos);
        }
        !exits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use crate::action::{Action, ConfigFile, Event};
    use crate::config::Config;
    use crate::quorum::{ClusterState, NodeConfig};
    use crate::scenario::NodeRef;

    fn file(version: u64) -> ConfigFile {
        let text = format!(
            "totem {{\n version: 2\n cluster_name: t\n config_version: {version}\n}}\n\
             nodelist {{\n node {{\n  nodeid: 1\n  ring0_addr: 198.18.0.1\n }}\n node {{\n  nodeid: 2\n  ring0_addr: 198.18.0.2\n }}\n node {{\n  nodeid: 3\n  ring0_addr: 198.18.0.3\n }}\n}}\n\
             quorum {{\n provider: corosync_votequorum\n}}\n"
        );
        let (document, _) = crate::syntax::parse(&text);
        let (config, _) = Config::from_document(&document);
        ConfigFile {
            name: format!("v{version}.conf"),
            config: NodeConfig::from_config(&config),
        }
    }

    fn install(state: &mut ClusterState, file: &ConfigFile, nodes: &[u32]) {
        let event = Event::Action(Action::InstallConfig {
            file: file.clone(),
            nodes: nodes.iter().map(|id| NodeRef::Id(*id)).collect(),
        });
        assert!(!state.apply_event(&event).rejected);
    }

    fn restart(state: &mut ClusterState, node: u32) -> crate::quorum::StepOutcome {
        state.apply_event(&Event::Action(Action::RestartNodes(vec![NodeRef::Id(node)])))
    }

    #[test]
    fn a_node_restarting_with_a_lower_version_than_the_members_exits() {
        let mut state = ClusterState::from_config(&file(4).config).unwrap();
        install(&mut state, &file(5), &[1, 2]);
        assert!(restart(&mut state, 1).notes.is_empty());
        assert!(state.is_up(0) && state.is_quorate(0));
        // Node 3 restarts with version 4 while node 1 runs 5: it exits.
        let outcome = restart(&mut state, 3);
        assert!(!state.is_up(2));
        assert_eq!(
            outcome.notes,
            ["node 3: Received config version (5) is different than my config version (4)! Exiting"]
        );
        // The members with the highest version never exit; a node with the new file joins.
        install(&mut state, &file(5), &[3]);
        state.apply_event(&Event::Action(Action::StartNodes(vec![
            crate::scenario::NodeSpec {
                partition: None,
                nodes: vec![NodeRef::Id(3)],
            },
        ])));
        assert!(state.is_up(2) && state.is_quorate(2));
        assert_eq!(state.running_config_version(2), 5);
    }

    #[test]
    fn a_member_left_alone_by_a_restarting_peer_is_not_at_its_first_sync() {
        let two = |version: u64| {
            let text = format!(
                "totem {{\n version: 2\n cluster_name: t\n config_version: {version}\n}}\n\
                 nodelist {{\n node {{\n  nodeid: 1\n  ring0_addr: 198.18.0.1\n }}\n node {{\n  nodeid: 2\n  ring0_addr: 198.18.0.2\n }}\n}}\n\
                 quorum {{\n provider: corosync_votequorum\n two_node: 1\n}}\n"
            );
            let (document, _) = crate::syntax::parse(&text);
            let (config, _) = Config::from_document(&document);
            ConfigFile {
                name: format!("v{version}.conf"),
                config: NodeConfig::from_config(&config),
            }
        };
        let mut state = ClusterState::from_config(&two(3).config).unwrap();
        install(&mut state, &two(4), &[1]);
        let outcome = restart(&mut state, 1);
        assert!(outcome.notes.is_empty(), "{:?}", outcome.notes);
        assert!(state.is_up(0) && state.is_up(1));
    }

    #[test]
    fn version_zero_is_never_checked_and_running_members_never_exit() {
        let mut state = ClusterState::from_config(&file(4).config).unwrap();
        install(&mut state, &file(0), &[2]);
        assert!(restart(&mut state, 2).notes.is_empty());
        assert!(state.is_up(1));
        // Node 1 restarts with version 7: the others (4, 0) are lower but already running.
        install(&mut state, &file(7), &[1]);
        assert!(restart(&mut state, 1).notes.is_empty());
        assert!((0..3).all(|pos| state.is_up(pos)));
    }
}
