//! Area `rollout`: the wave planner against petgraph's plain `toposort` on the same graph.
//!
//! Order of work, so that each figure counts only what it claims:
//!
//! 1. Generate the fleet with its dependency DAG (`fleet_core::synth`, seed
//!    [`SEED`](crate::SEED), three edges per target) and load it into an inventory; build the
//!    policy gates ([`rollout_data`]); build petgraph's `Graph` from the same edges (slot
//!    numbers as node indices). All untimed, except the petgraph build, which is reported
//!    for reference.
//! 2. Time `Planner::plan` with the `conservative` preset (one box, doubling waves up to
//!    1,000, one region at a time, smallest regions first, an hour's bake) and the gates,
//!    median of three; the same with `all-at-once` (no strategy constraint: the graph's
//!    levels). Each plan is dropped outside its timer. Count the bytes allocated during a
//!    plan and the bytes the plan holds afterwards.
//! 3. Time `petgraph::algo::toposort` on the petgraph graph, median of three.
//! 4. Guards, before any figure is printed: every selected target is planned or excluded;
//!    every edge between planned targets goes from an earlier wave to a later one; an
//!    excluded dependency excludes its dependents; petgraph sorted every node.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::ensure;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, Rng, generate, schema};
use fleet_core::{Actor, Hold, HoldScope, Schema, Snapshot, TargetId};
use fleet_rollout::plan::{Gates, Plan, Planner, PolicyLimit, Strategy};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::compare::{Meter, Options, Outcome};
use crate::{SEED, Table, grouped, ratio};

const FULL: usize = 1_000_000;
const QUICK: usize = 100_000;
const EDGES_PER_TARGET: usize = 3;
const ROUNDS: usize = 3;

/// Goals from the issue (fleet-rollout, Performance).
const GOAL_100K_MS: f64 = 200.0;
const GOAL_1M_MS: f64 = 2_000.0;

pub(crate) fn run(options: &Options, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    run_with(if options.quick { QUICK } else { FULL }, meter)
}

/// What the `rollout` area and the `rollout` criterion bench plan on.
#[derive(Debug)]
pub struct RolloutData {
    /// The fleet, with its dependency DAG.
    pub snapshot: Snapshot,
    /// Its schema.
    pub schema: Schema,
    /// Policy gates: 0.1% denied and 0.02% held (among the 2% of targets generated last,
    /// on which few depend), 2% behind a window opening within 12 hours, 1% waiting for
    /// approvals, and at most 20 `pci` targets per region in flight.
    pub gates: Gates,
    /// The instant plans are made for.
    pub now: DateTime<Utc>,
    /// Dependency edges between targets of the fleet.
    pub edges: usize,
}

