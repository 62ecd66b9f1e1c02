#![no_main]
//! Durations: never panic; accepted text prints and parses back equal.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(d) = s.parse::<fleet_core::Duration>() {
            assert_eq!(d.to_string().parse::<fleet_core::Duration>().ok(), Some(d));
        }
    }
});
