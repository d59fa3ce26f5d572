//! Rule S008 `pve-value-with-spaces`: owns this check only; runs on Proxmox-managed files.
//!
//! ## What it does
//! In a file managed by Proxmox VE, flags a value that contains a space or a tab, such as
//! `auto_tie_breaker_node: 1 3` or a heuristics `exec_ping: /bin/ping -c 1 host`.
//!
//! ## Why is this bad?
//! corosync accepts such values, but Proxmox's own parser (`PVE::Corosync::parse_conf`)
//! splits every line on whitespace and dies with `missing ':' after key '<word>'`. Every
//! `pvecm` command that reads the cluster configuration (add, delete, qdevice setup,
//! status) then fails, usually when you need it most.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: 1 3
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     auto_tie_breaker: 1
//!     auto_tie_breaker_node: lowest
//! }
//! ```
//!
//! ## Fix safety
//! There is no equivalent value without spaces in general; no fix is offered.
//!
//! ## References
//! proxmox/pve-cluster `src/PVE/Corosync.pm` (`parse_conf`); corosync.conf(5).

use crate::lint::{Checker, Violation};

/// A value with whitespace in a Proxmox file.
struct PveValueWithSpaces {
    key: String,
}

impl Violation for PveValueWithSpaces {
    fn message(&self) -> String {
        format!(
            "value of `{}` contains whitespace, which Proxmox's corosync.conf parser cannot read",
            self.key
        )
    }

    fn help(&self) -> Option<String> {
        Some("pvecm fails with `missing ':' after key ...`; use a value without spaces or manage this setting outside Proxmox".to_string())
    }
}

/// S008
pub(crate) fn pve_value_with_spaces(checker: &mut Checker) {
    if !checker.proxmox {
        return;
    }
    let mut found = Vec::new();
    for section in checker.all_sections() {
        for item in section.keys() {
            if item.value.contains([' ', '\t']) {
                found.push((
                    item.value_span,
                    PveValueWithSpaces {
                        key: item.key.clone(),
                    },
                ));
            }
        }
    }
    found.sort_by_key(|(span, _)| span.start);
    for (span, violation) in found {
        checker.report(&violation, Some(span));
    }
}
