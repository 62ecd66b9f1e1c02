//! A chunked copy-on-write vector: O(1) clones, writes copy only the touched chunk.

use std::sync::Arc;

const CHUNK_BITS: usize = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Cloning shares every chunk; the first write to a shared chunk copies that chunk (1,024
/// entries) and the chunk directory (one pointer per 1,024 entries), nothing else.
#[derive(Debug)]
pub(crate) struct CowVec<T> {
    chunks: Arc<Vec<Arc<Vec<T>>>>,
}

impl<T> Clone for CowVec<T> {
    fn clone(&self) -> Self {
        Self {
            chunks: Arc::clone(&self.chunks),
        }
    }
}

impl<T: Clone + Default> CowVec<T> {
    pub(crate) fn new() -> Self {
        Self {
            chunks: Arc::new(Vec::new()),
        }
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> CHUNK_BITS)?
            .get(index & (CHUNK - 1))
    }

    /// Sets `index`, growing with defaults as needed.
    pub(crate) fn set(&mut self, index: usize, value: T) {
        let c = index >> CHUNK_BITS;
        let chunks = Arc::make_mut(&mut self.chunks);
        while chunks.len() <= c {
            chunks.push(Arc::new(vec![T::default(); CHUNK]));
        }
        if let Some(chunk) = chunks.get_mut(c)
            && let Some(slot) = Arc::make_mut(chunk).get_mut(index & (CHUNK - 1))
        {
            *slot = value;
        }
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
        assert_eq!(a.get(4999), Some(&0));
    }
}
