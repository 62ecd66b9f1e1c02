//! The executor state machine: `step(event, now) -> commands`, no IO, no clock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use fleet_core::{ApplyAction, ApplyRequest, IdempotencyKey, TargetId};
use serde::{Deserialize, Serialize};

use super::events::{HaltReason, RunEnd, RunEvent, RunEventKind};
use super::protocol::{Command, Event, TimerId};
use super::record::{IntentAction, Record};
use super::spec::{RollbackScope, RunSpec, SpecErrors};

mod handlers;
mod transitions;

/// Where one target stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetState {
    /// Not started.
    Pending,
    /// The gate is being asked.
    Gating,
    /// The deploy was asked for and has not finished.
    Deploying {
        /// Since when (the intent).
        since: DateTime<Utc>,
    },
    /// Deployed; waiting for the first healthy report.
    Verifying {
        /// Since when (the intent).
        since: DateTime<Utc>,
    },
    /// Deployed and healthy.
    Healthy,
    /// Failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// Skipped by the gate.
    Denied {
        /// Why.
        reason: String,
    },
    /// Rolling back.
    RollingBack {
        /// Since when (the rollback intent).
        since: DateTime<Utc>,
    },
    /// Back on the last good release.
    RolledBack,
    /// The rollback failed.
    Stuck {
        /// Why.
        reason: String,
    },
}

impl TargetState {
    /// Counts against the wave's concurrency.
    #[must_use]
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            Self::Gating | Self::Deploying { .. } | Self::Verifying { .. }
        )
    }
}

/// Counts of targets by state, for progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Targets in the run.
    pub total: usize,
    /// Not started.
    pub pending: usize,
    /// Being gated, deployed or verified.
    pub in_flight: usize,
    /// Deployed and healthy.
    pub healthy: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped by the gate.
    pub denied: usize,
    /// Rolling back.
    pub rolling_back: usize,
    /// Rolled back.
    pub rolled_back: usize,
    /// Stuck.
    pub stuck: usize,
    /// The wave in progress (0-based).
    pub wave: usize,
    /// Waves in the run.
    pub waves: usize,
}

/// Why a checkpoint log cannot be replayed over a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The spec itself is invalid.
    #[error(transparent)]
    Spec(#[from] SpecErrors),
    /// The log was written for another spec.
    #[error("the checkpoint log of run `{run}` was written for a different spec")]
    SpecChanged {
        /// The run.
        run: String,
    },
    /// A record names a target the spec does not have.
    #[error("checkpoint record {index} names target `{target}`, which is not in the run")]
    UnknownTarget {
        /// The record's position in the log (0-based).
        index: usize,
        /// The target.
        target: TargetId,
    },
    /// A record names a wave the spec does not have.
    #[error("checkpoint record {index} names wave {wave}, which is not in the run")]
    UnknownWave {
        /// The record's position in the log (0-based).
        index: usize,
        /// The wave.
        wave: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Running,
    RollingBack {
        scope: RollbackScope,
        reason: HaltReason,
    },
    Ended(RunEnd),
}

#[derive(Debug, Clone)]
struct Slot {
    id: TargetId,
    wave: usize,
    state: TargetState,
    /// A deploy intent was recorded (so a rollback covers it).
    touched: bool,
    /// An apply, outcome query or health check is outstanding (not persisted).
    awaiting: bool,
    /// The key of the current attempt.
    key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone)]
struct Bake {
    since: DateTime<Utc>,
    healthy_rounds: u32,
    round: Option<Round>,
}

#[derive(Debug, Clone)]
struct Round {
    pending: BTreeSet<usize>,
    total: usize,
    not_healthy: usize,
}

