//! Area `policy`: fleet-policy's `PolicySet::evaluate` against `cedar-policy`'s
//! `Authorizer::is_authorized`, on the same placement and scope rules and the same requests.
//!
//! Order of work, so that each figure counts only what it claims:
//!
//! 1. Generate the fleet (seed [`SEED`], no dependencies) as owned targets and as an
//!    inventory snapshot; list the workloads (every workload class crossed with every image
//!    registry); write each rule set (10 and 50 rules) once as [`RuleDef`]s and render it as
//!    a fleet-policy YAML file and as Cedar policies; load both; build one Cedar `Entities`
//!    store holding every target and every workload; draw the requests (a workload and a
//!    target each) from the seed. All untimed.
//! 2. Per engine and rule set: warm up, then time each decision alone with `Instant` around
//!    the call (`evaluate` vs `is_authorized`, each including the drop of its result). Our
//!    `Request` and Cedar's `Request` are built before the timer starts, per request.
//! 3. Agreement: every decision (timed requests and the bulk release) must be the same for
//!    both engines, else the area fails with the first mismatch before printing a figure.
//! 4. Bulk: one release (one workload and artifact) against every target of the inventory
//!    snapshot, request construction included, with the 50-rule set.
//!
//! Only enforce-mode placement rules and scopes are used: Cedar has nothing like windows,
//! approvals or signature checks. Each fleet rule is one policy with its scope; each becomes
//! one Cedar `forbid` whose `when` holds the scope and the violation, next to one blanket
//! `permit`, so that fleet Allow is Cedar Allow and fleet Deny is Cedar Deny.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cedar_policy::{
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicySet as CedarPolicySet, Request as CedarRequest,
    RestrictedExpression,
};
use chrono::{DateTime, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, Rng, generate, schema};
use fleet_core::{Actor, Digest, Target, Value, Workload};
use fleet_policy::{Artifact, LoadOptions, Outcome as FleetOutcome, PolicySet, Request};
use fleet_selectors::TargetView;

use crate::compare::{Meter, Options, Outcome};
use crate::{SEED, Table, grouped, ratio};

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Targets in the fleet: the pool requests draw from, and the bulk release's targets.
    pub(crate) targets: usize,
    /// The generator's seed (fleet and requests).
    pub(crate) seed: u64,
    /// Timed decisions per engine and rule set.
    pub(crate) decisions: usize,
    /// Untimed decisions before them.
    warmup: usize,
    /// Rounds of the bulk release with fleet-policy (the median is reported).
    bulk_rounds: usize,
}

const FULL: Plan = Plan {
    targets: 100_000,
    seed: SEED,
    decisions: 200_000,
    warmup: 5_000,
    bulk_rounds: 3,
};

const QUICK: Plan = Plan {
    targets: 20_000,
    decisions: 20_000,
    warmup: 2_000,
    ..FULL
};

impl Plan {
    /// A plan that checks agreement and exercises every timer with little repetition.
    #[cfg(test)]
    pub(crate) fn tiny(targets: usize, seed: u64) -> Self {
        Self {
            targets,
            seed,
            decisions: 2_000,
            warmup: 100,
            bulk_rounds: 1,
        }
    }
}

/// The bulk goal is set for this many targets; smaller runs scale their time to it.
const BULK_TARGETS: usize = 100_000;

/// Goals from the issue (fleet-policy, Performance).
const GOAL_P50_US: f64 = 2.0;
const GOAL_P99_US: f64 = 5.0;
const GOAL_BULK_MS: f64 = 150.0;
const GOAL_VS_CEDAR: f64 = 10.0;

pub(crate) fn run(options: &Options, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    run_with(&if options.quick { QUICK } else { FULL }, meter)
}

/// The instant every request is decided for.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

// ---------------------------------------------------------------------------------------
// The rules, once, rendered for both engines
// ---------------------------------------------------------------------------------------

/// Which targets a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetScope {
    /// Every target.
    All,
    /// The string property equals the value.
    Eq(&'static str, String),
    /// The string property matches one of the globs (`*` only).
    Globs(&'static str, Vec<String>),
    /// Both.
    And(Box<TargetScope>, Box<TargetScope>),
}

/// What a rule checks (one fleet placement check).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// Workload class -> the target compliance classes it may run on.
    Compliance(Vec<(&'static str, Vec<&'static str>)>),
    /// The image repository must match one of the globs.
    Registries(Vec<String>),
    /// Each glob must match one of the target's capabilities.
    Capabilities(Vec<String>),
}

/// One rule: a fleet policy holding one placement rule, and one Cedar `forbid`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RuleDef {
    id: String,
    targets: TargetScope,
    /// Workload classes the rule applies to; empty means every workload.
    classes: Vec<&'static str>,
    check: Check,
}

impl RuleDef {
    fn new(id: impl Into<String>, targets: TargetScope, check: Check) -> Self {
        Self {
            id: id.into(),
            targets,
            classes: Vec::new(),
            check,
        }
    }

