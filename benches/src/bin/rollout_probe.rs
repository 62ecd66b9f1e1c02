//! Plans the `rollout` area's data several times under the system allocator, for `perf`:
//! the data is built first, then only `Planner::plan` runs.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin rollout_probe [-- TARGETS [PRESET [ROUNDS]]]
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::Context as _;
use fleet_benches::{plan_rollout, rollout_data};
use fleet_rollout::plan::Strategy;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next() {
        Some(a) => a.parse().context("TARGETS must be a number")?,
        None => 100_000,
    };
    let preset = args.next().unwrap_or_else(|| "conservative".to_owned());
    let rounds: usize = match args.next() {
        Some(a) => a.parse().context("ROUNDS must be a number")?,
        None => 10,
    };
    let data = rollout_data(n)?;
    let strategy = Strategy::preset(&preset)?;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let plan = plan_rollout(&data, &strategy)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        black_box(&plan);
    }
    times.sort_by(f64::total_cmp);
    let plan = plan_rollout(&data, &strategy)?;
    println!(
        "{n} targets, {} edges, {preset}: {} waves, {} planned; plan median {:.1} ms (min {:.1})",
        data.edges,
        plan.waves().len(),
        plan.planned(),
        times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
        times.first().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
