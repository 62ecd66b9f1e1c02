//! Typed property values.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::version::Version;

/// The type of a property, as a [`Schema`](crate::Schema) declares it.
///
/// Written in files as `string`, `integer`, `float`, `bool`, `version`, `timestamp`,
/// `duration` or `list<T>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    /// UTF-8 text.
    String,
    /// A signed 64-bit integer.
    Integer,
    /// A 64-bit float.
    Float,
    /// `true` or `false`.
    Bool,
    /// A [`Version`].
    Version,
    /// An instant in UTC (RFC 3339 in files).
    Timestamp,
    /// A [`Duration`] (`30d`, `1h30m` in files).
    Duration,
    /// A list whose elements all have the given type.
    List(Box<ValueType>),
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String => f.write_str("string"),
            Self::Integer => f.write_str("integer"),
            Self::Float => f.write_str("float"),
            Self::Bool => f.write_str("bool"),
            Self::Version => f.write_str("version"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Duration => f.write_str("duration"),
            Self::List(t) => write!(f, "list<{t}>"),
        }
    }
}

/// An unknown type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown type `{0}`; expected one of string, integer, float, bool, version, timestamp, duration, list<T>"
)]
pub struct ValueTypeError(pub String);

impl FromStr for ValueType {
    type Err = ValueTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Ok(match t {
            "string" => Self::String,
            "integer" | "int" => Self::Integer,
            "float" => Self::Float,
            "bool" | "boolean" => Self::Bool,
            "version" => Self::Version,
            "timestamp" => Self::Timestamp,
            "duration" => Self::Duration,
            _ => match t.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
                Some(inner) => Self::List(Box::new(
                    inner.parse().map_err(|_| ValueTypeError(s.to_owned()))?,
                )),
                None => return Err(ValueTypeError(s.to_owned())),
            },
        })
    }
}

impl Serialize for ValueType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ValueType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// A length of time, written `30d`, `1h30m`, `90s`, `250ms` in files and selectors.
///
/// Units: `w` (7 days), `d` (24 hours), `h`, `m`, `s`, `ms`, `us`, `ns`; an optional leading
/// `-`. Days are exactly 24 hours: durations are absolute time, never calendar time.
///
/// # Example
///
/// ```
/// use fleet_core::Duration;
///
/// let d: Duration = "1h30m".parse()?;
/// assert_eq!(d.as_seconds(), 5400);
/// assert_eq!(d.to_string(), "1h30m");
/// assert_eq!("2w".parse::<Duration>()?.to_string(), "14d");
/// # Ok::<(), fleet_core::DurationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(TimeDelta);

/// Why a string is not a [`Duration`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{input}`: {reason}")]
pub struct DurationError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Duration {
    /// Zero.
    pub const ZERO: Self = Self(TimeDelta::zero());

    /// Wraps a chrono delta.
    #[must_use]
    pub const fn from_delta(d: TimeDelta) -> Self {
        Self(d)
    }

    /// A whole number of seconds (saturating at chrono's range).
    #[must_use]
    pub fn from_seconds(s: i64) -> Self {
        Self(TimeDelta::try_seconds(s).unwrap_or(if s < 0 {
            TimeDelta::MIN
        } else {
            TimeDelta::MAX
        }))
    }

    /// The chrono delta.
    #[must_use]
    pub const fn as_delta(&self) -> TimeDelta {
        self.0
    }

    /// Whole seconds, truncated toward zero.
    #[must_use]
    pub const fn as_seconds(&self) -> i64 {
        self.0.num_seconds()
    }

    /// Total nanoseconds, when they fit in an `i64` (about ±292 years).
    #[must_use]
    pub fn as_nanos(&self) -> Option<i64> {
        self.0.num_nanoseconds()
    }
}

