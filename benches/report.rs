//! Benchmark of `quorate report` on a 32-node cluster with 8 knet links (issue 15: under 2 s):
//! every section gathered in-process (`show`, `lint`, `whatif --all`, two `-s` scenarios
//! with their timelines, the model check's size guard) and the page rendered, as HTML and
//! as JSON. No plan: planning 32 nodes is the planner's cost, not the report's (reading a
//! plan file is a parse). Timing lives here only, never in tests.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

/// A corosync.conf with `count` nodes (ids 1..) on `links` knet links, addresses in
/// 198.18.0.0/15 only.
fn generated_conf(count: u32, links: u32) -> String {
    let mut nodes = String::new();
    for nodeid in 1..=count {
        nodes.push_str(&format!(
            "  node {{\n    name: pve-node-{nodeid}\n    nodeid: {nodeid}\n    quorum_votes: 1\n"
        ));
        for link in 0..links {
            nodes.push_str(&format!("    ring{link}_addr: 198.18.{link}.{nodeid}\n"));
        }
        nodes.push_str("  }\n");
    }
    let interfaces: String = (0..links)
        .map(|link| format!("  interface {{\n    linknumber: {link}\n  }}\n"))
        .collect();
    format!(
        "totem {{\n  version: 2\n  cluster_name: big\n  transport: knet\n{interfaces}}}\nnodelist {{\n{nodes}}}\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n"
    )
}

fn report(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("quorate-bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("corosync.conf");
    std::fs::write(&file, generated_conf(32, 8)).expect("write the configuration");
    let file = file.to_string_lossy().into_owned();
    let scripts = vec!["stop 3".to_string(), "isolate 1\nwait 30000\nheal".to_string()];
    let mut group = c.benchmark_group("report");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("32 nodes 8 links, 2 scenarios: gather + html", |b| {
        b.iter(|| {
            let report = quorate::report::gather(black_box(&file), &scripts, None).expect("report");
            black_box(quorate::report::html::page(&report))
        })
    });
    group.bench_function("32 nodes 8 links, 2 scenarios: gather + json", |b| {
        b.iter(|| {
            let report = quorate::report::gather(black_box(&file), &scripts, None).expect("report");
            black_box(serde_json::to_string_pretty(&report).expect("json"))
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, report);
criterion_main!(benches);
