//! The structured diff: desired vs observed, walked side by side.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{DiffError, Side, describe};
use crate::normalize::{KeyProblem, Normalizer, Rules, canon_number, scalar};
use crate::options::{DiffOptions, KeyField, ListRule};
use crate::path::{Path, Segment};
use crate::secret;

/// What happened at a path, going from the desired document to the observed one.
///
/// Not `non_exhaustive`: classification matches it fully, and a document change is always
/// one of these three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Present in the observed document only.
    Added,
    /// Present in the desired document only.
    Removed,
    /// Present in both with different values.
    Changed,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        })
    }
}

/// One difference. Values are in normal form ([`Differ::normalize`]): quantities
/// canonical, secrets as digests, ignored and defaulted fields left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where.
    pub path: Path,
    /// What happened.
    pub kind: ChangeKind,
    /// The desired value (`None` for [`ChangeKind::Added`]).
    pub desired: Option<Value>,
    /// The observed value (`None` for [`ChangeKind::Removed`]).
    pub observed: Option<Value>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "-".to_owned(), fleet_core::canonical_json)
        };
        write!(
            f,
            "{} {}: {} -> {}",
            self.kind,
            self.path,
            show(&self.desired),
            show(&self.observed)
        )
    }
}

/// A keyed or set list that was compared by position because its keys were unusable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The list.
    pub path: Path,
    /// The document whose list was at fault.
    #[serde(serialize_with = "ser_display")]
    pub side: Side,
    /// The position of the first faulty element.
    pub index: usize,
    /// What was wrong with it.
    pub reason: FallbackReason,
}

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a keyed list fell back to positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FallbackReason {
    /// The element is not an object.
    NotAnObject,
    /// The element lacks a key field (and the field has no default).
    MissingKey {
        /// The key field.
        field: String,
    },
    /// Two elements have the same key (or, in a set, the same value).
    DuplicateKey {
        /// The key, as its path segment.
        #[serde(serialize_with = "ser_segment")]
        key: Segment,
    },
}

fn ser_segment<S: serde::Serializer>(seg: &Segment, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Path::from_segments(vec![seg.clone()]))
}

/// The differences between two documents, sorted by path, and the lists that had to be
/// compared by position.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    changes: Vec<Change>,
    fallbacks: Vec<Fallback>,
}

impl Diff {
    /// A diff of exactly these changes (sorted by path), for applying a selection.
    pub(crate) fn from_changes(mut changes: Vec<Change>) -> Self {
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            changes,
            fallbacks: Vec::new(),
        }
    }

    /// The changes, sorted by path.
    #[must_use]
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Consumes the diff into its changes.
    #[must_use]
    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }

    /// Keyed lists compared by position instead (see [`FallbackReason`]).
    #[must_use]
    pub fn fallbacks(&self) -> &[Fallback] {
        &self.fallbacks
    }

    /// Whether the documents are equal by meaning.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The number of changes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// The change at exactly `path`.
    #[must_use]
    pub fn get(&self, path: &Path) -> Option<&Change> {
        self.changes
            .binary_search_by(|c| c.path.cmp(path))
            .ok()
            .and_then(|i| self.changes.get(i))
    }

    /// Iterates over the changes.
    pub fn iter(&self) -> std::slice::Iter<'_, Change> {
        self.changes.iter()
    }
}

impl<'d> IntoIterator for &'d Diff {
    type Item = &'d Change;
    type IntoIter = std::slice::Iter<'d, Change>;
    fn into_iter(self) -> Self::IntoIter {
        self.changes.iter()
    }
}

/// Compares, normalises and patches documents under one set of [`DiffOptions`].
///
/// `diff(a, b)` walks both trees together and stops descending wherever two subtrees are
/// equal, so an unchanged document costs one comparison pass and no allocation beyond two
/// small stacks. Rules (ignored fields, defaults, keyed lists, quantities) are only looked up
/// where the two sides differ.
///
/// The guarantees, checked by property tests:
/// - `diff(a, a)` is empty;
/// - `apply(a, &diff(a, b))` equals `normalize(b)`;
/// - editing one leaf of `a` gives exactly one change, at that leaf's path;
/// - reordering a keyed list gives no change.
///
/// Documents of different kinds are compared under the desired document's `kind`.
#[derive(Debug, Clone, Default)]
pub struct Differ {
    pub(crate) options: DiffOptions,
}

