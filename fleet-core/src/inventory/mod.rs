//! The in-memory inventory: targets in dense slots, a change feed, O(1) snapshots.
//!
//! # Design
//!
//! * **Slots.** Each target lives in a dense `u32` [`Slot`], so indexes elsewhere can be
//!   bitmaps of slots. A removed target's slot is *retired*, and reused only once no snapshot
//!   taken before the removal is alive (snapshots pin the slots they can see). Change-feed
//!   readers see the removal before any reuse, so they stay correct too.
//! * **Generations.** Every mutation is one [`Change`] stamped with a new, larger
//!   [`Generation`] from a pluggable [`Sequencer`] (a shared store can hand out generations
//!   that order several replicas). A mutation may carry an [`Expect`]ation about the target's
//!   own generation; a stale one is refused with [`InventoryError::Conflict`].
//! * **Change feed.** A bounded log of changes, read with a pull cursor (`changes since g`).
//!   It never drops silently: a reader whose position was discarded gets
//!   [`FeedError::Lagged`] and resynchronises from a snapshot.
//! * **Snapshots.** Columns are chunked copy-on-write vectors, and strings are interned in
//!   append-only tables shared with snapshots, so a [`Snapshot`] is a handful of reference
//!   count increments, immutable, and unaffected by later writes. The first write to a chunk
//!   after a snapshot copies that chunk (1,024 entries).
//! * **Columns.** Property values live in one column per property name, label values in one
//!   per label key, so scans read dense memory by slot; the slot itself holds a value-free
//!   specification. Observed state and history are separate columns: an observation replaces
//!   one pointer and does not rewrite the target. The change feed carries full records.
//! * **Dedup.** Strings are interned; targets with the same property or label names share
//!   one key list; identical desired documents (same canonical digest) are stored once.

mod cow;
mod feed;
mod record;
mod symbols;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Weak};

use cow::{Columns, CowVec, Positions, PropCells};
pub use feed::{Change, ChangeKind, FeedCursor, FeedError};
use record::Spec;
pub use record::{Generation, Slot, StoredValue, TargetRecord, ValueRef};

pub use symbols::{Sym, Symbols, ValueId};

use crate::digest::{Digest, Document};
use crate::id::{NativeId, TargetId};
use crate::schema::{Schema, ValidationError};
use crate::target::{DEFAULT_HISTORY_LIMIT, History, HistoryEntry, ObservedState, Target};

/// Hands out generations. The default, [`LocalSequencer`], counts up from the last one; a
/// store shared by several control-plane replicas supplies its own so that all replicas agree
/// on one order.
pub trait Sequencer: Send + Sync + fmt::Debug {
    /// The generation for the next change; it must be greater than `last`.
    ///
    /// # Errors
    ///
    /// [`SequencerError`] when no generation can be had (the shared store is down).
    fn next_generation(&mut self, last: Generation) -> Result<Generation, SequencerError>;
}

/// Why a sequencer could not hand out a generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sequencer failed: {message}")]
pub struct SequencerError {
    /// What went wrong.
    pub message: String,
}

/// Counts up by one from the last generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSequencer;

impl Sequencer for LocalSequencer {
    fn next_generation(&mut self, last: Generation) -> Result<Generation, SequencerError> {
        last.0
            .checked_add(1)
            .map(Generation)
            .ok_or_else(|| SequencerError {
                message: "generations exhausted".to_owned(),
            })
    }
}

/// What a mutation expects of the target's current state (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expect {
    /// No expectation.
    #[default]
    Any,
    /// The target must not exist.
    Absent,
    /// The target must exist with exactly this generation.
    Generation(Generation),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Absent => f.write_str("absent"),
            Self::Generation(g) => write!(f, "generation {g}"),
        }
    }
}

/// One change to make to an inventory.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "mutations are short-lived values; boxing the target would cost an allocation per put"
)]
pub enum Mutation {
    /// Inserts a target or replaces its specification (kind, substrate, native id,
    /// properties, labels, capabilities, dependencies, desired document). When the target
    /// carries an observed state or history, those replace the stored ones too; when it
    /// carries none, the stored ones are kept.
    Put {
        /// The target.
        target: Target,
        /// What the caller expects.
        expect: Expect,
    },
    /// Records an observation without touching the specification.
    Observe {
        /// The target.
        id: TargetId,
        /// The observation.
        observed: ObservedState,
    },
    /// Appends a history entry (bounded; see [`History`]).
    Record {
        /// The target.
        id: TargetId,
        /// The entry.
        entry: HistoryEntry,
    },
    /// Removes a target.
    Remove {
        /// The target.
        id: TargetId,
        /// What the caller expects.
        expect: Expect,
    },
}

/// What a successful mutation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The generation it was stamped with.
    pub generation: Generation,
    /// The target's slot.
    pub slot: Slot,
}

/// New targets whose column writes [`Inventory::put_all`] gathers before writing them.
const PUT_ALL_BATCH: usize = 4096;

/// The target [`Inventory::put_all`] stopped at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target #{index} (counting from 0) was refused: {error}")]
pub struct PutAllError {
    /// Its position in the input; the targets before it were put.
    pub index: usize,
    /// Why it was refused.
    #[source]
    pub error: InventoryError,
}

