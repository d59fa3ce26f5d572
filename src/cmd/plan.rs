//! `quorate plan --from FILE|none (--to FILE | --goal GOAL...)` and `quorate plan verify PLAN`.
//!
//! Owns the arguments, reading the files, applying the goals to the source text
//! (`model::goal`), refusing a target corosync would not accept (its lint errors, drawn by
//! the rustc-style renderer), writing the plan file (`-o`, atomically) and the three output
//! formats (human, the JSON contract, the `whatif` script). It must not plan or verify:
//! `planner::plan` and `planner::verify` do, and every exit code follows their verdict.

use crate::cmd::plan_render::{self, Heading, NoSafePlanView, PlanView};
use crate::input::read_source;
use crate::render::{self, ColorChoice, FileReport, Style};
use crate::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, Subcommand, ValueEnum};
use model::{Diagnostic, Severity};
use std::io::Write;
use std::path::Path;

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A numbered list a person can follow by hand.
    Human,
    /// The plan file's JSON (the contract `quorate apply` reads).
    Json,
    /// The plan as a `whatif` script, to replay with `quorate whatif FROM -s "$(...)"`.
    Script,
}

/// Arguments of `quorate plan`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    /// `plan verify PLAN`.
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// The running cluster's corosync.conf, or `none` to form a new cluster.
    #[arg(long, value_name = "FILE|none", required = true)]
    pub from: Option<String>,
    /// The corosync.conf to reach.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "goals",
        conflicts_with = "goals"
    )]
    pub to: Option<String>,
    /// A change to make to --from instead of --to (repeatable; see GOALS below).
    #[arg(long = "goal", value_name = "GOAL")]
    pub goals: Vec<String>,
    /// Extra faults (crashes, partitions, link failures) every intermediate state must
    /// survive without split-brain.
    #[arg(long, value_name = "F", default_value_t = 1)]
    pub fault_budget: u32,
    /// Accept a plan with states where no node is quorate (e.g. a transport change).
    #[arg(long)]
    pub allow_outage: bool,
    /// Plan for Proxmox VE (/etc/pve, pvecm); default: detected from the files.
    #[arg(long, conflicts_with = "no_proxmox")]
    pub proxmox: bool,
    /// Plan for plain corosync.
    #[arg(long)]
    pub no_proxmox: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Also write the plan file (JSON) here, for `quorate plan verify` and `quorate apply`.
    #[arg(short = 'o', long = "output", value_name = "PLAN")]
    pub output: Option<String>,
    /// Colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Subcommands of `quorate plan`.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Re-verify a plan file (e.g. after hand edits) under a fault budget.
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
}

/// Examples and exit codes of `quorate plan verify`.
const VERIFY_HELP: &str = "\
Examples:
  quorate plan verify plan.json
  quorate plan verify plan.json --fault-budget 2

Exit status: 0 when every step keeps the plan's guarantees and the plan ends in its target;
1 when a step is unsafe or the plan does not reach its target (the reason is printed); 2 when
the file cannot be read or is not a plan.";

/// Arguments of `quorate plan verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The plan file (`quorate plan ... -o PLAN`).
    #[arg(value_name = "PLAN")]
    pub plan: String,
    /// Extra faults to verify against; default: the plan's own `fault_budget`.
    #[arg(long, value_name = "F")]
    pub fault_budget: Option<u32>,
    /// The running cluster's corosync.conf the plan starts from (checked against the
    /// plan's `from_sha256`); not needed for a plan that forms a new cluster.
    #[arg(long, value_name = "FILE")]
    pub from: Option<String>,
}

/// The name of the target the goals make (in messages, lint frames and the plan's `why`).
pub const GOALS_TARGET: &str = "<goals>";

