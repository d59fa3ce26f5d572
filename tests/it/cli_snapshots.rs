//! Snapshots (insta) of the main commands' output on the bundled example cluster
//! (`examples/pve1`): lint, show, explain, whatif (one scenario, `--all`, the maintenance
//! question) and check. A change in any of them shows up as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always` then `git diff`). See: issue 8.

use crate::support::quorate;

/// Exit code, stdout and stderr of `quorate ARGS` (from the package root, so paths in the
/// output are the relative ones below), with wall-clock figures masked.
fn transcript(args: &[&str]) -> String {
    let (code, out, err) = quorate(args);
    let mask = |text: &str| {
        text.lines()
            .map(|line| match line.rfind(", ") {
                Some(at) if line.ends_with(" s") && line[at + 2..line.len() - 2].parse::<f64>().is_ok() => {
                    format!("{}, <seconds> s", &line[..at])
                }
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // `check` writes a progress line per second of wall time to a non-terminal stderr, so how
    // many appear depends on the machine's load: they are not part of the contract pinned here.
    let err: String = err
        .lines()
        .filter(|line| !line.starts_with("checking ("))
        .map(|line| format!("{line}\n"))
        .collect();
    format!(
        "$ quorate {}\nexit {code}\n--- stdout\n{}\n--- stderr\n{}\n",
        args.join(" "),
        mask(&out),
        mask(&err)
    )
}

const RUNBOOK: &str = "examples/pve1/corosync.conf";
const FIXED: &str = "examples/pve1/corosync.fixed.conf";

#[test]
fn snapshot_lint_runbook_human() {
    insta::assert_snapshot!(transcript(&["lint", "--color", "never", RUNBOOK]));
}

#[test]
fn snapshot_lint_runbook_concise() {
    insta::assert_snapshot!(transcript(&["lint", "--format", "concise", RUNBOOK]));
}

#[test]
fn snapshot_lint_fixed() {
    insta::assert_snapshot!(transcript(&["lint", "--color", "never", FIXED]));
}

#[test]
fn snapshot_show_fixed() {
    insta::assert_snapshot!(transcript(&["show", FIXED]));
}

#[test]
fn snapshot_explain_q001() {
    insta::assert_snapshot!(transcript(&["explain", "Q001"]));
}

#[test]
fn snapshot_whatif_fixed_scenario() {
    insta::assert_snapshot!(transcript(&[
        "whatif",
        FIXED,
        "-s",
        "split 1:3; isolate 2; heal",
        "--color",
        "never"
    ]));
}

#[test]
fn snapshot_whatif_fixed_all() {
    insta::assert_snapshot!(transcript(&["whatif", FIXED, "--all"]));
}

#[test]
fn snapshot_whatif_fixed_maintenance() {
    insta::assert_snapshot!(transcript(&["whatif", FIXED, "-s", "stop 3", "--all"]));
}

#[test]
fn snapshot_check_fixed() {
    insta::assert_snapshot!(transcript(&["check", FIXED]));
}
