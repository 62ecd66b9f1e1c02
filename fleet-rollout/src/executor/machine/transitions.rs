//! Transitions shared by the handlers, and the pump that starts whatever may start now.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use fleet_core::TargetId;

use super::{Executor, Phase, Round, Slot, TargetState};
use crate::executor::events::{HaltReason, RunEnd, RunEventKind};
use crate::executor::protocol::{Command, TimerId};
use crate::executor::record::{IntentAction, Record};
use crate::executor::spec::RollbackScope;

impl Executor {
    pub(super) fn fail(
        &mut self,
        i: usize,
        reason: String,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let event = RunEventKind::Failed {
            reason: reason.clone(),
        };
        let record = |target| Record::Failed {
            target,
            reason,
            at: now,
        };
        self.record_target(i, record, event, now, out);
    }

    /// Commits the record `record` makes for target `i`, then emits `event` for it.
    fn record_target(
        &mut self,
        i: usize,
        record: impl FnOnce(TargetId) -> Record,
        event: RunEventKind,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let (target, wave) = (slot.id.clone(), slot.wave);
        self.commit(record(target.clone()), out);
        self.emit(event, Some((&target, wave)), now, out);
    }

    /// The budget the failures so far exhaust, if any. Checked by the pump rather than when
    /// a failure is recorded, so that a run resumed between the two still rolls back.
    pub(super) fn exhausted(&self) -> Option<HaltReason> {
        for (wave, members) in self.waves.iter().enumerate() {
            let failures = self.wave_failures.get(wave).copied().unwrap_or(0);
            let budget = self
                .spec
                .waves
                .get(wave)
                .map(|w| w.failure_budget)
                .unwrap_or_default();
            if budget.exhausted(failures, members.len()) {
                return Some(HaltReason::WaveBudget {
                    wave,
                    failures,
                    allowed: budget.allowed(members.len()),
                });
            }
        }
        let budget = self.spec.overall_budget;
        budget
            .exhausted(self.failures, self.slots.len())
            .then(|| HaltReason::OverallBudget {
                failures: self.failures,
                allowed: budget.allowed(self.slots.len()),
            })
    }

    pub(super) fn stuck(
        &mut self,
        i: usize,
        reason: String,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let event = RunEventKind::Stuck {
            reason: reason.clone(),
        };
        let record = |target| Record::Stuck {
            target,
            reason,
            at: now,
        };
        self.record_target(i, record, event, now, out);
        // `settle` halts the run (also on resume, if the log ends right here).
    }

    /// Decisions that follow from recorded state alone, made by the pump rather than where
    /// the state changed, so that a run resumed in between still makes them: a stuck target
    /// halts the run; failures beyond a budget start the rollback.
    pub(super) fn settle(&mut self, now: DateTime<Utc>, out: &mut Vec<Command>) {
        if matches!(self.phase, Phase::NotStarted | Phase::Ended(_)) {
            return;
        }
        let stuck = self
            .slots
            .iter()
            .find(|s| matches!(s.state, TargetState::Stuck { .. }))
            .map(|s| s.id.clone());
        if let Some(target) = stuck {
            self.halt(HaltReason::Stuck { target }, now, out);
            return;
        }
        if self.phase == Phase::Running
            && let Some(reason) = self.exhausted()
        {
            self.commit(
                Record::RollbackStarted {
                    scope: self.spec.rollback_scope,
                    reason: reason.clone(),
                    at: now,
                },
                out,
            );
            self.emit(RunEventKind::RollingBack { reason }, None, now, out);
        }
    }

    pub(super) fn halt(&mut self, reason: HaltReason, now: DateTime<Utc>, out: &mut Vec<Command>) {
        if matches!(self.phase, Phase::Ended(_)) {
            return;
        }
        self.commit(
            Record::Halted {
                reason: reason.clone(),
                at: now,
            },
            out,
        );
        self.emit(
            RunEventKind::Halted {
                reason: reason.clone(),
            },
            None,
            now,
            out,
        );
        out.push(Command::Halt(RunEnd::Halted(reason)));
    }

