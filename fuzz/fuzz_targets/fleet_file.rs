#![no_main]
//! Fleet files from untrusted bytes: errors, never panics; what loads saves and loads back.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for fleet in [fleet_core::Fleet::from_yaml_str(s), fleet_core::Fleet::from_json_str(s)]
            .into_iter()
            .flatten()
        {
            if let Ok(json) = fleet.to_json_string() {
                let _ = fleet_core::Fleet::from_json_str(&json);
            }
        }
    }
});
