//! Prints where the time of one lint goes (parse, config, validate, rules) on a generated
//! 64-node, 8-link config. A measuring aid, not a test: `cargo run --release -p model --example lint_breakdown`.

use std::time::Instant;

fn main() {
    let mut text = String::from("totem {\n version: 2\n cluster_name: b\n secauth: on\n crypto_cipher: aes256\n crypto_hash: sha256\n");
    for link in 0..8 {
        text.push_str(&format!(" interface {{\n  linknumber: {link}\n }}\n"));
    }
    text.push_str("}\nnodelist {\n");
    for node in 1..=64 {
        text.push_str(&format!(" node {{\n  name: n{node}\n  nodeid: {node}\n"));
        for link in 0..8 {
            text.push_str(&format!("  ring{link}_addr: 10.{link}.0.{node}\n"));
        }
        text.push_str(" }\n");
    }
    text.push_str("}\nquorum {\n provider: corosync_votequorum\n}\n");
    let rounds = 2000;
    let options = model::lint::LintOptions::default();
    let (document, _) = model::syntax::parse(&text);
    let (config, _) = model::config::Config::from_document(&document);
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(model::syntax::parse(&text));
    }
    let parse = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(model::config::Config::from_document(&document));
    }
    let config_time = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(model::validate::validate(&document, &config, &options.host));
    }
    let validate = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(model::lint::lint(&document, &config, &options));
    }
    let lint = start.elapsed() / rounds;
    println!("parse {parse:?}  config {config_time:?}  validate {validate:?}  lint(validate+rules) {lint:?}");
}
