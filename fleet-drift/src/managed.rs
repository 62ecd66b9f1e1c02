//! Attribution from Kubernetes `metadata.managedFields`.
//!
//! Each entry names a field manager (`kube-controller-manager`, `argocd-controller`,
//! `kubectl-client-side-apply`), the operation (`Apply` or `Update`), the subresource, and
//! the set of fields it owns in the `FieldsV1` format: a tree whose keys are `f:<name>`
//! (a field), `k:<json object>` (a keyed list element), `v:<json>` (a set element), `i:<n>`
//! (a list position) and `.` (the node itself). The parsed paths use the same [`Segment`]s
//! as the diff, so `k:{"name":"web"}` is the diff's `containers[name=web]`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::describe;
use crate::normalize::canon_number;
use crate::path::{ListKey, Path, Segment, SetValue};

/// The kind of write that made a manager own its fields.
///
/// Not `non_exhaustive`: the Kubernetes API defines exactly these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply: the manager declared these fields as its intent.
    Apply,
    /// Any other write (create, update, patch, client-side apply, `kubectl edit`).
    Update,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    member: bool,
    children: BTreeMap<Segment, Node>,
}

impl Node {
    fn has_member(&self) -> bool {
        self.member || self.children.values().any(Node::has_member)
    }

    fn collect(&self, prefix: &mut Vec<Segment>, out: &mut Vec<Path>) {
        if self.member {
            out.push(Path::from_segments(prefix.clone()));
        }
        for (seg, child) in &self.children {
            prefix.push(seg.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }
}

/// The set of fields one manager owns, parsed from `fieldsV1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    root: Node,
}

/// The deepest a `fieldsV1` tree may nest.
const MAX_FIELDS_DEPTH: usize = 64;

impl FieldSet {
    /// Parses a `fieldsV1` object on its own (outside an entry).
    ///
    /// # Errors
    ///
    /// [`FieldsV1Error`] naming the offending key and where it sits.
    pub fn parse(fields_v1: &Value) -> Result<Self, FieldsV1Error> {
        let mut under = Vec::new();
        Ok(Self {
            root: parse_node(fields_v1, &mut under)?,
        })
    }

    /// Whether `path` itself is in the set.
    #[must_use]
    pub fn contains(&self, path: &Path) -> bool {
        self.node(path).is_some_and(|n| n.member)
    }

    /// Every path in the set, sorted.
    #[must_use]
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.root.collect(&mut Vec::new(), &mut out);
        out
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.root.has_member()
    }

    fn node(&self, path: &Path) -> Option<&Node> {
        let mut cur = &self.root;
        for seg in path.segments() {
            cur = cur.children.get(seg)?;
        }
        Some(cur)
    }

    /// How this set relates to `path`.
    fn relation(&self, path: &Path) -> Option<OwnershipMatch> {
        let mut cur = &self.root;
        let mut ancestor = None;
        for (depth, seg) in path.segments().iter().enumerate() {
            if cur.member {
                ancestor = Some(depth);
            }
            match cur.children.get(seg) {
                Some(next) => cur = next,
                None => return ancestor.map(|depth| OwnershipMatch::Ancestor { depth }),
            }
        }
        if cur.member {
            Some(OwnershipMatch::Exact)
        } else if let Some(depth) = ancestor {
            Some(OwnershipMatch::Ancestor { depth })
        } else if cur.has_member() {
            Some(OwnershipMatch::Descendant)
        } else {
            None
        }
    }
}

/// Why a `fieldsV1` tree is malformed.
#[derive(Debug, thiserror::Error)]
#[error("key `{key}` under `{under}`: {problem}")]
pub struct FieldsV1Error {
    /// The offending key (empty when the tree itself is not an object).
    pub key: String,
    /// Where the key sits.
    pub under: Path,
    /// What is wrong.
    #[source]
    pub problem: FieldsV1Problem,
}

