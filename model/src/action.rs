//! What can happen to a cluster, as data: operator actions (`Action`) apart from fault
//! events (`Fault`), both one `Event`.
//!
//! Owns `Action`, `Fault`, `Event` and `ConfigFile`, their lowering to a scenario `Step`
//! (the one transition input `quorum::ClusterState` interprets, see
//! `ClusterState::apply_event`) and back (`Event::from_step`). Every event prints as the
//! script line of its step, so every plan and every counterexample is a `whatif` script
//! that parses back to the same steps. A configuration travels as content (`ConfigFile`:
//! the name a script writes and the parsed `NodeConfig`); the caller reads files, this
//! module does no IO and decides nothing about quorum.

use std::fmt;

use crate::quorum::NodeConfig;
use crate::scenario::{LinkScope, NodeRef, NodeSpec, QnetdChange, Step};

/// A corosync.conf an action installs or reloads: the name a script uses for it (a path
/// as written) and its parsed content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfigFile {
    /// The name as a script writes it (`reload FILE`, `install FILE on N`).
    pub name: String,
    /// What the file says.
    pub config: NodeConfig,
}

/// An operator action: something `quorate plan` may ask a person or `apply` to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `install FILE on NODES`: write FILE as these nodes' corosync.conf. Nothing reads it
    /// until the node reloads or starts.
    InstallConfig {
        /// The file.
        file: ConfigFile,
        /// The nodes whose disk gets it.
        nodes: Vec<NodeRef>,
    },
    /// `reload [FILE]`: `corosync-cfgtool -R`; every running node re-reads its own file
    /// (spec 5.1). With FILE, FILE is first written to every node (the whole-cluster form).
    ReloadConfig {
        /// The file written to every node first, if any.
        file: Option<ConfigFile>,
    },
    /// `up [P:]NODES`: start corosync (in partition P of the network).
    StartNodes(Vec<NodeSpec>),
    /// `stop NODES`: clean shutdown, the node leaves the cluster (`systemctl stop corosync`;
    /// with allow_downscale it announces LEAVING first, spec 2.5).
    StopNodes(Vec<NodeRef>),
    /// `restart NODES`: stop and start again in the same partition (reads its disk file).
    RestartNodes(Vec<NodeRef>),
    /// `expected V on N`: `corosync-quorumtool -e V` on node N.
    SetExpectedVotes {
        /// The new expected votes.
        votes: u32,
        /// Where the tool runs.
        node: NodeRef,
    },
    /// `votes V [of T] on N`: `corosync-quorumtool -v V [-n T]` on node N: T's votes at
    /// runtime (until T restarts or a reload re-reads the file).
    SetNodeVotes {
        /// The new votes.
        votes: u32,
        /// The node whose votes change (N itself without `-n`).
        target: NodeRef,
        /// Where the tool runs.
        node: NodeRef,
    },
    /// `qdevice on|off NODES`: the nodes' quorum devices cast (or stop casting) their vote.
    SetQdeviceVote {
        /// Casting or not.
        on: bool,
        /// The nodes.
        nodes: Vec<NodeRef>,
    },
}

/// A fault event (or its repair, or time passing): what the world does to the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// `down NODES`: the nodes crash (no clean leave).
    CrashNodes(Vec<NodeRef>),
    /// `move [P:]NODES`: the network splits, the nodes are now in partition P.
    MoveNodes(Vec<NodeSpec>),
    /// `join P1 P2 ...`: partitions merge into the first.
    JoinPartitions {
        /// The partition that stays.
        into: u8,
        /// The partitions merged into it.
        from: Vec<u8>,
    },
    /// `link down|up L [scope]`: a knet link fails or comes back.
    SetLink {
        /// Link number 0..=7.
        link: u8,
        /// Up (`true`) or down.
        up: bool,
        /// Where.
        scope: LinkScope,
    },
    /// `isolate N`: N alone in a new partition.
    IsolateNode(NodeRef),
    /// `heal`: one partition, every link up.
    Heal,
    /// `wait MS`: model time passes (timers such as the LMS window fire).
    Wait(u64),
    /// `qnetd down|up`, `qnetd cut|reach NODES`: the qnetd server fails or returns, or nodes
    /// lose or regain their path to it.
    Qnetd(QnetdChange),
    /// `heuristics fail|pass NODES`: the nodes' qdevice heuristics result changes.
    SetHeuristics {
        /// Pass (`true`) or fail.
        pass: bool,
        /// The nodes.
        nodes: Vec<NodeRef>,
    },
}

/// One thing that happens to the cluster: an operator action, a fault, or `show`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// An operator action.
    Action(Action),
    /// A fault event.
    Fault(Fault),
    /// `show`: nothing happens (corosync-vqsim compatibility).
    Show,
}

