//! The normal form both sides of a diff are compared in, and the helpers the diff shares
//! with it, so "equal by meaning" means the same thing everywhere.

use fleet_core::canonical_json;
use serde_json::{Map, Number, Value};

use crate::error::DiffError;
use crate::options::{DiffOptions, KeyField, LeafRule, ListRule};
use crate::path::{ListKey, Path, Segment, SetValue};
use crate::{quantity, secret};

/// What rules apply where: the options and the document's kind.
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) o: &'a DiffOptions,
    pub(crate) kind: Option<&'a str>,
}

impl<'a> Rules<'a> {
    pub(crate) fn is_secret(&self) -> bool {
        self.o.secrets && self.kind == Some("Secret")
    }

    /// `null` members count as absent.
    pub(crate) fn present(&self, v: Option<&'a Value>) -> Option<&'a Value> {
        v.filter(|v| !(self.o.nulls_are_absent && v.is_null()))
    }

    /// The key of a keyed list element, or why it has none.
    pub(crate) fn element_key(
        &self,
        keys: &'a [KeyField],
        names: &mut Vec<&'a str>,
        elem: &Value,
    ) -> Result<Segment, KeyProblem> {
        let Value::Object(m) = elem else {
            return Err(KeyProblem::NotAnObject);
        };
        let mut fields = Vec::with_capacity(keys.len());
        for kf in keys {
            let v = m
                .get(&*kf.name)
                .filter(|v| !v.is_null())
                .or(kf.default.as_ref())
                .ok_or_else(|| KeyProblem::Missing(kf.name.to_string()))?;
            names.push(&kf.name);
            let leaf = self.o.leaf_rule(self.kind, names);
            names.pop();
            let v = scalar(self.o, leaf, v);
            fields.push((kf.name.clone(), canonical_json(&v).into_boxed_str()));
        }
        Ok(Segment::Key(ListKey::from_canonical(fields)))
    }

    /// Keys for every element, or the first problem (a missing key, a duplicate).
    pub(crate) fn list_keys(
        &self,
        rule: &'a ListRule,
        names: &mut Vec<&'a str>,
        items: &'a [Value],
        depth: usize,
    ) -> Result<Result<Vec<Segment>, (usize, KeyProblem)>, DiffError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let key = match rule {
                ListRule::Keyed(keys) => match self.element_key(keys, names, item) {
                    Ok(k) => k,
                    Err(p) => return Ok(Err((i, p))),
                },
                ListRule::Set => {
                    let n = Normalizer::new(*self, names.clone(), depth).value(item)?;
                    Segment::Value(SetValue::from_canonical(canonical_json(&n)))
                }
                ListRule::Positional => Segment::Index(i),
            };
            out.push(key);
        }
        let mut sorted: Vec<&Segment> = out.iter().collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w.first() == w.get(1))
            && let Some(dup) = w.first()
        {
            let index = out.iter().rposition(|k| k == *dup).unwrap_or_default();
            return Ok(Err((index, KeyProblem::Duplicate((*dup).clone()))));
        }
        Ok(Ok(out))
    }
}

/// Why a keyed or set list element has no usable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    NotAnObject,
    Missing(String),
    Duplicate(Segment),
}

/// A number in its canonical form: integral floats become integers.
pub(crate) fn canon_number(n: &Number) -> Number {
    if let Some(f) = n.as_f64()
        && n.is_f64()
        && f.fract() == 0.0
        && (-9.2e18..9.2e18).contains(&f)
    {
        return Number::from(f as i64);
    }
    n.clone()
}

/// A scalar in its normal form under a leaf rule.
pub(crate) fn scalar(o: &DiffOptions, rule: Option<LeafRule>, v: &Value) -> Value {
    match (rule, v) {
        (Some(LeafRule::Redact), v) => secret::redact(&o.secret_salt, v),
        (Some(LeafRule::Quantity), Value::String(s)) => {
            quantity::canonical(s).map_or_else(|| v.clone(), Value::String)
        }
        (Some(LeafRule::Quantity), Value::Number(n)) => quantity::canonical(&n.to_string())
            .map_or_else(|| Value::Number(canon_number(n)), Value::String),
        (Some(LeafRule::IntOrString), Value::String(s)) => match s.parse::<i64>() {
            Ok(i) if i.to_string() == *s => Value::Number(i.into()),
            _ => v.clone(),
        },
        (_, Value::Number(n)) => Value::Number(canon_number(n)),
        (_, v) => v.clone(),
    }
}

