//! The demo's rollout step: plan a release over the production part of the fleet with the
//! `conservative` strategy and the demo's policy as gates, then run the plan with the
//! executor against a simulated substrate in which two targets of one wave fail, so the run
//! halts and rolls that wave back.
//!
//! Time is tokio's paused clock: bakes of half an hour and waits for a change window take
//! no wall-clock time, and the output is the same on every run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use fleet_core::{
    Apply, ApplyAction, ApplyOutcome, ApplyRequest, ApplyStatus, BoxFuture, Clock, Duration,
    IdempotencyKey, Inventory, Release, SubstrateError, Target, TargetId, Version,
};
use fleet_policy::BulkRequest;
use fleet_rollout::executor::{
    Budget, Driver, HealthCheck, HealthError, HealthStatus, MemoryCheckpointStore, PolicyGate,
    Progress, RunEnd, RunEvent, RunEventKind, RunId, RunSpec, TokioClock,
};
use fleet_rollout::plan::{Gates, PlanSummary, Planner, Reason, Strategy, WaveSettings};
use fleet_selectors::SelectorIndex;

use crate::release::DemoRelease;

/// What the rollout step did.
#[derive(Debug)]
pub struct RolloutOutcome {
    /// The plan, in counts.
    pub plan: PlanSummary,
    /// How the run ended.
    pub end: RunEnd,
    /// Where every target of the run stands at the end.
    pub progress: Progress,
    /// The targets the simulated substrate failed.
    pub failed: Vec<TargetId>,
    /// The wave whose failures halt the run.
    pub halting_wave: usize,
    /// How many waves started.
    pub waves_started: usize,
}

/// A simulated substrate: every deploy succeeds at once except on the `failing` targets;
/// every rollback succeeds. It remembers outcomes by idempotency key, as a real one must.
struct Simulated<'c> {
    failing: BTreeSet<TargetId>,
    clock: &'c TokioClock,
    outcomes: Mutex<BTreeMap<IdempotencyKey, ApplyOutcome>>,
}

impl Apply for Simulated<'_> {
    fn apply<'a>(
        &'a self,
        r: &'a ApplyRequest,
    ) -> BoxFuture<'a, Result<ApplyOutcome, SubstrateError>> {
        let status = match &r.action {
            ApplyAction::Deploy { .. } if self.failing.contains(&r.target) => ApplyStatus::Failed {
                reason: "ImagePullBackOff: registry.npmjs.org/sigstore@2.1.0 not reachable from the site".into(),
            },
            _ => ApplyStatus::Succeeded,
        };
        let done = ApplyOutcome {
            key: r.key.clone(),
            status,
            after: None,
            at: self.clock.now(),
        };
        if let Ok(mut seen) = self.outcomes.lock() {
            seen.insert(r.key.clone(), done.clone());
        }
        Box::pin(async move { Ok(done) })
    }

    fn outcome<'a>(
        &'a self,
        _: &'a TargetId,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Option<ApplyOutcome>, SubstrateError>> {
        let known = self.outcomes.lock().ok().and_then(|m| m.get(key).cloned());
        Box::pin(async move { Ok(known) })
    }
}

struct Healthy;

impl HealthCheck for Healthy {
    fn check<'a>(&'a self, _: &'a TargetId) -> BoxFuture<'a, Result<HealthStatus, HealthError>> {
        Box::pin(async { Ok(HealthStatus::Healthy) })
    }
}

