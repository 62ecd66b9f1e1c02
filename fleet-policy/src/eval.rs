//! Evaluation: one request against the compiled policies, into a [`Decision`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, Digest, Workload};
use fleet_selectors::TargetView;

use crate::approval::{self, Approval, Bound, Count, Directory, StaticDirectory};
use crate::artifact::Verifier;
use crate::decision::{Decision, Missing, Outcome, OverrideUse, RuleResult, Verdict};
use crate::overrides::Override;
use crate::policy::{
    Approvals, Artifacts, Concurrency, Placement, Policy, PolicySet, Rule, RuleKind, Window,
};
use crate::spec::{Mode, Overrun, WindowKind};
use crate::verify::Evidence;
use crate::window::TZDB_VERSION;

/// The artifact being deployed, with the evidence that comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Its digest: what approvals and signatures are bound to.
    pub digest: Digest,
    /// The image reference, such as `registry.acme.io/payments/api@sha256:…`.
    pub image: Option<String>,
    /// Signatures and attestations.
    pub evidence: Vec<Evidence>,
}

impl Artifact {
    /// An artifact with a digest and nothing else.
    #[must_use]
    pub fn new(digest: Digest) -> Self {
        Self {
            digest,
            image: None,
            evidence: Vec::new(),
        }
    }

    /// Sets the image reference.
    #[must_use]
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Adds evidence.
    #[must_use]
    pub fn evidence(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }

    /// The repository part of the image reference (no tag, no digest).
    #[must_use]
    pub fn repository(&self) -> Option<&str> {
        let image = self.image.as_deref()?;
        // One pass up to the digest: a `:` after the last `/` starts a tag; one before it
        // is a registry port.
        let mut end = image.len();
        let mut tag = None;
        for (i, b) in image.bytes().enumerate() {
            match b {
                b'@' => {
                    end = i;
                    break;
                }
                b'/' => tag = None,
                b':' if tag.is_none() => tag = Some(i),
                _ => {}
            }
        }
        image.get(..tag.unwrap_or(end))
    }
}

/// How many targets are changing right now in a concurrency group, excluding the one asked
/// about. The rollout executor implements it.
pub trait InFlight {
    /// Targets in flight whose property `group_by` equals `value`.
    fn in_flight(&self, group_by: &str, value: &str) -> u32;
}

