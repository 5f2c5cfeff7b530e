//! A Triton service's bunyan log, read with the `triton-logs` engine and kept as the few records
//! the rules need.
//!
//! The engine decides what is a record (bunyan's own rules), keeps line numbers and caps runaway
//! lines; this module only chooses which records to keep and copies out the fields the analyzer
//! joins on. Two kinds of non-record line get a record of their own, because rules place events
//! in time with them: the SMF lines svc.startd writes into a service log
//! (`[ Nov 25 21:00:00 Executing start method (...). ]`) and the bunyan CLI's rendered lines
//! that customers paste (see [`super::bunyan_text`]). Every other non-record line is a
//! continuation of the record before it (a stack trace). A sample record:
//!
//! ```text
//! {"name":"vmapi","hostname":"70b63e05","pid":12121,"component":"heartbeater","level":50,"msg":"Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI","time":"2014-02-24T11:08:47.707Z","v":0}
//! ```

use std::collections::BTreeMap;
use std::io::BufRead;

use serde_json::Value;
use triton_logs::{LineKind, LogReader};

use super::time::format_ts;
use super::{clip, MAX_EXCERPT};

/// Most SMF lines held back while waiting for the first timed record (to learn the year).
const MAX_HELD: usize = 256;

/// Most continuation lines kept per record (stack traces can be long).
const MAX_CONTINUATION: usize = 12;

/// Most distinct `name` values counted per log.
const MAX_NAMES: usize = 64;

/// `name` given to the SMF lines svc.startd interleaves in a service log; they become records
/// of their own so restarts can be placed in time.
pub const SMF_NAME: &str = "smf";

