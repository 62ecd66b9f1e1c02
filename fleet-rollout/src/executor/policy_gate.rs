//! A [`Gate`] over `fleet-policy`: the policy decision for each target, just before it starts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, Duration, Target, TargetId, Workload};
use fleet_policy::{Approval, Artifact, Outcome, Override, PolicySet, Request};

use super::gate::{Gate, GateVerdict};

/// Asks a [`PolicySet`] about each target: allow is [`GateVerdict::Allow`]; pending waits
/// until the next window opens (or, when what is missing is not a window, such as an
/// approval, asks again after `recheck`, one minute by default); deny skips the target with
/// the deciding rules as the reason. A target missing from `targets` is denied (policy fails
/// closed).
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use chrono::{TimeZone, Utc};
/// use fleet_core::{Actor, Digest, Target, TargetId, Workload, synth};
/// use fleet_policy::{Artifact, LoadOptions, PolicySet};
/// use fleet_rollout::executor::{Gate, GateVerdict, PolicyGate};
///
/// let policies = r#"
/// policies:
///   - id: eu-freeze
///     scope: { targets: 'geo = "eu"' }
///     rules:
///       - id: year-end
///         blackout: { timezone: Europe/Berlin, dates: [{ from: 2026-12-21, to: 2027-01-04 }] }
/// "#;
/// let set = PolicySet::from_yaml(policies, &LoadOptions::new(&synth::schema()))?;
/// let id = TargetId::new("eks-eu-1")?;
/// let targets = BTreeMap::from([(id.clone(), Target::new(id.clone(), "cluster", "aws").property("geo", "eu"))]);
/// let (workload, actor) = (Workload::new("api"), Actor::service("ci"));
/// let artifact = Artifact::new(Digest::sha256(b"api 1.1"));
/// let gate = PolicyGate::new(&set, &targets, &workload, &artifact, &actor, "run-1");
///
/// let at = Utc.with_ymd_and_hms(2026, 12, 22, 9, 0, 0).unwrap();
/// let opens = Utc.with_ymd_and_hms(2027, 1, 4, 23, 0, 0).unwrap();
/// assert_eq!(gate.check(&id, at), GateVerdict::Wait { until: opens });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PolicyGate<'a> {
    policies: &'a PolicySet,
    targets: &'a BTreeMap<TargetId, Target>,
    workload: &'a Workload,
    artifact: &'a Artifact,
    actor: &'a Actor,
    request_id: &'a str,
    approvals: &'a [Approval],
    overrides: &'a [Override],
    recheck: Duration,
}

impl fmt::Debug for PolicyGate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyGate")
            .field("targets", &self.targets.len())
            .field("workload", &self.workload.name)
            .field("actor", &self.actor)
            .field("request_id", &self.request_id)
            .field("approvals", &self.approvals.len())
            .field("overrides", &self.overrides.len())
            .field("recheck", &self.recheck)
            .finish_non_exhaustive()
    }
}

impl<'a> PolicyGate<'a> {
    /// A gate asking `policies` about deploying `artifact` of `workload` to `targets`, on
    /// behalf of `actor`, as request `request_id` (approvals are bound to it).
    #[must_use]
    pub fn new(
        policies: &'a PolicySet,
        targets: &'a BTreeMap<TargetId, Target>,
        workload: &'a Workload,
        artifact: &'a Artifact,
        actor: &'a Actor,
        request_id: &'a str,
    ) -> Self {
        Self {
            policies,
            targets,
            workload,
            artifact,
            actor,
            request_id,
            approvals: &[],
            overrides: &[],
            recheck: Duration::from_seconds(60),
        }
    }

    /// With these approvals.
    #[must_use]
    pub fn approvals(mut self, approvals: &'a [Approval]) -> Self {
        self.approvals = approvals;
        self
    }

    /// With these break-glass overrides.
    #[must_use]
    pub fn overrides(mut self, overrides: &'a [Override]) -> Self {
        self.overrides = overrides;
        self
    }

    /// How long to wait before asking again when something other than a window is missing.
    #[must_use]
    pub fn recheck(mut self, after: Duration) -> Self {
        self.recheck = after;
        self
    }
}

impl Gate for PolicyGate<'_> {
    fn check(&self, target: &TargetId, now: DateTime<Utc>) -> GateVerdict {
        let Some(t) = self.targets.get(target) else {
            return GateVerdict::Deny {
                reason: format!("target `{target}` is not in the inventory"),
            };
        };
        let request = Request::new(
            self.request_id,
            self.workload,
            self.artifact,
            t,
            self.actor,
            now,
        )
        .approvals(self.approvals)
        .overrides(self.overrides);
        let decision = self.policies.evaluate(&request);
        match decision.outcome {
            Outcome::Allow => GateVerdict::Allow,
            Outcome::Pending => GateVerdict::Wait {
                until: decision
                    .next_window()
                    .unwrap_or(now + self.recheck.as_delta()),
            },
            Outcome::Deny => GateVerdict::Deny {
                reason: decision
                    .deciding()
                    .map(|r| format!("{}: {}", r.qualified_id(), r.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
        }
    }
}
