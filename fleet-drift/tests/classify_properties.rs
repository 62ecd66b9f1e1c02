//! Properties of classification over generated drift: it is total (every difference gets a
//! class and a rule), deterministic, and never changes anything automatically during an
//! incident or under a hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::{Actor, Hold, HoldScope, Target, TargetId};
use fleet_drift::{Action, Classifier, DriftClass, DriftMemory, Incident, Observed, TargetInput};
use proptest::prelude::*;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn base() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "generation": 3,
            "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "serviceAccountName": "web",
                "containers": [
                    {"name": "web", "image": "web@sha256:aaaa", "env": [{"name": "A", "value": "1"}]},
                    {"name": "proxy", "image": "envoy:1.30"}
                ]}}},
        "status": {"observedGeneration": 3}})
}

/// An edit: a JSON pointer and the value to put there (`null` removes).
type Edit = (&'static str, fn(u8) -> Value);

const EDITS: &[Edit] = &[
    ("/spec/replicas", |n| json!(i64::from(n % 9) + 1)),
    ("/spec/template/spec/containers/0/image", |n| {
        json!(format!("web:{n}"))
    }),
    ("/spec/template/spec/containers/1/image", |n| {
        json!(format!("envoy:1.{n}"))
    }),
    (
        "/spec/template/spec/containers/0/securityContext",
        |n| json!({"privileged": n % 2 == 0}),
    ),
    ("/spec/template/spec/hostNetwork", |n| json!(n % 2 == 0)),
    ("/spec/template/spec/serviceAccountName", |n| {
        json!(format!("sa-{n}"))
    }),
    ("/spec/template/spec/containers/0/env/0/value", |n| {
        json!(n.to_string())
    }),
    ("/metadata/labels/team", |n| json!(format!("t{n}"))),
    ("/metadata/generation", |n| json!(i64::from(n % 3) + 3)),
    (
        "/spec/template/spec/volumes",
        |n| json!([{"name": "h", "hostPath": {"path": format!("/var/{n}")}}]),
    ),
    ("/metadata/annotations", |n| {
        if n % 4 == 0 {
            json!({"fleet.dev/drift": "ignore"})
        } else {
            json!({"x": "y"})
        }
    }),
    ("/spec/template/spec/containers/1", |_| Value::Null),
];

const MANAGERS: &[&str] = &[
    "kubectl-edit",
    "kube-controller-manager",
    "fleet",
    "helm",
    "some-operator",
    "mystery",
];

fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let Some(p) = doc.pointer_mut(parent) else {
        return;
    };
    match p {
        Value::Object(m) => {
            if value.is_null() {
                m.remove(last);
            } else {
                m.insert(last.to_owned(), value);
            }
        }
        Value::Array(a) => {
            let i: usize = last.parse().unwrap();
            if value.is_null() {
                if i < a.len() {
                    a.remove(i);
                }
            } else if let Some(slot) = a.get_mut(i) {
                *slot = value;
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
struct Case {
    edits: Vec<(usize, u8)>,
    managers: Vec<(usize, usize)>,
    incident: bool,
    hold: bool,
    applied_minutes_ago: Option<i64>,
    missing: bool,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0..EDITS.len(), any::<u8>()), 0..6),
        prop::collection::vec((0..EDITS.len(), 0..MANAGERS.len()), 0..4),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0i64..20),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(edits, managers, incident, hold, applied_minutes_ago, missing)| Case {
                edits,
                managers,
                incident,
                hold,
                applied_minutes_ago,
                missing,
            },
        )
}

fn fields_v1(pointer: &str) -> Value {
    // Field ownership for the pointer's object fields (list positions become `k:` keys of
    // the container names, as the API server writes them).
    let mut parts: Vec<String> = Vec::new();
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut i = 0;
    while i < segs.len() {
        let s = segs[i];
        if s == "containers" && i + 1 < segs.len() {
            let name = if segs[i + 1] == "0" { "web" } else { "proxy" };
            parts.push("f:containers".to_owned());
            parts.push(format!("k:{{\"name\":\"{name}\"}}"));
            i += 2;
            continue;
        }
        if s.parse::<usize>().is_ok() {
            i += 1;
            continue;
        }
        parts.push(format!("f:{s}"));
        i += 1;
    }
    let mut v = json!({});
    for p in parts.iter().rev() {
        v = json!({ p.as_str(): v });
    }
    v
}

