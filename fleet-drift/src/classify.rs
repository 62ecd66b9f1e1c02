//! Classification: every difference of a target gets evidence, a class, the rule that decided
//! it, and an action.

use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, ActorKind, Hold, HoldScope, TargetId};
use fleet_selectors::TargetView;
use serde::Serialize;
use serde_json::Value;

use crate::decide::{self, DriftMemory, FollowUp, TargetReport};
use crate::diff::{ChangeKind, Differ};
use crate::error::{DiffError, Side};
use crate::managed::{LazyManagedFields, ManagedFieldsError, Ownership};
use crate::objects::ObjectKey;
use crate::path::{Path, Segment};
use crate::rules::{Action, Condition, DriftClass, FindingKind, Rule, Rules};

/// An incident: while it is active, nothing a person changed on its targets is reverted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// The incident's id (`INC-4211`).
    pub id: String,
    /// The targets it covers; empty means every target.
    #[serde(default)]
    pub targets: Vec<TargetId>,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it closed, if it has.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// Whether the incident is open at `at` and covers `target`.
    #[must_use]
    pub fn covers(&self, target: &str, at: DateTime<Utc>) -> bool {
        self.opened_at <= at
            && self.closed_at.is_none_or(|c| at < c)
            && (self.targets.is_empty() || self.targets.iter().any(|t| t.as_str() == target))
    }
}

/// A change reported by a substrate or an audit log: who touched an object, and when. It
/// names the person behind a `kubectl` manager, or attributes objects without
/// `managedFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeEvent {
    /// The object; `None` for any object of the target.
    #[serde(default)]
    pub object: Option<ObjectKey>,
    /// The field (its readable [`Path`] form, `spec.replicas`); `None` for the whole object.
    #[serde(default)]
    pub path: Option<String>,
    /// Who.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// Where the event came from (`cloudtrail`, `k8s-audit`).
    #[serde(default)]
    pub source: String,
}

/// A policy violation found in an observed object by an injected [`ObservedCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The violated rule (`policy/rule`).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

/// Asks whether observed state violates policy, without fleet-drift depending on a policy
/// engine (fleet-policy, OPA, Kyverno reports).
pub trait ObservedCheck: Send + Sync {
    /// The violations of one observed object on one target.
    fn check(&self, target: &dyn TargetView, object: &Value) -> Vec<Violation>;
}

/// Where an attribution came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionSource {
    /// The object's `metadata.managedFields`.
    ManagedFields,
    /// A [`ChangeEvent`].
    Event,
    /// The object has `managedFields` and nobody owns the path (the API server defaulted it).
    Unowned,
    /// No evidence.
    None,
}

/// Who made a change, as far as the evidence tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The kind of actor.
    pub actor: ActorKind,
    /// The manager or actor name, when known.
    pub who: Option<String>,
    /// When, when known.
    pub at: Option<DateTime<Utc>>,
    /// The evidence.
    pub source: AttributionSource,
    /// Every manager owning the path (empty without `managedFields` evidence).
    pub managers: Vec<String>,
}

impl fmt::Display for Attribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.who, self.source) {
            (Some(who), _) => write!(f, "{who} ({})", self.actor),
            (None, AttributionSource::Unowned) => f.write_str("no manager (server default)"),
            (None, _) => write!(f, "{}", self.actor),
        }
    }
}

/// One classified difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The object.
    pub object: ObjectKey,
    /// What kind of difference.
    pub kind: FindingKind,
    /// Where in the object (the root for whole-object findings).
    pub path: Path,
    /// The desired value, normalised (`None` when absent).
    pub desired: Option<Value>,
    /// The observed value, normalised (`None` when absent).
    pub observed: Option<Value>,
    /// Who did it.
    pub attribution: Attribution,
    /// The class.
    pub class: DriftClass,
    /// The rule that decided the class (`unmatched` when none did; `escalated:<rule>` when
    /// persistent transient drift escalated).
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// What to do about it.
    pub action: Action,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "-".to_owned(), fleet_core::canonical_json)
        };
        write!(
            f,
            "{} [{}] {} {}",
            self.class, self.rule, self.object, self.kind
        )?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        if matches!(
            self.kind,
            FindingKind::Added | FindingKind::Removed | FindingKind::Changed
        ) {
            write!(f, ": {} -> {}", show(&self.desired), show(&self.observed))?;
        }
        write!(f, " by {} => {}", self.attribution, self.action)
    }
}

