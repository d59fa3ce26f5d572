//! `quorate report FILE`: a self-contained HTML design review (or its data as JSON).
//!
//! Owns the arguments, reading script files, writing the output and the exit code. The
//! sections come from `crate::report`, which runs the existing commands; nothing is decided
//! here.

use crate::report::{gather, html};
use crate::{EXIT_ERROR, EXIT_OK};
use clap::{Args, ValueEnum};
use std::io::Write;

/// Output format of `quorate report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// The same content as JSON.
    Json,
}

/// Arguments of `quorate report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The corosync.conf to review.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// A whatif script to show step by step (repeatable).
    #[arg(short = 's', long = "script", value_name = "SCRIPT")]
    pub scripts: Vec<String>,
    /// A file holding a whatif script (repeatable).
    #[arg(long = "script-file", value_name = "F")]
    pub script_files: Vec<String>,
    /// A plan file (`quorate plan ... -o PLAN`) to show step by step.
    #[arg(long = "plan", value_name = "PLAN")]
    pub plan: Option<String>,
    /// Where to write the report (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
}

/// Runs `quorate report`: 0 when the report was written, 2 when it could not be.
pub fn run(args: &ReportArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let mut scripts = args.scripts.clone();
    for path in &args.script_files {
        match std::fs::read_to_string(path) {
            Ok(text) => scripts.push(text),
            Err(error) => {
                writeln!(err, "error: {path}: cannot read the script file: {error}")?;
                return Ok(EXIT_ERROR);
            }
        }
    }
    let report = match gather(&args.file, &scripts, args.plan.as_deref()) {
        Ok(report) => report,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    // The page says it too; a terminal user should not have to open it to learn that
    // the plan is not the one for FILE or was edited.
    if let Some(plan) = &report.plan {
        if !plan.sealed {
            writeln!(
                err,
                "warning: {}: the plan's content does not match its plan_sha256 (edited by hand?): plan verify and apply refuse it",
                plan.path
            )?;
        }
        if plan.starts_from_file == Some(false) {
            writeln!(
                err,
                "warning: {}: the plan does not start from {} (its from_sha256 is another file's sha256): plan again from this file",
                plan.path, args.file
            )?;
        }
    }
    let text = match args.format {
        ReportFormat::Html => html::page(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    match &args.output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, text) {
                writeln!(err, "error: {path}: cannot write the report: {error}")?;
                return Ok(EXIT_ERROR);
            }
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(EXIT_OK)
}
