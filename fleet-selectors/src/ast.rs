//! The selector syntax tree shared by the three input forms.

use std::fmt;
use std::hash::{Hash, Hasher};

use fleet_core::Duration;

/// A byte range in a selector's source text.
///
/// Spans are not part of a selector's identity: two selectors that differ only in where
/// their parts were written compare equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    #[must_use]
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Span {}

impl Hash for Span {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

/// A selector: a boolean expression over predicates on targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// Matches every target (the empty selector).
    All,
    /// Every part matches.
    And(Vec<Selector>),
    /// Some part matches.
    Or(Vec<Selector>),
    /// The part does not match (plain negation).
    Not(Box<Selector>),
    /// One test on one subject.
    Pred(Predicate),
}

/// One test on one subject: `region in ("eu-*")`, `label.frozen exists`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Predicate {
    /// What is tested.
    pub subject: Subject,
    /// The test.
    pub test: Test,
    /// Where the predicate was written.
    pub span: Span,
}

/// What a predicate looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A schema property: `region`, or `properties["odd name"]`.
    Property(String, Span),
    /// One label's value: `label.team`, `labels["topology.kubernetes.io/region"]`.
    Label(String, Span),
    /// The set of label keys: `label in ("frozen", "compliance-hold")`.
    LabelKeys(Span),
    /// The target's capabilities: `capabilities contains "gpu.*"`.
    Capabilities(Span),
    /// The target id.
    Id(Span),
    /// The target kind.
    Kind(Span),
    /// The target substrate.
    Substrate(Span),
    /// A path into the desired or observed document (scan only): `observed.spec.replicas`.
    Path(DocRoot, Vec<String>, Span),
}

impl Subject {
    /// Where the subject was written.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Self::Property(_, s)
            | Self::Label(_, s)
            | Self::LabelKeys(s)
            | Self::Capabilities(s)
            | Self::Id(s)
            | Self::Kind(s)
            | Self::Substrate(s)
            | Self::Path(_, _, s) => *s,
        }
    }
}

