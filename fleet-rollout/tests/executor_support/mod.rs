//! Fakes shared by the executor tests: a deployer that counts effects, a scripted health
//! check, crash injection, and spec builders. They live outside the executor on purpose: the
//! counts they keep are the evidence.

#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use fleet_core::{
    Actor, Apply, ApplyAction, ApplyOutcome, ApplyRequest, ApplyStatus, BoxFuture, Clock, Duration,
    IdempotencyKey, Release, SubstrateError, TargetId, Version, Workload,
};
use fleet_rollout::executor::{
    Checkpoint, CheckpointError, CheckpointStore, FencingToken, HealthCheck, HealthError,
    HealthStatus, Record, RunId, RunSpec, WaveSpec,
};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap()
}

pub fn tid(s: &str) -> TargetId {
    TargetId::new(s).unwrap()
}

pub fn ids(prefix: &str, n: usize) -> Vec<TargetId> {
    (0..n).map(|i| tid(&format!("{prefix}-{i:02}"))).collect()
}

pub fn release(v: &str) -> Release {
    Release::new(&Workload::new("api"), Version::parse(v).unwrap())
}

pub fn secs(s: i64) -> Duration {
    Duration::from_seconds(s)
}

/// A run with the given waves, a 10-minute deadline and 10-second polls.
pub fn spec(run: &str, waves: Vec<WaveSpec>) -> RunSpec {
    let mut spec = RunSpec::new(
        RunId::new(run).unwrap(),
        Actor::service("ci"),
        release("1.1"),
        release("1.0"),
        secs(600),
    );
    spec.waves = waves;
    spec
}

/// What the fake substrate does with one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Deploys and rolls back fine, at once.
    Ok,
    /// The deploy fails at once.
    FailDeploy,
    /// The deploy fails, and so does the rollback.
    FailBoth,
    /// The deploy answers `InProgress` for this many outcome queries, then succeeds.
    Slow(u32),
    /// The deploy never finishes.
    Hang,
}

#[derive(Debug, Clone)]
struct Attempt {
    target: TargetId,
    rollback: bool,
    status: ApplyStatus,
    polls_left: u32,
}

