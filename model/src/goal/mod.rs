//! GOALs of `quorate plan --goal`: what the operator wants changed, as typed data, and the
//! edit of a corosync.conf that reaches it.
//!
//! Owns `Goal` (one parsed `--goal` string), `parse`, the goal errors (`GoalError`: which
//! goal, what is wrong, what to write instead) and `apply` (in `apply.rs`), which edits a
//! source `Document` through the lossless edit API of `syntax` (comments and layout kept)
//! into the target the planner plans towards. It must not plan (the order of steps is the
//! planner's) nor judge the target (lint does that): it refuses only goals that cannot be
//! applied, contradict each other or change nothing.

mod apply;
#[cfg(test)]
mod tests;

pub use apply::{apply, Applied};

use std::fmt;

/// The qnetd decision algorithm of `add-qdevice` (`quorum.device.net.algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QdeviceAlgorithm {
    /// `ffsplit`: the qdevice vote goes to one half of an even split (votes 1).
    Ffsplit,
    /// `lms`: last man standing, the qdevice keeps any one partition quorate (votes N-1).
    Lms,
}

impl QdeviceAlgorithm {
    /// The value corosync-qdevice reads.
    pub fn as_str(self) -> &'static str {
        match self {
            QdeviceAlgorithm::Ffsplit => "ffsplit",
            QdeviceAlgorithm::Lms => "lms",
        }
    }
}

/// One `--goal`, parsed. The words are the goal language of `quorate plan --help`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `add-node NAME ADDR[,ADDR...] [votes=V] [nodeid=I]`: one address per link, in link
    /// number order.
    AddNode {
        /// The node's `name`.
        name: String,
        /// `ring<N>_addr` for each link the cluster has, lowest link number first.
        addresses: Vec<String>,
        /// `quorum_votes`, when given.
        votes: Option<u32>,
        /// `nodeid`, when given (else the smallest free id, as pvecm picks it).
        nodeid: Option<u32>,
    },
    /// `remove-node NODE`.
    RemoveNode {
        /// A node name or nodeid.
        node: String,
    },
    /// `add-link N ADDR,...`: one address per node, in nodelist order.
    AddLink {
        /// The knet link number (0-7).
        link: u8,
        /// `ring<N>_addr` of each node, in nodelist order.
        addresses: Vec<String>,
    },
    /// `remove-link N`.
    RemoveLink {
        /// The knet link number.
        link: u8,
    },
    /// `readdress NODE LINK ADDR`.
    Readdress {
        /// A node name or nodeid.
        node: String,
        /// The link number.
        link: u8,
        /// The new `ring<LINK>_addr`.
        address: String,
    },
    /// `set SECTION.KEY=VALUE`.
    Set {
        /// The dotted section path (`quorum`, `totem`, `quorum.device`).
        section: String,
        /// The key inside it.
        key: String,
        /// The value to write.
        value: String,
    },
    /// `unset SECTION.KEY`.
    Unset {
        /// The dotted section path.
        section: String,
        /// The key inside it.
        key: String,
    },
    /// `rolling-restart`: no configuration change; restart every node once.
    RollingRestart,
    /// `add-qdevice HOST [algorithm=ffsplit|lms]`.
    AddQdevice {
        /// The qnetd host (`quorum.device.net.host`).
        host: String,
        /// The algorithm, when given (else pvecm's choice: ffsplit for an even node count,
        /// lms for an odd one).
        algorithm: Option<QdeviceAlgorithm>,
    },
    /// `remove-qdevice`.
    RemoveQdevice,
}

/// The usage line of each goal kind, in `--help` order.
pub const GOAL_USAGE: &[(&str, &str)] = &[
    ("add-node", "add-node NAME ADDR[,ADDR...] [votes=V] [nodeid=I]"),
    ("remove-node", "remove-node NODE"),
    ("add-link", "add-link N ADDR_FOR_NODE1,ADDR_FOR_NODE2,..."),
    ("remove-link", "remove-link N"),
    ("readdress", "readdress NODE LINK ADDR"),
    ("set", "set SECTION.KEY=VALUE"),
    ("unset", "unset SECTION.KEY"),
    ("rolling-restart", "rolling-restart"),
    ("add-qdevice", "add-qdevice HOST [algorithm=ffsplit|lms]"),
    ("remove-qdevice", "remove-qdevice"),
];

