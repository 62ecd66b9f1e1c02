//! Policy as the planner sees it: decisions, windows, concurrency limits and holds, per
//! target, gathered before planning so that the planner stays a pure function of its inputs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleet_core::{Hold, Snapshot, Workload};
use fleet_policy::{ConcurrencyLimit, Decision, Missing, Outcome, PolicySet};
use fleet_selectors::TargetSet;

/// What policy says about one target, as far as planning goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gate {
    /// Denied by these rules (`policy/rule`): the target is excluded.
    pub denied: Vec<String>,
    /// Waiting for approvals under these rules: planned, flagged, never a canary.
    pub pending_approval: Vec<String>,
    /// The first instant its change windows allow a change: `Some(None)` when no window
    /// opens (the target is excluded), `None` when windows do not restrict it.
    pub window: Option<Option<DateTime<Utc>>>,
}

/// Appends `rule` unless it is there already (a rule can be missing several groups'
/// approvals, or be named twice).
fn push_unique(rules: &mut Vec<String>, rule: String) {
    if !rules.contains(&rule) {
        rules.push(rule);
    }
}

impl Gate {
    fn is_empty(&self) -> bool {
        self.denied.is_empty() && self.pending_approval.is_empty() && self.window.is_none()
    }
}

/// A concurrency limit from policy: at most `max_in_flight` targets per value of
/// `group_by`, among the targets the rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyLimit {
    /// The rule, `policy/rule`.
    pub rule: String,
    /// The grouping property.
    pub group_by: String,
    /// At most this many per group and wave.
    pub max_in_flight: u32,
}

/// Policy inputs for the planner: per-target [`Gate`]s, concurrency limits with the
/// targets they apply to, and holds. Targets are named by id.
///
/// Fill it from fleet-policy with [`Gates::from_policy`] (windows and limits) and
/// [`Gates::decision`] (decisions from `evaluate` or `evaluate_bulk`), or by hand.
///
/// # Example
///
/// ```
/// use fleet_rollout::plan::{Gates, PolicyLimit};
///
/// let gates = Gates::new()
///     .deny("eks-prod-eu-west-1-00001", ["pci/placement"])
///     .pending_approval("eks-prod-us-east-1-00002", ["prod/two-person"])
///     .limit(
///         PolicyLimit { rule: "ops/one-per-region".into(), group_by: "region".into(), max_in_flight: 1 },
///         ["eks-prod-us-east-1-00002", "eks-prod-us-east-1-00003"],
///     );
/// assert_eq!(gates.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gates {
    pub(crate) gates: BTreeMap<String, Gate>,
    pub(crate) limits: BTreeMap<PolicyLimit, Vec<String>>,
    pub(crate) holds: Vec<Hold>,
}

impl Gates {
    /// No gates: every target may go, no limits, no holds.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many targets have a gate.
    #[must_use]
    pub fn len(&self) -> usize {
        self.gates.len()
    }

    /// Whether no target has a gate.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// The gate of `target`, if any.
    #[must_use]
    pub fn gate(&self, target: &str) -> Option<&Gate> {
        self.gates.get(target)
    }

    /// Denies `target` under `rules`.
    #[must_use]
    pub fn deny<I, S>(mut self, target: &str, rules: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let g = self.gates.entry(target.to_owned()).or_default();
        for r in rules {
            push_unique(&mut g.denied, r.into());
        }
        self
    }

    /// Marks `target` as waiting for approvals under `rules`.
    #[must_use]
    pub fn pending_approval<I, S>(mut self, target: &str, rules: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let g = self.gates.entry(target.to_owned()).or_default();
        for r in rules {
            push_unique(&mut g.pending_approval, r.into());
        }
        self
    }

    /// Sets the first instant `target`'s windows allow a change (`None`: never).
    #[must_use]
    pub fn window(mut self, target: &str, opens_at: Option<DateTime<Utc>>) -> Self {
        self.gates.entry(target.to_owned()).or_default().window = Some(opens_at);
        self
    }