/// Runs `quorate plan`.
pub fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    if let Some(PlanCommand::Verify(verify)) = &args.command {
        return run_verify(verify, out, err);
    }
    let style = Style::for_stdout(args.color);
    let Some(from_arg) = args.from.as_deref() else {
        writeln!(
            err,
            "error: give the running cluster's file with --from FILE (or --from none)"
        )?;
        return Ok(EXIT_ERROR);
    };
    if from_arg == "-" && args.to.as_deref() == Some("-") {
        writeln!(
            err,
            "error: --from and --to are both `-`: standard input can be read only once; give one as a file path"
        )?;
        return Ok(EXIT_ERROR);
    }
    let from = if from_arg == "none" {
        None
    } else {
        match read_source(from_arg) {
            Ok(source) => Some(planner::Endpoint {
                name: source.name,
                text: source.text,
            }),
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(EXIT_ERROR);
            }
        }
    };
    if let Some(from) = &from {
        // A source with a syntax error is no running cluster's file: say where, as lint does.
        let (_, diagnostics) = model::syntax::parse(&from.text);
        if !diagnostics.is_empty() {
            write_source_errors(from, diagnostics, style, err)?;
            return Ok(EXIT_ERROR);
        }
    }
    let mut notes = Vec::new();
    let mut rolling_restart = false;
    let to = match (&args.to, &from) {
        (Some(path), _) => match read_source(path) {
            Ok(source) => planner::Endpoint {
                name: source.name,
                text: source.text,
            },
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(EXIT_ERROR);
            }
        },
        (None, None) => {
            writeln!(
                err,
                "error: --goal edits the running cluster's file, and --from none has none; \
                 give the new cluster's file with --to FILE"
            )?;
            return Ok(EXIT_ERROR);
        }
        (None, Some(from)) => match apply_goals(from, &args.goals) {
            Ok(applied) => {
                notes = applied.notes;
                rolling_restart = applied.rolling_restart;
                planner::Endpoint {
                    name: GOALS_TARGET.to_string(),
                    text: applied.document.to_text(),
                }
            }
            Err(error) => {
                writeln!(err, "error: {error}")?;
                writeln!(err, "  = help: {}", error.help())?;
                return Ok(EXIT_ERROR);
            }
        },
    };
    let proxmox = proxmox_choice(args, from.as_ref(), &to);
    if let Some(code) = refuse_target(&to, proxmox, style, err)? {
        return Ok(code);
    }
    let options = planner::PlanOptions {
        fault_budget: args.fault_budget,
        allow_outage: args.allow_outage,
        proxmox: if args.proxmox {
            Some(true)
        } else if args.no_proxmox {
            Some(false)
        } else {
            None
        },
        rolling_restart,
    };
    let heading = Heading {
        from: from
            .as_ref()
            .map_or_else(|| "none (a new cluster)".to_string(), |from| from.name.clone()),
        to: to.name.clone(),
        goals: args.goals.clone(),
        notes,
    };
    if args.format != PlanFormat::Human {
        for note in &heading.notes {
            writeln!(err, "note: {note}")?;
        }
    }
    let outcome = match planner::plan(from.as_ref(), &to, &options) {
        Ok(outcome) => outcome,
        Err(error) => {
            // The human output shows the goals' notes with the plan; without a plan they
            // still explain the target the planner refused.
            if args.format == PlanFormat::Human {
                for note in &heading.notes {
                    writeln!(err, "note: {note}")?;
                }
            }
            return planner_error(&error, from.as_ref(), &to, style, err);
        }
    };
    match outcome {
        planner::PlanOutcome::Found(plan) => {
            let json = serde_json::to_value(&plan)?;
            if let Some(path) = &args.output {
                let mut text = serde_json::to_string_pretty(&json)?;
                text.push('\n');
                if let Err(error) = write_atomically(Path::new(path), text.as_bytes()) {
                    writeln!(err, "error: cannot write the plan to {path}: {error}")?;
                    return Ok(EXIT_ERROR);
                }
                writeln!(err, "wrote the plan to {path}")?;
            }
            match args.format {
                PlanFormat::Json => {
                    serde_json::to_writer_pretty(&mut *out, &json)?;
                    writeln!(out)?;
                }
                PlanFormat::Script => {
                    if let Some(path) = &args.output {
                        // The script's `install FILE` lines name these files: beside the
                        // plan, a script saved there replays with `whatif --script-file`.
                        let directory = Path::new(path).parent().unwrap_or(Path::new(""));
                        for (name, text) in plan.script_files() {
                            let file = directory.join(&name);
                            if let Err(error) = write_atomically(&file, text.as_bytes()) {
                                writeln!(err, "error: cannot write {}: {error}", file.display())?;
                                return Ok(EXIT_ERROR);
                            }
                            writeln!(err, "wrote {} (the script installs it)", file.display())?;
                        }
                    }
                    out.write_all(planner::to_script(&plan).as_bytes())?
                }
                PlanFormat::Human => {
                    let view: PlanView = serde_json::from_value(json)?;
                    out.write_all(plan_render::human(&view, &heading, style).as_bytes())?;
                }
            }
            Ok(EXIT_OK)
        }
        planner::PlanOutcome::NoSafePlan(report) => {
            match args.format {
                PlanFormat::Json => {
                    let mut value = serde_json::to_value(&report)?;
                    if let Some(object) = value.as_object_mut() {
                        object.insert("verdict".into(), "no-safe-plan".into());
                        object.insert("fault_budget".into(), args.fault_budget.into());
                    }
                    serde_json::to_writer_pretty(&mut *out, &value)?;
                    writeln!(out)?;
                }
                PlanFormat::Script | PlanFormat::Human => {
                    let view: NoSafePlanView = serde_json::from_value(serde_json::to_value(&report)?)?;
                    let text = plan_render::no_safe_plan(&view, &heading, args.fault_budget, style);
                    if args.format == PlanFormat::Script {
                        err.write_all(text.as_bytes())?;
                    } else {
                        out.write_all(text.as_bytes())?;
                    }
                }
            }
            Ok(EXIT_FINDINGS)
        }
    }
}

