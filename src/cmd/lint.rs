//! `quorate lint FILE...`: what corosync would refuse and what it accepts but will hurt.
//!
//! Owns reading the files, filling host facts (`--local-node`, `--authkey`), calling
//! `model::lint::lint` and rendering. It must not decide findings itself, except the few
//! about the input file (unreadable, binary, too large, not UTF-8), which only IO can see.

use crate::input::{read_source, InputError, SourceFile};
use crate::render::{self, FileReport, Style};
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use model::{Diagnostic, Severity, Span};
use std::io::Write;

/// Output formats of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// rustc-style: file:line:col, the source line, a caret and help.
    Human,
    /// One line per finding: `path:line:col: severity[CODE] name: message`.
    Concise,
    /// The stable JSON document (see the README).
    Json,
    /// SARIF 2.1.0, for CI code scanning.
    Sarif,
}

pub use crate::render::ColorChoice;

/// Arguments of `quorate lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// corosync.conf files to check; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Check as corosync would on this node (name or ring address): is it in the nodelist?
    #[arg(long, value_name = "NAME|ADDR")]
    pub local_node: Option<String>,
    /// Check the authkey corosync would read (exists, readable, at least 128 bytes).
    /// Its bytes are never printed.
    #[arg(long, value_name = "PATH")]
    pub authkey: Option<String>,
    /// Treat the file as Proxmox-managed (default: detect).
    #[arg(long, conflicts_with = "no_proxmox")]
    pub proxmox: bool,
    /// Treat the file as not Proxmox-managed.
    #[arg(long)]
    pub no_proxmox: bool,
    /// Colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Model-check each split-brain finding (`quorate check`): attach a counterexample or
    /// a "proved within budget" note to its help; a proved split-brain makes the finding at
    /// least a warning (exit 1).
    #[arg(long)]
    pub prove: bool,
    /// With --prove: replay each counterexample on a throwaway lab of real corosync built
    /// from the file (root), and say whether reality shows the split-brain.
    #[arg(long, requires = "prove")]
    pub confirm: bool,
}

/// Codes of the findings about the input file itself (documented by `quorate explain`).
pub const INPUT_CODES: &[(&str, &str, &str)] = &[
    ("I001", "unreadable-file", "The file could not be read (missing, permissions, a directory)."),
    ("I002", "binary-file", "The file contains NUL bytes: it is not a corosync.conf."),
    ("I003", "file-too-large", "The file is larger than 16 MiB: no corosync.conf is that large."),
    ("I004", "not-utf8", "The file is not valid UTF-8. corosync reads bytes, so this may work, but values with such bytes are unusual and tools that parse corosync.conf (pcs, pvecm) may fail on them."),
    ("I005", "empty-file", "The file is empty. corosync refuses to start without a nodelist."),
];

/// After `--prove` found a split-brain: every split-brain finding is at least a warning, so
/// that the exit status (1) agrees with the proof. See: issue 10 item 2.
fn raise_proved_findings(diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics
        .iter_mut()
        .filter(|diagnostic| crate::cmd::check::SPLIT_BRAIN_RULES.contains(&diagnostic.name))
    {
        // Severity orders Error < Warning < Info: "milder than a warning" is greater.
        if diagnostic.severity > Severity::Warning {
            diagnostic.severity = Severity::Warning;
        }
    }
}

fn input_diagnostic(code: &'static str, severity: Severity, message: String) -> Diagnostic {
    let name = INPUT_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, _)| *name)
        .unwrap_or("input");
    Diagnostic::new(code, name, severity, message)
}

/// Lints one file already read.
pub fn lint_source(source: &SourceFile, options: &model::lint::LintOptions) -> Vec<Diagnostic> {
    let mut diagnostics = model::lint::lint_text(&source.text, options);
    if let Some(offset) = source.not_utf8_at {
        diagnostics.insert(
            0,
            input_diagnostic(
                "I004",
                Severity::Warning,
                format!("invalid UTF-8 at byte {offset}; the text was decoded with replacement characters"),
            )
            .with_span(Span::new(offset, offset)),
        );
    }
    if source.text.trim().is_empty() {
        diagnostics.insert(
            0,
            input_diagnostic("I005", Severity::Info, "the file is empty".into()),
        );
    }
    diagnostics
}

/// What corosync would find at `path` when reading the authkey: its length, or the OS
/// error of opening or reading it. The bytes themselves are read and dropped, never kept.
fn authkey_facts(path: &str) -> model::validate::AuthkeyFacts {
    let read = std::fs::File::open(path).and_then(|file| {
        let metadata = file.metadata()?;
        if metadata.is_dir() {
            return Err(std::io::Error::from_raw_os_error(21));
        }
        // Count what can really be read (corosync reads at most 4096 bytes).
        let mut counted = 0u64;
        let mut buffer = [0u8; 4096];
        let mut file = file;
        loop {
            let read = std::io::Read::read(&mut file, &mut buffer)?;
            if read == 0 || counted > 65536 {
                break;
            }
            counted += read as u64;
        }
        buffer.fill(0);
        Ok(counted)
    });
    match read {
        Ok(len) => model::validate::AuthkeyFacts {
            path: path.to_string(),
            len: Some(len),
            os_error: None,
        },
        Err(error) => model::validate::AuthkeyFacts {
            path: path.to_string(),
            len: None,
            os_error: Some(strip_os_error_suffix(&error.to_string())),
        },
    }
}

