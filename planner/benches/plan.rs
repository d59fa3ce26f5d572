//! Planning benchmarks (issue 11 targets, release, F=1): add-node on 5 nodes < 200 ms,
//! rolling-restart on 16 nodes < 2 s. Run with `cargo bench -p planner`.

use criterion::{criterion_group, criterion_main, Criterion};
use planner::{plan, Endpoint, PlanOptions, PlanOutcome};

fn cluster(count: u32, version: u64) -> String {
    let mut text = format!(
        "totem {{\n    version: 2\n    cluster_name: bench\n    transport: knet\n    config_version: {version}\n}}\n\nnodelist {{\n"
    );
    for id in 1..=count {
        text.push_str(&format!(
            "    node {{\n        name: n{id}\n        nodeid: {id}\n        ring0_addr: 198.18.0.{id}\n    }}\n"
        ));
    }
    text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n}\n");
    text
}

fn endpoint(name: &str, text: String) -> Endpoint {
    Endpoint {
        name: name.to_string(),
        text,
    }
}

fn bench(c: &mut Criterion) {
    let five = endpoint("five.conf", cluster(5, 3));
    let six = endpoint("six.conf", cluster(6, 4));
    let options = PlanOptions::default();
    c.bench_function("plan add-node on 5 nodes (F=1)", |b| {
        b.iter(|| {
            let outcome = plan(Some(std::hint::black_box(&five)), &six, &options).expect("plan");
            assert!(matches!(outcome, PlanOutcome::Found(_)));
        })
    });
    let sixteen = endpoint("sixteen.conf", cluster(16, 1));
    let rolling = PlanOptions {
        rolling_restart: true,
        ..PlanOptions::default()
    };
    let mut group = c.benchmark_group("slow");
    group.sample_size(10);
    group.bench_function("plan rolling-restart on 16 nodes (F=1)", |b| {
        b.iter(|| {
            let outcome = plan(Some(std::hint::black_box(&sixteen)), &sixteen, &rolling).expect("plan");
            assert!(matches!(outcome, PlanOutcome::Found(_)));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
