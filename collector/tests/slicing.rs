//! Time slicing end to end: a big sorted bunyan log in a core zone, cut to a one-hour window by
//! the real binary, compared record by record with the source read through the log engine.

mod common;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use common::{stderr, Dc, ReadBundle};
use jiff::{SignedDuration, Timestamp};
use triton_logs::{Entry, LogReader};

/// Records are written this far apart, over this long: about 100 MB.
const STEP_MS: i64 = 1_000;
const SPAN_HOURS: i64 = 120;

fn vmapi_smf_log(dc: &Dc) -> PathBuf {
    let zones = dc.dir.join("hn/zones");
    for zone in std::fs::read_dir(&zones).expect("zones").flatten() {
        let log = zone
            .path()
            .join("root/var/svc/log/smartdc-site-vmapi:default.log");
        if log.is_file() {
            return log;
        }
    }
    panic!("no vmapi SMF log under {}", zones.display());
}

/// A sorted log with SMF method output before the first record and a stack trace after every
/// 500th record.
fn write_big_log(path: &Path, start: Timestamp) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(
        out,
        "[ Jan  1 00:00:00 Executing start method (\"/opt/smartdc/vmapi/smf/method/vmapi\"). ]"
    )
    .expect("write");
    let count = SPAN_HOURS * 3_600_000 / STEP_MS;
    for i in 0..count {
        let t = start + SignedDuration::from_millis(i * STEP_MS);
        let level = if i % 500 == 0 { 50 } else { 30 };
        writeln!(
            out,
            r#"{{"name":"vmapi","hostname":"vmapi0","pid":4242,"component":"api","req_id":"0c7c4d2e-6f0b-4b7e-9a7e-{i:012}","level":{level},"msg":"handled: 200 GET /vms record {i}","time":"{t}","v":0}}"#,
            t = jiff::fmt::temporal::DateTimePrinter::new()
                .precision(Some(3))
                .timestamp_to_string(&t)
        )
        .expect("write");
        if level == 50 {
            writeln!(
                out,
                "Error: boom {i}\n    at Object.<anonymous> (/opt/smartdc/vmapi/lib/x.js:1:1)"
            )
            .expect("write");
        }
    }
}

/// The entries of a log whose record time is in `[since, until]`.
fn entries_in_window(data: &[u8], since: Timestamp, until: Timestamp) -> Vec<Entry> {
    LogReader::new(data)
        .entries()
        .map(|e| e.expect("entry"))
        .filter(|e| {
            e.record()
                .and_then(|r| r.time())
                .is_some_and(|t| since <= t && t <= until)
        })
        .collect()
}

#[test]
fn a_one_hour_window_of_a_big_sorted_log_is_cut_by_record_time_reading_little() {
    let dc = Dc::create();
    let log = vmapi_smf_log(&dc);
    let start: Timestamp = "2024-01-10T00:00:00Z".parse().expect("ts");
    write_big_log(&log, start);
    let size = std::fs::metadata(&log).expect("meta").len();
    assert!(size > 90_000_000, "log is {size} bytes");
    let since = start + SignedDuration::from_hours(60);
    let until = since + SignedDuration::from_hours(1);

    let out_path = dc.out("sliced.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "-v",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    let err = stderr(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    assert!(!err.contains("not built"), "{err}");

    let bundle = ReadBundle::open(&out_path);
    let host_path = format!(
        "/{}",
        log.strip_prefix(dc.dir.join("hn"))
            .expect("under hn")
            .display()
    );
    let item = bundle
        .manifest
        .items
        .iter()
        .find(|i| matches!(&i.origin, triton_bundle::manifest::Origin::File { path } if *path == host_path))
        .expect("manifest item for the vmapi log");
    assert!(item.sliced, "{item:#?}");
    assert!(!item.truncated);
    assert_eq!(item.original_bytes, Some(size));
    let entry = item.path.clone().expect("stored");
    let kept = bundle.text(&entry);
    assert_eq!(item.bytes, kept.len() as u64);

    // Every record of the window is there with its stack trace, and nothing else.
    let source = std::fs::read(&log).expect("read source");
    let want = entries_in_window(&source, since, until);
    assert_eq!(want.len(), 3601, "one record a second, both ends in");
    assert!(want.iter().any(|e| !e.continuation.is_empty()));
    let got: Vec<Entry> = LogReader::new(kept.as_bytes())
        .entries()
        .map(|e| e.expect("entry"))
        .collect();
    let strip = |e: &[Entry]| -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
        e.iter()
            .map(|e| (e.head.clone(), e.continuation.clone()))
            .collect()
    };
    assert_eq!(strip(&got), strip(&want));
    assert!(
        !kept.contains("Executing start method"),
        "leading lines are from before the window"
    );

    // Only a small part of the file was read (bisection, then a stop after the window).
    let detail = err
        .lines()
        .find(|l| l.contains(&entry) && l.contains("[sliced:"))
        .unwrap_or_else(|| panic!("no slicing detail for {entry} in\n{err}"));
    let read: u64 = detail
        .split("read ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no read count in {detail}"));
    assert!(
        read > 0 && read < size / 20,
        "read {read} of {size}: {detail}"
    );
    eprintln!(
        "sliced a 1 h window: read {read} of {size} bytes ({:.2}%)",
        100.0 * read as f64 / size as f64
    );
    assert!(
        bundle
            .manifest
            .notes
            .iter()
            .any(|n| n.starts_with("time slicing:")),
        "{:#?}",
        bundle.manifest.notes
    );
}