/// What was observed on a target.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// The objects the target runs (those in our scope).
    Objects(&'a [Value]),
    /// The target was not observed (unreachable, skipped, backing off), and why.
    NotChecked(&'a str),
}

/// Everything known about one target at one observation. Built with [`TargetInput::new`] and
/// the builder methods; what is not given is absent.
#[derive(Clone, Copy)]
pub struct TargetInput<'a> {
    target: &'a dyn TargetView,
    now: DateTime<Utc>,
    desired: &'a [Value],
    observed: Observed<'a>,
    events: &'a [ChangeEvent],
    holds: &'a [Hold],
    incidents: &'a [Incident],
    last_applied_at: Option<DateTime<Utc>>,
    check: Option<&'a dyn ObservedCheck>,
}

impl fmt::Debug for TargetInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetInput")
            .field("target", &self.target.id())
            .field("now", &self.now)
            .field("desired", &self.desired.len())
            .field("observed", &self.observed)
            .finish_non_exhaustive()
    }
}

impl<'a> TargetInput<'a> {
    /// The target, the time of the observation, and what should run and what runs.
    #[must_use]
    pub fn new(
        target: &'a dyn TargetView,
        now: DateTime<Utc>,
        desired: &'a [Value],
        observed: Observed<'a>,
    ) -> Self {
        Self {
            target,
            now,
            desired,
            observed,
            events: &[],
            holds: &[],
            incidents: &[],
            last_applied_at: None,
            check: None,
        }
    }

    /// Change events for the target.
    #[must_use]
    pub fn events(mut self, events: &'a [ChangeEvent]) -> Self {
        self.events = events;
        self
    }

    /// Holds (those for other targets are skipped).
    #[must_use]
    pub fn holds(mut self, holds: &'a [Hold]) -> Self {
        self.holds = holds;
        self
    }

    /// Incidents (those not covering the target are skipped).
    #[must_use]
    pub fn incidents(mut self, incidents: &'a [Incident]) -> Self {
        self.incidents = incidents;
        self
    }

    /// When we last applied to the target (for the grace period).
    #[must_use]
    pub fn last_applied_at(mut self, at: DateTime<Utc>) -> Self {
        self.last_applied_at = Some(at);
        self
    }

    /// The policy check to run on every observed object.
    #[must_use]
    pub fn check(mut self, check: &'a dyn ObservedCheck) -> Self {
        self.check = Some(check);
        self
    }
}

/// Why a target could not be assessed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssessError {
    /// The documents could not be compared.
    #[error("target `{target}`: {source}")]
    Diff {
        /// The target.
        target: String,
        /// What went wrong.
        #[source]
        source: DiffError,
    },
    /// An observed object's `metadata.managedFields` is malformed.
    #[error("target `{target}`, object `{object}`: {source}")]
    ManagedFields {
        /// The target.
        target: String,
        /// The object.
        object: String,
        /// What went wrong.
        #[source]
        source: Box<ManagedFieldsError>,
    },
}

