//! Simulated time: milliseconds since the epoch (UTC, as everywhere in Triton) and the textual
//! forms the different logs and tools print.

use std::fmt::Write;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Ms = i64;

pub const SECOND: Ms = 1000;
pub const MINUTE: Ms = 60 * SECOND;
pub const HOUR: Ms = 60 * MINUTE;
pub const DAY: Ms = 24 * HOUR;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
}

/// Days since the epoch for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil(ms: Ms) -> Civil {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / HOUR) as u32,
        minute: ((rem % HOUR) / MINUTE) as u32,
        second: ((rem % MINUTE) / SECOND) as u32,
        milli: (rem % SECOND) as u32,
    }
}

pub fn at(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Ms {
    days_from_civil(year, month, day) * DAY
        + i64::from(hour) * HOUR
        + i64::from(minute) * MINUTE
        + i64::from(second) * SECOND
}

/// Appends `2014-01-29T06:33:54.123Z` (bunyan `time`, job timestamps).
pub fn push_iso_ms(out: &mut String, ms: Ms) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
    );
}

pub fn iso_ms(ms: Ms) -> String {
    let mut out = String::with_capacity(24);
    push_iso_ms(&mut out, ms);
    out
}

/// `2014-01-29T06:33:54Z` (qemu's OUTPUT header, zone timestamps).
pub fn iso_s(ms: Ms) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2014-01-29T06:33:54` (logadm's `%FT%H:%M:%S` in rotated names).
pub fn logadm_stamp(ms: Ms) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2014-03-25.23:55:39` (`zpool history`).
pub fn zpool_stamp(ms: Ms) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}.{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Jan  8 06:33:54` (SMF method lines, syslog): month abbreviation, space-padded day.
pub fn smf_stamp(ms: Ms) -> String {
    let c = civil(ms);
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[(c.month - 1) as usize],
        c.day,
        c.hour,
        c.minute,
        c.second
    )
}

/// `20240118T093012Z` (platform stamps, image versions).
pub fn compact_stamp(ms: Ms) -> String {
    let c = civil(ms);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Thu, 18 Jan 2024 09:30:12 GMT` (HTTP `Date` header).
pub fn http_date(ms: Ms) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let c = civil(ms);
    let weekday = DAYS[ms.div_euclid(DAY).rem_euclid(7) as usize];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        weekday,
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Start of the hour containing `ms`.
pub fn hour_floor(ms: Ms) -> Ms {
    ms.div_euclid(HOUR) * HOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_dates() {
        let t = at(2013, 12, 18, 22, 21, 32) + 992;
        assert_eq!(iso_ms(t), "2013-12-18T22:21:32.992Z");
        assert_eq!(iso_s(at(2000, 2, 29, 0, 0, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(smf_stamp(at(2024, 1, 8, 6, 33, 54)), "Jan  8 06:33:54");
        assert_eq!(
            zpool_stamp(at(2014, 3, 25, 23, 55, 39)),
            "2014-03-25.23:55:39"
        );
        assert_eq!(
            http_date(at(2024, 1, 18, 9, 30, 12)),
            "Thu, 18 Jan 2024 09:30:12 GMT"
        );
    }
}
