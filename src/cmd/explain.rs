//! `quorate explain CODE|NAME`: the documentation of a rule or check.
//!
//! Owns the lookup over every code quorate can report: the risk rules (`model::lint`), the
//! corosync parity checks (`model::validate::CHECKS`), the parser's syntax errors and the
//! input-file findings of `cmd::lint`. It must not hold documentation itself beyond the
//! input codes, which only the binary reports.

use crate::render::RuleInfo;
use crate::{EXIT_ERROR, EXIT_OK};
use clap::{Args, ValueEnum};
use model::Severity;
use std::io::Write;

/// Output formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Markdown text.
    Human,
    /// `{"code","name","severity","summary","documentation",...}`.
    Json,
}

/// Arguments of `quorate explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A code (`Q001`, `E104`) or a name (`two-node-without-wait-for-all`); omit to list all.
    #[arg(value_name = "CODE|NAME")]
    pub rule: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    pub format: ExplainFormat,
}

fn check_info(check: &model::validate::Check) -> RuleInfo {
    let documentation = format!(
        "## What it does\n\n{}\n\n## corosync's message\n\n    {}\n\nRefused by: {}.\n\n\
         ## Why is this bad?\n\nReal corosync 3.1 refuses this configuration: {}.\n\n\
         ## Use instead\n\nFix the value or section the diagnostic points at; `help` quotes corosync.\n",
        check.summary,
        check.corosync_message,
        check.rejected_by.as_str(),
        match check.rejected_by {
            model::RejectedBy::CorosyncT => "`corosync -t` exits non-zero, and the daemon does not start",
            model::RejectedBy::CorosyncStartup => {
                "`corosync -t` accepts it, but the daemon exits at startup (status 20) or fails to set up knet"
            }
        }
    );
    RuleInfo {
        code: check.code.to_string(),
        name: check.name.to_string(),
        summary: check.summary.to_string(),
        documentation,
        severity: Severity::Error,
    }
}

/// Whether `word` (punctuation trimmed) is part of a reference into the project's own
/// specification: `spec`, `TV25b` (a test vector), `S6`, `T1`/`R11` (spec rows), `2.11`.
fn is_reference_word(word: &str) -> bool {
    let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | '.'));
    if word.is_empty() || matches!(word, "spec" | "row" | "rows" | "section" | "sections" | "and") {
        return true;
    }
    let (letters, rest): (String, String) = {
        let split = word.find(|c: char| c.is_ascii_digit()).unwrap_or(word.len());
        (word[..split].to_string(), word[split..].to_string())
    };
    let digits = rest.trim_end_matches(|c: char| c.is_ascii_lowercase());
    let numeric = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
    numeric && matches!(letters.as_str(), "" | "TV" | "S" | "T" | "R" | "V" | "L" | "P")
}

/// `text` without references into the project's specification (`(spec TV12)`, `; spec
/// section 2.1`): they mean nothing to a user of `explain` or a SARIF viewer. See: issue 10
/// item 12.
pub fn without_spec_references(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n') {
        // A wrapped `...;\nspec sections 1.1 and 2.10.` line: drop it, end the sentence above.
        let only_references = line.starts_with("spec ") && line.split(' ').all(is_reference_word);
        if only_references {
            if let Some(previous) = lines.last_mut() {
                if previous.ends_with(';') {
                    previous.pop();
                    previous.push('.');
                }
            }
            continue;
        }
        lines.push(strip_line(line));
    }
    strip_parenthesized(&lines.join("\n"))
}

fn strip_line(line: &str) -> String {
    let mut result = line.to_string();
    // `; spec section 2.3 and 2.11 (S6).` -> `.`
    while let Some(at) = result.find("; spec ") {
        let rest = &result[at + 2..];
        let mut end = rest.len();
        let mut consumed = 0;
        for word in rest.split(' ') {
            if !is_reference_word(word) {
                end = consumed;
                break;
            }
            consumed += word.len() + 1;
        }
        let end = end.min(rest.len());
        let removed = rest[..end].trim_end();
        let keep_period = removed.ends_with('.');
        let tail = rest[end..].to_string();
        result = format!(
            "{}{}{}",
            &result[..at],
            if keep_period { "." } else { "" },
            if tail.is_empty() {
                String::new()
            } else {
                format!(" {tail}")
            }
        );
    }
    result
}

