//! # fleet-benches
//!
//! Benchmarks for fleet: criterion benches (`cargo bench -p fleet-benches`) and the
//! comparison runner, which measures fleet and a peer on the same data in one process.
//!
//! # The comparison runner
//!
//! ```text
//! cargo run --release -p fleet-benches --bin compare -- AREA [--quick]
//! ```
//!
//! `AREA` names a subsystem; `compare --help` lists the known ones. For each area the runner
//! builds its data once from a fixed seed (before any timer starts), feeds the same data to
//! fleet and to the peer, times both in the same process, prints a readable table, and ends
//! with exactly one machine-readable line:
//!
//! ```text
//! RESULT AREA key=value key=value ...
//! ```
//!
//! Ratios are written as `3.1x`. Absolute times on shared machines are noisy; the ratios are
//! the claim. `--quick` uses a smaller fleet and finishes in well under a minute; the full run
//! is the one quoted in `BENCHMARKS.md`.
//!
//! Memory is counted by a counting global allocator installed by the runner binary: every
//! byte the measured structure holds on the heap (requested sizes, not the allocator's
//! rounding) is counted, for fleet and for the peer alike.
//!
//! ## Areas
//!
//! * `core`: the `fleet_core::Inventory` against one `BTreeMap<String, String>` per target.
//!   1,000,000 targets (100,000 with `--quick`), each with 12 properties and 8 labels (see
//!   [`core_targets`] and [`peer_map`]). Reports build time, snapshot time, lookups, the first
//!   write after a snapshot, and live bytes per target.
//! * `selectors`: `fleet-selectors` (indexed queries and the scan path) against `kube-core`'s
//!   `Selector` over per-target label maps and a `cel-interpreter` program, on one generated
//!   fleet of 1,000,000 targets (100,000 with `--quick`); fails unless every method returns
//!   the same targets. Reports query p50/p99, materialising ids, scan per target, index
//!   build time, memory and incremental update cost.
//! * `policy`: `fleet-policy`'s `PolicySet::evaluate` against `cedar-policy`'s
//!   `Authorizer::is_authorized` on the same placement and scope rules (compliance class,
//!   region- and tier-scoped registry allow-lists, required capabilities; 10 and 50 rules),
//!   written once and rendered as a fleet policy file and as Cedar policies, on the same
//!   requests over a generated fleet of 100,000 targets (20,000 with `--quick`); fails unless
//!   every decision is the same. Reports per-decision p50/p99 and one release against every
//!   target (scaled to 100,000 with `--quick`).
//! * `drift`: `fleet-drift`'s `Differ` (`equivalent`, `diff`) against `json-patch`'s `diff`
//!   on pairs built from four real Deployments (`testdata/drift/`): unchanged (desired vs
//!   the live object with its server fields), changed (one to three real edits) and
//!   reordered (keyed lists shuffled); fails unless our diff reports no false change and
//!   every edit. Reports per-pair p50/p99, false changes on reordered pairs, and a streamed
//!   pass over 1,000,000 objects (10,000 targets x 100; 100,000 with `--quick`, scaled), 1%
//!   drifted, with its peak heap.
//! * `rollout`: `fleet-rollout`'s `Planner::plan` against `petgraph`'s plain `toposort` on
//!   the same graph (the floor any planner pays): the generated fleet of 1,000,000 targets
//!   with three dependency edges each (100,000 with `--quick`), with policy gates (denials,
//!   holds, windows, approvals, a concurrency limit), planned with the `conservative` preset
//!   and with `all-at-once`; fails unless every target is planned or excluded and every edge
//!   is respected. Reports plan time (median of 3), waves, bytes allocated while planning
//!   and held by the plan, and the ratio to petgraph's sort.
//!
//! This library holds what the runner's areas and the criterion benches share: the data sets
//! and the small formatting helpers. The counting allocator lives in the runner binary, the
//! only place that needs `unsafe`.

pub mod compare;
mod core_area;
mod drift_area;
mod policy_area;
mod rollout_area;
mod selectors_area;

pub use drift_area::{DriftPair, drift_bench_pairs};
pub use policy_area::{PolicyData, policy_data};
pub use rollout_area::{RolloutData, plan_rollout, rollout_data, rollout_now};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use fleet_core::Target;
use fleet_core::synth::{FleetSpec, generate};

/// The seed every area builds its data from.
pub const SEED: u64 = 1;

/// The eight labels each target of the `core` data set keeps (every generated target has
/// them; the occasional `frozen` and `compliance-hold` labels are removed).
pub const CORE_LABELS: [&str; 8] = [
    "backup",
    "cost-center",
    "customer",
    "env",
    "managed-by",
    "oncall",
    "team",
    "topology.kubernetes.io/region",
];

