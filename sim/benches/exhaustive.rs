//! Benchmarks of the exhaustive analysis (`quorate whatif FILE --all`): 10 distinguishable
//! nodes (auto_tie_breaker makes every node id matter, so no symmetry applies: Bell(11) =
//! 678,570 scenarios, 115,975 of them with every node up), the same 10 nodes as identical
//! nodes, and 32 identical nodes (symmetry: Bell(33) concrete scenarios from the integer
//! partitions). Targets: each under 1 s. Timing lives here only, never in tests.

use criterion::{criterion_group, criterion_main, Criterion};
use model::quorum::QuorumSettings;
use sim::exhaustive::{analyze, ExhaustiveOptions};
use std::hint::black_box;
use std::time::Duration;

fn exhaustive(c: &mut Criterion) {
    let options = ExhaustiveOptions::default();
    let mut group = c.benchmark_group("whatif --all");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    let mut distinct = QuorumSettings::plain(10);
    distinct.auto_tie_breaker = true;
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
    group.finish();
}

criterion_group!(benches, exhaustive);
criterion_main!(benches);
