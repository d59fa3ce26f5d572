//! `quorate completions SHELL` and `quorate man`: shell completions and a man page, both
//! generated from the clap definitions so they never drift from the real command surface.
//! It must not hand-write any of that text.

use crate::EXIT_OK;
use clap::{Args, CommandFactory};
use std::io::Write;

/// Arguments of `quorate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `quorate man`.
#[derive(Debug, Args)]
pub struct ManArgs {}

/// Writes the completion script for `args.shell`.
pub fn run_completions(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let mut command = crate::Cli::command();
    // clap_complete panics on a write error (a closed pipe): generate into memory first.
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut command, "quorate", &mut buffer);
    out.write_all(&buffer)?;
    Ok(EXIT_OK)
}

/// Writes the roff man page of `quorate` (pipe it to `man -l -`).
pub fn run_man(_args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let command = crate::Cli::command();
    let mut buffer = Vec::new();
    clap_mangen::Man::new(command).render(&mut buffer)?;
    out.write_all(&buffer)?;
    Ok(EXIT_OK)
}
