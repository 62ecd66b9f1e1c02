//! Holds: "do not touch this" with a name, a reason and an expiry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::id::TargetId;

/// What a hold covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum HoldScope {
    /// The whole target.
    Target,
    /// One workload on the target.
    Workload {
        /// The workload's name.
        name: String,
    },
    /// Some document paths on the target (JSON pointers, `/spec/replicas`).
    Paths {
        /// The held paths.
        paths: Vec<String>,
    },
}

/// A hold on a target: rollouts skip it, drift correction never reverts under it. It always
/// names who placed it, why, and when it lapses.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use fleet_core::{Actor, Hold, HoldScope, TargetId};
///
/// let placed = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
/// let hold = Hold {
///     target: TargetId::new("eks-prod-eu-1")?,
///     scope: HoldScope::Target,
///     actor: Actor::human("oncall@example.com"),
///     reason: "INC-4211: cert rotated by hand".into(),
///     placed_at: placed,
///     expires_at: placed + chrono::TimeDelta::hours(8),
/// };
/// assert!(hold.is_active(placed + chrono::TimeDelta::hours(1)));
/// assert!(!hold.is_active(placed + chrono::TimeDelta::hours(8)));
/// # Ok::<(), fleet_core::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// The held target.
    pub target: TargetId,
    /// What on the target is held.
    pub scope: HoldScope,
    /// Who placed the hold.
    pub actor: Actor,
    /// Why (an incident id, a ticket).
    pub reason: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// When it lapses (exclusive).
    pub expires_at: DateTime<Utc>,
}

impl Hold {
    /// Whether the hold is in force at `now`: placed at or before `now` and not yet expired.
    #[must_use]
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.placed_at <= now && now < self.expires_at
    }
}
