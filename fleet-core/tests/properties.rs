//! Property tests: file round trips, schema validation, the change feed and snapshots
//! against a simple model.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleet_core::{
    Actor, ChangeKind, Duration, Expect, FeedCursor, Fleet, HistoryEntry, Inventory,
    InventoryError, Mutation, ObservedState, ProblemKind, PropertyDef, Reachability, Schema,
    Target, TargetId, Value, ValueType, Version,
};
use proptest::prelude::*;

fn schema() -> Schema {
    Schema::new()
        .with("region", PropertyDef::new(ValueType::String).required())
        .with(
            "tier",
            PropertyDef::new(ValueType::String).allowed(["prod".into(), "dev".into()]),
        )
        .with("nodes", PropertyDef::new(ValueType::Integer))
        .with("cost", PropertyDef::new(ValueType::Float))
        .with("gpu", PropertyDef::new(ValueType::Bool))
        .with("version", PropertyDef::new(ValueType::Version))
        .with("touched", PropertyDef::new(ValueType::Timestamp))
        .with("ttl", PropertyDef::new(ValueType::Duration))
        .with(
            "zones",
            PropertyDef::new(ValueType::List(Box::new(ValueType::String))),
        )
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,12}",
        // Strings YAML would misread if written bare.
        Just("yes".to_owned()),
        Just("null".to_owned()),
        Just("1.30".to_owned()),
        Just("~".to_owned()),
        Just(" padded ".to_owned()),
        Just("a: b".to_owned()),
        "\\PC{0,10}",
    ]
}

fn version() -> impl Strategy<Value = Version> {
    (
        prop::collection::vec(0u64..40, 1..=4),
        prop::option::of("[-+][a-z0-9]{1,4}(\\.[0-9]{1,6})?"),
    )
        .prop_map(|(parts, suffix)| {
            Version::from_parts(&parts, &suffix.unwrap_or_default()).unwrap()
        })
}

fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (-2_000_000_000i64..8_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

prop_compose! {
    fn target()(
        id in "[a-z][a-z0-9.-]{0,20}",
        kind in prop::sample::select(vec!["cluster", "edge-site", "vm-pool"]),
        substrate in prop::sample::select(vec!["aws", "gcp", "azure", "on-prem"]),
        region in text(),
        tier in prop::option::of(prop::sample::select(vec!["prod", "dev"])),
        nodes in prop::option::of(any::<i64>()),
        cost in prop::option::of(-1e12f64..1e12),
        gpu in prop::option::of(any::<bool>()),
        version in prop::option::of(version()),
        touched in prop::option::of(timestamp()),
        ttl in prop::option::of(-10_000_000_000i64..10_000_000_000),
        zones in prop::option::of(prop::collection::vec(text(), 0..3)),
        labels in prop::collection::btree_map("[a-z]{1,8}(/[a-z]{1,5})?", text(), 0..4),
        caps in prop::collection::btree_set("[a-z]{2,5}\\.[a-z0-9-]{1,8}", 0..3),
    ) -> Target {
        let mut t = Target::new(TargetId::new(id).unwrap(), kind, substrate).property("region", region);
        if let Some(x) = tier { t = t.property("tier", x); }
        if let Some(x) = nodes { t = t.property("nodes", x); }
        if let Some(x) = cost { t = t.property("cost", x); }
        if let Some(x) = gpu { t = t.property("gpu", x); }
        if let Some(x) = version { t = t.property("version", x); }
        if let Some(x) = touched { t = t.property("touched", x); }
        if let Some(x) = ttl { t = t.property("ttl", Duration::from_delta(chrono::TimeDelta::milliseconds(x))); }
        if let Some(x) = zones { t = t.property("zones", Value::List(x.into_iter().map(Value::String).collect())); }
        t.labels = labels;
        t.capabilities = caps;
        t
    }
}

/// Values of every type, drawn from small pools so that equal pairs are common.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["a", "b", "eu-west-1"]).prop_map(|s| Value::String(s.into())),
        (-2i64..2).prop_map(Value::Integer),
        prop::sample::select(vec![0.0, -0.0, 1.5, f64::NAN]).prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            "1.29",
            "1.29.0",
            "1.29.0-eks-1",
            "1.29.0-eks-01",
            "1.30"
        ])
        .prop_map(|v| Value::Version(Version::parse(v).unwrap())),
        (0i64..2).prop_map(|s| Value::Timestamp(DateTime::from_timestamp(s, 0).unwrap())),
        (0i64..2)
            .prop_map(|s| Value::Duration(Duration::from_delta(chrono::TimeDelta::seconds(s)))),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop::collection::vec(inner, 0..3).prop_map(Value::List)
    })
}