/// Builds normal forms.
pub(crate) struct Normalizer<'a> {
    rules: Rules<'a>,
    names: Vec<&'a str>,
    depth: usize,
}

impl<'a> Normalizer<'a> {
    pub(crate) fn new(rules: Rules<'a>, names: Vec<&'a str>, depth: usize) -> Self {
        Self {
            rules,
            names,
            depth,
        }
    }

    fn too_deep(&self) -> DiffError {
        DiffError::TooDeep {
            limit: self.rules.o.max_depth,
            path: Path::fields(self.names.iter().copied()),
        }
    }

    pub(crate) fn value(&mut self, v: &'a Value) -> Result<Value, DiffError> {
        match v {
            Value::Object(m) => {
                if self.depth >= self.rules.o.max_depth {
                    return Err(self.too_deep());
                }
                self.depth += 1;
                let r = self.object(m);
                self.depth -= 1;
                r
            }
            Value::Array(items) => {
                if self.depth >= self.rules.o.max_depth {
                    return Err(self.too_deep());
                }
                self.depth += 1;
                let r = self.array(items);
                self.depth -= 1;
                r
            }
            scalar_value => {
                let rule = self.rules.o.leaf_rule(self.rules.kind, &self.names);
                Ok(scalar(self.rules.o, rule, scalar_value))
            }
        }
    }

    fn object(&mut self, m: &'a Map<String, Value>) -> Result<Value, DiffError> {
        let mut out = Map::new();
        let secret_root = self.names.is_empty() && self.depth == 1 && self.rules.is_secret();
        for (k, child) in m {
            if secret_root && (k == "data" || k == "stringData") {
                continue;
            }
            if let Some(n) = self.member(k, self.rules.present(Some(child)))? {
                out.insert(k.clone(), n);
            }
        }
        if secret_root
            && !self.rules.o.is_ignored(self.rules.kind, &["data"])
            && let Some(data) = secret::secret_data(&self.rules.o.secret_salt, m)
        {
            let mut inner = Normalizer::new(self.rules, vec!["data"], self.depth);
            out.insert("data".to_owned(), inner.value(&data)?);
        }
        Ok(Value::Object(out))
    }

    fn member(&mut self, k: &'a str, child: Option<&'a Value>) -> Result<Option<Value>, DiffError> {
        let Some(child) = child else {
            return Ok(None);
        };
        self.names.push(k);
        let r = self.member_inner(child);
        self.names.pop();
        r
    }

    fn member_inner(&mut self, child: &'a Value) -> Result<Option<Value>, DiffError> {
        let rules = self.rules;
        if rules.o.is_ignored(rules.kind, &self.names) {
            return Ok(None);
        }
        let n = self.value(child)?;
        if let Some(d) = rules.o.default_for(rules.kind, &self.names)
            && self.value(d)? == n
        {
            return Ok(None);
        }
        Ok(Some(n))
    }

    fn array(&mut self, items: &'a [Value]) -> Result<Value, DiffError> {
        let rules = self.rules;
        let mut out = items
            .iter()
            .map(|item| self.value(item))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(rule) = rules.o.list_rule(rules.kind, &self.names) {
            let keys = match rule {
                ListRule::Set => {
                    let mut keys: Vec<String> = out.iter().map(canonical_json).collect();
                    let mut sorted = keys.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    (sorted.len() == keys.len()).then(|| {
                        keys.iter_mut()
                            .map(|k| Segment::Value(SetValue::from_canonical(std::mem::take(k))))
                            .collect::<Vec<_>>()
                    })
                }
                _ => rules
                    .list_keys(rule, &mut self.names, items, self.depth)?
                    .ok(),
            };
            if let Some(keys) = keys {
                let mut pairs: Vec<(Segment, Value)> = keys.into_iter().zip(out).collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                out = pairs.into_iter().map(|(_, v)| v).collect();
            }
        }
        Ok(Value::Array(out))
    }
}
