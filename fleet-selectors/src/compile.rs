//! Validation against a schema, and the typed form selectors are evaluated in.

use std::fmt;

use crate::glob::GlobPattern;
use chrono::{DateTime, NaiveDate, Utc};
use fleet_core::{Duration, Schema, Value, ValueType, Version};

use crate::ast::{CmpOp, DocRoot, Literal, LiteralKind, Predicate, Selector, Span, Subject, Test};
use crate::error::{Diagnostic, SelectorError};
use crate::parse::parse;

/// A selector checked against a schema, with every literal typed: ready to evaluate.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use fleet_core::synth::{FleetSpec, generate, schema};
/// use fleet_selectors::compile;
///
/// let sel = compile(r#"version = 1.29 and region in ("eu-*", "europe-*") and not label in (frozen)"#, &schema())?;
/// let fleet = generate(&FleetSpec::new(200).seed(3));
/// let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let n = fleet.targets.iter().filter(|t| sel.matches(*t, now)).count();
/// assert!(n > 0 && n < 200);
/// # Ok::<(), fleet_selectors::SelectorError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CompiledSelector {
    pub(crate) root: Node,
    pub(crate) ast: Selector,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    All,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Pred(Box<CPred>),
}

#[derive(Debug, Clone)]
pub(crate) struct CPred {
    pub(crate) subject: CSubject,
    pub(crate) test: CTest,
    /// The predicate as canonical text, for explanations.
    pub(crate) text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CSubject {
    Property(String, ValueType),
    Label(String),
    LabelKeys,
    Capabilities,
    Id,
    Kind,
    Substrate,
    Path(DocRoot, Vec<String>),
}

/// A typed operand.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    /// `now` shifted; resolved against the `now` passed to evaluation.
    Now(Duration),
    /// A JSON scalar, for document paths.
    Json(DocScalar),
}

/// A scalar compared with values in documents.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DocScalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone)]
pub(crate) enum CTest {
    Exists,
    Cmp(CmpOp, Operand),
    /// Label values compared as integers (Kubernetes `>`/`<`).
    LabelInt(CmpOp, i64),
    In {
        negated: bool,
        set: ValueSet,
    },
    Contains(ValueSet),
}

/// The members of an `in` list (or a `~` or `contains` operand): exact values, globs over
/// strings, and version prefixes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    pub(crate) exact: Vec<Value>,
    pub(crate) globs: Vec<(String, GlobPattern)>,
    pub(crate) prefixes: Vec<Version>,
    pub(crate) json: Vec<DocScalar>,
}

impl ValueSet {
    pub(crate) fn matches_str(&self, s: &str) -> bool {
        self.exact.iter().any(|v| v.as_str() == Some(s)) || self.matches_glob(s)
    }

    pub(crate) fn matches_glob(&self, s: &str) -> bool {
        self.globs.iter().any(|(_, g)| g.is_match(s))
    }

    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = self.exact.iter().map(|v| format!("`{v}`")).collect();
        parts.extend(self.globs.iter().map(|(t, _)| format!("`{t}`")));
        parts.extend(self.prefixes.iter().map(|v| format!("`{v}`")));
        parts.extend(self.json.iter().map(|j| format!("`{j:?}`")));
        parts.join(", ")
    }
}

pub(crate) fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Compiles a glob with the semantics of `globset` defaults: `*` matches any run of
/// characters including `/`, `?` one character, `[..]` a class, `{a,b}` alternatives.
pub(crate) fn glob(text: &str, span: Span) -> Result<GlobPattern, Diagnostic> {
    GlobPattern::new(text).map_err(|e| Diagnostic::new(e.to_string(), span))
}

struct Checker<'s> {
    schema: &'s Schema,
    problems: Vec<Diagnostic>,
}

fn type_name(ty: &ValueType) -> String {
    match ty {
        ValueType::Integer => "an integer".into(),
        other => format!("a {other}"),
    }
}

