//! Decides the `policy` area's requests in a loop with the 50-rule set, under the system
//! allocator, for `perf` and callgrind: the data is built first, then only
//! `PolicySet::evaluate` runs.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin policy_probe [-- TARGETS [DECISIONS [inventory|bulk]]]
//! ```
//!
//! With `bulk`, DECISIONS is a number of rounds of one release against every target of an
//! inventory built like the runner's (`PolicySet::evaluate_bulk` through a selector index).
//!
//! With `inventory`, the targets are read through an inventory snapshot's `TargetRef`s (as
//! a planner reads them) instead of owned `Target`s. The defaults (100,000 targets, up to
//! 200,000 distinct requests) are the runner's full run; after the loop, each distinct
//! request is decided once more with its own timer, and the p50 of those is printed, as the
//! runner reports it.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Context as _;
use fleet_benches::{PolicyData, policy_data};
use fleet_policy::Outcome;
use fleet_selectors::TargetView;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let targets: usize = match args.next() {
        Some(a) => a.parse().context("TARGETS must be a number")?,
        // as many as the runner's full run decides over
        None => 100_000,
    };
    let decisions: usize = match args.next() {
        Some(a) => a.parse().context("DECISIONS must be a number")?,
        None => 1_000_000,
    };
    let mode = args.next();
    let inventory_mode = mode.as_deref() == Some("inventory");
    let data = policy_data(targets)?;
    if mode.as_deref() == Some("bulk") {
        return bulk(&data, targets, decisions);
    }
    let mut inventory: fleet_core::Inventory = data.targets.iter().cloned().collect();
    let snapshot = inventory.snapshot();
    let refs: Vec<fleet_core::TargetRef<'_>> = snapshot.iter().collect();
    let views: Vec<&dyn TargetView> = if inventory_mode {
        refs.iter().map(|t| t as &dyn TargetView).collect()
    } else {
        data.targets.iter().map(|t| t as &dyn TargetView).collect()
    };
    // as many distinct requests as the runner times (200,000 over random targets), so the
    // probe sees the same cache behaviour
    let requests = data.requests(&views, decisions.clamp(1, 200_000));
    let started = Instant::now();
    let mut allowed = 0usize;
    for i in 0..decisions {
        if let Some(req) = requests.get(i % requests.len()) {
            allowed += usize::from(
                black_box(&data.set).evaluate(black_box(req)).outcome == Outcome::Allow,
            );
        }
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / decisions.max(1) as f64;
    // then each distinct request once, timed one by one as the runner times them
    let mut times: Vec<std::time::Duration> = Vec::with_capacity(requests.len());
    for req in &requests {
        let t = Instant::now();
        black_box(black_box(&data.set).evaluate(black_box(req)).outcome);
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
    println!(
        "{targets} {} targets: {per:.2} µs per decision over {decisions} decisions ({allowed} allowed); timed one by one: p50 {:.2} µs",
        if inventory_mode { "inventory" } else { "owned" },
        p50.as_secs_f64() * 1e6
    );
    Ok(())
}

/// `rounds` bulk evaluations of one release over an inventory of `targets`, built as the
/// runner builds it (the generated fleet loaded with `into_inventory`).
fn bulk(data: &PolicyData, targets: usize, rounds: usize) -> anyhow::Result<()> {
    use fleet_core::synth::{FleetSpec, generate, schema};
    let fleet = generate(
        &FleetSpec::new(targets)
            .seed(fleet_benches::SEED)
            .edges_per_target(0),
    );
    let inventory = fleet.into_inventory(Default::default())?;
    let view = inventory.view();
    let index = fleet_selectors::SelectorIndex::build(view);
    let all = index.query(&fleet_selectors::compile("", &schema())?, view, data.at)?;
    let (workload, artifact) = data.releases.get(1).context("no release")?;
    let started = Instant::now();
    for _ in 0..rounds {
        let req =
            fleet_policy::BulkRequest::new("release", workload, artifact, &data.actor, data.at);
        black_box(data.set.evaluate_bulk(&index, view, &all, &req)?);
    }
    println!(
        "{targets} inventory targets: {:.1} ms per bulk release over {rounds} rounds",
        started.elapsed().as_secs_f64() * 1e3 / rounds.max(1) as f64
    );
    Ok(())
}
