//! Benchmark of `quorate check`: the 5-node plain cluster with a fault budget of 3, checked
//! exhaustively (DFS, symmetry, all cores), with states per second; 5 nodes with
//! last_man_standing (window 1000 ms) at the default budget, as `quorate check` runs it
//! (one thread, every delivery order); the reduction symmetry brings (5 nodes, budget 1,
//! with and without it); and a criterion benchmark of the 3-node check for regressions.
//! Timing lives here only, never in tests.
//!
//! Run: `cargo bench -p sim --bench check` (targets: the budget-3 run under 30 s on 2 cores;
//! the last_man_standing run under 30 s and 2 GiB, issue 9 item 4).

use criterion::Criterion;
use model::quorum::QuorumSettings;
use sim::check::{check, CheckOptions, ModelOptions, OperatorActions};
use std::hint::black_box;
use std::time::Instant;

fn options(max_faults: u8, threads: usize, symmetry: bool) -> CheckOptions {
    CheckOptions {
        model: ModelOptions {
            max_faults,
            operator: OperatorActions::default(),
            fixed_order: false,
        },
        threads,
        symmetry,
        ..CheckOptions::default()
    }
}

/// One exhaustive run, printed like stateright's bench.sh.
fn one_shot(name: &str, settings: &QuorumSettings, check_options: &CheckOptions) -> usize {
    let start = Instant::now();
    let report = match check(settings, check_options, &mut |_| {}) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("{name}: {error}");
            return 0;
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let holds = report.properties.iter().all(|verdict| verdict.holds);
    println!(
        "{name}: {} unique / {} generated states in {seconds:.2} s: {:.0} unique/s, {:.0} generated/s, depth {}, all properties hold: {holds}",
        report.states,
        report.generated,
        report.states as f64 / seconds,
        report.generated as f64 / seconds,
        report.depth
    );
    if let Some(peak) = peak_rss() {
        println!("  peak resident memory of the bench process so far: {peak}");
    }
    report.states
}

/// The process's peak resident set size (`VmHWM` of /proc/self/status), if readable.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .map(|value| value.trim().to_string())
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--test" || arg == "--list");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let five = QuorumSettings::plain(5);
    if !quick {
        // Release only: `cargo test --all-targets` runs this file in a debug build, where
        // this run takes minutes and its time means nothing.
        if !cfg!(debug_assertions) {
            let mut lms = QuorumSettings::plain(5);
            lms.last_man_standing = true;
            lms.last_man_standing_window_ms = 1000;
            one_shot(
                "5 nodes, last_man_standing, window 1000 ms, default budget (2), 1 thread",
                &lms,
                &options(ModelOptions::default().max_faults, 1, true),
            );
        }
        one_shot(
            &format!("5 nodes, budget 3, DFS + symmetry, {threads} threads"),
            &five,
            &options(3, threads, true),
        );
        let reduced = one_shot(
            "5 nodes, budget 1, DFS + symmetry, 1 thread",
            &five,
            &options(1, 1, true),
        );
        let full = one_shot(
            "5 nodes, budget 1, DFS, no symmetry, 1 thread",
            &five,
            &options(1, 1, false),
        );
        if reduced > 0 {
            println!(
                "symmetry reduction (5 nodes, budget 1): {:.0}x",
                full as f64 / reduced as f64
            );
        }
    }
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    let three = QuorumSettings::plain(3);
    let three_options = options(2, 1, true);
    criterion.bench_function("check 3 nodes, budget 2, DFS + symmetry", |bencher| {
        bencher.iter(|| black_box(check(black_box(&three), &three_options, &mut |_| {})))
    });
    criterion.final_summary();
}
