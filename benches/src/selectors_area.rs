//! Area `selectors`: fleet-selectors' indexed and scan paths against `kube-core`'s
//! `Selector` and a `cel-interpreter` program, on one generated fleet.
//!
//! Order of work, so that each figure counts only what it claims:
//!
//! 1. Generate the fleet (seed [`SEED`], no dependencies) into an [`Inventory`], list the
//!    regions present, compile every selector, build the peers' inputs (one
//!    `BTreeMap<String, String>` per target for kube-core: its labels plus `tier` and
//!    `region`); all untimed.
//! 2. Build the [`SelectorIndex`] (timed once; its live heap bytes counted by the meter).
//! 3. Per selector: the first indexed query (glob unions not yet cached), then many timed
//!    queries (p50, p99), materialising the ids of the result (timed apart, per match), and
//!    our scan path (`matches` over `inventory.view().iter()`, per target).
//! 4. The peers: kube-core's `Selector` over the label maps (the Kubernetes-expressible
//!    selector), and a cel-interpreter program for the seed sentence whose per-target context
//!    is built inside the timed loop.
//! 5. Agreement: every method's set of ids for a selector must be identical, else the area
//!    fails before printing a figure.
//! 6. Incremental maintenance: rounds of random `put`s, then a timed `catch_up`; after it,
//!    index and scan must still agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cel_interpreter::{Context as CelContext, Program, Value as CelValue};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, Rng, generate, schema};
use fleet_core::{Inventory, Slot, Snapshot, TargetRef, Value, ValueRef, Version};
use fleet_selectors::{
    CompiledSelector, LabelSelector, SelectorIndex, TargetSelectorDocument, TargetSet, compile,
};
use globset::{Glob, GlobSet, GlobSetBuilder};
use kube_core::{Expression, Selector as KubeSelector, SelectorExt as _};

use crate::compare::{Meter, Options, Outcome};
use crate::{SEED, Table, grouped, ratio};

/// Every EU region naming of the generated clouds, as a user writes it.
pub(crate) const EU_GLOBS: [&str; 7] = [
    "eu-*",
    "europe-*",
    "*europe",
    "germany*",
    "france*",
    "sweden*",
    "edge-eu-*",
];

/// The YAML selector of the issue, verbatim.
pub(crate) const YAML: &str = r#"target_selector:
  region: ["us-*", "eu-*"]
  tier: "production"
  exclude_labels: ["frozen", "compliance-hold"]
"#;

/// The region globs of [`YAML`] (expanded over the data for the kube-core cross-check).
const YAML_REGION_GLOBS: [&str; 2] = ["us-*", "eu-*"];

/// Label keys the Kubernetes-expressible selector and the YAML selector exclude.
const EXCLUDED_LABELS: [&str; 2] = ["frozen", "compliance-hold"];

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Targets in the fleet.
    pub(crate) targets: usize,
    /// The generator's seed.
    pub(crate) seed: u64,
    /// Timed repetitions of each indexed query.
    queries: usize,
    /// Rounds of each full scan (our scan, kube-core) and of materialising ids.
    scan_rounds: usize,
    /// Rounds of the CEL pass (slow: about a microsecond per target).
    cel_rounds: usize,
    /// Rounds of incremental maintenance.
    update_rounds: usize,
    /// Random `put`s per round (each round's changes stay within the feed's 65,536).
    mutations: usize,
}

const FULL: Plan = Plan {
    targets: 1_000_000,
    seed: SEED,
    queries: 2_000,
    scan_rounds: 5,
    cel_rounds: 3,
    update_rounds: 5,
    mutations: 2_000,
};

const QUICK: Plan = Plan {
    targets: 100_000,
    cel_rounds: 5,
    ..FULL
};

impl Plan {
    /// A plan that checks agreement and exercises every timer with little repetition.
    #[cfg(test)]
    pub(crate) fn tiny(targets: usize, seed: u64) -> Self {
        Self {
            targets,
            seed,
            queries: 20,
            scan_rounds: 1,
            cel_rounds: 1,
            update_rounds: 2,
            mutations: 200,
        }
    }
}

/// Goals from the issue (for the full run, 1,000,000 targets).
const GOAL_SEED_P50_US: f64 = 60.0;
const GOAL_YAML_P50_US: f64 = 100.0;
const GOAL_UPDATE_US: f64 = 5.0;
const GOAL_BUILD_MS: f64 = 1_000.0;
const GOAL_INDEX_BYTES: f64 = 150.0;
const GOAL_SCAN_NS: f64 = 30.0;
const GOAL_VS_KUBE: f64 = 1_200.0;
const GOAL_SCAN_VS_KUBE: f64 = 4.0;
const GOAL_VS_CEL: f64 = 30.0;

pub(crate) fn run(options: &Options, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    run_with(&if options.quick { QUICK } else { FULL }, meter)
}

/// The instant the generator counts "last touched" back from, and `now` of every query.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The seed sentence in the text form.
pub(crate) fn seed_sentence() -> String {
    format!(
        "version = 1.29 and region in ({}) and owner = atlas and last_touched < now - 30d",
        quoted_list(&EU_GLOBS)
    )
}

