//! Area `drift`: fleet-drift's `Differ` against `json-patch`'s `diff`, on the same pairs of
//! real Kubernetes Deployments (desired, observed).
//!
//! Order of work, so that each figure counts only what it claims:
//!
//! 1. Parse the four real Deployments (`testdata/drift/`, live API-server objects) into
//!    `serde_json::Value`s. Each live object is an *observed* document; its *desired* twin
//!    is the same object without what the server adds (status, managedFields,
//!    resourceVersion, uid, generation, creationTimestamp, the revision annotation) and
//!    without the fields the server defaults, where they hold the default. From a fixed seed,
//!    build three kinds of pairs: unchanged (desired, live), changed (desired, live with one
//!    to three real edits: image, replicas, an env value, a label) and reordered (desired,
//!    desired with its keyed lists shuffled: containers, env, ports, volumes). All untimed.
//! 2. Guards, before any figure: every unchanged and reordered pair must be equivalent for
//!    us (and give an empty diff), and on every changed pair our diff must report every edit
//!    made. The area fails otherwise.
//! 3. Per pair kind: warm up, then time each call alone with `Instant` around it (our
//!    `Differ::equivalent`, our `Differ::diff`, `json_patch::diff`, each including the drop
//!    of its result), on already-parsed values, cycling through the pairs.
//! 4. False changes: on the reordered pairs (only the order differs), our diff's changes and
//!    json-patch's operations are counted; every one of them is false.
//! 5. Full pass: 10,000 targets x 100 objects (1,000,000; 100,000 with `--quick`, scaled),
//!    each observed object cloned from a pool of 100 templates as it streams by and dropped
//!    after its check, 1% with a drifted image. Each object gets `equivalent`, and `diff`
//!    when that says no. Only those calls are timed; peak heap is sampled after each object.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use fleet_core::synth::Rng;
use fleet_drift::Differ;
use serde_json::{Map, Value, json};

use crate::compare::{Meter, Options, Outcome};
use crate::{SEED, Table, grouped, ratio};

/// The real Deployments (byte-for-byte copies; see `testdata/drift/SOURCES.md`).
const DEPLOYMENTS: [(&str, &str); 4] = [
    (
        "deployment.argocd-apply.kcm-status",
        include_str!("../testdata/drift/deployment.argocd-apply.kcm-status.yaml"),
    ),
    (
        "deployment.argocd-update.kubectl-csa.kcm-status",
        include_str!("../testdata/drift/deployment.argocd-update.kubectl-csa.kcm-status.yaml"),
    ),
    (
        "deployment.janitor-apply.argocd-update.kcm",
        include_str!("../testdata/drift/deployment.janitor-apply.argocd-update.kcm.yaml"),
    ),
    (
        "deployment.kcm-owns-spec-replicas",
        include_str!("../testdata/drift/deployment.kcm-owns-spec-replicas.yaml"),
    ),
];

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// The seed for edits, shuffles and the stream's drift.
    pub(crate) seed: u64,
    /// Changed pairs per document.
    changed_per_doc: usize,
    /// Reordered pairs per document.
    reordered_per_doc: usize,
    /// Timed calls per measure (cycling through the pairs).
    calls: usize,
    /// Untimed calls before them.
    warmup: usize,
    /// Targets in the full pass.
    pub(crate) targets: usize,
    /// Objects per target in the full pass.
    objects_per_target: usize,
}

const FULL: Plan = Plan {
    seed: SEED,
    changed_per_doc: 16,
    reordered_per_doc: 4,
    calls: 100_000,
    warmup: 5_000,
    targets: 10_000,
    objects_per_target: 100,
};

const QUICK: Plan = Plan {
    calls: 20_000,
    warmup: 2_000,
    targets: 1_000,
    ..FULL
};

impl Plan {
    /// A plan that runs every guard and timer with little repetition.
    #[cfg(test)]
    pub(crate) fn tiny(seed: u64) -> Self {
        Self {
            seed,
            changed_per_doc: 8,
            reordered_per_doc: 3,
            calls: 200,
            warmup: 20,
            targets: 20,
            objects_per_target: 100,
        }
    }
}

/// The full-pass goal is set for this many objects; smaller runs scale their time to it.
const PASS_OBJECTS: usize = 1_000_000;

