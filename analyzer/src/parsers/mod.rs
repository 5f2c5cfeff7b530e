//! Parsers: one per source format, text in, typed model out.
//!
//! Parsers never see the whole bundle; each gets one entry (or one JSON value) and keeps only what
//! the facts need, so big logs stream through in bounded memory. Errors name the file and line.

pub mod bunyan_text;
pub mod dapi;
pub mod heartbeater;
pub mod http;
pub mod image_manifest;
pub mod imgadm;
pub mod job;
pub mod service_log;
pub mod svclog;
pub mod svcs;
pub mod time;
pub mod vmadm;
pub mod vmlog;
pub mod zfs_command;
pub mod zfs_list;
pub mod zpool_history;

use std::fmt;

/// A parse failure, with the place it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Path of the entry inside its input.
    pub file: String,
    /// 1-based line, when the format is line-oriented.
    pub line: Option<u64>,
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, line: Option<u64>, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Longest excerpt kept from one log line; longer lines are cut (with a marker) so one runaway
/// record cannot blow up memory or the report.
pub const MAX_EXCERPT: usize = 2048;

/// Cuts `text` to at most `max` bytes on a char boundary, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &text[..end], text.len() - end)
}

/// Every canonical (8-4-4-4-12 hex) uuid in `text`, in order of appearance.
pub fn find_uuids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if is_uuid_at(bytes, i) && (i == 0 || !bytes[i - 1].is_ascii_hexdigit()) {
            out.push(text[i..i + 36].to_ascii_lowercase());
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether `text` is exactly one canonical uuid.
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36 && is_uuid_at(text.as_bytes(), 0)
}

fn is_uuid_at(bytes: &[u8], start: usize) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    if start + 36 > bytes.len() {
        return false;
    }
    (0..36).all(|k| {
        let b = bytes[start + k];
        if DASHES.contains(&k) {
            b == b'-'
        } else {
            b.is_ascii_hexdigit()
        }
    }) && bytes.get(start + 36).is_none_or(|b| !b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_uuids_in_text() {
        let text = "timed out waiting for /var/svc/provisioning to move for a8d2e0fd-1224-468d-ad0b-9411b63ab6d5";
        assert_eq!(
            find_uuids(text),
            vec!["a8d2e0fd-1224-468d-ad0b-9411b63ab6d5"]
        );
        assert!(find_uuids("zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial").len() == 1);
        assert!(find_uuids("no uuid 1234").is_empty());
        assert!(is_uuid("279936e6-5eae-4a87-8a37-dc3e13c36ff9"));
        assert!(!is_uuid("279936e6-5eae-4a87-8a37-dc3e13c36ff9x"));
    }

    #[test]
    fn clip_keeps_char_boundaries() {
        let s = "ééééé";
        let c = clip(s, 3);
        assert!(c.starts_with('é'));
        assert!(c.contains("cut"));
        assert_eq!(clip("short", 10), "short");
    }
}
