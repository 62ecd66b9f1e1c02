//! The policy file format (YAML or JSON), as written by people. [`crate::PolicySet`] loads
//! and checks it; these types only describe its shape.
//!
//! ```yaml
//! policies:
//!   - id: eu-freeze
//!     description: No changes in EU regions over the year-end freeze
//!     mode: enforce              # enforce (default) | warn | dry-run
//!     scope:
//!       targets: region in ("eu-*", "europe-*")    # text form, or the target_selector map form
//!       workloads: { classes: [payments] }           # names (globs), classes, labels
//!     rules:
//!       - id: year-end
//!         blackout: { timezone: Europe/Berlin, dates: [{ from: 2026-12-21, to: 2027-01-04 }] }
//! ```
//!
//! Every rule has an `id` (unique within its policy) and exactly one rule family key:
//! `placement`, `approvals`, `window`, `freeze`, `blackout`, `artifacts` or `concurrency`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use fleet_core::Duration;
use fleet_selectors::TargetSelectorSpec;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A whole policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The policies, in order.
    pub policies: Vec<PolicySpec>,
}

/// How a rule's failure counts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A failure denies (or holds pending).
    #[default]
    Enforce,
    /// A failure is reported as a warning and does not block.
    Warn,
    /// The rule is evaluated and reported separately; it never blocks.
    DryRun,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Enforce => "enforce",
            Self::Warn => "warn",
            Self::DryRun => "dry-run",
        })
    }
}

/// One policy: an id, a scope and its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Unique in the file; `[A-Za-z0-9._-]`.
    pub id: String,
    /// What it is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default mode of its rules.
    #[serde(default)]
    pub mode: Mode,
    /// Which targets and workloads it applies to; empty means all.
    #[serde(default)]
    pub scope: ScopeSpec,
    /// Its rules.
    pub rules: Vec<RuleSpec>,
}

/// The targets and workloads a policy applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    /// A target selector; absent means every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<TargetScope>,
    /// A workload selector; absent means every workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workloads: Option<WorkloadScopeSpec>,
}

/// A target selector in either written form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TargetScope {
    /// The text form: `region in ("eu-*") and tier = "production"`.
    Text(String),
    /// The map form: `{ region: ["eu-*"], tier: production, exclude_labels: [frozen] }`.
    Map(TargetSelectorSpec),
}

impl<'de> Deserialize<'de> for TargetScope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetScope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a selector in text form or a map of property conditions")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TargetScope::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                TargetSelectorSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(TargetScope::Map)
            }
        }
        d.deserialize_any(V)
    }
}

/// Which workloads a policy applies to. Every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadScopeSpec {
    /// Workload names, globs allowed; any may match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Workload classes; any may match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Labels the workload must carry with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One rule: an id and exactly one family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique within the policy; `[A-Za-z0-9._-]`.
    pub id: String,
    /// What it is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Overrides the policy's mode for this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Where workloads may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementSpec>,
    /// Who must approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<ApprovalsSpec>,
    /// A recurring allow or deny window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowSpec>,
    /// A one-off freeze between two local times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<FreezeSpec>,
    /// Whole days on which no change is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blackout: Option<BlackoutSpec>,
    /// Signatures, provenance and digest pinning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<ArtifactsSpec>,
    /// How many targets may change at once per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<ConcurrencySpec>,
}

/// Placement checks; every given one must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementSpec {
    /// Workload class vs target compliance class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<ComplianceSpec>,
    /// Image registries (globs over the image repository, such as `registry.acme.io/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registries: Option<Vec<String>>,
    /// Capabilities the target must have (globs; each must match one capability).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Data residency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<ResidencySpec>,
}

/// Workloads of a listed class may only run on targets whose compliance property is one of
/// the classes listed for it. Workloads of other classes are not constrained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceSpec {
    /// The target property holding its compliance class (a string property).
    pub property: String,
    /// Workload class -> target compliance classes it may run on.
    pub classes: BTreeMap<String, Vec<String>>,
}

/// A workload that declares a residency zone (by a label) may only run on targets whose
/// property matches one of the zone's globs. An unknown zone is a denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencySpec {
    /// The workload label naming the zone, such as `data-residency`.
    pub workload_label: String,
    /// The target property the zone constrains, such as `region`.
    pub property: String,
    /// Zone -> globs over that property (`eu: ["eu-*", "europe-*"]`).
    pub zones: BTreeMap<String, Vec<String>>,
}

/// Approvals needed: `count` distinct members of each group, never the requester, one person
/// counting for one group only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsSpec {
    /// The groups; two entries make dual approval.
    pub groups: Vec<GroupRequirement>,
    /// Approvals older than this do not count, whatever their own expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
}

/// `count` approvals from `group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRequirement {
    /// The group's name in the directory.
    pub group: String,
    /// How many distinct members must approve. At least 1.
    pub count: u32,
}

/// Allow windows permit changes only inside them; deny windows forbid changes inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    /// Changes only inside.
    Allow,
    /// No changes inside.
    Deny,
}

/// What an operation already in progress does when a deny window, freeze or blackout starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overrun {
    /// It stops: the next step is denied like any other (the default).
    #[default]
    Halt,
    /// It may finish: an operation that started before the window opened is allowed.
    Finish,
}

/// A recurring window: opens at each cron match in `timezone`, lasts `duration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Allow or deny.
    pub kind: WindowKind,
    /// Five-field cron (`0 18 * * FRI`) read in `timezone`.
    pub cron: String,
    /// IANA zone name (`Europe/Berlin`).
    pub timezone: String,
    /// How long each opening lasts (`2h`, `62h`), absolute time.
    pub duration: Duration,
    /// For deny windows: in-progress operations halt (default) or finish.
    #[serde(default)]
    pub overrun: Overrun,
}

/// A one-off freeze between two local times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// Local start, `2026-12-18T18:00`.
    pub from: String,
    /// Local end (exclusive), `2027-01-04T08:00`.
    pub until: String,
    /// IANA zone the times are read in.
    pub timezone: String,
    /// In-progress operations halt (default) or finish.
    #[serde(default)]
    pub overrun: Overrun,
}

/// Whole local days with no changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackoutSpec {
    /// IANA zone the days are read in.
    pub timezone: String,
    /// Inclusive date ranges.
    pub dates: Vec<DateRange>,
    /// In-progress operations halt (default) or finish.
    #[serde(default)]
    pub overrun: Overrun,
}

/// `from..=to`, whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

/// Artifact requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsSpec {
    /// The image must be referenced by digest (`repo@sha256:…`) and that digest must be
    /// the artifact's.
    #[serde(default)]
    pub require_digest: bool,
    /// A valid signature from one of these signers is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<SignerSpec>,
    /// A verified provenance statement is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceSpec>,
}

/// An accepted signer: a keyless identity or a named key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerSpec {
    /// Keyless: the OIDC issuer, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Keyless: the certificate's subject alternative name; `*` matches any run of
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub san: Option<String>,
    /// Managed key: the name the key was registered under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// What a provenance statement must say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceSpec {
    /// The predicate type; SLSA Provenance v1 by default.
    #[serde(default = "default_predicate")]
    pub predicate_type: String,
    /// Builder ids that are trusted (exact).
    pub builders: Vec<String>,
}

fn default_predicate() -> String {
    "https://slsa.dev/provenance/v1".to_owned()
}

/// At most `max_in_flight` targets change at once per value of `group_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencySpec {
    /// The target property that forms groups (`region`, `customer`).
    pub group_by: String,
    /// The limit per group. At least 1.
    pub max_in_flight: u32,
}
