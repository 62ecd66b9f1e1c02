//! The indexed path: inverted indexes over an inventory, kept current from its change feed.

use std::collections::BTreeMap;

use hashbrown::HashMap;
use std::ops::Bound;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use fleet_core::{
    ChangeKind, FeedCursor, FeedError, Generation, Inventory, Slot, Snapshot, StoredValue, Sym,
    Symbols, TargetRecord, Value, Version,
};
use roaring::RoaringBitmap;

use crate::ast::CmpOp;
use crate::compile::{CPred, CSubject, CTest, CompiledSelector, Node, Operand, ValueSet};
use crate::eval::resolve;

/// A set of targets: slots of an inventory, valid at one generation. Count, combine and
/// iterate it without materialising ids; resolve slots through a snapshot at the same
/// generation.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSet {
    slots: RoaringBitmap,
    generation: Generation,
}

impl TargetSet {
    pub(crate) fn new(slots: RoaringBitmap, generation: Generation) -> Self {
        Self { slots, generation }
    }

    /// How many targets.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.slots.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The generation the set is valid at.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Whether a slot is in the set.
    #[must_use]
    pub fn contains(&self, slot: Slot) -> bool {
        self.slots.contains(slot.0)
    }

    /// The slots, ascending.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.slots.iter().map(Slot)
    }

    /// The underlying bitmap.
    #[must_use]
    pub fn bitmap(&self) -> &RoaringBitmap {
        &self.slots
    }

    /// Targets in both.
    #[must_use]
    pub fn intersection(&self, other: &TargetSet) -> TargetSet {
        TargetSet {
            slots: &self.slots & &other.slots,
            generation: self.generation.max(other.generation),
        }
    }

    /// Targets in either.
    #[must_use]
    pub fn union(&self, other: &TargetSet) -> TargetSet {
        TargetSet {
            slots: &self.slots | &other.slots,
            generation: self.generation.max(other.generation),
        }
    }

    /// Targets in `self` but not `other`.
    #[must_use]
    pub fn difference(&self, other: &TargetSet) -> TargetSet {
        TargetSet {
            slots: &self.slots - &other.slots,
            generation: self.generation.max(other.generation),
        }
    }

    /// The ids of the targets, through a snapshot at the set's generation. The ids borrow
    /// the snapshot only, so they outlive the set.
    pub fn ids<'s>(&self, snapshot: &'s Snapshot) -> impl Iterator<Item = &'s str> + 's {
        self.slots
            .clone()
            .into_iter()
            .filter_map(move |s| snapshot.slot(Slot(s)).map(|t| t.id()))
    }
}

/// Walks two key-sorted lists together and calls `changed(key, before, after)` for every key
/// whose value differs (`None` where a side lacks the key); equal entries are skipped.
fn diff_sorted<K: Ord + Copy, V: PartialEq + Copy>(
    old: impl Iterator<Item = (K, V)>,
    new: impl Iterator<Item = (K, V)>,
    mut changed: impl FnMut(K, Option<V>, Option<V>),
) {
    let (mut a, mut b) = (old.peekable(), new.peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => break,
            (Some((ka, va)), Some((kb, vb))) if ka == kb => {
                if va != vb {
                    changed(ka, Some(va), Some(vb));
                }
                a.next();
                b.next();
            }
            (Some((ka, va)), Some((kb, _))) if ka < kb => {
                changed(ka, Some(va), None);
                a.next();
            }
            (Some((ka, va)), None) => {
                changed(ka, Some(va), None);
                a.next();
            }
            (_, Some((kb, vb))) => {
                changed(kb, None, Some(vb));
                b.next();
            }
        }
    }
}

fn set_bit(bits: &mut RoaringBitmap, slot: u32, insert: bool) {
    if insert {
        bits.insert(slot);
    } else {
        bits.remove(slot);
    }
}

/// An order-preserving 64-bit key for inline ordered values.
fn ord_key(v: StoredValue) -> Option<u64> {
    const FLIP: u64 = 1 << 63;
    Some(match v {
        StoredValue::Int(i) | StoredValue::TimeNs(i) | StoredValue::DurNs(i) => (i as u64) ^ FLIP,
        StoredValue::Float(bits) => {
            if bits & FLIP == 0 {
                bits ^ FLIP
            } else {
                !bits
            }
        }
        _ => return None,
    })
}

/// The order-preserving key of a typed operand, matching [`ord_key`] on stored values.
fn ord_key_of(v: &Value) -> Option<u64> {
    match v {
        Value::Integer(i) => ord_key(StoredValue::Int(*i)),
        Value::Float(x) => ord_key(StoredValue::Float(x.to_bits())),
        Value::Timestamp(t) => t
            .timestamp_nanos_opt()
            .and_then(|n| ord_key(StoredValue::TimeNs(n))),
        Value::Duration(d) => d.as_nanos().and_then(|n| ord_key(StoredValue::DurNs(n))),
        _ => None,
    }
}

/// Most buckets an ordered property keeps before it coarsens them.
const MAX_BUCKETS: usize = 4096;

/// Ordered values in buckets of `1 << shift` keys; a range query takes whole buckets from
/// the index and checks the two boundary buckets' members against their records.
#[derive(Debug, Clone, Default)]
struct Buckets {
    shift: u32,
    map: BTreeMap<u64, RoaringBitmap>,
}

