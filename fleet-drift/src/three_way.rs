//! Three-way diffs: which side moved since the last apply.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::diff::{Change, Diff, Differ};
use crate::error::DiffError;
use crate::path::Path;

/// Which side moved away from the last-applied document at a change.
///
/// Not `non_exhaustive`: the decision step matches it fully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Desired changed (a new release); observed is still what was last applied.
    DesiredMoved,
    /// Observed changed (someone or something edited the live object); desired did not.
    ObservedMoved,
    /// Both changed, to different values.
    Both,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DesiredMoved => "desired moved",
            Self::ObservedMoved => "observed moved",
            Self::Both => "both moved",
        })
    }
}

/// A change of desired vs observed, with the side that moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreeWayChange {
    /// The change from desired to observed.
    #[serde(flatten)]
    pub change: Change,
    /// Which side moved since the last apply.
    pub origin: Origin,
}

/// The changes of desired vs observed, each with its [`Origin`], sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThreeWayDiff {
    /// The changes.
    pub changes: Vec<ThreeWayChange>,
}

/// Whether any change of `diff` touches `path`: at it, above it or below it.
fn touches(diff: &Diff, path: &Path) -> bool {
    diff.iter()
        .any(|c| c.path.is_prefix_of(path) || path.is_prefix_of(&c.path))
}

impl Differ {
    /// Compares desired and observed, and labels each change by comparing both with the
    /// last-applied document: where desired differs from last-applied at (or above, or
    /// below) the change's path, desired moved; where observed does, observed moved.
    ///
    /// # Errors
    ///
    /// As [`Differ::diff`], for any of the three documents.
    ///
    /// # Example
    ///
    /// ```
    /// use fleet_drift::{Differ, Origin};
    /// use serde_json::json;
    ///
    /// let last = json!({"spec": {"replicas": 3, "paused": false}});
    /// let desired = json!({"spec": {"replicas": 5, "paused": false}});
    /// let observed = json!({"spec": {"replicas": 3, "paused": true}});
    /// let diff = Differ::kubernetes().diff3(&last, &desired, &observed)?;
    /// let origins: Vec<_> = diff.changes.iter().map(|c| (c.change.path.to_string(), c.origin)).collect();
    /// assert_eq!(origins, [
    ///     ("spec.paused".to_string(), Origin::ObservedMoved),
    ///     ("spec.replicas".to_string(), Origin::DesiredMoved),
    /// ]);
    /// # Ok::<(), fleet_drift::DiffError>(())
    /// ```
    pub fn diff3(
        &self,
        last_applied: &Value,
        desired: &Value,
        observed: &Value,
    ) -> Result<ThreeWayDiff, DiffError> {
        let now = self.diff(desired, observed)?;
        if now.is_empty() {
            return Ok(ThreeWayDiff::default());
        }
        let by_desired = self.diff(last_applied, desired).map_err(relabel)?;
        let by_observed = self.diff(last_applied, observed).map_err(relabel)?;
        let changes = now
            .into_changes()
            .into_iter()
            .map(|change| {
                let d = touches(&by_desired, &change.path);
                let o = touches(&by_observed, &change.path);
                let origin = match (d, o) {
                    (true, false) => Origin::DesiredMoved,
                    (false, true) => Origin::ObservedMoved,
                    // Neither can only happen when paths cross a fallback list; say both.
                    _ => Origin::Both,
                };
                ThreeWayChange { change, origin }
            })
            .collect();
        Ok(ThreeWayDiff { changes })
    }
}

/// In the last-applied comparisons, the "desired" side is the last-applied document.
fn relabel(e: DiffError) -> DiffError {
    match e {
        DiffError::NotAnObject {
            side: crate::Side::Desired,
            found,
        } => DiffError::NotAnObject {
            side: crate::Side::LastApplied,
            found,
        },
        other => other,
    }
}