/// Goals from the issue (fleet-drift, Performance).
const GOAL_UNCHANGED_US: f64 = 3.0;
const GOAL_CHANGED_US: f64 = 10.0;
const GOAL_PASS_MS: f64 = 3_000.0;
const GOAL_VS_JSON_PATCH: f64 = 1.0;

pub(crate) fn run(options: &Options, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    run_with(&if options.quick { QUICK } else { FULL }, meter)
}

// ---------------------------------------------------------------------------------------
// Documents and pairs
// ---------------------------------------------------------------------------------------

/// A desired document and the observed one it is compared with.
#[derive(Debug, Clone)]
pub struct DriftPair {
    /// Which real Deployment it comes from.
    pub name: &'static str,
    /// What should run (no server fields, server defaults left out).
    pub desired: Value,
    /// What runs.
    pub observed: Value,
    /// JSON Pointers (into `observed`) of the edits made; empty when nothing changed.
    pub edits: Vec<String>,
}

/// One real Deployment: the live object and its desired twin.
#[derive(Debug, Clone)]
struct Doc {
    name: &'static str,
    live: Value,
    desired: Value,
}

fn docs() -> anyhow::Result<Vec<Doc>> {
    DEPLOYMENTS
        .iter()
        .map(|(name, text)| {
            let live: Value =
                serde_yaml_ng::from_str(text).with_context(|| format!("parsing `{name}`"))?;
            ensure!(
                live.get("kind").and_then(Value::as_str) == Some("Deployment"),
                "`{name}` is not a Deployment"
            );
            let desired = desired_of(&live);
            Ok(Doc {
                name,
                live,
                desired,
            })
        })
        .collect()
}

/// Removes `key` from `obj` when it holds `default`.
fn drop_default(obj: &mut Map<String, Value>, key: &str, default: &Value) {
    if obj.get(key) == Some(default) {
        obj.remove(key);
    }
}

/// The manifest a user would have written for a live object: no server-populated fields,
/// no fields the server defaulted (where they hold the default).
fn desired_of(live: &Value) -> Value {
    let mut d = live.clone();
    if let Some(obj) = d.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "uid",
                "generation",
                "creationTimestamp",
                "selfLink",
            ] {
                meta.remove(k);
            }
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                ann.remove("deployment.kubernetes.io/revision");
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
                // An emptied map is kept: fleet-drift reports a live `annotations` map that
                // holds only ignored keys as `added metadata.annotations: {}` against a
                // manifest without one (see BENCHMARKS.md, drift).
            }
        }
    }
    if let Some(spec) = d.get_mut("spec").and_then(Value::as_object_mut) {
        drop_default(spec, "progressDeadlineSeconds", &json!(600));
        drop_default(spec, "revisionHistoryLimit", &json!(10));
        drop_default(
            spec,
            "strategy",
            &json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        );
    }
    if let Some(pod) = d
        .pointer_mut("/spec/template/spec")
        .and_then(Value::as_object_mut)
    {
        drop_default(pod, "dnsPolicy", &json!("ClusterFirst"));
        drop_default(pod, "restartPolicy", &json!("Always"));
        drop_default(pod, "schedulerName", &json!("default-scheduler"));
        drop_default(pod, "securityContext", &json!({}));
        drop_default(pod, "terminationGracePeriodSeconds", &json!(30));
        if let Some(containers) = pod.get_mut("containers").and_then(Value::as_array_mut) {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                drop_default(c, "terminationMessagePath", &json!("/dev/termination-log"));
                drop_default(c, "terminationMessagePolicy", &json!("File"));
                drop_default(c, "resources", &json!({}));
                if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        drop_default(p, "protocol", &json!("TCP"));
                    }
                }
            }
        }
    }
    d
}

/// A JSON Pointer token (RFC 6901 escaping).
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The kinds of real edit a changed pair gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Image,
    Replicas,
    Env,
    Label,
}

