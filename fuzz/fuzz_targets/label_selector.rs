#![no_main]
//! Kubernetes label selector strings: never panic; what parses prints (apimachinery's
//! canonical form) and parses back equal.

use fleet_selectors::LabelSelector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(sel) = LabelSelector::parse(s) {
            let text = sel.to_string();
            let again = LabelSelector::parse(&text).expect("display parses back");
            assert_eq!(again, sel, "{text}");
        }
    }
});