/// Classifies drift: diffs a target's objects, attributes every change, classifies it by the
/// [`Rules`], and decides what to do.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use fleet_core::{Target, TargetId};
/// use fleet_drift::{Action, Classifier, DriftClass, DriftMemory, Observed, TargetInput};
/// use serde_json::json;
///
/// let classifier = Classifier::kubernetes()?;
/// let target = Target::new(TargetId::new("eks-prod-eu-1")?, "cluster", "eks");
/// let desired = [json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "web", "namespace": "prod"},
///     "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:1.4"}]}}}})];
/// let mut observed = desired.clone();
/// observed[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
///     json!({"privileged": true});
///
/// let now = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
/// let mut memory = DriftMemory::default();
/// let report = classifier.assess(
///     &TargetInput::new(&target, now, &desired, Observed::Objects(&observed)),
///     &mut memory,
/// )?;
/// assert_eq!(report.findings[0].class, DriftClass::Dangerous);
/// assert_eq!(report.findings[0].rule, "privileged");
/// assert_eq!(report.action, Action::Reconcile);
/// assert!(report.alert);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Classifier {
    differ: Differ,
    rules: Rules,
    hold_ttl: chrono::TimeDelta,
}

impl Classifier {
    /// A classifier with a differ and rules.
    #[must_use]
    pub fn new(differ: Differ, rules: Rules) -> Self {
        Self {
            differ,
            rules,
            hold_ttl: chrono::TimeDelta::hours(24),
        }
    }

    /// Kubernetes diff options and the shipped rules.
    ///
    /// # Errors
    ///
    /// As [`Rules::defaults`].
    pub fn kubernetes() -> Result<Self, crate::RulesError> {
        Ok(Self::new(Differ::kubernetes(), Rules::defaults()?))
    }

    /// How long holds placed for incident fixes last (default 24 hours); they are
    /// follow-ups for a person, renewed while the incident stays open.
    #[must_use]
    pub fn hold_ttl(mut self, ttl: chrono::TimeDelta) -> Self {
        self.hold_ttl = ttl;
        self
    }

    /// The rules.
    #[must_use]
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The differ.
    #[must_use]
    pub fn differ(&self) -> &Differ {
        &self.differ
    }

