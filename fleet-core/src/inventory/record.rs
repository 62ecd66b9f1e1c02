//! The compact, interned form a target takes inside an inventory.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::symbols::{Sym, SymbolWriter, Symbols, ValueId};
use crate::digest::Document;
use crate::value::{Duration, Value};
use crate::version::Version;

/// A generation: the position of a change in an inventory's history. Every mutation gets a
/// new, larger one; `Generation::ZERO` is the empty inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Generation(pub u64);

impl Generation {
    /// Before any change.
    pub const ZERO: Self = Self(0);
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A target's position in an inventory: a dense index, so indexes can be bitmaps of slots.
/// A slot is never reused while a snapshot taken before its target was removed is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(pub u32);

impl Slot {
    /// The slot as a `usize` index.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A property value as the inventory stores it: 16 bytes, strings interned, instants and
/// durations inline as nanoseconds when they fit, everything else interned as a
/// [`ValueId`]. Equality is exact (floats by bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StoredValue {
    /// An interned string.
    Str(Sym),
    /// An integer.
    Int(i64),
    /// A float, by its bits.
    Float(u64),
    /// A boolean.
    Bool(bool),
    /// An instant as nanoseconds since the Unix epoch.
    TimeNs(i64),
    /// A duration in nanoseconds.
    DurNs(i64),
    /// Any other value (versions, lists, far instants), interned.
    Interned(ValueId),
    /// No value (the empty entry of a column).
    #[default]
    Absent,
}

/// A borrowed view of a property value, resolved from the symbol tables without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// Text.
    String(&'a str),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A version.
    Version(&'a Version),
    /// An instant.
    Timestamp(DateTime<Utc>),
    /// A duration.
    Duration(Duration),
    /// A list.
    List(&'a [Value]),
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::String(s) => ValueRef::String(s),
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Float(x) => ValueRef::Float(*x),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Version(v) => ValueRef::Version(v),
            Value::Timestamp(t) => ValueRef::Timestamp(*t),
            Value::Duration(d) => ValueRef::Duration(*d),
            Value::List(l) => ValueRef::List(l),
        }
    }
}

impl ValueRef<'_> {
    /// An owned copy.
    #[must_use]
    pub fn to_value(self) -> Value {
        match self {
            Self::String(s) => Value::String(s.to_owned()),
            Self::Integer(i) => Value::Integer(i),
            Self::Float(x) => Value::Float(x),
            Self::Bool(b) => Value::Bool(b),
            Self::Version(v) => Value::Version(v.clone()),
            Self::Timestamp(t) => Value::Timestamp(t),
            Self::Duration(d) => Value::Duration(d),
            Self::List(l) => Value::List(l.to_vec()),
        }
    }
}

impl StoredValue {
    /// Encodes a value, interning what must be.
    pub(crate) fn encode(v: &Value, symbols: &mut SymbolWriter<'_>) -> Option<Self> {
        Some(match v {
            Value::String(s) => Self::Str(symbols.intern(s)?),
            Value::Integer(i) => Self::Int(*i),
            Value::Float(x) => Self::Float(x.to_bits()),
            Value::Bool(b) => Self::Bool(*b),
            Value::Timestamp(t) => match t.timestamp_nanos_opt() {
                Some(n) => Self::TimeNs(n),
                None => Self::Interned(symbols.intern_value(v)?),
            },
            Value::Duration(d) => match d.as_nanos() {
                Some(n) => Self::DurNs(n),
                None => Self::Interned(symbols.intern_value(v)?),
            },
            Value::Version(_) | Value::List(_) => Self::Interned(symbols.intern_value(v)?),
        })
    }

    /// The stored form of `v` if every part of it is already interned; `None` means no
    /// target holds `v`. For lookups: never interns.
    #[must_use]
    pub fn lookup(v: &Value, symbols: &Symbols) -> Option<Self> {
        Some(match v {
            Value::String(s) => Self::Str(symbols.lookup(s)?),
            Value::Integer(i) => Self::Int(*i),
            Value::Float(x) => Self::Float(x.to_bits()),
            Value::Bool(b) => Self::Bool(*b),
            Value::Timestamp(t) => match t.timestamp_nanos_opt() {
                Some(n) => Self::TimeNs(n),
                None => Self::Interned(symbols.lookup_value(v)?),
            },
            Value::Duration(d) => match d.as_nanos() {
                Some(n) => Self::DurNs(n),
                None => Self::Interned(symbols.lookup_value(v)?),
            },
            Value::Version(_) | Value::List(_) => Self::Interned(symbols.lookup_value(v)?),
        })
    }

