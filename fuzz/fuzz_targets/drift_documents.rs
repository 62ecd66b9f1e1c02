#![no_main]
//! fleet-drift on untrusted documents: JSON text split into two documents is diffed, applied
//! and attributed; nothing panics, `diff(a, a)` is empty and, for documents of one kind,
//! `apply(a, diff(a, b))` gives `normalize(b)` whenever the diff succeeds.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (left, right) = text.split_once('\u{1e}').unwrap_or((text, text));
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<serde_json::Value>(left),
        serde_json::from_str::<serde_json::Value>(right),
    ) else {
        return;
    };
    let differ = fleet_drift::Differ::kubernetes();
    if let Ok(d) = differ.diff(&a, &a) {
        assert!(d.changes().is_empty());
    }
    // documents of different kinds are compared under the desired one's rules (documented)
    if a.get("kind") == b.get("kind")
        && let Ok(d) = differ.diff(&a, &b)
        && let (Ok(patched), Ok(want)) = (differ.apply(&a, &d), differ.normalize(&b))
    {
        assert_eq!(patched, want);
    }
    let _ = fleet_drift::ManagedFields::from_object(&b);
    let _ = differ.diff_objects(std::slice::from_ref(&a), std::slice::from_ref(&b));
    // The classifier: a report or a typed error.
    if let Ok(classifier) = fleet_drift::Classifier::kubernetes()
        && let Ok(target) = fleet_core::TargetId::new("fuzz")
    {
        let target = fleet_core::Target::new(target, "cluster", "k8s");
        let _ = classifier.assess(
            &fleet_drift::TargetInput::new(
                &target,
                chrono::DateTime::UNIX_EPOCH,
                std::slice::from_ref(&a),
                fleet_drift::Observed::Objects(std::slice::from_ref(&b)),
            ),
            &mut fleet_drift::DriftMemory::default(),
        );
    }
});
