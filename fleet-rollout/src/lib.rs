//! Rollouts for fleets.
//!
//! # When to use this crate
//!
//! To turn "deploy this release to these targets" into waves: one box first, then waves
//! that grow, one region at a time, a bake after each, never ahead of a dependency, never
//! over a concurrency limit, never into a closed window, and with every target that will
//! not be deployed listed with the reason. Then to run those waves, survive a crash in the
//! middle, and roll back what a failed wave touched.
//!
//! - [`plan`]: the wave planner — pure (no clock, no IO), deterministic, over a
//!   dependency graph (target, group and deployment edges), a
//!   [`Strategy`](plan::Strategy) (data, with [presets](plan::PRESETS)) and policy
//!   [`Gates`](plan::Gates) (decisions, windows, concurrency limits, holds). Errors name
//!   what is wrong: a dependency cycle lists its members in order
//!   ([`PlanError::Cycle`](plan::PlanError::Cycle)), an unsatisfiable strategy names the
//!   constraint ([`PlanError::Unsatisfiable`](plan::PlanError::Unsatisfiable)).
//! - [`executor`]: runs a rollout wave by wave against fleet-core's `Apply`, with bakes,
//!   failure budgets, policy gates, pause and abort, automatic rollback, and a fenced
//!   checkpoint log it resumes from. A pure state machine, driven by tokio.
//!   [`Plan::to_run`](plan::Plan::to_run) turns a plan into the executor's
//!   [`RunSpec`](executor::RunSpec), with [`WaveSettings`](plan::WaveSettings) for what a plan
//!   does not say.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fleet_core::synth::{FleetSpec, generate, schema};
//! use fleet_rollout::plan::{Gates, Planner, Reason, Strategy};
//!
//! let mut inventory = generate(&FleetSpec::new(2_000).seed(7).edges_per_target(1))
//!     .into_inventory(Default::default())?;
//! let snapshot = inventory.snapshot();
//! let schema = schema();
//! let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
//! let production = fleet_selectors::compile(r#"tier = "production""#, &schema)?;
//! let selection = production.bind(&snapshot, now).scan();
//!
//! // a denied target is excluded, with its dependents, and said so
//! let denied = selection.ids(&snapshot).next().unwrap_or_default().to_owned();
//! let gates = Gates::new().deny(&denied, ["pci/placement"]);
//!
//! let strategy = Strategy::preset("conservative")?; // one box, doubling waves, region by region
//! let plan = Planner::new(&snapshot, &schema, &strategy)
//!     .select(&selection)
//!     .gates(&gates)
//!     .plan(now)?;
//!
//! assert_eq!(plan.planned() + plan.excluded().len(), plan.selected());
//! let first = plan.wave(0).unwrap();
//! assert_eq!(first.len(), 1); // the one box
//! assert_eq!(first.targets().next().unwrap().reason, Reason::Canary);
//! assert!(plan.excluded().any(|e| e.id == denied));
//! println!("{}", plan.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None: the planner is pure and always built; the executor's driver needs tokio's `rt`,
//! `time` and `sync` features only (no IO).

pub mod executor;
pub mod plan;
