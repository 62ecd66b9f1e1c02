//! Applying a diff to a document, and resolving paths to JSON Pointers.

use fleet_core::canonical_json;
use serde_json::Value;

use crate::diff::{Change, ChangeKind, Diff, Differ, kind_of};
use crate::error::ApplyError;
use crate::normalize::{Normalizer, Rules};
use crate::options::ListRule;
use crate::path::{Path, Segment, push_pointer_token};

impl Differ {
    /// Applies `diff` to the normal form of `doc`: `apply(a, &diff(a, b)?)` equals
    /// `normalize(b)`. Modifications go first, then removals (deepest and last first, so
    /// list positions stay valid), then additions in path order.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Normalize`] when `doc` cannot be normalised;
    /// [`ApplyError::PathNotFound`] when a change does not fit the document (the diff was
    /// made against another one); [`ApplyError::MissingValue`] for an addition or
    /// modification without an observed value.
    pub fn apply(&self, doc: &Value, diff: &Diff) -> Result<Value, ApplyError> {
        let mut out = self.normalize(doc).map_err(ApplyError::Normalize)?;
        let rules = Rules {
            o: &self.options,
            kind: kind_of(doc),
        };
        let pick = |k: ChangeKind| diff.iter().filter(move |c| c.kind == k);
        let ordered = pick(ChangeKind::Changed)
            .chain(pick(ChangeKind::Removed).rev())
            .chain(pick(ChangeKind::Added));
        for change in ordered {
            apply_one(rules, &mut out, change)?;
        }
        Ok(out)
    }

    /// The JSON Pointer of `path` in `doc`, with keyed and set elements resolved to their
    /// positions in `doc` as it is (not its normal form). `None` when the path does not
    /// exist in `doc`.
    ///
    /// # Example
    ///
    /// ```
    /// use fleet_drift::Differ;
    /// use serde_json::json;
    ///
    /// let differ = Differ::kubernetes();
    /// let desired = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
    /// let observed = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}]}});
    /// let diff = differ.diff(&desired, &observed)?;
    /// let path = &diff.changes()[0].path;
    /// assert_eq!(differ.json_pointer_in(path, &observed).as_deref(), Some("/spec/containers/1/image"));
    /// # Ok::<(), fleet_drift::DiffError>(())
    /// ```
    #[must_use]
    pub fn json_pointer_in(&self, path: &Path, doc: &Value) -> Option<String> {
        let rules = Rules {
            o: &self.options,
            kind: kind_of(doc),
        };
        let mut names: Vec<&str> = Vec::new();
        let mut cur = doc;
        let mut out = String::new();
        for seg in path.segments() {
            match seg {
                Segment::Field(name) => {
                    cur = cur.as_object()?.get(&**name)?;
                    names.push(name);
                    push_pointer_token(&mut out, name);
                }
                Segment::Index(i) => {
                    cur = cur.as_array()?.get(*i)?;
                    out.push_str(&format!("/{i}"));
                }
                Segment::Key(_) | Segment::Value(_) => {
                    let items = cur.as_array()?;
                    let pos = position(rules, &mut names, items, seg)?;
                    cur = items.get(pos)?;
                    out.push_str(&format!("/{pos}"));
                }
            }
        }
        Some(out)
    }
}

/// Where the element named by a key or set segment is.
fn position<'a>(
    rules: Rules<'a>,
    names: &mut Vec<&'a str>,
    items: &[Value],
    seg: &Segment,
) -> Option<usize> {
    match seg {
        Segment::Key(_) => {
            let Some(ListRule::Keyed(keys)) = rules.o.list_rule(rules.kind, names) else {
                return None;
            };
            items
                .iter()
                .position(|item| rules.element_key(keys, names, item).ok().as_ref() == Some(seg))
        }
        Segment::Value(v) => items.iter().position(|item| {
            crate::normalize::Normalizer::new(rules, names.clone(), 0)
                .value(item)
                .is_ok_and(|n| canonical_json(&n) == v.as_json())
        }),
        Segment::Index(i) => (*i < items.len()).then_some(*i),
        Segment::Field(_) => None,
    }
}

