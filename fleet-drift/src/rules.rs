//! Classification rules as data: the serde format, its validation, and the compiled form.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use fleet_core::{ActorKind, Duration, Schema};
use fleet_selectors::{CompiledSelector, GlobPattern};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::argocd::IgnoreDifference;
use crate::pattern::FieldPattern;

/// How much a change matters. Ordered by severity: when several rules match a change, the most
/// severe class wins, so an ignore rule never hides a dangerous change.
///
/// Not `non_exhaustive`: decisions match it fully, and the four classes are the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftClass {
    /// Expected and harmless: an ignored path, a field a trusted controller owns (the HPA's
    /// `replicas`), an object opted out.
    Acceptable,
    /// Expected to settle by itself: a rollout in progress, the grace period after our own
    /// apply, a value still moving between observations.
    Transient,
    /// Nobody should have done this: a person or an unknown manager changed a field we own,
    /// outside an incident.
    Suspicious,
    /// Security-sensitive, whoever did it: privileged containers, host namespaces, added
    /// capabilities, RBAC rules, a removed NetworkPolicy, an image no longer the pinned digest,
    /// a changed service account, a policy violation.
    Dangerous,
}

impl fmt::Display for DriftClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Acceptable => "acceptable",
            Self::Transient => "transient",
            Self::Suspicious => "suspicious",
            Self::Dangerous => "dangerous",
        })
    }
}

/// What to do about drift. Ordered by urgency: a target's action is the most urgent of its
/// findings' actions.
///
/// Not `non_exhaustive`: a controller acting on decisions must handle every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing differs.
    InSync,
    /// Differences exist and need nothing (acceptable drift).
    Ignore,
    /// Look again later (transient drift).
    Wait,
    /// Adopt the observed value into the desired state, as a recorded action.
    Accept,
    /// Put the desired value back.
    Reconcile,
    /// Tell a person; change nothing.
    Alert,
    /// Change nothing until a person decides: a human changed it during an incident or under a
    /// hold. Adopt or revert once the incident closes.
    Hold,
    /// The target was not observed (unreachable, skipped): its state is unknown, which is not
    /// "in sync".
    NotChecked,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InSync => "in_sync",
            Self::Ignore => "ignore",
            Self::Wait => "wait",
            Self::Accept => "accept",
            Self::Reconcile => "reconcile",
            Self::Alert => "alert",
            Self::Hold => "hold",
            Self::NotChecked => "not_checked",
        })
    }
}

/// What a finding is about, as rules name it in `changes:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A field present only in the observed object.
    Added,
    /// A field present only in the desired object.
    Removed,
    /// A field whose value differs.
    Changed,
    /// A desired object that is not there (a NetworkPolicy deleted by hand).
    ObjectMissing,
    /// An object that is there but not desired.
    ObjectUnexpected,
    /// The injected policy check found the observed object in violation.
    PolicyViolation,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
            Self::ObjectMissing => "object missing",
            Self::ObjectUnexpected => "object unexpected",
            Self::PolicyViolation => "policy violation",
        })
    }
}

/// A condition on the circumstances of a change, named in a rule's `when:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The observed object's `metadata.generation` differs from its
    /// `status.observedGeneration`: its controller has not caught up yet.
    RolloutInProgress,
    /// Less than the grace period has passed since our own last apply to the target.
    GracePeriod,
    /// The observed value differs from the one seen at the previous observation: something is
    /// still moving it.
    Converging,
    /// We declare the field (it is in the desired object), or one of our managers owns it.
    OwnedByUs,
    /// An incident is active on the target.
    Incident,
    /// No incident is active on the target.
    NoIncident,
    /// The object has `managedFields` and no manager owns the path: the API server filled
    /// it in (a defaulted field).
    Unowned,
}