/// The rollout executor: a pure state machine over a [`RunSpec`].
///
/// Feed it [`Event`]s with the current instant; it answers with [`Command`]s for a driver
/// (the tokio [`Driver`](super::Driver), a simulator, a test) to carry out. It never does IO
/// and never reads a clock. Every state change comes out as a [`Command::Checkpoint`] record
/// before the command it enables, and [`Executor::restore`] rebuilds the same state from
/// those records.
///
/// Rules:
/// - waves run in order; within a wave targets start in order, at most `max_concurrency` in
///   flight (gated, deploying or not yet healthy);
/// - the gate is asked just before each target starts, one target at a time; `Wait` stops new
///   starts until its instant, `Deny` skips the target (not a failure);
/// - a target fails when its deploy fails, it reports unhealthy (also during the bake), or it
///   is not healthy within the progress deadline; a failure beyond the wave's or the run's
///   budget stops new starts and rolls back the wave (or everything touched) to the last
///   good release, once the deploys in flight have settled; then the run halts;
/// - a rollback that fails or misses the deadline marks the target stuck and halts the run at
///   once;
/// - a wave bakes once all its targets settled: the next wave starts after the minimum time
///   and the minimum number of all-healthy rounds; a run resumed during a bake keeps the
///   bake's start from the log but counts its healthy rounds again (rounds are not logged);
/// - "touched" means a deploy was asked for: a target whose deploy failed is rolled back too,
///   since a failed attempt may have changed part of it;
/// - pause stops new starts and new waves (work in flight and a rollback go on); abort ends
///   the run at once, without rollback, and awaits nothing.
#[derive(Debug, Clone)]
pub struct Executor {
    spec: RunSpec,
    slots: Vec<Slot>,
    index: BTreeMap<TargetId, usize>,
    waves: Vec<Vec<usize>>,
    phase: Phase,
    paused: bool,
    wave: usize,
    wave_started: bool,
    bake: Option<Bake>,
    gate_wait: Option<DateTime<Utc>>,
    wave_failures: Vec<usize>,
    failures: usize,
}

impl Executor {
    /// An executor for `spec`, not started.
    ///
    /// # Errors
    ///
    /// [`SpecErrors`] when the spec is invalid (see [`RunSpec::validate`]).
    pub fn new(spec: RunSpec) -> Result<Self, SpecErrors> {
        spec.validate()?;
        let mut slots = Vec::new();
        let mut index = BTreeMap::new();
        let mut waves = Vec::new();
        for (w, wave) in spec.waves.iter().enumerate() {
            let mut members = Vec::new();
            for t in &wave.targets {
                index.insert(t.clone(), slots.len());
                members.push(slots.len());
                slots.push(Slot {
                    id: t.clone(),
                    wave: w,
                    state: TargetState::Pending,
                    touched: false,
                    awaiting: false,
                    key: None,
                });
            }
            waves.push(members);
        }
        let wave_failures = vec![0; waves.len()];
        Ok(Self {
            spec,
            slots,
            index,
            waves,
            phase: Phase::NotStarted,
            paused: false,
            wave: 0,
            wave_started: false,
            bake: None,
            gate_wait: None,
            wave_failures,
            failures: 0,
        })
    }

    /// Rebuilds an executor from its checkpoint log. Call [`Executor::resume`] next.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] when the spec is invalid or a record does not fit it.
    pub fn restore<'a>(
        spec: RunSpec,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<Self, RestoreError> {
        let digest = spec.digest();
        let mut exec = Self::new(spec)?;
        for (i, record) in records.into_iter().enumerate() {
            if let Record::Started { spec, .. } = record
                && *spec != digest
            {
                return Err(RestoreError::SpecChanged {
                    run: exec.spec.run_id.to_string(),
                });
            }
            if let Some(t) = record.target()
                && !exec.index.contains_key(t)
            {
                return Err(RestoreError::UnknownTarget {
                    index: i,
                    target: t.clone(),
                });
            }
            if let Record::WaveStarted { wave, .. }
            | Record::BakeStarted { wave, .. }
            | Record::WaveBaked { wave, .. } = record
                && *wave >= exec.waves.len()
            {
                return Err(RestoreError::UnknownWave {
                    index: i,
                    wave: *wave,
                });
            }
            exec.apply(record);
        }
        Ok(exec)
    }

