//! `lab replay`'s comparison: reality next to the prediction, as data.
//!
//! Owns the report types (`ReplayReport`, `StepComparison`, `NodeComparison`, `Reading`),
//! `compare` (one step's readings against its prediction) and the rule that a quorate flag the
//! prediction marks as depending on delivery order is not a mismatch. Pure: it must not drive
//! the lab or read nodes (the driver in `replay` does) nor predict anything (`sim` does).

use crate::status::{Corosync, NodeReport};
use serde::Serialize;
use sim::whatif::{NodeRow, StepReport};
use std::path::PathBuf;

/// One node's quorum state as compared: what `corosync-quorumtool -s` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// `running`, `stopped` or `unknown` (could not be read).
    pub corosync: &'static str,
    /// Quorate (`None` unless running).
    pub quorate: Option<bool>,
    /// Membership, ascending node ids (`None` unless running).
    pub members: Option<Vec<u32>>,
    /// Total votes (`None` unless running).
    pub total_votes: Option<u32>,
    /// Expected votes (`None` unless running).
    pub expected_votes: Option<u32>,
    /// Quorum (`None` unless running).
    pub quorum: Option<u32>,
}

impl Reading {
    /// The model's prediction for one node.
    pub fn predicted(row: &NodeRow) -> Reading {
        if !row.up {
            return Reading::absent("stopped");
        }
        Reading {
            corosync: "running",
            quorate: Some(row.quorate),
            members: Some(row.members.clone()),
            total_votes: Some(row.total_votes),
            expected_votes: Some(row.expected_votes),
            quorum: Some(row.quorum),
        }
    }

    /// What a node reported.
    pub fn real(corosync: &Corosync) -> Reading {
        match corosync {
            Corosync::Running { quorum } => Reading {
                corosync: "running",
                quorate: Some(quorum.quorate),
                members: Some(quorum.member_ids()),
                total_votes: Some(quorum.total_votes),
                expected_votes: Some(quorum.expected_votes),
                quorum: Some(quorum.quorum),
            },
            Corosync::Stopped { .. } => Reading::absent("stopped"),
            _ => Reading::absent("unknown"),
        }
    }

    fn absent(corosync: &'static str) -> Reading {
        Reading {
            corosync,
            quorate: None,
            members: None,
            total_votes: None,
            expected_votes: None,
            quorum: None,
        }
    }

    /// The names of the fields in which `self` and `other` differ (`corosync`, `quorate`,
    /// `members`, `total_votes`, `expected_votes`, `quorum`).
    pub fn differences(&self, other: &Reading) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.corosync != other.corosync {
            fields.push("corosync");
        }
        if self.quorate != other.quorate {
            fields.push("quorate");
        }
        if self.members != other.members {
            fields.push("members");
        }
        if self.total_votes != other.total_votes {
            fields.push("total_votes");
        }
        if self.expected_votes != other.expected_votes {
            fields.push("expected_votes");
        }
        if self.quorum != other.quorum {
            fields.push("quorum");
        }
        fields
    }
}

/// One node after one step: prediction, reality and where they differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeComparison {
    /// Node name in the lab.
    pub name: String,
    /// Node id.
    pub nodeid: u32,
    /// What `quorate whatif` predicts.
    pub predicted: Reading,
    /// What the node reported over SSH.
    pub real: Reading,
    /// Fields that differ (empty: agreement, or the step was not compared).
    pub mismatches: Vec<&'static str>,
    /// Fields that differ but that the prediction flags as depending on the totem delivery
    /// order of the step's ring change (only `quorate`): real corosync may show either value,
    /// by timing, so they are not mismatches.
    pub order_dependent: Vec<&'static str>,
}

/// One step of the replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepComparison {
    /// The step as written (`start` for the state before the first step).
    pub command: String,
    /// 1-based line in the script (`None` for `start`).
    pub line: Option<u32>,
    /// What the lab did, in order.
    pub actions: Vec<String>,
    /// Whether the readings were compared (not when the model predicts an unstable
    /// membership: corosync then settles on one of several memberships).
    pub compared: bool,
    /// Whether reality settled (expected memberships, then a quiet period) in time.
    pub settled: bool,
    /// How long settling took, in ms.
    pub settle_ms: u64,
    /// The model's notes and the lab's (a refused `corosync-quorumtool -e`, ...).
    pub notes: Vec<String>,
    /// One entry per node, in lab order.
    pub nodes: Vec<NodeComparison>,
}

impl StepComparison {
    /// Whether any node disagrees with the prediction.
    pub fn mismatched(&self) -> bool {
        self.nodes.iter().any(|node| !node.mismatches.is_empty())
    }
}

/// A whole replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// The lab name.
    pub lab: String,
    /// The corosync.conf the prediction was made from (the lab's).
    pub config: PathBuf,
    /// `start`, then one entry per step.
    pub steps: Vec<StepComparison>,
    /// Node readings that differ from the prediction, over all steps.
    pub mismatches: usize,
}

