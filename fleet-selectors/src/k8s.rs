//! Kubernetes label selectors, with apimachinery's exact semantics.
//!
//! Both forms: the string syntax (`env in (prod,staging),!frozen,tier!=dev,app`, as
//! `kubectl -l` takes it) and the structured `matchLabels`/`matchExpressions` form of
//! `metav1.LabelSelector`. They address labels only. `!=` and `notin` match objects without
//! the key; the empty selector matches everything; `>` and `<` compare values as integers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ast::{CmpOp, Literal, Predicate, Selector, Span, Subject, Test};

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LabelOp {
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: also true without the key.
    NotIn,
    /// `key=v`.
    Equals,
    /// `key==v` (kept apart from `=` because the canonical form keeps it).
    DoubleEquals,
    /// `key!=v`: also true without the key.
    NotEquals,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>n` (integers).
    GreaterThan,
    /// `key<n` (integers).
    LessThan,
}

/// Why a label selector is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector: {message}")]
pub struct LabelSelectorError {
    /// What is wrong, naming the key or value.
    pub message: String,
    /// Byte offset in the string form, when there is one.
    pub at: Option<usize>,
}

fn err(message: impl Into<String>, at: Option<usize>) -> LabelSelectorError {
    LabelSelectorError {
        message: message.into(),
        at,
    }
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    key: String,
    op: LabelOp,
    values: BTreeSet<String>,
}

fn is_name(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.first()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.last()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// Kubernetes' rule for label keys: an optional DNS-subdomain prefix and `/`, then a name of
/// at most 63 characters (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric).
#[must_use]
pub fn is_valid_label_key(key: &str) -> bool {
    match key.rsplit_once('/') {
        Some((prefix, name)) => !prefix.is_empty() && is_dns_subdomain(prefix) && is_name(name, 63),
        None => is_name(key, 63),
    }
}

/// Kubernetes' rule for label values: empty, or at most 63 characters like a name.
#[must_use]
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_name(value, 63)
}

impl Requirement {
    /// A validated requirement, as apimachinery's `NewRequirement`.
    ///
    /// # Errors
    ///
    /// [`LabelSelectorError`] for an invalid key or value, or a value count that does not
    /// fit the operator.
    pub fn new(
        key: impl Into<String>,
        op: LabelOp,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, LabelSelectorError> {
        let key = key.into();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if !is_valid_label_key(&key) {
            return Err(err(format!("`{key}` is not a valid label key"), None));
        }
        match op {
            LabelOp::In | LabelOp::NotIn if values.is_empty() => {
                return Err(err(
                    format!("`{key}`: `in` and `notin` need at least one value"),
                    None,
                ));
            }
            LabelOp::Equals | LabelOp::DoubleEquals | LabelOp::NotEquals if values.len() != 1 => {
                return Err(err(
                    format!("`{key}`: exact match needs exactly one value"),
                    None,
                ));
            }
            LabelOp::Exists | LabelOp::DoesNotExist if !values.is_empty() => {
                return Err(err(
                    format!("`{key}`: exists and does-not-exist take no values"),
                    None,
                ));
            }
            LabelOp::GreaterThan | LabelOp::LessThan => {
                if values.len() != 1 {
                    return Err(err(
                        format!("`{key}`: `>` and `<` need exactly one value"),
                        None,
                    ));
                }
                if let Some(v) = values.first()
                    && v.parse::<i64>().is_err()
                {
                    return Err(err(format!("`{key}`: `{v}` is not an integer"), None));
                }
            }
            _ => {}
        }
        if let Some(v) = values.iter().find(|v| !is_valid_label_value(v)) {
            return Err(err(
                format!("`{v}` is not a valid label value (key `{key}`)"),
                None,
            ));
        }
        Ok(Self {
            key,
            op,
            values: values.into_iter().collect(),
        })
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    #[must_use]
    pub fn op(&self) -> LabelOp {
        self.op
    }

    /// The values, sorted.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// Whether a label set satisfies the requirement.
    #[must_use]
    pub fn matches(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        let v = labels(&self.key);
        match self.op {
            LabelOp::In | LabelOp::Equals | LabelOp::DoubleEquals => {
                v.is_some_and(|v| self.values.contains(&v))
            }
            LabelOp::NotIn | LabelOp::NotEquals => v.is_none_or(|v| !self.values.contains(&v)),
            LabelOp::Exists => v.is_some(),
            LabelOp::DoesNotExist => v.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let (Some(have), Some(want)) = (
                    v.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|w| w.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }

    fn to_predicate(&self) -> Selector {
        let subject = Subject::Label(self.key.clone(), Span::default());
        let quoted = |v: &String| Literal::quoted(v.clone());
        let one = || {
            self.values
                .first()
                .map(quoted)
                .unwrap_or_else(|| Literal::quoted(""))
        };
        let pred = |test| {
            Selector::Pred(Predicate {
                subject: subject.clone(),
                test,
                span: Span::default(),
            })
        };
        match self.op {
            LabelOp::In | LabelOp::NotIn => pred(Test::In {
                negated: self.op == LabelOp::NotIn,
                values: self.values.iter().map(quoted).collect(),
            }),
            LabelOp::Equals | LabelOp::DoubleEquals => pred(Test::Compare(CmpOp::Eq, one())),
            LabelOp::NotEquals => pred(Test::Compare(CmpOp::Ne, one())),
            LabelOp::Exists => pred(Test::Exists),
            LabelOp::DoesNotExist => Selector::Not(Box::new(pred(Test::Exists))),
            LabelOp::GreaterThan | LabelOp::LessThan => pred(Test::Compare(
                if self.op == LabelOp::GreaterThan {
                    CmpOp::Gt
                } else {
                    CmpOp::Lt
                },
                Literal::bare(self.values.first().cloned().unwrap_or_default()),
            )),
        }
    }
}

impl fmt::Display for Requirement {
    /// apimachinery's `Requirement.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.values.first().map_or("", String::as_str);
        let list = || {
            self.values
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        match self.op {
            LabelOp::Exists => write!(f, "{}", self.key),
            LabelOp::DoesNotExist => write!(f, "!{}", self.key),
            LabelOp::Equals => write!(f, "{}={one}", self.key),
            LabelOp::DoubleEquals => write!(f, "{}=={one}", self.key),
            LabelOp::NotEquals => write!(f, "{}!={one}", self.key),
            LabelOp::GreaterThan => write!(f, "{}>{one}", self.key),
            LabelOp::LessThan => write!(f, "{}<{one}", self.key),
            LabelOp::In => write!(f, "{} in ({})", self.key, list()),
            LabelOp::NotIn => write!(f, "{} notin ({})", self.key, list()),
        }
    }
}