/// What is wrong with a `fieldsV1` key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FieldsV1Problem {
    /// The key has none of the prefixes `f:`, `k:`, `v:`, `i:` and is not `.`.
    #[error("unknown prefix; expected `f:`, `k:`, `v:`, `i:` or `.`")]
    UnknownPrefix,
    /// The JSON after `k:` or `v:` does not parse.
    #[error("invalid JSON")]
    InvalidJson(#[source] serde_json::Error),
    /// The JSON after `k:` is not an object.
    #[error("a `k:` key must hold a JSON object")]
    KeyNotAnObject,
    /// The number after `i:` is not a list position.
    #[error("an `i:` key must hold a non-negative integer")]
    BadIndex,
    /// The value under a key is not an object (or the value of `.` is not `{{}}`).
    #[error("the value must be an object, not {found}")]
    NotAnObject {
        /// What it is.
        found: &'static str,
    },
    /// The tree nests absurdly deep.
    #[error("the field set nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

fn parse_node(v: &Value, under: &mut Vec<Segment>) -> Result<Node, FieldsV1Error> {
    let err = |key: &str, under: &[Segment], problem| FieldsV1Error {
        key: key.to_owned(),
        under: Path::from_segments(under.to_vec()),
        problem,
    };
    let Value::Object(map) = v else {
        return Err(err(
            "",
            under,
            FieldsV1Problem::NotAnObject { found: describe(v) },
        ));
    };
    if under.len() > MAX_FIELDS_DEPTH {
        return Err(err(
            "",
            under,
            FieldsV1Problem::TooDeep {
                limit: MAX_FIELDS_DEPTH,
            },
        ));
    }
    let mut node = Node::default();
    for (key, child) in map {
        let Value::Object(child_map) = child else {
            return Err(err(
                key,
                under,
                FieldsV1Problem::NotAnObject {
                    found: describe(child),
                },
            ));
        };
        if key == "." {
            if !child_map.is_empty() {
                return Err(err(
                    key,
                    under,
                    FieldsV1Problem::NotAnObject {
                        found: "a non-empty object",
                    },
                ));
            }
            node.member = true;
            continue;
        }
        let seg = parse_key(key).map_err(|p| err(key, under, p))?;
        let child_node = if child_map.is_empty() {
            Node {
                member: true,
                children: BTreeMap::new(),
            }
        } else {
            under.push(seg.clone());
            let r = parse_node(child, under);
            under.pop();
            r?
        };
        node.children.insert(seg, child_node);
    }
    Ok(node)
}

fn parse_key(key: &str) -> Result<Segment, FieldsV1Problem> {
    if let Some(name) = key.strip_prefix("f:") {
        Ok(Segment::field(name))
    } else if let Some(json) = key.strip_prefix("k:") {
        let v: Value = serde_json::from_str(json).map_err(FieldsV1Problem::InvalidJson)?;
        let Value::Object(fields) = v else {
            return Err(FieldsV1Problem::KeyNotAnObject);
        };
        let fields: Vec<(String, Value)> = fields
            .into_iter()
            .map(|(k, v)| match v {
                Value::Number(n) => (k, Value::Number(canon_number(&n))),
                v => (k, v),
            })
            .collect();
        Ok(Segment::Key(ListKey::new(
            fields.iter().map(|(k, v)| (k.as_str(), v)),
        )))
    } else if let Some(json) = key.strip_prefix("v:") {
        let v: Value = serde_json::from_str(json).map_err(FieldsV1Problem::InvalidJson)?;
        let v = match v {
            Value::Number(n) => Value::Number(canon_number(&n)),
            v => v,
        };
        Ok(Segment::Value(SetValue::new(&v)))
    } else if let Some(n) = key.strip_prefix("i:") {
        n.parse::<usize>()
            .map(Segment::Index)
            .map_err(|_| FieldsV1Problem::BadIndex)
    } else {
        Err(FieldsV1Problem::UnknownPrefix)
    }
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    /// The field manager (`kube-controller-manager`, `argocd-controller`, ...).
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The subresource written (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// The API version the fields are expressed in.
    pub api_version: Option<String>,
    /// When the entry last changed; `None` when the API server (or a test harness) left it
    /// out or `null`.
    pub time: Option<DateTime<Utc>>,
    /// The owned fields.
    pub fields: FieldSet,
}

/// Why `metadata.managedFields` could not be read. Every variant but [`NotAList`] names the
/// entry's position.
///
/// [`NotAList`]: ManagedFieldsError::NotAList
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagedFieldsError {
    /// `metadata.managedFields` is not a list.
    #[error("`metadata.managedFields` must be a list, not {found}")]
    NotAList {
        /// What it is.
        found: &'static str,
    },
    /// An entry is not an object.
    #[error("managed fields entry {entry} must be an object, not {found}")]
    EntryNotAnObject {
        /// The entry's position.
        entry: usize,
        /// What it is.
        found: &'static str,
    },
    /// An entry lacks a required field.
    #[error("managed fields entry {entry} has no `{field}`")]
    MissingField {
        /// The entry's position.
        entry: usize,
        /// The field.
        field: &'static str,
    },
    /// An entry field has the wrong JSON type.
    #[error("managed fields entry {entry}: `{field}` must be {expected}, not {found}")]
    WrongType {
        /// The entry's position.
        entry: usize,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// The operation is neither `Apply` nor `Update`.
    #[error(
        "managed fields entry {entry}: unknown operation `{value}`; expected `Apply` or `Update`"
    )]
    UnknownOperation {
        /// The entry's position.
        entry: usize,
        /// The operation found.
        value: String,
    },
    /// `fieldsType` is not `FieldsV1`.
    #[error("managed fields entry {entry}: unsupported fieldsType `{value}`; expected `FieldsV1`")]
    UnsupportedFieldsType {
        /// The entry's position.
        entry: usize,
        /// The type found.
        value: String,
    },
    /// `time` is not an RFC 3339 timestamp.
    #[error("managed fields entry {entry}: `time` is not an RFC 3339 timestamp: `{value}`")]
    BadTime {
        /// The entry's position.
        entry: usize,
        /// The text found.
        value: String,
        /// The parse error.
        #[source]
        source: chrono::ParseError,
    },
    /// The `fieldsV1` tree is malformed.
    #[error("managed fields entry {entry}: bad `fieldsV1`")]
    FieldsV1 {
        /// The entry's position.
        entry: usize,
        /// The key and what is wrong with it.
        #[source]
        source: FieldsV1Error,
    },
}

impl ManagedFieldsError {
    /// The position of the offending entry, when one is at fault.
    #[must_use]
    pub fn entry(&self) -> Option<usize> {
        match self {
            Self::NotAList { .. } => None,
            Self::EntryNotAnObject { entry, .. }
            | Self::MissingField { entry, .. }
            | Self::WrongType { entry, .. }
            | Self::UnknownOperation { entry, .. }
            | Self::UnsupportedFieldsType { entry, .. }
            | Self::BadTime { entry, .. }
            | Self::FieldsV1 { entry, .. } => Some(*entry),
        }
    }
}

/// How an entry's field set relates to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnershipMatch {
    /// The path itself is in the set.
    Exact,
    /// An ancestor of the path is in the set (the manager owns a whole container, or an
    /// atomic field such as `selector`); `depth` is that ancestor's number of segments.
    Ancestor {
        /// The owned ancestor's length.
        depth: usize,
    },
    /// Only fields inside the path are in the set (the path is a whole subtree that was
    /// added or removed).
    Descendant,
}

