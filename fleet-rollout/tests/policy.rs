//! Gates from real fleet-policy decisions, windows and concurrency limits, planned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use fleet_core::synth::{FleetSpec, generate, schema};
use fleet_core::{Actor, Digest, Workload};
use fleet_policy::{Artifact, BulkRequest, LoadOptions, PolicySet, StaticDirectory};
use fleet_rollout::plan::{Exclusion, Gates, Placement, Planner, Strategy};
use fleet_selectors::{SelectorIndex, compile};

const POLICY: &str = r#"
policies:
  - id: regulated
    scope: { targets: 'compliance in ("pci", "hipaa")' }
    rules:
      - id: dual
        approvals: { groups: [{ group: sre, count: 1 }, { group: security, count: 1 }] }
  - id: mea-registry
    scope: { targets: 'geo = "mea"' }
    rules:
      - id: registry
        placement: { registries: ["registry.mea.acme.io/*"] }
  - id: apac-hours
    scope: { targets: 'geo = "apac"' }
    rules:
      - id: office
        window: { kind: allow, cron: "0 9 * * MON-FRI", timezone: Asia/Tokyo, duration: 8h }
  - id: eu-freeze
    scope: { targets: 'geo = "eu" and capabilities contains "network.ipv6"' }
    rules:
      - id: freeze
        freeze: { from: "2026-12-01T00:00", until: "2026-12-08T00:00", timezone: Europe/Berlin }
  - id: prod
    scope: { targets: 'tier = production' }
    rules:
      - id: two-per-region
        concurrency: { group_by: region, max_in_flight: 2 }
"#;

#[test]
fn policy_decisions_windows_and_limits_shape_the_plan() {
    let mut inv = generate(&FleetSpec::new(2_000).seed(5).edges_per_target(0))
        .into_inventory(Default::default())
        .unwrap();
    let snap = inv.snapshot();
    let s = schema();
    let dir = StaticDirectory::new()
        .group("sre", ["bo"])
        .group("security", ["dee"]);
    let set = PolicySet::from_yaml(POLICY, &LoadOptions::new(&s).directory(&dir)).unwrap();
    let index = SelectorIndex::build(&snap);
    // Tuesday 09:00 UTC: Tokyo office hours are over, the EU freeze is on
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let selection = index
        .query(
            &compile("tier in (production, staging)", &s).unwrap(),
            &snap,
            now,
        )
        .unwrap();
    let workload = Workload::new("api");
    let artifact = Artifact::new(Digest::sha256(b"api 2.0")).image("registry.acme.io/api:2.0");
    let actor = Actor::human("zed");
    let req = BulkRequest::new("rel-1", &workload, &artifact, &actor, now);
    let bulk = set.evaluate_bulk(&index, &snap, &selection, &req).unwrap();

    let mut gates = Gates::from_policy(&set, &snap, &selection, &workload, now);
    for d in &bulk.decisions {
        gates.decision(d);
    }
    let strategy = Strategy::preset("balanced").unwrap();
    let plan = Planner::new(&snap, &s, &strategy)
        .select(&selection)
        .gates(&gates)
        .workload(&workload)
        .plan(now)
        .unwrap();
    assert_eq!(
        plan.planned() + plan.excluded().len(),
        selection.len() as usize
    );

    let tokyo_opens = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
    let freeze_ends = Utc.with_ymd_and_hms(2026, 12, 7, 23, 0, 0).unwrap();
    let (mut mea, mut regulated, mut apac, mut frozen) = (0, 0, 0, 0);
    for t in selection.slots().filter_map(|sl| snap.slot(sl)) {
        let prop = |k: &str| t.property(k).map(|v| v.to_value().to_string());
        let geo = prop("geo").unwrap();
        let placement = plan.placement(t.id()).unwrap();
        if geo == "mea" {
            mea += 1;
            let Placement::Excluded(e) = placement else {
                panic!("{} planned", t.id())
            };
            assert_eq!(
                e.reason,
                Exclusion::Denied {
                    rules: &["mea-registry/registry".to_owned()]
                }
            );
            continue;
        }
        let Placement::Planned(p) = placement else {
            panic!("{} excluded: {placement:?}", t.id())
        };
        let compliance = prop("compliance").unwrap();
        if compliance == "pci" || compliance == "hipaa" {
            regulated += 1;
            assert_eq!(p.pending_approval, &["regulated/dual".to_owned()]);
        } else {
            assert!(p.pending_approval.is_empty());
        }
        if geo == "apac" {
            apac += 1;
            assert!(p.earliest_start >= tokyo_opens, "{}", t.id());
        }
        if geo == "eu" && t.capabilities().any(|c| c == "network.ipv6") {
            frozen += 1;
            assert!(p.earliest_start >= freeze_ends, "{}", t.id());
        }
    }
    assert!(mea > 0 && regulated > 0 && apac > 0 && frozen > 0);

    // at most two production targets of one region per wave
    for w in plan.waves() {
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for t in w.targets() {
            let target = snap.get(t.id).unwrap();
            if target.property("tier").unwrap().to_value().to_string() == "production" {
                *per.entry(target.property("region").unwrap().to_value().to_string())
                    .or_default() += 1;
            }
        }
        assert!(per.values().all(|&n| n <= 2), "wave {}: {per:?}", w.index());
    }
}
