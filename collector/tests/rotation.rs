//! Logs rotated while the collector runs, on the simulated datacenter.
//!
//! The collector lists directories when it plans, runs the cheap commands, then copies the live
//! logs (`--dry-run` shows that order: `svcs -xv` before the core zones' SMF logs). So while
//! `svcs -xv` hangs, the SMF logs are listed but not yet opened; the test rotates them then, in
//! each of the ways logs rotate on a headnode:
//!
//! - vmapi: renamed to `<log>.0` in the same directory, a fresh log in its place;
//! - cnapi: renamed to its hourly upload name in `/var/log/sdc/upload/`, a fresh log in its place;
//! - wf-api: copied to its upload name and cut back in place (logadm `-c`), then written again;
//! - imgapi: only appended to (a live log growing), which is no rotation.
//!
//! Each copy in the bundle must be one file's content (old or new, never both), the manifest
//! item must say what changed, and the content the test rotated in must be collected. The runs
//! use `--no-redact`, so stored lines compare byte for byte with the originals.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{collect_bin, Dc, ReadBundle};
use serde_json::json;
use triton_bundle::manifest::{Item, Origin};

const HANG_SECONDS: u64 = 5;

/// The zone whose `var/svc/log/` holds `log`: (zone uuid, host path of the log).
fn zone_log(dc: &Dc, log: &str) -> (String, String) {
    for zone in fs::read_dir(dc.dir.join("hn/zones")).expect("zones") {
        let zone = zone
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let path = format!("/zones/{zone}/root/var/svc/log/{log}");
        if dc.dir.join("hn").join(&path[1..]).is_file() {
            return (zone, path);
        }
    }
    panic!("no zone holds {log}");
}

fn local(dc: &Dc, host_path: &str) -> PathBuf {
    dc.dir.join("hn").join(host_path.trim_start_matches('/'))
}

fn lines_of(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

/// Bunyan records marked `marker`, timed inside the collection window.
fn new_records(name: &str, marker: &str, time: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"name\":\"{name}\",\"hostname\":\"headnode\",\"pid\":9,\"level\":30,\
                 \"msg\":\"{marker} record {i}\",\"time\":\"{time}\",\"v\":0}}\n"
            )
        })
        .collect()
}

/// Whether a process of this datacenter runs `svcs -xv` (the fake, or its wrapper script).
fn svcs_running(dc: &Dc) -> bool {
    let want_env = format!("TRITON_SIM_DIR={}", dc.dir.display());
    let Ok(procs) = fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        let cmdline = fs::read(p.path().join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let runs_svcs = args
            .windows(2)
            .any(|w| w[0].ends_with(b"svcs") && w[1] == b"-xv");
        runs_svcs
            && fs::read(p.path().join("environ"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|v| v == want_env.as_bytes())
    })
}

fn item_for<'a>(bundle: &'a ReadBundle, host_path: &str) -> &'a Item {
    bundle
        .manifest
        .items
        .iter()
        .find(|i| matches!(&i.origin, Origin::File { path } if path == host_path))
        .unwrap_or_else(|| panic!("no item for {host_path}"))
}

fn stored(bundle: &ReadBundle, item: &Item) -> String {
    bundle.text(item.path.as_deref().expect("stored"))
}