#[derive(Debug, Default)]
struct DeployerState {
    attempts: BTreeMap<IdempotencyKey, Attempt>,
    scripts: BTreeMap<TargetId, Script>,
    deploys: BTreeMap<TargetId, u32>,
    rollbacks: BTreeMap<TargetId, u32>,
    release: BTreeMap<TargetId, String>,
    running: BTreeSet<TargetId>,
    max_running: usize,
    apply_calls: u32,
    calls_per_key: BTreeMap<IdempotencyKey, u32>,
    outcome_calls: u32,
    effects_log: Vec<(TargetId, &'static str, DateTime<Utc>)>,
}

/// A substrate that keeps honest counts: how many times each target was deployed and rolled
/// back (new keys only: a key seen before never acts again), which release each target runs,
/// and how many deploys ran at once.
#[derive(Debug, Default)]
pub struct FakeDeployer {
    state: Mutex<DeployerState>,
    clock: Mutex<Option<Arc<dyn Clock>>>,
}

impl FakeDeployer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn script(&self, target: &TargetId, script: Script) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .insert(target.clone(), script);
    }

    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        *self.clock.lock().unwrap() = Some(clock);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock
            .lock()
            .unwrap()
            .as_ref()
            .map_or(t0(), |c| c.now())
    }

    pub fn deploys(&self) -> BTreeMap<TargetId, u32> {
        self.state.lock().unwrap().deploys.clone()
    }

    pub fn rollbacks(&self) -> BTreeMap<TargetId, u32> {
        self.state.lock().unwrap().rollbacks.clone()
    }

    /// The release each touched target runs now ("1.1" deployed, "1.0" rolled back).
    pub fn releases(&self) -> BTreeMap<TargetId, String> {
        self.state.lock().unwrap().release.clone()
    }

    pub fn max_running(&self) -> usize {
        self.state.lock().unwrap().max_running
    }

    pub fn apply_calls(&self) -> u32 {
        self.state.lock().unwrap().apply_calls
    }

    /// How many `apply` calls reached the substrate, per key.
    pub fn calls_per_key(&self) -> BTreeMap<IdempotencyKey, u32> {
        self.state.lock().unwrap().calls_per_key.clone()
    }

    pub fn outcome_calls(&self) -> u32 {
        self.state.lock().unwrap().outcome_calls
    }

    /// Every effect, in order: (target, "deploy" | "rollback", when).
    pub fn effects(&self) -> Vec<(TargetId, &'static str, DateTime<Utc>)> {
        self.state.lock().unwrap().effects_log.clone()
    }

    fn act(&self, request: &ApplyRequest) -> ApplyOutcome {
        let now = self.now();
        let mut s = self.state.lock().unwrap();
        s.apply_calls += 1;
        *s.calls_per_key.entry(request.key.clone()).or_default() += 1;
        if let Some(a) = s.attempts.get(&request.key) {
            return outcome(&request.key, a.status.clone(), now);
        }
        let script = s
            .scripts
            .get(&request.target)
            .copied()
            .unwrap_or(Script::Ok);
        let target = request.target.clone();
        let (rollback, status, polls_left) = match &request.action {
            ApplyAction::Deploy { release } => {
                *s.deploys.entry(target.clone()).or_default() += 1;
                s.effects_log.push((target.clone(), "deploy", now));
                let (status, polls) = match script {
                    Script::Ok => (ApplyStatus::Succeeded, 0),
                    Script::FailDeploy | Script::FailBoth => (
                        ApplyStatus::Failed {
                            reason: "image pull failed".to_owned(),
                        },
                        0,
                    ),
                    Script::Slow(n) => (ApplyStatus::InProgress, n),
                    Script::Hang => (ApplyStatus::InProgress, u32::MAX),
                };
                if status == ApplyStatus::Succeeded {
                    s.release
                        .insert(target.clone(), release.version.to_string());
                }
                if status == ApplyStatus::InProgress {
                    s.running.insert(target.clone());
                    s.max_running = s.max_running.max(s.running.len());
                }
                (false, status, polls)
            }
            ApplyAction::Rollback { to } => {
                *s.rollbacks.entry(target.clone()).or_default() += 1;
                s.effects_log.push((target.clone(), "rollback", now));
                s.running.remove(&target);
                let status = if script == Script::FailBoth {
                    ApplyStatus::Failed {
                        reason: "rollback refused".to_owned(),
                    }
                } else {
                    s.release.insert(target.clone(), to.version.to_string());
                    ApplyStatus::Succeeded
                };
                (true, status, 0)
            }
            _ => unreachable!(),
        };
        s.attempts.insert(
            request.key.clone(),
            Attempt {
                target,
                rollback,
                status: status.clone(),
                polls_left,
            },
        );
        outcome(&request.key, status, now)
    }

    fn query(&self, key: &IdempotencyKey) -> Option<ApplyOutcome> {
        let now = self.now();
        let mut s = self.state.lock().unwrap();
        s.outcome_calls += 1;
        let a = s.attempts.get_mut(key)?;
        if a.status == ApplyStatus::InProgress && a.polls_left != u32::MAX {
            if a.polls_left == 0 {
                a.status = ApplyStatus::Succeeded;
                let target = a.target.clone();
                s.running.remove(&target);
                s.release.insert(target, "1.1".to_owned());
            } else {
                a.polls_left -= 1;
            }
        }
        let a = s.attempts.get(key)?;
        Some(outcome(key, a.status.clone(), now))
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

impl Apply for FakeDeployer {
    fn apply<'a>(
        &'a self,
        request: &'a ApplyRequest,
    ) -> BoxFuture<'a, Result<ApplyOutcome, SubstrateError>> {
        let o = self.act(request);
        Box::pin(async move { Ok(o) })
    }

    fn outcome<'a>(
        &'a self,
        _target: &'a TargetId,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Option<ApplyOutcome>, SubstrateError>> {
        let o = self.query(key);
        Box::pin(async move { Ok(o) })
    }
}

/// A health check answering from per-target scripts (a queue of answers; `Healthy` once the
/// queue is empty), counting checks.
#[derive(Debug, Default)]
pub struct FakeHealth {
    scripts: Mutex<BTreeMap<TargetId, VecDeque<HealthStatus>>>,
    checks: Mutex<BTreeMap<TargetId, u32>>,
}

impl FakeHealth {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn script(&self, target: &TargetId, answers: impl IntoIterator<Item = HealthStatus>) {
        self.scripts
            .lock()
            .unwrap()
            .insert(target.clone(), answers.into_iter().collect());
    }

