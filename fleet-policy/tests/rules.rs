#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every rule family with allow, deny and pending outcomes, through the public API.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use fleet_core::{Actor, Digest, Target, TargetId, Workload, synth};
use fleet_policy::{
    Approval, Artifact, InFlight, LoadOptions, Missing, Outcome, Override, OverrideScope,
    PolicySet, Request, StaticDirectory, Verdict,
};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn target(id: &str, region: &str, compliance: &str, tier: &str) -> Target {
    Target::new(TargetId::new(id).unwrap(), "cluster", "aws")
        .property("region", region)
        .property("geo", if region.starts_with("eu") { "eu" } else { "us" })
        .property("compliance", compliance)
        .property("tier", tier)
        .property("customer", "acme")
        .capability("arch.amd64")
}

fn directory() -> StaticDirectory {
    StaticDirectory::new()
        .group("sre", ["ana", "bo", "cy"])
        .group("security", ["dee", "ana"])
}

fn load(yaml: &str) -> PolicySet {
    let schema = synth::schema();
    let dir = directory();
    PolicySet::from_yaml(yaml, &LoadOptions::new(&schema).directory(&dir))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .with_directory(Arc::new(directory()))
}

struct Fixture {
    workload: Workload,
    artifact: Artifact,
    actor: Actor,
}

impl Fixture {
    fn new() -> Self {
        let digest = Digest::sha256(b"payments-api 1.4.2");
        Self {
            workload: Workload::new("payments-api").class("pci"),
            artifact: Artifact::new(digest.clone())
                .image(format!("registry.acme.io/payments/api@{digest}")),
            actor: Actor::human("zed"),
        }
    }
    fn req<'a>(&'a self, t: &'a Target, when: DateTime<Utc>) -> Request<'a> {
        Request::new(
            "req-1",
            &self.workload,
            &self.artifact,
            t,
            &self.actor,
            when,
        )
    }
}

const PLACEMENT: &str = r#"
policies:
  - id: placement
    rules:
      - id: pci-certified
        placement:
          compliance: { property: compliance, classes: { pci: [pci] } }
      - id: registry
        placement:
          registries: ["registry.acme.io/*", "ghcr.io/acme/*"]
      - id: gpu
        placement:
          capabilities: ["arch.*"]
      - id: residency
        placement:
          residency:
            workload_label: data-residency
            property: region
            zones: { eu: ["eu-*", "europe-*"], us: ["us-*"] }
"#;

#[test]
fn placement_allows_denies_and_explains() {
    let set = load(PLACEMENT);
    let f = Fixture::new();
    let now = at(2026, 6, 1, 12, 0);
    let good = target("c1", "eu-west-1", "pci", "production");
    let d = set.evaluate(&f.req(&good, now));
    assert_eq!(d.outcome, Outcome::Allow, "{d}");
    assert_eq!(d.results.len(), 4);

    // pci workload on a standard cluster
    let bad = target("c2", "eu-west-1", "standard", "production");
    let d = set.evaluate(&f.req(&bad, now));
    assert_eq!(d.outcome, Outcome::Deny);
    let deciding: Vec<_> = d.deciding().map(|r| r.qualified_id()).collect();
    assert_eq!(deciding, ["placement/pci-certified"]);
    assert!(
        d.to_string()
            .contains("may not run on compliance `standard`"),
        "{d}"
    );

    // an unclassified workload is not pinned
    let mut f2 = Fixture::new();
    f2.workload = Workload::new("blog");
    assert_eq!(set.evaluate(&f2.req(&bad, now)).outcome, Outcome::Allow);

    // registry outside the allow-list; no image at all
    let mut f3 = Fixture::new();
    f3.artifact.image = Some("docker.io/evil/api:latest".to_owned());
    let d = set.evaluate(&f3.req(&good, now));
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(
        d.deciding()
            .any(|r| r.reason.contains("`docker.io/evil/api`"))
    );
    f3.artifact.image = None;
    assert_eq!(set.evaluate(&f3.req(&good, now)).outcome, Outcome::Deny);

    // missing capability
    let no_caps = Target::new(TargetId::new("c3").unwrap(), "cluster", "aws")
        .property("region", "eu-west-1")
        .property("compliance", "pci");
    let d = set.evaluate(&f.req(&no_caps, now));
    assert_eq!(
        d.deciding().map(|r| r.rule.to_string()).collect::<Vec<_>>(),
        ["gpu"]
    );

    // residency: eu data on a us cluster; unknown zone fails closed
    let mut f4 = Fixture::new();
    f4.workload = Workload::new("crm").label("data-residency", "eu");
    let us = target("c4", "us-east-1", "standard", "production");
    let d = set.evaluate(&f4.req(&us, now));
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(
        d.deciding()
            .any(|r| r.reason.contains("data must stay in `eu`"))
    );
    assert_eq!(set.evaluate(&f4.req(&good, now)).outcome, Outcome::Allow);
    f4.workload = Workload::new("crm").label("data-residency", "mars");
    assert_eq!(set.evaluate(&f4.req(&good, now)).outcome, Outcome::Deny);
}

