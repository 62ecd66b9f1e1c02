//! The indexed path and the scan path return the same targets, under random selectors and
//! random mutations interleaved with queries (a differential test: the scan is the oracle).

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, generate, schema};
use fleet_core::{
    Document, Inventory, InventoryOptions, ObservedState, Reachability, Target, TargetId,
};
use fleet_selectors::{CompiledSelector, SelectorIndex, compile, parse};
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// Predicates over the synthetic schema, chosen to hit every index structure: strings and
/// globs, versions as prefixes and ranges, bucketed numbers and instants, labels, label keys,
/// capabilities, builtins, and document paths (scan only).
const PREDICATES: &[&str] = &[
    r#"region = "eu-west-1""#,
    r#"region in ("eu-*", "europe-*", "*europe")"#,
    r#"region ~ "us-*""#,
    r#"region not in ("us-east-1", "westeurope")"#,
    r#"region != "eu-central-1""#,
    "tier = production",
    "tier in (staging, development)",
    "version = 1.29",
    "version = 1.30.4",
    "version >= 1.30",
    "version < 1.29",
    "version in (1.27, 1.31)",
    "version != 1.28",
    "nodes > 100",
    "nodes <= 5",
    "nodes = 12",
    "nodes in (1, 2, 3)",
    "cost_per_hour < 3.5",
    "cost_per_hour >= 20.25",
    "last_touched < now - 30d",
    "last_touched >= now - 90d",
    r#"last_touched > "2026-09-01""#,
    "created <= 2025-01-01",
    "autoscaling = true",
    r#"customer ~ "acme-*""#,
    "owner in (atlas, orion)",
    "compliance != standard",
    "geo = eu",
    "label.team = atlas",
    "label.frozen exists",
    "label in (frozen, compliance-hold)",
    r#"label in ("compliance-*")"#,
    r#"label.cost-center in ("cc-100*", cc-1050)"#,
    "label.env != prod",
    r#"labels["topology.kubernetes.io/region"] ~ "eu-*""#,
    r#"capabilities contains "gpu.*""#,
    r#"capabilities contains "sovereign.eu""#,
    "capabilities exists",
    "kind = cluster",
    "substrate in (aws, gcp)",
    "substrate != edge",
    "observed.status.ready = true",
    "observed.status.nodes > 3",
    "region exists",
    "label exists",
];

fn selector() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(PREDICATES).prop_map(str::to_owned);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|xs| format!("({})", xs.join(" and "))),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|xs| format!("({})", xs.join(" or "))),
            inner.prop_map(|x| format!("not ({x})")),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Retier(usize, usize),
    Relabel(usize, bool),
    Reversion(usize, u64),
    Remove(usize),
    Insert(usize),
    Observe(usize, bool, i64),
    Retouch(usize, i64, i64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..3).prop_map(|(i, t)| Mutation::Retier(i, t)),
        (any::<usize>(), any::<bool>()).prop_map(|(i, b)| Mutation::Relabel(i, b)),
        (any::<usize>(), 26u64..33).prop_map(|(i, m)| Mutation::Reversion(i, m)),
        any::<usize>().prop_map(Mutation::Remove),
        (0usize..200).prop_map(Mutation::Insert),
        (any::<usize>(), any::<bool>(), 0i64..8).prop_map(|(i, r, n)| Mutation::Observe(i, r, n)),
        (any::<usize>(), 0i64..200, 1i64..300).prop_map(|(i, d, n)| Mutation::Retouch(i, d, n)),
    ]
}

fn nth(inv: &Inventory, i: usize) -> Option<Target> {
    let n = inv.len();
    (n > 0)
        .then(|| inv.view().iter().nth(i % n).map(|t| t.to_target()))
        .flatten()
}

fn apply(inv: &mut Inventory, pool: &[Target], m: &Mutation) {
    match m {
        Mutation::Retier(i, t) => {
            if let Some(mut x) = nth(inv, *i) {
                x.properties.insert(
                    "tier".into(),
                    ["production", "staging", "development"][*t].into(),
                );
                x.observed = None;
                inv.put(x).unwrap();
            }
        }
        Mutation::Relabel(i, frozen) => {
            if let Some(mut x) = nth(inv, *i) {
                if *frozen {
                    x.labels.insert("frozen".into(), "true".into());
                } else {
                    x.labels.remove("frozen");
                    x.labels.insert("team".into(), "atlas".into());
                }
                x.observed = None;
                inv.put(x).unwrap();
            }
        }
        Mutation::Reversion(i, minor) => {
            if let Some(mut x) = nth(inv, *i) {
                x.properties.insert(
                    "version".into(),
                    fleet_core::Value::Version(format!("1.{minor}.4").parse().unwrap()),
                );
                x.observed = None;
                inv.put(x).unwrap();
            }
        }
        Mutation::Retouch(i, days, nodes) => {
            if let Some(mut x) = nth(inv, *i) {
                x.properties.insert(
                    "last_touched".into(),
                    fleet_core::Value::Timestamp(now() - chrono::TimeDelta::days(*days)),
                );
                x.properties
                    .insert("nodes".into(), fleet_core::Value::Integer(*nodes));
                x.observed = None;
                inv.put(x).unwrap();
            }
        }
        Mutation::Remove(i) => {
            if let Some(x) = nth(inv, *i) {
                inv.remove(&x.id).unwrap();
            }
        }
        Mutation::Insert(k) => {
            let mut t = pool[*k % pool.len()].clone();
            t.id = TargetId::new(format!("{}-new", t.id)).unwrap();
            t.depends_on.clear();
            let _ = inv.put(t);
        }
        Mutation::Observe(i, ready, nodes) => {
            if let Some(x) = nth(inv, *i) {
                let doc =
                    Document::new(serde_json::json!({"status": {"ready": ready, "nodes": nodes}}));
                inv.observe(
                    &x.id,
                    ObservedState {
                        at: now(),
                        reachability: Reachability::Reachable,
                        document: Some(doc),
                    },
                )
                .unwrap();
            }
        }
    }
}

