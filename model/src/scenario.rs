//! Scenario scripts as data, and their parser (a superset of corosync-vqsim's language).
//!
//! Owns `Step`, `Script`, `ScriptError` and `parse`. It must not execute anything: applying
//! a step to a cluster lives in `quorum::cluster`. Grammar (one step per line or per `;`,
//! command words case-insensitive, `#` starts a comment):
//!
//! ```text
//! up [P:]NODES ...            start nodes (in partition P, default 0)
//! down NODES ...              crash nodes (no clean leave)
//! move|split [P:]NODES ...    move nodes to partition P (default 0)
//! join P1 P2 ...              merge partitions P2... into P1
//! qdevice on|off NODES ...    the node's qdevice casts its vote / stops casting
//! qnetd down|up               the qnetd server stops / runs again
//! qnetd cut|reach NODES ...   these nodes lose / regain their path to the qnetd host
//! heuristics fail|pass NODES ...
//!                             the nodes' qdevice heuristics fail / pass
//! link down|up L [NODES | between A B]
//!                             link L down/up everywhere, at the given nodes, or between two
//! isolate N                   put N alone in a new partition
//! heal                        one partition, every link up
//! expected V on N             `corosync-quorumtool -e V` run on N
//! votes V [of T] on N         `corosync-quorumtool -v V [-n T]` run on N: node T's votes
//!                             (default N's own) at runtime, until T restarts or reloads
//! install FILE on NODES ...   write FILE as these nodes' corosync.conf (nothing reads it yet)
//! reload [FILE]               `corosync-cfgtool -R`: every running node re-reads its own
//!                             file (FILE: first written to every node)
//! restart N ...               crash and start again
//! stop N ...                  clean shutdown (`systemctl stop corosync`; LEAVING with allow_downscale)
//! wait MS                     model time passes (LMS window)
//! show                        no-op (vqsim compatibility)
//! ```
//!
//! `NODES` is a comma- or space-separated list of node ids or node names.

use std::fmt;

/// A node named in a script: by nodeid or by nodelist name (resolved when applied).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeRef {
    /// A nodeid.
    Id(u32),
    /// A node name (`name` or `ring0_addr`).
    Name(String),
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Id(nodeid) => write!(f, "{nodeid}"),
            NodeRef::Name(name) => f.write_str(name),
        }
    }
}

/// `[P:]node,node,...`: nodes with an optional partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeSpec {
    /// The partition (`None`: partition 0).
    pub partition: Option<u8>,
    /// The nodes.
    pub nodes: Vec<NodeRef>,
}

impl fmt::Display for NodeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(partition) = self.partition {
            write!(f, "{partition}:")?;
        }
        write_list(f, &self.nodes, ",")
    }
}

/// Where a link fault applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LinkScope {
    /// The whole link (a switch).
    All,
    /// The link at each of these nodes (their interface or cable).
    Nodes(Vec<NodeRef>),
    /// The link between two nodes only.
    Between(NodeRef, NodeRef),
}

/// What a `qnetd` step does to the qnetd server or the paths to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QnetdChange {
    /// `qnetd down`: the server stops (every client loses its connection).
    Down,
    /// `qnetd up`: the server runs (again).
    Up,
    /// `qnetd cut NODES`: these nodes cannot reach the qnetd host (cluster links unchanged).
    Cut(Vec<NodeRef>),
    /// `qnetd reach NODES`: these nodes reach the qnetd host again.
    Reach(Vec<NodeRef>),
}

