//! Audit events and the sink they go to.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::digest::Digest;
use crate::id::TargetId;

/// One control-plane action that touched (or was refused on) a target, with everything an
/// auditor asks: who, with which identity, on what, what was decided and why, before and
/// after.
///
/// Crates that decide things emit these into an [`AuditSink`]; `fleet-audit` makes the log
/// tamper-evident. No crate needs `fleet-audit` to emit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Unique id of the action (an idempotency key, a request id).
    pub action_id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who asked for it.
    pub actor: Actor,
    /// The credential or workload identity used (`spiffe://…`), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The target touched, when the action is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetId>,
    /// What was done (`rollout.deploy`, `policy.evaluate`, `drift.hold`).
    pub action: String,
    /// The outcome (`allow`, `deny`, `succeeded`, `failed`).
    pub decision: String,
    /// Why, one line per deciding rule or piece of evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Digest of the state before the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Digest>,
    /// Digest of the state after the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Digest>,
    /// Anything else worth keeping, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// An event with the required fields; the rest are empty.
    #[must_use]
    pub fn new(
        action_id: impl Into<String>,
        at: DateTime<Utc>,
        actor: Actor,
        action: impl Into<String>,
        decision: impl Into<String>,
    ) -> Self {
        Self {
            action_id: action_id.into(),
            at,
            actor,
            identity: None,
            target: None,
            action: action.into(),
            decision: decision.into(),
            reasons: Vec::new(),
            before: None,
            after: None,
            details: BTreeMap::new(),
        }
    }

    /// Sets the target.
    #[must_use]
    pub fn target(mut self, target: TargetId) -> Self {
        self.target = Some(target);
        self
    }

    /// Adds a reason.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reasons.push(reason.into());
        self
    }
}

/// Why an audit sink refused an event. Callers that must not act unaudited treat this as a
/// reason to stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit sink refused the event: {message}")]
pub struct AuditError {
    /// What the sink said.
    pub message: String,
}

/// Where audit events go. Implemented by `fleet-audit`'s log and by [`MemoryAuditSink`].
pub trait AuditSink: Send + Sync {
    /// Records one event durably (as durable as the sink is) before returning.
    ///
    /// # Errors
    ///
    /// [`AuditError`] when the event could not be recorded.
    fn record(&self, event: AuditEvent) -> Result<(), AuditError>;
}

/// An in-memory sink, for tests and examples.
///
/// # Example
///
/// ```
/// use chrono::DateTime;
/// use fleet_core::{Actor, AuditEvent, AuditSink, MemoryAuditSink};
///
/// let sink = MemoryAuditSink::default();
/// sink.record(AuditEvent::new("a1", DateTime::UNIX_EPOCH, Actor::service("ci"), "rollout.deploy", "allow"))?;
/// assert_eq!(sink.events().len(), 1);
/// # Ok::<(), fleet_core::AuditError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditSink {
    /// A copy of the events recorded so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
        Ok(())
    }
}
