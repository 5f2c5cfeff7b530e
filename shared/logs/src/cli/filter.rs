//! Which records to show. Everything here reads located fields of the raw line; nothing is
//! parsed into a tree and nothing is allocated per record.

use jiff::Timestamp;

use crate::jsval::string_to_number;
use crate::record::Record;
use crate::scan::{self, TopLevelFields};

/// Reads `-l LEVEL` as bunyan does: a number, else a level name (any case).
pub fn parse_level(text: &str) -> Result<f64, String> {
    let n = string_to_number(text);
    if !n.is_nan() {
        return Ok(n);
    }
    match text.to_ascii_lowercase().as_str() {
        "trace" => Ok(10.0),
        "debug" => Ok(20.0),
        "info" => Ok(30.0),
        "warn" => Ok(40.0),
        "error" => Ok(50.0),
        "fatal" => Ok(60.0),
        _ => Err(format!("unknown level value: \"{text}\"")),
    }
}

/// The record filters of one run.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    /// `-l`: records with a lower level are hidden (as in bunyan, 0 means no filter).
    pub min_level: Option<f64>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Byte strings every shown record must mention (request id, VM and job UUIDs).
    pub mentions: Vec<Vec<u8>>,
    /// `--field KEY=VALUE` pairs.
    pub fields: Vec<(String, String)>,
    /// `--grep` texts.
    pub grep: Vec<String>,
}

impl Filters {
    /// Whether any filter beyond bunyan's own `-l` is set. Then non-record lines follow the
    /// record they belong to instead of always being shown.
    pub fn extended(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || !self.mentions.is_empty()
            || !self.fields.is_empty()
            || !self.grep.is_empty()
    }

    pub fn accepts(&self, record: &Record<'_>) -> bool {
        if let Some(min) = self.min_level.filter(|m| *m != 0.0 && !m.is_nan()) {
            // `rec.level < opts.level` is false for a NaN level, so such records stay.
            if record.level_number() < min {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(time) = record.time() else {
                return false;
            };
            if self.since.is_some_and(|since| time < since)
                || self.until.is_some_and(|until| time > until)
            {
                return false;
            }
        }
        if !self.mentions.iter().all(|needle| record.mentions(needle)) {
            return false;
        }
        if !self
            .fields
            .iter()
            .all(|(key, value)| field_equals(record, key, value))
        {
            return false;
        }
        self.grep.iter().all(|text| {
            record.mentions(text.as_bytes())
                || record.msg().is_some_and(|msg| msg.contains(text.as_str()))
        })
    }
}

/// Whether field `key` (a top-level name, or a dotted path into nested objects) equals `want`:
/// strings compare decoded, other values by their JSON text.
fn field_equals(record: &Record<'_>, key: &str, want: &str) -> bool {
    let raw = record
        .raw_field(key)
        .or_else(|| nested_field(record.line(), key));
    raw.is_some_and(|raw| match scan::value_as_str(raw) {
        Some(text) => text == want,
        None => raw == want.as_bytes(),
    })
}

fn nested_field<'a>(line: &'a [u8], path: &str) -> Option<&'a [u8]> {
    let mut value = line;
    for part in path.split('.') {
        value = TopLevelFields::new(value)
            .filter(|(k, _)| scan::key_is(k, part))
            .last()
            .map(|(_, v)| v)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"name":"vmapi","hostname":"hn","pid":7,"level":40,"req":{"method":"POST","headers":{"x-request-id":"abc"}},"msg":"provision started","time":"2024-05-01T10:00:00Z","v":0}"#;

    #[test]
    fn level_names_and_numbers() {
        assert_eq!(parse_level("ERROR"), Ok(50.0));
        assert_eq!(parse_level("45"), Ok(45.0));
        assert!(parse_level("loud").is_err());
    }

    #[test]
    fn filters_combine() {
        let rec = Record::parse(LINE).unwrap();
        let mut f = Filters {
            min_level: Some(40.0),
            ..Filters::default()
        };
        assert!(f.accepts(&rec));
        f.min_level = Some(50.0);
        assert!(!f.accepts(&rec));
        f.min_level = None;
        f.mentions = vec![b"abc".to_vec()];
        f.fields = vec![
            ("req.method".into(), "POST".into()),
            ("pid".into(), "7".into()),
        ];
        f.grep = vec!["provision".into()];
        assert!(f.accepts(&rec));
        f.fields.push(("req.method".into(), "GET".into()));
        assert!(!f.accepts(&rec));
    }

    #[test]
    fn time_window_is_inclusive() {
        let rec = Record::parse(LINE).unwrap();
        let at: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let f = Filters {
            since: Some(at),
            until: Some(at),
            ..Filters::default()
        };
        assert!(f.accepts(&rec));
        let later = Filters {
            since: Some(at + jiff::SignedDuration::from_millis(1)),
            ..Filters::default()
        };
        assert!(!later.accepts(&rec));
    }
}
