//! The planner through its public API: ordering, reasons, exclusions, errors by their text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, generate, schema};
use fleet_core::{Actor, Hold, HoldScope, Inventory, Snapshot, Target, TargetId, Workload};
use fleet_rollout::plan::{
    Bake, DeploymentEdge, Exclusion, Gates, GroupEdge, Grouping, Placement, Plan, PlanError,
    Planner, PolicyLimit, Reason, Strategy, StrategyError, WaveKind, Waves,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn id(s: &str) -> TargetId {
    TargetId::new(s).unwrap()
}

/// `(id, region, geo, deps)`
fn fleet(targets: &[(&str, &str, &str, &[&str])]) -> Snapshot {
    let mut inv = Inventory::new();
    for (name, region, geo, deps) in targets {
        let mut t = Target::new(id(name), "cluster", "aws")
            .property("region", *region)
            .property("geo", *geo)
            .property("tier", "production");
        for d in *deps {
            t = t.depends_on(id(d));
        }
        inv.insert(t).unwrap();
    }
    inv.snapshot()
}

fn plain(waves: Waves) -> Strategy {
    Strategy {
        canary: None,
        waves,
        groups: None,
        max_concurrency: None,
        max_waves: None,
        bake: Bake::default(),
    }
}

fn waves_of(plan: &Plan) -> Vec<Vec<String>> {
    plan.waves()
        .map(|w| w.targets().map(|t| t.id.to_owned()).collect())
        .collect()
}

fn planned<'p>(plan: &'p Plan, id: &str) -> fleet_rollout::plan::Placed<'p> {
    match plan.placement(id) {
        Some(Placement::Planned(p)) => p,
        other => panic!("{id} is not planned: {other:?}"),
    }
}

fn excluded<'p>(plan: &'p Plan, id: &str) -> Exclusion<'p> {
    match plan.placement(id) {
        Some(Placement::Excluded(e)) => e.reason,
        other => panic!("{id} is not excluded: {other:?}"),
    }
}

