//! The structured (serde) form: a map of properties to values or globs, plus
//! `exclude_labels`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::ast::{CmpOp, Literal, Predicate, Selector, Span, Subject, Test};
use fleet_core::{Schema, ValueType};

use crate::compile::{CompiledSelector, has_glob_chars};
use crate::error::{Diagnostic, SelectorError};

/// One value in the structured form: a string (possibly a glob), a number or a bool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpecValue {
    /// Text; a glob when it contains `*`, `?`, `[` or `{`.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float (YAML reads `1.30` as the number 1.3: quote versions).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// A property's condition: one value or a list of alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(SpecValue),
    /// Any of these.
    Many(Vec<SpecValue>),
}

/// The structured selector form: keys are schema properties, each with a value or a list of
/// values (strings may be globs); `exclude_labels` lists label keys that must be absent.
///
/// It reads this YAML verbatim (with or without the `target_selector` wrapper, see
/// [`TargetSelectorDocument`]):
///
/// ```yaml
/// target_selector:
///   region: ["us-*", "eu-*"]
///   tier: "production"
///   exclude_labels: ["frozen", "compliance-hold"]
/// ```
///
/// # Example
///
/// ```
/// use fleet_selectors::TargetSelectorSpec;
///
/// let spec: TargetSelectorSpec = serde_json::from_str(
///     r#"{"region": ["us-*", "eu-*"], "tier": "production", "exclude_labels": ["frozen", "compliance-hold"]}"#,
/// ).unwrap();
/// assert_eq!(
///     spec.to_selector().to_string(),
///     r#"region in ("us-*", "eu-*") and tier = "production" and not label in ("frozen", "compliance-hold")"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetSelectorSpec {
    /// Property conditions, by property name.
    #[serde(flatten)]
    pub properties: BTreeMap<String, OneOrMany>,
    /// Label keys that must be absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_labels: Vec<String>,
}

/// A document holding a `target_selector`, as policy and rollout files embed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSelectorDocument {
    /// The selector.
    pub target_selector: TargetSelectorSpec,
}

impl<'de> Deserialize<'de> for TargetSelectorSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetSelectorSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of property names to values, and `exclude_labels`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = TargetSelectorSpec::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "exclude_labels" {
                        out.exclude_labels = map.next_value()?;
                    } else {
                        let v: OneOrMany = map.next_value()?;
                        if out.properties.insert(key.clone(), v).is_some() {
                            return Err(de::Error::custom(format_args!("`{key}` is given twice")));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

fn literal(v: &SpecValue) -> Literal {
    match v {
        SpecValue::String(s) => Literal::quoted(s.clone()),
        SpecValue::Integer(i) => Literal::bare(i.to_string()),
        // `{:?}` keeps a decimal point, so the schema can tell `1.0` from `1`.
        SpecValue::Float(x) => Literal::bare(format!("{x:?}")),
        SpecValue::Bool(b) => Literal::bare(b.to_string()),
    }
}

impl TargetSelectorSpec {
    /// Checks the spec against a schema and compiles it. Besides the checks
    /// [`CompiledSelector::new`] makes, a version written as a YAML number is refused: YAML
    /// reads `1.30` as 1.3, so versions must be quoted.
    ///
    /// # Errors
    ///
    /// [`SelectorError`] with every problem.
    pub fn compile(&self, schema: &Schema) -> Result<CompiledSelector, SelectorError> {
        let mut problems = Vec::new();
        for (name, cond) in &self.properties {
            let is_version = schema
                .property(name)
                .is_some_and(|d| d.ty == ValueType::Version);
            let values: Vec<&SpecValue> = match cond {
                OneOrMany::One(v) => vec![v],
                OneOrMany::Many(vs) => vs.iter().collect(),
            };
            for v in values {
                if is_version && matches!(v, SpecValue::Float(_) | SpecValue::Integer(_)) {
                    problems.push(
                        Diagnostic::new(
                            format!(
                                "`{name}` is a version, but {} was written as a number",
                                literal(v)
                            ),
                            Span::default(),
                        )
                        .help("quote versions in YAML: `\"1.30\"`, or YAML reads it as 1.3"),
                    );
                }
            }
        }
        if !problems.is_empty() {
            return Err(SelectorError::new("", problems));
        }
        CompiledSelector::new(&self.to_selector(), schema)
    }

    /// The same selector in the common syntax tree: `and` of one predicate per property (in
    /// name order: `=` for a single plain value, `in` for a glob or a list), then
    /// `not label in (..)` for the excluded labels.
    #[must_use]
    pub fn to_selector(&self) -> Selector {
        let pred = |subject, test| {
            Selector::Pred(Predicate {
                subject,
                test,
                span: Span::default(),
            })
        };
        let mut parts = Vec::new();
        for (name, cond) in &self.properties {
            let subject = Subject::Property(name.clone(), Span::default());
            let test = match cond {
                OneOrMany::One(SpecValue::String(s)) if has_glob_chars(s) => Test::In {
                    negated: false,
                    values: vec![Literal::quoted(s.clone())],
                },
                OneOrMany::One(v) => Test::Compare(CmpOp::Eq, literal(v)),
                OneOrMany::Many(vs) => Test::In {
                    negated: false,
                    values: vs.iter().map(literal).collect(),
                },
            };
            parts.push(pred(subject, test));
        }
        if !self.exclude_labels.is_empty() {
            parts.push(Selector::Not(Box::new(pred(
                Subject::LabelKeys(Span::default()),
                Test::In {
                    negated: false,
                    values: self
                        .exclude_labels
                        .iter()
                        .cloned()
                        .map(Literal::quoted)
                        .collect(),
                },
            ))));
        }
        Selector::and(parts)
    }
}