/// A Kubernetes label selector: requirements that must all hold.
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use fleet_selectors::LabelSelector;
///
/// let s = LabelSelector::parse("env in (prod,staging),!frozen,tier!=dev,app")?;
/// assert_eq!(s.to_string(), "app,env in (prod,staging),!frozen,tier!=dev");
/// let labels = BTreeMap::from([("env".to_string(), "prod".to_string()), ("app".to_string(), "web".to_string())]);
/// assert!(s.matches(&labels));
/// # Ok::<(), fleet_selectors::LabelSelectorError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl fmt::Display for LabelSelector {
    /// apimachinery's canonical `String()`: requirements sorted by key, comma-joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KTok {
    Ident(String),
    In,
    NotIn,
    Comma,
    LParen,
    RParen,
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(s: &str) -> Vec<(KTok, usize)> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            it.next();
            continue;
        }
        if is_special(c) {
            it.next();
            let eq_next = it.peek().is_some_and(|&(_, d)| d == '=');
            let tok = match c {
                '=' if eq_next => {
                    it.next();
                    KTok::DoubleEq
                }
                '=' => KTok::Eq,
                '!' if eq_next => {
                    it.next();
                    KTok::NotEq
                }
                '!' => KTok::Bang,
                '(' => KTok::LParen,
                ')' => KTok::RParen,
                ',' => KTok::Comma,
                '>' => KTok::Gt,
                _ => KTok::Lt,
            };
            out.push((tok, i));
            continue;
        }
        let mut word = String::new();
        while let Some(&(_, d)) = it.peek() {
            if matches!(d, ' ' | '\t' | '\r' | '\n') || is_special(d) {
                break;
            }
            word.push(d);
            it.next();
        }
        out.push((
            match word.as_str() {
                "in" => KTok::In,
                "notin" => KTok::NotIn,
                _ => KTok::Ident(word),
            },
            i,
        ));
    }
    out
}

struct KParser {
    toks: Vec<(KTok, usize)>,
    pos: usize,
    len: usize,
}