/// One rule in the serde form. Every condition given must hold (lists match if any member
/// does); a rule without conditions matches every change in its scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id; the classification of a change names it.
    pub id: String,
    /// The class a matching change gets.
    pub class: DriftClass,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The action for matching changes, instead of the class's default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// A target selector (text form): the rule applies only to targets it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
    /// API groups (globs; `""` is the core group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Object kinds (globs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Object names (globs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Object namespaces (globs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Field patterns ([`FieldPattern`]): the changed path or one of its ancestors matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Managers (globs): one of the `managedFields` managers owning the changed path matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managers: Vec<String>,
    /// Actor kinds the change is attributed to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<ActorKind>,
    /// What kind of finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FindingKind>,
    /// The observed value equals one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed: Vec<Value>,
    /// The desired value is a string matching one of these globs (`*@sha256:*`: a pinned
    /// image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desired_matches: Vec<String>,
    /// Annotations on the object (observed, else desired) whose values match these globs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Conditions on the circumstances, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    /// Conditions none of which may hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless: Vec<Condition>,
}

/// Which `managedFields` managers are which kind of actor (globs per kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagersSpec {
    /// People's tools (`kubectl-edit`, `kubectl-client-side-apply`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub human: Vec<String>,
    /// In-cluster controllers (`kube-controller-manager`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controller: Vec<String>,
    /// Automation acting for someone (Helm, CI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<String>,
}

/// When transient drift stops being transient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateSpec {
    /// After this many consecutive observations.
    pub observations: u32,
    /// Or after this long since first seen (`15m`, `1h`).
    pub after: String,
}

/// The default action per class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsSpec {
    /// Default `ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptable: Option<Action>,
    /// Default `wait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient: Option<Action>,
    /// Default `reconcile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicious: Option<Action>,
    /// Default `reconcile` (and every dangerous finding also raises an alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dangerous: Option<Action>,
}

/// A rules file: the serde form of [`Rules`].
///
/// ```yaml
/// ours: [fleet]                 # managers that apply our desired state
/// grace_period: 2m
/// escalate: {observations: 3, after: 15m}
/// rules:
///   - id: hpa-replicas
///     class: acceptable
///     kinds: [Deployment]
///     paths: [spec.replicas]
///     managers: [kube-controller-manager]
/// ignoreDifferences:            # Argo CD's, verbatim
///   - group: apps
///     kind: Deployment
///     jsonPointers: [/spec/replicas]
/// ```
///
/// Unless `defaults: false`, the shipped rules ([`Rules::DEFAULTS_YAML`]) come first: their
/// manager lists are extended, their settings overridden, and a rule with a shipped rule's id
/// replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSpec {
    /// Start from the shipped rules (default true).
    #[serde(default = "yes")]
    pub defaults: bool,
    /// Managers (globs) that apply our desired state: fields they own are ours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ours: Vec<String>,
    /// Which managers are people, controllers or services.
    #[serde(default)]
    pub managers: ManagersSpec,
    /// How long after our own apply drift is transient (`2m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
    /// When persistent transient drift escalates to suspicious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<EscalateSpec>,
    /// The class of a change no rule matches (default suspicious).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<DriftClass>,
    /// The default action per class.
    #[serde(default)]
    pub actions: ActionsSpec,
    /// The rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    /// Argo CD `ignoreDifferences` entries, accepted verbatim; each becomes acceptable rules
    /// named `argocd[i].jsonPointers`, `argocd[i].jqPathExpressions` and
    /// `argocd[i].managedFieldsManagers`.
    #[serde(
        default,
        rename = "ignoreDifferences",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_differences: Vec<IgnoreDifference>,
}

fn yes() -> bool {
    true
}

/// One problem in a rules file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// Where, as a field path (`rules[2].paths[0]`).
    pub path: String,
    /// The 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "{line}:{column}: ")?;
        }
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A rules file that could not be loaded, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} in the drift rules: {}", plural(.problems.len()), join(.problems))]
pub struct RulesError {
    /// Every problem, in file order.
    pub problems: Vec<RuleProblem>,
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}

