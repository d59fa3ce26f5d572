//! Rendering diagnostics: rustc-style text, concise lines, JSON and SARIF 2.1.0.
//!
//! Owns the output formats of `quorate lint` (the JSON shape is a contract, see
//! `json_report`). It must not decide what is wrong: diagnostics arrive as `model::Diagnostic`.

use model::{Diagnostic, LineIndex, Severity};
use serde::Serialize;
use std::fmt::Write as _;

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// ANSI styling, on only for terminals (or `--color always`): the one colour helper of the
/// binary (lint, whatif). See: issue 8 ("table and colour helpers twice").
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Whether to emit ANSI escape codes.
    pub color: bool,
}

impl Style {
    /// The style `choice` asks for on standard output: `auto` colours a terminal unless
    /// `NO_COLOR` is set.
    pub fn for_stdout(choice: ColorChoice) -> Style {
        use std::io::IsTerminal;
        Style {
            color: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            },
        }
    }

    /// `text` in the SGR style `code` (`1;31` bold red), or plain without colour.
    pub fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Lays `rows` out as left-aligned columns two spaces apart, one line each (no newline):
/// every cell but the last is padded to its column's width in characters, and the line is
/// trimmed at the end. `paint(row, column, padded)` may colour a padded cell; colour codes
/// do not count in widths. The one table layout of the binary (lint, whatif, lab); a table
/// crate (comfy-table) would bring a terminal library for what these few lines do, and
/// would change the layout scripts and tests read. See: issue 8 item 9.
pub fn columns(rows: &[Vec<String>], paint: &dyn Fn(usize, usize, String) -> String) -> Vec<String> {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .enumerate()
        .map(|(row_index, row)| {
            let last = row.len().saturating_sub(1);
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, cell)| {
                    let padded = if column == last {
                        cell.clone()
                    } else {
                        let fill = widths[column].saturating_sub(cell.chars().count());
                        format!("{cell}{}", " ".repeat(fill))
                    };
                    paint(row_index, column, padded)
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// `columns` without colour.
pub fn plain_columns(rows: &[Vec<String>]) -> Vec<String> {
    columns(rows, &|_, _, cell| cell)
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

/// The rustc-style rendering of one file's diagnostics, drawn by annotate-snippets (the
/// renderer rustc and cargo use): a heading with the code, `--> path:line:col`, the code
/// frame with the primary span underlined and every secondary label drawn at its own line,
/// then `= help:`, `= rejected by:`, the fix and `= see: quorate explain CODE`.
/// See: issue 8 item 9.
pub fn human(report: &FileReport, style: Style) -> String {
    use annotate_snippets::{AnnotationKind, Element, Group, Level, Renderer, Snippet};
    let renderer = if style.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let text_len = report.text.len();
    // A span must sit on char boundaries inside the text; an empty one marks one character.
    let clamp = |start: usize, end: usize| -> std::ops::Range<usize> {
        let floor = |mut at: usize| {
            at = at.min(text_len);
            while !report.text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let start = floor(start);
        let mut end = floor(end.max(start));
        if end == start {
            end = report.text[start..]
                .chars()
                .next()
                .filter(|c| *c != '\n')
                .map_or(start, |c| start + c.len_utf8());
        }
        start..end
    };
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let level = match diagnostic.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
            Severity::Info => Level::INFO,
        };
        let title = format!("{} ({})", diagnostic.message, diagnostic.name);
        let mut elements: Vec<Element<'_>> = Vec::new();
        if let Some(span) = diagnostic.span.filter(|_| !report.text.is_empty()) {
            let mut snippet = Snippet::source(report.text.as_str())
                .path(report.path.as_str())
                .fold(true)
                .annotation(AnnotationKind::Primary.span(clamp(span.start, span.end)));
            for label in &diagnostic.labels {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(clamp(label.span.start, label.span.end))
                        .label(label.message.as_str()),
                );
            }
            elements.push(snippet.into());
        } else {
            elements.push(annotate_snippets::Origin::path(report.path.as_str()).into());
            for label in &diagnostic.labels {
                elements.push(Level::NOTE.message(label.message.as_str()).into());
            }
        }
        if let Some(help) = &diagnostic.help {
            elements.push(Level::HELP.message(help.as_str()).into());
        }
        if let Some(by) = diagnostic.rejected_by {
            elements.push(Level::NOTE.with_name("rejected by").message(by.as_str()).into());
        }
        if let Some(fix) = &diagnostic.fix {
            let kind = if fix.safe {
                "safe fix"
            } else {
                "fix (changes cluster behaviour; use `quorate plan`)"
            };
            elements.push(Level::HELP.with_name(kind).message(fix.title.as_str()).into());
        }
        let see = format!("quorate explain {}", diagnostic.code);
        elements.push(Level::NOTE.with_name("see").message(see).into());
        let group =
            Group::with_title(level.primary_title(title).id(diagnostic.code.to_string())).elements(elements);
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
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