impl Buckets {
    /// Builds from `(key, slot)` pairs in ascending slot order, with the finest bucket size
    /// that keeps at most a quarter of [`MAX_BUCKETS`] buckets.
    fn bulk(pairs: &[(u64, u32)]) -> Self {
        let mut keys: Vec<u64> = pairs.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut shift = 0u32;
        while shift < 60 {
            let mut distinct = 0usize;
            let mut last = None;
            for k in &keys {
                let b = k >> shift;
                if last != Some(b) {
                    distinct += 1;
                    last = Some(b);
                }
            }
            if distinct <= MAX_BUCKETS / 4 {
                break;
            }
            shift += 4;
        }
        // Grouped in a hash map (at most MAX_BUCKETS / 4 entries), ordered once below: a
        // tree lookup per value would dominate the build.
        let mut groups: HashMap<u64, Vec<u32>> = HashMap::new();
        for (k, s) in pairs {
            groups
                .entry(if shift >= 64 { 0 } else { k >> shift })
                .or_default()
                .push(*s);
        }
        Self {
            shift,
            map: groups
                .into_iter()
                .map(|(b, slots)| {
                    (
                        b,
                        RoaringBitmap::from_sorted_iter(slots).unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    fn add(&mut self, key: u64, slot: u32) {
        self.map.entry(key >> self.shift).or_default().insert(slot);
        if self.map.len() > MAX_BUCKETS {
            self.coarsen();
        }
    }

    fn remove(&mut self, key: u64, slot: u32) {
        let b = key >> self.shift;
        if let Some(bits) = self.map.get_mut(&b) {
            bits.remove(slot);
            if bits.is_empty() {
                self.map.remove(&b);
            }
        }
    }

    fn coarsen(&mut self) {
        while self.map.len() > MAX_BUCKETS / 4 && self.shift < 60 {
            self.shift += 4;
            let old = std::mem::take(&mut self.map);
            for (b, bits) in old {
                let nb = if self.shift >= 64 {
                    0
                } else {
                    (b << (self.shift - 4)) >> self.shift
                };
                *self.map.entry(nb).or_default() |= bits;
            }
        }
    }

    /// Slots whose key may lie in `[lo, hi]` (inclusive bucket bounds): exact for inner
    /// buckets, candidates for the two boundary buckets.
    /// The buckets wholly inside `[lo, hi]` (as an inclusive range of bucket indices, possibly
    /// empty) and the boundary buckets that are only partly inside.
    fn split(&self, lo: u64, hi: u64) -> (Option<(u64, u64)>, Vec<u64>) {
        let (blo, bhi) = (lo >> self.shift, hi >> self.shift);
        let starts_whole = lo == blo << self.shift;
        let ends_whole =
            self.shift == 0 || hi == ((bhi << self.shift) | ((1u64 << self.shift) - 1));
        if blo == bhi {
            return if starts_whole && ends_whole {
                (Some((blo, bhi)), Vec::new())
            } else {
                (None, vec![blo])
            };
        }
        let mut partial = Vec::new();
        let wlo = if starts_whole {
            blo
        } else {
            partial.push(blo);
            blo + 1
        };
        let whi = if ends_whole {
            bhi
        } else {
            partial.push(bhi);
            bhi - 1
        };
        ((wlo <= whi).then_some((wlo, whi)), partial)
    }

    fn range(&self, lo: u64, hi: u64) -> (RoaringBitmap, RoaringBitmap) {
        let (blo, bhi) = (lo >> self.shift, hi >> self.shift);
        let mut sure = RoaringBitmap::new();
        let mut maybe = RoaringBitmap::new();
        for (&b, bits) in self.map.range(blo..=bhi) {
            let whole = (b > blo || lo == b << self.shift)
                && (b < bhi
                    || self.shift == 0
                    || hi == ((b << self.shift) | ((1u64 << self.shift) - 1)));
            if whole {
                sure |= bits;
            } else {
                maybe |= bits;
            }
        }
        (sure, maybe)
    }
}

#[derive(Debug, Clone, Default)]
struct PropIndex {
    present: RoaringBitmap,
    /// Strings, bools and interned values (versions, lists).
    by_value: HashMap<StoredValue, RoaringBitmap>,
    /// Integers, floats, instants, durations.
    ordered: Buckets,
}

#[derive(Debug, Clone, Default)]
struct LabelIndex {
    present: RoaringBitmap,
    by_value: HashMap<Sym, RoaringBitmap>,
}

/// The cache of glob (and version-prefix) expansions, keyed by what they range over and
/// their text; each keeps its compiled matchers so changes can update it cheaply.
type GlobCache = HashMap<(GlobDomain, String), Expansion>;

#[derive(Debug, Clone)]
struct Expansion {
    exact: Vec<String>,
    matchers: Vec<crate::glob::GlobPattern>,
    prefix: Option<Version>,
    /// For a cached range of whole buckets: the bucket shift and the inclusive bucket range.
    buckets: Option<(u32, u64, u64)>,
    bits: RoaringBitmap,
}

impl Expansion {
    fn matches(&self, text: &str) -> bool {
        match &self.prefix {
            Some(p) => Version::parse(text).is_ok_and(|v| v.has_prefix(p)),
            None => {
                self.exact.iter().any(|e| e == text)
                    || self.matchers.iter().any(|g| g.is_match(text))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GlobDomain {
    Property(Sym),
    /// Versions of a property under a prefix (the "glob" text is the prefix).
    VersionPrefix(Sym),
    /// A run of whole buckets of an ordered property.
    Range(Sym),
    Label(Sym),
    LabelKeys,
    Capabilities,
}

/// Inverted indexes over an inventory: for every property and label, value → bitmap of
/// slots; ordered buckets for numbers, instants and durations; versions by value; label keys
/// and capabilities. Kept current by reading the inventory's change feed (no rebuild on a
/// change); rebuilt from the inventory only when the feed reports that it lagged.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use fleet_core::synth::{FleetSpec, generate, schema};
/// use fleet_selectors::{SelectorIndex, compile};
///
/// let mut inv = generate(&FleetSpec::new(2_000).seed(1)).into_inventory(Default::default()).unwrap();
/// let mut index = SelectorIndex::build(inv.view());
/// let sel = compile(r#"tier = production and region in ("eu-*", "europe-*") and not label in (frozen)"#, &schema())?;
/// let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let set = index.query(&sel, inv.view(), now).unwrap();
/// let scanned = inv.view().iter().filter(|t| sel.matches(t, now)).count();
/// assert_eq!(set.len() as usize, scanned);
///
/// // Writes reach the index through the change feed.
/// let first = inv.view().iter().next().unwrap().to_target();
/// inv.remove(&first.id).unwrap();
/// index.catch_up(&inv).unwrap();
/// assert_eq!(index.generation(), inv.generation());
/// # Ok::<(), fleet_selectors::SelectorError>(())
/// ```
#[derive(Debug)]
pub struct SelectorIndex {
    generation: Generation,
    all: RoaringBitmap,
    props: HashMap<Sym, PropIndex>,
    versions: HashMap<Sym, BTreeMap<Version, RoaringBitmap>>,
    labels: HashMap<Sym, LabelIndex>,
    caps: HashMap<Sym, RoaringBitmap>,
    kinds: HashMap<Sym, RoaringBitmap>,
    substrates: HashMap<Sym, RoaringBitmap>,
    globs: Mutex<GlobCache>,
}

/// Why an indexed query could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The index and the snapshot are at different generations.
    #[error(
        "the index is at generation {index} but the snapshot is at {snapshot}; call `catch_up` first"
    )]
    Stale {
        /// The index's generation.
        index: Generation,
        /// The snapshot's generation.
        snapshot: Generation,
    },
}

/// Below this many candidates, the remaining predicates of an `and` are checked by reading
/// the candidates' records instead of the index.
const SCAN_BELOW: u64 = 256;

impl SelectorIndex {
    /// Indexes every target of a snapshot (or an inventory's [`Inventory::view`]).
    #[must_use]
    pub fn build(snapshot: &Snapshot) -> Self {
        let mut ix = Self {
            generation: snapshot.generation(),
            all: RoaringBitmap::new(),
            props: HashMap::new(),
            versions: HashMap::new(),
            labels: HashMap::new(),
            caps: HashMap::new(),
            kinds: HashMap::new(),
            substrates: HashMap::new(),
            globs: Mutex::new(HashMap::new()),
        };
        ix.bulk(snapshot);
        ix
    }

    /// Builds every structure column by column: slots arrive in ascending order, so each
    /// bitmap is built from a sorted run instead of by random inserts.
    fn bulk(&mut self, snap: &Snapshot) {
        fn bitmaps<K: std::hash::Hash + Eq>(
            groups: HashMap<K, Vec<u32>>,
        ) -> HashMap<K, RoaringBitmap> {
            groups
                .into_iter()
                .map(|(k, slots)| {
                    (
                        k,
                        RoaringBitmap::from_sorted_iter(slots).unwrap_or_default(),
                    )
                })
                .collect()
        }
        let mut kinds: HashMap<Sym, Vec<u32>> = HashMap::new();
        let mut substrates: HashMap<Sym, Vec<u32>> = HashMap::new();
        let mut caps: HashMap<Sym, Vec<u32>> = HashMap::new();
        let mut all = Vec::with_capacity(snap.len());
        for t in snap.iter() {
            let s = t.slot().0;
            all.push(s);
            kinds.entry(t.kind_sym()).or_default().push(s);
            substrates.entry(t.substrate_sym()).or_default().push(s);
            for c in t.capability_syms() {
                caps.entry(*c).or_default().push(s);
            }
        }
        self.all = RoaringBitmap::from_sorted_iter(all).unwrap_or_default();
        self.kinds = bitmaps(kinds);
        self.substrates = bitmaps(substrates);
        self.caps = bitmaps(caps);
        let symbols = snap.symbols();
        for (k, col) in snap.property_columns() {
            let mut present = Vec::new();
            let mut by_value: HashMap<StoredValue, Vec<u32>> = HashMap::new();
            let mut ordered: Vec<(u64, u32)> = Vec::new();
            for (slot, v) in col.iter() {
                present.push(slot.0);
                match ord_key(v) {
                    Some(key) => ordered.push((key, slot.0)),
                    None => by_value.entry(v).or_default().push(slot.0),
                }
            }
            if present.is_empty() {
                continue;
            }
            let mut p = PropIndex {
                present: RoaringBitmap::from_sorted_iter(present).unwrap_or_default(),
                by_value: bitmaps(by_value),
                ordered: Buckets::default(),
            };
            if !ordered.is_empty() {
                p.ordered = Buckets::bulk(&ordered);
            }
            for (v, bits) in &p.by_value {
                if let StoredValue::Interned(id) = v
                    && let Some(Value::Version(ver)) = symbols.value(*id)
                {
                    *self
                        .versions
                        .entry(k)
                        .or_default()
                        .entry(ver.clone())
                        .or_default() |= bits;
                }
            }
            self.props.insert(k, p);
        }
        for (k, col) in snap.label_columns() {
            let mut present = Vec::new();
            let mut by_value: HashMap<Sym, Vec<u32>> = HashMap::new();
            for (slot, v) in col.iter() {
                present.push(slot.0);
                by_value.entry(v).or_default().push(slot.0);
            }
            if present.is_empty() {
                continue;
            }
            self.labels.insert(
                k,
                LabelIndex {
                    present: RoaringBitmap::from_sorted_iter(present).unwrap_or_default(),
                    by_value: bitmaps(by_value),
                },
            );
        }
    }

    /// The generation the index reflects.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// How many targets are indexed.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.all.len()
    }

    /// Whether no target is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Applies the inventory's changes since the index's generation. When the feed no longer
    /// holds them, rebuilds from the inventory's current state. Returns how many changes were
    /// applied (or targets indexed, after a rebuild).
    ///
    /// # Errors
    ///
    /// [`FeedError::Ahead`] when the index belongs to another inventory.
    pub fn catch_up(&mut self, inventory: &Inventory) -> Result<usize, FeedError> {
        let mut cursor = FeedCursor::at(self.generation);
        match cursor.read(inventory, usize::MAX) {
            Ok(changes) => {
                let symbols = inventory.view().symbols();
                for c in &changes {
                    self.apply(c.slot.0, &c.kind, symbols);
                }
                self.generation = inventory.generation();
                Ok(changes.len())
            }
            Err(FeedError::Lagged { .. }) => {
                *self = Self::build(inventory.view());
                Ok(inventory.len())
            }
            Err(e) => Err(e),
        }
    }

    fn apply(&mut self, slot: u32, kind: &ChangeKind, symbols: &Symbols) {
        match kind {
            ChangeKind::Inserted { new } => self.add(slot, new, symbols),
            ChangeKind::Updated { old, new } => self.update(slot, old, new, symbols),
            ChangeKind::Removed { old } => self.remove(slot, old, symbols),
            _ => {}
        }
    }

    fn glob_touch(&mut self, domain: GlobDomain, text: &str, slot: u32, insert: bool) {
        let cache = self.globs.get_mut().unwrap_or_else(PoisonError::into_inner);
        if cache.is_empty() {
            return;
        }
        for ((d, _), e) in cache.iter_mut() {
            if *d == domain && e.matches(text) {
                if insert {
                    e.bits.insert(slot);
                } else {
                    e.bits.remove(slot);
                }
            }
        }
    }

    fn add(&mut self, slot: u32, r: &TargetRecord, symbols: &Symbols) {
        self.edit(slot, r, symbols, true);
    }

    fn remove(&mut self, slot: u32, r: &TargetRecord, symbols: &Symbols) {
        self.edit(slot, r, symbols, false);
    }

    fn edit(&mut self, slot: u32, r: &TargetRecord, symbols: &Symbols, insert: bool) {
        set_bit(&mut self.all, slot, insert);
        set_bit(self.kinds.entry(r.kind()).or_default(), slot, insert);
        set_bit(
            self.substrates.entry(r.substrate()).or_default(),
            slot,
            insert,
        );
        for (k, v) in r.properties() {
            self.edit_prop(slot, k, v, symbols, insert);
        }
        for (k, v) in r.labels() {
            self.edit_label(slot, k, v, symbols, insert);
        }
        for &c in r.capabilities() {
            set_bit(self.caps.entry(c).or_default(), slot, insert);
        }
        self.refresh_any_of(slot, r, symbols, insert);
    }

    /// An update touches only what changed: a typical change edits one or two fields.
    fn update(&mut self, slot: u32, old: &TargetRecord, new: &TargetRecord, symbols: &Symbols) {
        if old.kind() != new.kind() {
            set_bit(self.kinds.entry(old.kind()).or_default(), slot, false);
            set_bit(self.kinds.entry(new.kind()).or_default(), slot, true);
        }
        if old.substrate() != new.substrate() {
            set_bit(
                self.substrates.entry(old.substrate()).or_default(),
                slot,
                false,
            );
            set_bit(
                self.substrates.entry(new.substrate()).or_default(),
                slot,
                true,
            );
        }
        diff_sorted(old.properties(), new.properties(), |k, before, after| {
            if let Some(v) = before {
                self.edit_prop(slot, k, v, symbols, false);
            }
            if let Some(v) = after {
                self.edit_prop(slot, k, v, symbols, true);
            }
        });
        let mut keys_changed = false;
        diff_sorted(old.labels(), new.labels(), |k, before, after| {
            keys_changed |= before.is_none() || after.is_none();
            if let Some(v) = before {
                self.edit_label(slot, k, v, symbols, false);
            }
            if let Some(v) = after {
                self.edit_label(slot, k, v, symbols, true);
            }
        });
        let caps_changed = old.capabilities() != new.capabilities();
        if caps_changed {
            for &c in old.capabilities() {
                set_bit(self.caps.entry(c).or_default(), slot, false);
            }
            for &c in new.capabilities() {
                set_bit(self.caps.entry(c).or_default(), slot, true);
            }
        }
        if keys_changed || caps_changed {
            self.refresh_any_of(slot, new, symbols, true);
        }
    }

    fn edit_prop(&mut self, slot: u32, k: Sym, v: StoredValue, symbols: &Symbols, insert: bool) {
        let p = self.props.entry(k).or_default();
        set_bit(&mut p.present, slot, insert);
        if let Some(key) = ord_key(v) {
            let shift = p.ordered.shift;
            if insert {
                p.ordered.add(key, slot);
            } else {
                p.ordered.remove(key, slot);
            }
            let coarsened = p.ordered.shift != shift;
            let cache = self.globs.get_mut().unwrap_or_else(PoisonError::into_inner);
            if coarsened {
                // Cached bucket runs are in the old bucket size: drop them.
                cache.retain(|(d, _), _| *d != GlobDomain::Range(k));
            } else {
                for ((d, _), e) in cache.iter_mut() {
                    if *d == GlobDomain::Range(k)
                        && let Some((sh, lo, hi)) = e.buckets
                        && (lo..=hi).contains(&(key >> sh))
                    {
                        set_bit(&mut e.bits, slot, insert);
                    }
                }
            }
            return;
        }
        let bits = p.by_value.entry(v).or_default();
        set_bit(bits, slot, insert);
        if !insert && bits.is_empty() {
            p.by_value.remove(&v);
        }
        if let StoredValue::Interned(id) = v
            && let Some(Value::Version(ver)) = symbols.value(id)
        {
            self.glob_touch(GlobDomain::VersionPrefix(k), &ver.to_string(), slot, insert);
            let vs = self.versions.entry(k).or_default();
            let bits = vs.entry(ver.clone()).or_default();
            set_bit(bits, slot, insert);
            if !insert && bits.is_empty() {
                vs.remove(ver);
            }
        }
        if let StoredValue::Str(s) = v
            && let Some(text) = symbols.resolve(s)
        {
            self.glob_touch(GlobDomain::Property(k), text, slot, insert);
        }
    }

    fn edit_label(&mut self, slot: u32, k: Sym, v: Sym, symbols: &Symbols, insert: bool) {
        let l = self.labels.entry(k).or_default();
        set_bit(&mut l.present, slot, insert);
        let bits = l.by_value.entry(v).or_default();
        set_bit(bits, slot, insert);
        if !insert && bits.is_empty() {
            l.by_value.remove(&v);
        }
        if let Some(text) = symbols.resolve(v) {
            self.glob_touch(GlobDomain::Label(k), text, slot, insert);
        }
    }

    /// Cached expansions over label keys and capabilities mean "any of the target's keys
    /// matches": recompute the slot's membership from the whole record (or remove it).
    fn refresh_any_of(&mut self, slot: u32, r: &TargetRecord, symbols: &Symbols, present: bool) {
        let cache = self.globs.get_mut().unwrap_or_else(PoisonError::into_inner);
        for ((d, _), e) in cache.iter_mut() {
            let keys: Box<dyn Iterator<Item = Sym>> = match d {
                GlobDomain::LabelKeys => Box::new(r.labels().map(|(k, _)| k)),
                GlobDomain::Capabilities => Box::new(r.capabilities().iter().copied()),
                _ => continue,
            };
            let hit = present
                && keys
                    .filter_map(|k| symbols.resolve(k))
                    .any(|t| e.matches(t));
            set_bit(&mut e.bits, slot, hit);
        }
    }

    /// Evaluates a selector through the indexes; predicates the indexes cannot answer
    /// (document paths) and small candidate sets are checked against the snapshot's records.
    ///
    /// # Errors
    ///
    /// [`QueryError::Stale`] when the snapshot is not at the index's generation.
    pub fn query(
        &self,
        selector: &CompiledSelector,
        snapshot: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<TargetSet, QueryError> {
        if snapshot.generation() != self.generation {
            return Err(QueryError::Stale {
                index: self.generation,
                snapshot: snapshot.generation(),
            });
        }
        let q = Query {
            ix: self,
            snap: snapshot,
            now,
        };
        Ok(TargetSet {
            slots: q.node(&selector.root, None),
            generation: self.generation,
        })
    }

    /// Approximate heap bytes held by the bitmaps (not the hash-map overhead).
    #[must_use]
    pub fn bitmap_bytes(&self) -> usize {
        fn size<'a>(bits: impl IntoIterator<Item = &'a RoaringBitmap>) -> usize {
            bits.into_iter().map(RoaringBitmap::serialized_size).sum()
        }
        size([&self.all])
            + self
                .props
                .values()
                .map(|p| {
                    size([&p.present]) + size(p.by_value.values()) + size(p.ordered.map.values())
                })
                .sum::<usize>()
            + self
                .versions
                .values()
                .map(|v| size(v.values()))
                .sum::<usize>()
            + self
                .labels
                .values()
                .map(|l| size([&l.present]) + size(l.by_value.values()))
                .sum::<usize>()
            + size(self.caps.values())
    }
}

struct Query<'a> {
    ix: &'a SelectorIndex,
    snap: &'a Snapshot,
    now: DateTime<Utc>,
}

impl Query<'_> {
    /// The slots matching `node`, within `within` when given (a pre-filter).
    fn node(&self, node: &Node, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        let narrowed = |bits: RoaringBitmap| match within {
            Some(w) => bits & w,
            None => bits,
        };
        match node {
            Node::All => narrowed(self.ix.all.clone()),
            Node::Or(xs) => {
                let mut out = RoaringBitmap::new();
                for x in xs {
                    out |= self.node(x, within);
                }
                out
            }
            Node::Not(x) => {
                let inner = self.node(x, within);
                narrowed(&self.ix.all - inner)
            }
            Node::And(xs) => self.and(xs, within),
            Node::Pred(p) => match within {
                // Few candidates left: read their values from the columns instead, unless
                // the index answers from a lookup or a cached expansion anyway.
                Some(w) if w.len() <= self.scan_limit(p) || !indexable(p) => {
                    crate::bound::scan_pred(p, self.snap, self.now, w)
                }
                Some(w) => self.pred_within(p, w).unwrap_or_else(|| self.pred(p) & w),
                None if !indexable(p) => {
                    crate::bound::scan_pred(p, self.snap, self.now, &self.ix.all)
                }
                None => self.pred(p),
            },
        }
    }

    /// Indexed predicates first, most selective first; once few candidates remain, the rest
    /// are checked against the records.
    fn and(&self, xs: &[Node], within: Option<&RoaringBitmap>) -> RoaringBitmap {
        let mut order: Vec<(u64, &Node)> = xs.iter().map(|x| (self.estimate(x), x)).collect();
        order.sort_by_key(|(e, _)| *e);
        let mut acc: Option<RoaringBitmap> = within.cloned();
        for (_, x) in order {
            // `node` with a pre-filter returns a subset of it, so no second intersection.
            acc = Some(self.node(x, acc.as_ref()));
            if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                break;
            }
        }
        acc.unwrap_or_else(|| self.ix.all.clone())
    }

    /// Below this many candidates, checking them one by one (a few nanoseconds each from the
    /// columns) beats building a predicate's full bitmap.
    fn scan_limit(&self, _p: &CPred) -> u64 {
        // Ordered ranges too go through the index: their runs of whole buckets are cached
        // (the first query pays for the union), so reading candidates one by one, at a cache
        // miss each, only wins for very few candidates.
        SCAN_BELOW
    }

    /// A cheap upper bound of how many slots a node matches, for ordering `and` parts.
    fn estimate(&self, node: &Node) -> u64 {
        let all = self.ix.all.len();
        match node {
            Node::Pred(p) if !indexable(p) => u64::MAX,
            Node::Pred(p) => match (&p.subject, &p.test) {
                (
                    CSubject::Property(name, _),
                    CTest::Cmp(CmpOp::Eq, Operand::Value(Value::Version(v))),
                ) => self.sym(name).map_or(0, |k| self.version_prefix_len(k, v)),
                (_, CTest::Cmp(op, _)) if op.is_ordering() => all,
                (CSubject::Property(name, _), CTest::Cmp(CmpOp::Eq, Operand::Value(v))) => self
                    .sym(name)
                    .and_then(|k| {
                        let pix = self.ix.props.get(&k)?;
                        let sv = StoredValue::lookup(v, self.snap.symbols())?;
                        Some(pix.by_value.get(&sv).map_or(0, RoaringBitmap::len))
                    })
                    .unwrap_or(all / 4),
                (CSubject::Label(k), CTest::Cmp(CmpOp::Eq, Operand::Value(Value::String(s)))) => {
                    self.sym(k)
                        .and_then(|k| {
                            let l = self.ix.labels.get(&k)?;
                            let v = self.sym(s)?;
                            Some(l.by_value.get(&v).map_or(0, RoaringBitmap::len))
                        })
                        .unwrap_or(0)
                }
                (_, CTest::Cmp(CmpOp::Ne, _) | CTest::In { negated: true, .. }) => all,
                (_, CTest::In { set, .. }) if set.globs.is_empty() => all / 8,
                _ => all / 2,
            },
            Node::Not(_) => all,
            _ => all / 2,
        }
    }

    fn sym(&self, s: &str) -> Option<Sym> {
        self.snap.symbols().lookup(s)
    }

    fn scan(&self, p: &CPred, candidates: &RoaringBitmap) -> RoaringBitmap {
        crate::bound::scan_pred(p, self.snap, self.now, candidates)
    }

    /// The cache key of a string list: its members' texts joined with a separator no text
    /// contains. `None` for a list that is a single plain lookup (not cached).
    fn list_key(set: &ValueSet) -> Option<String> {
        let exact: Vec<&str> = set.exact.iter().filter_map(Value::as_str).collect();
        if set.globs.is_empty() && exact.len() <= 1 {
            return None;
        }
        let mut texts: Vec<String> = exact.iter().map(|s| format!("={s}")).collect();
        texts.extend(set.globs.iter().map(|(t, _)| format!("~{t}")));
        Some(texts.join("\u{0}"))
    }

    /// `&cached & within` for a cache key, without copying the cached bitmap.
    fn cached_and(
        &self,
        key: &(GlobDomain, String),
        within: &RoaringBitmap,
    ) -> Option<RoaringBitmap> {
        let cache = self.ix.globs.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(key).map(|e| &e.bits & within)
    }

    /// The common predicates whose answer is a cached bitmap, intersected with the
    /// candidates by reference (a copy of a large cached set would cost more than the
    /// intersection). `None` for everything else.
    fn pred_within(&self, p: &CPred, w: &RoaringBitmap) -> Option<RoaringBitmap> {
        let CSubject::Property(name, _) = &p.subject else {
            return None;
        };
        let key = self.sym(name)?;
        let pix = self.ix.props.get(&key)?;
        match &p.test {
            CTest::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(Value::Version(ver))) => {
                let ck = (GlobDomain::VersionPrefix(key), ver.to_string());
                let hit = match self.cached_and(&ck, w) {
                    Some(h) => h,
                    None => self.version_prefix(key, ver) & w,
                };
                Some(if *op == CmpOp::Ne { w - hit } else { hit })
            }
            CTest::In { negated, set }
                if set.prefixes.is_empty() && !set.exact.iter().any(|v| v.as_str().is_none()) =>
            {
                let ck = (GlobDomain::Property(key), Self::list_key(set)?);
                let hit = self.cached_and(&ck, w)?;
                Some(if *negated { w - hit } else { hit })
            }
            CTest::Cmp(op, operand) if op.is_ordering() => {
                let v = resolve(operand, self.now)?;
                let k = ord_key_of(&v)?;
                let (lo, hi) = match op {
                    CmpOp::Lt => (0, k.checked_sub(1)?),
                    CmpOp::Le => (0, k),
                    CmpOp::Gt => (k.checked_add(1)?, u64::MAX),
                    _ => (k, u64::MAX),
                };
                let b = &pix.ordered;
                let (whole, partial) = b.split(lo, hi);
                let mut hit = match whole {
                    None => RoaringBitmap::new(),
                    Some((wlo, whi)) => {
                        let ck = (GlobDomain::Range(key), format!("{}:{wlo}:{whi}", b.shift));
                        match self.cached_and(&ck, w) {
                            Some(h) => h,
                            None => self.ordered_range(key, pix, lo, hi).0 & w,
                        }
                    }
                };
                let mut maybe = RoaringBitmap::new();
                for part in partial {
                    if let Some(bits) = b.map.get(&part) {
                        maybe |= bits & w;
                    }
                }
                hit |= self.scan(p, &maybe);
                Some(hit)
            }
            _ => None,
        }
    }

    fn pred(&self, p: &CPred) -> RoaringBitmap {
        let all = &self.ix.all;
        match &p.subject {
            CSubject::Property(name, _) => {
                let Some(pix) = self
                    .sym(name)
                    .and_then(|k| self.ix.props.get(&k).map(|x| (k, x)))
                else {
                    // Nobody has the property: only `!=` and `not in` match, everywhere.
                    return match &p.test {
                        CTest::Cmp(CmpOp::Ne, _) | CTest::In { negated: true, .. } => all.clone(),
                        _ => RoaringBitmap::new(),
                    };
                };
                self.property(p, pix.0, pix.1)
            }
            CSubject::Label(key) => {
                let Some((lk, l)) = self
                    .sym(key)
                    .and_then(|k| self.ix.labels.get(&k).map(|l| (k, l)))
                else {
                    return match &p.test {
                        CTest::Cmp(CmpOp::Ne, _) | CTest::In { negated: true, .. } => all.clone(),
                        _ => RoaringBitmap::new(),
                    };
                };
                let dict = |f: &dyn Fn(&str) -> bool| -> RoaringBitmap {
                    let mut out = RoaringBitmap::new();
                    for (v, bits) in &l.by_value {
                        if self.snap.symbols().resolve(*v).is_some_and(f) {
                            out |= bits;
                        }
                    }
                    out
                };
                match &p.test {
                    CTest::Exists => l.present.clone(),
                    CTest::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(Value::String(s))) => {
                        let eq = self
                            .sym(s)
                            .and_then(|v| l.by_value.get(&v).cloned())
                            .unwrap_or_default();
                        if *op == CmpOp::Eq { eq } else { all - eq }
                    }
                    CTest::LabelInt(op, n) => dict(&|v| {
                        v.parse::<i64>().is_ok_and(|x| match op {
                            CmpOp::Gt => x > *n,
                            CmpOp::Ge => x >= *n,
                            CmpOp::Lt => x < *n,
                            CmpOp::Le => x <= *n,
                            CmpOp::Eq => x == *n,
                            CmpOp::Ne => x != *n,
                        })
                    }),
                    CTest::In { negated, set } => {
                        let hit = self.strings(
                            set,
                            GlobDomain::Label(lk),
                            &|v| l.by_value.get(&v),
                            &|| Box::new(l.by_value.iter().map(|(k, b)| (*k, b))),
                        );
                        if *negated { all - hit } else { hit }
                    }
                    _ => self.scan(p, all),
                }
            }
            CSubject::LabelKeys => {
                let hit = match &p.test {
                    CTest::Exists => {
                        let mut out = RoaringBitmap::new();
                        for l in self.ix.labels.values() {
                            out |= &l.present;
                        }
                        out
                    }
                    CTest::In { set, .. } | CTest::Contains(set) => {
                        let labels = &self.ix.labels;
                        self.strings(
                            set,
                            GlobDomain::LabelKeys,
                            &|k| labels.get(&k).map(|l| &l.present),
                            &|| Box::new(labels.iter().map(|(k, l)| (*k, &l.present))),
                        )
                    }
                    _ => return self.scan(p, all),
                };
                if matches!(p.test, CTest::In { negated: true, .. }) {
                    all - hit
                } else {
                    hit
                }
            }
            CSubject::Capabilities => {
                let hit = match &p.test {
                    CTest::Exists => {
                        let mut out = RoaringBitmap::new();
                        for b in self.ix.caps.values() {
                            out |= b;
                        }
                        out
                    }
                    CTest::In { set, .. } | CTest::Contains(set) => {
                        let caps = &self.ix.caps;
                        self.strings(set, GlobDomain::Capabilities, &|k| caps.get(&k), &|| {
                            Box::new(caps.iter().map(|(k, b)| (*k, b)))
                        })
                    }
                    _ => return self.scan(p, all),
                };
                if matches!(p.test, CTest::In { negated: true, .. }) {
                    all - hit
                } else {
                    hit
                }
            }
            CSubject::Kind | CSubject::Substrate => {
                let map = if p.subject == CSubject::Kind {
                    &self.ix.kinds
                } else {
                    &self.ix.substrates
                };
                match &p.test {
                    CTest::Exists => all.clone(),
                    CTest::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(Value::String(s))) => {
                        let eq = self
                            .sym(s)
                            .and_then(|v| map.get(&v).cloned())
                            .unwrap_or_default();
                        if *op == CmpOp::Eq { eq } else { all - eq }
                    }
                    CTest::In { negated, set } if set.globs.is_empty() => {
                        let mut hit = RoaringBitmap::new();
                        for v in &set.exact {
                            if let Some(b) = v
                                .as_str()
                                .and_then(|s| self.sym(s))
                                .and_then(|s| map.get(&s))
                            {
                                hit |= b;
                            }
                        }
                        if *negated { all - hit } else { hit }
                    }
                    _ => self.scan(p, all),
                }
            }
            CSubject::Id => match &p.test {
                CTest::Cmp(CmpOp::Eq, Operand::Value(Value::String(s))) => self
                    .snap
                    .get(s)
                    .map(|t| std::iter::once(t.slot().0).collect())
                    .unwrap_or_default(),
                _ => self.scan(p, all),
            },
            CSubject::Path(..) => self.scan(p, all),
        }
    }

    /// Union of the bitmaps of every dictionary entry whose string matches the set (exact
    /// members looked up, globs expanded over the dictionary and cached).
    fn strings<'d>(
        &self,
        set: &ValueSet,
        domain: GlobDomain,
        lookup: &dyn Fn(Sym) -> Option<&'d RoaringBitmap>,
        entries: &dyn Fn() -> Box<dyn Iterator<Item = (Sym, &'d RoaringBitmap)> + 'd>,
    ) -> RoaringBitmap {
        let exact: Vec<&str> = set.exact.iter().filter_map(Value::as_str).collect();
        // One member: a lookup, nothing to cache.
        if set.globs.is_empty() && exact.len() <= 1 {
            return exact
                .first()
                .and_then(|s| self.sym(s))
                .and_then(lookup)
                .cloned()
                .unwrap_or_default();
        }
        // Several members or globs: the union is cached as one bitmap, keyed by the members'
        // texts, and kept current on every change.
        let Some(text_key) = Self::list_key(set) else {
            return RoaringBitmap::new();
        };
        let key = (domain, text_key);
        let mut cache = self.ix.globs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = cache.get(&key) {
            return e.bits.clone();
        }
        let mut out = RoaringBitmap::new();
        for s in &exact {
            if let Some(b) = self.sym(s).and_then(lookup) {
                out |= b;
            }
        }
        if !set.globs.is_empty() {
            for (k, b) in entries() {
                if self
                    .snap
                    .symbols()
                    .resolve(k)
                    .is_some_and(|s| set.matches_glob(s))
                {
                    out |= b;
                }
            }
        }
        if cache.len() < 256 {
            cache.insert(
                key,
                Expansion {
                    exact: exact.iter().map(|s| (*s).to_owned()).collect(),
                    matchers: set.globs.iter().map(|(_, g)| g.clone()).collect(),
                    buckets: None,
                    prefix: None,
                    bits: out.clone(),
                },
            );
        }
        out
    }

    fn property(&self, p: &CPred, key: Sym, pix: &PropIndex) -> RoaringBitmap {
        let all = &self.ix.all;
        let syms = self.snap.symbols();
        let negate = |hit: RoaringBitmap, neg: bool| if neg { all - hit } else { hit };
        match &p.test {
            CTest::Exists => pix.present.clone(),
            CTest::Cmp(op, operand) => {
                let Some(v) = resolve(operand, self.now) else {
                    return RoaringBitmap::new();
                };
                if let Value::Version(ver) = &*v {
                    let hit = match op {
                        CmpOp::Eq | CmpOp::Ne => self.version_prefix(key, ver),
                        _ => self.version_range(key, *op, ver),
                    };
                    return if *op == CmpOp::Ne { all - hit } else { hit };
                }
                if let Some(k) = ord_key_of(&v) {
                    let (lo, hi) = match op {
                        CmpOp::Eq | CmpOp::Ne => (k, k),
                        CmpOp::Lt => (0, k.saturating_sub(1)),
                        CmpOp::Le => (0, k),
                        CmpOp::Gt => (k.saturating_add(1), u64::MAX),
                        CmpOp::Ge => (k, u64::MAX),
                    };
                    let empty_range = matches!(op, CmpOp::Lt) && k == 0
                        || matches!(op, CmpOp::Gt) && k == u64::MAX;
                    let hit = if empty_range {
                        RoaringBitmap::new()
                    } else {
                        let (sure, maybe) = self.ordered_range(key, pix, lo, hi);
                        let eq_test = CPred {
                            subject: p.subject.clone(),
                            test: CTest::Cmp(
                                if *op == CmpOp::Ne { CmpOp::Eq } else { *op },
                                operand.clone(),
                            ),
                            text: String::new(),
                        };
                        sure | self.scan(&eq_test, &maybe)
                    };
                    return if *op == CmpOp::Ne { all - hit } else { hit };
                }
                match StoredValue::lookup(&v, syms) {
                    Some(sv) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        let eq = pix.by_value.get(&sv).cloned().unwrap_or_default();
                        if *op == CmpOp::Eq { eq } else { all - eq }
                    }
                    None if matches!(op, CmpOp::Eq) => RoaringBitmap::new(),
                    None if matches!(op, CmpOp::Ne) => all.clone(),
                    _ => self.scan(p, &pix.present),
                }
            }
            CTest::In { negated, set } => {
                let mut hit = RoaringBitmap::new();
                if !set.globs.is_empty() || set.exact.iter().any(|v| v.as_str().is_some()) {
                    let by_value = &pix.by_value;
                    hit |= self.strings(
                        set,
                        GlobDomain::Property(key),
                        &|s| by_value.get(&StoredValue::Str(s)),
                        &|| {
                            Box::new(by_value.iter().filter_map(|(v, b)| match v {
                                StoredValue::Str(s) => Some((*s, b)),
                                _ => None,
                            }))
                        },
                    );
                }
                for ver in &set.prefixes {
                    hit |= self.version_prefix(key, ver);
                }
                for v in set.exact.iter().filter(|v| v.as_str().is_none()) {
                    if let Some(k) = ord_key_of(v) {
                        let (sure, maybe) = pix.ordered.range(k, k);
                        let one = ValueSet {
                            exact: vec![v.clone()],
                            ..ValueSet::default()
                        };
                        let test = CPred {
                            subject: p.subject.clone(),
                            test: CTest::In {
                                negated: false,
                                set: one,
                            },
                            text: String::new(),
                        };
                        hit |= sure | self.scan(&test, &maybe);
                    } else if let Some(sv) = StoredValue::lookup(v, syms)
                        && let Some(b) = pix.by_value.get(&sv)
                    {
                        hit |= b;
                    }
                }
                negate(hit, *negated)
            }
            CTest::Contains(set) => {
                // Lists are interned values: check each distinct list once.
                let mut hit = RoaringBitmap::new();
                for (v, b) in &pix.by_value {
                    if let StoredValue::Interned(id) = v
                        && let Some(Value::List(items)) = syms.value(*id)
                        && items.iter().any(|i| set.matches(crate::eval::value_ref(i)))
                    {
                        hit |= b;
                    }
                }
                hit
            }
            CTest::LabelInt(..) => RoaringBitmap::new(),
        }
    }

    /// The slots whose ordered value lies in `[lo, hi]` for sure (whole buckets, their union
    /// cached and kept current) and the candidates of the boundary buckets.
    fn ordered_range(
        &self,
        key: Sym,
        pix: &PropIndex,
        lo: u64,
        hi: u64,
    ) -> (RoaringBitmap, RoaringBitmap) {
        let b = &pix.ordered;
        let (whole, partial) = b.split(lo, hi);
        let mut maybe = RoaringBitmap::new();
        for p in partial {
            if let Some(bits) = b.map.get(&p) {
                maybe |= bits;
            }
        }
        let Some((wlo, whi)) = whole else {
            return (RoaringBitmap::new(), maybe);
        };
        let cache_key = (GlobDomain::Range(key), format!("{}:{wlo}:{whi}", b.shift));
        let mut cache = self.ix.globs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = cache.get(&cache_key) {
            return (e.bits.clone(), maybe);
        }
        let mut sure = RoaringBitmap::new();
        for (_, bits) in b.map.range(wlo..=whi) {
            sure |= bits;
        }
        if cache.len() < 256 {
            cache.insert(
                cache_key,
                Expansion {
                    exact: Vec::new(),
                    matchers: Vec::new(),
                    prefix: None,
                    buckets: Some((b.shift, wlo, whi)),
                    bits: sure.clone(),
                },
            );
        }
        (sure, maybe)
    }

    /// How many slots lie under a version prefix, from the cache when it is there (no copy).
    fn version_prefix_len(&self, key: Sym, prefix: &Version) -> u64 {
        let ck = (GlobDomain::VersionPrefix(key), prefix.to_string());
        let cached = {
            let cache = self.ix.globs.lock().unwrap_or_else(PoisonError::into_inner);
            cache.get(&ck).map(|e| e.bits.len())
        };
        cached.unwrap_or_else(|| self.version_prefix(key, prefix).len())
    }

    fn version_prefix(&self, key: Sym, prefix: &Version) -> RoaringBitmap {
        let cache_key = (GlobDomain::VersionPrefix(key), prefix.to_string());
        let mut cache = self.ix.globs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = cache.get(&cache_key) {
            return e.bits.clone();
        }
        let out = self.version_prefix_uncached(key, prefix);
        if cache.len() < 256 {
            cache.insert(
                cache_key,
                Expansion {
                    exact: Vec::new(),
                    matchers: Vec::new(),
                    buckets: None,
                    prefix: Some(prefix.clone()),
                    bits: out.clone(),
                },
            );
        }
        out
    }

    fn version_prefix_uncached(&self, key: Sym, prefix: &Version) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        if let Some(vs) = self.ix.versions.get(&key) {
            // Versions under a prefix form one contiguous range of the order.
            let start = Version::from_parts(&prefix.parts()[..prefix.written_parts()], "").ok();
            let range = match &start {
                Some(s) => vs.range((Bound::Included(s), Bound::Unbounded)),
                None => vs.range::<Version, _>(..),
            };
            for (v, b) in range {
                if v.has_prefix(prefix) {
                    out |= b;
                } else if start.is_some()
                    && !v
                        .parts()
                        .iter()
                        .zip(prefix.parts())
                        .take(prefix.written_parts())
                        .all(|(a, b)| *a == b)
                {
                    break;
                }
            }
        }
        out
    }

    fn version_range(&self, key: Sym, op: CmpOp, v: &Version) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        if let Some(vs) = self.ix.versions.get(&key) {
            let range = match op {
                CmpOp::Lt => vs.range((Bound::Unbounded, Bound::Excluded(v))),
                CmpOp::Le => vs.range((Bound::Unbounded, Bound::Included(v))),
                CmpOp::Gt => vs.range((Bound::Excluded(v), Bound::Unbounded)),
                _ => vs.range((Bound::Included(v), Bound::Unbounded)),
            };
            for (_, b) in range {
                out |= b;
            }
        }
        out
    }
}

