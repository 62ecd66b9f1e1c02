//! Who did something.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of actor made a change. Drift classification and audit depend on it, so callers
/// match it fully (it is not `non_exhaustive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person (an SSO user, someone running `kubectl edit`).
    Human,
    /// A service account or automation acting on someone's behalf (CI, the control plane).
    Service,
    /// An in-cluster controller (the HPA, cert-manager, an operator).
    Controller,
    /// Evidence did not say.
    Unknown,
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Human => "human",
            Self::Service => "service",
            Self::Controller => "controller",
            Self::Unknown => "unknown",
        })
    }
}

/// An actor: its kind and a name (`alice@example.com`, `system:serviceaccount:kube-system:hpa`).
///
/// # Example
///
/// ```
/// use fleet_core::{Actor, ActorKind};
///
/// let a = Actor::human("alice@example.com");
/// assert_eq!(a.kind, ActorKind::Human);
/// assert_eq!(a.to_string(), "human:alice@example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The kind of actor.
    pub kind: ActorKind,
    /// The actor's name.
    pub name: String,
}

impl Actor {
    /// An actor of the given kind.
    #[must_use]
    pub fn new(kind: ActorKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// A person.
    #[must_use]
    pub fn human(name: impl Into<String>) -> Self {
        Self::new(ActorKind::Human, name)
    }

    /// A service or automation.
    #[must_use]
    pub fn service(name: impl Into<String>) -> Self {
        Self::new(ActorKind::Service, name)
    }

    /// An in-cluster controller.
    #[must_use]
    pub fn controller(name: impl Into<String>) -> Self {
        Self::new(ActorKind::Controller, name)
    }

    /// An actor nobody could name.
    #[must_use]
    pub fn unknown() -> Self {
        Self::new(ActorKind::Unknown, "unknown")
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}