/// The seed sentence as a CEL program. Each region glob is a prefix or a suffix glob, so it
/// becomes `startsWith`/`endsWith` (cheaper for CEL than `matches`, which compiles its
/// regular expression on every call). `version = 1.29` means "lies under 1.29"; every
/// generated version has three numeric parts, so the CEL form is `startsWith('1.29.')` (the
/// agreement check holds it to that). `30d` is `720h`.
pub(crate) fn cel_seed_program_text() -> anyhow::Result<String> {
    let mut regions = Vec::new();
    for g in EU_GLOBS {
        let stars = g.matches('*').count();
        let region = match (g.strip_suffix('*'), g.strip_prefix('*')) {
            (Some(prefix), _) if stars == 1 => format!("region.startsWith('{prefix}')"),
            (_, Some(suffix)) if stars == 1 => format!("region.endsWith('{suffix}')"),
            _ => bail!("glob `{g}` is neither a prefix nor a suffix glob"),
        };
        regions.push(region);
    }
    Ok(format!(
        "version.startsWith('1.29.') && ({}) && owner == 'atlas' && last_touched < now - duration('720h')",
        regions.join(" || ")
    ))
}

fn glob_set(globs: &[&str]) -> anyhow::Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g)?);
    }
    Ok(b.build()?)
}

fn string_property<'a>(t: &TargetRef<'a>, name: &str) -> Option<&'a str> {
    match t.property(name) {
        Some(ValueRef::String(s)) => Some(s),
        _ => None,
    }
}

/// The kube-core peer's form of a target: its labels plus `tier` and `region` as labels.
fn label_map(t: &TargetRef<'_>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = t
        .labels()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for name in ["tier", "region"] {
        if let Some(v) = string_property(t, name) {
            map.insert(name.to_owned(), v.to_owned());
        }
    }
    map
}

/// Every selector, in each form, for one fleet.
struct Selectors {
    /// The seed sentence, text form.
    seed: CompiledSelector,
    seed_text: String,
    /// The YAML selector (serde form).
    yaml: CompiledSelector,
    /// The YAML selector rewritten in the text form (a cross-check).
    yaml_as_text: CompiledSelector,
    /// Our text form of the Kubernetes-expressible selector.
    kube_eq: CompiledSelector,
    kube_eq_text: String,
    /// The Kubernetes string syntax of that selector.
    kube_string: String,
    /// kube-core's selector for it.
    kube: KubeSelector,
    /// fleet-selectors' own Kubernetes label selector, parsed from `kube_string` (a
    /// cross-check over the same label maps).
    label_selector: LabelSelector,
    /// The YAML selector with its globs expanded to exact regions, for kube-core (a
    /// cross-check).
    kube_yaml: KubeSelector,
    /// The seed sentence for cel-interpreter.
    cel: Program,
    cel_text: String,
}

/// The distinct string values of `region` in the fleet, sorted.
fn regions_present(view: &Snapshot) -> Vec<String> {
    let set: BTreeSet<&str> = view
        .iter()
        .filter_map(|t| string_property(&t, "region"))
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

fn expand(globs: &[&str], regions: &[String]) -> anyhow::Result<Vec<String>> {
    let set = glob_set(globs)?;
    Ok(regions
        .iter()
        .filter(|r| set.is_match(r.as_str()))
        .cloned()
        .collect())
}

fn kube_selector(tier: &str, regions: &[String]) -> KubeSelector {
    let mut exprs = vec![
        Expression::Equal("tier".to_owned(), tier.to_owned()),
        Expression::In("region".to_owned(), regions.iter().cloned().collect()),
    ];
    exprs.extend(
        EXCLUDED_LABELS
            .iter()
            .map(|k| Expression::DoesNotExist((*k).to_owned())),
    );
    exprs.into_iter().collect()
}

impl Selectors {
    fn new(regions: &[String]) -> anyhow::Result<Self> {
        let schema = schema();
        let err = |what: &str, e: fleet_selectors::SelectorError| {
            anyhow::anyhow!("{what} does not compile:\n{}", e.render())
        };

        let seed_text = seed_sentence();
        let seed = compile(&seed_text, &schema).map_err(|e| err("the seed sentence", e))?;

        let doc: TargetSelectorDocument =
            serde_yaml_ng::from_str(YAML).context("the YAML selector does not parse")?;
        let yaml = doc
            .target_selector
            .compile(&schema)
            .map_err(|e| err("the YAML selector", e))?;
        let yaml_as_text = compile(
            &format!(
                "region in ({}) and tier = production and not label in ({})",
                quoted_list(&YAML_REGION_GLOBS),
                quoted_list(&EXCLUDED_LABELS)
            ),
            &schema,
        )
        .map_err(|e| err("the YAML selector's text form", e))?;

        let eu = expand(&EU_GLOBS, regions)?;
        ensure!(!eu.is_empty(), "no EU region in the data");
        let kube_string = format!(
            "tier=production,region in ({}),{}",
            eu.join(","),
            EXCLUDED_LABELS.map(|k| format!("!{k}")).join(",")
        );
        let kube = kube_selector("production", &eu);
        ensure!(
            kube.to_string() == kube_string,
            "kube-core writes the selector as `{kube}`, not `{kube_string}`"
        );
        let label_selector = LabelSelector::parse(&kube_string)
            .map_err(|e| anyhow::anyhow!("`{kube_string}` does not parse: {e}"))?;
        let kube_eq_text = format!(
            "tier = production and region in ({}) and not label in ({})",
            quoted_list(&eu),
            quoted_list(&EXCLUDED_LABELS)
        );
        let kube_eq = compile(&kube_eq_text, &schema)
            .map_err(|e| err("the Kubernetes-equivalent selector", e))?;
        let kube_yaml = kube_selector("production", &expand(&YAML_REGION_GLOBS, regions)?);

        let cel_text = cel_seed_program_text()?;
        let cel = Program::compile(&cel_text)
            .map_err(|e| anyhow::anyhow!("the CEL program does not compile: {e:?}"))?;

        Ok(Self {
            seed,
            seed_text,
            yaml,
            yaml_as_text,
            kube_eq,
            kube_eq_text,
            kube_string,
            kube,
            label_selector,
            kube_yaml,
            cel,
            cel_text,
        })
    }
}

/// The root CEL context: the standard functions and `now`, built once.
fn cel_root(now: DateTime<Utc>) -> CelContext<'static> {
    let mut root = CelContext::default();
    root.add_variable_from_value("now", CelValue::Timestamp(now.fixed_offset()));
    root
}

