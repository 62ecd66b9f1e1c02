//! What a run reports as it goes: [`RunEvent`]s, for audit and progress display.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, AuditEvent, TargetId};
use serde::{Deserialize, Serialize};

use super::spec::RunId;

/// Why a run stopped before completing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum HaltReason {
    /// A wave failed more targets than its budget tolerates.
    WaveBudget {
        /// The wave.
        wave: usize,
        /// Its failures.
        failures: usize,
        /// Failures it tolerates.
        allowed: usize,
    },
    /// The run failed more targets than the overall budget tolerates.
    OverallBudget {
        /// The run's failures.
        failures: usize,
        /// Failures it tolerates.
        allowed: usize,
    },
    /// Someone aborted the run.
    Aborted,
    /// A rollback failed; the target is stuck.
    Stuck {
        /// The stuck target.
        target: TargetId,
    },
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WaveBudget {
                wave,
                failures,
                allowed,
            } => write!(
                f,
                "wave {wave} exhausted its failure budget: {failures} failed, {allowed} tolerated"
            ),
            Self::OverallBudget { failures, allowed } => write!(
                f,
                "the run exhausted its overall failure budget: {failures} failed, {allowed} tolerated"
            ),
            Self::Aborted => f.write_str("aborted"),
            Self::Stuck { target } => write!(f, "the rollback of `{target}` failed"),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RunEnd {
    /// Every wave deployed and baked.
    Completed,
    /// Stopped early, and why (after any rollback finished).
    Halted(HaltReason),
}

/// What happened, in a [`RunEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RunEventKind {
    /// The run (no target) or a target's deploy (a target) started.
    Started,
    /// A wave started.
    WaveStarted,
    /// The gate said not now; no new target starts before `until`.
    Waiting {
        /// When the gate is asked again.
        until: DateTime<Utc>,
    },
    /// The gate denied the target; it is skipped.
    Denied {
        /// Why.
        reason: String,
    },
    /// The substrate reported the deploy done.
    Deployed,
    /// The target reported healthy.
    Healthy,
    /// The target failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// The wave baked.
    WaveBaked,
    /// New starts paused.
    Paused,
    /// New starts resumed.
    Resumed,
    /// A budget was exhausted; rolling back.
    RollingBack {
        /// Which budget.
        reason: HaltReason,
    },
    /// The target is back on the last good release.
    RolledBack,
    /// The target's rollback failed.
    Stuck {
        /// Why.
        reason: String,
    },
    /// The run stopped early.
    Halted {
        /// Why.
        reason: HaltReason,
    },
    /// The run completed.
    Completed,
}

impl RunEventKind {
    /// The audit action name (`rollout.deployed`).
    #[must_use]
    pub fn action(&self) -> &'static str {
        match self {
            Self::Started => "rollout.started",
            Self::WaveStarted => "rollout.wave_started",
            Self::Waiting { .. } => "rollout.waiting",
            Self::Denied { .. } => "rollout.denied",
            Self::Deployed => "rollout.deployed",
            Self::Healthy => "rollout.healthy",
            Self::Failed { .. } => "rollout.failed",
            Self::WaveBaked => "rollout.wave_baked",
            Self::Paused => "rollout.paused",
            Self::Resumed => "rollout.resumed",
            Self::RollingBack { .. } => "rollout.rolling_back",
            Self::RolledBack => "rollout.rolled_back",
            Self::Stuck { .. } => "rollout.stuck",
            Self::Halted { .. } => "rollout.halted",
            Self::Completed => "rollout.completed",
        }
    }

    fn decision(&self) -> &'static str {
        match self {
            Self::Started | Self::WaveStarted | Self::Resumed => "started",
            Self::Waiting { .. } | Self::Paused => "pending",
            Self::Denied { .. } => "deny",
            Self::Deployed | Self::Healthy | Self::WaveBaked | Self::RolledBack => "succeeded",
            Self::Completed => "succeeded",
            Self::Failed { .. } | Self::Stuck { .. } => "failed",
            Self::RollingBack { .. } | Self::Halted { .. } => "halted",
        }
    }

    fn reason(&self) -> Option<String> {
        match self {
            Self::Waiting { until } => Some(format!("the gate allows no start before {until}")),
            Self::Denied { reason } | Self::Failed { reason } | Self::Stuck { reason } => {
                Some(reason.clone())
            }
            Self::RollingBack { reason } | Self::Halted { reason } => Some(reason.to_string()),
            _ => None,
        }
    }
}

/// One thing that happened in a run, with who, when and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEvent {
    /// The run.
    pub run: RunId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who runs it.
    pub actor: Actor,
    /// The wave, when the event is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    /// The target, when the event is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetId>,
    /// What happened.
    #[serde(flatten)]
    pub kind: RunEventKind,
}

impl RunEvent {
    /// The event as a core audit event: action `rollout.<kind>`, the run's actor, the target,
    /// and the run and wave in `details`.
    #[must_use]
    pub fn to_audit(&self) -> AuditEvent {
        let subject = self.target.as_ref().map_or("run", TargetId::as_str);
        let action_id = format!("{}/{}/{}", self.run, subject, self.kind.action());
        let mut event = AuditEvent::new(
            action_id,
            self.at,
            self.actor.clone(),
            self.kind.action(),
            self.kind.decision(),
        );
        event.target = self.target.clone();
        if let Some(reason) = self.kind.reason() {
            event.reasons.push(reason);
        }
        let mut details = BTreeMap::new();
        details.insert("run".to_owned(), self.run.to_string());
        if let Some(wave) = self.wave {
            details.insert("wave".to_owned(), wave.to_string());
        }
        event.details = details;
        event
    }
}

impl fmt::Display for RunEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.at.format("%H:%M:%S"),
            self.run,
            self.kind.action()
        )?;
        if let Some(t) = &self.target {
            write!(f, " `{t}`")?;
        }
        if let Some(r) = self.kind.reason() {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}
