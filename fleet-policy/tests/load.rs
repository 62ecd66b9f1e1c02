#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Loading reports every problem with its position, and never panics.

use fleet_core::synth;
use fleet_policy::{LoadOptions, PolicyError, PolicySet, StaticDirectory};

fn problems(yaml: &str) -> Vec<String> {
    let schema = synth::schema();
    let dir = StaticDirectory::new().group("sre", ["ana", "bo"]);
    let keys = ["release".to_owned()].into();
    match PolicySet::from_yaml(yaml, &LoadOptions::new(&schema).directory(&dir).keys(&keys)) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn unknown_field_has_line_column_and_path() {
    let p = problems(
        "policies:\n  - id: a\n    rules:\n      - id: r\n        placement: { registries: [x] }\n        colour: red\n",
    );
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("line 6, column 9: policies[0].rules[0].colour: unknown field `colour`, expected one of `id`"), "{}", p[0]);
}

#[test]
fn every_semantic_problem_at_once() {
    let yaml = r#"
policies:
  - id: dup
    scope: { targets: 'reigon = "eu-west-1"' }
    rules:
      - id: w
        window: { kind: deny, cron: "0 25 * * *", timezone: Europe/Berln, duration: 0s }
      - id: w
        approvals: { groups: [{ group: sre, count: 3 }, { group: nobody, count: 1 }] }
  - id: dup
    scope: { targets: 'geo = "antarctica"' }
    rules:
      - id: f
        freeze: { from: "2026-12-20T00:00", until: "2026-12-20T00:00", timezone: UTC }
      - id: two
        placement: { registries: ["a/*"] }
        concurrency: { group_by: region, max_in_flight: 1 }
      - id: s
        artifacts: { signers: [{ key: relase }] }
      - id: bad id!
        concurrency: { group_by: regoin, max_in_flight: 0 }
"#;
    let p = problems(yaml);
    let expect = [
        "policies[0].scope.targets: invalid target selector: unknown property `reigon`; did you mean `region`?",
        "policies[0].rules[0].window.timezone: unknown time zone `Europe/Berln`; did you mean `Europe/Berlin`?",
        "policies[0].rules[0].window.cron: invalid cron expression `0 25 * * *`: hour `25` is out of range 0-23",
        "policies[0].rules[0].window.duration: zero-length window: the duration must be positive",
        "policies[0].rules[1].id: duplicate rule id `w` in policy `dup`",
        "policies[0].rules[1].approvals.groups[0].count: 3 approvals needed from `sre`, which has only 2 member(s)",
        "policies[0].rules[1].approvals.groups[1].group: unknown group `nobody`",
        "policies[1].id: duplicate policy id `dup`",
        "policies[1].scope.targets: scope `geo = \"antarctica\"` matches no target: the schema's allowed values rule it out",
        "policies[1].rules[0].freeze: zero-length freeze: `until` (2026-12-20T00:00) is not after `from` (2026-12-20T00:00)",
        "policies[1].rules[1]: rule `two` has 2 families (placement, concurrency); give exactly one per rule",
        "policies[1].rules[2].artifacts.signers[0].key: unknown key `relase`; did you mean `release`?",
        "policies[1].rules[3].id: invalid id `bad id!`: use 1 to 253 of `A-Z a-z 0-9 . _ -`",
        "policies[1].rules[3].concurrency.group_by: unknown property `regoin`; did you mean `region`?",
    ];
    for e in &expect {
        assert!(
            p.iter().any(|x| x.ends_with(e)),
            "missing {e:?} in\n{}",
            p.join("\n")
        );
    }
    // problems found after parsing still carry the line and column of the offending value
    assert!(p.iter().any(|x| x.starts_with(
        "line 7, column 37: policies[0].rules[0].window.cron: invalid cron expression"
    )));
    assert!(p.iter().any(|x| x.starts_with(
        "line 19, column 39: policies[1].rules[2].artifacts.signers[0].key: unknown key"
    )));
    assert!(p.iter().all(|x| x.starts_with("line ")), "{}", p.join("\n"));
    assert_eq!(p.len(), expect.len() + 1, "{}", p.join("\n")); // + max_in_flight
    assert!(
        p.iter()
            .any(|x| x.ends_with("`max_in_flight` must be at least 1"))
    );
}

