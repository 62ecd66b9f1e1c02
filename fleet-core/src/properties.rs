//! [`Properties`]: a target's typed properties, kept sorted by name.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use smol_str::SmolStr;

use crate::schema::Schema;
use crate::value::{Value, ValueSeed};

/// Up to this many names, a lookup scans them comparing lengths first; beyond, it binary
/// searches.
const SCAN: usize = 32;

/// A target's typed properties: a map from name to [`Value`], iterated in name order, with
/// the API of a `BTreeMap<String, Value>` where it overlaps.
///
/// The names and the values are two parallel vectors, names sorted and held inline when they
/// are short (up to 23 bytes). A target has a dozen properties or so, and a policy or
/// selector reads a few of them from a target that is usually not in cache: a scan of the
/// names that compares lengths before bytes reads a few contiguous lines, where a `BTreeMap`
/// search follows tree nodes of about a kilobyte and the key string of every entry it passes,
/// one dependent cache miss after another (BENCHMARKS.md, "policy").
///
/// ```
/// use fleet_core::{Properties, Value};
///
/// let mut p = Properties::new();
/// p.insert("tier".into(), Value::from("production"));
/// p.insert("region".into(), Value::from("eu-west-1"));
/// assert_eq!(p.get("region"), Some(&Value::from("eu-west-1")));
/// assert_eq!(p.keys().collect::<Vec<_>>(), ["region", "tier"]);
/// assert_eq!(p.insert("tier".into(), Value::from("staging")), Some(Value::from("production")));
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// Sorted, no duplicates.
    names: Vec<SmolStr>,
    /// `values[i]` belongs to `names[i]`.
    values: Vec<Value>,
}

