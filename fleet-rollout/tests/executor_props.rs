//! Property tests: random runs over random failure scripts, driven by a small synchronous
//! simulator. The executor never exceeds a wave's concurrency, never starts a deploy once a
//! budget is exhausted, never deploys a target twice, always checkpoints an intent before its
//! effect, always ends, and ends consistently with its budgets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod executor_support;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use executor_support::*;
use fleet_core::{ApplyAction, ApplyOutcome, ApplyStatus, IdempotencyKey, TargetId};
use fleet_rollout::executor::{
    BakeSpec, Budget, Command, Event, Executor, GateVerdict, HaltReason, HealthStatus,
    IntentAction, Record, RollbackScope, RunEnd, TargetState, TimerId, WaveSpec,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Ok,
    FailDeploy,
    Unhealthy,
    Slow(u8),
    Hang,
    FailRollback,
    Flaky,
    Denied,
    WaitOnce,
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        6 => Just(Behaviour::Ok),
        2 => Just(Behaviour::FailDeploy),
        1 => Just(Behaviour::Unhealthy),
        2 => (0u8..4).prop_map(Behaviour::Slow),
        1 => Just(Behaviour::Hang),
        1 => Just(Behaviour::FailRollback),
        1 => Just(Behaviour::Flaky),
        1 => Just(Behaviour::Denied),
        1 => Just(Behaviour::WaitOnce),
    ]
}

fn budget() -> impl Strategy<Value = Budget> {
    prop_oneof![
        (0u32..3).prop_map(Budget::Count),
        (0u8..=100).prop_map(Budget::Percent),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    waves: Vec<(usize, u32, Budget, u32)>,
    overall: Budget,
    scope: RollbackScope,
    behaviours: Vec<Behaviour>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((1usize..7, 1u32..4, budget(), 0u32..3), 1..4),
        budget(),
        prop_oneof![Just(RollbackScope::Wave), Just(RollbackScope::Everything)],
        prop::collection::vec(behaviour(), 18),
    )
        .prop_map(|(waves, overall, scope, behaviours)| Case {
            waves,
            overall,
            scope,
            behaviours,
        })
}

struct Sim {
    exec: Executor,
    now: DateTime<Utc>,
    behaviour: BTreeMap<TargetId, Behaviour>,
    polls: BTreeMap<IdempotencyKey, u8>,
    seen: BTreeMap<IdempotencyKey, ApplyStatus>,
    waited: BTreeMap<TargetId, bool>,
    health_calls: BTreeMap<TargetId, u32>,
    timers: BTreeMap<TimerId, DateTime<Utc>>,
    deploy_intents: BTreeMap<TargetId, u32>,
    failed: std::collections::BTreeSet<TargetId>,
    rollback_started: bool,
    max: Vec<usize>,
}

impl Sim {
    fn answer(&mut self, cmd: Command) -> Option<Event> {
        match cmd {
            Command::CheckGate { target } => {
                let verdict = match self.behaviour[&target] {
                    Behaviour::Denied => GateVerdict::Deny {
                        reason: "held".to_owned(),
                    },
                    Behaviour::WaitOnce if !self.waited.contains_key(&target) => {
                        self.waited.insert(target.clone(), true);
                        GateVerdict::Wait {
                            until: self.now + TimeDelta::minutes(5),
                        }
                    }
                    _ => GateVerdict::Allow,
                };
                Some(Event::Gate { target, verdict })
            }
            Command::Apply(req) => {
                let b = self.behaviour[&req.target];
                let status = self.seen.get(&req.key).cloned().unwrap_or_else(|| {
                    let s = match (&req.action, b) {
                        (ApplyAction::Deploy { .. }, Behaviour::FailDeploy) => {
                            ApplyStatus::Failed {
                                reason: "failed".to_owned(),
                            }
                        }
                        (ApplyAction::Deploy { .. }, Behaviour::Slow(n)) => {
                            self.polls.insert(req.key.clone(), n);
                            ApplyStatus::InProgress
                        }
                        (ApplyAction::Deploy { .. }, Behaviour::Hang) => ApplyStatus::InProgress,
                        (ApplyAction::Rollback { .. }, Behaviour::FailRollback) => {
                            ApplyStatus::Failed {
                                reason: "refused".to_owned(),
                            }
                        }
                        _ => ApplyStatus::Succeeded,
                    };
                    self.seen.insert(req.key.clone(), s.clone());
                    s
                });
                Some(Event::Applied {
                    target: req.target,
                    key: req.key.clone(),
                    result: Ok(outcome(&req.key, status, self.now)),
                })
            }
            Command::QueryOutcome { target, key } => {
                let mut status = self.seen.get(&key).cloned();
                if status == Some(ApplyStatus::InProgress)
                    && let Some(n) = self.polls.get_mut(&key)
                {
                    if *n == 0 {
                        status = Some(ApplyStatus::Succeeded);
                        self.seen.insert(key.clone(), ApplyStatus::Succeeded);
                    } else {
                        *n -= 1;
                    }
                }
                let result = Ok(status.map(|s| outcome(&key, s, self.now)));
                Some(Event::Outcome {
                    target,
                    key,
                    result,
                })
            }
            Command::CheckHealth { target } => {
                let calls = self.health_calls.entry(target.clone()).or_default();
                *calls += 1;
                let status = match (self.behaviour[&target], *calls) {
                    (Behaviour::Unhealthy, _) => HealthStatus::Unhealthy {
                        reason: "crash loop".to_owned(),
                    },
                    (Behaviour::Flaky, n) if n % 2 == 1 => HealthStatus::Progressing,
                    _ => HealthStatus::Healthy,
                };
                Some(Event::Health {
                    target,
                    result: Ok(status),
                })
            }
            Command::SetTimer { timer, at } => {
                self.timers.insert(timer, at);
                None
            }
            _ => None,
        }
    }

