//! Bunyan records, one JSON object per line (trentm/node-bunyan README), with the non-JSON lines
//! SMF interleaves (method output, stack traces) kept as continuation of the previous record. The
//! `bunyan` CLI's pretty form is read too, because customers paste it:
//!
//! ```text
//! {"name":"vmapi","hostname":"70b63e05","pid":12121,"component":"heartbeater","level":50,"msg":"Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI","time":"2014-02-24T11:08:47.707Z","v":0}
//! [2014-02-24T11:08:47.707Z] ERROR: vmapi/heartbeater/12121 on 70b63e05-ebc9-462d-b06a-aa96e78d701f: Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI (vm_uuid=dfe792dc-6d37-4da6-b400-f736c5cbb445, server=44454c4c-3000-1052-8043-b3c04f485331)
//!     InternalError: VM.load error: zoneadm: dfe792dc-6d37-4da6-b400-f736c5cbb445: No such zone configured
//! ```
//!
//! This is a minimal streaming reader: it yields one [`Record`] at a time and never holds more
//! than the current record.

use std::io::BufRead;

use serde_json::Value;

use super::{clip, MAX_EXCERPT};

/// Most SMF lines held back while waiting for the first timed record (to learn the year).
const MAX_HELD: usize = 256;

/// Most continuation lines kept per record (stack traces can be long).
const MAX_CONTINUATION: usize = 12;

/// One log record with the fields the analyzer joins and filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line of the record's first line.
    pub line: u64,
    pub time: Option<String>,
    /// 10 trace .. 60 fatal.
    pub level: u8,
    pub name: String,
    pub hostname: Option<String>,
    pub msg: String,
    pub req_id: Option<String>,
    pub vm_uuid: Option<String>,
    pub job_uuid: Option<String>,
    /// VM brand, when the record carries it (`brand`, VMAPI's `dapiPayload.vm.brand`).
    pub brand: Option<String>,
    /// `err.message` (or `err` as text).
    pub err: Option<String>,
    /// Restify audit fields (`audit: true` records, msg `handled: <status>`).
    pub audit: Option<Audit>,
    /// The raw first line, clipped.
    pub raw: String,
    /// Non-JSON lines that followed the record (clipped, bounded).
    pub continuation: Vec<String>,
    /// The parsed record, for the few consumers that need other fields (DAPI `snapshot`).
    pub value: Option<Value>,
}

/// A restify audit record's request and response.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// Response body as logged (a string of JSON when restify formatted it).
    pub res_body: Option<String>,
}

impl Record {
    /// Text of the record for matching: msg, err and continuation.
    pub fn text(&self) -> String {
        let mut out = self.msg.clone();
        if let Some(err) = &self.err {
            out.push('\n');
            out.push_str(err);
        }
        for line in &self.continuation {
            out.push('\n');
            out.push_str(line);
        }
        out
    }

    /// The excerpt shown as evidence: the raw line and its continuation.
    pub fn excerpt(&self) -> String {
        let mut out = self.raw.clone();
        for line in &self.continuation {
            out.push('\n');
            out.push_str(line);
        }
        out
    }
}

