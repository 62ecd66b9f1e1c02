//! Crash tests: a scripted run is cut at every step — before each checkpoint append, apply
//! and outcome query, and right after each of their effects (so between an effect and the
//! checkpoint that records it) — then resumed from the checkpoint log by a new driver. The
//! fake deployer, outside the executor, proves that no target was deployed twice or
//! skipped, and that no attempt the substrate saw was applied again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod executor_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use executor_support::*;
use fleet_core::{IdempotencyKey, TargetId};
use fleet_rollout::executor::{
    AllowAll, BakeSpec, Budget, Checkpoint, Driver, IntentAction, MemoryCheckpointStore, Record,
    RunEnd, RunId, RunSpec, TokioClock, WaveSpec,
};

const LONG: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

/// What a finished run left behind, as the substrate saw it.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    end: RunEnd,
    deploys: BTreeMap<TargetId, u32>,
    rollbacks: BTreeMap<TargetId, u32>,
    releases: BTreeMap<TargetId, String>,
}

fn deployer(scripts: &[(TargetId, Script)], clock: Arc<TokioClock>) -> FakeDeployer {
    let d = FakeDeployer::new().with_clock(clock);
    for (t, s) in scripts {
        d.script(t, *s);
    }
    d
}

/// Runs `spec` once, crashing as planned; then, if it crashed, resumes it to the end.
/// Returns the outcome, the ops counted in the first attempt and whether it crashed.
async fn run_with_crash(
    spec: &RunSpec,
    scripts: &[(TargetId, Script)],
    plan: Option<CrashPlan>,
) -> (Outcome, u64, bool, FakeDeployer, Vec<Checkpoint>) {
    let plans: Vec<CrashPlan> = plan.into_iter().collect();
    let (outcome, ops, crashes, deployer, log) = run_with_crashes(spec, scripts, &plans).await;
    (
        outcome,
        ops.first().copied().unwrap_or(0),
        crashes > 0,
        deployer,
        log,
    )
}

/// Runs `spec`, crashing once per plan (each plan counts the operations of its own attempt),
/// then resumes it to the end. Returns the outcome, each crashed attempt's op count, how many
/// attempts crashed, the deployer and the log.
async fn run_with_crashes(
    spec: &RunSpec,
    scripts: &[(TargetId, Script)],
    plans: &[CrashPlan],
) -> (Outcome, Vec<u64>, usize, FakeDeployer, Vec<Checkpoint>) {
    let clock = Arc::new(TokioClock::new(t0()));
    let deployer = deployer(scripts, clock.clone());
    let health = FakeHealth::new();
    let store = MemoryCheckpointStore::default();
    let mut ops = Vec::new();
    let mut crashes = 0;
    let mut finished = None;
    // the planned crashes, then one attempt that runs to the end
    let attempts = plans.iter().copied().map(Some).chain([None]);
    for plan in attempts {
        let crasher = Crasher::new(plan);
        let apply = CrashingApply {
            inner: &deployer,
            crasher: &crasher,
        };
        let crashing_store = CrashingStore {
            inner: &store,
            crasher: &crasher,
        };
        let run = Driver::new(&apply, &health, &AllowAll, &crashing_store, clock.as_ref())
            .call_timeout(LONG)
            .run(spec.clone());
        let attempt = tokio::select! {
            r = run => Some(r.unwrap_or_else(|e| panic!("{plans:?}: attempt failed: {e:?}"))),
            () = crasher.crashed() => None,
        };
        ops.push(crasher.ops());
        match attempt {
            Some(report) => {
                finished = Some(report);
                break;
            }
            None => crashes += 1,
        }
    }
    let report = finished.unwrap_or_else(|| panic!("{plans:?}: the last attempt crashed"));
    let outcome = Outcome {
        end: report.end,
        deploys: deployer.deploys(),
        rollbacks: deployer.rollbacks(),
        releases: deployer.releases(),
    };
    let log = store.records(&spec.run_id);
    (outcome, ops, crashes, deployer, log)
}

fn check_log(log: &[Checkpoint], context: &str) {
    // numbered from 1 without gaps; tokens never go back
    for (i, c) in log.iter().enumerate() {
        assert_eq!(c.seq, i as u64 + 1, "{context}");
    }
    assert!(
        log.windows(2).all(|w| w[0].token <= w[1].token),
        "{context}"
    );
    // every completion follows an intent for its target
    let mut intents: BTreeMap<&TargetId, IntentAction> = BTreeMap::new();
    for c in log {
        match &c.record {
            Record::Intent { target, action, .. } => {
                intents.insert(target, *action);
            }
            Record::Deployed { target, .. } => {
                assert_eq!(
                    intents.get(target),
                    Some(&IntentAction::Deploy),
                    "{context}"
                );
            }
            Record::RolledBack { target, .. } | Record::Stuck { target, .. } => {
                assert_eq!(
                    intents.get(target),
                    Some(&IntentAction::Rollback),
                    "{context}"
                );
            }
            _ => {}
        }
    }
}

