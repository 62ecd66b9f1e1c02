//! Bulk evaluation: one release against a fleet selection, with scopes resolved through the
//! selector index once instead of per target.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, Snapshot, Workload};
use fleet_selectors::{QueryError, SelectorIndex, TargetSet};

use crate::approval::Approval;
use crate::decision::{Decision, Outcome, Verdict};
use crate::eval::{Artifact, InFlight, Request};
use crate::overrides::Override;
use crate::policy::PolicySet;

/// One release to evaluate against many targets: a [`Request`] without the target.
#[derive(Clone, Copy)]
pub struct BulkRequest<'a> {
    /// The request's id; approvals are bound to it.
    pub id: &'a str,
    /// The workload.
    pub workload: &'a Workload,
    /// The artifact.
    pub artifact: &'a Artifact,
    /// Who asks.
    pub actor: &'a Actor,
    /// The instant to decide for.
    pub at: DateTime<Utc>,
    /// Approvals given so far.
    pub approvals: &'a [Approval],
    /// Break-glass overrides in force.
    pub overrides: &'a [Override],
    /// Current in-flight counts, for concurrency rules.
    pub in_flight: Option<&'a dyn InFlight>,
}

impl std::fmt::Debug for BulkRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRequest")
            .field("id", &self.id)
            .field("workload", &self.workload.name)
            .field("artifact", &self.artifact.digest)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl<'a> BulkRequest<'a> {
    /// A bulk request with no approvals, overrides or in-flight counts.
    #[must_use]
    pub fn new(
        id: &'a str,
        workload: &'a Workload,
        artifact: &'a Artifact,
        actor: &'a Actor,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            workload,
            artifact,
            actor,
            at,
            approvals: &[],
            overrides: &[],
            in_flight: None,
        }
    }

    /// With these approvals.
    #[must_use]
    pub fn approvals(mut self, approvals: &'a [Approval]) -> Self {
        self.approvals = approvals;
        self
    }

    /// With these overrides.
    #[must_use]
    pub fn overrides(mut self, overrides: &'a [Override]) -> Self {
        self.overrides = overrides;
        self
    }
}

/// Counts over a bulk evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Targets allowed.
    pub allowed: usize,
    /// Targets pending.
    pub pending: usize,
    /// Targets denied.
    pub denied: usize,
    /// Per rule (`policy/rule`): how many targets it failed and held pending.
    pub by_rule: BTreeMap<String, RuleCounts>,
}

/// How often one rule decided against a target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCounts {
    /// Targets it failed.
    pub failed: usize,
    /// Targets it held pending.
    pub pending: usize,
}

/// Per-target decisions (in slot order) and their summary.
#[derive(Debug, Clone)]
pub struct BulkDecision {
    /// One decision per selected target.
    pub decisions: Vec<Decision>,
    /// Counts.
    pub summary: Summary,
}

impl PolicySet {
    /// Evaluates one release against every target in `selection`. Each policy's target
    /// scope is resolved once through `index`; per target only the rules run.
    ///
    /// # Errors
    ///
    /// [`QueryError::Stale`] when `index` and `snapshot` are at different generations.
    pub fn evaluate_bulk(
        &self,
        index: &SelectorIndex,
        snapshot: &Snapshot,
        selection: &TargetSet,
        req: &BulkRequest<'_>,
    ) -> Result<BulkDecision, QueryError> {
        let scopes: Vec<Option<TargetSet>> = self
            .policies
            .iter()
            .map(|p| {
                p.scope
                    .targets
                    .as_ref()
                    .map(|s| index.query(s, snapshot, req.at))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        // Scopes the policies skip (workload scope) are never read; the others become dense
        // bit vectors over the selection's slots, so a per-target test is one bit.
        let words = selection.bitmap().max().map_or(0, |m| m as usize / 64 + 1);
        let dense: Vec<Option<Vec<u64>>> = scopes
            .iter()
            .map(|set| {
                set.as_ref().map(|set| {
                    let mut bits = vec![0u64; words];
                    for slot in set.bitmap().iter() {
                        if let Some(w) = bits.get_mut(slot as usize / 64) {
                            *w |= 1 << (slot % 64);
                        }
                    }
                    bits
                })
            })
            .collect();
        let mut scoped = vec![true; scopes.len()];
        let no_target = crate::eval::NoTargetRef;
        let template = Request::new(
            req.id,
            req.workload,
            req.artifact,
            &no_target,
            req.actor,
            req.at,
        )
        .approvals(req.approvals)
        .overrides(req.overrides);
        let prep = self.prepare(&template);
        let mut out = BulkDecision {
            decisions: Vec::with_capacity(usize::try_from(selection.len()).unwrap_or(0)),
            summary: Summary::default(),
        };
        let mut by_rule: Vec<(smol_str::SmolStr, smol_str::SmolStr, RuleCounts)> = Vec::new();
        for slot in selection.slots() {
            let Some(target) = snapshot.slot(slot) else {
                continue;
            };
            let (word, bit) = (slot.index() / 64, slot.index() % 64);
            for (flag, bits) in scoped.iter_mut().zip(&dense) {
                *flag = bits
                    .as_ref()
                    .is_none_or(|b| b.get(word).is_some_and(|w| w & (1 << bit) != 0));
            }
            let mut r = Request::new(
                req.id,
                req.workload,
                req.artifact,
                &target,
                req.actor,
                req.at,
            )
            .approvals(req.approvals)
            .overrides(req.overrides);
            r.in_flight = req.in_flight;
            let mut d =
                self.evaluate_scoped(&r, target.id().to_owned(), Some(&scoped), Some(&prep));
            // A hundred thousand decisions are kept: each result vector at its length, not
            // at the capacity it grew to (the spare room is most of its bytes, all of them
            // fresh memory the system has to hand out).
            d.results.shrink_to_fit();
            match d.outcome {
                Outcome::Allow => out.summary.allowed += 1,
                Outcome::Pending => out.summary.pending += 1,
                Outcome::Deny => out.summary.denied += 1,
            }
            for res in d.results.iter().filter(|r| r.verdict != Verdict::Pass) {
                // counted by (policy, rule) without building the `policy/rule` key each time
                let at = match by_rule
                    .iter()
                    .position(|(p, r, _)| *p == res.policy && *r == res.rule)
                {
                    Some(i) => i,
                    None => {
                        by_rule.push((res.policy.clone(), res.rule.clone(), RuleCounts::default()));
                        by_rule.len() - 1
                    }
                };
                if let Some((_, _, c)) = by_rule.get_mut(at) {
                    match res.verdict {
                        Verdict::Fail => c.failed += 1,
                        Verdict::Pending => c.pending += 1,
                        Verdict::Pass => {}
                    }
                }
            }
            out.decisions.push(d);
        }
        out.summary.by_rule = by_rule
            .into_iter()
            .map(|(p, r, c)| (format!("{p}/{r}"), c))
            .collect();
        Ok(out)
    }
}