/// Applies one edit to `doc` (a live object) and returns the pointer of what it changed,
/// or `None` when the document has nothing to edit of that kind.
fn apply_edit(doc: &mut Value, edit: Edit, rng: &mut Rng, n: usize) -> Option<String> {
    match edit {
        Edit::Image => {
            let containers = doc
                .pointer_mut("/spec/template/spec/containers")?
                .as_array_mut()?;
            let i = rng.below(containers.len());
            let c = containers.get_mut(i)?.as_object_mut()?;
            c.insert(
                "image".into(),
                Value::String(format!("registry.example.com/drifted:{n}")),
            );
            Some(format!("/spec/template/spec/containers/{i}/image"))
        }
        Edit::Replicas => {
            let spec = doc.get_mut("spec")?.as_object_mut()?;
            let old = spec.get("replicas").and_then(Value::as_u64).unwrap_or(1);
            spec.insert("replicas".into(), json!(old + 1 + (n as u64 % 3)));
            Some("/spec/replicas".to_owned())
        }
        Edit::Env => {
            let containers = doc
                .pointer_mut("/spec/template/spec/containers")?
                .as_array_mut()?;
            // (container, env entry) pairs whose entry has a literal value.
            let mut candidates = Vec::new();
            for (i, c) in containers.iter().enumerate() {
                if let Some(env) = c.get("env").and_then(Value::as_array) {
                    for (j, e) in env.iter().enumerate() {
                        if e.get("value").is_some_and(Value::is_string) {
                            candidates.push((i, j));
                        }
                    }
                }
            }
            let &(i, j) = candidates.get(rng.below(candidates.len()))?;
            let e = containers
                .get_mut(i)?
                .get_mut("env")?
                .as_array_mut()?
                .get_mut(j)?
                .as_object_mut()?;
            let old = e.get("value").and_then(Value::as_str).unwrap_or_default();
            let new = format!("{old}-edited-{n}");
            e.insert("value".into(), Value::String(new));
            Some(format!("/spec/template/spec/containers/{i}/env/{j}/value"))
        }
        Edit::Label => {
            let meta = doc.get_mut("metadata")?.as_object_mut()?;
            let labels = meta
                .entry("labels")
                .or_insert_with(|| json!({}))
                .as_object_mut()?;
            let key = if labels.is_empty() || rng.below(2) == 0 {
                "drift.example.com/edited".to_owned()
            } else {
                let k = rng.below(labels.len());
                labels.keys().nth(k)?.clone()
            };
            labels.insert(key.clone(), Value::String(format!("edited-{n}")));
            Some(format!("/metadata/labels/{}", token(&key)))
        }
    }
}

/// Shuffles `items` in place; a list of two or more always ends in a new order. Returns
/// whether the order changed.
fn shuffle(items: &mut [Value], rng: &mut Rng) -> bool {
    if items.len() < 2 {
        return false;
    }
    let before = items.to_vec();
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
    if items == before.as_slice() {
        items.rotate_left(1);
    }
    true
}

/// Shuffles the keyed lists of a Deployment (containers, each container's env and ports,
/// volumes). Returns how many lists changed order.
fn reorder(doc: &mut Value, rng: &mut Rng) -> usize {
    let mut lists = 0;
    let Some(pod) = doc.pointer_mut("/spec/template/spec") else {
        return 0;
    };
    if let Some(containers) = pod.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers.iter_mut() {
            for list in ["env", "ports"] {
                if let Some(items) = c.get_mut(list).and_then(Value::as_array_mut) {
                    lists += usize::from(shuffle(items, rng));
                }
            }
        }
        lists += usize::from(shuffle(containers, rng));
    }
    if let Some(volumes) = pod.get_mut("volumes").and_then(Value::as_array_mut) {
        lists += usize::from(shuffle(volumes, rng));
    }
    lists
}

/// The pairs every measure cycles through.
struct Pairs {
    unchanged: Vec<DriftPair>,
    changed: Vec<DriftPair>,
    reordered: Vec<DriftPair>,
    /// Lists whose order the reordered pairs changed.
    lists_reordered: usize,
}

fn pairs(docs: &[Doc], plan: &Plan) -> Pairs {
    let mut rng = Rng::new(plan.seed ^ 0xd71f_7000);
    let unchanged = docs
        .iter()
        .map(|d| DriftPair {
            name: d.name,
            desired: d.desired.clone(),
            observed: d.live.clone(),
            edits: Vec::new(),
        })
        .collect();
    let mut changed = Vec::new();
    let mut n = 0;
    for d in docs {
        for _ in 0..plan.changed_per_doc {
            let mut kinds = [Edit::Image, Edit::Replicas, Edit::Env, Edit::Label];
            for i in (1..kinds.len()).rev() {
                kinds.swap(i, rng.below(i + 1));
            }
            let want = 1 + rng.below(3);
            let mut observed = d.live.clone();
            let mut edits = Vec::new();
            for kind in kinds {
                if edits.len() == want {
                    break;
                }
                n += 1;
                if let Some(p) = apply_edit(&mut observed, kind, &mut rng, n) {
                    edits.push(p);
                }
            }
            changed.push(DriftPair {
                name: d.name,
                desired: d.desired.clone(),
                observed,
                edits,
            });
        }
    }
    let mut reordered = Vec::new();
    let mut lists_reordered = 0;
    for d in docs {
        for _ in 0..plan.reordered_per_doc {
            let mut observed = d.desired.clone();
            lists_reordered += reorder(&mut observed, &mut rng);
            reordered.push(DriftPair {
                name: d.name,
                desired: d.desired.clone(),
                observed,
                edits: Vec::new(),
            });
        }
    }
    Pairs {
        unchanged,
        changed,
        reordered,
        lists_reordered,
    }
}

