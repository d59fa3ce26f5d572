//! qnetd's decision: which connected qdevice clients get the quorum device's vote.
//!
//! Owns the qdevice-net settings as qnetd reads them (`DeviceNet`: algorithm, tie_breaker,
//! keep_active_partition_tie_breaker, heuristics), the per-client input (`Client`) and
//! `decide`, the three algorithms of corosync-qnetd 3.0.x as spec 2.9 reads them from
//! `qnetd-algo-ffsplit.c`, `qnetd-algo-lms.c` (+ `qnetd-algo-utils.c`) and
//! `qnetd-algo-2nodelms.c`. Every vote carries the rule that decided it, in words, for
//! `whatif`. Pure: it knows nothing of votequorum (the cluster glue in
//! `cluster/qnetd_run.rs` turns votes into casts) and nothing of time.
//!
//! Modelling choices, beyond the spec:
//! - Clients are taken in ascending node id order where qnetd walks its client list (the
//!   order they connected in). It matters only where the real daemon's result depends on
//!   that order (ffsplit with a numeric tie_breaker naming a node in neither half).
//! - The decision is the steady state after every client has reported its current
//!   membership (ring ids all current): the last run of each algorithm after a change.

use super::settings::{DeviceSettings, NodeId};
use serde::Serialize;
use std::fmt;

/// `quorum.device.net.algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Algorithm {
    /// `ffsplit` (the default): fifty-fifty split, for even node counts.
    #[serde(rename = "ffsplit")]
    Ffsplit,
    /// `lms`: last man standing, for votes = N − 1.
    #[serde(rename = "lms")]
    Lms,
    /// `2nodelms`: for exactly two configured nodes.
    #[serde(rename = "2nodelms")]
    TwoNodeLms,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Ffsplit => "ffsplit",
            Algorithm::Lms => "lms",
            Algorithm::TwoNodeLms => "2nodelms",
        })
    }
}

/// `quorum.device.net.tie_breaker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum NetTieBreaker {
    /// `lowest` (the default).
    Lowest,
    /// `highest`.
    Highest,
    /// A node id.
    Node(NodeId),
}

/// The vote a qdevice holds (qnetd's `tlv_vote` as the client keeps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Vote {
    /// `ACK`: the node adds the device's votes.
    #[serde(rename = "ACK")]
    Ack,
    /// `NACK`: it does not.
    #[serde(rename = "NACK")]
    Nack,
    /// `WAIT_FOR_REPLY`: qnetd waits for the membership to settle; no vote is cast.
    #[serde(rename = "WAIT_FOR_REPLY")]
    WaitForReply,
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vote::Ack => "ACK",
            Vote::Nack => "NACK",
            Vote::WaitForReply => "WAIT_FOR_REPLY",
        })
    }
}

/// A node's heuristics result as qnetd receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Heuristics {
    /// No heuristics configured (`mode: off` or no `exec_` command).
    #[serde(rename = "undefined")]
    Undefined,
    /// Every command succeeded.
    #[serde(rename = "pass")]
    Pass,
    /// Some command failed.
    #[serde(rename = "fail")]
    Fail,
}

/// A `quorum.device` that the net model cannot run with (corosync-qdevice exits).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceNetError {
    /// `model` is not `net`.
    #[error("quorum.device.model is `{0}`, not `net`: no qnetd decides its vote")]
    NotNet(String),
    /// An algorithm corosync-qdevice does not know.
    #[error("quorum.device.net.algorithm `{0}` is not ffsplit, lms or 2nodelms: corosync-qdevice exits")]
    Algorithm(String),
    /// A tie_breaker corosync-qdevice does not accept.
    #[error(
        "quorum.device.net.tie_breaker `{0}` is not lowest, highest or a node id: corosync-qdevice exits"
    )]
    TieBreaker(String),
}

/// The qdevice-net settings qnetd decides with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceNet {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The tie breaker.
    pub tie_breaker: NetTieBreaker,
    /// `keep_active_partition_tie_breaker` (default on; only ffsplit reads it).
    pub keep_active_partition_tie_breaker: bool,
    /// Heuristics are configured (`mode` on or sync, at least one `exec_` command): each
    /// node reports pass or fail; otherwise undefined.
    pub heuristics: bool,
}