const UNITS: [(&str, i128); 8] = [
    ("w", 7 * 86_400 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| DurationError {
            input: input.to_owned(),
            reason,
        };
        let (neg, mut rest) = match input.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, input),
        };
        if rest.is_empty() {
            return Err(err("it is empty"));
        }
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err("expected a number before each unit"));
            }
            let (num, tail) = rest.split_at(digits);
            let n: i128 = num.parse().map_err(|_| err("a number is too large"))?;
            let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
            if unit_len == 0 {
                return Err(err("a number has no unit; use w, d, h, m, s, ms, us or ns"));
            }
            let (unit, tail) = tail.split_at(unit_len);
            let Some((_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
                return Err(err("unknown unit; use w, d, h, m, s, ms, us or ns"));
            };
            total = n
                .checked_mul(*scale)
                .and_then(|x| total.checked_add(x))
                .ok_or_else(|| err("it is too long"))?;
            rest = tail;
        }
        if neg {
            total = -total;
        }
        let secs =
            i64::try_from(total.div_euclid(1_000_000_000)).map_err(|_| err("it is too long"))?;
        let nanos =
            u32::try_from(total.rem_euclid(1_000_000_000)).map_err(|_| err("it is too long"))?;
        TimeDelta::new(secs, nanos)
            .map(Self)
            .ok_or_else(|| err("it is too long"))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut total =
            i128::from(self.0.num_seconds()) * 1_000_000_000 + i128::from(self.0.subsec_nanos());
        if total == 0 {
            return f.write_str("0s");
        }
        if total < 0 {
            f.write_str("-")?;
            total = -total;
        }
        // Weeks are accepted on input but days are the canonical largest unit.
        for (unit, scale) in UNITS.iter().skip(1) {
            let n = total / scale;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                total -= n * scale;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// A typed property value.
///
/// Equality, order and hashing are total: floats compare with [`f64::total_cmp`], and values
/// of different types order by type (string, integer, float, bool, version, timestamp,
/// duration, list).
///
/// # Example
///
/// ```
/// use fleet_core::{Value, ValueType};
///
/// let v = Value::parse_as("1.29.3-eks-2f008fe", &ValueType::Version)?;
/// assert_eq!(v.value_type(), ValueType::Version);
/// assert_eq!(v.to_string(), "1.29.3-eks-2f008fe");
/// # Ok::<(), fleet_core::ValueError>(())
/// ```
#[derive(Debug, Clone)]
pub enum Value {
    /// Text.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A version.
    Version(Version),
    /// An instant.
    Timestamp(DateTime<Utc>),
    /// A length of time.
    Duration(Duration),
    /// A list.
    List(Vec<Value>),
}

/// A value that does not fit its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct ValueError {
    /// The type that was expected.
    pub expected: ValueType,
    /// What was found instead, in words (`a number`, `"abc" (invalid version: ...)`).
    pub found: String,
}

impl Value {
    /// The value's type. A list's element type is that of its first element (`string` when
    /// empty).
    #[must_use]
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::String(_) => ValueType::String,
            Self::Integer(_) => ValueType::Integer,
            Self::Float(_) => ValueType::Float,
            Self::Bool(_) => ValueType::Bool,
            Self::Version(_) => ValueType::Version,
            Self::Timestamp(_) => ValueType::Timestamp,
            Self::Duration(_) => ValueType::Duration,
            Self::List(items) => ValueType::List(Box::new(
                items.first().map_or(ValueType::String, Value::value_type),
            )),
        }
    }

    /// Whether the value has type `ty` (every element, for lists).
    #[must_use]
    pub fn has_type(&self, ty: &ValueType) -> bool {
        match (self, ty) {
            (Self::List(items), ValueType::List(inner)) => items.iter().all(|i| i.has_type(inner)),
            (Self::String(_), ValueType::String)
            | (Self::Integer(_), ValueType::Integer)
            | (Self::Float(_), ValueType::Float)
            | (Self::Bool(_), ValueType::Bool)
            | (Self::Version(_), ValueType::Version)
            | (Self::Timestamp(_), ValueType::Timestamp)
            | (Self::Duration(_), ValueType::Duration) => true,
            _ => false,
        }
    }

    /// Parses text as a value of type `ty` (lists as comma-separated elements).
    ///
    /// # Errors
    ///
    /// [`ValueError`] when the text does not fit the type.
    pub fn parse_as(text: &str, ty: &ValueType) -> Result<Self, ValueError> {
        let bad = |why: String| ValueError {
            expected: ty.clone(),
            found: format!("`{text}`{why}"),
        };
        Ok(match ty {
            ValueType::String => Self::String(text.to_owned()),
            ValueType::Integer => Self::Integer(text.parse().map_err(|_| bad(String::new()))?),
            ValueType::Float => Self::Float(text.parse().map_err(|_| bad(String::new()))?),
            ValueType::Bool => Self::Bool(text.parse().map_err(|_| bad(String::new()))?),
            ValueType::Version => {
                Self::Version(Version::parse(text).map_err(|e| bad(format!(" ({})", e.reason)))?)
            }
            ValueType::Timestamp => Self::Timestamp(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| bad(format!(" (not RFC 3339: {e})")))?
                    .with_timezone(&Utc),
            ),
            ValueType::Duration => Self::Duration(
                text.parse::<Duration>()
                    .map_err(|e| bad(format!(" ({})", e.reason)))?,
            ),
            ValueType::List(inner) => Self::List(
                text.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| Self::parse_as(s.trim(), inner))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// The string, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The version, if this is a version.
    #[must_use]
    pub fn as_version(&self) -> Option<&Version> {
        match self {
            Self::Version(v) => Some(v),
            _ => None,
        }
    }

    /// The instant, if this is a timestamp.
    #[must_use]
    pub fn as_timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Timestamp(t) => Some(*t),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::String(_) => 0,
            Self::Integer(_) => 1,
            Self::Float(_) => 2,
            Self::Bool(_) => 3,
            Self::Version(_) => 4,
            Self::Timestamp(_) => 5,
            Self::Duration(_) => 6,
            Self::List(_) => 7,
        }
    }
}