/// The managers that own a path, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership<'m> {
    /// How they own it.
    pub how: OwnershipMatch,
    /// The owning entries, in the order of `managedFields`.
    pub entries: Vec<&'m ManagedFieldsEntry>,
}

impl<'m> Ownership<'m> {
    /// The owning managers' names.
    pub fn managers(&self) -> impl Iterator<Item = &'m str> + '_ {
        self.entries.iter().map(|e| e.manager.as_str())
    }

    /// The owning entry that changed last (entries without a time count as oldest; ties go
    /// to the later entry).
    #[must_use]
    pub fn latest(&self) -> Option<&'m ManagedFieldsEntry> {
        self.entries.iter().copied().max_by_key(|e| e.time)
    }
}

/// The parsed `metadata.managedFields` of one object: who owns which fields.
///
/// # Which managers own a path
///
/// For a changed path, [`ManagedFields::owners`] answers with the first of:
/// 1. **exact**: the entries whose set contains the path;
/// 2. **ancestor**: the entries owning the deepest ancestor of the path that anyone owns
///    (owning `containers[name=web]` as a whole, or an atomic field such as `selector`,
///    covers what is inside it);
/// 3. **descendant**: the entries owning anything inside the path (the path is a whole
///    subtree that was added or removed).
///
/// Several managers can own one field (Argo CD and kube-controller-manager both own
/// `spec.replicas` when an HPA scales a synced Deployment); every one is returned, with its
/// operation and time, and [`Ownership::latest`] picks the most recent writer.
///
/// # Example
///
/// ```
/// use fleet_drift::{ManagedFields, Operation, Path};
/// use serde_json::json;
///
/// let object = json!({"metadata": {"managedFields": [{
///     "manager": "kube-controller-manager", "operation": "Update",
///     "apiVersion": "apps/v1", "time": "2021-12-01T21:07:55Z", "fieldsType": "FieldsV1",
///     "fieldsV1": {"f:spec": {"f:replicas": {}}}
/// }]}});
/// let managed = ManagedFields::from_object(&object)?;
/// let owners = managed.owners(&Path::fields(["spec", "replicas"])).unwrap();
/// assert_eq!(owners.managers().collect::<Vec<_>>(), ["kube-controller-manager"]);
/// assert_eq!(owners.entries[0].operation, Operation::Update);
/// # Ok::<(), fleet_drift::ManagedFieldsError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedFields {
    entries: Vec<ManagedFieldsEntry>,
}

