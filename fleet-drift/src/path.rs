//! Paths into documents that survive list reordering.
//!
//! A [`Path`] is a short vector of [`Segment`]s. Keyed list elements are named by their key
//! ([`ListKey`]), set elements by their value ([`SetValue`]), so a path stays valid when a list
//! is reordered, and the same segments come out of the diff and out of Kubernetes
//! `managedFields` (`k:{"name":"web"}` is [`Segment::Key`] with `name = "web"`).

use std::fmt::{self, Write as _};

use fleet_core::canonical_json;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The key of one element of a keyed list: field names (sorted) and their values as canonical
/// JSON text.
///
/// # Example
///
/// ```
/// use fleet_drift::ListKey;
/// use serde_json::json;
///
/// let key = ListKey::new([("protocol", &json!("TCP")), ("containerPort", &json!(80))]);
/// assert_eq!(key.to_string(), "containerPort=80,protocol=TCP");
/// assert_eq!(key.get("containerPort"), Some("80"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListKey {
    fields: Box<[(Box<str>, Box<str>)]>,
}

impl ListKey {
    /// A key from field names and values; the fields are sorted by name, so the order given
    /// does not matter.
    #[must_use]
    pub fn new<'v, N: AsRef<str>>(fields: impl IntoIterator<Item = (N, &'v Value)>) -> Self {
        Self::from_canonical(
            fields
                .into_iter()
                .map(|(n, v)| (Box::from(n.as_ref()), canonical_json(v).into_boxed_str()))
                .collect(),
        )
    }

    pub(crate) fn from_canonical(mut fields: Vec<(Box<str>, Box<str>)>) -> Self {
        fields.sort_unstable();
        Self {
            fields: fields.into_boxed_slice(),
        }
    }

    /// The canonical JSON text of the value of key field `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }

    /// The key fields and their canonical JSON values, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (&**n, &**v))
    }
}

impl fmt::Display for ListKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write_name_in_brackets(f, name)?;
            f.write_char('=')?;
            write_json_readable(f, value)?;
        }
        Ok(())
    }
}

/// One element of a set-like list (`metadata.finalizers`), named by its value as canonical
/// JSON text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SetValue(Box<str>);

impl SetValue {
    /// The set element `value`.
    #[must_use]
    pub fn new(value: &Value) -> Self {
        Self(canonical_json(value).into_boxed_str())
    }

    pub(crate) fn from_canonical(text: String) -> Self {
        Self(text.into_boxed_str())
    }

    /// The element as canonical JSON text.
    #[must_use]
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// One step of a [`Path`].
///
/// The order (derived) sorts fields by name, keys by their fields, indexes numerically, so a
/// sorted list of changes reads top-down like the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// An object member (`f:name` in `managedFields`).
    Field(Box<str>),
    /// A keyed list element (`k:{...}`).
    Key(ListKey),
    /// A position in a list that has no key (`i:3`), or in a keyed list whose keys are
    /// missing or duplicated (see [`Fallback`](crate::Fallback)).
    Index(usize),
    /// An element of a set-like list (`v:...`).
    Value(SetValue),
}

impl Segment {
    /// A field segment.
    #[must_use]
    pub fn field(name: &str) -> Self {
        Self::Field(Box::from(name))
    }
}

/// A location in a document, as segments that survive reordering of keyed lists.
///
/// Rendered two ways: a readable form (`spec.template.spec.containers[name=web].image`;
/// names that are not plain identifiers are quoted, `metadata.annotations["a.b/c"]`) through
/// `Display`, and a JSON Pointer ([`Path::to_json_pointer`]) when every segment is a field or
/// an index.
///
/// # Example
///
/// ```
/// use fleet_drift::{ListKey, Path, Segment};
/// use serde_json::json;
///
/// let path = Path::from_segments(vec![
///     Segment::field("spec"),
///     Segment::field("containers"),
///     Segment::Key(ListKey::new([("name", &json!("web"))])),
///     Segment::field("image"),
/// ]);
/// assert_eq!(path.to_string(), "spec.containers[name=web].image");
/// assert_eq!(path.to_json_pointer(), None);
/// assert_eq!(
///     Path::from_segments(vec![Segment::field("spec"), Segment::field("replicas")])
///         .to_json_pointer()
///         .as_deref(),
///     Some("/spec/replicas")
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    segments: Vec<Segment>,
}

impl Path {
    /// The empty path: the whole document.
    #[must_use]
    pub fn root() -> Self {
        Self::default()
    }

    /// A path from its segments.
    #[must_use]
    pub fn from_segments(segments: Vec<Segment>) -> Self {
        Self { segments }
    }

