//! The `quorate` binary's library: clap arguments, file IO, rendering and exit codes.
//!
//! Owns the command surface (`Cli`) and `run`, which `main.rs` calls. Each subcommand lives
//! in `cmd/<name>.rs` and calls one library function of the model/sim/executor crates. It
//! must not hold domain logic: what is wrong, who keeps quorum and how the lab works are
//! decided in the library crates.

pub mod cmd;
pub mod input;
pub mod render;
pub mod report;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;

/// Exit code: clean.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings, unsafe, violated.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: the tool could not do its job.
pub const EXIT_ERROR: u8 = 2;

/// Exit status of every command, in `quorate --help`.
const MAIN_HELP: &str = "\
Examples:
  quorate lint /etc/pve/corosync.conf
  quorate whatif /etc/pve/corosync.conf -s 'stop 3' --all
  quorate check /etc/pve/corosync.conf

Exit status: 0 clean (notes alone are clean); 1 findings: a lint error or warning, a
split-brain in whatif, a violated safety property in check, no safe plan (or a plan failing
plan verify), reality differing in lab replay; 2 the tool could not do its job (unreadable
file, refused script, bad arguments). A closed pipe exits 0 quietly. `quorate COMMAND
--help` says exactly when for each command.";

/// quorate: know what a corosync change will do before you touch anything.
#[derive(Debug, Parser)]
#[command(name = "quorate", version, about, long_about = None, propagate_version = true, after_help = MAIN_HELP)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Examples and exit codes of `quorate lint`, shown by `--help` and in quorate-lint(1).
const LINT_HELP: &str = "\
Examples:
  quorate lint /etc/pve/corosync.conf
  quorate lint --format concise --local-node pve1 --authkey /etc/corosync/authkey corosync.conf
  quorate lint --prove --format json corosync.conf > findings.json

Exit status: 0 when no finding is an error or a warning (notes alone exit 0); 1 when some
finding is an error or a warning; 2 when a file cannot be read or the arguments are wrong.";

/// Examples and exit codes of `quorate explain`.
const EXPLAIN_HELP: &str = "\
Examples:
  quorate explain               # every code, one line each
  quorate explain Q001
  quorate explain two-node-without-wait-for-all --format json

Exit status: 0 when the rule exists (or the list is printed); 2 for an unknown code or name.";

/// Examples and exit codes of `quorate show`.
const SHOW_HELP: &str = "\
Examples:
  quorate show /etc/corosync/corosync.conf
  quorate show corosync.conf --format json | jq .quorum_facts
  ssh pve1 cat /etc/pve/corosync.conf | quorate show -

Exit status: 0 when the file was read (show judges nothing: run lint for that); 2 when it
cannot be read.";

/// Examples and exit codes of `quorate lab`.
const LAB_HELP: &str = "\
Examples:
  quorate lab up --nodes 3 --links 2 && quorate lab status
  quorate lab partition \"1,2|3\"; quorate lab heal
  quorate lab replay -s 'split 1:3; heal'; quorate lab down

Exit status: 0 done; 1 when `lab replay` finds reality differing from the prediction; 2 when
the lab cannot be set up or reached (not root, missing corosync); `lab exec` exits with the
command's status.";

/// Examples and exit codes of `quorate check`.
const CHECK_HELP: &str = "\
Examples:
  quorate check corosync.conf
  quorate check corosync.conf --max-faults 3 --operator=expected,reload
  quorate whatif corosync.conf -s \"$(quorate check corosync.conf --format script)\"

Exit status: 0 when every safety property holds within the budget (a violated availability
property such as quorum-regained alone exits 0); 1 when no-split-brain or
isolated-node-never-quorate is violated; 2 when the file cannot be read or has no nodes.";

/// The script language, examples and exit codes of `quorate whatif` (long help).
const WHATIF_HELP: &str = "\
Script language (steps separated by `;` or newlines, `#` starts a comment; NODES is a
comma- or space-separated list of node ids or names; a number is always a node id):
  up [P:]NODES ...          start nodes (in partition P, default 0)
  down NODES                crash nodes (no clean leave)
  stop NODES                clean shutdown (LEAVING with allow_downscale)
  restart NODES             crash and start again
  split|move [P:]NODES ...  move nodes to partition P (default 0); nodes in different
                            partitions cannot talk
  join P1 P2 ...            merge partitions P2... into P1
  isolate N                 put N alone in a new partition
  link down|up L [NODES | between A B]
                            link L (knet ringL_addr) everywhere, at the nodes, or between two
  heal                      one partition, every link up
  expected V on N           corosync-quorumtool -e V (pvecm expected V) on node N
  votes V [of T] on N       corosync-quorumtool -v V [-n T] on node N: T's votes (N's own
                            without `of`) until T restarts or a reload
  qdevice on|off NODES      the node's quorum device casts its vote / stops
  qnetd down|up|cut N|reach N
                            corosync-qnetd decides the device's vote from then on: the
                            server stops / runs, nodes lose / regain their path to it
  heuristics fail|pass NODES
                            the nodes' qdevice heuristics fail / pass (qnetd decides)
  install FILE on NODES     write FILE as these nodes' corosync.conf (read at reload or start)
  reload [FILE]             corosync-cfgtool -R: every running node re-reads its own file
                            (FILE: first installed on every node)
  wait MS                   model time passes (last_man_standing window)
