//! The health signal the executor waits for after a deploy and during a bake.

use fleet_core::{BoxFuture, TargetId};
use serde::{Deserialize, Serialize};

/// What a health check says about one target. Callers match it fully (it is not
/// `non_exhaustive`): each answer drives a different transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthStatus {
    /// Serving as it should.
    Healthy,
    /// Not yet healthy, not failed either (pods starting): ask again later, until the
    /// progress deadline.
    Progressing,
    /// Failed; counts against the failure budget.
    Unhealthy {
        /// Why.
        reason: String,
    },
}

/// Why a health check could not be made. The executor treats it as [`HealthStatus::Progressing`]
/// (no answer is not an answer) and asks again, until the progress deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("health check of `{target}` failed: {message}")]
pub struct HealthError {
    /// The target.
    pub target: TargetId,
    /// What went wrong.
    pub message: String,
}

/// Asks a target whether it is healthy.
pub trait HealthCheck: Send + Sync {
    /// Checks one target.
    fn check<'a>(
        &'a self,
        target: &'a TargetId,
    ) -> BoxFuture<'a, Result<HealthStatus, HealthError>>;
}