    pub fn checks(&self, target: &TargetId) -> u32 {
        self.checks
            .lock()
            .unwrap()
            .get(target)
            .copied()
            .unwrap_or(0)
    }
}

impl HealthCheck for FakeHealth {
    fn check<'a>(
        &'a self,
        target: &'a TargetId,
    ) -> BoxFuture<'a, Result<HealthStatus, HealthError>> {
        *self
            .checks
            .lock()
            .unwrap()
            .entry(target.clone())
            .or_default() += 1;
        let answer = self
            .scripts
            .lock()
            .unwrap()
            .get_mut(target)
            .and_then(VecDeque::pop_front)
            .unwrap_or(HealthStatus::Healthy);
        Box::pin(async move { Ok(answer) })
    }
}

/// Where a crash happens: before the `at`-th counted operation (appends, applies and
/// outcome queries, from 1), or right after its effect when `after_effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPlan {
    pub at: u64,
    pub after_effect: bool,
}

/// Counts operations and hangs (forever) at the planned one: the test then drops the driver,
/// which is what a crash looks like from outside.
#[derive(Debug, Default)]
pub struct Crasher {
    crashed: tokio::sync::Notify,
    ops: AtomicU64,
    plan: Mutex<Option<CrashPlan>>,
    kinds: Mutex<Vec<&'static str>>,
}

impl Crasher {
    pub fn new(plan: Option<CrashPlan>) -> Self {
        Self {
            crashed: tokio::sync::Notify::new(),
            ops: AtomicU64::new(0),
            plan: Mutex::new(plan),
            kinds: Mutex::new(Vec::new()),
        }
    }

    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::SeqCst)
    }

    /// The kind of each operation counted, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.kinds.lock().unwrap().clone()
    }

    /// Resolves once the planned crash happened.
    pub async fn crashed(&self) {
        self.crashed.notified().await;
    }

    async fn crash(&self) {
        self.crashed.notify_one();
        std::future::pending::<()>().await;
    }

    /// Counts one operation; says whether to crash before it, after it, or not at all.
    fn tick(&self, kind: &'static str) -> Option<bool> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        self.kinds.lock().unwrap().push(kind);
        let plan = *self.plan.lock().unwrap();
        plan.filter(|p| p.at == n).map(|p| p.after_effect)
    }
}

/// Wraps a store; appends are counted operations.
pub struct CrashingStore<'a> {
    pub inner: &'a dyn CheckpointStore,
    pub crasher: &'a Crasher,
}

impl CheckpointStore for CrashingStore<'_> {
    fn fence<'a>(&'a self, run: &'a RunId) -> BoxFuture<'a, Result<FencingToken, CheckpointError>> {
        self.inner.fence(run)
    }

    fn append<'a>(
        &'a self,
        run: &'a RunId,
        token: FencingToken,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<u64, CheckpointError>> {
        let crash = self.crasher.tick("append");
        Box::pin(async move {
            if crash == Some(false) {
                self.crasher.crash().await;
            }
            let seq = self.inner.append(run, token, record).await;
            if crash == Some(true) {
                self.crasher.crash().await;
            }
            seq
        })
    }

    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> BoxFuture<'a, Result<Vec<Checkpoint>, CheckpointError>> {
        self.inner.load(run)
    }
}

/// Wraps a deployer; applies and outcome queries are counted operations.
pub struct CrashingApply<'a> {
    pub inner: &'a FakeDeployer,
    pub crasher: &'a Crasher,
}

impl Apply for CrashingApply<'_> {
    fn apply<'a>(
        &'a self,
        request: &'a ApplyRequest,
    ) -> BoxFuture<'a, Result<ApplyOutcome, SubstrateError>> {
        let crash = self.crasher.tick("apply");
        Box::pin(async move {
            if crash == Some(false) {
                self.crasher.crash().await;
            }
            let o = self.inner.apply(request).await;
            if crash == Some(true) {
                self.crasher.crash().await;
            }
            o
        })
    }

    fn outcome<'a>(
        &'a self,
        target: &'a TargetId,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Option<ApplyOutcome>, SubstrateError>> {
        let crash = self.crasher.tick("outcome");
        Box::pin(async move {
            if crash == Some(false) {
                self.crasher.crash().await;
            }
            let o = self.inner.outcome(target, key).await;
            if crash == Some(true) {
                self.crasher.crash().await;
            }
            o
        })
    }
}
