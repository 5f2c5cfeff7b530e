//! Failed `POST /vms` requests in the vmapi logs. From Triton 8.2 on, allocation, NIC and
//! validation failures happen inside VMAPI's `POST /vms` and create no job (reference §0 fact 1,
//! §1.2), so the list of failed jobs misses them: the only trace is restify's audit record in the
//! vmapi log (`req.method` POST, `req.url` `/vms`, `res.statusCode` >= 400) and the records
//! logged under the same `req_id` (the `Payload sent to DAPI` record names the VM).

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;
use triton_logs::{LogReader, Record};

use crate::confine::Confinement;
use crate::context::FoundZone;
use crate::rotated::RotatedName;
use crate::sources::hn_core_zones::CORE_ZONES;
use crate::window::TimeWindow;

/// Failures kept at most (a broken datacenter can fail thousands of requests in a day; the
/// first ones tell the story and the manifest stays readable).
const MAX_FAILURES: usize = 50;
/// Bytes read at most over all vmapi logs (a day of a busy vmapi is a few hundred MB).
const MAX_SCAN_BYTES: u64 = 8 << 30;
/// Recent `req_id` → VM uuid hints kept for failures logged after the records naming the VM.
const MAX_HINTS: usize = 4096;
/// Longest message kept in a note.
const MAX_MESSAGE_CHARS: usize = 400;

/// One failed `POST /vms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPost {
    /// When the audit record was logged (the answer was sent).
    pub time: Timestamp,
    pub req_id: String,
    pub status: u16,
    /// `<restCode>: <message>` with validation errors appended.
    pub message: String,
    /// The VM uuid, when the request or a record with the same `req_id` names it.
    pub vm_uuid: Option<String>,
}

impl FailedPost {
    /// The manifest note for this failure.
    pub fn note(&self) -> String {
        let vm = self
            .vm_uuid
            .as_deref()
            .map(|v| format!(" (vm {v})"))
            .unwrap_or_default();
        format!(
            "failed POST /vms without job: {} {} {} {}{vm}",
            self.time, self.req_id, self.status, self.message
        )
    }
}

/// What a search of the vmapi logs found.
#[derive(Debug, Default)]
pub struct FailedPostSearch {
    /// Oldest first, one per `req_id`.
    pub found: Vec<FailedPost>,
    /// Failures seen beyond [`MAX_FAILURES`].
    pub not_kept: usize,
    /// Log files read.
    pub files: usize,
    /// Why parts of the logs could not be read (file and reason).
    pub problems: Vec<String>,
}

/// Searches the vmapi SMF logs and the rotated `vmapi_*` logs overlapping `window` of every
/// vmapi zone for failed `POST /vms` requests logged inside `window`.
pub fn search(host_root: &Path, zones: &[FoundZone], window: &TimeWindow) -> FailedPostSearch {
    let mut result = FailedPostSearch::default();
    let Some(logs) = CORE_ZONES.iter().find(|z| z.role == "vmapi") else {
        return result;
    };
    let mut scan = Scan::new(window.clone());
    for zone in zones.iter().filter(|z| z.role == logs.role) {
        let root = format!("/zones/{}/root", zone.uuid);
        let confinement = Confinement::zone(host_root, &root);
        let mut files = Vec::new();
        let smf_dir = format!("{root}/var/svc/log");
        match confinement.list_dir(&smf_dir) {
            Ok(entries) => files.extend(
                entries
                    .into_iter()
                    .filter(|(name, meta)| {
                        meta.is_file() && logs.smf_prefixes.iter().any(|p| name.starts_with(p))
                    })
                    .map(|(name, _)| format!("{smf_dir}/{name}")),
            ),
            Err(e) => result.problems.push(format!("{smf_dir}: {e}")),
        }
        let upload_dir = format!("{root}/var/log/sdc/upload");
        if let Ok(entries) = confinement.list_dir(&upload_dir) {
            files.extend(
                entries
                    .into_iter()
                    .filter(|(name, meta)| {
                        meta.is_file() && is_rotated_in(name, logs.rotated, window)
                    })
                    .map(|(name, _)| format!("{upload_dir}/{name}")),
            );
        }
        for path in files {
            if scan.bytes_read >= MAX_SCAN_BYTES {
                result.problems.push(format!(
                    "{path}: not searched, {} of vmapi logs already read",
                    crate::size::human(MAX_SCAN_BYTES)
                ));
                continue;
            }
            let opened = confinement
                .open_file(&path)
                .map_err(|e| e.to_string())
                .and_then(|(file, _)| {
                    enter_at_window(file, window)
                        .and_then(triton_logs::input::decompress_if_gzip)
                        .map_err(|e| e.to_string())
                });
            match opened {
                Ok(input) => {
                    result.files += 1;
                    if let Err(e) = scan.read(input) {
                        result.problems.push(format!("{path}: {e}"));
                    }
                }
                Err(e) => result.problems.push(format!("{path}: {e}")),
            }
        }
    }
    let (found, not_kept) = scan.finish();
    result.found = found;
    result.not_kept = not_kept;
    result
}

