//! Criterion benches of the inventory, on the `core` data set of the comparison runner
//! (12 properties and 8 labels per target): inserting 10,000 targets into an empty
//! inventory, taking a snapshot of a 100,000-target inventory, looking targets up by id, and
//! the first observation written after a snapshot (which copies the touched chunk).
//!
//! Sample sizes are small so that a run stays short on a 2-core machine:
//! `cargo bench -p fleet-benches --bench inventory`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, criterion_main};
use fleet_benches::{SEED, core_targets};
use fleet_core::synth::Rng;
use fleet_core::{Inventory, ObservedState, Reachability, Slot, TargetId};

/// Targets inserted per iteration of the insert bench.
const INSERTS: usize = 10_000;
/// Targets in the inventory the other benches read and write.
const TARGETS: usize = 100_000;
/// Ids sampled at random slots for lookups and writes.
const IDS: usize = 1_024;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

fn observation() -> ObservedState {
    ObservedState {
        at: DateTime::<Utc>::from_timestamp(1_796_083_200, 0).unwrap_or(DateTime::UNIX_EPOCH),
        reachability: Reachability::Reachable,
        document: None,
    }
}

/// An inventory of [`TARGETS`] targets and [`IDS`] ids of targets at random slots.
fn inventory() -> (Inventory, Vec<TargetId>) {
    let mut inventory = Inventory::new();
    for target in core_targets(TARGETS) {
        black_box(inventory.insert(target).is_ok());
    }
    let view = inventory.view();
    let slot_end = view.slot_end();
    let mut rng = Rng::new(SEED);
    let ids = (0..IDS)
        .filter_map(|_| {
            let slot = Slot(u32::try_from(rng.below(slot_end as usize)).ok()?);
            TargetId::new(view.slot(slot)?.id()).ok()
        })
        .collect();
    (inventory, ids)
}

fn insert(c: &mut Criterion) {
    let targets = core_targets(INSERTS);
    c.bench_function("inventory/insert_10k_into_empty", |b| {
        b.iter_batched(
            || targets.clone(),
            |targets| {
                let mut inventory = Inventory::new();
                for target in targets {
                    black_box(inventory.insert(target).is_ok());
                }
                // Returned, so that dropping it is not timed.
                inventory
            },
            BatchSize::LargeInput,
        );
    });
}

fn reads_and_writes(c: &mut Criterion) {
    let (mut inventory, ids) = inventory();

    c.bench_function("inventory/snapshot_100k", |b| {
        b.iter(|| inventory.snapshot());
    });

    c.bench_function("inventory/get_by_id_100k", |b| {
        let mut next = ids.iter().cycle();
        b.iter(|| {
            next.next()
                .map(|id| inventory.get(black_box(id.as_str())).is_some())
        });
    });

    // The observed column grows on first use; make every chunk exist before timing.
    if let Some(last) = inventory
        .view()
        .slot(Slot(inventory.view().slot_end().saturating_sub(1)))
        .and_then(|t| TargetId::new(t.id()).ok())
    {
        black_box(inventory.observe(&last, observation()).is_ok());
    }
    let observed = observation();
    c.bench_function("inventory/observe_after_snapshot_100k", |b| {
        let mut next = ids.iter().cycle();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let Some(id) = next.next() else { break };
                let snapshot = inventory.snapshot();
                let obs = observed.clone();
                let started = Instant::now();
                black_box(inventory.observe(id, obs).is_ok());
                total += started.elapsed();
                drop(snapshot);
            }
            total
        });
    });
}

/// Every bench, with the small configuration (what `criterion_group!` would generate, written
/// out so that it carries documentation).
fn benches() {
    let mut c = config().configure_from_args();
    insert(&mut c);
    reads_and_writes(&mut c);
}

criterion_main!(benches);