fn join(problems: &[RuleProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A glob over names (managers, kinds, namespaces).
#[derive(Debug, Clone, Default)]
pub(crate) struct Globs(Vec<GlobPattern>);

impl Globs {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        self.0.iter().any(|g| g.is_match(s))
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: String,
    pub(crate) class: DriftClass,
    pub(crate) description: String,
    pub(crate) action: Option<Action>,
    pub(crate) targets: Option<CompiledSelector>,
    pub(crate) groups: Globs,
    pub(crate) kinds: Globs,
    pub(crate) names: Globs,
    pub(crate) namespaces: Globs,
    pub(crate) paths: Vec<FieldPattern>,
    pub(crate) managers: Globs,
    pub(crate) actors: Vec<ActorKind>,
    pub(crate) changes: Vec<FindingKind>,
    pub(crate) observed: Vec<Value>,
    pub(crate) desired_matches: Globs,
    pub(crate) annotations: Vec<(String, GlobPattern)>,
    pub(crate) when: Vec<Condition>,
    pub(crate) unless: Vec<Condition>,
    /// Argo CD JSON pointers: the change is at or under one of them.
    pub(crate) pointers: Vec<String>,
    /// Argo CD jq path expressions.
    pub(crate) jq: Vec<crate::jq::JqPaths>,
}

/// Compiled classification rules: what [`Classifier`](crate::Classifier) applies.
///
/// Load them with [`Rules::from_yaml`] (or [`Rules::from_spec`]); [`Rules::defaults`] are the
/// shipped ones.
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) rules: Vec<Rule>,
    pub(crate) ours: Globs,
    pub(crate) human: Globs,
    pub(crate) controller: Globs,
    pub(crate) service: Globs,
    pub(crate) grace_period: Option<Duration>,
    pub(crate) escalate_after_observations: u32,
    pub(crate) escalate_after: Option<Duration>,
    pub(crate) unmatched: DriftClass,
    pub(crate) actions: [Action; 4],
}

impl Rules {
    /// The shipped rules, as YAML. Read it to see what the defaults classify and why.
    pub const DEFAULTS_YAML: &'static str = include_str!("default_rules.yaml");

    /// The shipped rules alone.
    ///
    /// # Errors
    ///
    /// None in practice: the shipped file is checked by the crate's tests. The `Result` keeps
    /// a broken build from panicking.
    pub fn defaults() -> Result<Self, RulesError> {
        Self::from_yaml(Self::DEFAULTS_YAML, &Schema::default())
    }

    /// Loads rules from YAML (JSON is YAML too). Target selectors in `targets:` are compiled
    /// against `schema`.
    ///
    /// # Errors
    ///
    /// [`RulesError`] with every problem: unknown fields, wrong types (with line and
    /// column), duplicate ids, bad field patterns, globs, selectors, durations, jq
    /// expressions (or jq rules when the `jq` feature is off).
    pub fn from_yaml(text: &str, schema: &Schema) -> Result<Self, RulesError> {
        let spec = parse_spec(text)?;
        Self::from_spec(&spec, schema)
    }

    /// Compiles a rules specification.
    ///
    /// # Errors
    ///
    /// As [`Rules::from_yaml`], without positions.
    pub fn from_spec(spec: &RulesSpec, schema: &Schema) -> Result<Self, RulesError> {
        let mut problems = Vec::new();
        let base = if spec.defaults {
            Some(parse_spec(Self::DEFAULTS_YAML)?)
        } else {
            None
        };
        let (merged, labels) = merge(base, spec, &mut problems);
        let rules = compile(&merged, &labels, schema, &mut problems);
        if problems.is_empty() {
            Ok(rules)
        } else {
            Err(RulesError { problems })
        }
    }

    /// The rule ids, in evaluation order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// The description of a rule.
    #[must_use]
    pub fn description(&self, id: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.description.as_str())
    }

    /// The kind of actor a manager is, by the manager lists (`ours` counts as service);
    /// unknown when no list names it.
    #[must_use]
    pub fn actor_kind(&self, manager: &str) -> ActorKind {
        if self.human.matches(manager) {
            ActorKind::Human
        } else if self.ours.matches(manager) || self.service.matches(manager) {
            ActorKind::Service
        } else if self.controller.matches(manager) {
            ActorKind::Controller
        } else {
            ActorKind::Unknown
        }
    }

    /// Whether `manager` applies our desired state.
    #[must_use]
    pub fn is_ours(&self, manager: &str) -> bool {
        self.ours.matches(manager)
    }

    /// The default action for a class.
    #[must_use]
    pub fn default_action(&self, class: DriftClass) -> Action {
        self.actions[class as usize]
    }
}

