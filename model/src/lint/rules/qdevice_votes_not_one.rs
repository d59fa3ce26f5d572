//! Rule D002 `qdevice-votes-not-one`: owns this check only.
//!
//! ## What it does
//! Flags a quorum device using the `ffsplit` algorithm whose votes (written, or the
//! default of node count − 1) are not 1.
//!
//! ## Why is this bad?
//! ffsplit decides 50/50 splits and is designed for `votes: 1`. With more votes the device
//! outweighs nodes: a partition holding the device vote can be quorate with fewer nodes
//! than a majority, and the cluster's quorum depends on qnetd more than the design intends.
//! `pvecm qdevice setup` always writes `votes: 1` with ffsplit.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     device {
//!         model: net
//!         votes: 3
//!         net {
//!             host: qnetd.example.com
//!             algorithm: ffsplit
//!         }
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     device {
//!         model: net
//!         votes: 1
//!         net {
//!             host: qnetd.example.com
//!             algorithm: ffsplit
//!         }
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Changing the device votes changes expected votes and quorum: unsafe.
//!
//! ## References
//! corosync-qdevice(8) `algorithm`, `votes`; votequorum(5); spec section 2.8.

use crate::lint::{Checker, Violation};

/// ffsplit with votes != 1.
struct QdeviceVotesNotOne {
    votes: u64,
    written: bool,
}

impl Violation for QdeviceVotesNotOne {
    fn message(&self) -> String {
        if self.written {
            format!(
                "quorum device with algorithm `ffsplit` has {} votes instead of 1",
                self.votes
            )
        } else {
            format!(
                "quorum device with algorithm `ffsplit` gets the default of {} votes (node count - 1) instead of 1",
                self.votes
            )
        }
    }

    fn help(&self) -> Option<String> {
        Some("set `votes: 1` in `quorum.device` for ffsplit".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("set `quorum.device.votes` to 1".to_string())
    }
}

/// D002
pub(crate) fn qdevice_votes_not_one(checker: &mut Checker) {
    let Some(device) = &checker.quorum.device else {
        return;
    };
    if device.model != "net" || device.algorithm.as_deref().unwrap_or("ffsplit") != "ffsplit" {
        return;
    }
    let written = device.votes.is_some();
    let votes = checker.device_votes();
    if votes == 1 || votes == 0 {
        return;
    }
    let span = checker
        .effective_key("quorum.device", "votes")
        .map(|item| item.value_span)
        .or_else(|| checker.span_of("quorum.device", "model"));
    checker.report(&QdeviceVotesNotOne { votes, written }, span);
}
