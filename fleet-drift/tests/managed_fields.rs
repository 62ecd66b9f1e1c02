//! `metadata.managedFields` of every fixture, and malformed entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FIXTURES, load};
use fleet_drift::{
    FieldsV1Problem, ListKey, ManagedFields, ManagedFieldsError, Operation, OwnershipMatch, Path,
    Segment, SetValue,
};
use serde_json::json;

fn f(name: &str) -> Segment {
    Segment::field(name)
}

fn key(pairs: &[(&str, serde_json::Value)]) -> Segment {
    Segment::Key(ListKey::new(pairs.iter().map(|(k, v)| (*k, v))))
}

fn containers() -> Vec<Segment> {
    ["spec", "template", "spec", "containers"]
        .into_iter()
        .map(f)
        .collect()
}

/// (manager, operation, subresource, has time) of one entry.
type EntrySummary<'a> = (&'a str, Operation, Option<&'a str>, bool);

/// Every entry of every fixture.
#[test]
fn every_fixture_parses_with_its_managers() {
    let want: &[(&str, &[EntrySummary<'_>])] = &[
        (
            "deployment.argocd-apply.kcm-status.yaml",
            &[
                ("argocd-controller", Operation::Apply, None, true),
                (
                    "kube-controller-manager",
                    Operation::Update,
                    Some("status"),
                    true,
                ),
            ],
        ),
        (
            "deployment.argocd-update.kubectl-csa.kcm-status.yaml",
            &[
                ("argocd-controller", Operation::Update, None, true),
                ("kubectl-client-side-apply", Operation::Update, None, true),
                (
                    "kube-controller-manager",
                    Operation::Update,
                    Some("status"),
                    true,
                ),
            ],
        ),
        (
            "deployment.janitor-apply.argocd-update.kcm.yaml",
            &[
                ("janitor", Operation::Apply, None, true),
                ("argocd", Operation::Update, None, true),
                ("kube-controller-manager", Operation::Update, None, true),
            ],
        ),
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            &[
                ("revision-history-manager", Operation::Apply, None, true),
                ("argocd", Operation::Update, None, true),
                ("kube-controller-manager", Operation::Update, None, true),
            ],
        ),
        (
            "endpoints.json-encoded.json",
            &[("main", Operation::Update, None, false)],
        ),
        (
            "replicationcontroller.kubectl-csa.kcm-status.yaml",
            &[
                (
                    "kube-controller-manager",
                    Operation::Update,
                    Some("status"),
                    true,
                ),
                ("kubectl-client-side-apply", Operation::Update, None, true),
            ],
        ),
        (
            "service.argocd-apply.kubectl-csa.status.yaml",
            &[
                ("argocd-controller", Operation::Apply, None, true),
                ("kubectl-client-side-apply", Operation::Update, None, true),
                (
                    "kube-vpnkit-forwarder",
                    Operation::Update,
                    Some("status"),
                    true,
                ),
            ],
        ),
        (
            "tridentbackendconfig.crd.argocd-application-controller.yaml",
            &[
                (
                    "argocd-application-controller",
                    Operation::Update,
                    None,
                    true,
                ),
                ("trident_orchestrator", Operation::Update, None, true),
            ],
        ),
        (
            "validatingwebhookconfiguration.argocd.external-secrets.yaml",
            &[
                ("argocd", Operation::Update, None, true),
                ("external-secrets", Operation::Update, None, true),
            ],
        ),
    ];
    assert_eq!(want.len(), FIXTURES.len());
    for (file, entries) in want {
        let managed = ManagedFields::from_object(&load(file)).unwrap();
        let got: Vec<_> = managed
            .entries()
            .iter()
            .map(|e| {
                (
                    e.manager.as_str(),
                    e.operation,
                    e.subresource.as_deref(),
                    e.time.is_some(),
                )
            })
            .collect();
        assert_eq!(got, *entries, "{file}");
        assert!(
            managed.entries().iter().all(|e| !e.fields.is_empty()),
            "{file}"
        );
    }
}

/// (fixture, path, how, owning managers).
#[test]
fn ownership_table() {
    let mut web = containers();
    web.push(key(&[("name", json!("guestbook-ui"))]));
    let mut web_image = web.clone();
    web_image.push(f("image"));
    let mut web_port = web.clone();
    web_port.extend([
        f("ports"),
        key(&[("containerPort", json!(80)), ("protocol", json!("TCP"))]),
        f("protocol"),
    ]);
    let mut web_env = web.clone();
    web_env.extend([
        f("env"),
        key(&[("name", json!("SOME_ENV_VAR"))]),
        f("value"),
    ]);
    let mut selector_label = vec![f("spec"), f("selector"), f("matchLabels"), f("app")];
    let cases: Vec<(&str, Vec<Segment>, OwnershipMatch, &[&str])> = vec![
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            vec![f("spec"), f("replicas")],
            OwnershipMatch::Exact,
            &["argocd", "kube-controller-manager"],
        ),
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            vec![f("spec"), f("revisionHistoryLimit")],
            OwnershipMatch::Exact,
            &["revision-history-manager", "argocd"],
        ),
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            web_image.clone(),
            OwnershipMatch::Exact,
            &["argocd"],
        ),
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            web_port,
            OwnershipMatch::Exact,
            &["argocd"],
        ),
        // `f:selector: {}` is atomic: it owns what is inside.
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            std::mem::take(&mut selector_label),
            OwnershipMatch::Ancestor { depth: 2 },
            &["argocd"],
        ),
        // A field nobody lists, inside a container argocd owns (`.`).
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            {
                let mut p = web.clone();
                p.push(f("args"));
                p
            },
            OwnershipMatch::Ancestor { depth: 5 },
            &["argocd"],
        ),
        // A whole subtree: owned through its fields.
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            vec![f("status")],
            OwnershipMatch::Descendant,
            &["kube-controller-manager"],
        ),
        (
            "deployment.janitor-apply.argocd-update.kcm.yaml",
            web_env,
            OwnershipMatch::Exact,
            &["argocd"],
        ),
        (
            "deployment.janitor-apply.argocd-update.kcm.yaml",
            vec![f("metadata"), f("annotations"), f("iksm-version")],
            OwnershipMatch::Exact,
            &["janitor"],
        ),
        (
            "tridentbackendconfig.crd.argocd-application-controller.yaml",
            vec![
                f("metadata"),
                f("finalizers"),
                Segment::Value(SetValue::new(&json!("trident.netapp.io"))),
            ],
            OwnershipMatch::Exact,
            &["trident_orchestrator"],
        ),
        (
            "service.argocd-apply.kubectl-csa.status.yaml",
            vec![
                f("spec"),
                f("ports"),
                key(&[("port", json!(443)), ("protocol", json!("TCP"))]),
                f("targetPort"),
            ],
            OwnershipMatch::Exact,
            &["argocd-controller"],
        ),
        (
            "service.argocd-apply.kubectl-csa.status.yaml",
            vec![
                f("spec"),
                f("ports"),
                key(&[("port", json!(1935)), ("protocol", json!("TCP"))]),
                f("name"),
            ],
            OwnershipMatch::Exact,
            &["argocd-controller", "kubectl-client-side-apply"],
        ),
        (
            "endpoints.json-encoded.json",
            vec![f("subsets")],
            OwnershipMatch::Exact,
            &["main"],
        ),
    ];
    for (file, segments, how, managers) in cases {
        let managed = ManagedFields::from_object(&load(file)).unwrap();
        let path = Path::from_segments(segments);
        let owners = managed
            .owners(&path)
            .unwrap_or_else(|| panic!("{file} {path}: no owner"));
        assert_eq!(owners.how, how, "{file} {path}");
        assert_eq!(
            owners.managers().collect::<Vec<_>>(),
            managers,
            "{file} {path}"
        );
    }
    let managed =
        ManagedFields::from_object(&load("deployment.kcm-owns-spec-replicas.yaml")).unwrap();
    assert!(managed.owners(&Path::fields(["spec", "paused"])).is_none());
}

