//! Classification through the public API: rule files and their errors, Argo CD
//! `ignoreDifferences`, escalation, unreachable targets, audit events and summaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fleet_core::{Actor, ActorKind, Schema, Target, TargetId, Value as CoreValue};
use fleet_drift::{
    Action, Classifier, Differ, DriftClass, DriftMemory, DriftSummary, IgnoreDifference, Observed,
    ObservedCheck, Rules, RulesSpec, TargetInput, Violation,
};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn target() -> Target {
    Target::new(TargetId::new("gke-prod-eu-1").unwrap(), "cluster", "gke")
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"replicas": replicas, "template": {"spec": {
            "initContainers": [{"name": "injected-init-container", "image": "istio/proxy:1"}],
            "containers": [{"name": "web", "image": image}]}}}})
}

fn assess(c: &Classifier, desired: &[Value], observed: &[Value]) -> fleet_drift::TargetReport {
    let t = target();
    c.assess(
        &TargetInput::new(&t, now(), desired, Observed::Objects(observed)),
        &mut DriftMemory::default(),
    )
    .unwrap()
}

#[test]
fn rule_files_report_every_problem_with_where() {
    let text = "\
rules:
  - id: a
    class: acceptable
    paths: ['spec..replicas']
  - id: a
    class: dangerous
    kinds: ['[']
    targets: 'reigon = \"eu\"'
grace_period: soon
ignoreDifferences:
  - kind: Deployment
    jsonPointers: [spec/replicas]
  - kind: Deployment
";
    let err = Rules::from_yaml(text, &Schema::default()).unwrap_err();
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rules[1].id",
            "rules[0].paths[0]",
            "rules[1].targets",
            "rules[1].kinds[0]",
            "argocd[0].jsonPointers[0]",
            "argocd[1]",
            "grace_period",
        ],
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("7 problems in the drift rules: ")
    );
    assert!(err.to_string().contains("duplicate rule id `a`"));
    assert!(
        err.to_string()
            .contains("`spec/replicas` is not a JSON pointer")
    );
    assert!(err.to_string().contains("ignores nothing"));
}

#[test]
fn shape_errors_have_line_and_column() {
    let err =
        Rules::from_yaml("rules:\n  - id: x\n    class: scary\n", &Schema::default()).unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.path, "rules[0].class");
    assert_eq!(p.position, Some((3, 12)));
    assert!(
        p.message.contains("unknown variant `scary`"),
        "{}",
        p.message
    );

    let err = Rules::from_yaml("rulez: []\n", &Schema::default()).unwrap_err();
    assert!(err.problems[0].message.contains("unknown field `rulez`"));
}

