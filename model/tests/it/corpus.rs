//! The real-world corpus: every file of `shared/corpus/` (beside the repository, not copied
//! into it) parses without panic, prints back byte for byte, and gets a verdict from
//! `lint::lint`. It must not modify the corpus.

use std::fs;
use std::path::{Path, PathBuf};

use model::config::Config;
use model::lint::{self, LintOptions};
use model::Severity;

/// The nearest `shared/corpus` above `CARGO_MANIFEST_DIR`: `/work/shared/corpus` for a
/// checkout at `/work/main` or at `/work/wt/<name>`, and `../shared/corpus` relative to the
/// repository root in CI. Falls back to `../../shared/corpus` (then the test says it is
/// missing).
fn corpus_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/corpus"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| manifest.join("../../shared/corpus"))
}

#[test]
fn every_corpus_file_parses_round_trips_and_gets_a_verdict() {
    let dir = corpus_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "the corpus is missing at {} ({error}); it lives in shared/corpus beside the repository",
            dir.display()
        )
    });
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 100,
        "expected the corpus of about 120 files in {}, found {}",
        dir.display(),
        paths.len()
    );
    let mut summary = Vec::new();
    let mut total = [0usize; 3];
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = fs::read(path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        let (document, _) = model::syntax::parse(&text);
        assert_eq!(
            document.to_text().as_bytes(),
            bytes.as_slice(),
            "{name} does not round-trip"
        );
        let (config, _) = Config::from_document(&document);
        let diagnostics = lint::lint(&document, &config, &LintOptions::default());
        let mut counts = [0usize; 3];
        for diagnostic in &diagnostics {
            let slot = match diagnostic.severity {
                Severity::Error => 0,
                Severity::Warning => 1,
                Severity::Info => 2,
            };
            counts[slot] += 1;
            total[slot] += 1;
        }
        let codes: Vec<&str> = diagnostics.iter().map(|diagnostic| diagnostic.code).collect();
        summary.push(format!(
            "{name}: {} errors, {} warnings, {} notes [{}]",
            counts[0],
            counts[1],
            counts[2],
            codes.join(" ")
        ));
    }
    println!("{}", summary.join("\n"));
    println!(
        "corpus: {} files, {} errors, {} warnings, {} notes",
        paths.len(),
        total[0],
        total[1],
        total[2]
    );
}

#[test]
fn proxmox_files_of_the_corpus_are_detected() {
    for name in [
        "032-proxmox-pve-cluster-pve-multiple-nodes.conf",
        "108-teleimagerie-proxmox-configs-corosync.conf",
        "094-gyptazy-ProxCLMC-test-corosync.conf",
    ] {
        let path = corpus_dir().join(name);
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("corpus file {} is missing ({error})", path.display()));
        assert!(
            lint::is_proxmox(&model::syntax::parse(&text).0),
            "{name} not detected as Proxmox"
        );
    }
    let path = corpus_dir().join("013-corosync-corosync-HEAD-corosync.conf.example.conf");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|error| panic!("{} is missing ({error})", path.display()));
    assert!(!lint::is_proxmox(&model::syntax::parse(&text).0));
}
