//! End-to-end: without a scope, a failed `POST /vms` of Triton 8.2+ (no job) is found in the
//! vmapi log and its evidence (the audit record, DAPI's snapshot in the cnapi log) is collected.

mod common;

use common::{stderr, Dc, ReadBundle};
use serde_json::Value;

/// The evidence entry of the expected provision whose `contains` is `needle`.
fn evidence<'a>(dc: &'a Dc, needle: &str) -> &'a Value {
    dc.provision()["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| e["contains"].as_str().is_some_and(|c| c.contains(needle)))
        .unwrap_or_else(|| panic!("no evidence containing {needle:?}"))
}

/// The line an evidence entry points at, read from the simulated host's file tree.
fn evidence_line(dc: &Dc, evidence: &Value) -> String {
    let path = evidence["path"].as_str().expect("path");
    let line = evidence["line"].as_u64().expect("line") as usize;
    let local = dc.dir.join("hn").join(path.trim_start_matches('/'));
    let text = std::fs::read_to_string(&local).expect("evidence file");
    text.lines()
        .nth(line - 1)
        .expect("evidence line")
        .to_string()
}

fn bundle_entry(evidence: &Value) -> String {
    format!(
        "hosts/{}/files/{}",
        evidence["host"].as_str().expect("host"),
        evidence["path"]
            .as_str()
            .expect("path")
            .trim_start_matches('/')
    )
}

#[test]
fn without_scope_a_failed_post_vms_without_job_is_found_and_its_evidence_collected() {
    let dc = Dc::with_scenario("no-allocatable-servers");
    assert!(
        dc.provision()["job_uuid"].is_null(),
        "the scenario has no job"
    );
    let vm = dc.vm();

    // What the vmapi log says about the failed request, read from the log itself.
    let vmapi = evidence(&dc, "No compute resources available");
    let audit: Value = serde_json::from_str(&evidence_line(&dc, vmapi)).expect("audit record");
    let req_id = audit["req_id"].as_str().expect("req_id");
    let status = audit["res"]["statusCode"].as_u64().expect("status");
    let message = audit["res"]["body"]["message"].as_str().expect("message");
    assert!(status >= 400, "{audit}");
    let failed_at: jiff::Timestamp = audit["time"]
        .as_str()
        .expect("time")
        .parse()
        .expect("record time");

    let out_path = dc.out("nojob.tar.gz");
    let out = dc.collect(&["--cn", "none", "--out", out_path.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{err}");
    assert!(!err.contains("not searched for yet"), "{err}");
    let bundle = ReadBundle::open(&out_path);
    let manifest = &bundle.manifest;

    // The manifest names the request: time, req_id, status, message and the VM.
    let note = manifest
        .notes
        .iter()
        .find(|n| n.starts_with("failed POST /vms without job:") && n.contains(req_id))
        .unwrap_or_else(|| panic!("no note for {req_id}: {:#?}", manifest.notes));
    assert!(note.contains(&format!(" {status} ")), "{note}");
    assert!(note.contains(message), "{note}");
    assert!(note.contains(&vm), "{note}");
    let second = failed_at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    assert!(note.contains(&second), "{note} lacks {second}");
    assert!(
        manifest.scope.vm_uuids.contains(&vm),
        "{:?}",
        manifest.scope
    );
    assert_eq!(
        manifest.notes.iter().filter(|n| n.contains(req_id)).count(),
        1,
        "one note per request (SMF and rotated logs overlap): {:#?}",
        manifest.notes
    );

    // The window covers the failure.
    let window = manifest.scope.window.as_ref().expect("window");
    let since: jiff::Timestamp = window.since.parse().expect("since");
    let until: jiff::Timestamp = window.until.parse().expect("until");
    assert!(since <= failed_at && failed_at <= until, "{window:?}");
    assert!(window.derived_from.contains("POST /vms"), "{window:?}");

    // The vmapi audit record and DAPI's snapshot in the cnapi log are in the bundle.
    let vmapi_text = bundle.text(&bundle_entry(vmapi));
    assert!(
        vmapi_text
            .lines()
            .any(|l| l.contains(req_id) && l.contains(message)),
        "the audit record of {req_id} is missing"
    );
    let cnapi = evidence(&dc, "Snapshot of request, results, and reasoning by DAPI");
    let snapshot_line = evidence_line(&dc, cnapi);
    let cnapi_text = bundle.text(&bundle_entry(cnapi));
    assert!(
        cnapi_text.lines().any(|l| l == snapshot_line),
        "the DAPI snapshot record is missing from {}",
        bundle_entry(cnapi)
    );
}
