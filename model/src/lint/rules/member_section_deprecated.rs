//! Rule S006 `member-section-deprecated`: owns this check only.
//!
//! ## What it does
//! Flags `member {}` sections inside `totem.interface`, the pre-nodelist way of listing
//! udpu peers.
//!
//! ## Why is this bad?
//! corosync 3 prints `member section is deprecated.` and, when a nodelist exists,
//! `member section is used together with nodelist. Members ignored.`. Without a nodelist the
//! file is refused anyway (`No valid name found for local host`), so the members never
//! define the cluster.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     interface {
//!         ringnumber: 0
//!         member {
//!             memberaddr: 10.0.0.1
//!         }
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
//! }
//! ```
//!
//! ## Fix safety
//! With a nodelist present, removing the ignored members is safe; converting members into
//! nodes changes the cluster and is unsafe. The offered fix is the removal.
//!
//! ## References
//! corosync.conf(5) `nodelist`; `corosync -t` warnings (`exec/main.c`).

use crate::lint::{Checker, Violation};

/// A legacy member section.
struct MemberSectionDeprecated {
    with_nodelist: bool,
}

impl Violation for MemberSectionDeprecated {
    fn message(&self) -> String {
        if self.with_nodelist {
            "`member` section is deprecated and ignored because a nodelist exists".to_string()
        } else {
            "`member` section is deprecated".to_string()
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            "corosync warns `member section is deprecated.`; list the nodes in `nodelist` instead"
                .to_string(),
        )
    }

    fn fix_title(&self) -> Option<String> {
        self.with_nodelist
            .then(|| "remove the `member` section".to_string())
    }

    fn fix_is_safe(&self) -> bool {
        self.with_nodelist
    }
}

/// S006
pub(crate) fn member_section_deprecated(checker: &mut Checker) {
    let with_nodelist = !checker.nodes().is_empty();
    for member in checker.document.sections_at("totem.interface.member") {
        checker.report(&MemberSectionDeprecated { with_nodelist }, Some(member.name_span));
    }
}
