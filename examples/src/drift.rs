//! The demo's drift step: desired Deployments and NetworkPolicies for part of the fleet,
//! observed copies with injected drift of every class, one pass of the observation loop, and
//! the classified report with its decisions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_core::{
    Actor, BoxFuture, Document, ManualClock, Observe, ObserveRequest, ObservedState, Reachability,
    Snapshot, SubstrateError, TargetId, TargetRef,
};
use fleet_drift::{
    Action, Classifier, DesiredSource, DriftClass, DriftMemory, Incident, LoopOptions,
    ObservationLoop, PassContext, TargetReport,
};
use serde_json::{Value, json};

/// What was injected into a target's observed objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Injected {
    HpaScaled,
    RolloutInProgress,
    IncidentImageEdit,
    ManualEnvEdit,
    Privileged,
    NetworkPolicyRemoved,
    Unreachable,
}

fn desired(target: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop", "labels": {"app": "checkout"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "checkout"}},
            "template": {"metadata": {"labels": {"app": "checkout"}}, "spec": {
                "serviceAccountName": "checkout",
                "containers": [
                    {"name": "checkout", "image": "registry.example.com/checkout@sha256:4f1c9b7e2a3d5f6e8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a",
                     "env": [{"name": "SITE", "value": target}],
                     "resources": {"limits": {"cpu": "1", "memory": "512Mi"}}},
                    {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"}
                ]}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
    ]
}

fn managed(manager: &str, at: DateTime<Utc>, fields: Value) -> Value {
    json!({"manager": manager, "operation": "Update", "apiVersion": "apps/v1",
        "time": at.to_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": fields})
}

/// The live objects: what the API server returns for the desired ones (server fields,
/// defaults, reordered containers, `1000m` for `1`), plus the injected drift.
fn observed(target: &str, inject: Option<Injected>, now: DateTime<Utc>) -> Vec<Value> {
    let mut objects = desired(target);
    let fleet_apply = managed(
        "fleet",
        now - TimeDelta::days(2),
        json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"checkout\"}": {"f:image": {}, "f:env": {}}}}}}}),
    );
    {
        let d = &mut objects[0];
        d["metadata"]["uid"] = json!(format!("{target}-checkout"));
        d["metadata"]["resourceVersion"] = json!("48213");
        d["metadata"]["generation"] = json!(7);
        d["metadata"]["managedFields"] = json!([fleet_apply]);
        d["status"] = json!({"observedGeneration": 7, "readyReplicas": 3});
        let containers = d["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let mut reordered: Vec<Value> = containers.into_iter().rev().collect();
        reordered[1]["resources"]["limits"]["cpu"] = json!("1000m");
        reordered[1]["terminationMessagePath"] = json!("/dev/termination-log");
        d["spec"]["template"]["spec"]["containers"] = Value::Array(reordered);
    }
    let push_managed = |d: &mut Value, entry: Value| {
        if let Some(list) = d["metadata"]["managedFields"].as_array_mut() {
            list.push(entry);
        }
    };
    match inject {
        Some(Injected::HpaScaled) => {
            let d = &mut objects[0];
            d["spec"]["replicas"] = json!(7);
            push_managed(
                d,
                managed(
                    "kube-controller-manager",
                    now - TimeDelta::minutes(12),
                    json!({"f:spec": {"f:replicas": {}}}),
                ),
            );
        }
        Some(Injected::RolloutInProgress) => {
            let d = &mut objects[0];
            d["metadata"]["generation"] = json!(8);
            if let Some(c) = web(d) {
                c["env"] =
                    json!([{"name": "SITE", "value": target}, {"name": "CANARY", "value": "1"}]);
            }
        }
        Some(Injected::IncidentImageEdit) | Some(Injected::ManualEnvEdit) => {
            let d = &mut objects[0];
            let (path, edit): (Value, fn(&mut Value)) =
                if inject == Some(Injected::IncidentImageEdit) {
                    (json!({"f:image": {}}), |c| {
                        c["image"] = json!("registry.example.com/checkout:hotfix-oom");
                    })
                } else {
                    (json!({"f:env": {}}), |c| {
                        c["env"] = json!([{"name": "SITE", "value": "debug"}]);
                    })
                };
            if let Some(c) = web(d) {
                edit(c);
            }
            push_managed(
                d,
                managed(
                    "kubectl-edit",
                    now - TimeDelta::minutes(40),
                    json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"checkout\"}": path}}}}}),
                ),
            );
        }
        Some(Injected::Privileged) => {
            let d = &mut objects[0];
            if let Some(c) = web(d) {
                c["securityContext"] = json!({"privileged": true});
            }
            push_managed(
                d,
                managed(
                    "kubectl-patch",
                    now - TimeDelta::minutes(3),
                    json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"checkout\"}": {"f:securityContext": {"f:privileged": {}}}}}}}}),
                ),
            );
        }
        Some(Injected::NetworkPolicyRemoved) => {
            objects.truncate(1);
        }
        Some(Injected::Unreachable) | None => {}
    }
    objects
}