/// Runs the CEL program on one target, building its context as a user must: an inner scope
/// of the root holding the four properties the program reads (`version` as text). `None`
/// when the program fails or does not return a bool.
fn cel_matches(program: &Program, root: &CelContext<'_>, t: &TargetRef<'_>) -> Option<bool> {
    let mut ctx = root.new_inner_scope();
    for name in ["region", "owner"] {
        if let Some(ValueRef::String(s)) = t.property(name) {
            ctx.add_variable_from_value(name, s);
        }
    }
    if let Some(ValueRef::Version(v)) = t.property("version") {
        ctx.add_variable_from_value("version", v.to_string());
    }
    if let Some(ValueRef::Timestamp(ts)) = t.property("last_touched") {
        ctx.add_variable_from_value("last_touched", CelValue::Timestamp(ts.fixed_offset()));
    }
    match program.execute(&ctx) {
        Ok(CelValue::Bool(b)) => Some(b),
        _ => None,
    }
}

fn ns_each(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n.max(1) as f64
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

/// The `p`-th percentile (0..=100) of sorted durations, nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// Runs `pass` `rounds` times; the median time, and the count every round returned.
fn time_rounds(
    rounds: usize,
    mut pass: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(Duration, usize)> {
    let mut times = Vec::with_capacity(rounds);
    let mut count = None;
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let n = pass()?;
        times.push(started.elapsed());
        if let Some(c) = count {
            ensure!(c == n, "one pass counted {c}, another {n}");
        }
        count = Some(n);
    }
    Ok((median(times), count.unwrap_or(0)))
}

/// What one selector costs through the index.
struct Indexed {
    set: TargetSet,
    first: Duration,
    p50: Duration,
    p99: Duration,
    materialize: Duration,
}

fn measure_indexed(
    index: &SelectorIndex,
    sel: &CompiledSelector,
    view: &Snapshot,
    now: DateTime<Utc>,
    plan: &Plan,
) -> anyhow::Result<Indexed> {
    let started = Instant::now();
    let set = index.query(sel, view, now)?;
    let first = started.elapsed();

    let mut times = Vec::with_capacity(plan.queries);
    for _ in 0..plan.queries {
        let started = Instant::now();
        let s = index.query(black_box(sel), view, now)?;
        times.push(started.elapsed());
        ensure!(s.len() == set.len(), "repeated queries disagree");
        drop(black_box(s));
    }
    times.sort();

    let (materialize, n) = time_rounds(plan.scan_rounds, || {
        let ids: Vec<&str> = set.ids(view).collect();
        Ok(black_box(ids).len())
    })?;
    ensure!(
        n as u64 == set.len(),
        "materialised {n} of {} ids",
        set.len()
    );

    Ok(Indexed {
        first,
        p50: percentile(&times, 50),
        p99: percentile(&times, 99),
        set,
        materialize,
    })
}

/// Our scan path: the selector bound to the view (`CompiledSelector::bind`, which resolves
/// names to symbols once, inside the timed pass), then `matches` over every target of the
/// view. The median time of a full pass.
fn measure_scan(
    sel: &CompiledSelector,
    view: &Snapshot,
    now: DateTime<Utc>,
    plan: &Plan,
) -> anyhow::Result<(Duration, usize)> {
    time_rounds(plan.scan_rounds, || {
        let mut bound = black_box(sel).bind(view, now);
        Ok(view.iter().filter(|t| bound.matches(t)).count())
    })
}

type Ids<'a> = BTreeSet<&'a str>;

/// Fails unless every method found the same ids; says which ids differ.
fn agree(what: &str, methods: &[(&str, &Ids<'_>)]) -> anyhow::Result<()> {
    let Some((first_name, first)) = methods.first() else {
        return Ok(());
    };
    let mut problems = String::new();
    for (name, ids) in methods.iter().skip(1) {
        if ids == first {
            continue;
        }
        let only_first: Vec<&&str> = first.difference(ids).take(5).collect();
        let only_this: Vec<&&str> = ids.difference(first).take(5).collect();
        let _ = writeln!(
            problems,
            "  {first_name} found {}, {name} found {}; only {first_name}: {only_first:?}; only {name}: {only_this:?}",
            first.len(),
            ids.len()
        );
    }
    ensure!(
        problems.is_empty(),
        "methods disagree on {what}:\n{problems}"
    );
    Ok(())
}

fn scan_ids<'a>(sel: &CompiledSelector, view: &'a Snapshot, now: DateTime<Utc>) -> Ids<'a> {
    let generic: Ids<'a> = view
        .iter()
        .filter(|t| sel.matches(t, now))
        .map(|t| t.id())
        .collect();
    let mut bound = sel.bind(view, now);
    let fast: Ids<'a> = view
        .iter()
        .filter(|t| bound.matches(t))
        .map(|t| t.id())
        .collect();
    // Both scan paths are ours; they must agree before either is compared with a peer.
    if generic == fast { generic } else { Ids::new() }
}

/// The same selector on owned `Target`s (the other `TargetView`), one target at a time.
fn owned_scan_ids<'a>(sel: &CompiledSelector, view: &'a Snapshot, now: DateTime<Utc>) -> Ids<'a> {
    view.iter()
        .filter(|t| sel.matches(&t.to_target(), now))
        .map(|t| t.id())
        .collect()
}