/// Plans and runs the demo's release over the production targets of `inventory` at `now`.
///
/// # Errors
///
/// When a step the demo relies on fails (policy loading, planning, the run's spec).
pub fn run(inventory: &mut Inventory, now: DateTime<Utc>) -> anyhow::Result<RolloutOutcome> {
    let snapshot = inventory.snapshot();
    let schema = fleet_core::synth::schema();
    let mut release = DemoRelease::load(now)?;

    // 1. Select, and ask the policy about every selected target.
    let production = fleet_selectors::compile(r#"tier = "production""#, &schema)
        .map_err(|e| anyhow::anyhow!(e.render()))?;
    let index = SelectorIndex::build(&snapshot);
    let selection = index.query(&production, &snapshot, now)?;
    let request = BulkRequest::new(
        release.request_id,
        &release.workload,
        &release.artifact,
        &release.actor,
        now,
    )
    .approvals(&release.approvals);
    let bulk = release
        .policies
        .evaluate_bulk(&index, &snapshot, &selection, &request)?;
    let mut gates = Gates::from_policy(
        &release.policies,
        &snapshot,
        &selection,
        &release.workload,
        now,
    );
    for d in &bulk.decisions {
        gates.decision(d);
    }

    // 2. Plan.
    let strategy = Strategy::preset("conservative")?;
    let t = std::time::Instant::now();
    let plan = Planner::new(&snapshot, &schema, &strategy)
        .select(&selection)
        .gates(&gates)
        .plan(now)?;
    let planned_in = t.elapsed();
    let summary = plan.summary();
    println!(
        "rollout of sigstore-js 2.1.0 to `tier = \"production\"` with the conservative strategy (planned in {planned_in:.1?})"
    );
    println!(
        "  {} selected: {} planned in {} waves, {} excluded, {} waiting for approval",
        summary.selected,
        summary.planned,
        summary.waves.len(),
        summary.excluded,
        summary.pending_approval
    );
    const SHOWN: usize = 8;
    for w in summary.waves.iter().take(SHOWN) {
        println!(
            "  wave {:>3} {:>5} targets  from {}  {}",
            w.index,
            w.size,
            w.earliest_start.format("%Y-%m-%d %H:%M UTC"),
            w.group.as_deref().unwrap_or("")
        );
    }
    if summary.waves.len() > SHOWN {
        let rest = &summary.waves[SHOWN..];
        let last = rest.iter().map(|w| w.earliest_start).max().unwrap_or(now);
        println!(
            "  ... {} more waves of {} targets, the last from {}",
            rest.len(),
            rest.iter().map(|w| w.size).sum::<usize>(),
            last.format("%Y-%m-%d %H:%M UTC")
        );
    }
    // why waves stay small: targets held back by a concurrency limit, by limit
    let mut limited: BTreeMap<&str, usize> = BTreeMap::new();
    for placed in plan.waves().flat_map(|w| w.targets()) {
        if let Reason::Concurrency { limit } = placed.reason {
            *limited.entry(limit).or_default() += 1;
        }
    }
    for (limit, n) in &limited {
        println!("  {n} targets wait for a later wave because of the concurrency limit `{limit}`");
    }
    for (why, n) in &summary.exclusions {
        println!("  excluded ({why}): {n}");
    }
    if let Some(e) = plan.excluded().next() {
        println!("  for instance `{}`: {:?}", e.id, e.reason);
    }

    // 3. Security approves; the run asks the policy again before every target.
    release.approvals.push(release.security_approval(now));
    let last_good = Release::new(&release.workload, Version::parse("2.0.1")?);
    let run = RunSpec::new(
        RunId::new("rel-42-sigstore-js-2.1.0")?,
        release.actor.clone(),
        Release::new(&release.workload, Version::parse("2.1.0")?),
        last_good,
        Duration::from_seconds(900),
    );
    let waves = WaveSettings {
        failure_budget: Budget::Count(1),
        ..WaveSettings::default()
    };
    let spec = plan
        .to_run(run, &waves)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // A few targets fail to pull the image: one in wave 1, which tolerates one failure, and
    // two in the next wave of at least two, which exhausts its budget, so the run halts
    // there and rolls that wave back.
    let halting = (2..spec.waves.len())
        .find(|&i| spec.waves[i].targets.len() >= 2)
        .unwrap_or(usize::MAX);
    let failing: BTreeSet<TargetId> = [(1, 1), (halting, 2)]
        .into_iter()
        .filter_map(|(wave, n)| spec.waves.get(wave).map(|w| (w, n)))
        .flat_map(|(w, n)| w.targets.iter().rev().take(n).cloned())
        .collect();
    let targets: BTreeMap<TargetId, Target> = spec
        .targets()
        .filter_map(|id| {
            snapshot
                .get(id.as_str())
                .map(|t| (id.clone(), t.to_target()))
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    let started = std::sync::atomic::AtomicUsize::new(0);
    let (end, progress) = runtime.block_on(async {
        let clock = TokioClock::new(now);
        let substrate = Simulated {
            failing: failing.clone(),
            clock: &clock,
            outcomes: Mutex::default(),
        };
        let gate = PolicyGate::new(
            &release.policies,
            &targets,
            &release.workload,
            &release.artifact,
            &release.actor,
            release.request_id,
        )
        .approvals(&release.approvals);
        let store = MemoryCheckpointStore::default();
        let waiting: Mutex<Option<TargetId>> = Mutex::default();
        let show = |e: &RunEvent, p: &Progress| {
            if matches!(e.kind, RunEventKind::WaveStarted) {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            // a target that waits is asked again every minute: say so once
            if let Ok(mut last) = waiting.lock() {
                let waits = matches!(e.kind, RunEventKind::Waiting { .. });
                if waits && *last == e.target {
                    return;
                }
                *last = if waits { e.target.clone() } else { None };
            }
            print_event(e, p);
        };
        // the run halts within hours of simulated time; should it not (a target that waits
        // for an approval that never comes waits for ever), stop the demo after 30 days
        let days = 30;
        let run = Driver::new(&substrate, &Healthy, &gate, &store, &clock)
            .progress(&show)
            .run(spec);
        let report = tokio::time::timeout(std::time::Duration::from_secs(days * 86_400), run)
            .await
            .map_err(|_| anyhow::anyhow!("the run had not ended after {days} simulated days"))??;
        Ok::<_, anyhow::Error>((report.end, report.executor.progress()))
    })?;
    Ok(RolloutOutcome {
        plan: summary,
        end,
        progress,
        failed: failing.into_iter().collect(),
        halting_wave: halting,
        waves_started: started.into_inner(),
    })
}

fn print_event(e: &RunEvent, p: &Progress) {
    let at = e.at.format("%m-%d %H:%M");
    let wave = e.wave.unwrap_or(p.wave);
    let target = e.target.as_ref().map_or("", TargetId::as_str);
    match &e.kind {
        RunEventKind::WaveStarted => println!(
            "  {at}  wave {wave} of {} started ({} healthy, {} pending)",
            p.waves, p.healthy, p.pending
        ),
        RunEventKind::WaveBaked => println!(
            "  {at}  wave {wave} of {} baked    [{}] {}/{} healthy, {} failed",
            p.waves,
            bar(p.healthy, p.total),
            p.healthy,
            p.total,
            p.failed
        ),
        RunEventKind::Waiting { until } => println!(
            "  {at}  `{target}` waits: the policy allows no start before {}",
            until.format("%Y-%m-%d %H:%M UTC")
        ),
        RunEventKind::Denied { reason } => println!("  {at}  `{target}` skipped: {reason}"),
        RunEventKind::Failed { reason } => println!("  {at}  `{target}` failed: {reason}"),
        RunEventKind::RollingBack { reason } => println!("  {at}  rolling back: {reason}"),
        RunEventKind::RolledBack => println!("  {at}  `{target}` rolled back"),
        RunEventKind::Halted { reason } => println!(
            "  {at}  halted: {reason}; {} healthy, {} rolled back, {} never started",
            p.healthy, p.rolled_back, p.pending
        ),
        RunEventKind::Completed => println!("  {at}  completed: {} healthy", p.healthy),
        _ => {}
    }
}

/// A 24-cell progress bar; any progress shows at least one cell.
fn bar(done: usize, total: usize) -> String {
    const CELLS: usize = 24;
    let filled = if done == 0 {
        0
    } else {
        (done * CELLS / total.max(1)).clamp(1, CELLS)
    };
    format!("{}{}", "#".repeat(filled), ".".repeat(CELLS - filled))
}