/// One scenario step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// `up [P:]NODES ...`: start nodes.
    Up(Vec<NodeSpec>),
    /// `down NODES`: crash nodes (unlike vqsim, every listed node goes down).
    Down(Vec<NodeRef>),
    /// `move|split [P:]NODES ...`: move nodes to partitions.
    Move(Vec<NodeSpec>),
    /// `join P1 P2 ...`: merge partitions into the first.
    Join {
        /// The partition that stays.
        into: u8,
        /// The partitions merged into it.
        from: Vec<u8>,
    },
    /// `qdevice on|off NODES`: the nodes' qdevices cast (or stop casting) their vote.
    Qdevice {
        /// Casting or not.
        on: bool,
        /// The nodes.
        nodes: Vec<NodeRef>,
    },
    /// `qnetd down|up`, `qnetd cut|reach NODES`: the qnetd server or the nodes' paths to it.
    /// The first such step (or `heuristics` step) makes qnetd decide the device's vote from
    /// then on, as if it had run and been reached by every node since the start.
    Qnetd(QnetdChange),
    /// `heuristics fail|pass NODES`: the nodes' qdevice heuristics result.
    Heuristics {
        /// Pass (`true`) or fail.
        pass: bool,
        /// The nodes.
        nodes: Vec<NodeRef>,
    },
    /// `link down|up L [scope]`.
    Link {
        /// Link number 0..=7.
        link: u8,
        /// Up (`true`) or down.
        up: bool,
        /// Where.
        scope: LinkScope,
    },
    /// `isolate N`: N alone in a new partition.
    Isolate(NodeRef),
    /// `heal`: one partition, all links up.
    Heal,
    /// `expected V on N`: `corosync-quorumtool -e V` on node N.
    Expected {
        /// The new expected votes.
        votes: u32,
        /// Where the tool runs.
        node: NodeRef,
    },
    /// `votes V [of T] on N`: `corosync-quorumtool -v V [-n T]` on node N: node T (N itself
    /// when the script does not say) has V votes at runtime (votequorum's NODE_VOTES
    /// reconfigure; not written anywhere, so T's restart or any reload reverts it).
    Votes {
        /// The new votes.
        votes: u32,
        /// The node whose votes change.
        target: NodeRef,
        /// Where the tool runs.
        node: NodeRef,
    },
    /// `install FILE on NODES`: FILE becomes these nodes' corosync.conf (no reload).
    Install {
        /// The file; the caller reads it (the model does no IO).
        file: String,
        /// The nodes whose disk gets it.
        nodes: Vec<NodeRef>,
    },
    /// `reload [FILE]`: `corosync-cfgtool -R` (every running node re-reads its own file),
    /// optionally after installing FILE on every node.
    Reload {
        /// The new configuration file; the caller reads it (the model does no IO).
        file: Option<String>,
    },
    /// `restart NODES`: crash and start again in the same partition.
    Restart(Vec<NodeRef>),
    /// `stop NODES`: clean shutdown. With allow_downscale the node first announces that it
    /// leaves (spec 2.5); otherwise it is the same as `down`.
    Stop(Vec<NodeRef>),
    /// `wait MS`: model time passes.
    Wait(u64),
    /// `show`: no effect.
    Show,
}

impl Step {
    /// The node references the step names, in the order they are written (`install`'s
    /// nodes and steps without node arguments give none).
    pub fn node_refs(&self) -> Vec<&NodeRef> {
        match self {
            Step::Up(specs) | Step::Move(specs) => specs.iter().flat_map(|spec| spec.nodes.iter()).collect(),
            Step::Down(nodes) | Step::Restart(nodes) | Step::Stop(nodes) => nodes.iter().collect(),
            Step::Qdevice { nodes, .. } | Step::Heuristics { nodes, .. } => nodes.iter().collect(),
            Step::Qnetd(QnetdChange::Cut(nodes) | QnetdChange::Reach(nodes)) => nodes.iter().collect(),
            Step::Link { scope, .. } => match scope {
                LinkScope::All => Vec::new(),
                LinkScope::Nodes(nodes) => nodes.iter().collect(),
                LinkScope::Between(a, b) => vec![a, b],
            },
            Step::Isolate(node) | Step::Expected { node, .. } => vec![node],
            Step::Votes { target, node, .. } if target == node => vec![node],
            Step::Votes { target, node, .. } => vec![target, node],
            _ => Vec::new(),
        }
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], separator: &str) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Up(specs) => {
                f.write_str("up ")?;
                write_list(f, specs, " ")
            }
            Step::Down(nodes) => {
                f.write_str("down ")?;
                write_list(f, nodes, " ")
            }
            Step::Move(specs) => {
                f.write_str("move ")?;
                write_list(f, specs, " ")
            }
            Step::Join { into, from } => {
                write!(f, "join {into} ")?;
                write_list(f, from, " ")
            }
            Step::Qdevice { on, nodes } => {
                write!(f, "qdevice {} ", if *on { "on" } else { "off" })?;
                write_list(f, nodes, " ")
            }
            Step::Qnetd(change) => match change {
                QnetdChange::Down => f.write_str("qnetd down"),
                QnetdChange::Up => f.write_str("qnetd up"),
                QnetdChange::Cut(nodes) => {
                    f.write_str("qnetd cut ")?;
                    write_list(f, nodes, " ")
                }
                QnetdChange::Reach(nodes) => {
                    f.write_str("qnetd reach ")?;
                    write_list(f, nodes, " ")
                }
            },
            Step::Heuristics { pass, nodes } => {
                write!(f, "heuristics {} ", if *pass { "pass" } else { "fail" })?;
                write_list(f, nodes, " ")
            }
            Step::Link { link, up, scope } => {
                write!(f, "link {} {link}", if *up { "up" } else { "down" })?;
                match scope {
                    LinkScope::All => Ok(()),
                    LinkScope::Nodes(nodes) => {
                        f.write_str(" ")?;
                        write_list(f, nodes, ",")
                    }
                    LinkScope::Between(a, b) => write!(f, " between {a} {b}"),
                }
            }
            Step::Isolate(node) => write!(f, "isolate {node}"),
            Step::Heal => f.write_str("heal"),
            Step::Expected { votes, node } => write!(f, "expected {votes} on {node}"),
            Step::Votes { votes, target, node } if target == node => write!(f, "votes {votes} on {node}"),
            Step::Votes { votes, target, node } => write!(f, "votes {votes} of {target} on {node}"),
            Step::Install { file, nodes } => {
                write!(f, "install {file} on ")?;
                write_list(f, nodes, " ")
            }
            Step::Reload { file: None } => f.write_str("reload"),
            Step::Reload { file: Some(file) } => write!(f, "reload {file}"),
            Step::Restart(nodes) => {
                f.write_str("restart ")?;
                write_list(f, nodes, " ")
            }
            Step::Stop(nodes) => {
                f.write_str("stop ")?;
                write_list(f, nodes, " ")
            }
            Step::Wait(ms) => write!(f, "wait {ms}"),
            Step::Show => f.write_str("show"),
        }
    }
}

