//! Benchmarks of the lint hot path: parse + typed config + validation + every rule.
//!
//! `lint_64_nodes_8_links` is the target (median under 1 ms); `corpus` lints every
//! file of `../shared/corpus` in one process (skipped with a message when it is absent).

use criterion::{criterion_group, criterion_main, Criterion};
use model::lint::{lint_text, LintOptions};
use std::hint::black_box;

/// A knet cluster of `nodes` nodes with `links` links each, crypto on, all options typical.
fn generated_config(nodes: u32, links: u32) -> String {
    let mut text = String::from(
        "totem {\n    version: 2\n    cluster_name: bench\n    config_version: 7\n    transport: knet\n    \
         link_mode: passive\n    secauth: on\n    crypto_cipher: aes256\n    crypto_hash: sha256\n    token: 3000\n",
    );
    for link in 0..links {
        text.push_str(&format!(
            "    interface {{\n        linknumber: {link}\n        knet_link_priority: {}\n    }}\n",
            10 + link
        ));
    }
    text.push_str("}\n\nnodelist {\n");
    for node in 1..=nodes {
        text.push_str(&format!(
            "    node {{\n        name: node{node}\n        nodeid: {node}\n        quorum_votes: 1\n"
        ));
        for link in 0..links {
            text.push_str(&format!(
                "        ring{link}_addr: 10.{link}.{}.{}\n",
                node / 250,
                node % 250 + 1
            ));
        }
        text.push_str("    }\n");
    }
    text.push_str(
        "}\n\nquorum {\n    provider: corosync_votequorum\n}\n\nlogging {\n    to_syslog: yes\n}\n",
    );
    text
}

fn bench_lint(c: &mut Criterion) {
    let text = generated_config(64, 8);
    let options = LintOptions::default();
    c.bench_function("lint_64_nodes_8_links", |b| {
        b.iter(|| lint_text(black_box(&text), &options))
    });

    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&corpus) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "conf") {
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    files.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
    }
    if files.is_empty() {
        eprintln!("corpus bench skipped: no corpus at {}", corpus.display());
        return;
    }
    c.bench_function(&format!("lint_corpus_{}_files", files.len()), |b| {
        b.iter(|| {
            for text in &files {
                black_box(lint_text(text, &options));
            }
        })
    });
}

criterion_group!(benches, bench_lint);
criterion_main!(benches);