#[test]
fn dependencies_order_waves_and_explain_them() {
    let snap = fleet(&[
        ("a", "us-east-1", "us", &[]),
        ("b", "us-east-1", "us", &["a"]),
        ("c", "eu-west-1", "eu", &["b"]),
        ("d", "eu-west-1", "eu", &[]),
        ("e", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();
    let strategy = plain(Waves::Fixed(2));
    let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
    assert_eq!(waves_of(&plan), [vec!["a", "d"], vec!["e", "b"], vec!["c"]]);
    assert_eq!(planned(&plan, "a").reason, Reason::Ready);
    assert_eq!(
        planned(&plan, "b").reason,
        Reason::Dependency { after: "a" }
    );
    assert_eq!(
        planned(&plan, "c").reason,
        Reason::Dependency { after: "b" }
    );
    // `e` was ready for wave 0, which was full
    assert_eq!(planned(&plan, "e").reason, Reason::WaveFull);
    assert_eq!(plan.planned(), 5);
    assert_eq!(plan.excluded().len(), 0);
}

#[test]
fn a_cycle_is_named_in_order() {
    let snap = fleet(&[
        ("web", "us-east-1", "us", &["db"]),
        ("db", "us-east-1", "us", &["cache"]),
        ("cache", "us-east-1", "us", &["web"]),
        ("lonely", "us-east-1", "us", &[]),
    ]);
    let s = schema();
    let strategy = plain(Waves::Fixed(10));
    let err = Planner::new(&snap, &s, &strategy).plan(now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: `cache` -> `web` -> `db` -> `cache` (each depends on the next)"
    );
}

#[test]
fn the_generators_injected_cycle_is_found_and_real() {
    let mut inv = generate(
        &FleetSpec::new(500)
            .seed(4)
            .edges_per_target(2)
            .inject_cycle(true),
    )
    .into_inventory(Default::default())
    .unwrap();
    let snap = inv.snapshot();
    let s = schema();
    let strategy = Strategy::default();
    let Err(PlanError::Cycle { cycle }) = Planner::new(&snap, &s, &strategy).plan(now()) else {
        panic!("no cycle found");
    };
    assert!(cycle.len() >= 2);
    // each member depends on the next, the last on the first
    for (k, member) in cycle.iter().enumerate() {
        let next = &cycle[(k + 1) % cycle.len()];
        let deps: Vec<&str> = snap.get(member).unwrap().depends_on().collect();
        assert!(
            deps.contains(&next.as_str()),
            "{member} does not depend on {next}"
        );
    }
    assert_eq!(cycle.iter().min(), cycle.first());
}

#[test]
fn a_group_edge_cycle_names_the_group_edge() {
    let snap = fleet(&[
        ("u", "us-east-1", "us", &["e"]),
        ("e", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();
    let strategy = plain(Waves::Fixed(10));
    let err = Planner::new(&snap, &s, &strategy)
        .group_edge(GroupEdge::new("geo", "us", "eu"))
        .plan(now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: `e` -> `group geo=us before geo=eu` -> `u` -> `e` (each depends on the next)"
    );
}

#[test]
fn unsatisfiable_constraints_say_which() {
    let snap = fleet(&[
        ("a", "us-east-1", "us", &[]),
        ("b", "us-east-1", "us", &["a"]),
        ("c", "us-east-1", "us", &["b"]),
        ("d", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();

    // the canary must match the selector and have nothing to wait for
    let mut strategy = plain(Waves::Fixed(10));
    strategy.canary = Some(fleet_rollout::plan::Canary {
        count: Some(1),
        percent: None,
        selector: Some(r#"tier = "staging""#.into()),
        bake: None,
    });
    let err = Planner::new(&snap, &s, &strategy).plan(now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsatisfiable constraint `canary.selector`: no target that could go first matches \
         `tier = \"staging\"` (it must be deployable, wait for no dependency, window or approval)"
    );

    // a chain of three needs three waves
    let mut strategy = plain(Waves::Fixed(10));
    strategy.max_waves = Some(2);
    let err = Planner::new(&snap, &s, &strategy).plan(now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsatisfiable constraint `max_waves`: 2 waves place 3 of 4 deployable targets"
    );

    // a policy limit of 0 in flight
    let strategy = plain(Waves::Fixed(10));
    let gates = Gates::new().limit(
        PolicyLimit {
            rule: "ops/frozen-region".into(),
            group_by: "region".into(),
            max_in_flight: 0,
        },
        ["d"],
    );
    let err = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsatisfiable constraint `ops/frozen-region`: it allows 0 targets in flight per \
         `region`, and 1 deployable targets fall under it"
    );

    // an explicit group order against a group edge
    let mut strategy = plain(Waves::Fixed(10));
    strategy.groups = Some(Grouping {
        by: "geo".into(),
        order: Default::default(),
        first: vec!["eu".into()],
        one_at_a_time: true,
        max_per_group: None,
    });
    let err = Planner::new(&snap, &s, &strategy)
        .group_edge(GroupEdge::new("geo", "us", "eu"))
        .plan(now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsatisfiable constraint `groups.first`: it puts `eu` before `us`, but a group edge \
         orders `us` first"
    );
}

#[test]
fn bad_names_are_refused_with_where() {
    let snap = fleet(&[("a", "us-east-1", "us", &[])]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(1));
    strategy.groups = Some(Grouping {
        by: "reigon".into(),
        order: Default::default(),
        first: vec![],
        one_at_a_time: false,
        max_per_group: None,
    });
    let err = Planner::new(&snap, &s, &strategy).plan(now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown property `reigon` in `groups.by`; did you mean `region`?"
    );

    let strategy = plain(Waves::Fixed(1));
    let err = Planner::new(&snap, &s, &strategy)
        .edge("a", "zz")
        .plan(now())
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown target `zz` in edge 0");
    let ids = [id("a"), id("nope")];
    let err = Planner::new(&snap, &s, &strategy)
        .targets(&ids)
        .plan(now())
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown target `nope` in the target list");
    let gates = Gates::new().deny("ghost", ["r/x"]);
    let err = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown target `ghost` in the gates");
}

#[test]
fn a_stale_target_set_is_refused() {
    let mut inv = Inventory::new();
    inv.insert(Target::new(id("a"), "cluster", "aws").property("region", "x"))
        .unwrap();
    let old = inv.snapshot();
    let set = fleet_selectors::compile("", &schema())
        .unwrap()
        .bind(&old, now())
        .scan();
    inv.insert(Target::new(id("b"), "cluster", "aws").property("region", "x"))
        .unwrap();
    let snap = inv.snapshot();
    let s = schema();
    let strategy = plain(Waves::Fixed(1));
    let err = Planner::new(&snap, &s, &strategy)
        .select(&set)
        .plan(now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the target set is at generation 1 but the snapshot is at generation 2"
    );
}

fn hold(target: &str, scope: HoldScope, hours: i64) -> Hold {
    Hold {
        target: id(target),
        scope,
        actor: Actor::human("oncall@example.com"),
        reason: "INC-1: hands off".into(),
        placed_at: now() - TimeDelta::hours(1),
        expires_at: now() + TimeDelta::hours(hours),
    }
}

#[test]
fn never_deployable_targets_are_listed_with_the_reason() {
    let snap = fleet(&[
        ("denied", "us-east-1", "us", &[]),
        ("after-denied", "us-east-1", "us", &["denied"]),
        ("after-after", "us-east-1", "us", &["after-denied"]),
        ("held", "us-east-1", "us", &[]),
        ("lapsed-hold", "us-east-1", "us", &[]),
        ("other-workload", "us-east-1", "us", &[]),
        ("closed", "us-east-1", "us", &[]),
        ("fine", "us-east-1", "us", &[]),
    ]);
    let s = schema();
    let strategy = plain(Waves::Fixed(10));
    let gates = Gates::new()
        .deny("denied", ["pci/placement"])
        .window("closed", None)
        .hold(hold("held", HoldScope::Target, 4))
        .hold(hold("lapsed-hold", HoldScope::Target, -0))
        .hold(hold(
            "other-workload",
            HoldScope::Workload {
                name: "billing".into(),
            },
            4,
        ));
    let workload = Workload::new("payments");
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .workload(&workload)
        .plan(now())
        .unwrap();
    assert_eq!(
        excluded(&plan, "denied"),
        Exclusion::Denied {
            rules: &["pci/placement".to_owned()]
        }
    );
    assert_eq!(
        excluded(&plan, "after-denied"),
        Exclusion::Dependency { on: "denied" }
    );
    assert_eq!(
        excluded(&plan, "after-after"),
        Exclusion::Dependency { on: "after-denied" }
    );
    match excluded(&plan, "held") {
        Exclusion::Held { hold } => assert_eq!(hold.reason, "INC-1: hands off"),
        other => panic!("{other:?}"),
    }
    assert_eq!(excluded(&plan, "closed"), Exclusion::NoWindow);
    // an expired hold and a hold on another workload do not hold this rollout
    assert_eq!(planned(&plan, "lapsed-hold").wave, 0);
    assert_eq!(planned(&plan, "other-workload").wave, 0);
    assert_eq!(plan.planned(), 3);
    assert_eq!(plan.excluded().len(), 5);
    let summary = plan.summary();
    assert_eq!(
        summary.exclusions,
        BTreeMap::from([
            ("denied", 1),
            ("dependency", 2),
            ("held", 1),
            ("no_window", 1)
        ])
    );
}

#[test]
fn windows_defer_a_target_to_the_first_wave_after_they_open() {
    let snap = fleet(&[
        ("a", "us-east-1", "us", &[]),
        ("b", "us-east-1", "us", &[]),
        ("c", "us-east-1", "us", &[]),
        ("late", "us-east-1", "us", &[]),
        ("after-late", "us-east-1", "us", &["late"]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(1));
    strategy.bake.min_duration = "1h".parse().unwrap();
    let opens = now() + TimeDelta::minutes(90);
    let gates = Gates::new().window("late", Some(opens));
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    // waves start at 9:00, 10:00, 11:00...: `late`'s window opens at 10:30, so it joins
    // the queue for the 11:00 wave, behind `c`, which was ready first
    assert_eq!(
        waves_of(&plan),
        [["a"], ["b"], ["c"], ["late"], ["after-late"]]
    );
    let late = planned(&plan, "late");
    assert_eq!(late.reason, Reason::Window { opens_at: opens });
    assert_eq!(late.earliest_start, now() + TimeDelta::hours(3));
    assert_eq!(
        planned(&plan, "after-late").reason,
        Reason::Dependency { after: "late" }
    );

    // when nothing else is ready, the next wave starts at the opening
    let snap = fleet(&[("only", "us-east-1", "us", &[])]);
    let gates = Gates::new().window("only", Some(opens));
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    assert_eq!(plan.wave(0).unwrap().earliest_start(), opens);
}

#[test]
fn pending_approvals_are_planned_flagged_and_never_canaries() {
    let snap = fleet(&[("p", "us-east-1", "us", &[]), ("q", "us-east-1", "us", &[])]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(5));
    strategy.canary = Some(fleet_rollout::plan::Canary {
        count: Some(1),
        percent: None,
        selector: None,
        bake: None,
    });
    let gates = Gates::new().pending_approval("p", ["prod/two-person"]);
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    assert_eq!(waves_of(&plan), [vec!["q"], vec!["p"]]);
    assert_eq!(plan.wave(0).unwrap().kind(), WaveKind::Canary);
    assert_eq!(
        planned(&plan, "p").pending_approval,
        &["prod/two-person".to_owned()]
    );
    assert_eq!(plan.summary().pending_approval, 1);
}

#[test]
fn one_group_at_a_time_smallest_first_and_group_edges() {
    let snap = fleet(&[
        ("us1", "us-east-1", "us", &[]),
        ("us2", "us-east-1", "us", &[]),
        ("us3", "us-east-1", "us", &[]),
        ("eu1", "eu-west-1", "eu", &[]),
        ("eu2", "eu-west-1", "eu", &[]),
        ("ap1", "ap-south-1", "apac", &[]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(10));
    strategy.groups = Some(Grouping {
        by: "region".into(),
        order: fleet_rollout::plan::GroupOrder::SmallestFirst,
        first: vec![],
        one_at_a_time: true,
        max_per_group: None,
    });
    let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
    assert_eq!(
        waves_of(&plan),
        [vec!["ap1"], vec!["eu1", "eu2"], vec!["us1", "us2", "us3"]]
    );
    let groups: Vec<Option<&str>> = plan.waves().map(|w| w.group()).collect();
    assert_eq!(
        groups,
        [Some("ap-south-1"), Some("eu-west-1"), Some("us-east-1")]
    );
    assert_eq!(planned(&plan, "us1").reason, Reason::GroupTurn);

    // "EU after US" on another property than the grouping one
    let plan = Planner::new(&snap, &s, &strategy)
        .group_edge(GroupEdge::new("geo", "us", "eu"))
        .plan(now())
        .unwrap();
    assert_eq!(
        waves_of(&plan),
        [vec!["ap1"], vec!["us1", "us2", "us3"], vec!["eu1", "eu2"]]
    );
    assert_eq!(
        planned(&plan, "eu1").reason,
        Reason::GroupEdge {
            property: "geo",
            before: "us",
            after: "eu"
        }
    );
}

#[test]
fn an_excluded_target_does_not_hold_back_a_later_group() {
    let snap = fleet(&[
        ("us1", "us-east-1", "us", &[]),
        ("eu1", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();
    let strategy = plain(Waves::Fixed(10));
    let gates = Gates::new().deny("us1", ["r/x"]);
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .group_edge(GroupEdge::new("geo", "us", "eu"))
        .plan(now())
        .unwrap();
    assert_eq!(waves_of(&plan), [vec!["eu1"]]);
}

#[test]
fn the_smallest_limit_wins() {
    let snap = fleet(&[
        ("a1", "r-a", "us", &[]),
        ("a2", "r-a", "us", &[]),
        ("a3", "r-a", "us", &[]),
        ("b1", "r-b", "us", &[]),
        ("b2", "r-b", "us", &[]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(4));
    strategy.groups = Some(Grouping {
        by: "region".into(),
        order: Default::default(),
        first: vec![],
        one_at_a_time: false,
        max_per_group: Some(2),
    });
    // policy: at most one per region among a2, a3, b1, b2
    let gates = Gates::new().limit(
        PolicyLimit {
            rule: "ops/canary-regions".into(),
            group_by: "region".into(),
            max_in_flight: 1,
        },
        ["a2", "a3", "b1", "b2"],
    );
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    // wave 0: a1 (not limited by policy), a2 (policy slot for r-a), then r-a is at its
    // strategy cap of 2; b1 takes r-b's policy slot
    assert_eq!(waves_of(&plan), [vec!["a1", "a2", "b1"], vec!["a3", "b2"]]);
    assert_eq!(
        planned(&plan, "b2").reason,
        Reason::Concurrency {
            limit: "ops/canary-regions (at most 1 per region)"
        }
    );
    assert_eq!(
        planned(&plan, "a3").reason,
        Reason::Concurrency {
            limit: "groups.max_per_group (2)"
        }
    );
}

#[test]
fn deployment_stages_come_with_the_plan() {
    let snap = fleet(&[("a", "r", "us", &[])]);
    let s = schema();
    let strategy = plain(Waves::Fixed(1));
    let plan = Planner::new(&snap, &s, &strategy)
        .deployments(
            [
                "ingress".to_owned(),
                "cert-manager".to_owned(),
                "app".to_owned(),
            ],
            [
                DeploymentEdge {
                    before: "cert-manager".into(),
                    after: "ingress".into(),
                },
                DeploymentEdge {
                    before: "ingress".into(),
                    after: "app".into(),
                },
            ],
        )
        .plan(now())
        .unwrap();
    assert_eq!(plan.stages(), [["cert-manager"], ["ingress"], ["app"]]);
}

#[test]
fn the_serialized_plan_is_pinned() {
    let snap = fleet(&[
        ("a", "us-east-1", "us", &[]),
        ("b", "us-east-1", "us", &["a"]),
        ("c", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(5));
    strategy.bake.min_duration = "30m".parse().unwrap();
    let gates = Gates::new().deny("c", ["geo/eu-freeze"]);
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"now":"2026-12-01T09:00:00Z","selected":3,"planned":2,"group_by":null,"stages":[],"#,
            r#""waves":[{"index":0,"kind":"wave","group":null,"earliest_start":"2026-12-01T09:00:00Z","#,
            r#""bake":{"min_duration":"30m","min_healthy":100.0},"targets":[{"id":"a","reason":{"kind":"ready"}}]},"#,
            r#"{"index":1,"kind":"wave","group":null,"earliest_start":"2026-12-01T09:30:00Z","#,
            r#""bake":{"min_duration":"30m","min_healthy":100.0},"targets":[{"id":"b","reason":{"kind":"dependency","after":"a"}}]}],"#,
            r#""excluded":[{"id":"c","reason":{"kind":"denied","rules":["geo/eu-freeze"]}}]}"#
        )
    );
}

fn sizes(plan: &Plan) -> Vec<usize> {
    plan.waves().map(|w| w.len()).collect()
}

#[test]
fn preset_wave_sizes_are_pinned_for_a_generated_fleet() {
    // no dependencies, so that the sizes show the strategies alone
    let mut inv = generate(&FleetSpec::new(3_000).seed(11).edges_per_target(0))
        .into_inventory(Default::default())
        .unwrap();
    let snap = inv.snapshot();
    let s = schema();
    let mut got = BTreeMap::new();
    for name in fleet_rollout::plan::PRESETS {
        let strategy = Strategy::preset(name).unwrap();
        let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
        assert_eq!(plan.planned(), 3_000, "{name}");
        got.insert(name, sizes(&plan));
    }
    let pinned: BTreeMap<&str, Vec<usize>> = BTreeMap::from([
        ("all-at-once", vec![3000]),
        // a 1% canary, then 10% waves
        (
            "balanced",
            vec![30, 300, 300, 300, 300, 300, 300, 300, 300, 300, 270],
        ),
        // one box, then doubling within the smallest region (11 targets), then one wave
        // per region, smallest first, each capped by what the sequence allows (>= 16)
        (
            "conservative",
            vec![
                1, 2, 4, 8, 11, 27, 28, 30, 30, 32, 33, 34, 35, 35, 36, 37, 38, 38, 38, 39, 40, 41,
                42, 43, 44, 45, 46, 46, 46, 47, 48, 49, 49, 49, 52, 52, 53, 53, 53, 54, 55, 55, 56,
                56, 56, 58, 58, 59, 60, 60, 60, 61, 62, 62, 63, 64, 64, 65, 66, 68, 72, 76, 76, 80,
            ],
        ),
        ("fast", vec![750, 750, 750, 750]),
    ]);
    assert_eq!(got, pinned);
}

#[test]
fn unlimited_waves_are_the_dependency_levels() {
    // with no size limit, a target's wave is the length of the longest chain of
    // dependencies below it: computed here directly (the generator's edges point to
    // earlier targets)
    let fleet = generate(&FleetSpec::new(3_000).seed(11).edges_per_target(2));
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    for t in &fleet.targets {
        let l = t
            .depends_on
            .iter()
            .map(|d| level[d.as_str()] + 1)
            .max()
            .unwrap_or(0);
        level.insert(t.id.as_str().to_owned(), l);
    }
    let mut inv = fleet.into_inventory(Default::default()).unwrap();
    let snap = inv.snapshot();
    let s = schema();
    let strategy = Strategy::preset("all-at-once").unwrap();
    let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
    assert_eq!(plan.waves().len(), level.values().max().unwrap() + 1);
    for w in plan.waves() {
        for t in w.targets() {
            assert_eq!(level[t.id], w.index(), "{}", t.id);
        }
    }
}

#[test]
fn strategy_files_are_checked() {
    let err = Strategy::from_yaml("waves: { fixed: 10 }\nbake: { min_duraton: 1h }\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid strategy at `bake.min_duraton`: bake: unknown field `min_duraton`, expected \
         `min_duration` or `min_healthy` at line 2 column 9"
    );
    let err = Strategy::from_yaml(
        "waves: { exponential: { start: 4, factor: 1, cap: 2 } }\nmax_concurrency: 0\n",
    )
    .unwrap_err();
    assert_eq!(
        err,
        StrategyError::Invalid {
            problems: vec![
                fleet_rollout::plan::StrategyProblem {
                    field: "waves.exponential.factor".into(),
                    reason: "must be at least 2".into()
                },
                fleet_rollout::plan::StrategyProblem {
                    field: "waves.exponential.cap".into(),
                    reason: "must not be below `start`".into()
                },
                fleet_rollout::plan::StrategyProblem {
                    field: "max_concurrency".into(),
                    reason: "must be at least 1".into()
                },
            ]
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid strategy: `waves.exponential.factor` must be at least 2; \
         `waves.exponential.cap` must not be below `start`; `max_concurrency` must be at least 1"
    );
    let err = Strategy::from_yaml("waves: { percent: 120 }\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("`120` is not a percentage in (0, 100]"),
        "{err}"
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Plan>();
    check::<Planner<'static>>();
    check::<Strategy>();
    check::<Gates>();
    check::<PlanError>();
    check::<StrategyError>();
    check::<fleet_rollout::plan::WaveView<'static>>();
    check::<fleet_rollout::plan::Placed<'static>>();
    check::<fleet_rollout::plan::Excluded<'static>>();
    check::<fleet_rollout::plan::PlanSummary>();
}

#[test]
fn one_group_at_a_time_goes_round_robin() {
    // `a2` becomes ready in group `a` while `b` has its turn: `c` goes next, then `a` again
    let snap = fleet(&[
        ("a1", "r-a", "us", &[]),
        ("b1", "r-b", "us", &[]),
        ("c1", "r-c", "us", &[]),
        ("a2", "r-a", "us", &["b1"]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(10));
    strategy.groups = Some(Grouping {
        by: "region".into(),
        order: Default::default(),
        first: vec![],
        one_at_a_time: true,
        max_per_group: None,
    });
    let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
    assert_eq!(
        waves_of(&plan),
        [vec!["a1"], vec!["b1"], vec!["c1"], vec!["a2"]]
    );
    assert_eq!(planned(&plan, "a2").reason, Reason::GroupTurn);
    assert_eq!(planned(&plan, "c1").reason, Reason::GroupTurn);
}

#[test]
fn the_canary_is_chosen_by_its_selector() {
    let mut inv = Inventory::new();
    for (name, tier, deps) in [
        ("p1", "production", &[][..]),
        ("s1", "staging", &["p1"][..]),
        ("s2", "staging", &[][..]),
        ("p2", "production", &[][..]),
    ] {
        let mut t = Target::new(id(name), "cluster", "aws")
            .property("region", "us-east-1")
            .property("tier", tier);
        for d in deps {
            t = t.depends_on(id(d));
        }
        inv.insert(t).unwrap();
    }
    let snap = inv.snapshot();
    let s = schema();
    let mut strategy = plain(Waves::Fixed(10));
    strategy.canary = Some(fleet_rollout::plan::Canary {
        count: Some(2),
        percent: None,
        selector: Some(r#"tier = "staging""#.into()),
        bake: Some(Bake {
            min_duration: "2h".parse().unwrap(),
            min_healthy: fleet_rollout::plan::Percent::ALL,
        }),
    });
    let plan = Planner::new(&snap, &s, &strategy).plan(now()).unwrap();
    // `s1` matches but waits for `p1`, so the canary is `s2` alone
    assert_eq!(waves_of(&plan), [vec!["s2"], vec!["p1", "p2"], vec!["s1"]]);
    assert_eq!(plan.wave(0).unwrap().kind(), WaveKind::Canary);
    // the canary's own bake decides when the next wave may start
    assert_eq!(
        plan.wave(1).unwrap().earliest_start(),
        now() + TimeDelta::hours(2)
    );
    assert_eq!(planned(&plan, "p1").reason, Reason::WaveFull);

    strategy.canary.as_mut().unwrap().selector = Some("tier = ".into());
    let err = Planner::new(&snap, &s, &strategy).plan(now()).unwrap_err();
    assert_eq!(err.to_string(), "invalid selector in `canary.selector`");
}

#[test]
fn the_summary_reads_for_people() {
    let snap = fleet(&[
        ("a", "us-east-1", "us", &[]),
        ("b", "us-east-1", "us", &["a"]),
        ("c", "eu-west-1", "eu", &[]),
        ("d", "eu-west-1", "eu", &[]),
    ]);
    let s = schema();
    let mut strategy = Strategy::conservative();
    strategy.groups.as_mut().unwrap().order = fleet_rollout::plan::GroupOrder::Name;
    let gates = Gates::new()
        .deny("d", ["geo/eu-freeze"])
        .pending_approval("b", ["prod/two-person"]);
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    assert_eq!(
        plan.summary().to_string(),
        "4 selected: 3 planned in 3 waves, 1 excluded, 1 waiting for approval\n\
         \x20   0 canary       1 targets  from 2026-12-01 09:00 UTC  eu-west-1\n\
         \x20   1 wave         1 targets  from 2026-12-01 10:00 UTC  us-east-1\n\
         \x20   2 wave         1 targets  from 2026-12-01 11:00 UTC  us-east-1\n\
         \x20 excluded (denied): 1\n"
    );
}

#[test]
fn during_a_freeze_the_canary_waits_for_the_window() {
    // `p` waits for approvals (never a canary); `w1` and `w2` are frozen until `opens`
    let snap = fleet(&[
        ("p", "us-east-1", "us", &[]),
        ("w1", "us-east-1", "us", &[]),
        ("w2", "us-east-1", "us", &[]),
    ]);
    let s = schema();
    let mut strategy = plain(Waves::Fixed(10));
    strategy.canary = Some(fleet_rollout::plan::Canary {
        count: Some(1),
        percent: None,
        selector: None,
        bake: None,
    });
    let opens = now() + TimeDelta::hours(30);
    let gates = Gates::new()
        .pending_approval("p", ["prod/two-person"])
        .window("w1", Some(opens))
        .window("w2", Some(opens + TimeDelta::hours(1)));
    let plan = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap();
    // no bake: `p` may go right after the canary; `w2` when its window opens
    assert_eq!(waves_of(&plan), [vec!["w1"], vec!["p"], vec!["w2"]]);
    assert_eq!(plan.wave(0).unwrap().kind(), WaveKind::Canary);
    let starts: Vec<DateTime<Utc>> = plan.waves().map(|w| w.earliest_start()).collect();
    assert_eq!(starts, [opens, opens, opens + TimeDelta::hours(1)]);

    // with nothing but approvals pending, no canary can ever go first
    let gates = Gates::new()
        .pending_approval("p", ["prod/two-person"])
        .pending_approval("w1", ["prod/two-person"])
        .pending_approval("w2", ["prod/two-person"]);
    let err = Planner::new(&snap, &s, &strategy)
        .gates(&gates)
        .plan(now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsatisfiable constraint `canary`: no target can go first: each waits for a \
         dependency, a window or an approval"
    );
}