impl DeviceNet {
    /// Reads the net settings of a configured device.
    pub fn from_settings(device: &DeviceSettings) -> Result<DeviceNet, DeviceNetError> {
        if device.model != "net" {
            return Err(DeviceNetError::NotNet(device.model.clone()));
        }
        let algorithm = match device.algorithm.as_deref() {
            None | Some("ffsplit") => Algorithm::Ffsplit,
            Some("lms") => Algorithm::Lms,
            Some("2nodelms") => Algorithm::TwoNodeLms,
            Some(other) => return Err(DeviceNetError::Algorithm(other.to_string())),
        };
        let tie_breaker = match device.tie_breaker.as_deref() {
            None | Some("lowest") => NetTieBreaker::Lowest,
            Some("highest") => NetTieBreaker::Highest,
            Some(text) => match text.parse::<NodeId>() {
                Ok(nodeid) if nodeid > 0 => NetTieBreaker::Node(nodeid),
                _ => return Err(DeviceNetError::TieBreaker(text.to_string())),
            },
        };
        Ok(DeviceNet {
            algorithm,
            tie_breaker,
            keep_active_partition_tie_breaker: device.keep_active_partition_tie_breaker,
            heuristics: device.heuristics,
        })
    }
}

/// One connected qdevice client as qnetd sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Its node id.
    pub nodeid: NodeId,
    /// The members of its current ring (ascending node ids; itself included).
    pub members: Vec<NodeId>,
    /// The node ids of its configured nodelist (ascending).
    pub config_nodes: Vec<NodeId>,
    /// Its last heuristics result.
    pub heuristics: Heuristics,
    /// The result qnetd last saved for it (lms, 2nodelms); `None`: a newcomer.
    pub last_result: Option<Vote>,
}

/// qnetd's answer to one client, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientVote {
    /// The node id.
    pub nodeid: NodeId,
    /// The vote qnetd sends.
    pub vote: Vote,
    /// Whether qnetd saves it as the client's last result (lms and 2nodelms do not save a
    /// newcomer's NACK).
    pub saved: bool,
    /// The rule that decided, in words.
    pub rule: String,
}

/// The outcome of one decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// One entry per client, in the clients' order.
    pub votes: Vec<ClientVote>,
    /// ffsplit: the members of the partition that got the vote (empty: none), which the next
    /// decision's keep_active_partition_tie_breaker reads. Other algorithms: unchanged.
    pub quorate_partition: Vec<NodeId>,
}

/// Decides every client's vote. `clients` are the connected ones in qnetd's list order;
/// `quorate_partition` is the partition ffsplit gave the vote to last time.
pub fn decide(net: &DeviceNet, clients: &[Client], quorate_partition: &[NodeId]) -> Decision {
    match net.algorithm {
        Algorithm::Ffsplit => ffsplit(net, clients, quorate_partition),
        Algorithm::Lms => Decision {
            votes: (0..clients.len()).map(|index| lms(net, clients, index)).collect(),
            quorate_partition: quorate_partition.to_vec(),
        },
        Algorithm::TwoNodeLms => Decision {
            votes: (0..clients.len())
                .map(|index| two_node_lms(net, clients, index))
                .collect(),
            quorate_partition: quorate_partition.to_vec(),
        },
    }
}