/// The criterion bench's pairs: the largest real Deployment unchanged (desired vs the live
/// object) and changed (its image and replicas edited).
///
/// # Errors
///
/// When a test document does not parse.
pub fn drift_bench_pairs() -> anyhow::Result<(DriftPair, DriftPair)> {
    let docs = docs()?;
    let doc = docs
        .iter()
        .max_by_key(|d| d.live.to_string().len())
        .context("no documents")?;
    let mut rng = Rng::new(SEED);
    let mut observed = doc.live.clone();
    let mut edits = Vec::new();
    for kind in [Edit::Image, Edit::Replicas] {
        edits.extend(apply_edit(&mut observed, kind, &mut rng, 1));
    }
    Ok((
        DriftPair {
            name: doc.name,
            desired: doc.desired.clone(),
            observed: doc.live.clone(),
            edits: Vec::new(),
        },
        DriftPair {
            name: doc.name,
            desired: doc.desired.clone(),
            observed,
            edits,
        },
    ))
}

// ---------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------

/// Fails unless our differ finds nothing on every pair of `pairs`.
fn guard_no_change(differ: &Differ, what: &str, pairs: &[DriftPair]) -> anyhow::Result<()> {
    for (i, p) in pairs.iter().enumerate() {
        let diff = differ.diff(&p.desired, &p.observed)?;
        if !diff.is_empty() {
            let shown: Vec<String> = diff.changes().iter().map(ToString::to_string).collect();
            bail!(
                "{what} pair {i} ({}): our diff reports {} false change(s): {}",
                p.name,
                diff.len(),
                shown.join("; ")
            );
        }
        ensure!(
            differ.equivalent(&p.desired, &p.observed)?,
            "{what} pair {i} ({}): `equivalent` says no but the diff is empty",
            p.name
        );
    }
    Ok(())
}