/// A parsed script: its steps and where each starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// `(line, column)` (1-based) of each step's first word, parallel to `steps`.
    pub positions: Vec<(u32, u32)>,
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// A script that does not parse: where, what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct ScriptError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// The offending token, quoted, or `end of step`.
    pub found: String,
    /// What the parser wanted there.
    pub expected: String,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    text: &'a str,
    line: u32,
    column: u32,
}

struct Cursor<'a> {
    tokens: Vec<Token<'a>>,
    next: usize,
    end: (u32, u32),
}

impl<'a> Cursor<'a> {
    fn error(&self, expected: &str) -> ScriptError {
        match self.tokens.get(self.next) {
            Some(token) => ScriptError {
                line: token.line,
                column: token.column,
                found: format!("`{}`", token.text),
                expected: expected.to_string(),
            },
            None => ScriptError {
                line: self.end.0,
                column: self.end.1,
                found: "end of step".to_string(),
                expected: expected.to_string(),
            },
        }
    }

    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.next).copied()
    }

    fn take(&mut self, expected: &str) -> Result<Token<'a>, ScriptError> {
        match self.peek() {
            Some(token) => {
                self.next += 1;
                Ok(token)
            }
            None => Err(self.error(expected)),
        }
    }

    fn at_end(&self) -> bool {
        self.next >= self.tokens.len()
    }

    fn finish(&self) -> Result<(), ScriptError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error("end of step"))
        }
    }

    fn number<T: std::str::FromStr>(&mut self, expected: &str) -> Result<T, ScriptError> {
        let token = self.peek().ok_or_else(|| self.error(expected))?;
        let value = token.text.parse::<T>().map_err(|_| self.error(expected))?;
        self.next += 1;
        Ok(value)
    }

    fn keyword(&mut self, words: &[&str], expected: &str) -> Result<String, ScriptError> {
        let token = self.peek().ok_or_else(|| self.error(expected))?;
        let lower = token.text.to_ascii_lowercase();
        if words.contains(&lower.as_str()) {
            self.next += 1;
            Ok(lower)
        } else {
            Err(self.error(expected))
        }
    }
}

const NODE_EXPECTED: &str = "a node id or node name";

/// A node name: letters, digits, `_`, `-` and `.` (so an IPv4 `ring0_addr` used as the
/// name works), but not a plain number (that is a nodeid).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.parse::<u32>().is_err()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn node_ref(text: &str) -> Option<NodeRef> {
    if let Ok(nodeid) = text.parse::<u32>() {
        return Some(NodeRef::Id(nodeid));
    }
    is_name(text).then(|| NodeRef::Name(text.to_string()))
}

