//! The tokio driver: carries out the executor's commands against real (or fake) traits.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Apply, AuditError, AuditSink, Clock, SubstrateError, TargetId};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::checkpoint::{CheckpointError, CheckpointStore};
use super::events::{RunEnd, RunEvent};
use super::gate::Gate;
use super::health::{HealthCheck, HealthError};
use super::lease::{LeaseError, TargetLeases};
use super::machine::{Executor, Progress, RestoreError, TargetState};
use super::protocol::{Command, Event, TimerId};
use super::spec::RunSpec;

/// A [`Clock`] that follows tokio's clock: it starts at a given instant and advances with
/// `tokio::time`, so with paused time (`#[tokio::test(start_paused = true)]`) bakes, deadlines
/// and gate windows move together with the driver's timers.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: Instant,
    start: DateTime<Utc>,
}

impl TokioClock {
    /// A clock that reads `start` now.
    #[must_use]
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            base: Instant::now(),
            start,
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.base);
        chrono::TimeDelta::from_std(elapsed)
            .ok()
            .and_then(|d| self.start.checked_add_signed(d))
            .unwrap_or(self.start)
    }
}

/// An operator's instruction to a running driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Start no new target or wave.
    Pause,
    /// Undo a pause.
    Resume,
    /// Stop now, without rollback.
    Abort,
}