/// Numeric level from bunyan's names (pretty form).
pub fn level_from_name(name: &str) -> Option<u8> {
    Some(match name.trim() {
        "TRACE" => 10,
        "DEBUG" => 20,
        "INFO" => 30,
        "WARN" => 40,
        "ERROR" => 50,
        "FATAL" => 60,
        _ => return None,
    })
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether a line is a bunyan JSON record (has the core fields).
pub fn is_json_record(value: &Value) -> bool {
    value.get("msg").is_some()
        && value.get("level").is_some_and(Value::is_number)
        && value.get("time").is_some()
        && value.get("name").is_some()
}

fn record_from_json(value: Value, line: u64, raw: &str) -> Record {
    let err = match value.get("err") {
        Some(Value::Object(e)) => e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| e.get("stack").and_then(Value::as_str).map(str::to_string)),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let audit = if value.get("audit").and_then(Value::as_bool) == Some(true)
        || value.get("_audit").and_then(Value::as_bool) == Some(true)
    {
        let req = value.get("req");
        let res = value.get("res");
        req.map(|req| Audit {
            method: str_of(req, "method").unwrap_or_default(),
            url: str_of(req, "url").unwrap_or_default(),
            status: res
                .and_then(|r| r.get("statusCode"))
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok()),
            res_body: res.and_then(|r| r.get("body")).and_then(|b| match b {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }),
        })
    } else {
        None
    };
    let job_uuid = str_of(&value, "job_uuid").or_else(|| {
        value
            .get("job")
            .and_then(|j| j.get("uuid"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    Record {
        line,
        time: str_of(&value, "time"),
        level: value
            .get("level")
            .and_then(Value::as_u64)
            .map(|l| l.min(255) as u8)
            .unwrap_or(30),
        name: str_of(&value, "name").unwrap_or_default(),
        hostname: str_of(&value, "hostname"),
        msg: str_of(&value, "msg").unwrap_or_default(),
        req_id: str_of(&value, "req_id")
            .or_else(|| str_of(&value, "x-request-id"))
            .or_else(|| str_of(&value, "request_id")),
        vm_uuid: str_of(&value, "vm_uuid")
            .or_else(|| str_of(&value, "uuid").filter(|u| super::is_uuid(u)))
            .or_else(|| str_of(&value, "vm").filter(|u| super::is_uuid(u)))
            .or_else(|| {
                value
                    .pointer("/dapiPayload/vm/vm_uuid")
                    .or_else(|| value.pointer("/vm/uuid"))
                    .and_then(Value::as_str)
                    .filter(|u| super::is_uuid(u))
                    .map(str::to_string)
            })
            .map(|u| u.to_ascii_lowercase()),
        job_uuid,
        brand: str_of(&value, "brand").or_else(|| {
            value
                .pointer("/dapiPayload/vm/brand")
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
        err,
        audit,
        raw: clip(raw, MAX_EXCERPT),
        continuation: Vec::new(),
        value: Some(value),
    }
}

/// Parses the `bunyan` CLI's pretty form:
/// `[<time>] <LEVEL>: <name>/<pid> on <host>: <msg> (<k=v>, ...)`.
pub fn parse_pretty(line: &str, line_no: u64) -> Option<Record> {
    let rest = line.strip_prefix('[')?;
    let (time, rest) = rest.split_once("] ")?;
    super::time::parse_iso(time)?;
    let (level_name, rest) = rest.split_once(':')?;
    let level = level_from_name(level_name)?;
    let rest = rest.trim_start();
    let (who, rest) = rest.split_once(" on ")?;
    let (host, msg) = rest.split_once(": ").unwrap_or((rest, ""));
    let name = who.split('/').next().unwrap_or(who).to_string();
    let mut vm_uuid = None;
    let mut req_id = None;
    let mut job_uuid = None;
    if let Some(open) = msg.rfind(" (") {
        if msg.ends_with(')') {
            for pair in msg[open + 2..msg.len() - 1].split(", ") {
                if let Some((k, v)) = pair.split_once('=') {
                    match k {
                        "vm_uuid" => vm_uuid = Some(v.to_string()),
                        "req_id" => req_id = Some(v.to_string()),
                        "job_uuid" => job_uuid = Some(v.to_string()),
                        _ => {}
                    }
                }
            }
        }
    }
    Some(Record {
        line: line_no,
        time: Some(time.to_string()),
        level,
        name,
        hostname: Some(host.to_string()),
        msg: msg.to_string(),
        req_id,
        vm_uuid,
        job_uuid,
        brand: None,
        err: None,
        audit: None,
        raw: clip(line, MAX_EXCERPT),
        continuation: Vec::new(),
        value: None,
    })
}

/// `name` given to the SMF lines (`[ Dec 18 09:00:28 Executing start method (...). ]`) that
/// svc.startd interleaves in a service log; they become records of their own so restarts can be
/// placed in time.
pub const SMF_NAME: &str = "smf";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The time of an SMF line, with the year taken from the line (newer illumos) or from a nearby
/// record's time.
pub fn smf_time(line: &str, reference: Option<&str>) -> Option<String> {
    let (time, _) = super::svclog::parse_bracket(line)?;
    let words: Vec<&str> = time.split_whitespace().collect();
    let (year, month, day, clock) = match words.as_slice() {
        [y, m, d, c] => (y.to_string(), *m, *d, *c),
        [m, d, c] => (reference?.get(..4)?.to_string(), *m, *d, *c),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let day: u32 = day.parse().ok()?;
    let iso = format!("{year}-{month:02}-{day:02}T{clock}Z");
    super::time::parse_iso(&iso).map(super::time::format_ts)
}

fn smf_record(line: &str, line_no: u64, reference: Option<&str>) -> Option<Record> {
    let (_, msg) = super::svclog::parse_bracket(line)?;
    Some(Record {
        line: line_no,
        time: smf_time(line, reference),
        level: 30,
        name: SMF_NAME.to_string(),
        hostname: None,
        msg,
        req_id: None,
        vm_uuid: None,
        job_uuid: None,
        brand: None,
        err: None,
        audit: None,
        raw: clip(line, MAX_EXCERPT),
        continuation: Vec::new(),
        value: None,
    })
}

/// Statistics of one scanned log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanSummary {
    pub lines: u64,
    pub records: u64,
    /// Lines that were neither a record nor a continuation of one (before the first record).
    pub stray_lines: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Most common `name` field (the service).
    pub names: Vec<(String, u64)>,
}

/// Streams `reader`, calling `on_record` for every record once its continuation lines are known.
/// Invalid UTF-8 is replaced, never fatal.
pub fn scan<R: BufRead>(reader: R, on_record: impl FnMut(Record)) -> std::io::Result<ScanSummary> {
    scan_filtered(reader, |_| true, on_record)
}

/// The string value of `"key":"..."` in a raw JSON line, found without parsing the line (for the
/// fast path over records nobody needs). Escaped quotes end the value early; good enough for
/// times and names.
pub fn quick_str<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":\"");
    let start = line.find(&pattern)? + pattern.len();
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// The numeric `"level":NN` of a raw bunyan line, without parsing it.
pub fn quick_level(line: &str) -> Option<u8> {
    let start = line.find("\"level\":")? + 8;
    let digits: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Like [`scan`], but JSON lines for which `interesting(line)` is false are only counted (time,
/// name) and never parsed; their continuation lines are dropped. This keeps big logs cheap.
pub fn scan_filtered<R: BufRead>(
    mut reader: R,
    interesting: impl Fn(&str) -> bool,
    mut on_record: impl FnMut(Record),
) -> std::io::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let mut pending: Option<Record> = None;
    // True after a skipped record: its continuation lines are not kept either.
    let mut skipping = false;
    let mut buf = Vec::new();
    let mut names: std::collections::BTreeMap<String, u64> = Default::default();
    let mut last_time: Option<String> = None;
    let mut held: Vec<Record> = Vec::new();
    let note_name = |names: &mut std::collections::BTreeMap<String, u64>, name: &str| {
        if name != SMF_NAME && (names.len() < 64 || names.contains_key(name)) {
            *names.entry(name.to_string()).or_default() += 1;
        }
    };
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        summary.lines += 1;
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.starts_with('{') && !interesting(line) {
            if let (Some(time), Some(name)) = (quick_str(line, "time"), quick_str(line, "name")) {
                summary.records += 1;
                note_name(&mut names, name);
                if summary.first_time.is_none() {
                    summary.first_time = Some(time.to_string());
                }
                summary.last_time = Some(time.to_string());
                last_time = Some(time.to_string());
                if let Some(done) = pending.take() {
                    emit(done, last_time.as_deref(), &mut held, &mut on_record);
                }
                skipping = true;
                continue;
            }
        }
        let parsed = if line.starts_with('{') {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(is_json_record)
                .map(|v| record_from_json(v, summary.lines, line))
        } else if line.starts_with("[ ") {
            smf_record(line, summary.lines, last_time.as_deref())
        } else if line.starts_with('[') {
            parse_pretty(line, summary.lines)
        } else {
            None
        };
        match parsed {
            Some(record) => {
                skipping = false;
                if record.name != SMF_NAME {
                    summary.records += 1;
                }
                if let Some(t) = record.time.clone() {
                    // SMF lines before the first timed record borrow its year.
                    for mut early in held.drain(..) {
                        early.time = smf_time(&early.raw, Some(&t));
                        on_record(early);
                    }
                    if summary.first_time.is_none() {
                        summary.first_time = Some(t.clone());
                    }
                    summary.last_time = Some(t.clone());
                    last_time = Some(t);
                }
                note_name(&mut names, &record.name);
                if let Some(done) = pending.replace(record) {
                    emit(done, last_time.as_deref(), &mut held, &mut on_record);
                }
            }
            None => match pending.as_mut() {
                Some(rec) if !line.trim().is_empty() => {
                    if rec.continuation.len() < MAX_CONTINUATION {
                        rec.continuation.push(clip(line, MAX_EXCERPT));
                    }
                }
                Some(_) => {}
                None if skipping => {}
                None => summary.stray_lines += 1,
            },
        }
    }
    if let Some(done) = pending.take() {
        emit(done, last_time.as_deref(), &mut held, &mut on_record);
    }
    for mut early in held {
        if early.time.is_none() {
            early.time = smf_time(&early.raw, last_time.as_deref());
        }
        on_record(early);
    }
    let mut names: Vec<(String, u64)> = names.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    summary.names = names;
    Ok(summary)
}

/// Hands a finished record on; an SMF line seen before any timed record waits in `held` until
/// the year is known.
fn emit(
    mut done: Record,
    last_time: Option<&str>,
    held: &mut Vec<Record>,
    on_record: &mut impl FnMut(Record),
) {
    if done.name == SMF_NAME && done.time.is_none() {
        done.time = smf_time(&done.raw, last_time);
        if done.time.is_none() && held.len() < MAX_HELD {
            held.push(done);
            return;
        }
    }
    on_record(done);
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE_PRETTY: &str = "[2014-02-24T11:08:47.707Z] ERROR: vmapi/heartbeater/12121 on 70b63e05-ebc9-462d-b06a-aa96e78d701f: Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI (vm_uuid=dfe792dc-6d37-4da6-b400-f736c5cbb445, server=44454c4c-3000-1052-8043-b3c04f485331)\n    InternalError: VM.load error: zoneadm: dfe792dc-6d37-4da6-b400-f736c5cbb445: No such zone configured\n";

    #[test]
    fn filtered_scan_counts_but_skips_uninteresting_records() {
        let log = concat!(
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":30,"msg":"handled: 200","time":"2024-01-18T10:00:00.000Z","v":0}"#,
            "\n    continuation of a skipped record\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":50,"msg":"boom","time":"2024-01-18T10:00:01.000Z","v":0}"#,
            "\n"
        );
        let mut got = Vec::new();
        let s = scan_filtered(
            log.as_bytes(),
            |l| quick_level(l).is_some_and(|v| v >= 40),
            |r| got.push(r),
        )
        .expect("scan");
        assert_eq!(s.records, 2);
        assert_eq!(s.stray_lines, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].msg, "boom");
        assert_eq!(got[0].line, 3);
        assert_eq!(s.first_time.as_deref(), Some("2024-01-18T10:00:00.000Z"));
        assert_eq!(quick_str(log, "name"), Some("vmapi"));
    }

    #[test]
    fn pretty_record_with_continuation() {
        let mut got = Vec::new();
        let s = scan(GUIDE_PRETTY.as_bytes(), |r| got.push(r)).expect("scan");
        assert_eq!(s.records, 1);
        let r = &got[0];
        assert_eq!(r.level, 50);
        assert_eq!(r.name, "vmapi");
        assert_eq!(
            r.vm_uuid.as_deref(),
            Some("dfe792dc-6d37-4da6-b400-f736c5cbb445")
        );
        assert!(r.text().contains("No such zone configured"));
        assert!(r.msg.contains("Error talking to CNAPI"));
    }

    #[test]
    fn json_records_audit_and_stray_lines() {
        let log = concat!(
            "[ Nov 25 21:00:00 Executing start method (\"/opt/smartdc/vmapi/smf/method/vmapi\"). ]\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"audit":true,"level":30,"req":{"method":"POST","url":"/vms"},"res":{"statusCode":409,"body":"{\"code\":\"NoAllocatableServersError\",\"message\":\"No compute resources available: no servers with enough unreserved RAM\"}"},"req_id":"0a1b","msg":"handled: 409","time":"2024-01-18T10:00:00.000Z","v":0}"#,
            "\n",
            "not json at all\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":50,"vm_uuid":"dfe792dc-6d37-4da6-b400-f736c5cbb445","err":{"message":"boom"},"msg":"x","time":"2024-01-18T10:00:01.000Z","v":0}"#,
            "\n"
        );
        let mut got = Vec::new();
        let s = scan(log.as_bytes(), |r| got.push(r)).expect("scan");
        assert_eq!(s.records, 2);
        assert_eq!(s.stray_lines, 0);
        assert_eq!(got.len(), 3, "the SMF line is a record of its own");
        assert_eq!(got[0].name, SMF_NAME);
        assert_eq!(got[0].time.as_deref(), Some("2024-11-25T21:00:00.000Z"));
        let got: Vec<Record> = got.into_iter().skip(1).collect();
        let audit = got[0].audit.as_ref().expect("audit");
        assert_eq!(audit.status, Some(409));
        assert_eq!(audit.url, "/vms");
        assert!(audit
            .res_body
            .as_deref()
            .unwrap_or("")
            .contains("No compute resources"));
        assert_eq!(got[0].continuation, vec!["not json at all"]);
        assert_eq!(got[1].err.as_deref(), Some("boom"));
        assert_eq!(got[1].line, 4);
        assert_eq!(
            smf_time("[ 2019 Apr 10 19:26:43 Enabled. ]", None).as_deref(),
            Some("2019-04-10T19:26:43.000Z")
        );
        assert_eq!(s.first_time.as_deref(), Some("2024-01-18T10:00:00.000Z"));
    }
}
