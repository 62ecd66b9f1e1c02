#![no_main]
//! `Version::parse` must never panic, and what it accepts must print and parse back equal.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(v) = fleet_core::Version::parse(s) {
            let again = fleet_core::Version::parse(&v.to_string()).expect("display parses back");
            assert_eq!(again, v);
        }
    }
});
