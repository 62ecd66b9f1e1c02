//! # fleet-drift
//!
//! Drift between what a target should run and what it runs: structured diffs of desired vs
//! observed documents (Kubernetes objects first of all), and attribution of each changed
//! field to the managers that own it.
//!
//! Use this crate when you hold two JSON-like documents (a rendered manifest and the live
//! object, a cloud resource as declared and as described) and need to know *what* differs,
//! in terms a person and a rule can act on:
//!
//! - [`Differ::diff`] walks both documents together and reports [`Change`]s at [`Path`]s
//!   that survive reordering: keyed lists merge by key (`containers[name=web]`), so a
//!   reordered list is not drift; server-populated fields are ignored; defaulted fields,
//!   quantities (`1000m` = `1`) and int-or-string values compare by meaning; Secret data
//!   shows only as digests. What counts is configured by [`DiffOptions`].
//! - [`Differ::diff_objects`] compares whole object sets: missing, unexpected, changed.
//! - [`Differ::diff3`] tells "desired moved" from "observed moved" when the last-applied
//!   document is known.
//! - [`ManagedFields`] parses Kubernetes `metadata.managedFields` into field sets over the
//!   same [`Segment`]s, and answers which managers own a changed path, with their operation
//!   and time.
//!
//! The crate is pure: no IO, no clock, no threads. Classification and decisions (reconcile,
//! alert, accept, hold) build on these types.
//!
//! # Example
//!
//! ```
//! use fleet_drift::{ChangeKind, Differ, ManagedFields};
//! use serde_json::json;
//!
//! let desired = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "prod"},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "web", "image": "web:1.4", "resources": {"limits": {"cpu": "1"}}},
//!         {"name": "proxy", "image": "envoy:1.30"},
//!     ]}}}
//! });
//! // Live: containers reordered, cpu spelt differently, server fields added, and
//! // someone changed the image.
//! let observed = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "prod", "uid": "1f0c", "resourceVersion": "77",
//!         "managedFields": [{"manager": "kubectl-edit", "operation": "Update",
//!             "time": "2026-03-01T02:00:00Z", "fieldsType": "FieldsV1",
//!             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
//!                 "k:{\"name\":\"web\"}": {"f:image": {}}}}}}}}]},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "proxy", "image": "envoy:1.30"},
//!         {"name": "web", "image": "web:1.5", "resources": {"limits": {"cpu": "1000m"}}},
//!     ]}}},
//!     "status": {"readyReplicas": 3}
//! });
//!
//! let differ = Differ::kubernetes();
//! let diff = differ.diff(&desired, &observed)?;
//! assert_eq!(diff.len(), 1);
//! let change = &diff.changes()[0];
//! assert_eq!(change.kind, ChangeKind::Changed);
//! assert_eq!(change.path.to_string(), "spec.template.spec.containers[name=web].image");
//!
//! let managed = ManagedFields::from_object(&observed)?;
//! let owners = managed.owners(&change.path).ok_or("nobody owns it")?;
//! assert_eq!(owners.managers().collect::<Vec<_>>(), ["kubectl-edit"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Paths
//!
//! A [`Path`] is a vector of [`Segment`]s: a field, a keyed list element, a set element,
//! or (only for lists without a key) a position. It prints in a readable form
//! (`spec.template.spec.containers[name=web].image`) and as a JSON Pointer where one exists
//! ([`Path::to_json_pointer`], or [`Differ::json_pointer_in`] to resolve keys against a
//! document).
//!
//! # Bad input
//!
//! Non-object documents and absurd nesting are typed errors ([`DiffError`]). A keyed list
//! with an element that lacks its key, or with two elements under one key, is compared by
//! position instead and reported in [`Diff::fallbacks`]. Malformed `managedFields` are
//! [`ManagedFieldsError`]s naming the entry and the key. Nothing panics.
//!
//! # Crate features
//!
//! None.

mod apply;
mod argocd;
mod classify;
mod decide;
mod diff;
mod error;
mod jq;
mod managed;
mod normalize;
mod objects;
#[cfg(feature = "observe")]
mod observe;
mod options;
mod path;
mod pattern;
mod quantity;
mod rules;
mod secret;
mod three_way;

pub use argocd::IgnoreDifference;
pub use classify::{
    AssessError, Attribution, AttributionSource, ChangeEvent, Classifier, Finding, Incident,
    Observed, ObservedCheck, TargetInput, Violation,
};
pub use decide::{ClassCounts, DriftMemory, DriftSummary, FollowUp, TargetReport};
pub use diff::{Change, ChangeKind, Diff, Differ, Fallback, FallbackReason};
pub use error::{ApplyError, DiffError, Side};
pub use managed::{
    FieldSet, FieldsV1Error, FieldsV1Problem, ManagedFields, ManagedFieldsEntry,
    ManagedFieldsError, Operation, Ownership, OwnershipMatch,
};
pub use objects::{ObjectKey, ObjectSetDiff};
#[cfg(feature = "observe")]
pub use observe::{
    DesiredSource, LoopOptions, ObservationLoop, ObserveTarget, PassContext, PassSummary,
};
pub use options::{DEFAULT_MAX_DEPTH, DiffOptions, KeyField, LeafRule, ListRule};
pub use path::{ListKey, Path, Segment, SetValue};
pub use pattern::{FieldPattern, PatternError};
pub use rules::{
    Action, ActionsSpec, Condition, DriftClass, EscalateSpec, FindingKind, ManagersSpec,
    RuleProblem, RuleSpec, Rules, RulesError, RulesSpec,
};
pub use three_way::{Origin, ThreeWayChange, ThreeWayDiff};
