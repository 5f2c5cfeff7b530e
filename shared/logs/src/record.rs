//! Deciding whether a line is a bunyan record, and cheap access to the fields filters need.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::jsval;
use crate::scan::{self, TopLevelFields};
use crate::time;

/// Top-level fields the record view locates while classifying the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    V,
    Level,
    Name,
    Hostname,
    Pid,
    Time,
    Msg,
    ReqId,
    XRequestId,
    VmUuid,
    JobUuid,
}

const KNOWN: [(&str, Known); 11] = [
    ("v", Known::V),
    ("level", Known::Level),
    ("name", Known::Name),
    ("hostname", Known::Hostname),
    ("pid", Known::Pid),
    ("time", Known::Time),
    ("msg", Known::Msg),
    ("req_id", Known::ReqId),
    ("x-request-id", Known::XRequestId),
    ("vm_uuid", Known::VmUuid),
    ("job_uuid", Known::JobUuid),
];

/// The core fields bunyan requires (each present and not `null`) for a line to be a record.
const CORE: [Known; 7] = [
    Known::V,
    Known::Level,
    Known::Name,
    Known::Hostname,
    Known::Pid,
    Known::Time,
    Known::Msg,
];

/// Where the known fields of a record line are (see [`Record::spans`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSpans([Option<(u32, u32)>; KNOWN.len()]);

/// A bunyan record borrowed from its line: field values are located, not parsed.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    line: &'a [u8],
    spans: [Option<(u32, u32)>; KNOWN.len()],
}

impl<'a> Record<'a> {
    /// Classifies `line`: `Some` when it is a bunyan record by the CLI's rules (starts with `{`,
    /// is valid JSON, has non-null `v level name hostname pid time msg`), else `None`.
    pub fn parse(line: &'a [u8]) -> Option<Record<'a>> {
        // Field spans are 32-bit; no line the readers hand out comes near that.
        if line.first() != Some(&b'{') || u32::try_from(line.len()).is_err() {
            return None;
        }
        let record = Self::locate(line)?;
        CORE.iter()
            .all(|k| record.raw(*k).is_some_and(|v| v != b"null"))
            .then_some(record)
    }

    /// The located fields, to rebuild the view later without scanning again.
    pub(crate) fn spans(&self) -> FieldSpans {
        FieldSpans(self.spans)
    }

    /// Rebuilds a view from [`Record::spans`] of the same line.
    pub(crate) fn from_spans(line: &'a [u8], spans: FieldSpans) -> Record<'a> {
        Record {
            line,
            spans: spans.0,
        }
    }

    /// Validates the line and locates the known fields in one pass (`None` when not JSON).
    fn locate(line: &'a [u8]) -> Option<Record<'a>> {
        let mut spans = [None; KNOWN.len()];
        let valid = scan::validate_object(line, |field| {
            let key = &line[field.key.0..field.key.1];
            let known = if field.key_escaped {
                KNOWN.iter().position(|(name, _)| scan::key_is(key, name))
            } else {
                KNOWN.iter().position(|(name, _)| name.as_bytes() == key)
            };
            // Later duplicates win, as with JSON.parse.
            if let Some(i) = known {
                spans[i] = Some((field.value.0 as u32, field.value.1 as u32));
            }
        });
        valid.then_some(Record { line, spans })
    }

    fn raw(&self, which: Known) -> Option<&'a [u8]> {
        let i = KNOWN.iter().position(|(_, k)| *k == which)?;
        self.spans[i].map(|(s, e)| &self.line[s as usize..e as usize])
    }

    /// The whole line the record was read from.
    pub fn line(&self) -> &'a [u8] {
        self.line
    }

    /// The raw JSON text of any top-level field (last occurrence), found by a scan of the line.
    pub fn raw_field(&self, key: &str) -> Option<&'a [u8]> {
        if let Some((_, known)) = KNOWN.iter().find(|(name, _)| *name == key) {
            return self.raw(*known);
        }
        TopLevelFields::new(self.line)
            .filter(|(k, _)| scan::key_is(k, key))
            .last()
            .map(|(_, v)| v)
    }

