//! Record timestamps and time-window bounds.
//!
//! Bunyan writes `time` as `YYYY-MM-DDTHH:MM:SS.sssZ`; that exact shape is parsed by hand because
//! it is on the filter path of every line. Anything else goes through jiff.

use jiff::{civil, tz::TimeZone, SignedDuration, Timestamp};

/// Parses a bunyan `time` value (ISO 8601; UTC when no offset is given).
pub fn parse_record_time(s: &str) -> Option<Timestamp> {
    parse_bunyan_fast(s.as_bytes()).or_else(|| parse_iso_slow(s))
}

/// A JSON number in `time` is milliseconds since the epoch, as `new Date(n)` reads it.
pub fn time_from_epoch_millis(ms: f64) -> Option<Timestamp> {
    if !ms.is_finite() {
        return None;
    }
    Timestamp::from_millisecond(ms.trunc() as i64).ok()
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn parse_bunyan_fast(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    let mut nanos = 0u32;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let frac = &rest[1..];
        nanos = digits(frac)? * 10u32.pow(9 - frac.len() as u32);
    }
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if day > days_in_month(i64::from(year), month) {
        return None;
    }
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Timestamp::new(secs, nanos as i32).ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_iso_slow(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = s.parse::<civil::DateTime>() {
        return TimeZone::UTC.to_timestamp(dt).ok();
    }
    if let Ok(date) = s.parse::<civil::Date>() {
        return TimeZone::UTC
            .to_timestamp(date.to_datetime(civil::Time::midnight()))
            .ok();
    }
    None
}

/// Parses a `--since`/`--until` bound: RFC 3339 (`2024-05-01T10:00:00Z`), a date or date-time
/// without offset (taken as UTC), `now`, or a span back from `now` such as `90s`, `15m`, `2h`,
/// `3d`, `1w` (an optional `ago` suffix is accepted).
pub fn parse_time_bound(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(span) = parse_relative(t) {
        return now
            .checked_sub(span)
            .map_err(|e| format!("time {text:?} is out of range: {e}"));
    }
    parse_iso_slow(t).ok_or_else(|| {
        format!(
            "cannot read time {text:?}: expected RFC 3339 (2024-05-01T10:00:00Z) or a span like 2h"
        )
    })
}

fn parse_relative(t: &str) -> Option<SignedDuration> {
    let t = t.strip_suffix("ago").unwrap_or(t).trim_end();
    let unit_at = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = t.split_at(unit_at);
    let amount: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    };
    SignedDuration::try_from_secs_f64(amount * seconds).ok()
}

/// `HH:mm:ss.SSSZ` in UTC, as bunyan's short format prints it.
pub fn format_short_utc(ts: Timestamp) -> String {
    let dt = TimeZone::UTC.to_datetime(ts);
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Local time: `[YYYY-MM-DDTHH:mm:ss.SSS+hh:mm]` (long) or `HH:mm:ss.SSS` (short).
pub fn format_local(ts: Timestamp, tz: &TimeZone, short: bool) -> String {
    let zoned = ts.to_zoned_datetime(tz.clone());
    let dt = zoned.datetime();
    let millis = dt.subsec_nanosecond() / 1_000_000;
    if short {
        return format!(
            "{:02}:{:02}:{:02}.{:03}",
            dt.hour(),
            dt.minute(),
            dt.second(),
            millis
        );
    }
    let offset = zoned.offset().seconds();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.abs();
    format!(
        "[{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}]",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        millis,
        sign,
        offset / 3600,
        (offset % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_jiff() {
        for s in [
            "2012-02-08T22:56:52.856Z",
            "2000-02-29T00:00:00Z",
            "1999-12-31T23:59:59.1Z",
            "2038-01-19T03:14:08.123456Z",
        ] {
            let want: Timestamp = s.parse().unwrap();
            assert_eq!(parse_bunyan_fast(s.as_bytes()), Some(want), "{s}");
        }
        assert_eq!(parse_bunyan_fast(b"2001-02-29T00:00:00Z"), None);
    }

    #[test]
    fn offsets_and_naive_times_parse() {
        let want: Timestamp = "2024-05-01T08:00:00Z".parse().unwrap();
        assert_eq!(parse_record_time("2024-05-01T10:00:00+02:00"), Some(want));
        assert_eq!(parse_record_time("2024-05-01T08:00:00"), Some(want));
        assert_eq!(parse_record_time("yesterday"), None);
    }

    #[test]
    fn bounds_accept_relative_spans() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
        let two_hours: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_time_bound("2h", now), Ok(two_hours));
        assert_eq!(parse_time_bound("120m ago", now), Ok(two_hours));
        assert_eq!(parse_time_bound("2024-05-01T10:00:00Z", now), Ok(two_hours));
        assert!(parse_time_bound("soon", now).is_err());
    }

    #[test]
    fn short_format_is_bunyan_like() {
        let ts: Timestamp = "2012-02-08T22:56:50.856Z".parse().unwrap();
        assert_eq!(format_short_utc(ts), "22:56:50.856Z");
    }
}
