//! Approvals, the directory that says who is in which group, and the counting rules:
//! distinct approvers, never the requester, one person counting for one group only, each
//! approval bound to the request, the artifact digest, the rule, the target scope and an
//! expiry.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use fleet_core::{Digest, TargetId};

/// Group membership, injected by the caller (LDAP, an IdP, a static file).
pub trait Directory: Send + Sync {
    /// Whether `user` is a member of `group`.
    fn is_member(&self, group: &str, user: &str) -> bool;
    /// How many members `group` has; `None` when the group is unknown.
    fn group_size(&self, group: &str) -> Option<usize>;
}

/// A directory held in memory.
///
/// ```
/// use fleet_policy::{Directory, StaticDirectory};
/// let dir = StaticDirectory::new().group("sre", ["ana", "bo"]);
/// assert!(dir.is_member("sre", "ana"));
/// assert_eq!(dir.group_size("sre"), Some(2));
/// assert_eq!(dir.group_size("nobody"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticDirectory {
    groups: BTreeMap<String, BTreeSet<String>>,
}

impl StaticDirectory {
    /// An empty directory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a group with these members (merging with an existing one).
    #[must_use]
    pub fn group<I, S>(mut self, name: impl Into<String>, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups
            .entry(name.into())
            .or_default()
            .extend(members.into_iter().map(Into::into));
        self
    }
}

impl Directory for StaticDirectory {
    fn is_member(&self, group: &str, user: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.contains(user))
    }
    fn group_size(&self, group: &str) -> Option<usize> {
        self.groups.get(group).map(BTreeSet::len)
    }
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalVerdict {
    /// Counts toward the rule.
    Approve,
    /// Blocks the request until a new request is made.
    Reject,
}

/// Which targets an approval covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalScope {
    /// Every target of the request.
    All,
    /// These targets only.
    Targets(BTreeSet<TargetId>),
}

impl ApprovalScope {
    fn covers(&self, target: &str) -> bool {
        match self {
            Self::All => true,
            Self::Targets(t) => t.iter().any(|id| id.as_str() == target),
        }
    }
}

/// One person's answer to one request, bound to what they saw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    /// Who answered.
    pub approver: String,
    /// Approve or reject.
    pub verdict: ApprovalVerdict,
    /// The request it answers; an answer to another request never counts.
    pub request_id: String,
    /// The artifact digest approved; a new digest needs new approvals.
    pub artifact: Digest,
    /// The rule it answers, as `policy/rule`.
    pub rule: String,
    /// The targets it covers.
    pub scope: ApprovalScope,
    /// When it was given.
    pub granted_at: DateTime<Utc>,
    /// When it stops counting.
    pub expires_at: DateTime<Utc>,
}

impl Approval {
    /// An approval of `request_id` for `artifact` under `rule`, covering every target,
    /// valid from `granted_at` until `expires_at`.
    #[must_use]
    pub fn approve(
        approver: impl Into<String>,
        request_id: impl Into<String>,
        artifact: Digest,
        rule: impl Into<String>,
        granted_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            approver: approver.into(),
            verdict: ApprovalVerdict::Approve,
            request_id: request_id.into(),
            artifact,
            rule: rule.into(),
            scope: ApprovalScope::All,
            granted_at,
            expires_at,
        }
    }

    /// The same answer as a rejection.
    #[must_use]
    pub fn rejected(mut self) -> Self {
        self.verdict = ApprovalVerdict::Reject;
        self
    }

    /// The same answer limited to these targets.
    #[must_use]
    pub fn for_targets(mut self, targets: impl IntoIterator<Item = TargetId>) -> Self {
        self.scope = ApprovalScope::Targets(targets.into_iter().collect());
        self
    }
}

/// What the approval rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Count {
    /// Enough: who counted for which group.
    Satisfied(Vec<(String, String)>),
    /// A group member rejected this request.
    Rejected { by: String, group: String },
    /// Not enough: per group, (group, needed, counted).
    Short(Vec<(String, u32, u32)>),
}

/// Why an approval was not counted (for evidence).
pub(crate) struct Bound<'a> {
    pub request_id: &'a str,
    pub artifact: &'a Digest,
    pub rule: &'a str,
    pub target: &'a str,
    pub requester: &'a str,
    pub at: DateTime<Utc>,
    pub max_age: Option<chrono::Duration>,
}

impl Bound<'_> {
    fn binds(&self, a: &Approval) -> bool {
        a.request_id == self.request_id
            && a.artifact == *self.artifact
            && a.rule == self.rule
            && a.scope.covers(self.target)
    }

    fn live(&self, a: &Approval) -> bool {
        a.granted_at <= self.at
            && self.at < a.expires_at
            && self.max_age.is_none_or(|m| self.at - a.granted_at <= m)
    }
}