#[test]
fn times_and_nulls() {
    let managed = ManagedFields::from_object(&load("endpoints.json-encoded.json")).unwrap();
    assert_eq!(managed.entries()[0].time, None);
    let managed =
        ManagedFields::from_object(&load("deployment.kcm-owns-spec-replicas.yaml")).unwrap();
    assert_eq!(
        managed.entries()[2].time.unwrap().to_rfc3339(),
        "2021-12-01T21:07:55+00:00"
    );
    assert!(
        ManagedFields::from_object(&json!({"metadata": {}}))
            .unwrap()
            .entries()
            .is_empty()
    );
}

fn entry(fields: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"managedFields": [
        {"manager": "ok", "operation": "Update", "fieldsV1": {"f:a": {}}},
        {"manager": "m", "operation": "Apply", "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields}
    ]}})
}

/// Every malformed input gives a typed error with its exact text, naming entry and key.
#[test]
fn malformed_managed_fields() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"metadata": {"managedFields": {}}}),
            "`metadata.managedFields` must be a list, not an object",
        ),
        (
            json!({"metadata": {"managedFields": [1]}}),
            "managed fields entry 0 must be an object, not a number",
        ),
        (
            json!({"metadata": {"managedFields": [{"operation": "Update"}]}}),
            "managed fields entry 0 has no `manager`",
        ),
        (
            json!({"metadata": {"managedFields": [{"manager": 3}]}}),
            "managed fields entry 0: `manager` must be a string, not a number",
        ),
        (
            json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Patch"}]}}),
            "managed fields entry 0: unknown operation `Patch`; expected `Apply` or `Update`",
        ),
        (
            json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "fieldsType": "FieldsV2"}]}}),
            "managed fields entry 0: unsupported fieldsType `FieldsV2`; expected `FieldsV1`",
        ),
        (
            json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "time": "yesterday"}]}}),
            "managed fields entry 0: `time` is not an RFC 3339 timestamp: `yesterday`",
        ),
        (
            entry(json!({"f:spec": {"k:{\"name\":": {}}})),
            "managed fields entry 1: bad `fieldsV1`",
        ),
        (entry(json!([])), "managed fields entry 1: bad `fieldsV1`"),
    ];
    for (input, message) in cases {
        let e = ManagedFields::from_object(&input).unwrap_err();
        assert_eq!(e.to_string(), message);
    }
    let e = ManagedFields::from_object(&entry(
        json!({"f:spec": {"f:containers": {"k:{\"name\":": {}}}}),
    ))
    .unwrap_err();
    assert_eq!(e.entry(), Some(1));
    let ManagedFieldsError::FieldsV1 { source, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(source.key, "k:{\"name\":");
    assert_eq!(source.under.to_string(), "spec.containers");
    assert!(matches!(source.problem, FieldsV1Problem::InvalidJson(_)));
    for (fields, problem) in [
        (
            json!({"q:x": {}}),
            "unknown prefix; expected `f:`, `k:`, `v:`, `i:` or `.`",
        ),
        (json!({"k:\"x\"": {}}), "a `k:` key must hold a JSON object"),
        (
            json!({"i:x": {}}),
            "an `i:` key must hold a non-negative integer",
        ),
        (
            json!({"f:a": true}),
            "the value must be an object, not a boolean",
        ),
        (
            json!({"f:a": {".": {"f:b": {}}}}),
            "the value must be an object, not a non-empty object",
        ),
    ] {
        let e = ManagedFields::from_object(&entry(fields)).unwrap_err();
        let ManagedFieldsError::FieldsV1 { source, entry } = e else {
            panic!()
        };
        assert_eq!(entry, 1);
        assert_eq!(source.problem.to_string(), problem);
    }
    // Absurd nesting is an error, not a stack overflow.
    let mut deep = json!({});
    for _ in 0..100 {
        deep = json!({"f:a": deep, ".": {}});
    }
    let e = ManagedFields::from_object(&entry(deep)).unwrap_err();
    let ManagedFieldsError::FieldsV1 { source, .. } = e else {
        panic!()
    };
    assert!(matches!(
        source.problem,
        FieldsV1Problem::TooDeep { limit: 64 }
    ));
}
