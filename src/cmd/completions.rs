//! `quorate completions SHELL` and `quorate man`: shell completions and man pages (one per
//! command and subcommand, `quorate-lint(1)` and so on), all generated from the clap
//! definitions so they never drift from the real command surface. It must not hand-write
//! any of that text.

use crate::{EXIT_ERROR, EXIT_OK};
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
pub struct ManArgs {
    /// The page of this subcommand (`lint` for quorate-lint(1), `lab up` for
    /// quorate-lab-up(1)); none: quorate(1).
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,
    /// Write every page (quorate.1, quorate-lint.1, ...) into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

/// Writes the completion script for `args.shell`.
pub fn run_completions(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let mut command = crate::Cli::command();
    // clap_complete panics on a write error (a closed pipe): generate into memory first.
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut command, "quorate", &mut buffer);
    out.write_all(&buffer)?;
    Ok(EXIT_OK)
}

/// Writes a roff man page (pipe it to `man -l -`), or every page into `--dir`.
pub fn run_man(args: &ManArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let mut command = crate::Cli::command().disable_help_subcommand(true);
    // Building gives every subcommand its display name (`quorate-lint`), the page's name.
    command.build();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|error| anyhow::anyhow!("cannot create {}: {error}", dir.display()))?;
        let mut written = 0usize;
        write_pages(&command, dir, &mut written)?;
        writeln!(out, "wrote {written} man pages to {}", dir.display())?;
        return Ok(EXIT_OK);
    }
    let mut page = &command;
    for name in &args.command {
        match page.find_subcommand(name) {
            Some(sub) => page = sub,
            None => {
                let known: Vec<&str> = page.get_subcommands().map(|sub| sub.get_name()).collect();
                writeln!(
                    err,
                    "error: no man page for `{}`: {} has the subcommands {}",
                    args.command.join(" "),
                    page.get_display_name().unwrap_or(page.get_name()),
                    known.join(", ")
                )?;
                return Ok(EXIT_ERROR);
            }
        }
    }
    let mut buffer = Vec::new();
    clap_mangen::Man::new(page.clone()).render(&mut buffer)?;
    out.write_all(&buffer)?;
    Ok(EXIT_OK)
}

/// Writes `command`'s page and its subcommands' pages into `dir`, counting them.
fn write_pages(command: &clap::Command, dir: &std::path::Path, written: &mut usize) -> anyhow::Result<()> {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let man = clap_mangen::Man::new(command.clone());
    let path = dir.join(man.get_filename());
    let mut buffer = Vec::new();
    man.render(&mut buffer)?;
    std::fs::write(&path, buffer)
        .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?;
    *written += 1;
    Ok(())
}