fn indexed_ids<'a>(
    index: &SelectorIndex,
    sel: &CompiledSelector,
    view: &'a Snapshot,
    now: DateTime<Utc>,
) -> anyhow::Result<Ids<'a>> {
    let set = index.query(sel, view, now)?;
    // `TargetSet::ids` ties its `&str`s to the set as well as the snapshot, so they cannot
    // outlive `set`: resolve the slots through the view, and hold `ids` to the same answer.
    let ids: Ids<'a> = set
        .slots()
        .filter_map(|slot| view.slot(slot).map(|t| t.id()))
        .collect();
    ensure!(
        ids.len() as u64 == set.len()
            && set.ids(view).count() == ids.len()
            && set.ids(view).all(|id| ids.contains(id)),
        "TargetSet::ids and its slots name different targets"
    );
    Ok(ids)
}

/// The ids of the targets whose label map satisfies `pred`.
fn map_ids<'a>(
    maps: &[(Slot, BTreeMap<String, String>)],
    view: &'a Snapshot,
    pred: &dyn Fn(&BTreeMap<String, String>) -> bool,
) -> Ids<'a> {
    maps.iter()
        .filter(|(_, m)| pred(m))
        .filter_map(|(slot, _)| view.slot(*slot).map(|t| t.id()))
        .collect()
}

/// How many ids each selector matched, after every method agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreed {
    pub(crate) seed: usize,
    pub(crate) yaml: usize,
    pub(crate) kube: usize,
}

/// Checks every method against every other, on the current inventory (before mutations).
fn check_agreement(
    sel: &Selectors,
    index: &SelectorIndex,
    view: &Snapshot,
    maps: &[(Slot, BTreeMap<String, String>)],
    now: DateTime<Utc>,
) -> anyhow::Result<Agreed> {
    let indexed = |s: &CompiledSelector| indexed_ids(index, s, view, now);
    let over_maps = |pred: &dyn Fn(&BTreeMap<String, String>) -> bool| map_ids(maps, view, pred);

    // The seed sentence: index, scan (inventory and owned targets), CEL.
    let root = cel_root(now);
    let mut cel_errors = 0usize;
    let cel: Ids<'_> = view
        .iter()
        .filter(|t| {
            let m = cel_matches(&sel.cel, &root, t);
            cel_errors += usize::from(m.is_none());
            m == Some(true)
        })
        .map(|t| t.id())
        .collect();
    ensure!(
        cel_errors == 0,
        "the CEL program failed on {cel_errors} targets"
    );
    let seed_index = indexed(&sel.seed)?;
    agree(
        "the seed sentence",
        &[
            ("indexed query", &seed_index),
            ("scan", &scan_ids(&sel.seed, view, now)),
            (
                "scan of owned targets",
                &owned_scan_ids(&sel.seed, view, now),
            ),
            ("cel-interpreter", &cel),
        ],
    )?;

    // The YAML selector: index, scan, its text form, kube-core with the globs expanded.
    let yaml_index = indexed(&sel.yaml)?;
    agree(
        "the YAML selector",
        &[
            ("indexed query", &yaml_index),
            ("scan", &scan_ids(&sel.yaml, view, now)),
            (
                "scan of owned targets",
                &owned_scan_ids(&sel.yaml, view, now),
            ),
            ("text form, indexed", &indexed(&sel.yaml_as_text)?),
            ("text form, scan", &scan_ids(&sel.yaml_as_text, view, now)),
            (
                "kube-core, regions expanded",
                &over_maps(&|m| sel.kube_yaml.matches(m)),
            ),
        ],
    )?;

    // The Kubernetes-expressible selector: index, scan, kube-core, our label selector.
    let kube_index = indexed(&sel.kube_eq)?;
    agree(
        "the Kubernetes-expressible selector",
        &[
            ("indexed query", &kube_index),
            ("scan", &scan_ids(&sel.kube_eq, view, now)),
            (
                "scan of owned targets",
                &owned_scan_ids(&sel.kube_eq, view, now),
            ),
            ("kube-core", &over_maps(&|m| sel.kube.matches(m))),
            (
                "fleet-selectors LabelSelector",
                &over_maps(&|m| sel.label_selector.matches(m)),
            ),
        ],
    )?;

    Ok(Agreed {
        seed: seed_index.len(),
        yaml: yaml_index.len(),
        kube: kube_index.len(),
    })
}