/// Waits for `what`, polling, at most `limit`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn logs_rotated_during_collection_are_copied_whole_and_flagged() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "args_contain": "-xv",
            "kind": {"kind": "hang", "seconds": HANG_SECONDS}}]);
    });
    let (_, vmapi) = zone_log(&dc, "smartdc-site-vmapi:default.log");
    let (cnapi_zone, cnapi) = zone_log(&dc, "smartdc-site-cnapi:default.log");
    let (wf_zone, wf_api) = zone_log(&dc, "smartdc-application-wf-api:default.log");
    let (_, imgapi) = zone_log(&dc, "smartdc-site-imgapi:default.log");
    let old: Vec<String> = [&vmapi, &cnapi, &wf_api, &imgapi]
        .iter()
        .map(|p| fs::read_to_string(local(&dc, p)).expect("log"))
        .collect();

    let out_path = dc.out("rotated.tar.gz");
    let mut child = triton_test_support::headnode_collector(&collect_bin(), &dc.dir)
        .args(["--vm", &dc.vm(), "--cn", "none", "--no-redact", "--out"])
        .arg(&out_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run triton-collect");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // The window is printed before any task runs; records written into it are kept by slicing.
    let window_line = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the collector prints its window");
        if let Some(rest) = line.strip_prefix("triton-collect: window ") {
            break rest.to_string();
        }
    };
    let since: jiff::Timestamp = window_line
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("window line {window_line:?}"));
    let time = (since + jiff::SignedDuration::from_secs(90)).to_string();
    wait_for("svcs -xv to hang", Duration::from_secs(120), || {
        svcs_running(&dc)
    });

    // Rotate, while the listed logs wait to be copied.
    let rotated_at = Instant::now();
    let vmapi_zero = format!("{vmapi}.0");
    fs::rename(local(&dc, &vmapi), local(&dc, &vmapi_zero)).expect("rename vmapi");
    fs::write(
        local(&dc, &vmapi),
        new_records("vmapi", "NEW-VMAPI", &time, 3),
    )
    .expect("new");
    let cnapi_upload = format!(
        "/zones/{cnapi_zone}/root/var/log/sdc/upload/cnapi_{cnapi_zone}_2099-01-01T00:00:00.log"
    );
    fs::rename(local(&dc, &cnapi), local(&dc, &cnapi_upload)).expect("rename cnapi");
    fs::write(
        local(&dc, &cnapi),
        new_records("cnapi", "NEW-CNAPI", &time, 2),
    )
    .expect("new");
    let wf_upload = format!(
        "/zones/{wf_zone}/root/var/log/sdc/upload/wf-api_{wf_zone}_2099-01-01T00:00:00.log"
    );
    fs::copy(local(&dc, &wf_api), local(&dc, &wf_upload)).expect("copy wf-api");
    let mut live = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(local(&dc, &wf_api))
        .expect("truncate wf-api");
    live.write_all(new_records("workflow", "NEW-WFAPI", &time, 2).as_bytes())
        .expect("write");
    drop(live);
    let appended = new_records("imgapi", "NEW-IMGAPI", &time, 2);
    fs::OpenOptions::new()
        .append(true)
        .open(local(&dc, &imgapi))
        .expect("append imgapi")
        .write_all(appended.as_bytes())
        .expect("append");
    assert!(
        rotated_at.elapsed() < Duration::from_secs(HANG_SECONDS - 1) && svcs_running(&dc),
        "the rotation must happen while svcs -xv hangs"
    );

    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the collector did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = reader.join().expect("stderr");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Records of cnapi and wf-api may be missing (their old content was not found): incomplete.
    assert_eq!(status.code(), Some(1), "{stderr}");
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.manifest.complete);

    // vmapi: renamed in its directory. The live path holds the new log, the old one is found
    // under its new name and collected there; nothing is missing.
    let live = item_for(&bundle, &vmapi);
    let text = live.changed_while_read.as_deref().expect("vmapi flagged");
    assert!(
        text.contains("replaced between listing and copying") && text.contains(&vmapi_zero),
        "{text}"
    );
    assert!(live.error.is_none(), "{live:?}");
    assert_eq!(
        stored(&bundle, live),
        new_records("vmapi", "NEW-VMAPI", &time, 3)
    );
    let renamed = item_for(&bundle, &vmapi_zero);
    assert!(renamed.error.is_none(), "{renamed:?}");
    let old_copy = stored(&bundle, renamed);
    assert!(!old_copy.is_empty() && !old_copy.contains("NEW-VMAPI"));
    assert!(
        lines_of(&old_copy).is_subset(&lines_of(&old[0])),
        "the renamed copy holds lines of the old log only"
    );

    // cnapi: renamed out of the directory. The live path holds the new log; the item says the
    // listed file went away, and that records may be missing.
    let live = item_for(&bundle, &cnapi);
    let text = live.changed_while_read.as_deref().expect("cnapi flagged");
    assert!(text.contains("moved away or removed"), "{text}");
    assert!(
        live.error
            .as_deref()
            .is_some_and(|e| e.contains("records it held before may be missing")),
        "{live:?}"
    );
    assert_eq!(
        stored(&bundle, live),
        new_records("cnapi", "NEW-CNAPI", &time, 2)
    );
    assert!(!bundle
        .manifest
        .items
        .iter()
        .any(|i| matches!(&i.origin, Origin::File { path } if path == &cnapi_upload)));

    // wf-api: copied and cut in place. The copy is what it held after the cut, never the old
    // lines with the new ones.
    let live = item_for(&bundle, &wf_api);
    let text = live.changed_while_read.as_deref().expect("wf-api flagged");
    assert!(text.contains("copy-truncate"), "{text}");
    assert!(live.error.is_some(), "{live:?}");
    let copy = stored(&bundle, live);
    assert_eq!(copy, new_records("workflow", "NEW-WFAPI", &time, 2));
    assert!(lines_of(&copy).is_disjoint(&lines_of(&old[2])));

    // imgapi: grown since listed, which is no rotation: the copy is cut from the file as
    // opened (appended records included in its size), and nothing is flagged.
    let live = item_for(&bundle, &imgapi);
    assert!(
        live.changed_while_read.is_none() && live.error.is_none(),
        "{live:?}"
    );
    assert_eq!(
        live.original_bytes,
        Some((old[3].len() + appended.len()) as u64)
    );
    let copy = stored(&bundle, live);
    assert!(
        lines_of(&copy).is_subset(&lines_of(&(old[3].clone() + &appended))),
        "only lines the file held"
    );
}

#[test]
fn a_file_rotated_with_no_new_file_yet_is_found_under_its_new_name() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "args_contain": "-xv",
            "kind": {"kind": "hang", "seconds": HANG_SECONDS}}]);
    });
    let (_, vmapi) = zone_log(&dc, "smartdc-site-vmapi:default.log");
    let old = fs::read_to_string(local(&dc, &vmapi)).expect("log");
    let out_path = dc.out("gone.tar.gz");
    let mut child = triton_test_support::headnode_collector(&collect_bin(), &dc.dir)
        .args(["--vm", &dc.vm(), "--cn", "none", "--no-redact", "--out"])
        .arg(&out_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run triton-collect");
    wait_for("svcs -xv to hang", Duration::from_secs(120), || {
        svcs_running(&dc)
    });
    let zero = format!("{vmapi}.0");
    fs::rename(local(&dc, &vmapi), local(&dc, &zero)).expect("rename");
    let status = child.wait().expect("wait");
    assert!(status.code().is_some_and(|c| c <= 1), "{status:?}");
    let bundle = ReadBundle::open(&out_path);
    let live = item_for(&bundle, &vmapi);
    assert!(live.path.is_none(), "{live:?}");
    assert!(
        live.error
            .as_deref()
            .is_some_and(|e| e.starts_with("not found")
                && e.contains("renamed to")
                && e.contains(&zero)),
        "{live:?}"
    );
    let renamed = item_for(&bundle, &zero);
    let copy = stored(&bundle, renamed);
    assert!(!copy.is_empty() && lines_of(&copy).is_subset(&lines_of(&old)));
}
