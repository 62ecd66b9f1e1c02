//! The classification fixture table (`testdata/classification/cases.yaml`): real objects,
//! edited as each case says, classified with the shipped rules; every finding's class, rule
//! and action, and the target's action, must be as listed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::{Actor, Hold, HoldScope, Target, TargetId};
use fleet_drift::{ChangeEvent, Classifier, DriftMemory, Incident, Observed, TargetInput};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    object: String,
    desired: String,
    #[serde(default)]
    desired_edits: Vec<Edit>,
    #[serde(default)]
    edits: Vec<Edit>,
    #[serde(default)]
    strip_managed: bool,
    #[serde(default)]
    observed_missing: bool,
    #[serde(default)]
    managed: Vec<Managed>,
    #[serde(default)]
    context: Context,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    set: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    remove: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Managed {
    manager: String,
    operation: String,
    minutes_ago: i64,
    #[serde(rename = "fieldsV1")]
    fields_v1: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Context {
    #[serde(default)]
    incident: Option<String>,
    #[serde(default)]
    hold: Option<String>,
    #[serde(default)]
    last_applied_minutes_ago: Option<i64>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    path: String,
    actor: Actor,
    minutes_ago: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    action: String,
    #[serde(default)]
    alert: bool,
    #[serde(default)]
    holds: usize,
    findings: Vec<String>,
}

fn testdata(rel: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "testdata", rel]
        .iter()
        .collect()
}

fn load(rel: &str) -> Value {
    let text = std::fs::read_to_string(testdata(rel)).unwrap();
    if rel.ends_with(".json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_yaml_ng::from_str(&text).unwrap()
    }
}

/// Sets or removes at a JSON pointer, creating objects on the way.
fn edit(doc: &mut Value, e: &Edit) {
    if let Some(at) = &e.remove {
        let (parent, last) = at.rsplit_once('/').unwrap();
        let key = last.replace("~1", "/").replace("~0", "~");
        doc.pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(&key);
        return;
    }
    let at = e.set.as_deref().unwrap();
    let value = e.value.clone().unwrap();
    let mut cur = doc;
    let parts: Vec<String> = at
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        cur = match cur {
            Value::Array(items) => {
                let n: usize = p.parse().unwrap();
                if last {
                    items[n] = value;
                    return;
                }
                &mut items[n]
            }
            Value::Object(map) => {
                if last {
                    map.insert(p.clone(), value);
                    return;
                }
                map.entry(p.clone()).or_insert_with(|| json!({}))
            }
            other => panic!("cannot descend into {other} at {p}"),
        };
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn run(case: &Case) -> Vec<String> {
    let original = load(&case.object);
    let mut desired = match case.desired.as_str() {
        "self" => original.clone(),
        "last-applied" => {
            let text = original
                .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
                .and_then(Value::as_str)
                .unwrap();
            serde_json::from_str(text).unwrap()
        }
        other => panic!("unknown desired `{other}`"),
    };
    for e in &case.desired_edits {
        edit(&mut desired, e);
    }
    let mut observed = original;
    for e in &case.edits {
        edit(&mut observed, e);
    }
    if case.strip_managed {
        observed["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
    }
    for m in &case.managed {
        let time = (now() - TimeDelta::minutes(m.minutes_ago)).to_rfc3339();
        observed["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .push(
                json!({"manager": m.manager, "operation": m.operation, "apiVersion": "apps/v1",
                "time": time, "fieldsType": "FieldsV1", "fieldsV1": m.fields_v1}),
            );
    }
    let id = TargetId::new("eks-prod-eu-1").unwrap();
    let target = Target::new(id.clone(), "cluster", "eks");
    let incidents: Vec<Incident> = case
        .context
        .incident
        .iter()
        .map(|i| Incident {
            id: i.clone(),
            targets: vec![id.clone()],
            opened_at: now() - TimeDelta::hours(1),
            closed_at: None,
        })
        .collect();
    let holds: Vec<Hold> = case
        .context
        .hold
        .iter()
        .map(|scope| {
            assert_eq!(scope, "target");
            Hold {
                target: id.clone(),
                scope: HoldScope::Target,
                actor: Actor::human("oncall@example.com"),
                reason: "INC-1: hands off".into(),
                placed_at: now() - TimeDelta::hours(1),
                expires_at: now() + TimeDelta::hours(1),
            }
        })
        .collect();
    let events: Vec<ChangeEvent> = case
        .context
        .events
        .iter()
        .map(|e| ChangeEvent {
            object: None,
            path: Some(e.path.clone()),
            actor: e.actor.clone(),
            at: now() - TimeDelta::minutes(e.minutes_ago),
            source: "k8s-audit".into(),
        })
        .collect();
    let desired = [desired];
    let observed = if case.observed_missing {
        vec![]
    } else {
        vec![observed]
    };
    let mut input = TargetInput::new(&target, now(), &desired, Observed::Objects(&observed))
        .incidents(&incidents)
        .holds(&holds)
        .events(&events);
    if let Some(m) = case.context.last_applied_minutes_ago {
        input = input.last_applied_at(now() - TimeDelta::minutes(m));
    }
    let classifier = Classifier::kubernetes().unwrap();
    let report = classifier
        .assess(&input, &mut DriftMemory::default())
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let mut problems = Vec::new();
    let got: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let path = if f.path.is_empty() {
                "-".to_owned()
            } else {
                f.path.to_string()
            };
            format!("{path}  {}  {}  {}", f.class, f.rule, f.action)
        })
        .collect();
    if got != case.expect.findings {
        problems.push(format!(
            "{}: findings\n  expected: {:#?}\n  got: {:#?}\n  detail: {:#?}",
            case.name,
            case.expect.findings,
            got,
            report
                .findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ));
    }
    if report.action.to_string() != case.expect.action {
        problems.push(format!(
            "{}: action {} (expected {})",
            case.name, report.action, case.expect.action
        ));
    }
    if report.alert != case.expect.alert {
        problems.push(format!("{}: alert {}", case.name, report.alert));
    }
    if report.holds.len() != case.expect.holds {
        problems.push(format!("{}: {} holds", case.name, report.holds.len()));
    }
    problems
}

#[test]
fn the_fixture_table() {
    let text = std::fs::read_to_string(testdata("classification/cases.yaml")).unwrap();
    let cases: Vec<Case> = serde_yaml_ng::from_str(&text).unwrap();
    assert!(cases.len() >= 12);
    let actions: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c.expect.action.as_str()).collect();
    // The table covers every decision, a positive reconcile among them.
    for a in ["in_sync", "ignore", "wait", "reconcile", "hold"] {
        assert!(actions.contains(a), "no case decides {a}");
    }
    let problems: Vec<String> = cases.iter().flat_map(run).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
