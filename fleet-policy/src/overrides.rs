//! Break-glass overrides: scoped to targets and rules, expiring, with a mandatory reason and
//! actor, visible in every decision they change.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, AuditEvent, TargetId};
use fleet_selectors::{CompiledSelector, TargetView};

use crate::error::PolicyError;
use crate::policy::PolicySet;

/// Which targets an override covers.
#[derive(Debug, Clone)]
pub enum OverrideScope {
    /// These targets.
    Targets(BTreeSet<TargetId>),
    /// Targets matching a selector (evaluated at the decision's instant).
    Selector(CompiledSelector),
}

/// A break-glass override. Build it with [`Override::new`], which refuses one without a
/// reason, an actor, rules or a positive lifetime.
#[derive(Debug, Clone)]
pub struct Override {
    id: String,
    scope: OverrideScope,
    rules: Vec<String>,
    actor: Actor,
    reason: String,
    starts_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Override {
    /// An override of `rules` (each `policy/rule`, or `policy` for all of its rules) for the
    /// targets in `scope`, from `starts_at` until `expires_at`.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Override`] when the id, reason, actor or rules are empty, or
    /// `expires_at` is not after `starts_at`.
    pub fn new(
        id: impl Into<String>,
        scope: OverrideScope,
        rules: impl IntoIterator<Item = impl Into<String>>,
        actor: Actor,
        reason: impl Into<String>,
        starts_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Self, PolicyError> {
        let id = id.into();
        let reason = reason.into();
        let rules: Vec<String> = rules.into_iter().map(Into::into).collect();
        let fail = |message: &str| {
            Err(PolicyError::Override {
                id: id.clone(),
                message: message.to_owned(),
            })
        };
        if id.trim().is_empty() {
            return fail("an override needs an id");
        }
        if reason.trim().is_empty() {
            return fail("a break-glass override needs a reason");
        }
        if actor.name.trim().is_empty() {
            return fail("a break-glass override needs a named actor");
        }
        if rules.is_empty() || rules.iter().any(|r| r.trim().is_empty()) {
            return fail("an override must name the rules it overrides");
        }
        if expires_at <= starts_at {
            return fail("an override must expire after it starts");
        }
        Ok(Self {
            id,
            scope,
            rules,
            actor,
            reason,
            starts_at,
            expires_at,
        })
    }

    /// Its id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Who declared it.
    #[must_use]
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// Why.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// When it stops applying.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    /// When it starts applying.
    #[must_use]
    pub fn starts_at(&self) -> DateTime<Utc> {
        self.starts_at
    }
    /// The rules it covers.
    #[must_use]
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    /// Whether it applies to `rule` (`policy/rule`) of `policy` on `target` at `at`.
    pub(crate) fn covers(
        &self,
        policy: &str,
        qualified_rule: &str,
        target: &dyn TargetView,
        at: DateTime<Utc>,
    ) -> bool {
        self.starts_at <= at
            && at < self.expires_at
            && self
                .rules
                .iter()
                .any(|r| r == qualified_rule || r == policy)
            && match &self.scope {
                OverrideScope::Targets(ids) => ids.iter().any(|i| i.as_str() == target.id()),
                OverrideScope::Selector(s) => s.matches(target, at),
            }
    }

    /// The declaration as a core audit event (action `policy.override`).
    #[must_use]
    pub fn to_audit_event(&self, action_id: impl Into<String>) -> AuditEvent {
        let mut e = AuditEvent::new(
            action_id.into(),
            self.starts_at,
            self.actor.clone(),
            "policy.override",
            "declared",
        )
        .reason(self.reason.clone());
        e.details.insert("override".to_owned(), self.id.clone());
        e.details.insert("rules".to_owned(), self.rules.join(","));
        e.details
            .insert("expires_at".to_owned(), self.expires_at.to_rfc3339());
        e.details.insert(
            "scope".to_owned(),
            match &self.scope {
                OverrideScope::Targets(t) => {
                    t.iter().map(TargetId::as_str).collect::<Vec<_>>().join(",")
                }
                OverrideScope::Selector(s) => s.to_string(),
            },
        );
        e
    }
}

impl PolicySet {
    /// Checks that every rule an override names exists in this set.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Override`] naming the first unknown rule, with a suggestion.
    pub fn check_override(&self, o: &Override) -> Result<(), PolicyError> {
        for r in &o.rules {
            let known = self
                .policies
                .iter()
                .any(|p| &*p.id == r.as_str() || p.rules.iter().any(|x| x.qualified == *r));
            if !known {
                let candidates: Vec<&str> = self
                    .rule_ids()
                    .chain(self.policies.iter().map(|p| &*p.id))
                    .collect();
                let hint = fleet_core::did_you_mean(r, candidates.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(PolicyError::Override {
                    id: o.id.clone(),
                    message: format!("unknown rule `{r}`{hint}"),
                });
            }
        }
        Ok(())
    }
}