/// Parses every `--goal` and applies them, in order, to the source text.
fn apply_goals(
    from: &planner::Endpoint,
    goals: &[String],
) -> Result<model::goal::Applied, model::goal::GoalError> {
    let parsed: Vec<model::goal::Goal> = goals
        .iter()
        .map(|goal| model::goal::parse(goal))
        .collect::<Result<_, _>>()?;
    let (document, _) = model::syntax::parse(&from.text);
    model::goal::apply(&document, &parsed)
}

/// `--proxmox`, `--no-proxmox`, else detected: a path under /etc/pve or a file written by
/// Proxmox (as `whatif` detects it), either endpoint.
fn proxmox_choice(args: &PlanArgs, from: Option<&planner::Endpoint>, to: &planner::Endpoint) -> bool {
    if args.proxmox {
        return true;
    }
    if args.no_proxmox {
        return false;
    }
    from.into_iter().chain([to]).any(|endpoint| {
        model::lint::LintOptions::for_path(&endpoint.name)
            .proxmox
            .unwrap_or_else(|| model::lint::is_proxmox(&model::syntax::parse(&endpoint.text).0))
    })
}

/// A target corosync would refuse (corosync -t or daemon startup): its errors, drawn
/// rustc-style with file:line:col, and exit 2. `None` when the target is accepted.
fn refuse_target(
    to: &planner::Endpoint,
    proxmox: bool,
    style: Style,
    err: &mut dyn Write,
) -> anyhow::Result<Option<u8>> {
    let options = model::lint::LintOptions {
        proxmox: Some(proxmox),
        ..model::lint::LintOptions::default()
    };
    let refusals: Vec<Diagnostic> = model::lint::lint_text(&to.text, &options)
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error && diagnostic.rejected_by.is_some())
        .collect();
    if refusals.is_empty() {
        return Ok(None);
    }
    write_refusals(to, refusals, style, err)?;
    Ok(Some(EXIT_ERROR))
}

