//! Rendering diagnostics: rustc-style text, concise lines, JSON and SARIF 2.1.0.
//!
//! Owns the output formats of `quorate lint` (the JSON shape is a contract, see
//! `json_report`). It must not decide what is wrong: diagnostics arrive as `model::Diagnostic`.

use model::{Diagnostic, LineIndex, Severity};
use serde::Serialize;
use std::fmt::Write as _;

/// ANSI styling, on only for terminals (or `--color always`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Whether to emit ANSI escape codes.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn blue(self, text: &str) -> String {
        self.paint("1;34", text)
    }
    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// One analysed file and its findings.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The name shown to users.
    pub path: String,
    /// The text (for code frames and line numbers).
    pub text: String,
    /// Findings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// 1-based line and column of a diagnostic's primary span (1:1 when it has none).
pub fn position(index: &LineIndex, text: &str, diagnostic: &Diagnostic) -> (usize, usize) {
    match diagnostic.span {
        Some(span) => index.line_col(text, span.start),
        None => (1, 1),
    }
}

/// The rustc-style rendering of one file's diagnostics.
pub fn human(report: &FileReport, style: Style) -> String {
    let index = LineIndex::new(&report.text);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let (line, column) = position(&index, &report.text, diagnostic);
        let heading = format!(
            "{}[{}]",
            match diagnostic.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            },
            diagnostic.code
        );
        let painted = match diagnostic.severity {
            Severity::Error => style.paint("1;31", &heading),
            Severity::Warning => style.paint("1;33", &heading),
            Severity::Info => style.paint("1;36", &heading),
        };
        let _ = writeln!(
            out,
            "{painted}: {} ({})",
            style.bold(&diagnostic.message),
            diagnostic.name
        );
        let gutter = line.to_string().len().max(2);
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{} {}:{line}:{column}", style.blue("-->"), report.path);
        if let (Some(span), Some((start, end))) = (diagnostic.span, index.line_range(&report.text, line)) {
            let source_line = &report.text[start..end];
            let _ = writeln!(out, "{pad} {}", style.blue("|"));
            let _ = writeln!(
                out,
                "{} {} {}",
                style.blue(&format!("{line:>gutter$}")),
                style.blue("|"),
                source_line
            );
            let caret_start = column - 1;
            let span_end = span.end.min(end).max(span.start);
            let width = report
                .text
                .get(span.start..span_end)
                .map(|t| t.chars().count())
                .unwrap_or(1)
                .max(1);
            let marker = format!("{}{}", " ".repeat(caret_start), "^".repeat(width));
            let colored = match diagnostic.severity {
                Severity::Error => style.paint("1;31", &marker),
                Severity::Warning => style.paint("1;33", &marker),
                Severity::Info => style.paint("1;36", &marker),
            };
            let _ = writeln!(out, "{pad} {} {colored}", style.blue("|"));
        }
        for label in &diagnostic.labels {
            let (label_line, label_column) = index.line_col(&report.text, label.span.start);
            let _ = writeln!(
                out,
                "{pad} {} note: {} ({}:{label_line}:{label_column})",
                style.blue("="),
                label.message,
                report.path
            );
        }
        if let Some(help) = &diagnostic.help {
            for (number, help_line) in help.lines().enumerate() {
                let prefix = if number == 0 { "help:" } else { "     " };
                let _ = writeln!(
                    out,
                    "{pad} {} {} {help_line}",
                    style.blue("="),
                    style.bold(prefix)
                );
            }
        }
        if let Some(by) = diagnostic.rejected_by {
            let _ = writeln!(
                out,
                "{pad} {} {} {}",
                style.blue("="),
                style.bold("rejected by:"),
                by.as_str()
            );
        }
        if let Some(fix) = &diagnostic.fix {
            let kind = if fix.safe {
                "safe fix"
            } else {
                "fix (changes cluster behaviour; use `quorate plan`)"
            };
            let _ = writeln!(
                out,
                "{pad} {} {} {}",
                style.blue("="),
                style.bold(&format!("{kind}:")),
                fix.title
            );
        }
        let _ = writeln!(
            out,
            "{pad} {} {} quorate explain {}",
            style.blue("="),
            style.bold("see:"),
            diagnostic.code
        );
        out.push('\n');
    }
    out
}

