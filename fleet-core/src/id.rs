//! Stable target identities.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted [`TargetId`], in bytes: a DNS name's limit, so an id fits in a
/// SPIFFE id and a DNS label chain.
pub const MAX_TARGET_ID_LEN: usize = 253;

/// Why a string is not a valid [`TargetId`] or [`NativeId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("target id is empty")]
    Empty,
    /// The id is longer than [`MAX_TARGET_ID_LEN`] bytes.
    #[error("target id is {len} bytes long; at most {max} are allowed", max = MAX_TARGET_ID_LEN)]
    TooLong {
        /// Length of the rejected id in bytes.
        len: usize,
    },
    /// The id contains a character outside `[A-Za-z0-9._-]`.
    #[error(
        "target id `{id}` contains `{ch}` at byte {at}; only `A-Z`, `a-z`, `0-9`, `.`, `_` and `-` are allowed"
    )]
    BadChar {
        /// The rejected id.
        id: String,
        /// The first offending character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// A native id is empty or contains control characters.
    #[error("native id `{0}` is empty or contains control characters")]
    BadNative(String),
}

/// The stable identity of a target: `[A-Za-z0-9._-]{1,253}`.
///
/// It is the name every crate uses for a target: in selectors, plans, audit records and
/// credentials (`spiffe://<domain>/target/<id>`). The platform's own identifier (an ARN, an
/// ARM resource id) is a separate [`NativeId`].
///
/// # Example
///
/// ```
/// use fleet_core::TargetId;
///
/// let id: TargetId = "eks-prod-eu-west-1-a".parse()?;
/// assert_eq!(id.as_str(), "eks-prod-eu-west-1-a");
/// assert!("prod/eu".parse::<TargetId>().is_err());
/// # Ok::<(), fleet_core::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetId(Box<str>);

impl TargetId {
    /// Validates `id` and wraps it.
    ///
    /// # Errors
    ///
    /// [`IdError`] when the id is empty, too long, or has a character outside `[A-Za-z0-9._-]`.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        validate_target_id(&id)?;
        Ok(Self(id.into_boxed_str()))
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a string that was a valid id when it was first seen (the inventory interns only
    /// validated ids, and the synthetic generator builds ids from the allowed alphabet).
    pub(crate) fn from_trusted(id: &str) -> Self {
        debug_assert!(validate_target_id(id).is_ok(), "untrusted id `{id}`");
        Self(id.into())
    }
}

/// Checks the [`TargetId`] rules without allocating.
///
/// # Errors
///
/// The same as [`TargetId::new`].
pub fn validate_target_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_TARGET_ID_LEN {
        return Err(IdError::TooLong { len: id.len() });
    }
    if let Some((at, ch)) = id
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(IdError::BadChar {
            id: id.to_owned(),
            ch,
            at,
        });
    }
    Ok(())
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TargetId({:?})", &*self.0)
    }
}

impl FromStr for TargetId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for TargetId {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for TargetId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for TargetId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for TargetId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for TargetId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TargetId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// The platform's own identifier for a target: an AWS ARN, an Azure resource id, a GKE self
/// link, a kubeconfig context. Any non-empty string without control characters.
///
/// # Example
///
/// ```
/// use fleet_core::NativeId;
///
/// let arn = NativeId::new("arn:aws:eks:eu-west-1:111122223333:cluster/prod")?;
/// assert!(arn.as_str().starts_with("arn:aws:eks"));
/// # Ok::<(), fleet_core::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NativeId(Box<str>);

impl NativeId {
    /// Validates `id` and wraps it.
    ///
    /// # Errors
    ///
    /// [`IdError::BadNative`] when the id is empty or has control characters.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        if id.is_empty() || id.chars().any(char::is_control) {
            return Err(IdError::BadNative(id));
        }
        Ok(Self(id.into_boxed_str()))
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NativeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NativeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NativeId({:?})", &*self.0)
    }
}

impl FromStr for NativeId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for NativeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NativeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(TargetId::new("aZ09._-").is_ok());
        assert!(TargetId::new("a".repeat(MAX_TARGET_ID_LEN)).is_ok());
    }

    #[test]
    fn rejects_with_a_precise_error() {
        assert_eq!(TargetId::new(""), Err(IdError::Empty));
        assert_eq!(
            TargetId::new("a".repeat(254)),
            Err(IdError::TooLong { len: 254 })
        );
        let err = TargetId::new("prod/eu").unwrap_err();
        assert_eq!(
            err.to_string(),
            "target id `prod/eu` contains `/` at byte 4; only `A-Z`, `a-z`, `0-9`, `.`, `_` and `-` are allowed"
        );
        assert!(TargetId::new("é").is_err());
        assert!(NativeId::new("").is_err());
        assert!(NativeId::new("a\nb").is_err());
    }
}
