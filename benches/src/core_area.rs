//! Area `core`: the inventory against one `BTreeMap<String, String>` per target.
//!
//! Order of work, so that each figure counts only what it claims:
//!
//! 1. Generate the targets (untimed), recording the live heap *before* generating.
//! 2. Time loading the borrowed targets into a fresh [`Inventory`] with
//!    [`Inventory::put_all`] (how a platform loads a fleet: one change per target, column
//!    writes gathered); for reference, time one [`Inventory::put_ref`] per target into a
//!    second inventory while the first is alive (so that both builds take fresh memory), and
//!    drop that one. Then free the input outside the timers. The inventory's bytes are the
//!    live heap now minus the live heap before generation: slots, columns, intern tables, id
//!    maps, key lists and the retained feed.
//! 3. Time snapshots, lookups and observations on that inventory; drop it.
//! 4. The same for the peer, from a fresh copy of the same data (same seed).
//! 5. For reference, time freeing a third copy of the input on its own: neither build
//!    includes it, but a caller that builds and discards its input pays it once.
//!
//! Fleet is measured first, on a process whose heap is still cold, so an order effect, if
//! any, counts against fleet.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};
use fleet_core::synth::Rng;
use fleet_core::{Expect, Inventory, ObservedState, Reachability, Slot, TargetId};

use crate::compare::{Meter, Options, Outcome};
use crate::{
    CORE_LABELS, SEED, Table, core_shape_violations, core_targets, grouped, peer_map, ratio,
};

const FULL: usize = 1_000_000;
const QUICK: usize = 100_000;
/// Per-operation figures are the median of this many rounds (the machines are noisy).
const ROUNDS: usize = 5;
const SNAPSHOTS: usize = 20_000;
const LOOKUP_IDS: usize = 4_096;
const LOOKUPS: usize = 200_000;
const WRITES: usize = 400;

/// Goals from the issue that started the runner (for the full run).
const GOAL_BYTES_PER_TARGET: f64 = 600.0;
const GOAL_BUILD_MS: f64 = 5_000.0;
const GOAL_SNAPSHOT_NS: f64 = 1_000.0;