    /// Checks one step's commands; returns whether the run halted.
    fn check(&mut self, cmds: &[Command]) -> Result<bool, TestCaseError> {
        for (i, c) in cmds.iter().enumerate() {
            match c {
                Command::Checkpoint(Record::Intent { target, action, .. })
                    if *action == IntentAction::Deploy =>
                {
                    prop_assert!(!self.rollback_started, "deploy of {target} after rollback");
                    let n = self.deploy_intents.entry(target.clone()).or_default();
                    *n += 1;
                    prop_assert_eq!(*n, 1, "{} deployed twice", target);
                }
                Command::Checkpoint(Record::Failed { target, .. }) => {
                    prop_assert!(
                        self.failed.insert(target.clone()),
                        "{} failed twice",
                        target
                    );
                }
                Command::Checkpoint(Record::RollbackStarted { .. }) => {
                    self.rollback_started = true;
                }
                Command::Apply(req) => {
                    let announced = cmds[..i].iter().any(|p| {
                        matches!(p, Command::Checkpoint(Record::Intent { key, .. }) if *key == req.key)
                    });
                    prop_assert!(announced, "apply {} without an intent before it", req.key);
                }
                _ => {}
            }
        }
        for (w, max) in self.max.iter().enumerate() {
            prop_assert!(
                self.exec.in_flight(w) <= *max,
                "wave {w} over its concurrency"
            );
        }
        Ok(cmds.iter().any(|c| matches!(c, Command::Halt(_))))
    }
}

