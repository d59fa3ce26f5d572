//! Rule S002 `unknown-section`: owns this check only; must not look inside the section.
//!
//! ## What it does
//! Flags a section that corosync 3 does not read, such as a `devices {}` typo for `device`,
//! or the corosync 1.x sections `amf`, `aisexec` and `service`.
//!
//! ## Why is this bad?
//! corosync accepts any section name and silently ignores what it does not know
//! (`corosync -t` exits 0), so everything inside a misspelt section is not in force. The
//! corosync 1.x plugin sections (`service { name: pacemaker }`) do nothing in corosync 3:
//! Pacemaker is started on its own.
//!
//! ## Example
//! ```conf
//! quorum {
//!     provider: corosync_votequorum
//!     devices {
//!         model: net
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
//!     }
//! }
//! ```
//!
//! ## Fix safety
//! Renaming the section puts its options in force, and removing a legacy section changes
//! nothing corosync 3 does; both change what the file says, so the fix is unsafe.
//!
//! ## References
//! corosync.conf(5) (the list of top-level directives), votequorum(5), corosync-qdevice(8).

use crate::lint::keys::{closest, section_schema};
use crate::lint::{Checker, Violation};
use crate::syntax::Section;

/// A section corosync does not read.
struct UnknownSection {
    name: String,
    parent: String,
    suggestion: Option<&'static str>,
}

impl Violation for UnknownSection {
    fn message(&self) -> String {
        if self.parent.is_empty() {
            format!("unknown section `{}` at the top level", self.name)
        } else {
            format!("unknown section `{}` in `{}`", self.name, self.parent)
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self.suggestion {
            Some(known) => {
                format!("did you mean `{known}`? corosync ignores unknown sections without a warning")
            }
            None => "corosync 3 ignores this section and everything in it; remove it".to_string(),
        })
    }

    fn fix_title(&self) -> Option<String> {
        self.suggestion
            .map(|known| format!("rename section `{}` to `{known}`", self.name))
    }
}

/// S002
pub(crate) fn unknown_section(checker: &mut Checker) {
    let mut todo: Vec<&Section> = vec![checker.document.root()];
    let mut found = Vec::new();
    while let Some(parent) = todo.pop() {
        let Some(schema) = section_schema(&parent.path) else {
            continue;
        };
        if schema.any_key {
            continue;
        }
        for section in parent.subsections() {
            if schema.sections.contains(&section.name.as_str()) {
                todo.push(section);
            } else {
                let violation = UnknownSection {
                    name: section.name.clone(),
                    parent: parent.path.clone(),
                    suggestion: closest(&section.name, schema.sections.iter().copied()),
                };
                found.push((section.name_span, violation));
            }
        }
    }
    found.sort_by_key(|(span, _)| span.start);
    for (span, violation) in found {
        checker.report(&violation, Some(span));
    }
}
