//! The wave planner: pure, deterministic, and explicit about every target.
//!
//! [`Planner`] takes a snapshot and a selection, the dependency graph (the inventory's
//! `depends_on`, extra [`Edge`]s, [`GroupEdge`]s, [`DeploymentEdge`]s), a [`Strategy`]
//! and policy [`Gates`], and returns a [`Plan`] for an instant `now`. It reads no clock and
//! does no IO; the same inputs give the same plan, byte for byte.
//!
//! Internally targets are dense `u32` indices, the graph is in compressed sparse row form
//! and waves come out of Kahn's algorithm; nothing is allocated per target in the wave loop.

mod error;
mod gates;
mod graph;
mod inputs;
mod output;
mod planner;
mod schedule;
mod strategy;
mod to_run;

pub use error::{CYCLE_DISPLAY_LIMIT, PlanError, StrategyError, StrategyProblem};
pub use gates::{Gate, Gates, PolicyLimit};
pub use inputs::{DeploymentEdge, Edge, GroupEdge};
pub use output::{
    Excluded, Exclusion, Placed, Placement, Plan, PlanSummary, Reason, WaveKind, WaveSummary,
    WaveView,
};
pub use planner::Planner;
pub use strategy::{Bake, Canary, GroupOrder, Grouping, PRESETS, Percent, Strategy, Waves};
pub use to_run::WaveSettings;
