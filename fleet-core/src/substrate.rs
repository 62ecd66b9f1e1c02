//! The capability traits a substrate implements.
//!
//! A substrate (a cloud account, a kubeconfig, an edge site) implements only what it can do:
//! an air-gapped site that cannot be reached implements neither [`Observe`] nor [`Apply`]
//! instead of pretending. The traits return boxed futures so that registries can hold them as
//! trait objects (`Arc<dyn Observe>`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::id::{NativeId, TargetId};
use crate::target::{ObservedState, Target};
use crate::workload::Release;

/// A boxed, sendable future: what the capability traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a substrate call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubstrateError {
    /// The target or its platform API could not be reached.
    #[error("target `{target}` is unreachable: {message}")]
    Unreachable {
        /// The target (or account) that could not be reached.
        target: String,
        /// What the transport said.
        message: String,
    },
    /// The platform refused the credentials or the action.
    #[error("access denied: {message}")]
    Denied {
        /// What the platform said.
        message: String,
    },
    /// The platform does not know the target.
    #[error("`{0}` was not found")]
    NotFound(String),
    /// The platform asked us to slow down.
    #[error("throttled; retry after {retry_after_ms} ms")]
    Throttled {
        /// How long to wait, as the platform said.
        retry_after_ms: u64,
    },
    /// The platform answered with something we could not understand.
    #[error("invalid response from {source_name}: {message}")]
    InvalidResponse {
        /// The API that answered.
        source_name: String,
        /// What was wrong, and where.
        message: String,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// A request to list targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverRequest {
    /// A page token from a previous [`Discovered::next_page`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// At most this many targets per page (the substrate may return fewer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// One page of discovered targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovered {
    /// The targets on this page, typed.
    pub targets: Vec<Target>,
    /// The token for the next page, if there is one.
    pub next_page: Option<String>,
}

/// Lists the targets a substrate holds, mapped to typed targets.
pub trait Discover: Send + Sync {
    /// Lists one page of targets.
    fn discover<'a>(
        &'a self,
        request: &'a DiscoverRequest,
    ) -> BoxFuture<'a, Result<Discovered, SubstrateError>>;
}

/// A request to observe one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObserveRequest {
    /// The target.
    pub target: TargetId,
    /// Its platform id, when known.
    pub native_id: Option<NativeId>,
}

/// Reads the live state of a target.
pub trait Observe: Send + Sync {
    /// Observes one target. An unreachable target is an `Ok` observation with
    /// [`Reachability::NotChecked`](crate::Reachability::NotChecked), not an error, when the
    /// substrate can tell the two apart.
    fn observe<'a>(
        &'a self,
        request: &'a ObserveRequest,
    ) -> BoxFuture<'a, Result<ObservedState, SubstrateError>>;
}

/// An idempotency key: the same key names the same attempt, so a retried or resumed call
/// never acts twice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(pub String);

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to do to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ApplyAction {
    /// Deploy a release.
    Deploy {
        /// The release.
        release: Release,
    },
    /// Go back to an earlier release.
    Rollback {
        /// The release to return to.
        to: Release,
    },
}

/// A request to change a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Names this attempt; the same key must never act twice.
    pub key: IdempotencyKey,
    /// The target.
    pub target: TargetId,
    /// What to do.
    pub action: ApplyAction,
}

/// Where an attempt stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ApplyStatus {
    /// Accepted and still running.
    InProgress,
    /// Done.
    Succeeded,
    /// Failed; nothing more will happen for this key.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// The outcome of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyOutcome {
    /// The attempt.
    pub key: IdempotencyKey,
    /// Where it stands.
    pub status: ApplyStatus,
    /// Digest of the target's state afterwards, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Digest>,
    /// When the substrate reported it.
    pub at: DateTime<Utc>,
}

/// Changes targets.
pub trait Apply: Send + Sync {
    /// Starts (or, for a key already seen, reports) an attempt.
    fn apply<'a>(
        &'a self,
        request: &'a ApplyRequest,
    ) -> BoxFuture<'a, Result<ApplyOutcome, SubstrateError>>;

    /// The outcome of an earlier attempt, or `None` if the substrate never saw the key. A
    /// resumed executor asks this instead of repeating an attempt.
    fn outcome<'a>(
        &'a self,
        target: &'a TargetId,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Option<ApplyOutcome>, SubstrateError>>;
}
