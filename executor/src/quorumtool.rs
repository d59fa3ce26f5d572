//! Reading `corosync-quorumtool -s` output into data.
//!
//! Owns `QuorumStatus`, `Member` and `parse_status`. It accepts the plain `-s` form and the
//! `-i`, `-H` and `-p` variants (IP addresses instead of names, hexadecimal node ids, an extra
//! Qdevice column). It must not run anything: callers fetch the text (locally through
//! `nsenter`, remotely through `ssh`) and hand it here.

use serde::Serialize;

/// One line of the "Membership information" table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The member's node id.
    pub nodeid: u32,
    /// The votes votequorum counts for the member.
    pub votes: u32,
    /// The Qdevice column (`A,V,NMW`, `NR`, ...), when quorumtool printed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qdevice: Option<String>,
    /// The name (or address with `-i`) quorumtool printed, without the `(local)` marker.
    pub name: String,
    /// True for the node quorumtool ran on.
    pub local: bool,
}

/// What `corosync-quorumtool -s` reports on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumStatus {
    /// The quorum provider (`corosync_votequorum`).
    pub provider: String,
    /// The number of nodes in the current membership (the `Nodes:` line).
    pub nodes: u32,
    /// The id of the node quorumtool ran on.
    pub nodeid: u32,
    /// The ring id (`1.9`), as printed.
    pub ring_id: String,
    /// Whether this node is quorate.
    pub quorate: bool,
    /// Expected votes (votequorum's current E).
    pub expected_votes: u32,
    /// Highest expected votes seen in the membership.
    pub highest_expected: u32,
    /// Total votes of the current membership.
    pub total_votes: u32,
    /// The quorum threshold.
    pub quorum: u32,
    /// True when quorumtool appended `Activity blocked` to the quorum line.
    pub activity_blocked: bool,
    /// The votequorum flags (`Quorate`, `WaitForAll`, `LastManStanding`, `2Node`, ...).
    pub flags: Vec<String>,
    /// The current membership, in quorumtool's order.
    pub members: Vec<Member>,
}

impl QuorumStatus {
    /// The node ids of the membership, sorted.
    pub fn member_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.members.iter().map(|member| member.nodeid).collect();
        ids.sort_unstable();
        ids
    }
}

/// Why a quorumtool output could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What was missing or malformed.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses a node id as quorumtool prints it: decimal, or `0x`-prefixed hexadecimal (`-H`).
fn parse_nodeid(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The value of a `Key:   value` line, if `line` is one for `key`.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(key)?;
    Some(rest.strip_prefix(':')?.trim())
}

/// The first whitespace-separated word of `value`, as a number.
fn number(value: &str, key: &str) -> Result<u32, ParseError> {
    value
        .split_whitespace()
        .next()
        .and_then(|word| word.parse().ok())
        .ok_or_else(|| ParseError {
            message: format!("`{key}` is not a number: `{value}`"),
        })
}

