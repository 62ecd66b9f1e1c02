//! Line and column of a field path in a policy file, for problems found after parsing.
//!
//! serde does not keep positions, but both parsers attach the position of the value being
//! read to an error raised while reading it. So to place `policies[1].rules[0].window.cron`,
//! the file is walked again with a visitor that raises an error exactly at that value, and
//! the error's position is the answer.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `policies[1].rules[0].window.cron` into segments; `None` if it is not such a path.
fn segments(path: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (part.get(..i)?, part.get(i..)?),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name.to_owned()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            out.push(Seg::Index(stripped.get(..end)?.parse().ok()?));
            rest = stripped.get(end + 1..)?;
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

const MARK: &str = "\u{0}fleet-policy-locate";

struct Seek<'p> {
    path: &'p [Seg],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.path.is_empty() {
            // Fail inside the parser's call for this value: it stamps the value's position.
            return d.deserialize_any(Here);
        }
        d.deserialize_any(self)
    }
}

/// Refuses any value, so the parser reports where the value is.
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(MARK))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(MARK))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(MARK))
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.path.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        while let Some(key) = map.next_key::<KeyText>()? {
            if key.0.as_deref() == Some(want.as_str()) {
                if rest.is_empty() {
                    // point at the key's value
                    map.next_value_seed(Seek { path: &[] })?;
                } else {
                    map.next_value_seed(Seek { path: rest })?;
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.path.split_first() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut i = 0;
        while i < *want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
        seq.next_element_seed(Seek { path: rest })?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A map key as text when it is a string (other keys never match a path).
struct KeyText(Option<String>);

impl<'de> serde::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where `path` is in a YAML text: (line, column), 1-based.
pub(crate) fn in_yaml(text: &str, path: &str) -> Option<(usize, usize)> {
    let segs = segments(path)?;
    let de = serde_yaml_ng::Deserializer::from_str(text);
    match (Seek { path: &segs }).deserialize(de) {
        Err(e) if e.to_string().contains(MARK) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// Where `path` is in a JSON text: (line, column), 1-based.
pub(crate) fn in_json(text: &str, path: &str) -> Option<(usize, usize)> {
    let segs = segments(path)?;
    let mut de = serde_json::Deserializer::from_str(text);
    match (Seek { path: &segs }).deserialize(&mut de) {
        Err(e) if e.to_string().contains(MARK) && e.line() > 0 => Some((e.line(), e.column())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "policies:\n  - id: a\n    rules:\n      - id: r\n        window: { kind: deny, cron: \"0 25 * * *\" }\n      - id: s\n        freeze:\n          from: x\n";

    #[test]
    fn finds_block_and_flow_values() {
        assert_eq!(
            in_yaml(YAML, "policies[0].rules[0].window.cron").map(|p| p.0),
            Some(5)
        );
        assert_eq!(
            in_yaml(YAML, "policies[0].rules[1].freeze.from").map(|p| p.0),
            Some(8)
        );
        assert_eq!(
            in_yaml(YAML, "policies[0].rules[1].id").map(|p| p.0),
            Some(6)
        );
        assert_eq!(in_yaml(YAML, "policies[0].rules[2]"), None);
        assert_eq!(in_yaml(YAML, "policies[0].nope"), None);
        assert_eq!(in_yaml("{}", "x[0]"), None);
    }

    #[test]
    fn finds_json_values() {
        let j = "{\"policies\": [\n {\"id\": \"a\",\n  \"rules\": []}]}";
        assert_eq!(in_json(j, "policies[0].rules").map(|p| p.0), Some(3));
    }

    #[test]
    fn parses_paths() {
        assert_eq!(
            segments("a[1][2].b"),
            Some(vec![
                Seg::Key("a".into()),
                Seg::Index(1),
                Seg::Index(2),
                Seg::Key("b".into())
            ])
        );
        assert_eq!(segments("a[x]"), None);
    }
}
