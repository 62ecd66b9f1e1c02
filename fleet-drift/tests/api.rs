//! Behaviour through the public API: bad input, secrets, rules, trait bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fleet_drift::{
    ChangeKind, DiffError, DiffOptions, Differ, FallbackReason, FieldPattern, KeyField, LeafRule,
    ManagedFields, Side,
};
use serde_json::{Value, json};

#[test]
fn public_types_are_send_sync_and_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<Differ>();
    check::<DiffOptions>();
    check::<fleet_drift::Diff>();
    check::<fleet_drift::Change>();
    check::<fleet_drift::Path>();
    check::<ManagedFields>();
    check::<fleet_drift::ManagedFieldsError>();
    check::<DiffError>();
    check::<fleet_drift::ApplyError>();
    check::<fleet_drift::ObjectSetDiff>();
    check::<fleet_drift::ThreeWayDiff>();
}

#[test]
fn non_object_documents_are_typed_errors() {
    let d = Differ::kubernetes();
    let e = d.diff(&json!([1]), &json!({})).unwrap_err();
    assert_eq!(
        e,
        DiffError::NotAnObject {
            side: Side::Desired,
            found: "an array"
        }
    );
    assert_eq!(
        e.to_string(),
        "the desired document is not an object but an array"
    );
    let e = d.diff(&json!({}), &json!("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the observed document is not an object but a string"
    );
    assert!(d.normalize(&Value::Null).is_err());
    let e = d
        .diff3(&json!(1), &json!({"a": 1}), &json!({"a": 2}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the last-applied document is not an object but a number"
    );
}

fn nested(depth: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!({"a": v})
        } else {
            json!([v])
        };
    }
    v
}

#[test]
fn absurd_nesting_is_an_error_not_a_crash() {
    let d = Differ::kubernetes();
    let a = nested(1_001, json!(1));
    let b = nested(1_001, json!(2));
    let e = d.diff(&a, &b).unwrap_err();
    assert!(matches!(e, DiffError::TooDeep { limit: 128, .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("the document nests deeper than 128 levels at `a.a.")
    );
    assert!(matches!(d.normalize(&a), Err(DiffError::TooDeep { .. })));
    assert!(matches!(
        d.equivalent(&a, &b),
        Err(DiffError::TooDeep { .. })
    ));
    // Equal documents short-circuit before any walk.
    assert!(d.diff(&a, &a).unwrap().is_empty());
    // The limit is configurable.
    let shallow = Differ::new(DiffOptions::kubernetes().max_depth(3));
    assert!(
        shallow
            .diff(
                &json!({"a": {"b": {"c": {"d": 1}}}}),
                &json!({"a": {"b": {"c": {"d": 2}}}})
            )
            .is_err()
    );
    // Dropping a deep document is the caller's; build ours iteratively and drop in pieces.
    for v in [a, b] {
        let mut v = v;
        loop {
            v = match v {
                Value::Object(mut m) => match m.remove("a") {
                    Some(x) => x,
                    None => break,
                },
                Value::Array(mut items) => match items.pop() {
                    Some(x) => x,
                    None => break,
                },
                _ => break,
            };
        }
    }
}

#[test]
fn keyed_lists_with_bad_keys_fall_back_to_positions() {
    let d = Differ::kubernetes();
    let a = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"image": "2"}]}});
    let b = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"image": "3"}]}});
    let diff = d.diff(&a, &b).unwrap();
    assert_eq!(diff.len(), 1);
    assert_eq!(
        diff.changes()[0].path.to_string(),
        "spec.containers[1].image"
    );
    assert_eq!(diff.fallbacks().len(), 2);
    assert_eq!(diff.fallbacks()[0].side, Side::Desired);
    assert_eq!(diff.fallbacks()[0].index, 1);
    assert_eq!(
        diff.fallbacks()[0].reason,
        FallbackReason::MissingKey {
            field: "name".into()
        }
    );

    let a =
        json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "a", "image": "2"}]}});
    let b =
        json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "a", "image": "3"}]}});
    let diff = d.diff(&a, &b).unwrap();
    assert_eq!(
        diff.changes()[0].path.to_string(),
        "spec.containers[1].image"
    );
    assert!(matches!(
        &diff.fallbacks()[0].reason,
        FallbackReason::DuplicateKey { .. }
    ));
    assert_eq!(d.apply(&a, &diff).unwrap(), d.normalize(&b).unwrap());

    let diff = d
        .diff(&json!({"env": [1, 2]}), &json!({"env": [2, 1]}))
        .unwrap();
    assert_eq!(diff.len(), 2);
    assert_eq!(diff.fallbacks()[0].reason, FallbackReason::NotAnObject);
}