pub(crate) fn kind_of(doc: &Value) -> Option<&str> {
    doc.get("kind").and_then(Value::as_str)
}

fn as_object(doc: &Value, side: Side) -> Result<&Map<String, Value>, DiffError> {
    doc.as_object().ok_or(DiffError::NotAnObject {
        side,
        found: describe(doc),
    })
}

impl Differ {
    /// A differ with these options.
    #[must_use]
    pub fn new(options: DiffOptions) -> Self {
        Self { options }
    }

    /// A differ with [`DiffOptions::kubernetes`].
    #[must_use]
    pub fn kubernetes() -> Self {
        Self::new(DiffOptions::kubernetes())
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &DiffOptions {
        &self.options
    }

    /// The changes that turn `desired` into `observed`, sorted by path.
    ///
    /// # Errors
    ///
    /// [`DiffError::NotAnObject`] when either document is not an object;
    /// [`DiffError::TooDeep`] past [`DiffOptions::max_depth`]. A keyed list with a missing
    /// or duplicate key is not an error: it is compared by position and reported in
    /// [`Diff::fallbacks`].
    pub fn diff(&self, desired: &Value, observed: &Value) -> Result<Diff, DiffError> {
        let a = as_object(desired, Side::Desired)?;
        let b = as_object(observed, Side::Observed)?;
        let kind = kind_of(desired).or_else(|| kind_of(observed));
        let rules = Rules {
            o: &self.options,
            kind,
        };
        if same(desired, observed) {
            return Ok(Diff::default());
        }
        let salt = &self.options.secret_salt;
        let (data_a, data_b) = if rules.is_secret() {
            (secret::secret_data(salt, a), secret::secret_data(salt, b))
        } else {
            (None, None)
        };
        let mut w = Walker::new(rules, true);
        w.depth = 1;
        if rules.is_secret() {
            w.object(a, b, &["data", "stringData"])?;
            if data_a != data_b {
                w.names.push("data");
                w.steps.push(Step::Field("data"));
                w.member(data_a.as_ref(), data_b.as_ref())?;
            }
        } else {
            w.object(a, b, &[])?;
        }
        let mut changes = w.changes;
        changes.sort_by(|x, y| x.path.cmp(&y.path));
        let mut fallbacks = w.fallbacks;
        fallbacks.sort_by(|x, y| (&x.path, x.side).cmp(&(&y.path, y.side)));
        Ok(Diff { changes, fallbacks })
    }

    /// Whether the documents are equal by meaning; cheaper than [`Differ::diff`] as it stops
    /// at the first difference and builds no changes.
    ///
    /// # Errors
    ///
    /// As [`Differ::diff`].
    pub fn equivalent(&self, desired: &Value, observed: &Value) -> Result<bool, DiffError> {
        let a = as_object(desired, Side::Desired)?;
        let b = as_object(observed, Side::Observed)?;
        if same(desired, observed) {
            return Ok(true);
        }
        let rules = Rules {
            o: &self.options,
            kind: kind_of(desired).or_else(|| kind_of(observed)),
        };
        if rules.is_secret() {
            let salt = &self.options.secret_salt;
            if secret::secret_data(salt, a) != secret::secret_data(salt, b) {
                return Ok(false);
            }
        }
        let mut w = Walker::new(rules, false);
        w.depth = 1;
        let skip: &[&str] = if rules.is_secret() {
            &["data", "stringData"]
        } else {
            &[]
        };
        Ok(!w.object(a, b, skip)?)
    }

    /// The normal form of a document: ignored fields and fields equal to their default
    /// removed, `null` members removed, keyed and set lists sorted by key, quantities and
    /// int-or-string values and numbers in canonical form, Secret data as digests. Two
    /// documents are equal by meaning exactly when their normal forms are equal.
    ///
    /// # Errors
    ///
    /// As [`Differ::diff`].
    pub fn normalize(&self, doc: &Value) -> Result<Value, DiffError> {
        as_object(doc, Side::Desired)?;
        let rules = Rules {
            o: &self.options,
            kind: kind_of(doc),
        };
        Normalizer::new(rules, Vec::new(), 0).value(doc)
    }
}

#[derive(Debug)]
enum Step<'a> {
    Field(&'a str),
    Index(usize),
    Seg(Segment),
}

/// `a == b`, without a lookup per member while both objects list their members in the same
/// order (always for sorted maps; with serde_json's `preserve_order`, for an object read back
/// as it was written). Objects listed in different orders are compared by `==`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for ((kx, vx), (ky, vy)) in x.iter().zip(y) {
                if kx != ky {
                    return x == y;
                }
                if !same(vx, vy) {
                    return false;
                }
            }
            true
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

