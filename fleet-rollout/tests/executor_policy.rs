//! The policy gate: fleet-policy decisions as gate verdicts, and a policy blackout that
//! begins while a run is baking.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod executor_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use executor_support::*;
use fleet_core::{Actor, Digest, Target, TargetId, Workload, synth};
use fleet_policy::{Artifact, LoadOptions, PolicySet};
use fleet_rollout::executor::{
    BakeSpec, Driver, Gate, GateVerdict, MemoryCheckpointStore, PolicyGate, RunEnd, TokioClock,
    WaveSpec,
};

const POLICIES: &str = r#"
policies:
  - id: eu-freeze
    scope: { targets: 'geo = "eu"' }
    rules:
      - id: dec-5
        blackout: { timezone: Europe/Berlin, dates: [{ from: 2026-12-05, to: 2026-12-05 }] }
  - id: registries
    rules:
      - id: allow-list
        placement: { registries: ["registry.acme.io/*"] }
"#;

fn targets() -> BTreeMap<TargetId, Target> {
    [("eu-0", "eu"), ("eu-1", "eu"), ("us-0", "us")]
        .into_iter()
        .map(|(id, geo)| {
            let t = Target::new(tid(id), "cluster", "aws").property("geo", geo);
            (tid(id), t)
        })
        .collect()
}

fn policies() -> PolicySet {
    PolicySet::from_yaml(POLICIES, &LoadOptions::new(&synth::schema())).unwrap()
}

#[test]
fn policy_decisions_become_verdicts() {
    let (set, targets) = (policies(), targets());
    let (workload, actor) = (Workload::new("api"), Actor::service("ci"));
    let good = Artifact::new(Digest::sha256(b"api 1.1")).image("registry.acme.io/api:1.1");
    let gate = PolicyGate::new(&set, &targets, &workload, &good, &actor, "run-1");
    let in_blackout = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
    let blackout_ends = Utc.with_ymd_and_hms(2026, 12, 5, 23, 0, 0).unwrap();
    assert_eq!(
        gate.check(&tid("eu-0"), in_blackout),
        GateVerdict::Wait {
            until: blackout_ends
        }
    );
    assert_eq!(gate.check(&tid("us-0"), in_blackout), GateVerdict::Allow);
    assert_eq!(gate.check(&tid("eu-0"), t0()), GateVerdict::Allow);
    assert_eq!(
        gate.check(&tid("nowhere"), t0()),
        GateVerdict::Deny {
            reason: "target `nowhere` is not in the inventory".to_owned()
        }
    );
    let bad = Artifact::new(Digest::sha256(b"api 1.1")).image("docker.io/someone/api:1.1");
    let gate = PolicyGate::new(&set, &targets, &workload, &bad, &actor, "run-1");
    match gate.check(&tid("us-0"), t0()) {
        GateVerdict::Deny { reason } => {
            assert!(reason.starts_with("registries/allow-list: "), "{reason}")
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_policy_blackout_that_begins_during_a_bake_holds_the_next_wave() {
    let (set, targets) = (policies(), targets());
    let (workload, actor) = (Workload::new("api"), Actor::service("ci"));
    let artifact = Artifact::new(Digest::sha256(b"api 1.1")).image("registry.acme.io/api:1.1");
    let gate = PolicyGate::new(&set, &targets, &workload, &artifact, &actor, "run-1");
    let clock = Arc::new(TokioClock::new(t0()));
    let deployer = FakeDeployer::new().with_clock(clock.clone());
    let health = FakeHealth::new();
    let store = MemoryCheckpointStore::default();
    // wave 0 at 09:00Z on Dec 4, then a 20-hour bake: into Berlin's Dec 5 blackout
    let bake = BakeSpec {
        min_duration: secs(20 * 3600),
        ..BakeSpec::default()
    };
    let spec = spec(
        "policy",
        vec![
            WaveSpec::new([tid("eu-0")]).bake(bake),
            WaveSpec::new([tid("us-0"), tid("eu-1")]),
        ],
    );
    let report = Driver::new(&deployer, &health, &gate, &store, clock.as_ref())
        .run(spec)
        .await
        .unwrap();
    assert_eq!(report.end, RunEnd::Completed);
    let when = |id: &str| {
        deployer
            .effects()
            .into_iter()
            .find(|(t, _, _)| t.as_str() == id)
            .unwrap()
            .2
    };
    let bake_end = t0() + TimeDelta::hours(20);
    let blackout_ends = Utc.with_ymd_and_hms(2026, 12, 5, 23, 0, 0).unwrap();
    assert!(when("us-0") >= bake_end && when("us-0") < bake_end + TimeDelta::seconds(1));
    assert!(when("eu-1") >= blackout_ends && when("eu-1") < blackout_ends + TimeDelta::seconds(1));
}
