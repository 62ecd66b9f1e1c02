//! The scan path: evaluating a compiled selector against one target, and explaining why.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Target, TargetRef, Value, ValueRef};

use crate::ast::{CmpOp, DocRoot};
use crate::compile::{
    CPred, CSubject, CTest, CompiledSelector, DocScalar, Node, Operand, ValueSet,
};

/// Read access to a target, so one evaluator serves owned [`Target`]s and inventory
/// [`TargetRef`]s alike. Implementations must not allocate.
pub trait TargetView {
    /// The id.
    fn id(&self) -> &str;
    /// The kind.
    fn kind(&self) -> &str;
    /// The substrate.
    fn substrate(&self) -> &str;
    /// A property's value.
    fn property(&self, name: &str) -> Option<ValueRef<'_>>;
    /// A label's value.
    fn label(&self, key: &str) -> Option<&str>;
    /// Whether `f` holds for some label key.
    fn any_label_key(&self, f: &mut dyn FnMut(&str) -> bool) -> bool;
    /// Whether `f` holds for some capability.
    fn any_capability(&self, f: &mut dyn FnMut(&str) -> bool) -> bool;
    /// The desired or observed document.
    fn document(&self, root: DocRoot) -> Option<&serde_json::Value>;
}

pub(crate) fn value_ref(v: &Value) -> ValueRef<'_> {
    ValueRef::from(v)
}

impl TargetView for Target {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn substrate(&self) -> &str {
        &self.substrate
    }
    fn property(&self, name: &str) -> Option<ValueRef<'_>> {
        self.properties.get(name).map(value_ref)
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
    fn any_label_key(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.labels.keys().any(|k| f(k))
    }
    fn any_capability(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.capabilities.iter().any(|c| f(c))
    }
    fn document(&self, root: DocRoot) -> Option<&serde_json::Value> {
        match root {
            DocRoot::Desired => self.desired.as_ref().map(fleet_core::Document::value),
            DocRoot::Observed => self
                .observed
                .as_ref()
                .and_then(|o| o.document.as_ref())
                .map(fleet_core::Document::value),
        }
    }
}

impl TargetView for TargetRef<'_> {
    fn id(&self) -> &str {
        TargetRef::id(self)
    }
    fn kind(&self) -> &str {
        TargetRef::kind(self)
    }
    fn substrate(&self) -> &str {
        TargetRef::substrate(self)
    }
    fn property(&self, name: &str) -> Option<ValueRef<'_>> {
        TargetRef::property(self, name)
    }
    fn label(&self, key: &str) -> Option<&str> {
        TargetRef::label(self, key)
    }
    fn any_label_key(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.labels().any(|(k, _)| f(k))
    }
    fn any_capability(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.capabilities().any(f)
    }
    fn document(&self, root: DocRoot) -> Option<&serde_json::Value> {
        match root {
            DocRoot::Desired => self.desired().map(|d| d.value()),
            DocRoot::Observed => self
                .observed()
                .and_then(|o| o.document.as_ref())
                .map(fleet_core::Document::value),
        }
    }
}

/// Compares a stored value with an operand of the same declared type.
fn compare(x: ValueRef<'_>, v: &Value) -> Option<Ordering> {
    Some(match (x, v) {
        (ValueRef::String(a), Value::String(b)) => a.cmp(b.as_str()),
        (ValueRef::Integer(a), Value::Integer(b)) => a.cmp(b),
        (ValueRef::Float(a), Value::Float(b)) => a.total_cmp(b),
        (ValueRef::Bool(a), Value::Bool(b)) => a.cmp(b),
        (ValueRef::Version(a), Value::Version(b)) => a.cmp(b),
        (ValueRef::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
        (ValueRef::Duration(a), Value::Duration(b)) => a.cmp(b),
        _ => return None,
    })
}

fn equal(x: ValueRef<'_>, v: &Value) -> bool {
    match (x, v) {
        // `version = 4.2` means "lies under 4.2".
        (ValueRef::Version(a), Value::Version(b)) => a.has_prefix(b),
        _ => compare(x, v) == Some(Ordering::Equal),
    }
}

fn ordered(op: CmpOp, ord: Option<Ordering>) -> bool {
    match (op, ord) {
        (_, None) => false,
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
    }
}

/// The operand's value at `now`; borrowed unless it is relative to `now`, so comparisons
/// stay allocation-free.
pub(crate) fn resolve(op: &Operand, now: DateTime<Utc>) -> Option<std::borrow::Cow<'_, Value>> {
    use std::borrow::Cow;
    match op {
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Now(d) => now
            .checked_add_signed(d.as_delta())
            .map(|t| Cow::Owned(Value::Timestamp(t))),
        Operand::Json(_) => None,
    }
}

