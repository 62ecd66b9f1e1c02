use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::{Actor, PropertyDef, Reachability, ValueType};

fn id(s: &str) -> TargetId {
    TargetId::new(s).unwrap()
}

fn target(s: &str) -> Target {
    Target::new(id(s), "cluster", "aws").property("region", "eu-west-1")
}

fn observed(minute: u32) -> ObservedState {
    ObservedState {
        at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
        reachability: Reachability::Reachable,
        document: None,
    }
}

#[test]
fn generations_increase_and_stamp_targets() {
    let mut inv = Inventory::new();
    let a = inv.insert(target("a")).unwrap();
    let b = inv.insert(target("b")).unwrap();
    assert_eq!(a.generation, Generation(1));
    assert_eq!(b.generation, Generation(2));
    assert_eq!(inv.generation(), Generation(2));
    assert_eq!(inv.get("a").unwrap().generation(), Generation(1));
    assert_eq!((a.slot, b.slot), (Slot(0), Slot(1)));
}

#[test]
fn stale_expectations_are_refused_and_change_nothing() {
    let mut inv = Inventory::new();
    let a = inv.insert(target("a")).unwrap();
    inv.put(target("a").property("region", "us-east-1"))
        .unwrap();
    let err = inv
        .apply(Mutation::Put {
            target: target("a").property("region", "ap-south-1"),
            expect: Expect::Generation(a.generation),
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "conflict on target `a`: expected generation 1, found generation 2"
    );
    assert_eq!(inv.generation(), Generation(2));
    assert_eq!(
        inv.get("a").unwrap().property("region"),
        Some(ValueRef::String("us-east-1"))
    );
    assert!(matches!(
        inv.insert(target("a")),
        Err(InventoryError::Conflict {
            actual: Some(Generation(2)),
            ..
        })
    ));
    assert!(matches!(
        inv.apply(Mutation::Remove {
            id: id("zz"),
            expect: Expect::Any
        }),
        Err(InventoryError::NotFound(_))
    ));
    assert_eq!(inv.changes_since(Generation::ZERO).unwrap().count(), 2);
}

#[test]
fn schema_violations_are_refused_with_every_problem() {
    let schema = Schema::new()
        .with("region", PropertyDef::new(ValueType::String).required())
        .with("nodes", PropertyDef::new(ValueType::Integer));
    let mut inv = Inventory::with_options(InventoryOptions::default().schema(schema));
    let bad = Target::new(id("x"), "cluster", "aws").property("nodes", "three");
    let err = inv.insert(bad).unwrap_err();
    let InventoryError::Invalid { source, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(source.problems.len(), 2);
    assert!(inv.is_empty());
    assert_eq!(inv.generation(), Generation::ZERO);
}

#[test]
fn observations_do_not_rewrite_the_specification() {
    let mut inv = Inventory::new();
    inv.insert(target("a")).unwrap();
    let before = Arc::clone(inv.get("a").unwrap().spec);
    let snap = inv.snapshot();
    inv.observe(&id("a"), observed(1)).unwrap();
    let t = inv.get("a").unwrap();
    // The specification is the same allocation, and the property columns were not
    // copied (the snapshot still shares them).
    assert!(Arc::ptr_eq(&before, t.spec));
    assert!(Arc::ptr_eq(&snap.props, &inv.view().props));
    assert_eq!(t.observed(), Some(&observed(1)));
    assert_eq!(t.generation(), before.generation);
    let last = inv
        .changes_since(Generation(1))
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(matches!(last.kind, ChangeKind::Observed { old: None, .. }));
}

#[test]
fn identical_desired_documents_are_stored_once() {
    let mut inv = Inventory::new();
    let doc = || Document::new(json!({"kind": "Deployment", "spec": {"replicas": 3}}));
    inv.insert(target("a").desired(doc())).unwrap();
    inv.insert(target("b").desired(doc())).unwrap();
    inv.insert(target("c").desired(Document::new(json!({"other": 1}))))
        .unwrap();
    let a = inv.get("a").unwrap().desired().unwrap();
    let b = inv.get("b").unwrap().desired().unwrap();
    let c = inv.get("c").unwrap().desired().unwrap();
    assert!(Arc::ptr_eq(a, b));
    assert!(!Arc::ptr_eq(a, c));
    assert_eq!(inv.stats().documents, 2);
}

#[test]
fn lookup_by_native_id_follows_changes() {
    let mut inv = Inventory::new();
    let arn = NativeId::new("arn:aws:eks:eu-west-1:1:cluster/a").unwrap();
    inv.insert(target("a").native_id(arn.clone())).unwrap();
    assert_eq!(inv.view().get_by_native(arn.as_str()).unwrap().id(), "a");
    let err = inv.insert(target("b").native_id(arn.clone())).unwrap_err();
    assert!(matches!(err, InventoryError::NativeIdTaken { .. }), "{err}");
    let other = NativeId::new("arn:aws:eks:eu-west-1:1:cluster/a2").unwrap();
    inv.put(target("a").native_id(other.clone())).unwrap();
    assert!(inv.view().get_by_native(arn.as_str()).is_none());
    assert_eq!(inv.view().get_by_native(other.as_str()).unwrap().id(), "a");
    inv.remove(&id("a")).unwrap();
    assert!(inv.view().get_by_native(other.as_str()).is_none());
}

#[test]
fn slots_are_not_reused_while_an_older_snapshot_lives() {
    let mut inv = Inventory::new();
    inv.insert(target("a")).unwrap();
    inv.insert(target("b")).unwrap();
    let old = inv.snapshot();
    inv.remove(&id("a")).unwrap();
    let c = inv.insert(target("c")).unwrap();
    assert_eq!(c.slot, Slot(2), "slot 0 is still visible in `old`");
    assert_eq!(old.slot(Slot(0)).unwrap().id(), "a");
    drop(old);
    let d = inv.insert(target("d")).unwrap();
    assert_eq!(d.slot, Slot(0), "no snapshot sees slot 0 any more");
    assert_eq!(inv.stats().slots, 3);
}

#[test]
fn a_snapshot_after_the_removal_does_not_block_reuse() {
    let mut inv = Inventory::new();
    inv.insert(target("a")).unwrap();
    inv.remove(&id("a")).unwrap();
    let later = inv.snapshot();
    assert!(later.get("a").is_none());
    assert_eq!(inv.insert(target("b")).unwrap().slot, Slot(0));
    assert!(later.slot(Slot(0)).is_none());
}

#[test]
fn an_older_snapshot_blocks_reuse_of_later_removals_too() {
    let mut inv = Inventory::new();
    for s in ["a", "b", "c"] {
        inv.insert(target(s)).unwrap();
    }
    let oldest = inv.snapshot();
    inv.remove(&id("a")).unwrap();
    let middle = inv.snapshot();
    inv.remove(&id("b")).unwrap();
    drop(middle);
    // `oldest` still sees a and b.
    assert_eq!(inv.insert(target("x")).unwrap().slot, Slot(3));
    drop(oldest);
    let y = inv.insert(target("y")).unwrap().slot;
    let z = inv.insert(target("z")).unwrap().slot;
    assert_eq!([y, z], [Slot(0), Slot(1)]);
}

#[test]
fn the_feed_reports_lag_instead_of_dropping() {
    let mut inv = Inventory::with_options(InventoryOptions::default().feed_capacity(3));
    for s in ["a", "b", "c", "d", "e"] {
        inv.insert(target(s)).unwrap();
    }
    assert_eq!(
        inv.changes_since(Generation(1)).err(),
        Some(FeedError::Lagged {
            since: Generation(1),
            dropped_through: Generation(2)
        })
    );
    let gens: Vec<u64> = inv
        .changes_since(Generation(2))
        .unwrap()
        .map(|c| c.generation.0)
        .collect();
    assert_eq!(gens, [3, 4, 5]);
    assert!(matches!(
        inv.changes_since(Generation(9)),
        Err(FeedError::Ahead { .. })
    ));
    let mut cursor = FeedCursor::at(Generation(0));
    assert!(cursor.read(&inv, 10).is_err());
    assert_eq!(cursor.position(), Generation(0));
}

#[test]
fn history_is_bounded_and_counts_what_it_dropped() {
    let mut inv = Inventory::with_options(InventoryOptions::default().history_limit(2));
    inv.insert(target("a")).unwrap();
    for i in 0..5 {
        inv.apply(Mutation::Record {
            id: id("a"),
            entry: HistoryEntry {
                at: observed(i).at,
                actor: Actor::human("alice"),
                action: format!("step {i}"),
                detail: None,
            },
        })
        .unwrap();
    }
    let h = inv.get("a").unwrap().history().unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["step 3", "step 4"]);
    assert_eq!(h.dropped(), 3);
}

#[derive(Debug)]
struct Jumps(u64);

impl Sequencer for Jumps {
    fn next_generation(&mut self, last: Generation) -> Result<Generation, SequencerError> {
        self.0 += 10;
        if self.0 > 30 {
            return Err(SequencerError {
                message: "store unavailable".into(),
            });
        }
        Ok(Generation(last.0.max(self.0)))
    }
}

#[test]
fn a_pluggable_sequencer_decides_generations() {
    let mut inv = Inventory::new().with_sequencer(Box::new(Jumps(0)));
    assert_eq!(inv.insert(target("a")).unwrap().generation, Generation(10));
    assert_eq!(inv.insert(target("b")).unwrap().generation, Generation(20));
    assert_eq!(inv.insert(target("c")).unwrap().generation, Generation(30));
    let err = inv.insert(target("d")).unwrap_err();
    assert_eq!(err.to_string(), "sequencer failed: store unavailable");
    assert!(inv.get("d").is_none());
    assert_eq!(inv.len(), 3);
    // The slot taken for `d` goes back to the free list.
    assert_eq!(inv.stats().free_slots, 1);
    assert!(matches!(
        inv.apply_at(
            Mutation::Remove {
                id: id("a"),
                expect: Expect::Any
            },
            Generation(30)
        ),
        Err(InventoryError::StaleGeneration { .. })
    ));
    inv.apply_at(
        Mutation::Remove {
            id: id("a"),
            expect: Expect::Any,
        },
        Generation(31),
    )
    .unwrap();
    assert_eq!(inv.generation(), Generation(31));
}

#[test]
fn to_target_round_trips() {
    let mut inv = Inventory::new();
    let t = target("a")
        .property(
            "version",
            crate::Value::Version("1.29.3-eks-1".parse().unwrap()),
        )
        .property("nodes", 3)
        .property("ratio", 0.5)
        .property("ok", true)
        .property("tags", crate::Value::List(vec!["x".into(), "y".into()]))
        .property(
            "far",
            crate::Value::Timestamp(Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap()),
        )
        .label("team", "atlas")
        .capability("gpu.nvidia-h100")
        .depends_on(id("b"))
        .native_id(NativeId::new("n1").unwrap())
        .desired(Document::new(json!({"a": 1})));
    inv.insert(t.clone()).unwrap();
    assert_eq!(inv.get("a").unwrap().to_target(), t);
}

#[test]
fn dependency_syms_resolve_to_slots() {
    let mut inv = Inventory::new();
    inv.insert(target("b")).unwrap();
    inv.insert(target("c")).unwrap();
    inv.insert(target("a").depends_on(id("c")).depends_on(id("gone")))
        .unwrap();
    let snap = inv.snapshot();
    let a = snap.get("a").unwrap();
    assert_eq!(a.dependency_syms().len(), 2);
    let slots: Vec<Option<Slot>> = a
        .dependency_syms()
        .iter()
        .map(|s| snap.slot_of_sym(*s))
        .collect();
    // `c` is live; `gone` was never inserted, so its symbol has no slot
    assert!(slots.contains(&Some(snap.get("c").unwrap().slot())));
    assert!(slots.contains(&None));
}

/// More new targets than one gathered batch, then replacements of some of them in the same
/// call: the same records and the same feed as one put per target.
#[test]
fn put_all_across_batches_matches_one_put_per_target() {
    let fleet = crate::synth::generate(&crate::synth::FleetSpec::new(PUT_ALL_BATCH * 2 + 300));
    let mut targets: Vec<&Target> = fleet.targets.iter().collect();
    // replacements of early targets late in the input, with other values
    let replaced: Vec<Target> = fleet
        .targets
        .iter()
        .step_by(997)
        .map(|t| {
            t.clone()
                .property("tier", "staging")
                .label("frozen", "true")
        })
        .collect();
    targets.extend(replaced.iter());
    let mut one = Inventory::new();
    for t in &targets {
        one.put_ref(t, Expect::Any).unwrap();
    }
    let mut all = Inventory::new();
    assert_eq!(
        all.put_all(targets.iter().copied(), Expect::Any),
        Ok(targets.len())
    );
    let (a, b) = (one.snapshot(), all.snapshot());
    assert_eq!(a.len(), fleet.targets.len());
    assert_eq!((a.len(), a.slot_end()), (b.len(), b.slot_end()));
    for s in 0..a.slot_end() {
        assert_eq!(a.record(Slot(s)), b.record(Slot(s)), "slot {s}");
    }
    let changes = |inv: &Inventory| -> Vec<Change> {
        inv.changes_since(Generation::ZERO)
            .unwrap()
            .cloned()
            .collect()
    };
    assert_eq!(changes(&one), changes(&all));
    // collecting owned targets takes the same path
    let collected: Inventory = targets.iter().map(|t| (*t).clone()).collect();
    let c = collected.view();
    for s in 0..a.slot_end() {
        assert_eq!(a.record(Slot(s)), c.record(Slot(s)), "slot {s}");
    }
    assert_eq!(changes(&one), changes(&collected));
    let t = replaced.first().unwrap();
    assert_eq!(
        b.get(t.id.as_str()).unwrap().property("tier"),
        Some(ValueRef::String("staging"))
    );
}
