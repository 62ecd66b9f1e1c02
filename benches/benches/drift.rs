//! Criterion bench of fleet-drift on the largest real Deployment of `testdata/drift/`: one
//! unchanged check (`Differ::equivalent`, desired vs the live object with its server
//! fields) and one changed diff (`Differ::diff`, the live object with its image and
//! replicas edited), both on already-parsed values.
//!
//! Sample sizes are small so that a run stays short on a 2-core machine:
//! `cargo bench -p fleet-benches --bench drift`. The comparison with json-patch is the
//! runner's job (`compare drift`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use fleet_benches::drift_bench_pairs;
use fleet_drift::Differ;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

fn drift(c: &mut Criterion) {
    let (unchanged, changed) = match drift_bench_pairs() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("drift bench: {e:#}");
            return;
        }
    };
    let differ = Differ::kubernetes();
    c.bench_function("drift/equivalent, unchanged Deployment", |b| {
        b.iter(|| {
            differ
                .equivalent(
                    black_box(&unchanged.desired),
                    black_box(&unchanged.observed),
                )
                .ok()
        });
    });
    c.bench_function("drift/diff, changed Deployment (image, replicas)", |b| {
        b.iter(|| {
            differ
                .diff(black_box(&changed.desired), black_box(&changed.observed))
                .map(|d| d.len())
                .ok()
        });
    });
}

fn benches() {
    let mut c = config().configure_from_args();
    drift(&mut c);
}

criterion_main!(benches);
