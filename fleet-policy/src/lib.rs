//! fleet-policy: compliance as runtime policy.

mod approval;
pub mod artifact;
mod bulk;
mod cron;
mod decision;
mod error;
mod eval;
mod overrides;
mod policy;
pub mod spec;
mod verify;
mod window;

pub use approval::{Approval, ApprovalScope, ApprovalVerdict, Directory, StaticDirectory};
pub use artifact::Verifier;
pub use bulk::{BulkDecision, BulkRequest, RuleCounts, Summary};
pub use cron::{Cron, CronError};
pub use decision::{Decision, Missing, Outcome, OverrideUse, RuleResult, Verdict};
pub use error::{LoadProblem, PolicyError};
pub use eval::{Artifact, ConcurrencyLimit, InFlight, Request};
pub use overrides::{Override, OverrideScope};
pub use policy::{LoadOptions, PolicySet};
pub use spec::Mode;
pub use verify::Evidence;
pub use window::{Interval, TZDB_VERSION};
