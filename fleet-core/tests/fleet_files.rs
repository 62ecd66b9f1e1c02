//! Fleet files: good ones load, bad ones say what is wrong and where, nothing panics.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fleet_core::{Fleet, FleetFileError, Format};

const GOOD_YAML: &str = r#"schema:
  region: { type: string, required: true }
  version: { type: version }
  nodes: { type: integer }
  tier: { type: string, allowed: [production, staging] }
targets:
  - id: eks-prod-eu-west-1
    kind: cluster
    substrate: aws
    native_id: arn:aws:eks:eu-west-1:111122223333:cluster/prod
    properties:
      region: eu-west-1
      version: "1.29.3-eks-2f008fe"
      nodes: 12
      tier: production
    labels: { team: atlas }
  - id: gke-stg-europe-west4
    kind: cluster
    substrate: gcp
    properties: { region: europe-west4, version: "1.27.3-gke.1200", tier: staging }
    depends_on: [eks-prod-eu-west-1]
"#;

struct Syntax {
    line: usize,
    column: usize,
    path: String,
    message: String,
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn syntax(result: Result<Fleet, FleetFileError>) -> Syntax {
    match result {
        Err(FleetFileError::Syntax {
            line: Some(line),
            column: Some(column),
            path,
            message,
            ..
        }) => Syntax {
            line,
            column,
            path,
            message,
        },
        other => panic!("expected a syntax error with a position, got {other:?}"),
    }
}

#[test]
fn a_good_file_loads_in_both_formats() {
    let fleet = Fleet::from_yaml_str(GOOD_YAML).unwrap();
    assert_eq!(fleet.targets.len(), 2);
    let json = fleet.to_json_string().unwrap();
    let again = Fleet::from_json_str(&json).unwrap();
    assert_eq!(again, fleet);
    assert_eq!(Fleet::from_str_as(&json, Format::Json).unwrap(), fleet);
}

#[test]
fn a_bad_version_names_line_column_and_field() {
    let bad = GOOD_YAML.replace("\"1.29.3-eks-2f008fe\"", "\"1.29.x\"");
    let e = syntax(Fleet::from_yaml_str(&bad));
    assert_eq!(
        (e.line, e.path.as_str()),
        (line_of(&bad, "1.29.x"), "targets[0].properties.version")
    );
    assert!(e.column > 1);
    assert_eq!(
        e.message,
        "expected version, found `1.29.x` (a numeric part is empty)"
    );
}

#[test]
fn an_unquoted_yaml_version_gets_a_hint() {
    let bad = GOOD_YAML.replace("\"1.27.3-gke.1200\"", "1.30");
    let e = syntax(Fleet::from_yaml_str(&bad));
    assert_eq!(e.path, "targets[1].properties.version");
    assert_eq!(e.line, line_of(&bad, "version: 1.30"));
    assert!(e.message.contains("quote it"), "{}", e.message);
}

#[test]
fn a_bad_id_names_line_column_and_field() {
    let bad = GOOD_YAML.replace("id: gke-stg-europe-west4", "id: gke/stg");
    let e = syntax(Fleet::from_yaml_str(&bad));
    assert_eq!(
        (e.line, e.path.as_str()),
        (line_of(&bad, "gke/stg"), "targets[1].id")
    );
    assert!(
        e.message.contains("contains `/` at byte 3"),
        "{}",
        e.message
    );
}

#[test]
fn an_unknown_field_is_an_error_not_ignored() {
    let bad = GOOD_YAML.replace("    labels: { team: atlas }", "    lables: { team: atlas }");
    let e = syntax(Fleet::from_yaml_str(&bad));
    assert_eq!(e.line, line_of(&bad, "lables"));
    assert_eq!(e.path, "targets[0].lables");
    assert!(
        e.message
            .starts_with("unknown field `lables`, expected one of"),
        "{}",
        e.message
    );

    let e = syntax(Fleet::from_yaml_str(&GOOD_YAML.replace(
        "nodes: { type: integer }",
        "nodes: { type: integer, min: 1 }",
    )));
    assert_eq!(e.line, 4);
    assert_eq!(e.path, "schema.nodes.min");
}

#[test]
fn a_mistyped_value_names_its_field() {
    let bad = GOOD_YAML.replace("nodes: 12", "nodes: twelve");
    let e = syntax(Fleet::from_yaml_str(&bad));
    assert_eq!(
        (e.line, e.path.as_str()),
        (line_of(&bad, "twelve"), "targets[0].properties.nodes")
    );
    assert_eq!(e.message, "expected integer, found the string `twelve`");

    let json = Fleet::from_yaml_str(GOOD_YAML)
        .unwrap()
        .to_json_string()
        .unwrap();
    let bad = json.replacen("\"nodes\": 12", "\"nodes\": true", 1);
    let e = syntax(Fleet::from_json_str(&bad));
    assert_eq!(e.path, "targets[0].properties.nodes");
    assert_eq!(e.message, "expected integer, found a bool");
    assert!(
        bad.lines()
            .nth(e.line - 1)
            .unwrap()
            .contains("\"nodes\": true")
    );
}

#[test]
fn a_truncated_file_says_where_it_ends() {
    let json = Fleet::from_yaml_str(GOOD_YAML)
        .unwrap()
        .to_json_string()
        .unwrap();
    let cut = &json[..json.len() / 2];
    let e = syntax(Fleet::from_json_str(cut));
    assert_eq!(e.line, cut.lines().count());
    assert!(e.message.contains("EOF"), "{}", e.message);

    let cut = &GOOD_YAML[..GOOD_YAML.find("    depends_on").unwrap() - 20];
    let cut = format!("{cut}\n  - id: [");
    let e = syntax(Fleet::from_yaml_str(&cut));
    assert!(e.line >= 20, "{}", e.line);
}

#[test]
fn schema_problems_are_all_reported_together() {
    let bad = GOOD_YAML
        .replace("      region: eu-west-1\n", "")
        .replace("tier: staging", "tier: qa")
        .replace("depends_on: [eks-prod-eu-west-1]", "depends_on: [nope]");
    let Err(FleetFileError::Invalid(v)) = Fleet::from_yaml_str(&bad) else {
        panic!("expected a validation error");
    };
    let text: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "target `eks-prod-eu-west-1`: property `region`: required property is missing",
            "target `gke-stg-europe-west4`: property `tier`: `qa` is not one of `production`, `staging`",
            "target `gke-stg-europe-west4`: property `depends_on`: depends on `nope`, which is not in the fleet",
        ]
    );
}

