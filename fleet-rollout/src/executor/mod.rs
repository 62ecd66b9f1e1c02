//! The rollout executor: runs a [`RunSpec`] wave by wave against fleet-core's
//! [`Apply`](fleet_core::Apply), a [`HealthCheck`] and a policy [`Gate`], halting, resuming
//! and rolling back.
//!
//! # When to use this module
//!
//! To carry out a rollout that must survive its process: every state change goes to a
//! [`CheckpointStore`] before the effect it enables, and a restarted driver picks the run up
//! from the log, asking the substrate about attempts it cannot see finished instead of
//! repeating them.
//!
//! # Design
//!
//! - [`Executor`] is a pure state machine: [`Executor::step`] takes an [`Event`] and `now`
//!   and returns [`Command`]s. No IO, no clock; the same machine runs under the tokio
//!   [`Driver`], a simulator or a test that feeds it events by hand.
//! - Persistent state is a fold of [`Record`]s. Each [`Record::Intent`] carries the attempt's
//!   [`IdempotencyKey`](fleet_core::IdempotencyKey) (`<run>/<target>/deploy` or
//!   `.../rollback`) and is checkpointed before the [`Command::Apply`] it announces;
//!   [`Executor::restore`] plus [`Executor::resume`] turn every intent without a completion
//!   into a [`Command::QueryOutcome`].
//! - The log is append-only and fenced ([`FencingToken`]): a driver that lost its turn cannot
//!   write after its successor started.
//! - [`PolicyGate`] puts a `fleet-policy` `PolicySet` behind the [`Gate`] trait: pending
//!   waits for the next window, deny skips the target with the deciding rules.
//! - Two runs that touch one target: the second is refused ([`TargetLeases`],
//!   [`LeaseError::Held`]).
//! - Budgets ([`Budget`]) are per wave and overall, a count or a percentage, exhausted by
//!   the failure beyond them. Exhaustion rolls back the wave (or everything touched,
//!   [`RollbackScope`]) to the last good release and halts; a failed rollback marks the
//!   target stuck and halts at once.
//! - [`TokioClock`] follows tokio's clock, so tests with paused time run hours of bakes and
//!   deadlines in milliseconds.
//! - Events ([`RunEvent`]) go to an [`AuditSink`](fleet_core::AuditSink) as core audit events
//!   and to a progress callback.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fleet_core::{Actor, ApplyStatus, ApplyOutcome, Duration, Release, TargetId, Version, Workload};
//! use fleet_rollout::executor::{Command, Event, Executor, RunEnd, RunId, RunSpec, WaveSpec, GateVerdict, HealthStatus};
//!
//! let api = Workload::new("api");
//! let spec = RunSpec::new(
//!     RunId::new("r1")?,
//!     Actor::service("ci"),
//!     Release::new(&api, Version::parse("1.1")?),
//!     Release::new(&api, Version::parse("1.0")?),
//!     Duration::from_seconds(600),
//! )
//! .wave(WaveSpec::new([TargetId::new("eks-1")?]));
//! let mut exec = Executor::new(spec)?;
//! let now = Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap();
//!
//! // drive it by hand: the first thing it does is ask the gate
//! let cmds = exec.step(Event::Start, now);
//! let t = TargetId::new("eks-1")?;
//! assert!(cmds.contains(&Command::CheckGate { target: t.clone() }));
//!
//! // allowed: the intent is checkpointed, then the deploy is asked for
//! let cmds = exec.step(Event::Gate { target: t.clone(), verdict: GateVerdict::Allow }, now);
//! let intent = cmds.iter().position(|c| matches!(c, Command::Checkpoint(_))).unwrap();
//! let apply = cmds.iter().position(|c| matches!(c, Command::Apply(_))).unwrap();
//! assert!(intent < apply);
//! let Some(Command::Apply(request)) = cmds.get(apply) else { unreachable!() };
//!
//! let outcome = ApplyOutcome { key: request.key.clone(), status: ApplyStatus::Succeeded, after: None, at: now };
//! exec.step(Event::Applied { target: t.clone(), key: request.key.clone(), result: Ok(outcome) }, now);
//! let cmds = exec.step(Event::Health { target: t.clone(), result: Ok(HealthStatus::Healthy) }, now);
//! assert!(cmds.contains(&Command::Halt(RunEnd::Completed)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With tokio, [`Driver::run`] does the same against real traits; see its docs.

mod checkpoint;
mod driver;
mod events;
mod gate;
mod health;
mod lease;
mod machine;
mod policy_gate;
mod protocol;
mod record;
mod spec;

pub use checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, FencingToken, MemoryCheckpointStore,
};
pub use driver::{Control, Driver, DriverError, ProgressFn, Report, TokioClock};
pub use events::{HaltReason, RunEnd, RunEvent, RunEventKind};
pub use gate::{AllowAll, Gate, GateVerdict};
pub use health::{HealthCheck, HealthError, HealthStatus};
pub use lease::{LeaseError, TargetLeases};
pub use machine::{Executor, Progress, RestoreError, TargetState};
pub use policy_gate::PolicyGate;
pub use protocol::{Command, Event, TimerId};
pub use record::{IntentAction, Record};
pub use spec::{BakeSpec, Budget, RollbackScope, RunId, RunSpec, SpecError, SpecErrors, WaveSpec};
