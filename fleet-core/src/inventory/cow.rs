//! A chunked copy-on-write vector: O(1) clones, writes copy only the touched chunk.

use std::sync::Arc;

use super::{StoredValue, Sym};

const CHUNK_BITS: usize = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Cloning shares every chunk; the first write to a shared chunk copies that chunk (1,024
/// entries) and the chunk directory (one pointer per 1,024 entries), nothing else. Chunks
/// that only ever held the default value are not allocated, so a sparse column (a property
/// few targets have) costs one pointer per 1,024 slots.
#[derive(Debug)]
pub(crate) struct CowVec<T> {
    chunks: Arc<Vec<Option<Arc<Vec<T>>>>>,
}

impl<T> Clone for CowVec<T> {
    fn clone(&self) -> Self {
        Self {
            chunks: Arc::clone(&self.chunks),
        }
    }
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        Self {
            chunks: Arc::new(Vec::new()),
        }
    }
}

impl<T: Clone + Default + PartialEq> CowVec<T> {
    pub(crate) fn new() -> Self {
        Self {
            chunks: Arc::new(Vec::new()),
        }
    }

    /// The entry at `index`; `None` where nothing was ever stored (read it as the default).
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> CHUNK_BITS)?
            .as_ref()?
            .get(index & (CHUNK - 1))
    }

    /// Sets `index`, growing as needed.
    pub(crate) fn set(&mut self, index: usize, value: T) {
        let c = index >> CHUNK_BITS;
        if value == T::default() && self.chunks.get(c).is_none_or(Option::is_none) {
            return;
        }
        let chunks = Arc::make_mut(&mut self.chunks);
        while chunks.len() <= c {
            chunks.push(None);
        }
        if let Some(slot) = chunks.get_mut(c) {
            let chunk = slot.get_or_insert_with(|| Arc::new(vec![T::default(); CHUNK]));
            if let Some(x) = Arc::make_mut(chunk).get_mut(index & (CHUNK - 1)) {
                *x = value;
            }
        }
    }

    /// Sets many entries, in order: what calling [`CowVec::set`] for each would leave.
    /// Entries ascending by index are the fast case: one copy-on-write check per chunk
    /// instead of two per entry.
    pub(crate) fn set_many(&mut self, items: impl Iterator<Item = (usize, T)>) {
        let chunks = Arc::make_mut(&mut self.chunks);
        let mut items = items.peekable();
        while let Some((index, value)) = items.next() {
            let c = index >> CHUNK_BITS;
            if value == T::default() && chunks.get(c).is_none_or(Option::is_none) {
                continue;
            }
            while chunks.len() <= c {
                chunks.push(None);
            }
            let Some(slot) = chunks.get_mut(c) else {
                continue;
            };
            let chunk =
                Arc::make_mut(slot.get_or_insert_with(|| Arc::new(vec![T::default(); CHUNK])));
            if let Some(x) = chunk.get_mut(index & (CHUNK - 1)) {
                *x = value;
            }
            // the rest of this chunk's run, without another check
            while let Some((i, v)) = items.next_if(|(i, _)| *i >> CHUNK_BITS == c) {
                if let Some(x) = chunk.get_mut(i & (CHUNK - 1)) {
                    *x = v;
                }
            }
        }
    }

    /// Every stored entry that is not the default, with its index, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        let default = T::default();
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, chunk)| chunk.as_ref().map(|ch| (c, ch)))
            .flat_map(move |(c, ch)| {
                ch.iter()
                    .enumerate()
                    .map(move |(i, v)| ((c << CHUNK_BITS) + i, v))
            })
            .filter(move |(_, v)| **v != default)
    }
}

/// The cells of one property column. While every value written is a string, a cell is the
/// string's symbol (4 bytes); the first value of another type widens the column to full
/// stored values (16 bytes a cell), once. Most properties are strings (region, tier,
/// customer, owner...), so most columns stay narrow.
#[derive(Debug, Clone)]
pub(crate) enum PropCells {
    Syms(CowVec<Option<Sym>>),
    Wide(CowVec<StoredValue>),
}

impl Default for PropCells {
    fn default() -> Self {
        Self::Syms(CowVec::new())
    }
}