/// The `core` data set: `n` synthetic targets (seed [`SEED`], no dependencies), each holding
/// its id, kind and substrate, the generator's 12 typed properties and exactly the 8 labels
/// of [`CORE_LABELS`]. Native ids and capabilities are removed so that every target holds
/// what the peer holds (properties and labels) and nothing more; desired state, observed
/// state and history are empty.
#[must_use]
pub fn core_targets(n: usize) -> Vec<Target> {
    let mut targets = generate(&FleetSpec::new(n).seed(SEED).edges_per_target(0)).targets;
    for t in &mut targets {
        t.labels.retain(|k, _| CORE_LABELS.contains(&k.as_str()));
        t.native_id = None;
        t.capabilities.clear();
        t.depends_on.clear();
    }
    targets
}

/// How many targets of `targets` do not have exactly 12 properties and 8 labels, or carry
/// anything else besides (native id, capabilities, dependencies, desired or observed state,
/// history). The `core` area refuses to measure unless this is zero.
#[must_use]
pub fn core_shape_violations(targets: &[Target]) -> usize {
    targets
        .iter()
        .filter(|t| {
            t.properties.len() != 12
                || t.labels.len() != CORE_LABELS.len()
                || t.native_id.is_some()
                || !t.capabilities.is_empty()
                || !t.depends_on.is_empty()
                || t.desired.is_some()
                || t.observed.is_some()
                || !t.history.is_empty()
        })
        .count()
}

/// The key under which the peer stores a label whose key is also a property name (the
/// generator has a `customer` property and a `customer` label).
pub const PEER_LABEL_PREFIX: &str = "label:";

/// The peer's form of a target: one `BTreeMap<String, String>` holding every property
/// rendered with `Value`'s `Display` and every label, 20 entries for a `core` target. A
/// label whose key is also a property name is stored under [`PEER_LABEL_PREFIX`] + key, so
/// no entry is lost. Every string is shrunk to its length (as a peer that read the fleet
/// from a file would hold it), and the map is bulk-built from sorted entries (its most
/// compact form): the peer is measured at its smallest. It holds no id, kind or substrate.
#[must_use]
pub fn peer_map(target: &Target) -> BTreeMap<String, String> {
    let mut entries: Vec<(String, String)> =
        Vec::with_capacity(target.properties.len() + target.labels.len());
    for (k, v) in &target.labels {
        let k = if target.properties.contains_key(k) {
            format!("{PEER_LABEL_PREFIX}{k}")
        } else {
            k.clone()
        };
        entries.push((k, v.clone()));
    }
    for (k, v) in &target.properties {
        let mut v = v.to_string();
        v.shrink_to_fit();
        entries.push((k.to_owned(), v));
    }
    entries.into_iter().collect()
}

/// A ratio as the `RESULT` line writes it: one decimal and an `x` (`3.1x`); `n/a` when it is
/// not finite.
#[must_use]
pub fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}x")
    } else {
        "n/a".to_owned()
    }
}

/// An integer with thousands separators: `1,000,000`.
#[must_use]
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A plain text table: a header row, then rows, columns padded to their widest cell. The
/// first column is left-aligned, the others right-aligned (they hold numbers).
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    #[must_use]
    pub fn new<S: ToString>(header: &[S]) -> Self {
        Self {
            header: header.iter().map(ToString::to_string).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank, extra cells are kept).
    pub fn row<S: ToString>(&mut self, cells: &[S]) -> &mut Self {
        self.rows
            .push(cells.iter().map(ToString::to_string).collect());
        self
    }

    /// The table as text, one line per row, each ending in a newline.
    #[must_use]
    pub fn render(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, row: &[String]| {
            let mut text = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let sep = if i == 0 { "" } else { "  " };
                let _ = if i == 0 {
                    write!(text, "{sep}{cell:<w$}")
                } else {
                    write!(text, "{sep}{cell:>w$}")
                };
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut out, &self.header);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_000_000), "1,000,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
    }

    #[test]
    fn formats_ratios() {
        assert_eq!(ratio(3.06), "3.1x");
        assert_eq!(ratio(12.46), "12.5x");
        assert_eq!(ratio(f64::NAN), "n/a");
    }

    #[test]
    fn core_targets_have_the_promised_shape() {
        let targets = core_targets(500);
        assert_eq!(targets.len(), 500);
        assert_eq!(core_shape_violations(&targets), 0);
        assert_eq!(targets, core_targets(500));
    }

    #[test]
    fn peer_holds_every_property_and_label() {
        for t in core_targets(200) {
            let props = t.properties.clone();
            let labels = t.labels.clone();
            let map = peer_map(&t);
            assert_eq!(map.len(), 20);
            for (k, v) in &props {
                assert_eq!(map.get(k), Some(&v.to_string()));
            }
            for (k, v) in &labels {
                let key = if props.contains_key(k) {
                    format!("{PEER_LABEL_PREFIX}{k}")
                } else {
                    k.clone()
                };
                assert_eq!(map.get(&key), Some(v));
            }
        }
    }

    #[test]
    fn renders_aligned_tables() {
        let mut t = Table::new(&["what", "n"]);
        t.row(&["a", "1"]).row(&["bbb", "100"]);
        assert_eq!(t.render(), "what    n\n----  ---\na       1\nbbb   100\n");
    }
}