/// Removes parenthesized references (` (spec TV15, TV16)`, ` (TV25b)`) and the reference
/// parts of mixed groups (`(spec 2.9, S11; from the code)` -> `(from the code)`), also
/// across line breaks.
fn strip_parenthesized(text: &str) -> String {
    let is_reference = |part: &str| {
        let words: Vec<&str> = part
            .split([' ', ',', '\n'])
            .filter(|word| !word.is_empty())
            .collect();
        !words.is_empty()
            && words.iter().all(|word| is_reference_word(word))
            && words.iter().any(|word| *word == "spec" || word.starts_with("TV"))
    };
    let mut cleaned = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|close| open + close) else {
            break;
        };
        let inner = &rest[open + 1..close];
        let kept: Vec<&str> = inner
            .split(';')
            .map(str::trim)
            .filter(|part| !is_reference(part))
            .collect();
        if kept.is_empty() {
            cleaned.push_str(rest[..open].trim_end());
        } else if kept.len() < inner.split(';').count() {
            cleaned.push_str(&rest[..open]);
            cleaned.push('(');
            cleaned.push_str(&kept.join("; "));
            cleaned.push(')');
        } else {
            cleaned.push_str(&rest[..=close]);
        }
        rest = &rest[close + 1..];
    }
    cleaned.push_str(rest);
    cleaned
}

/// Every code quorate may report, with its documentation (for SARIF and `explain`).
pub fn all_rule_infos() -> Vec<RuleInfo> {
    let mut infos = raw_rule_infos();
    for info in &mut infos {
        info.documentation = without_spec_references(&info.documentation);
        info.summary = without_spec_references(&info.summary);
    }
    infos
}

fn raw_rule_infos() -> Vec<RuleInfo> {
    let mut infos = Vec::new();
    infos.push(RuleInfo {
        code: model::syntax::PARSE_ERROR_CODE.to_string(),
        name: model::syntax::PARSE_ERROR_NAME.to_string(),
        summary: "corosync's parser refuses a line".to_string(),
        documentation: "## What it does\n\nReports what corosync 3.1's line parser refuses: a line longer than \
            510 bytes, `{` not ending its line, a `}` with other text, a line that is neither a section, a \
            `key: value` nor a `}`, a stray `}`, a missing `}` at end of file, a cmap path over 255 bytes.\n\n\
            ## Why is this bad?\n\n`corosync -t` exits 8 with `parser error: <file>:<line>: <message>` and the \
            daemon does not start.\n\n## Use instead\n\nOne item per line; `name {` opens, `}` alone closes, \
            `key: value` sets.\n"
            .to_string(),
        severity: Severity::Error,
    });
    infos.extend(model::validate::CHECKS.iter().map(check_info));
    for rule in model::lint::all_rules() {
        infos.push(RuleInfo {
            code: rule.code.to_string(),
            name: rule.name.to_string(),
            summary: rule.summary(),
            documentation: rule.documentation(),
            severity: rule.severity,
        });
    }
    for (code, name, kind, summary) in planner::runbook::CODES {
        infos.push(RuleInfo {
            code: code.to_string(),
            name: name.to_string(),
            summary: format!("runbook ({kind}): {summary}"),
            documentation: format!(
                "## What it does\n\n`quorate runbook` reports, as a finding of kind `{kind}`: {summary}.\n\n\
                 The message says what the runbook's command does instead and the help what to write; \
                 docs/runbook.md lists every code.\n"
            ),
            severity: if matches!(*kind, "unsafe" | "refused") {
                Severity::Error
            } else {
                Severity::Warning
            },
        });
    }
    for (code, name, summary) in crate::cmd::lint::INPUT_CODES {
        infos.push(RuleInfo {
            code: code.to_string(),
            name: name.to_string(),
            summary: summary.to_string(),
            documentation: format!("## What it does\n\n{summary}\n"),
            severity: if *code == "I004" {
                Severity::Warning
            } else if *code == "I005" {
                Severity::Info
            } else {
                Severity::Error
            },
        });
    }
    infos
}

/// Runs `quorate explain`.
pub fn run(args: &ExplainArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let infos = all_rule_infos();
    let Some(wanted) = &args.rule else {
        match args.format {
            ExplainFormat::Human => {
                for info in &infos {
                    writeln!(out, "{:<5} {:<44} {}", info.code, info.name, info.summary)?;
                }
            }
            ExplainFormat::Json => {
                let list: Vec<_> = infos.iter().map(info_json).collect();
                serde_json::to_writer_pretty(&mut *out, &list)?;
                writeln!(out)?;
            }
        }
        return Ok(EXIT_OK);
    };
    let found = infos
        .iter()
        .find(|info| info.code.eq_ignore_ascii_case(wanted) || info.name == *wanted);
    let Some(info) = found else {
        writeln!(
            err,
            "error: no rule or check is called `{wanted}`; `quorate explain` lists them all"
        )?;
        return Ok(EXIT_ERROR);
    };
    match args.format {
        ExplainFormat::Human => {
            writeln!(out, "# {} {}\n", info.code, info.name)?;
            write!(out, "{}", info.documentation)?;
        }
        ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &info_json(info))?;
            writeln!(out)?;
        }
    }
    Ok(EXIT_OK)
}

fn info_json(info: &RuleInfo) -> serde_json::Value {
    serde_json::json!({
        "code": info.code,
        "name": info.name,
        "severity": info.severity,
        "summary": info.summary,
        "documentation": info.documentation,
    })
}
