#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bulk evaluation (scopes through the index) agrees with evaluating each target alone.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fleet_core::synth::{FleetSpec, generate, schema};
use fleet_core::{Actor, Digest, InventoryOptions, Workload};
use fleet_policy::{
    Approval, Artifact, BulkRequest, LoadOptions, Outcome, PolicySet, Request, StaticDirectory,
};
use fleet_selectors::{SelectorIndex, compile};

const POLICY: &str = r#"
policies:
  - id: regulated
    scope: { targets: 'compliance in ("pci", "hipaa")' }
    rules:
      - id: dual
        approvals: { groups: [{ group: sre, count: 1 }, { group: security, count: 1 }] }
  - id: placement
    scope: { targets: 'tier = production' }
    rules:
      - id: registry
        placement: { registries: ["registry.acme.io/*"] }
      - id: eu-data
        placement:
          residency: { workload_label: residency, property: region, zones: { eu: ["eu-*", "europe-*"] } }
  - id: apac-hours
    scope: { targets: 'geo = "apac"' }
    rules:
      - id: office
        window: { kind: allow, cron: "0 9 * * MON-FRI", timezone: Asia/Tokyo, duration: 8h }
      - id: signed
        artifacts: { require_digest: true }
  - id: eu-freeze
    scope: { targets: 'geo = "eu" and capabilities contains "network.ipv6"' }
    rules:
      - id: freeze
        freeze: { from: "2026-12-01T00:00", until: "2026-12-08T00:00", timezone: Europe/Berlin }
"#;

#[test]
fn bulk_equals_one_by_one() {
    let fleet = generate(&FleetSpec::new(3000).seed(7));
    let mut inv = fleet.into_inventory(InventoryOptions::default()).unwrap();
    let snap = inv.snapshot();
    let index = SelectorIndex::build(&snap);
    let s = schema();
    let dir = StaticDirectory::new()
        .group("sre", ["bo"])
        .group("security", ["dee"]);
    let set = PolicySet::from_yaml(POLICY, &LoadOptions::new(&s).directory(&dir))
        .unwrap()
        .with_directory(Arc::new(dir));

    let digest = Digest::sha256(b"api 2.0");
    let workload = Workload::new("api").label("residency", "eu");
    let artifact = Artifact::new(digest.clone()).image("registry.acme.io/api:2.0");
    let actor = Actor::human("zed");
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let approvals = [Approval::approve(
        "bo",
        "rel-1",
        digest.clone(),
        "regulated/dual",
        at,
        at + chrono::Duration::hours(4),
    )];
    let selection = index
        .query(
            &compile("tier in (production, staging)", &s).unwrap(),
            &snap,
            at,
        )
        .unwrap();
    let req = BulkRequest::new("rel-1", &workload, &artifact, &actor, at).approvals(&approvals);
    let bulk = set.evaluate_bulk(&index, &snap, &selection, &req).unwrap();

    assert_eq!(bulk.decisions.len() as u64, selection.len());
    let sm = &bulk.summary;
    assert_eq!(sm.allowed + sm.pending + sm.denied, bulk.decisions.len());
    // the data has all three outcomes
    assert!(sm.allowed > 0 && sm.pending > 0 && sm.denied > 0, "{sm:?}");
    assert!(sm.by_rule.contains_key("placement/eu-data"));
    assert!(sm.by_rule.contains_key("eu-freeze/freeze"));
    assert!(sm.by_rule["regulated/dual"].pending > 0);
    assert!(sm.by_rule["apac-hours/office"].pending > 0);
    assert!(sm.by_rule["apac-hours/signed"].failed > 0);

    for (slot, d) in selection.slots().zip(&bulk.decisions) {
        let t = snap.slot(slot).unwrap();
        let one = set.evaluate(
            &Request::new("rel-1", &workload, &artifact, &t, &actor, at).approvals(&approvals),
        );
        assert_eq!(&one, d);
    }
    let denied = bulk
        .decisions
        .iter()
        .find(|d| d.outcome == Outcome::Deny)
        .unwrap();
    assert!(denied.deciding().count() >= 1);
}