    /// Assesses one target: every finding classified, the target's action decided.
    /// `memory` carries what earlier observations saw (for converging values and escalation);
    /// keep one per fleet and pass it to every call.
    ///
    /// # Errors
    ///
    /// [`AssessError`] when a document lacks its identity, two objects share one, a
    /// document is not an object or nests too deep, or `managedFields` is malformed. The
    /// memory is left as it was.
    pub fn assess(
        &self,
        input: &TargetInput<'_>,
        memory: &mut DriftMemory,
    ) -> Result<TargetReport, AssessError> {
        let target = input.target.id();
        let observed = match input.observed {
            Observed::Objects(o) => o,
            Observed::NotChecked(reason) => {
                return Ok(TargetReport::not_checked(target, input.now, reason));
            }
        };
        let diff_err = |source| AssessError::Diff {
            target: target.to_owned(),
            source,
        };
        let desired = index(input.desired, Side::Desired).map_err(diff_err)?;
        let live = index(observed, Side::Observed).map_err(diff_err)?;
        let incident = input.incidents.iter().find(|i| i.covers(target, input.now));
        let ctx = Ctx {
            differ: &self.differ,
            rules: &self.rules,
            input,
            incident,
            in_grace: match (input.last_applied_at, self.rules.grace_period) {
                (Some(at), Some(grace)) => at <= input.now && input.now < at + grace.as_delta(),
                _ => false,
            },
        };
        let mut raw: Vec<Raw<'_>> = Vec::new();
        for (key, want) in desired.iter() {
            match live.get(key) {
                Some(have) => {
                    let diff = self.differ.diff(want, have).map_err(diff_err)?;
                    if diff.is_empty() {
                        continue;
                    }
                    let managed_err = |source| AssessError::ManagedFields {
                        target: target.to_owned(),
                        object: key.to_string(),
                        source: Box::new(source),
                    };
                    let managed = LazyManagedFields::from_object(have).map_err(managed_err)?;
                    for change in diff.into_changes() {
                        let kind = match change.kind {
                            ChangeKind::Added => FindingKind::Added,
                            ChangeKind::Removed => FindingKind::Removed,
                            ChangeKind::Changed => FindingKind::Changed,
                        };
                        // A subtree added or removed whole is judged field by field, so a
                        // rule on `securityContext.privileged` sees an added
                        // `securityContext: {privileged: true}`.
                        let mut leaves = Vec::new();
                        match kind {
                            FindingKind::Added => {
                                explode(change.path, change.observed, &mut leaves, |v| (None, v));
                            }
                            FindingKind::Removed => {
                                explode(change.path, change.desired, &mut leaves, |v| (v, None));
                            }
                            _ => leaves.push((change.path, (change.desired, change.observed))),
                        }
                        for (path, (desired, observed)) in leaves {
                            let attribution = ctx
                                .attribute(key, &path, managed.as_ref())
                                .map_err(managed_err)?;
                            raw.push(Raw {
                                object: key,
                                desired_doc: Some(want),
                                observed_doc: Some(have),
                                kind,
                                path,
                                desired,
                                observed,
                                attribution,
                                violation: None,
                            });
                        }
                    }
                }
                None => raw.push(Raw {
                    object: key,
                    desired_doc: Some(want),
                    observed_doc: None,
                    kind: FindingKind::ObjectMissing,
                    path: Path::root(),
                    desired: None,
                    observed: None,
                    attribution: ctx.unattributed(key),
                    violation: None,
                }),
            }
        }
        for (key, have) in live.iter() {
            if desired.get(key).is_none() {
                raw.push(Raw {
                    object: key,
                    desired_doc: None,
                    observed_doc: Some(have),
                    kind: FindingKind::ObjectUnexpected,
                    path: Path::root(),
                    desired: None,
                    observed: None,
                    attribution: ctx.unattributed(key),
                    violation: None,
                });
            }
            if let Some(check) = input.check {
                for v in check.check(input.target, have) {
                    raw.push(Raw {
                        object: key,
                        desired_doc: desired.get(key),
                        observed_doc: Some(have),
                        kind: FindingKind::PolicyViolation,
                        path: Path::root(),
                        desired: None,
                        observed: None,
                        attribution: ctx.unattributed(key),
                        violation: Some(v),
                    });
                }
            }
        }

        let previous = memory.target(target);
        let mut findings = Vec::with_capacity(raw.len());
        let mut seen = Vec::with_capacity(raw.len());
        for r in raw {
            let mkey = decide::MemoryKey::new(r.object, &r.path, r.kind);
            let digest = r.observed.as_ref().map(decide::value_hash);
            let before = previous.and_then(|p| p.get(&mkey));
            let converging = before.is_some_and(|b| b.observed != digest);
            let (rule, class) = ctx.classify(&r, converging);
            let mut finding = Finding {
                object: r.object.clone(),
                kind: r.kind,
                path: r.path,
                desired: r.desired,
                observed: r.observed,
                attribution: r.attribution,
                class,
                rule: rule.map_or_else(|| "unmatched".to_owned(), |r| r.id.clone()),
                reason: match (&r.violation, rule) {
                    (Some(v), _) => format!("{}: {}", v.rule, v.message),
                    (None, Some(rule)) => rule.description.clone(),
                    (None, None) => "no rule matched this change".to_owned(),
                },
                action: Action::Ignore,
            };
            let base = rule
                .and_then(|r| r.action)
                .unwrap_or_else(|| self.rules.default_action(class));
            let sighting = decide::Sighting::next(before, input.now, digest);
            if finding.class == DriftClass::Transient
                && base != Action::Hold
                && let Some(why) = decide::escalation(&self.rules, &sighting, input.now)
            {
                finding.reason = format!("{} ({why})", finding.reason);
                finding.rule = format!("escalated:{}", finding.rule);
                finding.class = DriftClass::Suspicious;
            }
            let base = if finding.rule.starts_with("escalated:") {
                self.rules.default_action(DriftClass::Suspicious)
            } else {
                base
            };
            finding.action = ctx.gate(&finding, base);
            seen.push((mkey, sighting));
            findings.push(finding);
        }
        memory.replace(target, seen);
        Ok(decide::report(
            target,
            input.now,
            findings,
            incident,
            input.holds,
            self.hold_ttl,
        ))
    }
}