/// Why a mutation was refused. A refused mutation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// The target is not in the inventory.
    #[error("target `{0}` is not in the inventory")]
    NotFound(TargetId),
    /// The target's state did not match the expectation.
    #[error("conflict on target `{id}`: expected {expected}, found {}", match .actual { Some(g) => format!("generation {g}"), None => "no target".to_owned() })]
    Conflict {
        /// The target.
        id: TargetId,
        /// What the caller expected.
        expected: Expect,
        /// The target's generation, or `None` when absent.
        actual: Option<Generation>,
    },
    /// The target does not fit the inventory's schema.
    #[error("target `{id}` does not fit the schema: {source}")]
    Invalid {
        /// The target.
        id: TargetId,
        /// Every problem.
        #[source]
        source: ValidationError,
    },
    /// Another target already has this native id.
    #[error("native id `{native_id}` of target `{id}` already belongs to target `{owner}`")]
    NativeIdTaken {
        /// The target being written.
        id: TargetId,
        /// The native id.
        native_id: NativeId,
        /// The target that has it.
        owner: TargetId,
    },
    /// The sequencer failed.
    #[error(transparent)]
    Sequencer(#[from] SequencerError),
    /// The sequencer (or a replayed change) went backwards.
    #[error("generation {got} is not after the inventory's generation {current}")]
    StaleGeneration {
        /// The offending generation.
        got: Generation,
        /// The inventory's generation.
        current: Generation,
    },
    /// Slots or symbols are exhausted (more than four billion).
    #[error("inventory capacity exhausted")]
    Full,
}

/// How an inventory is set up. Defaults: no schema, a feed of 65,536 changes, histories of
/// [`DEFAULT_HISTORY_LIMIT`] entries.
#[derive(Debug, Clone)]
#[must_use]
pub struct InventoryOptions {
    schema: Option<Schema>,
    feed_capacity: usize,
    history_limit: usize,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        Self {
            schema: None,
            feed_capacity: 65_536,
            history_limit: DEFAULT_HISTORY_LIMIT,
        }
    }
}

impl InventoryOptions {
    /// Validates every put against `schema`.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Keeps at most `n` changes in the feed (at least one). Readers further behind are told
    /// to resynchronise.
    pub fn feed_capacity(mut self, n: usize) -> Self {
        self.feed_capacity = n.max(1);
        self
    }

    /// Keeps at most `n` history entries per target (at least one).
    pub fn history_limit(mut self, n: usize) -> Self {
        self.history_limit = n.max(1);
        self
    }
}

/// Marker held by snapshots; a retired slot is reused only when no snapshot holds the pin
/// that was current when it was retired, nor any older one.
#[derive(Debug)]
struct Pin;

/// An immutable view of an inventory at one generation. Cloning is O(1); so is taking one.
#[derive(Clone)]
pub struct Snapshot {
    generation: Generation,
    len: usize,
    slot_end: u32,
    specs: CowVec<Option<Arc<Spec>>>,
    /// One column per property name: the value of each slot, or `Absent`.
    props: Arc<Columns<PropCells>>,
    /// One column per label key.
    labels: Arc<Columns<CowVec<Option<Sym>>>>,
    observed: CowVec<Option<Arc<ObservedState>>>,
    history: CowVec<Option<Arc<History>>>,
    /// Indexed by id symbol: slot + 1, or 0.
    by_id: CowVec<u32>,
    /// Indexed by native id symbol: slot + 1, or 0.
    by_native: CowVec<u32>,
    symbols: Arc<Symbols>,
    pin: Arc<Pin>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation)
            .field("len", &self.len)
            .field("slot_end", &self.slot_end)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    fn empty() -> Self {
        Self {
            generation: Generation::ZERO,
            len: 0,
            slot_end: 0,
            specs: CowVec::new(),
            props: Arc::new(Columns::default()),
            labels: Arc::new(Columns::default()),
            observed: CowVec::new(),
            history: CowVec::new(),
            by_id: CowVec::new(),
            by_native: CowVec::new(),
            symbols: Arc::new(Symbols::new()),
            pin: Arc::new(Pin),
        }
    }

    /// The generation this view is at.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Number of targets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no targets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One past the highest slot ever used: the size a bitmap of slots needs.
    #[must_use]
    pub fn slot_end(&self) -> u32 {
        self.slot_end
    }

    /// The symbol and value tables.
    #[must_use]
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// The target in `slot`, if the slot is live.
    #[must_use]
    pub fn slot(&self, slot: Slot) -> Option<TargetRef<'_>> {
        let spec = self.specs.get(slot.index())?.as_ref()?;
        Some(TargetRef {
            snap: self,
            slot,
            spec,
        })
    }

    /// The column of a property: every slot's value. Scans read it instead of per-target
    /// records; `None` when no target ever had the property.
    #[must_use]
    pub fn property_column(&self, key: Sym) -> Option<PropertyColumn<'_>> {
        self.props.get(&key).map(PropertyColumn)
    }

    /// Every property column, with its name's symbol (in no particular order).
    pub fn property_columns(&self) -> impl Iterator<Item = (Sym, PropertyColumn<'_>)> + '_ {
        self.props.iter().map(|(k, c)| (*k, PropertyColumn(c)))
    }

    /// The column of a label key.
    #[must_use]
    pub fn label_column(&self, key: Sym) -> Option<LabelColumn<'_>> {
        self.labels.get(&key).map(LabelColumn)
    }

    /// Every label column, with its key's symbol (in no particular order).
    pub fn label_columns(&self) -> impl Iterator<Item = (Sym, LabelColumn<'_>)> + '_ {
        self.labels.iter().map(|(k, c)| (*k, LabelColumn(c)))
    }

    /// The full record of a live slot (specification and values), as the change feed
    /// carries it.
    #[must_use]
    pub fn record(&self, slot: Slot) -> Option<TargetRecord> {
        let spec = self.specs.get(slot.index())?.as_ref()?;
        Some(self.record_of(slot, spec))
    }

    fn record_of(&self, slot: Slot, spec: &Arc<Spec>) -> TargetRecord {
        let i = slot.index();
        let vals: Vec<StoredValue> = spec
            .prop_keys
            .iter()
            .map(|k| self.props.get(k).and_then(|c| c.get(i)).unwrap_or_default())
            .chain(spec.label_keys.iter().filter_map(|k| {
                self.labels
                    .get(k)
                    .and_then(|c| c.get(i).copied().flatten())
                    .map(StoredValue::Str)
            }))
            .collect();
        TargetRecord::from_parts(Arc::clone(spec), &vals)
    }

    /// The target with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<TargetRef<'_>> {
        let sym = self.symbols.lookup(id)?;
        self.slot_of_sym(sym).and_then(|s| self.slot(s))
    }

    /// The slot of the target whose id has symbol `sym`.
    #[must_use]
    pub fn slot_of_sym(&self, sym: Sym) -> Option<Slot> {
        match self.by_id.get(sym.index()).copied() {
            None | Some(0) => None,
            Some(n) => Some(Slot(n - 1)),
        }
    }

    /// The target with this native id (ARN, resource id...).
    #[must_use]
    pub fn get_by_native(&self, native_id: &str) -> Option<TargetRef<'_>> {
        let sym = self.symbols.lookup(native_id)?;
        match self.by_native.get(sym.index()).copied() {
            None | Some(0) => None,
            Some(n) => self.slot(Slot(n - 1)),
        }
    }

    /// Every target, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = TargetRef<'_>> + '_ {
        (0..self.slot_end).filter_map(|s| self.slot(Slot(s)))
    }
}

