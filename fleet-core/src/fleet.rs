//! Fleet files: a schema and targets, in JSON or YAML.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::id::TargetId;
use crate::inventory::{Inventory, InventoryError, InventoryOptions};
use crate::schema::{Problem, ProblemKind, Schema, ValidationError};
use crate::target::{Target, TargetSeed};

/// A fleet as written in a file: an optional schema and the targets.
///
/// ```yaml
/// schema:
///   region:  { type: string, required: true }
///   version: { type: version }
/// targets:
///   - id: eks-prod-eu-west-1
///     kind: cluster
///     substrate: aws
///     native_id: arn:aws:eks:eu-west-1:111122223333:cluster/prod
///     properties: { region: eu-west-1, version: "1.29.3-eks-2f008fe" }
///     labels: { team: atlas }
///     capabilities: [arch.arm64]
/// ```
///
/// Property values are typed by the schema while the file is read, so a bad value is reported
/// at its own line and column. Unknown fields are errors.
///
/// # Example
///
/// ```
/// use fleet_core::Fleet;
///
/// let yaml = r#"
/// schema:
///   version: { type: version }
/// targets:
///   - { id: c1, kind: cluster, substrate: aws, properties: { version: "1.29" } }
/// "#;
/// let fleet = Fleet::from_yaml_str(yaml)?;
/// assert_eq!(fleet.targets.len(), 1);
///
/// let bad = yaml.replace("\"1.29\"", "\"1.x\"");
/// let err = Fleet::from_yaml_str(&bad).unwrap_err();
/// assert_eq!(err.to_string(),
///     "line 5, column 69: targets[0].properties.version: expected version, found `1.x` (a numeric part is empty)");
/// # Ok::<(), fleet_core::FleetFileError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fleet {
    /// The schema, when the file declares one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// The targets, in file order.
    pub targets: Vec<Target>,
}

/// The format of a fleet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "JSON",
            Self::Yaml => "YAML",
        })
    }
}

/// Why a fleet file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetFileError {
    /// The file is not valid JSON or YAML, or does not have the fleet file's shape.
    #[error("{}{}: {message}", location(*.line, *.column), if .path.is_empty() || .path == "." { String::new() } else { format!(": {path}") })]
    Syntax {
        /// The format being read.
        format: Format,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// The field path (`targets[3].properties.version`).
        path: String,
        /// What the parser said.
        message: String,
    },
    /// The file parsed but its targets break the schema or each other (duplicate ids,
    /// unknown dependencies).
    #[error("invalid fleet: {0}")]
    Invalid(#[from] ValidationError),
    /// Serialising failed.
    #[error("could not write {format}: {message}")]
    Write {
        /// The format being written.
        format: Format,
        /// What the serialiser said.
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}"),
        (Some(l), None) => format!("line {l}"),
        _ => "at an unknown position".to_owned(),
    }
}