/// Why accepted drift could not be adopted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// The documents could not be compared.
    #[error(transparent)]
    Diff(#[from] DiffError),
    /// The accepted changes did not apply to the desired document.
    #[error(transparent)]
    Apply(#[from] crate::error::ApplyError),
}

impl Classifier {
    /// Adopts accepted drift: the desired object with the observed values of `findings`
    /// whose action is [`Action::Accept`] and whose object is this one, in normal form. Store
    /// it as the new desired state and record the report's audit event with it.
    ///
    /// # Errors
    ///
    /// [`AdoptError`] when the documents cannot be compared or the changes do not fit.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use fleet_core::{Schema, Target, TargetId};
    /// use fleet_drift::{Action, Classifier, Differ, DriftMemory, Observed, Rules, TargetInput};
    /// use serde_json::json;
    ///
    /// // Teams that patch CVEs themselves: adopt a newer image instead of reverting it. (The
    /// // most severe matching rule wins, so this file starts from no shipped rules; on top of
    /// // them, replace `manual-change` and `unknown-change` by id instead.)
    /// let rules = Rules::from_yaml(
    ///     "defaults: false\nrules:\n  - id: customer-patch\n    class: acceptable\n    action: accept\n    paths: ['**.containers.image']\n",
    ///     &Schema::new(),
    /// )?;
    /// let classifier = Classifier::new(Differ::kubernetes(), rules);
    /// let target = Target::new(TargetId::new("site-7")?, "cluster", "k3s");
    /// let desired = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ///     "spec": {"containers": [{"name": "app", "image": "app:1.0"}]}});
    /// let mut observed = desired.clone();
    /// observed["spec"]["containers"][0]["image"] = json!("app:1.0.1");
    /// let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let report = classifier.assess(
    ///     &TargetInput::new(&target, now, std::slice::from_ref(&desired), Observed::Objects(std::slice::from_ref(&observed))),
    ///     &mut DriftMemory::default(),
    /// )?;
    /// assert_eq!(report.action, Action::Accept);
    /// let adopted = classifier.adopt(&desired, &observed, &report.findings)?;
    /// assert_eq!(adopted["spec"]["containers"][0]["image"], "app:1.0.1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adopt(
        &self,
        desired: &Value,
        observed: &Value,
        findings: &[Finding],
    ) -> Result<Value, AdoptError> {
        let key = ObjectKey::of(desired, Side::Desired, 0)?;
        let accepted: Vec<&Path> = findings
            .iter()
            .filter(|f| f.action == Action::Accept && f.object == key)
            .map(|f| &f.path)
            .collect();
        // Findings of a subtree added or removed whole are its leaves: adopt the change that
        // holds them.
        let diff = self.differ.diff(desired, observed)?;
        let keep: Vec<_> = diff
            .into_changes()
            .into_iter()
            .filter(|c| accepted.iter().any(|p| c.path.is_prefix_of(p)))
            .collect();
        Ok(self
            .differ
            .apply(desired, &crate::diff::Diff::from_changes(keep))?)
    }
}

/// A difference before classification.
struct Raw<'v> {
    object: &'v ObjectKey,
    desired_doc: Option<&'v Value>,
    observed_doc: Option<&'v Value>,
    kind: FindingKind,
    path: Path,
    desired: Option<Value>,
    observed: Option<Value>,
    attribution: Attribution,
    violation: Option<Violation>,
}

struct Ctx<'c, 'a> {
    differ: &'c Differ,
    rules: &'c Rules,
    input: &'c TargetInput<'a>,
    incident: Option<&'c Incident>,
    in_grace: bool,
}

/// A target's objects by identity, sorted (a sorted list, not a map: a target has a handful of
/// objects, and one allocation beats a tree node per side).
struct ObjectIndex<'v>(Vec<(ObjectKey, &'v Value)>);

impl<'v> ObjectIndex<'v> {
    fn get(&self, key: &ObjectKey) -> Option<&'v Value> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| *v)
    }

    fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &'v Value)> + '_ {
        self.0.iter().map(|(k, v)| (k, *v))
    }
}

