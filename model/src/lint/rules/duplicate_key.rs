//! Rule S003 `duplicate-key`: owns this check only; must not compare values.
//!
//! ## What it does
//! Flags a key written twice in the same section.
//!
//! ## Why is this bad?
//! corosync keeps the last value without a warning. A reader who finds the first one
//! believes it is in force; after an edit that touched only the first, the file no longer
//! says what the author meant.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     token: 3000
//!     token: 10000
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     token: 10000
//! }
//! ```
//!
//! ## Fix safety
//! Removing the earlier items keeps the value in force: safe.
//!
//! ## References
//! corosync.conf(5); corosync's parser (`coroparse.c`) stores each key in cmap, so a later
//! value replaces an earlier one.

use std::collections::HashMap;

use crate::lint::{Checker, Violation};

/// A key repeated in one section.
struct DuplicateKey {
    key: String,
    section: String,
}

impl Violation for DuplicateKey {
    fn message(&self) -> String {
        format!("key `{}` is set more than once in `{}`", self.key, self.section)
    }

    fn help(&self) -> Option<String> {
        Some("corosync keeps the last value without a warning; keep one item".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some(format!("remove the earlier `{}` items", self.key))
    }

    fn fix_is_safe(&self) -> bool {
        true
    }
}

/// S003
pub(crate) fn duplicate_key(checker: &mut Checker) {
    let mut sections = vec![checker.document.root()];
    sections.extend(checker.all_sections());
    for section in sections {
        let mut first_seen = HashMap::new();
        for item in section.keys() {
            match first_seen.get(item.key.as_str()) {
                None => {
                    first_seen.insert(item.key.as_str(), item.key_span);
                }
                Some(first) => {
                    let violation = DuplicateKey {
                        key: item.key.clone(),
                        section: if section.path.is_empty() {
                            "the top level".to_string()
                        } else {
                            section.path.clone()
                        },
                    };
                    let first = *first;
                    checker
                        .report(&violation, Some(item.key_span))
                        .labels
                        .push(crate::diag::Label {
                            span: first,
                            message: "first set here".to_string(),
                        });
                }
            }
        }
    }
}
