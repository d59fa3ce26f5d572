//! Rule S004 `repeated-nodelist`: owns this check only.
//!
//! ## What it does
//! Flags a second (third, ...) `nodelist {}` section.
//!
//! ## Why is this bad?
//! corosync does not append the nodes of a later `nodelist` to the earlier ones: node
//! numbering restarts at 0, so the later nodes overwrite the keys of the first nodes. The
//! local node can vanish (`No valid name found for local host`), or nodes end up with a mix
//! of two nodes' keys.
//!
//! ## Example
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! nodelist {
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//!     node {
//!         nodeid: 2
//!         ring0_addr: 10.0.0.2
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Merging the nodes into one `nodelist` changes which nodes corosync sees: unsafe.
//!
//! ## References
//! corosync.conf(5) `nodelist`; verified with `corosync -t` (a second nodelist overwrote
//! node 0).

use crate::diag::Label;
use crate::lint::{Checker, Violation};

/// A nodelist section after the first.
struct RepeatedNodelist;

impl Violation for RepeatedNodelist {
    fn message(&self) -> String {
        "second `nodelist` section overwrites the nodes of the first".to_string()
    }

    fn help(&self) -> Option<String> {
        Some(
            "corosync restarts node numbering in each `nodelist`; put all `node` sections in one `nodelist`"
                .to_string(),
        )
    }

    fn fix_title(&self) -> Option<String> {
        Some("move these nodes into the first `nodelist`".to_string())
    }
}

/// S004
pub(crate) fn repeated_nodelist(checker: &mut Checker) {
    let nodelists = checker.document.sections_at("nodelist");
    let Some(first) = nodelists.first().map(|section| section.name_span) else {
        return;
    };
    for later in nodelists.iter().skip(1) {
        checker
            .report(&RepeatedNodelist, Some(later.name_span))
            .labels
            .push(Label {
                span: first,
                message: "first nodelist".to_string(),
            });
    }
}