/// The `checkout` container of a Deployment.
fn web(d: &mut Value) -> Option<&mut Value> {
    d["spec"]["template"]["spec"]["containers"]
        .as_array_mut()?
        .iter_mut()
        .find(|c| c["name"] == "checkout")
}

/// An in-process substrate holding every target's live objects.
struct Clusters {
    live: HashMap<String, Vec<Value>>,
    unreachable: HashSet<String>,
    at: DateTime<Utc>,
}

impl Observe for Clusters {
    fn observe<'a>(
        &'a self,
        request: &'a ObserveRequest,
    ) -> BoxFuture<'a, Result<ObservedState, SubstrateError>> {
        Box::pin(async move {
            let id = request.target.as_str();
            if self.unreachable.contains(id) {
                return Err(SubstrateError::Unreachable {
                    target: id.to_owned(),
                    message: "dial tcp 10.42.0.1:6443: i/o timeout".to_owned(),
                });
            }
            let items = self.live.get(id).cloned().unwrap_or_default();
            Ok(ObservedState {
                at: self.at,
                reachability: Reachability::Reachable,
                document: Some(Document::new(json!({"kind": "List", "items": items}))),
            })
        })
    }
}

struct Rendered;

impl DesiredSource for Rendered {
    fn desired<'a>(
        &'a self,
        target: &'a TargetId,
    ) -> BoxFuture<'a, Result<Vec<Value>, SubstrateError>> {
        Box::pin(async move { Ok(desired(target.as_str())) })
    }
}