    /// Resolves to a borrowed value.
    #[must_use]
    pub fn resolve(self, symbols: &Symbols) -> Option<ValueRef<'_>> {
        Some(match self {
            Self::Str(s) => ValueRef::String(symbols.resolve(s)?),
            Self::Int(i) => ValueRef::Integer(i),
            Self::Float(bits) => ValueRef::Float(f64::from_bits(bits)),
            Self::Bool(b) => ValueRef::Bool(b),
            Self::TimeNs(n) => ValueRef::Timestamp(DateTime::from_timestamp_nanos(n)),
            Self::DurNs(n) => {
                ValueRef::Duration(Duration::from_delta(chrono::TimeDelta::nanoseconds(n)))
            }
            Self::Absent => return None,
            Self::Interned(id) => ValueRef::from(symbols.value(id)?),
        })
    }
}

/// The interned specification of a target without its property and label values, which
/// live in per-name columns of the inventory (so scans read one dense column per property).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub(crate) generation: Generation,
    pub(crate) id: Sym,
    pub(crate) kind: Sym,
    pub(crate) substrate: Sym,
    pub(crate) native_id: Option<Sym>,
    /// Sorted by symbol; shared between targets with the same property names.
    pub(crate) prop_keys: Arc<[Sym]>,
    /// Sorted by symbol; shared between targets with the same label keys.
    pub(crate) label_keys: Arc<[Sym]>,
    pub(crate) capabilities: Box<[Sym]>,
    pub(crate) depends_on: Box<[Sym]>,
    pub(crate) desired: Option<Arc<Document>>,
}

/// The interned form of a target's specification (everything but observed state and
/// history), as the change feed reports it.
///
/// Indexers read these through the change feed: keys and values are symbols, so an inverted
/// index is a map from `(key, StoredValue)` to a bitmap of slots.
#[derive(Debug, Clone, PartialEq)]
///
/// Cloning one is two reference-count increments: the change feed, the inventory's pending
/// column writes and indexers share the same values.
pub struct TargetRecord {
    pub(crate) spec: Arc<Spec>,
    /// The property values in `spec.prop_keys` order, then the label values in
    /// `spec.label_keys` order (as [`StoredValue::Str`]): one allocation per record.
    pub(crate) vals: Arc<[StoredValue]>,
}

impl TargetRecord {
    /// Builds a record from its specification and values (properties in `prop_keys` order,
    /// then labels in `label_keys` order).
    pub(crate) fn from_parts(spec: Arc<Spec>, vals: &[StoredValue]) -> Self {
        Self {
            spec,
            vals: Arc::from(vals),
        }
    }

    /// The property values, in `spec.prop_keys` order.
    pub(crate) fn prop_vals(&self) -> &[StoredValue] {
        self.vals.get(..self.spec.prop_keys.len()).unwrap_or(&[])
    }

    /// The label values, in `spec.label_keys` order.
    pub(crate) fn label_vals(&self) -> impl Iterator<Item = Sym> + '_ {
        // labels are always written as strings
        self.vals
            .get(self.spec.prop_keys.len()..)
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| match v {
                StoredValue::Str(s) => Some(*s),
                _ => None,
            })
    }

    /// The generation of the last change to this specification.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.spec.generation
    }

    /// The id symbol.
    #[must_use]
    pub fn id(&self) -> Sym {
        self.spec.id
    }

    /// The kind symbol.
    #[must_use]
    pub fn kind(&self) -> Sym {
        self.spec.kind
    }

    /// The substrate symbol.
    #[must_use]
    pub fn substrate(&self) -> Sym {
        self.spec.substrate
    }

    /// The native id symbol.
    #[must_use]
    pub fn native_id(&self) -> Option<Sym> {
        self.spec.native_id
    }

    /// Property keys (sorted by symbol) and values, pairwise.
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (Sym, StoredValue)> + '_ {
        self.spec
            .prop_keys
            .iter()
            .copied()
            .zip(self.prop_vals().iter().copied())
    }

    /// The stored value of a property.
    #[must_use]
    pub fn property(&self, key: Sym) -> Option<StoredValue> {
        let i = self.spec.prop_keys.binary_search(&key).ok()?;
        self.prop_vals().get(i).copied()
    }

    /// Label keys (sorted by symbol) and values, pairwise.
    pub fn labels(&self) -> impl Iterator<Item = (Sym, Sym)> + '_ {
        self.spec.label_keys.iter().copied().zip(self.label_vals())
    }

    /// The value of a label.
    #[must_use]
    pub fn label(&self, key: Sym) -> Option<Sym> {
        let i = self.spec.label_keys.binary_search(&key).ok()?;
        match self.vals.get(self.spec.prop_keys.len() + i)? {
            StoredValue::Str(s) => Some(*s),
            _ => None,
        }
    }

    /// Capability symbols, sorted by symbol.
    #[must_use]
    pub fn capabilities(&self) -> &[Sym] {
        &self.spec.capabilities
    }

    /// Dependency id symbols, sorted by symbol.
    #[must_use]
    pub fn depends_on(&self) -> &[Sym] {
        &self.spec.depends_on
    }

    /// The desired document, shared with every target that desires the same one.
    #[must_use]
    pub fn desired(&self) -> Option<&Arc<Document>> {
        self.spec.desired.as_ref()
    }
}
