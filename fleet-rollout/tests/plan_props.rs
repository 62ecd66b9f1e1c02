//! Property tests of the planner on random fleets, graphs, strategies and gates: limits are
//! never exceeded, every edge is respected, every selected target is accounted for, and
//! two runs give the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::synth::schema;
use fleet_core::{Actor, Hold, HoldScope, Inventory, Snapshot, Target, TargetId};
use fleet_rollout::plan::{
    Bake, Canary, Exclusion, Gates, GroupEdge, GroupOrder, Grouping, Percent, Placement, Plan,
    PlanError, Planner, PolicyLimit, WaveKind, Waves,
};
use proptest::prelude::*;

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

#[derive(Debug, Clone)]
struct Spec {
    /// Per target: region index, dependencies (earlier targets).
    targets: Vec<(usize, Vec<usize>)>,
    /// Per target: 0 none, 1 deny, 2 pending approval, 3 window in 0..6h, 4 no window,
    /// 5 held; with the window's minutes.
    gates: Vec<(u8, i64)>,
    /// (by region = true / geo = false, max, members)
    limits: Vec<(bool, u32, Vec<usize>)>,
    strategy: fleet_rollout::plan::Strategy,
    group_edge: bool,
    /// A subset to select, or everything.
    subset: Option<Vec<usize>>,
}

fn name(i: usize) -> String {
    format!("t{i:02}")
}

fn geo(region: usize) -> &'static str {
    if region < 2 { "us" } else { "eu" }
}

fn strategy() -> impl Strategy<Value = fleet_rollout::plan::Strategy> {
    let canary = prop_oneof![
        Just(None),
        (1u32..4).prop_map(|c| Some((Some(c), None))),
        (1.0f64..30.0).prop_map(|p| Some((None, Some(Percent::new(p).unwrap())))),
    ];
    let waves = prop_oneof![
        (1u32..8).prop_map(Waves::Fixed),
        (5.0f64..60.0).prop_map(|p| Waves::Percent(Percent::new(p).unwrap())),
        (1u32..4, 2u32..4, 4u32..12).prop_map(|(start, factor, cap)| Waves::Exponential {
            start,
            factor,
            cap
        }),
    ];
    let groups = prop_oneof![
        Just(None),
        (
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            proptest::option::of(1u32..4)
        )
            .prop_map(|(by_region, one, order, max)| Some(Grouping {
                by: if by_region { "region" } else { "geo" }.into(),
                order: match order {
                    0 => GroupOrder::Name,
                    1 => GroupOrder::SmallestFirst,
                    _ => GroupOrder::LargestFirst,
                },
                first: vec![],
                one_at_a_time: one,
                max_per_group: max,
            })),
    ];
    (
        canary,
        waves,
        groups,
        proptest::option::of(1u32..7),
        0i64..3,
    )
        .prop_map(
            |(canary, waves, groups, max, bake_h)| fleet_rollout::plan::Strategy {
                canary: canary.map(|(count, percent)| Canary {
                    count,
                    percent,
                    selector: None,
                    bake: None,
                }),
                waves,
                groups,
                max_concurrency: max,
                max_waves: None,
                bake: Bake {
                    min_duration: fleet_core::Duration::from_seconds(bake_h * 3600),
                    min_healthy: Percent::ALL,
                },
            },
        )
}

