//! `quorate runbook FILE.md`: a human-written runbook checked step by step before anyone
//! runs it.
//!
//! Owns reading the runbook, calling `planner::runbook::runbook`, rendering (rustc-style
//! code frames over the Markdown through `render::human`, JSON, SARIF through
//! `render::sarif`) and `--plan-out`. It must not decide findings itself.

use crate::render::{self, FileReport, RuleInfo, Style};
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use clap::{Args, ValueEnum};
use model::{Diagnostic, Severity, Span};
use planner::runbook::{runbook, Kind, RunbookOptions, RunbookReport, CODES};
use std::io::Write;

/// Output formats of `runbook`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunbookFormat {
    /// rustc-style findings over the Markdown source.
    Human,
    /// `{"file", "steps": [...], "plan"?}`.
    Json,
    /// SARIF 2.1.0, for code scanning of a runbook repository.
    Sarif,
}

/// Arguments of `quorate runbook`.
#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// The runbook (Markdown).
    #[arg(value_name = "FILE.md")]
    pub file: String,
    /// Read the runbook as a Proxmox VE one (default: detect `pvecm` and `/etc/pve`).
    #[arg(long, conflicts_with = "no_proxmox")]
    pub proxmox: bool,
    /// Read the runbook as not Proxmox VE.
    #[arg(long)]
    pub no_proxmox: bool,
    /// Extra faults under which a forced quorum change must not allow split-brain.
    #[arg(long, value_name = "F", default_value_t = 1)]
    pub fault_budget: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunbookFormat::Human)]
    pub format: RunbookFormat,
    /// Write the verified plan (`quorate plan` format) from the runbook's start state to its
    /// end state, when one exists.
    #[arg(long, value_name = "PLAN")]
    pub plan_out: Option<String>,
    /// Write every configuration the runbook shows, writes or generates into DIR (created
    /// if missing), as the `line-N.conf` files its findings' `whatif` scripts name.
    #[arg(long, value_name = "DIR")]
    pub configs_out: Option<String>,
    /// Colour.
    #[arg(long, value_enum, default_value_t = render::ColorChoice::Auto)]
    pub color: render::ColorChoice,
}

fn severity(kind: Kind) -> Severity {
    match kind {
        Kind::Unsafe | Kind::Refused => Severity::Error,
        Kind::Wrong | Kind::Insecure | Kind::Unrecognised => Severity::Warning,
    }
}

/// The findings as diagnostics over the runbook text (for the shared renderers).
fn diagnostics(report: &RunbookReport) -> Vec<Diagnostic> {
    report
        .findings()
        .map(|finding| {
            Diagnostic::new(
                finding.code,
                finding.name,
                severity(finding.kind),
                format!("{}: {}", finding.kind.as_str(), finding.message),
            )
            .with_span(Span::new(finding.span.0, finding.span.1.max(finding.span.0)))
            .with_help(finding.help.clone())
        })
        .collect()
}

fn rules() -> Vec<RuleInfo> {
    CODES
        .iter()
        .map(|(code, name, kind, summary)| RuleInfo {
            code: code.to_string(),
            name: name.to_string(),
            summary: format!("{kind}: {summary}"),
            documentation: format!("{summary}. See docs/runbook.md ({code})."),
            severity: if matches!(*kind, "unsafe" | "refused") {
                Severity::Error
            } else {
                Severity::Warning
            },
        })
        .collect()
}

