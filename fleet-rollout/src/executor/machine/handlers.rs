//! How the executor answers each event.

use chrono::{DateTime, Utc};
use fleet_core::{
    ApplyAction, ApplyOutcome, ApplyRequest, ApplyStatus, IdempotencyKey, SubstrateError, TargetId,
};

use super::{Executor, Phase, TargetState};
use crate::executor::events::RunEventKind;
use crate::executor::gate::GateVerdict;
use crate::executor::health::{HealthError, HealthStatus};
use crate::executor::protocol::{Command, TimerId};
use crate::executor::record::{IntentAction, Record};

impl Executor {
    pub(super) fn on_gate(
        &mut self,
        target: &TargetId,
        verdict: GateVerdict,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let Some(&i) = self.index.get(target) else {
            return;
        };
        if self.slot_state(i) != Some(&TargetState::Gating) {
            return;
        }
        if self.phase != Phase::Running || self.paused {
            self.set_state_at(i, TargetState::Pending);
            return;
        }
        let wave = self.slot_wave(i);
        match verdict {
            GateVerdict::Allow => {
                let key = self.key(target, IntentAction::Deploy);
                self.commit(
                    Record::Intent {
                        target: target.clone(),
                        key: key.clone(),
                        action: IntentAction::Deploy,
                        at: now,
                    },
                    out,
                );
                self.emit(RunEventKind::Started, Some((target, wave)), now, out);
                self.set_deadline(i, now, out);
                self.set_awaiting(i, true);
                out.push(Command::Apply(ApplyRequest {
                    key,
                    target: target.clone(),
                    action: ApplyAction::Deploy {
                        release: self.spec.release.clone(),
                    },
                }));
            }
            GateVerdict::Wait { until } => {
                // A wait that is already over would ask again at once, forever: poll instead.
                let until = until.max(now + self.spec.poll_interval.as_delta());
                self.set_state_at(i, TargetState::Pending);
                self.gate_wait = Some(until);
                out.push(Command::SetTimer {
                    timer: TimerId::GateWait,
                    at: until,
                });
                self.emit(
                    RunEventKind::Waiting { until },
                    Some((target, wave)),
                    now,
                    out,
                );
            }
            GateVerdict::Deny { reason } => {
                self.commit(
                    Record::Denied {
                        target: target.clone(),
                        reason: reason.clone(),
                        at: now,
                    },
                    out,
                );
                self.emit(
                    RunEventKind::Denied { reason },
                    Some((target, wave)),
                    now,
                    out,
                );
            }
        }
    }

    pub(super) fn on_outcome(
        &mut self,
        target: &TargetId,
        key: &IdempotencyKey,
        result: Result<Option<ApplyOutcome>, SubstrateError>,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let Some(&i) = self.index.get(target) else {
            return;
        };
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        if slot.key.as_ref() != Some(key) || !slot.awaiting {
            return;
        }
        let rollback = match slot.state {
            TargetState::Deploying { .. } => false,
            TargetState::RollingBack { .. } => true,
            _ => return,
        };
        self.set_awaiting(i, false);
        let status = match result {
            Ok(Some(outcome)) => outcome.status,
            Ok(None) => {
                // The substrate never saw the key: make the attempt, under the same key.
                self.set_awaiting(i, true);
                out.push(Command::Apply(self.request(
                    target.clone(),
                    key.clone(),
                    rollback,
                )));
                return;
            }
            Err(SubstrateError::Denied { message }) => ApplyStatus::Failed {
                reason: format!("access denied: {message}"),
            },
            Err(SubstrateError::NotFound(what)) => ApplyStatus::Failed {
                reason: format!("`{what}` was not found"),
            },
            // Unknown: ask again later, until the deadline.
            Err(_) => ApplyStatus::InProgress,
        };
        let wave = self.slot_wave(i);
        match (status, rollback) {
            (ApplyStatus::Succeeded, false) => {
                self.commit(
                    Record::Deployed {
                        target: target.clone(),
                        key: key.clone(),
                        at: now,
                    },
                    out,
                );
                self.emit(RunEventKind::Deployed, Some((target, wave)), now, out);
                self.set_awaiting(i, true);
                out.push(Command::CheckHealth {
                    target: target.clone(),
                });
            }
            (ApplyStatus::Succeeded, true) => {
                self.commit(
                    Record::RolledBack {
                        target: target.clone(),
                        key: key.clone(),
                        at: now,
                    },
                    out,
                );
                self.emit(RunEventKind::RolledBack, Some((target, wave)), now, out);
            }
            (ApplyStatus::Failed { reason }, false) => self.fail(i, reason, now, out),
            (ApplyStatus::Failed { reason }, true) => self.stuck(i, reason, now, out),
            // InProgress, and any status a later fleet-core adds: ask again later.
            _ => out.push(Command::SetTimer {
                timer: TimerId::Poll(target.clone()),
                at: now + self.spec.poll_interval.as_delta(),
            }),
        }
    }