/// Positions a plain log near the start of `window` (bisection on record times: a week of
/// VMAPI log can be tens of GiB and only the window matters); a gzip log is read from its start.
fn enter_at_window(mut file: std::fs::File, window: &TimeWindow) -> std::io::Result<std::fs::File> {
    use std::io::{Read, Seek, SeekFrom};
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let start = if gzip {
        0
    } else {
        triton_logs::seek::start_offset_in(&mut file, window.since)?
    };
    file.seek(SeekFrom::Start(start))?;
    Ok(file)
}

/// A logadm-rotated file of one of `names` (compressed or not) whose hour overlaps `window`.
fn is_rotated_in(file: &str, names: &[&str], window: &TimeWindow) -> bool {
    let plain = file.strip_suffix(".gz").unwrap_or(file);
    RotatedName::parse(plain)
        .is_some_and(|r| names.contains(&r.name.as_str()) && r.overlaps(window))
}

/// How far past the window's end a log is still read (records are only roughly in order).
const READ_PAST_UNTIL: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// The search over one or more logs.
pub struct Scan {
    window: TimeWindow,
    failures: Vec<FailedPost>,
    not_kept: usize,
    /// Recent records naming a VM: `(req_id, vm uuid)`, oldest first.
    hints: VecDeque<(String, String)>,
    bytes_read: u64,
}

impl Scan {
    pub fn new(window: TimeWindow) -> Scan {
        Scan {
            window,
            failures: Vec::new(),
            not_kept: 0,
            hints: VecDeque::new(),
            bytes_read: 0,
        }
    }

    /// Reads one log (records of other requests, other services and non-record lines are
    /// skipped).
    pub fn read<R: BufRead>(&mut self, input: R) -> std::io::Result<()> {
        let mut reader = LogReader::new(input);
        let start = self.bytes_read;
        while let Some(line) = reader.next_line()? {
            self.bytes_read = start + line.info.offset + line.bytes.len() as u64;
            if self.bytes_read > MAX_SCAN_BYTES {
                return Err(std::io::Error::other(format!(
                    "search stopped after {} of vmapi logs",
                    crate::size::human(MAX_SCAN_BYTES)
                )));
            }
            let Some(record) = line.record else {
                continue;
            };
            // Logs are in time order: records well past the window end the search of this log.
            if record
                .time()
                .is_some_and(|time| time > self.window.until + READ_PAST_UNTIL)
            {
                break;
            }
            let Some(req_id) = record.req_id() else {
                continue;
            };
            if let Some(failure) = failed_post(&record, &req_id) {
                if self.window.contains(failure.time) {
                    self.add(failure);
                }
            } else if let Some(vm) = vm_named_by(&record) {
                self.hint(&req_id, vm);
            }
        }
        Ok(())
    }