const APPROVALS: &str = r#"
policies:
  - id: regulated
    scope:
      targets: 'compliance in ("pci", "hipaa")'
    rules:
      - id: dual
        approvals:
          groups: [{ group: sre, count: 1 }, { group: security, count: 1 }]
          max_age: 7d
"#;

#[test]
fn approvals_pending_allow_reject_rebind_expire() {
    let set = load(APPROVALS);
    let f = Fixture::new();
    let now = at(2026, 6, 1, 12, 0);
    let t = target("pci-1", "us-east-1", "pci", "production");
    let digest = f.artifact.digest.clone();
    let ok = |who: &str| {
        Approval::approve(
            who,
            "req-1",
            digest.clone(),
            "regulated/dual",
            now - Duration::hours(1),
            now + Duration::hours(8),
        )
    };

    // out of scope: no approvals needed
    let std_target = target("std-1", "us-east-1", "standard", "production");
    assert_eq!(
        set.evaluate(&f.req(&std_target, now)).outcome,
        Outcome::Allow
    );

    // none yet: pending on both groups
    let d = set.evaluate(&f.req(&t, now));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(
        d.missing,
        vec![
            Missing::Approvals {
                rule: "regulated/dual".into(),
                group: "sre".into(),
                needed: 1
            },
            Missing::Approvals {
                rule: "regulated/dual".into(),
                group: "security".into(),
                needed: 1
            },
        ]
    );

    // one group only
    let a = [ok("bo")];
    let d = set.evaluate(&f.req(&t, now).approvals(&a));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(d.missing.len(), 1);

    // both: allowed, with who counted
    let a = [ok("bo"), ok("dee")];
    let d = set.evaluate(&f.req(&t, now).approvals(&a));
    assert_eq!(d.outcome, Outcome::Allow, "{d}");
    assert!(
        d.results[0]
            .evidence
            .iter()
            .any(|(k, v)| *k == "approved_by" && v == "dee (security)")
    );

    // the same person twice does not fill two seats; ana is in both groups
    let a = [ok("ana"), ok("ana")];
    assert_eq!(
        set.evaluate(&f.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // the requester never counts
    let zed_dir = StaticDirectory::new()
        .group("sre", ["zed", "bo"])
        .group("security", ["dee"]);
    let set2 = load(APPROVALS).with_directory(Arc::new(zed_dir));
    let a = [ok("zed"), ok("dee")];
    assert_eq!(
        set2.evaluate(&f.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // a non-member does not count
    let a = [ok("mallory"), ok("dee")];
    assert_eq!(
        set.evaluate(&f.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // a new digest needs new approvals
    let mut f2 = Fixture::new();
    f2.artifact.digest = Digest::sha256(b"payments-api 1.4.3");
    let a = [ok("bo"), ok("dee")];
    assert_eq!(
        set.evaluate(&f2.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // another request's approvals do not count
    let mut other = ok("bo");
    other.request_id = "req-2".into();
    let a = [other, ok("dee")];
    assert_eq!(
        set.evaluate(&f.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // expired, not yet valid, or older than max_age
    let mut expired = ok("bo");
    expired.expires_at = now;
    let mut future = ok("bo");
    future.granted_at = now + Duration::minutes(1);
    let mut stale = ok("bo");
    stale.granted_at = now - Duration::days(8);
    stale.expires_at = now + Duration::days(30);
    for a in [expired, future, stale] {
        let list = [a, ok("dee")];
        assert_eq!(
            set.evaluate(&f.req(&t, now).approvals(&list)).outcome,
            Outcome::Pending
        );
    }

    // scoped to another target
    let a = [
        ok("bo").for_targets([TargetId::new("other").unwrap()]),
        ok("dee"),
    ];
    assert_eq!(
        set.evaluate(&f.req(&t, now).approvals(&a)).outcome,
        Outcome::Pending
    );

    // a rejection blocks, even with enough approvals
    let a = [ok("bo"), ok("dee"), ok("cy").rejected()];
    let d = set.evaluate(&f.req(&t, now).approvals(&a));
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.deciding().any(|r| r.reason.contains("rejected by `cy`")));
    // ...until a new request
    let f3 = Fixture::new();
    let r2 = Request {
        id: "req-2",
        ..f3.req(&t, now)
    };
    let mut b1 = ok("bo");
    b1.request_id = "req-2".into();
    let mut b2 = ok("dee");
    b2.request_id = "req-2".into();
    let a = [b1, b2, ok("cy").rejected()];
    assert_eq!(set.evaluate(&r2.approvals(&a)).outcome, Outcome::Allow);
}

const WINDOWS: &str = r#"
policies:
  - id: change-windows
    scope:
      targets: 'geo = "eu"'
    rules:
      - id: weekdays
        window: { kind: allow, cron: "0 9 * * MON-THU", timezone: Europe/Berlin, duration: 8h }
      - id: friday-freeze
        window: { kind: deny, cron: "0 12 * * FRI", timezone: Europe/Berlin, duration: 72h }
      - id: year-end
        blackout:
          timezone: Europe/Berlin
          dates: [{ from: 2026-12-21, to: 2027-01-04 }]
          overrun: finish
"#;

#[test]
fn windows_allow_pending_and_overrun() {
    let set = load(WINDOWS);
    let f = Fixture::new();
    let eu = target("eu-1", "eu-west-1", "standard", "production");
    let us = target("us-1", "us-east-1", "standard", "production");

    // Tuesday 2026-06-02 10:00 Berlin (08:00Z): inside the allow window
    let d = set.evaluate(&f.req(&eu, at(2026, 6, 2, 8, 0)));
    assert_eq!(d.outcome, Outcome::Allow, "{d}");
    assert_eq!(d.tzdb_version, Some(fleet_policy::TZDB_VERSION));

    // Tuesday 20:00 Berlin: outside; next opening Wednesday 09:00 Berlin = 07:00Z
    let d = set.evaluate(&f.req(&eu, at(2026, 6, 2, 18, 0)));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(d.next_window(), Some(at(2026, 6, 3, 7, 0)));

    // Friday 14:00 Berlin: the deny window runs to Monday 12:00 Berlin, and the allow
    // window (Mon-Thu 09:00-17:00) is open then: next allowed Monday 10:00Z
    let d = set.evaluate(&f.req(&eu, at(2026, 6, 5, 12, 0)));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(d.next_window(), Some(at(2026, 6, 8, 10, 0)));
    assert_eq!(
        set.next_allowed(&eu, &f.workload, at(2026, 6, 5, 12, 0)),
        Some(at(2026, 6, 8, 10, 0))
    );

    // windows do not apply to us targets
    assert_eq!(
        set.evaluate(&f.req(&us, at(2026, 6, 5, 12, 0))).outcome,
        Outcome::Allow
    );

    // blackout: Tuesday 2026-12-22 10:00 Berlin is in it; it ends 2027-01-05 00:00 Berlin,
    // a Tuesday, so the next change is 09:00 Berlin that day (08:00Z, winter time)
    let d = set.evaluate(&f.req(&eu, at(2026, 12, 22, 9, 0)));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(d.next_window(), Some(at(2027, 1, 5, 8, 0)));
    // overrun: finish lets an operation that started before the blackout continue
    let d = set.evaluate(
        &f.req(&eu, at(2026, 12, 21, 9, 0))
            .in_progress_since(at(2026, 12, 20, 22, 0)),
    );
    let blackout = d.results.iter().find(|r| &*r.rule == "year-end").unwrap();
    assert_eq!(blackout.verdict, Verdict::Pass);
    assert!(
        blackout
            .evidence
            .contains(&("overrun", "finish".to_owned()))
    );
    // ...but the Friday deny window halts (default overrun)
    let d = set.evaluate(
        &f.req(&eu, at(2026, 6, 5, 12, 0))
            .in_progress_since(at(2026, 6, 5, 9, 0)),
    );
    assert_eq!(d.outcome, Outcome::Pending);
}

const CONCURRENCY: &str = r#"
policies:
  - id: limits
    rules:
      - id: per-region
        concurrency: { group_by: region, max_in_flight: 2 }
"#;

struct Counts(BTreeMap<String, u32>);
impl InFlight for Counts {
    fn in_flight(&self, group_by: &str, value: &str) -> u32 {
        assert_eq!(group_by, "region");
        self.0.get(value).copied().unwrap_or(0)
    }
}

#[test]
fn concurrency_pending_when_full_and_exposed() {
    let set = load(CONCURRENCY);
    let f = Fixture::new();
    let now = at(2026, 6, 1, 12, 0);
    let t = target("c1", "eu-west-1", "standard", "production");
    let counts = Counts(BTreeMap::from([
        ("eu-west-1".to_owned(), 2),
        ("us-east-1".to_owned(), 1),
    ]));
    let d = set.evaluate(&f.req(&t, now).in_flight(&counts));
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(
        d.missing,
        vec![Missing::Slot {
            rule: "limits/per-region".into(),
            group: "region=eu-west-1".into(),
            limit: 2
        }]
    );
    let t2 = target("c2", "us-east-1", "standard", "production");
    assert_eq!(
        set.evaluate(&f.req(&t2, now).in_flight(&counts)).outcome,
        Outcome::Allow
    );
    let limits = set.concurrency_limits(&t, &f.workload, now);
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].group.as_deref(), Some("eu-west-1"));
    assert_eq!(limits[0].max_in_flight, 2);
    // a target without the property cannot be grouped: deny
    let bare = Target::new(TargetId::new("bare").unwrap(), "cluster", "aws");
    assert_eq!(
        set.evaluate(&f.req(&bare, now).in_flight(&counts)).outcome,
        Outcome::Deny
    );
}

#[test]
fn modes_warn_and_dry_run_do_not_block() {
    let yaml = r#"
policies:
  - id: soft
    mode: warn
    rules:
      - id: registry
        placement: { registries: ["ghcr.io/acme/*"] }
      - id: strict-registry
        mode: dry-run
        placement: { registries: ["nowhere.example/*"] }
"#;
    let set = load(yaml);
    let f = Fixture::new();
    let t = target("c1", "eu-west-1", "standard", "production");
    let d = set.evaluate(&f.req(&t, at(2026, 6, 1, 0, 0)));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.warnings.len(), 1);
    assert_eq!(d.dry_run.len(), 1);
    assert_eq!(d.dry_run[0].verdict, Verdict::Fail);
    assert!(d.results.is_empty());
}

#[test]
fn break_glass_override_is_scoped_expiring_and_visible() {
    let set = load(PLACEMENT);
    let f = Fixture::new();
    let now = at(2026, 6, 1, 12, 0);
    let bad = target("c2", "eu-west-1", "standard", "production");
    let other = target("c9", "eu-west-1", "standard", "production");
    let o = Override::new(
        "inc-4411",
        OverrideScope::Targets([TargetId::new("c2").unwrap()].into()),
        ["placement/pci-certified"],
        Actor::human("ana"),
        "INC-4411: hotfix must reach c2 now",
        now - Duration::hours(1),
        now + Duration::hours(2),
    )
    .unwrap();
    set.check_override(&o).unwrap();
    let list = [o];
    let d = set.evaluate(&f.req(&bad, now).overrides(&list));
    assert_eq!(d.outcome, Outcome::Allow, "{d}");
    let r = d
        .results
        .iter()
        .find(|r| &*r.rule == "pci-certified")
        .unwrap();
    assert_eq!(r.overridden_by.as_ref().unwrap().id, "inc-4411");
    assert_eq!(r.overridden_by.as_ref().unwrap().replaced, Verdict::Fail);
    let ev = d.to_audit_event("a1", &f.actor);
    assert!(ev.details.contains_key("override:placement/pci-certified"));
    // another target, or after expiry: unchanged
    assert_eq!(
        set.evaluate(&f.req(&other, now).overrides(&list)).outcome,
        Outcome::Deny
    );
    assert_eq!(
        set.evaluate(&f.req(&bad, now + Duration::hours(2)).overrides(&list))
            .outcome,
        Outcome::Deny
    );

    // refused without a reason, or naming a rule that does not exist
    assert!(
        Override::new(
            "x",
            OverrideScope::Targets(Default::default()),
            ["placement"],
            Actor::human("ana"),
            " ",
            now,
            now + Duration::hours(1)
        )
        .is_err()
    );
    assert!(
        Override::new(
            "x",
            OverrideScope::Targets(Default::default()),
            ["placement"],
            Actor::human("ana"),
            "r",
            now,
            now
        )
        .is_err()
    );
    let typo = Override::new(
        "x",
        OverrideScope::Targets(Default::default()),
        ["placement/pci-certifed"],
        Actor::human("ana"),
        "r",
        now,
        now + Duration::hours(1),
    )
    .unwrap();
    let e = set.check_override(&typo).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid override `x`: unknown rule `placement/pci-certifed`; did you mean `placement/pci-certified`?"
    );
}

#[test]
fn decision_is_an_audit_event() {
    let set = load(PLACEMENT);
    let f = Fixture::new();
    let bad = target("c2", "eu-west-1", "standard", "production");
    let d = set.evaluate(&f.req(&bad, at(2026, 6, 1, 12, 0)));
    let e = d.to_audit_event("act-1", &f.actor);
    assert_eq!(e.decision, "deny");
    assert_eq!(e.action, "policy.evaluate");
    assert_eq!(e.target.as_ref().map(TargetId::as_str), Some("c2"));
    assert_eq!(e.reasons.len(), 1);
    assert!(e.reasons[0].starts_with("placement/pci-certified [enforce] fail"));
}