    /// A top-level field as text: strings decoded, other values as their JSON text.
    pub fn field_text(&self, key: &str) -> Option<Cow<'a, str>> {
        let raw = self.raw_field(key)?;
        scan::value_as_str(raw).or_else(|| Some(String::from_utf8_lossy(raw)))
    }

    fn text(&self, which: Known) -> Option<Cow<'a, str>> {
        self.raw(which).and_then(scan::value_as_str)
    }

    /// Record time (`time` string, or epoch milliseconds when a number).
    pub fn time(&self) -> Option<Timestamp> {
        let raw = self.raw(Known::Time)?;
        match scan::value_as_str(raw) {
            Some(text) => time::parse_record_time(&text),
            None => {
                time::time_from_epoch_millis(std::str::from_utf8(raw).ok()?.parse::<f64>().ok()?)
            }
        }
    }

    /// The level as JavaScript's `Number(rec.level)` sees it (NaN when not numeric), which is
    /// what `-l` compares against.
    pub fn level_number(&self) -> f64 {
        let Some(raw) = self.raw(Known::Level) else {
            return f64::NAN;
        };
        if let Some(text) = scan::value_as_str(raw) {
            return jsval::string_to_number(&text);
        }
        match raw {
            b"true" => 1.0,
            b"false" | b"null" => 0.0,
            _ => std::str::from_utf8(raw)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(f64::NAN),
        }
    }

    /// The level when it is an integer (10 trace … 60 fatal).
    pub fn level(&self) -> Option<i64> {
        let n = self.level_number();
        (n.is_finite() && n.fract() == 0.0).then_some(n as i64)
    }

    pub fn name(&self) -> Option<Cow<'a, str>> {
        self.text(Known::Name)
    }

    pub fn hostname(&self) -> Option<Cow<'a, str>> {
        self.text(Known::Hostname)
    }

    pub fn pid(&self) -> Option<i64> {
        std::str::from_utf8(self.raw(Known::Pid)?)
            .ok()?
            .parse()
            .ok()
    }

    pub fn msg(&self) -> Option<Cow<'a, str>> {
        self.text(Known::Msg)
    }

    /// The request id: restify's and Triton agents' top-level `req_id`, else `x-request-id`.
    pub fn req_id(&self) -> Option<Cow<'a, str>> {
        self.text(Known::ReqId)
            .or_else(|| self.text(Known::XRequestId))
    }

    /// Top-level `vm_uuid` (VMAPI, vm-agent and VM.js records).
    pub fn vm_uuid(&self) -> Option<Cow<'a, str>> {
        self.text(Known::VmUuid)
    }

    /// Top-level `job_uuid` (workflow runner records).
    pub fn job_uuid(&self) -> Option<Cow<'a, str>> {
        self.text(Known::JobUuid)
    }

    /// Whether the line mentions `needle` anywhere (any field, any depth).
    pub fn mentions(&self, needle: &[u8]) -> bool {
        needle.is_empty() || memchr::memmem::find(self.line, needle).is_some()
    }

    /// Full parse, for rendering: a JSON tree in the record's own key order (JavaScript's order).
    /// Invalid UTF-8 is read as U+FFFD, as the bunyan CLI's decoder does.
    pub fn to_value(&self) -> Option<serde_json::Value> {
        let text = String::from_utf8_lossy(self.line);
        let mut value: serde_json::Value = serde_json::from_str(&text)
            .ok()
            .or_else(|| crate::jsparse::parse_lenient(&text))?;
        jsval::normalize_key_order(&mut value);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"name":"vmapi","hostname":"hn","pid":7,"level":50,"req_id":"r-1","vm_uuid":"vm-1","msg":"boom","time":"2024-05-01T10:00:00.123Z","v":0}"#;

    #[test]
    fn core_fields_are_required_and_not_null() {
        assert!(Record::parse(LINE).is_some());
        assert!(Record::parse(br#"{"hi": "there"}"#).is_none());
        let null_msg = br#"{"name":"a","hostname":"h","pid":1,"level":30,"msg":null,"time":"2024-05-01T10:00:00Z","v":0}"#;
        assert!(Record::parse(null_msg).is_none());
        assert!(Record::parse(b"").is_none());
        assert!(Record::parse(b" {}").is_none());
        assert!(Record::parse(br#"{"name":"a""#).is_none());
    }

    #[test]
    fn fields_are_read_without_a_tree() {
        let rec = Record::parse(LINE).unwrap();
        assert_eq!(rec.level(), Some(50));
        assert_eq!(rec.name().as_deref(), Some("vmapi"));
        assert_eq!(rec.hostname().as_deref(), Some("hn"));
        assert_eq!(rec.pid(), Some(7));
        assert_eq!(rec.msg().as_deref(), Some("boom"));
        assert_eq!(rec.req_id().as_deref(), Some("r-1"));
        assert_eq!(rec.vm_uuid().as_deref(), Some("vm-1"));
        assert_eq!(rec.job_uuid(), None);
        let want: Timestamp = "2024-05-01T10:00:00.123Z".parse().unwrap();
        assert_eq!(rec.time(), Some(want));
        assert_eq!(rec.field_text("v").as_deref(), Some("0"));
    }

    #[test]
    fn x_request_id_is_the_fallback_request_id() {
        let line = br#"{"name":"wf","hostname":"h","pid":1,"level":30,"x-request-id":"abc","msg":"m","time":"2024-05-01T10:00:00Z","v":0}"#;
        assert_eq!(
            Record::parse(line).unwrap().req_id().as_deref(),
            Some("abc")
        );
    }
}
