//! Globs with one meaning everywhere in fleet: `*` matches any run of characters (including
//! `/`), `?` one character, `[..]` a class, `{a,b}` alternatives, `\` escapes — globset's
//! semantics with `literal_separator(false)`.
//!
//! Most globs people write in fleet files use `*` alone (`eu-*`, `registry.acme.io/*`,
//! `*europe`). Those are matched with prefix, suffix and substring searches, several times
//! faster than an automaton; the rest go to globset.

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

/// A compiled glob.
///
/// ```
/// use fleet_selectors::GlobPattern;
/// let g = GlobPattern::new("registry.acme.io/*")?;
/// assert!(g.is_match("registry.acme.io/payments/api"));
/// assert!(!g.is_match("docker.io/registry.acme.io/x"));
/// assert!(GlobPattern::new("eu-[ab]?-*")?.is_match("eu-a1-west"));
/// # Ok::<(), fleet_selectors::GlobError>(())
/// ```
#[derive(Clone)]
pub struct GlobPattern {
    text: String,
    how: How,
    /// The byte every match starts with, when the glob starts with a literal.
    first: Option<u8>,
    /// The byte every match ends with, when the glob ends with a literal.
    last: Option<u8>,
}

#[derive(Clone)]
enum How {
    /// No wildcard at all.
    Exact,
    /// Only `*`: the literal parts between them, at least two.
    Stars(Vec<String>),
    /// Anything else.
    Automaton(Box<GlobMatcher>),
}

/// Why a glob was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob `{glob}`: {reason}")]
pub struct GlobError {
    /// The glob.
    pub glob: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Debug for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobPattern({:?})", self.text)
    }
}

impl fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for GlobPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for GlobPattern {}

impl GlobPattern {
    /// Compiles a glob.
    ///
    /// # Errors
    ///
    /// [`GlobError`] for an unclosed class or alternation, or a dangling escape.
    pub fn new(text: &str) -> Result<Self, GlobError> {
        let matcher = GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| GlobError {
                glob: text.to_owned(),
                reason: e.kind().to_string(),
            })?
            .compile_matcher();
        let how = if !text.contains(['*', '?', '[', '{', '\\']) {
            How::Exact
        } else if !text.contains(['?', '[', ']', '{', '}', '\\']) && !text.contains("**") {
            // (`**` has globset's recursive meaning: `**/x` also matches `x`)
            How::Stars(text.split('*').map(str::to_owned).collect())
        } else {
            How::Automaton(Box::new(matcher))
        };
        let (first, last) = match &how {
            How::Exact => (text.bytes().next(), text.bytes().last()),
            How::Stars(parts) => (
                parts.first().and_then(|p| p.bytes().next()),
                parts.last().and_then(|p| p.bytes().last()),
            ),
            How::Automaton(_) => (None, None),
        };
        Ok(Self {
            text: text.to_owned(),
            how,
            first,
            last,
        })
    }

    /// The glob as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `s` matches.
    #[must_use]
    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        // Most candidates of a list of globs differ from most of its members in their first
        // or last byte: answered here, inlined into the caller's loop.
        let b = s.as_bytes();
        if self.first.is_some_and(|f| b.first() != Some(&f))
            || self.last.is_some_and(|l| b.last() != Some(&l))
        {
            return false;
        }
        self.is_match_after_ends(s)
    }

    fn is_match_after_ends(&self, s: &str) -> bool {
        match &self.how {
            How::Exact => s == self.text,
            How::Stars(parts) => stars_match(parts, s),
            How::Automaton(m) => m.is_match(s),
        }
    }
}

/// `parts` are the literals around the `*`s (`"a*b*"` is `["a", "b", ""]`).
fn stars_match(parts: &[String], s: &str) -> bool {
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() < 2 || s.len() < first.len() + last.len() {
        return false;
    }
    // (the first and last bytes were checked by `is_match`)
    // (an empty end, as in `registry.acme.io/*`, needs no comparison call)
    if (!first.is_empty() && !s.starts_with(first.as_str()))
        || (!last.is_empty() && !s.ends_with(last.as_str()))
    {
        return false;
    }
    let Some(mut rest) = s.get(first.len()..s.len() - last.len()) else {
        return false;
    };
    // Leftmost matches of the middle literals in order are enough: `*` absorbs the gaps.
    for mid in parts.get(1..parts.len() - 1).unwrap_or_default() {
        match rest.find(mid.as_str()) {
            Some(i) => rest = rest.get(i + mid.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn oracle(glob: &str, s: &str) -> bool {
        GlobBuilder::new(glob)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .unwrap()
            .compile_matcher()
            .is_match(s)
    }

    #[test]
    fn fast_paths_match_globset_on_examples() {
        for (g, s) in [
            ("eu-*", "eu-west-1"),
            ("eu-*", "us-east-1"),
            ("*europe", "westeurope"),
            ("a*a", "a"),
            ("a*a", "aa"),
            ("*", ""),
            ("**", "x"),
            ("a*b*c", "abc"),
            ("a*b*c", "acb"),
            ("a*bc*bc", "abcbc"),
            ("a*bc*bc", "abc"),
            ("x/*/y", "x/a/b/y"),
            ("é*", "été"),
        ] {
            assert_eq!(
                GlobPattern::new(g).unwrap().is_match(s),
                oracle(g, s),
                "{g} {s}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_globset(g in "[ab*/é]{0,7}", s in "[ab/é]{0,9}") {
            prop_assert_eq!(GlobPattern::new(&g).unwrap().is_match(&s), oracle(&g, &s));
        }

        #[test]
        fn agrees_with_globset_on_complex_globs(g in "[ab*?\\[\\]{},]{0,7}", s in "[ab,]{0,7}") {
            if let Ok(p) = GlobPattern::new(&g) {
                prop_assert_eq!(p.is_match(&s), oracle(&g, &s));
            }
        }
    }
}
