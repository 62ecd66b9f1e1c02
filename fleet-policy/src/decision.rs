//! Decisions and the evidence they carry.

use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, AuditEvent, TargetId};
use smol_str::SmolStr;

use crate::spec::Mode;

/// The answer to a deploy request.
///
/// Not `#[non_exhaustive]`: callers must handle every outcome, and a new one would be a
/// breaking change on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Go ahead.
    Allow,
    /// Not now: something is missing (approvals, a window, a concurrency slot).
    Pending,
    /// No.
    Deny,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::Pending => "pending",
            Self::Deny => "deny",
        })
    }
}

/// One rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The rule is satisfied.
    Pass,
    /// The rule would be satisfied later (approvals, a window, a slot).
    Pending,
    /// The rule is broken.
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Pending => "pending",
            Self::Fail => "fail",
        })
    }
}

/// A break-glass override that changed a rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverrideUse {
    /// The override's id.
    pub id: String,
    /// Who declared it.
    pub actor: Actor,
    /// Why.
    pub reason: String,
    /// When it stops applying.
    pub expires_at: DateTime<Utc>,
    /// The verdict it replaced.
    pub replaced: Verdict,
}

/// What is still needed for a pending decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Missing {
    /// More approvals from a group.
    Approvals {
        /// The rule, `policy/rule`.
        rule: String,
        /// The group.
        group: String,
        /// How many more are needed.
        needed: u32,
    },
    /// A change window: the earliest instant the rule would allow the change, if any.
    Window {
        /// The rule, `policy/rule`.
        rule: String,
        /// When it opens; `None` if no opening was found.
        opens_at: Option<DateTime<Utc>>,
    },
    /// A concurrency slot in a group.
    Slot {
        /// The rule, `policy/rule`.
        rule: String,
        /// The group key, such as `region=eu-west-1`.
        group: String,
        /// The limit.
        limit: u32,
    },
}

/// One applicable rule's result with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleResult {
    /// The policy id (inline up to 23 bytes: copying it into each result costs no atomic
    /// reference count).
    pub policy: SmolStr,
    /// The rule id within the policy.
    pub rule: SmolStr,
    /// Its mode.
    pub mode: Mode,
    /// Its verdict, after any override.
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: std::borrow::Cow<'static, str>,
    /// Key facts the verdict rests on, in order.
    pub evidence: Vec<(&'static str, String)>,
    /// The override that changed the verdict, if any.
    pub overridden_by: Option<Box<OverrideUse>>,
}

impl RuleResult {
    /// `policy/rule`.
    #[must_use]
    pub fn qualified_id(&self) -> String {
        format!("{}/{}", self.policy, self.rule)
    }
}

impl fmt::Display for RuleResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} [{}] {}: {}",
            self.policy, self.rule, self.mode, self.verdict, self.reason
        )?;
        for (k, v) in &self.evidence {
            write!(f, "; {k}={v}")?;
        }
        if let Some(o) = &self.overridden_by {
            write!(
                f,
                "; overridden by `{}` (break-glass by {}: {}; was {})",
                o.id, o.actor.name, o.reason, o.replaced
            )?;
        }
        Ok(())
    }
}

/// A decision with everything that led to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Allow, pending or deny.
    pub outcome: Outcome,
    /// The target decided for.
    pub target: String,
    /// The instant it was decided for.
    pub at: DateTime<Utc>,
    /// Results of every applicable enforced rule, in policy order. For a deny, the failing
    /// ones decided; for pending, the pending ones; for allow, all of them.
    pub results: Vec<RuleResult>,
    /// Warn-mode rules that did not pass (they never block).
    pub warnings: Vec<RuleResult>,
    /// Dry-run rules, all results, reported separately (they never block).
    pub dry_run: Vec<RuleResult>,
    /// For pending: what is still needed.
    pub missing: Vec<Missing>,
    /// The time-zone database version, when a window rule was evaluated.
    pub tzdb_version: Option<&'static str>,
}

impl Decision {
    /// The results that decided: failures for a deny, pending ones for pending, every
    /// result for allow.
    pub fn deciding(&self) -> impl Iterator<Item = &RuleResult> {
        let want = match self.outcome {
            Outcome::Deny => Some(Verdict::Fail),
            Outcome::Pending => Some(Verdict::Pending),
            Outcome::Allow => None,
        };
        self.results
            .iter()
            .filter(move |r| want.is_none_or(|w| r.verdict == w))
    }

    /// When the decision is pending on a window only: the earliest instant it may be
    /// allowed.
    #[must_use]
    pub fn next_window(&self) -> Option<DateTime<Utc>> {
        self.missing
            .iter()
            .filter_map(|m| match m {
                Missing::Window { opens_at, .. } => *opens_at,
                _ => None,
            })
            .max()
    }

    /// The decision as a core audit event (action `policy.evaluate`).
    #[must_use]
    pub fn to_audit_event(&self, action_id: impl Into<String>, actor: &Actor) -> AuditEvent {
        let mut e = AuditEvent::new(
            action_id.into(),
            self.at,
            actor.clone(),
            "policy.evaluate",
            self.outcome.to_string(),
        );
        if let Ok(id) = TargetId::new(&self.target) {
            e = e.target(id);
        }
        for r in self.deciding() {
            e = e.reason(r.to_string());
        }
        for r in &self.warnings {
            e = e.reason(format!("warning: {r}"));
        }
        for r in self.results.iter().filter(|r| r.overridden_by.is_some()) {
            e.details
                .insert(format!("override:{}", r.qualified_id()), r.to_string());
        }
        if let Some(v) = self.tzdb_version {
            e.details.insert("tzdb".to_owned(), v.to_owned());
        }
        e
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} for `{}` at {}",
            self.outcome,
            self.target,
            self.at.to_rfc3339()
        )?;
        for r in self.deciding() {
            writeln!(f, "  {r}")?;
        }
        for m in &self.missing {
            match m {
                Missing::Approvals {
                    rule,
                    group,
                    needed,
                } => {
                    writeln!(f, "  missing: {needed} approval(s) from `{group}` ({rule})")?;
                }
                Missing::Window { rule, opens_at } => match opens_at {
                    Some(t) => {
                        writeln!(f, "  missing: window, opens at {} ({rule})", t.to_rfc3339())?
                    }
                    None => writeln!(f, "  missing: window, no opening found ({rule})")?,
                },
                Missing::Slot { rule, group, limit } => {
                    writeln!(f, "  missing: a slot in `{group}` (limit {limit}, {rule})")?;
                }
            }
        }
        for r in &self.warnings {
            writeln!(f, "  warning: {r}")?;
        }
        for r in &self.dry_run {
            writeln!(f, "  dry-run: {r}")?;
        }
        if let Some(v) = self.tzdb_version {
            writeln!(f, "  tzdb {v}")?;
        }
        Ok(())
    }
}