#[test]
fn a_user_rule_replaces_a_shipped_rule_of_the_same_id() {
    let rules = Rules::from_yaml(
        "rules:\n  - id: privileged\n    class: suspicious\n    paths: ['**.securityContext.privileged']\n",
        &Schema::default(),
    )
    .unwrap();
    let c = Classifier::new(Differ::kubernetes(), rules);
    let desired = [deployment(3, "web:1")];
    let mut observed = desired.clone();
    observed[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
        json!({"privileged": true});
    let report = assess(&c, &desired, &observed);
    assert_eq!(report.findings[0].class, DriftClass::Suspicious);
    assert_eq!(report.findings[0].rule, "privileged");
}

#[test]
fn rules_scoped_by_a_target_selector() {
    let schema = Schema::new().with(
        "tier",
        fleet_core::PropertyDef::new(fleet_core::ValueType::String),
    );
    let rules = Rules::from_yaml(
        "defaults: false\nrules:\n  - id: dev-anything-goes\n    class: acceptable\n    targets: 'tier = \"dev\"'\n",
        &schema,
    )
    .unwrap();
    let c = Classifier::new(Differ::kubernetes(), rules);
    let desired = [deployment(3, "web:1")];
    let observed = [deployment(3, "web:2")];
    let mut dev = target();
    dev.properties
        .insert("tier".into(), CoreValue::String("dev".into()));
    let report = c
        .assess(
            &TargetInput::new(&dev, now(), &desired, Observed::Objects(&observed)),
            &mut DriftMemory::default(),
        )
        .unwrap();
    assert_eq!(report.findings[0].rule, "dev-anything-goes");
    // Elsewhere the same change is nobody's: unmatched, suspicious.
    let report = assess(&c, &desired, &observed);
    assert_eq!(report.findings[0].rule, "unmatched");
    assert_eq!(report.findings[0].class, DriftClass::Suspicious);
}

/// The real snippets of Argo CD's diffing guide: the Application-level entries load as
/// written, the argocd-cm keys through `from_argocd_cm`, and each mechanism ignores what it
/// names and nothing else.
#[test]
fn argo_cd_ignore_differences_from_the_diffing_guide() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/classification/argocd-ignoreDifferences.diffing-doc-snippets.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut entries = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if let Some(list) = v.pointer("/spec/ignoreDifferences") {
            entries.extend(serde_json::from_value::<Vec<IgnoreDifference>>(list.clone()).unwrap());
        }
        if let Some(data) = v.get("data") {
            let data: BTreeMap<String, String> = serde_json::from_value(data.clone()).unwrap();
            entries.extend(IgnoreDifference::from_argocd_cm(&data).unwrap());
        }
    }
    // 5 Application-level entries, 3 argocd-cm keys (`compareoptions` is not one).
    assert_eq!(entries.len(), 8, "{entries:#?}");
    assert!(entries.iter().any(|e| e.jq_path_expressions
        == [".webhooks[]?.clientConfig.caBundle"]
        && e.group.as_deref() == Some("admissionregistration.k8s.io")));

    // Each entry alone, over a Deployment whose replicas, init container and image moved.
    let desired = [deployment(3, "web:1")];
    let mut observed = [deployment(5, "web:2")];
    observed[0]["spec"]["template"]["spec"]["initContainers"][0]["image"] = json!("istio/proxy:2");
    let ignored = |entry: &IgnoreDifference| -> Vec<String> {
        let spec = RulesSpec {
            defaults: false,
            ignore_differences: vec![entry.clone()],
            ..serde_yaml_ng::from_str("{}").unwrap()
        };
        let c = Classifier::new(
            Differ::kubernetes(),
            Rules::from_spec(&spec, &Schema::default()).unwrap(),
        );
        assess(&c, &desired, &observed)
            .findings
            .iter()
            .filter(|f| f.class == DriftClass::Acceptable)
            .map(|f| f.path.to_string())
            .collect()
    };
    assert_eq!(ignored(&entries[0]), ["spec.replicas"]);
    // Scoped to guestbook/default: our Deployment is prod/web.
    assert!(ignored(&entries[1]).is_empty());
    #[cfg(feature = "jq")]
    assert_eq!(
        ignored(&entries[2]),
        ["spec.template.spec.initContainers[name=injected-init-container].image"]
    );
    // Without jaq the entry is refused, never silently ignored.
    #[cfg(not(feature = "jq"))]
    {
        let spec = RulesSpec {
            defaults: false,
            ignore_differences: vec![entries[2].clone()],
            ..serde_yaml_ng::from_str("{}").unwrap()
        };
        let err = Rules::from_spec(&spec, &Schema::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 problem in the drift rules: argocd[0].jqPathExpressions[0]: jq expression \
             `.spec.template.spec.initContainers[] | select(.name == \"injected-init-container\")` \
             needs fleet-drift's `jq` feature; refused rather than ignored"
        );
    }
}

#[test]
fn managed_fields_managers_ignore_what_they_own() {
    let spec: RulesSpec = serde_yaml_ng::from_str(
        "defaults: false\nmanagers: {human: [kubectl-edit]}\nignoreDifferences:\n  - group: '*'\n    kind: '*'\n    managedFieldsManagers: [kube-controller-manager]\n",
    )
    .unwrap();
    let c = Classifier::new(
        Differ::kubernetes(),
        Rules::from_spec(&spec, &Schema::default()).unwrap(),
    );
    let desired = [deployment(3, "web:1")];
    let mut observed = [deployment(7, "web:2")];
    observed[0]["metadata"]["managedFields"] = json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
         "time": "2026-03-01T11:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
         "time": "2026-03-01T11:30:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {"f:image": {}}}}}}}}
    ]);
    let report = assess(&c, &desired, &observed);
    let got: Vec<(String, DriftClass, &str)> = report
        .findings
        .iter()
        .map(|f| (f.path.to_string(), f.class, f.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "spec.replicas".to_owned(),
                DriftClass::Acceptable,
                "argocd[0].managedFieldsManagers"
            ),
            (
                "spec.template.spec.containers[name=web].image".to_owned(),
                DriftClass::Suspicious,
                "unmatched"
            ),
        ]
    );
    assert_eq!(report.findings[1].attribution.actor, ActorKind::Human);
    assert_eq!(
        report.findings[1].attribution.who.as_deref(),
        Some("kubectl-edit")
    );
}