/// A target as seen in a snapshot or an inventory: borrowed, resolved lazily.
#[derive(Clone, Copy)]
pub struct TargetRef<'a> {
    snap: &'a Snapshot,
    slot: Slot,
    spec: &'a Arc<Spec>,
}

/// A property's values for every slot of a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct PropertyColumn<'a>(&'a PropCells);

impl<'a> PropertyColumn<'a> {
    /// The value in `slot`, if it has one.
    #[inline]
    #[must_use]
    pub fn get(&self, slot: Slot) -> Option<StoredValue> {
        self.0.get(slot.index())
    }

    /// Every slot that has a value, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, StoredValue)> + 'a {
        self.0
            .iter()
            .filter_map(|(i, v)| Some((Slot(u32::try_from(i).ok()?), v)))
    }
}

/// A label key's values for every slot of a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct LabelColumn<'a>(&'a CowVec<Option<Sym>>);

impl<'a> LabelColumn<'a> {
    /// The value in `slot`, if the target has the label.
    #[inline]
    #[must_use]
    pub fn get(&self, slot: Slot) -> Option<Sym> {
        self.0.get(slot.index()).copied().flatten()
    }

    /// Every slot that has the label, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, Sym)> + 'a {
        self.0
            .iter()
            .filter_map(|(i, v)| Some((Slot(u32::try_from(i).ok()?), (*v)?)))
    }
}

impl fmt::Debug for TargetRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetRef")
            .field("slot", &self.slot)
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl<'a> TargetRef<'a> {
    fn sym(&self, s: Sym) -> &'a str {
        self.snap.symbols.resolve(s).unwrap_or_default()
    }

    /// The slot.
    #[must_use]
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The full interned record (specification and values), as the change feed carries it.
    #[must_use]
    pub fn record(&self) -> TargetRecord {
        self.snap.record_of(self.slot, self.spec)
    }

    /// The capability symbols, sorted by symbol.
    #[must_use]
    pub fn capability_syms(&self) -> &'a [Sym] {
        &self.spec.capabilities
    }

    /// The kind symbol.
    #[must_use]
    pub fn kind_sym(&self) -> Sym {
        self.spec.kind
    }

    /// The substrate symbol.
    #[must_use]
    pub fn substrate_sym(&self) -> Sym {
        self.spec.substrate
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> &'a str {
        self.sym(self.spec.id)
    }

    /// The kind.
    #[must_use]
    pub fn kind(&self) -> &'a str {
        self.sym(self.spec.kind)
    }

    /// The substrate.
    #[must_use]
    pub fn substrate(&self) -> &'a str {
        self.sym(self.spec.substrate)
    }

    /// The native id.
    #[must_use]
    pub fn native_id(&self) -> Option<&'a str> {
        self.spec.native_id.map(|s| self.sym(s))
    }

    /// The generation of the last specification change.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.spec.generation
    }

    /// A property's value.
    #[must_use]
    pub fn property(&self, name: &str) -> Option<ValueRef<'a>> {
        let key = self.snap.symbols.lookup(name)?;
        self.snap
            .props
            .get(&key)
            .and_then(|c| PropertyColumn(c).get(self.slot))?
            .resolve(&self.snap.symbols)
    }

    /// A label's value.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<&'a str> {
        let key = self.snap.symbols.lookup(key)?;
        let v = self
            .snap
            .labels
            .get(&key)
            .and_then(|c| LabelColumn(c).get(self.slot))?;
        Some(self.sym(v))
    }

    /// All properties, in symbol order (not name order).
    pub fn properties(&self) -> impl Iterator<Item = (&'a str, ValueRef<'a>)> + 'a {
        let snap: &'a Snapshot = self.snap;
        let slot = self.slot;
        self.spec.prop_keys.iter().filter_map(move |k| {
            let v = snap
                .props
                .get(k)
                .and_then(|c| PropertyColumn(c).get(slot))?;
            Some((snap.symbols.resolve(*k)?, v.resolve(&snap.symbols)?))
        })
    }

    /// All labels, in symbol order.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let snap: &'a Snapshot = self.snap;
        let slot = self.slot;
        self.spec.label_keys.iter().filter_map(move |k| {
            let v = snap.labels.get(k).and_then(|c| LabelColumn(c).get(slot))?;
            Some((snap.symbols.resolve(*k)?, snap.symbols.resolve(v)?))
        })
    }

    /// Capabilities, in symbol order.
    pub fn capabilities(&self) -> impl Iterator<Item = &'a str> + 'a {
        let symbols: &'a Symbols = &self.snap.symbols;
        self.spec
            .capabilities
            .iter()
            .filter_map(move |s| symbols.resolve(*s))
    }

    /// The symbols of the ids this target depends on, sorted by symbol: with
    /// [`Snapshot::slot_of_sym`], a dependency graph is built without hashing an id.
    #[must_use]
    pub fn dependency_syms(&self) -> &'a [Sym] {
        &self.spec.depends_on
    }

    /// Dependencies, in symbol order.
    pub fn depends_on(&self) -> impl Iterator<Item = &'a str> + 'a {
        let symbols: &'a Symbols = &self.snap.symbols;
        self.spec
            .depends_on
            .iter()
            .filter_map(move |s| symbols.resolve(*s))
    }

    /// The desired document.
    #[must_use]
    pub fn desired(&self) -> Option<&'a Arc<Document>> {
        self.spec.desired.as_ref()
    }

    /// The last observation.
    #[must_use]
    pub fn observed(&self) -> Option<&'a ObservedState> {
        self.snap.observed.get(self.slot.index())?.as_deref()
    }

    /// The history, when any entry was recorded.
    #[must_use]
    pub fn history(&self) -> Option<&'a History> {
        self.snap.history.get(self.slot.index())?.as_deref()
    }

    /// An owned copy of the whole target.
    #[must_use]
    pub fn to_target(&self) -> Target {
        let mut t = Target::new(
            TargetId::from_trusted(self.id()),
            self.kind(),
            self.substrate(),
        );
        t.native_id = self.native_id().and_then(|n| NativeId::new(n).ok());
        t.properties = self
            .properties()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect();
        t.labels = self
            .labels()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        t.capabilities = self.capabilities().map(str::to_owned).collect();
        t.depends_on = self
            .depends_on()
            .filter_map(|d| TargetId::new(d).ok())
            .collect();
        t.desired = self.desired().map(|d| (**d).clone());
        t.observed = self.observed().cloned();
        if let Some(h) = self.history() {
            t.history = h.clone();
        }
        t
    }
}

