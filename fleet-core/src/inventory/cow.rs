//! A chunked copy-on-write vector: O(1) clones, writes copy only the touched chunk.

use std::sync::Arc;

use super::Sym;

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

/// Columns by name symbol, each at a stable position: a writer that remembers the positions
/// of a key list (a target shape) writes a target's values without looking names up.
#[derive(Debug)]
pub(crate) struct Columns<T> {
    by_name: hashbrown::HashMap<Sym, usize>,
    cols: Vec<(Sym, CowVec<T>)>,
}

impl<T> Default for Columns<T> {
    fn default() -> Self {
        Self {
            by_name: hashbrown::HashMap::default(),
            cols: Vec::new(),
        }
    }
}

impl<T> Clone for Columns<T> {
    fn clone(&self) -> Self {
        Self {
            by_name: self.by_name.clone(),
            cols: self.cols.clone(),
        }
    }
}

impl<T: Clone + Default + PartialEq> Columns<T> {
    pub(crate) fn get(&self, name: &Sym) -> Option<&CowVec<T>> {
        let i = *self.by_name.get(name)?;
        self.cols.get(i).map(|(_, c)| c)
    }

    pub(crate) fn get_mut(&mut self, name: &Sym) -> Option<&mut CowVec<T>> {
        let i = *self.by_name.get(name)?;
        self.cols.get_mut(i).map(|(_, c)| c)
    }

    /// Every column with its name, in the order they were created.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Sym, &CowVec<T>)> + '_ {
        self.cols.iter().map(|(k, c)| (k, c))
    }

    /// The position of a column, created empty if new. Positions never change.
    pub(crate) fn position(&mut self, name: Sym) -> usize {
        let next = self.cols.len();
        let i = *self.by_name.entry(name).or_insert(next);
        if i == next {
            self.cols.push((name, CowVec::new()));
        }
        i
    }

    pub(crate) fn at_mut(&mut self, position: usize) -> Option<&mut CowVec<T>> {
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
    pub(crate) fn of<T: Clone + Default + PartialEq>(
        &mut self,
        shape: &Arc<[Sym]>,
        cols: &mut Columns<T>,
    ) -> &[usize] {
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
