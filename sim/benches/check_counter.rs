//! Benchmark of `quorate check` at scale (issue 16 item 2): the counter abstraction
//! (`sim::check::counter`) on 9, 16 and 32 identical nodes at the default fault budget (2),
//! 5 nodes with last_man_standing (window 1000 ms, every delivery order), and 9 nodes of two
//! vote classes; each one exhaustive one-shot run with its states, time and the process's
//! peak resident memory, then a criterion benchmark of the 6-node run for regressions.
//! Timing lives here only, never in tests.
//!
//! Run: `cargo bench -p sim --bench check_counter` (`QUORATE_BENCH_THREADS=N` for N worker
//! threads; targets: 9 nodes < 30 s, 16 < 60 s,
//! 32 < 5 min, 5 nodes LMS < 30 s, memory < 2 GiB). Under `cargo test --all-targets` (a
//! debug build, `--test`) only a 5-node budget-1 run is made, as a smoke test.

use criterion::Criterion;
use model::quorum::QuorumSettings;
use sim::check::counter::{check_auto, check_counter, check_counter_keeping_history};
use sim::check::{check_with, CheckMethod, CheckOptions, Hooks, ModelOptions};
use std::hint::black_box;
use std::time::Instant;

/// The options of a run at `max_faults`, on `QUORATE_BENCH_THREADS` worker threads (1 when
/// unset, as `quorate check` without `--threads`).
fn options(max_faults: u8) -> CheckOptions {
    let threads = std::env::var("QUORATE_BENCH_THREADS")
        .ok()
        .and_then(|threads| threads.parse().ok())
        .unwrap_or(1);
    CheckOptions {
        model: ModelOptions {
            max_faults,
            ..ModelOptions::default()
        },
        threads,
        ..CheckOptions::default()
    }
}

/// Which path a one-shot takes: `check_auto`'s choice, or one forced by
/// `QUORATE_BENCH_METHOD=explicit|counter|keep-history` (the comparisons of
/// docs/check-scale.md; `keep-history`: the counter path without forgetting).
fn run(settings: &QuorumSettings, options: &CheckOptions) -> sim::check::CheckReport {
    let mut hooks = Hooks {
        progress: &mut |progress| {
            eprintln!(
                "  {}: {} states, depth {}, {:.0} s",
                progress.phase,
                progress.states,
                progress.depth,
                progress.elapsed.as_secs_f64()
            )
        },
        cancelled: &|| false,
    };
    let method = std::env::var("QUORATE_BENCH_METHOD").unwrap_or_default();
    let result = match method.as_str() {
        "explicit" => check_with(settings, options, &mut hooks),
        "counter" => check_counter(settings, options, &mut hooks),
        "keep-history" => check_counter_keeping_history(settings, options, &mut hooks),
        _ => check_auto(settings, options, &mut hooks),
    };
    match result {
        Ok(report) => report,
        Err(error) => panic!("check failed: {error}"),
    }
}

/// One exhaustive run with its figures.
fn one_shot(name: &str, settings: &QuorumSettings, options: &CheckOptions) {
    let start = Instant::now();
    let report = run(settings, options);
    let seconds = start.elapsed().as_secs_f64();
    let verdicts: Vec<String> = report
        .properties
        .iter()
        .map(|verdict| {
            if verdict.holds {
                format!("{} holds", verdict.name)
            } else {
                format!(
                    "{} violated in {} steps",
                    verdict.name,
                    verdict.counterexample.len()
                )
            }
        })
        .collect();
    println!(
        "{name}: {:?}, {} unique / {} generated states in {seconds:.2} s, depth {}; {}",
        report.method,
        report.states,
        report.generated,
        report.depth,
        verdicts.join(", ")
    );
    if let Some(peak) = peak_rss() {
        println!("  peak resident memory of the bench process so far: {peak}");
    }
}

/// The process's peak resident set size (`VmHWM` of /proc/self/status), if readable.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .map(|value| value.trim().to_string())
}

fn with(count: u32, change: impl Fn(&mut QuorumSettings)) -> QuorumSettings {
    let mut settings = QuorumSettings::plain(count);
    change(&mut settings);
    settings
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--test" || arg == "--list");
    if quick || cfg!(debug_assertions) {
        let report = run(&QuorumSettings::plain(5), &options(1));
        assert_eq!(report.method, CheckMethod::Counter);
        return;
    }
    // Which runs: all by default, or those whose name contains the first free argument.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let lms = |count| {
        with(count, |s| {
            s.last_man_standing = true;
            s.last_man_standing_window_ms = 1000;
        })
    };
    let runs: Vec<(String, QuorumSettings)> = vec![
        ("5 nodes last_man_standing".to_string(), lms(5)),
        ("9 identical nodes".to_string(), QuorumSettings::plain(9)),
        (
            "9 nodes, votes 1 x5 and 2 x4".to_string(),
            with(9, |s| s.nodes.iter_mut().skip(5).for_each(|node| node.votes = 2)),
        ),
        ("16 identical nodes".to_string(), QuorumSettings::plain(16)),
        ("32 identical nodes".to_string(), QuorumSettings::plain(32)),
    ];
    // `QUORATE_BENCH_NODES=N[,BUDGET[,OPTION]]`: one run of N identical nodes instead,
    // OPTION one of `lms` (last_man_standing, window 1000 ms), `wfa` (wait_for_all).
    if let Ok(spec) = std::env::var("QUORATE_BENCH_NODES") {
        let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
        let count = parts.first().and_then(|part| part.parse().ok()).unwrap_or(9);
        let budget = parts.get(1).and_then(|part| part.parse().ok()).unwrap_or(2);
        let option = parts.get(2).copied().unwrap_or("");
        let settings = match option {
            "lms" => lms(count),
            "wfa" => with(count, |s| s.wait_for_all = Some(true)),
            _ => QuorumSettings::plain(count),
        };
        one_shot(
            &format!("{count} identical nodes {option}, budget {budget}"),
            &settings,
            &options(budget),
        );
        return;
    }
    for (name, settings) in &runs {
        if filter
            .as_ref()
            .is_none_or(|filter| name.contains(filter.as_str()))
        {
            one_shot(&format!("{name}, budget 2"), settings, &options(2));
        }
    }
    if filter.is_none() {
        let mut criterion = Criterion::default().sample_size(10).configure_from_args();
        let six = QuorumSettings::plain(6);
        criterion.bench_function("check counter 6 nodes budget 2", |bench| {
            bench.iter(|| black_box(run(&six, &options(2))).states)
        });
        criterion.final_summary();
    }
}
