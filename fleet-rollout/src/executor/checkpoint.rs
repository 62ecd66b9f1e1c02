//! The checkpoint log: append-only, sequence-numbered, fenced.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use fleet_core::BoxFuture;
use serde::{Deserialize, Serialize};

use super::record::Record;
use super::spec::RunId;

/// A fencing token: each writer of a run's log takes a new, larger one; a write with a token
/// older than the newest is refused, so a writer that lost its turn (a paused process, a
/// partitioned replica) cannot append after its successor started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One record in the log, with its sequence number (1, 2, 3, … per run, no gaps) and the
/// token it was written under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The position in the run's log, from 1.
    pub seq: u64,
    /// The writer's token.
    pub token: FencingToken,
    /// The state change.
    pub record: Record,
}

/// Why the checkpoint store refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A newer writer holds the run's log.
    #[error("fencing token {token} for run `{run}` is stale; the current token is {current}")]
    StaleToken {
        /// The run.
        run: RunId,
        /// The refused token.
        token: FencingToken,
        /// The newest token.
        current: FencingToken,
    },
    /// The store could not be used.
    #[error("checkpoint store unavailable: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
    },
}

/// Where a run's state changes are kept, so that a run survives the process that drives it.
///
/// The contract: records are only appended, never changed; each run's records are numbered
/// from 1 without gaps; every append carries a [`FencingToken`] from [`CheckpointStore::fence`],
/// and an append with a token older than the run's newest is refused with
/// [`CheckpointError::StaleToken`]. An append returns only once the record is as durable as
/// the store is. `fleet-store` provides durable implementations; [`MemoryCheckpointStore`]
/// is the in-memory one.
pub trait CheckpointStore: Send + Sync {
    /// Takes a new token for `run`, larger than any before; older tokens stop working.
    fn fence<'a>(&'a self, run: &'a RunId) -> BoxFuture<'a, Result<FencingToken, CheckpointError>>;

    /// Appends `record` to `run`'s log under `token`; returns its sequence number.
    fn append<'a>(
        &'a self,
        run: &'a RunId,
        token: FencingToken,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<u64, CheckpointError>>;

    /// `run`'s log, in order (empty for a run never written).
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> BoxFuture<'a, Result<Vec<Checkpoint>, CheckpointError>>;
}

#[derive(Debug, Default)]
struct Log {
    token: u64,
    records: Vec<Checkpoint>,
}

/// An in-memory [`CheckpointStore`], for tests, simulations and single-process use.
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use chrono::DateTime;
/// use fleet_core::Digest;
/// use fleet_rollout::executor::{CheckpointError, CheckpointStore, MemoryCheckpointStore, Record, RunId};
///
/// let store = MemoryCheckpointStore::default();
/// let run = RunId::new("r1")?;
/// let old = store.fence(&run).await?;
/// let new = store.fence(&run).await?;
/// let record = Record::Started { spec: Digest::sha256(b"spec"), at: DateTime::UNIX_EPOCH };
/// assert_eq!(store.append(&run, new, &record).await?, 1);
/// assert!(matches!(store.append(&run, old, &record).await, Err(CheckpointError::StaleToken { .. })));
/// assert_eq!(store.load(&run).await?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    logs: Mutex<BTreeMap<RunId, Log>>,
}

impl MemoryCheckpointStore {
    /// A copy of `run`'s log (synchronous, for tests).
    #[must_use]
    pub fn records(&self, run: &RunId) -> Vec<Checkpoint> {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(run)
            .map(|l| l.records.clone())
            .unwrap_or_default()
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    fn fence<'a>(&'a self, run: &'a RunId) -> BoxFuture<'a, Result<FencingToken, CheckpointError>> {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(run.clone()).or_default();
        log.token += 1;
        let token = FencingToken(log.token);
        Box::pin(std::future::ready(Ok(token)))
    }

    fn append<'a>(
        &'a self,
        run: &'a RunId,
        token: FencingToken,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<u64, CheckpointError>> {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(run.clone()).or_default();
        let result = if token.0 < log.token || token.0 == 0 {
            Err(CheckpointError::StaleToken {
                run: run.clone(),
                token,
                current: FencingToken(log.token),
            })
        } else {
            let seq = log.records.len() as u64 + 1;
            log.records.push(Checkpoint {
                seq,
                token,
                record: record.clone(),
            });
            Ok(seq)
        };
        Box::pin(std::future::ready(result))
    }

    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> BoxFuture<'a, Result<Vec<Checkpoint>, CheckpointError>> {
        Box::pin(std::future::ready(Ok(self.records(run))))
    }
}
