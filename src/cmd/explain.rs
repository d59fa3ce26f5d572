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
        "## What it does\n\n{}\n\n## corosync's message\n\n    {}\n\nRefused by: {} (spec row {}).\n\n\
         ## Why is this bad?\n\nReal corosync 3.1 refuses this configuration: {}.\n\n\
         ## Use instead\n\nFix the value or section the diagnostic points at; `help` quotes corosync.\n",
        check.summary,
        check.corosync_message,
        check.rejected_by.as_str(),
        check.spec_row,
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

/// Every code quorate may report, with its documentation (for SARIF and `explain`).
pub fn all_rule_infos() -> Vec<RuleInfo> {
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