/// Sizes an inventory reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryStats {
    /// Live targets.
    pub targets: usize,
    /// Slots ever used (live, retired and free).
    pub slots: u32,
    /// Retired slots waiting for old snapshots to go.
    pub retired_slots: usize,
    /// Free slots ready for reuse.
    pub free_slots: usize,
    /// Interned strings.
    pub symbols: usize,
    /// Interned non-inline values.
    pub values: usize,
    /// Distinct desired documents alive.
    pub documents: usize,
    /// Changes kept in the feed.
    pub feed_len: usize,
}

/// The in-memory inventory of a fleet. One writer (`&mut self`); any number of readers
/// through [`Snapshot`]s and [`FeedCursor`]s.
///
/// # Example
///
/// ```
/// use fleet_core::{Expect, Inventory, Mutation, Target, TargetId};
///
/// let mut inv = Inventory::new();
/// let a = inv.insert(Target::new(TargetId::new("eks-1")?, "cluster", "aws").property("region", "eu-west-1"))?;
/// let before = inv.snapshot();
///
/// // Optimistic concurrency: the update names the generation it read.
/// let t = Target::new(TargetId::new("eks-1")?, "cluster", "aws").property("region", "eu-central-1");
/// inv.apply(Mutation::Put { target: t.clone(), expect: Expect::Generation(a.generation) })?;
/// assert!(inv.apply(Mutation::Put { target: t, expect: Expect::Generation(a.generation) }).is_err());
///
/// // The snapshot still reads the old value.
/// assert_eq!(before.get("eks-1").unwrap().property("region").unwrap().to_value(), "eu-west-1".into());
/// assert_eq!(inv.get("eks-1").unwrap().property("region").unwrap().to_value(), "eu-central-1".into());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Inventory {
    state: Snapshot,
    feed: feed::Feed,
    sequencer: Box<dyn Sequencer>,
    schema: Option<Schema>,
    history_limit: usize,
    shapes: HashSet<Arc<[Sym]>>,
    docs: HashMap<Digest, Weak<Document>>,
    docs_prune_at: usize,
    retired: VecDeque<(Weak<Pin>, Vec<u32>)>,
    /// Reused lowest first, which keeps slots dense.
    free: BTreeSet<u32>,
    rotate_pin: bool,
    /// Reused buffers for encoding.
    scratch: Scratch,
    key_cache: KeyCache,
    /// Column positions of the last property and label key lists written.
    positions: ColumnPositions,
    /// During [`Inventory::put_all`]: new targets whose column values are not written yet
    /// (written a column at a time by `flush_columns`; nothing reads columns meanwhile).
    pending: Vec<(Slot, TargetRecord)>,
    batching: bool,
}

