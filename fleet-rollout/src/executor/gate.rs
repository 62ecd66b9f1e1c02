//! The policy gate the executor asks just before it starts each target.

use chrono::{DateTime, Utc};
use fleet_core::TargetId;
use serde::{Deserialize, Serialize};

/// What the gate says about starting a target now. Callers match it fully: each verdict
/// needs its own handling, so it is not `non_exhaustive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GateVerdict {
    /// Go ahead.
    Allow,
    /// Not now (a window is closed, a freeze is in force, an approval is pending): start no
    /// new target before `until`, then ask again.
    Wait {
        /// When to ask again.
        until: DateTime<Utc>,
    },
    /// Never for this run: the target is skipped, with the reason.
    Deny {
        /// Why.
        reason: String,
    },
}

/// The policy gate. The executor asks it for each target just before the target's deploy
/// starts, so a freeze declared mid-rollout stops new starts. Implementations are pure and
/// quick (policy evaluation over data already loaded); a `fleet-policy` `PolicySet` fits
/// behind it.
pub trait Gate: Send + Sync {
    /// May `target` be started at `now`?
    fn check(&self, target: &TargetId, now: DateTime<Utc>) -> GateVerdict;
}

/// A gate that allows everything (tests, and runs whose policy was applied when planning).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Gate for AllowAll {
    fn check(&self, _target: &TargetId, _now: DateTime<Utc>) -> GateVerdict {
        GateVerdict::Allow
    }
}

impl<F> Gate for F
where
    F: Fn(&TargetId, DateTime<Utc>) -> GateVerdict + Send + Sync,
{
    fn check(&self, target: &TargetId, now: DateTime<Utc>) -> GateVerdict {
        self(target, now)
    }
}
