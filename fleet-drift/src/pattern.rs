//! Field patterns: where in a document a rule applies.

use std::fmt;

/// Where a rule of [`DiffOptions`](crate::DiffOptions) applies: a dotted list of field names,
/// optionally limited to some kinds.
///
/// - `name` matches that field; names with dots or other punctuation are quoted:
///   `metadata.annotations["deployment.kubernetes.io/revision"]`;
/// - `*` matches any one field name, `**` any number (zero or more) of field names;
/// - list elements are transparent: `**.containers.image` matches
///   `spec.template.spec.containers[name=web].image`.
///
/// A pattern is anchored at the document root; start it with `**.` to match anywhere.
///
/// # Example
///
/// ```
/// use fleet_drift::FieldPattern;
///
/// let p = FieldPattern::parse("**.resources.limits.*")?;
/// assert!(p.matches(None, &["spec", "template", "spec", "containers", "resources", "limits", "cpu"]));
/// assert!(!p.matches(None, &["resources", "limits"]));
///
/// let svc = FieldPattern::parse("spec.ports")?.for_kinds(["Service"]);
/// assert!(svc.matches(Some("Service"), &["spec", "ports"]));
/// assert!(!svc.matches(Some("Deployment"), &["spec", "ports"]));
/// # Ok::<(), fleet_drift::PatternError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPattern {
    text: Box<str>,
    parts: Box<[Part]>,
    kinds: Box<[Box<str>]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    Name(Box<str>),
    Any,
    AnyDepth,
    Never,
}

/// Why a string is not a [`FieldPattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field pattern `{input}` at byte {position}: {reason}")]
pub struct PatternError {
    /// The rejected pattern.
    pub input: String,
    /// The byte offset of the problem.
    pub position: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl FieldPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    ///
    /// [`PatternError`] for an empty pattern or segment, or a badly quoted name.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let err = |position, reason| PatternError {
            input: text.to_owned(),
            position,
            reason,
        };
        if text.is_empty() {
            return Err(err(0, "the pattern is empty"));
        }
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut i = 0;
        loop {
            if bytes.get(i) == Some(&b'[') {
                let start = i + 1;
                if bytes.get(start) != Some(&b'"') {
                    return Err(err(start, "expected a quoted name after `[`"));
                }
                let mut j = start + 1;
                let mut escaped = false;
                loop {
                    match bytes.get(j) {
                        None => return Err(err(start, "unterminated quoted name")),
                        Some(b'\\') if !escaped => escaped = true,
                        Some(b'"') if !escaped => break,
                        Some(_) => escaped = false,
                    }
                    j += 1;
                }
                let quoted = text.get(start..=j).unwrap_or_default();
                let name: String = serde_json::from_str(quoted)
                    .map_err(|_| err(start, "the quoted name is not a JSON string"))?;
                if bytes.get(j + 1) != Some(&b']') {
                    return Err(err(j + 1, "expected `]` after the quoted name"));
                }
                parts.push(Part::Name(name.into_boxed_str()));
                i = j + 2;
            } else {
                let end = text
                    .get(i..)
                    .and_then(|rest| rest.find(['.', '[']).map(|k| i + k))
                    .unwrap_or(text.len());
                let name = text.get(i..end).unwrap_or_default();
                parts.push(match name {
                    "" => return Err(err(i, "empty field name")),
                    "*" => Part::Any,
                    "**" => Part::AnyDepth,
                    _ => Part::Name(Box::from(name)),
                });
                i = end;
            }
            match bytes.get(i) {
                None => break,
                Some(b'.') => {
                    i += 1;
                    if i == bytes.len() {
                        return Err(err(i, "the pattern ends with `.`"));
                    }
                }
                Some(b'[') => {}
                Some(_) => return Err(err(i, "expected `.` or `[`")),
            }
        }
        Ok(Self {
            text: Box::from(text),
            parts: parts.into_boxed_slice(),
            kinds: Box::default(),
        })
    }

    /// Limits the pattern to documents whose `kind` is one of `kinds` (`Deployment`,
    /// `Service`). Without it, a pattern applies to every kind.
    #[must_use]
    pub fn for_kinds<'k>(mut self, kinds: impl IntoIterator<Item = &'k str>) -> Self {
        self.kinds = kinds.into_iter().map(Box::from).collect();
        self
    }

    /// The pattern's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The kinds the pattern is limited to (empty: all).
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.iter().map(|k| &**k)
    }

    /// Whether the pattern applies to a document of `kind` at the field names `names` (list
    /// elements left out).
    #[must_use]
    pub fn matches(&self, kind: Option<&str>, names: &[&str]) -> bool {
        if !self.kinds.is_empty() && !kind.is_some_and(|k| self.kinds.iter().any(|x| &**x == k)) {
            return false;
        }
        match_parts(&self.parts, names)
    }

    /// A pattern that matches nothing.
    pub(crate) fn never() -> Self {
        Self {
            text: Box::from("(never)"),
            parts: Box::new([Part::Never]),
            kinds: Box::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_never(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Never))
    }

    /// The last literal name, used to skip rules quickly.
    pub(crate) fn last_name(&self) -> Option<&str> {
        match self.parts.last() {
            Some(Part::Name(n)) => Some(n),
            _ => None,
        }
    }
}