/// A step names a file (`reload FILE`, `install FILE on N`) the caller could not provide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{file}`: {reason}")]
pub struct FileError {
    /// The file as the step names it.
    pub file: String,
    /// Why the caller could not provide it.
    pub reason: String,
}

impl Event {
    /// The scenario step this event lowers to (the transition `ClusterState` runs and the
    /// script line it prints as). Files become their names; see [`Event::config`].
    pub fn to_step(&self) -> Step {
        match self {
            Event::Action(action) => match action {
                Action::InstallConfig { file, nodes } => Step::Install {
                    file: file.name.clone(),
                    nodes: nodes.clone(),
                },
                Action::ReloadConfig { file } => Step::Reload {
                    file: file.as_ref().map(|file| file.name.clone()),
                },
                Action::StartNodes(specs) => Step::Up(specs.clone()),
                Action::StopNodes(nodes) => Step::Stop(nodes.clone()),
                Action::RestartNodes(nodes) => Step::Restart(nodes.clone()),
                Action::SetExpectedVotes { votes, node } => Step::Expected {
                    votes: *votes,
                    node: node.clone(),
                },
                Action::SetNodeVotes { votes, target, node } => Step::Votes {
                    votes: *votes,
                    target: target.clone(),
                    node: node.clone(),
                },
                Action::SetQdeviceVote { on, nodes } => Step::Qdevice {
                    on: *on,
                    nodes: nodes.clone(),
                },
            },
            Event::Fault(fault) => match fault {
                Fault::CrashNodes(nodes) => Step::Down(nodes.clone()),
                Fault::MoveNodes(specs) => Step::Move(specs.clone()),
                Fault::JoinPartitions { into, from } => Step::Join {
                    into: *into,
                    from: from.clone(),
                },
                Fault::SetLink { link, up, scope } => Step::Link {
                    link: *link,
                    up: *up,
                    scope: scope.clone(),
                },
                Fault::IsolateNode(node) => Step::Isolate(node.clone()),
                Fault::Heal => Step::Heal,
                Fault::Wait(ms) => Step::Wait(*ms),
                Fault::Qnetd(change) => Step::Qnetd(change.clone()),
                Fault::SetHeuristics { pass, nodes } => Step::Heuristics {
                    pass: *pass,
                    nodes: nodes.clone(),
                },
            },
            Event::Show => Step::Show,
        }
    }

    /// The configuration file the event carries (`install`, `reload FILE`), if any.
    pub fn config(&self) -> Option<&ConfigFile> {
        match self {
            Event::Action(Action::InstallConfig { file, .. }) => Some(file),
            Event::Action(Action::ReloadConfig { file }) => file.as_ref(),
            _ => None,
        }
    }

    /// Whether the event is an operator action (not a fault, time or `show`).
    pub fn is_action(&self) -> bool {
        matches!(self, Event::Action(_))
    }

    /// The event a scenario step means. `read` turns a file name the step gives
    /// (`reload FILE`, `install FILE on N`) into its content; it is the only way files
    /// enter (the model does no IO), and it is called only for steps that name a file.
    pub fn from_step<E: fmt::Display>(
        step: &Step,
        read: &mut dyn FnMut(&str) -> Result<NodeConfig, E>,
    ) -> Result<Event, FileError> {
        let mut file = |name: &str| -> Result<ConfigFile, FileError> {
            read(name)
                .map(|config| ConfigFile {
                    name: name.to_string(),
                    config,
                })
                .map_err(|reason| FileError {
                    file: name.to_string(),
                    reason: reason.to_string(),
                })
        };
        Ok(match step {
            Step::Up(specs) => Event::Action(Action::StartNodes(specs.clone())),
            Step::Down(nodes) => Event::Fault(Fault::CrashNodes(nodes.clone())),
            Step::Move(specs) => Event::Fault(Fault::MoveNodes(specs.clone())),
            Step::Join { into, from } => Event::Fault(Fault::JoinPartitions {
                into: *into,
                from: from.clone(),
            }),
            Step::Qdevice { on, nodes } => Event::Action(Action::SetQdeviceVote {
                on: *on,
                nodes: nodes.clone(),
            }),
            Step::Link { link, up, scope } => Event::Fault(Fault::SetLink {
                link: *link,
                up: *up,
                scope: scope.clone(),
            }),
            Step::Isolate(node) => Event::Fault(Fault::IsolateNode(node.clone())),
            Step::Heal => Event::Fault(Fault::Heal),
            Step::Expected { votes, node } => Event::Action(Action::SetExpectedVotes {
                votes: *votes,
                node: node.clone(),
            }),
            Step::Votes { votes, target, node } => Event::Action(Action::SetNodeVotes {
                votes: *votes,
                target: target.clone(),
                node: node.clone(),
            }),
            Step::Install { file: name, nodes } => Event::Action(Action::InstallConfig {
                file: file(name)?,
                nodes: nodes.clone(),
            }),
            Step::Reload { file: name } => Event::Action(Action::ReloadConfig {
                file: name.as_deref().map(&mut file).transpose()?,
            }),
            Step::Restart(nodes) => Event::Action(Action::RestartNodes(nodes.clone())),
            Step::Stop(nodes) => Event::Action(Action::StopNodes(nodes.clone())),
            Step::Wait(ms) => Event::Fault(Fault::Wait(*ms)),
            Step::Qnetd(change) => Event::Fault(Fault::Qnetd(change.clone())),
            Step::Heuristics { pass, nodes } => Event::Fault(Fault::SetHeuristics {
                pass: *pass,
                nodes: nodes.clone(),
            }),
            Step::Show => Event::Show,
        })
    }
}

