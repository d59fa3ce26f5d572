//! Rule S009 `pve-config-version-missing`: owns this check only; runs on Proxmox-managed
//! files.
//!
//! ## What it does
//! In a file managed by Proxmox VE, flags a missing `totem.config_version` or one that is 0.
//!
//! ## Why is this bad?
//! pmxcfs decides whether to copy `/etc/pve/corosync.conf` to `/etc/corosync/corosync.conf`
//! on every node by comparing `config_version`. With 0 or none it logs `unable to parse
//! cluster config_version` and propagates nothing, and `PVE::Corosync::atomic_write_conf`
//! dies with `invalid corosync config: unable to read config version`. Nodes then run
//! different configurations.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     cluster_name: pve
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     cluster_name: pve
//!     config_version: 2
//! }
//! ```
//!
//! ## Fix safety
//! Setting a version higher than every node's current one makes pmxcfs propagate the file
//! and reload corosync cluster-wide: unsafe.
//!
//! ## References
//! proxmox/pve-cluster `src/pmxcfs/dcdb.c`, `src/PVE/Corosync.pm`; corosync.conf(5)
//! `config_version`.

use crate::lint::{Checker, Violation};

/// Missing or zero config_version in a Proxmox file.
struct PveConfigVersionMissing {
    zero: bool,
}

impl Violation for PveConfigVersionMissing {
    fn message(&self) -> String {
        if self.zero {
            "`config_version` is 0, so Proxmox will not propagate this file".to_string()
        } else {
            "`config_version` is missing, so Proxmox will not propagate this file".to_string()
        }
    }

    fn help(&self) -> Option<String> {
        Some("set `totem.config_version` higher than the version the nodes run now".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("set `config_version` in `totem`".to_string())
    }
}

/// S009
pub(crate) fn pve_config_version_missing(checker: &mut Checker) {
    if !checker.proxmox {
        return;
    }
    match &checker.config.totem.config_version {
        Some(setting) if setting.value == 0 => {
            let span = setting.value_span;
            checker.report(&PveConfigVersionMissing { zero: true }, Some(span));
        }
        Some(_) => {}
        None => {
            let span = checker
                .document
                .sections_at("totem")
                .first()
                .map(|totem| totem.name_span);
            checker.report(&PveConfigVersionMissing { zero: false }, span);
        }
    }
}
