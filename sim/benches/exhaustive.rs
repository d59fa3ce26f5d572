//! Benchmarks of the exhaustive analysis (`quorate whatif FILE --all`).
//!
//! Enumeration: 10 distinguishable nodes (auto_tie_breaker makes every node id matter, so no
//! symmetry applies: Bell(11) = 678,570 scenarios, 115,975 of them with every node up), the
//! same 10 nodes as identical nodes, and 32 identical nodes (symmetry: Bell(33) concrete
//! scenarios from the integer partitions). Vote sums (`Method::VoteSums`, where the
//! enumeration would take too long): 12 nodes with auto_tie_breaker, 16 nodes with
//! auto_tie_breaker, 12 nodes of 12 different votes, and 32 nodes with auto_tie_breaker
//! and unequal votes (1-3). Targets: each under 1 s, memory under 2 GiB. Timing lives here
//! only, never in tests.

use criterion::{criterion_group, criterion_main, Criterion};
use model::quorum::QuorumSettings;
use sim::exhaustive::{analyze, ExhaustiveOptions, Method};
use std::hint::black_box;
use std::time::Duration;

fn with_votes(count: u32, votes: impl Fn(u32) -> u32) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(count);
    for node in &mut settings.nodes {
        node.votes = votes(node.nodeid);
    }
    settings
}

fn atb(mut settings: QuorumSettings) -> QuorumSettings {
    settings.auto_tie_breaker = true;
    settings
}

fn exhaustive(c: &mut Criterion) {
    let options = ExhaustiveOptions::default();
    let mut group = c.benchmark_group("whatif --all");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    let distinct = atb(QuorumSettings::plain(10));
    group.bench_function("10 distinguishable nodes (atb lowest)", |b| {
        b.iter(|| black_box(analyze(black_box(&distinct), &options, &mut |_| {})))
    });

    let plain_ten = QuorumSettings::plain(10);
    let no_symmetry = ExhaustiveOptions {
        symmetry: false,
        ..options
    };
    group.bench_function("10 plain nodes without symmetry", |b| {
        b.iter(|| black_box(analyze(black_box(&plain_ten), &no_symmetry, &mut |_| {})))
    });
    group.bench_function("10 plain nodes", |b| {
        b.iter(|| black_box(analyze(black_box(&plain_ten), &options, &mut |_| {})))
    });

    let plain_32 = QuorumSettings::plain(32);
    group.bench_function("32 identical nodes", |b| {
        b.iter(|| black_box(analyze(black_box(&plain_32), &options, &mut |_| {})))
    });

    let vote_sums = [
        ("12 nodes atb (vote sums)", atb(QuorumSettings::plain(12))),
        ("16 nodes atb (vote sums)", atb(QuorumSettings::plain(16))),
        (
            "12 nodes votes 1..12 (vote sums)",
            with_votes(12, |nodeid| nodeid),
        ),
        (
            "32 nodes atb, votes 1-3 (vote sums)",
            atb(with_votes(32, |nodeid| 1 + nodeid % 3)),
        ),
    ];
    for (name, settings) in &vote_sums {
        let analysis = analyze(settings, &options, &mut |_| {}).expect("the vote-sum method applies");
        assert_eq!(analysis.scenarios.method, Method::VoteSums, "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| black_box(analyze(black_box(settings), &options, &mut |_| {})))
        });
    }
    group.finish();
}

criterion_group!(benches, exhaustive);
criterion_main!(benches);