fn indexable(p: &CPred) -> bool {
    !matches!(p.subject, CSubject::Path(..))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Buckets answer ranges exactly once the boundary candidates are checked, whatever
        /// coarsening happened: a brute-force oracle over the same keys.
        #[test]
        fn bucket_ranges_are_exact(
            keys in prop::collection::vec(any::<u64>(), 1..6000),
            small in prop::collection::vec(0u64..5000, 0..200),
            lo in any::<u64>(),
            width in any::<u64>(),
        ) {
            let mut b = Buckets::default();
            let all: Vec<u64> = keys.iter().chain(small.iter()).copied().collect();
            for (slot, k) in all.iter().enumerate() {
                b.add(*k, slot as u32);
            }
            // Remove a third again, to exercise removal after coarsening.
            for (slot, k) in all.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
                b.remove(*k, slot as u32);
            }
            let live = |slot: usize| !slot.is_multiple_of(3);
            for (lo, hi) in [(lo, lo.saturating_add(width)), (0, lo), (lo, u64::MAX), (small.first().copied().unwrap_or(0), small.first().copied().unwrap_or(0))] {
                let (sure, maybe) = b.range(lo, hi);
                let got: RoaringBitmap = sure
                    | maybe.iter().filter(|&s| (lo..=hi).contains(&all[s as usize])).collect::<RoaringBitmap>();
                let want: RoaringBitmap = all
                    .iter()
                    .enumerate()
                    .filter(|(i, k)| live(*i) && (lo..=hi).contains(*k))
                    .map(|(i, _)| i as u32)
                    .collect();
                prop_assert_eq!(&got, &want, "shift {} range {}..={}", b.shift, lo, hi);
                // The split used by cached ranges gives the same answer.
                let (whole, partial) = b.split(lo, hi);
                let mut via_split = RoaringBitmap::new();
                if let Some((wlo, whi)) = whole {
                    for (_, bits) in b.map.range(wlo..=whi) {
                        via_split |= bits;
                    }
                }
                for p in partial {
                    if let Some(bits) = b.map.get(&p) {
                        via_split |= bits.iter().filter(|&s| (lo..=hi).contains(&all[s as usize])).collect::<RoaringBitmap>();
                    }
                }
                prop_assert_eq!(via_split, want, "split: shift {} range {}..={}", b.shift, lo, hi);
                prop_assert!(b.map.len() <= MAX_BUCKETS);
            }
        }
    }

    #[test]
    fn ord_keys_preserve_order() {
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ints.windows(2) {
            assert!(ord_key(StoredValue::Int(w[0])) < ord_key(StoredValue::Int(w[1])));
        }
        let floats = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-9, 3.0, f64::INFINITY];
        for w in floats.windows(2) {
            assert!(
                ord_key(StoredValue::Float(w[0].to_bits()))
                    < ord_key(StoredValue::Float(w[1].to_bits())),
                "{} < {}",
                w[0],
                w[1]
            );
        }
    }
}