/// Counts approvals for `groups` (group, count) under the binding `b`.
pub(crate) fn count(
    groups: &[(String, u32)],
    approvals: &[Approval],
    directory: &dyn Directory,
    b: &Bound<'_>,
) -> Count {
    // A rejection by any member of a required group blocks, whatever its expiry: a
    // rejection stands until a new request is made.
    for a in approvals {
        if a.verdict == ApprovalVerdict::Reject && b.binds(a) && a.approver != b.requester {
            for (g, _) in groups {
                if directory.is_member(g, &a.approver) {
                    return Count::Rejected {
                        by: a.approver.clone(),
                        group: g.clone(),
                    };
                }
            }
        }
    }
    // Distinct live approvers other than the requester, in a stable order.
    let mut people: Vec<&str> = approvals
        .iter()
        .filter(|a| a.verdict == ApprovalVerdict::Approve)
        .filter(|a| a.approver != b.requester && b.binds(a) && b.live(a))
        .map(|a| a.approver.as_str())
        .collect();
    people.sort_unstable();
    people.dedup();

    // Seats: one per required approval; each person fills at most one seat (bipartite
    // matching, so the answer does not depend on the order approvals arrived in).
    let seats: Vec<usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(gi, (_, n))| std::iter::repeat_n(gi, *n as usize))
        .collect();
    let eligible: Vec<Vec<usize>> = people
        .iter()
        .map(|p| {
            seats
                .iter()
                .enumerate()
                .filter(|(_, gi)| {
                    groups
                        .get(**gi)
                        .is_some_and(|(g, _)| directory.is_member(g, p))
                })
                .map(|(si, _)| si)
                .collect()
        })
        .collect();
    let mut seat_owner: Vec<Option<usize>> = vec![None; seats.len()];
    for person in 0..people.len() {
        let mut seen = vec![false; seats.len()];
        augment(person, &eligible, &mut seat_owner, &mut seen);
    }
    let mut filled = vec![0u32; groups.len()];
    let mut who = Vec::new();
    for (si, owner) in seat_owner.iter().enumerate() {
        if let (Some(p), Some(gi)) = (owner, seats.get(si)) {
            if let Some(f) = filled.get_mut(*gi) {
                *f += 1;
            }
            if let (Some(name), Some((g, _))) = (people.get(*p), groups.get(*gi)) {
                who.push(((*name).to_owned(), g.clone()));
            }
        }
    }
    let short: Vec<(String, u32, u32)> = groups
        .iter()
        .zip(&filled)
        .filter(|((_, n), f)| *f < n)
        .map(|((g, n), f)| (g.clone(), *n, *f))
        .collect();
    if short.is_empty() {
        who.sort();
        Count::Satisfied(who)
    } else {
        Count::Short(short)
    }
}

/// Kuhn's augmenting path.
fn augment(
    person: usize,
    eligible: &[Vec<usize>],
    seat_owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    let Some(seats) = eligible.get(person) else {
        return false;
    };
    for &s in seats {
        if seen.get(s).copied().unwrap_or(true) {
            continue;
        }
        if let Some(x) = seen.get_mut(s) {
            *x = true;
        }
        let current = seat_owner.get(s).copied().flatten();
        let free = match current {
            None => true,
            Some(other) => augment(other, eligible, seat_owner, seen),
        };
        if free {
            if let Some(o) = seat_owner.get_mut(s) {
                *o = Some(person);
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn matching_does_not_depend_on_order() {
        // ana is in both groups, bo only in sre: ana must count for security.
        let dir = StaticDirectory::new()
            .group("sre", ["ana", "bo"])
            .group("security", ["ana"]);
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let d = Digest::sha256(b"x");
        let mk = |who: &str| {
            Approval::approve(
                who,
                "r1",
                d.clone(),
                "p/r",
                at,
                at + chrono::Duration::hours(1),
            )
        };
        let b = Bound {
            request_id: "r1",
            artifact: &d,
            rule: "p/r",
            target: "t",
            requester: "zed",
            at,
            max_age: None,
        };
        let groups = vec![("sre".to_owned(), 1), ("security".to_owned(), 1)];
        for order in [vec![mk("ana"), mk("bo")], vec![mk("bo"), mk("ana")]] {
            assert_eq!(
                count(&groups, &order, &dir, &b),
                Count::Satisfied(vec![
                    ("ana".to_owned(), "security".to_owned()),
                    ("bo".to_owned(), "sre".to_owned())
                ])
            );
        }
        // ana alone cannot fill both seats
        assert_eq!(
            count(&groups, &[mk("ana")], &dir, &b),
            Count::Short(vec![("security".to_owned(), 1, 0)])
        );
    }
}