impl Goal {
    /// The goal's kind, its first word (`add-node`).
    pub fn kind(&self) -> &'static str {
        match self {
            Goal::AddNode { .. } => "add-node",
            Goal::RemoveNode { .. } => "remove-node",
            Goal::AddLink { .. } => "add-link",
            Goal::RemoveLink { .. } => "remove-link",
            Goal::Readdress { .. } => "readdress",
            Goal::Set { .. } => "set",
            Goal::Unset { .. } => "unset",
            Goal::RollingRestart => "rolling-restart",
            Goal::AddQdevice { .. } => "add-qdevice",
            Goal::RemoveQdevice => "remove-qdevice",
        }
    }
}

impl fmt::Display for Goal {
    /// The goal in its canonical spelling, which `parse` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::AddNode {
                name,
                addresses,
                votes,
                nodeid,
            } => {
                write!(f, "add-node {name} {}", addresses.join(","))?;
                if let Some(votes) = votes {
                    write!(f, " votes={votes}")?;
                }
                if let Some(nodeid) = nodeid {
                    write!(f, " nodeid={nodeid}")?;
                }
                Ok(())
            }
            Goal::RemoveNode { node } => write!(f, "remove-node {node}"),
            Goal::AddLink { link, addresses } => write!(f, "add-link {link} {}", addresses.join(",")),
            Goal::RemoveLink { link } => write!(f, "remove-link {link}"),
            Goal::Readdress { node, link, address } => write!(f, "readdress {node} {link} {address}"),
            Goal::Set { section, key, value } => write!(f, "set {section}.{key}={value}"),
            Goal::Unset { section, key } => write!(f, "unset {section}.{key}"),
            Goal::RollingRestart => write!(f, "rolling-restart"),
            Goal::AddQdevice { host, algorithm } => {
                write!(f, "add-qdevice {host}")?;
                if let Some(algorithm) = algorithm {
                    write!(f, " algorithm={}", algorithm.as_str())?;
                }
                Ok(())
            }
            Goal::RemoveQdevice => write!(f, "remove-qdevice"),
        }
    }
}

/// A goal that cannot be parsed or applied: the goal as written and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("goal `{goal}`: {problem}")]
pub struct GoalError {
    /// The goal as the operator wrote it (or its canonical spelling).
    pub goal: String,
    /// What is wrong.
    pub problem: GoalProblem,
}

impl GoalError {
    fn new(goal: impl Into<String>, problem: GoalProblem) -> GoalError {
        GoalError {
            goal: goal.into(),
            problem,
        }
    }