impl PropCells {
    /// The value at `index`; `None` where there is none.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<StoredValue> {
        match self {
            Self::Syms(c) => c.get(index).copied().flatten().map(StoredValue::Str),
            Self::Wide(c) => c.get(index).copied().filter(|v| *v != StoredValue::Absent),
        }
    }

    /// Every index with a value, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, StoredValue)> + '_ {
        let (narrow, wide) = match self {
            Self::Syms(c) => (Some(c.iter()), None),
            Self::Wide(c) => (None, Some(c.iter())),
        };
        narrow
            .into_iter()
            .flatten()
            .filter_map(|(i, v)| Some((i, StoredValue::Str((*v)?))))
            .chain(wide.into_iter().flatten().map(|(i, v)| (i, *v)))
    }

    /// Makes the column full stored values, from now on.
    fn widen(&mut self) {
        if let Self::Syms(narrow) = self {
            let mut wide = CowVec::new();
            wide.set_many(
                narrow
                    .iter()
                    .filter_map(|(i, v)| Some((i, StoredValue::Str((*v)?)))),
            );
            *self = Self::Wide(wide);
        }
    }

    pub(crate) fn set(&mut self, index: usize, value: StoredValue) {
        match (&mut *self, value) {
            (Self::Syms(c), StoredValue::Str(s)) => c.set(index, Some(s)),
            (Self::Syms(c), StoredValue::Absent) => c.set(index, None),
            (Self::Wide(c), v) => c.set(index, v),
            (Self::Syms(_), v) => {
                self.widen();
                if let Self::Wide(c) = self {
                    c.set(index, v);
                }
            }
        }
    }

    /// As [`PropCells::set`] for each, in order.
    pub(crate) fn set_many(&mut self, items: impl Iterator<Item = (usize, StoredValue)>) {
        let mut items = items.peekable();
        if let Self::Syms(c) = self {
            // the narrow form as long as the values are strings (or absent)
            c.set_many(std::iter::from_fn(|| {
                items
                    .next_if(|(_, v)| matches!(v, StoredValue::Str(_) | StoredValue::Absent))
                    .map(|(i, v)| match v {
                        StoredValue::Str(s) => (i, Some(s)),
                        _ => (i, None),
                    })
            }));
        }
        if items.peek().is_some() {
            self.widen();
            if let Self::Wide(c) = self {
                c.set_many(items);
            }
        }
    }
}

/// Columns by name symbol, each at a stable position: a writer that remembers the positions
/// of a key list (a target shape) writes a target's values without looking names up.
#[derive(Debug)]
pub(crate) struct Columns<C> {
    by_name: hashbrown::HashMap<Sym, usize>,
    cols: Vec<(Sym, C)>,
}

impl<C> Default for Columns<C> {
    fn default() -> Self {
        Self {
            by_name: hashbrown::HashMap::default(),
            cols: Vec::new(),
        }
    }
}

impl<C: Clone> Clone for Columns<C> {
    fn clone(&self) -> Self {
        Self {
            by_name: self.by_name.clone(),
            cols: self.cols.clone(),
        }
    }
}

impl<C: Default> Columns<C> {
    pub(crate) fn get(&self, name: &Sym) -> Option<&C> {
        let i = *self.by_name.get(name)?;
        self.cols.get(i).map(|(_, c)| c)
    }

    pub(crate) fn get_mut(&mut self, name: &Sym) -> Option<&mut C> {
        let i = *self.by_name.get(name)?;
        self.cols.get_mut(i).map(|(_, c)| c)
    }

    /// Every column with its name, in the order they were created.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Sym, &C)> + '_ {
        self.cols.iter().map(|(k, c)| (k, c))
    }

    /// The position of a column, created empty if new. Positions never change.
    pub(crate) fn position(&mut self, name: Sym) -> usize {
        let next = self.cols.len();
        let i = *self.by_name.entry(name).or_insert(next);
        if i == next {
            self.cols.push((name, C::default()));
        }
        i
    }

    pub(crate) fn at_mut(&mut self, position: usize) -> Option<&mut C> {
        self.cols.get_mut(position).map(|(_, c)| c)
    }
}

/// The column positions of the last key list written, kept while targets keep that shape.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    shape: Option<Arc<[Sym]>>,
    at: Vec<usize>,
}