    fn add(&mut self, mut failure: FailedPost) {
        if let Some(known) = self
            .failures
            .iter_mut()
            .find(|f| f.req_id == failure.req_id)
        {
            if known.vm_uuid.is_none() {
                known.vm_uuid = failure.vm_uuid;
            }
            return;
        }
        if self.failures.len() >= MAX_FAILURES {
            self.not_kept += 1;
            return;
        }
        if failure.vm_uuid.is_none() {
            failure.vm_uuid = self
                .hints
                .iter()
                .rev()
                .find(|(id, _)| *id == failure.req_id)
                .map(|(_, vm)| vm.clone());
        }
        self.failures.push(failure);
    }

    /// A record naming a VM: fills a failure logged before it, or is kept for one logged after.
    fn hint(&mut self, req_id: &str, vm: String) {
        if let Some(failure) = self
            .failures
            .iter_mut()
            .find(|f| f.req_id == req_id && f.vm_uuid.is_none())
        {
            failure.vm_uuid = Some(vm);
            return;
        }
        if self.hints.len() >= MAX_HINTS {
            self.hints.pop_front();
        }
        self.hints.push_back((req_id.to_string(), vm));
    }

    /// The failures, oldest first, and how many were not kept.
    pub fn finish(mut self) -> (Vec<FailedPost>, usize) {
        self.failures
            .sort_by(|a, b| (a.time, &a.req_id).cmp(&(b.time, &b.req_id)));
        (self.failures, self.not_kept)
    }
}

fn json_field(record: &Record<'_>, key: &str) -> Option<Value> {
    serde_json::from_slice(record.raw_field(key)?).ok()
}

/// Reads a restify audit record of a failed `POST /vms` (the collection, not `/vms/<uuid>`:
/// a POST there is a VM action, not a provision).
fn failed_post(record: &Record<'_>, req_id: &str) -> Option<FailedPost> {
    let raw_req = record.raw_field("req")?;
    // Cheap byte test first: most audit records are GETs and PUTs, not worth parsing.
    memchr::memmem::find(raw_req, b"POST")?;
    let req: Value = serde_json::from_slice(raw_req).ok()?;
    let method = req.get("method").and_then(Value::as_str)?;
    let url = req.get("url").and_then(Value::as_str)?;
    let path = url.split(['?', '#']).next().unwrap_or(url);
    if !method.eq_ignore_ascii_case("POST") || path.trim_end_matches('/') != "/vms" {
        return None;
    }
    let res = json_field(record, "res")?;
    let status = res.get("statusCode").and_then(Value::as_u64)?;
    if !(400..=599).contains(&status) {
        return None;
    }
    let err = json_field(record, "err");
    let vm_uuid = [req.pointer("/body/uuid"), res.pointer("/body/uuid")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|v| crate::ids::is_uuid(v))
        .map(str::to_ascii_lowercase)
        .or_else(|| vm_named_by(record));
    Some(FailedPost {
        time: record.time()?,
        req_id: req_id.to_string(),
        status: status as u16,
        message: error_message(res.get("body"), err.as_ref(), record),
        vm_uuid,
    })
}