/// Compares the nodes' `reports` after a step with the step's prediction. `actions`,
/// `settled` and `settle_ms` say what the lab did and how waiting went.
pub fn compare(
    predicted: &StepReport,
    reports: &[NodeReport],
    actions: Vec<String>,
    settled: bool,
    settle_ms: u64,
) -> StepComparison {
    let compared = !predicted.unstable;
    let mut notes: Vec<String> = predicted.notes.clone();
    let mut nodes = Vec::with_capacity(reports.len());
    for report in reports {
        let real = Reading::real(&report.corosync);
        if let Corosync::Unknown { error } = &report.corosync {
            notes.push(format!("lab: {} could not be read: {error}", report.name));
        }
        let row = predicted.nodes.iter().find(|row| row.nodeid == report.nodeid);
        let predicted_reading = row.map_or_else(|| Reading::absent("unknown"), Reading::predicted);
        let mut mismatches = if compared {
            predicted_reading.differences(&real)
        } else {
            Vec::new()
        };
        let flagged = row.is_some_and(|row| row.order_dependent);
        let order_dependent = accept_order_dependent(&mut mismatches, flagged);
        if !order_dependent.is_empty() {
            notes.push(format!(
                "{}: quorate differs from the prediction, which depends on message delivery \
                 order (either value accepted)",
                report.name
            ));
        }
        nodes.push(NodeComparison {
            name: report.name.clone(),
            nodeid: report.nodeid,
            predicted: predicted_reading,
            real,
            mismatches,
            order_dependent,
        });
    }
    StepComparison {
        command: predicted.command.clone(),
        line: predicted.line,
        actions,
        compared,
        settled,
        settle_ms,
        notes,
        nodes,
    }
}

/// Moves `quorate` out of `mismatches` when the prediction flags the node's quorate flag as
/// order-dependent (`flagged`); returns the fields moved. Every other field stays strict.
fn accept_order_dependent(mismatches: &mut Vec<&'static str>, flagged: bool) -> Vec<&'static str> {
    if !flagged {
        return Vec::new();
    }
    let before = mismatches.len();
    mismatches.retain(|field| *field != "quorate");
    if mismatches.len() == before {
        Vec::new()
    } else {
        vec!["quorate"]
    }
}

pub(crate) fn summary_line(step: &StepComparison) -> String {
    let verdict = if !step.compared {
        "not compared (unstable in the model)"
    } else if step.mismatched() {
        "MISMATCH"
    } else if step.nodes.iter().any(|node| !node.order_dependent.is_empty()) {
        "agrees (a quorate flag differs where the prediction is order-dependent)"
    } else {
        "agrees"
    };
    format!(
        "{}: {verdict} (settled in {:.1} s)",
        step.command,
        step.settle_ms as f64 / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_name_the_fields_that_differ() {
        let row = |quorate: bool, members: Vec<u32>| NodeRow {
            view: model::quorum::NodeView {
                nodeid: 1,
                name: "n1".into(),
                up: true,
                members,
                quorate,
                votes: 1,
                expected_votes: 3,
                highest_expected: 3,
                quorum: 2,
                total_votes: 2,
                flags: model::quorum::QuorumFlags::default(),
                why: String::new(),
                order_dependent: false,
            },
            partition: Some(0),
            proxmox: None,
            reload_refusal: None,
        };
        let predicted = Reading::predicted(&row(true, vec![1, 2]));
        assert_eq!(predicted.differences(&predicted), Vec::<&str>::new());
        let other = Reading::predicted(&row(false, vec![1]));
        assert_eq!(predicted.differences(&other), vec!["quorate", "members"]);
        let stopped = Reading::real(&Corosync::Stopped {
            reason: "gone".into(),
        });
        assert_eq!(
            predicted.differences(&stopped),
            vec![
                "corosync",
                "quorate",
                "members",
                "total_votes",
                "expected_votes",
                "quorum"
            ]
        );
        let mut down = row(false, Vec::new());
        down.view.up = false;
        assert_eq!(
            Reading::predicted(&down).differences(&stopped),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn an_order_dependent_quorate_flag_is_not_a_mismatch() {
        let mut mismatches = vec!["quorate", "members"];
        assert_eq!(accept_order_dependent(&mut mismatches, true), vec!["quorate"]);
        assert_eq!(mismatches, vec!["members"]);
        let mut mismatches = vec!["quorate"];
        assert_eq!(accept_order_dependent(&mut mismatches, false), Vec::<&str>::new());
        assert_eq!(mismatches, vec!["quorate"]);
        let mut mismatches = vec!["quorum"];
        assert_eq!(accept_order_dependent(&mut mismatches, true), Vec::<&str>::new());
        assert_eq!(mismatches, vec!["quorum"]);
    }
}