fn check(
    index: &SelectorIndex,
    inv: &Inventory,
    sel: &CompiledSelector,
) -> Result<(), TestCaseError> {
    let indexed: Vec<u32> = index
        .query(sel, inv.view(), now())
        .unwrap()
        .slots()
        .map(|s| s.0)
        .collect();
    let scanned: Vec<u32> = inv
        .view()
        .iter()
        .filter(|t| sel.matches(t, now()))
        .map(|t| t.slot().0)
        .collect();
    prop_assert_eq!(&indexed, &scanned, "selector `{}`", sel);
    let bound: Vec<u32> = sel
        .bind(inv.view(), now())
        .scan()
        .slots()
        .map(|s| s.0)
        .collect();
    prop_assert_eq!(&bound, &scanned, "bound scan of `{}`", sel);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn index_equals_scan_under_mutations(
        seed in 0u64..1000,
        selectors in prop::collection::vec(selector(), 1..6),
        rounds in prop::collection::vec(prop::collection::vec(mutation(), 0..12), 1..5),
    ) {
        let fleet = generate(&FleetSpec::new(300).seed(seed).edges_per_target(0));
        let pool = fleet.targets.clone();
        let mut inv = fleet.into_inventory(InventoryOptions::default().feed_capacity(64)).unwrap();
        let mut index = SelectorIndex::build(inv.view());
        let compiled: Vec<CompiledSelector> = selectors
            .iter()
            .map(|s| compile(s, &schema()).unwrap_or_else(|e| panic!("{}", e.render())))
            .collect();
        for round in &rounds {
            for m in round {
                apply(&mut inv, &pool, m);
            }
            index.catch_up(&inv).unwrap();
            prop_assert_eq!(index.generation(), inv.generation());
            prop_assert_eq!(index.len(), inv.len() as u64);
            for sel in &compiled {
                check(&index, &inv, sel)?;
            }
        }
    }

    /// The canonical text of any generated selector parses back to the same tree.
    #[test]
    fn generated_selectors_round_trip(s in selector()) {
        let a = parse(&s).unwrap();
        prop_assert_eq!(parse(&a.to_string()).unwrap(), a);
    }
}

/// Every pooled predicate compiles on its own and agrees with the scan on a fresh fleet.
#[test]
fn each_predicate_alone() {
    let fleet = generate(&FleetSpec::new(2000).seed(11).edges_per_target(0));
    let inv = fleet.into_inventory(InventoryOptions::default()).unwrap();
    let index = SelectorIndex::build(inv.view());
    let mut nonempty = 0;
    for p in PREDICATES {
        let sel = compile(p, &schema()).unwrap_or_else(|e| panic!("{}", e.render()));
        let n = index.query(&sel, inv.view(), now()).unwrap().len();
        nonempty += usize::from(n > 0);
        check(&index, &inv, &sel).unwrap();
    }
    // The pool is not vacuous: most predicates select something on this fleet.
    assert!(nonempty >= PREDICATES.len() - 4, "{nonempty}");
}

/// Cached runs of whole buckets stay exact as values move between buckets (a fleet large
/// enough that instants share coarse buckets).
#[test]
fn cached_ranges_follow_changes() {
    let fleet = generate(&FleetSpec::new(5000).seed(5).edges_per_target(0));
    let pool = fleet.targets.clone();
    let mut inv = fleet.into_inventory(InventoryOptions::default()).unwrap();
    let mut index = SelectorIndex::build(inv.view());
    let sels: Vec<CompiledSelector> = [
        "last_touched < now - 30d",
        "last_touched >= now - 90d and nodes > 50",
        "created <= 2025-06-01 or cost_per_hour > 12.5",
        "tier = production and last_touched < now - 7d",
    ]
    .iter()
    .map(|s| compile(s, &schema()).unwrap())
    .collect();
    for sel in &sels {
        check(&index, &inv, sel).unwrap();
    }
    let mut rng = fleet_core::synth::Rng::new(9);
    for round in 0..6 {
        for _ in 0..200 {
            let m = match rng.below(3) {
                0 => Mutation::Retouch(
                    rng.below(10_000),
                    rng.below(200) as i64,
                    1 + rng.below(299) as i64,
                ),
                1 => Mutation::Remove(rng.below(10_000)),
                _ => Mutation::Insert(rng.below(200) + round * 200),
            };
            apply(&mut inv, &pool, &m);
        }
        index.catch_up(&inv).unwrap();
        for sel in &sels {
            check(&index, &inv, sel).unwrap();
        }
    }
}