#[test]
fn secrets_never_show_plaintext() {
    let d = Differ::kubernetes();
    // "hunter2" and "hunter3", base64.
    let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "stringData": {"password": "hunter2"}});
    let same = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"});
    let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"password": "aHVudGVyMw=="}});
    let diff = d.diff(&desired, &same).unwrap();
    assert_eq!(diff.len(), 1, "only `type` differs: {diff:?}");
    assert_eq!(diff.changes()[0].path.to_string(), "type");
    let diff = d.diff(&desired, &changed).unwrap();
    assert_eq!(diff.len(), 1);
    let change = &diff.changes()[0];
    assert_eq!(change.path.to_string(), "data.password");
    let shown = serde_json::to_string(&diff).unwrap() + &format!("{change} {diff:?}");
    for secret in ["hunter", "aHVudGVy"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        change
            .desired
            .as_ref()
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // A salt changes the digests, not the verdict.
    let salted = Differ::new(DiffOptions::kubernetes().secret_salt(b"per-fleet salt"));
    let salted_diff = salted.diff(&desired, &changed).unwrap();
    assert_eq!(salted_diff.len(), 1);
    assert_ne!(salted_diff.changes()[0].desired, change.desired);
    assert_eq!(
        d.apply(&desired, &diff).unwrap(),
        d.normalize(&changed).unwrap()
    );
}

#[test]
fn values_compare_by_meaning() {
    let d = Differ::kubernetes();
    let cases = [
        // int-or-string
        (
            json!({"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": "8080"}]}}),
            json!({"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}),
        ),
        (
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}}),
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "1"}}}}),
        ),
        // quantities, also as numbers
        (
            json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}}),
            json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}}}]}}),
        ),
        // integral floats, nulls
        (
            json!({"spec": {"replicas": 3.0, "paused": null}}),
            json!({"spec": {"replicas": 3}}),
        ),
        // finalizers are a set
        (
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "a"]}}),
        ),
    ];
    for (a, b) in cases {
        let diff = d.diff(&a, &b).unwrap();
        assert!(diff.is_empty(), "{a} vs {b}: {diff:?}");
    }
    // ... but a percentage is not a number, and `1G` is not `1Gi`.
    let diff = d
        .diff(
            &json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}}),
            &json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 25}}}}),
        )
        .unwrap();
    assert_eq!(diff.len(), 1);
    let diff = d.diff(&json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "1G"}}}]}}),
                      &json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}]}})).unwrap();
    assert_eq!(diff.changes()[0].desired, Some(json!("1G")));
    assert_eq!(diff.changes()[0].observed, Some(json!("1Gi")));
    assert_eq!(diff.changes()[0].kind, ChangeKind::Changed);
}

#[test]
fn rules_are_configurable() {
    let a = json!({"kind": "Gateway", "spec": {"listeners": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
        "metadata": {"labels": {"team.example.com/owner": "a"}}});
    let b = json!({"kind": "Gateway", "spec": {"listeners": [{"name": "https", "port": 443}, {"name": "http", "port": 8080}]},
        "metadata": {"labels": {"team.example.com/owner": "b"}}});
    let plain = Differ::kubernetes().diff(&a, &b).unwrap();
    assert_eq!(plain.len(), 5);
    let options = DiffOptions::kubernetes()
        .ignore(FieldPattern::parse(r#"metadata.labels["team.example.com/owner"]"#).unwrap())
        .keyed_list(
            FieldPattern::parse("spec.listeners")
                .unwrap()
                .for_kinds(["Gateway"]),
            [KeyField::new("name")],
        )
        .leaf(FieldPattern::parse("**.port").unwrap(), LeafRule::Redact);
    let diff = Differ::new(options).diff(&a, &b).unwrap();
    assert_eq!(diff.len(), 1);
    assert_eq!(
        diff.changes()[0].path.to_string(),
        "spec.listeners[name=http].port"
    );
    assert!(
        diff.changes()[0]
            .observed
            .as_ref()
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn object_sets_reject_bad_identities() {
    let d = Differ::kubernetes();
    let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
    let e = d.diff_objects([&ok, &ok], []).unwrap_err();
    assert_eq!(
        e.to_string(),
        "object `ConfigMap n/a` appears twice in the desired set"
    );
    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    let e = d.diff_objects([], [&ok, &nameless]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "object 1 of the observed set has no string `metadata.name`"
    );
}