    /// The commands that pick a restored run up where its log ends: an outcome query for each
    /// intent without a completion, a health check for each target not yet healthy, the
    /// deadlines and bake timers again, then whatever the run does next. A run that never
    /// started is started.
    #[must_use]
    pub fn resume(&mut self, now: DateTime<Utc>) -> Vec<Command> {
        let mut out = Vec::new();
        match &self.phase {
            Phase::NotStarted => return self.step(Event::Start, now),
            Phase::Ended(end) => {
                out.push(Command::Halt(end.clone()));
                return out;
            }
            Phase::Running | Phase::RollingBack { .. } => {}
        }
        self.settle(now, &mut out);
        if matches!(self.phase, Phase::Ended(_)) {
            return out;
        }
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            match slot.state.clone() {
                TargetState::Deploying { since } | TargetState::RollingBack { since } => {
                    if let Some(key) = slot.key.clone() {
                        let target = slot.id.clone();
                        self.set_deadline(i, since, &mut out);
                        self.set_awaiting(i, true);
                        out.push(Command::QueryOutcome { target, key });
                    }
                }
                TargetState::Verifying { since } => {
                    let target = slot.id.clone();
                    self.set_deadline(i, since, &mut out);
                    self.set_awaiting(i, true);
                    out.push(Command::CheckHealth { target });
                }
                _ => {}
            }
        }
        if let Some(bake) = &self.bake {
            let wave = self.wave;
            let at = bake.since + self.bake_spec_duration(wave);
            out.push(Command::SetTimer {
                timer: TimerId::BakeEnd(wave),
                at,
            });
            self.start_round(wave, &mut out);
        }
        self.pump(now, &mut out);
        out
    }

    /// Feeds one event; returns what to do next, in order.
    #[must_use]
    pub fn step(&mut self, event: Event, now: DateTime<Utc>) -> Vec<Command> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::Ended(_)) {
            return out;
        }
        match event {
            Event::Start => {
                if self.phase == Phase::NotStarted {
                    let spec = self.spec.digest();
                    self.commit(Record::Started { spec, at: now }, &mut out);
                    self.emit(RunEventKind::Started, None, now, &mut out);
                }
            }
            Event::Gate { target, verdict } => self.on_gate(&target, verdict, now, &mut out),
            Event::Applied {
                target,
                key,
                result,
            } => {
                let result = result.map(Some);
                self.on_outcome(&target, &key, result, now, &mut out);
            }
            Event::Outcome {
                target,
                key,
                result,
            } => self.on_outcome(&target, &key, result, now, &mut out),
            Event::Health { target, result } => self.on_health(&target, result, now, &mut out),
            Event::Timer(timer) => self.on_timer(&timer, now, &mut out),
            Event::Pause => {
                if !self.paused && self.phase != Phase::NotStarted {
                    self.commit(Record::Paused { at: now }, &mut out);
                    self.emit(RunEventKind::Paused, None, now, &mut out);
                }
            }
            Event::Resume => {
                if self.paused {
                    self.commit(Record::Resumed { at: now }, &mut out);
                    self.emit(RunEventKind::Resumed, None, now, &mut out);
                }
            }
            Event::Abort => {
                self.halt(HaltReason::Aborted, now, &mut out);
                return out;
            }
        }
        self.pump(now, &mut out);
        out
    }

    /// The spec being run.
    #[must_use]
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// How the run ended, once it has.
    #[must_use]
    pub fn end(&self) -> Option<&RunEnd> {
        match &self.phase {
            Phase::Ended(end) => Some(end),
            _ => None,
        }
    }

    /// Whether new starts are paused.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Where `target` stands, if it is in the run.
    #[must_use]
    pub fn state(&self, target: &TargetId) -> Option<&TargetState> {
        let i = self.index.get(target)?;
        self.slots.get(*i).map(|s| &s.state)
    }

    /// Every target and where it stands, in run order.
    pub fn states(&self) -> impl Iterator<Item = (&TargetId, &TargetState)> {
        self.slots.iter().map(|s| (&s.id, &s.state))
    }

    /// Targets of `wave` in flight (gated, deploying or not yet healthy).
    #[must_use]
    pub fn in_flight(&self, wave: usize) -> usize {
        self.wave_slots(wave)
            .filter(|s| s.state.in_flight())
            .count()
    }

    /// Counts of targets by state.
    #[must_use]
    pub fn progress(&self) -> Progress {
        let mut p = Progress {
            total: self.slots.len(),
            wave: self.wave,
            waves: self.waves.len(),
            ..Progress::default()
        };
        for s in &self.slots {
            match s.state {
                TargetState::Pending => p.pending += 1,
                TargetState::Gating
                | TargetState::Deploying { .. }
                | TargetState::Verifying { .. } => p.in_flight += 1,
                TargetState::Healthy => p.healthy += 1,
                TargetState::Failed { .. } => p.failed += 1,
                TargetState::Denied { .. } => p.denied += 1,
                TargetState::RollingBack { .. } => p.rolling_back += 1,
                TargetState::RolledBack => p.rolled_back += 1,
                TargetState::Stuck { .. } => p.stuck += 1,
            }
        }
        p
    }

    /// The idempotency key of `target`'s deploy or rollback in this run:
    /// `<run>/<target>/deploy` or `<run>/<target>/rollback`.
    #[must_use]
    pub fn key(&self, target: &TargetId, action: IntentAction) -> IdempotencyKey {
        let what = match action {
            IntentAction::Deploy => "deploy",
            IntentAction::Rollback => "rollback",
        };
        IdempotencyKey(format!("{}/{}/{}", self.spec.run_id, target, what))
    }

    // ---- the reducer: records are the only way persistent state changes ----

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Started { .. } => self.phase = Phase::Running,
            Record::WaveStarted { wave, .. } => {
                self.wave = *wave;
                self.wave_started = true;
                self.bake = None;
                self.gate_wait = None;
            }
            Record::Denied { target, reason, .. } => self.set_state(
                target,
                TargetState::Denied {
                    reason: reason.clone(),
                },
            ),
            Record::Intent {
                target,
                key,
                action,
                at,
            } => {
                if let Some(slot) = self.slot_mut(target) {
                    slot.key = Some(key.clone());
                    slot.awaiting = false;
                    match action {
                        IntentAction::Deploy => {
                            slot.touched = true;
                            slot.state = TargetState::Deploying { since: *at };
                        }
                        IntentAction::Rollback => {
                            slot.state = TargetState::RollingBack { since: *at };
                        }
                    }
                }
            }
            Record::Deployed { target, .. } => {
                if let Some(slot) = self.slot_mut(target) {
                    if let TargetState::Deploying { since } = slot.state {
                        slot.state = TargetState::Verifying { since };
                    }
                    slot.awaiting = false;
                }
            }
            Record::Healthy { target, .. } => self.set_state(target, TargetState::Healthy),
            Record::Failed { target, reason, .. } => {
                if let Some(slot) = self.slot_mut(target) {
                    slot.state = TargetState::Failed {
                        reason: reason.clone(),
                    };
                    let wave = slot.wave;
                    if let Some(n) = self.wave_failures.get_mut(wave) {
                        *n += 1;
                    }
                    self.failures += 1;
                }
            }
            Record::BakeStarted { at, .. } => {
                self.bake = Some(Bake {
                    since: *at,
                    healthy_rounds: 0,
                    round: None,
                });
            }
            Record::WaveBaked { .. } => {
                self.bake = None;
                self.wave_started = false;
                self.wave += 1;
            }
            Record::Paused { .. } => self.paused = true,
            Record::Resumed { .. } => self.paused = false,
            Record::RollbackStarted { scope, reason, .. } => {
                self.phase = Phase::RollingBack {
                    scope: *scope,
                    reason: reason.clone(),
                };
                self.bake = None;
                for slot in &mut self.slots {
                    if slot.state == TargetState::Gating {
                        slot.state = TargetState::Pending;
                    }
                }
            }
            Record::RolledBack { target, .. } => self.set_state(target, TargetState::RolledBack),
            Record::Stuck { target, reason, .. } => self.set_state(
                target,
                TargetState::Stuck {
                    reason: reason.clone(),
                },
            ),
            Record::Halted { reason, .. } => {
                self.phase = Phase::Ended(RunEnd::Halted(reason.clone()))
            }
            Record::Completed { .. } => self.phase = Phase::Ended(RunEnd::Completed),
        }
    }

    fn commit(&mut self, record: Record, out: &mut Vec<Command>) {
        self.apply(&record);
        out.push(Command::Checkpoint(record));
    }

    // ---- small helpers ----

    fn request(&self, target: TargetId, key: IdempotencyKey, rollback: bool) -> ApplyRequest {
        let action = if rollback {
            ApplyAction::Rollback {
                to: self.spec.last_good.clone(),
            }
        } else {
            ApplyAction::Deploy {
                release: self.spec.release.clone(),
            }
        };
        ApplyRequest {
            key,
            target,
            action,
        }
    }

    fn set_deadline(&self, i: usize, since: DateTime<Utc>, out: &mut Vec<Command>) {
        if let Some(s) = self.slots.get(i) {
            out.push(Command::SetTimer {
                timer: TimerId::Deadline(s.id.clone()),
                at: since + self.spec.progress_deadline.as_delta(),
            });
        }
    }

    fn emit(
        &self,
        kind: RunEventKind,
        about: Option<(&TargetId, usize)>,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let (target, wave) = match about {
            Some((t, w)) => (Some(t.clone()), Some(w)),
            None => (None, (self.wave < self.waves.len()).then_some(self.wave)),
        };
        out.push(Command::Emit(RunEvent {
            run: self.spec.run_id.clone(),
            at: now,
            actor: self.spec.actor.clone(),
            wave,
            target,
            kind,
        }));
    }

    fn emit_wave(
        &self,
        kind: RunEventKind,
        wave: usize,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        out.push(Command::Emit(RunEvent {
            run: self.spec.run_id.clone(),
            at: now,
            actor: self.spec.actor.clone(),
            wave: Some(wave),
            target: None,
            kind,
        }));
    }

    fn bake_checks(&self, wave: usize) -> u32 {
        self.spec
            .waves
            .get(wave)
            .map_or(0, |w| w.bake.min_healthy_checks)
    }

    fn bake_spec_duration(&self, wave: usize) -> TimeDelta {
        self.spec
            .waves
            .get(wave)
            .map(|w| w.bake.min_duration.as_delta())
            .unwrap_or_default()
    }

    fn wave_slots(&self, wave: usize) -> impl Iterator<Item = &Slot> {
        self.waves
            .get(wave)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.slots.get(i))
    }

    fn slot_mut(&mut self, target: &TargetId) -> Option<&mut Slot> {
        let i = *self.index.get(target)?;
        self.slots.get_mut(i)
    }

    fn slot_state(&self, i: usize) -> Option<&TargetState> {
        self.slots.get(i).map(|s| &s.state)
    }

    fn slot_wave(&self, i: usize) -> usize {
        self.slots.get(i).map_or(0, |s| s.wave)
    }

    fn set_state(&mut self, target: &TargetId, state: TargetState) {
        if let Some(slot) = self.slot_mut(target) {
            slot.state = state;
            slot.awaiting = false;
        }
    }

    fn set_state_at(&mut self, i: usize, state: TargetState) {
        if let Some(slot) = self.slots.get_mut(i) {
            slot.state = state;
        }
    }

    fn set_awaiting(&mut self, i: usize, awaiting: bool) {
        if let Some(slot) = self.slots.get_mut(i) {
            slot.awaiting = awaiting;
        }
    }
}
