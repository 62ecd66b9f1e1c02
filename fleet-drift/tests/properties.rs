//! Property tests: `diff(a, a)` is empty, `apply(a, diff(a, b)) == normalize(b)`, the
//! normal form is idempotent and agrees with `equivalent`, one edit is one change, and
//! keyed-list reorders and quantity respellings are not drift.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use fleet_drift::{DiffOptions, Differ};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys and scalars chosen so that the Kubernetes rules fire: keyed lists (with missing and
/// duplicate keys), ignored and defaulted fields, quantities, int-or-string, nulls.
const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "containers",
    "env",
    "ports",
    "containerPort",
    "protocol",
    "resources",
    "limits",
    "cpu",
    "status",
    "spec",
    "metadata",
    "finalizers",
    "replicas",
    "targetPort",
    "value",
    "dnsPolicy",
    "uid",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::from),
        prop_oneof![Just(1.0), Just(2.5), Just(-0.0)].prop_map(|f: f64| json!(f)),
        prop_oneof![
            Just("x"),
            Just("web"),
            Just("TCP"),
            Just("1"),
            Just("1000m"),
            Just("8080"),
            Just("25%"),
            Just("100Mi"),
            Just("104857600"),
            Just("ClusterFirst"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

/// A list of objects keyed by `name` (and `containerPort`), mostly with usable keys, so
/// that merge-by-key, not only the positional fallback, is exercised.
fn keyed(inner: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> {
    let element = (
        prop::option::weighted(0.9, prop::sample::select(&["a", "b", "c", "d"][..])),
        prop::option::of(0i64..3),
        prop::option::of(inner),
    )
        .prop_map(|(name, port, extra)| {
            let mut m = Map::new();
            if let Some(n) = name {
                m.insert("name".into(), json!(n));
            }
            if let Some(p) = port {
                m.insert("containerPort".into(), json!(p));
            }
            if let Some(e) = extra {
                m.insert("value".into(), e);
            }
            Value::Object(m)
        });
    prop::collection::vec(element, 0..4).prop_map(Value::Array)
}

fn document() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    let value = leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            keyed(inner.clone()),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    });
    prop::collection::vec((prop::sample::select(KEYS), value), 0..6).prop_map(|kv| {
        Value::Object(
            kv.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

/// Shuffles every list (keyed or not) and edits a few scalars, recursively, so that `b`
/// shares most of its structure with `a`.
fn perturb(v: &mut Value, seed: &mut u64) {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    };
    match v {
        Value::Array(items) => {
            for i in (1..items.len()).rev() {
                let j = (next() as usize) % (i + 1);
                items.swap(i, j);
            }
            if next() % 5 == 0 {
                items.pop();
            }
            for item in items {
                perturb(item, seed);
            }
        }
        Value::Object(m) => {
            for (_, c) in m.iter_mut() {
                perturb(c, seed);
            }
        }
        other => {
            if next() % 4 == 0 {
                *other = json!(["1", "1000m", "x", "8080"][(next() % 4) as usize]);
            }
        }
    }
}

fn differs() -> [Differ; 2] {
    [Differ::kubernetes(), Differ::new(DiffOptions::plain())]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn diff_of_a_document_with_itself_is_empty(a in document()) {
        for d in differs() {
            prop_assert!(d.diff(&a, &a).unwrap().is_empty());
        }
    }

    #[test]
    fn applying_the_diff_gives_the_normal_form(a in document(), b in document()) {
        for d in differs() {
            let diff = d.diff(&a, &b).unwrap();
            let applied = d.apply(&a, &diff).unwrap();
            let nb = d.normalize(&b).unwrap();
            prop_assert_eq!(&applied, &nb, "diff: {:#?}", diff);
            // Equal normal forms exactly when the diff is empty, and `equivalent` agrees.
            let na = d.normalize(&a).unwrap();
            prop_assert_eq!(na == nb, diff.is_empty());
            prop_assert_eq!(d.equivalent(&a, &b).unwrap(), diff.is_empty());
            // The normal form is a fixed point.
            prop_assert_eq!(d.normalize(&nb).unwrap(), nb.clone());
            // Same input, same output.
            prop_assert_eq!(d.diff(&a, &b).unwrap(), diff);
        }
    }

    #[test]
    fn applying_the_diff_to_a_perturbed_copy_gives_the_normal_form(a in document(), seed in any::<u64>()) {
        let mut b = a.clone();
        let mut s = seed;
        perturb(&mut b, &mut s);
        for d in differs() {
            let diff = d.diff(&a, &b).unwrap();
            prop_assert_eq!(d.apply(&a, &diff).unwrap(), d.normalize(&b).unwrap(), "diff: {:#?}", diff);
            prop_assert_eq!(d.equivalent(&a, &b).unwrap(), diff.is_empty());
        }
    }
}

fn deployments() -> Vec<Value> {
    common::FIXTURES
        .iter()
        .filter(|f| f.starts_with("deployment."))
        .map(|f| common::load(f))
        .collect()
}

/// Shuffles keyed lists (containers, their ports and env) and respells quantities.
fn scramble(doc: &mut Value, seed: u64, parent: &str) {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    };
    match doc {
        Value::Array(items) if matches!(parent, "containers" | "ports" | "env") => {
            for i in (1..items.len()).rev() {
                let j = (next() as usize) % (i + 1);
                items.swap(i, j);
            }
            for item in items.iter_mut() {
                scramble(item, next(), "");
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                scramble(item, next(), "");
            }
        }
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if let Value::String(q) = v
                    && (k == "memory" || k == "cpu")
                {
                    let alt = match q.as_str() {
                        "100Mi" => ["104857600", "102400Ki", "0.09765625Gi"][(next() % 3) as usize],
                        "50m" => ["0.05", "50m", "5e-2"][(next() % 3) as usize],
                        _ => continue,
                    };
                    *q = alt.to_owned();
                } else {
                    scramble(v, next(), k);
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reorders_and_respellings_of_real_deployments_are_not_drift(which in 0usize..4, seed in any::<u64>()) {
        let d = Differ::kubernetes();
        let base = &deployments()[which];
        let mut copy = base.clone();
        scramble(&mut copy, seed, "");
        prop_assert!(d.diff(base, &copy).unwrap().is_empty());
        prop_assert_eq!(d.normalize(base).unwrap(), d.normalize(&copy).unwrap());
    }

    #[test]
    fn a_random_edit_of_a_real_deployment_is_one_change(which in 0usize..4, pick in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let d = Differ::kubernetes();
        let base = d.normalize(&deployments()[which]).unwrap();
        let leaves = common::leaves(&base);
        let pointer = pick.get(&leaves);
        let field = pointer.rsplit('/').next().unwrap();
        prop_assume!(!matches!(field, "name" | "containerPort" | "protocol"));
        let mut edited = base.clone();
        let slot = edited.pointer_mut(pointer).unwrap();
        *slot = common::edited(slot);
        // Reordering the edited copy's keyed lists changes nothing about the count.
        scramble(&mut edited, seed, "");
        let diff = d.diff(&base, &edited).unwrap();
        prop_assert_eq!(diff.len(), 1, "{}", pointer);
        prop_assert_eq!(d.apply(&base, &diff).unwrap(), d.normalize(&edited).unwrap());
    }
}

/// Found by the fuzz replay: a port element that lost its key field is compared by
/// position, and its protocol edited to the default `TCP` must vanish from the result as it
/// does from the normal form.
#[test]
fn a_value_changed_to_its_default_applies_as_the_normal_form() {
    let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "web", "ports": [{"containerPort": 80, "protocol": "TCJP"}]}]}}}});
    let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "web", "ports": [{"contaXnerPort": 80, "protocol": "TCP"}]}]}}}});
    let d = Differ::kubernetes();
    let diff = d.diff(&a, &b).unwrap();
    assert!(!diff.is_empty());
    assert_eq!(d.apply(&a, &diff).unwrap(), d.normalize(&b).unwrap());
}