/// One kept log record with the fields the analyzer joins and filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptRecord {
    /// 1-based line of the record's first line.
    pub line: u64,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`, so times sort as text.
    pub time: Option<String>,
    /// 10 trace .. 60 fatal.
    pub level: u8,
    pub name: String,
    pub hostname: Option<String>,
    pub msg: String,
    pub req_id: Option<String>,
    pub vm_uuid: Option<String>,
    pub job_uuid: Option<String>,
    /// The CNAPI task this record is about: cn-agent's task child logs it as `task_id` when it
    /// starts the task (sdc-cn-agent `task_worker.js`, `Instantiating <module>`); CNAPI logs
    /// `Task id = <id>` when it creates the task (sdc-cnapi `lib/models/server.js`).
    pub task_id: Option<String>,
    /// VM brand, when the record carries it (`brand`, VMAPI's `dapiPayload.vm.brand`).
    pub brand: Option<String>,
    /// `err.message` (or `err` as text).
    pub err: Option<String>,
    /// Restify audit fields (`audit: true` records, msg `handled: <status>`).
    pub audit: Option<Audit>,
    /// The raw first line, clipped.
    pub raw: String,
    /// Non-record lines that followed the record (clipped, bounded).
    pub continuation: Vec<String>,
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

impl KeptRecord {
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

/// A bunyan record as the cheap filter sees it, before anything is copied.
pub struct Candidate<'a> {
    pub level: Option<i64>,
    /// The whole raw line.
    pub line: &'a [u8],
}

impl Candidate<'_> {
    /// Whether the raw line contains `needle` (as JSON text).
    pub fn mentions(&self, needle: &str) -> bool {
        memchr::memmem::find(self.line, needle.as_bytes()).is_some()
    }
}

/// What one scan saw, kept or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanSummary {
    pub lines: u64,
    /// Bunyan records (SMF lines not counted).
    pub records: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// `name` fields by count, most common first (the service).
    pub names: Vec<(String, u64)>,
}

/// Streams `reader`. Records for which `interesting` is false are only counted (time, name)
/// and never copied, and their continuation lines are dropped; the others reach `on_record`
/// once their continuation lines are known, with the `snapshot` field's text when there is one
/// (CNAPI's DAPI snapshot). Invalid UTF-8 is replaced, never fatal.
pub fn scan_filtered<R: BufRead>(
    reader: R,
    interesting: impl Fn(&Candidate<'_>) -> bool,
    mut on_record: impl FnMut(KeptRecord, Option<String>),
) -> std::io::Result<ScanSummary> {
    let mut log = LogReader::new(reader);
    let mut state = ScanState::default();
    while let Some(line) = log.next_line()? {
        state.summary.lines = line.info.number;
        let number = line.info.number;
        match (line.kind, line.record) {
            (LineKind::Record, Some(rec)) => {
                state.summary.records += 1;
                let ts = rec.time();
                if let Some(name) = rec.name() {
                    state.note_name(&name);
                }
                if let Some(ts) = ts {
                    state.note_ts(ts);
                }
                let candidate = Candidate {
                    level: rec.level(),
                    line: rec.line(),
                };
                let next = if interesting(&candidate) {
                    // Formatted only for kept records: most records are only counted.
                    let time = ts.map(format_ts);
                    let text = String::from_utf8_lossy(rec.line());
                    let value = rec.to_value().unwrap_or(Value::Null);
                    let snapshot = value
                        .get("snapshot")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    Some((from_value(&value, number, time, &text), snapshot))
                } else {
                    None
                };
                state.finish_pending(&mut on_record);
                state.pending = next;
            }
            _ => {
                let text = String::from_utf8_lossy(line.bytes);
                let text = text.as_ref();
                let last_time = state.last_time();
                if let Some(record) = smf_record(text, number, last_time.as_deref())
                    .or_else(|| super::bunyan_text::parse(text, number))
                {
                    if record.name != SMF_NAME {
                        state.summary.records += 1;
                        state.note_name(&record.name);
                    }
                    if let Some(t) = record.time.clone() {
                        if let Some(ts) = super::time::parse_iso(&t) {
                            state.note_ts(ts);
                        }
                        state.release_held(&t, &mut on_record);
                    }
                    state.finish_pending(&mut on_record);
                    state.pending = Some((record, None));
                } else if let Some((rec, _)) = state.pending.as_mut() {
                    if !text.trim().is_empty() && rec.continuation.len() < MAX_CONTINUATION {
                        rec.continuation.push(clip(text, MAX_EXCERPT));
                    }
                }
            }
        }
    }
    state.finish_pending(&mut on_record);
    let last = state.last_time();
    for mut early in std::mem::take(&mut state.held) {
        if early.time.is_none() {
            early.time = smf_time(&early.raw, last.as_deref());
        }
        on_record(early, None);
    }
    let mut summary = state.summary;
    summary.first_time = state.first_ts.map(format_ts);
    summary.last_time = state.last_ts.map(format_ts);
    let mut names: Vec<(String, u64)> = state.names.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    summary.names = names;
    Ok(summary)
}

/// The scan's running state: the record waiting for its continuation lines, SMF lines waiting
/// for a year, and the counts.
#[derive(Default)]
struct ScanState {
    summary: ScanSummary,
    pending: Option<(KeptRecord, Option<String>)>,
    held: Vec<KeptRecord>,
    names: BTreeMap<String, u64>,
    first_ts: Option<jiff::Timestamp>,
    last_ts: Option<jiff::Timestamp>,
    /// `last_ts` formatted, kept while it does not change (SMF lines ask for it line by line).
    last_text: Option<(jiff::Timestamp, String)>,
}

impl ScanState {
    /// Counts a record's `name` (allocating only for a name not seen before).
    fn note_name(&mut self, name: &str) {
        if let Some(count) = self.names.get_mut(name) {
            *count += 1;
        } else if self.names.len() < MAX_NAMES {
            self.names.insert(name.to_string(), 1);
        }
    }

    fn note_ts(&mut self, ts: jiff::Timestamp) {
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(ts);
    }

    /// The time of the last timed record, as text.
    fn last_time(&mut self) -> Option<String> {
        let ts = self.last_ts?;
        match &self.last_text {
            Some((cached, text)) if *cached == ts => Some(text.clone()),
            _ => {
                let text = format_ts(ts);
                self.last_text = Some((ts, text.clone()));
                Some(text)
            }
        }
    }

    /// SMF lines seen before the first timed record borrow its year.
    fn release_held(&mut self, time: &str, on_record: &mut impl FnMut(KeptRecord, Option<String>)) {
        for mut early in self.held.drain(..) {
            early.time = smf_time(&early.raw, Some(time));
            on_record(early, None);
        }
    }

    /// Hands the pending record on; an SMF line seen before any timed record waits until the
    /// year is known.
    fn finish_pending(&mut self, on_record: &mut impl FnMut(KeptRecord, Option<String>)) {
        let Some((mut done, snapshot)) = self.pending.take() else {
            return;
        };
        if done.name == SMF_NAME && done.time.is_none() {
            let last_time = self.last_time();
            done.time = smf_time(&done.raw, last_time.as_deref());
            if done.time.is_none() && self.held.len() < MAX_HELD {
                self.held.push(done);
                return;
            }
        }
        on_record(done, snapshot);
    }
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Copies the fields the analyzer joins on out of a record's parsed tree.
fn from_value(value: &Value, line: u64, time: Option<String>, raw: &str) -> KeptRecord {
    let err = match value.get("err") {
        Some(Value::Object(e)) => e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| e.get("stack").and_then(Value::as_str).map(str::to_string)),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let is_audit = [value.get("audit"), value.get("_audit")]
        .iter()
        .any(|v| v.and_then(Value::as_bool) == Some(true));
    let audit = is_audit
        .then(|| value.get("req"))
        .flatten()
        .map(|req| audit_of(req, value.get("res")));
    let job_uuid = str_of(value, "job_uuid").or_else(|| {
        value
            .pointer("/job/uuid")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let vm_uuid = str_of(value, "vm_uuid")
        .or_else(|| str_of(value, "uuid").filter(|u| super::is_uuid(u)))
        .or_else(|| str_of(value, "vm").filter(|u| super::is_uuid(u)))
        .or_else(|| {
            value
                .pointer("/dapiPayload/vm/vm_uuid")
                .or_else(|| value.pointer("/vm/uuid"))
                .and_then(Value::as_str)
                .filter(|u| super::is_uuid(u))
                .map(str::to_string)
        })
        .map(|u| u.to_ascii_lowercase());
    KeptRecord {
        line,
        time,
        level: value
            .get("level")
            .and_then(Value::as_u64)
            .map(|l| l.min(255) as u8)
            .unwrap_or(30),
        name: str_of(value, "name").unwrap_or_default(),
        hostname: str_of(value, "hostname"),
        msg: str_of(value, "msg").unwrap_or_default(),
        req_id: str_of(value, "req_id")
            .or_else(|| str_of(value, "x-request-id"))
            .or_else(|| str_of(value, "request_id")),
        vm_uuid,
        job_uuid,
        task_id: str_of(value, "task_id")
            .or_else(|| str_of(value, "msg").and_then(|m| task_id_in_msg(&m)))
            .map(|t| t.to_ascii_lowercase()),
        brand: str_of(value, "brand").or_else(|| {
            value
                .pointer("/dapiPayload/vm/brand")
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
        err,
        audit,
        raw: clip(raw, MAX_EXCERPT),
        continuation: Vec::new(),
    }
}

/// CNAPI's `Task id = <id>` (logged when it creates a task for an agent).
pub(crate) fn task_id_in_msg(msg: &str) -> Option<String> {
    let id = msg.strip_prefix(CNAPI_TASK_ID)?.trim();
    super::is_uuid(id).then(|| id.to_ascii_lowercase())
}

/// How CNAPI announces a task it created (sdc-cnapi `ModelServer.createTaskHandler`).
pub const CNAPI_TASK_ID: &str = "Task id = ";

fn audit_of(req: &Value, res: Option<&Value>) -> Audit {
    Audit {
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
    }
}

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
    super::time::parse_iso(&iso).map(format_ts)
}

fn smf_record(line: &str, line_no: u64, reference: Option<&str>) -> Option<KeptRecord> {
    if !line.starts_with("[ ") {
        return None;
    }
    let (_, msg) = super::svclog::parse_bracket(line)?;
    Some(KeptRecord {
        line: line_no,
        time: smf_time(line, reference),
        level: 30,
        name: SMF_NAME.to_string(),
        hostname: None,
        msg,
        req_id: None,
        vm_uuid: None,
        job_uuid: None,
        task_id: None,
        brand: None,
        err: None,
        audit: None,
        raw: clip(line, MAX_EXCERPT),
        continuation: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(log: &str) -> (ScanSummary, Vec<KeptRecord>) {
        let mut got = Vec::new();
        let summary = scan_filtered(log.as_bytes(), |_| true, |r, _| got.push(r)).expect("scan");
        (summary, got)
    }

    #[test]
    fn uninteresting_records_are_counted_but_not_kept() {
        let log = concat!(
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":30,"msg":"handled: 200","time":"2024-01-18T10:00:00.000Z","v":0}"#,
            "\n    continuation of a skipped record\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":50,"msg":"boom","time":"2024-01-18T10:00:01.000Z","v":0}"#,
            "\n"
        );
        let mut got = Vec::new();
        let s = scan_filtered(
            log.as_bytes(),
            |c| c.level.is_some_and(|v| v >= 40),
            |r, _| got.push(r),
        )
        .expect("scan");
        assert_eq!(s.records, 2);
        assert_eq!(s.lines, 3);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].msg, "boom");
        assert_eq!(got[0].line, 3);
        assert!(got[0].continuation.is_empty());
        assert_eq!(s.first_time.as_deref(), Some("2024-01-18T10:00:00.000Z"));
        assert_eq!(s.names, vec![("vmapi".to_string(), 2)]);
    }

    #[test]
    fn audit_records_smf_lines_and_continuations() {
        let log = concat!(
            "[ Nov 25 21:00:00 Executing start method (\"/opt/smartdc/vmapi/smf/method/vmapi\"). ]\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"audit":true,"level":30,"req":{"method":"POST","url":"/vms"},"res":{"statusCode":409,"body":"{\"code\":\"NoAllocatableServersError\",\"message\":\"No compute resources available: no servers with enough unreserved RAM\"}"},"req_id":"0a1b","msg":"handled: 409","time":"2024-01-18T10:00:00.000Z","v":0}"#,
            "\n",
            "not json at all\n",
            r#"{"name":"vmapi","hostname":"h","pid":1,"level":50,"vm_uuid":"DFE792DC-6d37-4da6-b400-f736c5cbb445","err":{"message":"boom"},"msg":"x","time":"2024-01-18T10:00:01Z","v":0}"#,
            "\n"
        );
        let (s, got) = scan_all(log);
        assert_eq!(s.records, 2);
        assert_eq!(got.len(), 3, "the SMF line is a record of its own");
        assert_eq!(got[0].name, SMF_NAME);
        assert_eq!(got[0].time.as_deref(), Some("2024-11-25T21:00:00.000Z"));
        let audit = got[1].audit.as_ref().expect("audit");
        assert_eq!(audit.status, Some(409));
        assert_eq!(audit.url, "/vms");
        assert!(audit
            .res_body
            .as_deref()
            .unwrap_or("")
            .contains("No compute resources"));
        assert_eq!(got[1].req_id.as_deref(), Some("0a1b"));
        assert_eq!(got[1].continuation, vec!["not json at all"]);
        assert_eq!(got[2].err.as_deref(), Some("boom"));
        assert_eq!(got[2].line, 4);
        assert_eq!(got[2].time.as_deref(), Some("2024-01-18T10:00:01.000Z"));
        assert_eq!(
            got[2].vm_uuid.as_deref(),
            Some("dfe792dc-6d37-4da6-b400-f736c5cbb445")
        );
        assert_eq!(
            smf_time("[ 2019 Apr 10 19:26:43 Enabled. ]", None).as_deref(),
            Some("2019-04-10T19:26:43.000Z")
        );
    }

    #[test]
    fn json_without_bunyan_core_fields_is_a_continuation() {
        let log = concat!(
            r#"{"name":"cnapi","hostname":"h","pid":1,"level":50,"msg":"x","time":"2024-01-18T10:00:01Z","v":0}"#,
            "\n",
            r#"{"msg":"no level or time"}"#,
            "\n"
        );
        let (s, got) = scan_all(log);
        assert_eq!(s.records, 1);
        assert_eq!(got[0].continuation, vec![r#"{"msg":"no level or time"}"#]);
    }

    #[test]
    fn task_ids_from_cn_agent_and_cnapi() {
        // sdc-cn-agent task_worker.js and sdc-cnapi createTaskHandler.
        let log = concat!(
            r#"{"name":"/opt/smartdc/agents/lib/node_modules/cn-agent/lib/backends/smartos/tasks/machine_create","hostname":"B6WLUCN","pid":73144,"req_id":"473f4acd-a901-4001-809f-48156e923d28","level":30,"task_id":"1F7A00BF-a6c2-4423-8f63-0291479a4df8","client_id":null,"msg":"Instantiating /opt/smartdc/agents/lib/node_modules/cn-agent/lib/backends/smartos/tasks/machine_create","time":"2024-05-11T08:57:55.469Z","v":0}"#,
            "\n",
            r#"{"name":"cnapi","hostname":"a6ccc8f8","pid":93490,"req_id":"473f4acd-a901-4001-809f-48156e923d28","level":30,"msg":"Task id = 89a1a45c-655d-4321-a410-74d77df4321d","time":"2024-05-11T08:57:56.067Z","v":0}"#,
            "\n",
            r#"{"name":"cnapi","hostname":"a6ccc8f8","pid":93490,"level":30,"msg":"Task id = not-a-uuid","time":"2024-05-11T08:57:56.067Z","v":0}"#,
            "\n"
        );
        let (_, got) = scan_all(log);
        let ids: Vec<Option<&str>> = got.iter().map(|r| r.task_id.as_deref()).collect();
        assert_eq!(
            ids,
            vec![
                Some("1f7a00bf-a6c2-4423-8f63-0291479a4df8"),
                Some("89a1a45c-655d-4321-a410-74d77df4321d"),
                None
            ]
        );
    }

    #[test]
    fn snapshot_text_reaches_the_consumer() {
        let log = concat!(
            r#"{"name":"cnapi","hostname":"h","pid":1,"level":30,"snapshot":"H4sI","msg":"Snapshot of request","time":"2024-01-18T10:00:01Z","v":0}"#,
            "\n"
        );
        let mut snaps = Vec::new();
        scan_filtered(log.as_bytes(), |_| true, |_, s| snaps.push(s)).expect("scan");
        assert_eq!(snaps, vec![Some("H4sI".to_string())]);
    }

    #[test]
    fn invalid_utf8_and_a_cut_line_do_not_stop_the_scan() {
        let mut log =
            b"{\"name\":\"a\",\"hostname\":\"h\",\"pid\":1,\"level\":50,\"msg\":\"caf".to_vec();
        log.push(0xe9);
        log.extend_from_slice(b"\",\"time\":\"2024-01-18T10:00:01Z\",\"v\":0}\n\xff\xfe\n");
        let mut got = Vec::new();
        let s = scan_filtered(&log[..], |_| true, |r, _| got.push(r)).expect("scan");
        assert_eq!(s.records, 1);
        assert_eq!(got[0].msg, "caf\u{fffd}");
        assert_eq!(got[0].continuation, vec!["\u{fffd}\u{fffd}"]);
    }
}