fn spec() -> impl proptest::strategy::Strategy<Value = Spec> {
    (1usize..36).prop_flat_map(|n| {
        let targets = (0..n)
            .map(|i| {
                (
                    0..REGIONS.len(),
                    proptest::collection::vec(0..i.max(1), 0..if i == 0 { 1 } else { 4 }),
                )
                    .prop_map(move |(r, deps)| {
                        let deps = if i == 0 { vec![] } else { deps };
                        (r, deps)
                    })
            })
            .collect::<Vec<_>>();
        let gates = proptest::collection::vec(
            (
                prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 2 => Just(3u8), 1 => Just(4u8), 1 => Just(5u8)],
                0i64..360,
            ),
            n,
        );
        let limits = proptest::collection::vec(
            (
                any::<bool>(),
                1u32..3,
                proptest::collection::vec(0..n, 0..n),
            ),
            0..3,
        );
        let subset = proptest::option::of(proptest::collection::vec(0..n, 1..=n));
        (targets, gates, limits, strategy(), proptest::bool::weighted(0.25), subset).prop_map(
            |(targets, gates, limits, strategy, group_edge, subset)| Spec {
                targets,
                gates,
                limits,
                strategy,
                group_edge,
                subset,
            },
        )
    })
}

fn inventory(spec: &Spec) -> Snapshot {
    let mut inv = Inventory::new();
    for (i, (r, deps)) in spec.targets.iter().enumerate() {
        let mut t = Target::new(TargetId::new(name(i)).unwrap(), "cluster", "aws")
            .property("region", REGIONS[*r])
            .property("geo", geo(*r));
        for d in deps {
            t = t.depends_on(TargetId::new(name(*d)).unwrap());
        }
        inv.insert(t).unwrap();
    }
    inv.snapshot()
}

fn gates(spec: &Spec) -> Gates {
    let mut g = Gates::new();
    for (i, &(kind, minutes)) in spec.gates.iter().enumerate() {
        let id = name(i);
        g = match kind {
            1 => g.deny(&id, ["p/deny"]),
            2 => g.pending_approval(&id, ["p/approve"]),
            3 => g.window(&id, Some(now() + TimeDelta::minutes(minutes))),
            4 => g.window(&id, None),
            5 => g.hold(Hold {
                target: TargetId::new(&id).unwrap(),
                scope: HoldScope::Target,
                actor: Actor::human("oncall"),
                reason: "incident".into(),
                placed_at: now() - TimeDelta::hours(1),
                expires_at: now() + TimeDelta::hours(1),
            }),
            _ => g,
        };
    }
    for (k, (by_region, max, members)) in spec.limits.iter().enumerate() {
        g = g.limit(
            PolicyLimit {
                rule: format!("p/limit-{k}"),
                group_by: if *by_region { "region" } else { "geo" }.into(),
                max_in_flight: *max,
            },
            members.iter().map(|&i| name(i)),
        );
    }
    g
}

fn plan(spec: &Spec, snap: &Snapshot) -> Result<Plan, PlanError> {
    let s = schema();
    let g = gates(spec);
    let ids: Vec<TargetId> = spec
        .subset
        .iter()
        .flatten()
        .map(|&i| TargetId::new(name(i)).unwrap())
        .collect();
    let mut p = Planner::new(snap, &s, &spec.strategy).gates(&g);
    if spec.subset.is_some() {
        p = p.targets(&ids);
    }
    if spec.group_edge {
        p = p.group_edge(GroupEdge::new("geo", "us", "eu"));
    }
    p.plan(now())
}

