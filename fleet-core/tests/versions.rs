//! `Version`: the ordering table of real version strings, parsing of real cloud responses,
//! and the order laws as properties.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use fleet_core::Version;
use proptest::prelude::*;

/// Real version strings (AKS, EKS, GKE, k3s, RKE2, plain semver, four-part), ascending.
const ASCENDING: &[&str] = &[
    "1.9.6",              // AKS API example
    "1.10",               // EKS (botocore example)
    "1.10.3-gke.100klkl", // GKE nodePools.list, as recorded
    "1.12.8",             // AKS
    "1.19",               // EKS node group
    "1.25.8-gke.500",     // GKE Autopilot
    "1.26",               // EKS describe-cluster
    "1.27.2-gke.1200",    // GKE zonal
    "1.27.3",             // upstream
    "1.27.3-gke.100",     // GKE: a suffix sorts after no suffix...
    "1.27.3-gke.1200",    // ...and its numbers compare by value
    "v1.28.9+k3s1",       // k3s `kubectl version` gitVersion
    "v1.28.9+rke2r1",     // RKE2
    "1.29",               // EKS minor
    "1.29.3",
    "1.29.3-eks-2f008fe", // EKS server gitVersion
    "1.29.3-eks-ae9a62a",
    "1.29.3-gke.1043002",
    "1.29.10", // numeric parts compare as numbers, not text
    "1.30.0-eks-036c24b",
    "1.35", // EKS auto mode
    "4.2",
    "4.2.0.1", // four parts
    "4.20",
    "10.0.0",
];

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_ordering_table_holds_pairwise() {
    assert!(ASCENDING.len() >= 15);
    for (i, a) in ASCENDING.iter().enumerate() {
        for (j, b) in ASCENDING.iter().enumerate() {
            assert_eq!(
                v(a).cmp(&v(b)),
                i.cmp(&j),
                "`{a}` vs `{b}` should be {:?}",
                i.cmp(&j)
            );
        }
    }
}

#[test]
fn missing_parts_are_zero_and_v_is_dropped() {
    assert_eq!(v("1.29"), v("1.29.0"));
    assert_eq!(v("1.29"), v("v1.29.0.0"));
    assert_ne!(v("1.29.3"), v("1.29.3-eks-2f008fe"));
    assert_eq!(v("v1.29").to_string(), "1.29");
}

#[test]
fn prefixes_cover_patch_releases_and_nothing_else() {
    let p = v("4.2");
    let matched: Vec<&str> = ASCENDING
        .iter()
        .copied()
        .filter(|s| v(s).has_prefix(&p))
        .collect();
    assert_eq!(matched, ["4.2", "4.2.0.1"]);
    let p = v("1.27");
    assert_eq!(ASCENDING.iter().filter(|s| v(s).has_prefix(&p)).count(), 4);
}

fn collect_versions(value: &serde_json::Value, out: &mut Vec<String>) {
    const KEYS: &[&str] = &[
        "version",
        "currentMasterVersion",
        "currentNodeVersion",
        "kubernetesVersion",
        "orchestratorVersion",
        "currentKubernetesVersion",
        "currentOrchestratorVersion",
    ];
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if KEYS.contains(&k.as_str()) => {
                        out.push(s.clone());
                    }
                    other => collect_versions(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_versions(i, out)),
        _ => {}
    }
}

#[test]
fn every_version_in_real_cloud_responses_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/clouds");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        collect_versions(&doc, &mut found);
    }
    found.sort();
    found.dedup();
    for s in &found {
        assert!(Version::parse(s).is_ok(), "`{s}` did not parse");
    }
    for expected in [
        "1.10.3-gke.100klkl",
        "1.27.2-gke.1200",
        "1.26",
        "1.35",
        "1.9.6",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} not in {found:?}"
        );
    }
    // EKS's `platformVersion` is not a Kubernetes version and says so.
    assert_eq!(
        Version::parse("eks.14").unwrap_err().to_string(),
        "invalid version `eks.14`: it must start with a number"
    );
}

fn version_text() -> impl Strategy<Value = String> {
    (
        prop::option::of(Just("v")),
        prop::collection::vec(0u64..30, 1..=4),
        prop::option::of("[-+][a-z0-9]{1,3}([.-][a-z0-9]{1,4}){0,2}"),
    )
        .prop_map(|(v, parts, suffix)| {
            let mut s = v.unwrap_or_default().to_owned();
            s.push_str(
                &parts
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join("."),
            );
            s.push_str(&suffix.unwrap_or_default());
            s
        })
}

fn hash(x: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_parses_back(s in version_text()) {
        let a = v(&s);
        prop_assert_eq!(v(&a.to_string()), a);
    }

    #[test]
    fn order_is_total_and_consistent_with_eq(a in version_text(), b in version_text(), c in version_text()) {
        let (a, b, c) = (v(&a), v(&b), v(&c));
        // Antisymmetry, and Eq agrees with Ordering::Equal (and with Hash).
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
        if a == b {
            prop_assert_eq!(hash(&a), hash(&b));
        }
        // Transitivity.
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
        let mut sorted = [a.clone(), b.clone(), c.clone()];
        sorted.sort();
        prop_assert!(sorted[0] <= sorted[1] && sorted[1] <= sorted[2]);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "\\PC{0,24}") {
        let _ = Version::parse(&s);
    }
}
