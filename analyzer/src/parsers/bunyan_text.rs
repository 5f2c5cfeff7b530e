//! The text the `bunyan` CLI prints (its default `long` form), which customers paste into
//! tickets instead of the log itself. This reads the printed lines back; bunyan log records
//! proper are read by the `triton-logs` engine (see [`super::service_log`]).
//!
//! ```text
//! [2014-02-24T11:08:47.707Z] ERROR: vmapi/heartbeater/12121 on 70b63e05-ebc9-462d-b06a-aa96e78d701f: Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI (vm_uuid=dfe792dc-6d37-4da6-b400-f736c5cbb445, server=44454c4c-3000-1052-8043-b3c04f485331)
//!     InternalError: VM.load error: zoneadm: dfe792dc-6d37-4da6-b400-f736c5cbb445: No such zone configured
//! ```

use super::service_log::KeptRecord;
use super::{clip, MAX_EXCERPT};

/// Numeric level from the names the CLI prints.
fn level_from_name(name: &str) -> Option<u8> {
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

/// Parses one printed line: `[<time>] <LEVEL>: <name>/<pid> on <host>: <msg> (<k=v>, ...)`.
/// The lines the CLI indents below it (extra fields, stack traces) are continuation lines.
pub fn parse(line: &str, line_no: u64) -> Option<KeptRecord> {
    let rest = line.strip_prefix('[')?;
    let (time, rest) = rest.split_once("] ")?;
    let time = super::time::parse_iso(time).map(super::time::format_ts)?;
    let (level_name, rest) = rest.split_once(':')?;
    let level = level_from_name(level_name)?;
    let rest = rest.trim_start();
    let (who, rest) = rest.split_once(" on ")?;
    let (host, msg) = rest.split_once(": ").unwrap_or((rest, ""));
    let name = who.split('/').next().unwrap_or(who).to_string();
    let mut vm_uuid = None;
    let mut req_id = None;
    let mut job_uuid = None;
    let mut task_id = None;
    if let Some(open) = msg.rfind(" (") {
        if msg.ends_with(')') {
            for pair in msg[open + 2..msg.len() - 1].split(", ") {
                if let Some((k, v)) = pair.split_once('=') {
                    match k {
                        "vm_uuid" => vm_uuid = Some(v.to_ascii_lowercase()),
                        "req_id" => req_id = Some(v.to_string()),
                        "job_uuid" => job_uuid = Some(v.to_string()),
                        "task_id" => task_id = Some(v.to_ascii_lowercase()),
                        _ => {}
                    }
                }
            }
        }
    }
    Some(KeptRecord {
        line: line_no,
        time: Some(time),
        level,
        name,
        hostname: Some(host.to_string()),
        msg: msg.to_string(),
        req_id,
        vm_uuid,
        job_uuid,
        task_id: task_id.or_else(|| super::service_log::task_id_in_msg(msg)),
        brand: None,
        err: None,
        audit: None,
        raw: clip(line, MAX_EXCERPT),
        continuation: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::service_log::scan_filtered;

    const GUIDE_PRETTY: &str = "[2014-02-24T11:08:47.707Z] ERROR: vmapi/heartbeater/12121 on 70b63e05-ebc9-462d-b06a-aa96e78d701f: Error invalidating cache state of VM dfe792dc-6d37-4da6-b400-f736c5cbb445: Error talking to CNAPI (vm_uuid=dfe792dc-6d37-4da6-b400-f736c5cbb445, server=44454c4c-3000-1052-8043-b3c04f485331)\n    InternalError: VM.load error: zoneadm: dfe792dc-6d37-4da6-b400-f736c5cbb445: No such zone configured\n";

    #[test]
    fn printed_record_with_its_continuation() {
        let mut got = Vec::new();
        let s = scan_filtered(GUIDE_PRETTY.as_bytes(), |_| true, |r, _| got.push(r)).expect("scan");
        assert_eq!(s.records, 1);
        let r = &got[0];
        assert_eq!(r.level, 50);
        assert_eq!(r.name, "vmapi");
        assert_eq!(r.line, 1);
        assert_eq!(
            r.vm_uuid.as_deref(),
            Some("dfe792dc-6d37-4da6-b400-f736c5cbb445")
        );
        assert!(r.text().contains("No such zone configured"));
        assert!(r.msg.contains("Error talking to CNAPI"));
    }

    #[test]
    fn other_bracketed_lines_are_not_records() {
        assert!(super::parse("[ Nov 25 21:00:00 Enabled. ]", 1).is_none());
        assert!(super::parse("[not a time] INFO: a/1 on h: m", 1).is_none());
    }
}