/// `No such file or directory (os error 2)` -> `No such file or directory`, as strerror says.
fn strip_os_error_suffix(text: &str) -> String {
    match text.rfind(" (os error") {
        Some(position) => text[..position].to_string(),
        None => text.to_string(),
    }
}

/// Runs `quorate lint`.
pub fn run(args: &LintArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let stdin_readers = args.files.iter().filter(|path| *path == "-").count();
    if stdin_readers > 1 {
        // See: issue 10 item 6. The second read would see an empty file.
        writeln!(
            err,
            "error: `-` (standard input) is given {stdin_readers} times: it can be read only once"
        )?;
        return Ok(EXIT_ERROR);
    }
    let mut options = model::lint::LintOptions::default();
    options.host.local_node = args.local_node.clone();
    if let Some(path) = &args.authkey {
        options.host.authkey = Some(authkey_facts(path));
    }
    options.proxmox = if args.proxmox {
        Some(true)
    } else if args.no_proxmox {
        Some(false)
    } else {
        None
    };

    if args.confirm && !crate::cmd::confirm::is_root() {
        writeln!(err, "error: {}", crate::cmd::confirm::NEEDS_ROOT)?;
        return Ok(EXIT_ERROR);
    }
    let mut reports = Vec::new();
    let mut tool_failed = false;
    for path in &args.files {
        match read_source(path) {
            Ok(source) => {
                let mut diagnostics = lint_source(&source, &options);
                if args.prove && crate::cmd::check::prove(&source.text, &mut diagnostics, args.confirm, err) {
                    raise_proved_findings(&mut diagnostics);
                }
                reports.push(FileReport {
                    path: source.name,
                    text: source.text,
                    diagnostics,
                });
            }
            Err(error) => {
                tool_failed = true;
                let code = match error {
                    InputError::Unreadable { .. } => "I001",
                    InputError::Binary { .. } => "I002",
                    InputError::TooLarge { .. } => "I003",
                };
                let name = if path == "-" {
                    "<stdin>".to_string()
                } else {
                    path.clone()
                };
                reports.push(FileReport {
                    path: name,
                    text: String::new(),
                    diagnostics: vec![input_diagnostic(code, Severity::Error, error.to_string())],
                });
            }
        }
    }

    let style = Style::for_stdout(args.color);
    match args.format {
        LintFormat::Human => {
            let mut counts = [0usize; 3];
            for report in &reports {
                out.write_all(render::human(report, style).as_bytes())?;
                for diagnostic in &report.diagnostics {
                    counts[diagnostic.severity as usize] += 1;
                }
            }
            let summary = format!(
                "{} file(s) checked: {} error(s), {} warning(s), {} note(s)",
                reports.len(),
                counts[0],
                counts[1],
                counts[2]
            );
            writeln!(err, "{summary}")?;
        }
        LintFormat::Concise => {
            for report in &reports {
                out.write_all(render::concise(report).as_bytes())?;
            }
        }
        LintFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &render::json_report(&reports))?;
            writeln!(out)?;
        }
        LintFormat::Sarif => {
            let rules = crate::cmd::explain::all_rule_infos();
            serde_json::to_writer_pretty(&mut *out, &render::sarif(&reports, &rules))?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    if tool_failed {
        return Ok(EXIT_ERROR);
    }
    let findings = reports
        .iter()
        .flat_map(|r| &r.diagnostics)
        .any(|d| matches!(d.severity, Severity::Error | Severity::Warning));
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A split-brain finding registered as a note becomes a warning once `--prove` found the
    /// split-brain; other findings keep their severity. See: issue 10 item 2.
    #[test]
    fn issue10_proved_split_brain_findings_are_at_least_warnings() {
        let mut diagnostics = vec![
            Diagnostic::new(
                "Q002",
                "two-node-relies-on-fencing",
                Severity::Info,
                "x".to_string(),
            ),
            Diagnostic::new("L002", "single-link", Severity::Info, "y".to_string()),
            Diagnostic::new("Q009", "no-quorum-provider", Severity::Error, "z".to_string()),
        ];
        raise_proved_findings(&mut diagnostics);
        let severities: Vec<Severity> = diagnostics.iter().map(|diagnostic| diagnostic.severity).collect();
        assert_eq!(severities, [Severity::Warning, Severity::Info, Severity::Error]);
    }
}
