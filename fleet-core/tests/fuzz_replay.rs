//! The fuzz targets' checks, on stable: every seed in `fuzz/seeds/<target>/` plus random
//! inputs. A crash found by cargo-fuzz is copied into the seeds and stays fixed here.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use fleet_core::{Duration, Fleet, Version};
use proptest::prelude::*;

fn seeds(target: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .filter_map(|b| String::from_utf8(b).ok())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

fn check_version(s: &str) {
    if let Ok(v) = Version::parse(s) {
        assert_eq!(Version::parse(&v.to_string()).unwrap(), v, "{s}");
    }
}

fn check_duration(s: &str) {
    if let Ok(d) = s.parse::<Duration>() {
        assert_eq!(d.to_string().parse::<Duration>().ok(), Some(d), "{s}");
    }
}

fn check_fleet(s: &str) -> usize {
    let mut loaded = 0;
    for fleet in [Fleet::from_yaml_str(s), Fleet::from_json_str(s)]
        .into_iter()
        .flatten()
    {
        loaded += 1;
        let json = fleet.to_json_string().unwrap();
        assert_eq!(Fleet::from_json_str(&json).unwrap(), fleet);
    }
    loaded
}

#[test]
fn seeds_pass_the_fuzz_checks() {
    seeds("version").iter().for_each(|s| check_version(s));
    seeds("duration").iter().for_each(|s| check_duration(s));
    let loaded: usize = seeds("fleet_file").iter().map(|s| check_fleet(s)).sum();
    assert!(loaded >= 2, "the fleet seeds should load");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_versions(s in "[v0-9.+a-z-]{0,20}") { check_version(&s); }

    #[test]
    fn random_durations(s in "-?([0-9]{0,4}(w|d|h|m|s|ms|us|ns|x)?){0,4}") { check_duration(&s); }

    /// Seeds with a random span replaced by random text: loaders return, never panic.
    #[test]
    fn mutated_fleet_files(seed in prop::sample::select(seeds("fleet_file")), at in 0.0f64..1.0, len in 0usize..12, junk in "\\PC{0,8}") {
        let mut chars: Vec<char> = seed.chars().collect();
        let start = ((chars.len() as f64) * at) as usize;
        let end = (start + len).min(chars.len());
        chars.splice(start..end, junk.chars());
        let text: String = chars.into_iter().collect();
        check_fleet(&text);
    }
}
