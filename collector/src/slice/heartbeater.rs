//! Times of the legacy heartbeater's log lines: each sample line starts `[<ISO-8601 UTC>] ` and
//! characters are appended to it (reference §4.1); other lines (`Connected ...`, errors) follow
//! the sample line before them.

use super::Class;

pub(super) fn classify(line: &[u8]) -> Class {
    let stamp = line
        .strip_prefix(b"[")
        .and_then(|rest| memchr_close(rest).map(|end| &rest[..end]))
        .and_then(|raw| std::str::from_utf8(raw).ok())
        .and_then(triton_logs::parse_record_time);
    match stamp {
        Some(time) => Class::Entry(Some(time)),
        None => Class::Follow,
    }
}

/// The closing bracket of a stamp (stamps are short; a long bracket is not one).
fn memchr_close(rest: &[u8]) -> Option<usize> {
    rest.iter().take(40).position(|b| *b == b']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_lines_start_entries_and_others_follow() {
        let want: jiff::Timestamp = "2014-03-25T23:00:01.123Z".parse().expect("ts");
        assert_eq!(
            classify(b"[2014-03-25T23:00:01.123Z] .Z(3,1)PMD...."),
            Class::Entry(Some(want))
        );
        assert_eq!(classify(b"Connected 10.0.0.5:5672"), Class::Follow);
        assert_eq!(classify(b"[not a time] x"), Class::Follow);
        assert_eq!(classify(b""), Class::Follow);
    }
}
