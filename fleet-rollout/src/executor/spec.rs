//! What the executor is asked to run: [`RunSpec`] and its parts.

use std::collections::BTreeSet;
use std::fmt;

use fleet_core::{Actor, Digest, Duration, Release, TargetId, canonical_json};
use serde::{Deserialize, Serialize};

/// Names one run. It prefixes every idempotency key the run uses, so it must be unique among
/// the runs a substrate sees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(Box<str>);

impl RunId {
    /// A run id: non-empty, at most 128 bytes, `[A-Za-z0-9._-]` (so keys built from it stay
    /// readable and unambiguous: `/` separates their parts).
    ///
    /// # Errors
    ///
    /// [`SpecError::RunId`] when `id` breaks those rules.
    pub fn new(id: impl Into<String>) -> Result<Self, SpecError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(id.into_boxed_str()))
        } else {
            Err(SpecError::RunId { id })
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = SpecError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.0.into()
    }
}

/// How many failures a wave (or the whole run) tolerates. The budget is exhausted by the
/// failure that goes *beyond* it: `count: 0` halts on the first failure, `count: 2` on the
/// third. A percentage is of the targets in scope, rounded down (`percent: 10` of 25 targets
/// tolerates 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Budget {
    /// At most this many failures.
    Count(u32),
    /// At most this percentage (0 to 100) of the targets in scope.
    Percent(u8),
}

impl Budget {
    /// How many failures are tolerated among `total` targets.
    #[must_use]
    pub fn allowed(self, total: usize) -> usize {
        match self {
            Self::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Self::Percent(p) => total.saturating_mul(usize::from(p.min(100))) / 100,
        }
    }

    /// Whether `failures` among `total` targets exhaust the budget.
    #[must_use]
    pub fn exhausted(self, failures: usize, total: usize) -> bool {
        failures > self.allowed(total)
    }
}

impl Default for Budget {
    /// No failure tolerated.
    fn default() -> Self {
        Self::Count(0)
    }
}

/// What "baked" means for a wave: at least `min_duration` since its last target became
/// healthy, and at least `min_healthy_checks` rounds in which at least `min_healthy_percent`
/// of the wave's deployed targets (by default every one) reported healthy, one round every
/// `check_interval`. A target that reports unhealthy also fails, against the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BakeSpec {
    /// Minimum time between the wave settling and the next wave starting.
    #[serde(default)]
    pub min_duration: Duration,
    /// Minimum number of all-healthy check rounds during the bake.
    #[serde(default)]
    pub min_healthy_checks: u32,
    /// Time between check rounds (default one minute).
    #[serde(default = "default_check_interval")]
    pub check_interval: Duration,
    /// The share of the wave's deployed targets (0 to 100) that must report healthy for a
    /// round to count (default 100).
    #[serde(default = "all_healthy")]
    pub min_healthy_percent: u8,
}

fn all_healthy() -> u8 {
    100
}

fn default_check_interval() -> Duration {
    Duration::from_seconds(60)
}

impl Default for BakeSpec {
    /// No bake: the next wave starts when this one settles.
    fn default() -> Self {
        Self {
            min_duration: Duration::ZERO,
            min_healthy_checks: 0,
            check_interval: default_check_interval(),
            min_healthy_percent: 100,
        }
    }
}

/// One wave: its targets in start order, and how it is run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveSpec {
    /// The targets, started in this order.
    pub targets: Vec<TargetId>,
    /// At most this many targets of the wave in progress at once (at least 1).
    pub max_concurrency: u32,
    /// Failures the wave tolerates.
    #[serde(default)]
    pub failure_budget: Budget,
    /// The bake after the wave.
    #[serde(default)]
    pub bake: BakeSpec,
}

impl WaveSpec {
    /// A wave of `targets`, one at a time, no failure tolerated, no bake.
    #[must_use]
    pub fn new(targets: impl IntoIterator<Item = TargetId>) -> Self {
        Self {
            targets: targets.into_iter().collect(),
            max_concurrency: 1,
            failure_budget: Budget::default(),
            bake: BakeSpec::default(),
        }
    }

    /// Sets the concurrency.
    #[must_use]
    pub fn max_concurrency(mut self, n: u32) -> Self {
        self.max_concurrency = n;
        self
    }

    /// Sets the failure budget.
    #[must_use]
    pub fn failure_budget(mut self, budget: Budget) -> Self {
        self.failure_budget = budget;
        self
    }

    /// Sets the bake.
    #[must_use]
    pub fn bake(mut self, bake: BakeSpec) -> Self {
        self.bake = bake;
        self
    }
}

/// What is rolled back when a budget is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackScope {
    /// The targets of the wave that exhausted the budget.
    #[default]
    Wave,
    /// Every target the run touched, in every wave.
    Everything,
}

/// Everything the executor needs to run one rollout. The planner's plan converts into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The run's id.
    pub run_id: RunId,
    /// Who runs it (recorded in every event).
    pub actor: Actor,
    /// The release to deploy.
    pub release: Release,
    /// The release to roll back to.
    pub last_good: Release,
    /// The waves, in order.
    pub waves: Vec<WaveSpec>,
    /// Failures the whole run tolerates (a percentage is of all targets).
    #[serde(default = "unlimited")]
    pub overall_budget: Budget,
    /// How long one target may take from its deploy starting to reporting healthy (and a
    /// rollback to finish) before it counts as failed (a rollback: stuck).
    pub progress_deadline: Duration,
    /// How often to ask again about an attempt still in progress or a target not yet healthy
    /// (default ten seconds).
    #[serde(default = "default_poll_interval")]
    pub poll_interval: Duration,
    /// What to roll back when a budget is exhausted.
    #[serde(default)]
    pub rollback_scope: RollbackScope,
}

