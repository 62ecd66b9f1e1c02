//! Append-only interning shared by an inventory and all its snapshots.
//!
//! Readers never lock to resolve: entries live in fixed-size chunks that never move, and each
//! entry is set once. Lookups by content take a read lock on a hash table; only the inventory
//! (the single writer) takes the write lock, to add entries. Entries are never removed, so a
//! symbol handed out stays valid for the life of the table.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockWriteGuard};

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;

use crate::value::Value;

const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const DIR_SEGMENTS: usize = 23; // 2^23 - 1 chunks of 1024: more than u32::MAX entries.

type Chunk<T> = Box<[OnceLock<T>]>;
type Segment<T> = Box<[OnceLock<Chunk<T>>]>;

/// A vector that only grows, readable without locks while one writer appends.
struct AppendVec<T> {
    dir: [OnceLock<Segment<T>>; DIR_SEGMENTS],
    len: AtomicU32,
}

impl<T> AppendVec<T> {
    fn new() -> Self {
        Self {
            dir: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicU32::new(0),
        }
    }

    fn locate(index: u32) -> (usize, usize, usize) {
        let chunk = (index >> CHUNK_BITS) as usize + 1;
        let seg = (usize::BITS - 1 - chunk.leading_zeros()) as usize;
        let pos = chunk - (1usize << seg);
        (seg, pos, index as usize & (CHUNK - 1))
    }

    fn get(&self, index: u32) -> Option<&T> {
        let (seg, pos, off) = Self::locate(index);
        self.dir.get(seg)?.get()?.get(pos)?.get()?.get(off)?.get()
    }

    fn len(&self) -> u32 {
        self.len.load(Ordering::Acquire)
    }

    /// Appends; the caller serialises appends (the interner's write lock does).
    fn push(&self, value: T) -> Option<u32> {
        let index = self.len.load(Ordering::Acquire);
        if index == u32::MAX {
            return None;
        }
        let (seg, pos, off) = Self::locate(index);
        let segment = self
            .dir
            .get(seg)?
            .get_or_init(|| (0..(1usize << seg)).map(|_| OnceLock::new()).collect());
        let chunk = segment
            .get(pos)?
            .get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        chunk.get(off)?.set(value).ok()?;
        self.len.store(index + 1, Ordering::Release);
        Some(index)
    }
}

/// Short strings a hot slot holds inline (longer ones always go to the table).
const HOT_BYTES: usize = 23;
/// Hot slots: 32 bytes each, 256 KiB in all, allocated by the first string interned.
const HOT_SLOTS: usize = 1 << 13;

/// One entry of the hot-string cache: a string of at most [`HOT_BYTES`] bytes held inline
/// with its hash and symbol index.
#[derive(Clone, Copy)]
struct HotSlot {
    hash: u32,
    /// The symbol index + 1; 0 for an empty slot.
    index: u32,
    len: u8,
    bytes: [u8; HOT_BYTES],
}

const EMPTY_HOT: HotSlot = HotSlot {
    hash: 0,
    index: 0,
    len: 0,
    bytes: [0; HOT_BYTES],
};

/// The lookup side of an interner: the hash table of every entry and, for strings, a
/// direct-mapped cache of recently interned short strings in front of it. Most strings an
/// inventory interns recur (regions, tiers, teams, label values): the cache answers those
/// from 256 KiB of inline copies instead of a probe of the full table followed by a read of
/// the interned string, which at a million targets are two cache misses each.
struct Table {
    map: HashTable<(u32, u32)>,
    hot: Vec<HotSlot>,
}

impl Table {
    fn hot_slot(&self, h32: u32) -> Option<&HotSlot> {
        self.hot.get(h32 as usize & (HOT_SLOTS - 1))
    }

    /// The symbol index of `s` if the cache holds it.
    fn hot_find(&self, s: &[u8], h32: u32) -> Option<u32> {
        let slot = self.hot_slot(h32)?;
        (slot.index != 0
            && slot.hash == h32
            && usize::from(slot.len) == s.len()
            && slot.bytes.get(..s.len()) == Some(s))
        .then(|| slot.index - 1)
    }