    fn classes(mut self, classes: &[&'static str]) -> Self {
        self.classes = classes.to_vec();
        self
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Every EU region naming of the generated clouds (UK regions included by the `eu-*` and
/// `europe-*` namings, as a user who writes these globs gets them).
const EU_REGIONS: [&str; 9] = [
    "eu-*",
    "europe-*",
    "*europe",
    "germany*",
    "france*",
    "sweden*",
    "edge-eu-*",
    "dc-fra-*",
    "dc-ams-*",
];

const US_REGIONS: [&str; 7] = [
    "us-*",
    "eastus*",
    "westus*",
    "centralus",
    "dc-nyc-*",
    "dc-dfw-*",
    "edge-us-*",
];

/// The registries workloads are pulled from; the last is on no allow-list.
const REGISTRIES: [&str; 6] = [
    "registry.acme.io",
    "registry.eu.acme.io",
    "registry.us.acme.io",
    "registry.dev.acme.io",
    "ghcr.io/acme",
    "docker.io/library",
];

/// Workload classes.
const CLASSES: [&str; 4] = ["standard", "pci", "gpu", "gov"];

/// The ten base rules: compliance pinning, region- and tier-scoped registry allow-lists,
/// required capabilities for gpu and pci workloads.
fn base_rules() -> Vec<RuleDef> {
    use TargetScope::{All, And, Eq, Globs};
    let tier = |t: &str| Eq("tier", t.to_owned());
    vec![
        RuleDef::new(
            "compliance-pci",
            All,
            Check::Compliance(vec![("pci", vec!["pci"])]),
        ),
        RuleDef::new(
            "compliance-gov",
            All,
            Check::Compliance(vec![("gov", vec!["fedramp-moderate", "fedramp-high"])]),
        ),
        RuleDef::new(
            "compliance-standard",
            All,
            Check::Compliance(vec![(
                "standard",
                vec![
                    "standard",
                    "pci",
                    "hipaa",
                    "gdpr-strict",
                    "fedramp-moderate",
                ],
            )]),
        ),
        RuleDef::new(
            "registries-eu",
            Globs("region", strings(&EU_REGIONS)),
            Check::Registries(strings(&["registry.eu.acme.io/*", "registry.acme.io/*"])),
        ),
        RuleDef::new(
            "registries-us",
            Globs("region", strings(&US_REGIONS)),
            Check::Registries(strings(&[
                "registry.us.acme.io/*",
                "registry.acme.io/*",
                "ghcr.io/acme/*",
            ])),
        ),
        RuleDef::new(
            "registries-production",
            tier("production"),
            Check::Registries(strings(&[
                "registry.acme.io/*",
                "registry.eu.acme.io/*",
                "registry.us.acme.io/*",
            ])),
        ),
        RuleDef::new(
            "registries-development",
            tier("development"),
            Check::Registries(strings(&[
                "registry.acme.io/*",
                "registry.eu.acme.io/*",
                "registry.us.acme.io/*",
                "registry.dev.acme.io/*",
                "ghcr.io/acme/*",
            ])),
        ),
        RuleDef::new(
            "gpu-capability",
            All,
            Check::Capabilities(strings(&["gpu.*"])),
        )
        .classes(&["gpu"]),
        RuleDef::new(
            "gpu-production-datacenter",
            tier("production"),
            Check::Capabilities(strings(&["gpu.nvidia-*100"])),
        )
        .classes(&["gpu"]),
        RuleDef::new(
            "pci-sovereign-eu",
            And(
                Box::new(Globs("region", strings(&EU_REGIONS))),
                Box::new(tier("production")),
            ),
            Check::Capabilities(strings(&["sovereign.eu"])),
        )
        .classes(&["pci"]),
    ]
}

/// The fifty rules: the ten base rules, 20 per-region registry allow-lists (every third
/// region present, in order) and 20 per-customer rules (the 20 customers with the most
/// targets), alternating a required capability for pci and gpu workloads with a narrower
/// registry allow-list.
fn fifty_rules(regions: &[String], customers: &[String]) -> anyhow::Result<Vec<RuleDef>> {
    use TargetScope::Eq;
    let mut rules = base_rules();
    let picked: Vec<&String> = regions.iter().step_by(3).take(20).collect();
    ensure!(picked.len() == 20, "only {} regions to scope", picked.len());
    for (i, r) in picked.into_iter().enumerate() {
        let mut allowed = strings(&[
            "registry.acme.io/*",
            "registry.eu.acme.io/*",
            "registry.us.acme.io/*",
            "registry.dev.acme.io/*",
        ]);
        if i % 2 == 0 {
            allowed.push("ghcr.io/acme/*".to_owned());
        }
        allowed.push(format!("mirror.{r}.acme.io/*"));
        rules.push(RuleDef::new(
            format!("region-{r}"),
            Eq("region", r.clone()),
            Check::Registries(allowed),
        ));
    }
    ensure!(customers.len() >= 20, "only {} customers", customers.len());
    for (i, c) in customers.iter().take(20).enumerate() {
        let rule = if i % 2 == 0 {
            RuleDef::new(
                format!("customer-{c}"),
                Eq("customer", c.clone()),
                Check::Capabilities(strings(&["network.ipv6"])),
            )
            .classes(&["pci", "gpu"])
        } else {
            RuleDef::new(
                format!("customer-{c}"),
                Eq("customer", c.clone()),
                Check::Registries(strings(&["registry.acme.io/*", "registry.eu.acme.io/*"])),
            )
        };
        rules.push(rule);
    }
    ensure!(rules.len() == 50, "{} rules", rules.len());
    Ok(rules)
}

fn yaml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn selector_text(scope: &TargetScope) -> Option<String> {
    match scope {
        TargetScope::All => None,
        TargetScope::Eq(p, v) => Some(format!("{p} = \"{v}\"")),
        TargetScope::Globs(p, globs) => {
            let quoted: Vec<String> = globs.iter().map(|g| format!("\"{g}\"")).collect();
            Some(format!("{p} in ({})", quoted.join(", ")))
        }
        TargetScope::And(a, b) => match (selector_text(a), selector_text(b)) {
            (Some(a), Some(b)) => Some(format!("{a} and {b}")),
            (a, b) => a.or(b),
        },
    }
}

/// The rules as a fleet-policy YAML file: one policy per rule, every rule in enforce mode.
fn fleet_yaml(rules: &[RuleDef]) -> String {
    let mut y = String::from("policies:\n");
    for r in rules {
        let _ = writeln!(y, "  - id: {}", r.id);
        let targets = selector_text(&r.targets);
        if targets.is_some() || !r.classes.is_empty() {
            y.push_str("    scope:\n");
            if let Some(t) = targets {
                // single-quoted YAML: the selector's own double quotes stay as they are
                let _ = writeln!(y, "      targets: '{t}'");
            }
            if !r.classes.is_empty() {
                let _ = writeln!(
                    y,
                    "      workloads: {{ classes: {} }}",
                    yaml_list(&strings(&r.classes))
                );
            }
        }
        y.push_str("    rules:\n");
        y.push_str("      - id: check\n        placement:\n");
        match &r.check {
            Check::Compliance(classes) => {
                let map: Vec<String> = classes
                    .iter()
                    .map(|(c, allowed)| format!("{c}: {}", yaml_list(&strings(allowed))))
                    .collect();
                let _ = writeln!(
                    y,
                    "          compliance: {{ property: compliance, classes: {{ {} }} }}",
                    map.join(", ")
                );
            }
            Check::Registries(globs) => {
                let _ = writeln!(y, "          registries: {}", yaml_list(globs));
            }
            Check::Capabilities(globs) => {
                let _ = writeln!(y, "          capabilities: {}", yaml_list(globs));
            }
        }
    }
    y
}

/// A glob (`*` only) as a Cedar `like` pattern (`*` is Cedar's wildcard too).
fn cedar_pattern(glob: &str) -> anyhow::Result<String> {
    ensure!(
        !glob.contains(['?', '[', '{', '\\', '"']),
        "glob `{glob}` uses more than `*`"
    );
    Ok(glob.to_owned())
}

fn cedar_string(s: &str) -> anyhow::Result<String> {
    ensure!(!s.contains(['"', '\\']), "`{s}` needs escaping");
    Ok(format!("\"{s}\""))
}

fn cedar_scope(scope: &TargetScope) -> anyhow::Result<Option<String>> {
    Ok(match scope {
        TargetScope::All => None,
        TargetScope::Eq(p, v) => Some(format!("resource.{p} == {}", cedar_string(v)?)),
        TargetScope::Globs(p, globs) => {
            let parts = globs
                .iter()
                .map(|g| Ok(format!("resource.{p} like \"{}\"", cedar_pattern(g)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some(format!("({})", parts.join(" || ")))
        }
        TargetScope::And(a, b) => match (cedar_scope(a)?, cedar_scope(b)?) {
            (Some(a), Some(b)) => Some(format!("{a} && {b}")),
            (a, b) => a.or(b),
        },
    })
}

fn cedar_set(items: &[&str]) -> anyhow::Result<String> {
    let parts = items
        .iter()
        .map(|s| cedar_string(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(format!("[{}]", parts.join(", ")))
}

/// A capability glob expanded over the capabilities present in the fleet: Cedar has no
/// quantifier over a set's members, so "some capability matches `gpu.*`" becomes
/// `containsAny` of the capabilities the glob matches (as the selectors area expands region
/// globs for kube-core).
fn expand_capability(glob: &str, vocabulary: &BTreeSet<String>) -> anyhow::Result<Vec<String>> {
    let g = globset::Glob::new(glob)?.compile_matcher();
    Ok(vocabulary
        .iter()
        .filter(|c| g.is_match(c.as_str()))
        .cloned()
        .collect())
}

/// The rules as Cedar policies: one blanket `permit` and one `forbid` per rule whose `when`
/// holds the rule's scope and its violation.
fn cedar_text(rules: &[RuleDef], capabilities: &BTreeSet<String>) -> anyhow::Result<String> {
    let mut text = String::from(
        "@id(\"allow-all\")\npermit (principal, action == Action::\"deploy\", resource);\n",
    );
    for r in rules {
        let mut conds = Vec::new();
        if let Some(s) = cedar_scope(&r.targets)? {
            conds.push(s);
        }
        if !r.classes.is_empty() {
            let parts = r
                .classes
                .iter()
                .map(|c| Ok(format!("principal.class == {}", cedar_string(c)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            conds.push(format!("({})", parts.join(" || ")));
        }
        let violation = match &r.check {
            Check::Compliance(classes) => {
                let parts = classes
                    .iter()
                    .map(|(c, allowed)| {
                        Ok(format!(
                            "(principal.class == {} && !({}.contains(resource.compliance)))",
                            cedar_string(c)?,
                            cedar_set(allowed)?
                        ))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                parts.join(" || ")
            }
            Check::Registries(globs) => {
                let parts = globs
                    .iter()
                    .map(|g| {
                        Ok(format!(
                            "principal.repository like \"{}\"",
                            cedar_pattern(g)?
                        ))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                format!("!({})", parts.join(" || "))
            }
            Check::Capabilities(globs) => {
                let parts = globs
                    .iter()
                    .map(|g| {
                        let expanded = expand_capability(g, capabilities)?;
                        if expanded.is_empty() {
                            return Ok("true".to_owned());
                        }
                        let refs: Vec<&str> = expanded.iter().map(String::as_str).collect();
                        Ok(format!(
                            "!resource.capabilities.containsAny({})",
                            cedar_set(&refs)?
                        ))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                parts.join(" || ")
            }
        };
        conds.push(format!("({violation})"));
        let _ = writeln!(
            text,
            "@id(\"{}\")\nforbid (principal, action == Action::\"deploy\", resource)\nwhen {{ {} }};",
            r.id,
            conds.join(" && ")
        );
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------

/// A workload, the artifact it deploys, and its Cedar principal.
struct Release {
    workload: Workload,
    artifact: Artifact,
    uid: EntityUid,
}

fn releases() -> anyhow::Result<Vec<Release>> {
    let ty = EntityTypeName::from_str("Workload")?;
    let mut out = Vec::new();
    for class in CLASSES {
        for (i, registry) in REGISTRIES.iter().enumerate() {
            let name = format!("{class}-svc-{i}");
            let digest = Digest::sha256(name.as_bytes());
            let artifact = Artifact::new(digest).image(format!("{registry}/{class}/svc:1.4.{i}"));
            out.push(Release {
                workload: Workload::new(name.clone()).class(class),
                artifact,
                uid: EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(&name)),
            });
        }
    }
    Ok(out)
}

fn string_property<'a>(t: &'a Target, name: &str) -> anyhow::Result<&'a str> {
    match t.properties.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => bail!("target `{}` has no string `{name}`", t.id),
    }
}

/// Target properties the rules (and so the Cedar entities) use.
const TARGET_ATTRS: [&str; 5] = ["region", "geo", "tier", "compliance", "customer"];

fn cedar_target(t: &Target, ty: &EntityTypeName) -> anyhow::Result<Entity> {
    let mut attrs = HashMap::new();
    for name in TARGET_ATTRS {
        attrs.insert(
            name.to_owned(),
            RestrictedExpression::new_string(string_property(t, name)?.to_owned()),
        );
    }
    attrs.insert(
        "capabilities".to_owned(),
        RestrictedExpression::new_set(
            t.capabilities
                .iter()
                .map(|c| RestrictedExpression::new_string(c.clone())),
        ),
    );
    let uid = EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(t.id.as_str()));
    Ok(Entity::new(uid, attrs, HashSet::new())?)
}

fn cedar_workload(r: &Release) -> anyhow::Result<Entity> {
    let mut attrs = HashMap::new();
    let class = r
        .workload
        .class
        .clone()
        .context("a workload without class")?;
    attrs.insert("class".to_owned(), RestrictedExpression::new_string(class));
    let repo = r
        .artifact
        .repository()
        .context("an artifact without image")?;
    attrs.insert(
        "repository".to_owned(),
        RestrictedExpression::new_string(repo.to_owned()),
    );
    Ok(Entity::new(r.uid.clone(), attrs, HashSet::new())?)
}

/// Sorted distinct values of a string property.
fn distinct(targets: &[Target], name: &str) -> anyhow::Result<Vec<String>> {
    let mut set = BTreeSet::new();
    for t in targets {
        set.insert(string_property(t, name)?.to_owned());
    }
    Ok(set.into_iter().collect())
}

/// Customers by number of targets, most first (ties by name).
fn customers_by_size(targets: &[Target]) -> anyhow::Result<Vec<String>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in targets {
        *counts.entry(string_property(t, "customer")?).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Ok(v.into_iter().map(|(c, _)| c.to_owned()).collect())
}

/// One rule set, loaded into both engines.
struct Sets {
    rules: usize,
    ours: PolicySet,
    cedar: CedarPolicySet,
}

fn load(rules: &[RuleDef], capabilities: &BTreeSet<String>) -> anyhow::Result<Sets> {
    let yaml = fleet_yaml(rules);
    let schema = schema();
    let ours = PolicySet::from_yaml(&yaml, &LoadOptions::new(&schema))
        .map_err(|e| anyhow::anyhow!("the fleet policy does not load:\n{}\n{yaml}", e.render()))?;
    ensure!(
        ours.rule_count() == rules.len(),
        "fleet-policy counts {} rules",
        ours.rule_count()
    );
    let text = cedar_text(rules, capabilities)?;
    let cedar = CedarPolicySet::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the Cedar policies do not parse: {e}\n{text}"))?;
    ensure!(
        cedar.policies().count() == rules.len() + 1,
        "Cedar counts {} policies",
        cedar.policies().count()
    );
    Ok(Sets {
        rules: rules.len(),
        ours,
        cedar,
    })
}

/// The `policy` area's 50-rule set and its data, for the criterion bench: a fleet of
/// `targets` targets (seed [`SEED`]), the 50-rule set loaded into fleet-policy, and every
/// workload with its artifact.
#[derive(Debug)]
pub struct PolicyData {
    /// The 50-rule set.
    pub set: PolicySet,
    /// The fleet.
    pub targets: Vec<Target>,
    /// Every workload (class x registry) with the artifact it deploys.
    pub releases: Vec<(Workload, Artifact)>,
    /// Who asks.
    pub actor: Actor,
    /// The instant every request is decided for.
    pub at: DateTime<Utc>,
}

/// Builds [`PolicyData`] for `targets` targets.
///
/// # Errors
///
/// When the generated fleet lacks a property the rules read, or the rules do not load.
pub fn policy_data(targets: usize) -> anyhow::Result<PolicyData> {
    let targets = generate(&FleetSpec::new(targets).seed(SEED).edges_per_target(0)).targets;
    let capabilities: BTreeSet<String> = targets
        .iter()
        .flat_map(|t| t.capabilities.iter().cloned())
        .collect();
    let rules = fifty_rules(
        &distinct(&targets, "region")?,
        &customers_by_size(&targets)?,
    )?;
    let set = load(&rules, &capabilities)?.ours;
    Ok(PolicyData {
        set,
        targets,
        releases: releases()?
            .into_iter()
            .map(|r| (r.workload, r.artifact))
            .collect(),
        actor: Actor::human("deployer"),
        at: now(),
    })
}

impl PolicyData {
    /// `n` requests drawn (seeded) from the releases and `targets`: what the criterion
    /// bench and `policy_probe` decide in a loop.
    pub fn requests<'a>(
        &'a self,
        targets: &'a [&'a dyn fleet_selectors::TargetView],
        n: usize,
    ) -> Vec<fleet_policy::Request<'a>> {
        let mut rng = Rng::new(SEED);
        (0..n)
            .filter_map(|_| {
                let (workload, artifact) = self.releases.get(rng.below(self.releases.len()))?;
                let target = *targets.get(rng.below(targets.len()))?;
                Some(fleet_policy::Request::new(
                    "req",
                    workload,
                    artifact,
                    target,
                    &self.actor,
                    self.at,
                ))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `p`-th percentile (0..=100) of sorted durations, nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// A latency distribution and the outcome of every timed decision.
struct Timed {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    allowed: Vec<bool>,
}

impl Timed {
    fn new(mut times: Vec<Duration>, allowed: Vec<bool>) -> Self {
        let total: Duration = times.iter().sum();
        let mean = total / u32::try_from(times.len().max(1)).unwrap_or(u32::MAX);
        times.sort_unstable();
        Self {
            p50: percentile(&times, 50),
            p99: percentile(&times, 99),
            mean,
            allowed,
        }
    }
}

/// Everything the requests refer to.
struct Data {
    targets: Vec<Target>,
    target_uids: Vec<EntityUid>,
    releases: Vec<Release>,
    entities: Entities,
    action: EntityUid,
    actor: Actor,
    /// (release, target) per request.
    requests: Vec<(usize, usize)>,
}

fn fleet_allowed(o: FleetOutcome) -> anyhow::Result<bool> {
    match o {
        FleetOutcome::Allow => Ok(true),
        FleetOutcome::Deny => Ok(false),
        FleetOutcome::Pending => bail!("fleet-policy answered pending"),
    }
}

fn time_ours(set: &PolicySet, data: &Data, plan: &Plan) -> anyhow::Result<Timed> {
    let at = now();
    let decide = |&(w, t): &(usize, usize)| -> anyhow::Result<(Duration, FleetOutcome)> {
        let (Some(r), Some(target)) = (data.releases.get(w), data.targets.get(t)) else {
            bail!("request out of range");
        };
        let req = Request::new("req", &r.workload, &r.artifact, target, &data.actor, at);
        let started = Instant::now();
        let outcome = black_box(set).evaluate(black_box(&req)).outcome;
        Ok((started.elapsed(), outcome))
    };
    for q in data.requests.iter().take(plan.warmup) {
        decide(q)?;
    }
    let mut times = Vec::with_capacity(data.requests.len());
    let mut allowed = Vec::with_capacity(data.requests.len());
    for q in &data.requests {
        let (d, o) = decide(q)?;
        times.push(d);
        allowed.push(fleet_allowed(o)?);
    }
    Ok(Timed::new(times, allowed))
}

/// The same requests against the inventory snapshot's `TargetRef`s (how a planner or an
/// executor reads targets), checked to decide exactly as with the owned targets.
fn time_ours_inventory(
    set: &PolicySet,
    data: &Data,
    view: &fleet_core::Snapshot,
    plan: &Plan,
    owned: &Timed,
) -> anyhow::Result<Timed> {
    let at = now();
    let refs: Vec<fleet_core::TargetRef<'_>> = data
        .targets
        .iter()
        .map(|t| {
            view.get(t.id.as_str())
                .context("a target missing from the inventory")
        })
        .collect::<anyhow::Result<_>>()?;
    let decide = |&(w, t): &(usize, usize)| -> anyhow::Result<(Duration, FleetOutcome)> {
        let (Some(r), Some(target)) = (data.releases.get(w), refs.get(t)) else {
            bail!("request out of range");
        };
        let req = Request::new("req", &r.workload, &r.artifact, target, &data.actor, at);
        let started = Instant::now();
        let outcome = black_box(set).evaluate(black_box(&req)).outcome;
        Ok((started.elapsed(), outcome))
    };
    for q in data.requests.iter().take(plan.warmup) {
        decide(q)?;
    }
    let mut times = Vec::with_capacity(data.requests.len());
    let mut allowed = Vec::with_capacity(data.requests.len());
    for q in &data.requests {
        let (d, o) = decide(q)?;
        times.push(d);
        allowed.push(fleet_allowed(o)?);
    }
    ensure!(
        allowed == owned.allowed,
        "inventory targets and owned targets are decided differently"
    );
    Ok(Timed::new(times, allowed))
}

fn cedar_request(data: &Data, w: usize, t: usize) -> anyhow::Result<CedarRequest> {
    let (Some(r), Some(uid)) = (data.releases.get(w), data.target_uids.get(t)) else {
        bail!("request out of range");
    };
    Ok(CedarRequest::new(
        r.uid.clone(),
        data.action.clone(),
        uid.clone(),
        CedarContext::empty(),
        None,
    )?)
}

fn time_cedar(set: &CedarPolicySet, data: &Data, plan: &Plan) -> anyhow::Result<Timed> {
    let authorizer = Authorizer::new();
    // Untimed first: every policy must evaluate without error (an error would make a
    // `forbid` silently not apply).
    for &(w, t) in data.requests.iter().take(plan.warmup) {
        let request = cedar_request(data, w, t)?;
        let response = authorizer.is_authorized(&request, set, &data.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            bail!("Cedar reports an error for request ({w}, {t}): {e}");
        }
    }
    let mut times = Vec::with_capacity(data.requests.len());
    let mut allowed = Vec::with_capacity(data.requests.len());
    for &(w, t) in &data.requests {
        let request = cedar_request(data, w, t)?;
        let started = Instant::now();
        let decision = black_box(&authorizer)
            .is_authorized(black_box(&request), black_box(set), &data.entities)
            .decision();
        times.push(started.elapsed());
        allowed.push(decision == CedarDecision::Allow);
    }
    Ok(Timed::new(times, allowed))
}

/// Fails with the first request on which the engines disagree.
fn agree(
    what: &str,
    ours: &[bool],
    cedar: &[bool],
    describe: &dyn Fn(usize) -> String,
) -> anyhow::Result<()> {
    ensure!(
        ours.len() == cedar.len(),
        "{what}: {} vs {} decisions",
        ours.len(),
        cedar.len()
    );
    if let Some(i) = ours.iter().zip(cedar).position(|(a, b)| a != b) {
        let word = |allow: bool| if allow { "Allow" } else { "Deny" };
        bail!(
            "{what}: decision {i} differs: fleet-policy {}, Cedar {}; {}",
            word(ours.get(i).copied().unwrap_or_default()),
            word(cedar.get(i).copied().unwrap_or_default()),
            describe(i)
        );
    }
    Ok(())
}

fn describe_request(data: &Data, set: &PolicySet, w: usize, t: usize) -> String {
    let (Some(r), Some(target)) = (data.releases.get(w), data.targets.get(t)) else {
        return "request out of range".to_owned();
    };
    let req = Request::new("req", &r.workload, &r.artifact, target, &data.actor, now());
    let props: Vec<String> = TARGET_ATTRS
        .iter()
        .map(|n| format!("{n}={}", string_property(target, n).unwrap_or("?")))
        .collect();
    format!(
        "workload `{}` (class {}, image {}) on target `{}` ({}, capabilities {:?})\nfleet-policy says:\n{}",
        r.workload.name,
        r.workload.class.as_deref().unwrap_or("-"),
        r.artifact.image.as_deref().unwrap_or("-"),
        target.id(),
        props.join(" "),
        target.capabilities,
        set.evaluate(&req)
    )
}

/// The bulk release: one workload against every target of the snapshot, fleet-policy.
struct Bulk {
    time: Duration,
    allowed: Vec<bool>,
    cedar: Duration,
}

fn bulk(
    sets: &Sets,
    data: &Data,
    view: &fleet_core::Snapshot,
    release: usize,
    plan: &Plan,
) -> anyhow::Result<Bulk> {
    let r = data.releases.get(release).context("no release")?;
    let at = now();
    // The index is maintained incrementally by the platform; it is built once here and not
    // timed. What is timed is the release: scopes resolved through it, then every target.
    let index = fleet_selectors::SelectorIndex::build(view);
    let all = index.query(
        &fleet_selectors::compile("", &fleet_core::synth::schema())?,
        view,
        at,
    )?;
    let mut times = Vec::new();
    let mut allowed = Vec::new();
    for _ in 0..plan.bulk_rounds.max(1) {
        let started = Instant::now();
        let req =
            fleet_policy::BulkRequest::new("release", &r.workload, &r.artifact, &data.actor, at);
        let out = sets.ours.evaluate_bulk(&index, view, &all, &req)?;
        times.push(started.elapsed());
        allowed = out
            .decisions
            .iter()
            .map(|d| d.outcome == FleetOutcome::Allow)
            .collect();
    }
    times.sort_unstable();
    let time = times.get(times.len() / 2).copied().unwrap_or_default();

    // Cedar, once, in the same target order (slot order), request construction included.
    let by_id: HashMap<&str, usize> = data
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let order: Vec<usize> = all
        .ids(view)
        .map(|id| {
            by_id
                .get(id)
                .copied()
                .context("a target missing from the list")
        })
        .collect::<anyhow::Result<_>>()?;
    let authorizer = Authorizer::new();
    let mut cedar_allowed = Vec::with_capacity(order.len());
    let started = Instant::now();
    for &t in &order {
        let request = cedar_request(data, release, t)?;
        cedar_allowed.push(
            authorizer
                .is_authorized(&request, &sets.cedar, &data.entities)
                .decision()
                == CedarDecision::Allow,
        );
    }
    let cedar = started.elapsed();
    agree("bulk release", &allowed, &cedar_allowed, &|i| {
        order.get(i).map_or_else(String::new, |&t| {
            describe_request(data, &sets.ours, release, t)
        })
    })?;
    Ok(Bulk {
        time,
        allowed,
        cedar,
    })
}

pub(crate) fn run_with(plan: &Plan, _meter: &dyn Meter) -> anyhow::Result<Outcome> {
    let n = plan.targets;
    println!(
        "area policy: fleet-policy PolicySet::evaluate vs cedar-policy Authorizer::is_authorized"
    );
    let fleet = generate(&FleetSpec::new(n).seed(plan.seed).edges_per_target(0));
    let targets = fleet.targets.clone();
    let inventory = fleet.into_inventory(Default::default())?;
    let view = inventory.view();
    ensure!(view.len() == n, "the inventory holds {}", view.len());

    let capabilities: BTreeSet<String> = targets
        .iter()
        .flat_map(|t| t.capabilities.iter().cloned())
        .collect();
    let regions = distinct(&targets, "region")?;
    let customers = customers_by_size(&targets)?;
    let ten = base_rules();
    let fifty = fifty_rules(&regions, &customers)?;
    let set10 = load(&ten, &capabilities)?;
    let set50 = load(&fifty, &capabilities)?;

    let releases = releases()?;
    let target_ty = EntityTypeName::from_str("Target")?;
    let mut entities = Vec::with_capacity(targets.len() + releases.len());
    let mut target_uids = Vec::with_capacity(targets.len());
    for t in &targets {
        let e = cedar_target(t, &target_ty)?;
        target_uids.push(e.uid());
        entities.push(e);
    }
    for r in &releases {
        entities.push(cedar_workload(r)?);
    }
    let entities = Entities::from_entities(entities, None)?;
    let mut rng = Rng::new(plan.seed ^ 0x05ee_d0fa_110c);
    let requests: Vec<(usize, usize)> = (0..plan.decisions)
        .map(|_| (rng.below(releases.len()), rng.below(targets.len())))
        .collect();
    let data = Data {
        targets,
        target_uids,
        releases,
        entities,
        action: EntityUid::from_str(r#"Action::"deploy""#)?,
        actor: Actor::human("deployer"),
        requests,
    };

    println!(
        "data: {} synthetic targets (seed {}), {} workloads ({} classes x {} registries), {} requests",
        grouped(n as u64),
        plan.seed,
        data.releases.len(),
        CLASSES.len(),
        REGISTRIES.len(),
        grouped(data.requests.len() as u64)
    );
    println!(
        "rules: {} and {} enforce-mode placement rules, one fleet policy (with its scope) each; in Cedar",
        set10.rules, set50.rules
    );
    println!(
        "  one `forbid ... when {{ scope && violation }}` each plus one blanket `permit`; capability globs"
    );
    println!(
        "  expanded over the {} capabilities present for Cedar's `containsAny`",
        capabilities.len()
    );
    println!(
        "Cedar: one Entities store (every target and workload) built once; each Cedar Request and each"
    );
    println!(
        "  fleet Request is built before its timer starts; only evaluate / is_authorized is timed"
    );
    println!();

    let ours10 = time_ours(&set10.ours, &data, plan)?;
    let ours50 = time_ours(&set50.ours, &data, plan)?;
    let ours50_inv = time_ours_inventory(&set50.ours, &data, view, plan, &ours50)?;
    let cedar10 = time_cedar(&set10.cedar, &data, plan)?;
    let cedar50 = time_cedar(&set50.cedar, &data, plan)?;
    for (what, sets, ours, cedar) in [
        ("10-rule set", &set10, &ours10, &cedar10),
        ("50-rule set", &set50, &ours50, &cedar50),
    ] {
        agree(what, &ours.allowed, &cedar.allowed, &|i| {
            data.requests.get(i).map_or_else(String::new, |&(w, t)| {
                describe_request(&data, &sets.ours, w, t)
            })
        })?;
    }
    let allowed = |t: &Timed| t.allowed.iter().filter(|a| **a).count();
    ensure!(
        allowed(&ours50) > 0 && allowed(&ours50) < ours50.allowed.len(),
        "the 50-rule set decides every request the same way"
    );

    // The bulk release: a standard workload from the EU registry.
    let release = CLASSES.iter().position(|c| *c == "standard").unwrap_or(0) * REGISTRIES.len() + 1;
    let b = bulk(&set50, &data, view, release, plan)?;
    let bulk_allowed = b.allowed.iter().filter(|a| **a).count();
    println!(
        "agreement: fleet-policy and Cedar decide all {} requests the same with each set \
         (10 rules: {} allowed, {} denied; 50 rules: {} allowed, {} denied), and the bulk release",
        grouped(data.requests.len() as u64),
        grouped(allowed(&ours10) as u64),
        grouped((ours10.allowed.len() - allowed(&ours10)) as u64),
        grouped(allowed(&ours50) as u64),
        grouped((ours50.allowed.len() - allowed(&ours50)) as u64),
    );
    println!(
        "  ({} allowed, {} denied of {} targets)",
        grouped(bulk_allowed as u64),
        grouped((b.allowed.len() - bulk_allowed) as u64),
        grouped(b.allowed.len() as u64)
    );
    println!();

    report(
        plan,
        &data,
        [&ours10, &ours50, &ours50_inv, &cedar10, &cedar50],
        &b,
    )
}

fn report(plan: &Plan, data: &Data, t: [&Timed; 5], b: &Bulk) -> anyhow::Result<Outcome> {
    let [ours10, ours50, ours50_inv, cedar10, cedar50] = t;
    let n = plan.targets;
    let mut table = Table::new(&["per decision (µs)", "p50", "p99", "mean"]);
    for (what, x) in [
        ("fleet-policy, 10 rules", ours10),
        ("fleet-policy, 50 rules", ours50),
        ("fleet-policy, 50 rules, inventory targets", ours50_inv),
        ("cedar-policy, 10 rules", cedar10),
        ("cedar-policy, 50 rules", cedar50),
    ] {
        table.row(&[
            what.to_owned(),
            format!("{:.2}", us(x.p50)),
            format!("{:.2}", us(x.p99)),
            format!("{:.2}", us(x.mean)),
        ]);
    }
    print!("{}", table.render());
    println!(
        "({} timed decisions each after {} untimed; Instant::now around each call; owned targets are\n  `fleet_core::Target`s, inventory targets the snapshot's `TargetRef`s, decided alike)",
        grouped(data.requests.len() as u64),
        grouped(plan.warmup as u64)
    );
    println!();

    let scale = BULK_TARGETS as f64 / n.max(1) as f64;
    let bulk_ms = b.time.as_secs_f64() * 1e3 * scale;
    let cedar_bulk_ms = b.cedar.as_secs_f64() * 1e3 * scale;
    let label = if n == BULK_TARGETS {
        String::new()
    } else {
        format!(", scaled x{scale:.1} from {} targets", grouped(n as u64))
    };
    let mut bulk_table = Table::new(&["one release, 50 rules (ms per 100,000 targets)", "value"]);
    bulk_table
        .row(&[
            format!("fleet-policy over the inventory snapshot{label}"),
            format!("{bulk_ms:.1}"),
        ])
        .row(&[
            format!("cedar-policy, same targets{label}"),
            format!("{cedar_bulk_ms:.1}"),
        ]);
    print!("{}", bulk_table.render());
    println!(
        "(fleet-policy: median of {} rounds; Cedar: one round; request construction included)",
        plan.bulk_rounds
    );
    println!();

    let p50 = us(ours50.p50);
    let p99 = us(ours50.p99);
    let p50_inv = us(ours50_inv.p50);
    let p99_inv = us(ours50_inv.p99);
    let vs_cedar = cedar50.p50.as_secs_f64() / ours50.p50.as_secs_f64();
    let vs_cedar10 = cedar10.p50.as_secs_f64() / ours50.p50.as_secs_f64();
    let mut goals = Table::new(&["goal (fleet-policy, Performance)", "measured", "verdict"]);
    let goal = |t: &mut Table, what: String, measured: String, ok: bool| {
        t.row(&[
            what,
            measured,
            (if ok { "met" } else { "MISSED" }).to_owned(),
        ]);
    };
    goal(
        &mut goals,
        format!("one decision, 50 rules, p50 <= {GOAL_P50_US:.0} µs"),
        format!("{p50:.2} µs"),
        p50 <= GOAL_P50_US,
    );
    goal(
        &mut goals,
        format!("one decision, 50 rules, p99 <= {GOAL_P99_US:.0} µs"),
        format!("{p99:.2} µs"),
        p99 <= GOAL_P99_US,
    );
    goal(
        &mut goals,
        format!("one decision, 50 rules, inventory targets, p50 <= {GOAL_P50_US:.0} µs"),
        format!("{p50_inv:.2} µs"),
        p50_inv <= GOAL_P50_US,
    );
    goal(
        &mut goals,
        format!("one decision, 50 rules, inventory targets, p99 <= {GOAL_P99_US:.0} µs"),
        format!("{p99_inv:.2} µs"),
        p99_inv <= GOAL_P99_US,
    );
    goal(
        &mut goals,
        format!("one release against 100,000 targets <= {GOAL_BULK_MS:.0} ms{label}"),
        format!("{bulk_ms:.1} ms"),
        bulk_ms <= GOAL_BULK_MS,
    );
    goal(
        &mut goals,
        format!("vs_cedar >= {GOAL_VS_CEDAR:.0}x (Cedar p50 / our p50, both 50 rules)"),
        ratio(vs_cedar),
        vs_cedar >= GOAL_VS_CEDAR,
    );
    print!("{}", goals.render());
    println!(
        "(against Cedar with the 10-rule set, our 50-rule p50 is {} faster)",
        ratio(vs_cedar10)
    );

    Ok(Outcome {
        result: vec![
            ("decisions", data.requests.len().to_string()),
            ("p50_us", format!("{p50:.2}")),
            ("p99_us", format!("{p99:.2}")),
            ("p50_inventory_us", format!("{p50_inv:.2}")),
            ("p99_inventory_us", format!("{p99_inv:.2}")),
            ("bulk_100k_ms", format!("{bulk_ms:.1}")),
            ("vs_cedar", ratio(vs_cedar)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::NoMeter;

    #[test]
    fn engines_agree_on_a_small_fleet() {
        // `run_with` fails unless fleet-policy and Cedar decide every request alike.
        let outcome = run_with(&Plan::tiny(2_000, SEED), &NoMeter).unwrap();
        let keys: Vec<&str> = outcome.result.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "decisions",
                "p50_us",
                "p99_us",
                "p50_inventory_us",
                "p99_inventory_us",
                "bulk_100k_ms",
                "vs_cedar"
            ]
        );
        assert_eq!(outcome.result[0].1, "2000");
    }

    #[test]
    fn agreement_holds_for_other_seeds() {
        for seed in [2, 3] {
            run_with(&Plan::tiny(1_000, seed), &NoMeter).unwrap();
        }
    }

    #[test]
    fn renders_one_rule_for_both_engines() {
        let caps: BTreeSet<String> = ["gpu.nvidia-h100", "gpu.nvidia-l4", "arch.amd64"]
            .map(str::to_owned)
            .into();
        let rule = RuleDef::new(
            "gpu",
            TargetScope::Eq("tier", "production".to_owned()),
            Check::Capabilities(strings(&["gpu.nvidia-*100"])),
        )
        .classes(&["gpu"]);
        let yaml = fleet_yaml(std::slice::from_ref(&rule));
        assert!(yaml.contains("targets: 'tier = \"production\"'"), "{yaml}");
        assert!(yaml.contains("workloads: { classes: [\"gpu\"] }"), "{yaml}");
        let cedar = cedar_text(&[rule], &caps).unwrap();
        assert!(
            cedar.contains(
                "when { resource.tier == \"production\" && (principal.class == \"gpu\") && \
                 (!resource.capabilities.containsAny([\"gpu.nvidia-h100\"])) };"
            ),
            "{cedar}"
        );
    }

    #[test]
    fn a_disagreement_names_the_request() {
        let err = agree("t", &[true, false], &[true, true], &|i| {
            format!("request {i}")
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "t: decision 1 differs: fleet-policy Deny, Cedar Allow; request 1"
        );
    }
}
