//! Errors of strategies and of planning.

use std::fmt;

/// One problem in a strategy: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyProblem {
    /// The field, as a path (`waves.exponential.factor`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for StrategyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.reason)
    }
}

fn join_problems(list: &[StrategyProblem]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a strategy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// The text is not a strategy: bad YAML, an unknown field, a wrong type.
    #[error("invalid strategy at `{path}`: {message}")]
    Parse {
        /// Where, as a path (`.` for the top).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The strategy parses but breaks a rule; every problem is listed.
    #[error("invalid strategy: {}", join_problems(.problems))]
    Invalid {
        /// Every problem found.
        problems: Vec<StrategyProblem>,
    },
    /// No preset has this name.
    #[error("unknown strategy preset `{name}`{}", .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The closest preset name.
        suggestion: Option<String>,
    },
}

/// The longest cycle an error message spells out in full; longer ones are elided in the
/// middle (the error value keeps every member).
pub const CYCLE_DISPLAY_LIMIT: usize = 12;

fn arrows(cycle: &[String]) -> String {
    let quote = |s: &String| format!("`{s}`");
    let mut parts: Vec<String> = if cycle.len() <= CYCLE_DISPLAY_LIMIT {
        cycle.iter().map(quote).collect()
    } else {
        let head = CYCLE_DISPLAY_LIMIT - 2;
        let mut p: Vec<String> = cycle.iter().take(head).map(quote).collect();
        p.push(format!("... ({} more)", cycle.len() - head - 1));
        p.extend(cycle.last().map(quote));
        p
    };
    parts.extend(cycle.first().map(quote));
    parts.join(" -> ")
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Targets depend on each other in a circle. The members are listed in order, each
    /// depending on the next and the last on the first, starting with the smallest id.
    /// A member written `group X before Y` is a group-level edge.
    #[error("dependency cycle: {} (each depends on the next)", arrows(.cycle))]
    Cycle {
        /// The members, in order.
        cycle: Vec<String>,
    },
    /// Deployment-level edges form a circle, listed as for [`PlanError::Cycle`].
    #[error("deployment order cycle: {} (each goes after the next)", arrows(.cycle))]
    DeploymentCycle {
        /// The deployments, in order.
        cycle: Vec<String>,
    },
    /// The strategy, with the policy and the graph, cannot be met.
    #[error("unsatisfiable constraint `{constraint}`: {reason}")]
    Unsatisfiable {
        /// The constraint: a strategy field (`max_waves`, `canary.selector`) or a policy
        /// rule (`policy/rule`).
        constraint: String,
        /// Why it cannot be met.
        reason: String,
    },
    /// A target id that is not in the snapshot.
    #[error("unknown target `{id}` in {place}")]
    UnknownTarget {
        /// The id.
        id: String,
        /// Where it was named (`the target list`, `edge 3`, `the gates`).
        place: String,
    },
    /// A deployment named in an edge that the release does not have.
    #[error("unknown deployment `{name}` in deployment edge {edge}")]
    UnknownDeployment {
        /// The name.
        name: String,
        /// The edge's position, from 0.
        edge: usize,
    },
    /// A property (to group by, or of a group edge) that the schema does not declare.
    #[error("unknown property `{property}` in `{field}`{}", .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownProperty {
        /// The property.
        property: String,
        /// The field that named it (`groups.by`, `group edge 0`).
        field: String,
        /// The closest declared property.
        suggestion: Option<String>,
    },
    /// The canary selector does not compile.
    #[error("invalid selector in `canary.selector`")]
    Selector(#[source] fleet_selectors::SelectorError),
    /// The target set was computed on another generation than the snapshot.
    #[error("the target set is at generation {set} but the snapshot is at generation {snapshot}")]
    Stale {
        /// The set's generation.
        set: u64,
        /// The snapshot's generation.
        snapshot: u64,
    },
    /// The strategy is invalid.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cycles_are_elided_in_the_middle() {
        let cycle: Vec<String> = (0..20).map(|i| format!("t{i:02}")).collect();
        let text = PlanError::Cycle { cycle }.to_string();
        assert_eq!(
            text,
            "dependency cycle: `t00` -> `t01` -> `t02` -> `t03` -> `t04` -> `t05` -> `t06` -> \
             `t07` -> `t08` -> `t09` -> ... (9 more) -> `t19` -> `t00` (each depends on the next)"
        );
    }
}
