//! A bundle whose log the collector cut (manifest `items[].slice`, format 1.1): evidence cites
//! the line a support engineer finds in the original file on the host, not the line in the
//! bundle.

mod common;

use std::path::Path;

use serde_json::{json, Value};

use common::*;

const JOB: &str = "7c992699-6166-42bd-94ba-1de449d20d7e";

fn vm_log_entry() -> String {
    format!("hosts/{SERVER}/files/zones/{VM}/root/tmp/vm.log")
}

/// An unpacked bundle holding the guide's job and qemu log, the log's item carrying `slice`.
fn bundle_dir(root: &Path, slice: Value) -> std::path::PathBuf {
    let top = root.join("triton-bundle-hn-20131218T223000Z");
    write(
        &top,
        "bundle-format.json",
        r#"{"format":"triton-support-bundle","format_version":"1.1"}"#,
    );
    write(
        &top,
        &format!("api/workflow/jobs/{JOB}.json"),
        &guide_kvm_job(),
    );
    write(&top, &vm_log_entry(), GUIDE_VM_LOG);
    let manifest = json!({
        "format": "triton-support-bundle",
        "format_version": "1.1",
        "collector": {"name": "triton-collect", "version": "0.1.0", "argv": [], "redacted": true},
        "started_at": "2013-12-18T22:30:00Z",
        "finished_at": "2013-12-18T22:30:05Z",
        "complete": true,
        "scope": {"vm_uuids": [VM], "job_uuids": [JOB], "window": null},
        "hosts": [{"role": "HN", "hostname": "hn", "server_uuid": SERVER, "platform_image": null}],
        "items": [
            {"source": "workflow.job", "host": null,
             "path": format!("api/workflow/jobs/{JOB}.json"),
             "origin": {"kind": "command", "argv": ["sdc-workflow", format!("/jobs/{JOB}")]},
             "http_status": 200, "duration_ms": 1, "bytes": 1, "original_bytes": 1, "sha256": null},
            {"source": "vm.log", "host": SERVER, "path": vm_log_entry(),
             "origin": {"kind": "file", "path": format!("/zones/{VM}/root/tmp/vm.log")},
             "duration_ms": 1, "bytes": GUIDE_VM_LOG.len(), "original_bytes": 90000,
             "sha256": null, "sliced": true, "slice": slice}
        ],
        "notes": []
    });
    write(&top, "manifest.json", &manifest.to_string());
    top
}

/// The qemu evidence ("Failed to allocate memory" is line 8 of the stored log).
fn qemu_evidence(report: &Value) -> Value {
    report["findings"][0]["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| {
            e["excerpt"]
                .as_str()
                .is_some_and(|x| x.contains("Failed to allocate memory"))
        })
        .cloned()
        .expect("the qemu line is cited")
}

#[test]
fn a_cut_log_is_cited_by_its_original_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let top = bundle_dir(
        tmp.path(),
        json!({"start_offset": 81234, "first_line": 1201}),
    );
    let o = run_paths(&["--format", "json"], &[&top]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(
        r["provisions"][0]["diagnosis"]["key"],
        "kvm-qemu-out-of-memory"
    );
    let e = qemu_evidence(&r);
    assert_eq!(e["place"]["entry"], vm_log_entry().as_str());
    assert_eq!(e["line"], 1208, "{e}");
    assert_eq!(e["line_in_bundle"], 8, "{e}");
    assert!(e.get("original_offset_start").is_none(), "{e}");

    let md = stdout(&run_paths(&[], &[&top]));
    // The host's file and its line first, then where the cut copy has it.
    let want = format!("`/zones/{VM}/root/tmp/vm.log` line 1208");
    assert!(md.contains(&want), "{md}");
    assert!(md.contains("(line 8 of its cut copy)"), "{md}");
}

#[test]
fn a_cut_log_without_a_first_line_says_where_its_lines_count_from() {
    let tmp = tempfile::tempdir().expect("tmp");
    let top = bundle_dir(tmp.path(), json!({"start_offset": 81234}));
    let r = json(&run_paths(&["--format", "json"], &[&top]));
    let e = qemu_evidence(&r);
    assert_eq!(e["line"], 8, "{e}");
    assert_eq!(e["original_offset_start"], 81234, "{e}");
    assert!(e.get("line_in_bundle").is_none(), "{e}");
    let md = stdout(&run_paths(&[], &[&top]));
    assert!(
        md.contains("(line 8 of its cut copy, which starts at byte 81234 of the original)"),
        "{md}"
    );
}

#[test]
fn an_uncut_log_keeps_its_line_as_stored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let top = bundle_dir(tmp.path(), Value::Null);
    let e = qemu_evidence(&json(&run_paths(&["--format", "json"], &[&top])));
    assert_eq!(e["line"], 8, "{e}");
    assert!(e.get("line_in_bundle").is_none() && e.get("original_offset_start").is_none());
}
