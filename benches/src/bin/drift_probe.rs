//! Runs one fleet-drift call in a loop on the largest real Deployment of the `drift` area,
//! under the system allocator, for `perf`: `equivalent` on the unchanged pair, `diff` or
//! `assess` (diff + classify) on the changed pair.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin drift_probe [-- equivalent|diff|assess [CALLS]]
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context as _, bail};
use fleet_benches::drift_bench_pairs;
use fleet_drift::{Classifier, Differ, DriftMemory, Observed, TargetInput};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "assess".to_owned());
    let calls: usize = match args.next() {
        Some(a) => a.parse().context("CALLS must be a number")?,
        None => 1_000_000,
    };
    let (unchanged, changed) = drift_bench_pairs()?;
    let differ = Differ::kubernetes();
    let classifier = Classifier::kubernetes()?;
    let target = fleet_core::Target::new(
        fleet_core::TargetId::new("eks-prod-eu-west-1-00001")?,
        "cluster",
        "eks",
    );
    let now = chrono::DateTime::UNIX_EPOCH;
    let started = Instant::now();
    let mut seen = 0usize;
    for _ in 0..calls {
        seen += match what.as_str() {
            "equivalent" => usize::from(differ.equivalent(
                black_box(&unchanged.desired),
                black_box(&unchanged.observed),
            )?),
            "diff" => differ
                .diff(black_box(&changed.desired), black_box(&changed.observed))?
                .len(),
            "assess" => {
                let input = TargetInput::new(
                    &target,
                    now,
                    std::slice::from_ref(&changed.desired),
                    Observed::Objects(std::slice::from_ref(&changed.observed)),
                );
                classifier
                    .assess(black_box(&input), &mut DriftMemory::default())?
                    .findings
                    .len()
            }
            other => bail!("unknown call `{other}`: equivalent, diff or assess"),
        };
    }
    let per_call = started.elapsed().as_secs_f64() * 1e6 / calls.max(1) as f64;
    println!(
        "{what} on `{}`: {per_call:.2} µs per call over {calls} calls ({seen} results)",
        changed.name
    );
    Ok(())
}