/// Runs `quorate runbook`.
pub fn run(args: &RunbookArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(error) => {
            writeln!(err, "error: cannot read {}: {error}", args.file)?;
            return Ok(EXIT_ERROR);
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let line = error.as_bytes()[..offset]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count()
                + 1;
            writeln!(
                err,
                "error: {}:{line}: not UTF-8 text (invalid byte at offset {offset}): a runbook is a Markdown text file",
                args.file
            )?;
            return Ok(EXIT_ERROR);
        }
    };
    let options = RunbookOptions {
        proxmox: if args.proxmox {
            Some(true)
        } else if args.no_proxmox {
            Some(false)
        } else {
            None
        },
        fault_budget: args.fault_budget,
    };
    let report = match runbook(&args.file, &text, &options) {
        Ok(report) => report,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let plan = match &args.plan_out {
        Some(path) => Some(plan_out(&report, path, &options, err)?),
        None => None,
    };
    if let Some(dir) = &args.configs_out {
        configs_out(&report, dir, err)?;
    }
    let count = report.findings().count();
    match args.format {
        RunbookFormat::Human => {
            let file_report = FileReport {
                path: args.file.clone(),
                text: text.clone(),
                diagnostics: diagnostics(&report),
            };
            if count > 0 {
                out.write_all(render::human(&file_report, Style::for_stdout(args.color)).as_bytes())?;
            }
            let commands = report
                .steps
                .iter()
                .filter(|step| step.command != "<config block>")
                .count();
            writeln!(
                out,
                "{}: {count} finding(s) in {} step(s) ({commands} cluster command(s)); not cluster-related: {}",
                args.file,
                report.steps.iter().filter(|step| !step.findings.is_empty()).count(),
                if report.not_cluster_related.is_empty() {
                    "none".to_string()
                } else {
                    report.not_cluster_related.join(", ")
                }
            )?;
        }
        RunbookFormat::Json => {
            let mut value = serde_json::to_value(&report)?;
            if let (Some(plan), Some(object)) = (plan, value.as_object_mut()) {
                object.insert("plan".to_string(), plan);
            }
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        RunbookFormat::Sarif => {
            let file_report = FileReport {
                path: args.file.clone(),
                text: text.clone(),
                diagnostics: diagnostics(&report),
            };
            serde_json::to_writer_pretty(&mut *out, &render::sarif(&[file_report], &rules()))?;
            writeln!(out)?;
        }
    }
    Ok(if count == 0 { EXIT_OK } else { EXIT_FINDINGS })
}

/// `--configs-out DIR`: the runbook's configurations as the files its scripts name.
fn configs_out(report: &RunbookReport, dir: &str, err: &mut dyn Write) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    for (name, text) in &report.configs {
        let path = std::path::Path::new(dir).join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    writeln!(
        err,
        "note: wrote {} configuration(s) (line-N.conf) to {dir}",
        report.configs.len()
    )?;
    Ok(())
}

/// `--plan-out`: `planner::plan` from the runbook's start state to its end config; the plan
/// file is written when one exists. Returns what the JSON output's `plan` says.
fn plan_out(
    report: &RunbookReport,
    path: &str,
    options: &RunbookOptions,
    err: &mut dyn Write,
) -> anyhow::Result<serde_json::Value> {
    use serde_json::json;
    let Some(end) = &report.end_config else {
        writeln!(err, "note: the runbook shows no configuration, so there is no end state to plan for; {path} not written")?;
        return Ok(json!({"written": false, "why": "the runbook shows no configuration"}));
    };
    let to = planner::Endpoint {
        name: format!("{}:end", report.file),
        text: end.clone(),
    };
    let from = report.start_config.as_ref().map(|text| planner::Endpoint {
        name: format!("{}:start", report.file),
        text: text.clone(),
    });
    let plan_options = planner::PlanOptions {
        fault_budget: options.fault_budget,
        proxmox: options.proxmox.or(Some(report.proxmox)),
        ..planner::PlanOptions::default()
    };
    match planner::plan(from.as_ref(), &to, &plan_options) {
        Ok(planner::PlanOutcome::Found(plan)) => {
            let text = serde_json::to_string_pretty(&plan)?;
            std::fs::write(path, format!("{text}\n")).with_context(|| format!("cannot write {path}"))?;
            writeln!(
                err,
                "note: wrote the verified plan ({} steps) to {path}",
                plan.steps.len()
            )?;
            Ok(json!({"written": true, "path": path, "steps": plan.steps.len()}))
        }
        Ok(planner::PlanOutcome::NoSafePlan(none)) => {
            writeln!(
                err,
                "note: no safe plan reaches the runbook's end state; {path} not written"
            )?;
            Ok(json!({"written": false, "why": "no safe plan", "impossible": none.impossible}))
        }
        Err(error) => {
            writeln!(
                err,
                "note: no plan for the runbook's end state: {error}; {path} not written"
            )?;
            Ok(json!({"written": false, "why": error.to_string()}))
        }
    }
}
