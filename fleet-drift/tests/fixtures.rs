//! The real API-server objects of `testdata/managed-fields`, diffed against their
//! last-applied configuration and against edited copies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FIXTURES, edited, last_applied, leaves, load};
use fleet_drift::{ChangeKind, Differ, ManagedFields, Origin, OwnershipMatch, Segment};
use serde_json::{Value, json};

fn summary(diff: &fleet_drift::Diff) -> Vec<String> {
    diff.iter()
        .map(|c| format!("{} {}", c.kind, c.path))
        .collect()
}

/// What the live object adds to (or changes from) the configuration kubectl last applied.
/// Defaults the API server fills in (termination message path, dnsPolicy, strategy, ...),
/// server fields and reordered lists do not show up; what the server or a controller really
/// changed does.
#[test]
fn last_applied_vs_live() {
    let cases: &[(&str, &[&str])] = &[
        (
            "deployment.janitor-apply.argocd-update.kcm.yaml",
            &["added spec.template.spec.containers[name=guestbook-ui].imagePullPolicy"],
        ),
        (
            "deployment.kcm-owns-spec-replicas.yaml",
            &[
                "changed spec.replicas",
                "added spec.template.spec.containers[name=guestbook-ui].imagePullPolicy",
            ],
        ),
        ("endpoints.json-encoded.json", &[]),
        (
            "replicationcontroller.kubectl-csa.kcm-status.yaml",
            &[
                "added spec.selector",
                "added spec.template.spec.containers[name=test-rc].imagePullPolicy",
            ],
        ),
        (
            "service.argocd-apply.kubectl-csa.status.yaml",
            &[
                "added metadata.labels",
                "added spec.clusterIP",
                "added spec.clusterIPs",
                "added spec.externalTrafficPolicy",
                "added spec.ipFamilies",
                "added spec.ipFamilyPolicy",
                "added spec.ports[port=1935,protocol=TCP].nodePort",
                "removed spec.ports[port=1935,protocol=UDP]",
                "added spec.ports[port=1986,protocol=UDP].nodePort",
                "added spec.ports[port=443,protocol=TCP]",
                "added spec.type",
            ],
        ),
        (
            "validatingwebhookconfiguration.argocd.external-secrets.yaml",
            &[
                "changed webhooks[name=validate.externalsecret.external-secrets.io].clientConfig.caBundle",
                "added webhooks[name=validate.externalsecret.external-secrets.io].clientConfig.service.port",
                "added webhooks[name=validate.externalsecret.external-secrets.io].failurePolicy",
                "added webhooks[name=validate.externalsecret.external-secrets.io].matchPolicy",
                "added webhooks[name=validate.externalsecret.external-secrets.io].namespaceSelector",
                "added webhooks[name=validate.externalsecret.external-secrets.io].objectSelector",
            ],
        ),
    ];
    let differ = Differ::kubernetes();
    for (file, want) in cases {
        let live = load(file);
        let desired = last_applied(&live).unwrap();
        let diff = differ.diff(&desired, &live).unwrap();
        assert_eq!(summary(&diff), *want, "{file}");
        assert!(diff.fallbacks().is_empty(), "{file}");
        assert_eq!(
            differ.apply(&desired, &diff).unwrap(),
            differ.normalize(&live).unwrap(),
            "{file}"
        );
    }
}

/// Key fields of the built-in keyed lists: editing one renames the element, which is a
/// removal and an addition, not one change (as is editing a set element).
const KEY_FIELDS: &[&str] = &["name", "containerPort", "protocol", "port", "type"];

/// Edits every leaf of every fixture's normal form in turn: each edit is exactly one change,
/// at the edited leaf (resolved back to a JSON Pointer), and applying it reproduces the
/// edited document.
#[test]
fn every_single_leaf_edit_is_exactly_one_change() {
    let differ = Differ::kubernetes();
    let mut edits = 0;
    for file in FIXTURES {
        let base = differ.normalize(&load(file)).unwrap();
        for pointer in leaves(&base) {
            let mut doc = base.clone();
            let slot = doc.pointer_mut(&pointer).unwrap();
            *slot = edited(slot);
            let diff = differ.diff(&base, &doc).unwrap();
            let field = pointer.rsplit('/').next().unwrap();
            let set_element = field.parse::<usize>().is_ok();
            if diff.len() == 2 && (KEY_FIELDS.contains(&field) || set_element) {
                let kinds: Vec<_> = diff.iter().map(|c| c.kind).collect();
                assert!(kinds.contains(&ChangeKind::Added) && kinds.contains(&ChangeKind::Removed));
                assert!(diff.iter().all(|c| matches!(
                    c.path.segments().last(),
                    Some(Segment::Key(_) | Segment::Value(_))
                )));
            } else {
                assert_eq!(diff.len(), 1, "{file} {pointer}: {:?}", summary(&diff));
                let change = &diff.changes()[0];
                assert_eq!(change.kind, ChangeKind::Changed, "{file} {pointer}");
                assert_eq!(
                    differ.json_pointer_in(&change.path, &doc).as_deref(),
                    Some(pointer.as_str()),
                    "{file}"
                );
            }
            assert_eq!(
                differ.apply(&base, &diff).unwrap(),
                differ.normalize(&doc).unwrap(),
                "{file} {pointer}"
            );
            edits += 1;
        }
    }
    assert!(edits > 150, "only {edits} leaves edited");
}