impl Checker<'_> {
    fn subject(&mut self, s: &Subject) -> Option<CSubject> {
        Some(match s {
            Subject::Property(name, span) => match self.schema.property(name) {
                Some(def) => CSubject::Property(name.clone(), def.ty.clone()),
                None => {
                    let mut d = Diagnostic::new(format!("unknown property `{name}`"), *span);
                    if let Some(s) = self.schema.suggest(name) {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else if self.schema.properties().len() > 0 {
                        let names: Vec<&str> = self.schema.properties().map(|(n, _)| n).collect();
                        d = d.help(format!("known properties: {}", names.join(", ")));
                    }
                    self.problems.push(d);
                    return None;
                }
            },
            Subject::Label(k, _) => CSubject::Label(k.clone()),
            Subject::LabelKeys(_) => CSubject::LabelKeys,
            Subject::Capabilities(_) => CSubject::Capabilities,
            Subject::Id(_) => CSubject::Id,
            Subject::Kind(_) => CSubject::Kind,
            Subject::Substrate(_) => CSubject::Substrate,
            Subject::Path(r, p, _) => CSubject::Path(*r, p.clone()),
        })
    }

    /// Types a literal for a value of type `ty`.
    fn typed(&mut self, lit: &Literal, ty: &ValueType, what: &str) -> Option<Operand> {
        let text = match &lit.kind {
            LiteralKind::Now(d) => {
                if *ty == ValueType::Timestamp {
                    return Some(Operand::Now(*d));
                }
                self.problems.push(Diagnostic::new(
                    format!("`now` is a timestamp, but {what} is {}", type_name(ty)),
                    lit.span,
                ));
                return None;
            }
            LiteralKind::Quoted(s) | LiteralKind::Bare(s) => s,
        };
        let value = match ty {
            ValueType::String => Ok(Value::String(text.clone())),
            ValueType::Timestamp => parse_instant(text).map(Value::Timestamp).ok_or_else(|| {
                "expected an RFC 3339 instant (`2026-01-31T12:00:00Z`), a date (`2026-01-31`) or `now - 30d`".to_owned()
            }),
            ValueType::List(_) => Err("a list is not compared as a whole; use `contains`".to_owned()),
            other => Value::parse_as(text, other).map_err(|e| e.found),
        };
        match value {
            Ok(v) => Some(Operand::Value(v)),
            Err(why) => {
                self.problems.push(
                    Diagnostic::new(
                        format!("{what} is {}; `{text}` is not", type_name(ty)),
                        lit.span,
                    )
                    .help(why),
                );
                None
            }
        }
    }

    fn set(&mut self, lits: &[Literal], ty: &ValueType, what: &str) -> Option<ValueSet> {
        let mut set = ValueSet::default();
        let mut ok = true;
        for lit in lits {
            match (&lit.kind, ty) {
                (LiteralKind::Quoted(s) | LiteralKind::Bare(s), ValueType::String)
                    if has_glob_chars(s) =>
                {
                    match glob(s, lit.span) {
                        Ok(g) => set.globs.push((s.clone(), g)),
                        Err(d) => {
                            self.problems.push(d);
                            ok = false;
                        }
                    }
                }
                (LiteralKind::Quoted(s) | LiteralKind::Bare(s), t)
                    if t != &ValueType::String && has_glob_chars(s) =>
                {
                    self.problems.push(Diagnostic::new(
                        format!(
                            "a glob does not apply to {what}, which is {}",
                            type_name(ty)
                        ),
                        lit.span,
                    ));
                    ok = false;
                }
                _ => match self.typed(lit, ty, what) {
                    Some(Operand::Value(Value::Version(v))) => set.prefixes.push(v),
                    Some(Operand::Value(v)) => set.exact.push(v),
                    Some(_) => {
                        self.problems
                            .push(Diagnostic::new("`now` cannot be a list member", lit.span));
                        ok = false;
                    }
                    None => ok = false,
                },
            }
        }
        ok.then_some(set)
    }

    /// The operand of `~`: one glob.
    fn glob_operand(&mut self, lit: &Literal) -> Option<ValueSet> {
        let Some(text) = lit.text() else {
            self.problems
                .push(Diagnostic::new("expected a glob", lit.span));
            return None;
        };
        let g = glob(text, lit.span)
            .map_err(|d| self.problems.push(d))
            .ok()?;
        Some(ValueSet {
            globs: vec![(text.to_owned(), g)],
            ..ValueSet::default()
        })
    }

    fn json_scalar(lit: &Literal) -> Option<DocScalar> {
        use DocScalar as Scalar;
        match &lit.kind {
            LiteralKind::Quoted(s) => Some(Scalar::Str(s.clone())),
            LiteralKind::Bare(s) => Some(match s.as_str() {
                "true" => Scalar::Bool(true),
                "false" => Scalar::Bool(false),
                _ => s
                    .parse::<f64>()
                    .map_or_else(|_| Scalar::Str(s.clone()), Scalar::Num),
            }),
            LiteralKind::Now(_) => None,
        }
    }

    fn predicate(&mut self, p: &Predicate) -> Option<CPred> {
        let subject = self.subject(&p.subject)?;
        let text = p.to_string();
        let what = format!("`{}`", p.subject);
        let string = ValueType::String;
        // The type values of this subject have, for typing literals.
        let ty = match &subject {
            CSubject::Property(_, ty) => ty.clone(),
            _ => string.clone(),
        };
        let test = match (&subject, &p.test) {
            (_, Test::Exists) => CTest::Exists,
            (CSubject::Path(..), Test::Compare(op, lit)) => {
                let Some(s) = Self::json_scalar(lit) else {
                    self.problems.push(Diagnostic::new(
                        "`now` is not compared with documents",
                        lit.span,
                    ));
                    return None;
                };
                CTest::Cmp(*op, Operand::Json(s))
            }
            (CSubject::Path(..), Test::In { negated, values }) => {
                let mut set = ValueSet::default();
                for v in values {
                    let Some(scalar) = Self::json_scalar(v) else {
                        self.problems.push(Diagnostic::new(
                            "`now` is not compared with documents",
                            v.span,
                        ));
                        return None;
                    };
                    set.json.push(scalar);
                }
                CTest::In {
                    negated: *negated,
                    set,
                }
            }
            (CSubject::Path(..), Test::Glob(lit)) => CTest::In {
                negated: false,
                set: self.glob_operand(lit)?,
            },
            (CSubject::LabelKeys, Test::In { negated, values }) => CTest::In {
                negated: *negated,
                set: self.set(values, &string, "a label key")?,
            },
            (CSubject::LabelKeys, Test::Contains(lit)) => CTest::In {
                negated: false,
                set: self.set(std::slice::from_ref(lit), &string, "a label key")?,
            },
            (CSubject::LabelKeys, _) => {
                self.problems.push(Diagnostic::new(
                    "`label` alone names the set of label keys; it takes `in (..)`, `not in (..)`, `contains` or `exists`",
                    p.subject.span(),
                )
                .help("to test one label's value, write `label.<key> = ..`"));
                return None;
            }
            (CSubject::Capabilities, Test::Contains(lit)) => {
                CTest::Contains(self.set(std::slice::from_ref(lit), &string, "a capability")?)
            }
            (CSubject::Capabilities, Test::In { negated, values }) => CTest::In {
                negated: *negated,
                set: self.set(values, &string, "a capability")?,
            },
            (CSubject::Capabilities, _) => {
                self.problems.push(Diagnostic::new(
                    "capabilities are a set; use `capabilities contains \"gpu.*\"` or `in (..)`",
                    p.span,
                ));
                return None;
            }
            (CSubject::Property(_, ValueType::List(inner)), Test::Contains(lit)) => {
                CTest::Contains(self.set(
                    std::slice::from_ref(lit),
                    inner,
                    &format!("an element of {what}"),
                )?)
            }
            (_, Test::Contains(lit)) => {
                self.problems.push(Diagnostic::new(
                    format!(
                        "`contains` applies to lists and capabilities, but {what} is {}",
                        type_name(&ty)
                    ),
                    lit.span,
                ));
                return None;
            }
            (CSubject::Property(_, ValueType::List(_)), _) => {
                self.problems.push(Diagnostic::new(
                    format!("{what} is a list; use `contains`"),
                    p.span,
                ));
                return None;
            }
            (CSubject::Label(_), Test::Compare(op, lit)) if op.is_ordering() => {
                match lit.text().and_then(|t| t.parse::<i64>().ok()) {
                    Some(n) => CTest::LabelInt(*op, n),
                    None => {
                        self.problems.push(Diagnostic::new(
                            format!(
                                "label values are ordered as integers; `{lit}` is not an integer"
                            ),
                            lit.span,
                        ));
                        return None;
                    }
                }
            }
            (_, Test::Compare(op, lit)) => {
                if op.is_ordering() && matches!(ty, ValueType::String | ValueType::Bool) {
                    self.problems.push(Diagnostic::new(
                        format!(
                            "`{}` does not apply to {what}, which is {}",
                            op.as_str(),
                            type_name(&ty)
                        ),
                        p.span,
                    ));
                    return None;
                }
                if let Some(text) = lit.text()
                    && has_glob_chars(text)
                    && ty == ValueType::String
                    && !matches!(lit.kind, LiteralKind::Quoted(_))
                {
                    // A bare glob after `=` is almost always meant as a glob.
                    self.problems.push(
                        Diagnostic::new(
                            format!("`=` compares exactly; `{text}` looks like a glob"),
                            lit.span,
                        )
                        .help(format!(
                            "write `{} ~ \"{text}\"` or `{} in (\"{text}\")`",
                            p.subject, p.subject
                        )),
                    );
                    return None;
                }
                CTest::Cmp(*op, self.typed(lit, &ty, &what)?)
            }
            (_, Test::In { negated, values }) => CTest::In {
                negated: *negated,
                set: self.set(values, &ty, &what)?,
            },
            (_, Test::Glob(lit)) => {
                if ty != ValueType::String {
                    self.problems.push(Diagnostic::new(
                        format!(
                            "a glob does not apply to {what}, which is {}",
                            type_name(&ty)
                        ),
                        lit.span,
                    ));
                    return None;
                }
                CTest::In {
                    negated: false,
                    set: self.glob_operand(lit)?,
                }
            }
        };
        Some(CPred {
            subject,
            test,
            text,
        })
    }

    fn node(&mut self, s: &Selector) -> Option<Node> {
        Some(match s {
            Selector::All => Node::All,
            Selector::And(xs) | Selector::Or(xs) => {
                // Check every part (to report every problem) before giving up.
                let parts: Vec<Option<Node>> = xs.iter().map(|x| self.node(x)).collect();
                let parts: Option<Vec<Node>> = parts.into_iter().collect();
                let parts = parts?;
                if matches!(s, Selector::And(_)) {
                    Node::And(parts)
                } else {
                    Node::Or(parts)
                }
            }
            Selector::Not(x) => Node::Not(Box::new(self.node(x)?)),
            Selector::Pred(p) => Node::Pred(Box::new(self.predicate(p)?)),
        })
    }
}