/// Fails unless, on every changed pair, our diff reports each edit: a change at the edit's
/// pointer or at one of its parents. Returns the number of changes reported.
fn guard_edits_found(differ: &Differ, pairs: &[DriftPair]) -> anyhow::Result<usize> {
    let mut total = 0;
    for (i, p) in pairs.iter().enumerate() {
        let diff = differ.diff(&p.desired, &p.observed)?;
        ensure!(
            !differ.equivalent(&p.desired, &p.observed)?,
            "changed pair {i} ({}): `equivalent` says yes",
            p.name
        );
        let pointers: Vec<String> = diff
            .changes()
            .iter()
            .filter_map(|c| {
                differ
                    .json_pointer_in(&c.path, &p.observed)
                    .or_else(|| differ.json_pointer_in(&c.path, &p.desired))
            })
            .collect();
        for e in &p.edits {
            let found = pointers
                .iter()
                .any(|ptr| e == ptr || e.starts_with(&format!("{ptr}/")));
            ensure!(
                found,
                "changed pair {i} ({}): the edit at `{e}` is missing from our diff (changes at {})",
                p.name,
                pointers.join(", ")
            );
        }
        total += diff.len();
    }
    Ok(total)
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

/// A latency distribution.
#[derive(Debug, Clone, Copy)]
struct Timed {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

/// Times `calls` calls of `f`, one `Instant` pair each, cycling through `n` pairs after
/// `warmup` untimed calls. `f` returns a count that is kept from the optimiser.
fn time_calls(
    n: usize,
    plan: &Plan,
    mut f: impl FnMut(usize) -> anyhow::Result<usize>,
) -> anyhow::Result<Timed> {
    ensure!(n > 0, "no pairs to time");
    for i in 0..plan.warmup {
        black_box(f(i % n)?);
    }
    let mut times = Vec::with_capacity(plan.calls);
    for i in 0..plan.calls {
        let start = Instant::now();
        let r = f(i % n);
        times.push(start.elapsed());
        black_box(r?);
    }
    let total: Duration = times.iter().sum();
    let mean = total / u32::try_from(times.len().max(1)).unwrap_or(u32::MAX);
    times.sort_unstable();
    Ok(Timed {
        p50: percentile(&times, 50),
        p99: percentile(&times, 99),
        mean,
    })
}

fn ours_equivalent(differ: &Differ, pairs: &[DriftPair], plan: &Plan) -> anyhow::Result<Timed> {
    time_calls(pairs.len(), plan, |i| {
        let p = pairs.get(i).context("pair")?;
        Ok(usize::from(differ.equivalent(
            black_box(&p.desired),
            black_box(&p.observed),
        )?))
    })
}

fn ours_diff(differ: &Differ, pairs: &[DriftPair], plan: &Plan) -> anyhow::Result<Timed> {
    time_calls(pairs.len(), plan, |i| {
        let p = pairs.get(i).context("pair")?;
        Ok(differ
            .diff(black_box(&p.desired), black_box(&p.observed))?
            .len())
    })
}

fn peer_diff(pairs: &[DriftPair], plan: &Plan) -> anyhow::Result<Timed> {
    time_calls(pairs.len(), plan, |i| {
        let p = pairs.get(i).context("pair")?;
        Ok(
            json_patch::diff(black_box(&p.desired), black_box(&p.observed))
                .0
                .len(),
        )
    })
}

/// `serde_json::Value` equality of the live object with a copy of itself: the floor for a
/// check that walks the whole document.
fn value_eq(docs: &[Doc], plan: &Plan) -> anyhow::Result<Timed> {
    let copies: Vec<(Value, Value)> = docs
        .iter()
        .map(|d| (d.live.clone(), d.live.clone()))
        .collect();
    time_calls(copies.len(), plan, |i| {
        let (a, b) = copies.get(i).context("pair")?;
        Ok(usize::from(black_box(a) == black_box(b)))
    })
}

/// What the full pass measured.
struct Pass {
    objects: usize,
    drifted: usize,
    detected: usize,
    changes: usize,
    /// Time in `equivalent` and `diff` calls.
    checks: Duration,
    /// Wall time of the whole pass, generating each object included.
    wall: Duration,
    /// Live heap bytes held by the template pool.
    pool_bytes: usize,
    /// Most live heap bytes above the pass's start, sampled after each object.
    peak_bytes: usize,
}

/// Streams `targets x objects_per_target` observed objects, each cloned from a template as
/// it arrives (its resourceVersion set, 1% with a drifted image) and dropped after its
/// check.
fn full_pass(
    differ: &Differ,
    docs: &[Doc],
    plan: &Plan,
    meter: &dyn Meter,
) -> anyhow::Result<Pass> {
    let before_pool = meter.live_bytes();
    // One template per object slot of a target: the four Deployments, renamed and scaled.
    let mut pool = Vec::with_capacity(plan.objects_per_target);
    for k in 0..plan.objects_per_target {
        let d = docs.get(k % docs.len()).context("no documents")?;
        let mut live = d.live.clone();
        if let Some(meta) = live.get_mut("metadata").and_then(Value::as_object_mut) {
            let name = meta.get("name").and_then(Value::as_str).unwrap_or("obj");
            let name = format!("{name}-{k}");
            meta.insert("name".into(), Value::String(name));
        }
        if let Some(spec) = live.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("replicas".into(), json!(1 + k % 7));
        }
        let desired = desired_of(&live);
        ensure!(
            differ.equivalent(&desired, &live)?,
            "template {k} ({}) is not equivalent to its desired twin",
            d.name
        );
        pool.push((desired, live));
    }
    let pool_bytes = meter.live_bytes().saturating_sub(before_pool);

    let mut rng = Rng::new(plan.seed ^ 0xf011_9a55);
    let base = meter.live_bytes();
    let mut peak = 0usize;
    let mut pass = Pass {
        objects: 0,
        drifted: 0,
        detected: 0,
        changes: 0,
        checks: Duration::ZERO,
        wall: Duration::ZERO,
        pool_bytes,
        peak_bytes: 0,
    };
    let wall = Instant::now();
    for t in 0..plan.targets {
        for (o, (desired, template)) in pool.iter().enumerate() {
            let mut observed = template.clone();
            if let Some(meta) = observed.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert(
                    "resourceVersion".into(),
                    Value::String((t * plan.objects_per_target + o).to_string()),
                );
            }
            if rng.below(100) == 0 {
                pass.drifted += 1;
                apply_edit(&mut observed, Edit::Image, &mut rng, t);
            }
            peak = peak.max(meter.live_bytes().saturating_sub(base));
            let start = Instant::now();
            if !differ.equivalent(desired, &observed)? {
                let diff = differ.diff(desired, &observed)?;
                pass.detected += 1;
                pass.changes += diff.len();
                peak = peak.max(meter.live_bytes().saturating_sub(base));
            }
            pass.checks += start.elapsed();
            pass.objects += 1;
        }
    }
    pass.wall = wall.elapsed();
    pass.peak_bytes = peak;
    ensure!(
        pass.detected == pass.drifted,
        "full pass: {} objects drifted, {} detected",
        pass.drifted,
        pass.detected
    );
    Ok(pass)
}