/// `<code>: <message>` from the answer body (or the logged `err`), with the `errors` array of
/// a `ValidationFailed` answer appended as `(field: message; ...)`.
fn error_message(body: Option<&Value>, err: Option<&Value>, record: &Record<'_>) -> String {
    let text = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let code = text(body, "code").or_else(|| text(err, "name"));
    let message = text(body, "message")
        .or_else(|| text(err, "message"))
        .or_else(|| record.msg().map(|m| m.to_string()))
        .unwrap_or_default();
    let mut out = match code {
        Some(code) if !message.starts_with(&code) => format!("{code}: {message}"),
        _ => message,
    };
    let details: Vec<String> = body
        .and_then(|b| b.get("errors"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let field = e.get("field").and_then(Value::as_str).unwrap_or("?");
            let what = e
                .get("message")
                .or_else(|| e.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{field}: {what}")
        })
        .collect();
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join("; ")));
    }
    let one_line: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX_MESSAGE_CHARS {
        let cut: String = one_line.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// The VM a record is about: top-level `vm_uuid`, or the `vm` of VMAPI's `Payload sent to
/// DAPI` record.
fn vm_named_by(record: &Record<'_>) -> Option<String> {
    let from_field = record.vm_uuid().map(|v| v.to_string());
    let from_payload = || {
        json_field(record, "dapiPayload")?
            .pointer("/vm/vm_uuid")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    from_field
        .or_else(from_payload)
        .filter(|v| crate::ids::is_uuid(v))
        .map(|v| v.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "eebc7610-24a3-4c71-9a47-c99e7d0f70f6";
    const VM: &str = "7bb57337-656f-492f-95c8-7822afd98010";

    fn window() -> TimeWindow {
        TimeWindow {
            since: "2024-05-10T09:00:00Z".parse().expect("ts"),
            until: "2024-05-11T09:00:00Z".parse().expect("ts"),
            derived_from: "test".into(),
        }
    }

    /// A restify audit record as vmapi logs it (`handled: <status>`).
    fn audit(req_id: &str, method: &str, url: &str, status: u16, body: &str, time: &str) -> String {
        format!(
            r#"{{"name":"vmapi","hostname":"hn","pid":9,"audit":true,"level":30,"req_id":"{req_id}","req":{{"method":"{method}","url":"{url}","headers":{{"x-request-id":"{req_id}"}}}},"res":{{"statusCode":{status},"body":{body}}},"latency":12,"_audit":true,"msg":"handled: {status}","time":"{time}","v":0}}"#
        )
    }

    fn payload(req_id: &str, vm: &str, time: &str) -> String {
        format!(
            r#"{{"name":"vmapi","hostname":"hn","pid":9,"req_id":"{req_id}","level":30,"dapiPayload":{{"vm":{{"vm_uuid":"{vm}","ram":32768}}}},"msg":"Payload sent to DAPI","time":"{time}","v":0}}"#
        )
    }

    fn scan(lines: &[String]) -> Vec<FailedPost> {
        let mut scan = Scan::new(window());
        let text = lines.join("\n");
        scan.read(text.as_bytes()).expect("read");
        scan.finish().0
    }

    #[test]
    fn finds_a_failed_allocation_and_its_vm() {
        let body = r#"{"code":"NoAllocatableServersError","message":"No compute resources available: no servers with enough unreserved ram"}"#;
        let found = scan(&[
            "not a record".to_string(),
            payload(REQ, VM, "2024-05-11T08:57:52.742Z"),
            audit(REQ, "POST", "/vms", 409, body, "2024-05-11T08:57:54.207Z"),
            audit("ok-1", "POST", "/vms", 202, "{}", "2024-05-11T08:58:00Z"),
            audit(
                "act-1",
                "POST",
                &format!("/vms/{VM}?action=start"),
                409,
                body,
                "2024-05-11T08:58:01Z",
            ),
            audit("get-1", "GET", "/vms", 500, body, "2024-05-11T08:58:02Z"),
            audit("old-1", "POST", "/vms", 409, body, "2024-05-01T08:00:00Z"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.req_id, REQ);
        assert_eq!(f.status, 409);
        assert_eq!(f.vm_uuid.as_deref(), Some(VM));
        assert_eq!(
            f.note(),
            format!(
                "failed POST /vms without job: 2024-05-11T08:57:54.207Z {REQ} 409 \
                 NoAllocatableServersError: No compute resources available: no servers with \
                 enough unreserved ram (vm {VM})"
            )
        );
    }

    #[test]
    fn reads_validation_errors_and_a_vm_named_later() {
        let body = r#"{"code":"ValidationFailed","message":"Invalid Parameters","errors":[{"field":"image_uuid","code":"Invalid","message":"Image must be active and not disabled"}]}"#;
        let found = scan(&[
            audit(
                REQ,
                "POST",
                "/vms?sync=true",
                409,
                body,
                "2024-05-11T08:00:00Z",
            ),
            payload(REQ, VM, "2024-05-11T08:00:01Z"),
            audit(REQ, "POST", "/vms", 409, body, "2024-05-11T08:00:00Z"),
        ]);
        assert_eq!(found.len(), 1, "one per req_id: {found:?}");
        assert_eq!(
            found[0].message,
            "ValidationFailed: Invalid Parameters (image_uuid: Image must be active and not disabled)"
        );
        assert_eq!(found[0].vm_uuid.as_deref(), Some(VM));
    }

    #[test]
    fn keeps_a_bounded_number() {
        let lines: Vec<String> = (0..MAX_FAILURES + 3)
            .map(|i| {
                audit(
                    &format!("r-{i}"),
                    "POST",
                    "/vms",
                    500,
                    r#"{"message":"x"}"#,
                    "2024-05-11T08:00:00Z",
                )
            })
            .collect();
        let mut scan = Scan::new(window());
        scan.read(lines.join("\n").as_bytes()).expect("read");
        let (found, not_kept) = scan.finish();
        assert_eq!((found.len(), not_kept), (MAX_FAILURES, 3));
    }

    #[test]
    fn picks_rotated_vmapi_files_of_the_window() {
        let w = window();
        assert!(is_rotated_in(
            "vmapi_zone_2024-05-11T09:00:00.log",
            &["vmapi"],
            &w
        ));
        assert!(is_rotated_in(
            "vmapi_zone_2024-05-11T09:00:00.log.gz",
            &["vmapi"],
            &w
        ));
        assert!(!is_rotated_in(
            "vmapi_zone_2024-05-11T11:00:00.log",
            &["vmapi"],
            &w
        ));
        assert!(!is_rotated_in(
            "cnapi_zone_2024-05-11T09:00:00.log",
            &["vmapi"],
            &w
        ));
    }

    /// A big log (ten days, the window is one of them): the search bisects to the window's start
    /// and stops after its end, so it reads a small part and still finds the failure in it.
    #[test]
    fn a_long_log_is_entered_at_the_window_and_left_after_it() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vmapi.log");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let start: jiff::Timestamp = "2024-05-03T00:00:00Z".parse().expect("ts");
        let body =
            r#"{"code":"NoAllocatableServersError","message":"No compute resources available"}"#;
        for i in 0..40_000i64 {
            let t = (start + jiff::SignedDuration::from_secs(i * 24)).to_string();
            let id = format!("00000000-0000-4000-8000-{i:012}");
            let line = if i == 33_000 {
                // 2024-05-12T04:00:00Z: inside the window.
                audit(REQ, "POST", "/vms", 409, body, &t)
            } else {
                audit(&id, "GET", "/ping", 200, "{}", &t)
            };
            writeln!(out, "{line}").expect("write");
        }
        drop(out);
        let size = std::fs::metadata(&path).expect("size").len();
        let window = TimeWindow {
            since: "2024-05-12T00:00:00Z".parse().expect("ts"),
            until: "2024-05-12T06:00:00Z".parse().expect("ts"),
            derived_from: "test".into(),
        };
        let file =
            enter_at_window(std::fs::File::open(&path).expect("open"), &window).expect("enter");
        let mut scan = Scan::new(window);
        let mut counted = CountingReader {
            inner: file,
            read: 0,
        };
        scan.read(std::io::BufReader::new(&mut counted))
            .expect("read");
        let (found, _) = scan.finish();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].req_id, REQ);
        assert!(
            counted.read * 10 < size,
            "read {} of {size} bytes for a 6 h window of 10 days",
            counted.read
        );

        struct CountingReader<R> {
            inner: R,
            read: u64,
        }
        impl<R: Read> Read for CountingReader<R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.inner.read(buf)?;
                self.read += n as u64;
                Ok(n)
            }
        }
    }
}