impl ManagedFields {
    /// Reads `metadata.managedFields` of a Kubernetes object; an object without it has no
    /// managed fields.
    ///
    /// # Errors
    ///
    /// [`ManagedFieldsError`] naming the entry and, inside `fieldsV1`, the key.
    pub fn from_object(object: &Value) -> Result<Self, ManagedFieldsError> {
        match object.get("metadata").and_then(|m| m.get("managedFields")) {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(list) => Self::from_list(list),
        }
    }

    /// Reads a `managedFields` list.
    ///
    /// # Errors
    ///
    /// As [`ManagedFields::from_object`].
    pub fn from_list(list: &Value) -> Result<Self, ManagedFieldsError> {
        let Value::Array(items) = list else {
            return Err(ManagedFieldsError::NotAList {
                found: describe(list),
            });
        };
        let entries = items
            .iter()
            .enumerate()
            .map(|(i, e)| parse_entry(i, e))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// The entries, in their order in the object.
    #[must_use]
    pub fn entries(&self) -> &[ManagedFieldsEntry] {
        &self.entries
    }

    /// Who owns `path`, by the rule in the type's documentation; `None` when nobody does.
    #[must_use]
    pub fn owners(&self, path: &Path) -> Option<Ownership<'_>> {
        let relations: Vec<(OwnershipMatch, &ManagedFieldsEntry)> = self
            .entries
            .iter()
            .filter_map(|e| e.fields.relation(path).map(|r| (r, e)))
            .collect();
        let best = relations.iter().map(|(r, _)| *r).min_by_key(|r| match r {
            OwnershipMatch::Exact => (0, 0),
            OwnershipMatch::Ancestor { depth } => (1, usize::MAX - depth),
            OwnershipMatch::Descendant => (2, 0),
        })?;
        Some(Ownership {
            how: best,
            entries: relations
                .into_iter()
                .filter(|(r, _)| *r == best)
                .map(|(_, e)| e)
                .collect(),
        })
    }
}

fn parse_entry(entry: usize, v: &Value) -> Result<ManagedFieldsEntry, ManagedFieldsError> {
    parse_entry_with(entry, v, true).map(|(e, _)| e)
}

