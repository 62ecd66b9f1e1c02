//! From a plan to the executor's run: [`Plan::to_run`].

use fleet_core::{Actor, Duration, Release, TargetId};

use super::output::Plan;
use super::strategy::Bake;
use crate::executor::{BakeSpec, Budget, RunId, RunSpec, SpecError, SpecErrors, WaveSpec};

/// What a plan does not say and a run needs: who runs it, what is deployed and rolled back
/// to, and how failures and health are judged. Used by [`Plan::to_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// The run's id (prefixes every idempotency key).
    pub run_id: RunId,
    /// Who runs it.
    pub actor: Actor,
    /// The release to deploy.
    pub release: Release,
    /// The release to roll back to.
    pub last_good: Release,
    /// How long one target may take to become healthy.
    pub progress_deadline: Duration,
    /// Failures each wave tolerates (default none).
    pub wave_budget: Budget,
    /// Failures the whole run tolerates (default 100 %: only the waves' own budgets).
    pub overall_budget: Budget,
    /// Targets of a wave in progress at once; `None` (the default) starts a whole wave at
    /// once, as the planner sized it (its waves already respect the strategy's
    /// `max_concurrency`).
    pub max_concurrency: Option<u32>,
    /// Healthy check rounds each bake needs (default 1).
    pub healthy_checks: u32,
    /// Time between check rounds (default one minute).
    pub check_interval: Duration,
}

impl RunSettings {
    /// Settings with the defaults above.
    #[must_use]
    pub fn new(
        run_id: RunId,
        actor: Actor,
        release: Release,
        last_good: Release,
        progress_deadline: Duration,
    ) -> Self {
        Self {
            run_id,
            actor,
            release,
            last_good,
            progress_deadline,
            wave_budget: Budget::default(),
            overall_budget: Budget::Percent(100),
            max_concurrency: None,
            healthy_checks: 1,
            check_interval: Duration::from_seconds(60),
        }
    }
}

impl Plan {
    /// The executor's [`RunSpec`] for this plan: one [`WaveSpec`] per wave, its targets in
    /// the plan's order, its bake from the strategy's (`min_duration`, and `min_healthy`
    /// rounded up to a whole percent), its budget and concurrency from `settings`.
    ///
    /// Excluded targets are not in the run. A wave's earliest start and pending approvals
    /// are not copied: the executor asks its [`Gate`](crate::executor::Gate) (for instance
    /// a [`PolicyGate`](crate::executor::PolicyGate)) before each target, at run time,
    /// which is when windows and approvals must hold.
    ///
    /// # Errors
    ///
    /// [`SpecErrors`] when the run would be invalid: a plan with no waves (nothing to
    /// deploy), a concurrency of 0, a budget above 100 %, a duration that is not positive.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use fleet_core::synth::{FleetSpec, generate, schema};
    /// use fleet_core::{Actor, Duration, Release, Version, Workload};
    /// use fleet_rollout::executor::RunId;
    /// use fleet_rollout::plan::{Planner, RunSettings, Strategy};
    ///
    /// let mut inventory = generate(&FleetSpec::new(500).seed(3)).into_inventory(Default::default())?;
    /// let snapshot = inventory.snapshot();
    /// let schema = schema();
    /// let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    /// let strategy = Strategy::preset("balanced")?;
    /// let plan = Planner::new(&snapshot, &schema, &strategy).plan(now)?;
    ///
    /// let payments = Workload::new("payments");
    /// let settings = RunSettings::new(
    ///     RunId::new("payments-2-4-1")?,
    ///     Actor::service("rollout-bot"),
    ///     Release::new(&payments, Version::parse("2.4.1")?),
    ///     Release::new(&payments, Version::parse("2.4.0")?),
    ///     Duration::from_seconds(600),
    /// );
    /// let run = plan.to_run(&settings)?;
    /// assert_eq!(run.waves.len(), plan.waves().len());
    /// assert_eq!(run.targets().count(), plan.planned());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_run(&self, settings: &RunSettings) -> Result<RunSpec, SpecErrors> {
        let mut problems = Vec::new();
        let mut run = RunSpec::new(
            settings.run_id.clone(),
            settings.actor.clone(),
            settings.release.clone(),
            settings.last_good.clone(),
            settings.progress_deadline,
        )
        .overall_budget(settings.overall_budget);
        for wave in self.waves() {
            let mut targets = Vec::with_capacity(wave.len());
            for placed in wave.targets() {
                match TargetId::new(placed.id) {
                    Ok(id) => targets.push(id),
                    Err(e) => problems.push(SpecError::TargetId {
                        id: placed.id.to_owned(),
                        reason: e.to_string(),
                    }),
                }
            }
            let whole = u32::try_from(targets.len()).unwrap_or(u32::MAX);
            let concurrency = settings.max_concurrency.unwrap_or(whole.max(1));
            run = run.wave(
                WaveSpec::new(targets)
                    .max_concurrency(concurrency)
                    .failure_budget(settings.wave_budget)
                    .bake(bake_spec(wave.bake(), settings)),
            );
        }
        if let Err(SpecErrors(more)) = run.validate() {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(run)
        } else {
            Err(SpecErrors(problems))
        }
    }
}