    /// Adds a concurrency limit applying to `targets`.
    #[must_use]
    pub fn limit<I, S>(mut self, limit: PolicyLimit, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.limits
            .entry(limit)
            .or_default()
            .extend(targets.into_iter().map(Into::into));
        self
    }

    /// Adds a hold (active ones exclude their target; see [`Planner`](super::Planner)).
    #[must_use]
    pub fn hold(mut self, hold: Hold) -> Self {
        self.holds.push(hold);
        self
    }

    /// Records a fleet-policy decision for its target: a deny excludes it (with the
    /// deciding rules); pending approvals flag it; a pending window delays it (or excludes
    /// it when no window opens). A concurrency slot is not recorded: the planner enforces
    /// limits itself. An allow records nothing.
    pub fn decision(&mut self, d: &Decision) {
        let mut gate = Gate::default();
        match d.outcome {
            Outcome::Allow => return,
            Outcome::Deny => {
                for r in d.deciding() {
                    push_unique(&mut gate.denied, r.qualified_id());
                }
            }
            Outcome::Pending => {
                for m in &d.missing {
                    match m {
                        Missing::Approvals { rule, .. } => {
                            push_unique(&mut gate.pending_approval, rule.clone());
                        }
                        Missing::Window { opens_at, .. } => {
                            // the latest opening across rules; a rule with none wins
                            gate.window = Some(match (gate.window, opens_at) {
                                (Some(None), _) | (_, None) => None,
                                (Some(Some(a)), Some(b)) => Some(a.max(*b)),
                                (None, Some(b)) => Some(*b),
                            });
                        }
                        Missing::Slot { .. } => {}
                    }
                }
            }
        }
        if gate.is_empty() {
            return;
        }
        let g = self.gates.entry(d.target.clone()).or_default();
        for r in gate.denied {
            push_unique(&mut g.denied, r);
        }
        for r in gate.pending_approval {
            push_unique(&mut g.pending_approval, r);
        }
        if gate.window.is_some() {
            g.window = gate.window;
        }
    }

    /// Asks `policy` about every target of `selection`: the next instant its windows allow
    /// `workload` at or after `now` ([`PolicySet::next_allowed`]; a target whose windows are
    /// open at `now` gets no gate) and the concurrency limits that apply to it
    /// ([`PolicySet::concurrency_limits`]). One policy walk per target: fine for tens of
    /// thousands of targets; at a million, gather windows per window set instead.
    #[must_use]
    pub fn from_policy(
        policy: &PolicySet,
        snapshot: &Snapshot,
        selection: &TargetSet,
        workload: &Workload,
        now: DateTime<Utc>,
    ) -> Self {
        let mut gates = Self::new();
        for slot in selection.slots() {
            let Some(t) = snapshot.slot(slot) else {
                continue;
            };
            match policy.next_allowed(&t, workload, now) {
                Some(at) if at <= now => {}
                opens => {
                    gates.gates.entry(t.id().to_owned()).or_default().window = Some(opens);
                }
            }
            for ConcurrencyLimit {
                rule,
                group_by,
                max_in_flight,
                ..
            } in policy.concurrency_limits(&t, workload, now)
            {
                gates
                    .limits
                    .entry(PolicyLimit {
                        rule,
                        group_by,
                        max_in_flight,
                    })
                    .or_default()
                    .push(t.id().to_owned());
            }
        }
        gates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_listed_once() {
        let g = Gates::new()
            .deny("a", ["p/r", "p/r", "p/s"])
            .deny("a", ["p/s"])
            .pending_approval("b", ["q/two", "q/two"]);
        assert_eq!(g.gate("a").unwrap().denied, ["p/r", "p/s"]);
        assert_eq!(g.gate("b").unwrap().pending_approval, ["q/two"]);
        assert_eq!(g.len(), 2);
    }
}
