//! Every label selector in real manifests (Argo CD, Karmada, Rancher Fleet, NetworkPolicy,
//! Kyverno, an aggregated ClusterRole) parses, and fleet's translation matches exactly the
//! label sets Kubernetes' semantics match.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use fleet_core::{Schema, Target, TargetId};
use fleet_selectors::{CompiledSelector, LabelOp, LabelSelector, LabelSelectorSpec};
use serde::Deserialize;

/// Every map in the document that has `matchLabels` or `matchExpressions` and nothing else,
/// and every empty map under a `…Selector` key.
fn selectors_in(v: &serde_json::Value, path: &str, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            // `namespaceSelector: {}` is a selector too (it selects everything).
            let named = path.ends_with("Selector") || path.ends_with("selector");
            let is_selector = (named || !m.is_empty())
                && m.keys()
                    .all(|k| k == "matchLabels" || k == "matchExpressions");
            if is_selector {
                out.push((path.to_owned(), v.clone()));
            }
            for (k, x) in m {
                selectors_in(x, &format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                selectors_in(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn all_selectors() -> Vec<(String, LabelSelectorSpec)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/k8s/manifests");
    let mut found = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let docs: Vec<serde_json::Value> = if name.ends_with(".json") {
            vec![serde_json::from_str(&text).unwrap()]
        } else {
            serde_yaml_ng::Deserializer::from_str(&text)
                .map(|d| serde_json::Value::deserialize(d).unwrap())
                .collect()
        };
        for (i, doc) in docs.iter().enumerate() {
            let mut out = Vec::new();
            selectors_in(doc, &format!("{name}#{i}"), &mut out);
            for (p, v) in out {
                let spec: LabelSelectorSpec =
                    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{p}: {e}: {v}"));
                found.push((p, spec));
            }
        }
    }
    found
}

/// Label sets around a selector: one that satisfies it, and for each requirement one that
/// breaks just that requirement (or removes its key).
fn probes(s: &LabelSelector) -> Vec<BTreeMap<String, String>> {
    let mut base = BTreeMap::new();
    for r in s.requirements() {
        match r.op() {
            LabelOp::In | LabelOp::Equals | LabelOp::DoubleEquals => {
                // Keep a value an earlier requirement on the same key chose, if this one
                // accepts it too (`duck=spotted,duck in (canvasback,spotted)`).
                let keep = base
                    .get(r.key())
                    .is_some_and(|v| r.values().any(|x| x == v));
                if !keep {
                    base.insert(
                        r.key().to_owned(),
                        r.values().next().unwrap_or("").to_owned(),
                    );
                }
            }
            LabelOp::Exists => {
                base.insert(r.key().to_owned(), "present".to_owned());
            }
            LabelOp::NotIn | LabelOp::NotEquals => {
                base.insert(r.key().to_owned(), "something-else".to_owned());
            }
            _ => {}
        }
    }
    let mut out = vec![base.clone(), BTreeMap::new()];
    for r in s.requirements() {
        let mut removed = base.clone();
        removed.remove(r.key());
        out.push(removed);
        let mut changed = base.clone();
        changed.insert(r.key().to_owned(), "zz-not-a-listed-value".to_owned());
        out.push(changed);
        if let Some(v) = r.values().next() {
            let mut hit = base.clone();
            hit.insert(r.key().to_owned(), v.to_owned());
            out.push(hit);
        }
    }
    out
}

#[test]
fn real_manifest_selectors_parse_and_match_as_kubernetes_does() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let found = all_selectors();
    assert!(found.len() >= 12, "found {}", found.len());
    let mut ops = std::collections::BTreeSet::new();
    let mut empty = 0;
    let mut rejected = Vec::new();
    for (path, spec) in &found {
        // Argo CD's generator post-filter matches generator parameters, not labels, and its
        // example filters on URLs: Kubernetes' label validation rejects those values, and
        // so does this crate, with an error that names the value and the key.
        let s = match spec.to_label_selector() {
            Ok(s) => s,
            Err(e) => {
                rejected.push((path.clone(), e.to_string()));
                continue;
            }
        };
        empty += usize::from(s.is_empty());
        for r in s.requirements() {
            ops.insert(format!("{:?}", r.op()));
        }
        // The string form of the same selector parses back to it.
        assert_eq!(LabelSelector::parse(&s.to_string()).unwrap(), s, "{path}");
        let compiled = CompiledSelector::new(&s.to_selector(), &Schema::new()).unwrap();
        let probes = probes(&s);
        assert!(
            s.matches(probes.first().unwrap()),
            "{path}: `{s}` should match its own labels"
        );
        for labels in probes {
            let mut t = Target::new(TargetId::new("t").unwrap(), "cluster", "aws");
            t.labels = labels.clone();
            assert_eq!(
                compiled.matches(&t, now),
                s.matches(&labels),
                "{path}: `{s}` vs fleet `{}` on {labels:?}",
                s.to_selector()
            );
        }
    }
    assert_eq!(
        rejected,
        [(
            "argocd-applicationset.operator-manual.yaml#0.spec.generators[1].selector".to_owned(),
            "invalid label selector: `https://kubernetes.default.svc` is not a valid label value (key `server`)".to_owned()
        )]
    );
    // The corpus covers these operators and an empty selector (matches everything).
    for op in ["Equals", "In", "NotIn", "Exists"] {
        assert!(ops.contains(op), "{op} not covered: {ops:?}");
    }
    assert!(
        empty >= 1,
        "the empty namespaceSelector of the NetworkPolicy"
    );
}
