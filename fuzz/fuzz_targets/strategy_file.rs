#![no_main]
//! Rollout strategy files: any text gives a strategy or an error, never a panic; what
//! parses is valid, prints as YAML and parses back equal, and plans a small generated fleet
//! (a plan or a typed error, never a panic).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(strategy) = fleet_rollout::plan::Strategy::from_yaml(s) {
            assert!(strategy.validate().is_ok());
            let text = serde_yaml_ng::to_string(&strategy).unwrap();
            assert_eq!(
                fleet_rollout::plan::Strategy::from_yaml(&text).unwrap(),
                strategy
            );
            let fleet = fleet_core::synth::generate(
                &fleet_core::synth::FleetSpec::new(40).seed(3).edges_per_target(1),
            );
            let mut inventory = fleet.into_inventory(Default::default()).unwrap();
            let snapshot = inventory.snapshot();
            let schema = fleet_core::synth::schema();
            let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
            let _ = fleet_rollout::plan::Planner::new(&snapshot, &schema, &strategy).plan(now);
        }
    }
});