/// Parses the output of `corosync-quorumtool -s` (or `-si`, `-sH`, `-sp`).
///
/// Returns an error naming the first missing field when the text is not a status report,
/// for example when corosync is not running and quorumtool printed only
/// `Cannot initialize QUORUM service`.
pub fn parse_status(text: &str) -> Result<QuorumStatus, ParseError> {
    let mut provider = None;
    let mut nodes = None;
    let mut nodeid = None;
    let mut ring_id = None;
    let mut quorate = None;
    let mut expected_votes = None;
    let mut highest_expected = None;
    let mut total_votes = None;
    let mut quorum = None;
    let mut activity_blocked = false;
    let mut flags = Vec::new();
    let mut members = Vec::new();
    // Column layout of the membership table, known once its header line was seen.
    let mut table: Option<bool> = None;
    for line in text.lines() {
        if let Some(has_qdevice) = table {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.is_empty() {
                continue;
            }
            let min_words = if has_qdevice { 4 } else { 3 };
            let (Some(id), Some(votes)) = (
                words.first().and_then(|w| parse_nodeid(w)),
                words.get(1).and_then(|w| w.parse::<u32>().ok()),
            ) else {
                continue;
            };
            // The quorum device's own row (`0  1  Qdevice`, no Qdevice column): not a node;
            // its votes are in `Total votes`.
            if id == 0 {
                continue;
            }
            if words.len() < min_words {
                return Err(ParseError {
                    message: format!("membership line `{}` has too few columns", line.trim()),
                });
            }
            let (qdevice, name_words) = if has_qdevice {
                (Some(words[2].to_string()), &words[3..])
            } else {
                (None, &words[2..])
            };
            let local = name_words.last() == Some(&"(local)");
            let name_words = if local {
                &name_words[..name_words.len() - 1]
            } else {
                name_words
            };
            members.push(Member {
                nodeid: id,
                votes,
                qdevice,
                name: name_words.join(" "),
                local,
            });
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("Nodeid") && trimmed.contains("Votes") {
            table = Some(trimmed.contains("Qdevice"));
        } else if let Some(value) = field(line, "Quorum provider") {
            provider = Some(value.to_string());
        } else if let Some(value) = field(line, "Nodes") {
            nodes = Some(number(value, "Nodes")?);
        } else if let Some(value) = field(line, "Node ID") {
            nodeid = Some(parse_nodeid(value).ok_or_else(|| ParseError {
                message: format!("`Node ID` is not a node id: `{value}`"),
            })?);
        } else if let Some(value) = field(line, "Ring ID") {
            ring_id = Some(value.to_string());
        } else if let Some(value) = field(line, "Quorate") {
            quorate = Some(match value {
                "Yes" => true,
                "No" => false,
                other => {
                    return Err(ParseError {
                        message: format!("`Quorate` is neither Yes nor No: `{other}`"),
                    })
                }
            });
        } else if let Some(value) = field(line, "Expected votes") {
            expected_votes = Some(number(value, "Expected votes")?);
        } else if let Some(value) = field(line, "Highest expected") {
            highest_expected = Some(number(value, "Highest expected")?);
        } else if let Some(value) = field(line, "Total votes") {
            total_votes = Some(number(value, "Total votes")?);
        } else if let Some(value) = field(line, "Quorum") {
            quorum = Some(number(value, "Quorum")?);
            activity_blocked = value.contains("Activity blocked");
        } else if let Some(value) = field(line, "Flags") {
            flags = value.split_whitespace().map(str::to_string).collect();
        }
    }
    let missing = |name: &str| ParseError {
        message: format!("no `{name}` line in corosync-quorumtool output"),
    };
    Ok(QuorumStatus {
        provider: provider.ok_or_else(|| missing("Quorum provider"))?,
        nodes: nodes.ok_or_else(|| missing("Nodes"))?,
        nodeid: nodeid.ok_or_else(|| missing("Node ID"))?,
        ring_id: ring_id.ok_or_else(|| missing("Ring ID"))?,
        quorate: quorate.ok_or_else(|| missing("Quorate"))?,
        expected_votes: expected_votes.ok_or_else(|| missing("Expected votes"))?,
        highest_expected: highest_expected.ok_or_else(|| missing("Highest expected"))?,
        total_votes: total_votes.ok_or_else(|| missing("Total votes"))?,
        quorum: quorum.ok_or_else(|| missing("Quorum"))?,
        activity_blocked,
        flags,
        members: if table.is_some() {
            members
        } else {
            return Err(missing("Nodeid Votes"));
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUORATE: &str = "Quorum information
------------------
Date:             Wed Nov 25 08:56:50 2026
Quorum provider:  corosync_votequorum
Nodes:            3
Node ID:          1
Ring ID:          1.9
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      3
Quorum:           2  
Flags:            Quorate 

Membership information
----------------------
    Nodeid      Votes Name
         1          1 n1 (local)
         2          1 n2
         3          1 n3
";

    const BLOCKED_HEX_IP: &str = "Quorum information
------------------
Date:             Wed Nov 25 08:57:00 2026
Quorum provider:  corosync_votequorum
Nodes:            1
Node ID:          0x00000003
Ring ID:          3.d
Quorate:          No

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      1
Quorum:           2 Activity blocked
Flags:            

Membership information
----------------------
    Nodeid      Votes Name
0x00000003          1 198.18.0.3 (local)
";

    const QDEVICE_COLUMN: &str = "Quorum information
------------------
Date:             Wed Nov 25 08:56:50 2026
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          2
Ring ID:          1.9
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   2
Highest expected: 2
Total votes:      2
Quorum:           1  
Flags:            2Node Quorate WaitForAll 

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1         NR n1
         2          1         NR n2 (local)
";

    #[test]
    fn the_quorum_device_row_is_not_a_member() {
        let text = "Quorum information\n------------------\nQuorum provider:  corosync_votequorum\n\
                    Nodes:            2\nNode ID:          1\nRing ID:          1.9\nQuorate:          Yes\n\n\
                    Votequorum information\n----------------------\nExpected votes:   3\n\
                    Highest expected: 3\nTotal votes:      3\nQuorum:           2  \n\
                    Flags:            Quorate Qdevice \n\nMembership information\n----------------------\n\
                    \x20   Nodeid      Votes    Qdevice Name\n         1          1    A,V,NMW n1 (local)\n\
                    \x20        2          1    A,V,NMW n2\n         0          1            Qdevice\n";
        let status = parse_status(text).unwrap();
        assert_eq!(status.member_ids(), vec![1, 2]);
        assert_eq!(status.total_votes, 3);
        assert_eq!(status.members[0].qdevice.as_deref(), Some("A,V,NMW"));
    }

    #[test]
    fn reads_a_quorate_three_node_report() {
        let status = parse_status(QUORATE).unwrap();
        assert!(status.quorate);
        assert_eq!(
            (status.nodes, status.nodeid, status.ring_id.as_str()),
            (3, 1, "1.9")
        );
        assert_eq!(
            (
                status.expected_votes,
                status.highest_expected,
                status.total_votes,
                status.quorum
            ),
            (3, 3, 3, 2)
        );
        assert!(!status.activity_blocked);
        assert_eq!(status.flags, vec!["Quorate"]);
        assert_eq!(status.member_ids(), vec![1, 2, 3]);
        assert_eq!(
            status.members[0],
            Member {
                nodeid: 1,
                votes: 1,
                qdevice: None,
                name: "n1".into(),
                local: true
            }
        );
        assert!(!status.members[1].local);
    }

    #[test]
    fn reads_a_blocked_partition_with_hex_ids_and_addresses() {
        let status = parse_status(BLOCKED_HEX_IP).unwrap();
        assert!(!status.quorate);
        assert!(status.activity_blocked);
        assert_eq!(status.nodeid, 3);
        assert!(status.flags.is_empty());
        assert_eq!(status.total_votes, 1);
        assert_eq!(status.members.len(), 1);
        assert_eq!(status.members[0].name, "198.18.0.3");
        assert!(status.members[0].local);
    }

    #[test]
    fn reads_the_qdevice_column_and_several_flags() {
        let status = parse_status(QDEVICE_COLUMN).unwrap();
        assert_eq!(status.flags, vec!["2Node", "Quorate", "WaitForAll"]);
        assert_eq!(status.members[1].qdevice.as_deref(), Some("NR"));
        assert_eq!(status.members[1].name, "n2");
        assert!(status.members[1].local);
        assert_eq!(status.member_ids(), vec![1, 2]);
    }

    #[test]
    fn refuses_the_not_running_message_and_names_what_is_missing() {
        let error = parse_status("Cannot initialize QUORUM service\n").unwrap_err();
        assert_eq!(
            error.message,
            "no `Quorum provider` line in corosync-quorumtool output"
        );
        let error = parse_status(&QUORATE.replace("Quorate:          Yes", "Quorate: Maybe")).unwrap_err();
        assert_eq!(error.message, "`Quorate` is neither Yes nor No: `Maybe`");
        let truncated = &QUORATE[..QUORATE.find("Membership").unwrap()];
        assert_eq!(
            parse_status(truncated).unwrap_err().message,
            "no `Nodeid Votes` line in corosync-quorumtool output"
        );
    }
}
