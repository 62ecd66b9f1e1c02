#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Daylight saving, written as UTC instants around the 2026 and 2027 transitions in
//! Europe/Berlin and America/New_York.
//!
//! Transitions (UTC): Berlin springs forward 2026-03-29 and 2027-03-28 at 01:00Z and falls
//! back 2026-10-25 and 2027-10-31 at 01:00Z; New York springs forward 2026-03-08 and
//! 2027-03-14 at 07:00Z and falls back 2026-11-01 and 2027-11-07 at 06:00Z.

use chrono::{DateTime, Utc};
use fleet_core::{Actor, Digest, Schema, Target, TargetId, Workload};
use fleet_policy::{Artifact, LoadOptions, Outcome, PolicySet, Request};

fn z(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn set(kind: &str, cron: &str, tz: &str, duration: &str) -> PolicySet {
    let yaml = format!(
        "policies:\n  - id: w\n    rules:\n      - id: r\n        window: {{ kind: {kind}, cron: \"{cron}\", timezone: {tz}, duration: {duration} }}\n"
    );
    PolicySet::from_yaml(&yaml, &LoadOptions::new(&Schema::new())).unwrap()
}

fn outcome(set: &PolicySet, at: DateTime<Utc>) -> (Outcome, Option<DateTime<Utc>>) {
    let t = Target::new(TargetId::new("t").unwrap(), "cluster", "edge");
    let w = Workload::new("w");
    let a = Artifact::new(Digest::sha256(b"a"));
    let actor = Actor::human("x");
    let d = set.evaluate(&Request::new("r", &w, &a, &t, &actor, at));
    (d.outcome, d.next_window())
}

/// (instant, expected outcome, expected next opening when pending)
fn check(set: &PolicySet, cases: &[(&str, Outcome, Option<&str>)]) {
    for (at, want, next) in cases {
        let (got, got_next) = outcome(set, z(at));
        assert_eq!(got, *want, "at {at}");
        assert_eq!(got_next, next.map(z), "next opening at {at}");
    }
}

#[test]
fn berlin_spring_forward_start_in_the_gap_opens_after_it() {
    for (year_day, before) in [("2026-03-29", "2026-03-28"), ("2027-03-28", "2027-03-27")] {
        let s = set("allow", "30 2 * * *", "Europe/Berlin", "1h");
        check(
            &s,
            &[
                // the day before: 02:30 CET = 01:30Z
                (
                    &format!("{before}T01:29:00Z"),
                    Outcome::Pending,
                    Some(&format!("{before}T01:30:00Z")),
                ),
                (&format!("{before}T01:30:00Z"), Outcome::Allow, None),
                // 02:30 does not exist; the window opens at the jump, 03:00 CEST = 01:00Z
                (
                    &format!("{year_day}T00:59:00Z"),
                    Outcome::Pending,
                    Some(&format!("{year_day}T01:00:00Z")),
                ),
                (&format!("{year_day}T01:00:00Z"), Outcome::Allow, None),
                // one hour of absolute time
                (&format!("{year_day}T01:59:59Z"), Outcome::Allow, None),
                (
                    &format!("{year_day}T02:00:00Z"),
                    Outcome::Pending,
                    Some(&format!("{}T00:30:00Z", next_day(year_day))),
                ),
            ],
        );
    }
}

fn next_day(d: &str) -> String {
    let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    date.succ_opt().unwrap().to_string()
}

#[test]
fn berlin_fall_back_start_in_the_repeated_hour_opens_once_at_the_first() {
    for day in ["2026-10-25", "2027-10-31"] {
        let s = set("allow", "30 2 * * *", "Europe/Berlin", "1h");
        check(
            &s,
            &[
                // first 02:30 is CEST, 00:30Z
                (
                    &format!("{day}T00:29:00Z"),
                    Outcome::Pending,
                    Some(&format!("{day}T00:30:00Z")),
                ),
                (&format!("{day}T00:30:00Z"), Outcome::Allow, None),
                (&format!("{day}T01:29:00Z"), Outcome::Allow, None),
                // 01:30Z is 02:30 CET again: not a second opening; next is tomorrow 02:30 CET
                (
                    &format!("{day}T01:30:00Z"),
                    Outcome::Pending,
                    Some(&format!("{}T01:30:00Z", next_day(day))),
                ),
                (
                    &format!("{day}T02:00:00Z"),
                    Outcome::Pending,
                    Some(&format!("{}T01:30:00Z", next_day(day))),
                ),
            ],
        );
    }
}

#[test]
fn new_york_spring_forward_and_fall_back() {
    for (spring, fall) in [("2026-03-08", "2026-11-01"), ("2027-03-14", "2027-11-07")] {
        // 02:30 local does not exist on the spring day: opens at 03:00 EDT = 07:00Z
        let s = set("allow", "30 2 * * *", "America/New_York", "30m");
        check(
            &s,
            &[
                (
                    &format!("{spring}T06:59:00Z"),
                    Outcome::Pending,
                    Some(&format!("{spring}T07:00:00Z")),
                ),
                (&format!("{spring}T07:00:00Z"), Outcome::Allow, None),
                (&format!("{spring}T07:29:00Z"), Outcome::Allow, None),
                (
                    &format!("{spring}T07:30:00Z"),
                    Outcome::Pending,
                    Some(&format!("{}T06:30:00Z", next_day(spring))),
                ),
            ],
        );
        // 01:30 local happens twice on the fall day: 05:30Z (EDT) opens, 06:30Z (EST) does not
        let s = set("allow", "30 1 * * *", "America/New_York", "30m");
        check(
            &s,
            &[
                (&format!("{fall}T05:30:00Z"), Outcome::Allow, None),
                (&format!("{fall}T05:59:00Z"), Outcome::Allow, None),
                (
                    &format!("{fall}T06:30:00Z"),
                    Outcome::Pending,
                    Some(&format!("{}T06:30:00Z", next_day(fall))),
                ),
            ],
        );
    }
}

#[test]
fn durations_are_absolute_across_transitions() {
    // a 3-hour deny window from 01:00 local: spring day lasts 3 real hours (ends 05:00 CEST
    // local), fall day 3 real hours (ends 03:00 CET local after the repeat)
    let s = set("deny", "0 1 * * *", "Europe/Berlin", "3h");
    check(
        &s,
        &[
            (
                "2026-03-29T00:00:00Z",
                Outcome::Pending,
                Some("2026-03-29T03:00:00Z"),
            ),
            (
                "2026-03-29T02:59:00Z",
                Outcome::Pending,
                Some("2026-03-29T03:00:00Z"),
            ),
            ("2026-03-29T03:00:00Z", Outcome::Allow, None),
            // fall back: 01:00 CEST = 23:00Z the day before; ends 02:00Z
            (
                "2026-10-24T23:00:00Z",
                Outcome::Pending,
                Some("2026-10-25T02:00:00Z"),
            ),
            (
                "2026-10-25T01:59:00Z",
                Outcome::Pending,
                Some("2026-10-25T02:00:00Z"),
            ),
            ("2026-10-25T02:00:00Z", Outcome::Allow, None),
            (
                "2027-03-28T02:59:00Z",
                Outcome::Pending,
                Some("2027-03-28T03:00:00Z"),
            ),
            (
                "2027-10-31T01:59:00Z",
                Outcome::Pending,
                Some("2027-10-31T02:00:00Z"),
            ),
        ],
    );
}

#[test]
fn evidence_records_the_tz_database_version() {
    let s = set("deny", "0 1 * * *", "Europe/Berlin", "3h");
    let t = Target::new(TargetId::new("t").unwrap(), "cluster", "edge");
    let w = Workload::new("w");
    let a = Artifact::new(Digest::sha256(b"a"));
    let actor = Actor::human("x");
    let d = s.evaluate(&Request::new(
        "r",
        &w,
        &a,
        &t,
        &actor,
        z("2026-03-29T00:30:00Z"),
    ));
    assert_eq!(d.tzdb_version, Some(fleet_policy::TZDB_VERSION));
    assert!(
        d.results[0]
            .evidence
            .contains(&("tzdb", fleet_policy::TZDB_VERSION.to_owned()))
    );
    assert!(
        d.results[0]
            .evidence
            .contains(&("timezone", "Europe/Berlin".to_owned()))
    );
}