// ---------------------------------------------------------------------------------------
// The area
// ---------------------------------------------------------------------------------------

/// Every figure the report prints.
struct Measured {
    eq_unchanged: Timed,
    diff_unchanged: Timed,
    peer_unchanged: Timed,
    diff_changed: Timed,
    eq_changed: Timed,
    peer_changed: Timed,
    eq_reordered: Timed,
    peer_reordered: Timed,
    value_eq: Timed,
}

pub(crate) fn run_with(plan: &Plan, meter: &dyn Meter) -> anyhow::Result<Outcome> {
    println!("area drift: fleet-drift Differ (equivalent, diff) vs json-patch diff");
    let docs = docs()?;
    let pairs = pairs(&docs, plan);
    let differ = Differ::kubernetes();

    let sizes: Vec<String> = docs
        .iter()
        .map(|d| format!("{} B", grouped(d.live.to_string().len() as u64)))
        .collect();
    println!(
        "data: {} real Deployments (benches/testdata/drift, live objects; compact JSON {}),",
        docs.len(),
        sizes.join(", ")
    );
    println!(
        "  {} unchanged pairs (desired vs live: status, managedFields, resourceVersion, defaults),",
        pairs.unchanged.len()
    );
    println!(
        "  {} changed pairs (1-3 edits: image, replicas, env value, label; {} edits; seed {}),",
        pairs.changed.len(),
        pairs.changed.iter().map(|p| p.edits.len()).sum::<usize>(),
        plan.seed
    );
    println!(
        "  {} reordered pairs (desired vs desired with containers, env, ports, volumes shuffled; {} lists moved)",
        pairs.reordered.len(),
        pairs.lists_reordered
    );
    println!();

    guard_no_change(&differ, "unchanged", &pairs.unchanged)?;
    guard_no_change(&differ, "reordered", &pairs.reordered)?;
    let our_changes = guard_edits_found(&differ, &pairs.changed)?;
    let edits: usize = pairs.changed.iter().map(|p| p.edits.len()).sum();
    let peer_ops = |ps: &[DriftPair]| -> usize {
        ps.iter()
            .map(|p| json_patch::diff(&p.desired, &p.observed).0.len())
            .sum()
    };
    let peer_false = peer_ops(&pairs.reordered);
    // One reordered pair per document, as the issue counted them.
    let first_per_doc: Vec<DriftPair> = pairs
        .reordered
        .iter()
        .step_by(plan.reordered_per_doc.max(1))
        .cloned()
        .collect();
    let peer_false_per_doc = peer_ops(&first_per_doc);
    let our_false: usize = pairs
        .reordered
        .iter()
        .map(|p| differ.diff(&p.desired, &p.observed).map(|d| d.len()))
        .sum::<Result<usize, _>>()?;
    ensure!(our_false == 0, "our diff reports {our_false} false changes");
    println!(
        "guards: unchanged and reordered pairs are equivalent with empty diffs; every one of the {edits} edits"
    );
    println!(
        "  is in our diff ({our_changes} changes reported on the changed pairs; json-patch: {} operations)",
        peer_ops(&pairs.changed)
    );
    println!();

    let m = Measured {
        eq_unchanged: ours_equivalent(&differ, &pairs.unchanged, plan)?,
        diff_unchanged: ours_diff(&differ, &pairs.unchanged, plan)?,
        peer_unchanged: peer_diff(&pairs.unchanged, plan)?,
        diff_changed: ours_diff(&differ, &pairs.changed, plan)?,
        eq_changed: ours_equivalent(&differ, &pairs.changed, plan)?,
        peer_changed: peer_diff(&pairs.changed, plan)?,
        eq_reordered: ours_equivalent(&differ, &pairs.reordered, plan)?,
        peer_reordered: peer_diff(&pairs.reordered, plan)?,
        value_eq: value_eq(&docs, plan)?,
    };
    let pass = full_pass(&differ, &docs, plan, meter)?;
    report(
        plan,
        &docs,
        &m,
        &pass,
        [peer_false, peer_false_per_doc, peer_ops(&pairs.unchanged)],
    )
}

