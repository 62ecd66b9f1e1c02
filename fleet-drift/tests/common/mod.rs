//! Shared helpers: loading the fixtures and walking documents.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::Value;

pub(crate) const FIXTURES: &[&str] = &[
    "deployment.argocd-apply.kcm-status.yaml",
    "deployment.argocd-update.kubectl-csa.kcm-status.yaml",
    "deployment.janitor-apply.argocd-update.kcm.yaml",
    "deployment.kcm-owns-spec-replicas.yaml",
    "endpoints.json-encoded.json",
    "replicationcontroller.kubectl-csa.kcm-status.yaml",
    "service.argocd-apply.kubectl-csa.status.yaml",
    "tridentbackendconfig.crd.argocd-application-controller.yaml",
    "validatingwebhookconfiguration.argocd.external-secrets.yaml",
];

pub(crate) fn load(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "testdata",
        "managed-fields",
        name,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_yaml_ng::from_str(&text).unwrap()
    }
}

/// The document in the `kubectl.kubernetes.io/last-applied-configuration` annotation.
pub(crate) fn last_applied(doc: &Value) -> Option<Value> {
    let text = doc
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")?
        .as_str()?;
    Some(serde_json::from_str(text).unwrap())
}

/// Every scalar leaf of `doc`, as a JSON Pointer.
pub(crate) fn leaves(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &mut String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    walk(c, at, out);
                    at.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(c, at, out);
                    at.truncate(len);
                }
            }
            _ => out.push(at.clone()),
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut out);
    out
}

/// A value that differs from `v` and cannot equal a built-in default.
pub(crate) fn edited(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(format!("{s}-edited")),
        Value::Number(n) => Value::from(n.as_f64().unwrap_or(0.0) as i64 + 1_000_003),
        Value::Bool(b) => Value::Bool(!b),
        _ => Value::String("edited".into()),
    }
}