fn index(objects: &[Value], side: Side) -> Result<ObjectIndex<'_>, DiffError> {
    let mut out = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        out.push((ObjectKey::of(object, side, i)?, object));
    }
    out.sort_by(|x, y| x.0.cmp(&y.0));
    if let Some(w) = out
        .windows(2)
        .find(|w| w.first().map(|x| &x.0) == w.get(1).map(|y| &y.0))
        && let Some((key, _)) = w.first()
    {
        return Err(DiffError::DuplicateObject {
            side,
            key: key.to_string(),
        });
    }
    Ok(ObjectIndex(out))
}

/// A value on the desired side, the observed side, or both.
type Sides = (Option<Value>, Option<Value>);
type Leaf = (Path, Sides);

/// The leaves of a subtree present on one side only (objects are walked; lists and scalars
/// are leaves); `place` puts a leaf's value on its side.
fn explode(
    path: Path,
    value: Option<Value>,
    out: &mut Vec<Leaf>,
    place: fn(Option<Value>) -> Sides,
) {
    fn walk(path: Path, value: Value, out: &mut Vec<(Path, Value)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                // An element of a keyed list: its key fields are in the path already, so
                // only its other fields are leaves (an element that is all key is one).
                let is_key = |k: &str| match path.segments().last() {
                    Some(Segment::Key(key)) => key.get(k).is_some(),
                    _ => false,
                };
                if map.keys().all(|k| is_key(k)) {
                    out.push((path, Value::Object(map)));
                    return;
                }
                for (k, v) in map {
                    if !is_key(&k) {
                        walk(path.join(Segment::field(&k)), v, out);
                    }
                }
            }
            other => out.push((path, other)),
        }
    }
    let Some(value) = value else {
        out.push((path, place(None)));
        return;
    };
    let mut flat = Vec::new();
    walk(path, value, &mut flat);
    out.extend(flat.into_iter().map(|(p, v)| (p, place(Some(v)))));
}

fn field_names(path: &Path) -> Vec<&str> {
    path.segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Field(name) => Some(&**name),
            _ => None,
        })
        .collect()
}

