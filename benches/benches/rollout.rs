//! Criterion bench of the rollout planner on the `rollout` area's data at 100,000 targets
//! (300,000 dependency edges, policy gates): one plan with the `conservative` preset and one
//! with `all-at-once`.
//!
//! `cargo bench -p fleet-benches --bench rollout`. The comparison with petgraph's
//! `toposort` is the runner's job (`compare rollout`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use fleet_benches::{plan_rollout, rollout_data};
use fleet_rollout::plan::Strategy;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
}

fn rollout(c: &mut Criterion) {
    let data = match rollout_data(100_000) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("rollout bench: {e:#}");
            return;
        }
    };
    for name in ["conservative", "all-at-once"] {
        let Ok(strategy) = Strategy::preset(name) else {
            continue;
        };
        c.bench_function(
            &format!("rollout/plan 100k targets, 300k edges, {name}"),
            |b| {
                b.iter(|| {
                    plan_rollout(black_box(&data), &strategy)
                        .map(|p| p.planned())
                        .ok()
                });
            },
        );
    }
}

fn benches() {
    let mut c = config().configure_from_args();
    rollout(&mut c);
}

criterion_main!(benches);
