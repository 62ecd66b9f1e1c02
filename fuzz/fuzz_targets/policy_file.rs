#![no_main]
//! The policy loader: YAML and JSON policy files never panic the loader; a refusal always
//! names at least one problem; an accepted set evaluates a request without panicking.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let schema = fleet_core::synth::schema();
        let opts = fleet_policy::LoadOptions::new(&schema);
        for r in [
            fleet_policy::PolicySet::from_yaml(s, &opts),
            fleet_policy::PolicySet::from_json(s, &opts),
        ] {
            match r {
                Ok(set) => {
                    let t = fleet_core::Target::new(
                        fleet_core::TargetId::new("t").unwrap(),
                        "cluster",
                        "aws",
                    );
                    let w = fleet_core::Workload::new("w");
                    let a = fleet_policy::Artifact::new(fleet_core::Digest::sha256(b""));
                    let actor = fleet_core::Actor::human("x");
                    let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
                    let _ = set.evaluate(&fleet_policy::Request::new("r", &w, &a, &t, &actor, at));
                }
                Err(e) => assert!(!e.problems().is_empty()),
            }
        }
    }
});
