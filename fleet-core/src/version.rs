//! Versions as clusters report them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a [`Version`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version `{input}`: {reason}")]
pub struct VersionError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A version as clusters and distributions report it: one to four numeric parts, then an
/// optional distribution suffix.
///
/// `1.29`, `1.29.3`, `v1.29.3+k3s1`, `1.27.3-gke.1200`, `1.29.0-eks-2f008fe` and `4.2.0.1` are
/// all versions. A missing numeric part counts as `0`, so `1.29 == 1.29.0`. A leading `v` is
/// accepted and dropped.
///
/// The suffix starts at the first `-` or `+` and is **not** a semver pre-release: it names a
/// distribution build, so `1.29.3-eks-1 > 1.29.3`. It is not ignored either: two versions
/// with different suffixes are different. Suffixes compare in natural order (digit runs by
/// numeric value), so `-gke.500 < -gke.1200`. The order is total and consistent with `Eq`.
///
/// # Example
///
/// ```
/// use fleet_core::Version;
///
/// let eks: Version = "1.29.3-eks-2f008fe".parse()?;
/// let plain: Version = "1.29.3".parse()?;
/// assert!(plain < eks);
/// assert_eq!("1.29".parse::<Version>()?, "v1.29.0".parse::<Version>()?);
///
/// // A prefix: `4.2` covers every 4.2.x, whatever its suffix, but not 4.20.
/// let prefix: Version = "4.2".parse()?;
/// assert!("4.2.7-gke.3".parse::<Version>()?.has_prefix(&prefix));
/// assert!(!"4.20.1".parse::<Version>()?.has_prefix(&prefix));
/// # Ok::<(), fleet_core::VersionError>(())
/// ```
#[derive(Clone)]
pub struct Version {
    parts: [u64; 4],
    /// How many numeric parts were written (1..=4); only affects display and prefixes.
    written: u8,
    suffix: Box<str>,
}

impl Version {
    /// The largest number of numeric parts.
    pub const MAX_PARTS: usize = 4;

    /// Parses a version.
    ///
    /// # Errors
    ///
    /// [`VersionError`] when the input has no leading number, an empty or overlong numeric
    /// part, more than four parts, or a suffix that does not start with `-` or `+` or
    /// contains whitespace or control characters.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |reason| VersionError {
            input: input.to_owned(),
            reason,
        };
        let body = input
            .strip_prefix('v')
            .or_else(|| input.strip_prefix('V'))
            .unwrap_or(input);
        if body.is_empty() {
            return Err(err("it is empty"));
        }
        let bytes = body.as_bytes();
        let mut parts = [0u64; 4];
        let mut written = 0usize;
        let mut pos = 0usize;
        loop {
            let start = pos;
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            if pos == start {
                return Err(err(if written == 0 {
                    "it must start with a number"
                } else {
                    "a numeric part is empty"
                }));
            }
            if written == Self::MAX_PARTS {
                return Err(err("it has more than four numeric parts"));
            }
            let digits = body.get(start..pos).unwrap_or_default();
            let n: u64 = digits
                .parse()
                .map_err(|_| err("a numeric part is too large"))?;
            if let Some(slot) = parts.get_mut(written) {
                *slot = n;
            }
            written += 1;
            match bytes.get(pos) {
                Some(b'.') => pos += 1,
                _ => break,
            }
        }
        let suffix = body.get(pos..).unwrap_or_default();
        if let Some(first) = suffix.chars().next() {
            if first != '-' && first != '+' {
                return Err(err("the part after the numbers must start with `-` or `+`"));
            }
            if suffix.len() == 1 {
                return Err(err("the suffix is empty"));
            }
            if suffix.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(err("the suffix contains whitespace"));
            }
        }
        Ok(Self {
            parts,
            written: u8::try_from(written).unwrap_or(4),
            suffix: suffix.into(),
        })
    }

    /// Builds a version from numeric parts (one to four) and a suffix (empty, or starting with
    /// `-` or `+`).
    ///
    /// # Errors
    ///
    /// As [`Version::parse`] for the equivalent text.
    pub fn from_parts(parts: &[u64], suffix: &str) -> Result<Self, VersionError> {
        let mut text = parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        text.push_str(suffix);
        Self::parse(&text)
    }

    /// `major.minor.patch` followed by a suffix the caller built from `-`/`+` and
    /// alphanumerics (the synthetic generator's distribution builds).
    pub(crate) fn from_trusted(parts: [u64; 3], suffix: &str) -> Self {
        debug_assert!(
            Self::from_parts(&parts, suffix).is_ok(),
            "untrusted suffix `{suffix}`"
        );
        Self {
            parts: [parts[0], parts[1], parts[2], 0],
            written: 3,
            suffix: suffix.into(),
        }
    }

    /// The numeric parts, padded with zeros to four.
    #[must_use]
    pub fn parts(&self) -> [u64; 4] {
        self.parts
    }

    /// The major (first) part.
    #[must_use]
    pub fn major(&self) -> u64 {
        self.parts[0]
    }

    /// The minor (second) part, `0` when not written.
    #[must_use]
    pub fn minor(&self) -> u64 {
        self.parts[1]
    }

    /// The patch (third) part, `0` when not written.
    #[must_use]
    pub fn patch(&self) -> u64 {
        self.parts[2]
    }

    /// How many numeric parts the text had (1 to 4).
    #[must_use]
    pub fn written_parts(&self) -> usize {
        usize::from(self.written)
    }

    /// The distribution suffix including its leading `-` or `+`, or `""`.
    #[must_use]
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// Whether `self` lies under `prefix`, the way a person means `4.2` as "any 4.2.x".
    ///
    /// The numeric parts that `prefix` wrote must equal those of `self`; parts it did not
    /// write match anything. A prefix with a suffix only matches that exact version.
    #[must_use]
    pub fn has_prefix(&self, prefix: &Version) -> bool {
        if !prefix.suffix.is_empty() {
            return self == prefix;
        }
        let n = prefix.written_parts();
        self.parts
            .iter()
            .zip(prefix.parts.iter())
            .take(n)
            .all(|(a, b)| a == b)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts && self.suffix == other.suffix
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
        self.suffix.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts
            .cmp(&other.parts)
            .then_with(|| natural_cmp(&self.suffix, &other.suffix))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Natural order: runs of digits compare by value, other runs by bytes. Ties (for example
/// leading zeros) fall back to plain byte order, so the order stays total and agrees with
/// string equality.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (rx, tx) = split_run(x, true);
                let (ry, ty) = split_run(y, true);
                let (sx, sy) = (strip_zeros(rx), strip_zeros(ry));
                let ord = sx.len().cmp(&sy.len()).then_with(|| sx.cmp(sy));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = tx;
                y = ty;
            }
            (Some(c), Some(d)) if c.is_ascii_digit() != d.is_ascii_digit() => {
                // A number sorts before text at the same position.
                return if c.is_ascii_digit() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {
                let (rx, tx) = split_run(x, false);
                let (ry, ty) = split_run(y, false);
                let ord = rx.cmp(ry);
                if ord != Ordering::Equal {
                    return ord;
                }
                x = tx;
                y = ty;
            }
        }
    }
}