/// Parses an instant: RFC 3339, or a date (midnight UTC).
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

impl CompiledSelector {
    /// Checks a selector against a schema and types its literals.
    ///
    /// # Errors
    ///
    /// [`SelectorError`] with every problem: unknown properties (with a "did you mean"),
    /// literals that do not fit their property's type, operators that do not apply to it,
    /// invalid globs.
    pub fn new(selector: &Selector, schema: &Schema) -> Result<Self, SelectorError> {
        Self::with_source(selector, schema, "")
    }

    pub(crate) fn with_source(
        selector: &Selector,
        schema: &Schema,
        source: &str,
    ) -> Result<Self, SelectorError> {
        let mut c = Checker {
            schema,
            problems: Vec::new(),
        };
        let root = c.node(selector);
        match root {
            Some(root) if c.problems.is_empty() => Ok(Self {
                root,
                ast: selector.clone(),
            }),
            _ => Err(SelectorError::new(source, c.problems)),
        }
    }

    /// The selector this was compiled from.
    #[must_use]
    pub fn selector(&self) -> &Selector {
        &self.ast
    }
}

impl fmt::Display for CompiledSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ast)
    }
}

/// Parses and compiles the text form.
///
/// # Errors
///
/// [`SelectorError`]: the syntax error, or every schema problem.
pub fn compile(text: &str, schema: &Schema) -> Result<CompiledSelector, SelectorError> {
    let ast = parse(text)?;
    CompiledSelector::with_source(&ast, schema, text)
}