/// `path:line:col: severity[CODE] name: message`, one line per diagnostic.
pub fn concise(report: &FileReport) -> String {
    let index = LineIndex::new(&report.text);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let (line, column) = position(&index, &report.text, diagnostic);
        let severity = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(
            out,
            "{}:{line}:{column}: {severity}[{}] {}: {}",
            report.path, diagnostic.code, diagnostic.name, diagnostic.message
        );
    }
    out
}

/// One diagnostic in the JSON contract.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    message: &'a str,
    rejected_by: Option<&'static str>,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    help: Option<&'a str>,
    fix: Option<&'a model::diag::Fix>,
}

/// One file in the JSON contract.
#[derive(Debug, Serialize)]
pub struct JsonFile<'a> {
    path: &'a str,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// The JSON contract of `quorate lint --format json`:
/// `{"files":[{"path","diagnostics":[{"code","name","severity","message","rejected_by","line","column","help"}]}]}`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    files: Vec<JsonFile<'a>>,
}

/// Builds the JSON document for `reports`.
pub fn json_report(reports: &[FileReport]) -> JsonReport<'_> {
    let files = reports
        .iter()
        .map(|report| {
            let index = LineIndex::new(&report.text);
            let diagnostics = report
                .diagnostics
                .iter()
                .map(|diagnostic| {
                    let (line, column) = position(&index, &report.text, diagnostic);
                    let (end_line, end_column) = match diagnostic.span {
                        Some(span) => index.line_col(&report.text, span.end),
                        None => (line, column),
                    };
                    JsonDiagnostic {
                        code: diagnostic.code,
                        name: diagnostic.name,
                        severity: diagnostic.severity,
                        message: &diagnostic.message,
                        rejected_by: diagnostic.rejected_by.map(|by| by.as_str()),
                        line,
                        column,
                        end_line,
                        end_column,
                        help: diagnostic.help.as_deref(),
                        fix: diagnostic.fix.as_ref(),
                    }
                })
                .collect();
            JsonFile {
                path: &report.path,
                diagnostics,
            }
        })
        .collect();
    JsonReport { files }
}

/// Rule metadata for SARIF's `tool.driver.rules`.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// Stable code.
    pub code: String,
    /// Kebab-case name.
    pub name: String,
    /// One-line summary.
    pub summary: String,
    /// Full documentation (Markdown).
    pub documentation: String,
    /// Default severity.
    pub severity: Severity,
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF 2.1.0 log for `reports`; `rules` documents every code that may appear.
pub fn sarif(reports: &[FileReport], rules: &[RuleInfo]) -> serde_json::Value {
    use serde_json::json;
    let rule_index = |code: &str| rules.iter().position(|rule| rule.code == code);
    let mut results = Vec::new();
    for report in reports {
        let index = LineIndex::new(&report.text);
        for diagnostic in &report.diagnostics {
            let (line, column) = position(&index, &report.text, diagnostic);
            let (end_line, end_column) = match diagnostic.span {
                Some(span) => index.line_col(&report.text, span.end),
                None => (line, column),
            };
            let mut text = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                text.push_str(&format!(". help: {help}"));
            }
            let mut result = json!({
                "ruleId": diagnostic.code,
                "level": sarif_level(diagnostic.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": report.path },
                        "region": {
                            "startLine": line, "startColumn": column,
                            "endLine": end_line, "endColumn": end_column.max(column)
                        }
                    }
                }],
                "properties": {
                    "name": diagnostic.name,
                    "rejectedBy": diagnostic.rejected_by.map(|by| by.as_str()),
                }
            });
            if let (Some(position), Some(object)) = (rule_index(diagnostic.code), result.as_object_mut()) {
                object.insert("ruleIndex".into(), json!(position));
            }
            results.push(result);
        }
    }
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.summary },
                "help": { "text": rule.documentation, "markdown": rule.documentation },
                "defaultConfiguration": { "level": sarif_level(rule.severity) },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "quorate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/quorate/quorate",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}
