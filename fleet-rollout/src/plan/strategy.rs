//! Strategies: how a release spreads over the fleet, as data.

use std::fmt;

use fleet_core::Duration;
use serde::{Deserialize, Serialize};

use super::error::{StrategyError, StrategyProblem};

/// A percentage in `(0, 100]`.
///
/// # Example
///
/// ```
/// use fleet_rollout::plan::Percent;
///
/// let p = Percent::new(12.5)?;
/// assert_eq!(p.of(1_000), 125);
/// assert_eq!(Percent::new(1.0)?.of(10), 1); // rounded up, so never zero of a non-empty set
/// assert!(Percent::new(0.0).is_err());
/// # Ok::<(), fleet_rollout::plan::StrategyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percent(f64);

impl Percent {
    /// One hundred percent.
    pub const ALL: Self = Self(100.0);

    /// A percentage, refused unless `0 < value <= 100`.
    ///
    /// # Errors
    ///
    /// [`StrategyError::Invalid`] naming the value.
    pub fn new(value: f64) -> Result<Self, StrategyError> {
        if value > 0.0 && value <= 100.0 {
            Ok(Self(value))
        } else {
            Err(StrategyError::Invalid {
                problems: vec![StrategyProblem {
                    field: "percent".into(),
                    reason: format!("`{value}` is not in (0, 100]"),
                }],
            })
        }
    }

    /// The value, in `(0, 100]`.
    #[must_use]
    pub fn value(self) -> f64 {
        self.0
    }

    /// This share of `n`, rounded up: at least 1 when `n > 0`, at most `n`.
    #[must_use]
    pub fn of(self, n: usize) -> usize {
        // exact for any fleet size a u32 slot can address
        let share = (n as f64 * self.0 / 100.0).ceil() as usize;
        share.clamp(usize::from(n > 0), n)
    }
}

impl TryFrom<f64> for Percent {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value).map_err(|_| format!("`{value}` is not a percentage in (0, 100]"))
    }
}

impl From<Percent> for f64 {
    fn from(p: Percent) -> Self {
        p.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// How long a wave bakes before the next one starts, and how healthy it must be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bake {
    /// At least this long after the wave's last start (`30m`, `1h`). Default 0.
    #[serde(default)]
    pub min_duration: Duration,
    /// At least this share of the wave's targets report healthy. Default 100.
    #[serde(default = "all")]
    pub min_healthy: Percent,
}

fn all() -> Percent {
    Percent::ALL
}

impl Default for Bake {
    fn default() -> Self {
        Self {
            min_duration: Duration::ZERO,
            min_healthy: Percent::ALL,
        }
    }
}

/// The first wave: one box or a small canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// How many targets. Exactly one of `count` and `percent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Which share of the deployable targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    /// Canaries are chosen among the targets this selector (text form) matches; any
    /// deployable target without pending dependencies otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The canary's own bake; the strategy's `bake` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<Bake>,
}

/// The sizes of the waves after the canary.
///
/// Not `#[non_exhaustive]` on purpose: a strategy file names one of these forms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Waves {
    /// Every wave holds this many targets.
    Fixed(u32),
    /// Every wave holds this share of the deployable targets.
    Percent(Percent),
    /// `start`, then `start * factor`, `start * factor²`... never more than `cap`.
    Exponential {
        /// The first wave's size.
        start: u32,
        /// The growth factor, at least 2.
        factor: u32,
        /// The largest wave.
        cap: u32,
    },
}

impl Waves {
    /// The size of wave `j` (0 = the first wave after the canary), for `deployable` targets.
    #[must_use]
    pub fn size(&self, j: usize, deployable: usize) -> usize {
        match *self {
            Self::Fixed(n) => n as usize,
            Self::Percent(p) => p.of(deployable),
            Self::Exponential { start, factor, cap } => {
                let mut s = u64::from(start);
                for _ in 0..j {
                    s = s.saturating_mul(u64::from(factor));
                    if s >= u64::from(cap) {
                        break;
                    }
                }
                s.min(u64::from(cap)) as usize
            }
        }
    }
}

/// The order in which groups take their turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOrder {
    /// By the group's value, ascending.
    #[default]
    Name,
    /// Fewest targets first (ties by name): low-traffic regions before busy ones.
    SmallestFirst,
    /// Most targets first (ties by name).
    LargestFirst,
}

/// Grouping by a property: one region at a time, regions in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grouping {
    /// The property whose value names a target's group (`region`).
    pub by: String,
    /// How groups are ordered. Default `name`.
    #[serde(default)]
    pub order: GroupOrder,
    /// Values that go first, in this order; the rest follow `order`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first: Vec<String>,
    /// Each wave holds targets of one group only. Default false.
    #[serde(default)]
    pub one_at_a_time: bool,
    /// At most this many targets of one group per wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_group: Option<u32>,
}