fn bake_spec(bake: Bake, settings: &RunSettings) -> BakeSpec {
    // a Percent is in (0, 100], so the rounded-up value fits in a u8
    let share = bake.min_healthy.value().ceil().clamp(0.0, 100.0) as u8;
    BakeSpec {
        min_duration: bake.min_duration,
        min_healthy_checks: settings.healthy_checks,
        check_interval: settings.check_interval,
        min_healthy_percent: share,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use fleet_core::synth::{FleetSpec, generate, schema};
    use fleet_core::{Actor, Duration, Release, Version, Workload};

    use super::RunSettings;
    use crate::executor::{Budget, RunId, SpecError};
    use crate::plan::{Bake, Gates, Percent, Planner, Strategy};

    fn settings() -> RunSettings {
        let api = Workload::new("api");
        let v = |s: &str| Version::parse(s).unwrap_or_else(|e| unreachable!("{e}"));
        RunSettings::new(
            RunId::new("r1").unwrap_or_else(|e| unreachable!("{e}")),
            Actor::service("ci"),
            Release::new(&api, v("1.1")),
            Release::new(&api, v("1.0")),
            Duration::from_seconds(600),
        )
    }

    #[test]
    fn waves_targets_and_bakes_carry_over() {
        let mut inventory = generate(&FleetSpec::new(300).seed(11).edges_per_target(1))
            .into_inventory(Default::default())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let snapshot = inventory.snapshot();
        let schema = schema();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let mut strategy = Strategy::preset("conservative").unwrap_or_else(|e| unreachable!("{e}"));
        strategy.bake = Bake {
            min_duration: Duration::from_seconds(900),
            min_healthy: Percent::new(92.5).unwrap_or_else(|e| unreachable!("{e}")),
        };
        let denied = snapshot
            .iter()
            .last()
            .map(|t| t.id().to_owned())
            .unwrap_or_default();
        let gates = Gates::new().deny(&denied, ["pci/placement"]);
        let plan = Planner::new(&snapshot, &schema, &strategy)
            .gates(&gates)
            .plan(now)
            .unwrap_or_else(|e| unreachable!("{e}"));

        let mut s = settings();
        s.wave_budget = Budget::Count(2);
        let run = plan.to_run(&s).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(run.waves.len(), plan.waves().len());
        for (spec, wave) in run.waves.iter().zip(plan.waves()) {
            let planned: Vec<&str> = wave.targets().map(|p| p.id).collect();
            let ran: Vec<&str> = spec.targets.iter().map(|t| t.as_str()).collect();
            assert_eq!(ran, planned, "wave {}", wave.index());
            assert_eq!(spec.max_concurrency as usize, wave.len());
            assert_eq!(spec.failure_budget, Budget::Count(2));
            assert_eq!(spec.bake.min_duration, wave.bake().min_duration);
            let expected = wave.bake().min_healthy.value().ceil() as u8;
            assert_eq!(spec.bake.min_healthy_percent, expected);
        }
        assert!(
            run.waves
                .iter()
                .skip(1)
                .any(|w| w.bake.min_healthy_percent == 93)
        );
        assert!(!run.targets().any(|t| t.as_str() == denied));
        assert_eq!(run.targets().count(), plan.planned());
    }

    #[test]
    fn an_empty_plan_or_a_zero_concurrency_is_refused() {
        let mut inventory = generate(&FleetSpec::new(50).seed(2))
            .into_inventory(Default::default())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let snapshot = inventory.snapshot();
        let schema = schema();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let strategy = Strategy::preset("fast").unwrap_or_else(|e| unreachable!("{e}"));
        let nothing = fleet_selectors::compile(r#"region = "nowhere""#, &schema)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let selection = nothing.bind(&snapshot, now).scan();
        let empty = Planner::new(&snapshot, &schema, &strategy)
            .select(&selection)
            .plan(now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let err = empty.to_run(&settings()).err().map(|e| e.0);
        assert_eq!(err, Some(vec![SpecError::NoWaves]));

        let plan = Planner::new(&snapshot, &schema, &strategy)
            .plan(now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let mut s = settings();
        s.max_concurrency = Some(0);
        let err = plan.to_run(&s).err().map(|e| e.0).unwrap_or_default();
        assert_eq!(err.len(), plan.waves().len());
        assert!(
            err.iter()
                .all(|e| matches!(e, SpecError::ZeroConcurrency { .. }))
        );
    }
}
