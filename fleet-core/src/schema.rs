//! Fleet schemas: which properties targets have, of which types.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::id::TargetId;
use crate::target::Target;
use crate::text::did_you_mean;
use crate::value::{Value, ValueSeed, ValueType};

/// One declared property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDef {
    /// Its type.
    pub ty: ValueType,
    /// Whether every target must have it.
    pub required: bool,
    /// The values it may take; empty means any value of the type.
    pub allowed: BTreeSet<Value>,
    /// What it means, for people.
    pub description: Option<String>,
}

impl PropertyDef {
    /// An optional property of type `ty` with no restriction on values.
    #[must_use]
    pub fn new(ty: ValueType) -> Self {
        Self {
            ty,
            required: false,
            allowed: BTreeSet::new(),
            description: None,
        }
    }

    /// Makes it required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Restricts it to these values.
    #[must_use]
    pub fn allowed(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.allowed = values.into_iter().collect();
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// The properties a fleet's targets have: names, types, required-ness and allowed values.
///
/// Selectors type their literals with it (`version = 4.2` is a version comparison because the
/// schema says `version` is a version), and validation reports every problem at once.
///
/// In files a schema is a map from property name to its definition:
///
/// ```yaml
/// region:  { type: string, required: true }
/// tier:    { type: string, allowed: [production, staging, development] }
/// version: { type: version }
/// last_touched: { type: timestamp, description: when a person last changed it }
/// ```
///
/// # Example
///
/// ```
/// use fleet_core::{PropertyDef, Schema, Target, TargetId, Value, ValueType};
///
/// let schema = Schema::new()
///     .with("region", PropertyDef::new(ValueType::String).required())
///     .with("tier", PropertyDef::new(ValueType::String).allowed(["prod".into(), "dev".into()]));
/// let t = Target::new(TargetId::new("c1")?, "cluster", "aws")
///     .property("reigon", "eu-west-1")
///     .property("tier", "qa");
/// let problems = schema.validate_target(&t);
/// let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
/// assert_eq!(text, [
///     "target `c1`: property `region`: required property is missing",
///     "target `c1`: property `reigon`: unknown property; did you mean `region`?",
///     "target `c1`: property `tier`: `qa` is not one of `dev`, `prod`",
/// ]);
/// # Ok::<(), fleet_core::IdError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    properties: BTreeMap<String, PropertyDef>,
}

impl Schema {
    /// An empty schema.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a property.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, def: PropertyDef) -> Self {
        self.properties.insert(name.into(), def);
        self
    }

    /// Adds (or replaces) a property in place.
    pub fn insert(&mut self, name: impl Into<String>, def: PropertyDef) {
        self.properties.insert(name.into(), def);
    }

    /// The definition of `name`.
    #[must_use]
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.get(name)
    }

    /// All properties, sorted by name.
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (&str, &PropertyDef)> {
        self.properties.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The declared name closest to `name`, for "did you mean" hints.
    #[must_use]
    pub fn suggest(&self, name: &str) -> Option<&str> {
        did_you_mean(name, self.properties.keys().map(String::as_str))
    }

    /// Every problem with one target, sorted by property name.
    #[must_use]
    pub fn validate_target(&self, target: &Target) -> Vec<Problem> {
        let mut out = Vec::new();
        let problem = |property: &str, kind| Problem {
            target: target.id.clone(),
            property: Some(property.to_owned()),
            kind,
        };
        for (name, def) in &self.properties {
            match target.properties.get(name) {
                None if def.required => out.push(problem(name, ProblemKind::MissingRequired)),
                None => {}
                Some(v) if !v.has_type(&def.ty) => out.push(problem(
                    name,
                    ProblemKind::WrongType {
                        expected: def.ty.clone(),
                        found: v.value_type(),
                    },
                )),
                Some(v) if !def.allowed.is_empty() && !def.allowed.contains(v) => {
                    out.push(problem(
                        name,
                        ProblemKind::NotAllowed {
                            value: v.clone(),
                            allowed: def.allowed.iter().cloned().collect(),
                        },
                    ));
                }
                Some(_) => {}
            }
        }
        for name in target.properties.keys() {
            if !self.properties.contains_key(name) {
                out.push(problem(
                    name,
                    ProblemKind::UnknownProperty {
                        suggestion: self.suggest(name).map(str::to_owned),
                    },
                ));
            }
        }
        out.sort_by(|a, b| a.property.cmp(&b.property));
        out
    }
}