#[test]
fn persistent_transient_drift_escalates_and_recovery_resets_it() {
    let c = Classifier::kubernetes().unwrap();
    let t = target();
    let desired = [deployment(3, "web:1")];
    let mut rolling = deployment(3, "web:2");
    rolling["metadata"]["generation"] = json!(4);
    rolling["status"] = json!({"observedGeneration": 3});
    let observed = [rolling];
    let mut memory = DriftMemory::default();
    let mut classes = Vec::new();
    for minute in 0..4 {
        let at = now() + TimeDelta::minutes(minute);
        let r = c
            .assess(
                &TargetInput::new(&t, at, &desired, Observed::Objects(&observed)),
                &mut memory,
            )
            .unwrap();
        classes.push((r.findings[0].class, r.findings[0].rule.clone(), r.action));
    }
    let wait = (
        DriftClass::Transient,
        "rollout-in-progress".to_owned(),
        Action::Wait,
    );
    let escalated = (
        DriftClass::Suspicious,
        "escalated:rollout-in-progress".to_owned(),
        Action::Reconcile,
    );
    assert_eq!(
        classes,
        [wait.clone(), wait.clone(), escalated.clone(), escalated]
    );

    // In sync once: forgotten; the next drift starts over.
    let r = c
        .assess(
            &TargetInput::new(&t, now(), &desired, Observed::Objects(&desired)),
            &mut memory,
        )
        .unwrap();
    assert_eq!(r.action, Action::InSync);
    assert!(memory.is_empty());
    let r = c
        .assess(
            &TargetInput::new(&t, now(), &desired, Observed::Objects(&observed)),
            &mut memory,
        )
        .unwrap();
    assert_eq!(r.findings[0].class, DriftClass::Transient);
}

#[test]
fn escalation_by_time() {
    let rules = Rules::from_yaml(
        "escalate: {observations: 100, after: 10m}\n",
        &Schema::default(),
    )
    .unwrap();
    let c = Classifier::new(Differ::kubernetes(), rules);
    let t = target();
    let desired = [deployment(3, "web:1")];
    let mut rolling = deployment(3, "web:2");
    rolling["metadata"]["generation"] = json!(4);
    rolling["status"] = json!({"observedGeneration": 3});
    let observed = [rolling];
    let mut memory = DriftMemory::default();
    let at = |m| now() + TimeDelta::minutes(m);
    let class = |m, memory: &mut DriftMemory| {
        c.assess(
            &TargetInput::new(&t, at(m), &desired, Observed::Objects(&observed)),
            memory,
        )
        .unwrap()
        .findings[0]
            .class
    };
    assert_eq!(class(0, &mut memory), DriftClass::Transient);
    assert_eq!(class(9, &mut memory), DriftClass::Transient);
    assert_eq!(class(10, &mut memory), DriftClass::Suspicious);
}

#[test]
fn a_value_still_moving_is_converging() {
    let c = Classifier::kubernetes().unwrap();
    let t = target();
    let desired = [deployment(3, "web:1")];
    let mut memory = DriftMemory::default();
    let mut rules = Vec::new();
    for replicas in [4, 5, 5] {
        let observed = [deployment(replicas, "web:1")];
        let r = c
            .assess(
                &TargetInput::new(&t, now(), &desired, Observed::Objects(&observed)),
                &mut memory,
            )
            .unwrap();
        rules.push(r.findings[0].rule.clone());
    }
    // First sight: nobody known changed a field we declare. Then it moved: converging. Then
    // it stopped moving: back to an unknown change of ours.
    assert_eq!(rules, ["unknown-change", "converging", "unknown-change"]);
}

#[test]
fn unreachable_targets_are_not_checked_never_in_sync() {
    let c = Classifier::kubernetes().unwrap();
    let t = target();
    let desired = [deployment(3, "web:1")];
    let r = c
        .assess(
            &TargetInput::new(
                &t,
                now(),
                &desired,
                Observed::NotChecked("connection refused"),
            ),
            &mut DriftMemory::default(),
        )
        .unwrap();
    assert_eq!(r.action, Action::NotChecked);
    assert_eq!(r.not_checked.as_deref(), Some("connection refused"));
    let event = r.to_audit_event(&Actor::controller("fleet-drift"));
    assert_eq!(event.action, "drift.not_checked");
    assert_eq!(event.details["not_checked"], "connection refused");
}

struct NoLatest;

impl ObservedCheck for NoLatest {
    fn check(&self, _t: &dyn fleet_selectors::TargetView, object: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        if object.to_string().contains(":latest\"") {
            out.push(Violation {
                rule: "images/no-latest".into(),
                message: "an image uses the `latest` tag".into(),
            });
        }
        out
    }
}

#[test]
fn policy_violations_come_from_the_injected_check() {
    let c = Classifier::kubernetes().unwrap();
    let t = target();
    let desired = [deployment(3, "web:latest")];
    let r = c
        .assess(
            &TargetInput::new(&t, now(), &desired, Observed::Objects(&desired)).check(&NoLatest),
            &mut DriftMemory::default(),
        )
        .unwrap();
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(
        (f.class, f.rule.as_str()),
        (DriftClass::Dangerous, "policy-violation")
    );
    assert_eq!(f.reason, "images/no-latest: an image uses the `latest` tag");
    assert!(r.alert);
}

