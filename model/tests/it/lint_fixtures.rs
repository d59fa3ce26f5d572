//! Fixture tests of the lint rules: every rule has `test_data/lint/<CODE>/bad*.conf` that
//! triggers it and `ok*.conf` that does not, complete documentation, and the rendered
//! rule findings of all fixtures match `test_data/lint/expected.txt`. `docs/rules.md` is
//! generated from the registry here too.
//!
//! Regenerate the expected files with `UPDATE_EXPECT=1 cargo test -p model --test lint_fixtures`.
//! This file must not hold rule logic.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use model::config::Config;
use model::lint::{self, LintOptions};
use model::{Diagnostic, LineIndex};

/// The headings every rule's documentation must have (house style 14).
const HEADINGS: [&str; 6] = [
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Fix safety",
    "## References",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/lint")
}

fn lint_text(text: &str) -> Vec<Diagnostic> {
    let (document, _) = model::syntax::parse(text);
    let (config, _) = Config::from_document(&document);
    lint::lint(&document, &config, &LintOptions::default())
}

/// `(file name, text)` of every fixture of a rule directory, sorted.
fn fixtures(code: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(fixtures_dir().join(code)) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".conf") {
            let text = fs::read_to_string(entry.path()).unwrap();
            found.push((name, text));
        }
    }
    found.sort();
    found
}

fn render(path: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let (line, column) = diagnostic
            .span
            .map(|span| index.line_col(text, span.start))
            .unwrap_or((1, 1));
        writeln!(
            out,
            "{path}:{line}:{column}: {} {} {}",
            diagnostic.code, diagnostic.name, diagnostic.message
        )
        .unwrap();
    }
    out
}

/// Compares `actual` with the file at `path`, or rewrites it when `UPDATE_EXPECT` is set.
fn expect_file(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(left, right)| left != right)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} is stale (first difference at line {}); rerun with UPDATE_EXPECT=1 and review the diff\n--- actual ---\n{actual}",
            path.display(),
            first_difference + 1
        );
    }
}

#[test]
fn every_rule_has_documentation_and_fixtures() {
    let mut problems = Vec::new();
    for rule in lint::all_rules() {
        let documentation = rule.documentation();
        for heading in HEADINGS {
            if !documentation.lines().any(|line| line.starts_with(heading)) {
                problems.push(format!(
                    "{} {}: documentation lacks `{heading}`",
                    rule.code, rule.name
                ));
            }
        }
        if rule.summary().is_empty() {
            problems.push(format!("{} {}: empty summary", rule.code, rule.name));
        }
        let cases = fixtures(rule.code);
        let bad: Vec<_> = cases.iter().filter(|(name, _)| name.starts_with("bad")).collect();
        let ok: Vec<_> = cases.iter().filter(|(name, _)| name.starts_with("ok")).collect();
        if bad.is_empty() || ok.is_empty() {
            problems.push(format!(
                "{} {}: needs bad*.conf and ok*.conf fixtures",
                rule.code, rule.name
            ));
        }
        for (name, text) in bad {
            if !lint_text(text)
                .iter()
                .any(|diagnostic| diagnostic.code == rule.code)
            {
                problems.push(format!("{}/{name} does not trigger {}", rule.code, rule.name));
            }
        }
        for (name, text) in ok {
            if lint_text(text)
                .iter()
                .any(|diagnostic| diagnostic.code == rule.code)
            {
                problems.push(format!("{}/{name} triggers {}", rule.code, rule.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_fixture_directory_without_rule() {
    for entry in fs::read_dir(fixtures_dir()).unwrap().flatten() {
        if entry.path().is_dir() {
            let code = entry.file_name().to_string_lossy().to_string();
            assert!(
                lint::rule_by_code_or_name(&code).is_some(),
                "fixtures for unknown rule {code}"
            );
        }
    }
}

/// Renders the lint rules' findings on every fixture. Validation findings (codes `E...`) are
/// left out: they belong to `validate`'s own tests, and this file must not go stale each
/// time validation learns a new check.
#[test]
fn fixture_findings_match_expected() {
    let mut out = String::new();
    for rule in lint::all_rules() {
        for (name, text) in fixtures(rule.code) {
            let findings: Vec<Diagnostic> = lint_text(&text)
                .into_iter()
                .filter(|diagnostic| lint::rule_by_code_or_name(diagnostic.code).is_some())
                .collect();
            out.push_str(&render(&format!("{}/{name}", rule.code), &text, &findings));
        }
    }
    expect_file(&fixtures_dir().join("expected.txt"), &out);
}

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    let rules = lint::all_rules();
    for (index, rule) in rules.iter().enumerate() {
        let code = rule.code.as_bytes();
        assert!(
            code.len() == 4 && b"QLSTD".contains(&code[0]) && code[1..].iter().all(u8::is_ascii_digit),
            "bad code {}",
            rule.code
        );
        assert!(
            rule.name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'-'),
            "bad name {}",
            rule.name
        );
        for other in &rules[index + 1..] {
            assert_ne!(rule.code, other.code);
            assert_ne!(rule.name, other.name);
        }
        assert_eq!(
            lint::rule_by_code_or_name(rule.code).map(|found| found.code),
            Some(rule.code)
        );
        assert_eq!(
            lint::rule_by_code_or_name(rule.name).map(|found| found.code),
            Some(rule.code)
        );
        assert!(!model::validate::CHECKS
            .iter()
            .any(|check| check.code == rule.code || check.name == rule.name));
    }
    assert_eq!(
        lint::rule_by_code_or_name("q001").map(|rule| rule.name),
        Some("two-node-without-wait-for-all")
    );
    assert!(lint::rule_by_code_or_name("no-such-rule").is_none());
}

/// The Markdown of docs/rules.md, generated from the registry.
fn rules_markdown() -> String {
    let mut out = String::new();
    out.push_str("# quorate lint rules\n\n");
    out.push_str("<!-- Generated from model/src/lint/registry.rs and the rule files' doc comments by\n");
    out.push_str("     `UPDATE_EXPECT=1 cargo test -p model --test lint_fixtures`. Do not edit. -->\n\n");
    out.push_str(
        "Codes never change and are never reused. Categories: Q quorum and split-brain, L links and\n",
    );
    out.push_str(
        "network, S syntax and structure, T timing, D quorum device. What corosync itself refuses is\n",
    );
    out.push_str(
        "reported by validation (codes E...), not by these rules. `quorate explain CODE|NAME` prints\n",
    );
    out.push_str("one rule.\n\n");
    out.push_str("| code | name | severity | status | summary |\n|---|---|---|---|---|\n");
    for rule in lint::all_rules() {
        let severity = format!("{:?}", rule.severity).to_lowercase();
        writeln!(
            out,
            "| [{}](#{}) | `{}` | {severity} | {} | {} |",
            rule.code,
            rule.code.to_lowercase(),
            rule.name,
            rule.status.as_str(),
            rule.summary().replace('|', "\\|")
        )
        .unwrap();
    }
    for rule in lint::all_rules() {
        let severity = format!("{:?}", rule.severity).to_lowercase();
        write!(
            out,
            "\n## {}\n\n`{}` ({severity}, {})\n\n",
            rule.code,
            rule.name,
            rule.status.as_str()
        )
        .unwrap();
        out.push_str(
            &rule
                .documentation()
                .replace("\n## ", "\n### ")
                .replacen("## ", "### ", 1),
        );
    }
    out
}

#[test]
fn rules_doc_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    expect_file(&path, &rules_markdown());
}
