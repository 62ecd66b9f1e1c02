//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`) compared by value.
//!
//! A quantity is held exactly as `sign · m · 2^p · 5^q` with `m` coprime to 10, a form that
//! is unique for every value, so equal values have equal canonical text.

/// A parsed quantity in its unique exact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    negative: bool,
    m: u128,
    p: i32,
    q: i32,
}

const MAX_EXPONENT: i32 = 1_000;

fn parse(s: &str) -> Option<Exact> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut m: u128 = 0;
    let mut digits = 0usize;
    let mut exp10: i32 = 0;
    let mut seen_point = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                m = m.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
                digits += 1;
                if seen_point {
                    exp10 -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let suffix = s.get(i..)?;
    let (binary, decimal): (i32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = rest.parse().ok()?;
            if e.abs() > MAX_EXPONENT {
                return None;
            }
            (0, e)
        }
    };
    if m == 0 {
        return Some(Exact {
            negative: false,
            m: 0,
            p: 0,
            q: 0,
        });
    }
    let mut p = binary + exp10 + decimal;
    let mut q = exp10 + decimal;
    while m.is_multiple_of(2) {
        m /= 2;
        p += 1;
    }
    while m.is_multiple_of(5) {
        m /= 5;
        q += 1;
    }
    Some(Exact { negative, m, p, q })
}

fn scale(m: u128, twos: i32, fives: i32) -> Option<u128> {
    let two = 2u128.checked_pow(u32::try_from(twos).ok()?)?;
    let five = 5u128.checked_pow(u32::try_from(fives).ok()?)?;
    m.checked_mul(two)?.checked_mul(five)
}

fn render(x: Exact) -> Option<String> {
    if x.m == 0 {
        return Some("0".to_owned());
    }
    let sign = if x.negative { "-" } else { "" };
    let Exact { m, p, q, .. } = x;
    if p >= 0 && q >= 0 {
        // Integers: the shorter of the decimal and binary spellings (decimal on a tie), so
        // `100Mi` stays `100Mi` and `1T` stays `1T`.
        let t = p.min(q);
        let e = (t - t % 3).min(18);
        let decimal = scale(m, p - e, q - e).and_then(|mantissa| {
            let suffix = ["", "k", "M", "G", "T", "P", "E"].get(usize::try_from(e / 3).ok()?)?;
            Some(format!("{sign}{mantissa}{suffix}"))
        });
        let binary = (p >= 10).then_some(()).and_then(|()| {
            let k = (p / 10).min(6);
            let mantissa = scale(m, p - 10 * k, q)?;
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].get(usize::try_from(k).ok()?)?;
            Some(format!("{sign}{mantissa}{suffix}"))
        });
        return match (decimal, binary) {
            (Some(d), Some(b)) if b.len() < d.len() => Some(b),
            (Some(d), _) => Some(d),
            (None, b) => b,
        };
    }
    let s = (-p).max(-q);
    let n = scale(m, p + s, q + s)?;
    if s <= 9 {
        let e = (s + 2) / 3 * 3;
        let mantissa = scale(n, e - s, e - s)?;
        let suffix = ["", "m", "u", "n"].get(usize::try_from(e / 3).ok()?)?;
        return Some(format!("{sign}{mantissa}{suffix}"));
    }
    Some(format!("{sign}{n}e-{s}"))
}

/// The canonical text of a quantity (`1000m` → `1`, `1024Mi` → `1Gi`, `0.5` → `500m`), or
/// `None` when `s` is not a quantity or its value is too large to write exactly.
pub(crate) fn canonical(s: &str) -> Option<String> {
    render(parse(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_have_equal_text() {
        for (a, b) in [
            ("1000m", "1"),
            ("1Gi", "1024Mi"),
            ("0.5", "500m"),
            ("1k", "1000"),
            ("1e3", "1k"),
            ("1E3", "1000"),
            ("1Ki", "1024"),
            ("+2", "2"),
            ("0", "0m"),
            ("-0", "0Gi"),
            ("1.5Gi", "1536Mi"),
            ("100Mi", "104857600"),
            ("12e-12", "0.000000000012"),
        ] {
            assert_eq!(canonical(a), canonical(b), "{a} vs {b}");
            assert!(canonical(a).is_some(), "{a}");
        }
        assert_ne!(canonical("1G"), canonical("1Gi"));
        assert_ne!(canonical("1m"), canonical("1M"));
    }

    #[test]
    fn canonical_text_is_readable_and_stable() {
        for (input, want) in [
            ("1000m", "1"),
            ("1024Mi", "1Gi"),
            ("0.5", "500m"),
            ("250m", "250m"),
            ("1536", "1536"),
            ("2000", "2k"),
            ("100Mi", "100Mi"),
            ("0.1m", "100u"),
            ("-1.5", "-1500m"),
            ("1e-12", "1e-12"),
        ] {
            let got = canonical(input).unwrap();
            assert_eq!(got, want, "{input}");
            assert_eq!(
                canonical(&got).as_deref(),
                Some(want),
                "{input} is a fixed point"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for s in [
            "", "m", "1mi", "1.2.3", "abc", "1e", "1e+", "1Gi2", "1e99999", "--1",
        ] {
            assert_eq!(canonical(s), None, "{s}");
        }
    }
}
