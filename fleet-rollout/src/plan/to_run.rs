//! From a plan to the executor's run: [`Plan::to_run`].

use fleet_core::{Duration, TargetId};

use super::output::Plan;
use super::strategy::Bake;
use crate::executor::{BakeSpec, Budget, RunSpec, SpecError, SpecErrors, WaveSpec};

/// How each wave of a plan is run, where the plan does not say: its failure budget, its
/// concurrency and its health checks. Used by [`Plan::to_run`]; the default tolerates no
/// failure, starts a whole wave at once and needs one healthy round a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaveSettings {
    /// Failures each wave tolerates (default none).
    pub failure_budget: Budget,
    /// Targets of a wave in progress at once; `None` (the default) starts a whole wave at
    /// once, as the planner sized it (its waves already respect the strategy's
    /// `max_concurrency`).
    pub max_concurrency: Option<u32>,
    /// Healthy check rounds each bake needs (default 1).
    pub healthy_checks: u32,
    /// Time between check rounds (default one minute).
    pub check_interval: Duration,
}

impl Default for WaveSettings {
    fn default() -> Self {
        Self {
            failure_budget: Budget::default(),
            max_concurrency: None,
            healthy_checks: 1,
            check_interval: Duration::from_seconds(60),
        }
    }
}

impl Plan {
    /// The executor's [`RunSpec`] for this plan: `run` (its id, actor, releases, deadlines,
    /// overall budget and rollback scope, usually without waves) followed by one
    /// [`WaveSpec`] per wave of the plan, its targets in the plan's order, its bake from the
    /// strategy's (`min_duration`, and `min_healthy` rounded up to a whole percent), its
    /// budget, concurrency and checks from `waves`.
    ///
    /// Excluded targets are not in the run. A wave's earliest start and pending approvals
    /// are not copied: the executor asks its [`Gate`](crate::executor::Gate) (for instance
    /// a [`PolicyGate`](crate::executor::PolicyGate)) before each target, at run time,
    /// which is when windows and approvals must hold.
    ///
    /// # Errors
    ///
    /// [`SpecErrors`] when the run would be invalid: no waves at all (nothing to deploy), a
    /// concurrency of 0, a budget above 100 %, a duration that is not positive, a target in
    /// `run` already.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use fleet_core::synth::{FleetSpec, generate, schema};
    /// use fleet_core::{Actor, Duration, Release, Version, Workload};
    /// use fleet_rollout::executor::{Budget, RollbackScope, RunId, RunSpec};
    /// use fleet_rollout::plan::{Planner, Strategy, WaveSettings};
    ///
    /// let mut inventory = generate(&FleetSpec::new(500).seed(3)).into_inventory(Default::default())?;
    /// let snapshot = inventory.snapshot();
    /// let schema = schema();
    /// let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    /// let strategy = Strategy::preset("balanced")?;
    /// let plan = Planner::new(&snapshot, &schema, &strategy).plan(now)?;
    ///
    /// let payments = Workload::new("payments");
    /// let run = RunSpec::new(
    ///     RunId::new("payments-2-4-1")?,
    ///     Actor::service("rollout-bot"),
    ///     Release::new(&payments, Version::parse("2.4.1")?),
    ///     Release::new(&payments, Version::parse("2.4.0")?),
    ///     Duration::from_seconds(600),
    /// )
    /// .rollback_scope(RollbackScope::Everything);
    /// let waves = WaveSettings { failure_budget: Budget::Percent(5), ..WaveSettings::default() };
    /// let run = plan.to_run(run, &waves)?;
    /// assert_eq!(run.waves.len(), plan.waves().len());
    /// assert_eq!(run.targets().count(), plan.planned());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_run(&self, run: RunSpec, waves: &WaveSettings) -> Result<RunSpec, SpecErrors> {
        let mut problems = Vec::new();
        let mut run = run;
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
            let concurrency = waves.max_concurrency.unwrap_or(whole.max(1));
            run = run.wave(
                WaveSpec::new(targets)
                    .max_concurrency(concurrency)
                    .failure_budget(waves.failure_budget)
                    .bake(bake_spec(wave.bake(), waves)),
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

fn bake_spec(bake: Bake, waves: &WaveSettings) -> BakeSpec {
    // a Percent is in (0, 100], so the rounded-up value fits in a u8
    let share = bake.min_healthy.value().ceil().clamp(0.0, 100.0) as u8;
    BakeSpec {
        min_duration: bake.min_duration,
        min_healthy_checks: waves.healthy_checks,
        check_interval: waves.check_interval,
        min_healthy_percent: share,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use fleet_core::synth::{FleetSpec, generate, schema};
    use fleet_core::{Actor, Duration, Release, Version, Workload};

    use super::WaveSettings;
    use crate::executor::{Budget, RunId, RunSpec, SpecError};
    use crate::plan::{Bake, Gates, Percent, Planner, Strategy};

    fn run() -> RunSpec {
        let api = Workload::new("api");
        let v = |s: &str| Version::parse(s).unwrap_or_else(|e| unreachable!("{e}"));
        RunSpec::new(
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

        let waves = WaveSettings {
            failure_budget: Budget::Count(2),
            ..WaveSettings::default()
        };
        let run = plan
            .to_run(run(), &waves)
            .unwrap_or_else(|e| unreachable!("{e}"));
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
        let err = empty
            .to_run(run(), &WaveSettings::default())
            .err()
            .map(|e| e.0);
        assert_eq!(err, Some(vec![SpecError::NoWaves]));

        let plan = Planner::new(&snapshot, &schema, &strategy)
            .plan(now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let waves = WaveSettings {
            max_concurrency: Some(0),
            ..WaveSettings::default()
        };
        let err = plan
            .to_run(run(), &waves)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert_eq!(err.len(), plan.waves().len());
        assert!(
            err.iter()
                .all(|e| matches!(e, SpecError::ZeroConcurrency { .. }))
        );
    }
}