pub(crate) fn run(options: &Options, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    run_with(if options.quick { QUICK } else { FULL }, meter)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ns_each(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n.max(1) as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn per(n: u64, of: usize) -> f64 {
    n as f64 / of.max(1) as f64
}

fn mib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

struct Fleet {
    build: Duration,
    build_put_ref: Duration,
    bytes: usize,
    symbols: usize,
    values: usize,
    feed_len: usize,
    snapshot_ns: f64,
    snapshot_allocs: f64,
    snapshot_held_bytes: usize,
    lookup_ns: f64,
    write_held_ns: f64,
    write_held_bytes: f64,
    write_free_ns: f64,
    write_free_bytes: f64,
}

struct Peer {
    build: Duration,
    bytes: usize,
    input_bytes: usize,
    copy: Duration,
}

pub(crate) fn run_with(n: usize, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    println!("area core: fleet_core::Inventory vs one BTreeMap<String, String> per target");
    println!(
        "data: {} synthetic targets (seed {SEED}, no dependencies), generated before any timer starts",
        grouped(n as u64)
    );
    println!(
        "  each target: id, kind, substrate, 12 typed properties (7 strings, a version, 2 timestamps,"
    );
    println!(
        "  an integer, a float, a bool) and 8 labels ({});",
        CORE_LABELS.join(", ")
    );
    println!(
        "  no native id, capabilities, dependencies, desired state, observed state or history"
    );
    println!(
        "peer: Vec<BTreeMap<String, String>>, one map per target with 20 entries: the 12 properties"
    );
    println!(
        "  as text (Value's Display) and the 8 labels (label `customer` stored as `label:customer`);"
    );
    println!(
        "  no id, kind or substrate, strings shrunk to fit, maps bulk-built (its smallest form)"
    );
    println!(
        "memory: live heap bytes counted by a counting global allocator (requested sizes); the input"
    );
    println!(
        "  Vec<Target> is borrowed by both builds and freed, outside the timers, before counting"
    );
    println!();

    let fleet = measure_fleet(n, meter)?;
    let peer = measure_peer(n, meter)?;
    let input_drop = measure_input_drop(n);

    let bytes_per_target = fleet.bytes as f64 / n.max(1) as f64;
    let peer_bytes_per_target = peer.bytes as f64 / n.max(1) as f64;
    let vs_btreemap = peer_bytes_per_target / bytes_per_target;
    let build_ms = ms(fleet.build);

    let mut table = Table::new(&[
        "measure",
        "fleet Inventory",
        "peer Vec<BTreeMap>",
        "peer/fleet",
    ]);
    table
        .row(&[
            format!("build, {} targets, put_all (ms)", grouped(n as u64)),
            format!("{build_ms:.0}"),
            format!("{:.0}", ms(peer.build)),
            ratio(ms(peer.build) / build_ms),
        ])
        .row(&[
            "build, per target (ns)".to_owned(),
            format!("{:.0}", ns_each(fleet.build, n)),
            format!("{:.0}", ns_each(peer.build, n)),
            String::new(),
        ])
        .row(&[
            "  for reference: one put_ref per target (ms)".to_owned(),
            format!("{:.0}", ms(fleet.build_put_ref)),
            String::new(),
            String::new(),
        ])
        .row(&[
            "  for reference: freeing the input alone (ms)".to_owned(),
            format!("{:.0}", ms(input_drop)),
            format!("{:.0}", ms(input_drop)),
            String::new(),
        ])
        .row(&[
            "live heap (MiB)".to_owned(),
            mib(fleet.bytes),
            mib(peer.bytes),
            String::new(),
        ])
        .row(&[
            "bytes per target".to_owned(),
            format!("{bytes_per_target:.0}"),
            format!("{peer_bytes_per_target:.0}"),
            ratio(vs_btreemap),
        ])
        .row(&[
            "consistent read view: snapshot / deep clone".to_owned(),
            format!("{:.1} ns", fleet.snapshot_ns),
            format!("{:.1} ms", ms(peer.copy)),
            String::new(),
        ])
        .row(&[
            "  allocations per snapshot".to_owned(),
            format!("{:.2}", fleet.snapshot_allocs),
            String::new(),
            String::new(),
        ])
        .row(&[
            "  heap bytes one held snapshot adds".to_owned(),
            fleet.snapshot_held_bytes.to_string(),
            mib(peer.bytes) + " MiB",
            String::new(),
        ])
        .row(&[
            "get by id (ns)".to_owned(),
            format!("{:.1}", fleet.lookup_ns),
            "n/a (no id)".to_owned(),
            String::new(),
        ])
        .row(&[
            "observe, snapshot held: first write (ns)".to_owned(),
            format!("{:.0}", fleet.write_held_ns),
            "n/a".to_owned(),
            String::new(),
        ])
        .row(&[
            "  heap bytes allocated per such write".to_owned(),
            format!("{:.0}", fleet.write_held_bytes),
            String::new(),
            String::new(),
        ])
        .row(&[
            "observe, no snapshot held (ns)".to_owned(),
            format!("{:.0}", fleet.write_free_ns),
            "n/a".to_owned(),
            String::new(),
        ])
        .row(&[
            "  heap bytes allocated per such write".to_owned(),
            format!("{:.0}", fleet.write_free_bytes),
            String::new(),
            String::new(),
        ]);
    print!("{}", table.render());
    println!(
        "(builds are timed once; snapshot, lookup and observe times are the median of {ROUNDS} rounds)"
    );
    println!();
    println!(
        "inventory: {} symbols, {} interned values, {} changes retained in the feed (counted above)",
        grouped(fleet.symbols as u64),
        grouped(fleet.values as u64),
        grouped(fleet.feed_len as u64)
    );
    println!(
        "input for reference: the same targets as Vec<fleet_core::Target> hold {:.0} bytes per target",
        peer.input_bytes as f64 / n.max(1) as f64
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "goals{}: bytes/target <= {GOAL_BYTES_PER_TARGET:.0}: {} ({bytes_per_target:.0}); build <= {:.0} s: {} ({:.2} s); snapshot <= {GOAL_SNAPSHOT_NS:.0} ns: {} ({:.1} ns)",
        if n == FULL {
            ""
        } else {
            " (set for 1,000,000 targets)"
        },
        verdict(bytes_per_target <= GOAL_BYTES_PER_TARGET),
        GOAL_BUILD_MS / 1e3,
        verdict(build_ms <= GOAL_BUILD_MS),
        build_ms / 1e3,
        verdict(fleet.snapshot_ns <= GOAL_SNAPSHOT_NS),
        fleet.snapshot_ns,
    );

    Ok(Outcome {
        result: vec![
            ("targets", n.to_string()),
            ("build_ms", format!("{build_ms:.0}")),
            ("snapshot_ns", format!("{:.1}", fleet.snapshot_ns)),
            ("bytes_per_target", format!("{bytes_per_target:.0}")),
            ("vs_btreemap", ratio(vs_btreemap)),
        ],
    })
}

fn measure_fleet(n: usize, meter: &dyn Meter) -> anyhow::Result<Fleet> {
    let base = meter.live_bytes();
    let targets = core_targets(n);
    ensure!(
        targets.len() == n && core_shape_violations(&targets) == 0,
        "the core data set does not have the promised shape"
    );

    let started = Instant::now();
    let mut inventory = Inventory::new();
    inventory.put_all(&targets, Expect::Absent)?;
    let build = started.elapsed();

    let started = Instant::now();
    let mut one_by_one = Inventory::new();
    for target in &targets {
        one_by_one.put_ref(target, Expect::Absent)?;
    }
    let build_put_ref = started.elapsed();
    ensure!(
        one_by_one.len() == inventory.len(),
        "the two builds hold different numbers of targets"
    );
    drop(one_by_one);
    drop(targets);
    let bytes = meter.live_bytes().saturating_sub(base);
    ensure!(
        inventory.len() == n,
        "the inventory holds {} targets",
        inventory.len()
    );
    let stats = inventory.stats();

    // One held snapshot: how many heap bytes does it add?
    let before = meter.live_bytes();
    let held = inventory.snapshot();
    let snapshot_held_bytes = meter.live_bytes().saturating_sub(before);
    ensure!(held.len() == n, "a snapshot sees {} targets", held.len());
    drop(held);

    let allocations = meter.allocations();
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..SNAPSHOTS {
            black_box(inventory.snapshot());
        }
        rounds.push(ns_each(started.elapsed(), SNAPSHOTS));
    }
    let snapshot_ns = median(rounds);
    let snapshot_allocs = per(
        meter.allocations().saturating_sub(allocations),
        SNAPSHOTS * ROUNDS,
    );

    // Ids at random slots, taken after the memory was counted.
    let view = inventory.view();
    let slot_end = view.slot_end();
    let mut rng = Rng::new(SEED);
    let ids: Vec<TargetId> = (0..LOOKUP_IDS)
        .filter_map(|_| {
            let slot = Slot(u32::try_from(rng.below(slot_end as usize)).ok()?);
            TargetId::new(view.slot(slot)?.id()).ok()
        })
        .collect();
    ensure!(ids.len() == LOOKUP_IDS, "could not sample target ids");

    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut found = 0usize;
        for id in ids.iter().cycle().take(LOOKUPS) {
            found += usize::from(inventory.get(black_box(id.as_str())).is_some());
        }
        rounds.push(ns_each(started.elapsed(), LOOKUPS));
        ensure!(found == LOOKUPS, "lookups missed {} ids", LOOKUPS - found);
    }
    let lookup_ns = median(rounds);

    let observed = ObservedState {
        at: DateTime::<Utc>::from_timestamp(1_796_083_200, 0).unwrap_or(DateTime::UNIX_EPOCH),
        reachability: Reachability::Reachable,
        document: None,
    };
    // The observed column is empty after the build and grows on first use: observe the
    // target in the last slot once so every chunk exists before timing.
    let last = view
        .slot(Slot(slot_end.saturating_sub(1)))
        .and_then(|t| TargetId::new(t.id()).ok())
        .context("no target in the last slot")?;
    inventory.observe(&last, observed.clone())?;

    // Rounds alternate: writes each made while a fresh snapshot is held (each is the first
    // write after that snapshot), then the same writes with no snapshot alive.
    let mut held_rounds = Vec::with_capacity(ROUNDS);
    let mut free_rounds = Vec::with_capacity(ROUNDS);
    let (mut held_bytes, mut free_bytes) = (0u64, 0u64);
    for round in 0..ROUNDS {
        let writes: Vec<&TargetId> = ids
            .iter()
            .cycle()
            .skip(round * WRITES)
            .take(WRITES)
            .collect();
        let mut held_time = Duration::ZERO;
        let allocated = meter.allocated_bytes();
        for id in &writes {
            let snapshot = inventory.snapshot();
            let obs = observed.clone();
            let started = Instant::now();
            inventory.observe(id, obs)?;
            held_time += started.elapsed();
            drop(snapshot);
        }
        held_bytes += meter.allocated_bytes().saturating_sub(allocated);
        held_rounds.push(ns_each(held_time, WRITES));

        let mut free_time = Duration::ZERO;
        let allocated = meter.allocated_bytes();
        for id in &writes {
            let obs = observed.clone();
            let started = Instant::now();
            inventory.observe(id, obs)?;
            free_time += started.elapsed();
        }
        free_bytes += meter.allocated_bytes().saturating_sub(allocated);
        free_rounds.push(ns_each(free_time, WRITES));
    }

    Ok(Fleet {
        build,
        build_put_ref,
        bytes,
        symbols: stats.symbols,
        values: stats.values,
        feed_len: stats.feed_len,
        snapshot_ns,
        snapshot_allocs,
        snapshot_held_bytes,
        lookup_ns,
        write_held_ns: median(held_rounds),
        write_held_bytes: per(held_bytes, WRITES * ROUNDS),
        write_free_ns: median(free_rounds),
        write_free_bytes: per(free_bytes, WRITES * ROUNDS),
    })
}

