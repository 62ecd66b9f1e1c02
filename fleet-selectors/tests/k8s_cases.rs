//! Kubernetes label selectors against apimachinery's own test cases (transcribed into
//! `testdata/k8s/apimachinery-selector-cases.yaml`), and the same cases through fleet's
//! language: the converted selector must match exactly the same label sets.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use fleet_core::{Schema, Target, TargetId};
use fleet_selectors::{CompiledSelector, LabelOp, LabelSelector, Requirement};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    parse: Vec<ParseCase>,
    matches: Vec<MatchCase>,
    requirements: Vec<RequirementCase>,
}

#[derive(Deserialize)]
struct ParseCase {
    test: String,
    input: String,
    ok: bool,
    canonical: Option<String>,
}

#[derive(Deserialize)]
struct MatchCase {
    test: String,
    selector: String,
    labels: BTreeMap<String, String>,
    matches: bool,
}

#[derive(Deserialize)]
struct RequirementCase {
    test: String,
    key: String,
    operator: String,
    values: Vec<String>,
    ok: bool,
    canonical: Option<String>,
}

fn cases() -> Cases {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/k8s/apimachinery-selector-cases.yaml"
    ))
    .unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn op(name: &str) -> LabelOp {
    match name {
        "In" => LabelOp::In,
        "NotIn" => LabelOp::NotIn,
        "Equals" => LabelOp::Equals,
        "DoubleEquals" => LabelOp::DoubleEquals,
        "NotEquals" => LabelOp::NotEquals,
        "Exists" => LabelOp::Exists,
        "DoesNotExist" => LabelOp::DoesNotExist,
        "GreaterThan" => LabelOp::GreaterThan,
        "LessThan" => LabelOp::LessThan,
        other => panic!("unknown operator {other}"),
    }
}

#[test]
fn parse_cases() {
    let mut failures = Vec::new();
    let all = cases().parse;
    assert!(all.len() >= 40);
    for c in &all {
        let got = LabelSelector::parse(&c.input);
        match (&got, c.ok) {
            (Ok(s), true) => {
                if let Some(want) = &c.canonical
                    && &s.to_string() != want
                {
                    failures.push(format!(
                        "{}: `{}` printed `{s}`, want `{want}`",
                        c.test, c.input
                    ));
                }
            }
            (Err(_), false) => {}
            (Ok(s), false) => failures.push(format!(
                "{}: `{}` parsed as `{s}`, want an error",
                c.test, c.input
            )),
            (Err(e), true) => failures.push(format!("{}: `{}` failed: {e}", c.test, c.input)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn target_with(labels: &BTreeMap<String, String>) -> Target {
    let mut t = Target::new(TargetId::new("t").unwrap(), "cluster", "aws");
    t.labels = labels.clone();
    t
}

#[test]
fn match_cases_in_both_languages() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut failures = Vec::new();
    let all = cases().matches;
    assert!(all.len() >= 30);
    for c in &all {
        let s = LabelSelector::parse(&c.selector)
            .unwrap_or_else(|e| panic!("{}: `{}`: {e}", c.test, c.selector));
        if s.matches(&c.labels) != c.matches {
            failures.push(format!(
                "{}: `{}` on {:?}: want {}",
                c.test, c.selector, c.labels, c.matches
            ));
        }
        // The same selector in fleet's language, evaluated on a target with those labels.
        let ours = s.to_selector();
        let compiled = CompiledSelector::new(&ours, &Schema::new())
            .unwrap_or_else(|e| panic!("`{ours}`: {}", e.render()));
        if compiled.matches(&target_with(&c.labels), now) != c.matches {
            failures.push(format!(
                "fleet `{ours}` (from `{}`) on {:?}: want {}",
                c.selector, c.labels, c.matches
            ));
        }
        // And it survives a round trip through its text form.
        let reparsed = fleet_selectors::parse(&ours.to_string()).unwrap();
        assert_eq!(reparsed, ours, "{ours}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn requirement_cases() {
    let mut failures = Vec::new();
    for c in &cases().requirements {
        match (
            Requirement::new(c.key.clone(), op(&c.operator), c.values.clone()),
            c.ok,
        ) {
            (Ok(r), true) => {
                if let Some(want) = &c.canonical
                    && &r.to_string() != want
                {
                    failures.push(format!(
                        "{}: {} {} {:?} printed `{r}`, want `{want}`",
                        c.test, c.key, c.operator, c.values
                    ));
                }
            }
            (Err(_), false) => {}
            (Ok(r), false) => failures.push(format!(
                "{}: {} {} {:?} built `{r}`, want an error",
                c.test, c.key, c.operator, c.values
            )),
            (Err(e), true) => failures.push(format!(
                "{}: {} {} {:?} failed: {e}",
                c.test, c.key, c.operator, c.values
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