A step that names a node, link or partition the cluster does not have, or contradicts
itself (one node in two partitions), is refused with its line and column.

Examples:
  quorate whatif corosync.conf -s 'stop 3' --all    # can node 3 go down for maintenance?
  quorate whatif corosync.conf -s 'split 1:3; isolate 2; heal'
  quorate whatif corosync.conf --all --format json

Exit status: 0 when no step (with -s) or no scenario (with --all) is SPLIT-BRAIN; a split-brain
that only another message delivery order gives (POSSIBLE SPLIT-BRAIN) still exits 0. 1 when
some step or scenario is SPLIT-BRAIN. 2 when the script is refused, a file cannot be read,
or the configuration has no nodes.";

/// Short help of `quorate whatif` (`-h`).
const WHATIF_SHORT_HELP: &str = "\
Examples:
  quorate whatif corosync.conf -s 'stop 3' --all    # can node 3 go down for maintenance?
  quorate whatif corosync.conf -s 'split 1:3; isolate 2; heal'
  quorate whatif corosync.conf --all --format json

Exit status: 0 no split-brain; 1 some step or scenario is SPLIT-BRAIN; 2 refused script or
unreadable file. `--help` summarises the script language.";

/// Examples and exit codes of `quorate apply`.
const APPLY_HELP: &str = "\
Examples:
  quorate apply plan.json --inventory inventory.toml --dry-run
  quorate apply plan.json --inventory inventory.toml
  quorate apply plan.json --inventory inventory.toml --resume --format json

Exit status: 0 every step verified (or --dry-run passed its preflight); 1 the preflight
refused (files changed since planning, unreachable node, missing address, program or space,
journal) or a step stopped (its precondition, a command or its postcondition: nothing is
undone, the message says what was expected, what is, and the --resume command); 130 stopped
by SIGINT/SIGTERM after the action in flight; 2 the plan or inventory cannot be read.";

/// Examples and exit codes of `quorate status`.
const STATUS_HELP: &str = "\
Examples:
  quorate status --inventory inventory.toml
  quorate status --inventory /run/quorate/lab/inventory.toml --format json | jq .drift_messages

Exit status: 0 every node reached and no drift; 1 drift (files differing between nodes,
runtime differing from the file, an expected-votes override, a bad authkey) or an
unreachable node, both reported with the rest of the cluster; 2 when the inventory cannot
be read.";

/// Examples and exit codes of `quorate runbook`.
const RUNBOOK_HELP: &str = "\
Examples:
  quorate runbook examples/runbooks/pve1-phase3.md
  quorate runbook docs/add-node.md --format sarif > runbook.sarif
  quorate runbook docs/add-node.md --format json --plan-out plan.json

Findings are unsafe, refused, wrong, insecure or unrecognised, with stable codes (R001...,
and lint's codes for config blocks; `quorate explain R015`, docs/runbook.md).

Exit status: 0 every step recognised and no finding; 1 findings; 2 the file cannot be read or
is not a runbook (not UTF-8, binary, larger than 2 MiB, no code block).";

/// The goal language, examples and exit codes of `quorate plan`.
const PLAN_HELP: &str = "\
Goals (--goal, repeatable; each is an edit of --from that keeps its comments and layout,
then planned exactly like --to; NODE is a node name or nodeid):
  add-node NAME ADDR[,ADDR...] [votes=V] [nodeid=I]
                            one address per link, lowest link number first
  remove-node NODE          the node leaves before the reload that drops it
  add-link N ADDR,...       one address per node, in nodelist order
  remove-link N
  readdress NODE LINK ADDR  reload refuses a re-address in place: the plan works around it
  set SECTION.KEY=VALUE     e.g. set quorum.wait_for_all=1, set totem.token=5000
  unset SECTION.KEY
  rolling-restart           no configuration change: restart every node once
  add-qdevice HOST [algorithm=ffsplit|lms]
                            writes quorum.device as pvecm does (model net, tls on)
  remove-qdevice