impl KParser {
    fn peek(&self) -> Option<&KTok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(_, i)| *i)
    }

    fn next(&mut self) -> Option<KTok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn requirement(&mut self) -> Result<Requirement, LabelSelectorError> {
        let start = self.at();
        let bang = self.peek() == Some(&KTok::Bang);
        if bang {
            self.next();
        }
        // Like apimachinery, a key is read in value context: `in` and `notin` are names here.
        let key = match self.next() {
            Some(KTok::Ident(k)) => k,
            Some(KTok::In) => "in".to_owned(),
            Some(KTok::NotIn) => "notin".to_owned(),
            _ => return Err(err("expected a label key", Some(start))),
        };
        if bang {
            return match self.peek() {
                None | Some(KTok::Comma) => {
                    Requirement::new(key, LabelOp::DoesNotExist, Vec::<String>::new())
                }
                _ => Err(err(
                    format!("`!{key}` cannot be followed by an operator"),
                    Some(self.at()),
                )),
            };
        }
        let op = match self.peek() {
            None | Some(KTok::Comma) => {
                return Requirement::new(key, LabelOp::Exists, Vec::<String>::new());
            }
            Some(KTok::In) => LabelOp::In,
            Some(KTok::NotIn) => LabelOp::NotIn,
            Some(KTok::Eq) => LabelOp::Equals,
            Some(KTok::DoubleEq) => LabelOp::DoubleEquals,
            Some(KTok::NotEq) => LabelOp::NotEquals,
            Some(KTok::Gt) => LabelOp::GreaterThan,
            Some(KTok::Lt) => LabelOp::LessThan,
            Some(_) => {
                return Err(err(
                    format!(
                        "expected an operator after `{key}` (`=`, `==`, `!=`, `in`, `notin`, `>`, `<`)"
                    ),
                    Some(self.at()),
                ));
            }
        };
        self.next();
        let at = self.at();
        let values = match op {
            LabelOp::In | LabelOp::NotIn => self.value_list()?,
            _ => vec![self.exact_value()?],
        };
        Requirement::new(key, op, values).map_err(|mut e| {
            e.at = Some(at);
            e
        })
    }

    /// `(a,b)`, `()` (one empty value), `(,a)`.
    fn value_list(&mut self) -> Result<Vec<String>, LabelSelectorError> {
        if self.next() != Some(KTok::LParen) {
            return Err(err("expected `(` after `in` or `notin`", Some(self.at())));
        }
        let mut values = Vec::new();
        let mut want_value = true;
        loop {
            match self.next() {
                Some(KTok::Ident(v)) if want_value => {
                    values.push(v);
                    want_value = false;
                }
                Some(KTok::In) if want_value => {
                    values.push("in".into());
                    want_value = false;
                }
                Some(KTok::NotIn) if want_value => {
                    values.push("notin".into());
                    want_value = false;
                }
                Some(KTok::Comma) => {
                    if want_value {
                        values.push(String::new());
                    }
                    want_value = true;
                }
                Some(KTok::RParen) => {
                    if want_value {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(err(
                        "expected a value, `,` or `)` in the list",
                        Some(self.at()),
                    ));
                }
            }
        }
    }

    fn exact_value(&mut self) -> Result<String, LabelSelectorError> {
        match self.peek() {
            None | Some(KTok::Comma) => Ok(String::new()),
            Some(KTok::Ident(_) | KTok::In | KTok::NotIn) => Ok(match self.next() {
                Some(KTok::Ident(v)) => v,
                Some(KTok::In) => "in".into(),
                _ => "notin".into(),
            }),
            Some(_) => Err(err("expected a value", Some(self.at()))),
        }
    }
}

impl LabelSelector {
    /// Everything: the empty selector.
    #[must_use]
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the string form, as apimachinery's `labels.Parse`.
    ///
    /// # Errors
    ///
    /// [`LabelSelectorError`] with the byte offset of the problem.
    pub fn parse(text: &str) -> Result<Self, LabelSelectorError> {
        let mut p = KParser {
            toks: lex(text),
            pos: 0,
            len: text.len(),
        };
        let mut requirements = Vec::new();
        if p.peek().is_none() {
            return Ok(Self::default());
        }
        loop {
            requirements.push(p.requirement()?);
            match p.next() {
                None => break,
                Some(KTok::Comma) => {
                    if p.peek().is_none() {
                        return Err(err("expected a requirement after `,`", Some(text.len())));
                    }
                }
                Some(_) => {
                    p.pos -= 1;
                    return Err(err("expected `,` between requirements", Some(p.at())));
                }
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Builds a selector from requirements (kept in the given order, as Go's `Add` does
    /// not sort).
    #[must_use]
    pub fn from_requirements(requirements: Vec<Requirement>) -> Self {
        Self { requirements }
    }

    /// The requirements.
    #[must_use]
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector is empty (matches everything).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether a label set satisfies every requirement.
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(&|k| labels.get(k).cloned())
    }

    /// Whether the labels given by a lookup satisfy every requirement.
    #[must_use]
    pub fn matches_with(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The same selector in fleet's language (labels only).
    #[must_use]
    pub fn to_selector(&self) -> Selector {
        Selector::and(self.requirements.iter().map(Requirement::to_predicate))
    }
}

/// The structured form, as in `metav1.LabelSelector`: `matchLabels` and `matchExpressions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorSpec {
    /// Exact label matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelExpression>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelExpression {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (for `In` and `NotIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl LabelSelectorSpec {
    /// Converts to a validated selector, as `metav1.LabelSelectorAsSelector`.
    ///
    /// # Errors
    ///
    /// [`LabelSelectorError`] for an invalid key or value, an operator outside `In`, `NotIn`,
    /// `Exists`, `DoesNotExist`, or a value count that does not fit.
    pub fn to_label_selector(&self) -> Result<LabelSelector, LabelSelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in &self.match_labels {
            requirements.push(Requirement::new(k.clone(), LabelOp::Equals, [v.clone()])?);
        }
        for e in &self.match_expressions {
            let op = match e.operator.as_str() {
                "In" => LabelOp::In,
                "NotIn" => LabelOp::NotIn,
                "Exists" => LabelOp::Exists,
                "DoesNotExist" => LabelOp::DoesNotExist,
                other => {
                    return Err(err(
                        format!(
                            "`{other}` is not a valid label selector operator (key `{}`)",
                            e.key
                        ),
                        None,
                    ));
                }
            };
            requirements.push(Requirement::new(
                e.key.clone(),
                op,
                e.values.clone().unwrap_or_default(),
            )?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }
}