impl fmt::Debug for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inventory")
            .field("generation", &self.state.generation)
            .field("len", &self.state.len)
            .finish_non_exhaustive()
    }
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Inventory {
    /// An empty inventory with default options and a [`LocalSequencer`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_options(InventoryOptions::default())
    }

    /// An empty inventory.
    #[must_use]
    pub fn with_options(options: InventoryOptions) -> Self {
        Self {
            state: Snapshot::empty(),
            feed: feed::Feed::new(options.feed_capacity),
            sequencer: Box::new(LocalSequencer),
            schema: options.schema,
            history_limit: options.history_limit,
            shapes: HashSet::new(),
            docs: HashMap::new(),
            docs_prune_at: 1024,
            retired: VecDeque::new(),
            free: BTreeSet::new(),
            rotate_pin: false,
            scratch: Scratch::default(),
            key_cache: KeyCache::default(),
            positions: ColumnPositions::default(),
            pending: Vec::new(),
            batching: false,
        }
    }

    /// Replaces the sequencer.
    #[must_use]
    pub fn with_sequencer(mut self, sequencer: Box<dyn Sequencer>) -> Self {
        self.sequencer = sequencer;
        self
    }

    /// The schema puts are validated against.
    #[must_use]
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// The current generation.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.state.generation
    }

    /// Number of targets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.state.len
    }

    /// Whether there are no targets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.state.len == 0
    }

    /// The current state, borrowed: every read of [`Snapshot`] works on it.
    #[must_use]
    pub fn view(&self) -> &Snapshot {
        &self.state
    }

    /// The target with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<TargetRef<'_>> {
        self.state.get(id)
    }

    /// An immutable snapshot at the current generation. O(1).
    pub fn snapshot(&mut self) -> Snapshot {
        if self.rotate_pin {
            self.state.pin = Arc::new(Pin);
            self.rotate_pin = false;
        }
        self.state.clone()
    }

    /// The changes after `since`, oldest first.
    ///
    /// # Errors
    ///
    /// [`FeedError::Lagged`] when some of them were discarded, [`FeedError::Ahead`] when
    /// `since` is beyond the current generation.
    pub fn changes_since(
        &self,
        since: Generation,
    ) -> Result<impl Iterator<Item = &Change> + '_, FeedError> {
        self.feed.since(since, self.state.generation)
    }

    /// Every change up to and including this generation has left the feed.
    #[must_use]
    pub fn feed_dropped_through(&self) -> Generation {
        self.feed.dropped_through()
    }

    /// Sizes, for monitoring.
    #[must_use]
    pub fn stats(&self) -> InventoryStats {
        InventoryStats {
            targets: self.state.len,
            slots: self.state.slot_end,
            retired_slots: self.retired.iter().map(|(_, v)| v.len()).sum(),
            free_slots: self.free.len(),
            symbols: self.state.symbols.len(),
            values: self.state.symbols.value_count(),
            documents: self.docs.values().filter(|w| w.strong_count() > 0).count(),
            feed_len: self.feed.len(),
        }
    }

    /// Inserts a new target.
    ///
    /// # Errors
    ///
    /// [`InventoryError::Conflict`] when the id exists; see [`Inventory::apply`].
    pub fn insert(&mut self, target: Target) -> Result<Applied, InventoryError> {
        self.apply(Mutation::Put {
            target,
            expect: Expect::Absent,
        })
    }

    /// Inserts or replaces a target, whatever its current generation.
    ///
    /// # Errors
    ///
    /// See [`Inventory::apply`].
    pub fn put(&mut self, target: Target) -> Result<Applied, InventoryError> {
        self.apply(Mutation::Put {
            target,
            expect: Expect::Any,
        })
    }

    /// Inserts or replaces a target from a borrowed copy, as [`Mutation::Put`] does. Bulk
    /// loaders use it to keep (or free later) their own copy of the targets.
    ///
    /// # Errors
    ///
    /// See [`Inventory::apply`].
    pub fn put_ref(&mut self, target: &Target, expect: Expect) -> Result<Applied, InventoryError> {
        self.put_inner(Cow::Borrowed(target), expect, None)
    }

    /// Inserts or replaces targets in order, as [`Inventory::put_ref`] does for each: every
    /// target is its own change with its own generation, and the result is the same
    /// inventory and the same feed. Loading a fleet this way is faster: the property and
    /// label values of new targets are written a column at a time, not a target at a time.
    ///
    /// Returns how many targets were put.
    ///
    /// # Errors
    ///
    /// [`PutAllError`] for the first target refused, with its position: the targets before
    /// it are in the inventory, it and the ones after it are not.
    ///
    /// ```
    /// use fleet_core::synth::{FleetSpec, generate};
    /// use fleet_core::{Expect, Inventory};
    ///
    /// let fleet = generate(&FleetSpec::new(100).seed(7));
    /// let mut inventory = Inventory::new();
    /// assert_eq!(inventory.put_all(&fleet.targets, Expect::Absent)?, 100);
    /// // a second load of the same ids is refused at the first one
    /// let err = inventory.put_all(&fleet.targets, Expect::Absent).unwrap_err();
    /// assert_eq!(err.index, 0);
    /// # Ok::<(), fleet_core::PutAllError>(())
    /// ```
    pub fn put_all<'t>(
        &mut self,
        targets: impl IntoIterator<Item = &'t Target>,
        expect: Expect,
    ) -> Result<usize, PutAllError> {
        self.batching = true;
        let mut done = 0;
        let mut result = Ok(());
        for (index, target) in targets.into_iter().enumerate() {
            if let Err(error) = self.put_inner(Cow::Borrowed(target), expect, None) {
                result = Err(PutAllError { index, error });
                break;
            }
            done += 1;
            if self.pending.len() >= PUT_ALL_BATCH {
                self.flush_columns();
            }
        }
        self.flush_columns();
        self.batching = false;
        result.map(|()| done)
    }

    /// Records an observation.
    ///
    /// # Errors
    ///
    /// [`InventoryError::NotFound`]; see [`Inventory::apply`].
    pub fn observe(
        &mut self,
        id: &TargetId,
        observed: ObservedState,
    ) -> Result<Applied, InventoryError> {
        self.apply(Mutation::Observe {
            id: id.clone(),
            observed,
        })
    }

    /// Removes a target.
    ///
    /// # Errors
    ///
    /// [`InventoryError::NotFound`]; see [`Inventory::apply`].
    pub fn remove(&mut self, id: &TargetId) -> Result<Applied, InventoryError> {
        self.apply(Mutation::Remove {
            id: id.clone(),
            expect: Expect::Any,
        })
    }

    /// Applies one mutation, stamped with the sequencer's next generation.
    ///
    /// # Errors
    ///
    /// [`InventoryError`]; a refused mutation changes nothing that a reader can see (it may
    /// have interned strings, which are invisible).
    pub fn apply(&mut self, mutation: Mutation) -> Result<Applied, InventoryError> {
        self.apply_inner(mutation, None)
    }

    /// Applies a mutation with a generation decided elsewhere (replaying a shared log). The
    /// generation must be greater than the current one.
    ///
    /// # Errors
    ///
    /// [`InventoryError::StaleGeneration`], or as [`Inventory::apply`].
    pub fn apply_at(
        &mut self,
        mutation: Mutation,
        generation: Generation,
    ) -> Result<Applied, InventoryError> {
        self.apply_inner(mutation, Some(generation))
    }

    fn next_generation(&mut self, fixed: Option<Generation>) -> Result<Generation, InventoryError> {
        let current = self.state.generation;
        let got = match fixed {
            Some(g) => g,
            None => self.sequencer.next_generation(current)?,
        };
        if got <= current {
            return Err(InventoryError::StaleGeneration { got, current });
        }
        Ok(got)
    }

    fn check(
        id: &TargetId,
        expect: Expect,
        actual: Option<Generation>,
    ) -> Result<(), InventoryError> {
        let ok = match expect {
            Expect::Any => true,
            Expect::Absent => actual.is_none(),
            Expect::Generation(g) => actual == Some(g),
        };
        if ok {
            Ok(())
        } else {
            Err(InventoryError::Conflict {
                id: id.clone(),
                expected: expect,
                actual,
            })
        }
    }

    fn current(&self, id: &TargetId) -> Option<(Slot, Arc<Spec>)> {
        let t = self.state.get(id.as_str())?;
        Some((t.slot, Arc::clone(t.spec)))
    }

    /// Writes the values of the new targets gathered by [`Inventory::put_all`]: per run of
    /// targets with the same key lists, one column at a time.
    fn flush_columns(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let props = Arc::make_mut(&mut self.state.props);
        let labels = Arc::make_mut(&mut self.state.labels);
        let mut rest: &[(Slot, TargetRecord)] = &pending;
        while let Some((_, first)) = rest.first() {
            let same = |(_, r): &&(Slot, TargetRecord)| {
                Arc::ptr_eq(&r.spec.prop_keys, &first.spec.prop_keys)
                    && Arc::ptr_eq(&r.spec.label_keys, &first.spec.label_keys)
            };
            let (run, after) = rest.split_at(rest.iter().take_while(same).count().max(1));
            let at = self.positions.props.of(&first.spec.prop_keys, props);
            for (j, &c) in at.iter().enumerate() {
                if let Some(col) = props.at_mut(c) {
                    col.set_many(
                        run.iter()
                            .filter_map(|(s, r)| Some((s.index(), *r.prop_vals().get(j)?))),
                    );
                }
            }
            let at = self.positions.labels.of(&first.spec.label_keys, labels);
            for (j, &c) in at.iter().enumerate() {
                if let Some(col) = labels.at_mut(c) {
                    col.set_many(run.iter().filter_map(|(s, r)| {
                        let v = r.vals.get(r.spec.prop_keys.len() + j)?;
                        match v {
                            StoredValue::Str(sym) => Some((s.index(), Some(*sym))),
                            _ => None,
                        }
                    }));
                }
            }
            rest = after;
        }
        self.pending = pending;
        self.pending.clear();
    }

    /// Writes a record's values into the property and label columns, clearing the names
    /// the previous specification had and this one does not.
    fn write_columns(&mut self, slot: Slot, old: Option<&Spec>, new: Option<&TargetRecord>) {
        let i = slot.index();
        let props = Arc::make_mut(&mut self.state.props);
        if let Some(old) = old {
            for k in old.prop_keys.iter() {
                if new.is_none_or(|n| n.spec.prop_keys.binary_search(k).is_err())
                    && let Some(col) = props.get_mut(k)
                {
                    col.set(i, StoredValue::Absent);
                }
            }
        }
        if let Some(new) = new {
            let at = self.positions.props.of(&new.spec.prop_keys, props);
            for (&c, v) in at.iter().zip(new.prop_vals().iter()) {
                if let Some(col) = props.at_mut(c) {
                    col.set(i, *v);
                }
            }
        }
        let labels = Arc::make_mut(&mut self.state.labels);
        if let Some(old) = old {
            for k in old.label_keys.iter() {
                if new.is_none_or(|n| n.spec.label_keys.binary_search(k).is_err())
                    && let Some(col) = labels.get_mut(k)
                {
                    col.set(i, None);
                }
            }
        }
        if let Some(new) = new {
            let at = self.positions.labels.of(&new.spec.label_keys, labels);
            for (&c, v) in at.iter().zip(new.label_vals()) {
                if let Some(col) = labels.at_mut(c) {
                    col.set(i, Some(v));
                }
            }
        }
    }

    fn apply_inner(
        &mut self,
        mutation: Mutation,
        fixed: Option<Generation>,
    ) -> Result<Applied, InventoryError> {
        match mutation {
            Mutation::Put { target, expect } => self.put_inner(Cow::Owned(target), expect, fixed),
            Mutation::Observe { id, observed } => {
                let (slot, record) = self
                    .current(&id)
                    .ok_or_else(|| InventoryError::NotFound(id.clone()))?;
                let generation = self.next_generation(fixed)?;
                let new = Arc::new(observed);
                let old = self.state.observed.get(slot.index()).cloned().flatten();
                self.state
                    .observed
                    .set(slot.index(), Some(Arc::clone(&new)));
                self.commit(
                    generation,
                    slot,
                    record.id,
                    ChangeKind::Observed { old, new },
                );
                Ok(Applied { generation, slot })
            }
            Mutation::Record { id, entry } => {
                let (slot, record) = self
                    .current(&id)
                    .ok_or_else(|| InventoryError::NotFound(id.clone()))?;
                let generation = self.next_generation(fixed)?;
                let mut history = self
                    .state
                    .history
                    .get(slot.index())
                    .cloned()
                    .flatten()
                    .map_or_else(|| History::with_limit(self.history_limit), |h| (*h).clone());
                history.push(entry);
                self.state
                    .history
                    .set(slot.index(), Some(Arc::new(history)));
                self.commit(generation, slot, record.id, ChangeKind::HistoryAppended);
                Ok(Applied { generation, slot })
            }
            Mutation::Remove { id, expect } => {
                let current = self.current(&id);
                Self::check(&id, expect, current.as_ref().map(|(_, r)| r.generation))?;
                let (slot, old_spec) =
                    current.ok_or_else(|| InventoryError::NotFound(id.clone()))?;
                let generation = self.next_generation(fixed)?;
                let i = slot.index();
                let old = self.state.record_of(slot, &old_spec);
                self.write_columns(slot, Some(&old_spec), None);
                self.state.specs.set(i, None);
                self.state.observed.set(i, None);
                self.state.history.set(i, None);
                self.state.by_id.set(old.id().index(), 0);
                if let Some(n) = old.native_id() {
                    self.state.by_native.set(n.index(), 0);
                }
                self.state.len -= 1;
                self.retire(slot.0);
                self.commit(generation, slot, old.id(), ChangeKind::Removed { old });
                Ok(Applied { generation, slot })
            }
        }
    }

    fn put_inner(
        &mut self,
        target: Cow<'_, Target>,
        expect: Expect,
        fixed: Option<Generation>,
    ) -> Result<Applied, InventoryError> {
        // The id is interned first, hashing it once for the lookup and the record; a refused
        // put leaves it interned, which no reader can see.
        let id = self
            .state
            .symbols
            .writer()
            .intern_unique(target.id.as_str())
            .ok_or(InventoryError::Full)?;
        let current = self.state.slot_of_sym(id).and_then(|slot| {
            let spec = self.state.specs.get(slot.index())?.as_ref()?;
            Some((slot, Arc::clone(spec)))
        });
        if current.is_some() {
            // a replacement reads and clears the current values: write the gathered ones
            self.flush_columns();
        }
        Self::check(
            &target.id,
            expect,
            current.as_ref().map(|(_, r)| r.generation),
        )?;
        if let Some(schema) = &self.schema {
            let problems = schema.validate_target(&target);
            if !problems.is_empty() {
                return Err(InventoryError::Invalid {
                    id: target.id.clone(),
                    source: ValidationError { problems },
                });
            }
        }
        if let Some(n) = &target.native_id
            && let Some(owner) = self.state.get_by_native(n.as_str())
            && owner.id() != target.id.as_str()
        {
            return Err(InventoryError::NativeIdTaken {
                id: target.id.clone(),
                native_id: n.clone(),
                owner: TargetId::from_trusted(owner.id()),
            });
        }
        let mut record = self.encode(id, &target)?;
        let slot = match &current {
            Some((slot, _)) => *slot,
            None => self.allocate_slot()?,
        };
        let generation = match self.next_generation(fixed) {
            Ok(g) => g,
            Err(e) => {
                if current.is_none() {
                    self.free.insert(slot.0);
                }
                return Err(e);
            }
        };
        Arc::make_mut(&mut record.spec).generation = generation;
        let i = slot.index();
        let old = current
            .as_ref()
            .map(|(s, spec)| self.state.record_of(*s, spec));
        if self.batching && current.is_none() {
            self.pending.push((slot, record.clone()));
        } else {
            self.write_columns(slot, current.as_ref().map(|(_, s)| &**s), Some(&record));
        }
        self.state.specs.set(i, Some(Arc::clone(&record.spec)));
        let (observed, history) = match target {
            Cow::Owned(t) => (t.observed, t.history),
            Cow::Borrowed(t) => (t.observed.clone(), t.history.clone()),
        };
        if let Some(obs) = observed {
            self.state.observed.set(i, Some(Arc::new(obs)));
        }
        if !history.is_empty() {
            let mut h = History::with_limit(self.history_limit);
            for e in history.iter() {
                h.push(e.clone());
            }
            self.state.history.set(i, Some(Arc::new(h)));
        }
        let kind = match old {
            Some(old) => {
                if old.native_id() != record.native_id()
                    && let Some(n) = old.native_id()
                {
                    self.state.by_native.set(n.index(), 0);
                }
                ChangeKind::Updated {
                    old,
                    new: record.clone(),
                }
            }
            None => {
                self.state.len += 1;
                self.state.by_id.set(record.id().index(), slot.0 + 1);
                ChangeKind::Inserted {
                    new: record.clone(),
                }
            }
        };
        if let Some(n) = record.native_id() {
            self.state.by_native.set(n.index(), slot.0 + 1);
        }
        self.commit(generation, slot, record.id(), kind);
        Ok(Applied { generation, slot })
    }

    fn commit(&mut self, generation: Generation, slot: Slot, id: Sym, kind: ChangeKind) {
        self.state.generation = generation;
        self.feed.push(Change {
            generation,
            slot,
            id,
            kind,
        });
    }

    /// The shared key list equal to `keys` (sorted) of a target's properties, or of its
    /// labels. Most targets have the key lists of the one before: those are compared with
    /// the last one returned before the set of all shapes is hashed.
    fn shape(&mut self, keys: &[Sym], labels: bool) -> Arc<[Sym]> {
        let last = if labels {
            &mut self.key_cache.labels.shape
        } else {
            &mut self.key_cache.props.shape
        };
        if let Some(s) = last.as_ref().filter(|s| ***s == *keys) {
            return Arc::clone(s);
        }
        let s = match self.shapes.get(keys) {
            Some(s) => Arc::clone(s),
            None => {
                let s: Arc<[Sym]> = keys.into();
                self.shapes.insert(Arc::clone(&s));
                s
            }
        };
        *last = Some(Arc::clone(&s));
        s
    }

    fn document(&mut self, doc: &Document) -> Arc<Document> {
        if let Some(existing) = self.docs.get(doc.digest()).and_then(Weak::upgrade) {
            return existing;
        }
        let arc = Arc::new(doc.clone());
        self.docs.insert(doc.digest().clone(), Arc::downgrade(&arc));
        if self.docs.len() >= self.docs_prune_at {
            self.docs.retain(|_, w| w.strong_count() > 0);
            self.docs_prune_at = (self.docs.len() * 2).max(1024);
        }
        arc
    }

    /// Encodes `t`, whose id is already interned as `id`.
    fn encode(&mut self, id: Sym, t: &Target) -> Result<TargetRecord, InventoryError> {
        let full = || InventoryError::Full;
        let symbols = Arc::clone(&self.state.symbols);
        // One lock acquisition for all of the target's strings.
        let mut w = symbols.writer();
        let kind = w.intern(&t.kind).ok_or_else(full)?;
        let substrate = w.intern(&t.substrate).ok_or_else(full)?;
        let native_id = match &t.native_id {
            Some(n) => Some(w.intern_unique(n.as_str()).ok_or_else(full)?),
            None => None,
        };
        let mut props = std::mem::take(&mut self.scratch.props);
        let mut labels = std::mem::take(&mut self.scratch.labels);
        props.clear();
        labels.clear();
        // Most targets have the same property and label names as the one before: compare
        // the names with the cached ones instead of hashing them again.
        let prop_syms = self
            .key_cache
            .props
            .syms(t.properties.keys(), &mut w)
            .ok_or_else(full)?;
        for (k, v) in prop_syms.iter().zip(t.properties.values()) {
            props.push((*k, StoredValue::encode(v, &mut w).ok_or_else(full)?));
        }
        let label_syms = self
            .key_cache
            .labels
            .syms(t.labels.keys().map(String::as_str), &mut w)
            .ok_or_else(full)?;
        for (k, v) in label_syms.iter().zip(t.labels.values()) {
            labels.push((*k, w.intern(v).ok_or_else(full)?));
        }
        let mut caps = Vec::with_capacity(t.capabilities.len());
        for c in &t.capabilities {
            caps.push(w.intern(c).ok_or_else(full)?);
        }
        let mut deps = Vec::with_capacity(t.depends_on.len());
        for d in &t.depends_on {
            deps.push(w.intern_unique(d.as_str()).ok_or_else(full)?);
        }
        drop(w);
        props.sort_unstable_by_key(|(k, _)| *k);
        labels.sort_unstable_by_key(|(k, _)| *k);
        caps.sort_unstable();
        deps.sort_unstable();
        let mut keys = std::mem::take(&mut self.scratch.keys);
        keys.clear();
        keys.extend(props.iter().map(|(k, _)| *k));
        let prop_keys = self.shape(&keys, false);
        keys.clear();
        keys.extend(labels.iter().map(|(k, _)| *k));
        let label_keys = self.shape(&keys, true);
        let mut vals = std::mem::take(&mut self.scratch.vals);
        vals.clear();
        vals.extend(props.iter().map(|(_, v)| *v));
        vals.extend(labels.iter().map(|(_, v)| StoredValue::Str(*v)));
        let spec = Arc::new(Spec {
            generation: Generation::ZERO,
            id,
            kind,
            substrate,
            native_id,
            prop_keys,
            label_keys,
            capabilities: caps.into_boxed_slice(),
            depends_on: deps.into_boxed_slice(),
            desired: t.desired.as_ref().map(|d| self.document(d)),
        });
        let record = TargetRecord::from_parts(spec, &vals);
        self.scratch = Scratch {
            keys,
            props,
            labels,
            vals,
        };
        Ok(record)
    }

    fn retire(&mut self, slot: u32) {
        let current = Arc::downgrade(&self.state.pin);
        match self.retired.back_mut() {
            Some((pin, slots)) if Weak::ptr_eq(pin, &current) => slots.push(slot),
            _ => self.retired.push_back((current, vec![slot])),
        }
        self.rotate_pin = true;
    }

    fn allocate_slot(&mut self) -> Result<Slot, InventoryError> {
        while let Some((pin, _)) = self.retired.front() {
            let is_current = Weak::ptr_eq(pin, &Arc::downgrade(&self.state.pin));
            let released = if is_current {
                Arc::strong_count(&self.state.pin) == 1
            } else {
                pin.strong_count() == 0
            };
            if !released {
                break;
            }
            if let Some((_, slots)) = self.retired.pop_front() {
                self.free.extend(slots);
            }
        }
        if let Some(s) = self.free.pop_first() {
            return Ok(Slot(s));
        }
        let s = self.state.slot_end;
        self.state.slot_end = s
            .checked_add(1)
            .filter(|&n| n < u32::MAX)
            .ok_or(InventoryError::Full)?;
        Ok(Slot(s))
    }
}