/// Runs the drift step on the production targets of `snapshot` (at most `limit`), prints the
/// report and returns the pass's summary.
///
/// # Errors
///
/// When the shipped rules do not load or the runtime cannot start.
pub fn run(
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    limit: usize,
) -> anyhow::Result<fleet_drift::PassSummary> {
    let targets: Vec<TargetRef<'_>> = snapshot
        .iter()
        .filter(|t| {
            matches!(
                t.property("tier"),
                Some(fleet_core::ValueRef::String("production"))
            )
        })
        .take(limit)
        .collect();
    // Inject by position, so every class appears whatever the fleet's size.
    let plan = |i: usize| match i {
        0..=2 => Some(Injected::IncidentImageEdit),
        3 | 4 => Some(Injected::Privileged),
        5 | 6 => Some(Injected::NetworkPolicyRemoved),
        7 => Some(Injected::ManualEnvEdit),
        8 | 9 => Some(Injected::Unreachable),
        i if i % 9 == 0 => Some(Injected::HpaScaled),
        i if i % 13 == 0 => Some(Injected::RolloutInProgress),
        _ => None,
    };
    let mut live = HashMap::new();
    let mut unreachable = HashSet::new();
    let mut injected: BTreeMap<Injected, usize> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        let inject = plan(i);
        if let Some(k) = inject {
            *injected.entry(k).or_default() += 1;
        }
        if inject == Some(Injected::Unreachable) {
            unreachable.insert(t.id().to_owned());
        }
        live.insert(t.id().to_owned(), observed(t.id(), inject, now));
    }
    // An incident is open on the first three targets: someone hot-fixed the image there.
    let incident = Incident {
        id: "INC-4211".into(),
        targets: targets
            .iter()
            .take(3)
            .filter_map(|t| TargetId::new(t.id()).ok())
            .collect(),
        opened_at: now - TimeDelta::hours(1),
        closed_at: None,
    };
    println!(
        "drift: {} production targets, 2 objects each; injected: {}",
        targets.len(),
        injected
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let clusters = Arc::new(Clusters {
        live,
        unreachable,
        at: now,
    });
    let mut observation = ObservationLoop::new(
        Arc::new(Classifier::kubernetes()?),
        clusters,
        Arc::new(Rendered),
        Arc::new(ManualClock::new(now)),
        LoopOptions::default()
            .concurrency(64)
            .jitter(std::time::Duration::ZERO),
    );
    let context = PassContext {
        incidents: vec![incident],
        ..PassContext::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut memory = DriftMemory::default();
    let mut reports: Vec<TargetReport> = Vec::new();
    let t = Instant::now();
    let summary = runtime.block_on(observation.pass(
        &targets,
        &context,
        &mut memory,
        &["region", "owner"],
        |r| {
            if r.action != Action::InSync {
                reports.push(r.clone());
            }
        },
    ));
    println!(
        "one pass in {:.1?}: {} observed, {} not checked, {} objects compared",
        t.elapsed(),
        summary.observed,
        summary.not_checked,
        summary.objects
    );
    let f = &summary.drift.findings;
    println!(
        "findings: {} acceptable, {} transient, {} suspicious, {} dangerous",
        f.acceptable, f.transient, f.suspicious, f.dangerous
    );
    println!(
        "decisions: {}",
        summary
            .drift
            .targets
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(regions) = summary.drift.groups.get("region") {
        let mut worst: Vec<_> = regions
            .iter()
            .filter(|(_, c)| c.dangerous + c.suspicious > 0)
            .collect();
        worst.sort_by_key(|(_, c)| std::cmp::Reverse((c.dangerous, c.suspicious)));
        println!(
            "regions with suspicious or dangerous drift: {}",
            worst
                .iter()
                .map(|(r, c)| format!(
                    "{r} ({} dangerous, {} suspicious)",
                    c.dangerous, c.suspicious
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    // One example of every class, then what needs a person.
    for class in [
        DriftClass::Acceptable,
        DriftClass::Transient,
        DriftClass::Suspicious,
        DriftClass::Dangerous,
    ] {
        let hit = reports
            .iter()
            .find_map(|r| r.findings.iter().find(|f| f.class == class).map(|f| (r, f)));
        if let Some((r, f)) = hit {
            println!("  {:<11} {}  {f}", class.to_string(), r.target);
            println!("              rule `{}`: {}", f.rule, f.reason);
        }
    }
    println!();
    for r in reports
        .iter()
        .filter(|r| r.action == Action::NotChecked)
        .take(2)
    {
        println!(
            "  not checked {}: {}",
            r.target,
            r.not_checked.as_deref().unwrap_or("-")
        );
    }
    let holds: Vec<_> = reports.iter().flat_map(|r| &r.holds).collect();
    println!(
        "  holds placed: {} (never reverted during the incident); follow-ups when INC-4211 closes: {}",
        holds.len(),
        reports.iter().map(|r| r.follow_ups.len()).sum::<usize>()
    );
    if let Some(h) = holds.first() {
        println!("    {} held by {}: {}", h.target, h.actor.name, h.reason);
    }
    let controller = Actor::controller("fleet-drift");
    let audit: Vec<_> = reports
        .iter()
        .map(|r| r.to_audit_event(&controller))
        .collect();
    println!(
        "  audit events: {} ({} with an alert)",
        audit.len(),
        audit
            .iter()
            .filter(|e| e.details.contains_key("alert"))
            .count()
    );
    Ok(summary)
}