fn id_list(ids: &[NodeId]) -> String {
    let parts: Vec<String> = ids.iter().map(NodeId::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

/// Which rule decided a comparison of two ffsplit partitions (spec 2.9, ffsplit 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SplitRule {
    /// Odd configured size: more than half wins, else it cannot win.
    Odd { size: usize, config: usize },
    /// Even configured size, more or fewer than half.
    Even { size: usize, config: usize },
    /// Equal halves: score (connected + pass − fail).
    Score { this: i64, other: i64 },
    /// Equal scores: connected clients.
    Clients { this: usize, other: usize },
    /// keep_active_partition_tie_breaker: this node (or the other's) was in the last quorate
    /// partition.
    KeepActive { node: NodeId },
    /// The tie_breaker node.
    TieBreaker { node: NodeId, mode: NetTieBreaker },
}

fn describe_split(rule: SplitRule, won: bool) -> String {
    let side = if won { "this" } else { "the other" };
    match rule {
        SplitRule::Odd { size, config } => {
            if won {
                format!("{size} of {config} configured nodes: more than half")
            } else {
                format!(
                    "{size} of {config} configured nodes: not more than half (odd configured size, no tie)"
                )
            }
        }
        SplitRule::Even { size, config } => format!(
            "{size} of {config} configured nodes: {} than half",
            if won { "more" } else { "fewer" }
        ),
        SplitRule::Score { this, other } => format!(
            "tie: equal halves; score {this} vs {other} (nodes reaching qnetd + heuristics pass - fail)"
        ),
        SplitRule::Clients { this, other } => {
            format!("tie: equal halves, equal scores; {this} vs {other} nodes reach qnetd")
        }
        SplitRule::KeepActive { node } => format!(
            "tie: equal halves, equal scores; node {node} in {side} partition was in the partition \
             last given the vote (keep_active_partition_tie_breaker)"
        ),
        SplitRule::TieBreaker { node, mode } => {
            let which = match mode {
                NetTieBreaker::Lowest => format!("lowest node id {node}"),
                NetTieBreaker::Highest => format!("highest node id {node}"),
                NetTieBreaker::Node(_) => format!("tie_breaker node {node}"),
            };
            if won {
                format!("tie: equal halves, equal scores; {which} is in this partition")
            } else {
                format!("tie: equal halves, equal scores; {which} is not in this partition")
            }
        }
    }
}

/// The partition statistics of a client: (connected clients, pass, fail) over its members.
fn split_stats(clients: &[Client], client: &Client) -> (usize, usize, usize) {
    let mut stats = (0, 0, 0);
    for member in &client.members {
        if let Some(other) = clients.iter().find(|other| other.nodeid == *member) {
            stats.0 += 1;
            match other.heuristics {
                Heuristics::Pass => stats.1 += 1,
                Heuristics::Fail => stats.2 += 1,
                Heuristics::Undefined => {}
            }
        }
    }
    stats
}

/// `qnetd_algo_ffsplit_partition_cmp`: whether `a`'s partition beats `b`'s (`None`: no
/// best yet), and the rule that said so.
fn split_cmp(
    net: &DeviceNet,
    clients: &[Client],
    a: &Client,
    b: Option<&Client>,
    quorate_partition: &[NodeId],
) -> (bool, SplitRule) {
    let config = a.config_nodes.len();
    let size = a.members.len();
    if !config.is_multiple_of(2) {
        return (size > config / 2, SplitRule::Odd { size, config });
    }
    if size != config / 2 {
        return (size > config / 2, SplitRule::Even { size, config });
    }
    let (a_clients, a_pass, a_fail) = split_stats(clients, a);
    let (b_clients, b_pass, b_fail) = b.map_or((0, 0, 0), |b| split_stats(clients, b));
    let a_score = a_clients as i64 + a_pass as i64 - a_fail as i64;
    let b_score = b_clients as i64 + b_pass as i64 - b_fail as i64;
    if a_score != b_score {
        return (
            a_score > b_score,
            SplitRule::Score {
                this: a_score,
                other: b_score,
            },
        );
    }
    if a_clients != b_clients {
        return (
            a_clients > b_clients,
            SplitRule::Clients {
                this: a_clients,
                other: b_clients,
            },
        );
    }
    if let (true, Some(b)) = (net.keep_active_partition_tie_breaker, b) {
        let a_in = quorate_partition.contains(&a.nodeid);
        let b_in = quorate_partition.contains(&b.nodeid);
        if a_in != b_in {
            let node = if a_in { a.nodeid } else { b.nodeid };
            return (a_in, SplitRule::KeepActive { node });
        }
    }
    let preferred = match net.tie_breaker {
        NetTieBreaker::Lowest => a.config_nodes.iter().copied().min().unwrap_or(0),
        NetTieBreaker::Highest => a.config_nodes.iter().copied().max().unwrap_or(0),
        NetTieBreaker::Node(nodeid) => nodeid,
    };
    (
        a.members.contains(&preferred),
        SplitRule::TieBreaker {
            node: preferred,
            mode: net.tie_breaker,
        },
    )
}

/// ffsplit (`qnetd_algo_ffsplit_do`): one partition for the whole cluster.
fn ffsplit(net: &DeviceNet, clients: &[Client], quorate_partition: &[NodeId]) -> Decision {
    let unstable = clients
        .windows(2)
        .any(|pair| pair[0].config_nodes != pair[1].config_nodes)
        || clients.iter().any(|client| {
            client.members.iter().any(|member| {
                clients
                    .iter()
                    .find(|other| other.nodeid == *member)
                    .is_some_and(|other| other.members != client.members)
            })
        });
    if unstable {
        return Decision {
            votes: clients
                .iter()
                .map(|client| ClientVote {
                    nodeid: client.nodeid,
                    vote: Vote::WaitForReply,
                    saved: true,
                    rule: "membership not stable for qnetd: the nodes report different configured \
                           node lists or memberships"
                        .to_string(),
                })
                .collect(),
            quorate_partition: quorate_partition.to_vec(),
        };
    }
    let mut best: Option<usize> = None;
    for (index, client) in clients.iter().enumerate() {
        if split_cmp(
            net,
            clients,
            client,
            best.map(|best| &clients[best]),
            quorate_partition,
        )
        .0
        {
            best = Some(index);
        }
    }
    let selected: Vec<NodeId> = best.map(|best| clients[best].members.clone()).unwrap_or_default();
    let votes = clients
        .iter()
        .map(|client| {
            let won = selected.contains(&client.nodeid);
            let rule = match best {
                Some(best) if won => explain_winner(net, clients, &clients[best], quorate_partition),
                Some(best) => {
                    let (beats, rule) = split_cmp(net, clients, client, None, quorate_partition);
                    let size_rule = matches!(rule, SplitRule::Odd { .. } | SplitRule::Even { .. });
                    if size_rule && !beats {
                        describe_split(rule, false)
                    } else {
                        let (_, rule) =
                            split_cmp(net, clients, &clients[best], Some(client), quorate_partition);
                        describe_split(rule, false)
                    }
                }
                None => describe_split(split_cmp(net, clients, client, None, quorate_partition).1, false),
            };
            ClientVote {
                nodeid: client.nodeid,
                vote: if won { Vote::Ack } else { Vote::Nack },
                saved: true,
                rule,
            }
        })
        .collect();
    Decision {
        votes,
        quorate_partition: selected,
    }
}

/// Why the selected partition won: a majority says so alone; a half wins against the other
/// half that reaches qnetd (if any).
fn explain_winner(
    net: &DeviceNet,
    clients: &[Client],
    best: &Client,
    quorate_partition: &[NodeId],
) -> String {
    let (_, alone) = split_cmp(net, clients, best, None, quorate_partition);
    if matches!(alone, SplitRule::Odd { .. } | SplitRule::Even { .. }) {
        return describe_split(alone, true);
    }
    match clients
        .iter()
        .find(|other| !best.members.contains(&other.nodeid) && other.members.len() == best.members.len())
    {
        Some(other) => describe_split(
            split_cmp(net, clients, best, Some(other), quorate_partition).1,
            true,
        ),
        None => format!(
            "{} of {} configured nodes: half, and no node of the other half reaches qnetd",
            best.members.len(),
            best.config_nodes.len()
        ),
    }
}

/// An lms partition: clients sharing a ring.
struct LmsPartition {
    members: Vec<NodeId>,
    clients: usize,
    score: i64,
}

fn lms_partitions(clients: &[Client]) -> Vec<LmsPartition> {
    let mut partitions: Vec<LmsPartition> = Vec::new();
    for client in clients {
        let score = 1 + match client.heuristics {
            Heuristics::Pass => 1,
            Heuristics::Fail => -1,
            Heuristics::Undefined => 0,
        };
        match partitions
            .iter_mut()
            .find(|partition| partition.members == client.members)
        {
            Some(partition) => {
                partition.clients += 1;
                partition.score += score;
            }
            None => partitions.push(LmsPartition {
                members: client.members.clone(),
                clients: 1,
                score,
            }),
        }
    }
    partitions
}

/// A newcomer (no saved result) gets NACK when another partition holds ACK (lms and
/// 2nodelms); the NACK is not saved.
fn newcomer_nack(clients: &[Client], client: &Client) -> Option<ClientVote> {
    if client.last_result.is_some() {
        return None;
    }
    let holder = clients
        .iter()
        .find(|other| other.members != client.members && other.last_result == Some(Vote::Ack))?;
    Some(ClientVote {
        nodeid: client.nodeid,
        vote: Vote::Nack,
        saved: false,
        rule: format!(
            "newcomer: node {} in another partition already holds the vote",
            holder.nodeid
        ),
    })
}

/// lms (`do_lms_algorithm`) for the client at `index`.
fn lms(net: &DeviceNet, clients: &[Client], index: usize) -> ClientVote {
    let client = &clients[index];
    let vote = |ack: bool, rule: String| ClientVote {
        nodeid: client.nodeid,
        vote: if ack { Vote::Ack } else { Vote::Nack },
        saved: true,
        rule,
    };
    let partitions = lms_partitions(clients);
    if partitions.len() == 1 {
        return vote(
            true,
            "the only partition whose nodes reach qnetd (last man standing)".to_string(),
        );
    }
    if let Some(nack) = newcomer_nack(clients, client) {
        return nack;
    }
    let mine = |partition: &LmsPartition| partition.members == client.members;
    let others = |pick: &dyn Fn(&LmsPartition) -> i64| -> String {
        let values: Vec<String> = partitions
            .iter()
            .filter(|partition| !mine(partition))
            .map(|partition| pick(partition).to_string())
            .collect();
        values.join(", ")
    };
    let own = |key: &dyn Fn(&LmsPartition) -> i64| {
        partitions.iter().find(|partition| mine(partition)).map_or(0, key)
    };
    // The partition with the highest score, if no other one equals it; then the same by
    // the number of nodes reaching qnetd.
    if let Some(best) = unique_max(&partitions, |partition| partition.score) {
        return vote(
            mine(&partitions[best]),
            format!(
                "score {} vs {} (nodes reaching qnetd + heuristics pass - fail): {} wins",
                own(&|partition| partition.score),
                others(&|partition| partition.score),
                id_list(&partitions[best].members)
            ),
        );
    }
    if let Some(largest) = unique_max(&partitions, |partition| partition.clients as i64) {
        return vote(
            mine(&partitions[largest]),
            format!(
                "equal top scores; {} vs {} nodes reach qnetd: {} wins",
                own(&|partition| partition.clients as i64),
                others(&|partition| partition.clients as i64),
                id_list(&partitions[largest].members)
            ),
        );
    }
    match net.tie_breaker {
        NetTieBreaker::Lowest | NetTieBreaker::Highest => {
            let lowest = matches!(net.tie_breaker, NetTieBreaker::Lowest);
            let chosen = if lowest {
                clients.iter().min_by_key(|other| other.nodeid)
            } else {
                clients.iter().max_by_key(|other| other.nodeid)
            };
            let Some(chosen) = chosen else {
                return vote(false, "no client".to_string());
            };
            let ack = chosen.nodeid == client.nodeid || chosen.members == client.members;
            vote(
                ack,
                format!(
                    "equal scores and sizes; {} connected node id {} is {}in this partition",
                    if lowest { "lowest" } else { "highest" },
                    chosen.nodeid,
                    if ack { "" } else { "not " }
                ),
            )
        }
        NetTieBreaker::Node(nodeid) => {
            // qnetd compares the tie_breaker with the asking client's own id (spec 2.9 lms 5).
            let ack = nodeid == client.nodeid;
            vote(
                ack,
                if ack {
                    format!("equal scores and sizes; this node is tie_breaker node {nodeid}")
                } else {
                    format!(
                        "equal scores and sizes; only tie_breaker node {nodeid} itself gets the vote \
                         (qnetd compares with the asking node's id, not its partition)"
                    )
                },
            )
        }
    }
}

fn heuristics_rank(heuristics: Heuristics) -> u8 {
    match heuristics {
        Heuristics::Fail => 0,
        Heuristics::Undefined => 1,
        Heuristics::Pass => 2,
    }
}

/// 2nodelms (`qnetd_algo_2nodelms_membership_node_list_received`) for the client at `index`.
fn two_node_lms(net: &DeviceNet, clients: &[Client], index: usize) -> ClientVote {
    let client = &clients[index];
    let vote = |ack: bool, rule: String| ClientVote {
        nodeid: client.nodeid,
        vote: if ack { Vote::Ack } else { Vote::Nack },
        saved: true,
        rule,
    };
    if client.config_nodes.len() != 2 {
        return vote(
            false,
            format!(
                "2nodelms needs exactly 2 configured nodes, the nodelist has {}",
                client.config_nodes.len()
            ),
        );
    }
    if let Some(nack) = newcomer_nack(clients, client) {
        return nack;
    }
    if client.members.len() == 2 {
        return vote(true, "both nodes in one membership".to_string());
    }
    if clients.len() == 1 {
        return vote(true, "the only node that reaches qnetd (last man)".to_string());
    }
    let other = clients
        .iter()
        .rev()
        .find(|other| other.nodeid != client.nodeid)
        .map_or(Heuristics::Undefined, |other| other.heuristics);
    let (own_rank, other_rank) = (heuristics_rank(client.heuristics), heuristics_rank(other));
    if own_rank != other_rank {
        return vote(
            own_rank > other_rank,
            format!("heuristics {:?} vs {:?}", client.heuristics, other).to_lowercase(),
        );
    }
    let (chosen, what) = match net.tie_breaker {
        NetTieBreaker::Lowest => (
            clients.iter().map(|other| other.nodeid).min().unwrap_or(0),
            "lowest node id",
        ),
        NetTieBreaker::Highest => (
            clients.iter().map(|other| other.nodeid).max().unwrap_or(0),
            "highest node id",
        ),
        NetTieBreaker::Node(nodeid) => (nodeid, "tie_breaker node"),
    };
    let ack = chosen == client.nodeid;
    vote(
        ack,
        format!(
            "both nodes reach qnetd apart, equal heuristics; {what} {chosen} is {}this node",
            if ack { "" } else { "not " }
        ),
    )
}

/// The position of the partition with the largest `key`, if no other partition has it too.
fn unique_max(partitions: &[LmsPartition], key: impl Fn(&LmsPartition) -> i64) -> Option<usize> {
    let max = partitions.iter().map(&key).max()?;
    let mut at = partitions
        .iter()
        .enumerate()
        .filter(|(_, partition)| key(partition) == max);
    let (first, _) = at.next()?;
    at.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(algorithm: Algorithm, tie_breaker: NetTieBreaker) -> DeviceNet {
        DeviceNet {
            algorithm,
            tie_breaker,
            keep_active_partition_tie_breaker: true,
            heuristics: false,
        }
    }

    /// Clients from `partitions` (each a list of connected node ids, with the partition's
    /// full membership second), `config` configured node ids.
    fn clients(config: &[NodeId], partitions: &[(&[NodeId], &[NodeId])]) -> Vec<Client> {
        let mut out: Vec<Client> = partitions
            .iter()
            .flat_map(|(connected, members)| {
                connected.iter().map(move |nodeid| Client {
                    nodeid: *nodeid,
                    members: members.to_vec(),
                    config_nodes: config.to_vec(),
                    heuristics: Heuristics::Undefined,
                    last_result: Some(Vote::Ack),
                })
            })
            .collect();
        out.sort_by_key(|client| client.nodeid);
        out
    }

    /// `nodeid:VOTE` per client, then each distinct rule.
    fn check(decision: &Decision, expect: &str) {
        let votes: Vec<String> = decision
            .votes
            .iter()
            .map(|vote| format!("{}:{}", vote.nodeid, vote.vote))
            .collect();
        let mut rules: Vec<&str> = decision.votes.iter().map(|vote| vote.rule.as_str()).collect();
        rules.dedup();
        let actual = format!("{}\n{}", votes.join(" "), rules.join("\n"));
        assert_eq!(actual, expect);
    }

    #[test]
    fn ffsplit_two_nodes_tie_goes_to_lowest() {
        // TV43.
        let clients = clients(&[1, 2], &[(&[1], &[1]), (&[2], &[2])]);
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &clients, &[1, 2]);
        check(
            &decision,
            "1:ACK 2:NACK\ntie: equal halves, equal scores; lowest node id 1 is in this partition\n\
             tie: equal halves, equal scores; lowest node id 1 is not in this partition",
        );
        assert_eq!(decision.quorate_partition, vec![1]);
        let highest = decide(
            &net(Algorithm::Ffsplit, NetTieBreaker::Highest),
            &clients,
            &[1, 2],
        );
        assert_eq!(highest.votes[1].vote, Vote::Ack);
        let node = decide(
            &net(Algorithm::Ffsplit, NetTieBreaker::Node(2)),
            &clients,
            &[1, 2],
        );
        assert_eq!((node.votes[0].vote, node.votes[1].vote), (Vote::Nack, Vote::Ack));
    }

    #[test]
    fn ffsplit_disconnected_node_loses_on_clients() {
        // TV44: node 1 cannot reach qnetd, so its half has no client; node 2's half wins alone.
        let clients = clients(&[1, 2], &[(&[2], &[2])]);
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &clients, &[1, 2]);
        check(
            &decision,
            "2:ACK\n1 of 2 configured nodes: half, and no node of the other half reaches qnetd",
        );
    }

    #[test]
    fn ffsplit_majority_and_minority() {
        let clients = clients(&[1, 2, 3, 4], &[(&[1, 2, 3], &[1, 2, 3]), (&[4], &[4])]);
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &clients, &[]);
        check(
            &decision,
            "1:ACK 2:ACK 3:ACK 4:NACK\n3 of 4 configured nodes: more than half\n\
             1 of 4 configured nodes: fewer than half",
        );
    }

    #[test]
    fn ffsplit_odd_cluster_never_ties() {
        // TV48's shape: 3 configured nodes, {1,2}|{3}: the majority wins, a lone node never.
        let clients_split = clients(&[1, 2, 3], &[(&[1, 2], &[1, 2]), (&[3], &[3])]);
        let decision = decide(
            &net(Algorithm::Ffsplit, NetTieBreaker::Lowest),
            &clients_split,
            &[],
        );
        check(
            &decision,
            "1:ACK 2:ACK 3:NACK\n2 of 3 configured nodes: more than half\n\
             1 of 3 configured nodes: not more than half (odd configured size, no tie)",
        );
        // Node 3 alone reaching qnetd gets nothing either.
        let lone = clients(&[1, 2, 3], &[(&[3], &[3])]);
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &lone, &[]);
        assert_eq!(decision.votes[0].vote, Vote::Nack);
        assert!(decision.quorate_partition.is_empty());
    }

    #[test]
    fn ffsplit_heuristics_score_decides_equal_halves() {
        // TV45: heuristics FAIL on 1,2 and PASS on 3,4: scores 0 vs 4.
        let mut split = clients(&[1, 2, 3, 4], &[(&[1, 2], &[1, 2]), (&[3, 4], &[3, 4])]);
        for client in &mut split {
            client.heuristics = if client.nodeid <= 2 {
                Heuristics::Fail
            } else {
                Heuristics::Pass
            };
        }
        let decision = decide(
            &net(Algorithm::Ffsplit, NetTieBreaker::Lowest),
            &split,
            &[1, 2, 3, 4],
        );
        check(
            &decision,
            "1:NACK 2:NACK 3:ACK 4:ACK\n\
             tie: equal halves; score 4 vs 0 (nodes reaching qnetd + heuristics pass - fail)",
        );
    }

    #[test]
    fn ffsplit_connected_clients_then_keep_active() {
        // {1,2}|{3,4}, node 1 cut from qnetd: score 1 vs 2.
        let split = clients(&[1, 2, 3, 4], &[(&[2], &[1, 2]), (&[3, 4], &[3, 4])]);
        let decision = decide(
            &net(Algorithm::Ffsplit, NetTieBreaker::Lowest),
            &split,
            &[1, 2, 3, 4],
        );
        assert_eq!(decision.votes[0].vote, Vote::Nack);
        assert!(decision.votes[1].rule.contains("score 2 vs 1"));
        // Equal halves and scores, but {3,4} held the vote last time: keep it.
        let split = clients(&[1, 2, 3, 4], &[(&[1, 2], &[1, 2]), (&[3, 4], &[3, 4])]);
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &split, &[3, 4]);
        check(
            &decision,
            "1:NACK 2:NACK 3:ACK 4:ACK\ntie: equal halves, equal scores; node 3 in the other partition was \
             in the partition last given the vote (keep_active_partition_tie_breaker)\n\
             tie: equal halves, equal scores; node 3 in this partition was in \
             the partition last given the vote (keep_active_partition_tie_breaker)",
        );
        let off = DeviceNet {
            keep_active_partition_tie_breaker: false,
            ..net(Algorithm::Ffsplit, NetTieBreaker::Lowest)
        };
        assert_eq!(decide(&off, &split, &[3, 4]).votes[0].vote, Vote::Ack);
    }

    #[test]
    fn ffsplit_waits_for_a_stable_membership() {
        let mut split = clients(&[1, 2], &[(&[1, 2], &[1, 2])]);
        split[1].config_nodes = vec![1, 2, 3];
        let decision = decide(&net(Algorithm::Ffsplit, NetTieBreaker::Lowest), &split, &[]);
        assert!(decision.votes.iter().all(|vote| vote.vote == Vote::WaitForReply));
    }

    #[test]
    fn lms_last_partition_reaching_qnetd_wins() {
        // TV46: only node 1 reaches qnetd.
        let lone = clients(&[1, 2, 3, 4], &[(&[1], &[1])]);
        check(
            &decide(&net(Algorithm::Lms, NetTieBreaker::Lowest), &lone, &[]),
            "1:ACK\nthe only partition whose nodes reach qnetd (last man standing)",
        );
        // TV47: all reach qnetd: scores 1 vs 3.
        let all = clients(&[1, 2, 3, 4], &[(&[1], &[1]), (&[2, 3, 4], &[2, 3, 4])]);
        let decision = decide(&net(Algorithm::Lms, NetTieBreaker::Lowest), &all, &[]);
        assert_eq!(
            decision.votes.iter().map(|vote| vote.vote).collect::<Vec<_>>(),
            vec![Vote::Nack, Vote::Ack, Vote::Ack, Vote::Ack]
        );
        assert!(decision.votes[0].rule.starts_with("score 1 vs 3"));
    }

    #[test]
    fn lms_newcomer_gets_nack_while_another_partition_holds_ack() {
        let mut split = clients(&[1, 2, 3], &[(&[1], &[1]), (&[2, 3], &[2, 3])]);
        split[0].last_result = None;
        split[1].last_result = Some(Vote::Ack);
        split[0].heuristics = Heuristics::Pass;
        let decision = decide(&net(Algorithm::Lms, NetTieBreaker::Lowest), &split, &[]);
        assert_eq!(decision.votes[0].vote, Vote::Nack);
        assert!(!decision.votes[0].saved);
        assert!(decision.votes[0].rule.starts_with("newcomer: node 2"));
    }

    #[test]
    fn lms_tie_breakers() {
        let split = clients(&[1, 2, 3, 4], &[(&[1, 2], &[1, 2]), (&[3, 4], &[3, 4])]);
        let lowest = decide(&net(Algorithm::Lms, NetTieBreaker::Lowest), &split, &[]);
        check(
            &lowest,
            "1:ACK 2:ACK 3:NACK 4:NACK\nequal scores and sizes; lowest connected node id 1 is in this partition\n\
             equal scores and sizes; lowest connected node id 1 is not in this partition",
        );
        let highest = decide(&net(Algorithm::Lms, NetTieBreaker::Highest), &split, &[]);
        assert_eq!(highest.votes[3].vote, Vote::Ack);
        assert_eq!(highest.votes[0].vote, Vote::Nack);
        // A numeric tie_breaker: only that node itself (spec 2.9 lms 5, [C]).
        let node = decide(&net(Algorithm::Lms, NetTieBreaker::Node(3)), &split, &[]);
        assert_eq!(
            node.votes.iter().map(|vote| vote.vote).collect::<Vec<_>>(),
            vec![Vote::Nack, Vote::Nack, Vote::Ack, Vote::Nack]
        );
    }

    #[test]
    fn two_node_lms_rules() {
        let net_lowest = net(Algorithm::TwoNodeLms, NetTieBreaker::Lowest);
        let together = clients(&[1, 2], &[(&[1, 2], &[1, 2])]);
        check(
            &decide(&net_lowest, &together, &[]),
            "1:ACK 2:ACK\nboth nodes in one membership",
        );
        let split = clients(&[1, 2], &[(&[1], &[1]), (&[2], &[2])]);
        check(
            &decide(&net_lowest, &split, &[]),
            "1:ACK 2:NACK\nboth nodes reach qnetd apart, equal heuristics; lowest node id 1 is this node\n\
             both nodes reach qnetd apart, equal heuristics; lowest node id 1 is not this node",
        );
        let node = decide(&net(Algorithm::TwoNodeLms, NetTieBreaker::Node(2)), &split, &[]);
        assert_eq!((node.votes[0].vote, node.votes[1].vote), (Vote::Nack, Vote::Ack));
        let lone = clients(&[1, 2], &[(&[2], &[2])]);
        check(
            &decide(&net_lowest, &lone, &[]),
            "2:ACK\nthe only node that reaches qnetd (last man)",
        );
        let mut heuristics = split.clone();
        heuristics[0].heuristics = Heuristics::Fail;
        heuristics[1].heuristics = Heuristics::Pass;
        let decision = decide(&net_lowest, &heuristics, &[]);
        assert_eq!(
            (decision.votes[0].vote, decision.votes[1].vote),
            (Vote::Nack, Vote::Ack)
        );
        let three = clients(&[1, 2, 3], &[(&[1, 2, 3], &[1, 2, 3])]);
        assert_eq!(decide(&net_lowest, &three, &[]).votes[0].vote, Vote::Nack);
    }

    #[test]
    fn device_net_reads_the_settings() {
        let device = DeviceSettings {
            model: "net".to_string(),
            votes: Some(1),
            algorithm: Some("lms".to_string()),
            tie_breaker: Some("7".to_string()),
            timeout_ms: 10_000,
            sync_timeout_ms: 30_000,
            keep_active_partition_tie_breaker: true,
            heuristics: false,
        };
        let net = DeviceNet::from_settings(&device).unwrap();
        assert_eq!(
            (net.algorithm, net.tie_breaker),
            (Algorithm::Lms, NetTieBreaker::Node(7))
        );
        let bad = DeviceSettings {
            tie_breaker: Some("0".to_string()),
            ..device.clone()
        };
        assert!(matches!(
            DeviceNet::from_settings(&bad),
            Err(DeviceNetError::TieBreaker(_))
        ));
        let disk = DeviceSettings {
            model: "disk".to_string(),
            ..device
        };
        assert!(matches!(
            DeviceNet::from_settings(&disk),
            Err(DeviceNetError::NotNet(_))
        ));
    }
}
