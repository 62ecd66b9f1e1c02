//! Rollouts for fleets.
//!
//! - [`executor`]: runs a rollout wave by wave against fleet-core's `Apply`, with bakes,
//!   failure budgets, policy gates, pause and abort, automatic rollback, and a fenced
//!   checkpoint log it resumes from. A pure state machine, driven by tokio.
//!
//! # Crate features
//!
//! None. The executor's driver needs tokio's `rt`, `time` and `sync` features only (no IO).

pub mod executor;
