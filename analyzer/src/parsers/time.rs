//! Timestamps as Triton prints them, normalized to RFC 3339 UTC so they sort as text.

use jiff::Timestamp;

/// Parses an ISO-8601/RFC 3339 time such as `2013-12-18T22:21:37.283Z` (bunyan `time`, job
/// `created_at`, chain_results `started_at`).
pub fn parse_iso(text: &str) -> Option<Timestamp> {
    text.trim().parse::<Timestamp>().ok()
}

/// Parses `zpool history`'s `%F.%T` stamp (`2014-03-25.23:55:39`, UTC on a SmartOS global zone).
pub fn parse_zpool(text: &str) -> Option<Timestamp> {
    let (date, time) = text.split_once('.')?;
    parse_iso(&format!("{date}T{time}Z"))
}

/// Seconds from `a` to `b`.
pub fn seconds_between(a: &str, b: &str) -> Option<f64> {
    let a = parse_iso(a)?;
    let b = parse_iso(b)?;
    let span = b.as_millisecond() - a.as_millisecond();
    Some(span as f64 / 1000.0)
}

/// Normalizes any parsable time to `YYYY-MM-DDTHH:MM:SS.sssZ`; unparsable text is kept as is.
pub fn normalize(text: &str) -> String {
    match parse_iso(text) {
        Some(ts) => format_ts(ts),
        None => text.to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn format_ts(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_job_and_zpool_times() {
        assert_eq!(
            seconds_between("2013-12-18T22:23:10.562Z", "2013-12-18T22:28:14.305Z"),
            Some(303.743)
        );
        let z = parse_zpool("2014-03-25.23:55:39").map(format_ts);
        assert_eq!(z.as_deref(), Some("2014-03-25T23:55:39.000Z"));
        assert!(parse_iso("not a time").is_none());
        assert_eq!(
            normalize("2014-02-24T11:08:47.707Z"),
            "2014-02-24T11:08:47.707Z"
        );
    }
}