/// Why the driver stopped before the run ended. The run's leases stay held and its log is
/// intact: [`Driver::run`] with the same spec resumes it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// Another run holds a target.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The checkpoint store refused a call (a stale token: another driver took over).
    #[error("checkpoint store refused the run")]
    Checkpoint(#[from] CheckpointError),
    /// The log does not fit the spec.
    #[error("cannot resume the run from its checkpoint log")]
    Restore(#[from] RestoreError),
    /// The audit sink refused an event; the run does not act unaudited.
    #[error("audit sink refused an event")]
    Audit(#[from] AuditError),
    /// Paused with nothing in flight and no control channel to resume it.
    #[error("run `{run}` is paused with nothing left to wait for and no control channel")]
    Idle {
        /// The run.
        run: String,
    },
}

/// How a driven run ended.
#[derive(Debug, Clone)]
pub struct Report {
    /// Completed or halted, and why.
    pub end: RunEnd,
    /// The executor at the end, for its per-target states.
    pub executor: Executor,
}

/// A progress callback: every event, with the counts after it.
pub type ProgressFn<'a> = &'a (dyn Fn(&RunEvent, &Progress) + Send + Sync);

/// Drives an [`Executor`] with tokio: asks the gate, calls `Apply` and the health check,
/// appends records to the checkpoint store before the effects they announce, sleeps until
/// timers, and reports events to the audit sink and a progress callback.
///
/// Calls are made one at a time, in the order the executor asks; long work is modelled by
/// `Apply` answering `InProgress` and the executor polling `Apply::outcome`. Each call is
/// bounded by a timeout (default 30 s); a timed-out apply counts as an unknown outcome.
///
/// # Example
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use fleet_core::{
///     Actor, Apply, ApplyOutcome, ApplyRequest, ApplyStatus, BoxFuture, Clock, Duration,
///     IdempotencyKey, Release, SubstrateError, TargetId, Version, Workload,
/// };
/// use fleet_rollout::executor::{
///     AllowAll, BakeSpec, Driver, HealthCheck, HealthError, HealthStatus, MemoryCheckpointStore,
///     RunEnd, RunId, RunSpec, TokioClock, WaveSpec,
/// };
///
/// /// A substrate where every change succeeds at once.
/// struct Instant;
/// impl Apply for Instant {
///     fn apply<'a>(&'a self, r: &'a ApplyRequest) -> BoxFuture<'a, Result<ApplyOutcome, SubstrateError>> {
///         let done = ApplyOutcome { key: r.key.clone(), status: ApplyStatus::Succeeded, after: None, at: chrono::DateTime::UNIX_EPOCH };
///         Box::pin(async move { Ok(done) })
///     }
///     fn outcome<'a>(&'a self, _: &'a TargetId, _: &'a IdempotencyKey)
///         -> BoxFuture<'a, Result<Option<ApplyOutcome>, SubstrateError>> {
///         Box::pin(async { Ok(None) })
///     }
/// }
/// struct Healthy;
/// impl HealthCheck for Healthy {
///     fn check<'a>(&'a self, _: &'a TargetId) -> BoxFuture<'a, Result<HealthStatus, HealthError>> {
///         Box::pin(async { Ok(HealthStatus::Healthy) })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?.block_on(async {
/// let api = Workload::new("api");
/// let one_hour = BakeSpec { min_duration: Duration::from_seconds(3600), ..BakeSpec::default() };
/// let spec = RunSpec::new(
///     RunId::new("r1")?,
///     Actor::service("ci"),
///     Release::new(&api, Version::parse("1.1")?),
///     Release::new(&api, Version::parse("1.0")?),
///     Duration::from_seconds(600),
/// )
/// .wave(WaveSpec::new([TargetId::new("canary")?]).bake(one_hour))
/// .wave(WaveSpec::new([TargetId::new("eks-1")?, TargetId::new("eks-2")?]).max_concurrency(2));
///
/// let start = Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap();
/// let clock = TokioClock::new(start);
/// let store = MemoryCheckpointStore::default();
/// let report = Driver::new(&Instant, &Healthy, &AllowAll, &store, &clock).run(spec).await?;
///
/// assert_eq!(report.end, RunEnd::Completed);
/// assert!(clock.now() >= start + TimeDelta::hours(1)); // the bake, in paused time
/// // started; per wave: started, bake started, baked; per target: intent, deployed, healthy;
/// // completed
/// assert_eq!(store.records(&RunId::new("r1")?).len(), 17);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Driver<'a> {
    apply: &'a dyn Apply,
    health: &'a dyn HealthCheck,
    gate: &'a dyn Gate,
    store: &'a dyn CheckpointStore,
    clock: &'a dyn Clock,
    audit: Option<&'a dyn AuditSink>,
    leases: Option<&'a TargetLeases>,
    progress: Option<ProgressFn<'a>>,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
    controls: Option<mpsc::Receiver<Control>>,
    call_timeout: std::time::Duration,
}

impl fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("clock", &self.clock)
            .field("audit", &self.audit.is_some())
            .field("leases", &self.leases)
            .field("progress", &self.progress.is_some())
            .field("events", &self.events.is_some())
            .field("controls", &self.controls.is_some())
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> Driver<'a> {
    /// A driver over the given capabilities.
    #[must_use]
    pub fn new(
        apply: &'a dyn Apply,
        health: &'a dyn HealthCheck,
        gate: &'a dyn Gate,
        store: &'a dyn CheckpointStore,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            apply,
            health,
            gate,
            store,
            clock,
            audit: None,
            leases: None,
            progress: None,
            events: None,
            controls: None,
            call_timeout: std::time::Duration::from_secs(30),
        }
    }

    /// Records every event in `sink` (a refusal stops the run).
    #[must_use]
    pub fn audit(mut self, sink: &'a dyn AuditSink) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Leases the run's targets in `leases` (see [`TargetLeases`] for the rule).
    #[must_use]
    pub fn leases(mut self, leases: &'a TargetLeases) -> Self {
        self.leases = Some(leases);
        self
    }

    /// Calls `f` with every event.
    #[must_use]
    pub fn progress(mut self, f: ProgressFn<'a>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Sends every event to `tx` as well (a stream for a progress display; a closed receiver
    /// is ignored).
    #[must_use]
    pub fn events(mut self, tx: mpsc::UnboundedSender<RunEvent>) -> Self {
        self.events = Some(tx);
        self
    }

    /// Listens for pause, resume and abort on `rx`.
    #[must_use]
    pub fn controls(mut self, rx: mpsc::Receiver<Control>) -> Self {
        self.controls = Some(rx);
        self
    }

    /// Bounds each call to `Apply` and the health check.
    #[must_use]
    pub fn call_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Runs `spec` to its end: starts it, or resumes it from its checkpoint log when the log
    /// has records (asking `Apply::outcome` about unfinished intents).
    ///
    /// # Errors
    ///
    /// [`DriverError`] when the run could not be driven to its end; the log and the leases
    /// are left for a later resume.
    pub async fn run(mut self, spec: RunSpec) -> Result<Report, DriverError> {
        let run = spec.run_id.clone();
        if let Some(leases) = self.leases {
            leases.acquire(&run, spec.targets())?;
        }
        let token = self.store.fence(&run).await?;
        let log = self.store.load(&run).await?;
        let now = self.clock.now();
        let (mut exec, first) = if log.is_empty() {
            let mut exec =
                Executor::new(spec).map_err(|e| DriverError::Restore(RestoreError::Spec(e)))?;
            let cmds = exec.step(Event::Start, now);
            (exec, cmds)
        } else {
            let mut exec = Executor::restore(spec, log.iter().map(|c| &c.record))?;
            let cmds = exec.resume(now);
            (exec, cmds)
        };
        let mut queue: VecDeque<Command> = first.into();
        let mut timers: BTreeMap<TimerId, DateTime<Utc>> = BTreeMap::new();
        loop {
            if let Some(rx) = self.controls.as_mut() {
                while let Ok(control) = rx.try_recv() {
                    queue.extend(exec.step(event_of(control), self.clock.now()));
                }
            }
            if let Some(cmd) = queue.pop_front() {
                match cmd {
                    Command::Checkpoint(record) => {
                        self.store.append(&run, token, &record).await?;
                    }
                    Command::CheckGate { target } => {
                        let now = self.clock.now();
                        let verdict = self.gate.check(&target, now);
                        queue.extend(exec.step(Event::Gate { target, verdict }, now));
                    }
                    Command::Apply(request) => {
                        let result =
                            tokio::time::timeout(self.call_timeout, self.apply.apply(&request))
                                .await
                                .unwrap_or_else(|_| Err(timed_out(&request.target)));
                        let event = Event::Applied {
                            target: request.target,
                            key: request.key,
                            result,
                        };
                        queue.extend(exec.step(event, self.clock.now()));
                    }
                    Command::QueryOutcome { target, key } => {
                        let result = tokio::time::timeout(
                            self.call_timeout,
                            self.apply.outcome(&target, &key),
                        )
                        .await
                        .unwrap_or_else(|_| Err(timed_out(&target)));
                        let event = Event::Outcome {
                            target,
                            key,
                            result,
                        };
                        queue.extend(exec.step(event, self.clock.now()));
                    }
                    Command::CheckHealth { target } => {
                        let result =
                            tokio::time::timeout(self.call_timeout, self.health.check(&target))
                                .await
                                .unwrap_or_else(|_| {
                                    Err(HealthError {
                                        target: target.clone(),
                                        message: "timed out".to_owned(),
                                    })
                                });
                        queue.extend(exec.step(Event::Health { target, result }, self.clock.now()));
                    }
                    Command::SetTimer { timer, at } => {
                        timers.insert(timer, at);
                    }
                    Command::Emit(event) => {
                        if let Some(sink) = self.audit {
                            sink.record(event.to_audit())?;
                        }
                        if let Some(f) = self.progress {
                            f(&event, &exec.progress());
                        }
                        if let Some(tx) = &self.events {
                            let _ = tx.send(event);
                        }
                    }
                    Command::Halt(end) => {
                        if let Some(leases) = self.leases {
                            let stuck: Vec<TargetId> = exec
                                .states()
                                .filter(|(_, s)| matches!(s, TargetState::Stuck { .. }))
                                .map(|(t, _)| t.clone())
                                .collect();
                            leases.release_except(&run, &stuck);
                        }
                        return Ok(Report {
                            end,
                            executor: exec,
                        });
                    }
                }
                continue;
            }
            // Nothing to do now: wait for the earliest timer or a control.
            let next = timers
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(id, at)| (id.clone(), *at));
            let control = match (next.as_ref().map(|(_, at)| *at), self.controls.as_mut()) {
                (Some(at), Some(rx)) => {
                    let wait = (at - self.clock.now()).to_std().unwrap_or_default();
                    match tokio::time::timeout(wait, rx.recv()).await {
                        Ok(Some(control)) => Some(control),
                        Ok(None) => {
                            self.controls = None;
                            continue;
                        }
                        Err(_) => None,
                    }
                }
                (Some(at), None) => {
                    let wait = (at - self.clock.now()).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await;
                    None
                }
                (None, Some(rx)) => match rx.recv().await {
                    Some(control) => Some(control),
                    None => {
                        self.controls = None;
                        continue;
                    }
                },
                (None, None) => {
                    return Err(DriverError::Idle {
                        run: run.to_string(),
                    });
                }
            };
            match control {
                Some(control) => queue.extend(exec.step(event_of(control), self.clock.now())),
                None => {
                    if let Some((id, _)) = next {
                        timers.remove(&id);
                        queue.extend(exec.step(Event::Timer(id), self.clock.now()));
                    }
                }
            }
        }
    }
}

fn event_of(control: Control) -> Event {
    match control {
        Control::Pause => Event::Pause,
        Control::Resume => Event::Resume,
        Control::Abort => Event::Abort,
    }
}

fn timed_out(target: &TargetId) -> SubstrateError {
    SubstrateError::Unreachable {
        target: target.to_string(),
        message: "the call timed out".to_owned(),
    }
}