async fn cut_everywhere(spec: RunSpec, scripts: Vec<(TargetId, Script)>, expected_end: RunEnd) {
    let (reference, total, crashed, reference_deployer, log) =
        run_with_crash(&spec, &scripts, None).await;
    assert!(!crashed);
    assert_eq!(reference.end, expected_end);
    check_log(&log, "reference");
    // the reference itself deploys each started target once
    assert!(reference.deploys.values().all(|&n| n == 1));
    assert!(reference.rollbacks.values().all(|&n| n == 1));
    assert!(reference_deployer.calls_per_key().values().all(|&n| n == 1));
    assert!(
        total > 10,
        "the script is too short to be interesting: {total} ops"
    );

    let mut crashes = 0;
    for at in 1..=total {
        for after_effect in [false, true] {
            let plan = CrashPlan { at, after_effect };
            let (outcome, _, crashed, deployer, log) =
                run_with_crash(&spec, &scripts, Some(plan)).await;
            let context = format!("{plan:?}");
            assert!(crashed, "{context}: the run ended before its cut");
            crashes += 1;
            // same end, same targets deployed (none skipped), none twice, same rollbacks
            assert_eq!(outcome, reference, "{context}");
            // no attempt the substrate saw was applied again: the resume asked instead
            let repeated: Vec<(IdempotencyKey, u32)> = deployer
                .calls_per_key()
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .collect();
            assert!(repeated.is_empty(), "{context}: {repeated:?}");
            check_log(&log, &context);
            // two writers: the crashed one (token 1) and the one that resumed (token 2)
            assert!(log.iter().all(|c| c.token.0 <= 2), "{context}");
            assert!(log.iter().any(|c| c.token.0 == 1) || at == 1, "{context}");
        }
    }
    assert_eq!(crashes, 2 * total);
}

fn two_wave_spec(run: &str, budget: Budget) -> RunSpec {
    let bake = BakeSpec {
        min_duration: secs(300),
        min_healthy_checks: 1,
        check_interval: secs(60),
        min_healthy_percent: 100,
    };
    spec(
        run,
        vec![
            WaveSpec::new([tid("a-0")]).bake(bake),
            WaveSpec::new(ids("b", 5))
                .max_concurrency(2)
                .failure_budget(budget),
        ],
    )
}

#[tokio::test(start_paused = true)]
async fn a_completing_run_cut_at_every_step_deploys_each_target_exactly_once() {
    let spec = two_wave_spec("crash-ok", Budget::Count(1));
    let scripts = vec![
        (tid("b-01"), Script::Slow(1)),
        (tid("b-02"), Script::FailDeploy), // within the budget
        (tid("b-03"), Script::Slow(0)),
    ];
    cut_everywhere(spec, scripts, RunEnd::Completed).await;
}

#[tokio::test(start_paused = true)]
async fn a_rolling_back_run_cut_at_every_step_rolls_back_each_target_exactly_once() {
    let spec = two_wave_spec("crash-rollback", Budget::Count(0));
    let scripts = vec![
        (tid("b-01"), Script::Slow(1)),
        (tid("b-02"), Script::FailDeploy),
        (tid("b-03"), Script::Slow(1)),
    ];
    cut_everywhere(
        spec,
        scripts,
        RunEnd::Halted(fleet_rollout::executor::HaltReason::WaveBudget {
            wave: 1,
            failures: 1,
            allowed: 0,
        }),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_stuck_run_cut_at_every_step_ends_stuck_the_same_way() {
    // one at a time, so that the order of rollbacks does not depend on the crash
    let mut spec = two_wave_spec("crash-stuck", Budget::Count(0));
    spec.waves[1].max_concurrency = 1;
    let scripts = vec![
        (tid("b-00"), Script::Slow(0)),
        (tid("b-01"), Script::FailBoth),
    ];
    cut_everywhere(
        spec,
        scripts,
        RunEnd::Halted(fleet_rollout::executor::HaltReason::Stuck {
            target: tid("b-01"),
        }),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn resuming_a_finished_run_does_nothing_more() {
    let spec = two_wave_spec("finished", Budget::Count(1));
    let (reference, _, _, _, _) = run_with_crash(&spec, &[], None).await;
    assert_eq!(reference.end, RunEnd::Completed);
    // a second driver on a store that already holds the whole run
    let clock = Arc::new(TokioClock::new(t0()));
    let deployer = FakeDeployer::new().with_clock(clock.clone());
    let health = FakeHealth::new();
    let store = MemoryCheckpointStore::default();
    Driver::new(&deployer, &health, &AllowAll, &store, clock.as_ref())
        .run(spec.clone())
        .await
        .unwrap();
    let calls = deployer.apply_calls();
    let len = store.records(&RunId::new("finished").unwrap()).len();
    let again = Driver::new(&deployer, &health, &AllowAll, &store, clock.as_ref())
        .run(spec)
        .await
        .unwrap();
    assert_eq!(again.end, RunEnd::Completed);
    assert_eq!(deployer.apply_calls(), calls);
    assert_eq!(store.records(&RunId::new("finished").unwrap()).len(), len);
}

#[tokio::test(start_paused = true)]
async fn a_resume_that_crashes_too_is_resumed_again() {
    let spec = two_wave_spec("crash-twice", Budget::Count(0));
    let scripts = vec![
        (tid("b-01"), Script::Slow(1)),
        (tid("b-02"), Script::FailDeploy),
        (tid("b-03"), Script::Slow(1)),
    ];
    let (reference, total, _, _, _) = run_with_crash(&spec, &scripts, None).await;
    let mut runs = 0;
    for first in (1..=total).step_by(3) {
        for second in 1..=6 {
            for after_effect in [false, true] {
                let plans = [
                    CrashPlan {
                        at: first,
                        after_effect,
                    },
                    CrashPlan {
                        at: second,
                        after_effect: !after_effect,
                    },
                ];
                let (outcome, _, crashes, deployer, log) =
                    run_with_crashes(&spec, &scripts, &plans).await;
                let context = format!("{plans:?}");
                assert_eq!(outcome, reference, "{context}");
                assert!(
                    deployer.calls_per_key().values().all(|&n| n == 1),
                    "{context}: {:?}",
                    deployer.calls_per_key()
                );
                check_log(&log, &context);
                // a resume with nothing left to do may finish before its planned crash
                assert!(crashes >= 1, "{context}");
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 12 * (total as usize).div_ceil(3));
}