pub(crate) fn parse_spec(text: &str) -> Result<RulesSpec, RulesError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, RulesSpec>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let position = inner.location().map(|l| (l.line(), l.column()));
        let mut message = inner.to_string();
        // serde_yaml_ng appends " at line N column M"; the position is kept separately.
        if let Some(cut) = message.find(" at line ") {
            message.truncate(cut);
        }
        RulesError {
            problems: vec![RuleProblem {
                path: if path == "." { String::new() } else { path },
                position,
                message,
            }],
        }
    })
}

/// The user's file over the shipped one. Rules keep the label of where they were written
/// (`rules[3]`, `defaults.rules[5]`), so problems point into the right file.
fn merge(
    base: Option<RulesSpec>,
    user: &RulesSpec,
    problems: &mut Vec<RuleProblem>,
) -> (RulesSpec, Vec<String>) {
    let mut seen = BTreeSet::new();
    for (i, r) in user.rules.iter().enumerate() {
        if !seen.insert(r.id.as_str()) {
            problems.push(RuleProblem {
                path: format!("rules[{i}].id"),
                position: None,
                message: format!("duplicate rule id `{}`", r.id),
            });
        }
    }
    let user_labels = (0..user.rules.len()).map(|i| format!("rules[{i}]"));
    let Some(mut out) = base else {
        return (user.clone(), user_labels.collect());
    };
    let mut labels: Vec<String> = (0..out.rules.len())
        .map(|i| format!("defaults.rules[{i}]"))
        .collect();
    out.ours.extend(user.ours.iter().cloned());
    out.managers
        .human
        .extend(user.managers.human.iter().cloned());
    out.managers
        .controller
        .extend(user.managers.controller.iter().cloned());
    out.managers
        .service
        .extend(user.managers.service.iter().cloned());
    if user.grace_period.is_some() {
        out.grace_period.clone_from(&user.grace_period);
    }
    if user.escalate.is_some() {
        out.escalate.clone_from(&user.escalate);
    }
    if user.unmatched.is_some() {
        out.unmatched = user.unmatched;
    }
    let a = &user.actions;
    for (slot, given) in [
        (&mut out.actions.acceptable, a.acceptable),
        (&mut out.actions.transient, a.transient),
        (&mut out.actions.suspicious, a.suspicious),
        (&mut out.actions.dangerous, a.dangerous),
    ] {
        if given.is_some() {
            *slot = given;
        }
    }
    let shipped = out.rules.len();
    for (rule, label) in user.rules.iter().zip(user_labels) {
        let replaces = out.rules.iter().take(shipped).position(|r| r.id == rule.id);
        match replaces {
            Some(i) => {
                if let (Some(slot), Some(l)) = (out.rules.get_mut(i), labels.get_mut(i)) {
                    *slot = rule.clone();
                    *l = label;
                }
            }
            None => {
                out.rules.push(rule.clone());
                labels.push(label);
            }
        }
    }
    out.ignore_differences
        .extend(user.ignore_differences.iter().cloned());
    (out, labels)
}

pub(crate) fn globs_of(list: &[String], at: &str, problems: &mut Vec<RuleProblem>) -> Globs {
    let mut out = Vec::new();
    for (i, g) in list.iter().enumerate() {
        match GlobPattern::new(g) {
            Ok(p) => out.push(p),
            Err(e) => problems.push(RuleProblem {
                path: format!("{at}[{i}]"),
                position: None,
                message: e.to_string(),
            }),
        }
    }
    Globs(out)
}

fn duration(text: &Option<String>, at: &str, problems: &mut Vec<RuleProblem>) -> Option<Duration> {
    let text = text.as_deref()?;
    match text.parse::<Duration>() {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(RuleProblem {
                path: at.to_owned(),
                position: None,
                message: e.to_string(),
            });
            None
        }
    }
}