/// The members of a managedFields entry that are read, in this order.
const ENTRY_FIELDS: [&str; 7] = [
    "manager",
    "operation",
    "fieldsType",
    "time",
    "subresource",
    "apiVersion",
    "fieldsV1",
];

/// One entry, and its raw `fieldsV1` (not `null`), parsed into the entry when `with_fields`.
fn parse_entry_with(
    entry: usize,
    v: &Value,
    with_fields: bool,
) -> Result<(ManagedFieldsEntry, Option<&Value>), ManagedFieldsError> {
    let Value::Object(m) = v else {
        return Err(ManagedFieldsError::EntryNotAnObject {
            entry,
            found: describe(v),
        });
    };
    // one pass over the members instead of a lookup for each
    let mut found: [Option<&Value>; ENTRY_FIELDS.len()] = [None; ENTRY_FIELDS.len()];
    for (k, v) in m {
        if let Some(i) = ENTRY_FIELDS.iter().position(|f| *f == k)
            && let Some(slot) = found.get_mut(i)
        {
            *slot = Some(v);
        }
    }
    let get = |field: &str| {
        ENTRY_FIELDS
            .iter()
            .position(|f| *f == field)
            .and_then(|i| found.get(i).copied().flatten())
    };
    let string = |field: &'static str| -> Result<Option<&str>, ManagedFieldsError> {
        match get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ManagedFieldsError::WrongType {
                entry,
                field,
                expected: "a string",
                found: describe(other),
            }),
        }
    };
    let manager = string("manager")?.ok_or(ManagedFieldsError::MissingField {
        entry,
        field: "manager",
    })?;
    let operation = match string("operation")? {
        Some("Apply") => Operation::Apply,
        Some("Update") => Operation::Update,
        Some(other) => {
            return Err(ManagedFieldsError::UnknownOperation {
                entry,
                value: other.to_owned(),
            });
        }
        None => {
            return Err(ManagedFieldsError::MissingField {
                entry,
                field: "operation",
            });
        }
    };
    match string("fieldsType")? {
        None | Some("FieldsV1") => {}
        Some(other) => {
            return Err(ManagedFieldsError::UnsupportedFieldsType {
                entry,
                value: other.to_owned(),
            });
        }
    }
    let time = string("time")?
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|source| ManagedFieldsError::BadTime {
                    entry,
                    value: t.to_owned(),
                    source,
                })
        })
        .transpose()?;
    let raw = get("fieldsV1").filter(|f| !f.is_null());
    let fields = match raw {
        None => FieldSet::default(),
        Some(_) if !with_fields => FieldSet::default(),
        Some(f) => {
            FieldSet::parse(f).map_err(|source| ManagedFieldsError::FieldsV1 { entry, source })?
        }
    };
    let parsed = ManagedFieldsEntry {
        manager: manager.to_owned(),
        operation,
        subresource: string("subresource")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        api_version: string("apiVersion")?.map(str::to_owned),
        time,
        fields,
    };
    Ok((parsed, raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_every_kind_parse() {
        let set = FieldSet::parse(&json!({
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}},
            "f:metadata": {"f:finalizers": {"v:\"x\"": {}}},
            "f:args": {"i:2": {}}
        }))
        .unwrap();
        let shown: Vec<String> = set.paths().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "args[2]",
                "metadata.finalizers[=x]",
                "spec.containers[name=web]",
                "spec.containers[name=web].image"
            ]
        );
    }

    #[test]
    fn bad_keys_are_named() {
        let e = FieldSet::parse(&json!({"f:spec": {"k:{bad": {}}})).unwrap_err();
        assert_eq!(e.key, "k:{bad");
        assert_eq!(e.under.to_string(), "spec");
        assert!(matches!(e.problem, FieldsV1Problem::InvalidJson(_)));
        let e = FieldSet::parse(&json!({"x:spec": {}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "key `x:spec` under `(root)`: unknown prefix; expected `f:`, `k:`, `v:`, `i:` or `.`"
        );
        assert!(matches!(
            FieldSet::parse(&json!({"k:[1]": {}})).unwrap_err().problem,
            FieldsV1Problem::KeyNotAnObject
        ));
        assert!(matches!(
            FieldSet::parse(&json!({"i:-1": {}})).unwrap_err().problem,
            FieldsV1Problem::BadIndex
        ));
        assert!(matches!(
            FieldSet::parse(&json!({"f:a": 3})).unwrap_err().problem,
            FieldsV1Problem::NotAnObject { found: "a number" }
        ));
    }
}

/// `metadata.managedFields` read lazily: entries' manager, operation and time are read up
/// front, and a path's owners are found by walking each entry's raw `fieldsV1` along the path
/// only. Answers as [`ManagedFields::owners`] does (a differential test holds them equal) at a
/// fraction of the cost, for callers that ask about a few paths of each object (the
/// classifier). Malformed `fieldsV1` nodes on a walked path are errors; others go unread.
#[derive(Debug, Clone)]
pub(crate) struct LazyManagedFields<'v> {
    entries: Vec<(ManagedFieldsEntry, Option<&'v Value>)>,
}

impl<'v> LazyManagedFields<'v> {
    /// `None` when the object has no `managedFields`.
    pub(crate) fn from_object(object: &'v Value) -> Result<Option<Self>, ManagedFieldsError> {
        let list = match object.get("metadata").and_then(|m| m.get("managedFields")) {
            None | Some(Value::Null) => return Ok(None),
            Some(list) => list,
        };
        let Value::Array(items) = list else {
            return Err(ManagedFieldsError::NotAList {
                found: describe(list),
            });
        };
        let mut entries = Vec::with_capacity(items.len());
        for (i, e) in items.iter().enumerate() {
            entries.push(parse_entry_with(i, e, false)?);
        }
        Ok(Some(Self { entries }))
    }

    /// As [`ManagedFields::owners`].
    pub(crate) fn owners(&self, path: &Path) -> Result<Option<Ownership<'_>>, ManagedFieldsError> {
        let mut relations = Vec::new();
        for (i, (entry, raw)) in self.entries.iter().enumerate() {
            let Some(raw) = raw else { continue };
            let r = raw_relation(raw, path)
                .map_err(|source| ManagedFieldsError::FieldsV1 { entry: i, source })?;
            if let Some(r) = r {
                relations.push((r, entry));
            }
        }
        let Some(best) = relations.iter().map(|(r, _)| *r).min_by_key(|r| match r {
            OwnershipMatch::Exact => (0, 0),
            OwnershipMatch::Ancestor { depth } => (1, usize::MAX - depth),
            OwnershipMatch::Descendant => (2, 0),
        }) else {
            return Ok(None);
        };
        Ok(Some(Ownership {
            how: best,
            entries: relations
                .into_iter()
                .filter(|(r, _)| *r == best)
                .map(|(_, e)| e)
                .collect(),
        }))
    }
}

