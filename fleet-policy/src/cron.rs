//! Five-field cron expressions, evaluated on local wall-clock time.
//!
//! The grammar is Vixie cron's: `minute hour day-of-month month day-of-week`, each field a
//! `*`, a value, a range `a-b`, a step `*/s` or `a-b/s` or `a/s`, or a comma list of those;
//! months and weekdays also take three-letter names (`JAN`, `MON`), weekday 7 is Sunday, and
//! when both day fields are restricted a day matches if either does. The macros `@hourly`,
//! `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) are accepted.
//!
//! Everything here works on [`NaiveDateTime`]: mapping local times to instants (and the
//! daylight-saving rules that go with it) is the window's job.

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Why a cron expression was refused. `span` is a byte range into the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{input}`: {message}")]
pub struct CronError {
    /// The expression.
    pub input: String,
    /// What is wrong.
    pub message: String,
    /// Byte range of the offending part.
    pub span: (usize, usize),
}

/// A parsed cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    dom: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    dow: u8,
    dom_restricted: bool,
    dow_restricted: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.source)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name.
    name_base: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        name_base: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        name_base: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        name_base: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        name_base: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &DAYS,
        name_base: 0,
    },
];

impl Cron {
    /// Parses an expression.
    ///
    /// # Errors
    ///
    /// [`CronError`] naming the field and the byte span of the first problem.
    ///
    /// # Example
    ///
    /// ```
    /// use fleet_policy::Cron;
    /// let c = Cron::parse("0 18 * * FRI")?;
    /// assert_eq!(c.to_string(), "0 18 * * FRI");
    /// assert!(Cron::parse("0 25 * * *").is_err());
    /// # Ok::<(), fleet_policy::CronError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, CronError> {
        let err = |message: String, span: (usize, usize)| CronError {
            input: input.to_owned(),
            message,
            span,
        };
        let trimmed = input.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@hourly" => Some("0 * * * *"),
            "@daily" | "@midnight" => Some("0 0 * * *"),
            "@weekly" => Some("0 0 * * 0"),
            "@monthly" => Some("0 0 1 * *"),
            "@yearly" | "@annually" => Some("0 0 1 1 *"),
            _ if trimmed.starts_with('@') => {
                let start = input.len() - input.trim_start().len();
                return Err(err(
                    format!(
                        "unknown macro `{trimmed}`; expected @hourly, @daily, @weekly, @monthly or @yearly"
                    ),
                    (start, start + trimmed.len()),
                ));
            }
            _ => None,
        };
        let text = expanded.unwrap_or(input);
        // (start offset in `input`, field text); offsets are only meaningful when not a macro.
        let mut parts: Vec<(usize, &str)> = Vec::with_capacity(5);
        let mut pos = 0;
        for piece in text.split_ascii_whitespace() {
            let start = text[pos..].find(piece).map_or(pos, |i| pos + i);
            pos = start + piece.len();
            parts.push((start, piece));
        }
        if parts.len() != 5 {
            return Err(err(
                format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                    parts.len()
                ),
                (0, input.len()),
            ));
        }
        let mut bits = [0u64; 5];
        let mut restricted = [false; 5];
        for (i, ((start, piece), field)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            let map_span = |(a, b): (usize, usize)| {
                if expanded.is_some() {
                    (0, input.len())
                } else {
                    (start + a, start + b)
                }
            };
            let (set, is_star) = parse_field(piece, field).map_err(|(m, s)| err(m, map_span(s)))?;
            bits[i] = set;
            restricted[i] = !is_star;
        }
        let mut dow = (bits[4] & 0x7f) as u8;
        if bits[4] & (1 << 7) != 0 {
            dow |= 1;
        }
        let c = Self {
            source: trimmed.to_owned(),
            minutes: bits[0],
            hours: bits[1] as u32,
            dom: bits[2] as u32,
            months: bits[3] as u16,
            dow,
            dom_restricted: restricted[2],
            dow_restricted: restricted[4],
        };
        if !c.any_day_possible() {
            return Err(err(
                "no date ever matches the day-of-month and month fields".to_owned(),
                (0, input.len()),
            ));
        }
        Ok(c)
    }

    /// Whether some calendar day matches (refuses `0 0 31 2 *`).
    fn any_day_possible(&self) -> bool {
        if self.dow_restricted && self.dom_restricted {
            return true; // OR semantics: weekday alone matches some day
        }
        if !self.dom_restricted {
            return true;
        }
        // Longest length of each month, February in a leap year.
        const LEN: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (1..=12u32).any(|m| {
            self.months & (1 << m) != 0
                && LEN
                    .get(m as usize - 1)
                    .is_some_and(|len| (1..=*len).any(|d| self.dom & (1 << d) != 0))
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().num_days_from_sunday()) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    fn minute_matches(&self, t: NaiveDateTime) -> bool {
        self.months & (1 << t.month()) != 0
            && self.day_matches(t.date())
            && self.hours & (1 << t.hour()) != 0
            && self.minutes & (1 << t.minute()) != 0
    }

    /// The first matching minute at or after `from` (seconds are rounded up to the next
    /// minute), within about five years; `None` if there is none.
    #[must_use]
    pub fn next_at_or_after(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut t = from.with_nanosecond(0)?;
        if t.second() != 0 {
            t = t.with_second(0)? + Duration::minutes(1);
        }
        let limit = t + Duration::days(366 * 5);
        while t <= limit {
            if self.months & (1 << t.month()) == 0 {
                // first day of the next month
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = NaiveDate::from_ymd_opt(y, m, 1)?.and_time(NaiveTime::MIN);
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_time(NaiveTime::MIN);
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            let above = self.minutes >> t.minute();
            if above == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            let m = t.minute() + above.trailing_zeros();
            return t.with_minute(m);
        }
        None
    }

    /// The last matching minute at or before `from` (seconds are dropped), within about
    /// five years; `None` if there is none.
    #[must_use]
    pub fn prev_at_or_before(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut t = from.with_nanosecond(0)?.with_second(0)?;
        let limit = t - Duration::days(366 * 5);
        while t >= limit {
            if self.months & (1 << t.month()) == 0 {
                // last minute of the previous month
                let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
                t = first.and_time(NaiveTime::MIN) - Duration::minutes(1);
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().and_time(NaiveTime::MIN) - Duration::minutes(1);
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? - Duration::minutes(1);
                continue;
            }
            let below = self.minutes & (u64::MAX >> (63 - t.minute()));
            if below == 0 {
                t = t.with_minute(0)? - Duration::minutes(1);
                continue;
            }
            let m = 63 - below.leading_zeros();
            return t.with_minute(m);
        }
        None
    }

    /// Whether `t` (to the minute) matches.
    #[must_use]
    pub fn matches(&self, t: NaiveDateTime) -> bool {
        self.minute_matches(t)
    }
}

type FieldError = (String, (usize, usize));

/// Parses one field into a bit set; also says whether it was a bare `*`.
fn parse_field(text: &str, field: &Field) -> Result<(u64, bool), FieldError> {
    let mut set = 0u64;
    let mut offset = 0;
    let is_star = text == "*";
    for item in text.split(',') {
        let span = (offset, offset + item.len());
        offset += item.len() + 1;
        if item.is_empty() {
            return Err((format!("empty item in the {} field", field.name), span));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| {
                    (
                        format!("step `{s}` in the {} field is not a number", field.name),
                        span,
                    )
                })?;
                if step == 0 {
                    return Err((
                        format!("step in the {} field must be at least 1", field.name),
                        span,
                    ));
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (field.min, if field.max == 7 { 6 } else { field.max })
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field, span)?, value(b, field, span)?)
        } else {
            let v = value(range, field, span)?;
            // `a/s` means from a to the end
            (v, if step.is_some() { field.max } else { v })
        };
        if lo > hi {
            return Err((
                format!("range `{range}` in the {} field runs backwards", field.name),
                span,
            ));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    Ok((set, is_star))
}

fn value(text: &str, field: &Field, span: (usize, usize)) -> Result<u32, FieldError> {
    if let Some(i) = field
        .names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(i as u32 + field.name_base);
    }
    let v: u32 = text.parse().map_err(|_| {
        (
            format!(
                "`{text}` is not a valid {} (expected {}-{})",
                field.name, field.min, field.max
            ),
            span,
        )
    })?;
    if v < field.min || v > field.max {
        return Err((
            format!(
                "{} `{v}` is out of range {}-{}",
                field.name, field.min, field.max
            ),
            span,
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn next_and_prev_agree_with_brute_force() {
        let exprs = [
            "0 18 * * FRI",
            "*/15 9-17 * * 1-5",
            "30 2 * * *",
            "0 0 1,15 * *",
            "0 0 13 * 5",
            "5 4 29 2 *",
            "@weekly",
            "0 0/6 * JAN-MAR,DEC SAT,SUN",
        ];
        let start = t("2026-01-01 00:00");
        for e in exprs {
            let c = Cron::parse(e).unwrap();
            // brute force over 40 days, minute by minute
            let mut expected = Vec::new();
            let mut m = start;
            while m < start + Duration::days(40) {
                if c.matches(m) {
                    expected.push(m);
                }
                m += Duration::minutes(1);
            }
            let mut got = Vec::new();
            let mut cur = c.next_at_or_after(start);
            while let Some(x) = cur {
                if x >= start + Duration::days(40) {
                    break;
                }
                got.push(x);
                cur = c.next_at_or_after(x + Duration::minutes(1));
            }
            assert_eq!(got, expected, "{e}");
            for w in expected.windows(2) {
                assert_eq!(
                    c.prev_at_or_before(w[1] - Duration::minutes(1)),
                    Some(w[0]),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn feb_29_is_found_years_ahead() {
        let c = Cron::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            c.next_at_or_after(t("2025-03-01 00:00")),
            Some(t("2028-02-29 00:00"))
        );
        assert_eq!(
            c.prev_at_or_before(t("2027-03-01 00:00")),
            Some(t("2024-02-29 00:00"))
        );
    }

    #[test]
    fn errors_name_field_and_span() {
        let e = Cron::parse("0 25 * * *").unwrap_err();
        assert_eq!(e.message, "hour `25` is out of range 0-23");
        assert_eq!(e.span, (2, 4));
        let e = Cron::parse("0 0 * * FUN").unwrap_err();
        assert_eq!(e.span, (8, 11));
        assert!(e.message.contains("day of week"));
        assert!(
            Cron::parse("0 0 * *")
                .unwrap_err()
                .message
                .contains("expected 5 fields")
        );
        assert!(Cron::parse("0 0 31 2 *").is_err());
        assert!(Cron::parse("*/0 * * * *").is_err());
        assert!(Cron::parse("5-1 * * * *").is_err());
        assert!(Cron::parse("@often").is_err());
        assert!(Cron::parse("1,,2 * * * *").is_err());
    }

    #[test]
    fn sunday_is_0_and_7() {
        let a = Cron::parse("0 0 * * 0").unwrap();
        let b = Cron::parse("0 0 * * 7").unwrap();
        let c = Cron::parse("0 0 * * sun").unwrap();
        assert!(a.dow == b.dow && b.dow == c.dow);
    }
}
