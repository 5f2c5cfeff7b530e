//! The sound part of every hostile bundle: a failed provision (job, vm.log, manifest) that the
//! analyzer can still report on, so each case shows whether the damage spoiled what was readable.

use std::fmt::Write as _;

use super::archive::Member;

pub const TOP: &str = "triton-bundle-headnode-20240501T100000Z";
pub const VM: &str = "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5";
pub const SERVER: &str = "44454c4c-3000-1052-8043-b3c04f485331";
pub const JOB: &str = "7c992699-6166-42bd-94ba-1de449d20d7e";
pub const VMAPI_ZONE: &str = "1b2c3d4e-0000-4000-8000-000000000001";

/// Markdown and HTML that must come out of the report as text. Every line carries `HOSTILE`.
pub const HOSTILE_TEXT: &str = "HOSTILE ```\nHOSTILE </details> <script>alert(1)</script>\n\
HOSTILE [click](javascript:alert(1)) @here @channel\nHOSTILE | a | b |\nHOSTILE |---|---|\n\
HOSTILE <img src=x onerror=alert(1)> ~~~\n";

pub fn format_stamp(version: &str) -> String {
    format!(r#"{{"format":"triton-support-bundle","format_version":"{version}"}}"#)
}

/// The guide's provision-7.0.24 job failing in `cnapi.poll_task`, with `error` as the task error.
pub fn failed_job(error: &str) -> String {
    let error = serde_json::to_string(error).expect("a string serializes");
    format!(
        r#"{{"uuid":"{JOB}","name":"provision-7.0.24","execution":"failed",
"created_at":"2013-12-18T22:21:32.992Z","elapsed":451.523,"timeout":3810,
"params":{{"vm_uuid":"{VM}","brand":"kvm","server_uuid":"{SERVER}"}},
"chain":[{{"name":"common.validate_params","timeout":10}},{{"name":"cnapi.poll_task","timeout":3600}}],
"chain_results":[{{"result":"All parameters OK!","error":"","name":"common.validate_params",
"started_at":"2013-12-18T22:21:37.283Z","finished_at":"2013-12-18T22:21:37.679Z"}},
{{"result":"","error":{{"name":"Error","message":{error}}},"name":"cnapi.poll_task",
"started_at":"2013-12-18T22:23:10.562Z","finished_at":"2013-12-18T22:28:14.305Z"}}]}}"#
    )
}

pub fn vm_log(output: &str) -> String {
    format!(
        "== Zone privileges ==\nfile_link_any\n=== ARGV ===\n/smartdc/bin/qemu-system-x86_64\n-m\n4096\n\
=== OUTPUT (2013-12-18T22:23:20Z) ===\nFailed to allocate memory: Resource temporarily unavailable\n{output}"
    )
}

/// One bunyan record of vmapi about the VM.
pub fn vmapi_record(level: &str, time: &str, msg: &str) -> String {
    let msg = serde_json::to_string(msg).expect("a string serializes");
    format!(
        r#"{{"name":"vmapi","hostname":"headnode","pid":1234,"level":{level},"vm_uuid":"{VM}","msg":{msg},"time":{time},"v":0}}"#
    )
}

pub const JOB_PATH: &str = "api/workflow/jobs/7c992699-6166-42bd-94ba-1de449d20d7e.json";

pub fn vm_log_path() -> String {
    format!("hosts/{SERVER}/files/zones/{VM}/root/tmp/vm.log")
}

pub fn vmapi_log_path() -> String {
    format!(
        "hosts/{SERVER}/files/zones/{VMAPI_ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log"
    )
}

/// A manifest listing `items` as `(bundle path, host or null, original file path)`.
pub fn manifest(version: &str, items: &[(&str, Option<&str>, &str)], hosts: &str) -> String {
    let mut list = String::new();
    for (i, (path, host, origin)) in items.iter().enumerate() {
        let host = host.map_or("null".to_string(), |h| format!("{h:?}"));
        let _ = write!(
            list,
            r#"{}{{"source":"file","host":{host},"path":{path:?},"origin":{{"kind":"file","path":{origin:?}}},
"duration_ms":1,"bytes":10,"original_bytes":10,"sha256":null}}"#,
            if i == 0 { "" } else { "," }
        );
    }
    format!(
        r#"{{"format":"triton-support-bundle","format_version":"{version}",
"collector":{{"name":"triton-collect","version":"0.1.0","argv":["triton-collect"],"redacted":true}},
"started_at":"2024-05-01T10:00:00Z","finished_at":"2024-05-01T10:01:00Z","complete":true,
"scope":{{"vm_uuids":["{VM}"],"job_uuids":["{JOB}"],"window":null}},
"hosts":{hosts},"items":[{list}],"notes":[]}}"#
    )
}

pub fn default_hosts() -> String {
    format!(
        r#"[{{"role":"HN","hostname":"headnode","server_uuid":"{SERVER}","platform_image":null,"core_zones":[]}}]"#
    )
}

pub fn default_manifest() -> String {
    let vm_log = vm_log_path();
    manifest(
        "1.1",
        &[
            (JOB_PATH, None, "/jobs"),
            (&vm_log, Some(SERVER), "/zones/vm/root/tmp/vm.log"),
        ],
        &default_hosts(),
    )
}

fn under_top(rel: &str) -> Vec<u8> {
    format!("{TOP}/{rel}").into_bytes()
}

/// A bundle's members: the format stamp, the failed job and its vm.log, `extra`, the manifest.
pub fn bundle_members(extra: Vec<Member>) -> Vec<Member> {
    bundle_members_with(
        extra,
        &default_manifest(),
        &failed_job("VM.create error: timed out"),
    )
}

pub fn bundle_members_with(extra: Vec<Member>, manifest: &str, job: &str) -> Vec<Member> {
    let mut members = vec![
        Member::file(under_top("bundle-format.json"), format_stamp("1.1")),
        Member::file(under_top(JOB_PATH), job),
        Member::file(under_top(&vm_log_path()), vm_log("")),
    ];
    members.extend(extra);
    members.push(Member::file(under_top("manifest.json"), manifest));
    members
}

/// An entry name under the bundle's top directory.
pub fn in_bundle(rel: &[u8]) -> Vec<u8> {
    let mut name = format!("{TOP}/").into_bytes();
    name.extend_from_slice(rel);
    name
}