/// Parses `1,2,3` (one token) into node refs; `column` locates errors.
fn node_list(
    cursor: &Cursor<'_>,
    token: Token<'_>,
    text: &str,
    offset: usize,
) -> Result<Vec<NodeRef>, ScriptError> {
    let mut nodes = Vec::new();
    let mut column = token.column + offset as u32;
    for part in text.split(',') {
        match node_ref(part) {
            Some(node) => nodes.push(node),
            None => {
                return Err(ScriptError {
                    line: token.line,
                    column,
                    found: if part.is_empty() {
                        "an empty node".to_string()
                    } else {
                        format!("`{part}`")
                    },
                    expected: NODE_EXPECTED.to_string(),
                })
            }
        }
        column += part.chars().count() as u32 + 1;
    }
    let _ = cursor;
    Ok(nodes)
}

/// Parses the rest of the step as `NODES ...` (at least one).
fn nodes_rest(cursor: &mut Cursor<'_>) -> Result<Vec<NodeRef>, ScriptError> {
    if cursor.at_end() {
        return Err(cursor.error(NODE_EXPECTED));
    }
    let mut nodes = Vec::new();
    while let Some(token) = cursor.peek() {
        nodes.extend(node_list(cursor, token, token.text, 0)?);
        cursor.next += 1;
    }
    Ok(nodes)
}

/// Parses the rest of the step as `[P:]NODES ...` specs (at least one).
fn specs_rest(cursor: &mut Cursor<'_>) -> Result<Vec<NodeSpec>, ScriptError> {
    if cursor.at_end() {
        return Err(cursor.error("[partition:]nodes"));
    }
    let mut specs = Vec::new();
    while let Some(token) = cursor.peek() {
        let (partition, offset, rest) = match token.text.split_once(':') {
            Some((partition_text, rest)) => match partition_text.parse::<u8>() {
                Ok(partition) => (Some(partition), partition_text.len() + 1, rest),
                Err(_) => {
                    return Err(ScriptError {
                        line: token.line,
                        column: token.column,
                        found: format!("`{partition_text}`"),
                        expected: "a partition number 0..=255".to_string(),
                    })
                }
            },
            None => (None, 0, token.text),
        };
        let nodes = node_list(cursor, token, rest, offset)?;
        specs.push(NodeSpec { partition, nodes });
        cursor.next += 1;
    }
    Ok(specs)
}

fn single_node(cursor: &mut Cursor<'_>) -> Result<NodeRef, ScriptError> {
    let token = cursor.peek().ok_or_else(|| cursor.error(NODE_EXPECTED))?;
    let node = node_ref(token.text).ok_or_else(|| cursor.error(NODE_EXPECTED))?;
    cursor.next += 1;
    Ok(node)
}

const COMMANDS: &str = "a command (up, down, move, split, join, qdevice, qnetd, heuristics, link, isolate, \
                        heal, expected, votes, install, reload, restart, stop, wait, show)";

