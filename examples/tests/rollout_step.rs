//! The demo's rollout step plans the production fleet and halts where its failure is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fleet_core::InventoryOptions;
use fleet_core::synth::{FleetSpec, generate};
use fleet_rollout::executor::{HaltReason, RunEnd};

#[test]
fn the_run_halts_at_the_failing_wave_and_rolls_it_back() {
    let mut inventory = generate(&FleetSpec::new(2_000).seed(7).edges_per_target(2))
        .into_inventory(InventoryOptions::default())
        .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let out = fleet_examples::rollout::run(&mut inventory, now).unwrap();

    let plan = &out.plan;
    assert_eq!(plan.planned + plan.excluded, plan.selected);
    assert!(
        plan.excluded > 0,
        "the policy denies some production targets"
    );
    assert_eq!(plan.waves[0].size, 1, "one box first");
    assert!(plan.waves.len() > 4);

    // one failure in wave 1 is tolerated; two in the halting wave are not
    let halting = out.halting_wave;
    assert!(halting >= 2 && halting < plan.waves.len());
    assert!(plan.waves[halting].size >= 2);
    assert_eq!(out.failed.len(), 3);
    assert_eq!(
        out.end,
        RunEnd::Halted(HaltReason::WaveBudget {
            wave: halting,
            failures: 2,
            allowed: 1
        })
    );
    assert_eq!(out.waves_started, halting + 1);
    let before: usize = plan.waves[..halting].iter().map(|w| w.size).sum();
    let p = &out.progress;
    assert_eq!(p.healthy, before - 1, "all but wave 1's failure");
    assert_eq!(
        p.failed, 1,
        "a tolerated failure stays failed, not rolled back"
    );
    assert_eq!(p.rolled_back, plan.waves[halting].size);
    assert_eq!(p.pending, plan.planned - before - plan.waves[halting].size);
}
