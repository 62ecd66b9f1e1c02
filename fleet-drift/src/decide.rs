//! Decisions: a target's action from its findings, memory across observations (escalation,
//! converging values), holds and follow-ups for incident fixes, audit events and fleet-wide
//! summaries.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use fleet_core::{Actor, AuditEvent, Hold, HoldScope, TargetId};
use fleet_selectors::TargetView;
use serde::Serialize;

use crate::classify::{Finding, Incident, actor_of, follow_up};
use crate::objects::ObjectKey;
use crate::path::Path;
use crate::rules::{Action, DriftClass, FindingKind, Rules};

/// The key of a finding across observations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MemoryKey {
    object: ObjectKey,
    path: String,
    kind: FindingKind,
}

impl MemoryKey {
    pub(crate) fn new(object: &ObjectKey, path: &Path, kind: FindingKind) -> Self {
        use std::fmt::Write as _;
        // one allocation, not one per doubling while the path is written
        let mut shown = String::with_capacity(96);
        let _ = write!(shown, "{path}");
        Self {
            object: object.clone(),
            path: shown,
            kind,
        }
    }
}

/// How a finding has been seen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sighting {
    pub(crate) first_seen: DateTime<Utc>,
    pub(crate) observations: u32,
    pub(crate) observed: Option<u64>,
}

impl Sighting {
    pub(crate) fn next(before: Option<&Self>, now: DateTime<Utc>, observed: Option<u64>) -> Self {
        match before {
            Some(b) => Self {
                first_seen: b.first_seen,
                observations: b.observations.saturating_add(1),
                observed,
            },
            None => Self {
                first_seen: now,
                observations: 1,
                observed,
            },
        }
    }
}

/// A hash of a value, to notice it moved between observations (in-process only: not
/// stable across releases, never stored).
pub(crate) fn value_hash(v: &serde_json::Value) -> u64 {
    // FNV-1a over a tagged walk: cheap, allocation-free, and enough to notice a change.
    fn bytes(h: &mut u64, b: &[u8]) {
        for &x in b {
            *h ^= u64::from(x);
            *h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn walk(v: &serde_json::Value, h: &mut u64) {
        use serde_json::Value;
        match v {
            Value::Null => bytes(h, b"n"),
            Value::Bool(b) => bytes(h, if *b { b"t" } else { b"f" }),
            Value::Number(n) => {
                bytes(h, b"#");
                if let Some(i) = n.as_i64() {
                    bytes(h, &i.to_le_bytes());
                } else if let Some(f) = n.as_f64() {
                    bytes(h, &f.to_bits().to_le_bytes());
                }
            }
            Value::String(s) => {
                bytes(h, b"s");
                bytes(h, &s.len().to_le_bytes());
                bytes(h, s.as_bytes());
            }
            Value::Array(items) => {
                bytes(h, b"[");
                bytes(h, &items.len().to_le_bytes());
                for i in items {
                    walk(i, h);
                }
            }
            Value::Object(map) => {
                bytes(h, b"{");
                bytes(h, &map.len().to_le_bytes());
                for (k, v) in map {
                    bytes(h, &k.len().to_le_bytes());
                    bytes(h, k.as_bytes());
                    walk(v, h);
                }
            }
        }
    }
    let mut h = 0xcbf2_9ce4_8422_2325;
    walk(v, &mut h);
    h
}

/// What earlier observations saw, per target: when each finding was first seen, how many
/// consecutive observations had it, and its last observed value. A finding that disappears is
/// forgotten, so drift that comes back starts over.
///
/// Pure data: keep one per fleet (or per shard of targets) and pass it to every
/// [`Classifier::assess`](crate::Classifier::assess).
#[derive(Debug, Clone, Default)]
pub struct DriftMemory {
    targets: HashMap<String, HashMap<MemoryKey, Sighting>>,
}

impl DriftMemory {
    pub(crate) fn target(&self, target: &str) -> Option<&HashMap<MemoryKey, Sighting>> {
        self.targets.get(target)
    }

    pub(crate) fn replace(&mut self, target: &str, seen: Vec<(MemoryKey, Sighting)>) {
        if seen.is_empty() {
            self.targets.remove(target);
        } else {
            self.targets
                .insert(target.to_owned(), seen.into_iter().collect());
        }
    }

    /// How many targets have drift on record.
    #[must_use]
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether no target has drift on record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Forgets a target (removed from the fleet).
    pub fn forget(&mut self, target: &str) {
        self.targets.remove(target);
    }
}

/// Why a transient finding escalates, if it does.
pub(crate) fn escalation(rules: &Rules, s: &Sighting, now: DateTime<Utc>) -> Option<String> {
    let n = rules.escalate_after_observations;
    if n > 0 && s.observations >= n {
        return Some(format!(
            "transient for {} observations since {}",
            s.observations,
            s.first_seen.to_rfc3339()
        ));
    }
    let after = rules.escalate_after?;
    (now - s.first_seen >= after.as_delta()).then(|| {
        format!(
            "transient since {}, over {after}",
            s.first_seen.to_rfc3339()
        )
    })
}

/// A change a person made during an incident: adopt it into the desired state or revert it
/// once the incident closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// The incident.
    pub incident: String,
    /// The object.
    pub object: ObjectKey,
    /// The field.
    pub path: Path,
    /// Who changed it.
    pub actor: Actor,
}

/// The assessment of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    /// The target.
    pub target: String,
    /// When it was observed.
    pub at: DateTime<Utc>,
    /// The target's action: the most urgent of its findings' ([`Action::InSync`] without
    /// findings, [`Action::NotChecked`] when it was not observed).
    pub action: Action,
    /// Whether a person should be told now (a dangerous finding, or an action of
    /// [`Action::Alert`]).
    pub alert: bool,
    /// The most severe class among the findings.
    pub worst: Option<DriftClass>,
    /// Every finding, sorted by object and path.
    pub findings: Vec<Finding>,
    /// Holds to place: for each person's change during an incident, scoped to its path, with
    /// the person as actor and the incident as reason.
    pub holds: Vec<Hold>,
    /// Adopt-or-revert follow-ups for when the incidents close.
    pub follow_ups: Vec<FollowUp>,
    /// Why the target was not checked, when it was not.
    pub not_checked: Option<String>,
}