#[derive(Debug, Default)]
struct Scratch {
    keys: Vec<Sym>,
    props: Vec<(Sym, StoredValue)>,
    labels: Vec<(Sym, Sym)>,
    /// A record's values before they are copied into its one allocation.
    vals: Vec<StoredValue>,
}

#[derive(Debug, Default)]
struct ColumnPositions {
    props: Positions,
    labels: Positions,
}

/// The last property and label names seen, with their symbols.
#[derive(Debug, Default)]
struct KeyCache {
    props: KeyList,
    labels: KeyList,
}

#[derive(Debug, Default)]
struct KeyList {
    names: Vec<String>,
    syms: Vec<Sym>,
    /// The last shared key list built from these keys.
    shape: Option<Arc<[Sym]>>,
}

impl KeyList {
    /// The symbols of `keys`, from the cache when the names are the same as last time.
    fn syms<'k>(
        &mut self,
        keys: impl ExactSizeIterator<Item = &'k str> + Clone,
        w: &mut symbols::SymbolWriter<'_>,
    ) -> Option<&[Sym]> {
        let same = keys.len() == self.names.len()
            && keys.clone().zip(&self.names).all(|(a, b)| a == b.as_str());
        if !same {
            self.names.clear();
            self.syms.clear();
            for k in keys {
                self.syms.push(w.intern(k)?);
                self.names.push(k.to_owned());
            }
        }
        Some(&self.syms)
    }
}

impl FromIterator<Target> for Inventory {
    /// Builds an inventory from targets; a later target with the same id replaces an earlier
    /// one.
    fn from_iter<I: IntoIterator<Item = Target>>(iter: I) -> Self {
        let mut inv = Inventory::new();
        // as put_all does, with owned targets: column writes gathered
        inv.batching = true;
        for t in iter {
            // Without a schema and with `Expect::Any`, only capacity exhaustion can fail.
            let _ = inv.put_inner(Cow::Owned(t), Expect::Any, None);
            if inv.pending.len() >= PUT_ALL_BATCH {
                inv.flush_columns();
            }
        }
        inv.flush_columns();
        inv.batching = false;
        inv
    }
}

#[cfg(test)]
mod tests;
