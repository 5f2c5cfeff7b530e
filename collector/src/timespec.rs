//! Points in time on the command line: RFC 3339 or "this long ago".

use jiff::{SignedDuration, Timestamp};

/// A `--since`/`--until` value before it is pinned to the run's "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    Absolute(Timestamp),
    /// That long before now.
    Ago(SignedDuration),
}

impl TimeSpec {
    /// Accepts RFC 3339 (`2024-01-18T04:00:00Z`, `2024-01-18T04:00:00.123+01:00`) or a relative
    /// duration (`2h`, `90m`, `1d12h`).
    pub fn parse(text: &str) -> Result<TimeSpec, String> {
        if let Ok(ts) = text.trim().parse::<Timestamp>() {
            return Ok(TimeSpec::Absolute(ts));
        }
        parse_relative(text).map(TimeSpec::Ago).map_err(|_| {
            format!(
                "`{text}` is neither RFC 3339 (2024-01-18T04:00:00Z) nor a duration (2h, 90m, 1d)"
            )
        })
    }

    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            TimeSpec::Absolute(ts) => ts,
            TimeSpec::Ago(d) => now.checked_sub(d).unwrap_or(Timestamp::MIN),
        }
    }
}

/// Parses `<n><unit>...` with units `s`, `m`, `h`, `d`, `w` (e.g. `1h30m`).
pub fn parse_relative(text: &str) -> Result<SignedDuration, String> {
    let bad = || format!("`{text}` is not a duration (expected e.g. 30m, 2h, 1d, 1h30m)");
    let mut total: i64 = 0;
    let mut digits = String::new();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_secs: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit_secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(SignedDuration::from_secs(total))
}

/// `2024-01-18T04:00:00Z` style, second precision, as used in the manifest and on command lines.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Compact UTC stamp for file names: `20240118T040000Z`.
pub fn file_stamp(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let abs = TimeSpec::parse("2024-01-18T04:00:00Z").expect("rfc3339");
        assert_eq!(
            abs,
            TimeSpec::Absolute("2024-01-18T04:00:00Z".parse().expect("ts"))
        );
        let now: Timestamp = "2024-01-18T04:00:00Z".parse().expect("ts");
        let rel = TimeSpec::parse("1h30m").expect("relative");
        assert_eq!(rfc3339(rel.resolve(now)), "2024-01-18T02:30:00Z");
        assert!(TimeSpec::parse("yesterday").is_err());
        assert!(parse_relative("5").is_err());
        assert_eq!(parse_relative("2d"), Ok(SignedDuration::from_hours(48)));
    }

    #[test]
    fn formats_stamps() {
        let ts: Timestamp = "2024-01-18T04:05:06.789Z".parse().expect("ts");
        assert_eq!(rfc3339(ts), "2024-01-18T04:05:06Z");
        assert_eq!(file_stamp(ts), "20240118T040506Z");
    }
}