    /// A path of plain fields (`["spec", "replicas"]`).
    #[must_use]
    pub fn fields<'s>(names: impl IntoIterator<Item = &'s str>) -> Self {
        Self {
            segments: names.into_iter().map(Segment::field).collect(),
        }
    }

    /// The segments.
    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The number of segments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether this is the root path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether `self` is `other` or one of its ancestors.
    #[must_use]
    pub fn is_prefix_of(&self, other: &Path) -> bool {
        other.segments.starts_with(&self.segments)
    }

    /// Appends a segment.
    pub fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// This path with `segment` appended.
    #[must_use]
    pub fn join(&self, segment: Segment) -> Self {
        let mut p = self.clone();
        p.push(segment);
        p
    }

    /// The JSON Pointer (RFC 6901) of this path, when every segment is a field or an index.
    /// Paths through keyed or set elements have no pointer without the document; see
    /// [`Differ::json_pointer_in`](crate::Differ::json_pointer_in).
    #[must_use]
    pub fn to_json_pointer(&self) -> Option<String> {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Field(name) => push_pointer_token(&mut out, name),
                Segment::Index(i) => {
                    let _ = write!(out, "/{i}");
                }
                Segment::Key(_) | Segment::Value(_) => return None,
            }
        }
        Some(out)
    }
}

pub(crate) fn push_pointer_token(out: &mut String, name: &str) {
    out.push('/');
    for c in name.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

impl From<Vec<Segment>> for Path {
    fn from(segments: Vec<Segment>) -> Self {
        Self { segments }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("(root)");
        }
        for (i, s) in self.segments.iter().enumerate() {
            match s {
                Segment::Field(name) if is_plain(name) => {
                    if i > 0 {
                        f.write_char('.')?;
                    }
                    f.write_str(name)?;
                }
                Segment::Field(name) => {
                    f.write_char('[')?;
                    write_json_string(f, name)?;
                    f.write_char(']')?;
                }
                Segment::Key(key) => write!(f, "[{key}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Value(v) => {
                    f.write_str("[=")?;
                    write_json_readable(f, v.as_json())?;
                    f.write_char(']')?;
                }
            }
        }
        Ok(())
    }
}

impl Serialize for Path {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Plain names print bare in the readable form; everything else is quoted.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn write_name_in_brackets(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if is_plain(name) {
        f.write_str(name)
    } else {
        write_json_string(f, name)
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str(&canonical_json(&Value::String(s.to_owned())))
}

/// Writes canonical JSON text, dropping the quotes of strings that cannot be mistaken for
/// another JSON value or for the path syntax.
fn write_json_readable(f: &mut fmt::Formatter<'_>, json: &str) -> fmt::Result {
    if let Some(inner) = json.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
        && !inner.is_empty()
        && inner.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':' | b'@')
        })
        && !parses_as_json(inner)
    {
        return f.write_str(inner);
    }
    f.write_str(json)
}

/// Whether `text`, made of the characters above, is a JSON value: in that alphabet only a
/// literal or a number can be, so anything else is refused without running the parser (whose
/// error for an ordinary name is an allocation).
fn parses_as_json(text: &str) -> bool {
    if matches!(text, "true" | "false" | "null") {
        return true;
    }
    let b = text.as_bytes();
    let digits = |i: usize| b.iter().skip(i).take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int = digits(i);
    if int == 0 {
        return false;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(i);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    // the number's shape; the parser has the last word (leading zeros, range)
    i == b.len() && serde_json::from_str::<Value>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// The shortcut answers as the parser does, on the alphabet it is asked about.
        #[test]
        fn parses_as_json_is_the_parser(text in "[a-z0-9_./:@eE+-]{0,8}") {
            prop_assert_eq!(parses_as_json(&text), serde_json::from_str::<Value>(&text).is_ok());
        }

        #[test]
        fn parses_as_json_on_numbers(text in "-?[0-9]{1,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,4})?") {
            prop_assert_eq!(parses_as_json(&text), serde_json::from_str::<Value>(&text).is_ok());
        }
    }

    #[test]
    fn readable_form_quotes_what_needs_it() {
        let p = Path::from_segments(vec![
            Segment::field("metadata"),
            Segment::field("annotations"),
            Segment::field("deployment.kubernetes.io/revision"),
        ]);
        assert_eq!(
            p.to_string(),
            r#"metadata.annotations["deployment.kubernetes.io/revision"]"#
        );
        assert_eq!(
            p.to_json_pointer().as_deref(),
            Some("/metadata/annotations/deployment.kubernetes.io~1revision")
        );
        let p = Path::from_segments(vec![
            Segment::field("finalizers"),
            Segment::Value(SetValue::new(&json!("a.b/c"))),
            Segment::Index(2),
            Segment::Key(ListKey::new([("name", &json!("80"))])),
        ]);
        assert_eq!(p.to_string(), r#"finalizers[=a.b/c][2][name="80"]"#);
        assert_eq!(Path::root().to_string(), "(root)");
    }

    #[test]
    fn keys_are_order_independent() {
        let a = ListKey::new([("b", &json!(1)), ("a", &json!("x"))]);
        let b = ListKey::new([("a", &json!("x")), ("b", &json!(1))]);
        assert_eq!(a, b);
    }
}
