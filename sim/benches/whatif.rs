//! Benchmarks of what-if evaluation on a 5-node cluster: one split-then-join scenario
//! through `sim::whatif::evaluate` (parse, run, report), and the same two steps applied
//! directly to a `ClusterState` (the engine alone). Timing lives here only, never in tests.

use criterion::{criterion_group, criterion_main, Criterion};
use model::quorum::{ClusterState, QuorumSettings};
use model::scenario;
use sim::whatif::{evaluate, WhatifOptions};
use std::hint::black_box;

fn whatif(c: &mut Criterion) {
    let settings = QuorumSettings::plain(5);
    let options = WhatifOptions {
        proxmox: true,
        ..WhatifOptions::default()
    };
    c.bench_function("whatif evaluate 5 nodes: split 1:4,5; join 0 1", |b| {
        b.iter(|| {
            let report = evaluate(
                black_box(&settings),
                black_box("split 1:4,5\njoin 0 1"),
                &options,
                &mut |file: &str| Err(format!("no file {file}")),
            );
            black_box(report)
        })
    });
    let script = scenario::parse("split 1:4,5\njoin 0 1").unwrap_or_default();
    let start = ClusterState::new(&settings);
    c.bench_function("engine apply 5 nodes: split then join", |b| {
        b.iter(|| {
            let Ok(mut state) = start.clone() else {
                return;
            };
            for step in &script.steps {
                black_box(state.apply(&settings, step));
            }
            black_box(state.views(&settings));
        })
    });
}

criterion_group!(benches, whatif);
criterion_main!(benches);
