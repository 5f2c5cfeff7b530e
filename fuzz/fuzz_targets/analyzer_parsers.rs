//! Any bytes through the analyzer's parsers. The first byte, modulo 16, picks the parser (its
//! index in `PARSERS`; 14 and 15 run them all), the rest is its input, so a seed is a sample of
//! that format behind one selector byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use triton_analyze::input::{classify, paths};
use triton_analyze::parsers::{
    self, bunyan_text, dapi, heartbeater, http, image_manifest, imgadm, job, service_log, svclog,
    svcs, time, vmadm, vmlog, zfs_command, zfs_list, zpool_history,
};

type Parser = fn(&[u8], &str);

/// Selector values: one per parser, the rest run every parser.
const SELECTORS: usize = 16;

/// In the order of the selector byte (the seed script writes the same order).
const PARSERS: [Parser; 14] = [
    job_json,
    http_answer,
    vm_log,
    heartbeats,
    svc_log,
    zpool,
    zfs,
    imgadm_output,
    vmadm_output,
    svcs_output,
    dapi_snapshot,
    bunyan_printed,
    service_log_scan,
    names_and_times,
];

/// The JSON document of `text`, HTTP-wrapped or not.
fn json_of(text: &str) -> Option<Value> {
    let body = match http::split(text) {
        Some(answer) => answer.body,
        None => text,
    };
    serde_json::from_str(body).ok()
}

fn job_json(_: &[u8], text: &str) {
    let Some(value) = json_of(text) else { return };
    let jobs: Vec<&Value> = if job::is_job_list(&value) {
        value
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        vec![&value]
    };
    for candidate in jobs {
        let _ = job::is_job(candidate);
        let Ok(parsed) = job::parse_job(candidate) else {
            continue;
        };
        let _ = (parsed.kind(), parsed.is_provision(), parsed.richness());
        let _ = (parsed.workflow_timed_out(), parsed.dispatched_tasks().len());
        if let Some(failed) = parsed.failed_task() {
            let _ = (failed.duration(), failed.queued_task_id());
            let _ = (failed.is_workflow_timeout(), failed.error.text());
            let _ = (failed.error.is_error(), failed.error.code());
        }
        let _ = job::WorkflowVersion::from_job_name(&parsed.name);
    }
}

fn http_answer(_: &[u8], text: &str) {
    if http::looks_like_http(text) {
        if let Some(answer) = http::split(text) {
            assert!(answer.body.len() <= text.len());
            let _ = serde_json::from_str::<Value>(answer.body);
        }
    }
}

fn vm_log(bytes: &[u8], text: &str) {
    let _ = vmlog::looks_like_vm_log(text);
    for line in text.lines() {
        let _ = vmlog::is_memory_failure(line);
    }
    if let Ok(log) = vmlog::parse(bytes) {
        let _ = log.verdict();
    }
}

fn heartbeats(bytes: &[u8], text: &str) {
    let _ = heartbeater::looks_like_heartbeater(text);
    for (n, line) in text.lines().enumerate() {
        let _ = heartbeater::parse_line(line, n as u64 + 1);
    }
    let _ = heartbeater::parse(bytes);
}

fn svc_log(bytes: &[u8], text: &str) {
    let _ = svclog::looks_like_svc_log(text);
    for line in text.lines() {
        let _ = svclog::parse_bracket(line);
    }
    if let Ok(log) = svclog::parse(bytes) {
        let _ = (log.last_failure(), log.any_failure());
    }
}

fn zpool(bytes: &[u8], text: &str) {
    let _ = zpool_history::looks_like_zpool_history(text);
    if let Ok(history) = zpool_history::parse(bytes) {
        let uuid = parsers::find_uuids(text)
            .into_iter()
            .next()
            .unwrap_or_default();
        let _ = history.mentioning(&uuid).count();
        for record in &history.records {
            let _ = zfs_command::parse(&record.command);
        }
    }
    for line in text.lines() {
        let _ = zfs_command::parse(line);
    }
}

fn zfs(bytes: &[u8], text: &str) {
    let _ = zfs_list::looks_like_zfs_list(text);
    if let Ok(list) = zfs_list::parse(bytes) {
        let _ = list.find("zones");
    }
}

fn imgadm_output(_: &[u8], text: &str) {
    let _ = imgadm::not_installed_from_text(text);
    if let Some(value) = json_of(text) {
        if image_manifest::is_manifest(&value) {
            let _ = image_manifest::from_json(&value);
        }
        if imgadm::is_image_info(&value) {
            if let Some(state) = imgadm::from_json(&value) {
                let _ = state.uuid();
            }
        }
    }
}

fn vmadm_output(_: &[u8], text: &str) {
    let _ = vmadm::looks_like_vmadm_create(text);
    let _ = vmadm::missing_vm_from_text(text);
    let _ = vmadm::create_errors(text);
    if let Some(value) = json_of(text) {
        let _ = vmadm::is_vm(&value);
        let _ = vmadm::from_json(&value);
    }
}

fn svcs_output(_: &[u8], text: &str) {
    let _ = svcs::looks_like_svcs_xv(text);
    let _ = svcs::parse(text);
}

fn dapi_snapshot(_: &[u8], text: &str) {
    if let Ok(snapshot) = dapi::decode(text) {
        let _ = snapshot.failing_step();
    }
    if let Some(value) = json_of(text) {
        let _ = dapi::from_json(&value).failing_step();
    }
}

fn bunyan_printed(_: &[u8], text: &str) {
    for (n, line) in text.lines().enumerate() {
        let _ = bunyan_text::parse(line, n as u64 + 1);
    }
}

fn service_log_scan(bytes: &[u8], text: &str) {
    let mut kept = 0u64;
    let summary = service_log::scan_filtered(
        bytes,
        |candidate| candidate.level.unwrap_or(0) >= 40 || candidate.mentions("uuid"),
        |record, snapshot| {
            kept += 1;
            let _ = (
                record.text(),
                record.excerpt(),
                snapshot.map(|s| dapi::decode(&s)),
            );
        },
    );
    if let Ok(summary) = summary {
        assert!(
            kept <= summary.records + summary.lines,
            "kept more records than seen"
        );
    }
    let mut lines = text.lines();
    let reference = lines.next();
    for line in lines {
        let _ = service_log::smf_time(line, reference);
    }
}

fn names_and_times(_: &[u8], text: &str) {
    for line in text.lines() {
        let _ = (
            time::parse_iso(line),
            time::parse_zpool(line),
            time::normalize(line),
        );
        let _ = parsers::clip(line, line.len() / 2);
        let _ = (parsers::find_uuids(line), parsers::is_uuid(line));
        let info = paths::analyze(line, None);
        let _ = (info.host, info.host_path, info.command, info.api);
        let _ = (paths::zone_of(line), paths::qemu_upload_name(line));
        let _ = classify::by_content(line, text).label();
    }
    let mut halves = text.splitn(2, '\n');
    if let (Some(a), Some(b)) = (halves.next(), halves.next()) {
        let _ = time::seconds_between(a, b);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match PARSERS.get(usize::from(selector) % SELECTORS) {
        Some(parser) => parser(rest, &text),
        None => {
            for parser in PARSERS {
                parser(rest, &text);
            }
        }
    }
});
