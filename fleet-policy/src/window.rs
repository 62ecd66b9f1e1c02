//! Change windows: recurring windows from cron + IANA time zone + duration, one-off freezes,
//! and blackout date ranges, with the daylight-saving rules pinned down.
//!
//! A window's start is a local wall-clock time. Mapping it to an instant:
//! - a start that falls in a skipped hour (spring forward) opens right after the gap, at the
//!   instant the clocks jump;
//! - a start that falls in a repeated hour (fall back) opens at the first occurrence only;
//! - durations are absolute time: a 2-hour window that spans a transition lasts 2 hours of
//!   real time, not 1 or 3 hours of wall-clock time.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::cron::Cron;

/// The version of the IANA time-zone database compiled in; decisions record it as evidence.
pub const TZDB_VERSION: &str = chrono_tz::IANA_TZDB_VERSION;

/// A half-open interval of instants, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First instant inside.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// Whether `t` is inside.
    #[must_use]
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// Maps a local wall-clock time to an instant under the rules in the module docs. `None` only
/// if the zone has no valid local time within two days after `local` (no real zone).
#[must_use]
pub(crate) fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::LocalResult;
    let mut m = local;
    for _ in 0..=(2 * 24 * 60) {
        match tz.from_local_datetime(&m) {
            LocalResult::Single(x) => return Some(x.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                return Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc)));
            }
            // in a gap: the first valid minute after it is the instant the clocks jumped
            LocalResult::None => m += Duration::minutes(1),
        }
    }
    None
}

fn local_of(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// Whether the zone's UTC offset changes within a day of `t`; only then do local and
/// instant orders need care.
fn transition_near(tz: Tz, t: DateTime<Utc>) -> bool {
    let off = |x: DateTime<Utc>| x.with_timezone(&tz).offset().fix().local_minus_utc();
    let day = Duration::hours(26);
    off(t - day) != off(t) || off(t) != off(t + day)
}

/// A window that recurs: it opens at each cron match (local time in `tz`) and lasts
/// `duration` of absolute time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recurring {
    /// When it opens.
    pub(crate) cron: Cron,
    /// The zone the cron is read in.
    pub(crate) tz: Tz,
    /// How long it stays open. Positive.
    pub(crate) duration: Duration,
}

impl Recurring {
    /// The latest opening at or before `at`, as an interval (it may have ended already).
    fn latest_start(&self, at: DateTime<Utc>) -> Option<Interval> {
        let local = local_of(self.tz, at);
        let mut probe = if transition_near(self.tz, at) {
            local + Duration::hours(3)
        } else {
            local
        };
        for _ in 0..512 {
            let s_local = self.cron.prev_at_or_before(probe)?;
            let s = resolve_local(self.tz, s_local)?;
            if s <= at {
                return Some(Interval {
                    start: s,
                    end: s + self.duration,
                });
            }
            probe = s_local - Duration::minutes(1);
        }
        None
    }

    /// The interval containing `at`, if the window is open then.
    #[must_use]
    pub(crate) fn active_at(&self, at: DateTime<Utc>) -> Option<Interval> {
        self.latest_start(at).filter(|i| i.contains(at))
    }

    /// The first opening strictly after `at`.
    #[must_use]
    pub(crate) fn next_start_after(&self, at: DateTime<Utc>) -> Option<Interval> {
        let local = local_of(self.tz, at);
        let mut probe = if transition_near(self.tz, at) {
            local - Duration::hours(3)
        } else {
            local
        };
        for _ in 0..512 {
            let s_local = self.cron.next_at_or_after(probe)?;
            let s = resolve_local(self.tz, s_local)?;
            if s > at {
                return Some(Interval {
                    start: s,
                    end: s + self.duration,
                });
            }
            probe = s_local + Duration::minutes(1);
        }
        None
    }
}

/// Whole local days `from..=to` in a zone: `[from 00:00, to+1 00:00)` local time.
#[must_use]
pub(crate) fn day_range(tz: Tz, from: NaiveDate, to: NaiveDate) -> Option<Interval> {
    let start = resolve_local(tz, from.and_time(NaiveTime::MIN))?;
    let end = resolve_local(tz, to.succ_opt()?.and_time(NaiveTime::MIN))?;
    Some(Interval { start, end })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn gap_start_opens_at_the_jump() {
        // Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC)
        let local = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            resolve_local(chrono_tz::Europe::Berlin, local),
            Some(utc("2026-03-29T01:00:00Z"))
        );
    }

    #[test]
    fn repeated_hour_opens_at_first_occurrence() {
        // Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET; 02:30 happens at 00:30Z and 01:30Z
        let local = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            resolve_local(chrono_tz::Europe::Berlin, local),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn latest_start_sees_a_first_occurrence_later_in_local_time() {
        let w = Recurring {
            cron: Cron::parse("30 2 * * *").unwrap(),
            tz: chrono_tz::Europe::Berlin,
            duration: Duration::hours(1),
        };
        // 01:10Z is 02:10 CET (second pass); the window opened at 00:30Z
        let i = w.active_at(utc("2026-10-25T01:10:00Z")).unwrap();
        assert_eq!(i.start, utc("2026-10-25T00:30:00Z"));
        assert_eq!(i.end, utc("2026-10-25T01:30:00Z"));
        assert!(w.active_at(utc("2026-10-25T01:30:00Z")).is_none());
        // and the second 02:30 (01:30Z) is not an opening
        assert_eq!(
            w.next_start_after(utc("2026-10-25T00:45:00Z"))
                .unwrap()
                .start,
            utc("2026-10-26T01:30:00Z")
        );
    }
}
