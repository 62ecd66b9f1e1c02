//! The demo's drift step decides what its injected drift calls for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fleet_core::InventoryOptions;
use fleet_core::synth::{FleetSpec, generate};
use fleet_drift::Action;

#[test]
fn every_injected_class_gets_its_decision() {
    let mut inventory = generate(&FleetSpec::new(2_000).seed(7))
        .into_inventory(InventoryOptions::default())
        .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let summary = fleet_examples::drift::run(&inventory.snapshot(), now, 300).unwrap();
    let t = &summary.drift.targets;
    // Three image hot-fixes under the incident are held, never reverted.
    assert_eq!(t[&Action::Hold], 3);
    // Two privileged flags, two removed NetworkPolicies, one kubectl edit: reconciled.
    assert_eq!(t[&Action::Reconcile], 5);
    assert_eq!(t[&Action::NotChecked], 2);
    assert!(t[&Action::Ignore] > 0 && t[&Action::Wait] > 0 && t[&Action::InSync] > 0);
    assert_eq!(summary.drift.findings.dangerous, 7);
    assert_eq!(summary.drift.findings.suspicious, 1);
    assert_eq!(summary.drift.target_count(), 300);
}