    fn hot_put(&mut self, s: &[u8], h32: u32, index: u32) {
        if s.len() > HOT_BYTES || index == u32::MAX {
            return;
        }
        if self.hot.is_empty() {
            self.hot = vec![EMPTY_HOT; HOT_SLOTS];
        }
        if let Some(slot) = self.hot.get_mut(h32 as usize & (HOT_SLOTS - 1)) {
            let mut bytes = [0; HOT_BYTES];
            if let Some(b) = bytes.get_mut(..s.len()) {
                b.copy_from_slice(s);
            }
            *slot = HotSlot {
                hash: h32,
                index: index + 1,
                len: s.len() as u8,
                bytes,
            };
        }
    }

    fn bytes(&self) -> usize {
        self.map.allocation_size() + self.hot.capacity() * std::mem::size_of::<HotSlot>()
    }
}

/// Interns values of one type.
struct Interner<T> {
    items: AppendVec<T>,
    table: RwLock<Table>,
    hasher: DefaultHashBuilder,
}

impl<T: Hash + Eq> Interner<T> {
    fn new() -> Self {
        Self {
            items: AppendVec::new(),
            table: RwLock::new(Table {
                map: HashTable::new(),
                hot: Vec::new(),
            }),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// A 32-bit hash, widened so that hashbrown's control bits come from it too: the table
    /// stores it next to the index and never resolves a string to rehash.
    fn hash<Q: Hash + ?Sized>(&self, q: &Q) -> (u64, u32) {
        let h = self.hasher.hash_one(q);
        let h32 = (h ^ (h >> 32)) as u32;
        (u64::from(h32) << 32 | u64::from(h32), h32)
    }

    fn find<Q>(&self, q: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, h32) = self.hash(q);
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table
            .map
            .find(hash, |&(i, h)| {
                h == h32 && self.items.get(i).is_some_and(|t| t.borrow() == q)
            })
            .map(|&(i, _)| i)
    }

    /// Interns under a write guard the caller holds, hashing once.
    fn intern_locked<Q>(
        &self,
        table: &mut HashTable<(u32, u32)>,
        q: &Q,
        make: impl FnOnce() -> T,
    ) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, h32) = self.hash(q);
        self.intern_hashed(table, q, (hash, h32), make)
    }

    /// [`Interner::intern_locked`] with the hash already computed.
    fn intern_hashed<Q>(
        &self,
        table: &mut HashTable<(u32, u32)>,
        q: &Q,
        (hash, h32): (u64, u32),
        make: impl FnOnce() -> T,
    ) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(&(i, _)) = table.find(hash, |&(i, h)| {
            h == h32 && self.items.get(i).is_some_and(|t| t.borrow() == q)
        }) {
            return Some(i);
        }
        let index = self.items.push(make())?;
        table.insert_unique(hash, (index, h32), |&(_, h)| {
            u64::from(h) << 32 | u64::from(h)
        });
        Some(index)
    }

    fn table_bytes(&self) -> usize {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.bytes()
    }
}

impl Interner<Box<str>> {
    /// The index of `s`: from the hot cache, else from the table.
    fn find_str(&self, s: &str) -> Option<u32> {
        let (hash, h32) = self.hash(s);
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = table.hot_find(s.as_bytes(), h32) {
            return Some(i);
        }
        table
            .map
            .find(hash, |&(i, h)| {
                h == h32 && self.items.get(i).is_some_and(|t| &**t == s)
            })
            .map(|&(i, _)| i)
    }

    /// Interns `s` through the hot cache, which then holds it (when short enough).
    fn intern_hot(&self, table: &mut Table, s: &str) -> Option<u32> {
        let (hash, h32) = self.hash(s);
        if let Some(i) = table.hot_find(s.as_bytes(), h32) {
            return Some(i);
        }
        let i = self.intern_hashed(&mut table.map, s, (hash, h32), || s.into())?;
        table.hot_put(s.as_bytes(), h32, i);
        Some(i)
    }
}

