//! The help surface (issue 10 item 10): every subcommand's `--help` has examples and says
//! when it exits 1, `whatif --help` summarises every script command, `quorate man` writes a
//! page per subcommand so that every `quorate-xxx(1)` reference resolves, and the README
//! synopsis names every flag clap knows.

use crate::support::quorate;
use clap::CommandFactory;

/// Every (sub)command path below `quorate`, with its clap definition.
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
            let mut sub_path = path.clone();
            sub_path.push(sub.get_name().to_string());
            out.push((sub_path.clone(), sub.clone()));
            walk(sub, sub_path, out);
        }
    }
    let mut out = Vec::new();
    walk(&quorate::Cli::command(), Vec::new(), &mut out);
    out
}

#[test]
fn issue10_every_subcommand_help_has_examples_and_exit_status() {
    let top: Vec<String> = quorate::Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .filter(|name| name != "help")
        .collect();
    assert!(top.len() >= 8, "{top:?}");
    for name in top.iter().map(String::as_str).chain(["--help"]) {
        let args: Vec<&str> = if name == "--help" {
            vec!["--help"]
        } else {
            vec![name, "--help"]
        };
        let (code, out, err) = quorate(&args);
        assert_eq!(code, 0, "{name}: {err}");
        let examples = out
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{name} --help has no Examples:\n{out}"));
        let count = examples
            .lines()
            .skip(1)
            .take_while(|line| !line.trim().is_empty())
            .filter(|line| line.trim_start().starts_with("quorate ") || line.trim_start().starts_with("ssh "))
            .count();
        assert!((2..=3).contains(&count), "{name}: {count} examples:\n{out}");
        assert!(
            out.contains("Exit status: 0"),
            "{name} --help does not say when it exits 0/1:\n{out}"
        );
    }
}

#[test]
fn issue10_whatif_help_summarises_every_script_command() {
    let (_, out, _) = quorate(&["whatif", "--help"]);
    let error = model::scenario::parse("frob").unwrap_err();
    let list = error
        .expected
        .trim_start_matches("a command (")
        .trim_end_matches(')')
        .to_string();
    let words: Vec<&str> = list.split(", ").collect();
    assert!(words.len() >= 14, "{list}");
    let language = out
        .split("Script language")
        .nth(1)
        .expect("no script language summary");
    for word in words.into_iter().filter(|word| *word != "show") {
        assert!(
            language.lines().any(|line| line
                .split_whitespace()
                .next()
                .is_some_and(|first| first.split('|').any(|name| name == word))),
            "`{word}` is not summarised in whatif --help:\n{out}"
        );
    }
}

#[test]
fn issue10_man_writes_a_page_per_subcommand_and_every_reference_resolves() {
    let dir = std::env::temp_dir().join(format!("quorate-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = quorate(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let expected = commands().len() + 1;
    assert_eq!(out, format!("wrote {expected} man pages to {}\n", dir.display()));
    for (path, _) in commands() {
        let page = dir.join(format!("quorate-{}.1", path.join("-")));
        assert!(page.exists(), "missing {}", page.display());
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path())
            .unwrap()
            .replace("\\-", "-");
        for (at, _) in text.match_indices("quorate-") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if text[at + name.len()..].starts_with("(1)") {
                assert!(
                    dir.join(format!("{name}.1")).exists(),
                    "{name}(1) does not resolve"
                );
            }
        }
    }
    let (code, out, _) = quorate(&["man", "lint"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH quorate-lint 1"), "{out}");
    let (code, out, _) = quorate(&["man", "lab", "up"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH quorate-lab-up 1"), "{out}");
    let (code, _, err) = quorate(&["man", "frob"]);
    assert_eq!(code, 2);
    assert!(err.contains("no man page for `frob`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue10_readme_synopsis_lists_every_flag() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let synopsis = readme
        .split("## Commands\n\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a Commands synopsis block");
    for (path, command) in commands() {
        let line_start = format!("quorate {}", path[0]);
        assert!(
            synopsis.contains(&line_start),
            "`{line_start}` is not in the synopsis"
        );
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else {
                continue;
            };
            if matches!(long, "help" | "version") {
                continue;
            }
            assert!(
                synopsis.contains(&format!("--{long}")),
                "`quorate {} --{long}` is not in the README synopsis",
                path.join(" ")
            );
        }
    }
}

#[test]
fn issue10_every_yes_no_flag_pair_conflicts() {
    let mut pairs = 0;
    for (path, mut command) in commands() {
        command.build();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else {
                continue;
            };
            let Some(negation) = command
                .get_arguments()
                .find(|other| other.get_long() == Some(format!("no-{long}").as_str()))
            else {
                continue;
            };
            pairs += 1;
            let conflicts = command.get_arg_conflicts_with(arg);
            assert!(
                conflicts.iter().any(|other| other.get_id() == negation.get_id()),
                "quorate {} --{long} does not conflict with --no-{long}",
                path.join(" ")
            );
        }
    }
    assert!(pairs >= 2, "{pairs}");
}