#[test]
fn audit_events_and_summaries() {
    let c = Classifier::kubernetes().unwrap();
    let desired = [deployment(3, "web:1")];
    let mut observed = desired.clone();
    observed[0]["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    let r = assess(&c, &desired, &observed);
    let event = r.to_audit_event(&Actor::controller("fleet-drift"));
    assert_eq!(event.action, "drift.reconcile");
    assert_eq!(event.decision, "reconcile");
    assert_eq!(
        event.target.as_ref().map(|t| t.as_str()),
        Some("gke-prod-eu-1")
    );
    assert_eq!(event.reasons.len(), 1);
    assert!(event.reasons[0].starts_with("dangerous [host-namespaces] apps/Deployment prod/web added spec.template.spec.hostNetwork"), "{}", event.reasons[0]);

    let mut summary = DriftSummary::new(["region"]);
    let mut t = target();
    t.properties
        .insert("region".into(), CoreValue::String("europe-west1".into()));
    summary.add(&r, &t);
    summary.add(&assess(&c, &desired, &desired), &target());
    assert_eq!(summary.target_count(), 2);
    assert_eq!(summary.targets[&Action::Reconcile], 1);
    assert_eq!(summary.targets[&Action::InSync], 1);
    assert_eq!(summary.findings.dangerous, 1);
    assert_eq!(summary.groups["region"]["europe-west1"].dangerous, 1);
    assert_eq!(summary.groups["region"]["-"].total(), 0);
}

#[test]
fn malformed_input_is_an_error_and_leaves_memory_alone() {
    let c = Classifier::kubernetes().unwrap();
    let t = target();
    let desired = [deployment(3, "web:1")];
    let mut memory = DriftMemory::default();
    let drifted = [deployment(4, "web:1")];
    c.assess(
        &TargetInput::new(&t, now(), &desired, Observed::Objects(&drifted)),
        &mut memory,
    )
    .unwrap();
    assert_eq!(memory.len(), 1);

    let mut bad = deployment(5, "web:1");
    bad["metadata"]["managedFields"] = json!([{"manager": 7}]);
    let err = c
        .assess(
            &TargetInput::new(&t, now(), &desired, Observed::Objects(&[bad])),
            &mut memory,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("target `gke-prod-eu-1`, object `apps/Deployment prod/web`: "),
        "{err}"
    );

    let nameless = [json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})];
    let err = c
        .assess(
            &TargetInput::new(&t, now(), &nameless, Observed::Objects(&[])),
            &mut memory,
        )
        .unwrap_err();
    assert!(err.to_string().contains("metadata.name"), "{err}");
    let twice = [deployment(3, "a"), deployment(3, "b")];
    assert!(
        c.assess(
            &TargetInput::new(&t, now(), &desired, Observed::Objects(&twice)),
            &mut memory,
        )
        .is_err()
    );
    // The memory still holds the first observation.
    assert_eq!(memory.len(), 1);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Classifier>();
    check::<Rules>();
    check::<DriftMemory>();
    check::<fleet_drift::TargetReport>();
    check::<DriftSummary>();
    check::<fleet_drift::Finding>();
    check::<fleet_drift::AssessError>();
    check::<fleet_drift::RulesError>();
}

#[test]
fn adopting_accepted_drift_rebuilds_the_desired_object() {
    let rules = Rules::from_yaml(
        "defaults: false\nrules:\n  - id: tuning\n    class: acceptable\n    action: accept\n    paths: ['**.resources', '**.containers.env']\n",
        &Schema::default(),
    )
    .unwrap();
    let c = Classifier::new(Differ::kubernetes(), rules);
    let desired = deployment(3, "web:1");
    let mut observed = deployment(5, "web:1");
    // A subtree added whole (its leaves are the findings) and an element added to a keyed list.
    observed["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "500m", "memory": "1Gi"}});
    observed["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "DEBUG", "value": "1"}]);
    let report = assess(
        &c,
        std::slice::from_ref(&desired),
        std::slice::from_ref(&observed),
    );
    let accepted = report
        .findings
        .iter()
        .filter(|f| f.action == Action::Accept)
        .count();
    // Two resource limits and the env element (its non-key field).
    assert_eq!(accepted, 3, "{:#?}", report.findings);
    let adopted = c.adopt(&desired, &observed, &report.findings).unwrap();
    let web = &adopted["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(web["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(web["env"][0]["name"], "DEBUG");
    // Replicas were not accepted (unmatched, suspicious): still what we declared.
    assert_eq!(adopted["spec"]["replicas"], 3);
    let after = assess(
        &c,
        std::slice::from_ref(&adopted),
        std::slice::from_ref(&observed),
    );
    assert_eq!(after.findings.len(), 1);
    assert_eq!(after.findings[0].path.to_string(), "spec.replicas");
}