/// Index and scan agree on every selector (after mutations: the peers' inputs are stale).
fn check_index_vs_scan(
    sel: &Selectors,
    index: &SelectorIndex,
    view: &Snapshot,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for (what, s) in [
        ("the seed sentence", &sel.seed),
        ("the YAML selector", &sel.yaml),
        ("the Kubernetes-expressible selector", &sel.kube_eq),
    ] {
        let indexed = indexed_ids(index, s, view, now)?;
        agree(
            &format!("{what} after mutations"),
            &[
                ("indexed query", &indexed),
                ("scan", &scan_ids(s, view, now)),
            ],
        )?;
    }
    Ok(())
}

/// One random change to a target: labels, tier, region, owner, last touched or version.
fn mutate(
    t: &mut fleet_core::Target,
    rng: &mut Rng,
    regions: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    fn toggle(t: &mut fleet_core::Target, key: &str, value: &str) {
        if t.labels.remove(key).is_none() {
            t.labels.insert(key.to_owned(), value.to_owned());
        }
    }
    fn set(t: &mut fleet_core::Target, name: &str, v: Value) {
        t.properties.insert(name.to_owned(), v);
    }
    match rng.below(7) {
        0 => toggle(t, "frozen", "true"),
        1 => toggle(t, "compliance-hold", "INC-4242"),
        2 => {
            let tier = rng
                .pick(&["production", "staging", "development"])
                .copied()
                .unwrap_or("production");
            set(t, "tier", Value::String(tier.to_owned()));
        }
        3 => {
            let region = rng.pick(regions).cloned().context("no regions")?;
            set(t, "region", Value::String(region));
        }
        4 => {
            let owner = rng
                .pick(&["atlas", "borealis", "cassini"])
                .copied()
                .unwrap_or("atlas");
            set(t, "owner", Value::String(owner.to_owned()));
        }
        5 => {
            let days = rng.below(60) as i64;
            set(
                t,
                "last_touched",
                Value::Timestamp(now - TimeDelta::days(days)),
            );
        }
        _ => {
            let minor = 28 + rng.below(3);
            let version = Version::parse(&format!("1.{minor}.{}", rng.below(12)))?;
            set(t, "version", Value::Version(version));
        }
    }
    Ok(())
}

/// Incremental maintenance: per round, `mutations` random puts, then one timed `catch_up`.
/// The median time per change applied, and the changes applied in all.
fn measure_updates(
    inventory: &mut Inventory,
    index: &mut SelectorIndex,
    regions: &[String],
    now: DateTime<Utc>,
    plan: &Plan,
) -> anyhow::Result<(Duration, usize)> {
    let mut per_change = Vec::with_capacity(plan.update_rounds);
    let mut total = 0usize;
    let mut rng = Rng::new(plan.seed ^ 0x5e1e_c7ed);
    for _ in 0..plan.update_rounds {
        for _ in 0..plan.mutations {
            let slot_end = inventory.view().slot_end() as usize;
            let slot = Slot(u32::try_from(rng.below(slot_end))?);
            let Some(mut target) = inventory.view().slot(slot).map(|t| t.to_target()) else {
                continue;
            };
            mutate(&mut target, &mut rng, regions, now)?;
            inventory.put(target)?;
        }
        let started = Instant::now();
        let applied = index.catch_up(inventory)?;
        let took = started.elapsed();
        ensure!(
            index.generation() == inventory.generation(),
            "the index did not catch up"
        );
        ensure!(applied > 0, "no change reached the index");
        per_change.push(took / u32::try_from(applied)?);
        total += applied;
    }
    Ok((median(per_change), total))
}

struct Figures {
    seed: Indexed,
    yaml: Indexed,
    kube_eq: Indexed,
    scan_seed: Duration,
    scan_yaml: Duration,
    scan_kube_eq: Duration,
    kube: Duration,
    cel: Duration,
}