    /// What to write instead: the usage line of the goal kind, or the specific way out.
    pub fn help(&self) -> String {
        let kind = self.goal.split_whitespace().next().unwrap_or_default();
        let usage = GOAL_USAGE
            .iter()
            .find(|(name, _)| *name == kind)
            .map(|(_, usage)| *usage);
        match &self.problem {
            GoalProblem::Empty | GoalProblem::UnknownKind(_) => format!(
                "a goal is one of: {}",
                GOAL_USAGE
                    .iter()
                    .map(|(_, usage)| format!("`{usage}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            GoalProblem::UnknownNode { known, .. } => {
                format!(
                    "name a node of the nodelist (by name or nodeid): {}",
                    known.join(", ")
                )
            }
            GoalProblem::NodeExists(_) => {
                "choose another name; to change an existing node, remove it and add it back".into()
            }
            GoalProblem::NodeIdUsed { free, .. } => {
                format!("leave nodeid= out to take the smallest free id ({free}), or give another")
            }
            GoalProblem::AddressCount { expected, .. } => format!(
                "give exactly {expected}, comma-separated, in the order the goal says: `{}`",
                usage.unwrap_or_default()
            ),
            GoalProblem::LinkExists(link) => format!(
                "to change one node's address on link {link}, use `readdress NODE {link} ADDR`; \
                 to change every address, `remove-link {link}` and `add-link` another number"
            ),
            GoalProblem::LinkMissing { existing, .. } => {
                format!("the cluster's links are: {}", join_links(existing))
            }
            GoalProblem::LastLink(_) => {
                "add the replacement link first (`add-link N ...` before `remove-link`)".into()
            }
            GoalProblem::LastNode(_) => "a cluster keeps at least one node".into(),
            GoalProblem::ChangesNothing(_) => "leave the goal out".into(),
            GoalProblem::Conflict { .. } => "keep only the goal you mean".into(),
            GoalProblem::NodelistKey => {
                "use add-node, remove-node, add-link, remove-link or readdress for the nodelist".into()
            }
            GoalProblem::RepeatedSection(_) => {
                "edit that section with `--to FILE` (quorate plans from any target file)".into()
            }
            GoalProblem::QdeviceExists => {
                "remove-qdevice first, or `set quorum.device.net.host=HOST` to move it".into()
            }
            GoalProblem::QdeviceMissing => "there is nothing to remove; leave the goal out".into(),
            GoalProblem::NoNodes => "give the cluster a nodelist first (`--to FILE`)".into(),
            _ => match usage {
                Some(usage) => format!("write `{usage}`"),
                None => "see `quorate plan --help` for the goal language".into(),
            },
        }
    }
}

/// `0 and 1`, or `none` without links.
fn join_links(links: &[u8]) -> String {
    if links.is_empty() {
        return "none".into();
    }
    links.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")
}

/// What is wrong with one goal. Messages are lowercase, without a trailing period.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoalProblem {
    /// An empty `--goal ''`.
    #[error("the goal is empty")]
    Empty,
    /// The first word is no goal kind.
    #[error("unknown goal `{0}`")]
    UnknownKind(String),
    /// A required word is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A word the goal does not take.
    #[error("unexpected `{0}`")]
    Unexpected(String),
    /// A number that is not one, or out of range.
    #[error("{what} must be {range}, not `{text}`")]
    BadNumber {
        /// What the number is (`the link number`).
        what: &'static str,
        /// The allowed range.
        range: &'static str,
        /// What was written.
        text: String,
    },
    /// An empty address, or one with blanks.
    #[error("`{0}` is not an address")]
    BadAddress(String),
    /// A section or key name corosync's parser would not read back as one.
    #[error("`{0}` is not a SECTION.KEY (e.g. quorum.wait_for_all)")]
    BadKey(String),
    /// A value with a newline or a brace, or one the line limit cuts.
    #[error("the value `{0}` cannot be written on one corosync.conf line")]
    BadValue(String),
    /// The goal names a node the nodelist lacks.
    #[error("no node `{node}` in the nodelist")]
    UnknownNode {
        /// As written.
        node: String,
        /// The nodes there are.
        known: Vec<String>,
    },
    /// `add-node` of a name already in the nodelist.
    #[error("node `{0}` is already in the nodelist")]
    NodeExists(String),
    /// `add-node ... nodeid=I` with an id already taken.
    #[error("nodeid {nodeid} is already used by `{by}`")]
    NodeIdUsed {
        /// The id asked for.
        nodeid: u32,
        /// The node that has it.
        by: String,
        /// The smallest free id.
        free: u32,
    },
    /// Not one address per link (add-node) or per node (add-link).
    #[error("{given} address(es) given, but {expected}")]
    AddressCount {
        /// What was expected, in words (`the cluster has 2 links (0, 1)`).
        expected: String,
        /// How many were given.
        given: usize,
    },
    /// An address another node already has on that link.
    #[error("address {address} is already used on link {link} by `{by}`")]
    AddressUsed {
        /// The address.
        address: String,
        /// The link.
        link: u8,
        /// The node that has it.
        by: String,
    },
    /// `add-link N` of a link some node already has.
    #[error("link {0} already exists")]
    LinkExists(u8),
    /// A link no node has.
    #[error("link {link} does not exist")]
    LinkMissing {
        /// The link asked for.
        link: u8,
        /// The links there are.
        existing: Vec<u8>,
    },
    /// `remove-link` of the only link.
    #[error("link {0} is the cluster's only link: corosync needs a working link at all times")]
    LastLink(u8),
    /// `remove-node` of the only node.
    #[error("`{0}` is the cluster's only node")]
    LastNode(String),
    /// The goal leaves the file as it is.
    #[error("changes nothing: {0}")]
    ChangesNothing(String),
    /// Two goals that contradict each other.
    #[error("conflicts with goal `{other}`: {why}")]
    Conflict {
        /// The other goal.
        other: String,
        /// Why both cannot hold.
        why: &'static str,
    },
    /// `set`/`unset` inside the nodelist.
    #[error("nodelist entries are not set or unset by key")]
    NodelistKey,
    /// `set`/`unset` in a section that appears more than once (`totem.interface`).
    #[error("section `{0}` appears more than once, so SECTION.KEY does not say which one")]
    RepeatedSection(String),
    /// `add-qdevice` with a quorum device already configured.
    #[error("a quorum device is already configured (quorum.device)")]
    QdeviceExists,
    /// `remove-qdevice` without one.
    #[error("no quorum device is configured (no quorum.device section)")]
    QdeviceMissing,
    /// A node or link goal on a file without a nodelist.
    #[error("the configuration has no nodelist")]
    NoNodes,
}

/// The most links corosync (knet) takes: link numbers 0-7.
pub const MAX_LINKS: u8 = 8;

/// Parses one `--goal` string. Words are separated by blanks; options are `key=value`.
pub fn parse(text: &str) -> Result<Goal, GoalError> {
    let trimmed = text.trim();
    let error = |problem| GoalError::new(trimmed, problem);
    let mut words = trimmed.split_whitespace();
    let Some(kind) = words.next() else {
        return Err(error(GoalProblem::Empty));
    };
    let rest: Vec<&str> = words.collect();
    let positional = |index: usize, what: &'static str| -> Result<&str, GoalError> {
        rest.get(index)
            .copied()
            .filter(|word| !word.contains('='))
            .ok_or_else(|| error(GoalProblem::Missing(what)))
    };
    let no_more = |from: usize| -> Result<(), GoalError> {
        match rest.get(from) {
            Some(word) => Err(error(GoalProblem::Unexpected((*word).to_string()))),
            None => Ok(()),
        }
    };
    match kind {
        "add-node" => {
            let name = positional(0, "the node NAME")?;
            check_name(name).map_err(error)?;
            let addresses =
                address_list(positional(1, "the node's addresses ADDR[,ADDR...]")?).map_err(error)?;
            let (mut votes, mut nodeid) = (None, None);
            for word in &rest[2..] {
                match word.split_once('=') {
                    Some(("votes", value)) => {
                        votes = Some(number(value, "votes", "0 to 4294967295").map_err(error)?)
                    }
                    Some(("nodeid", value)) => {
                        let id = number(value, "nodeid", "1 to 65535 (knet)").map_err(error)?;
                        if id == 0 || id > 65535 {
                            return Err(error(GoalProblem::BadNumber {
                                what: "nodeid",
                                range: "1 to 65535 (knet)",
                                text: value.to_string(),
                            }));
                        }
                        nodeid = Some(id);
                    }
                    _ => return Err(error(GoalProblem::Unexpected((*word).to_string()))),
                }
            }
            Ok(Goal::AddNode {
                name: name.to_string(),
                addresses,
                votes,
                nodeid,
            })
        }
        "remove-node" => {
            let node = positional(0, "the NODE (name or nodeid)")?;
            no_more(1)?;
            Ok(Goal::RemoveNode {
                node: node.to_string(),
            })
        }
        "add-link" => {
            let link = link_number(positional(0, "the link number N")?).map_err(error)?;
            let addresses =
                address_list(positional(1, "one address per node ADDR_FOR_NODE1,...")?).map_err(error)?;
            no_more(2)?;
            Ok(Goal::AddLink { link, addresses })
        }
        "remove-link" => {
            let link = link_number(positional(0, "the link number N")?).map_err(error)?;
            no_more(1)?;
            Ok(Goal::RemoveLink { link })
        }
        "readdress" => {
            let node = positional(0, "the NODE (name or nodeid)")?;
            let link = link_number(positional(1, "the LINK number")?).map_err(error)?;
            let address = positional(2, "the new ADDR")?;
            check_address(address).map_err(error)?;
            no_more(3)?;
            Ok(Goal::Readdress {
                node: node.to_string(),
                link,
                address: address.to_string(),
            })
        }
        "set" => {
            // The value may hold blanks (`auto_tie_breaker_node: 1 3`): everything after `=`.
            let body = trimmed["set".len()..].trim_start();
            let Some((path, value)) = body.split_once('=') else {
                return Err(error(if body.is_empty() {
                    GoalProblem::Missing("SECTION.KEY=VALUE")
                } else {
                    GoalProblem::Missing("`=VALUE` after SECTION.KEY")
                }));
            };
            let (section, key) = section_key(path.trim()).map_err(error)?;
            let value = value.trim();
            if value.is_empty() {
                return Err(error(GoalProblem::Missing(
                    "a VALUE after `=` (to remove a key, use `unset`)",
                )));
            }
            // A line ending in `{` opens a section and a lone `}` closes one (coroparse.c).
            if value.contains(['\n', '\r', '{', '}']) || value.len() > 400 {
                return Err(error(GoalProblem::BadValue(value.to_string())));
            }
            Ok(Goal::Set {
                section,
                key,
                value: value.to_string(),
            })
        }
        "unset" => {
            let path = positional(0, "SECTION.KEY")?;
            let (section, key) = section_key(path).map_err(error)?;
            no_more(1)?;
            Ok(Goal::Unset { section, key })
        }
        "rolling-restart" => {
            no_more(0)?;
            Ok(Goal::RollingRestart)
        }
        "add-qdevice" => {
            let host = positional(0, "the qnetd HOST")?;
            check_address(host).map_err(error)?;
            let mut algorithm = None;
            for word in &rest[1..] {
                algorithm = Some(match word.split_once('=') {
                    Some(("algorithm", "ffsplit")) => QdeviceAlgorithm::Ffsplit,
                    Some(("algorithm", "lms")) => QdeviceAlgorithm::Lms,
                    _ => return Err(error(GoalProblem::Unexpected((*word).to_string()))),
                });
            }
            Ok(Goal::AddQdevice {
                host: host.to_string(),
                algorithm,
            })
        }
        "remove-qdevice" => {
            no_more(0)?;
            Ok(Goal::RemoveQdevice)
        }
        other => Err(error(GoalProblem::UnknownKind(other.to_string()))),
    }
}