impl From<Action> for Event {
    fn from(action: Action) -> Event {
        Event::Action(action)
    }
}

impl From<Fault> for Event {
    fn from(fault: Fault) -> Event {
        Event::Fault(fault)
    }
}

impl fmt::Display for Event {
    /// The script line of the event's step (`scenario::parse` reads it back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_step().fmt(f)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Event::Action(self.clone()).fmt(f)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Event::Fault(self.clone()).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::QuorumSettings;
    use crate::scenario;

    fn read(name: &str) -> Result<NodeConfig, String> {
        match name {
            "new.conf" => Ok(NodeConfig::from_settings(&QuorumSettings::plain(4))),
            other => Err(format!("no file {other}")),
        }
    }

    #[test]
    fn every_step_lowers_back_to_itself_and_prints_as_a_script() {
        let text = "up 1:1,2 3\ndown 2\nmove 1:1 2:2,3\njoin 0 1 2\nqdevice on 1 2\nlink down 0\n\
                    link up 1 2,3\nlink down 0 between 1 2\nisolate 3\nheal\nexpected 2 on 1\n\
                    install new.conf on 1 2\nreload new.conf\nreload\nrestart 1\nstop 2\nwait 1500\nshow\n\
                    qnetd down\nqnetd up\nqnetd cut 1 2\nqnetd reach 2\nheuristics fail 1\nheuristics pass 1 2\n";
        let script = scenario::parse(text).unwrap();
        let events: Vec<Event> = script
            .steps
            .iter()
            .map(|step| Event::from_step(step, &mut read).unwrap())
            .collect();
        let printed: String = events.iter().map(|event| format!("{event}\n")).collect();
        assert_eq!(printed, text);
        let again = scenario::parse(&printed).unwrap();
        assert_eq!(again.steps, script.steps);
        for (event, step) in events.iter().zip(&script.steps) {
            assert_eq!(event.to_step(), *step);
        }
        let actions: Vec<bool> = events.iter().map(Event::is_action).collect();
        assert_eq!(
            actions,
            [
                true, false, false, false, true, false, false, false, false, false, true, true, true, true,
                true, true, false, false, false, false, false, false, false, false
            ]
        );
        assert_eq!(
            events[12].config().map(|file| file.name.as_str()),
            Some("new.conf")
        );
        assert_eq!(
            events[12].config().map(|file| file.config.settings().nodes.len()),
            Some(4)
        );
        assert!(events[13].config().is_none());
    }

    #[test]
    fn node_votes_are_an_action_that_prints_as_its_script_line() {
        let text = "votes 3 on 1\nvotes 0 of node2 on 1\n";
        let script = scenario::parse(text).unwrap();
        let events: Vec<Event> = script
            .steps
            .iter()
            .map(|step| Event::from_step(step, &mut read).unwrap())
            .collect();
        assert_eq!(
            events[1],
            Event::Action(Action::SetNodeVotes {
                votes: 0,
                target: NodeRef::Name("node2".to_string()),
                node: NodeRef::Id(1),
            })
        );
        assert!(events.iter().all(Event::is_action));
        let printed: String = events.iter().map(|event| format!("{event}\n")).collect();
        assert_eq!(printed, text);
        for (event, step) in events.iter().zip(&script.steps) {
            assert_eq!(event.to_step(), *step);
        }
    }

    #[test]
    fn a_file_the_caller_cannot_read_is_an_error_naming_it() {
        let script = scenario::parse("install old.conf on 1").unwrap();
        let error = Event::from_step(&script.steps[0], &mut read).unwrap_err();
        assert_eq!(error.to_string(), "cannot read `old.conf`: no file old.conf");
    }
}