/// A rollout strategy: a canary, then waves, optionally grouped, with concurrency caps and
/// a bake after every wave. Strategies are data: [`Strategy::from_yaml`] reads one, unknown
/// fields refused, and [`Strategy::preset`] names the shipped ones.
///
/// # Example
///
/// ```
/// use fleet_rollout::plan::{Strategy, Waves};
///
/// let s = Strategy::from_yaml(
///     "
/// canary: { count: 1, selector: 'tier = \"staging\"' }
/// waves: { exponential: { start: 2, factor: 2, cap: 100 } }
/// groups: { by: region, order: smallest_first, one_at_a_time: true }
/// max_concurrency: 50
/// bake: { min_duration: 30m, min_healthy: 99 }
/// ",
/// )?;
/// assert_eq!(s.waves, Waves::Exponential { start: 2, factor: 2, cap: 100 });
/// assert_eq!(s.effective_cap(3, 10_000), 16);
/// assert_eq!(s.effective_cap(9, 10_000), 50); // the concurrency cap
/// # Ok::<(), fleet_rollout::plan::StrategyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// The first wave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Wave sizes after the canary (`{ fixed: 50 }`, `{ percent: 10 }`,
    /// `{ exponential: { start: 2, factor: 2, cap: 500 } }`).
    #[serde(with = "serde_yaml_ng::with::singleton_map")]
    pub waves: Waves,
    /// Grouping, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Grouping>,
    /// At most this many targets per wave (in flight at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// At most this many waves; a plan that needs more is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_waves: Option<u32>,
    /// The bake after each wave.
    #[serde(default)]
    pub bake: Bake,
}

/// The names of the shipped presets, in the order [`Strategy::preset`] documents them.
pub const PRESETS: [&str; 4] = ["conservative", "balanced", "fast", "all-at-once"];

fn minutes(m: i64) -> Duration {
    Duration::from_seconds(m * 60)
}

impl Default for Strategy {
    /// The `conservative` preset.
    fn default() -> Self {
        Self::conservative()
    }
}

impl Strategy {
    /// `conservative`, modelled on the published AWS practice: one box first (baked an
    /// hour), then waves that double from 2 up to 1,000, one region at a time with the
    /// smallest regions first, and an hour's bake with every target healthy after each wave.
    #[must_use]
    pub fn conservative() -> Self {
        let bake = Bake {
            min_duration: minutes(60),
            min_healthy: Percent::ALL,
        };
        Self {
            canary: Some(Canary {
                count: Some(1),
                percent: None,
                selector: None,
                bake: Some(bake),
            }),
            waves: Waves::Exponential {
                start: 2,
                factor: 2,
                cap: 1_000,
            },
            groups: Some(Grouping {
                by: "region".into(),
                order: GroupOrder::SmallestFirst,
                first: Vec::new(),
                one_at_a_time: true,
                max_per_group: None,
            }),
            max_concurrency: None,
            max_waves: None,
            bake,
        }
    }

    /// The shipped strategy called `name`: `conservative` (the default, see
    /// [`Strategy::conservative`]); `balanced` (a 1% canary baked 30 minutes, waves of 10%,
    /// at most 100 targets of one region per wave, 15 minutes' bake at 99% healthy); `fast`
    /// (no canary, waves of 25%, 5 minutes' bake at 95%); `all-at-once` (one wave, no
    /// bake; for development fleets).
    ///
    /// # Errors
    ///
    /// [`StrategyError::UnknownPreset`], with the closest name.
    pub fn preset(name: &str) -> Result<Self, StrategyError> {
        let pct = |v| Percent::new(v);
        Ok(match name {
            "conservative" => Self::conservative(),
            "balanced" => Self {
                canary: Some(Canary {
                    count: None,
                    percent: Some(pct(1.0)?),
                    selector: None,
                    bake: Some(Bake {
                        min_duration: minutes(30),
                        min_healthy: Percent::ALL,
                    }),
                }),
                waves: Waves::Percent(pct(10.0)?),
                groups: Some(Grouping {
                    by: "region".into(),
                    order: GroupOrder::Name,
                    first: Vec::new(),
                    one_at_a_time: false,
                    max_per_group: Some(100),
                }),
                max_concurrency: None,
                max_waves: None,
                bake: Bake {
                    min_duration: minutes(15),
                    min_healthy: pct(99.0)?,
                },
            },
            "fast" => Self {
                canary: None,
                waves: Waves::Percent(pct(25.0)?),
                groups: None,
                max_concurrency: None,
                max_waves: None,
                bake: Bake {
                    min_duration: minutes(5),
                    min_healthy: pct(95.0)?,
                },
            },
            "all-at-once" => Self {
                canary: None,
                waves: Waves::Percent(Percent::ALL),
                groups: None,
                max_concurrency: None,
                max_waves: None,
                bake: Bake::default(),
            },
            _ => {
                return Err(StrategyError::UnknownPreset {
                    name: name.to_owned(),
                    suggestion: fleet_core::did_you_mean(name, PRESETS).map(str::to_owned),
                });
            }
        })
    }

