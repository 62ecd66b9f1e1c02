//! A chunked copy-on-write vector: O(1) clones, writes copy only the touched chunk.

use std::sync::Arc;

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