impl TargetReport {
    pub(crate) fn not_checked(target: &str, at: DateTime<Utc>, reason: &str) -> Self {
        Self {
            target: target.to_owned(),
            at,
            action: Action::NotChecked,
            alert: false,
            worst: None,
            findings: Vec::new(),
            holds: Vec::new(),
            follow_ups: Vec::new(),
            not_checked: Some(reason.to_owned()),
        }
    }

    /// The decision as a core audit event (`drift.<action>`), one reason per finding, by
    /// `actor` (the drift controller).
    #[must_use]
    pub fn to_audit_event(&self, actor: &Actor) -> AuditEvent {
        let mut details = BTreeMap::new();
        if let Some(w) = self.worst {
            details.insert("worst".to_owned(), w.to_string());
        }
        details.insert("findings".to_owned(), self.findings.len().to_string());
        if let Some(why) = &self.not_checked {
            details.insert("not_checked".to_owned(), why.clone());
        }
        if self.alert {
            details.insert("alert".to_owned(), "true".to_owned());
        }
        AuditEvent {
            action_id: format!("drift:{}:{}", self.target, self.at.to_rfc3339()),
            at: self.at,
            actor: actor.clone(),
            identity: None,
            target: TargetId::new(&self.target).ok(),
            action: format!("drift.{}", self.action),
            decision: self.action.to_string(),
            reasons: self.findings.iter().map(ToString::to_string).collect(),
            before: None,
            after: None,
            details,
        }
    }
}

