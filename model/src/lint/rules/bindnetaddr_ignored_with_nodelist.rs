//! Rule L005 `bindnetaddr-ignored-with-nodelist`: owns this check only.
//!
//! ## What it does
//! Notes `bindnetaddr` in a `totem.interface` section of a file that has a nodelist.
//!
//! ## Why is this bad?
//! With a nodelist, corosync binds to the local node's own ring address and ignores
//! `bindnetaddr`, warning `interface section bindnetaddr is used together with nodelist.
//! Nodelist one is going to be used.`. A reader may believe the cluster uses the network in
//! `bindnetaddr` (a frequent leftover of corosync 1/2 configurations and runbooks).
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     interface {
//!         linknumber: 0
//!         bindnetaddr: 10.30.0.0
//!     }
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     interface {
//!         linknumber: 0
//!     }
//! }
//! nodelist {
//!     node {
//!         nodeid: 1
//!         ring0_addr: 10.0.0.1
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! The key is ignored, so removing it is safe.
//!
//! ## References
//! corosync.conf(5) `bindnetaddr`; `corosync -t` warnings (`exec/main.c`).

use crate::lint::{Checker, Violation};

/// An ignored bindnetaddr.
struct BindnetaddrIgnoredWithNodelist;

impl Violation for BindnetaddrIgnoredWithNodelist {
    fn message(&self) -> String {
        "`bindnetaddr` is ignored because the file has a nodelist".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("corosync warns `interface section bindnetaddr is used together with nodelist`; the node's ring address is used instead".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("remove `bindnetaddr`".to_string())
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// L005
pub(crate) fn bindnetaddr_ignored_with_nodelist(checker: &mut Checker) {
    if checker.nodes().is_empty() {
        return;
    }
    for interface in checker.document.sections_at("totem.interface") {
        for item in interface.keys().filter(|item| item.key == "bindnetaddr") {
            checker.report(&BindnetaddrIgnoredWithNodelist, Some(item.key_span));
        }
    }
}
