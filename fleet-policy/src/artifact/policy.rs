//! Who may sign: identity policies for keyless certificates and managed keys.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A subject-alternative-name pattern: an exact string, or a pattern where `*` matches any
/// run of characters (including `/` and `@`). The match is anchored at both ends.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::SanPattern;
///
/// let p = SanPattern::new("https://github.com/acme/*/.github/workflows/release.yml@refs/tags/*");
/// assert!(p.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"));
/// assert!(!p.matches("https://github.com/evil/app/.github/workflows/ci.yml@refs/tags/v1"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SanPattern(String);

impl SanPattern {
    /// A pattern; `*` is the only special character.
    #[must_use]
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    /// The pattern text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `san` matches the whole pattern.
    #[must_use]
    pub fn matches(&self, san: &str) -> bool {
        let mut parts = self.0.split('*');
        let Some(first) = parts.next() else {
            return false;
        };
        let Some(mut rest) = san.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            // No `*`: exact match.
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

impl fmt::Debug for SanPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SanPattern({:?})", self.0)
    }
}

impl fmt::Display for SanPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who must have signed an artifact.
///
/// A keyless policy accepts only Fulcio certificates for that issuer and SAN; a key policy
/// accepts only the named managed key. A bundle of the other kind is refused, so a policy
/// never silently widens to "any trusted signer".
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::IdentityPolicy;
///
/// let ci = IdentityPolicy::keyless(
///     "https://token.actions.githubusercontent.com",
///     "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
/// );
/// let release_key = IdentityPolicy::key("release-2025");
/// assert_ne!(ci.digest(), release_key.digest());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentityPolicy {
    /// A Fulcio certificate with this OIDC issuer (exact) and a SAN matching the pattern.
    Keyless {
        /// The OIDC issuer, compared exactly.
        issuer: String,
        /// The subject alternative name pattern.
        san: SanPattern,
    },
    /// The managed key registered under this name in the [`Verifier`](super::Verifier).
    Key {
        /// The key's name.
        name: String,
    },
}

impl IdentityPolicy {
    /// A keyless policy: exact OIDC `issuer`, `san` as a [`SanPattern`].
    #[must_use]
    pub fn keyless(issuer: impl Into<String>, san: impl Into<String>) -> Self {
        Self::Keyless {
            issuer: issuer.into(),
            san: SanPattern::new(san),
        }
    }

    /// A managed-key policy naming a key registered with the verifier.
    #[must_use]
    pub fn key(name: impl Into<String>) -> Self {
        Self::Key { name: name.into() }
    }

    /// A stable digest of the policy's canonical form, used in cache keys.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        match self {
            Self::Keyless { issuer, san } => {
                field("keyless");
                field(issuer);
                field(san.as_str());
            }
            Self::Key { name } => {
                field("key");
                field(name);
            }
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::SanPattern;

    #[test]
    fn san_patterns() {
        let cases = [
            ("a", "a", true),
            ("a", "ab", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("*c", "abd", false),
            ("a*c", "ac", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("ab*ba", "aba", false),
            ("x@*", "x@refs/heads/main", true),
        ];
        for (pattern, input, want) in cases {
            assert_eq!(
                SanPattern::new(pattern).matches(input),
                want,
                "{pattern} vs {input}"
            );
        }
    }
}
