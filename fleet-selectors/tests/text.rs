//! The text form: parsing, canonical printing, errors with carets, schema validation, and
//! the seed sentences; data-driven through one `check` helper per kind.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use fleet_core::synth::{FleetSpec, generate, schema};
use fleet_core::{PropertyDef, Schema, Target, TargetId, Value, ValueType};
use fleet_selectors::{
    CmpOp, KEYWORDS, Literal, LiteralKind, Predicate, Selector, Span, Subject,
    TargetSelectorDocument, Test, compile, parse,
};
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// `input` parses and prints as `canonical`, which parses back to the same tree.
fn check_canonical(input: &str, canonical: &str) {
    let sel = parse(input).unwrap_or_else(|e| panic!("`{input}`: {}", e.render()));
    assert_eq!(sel.to_string(), canonical, "canonical form of `{input}`");
    assert_eq!(parse(canonical).unwrap(), sel, "`{canonical}` parses back");
}

#[test]
fn canonical_forms() {
    for (input, canonical) in [
        ("", ""),
        ("region=eu-west-1", "region = eu-west-1"),
        ("region == 'eu-west-1'", r#"region = "eu-west-1""#),
        (
            r#"region in ("us-*","eu-*")"#,
            r#"region in ("us-*", "eu-*")"#,
        ),
        ("tier not in (dev)", "tier not in (dev)"),
        ("a = 1 and b = 2 and c = 3", "a = 1 and b = 2 and c = 3"),
        ("a = 1 and (b = 2 and c = 3)", "a = 1 and (b = 2 and c = 3)"),
        ("a = 1 or b = 2 and c = 3", "a = 1 or b = 2 and c = 3"),
        ("(a = 1 or b = 2) and c = 3", "(a = 1 or b = 2) and c = 3"),
        ("not not a exists", "not not a exists"),
        ("not (a = 1 and b = 2)", "not (a = 1 and b = 2)"),
        ("last_touched < now-30d", "last_touched < now - 30d"),
        ("last_touched < now - 1h30m", "last_touched < now - 1h30m"),
        ("t > now + 2w", "t > now + 14d"),
        ("t >= now", "t >= now"),
        ("label.team = atlas", "label.team = atlas"),
        (r#"labels["team"] = atlas"#, "label.team = atlas"),
        (r#"labels["a b"] exists"#, r#"labels["a b"] exists"#),
        (
            r#"label.topology.kubernetes.io/region ~ "eu-*""#,
            r#"label.topology.kubernetes.io/region ~ "eu-*""#,
        ),
        (r#"properties["kind"] = x"#, r#"properties["kind"] = x"#),
        (
            "kind = cluster and substrate != edge and id = c1",
            "kind = cluster and substrate != edge and id = c1",
        ),
        (
            r#"capabilities contains "gpu.*""#,
            r#"capabilities contains "gpu.*""#,
        ),
        (
            "observed.status.ready = true",
            "observed.status.ready = true",
        ),
        (
            r#"observed["metadata"]["odd key"] exists"#,
            r#"observed.metadata["odd key"] exists"#,
        ),
        (
            r#"x = "quote \" and \\ and \u{e9}""#,
            "x = \"quote \\\" and \\\\ and \u{e9}\"",
        ),
        (
            "version >= 1.29.3-eks-2f008fe",
            "version >= 1.29.3-eks-2f008fe",
        ),
    ] {
        check_canonical(input, canonical);
    }
}

/// `input` fails to parse with exactly this rendering.
fn check_parse_error(input: &str, rendered: &str) {
    let e = parse(input).map(|s| s.to_string()).unwrap_err();
    assert_eq!(e.render(), rendered, "error for `{input}`");
}

#[test]
fn syntax_errors_point_at_the_problem() {
    check_parse_error(
        "region = ",
        "expected a value, found the end\n  region = \n           ^",
    );
    check_parse_error(
        "region in (\"eu-*\"",
        "expected `,` or `)`, found the end\n  region in (\"eu-*\"\n                   ^",
    );
    check_parse_error(
        "(region = x",
        "expected `)`, found the end\n  (region = x\n             ^\n  help: the `(` at byte 0 is not closed",
    );
    check_parse_error(
        "region = \"eu",
        "unterminated string\n  region = \"eu\n           ^^^\n  help: add the closing `\"`",
    );
    check_parse_error(
        "region ! x",
        "unexpected `!`\n  region ! x\n         ^\n  help: write `!=` for inequality and `not` for negation",
    );
    check_parse_error(
        "region in ()",
        "empty list\n  region in ()\n             ^\n  help: a list needs at least one value",
    );
    check_parse_error(
        "region = and",
        "expected a value, found the keyword `and`\n  region = and\n           ^^^\n  help: quote it: `\"and\"`",
    );
    check_parse_error(
        "t < now - 30x",
        "invalid duration `30x`: unknown unit; use w, d, h, m, s, ms, us or ns\n  t < now - 30x\n            ^^^\n  help: durations look like `30d`, `12h`, `1h30m`",
    );
    check_parse_error(
        "a = 1 b = 2",
        "expected `and`, `or` or the end, found `b`\n  a = 1 b = 2\n        ^",
    );
    check_parse_error(
        "kind exists and in = 3",
        "expected a property, found the keyword `in`\n  kind exists and in = 3\n                  ^^\n  help: write `properties[\"in\"]` for a property named `in`",
    );
}

fn small_schema() -> Schema {
    Schema::new()
        .with("region", PropertyDef::new(ValueType::String))
        .with("nodes", PropertyDef::new(ValueType::Integer))
        .with("gpu", PropertyDef::new(ValueType::Bool))
        .with("version", PropertyDef::new(ValueType::Version))
        .with("last_touched", PropertyDef::new(ValueType::Timestamp))
        .with(
            "zones",
            PropertyDef::new(ValueType::List(Box::new(ValueType::String))),
        )
}

/// `input` fails validation with exactly these rendered diagnostics.
fn check_invalid(input: &str, rendered: &[&str]) {
    let e = compile(input, &small_schema()).unwrap_err();
    let got: Vec<String> = e.diagnostics.iter().map(|d| d.render(input)).collect();
    assert_eq!(got, rendered, "diagnostics for `{input}`");
}

#[test]
fn validation_reports_every_problem_with_a_span() {
    check_invalid(
        r#"reigon = "eu-west-1""#,
        &[
            "unknown property `reigon`\n  reigon = \"eu-west-1\"\n  ^^^^^^\n  help: did you mean `region`?",
        ],
    );
    check_invalid(
        r#"nodes ~ "1*" and gpu < true and region in ("[eu") and version = 1.x"#,
        &[
            "a glob does not apply to `nodes`, which is an integer\n  nodes ~ \"1*\" and gpu < true and region in (\"[eu\") and version = 1.x\n          ^^^^",
            "`<` does not apply to `gpu`, which is a bool\n  nodes ~ \"1*\" and gpu < true and region in (\"[eu\") and version = 1.x\n                   ^^^^^^^^^^",
            "invalid glob `[eu`: unclosed character class; missing ']'\n  nodes ~ \"1*\" and gpu < true and region in (\"[eu\") and version = 1.x\n                                             ^^^^^",
            "`version` is a version; `1.x` is not\n  nodes ~ \"1*\" and gpu < true and region in (\"[eu\") and version = 1.x\n                                                                  ^^^\n  help: `1.x` (a numeric part is empty)",
        ],
    );
    check_invalid(
        "nodes = three or last_touched < yesterday or zones = a",
        &[
            "`nodes` is an integer; `three` is not\n  nodes = three or last_touched < yesterday or zones = a\n          ^^^^^\n  help: `three`",
            "`last_touched` is a timestamp; `yesterday` is not\n  nodes = three or last_touched < yesterday or zones = a\n                                  ^^^^^^^^^\n  help: expected an RFC 3339 instant (`2026-01-31T12:00:00Z`), a date (`2026-01-31`) or `now - 30d`",
            "`zones` is a list; use `contains`\n  nodes = three or last_touched < yesterday or zones = a\n                                               ^^^^^^^^^",
        ],
    );
    check_invalid(
        "region = eu-*",
        &[
            "`=` compares exactly; `eu-*` looks like a glob\n  region = eu-*\n           ^^^^\n  help: write `region ~ \"eu-*\"` or `region in (\"eu-*\")`",
        ],
    );
}

fn t(id: &str) -> Target {
    Target::new(TargetId::new(id).unwrap(), "cluster", "aws")
}

#[test]
fn semantics_of_missing_values_and_versions() {
    let s = small_schema();
    let with = t("a")
        .property("region", "eu-west-1")
        .property("version", Value::Version("4.2.7-gke.3".parse().unwrap()))
        .property("nodes", 5)
        .property("zones", Value::List(vec!["a".into(), "b".into()]))
        .label("team", "atlas");
    let without = t("b");
    for (sel, on_with, on_without) in [
        ("region = eu-west-1", true, false),
        ("region != eu-west-1", false, true),
        ("region not in (us-east-1)", true, true),
        ("region in (\"eu-*\")", true, false),
        ("nodes < 10", true, false),
        ("nodes >= 10", false, false),
        ("not nodes >= 10", true, true),
        ("version = 4.2", true, false),
        ("version = 4.20", false, false),
        ("version = 4", true, false),
        ("version = 4.2.7-gke.3", true, false),
        ("version >= 4.2", true, false),
        ("version < 4.2.7", false, false),
        ("version in (4.1, 4.2)", true, false),
        ("zones contains b", true, false),
        ("zones contains \"c*\"", false, false),
        ("label.team = atlas", true, false),
        ("label.team != atlas", false, true),
        ("label in (team)", true, false),
        ("not label in (frozen)", true, true),
        ("region exists and not nodes exists", false, false),
        ("", true, true),
    ] {
        let c = compile(sel, &s).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(
            c.matches(&with, now()),
            on_with,
            "`{sel}` on the full target"
        );
        assert_eq!(
            c.matches(&without, now()),
            on_without,
            "`{sel}` on the empty target"
        );
    }
}

/// The seed sentence and the seed YAML, on the synthetic fleet.
#[test]
fn seed_sentence_and_yaml_form() {
    let fleet = generate(&FleetSpec::new(5_000).seed(1));
    let sentence = r#"version = 1.29 and region in ("eu-*", "europe-*", "*europe", "germany*", "france*", "sweden*", "edge-eu-*") and owner = atlas and last_touched < now - 30d"#;
    let c = compile(sentence, &schema()).unwrap();
    let hits: Vec<&Target> = fleet
        .targets
        .iter()
        .filter(|t| c.matches(*t, now()))
        .collect();
    assert!(!hits.is_empty());
    for t in &hits {
        assert_eq!(t.properties.get("owner"), Some(&Value::from("atlas")));
        let Some(Value::Version(v)) = t.properties.get("version") else {
            panic!()
        };
        assert_eq!((v.major(), v.minor()), (1, 29));
        assert!(
            t.properties
                .get("last_touched")
                .unwrap()
                .as_timestamp()
                .unwrap()
                < now() - chrono::TimeDelta::days(30)
        );
    }

    let yaml = "target_selector:\n  region: [\"us-*\", \"eu-*\"]\n  tier: \"production\"\n  exclude_labels: [\"frozen\", \"compliance-hold\"]\n";
    let doc: TargetSelectorDocument = serde_yaml_ng::from_str(yaml).unwrap();
    let c = doc.target_selector.compile(&schema()).unwrap();
    assert_eq!(
        c.to_string(),
        r#"region in ("us-*", "eu-*") and tier = "production" and not label in ("frozen", "compliance-hold")"#
    );
    let text = compile(&c.to_string(), &schema()).unwrap();
    let mut n = 0;
    for t in &fleet.targets {
        let m = c.matches(t, now());
        assert_eq!(m, text.matches(t, now()));
        if m {
            n += 1;
            assert!(!t.labels.contains_key("frozen") && !t.labels.contains_key("compliance-hold"));
            assert_eq!(t.properties.get("tier"), Some(&Value::from("production")));
        }
    }
    assert!(n > 100, "{n}");

    // A version written as a YAML number is refused, not read as 1.3.
    let bad: TargetSelectorDocument =
        serde_yaml_ng::from_str("target_selector:\n  version: 1.30\n").unwrap();
    let e = bad.target_selector.compile(&schema()).unwrap_err();
    assert!(
        e.render().contains("quote versions in YAML"),
        "{}",
        e.render()
    );
}

#[test]
fn explain_names_the_deciding_values() {
    let c = compile(
        r#"tier = production and region in ("us-*", "eu-*") and not label in (frozen)"#,
        &schema(),
    )
    .unwrap();
    let t = t("x")
        .property("tier", "production")
        .property("region", "ap-south-1")
        .label("frozen", "true");
    let e = c.explain(&t, now());
    assert!(!e.matched);
    assert_eq!(
        e.to_string(),
        "no: all of: 1 of 3 parts match\n  yes: tier = production: tier `production` is = `production`\n  no: region in (\"us-*\", \"eu-*\"): region `ap-south-1` matches none of `us-*`, `eu-*`\n  no: not: the part matches\n    yes: label in (frozen): label keys `frozen` matches one of `frozen`\n"
    );
}

// ---- round trip over arbitrary trees ----

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}".prop_filter("not a keyword", |w| {
        !KEYWORDS.contains(&w.as_str()) && !w.starts_with("now")
    })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "\\PC{0,8}".prop_map(|s| Literal {
            kind: LiteralKind::Quoted(s),
            span: Span::default()
        }),
        "[a-z0-9][a-z0-9._:+/-]{0,10}"
            .prop_filter("not a keyword", |w| !w.starts_with("now")
                && !KEYWORDS.contains(&w.as_str()))
            .prop_map(|s| Literal {
                kind: LiteralKind::Bare(s),
                span: Span::default()
            }),
        (-1000i64..1000).prop_map(|m| Literal {
            kind: LiteralKind::Now(fleet_core::Duration::from_seconds(m * 60)),
            span: Span::default()
        }),
    ]
}