fn apply_one(rules: Rules<'_>, doc: &mut Value, change: &Change) -> Result<(), ApplyError> {
    let not_found = || ApplyError::PathNotFound {
        path: change.path.clone(),
    };
    let value = || {
        change
            .observed
            .clone()
            .ok_or_else(|| ApplyError::MissingValue {
                path: change.path.clone(),
            })
    };
    let Some((last, parents)) = change.path.segments().split_last() else {
        *doc = value()?;
        return Ok(());
    };
    let mut names: Vec<&str> = Vec::new();
    let mut cur = doc;
    for seg in parents {
        cur = match seg {
            Segment::Field(name) => {
                names.push(name);
                cur.as_object_mut().and_then(|m| m.get_mut(&**name))
            }
            Segment::Index(i) => cur.as_array_mut().and_then(|a| a.get_mut(*i)),
            Segment::Key(_) | Segment::Value(_) => {
                let items = cur.as_array_mut().ok_or_else(not_found)?;
                let pos = position(rules, &mut names, items, seg).ok_or_else(not_found)?;
                items.get_mut(pos)
            }
        }
        .ok_or_else(not_found)?;
    }
    match last {
        Segment::Field(name) => {
            let m = cur.as_object_mut().ok_or_else(not_found)?;
            match change.kind {
                ChangeKind::Removed => {
                    m.remove(&**name).ok_or_else(not_found)?;
                }
                ChangeKind::Added | ChangeKind::Changed => {
                    let v = value()?;
                    // a value equal to the field's default is absent in normal form
                    names.push(name);
                    let default = match rules.o.default_for(rules.kind, &names) {
                        Some(d) => Some(
                            Normalizer::new(rules, names.clone(), names.len())
                                .value(d)
                                .map_err(ApplyError::Normalize)?,
                        ),
                        None => None,
                    };
                    if default.as_ref() == Some(&v) {
                        m.remove(&**name);
                    } else {
                        m.insert(name.to_string(), v);
                    }
                }
            }
        }
        Segment::Index(i) => {
            let items = cur.as_array_mut().ok_or_else(not_found)?;
            let i = *i;
            match change.kind {
                ChangeKind::Removed if i < items.len() => {
                    items.remove(i);
                }
                ChangeKind::Changed if i < items.len() => {
                    if let Some(slot) = items.get_mut(i) {
                        *slot = value()?;
                    }
                }
                ChangeKind::Added if i <= items.len() => items.insert(i, value()?),
                _ => return Err(not_found()),
            }
        }
        Segment::Key(_) | Segment::Value(_) => {
            let items = cur.as_array_mut().ok_or_else(not_found)?;
            let pos = position(rules, &mut names, items, last);
            match (change.kind, pos) {
                (ChangeKind::Removed, Some(pos)) => {
                    items.remove(pos);
                }
                (ChangeKind::Changed, Some(pos)) => {
                    if let Some(slot) = items.get_mut(pos) {
                        *slot = value()?;
                    }
                }
                (ChangeKind::Added, None) => {
                    items.push(value()?);
                    sort_list(rules, &mut names, items);
                }
                _ => return Err(not_found()),
            }
        }
    }
    Ok(())
}

/// Puts a keyed or set list back in normal-form order after an addition.
fn sort_list<'a>(rules: Rules<'a>, names: &mut Vec<&'a str>, items: &mut Vec<Value>) {
    let keys: Option<Vec<Segment>> = match rules.o.list_rule(rules.kind, names) {
        Some(ListRule::Keyed(keys)) => items
            .iter()
            .map(|item| rules.element_key(keys, names, item).ok())
            .collect(),
        Some(ListRule::Set) => Some(
            items
                .iter()
                .map(|item| {
                    Segment::Value(crate::path::SetValue::from_canonical(canonical_json(item)))
                })
                .collect(),
        ),
        _ => None,
    };
    if let Some(keys) = keys {
        let mut pairs: Vec<(Segment, Value)> = keys.into_iter().zip(items.drain(..)).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        items.extend(pairs.into_iter().map(|(_, v)| v));
    }
}