/// How a raw `fieldsV1` tree relates to `path`, as [`FieldSet::relation`] on its parse.
fn raw_relation(root: &Value, path: &Path) -> Result<Option<OwnershipMatch>, FieldsV1Error> {
    // the segments walked so far, for errors: a prefix of `path`, not a copy
    let segments = path.segments();
    let under = |n: usize| segments.get(..n).unwrap_or_default();
    let mut cur = as_node(root, "", under(0))?;
    // The root is a member only through `.`; a nested node also by being a leaf (`{}`).
    let mut member = cur.contains_key(".");
    let mut ancestor = None;
    for (depth, seg) in path.segments().iter().enumerate() {
        if member {
            ancestor = Some(depth);
        }
        let Some((key, child)) = find_child(cur, seg, under(depth))? else {
            return Ok(ancestor.map(|depth| OwnershipMatch::Ancestor { depth }));
        };
        let node = as_node(child, key, under(depth))?;
        member = node.is_empty() || node.contains_key(".");
        cur = node;
    }
    Ok(if member {
        Some(OwnershipMatch::Exact)
    } else if let Some(depth) = ancestor {
        Some(OwnershipMatch::Ancestor { depth })
    } else if !cur.is_empty() {
        Some(OwnershipMatch::Descendant)
    } else {
        None
    })
}