fn parse_step(cursor: &mut Cursor<'_>) -> Result<Step, ScriptError> {
    let word = cursor.take(COMMANDS)?;
    let step = match word.text.to_ascii_lowercase().as_str() {
        "up" => Step::Up(specs_rest(cursor)?),
        "down" => Step::Down(nodes_rest(cursor)?),
        "move" | "split" => Step::Move(specs_rest(cursor)?),
        "join" => {
            let into = cursor.number::<u8>("a partition number 0..=255")?;
            let mut from = vec![cursor.number::<u8>("a partition number 0..=255")?];
            while !cursor.at_end() {
                from.push(cursor.number::<u8>("a partition number 0..=255")?);
            }
            Step::Join { into, from }
        }
        "qdevice" => {
            let on = cursor.keyword(&["on", "off"], "`on` or `off`")? == "on";
            Step::Qdevice {
                on,
                nodes: nodes_rest(cursor)?,
            }
        }
        "qnetd" => {
            let change = cursor.keyword(&["down", "up", "cut", "reach"], "`down`, `up`, `cut` or `reach`")?;
            Step::Qnetd(match change.as_str() {
                "down" => QnetdChange::Down,
                "up" => QnetdChange::Up,
                "cut" => QnetdChange::Cut(nodes_rest(cursor)?),
                _ => QnetdChange::Reach(nodes_rest(cursor)?),
            })
        }
        "heuristics" => {
            let pass = cursor.keyword(&["pass", "fail"], "`pass` or `fail`")? == "pass";
            Step::Heuristics {
                pass,
                nodes: nodes_rest(cursor)?,
            }
        }
        "link" => {
            let up = cursor.keyword(&["up", "down"], "`up` or `down`")? == "up";
            let link = cursor.number::<u8>("a link number 0..=7")?;
            if link > 7 {
                cursor.next -= 1;
                return Err(cursor.error("a link number 0..=7"));
            }
            let scope = match cursor.peek() {
                None => LinkScope::All,
                Some(token) if token.text.eq_ignore_ascii_case("between") => {
                    cursor.next += 1;
                    let a = single_node(cursor)?;
                    let b = single_node(cursor)?;
                    LinkScope::Between(a, b)
                }
                Some(_) => LinkScope::Nodes(nodes_rest(cursor)?),
            };
            Step::Link { link, up, scope }
        }
        "isolate" => Step::Isolate(single_node(cursor)?),
        "heal" => Step::Heal,
        "expected" => {
            let votes = cursor.number::<u32>("a number of expected votes")?;
            cursor.keyword(&["on"], "`on`")?;
            Step::Expected {
                votes,
                node: single_node(cursor)?,
            }
        }
        "votes" => {
            let votes = cursor.number::<u32>("a number of votes")?;
            let target = match cursor.keyword(&["of", "on"], "`of` or `on`")?.as_str() {
                "of" => {
                    let target = single_node(cursor)?;
                    cursor.keyword(&["on"], "`on`")?;
                    Some(target)
                }
                _ => None,
            };
            let node = single_node(cursor)?;
            Step::Votes {
                votes,
                target: target.unwrap_or_else(|| node.clone()),
                node,
            }
        }
        "install" => {
            let file = cursor.take("a file")?.text.to_string();
            cursor.keyword(&["on"], "`on`")?;
            Step::Install {
                file,
                nodes: nodes_rest(cursor)?,
            }
        }
        "reload" => Step::Reload {
            file: cursor.take("a file").ok().map(|token| token.text.to_string()),
        },
        "restart" => Step::Restart(nodes_rest(cursor)?),
        "stop" => Step::Stop(nodes_rest(cursor)?),
        "wait" => Step::Wait(cursor.number::<u64>("a duration in milliseconds")?),
        "show" => Step::Show,
        _ => {
            cursor.next -= 1;
            return Err(cursor.error(COMMANDS));
        }
    };
    cursor.finish()?;
    Ok(step)
}

