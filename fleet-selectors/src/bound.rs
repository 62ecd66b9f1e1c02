//! The fast scan path: a compiled selector bound to one snapshot's symbols.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::glob::GlobPattern;
use chrono::{DateTime, Utc};
use fleet_core::{
    LabelColumn, PropertyColumn, Snapshot, StoredValue, Sym, TargetRef, Value, ValueId, Version,
};
use roaring::RoaringBitmap;

use crate::ast::CmpOp;
use crate::compile::{CPred, CSubject, CTest, CompiledSelector, Node, Operand};
use crate::eval::resolve;
use crate::index::TargetSet;

/// Hashes a `Sym` or `ValueId` (one `u32`) with a multiply: memo tables are hit once per
/// target, and SipHash would dominate the scan.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A [`CompiledSelector`] bound to a snapshot: property and label names, and string
/// literals, are resolved to the snapshot's symbols once, so matching a target compares
/// integers instead of strings. Glob results are memoised per distinct value.
///
/// Use it to scan many targets of one snapshot. Matching takes `&mut self` because its memo
/// tables fill while it runs; bind once per thread to scan in parallel.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use fleet_core::synth::{FleetSpec, generate, schema};
/// use fleet_selectors::compile;
///
/// let inv = generate(&FleetSpec::new(1_000).seed(2)).into_inventory(Default::default()).unwrap();
/// let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let sel = compile(r#"region in ("eu-*") and nodes > 50"#, &schema())?;
/// let mut bound = sel.bind(inv.view(), now);
/// let fast = inv.view().iter().filter(|t| bound.matches(t)).count();
/// assert_eq!(fast, inv.view().iter().filter(|t| sel.matches(t, now)).count());
/// assert_eq!(bound.scan().len() as usize, fast);
/// # Ok::<(), fleet_selectors::SelectorError>(())
/// ```
#[derive(Debug)]
pub struct BoundSelector<'s> {
    snap: &'s Snapshot,
    now: DateTime<Utc>,
    root: BNode<'s>,
}

