//! The `drift_documents` fuzz target's checks, on stable: every seed in
//! `fuzz/seeds/drift_documents/` plus thousands of mutations. A crash found by cargo-fuzz is
//! copied into the seeds and stays fixed here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use fleet_drift::{Differ, ManagedFields};
use proptest::prelude::*;
use serde_json::Value;

fn seeds() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/drift_documents");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(out.len() >= 5, "seeds missing in {}", dir.display());
    out
}

/// What the fuzz target checks. Returns whether the pair was diffable.
/// The classifier on the pair: a report or a typed error, never a panic; deterministic.
fn classify(a: &Value, b: &Value) {
    use std::sync::OnceLock;
    static CLASSIFIER: OnceLock<fleet_drift::Classifier> = OnceLock::new();
    let classifier = CLASSIFIER.get_or_init(|| fleet_drift::Classifier::kubernetes().unwrap());
    let target =
        fleet_core::Target::new(fleet_core::TargetId::new("fuzz").unwrap(), "cluster", "k8s");
    let now = chrono::DateTime::UNIX_EPOCH;
    let run = || {
        classifier
            .assess(
                &fleet_drift::TargetInput::new(
                    &target,
                    now,
                    std::slice::from_ref(a),
                    fleet_drift::Observed::Objects(std::slice::from_ref(b)),
                ),
                &mut fleet_drift::DriftMemory::default(),
            )
            .map_err(|e| e.to_string())
    };
    let first = run();
    assert_eq!(first, run());
    if let Err(e) = first {
        assert!(!e.is_empty());
    }
}

fn check(text: &str) -> bool {
    let (left, right) = text.split_once('\u{1e}').unwrap_or((text, text));
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<Value>(left),
        serde_json::from_str::<Value>(right),
    ) else {
        return false;
    };
    let differ = Differ::kubernetes();
    if let Ok(d) = differ.diff(&a, &a) {
        assert!(d.changes().is_empty(), "diff(a, a) not empty for {left}");
    }
    let _ = ManagedFields::from_object(&b);
    let _ = differ.diff_objects(std::slice::from_ref(&a), std::slice::from_ref(&b));
    classify(&a, &b);
    match differ.diff(&a, &b) {
        Ok(d) => {
            // Documents of different kinds are compared under the desired one's rules
            // (documented), so the round trip holds for documents of one kind.
            if a.get("kind") == b.get("kind")
                && let (Ok(patched), Ok(want)) = (differ.apply(&a, &d), differ.normalize(&b))
            {
                assert_eq!(
                    patched, want,
                    "apply(a, diff(a, b)) != normalize(b) for {text}"
                );
            }
            true
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
    let diffable = all.iter().filter(|s| check(s)).count();
    // all but the scalar pair are objects
    assert_eq!(diffable, all.len() - 1);
}

fn mutated() -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds()),
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
}
