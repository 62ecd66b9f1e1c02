//! The observation loop: observe every target through a substrate's [`Observe`], classify
//! what it runs against what it should run, and report, with bounded concurrency, per-target
//! jitter and backoff on errors.
//!
//! The only async part of the crate (feature `observe`, on by default). One
//! [`ObservationLoop::pass`] walks the fleet once; call it on a timer. Each target's
//! documents are fetched, classified and dropped before the next result is taken, so at most
//! `concurrency` targets' documents are in memory at once, never the fleet's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_core::{
    BoxFuture, Clock, Hold, NativeId, Observe, ObserveRequest, ObservedState, Reachability,
    SubstrateError, Target, TargetId, TargetRef,
};
use fleet_selectors::TargetView;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::classify::{AssessError, ChangeEvent, Classifier, Incident, Observed, TargetInput};
use crate::decide::{DriftMemory, DriftSummary, TargetReport};

/// Where a target's desired objects come from (a Git checkout, rendered manifests, a store).
pub trait DesiredSource: Send + Sync {
    /// The objects `target` should run.
    fn desired<'a>(
        &'a self,
        target: &'a TargetId,
    ) -> BoxFuture<'a, Result<Vec<Value>, SubstrateError>>;
}

/// A target the loop can observe: a selectable view plus the platform's id.
pub trait ObserveTarget: TargetView + Sync {
    /// The platform's id, passed to [`Observe`].
    fn native(&self) -> Option<NativeId>;
}

impl ObserveTarget for Target {
    fn native(&self) -> Option<NativeId> {
        self.native_id.clone()
    }
}

impl ObserveTarget for TargetRef<'_> {
    fn native(&self) -> Option<NativeId> {
        self.native_id().and_then(|n| NativeId::new(n).ok())
    }
}

/// Settings of the loop. Defaults: 16 targets at once, up to 5 s of jitter, backoff from 30 s
/// doubling to 30 min.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct LoopOptions {
    concurrency: usize,
    jitter: StdDuration,
    backoff_initial: TimeDelta,
    backoff_max: TimeDelta,
    seed: u64,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            jitter: StdDuration::from_secs(5),
            backoff_initial: TimeDelta::seconds(30),
            backoff_max: TimeDelta::minutes(30),
            seed: 0,
        }
    }
}

impl LoopOptions {
    /// How many targets are observed at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The most a target's observation is delayed, so a fleet is not hit at one instant. Each
    /// target's delay is fixed by its id and the seed.
    pub fn jitter(mut self, max: StdDuration) -> Self {
        self.jitter = max;
        self
    }

    /// The first wait after an error, doubling with each further error up to `max`.
    pub fn backoff(mut self, initial: TimeDelta, max: TimeDelta) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// The seed of the jitter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Holds, incidents and change events known at the start of a pass.
#[derive(Debug, Clone, Default)]
pub struct PassContext {
    /// Active and past holds.
    pub holds: Vec<Hold>,
    /// Incidents.
    pub incidents: Vec<Incident>,
    /// Change events, any target.
    pub events: Vec<ChangeEvent>,
    /// When we last applied to each target.
    pub last_applied: HashMap<String, DateTime<Utc>>,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassSummary {
    /// Per class, action and group.
    pub drift: DriftSummary,
    /// Targets observed.
    pub observed: u64,
    /// Targets not checked (unreachable, erroring, backing off).
    pub not_checked: u64,
    /// Targets whose documents could not be assessed (malformed), each with the error.
    pub errors: Vec<String>,
    /// Objects compared.
    pub objects: u64,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: DateTime<Utc>,
}

/// The observation loop. See the module docs.
pub struct ObservationLoop {
    classifier: Arc<Classifier>,
    observer: Arc<dyn Observe>,
    desired: Arc<dyn DesiredSource>,
    clock: Arc<dyn Clock>,
    options: LoopOptions,
    backoff: HashMap<String, Backoff>,
}

impl std::fmt::Debug for ObservationLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservationLoop")
            .field("options", &self.options)
            .field("backing_off", &self.backoff.len())
            .finish_non_exhaustive()
    }
}

type Fetched = (usize, Result<(ObservedState, Vec<Value>), SubstrateError>);

impl ObservationLoop {
    /// A loop classifying with `classifier`, observing through `observer`, comparing against
    /// `desired`, reading time from `clock`.
    pub fn new(
        classifier: Arc<Classifier>,
        observer: Arc<dyn Observe>,
        desired: Arc<dyn DesiredSource>,
        clock: Arc<dyn Clock>,
        options: LoopOptions,
    ) -> Self {
        Self {
            classifier,
            observer,
            desired,
            clock,
            options,
            backoff: HashMap::new(),
        }
    }

    /// Targets currently backing off, with the time they are next tried.
    #[must_use]
    pub fn backing_off(&self) -> Vec<(String, DateTime<Utc>)> {
        let mut out: Vec<_> = self
            .backoff
            .iter()
            .map(|(t, b)| (t.clone(), b.until))
            .collect();
        out.sort();
        out
    }