fn match_parts(parts: &[Part], names: &[&str]) -> bool {
    match parts.split_first() {
        None => names.is_empty(),
        Some((Part::AnyDepth, rest)) => {
            if rest.iter().any(|p| matches!(p, Part::AnyDepth)) {
                (0..=names.len()).any(|skip| match_parts(rest, names.get(skip..).unwrap_or(&[])))
            } else {
                // every other part takes exactly one name: only the tail can match
                names
                    .len()
                    .checked_sub(rest.len())
                    .and_then(|skip| names.get(skip..))
                    .is_some_and(|tail| match_parts(rest, tail))
            }
        }
        Some((part, rest)) => match names.split_first() {
            None => false,
            Some((name, names)) => {
                let ok = match part {
                    Part::Name(n) => &**n == *name,
                    Part::Any | Part::AnyDepth => true,
                    Part::Never => false,
                };
                ok && match_parts(rest, names)
            }
        },
    }
}

impl fmt::Display for FieldPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if !self.kinds.is_empty() {
            write!(f, " (kinds: {})", self.kinds.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: `**` tries every number of names.
    fn reference(parts: &[Part], names: &[&str]) -> bool {
        match parts.split_first() {
            None => names.is_empty(),
            Some((Part::AnyDepth, rest)) => {
                (0..=names.len()).any(|skip| reference(rest, &names[skip..]))
            }
            Some((part, rest)) => match names.split_first() {
                None => false,
                Some((name, names)) => {
                    let ok = match part {
                        Part::Name(n) => &**n == *name,
                        Part::Any | Part::AnyDepth => true,
                        Part::Never => false,
                    };
                    ok && reference(rest, names)
                }
            },
        }
    }

    fn part() -> impl Strategy<Value = Part> {
        prop_oneof![
            4 => prop::sample::select(&["a", "b", "c"][..]).prop_map(|n| Part::Name(Box::from(n))),
            1 => Just(Part::Any),
            2 => Just(Part::AnyDepth),
            1 => Just(Part::Never),
        ]
    }

    proptest! {
        #[test]
        fn matching_agrees_with_the_definition(
            parts in prop::collection::vec(part(), 0..6),
            names in prop::collection::vec(prop::sample::select(&["a", "b", "c"][..]), 0..8),
        ) {
            prop_assert_eq!(match_parts(&parts, &names), reference(&parts, &names));
        }
    }

    fn m(p: &str, names: &[&str]) -> bool {
        FieldPattern::parse(p).unwrap().matches(None, names)
    }

    #[test]
    fn globs() {
        assert!(m("status", &["status"]));
        assert!(!m("status", &["status", "x"]));
        assert!(m("**.env", &["env"]));
        assert!(m("**.env", &["spec", "env"]));
        assert!(m("a.*.c", &["a", "b", "c"]));
        assert!(!m("a.*.c", &["a", "c"]));
        assert!(m("a.**", &["a", "b", "c"]));
        assert!(m(
            r#"metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]"#,
            &[
                "metadata",
                "annotations",
                "kubectl.kubernetes.io/last-applied-configuration"
            ]
        ));
    }

    #[test]
    fn errors_name_the_position() {
        let e = FieldPattern::parse("a..b").unwrap_err();
        assert_eq!(e.position, 2);
        assert_eq!(
            e.to_string(),
            "invalid field pattern `a..b` at byte 2: empty field name"
        );
        assert!(FieldPattern::parse("").is_err());
        assert!(FieldPattern::parse("a.").is_err());
        assert!(FieldPattern::parse(r#"a["x"#).is_err());
        assert!(FieldPattern::parse(r#"a["x"b"#).is_err());
        assert!(FieldPattern::parse("a[x]").is_err());
    }
}