/// A deploy request: everything policy needs, including the instant. Policy never reads a
/// clock.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The request's id; approvals are bound to it.
    pub id: &'a str,
    /// The workload.
    pub workload: &'a Workload,
    /// The artifact.
    pub artifact: &'a Artifact,
    /// The target.
    pub target: &'a dyn TargetView,
    /// Who asks.
    pub actor: &'a Actor,
    /// The instant to decide for.
    pub at: DateTime<Utc>,
    /// Approvals given so far.
    pub approvals: &'a [Approval],
    /// Break-glass overrides in force.
    pub overrides: &'a [Override],
    /// When the operation on this target started, if it is already in progress (for the
    /// overrun rule of deny windows).
    pub in_progress_since: Option<DateTime<Utc>>,
    /// Current in-flight counts, for concurrency rules; without them those rules pass and
    /// say so.
    pub in_flight: Option<&'a dyn InFlight>,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("workload", &self.workload.name)
            .field("artifact", &self.artifact.digest)
            .field("target", &self.target.id())
            .field("actor", &self.actor)
            .field("at", &self.at)
            .field("approvals", &self.approvals.len())
            .field("overrides", &self.overrides.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Request<'a> {
    /// A request with no approvals, overrides or in-flight counts.
    #[must_use]
    pub fn new(
        id: &'a str,
        workload: &'a Workload,
        artifact: &'a Artifact,
        target: &'a dyn TargetView,
        actor: &'a Actor,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            workload,
            artifact,
            target,
            actor,
            at,
            approvals: &[],
            overrides: &[],
            in_progress_since: None,
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

    /// For an operation already in progress since `since`.
    #[must_use]
    pub fn in_progress_since(mut self, since: DateTime<Utc>) -> Self {
        self.in_progress_since = Some(since);
        self
    }

    /// With in-flight counts for concurrency rules.
    #[must_use]
    pub fn in_flight(mut self, counts: &'a dyn InFlight) -> Self {
        self.in_flight = Some(counts);
        self
    }
}

/// Remembers the properties one decision reads: scopes and rules read the same few
/// (`region`, `tier`, `compliance`) many times, and a lookup in an owned target's map or the
/// inventory's symbol table costs more than a scan of a few short names.
pub(crate) struct Memo<'t> {
    inner: &'t dyn TargetView,
    seen: std::cell::RefCell<(usize, [MemoEntry<'t>; MEMO_SLOTS])>,
}

const MEMO_SLOTS: usize = 8;
const MEMO_NAME: usize = 24;

#[derive(Clone, Copy)]
struct MemoEntry<'t> {
    len: u8,
    /// The name, zero-padded, as words: compared without a memcmp call.
    name: [u64; MEMO_NAME / 8],
    value: Option<fleet_core::ValueRef<'t>>,
}

/// A name of at most [`MEMO_NAME`] bytes as zero-padded words.
fn memo_key(bytes: &[u8]) -> [u64; MEMO_NAME / 8] {
    // one copy into a zero-padded buffer, then whole words (no loop over bytes)
    let mut buf = [0u8; MEMO_NAME];
    if let Some(b) = buf.get_mut(..bytes.len()) {
        b.copy_from_slice(bytes);
    }
    let mut out = [0u64; MEMO_NAME / 8];
    for (w, c) in out.iter_mut().zip(buf.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        *w = u64::from_le_bytes(word);
    }
    out
}

impl<'t> Memo<'t> {
    pub(crate) fn new(inner: &'t dyn TargetView) -> Self {
        let empty = MemoEntry {
            len: 0,
            name: [0; MEMO_NAME / 8],
            value: None,
        };
        Self {
            inner,
            seen: std::cell::RefCell::new((0, [empty; MEMO_SLOTS])),
        }
    }

    /// Reads `names` now, one after another with nothing in between, and returns the target's
    /// id: on a target that is not in cache, the misses of independent reads overlap, where
    /// reading each when a scope or rule first asks would pay them one at a time.
    pub(crate) fn read_ahead(&self, names: &[String], capabilities: bool) -> String {
        // The first byte of every string read is folded in so that its memory is read now
        // too (scopes and rules compare those bytes later).
        let mut touched = 0u8;
        for name in names.iter().take(MEMO_SLOTS) {
            if let Some(fleet_core::ValueRef::String(v)) = self.property(name) {
                touched ^= v.as_bytes().first().copied().unwrap_or(0);
            }
        }
        if capabilities {
            // brings the capability list in; rules read it again with their patterns
            let _ = self.inner.any_capability(&mut |c| {
                touched ^= c.as_bytes().first().copied().unwrap_or(0);
                false
            });
        }
        std::hint::black_box(touched);
        self.inner.id().to_owned()
    }
}

impl TargetView for Memo<'_> {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn kind(&self) -> &str {
        self.inner.kind()
    }
    fn substrate(&self) -> &str {
        self.inner.substrate()
    }
    fn property(&self, name: &str) -> Option<fleet_core::ValueRef<'_>> {
        let bytes = name.as_bytes();
        if bytes.len() > MEMO_NAME {
            return self.inner.property(name);
        }
        let Ok(mut seen) = self.seen.try_borrow_mut() else {
            return self.inner.property(name);
        };
        let (used, entries) = &mut *seen;
        let key = memo_key(bytes);
        for e in entries.iter().take(*used) {
            if usize::from(e.len) == bytes.len() && e.name == key {
                return e.value;
            }
        }
        let value = self.inner.property(name);
        if let Some(e) = entries.get_mut(*used) {
            e.len = bytes.len() as u8;
            e.name = key;
            e.value = value;
            *used += 1;
        }
        value
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.inner.label(key)
    }
    fn any_label_key(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.inner.any_label_key(f)
    }
    fn any_capability(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.inner.any_capability(f)
    }
    fn document(&self, root: fleet_selectors::DocRoot) -> Option<&serde_json::Value> {
        self.inner.document(root)
    }
}