impl Ctx<'_, '_> {
    fn attribute(
        &self,
        object: &ObjectKey,
        path: &Path,
        managed: Option<&LazyManagedFields<'_>>,
    ) -> Result<Attribution, ManagedFieldsError> {
        let owners: Option<Ownership<'_>> = match managed {
            Some(m) => m.owners(path)?,
            None => None,
        };
        let mut out = match (&owners, managed) {
            (Some(o), _) => {
                let latest = o.latest();
                Attribution {
                    actor: latest.map_or(ActorKind::Unknown, |e| self.rules.actor_kind(&e.manager)),
                    who: latest.map(|e| e.manager.clone()),
                    at: latest.and_then(|e| e.time),
                    source: AttributionSource::ManagedFields,
                    managers: o.managers().map(str::to_owned).collect(),
                }
            }
            (None, Some(_)) => Attribution {
                actor: ActorKind::Unknown,
                who: None,
                at: None,
                source: AttributionSource::Unowned,
                managers: Vec::new(),
            },
            (None, None) => Attribution {
                actor: ActorKind::Unknown,
                who: None,
                at: None,
                source: AttributionSource::None,
                managers: Vec::new(),
            },
        };
        self.with_events(object, path, &mut out);
        Ok(out)
    }

    /// Attribution of a whole-object finding: events only.
    fn unattributed(&self, object: &ObjectKey) -> Attribution {
        let mut out = Attribution {
            actor: ActorKind::Unknown,
            who: None,
            at: None,
            source: AttributionSource::None,
            managers: Vec::new(),
        };
        self.with_events(object, &Path::root(), &mut out);
        out
    }

    /// An event at least as recent as the managedFields time names the actor better (the
    /// person behind `kubectl`, an actor for objects without managedFields).
    fn with_events(&self, object: &ObjectKey, path: &Path, out: &mut Attribution) {
        if self.input.events.is_empty() {
            return;
        }
        let shown = path.to_string();
        let covers = |p: &str| {
            p.is_empty()
                || shown
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        };
        let event = self
            .input
            .events
            .iter()
            .filter(|e| e.object.as_ref().is_none_or(|o| o == object))
            .filter(|e| e.path.as_deref().is_none_or(covers))
            .filter(|e| e.at <= self.input.now)
            .max_by_key(|e| e.at);
        if let Some(e) = event
            && out.at.is_none_or(|t| e.at >= t)
        {
            out.actor = e.actor.kind;
            out.who = Some(e.actor.name.clone());
            out.at = Some(e.at);
            out.source = AttributionSource::Event;
        }
    }

    fn holds(&self, c: Condition, r: &Raw<'_>, converging: bool) -> bool {
        match c {
            Condition::RolloutInProgress => r.observed_doc.is_some_and(rollout_in_progress),
            Condition::GracePeriod => self.in_grace,
            Condition::Converging => converging,
            Condition::OwnedByUs => {
                matches!(
                    r.kind,
                    FindingKind::Changed | FindingKind::Removed | FindingKind::ObjectMissing
                ) || r.attribution.managers.iter().any(|m| self.rules.is_ours(m))
            }
            Condition::Incident => self.incident.is_some(),
            Condition::NoIncident => self.incident.is_none(),
            Condition::Unowned => r.attribution.source == AttributionSource::Unowned,
        }
    }

    fn rule_matches(&self, rule: &Rule, r: &Raw<'_>, names: &[&str], converging: bool) -> bool {
        let o = r.object;
        if !rule.groups.is_empty() && !rule.groups.matches(&o.group) {
            return false;
        }
        if !rule.kinds.is_empty() && !rule.kinds.matches(&o.kind) {
            return false;
        }
        if !rule.names.is_empty() && !rule.names.matches(&o.name) {
            return false;
        }
        if !rule.namespaces.is_empty()
            && !rule
                .namespaces
                .matches(o.namespace.as_deref().unwrap_or(""))
        {
            return false;
        }
        if !rule.changes.is_empty() && !rule.changes.contains(&r.kind) {
            return false;
        }
        if !rule.paths.is_empty() {
            let kind = Some(o.kind.as_str());
            // The path or one of its ancestors: a rule on `securityContext.capabilities.add`
            // covers an element added to it.
            let hit = rule.paths.iter().any(|p| {
                // A pattern ending in a name can only match a prefix ending in it.
                match p.last_name() {
                    Some(last) => names.iter().enumerate().any(|(i, n)| {
                        *n == last && p.matches(kind, names.get(..=i).unwrap_or_default())
                    }),
                    None => (0..=names.len())
                        .any(|n| p.matches(kind, names.get(..n).unwrap_or_default())),
                }
            });
            if !hit {
                return false;
            }
        }
        if !rule.managers.is_empty()
            && !r
                .attribution
                .managers
                .iter()
                .any(|m| rule.managers.matches(m))
        {
            return false;
        }
        if !rule.actors.is_empty() && !rule.actors.contains(&r.attribution.actor) {
            return false;
        }
        if !rule.observed.is_empty()
            && !r
                .observed
                .as_ref()
                .is_some_and(|v| rule.observed.contains(v))
        {
            return false;
        }
        if !rule.desired_matches.is_empty()
            && !r
                .desired
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|s| rule.desired_matches.matches(s))
        {
            return false;
        }
        if !rule.annotations.is_empty() {
            let doc = r.observed_doc.or(r.desired_doc);
            let ok = rule.annotations.iter().all(|(k, g)| {
                doc.and_then(|d| d.get("metadata")?.get("annotations"))
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_str)
                    .is_some_and(|v| g.is_match(v))
            });
            if !ok {
                return false;
            }
        }
        if !rule.when.iter().all(|&c| self.holds(c, r, converging)) {
            return false;
        }
        if rule.unless.iter().any(|&c| self.holds(c, r, converging)) {
            return false;
        }
        if (!rule.pointers.is_empty() || !rule.jq.is_empty()) && !self.under_pointers(rule, r) {
            return false;
        }
        if let Some(selector) = &rule.targets
            && !selector.matches(self.input.target, self.input.now)
        {
            return false;
        }
        true
    }

    /// Argo CD semantics: the change is at or under one of the rule's pointers (JSON pointers
    /// as given, or those a jq expression selects), resolved in either document.
    fn under_pointers(&self, rule: &Rule, r: &Raw<'_>) -> bool {
        for doc in [r.observed_doc, r.desired_doc].into_iter().flatten() {
            let Some(at) = self.differ.json_pointer_in(&r.path, doc) else {
                continue;
            };
            let under = |p: &str| p.is_empty() || at == p || at.starts_with(&format!("{p}/"));
            if rule.pointers.iter().any(|p| under(p)) {
                return true;
            }
            for jq in &rule.jq {
                if jq.pointers(doc).iter().any(|p| under(p)) {
                    return true;
                }
            }
        }
        false
    }

    /// The most severe matching rule; ties go to the rule listed first.
    fn classify(&self, r: &Raw<'_>, converging: bool) -> (Option<&Rule>, DriftClass) {
        let names = field_names(&r.path);
        let mut best: Option<&Rule> = None;
        for rule in &self.rules.rules {
            if best.is_some_and(|b| b.class >= rule.class) {
                continue;
            }
            if self.rule_matches(rule, r, &names, converging) {
                best = Some(rule);
            }
        }
        match best {
            Some(rule) => (Some(rule), rule.class),
            None => (None, self.rules.unmatched),
        }
    }

    /// The action, after holds and incidents: nothing held is changed, nothing a person did
    /// during an incident is reverted, and nothing is changed automatically during one.
    fn gate(&self, f: &Finding, base: Action) -> Action {
        let effect = matches!(base, Action::Reconcile | Action::Accept);
        if base == Action::Hold {
            return Action::Hold;
        }
        if !effect {
            return base;
        }
        let pointer = if self.input.holds.is_empty() {
            None
        } else {
            f.path.to_json_pointer()
        };
        let held = self.input.holds.iter().any(|h| {
            h.target.as_str() == self.input.target.id()
                && h.is_active(self.input.now)
                && hold_covers(&h.scope, pointer.as_deref())
        });
        if held {
            return Action::Hold;
        }
        match self.incident {
            Some(_) if matches!(f.attribution.actor, ActorKind::Human | ActorKind::Unknown) => {
                Action::Hold
            }
            Some(_) => Action::Alert,
            None => base,
        }
    }
}