    pub(super) fn start_round(&mut self, wave: usize, out: &mut Vec<Command>) {
        let needed = self.bake_checks(wave);
        let Some(bake) = self.bake.as_mut() else {
            return;
        };
        if bake.healthy_rounds >= needed || bake.round.is_some() {
            return;
        }
        let members: BTreeSet<usize> = self
            .waves
            .get(wave)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| {
                self.slots
                    .get(i)
                    .is_some_and(|s| s.state == TargetState::Healthy)
            })
            .collect();
        if members.is_empty() {
            // Nothing deployed to watch: the rounds are vacuously healthy.
            bake.healthy_rounds = needed;
            return;
        }
        for &i in &members {
            if let Some(s) = self.slots.get(i) {
                out.push(Command::CheckHealth {
                    target: s.id.clone(),
                });
            }
        }
        bake.round = Some(Round {
            total: members.len(),
            pending: members,
            not_healthy: 0,
        });
    }

    pub(super) fn round_not_healthy(&mut self) {
        if let Some(round) = self.bake.as_mut().and_then(|b| b.round.as_mut()) {
            round.not_healthy += 1;
        }
    }

    pub(super) fn finish_round(&mut self, now: DateTime<Utc>, out: &mut Vec<Command>) {
        let wave = self.wave;
        let needed = self.bake_checks(wave);
        let interval = self
            .spec
            .waves
            .get(wave)
            .map(|w| w.bake.check_interval.as_delta())
            .unwrap_or_default();
        let Some(bake) = self.bake.as_mut() else {
            return;
        };
        let Some(round) = &bake.round else {
            return;
        };
        if !round.pending.is_empty() {
            return;
        }
        let min_percent = self
            .spec
            .waves
            .get(wave)
            .map_or(100, |w| usize::from(w.bake.min_healthy_percent.min(100)));
        let healthy = round.total.saturating_sub(round.not_healthy);
        if healthy.saturating_mul(100) >= round.total.saturating_mul(min_percent) {
            bake.healthy_rounds += 1;
        }
        bake.round = None;
        if bake.healthy_rounds < needed {
            out.push(Command::SetTimer {
                timer: TimerId::BakeRound(wave),
                at: now + interval,
            });
        }
    }

    // ---- the pump: start whatever may start now ----

    pub(super) fn pump(&mut self, now: DateTime<Utc>, out: &mut Vec<Command>) {
        self.settle(now, out);
        match self.phase.clone() {
            Phase::Running => self.pump_running(now, out),
            Phase::RollingBack { scope, reason } => self.pump_rollback(scope, reason, now, out),
            Phase::NotStarted | Phase::Ended(_) => {}
        }
    }

    pub(super) fn pump_running(&mut self, now: DateTime<Utc>, out: &mut Vec<Command>) {
        loop {
            if self.paused || self.phase != Phase::Running {
                return;
            }
            let wave = self.wave;
            let Some(spec) = self.spec.waves.get(wave) else {
                // Every wave baked (also when the log ends right after the last `WaveBaked`).
                self.commit(Record::Completed { at: now }, out);
                self.emit(RunEventKind::Completed, None, now, out);
                out.push(Command::Halt(RunEnd::Completed));
                return;
            };
            let (max, bake_spec) = (spec.max_concurrency as usize, spec.bake);
            if !self.wave_started {
                self.commit(Record::WaveStarted { wave, at: now }, out);
                self.emit_wave(RunEventKind::WaveStarted, wave, now, out);
            }
            let members = self.waves.get(wave).cloned().unwrap_or_default();
            let states = || members.iter().filter_map(|&i| self.slots.get(i));
            if states().any(|s| s.state == TargetState::Gating) {
                return;
            }
            let in_flight = states().filter(|s| s.state.in_flight()).count();
            let next = members
                .iter()
                .copied()
                .find(|&i| self.slot_state(i) == Some(&TargetState::Pending));
            if let Some(i) = next {
                if self.gate_wait.is_some_and(|until| now < until) || in_flight >= max {
                    return;
                }
                self.gate_wait = None;
                self.set_state_at(i, TargetState::Gating);
                if let Some(s) = self.slots.get(i) {
                    out.push(Command::CheckGate {
                        target: s.id.clone(),
                    });
                }
                return;
            }
            if in_flight > 0 {
                return;
            }
            // Every target of the wave settled: bake.
            let Some(bake) = &self.bake else {
                self.commit(Record::BakeStarted { wave, at: now }, out);
                out.push(Command::SetTimer {
                    timer: TimerId::BakeEnd(wave),
                    at: now + bake_spec.min_duration.as_delta(),
                });
                self.start_round(wave, out);
                continue;
            };
            let timed = now >= bake.since + bake_spec.min_duration.as_delta();
            if !timed || bake.healthy_rounds < bake_spec.min_healthy_checks {
                return;
            }
            self.commit(Record::WaveBaked { wave, at: now }, out);
            self.emit_wave(RunEventKind::WaveBaked, wave, now, out);
        }
    }

    pub(super) fn pump_rollback(
        &mut self,
        scope: RollbackScope,
        reason: HaltReason,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let current = self.wave;
        let in_scope = |s: &Slot| match scope {
            RollbackScope::Wave => s.wave == current,
            RollbackScope::Everything => s.wave <= current,
        };
        let max = self
            .spec
            .waves
            .get(current)
            .map_or(1, |w| w.max_concurrency as usize);
        let mut busy = self
            .slots
            .iter()
            .filter(|s| in_scope(s) && matches!(s.state, TargetState::RollingBack { .. }))
            .count();
        let todo: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.slots.get(i).is_some_and(|s| {
                    in_scope(s)
                        && s.touched
                        && matches!(
                            s.state,
                            TargetState::Verifying { .. }
                                | TargetState::Healthy
                                | TargetState::Failed { .. }
                        )
                })
            })
            .collect();
        for &i in &todo {
            if busy >= max {
                break;
            }
            let Some(target) = self.slots.get(i).map(|s| s.id.clone()) else {
                continue;
            };
            let key = self.key(&target, IntentAction::Rollback);
            self.commit(
                Record::Intent {
                    target: target.clone(),
                    key: key.clone(),
                    action: IntentAction::Rollback,
                    at: now,
                },
                out,
            );
            self.set_deadline(i, now, out);
            self.set_awaiting(i, true);
            out.push(Command::Apply(self.request(target, key, true)));
            busy += 1;
        }
        let deploying = self
            .slots
            .iter()
            .any(|s| in_scope(s) && matches!(s.state, TargetState::Deploying { .. }));
        if todo.is_empty() && busy == 0 && !deploying {
            self.halt(reason, now, out);
        }
    }
}