impl Fleet {
    /// Reads a fleet from JSON, then validates it ([`Fleet::validate`]).
    ///
    /// # Errors
    ///
    /// [`FleetFileError::Syntax`] with line, column and field path, or
    /// [`FleetFileError::Invalid`] with every problem.
    pub fn from_json_str(text: &str) -> Result<Self, FleetFileError> {
        let schema = read_schema(text, Format::Json)?;
        let mut track = serde_path_to_error::Track::new();
        let mut de = serde_json::Deserializer::from_str(text);
        let result = FleetSeed {
            schema: schema.as_ref(),
        }
        .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .and_then(|f| de.end().map(|()| f));
        let fleet = result.map_err(|e| json_error(&e, &track.path()))?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Reads a fleet from YAML, then validates it ([`Fleet::validate`]).
    ///
    /// # Errors
    ///
    /// As [`Fleet::from_json_str`].
    pub fn from_yaml_str(text: &str) -> Result<Self, FleetFileError> {
        let schema = read_schema(text, Format::Yaml)?;
        let mut track = serde_path_to_error::Track::new();
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let result = FleetSeed {
            schema: schema.as_ref(),
        }
        .deserialize(serde_path_to_error::Deserializer::new(de, &mut track));
        let fleet = result.map_err(|e| yaml_error(&e, &track.path()))?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Reads JSON or YAML, by `format`.
    ///
    /// # Errors
    ///
    /// As [`Fleet::from_json_str`].
    pub fn from_str_as(text: &str, format: Format) -> Result<Self, FleetFileError> {
        match format {
            Format::Json => Self::from_json_str(text),
            Format::Yaml => Self::from_yaml_str(text),
        }
    }

    /// Writes pretty JSON. Output is deterministic: maps are sorted.
    ///
    /// # Errors
    ///
    /// [`FleetFileError::Write`] (a float that is not finite cannot be written as JSON).
    pub fn to_json_string(&self) -> Result<String, FleetFileError> {
        serde_json::to_string_pretty(self).map_err(|e| FleetFileError::Write {
            format: Format::Json,
            message: e.to_string(),
        })
    }

    /// Writes YAML. Output is deterministic: maps are sorted.
    ///
    /// # Errors
    ///
    /// [`FleetFileError::Write`].
    pub fn to_yaml_string(&self) -> Result<String, FleetFileError> {
        serde_yaml_ng::to_string(self).map_err(|e| FleetFileError::Write {
            format: Format::Yaml,
            message: e.to_string(),
        })
    }

    /// Every problem with the fleet: each target against the schema, duplicate ids, and
    /// dependencies on targets that are not in the fleet.
    ///
    /// # Errors
    ///
    /// [`ValidationError`] listing them all, in target order.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        let ids: BTreeSet<&TargetId> = self.targets.iter().map(|t| &t.id).collect();
        for t in &self.targets {
            if !seen.insert(&t.id) {
                problems.push(Problem {
                    target: t.id.clone(),
                    property: None,
                    kind: ProblemKind::DuplicateId,
                });
            }
            if let Some(schema) = &self.schema {
                problems.extend(schema.validate_target(t));
            }
            for d in &t.depends_on {
                if !ids.contains(d) {
                    problems.push(Problem {
                        target: t.id.clone(),
                        property: Some("depends_on".to_owned()),
                        kind: ProblemKind::UnknownDependency {
                            dependency: d.clone(),
                        },
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { problems })
        }
    }

    /// Loads the fleet into a new inventory that validates later writes against the same
    /// schema.
    ///
    /// # Errors
    ///
    /// [`InventoryError`] (for a validated fleet, only capacity exhaustion).
    pub fn into_inventory(self, options: InventoryOptions) -> Result<Inventory, InventoryError> {
        let options = match self.schema {
            Some(s) => options.schema(s),
            None => options,
        };
        let mut inv = Inventory::with_options(options);
        // one change per target, as `insert` each, with the column writes gathered
        inv.put_all(&self.targets, crate::Expect::Absent)
            .map_err(|e| e.error)?;
        Ok(inv)
    }

    /// Copies every target of an inventory view into a fleet, sorted by id.
    #[must_use]
    pub fn from_snapshot(snapshot: &crate::Snapshot, schema: Option<Schema>) -> Self {
        let mut targets: Vec<Target> = snapshot.iter().map(|t| t.to_target()).collect();
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        Self { schema, targets }
    }
}

fn json_error(e: &serde_json::Error, path: &serde_path_to_error::Path) -> FleetFileError {
    let line = (e.line() > 0).then_some(e.line());
    let column = (e.column() > 0).then_some(e.column());
    FleetFileError::Syntax {
        format: Format::Json,
        line,
        column,
        path: path.to_string(),
        message: strip_position(&e.to_string()),
    }
}

fn yaml_error(e: &serde_yaml_ng::Error, path: &serde_path_to_error::Path) -> FleetFileError {
    let loc = e.location();
    FleetFileError::Syntax {
        format: Format::Yaml,
        line: loc.as_ref().map(serde_yaml_ng::Location::line),
        column: loc.as_ref().map(serde_yaml_ng::Location::column),
        path: path.to_string(),
        message: strip_position(&e.to_string()),
    }
}

/// Parsers append "at line L column C" to messages; the error keeps those as fields.
fn strip_position(message: &str) -> String {
    let m = match message.find(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message),
        None => message,
    };
    // serde_yaml_ng prefixes the path it knows; serde_path_to_error gives a better one.
    let m = match m.split_once(": ") {
        Some((head, tail)) if !head.contains(' ') && (head.contains('.') || head.contains('[')) => {
            tail
        }
        _ => m,
    };
    m.to_owned()
}

/// First pass: only the schema, so that the second pass can type property values.
fn read_schema(text: &str, format: Format) -> Result<Option<Schema>, FleetFileError> {
    #[derive(Deserialize)]
    struct SchemaOnly {
        #[serde(default)]
        schema: Option<Schema>,
        #[serde(default, rename = "targets")]
        _targets: IgnoredAny,
    }
    match format {
        Format::Json => {
            let mut track = serde_path_to_error::Track::new();
            let mut de = serde_json::Deserializer::from_str(text);
            let r = SchemaOnly::deserialize(serde_path_to_error::Deserializer::new(
                &mut de, &mut track,
            ));
            match r {
                Ok(s) => Ok(s.schema),
                Err(e) => Err(json_error(&e, &track.path())),
            }
        }
        Format::Yaml => {
            let mut track = serde_path_to_error::Track::new();
            let de = serde_yaml_ng::Deserializer::from_str(text);
            let r = SchemaOnly::deserialize(serde_path_to_error::Deserializer::new(de, &mut track));
            match r {
                Ok(s) => Ok(s.schema),
                Err(e) => Err(yaml_error(&e, &track.path())),
            }
        }
    }
}

struct FleetSeed<'a> {
    schema: Option<&'a Schema>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum FleetField {
    Schema,
    Targets,
}

impl<'de> DeserializeSeed<'de> for FleetSeed<'_> {
    type Value = Fleet;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fleet, D::Error> {
        d.deserialize_struct("Fleet", &["schema", "targets"], self)
    }
}

impl<'de> Visitor<'de> for FleetSeed<'_> {
    type Value = Fleet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fleet (a map with `schema` and `targets`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fleet, A::Error> {
        let mut schema = None;
        let mut targets = None;
        while let Some(key) = map.next_key::<FleetField>()? {
            match key {
                FleetField::Schema if schema.is_some() => {
                    return Err(de::Error::duplicate_field("schema"));
                }
                FleetField::Schema => schema = Some(map.next_value::<Schema>()?),
                FleetField::Targets if targets.is_some() => {
                    return Err(de::Error::duplicate_field("targets"));
                }
                FleetField::Targets => {
                    targets = Some(map.next_value_seed(TargetsSeed {
                        schema: self.schema,
                    })?);
                }
            }
        }
        Ok(Fleet {
            schema,
            targets: targets.ok_or_else(|| de::Error::missing_field("targets"))?,
        })
    }
}

struct TargetsSeed<'a> {
    schema: Option<&'a Schema>,
}

impl<'de> DeserializeSeed<'de> for TargetsSeed<'_> {
    type Value = Vec<Target>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Target>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TargetsSeed<'_> {
    type Value = Vec<Target>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of targets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Target>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(t) = seq.next_element_seed(TargetSeed {
            schema: self.schema,
        })? {
            out.push(t);
        }
        Ok(out)
    }
}