fn fleet() -> impl Strategy<Value = Fleet> {
    prop::collection::vec(target(), 0..6).prop_map(|ts| {
        let mut seen = std::collections::BTreeSet::new();
        Fleet {
            schema: Some(schema()),
            targets: ts
                .into_iter()
                .filter(|t| seen.insert(t.id.clone()))
                .collect(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Equality is written out per type for speed; it must say exactly what `cmp` says.
    #[test]
    fn value_eq_agrees_with_cmp(a in value(), b in value()) {
        prop_assert_eq!(a == b, a.cmp(&b) == std::cmp::Ordering::Equal, "{:?} vs {:?}", a, b);
        prop_assert!(a == a.clone());
    }

    #[test]
    fn json_round_trip(f in fleet()) {
        let text = f.to_json_string().unwrap();
        prop_assert_eq!(Fleet::from_json_str(&text).unwrap(), f);
    }

    #[test]
    fn yaml_round_trip(f in fleet()) {
        let text = f.to_yaml_string().unwrap();
        let back = Fleet::from_yaml_str(&text);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
        prop_assert_eq!(back.unwrap(), f);
    }

    /// Break `k` distinct properties in `k` distinct ways: validation names each one.
    #[test]
    fn schema_validation_reports_every_problem(t in target(), breaks in prop::sample::subsequence(vec![0usize, 1, 2, 3, 4], 0..=5)) {
        let mut t = t;
        let mut expected = BTreeMap::new();
        for b in &breaks {
            match b {
                0 => { t.properties.remove("region"); expected.insert("region", "missing"); }
                1 => { t.properties.insert("tier".into(), "staging".into()); expected.insert("tier", "allowed"); }
                2 => { t.properties.insert("nodes".into(), Value::Bool(true)); expected.insert("nodes", "type"); }
                3 => { t.properties.insert("reigon".into(), "x".into()); expected.insert("reigon", "unknown"); }
                _ => { t.properties.insert("version".into(), "1.2".into()); expected.insert("version", "type"); }
            }
        }
        let problems = schema().validate_target(&t);
        let got: BTreeMap<&str, &str> = problems.iter().map(|p| {
            let kind = match &p.kind {
                ProblemKind::MissingRequired => "missing",
                ProblemKind::NotAllowed { .. } => "allowed",
                ProblemKind::WrongType { .. } => "type",
                ProblemKind::UnknownProperty { suggestion } => {
                    assert_eq!(suggestion.as_deref(), Some("region"));
                    "unknown"
                }
                other => panic!("{other:?}"),
            };
            (p.property.as_deref().unwrap(), kind)
        }).collect();
        prop_assert_eq!(problems.len(), breaks.len());
        prop_assert_eq!(got, expected);
    }
}

/// The model: what the inventory should hold.
#[derive(Debug, Clone, Default)]
struct Model {
    targets: BTreeMap<String, (Target, u64)>,
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize, String, bool),
    PutExpecting(usize, u64),
    Observe(usize, u32),
    Record(usize),
    Remove(usize),
    Snapshot,
    Read(u8, usize),
}

const IDS: &[&str] = &["a", "b", "c", "d", "e"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..IDS.len(), "[a-z]{1,3}", any::<bool>()).prop_map(|(i, r, d)| Op::Put(i, r, d)),
        1 => (0..IDS.len(), 0u64..40).prop_map(|(i, g)| Op::PutExpecting(i, g)),
        2 => (0..IDS.len(), 0u32..59).prop_map(|(i, m)| Op::Observe(i, m)),
        1 => (0..IDS.len()).prop_map(Op::Record),
        2 => (0..IDS.len()).prop_map(Op::Remove),
        1 => Just(Op::Snapshot),
        2 => (0u8..2, 1usize..4).prop_map(|(c, n)| Op::Read(c, n)),
    ]
}

fn make(i: usize, region: &str, with_doc: bool) -> Target {
    let t =
        Target::new(TargetId::new(IDS[i]).unwrap(), "cluster", "aws").property("region", region);
    if with_doc {
        t.desired(fleet_core::Document::new(
            serde_json::json!({ "region": region }),
        ))
    } else {
        t
    }
}

fn obs(m: u32) -> ObservedState {
    ObservedState {
        at: DateTime::from_timestamp(1_700_000_000 + i64::from(m) * 60, 0).unwrap(),
        reachability: Reachability::Reachable,
        document: None,
    }
}

fn summary(c: &fleet_core::Change) -> (u64, u32, &'static str) {
    let kind = match c.kind {
        ChangeKind::Inserted { .. } => "inserted",
        ChangeKind::Updated { .. } => "updated",
        ChangeKind::Observed { .. } => "observed",
        ChangeKind::HistoryAppended => "history",
        ChangeKind::Removed { .. } => "removed",
        _ => "other",
    };
    (c.generation.0, c.slot.0, kind)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random mutations, checked against a model after every step; two cursors read the
    /// feed at different positions and paces and must see exactly the same changes in the
    /// same order; every snapshot still reads what it read when it was taken.
    #[test]
    fn inventory_matches_model_feed_and_snapshots(ops in prop::collection::vec(op(), 1..60)) {
        let mut inv = Inventory::new();
        let mut model = Model::default();
        let mut cursors = [FeedCursor::at(inv.generation()), FeedCursor::at(inv.generation())];
        let mut seen: [Vec<(u64, u32, &'static str)>; 2] = [Vec::new(), Vec::new()];
        let mut snapshots = Vec::new();
        for op in ops {
            match op {
                Op::Put(i, region, doc) => {
                    let t = make(i, &region, doc);
                    let a = inv.put(t.clone()).unwrap();
                    let keep = model.targets.get(IDS[i]).map(|(old, _)| (old.observed.clone(), old.history.clone()));
                    let mut t = t;
                    if let Some((o, h)) = keep { t.observed = o; t.history = h; }
                    model.targets.insert(IDS[i].to_owned(), (t, a.generation.0));
                }
                Op::PutExpecting(i, g) => {
                    let r = inv.apply(Mutation::Put { target: make(i, "x", false), expect: Expect::Generation(fleet_core::Generation(g)) });
                    match model.targets.get_mut(IDS[i]) {
                        Some((t, g0)) if *g0 == g => {
                            let a = r.unwrap();
                            let mut n = make(i, "x", false);
                            n.observed = t.observed.clone();
                            n.history = t.history.clone();
                            *t = n;
                            *g0 = a.generation.0;
                        }
                        _ => { let is_conflict = matches!(r, Err(InventoryError::Conflict { .. })); prop_assert!(is_conflict); }
                    }
                }
                Op::Observe(i, m) => {
                    let r = inv.observe(&TargetId::new(IDS[i]).unwrap(), obs(m));
                    match model.targets.get_mut(IDS[i]) {
                        Some((t, _)) => { r.unwrap(); t.observed = Some(obs(m)); }
                        None => { let is_nf = matches!(r, Err(InventoryError::NotFound(_))); prop_assert!(is_nf); }
                    }
                }
                Op::Record(i) => {
                    let entry = HistoryEntry { at: obs(0).at, actor: Actor::human("p"), action: "poke".into(), detail: None };
                    let r = inv.apply(Mutation::Record { id: TargetId::new(IDS[i]).unwrap(), entry: entry.clone() });
                    match model.targets.get_mut(IDS[i]) {
                        Some((t, _)) => { r.unwrap(); t.history.push(entry); }
                        None => prop_assert!(r.is_err()),
                    }
                }
                Op::Remove(i) => {
                    let r = inv.remove(&TargetId::new(IDS[i]).unwrap());
                    prop_assert_eq!(r.is_ok(), model.targets.remove(IDS[i]).is_some());
                }
                Op::Snapshot => {
                    let s = inv.snapshot();
                    let content: Vec<Target> = s.iter().map(|t| t.to_target()).collect();
                    snapshots.push((s, content));
                }
                Op::Read(c, n) => {
                    let batch = cursors[c as usize].read(&inv, n).unwrap();
                    prop_assert!(batch.len() <= n);
                    seen[c as usize].extend(batch.iter().map(summary));
                }
            }
            // Differential check against the model after every step.
            prop_assert_eq!(inv.len(), model.targets.len());
            for (id, (t, g0)) in &model.targets {
                let got = inv.get(id).unwrap();
                prop_assert_eq!(got.generation().0, *g0);
                prop_assert_eq!(&got.to_target(), t);
            }
            // Live slots are distinct.
            let mut slots: Vec<u32> = inv.view().iter().map(|t| t.slot().0).collect();
            slots.dedup();
            prop_assert_eq!(slots.len(), inv.len());
        }
        for (c, cursor) in cursors.iter_mut().enumerate() {
            loop {
                let batch = cursor.read(&inv, 2).unwrap();
                if batch.is_empty() { break; }
                seen[c].extend(batch.iter().map(summary));
            }
        }
        let all: Vec<_> = inv.changes_since(fleet_core::Generation::ZERO).unwrap().map(summary).collect();
        prop_assert_eq!(&seen[0], &all);
        prop_assert_eq!(&seen[1], &all);
        for (s, content) in &snapshots {
            let now: Vec<Target> = s.iter().map(|t| t.to_target()).collect();
            prop_assert_eq!(&now, content);
        }
    }

    /// `put_all` gathers column writes; the inventory and the feed it leaves are exactly
    /// those of one `put_ref` per target, up to and including a refused target.
    #[test]
    fn put_all_is_put_ref_for_each(
        ts in prop::collection::vec((target(), 0usize..12, 0usize..20), 0..60),
        preloaded in 0usize..12,
    ) {
        let targets: Vec<(Target, Expect)> = ts
            .into_iter()
            .map(|(mut t, id, how)| {
                t.id = TargetId::new(format!("t{id}")).unwrap();
                // mostly replacements allowed; now and then an insert that may be refused
                let expect = if how == 0 { Expect::Absent } else { Expect::Any };
                (t, expect)
            })
            .collect();
        let mut one_by_one = Inventory::new();
        let mut bulk = Inventory::new();
        for i in 0..preloaded {
            let t = Target::new(TargetId::new(format!("t{i}")).unwrap(), "cluster", "aws").property("region", "r0").label("team", "a");
            one_by_one.put_ref(&t, Expect::Any).unwrap();
            bulk.put_ref(&t, Expect::Any).unwrap();
        }
        // put_all takes one expectation: split the input where it changes
        let mut i = 0;
        while i < targets.len() {
            let expect = targets[i].1;
            let run: Vec<&Target> = targets[i..].iter().take_while(|(_, e)| *e == expect).map(|(t, _)| t).collect();
            let mut stop = None;
            for (k, t) in run.iter().enumerate() {
                if let Err(e) = one_by_one.put_ref(t, expect) {
                    stop = Some((k, e));
                    break;
                }
            }
            let got = bulk.put_all(run.iter().copied(), expect);
            match stop {
                None => prop_assert_eq!(got, Ok(run.len())),
                Some((k, e)) => {
                    let err = got.unwrap_err();
                    prop_assert_eq!((err.index, err.error), (k, e));
                    break;
                }
            }
            i += run.len();
        }
        let (a, b) = (one_by_one.snapshot(), bulk.snapshot());
        prop_assert_eq!(a.generation(), b.generation());
        prop_assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b.iter()) {
            prop_assert_eq!(x.to_target(), y.to_target());
            prop_assert_eq!(a.record(x.slot()), b.record(y.slot()));
        }
        let fa: Vec<_> = one_by_one.changes_since(fleet_core::Generation::ZERO).unwrap().cloned().collect();
        let fb: Vec<_> = bulk.changes_since(fleet_core::Generation::ZERO).unwrap().cloned().collect();
        prop_assert_eq!(fa, fb);
    }

    /// A snapshot taken before a burst of writes to a larger inventory reads the old values.
    #[test]
    fn snapshots_ignore_later_bursts(n in 1usize..3000, writes in prop::collection::vec((0usize..3000, "[a-z]{1,4}"), 1..200)) {
        let mut inv = Inventory::new();
        for i in 0..n {
            inv.insert(Target::new(TargetId::new(format!("t{i}")).unwrap(), "cluster", "aws").property("region", "r0")).unwrap();
        }
        let snap = inv.snapshot();
        for (i, region) in &writes {
            let id = format!("t{}", i % n);
            if region.len() == 4 {
                let _ = inv.remove(&TargetId::new(id).unwrap());
            } else {
                inv.put(Target::new(TargetId::new(id).unwrap(), "cluster", "aws").property("region", region.as_str())).unwrap();
            }
        }
        prop_assert_eq!(snap.len(), n);
        for t in snap.iter() {
            prop_assert_eq!(t.property("region").unwrap().to_value(), Value::from("r0"));
        }
    }
}