fn number(text: &str, what: &'static str, range: &'static str) -> Result<u32, GoalProblem> {
    text.parse().map_err(|_| GoalProblem::BadNumber {
        what,
        range,
        text: text.to_string(),
    })
}

fn link_number(text: &str) -> Result<u8, GoalProblem> {
    let bad = || GoalProblem::BadNumber {
        what: "the link number",
        range: "0 to 7",
        text: text.to_string(),
    };
    let link: u8 = text.parse().map_err(|_| bad())?;
    if link >= MAX_LINKS {
        return Err(bad());
    }
    Ok(link)
}

fn check_name(name: &str) -> Result<(), GoalProblem> {
    if name.is_empty() || name.contains(['{', '}', ':', '#', ',']) || name.chars().all(|c| c.is_ascii_digit())
    {
        // An all-digit name would be read back as a nodeid by every NODE argument.
        return Err(GoalProblem::BadNumber {
            what: "a node name",
            range: "a word with a letter, without `{`, `}`, `:`, `#` or `,`",
            text: name.to_string(),
        });
    }
    Ok(())
}

fn check_address(address: &str) -> Result<(), GoalProblem> {
    if address.is_empty() || address.contains(['{', '}', '#', ',']) || address.contains(char::is_whitespace) {
        return Err(GoalProblem::BadAddress(address.to_string()));
    }
    Ok(())
}

fn address_list(text: &str) -> Result<Vec<String>, GoalProblem> {
    text.split(',')
        .map(|address| check_address(address).map(|()| address.to_string()))
        .collect()
}

/// `quorum.device.votes` → (`quorum.device`, `votes`).
fn section_key(path: &str) -> Result<(String, String), GoalProblem> {
    let bad = || GoalProblem::BadKey(path.to_string());
    let (section, key) = path.rsplit_once('.').ok_or_else(bad)?;
    let word_ok = |word: &str| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !section.split('.').all(word_ok) || !word_ok(key) {
        return Err(bad());
    }
    if section == "nodelist" || section.starts_with("nodelist.") {
        return Err(GoalProblem::NodelistKey);
    }
    Ok((section.to_string(), key.to_string()))
}
