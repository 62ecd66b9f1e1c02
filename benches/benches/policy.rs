//! Criterion bench of one fleet-policy decision with the `policy` area's 50-rule set
//! (placement and scope rules: compliance class, region- and tier-scoped registry
//! allow-lists, required capabilities), over requests drawn from a 20,000-target fleet.
//!
//! Sample sizes are small so that a run stays short on a 2-core machine:
//! `cargo bench -p fleet-benches --bench policy`. The comparison with Cedar is the runner's
//! job (`compare policy`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use fleet_benches::policy_data;
use fleet_selectors::TargetView;

/// Targets in the fleet the requests draw from.
const TARGETS: usize = 20_000;
/// Requests cycled through, so that one bench iteration is one decision on varied data.
const REQUESTS: usize = 4_096;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

fn decision(c: &mut Criterion) {
    let data = match policy_data(TARGETS) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("policy bench: {e:#}");
            return;
        }
    };
    let targets: Vec<&dyn TargetView> = data.targets.iter().map(|t| t as &dyn TargetView).collect();
    let requests = data.requests(&targets, REQUESTS);
    let mut i = 0usize;
    c.bench_function("policy/evaluate, 50 rules, owned targets", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            requests
                .get(i)
                .map(|req| black_box(&data.set).evaluate(black_box(req)).outcome)
        });
    });
}

/// The same decisions against the inventory's snapshot (`TargetRef`), the way a planner or
/// executor reads targets.
fn decision_inventory(c: &mut Criterion) {
    let data = match policy_data(TARGETS) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("policy bench: {e:#}");
            return;
        }
    };
    let mut inventory = fleet_core::Inventory::new();
    for t in &data.targets {
        if let Err(e) = inventory.put(t.clone()) {
            eprintln!("policy bench: {e}");
            return;
        }
    }
    let snapshot = inventory.snapshot();
    let refs: Vec<fleet_core::TargetRef<'_>> = snapshot.iter().collect();
    let targets: Vec<&dyn TargetView> = refs.iter().map(|t| t as &dyn TargetView).collect();
    let requests = data.requests(&targets, REQUESTS);
    let mut i = 0usize;
    c.bench_function("policy/evaluate, 50 rules, inventory targets", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            requests
                .get(i)
                .map(|req| black_box(&data.set).evaluate(black_box(req)).outcome)
        });
    });
}

fn benches() {
    let mut c = config().configure_from_args();
    decision(&mut c);
    decision_inventory(&mut c);
}

criterion_main!(benches);