#[derive(Debug)]
enum BNode<'s> {
    All,
    And(Vec<BNode<'s>>),
    Or(Vec<BNode<'s>>),
    Not(Box<BNode<'s>>),
    Pred(Box<BPred<'s>>),
}

#[derive(Debug)]
enum Where<'s> {
    Property(PropertyColumn<'s>),
    Label(LabelColumn<'s>),
}

impl Where<'_> {
    /// The string symbol in `slot`: `None` when missing, `Some(None)` for a non-string.
    #[inline]
    fn str_at(&self, slot: fleet_core::Slot) -> Option<Option<Sym>> {
        match self {
            Where::Property(c) => c.get(slot).map(|v| match v {
                StoredValue::Str(s) => Some(s),
                _ => None,
            }),
            Where::Label(c) => c.get(slot).map(Some),
        }
    }
}

#[derive(Debug)]
enum BPred<'s> {
    /// Anything without a fast form: evaluated as on the generic path.
    Generic(&'s CPred),
    /// A missing key: the outcome is fixed.
    Fixed(bool),
    StrEq {
        at: Where<'s>,
        negated: bool,
        value: Option<Sym>,
    },
    StrSet {
        at: Where<'s>,
        negated: bool,
        exact: Vec<Sym>,
        globs: &'s [(String, GlobPattern)],
        memo: IdMap<Sym, bool>,
    },
    Inline {
        col: PropertyColumn<'s>,
        op: CmpOp,
        value: StoredValue,
        generic: &'s CPred,
    },
    Version {
        col: PropertyColumn<'s>,
        op: CmpOp,
        version: Version,
        memo: IdMap<ValueId, bool>,
    },
    VersionSet {
        col: PropertyColumn<'s>,
        negated: bool,
        prefixes: &'s [Version],
        memo: IdMap<ValueId, bool>,
    },
    /// `label in (..)`, `label exists`: the label-key columns that match, decided at bind.
    AnyLabel {
        negated: bool,
        columns: Vec<LabelColumn<'s>>,
    },
    /// `capabilities contains ..`: capability symbols checked once each.
    Capability {
        negated: bool,
        set: &'s crate::compile::ValueSet,
        exists_only: bool,
        memo: IdMap<Sym, bool>,
    },
}

fn missing_passes(test: &CTest) -> bool {
    matches!(
        test,
        CTest::Cmp(CmpOp::Ne, _) | CTest::In { negated: true, .. }
    )
}

fn inline(v: &Value) -> Option<StoredValue> {
    match v {
        Value::Integer(i) => Some(StoredValue::Int(*i)),
        Value::Float(x) => Some(StoredValue::Float(x.to_bits())),
        Value::Bool(b) => Some(StoredValue::Bool(*b)),
        Value::Timestamp(t) => t.timestamp_nanos_opt().map(StoredValue::TimeNs),
        Value::Duration(d) => d.as_nanos().map(StoredValue::DurNs),
        _ => None,
    }
}

fn cmp_inline(a: StoredValue, b: StoredValue) -> Option<Ordering> {
    Some(match (a, b) {
        (StoredValue::Int(x), StoredValue::Int(y))
        | (StoredValue::TimeNs(x), StoredValue::TimeNs(y))
        | (StoredValue::DurNs(x), StoredValue::DurNs(y)) => x.cmp(&y),
        (StoredValue::Float(x), StoredValue::Float(y)) => {
            f64::from_bits(x).total_cmp(&f64::from_bits(y))
        }
        (StoredValue::Bool(x), StoredValue::Bool(y)) => x.cmp(&y),
        _ => return None,
    })
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

impl<'s> BPred<'s> {
    fn bind(p: &'s CPred, snap: &'s Snapshot, now: DateTime<Utc>) -> Self {
        let syms = snap.symbols();
        let missing = BPred::Fixed(missing_passes(&p.test));
        let at = match &p.subject {
            CSubject::Property(name, _) => {
                match syms.lookup(name).and_then(|k| snap.property_column(k)) {
                    Some(c) => Where::Property(c),
                    None => return missing,
                }
            }
            CSubject::Label(name) => match syms.lookup(name).and_then(|k| snap.label_column(k)) {
                Some(c) => Where::Label(c),
                None => return missing,
            },
            CSubject::LabelKeys => {
                let (negated, set) = match &p.test {
                    CTest::Exists => (false, None),
                    CTest::In { negated, set } => (*negated, Some(set)),
                    CTest::Contains(set) => (false, Some(set)),
                    _ => return BPred::Generic(p),
                };
                let columns = snap
                    .label_columns()
                    .filter(|(k, _)| {
                        set.is_none_or(|set| {
                            syms.resolve(*k).is_some_and(|key| set.matches_str(key))
                        })
                    })
                    .map(|(_, c)| c)
                    .collect();
                return BPred::AnyLabel { negated, columns };
            }
            CSubject::Capabilities => {
                return match &p.test {
                    CTest::Exists => BPred::Capability {
                        negated: false,
                        set: EMPTY_SET.get_or_init(crate::compile::ValueSet::default),
                        exists_only: true,
                        memo: IdMap::default(),
                    },
                    CTest::In { negated, set } => BPred::Capability {
                        negated: *negated,
                        set,
                        exists_only: false,
                        memo: IdMap::default(),
                    },
                    CTest::Contains(set) => BPred::Capability {
                        negated: false,
                        set,
                        exists_only: false,
                        memo: IdMap::default(),
                    },
                    _ => BPred::Generic(p),
                };
            }
            _ => return BPred::Generic(p),
        };
        match &p.test {
            CTest::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(Value::String(s))) => {
                BPred::StrEq {
                    at,
                    negated: *op == CmpOp::Ne,
                    value: syms.lookup(s),
                }
            }
            CTest::In { negated, set }
                if set.prefixes.is_empty() && set.exact.iter().all(|v| v.as_str().is_some()) =>
            {
                let mut exact: Vec<Sym> = set
                    .exact
                    .iter()
                    .filter_map(|v| v.as_str().and_then(|s| syms.lookup(s)))
                    .collect();
                exact.sort_unstable();
                BPred::StrSet {
                    at,
                    negated: *negated,
                    exact,
                    globs: &set.globs,
                    memo: IdMap::default(),
                }
            }
            CTest::In { negated, set }
                if matches!(at, Where::Property(_))
                    && set.exact.is_empty()
                    && set.globs.is_empty() =>
            {
                let Where::Property(col) = at else {
                    return BPred::Generic(p);
                };
                BPred::VersionSet {
                    col,
                    negated: *negated,
                    prefixes: &set.prefixes,
                    memo: IdMap::default(),
                }
            }
            CTest::Cmp(op, operand) if matches!(at, Where::Property(_)) => {
                let Where::Property(col) = at else {
                    return BPred::Generic(p);
                };
                match resolve(operand, now).map(std::borrow::Cow::into_owned) {
                    Some(Value::Version(version)) => BPred::Version {
                        col,
                        op: *op,
                        version,
                        memo: IdMap::default(),
                    },
                    Some(v) => match inline(&v) {
                        Some(value) => BPred::Inline {
                            col,
                            op: *op,
                            value,
                            generic: p,
                        },
                        None => BPred::Generic(p),
                    },
                    None => BPred::Generic(p),
                }
            }
            _ => BPred::Generic(p),
        }
    }

    /// Evaluates on a slot, reading the target's specification only for the predicates that
    /// need it (column predicates touch only their column).
    fn eval_slot(&mut self, slot: fleet_core::Slot, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        match self {
            BPred::Generic(_) | BPred::Capability { .. } => match snap.slot(slot) {
                Some(t) => self.eval(&t, snap, now),
                None => false,
            },
            _ => self.eval_columns(slot, snap, now),
        }
    }

    fn eval(&mut self, t: &TargetRef<'_>, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        match self {
            BPred::Generic(p) => p.eval(t, now),
            BPred::Capability {
                negated,
                set,
                exists_only,
                memo,
            } => {
                let caps = t.capability_syms();
                let hit = if *exists_only {
                    !caps.is_empty()
                } else {
                    caps.iter().any(|c| {
                        *memo.entry(*c).or_insert_with(|| {
                            snap.symbols()
                                .resolve(*c)
                                .is_some_and(|s| set.matches_str(s))
                        })
                    })
                };
                hit != *negated
            }
            _ => self.eval_columns(t.slot(), snap, now),
        }
    }

    fn eval_columns(
        &mut self,
        slot: fleet_core::Slot,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> bool {
        match self {
            BPred::AnyLabel { negated, columns } => {
                columns.iter().any(|c| c.get(slot).is_some()) != *negated
            }
            // Handled by `eval`, which has the target.
            BPred::Generic(_) | BPred::Capability { .. } => false,
            BPred::Fixed(b) => *b,
            BPred::StrEq { at, negated, value } => match at.str_at(slot) {
                None => *negated,
                Some(s) => (s.is_some() && s == *value) != *negated,
            },
            BPred::StrSet {
                at,
                negated,
                exact,
                globs,
                memo,
            } => {
                let Some(s) = at.str_at(slot) else {
                    return *negated;
                };
                let Some(s) = s else {
                    return *negated;
                };
                let hit = exact.binary_search(&s).is_ok()
                    || (!globs.is_empty()
                        && *memo.entry(s).or_insert_with(|| {
                            snap.symbols()
                                .resolve(s)
                                .is_some_and(|text| globs.iter().any(|(_, g)| g.is_match(text)))
                        }));
                hit != *negated
            }
            BPred::Inline {
                col,
                op,
                value,
                generic,
            } => match col.get(slot) {
                None => *op == CmpOp::Ne,
                Some(got) => match cmp_inline(got, *value) {
                    Some(ord) => holds(*op, ord),
                    // Stored out of line (a far instant): take the generic path.
                    None => snap.slot(slot).is_some_and(|t| generic.eval(&t, now)),
                },
            },
            BPred::Version {
                col,
                op,
                version,
                memo,
            } => match col.get(slot) {
                None => *op == CmpOp::Ne,
                Some(StoredValue::Interned(id)) => *memo.entry(id).or_insert_with(|| {
                    snap.symbols().value(id).is_some_and(|v| match (v, *op) {
                        (Value::Version(v), CmpOp::Eq) => v.has_prefix(version),
                        (Value::Version(v), CmpOp::Ne) => !v.has_prefix(version),
                        (Value::Version(v), op) => holds(op, v.cmp(version)),
                        // Not a version (a schema-less write): only `!=` holds.
                        (_, op) => op == CmpOp::Ne,
                    })
                }),
                Some(_) => *op == CmpOp::Ne,
            },
            BPred::VersionSet {
                col,
                negated,
                prefixes,
                memo,
            } => match col.get(slot) {
                None => *negated,
                Some(StoredValue::Interned(id)) => {
                    let hit = *memo.entry(id).or_insert_with(|| {
                        snap.symbols().value(id).is_some_and(|v| match v {
                            Value::Version(v) => prefixes.iter().any(|p| v.has_prefix(p)),
                            _ => false,
                        })
                    });
                    hit != *negated
                }
                Some(_) => *negated,
            },
        }
    }
}

static EMPTY_SET: std::sync::OnceLock<crate::compile::ValueSet> = std::sync::OnceLock::new();

/// Checks one predicate against candidate slots through the fast path (for the index's
/// planner, once few candidates remain).
pub(crate) fn scan_pred(
    p: &CPred,
    snap: &Snapshot,
    now: DateTime<Utc>,
    candidates: &RoaringBitmap,
) -> RoaringBitmap {
    let mut b = BPred::bind(p, snap, now);
    RoaringBitmap::from_sorted_iter(
        candidates
            .iter()
            .filter(|&s| b.eval_slot(fleet_core::Slot(s), snap, now)),
    )
    .unwrap_or_default()
}

impl BPred<'_> {
    /// A rough cost rank: cheap single-column comparisons first, memo lookups next, the
    /// generic path last. Predicates are pure, so `and`/`or` may evaluate them in any order.
    fn cost(&self) -> u8 {
        match self {
            BPred::Fixed(_) => 0,
            BPred::StrEq { .. } | BPred::Inline { .. } => 1,
            BPred::AnyLabel { .. } => 2,
            BPred::StrSet { .. } | BPred::Version { .. } | BPred::VersionSet { .. } => 3,
            BPred::Capability { .. } => 4,
            BPred::Generic(_) => 5,
        }
    }
}

impl<'s> BNode<'s> {
    fn cost(&self) -> u8 {
        match self {
            BNode::All => 0,
            BNode::Pred(p) => p.cost(),
            BNode::Not(x) => x.cost(),
            BNode::And(xs) | BNode::Or(xs) => xs
                .iter()
                .map(BNode::cost)
                .max()
                .unwrap_or(0)
                .saturating_add(1),
        }
    }

    fn bind(n: &'s Node, snap: &'s Snapshot, now: DateTime<Utc>) -> Self {
        let ordered = |xs: &'s [Node]| {
            let mut v: Vec<BNode<'s>> = xs.iter().map(|x| BNode::bind(x, snap, now)).collect();
            v.sort_by_key(BNode::cost);
            v
        };
        match n {
            Node::All => BNode::All,
            Node::And(xs) => BNode::And(ordered(xs)),
            Node::Or(xs) => BNode::Or(ordered(xs)),
            Node::Not(x) => BNode::Not(Box::new(BNode::bind(x, snap, now))),
            Node::Pred(p) => BNode::Pred(Box::new(BPred::bind(p, snap, now))),
        }
    }

    fn eval(&mut self, t: &TargetRef<'_>, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        match self {
            BNode::All => true,
            BNode::And(xs) => xs.iter_mut().all(|x| x.eval(t, snap, now)),
            BNode::Or(xs) => xs.iter_mut().any(|x| x.eval(t, snap, now)),
            BNode::Not(x) => !x.eval(t, snap, now),
            BNode::Pred(p) => p.eval(t, snap, now),
        }
    }
}

impl CompiledSelector {
    /// Binds the selector to a snapshot's symbols for fast scanning at the instant `now`.
    #[must_use]
    pub fn bind<'s>(&'s self, snapshot: &'s Snapshot, now: DateTime<Utc>) -> BoundSelector<'s> {
        BoundSelector {
            snap: snapshot,
            now,
            root: BNode::bind(&self.root, snapshot, now),
        }
    }
}

impl BoundSelector<'_> {
    /// Whether a target of the bound snapshot matches. A target from another snapshot gives
    /// meaningless answers (symbols differ).
    pub fn matches(&mut self, target: &TargetRef<'_>) -> bool {
        self.root.eval(target, self.snap, self.now)
    }

    /// Every matching target of the snapshot, by scanning.
    pub fn scan(&mut self) -> TargetSet {
        let snap = self.snap;
        let mut slots = RoaringBitmap::new();
        for t in snap.iter() {
            if self.matches(&t) {
                slots.insert(t.slot().0);
            }
        }
        TargetSet::new(slots, snap.generation())
    }
}