#[test]
fn selector_problems_render_a_caret() {
    let yaml = "policies:\n  - id: a\n    scope: { targets: 'tier = production and reigon = x' }\n    rules:\n      - id: r\n        placement: { registries: [x] }\n";
    let schema = synth::schema();
    let e = PolicySet::from_yaml(yaml, &LoadOptions::new(&schema)).unwrap_err();
    let r = e.render();
    assert!(r.contains("tier = production and reigon = x"), "{r}");
    assert!(r.contains("^^^^^^"), "{r}");
    assert!(matches!(e, PolicyError::Load(ref p) if p.len() == 1));
}

#[test]
fn scope_in_map_form_and_json_file() {
    let yaml = r#"
policies:
  - id: eu
    scope:
      targets:
        region: ["eu-*", "europe-*"]
        tier: production
        exclude_labels: [frozen]
      workloads: { names: ["payments-*"], classes: [pci] }
    rules:
      - id: r
        placement: { registries: ["registry.acme.io/*"] }
"#;
    assert!(problems(yaml).is_empty());
    let json =
        r#"{"policies":[{"id":"a","rules":[{"id":"r","placement":{"capabilities":["gpu.*"]}}]}]}"#;
    let schema = synth::schema();
    let set = PolicySet::from_json(json, &LoadOptions::new(&schema)).unwrap();
    assert_eq!(set.rule_ids().collect::<Vec<_>>(), ["a/r"]);
    let e = PolicySet::from_json("{\"policies\": [1]}", &LoadOptions::new(&schema)).unwrap_err();
    assert!(e.to_string().contains("line 1, column"), "{e}");
}

#[test]
fn cron_problem_has_a_caret_under_the_field() {
    let yaml = "policies:\n  - id: a\n    rules:\n      - id: r\n        window: { kind: allow, cron: \"0 9 * * FUN\", timezone: UTC, duration: 1h }\n";
    let schema = synth::schema();
    let e = PolicySet::from_yaml(yaml, &LoadOptions::new(&schema)).unwrap_err();
    let r = e.render();
    assert!(r.contains("0 9 * * FUN\n            ^^^"), "{r}");
}

#[test]
fn malformed_inputs_give_errors_not_panics_smoke() {
    for text in [
        "",
        "policies: 3",
        "policies: [{id: a}]",
        "policies: [{id: a, rules: []}]",
        "policies: [{id: a, rules: [{id: r}]}]",
        "policies: [{id: a, rules: [{id: r, window: {kind: sometimes}}]}]",
        "policies: [{id: a, rules: [{id: r, blackout: {timezone: UTC, dates: [{from: 2026-02-30, to: 2026-03-01}]}}]}]",
        "policies: [{id: a, scope: {targets: 7}, rules: [{id: r, placement: {registries: ['[']}}]}]",
        "\u{0}\u{1}",
        "- - - -",
        "policies: [{id: a, rules: [{id: r, window: {kind: deny, cron: '@fortnightly', timezone: UTC, duration: 1h}}]}]",
    ] {
        assert!(!problems(text).is_empty(), "{text:?} should be refused");
    }
}

#[test]
fn json_problems_have_positions_too() {
    let json = "{\"policies\": [\n  {\"id\": \"a\", \"rules\": [\n    {\"id\": \"r\", \"window\": {\"kind\": \"deny\", \"cron\": \"0 9 * *\", \"timezone\": \"UTC\", \"duration\": \"1h\"}}]}]}";
    let schema = synth::schema();
    let e = PolicySet::from_json(json, &LoadOptions::new(&schema)).unwrap_err();
    let p = &e.problems()[0];
    assert_eq!(
        (p.line, p.path.as_str()),
        (Some(3), "policies[0].rules[0].window.cron")
    );
}
