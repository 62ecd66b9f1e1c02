//! The checkpoint log's records: every state change of a run, in order.

use chrono::{DateTime, Utc};
use fleet_core::{Digest, IdempotencyKey, TargetId};
use serde::{Deserialize, Serialize};

use super::events::HaltReason;
use super::spec::RollbackScope;

/// What an intent is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentAction {
    /// Deploy the run's release.
    Deploy,
    /// Roll back to the run's last good release.
    Rollback,
}

/// One state change of a run. The executor's state is a fold of these over its
/// [`RunSpec`](super::RunSpec): [`Executor::restore`](super::Executor::restore) rebuilds it from
/// the log. Records are only ever appended.
///
/// An [`Intent`](Record::Intent) is written before its effect; a target whose intent has no
/// completion (`Deployed`, `Failed`, `RolledBack`, `Stuck`) after it is asked about with
/// `Apply::outcome` on resume, never applied blindly again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Record {
    /// The run started.
    Started {
        /// The digest of the run's spec ([`RunSpec::digest`](super::RunSpec::digest)): a log
        /// is only ever resumed with the spec it was written for.
        spec: Digest,
        /// When.
        at: DateTime<Utc>,
    },
    /// A wave started.
    WaveStarted {
        /// The wave's index.
        wave: usize,
        /// When.
        at: DateTime<Utc>,
    },
    /// The gate denied a target; it is skipped.
    Denied {
        /// The target.
        target: TargetId,
        /// The gate's reason.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An effect is about to be asked for, under this key.
    Intent {
        /// The target.
        target: TargetId,
        /// The attempt's idempotency key.
        key: IdempotencyKey,
        /// Deploy or roll back.
        action: IntentAction,
        /// When (the progress deadline counts from here).
        at: DateTime<Utc>,
    },
    /// The substrate reported the deploy done; health is checked next.
    Deployed {
        /// The target.
        target: TargetId,
        /// The attempt.
        key: IdempotencyKey,
        /// When.
        at: DateTime<Utc>,
    },
    /// The deployed target reported healthy.
    Healthy {
        /// The target.
        target: TargetId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The target failed (deploy failed, unhealthy, or past its deadline); it counts against
    /// the budgets.
    Failed {
        /// The target.
        target: TargetId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Every target of the wave settled; the bake started.
    BakeStarted {
        /// The wave.
        wave: usize,
        /// When.
        at: DateTime<Utc>,
    },
    /// The wave baked; the next one may start.
    WaveBaked {
        /// The wave.
        wave: usize,
        /// When.
        at: DateTime<Utc>,
    },
    /// New starts paused.
    Paused {
        /// When.
        at: DateTime<Utc>,
    },
    /// New starts resumed.
    Resumed {
        /// When.
        at: DateTime<Utc>,
    },
    /// A budget was exhausted; the rollback started.
    RollbackStarted {
        /// What is rolled back.
        scope: RollbackScope,
        /// Which budget.
        reason: HaltReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// The target is back on the last good release.
    RolledBack {
        /// The target.
        target: TargetId,
        /// The rollback attempt.
        key: IdempotencyKey,
        /// When.
        at: DateTime<Utc>,
    },
    /// The target's rollback failed: it needs a person.
    Stuck {
        /// The target.
        target: TargetId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The run stopped before completing.
    Halted {
        /// Why.
        reason: HaltReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Every wave deployed and baked.
    Completed {
        /// When.
        at: DateTime<Utc>,
    },
}

impl Record {
    /// The target the record is about, if any.
    #[must_use]
    pub fn target(&self) -> Option<&TargetId> {
        match self {
            Self::Denied { target, .. }
            | Self::Intent { target, .. }
            | Self::Deployed { target, .. }
            | Self::Healthy { target, .. }
            | Self::Failed { target, .. }
            | Self::RolledBack { target, .. }
            | Self::Stuck { target, .. } => Some(target),
            _ => None,
        }
    }
}