fn reverse_keyed_lists(v: &mut Value, parent: &str, kind: &str) -> usize {
    let mut n = 0;
    match v {
        Value::Array(items) => {
            let keyed = matches!(
                parent,
                "containers" | "env" | "webhooks" | "finalizers" | "conditions"
            ) || (parent == "ports" && kind != "Endpoints");
            if keyed && items.len() > 1 {
                items.reverse();
                n += 1;
            }
            for item in items {
                n += reverse_keyed_lists(item, parent, kind);
            }
        }
        Value::Object(m) => {
            for (k, c) in m {
                n += reverse_keyed_lists(c, k, kind);
            }
        }
        _ => {}
    }
    n
}

#[test]
fn reordered_keyed_lists_are_not_drift() {
    let differ = Differ::kubernetes();
    let mut reversed = 0;
    for file in FIXTURES {
        let live = load(file);
        let kind = live["kind"].as_str().unwrap().to_owned();
        let mut copy = live.clone();
        reversed += reverse_keyed_lists(&mut copy, "", &kind);
        assert!(differ.diff(&live, &copy).unwrap().is_empty(), "{file}");
        assert!(differ.equivalent(&live, &copy).unwrap(), "{file}");
    }
    // Two containers, three Service ports, status conditions.
    assert!(reversed >= 4, "{reversed}");
}

