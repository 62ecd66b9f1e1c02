//! # fleet-core
//!
//! The vocabulary every fleet crate speaks, and the in-memory inventory they all stand on.
//!
//! Use this crate to describe a fleet as data: [`Target`]s with stable [`TargetId`]s, typed
//! properties ([`Value`], [`Version`]) checked by a [`Schema`], labels, capabilities,
//! desired and observed state, and history. Load and save fleets as JSON or YAML
//! ([`Fleet`]), keep them in an [`Inventory`] that hands out O(1) [`Snapshot`]s and a change
//! feed ([`FeedCursor`]), and generate realistic synthetic fleets ([`synth`]) for tests and
//! benchmarks.
//!
//! It also holds the small shared types other crates need: workloads and releases, holds,
//! actors, document digests, audit events and the [`AuditSink`] trait, the [`Clock`] trait,
//! and the capability traits a substrate implements ([`Discover`], [`Observe`], [`Apply`]).
//!
//! This crate does no IO, starts no threads, and never reads the clock or the environment
//! (except [`SystemClock`], when a caller uses it).
//!
//! # Example
//!
//! ```
//! use fleet_core::{Inventory, synth::{FleetSpec, generate}};
//!
//! let fleet = generate(&FleetSpec::new(1_000).seed(7));
//! let mut inventory = fleet.into_inventory(Default::default())?;
//! let snapshot = inventory.snapshot();
//! let eu = snapshot
//!     .iter()
//!     .filter(|t| t.property("region").and_then(|r| match r {
//!         fleet_core::ValueRef::String(s) => Some(s.starts_with("eu-")),
//!         _ => None,
//!     }) == Some(true))
//!     .count();
//! assert!(eu > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None: the crate is small on purpose. `serde` support is always on, because fleet files are
//! part of the product.

mod actor;
mod audit;
mod clock;
mod digest;
mod fleet;
mod hold;
mod id;
mod inventory;
mod properties;
mod schema;
mod substrate;
pub mod synth;
mod target;
mod text;
mod value;
mod version;
mod workload;

pub use actor::{Actor, ActorKind};
pub use audit::{AuditError, AuditEvent, AuditSink, MemoryAuditSink};
pub use clock::{Clock, ManualClock, SystemClock};
pub use digest::{Digest, DigestAlgorithm, DigestError, Document, canonical_json};
pub use fleet::{Fleet, FleetFileError, Format};
pub use hold::{Hold, HoldScope};
pub use id::{IdError, MAX_TARGET_ID_LEN, NativeId, TargetId, validate_target_id};
pub use inventory::{
    Applied, Change, ChangeKind, Expect, FeedCursor, FeedError, Generation, Inventory,
    InventoryError, InventoryOptions, InventoryStats, LabelColumn, LocalSequencer, Mutation,
    PropertyColumn, PutAllError, Sequencer, SequencerError, Slot, Snapshot, StoredValue, Sym,
    Symbols, TargetRecord, TargetRef, ValueId, ValueRef,
};
pub use properties::{Properties, PropertiesIter};
pub use schema::{Problem, ProblemKind, PropertyDef, Schema, ValidationError};
pub use substrate::{
    Apply, ApplyAction, ApplyOutcome, ApplyRequest, ApplyStatus, BoxFuture, Discover,
    DiscoverRequest, Discovered, IdempotencyKey, Observe, ObserveRequest, SubstrateError,
};
pub use target::{
    DEFAULT_HISTORY_LIMIT, History, HistoryEntry, ObservedState, Reachability, Target, TargetSeed,
};
pub use text::did_you_mean;
pub use value::{Duration, DurationError, Value, ValueError, ValueSeed, ValueType, ValueTypeError};
pub use version::{Version, VersionError};
pub use workload::{Release, Workload};
