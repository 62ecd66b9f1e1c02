//! Compliance as runtime policy for fleets: placement, approvals, change windows, signed
//! provenance and concurrency rules, evaluated offline into decisions that explain
//! themselves.
//!
//! # When to use this crate
//!
//! In front of every change a fleet platform makes: a rollout planner asks
//! [`PolicySet::next_allowed`] and [`PolicySet::concurrency_limits`] when it plans waves, and
//! the executor asks [`PolicySet::evaluate`] just before it touches each target. Policies are
//! data (YAML or JSON, see [`spec`]), scoped by `fleet-selectors` selectors over targets and
//! by name, class and labels over workloads.
//!
//! # Semantics
//!
//! - A [`Decision`] is [`Outcome::Allow`], [`Outcome::Pending`] (with what is [`Missing`]:
//!   approvals from which groups, when the next window opens, a concurrency slot) or
//!   [`Outcome::Deny`], and lists every applicable rule's [`RuleResult`] with its evidence.
//! - Rules in `enforce` mode decide: a failure denies, otherwise anything pending holds.
//!   `warn` rules are reported as warnings; `dry-run` rules separately; neither blocks.
//! - Evaluation never reads a clock (`at` is part of the [`Request`]), is deterministic and
//!   fails closed: a missing property, an unverifiable signature or missing trust material
//!   is a denial with the reason.
//! - Approvals ([`Approval`]) are bound to the request id, the artifact digest, the rule
//!   and a target scope, and expire; approvers are distinct, the requester never counts, one
//!   person fills one seat of a dual approval, and a rejection stands until a new request.
//!   Group membership comes from an injected [`Directory`].
//! - Change windows: recurring allow and deny windows (cron + IANA zone + duration),
//!   one-off freezes and blackout dates. Deny beats allow; with allow windows in scope,
//!   changes happen only inside one. A start in a skipped hour opens right after the gap,
//!   in a repeated hour at the first occurrence; durations are absolute time; decisions
//!   record [`TZDB_VERSION`]. An operation already in progress when a deny window opens
//!   halts unless the window says `overrun: finish`.
//! - Signatures and provenance ([`artifact`]): Sigstore bundles (keyless and managed key),
//!   DSSE envelopes, cosign simple signing, in-toto Statement v1 with SLSA Provenance v1,
//!   all verified offline against trust material the caller passes in, and cached.
//! - Break-glass [`Override`]s lift named rules for named targets until they expire; every
//!   decision they change says so.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fleet_core::{Actor, Digest, Target, TargetId, Workload, synth};
//! use fleet_policy::{Artifact, LoadOptions, Outcome, PolicySet, Request};
//!
//! let policies = r#"
//! policies:
//!   - id: eu-freeze
//!     scope: { targets: 'geo = "eu"' }
//!     rules:
//!       - id: year-end
//!         blackout: { timezone: Europe/Berlin, dates: [{ from: 2026-12-21, to: 2027-01-04 }] }
//!   - id: registries
//!     rules:
//!       - id: allow-list
//!         placement: { registries: ["registry.acme.io/*"] }
//! "#;
//! let schema = synth::schema();
//! let set = PolicySet::from_yaml(policies, &LoadOptions::new(&schema))?;
//!
//! let target = Target::new(TargetId::new("eks-prod-eu-west-1-001")?, "cluster", "aws")
//!     .property("geo", "eu");
//! let workload = Workload::new("payments-api");
//! let artifact = Artifact::new(Digest::sha256(b"payments-api 1.4.2"))
//!     .image("registry.acme.io/payments/api:1.4.2");
//! let actor = Actor::human("ana");
//! let at = Utc.with_ymd_and_hms(2026, 12, 22, 9, 0, 0).unwrap();
//!
//! let d = set.evaluate(&Request::new("req-1", &workload, &artifact, &target, &actor, at));
//! assert_eq!(d.outcome, Outcome::Pending);
//! // the blackout ends at midnight Berlin time, 2027-01-04T23:00Z
//! assert_eq!(d.next_window(), Some(Utc.with_ymd_and_hms(2027, 1, 4, 23, 0, 0).unwrap()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None: the crate is pure (no IO, no clock, no network) and always includes verification.

mod approval;
pub mod artifact;
mod bulk;
mod cron;
mod decision;
mod error;
mod eval;
mod locate;
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