impl ValueSet {
    pub(crate) fn matches(&self, x: ValueRef<'_>) -> bool {
        match x {
            ValueRef::String(s) => self.matches_str(s),
            ValueRef::Version(v) => self.prefixes.iter().any(|p| v.has_prefix(p)),
            other => self.exact.iter().any(|v| equal(other, v)),
        }
    }

    fn matches_json(&self, j: &serde_json::Value) -> bool {
        match j {
            serde_json::Value::String(s) => {
                self.json.iter().any(|x| *x == DocScalar::Str(s.clone())) || self.matches_glob(s)
            }
            other => self.json.iter().any(|x| json_eq(other, x)),
        }
    }
}

fn json_eq(j: &serde_json::Value, s: &DocScalar) -> bool {
    match (j, s) {
        (serde_json::Value::String(a), DocScalar::Str(b)) => a == b,
        (serde_json::Value::Number(a), DocScalar::Num(b)) => a.as_f64() == Some(*b),
        (serde_json::Value::Bool(a), DocScalar::Bool(b)) => a == b,
        _ => false,
    }
}

fn walk<'a>(doc: &'a serde_json::Value, path: &[String]) -> Option<&'a serde_json::Value> {
    let mut at = doc;
    for seg in path {
        at = match at {
            serde_json::Value::Object(m) => m.get(seg)?,
            serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// What a predicate saw: the value that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Missing,
    Value(String),
    Several(Vec<String>),
}

impl CPred {
    fn subject_label(&self) -> String {
        match &self.subject {
            CSubject::Property(n, _) => n.clone(),
            CSubject::Label(k) => format!("label `{k}`"),
            CSubject::LabelKeys => "label keys".into(),
            CSubject::Capabilities => "capabilities".into(),
            CSubject::Id => "id".into(),
            CSubject::Kind => "kind".into(),
            CSubject::Substrate => "substrate".into(),
            CSubject::Path(r, p) => format!(
                "{}.{}",
                if *r == DocRoot::Desired {
                    "desired"
                } else {
                    "observed"
                },
                p.join(".")
            ),
        }
    }

    pub(crate) fn eval<T: TargetView + ?Sized>(&self, t: &T, now: DateTime<Utc>) -> bool {
        self.eval_seen(t, now, None)
    }

    /// Evaluates; when `seen` is given, records the deciding value.
    fn eval_seen<T: TargetView + ?Sized>(
        &self,
        t: &T,
        now: DateTime<Utc>,
        mut seen: Option<&mut Seen>,
    ) -> bool {
        let want = seen.is_some();
        let mut note = |s: Seen| {
            if let Some(slot) = seen.as_deref_mut() {
                *slot = s;
            }
        };
        // A missing value fails every test except `!=` and `not in` (as Kubernetes does).
        let missing = |test: &CTest| {
            matches!(
                test,
                CTest::Cmp(CmpOp::Ne, _) | CTest::In { negated: true, .. }
            )
        };
        match &self.subject {
            CSubject::Property(name, _) => {
                let Some(x) = t.property(name) else {
                    note(Seen::Missing);
                    return missing(&self.test);
                };
                if want {
                    note(Seen::Value(x.to_value().to_string()));
                }
                self.test_value(x, now)
            }
            CSubject::Label(key) => {
                let Some(v) = t.label(key) else {
                    note(Seen::Missing);
                    return missing(&self.test);
                };
                if want {
                    note(Seen::Value(v.to_owned()));
                }
                match &self.test {
                    CTest::LabelInt(op, n) => ordered(*op, v.parse::<i64>().ok().map(|x| x.cmp(n))),
                    _ => self.test_value(ValueRef::String(v), now),
                }
            }
            CSubject::Id | CSubject::Kind | CSubject::Substrate => {
                let s = match self.subject {
                    CSubject::Id => t.id(),
                    CSubject::Kind => t.kind(),
                    _ => t.substrate(),
                };
                if want {
                    note(Seen::Value(s.to_owned()));
                }
                self.test_value(ValueRef::String(s), now)
            }
            CSubject::LabelKeys | CSubject::Capabilities => {
                let is_keys = self.subject == CSubject::LabelKeys;
                let any = |f: &mut dyn FnMut(&str) -> bool| {
                    if is_keys {
                        t.any_label_key(f)
                    } else {
                        t.any_capability(f)
                    }
                };
                if want {
                    let mut all = Vec::new();
                    any(&mut |k| {
                        all.push(k.to_owned());
                        false
                    });
                    note(if all.is_empty() {
                        Seen::Missing
                    } else {
                        Seen::Several(all)
                    });
                }
                match &self.test {
                    CTest::Exists => any(&mut |_| true),
                    CTest::In { set, .. } | CTest::Contains(set) => {
                        let hit = any(&mut |k| set.matches_str(k));
                        hit != matches!(self.test, CTest::In { negated: true, .. })
                    }
                    _ => false,
                }
            }
            CSubject::Path(root, path) => {
                let Some(j) = t.document(*root).and_then(|d| walk(d, path)) else {
                    note(Seen::Missing);
                    return missing(&self.test);
                };
                if want {
                    note(Seen::Value(j.to_string()));
                }
                match &self.test {
                    CTest::Exists => true,
                    CTest::Cmp(op, Operand::Json(s)) => match (op, j, s) {
                        (CmpOp::Eq, _, _) => json_eq(j, s),
                        (CmpOp::Ne, _, _) => !json_eq(j, s),
                        (op, serde_json::Value::Number(a), DocScalar::Num(b)) => {
                            ordered(*op, a.as_f64().and_then(|a| a.partial_cmp(b)))
                        }
                        _ => false,
                    },
                    CTest::In { negated, set } => set.matches_json(j) != *negated,
                    _ => false,
                }
            }
        }
    }

    fn test_value(&self, x: ValueRef<'_>, now: DateTime<Utc>) -> bool {
        match &self.test {
            CTest::Exists => true,
            CTest::Cmp(op, operand) => {
                let Some(v) = resolve(operand, now) else {
                    return false;
                };
                match op {
                    CmpOp::Eq => equal(x, &v),
                    CmpOp::Ne => !equal(x, &v),
                    op => ordered(*op, compare(x, &v)),
                }
            }
            CTest::LabelInt(..) => false,
            CTest::In { negated, set } => set.matches(x) != *negated,
            CTest::Contains(set) => match x {
                ValueRef::List(items) => items.iter().any(|i| set.matches(value_ref(i))),
                _ => false,
            },
        }
    }
}

impl Node {
    fn eval<T: TargetView + ?Sized>(&self, t: &T, now: DateTime<Utc>) -> bool {
        match self {
            Node::All => true,
            Node::And(xs) => xs.iter().all(|x| x.eval(t, now)),
            Node::Or(xs) => xs.iter().any(|x| x.eval(t, now)),
            Node::Not(x) => !x.eval(t, now),
            Node::Pred(p) => p.eval(t, now),
        }
    }
}

impl CompiledSelector {
    /// Whether the target matches, at the instant `now` (for `now - 30d`). Allocation-free.
    pub fn matches<T: TargetView + ?Sized>(&self, target: &T, now: DateTime<Utc>) -> bool {
        self.root.eval(target, now)
    }

    /// Why the target matches or not: every predicate, the value it saw and its verdict.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use fleet_core::{PropertyDef, Schema, Target, TargetId, ValueType};
    /// use fleet_selectors::compile;
    ///
    /// let schema = Schema::new().with("region", PropertyDef::new(ValueType::String));
    /// let sel = compile(r#"region in ("us-*", "eu-*")"#, &schema)?;
    /// let t = Target::new(TargetId::new("c1").unwrap(), "cluster", "aws").property("region", "ap-south-1");
    /// let why = sel.explain(&t, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    /// assert!(!why.matched);
    /// assert_eq!(why.to_string(), "no: region in (\"us-*\", \"eu-*\"): region `ap-south-1` matches none of `us-*`, `eu-*`\n");
    /// # Ok::<(), fleet_selectors::SelectorError>(())
    /// ```
    #[must_use]
    pub fn explain<T: TargetView + ?Sized>(&self, target: &T, now: DateTime<Utc>) -> Explanation {
        let mut lines = Vec::new();
        let matched = explain_node(&self.root, target, now, 0, &mut lines);
        Explanation { matched, lines }
    }
}

fn explain_node<T: TargetView + ?Sized>(
    node: &Node,
    t: &T,
    now: DateTime<Utc>,
    depth: usize,
    lines: &mut Vec<ExplainLine>,
) -> bool {
    match node {
        Node::All => {
            lines.push(ExplainLine {
                depth,
                matched: true,
                clause: "(empty selector)".into(),
                reason: "matches every target".into(),
            });
            true
        }
        Node::And(xs) | Node::Or(xs) => {
            let is_and = matches!(node, Node::And(_));
            let at = lines.len();
            lines.push(ExplainLine {
                depth,
                matched: false,
                clause: if is_and {
                    "all of".into()
                } else {
                    "any of".into()
                },
                reason: String::new(),
            });
            let results: Vec<bool> = xs
                .iter()
                .map(|x| explain_node(x, t, now, depth + 1, lines))
                .collect();
            let m = if is_and {
                results.iter().all(|b| *b)
            } else {
                results.iter().any(|b| *b)
            };
            let failing = results.iter().filter(|b| !**b).count();
            if let Some(l) = lines.get_mut(at) {
                l.matched = m;
                l.reason = format!(
                    "{} of {} parts match",
                    results.len() - failing,
                    results.len()
                );
            }
            m
        }
        Node::Not(x) => {
            let at = lines.len();
            lines.push(ExplainLine {
                depth,
                matched: false,
                clause: "not".into(),
                reason: String::new(),
            });
            let inner = explain_node(x, t, now, depth + 1, lines);
            if let Some(l) = lines.get_mut(at) {
                l.matched = !inner;
                l.reason = if inner {
                    "the part matches".into()
                } else {
                    "the part does not match".into()
                };
            }
            !inner
        }
        Node::Pred(p) => {
            let mut seen = Seen::Missing;
            let m = p.eval_seen(t, now, Some(&mut seen));
            lines.push(ExplainLine {
                depth,
                matched: m,
                clause: p.text.clone(),
                reason: reason(p, &seen, m, now),
            });
            m
        }
    }
}

fn reason(p: &CPred, seen: &Seen, matched: bool, now: DateTime<Utc>) -> String {
    let who = p.subject_label();
    let shown = match seen {
        Seen::Missing => return format!("{who} is missing"),
        Seen::Value(v) => format!("{who} `{v}`"),
        Seen::Several(vs) => format!(
            "{who} {}",
            vs.iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match &p.test {
        CTest::Exists => format!("{shown} exists"),
        CTest::In { set, .. } | CTest::Contains(set) => {
            let negated = matches!(p.test, CTest::In { negated: true, .. });
            let hit = matched != negated;
            if hit {
                format!("{shown} matches one of {}", set.describe())
            } else {
                format!("{shown} matches none of {}", set.describe())
            }
        }
        CTest::Cmp(op, operand) => {
            let rhs = match operand {
                Operand::Now(_) => {
                    resolve(operand, now).map_or_else(|| "now".into(), |v| format!("`{v}` (now)"))
                }
                Operand::Value(v) => format!("`{v}`"),
                Operand::Json(j) => format!("`{j:?}`"),
            };
            format!(
                "{shown} {} {} {rhs}",
                if matched { "is" } else { "is not" },
                op.as_str()
            )
        }
        CTest::LabelInt(op, n) => {
            format!(
                "{shown} {} {} `{n}` as an integer",
                if matched { "is" } else { "is not" },
                op.as_str()
            )
        }
    }
}

/// One line of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainLine {
    /// Nesting depth (0 for the top).
    pub depth: usize,
    /// Whether this part matched.
    pub matched: bool,
    /// The clause, as canonical text (`all of`, `any of`, `not` for compound parts).
    pub clause: String,
    /// What decided it, with the value seen.
    pub reason: String,
}

/// Why a target matched a selector or not, clause by clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The overall verdict.
    pub matched: bool,
    /// One line per clause, depth first.
    pub lines: Vec<ExplainLine>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            writeln!(
                f,
                "{}{}: {}: {}",
                "  ".repeat(l.depth),
                if l.matched { "yes" } else { "no" },
                l.clause,
                l.reason
            )?;
        }
        Ok(())
    }
}