Adding a third node (or a qdevice) drops two_node in the same target; a bumped
config_version and any other consequence is printed as a note.

Examples:
  quorate plan --from none --to corosync.conf -o plan.json
  quorate plan --from corosync.conf --goal 'add-link 1 10.31.0.11,10.31.0.12,10.31.0.13'
  quorate plan --from corosync.conf --goal 'add-node n4 10.30.0.14' --format json

Exit status: 0 a safe plan was found (printed, and written with -o); 1 no safe plan under the
fault budget (the report says which step kind is impossible and why); 2 the tool could not
do its job (unreadable file, bad goal, a target corosync would refuse: its errors are shown).";

/// Examples of `quorate completions`.
const COMPLETIONS_HELP: &str = "\
Examples:
  quorate completions bash > /etc/bash_completion.d/quorate
  quorate completions zsh > ~/.zfunc/_quorate
  quorate completions fish > ~/.config/fish/completions/quorate.fish

Exit status: 0; 2 for an unknown shell.";

/// Examples and exit codes of `quorate report`.
const REPORT_HELP: &str = "\
Examples:
  quorate report /etc/pve/corosync.conf -o report.html
  quorate report corosync.conf -s 'stop 3' --script-file drill.whatif --plan plan.json -o review.html
  quorate report corosync.conf --format json | jq .failure_matrix

Exit status: 0 when the report was written (findings do not change it: read the page); 2
when the file, a script file or the plan cannot be read (or is not a plan), or the output
cannot be written.";

/// Examples of `quorate man`.
const MAN_HELP: &str = "\
Examples:
  quorate man | man -l -
  quorate man lint | man -l -
  quorate man --dir /usr/local/share/man/man1

Exit status: 0; 2 for an unknown subcommand or a directory that cannot be written.";

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// What corosync would refuse, and what it accepts but will hurt.
    #[command(after_help = LINT_HELP)]
    Lint(cmd::lint::LintArgs),
    /// The documentation of a rule, by code or name.
    #[command(after_help = EXPLAIN_HELP)]
    Explain(cmd::explain::ExplainArgs),
    /// The typed configuration with the values corosync computes, and the quorum facts.
    #[command(after_help = SHOW_HELP)]
    Show(cmd::show::ShowArgs),
    /// A real corosync cluster in network namespaces on this machine (root).
    #[command(after_help = LAB_HELP)]
    Lab(cmd::lab::LabArgs),
    /// Model-check quorum safety over time; counterexamples as whatif scripts.
    #[command(after_help = CHECK_HELP)]
    Check(cmd::check::CheckArgs),
    /// Per-node quorum after each step of a scenario (`-s 'split 1:1'`), or `--all`.
    #[command(after_help = WHATIF_SHORT_HELP, after_long_help = WHATIF_HELP)]
    Whatif(cmd::whatif::WhatifArgs),
    /// Carry out a plan on the nodes over SSH, checking every step; stop and resume.
    #[command(after_help = APPLY_HELP)]
    Apply(cmd::apply::ApplyArgs),
    /// Every node's corosync over SSH, next to what its own file predicts; drift flagged.
    #[command(after_help = STATUS_HELP)]
    Status(cmd::status::StatusArgs),
    /// A safe ordered plan from the running cluster to the target, every state verified.
    #[command(after_help = PLAN_HELP)]
    Plan(cmd::plan::PlanArgs),
    /// Check a human-written runbook (Markdown) step by step before anyone runs it.
    #[command(after_help = RUNBOOK_HELP)]
    Runbook(cmd::runbook::RunbookArgs),
    /// A self-contained HTML design review: topology, findings, failure matrix, scenarios, model check, plan.
    #[command(after_help = REPORT_HELP)]
    Report(cmd::report::ReportArgs),
    /// Shell completions for bash, zsh, fish, elvish or powershell.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(cmd::completions::CompletionsArgs),
    /// Man pages (roff) generated from the command definitions: quorate(1), quorate-lint(1)...
    #[command(after_help = MAN_HELP)]
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
        Command::Apply(args) => cmd::apply::run(args, out, err),
        Command::Status(args) => cmd::status::run(args, out, err),
        Command::Plan(args) => cmd::plan::run(args, out, err),
        Command::Runbook(args) => cmd::runbook::run(args, out, err),
        Command::Report(args) => cmd::report::run(args, out, err),
        Command::Completions(args) => cmd::completions::run_completions(args, out),
        Command::Man(args) => cmd::completions::run_man(args, out, err),
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
