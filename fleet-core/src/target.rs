//! Targets: clusters, sites and pools as data.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::actor::Actor;
use crate::digest::Document;
use crate::id::{NativeId, TargetId};
use crate::properties::{Properties, PropertiesSeed};
use crate::schema::Schema;
use crate::value::Value;

/// Whether the last observation reached the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// The target answered; the observed document is current as of the observation time.
    Reachable,
    /// The target was not checked (unreachable, skipped, backing off): its state is unknown,
    /// which is not the same as in sync.
    NotChecked,
    /// The platform says the target no longer exists.
    Missing,
}

/// What was last observed on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedState {
    /// When the observation was made.
    pub at: DateTime<Utc>,
    /// Whether the target answered.
    pub reachability: Reachability,
    /// What it reported, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
}

/// One entry of a target's history: what happened, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What was done (`deploy 4.2.1`, `hold placed`, `drift accepted`).
    pub action: String,
    /// More detail, when there is any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Default number of history entries kept per target.
pub const DEFAULT_HISTORY_LIMIT: usize = 32;

/// A target's recent history, bounded.
///
/// **Policy:** a history keeps the newest `limit` entries (default
/// [`DEFAULT_HISTORY_LIMIT`]) in the order they were pushed; pushing onto a full history drops
/// the oldest entry and counts it in [`History::dropped`], so a reader always knows that older
/// entries existed. The complete record of actions lives in the audit log, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    entries: VecDeque<HistoryEntry>,
    limit: usize,
    dropped: u64,
}

impl Default for History {
    fn default() -> Self {
        Self::with_limit(DEFAULT_HISTORY_LIMIT)
    }
}

impl History {
    /// An empty history that keeps at most `limit` entries (at least one).
    #[must_use]
    pub fn with_limit(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            limit: limit.max(1),
            dropped: 0,
        }
    }

    /// Appends an entry, dropping the oldest one when full.
    pub fn push(&mut self, entry: HistoryEntry) {
        while self.entries.len() >= self.limit {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// The kept entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &HistoryEntry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// How many entries are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many older entries were dropped by the policy.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The most entries this history keeps.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Serialize for History {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.entries)
    }
}

impl<'de> Deserialize<'de> for History {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<HistoryEntry>::deserialize(d)?;
        let mut h = History::with_limit(DEFAULT_HISTORY_LIMIT.max(entries.len()));
        for e in entries {
            h.push(e);
        }
        Ok(h)
    }
}

/// A target: something fleet deploys to and observes (a cluster, an edge site, a VM pool).
///
/// # Example
///
/// ```
/// use fleet_core::{Target, TargetId, Value, Version};
///
/// let t = Target::new(TargetId::new("gke-prod-europe-west4-1")?, "cluster", "gcp")
///     .property("region", "europe-west4")
///     .property("version", Value::Version("1.29.3-gke.1200".parse::<Version>()?))
///     .label("team", "atlas")
///     .capability("gpu.nvidia-l4");
/// assert_eq!(t.properties.get("region"), Some(&Value::from("europe-west4")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The stable identity.
    pub id: TargetId,
    /// What it is: `cluster`, `edge-site`, `vm-pool`...
    pub kind: String,
    /// Where it lives: `aws`, `gcp`, `azure`, `on-prem`, `edge`...
    pub substrate: String,
    /// The platform's own id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_id: Option<NativeId>,
    /// Typed properties (region, tier, version, owner, last-touched...).
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    /// Labels: free-form string pairs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Capabilities (`gpu.nvidia-h100`, `arch.arm64`, `sovereign.eu`).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub capabilities: BTreeSet<String>,
    /// Targets this one depends on (deploy those first).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub depends_on: BTreeSet<TargetId>,
    /// What should be running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Document>,
    /// What was last seen running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<ObservedState>,
    /// Recent history.
    #[serde(skip_serializing_if = "History::is_empty")]
    pub history: History,
}

impl Target {
    /// A target with an id, kind and substrate, and nothing else.
    #[must_use]
    pub fn new(id: TargetId, kind: impl Into<String>, substrate: impl Into<String>) -> Self {
        Self {
            id,
            kind: kind.into(),
            substrate: substrate.into(),
            native_id: None,
            properties: Properties::new(),
            labels: BTreeMap::new(),
            capabilities: BTreeSet::new(),
            depends_on: BTreeSet::new(),
            desired: None,
            observed: None,
            history: History::default(),
        }
    }

