//! The executor's inputs and outputs: [`Event`]s in, [`Command`]s out.

use chrono::{DateTime, Utc};
use fleet_core::{ApplyOutcome, ApplyRequest, IdempotencyKey, SubstrateError, TargetId};
use serde::{Deserialize, Serialize};

use super::events::{RunEnd, RunEvent};
use super::gate::GateVerdict;
use super::health::{HealthError, HealthStatus};
use super::record::Record;

/// Names a timer the executor asked for. When it fires, the driver hands it back as
/// [`Event::Timer`]; a timer whose purpose has passed is ignored, so drivers need not cancel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerId {
    /// The target's progress deadline.
    Deadline(TargetId),
    /// Ask again about the target's attempt or health.
    Poll(TargetId),
    /// The gate's wait is over.
    GateWait,
    /// The wave's minimum bake time is over.
    BakeEnd(usize),
    /// The wave's next bake health round is due.
    BakeRound(usize),
}

/// What happened: the executor's input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Start the run.
    Start,
    /// The gate's answer to [`Command::CheckGate`].
    Gate {
        /// The target asked about.
        target: TargetId,
        /// The answer.
        verdict: GateVerdict,
    },
    /// The answer to [`Command::Apply`]. An error means the outcome is unknown (unless the
    /// substrate refused outright: [`SubstrateError::Denied`] or
    /// [`SubstrateError::NotFound`]); the executor asks again later.
    Applied {
        /// The target.
        target: TargetId,
        /// The attempt's key.
        key: IdempotencyKey,
        /// What the substrate said.
        result: Result<ApplyOutcome, SubstrateError>,
    },
    /// The answer to [`Command::QueryOutcome`]; `Ok(None)` means the substrate never saw the
    /// key, so the attempt is made (with the same key).
    Outcome {
        /// The target.
        target: TargetId,
        /// The attempt's key.
        key: IdempotencyKey,
        /// What the substrate said.
        result: Result<Option<ApplyOutcome>, SubstrateError>,
    },
    /// The answer to [`Command::CheckHealth`].
    Health {
        /// The target.
        target: TargetId,
        /// What the check said.
        result: Result<HealthStatus, HealthError>,
    },
    /// A timer set with [`Command::SetTimer`] fired.
    Timer(TimerId),
    /// Start no new targets and no new wave; work in progress goes on.
    Pause,
    /// Undo [`Event::Pause`].
    Resume,
    /// Stop now: no rollback, nothing more is awaited.
    Abort,
}

/// What the executor asks its driver to do, in order. A [`Command::Checkpoint`] comes before
/// the effect it announces; the driver must append it durably before going on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Append this record to the checkpoint log.
    Checkpoint(Record),
    /// Ask the gate about the target now; answer with [`Event::Gate`].
    CheckGate {
        /// The target.
        target: TargetId,
    },
    /// Call `Apply::apply`; answer with [`Event::Applied`].
    Apply(ApplyRequest),
    /// Call `Apply::outcome`; answer with [`Event::Outcome`].
    QueryOutcome {
        /// The target.
        target: TargetId,
        /// The attempt's key.
        key: IdempotencyKey,
    },
    /// Check the target's health; answer with [`Event::Health`].
    CheckHealth {
        /// The target.
        target: TargetId,
    },
    /// Send [`Event::Timer`] at `at` (or right away if it has passed).
    SetTimer {
        /// Which timer.
        timer: TimerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Report this event (audit sink, progress display).
    Emit(RunEvent),
    /// The run is over; nothing more will be asked.
    Halt(RunEnd),
}