pub(crate) fn run_with(plan: &Plan, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    let n = plan.targets;
    let now = now();
    println!("area selectors: fleet-selectors (indexed and scan) vs kube-core and cel-interpreter");
    println!(
        "data: {} synthetic targets (seed {}, no dependencies) in a fleet_core::Inventory, generated",
        grouped(n as u64),
        plan.seed
    );
    println!("  before any timer starts; now = {now:?} (the generator's reference instant)");

    let mut inventory = generate(&FleetSpec::new(n).seed(plan.seed).edges_per_target(0))
        .into_inventory(Default::default())?;
    ensure!(
        inventory.len() == n,
        "the inventory holds {}",
        inventory.len()
    );
    let regions = regions_present(inventory.view());
    let sel = Selectors::new(&regions)?;
    println!();
    println!("selectors:");
    println!("  seed sentence:  {}", sel.seed_text);
    println!(
        "  YAML selector:  {}",
        YAML.trim_end().replace('\n', "\n                  ")
    );
    println!("    compiled as:  {}", sel.yaml.selector());
    println!("  kube-core:      {}", sel.kube_string);
    println!("    ours:         {}", sel.kube_eq_text);
    println!("  CEL (seed):     {}", sel.cel_text);
    println!(
        "kube-core matches one BTreeMap<String, String> per target (its labels plus `tier` and `region`),"
    );
    println!(
        "  built before timing; CEL builds each target's context (an inner scope of a root holding the"
    );
    println!(
        "  functions and `now`: region, owner, version as text, last_touched) inside the timed loop"
    );
    println!();

    // The index: build time and live bytes.
    let before = meter.live_bytes();
    let started = Instant::now();
    let mut index = SelectorIndex::build(inventory.view());
    let build = started.elapsed();
    let index_bytes = meter.live_bytes().saturating_sub(before);
    ensure!(index.len() as usize == n, "the index holds {}", index.len());
    let bitmap_bytes = index.bitmap_bytes();

    let maps: Vec<(Slot, BTreeMap<String, String>)> = inventory
        .view()
        .iter()
        .map(|t| (t.slot(), label_map(&t)))
        .collect();

    let figures = {
        let view = inventory.view();
        let seed = measure_indexed(&index, &sel.seed, view, now, plan)?;
        let yaml = measure_indexed(&index, &sel.yaml, view, now, plan)?;
        let kube_eq = measure_indexed(&index, &sel.kube_eq, view, now, plan)?;
        let (scan_seed, c_seed) = measure_scan(&sel.seed, view, now, plan)?;
        let (scan_yaml, c_yaml) = measure_scan(&sel.yaml, view, now, plan)?;
        let (scan_kube_eq, c_kube_eq) = measure_scan(&sel.kube_eq, view, now, plan)?;

        let (kube, c_kube) = time_rounds(plan.scan_rounds, || {
            Ok(maps
                .iter()
                .filter(|(_, m)| black_box(&sel.kube).matches(m))
                .count())
        })?;

        let root = cel_root(now);
        let (cel, c_cel) = time_rounds(plan.cel_rounds, || {
            let mut hits = 0usize;
            for t in view.iter() {
                match cel_matches(black_box(&sel.cel), &root, &t) {
                    Some(m) => hits += usize::from(m),
                    None => bail!("the CEL program failed on {}", t.id()),
                }
            }
            Ok(hits)
        })?;

        let agreed = check_agreement(&sel, &index, view, &maps, now)?;
        ensure!(
            [seed.set.len(), c_seed as u64, c_cel as u64] == [agreed.seed as u64; 3]
                && [yaml.set.len(), c_yaml as u64] == [agreed.yaml as u64; 2]
                && [kube_eq.set.len(), c_kube_eq as u64, c_kube as u64] == [agreed.kube as u64; 3],
            "the timed passes counted other numbers of matches than the agreement check"
        );
        println!(
            "agreement: every method returns the same ids (seed sentence {}, YAML selector {}, \
             Kubernetes-expressible selector {} targets)",
            grouped(agreed.seed as u64),
            grouped(agreed.yaml as u64),
            grouped(agreed.kube as u64)
        );
        Figures {
            seed,
            yaml,
            kube_eq,
            scan_seed,
            scan_yaml,
            scan_kube_eq,
            kube,
            cel,
        }
    };
    drop(maps);

    let (update, changes) = measure_updates(&mut inventory, &mut index, &regions, now, plan)?;
    check_index_vs_scan(&sel, &index, inventory.view(), now)?;
    println!(
        "after {} random changes applied through catch_up, index and scan still agree",
        grouped(changes as u64)
    );
    println!();

    report(plan, &figures, build, index_bytes, bitmap_bytes, update)
}

