//! Edges the planner takes besides the inventory's own `depends_on`.

use serde::{Deserialize, Serialize};

/// A target-level edge: `after` goes in a later wave than `before`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// The target that goes first (an id).
    pub before: String,
    /// The target that waits for it.
    pub after: String,
}

/// A group-level edge: every selected target whose `property` is `after` goes in a later
/// wave than every planned target whose `property` is `before` ("EU after US":
/// `{ property: geo, before: us, after: eu }`). Excluded targets of `before` do not hold
/// `after` back: the edge orders, it does not require.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupEdge {
    /// The property both groups are values of.
    pub property: String,
    /// The value of the group that goes first.
    pub before: String,
    /// The value of the group that waits.
    pub after: String,
}

impl GroupEdge {
    /// "`after` after `before`" for one property.
    #[must_use]
    pub fn new(property: &str, before: &str, after: &str) -> Self {
        Self {
            property: property.to_owned(),
            before: before.to_owned(),
            after: after.to_owned(),
        }
    }

    pub(crate) fn label(&self) -> String {
        format!(
            "group {p}={b} before {p}={a}",
            p = self.property,
            b = self.before,
            a = self.after
        )
    }
}

/// A deployment-level edge within a release of several deployments: on every target,
/// `after` is applied only once `before` is ("ingress after cert-manager on the same
/// target").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEdge {
    /// The deployment applied first.
    pub before: String,
    /// The deployment applied after it.
    pub after: String,
}
