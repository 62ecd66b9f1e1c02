//! The `policy_file` fuzz target's checks, on stable: every seed in `fuzz/seeds/policy_file/`
//! plus thousands of mutations of them. A crash found by cargo-fuzz is copied into the seeds
//! and stays fixed here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::DateTime;
use fleet_core::{Actor, Digest, Schema, Target, TargetId, Workload};
use fleet_policy::{Artifact, LoadOptions, PolicySet, Request};
use proptest::prelude::*;

static SCHEMA: LazyLock<Schema> = LazyLock::new(fleet_core::synth::schema);

fn seeds() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/policy_file");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(out.len() >= 5, "seeds missing in {}", dir.display());
    out
}

/// Returns how many of the two loaders accepted `s`.
fn check(s: &str) -> usize {
    let opts = LoadOptions::new(&SCHEMA);
    let mut accepted = 0;
    for r in [
        PolicySet::from_yaml(s, &opts),
        PolicySet::from_json(s, &opts),
    ] {
        match r {
            Ok(set) => {
                accepted += 1;
                let t = Target::new(TargetId::new("t").unwrap(), "cluster", "aws");
                let w = Workload::new("w");
                let a = Artifact::new(Digest::sha256(b""));
                let actor = Actor::human("x");
                let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
                let d = set.evaluate(&Request::new("r", &w, &a, &t, &actor, at));
                assert_eq!(d.target, "t");
            }
            Err(e) => assert!(!e.problems().is_empty(), "{s:?} refused without a problem"),
        }
    }
    accepted
}

#[test]
fn seeds_replay() {
    let all = seeds();
    let loaded = all.iter().filter(|s| check(s) > 0).count();
    // every seed but the deliberately bad one loads in one of the two formats
    assert_eq!(loaded, all.len() - 1);
}

fn mutated() -> impl Strategy<Value = String> {
    let seeds = seeds();
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
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutations_never_panic(s in mutated()) {
        check(&s);
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        check(&s);
    }
}
