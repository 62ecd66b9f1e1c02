//! Content digests and canonical JSON documents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A content digest, written `sha256:<64 hex>` (or `sha512:<128 hex>` for artifacts that
/// use it).
///
/// # Example
///
/// ```
/// use fleet_core::Digest;
///
/// let d = Digest::sha256(b"hello");
/// assert_eq!(
///     d.to_string(),
///     "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
/// );
/// assert_eq!(d.to_string().parse::<Digest>()?, d);
/// # Ok::<(), fleet_core::DigestError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    bytes: Box<[u8]>,
}

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl DigestAlgorithm {
    fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Why a string is not a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest `{input}`: {reason}")]
pub struct DigestError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Digest {
    /// The SHA-256 digest of `data`.
    #[must_use]
    pub fn sha256(data: &[u8]) -> Self {
        Self {
            algorithm: DigestAlgorithm::Sha256,
            bytes: Sha256::digest(data).to_vec().into_boxed_slice(),
        }
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The raw digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The lowercase hex of the digest bytes, without the algorithm.
    #[must_use]
    pub fn hex(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(self.bytes.len() * 2);
        for b in &self.bytes {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| DigestError {
            input: input.to_owned(),
            reason,
        };
        let (alg, hex) = input
            .split_once(':')
            .ok_or_else(|| err("expected `algorithm:hex`"))?;
        let algorithm = match alg {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            _ => return Err(err("unknown algorithm; expected `sha256` or `sha512`")),
        };
        if hex.len() != algorithm.len() * 2 {
            return Err(err("the hex part has the wrong length for its algorithm"));
        }
        let bytes = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                let hi = hex_val(pair.first().copied())?;
                let lo = hex_val(pair.get(1).copied())?;
                Some(hi << 4 | lo)
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| err("the hex part must be lowercase hexadecimal"))?;
        Ok(Self {
            algorithm,
            bytes: bytes.into_boxed_slice(),
        })
    }
}

fn hex_val(c: Option<u8>) -> Option<u8> {
    match c? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Writes the canonical JSON form of `value`: object keys sorted by their UTF-8 bytes, no
/// whitespace, strings with the minimal JSON escapes, numbers as `serde_json` prints them
/// (integers exactly, floats in shortest round-trip form).
///
/// Two documents that differ only in key order or formatting have the same canonical form,
/// whatever `serde_json` features other crates enable.
#[must_use]
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => out.push_str(&n.to_string()),
        J::String(s) => write_string(s, out),
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        J::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    use fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON-like document (a Kubernetes object, a rendered manifest set, a cloud resource)
/// together with its canonical digest.
///
/// # Example
///
/// ```
/// use fleet_core::Document;
/// use serde_json::json;
///
/// let a = Document::new(json!({"kind": "Deployment", "spec": {"replicas": 3}}));
/// let b = Document::new(json!({"spec": {"replicas": 3}, "kind": "Deployment"}));
/// assert_eq!(a.digest(), b.digest());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    value: serde_json::Value,
    digest: Digest,
}

impl Document {
    /// Wraps a JSON value and computes its digest.
    #[must_use]
    pub fn new(value: serde_json::Value) -> Self {
        let digest = Digest::sha256(canonical_json(&value).as_bytes());
        Self { value, digest }
    }

    /// The document.
    #[must_use]
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }

    /// The SHA-256 digest of the canonical JSON form.
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Unwraps the JSON value.
    #[must_use]
    pub fn into_value(self) -> serde_json::Value {
        self.value
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Document({})", self.digest)
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_and_escapes() {
        let v = json!({"b": [1, 2.5, "x\n\u{1}"], "a": {"z": null, "y": true}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"y":true,"z":null},"b":[1,2.5,"x\n\u0001"]}"#
        );
        // Canonical JSON is valid JSON that means the same document.
        let back: serde_json::Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn digest_parse_errors() {
        assert!("sha256:abc".parse::<Digest>().is_err());
        assert!("md5:00".parse::<Digest>().is_err());
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<Digest>()
                .is_err()
        );
        let ok = format!("sha512:{}", "0f".repeat(64));
        assert_eq!(ok.parse::<Digest>().unwrap().to_string(), ok);
    }
}