    /// Observes and classifies every target once. `on_report` sees each target's report as
    /// soon as it is ready (stream them to a store, a log, a progress bar); `group_by` names
    /// the target properties the summary groups by (`region`, `owner`).
    ///
    /// A target that errors or is unreachable is reported
    /// [`Action::NotChecked`](crate::Action::NotChecked); one that errors also backs off, and
    /// one that answers again is cleared.
    pub async fn pass<T: ObserveTarget>(
        &mut self,
        targets: &[T],
        context: &PassContext,
        memory: &mut DriftMemory,
        group_by: &[&str],
        mut on_report: impl FnMut(&TargetReport),
    ) -> PassSummary {
        let mut summary = PassSummary {
            drift: DriftSummary::new(group_by.iter().copied()),
            ..PassSummary::default()
        };
        let start = self.clock.now();
        let mut set: JoinSet<Fetched> = JoinSet::new();
        let mut next = 0;
        loop {
            // Keep `concurrency` observations in flight.
            while set.len() < self.options.concurrency && next < targets.len() {
                let i = next;
                next += 1;
                let Some(t) = targets.get(i) else { break };
                let id = t.id().to_owned();
                if let Some(b) = self.backoff.get(&id)
                    && start < b.until
                {
                    let why = format!(
                        "backing off after {} errors until {}",
                        b.failures,
                        b.until.to_rfc3339()
                    );
                    let report = TargetReport::not_checked(&id, start, &why);
                    summary.not_checked += 1;
                    summary.drift.add(&report, t);
                    on_report(&report);
                    continue;
                }
                let Ok(target) = TargetId::new(&id) else {
                    continue;
                };
                let request = ObserveRequest {
                    target,
                    native_id: t.native(),
                };
                let observer = Arc::clone(&self.observer);
                let desired = Arc::clone(&self.desired);
                let delay = jitter(&id, self.options.seed, self.options.jitter);
                set.spawn(async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let observed = observer.observe(&request).await;
                    let result = match observed {
                        Ok(state) => desired.desired(&request.target).await.map(|d| (state, d)),
                        Err(e) => Err(e),
                    };
                    (i, result)
                });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let Ok((i, result)) = joined else {
                // A panicking substrate: its target is not checked; nothing else to report
                // because its index is lost with the task.
                summary
                    .errors
                    .push("an observation task panicked".to_owned());
                continue;
            };
            let Some(t) = targets.get(i) else { continue };
            let report = self.finish(t, result, context, memory, &mut summary);
            summary.drift.add(&report, t);
            on_report(&report);
        }
        summary
    }

    fn finish<T: ObserveTarget>(
        &mut self,
        t: &T,
        result: Result<(ObservedState, Vec<Value>), SubstrateError>,
        context: &PassContext,
        memory: &mut DriftMemory,
        summary: &mut PassSummary,
    ) -> TargetReport {
        let id = t.id();
        let now = self.clock.now();
        let (state, desired) = match result {
            Ok(ok) => ok,
            Err(e) => {
                let wait = self.fail(id, now, &e);
                summary.not_checked += 1;
                return TargetReport::not_checked(
                    id,
                    now,
                    &format!("{e}; next try after {}", wait.to_rfc3339()),
                );
            }
        };
        if state.reachability != Reachability::Reachable {
            let why = match state.reachability {
                Reachability::Missing => "the platform says the target no longer exists",
                _ => "the substrate did not check the target",
            };
            summary.not_checked += 1;
            return TargetReport::not_checked(id, now, why);
        }
        self.backoff.remove(id);
        let observed = objects(state.document.as_ref().map(fleet_core::Document::value));
        summary.observed += 1;
        summary.objects += u64::try_from(desired.len().max(observed.len())).unwrap_or(u64::MAX);
        let mut input = TargetInput::new(t, state.at, &desired, Observed::Objects(&observed))
            .holds(&context.holds)
            .incidents(&context.incidents)
            .events(&context.events);
        if let Some(at) = context.last_applied.get(id) {
            input = input.last_applied_at(*at);
        }
        match self.classifier.assess(&input, memory) {
            Ok(report) => report,
            Err(e) => {
                summary.errors.push(e.to_string());
                TargetReport::not_checked(id, now, &assess_reason(&e))
            }
        }
    }

    fn fail(&mut self, id: &str, now: DateTime<Utc>, e: &SubstrateError) -> DateTime<Utc> {
        let entry = self.backoff.entry(id.to_owned()).or_insert(Backoff {
            failures: 0,
            until: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        let doubling = 1i32
            .checked_shl(entry.failures.saturating_sub(1).min(20))
            .unwrap_or(i32::MAX);
        let mut wait = self
            .options
            .backoff_initial
            .checked_mul(doubling)
            .unwrap_or(self.options.backoff_max)
            .min(self.options.backoff_max);
        if let SubstrateError::Throttled { retry_after_ms } = e {
            let asked =
                TimeDelta::milliseconds(i64::try_from(*retry_after_ms).unwrap_or(i64::MAX / 2));
            wait = wait.max(asked);
        }
        entry.until = now + wait;
        entry.until
    }
}

fn assess_reason(e: &AssessError) -> String {
    format!("the observed documents could not be assessed: {e}")
}

/// The objects in an observed document: a list (`[...]` or `{"items": [...]}`), or one
/// object.
fn objects(doc: Option<&Value>) -> Vec<Value> {
    match doc {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(v) => match v.get("items") {
            Some(Value::Array(items))
                if v.get("metadata").is_none_or(|_| {
                    v.get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List"))
                }) =>
            {
                items.clone()
            }
            _ => vec![v.clone()],
        },
    }
}

fn jitter(id: &str, seed: u64, max: StdDuration) -> StdDuration {
    if max.is_zero() {
        return max;
    }
    // FNV-1a: stable across Rust releases, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1);
    StdDuration::from_millis(h % millis)
}