#[test]
fn duplicate_ids_are_a_problem() {
    let dup = GOOD_YAML.replace("id: gke-stg-europe-west4", "id: eks-prod-eu-west-1");
    let Err(FleetFileError::Invalid(v)) = Fleet::from_yaml_str(&dup) else {
        panic!("expected a validation error");
    };
    assert!(
        v.problems.iter().any(|p| p.to_string()
            == "target `eks-prod-eu-west-1`: the id is used by more than one target")
    );
}

#[test]
fn arbitrary_bytes_never_panic_smoke() {
    // Mutations of a good file at every position: the loader must return, never panic.
    let bytes = GOOD_YAML.as_bytes();
    for i in (0..bytes.len()).step_by(7) {
        for b in [b'{', b':', b'"', b'-', b' ', b'\n', b'x'] {
            let mut m = bytes.to_vec();
            m[i] = b;
            if let Ok(s) = std::str::from_utf8(&m) {
                let _ = Fleet::from_yaml_str(s);
                let _ = Fleet::from_json_str(s);
            }
        }
    }
}

/// Loading a fleet into an inventory puts every target with its values, and a fleet that
/// names one id twice is refused with a conflict naming it.
#[test]
fn a_fleet_loads_into_an_inventory_and_a_duplicate_id_is_refused() {
    let fleet = fleet_core::synth::generate(&fleet_core::synth::FleetSpec::new(500).seed(3));
    let first = fleet.targets[0].clone();
    let inventory = fleet.clone().into_inventory(Default::default()).unwrap();
    assert_eq!(inventory.len(), 500);
    let view = inventory.view();
    for t in &fleet.targets {
        assert_eq!(
            view.get(t.id.as_str()).map(|r| r.to_target()).as_ref(),
            Some(t)
        );
    }
    let mut twice = fleet;
    twice.targets.push(first.clone());
    match twice.into_inventory(Default::default()) {
        Err(fleet_core::InventoryError::Conflict { id, .. }) => assert_eq!(id, first.id),
        other => panic!("expected a conflict, got {other:?}"),
    }
}
