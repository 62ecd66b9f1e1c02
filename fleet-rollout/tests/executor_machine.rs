//! The state machine by hand, without tokio: spec validation, budgets, restore and resume,
//! stale answers and timers, serde forms, audit conversion, `Send + Sync`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod executor_support;

use chrono::TimeDelta;
use executor_support::*;
use fleet_core::{ApplyOutcome, ApplyStatus, IdempotencyKey, TargetId};
use fleet_rollout::executor::{
    BakeSpec, Budget, Checkpoint, CheckpointError, Command, Control, Driver, DriverError, Event,
    Executor, FencingToken, GateVerdict, HaltReason, HealthStatus, IntentAction, LeaseError,
    MemoryCheckpointStore, Progress, Record, RestoreError, RollbackScope, RunEnd, RunEvent,
    RunEventKind, RunId, RunSpec, SpecError, SpecErrors, TargetLeases, TargetState, TimerId,
    TokioClock, WaveSpec,
};

fn checkpoints(cmds: &[Command]) -> Vec<&Record> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Checkpoint(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn applies(cmds: &[Command]) -> Vec<(TargetId, IdempotencyKey)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Apply(r) => Some((r.target.clone(), r.key.clone())),
            _ => None,
        })
        .collect()
}

fn ok(key: &IdempotencyKey) -> ApplyOutcome {
    ApplyOutcome {
        key: key.clone(),
        status: ApplyStatus::Succeeded,
        after: None,
        at: t0(),
    }
}

#[test]
fn spec_validation_reports_every_problem() {
    let mut s = spec(
        "bad",
        vec![
            WaveSpec::new([tid("a")]).max_concurrency(0),
            WaveSpec::new([]),
            WaveSpec::new([tid("a")]).failure_budget(Budget::Percent(120)),
            WaveSpec::new([tid("c")]).bake(BakeSpec {
                min_healthy_percent: 101,
                ..BakeSpec::default()
            }),
        ],
    );
    s.progress_deadline = secs(0);
    let err = s.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid run: wave 0 has a maximum concurrency of 0; wave 1 has no targets; \
         a failure budget of 120% is above 100%; target `a` appears more than once in the run; \
         wave 3 asks for 101% of its targets healthy, above 100%; \
         `progress_deadline` must be positive, not `0s`"
    );
    assert_eq!(err.0.len(), 6);
    assert!(matches!(Executor::new(s), Err(SpecErrors(_))));
    assert_eq!(
        spec("empty", vec![]).validate().unwrap_err().0,
        [SpecError::NoWaves]
    );
}

#[test]
fn run_ids_are_checked() {
    assert_eq!(
        RunId::new("a/b").unwrap_err().to_string(),
        "invalid run id `a/b`: use 1 to 128 of `A-Z a-z 0-9 . _ -`"
    );
    assert!(RunId::new("").is_err());
    assert!(RunId::new("x".repeat(129)).is_err());
    assert_eq!(RunId::new("rel-1.4_2").unwrap().as_str(), "rel-1.4_2");
}

#[test]
fn budgets_are_exhausted_by_the_failure_beyond_them() {
    assert!(!Budget::Count(0).exhausted(0, 10));
    assert!(Budget::Count(0).exhausted(1, 10));
    assert!(!Budget::Count(2).exhausted(2, 10));
    assert!(Budget::Count(2).exhausted(3, 10));
    // 10 % of 25 is 2.5, rounded down
    assert_eq!(Budget::Percent(10).allowed(25), 2);
    assert!(Budget::Percent(10).exhausted(3, 25));
    assert!(!Budget::Percent(100).exhausted(25, 25));
    assert_eq!(Budget::Percent(0).allowed(1000), 0);
}

/// Starts a one-wave run and takes `target` through the gate; returns the deploy key.
fn started(exec: &mut Executor, target: &TargetId) -> IdempotencyKey {
    let cmds = exec.step(Event::Start, t0());
    assert!(cmds.contains(&Command::CheckGate {
        target: target.clone()
    }));
    let cmds = exec.step(
        Event::Gate {
            target: target.clone(),
            verdict: GateVerdict::Allow,
        },
        t0(),
    );
    let intent = cmds
        .iter()
        .position(|c| matches!(c, Command::Checkpoint(Record::Intent { .. })))
        .unwrap();
    let apply = cmds
        .iter()
        .position(|c| matches!(c, Command::Apply(_)))
        .unwrap();
    assert!(
        intent < apply,
        "the intent is checkpointed before the effect"
    );
    applies(&cmds)[0].1.clone()
}