impl PartialEq for Value {
    /// The same answer as `cmp(..) == Equal`, without ordering (interning compares values
    /// for equality on every insert; ordering two versions reads their suffixes in natural
    /// order, equality only compares them). Floats are equal when their bits are, as in
    /// `total_cmp`.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Integer(a), Self::Integer(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a.to_bits() == b.to_bits(),
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Version(a), Self::Version(b)) => a == b,
            (Self::Timestamp(a), Self::Timestamp(b)) => a == b,
            (Self::Duration(a), Self::Duration(b)) => a == b,
            (Self::List(a), Self::List(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::String(a), Self::String(b)) => a.cmp(b),
            (Self::Integer(a), Self::Integer(b)) => a.cmp(b),
            (Self::Float(a), Self::Float(b)) => a.total_cmp(b),
            (Self::Bool(a), Self::Bool(b)) => a.cmp(b),
            (Self::Version(a), Self::Version(b)) => a.cmp(b),
            (Self::Timestamp(a), Self::Timestamp(b)) => a.cmp(b),
            (Self::Duration(a), Self::Duration(b)) => a.cmp(b),
            (Self::List(a), Self::List(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Self::String(s) => s.hash(state),
            Self::Integer(i) => i.hash(state),
            Self::Float(f) => f.to_bits().hash(state),
            Self::Bool(b) => b.hash(state),
            Self::Version(v) => v.hash(state),
            Self::Timestamp(t) => t.hash(state),
            Self::Duration(d) => d.hash(state),
            Self::List(l) => l.hash(state),
        }
    }
}