pub(crate) fn report(
    target: &str,
    at: DateTime<Utc>,
    mut findings: Vec<Finding>,
    incident: Option<&Incident>,
    existing: &[Hold],
    ttl: TimeDelta,
) -> TargetReport {
    findings.sort_by(|a, b| {
        (&a.object, &a.path, a.kind)
            .cmp(&(&b.object, &b.path, b.kind))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    let action = findings
        .iter()
        .map(|f| f.action)
        .max()
        .unwrap_or(Action::InSync);
    let worst = findings.iter().map(|f| f.class).max();
    let alert = findings
        .iter()
        .any(|f| f.class == DriftClass::Dangerous || f.action == Action::Alert);
    let mut holds = Vec::new();
    let mut follow_ups = Vec::new();
    if let Some(incident) = incident
        && let Ok(id) = TargetId::new(target)
    {
        for f in findings.iter().filter(|f| f.action == Action::Hold) {
            // Under an existing hold there is nothing to add; this is an incident fix.
            let already = existing
                .iter()
                .any(|h| h.target.as_str() == target && h.is_active(at));
            if already {
                continue;
            }
            follow_ups.push(follow_up(f, incident));
            holds.push(Hold {
                target: id.clone(),
                scope: f
                    .path
                    .to_json_pointer()
                    .map_or(HoldScope::Target, |p| HoldScope::Paths { paths: vec![p] }),
                actor: actor_of(&f.attribution),
                reason: format!(
                    "{}: {} {} changed during the incident; adopt or revert when it closes",
                    incident.id, f.object, f.path
                ),
                placed_at: at,
                expires_at: at + ttl,
            });
        }
    }
    TargetReport {
        target: target.to_owned(),
        at,
        action,
        alert,
        worst,
        findings,
        holds,
        follow_ups,
        not_checked: None,
    }
}

/// Counts per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClassCounts {
    /// Acceptable findings.
    pub acceptable: u64,
    /// Transient findings.
    pub transient: u64,
    /// Suspicious findings.
    pub suspicious: u64,
    /// Dangerous findings.
    pub dangerous: u64,
}

impl ClassCounts {
    fn add(&mut self, class: DriftClass) {
        let slot = match class {
            DriftClass::Acceptable => &mut self.acceptable,
            DriftClass::Transient => &mut self.transient,
            DriftClass::Suspicious => &mut self.suspicious,
            DriftClass::Dangerous => &mut self.dangerous,
        };
        *slot += 1;
    }

    /// All findings.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.acceptable + self.transient + self.suspicious + self.dangerous
    }
}

/// A fleet-wide summary: targets per action, findings per class, and findings per class
/// grouped by target properties (region, owner).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftSummary {
    group_by: Vec<String>,
    /// Targets per action.
    pub targets: BTreeMap<Action, u64>,
    /// Findings per class.
    pub findings: ClassCounts,
    /// Per grouping property, per value (`-` when the target lacks it): findings per class.
    pub groups: BTreeMap<String, BTreeMap<String, ClassCounts>>,
}

impl DriftSummary {
    /// A summary grouped by these target properties.
    #[must_use]
    pub fn new<'s>(group_by: impl IntoIterator<Item = &'s str>) -> Self {
        Self {
            group_by: group_by.into_iter().map(str::to_owned).collect(),
            ..Self::default()
        }
    }

    /// Adds one target's report.
    pub fn add(&mut self, report: &TargetReport, target: &dyn TargetView) {
        *self.targets.entry(report.action).or_default() += 1;
        for f in &report.findings {
            self.findings.add(f.class);
        }
        for name in &self.group_by {
            let value = target
                .property(name)
                .and_then(|v| match v {
                    fleet_core::ValueRef::String(s) => Some(s.to_owned()),
                    _ => None,
                })
                .or_else(|| target.label(name).map(str::to_owned))
                .unwrap_or_else(|| "-".to_owned());
            let counts = self
                .groups
                .entry(name.clone())
                .or_default()
                .entry(value)
                .or_default();
            for f in &report.findings {
                counts.add(f.class);
            }
        }
    }

    /// Targets counted.
    #[must_use]
    pub fn target_count(&self) -> u64 {
        self.targets.values().sum()
    }
}