#[test]
fn keys_name_the_run_the_target_and_the_action() {
    let mut exec = Executor::new(spec("r7", vec![WaveSpec::new([tid("eks-1")])])).unwrap();
    let key = started(&mut exec, &tid("eks-1"));
    assert_eq!(key.0, "r7/eks-1/deploy");
    assert_eq!(
        exec.key(&tid("eks-1"), IntentAction::Rollback).0,
        "r7/eks-1/rollback"
    );
}

#[test]
fn resume_asks_for_the_outcome_of_an_unfinished_intent_instead_of_applying_again() {
    let s = spec("resume", vec![WaveSpec::new(ids("a", 2))]);
    let mut exec = Executor::new(s.clone()).unwrap();
    let mut log = Vec::new();
    let mut keep = |cmds: Vec<Command>| {
        for c in cmds {
            if let Command::Checkpoint(r) = c {
                log.push(r);
            }
        }
    };
    keep(exec.step(Event::Start, t0()));
    let key = IdempotencyKey("resume/a-00/deploy".to_owned());
    keep(exec.step(
        Event::Gate {
            target: tid("a-00"),
            verdict: GateVerdict::Allow,
        },
        t0(),
    ));
    // crash: the apply's answer never arrived
    let mut resumed = Executor::restore(s.clone(), &log).unwrap();
    assert_eq!(
        resumed.state(&tid("a-00")),
        Some(&TargetState::Deploying { since: t0() })
    );
    let later = t0() + TimeDelta::seconds(5);
    let cmds = resumed.resume(later);
    assert!(applies(&cmds).is_empty(), "{cmds:?}");
    assert!(cmds.contains(&Command::QueryOutcome {
        target: tid("a-00"),
        key: key.clone()
    }));
    // the deadline still counts from the original intent
    assert!(cmds.contains(&Command::SetTimer {
        timer: TimerId::Deadline(tid("a-00")),
        at: t0() + TimeDelta::minutes(10)
    }));

    // the substrate never saw the key: apply, under the same key, without a new intent
    let mut never_seen = resumed.clone();
    let cmds = never_seen.step(
        Event::Outcome {
            target: tid("a-00"),
            key: key.clone(),
            result: Ok(None),
        },
        later,
    );
    assert_eq!(applies(&cmds), [(tid("a-00"), key.clone())]);
    assert!(checkpoints(&cmds).is_empty());

    // the substrate did it: record it and check health, no apply
    let cmds = resumed.step(
        Event::Outcome {
            target: tid("a-00"),
            key: key.clone(),
            result: Ok(Some(ok(&key))),
        },
        later,
    );
    assert!(applies(&cmds).is_empty());
    assert!(matches!(
        checkpoints(&cmds).as_slice(),
        [Record::Deployed { .. }]
    ));
    assert!(cmds.contains(&Command::CheckHealth {
        target: tid("a-00")
    }));
}

#[test]
fn a_log_for_another_spec_or_target_is_refused() {
    let s = spec("r", vec![WaveSpec::new([tid("a")])]);
    let mut exec = Executor::new(s.clone()).unwrap();
    let log: Vec<Record> = checkpoints(&exec.step(Event::Start, t0()))
        .into_iter()
        .cloned()
        .collect();
    let mut changed = s.clone();
    changed.waves[0].max_concurrency = 5;
    assert_eq!(
        Executor::restore(changed, &log).unwrap_err().to_string(),
        "the checkpoint log of run `r` was written for a different spec"
    );
    let stray = [Record::Healthy {
        target: tid("zz"),
        at: t0(),
    }];
    assert_eq!(
        Executor::restore(s, &stray).unwrap_err(),
        RestoreError::UnknownTarget {
            index: 0,
            target: tid("zz")
        }
    );
}

#[test]
fn stale_answers_and_timers_change_nothing() {
    let mut exec = Executor::new(spec("stale", vec![WaveSpec::new(ids("a", 2))])).unwrap();
    let key = started(&mut exec, &tid("a-00"));
    let before = exec.progress();
    // a verdict for a target not being gated, an answer under another key, a deadline not due
    let noise = [
        Event::Gate {
            target: tid("a-01"),
            verdict: GateVerdict::Allow,
        },
        Event::Applied {
            target: tid("a-00"),
            key: IdempotencyKey("other".to_owned()),
            result: Ok(ok(&IdempotencyKey("other".to_owned()))),
        },
        Event::Timer(TimerId::Deadline(tid("a-00"))),
        Event::Timer(TimerId::Poll(tid("a-01"))),
        Event::Health {
            target: tid("a-01"),
            result: Ok(HealthStatus::Healthy),
        },
        Event::Timer(TimerId::Deadline(tid("unknown"))),
    ];
    for event in noise {
        let cmds = exec.step(event.clone(), t0() + TimeDelta::seconds(1));
        assert!(cmds.is_empty(), "{event:?} gave {cmds:?}");
    }
    assert_eq!(exec.progress(), before);
    // the real answer still counts
    let cmds = exec.step(
        Event::Applied {
            target: tid("a-00"),
            key: key.clone(),
            result: Ok(ok(&key)),
        },
        t0(),
    );
    assert!(cmds.contains(&Command::CheckHealth {
        target: tid("a-00")
    }));
}