/// Members of the observed side stepped over while pairing, kept without an allocation for
/// the usual handful.
#[derive(Default)]
struct Skipped<'a> {
    inline: [Option<(&'a String, &'a Value)>; 16],
    len: usize,
    more: Vec<(&'a String, &'a Value)>,
}

impl<'a> Skipped<'a> {
    fn push(&mut self, member: (&'a String, &'a Value)) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(member);
                self.len += 1;
            }
            None => self.more.push(member),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + '_ {
        self.inline
            .iter()
            .take(self.len)
            .flatten()
            .copied()
            .chain(self.more.iter().copied())
    }
}

#[cfg(not(test))]
fn general_path_only() -> bool {
    false
}

#[cfg(test)]
thread_local! {
    /// Set by the differential test to turn the keyed-list fast path off.
    static GENERAL_PATH_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn general_path_only() -> bool {
    GENERAL_PATH_ONLY.with(std::cell::Cell::get)
}

/// Walks two documents together. In collect mode it records every change; in check mode it
/// stops at the first and records nothing.
struct Walker<'a> {
    rules: Rules<'a>,
    collect: bool,
    names: Vec<&'a str>,
    steps: Vec<Step<'a>>,
    depth: usize,
    changes: Vec<Change>,
    fallbacks: Vec<Fallback>,
}

impl<'a> Walker<'a> {
    fn new(rules: Rules<'a>, collect: bool) -> Self {
        Self {
            rules,
            collect,
            names: Vec::with_capacity(16),
            steps: Vec::with_capacity(16),
            depth: 0,
            changes: Vec::new(),
            fallbacks: Vec::new(),
        }
    }

    fn path(&self) -> Path {
        Path::from_segments(
            self.steps
                .iter()
                .map(|s| match s {
                    Step::Field(n) => Segment::field(n),
                    Step::Index(i) => Segment::Index(*i),
                    Step::Seg(s) => s.clone(),
                })
                .collect(),
        )
    }

    fn normal(&self, v: Option<&'a Value>) -> Result<Option<Value>, DiffError> {
        v.map(|v| Normalizer::new(self.rules, self.names.clone(), self.depth).value(v))
            .transpose()
    }

    /// Records a change (collect mode) and reports that there was one.
    fn emit(
        &mut self,
        kind: ChangeKind,
        a: Option<&'a Value>,
        b: Option<&'a Value>,
    ) -> Result<bool, DiffError> {
        if self.collect {
            let change = Change {
                path: self.path(),
                kind,
                desired: self.normal(a)?,
                observed: self.normal(b)?,
            };
            self.changes.push(change);
        }
        Ok(true)
    }

    fn enter(&mut self) -> Result<(), DiffError> {
        if self.depth >= self.rules.o.max_depth {
            return Err(DiffError::TooDeep {
                limit: self.rules.o.max_depth,
                path: Path::fields(self.names.iter().copied()),
            });
        }
        self.depth += 1;
        Ok(())
    }