    pub(super) fn on_health(
        &mut self,
        target: &TargetId,
        result: Result<HealthStatus, HealthError>,
        now: DateTime<Utc>,
        out: &mut Vec<Command>,
    ) {
        let Some(&i) = self.index.get(target) else {
            return;
        };
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let status = result.unwrap_or(HealthStatus::Progressing);
        let wave = slot.wave;
        match slot.state {
            TargetState::Verifying { .. } if slot.awaiting => {
                self.set_awaiting(i, false);
                match status {
                    HealthStatus::Healthy => {
                        self.commit(
                            Record::Healthy {
                                target: target.clone(),
                                at: now,
                            },
                            out,
                        );
                        self.emit(RunEventKind::Healthy, Some((target, wave)), now, out);
                    }
                    HealthStatus::Progressing => out.push(Command::SetTimer {
                        timer: TimerId::Poll(target.clone()),
                        at: now + self.spec.poll_interval.as_delta(),
                    }),
                    HealthStatus::Unhealthy { reason } => self.fail(i, reason, now, out),
                }
            }
            TargetState::Healthy => {
                let in_round = self
                    .bake
                    .as_mut()
                    .and_then(|b| b.round.as_mut())
                    .is_some_and(|r| r.pending.remove(&i));
                if !in_round {
                    return;
                }
                match status {
                    HealthStatus::Healthy => {}
                    HealthStatus::Progressing => self.round_not_healthy(),
                    HealthStatus::Unhealthy { reason } => {
                        self.round_not_healthy();
                        self.fail(i, reason, now, out);
                    }
                }
                self.finish_round(now, out);
            }
            _ => {}
        }
    }

    pub(super) fn on_timer(&mut self, timer: &TimerId, now: DateTime<Utc>, out: &mut Vec<Command>) {
        match timer {
            TimerId::Deadline(target) => {
                let Some(&i) = self.index.get(target) else {
                    return;
                };
                let deadline = self.spec.progress_deadline;
                let reason = format!("not healthy within the progress deadline of {deadline}");
                match self.slot_state(i) {
                    Some(TargetState::Deploying { since } | TargetState::Verifying { since })
                        if now >= *since + deadline.as_delta() =>
                    {
                        self.fail(i, reason, now, out);
                    }
                    Some(TargetState::RollingBack { since })
                        if now >= *since + deadline.as_delta() =>
                    {
                        let reason =
                            format!("rollback not done within the progress deadline of {deadline}");
                        self.stuck(i, reason, now, out);
                    }
                    _ => {}
                }
            }
            TimerId::Poll(target) => {
                let Some(&i) = self.index.get(target) else {
                    return;
                };
                let Some(slot) = self.slots.get(i) else {
                    return;
                };
                if slot.awaiting {
                    return;
                }
                match (&slot.state, &slot.key) {
                    (
                        TargetState::Deploying { .. } | TargetState::RollingBack { .. },
                        Some(key),
                    ) => {
                        let key = key.clone();
                        self.set_awaiting(i, true);
                        out.push(Command::QueryOutcome {
                            target: target.clone(),
                            key,
                        });
                    }
                    (TargetState::Verifying { .. }, _) => {
                        self.set_awaiting(i, true);
                        out.push(Command::CheckHealth {
                            target: target.clone(),
                        });
                    }
                    _ => {}
                }
            }
            TimerId::GateWait | TimerId::BakeEnd(_) => {}
            TimerId::BakeRound(wave) => {
                let idle = self.bake.as_ref().is_some_and(|b| b.round.is_none());
                if *wave == self.wave && idle && self.phase == Phase::Running {
                    self.start_round(*wave, out);
                }
            }
        }
    }
}
