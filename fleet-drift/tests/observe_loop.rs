//! The observation loop against a scripted substrate: bounded concurrency, unreachable
//! targets not checked, backoff (and `Throttled`'s retry-after), reports streamed, summaries.
#![cfg(feature = "observe")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use fleet_core::{
    BoxFuture, Document, ManualClock, Observe, ObserveRequest, ObservedState, Reachability,
    SubstrateError, Target, TargetId, Value as CoreValue,
};
use fleet_drift::{
    Action, Classifier, DesiredSource, DriftMemory, LoopOptions, ObservationLoop, PassContext,
};
use serde_json::{Value, json};

fn deployment(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[derive(Clone)]
enum Script {
    Objects(Vec<Value>),
    Unreachable,
    Error(SubstrateError),
}

#[derive(Default)]
struct Fake {
    scripts: Mutex<HashMap<String, Script>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
}

impl Fake {
    fn set(&self, target: &str, s: Script) {
        self.scripts.lock().unwrap().insert(target.to_owned(), s);
    }
}

impl Observe for Fake {
    fn observe<'a>(
        &'a self,
        request: &'a ObserveRequest,
    ) -> BoxFuture<'a, Result<ObservedState, SubstrateError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let script = self
                .scripts
                .lock()
                .unwrap()
                .get(request.target.as_str())
                .cloned();
            let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
            match script {
                Some(Script::Objects(o)) => Ok(ObservedState {
                    at,
                    reachability: Reachability::Reachable,
                    document: Some(Document::new(json!({"kind": "List", "items": o}))),
                }),
                Some(Script::Unreachable) => Ok(ObservedState {
                    at,
                    reachability: Reachability::NotChecked,
                    document: None,
                }),
                Some(Script::Error(e)) => Err(e),
                None => Err(SubstrateError::NotFound(request.target.to_string())),
            }
        })
    }
}

struct Desired;

impl DesiredSource for Desired {
    fn desired<'a>(
        &'a self,
        _target: &'a TargetId,
    ) -> BoxFuture<'a, Result<Vec<Value>, SubstrateError>> {
        Box::pin(async { Ok(vec![deployment("web:1")]) })
    }
}

