//! The tokio driver end to end, with paused time: bake, budgets, rollback, stuck rollback,
//! pause/resume/abort, deadline, a freeze declared mid-run, leases and fencing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod executor_support;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use executor_support::*;
use fleet_core::{ActorKind, MemoryAuditSink, TargetId};
use fleet_rollout::executor::{
    AllowAll, BakeSpec, Budget, CheckpointError, CheckpointStore, Control, Driver, DriverError,
    GateVerdict, HaltReason, HealthStatus, LeaseError, MemoryCheckpointStore, Progress, Record,
    RollbackScope, RunEnd, RunEvent, RunEventKind, RunId, TargetLeases, TargetState, TokioClock,
    WaveSpec,
};

/// Everything a driven run needs, owned by the test.
struct Rig {
    clock: Arc<TokioClock>,
    deployer: FakeDeployer,
    health: FakeHealth,
    store: MemoryCheckpointStore,
    audit: MemoryAuditSink,
    events: Mutex<Vec<RunEvent>>,
}

impl Rig {
    /// A driver over the rig's fakes, with every target allowed.
    fn driver(&self) -> Driver<'_> {
        Driver::new(
            &self.deployer,
            &self.health,
            &AllowAll,
            &self.store,
            self.clock.as_ref(),
        )
    }

    fn new() -> Self {
        let clock = Arc::new(TokioClock::new(t0()));
        Self {
            deployer: FakeDeployer::new().with_clock(clock.clone()),
            clock,
            health: FakeHealth::new(),
            store: MemoryCheckpointStore::default(),
            audit: MemoryAuditSink::default(),
            events: Mutex::new(Vec::new()),
        }
    }

    fn kinds(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| match &e.target {
                Some(t) => format!("{} {t}", e.kind.action()),
                None => e.kind.action().to_owned(),
            })
            .collect()
    }

    fn event_time(&self, action: &str, target: &str) -> DateTime<Utc> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .find(|e| {
                e.kind.action() == action && e.target.as_ref().map(TargetId::as_str) == Some(target)
            })
            .unwrap_or_else(|| panic!("no {action} for {target}"))
            .at
    }

    fn deploy_time(&self, target: &str) -> DateTime<Utc> {
        self.deployer
            .effects()
            .into_iter()
            .find(|(t, what, _)| t.as_str() == target && *what == "deploy")
            .unwrap_or_else(|| panic!("{target} was never deployed"))
            .2
    }
}

fn record_events(rig: &Rig) -> impl Fn(&RunEvent, &Progress) + Send + Sync + '_ {
    |e, _| rig.events.lock().unwrap().push(e.clone())
}

fn names(ids: &[TargetId]) -> Vec<&str> {
    ids.iter().map(TargetId::as_str).collect()
}

fn within_a_second(at: DateTime<Utc>, expected: DateTime<Utc>) {
    assert!(
        at >= expected && at < expected + TimeDelta::seconds(1),
        "{at} is not within a second after {expected}"
    );
}

#[tokio::test(start_paused = true)]
async fn bake_holds_the_next_wave_for_the_minimum_time_and_the_healthy_rounds() {
    let rig = Rig::new();
    let bake = BakeSpec {
        min_duration: secs(30 * 60),
        min_healthy_checks: 3,
        check_interval: secs(5 * 60),
        min_healthy_percent: 100,
    };
    let spec = spec(
        "bake",
        vec![
            WaveSpec::new([tid("a-0")]).bake(bake),
            WaveSpec::new(ids("b", 2)).max_concurrency(2),
        ],
    );
    let progress = record_events(&rig);
    let report = rig.driver().progress(&progress).run(spec).await.unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    // one check to verify the deploy, then three bake rounds at 0, 5 and 10 minutes
    assert_eq!(rig.health.checks(&tid("a-0")), 4);
    // the rounds were done at 10 minutes; the time rule held the wave until 30
    within_a_second(rig.deploy_time("b-00"), t0() + TimeDelta::minutes(30));
    within_a_second(
        rig.event_time("rollout.healthy", "b-01"),
        t0() + TimeDelta::minutes(30),
    );
}

