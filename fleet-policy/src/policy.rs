//! Loading: parse a policy file, check everything, report every problem with its position,
//! and compile it once into a [`PolicySet`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use fleet_core::{Schema, ValueType, did_you_mean};
use fleet_selectors::{CompiledSelector, LiteralKind, Predicate, Selector, Subject, Test};
use serde::Deserialize as _;

use crate::approval::Directory;
use crate::cron::Cron;
use crate::error::{LoadProblem, PolicyError};
use crate::spec::{
    ArtifactsSpec, Mode, Overrun, PlacementSpec, PolicyFile, RuleSpec, TargetScope, WindowKind,
    WorkloadScopeSpec,
};
use crate::window::{Interval, Recurring, day_range, resolve_local};

/// What loading checks a policy file against.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) directory: Option<&'a dyn Directory>,
    pub(crate) keys: Option<&'a BTreeSet<String>>,
}

impl std::fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("directory", &self.directory.is_some())
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl<'a> LoadOptions<'a> {
    /// Check selectors and properties against `schema`. Without a directory, group names and
    /// sizes are not checked; without key names, signer keys are not checked.
    #[must_use]
    pub fn new(schema: &'a Schema) -> Self {
        Self {
            schema,
            directory: None,
            keys: None,
        }
    }

    /// Check approval groups exist and are large enough.
    #[must_use]
    pub fn directory(mut self, directory: &'a dyn Directory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The names signer keys may use (`signers: [{ key: release }]`).
    #[must_use]
    pub fn keys(mut self, names: &'a BTreeSet<String>) -> Self {
        self.keys = Some(names);
        self
    }
}

/// Literal strings and globs; matches if any matches.
#[derive(Debug, Clone)]
pub(crate) struct Patterns {
    exact: Vec<String>,
    globs: Vec<fleet_selectors::GlobPattern>,
    /// The patterns as written, joined with `, `, as failure reasons quote them.
    pub(crate) joined: String,
}

impl Patterns {
    fn new(items: &[String]) -> Result<Self, String> {
        let mut exact = Vec::new();
        let mut globs = Vec::new();
        for p in items {
            if p.contains(['*', '?', '[', '{', '\\']) {
                globs.push(fleet_selectors::GlobPattern::new(p).map_err(|e| e.to_string())?);
            } else {
                exact.push(p.clone());
            }
        }
        Ok(Self {
            exact,
            globs,
            joined: items.join(", "),
        })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        self.exact.iter().any(|e| e == s) || self.globs.iter().any(|g| g.is_match(s))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct WorkloadScope {
    pub names: Option<Patterns>,
    pub classes: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub targets: Option<CompiledSelector>,
    pub workloads: Option<WorkloadScope>,
}

#[derive(Debug, Clone)]
pub(crate) struct Compliance {
    pub property: String,
    pub classes: BTreeMap<String, Vec<String>>,
    /// Each class's allowed list joined with `, `, as failure reasons quote it.
    pub joined: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Residency {
    pub workload_label: String,
    pub property: String,
    pub zones: BTreeMap<String, Patterns>,
}

#[derive(Debug, Clone)]
pub(crate) struct Placement {
    pub compliance: Option<Compliance>,
    pub registries: Option<Patterns>,
    pub capabilities: Vec<(String, Patterns)>,
    pub residency: Option<Residency>,
}

#[derive(Debug, Clone)]
pub(crate) struct Approvals {
    pub groups: Vec<(String, u32)>,
    pub max_age: Option<chrono::Duration>,
}

#[derive(Debug, Clone)]
pub(crate) enum Window {
    Recurring {
        kind: WindowKind,
        window: Recurring,
        overrun: Overrun,
    },
    /// Freeze or blackout: fixed deny intervals, sorted.
    Fixed {
        what: &'static str,
        tz: Tz,
        intervals: Vec<Interval>,
        overrun: Overrun,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Signer {
    /// `None` only for a signer spec that failed to load (never in a loaded set).
    /// The identity and its digest (computed once; the verification cache is keyed by it).
    pub identity: Option<(crate::artifact::IdentityPolicy, [u8; 32])>,
}

#[derive(Debug, Clone)]
pub(crate) struct Artifacts {
    pub require_digest: bool,
    pub signers: Vec<Signer>,
    pub provenance: Option<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Concurrency {
    pub group_by: String,
    pub max_in_flight: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum RuleKind {
    Placement(Placement),
    Approvals(Approvals),
    Window(Window),
    Artifacts(Artifacts),
    Concurrency(Concurrency),
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Position among all rules of the set (for per-rule tables).
    pub flat: usize,
    pub id: smol_str::SmolStr,
    /// `policy/rule`.
    pub qualified: String,
    pub mode: Mode,
    pub kind: RuleKind,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub id: smol_str::SmolStr,
    pub scope: Scope,
    pub rules: Vec<Rule>,
}

/// Policies loaded, checked and compiled once; evaluate with [`PolicySet::evaluate`].
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) policies: Vec<Policy>,
    pub(crate) source: PolicyFile,
    pub(crate) ctx: crate::eval::Context,
    pub(crate) scopes: ScopeIndex,
    /// The target properties the set's scopes and rules read, in first-use order: each
    /// decision reads them back to back before anything else, so that a cold target's cache
    /// misses overlap instead of following one another.
    pub(crate) reads: Vec<String>,
    /// Whether any scope or rule reads the target's capabilities (read ahead with them).
    pub(crate) reads_capabilities: bool,
}

/// Target scopes resolved per request without evaluating every selector: scopes that are
/// exactly `property = "value"` or `property in ("a", "b")` on a string property are
/// answered by one hash lookup per property; the rest by their selector.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeIndex {
    eq: Vec<(String, hashbrown::HashMap<String, Vec<usize>>)>,
    generic: Vec<usize>,
    unscoped: Vec<usize>,
}

impl ScopeIndex {
    fn build(policies: &[Policy], schema: &Schema) -> Self {
        let mut out = Self::default();
        for (i, p) in policies.iter().enumerate() {
            let Some(sel) = &p.scope.targets else {
                out.unscoped.push(i);
                continue;
            };
            match exact_strings(sel.selector(), schema) {
                Some((prop, values)) => {
                    let slot = match out.eq.iter().position(|(name, _)| name == prop) {
                        Some(k) => k,
                        None => {
                            out.eq.push((prop.to_owned(), Default::default()));
                            out.eq.len() - 1
                        }
                    };
                    if let Some((_, map)) = out.eq.get_mut(slot) {
                        for v in values {
                            let list = map.entry(v.to_owned()).or_default();
                            if list.last() != Some(&i) {
                                list.push(i);
                            }
                        }
                    }
                }
                None => out.generic.push(i),
            }
        }
        out
    }

    /// Sets `out[i]` to whether policy `i`'s target scope matches.
    pub(crate) fn resolve(
        &self,
        policies: &[Policy],
        target: &dyn fleet_selectors::TargetView,
        at: chrono::DateTime<chrono::Utc>,
        out: &mut [bool],
    ) {
        out.fill(false);
        for &i in &self.unscoped {
            if let Some(x) = out.get_mut(i) {
                *x = true;
            }
        }
        for (prop, map) in &self.eq {
            if let Some(fleet_core::ValueRef::String(v)) = target.property(prop)
                && let Some(list) = map.get(v)
            {
                for &i in list {
                    if let Some(x) = out.get_mut(i) {
                        *x = true;
                    }
                }
            }
        }
        for &i in &self.generic {
            let hit = policies
                .get(i)
                .and_then(|p| p.scope.targets.as_ref())
                .is_some_and(|s| s.matches(target, at));
            if let Some(x) = out.get_mut(i) {
                *x = hit;
            }
        }
    }
}

/// The property names that the policies' target scopes and rules read, each once, in the
/// order they are first read; and whether any reads the target's capabilities.
fn property_reads(policies: &[Policy]) -> (Vec<String>, bool) {
    fn walk(sel: &Selector, out: &mut Vec<String>, caps: &mut bool) {
        match sel {
            Selector::All => {}
            Selector::And(parts) | Selector::Or(parts) => {
                for part in parts {
                    walk(part, out, caps);
                }
            }
            Selector::Not(inner) => walk(inner, out, caps),
            Selector::Pred(p) => match &p.subject {
                Subject::Property(name, _) => add(name, out),
                Subject::Capabilities(_) => *caps = true,
                _ => {}
            },
        }
    }
    fn add(name: &str, out: &mut Vec<String>) {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    let mut out = Vec::new();
    let mut caps = false;
    for p in policies {
        if let Some(sel) = &p.scope.targets {
            walk(sel.selector(), &mut out, &mut caps);
        }
        for r in &p.rules {
            match &r.kind {
                RuleKind::Placement(pl) => {
                    caps |= !pl.capabilities.is_empty();
                    if let Some(c) = &pl.compliance {
                        add(&c.property, &mut out);
                    }
                    if let Some(res) = &pl.residency {
                        add(&res.property, &mut out);
                    }
                }
                RuleKind::Concurrency(c) => add(&c.group_by, &mut out),
                RuleKind::Approvals(_) | RuleKind::Window(_) | RuleKind::Artifacts(_) => {}
            }
        }
    }
    (out, caps)
}

/// `prop = "v"` or `prop in ("a", "b")` on a string property, with no glob characters.
fn exact_strings<'s>(sel: &'s Selector, schema: &Schema) -> Option<(&'s str, Vec<&'s str>)> {
    let Selector::Pred(p) = sel else { return None };
    let Subject::Property(name, _) = &p.subject else {
        return None;
    };
    if schema.property(name)?.ty != ValueType::String {
        return None;
    }
    let text = |lit: &'s fleet_selectors::Literal| -> Option<&'s str> {
        match &lit.kind {
            LiteralKind::Quoted(s) | LiteralKind::Bare(s) if !s.contains(['*', '?', '[', '{']) => {
                Some(s.as_str())
            }
            _ => None,
        }
    };
    let values = match &p.test {
        Test::Compare(fleet_selectors::CmpOp::Eq, lit) => vec![text(lit)?],
        Test::In {
            negated: false,
            values,
        } => values.iter().map(text).collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    Some((name.as_str(), values))
}

impl PolicySet {
    /// Loads a YAML policy file.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Load`] with every problem: the first syntax or shape error (unknown
    /// fields, wrong types) with line and column, or every semantic problem (bad selectors,
    /// cron expressions, time zones, duplicate ids, zero-length windows, approval counts
    /// larger than their group, scopes the schema proves empty) with its path.
    pub fn from_yaml(text: &str, options: &LoadOptions<'_>) -> Result<Self, PolicyError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let mut track = serde_path_to_error::Track::new();
        let file = PolicyFile::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
            .map_err(|e| {
                let loc = e.location();
                PolicyError::Load(vec![LoadProblem {
                    path: track.path().to_string(),
                    line: loc.as_ref().map(serde_yaml_ng::Location::line),
                    column: loc.as_ref().map(serde_yaml_ng::Location::column),
                    message: strip_position(&e.to_string()),
                    snippet: None,
                }])
            })?;
        Self::from_spec(file, options).map_err(|e| place(e, |p| crate::locate::in_yaml(text, p)))
    }

    /// Loads a JSON policy file.
    ///
    /// # Errors
    ///
    /// As [`PolicySet::from_yaml`].
    pub fn from_json(text: &str, options: &LoadOptions<'_>) -> Result<Self, PolicyError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut track = serde_path_to_error::Track::new();
        let file =
            PolicyFile::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
                .and_then(|f| de.end().map(|()| f))
                .map_err(|e| {
                    PolicyError::Load(vec![LoadProblem {
                        path: track.path().to_string(),
                        line: (e.line() > 0).then_some(e.line()),
                        column: (e.column() > 0).then_some(e.column()),
                        message: strip_position(&e.to_string()),
                        snippet: None,
                    }])
                })?;
        Self::from_spec(file, options).map_err(|e| place(e, |p| crate::locate::in_json(text, p)))
    }

    /// Checks and compiles an already parsed file.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Load`] with every semantic problem.
    pub fn from_spec(file: PolicyFile, options: &LoadOptions<'_>) -> Result<Self, PolicyError> {
        let mut c = Compiler {
            opts: options,
            problems: Vec::new(),
        };
        let mut policies = Vec::with_capacity(file.policies.len());
        let mut seen = BTreeSet::new();
        let mut flat = 0usize;
        for (pi, p) in file.policies.iter().enumerate() {
            let path = format!("policies[{pi}]");
            c.id(&format!("{path}.id"), &p.id);
            if !seen.insert(p.id.as_str()) {
                c.problem(
                    &format!("{path}.id"),
                    format!("duplicate policy id `{}`", p.id),
                );
            }
            let scope = c.scope(&format!("{path}.scope"), &p.scope);
            let mut rule_ids = BTreeSet::new();
            let mut rules = Vec::with_capacity(p.rules.len());
            if p.rules.is_empty() {
                c.problem(
                    &format!("{path}.rules"),
                    "a policy needs at least one rule".to_owned(),
                );
            }
            for (ri, r) in p.rules.iter().enumerate() {
                let rpath = format!("{path}.rules[{ri}]");
                c.id(&format!("{rpath}.id"), &r.id);
                if !rule_ids.insert(r.id.as_str()) {
                    c.problem(
                        &format!("{rpath}.id"),
                        format!("duplicate rule id `{}` in policy `{}`", r.id, p.id),
                    );
                }
                if let Some(kind) = c.rule(&rpath, r) {
                    flat += 1;
                    rules.push(Rule {
                        flat: flat - 1,
                        id: smol_str::SmolStr::new(&r.id),
                        qualified: format!("{}/{}", p.id, r.id),
                        mode: r.mode.unwrap_or(p.mode),
                        kind,
                    });
                }
            }
            if let Some(scope) = scope {
                policies.push(Policy {
                    id: smol_str::SmolStr::new(&p.id),
                    scope,
                    rules,
                });
            }
        }
        if c.problems.is_empty() {
            let scopes = ScopeIndex::build(&policies, options.schema);
            let (reads, reads_capabilities) = property_reads(&policies);
            Ok(Self {
                policies,
                source: file,
                ctx: crate::eval::Context::default(),
                scopes,
                reads,
                reads_capabilities,
            })
        } else {
            Err(PolicyError::Load(c.problems))
        }
    }

    /// The file this set was loaded from.
    #[must_use]
    pub fn spec(&self) -> &PolicyFile {
        &self.source
    }

    /// Every rule id, as `policy/rule`, in file order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.policies
            .iter()
            .flat_map(|p| p.rules.iter().map(|r| r.qualified.as_str()))
    }

    /// How many rules the set holds.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.policies.iter().map(|p| p.rules.len()).sum()
    }
}

/// Fills in the line and column of each problem found after parsing.
fn place(e: PolicyError, find: impl Fn(&str) -> Option<(usize, usize)>) -> PolicyError {
    match e {
        PolicyError::Load(mut problems) => {
            for p in &mut problems {
                if p.line.is_none()
                    && let Some((line, column)) = find(&p.path)
                {
                    p.line = Some(line);
                    p.column = Some(column);
                }
            }
            PolicyError::Load(problems)
        }
        other => other,
    }
}

fn strip_position(message: &str) -> String {
    let m = match message.find(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message),
        None => message,
    };
    let m = match m.split_once(": ") {
        Some((head, tail)) if !head.contains(' ') && (head.contains('.') || head.contains('[')) => {
            tail
        }
        _ => m,
    };
    m.to_owned()
}

struct Compiler<'o, 'a> {
    opts: &'o LoadOptions<'a>,
    problems: Vec<LoadProblem>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 253
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Compiler<'_, '_> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(LoadProblem {
            path: path.to_owned(),
            line: None,
            column: None,
            message,
            snippet: None,
        });
    }

    fn problem_with_snippet(&mut self, path: &str, message: String, snippet: String) {
        self.problems.push(LoadProblem {
            path: path.to_owned(),
            line: None,
            column: None,
            message,
            snippet: Some(snippet),
        });
    }

    fn id(&mut self, path: &str, id: &str) {
        if !valid_id(id) {
            self.problem(
                path,
                format!("invalid id `{id}`: use 1 to 253 of `A-Z a-z 0-9 . _ -`"),
            );
        }
    }

    fn scope(&mut self, path: &str, s: &crate::spec::ScopeSpec) -> Option<Scope> {
        let mut ok = true;
        let targets = match &s.targets {
            None => None,
            Some(t) => {
                let compiled = match t {
                    TargetScope::Text(text) => fleet_selectors::compile(text, self.opts.schema),
                    TargetScope::Map(m) => m.compile(self.opts.schema),
                };
                match compiled {
                    Ok(sel) => {
                        if provably_empty(sel.selector(), self.opts.schema) {
                            self.problem(
                                &format!("{path}.targets"),
                                format!(
                                    "scope `{sel}` matches no target: the schema's allowed values rule it out"
                                ),
                            );
                            ok = false;
                        }
                        Some(sel)
                    }
                    Err(e) => {
                        let first = e
                            .diagnostics
                            .first()
                            .map(|d| match &d.help {
                                Some(h) => format!("{}; {h}", d.message),
                                None => d.message.clone(),
                            })
                            .unwrap_or_else(|| "invalid selector".to_owned());
                        let more = e.diagnostics.len().saturating_sub(1);
                        let message = if more > 0 {
                            format!("invalid target selector: {first} (and {more} more)")
                        } else {
                            format!("invalid target selector: {first}")
                        };
                        self.problem_with_snippet(&format!("{path}.targets"), message, e.render());
                        ok = false;
                        None
                    }
                }
            }
        };
        let workloads = match &s.workloads {
            None => None,
            Some(w) => self.workload_scope(&format!("{path}.workloads"), w),
        };
        if s.workloads.is_some() && workloads.is_none() {
            ok = false;
        }
        ok.then_some(Scope { targets, workloads })
    }

    fn workload_scope(&mut self, path: &str, w: &WorkloadScopeSpec) -> Option<WorkloadScope> {
        let names = if w.names.is_empty() {
            None
        } else {
            match Patterns::new(&w.names) {
                Ok(p) => Some(p),
                Err(m) => {
                    self.problem(&format!("{path}.names"), m);
                    return None;
                }
            }
        };
        Some(WorkloadScope {
            names,
            classes: w.classes.clone(),
            labels: w.labels.clone(),
        })
    }

    fn rule(&mut self, path: &str, r: &RuleSpec) -> Option<RuleKind> {
        let given: Vec<&str> = [
            ("placement", r.placement.is_some()),
            ("approvals", r.approvals.is_some()),
            ("window", r.window.is_some()),
            ("freeze", r.freeze.is_some()),
            ("blackout", r.blackout.is_some()),
            ("artifacts", r.artifacts.is_some()),
            ("concurrency", r.concurrency.is_some()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect();
        if given.len() != 1 {
            let msg = if given.is_empty() {
                format!(
                    "rule `{}` has no family: give one of placement, approvals, window, freeze, blackout, artifacts, concurrency",
                    r.id
                )
            } else {
                format!(
                    "rule `{}` has {} families ({}); give exactly one per rule",
                    r.id,
                    given.len(),
                    given.join(", ")
                )
            };
            self.problem(path, msg);
            return None;
        }
        if let Some(p) = &r.placement {
            return self
                .placement(&format!("{path}.placement"), p)
                .map(RuleKind::Placement);
        }
        if let Some(a) = &r.approvals {
            return self
                .approvals(&format!("{path}.approvals"), a)
                .map(RuleKind::Approvals);
        }
        if let Some(w) = &r.window {
            let p = format!("{path}.window");
            let tz = self.tz(&format!("{p}.timezone"), &w.timezone);
            let cron = match Cron::parse(&w.cron) {
                Ok(c) => Some(c),
                Err(e) => {
                    let snippet = format!(
                        "{}\n{}{}",
                        w.cron,
                        " ".repeat(e.span.0),
                        "^".repeat(e.span.1.saturating_sub(e.span.0).max(1))
                    );
                    self.problem_with_snippet(&format!("{p}.cron"), e.to_string(), snippet);
                    None
                }
            };
            let duration = self.positive_duration(&format!("{p}.duration"), w.duration, "window");
            return match (tz, cron, duration) {
                (Some(tz), Some(cron), Some(duration)) => {
                    Some(RuleKind::Window(Window::Recurring {
                        kind: w.kind,
                        window: Recurring { cron, tz, duration },
                        overrun: w.overrun,
                    }))
                }
                _ => None,
            };
        }
        if let Some(f) = &r.freeze {
            let p = format!("{path}.freeze");
            let tz = self.tz(&format!("{p}.timezone"), &f.timezone);
            let from = self.local_time(&format!("{p}.from"), &f.from);
            let until = self.local_time(&format!("{p}.until"), &f.until);
            let (tz, from, until) = (tz?, from?, until?);
            let (Some(start), Some(end)) = (resolve_local(tz, from), resolve_local(tz, until))
            else {
                self.problem(
                    &p,
                    "freeze times cannot be placed in the time zone".to_owned(),
                );
                return None;
            };
            if end <= start {
                self.problem(
                    &p,
                    format!(
                        "zero-length freeze: `until` ({}) is not after `from` ({})",
                        f.until, f.from
                    ),
                );
                return None;
            }
            return Some(RuleKind::Window(Window::Fixed {
                what: "freeze",
                tz,
                intervals: vec![Interval { start, end }],
                overrun: f.overrun,
            }));
        }
        if let Some(b) = &r.blackout {
            let p = format!("{path}.blackout");
            let tz = self.tz(&format!("{p}.timezone"), &b.timezone)?;
            if b.dates.is_empty() {
                self.problem(
                    &format!("{p}.dates"),
                    "a blackout needs at least one date range".to_owned(),
                );
                return None;
            }
            let mut intervals = Vec::new();
            let mut ok = true;
            for (i, d) in b.dates.iter().enumerate() {
                if d.to < d.from {
                    self.problem(
                        &format!("{p}.dates[{i}]"),
                        format!(
                            "zero-length blackout: `to` ({}) is before `from` ({})",
                            d.to, d.from
                        ),
                    );
                    ok = false;
                } else if let Some(iv) = day_range(tz, d.from, d.to) {
                    intervals.push(iv);
                }
            }
            intervals.sort();
            return ok.then_some(RuleKind::Window(Window::Fixed {
                what: "blackout",
                tz,
                intervals,
                overrun: b.overrun,
            }));
        }
        if let Some(a) = &r.artifacts {
            return self
                .artifacts(&format!("{path}.artifacts"), a)
                .map(RuleKind::Artifacts);
        }
        if let Some(c) = &r.concurrency {
            let p = format!("{path}.concurrency");
            let prop_ok = self.property(&format!("{p}.group_by"), &c.group_by, None);
            if c.max_in_flight == 0 {
                self.problem(
                    &format!("{p}.max_in_flight"),
                    "`max_in_flight` must be at least 1".to_owned(),
                );
                return None;
            }
            return prop_ok.then(|| {
                RuleKind::Concurrency(Concurrency {
                    group_by: c.group_by.clone(),
                    max_in_flight: c.max_in_flight,
                })
            });
        }
        None
    }

    /// Checks a schema property exists (and has type `ty`, if given).
    fn property(&mut self, path: &str, name: &str, ty: Option<&ValueType>) -> bool {
        match self.opts.schema.property(name) {
            None => {
                let hint = self
                    .opts
                    .schema
                    .suggest(name)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.problem(path, format!("unknown property `{name}`{hint}"));
                false
            }
            Some(def) => match ty {
                Some(t) if &def.ty != t => {
                    self.problem(path, format!("property `{name}` is not a {t}"));
                    false
                }
                _ => true,
            },
        }
    }

    fn tz(&mut self, path: &str, name: &str) -> Option<Tz> {
        match name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let hint = did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.problem(path, format!("unknown time zone `{name}`{hint}"));
                None
            }
        }
    }

    fn local_time(&mut self, path: &str, text: &str) -> Option<NaiveDateTime> {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .or_else(|| {
                self.problem(
                    path,
                    format!("invalid local time `{text}`: expected `YYYY-MM-DDTHH:MM`"),
                );
                None
            })
    }

    fn positive_duration(
        &mut self,
        path: &str,
        d: fleet_core::Duration,
        what: &str,
    ) -> Option<chrono::Duration> {
        match d.as_nanos() {
            Some(n) if n > 0 => Some(chrono::Duration::nanoseconds(n)),
            Some(_) => {
                self.problem(
                    path,
                    format!("zero-length {what}: the duration must be positive"),
                );
                None
            }
            None => {
                self.problem(path, format!("{what} duration `{d}` is too long"));
                None
            }
        }
    }

    fn patterns(&mut self, path: &str, items: &[String], what: &str) -> Option<Patterns> {
        if items.is_empty() {
            self.problem(path, format!("{what} list is empty"));
            return None;
        }
        match Patterns::new(items) {
            Ok(p) => Some(p),
            Err(m) => {
                self.problem(path, m);
                None
            }
        }
    }

    fn placement(&mut self, path: &str, p: &PlacementSpec) -> Option<Placement> {
        if p.compliance.is_none()
            && p.registries.is_none()
            && p.capabilities.is_none()
            && p.residency.is_none()
        {
            self.problem(
                path,
                "placement needs at least one of compliance, registries, capabilities, residency"
                    .to_owned(),
            );
            return None;
        }
        let mut ok = true;
        let compliance = p.compliance.as_ref().and_then(|c| {
            let cp = format!("{path}.compliance");
            let good = self.property(&format!("{cp}.property"), &c.property, Some(&ValueType::String));
            if c.classes.is_empty() {
                self.problem(&format!("{cp}.classes"), "no workload classes listed".to_owned());
                ok = false;
            }
            for (class, allowed) in &c.classes {
                if allowed.is_empty() {
                    self.problem(
                        &format!("{cp}.classes.{class}"),
                        format!("workload class `{class}` lists no target classes; remove it or list some"),
                    );
                    ok = false;
                }
            }
            ok &= good;
            good.then(|| Compliance {
                property: c.property.clone(),
                classes: c.classes.clone(),
                joined: c
                    .classes
                    .iter()
                    .map(|(class, allowed)| (class.clone(), allowed.join(", ")))
                    .collect(),
            })
        });
        let registries = match &p.registries {
            None => None,
            Some(r) => {
                let x = self.patterns(&format!("{path}.registries"), r, "registry");
                ok &= x.is_some();
                x
            }
        };
        let mut capabilities = Vec::new();
        if let Some(caps) = &p.capabilities {
            if caps.is_empty() {
                self.problem(
                    &format!("{path}.capabilities"),
                    "capability list is empty".to_owned(),
                );
                ok = false;
            }
            for (i, c) in caps.iter().enumerate() {
                match self.patterns(
                    &format!("{path}.capabilities[{i}]"),
                    std::slice::from_ref(c),
                    "capability",
                ) {
                    Some(pat) => capabilities.push((c.clone(), pat)),
                    None => ok = false,
                }
            }
        }
        let residency = p.residency.as_ref().and_then(|r| {
            let rp = format!("{path}.residency");
            let good = self.property(
                &format!("{rp}.property"),
                &r.property,
                Some(&ValueType::String),
            );
            if r.zones.is_empty() {
                self.problem(
                    &format!("{rp}.zones"),
                    "no residency zones listed".to_owned(),
                );
                ok = false;
            }
            let mut zones = BTreeMap::new();
            for (zone, globs) in &r.zones {
                match self.patterns(&format!("{rp}.zones.{zone}"), globs, "zone") {
                    Some(pat) => {
                        zones.insert(zone.clone(), pat);
                    }
                    None => ok = false,
                }
            }
            ok &= good;
            good.then(|| Residency {
                workload_label: r.workload_label.clone(),
                property: r.property.clone(),
                zones,
            })
        });
        ok.then_some(Placement {
            compliance,
            registries,
            capabilities,
            residency,
        })
    }

    fn approvals(&mut self, path: &str, a: &crate::spec::ApprovalsSpec) -> Option<Approvals> {
        let mut ok = true;
        if a.groups.is_empty() {
            self.problem(
                &format!("{path}.groups"),
                "approvals need at least one group".to_owned(),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        for (i, g) in a.groups.iter().enumerate() {
            let gp = format!("{path}.groups[{i}]");
            if !seen.insert(g.group.as_str()) {
                self.problem(
                    &gp,
                    format!(
                        "group `{}` is listed twice; raise its count instead",
                        g.group
                    ),
                );
                ok = false;
            }
            if g.count == 0 {
                self.problem(
                    &format!("{gp}.count"),
                    "an approval count must be at least 1".to_owned(),
                );
                ok = false;
            }
            if let Some(dir) = self.opts.directory {
                match dir.group_size(&g.group) {
                    None => {
                        self.problem(
                            &format!("{gp}.group"),
                            format!("unknown group `{}`", g.group),
                        );
                        ok = false;
                    }
                    Some(n) if (g.count as usize) > n => {
                        self.problem(
                            &format!("{gp}.count"),
                            format!(
                                "{} approvals needed from `{}`, which has only {n} member(s)",
                                g.count, g.group
                            ),
                        );
                        ok = false;
                    }
                    Some(_) => {}
                }
            }
        }
        let max_age = match a.max_age {
            None => None,
            Some(d) => {
                let x = self.positive_duration(&format!("{path}.max_age"), d, "approval age");
                ok &= x.is_some();
                x
            }
        };
        ok.then(|| Approvals {
            groups: a
                .groups
                .iter()
                .map(|g| (g.group.clone(), g.count))
                .collect(),
            max_age,
        })
    }

    fn artifacts(&mut self, path: &str, a: &ArtifactsSpec) -> Option<Artifacts> {
        let mut ok = true;
        if !a.require_digest && a.signers.is_empty() && a.provenance.is_none() {
            self.problem(
                path,
                "artifacts needs at least one of require_digest, signers, provenance".to_owned(),
            );
            return None;
        }
        let mut signers = Vec::new();
        for (i, s) in a.signers.iter().enumerate() {
            let sp = format!("{path}.signers[{i}]");
            match (&s.key, &s.issuer, &s.san) {
                (Some(k), None, None) => {
                    if let Some(keys) = self.opts.keys
                        && !keys.contains(k)
                    {
                        let hint = did_you_mean(k, keys.iter().map(String::as_str))
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        self.problem(&format!("{sp}.key"), format!("unknown key `{k}`{hint}"));
                        ok = false;
                    }
                }
                (None, Some(_), Some(_)) => {}
                _ => {
                    self.problem(
                        &sp,
                        "a signer is either `key`, or both `issuer` and `san`".to_owned(),
                    );
                    ok = false;
                }
            }
            let identity = match (&s.key, &s.issuer, &s.san) {
                (Some(k), None, None) => Some(crate::artifact::IdentityPolicy::key(k.clone())),
                (None, Some(i), Some(san)) => Some(crate::artifact::IdentityPolicy::keyless(
                    i.clone(),
                    san.clone(),
                )),
                _ => None,
            };
            signers.push(Signer {
                identity: identity.map(|i| {
                    let d = i.digest();
                    (i, d)
                }),
            });
        }
        let provenance = a.provenance.as_ref().map(|p| {
            if p.builders.is_empty() {
                self.problem(
                    &format!("{path}.provenance.builders"),
                    "no trusted builders listed".to_owned(),
                );
                ok = false;
            }
            (p.predicate_type.clone(), p.builders.clone())
        });
        if provenance.is_some() && signers.is_empty() {
            self.problem(
                &format!("{path}.provenance"),
                "provenance is only trusted when signed: list `signers` too".to_owned(),
            );
            ok = false;
        }
        ok.then_some(Artifacts {
            require_digest: a.require_digest,
            signers,
            provenance,
        })
    }
}

/// Whether the schema's allowed values prove that `sel` matches nothing. Conservative: only
/// string properties with an allowed-value list, under `=`, `in` and `~`, combined by `and`
/// and `or`, are decided; everything else may match.
fn provably_empty(sel: &Selector, schema: &Schema) -> bool {
    match sel {
        Selector::All | Selector::Not(_) => false,
        Selector::And(parts) => parts.iter().any(|p| provably_empty(p, schema)),
        Selector::Or(parts) => !parts.is_empty() && parts.iter().all(|p| provably_empty(p, schema)),
        Selector::Pred(p) => pred_empty(p, schema),
    }
}

fn pred_empty(p: &Predicate, schema: &Schema) -> bool {
    let Subject::Property(name, _) = &p.subject else {
        return false;
    };
    let Some(def) = schema.property(name) else {
        return false;
    };
    if def.ty != ValueType::String || def.allowed.is_empty() {
        return false;
    }
    let allowed: Vec<&str> = def
        .allowed
        .iter()
        .filter_map(fleet_core::Value::as_str)
        .collect();
    let lit_matches = |lit: &fleet_selectors::Literal| -> bool {
        let text = match &lit.kind {
            LiteralKind::Quoted(s) | LiteralKind::Bare(s) => s,
            LiteralKind::Now(_) => return true,
        };
        if text.contains(['*', '?', '[', '{']) {
            match Patterns::new(std::slice::from_ref(text)) {
                Ok(pat) => allowed.iter().any(|a| pat.matches(a)),
                Err(_) => true,
            }
        } else {
            allowed.contains(&text.as_str())
        }
    };
    match &p.test {
        Test::Compare(fleet_selectors::CmpOp::Eq, lit) | Test::Glob(lit) => !lit_matches(lit),
        Test::In {
            negated: false,
            values,
        } => !values.iter().any(lit_matches),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_match_exact_and_glob() {
        let p = Patterns::new(&["a".to_owned(), "eu-*".to_owned()]).unwrap();
        assert!(
            p.matches("a") && p.matches("eu-west-1") && !p.matches("us-east-1") && !p.matches("ab")
        );
        assert!(Patterns::new(&["[".to_owned()]).is_err());
    }

    #[test]
    fn a_set_knows_the_properties_it_reads() {
        let yaml = r#"
policies:
  - id: a
    scope: { targets: 'tier = production and not (region in ("eu-*") or customer = acme)' }
    rules:
      - { id: r, placement: { compliance: { property: compliance, classes: { pci: [pci] } } } }
  - id: b
    scope: { targets: 'region = "us-east-1"' }
    rules:
      - { id: c, concurrency: { group_by: customer, max_in_flight: 2 } }
      - { id: d, concurrency: { group_by: owner, max_in_flight: 2 } }
"#;
        let schema = fleet_core::synth::schema();
        let set = PolicySet::from_yaml(yaml, &LoadOptions::new(&schema)).unwrap();
        // first-use order, each once, through and/or/not and the rules' own properties
        assert_eq!(
            set.reads,
            ["tier", "region", "customer", "compliance", "owner"]
        );
        assert!(!set.reads_capabilities);

        let caps = r#"
policies:
  - { id: a, rules: [{ id: r, placement: { capabilities: ["gpu.*"] } }] }
"#;
        let set = PolicySet::from_yaml(caps, &LoadOptions::new(&schema)).unwrap();
        assert!(set.reads.is_empty() && set.reads_capabilities);
        let in_scope = r#"
policies:
  - { id: a, scope: { targets: 'capabilities contains "gpu.*"' }, rules: [{ id: r, placement: { registries: [x] } }] }
"#;
        let set = PolicySet::from_yaml(in_scope, &LoadOptions::new(&schema)).unwrap();
        assert!(set.reads_capabilities);
    }

    #[test]
    fn tz_hint() {
        let schema = Schema::new();
        let opts = LoadOptions::new(&schema);
        let mut c = Compiler {
            opts: &opts,
            problems: Vec::new(),
        };
        assert!(c.tz("p", "Europe/Berln").is_none());
        assert_eq!(
            c.problems[0].message,
            "unknown time zone `Europe/Berln`; did you mean `Europe/Berlin`?"
        );
    }
}

#[cfg(test)]
mod scope_index_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fleet_core::synth::{FleetSpec, generate, schema};

    #[test]
    fn scope_index_agrees_with_the_selectors() {
        let yaml = r#"
policies:
  - { id: a, scope: { targets: 'region = "eu-west-1"' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: b, scope: { targets: 'region in ("us-east-1", eu-west-1, "westeurope")' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: c, scope: { targets: 'tier = production' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: d, scope: { targets: 'region in ("eu-*")' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: e, scope: { targets: 'region not in ("eu-west-1")' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: f, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: g, scope: { targets: 'tier = production and geo = "eu"' }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: h, scope: { targets: { tier: [staging, development] } }, rules: [{ id: r, placement: { registries: [x] } }] }
  - { id: i, scope: { targets: 'customer = "nobody-at-all"' }, rules: [{ id: r, placement: { registries: [x] } }] }
"#;
        let s = schema();
        let set = PolicySet::from_yaml(yaml, &LoadOptions::new(&s)).unwrap();
        // a, b, c, h, i go through the hash lookups; d, e, g through their selectors
        assert_eq!(set.scopes.generic, vec![3, 4, 6]);
        assert_eq!(set.scopes.unscoped, vec![5]);
        let fleet = generate(&FleetSpec::new(2000).seed(3));
        let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let mut got = vec![false; set.policies.len()];
        let mut hits = vec![0usize; set.policies.len()];
        for t in &fleet.targets {
            set.scopes.resolve(&set.policies, t, at, &mut got);
            for (i, p) in set.policies.iter().enumerate() {
                let want = p.scope.targets.as_ref().is_none_or(|s| s.matches(t, at));
                assert_eq!(got[i], want, "policy {} on {}", p.id, t.id);
                hits[i] += usize::from(want);
            }
        }
        // the data exercises both answers for the indexed scopes
        assert!(hits[0] > 0 && hits[1] > hits[0] && hits[2] > 0 && hits[7] > 0 && hits[8] == 0);
    }
}
