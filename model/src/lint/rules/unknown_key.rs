//! Rule S001 `unknown-key`: owns this check only; must not judge values.
//!
//! ## What it does
//! Flags a key that corosync does not read in its section, such as `tokken` in `totem` or
//! `two_nodes` in `quorum`, and suggests the closest known key, or the section where
//! corosync reads it (`two_node` written in `totem` belongs in `quorum`).
//!
//! ## Why is this bad?
//! corosync stores every key it parses but only reads the ones it knows, and says nothing
//! about the rest (`corosync -t` exits 0). A misspelt option is therefore silently not in
//! force: `two_nodes: 1` leaves a two-node cluster without `two_node`, and `tokken: 10000`
//! keeps the 3 s token.
//!
//! Pattern keys corosync reads are known: `ring0_addr`..`ring7_addr` in a node (higher
//! numbers are refused by validation), `exec_NAME` in `quorum.device.heuristics`, and legacy
//! keys still read by corosync 3 such as `rrp_mode` and `secauth`.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_nodes: 1
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     two_node: 1
//! }
//! ```
//!
//! ## Fix safety
//! Renaming the key puts the option in force, which changes cluster behaviour: unsafe.
//!
//! ## References
//! corosync.conf(5) (every section), votequorum(5), corosync-qdevice(8).

use crate::lint::keys::{closest, is_known_key, section_schema, suggestion_candidates, SCHEMAS};
use crate::lint::{Checker, Violation};

/// A key corosync does not read.
struct UnknownKey {
    key: String,
    section: String,
    suggestion: Option<&'static str>,
    /// Another section where corosync reads this exact key.
    belongs_in: Option<&'static str>,
}

impl Violation for UnknownKey {
    fn message(&self) -> String {
        if self.section.is_empty() {
            format!("unknown key `{}` at the top level", self.key)
        } else {
            format!("unknown key `{}` in `{}`", self.key, self.section)
        }
    }

    fn help(&self) -> Option<String> {
        if let Some(section) = self.belongs_in {
            return Some(format!(
                "`{}` is read in `{section}`, not here; corosync ignores it here without a warning",
                self.key
            ));
        }
        Some(match self.suggestion {
            Some(known) => format!("did you mean `{known}`? corosync ignores unknown keys without a warning"),
            None => "corosync ignores unknown keys without a warning; remove it or check corosync.conf(5)"
                .to_string(),
        })
    }

    fn fix_title(&self) -> Option<String> {
        if let Some(section) = self.belongs_in {
            return Some(format!("move `{}` to `{section}`", self.key));
        }
        self.suggestion
            .map(|known| format!("rename `{}` to `{known}`", self.key))
    }
}

/// S001
pub(crate) fn unknown_key(checker: &mut Checker) {
    let mut sections = vec![checker.document.root()];
    sections.extend(checker.all_sections());
    for section in sections {
        let Some(schema) = section_schema(&section.path) else {
            continue;
        };
        for item in section.keys() {
            if is_known_key(&section.path, &item.key) {
                continue;
            }
            let violation = UnknownKey {
                key: item.key.clone(),
                section: section.path.clone(),
                suggestion: closest(&item.key, suggestion_candidates(schema)),
                belongs_in: SCHEMAS
                    .iter()
                    .find(|other| !other.path.is_empty() && other.keys.contains(&item.key.as_str()))
                    .map(|other| other.path),
            };
            checker.report(&violation, Some(item.key_span));
        }
    }
}
