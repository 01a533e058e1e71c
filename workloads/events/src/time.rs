//! Timestamps: every form the sources write, to UTC microseconds.
//!
//! Accepted: RFC 3339 with any offset and 0-9 fractional digits
//! (`2025-10-23T18:04:05.123456789+05:30`, `...Z`), the REES46 form
//! `2019-10-01 00:00:00 UTC`, and naive local times (`2011-03-10 16:16:00`,
//! also with a `T`, and the UCI original `12/1/2010 8:26`) interpreted in a
//! given time zone, DST-correct. A local time that does not exist (skipped by
//! a DST change) is an error; an ambiguous one (repeated hour) takes the
//! earlier instant, as the UCI data was recorded on a wall clock.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Parses a timestamp with an explicit offset or `UTC` suffix.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = crate::adapt::trim(s);
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    // RFC 3339 with a space instead of `T`.
    if s.len() > 10 && s.as_bytes()[10] == b' ' {
        let with_t = format!("{}T{}", &s[..10], &s[11..]);
        if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
            return Some(t.timestamp_micros());
        }
    }
    if let Some(naive) = s.strip_suffix(" UTC").or_else(|| s.strip_suffix(" utc")) {
        return parse_naive(naive).map(|n| n.and_utc().timestamp_micros());
    }
    None
}

/// Parses a timestamp; one without an offset is local time in `zone`.
pub fn parse_in_zone(s: &str, zone: Tz) -> Option<i64> {
    let s = crate::adapt::trim(s);
    if let Some(t) = parse_utc(s) {
        return Some(t);
    }
    let naive = parse_naive(s)?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.timestamp_micros()),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.timestamp_micros()),
        LocalResult::None => None,
    }
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Formats UTC microseconds as RFC 3339 with microseconds and `Z`.
pub fn format_utc(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_571_961_600_000_000; // 2019-10-25T00:00:00Z

    #[test]
    fn rfc3339_any_offset_and_precision() {
        assert_eq!(parse_utc("2019-10-25T00:00:00Z"), Some(T0));
        assert_eq!(parse_utc("2019-10-25T05:30:00+05:30"), Some(T0));
        assert_eq!(parse_utc("2019-10-24T20:00:00-04:00"), Some(T0));
        assert_eq!(parse_utc("2019-10-25T00:00:00.5Z"), Some(T0 + 500_000));
        assert_eq!(parse_utc("2019-10-25T00:00:00.123456789Z"), Some(T0 + 123_456));
        assert_eq!(parse_utc("2019-10-25 00:00:00+00:00"), Some(T0));
    }

    #[test]
    fn rees46_utc_suffix() {
        assert_eq!(parse_utc("2019-10-25 00:00:00 UTC"), Some(T0));
    }

    #[test]
    fn naive_is_not_utc_without_a_zone() {
        assert_eq!(parse_utc("2019-10-25 00:00:00"), None);
        assert_eq!(parse_utc("yesterday"), None);
        assert_eq!(parse_utc("2019-13-25T00:00:00Z"), None);
    }

    #[test]
    fn local_times_follow_dst() {
        let london: Tz = "Europe/London".parse().unwrap();
        // Winter: GMT = UTC.
        assert_eq!(
            parse_in_zone("2011-01-10 12:00:00", london),
            parse_utc("2011-01-10T12:00:00Z")
        );
        // Summer: BST = UTC+1.
        assert_eq!(
            parse_in_zone("2011-06-10 12:00:00", london),
            parse_utc("2011-06-10T11:00:00Z")
        );
        // UCI's original format.
        assert_eq!(
            parse_in_zone("12/1/2010 8:26", london),
            parse_utc("2010-12-01T08:26:00Z")
        );
        // 2011-03-27 01:30 does not exist in London (clocks jump 01:00 -> 02:00).
        assert_eq!(parse_in_zone("2011-03-27 01:30:00", london), None);
        // 2011-10-30 01:30 happens twice; the earlier (BST) instant is taken.
        assert_eq!(
            parse_in_zone("2011-10-30 01:30:00", london),
            parse_utc("2011-10-30T00:30:00Z")
        );
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_utc(T0 + 1), "2019-10-25T00:00:00.000001Z");
    }
}
