//! Secret values, shown only as digests.

use fleet_core::Digest;
use serde_json::{Map, Value};

/// `sha256:<hex>` of `salt || bytes`.
pub(crate) fn digest(salt: &[u8], bytes: &[u8]) -> String {
    if salt.is_empty() {
        Digest::sha256(bytes).to_string()
    } else {
        let mut buf = Vec::with_capacity(salt.len() + bytes.len());
        buf.extend_from_slice(salt);
        buf.extend_from_slice(bytes);
        Digest::sha256(&buf).to_string()
    }
}

/// The digest that stands for a leaf value: strings by their text, anything else by its
/// canonical JSON.
pub(crate) fn redact(salt: &[u8], value: &Value) -> Value {
    let text = match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        other => std::borrow::Cow::Owned(fleet_core::canonical_json(other)),
    };
    Value::String(digest(salt, text.as_bytes()))
}

/// A Secret's `data` as digests of the decoded bytes, with `stringData` folded in (it wins,
/// as on the API server). A `data` value that is not valid base64 is digested as its text.
/// `None` when neither field holds any entry.
pub(crate) fn secret_data(salt: &[u8], doc: &Map<String, Value>) -> Option<Value> {
    let mut out = Map::new();
    if let Some(Value::Object(data)) = doc.get("data") {
        for (k, v) in data {
            let hashed = match v {
                Value::String(s) => match decode_base64(s) {
                    Some(bytes) => Value::String(digest(salt, &bytes)),
                    None => redact(salt, v),
                },
                Value::Null => continue,
                other => redact(salt, other),
            };
            out.insert(k.clone(), hashed);
        }
    }
    if let Some(Value::Object(data)) = doc.get("stringData") {
        for (k, v) in data {
            if v.is_null() {
                continue;
            }
            out.insert(k.clone(), redact(salt, v));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Standard base64 with padding (what Kubernetes writes), whitespace-free.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.chunks(4);
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.enumerate() {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i != last) {
            return None;
        }
        let mut n = 0u32;
        for &c in chunk.get(..4 - pad)? {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad;
        let [_, a, b, c] = n.to_be_bytes();
        out.push(a);
        if pad < 2 {
            out.push(b);
        }
        if pad < 1 {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("aHVudGVyMg==").unwrap(), b"hunter2");
        assert_eq!(decode_base64("Zm9v!"), None);
        assert_eq!(decode_base64("Zg==Zm9v"), None);
        assert_eq!(decode_base64("Z==="), None);
    }
}