/// A rule's verdict, reason, evidence and what it is missing.
type Out = (Verdict, Reason, Vec<(&'static str, String)>, Vec<Missing>);

/// A one-line reason: static for the common cases, formatted when it names values.
type Reason = std::borrow::Cow<'static, str>;

/// A reason made of literal and quoted parts, in one allocation of the exact size (failed
/// rules are common in large policy sets, and `format!` costs several times as much).
fn concat(parts: &[&str]) -> Reason {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out.into()
}

/// The artifact's repository, parsed on first use and then shared by every registry rule of
/// one decision.
type Repository<'r> = std::cell::OnceCell<Option<&'r str>>;

/// Work that depends only on the release (workload, artifact, approvals, instant), done once
/// per bulk evaluation instead of once per target.
pub(crate) struct Prepared {
    /// Per policy: whether its workload scope admits the workload.
    workload_ok: Vec<bool>,
    /// Per rule (by `Rule::flat`): the result, when it does not depend on the target.
    fixed: Vec<Option<Out>>,
    /// Per rule: for recurring allow windows, the interval open at the instant, if any.
    allow_active: Vec<Option<Option<crate::window::Interval>>>,
    /// Next allowed instant per set of windows in force.
    next_allowed: std::cell::RefCell<hashbrown::HashMap<Vec<usize>, Option<DateTime<Utc>>>>,
}

/// A target with nothing: what target-independent rules are evaluated against.
#[derive(Debug, Default)]
pub(crate) struct NoTargetRef;

impl TargetView for NoTargetRef {
    fn id(&self) -> &str {
        ""
    }
    fn kind(&self) -> &str {
        ""
    }
    fn substrate(&self) -> &str {
        ""
    }
    fn property(&self, _: &str) -> Option<fleet_core::ValueRef<'_>> {
        None
    }
    fn label(&self, _: &str) -> Option<&str> {
        None
    }
    fn any_label_key(&self, _: &mut dyn FnMut(&str) -> bool) -> bool {
        false
    }
    fn any_capability(&self, _: &mut dyn FnMut(&str) -> bool) -> bool {
        false
    }
    fn document(&self, _: fleet_selectors::DocRoot) -> Option<&serde_json::Value> {
        None
    }
}

impl PolicySet {
    /// Precomputes what does not depend on the target for a release described by `req`
    /// (whose target is ignored).
    pub(crate) fn prepare(&self, req: &Request<'_>) -> Prepared {
        let probe = Request {
            target: &NoTargetRef,
            ..*req
        };
        let rules = self.rule_count();
        let mut prep = Prepared {
            workload_ok: Vec::with_capacity(self.policies.len()),
            fixed: vec![None; rules],
            allow_active: vec![None; rules],
            next_allowed: std::cell::RefCell::default(),
        };
        let approvals_target_free = req
            .approvals
            .iter()
            .all(|a| a.scope == crate::approval::ApprovalScope::All);
        for p in &self.policies {
            prep.workload_ok
                .push(self.applies_with(p, &probe, Some(true)));
            for r in &p.rules {
                let target_free = match &r.kind {
                    RuleKind::Placement(pl) => {
                        pl.compliance.is_none()
                            && pl.capabilities.is_empty()
                            && pl.residency.is_none()
                    }
                    RuleKind::Approvals(_) => approvals_target_free,
                    RuleKind::Window(Window::Recurring {
                        kind: WindowKind::Allow,
                        window,
                        ..
                    }) => {
                        if let Some(slot) = prep.allow_active.get_mut(r.flat) {
                            *slot = Some(window.active_at(req.at));
                        }
                        false
                    }
                    RuleKind::Window(_) | RuleKind::Artifacts(_) => true,
                    RuleKind::Concurrency(_) => false,
                };
                if target_free && let Some(slot) = prep.fixed.get_mut(r.flat) {
                    *slot = Some(self.rule_verdict(r, &probe, &Repository::new()));
                }
            }
        }
        prep
    }
}

/// A concurrency limit that applies to a target, for the rollout planner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConcurrencyLimit {
    /// The rule, `policy/rule`.
    pub rule: String,
    /// The grouping property.
    pub group_by: String,
    /// The target's value of it; `None` when the target lacks it.
    pub group: Option<String>,
    /// At most this many in flight per group.
    pub max_in_flight: u32,
}

/// Evaluation context: the directory and the verifier.
#[derive(Clone)]
pub(crate) struct Context {
    pub directory: Arc<dyn Directory>,
    pub verifier: Option<Arc<Verifier>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self {
            directory: Arc::new(StaticDirectory::new()),
            verifier: None,
        }
    }
}

