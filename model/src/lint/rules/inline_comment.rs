//! Rule S005 `inline-comment`: owns this check only; whether the value is then refused is
//! `validate`'s business.
//!
//! ## What it does
//! Flags a value that contains ` #` (or starts with `#`): text the author meant as a comment
//! but corosync reads as part of the value.
//!
//! ## Why is this bad?
//! corosync only treats a line as a comment when its first non-blank character is `#`.
//! In `token: 3000 # ms` the value is `3000 # ms`: for an integer key `corosync -t` then
//! refuses the file (`Value of key "totem.token" is expected to be integer ...`, reported by
//! validation), and for a string key the comment silently becomes part of the value
//! (`cluster_name: prod # main` names the cluster `prod # main`). Proxmox's parser strips
//! inline comments, so the same file means different things to pvecm and to corosync.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     cluster_name: prod # main site
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     # main site
//!     cluster_name: prod
//! }
//! ```
//!
//! ## Fix safety
//! Moving the comment to its own line changes the value corosync reads: unsafe.
//!
//! ## References
//! corosync.conf(5) (comments); corosync's parser `coroparse.c` `parse_section`.

use crate::diag::Span;
use crate::lint::{Checker, Violation};

/// A `#` inside a value.
struct InlineComment {
    key: String,
    value: String,
}

impl Violation for InlineComment {
    fn message(&self) -> String {
        format!(
            "`#` does not start a comment here: the value of `{}` is `{}`",
            self.key, self.value
        )
    }

    fn help(&self) -> Option<String> {
        Some("corosync only treats whole lines starting with `#` as comments; move the comment to its own line".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("move the comment to its own line".to_string())
    }
}

/// Byte offset of the `#` that starts an inline comment in `value`, if any.
fn comment_start(value: &str) -> Option<usize> {
    if value.starts_with('#') {
        return Some(0);
    }
    let bytes = value.as_bytes();
    (1..bytes.len())
        .find(|&index| bytes[index] == b'#' && (bytes[index - 1] == b' ' || bytes[index - 1] == b'\t'))
}

/// S005
pub(crate) fn inline_comment(checker: &mut Checker) {
    let mut sections = vec![checker.document.root()];
    sections.extend(checker.all_sections());
    let mut found = Vec::new();
    for section in sections {
        for item in section.keys() {
            if let Some(start) = comment_start(&item.value) {
                let span = Span::new(item.value_span.start + start, item.value_span.end);
                found.push((
                    span,
                    InlineComment {
                        key: item.key.clone(),
                        value: item.value.clone(),
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
