//! A thread-safe cache of verification results.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use fleet_core::Digest;

use super::error::ArtifactError;
use super::verifier::Verified;

/// What a cached result depends on. The artifact digest alone is never enough: the same
/// digest can come with another bundle, another trust root or another identity policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    /// Which entry point (bundle, envelope, simple signing).
    pub(crate) kind: u8,
    /// SHA-256 of the signed input bytes (the bundle, the envelope, payload and signature).
    pub(crate) input: [u8; 32],
    /// The verifier's trust digest (trusted roots, keys, provenance policy).
    pub(crate) trust: [u8; 32],
    /// [`IdentityPolicy::digest`](super::IdentityPolicy::digest).
    pub(crate) identity: [u8; 32],
    /// The deployed artifact's digest.
    pub(crate) artifact: Digest,
}

/// A bounded, thread-safe cache of verification results, successes and refusals alike.
///
/// Several [`Verifier`](super::Verifier)s may share one cache: each entry is keyed by the
/// verifier's trust digest as well as by the input, the identity policy and the artifact
/// digest. When the cache is full it is emptied, which keeps memory bounded without an
/// eviction order to maintain.
#[derive(Debug)]
pub struct VerificationCache {
    entries: Mutex<HashMap<CacheKey, Result<Verified, ArtifactError>>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for VerificationCache {
    /// A cache of 4096 entries.
    fn default() -> Self {
        Self::new(4096)
    }
}

impl VerificationCache {
    /// A cache that holds at most `capacity` results (at least 1).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// How many results are cached.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no result is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many lookups were answered from the cache.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many lookups had to verify.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Drops every cached result.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Result<Verified, ArtifactError>>> {
        // A panic while holding the lock cannot leave the map half-updated: every critical
        // section is one insert, clear or lookup.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached result for `key`, or the result of `verify`, which is then cached. The lock
    /// is not held while verifying, so two threads may verify the same input at once; both
    /// get the same answer.
    pub(crate) fn get_or_verify(
        &self,
        key: CacheKey,
        verify: impl FnOnce() -> Result<Verified, ArtifactError>,
    ) -> Result<Verified, ArtifactError> {
        if let Some(found) = self.lock().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return found.clone();
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let result = verify();
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, result.clone());
        result
    }
}