#[tokio::test(start_paused = true)]
async fn bake_waits_for_healthy_rounds_when_they_take_longer_than_the_time() {
    let rig = Rig::new();
    // verification, then a round that is not yet healthy, then healthy rounds
    rig.health.script(
        &tid("a-0"),
        [HealthStatus::Healthy, HealthStatus::Progressing],
    );
    let bake = BakeSpec {
        min_duration: secs(10 * 60),
        min_healthy_checks: 3,
        check_interval: secs(5 * 60),
        min_healthy_percent: 100,
    };
    let spec = spec(
        "bake-rounds",
        vec![
            WaveSpec::new([tid("a-0")]).bake(bake),
            WaveSpec::new([tid("b-0")]),
        ],
    );
    let report = rig.driver().run(spec).await.unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    // rounds at 0 (progressing), 5, 10, 15: the third healthy one is at 15 minutes
    assert_eq!(rig.health.checks(&tid("a-0")), 5);
    within_a_second(rig.deploy_time("b-0"), t0() + TimeDelta::minutes(15));
}

/// A round counts when the wave's healthy share reaches `min_healthy_percent`: one target of
/// four still progressing does not hold a 75% wave, and does hold a 100% one.
#[tokio::test(start_paused = true)]
async fn a_healthy_share_below_100_percent_lets_a_round_count() {
    for (percent, rounds_done_at) in [(75u8, 10), (100u8, 15)] {
        let rig = Rig::new();
        let wave = ids("a", 4);
        // verification, then progressing in the first bake round, then healthy
        rig.health
            .script(&wave[2], [HealthStatus::Healthy, HealthStatus::Progressing]);
        let bake = BakeSpec {
            min_duration: secs(60),
            min_healthy_checks: 3,
            check_interval: secs(5 * 60),
            min_healthy_percent: percent,
        };
        let spec = spec(
            &format!("share-{percent}"),
            vec![
                WaveSpec::new(wave.clone()).max_concurrency(4).bake(bake),
                WaveSpec::new([tid("b-0")]),
            ],
        );
        let report = rig.driver().run(spec).await.unwrap();
        assert_eq!(report.end, RunEnd::Completed);
        // rounds at 0, 5, 10 (and 15 when the first does not count)
        within_a_second(
            rig.deploy_time("b-0"),
            t0() + TimeDelta::minutes(rounds_done_at),
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_wave_beyond_its_budget_halts_and_rolls_back_that_wave_only() {
    let rig = Rig::new();
    let wave1 = ids("b", 4);
    rig.deployer.script(&wave1[1], Script::FailDeploy);
    rig.deployer.script(&wave1[2], Script::FailDeploy);
    let spec = spec(
        "budget",
        vec![
            WaveSpec::new([tid("a-0")]),
            WaveSpec::new(wave1.clone()).failure_budget(Budget::Count(1)),
        ],
    );
    let progress = record_events(&rig);
    let report = rig
        .driver()
        .audit(&rig.audit)
        .progress(&progress)
        .run(spec)
        .await
        .unwrap();
    assert_eq!(
        report.end,
        RunEnd::Halted(HaltReason::WaveBudget {
            wave: 1,
            failures: 2,
            allowed: 1
        })
    );
    // b-03 never started: the second failure exhausted the budget
    let deployed: Vec<_> = rig.deployer.deploys().into_keys().collect();
    assert_eq!(names(&deployed), ["a-0", "b-00", "b-01", "b-02"]);
    // the wave's touched targets were rolled back, once each; wave 0 was not
    let rolled: Vec<_> = rig.deployer.rollbacks().into_iter().collect();
    assert_eq!(
        rolled,
        [
            (wave1[0].clone(), 1),
            (wave1[1].clone(), 1),
            (wave1[2].clone(), 1)
        ]
    );
    let releases = rig.deployer.releases();
    assert_eq!(releases[&tid("a-0")], "1.1");
    assert_eq!(releases[&wave1[0]], "1.0");
    assert_eq!(
        report.executor.state(&wave1[3]),
        Some(&TargetState::Pending)
    );
    let kinds = rig.kinds();
    let tail: Vec<&str> = kinds
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "rollout.rolling_back",
            "rollout.rolled_back b-00",
            "rollout.rolled_back b-01",
            "rollout.rolled_back b-02",
            "rollout.halted"
        ]
    );
    // the same events went to the audit sink, with the run's actor and the reason
    let audit = rig.audit.events();
    assert_eq!(audit.len(), kinds.len());
    let halted = audit.last().unwrap();
    assert_eq!(halted.action, "rollout.halted");
    assert_eq!(halted.actor.kind, ActorKind::Service);
    assert_eq!(
        halted.reasons,
        ["wave 1 exhausted its failure budget: 2 failed, 1 tolerated"]
    );
    assert_eq!(halted.details["run"], "budget");
    let failed = audit.iter().find(|e| e.action == "rollout.failed").unwrap();
    assert_eq!(failed.target, Some(wave1[1].clone()));
    assert_eq!(failed.reasons, ["image pull failed"]);
}

#[tokio::test(start_paused = true)]
async fn rollback_scope_everything_also_rolls_back_earlier_waves() {
    let rig = Rig::new();
    rig.deployer.script(&tid("b-0"), Script::FailDeploy);
    let spec = spec(
        "everything",
        vec![
            WaveSpec::new(ids("a", 2)).max_concurrency(2),
            WaveSpec::new([tid("b-0"), tid("b-1")]),
        ],
    )
    .rollback_scope(RollbackScope::Everything);
    let report = rig.driver().run(spec).await.unwrap();
    assert!(matches!(
        report.end,
        RunEnd::Halted(HaltReason::WaveBudget { wave: 1, .. })
    ));
    let rolled: Vec<_> = rig.deployer.rollbacks().into_keys().collect();
    assert_eq!(names(&rolled), ["a-00", "a-01", "b-0"]);
    assert!(rig.deployer.releases().values().all(|v| v == "1.0"));
}

#[tokio::test(start_paused = true)]
async fn the_overall_budget_counts_failures_across_waves() {
    let rig = Rig::new();
    let (a, b) = (ids("a", 5), ids("b", 5));
    rig.deployer.script(&a[0], Script::FailDeploy);
    rig.deployer.script(&b[0], Script::FailDeploy);
    // each wave tolerates 1; the run tolerates 10% of 10 = 1
    let spec = spec(
        "overall",
        vec![
            WaveSpec::new(a.clone()).failure_budget(Budget::Count(1)),
            WaveSpec::new(b.clone()).failure_budget(Budget::Count(1)),
        ],
    )
    .overall_budget(Budget::Percent(10));
    let report = rig.driver().run(spec).await.unwrap();
    assert_eq!(
        report.end,
        RunEnd::Halted(HaltReason::OverallBudget {
            failures: 2,
            allowed: 1
        })
    );
    // wave 0 completed with its one failure; wave 1 stopped at its first target
    assert_eq!(rig.deployer.deploys().len(), 6);
    let rolled: Vec<_> = rig.deployer.rollbacks().into_keys().collect();
    assert_eq!(rolled, [b[0].clone()]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollback_leaves_the_target_stuck_and_halts_the_run() {
    let rig = Rig::new();
    let targets = ids("a", 3);
    rig.deployer.script(&targets[1], Script::FailBoth);
    let leases = TargetLeases::default();
    let progress = record_events(&rig);
    let spec = spec("stuck", vec![WaveSpec::new(targets.clone())]);
    let report = rig
        .driver()
        .leases(&leases)
        .progress(&progress)
        .run(spec)
        .await
        .unwrap();
    assert_eq!(
        report.end,
        RunEnd::Halted(HaltReason::Stuck {
            target: targets[1].clone()
        })
    );
    assert_eq!(
        report.executor.state(&targets[1]),
        Some(&TargetState::Stuck {
            reason: "rollback refused".to_owned()
        })
    );
    assert!(!rig.deployer.deploys().contains_key(&targets[2]));
    let kinds = rig.kinds();
    assert!(
        kinds.contains(&"rollout.stuck a-01".to_owned()),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("rollout.halted"));
    // the stuck target stays leased to the run; the others are free again
    let run = RunId::new("stuck").unwrap();
    assert_eq!(leases.holder(&targets[1]), Some(run));
    assert_eq!(leases.holder(&targets[0]), None);
    assert_eq!(leases.holder(&targets[2]), None);
    let log = rig.store.records(&RunId::new("stuck").unwrap());
    assert!(matches!(
        log.last().map(|c| &c.record),
        Some(Record::Halted {
            reason: HaltReason::Stuck { .. },
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn pause_stops_new_starts_and_resume_continues() {
    let rig = Rig::new();
    let targets = ids("a", 4);
    for t in &targets {
        rig.deployer.script(t, Script::Slow(2)); // each takes three polls: 30 s
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let progress = record_events(&rig);
    let spec = spec("pause", vec![WaveSpec::new(targets.clone())]);
    let driver = rig.driver().progress(&progress).controls(rx).run(spec);
    let operator = async {
        tokio::time::sleep(std::time::Duration::from_secs(45)).await;
        tx.send(Control::Pause).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
        tx.send(Control::Resume).await.unwrap();
    };
    let (report, ()) = tokio::join!(driver, operator);
    assert_eq!(report.unwrap().end, RunEnd::Completed);
    // a-01 started at 30 s and finished while paused; a-02 waited for the resume at 10m45s
    within_a_second(rig.deploy_time("a-01"), t0() + TimeDelta::seconds(30));
    within_a_second(
        rig.event_time("rollout.healthy", "a-01"),
        t0() + TimeDelta::seconds(60),
    );
    within_a_second(rig.deploy_time("a-02"), t0() + TimeDelta::seconds(645));
    let kinds = rig.kinds();
    let paused = kinds.iter().position(|k| k == "rollout.paused").unwrap();
    let resumed = kinds.iter().position(|k| k == "rollout.resumed").unwrap();
    assert!(
        kinds[paused..resumed]
            .iter()
            .all(|k| !k.starts_with("rollout.started ")),
        "{kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn abort_stops_at_once_without_rollback() {
    let rig = Rig::new();
    let targets = ids("a", 4);
    for t in &targets {
        rig.deployer.script(t, Script::Slow(2));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let spec = spec("abort", vec![WaveSpec::new(targets.clone())]);
    let driver = rig.driver().controls(rx).run(spec);
    let operator = async {
        tokio::time::sleep(std::time::Duration::from_secs(45)).await;
        tx.send(Control::Abort).await.unwrap();
    };
    let (report, ()) = tokio::join!(driver, operator);
    assert_eq!(report.unwrap().end, RunEnd::Halted(HaltReason::Aborted));
    let deployed: Vec<_> = rig.deployer.deploys().into_keys().collect();
    assert_eq!(names(&deployed), ["a-00", "a-01"]);
    assert!(rig.deployer.rollbacks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_target_past_its_progress_deadline_fails_and_counts_against_the_budget() {
    let rig = Rig::new();
    let targets = ids("a", 3);
    rig.deployer.script(&targets[1], Script::Hang);
    let progress = record_events(&rig);
    let spec = spec(
        "deadline",
        vec![WaveSpec::new(targets.clone()).failure_budget(Budget::Count(0))],
    );
    let report = rig.driver().progress(&progress).run(spec).await.unwrap();
    assert!(matches!(
        report.end,
        RunEnd::Halted(HaltReason::WaveBudget { failures: 1, .. })
    ));
    // the deadline is ten minutes from the deploy's start
    within_a_second(
        rig.event_time("rollout.failed", "a-01"),
        t0() + TimeDelta::minutes(10),
    );
    let failed = rig
        .events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match &e.kind {
            RunEventKind::Failed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed, "not healthy within the progress deadline of 10m");
    // polled every ten seconds meanwhile, never re-applied
    assert_eq!(rig.deployer.deploys()[&targets[1]], 1);
    assert!(rig.deployer.outcome_calls() >= 59);
    assert!(!rig.deployer.deploys().contains_key(&targets[2]));
}

#[tokio::test(start_paused = true)]
async fn unhealthy_after_deploy_is_a_failure() {
    let rig = Rig::new();
    let targets = ids("a", 2);
    rig.health.script(
        &targets[0],
        [
            HealthStatus::Progressing,
            HealthStatus::Unhealthy {
                reason: "crash loop".to_owned(),
            },
        ],
    );
    let spec = spec("unhealthy", vec![WaveSpec::new(targets.clone())]);
    let report = rig.driver().run(spec).await.unwrap();
    assert!(matches!(
        report.end,
        RunEnd::Halted(HaltReason::WaveBudget { .. })
    ));
    assert_eq!(rig.deployer.rollbacks()[&targets[0]], 1);
    assert!(!rig.deployer.deploys().contains_key(&targets[1]));
}

#[tokio::test(start_paused = true)]
async fn a_freeze_declared_mid_run_stops_new_starts_until_it_ends() {
    let rig = Rig::new();
    let targets = ids("a", 5);
    for t in &targets {
        rig.deployer.script(t, Script::Slow(0)); // one poll: ten seconds each
    }
    let freeze: Mutex<Option<(DateTime<Utc>, DateTime<Utc>)>> = Mutex::new(None);
    let gate = |_: &TargetId, now: DateTime<Utc>| match *freeze.lock().unwrap() {
        Some((from, to)) if from <= now && now < to => GateVerdict::Wait { until: to },
        _ => GateVerdict::Allow,
    };
    // someone declares a one-hour freeze as soon as the second target is healthy
    let progress = |e: &RunEvent, _: &Progress| {
        rig.events.lock().unwrap().push(e.clone());
        if e.kind == RunEventKind::Healthy && e.target == Some(tid("a-01")) {
            *freeze.lock().unwrap() = Some((e.at, e.at + TimeDelta::hours(1)));
        }
    };
    let spec = spec("freeze", vec![WaveSpec::new(targets.clone())]);
    let report = Driver::new(
        &rig.deployer,
        &rig.health,
        &gate,
        &rig.store,
        rig.clock.as_ref(),
    )
    .progress(&progress)
    .run(spec)
    .await
    .unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    let (from, to) = freeze.lock().unwrap().unwrap();
    within_a_second(from, t0() + TimeDelta::seconds(20));
    for (t, what, at) in rig.deployer.effects() {
        assert!(
            !(from <= at && at < to),
            "{what} of {t} at {at} during the freeze"
        );
    }
    within_a_second(rig.deploy_time("a-02"), to);
    assert!(rig.kinds().contains(&"rollout.waiting a-02".to_owned()));
    assert_eq!(rig.deployer.deploys().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_denied_target_is_skipped_without_counting_as_a_failure() {
    let rig = Rig::new();
    let targets = ids("a", 3);
    let gate = |t: &TargetId, _: DateTime<Utc>| {
        if t.as_str() == "a-01" {
            GateVerdict::Deny {
                reason: "placement: pci workloads only in pci regions".to_owned(),
            }
        } else {
            GateVerdict::Allow
        }
    };
    let spec = spec("deny", vec![WaveSpec::new(targets.clone())]);
    let report = Driver::new(
        &rig.deployer,
        &rig.health,
        &gate,
        &rig.store,
        rig.clock.as_ref(),
    )
    .run(spec)
    .await
    .unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    let deployed: Vec<_> = rig.deployer.deploys().into_keys().collect();
    assert_eq!(names(&deployed), ["a-00", "a-02"]);
    assert!(matches!(
        report.executor.state(&targets[1]),
        Some(TargetState::Denied { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_the_waves_limit_exactly() {
    let rig = Rig::new();
    let targets = ids("a", 7);
    for t in &targets {
        rig.deployer.script(t, Script::Slow(2));
    }
    let spec = spec("conc", vec![WaveSpec::new(targets).max_concurrency(3)]);
    let report = rig.driver().run(spec).await.unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    assert_eq!(rig.deployer.max_running(), 3);
    // three batches of 30 s: 0, 30, 60 s for the seventh
    within_a_second(rig.deploy_time("a-06"), t0() + TimeDelta::seconds(60));
}

#[tokio::test(start_paused = true)]
async fn a_second_run_on_a_held_target_is_refused_naming_both() {
    let rig = Rig::new();
    let leases = TargetLeases::default();
    let first = RunId::new("first").unwrap();
    leases.acquire(&first, [&tid("a-01")]).unwrap();
    let spec = spec("second", vec![WaveSpec::new(ids("a", 3))]);
    let err = rig
        .driver()
        .leases(&leases)
        .run(spec.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "target `a-01` is held by run `first`; run `second` was refused"
    );
    assert!(matches!(err, DriverError::Lease(LeaseError::Held { .. })));
    // nothing was touched, and nothing was leased to the refused run
    assert_eq!(rig.deployer.apply_calls(), 0);
    assert_eq!(leases.holder(&tid("a-00")), None);
    // once the first run lets go, the second runs and releases its leases at the end
    leases.release(&first);
    let report = rig.driver().leases(&leases).run(spec).await.unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    assert_eq!(leases.holder(&tid("a-01")), None);
}

#[tokio::test(start_paused = true)]
async fn a_driver_whose_token_went_stale_stops_writing() {
    let rig = Rig::new();
    let targets = ids("a", 3);
    for t in &targets {
        rig.deployer.script(t, Script::Slow(2));
    }
    let run = RunId::new("fenced").unwrap();
    let spec = spec("fenced", vec![WaveSpec::new(targets)]);
    let driver = rig.driver().run(spec);
    let usurper = async {
        tokio::time::sleep(std::time::Duration::from_secs(15)).await;
        rig.store.fence(&run).await.unwrap()
    };
    let (result, token) = tokio::join!(driver, usurper);
    let err = result.unwrap_err();
    assert!(
        matches!(
            &err,
            DriverError::Checkpoint(CheckpointError::StaleToken { current, .. }) if *current == token
        ),
        "{err:?}"
    );
    // a-00 finished at 30 s, after the takeover: its completion was refused, not written
    let log = rig.store.records(&run);
    assert!(log.iter().all(|c| c.token.0 == 1));
    assert!(
        !log.iter()
            .any(|c| matches!(c.record, Record::Deployed { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn events_stream_to_a_channel_in_order() {
    let rig = Rig::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = spec("stream", vec![WaveSpec::new(ids("a", 2))]);
    let report = rig.driver().events(tx).run(spec).await.unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    let mut seen = Vec::new();
    while let Ok(e) = rx.try_recv() {
        seen.push(match &e.target {
            Some(t) => format!("{} {t}", e.kind.action()),
            None => e.kind.action().to_owned(),
        });
    }
    assert_eq!(
        seen,
        [
            "rollout.started",
            "rollout.wave_started",
            "rollout.started a-00",
            "rollout.deployed a-00",
            "rollout.healthy a-00",
            "rollout.started a-01",
            "rollout.deployed a-01",
            "rollout.healthy a-01",
            "rollout.wave_baked",
            "rollout.completed",
        ]
    );
}