/// Which document a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocRoot {
    /// The desired document.
    Desired,
    /// The last observed document.
    Observed,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` (for versions: "lies under", so `4.2` covers 4.2.x).
    Eq,
    /// `!=` (true when the value is missing).
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl CmpOp {
    /// The operator as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// Whether this is an ordering comparison.
    #[must_use]
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }
}

/// The test a predicate applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Test {
    /// The subject has a value.
    Exists,
    /// `subject OP literal`.
    Compare(CmpOp, Literal),
    /// `subject in (..)` or `subject not in (..)`; string members may be globs.
    In {
        /// `not in`.
        negated: bool,
        /// The members.
        values: Vec<Literal>,
    },
    /// `subject ~ "glob"`.
    Glob(Literal),
    /// `subject contains literal`, for lists and capabilities; strings may be globs.
    Contains(Literal),
}

/// A literal as written; the schema gives it a type when the selector is compiled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The literal.
    pub kind: LiteralKind,
    /// Where it was written.
    pub span: Span,
}

impl Literal {
    /// A quoted string literal (no span).
    #[must_use]
    pub fn quoted(s: impl Into<String>) -> Self {
        Self {
            kind: LiteralKind::Quoted(s.into()),
            span: Span::default(),
        }
    }

    /// A bare literal (no span).
    #[must_use]
    pub fn bare(s: impl Into<String>) -> Self {
        Self {
            kind: LiteralKind::Bare(s.into()),
            span: Span::default(),
        }
    }

    /// The literal's text (quoted or bare), if it is not `now`.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            LiteralKind::Quoted(s) | LiteralKind::Bare(s) => Some(s),
            LiteralKind::Now(_) => None,
        }
    }
}

/// The forms a literal takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    /// `"eu-*"`: text, exactly as quoted.
    Quoted(String),
    /// `production`, `4.2`, `1.29.3-eks-2f008fe`, `30d`, `2026-01-01`, `true`: typed by the
    /// schema.
    Bare(String),
    /// `now`, `now - 30d`: the instant passed to evaluation, shifted.
    Now(Duration),
}

/// Characters a bare literal may contain (besides ASCII alphanumerics).
pub(crate) fn is_bare_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | ':' | '/' | '*' | '?' | '@')
}

/// The words of the text form that cannot be bare property names or bare values (quote them,
/// or write `properties["kind"]`).
pub const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "exists",
    "contains",
    "now",
    "label",
    "labels",
    "properties",
    "capabilities",
    "id",
    "kind",
    "substrate",
    "observed",
    "desired",
];

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn is_label_key_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            LiteralKind::Quoted(s) => write_quoted(f, s),
            LiteralKind::Bare(s) => f.write_str(s),
            LiteralKind::Now(d) if *d == Duration::ZERO => f.write_str("now"),
            LiteralKind::Now(d) => {
                let text = d.to_string();
                match text.strip_prefix('-') {
                    Some(abs) => write!(f, "now - {abs}"),
                    None => write!(f, "now + {text}"),
                }
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Property(name, _) if is_ident(name) && !KEYWORDS.contains(&name.as_str()) => {
                f.write_str(name)
            }
            Self::Property(name, _) => {
                f.write_str("properties[")?;
                write_quoted(f, name)?;
                f.write_str("]")
            }
            Self::Label(key, _) if is_label_key_token(key) => write!(f, "label.{key}"),
            Self::Label(key, _) => {
                f.write_str("labels[")?;
                write_quoted(f, key)?;
                f.write_str("]")
            }
            Self::LabelKeys(_) => f.write_str("label"),
            Self::Capabilities(_) => f.write_str("capabilities"),
            Self::Id(_) => f.write_str("id"),
            Self::Kind(_) => f.write_str("kind"),
            Self::Substrate(_) => f.write_str("substrate"),
            Self::Path(root, path, _) => {
                f.write_str(match root {
                    DocRoot::Desired => "desired",
                    DocRoot::Observed => "observed",
                })?;
                // Once a segment needs brackets, the rest use them too: `.a` cannot follow `]`.
                let mut bracketed = false;
                for seg in path {
                    if is_ident(seg) && !bracketed {
                        write!(f, ".{seg}")?;
                    } else {
                        bracketed = true;
                        f.write_str("[")?;
                        write_quoted(f, seg)?;
                        f.write_str("]")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.subject)?;
        match &self.test {
            Test::Exists => f.write_str(" exists"),
            Test::Compare(op, lit) => write!(f, " {} {lit}", op.as_str()),
            Test::In { negated, values } => {
                f.write_str(if *negated { " not in (" } else { " in (" })?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Test::Glob(lit) => write!(f, " ~ {lit}"),
            Test::Contains(lit) => write!(f, " contains {lit}"),
        }
    }
}

impl Selector {
    fn precedence(&self) -> u8 {
        match self {
            Self::Or(_) => 0,
            Self::And(_) => 1,
            Self::Not(_) => 2,
            Self::Pred(_) | Self::All => 3,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, child: &Selector) -> fmt::Result {
        // Parenthesise a child that binds no tighter than its parent, so that the text
        // parses back into the same tree (`a and (b and c)` keeps its nesting).
        if child.precedence() <= self.precedence() && !matches!(child, Selector::Not(_)) {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }

    /// `a and b`, flattening nested ands and dropping `All`.
    #[must_use]
    pub fn and(parts: impl IntoIterator<Item = Selector>) -> Selector {
        let parts: Vec<Selector> = parts
            .into_iter()
            .filter(|p| !matches!(p, Selector::All))
            .collect();
        match parts.len() {
            0 => Selector::All,
            1 => parts.into_iter().next().unwrap_or(Selector::All),
            _ => Selector::And(parts),
        }
    }

    /// Every predicate, depth first.
    pub fn predicates(&self) -> Box<dyn Iterator<Item = &Predicate> + '_> {
        match self {
            Self::All => Box::new(std::iter::empty()),
            Self::And(xs) | Self::Or(xs) => Box::new(xs.iter().flat_map(Selector::predicates)),
            Self::Not(x) => x.predicates(),
            Self::Pred(p) => Box::new(std::iter::once(p)),
        }
    }
}

impl fmt::Display for Selector {
    /// The canonical text form; it parses back into an equal selector. The empty selector
    /// prints as nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => Ok(()),
            Self::And(xs) | Self::Or(xs) => {
                let sep = if matches!(self, Self::And(_)) {
                    " and "
                } else {
                    " or "
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    self.write_child(f, x)?;
                }
                Ok(())
            }
            Self::Not(x) => {
                f.write_str("not ")?;
                match **x {
                    Selector::Pred(_) | Selector::Not(_) => write!(f, "{x}"),
                    _ => write!(f, "({x})"),
                }
            }
            Self::Pred(p) => write!(f, "{p}"),
        }
    }
}