fn fleet(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| {
            let mut t = Target::new(
                TargetId::new(format!("site-{i:03}")).unwrap(),
                "cluster",
                "k3s",
            );
            let region = if i % 2 == 0 { "eu-west-1" } else { "us-east-1" };
            t.properties
                .insert("region".into(), CoreValue::String(region.into()));
            t
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_pass_is_bounded_streamed_and_summarised() {
    let fake = Arc::new(Fake::default());
    let targets = fleet(40);
    for (i, t) in targets.iter().enumerate() {
        let script = match i % 10 {
            0 => Script::Unreachable,
            1 => Script::Objects(vec![{
                let mut d = deployment("web:1");
                d["spec"]["template"]["spec"]["hostPID"] = json!(true);
                d
            }]),
            2 => Script::Error(SubstrateError::Unreachable {
                target: t.id.to_string(),
                message: "dial tcp: i/o timeout".into(),
            }),
            _ => Script::Objects(vec![deployment("web:1")]),
        };
        fake.set(t.id.as_str(), script);
    }
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let mut observation = ObservationLoop::new(
        Arc::new(Classifier::kubernetes().unwrap()),
        fake.clone(),
        Arc::new(Desired),
        clock.clone(),
        LoopOptions::default()
            .concurrency(4)
            .jitter(Duration::from_secs(2)),
    );
    let mut memory = DriftMemory::default();
    let mut seen = Vec::new();
    let started = tokio::time::Instant::now();
    let summary = observation
        .pass(
            &targets,
            &PassContext::default(),
            &mut memory,
            &["region"],
            |r| {
                seen.push((r.target.clone(), r.action));
            },
        )
        .await;
    // Every target reported once; at most 4 observations at a time, and they overlapped.
    assert_eq!(seen.len(), 40);
    let mut ids: Vec<_> = seen.iter().map(|(t, _)| t.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    let most = fake.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} observations at once");
    // 40 observations of 200 ms, 4 at a time, plus at most 2 s of jitter each.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() <= Duration::from_secs(2 + 2 * 10 + 1),
        "{:?}",
        started.elapsed()
    );

    assert_eq!(summary.observed, 32);
    assert_eq!(summary.not_checked, 8);
    assert_eq!(summary.drift.targets[&Action::NotChecked], 8);
    assert_eq!(summary.drift.targets[&Action::Reconcile], 4);
    assert_eq!(summary.drift.targets[&Action::InSync], 28);
    assert_eq!(summary.drift.findings.dangerous, 4);
    // Sites 1, 11, 21, 31 are odd: all in us-east-1.
    assert_eq!(summary.drift.groups["region"]["us-east-1"].dangerous, 4);
    assert_eq!(summary.drift.groups["region"]["eu-west-1"].dangerous, 0);
    // The erroring targets back off, the unreachable ones (which answered "not checked") do not.
    assert_eq!(observation.backing_off().len(), 4);
}

async fn once(
    observation: &mut ObservationLoop,
    targets: &[Target],
    memory: &mut DriftMemory,
) -> (Action, Option<String>) {
    let mut last = None;
    observation
        .pass(targets, &PassContext::default(), memory, &[], |r| {
            last = Some((r.action, r.not_checked.clone()));
        })
        .await;
    last.unwrap()
}

#[tokio::test(start_paused = true)]
async fn errors_back_off_doubling_and_success_clears() {
    let fake = Arc::new(Fake::default());
    let targets = fleet(1);
    let id = targets[0].id.to_string();
    fake.set(&id, Script::Error(SubstrateError::Other("boom".into())));
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut observation = ObservationLoop::new(
        Arc::new(Classifier::kubernetes().unwrap()),
        fake.clone(),
        Arc::new(Desired),
        clock.clone(),
        LoopOptions::default()
            .jitter(Duration::ZERO)
            .backoff(TimeDelta::seconds(30), TimeDelta::seconds(100)),
    );
    let mut memory = DriftMemory::default();
    let (action, why) = once(&mut observation, &targets, &mut memory).await;
    assert_eq!(action, Action::NotChecked);
    assert!(
        why.unwrap()
            .starts_with("boom; next try after 2026-03-01T12:00:30")
    );
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);

    // Within the backoff: not observed at all.
    clock.advance(TimeDelta::seconds(10));
    let (_, why) = once(&mut observation, &targets, &mut memory).await;
    assert!(why.unwrap().starts_with("backing off after 1 errors"));
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);

    // After it: tried, fails again, waits twice as long, then is capped.
    clock.advance(TimeDelta::seconds(25));
    once(&mut observation, &targets, &mut memory).await;
    assert_eq!(
        observation.backing_off()[0].1,
        start + TimeDelta::seconds(35 + 60)
    );
    clock.advance(TimeDelta::seconds(60));
    once(&mut observation, &targets, &mut memory).await;
    assert_eq!(
        observation.backing_off()[0].1,
        start + TimeDelta::seconds(95 + 100)
    );

    // Throttling asks for longer than the backoff: honoured.
    fake.set(
        &id,
        Script::Error(SubstrateError::Throttled {
            retry_after_ms: 600_000,
        }),
    );
    clock.advance(TimeDelta::seconds(100));
    once(&mut observation, &targets, &mut memory).await;
    assert_eq!(
        observation.backing_off()[0].1,
        start + TimeDelta::seconds(195 + 600)
    );

    // It answers again: observed, and the backoff is gone.
    fake.set(&id, Script::Objects(vec![deployment("web:1")]));
    clock.advance(TimeDelta::seconds(600));
    let (action, _) = once(&mut observation, &targets, &mut memory).await;
    assert_eq!(action, Action::InSync);
    assert!(observation.backing_off().is_empty());
}

#[tokio::test(start_paused = true)]
async fn malformed_observations_are_reported_not_fatal() {
    let fake = Arc::new(Fake::default());
    let targets = fleet(2);
    fake.set(
        targets[0].id.as_str(),
        Script::Objects(vec![json!({"kind": "Deployment"})]),
    );
    fake.set(
        targets[1].id.as_str(),
        Script::Objects(vec![deployment("web:1")]),
    );
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let mut observation = ObservationLoop::new(
        Arc::new(Classifier::kubernetes().unwrap()),
        fake,
        Arc::new(Desired),
        clock,
        LoopOptions::default(),
    );
    let summary = observation
        .pass(
            &targets,
            &PassContext::default(),
            &mut DriftMemory::default(),
            &[],
            |_| {},
        )
        .await;
    assert_eq!(summary.errors.len(), 1);
    assert!(
        summary.errors[0].contains("site-000"),
        "{:?}",
        summary.errors
    );
    assert_eq!(summary.drift.targets[&Action::InSync], 1);
    assert_eq!(summary.drift.targets[&Action::NotChecked], 1);
}

#[test]
fn the_loop_and_its_pass_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<ObservationLoop>();
    send_sync::<PassContext>();
    send_sync::<fleet_drift::PassSummary>();
    let mut observation = ObservationLoop::new(
        Arc::new(Classifier::kubernetes().unwrap()),
        Arc::new(Fake::default()),
        Arc::new(Desired),
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        )),
        LoopOptions::default(),
    );
    let targets = fleet(1);
    let ctx = PassContext::default();
    let mut memory = DriftMemory::default();
    let pass = observation.pass(&targets, &ctx, &mut memory, &[], |_| {});
    // A pass can be spawned on a multi-threaded runtime.
    send(&pass);
}