impl fmt::Display for Value {
    /// The text form used in files: timestamps in RFC 3339 (UTC, `Z`), durations as `1h30m`,
    /// lists as `[a, b]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Version(v) => write!(f, "{v}"),
            Self::Timestamp(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Self::Duration(d) => write!(f, "{d}"),
            Self::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Integer(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<Version> for Value {
    fn from(v: Version) -> Self {
        Self::Version(v)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Self {
        Self::Timestamp(t)
    }
}
impl From<Duration> for Value {
    fn from(d: Duration) -> Self {
        Self::Duration(d)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(v) => s.serialize_str(v),
            Self::Integer(i) => s.serialize_i64(*i),
            Self::Float(x) => s.serialize_f64(*x),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Version(_) | Self::Timestamp(_) | Self::Duration(_) => s.collect_str(self),
            Self::List(items) => s.collect_seq(items),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Without a schema, values take their JSON/YAML types: strings stay strings.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueSeed::untyped().deserialize(d)
    }
}

/// Deserializes a [`Value`] of a declared type, so that errors carry the position of the
/// offending value. With no type, values take their JSON/YAML types.
#[derive(Debug, Clone, Copy)]
pub struct ValueSeed<'a> {
    ty: Option<&'a ValueType>,
}

impl<'a> ValueSeed<'a> {
    /// A seed for values of type `ty`.
    #[must_use]
    pub fn typed(ty: &'a ValueType) -> Self {
        Self { ty: Some(ty) }
    }

    /// A seed that infers the type from the document.
    #[must_use]
    pub fn untyped() -> Self {
        Self { ty: None }
    }

    fn mismatch<E: de::Error>(&self, found: &str) -> E {
        let expected = self
            .ty
            .map_or_else(|| "a value".to_owned(), ToString::to_string);
        let hint = match self.ty {
            Some(ValueType::Version | ValueType::String) if found == "a number" => {
                "; quote it, or YAML reads `1.30` as the number 1.3"
            }
            _ => "",
        };
        E::custom(format_args!("expected {expected}, found {found}{hint}"))
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            Some(t) => write!(f, "a {t}"),
            None => f.write_str("a string, number, bool or list"),
        }
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        match self.ty {
            None | Some(ValueType::Bool) => Ok(Value::Bool(b)),
            Some(_) => Err(self.mismatch("a bool")),
        }
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        match self.ty {
            None | Some(ValueType::Integer) => Ok(Value::Integer(i)),
            #[expect(
                clippy::cast_precision_loss,
                reason = "an integer written for a float property"
            )]
            Some(ValueType::Float) => Ok(Value::Float(i as f64)),
            Some(_) => Err(self.mismatch("a number")),
        }
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        match i64::try_from(u) {
            Ok(i) => self.visit_i64(i),
            Err(_) => Err(E::custom(format_args!("integer `{u}` is too large"))),
        }
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        match self.ty {
            None | Some(ValueType::Float) => Ok(Value::Float(x)),
            Some(_) => Err(self.mismatch("a number")),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        match self.ty {
            None => Ok(Value::String(s.to_owned())),
            Some(ValueType::List(_)) => Err(self.mismatch("a string")),
            Some(ty @ (ValueType::Integer | ValueType::Float | ValueType::Bool)) => Err(E::custom(
                format_args!("expected {ty}, found the string `{s}`"),
            )),
            Some(ty) => Value::parse_as(s, ty)
                .map_err(|e| E::custom(format_args!("expected {}, found {}", e.expected, e.found))),
        }
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        match self.ty {
            None | Some(ValueType::String) => Ok(Value::String(s)),
            _ => self.visit_str(&s),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = match self.ty {
            None => None,
            Some(ValueType::List(inner)) => Some(&**inner),
            Some(_) => return Err(self.mismatch("a list")),
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(ValueSeed { ty: inner })? {
            items.push(v);
        }
        Ok(Value::List(items))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Err(self.mismatch("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_text_round_trips() {
        for (text, canon) in [
            ("30d", "30d"),
            ("1h30m", "1h30m"),
            ("90s", "1m30s"),
            ("2w", "14d"),
            ("-5m", "-5m"),
            ("0s", "0s"),
            ("1500ms", "1s500ms"),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string(), canon, "{text}");
            assert_eq!(canon.parse::<Duration>().unwrap(), d);
        }
        for bad in ["", "5", "d", "5y", "1h5", "-"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn value_types_parse_and_print() {
        for t in ["string", "integer", "list<version>", "list<list<bool>>"] {
            assert_eq!(t.parse::<ValueType>().unwrap().to_string(), t);
        }
        assert!("lst<string>".parse::<ValueType>().is_err());
    }

    #[test]
    fn typed_seed_reports_a_useful_mismatch() {
        let mut de = serde_json::Deserializer::from_str("1.3");
        let err = ValueSeed::typed(&ValueType::Version)
            .deserialize(&mut de)
            .unwrap_err();
        assert!(err.to_string().contains("quote it"), "{err}");
        let mut de = serde_json::Deserializer::from_str("\"1.x\"");
        let err = ValueSeed::typed(&ValueType::Version)
            .deserialize(&mut de)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("expected version, found `1.x`"),
            "{err}"
        );
    }

    #[test]
    fn float_equality_is_total() {
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
        assert_ne!(Value::Float(0.0), Value::Float(-0.0));
        assert!(Value::String("z".into()) < Value::Integer(0));
    }
}