    /// Reads a strategy from YAML (or JSON, a subset), then [`validate`](Self::validate)s
    /// it.
    ///
    /// # Errors
    ///
    /// [`StrategyError::Parse`] with the path of the offending field, or
    /// [`StrategyError::Invalid`] with every problem found.
    pub fn from_yaml(text: &str) -> Result<Self, StrategyError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let s: Self = serde_path_to_error::deserialize(de).map_err(|e| StrategyError::Parse {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// Checks what the types cannot: counts and caps at least 1, a growth factor of at least
    /// 2, a cap not below the start, exactly one canary size.
    ///
    /// # Errors
    ///
    /// [`StrategyError::Invalid`] listing every problem.
    pub fn validate(&self) -> Result<(), StrategyError> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, reason: &str| {
            problems.push(StrategyProblem {
                field: field.to_owned(),
                reason: reason.to_owned(),
            });
        };
        if let Some(c) = &self.canary {
            match (c.count, c.percent) {
                (Some(0), _) => bad("canary.count", "must be at least 1"),
                (Some(_), Some(_)) => bad("canary", "give `count` or `percent`, not both"),
                (None, None) => bad("canary", "give `count` or `percent`"),
                _ => {}
            }
        }
        match self.waves {
            Waves::Fixed(0) => bad("waves.fixed", "must be at least 1"),
            Waves::Exponential { start, factor, cap } => {
                if start == 0 {
                    bad("waves.exponential.start", "must be at least 1");
                }
                if factor < 2 {
                    bad("waves.exponential.factor", "must be at least 2");
                }
                if cap < start {
                    bad("waves.exponential.cap", "must not be below `start`");
                }
            }
            _ => {}
        }
        if self.max_concurrency == Some(0) {
            bad("max_concurrency", "must be at least 1");
        }
        if self.max_waves == Some(0) {
            bad("max_waves", "must be at least 1");
        }
        if let Some(g) = &self.groups {
            if g.by.is_empty() {
                bad("groups.by", "must name a property");
            }
            if g.max_per_group == Some(0) {
                bad("groups.max_per_group", "must be at least 1");
            }
            let mut seen = std::collections::BTreeSet::new();
            for v in &g.first {
                if !seen.insert(v.as_str()) {
                    problems.push(StrategyProblem {
                        field: "groups.first".into(),
                        reason: format!("`{v}` is listed twice"),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StrategyError::Invalid { problems })
        }
    }

    /// The most targets wave `j` after the canary may hold before group and policy limits:
    /// the wave size, capped by `max_concurrency`.
    #[must_use]
    pub fn effective_cap(&self, j: usize, deployable: usize) -> usize {
        let size = self.waves.size(j, deployable).max(1);
        self.max_concurrency.map_or(size, |m| size.min(m as usize))
    }

    /// The canary's size for `deployable` targets (0 without a canary), capped by
    /// `max_concurrency`.
    #[must_use]
    pub fn canary_size(&self, deployable: usize) -> usize {
        let Some(c) = &self.canary else { return 0 };
        let n = match (c.count, c.percent) {
            (Some(n), _) => n as usize,
            (None, Some(p)) => p.of(deployable),
            (None, None) => 1,
        };
        self.max_concurrency.map_or(n, |m| n.min(m as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_sizes_double_up_to_the_cap() {
        let w = Waves::Exponential {
            start: 2,
            factor: 2,
            cap: 20,
        };
        let sizes: Vec<usize> = (0..7).map(|j| w.size(j, 0)).collect();
        assert_eq!(sizes, [2, 4, 8, 16, 20, 20, 20]);
        // no overflow far out
        assert_eq!(w.size(1_000, 0), 20);
    }

    #[test]
    fn percent_rounds_up_and_stays_in_range() {
        let p = Percent::new(10.0).unwrap();
        assert_eq!(p.of(0), 0);
        assert_eq!(p.of(1), 1);
        assert_eq!(p.of(95), 10);
        assert_eq!(Percent::ALL.of(7), 7);
        assert!(Percent::new(100.5).is_err());
        assert!(Percent::new(f64::NAN).is_err());
    }

    #[test]
    fn presets_validate_and_unknown_names_suggest() {
        for name in PRESETS {
            Strategy::preset(name).unwrap().validate().unwrap();
        }
        assert_eq!(
            Strategy::preset("conservativ").unwrap_err().to_string(),
            "unknown strategy preset `conservativ`; did you mean `conservative`?"
        );
    }

    #[test]
    fn presets_round_trip_through_yaml() {
        for name in PRESETS {
            let s = Strategy::preset(name).unwrap();
            let text = serde_yaml_ng::to_string(&s).unwrap();
            assert_eq!(Strategy::from_yaml(&text).unwrap(), s, "{name}:\n{text}");
        }
    }
}
