//! # fleet-drift
//!
//! Drift between what a target should run and what it runs: structured diffs of desired vs
//! observed documents (Kubernetes objects first of all), attribution of each changed field to
//! whoever made it, a class for every change, and a decision that never undoes what a person
//! fixed during an incident.
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
//! - [`Classifier::assess`] classifies every difference of a target as
//!   [`DriftClass::Acceptable`], [`Transient`](DriftClass::Transient),
//!   [`Suspicious`](DriftClass::Suspicious) or [`Dangerous`](DriftClass::Dangerous) by
//!   [`Rules`] that are data ([`Rules::DEFAULTS_YAML`] ships; Argo CD `ignoreDifferences` are
//!   accepted as written), names the rule that decided, and decides an [`Action`]: reconcile,
//!   alert, accept, hold, wait, or not checked for a target that was not observed.
//! - [`ObservationLoop`] (feature `observe`) observes a fleet through fleet-core's `Observe`
//!   with bounded concurrency, jitter and backoff, and streams [`TargetReport`]s and a
//!   [`DriftSummary`].
//!
//! Everything but the observation loop is pure: no IO, no clock (`now` is an argument), no
//! threads.
//!
//! # Classifying
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fleet_core::{Target, TargetId};
//! use fleet_drift::{Action, Classifier, DriftClass, DriftMemory, Incident, Observed, TargetInput};
//! use serde_json::json;
//!
//! let classifier = Classifier::kubernetes()?;
//! let target = Target::new(TargetId::new("aks-prod-westeurope-3")?, "cluster", "aks");
//! let desired = [json!({"apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "api", "namespace": "prod"},
//!     "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "api:7"}]}}}})];
//! // Someone ran `kubectl edit` on the image at 02:00 during an incident.
//! let mut observed = desired.clone();
//! observed[0]["spec"]["template"]["spec"]["containers"][0]["image"] = json!("api:7-hotfix");
//! observed[0]["metadata"]["managedFields"] = json!([{"manager": "kubectl-edit",
//!     "operation": "Update", "time": "2026-03-01T02:00:00Z", "fieldsType": "FieldsV1",
//!     "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
//!         "k:{\"name\":\"api\"}": {"f:image": {}}}}}}}}]);
//! let now = Utc.with_ymd_and_hms(2026, 3, 1, 2, 30, 0).unwrap();
//! let incident = Incident { id: "INC-7".into(), targets: vec![], opened_at: now - chrono::TimeDelta::hours(1), closed_at: None };
//!
//! let input = TargetInput::new(&target, now, &desired, Observed::Objects(&observed))
//!     .incidents(std::slice::from_ref(&incident));
//! let report = classifier.assess(&input, &mut DriftMemory::default())?;
//! let finding = &report.findings[0];
//! assert_eq!(finding.rule, "incident-fix");
//! assert_eq!(report.action, Action::Hold); // never reverted during the incident
//! assert_eq!(report.follow_ups[0].incident, "INC-7"); // adopt or revert when it closes
//!
//! // Outside the incident, the same edit is suspicious and reverted.
//! let input = TargetInput::new(&target, now, &desired, Observed::Objects(&observed));
//! let report = classifier.assess(&input, &mut DriftMemory::default())?;
//! assert_eq!(report.findings[0].class, DriftClass::Suspicious);
//! assert_eq!(report.action, Action::Reconcile);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
//! [`ManagedFieldsError`]s naming the entry and the key. Rule files report every problem
//! with where it is ([`RulesError`]). Nothing panics.
//!
//! # Crate features
//!
//! - `jq` (default): Argo CD `jqPathExpressions`, evaluated with jaq (the core jq language;
//!   no regex, math or date functions). Without it, rules that use them are refused when
//!   loaded, never silently ignored.
//! - `observe` (default): the async [`ObservationLoop`] (tokio `rt` and `time`). Without it
//!   the crate is pure.

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
    AdoptError, AssessError, Attribution, AttributionSource, ChangeEvent, Classifier, Finding,
    Incident, Observed, ObservedCheck, TargetInput, Violation,
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