/// An interned string: a property or label key, a label value, a string property value, a
/// target id. Comparing symbols compares strings for equality, not order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(NonZeroU32);

impl Sym {
    fn from_index(i: u32) -> Option<Self> {
        i.checked_add(1).and_then(NonZeroU32::new).map(Self)
    }

    /// A dense index (0-based), for tables keyed by symbol.
    #[must_use]
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    fn raw(self) -> u32 {
        self.0.get() - 1
    }
}

/// An interned [`Value`] that is not stored inline: versions, lists, and instants or durations
/// outside ±292 years of 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(u32);

impl ValueId {
    /// A dense index (0-based).
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The symbol and value tables of an inventory, shared with its snapshots.
///
/// Tables only grow: a symbol stays valid for as long as any holder of the table lives. A
/// fleet that churns through many target ids grows the table by one entry per id ever seen
/// (about 50 bytes each); rebuilding the inventory from a snapshot reclaims them.
pub struct Symbols {
    strings: Interner<Box<str>>,
    values: Interner<Value>,
}

impl fmt::Debug for Symbols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Symbols")
            .field("strings", &self.strings.items.len())
            .field("values", &self.values.items.len())
            .finish()
    }
}

impl Symbols {
    pub(crate) fn new() -> Self {
        Self {
            strings: Interner::new(),
            values: Interner::new(),
        }
    }

    /// The symbol of `s`, if it was ever interned. A string that was never interned matches
    /// nothing in the inventory.
    #[must_use]
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.strings.find_str(s).and_then(Sym::from_index)
    }

    /// The string of a symbol.
    #[must_use]
    pub fn resolve(&self, sym: Sym) -> Option<&str> {
        self.strings.items.get(sym.raw()).map(|b| &**b)
    }

    /// The id of an interned value, if it was ever interned.
    #[must_use]
    pub fn lookup_value(&self, v: &Value) -> Option<ValueId> {
        self.values.find(v).map(ValueId)
    }

    /// The value of an id.
    #[must_use]
    pub fn value(&self, id: ValueId) -> Option<&Value> {
        self.values.items.get(id.0)
    }

    /// How many strings are interned. Symbols are dense: `0..len` are all valid indexes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.strings.items.len() as usize
    }

    /// Whether no string is interned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values are interned.
    #[must_use]
    pub fn value_count(&self) -> usize {
        self.values.items.len() as usize
    }

    /// The symbol at a dense index (see [`Sym::index`]).
    #[must_use]
    pub fn sym_at(&self, index: usize) -> Option<Sym> {
        let i = u32::try_from(index).ok()?;
        (i < self.strings.items.len())
            .then(|| Sym::from_index(i))
            .flatten()
    }

    /// Takes the write locks once for a batch of interning (one target's strings).
    pub(crate) fn writer(&self) -> SymbolWriter<'_> {
        SymbolWriter {
            symbols: self,
            strings: self
                .strings
                .table
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            values: self
                .values
                .table
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Approximate bytes held by the lookup tables (the entries themselves are counted by the
    /// allocator, not here).
    #[must_use]
    pub fn table_bytes(&self) -> usize {
        self.strings.table_bytes() + self.values.table_bytes()
    }
}

/// Interns while holding both tables' write locks. Readers wait (briefly) while one exists;
/// the inventory holds one for the encoding of one target.
pub(crate) struct SymbolWriter<'a> {
    symbols: &'a Symbols,
    strings: RwLockWriteGuard<'a, Table>,
    values: RwLockWriteGuard<'a, Table>,
}

