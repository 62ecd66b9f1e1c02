//! Times the inventory's insert loop alone, under the system allocator (no counting
//! allocator), and reading the same input without inserting it: the figures BENCHMARKS.md
//! uses to split the `core` runner's build time. Then times `SelectorIndex::build` on the
//! result.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin build_probe [-- TARGETS]
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::Context as _;
use fleet_core::synth::{FleetSpec, generate};
use fleet_core::{Expect, Inventory};

fn main() -> anyhow::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().context("TARGETS must be a number")?,
        None => 1_000_000,
    };
    let fleet = generate(&FleetSpec::new(n).seed(1).edges_per_target(0));

    let started = Instant::now();
    let mut sum = 0usize;
    for t in &fleet.targets {
        sum += t.id.as_str().len() + t.kind.len() + t.substrate.len();
        for (k, v) in &t.properties {
            sum += k.len() + v.as_str().map_or(0, str::len);
        }
        for (k, v) in &t.labels {
            sum += k.len() + v.len();
        }
    }
    let read = started.elapsed();
    black_box(sum);

    let started = Instant::now();
    let mut inventory = Inventory::new();
    for t in &fleet.targets {
        inventory.put_ref(t, Expect::Absent)?;
    }
    let build = started.elapsed();
    black_box(&inventory);

    println!("targets: {n} (synthetic, seed 1, no dependencies)");
    println!("read the input only: {:.0} ms", read.as_secs_f64() * 1e3);
    println!("insert loop (put_ref): {:.0} ms", build.as_secs_f64() * 1e3);

    // The selector index over the same snapshot, three builds (the figure is the median).
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let index = fleet_selectors::SelectorIndex::build(inventory.view());
        times.push(started.elapsed());
        black_box(&index);
    }
    times.sort_unstable();
    if let Some(t) = times.get(1) {
        println!(
            "selector index build (median of 3): {:.0} ms",
            t.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
