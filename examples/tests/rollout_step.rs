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

    // the fourth wave (index 3) has the failing target; nothing is tolerated
    assert_eq!(out.failed.len(), 1);
    assert_eq!(
        out.end,
        RunEnd::Halted(HaltReason::WaveBudget {
            wave: 3,
            failures: 1,
            allowed: 0
        })
    );
    assert_eq!(out.waves_started, 4);
    let before: usize = plan.waves[..3].iter().map(|w| w.size).sum();
    assert_eq!(out.progress.healthy, before);
    assert_eq!(out.progress.rolled_back, plan.waves[3].size);
    assert_eq!(
        out.progress.pending,
        plan.planned - before - plan.waves[3].size
    );
}