fn as_node<'a>(
    v: &'a Value,
    key: &str,
    under: &[Segment],
) -> Result<&'a serde_json::Map<String, Value>, FieldsV1Error> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(FieldsV1Error {
            key: key.to_owned(),
            under: Path::from_segments(under.to_vec()),
            problem: FieldsV1Problem::NotAnObject {
                found: describe(other),
            },
        }),
    }
}

/// The child of a `fieldsV1` node for one path segment.
fn find_child<'a>(
    node: &'a serde_json::Map<String, Value>,
    seg: &Segment,
    under: &[Segment],
) -> Result<Option<(&'a str, &'a Value)>, FieldsV1Error> {
    if let Segment::Field(name) = seg {
        // The common case without building the key.
        return Ok(node
            .iter()
            .find(|(k, _)| k.strip_prefix("f:") == Some(&**name))
            .map(|(k, v)| (k.as_str(), v)));
    }
    let prefix = match seg {
        Segment::Key(_) => "k:",
        Segment::Value(_) => "v:",
        _ => "i:",
    };
    for (k, v) in node {
        if !k.starts_with(prefix) {
            continue;
        }
        let parsed = parse_key(k).map_err(|problem| FieldsV1Error {
            key: k.clone(),
            under: Path::from_segments(under.to_vec()),
            problem,
        })?;
        if &parsed == seg {
            return Ok(Some((k.as_str(), v)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod lazy_tests {
    use super::*;

    fn summary(o: Option<Ownership<'_>>) -> Option<(OwnershipMatch, Vec<String>)> {
        o.map(|o| (o.how, o.managers().map(str::to_owned).collect()))
    }

    /// The lazy reader against the full parse, on every real object: every owned path, every
    /// prefix of one, each with an unowned field appended, and a few keyed segments that
    /// exist nowhere.
    #[test]
    fn lazy_owners_equal_parsed_owners_on_every_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/managed-fields");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let object: Value = if path.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).unwrap()
            } else {
                serde_yaml_ng::from_str(&text).unwrap()
            };
            let eager = ManagedFields::from_object(&object).unwrap();
            let lazy = LazyManagedFields::from_object(&object).unwrap().unwrap();
            let mut paths = vec![Path::root()];
            for e in eager.entries() {
                for p in e.fields.paths() {
                    for n in 0..=p.len() {
                        let prefix = Path::from_segments(p.segments()[..n].to_vec());
                        paths.push(prefix.join(Segment::field("not-a-field")));
                        paths.push(prefix.join(Segment::Key(ListKey::new([(
                            "name",
                            &Value::String("nobody".into()),
                        )]))));
                        paths.push(prefix.join(Segment::Index(99)));
                        paths.push(prefix);
                    }
                }
            }
            for p in &paths {
                assert_eq!(
                    summary(lazy.owners(p).unwrap()),
                    summary(eager.owners(p)),
                    "{}: {p}",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 1_000, "{checked}");
    }

    #[test]
    fn lazy_reader_reports_malformed_nodes_on_the_walked_path() {
        let object = serde_json::json!({"metadata": {"managedFields": [
            {"manager": "m", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": 3}}}
        ]}});
        let lazy = LazyManagedFields::from_object(&object).unwrap().unwrap();
        let err = lazy
            .owners(&Path::fields(["spec", "replicas"]))
            .unwrap_err();
        assert_eq!(err.entry(), Some(0));
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(
            cause.starts_with("key `f:replicas` under `spec`"),
            "{cause}"
        );
        // Off the path it is not read.
        assert!(lazy.owners(&Path::fields(["metadata"])).unwrap().is_none());
        let bad = serde_json::json!({"metadata": {"managedFields": [{"manager": 1}]}});
        assert!(LazyManagedFields::from_object(&bad).is_err());
        let none = serde_json::json!({"metadata": {}});
        assert!(LazyManagedFields::from_object(&none).unwrap().is_none());
    }
}
