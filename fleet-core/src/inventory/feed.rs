//! The change feed: a bounded, pull-based log of every mutation.

use std::collections::VecDeque;
use std::sync::Arc;

use super::record::{Generation, Slot, TargetRecord};
use super::symbols::Sym;
use crate::target::ObservedState;

/// One mutation, as the change feed reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The generation the mutation was stamped with (unique, increasing).
    pub generation: Generation,
    /// The slot of the target.
    pub slot: Slot,
    /// The target's id symbol.
    pub id: Sym,
    /// What happened.
    pub kind: ChangeKind,
}

/// What a [`Change`] did. Old and new records share their values with the inventory (a
/// [`TargetRecord`] clone is two reference counts), so an indexer can remove the old values
/// and add the new ones without keeping its own copy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A new target took the slot.
    Inserted {
        /// The new specification.
        new: TargetRecord,
    },
    /// The target's specification changed.
    Updated {
        /// Before.
        old: TargetRecord,
        /// After.
        new: TargetRecord,
    },
    /// A new observation; the specification did not change.
    Observed {
        /// The previous observation.
        old: Option<Arc<ObservedState>>,
        /// The new one.
        new: Arc<ObservedState>,
    },
    /// A history entry was appended.
    HistoryAppended,
    /// The target was removed; its slot is retired.
    Removed {
        /// The last specification.
        old: TargetRecord,
    },
}

/// Why the feed cannot answer a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Changes after `since` were discarded: the reader must resynchronise from a snapshot
    /// and read on from the snapshot's generation.
    #[error(
        "change feed lagged: changes after generation {since} were discarded (oldest kept follows {dropped_through}); resynchronise from a snapshot"
    )]
    Lagged {
        /// Where the reader was.
        since: Generation,
        /// Every change up to and including this generation is gone.
        dropped_through: Generation,
    },
    /// The reader claims a generation this inventory has not reached: it was built from
    /// another inventory.
    #[error("cursor at generation {since} is ahead of the inventory (at {current})")]
    Ahead {
        /// Where the reader was.
        since: Generation,
        /// The inventory's generation.
        current: Generation,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Feed {
    changes: VecDeque<Change>,
    capacity: usize,
    dropped_through: Generation,
}

impl Feed {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            changes: VecDeque::new(),
            capacity: capacity.max(1),
            dropped_through: Generation::ZERO,
        }
    }

    pub(crate) fn push(&mut self, change: Change) {
        while self.changes.len() >= self.capacity {
            if let Some(old) = self.changes.pop_front() {
                self.dropped_through = old.generation;
            }
        }
        self.changes.push_back(change);
    }

    pub(crate) fn since(
        &self,
        since: Generation,
        current: Generation,
    ) -> Result<std::collections::vec_deque::Iter<'_, Change>, FeedError> {
        if since > current {
            return Err(FeedError::Ahead { since, current });
        }
        if since < self.dropped_through {
            return Err(FeedError::Lagged {
                since,
                dropped_through: self.dropped_through,
            });
        }
        let start = self.changes.partition_point(|c| c.generation <= since);
        Ok(self.changes.range(start..))
    }

    pub(crate) fn len(&self) -> usize {
        self.changes.len()
    }

    pub(crate) fn dropped_through(&self) -> Generation {
        self.dropped_through
    }
}

/// A reader's position in the change feed. Each reader keeps its own; the inventory keeps
/// no record of readers, and a slow reader never slows writers: it is told it lagged.
///
/// # Example
///
/// ```
/// use fleet_core::{FeedCursor, Inventory, Target, TargetId};
///
/// let mut inv = Inventory::new();
/// let mut cursor = FeedCursor::at(inv.generation());
/// inv.insert(Target::new(TargetId::new("a")?, "cluster", "aws"))?;
/// inv.insert(Target::new(TargetId::new("b")?, "cluster", "aws"))?;
/// let batch = cursor.read(&inv, 10)?;
/// assert_eq!(batch.len(), 2);
/// assert!(cursor.read(&inv, 10)?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    position: Generation,
}

impl FeedCursor {
    /// A cursor that will read the changes after `generation` (typically the generation of
    /// the snapshot the reader was built from).
    #[must_use]
    pub fn at(generation: Generation) -> Self {
        Self {
            position: generation,
        }
    }

    /// The generation of the last change read.
    #[must_use]
    pub fn position(&self) -> Generation {
        self.position
    }

    /// Reads up to `max` changes and moves past them.
    ///
    /// # Errors
    ///
    /// [`FeedError::Lagged`] when changes the reader has not seen were discarded; the cursor
    /// does not move, and the reader should rebuild from a snapshot. [`FeedError::Ahead`]
    /// when the cursor belongs to another inventory.
    pub fn read(
        &mut self,
        inventory: &super::Inventory,
        max: usize,
    ) -> Result<Vec<Change>, FeedError> {
        let batch: Vec<Change> = inventory
            .changes_since(self.position)?
            .take(max)
            .cloned()
            .collect();
        if let Some(last) = batch.last() {
            self.position = last.generation;
        }
        Ok(batch)
    }
}