fn split_run(s: &[u8], digits: bool) -> (&[u8], &[u8]) {
    let n = s
        .iter()
        .position(|c| c.is_ascii_digit() != digits)
        .unwrap_or(s.len());
    s.split_at(n)
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    s.split_at(n).1
}

impl fmt::Display for Version {
    /// Canonical text: the written numeric parts (without leading zeros or `v`), then the
    /// suffix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().take(self.written_parts()).enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str(&self.suffix)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_distribution_suffixes() {
        let x = v("v1.29.3+k3s1");
        assert_eq!(x.parts(), [1, 29, 3, 0]);
        assert_eq!(x.suffix(), "+k3s1");
        assert_eq!(x.to_string(), "1.29.3+k3s1");
        assert_eq!(v("1.27.3-gke.1200").suffix(), "-gke.1200");
        assert_eq!(v("1.10").written_parts(), 2);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", "it is empty"),
            ("eks.14", "it must start with a number"),
            ("1..2", "a numeric part is empty"),
            ("1.2.3.4.5", "it has more than four numeric parts"),
            (
                "1.2x",
                "the part after the numbers must start with `-` or `+`",
            ),
            ("1.2-", "the suffix is empty"),
            ("1.2-a b", "the suffix contains whitespace"),
            ("99999999999999999999999", "a numeric part is too large"),
        ];
        for (input, reason) in cases {
            let e = Version::parse(input).unwrap_err();
            assert_eq!(e.reason, reason, "{input}");
        }
        assert_eq!(
            Version::parse("1.2x").unwrap_err().to_string(),
            "invalid version `1.2x`: the part after the numbers must start with `-` or `+`"
        );
    }

    #[test]
    fn natural_suffix_order() {
        assert!(v("1.27.3-gke.500") < v("1.27.3-gke.1200"));
        assert!(v("1.2-a01") != v("1.2-a1"));
        assert_ne!(v("1.2-a01").cmp(&v("1.2-a1")), Ordering::Equal);
    }

    #[test]
    fn prefixes() {
        assert!(v("4.2.1").has_prefix(&v("4.2")));
        assert!(v("4.2").has_prefix(&v("4.2")));
        assert!(v("4.2.0-eks-1").has_prefix(&v("4")));
        assert!(!v("4.20").has_prefix(&v("4.2")));
        assert!(!v("4.3").has_prefix(&v("4.2")));
        assert!(v("4.2.1-x").has_prefix(&v("4.2.1-x")));
        assert!(!v("4.2.1-y").has_prefix(&v("4.2.1-x")));
    }
}