impl Positions {
    /// The positions of `shape`'s columns in `cols` (creating missing columns).
    pub(crate) fn of<C: Default>(&mut self, shape: &Arc<[Sym]>, cols: &mut Columns<C>) -> &[usize] {
        if !self.shape.as_ref().is_some_and(|s| Arc::ptr_eq(s, shape)) {
            self.at.clear();
            self.at.extend(shape.iter().map(|k| cols.position(*k)));
            self.shape = Some(Arc::clone(shape));
        }
        &self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_are_isolated() {
        let mut a: CowVec<u32> = CowVec::new();
        for i in 0..3000 {
            a.set(i, i as u32);
        }
        let b = a.clone();
        a.set(5, 99);
        a.set(5000, 7);
        assert_eq!(a.get(5), Some(&99));
        assert_eq!(b.get(5), Some(&5));
        assert_eq!(b.get(5000), None);
        assert_eq!(a.get(5000), Some(&7));
        assert_eq!(a.get(3500), None, "chunk 3 was never written");
        assert_eq!(a.get(4999), Some(&0), "chunk 4 was, for index 5000");
    }

    proptest::proptest! {
        /// `set_many` leaves what a `set` per entry leaves, in any order, with defaults
        /// (which must not allocate a chunk of their own) and a clone sharing the chunks.
        #[test]
        fn set_many_is_set_for_each(
            before in proptest::collection::vec((0usize..5000, 0u32..3), 0..40),
            items in proptest::collection::vec((0usize..5000, 0u32..3), 0..200),
        ) {
            let mut a: CowVec<u32> = CowVec::new();
            for (i, v) in &before {
                a.set(*i, *v);
            }
            let mut b = a.clone();
            let held = a.clone();
            for (i, v) in &items {
                a.set(*i, *v);
            }
            b.set_many(items.iter().copied());
            let stored = |x: &CowVec<u32>| x.iter().map(|(i, v)| (i, *v)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(stored(&a), stored(&b));
            let chunks = |x: &CowVec<u32>| x.chunks.iter().map(Option::is_some).collect::<Vec<_>>();
            proptest::prop_assert_eq!(chunks(&a), chunks(&b));
            let mut untouched: CowVec<u32> = CowVec::new();
            for (i, v) in &before {
                untouched.set(*i, *v);
            }
            proptest::prop_assert_eq!(stored(&held), stored(&untouched));
        }
    }

    fn syms() -> Vec<Sym> {
        let table = crate::inventory::Symbols::new();
        let mut w = table.writer();
        (0..4).filter_map(|i| w.intern(&format!("s{i}"))).collect()
    }

    /// A value drawn as (kind, n): absent, a string, or an integer (which widens).
    fn stored(syms: &[Sym], (kind, n): (u8, u8)) -> StoredValue {
        match kind {
            0 => StoredValue::Absent,
            1 => syms
                .get(usize::from(n) % syms.len())
                .copied()
                .map_or(StoredValue::Absent, StoredValue::Str),
            _ => StoredValue::Int(i64::from(n)),
        }
    }

    proptest::proptest! {
        /// A property column reads back what a plain map of the writes holds, whether it
        /// stayed narrow or widened, through `set` and `set_many`; a clone taken before
        /// the writes keeps the old values (and its narrow form).
        #[test]
        fn prop_cells_read_back_what_was_written(
            before in proptest::collection::vec((0usize..3000, (0u8..2, 0u8..4)), 0..30),
            writes in proptest::collection::vec((0usize..3000, (0u8..3, 0u8..4)), 0..120),
            bulk in proptest::bool::ANY,
        ) {
            let syms = syms();
            let mut model = std::collections::BTreeMap::new();
            let mut cells = PropCells::default();
            for (i, v) in &before {
                let v = stored(&syms, *v);
                cells.set(*i, v);
                if v == StoredValue::Absent { model.remove(i); } else { model.insert(*i, v); }
            }
            let held = cells.clone();
            let held_model = model.clone();
            let writes: Vec<(usize, StoredValue)> =
                writes.iter().map(|(i, v)| (*i, stored(&syms, *v))).collect();
            if bulk {
                cells.set_many(writes.iter().copied());
            } else {
                for (i, v) in &writes {
                    cells.set(*i, *v);
                }
            }
            for (i, v) in &writes {
                if *v == StoredValue::Absent { model.remove(i); } else { model.insert(*i, *v); }
            }
            let read = |c: &PropCells| c.iter().collect::<Vec<_>>();
            let expect = |m: &std::collections::BTreeMap<usize, StoredValue>| {
                m.iter().map(|(i, v)| (*i, *v)).collect::<Vec<_>>()
            };
            proptest::prop_assert_eq!(read(&cells), expect(&model));
            for i in [0usize, 1, 1023, 1024, 2999] {
                proptest::prop_assert_eq!(cells.get(i), model.get(&i).copied());
            }
            let widened = writes.iter().any(|(_, v)| matches!(v, StoredValue::Int(_)));
            proptest::prop_assert_eq!(matches!(cells, PropCells::Wide(_)), widened);
            proptest::prop_assert_eq!(read(&held), expect(&held_model));
            proptest::prop_assert!(matches!(held, PropCells::Syms(_)));
        }
    }

    #[test]
    fn sparse_columns_allocate_only_touched_chunks() {
        let mut a: CowVec<Option<u32>> = CowVec::new();
        a.set(1_000_000, Some(1));
        a.set(5, None);
        let stored: Vec<(usize, Option<u32>)> = a.iter().map(|(i, v)| (i, *v)).collect();
        assert_eq!(stored, [(1_000_000, Some(1))]);
        assert_eq!(a.chunks.iter().filter(|c| c.is_some()).count(), 1);
    }
}