fn compile(
    spec: &RulesSpec,
    labels: &[String],
    schema: &Schema,
    problems: &mut Vec<RuleProblem>,
) -> Rules {
    let mut rules = Vec::new();
    for (r, label) in spec.rules.iter().zip(labels) {
        let at = |field: &str| format!("{label}.{field}");
        if r.id.trim().is_empty() {
            problems.push(RuleProblem {
                path: at("id"),
                position: None,
                message: "the rule id is empty".to_owned(),
            });
        }
        let targets =
            r.targets
                .as_deref()
                .and_then(|t| match fleet_selectors::compile(t, schema) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        problems.push(RuleProblem {
                            path: at("targets"),
                            position: None,
                            message: e.to_string(),
                        });
                        None
                    }
                });
        let mut paths = Vec::new();
        for (j, p) in r.paths.iter().enumerate() {
            match FieldPattern::parse(p) {
                Ok(p) => paths.push(p),
                Err(e) => problems.push(RuleProblem {
                    path: format!("{label}.paths[{j}]"),
                    position: None,
                    message: e.to_string(),
                }),
            }
        }
        let mut annotations = Vec::new();
        for (key, value) in &r.annotations {
            match GlobPattern::new(value) {
                Ok(g) => annotations.push((key.clone(), g)),
                Err(e) => problems.push(RuleProblem {
                    path: format!("{label}.annotations.{key}"),
                    position: None,
                    message: e.to_string(),
                }),
            }
        }
        rules.push(Rule {
            id: r.id.clone(),
            class: r.class,
            description: r.description.clone(),
            action: r.action,
            targets,
            groups: globs_of(&r.groups, &at("groups"), problems),
            kinds: globs_of(&r.kinds, &at("kinds"), problems),
            names: globs_of(&r.names, &at("names"), problems),
            namespaces: globs_of(&r.namespaces, &at("namespaces"), problems),
            paths,
            managers: globs_of(&r.managers, &at("managers"), problems),
            actors: r.actors.clone(),
            changes: r.changes.clone(),
            observed: r.observed.clone(),
            desired_matches: globs_of(&r.desired_matches, &at("desired_matches"), problems),
            annotations,
            when: r.when.clone(),
            unless: r.unless.clone(),
            pointers: Vec::new(),
            jq: Vec::new(),
        });
    }
    for (i, entry) in spec.ignore_differences.iter().enumerate() {
        rules.extend(entry.to_rules(&format!("argocd[{i}]"), problems));
    }
    let grace_period = duration(&spec.grace_period, "grace_period", problems);
    let (escalate_after_observations, escalate_after) = match &spec.escalate {
        Some(e) => {
            if e.observations == 0 {
                problems.push(RuleProblem {
                    path: "escalate.observations".to_owned(),
                    position: None,
                    message: "must be at least 1".to_owned(),
                });
            }
            (
                e.observations,
                duration(&Some(e.after.clone()), "escalate.after", problems),
            )
        }
        None => (0, None),
    };
    let a = &spec.actions;
    Rules {
        rules,
        ours: globs_of(&spec.ours, "ours", problems),
        human: globs_of(&spec.managers.human, "managers.human", problems),
        controller: globs_of(&spec.managers.controller, "managers.controller", problems),
        service: globs_of(&spec.managers.service, "managers.service", problems),
        grace_period,
        escalate_after_observations,
        escalate_after,
        unmatched: spec.unmatched.unwrap_or(DriftClass::Suspicious),
        actions: [
            a.acceptable.unwrap_or(Action::Ignore),
            a.transient.unwrap_or(Action::Wait),
            a.suspicious.unwrap_or(Action::Reconcile),
            a.dangerous.unwrap_or(Action::Reconcile),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_load() {
        let rules = Rules::defaults().unwrap();
        assert!(rules.ids().any(|id| id == "privileged"));
        assert_eq!(rules.actor_kind("kubectl-edit"), ActorKind::Human);
        assert_eq!(
            rules.actor_kind("kube-controller-manager"),
            ActorKind::Controller
        );
        assert_eq!(rules.actor_kind("some-new-tool"), ActorKind::Unknown);
    }
}