    /// Compares two present values; `true` when they differ.
    ///
    /// Objects and lists are walked without an equality check first: every caller but the
    /// defaults check has just compared the two (and found them different), and comparing
    /// again at each level would walk the equal prefix of a subtree once per level.
    fn node(&mut self, a: &'a Value, b: &'a Value) -> Result<bool, DiffError> {
        if !matches!(
            (a, b),
            (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_))
        ) && same(a, b)
        {
            return Ok(false);
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                self.enter()?;
                let r = self.object(x, y, &[]);
                self.depth -= 1;
                r
            }
            (Value::Array(x), Value::Array(y)) => {
                self.enter()?;
                let r = self.array(x, y);
                self.depth -= 1;
                r
            }
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
                self.emit(ChangeKind::Changed, Some(a), Some(b))
            }
            _ => {
                let rule = self.rules.o.leaf_rule(self.rules.kind, &self.names);
                let same = match (rule, a, b) {
                    (None, Value::Number(x), Value::Number(y)) => {
                        canon_number(x) == canon_number(y)
                    }
                    (None, _, _) => false,
                    (rule, _, _) => scalar(self.rules.o, rule, a) == scalar(self.rules.o, rule, b),
                };
                if same {
                    Ok(false)
                } else {
                    self.emit(ChangeKind::Changed, Some(a), Some(b))
                }
            }
        }
    }

    /// One object member, present on either side or both (after `null` is made absent).
    fn member(&mut self, a: Option<&'a Value>, b: Option<&'a Value>) -> Result<bool, DiffError> {
        let r = self.member_inner(a, b);
        self.names.pop();
        self.steps.pop();
        r
    }

    fn member_inner(
        &mut self,
        a: Option<&'a Value>,
        b: Option<&'a Value>,
    ) -> Result<bool, DiffError> {
        let rules = self.rules;
        let (a, b) = (rules.present(a), rules.present(b));
        if (a.is_none() && b.is_none()) || rules.o.is_ignored(rules.kind, &self.names) {
            return Ok(false);
        }
        match (a, b) {
            (Some(a), Some(b)) => self.node(a, b),
            (Some(v), None) | (None, Some(v)) => {
                if let Some(d) = rules.o.default_for(rules.kind, &self.names) {
                    let collect = std::mem::replace(&mut self.collect, false);
                    let differs = self.node(v, d);
                    self.collect = collect;
                    if !differs? {
                        return Ok(false);
                    }
                }
                if a.is_some() {
                    self.emit(ChangeKind::Removed, a, None)
                } else {
                    self.emit(ChangeKind::Added, None, b)
                }
            }
            (None, None) => Ok(false),
        }
    }

    fn object(
        &mut self,
        a: &'a Map<String, Value>,
        b: &'a Map<String, Value>,
        skip: &[&str],
    ) -> Result<bool, DiffError> {
        /// How far ahead in `b` a member of `a` is looked for before asking `b` by name.
        const LOOKAHEAD: usize = 8;
        let mut any = false;
        // Members of `b` paired with one of `a`: when that is all of them, `b` has nothing
        // more to walk.
        let mut shared = 0;
        // Members are paired walking both sides in order, `b`'s extra members (server
        // fields, defaults) stepped over, so that an object read back as it was written, or
        // a sorted map, needs no lookup by name. A member found by name instead means the
        // orders differ, and then `b`'s unpaired members are checked against `a` by name.
        let mut rest_b = b.iter();
        let mut skipped = Skipped::default();
        let mut in_order = true;
        for (k, va) in a {
            let ahead = rest_b.clone().take(LOOKAHEAD).position(|(kb, _)| kb == k);
            let vb = match ahead {
                Some(n) => {
                    for member in rest_b.by_ref().take(n) {
                        skipped.push(member);
                    }
                    rest_b.next().map(|(_, v)| v)
                }
                None => {
                    let found = b.get(k);
                    in_order &= found.is_none();
                    found
                }
            };
            shared += usize::from(vb.is_some());
            any |= self.pair(k, va, vb, skip)?;
            if any && !self.collect {
                return Ok(true);
            }
        }
        if shared == b.len() {
            return Ok(any);
        }
        for (k, vb) in skipped.iter().chain(rest_b) {
            if skip.contains(&k.as_str()) || (!in_order && a.contains_key(k)) {
                continue;
            }
            self.names.push(k);
            self.steps.push(Step::Field(k));
            any |= self.member(None, Some(vb))?;
            if any && !self.collect {
                return Ok(true);
            }
        }
        Ok(any)
    }

    /// A member present in `a`, against its counterpart in `b` if any.
    fn pair(
        &mut self,
        k: &'a str,
        va: &'a Value,
        vb: Option<&'a Value>,
        skip: &[&str],
    ) -> Result<bool, DiffError> {
        if vb.is_some_and(|vb| same(va, vb)) || skip.contains(&k) {
            return Ok(false);
        }
        self.names.push(k);
        self.steps.push(Step::Field(k));
        self.member(Some(va), vb)
    }

    fn array(&mut self, a: &'a [Value], b: &'a [Value]) -> Result<bool, DiffError> {
        let rules = self.rules;
        let Some(rule) = rules.o.list_rule(rules.kind, &self.names) else {
            let (pa, pb): (Vec<usize>, Vec<usize>) =
                ((0..a.len()).collect(), (0..b.len()).collect());
            return self.by_position(a, &pa, b, &pb);
        };
        if let ListRule::Keyed(keys) = rule
            && !general_path_only()
            && self.same_key_order(keys, a, b)
        {
            return self.in_key_order(keys, a, b);
        }
        let ka = rules.list_keys(rule, &mut self.names, a, self.depth)?;
        let kb = rules.list_keys(rule, &mut self.names, b, self.depth)?;
        match (ka, kb) {
            (Ok(ka), Ok(kb)) => self.by_key(a, ka, b, kb),
            (ka, kb) => {
                let pa = self.order(Side::Desired, a.len(), ka);
                let pb = self.order(Side::Observed, b.len(), kb);
                self.by_position(a, &pa, b, &pb)
            }
        }
    }

    /// Whether a keyed list has, element by element, the same keys on both sides, each one
    /// distinct: the common case (a live object lists containers, env and ports as they were
    /// applied). Then matching by key is matching by position, and no key needs building
    /// unless its element changed. Only keys whose normal form is the value itself qualify
    /// (strings and integers, with no leaf rule on the key field), so that distinct raw
    /// keys are distinct keys; anything else takes the general path.
    fn same_key_order(&mut self, keys: &'a [KeyField], a: &[Value], b: &[Value]) -> bool {
        const MAX: usize = 64;
        if a.len() != b.len() || a.is_empty() || a.len() > MAX || keys.is_empty() {
            return false;
        }
        let rules = self.rules;
        for kf in keys {
            self.names.push(&kf.name);
            let leaf = rules.o.leaf_rule(rules.kind, &self.names);
            self.names.pop();
            if leaf.is_some() {
                return false;
            }
        }
        fn key<'v>(elem: &'v Value, kf: &'v KeyField) -> Option<&'v Value> {
            let v = match elem {
                Value::Object(m) => m.get(&*kf.name).filter(|v| !v.is_null()),
                _ => None,
            };
            let v = v.or(kf.default.as_ref())?;
            match v {
                Value::String(_) => Some(v),
                Value::Number(n) if n.is_i64() || n.is_u64() => Some(v),
                _ => None,
            }
        }
        for (x, y) in a.iter().zip(b) {
            for kf in keys {
                match (key(x, kf), key(y, kf)) {
                    (Some(kx), Some(ky)) if kx == ky => {}
                    _ => return false,
                }
            }
        }
        // distinct keys (the general path reports duplicates as a fallback)
        for (i, x) in a.iter().enumerate() {
            for y in a.iter().skip(i + 1) {
                if keys.iter().all(|kf| key(x, kf) == key(y, kf)) {
                    return false;
                }
            }
        }
        true
    }

    /// Walks a keyed list whose keys are in the same order on both sides
    /// ([`Self::same_key_order`]): element `i` against element `i`, under its key.
    fn in_key_order(
        &mut self,
        keys: &'a [KeyField],
        a: &'a [Value],
        b: &'a [Value],
    ) -> Result<bool, DiffError> {
        let mut any = false;
        for (x, y) in a.iter().zip(b) {
            if same(x, y) {
                continue;
            }
            let step = if self.collect {
                let rules = self.rules;
                match rules.element_key(keys, &mut self.names, x) {
                    Ok(k) => Step::Seg(k),
                    Err(_) => Step::Index(0),
                }
            } else {
                // check mode builds no path
                Step::Index(0)
            };
            self.steps.push(step);
            let r = self.node(x, y);
            self.steps.pop();
            any |= r?;
            if any && !self.collect {
                return Ok(true);
            }
        }
        Ok(any)
    }

    /// The order a list has in normal form: sorted by key when its keys are usable, as it
    /// is otherwise (and then a fallback is recorded).
    fn order(
        &mut self,
        side: Side,
        len: usize,
        keys: Result<Vec<Segment>, (usize, KeyProblem)>,
    ) -> Vec<usize> {
        match keys {
            Ok(keys) => {
                let mut idx: Vec<usize> = (0..len).collect();
                idx.sort_by(|&x, &y| keys.get(x).cmp(&keys.get(y)));
                idx
            }
            Err((index, problem)) => {
                if self.collect {
                    let reason = match problem {
                        KeyProblem::NotAnObject => FallbackReason::NotAnObject,
                        KeyProblem::Missing(field) => FallbackReason::MissingKey { field },
                        KeyProblem::Duplicate(key) => FallbackReason::DuplicateKey { key },
                    };
                    self.fallbacks.push(Fallback {
                        path: self.path(),
                        side,
                        index,
                        reason,
                    });
                }
                (0..len).collect()
            }
        }
    }

    fn by_position(
        &mut self,
        a: &'a [Value],
        pa: &[usize],
        b: &'a [Value],
        pb: &[usize],
    ) -> Result<bool, DiffError> {
        let mut any = false;
        for i in 0..pa.len().max(pb.len()) {
            let x = pa.get(i).and_then(|&j| a.get(j));
            let y = pb.get(i).and_then(|&j| b.get(j));
            let equal = match (x, y) {
                (Some(x), Some(y)) => same(x, y),
                (x, y) => x.is_none() && y.is_none(),
            };
            if equal {
                continue;
            }
            self.steps.push(Step::Index(i));
            let r = match (x, y) {
                (Some(x), Some(y)) => self.node(x, y),
                (Some(x), None) => self.emit(ChangeKind::Removed, Some(x), None),
                (None, y) => self.emit(ChangeKind::Added, None, y),
            };
            self.steps.pop();
            any |= r?;
            if any && !self.collect {
                return Ok(true);
            }
        }
        Ok(any)
    }

    fn by_key(
        &mut self,
        a: &'a [Value],
        ka: Vec<Segment>,
        b: &'a [Value],
        kb: Vec<Segment>,
    ) -> Result<bool, DiffError> {
        let mut xs: Vec<(Segment, &'a Value)> = ka.into_iter().zip(a).collect();
        let mut ys: Vec<(Segment, &'a Value)> = kb.into_iter().zip(b).collect();
        xs.sort_by(|p, q| p.0.cmp(&q.0));
        ys.sort_by(|p, q| p.0.cmp(&q.0));
        let mut xs = xs.into_iter().peekable();
        let mut ys = ys.into_iter().peekable();
        let mut any = false;
        loop {
            let order = match (xs.peek(), ys.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => x.0.cmp(&y.0),
            };
            let (x, y) = match order {
                std::cmp::Ordering::Less => (xs.next(), None),
                std::cmp::Ordering::Greater => (None, ys.next()),
                std::cmp::Ordering::Equal => (xs.next(), ys.next()),
            };
            let r = match (x, y) {
                (Some((k, x)), Some((_, y))) => {
                    if same(x, y) {
                        continue;
                    }
                    self.steps.push(Step::Seg(k));
                    self.node(x, y)
                }
                (Some((k, x)), None) => {
                    self.steps.push(Step::Seg(k));
                    self.emit(ChangeKind::Removed, Some(x), None)
                }
                (None, Some((k, y))) => {
                    self.steps.push(Step::Seg(k));
                    self.emit(ChangeKind::Added, None, Some(y))
                }
                (None, None) => break,
            };
            self.steps.pop();
            any |= r?;
            if any && !self.collect {
                return Ok(true);
            }
        }
        Ok(any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    mod fast_path {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::super::{Differ, GENERAL_PATH_ONLY};
        use crate::DiffOptions;

        /// A keyed list element: names may repeat (duplicates), keys may be missing, be
        /// integers, floats, or quantities, so every way out of the fast path is taken.
        fn element() -> impl Strategy<Value = Value> {
            (
                prop::option::weighted(0.9, prop::sample::select(&["a", "b", "c", "d"][..])),
                prop_oneof![
                    Just(Value::Null),
                    (0i64..3).prop_map(|p| json!(p)),
                    Just(json!(1.0)),
                    Just(json!("1")),
                ],
                prop_oneof![
                    Just(json!("1")),
                    Just(json!("1000m")),
                    Just(json!(2)),
                    Just(json!({"x": [1, 2]})),
                    Just(json!([{"name": "a"}, {"name": "b"}])),
                ],
            )
                .prop_map(|(name, port, value)| {
                    let mut m = serde_json::Map::new();
                    if let Some(n) = name {
                        m.insert("name".into(), json!(n));
                    }
                    if !port.is_null() {
                        m.insert("containerPort".into(), port);
                    }
                    m.insert("value".into(), value);
                    Value::Object(m)
                })
        }

        /// A pod spec whose containers and ports lists are keyed; the observed side keeps
        /// the desired order (the fast path's case) with some elements edited, dropped or
        /// renamed.
        fn pair() -> impl Strategy<Value = (Value, Value)> {
            (
                prop::collection::vec(element(), 0..6),
                prop::collection::vec((0usize..5, element()), 0..4),
            )
                .prop_map(|(list, edits)| {
                    let mut observed = list.clone();
                    for (i, e) in edits {
                        match (i, observed.len()) {
                            (_, 0) => observed.push(e),
                            (0, n) => {
                                observed.remove(n - 1);
                            }
                            (i, n) => observed[i % n] = e,
                        }
                    }
                    let doc = |containers: Vec<Value>| {
                        json!({"kind": "Deployment", "spec": {"template": {"spec": {
                            "containers": containers.clone(),
                            "initContainers": [{"name": "init", "ports": containers}]
                        }}}})
                    };
                    (doc(list), doc(observed))
                })
        }

        fn both<T>(f: impl Fn() -> T) -> (T, T) {
            let fast = f();
            GENERAL_PATH_ONLY.with(|g| g.set(true));
            let general = f();
            GENERAL_PATH_ONLY.with(|g| g.set(false));
            (fast, general)
        }

        /// The same document with every object's members in reverse order (a no-op when
        /// serde_json keeps maps sorted; with `preserve_order` it takes objects off the
        /// same-order path).
        fn reversed(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .rev()
                        .map(|(k, v)| (k.clone(), reversed(v)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
                other => other.clone(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// `same` is `==`, whatever the member order on either side.
            #[test]
            fn same_is_equality((a, b) in pair()) {
                use super::super::same;
                for (x, y) in [(&a, &b), (&a, &a), (&b, &b)] {
                    let (rx, ry) = (reversed(x), reversed(y));
                    prop_assert_eq!(same(x, y), x == y);
                    prop_assert_eq!(same(&rx, y), &rx == y);
                    prop_assert_eq!(same(x, &ry), x == &ry);
                }
            }

            /// Members pair up the same whether both sides list them in one order or not.
            #[test]
            fn member_order_does_not_change_the_diff((a, b) in pair()) {
                let d = Differ::kubernetes();
                let diff = d.diff(&a, &b).ok();
                prop_assert_eq!(&diff, &d.diff(&reversed(&a), &b).ok());
                prop_assert_eq!(&diff, &d.diff(&a, &reversed(&b)).ok());
                prop_assert_eq!(&diff, &d.diff(&reversed(&a), &reversed(&b)).ok());
                let same = d.equivalent(&a, &b).ok();
                prop_assert_eq!(same, d.equivalent(&reversed(&a), &b).ok());
            }

            /// The keyed-list fast path gives exactly the general path's diff and verdict.
            #[test]
            fn the_fast_path_agrees_with_the_general_path((a, b) in pair()) {
                for d in [Differ::kubernetes(), Differ::new(DiffOptions::plain())] {
                    let (fast, general) = both(|| d.diff(&a, &b).ok());
                    prop_assert_eq!(fast, general);
                    let (fast, general) = both(|| d.equivalent(&a, &b).ok());
                    prop_assert_eq!(fast, general);
                    let (fast, general) = both(|| d.diff(&b, &a).ok());
                    prop_assert_eq!(fast, general);
                }
            }
        }
    }

    #[test]
    fn reordered_containers_are_not_drift() {
        let d = Differ::kubernetes();
        let a = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
        let b = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "y"}, {"name": "a", "image": "x"}]}}}});
        assert!(d.diff(&a, &b).unwrap().is_empty());
        assert!(d.equivalent(&a, &b).unwrap());
    }

    #[test]
    fn keyed_change_has_a_key_path() {
        let d = Differ::kubernetes();
        let a = json!({"spec": {"containers": [{"name": "web", "image": "x"}]}});
        let b = json!({"spec": {"containers": [{"name": "web", "image": "y"}]}});
        let diff = d.diff(&a, &b).unwrap();
        assert_eq!(diff.len(), 1);
        assert_eq!(
            diff.changes()[0].path.to_string(),
            "spec.containers[name=web].image"
        );
    }
}