/// Parses a whole script. Steps are separated by newlines or `;`; `#` starts a comment.
pub fn parse(text: &str) -> Result<Script, ScriptError> {
    let mut script = Script::default();
    for (line_index, line) in text.lines().enumerate() {
        let line_number = line_index as u32 + 1;
        let mut tokens: Vec<Token<'_>> = Vec::new();
        let mut column = 0u32;
        let mut start: Option<(usize, u32)> = None;
        let flush = |tokens: &mut Vec<Token<'_>>, script: &mut Script, end_column: u32| {
            if tokens.is_empty() {
                return Ok(());
            }
            let first = tokens[0];
            let mut cursor = Cursor {
                tokens: std::mem::take(tokens),
                next: 0,
                end: (line_number, end_column),
            };
            let step = parse_step(&mut cursor)?;
            script.steps.push(step);
            script.positions.push((first.line, first.column));
            Ok::<(), ScriptError>(())
        };
        let mut comment = false;
        for (byte, character) in line.char_indices() {
            column += 1;
            let separator = character.is_whitespace() || character == ';' || character == '#';
            if separator {
                if let Some((begin, begin_column)) = start.take() {
                    tokens.push(Token {
                        text: &line[begin..byte],
                        line: line_number,
                        column: begin_column,
                    });
                }
                if character == ';' {
                    flush(&mut tokens, &mut script, column)?;
                }
                if character == '#' {
                    comment = true;
                    break;
                }
            } else if start.is_none() {
                start = Some((byte, column));
            }
        }
        if !comment {
            if let Some((begin, begin_column)) = start.take() {
                tokens.push(Token {
                    text: &line[begin..],
                    line: line_number,
                    column: begin_column,
                });
            }
            column += 1;
        }
        flush(&mut tokens, &mut script, column)?;
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let actual = match parse(input) {
            Ok(script) => script.to_string(),
            Err(error) => format!("error: {error}\n"),
        };
        assert_eq!(actual, expect);
    }

    #[test]
    fn vqsim_commands() {
        check(
            "UP 1:1,2 2:3\n# a comment\nsplit 1:1 2:2,3\njoin 1 2\ndown 2 3\nqdevice on 1,2\nshow",
            "up 1:1,2 2:3\nmove 1:1 2:2,3\njoin 1 2\ndown 2 3\nqdevice on 1 2\nshow\n",
        );
    }

    #[test]
    fn extended_commands_and_semicolons() {
        check(
            "link down 0; link down 1 2,3 ; link up 0 between node1 node2\nisolate 3; heal\n\
             expected 1 on 2 # pvecm expected 1\nreload new.conf; reload\nrestart 1 2; stop 3; wait 1500",
            "link down 0\nlink down 1 2,3\nlink up 0 between node1 node2\nisolate 3\nheal\n\
             expected 1 on 2\nreload new.conf\nreload\nrestart 1 2\nstop 3\nwait 1500\n",
        );
    }

    #[test]
    fn errors_name_line_column_and_token() {
        check(
            "up 1\ndown x!",
            "error: line 2, column 6: expected a node id or node name, found `x!`\n",
        );
        check("up 1\n  frob 2", "error: line 2, column 3: expected a command (up, down, move, split, join, qdevice, qnetd, heuristics, link, isolate, heal, expected, votes, install, reload, restart, stop, wait, show), found `frob`\n");
        check(
            "qnetd off",
            "error: line 1, column 7: expected `down`, `up`, `cut` or `reach`, found `off`\n",
        );
        check(
            "qnetd cut",
            "error: line 1, column 10: expected a node id or node name, found end of step\n",
        );
        check(
            "heuristics ok 1",
            "error: line 1, column 12: expected `pass` or `fail`, found `ok`\n",
        );
        check(
            "expected 2 at 1",
            "error: line 1, column 12: expected `on`, found `at`\n",
        );
        check(
            "wait",
            "error: line 1, column 5: expected a duration in milliseconds, found end of step\n",
        );
        check(
            "link down 9",
            "error: line 1, column 11: expected a link number 0..=7, found `9`\n",
        );
        check(
            "up 1:2,,3",
            "error: line 1, column 8: expected a node id or node name, found an empty node\n",
        );
        check(
            "heal now",
            "error: line 1, column 6: expected end of step, found `now`\n",
        );
    }

    #[test]
    fn votes_steps_name_the_target_only_when_it_is_another_node() {
        check(
            "votes 3 on 1; VOTES 0 of node2 on 1\nvotes 2 of 1 on 1",
            "votes 3 on 1\nvotes 0 of node2 on 1\nvotes 2 on 1\n",
        );
        let script = parse("votes 0 of 2 on 1; votes 4 on 3").unwrap();
        assert_eq!(
            script.steps[0],
            Step::Votes {
                votes: 0,
                target: NodeRef::Id(2),
                node: NodeRef::Id(1)
            }
        );
        assert_eq!(
            script.steps[0].node_refs(),
            vec![&NodeRef::Id(2), &NodeRef::Id(1)]
        );
        assert_eq!(script.steps[1].node_refs(), vec![&NodeRef::Id(3)]);
        check(
            "votes 2 at 1",
            "error: line 1, column 9: expected `of` or `on`, found `at`\n",
        );
        check(
            "votes 2 of 3 at 1",
            "error: line 1, column 14: expected `on`, found `at`\n",
        );
        check(
            "votes -1 on 1",
            "error: line 1, column 7: expected a number of votes, found `-1`\n",
        );
    }

    #[test]
    fn qnetd_and_heuristics_steps() {
        check(
            "QNETD down; qnetd up\nqnetd cut 1,2 node3; qnetd reach 1\nheuristics fail 1 2; heuristics PASS 2",
            "qnetd down\nqnetd up\nqnetd cut 1 2 node3\nqnetd reach 1\nheuristics fail 1 2\nheuristics pass 2\n",
        );
        let script = parse("qnetd cut 1,node2; heuristics pass 3").unwrap();
        assert_eq!(
            script.steps[0].node_refs(),
            vec![&NodeRef::Id(1), &NodeRef::Name("node2".to_string())]
        );
        assert_eq!(script.steps[1].node_refs(), vec![&NodeRef::Id(3)]);
    }

    #[test]
    fn display_round_trips() {
        let script =
            parse("up 3:1,a 2; link down 2 between 1 2; qdevice off 10.0.0.4; join 0 1 2; isolate n-1.lan")
                .unwrap();
        assert_eq!(
            script.steps[2],
            Step::Qdevice {
                on: false,
                nodes: vec![NodeRef::Name("10.0.0.4".to_string())]
            }
        );
        assert_eq!(parse(&script.to_string()).unwrap().steps, script.steps);
    }
}