impl SymbolWriter<'_> {
    /// Interns a string that is likely to recur (a name, a label value, a region): through
    /// the hot cache.
    pub(crate) fn intern(&mut self, s: &str) -> Option<Sym> {
        self.symbols
            .strings
            .intern_hot(&mut self.strings, s)
            .and_then(Sym::from_index)
    }

    /// Interns a string that is unique to one target (its id, its native id), which would
    /// only evict recurring strings from the hot cache.
    pub(crate) fn intern_unique(&mut self, s: &str) -> Option<Sym> {
        self.symbols
            .strings
            .intern_locked(&mut self.strings.map, s, || s.into())
            .and_then(Sym::from_index)
    }

    pub(crate) fn intern_value(&mut self, v: &Value) -> Option<ValueId> {
        self.symbols
            .values
            .intern_locked(&mut self.values.map, v, || v.clone())
            .map(ValueId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_vec_crosses_chunk_and_segment_boundaries() {
        let v = AppendVec::new();
        for i in 0..5000u32 {
            assert_eq!(v.push(i * 2), Some(i));
        }
        for i in 0..5000u32 {
            assert_eq!(v.get(i), Some(&(i * 2)));
        }
        assert_eq!(v.get(5000), None);
        assert_eq!(AppendVec::<u8>::locate(0), (0, 0, 0));
        assert_eq!(AppendVec::<u8>::locate(1024), (1, 0, 0));
        assert_eq!(AppendVec::<u8>::locate(3 * 1024 + 5), (2, 0, 5));
        assert_eq!(AppendVec::<u8>::locate(u32::MAX).0, DIR_SEGMENTS - 1);
    }

    /// More short strings than hot slots, so that slots are shared and evicted: every
    /// string keeps its one symbol whether it is found in the cache or in the table, and
    /// long strings (never cached) too.
    #[test]
    fn the_hot_cache_never_changes_a_symbol() {
        let s = Symbols::new();
        let n = HOT_SLOTS * 3;
        let text = |i: usize| {
            if i.is_multiple_of(7) {
                format!("a-long-string-beyond-the-hot-bytes-{i}")
            } else {
                format!("v{i}")
            }
        };
        let mut w = s.writer();
        let first: Vec<Sym> = (0..n).map(|i| w.intern(&text(i)).unwrap()).collect();
        // again, in another order, half through the uncached path
        for i in (0..n).rev() {
            let again = if i.is_multiple_of(2) {
                w.intern(&text(i))
            } else {
                w.intern_unique(&text(i))
            };
            assert_eq!(again, Some(first[i]), "{}", text(i));
        }
        drop(w);
        assert_eq!(s.len(), n);
        for (i, sym) in first.iter().enumerate() {
            assert_eq!(s.lookup(&text(i)), Some(*sym));
            assert_eq!(s.resolve(*sym), Some(text(i).as_str()));
        }
        assert_eq!(s.lookup("v-never-interned"), None);
        // a string of exactly the inline size, and one byte more
        let mut w = s.writer();
        let at = "x".repeat(HOT_BYTES);
        let over = "x".repeat(HOT_BYTES + 1);
        let (a, b) = (w.intern(&at).unwrap(), w.intern(&over).unwrap());
        assert_ne!(a, b);
        assert_eq!((w.intern(&at), w.intern(&over)), (Some(a), Some(b)));
        drop(w);
        assert_eq!((s.lookup(&at), s.lookup(&over)), (Some(a), Some(b)));
    }

    #[test]
    fn interning_is_idempotent() {
        let s = Symbols::new();
        let mut w = s.writer();
        let a = w.intern("eu-west-1").unwrap();
        let b = w.intern("us-east-1").unwrap();
        assert_ne!(a, b);
        assert_eq!(w.intern("eu-west-1"), Some(a));
        let v = w.intern_value(&Value::Bool(true)).unwrap();
        drop(w);
        assert_eq!(s.lookup("us-east-1"), Some(b));
        assert_eq!(s.lookup("nope"), None);
        assert_eq!(s.resolve(a), Some("eu-west-1"));
        assert_eq!(s.value(v), Some(&Value::Bool(true)));
    }
}