    /// Sets a property.
    #[must_use]
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Sets a label.
    #[must_use]
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds a capability.
    #[must_use]
    pub fn capability(mut self, cap: impl Into<String>) -> Self {
        self.capabilities.insert(cap.into());
        self
    }

    /// Sets the native id.
    #[must_use]
    pub fn native_id(mut self, id: NativeId) -> Self {
        self.native_id = Some(id);
        self
    }

    /// Adds a dependency.
    #[must_use]
    pub fn depends_on(mut self, id: TargetId) -> Self {
        self.depends_on.insert(id);
        self
    }

    /// Sets the desired document.
    #[must_use]
    pub fn desired(mut self, doc: Document) -> Self {
        self.desired = Some(doc);
        self
    }
}

impl<'de> Deserialize<'de> for Target {
    /// Without a schema, property values take their JSON/YAML types.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TargetSeed { schema: None }.deserialize(d)
    }
}

/// Deserializes a [`Target`] whose property values are typed by a schema, so that a bad
/// value is reported at its own line and column.
#[derive(Debug, Clone, Copy)]
pub struct TargetSeed<'a> {
    /// The schema that types the properties; `None` infers types.
    pub schema: Option<&'a Schema>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Id,
    Kind,
    Substrate,
    NativeId,
    Properties,
    Labels,
    Capabilities,
    DependsOn,
    Desired,
    Observed,
    History,
}

const FIELDS: &[&str] = &[
    "id",
    "kind",
    "substrate",
    "native_id",
    "properties",
    "labels",
    "capabilities",
    "depends_on",
    "desired",
    "observed",
    "history",
];

impl<'de> DeserializeSeed<'de> for TargetSeed<'_> {
    type Value = Target;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Target, D::Error> {
        d.deserialize_struct("Target", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for TargetSeed<'_> {
    type Value = Target;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a target (a map with `id`, `kind`, `substrate`...)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Target, A::Error> {
        fn dup<E: de::Error>(name: &'static str) -> E {
            E::duplicate_field(name)
        }
        let mut id = None;
        let mut kind = None;
        let mut substrate = None;
        let mut native_id = None;
        let mut properties = None;
        let mut labels = None;
        let mut capabilities = None;
        let mut depends_on = None;
        let mut desired = None;
        let mut observed = None;
        let mut history = None;
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Id if id.is_some() => return Err(dup("id")),
                Field::Id => id = Some(map.next_value::<TargetId>()?),
                Field::Kind if kind.is_some() => return Err(dup("kind")),
                Field::Kind => kind = Some(map.next_value::<String>()?),
                Field::Substrate if substrate.is_some() => return Err(dup("substrate")),
                Field::Substrate => substrate = Some(map.next_value::<String>()?),
                Field::NativeId if native_id.is_some() => return Err(dup("native_id")),
                Field::NativeId => native_id = Some(map.next_value::<NativeId>()?),
                Field::Properties if properties.is_some() => return Err(dup("properties")),
                Field::Properties => {
                    properties = Some(map.next_value_seed(PropertiesSeed {
                        schema: self.schema,
                    })?);
                }
                Field::Labels if labels.is_some() => return Err(dup("labels")),
                Field::Labels => labels = Some(map.next_value()?),
                Field::Capabilities if capabilities.is_some() => {
                    return Err(dup("capabilities"));
                }
                Field::Capabilities => capabilities = Some(map.next_value()?),
                Field::DependsOn if depends_on.is_some() => return Err(dup("depends_on")),
                Field::DependsOn => depends_on = Some(map.next_value()?),
                Field::Desired if desired.is_some() => return Err(dup("desired")),
                Field::Desired => desired = Some(map.next_value()?),
                Field::Observed if observed.is_some() => return Err(dup("observed")),
                Field::Observed => observed = Some(map.next_value()?),
                Field::History if history.is_some() => return Err(dup("history")),
                Field::History => history = Some(map.next_value()?),
            }
        }
        Ok(Target {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("kind"))?,
            substrate: substrate.ok_or_else(|| de::Error::missing_field("substrate"))?,
            native_id,
            properties: properties.unwrap_or_default(),
            labels: labels.unwrap_or_default(),
            capabilities: capabilities.unwrap_or_default(),
            depends_on: depends_on.unwrap_or_default(),
            desired,
            observed,
            history: history.unwrap_or_default(),
        })
    }
}