#[test]
fn an_unknown_apply_error_is_asked_about_later_and_a_refusal_fails() {
    use fleet_core::SubstrateError;
    let mut exec = Executor::new(spec(
        "errs",
        vec![WaveSpec::new(ids("a", 2)).failure_budget(Budget::Count(5))],
    ))
    .unwrap();
    let key = started(&mut exec, &tid("a-00"));
    let cmds = exec.step(
        Event::Applied {
            target: tid("a-00"),
            key: key.clone(),
            result: Err(SubstrateError::Throttled {
                retry_after_ms: 500,
            }),
        },
        t0(),
    );
    assert_eq!(
        cmds,
        [Command::SetTimer {
            timer: TimerId::Poll(tid("a-00")),
            at: t0() + TimeDelta::seconds(10)
        }]
    );
    let cmds = exec.step(
        Event::Timer(TimerId::Poll(tid("a-00"))),
        t0() + TimeDelta::seconds(10),
    );
    assert_eq!(
        cmds,
        [Command::QueryOutcome {
            target: tid("a-00"),
            key: key.clone()
        }]
    );
    let cmds = exec.step(
        Event::Outcome {
            target: tid("a-00"),
            key,
            result: Err(SubstrateError::Denied {
                message: "role lacks eks:UpdateCluster".to_owned(),
            }),
        },
        t0() + TimeDelta::seconds(10),
    );
    assert_eq!(
        exec.state(&tid("a-00")),
        Some(&TargetState::Failed {
            reason: "access denied: role lacks eks:UpdateCluster".to_owned()
        })
    );
    // within budget: the next target is gated
    assert!(cmds.contains(&Command::CheckGate {
        target: tid("a-01")
    }));
}

#[test]
fn pause_holds_the_next_start_until_resume() {
    let mut exec = Executor::new(spec("p", vec![WaveSpec::new(ids("a", 2))])).unwrap();
    let key = started(&mut exec, &tid("a-00"));
    assert!(matches!(
        checkpoints(&exec.step(Event::Pause, t0())).as_slice(),
        [Record::Paused { .. }]
    ));
    assert!(exec.is_paused());
    let _ = exec.step(
        Event::Applied {
            target: tid("a-00"),
            key: key.clone(),
            result: Ok(ok(&key)),
        },
        t0(),
    );
    let cmds = exec.step(
        Event::Health {
            target: tid("a-00"),
            result: Ok(HealthStatus::Healthy),
        },
        t0(),
    );
    assert!(!cmds.iter().any(|c| matches!(c, Command::CheckGate { .. })));
    let cmds = exec.step(Event::Resume, t0());
    assert!(cmds.contains(&Command::CheckGate {
        target: tid("a-01")
    }));
    assert!(matches!(
        checkpoints(&cmds).as_slice(),
        [Record::Resumed { .. }]
    ));
}

#[test]
fn abort_ends_the_run_and_later_events_do_nothing() {
    let mut exec = Executor::new(spec("ab", vec![WaveSpec::new(ids("a", 2))])).unwrap();
    let key = started(&mut exec, &tid("a-00"));
    let cmds = exec.step(Event::Abort, t0());
    assert_eq!(
        cmds.last(),
        Some(&Command::Halt(RunEnd::Halted(HaltReason::Aborted)))
    );
    assert_eq!(exec.end(), Some(&RunEnd::Halted(HaltReason::Aborted)));
    let cmds = exec.step(
        Event::Applied {
            target: tid("a-00"),
            key: key.clone(),
            result: Ok(ok(&key)),
        },
        t0(),
    );
    assert!(cmds.is_empty());
}

