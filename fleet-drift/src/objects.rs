//! Object sets: which objects of a target are missing, unexpected or changed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::{Diff, Differ};
use crate::error::{DiffError, Side};

/// The identity of a Kubernetes object in a set: API group (not version, so `apps/v1` and
/// `apps/v1beta2` name the same object), kind, namespace and name.
///
/// Displayed as `group/Kind namespace/name`, with the group left out for the core group and
/// the namespace for cluster-scoped objects: `apps/Deployment default/web`,
/// `Namespace prod`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The namespace (`None` for cluster-scoped objects, or when the document omits it).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The identity of one object document.
    ///
    /// # Errors
    ///
    /// [`DiffError::MissingIdentity`] when `apiVersion`, `kind` or `metadata.name` is
    /// missing or not a string (`side` and `index` go into the error).
    pub fn of(object: &Value, side: Side, index: usize) -> Result<Self, DiffError> {
        let missing = |field| DiffError::MissingIdentity { side, index, field };
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("apiVersion"))?;
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("kind"))?;
        let metadata = object.get("metadata");
        let name = metadata
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| missing("metadata.name"))?;
        let namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let group = api_version
            .rsplit_once('/')
            .map_or("", |(group, _version)| group);
        Ok(Self {
            group: group.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        write!(f, "{} ", self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}

/// The difference between the objects a target should have and those it has.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectSetDiff {
    /// Desired but not observed (a NetworkPolicy deleted by hand), sorted.
    pub missing: Vec<ObjectKey>,
    /// Observed but not desired, sorted.
    pub unexpected: Vec<ObjectKey>,
    /// In both, with differences, sorted by key.
    pub changed: Vec<(ObjectKey, Diff)>,
}

impl ObjectSetDiff {
    /// Whether the sets are equal by meaning.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.changed.is_empty()
    }
}

fn index<'v>(
    objects: impl IntoIterator<Item = &'v Value>,
    side: Side,
) -> Result<BTreeMap<ObjectKey, &'v Value>, DiffError> {
    let mut out = BTreeMap::new();
    for (i, object) in objects.into_iter().enumerate() {
        let key = ObjectKey::of(object, side, i)?;
        if out.contains_key(&key) {
            return Err(DiffError::DuplicateObject {
                side,
                key: key.to_string(),
            });
        }
        out.insert(key, object);
    }
    Ok(out)
}

impl Differ {
    /// Compares two sets of objects (everything a target should run, everything it runs),
    /// matching them by [`ObjectKey`].
    ///
    /// Namespaces are compared as written: give desired documents their namespace before
    /// comparing (the default namespace of a kustomization or Helm release).
    ///
    /// # Errors
    ///
    /// [`DiffError::MissingIdentity`], [`DiffError::DuplicateObject`], and the errors of
    /// [`Differ::diff`] for objects in both sets.
    ///
    /// # Example
    ///
    /// ```
    /// use fleet_drift::Differ;
    /// use serde_json::json;
    ///
    /// let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    ///     "metadata": {"name": "deny-all", "namespace": "prod"}, "spec": {"podSelector": {}}});
    /// let diff = Differ::kubernetes().diff_objects([&policy], [])?;
    /// assert_eq!(diff.missing[0].to_string(), "networking.k8s.io/NetworkPolicy prod/deny-all");
    /// # Ok::<(), fleet_drift::DiffError>(())
    /// ```
    pub fn diff_objects<'v>(
        &self,
        desired: impl IntoIterator<Item = &'v Value>,
        observed: impl IntoIterator<Item = &'v Value>,
    ) -> Result<ObjectSetDiff, DiffError> {
        let desired = index(desired, Side::Desired)?;
        let observed = index(observed, Side::Observed)?;
        let mut out = ObjectSetDiff::default();
        for (key, d) in &desired {
            match observed.get(key) {
                None => out.missing.push(key.clone()),
                Some(o) => {
                    let diff = self.diff(d, o)?;
                    if !diff.is_empty() {
                        out.changed.push((key.clone(), diff));
                    }
                }
            }
        }
        out.unexpected = observed
            .keys()
            .filter(|k| !desired.contains_key(*k))
            .cloned()
            .collect();
        Ok(out)
    }
}