impl Properties {
    /// No properties.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many properties there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Where `name` is (`Ok`) or would be inserted (`Err`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        if self.names.len() <= SCAN {
            // lengths first: the bytes of a name of another length are never read
            if let Some(i) = self
                .names
                .iter()
                .position(|n| n.len() == name.len() && n == name)
            {
                return Ok(i);
            }
            return Err(self.names.partition_point(|n| n.as_str() < name));
        }
        self.names.binary_search_by(|n| n.as_str().cmp(name))
    }

    /// The value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        let i = self.find(name).ok()?;
        self.values.get(i)
    }

    /// The value of `name`, to change in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        let i = self.find(name).ok()?;
        self.values.get_mut(i)
    }

    /// Whether `name` has a value.
    #[must_use]
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`, returning the value it replaced.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self.find(&name) {
            Ok(i) => self
                .values
                .get_mut(i)
                .map(|slot| std::mem::replace(slot, value)),
            Err(i) => {
                self.names.insert(i, SmolStr::from(name));
                self.values.insert(i, value);
                None
            }
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.find(name).ok()?;
        self.names.remove(i);
        Some(self.values.remove(i))
    }

    /// Keeps the properties for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
        let mut i = 0;
        while i < self.names.len() {
            let kept = match (self.names.get(i), self.values.get_mut(i)) {
                (Some(n), Some(v)) => keep(n, v),
                _ => true,
            };
            if kept {
                i += 1;
            } else {
                self.names.remove(i);
                self.values.remove(i);
            }
        }
    }

    /// Removes every property.
    pub fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> PropertiesIter<'_> {
        PropertiesIter {
            inner: self.names.iter().zip(self.values.iter()),
        }
    }

    /// Names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + Clone + '_ {
        self.names.iter().map(SmolStr::as_str)
    }

    /// Values, in name order.
    pub fn values(&self) -> std::slice::Iter<'_, Value> {
        self.values.iter()
    }

    /// Values, in name order, to change in place.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, Value> {
        self.values.iter_mut()
    }
}

/// The iterator of [`Properties::iter`].
#[derive(Debug, Clone)]
pub struct PropertiesIter<'a> {
    inner: std::iter::Zip<std::slice::Iter<'a, SmolStr>, std::slice::Iter<'a, Value>>,
}

impl<'a> Iterator for PropertiesIter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k.as_str(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for PropertiesIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k.as_str(), v))
    }
}

impl ExactSizeIterator for PropertiesIter<'_> {}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a Value);
    type IntoIter = PropertiesIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Properties {
    type Item = (String, Value);
    type IntoIter = std::iter::Map<
        std::iter::Zip<std::vec::IntoIter<SmolStr>, std::vec::IntoIter<Value>>,
        fn((SmolStr, Value)) -> (String, Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.names
            .into_iter()
            .zip(self.values)
            .map(|(k, v)| (k.to_string(), v))
    }
}

impl<K: Into<String>> Extend<(K, Value)> for Properties {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Properties {
    /// Later values of a repeated name replace earlier ones, as `BTreeMap` collects.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut pairs: Vec<(String, Value)> =
            iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // stable: of a repeated name, the last value comes last
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let n = pairs.len();
        Self::from_sorted(pairs, n)
    }
}

impl<K: Into<String>, const N: usize> From<[(K, Value); N]> for Properties {
    /// Sorted where they are, without a temporary vector: the vectors kept are allocated
    /// once, at their final size. Of a repeated name the last value is kept.
    fn from(pairs: [(K, Value); N]) -> Self {
        let mut pairs = pairs.map(|(k, v)| (k.into(), v));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Self::from_sorted(pairs, N)
    }
}

impl Properties {
    /// From `len` pairs sorted by name (stably); of a repeated name the last value is kept.
    fn from_sorted(pairs: impl IntoIterator<Item = (String, Value)>, len: usize) -> Self {
        let mut out = Self {
            names: Vec::with_capacity(len),
            values: Vec::with_capacity(len),
        };
        for (k, v) in pairs {
            match (out.names.last(), out.values.last_mut()) {
                (Some(last), Some(slot)) if last.as_str() == k => *slot = v,
                _ => {
                    out.names.push(SmolStr::from(k));
                    out.values.push(v);
                }
            }
        }
        out
    }
}

impl From<std::collections::BTreeMap<String, Value>> for Properties {
    fn from(map: std::collections::BTreeMap<String, Value>) -> Self {
        // already sorted and unique
        let (names, values) = map.into_iter().map(|(k, v)| (SmolStr::from(k), v)).unzip();
        Self { names, values }
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Values are read untyped (as [`Value`] reads itself); a name given twice is an error.
/// Reading a fleet file types them by its schema instead ([`PropertiesSeed`]).
impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PropertiesSeed { schema: None }.deserialize(d)
    }
}

/// Reads a property map, typing each value by `schema` when it declares the property (so a
/// mistyped value's error carries its position); a name given twice is an error.
pub(crate) struct PropertiesSeed<'a> {
    pub(crate) schema: Option<&'a Schema>,
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_> {
    type Value = Properties;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_> {
    type Value = Properties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of property names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Properties::new();
        while let Some(key) = map.next_key::<String>()? {
            let ty = self.schema.and_then(|s| s.property(&key)).map(|p| &p.ty);
            let seed = ty.map_or_else(ValueSeed::untyped, ValueSeed::typed);
            let value = map.next_value_seed(seed)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "property `{key}` is given twice"
                )));
            }
            out.insert(key, value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, i64),
        Remove(String),
        Retain(i64),
    }

    fn name() -> impl Strategy<Value = String> {
        // short names collide often, including names of equal length
        prop_oneof!["[a-c]{0,3}", "[a-z]{1,12}"]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (name(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            name().prop_map(Op::Remove),
            (0i64..4).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// The same operations on `Properties` and on a `BTreeMap` give the same answers and
        /// the same contents, in the same order; sizes cross the scan/binary-search switch.
        #[test]
        fn properties_behave_like_a_btreemap(ops in prop::collection::vec(op(), 0..120), probes in prop::collection::vec(name(), 0..20)) {
            let mut ours = Properties::new();
            let mut oracle: BTreeMap<String, Value> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(
                        ours.insert(k.clone(), Value::Integer(v)),
                        oracle.insert(k, Value::Integer(v))
                    ),
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), oracle.remove(&k)),
                    Op::Retain(m) => {
                        let keep = |v: &Value| !matches!(v, Value::Integer(i) if i.rem_euclid(4) == m);
                        ours.retain(|_, v| keep(v));
                        oracle.retain(|_, v| keep(v));
                    }
                }
                prop_assert_eq!(ours.len(), oracle.len());
            }
            for p in &probes {
                prop_assert_eq!(ours.get(p), oracle.get(p));
                prop_assert_eq!(ours.contains_key(p), oracle.contains_key(p));
            }
            let ours_pairs: Vec<(&str, &Value)> = ours.iter().collect();
            let oracle_pairs: Vec<(&str, &Value)> = oracle.iter().map(|(k, v)| (k.as_str(), v)).collect();
            prop_assert_eq!(ours_pairs, oracle_pairs);
            prop_assert_eq!(Properties::from(oracle.clone()), ours.clone());
            let collected: Properties = oracle.clone().into_iter().rev().collect();
            prop_assert_eq!(collected, ours.clone());
            prop_assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&oracle).unwrap());
        }
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_repeated_name() {
        let p: Properties = [
            ("a", Value::from(1i64)),
            ("b", Value::from(2i64)),
            ("a", Value::from(3i64)),
        ]
        .into_iter()
        .collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("a"), Some(&Value::from(3i64)));
    }

    #[test]
    fn an_array_is_sorted_and_its_repeated_names_keep_the_last_value() {
        let p = Properties::from([
            ("tier", Value::from("staging")),
            ("region", Value::from("eu-west-1")),
            ("tier", Value::from("production")),
        ]);
        assert_eq!(p.keys().collect::<Vec<_>>(), ["region", "tier"]);
        assert_eq!(p.get("tier"), Some(&Value::from("production")));
    }

    #[test]
    fn properties_read_back_what_they_wrote_and_refuse_a_repeated_name() {
        let p = Properties::from([
            ("region", Value::from("eu-west-1")),
            ("nodes", Value::from(3i64)),
        ]);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"nodes":3,"region":"eu-west-1"}"#);
        assert_eq!(serde_json::from_str::<Properties>(&json).unwrap(), p);
        let e = serde_json::from_str::<Properties>(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.to_string().contains("property `a` is given twice"), "{e}");
    }

    #[test]
    fn large_maps_are_searched_too() {
        let p: Properties = (0..100)
            .map(|i| (format!("p{i:03}"), Value::from(i64::from(i))))
            .collect();
        for i in 0..100 {
            assert_eq!(p.get(&format!("p{i:03}")), Some(&Value::from(i64::from(i))));
        }
        assert_eq!(p.get("p100"), None);
        assert_eq!(p.get(""), None);
    }
}