fn hold_covers(scope: &HoldScope, pointer: Option<&str>) -> bool {
    match scope {
        HoldScope::Paths { paths } => pointer.is_none_or(|at| {
            paths
                .iter()
                .any(|p| at == p || at.starts_with(&format!("{p}/")))
        }),
        // The whole target, a workload on it, or a scope this version does not know: held.
        _ => true,
    }
}

/// `metadata.generation` ahead of `status.observedGeneration`.
fn rollout_in_progress(doc: &Value) -> bool {
    // `get` and not `pointer`, which allocates to unescape each segment
    let generation = doc
        .get("metadata")
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64);
    let observed = doc
        .get("status")
        .and_then(|s| s.get("observedGeneration"))
        .and_then(Value::as_i64);
    matches!((generation, observed), (Some(g), Some(o)) if g != o)
}

/// For follow-ups and holds placed from findings.
pub(crate) fn actor_of(a: &Attribution) -> Actor {
    Actor::new(
        a.actor,
        a.who.clone().unwrap_or_else(|| "unknown".to_owned()),
    )
}

pub(crate) fn follow_up(f: &Finding, incident: &Incident) -> FollowUp {
    FollowUp {
        incident: incident.id.clone(),
        object: f.object.clone(),
        path: f.path.clone(),
        actor: actor_of(&f.attribution),
    }
}