#[test]
fn run_specs_read_from_json_with_defaults() {
    let json = r#"{
        "run_id": "rel-42",
        "actor": { "kind": "service", "name": "ci" },
        "release": { "workload": "api", "version": "1.1" },
        "last_good": { "workload": "api", "version": "1.0" },
        "waves": [
            { "targets": ["eks-1"], "max_concurrency": 1,
              "bake": { "min_duration": "30m", "min_healthy_checks": 3 } },
            { "targets": ["eks-2", "eks-3"], "max_concurrency": 2,
              "failure_budget": { "percent": 50 } }
        ],
        "progress_deadline": "10m",
        "rollback_scope": "everything"
    }"#;
    let spec: RunSpec = serde_json::from_str(json).unwrap();
    spec.validate().unwrap();
    assert_eq!(spec.overall_budget, Budget::Percent(100));
    assert_eq!(spec.poll_interval, secs(10));
    assert_eq!(spec.rollback_scope, RollbackScope::Everything);
    assert_eq!(spec.waves[0].failure_budget, Budget::Count(0));
    assert_eq!(
        spec.waves[0].bake,
        BakeSpec {
            min_duration: secs(1800),
            min_healthy_checks: 3,
            check_interval: secs(60),
            min_healthy_percent: 100,
        }
    );
    let back: RunSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    assert_eq!(back.digest(), spec.digest());
    let err = serde_json::from_str::<RunSpec>(&json.replace("rel-42", "rel 42")).unwrap_err();
    assert!(err.to_string().contains("invalid run id `rel 42`"), "{err}");
}

#[test]
fn records_have_a_stable_json_form() {
    let record = Record::Intent {
        target: tid("eks-1"),
        key: IdempotencyKey("r/eks-1/deploy".to_owned()),
        action: IntentAction::Deploy,
        at: t0(),
    };
    let text = serde_json::to_string(&record).unwrap();
    assert_eq!(
        text,
        r#"{"record":"intent","target":"eks-1","key":"r/eks-1/deploy","action":"deploy","at":"2026-12-04T09:00:00Z"}"#
    );
    assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), record);
    let checkpoint = Checkpoint {
        seq: 3,
        token: FencingToken(2),
        record: Record::Halted {
            reason: HaltReason::Stuck {
                target: tid("eks-1"),
            },
            at: t0(),
        },
    };
    let back: Checkpoint =
        serde_json::from_str(&serde_json::to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(back, checkpoint);
}

#[test]
fn run_events_become_audit_events() {
    let event = RunEvent {
        run: RunId::new("r1").unwrap(),
        at: t0(),
        actor: fleet_core::Actor::human("ana"),
        wave: Some(2),
        target: Some(tid("eks-9")),
        kind: RunEventKind::Failed {
            reason: "image pull failed".to_owned(),
        },
    };
    let audit = event.to_audit();
    assert_eq!(audit.action_id, "r1/eks-9/rollout.failed");
    assert_eq!(audit.action, "rollout.failed");
    assert_eq!(audit.decision, "failed");
    assert_eq!(audit.actor, fleet_core::Actor::human("ana"));
    assert_eq!(audit.target, Some(tid("eks-9")));
    assert_eq!(audit.reasons, ["image pull failed"]);
    assert_eq!(audit.details["wave"], "2");
    assert_eq!(
        event.to_string(),
        "09:00:00 r1 rollout.failed `eks-9`: image pull failed"
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Executor>();
    check::<RunSpec>();
    check::<WaveSpec>();
    check::<Budget>();
    check::<Event>();
    check::<Command>();
    check::<Record>();
    check::<Checkpoint>();
    check::<RunEvent>();
    check::<RunEnd>();
    check::<Progress>();
    check::<TargetState>();
    check::<MemoryCheckpointStore>();
    check::<TargetLeases>();
    check::<TokioClock>();
    check::<Control>();
    check::<Driver<'static>>();
    check::<DriverError>();
    check::<CheckpointError>();
    check::<LeaseError>();
    check::<RestoreError>();
    check::<SpecErrors>();
    check::<fleet_rollout::executor::PolicyGate<'static>>();
}

#[test]
fn a_gate_wait_already_over_waits_one_poll_interval_instead_of_spinning() {
    let mut exec = Executor::new(spec("w", vec![WaveSpec::new(ids("a", 1))])).unwrap();
    let _ = exec.step(Event::Start, t0());
    let cmds = exec.step(
        Event::Gate {
            target: tid("a-00"),
            verdict: GateVerdict::Wait {
                until: t0() - TimeDelta::hours(1),
            },
        },
        t0(),
    );
    assert!(cmds.contains(&Command::SetTimer {
        timer: TimerId::GateWait,
        at: t0() + TimeDelta::seconds(10)
    }));
    assert!(!cmds.iter().any(|c| matches!(c, Command::CheckGate { .. })));
    let cmds = exec.step(
        Event::Timer(TimerId::GateWait),
        t0() + TimeDelta::seconds(10),
    );
    assert_eq!(
        cmds,
        [Command::CheckGate {
            target: tid("a-00")
        }]
    );
}
