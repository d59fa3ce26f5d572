//! Rule S011 `negative-config-version`: owns this check only.
//!
//! ## What it does
//! Flags a `totem.config_version` written as a negative number.
//!
//! ## Why is this bad?
//! corosync reads `config_version` as an unsigned 64-bit number and accepts `-1`, which
//! wraps to 18446744073709551615. That node then has the highest version forever: peers with
//! a real version exit at their first merge with it (`Received config version ... is
//! different than my config version ...! Exiting`), and Proxmox never sees a newer file.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     config_version: -1
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     config_version: 1
//! }
//! ```
//!
//! ## Fix safety
//! Any new value changes the version comparison between nodes: unsafe.
//!
//! ## References
//! corosync.conf(5) `config_version`; `coroparse.c` `str_to_ull` (verified with
//! `corosync -t`).

use crate::lint::{Checker, Violation};

/// A negative config_version.
struct NegativeConfigVersion {
    value: String,
    wrapped: u64,
}

impl Violation for NegativeConfigVersion {
    fn message(&self) -> String {
        format!("`config_version: {}` wraps to {}", self.value, self.wrapped)
    }

    fn help(&self) -> Option<String> {
        Some("use a positive number; corosync reads config_version as unsigned 64-bit".to_string())
    }
}

/// S011
pub(crate) fn negative_config_version(checker: &mut Checker) {
    let Some(setting) = &checker.config.totem.config_version else {
        return;
    };
    if !setting.text.starts_with('-') {
        return;
    }
    let violation = NegativeConfigVersion {
        value: setting.text.clone(),
        wrapped: setting.value,
    };
    let span = setting.value_span;
    checker.report(&violation, Some(span));
}