fn respell(v: &mut Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter_mut()
            .map(|(k, c)| {
                if let Value::String(s) = c
                    && (k == "memory" || k == "cpu")
                {
                    let new = match s.as_str() {
                        "100Mi" => "104857600",
                        "50m" => "0.05",
                        other => panic!("add a respelling for {other}"),
                    };
                    *s = new.to_owned();
                    1
                } else {
                    respell(c)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(respell).sum(),
        _ => 0,
    }
}

#[test]
fn respelled_quantities_are_not_drift() {
    let differ = Differ::kubernetes();
    let mut respelled = 0;
    for file in FIXTURES {
        let live = load(file);
        let mut copy = live.clone();
        let n = respell(&mut copy);
        respelled += n;
        let diff = differ.diff(&live, &copy).unwrap();
        assert!(diff.is_empty(), "{file}: {:?}", summary(&diff));
        if n > 0 {
            // Under plain JSON rules the same edit is drift.
            assert_eq!(
                Differ::new(fleet_drift::DiffOptions::plain())
                    .diff(&live, &copy)
                    .unwrap()
                    .len(),
                n
            );
        }
    }
    assert_eq!(respelled, 4);
}

/// A changed container field is attributed through the same path the diff reports:
/// `k:{"name":"main-container"}` joins `containers[name=main-container]`.
#[test]
fn container_edits_join_their_managers() {
    let differ = Differ::kubernetes();
    let cases = [
        (
            "deployment.argocd-update.kubectl-csa.kcm-status.yaml",
            0,
            "argocd-controller",
        ),
        (
            "deployment.argocd-update.kubectl-csa.kcm-status.yaml",
            1,
            "kubectl-client-side-apply",
        ),
        (
            "deployment.argocd-apply.kcm-status.yaml",
            0,
            "argocd-controller",
        ),
        (
            "deployment.janitor-apply.argocd-update.kcm.yaml",
            0,
            "argocd",
        ),
        (
            "replicationcontroller.kubectl-csa.kcm-status.yaml",
            0,
            "kubectl-client-side-apply",
        ),
    ];
    for (file, container, manager) in cases {
        let live = load(file);
        let mut desired = live.clone();
        let image = &mut desired["spec"]["template"]["spec"]["containers"][container]["image"];
        *image = json!("registry.example/pinned@sha256:0000");
        let diff = differ.diff(&desired, &live).unwrap();
        assert_eq!(diff.len(), 1, "{file}");
        let path = &diff.changes()[0].path;
        let managed = ManagedFields::from_object(&live).unwrap();
        let owners = managed.owners(path).unwrap();
        assert_eq!(owners.how, OwnershipMatch::Exact, "{file} {path}");
        assert_eq!(
            owners.managers().collect::<Vec<_>>(),
            [manager],
            "{file} {path}"
        );
    }
}

#[test]
fn ca_bundle_is_owned_by_external_secrets() {
    let file = "validatingwebhookconfiguration.argocd.external-secrets.yaml";
    let live = load(file);
    let diff = Differ::kubernetes()
        .diff(&last_applied(&live).unwrap(), &live)
        .unwrap();
    let managed = ManagedFields::from_object(&live).unwrap();
    let owner_of = |suffix: &str| {
        let c = diff
            .iter()
            .find(|c| c.path.to_string().ends_with(suffix))
            .unwrap();
        let o = managed.owners(&c.path).unwrap();
        (o.how, o.managers().collect::<Vec<_>>())
    };
    assert_eq!(
        owner_of("caBundle"),
        (OwnershipMatch::Exact, vec!["external-secrets"])
    );
    assert_eq!(
        owner_of("failurePolicy"),
        (OwnershipMatch::Exact, vec!["argocd"])
    );
    // argocd owns `f:service` with `.`, and `f:port` inside it.
    assert_eq!(
        owner_of("service.port"),
        (OwnershipMatch::Exact, vec!["argocd"])
    );
}

/// On the 2021 capture where kube-controller-manager scaled the Deployment: a new image in
/// Git is "desired moved", the replica count is "observed moved".
#[test]
fn three_way_on_a_scaled_deployment() {
    let live = load("deployment.kcm-owns-spec-replicas.yaml");
    let last = last_applied(&live).unwrap();
    let mut desired = last.clone();
    desired["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("quay.io/argoprojlabs/argocd-e2e-container:0.2");
    let diff = Differ::kubernetes().diff3(&last, &desired, &live).unwrap();
    let got: Vec<(String, Origin)> = diff
        .changes
        .iter()
        .map(|c| (c.change.path.to_string(), c.origin))
        .collect();
    assert_eq!(
        got,
        [
            ("spec.replicas".to_owned(), Origin::ObservedMoved),
            (
                "spec.template.spec.containers[name=guestbook-ui].image".to_owned(),
                Origin::DesiredMoved
            ),
            (
                "spec.template.spec.containers[name=guestbook-ui].imagePullPolicy".to_owned(),
                Origin::ObservedMoved
            ),
        ]
    );
    let managed = ManagedFields::from_object(&live).unwrap();
    let replicas = managed.owners(&diff.changes[0].change.path).unwrap();
    assert_eq!(
        replicas.managers().collect::<Vec<_>>(),
        ["argocd", "kube-controller-manager"]
    );
    assert_eq!(
        replicas.latest().unwrap().manager,
        "kube-controller-manager"
    );
}

#[test]
fn object_sets_report_missing_unexpected_and_changed() {
    let differ = Differ::kubernetes();
    // Two fixtures are captures of one Deployment; keep one of them.
    let observed: Vec<Value> = FIXTURES
        .iter()
        .filter(|f| **f != "deployment.kcm-owns-spec-replicas.yaml")
        .map(|f| load(f))
        .collect();
    let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": "default"}, "spec": {"podSelector": {}}});
    let mut desired: Vec<Value> = observed
        .iter()
        .filter(|o| o["kind"] != "ValidatingWebhookConfiguration")
        .cloned()
        .collect();
    desired.push(policy);
    desired[0]["spec"]["replicas"] = json!(5);
    let diff = differ.diff_objects(&desired, &observed).unwrap();
    assert_eq!(
        diff.missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["networking.k8s.io/NetworkPolicy default/default-deny"]
    );
    assert_eq!(
        diff.unexpected
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["admissionregistration.k8s.io/ValidatingWebhookConfiguration externalsecret-validate"]
    );
    assert_eq!(diff.changed.len(), 1);
    assert_eq!(
        diff.changed[0].0.to_string(),
        "apps/Deployment default/nginx-deployment"
    );
    assert_eq!(summary(&diff.changed[0].1), ["changed spec.replicas"]);
}