/// One thing wrong with a target or a fleet. Validators return all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The target concerned.
    pub target: TargetId,
    /// The property (or field) concerned, when there is one.
    pub property: Option<String>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong, in a [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A required property is absent.
    MissingRequired,
    /// A property the schema does not declare.
    UnknownProperty {
        /// The closest declared name, if one is close.
        suggestion: Option<String>,
    },
    /// A value of the wrong type.
    WrongType {
        /// The declared type.
        expected: ValueType,
        /// The value's type.
        found: ValueType,
    },
    /// A value outside the allowed set.
    NotAllowed {
        /// The value.
        value: Value,
        /// The allowed values, sorted.
        allowed: Vec<Value>,
    },
    /// Two targets share an id.
    DuplicateId,
    /// A dependency names a target that is not in the fleet.
    UnknownDependency {
        /// The missing target.
        dependency: TargetId,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "target `{}`: ", self.target)?;
        if let Some(p) = &self.property {
            write!(f, "property `{p}`: ")?;
        }
        match &self.kind {
            ProblemKind::MissingRequired => f.write_str("required property is missing"),
            ProblemKind::UnknownProperty { suggestion: None } => f.write_str("unknown property"),
            ProblemKind::UnknownProperty {
                suggestion: Some(s),
            } => write!(f, "unknown property; did you mean `{s}`?"),
            ProblemKind::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ProblemKind::NotAllowed { value, allowed } => {
                write!(f, "`{value}` is not one of ")?;
                for (i, a) in allowed.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{a}`")?;
                }
                Ok(())
            }
            ProblemKind::DuplicateId => f.write_str("the id is used by more than one target"),
            ProblemKind::UnknownDependency { dependency } => {
                write!(f, "depends on `{dependency}`, which is not in the fleet")
            }
        }
    }
}

/// Every problem a validation found, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The problems, never empty.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.properties.len()))?;
        for (name, def) in &self.properties {
            map.serialize_entry(name, &DefOut(def))?;
        }
        map.end()
    }
}

struct DefOut<'a>(&'a PropertyDef);

impl Serialize for DefOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let n = 1
            + usize::from(d.required)
            + usize::from(!d.allowed.is_empty())
            + usize::from(d.description.is_some());
        let mut map = s.serialize_map(Some(n))?;
        map.serialize_entry("type", &d.ty)?;
        if d.required {
            map.serialize_entry("required", &true)?;
        }
        if !d.allowed.is_empty() {
            map.serialize_entry("allowed", &d.allowed)?;
        }
        if let Some(text) = &d.description {
            map.serialize_entry("description", text)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let properties = BTreeMap::<String, PropertyDef>::deserialize(d)?;
        Ok(Self { properties })
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum DefField {
    Type,
    Required,
    Allowed,
    Description,
}

impl<'de> Deserialize<'de> for PropertyDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(
            "PropertyDef",
            &["type", "required", "allowed", "description"],
            DefVisitor,
        )
    }
}

struct DefVisitor;

impl<'de> Visitor<'de> for DefVisitor {
    type Value = PropertyDef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property definition (`type`, `required`, `allowed`, `description`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropertyDef, A::Error> {
        let mut ty: Option<ValueType> = None;
        let mut required = None;
        let mut allowed: Option<Vec<serde_json::Value>> = None;
        let mut description = None;
        while let Some(k) = map.next_key::<DefField>()? {
            match k {
                DefField::Type => ty = Some(map.next_value()?),
                DefField::Required => required = Some(map.next_value()?),
                DefField::Allowed => allowed = Some(map.next_value()?),
                DefField::Description => description = Some(map.next_value()?),
            }
        }
        let ty = ty.ok_or_else(|| de::Error::missing_field("type"))?;
        let mut set = BTreeSet::new();
        for raw in allowed.unwrap_or_default() {
            let v = ValueSeed::typed(&ty)
                .deserialize(raw)
                .map_err(|e| de::Error::custom(format_args!("in `allowed`: {e}")))?;
            set.insert(v);
        }
        Ok(PropertyDef {
            ty,
            required: required.unwrap_or(false),
            allowed: set,
            description,
        })
    }
}
