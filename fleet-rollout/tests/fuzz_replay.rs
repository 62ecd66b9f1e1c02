//! The `strategy_file` fuzz target's checks, on stable: every seed in
//! `fuzz/seeds/strategy_file/` plus thousands of mutations of them and random text. A crash
//! found by cargo-fuzz is copied into the seeds and stays fixed here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::DateTime;
use fleet_core::synth::{FleetSpec, generate};
use fleet_core::{Schema, Snapshot};
use fleet_rollout::plan::{Planner, Strategy, StrategyError};
use proptest::prelude::*;
use proptest::strategy::Strategy as _;

static SCHEMA: LazyLock<Schema> = LazyLock::new(fleet_core::synth::schema);
static FLEET: LazyLock<Snapshot> = LazyLock::new(|| {
    generate(&FleetSpec::new(40).seed(3).edges_per_target(1))
        .into_inventory(Default::default())
        .unwrap()
        .snapshot()
});

fn seeds() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/strategy_file");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "seeds missing in {}", dir.display());
    out
}

/// The fuzz target's checks; whether `s` parsed.
fn check(s: &str) -> bool {
    match Strategy::from_yaml(s) {
        Ok(strategy) => {
            assert!(strategy.validate().is_ok());
            let text = serde_yaml_ng::to_string(&strategy).unwrap();
            assert_eq!(Strategy::from_yaml(&text).unwrap(), strategy, "{text}");
            let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
            let _ = Planner::new(&FLEET, &SCHEMA, &strategy).plan(now);
            true
        }
        Err(StrategyError::Invalid { problems }) => {
            assert!(!problems.is_empty(), "{s:?} refused without a problem");
            false
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn seeds_replay() {
    let all = seeds();
    let parsed: Vec<&str> = all
        .iter()
        .filter(|(_, s)| check(s))
        .map(|(n, _)| n.as_str())
        .collect();
    // every seed but the deliberately invalid one
    assert_eq!(
        parsed,
        [
            "all-at-once.yaml",
            "balanced.yaml",
            "conservative.yaml",
            "fast.yaml",
            "selector-first-limits.yaml",
            "strategy.json"
        ]
    );
    let invalid = &all.iter().find(|(n, _)| n == "invalid.yaml").unwrap().1;
    assert_eq!(
        Strategy::from_yaml(invalid).unwrap_err().to_string(),
        "invalid strategy: `canary.count` must be at least 1; `waves.exponential.factor` must \
         be at least 2; `waves.exponential.cap` must not be below `start`; `max_concurrency` \
         must be at least 1; `groups.by` must name a property; `groups.first` `a` is listed twice"
    );
}

#[test]
fn the_conservative_seed_is_the_preset() {
    let all = seeds();
    let text = &all
        .iter()
        .find(|(n, _)| n == "conservative.yaml")
        .unwrap()
        .1;
    assert_eq!(Strategy::from_yaml(text).unwrap(), Strategy::conservative());
}

fn mutated() -> impl proptest::strategy::Strategy<Value = String> {
    let seeds: Vec<String> = seeds().into_iter().map(|(_, s)| s).collect();
    (
        prop::sample::select(seeds),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
    )
        .prop_map(|(seed, edits)| {
            let mut b = seed.into_bytes();
            for (at, op, byte) in edits {
                if b.is_empty() {
                    break;
                }
                let i = at.index(b.len());
                match op {
                    0 => b[i] = byte,
                    1 => {
                        b.remove(i);
                    }
                    2 => b.insert(i, byte),
                    _ => b.truncate(i),
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutations_never_panic(s in mutated()) {
        check(&s);
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        check(&s);
    }
}