fn outcome(key: &IdempotencyKey, status: ApplyStatus, at: DateTime<Utc>) -> ApplyOutcome {
    ApplyOutcome {
        key: key.clone(),
        status,
        after: None,
        at,
    }
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let mut waves = Vec::new();
    let mut all = Vec::new();
    for (w, (size, conc, budget, checks)) in case.waves.iter().enumerate() {
        let targets: Vec<TargetId> = (0..*size).map(|i| tid(&format!("w{w}-t{i}"))).collect();
        all.extend(targets.iter().cloned());
        let bake = BakeSpec {
            min_duration: secs(120),
            min_healthy_checks: *checks,
            check_interval: secs(30),
            min_healthy_percent: 100,
        };
        waves.push(
            WaveSpec::new(targets)
                .max_concurrency(*conc)
                .failure_budget(*budget)
                .bake(bake),
        );
    }
    let spec = spec("prop", waves)
        .overall_budget(case.overall)
        .rollback_scope(case.scope);
    let behaviour: BTreeMap<TargetId, Behaviour> = all
        .iter()
        .cloned()
        .zip(case.behaviours.iter().copied().cycle())
        .collect();
    let max = spec
        .waves
        .iter()
        .map(|w| w.max_concurrency as usize)
        .collect();
    let mut sim = Sim {
        exec: Executor::new(spec.clone()).unwrap(),
        now: t0(),
        behaviour,
        polls: BTreeMap::new(),
        seen: BTreeMap::new(),
        waited: BTreeMap::new(),
        health_calls: BTreeMap::new(),
        timers: BTreeMap::new(),
        deploy_intents: BTreeMap::new(),
        failed: std::collections::BTreeSet::new(),
        rollback_started: false,
        max,
    };
    let first = sim.exec.step(Event::Start, sim.now);
    let mut halted = sim.check(&first)?;
    let mut queue: VecDeque<Command> = first.into();
    let mut steps = 0;
    while !halted {
        steps += 1;
        prop_assert!(steps < 50_000, "the run did not end");
        let event = match queue.pop_front() {
            Some(cmd) => match sim.answer(cmd) {
                Some(e) => e,
                None => continue,
            },
            None => {
                let next = sim.timers.iter().min_by_key(|(_, at)| **at);
                let Some((id, at)) = next.map(|(i, a)| (i.clone(), *a)) else {
                    prop_assert!(false, "idle before the end: {:?}", sim.exec.progress());
                    unreachable!()
                };
                sim.timers.remove(&id);
                sim.now = sim.now.max(at);
                Event::Timer(id)
            }
        };
        let cmds = sim.exec.step(event, sim.now);
        halted = sim.check(&cmds)?;
        queue.extend(cmds);
    }

    // how it ended agrees with the budgets
    let end = sim.exec.end().cloned().unwrap();
    let failed = |t: &TargetId| sim.failed.contains(t);
    let mut total_failures = 0;
    for (w, wave) in spec.waves.iter().enumerate() {
        let failures = wave.targets.iter().filter(|t| failed(t)).count();
        total_failures += failures;
        // a wave overshoots its budget by at most what was in flight when it ran out
        prop_assert!(
            failures
                <= wave.failure_budget.allowed(wave.targets.len()) + wave.max_concurrency as usize,
            "wave {w}: {failures} failures"
        );
    }
    match &end {
        RunEnd::Completed => {
            for (t, s) in sim.exec.states() {
                prop_assert!(
                    matches!(
                        s,
                        TargetState::Healthy
                            | TargetState::Failed { .. }
                            | TargetState::Denied { .. }
                    ),
                    "{t} ended {s:?}"
                );
            }
            for wave in &spec.waves {
                let failures = wave
                    .targets
                    .iter()
                    .filter(|t| matches!(sim.exec.state(t), Some(TargetState::Failed { .. })))
                    .count();
                prop_assert!(!wave.failure_budget.exhausted(failures, wave.targets.len()));
            }
            prop_assert!(!spec.overall_budget.exhausted(total_failures, all.len()));
        }
        RunEnd::Halted(HaltReason::WaveBudget { .. } | HaltReason::OverallBudget { .. }) => {
            // everything touched in scope is back on the last good release
            let current = sim.exec.progress().wave;
            for (w, ws) in spec.waves.iter().enumerate() {
                let in_scope = match case.scope {
                    RollbackScope::Wave => w == current,
                    RollbackScope::Everything => w <= current,
                };
                for t in &ws.targets {
                    let s = sim.exec.state(t).unwrap();
                    if in_scope && sim.deploy_intents.contains_key(t) {
                        prop_assert_eq!(s, &TargetState::RolledBack, "{} in scope", t);
                    }
                    if w > current {
                        prop_assert_eq!(s, &TargetState::Pending);
                    }
                }
            }
        }
        RunEnd::Halted(HaltReason::Stuck { target }) => {
            let stuck = matches!(sim.exec.state(target), Some(TargetState::Stuck { .. }));
            prop_assert!(stuck, "{} is not stuck", target);
            prop_assert_eq!(sim.behaviour[target], Behaviour::FailRollback);
        }
        other => prop_assert!(false, "unexpected end {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_runs_respect_concurrency_budgets_and_intents(case in case()) {
        run_case(&case)?;
    }
}

#[test]
fn a_known_mixed_case() {
    let case = Case {
        waves: vec![
            (1, 1, Budget::Count(0), 1),
            (5, 2, Budget::Count(1), 0),
            (4, 3, Budget::Percent(50), 0),
        ],
        overall: Budget::Percent(100),
        scope: RollbackScope::Everything,
        behaviours: vec![
            Behaviour::Ok,
            Behaviour::Slow(2),
            Behaviour::FailDeploy,
            Behaviour::Flaky,
            Behaviour::WaitOnce,
            Behaviour::Unhealthy,
        ],
    };
    run_case(&case).unwrap();
}
