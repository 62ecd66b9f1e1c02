#![no_main]
//! The selector text form: never panics; what parses prints canonically and parses back
//! equal; compiling against the synthetic schema never panics, nor does rendering its errors.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        match fleet_selectors::parse(s) {
            Ok(sel) => {
                let text = sel.to_string();
                let again = fleet_selectors::parse(&text).expect("display parses back");
                assert_eq!(again, sel, "{text}");
            }
            Err(e) => {
                let _ = e.render();
            }
        }
        if let Err(e) = fleet_selectors::compile(s, &fleet_core::synth::schema()) {
            let _ = e.render();
        }
    }
});