fn unlimited() -> Budget {
    Budget::Percent(100)
}

fn default_poll_interval() -> Duration {
    Duration::from_seconds(10)
}

impl RunSpec {
    /// A run with the defaults: no overall budget beyond the waves' own (100 %), a ten-second
    /// poll interval, rollback of the failing wave.
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
            waves: Vec::new(),
            overall_budget: unlimited(),
            progress_deadline,
            poll_interval: default_poll_interval(),
            rollback_scope: RollbackScope::Wave,
        }
    }

    /// Appends a wave.
    #[must_use]
    pub fn wave(mut self, wave: WaveSpec) -> Self {
        self.waves.push(wave);
        self
    }

    /// Sets the overall budget.
    #[must_use]
    pub fn overall_budget(mut self, budget: Budget) -> Self {
        self.overall_budget = budget;
        self
    }

    /// Sets the poll interval.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the rollback scope.
    #[must_use]
    pub fn rollback_scope(mut self, scope: RollbackScope) -> Self {
        self.rollback_scope = scope;
        self
    }

    /// The SHA-256 digest of the spec's canonical JSON: what the checkpoint log records, so
    /// that a run is never resumed with a different spec.
    #[must_use]
    pub fn digest(&self) -> Digest {
        let text = serde_json::to_value(self)
            .map(|v| canonical_json(&v))
            .unwrap_or_default();
        Digest::sha256(text.as_bytes())
    }

    /// All targets of all waves, in run order.
    pub fn targets(&self) -> impl Iterator<Item = &TargetId> {
        self.waves.iter().flat_map(|w| w.targets.iter())
    }

    /// Checks the spec and reports every problem.
    ///
    /// # Errors
    ///
    /// [`SpecErrors`] listing each problem: no waves, an empty wave, a concurrency of 0, a
    /// percentage above 100, a target in two places, a negative or zero duration.
    pub fn validate(&self) -> Result<(), SpecErrors> {
        let mut problems = Vec::new();
        if self.waves.is_empty() {
            problems.push(SpecError::NoWaves);
        }
        let mut seen = BTreeSet::new();
        for (i, wave) in self.waves.iter().enumerate() {
            if wave.targets.is_empty() {
                problems.push(SpecError::EmptyWave { wave: i });
            }
            if wave.max_concurrency == 0 {
                problems.push(SpecError::ZeroConcurrency { wave: i });
            }
            if let Budget::Percent(p) = wave.failure_budget
                && p > 100
            {
                problems.push(SpecError::Percent { percent: p });
            }
            if wave.bake.min_healthy_percent > 100 {
                problems.push(SpecError::HealthyShare {
                    wave: i,
                    percent: wave.bake.min_healthy_percent,
                });
            }
            if wave.bake.min_duration < Duration::ZERO {
                problems.push(SpecError::Duration {
                    field: "bake.min_duration",
                    value: wave.bake.min_duration,
                });
            }
            if wave.bake.check_interval <= Duration::ZERO {
                problems.push(SpecError::Duration {
                    field: "bake.check_interval",
                    value: wave.bake.check_interval,
                });
            }
            for t in &wave.targets {
                if !seen.insert(t) {
                    problems.push(SpecError::DuplicateTarget { target: t.clone() });
                }
            }
        }
        if let Budget::Percent(p) = self.overall_budget
            && p > 100
        {
            problems.push(SpecError::Percent { percent: p });
        }
        for (field, value) in [
            ("progress_deadline", self.progress_deadline),
            ("poll_interval", self.poll_interval),
        ] {
            if value <= Duration::ZERO {
                problems.push(SpecError::Duration { field, value });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors(problems))
        }
    }
}

/// One problem with a [`RunSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A run id breaks the rules of [`RunId::new`].
    #[error("invalid run id `{id}`: use 1 to 128 of `A-Z a-z 0-9 . _ -`")]
    RunId {
        /// The rejected id.
        id: String,
    },
    /// The run has no waves.
    #[error("the run has no waves")]
    NoWaves,
    /// A wave has no targets.
    #[error("wave {wave} has no targets")]
    EmptyWave {
        /// The wave's index.
        wave: usize,
    },
    /// A wave allows no target in progress.
    #[error("wave {wave} has a maximum concurrency of 0")]
    ZeroConcurrency {
        /// The wave's index.
        wave: usize,
    },
    /// A percentage above 100.
    #[error("a failure budget of {percent}% is above 100%")]
    Percent {
        /// The percentage.
        percent: u8,
    },
    /// A wave's bake asks for more than every target healthy.
    #[error("wave {wave} asks for {percent}% of its targets healthy, above 100%")]
    HealthyShare {
        /// The wave's index.
        wave: usize,
        /// The percentage.
        percent: u8,
    },
    /// A duration that must be positive is not.
    #[error("`{field}` must be positive, not `{value}`")]
    Duration {
        /// The field.
        field: &'static str,
        /// Its value.
        value: Duration,
    },
    /// A planned target's id is not a valid [`TargetId`].
    #[error("target `{id}` cannot be run: {reason}")]
    TargetId {
        /// The id as planned.
        id: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A target appears twice.
    #[error("target `{target}` appears more than once in the run")]
    DuplicateTarget {
        /// The target.
        target: TargetId,
    },
}

/// Every problem found in a [`RunSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run: {}", join(.0))]
pub struct SpecErrors(pub Vec<SpecError>);

fn join(problems: &[SpecError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
