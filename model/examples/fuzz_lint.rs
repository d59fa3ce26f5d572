//! A mutation fuzzer for the parser and lint: seeds from the corpus, mutates (byte flips,
//! inserted corosync tokens, spliced and duplicated lines, truncation), and checks that
//! `lint_text` never panics and that printing a parse gives back the input byte for byte.
//! Deterministic for a given seed. Not coverage-guided (no nightly toolchain here).
//!
//! `cargo run --release -p model --example fuzz_lint -- SECONDS [SEED]`

use std::time::{Duration, Instant};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    ":",
    "#",
    "\n",
    "\r\n",
    "\t",
    " ",
    "totem",
    "nodelist",
    "node",
    "quorum",
    "interface",
    "device",
    "ring0_addr",
    "ring7_addr",
    "ring8_addr",
    "nodeid",
    "quorum_votes",
    "two_node",
    "wait_for_all",
    "auto_tie_breaker_node",
    "last_man_standing",
    "expected_votes",
    "transport",
    "knet",
    "udpu",
    "udp",
    "linknumber",
    "token",
    "consensus",
    "crypto_cipher",
    "aes256",
    "none",
    "255",
    "256",
    "4294967296",
    "-1",
    "0",
    "65536",
    "::1",
    "10.0.0.1",
    "fe80::1",
    "1 3",
    "lowest",
    "yes",
    "\u{a0}",
    "é",
    "\u{0}",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        match rng.below(7) {
            0 if !input.is_empty() => {
                let at = rng.below(input.len());
                input[at] ^= 1 << rng.below(8);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, token.iter().copied());
            }
            2 if !input.is_empty() => {
                let start = rng.below(input.len());
                let end = (start + rng.below(64)).min(input.len());
                input.drain(start..end);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + rng.below(400)).min(other.len());
                    let at = rng.below(input.len() + 1);
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            4 if !input.is_empty() => {
                let start = rng.below(input.len());
                let end = (start + rng.below(200)).min(input.len());
                let copy = input[start..end].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, copy);
            }
            5 => input.truncate(rng.below(input.len() + 1)),
            _ => {
                let at = rng.below(input.len() + 1);
                let run = vec![b"{\n}\n:x\n#"[rng.below(8)]; rng.below(600)];
                input.splice(at..at, run);
            }
        }
    }
    input.truncate(64 * 1024);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    seeds.push(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pve1/corosync.conf"),
        )
        .unwrap_or_default(),
    );
    let mut rng = Rng(seed | 1);
    let options = model::lint::LintOptions::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut inputs = 0u64;
    let mut failures = 0u64;
    while Instant::now() < deadline {
        for _ in 0..64 {
            let mut input = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &seeds, &mut input);
            let text = String::from_utf8_lossy(&input).into_owned();
            let outcome = std::panic::catch_unwind(|| {
                let (document, _) = model::syntax::parse(&text);
                assert_eq!(document.to_text(), text, "round trip");
                model::lint::lint_text(&text, &options).len()
            });
            inputs += 1;
            if outcome.is_err() {
                failures += 1;
                let path = format!("/tmp/quorate-fuzz-crash-{inputs}.conf");
                let _ = std::fs::write(&path, &input);
                eprintln!("panic on input saved to {path}");
            }
        }
    }
    println!("fuzz_lint: {inputs} inputs in {seconds} s (seed {seed}), {failures} panics");
    if failures > 0 {
        std::process::exit(1);
    }
}