fn write_refusals(
    to: &planner::Endpoint,
    diagnostics: Vec<Diagnostic>,
    style: Style,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let count = diagnostics.len();
    let report = FileReport {
        path: to.name.clone(),
        text: to.text.clone(),
        diagnostics,
    };
    err.write_all(render::human(&report, style).as_bytes())?;
    writeln!(
        err,
        "error: {}: corosync would refuse the target ({count} error(s) above), so no plan can reach it; \
         fix the target (or the goals) first: `quorate lint` shows every finding",
        to.name
    )?;
    Ok(())
}

fn write_source_errors(
    from: &planner::Endpoint,
    diagnostics: Vec<Diagnostic>,
    style: Style,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let report = FileReport {
        path: from.name.clone(),
        text: from.text.clone(),
        diagnostics,
    };
    err.write_all(render::human(&report, style).as_bytes())?;
    writeln!(
        err,
        "error: {}: the source does not parse, so it is not the file a running cluster has; \
         give the file the nodes run (`quorate lint` shows every finding)",
        from.name
    )?;
    Ok(())
}

/// A planner error: a tool error (exit 2), the files' refusals drawn as lint draws them.
fn planner_error(
    error: &planner::Error,
    from: Option<&planner::Endpoint>,
    to: &planner::Endpoint,
    style: Style,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    match error {
        planner::Error::SourceRefused { diagnostics, .. } if from.is_some() => {
            if let Some(from) = from {
                write_source_errors(from, diagnostics.clone(), style, err)?;
            }
        }
        planner::Error::TargetRefused {
            diagnostics, node, ..
        } => {
            write_refusals(to, diagnostics.clone(), style, err)?;
            if let Some(node) = node {
                writeln!(
                    err,
                    "  = note: refused for node {node} (the file as that node reads it)"
                )?;
            }
        }
        other => writeln!(err, "error: {other}")?,
    }
    Ok(EXIT_ERROR)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, fsynced, then
/// renamed over `path`: a reader sees the old plan or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let temporary = directory.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        std::fs::File::open(&directory)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Runs `quorate plan verify PLAN`.
fn run_verify(args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let source = match crate::input::read_input(&args.plan, "plan") {
        Ok(source) => source,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let plan: planner::Plan = match serde_json::from_str(&source.text) {
        Ok(plan) => plan,
        Err(error) => {
            writeln!(
                err,
                "error: {}:{}:{}: not a quorate plan file: {error}",
                source.name,
                error.line(),
                error.column()
            )?;
            return Ok(EXIT_ERROR);
        }
    };
    let from = match &args.from {
        Some(path) => match read_source(path) {
            Ok(file) => Some(planner::Endpoint {
                name: file.name,
                text: file.text,
            }),
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(EXIT_ERROR);
            }
        },
        None => None,
    };
    let view: PlanView = serde_json::from_value(serde_json::to_value(&plan)?)?;
    let fault_budget = args.fault_budget.unwrap_or(view.fault_budget);
    let report = match planner::verify(&plan, from.as_ref(), fault_budget) {
        Ok(report) => report,
        Err(planner::Error::BadPlan { why }) => {
            // A plan whose hashes or steps do not hold together fails verification.
            writeln!(err, "error: {}: the plan fails verification: {why}", source.name)?;
            return Ok(EXIT_FINDINGS);
        }
        Err(error) => {
            writeln!(err, "error: {}: {error}", source.name)?;
            return Ok(EXIT_ERROR);
        }
    };
    if report.ok {
        writeln!(
            out,
            "{}: verified: {} step(s) reach the target; {} point(s) replayed with up to {fault_budget} \
             extra fault(s) between and inside the steps, none unsafe",
            source.name,
            view.steps.len(),
            report.states_checked
        )?;
        return Ok(EXIT_OK);
    }
    writeln!(
        err,
        "error: {}: the plan fails verification under a fault budget of {fault_budget} ({} point(s) replayed):",
        source.name, report.states_checked
    )?;
    for problem in &report.problems {
        writeln!(err, "  - {problem}")?;
    }
    Ok(EXIT_FINDINGS)
}