/// The instant the area plans at.
#[must_use]
pub fn rollout_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Builds the `rollout` data set: `n` synthetic targets (seed [`SEED`], three dependency
/// edges per target) in an inventory, and gates drawn from the same seed.
///
/// # Errors
///
/// When the generated fleet does not load (it always does).
pub fn rollout_data(n: usize) -> anyhow::Result<RolloutData> {
    let fleet = generate(
        &FleetSpec::new(n)
            .seed(SEED)
            .edges_per_target(EDGES_PER_TARGET),
    );
    let edges = fleet.targets.iter().map(|t| t.depends_on.len()).sum();
    let mut rng = Rng::new(SEED ^ 0x0011_a0e7);
    let now = rollout_now();
    let mut gates = Gates::new();
    let mut pci = Vec::new();
    // Denials and holds fall on the targets generated last, which few others depend on:
    // with three random dependencies per target, nearly every target depends
    // transitively on any random 1% of the fleet, and the plan would exclude almost all.
    let tail = n - n / 50;
    for (i, t) in fleet.targets.iter().enumerate() {
        let id = t.id.as_str();
        let x = rng.unit();
        if i >= tail && x < 0.05 {
            gates = gates.deny(id, ["placement/compliance"]);
        } else if i >= tail && x < 0.06 {
            gates = gates.hold(hold(&t.id, now));
        } else if x < 0.02 {
            let opens = now + TimeDelta::minutes(rng.below(12 * 60) as i64 + 1);
            gates = gates.window(id, Some(opens));
        } else if x < 0.03 {
            gates = gates.pending_approval(id, ["approvals/prod-two-person"]);
        }
        if t.properties.get("compliance").and_then(|v| v.as_str()) == Some("pci") {
            pci.push(id.to_owned());
        }
    }
    gates = gates.limit(
        PolicyLimit {
            rule: "concurrency/pci-per-region".into(),
            group_by: "region".into(),
            max_in_flight: 20,
        },
        pci,
    );
    let mut inventory = fleet.into_inventory(Default::default())?;
    Ok(RolloutData {
        snapshot: inventory.snapshot(),
        schema: schema(),
        gates,
        now,
        edges,
    })
}

fn hold(target: &TargetId, now: DateTime<Utc>) -> Hold {
    Hold {
        target: target.clone(),
        scope: HoldScope::Target,
        actor: Actor::human("oncall@example.com"),
        reason: "INC-4211: investigating".into(),
        placed_at: now - TimeDelta::hours(1),
        expires_at: now + TimeDelta::hours(7),
    }
}

/// Plans `data` with `strategy`.
///
/// # Errors
///
/// The planner's.
pub fn plan_rollout(data: &RolloutData, strategy: &Strategy) -> anyhow::Result<Plan> {
    Ok(Planner::new(&data.snapshot, &data.schema, strategy)
        .gates(&data.gates)
        .plan(data.now)?)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The dependency edges of the snapshot as slot pairs (dependency, dependent).
fn slot_edges(snapshot: &Snapshot) -> Vec<(u32, u32)> {
    let mut edges = Vec::new();
    for t in snapshot.iter() {
        for &sym in t.dependency_syms() {
            if let Some(d) = snapshot.slot_of_sym(sym) {
                edges.push((d.0, t.slot().0));
            }
        }
    }
    edges
}

/// The guards: every target accounted for, every edge respected.
fn check(plan: &Plan, snapshot: &Snapshot, edges: &[(u32, u32)]) -> anyhow::Result<()> {
    const EXCLUDED: u32 = u32::MAX - 1;
    let mut wave = vec![u32::MAX; snapshot.slot_end() as usize];
    for w in plan.waves() {
        for t in w.targets() {
            if let Some(x) = wave.get_mut(t.slot.index()) {
                ensure!(*x == u32::MAX, "`{}` planned twice", t.id);
                *x = w.index() as u32;
            }
        }
    }
    for e in plan.excluded() {
        if let Some(x) = wave.get_mut(e.slot.index()) {
            ensure!(*x == u32::MAX, "`{}` both planned and excluded", e.id);
            *x = EXCLUDED;
        }
    }
    ensure!(
        wave.iter().all(|&w| w != u32::MAX),
        "a target is neither planned nor excluded"
    );
    let at = |s: u32| wave.get(s as usize).copied().unwrap_or(u32::MAX);
    for &(d, t) in edges {
        let (wd, wt) = (at(d), at(t));
        if wd == EXCLUDED {
            ensure!(wt == EXCLUDED, "slot {t} planned after excluded slot {d}");
        } else if wt != EXCLUDED {
            ensure!(
                wd < wt,
                "slot {t} (wave {wt}) not after slot {d} (wave {wd})"
            );
        }
    }
    Ok(())
}

struct Timed {
    ms: f64,
    waves: usize,
    planned: usize,
    excluded: usize,
    allocated: u64,
    held: u64,
}

fn time_plan(
    data: &RolloutData,
    strategy: &Strategy,
    edges: &[(u32, u32)],
    meter: &dyn Meter,
) -> anyhow::Result<Timed> {
    // one untimed plan for the guards and the memory figures
    let live = meter.live_bytes();
    let allocated = meter.allocated_bytes();
    let plan = plan_rollout(data, strategy)?;
    let allocated = meter.allocated_bytes() - allocated;
    let held = meter.live_bytes().saturating_sub(live) as u64;
    check(&plan, &data.snapshot, edges)?;
    let (waves, planned, excluded) = (plan.waves().len(), plan.planned(), plan.excluded().len());
    drop(plan);
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let plan = plan_rollout(data, strategy)?;
        times.push(ms(started.elapsed()));
        black_box(&plan);
        drop(plan);
    }
    Ok(Timed {
        ms: median(times),
        waves,
        planned,
        excluded,
        allocated,
        held,
    })
}

pub(crate) fn run_with(n: usize, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    println!("area rollout: fleet_rollout::plan::Planner vs petgraph::algo::toposort");
    println!(
        "data: {} synthetic targets (seed {SEED}, {EDGES_PER_TARGET} dependency edges per target to earlier targets),",
        grouped(n as u64)
    );
    println!(
        "  gates: 0.1% denied and 0.02% held (among the last 2% generated, on which few depend),"
    );
    println!("  2% behind a window, 1% pending approval, pci at most 20 per region in flight");
    let data = rollout_data(n)?;
    let edges = slot_edges(&data.snapshot);
    ensure!(edges.len() == data.edges, "edges lost in the inventory");
    println!(
        "  {} targets, {} edges; built before any timer starts",
        grouped(data.snapshot.len() as u64),
        grouped(edges.len() as u64)
    );

    let conservative = Strategy::preset("conservative")?;
    let all_at_once = Strategy::preset("all-at-once")?;
    let ours = time_plan(&data, &conservative, &edges, meter)?;
    let levels = time_plan(&data, &all_at_once, &edges, meter)?;

    // the peer: the same graph in petgraph, sorted
    let started = Instant::now();
    let mut graph: DiGraph<(), ()> =
        DiGraph::with_capacity(data.snapshot.slot_end() as usize, edges.len());
    for _ in 0..data.snapshot.slot_end() {
        graph.add_node(());
    }
    for &(d, t) in &edges {
        graph.add_edge(NodeIndex::new(d as usize), NodeIndex::new(t as usize), ());
    }
    let build_ms = ms(started.elapsed());
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let order = petgraph::algo::toposort(&graph, None);
        times.push(ms(started.elapsed()));
        let order =
            order.map_err(|c| anyhow::anyhow!("petgraph found a cycle at {:?}", c.node_id()))?;
        ensure!(order.len() == graph.node_count(), "petgraph sorted a part");
        black_box(&order);
    }
    let topo_ms = median(times);

    let mut t = Table::new(&[
        "measure",
        "time",
        "waves",
        "planned",
        "excluded",
        "allocated",
        "held",
    ]);
    t.row(&[
        "plan, conservative preset + gates".to_owned(),
        format!("{:.1} ms", ours.ms),
        grouped(ours.waves as u64),
        grouped(ours.planned as u64),
        grouped(ours.excluded as u64),
        mib(ours.allocated),
        mib(ours.held),
    ]);
    t.row(&[
        "plan, all-at-once + gates (graph levels)".to_owned(),
        format!("{:.1} ms", levels.ms),
        grouped(levels.waves as u64),
        grouped(levels.planned as u64),
        grouped(levels.excluded as u64),
        mib(levels.allocated),
        mib(levels.held),
    ]);
    t.row(&[
        "petgraph toposort".to_owned(),
        format!("{topo_ms:.1} ms"),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    t.row(&[
        "petgraph graph build (reference)".to_owned(),
        format!("{build_ms:.1} ms"),
    ]);
    print!("{}", t.render());
    println!(
        "(times are medians of {ROUNDS}; `allocated` counts every byte requested while planning, an upper bound on the peak; `held` is what the plan keeps)"
    );
    let goal = if n >= FULL { GOAL_1M_MS } else { GOAL_100K_MS };
    println!(
        "goal at {} targets: plan <= {goal:.0} ms: {}",
        grouped(n as u64),
        if ours.ms <= goal { "met" } else { "NOT met" }
    );
    Ok(Outcome {
        result: vec![
            ("targets", n.to_string()),
            ("edges", edges.len().to_string()),
            ("plan_ms", format!("{:.1}", ours.ms)),
            ("toposort_ms", format!("{topo_ms:.1}")),
            ("overhead", ratio(ours.ms / topo_ms)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::NoMeter;

    #[test]
    fn a_small_run_passes_its_guards() {
        let out = run_with(3_000, &NoMeter).unwrap();
        let keys: Vec<&str> = out.result.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["targets", "edges", "plan_ms", "toposort_ms", "overhead"]
        );
        assert!(
            out.result_line("rollout")
                .starts_with("RESULT rollout targets=3000 edges=")
        );
    }

    #[test]
    fn the_guards_catch_a_broken_plan() {
        let data = rollout_data(500).unwrap();
        let plan = plan_rollout(&data, &Strategy::preset("fast").unwrap()).unwrap();
        let mut edges = slot_edges(&data.snapshot);
        check(&plan, &data.snapshot, &edges).unwrap();
        // an edge the plan never saw, backwards: from the last wave's target to the first's
        let first = plan.wave(0).unwrap().targets().next().unwrap().slot.0;
        let last = plan
            .waves()
            .last()
            .unwrap()
            .targets()
            .next()
            .unwrap()
            .slot
            .0;
        edges.push((last, first));
        assert!(check(&plan, &data.snapshot, &edges).is_err());
    }
}