fn run(c: &Case) -> (fleet_drift::TargetReport, usize) {
    let desired = base();
    let mut observed = base();
    for &(e, n) in &c.edits {
        let (pointer, value) = EDITS[e];
        set(&mut observed, pointer, value(n));
    }
    let mut managed = Vec::new();
    for (i, &(e, m)) in c.managers.iter().enumerate() {
        managed.push(json!({"manager": MANAGERS[m], "operation": "Update",
            "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
            "time": (now() - TimeDelta::minutes(30 - i as i64)).to_rfc3339(),
            "fieldsV1": fields_v1(EDITS[e].0)}));
    }
    if !managed.is_empty() {
        observed["metadata"]["managedFields"] = Value::Array(managed);
    }
    let id = TargetId::new("aks-prod-westeurope-7").unwrap();
    let target = Target::new(id.clone(), "cluster", "aks");
    let incidents: Vec<Incident> = c
        .incident
        .then(|| Incident {
            id: "INC-1".into(),
            targets: vec![],
            opened_at: now() - TimeDelta::hours(2),
            closed_at: None,
        })
        .into_iter()
        .collect();
    let holds: Vec<Hold> = c
        .hold
        .then(|| Hold {
            target: id.clone(),
            scope: HoldScope::Paths {
                paths: vec!["/spec/template/spec".into()],
            },
            actor: Actor::human("oncall"),
            reason: "INC-0".into(),
            placed_at: now() - TimeDelta::hours(1),
            expires_at: now() + TimeDelta::hours(1),
        })
        .into_iter()
        .collect();
    let desired = [desired];
    let observed = if c.missing { vec![] } else { vec![observed] };
    let mut input = TargetInput::new(&target, now(), &desired, Observed::Objects(&observed))
        .incidents(&incidents)
        .holds(&holds);
    if let Some(m) = c.applied_minutes_ago {
        input = input.last_applied_at(now() - TimeDelta::minutes(m));
    }
    let classifier = Classifier::kubernetes().unwrap();
    let changes = if c.missing {
        1
    } else {
        classifier
            .differ()
            .diff(&desired[0], &observed[0])
            .unwrap()
            .len()
    };
    let report = classifier
        .assess(&input, &mut DriftMemory::default())
        .unwrap();
    (report, changes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn total_and_deterministic(c in cases()) {
        let (report, changes) = run(&c);
        let (again, _) = run(&c);
        prop_assert_eq!(&report, &again);
        // Every difference is classified (subtrees added whole may yield several leaves).
        prop_assert!(report.findings.len() >= changes);
        prop_assert_eq!(report.findings.is_empty(), changes == 0);
        for f in &report.findings {
            prop_assert!(!f.rule.is_empty());
            prop_assert!(!f.reason.is_empty());
        }
        // The target's action is the most urgent finding's, and the worst class is the max.
        let most = report.findings.iter().map(|f| f.action).max().unwrap_or(Action::InSync);
        prop_assert_eq!(report.action, most);
        prop_assert_eq!(report.worst, report.findings.iter().map(|f| f.class).max());
    }

    #[test]
    fn nothing_changes_automatically_during_an_incident_or_under_a_hold(c in cases()) {
        let (report, _) = run(&c);
        for f in &report.findings {
            let held_path = c.hold && f.path.to_json_pointer().is_some_and(|p| p.starts_with("/spec/template/spec"));
            if c.incident || held_path {
                prop_assert!(
                    !matches!(f.action, Action::Reconcile | Action::Accept),
                    "{} was auto-changed: {f}", f.class
                );
            }
            if c.incident && f.class == DriftClass::Dangerous {
                prop_assert!(matches!(f.action, Action::Hold | Action::Alert), "{f}");
                prop_assert!(report.alert);
            }
        }
    }
}
