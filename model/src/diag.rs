//! Diagnostics as plain data: what the parser, the validator and the lint rules report.
//!
//! Owns `Diagnostic`, `Severity`, `RejectedBy`, `Span` and `LineIndex`. It must not render
//! anything (no colour, no terminal): only the binary renders diagnostics.

use serde::Serialize;

/// A byte range in the source text, `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte (equal to `start` for an empty span).
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// corosync refuses it, or it is certainly wrong.
    Error,
    /// corosync accepts it but it hurts (split-brain, no redundancy, ...).
    Warning,
    /// Worth knowing; nothing is wrong by itself.
    Info,
}

/// Which part of real corosync refuses a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RejectedBy {
    /// `corosync -t` exits non-zero.
    #[serde(rename = "corosync -t")]
    CorosyncT,
    /// `corosync -t` passes but the daemon refuses to start (exit 20, or knet errors).
    #[serde(rename = "corosync startup")]
    CorosyncStartup,
}

impl RejectedBy {
    /// The contract string used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectedBy::CorosyncT => "corosync -t",
            RejectedBy::CorosyncStartup => "corosync startup",
        }
    }
}

/// A secondary label pointing at another place in the same file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// A text edit that fixes a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// Imperative title, e.g. "add `wait_for_all: 1`".
    pub title: String,
    /// Safe fixes change config text only; unsafe ones change cluster behaviour and must go
    /// through the planner.
    pub safe: bool,
}

/// One finding about one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, a category letter plus three digits (e.g. `Q001`).
    pub code: &'static str,
    /// Stable kebab-case name (part of the JSON contract).
    pub name: &'static str,
    /// How bad.
    pub severity: Severity,
    /// What is wrong, no trailing period.
    pub message: String,
    /// Which part of corosync refuses it, if any.
    pub rejected_by: Option<RejectedBy>,
    /// The primary place; `None` for whole-file findings.
    pub span: Option<Span>,
    /// Other relevant places.
    pub labels: Vec<Label>,
    /// What to do, and corosync's own message where it has one.
    pub help: Option<String>,
    /// A fix, if one is known.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with no span, labels, help or fix.
    pub fn new(
        code: &'static str,
        name: &'static str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            name,
            severity,
            message: message.into(),
            rejected_by: None,
            span: None,
            labels: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// Sets the primary span.
    pub fn with_span(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Marks the diagnostic as something real corosync refuses.
    pub fn rejected_by(mut self, by: RejectedBy) -> Diagnostic {
        self.rejected_by = Some(by);
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the fix.
    pub fn with_fix(mut self, title: impl Into<String>, safe: bool) -> Diagnostic {
        self.fix = Some(Fix {
            title: title.into(),
            safe,
        });
        self
    }
}

/// Maps byte offsets to 1-based line and column numbers (columns count characters).
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`. A line ends after `\n`.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (offset, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(offset + 1);
            }
        }
        LineIndex { line_starts }
    }

    /// 1-based (line, column) of `offset` in `text`; offsets past the end clamp to the end.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        };
        let start = self.line_starts[line];
        let column = text
            .get(start..offset)
            .map(|prefix| prefix.chars().count())
            .unwrap_or(offset - start);
        (line + 1, column + 1)
    }

    /// Byte range of 1-based `line` without its line terminator.
    pub fn line_range(&self, text: &str, line: usize) -> Option<(usize, usize)> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let mut end = self.line_starts.get(line).copied().unwrap_or(text.len());
        let bytes = text.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some((start, end))
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a\nbc\r\nd";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), (1, 1));
        assert_eq!(index.line_col(text, 3), (2, 2));
        assert_eq!(index.line_col(text, 6), (3, 1));
        assert_eq!(index.line_range(text, 2), Some((2, 4)));
    }
}