fn index(id: &str) -> usize {
    id[1..].parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn plans_keep_every_promise(spec in spec()) {
        let snap = inventory(&spec);
        let plan = match plan(&spec, &snap) {
            Ok(p) => p,
            Err(PlanError::Unsatisfiable { constraint, .. }) => {
                // only the canary can be unsatisfiable here (no limit of 0, no max_waves),
                // and only when no target could ever go first: checked against a simple
                // model (target edges point to earlier targets, so index order is a
                // topological order)
                prop_assert_eq!(constraint, "canary");
                let selected: BTreeSet<usize> = match &spec.subset {
                    Some(s) => s.iter().copied().collect(),
                    None => (0..spec.targets.len()).collect(),
                };
                let mut excluded = vec![false; spec.targets.len()];
                for &i in &selected {
                    excluded[i] = matches!(spec.gates[i].0, 1 | 4 | 5)
                        || spec.targets[i].1.iter().any(|d| selected.contains(d) && excluded[*d]);
                }
                let live_us = selected
                    .iter()
                    .any(|&i| !excluded[i] && geo(spec.targets[i].0) == "us");
                for &i in &selected {
                    let root = !spec.targets[i].1.iter().any(|d| selected.contains(d));
                    let behind_edge = spec.group_edge && geo(spec.targets[i].0) == "eu" && live_us;
                    let could_go_first =
                        root && !excluded[i] && spec.gates[i].0 != 2 && !behind_edge;
                    prop_assert!(!could_go_first, "t{i} could have been the canary");
                }
                return Ok(());
            }
            Err(PlanError::Cycle { cycle }) => {
                // only the group edge can close a cycle (target edges point to earlier
                // targets); the cycle must be real: each member depends on the next
                prop_assert!(spec.group_edge);
                let barrier = "group geo=us before geo=eu";
                for k in 0..cycle.len() {
                    let (a, b) = (&cycle[k], &cycle[(k + 1) % cycle.len()]);
                    match (a.as_str() == barrier, b.as_str() == barrier) {
                        (false, false) => prop_assert!(spec.targets[index(a)].1.contains(&index(b))),
                        (false, true) => prop_assert_eq!(geo(spec.targets[index(a)].0), "eu"),
                        (true, false) => prop_assert_eq!(geo(spec.targets[index(b)].0), "us"),
                        (true, true) => prop_assert!(false, "barrier twice in a row"),
                    }
                }
                return Ok(());
            }
            Err(e) => panic!("{e}"),
        };
        let selected: BTreeSet<usize> = match &spec.subset {
            Some(s) => s.iter().copied().collect(),
            None => (0..spec.targets.len()).collect(),
        };

        // every selected target exactly once, planned or excluded; nothing else
        let mut wave_of: BTreeMap<usize, usize> = BTreeMap::new();
        for w in plan.waves() {
            for t in w.targets() {
                prop_assert!(wave_of.insert(index(t.id), w.index()).is_none(), "{} twice", t.id);
            }
        }
        let mut excluded: BTreeMap<usize, Exclusion<'_>> = BTreeMap::new();
        for e in plan.excluded() {
            prop_assert!(!wave_of.contains_key(&index(e.id)));
            prop_assert!(excluded.insert(index(e.id), e.reason).is_none());
        }
        let accounted: BTreeSet<usize> = wave_of.keys().chain(excluded.keys()).copied().collect();
        prop_assert_eq!(&accounted, &selected);
        prop_assert_eq!(plan.selected(), selected.len());

        // gates: denied, held and windowless targets are excluded for that reason
        for &i in &selected {
            let kind = spec.gates[i].0;
            if matches!(kind, 1 | 4 | 5) {
                let want = match kind { 1 => "denied", 4 => "no_window", _ => "held" };
                prop_assert_eq!(excluded.get(&i).map(Exclusion::kind), Some(want));
            }
            if let Some(Placement::Planned(p)) = plan.placement(&name(i)) {
                if kind == 3 {
                    // never before the window opens
                    let opens = now() + TimeDelta::minutes(spec.gates[i].1);
                    prop_assert!(p.earliest_start >= opens);
                }
                if kind == 2 {
                    prop_assert_eq!(p.pending_approval.len(), 1);
                    prop_assert!(plan.wave(p.wave).unwrap().kind() != WaveKind::Canary);
                }
            }
        }

        // every dependency edge between selected targets
        for &t in &selected {
            for &d in &spec.targets[t].1 {
                if !selected.contains(&d) {
                    continue;
                }
                if let Some(&wt) = wave_of.get(&t) {
                    let wd = wave_of.get(&d);
                    prop_assert!(wd.is_some_and(|&wd| wd < wt), "t{t} in {wt}, dep t{d} in {wd:?}");
                }
                if excluded.contains_key(&d) {
                    prop_assert!(excluded.contains_key(&t), "t{t} planned after excluded t{d}");
                }
            }
        }
        // the group edge: every planned eu target after every planned us target
        if spec.group_edge {
            let geo_of = |i: usize| geo(spec.targets[i].0);
            let last_us = wave_of.iter().filter(|(i, _)| geo_of(**i) == "us").map(|(_, w)| *w).max();
            let first_eu = wave_of.iter().filter(|(i, _)| geo_of(**i) == "eu").map(|(_, w)| *w).min();
            if let (Some(u), Some(e)) = (last_us, first_eu) {
                prop_assert!(u < e);
            }
        }

        // concurrency: global, per group, per policy limit; one group at a time
        let deployable = wave_of.len();
        let strategy = &spec.strategy;
        let mut regular = 0;
        let mut prev: Option<(DateTime<Utc>, Bake)> = None;
        for w in plan.waves() {
            let members: Vec<usize> = w.targets().map(|t| index(t.id)).collect();
            prop_assert!(!members.is_empty());
            if let Some(m) = strategy.max_concurrency {
                prop_assert!(members.len() <= m as usize);
            }
            match w.kind() {
                WaveKind::Canary => {
                    prop_assert_eq!(w.index(), 0);
                    prop_assert!(members.len() <= strategy.canary_size(deployable));
                }
                WaveKind::Wave => {
                    prop_assert!(members.len() <= strategy.waves.size(regular, deployable).max(1));
                    regular += 1;
                }
            }
            if let Some(g) = &strategy.groups {
                let key = |i: usize| {
                    let r = spec.targets[i].0;
                    if g.by == "region" { REGIONS[r] } else { geo(r) }
                };
                let mut per: BTreeMap<&str, usize> = BTreeMap::new();
                for &i in &members {
                    *per.entry(key(i)).or_default() += 1;
                }
                if let Some(m) = g.max_per_group {
                    prop_assert!(per.values().all(|&c| c <= m as usize), "{per:?}");
                }
                if g.one_at_a_time {
                    prop_assert_eq!(per.len(), 1);
                    prop_assert_eq!(w.group(), per.keys().next().copied());
                }
            }
            for (by_region, max, limit_members) in &spec.limits {
                let limit_members: BTreeSet<usize> = limit_members.iter().copied().collect();
                let mut per: BTreeMap<&str, u32> = BTreeMap::new();
                for i in members.iter().filter(|i| limit_members.contains(i)) {
                    let r = spec.targets[*i].0;
                    *per.entry(if *by_region { REGIONS[r] } else { geo(r) }).or_default() += 1;
                }
                prop_assert!(per.values().all(|c| c <= max), "{per:?} over {max}");
            }
            // waves start in order, each after the one before has baked
            if let Some((start, bake)) = prev {
                prop_assert!(w.earliest_start() >= start + bake.min_duration.as_delta());
            } else {
                prop_assert!(w.earliest_start() >= now());
            }
            prev = Some((w.earliest_start(), w.bake()));
        }

        // the same bytes on a second run, and on an inventory built again from scratch
        let first = serde_json::to_vec(&plan).unwrap();
        let again = serde_json::to_vec(&self::plan(&spec, &snap).unwrap()).unwrap();
        prop_assert_eq!(&first, &again);
        let rebuilt = inventory(&spec);
        let third = serde_json::to_vec(&self::plan(&spec, &rebuilt).unwrap()).unwrap();
        prop_assert_eq!(&first, &third);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Strategies are data: any strategy survives YAML and JSON unchanged.
    #[test]
    fn strategies_round_trip_through_files(s in strategy()) {
        let yaml = serde_yaml_ng::to_string(&s).unwrap();
        prop_assert_eq!(&fleet_rollout::plan::Strategy::from_yaml(&yaml).unwrap(), &s, "{}", yaml);
        let json = serde_json::to_string(&s).unwrap();
        // JSON is YAML
        prop_assert_eq!(&fleet_rollout::plan::Strategy::from_yaml(&json).unwrap(), &s, "{}", json);
    }
}