fn subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        word().prop_map(|w| Subject::Property(w, Span::default())),
        "\\PC{1,6}".prop_map(|w| Subject::Property(w, Span::default())),
        "[a-z0-9][a-z0-9./_-]{0,8}".prop_map(|k| Subject::Label(k, Span::default())),
        "\\PC{1,6}".prop_map(|k| Subject::Label(k, Span::default())),
        Just(Subject::LabelKeys(Span::default())),
        Just(Subject::Capabilities(Span::default())),
        Just(Subject::Id(Span::default())),
        Just(Subject::Kind(Span::default())),
        prop::collection::vec("\\PC{1,4}", 1..3).prop_map(|p| Subject::Path(
            fleet_selectors::DocRoot::Observed,
            p,
            Span::default()
        )),
    ]
}

fn test_() -> impl Strategy<Value = Test> {
    prop_oneof![
        Just(Test::Exists),
        (
            prop::sample::select(vec![
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge
            ]),
            literal()
        )
            .prop_map(|(o, l)| Test::Compare(o, l)),
        (any::<bool>(), prop::collection::vec(literal(), 1..4)).prop_map(|(n, v)| Test::In {
            negated: n,
            values: v
        }),
        literal().prop_map(Test::Glob),
        literal().prop_map(Test::Contains),
    ]
}

fn tree() -> impl Strategy<Value = Selector> {
    let leaf = (subject(), test_()).prop_map(|(s, t)| {
        Selector::Pred(Predicate {
            subject: s,
            test: t,
            span: Span::default(),
        })
    });
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Selector::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Selector::Or),
            inner.prop_map(|x| Selector::Not(Box::new(x))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `parse(display(s)) == s` for arbitrary trees, including odd names and strings.
    #[test]
    fn display_parses_back(s in tree()) {
        let text = s.to_string();
        let back = parse(&text);
        prop_assert!(back.is_ok(), "`{}`: {:?}", text, back.err().map(|e| e.render()));
        prop_assert_eq!(back.unwrap(), s);
    }

    /// Glob members mean what globset means, on the scan path.
    #[test]
    fn globs_are_globsets(pattern in "[a-c*?]{1,5}", text in "[a-c]{0,5}") {
        let schema = Schema::new().with("region", PropertyDef::new(ValueType::String));
        let sel = compile(&format!("region ~ \"{pattern}\""), &schema).unwrap();
        let want = globset::Glob::new(&pattern).unwrap().compile_matcher().is_match(&text);
        prop_assert_eq!(sel.matches(&t("x").property("region", text.as_str()), now()), want);
    }
}