fn report(
    plan: &Plan,
    f: &Figures,
    build: Duration,
    index_bytes: usize,
    bitmap_bytes: usize,
    update: Duration,
) -> anyhow::Result<Outcome> {
    let n = plan.targets;
    let per_target = |d: Duration| ns_each(d, n);
    let materialize = |ix: &Indexed| ns_each(ix.materialize, ix.set.len() as usize);
    let mut table = Table::new(&[
        "measure",
        "seed sentence",
        "YAML selector",
        "kube-expressible",
    ]);
    let row3 = |t: &mut Table, what: &str, g: &dyn Fn(&Indexed) -> String| {
        t.row(&[what.to_owned(), g(&f.seed), g(&f.yaml), g(&f.kube_eq)]);
    };
    row3(&mut table, "matching targets", &|ix| grouped(ix.set.len()));
    row3(&mut table, "indexed query, p50 (µs)", &|ix| {
        format!("{:.1}", us(ix.p50))
    });
    row3(&mut table, "indexed query, p99 (µs)", &|ix| {
        format!("{:.1}", us(ix.p99))
    });
    row3(
        &mut table,
        "  first query, glob unions uncached (µs)",
        &|ix| format!("{:.1}", us(ix.first)),
    );
    row3(&mut table, "materialise ids (ns per match)", &|ix| {
        format!("{:.1}", materialize(ix))
    });
    table
        .row(&[
            "scan, matches over the view (ns per target)".to_owned(),
            format!("{:.1}", per_target(f.scan_seed)),
            format!("{:.1}", per_target(f.scan_yaml)),
            format!("{:.1}", per_target(f.scan_kube_eq)),
        ])
        .row(&[
            "kube-core Selector over label maps (ns per target)".to_owned(),
            String::new(),
            String::new(),
            format!("{:.1}", per_target(f.kube)),
        ])
        .row(&[
            "  kube-core full scan (ms)".to_owned(),
            String::new(),
            String::new(),
            format!("{:.1}", f.kube.as_secs_f64() * 1e3),
        ])
        .row(&[
            "cel-interpreter, context per target (ns per target)".to_owned(),
            format!("{:.1}", per_target(f.cel)),
            String::new(),
            String::new(),
        ]);
    print!("{}", table.render());
    println!(
        "(p50/p99 over {} queries each; full passes are the median of {} rounds, CEL of {})",
        grouped(plan.queries as u64),
        plan.scan_rounds,
        plan.cel_rounds
    );
    println!();

    let index_bytes_per_target = index_bytes as f64 / n.max(1) as f64;
    let build_ms = build.as_secs_f64() * 1e3;
    let update_us = us(update);
    let mut index_table = Table::new(&["index", "value"]);
    index_table
        .row(&["build (ms)".to_owned(), format!("{build_ms:.0}")])
        .row(&[
            "live heap bytes per target (counted around the build)".to_owned(),
            format!("{index_bytes_per_target:.1}"),
        ])
        .row(&[
            "  of which bitmaps, serialized size (bytes per target)".to_owned(),
            format!("{:.1}", bitmap_bytes as f64 / n.max(1) as f64),
        ])
        .row(&[
            format!(
                "incremental update, catch_up after {} puts (µs per change)",
                grouped(plan.mutations as u64)
            ),
            format!("{update_us:.2}"),
        ]);
    print!("{}", index_table.render());
    println!(
        "(update: median of {} rounds; the glob unions cached by the queries above are kept current)",
        plan.update_rounds
    );
    println!();

    let seed_p50 = us(f.seed.p50);
    let yaml_p50 = us(f.yaml.p50);
    let matches = f.seed.set.len() + f.yaml.set.len();
    let materialize_ns = ns_each(f.seed.materialize + f.yaml.materialize, matches as usize);
    let scan_ns = per_target(f.scan_seed);
    let scan_vs_kube = f.kube.as_secs_f64() / f.scan_kube_eq.as_secs_f64();
    let vs_kube = f.kube.as_secs_f64() / f.kube_eq.p50.as_secs_f64();
    let vs_cel = f.cel.as_secs_f64() / f.scan_seed.as_secs_f64();

    let mut goals = Table::new(&["goal (issue 3)", "measured", "verdict"]);
    let goal = |t: &mut Table, what: String, measured: String, ok: bool| {
        let verdict = if ok { "met" } else { "MISSED" };
        t.row(&[what, measured, verdict.to_owned()]);
    };
    goal(
        &mut goals,
        format!("seed sentence, indexed p50 <= {GOAL_SEED_P50_US:.0} µs"),
        format!("{seed_p50:.1} µs"),
        seed_p50 <= GOAL_SEED_P50_US,
    );
    goal(
        &mut goals,
        format!("YAML selector, indexed p50 <= {GOAL_YAML_P50_US:.0} µs"),
        format!("{yaml_p50:.1} µs"),
        yaml_p50 <= GOAL_YAML_P50_US,
    );
    goal(
        &mut goals,
        format!("incremental update <= {GOAL_UPDATE_US:.0} µs per changed target"),
        format!("{update_us:.2} µs"),
        update_us <= GOAL_UPDATE_US,
    );
    goal(
        &mut goals,
        format!("index build <= {:.0} s", GOAL_BUILD_MS / 1e3),
        format!("{:.2} s", build_ms / 1e3),
        build_ms <= GOAL_BUILD_MS,
    );
    if index_bytes == 0 {
        goals.row(&[
            format!("index memory <= {GOAL_INDEX_BYTES:.0} bytes per target"),
            "not counted".to_owned(),
            "n/a (no counting allocator)".to_owned(),
        ]);
    } else {
        goal(
            &mut goals,
            format!("index memory <= {GOAL_INDEX_BYTES:.0} bytes per target"),
            format!("{index_bytes_per_target:.1}"),
            index_bytes_per_target <= GOAL_INDEX_BYTES,
        );
    }
    goal(
        &mut goals,
        format!("scan path <= {GOAL_SCAN_NS:.0} ns per target (seed sentence)"),
        format!("{scan_ns:.1} ns"),
        scan_ns <= GOAL_SCAN_NS,
    );
    goal(
        &mut goals,
        format!("vs_kube_core >= {GOAL_VS_KUBE:.0}x (kube-core full scan / our indexed p50)"),
        ratio(vs_kube),
        vs_kube >= GOAL_VS_KUBE,
    );
    goal(
        &mut goals,
        format!("scan_vs_kube_core >= {GOAL_SCAN_VS_KUBE:.0}x (per target)"),
        ratio(scan_vs_kube),
        scan_vs_kube >= GOAL_SCAN_VS_KUBE,
    );
    goal(
        &mut goals,
        format!("vs_cel >= {GOAL_VS_CEL:.0}x (CEL per target / our scan per target)"),
        ratio(vs_cel),
        vs_cel >= GOAL_VS_CEL,
    );
    print!("{}", goals.render());
    if n != FULL.targets {
        println!(
            "(the goals are set for {} targets; this run has {})",
            grouped(FULL.targets as u64),
            grouped(n as u64)
        );
    }
    println!(
        "materialize_ns_per_match is over the seed sentence's and the YAML selector's ids together"
    );

    Ok(Outcome {
        result: vec![
            ("targets", n.to_string()),
            ("seed_p50_us", format!("{seed_p50:.1}")),
            ("yaml_p50_us", format!("{yaml_p50:.1}")),
            ("materialize_ns_per_match", format!("{materialize_ns:.1}")),
            ("scan_ns_per_target", format!("{scan_ns:.1}")),
            (
                "index_bytes_per_target",
                format!("{index_bytes_per_target:.0}"),
            ),
            ("scan_vs_kube_core", ratio(scan_vs_kube)),
            ("vs_kube_core", ratio(vs_kube)),
            ("vs_cel", ratio(vs_cel)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::NoMeter;

    #[test]
    fn every_method_agrees_on_a_small_fleet() {
        // `run_with` fails unless index, scan (inventory and owned targets), kube-core,
        // fleet's own label selector and CEL agree, before and after mutations.
        let outcome = run_with(&Plan::tiny(2_000, SEED), &NoMeter).unwrap();
        let keys: Vec<&str> = outcome.result.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "targets",
                "seed_p50_us",
                "yaml_p50_us",
                "materialize_ns_per_match",
                "scan_ns_per_target",
                "index_bytes_per_target",
                "scan_vs_kube_core",
                "vs_kube_core",
                "vs_cel"
            ]
        );
        assert_eq!(outcome.result[0].1, "2000");
    }

    #[test]
    fn agreement_holds_for_other_seeds() {
        for seed in [2, 3, 4] {
            run_with(&Plan::tiny(1_000, seed), &NoMeter).unwrap();
        }
    }

    #[test]
    fn agreement_is_not_vacuous() {
        let mut inventory = generate(&FleetSpec::new(2_000).seed(SEED).edges_per_target(0))
            .into_inventory(Default::default())
            .unwrap();
        let regions = regions_present(inventory.view());
        let sel = Selectors::new(&regions).unwrap();
        let index = SelectorIndex::build(inventory.view());
        let view = inventory.snapshot();
        let maps: Vec<_> = view.iter().map(|t| (t.slot(), label_map(&t))).collect();
        let agreed = check_agreement(&sel, &index, &view, &maps, now()).unwrap();
        assert!(agreed.seed > 0 && agreed.yaml > agreed.seed && agreed.kube > agreed.seed);
        assert!(agreed.kube < 2_000);
        // Every EU naming of the generator is present and expanded.
        for r in [
            "eu-west-1",
            "europe-west4",
            "westeurope",
            "germanywestcentral",
            "edge-eu-west",
        ] {
            assert!(
                sel.kube_string.contains(r),
                "{r} missing from {}",
                sel.kube_string
            );
        }
        assert!(!sel.kube_string.contains("dc-fra-1"));
        // A disagreement is reported, with the ids that differ.
        let a: Ids<'_> = ["x", "y"].into_iter().collect();
        let b: Ids<'_> = ["x"].into_iter().collect();
        let err = agree("t", &[("a", &a), ("b", &b)]).unwrap_err().to_string();
        assert!(err.contains("only a: [\"y\"]"), "{err}");
    }

    #[test]
    fn cel_program_follows_the_globs() {
        let text = cel_seed_program_text().unwrap();
        assert!(text.contains("region.startsWith('eu-')"));
        assert!(text.contains("region.endsWith('europe')"));
        assert!(Program::compile(&text).is_ok());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let xs: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&xs, 50), Duration::from_micros(50));
        assert_eq!(percentile(&xs, 99), Duration::from_micros(99));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