fn report(
    plan: &Plan,
    docs: &[Doc],
    m: &Measured,
    pass: &Pass,
    peer_counts: [usize; 3],
) -> anyhow::Result<Outcome> {
    let [peer_false, peer_false_per_doc, peer_unchanged_ops] = peer_counts;
    let mut table = Table::new(&["per pair (µs)", "p50", "p99", "mean"]);
    for (what, x) in [
        (
            "ours, unchanged check (equivalent), unchanged pairs",
            &m.eq_unchanged,
        ),
        ("ours, diff, unchanged pairs", &m.diff_unchanged),
        ("json-patch diff, unchanged pairs", &m.peer_unchanged),
        ("ours, diff, changed pairs", &m.diff_changed),
        ("ours, equivalent, changed pairs", &m.eq_changed),
        ("json-patch diff, changed pairs", &m.peer_changed),
        ("ours, equivalent, reordered pairs", &m.eq_reordered),
        ("json-patch diff, reordered pairs", &m.peer_reordered),
        (
            "serde_json == on two copies of the live object",
            &m.value_eq,
        ),
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
        "({} timed calls each after {} untimed, cycling through the pairs; Instant::now around each\n  call; both sides start from parsed serde_json::Values; each call includes dropping its result)",
        grouped(plan.calls as u64),
        grouped(plan.warmup as u64)
    );
    println!();

    let mut false_table = Table::new(&["false changes on reordered pairs", "ours", "json-patch"]);
    false_table
        .row(&[
            format!(
                "all {} reordered pairs",
                plan.reordered_per_doc * docs.len()
            ),
            "0".to_owned(),
            peer_false.to_string(),
        ])
        .row(&[
            format!(
                "first reordered pair of each of the {} documents",
                docs.len()
            ),
            "0".to_owned(),
            peer_false_per_doc.to_string(),
        ]);
    print!("{}", false_table.render());
    println!(
        "(json-patch also reports {peer_unchanged_ops} operations on the {} unchanged pairs: server fields and defaults)",
        docs.len()
    );
    println!();

    let n = pass.objects;
    let scale = PASS_OBJECTS as f64 / n.max(1) as f64;
    let pass_ms = pass.checks.as_secs_f64() * 1e3 * scale;
    let wall_ms = pass.wall.as_secs_f64() * 1e3 * scale;
    let label = if n == PASS_OBJECTS {
        String::new()
    } else {
        format!(", scaled x{scale:.1} from {} objects", grouped(n as u64))
    };
    let mut pass_table = Table::new(&["full pass, one core (1,000,000 objects)", "value"]);
    pass_table
        .row(&[
            format!("time in equivalent + diff (ms){label}"),
            format!("{pass_ms:.0}"),
        ])
        .row(&[
            format!("wall time incl. cloning each object from its template (ms){label}"),
            format!("{wall_ms:.0}"),
        ])
        .row(&[
            "objects (targets x objects per target)".to_owned(),
            format!(
                "{} ({} x {})",
                grouped(n as u64),
                grouped(plan.targets as u64),
                plan.objects_per_target
            ),
        ])
        .row(&[
            "drifted / detected / changes reported".to_owned(),
            format!(
                "{} / {} / {}",
                grouped(pass.drifted as u64),
                grouped(pass.detected as u64),
                grouped(pass.changes as u64)
            ),
        ])
        .row(&[
            "template pool, live heap (KiB)".to_owned(),
            format!("{:.0}", pass.pool_bytes as f64 / 1024.0),
        ])
        .row(&[
            "peak live heap above the pass's start (KiB)".to_owned(),
            format!("{:.1}", pass.peak_bytes as f64 / 1024.0),
        ]);
    print!("{}", pass_table.render());
    println!(
        "(each observed object is cloned from one of {} templates, given its own resourceVersion,\n  checked with `equivalent` and, when drifted, diffed, then dropped; heap sampled after each object)",
        plan.objects_per_target
    );
    println!();

    let unchanged = us(m.eq_unchanged.p50);
    let changed = us(m.diff_changed.p50);
    let vs_peer = m.peer_changed.p50.as_secs_f64() / m.diff_changed.p50.as_secs_f64();
    let mut goals = Table::new(&["goal (fleet-drift, Performance)", "measured", "verdict"]);
    let goal = |t: &mut Table, what: String, measured: String, ok: bool| {
        t.row(&[
            what,
            measured,
            (if ok { "met" } else { "MISSED" }).to_owned(),
        ]);
    };
    goal(
        &mut goals,
        format!("unchanged check (equivalent), p50 <= {GOAL_UNCHANGED_US:.0} µs"),
        format!("{unchanged:.2} µs"),
        unchanged <= GOAL_UNCHANGED_US,
    );
    goal(
        &mut goals,
        format!("changed diff, p50 <= {GOAL_CHANGED_US:.0} µs"),
        format!("{changed:.2} µs"),
        changed <= GOAL_CHANGED_US,
    );
    goal(
        &mut goals,
        format!("full pass, 1,000,000 objects, <= {GOAL_PASS_MS:.0} ms{label}"),
        format!("{pass_ms:.0} ms"),
        pass_ms <= GOAL_PASS_MS,
    );
    goal(
        &mut goals,
        format!(
            "vs_json_patch >= {GOAL_VS_JSON_PATCH:.0}x (json-patch p50 / our diff p50, changed pairs)"
        ),
        ratio(vs_peer),
        vs_peer >= GOAL_VS_JSON_PATCH,
    );
    goal(
        &mut goals,
        "false changes on reordered pairs = 0 (ours)".to_owned(),
        "0".to_owned(),
        true,
    );
    print!("{}", goals.render());

    Ok(Outcome {
        result: vec![
            ("docs", docs.len().to_string()),
            ("unchanged_us", format!("{unchanged:.2}")),
            ("changed_diff_us", format!("{changed:.2}")),
            ("full_pass_ms", format!("{pass_ms:.0}")),
            ("vs_json_patch", ratio(vs_peer)),
            ("false_changes_ours", "0".to_owned()),
            ("false_changes_json_patch", peer_false_per_doc.to_string()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::NoMeter;

    #[test]
    fn runs_on_tiny_data() {
        // `run_with` fails unless every guard holds: no false change of ours, every edit
        // found, every drifted object of the pass detected.
        let outcome = run_with(&Plan::tiny(SEED), &NoMeter).unwrap();
        let keys: Vec<&str> = outcome.result.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "docs",
                "unchanged_us",
                "changed_diff_us",
                "full_pass_ms",
                "vs_json_patch",
                "false_changes_ours",
                "false_changes_json_patch"
            ]
        );
        assert_eq!(outcome.result[0].1, "4");
        assert_eq!(outcome.result[5].1, "0");
        let peer_false: usize = outcome.result[6].1.parse().unwrap();
        assert!(peer_false > 0, "json-patch saw no reordering");
    }

    #[test]
    fn guards_hold_for_other_seeds() {
        for seed in [2, 3] {
            run_with(&Plan::tiny(seed), &NoMeter).unwrap();
        }
    }

    #[test]
    fn desired_twins_are_equivalent_and_smaller() {
        let differ = Differ::kubernetes();
        for d in docs().unwrap() {
            assert!(
                differ.equivalent(&d.desired, &d.live).unwrap(),
                "{}",
                d.name
            );
            assert!(d.desired.get("status").is_none());
            assert!(d.desired.pointer("/metadata/managedFields").is_none());
            assert!(
                d.desired.to_string().len() < d.live.to_string().len() / 2,
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn a_missed_edit_fails_the_guard() {
        let differ = Differ::kubernetes();
        let d = docs().unwrap().remove(0);
        let pair = DriftPair {
            name: d.name,
            desired: d.desired.clone(),
            observed: d.live.clone(),
            edits: vec!["/spec/replicas".to_owned()],
        };
        let err = guard_edits_found(&differ, &[pair]).unwrap_err().to_string();
        assert!(err.contains("`equivalent` says yes"), "{err}");
    }
}