impl PolicySet {
    /// Uses `directory` for group membership. Without one, no approver is a member of any
    /// group, so approval rules stay pending.
    #[must_use]
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.ctx.directory = directory;
        self
    }

    /// Uses `verifier` (trust roots, keys, and its cache) for signature and provenance
    /// rules. Without one, those rules deny: there is nothing to verify against.
    #[must_use]
    pub fn with_verifier(mut self, verifier: Arc<Verifier>) -> Self {
        self.ctx.verifier = Some(verifier);
        self
    }

    /// Whether policy `p` applies to the request; `in_scope` is the target scope's answer
    /// when the caller already knows it (bulk evaluation resolves scopes with the index).
    pub(crate) fn applies_with(
        &self,
        p: &Policy,
        req: &Request<'_>,
        in_scope: Option<bool>,
    ) -> bool {
        // a target scope already known not to match settles it (most policies of a large
        // set are scoped to other regions or customers)
        if in_scope == Some(false) {
            return false;
        }
        if let Some(w) = &p.scope.workloads {
            let wl = req.workload;
            if let Some(n) = &w.names
                && !n.matches(&wl.name)
            {
                return false;
            }
            if !w.classes.is_empty()
                && !wl
                    .class
                    .as_ref()
                    .is_some_and(|c| w.classes.iter().any(|x| x == c))
            {
                return false;
            }
            if !w
                .labels
                .iter()
                .all(|(k, v)| wl.labels.get(k).is_some_and(|x| x == v))
            {
                return false;
            }
        }
        match in_scope {
            Some(known) => known,
            None => p
                .scope
                .targets
                .as_ref()
                .is_none_or(|s| s.matches(req.target, req.at)),
        }
    }

    fn applies(&self, p: &Policy, req: &Request<'_>) -> bool {
        self.applies_with(p, req, None)
    }

    /// Decides a request. Deterministic; fails closed.
    ///
    /// Rules in enforce mode decide: any failure denies; otherwise anything pending makes the
    /// decision pending; otherwise it is allowed. Warn-mode failures are listed as warnings
    /// and dry-run results separately; neither blocks. An override in force for a rule, the
    /// target and the instant turns that rule's failure or pending verdict into a pass and
    /// is recorded on the result.
    #[must_use]
    pub fn evaluate(&self, req: &Request<'_>) -> Decision {
        let memo = Memo::new(req.target);
        let target = memo.read_ahead(&self.reads, self.reads_capabilities);
        let req = Request {
            target: &memo,
            ..*req
        };
        // most policy sets fit on the stack; larger ones take one allocation
        let n = self.policies.len();
        let mut small = [false; 128];
        let mut large = Vec::new();
        let scoped: &mut [bool] = match small.get_mut(..n) {
            Some(s) => s,
            None => {
                large.resize(n, false);
                &mut large
            }
        };
        self.scopes
            .resolve(&self.policies, req.target, req.at, scoped);
        self.evaluate_scoped(&req, target, Some(scoped), None)
    }

    /// [`PolicySet::evaluate`] with the target's id read and the target scopes already
    /// resolved: `scoped[i]` says whether policy `i`'s target selector matches.
    pub(crate) fn evaluate_scoped(
        &self,
        req: &Request<'_>,
        target: String,
        scoped: Option<&[bool]>,
        prep: Option<&Prepared>,
    ) -> Decision {
        let mut d = Decision {
            outcome: Outcome::Allow,
            target,
            at: req.at,
            results: Vec::with_capacity(8),
            warnings: Vec::new(),
            dry_run: Vec::new(),
            missing: Vec::new(),
            tzdb_version: None,
        };
        let mut any_window = false;
        let repository = Repository::new();
        // allow windows are judged together: inside any one is enough
        let mut allow_rules: Vec<(usize, &Policy, &Rule)> = Vec::new();
        // enforced windows in force for this target (not lifted by an override), for the
        // next-allowed instant
        let mut calendar: Vec<(usize, &Window)> = Vec::new();
        for (pi, p) in self.policies.iter().enumerate() {
            let known = scoped.and_then(|s| s.get(pi).copied());
            // most policies of a large set are scoped to other targets: skip those without a
            // call
            if known == Some(false) {
                continue;
            }
            let applies = match (prep, known) {
                (Some(prep), Some(k)) => k && prep.workload_ok.get(pi).copied().unwrap_or(false),
                _ => self.applies_with(p, req, known),
            };
            if !applies {
                continue;
            }
            for rule in &p.rules {
                if let RuleKind::Window(w) = &rule.kind {
                    any_window = true;
                    if rule.mode == Mode::Enforce
                        && !req
                            .overrides
                            .iter()
                            .any(|o| o.covers(&p.id, &rule.qualified, req.target, req.at))
                    {
                        calendar.push((rule.flat, w));
                    }
                }
                if let RuleKind::Window(Window::Recurring {
                    kind: WindowKind::Allow,
                    ..
                }) = &rule.kind
                {
                    allow_rules.push((0, p, rule));
                    continue;
                }
                let fixed = prep
                    .and_then(|x| x.fixed.get(rule.flat))
                    .and_then(Option::as_ref);
                let (verdict, reason, evidence, missing) = match fixed {
                    Some(out) => out.clone(),
                    None => self.rule_verdict(rule, req, &repository),
                };
                self.record(&mut d, p, rule, req, verdict, reason, evidence, missing);
            }
        }
        if !allow_rules.is_empty() {
            self.allow_windows(&mut d, &allow_rules, req, prep);
        }
        if any_window {
            d.tzdb_version = Some(TZDB_VERSION);
            // pending on windows: say when the target can next change, all windows together
            if d.missing
                .iter()
                .any(|m| matches!(m, Missing::Window { .. }))
            {
                let windows: Vec<&Window> = calendar.iter().map(|(_, w)| *w).collect();
                let next = match prep {
                    Some(prep) => {
                        let key: Vec<usize> = calendar.iter().map(|(f, _)| *f).collect();
                        let mut memo = prep.next_allowed.borrow_mut();
                        *memo
                            .entry(key)
                            .or_insert_with(|| next_allowed_in(&windows, req.at))
                    }
                    None => next_allowed_in(&windows, req.at),
                };
                for m in &mut d.missing {
                    if let Missing::Window { opens_at, .. } = m {
                        *opens_at = next;
                    }
                }
            }
        }
        d.outcome = if d.results.iter().any(|r| r.verdict == Verdict::Fail) {
            Outcome::Deny
        } else if d.results.iter().any(|r| r.verdict == Verdict::Pending) {
            Outcome::Pending
        } else {
            Outcome::Allow
        };
        if d.outcome != Outcome::Pending {
            d.missing.clear();
        }
        d
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        d: &mut Decision,
        p: &Policy,
        rule: &Rule,
        req: &Request<'_>,
        verdict: Verdict,
        reason: Reason,
        evidence: Vec<(&'static str, String)>,
        missing: Vec<Missing>,
    ) {
        let mut result = RuleResult {
            policy: p.id.clone(),
            rule: rule.id.clone(),
            mode: rule.mode,
            verdict,
            reason,
            evidence,
            overridden_by: None,
        };
        match rule.mode {
            Mode::Enforce => {
                if verdict != Verdict::Pass
                    && let Some(o) = req
                        .overrides
                        .iter()
                        .find(|o| o.covers(&p.id, &rule.qualified, req.target, req.at))
                {
                    result.overridden_by = Some(Box::new(OverrideUse {
                        id: o.id().to_owned(),
                        actor: o.actor().clone(),
                        reason: o.reason().to_owned(),
                        expires_at: o.expires_at(),
                        replaced: verdict,
                    }));
                    result.verdict = Verdict::Pass;
                } else if verdict == Verdict::Pending {
                    d.missing.extend(missing);
                }
                d.results.push(result);
            }
            Mode::Warn => {
                if verdict != Verdict::Pass {
                    d.warnings.push(result);
                }
            }
            Mode::DryRun => d.dry_run.push(result),
        }
    }

    fn allow_windows(
        &self,
        d: &mut Decision,
        rules: &[(usize, &Policy, &Rule)],
        req: &Request<'_>,
        prep: Option<&Prepared>,
    ) {
        let open: Option<(&Rule, crate::window::Interval)> =
            rules.iter().find_map(|(_, _, r)| match &r.kind {
                RuleKind::Window(Window::Recurring { window, .. }) => {
                    let active = match prep.and_then(|x| x.allow_active.get(r.flat)) {
                        Some(Some(known)) => *known,
                        _ => window.active_at(req.at),
                    };
                    active.map(|i| (*r, i))
                }
                _ => None,
            });
        for (_, p, rule) in rules {
            let (verdict, reason, evidence, missing) = match (&open, &rule.kind) {
                (Some((r, i)), _) => (
                    Verdict::Pass,
                    if std::ptr::eq(*r, *rule) {
                        "inside this allow window".into()
                    } else {
                        format!("inside allow window `{}`", r.qualified)
                    },
                    vec![
                        ("opened", i.start.to_rfc3339()),
                        ("closes", i.end.to_rfc3339()),
                    ],
                    Vec::new(),
                ),
                (None, RuleKind::Window(Window::Recurring { window, .. })) => (
                    Verdict::Pending,
                    "outside every allow window that applies".into(),
                    vec![
                        ("cron", window.cron.to_string()),
                        ("timezone", window.tz.name().to_owned()),
                        (
                            "next_opening",
                            window
                                .next_start_after(req.at)
                                .map_or_else(|| "none".into(), |i| i.start.to_rfc3339()),
                        ),
                    ],
                    vec![Missing::Window {
                        rule: rule.qualified.clone(),
                        opens_at: None,
                    }],
                ),
                (None, _) => continue,
            };
            self.record(d, p, rule, req, verdict, reason.into(), evidence, missing);
        }
    }

    fn rule_verdict<'r>(&self, rule: &Rule, req: &Request<'r>, repository: &Repository<'r>) -> Out {
        match &rule.kind {
            RuleKind::Placement(p) => {
                let (v, r, e) = placement(p, req, repository);
                (v, r, e, Vec::new())
            }
            RuleKind::Approvals(a) => self.approvals(rule, a, req),
            RuleKind::Window(w) => deny_window(rule, w, req),
            RuleKind::Artifacts(a) => {
                let (v, r, e) = self.artifacts(a, req);
                (v, r, e, Vec::new())
            }
            RuleKind::Concurrency(c) => concurrency(rule, c, req),
        }
    }

    fn approvals(&self, rule: &Rule, a: &Approvals, req: &Request<'_>) -> Out {
        let b = Bound {
            request_id: req.id,
            artifact: &req.artifact.digest,
            rule: &rule.qualified,
            target: req.target.id(),
            requester: &req.actor.name,
            at: req.at,
            max_age: a.max_age,
        };
        match approval::count(&a.groups, req.approvals, &*self.ctx.directory, &b) {
            Count::Satisfied(who) => (
                Verdict::Pass,
                "approved".into(),
                who.into_iter()
                    .map(|(person, group)| ("approved_by", format!("{person} ({group})")))
                    .collect(),
                Vec::new(),
            ),
            Count::Rejected { by, group } => (
                Verdict::Fail,
                format!("rejected by `{by}` of `{group}`; a new request is needed").into(),
                vec![("request", req.id.to_owned())],
                Vec::new(),
            ),
            Count::Short(short) => {
                let text: Vec<String> = short
                    .iter()
                    .map(|(g, n, have)| format!("{have} of {n} from `{g}`"))
                    .collect();
                let missing = short
                    .iter()
                    .map(|(g, n, have)| Missing::Approvals {
                        rule: rule.qualified.clone(),
                        group: g.clone(),
                        needed: n - have,
                    })
                    .collect();
                (
                    Verdict::Pending,
                    format!("waiting for approvals: {}", text.join(", ")).into(),
                    vec![
                        ("request", req.id.to_owned()),
                        ("artifact", req.artifact.digest.to_string()),
                    ],
                    missing,
                )
            }
        }
    }

    fn artifacts(
        &self,
        a: &Artifacts,
        req: &Request<'_>,
    ) -> (Verdict, Reason, Vec<(&'static str, String)>) {
        let art = req.artifact;
        let mut evidence = vec![("digest", art.digest.to_string())];
        if a.require_digest {
            let pinned = art
                .image
                .as_deref()
                .and_then(|i| i.split_once('@'))
                .is_some_and(|(_, d)| d == art.digest.to_string());
            if !pinned {
                return (
                    Verdict::Fail,
                    format!(
                        "image `{}` is not pinned to the artifact digest",
                        art.image.as_deref().unwrap_or("(none)")
                    )
                    .into(),
                    evidence,
                );
            }
            evidence.push(("pinned", "yes".into()));
        }
        if a.signers.is_empty() && a.provenance.is_none() {
            return (Verdict::Pass, "image pinned by digest".into(), evidence);
        }
        let Some(verifier) = &self.ctx.verifier else {
            return (
                Verdict::Fail,
                "no trust material configured to verify signatures".into(),
                evidence,
            );
        };
        match crate::verify::check(verifier, a, art) {
            Ok(found) => {
                evidence.extend(found);
                (
                    Verdict::Pass,
                    "signed and attested as required".into(),
                    evidence,
                )
            }
            Err(reason) => (Verdict::Fail, reason.into(), evidence),
        }
    }

    /// The limits of every enforced concurrency rule that applies to `target` for
    /// `workload`, for the rollout planner.
    #[must_use]
    pub fn concurrency_limits(
        &self,
        target: &dyn TargetView,
        workload: &Workload,
        at: DateTime<Utc>,
    ) -> Vec<ConcurrencyLimit> {
        let mut out = Vec::new();
        let artifact = Artifact::new(Digest::sha256(b""));
        let actor = Actor::unknown();
        let req = Request::new("", workload, &artifact, target, &actor, at);
        for p in &self.policies {
            if !self.applies(p, &req) {
                continue;
            }
            for r in &p.rules {
                if let (RuleKind::Concurrency(c), Mode::Enforce) = (&r.kind, r.mode) {
                    out.push(ConcurrencyLimit {
                        rule: r.qualified.clone(),
                        group_by: c.group_by.clone(),
                        group: target
                            .property(&c.group_by)
                            .map(|v| display_value(&v.to_value())),
                        max_in_flight: c.max_in_flight,
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// The earliest instant at or after `after` when the change windows (allow, deny,
    /// freeze, blackout) of the enforced policies that apply to `target` and `workload`
    /// permit a change; `None` if none is found within five years. Approvals and other rules
    /// are not considered: this is the planner's window calendar.
    #[must_use]
    pub fn next_allowed(
        &self,
        target: &dyn TargetView,
        workload: &Workload,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.next_allowed_for(target, Some(workload), after, None)
    }

    pub(crate) fn next_allowed_for(
        &self,
        target: &dyn TargetView,
        workload: Option<&Workload>,
        after: DateTime<Utc>,
        req: Option<&Request<'_>>,
    ) -> Option<DateTime<Utc>> {
        let fallback_workload = Workload::new("");
        let workload = workload.unwrap_or(&fallback_workload);
        let artifact = Artifact::new(Digest::sha256(b""));
        let actor = Actor::unknown();
        let probe = Request::new("", workload, &artifact, target, &actor, after);
        let mut windows: Vec<&Window> = Vec::new();
        for p in &self.policies {
            if !self.applies(p, &probe) {
                continue;
            }
            for r in &p.rules {
                if let (RuleKind::Window(w), Mode::Enforce) = (&r.kind, r.mode) {
                    // an override in force for this rule at `after` lifts it
                    let lifted = req.is_some_and(|q| {
                        q.overrides
                            .iter()
                            .any(|o| o.covers(&p.id, &r.qualified, target, after))
                    });
                    if !lifted {
                        windows.push(w);
                    }
                }
            }
        }
        next_allowed_in(&windows, after)
    }
}

fn display_value(v: &fleet_core::Value) -> String {
    match v {
        fleet_core::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The earliest instant at or after `after` allowed by all `windows`.
fn next_allowed_in(windows: &[&Window], after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let horizon = after + chrono::Duration::days(366 * 5);
    let has_allow = windows.iter().any(|w| {
        matches!(
            w,
            Window::Recurring {
                kind: WindowKind::Allow,
                ..
            }
        )
    });
    let mut t = after;
    for _ in 0..100_000 {
        if t > horizon {
            return None;
        }
        // leave every deny interval that holds t
        let deny_end = windows
            .iter()
            .filter_map(|w| match w {
                Window::Recurring {
                    kind: WindowKind::Deny,
                    window,
                    ..
                } => window.active_at(t).map(|i| i.end),
                Window::Fixed { intervals, .. } => {
                    intervals.iter().find(|i| i.contains(t)).map(|i| i.end)
                }
                Window::Recurring { .. } => None,
            })
            .max();
        if let Some(end) = deny_end {
            t = end;
            continue;
        }
        if has_allow {
            let inside = windows.iter().any(|w| match w {
                Window::Recurring {
                    kind: WindowKind::Allow,
                    window,
                    ..
                } => window.active_at(t).is_some(),
                _ => false,
            });
            if !inside {
                let next = windows
                    .iter()
                    .filter_map(|w| match w {
                        Window::Recurring {
                            kind: WindowKind::Allow,
                            window,
                            ..
                        } => window.next_start_after(t).map(|i| i.start),
                        _ => None,
                    })
                    .min()?;
                t = next;
                continue;
            }
        }
        return Some(t);
    }
    None
}

fn deny_window(rule: &Rule, w: &Window, req: &Request<'_>) -> Out {
    let (interval, overrun, what, evidence) = match w {
        Window::Recurring {
            window, overrun, ..
        } => (
            window.active_at(req.at),
            *overrun,
            "deny window",
            vec![
                ("cron", window.cron.to_string()),
                ("timezone", window.tz.name().to_owned()),
            ],
        ),
        Window::Fixed {
            what,
            tz,
            intervals,
            overrun,
        } => (
            intervals.iter().copied().find(|i| i.contains(req.at)),
            *overrun,
            *what,
            vec![("timezone", tz.name().to_owned())],
        ),
    };
    let mut evidence = evidence;
    evidence.push(("tzdb", TZDB_VERSION.to_owned()));
    let Some(i) = interval else {
        return (
            Verdict::Pass,
            format!("outside the {what}").into(),
            evidence,
            Vec::new(),
        );
    };
    evidence.push(("from", i.start.to_rfc3339()));
    evidence.push(("until", i.end.to_rfc3339()));
    if let Some(since) = req.in_progress_since
        && since < i.start
    {
        match overrun {
            Overrun::Finish => {
                evidence.push(("overrun", "finish".into()));
                return (
                    Verdict::Pass,
                    format!(
                        "inside the {what}, but the operation started before it and may finish"
                    )
                    .into(),
                    evidence,
                    Vec::new(),
                );
            }
            Overrun::Halt => evidence.push(("overrun", "halt".into())),
        }
    }
    (
        Verdict::Pending,
        format!("inside the {what} until {}", i.end.to_rfc3339()).into(),
        evidence,
        vec![Missing::Window {
            rule: rule.qualified.clone(),
            opens_at: None,
        }],
    )
}

fn placement<'r>(
    p: &Placement,
    req: &Request<'r>,
    repository: &Repository<'r>,
) -> (Verdict, Reason, Vec<(&'static str, String)>) {
    let t = req.target;
    let wl = req.workload;
    let evidence = Vec::new();
    if let Some(c) = &p.compliance
        && let Some(class) = &wl.class
        && let Some(allowed) = c.classes.get(class)
    {
        let tc = match t.property(&c.property) {
            Some(fleet_core::ValueRef::String(s)) => s,
            _ => {
                return (
                    Verdict::Fail,
                    concat(&[
                        "workload class `",
                        class,
                        "` needs a certified target, and the target has no `",
                        &c.property,
                        "`",
                    ]),
                    evidence,
                );
            }
        };
        if !allowed.iter().any(|a| a == tc) {
            return (
                Verdict::Fail,
                concat(&[
                    "workload class `",
                    class,
                    "` may not run on ",
                    &c.property,
                    " `",
                    tc,
                    "` (allowed: ",
                    c.joined.get(class).map_or("", String::as_str),
                    ")",
                ]),
                evidence,
            );
        }
    }
    if let Some(r) = &p.registries {
        match *repository.get_or_init(|| req.artifact.repository()) {
            Some(repo) if r.matches(repo) => {}
            Some(repo) => {
                return (
                    Verdict::Fail,
                    concat(&[
                        "image repository `",
                        repo,
                        "` is not in the allowed registries (",
                        &r.joined,
                        ")",
                    ]),
                    evidence,
                );
            }
            None => {
                return (
                    Verdict::Fail,
                    "the artifact has no image reference to check against the allowed registries"
                        .into(),
                    evidence,
                );
            }
        }
    }
    for (name, pat) in &p.capabilities {
        if !t.any_capability(&mut |c| pat.matches(c)) {
            {
                return (
                    Verdict::Fail,
                    concat(&["the target lacks a required capability `", name, "`"]),
                    evidence,
                );
            }
        }
    }
    if let Some(r) = &p.residency
        && let Some(zone) = wl.labels.get(&r.workload_label)
    {
        let Some(globs) = r.zones.get(zone) else {
            return (
                Verdict::Fail,
                format!("workload residency zone `{zone}` is not defined by the policy").into(),
                evidence,
            );
        };
        match t.property(&r.property) {
            Some(fleet_core::ValueRef::String(v)) if globs.matches(v) => {}
            Some(fleet_core::ValueRef::String(v)) => {
                return (
                    Verdict::Fail,
                    format!(
                        "data must stay in `{zone}`, and {} `{v}` is outside it",
                        r.property
                    )
                    .into(),
                    evidence,
                );
            }
            _ => {
                return (
                    Verdict::Fail,
                    format!(
                        "data must stay in `{zone}`, and the target has no `{}`",
                        r.property
                    )
                    .into(),
                    evidence,
                );
            }
        }
    }
    (Verdict::Pass, "placement allowed".into(), evidence)
}

fn concurrency(rule: &Rule, c: &Concurrency, req: &Request<'_>) -> Out {
    let Some(value) = req.target.property(&c.group_by) else {
        return (
            Verdict::Fail,
            format!(
                "the target has no `{}`, so it cannot be placed in a concurrency group",
                c.group_by
            )
            .into(),
            Vec::new(),
            Vec::new(),
        );
    };
    let Some(counts) = req.in_flight else {
        return (
            Verdict::Pass,
            "no in-flight counts given".into(),
            Vec::new(),
            Vec::new(),
        );
    };
    let value = display_value(&value.to_value());
    let group = format!("{}={value}", c.group_by);
    let n = counts.in_flight(&c.group_by, &value);
    if n >= c.max_in_flight {
        (
            Verdict::Pending,
            format!("{n} of {} in flight in `{group}`", c.max_in_flight).into(),
            vec![("group", group.clone())],
            vec![Missing::Slot {
                rule: rule.qualified.clone(),
                group,
                limit: c.max_in_flight,
            }],
        )
    } else {
        (
            Verdict::Pass,
            format!("{n} of {} in flight in `{group}`", c.max_in_flight).into(),
            vec![("group", group)],
            Vec::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_strips_tag_and_digest_not_port() {
        let a = |i: &str| Artifact::new(Digest::sha256(b"")).image(i);
        assert_eq!(
            a("registry.acme.io/pay/api:1.2").repository(),
            Some("registry.acme.io/pay/api")
        );
        assert_eq!(
            a("registry.acme.io:5000/pay/api@sha256:ab").repository(),
            Some("registry.acme.io:5000/pay/api")
        );
        assert_eq!(
            a("registry.acme.io:5000/api:v1@sha256:ab").repository(),
            Some("registry.acme.io:5000/api")
        );
        assert_eq!(a("nginx").repository(), Some("nginx"));
    }

    /// The definition, with string searches: the single pass must agree with it.
    fn repository_by_definition(image: &str) -> &str {
        let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
        let last_slash = no_digest.rfind('/').unwrap_or(0);
        match no_digest.get(last_slash..).and_then(|t| t.find(':')) {
            Some(i) => no_digest.get(..last_slash + i).unwrap_or(no_digest),
            None => no_digest,
        }
    }

    proptest::proptest! {
        #[test]
        fn repository_agrees_with_its_definition(image in "[a:/@.é]{0,12}") {
            let art = Artifact::new(Digest::sha256(b"")).image(image.clone());
            proptest::prop_assert_eq!(art.repository(), Some(repository_by_definition(&image)));
        }
    }
}