fn measure_peer(n: usize, meter: &dyn Meter) -> anyhow::Result<Peer> {
    let base = meter.live_bytes();
    let targets = core_targets(n);
    let input_bytes = meter.live_bytes().saturating_sub(base);

    let started = Instant::now();
    let mut peer = Vec::with_capacity(n);
    for target in &targets {
        peer.push(peer_map(target));
    }
    let build = started.elapsed();
    drop(targets);
    let bytes = meter.live_bytes().saturating_sub(base);
    ensure!(
        peer.len() == n && peer.iter().all(|m| m.len() == 20),
        "the peer does not hold 20 entries per target"
    );

    // The peer's only consistent view that later writes cannot change: a deep copy.
    let started = Instant::now();
    let copy = black_box(peer.clone());
    let copy_time = started.elapsed();
    drop(copy);
    drop(peer);

    Ok(Peer {
        build,
        bytes,
        input_bytes,
        copy: copy_time,
    })
}

/// Neither build includes freeing its input; this is what freeing the same `Vec<Target>`
/// costs on its own (all at once, so only a guide).
fn measure_input_drop(n: usize) -> Duration {
    let targets = core_targets(n);
    let started = Instant::now();
    drop(black_box(targets));
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::NoMeter;

    #[test]
    fn runs_on_a_small_fleet() {
        let outcome = run_with(2_000, &NoMeter).unwrap();
        let keys: Vec<&str> = outcome.result.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "targets",
                "build_ms",
                "snapshot_ns",
                "bytes_per_target",
                "vs_btreemap"
            ]
        );
        assert_eq!(outcome.result[0].1, "2000");
    }
}
