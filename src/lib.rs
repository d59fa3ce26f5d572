//! The `quorate` binary's library: clap arguments, file IO, rendering and exit codes.
//!
//! Owns the command surface (`Cli`) and `run`, which `main.rs` calls. Each subcommand lives
//! in `cmd/<name>.rs` and calls one library function of the model/sim/executor crates. It
//! must not hold domain logic: what is wrong, who keeps quorum and how the lab works are
//! decided in the library crates.

pub mod cmd;
pub mod input;
pub mod render;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;

/// Exit code: clean.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings, unsafe, violated.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: the tool could not do its job.
pub const EXIT_ERROR: u8 = 2;

/// quorate: know what a corosync change will do before you touch anything.
#[derive(Debug, Parser)]
#[command(name = "quorate", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// What corosync would refuse, and what it accepts but will hurt.
    Lint(cmd::lint::LintArgs),
    /// The documentation of a rule, by code or name.
    Explain(cmd::explain::ExplainArgs),
    /// The typed configuration with the values corosync computes.
    Show(cmd::show::ShowArgs),
    /// A real corosync cluster in network namespaces on this machine (root).
    Lab(cmd::lab::LabArgs),
    /// Model-check quorum safety over time; counterexamples as whatif scripts.
    Check(cmd::check::CheckArgs),
    /// Per-node quorum after each step of a scenario (`-s 'split 1:1'`), or `--all`.
    Whatif(cmd::whatif::WhatifArgs),
    /// Shell completions for bash, zsh, fish, elvish or powershell.
    Completions(cmd::completions::CompletionsArgs),
    /// The man page (roff), generated from the command definitions.
    Man(cmd::completions::ManArgs),
}

/// Runs quorate with `args` (including the program name), writing to `out` and `err`.
/// Returns the exit code: 0 clean, 1 findings, 2 the tool could not do its job.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let text = error.render().to_string();
            let _ = if error.use_stderr() {
                err.write_all(text.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            };
            return code;
        }
    };
    let result = match &cli.command {
        Command::Lint(args) => cmd::lint::run(args, out, err),
        Command::Explain(args) => cmd::explain::run(args, out, err),
        Command::Show(args) => cmd::show::run(args, out, err),
        Command::Lab(args) => cmd::lab::run(args, out, err),
        Command::Check(args) => cmd::check::run(args, out, err),
        Command::Whatif(args) => cmd::whatif::run(args, out, err),
        Command::Completions(args) => cmd::completions::run_completions(args, out),
        Command::Man(args) => cmd::completions::run_man(args, out),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return EXIT_OK;
            }
            let _ = writeln!(err, "error: {error}");
            for cause in error.chain().skip(1) {
                let _ = writeln!(err, "  caused by: {cause}");
            }
            EXIT_ERROR
        }
    }
}

/// A closed pipe (`quorate lint ... | head`) is not an error: exit quietly.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A panic is a bug: say so and ask for a report instead of dumping only a backtrace.
pub fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!(
            "\nquorate crashed: this is a bug. Please file a report with the command line and, if you can, \
             the input file (remove secrets first)."
        );
    }));
}
