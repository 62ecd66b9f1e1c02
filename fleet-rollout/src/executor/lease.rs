//! Which run holds which target.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use fleet_core::TargetId;

use super::spec::RunId;

/// Why a run may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another run holds a target of this run.
    #[error("target `{target}` is held by run `{holder}`; run `{run}` was refused")]
    Held {
        /// The first target (in run order) that is held.
        target: TargetId,
        /// The run that holds it.
        holder: RunId,
        /// The run that was refused.
        run: RunId,
    },
}

/// Which run holds which target: the rule for two runs that touch one target.
///
/// **The rule: the second run is refused.** A run leases all of its targets when it starts,
/// all or nothing; if any is held by another run, it gets [`LeaseError::Held`] naming the
/// first such target (in run order) and the holder, and leases nothing. Refusing (rather
/// than waiting) keeps the runs' outcomes independent of their timing; a caller that wants to
/// wait retries after the holder ends. Acquiring again for the same run succeeds (a resumed
/// run). The driver releases a run's leases when the run ends, except on stuck targets,
/// which stay held until a person calls [`TargetLeases::release_target`]. A driver that fails
/// (a crash, a stale fencing token) keeps its leases, so only the same run can resume.
///
/// This registry is in memory; a control plane with several replicas keeps the same rule in
/// its shared store.
///
/// # Example
///
/// ```
/// use fleet_core::TargetId;
/// use fleet_rollout::executor::{LeaseError, RunId, TargetLeases};
///
/// let leases = TargetLeases::default();
/// let (a, b) = (RunId::new("a")?, RunId::new("b")?);
/// let t = TargetId::new("eks-1")?;
/// leases.acquire(&a, [&t])?;
/// let err = leases.acquire(&b, [&t]).unwrap_err();
/// assert_eq!(err.to_string(), "target `eks-1` is held by run `a`; run `b` was refused");
/// leases.release(&a);
/// leases.acquire(&b, [&t])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct TargetLeases {
    held: Mutex<BTreeMap<TargetId, RunId>>,
}

impl TargetLeases {
    /// Leases `targets` to `run`, all or nothing.
    ///
    /// # Errors
    ///
    /// [`LeaseError::Held`] when another run holds one of them.
    pub fn acquire<'t>(
        &self,
        run: &RunId,
        targets: impl IntoIterator<Item = &'t TargetId>,
    ) -> Result<(), LeaseError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let targets: Vec<&TargetId> = targets.into_iter().collect();
        for t in &targets {
            if let Some(holder) = held.get(*t)
                && holder != run
            {
                return Err(LeaseError::Held {
                    target: (*t).clone(),
                    holder: holder.clone(),
                    run: run.clone(),
                });
            }
        }
        for t in targets {
            held.insert(t.clone(), run.clone());
        }
        Ok(())
    }

    /// Releases every lease `run` holds; returns how many.
    pub fn release(&self, run: &RunId) -> usize {
        self.release_except(run, &[])
    }

    /// Releases `run`'s leases except those on `keep`; returns how many were released.
    pub fn release_except(&self, run: &RunId, keep: &[TargetId]) -> usize {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let before = held.len();
        held.retain(|t, holder| holder != run || keep.contains(t));
        before - held.len()
    }

    /// Releases one target, whoever holds it (after a person dealt with a stuck target).
    pub fn release_target(&self, target: &TargetId) -> Option<RunId> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(target)
    }

    /// The run that holds `target`, if any.
    #[must_use]
    pub fn holder(&self, target: &TargetId) -> Option<RunId> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(target)
            .cloned()
    }
}
