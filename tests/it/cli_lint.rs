//! `quorate lint`, `explain` and `show` end to end through the library entry point
//! (`quorate::run`): the JSON contract, exit codes, SARIF, bad input, and the bundled example.

use crate::support::quorate;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn diagnostics(json: &Value) -> Vec<&Value> {
    json["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["diagnostics"].as_array().unwrap())
        .collect()
}

fn names(json: &Value) -> Vec<String> {
    diagnostics(json)
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pve1_runbook_config_is_refused_and_risky() {
    let path = root().join("examples/pve1/corosync.conf");
    let (code, out, _) = quorate(&["lint", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).unwrap();
    let all = diagnostics(&json);
    // corosync refuses it: two links on udpu, crypto on udpu.
    let refused: Vec<&str> = all
        .iter()
        .filter(|d| d["rejected_by"] == "corosync -t")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(refused.iter().any(|m| m.contains("udp")), "{refused:?}");
    assert!(refused.iter().any(|m| m.contains("crypto")), "{refused:?}");
    // Both rings of every node on one address: once per node.
    let shared: Vec<_> = all
        .iter()
        .filter(|d| d["name"] == "links-share-address")
        .collect();
    assert_eq!(shared.len(), 3);
    let lines: Vec<u64> = shared.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![40, 46, 52]);
    // The ignored bindnetaddr and the unknown `service` section.
    let found = names(&json);
    assert!(
        found.iter().any(|n| n == "bindnetaddr-ignored-with-nodelist"),
        "{found:?}"
    );
    let service = all.iter().find(|d| d["name"] == "unknown-section").unwrap();
    assert!(service["message"].as_str().unwrap().contains("service"));
}

#[test]
fn pve1_fixed_config_is_clean() {
    let path = root().join("examples/pve1/corosync.fixed.conf");
    let (code, out, _) = quorate(&["lint", "--format", "json", path.to_str().unwrap()]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        diagnostics(&json).iter().all(|d| d["severity"] == "info"),
        "{out}"
    );
}

#[test]
fn json_shape_is_the_contract() {
    let path = root().join("examples/pve1/corosync.conf");
    let (_, out, _) = quorate(&["lint", "--format", "json", path.to_str().unwrap()]);
    let json: Value = serde_json::from_str(&out).unwrap();
    let file = &json["files"][0];
    assert!(file["path"].as_str().unwrap().ends_with("corosync.conf"));
    for diagnostic in file["diagnostics"].as_array().unwrap() {
        for key in ["code", "name", "severity", "message", "line", "column"] {
            assert!(!diagnostic[key].is_null(), "{key} missing in {diagnostic}");
        }
        assert!(diagnostic.as_object().unwrap().contains_key("rejected_by"));
        assert!(diagnostic.as_object().unwrap().contains_key("help"));
        assert!(["error", "warning", "info"].contains(&diagnostic["severity"].as_str().unwrap()));
        let by = &diagnostic["rejected_by"];
        assert!(
            by.is_null() || by == "corosync -t" || by == "corosync startup",
            "{by}"
        );
        assert!(diagnostic["line"].as_u64().unwrap() >= 1);
        assert!(diagnostic["column"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn human_output_points_at_the_line_with_a_caret() {
    let path = temp_file(
        "human.conf",
        b"totem {\n    version: 2\n    token: 3000 # ms\n}\n",
    );
    let (code, out, _) = quorate(&["lint", "--color", "never", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("{}:3:", path.display())), "{out}");
    assert!(out.contains("\n3 |     token: 3000 # ms"), "{out}");
    assert!(out.contains("^"), "{out}");
    assert!(out.contains("help:"), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour when asked for none");
}

#[test]
fn sarif_is_2_1_0_with_rules_and_regions() {
    let path = root().join("examples/pve1/corosync.conf");
    let (code, out, _) = quorate(&["lint", "--format", "sarif", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "quorate");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn exit_codes_clean_findings_and_tool_error() {
    let clean = root().join("examples/pve1/corosync.fixed.conf");
    assert_eq!(quorate(&["lint", clean.to_str().unwrap()]).0, 0);
    let missing = root().join("does/not/exist.conf");
    let (code, out, _) = quorate(&["lint", "--format", "json", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(diagnostics(&json)[0]["name"], "unreadable-file");
    assert_eq!(
        quorate(&["lint", "--format", "nonsense", clean.to_str().unwrap()]).0,
        2
    );
    assert_eq!(quorate(&["lint"]).0, 2);
}

#[test]
fn bad_input_gets_a_clear_diagnostic_never_a_panic() {
    let binary = temp_file("binary.conf", b"totem {\0\x01\x02}");
    let (code, out, _) = quorate(&["lint", "--format", "json", binary.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.contains("binary-file"), "{out}");

    let latin1 = temp_file("latin1.conf", b"# caf\xe9\ntotem {\n version: 2\n}\n");
    let (_, out, _) = quorate(&["lint", "--format", "json", latin1.to_str().unwrap()]);
    assert!(out.contains("not-utf8"), "{out}");

    let empty = temp_file("empty.conf", b"");
    let (code, out, _) = quorate(&["lint", "--format", "json", empty.to_str().unwrap()]);
    assert_eq!(code, 1, "corosync refuses an empty file: {out}");
    assert!(out.contains("empty-file"), "{out}");

    let deep: String = "a {\n".repeat(20_000) + &"}\n".repeat(20_000);
    let deep = temp_file("deep.conf", deep.as_bytes());
    let (code, out, _) = quorate(&["lint", "--format", "json", deep.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("cmap path too long"),
        "{}",
        &out[..out.len().min(2000)]
    );

    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 94 + 32) as u8).collect();
    let garbage = temp_file("garbage.conf", &garbage);
    let (code, _, _) = quorate(&["lint", garbage.to_str().unwrap()]);
    assert_eq!(code, 1);

    let huge = temp_file("huge.conf", &vec![b'#'; 17 * 1024 * 1024]);
    let (code, out, _) = quorate(&["lint", "--format", "json", huge.to_str().unwrap()]);
    std::fs::remove_file(&huge).unwrap();
    assert_eq!(code, 2);
    assert!(out.contains("file-too-large"), "{out}");

    let directory = std::env::temp_dir();
    let (code, _, _) = quorate(&["lint", directory.to_str().unwrap()]);
    assert_eq!(code, 2);
}

#[test]
fn reads_standard_input_with_a_dash() {
    let exe = env!("CARGO_BIN_EXE_quorate");
    let text = std::fs::read(root().join("examples/pve1/corosync.fixed.conf")).unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["lint", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["files"][0]["path"], "<stdin>");
}

#[test]
fn host_checks_run_only_when_asked() {
    let path = root().join("examples/pve1/corosync.fixed.conf");
    let path = path.to_str().unwrap();
    // Without host facts: clean.
    assert_eq!(quorate(&["lint", path]).0, 0);
    // A node that is not in the nodelist: corosync -t says "No valid name found for local host".
    let (code, out, _) = quorate(&["lint", "--format", "json", "--local-node", "elsewhere", path]);
    assert_eq!(code, 1);
    assert!(out.contains("No valid name found for local host"), "{out}");
    assert_eq!(quorate(&["lint", "--local-node", "pve1-node2", path]).0, 0);
    // A short authkey; its bytes never appear in the output.
    let key = temp_file("short.key", &[0x41; 100]);
    let (code, out, err) = quorate(&[
        "lint",
        "--format",
        "json",
        "--authkey",
        key.to_str().unwrap(),
        path,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("800"), "{out}");
    assert!(!out.contains("AAAA") && !err.contains("AAAA"));
    let missing = temp_file("dir-marker", b"").with_file_name("no-such-authkey");
    let (code, out, _) = quorate(&[
        "lint",
        "--format",
        "json",
        "--authkey",
        missing.to_str().unwrap(),
        path,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("Could not open"), "{out}");
}

#[test]
fn explain_documents_every_rule_by_code_and_name() {
    let (code, out, _) = quorate(&["explain", "two-node-without-wait-for-all"]);
    assert_eq!(code, 0);
    for heading in ["What it does", "Why is this bad?", "Use instead"] {
        assert!(out.contains(heading), "{out}");
    }
    let (code, list, _) = quorate(&["explain"]);
    assert_eq!(code, 0);
    for line in list.lines() {
        let code_word = line.split_whitespace().next().unwrap();
        let (rc, doc, _) = quorate(&["explain", code_word]);
        assert_eq!(rc, 0, "{code_word}");
        assert!(doc.contains("What it does"), "{code_word}: {doc}");
    }
    assert_eq!(quorate(&["explain", "no-such-rule"]).0, 2);
    let (_, json, _) = quorate(&["explain", "--format", "json", "E001"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["name"], "syntax-error");
}

#[test]
fn required_rule_names_exist() {
    let (_, list, _) = quorate(&["explain"]);
    for name in [
        "two-node-without-wait-for-all",
        "two-node-relies-on-fencing",
        "two-node-with-more-than-two-nodes",
        "expected-votes-below-node-votes",
        "expected-votes-above-node-votes",
        "last-man-standing-split-brain",
        "auto-tie-breaker-list-without-wait-for-all",
        "quorum-vote-overflow",
        "no-quorum-provider",
        "even-votes-without-tie-breaker",
        "links-share-address",
        "single-link",
        "duplicate-node-address",
        "duplicate-node-name",
        "unknown-key",
        "unknown-section",
        "duplicate-key",
        "repeated-nodelist",
        "inline-comment",
        "legacy-interface-option",
        "consensus-below-token-ratio",
        "qdevice-ffsplit-odd-nodes",
    ] {
        assert!(
            list.lines()
                .any(|line| line.split_whitespace().nth(1) == Some(name)),
            "{name}"
        );
    }
}

#[test]
fn show_prints_effective_values_and_never_the_inline_key() {
    let path = temp_file(
        "show.conf",
        b"totem {\n version: 2\n key: SECRETSECRETSECRET\n}\nnodelist {\n node {\n  nodeid: 1\n  ring0_addr: 198.18.0.1\n }\n node {\n  nodeid: 2\n  ring0_addr: 198.18.0.2\n }\n node {\n  nodeid: 3\n  ring0_addr: 198.18.0.3\n }\n}\n",
    );
    let (code, out, _) = quorate(&["show", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(!out.contains("SECRETSECRET"), "the inline key leaked");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["effective"]["token"], 3650);
    assert_eq!(json["effective"]["consensus"], 4380);
    let (code, text, _) = quorate(&["show", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(text.contains("token 3650"), "{text}");
    assert!(!text.contains("SECRETSECRET"));
}

#[test]
fn completions_and_man_page_come_from_clap() {
    let (code, out, _) = quorate(&["completions", "bash"]);
    assert_eq!(code, 0);
    for command in ["lint", "whatif", "check", "lab", "explain"] {
        assert!(out.contains(command), "bash completion lacks {command}");
    }
    let (code, man, _) = quorate(&["man"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH quorate 1"), "{man}");
    assert_eq!(quorate(&["completions", "tcsh"]).0, 2);
}

/// A two-node file with `two_node: 1` and nothing else in `quorum`.
const TWO_NODE_CONF: &str = "totem {\n\tversion: 2\n\tcluster_name: two\n\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n}\nnodelist {\n\tnode {\n\t\tname: a\n\t\tnodeid: 1\n\t\tring0_addr: 198.18.0.1\n\t\tring1_addr: 198.19.0.1\n\t}\n\tnode {\n\t\tname: b\n\t\tnodeid: 2\n\t\tring0_addr: 198.18.0.2\n\t\tring1_addr: 198.19.0.2\n\t}\n}\nquorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 1\n}\n";

/// A rule whose risk `quorate check` proves is at least a warning, so `lint` exits 1 where
/// `check` does; `--prove` attaches the counterexample. See: issue 10 item 2.
#[test]
fn issue10_two_node_is_a_warning_and_prove_exits_1() {
    let path = temp_file("issue10-two-node.conf", TWO_NODE_CONF.as_bytes());
    let (code, out, _) = quorate(&["lint", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let finding = diagnostics(&json)
        .into_iter()
        .find(|diagnostic| diagnostic["code"] == "Q002")
        .cloned()
        .unwrap_or_else(|| panic!("no Q002: {out}"));
    assert_eq!(finding["severity"], "warning");
    let (code, out, _) = quorate(&["lint", "--prove", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let proved = diagnostics(&json)
        .into_iter()
        .find(|diagnostic| diagnostic["code"] == "Q002")
        .cloned()
        .unwrap();
    assert_eq!(proved["severity"], "warning");
    assert!(
        proved["help"]
            .as_str()
            .unwrap_or("")
            .contains("quorate check found a split-brain"),
        "{proved}"
    );
    // The same file: check proves the split-brain and exits 1 too.
    assert_eq!(quorate(&["check", path.to_str().unwrap()]).0, 1);
}

/// Audit: every rule `lint --prove` model-checks for a split-brain is registered as at least
/// a warning (a proved split-brain must not be a note). See: issue 10 item 2.
#[test]
fn issue10_split_brain_rules_are_at_least_warnings() {
    for name in quorate::cmd::check::SPLIT_BRAIN_RULES {
        let rule = model::lint::rule_by_code_or_name(name).unwrap_or_else(|| panic!("{name}"));
        assert!(
            rule.severity <= model::Severity::Warning,
            "{name} is {:?}",
            rule.severity
        );
    }
}

/// An oversized file is reported with its real size, a stream as "larger than" the limit
/// (the reader stops one byte past it). See: issue 10 item 7.
#[test]
fn issue10_oversized_input_states_its_real_size() {
    let path = temp_file("issue10-huge.conf", b"");
    let size = 101 * 1024 * 1024;
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_len(size))
        .unwrap();
    let (code, out, _) = quorate(&["lint", "--format", "json", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 2);
    let json: Value = serde_json::from_str(&out).unwrap();
    let message = diagnostics(&json)[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains(&format!("is {size} bytes")), "{message}");
    assert!(!message.contains("16777217"), "{message}");
    let limit = quorate::input::MAX_INPUT_BYTES;
    let streamed = quorate::input::source_from_bytes("<stdin>".to_string(), vec![b'#'; limit as usize + 1]);
    let message = streamed.err().map(|error| error.to_string()).unwrap_or_default();
    assert!(
        message.contains(&format!("is larger than {limit} bytes")),
        "{message}"
    );
}

/// `--authkey PATH` findings name PATH, not the default key path. See: issue 10 item 7.
#[test]
fn issue10_authkey_findings_name_the_given_path() {
    let conf = temp_file(
        "issue10-crypto.conf",
        TWO_NODE_CONF
            .replace("two_node: 1", "two_node: 1\n\twait_for_all: 1")
            .as_bytes(),
    );
    let key = temp_file("issue10-short-authkey", &[7u8; 20]);
    let (_, out, _) = quorate(&[
        "lint",
        "--format",
        "json",
        "--authkey",
        key.to_str().unwrap(),
        conf.to_str().unwrap(),
    ]);
    let json: Value = serde_json::from_str(&out).unwrap();
    let finding = diagnostics(&json)
        .into_iter()
        .find(|diagnostic| diagnostic["message"].as_str().unwrap_or("").contains("key file"))
        .cloned()
        .unwrap_or_else(|| panic!("{out}"));
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains(key.to_str().unwrap()), "{message}");
    assert!(message.contains("20 bytes"), "{message}");
}
