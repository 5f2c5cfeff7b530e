//! The `logs` command end to end: inputs, the extensions beyond bunyan, and failure handling.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use jiff::{SignedDuration, Timestamp};

fn record(
    name: &str,
    hostname: &str,
    level: u8,
    time: Timestamp,
    msg: &str,
    extra: &str,
) -> String {
    format!(
        r#"{{"name":"{name}","hostname":"{hostname}","pid":4242,"level":{level},{extra}"msg":"{msg}","time":"{}","v":0}}"#,
        time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn logs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triton-logs"))
        .arg("--no-color")
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .expect("run triton-logs")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn giant_line_is_cut_with_a_notice_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let t = at("2024-05-01T10:00:00Z");
    let mut text = "x".repeat(5000);
    text.push('\n');
    text.push_str(&record("vmapi", "hn", 30, t, "after the giant", ""));
    text.push('\n');
    std::fs::write(dir.path().join("big.log"), text).unwrap();
    let out = logs(dir.path(), &["--line-cap", "1000", "big.log"]);
    assert_eq!(out.status.code(), Some(0));
    let lines = stdout_lines(&out);
    assert_eq!(lines[0], "x".repeat(1000));
    assert!(lines[1].ends_with(": after the giant"), "{lines:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("big.log:1:") && stderr.contains("4000 bytes dropped"),
        "notice missing: {stderr}"
    );
}

#[test]
fn invalid_utf8_passes_through_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"latin-1 caf\xe9 \xff\xfe\n".to_vec();
    bytes.extend_from_slice(record("a", "h", 30, at("2024-05-01T10:00:00Z"), "ok", "").as_bytes());
    bytes.push(b'\n');
    std::fs::write(dir.path().join("bytes.log"), &bytes).unwrap();
    let out = logs(dir.path(), &["bytes.log"]);
    assert!(
        out.stdout.starts_with(b"latin-1 caf\xe9 \xff\xfe\n"),
        "{:?}",
        out.stdout
    );
}

#[test]
fn gzip_files_read_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3 {
        let t = at("2024-05-01T10:00:00Z") + SignedDuration::from_secs(i);
        text.push_str(&record("cnapi", "hn", 30, t, &format!("m{i}"), ""));
        text.push('\n');
    }
    std::fs::write(dir.path().join("plain.log"), &text).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(dir.path().join("packed.log.gz"), enc.finish().unwrap()).unwrap();
    let plain = logs(dir.path(), &["plain.log"]);
    let packed = logs(dir.path(), &["packed.log.gz"]);
    assert_eq!(plain.stdout, packed.stdout);
    assert_eq!(stdout_lines(&packed).len(), 3);
}

#[test]
fn headnode_and_compute_node_logs_merge_by_time_with_their_stack_traces() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T10:00:00Z");
    let s = SignedDuration::from_secs;
    let hn = [
        record("vmapi", "hn", 30, t0, "hn-1", ""),
        record("vmapi", "hn", 50, t0 + s(2), "hn-2", ""),
        "    at hn stack".to_string(),
        record("vmapi", "hn", 30, t0 + s(4), "hn-3", ""),
    ]
    .join("\n");
    let cn = [
        record("cn-agent", "cn1", 30, t0 + s(1), "cn-1", ""),
        record("cn-agent", "cn1", 50, t0 + s(3), "cn-2", ""),
        "    at cn stack".to_string(),
    ]
    .join("\n");
    std::fs::write(dir.path().join("hn.log"), hn).unwrap();
    std::fs::write(dir.path().join("cn.log"), cn).unwrap();
    let out = logs(dir.path(), &["-o", "simple", "hn.log", "cn.log"]);
    assert_eq!(
        stdout_lines(&out),
        vec![
            "INFO - hn-1",
            "INFO - cn-1",
            "ERROR - hn-2",
            "    at hn stack",
            "ERROR - cn-2",
            "    at cn stack",
            "INFO - hn-3",
        ]
    );
}

fn write_hourly_logs(dir: &Path) {
    // Three hourly-rotated files of one service, one record every 10 minutes.
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    for hour in 10..13 {
        let mut text = String::new();
        for minute in (0..60).step_by(10) {
            let t = at(&format!("2024-05-01T{hour}:{minute:02}:00Z"));
            text.push_str(&record(
                "workflow",
                "hn",
                30,
                t,
                &format!("{hour}:{minute:02}"),
                "",
            ));
            text.push('\n');
        }
        let name = format!("logs/workflow_hn_2024-05-01T{hour}:00:00.log");
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn time_window_spans_hourly_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    write_hourly_logs(dir.path());
    let out = logs(
        dir.path(),
        &[
            "-o",
            "simple",
            "--since",
            "2024-05-01T10:45:00Z",
            "--until",
            "2024-05-01T11:20:00Z",
            "logs",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout_lines(&out),
        vec![
            "INFO - 10:50",
            "INFO - 11:00",
            "INFO - 11:10",
            "INFO - 11:20"
        ]
    );
}

#[test]
fn request_id_joins_records_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T10:00:00Z");
    let s = SignedDuration::from_secs;
    let rid = "7d3bd7d4-0b3c-4a8a-9a8f-1f2e3d4c5b6a";
    let vmapi = [
        record("vmapi", "hn", 30, t0, "unrelated", r#""req_id":"other","#),
        record(
            "vmapi",
            "hn",
            30,
            t0 + s(1),
            "create vm",
            &format!(r#""req_id":"{rid}","#),
        ),
    ]
    .join("\n");
    let workflow = [
        record(
            "workflow",
            "hn",
            30,
            t0 + s(2),
            "job queued",
            &format!(r#""x-request-id":"{rid}","#),
        ),
        record("workflow", "hn", 30, t0 + s(3), "other job", ""),
    ]
    .join("\n");
    let cnapi = record(
        "cnapi",
        "hn",
        30,
        t0 + s(4),
        "task sent",
        &format!(r#""req":{{"method":"POST","headers":{{"x-request-id":"{rid}"}}}},"#),
    );
    std::fs::write(dir.path().join("vmapi.log"), vmapi).unwrap();
    std::fs::write(dir.path().join("workflow.log"), workflow).unwrap();
    std::fs::write(dir.path().join("cnapi.log"), cnapi).unwrap();
    let out = logs(
        dir.path(),
        &[
            "-o",
            "simple",
            "--req-id",
            rid,
            "vmapi.log",
            "workflow.log",
            "cnapi.log",
        ],
    );
    assert_eq!(
        stdout_lines(&out),
        vec!["INFO - create vm", "INFO - job queued", "INFO - task sent"]
    );
}

#[test]
fn context_shows_neighbours_and_separates_groups() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T10:00:00Z");
    let mut text = String::new();
    for i in 0..10 {
        let level = if i == 3 || i == 8 { 50 } else { 30 };
        let t = t0 + SignedDuration::from_secs(i);
        text.push_str(&record("svc", "hn", level, t, &format!("r{i}"), ""));
        text.push('\n');
    }
    std::fs::write(dir.path().join("svc.log"), text).unwrap();
    let out = logs(
        dir.path(),
        &["-o", "simple", "--grep", "ERROR-never", "svc.log"],
    );
    assert!(out.stdout.is_empty());
    let out = logs(
        dir.path(),
        &["-o", "simple", "-l", "error", "-C", "1", "svc.log"],
    );
    assert_eq!(
        stdout_lines(&out),
        vec![
            "INFO - r2",
            "ERROR - r3",
            "INFO - r4",
            "--",
            "INFO - r7",
            "ERROR - r8",
            "INFO - r9",
        ]
    );
}

#[test]
fn field_and_vm_filters_select_records() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T10:00:00Z");
    let vm = "1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    let text = [
        record(
            "vmapi",
            "hn",
            30,
            t0,
            "a",
            &format!(r#""vm_uuid":"{vm}","route":"createvm","#),
        ),
        record("vmapi", "hn", 30, t0, "b", r#""route":"createvm","#),
        record(
            "vmapi",
            "hn",
            30,
            t0,
            "c",
            &format!(r#""params":{{"uuid":"{vm}"}},"route":"getvm","#),
        ),
    ]
    .join("\n");
    std::fs::write(dir.path().join("vmapi.log"), text).unwrap();
    let out = logs(dir.path(), &["-o", "simple", "--vm", vm, "vmapi.log"]);
    assert_eq!(stdout_lines(&out), vec!["INFO - a", "INFO - c"]);
    let out = logs(
        dir.path(),
        &["-o", "simple", "--field", "route=createvm", "vmapi.log"],
    );
    assert_eq!(stdout_lines(&out), vec!["INFO - a", "INFO - b"]);
    let out = logs(
        dir.path(),
        &[
            "-o",
            "simple",
            "--field",
            &format!("params.uuid={vm}"),
            "vmapi.log",
        ],
    );
    assert_eq!(stdout_lines(&out), vec!["INFO - c"]);
}

#[test]
fn unreadable_inputs_count_in_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let t = at("2024-05-01T10:00:00Z");
    std::fs::write(
        dir.path().join("ok.log"),
        record("a", "h", 30, t, "fine", ""),
    )
    .unwrap();
    let out = logs(
        dir.path(),
        &["-o", "simple", "missing-1.log", "ok.log", "missing-2.log"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout_lines(&out), vec!["INFO - fine"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-1.log"));
    let out = logs(dir.path(), &["-l", "loud", "ok.log"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stdin_is_read_when_no_path_is_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triton-logs"))
        .args(["--no-color", "-o", "short"])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = record("a", "h", 40, at("2024-05-01T10:00:00.5Z"), "from stdin", "");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "10:00:00.500Z  WARN a: from stdin\n"
    );
}

#[test]
fn broken_pipe_ends_quietly_with_success() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T10:00:00Z");
    let mut text = String::with_capacity(8 << 20);
    for i in 0..60_000 {
        let t = t0 + SignedDuration::from_millis(i);
        text.push_str(&record(
            "svc",
            "hn",
            30,
            t,
            "a record long enough to fill the pipe quickly",
            "",
        ));
        text.push('\n');
    }
    std::fs::write(dir.path().join("many.log"), text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_triton-logs"))
        .args(["--no-color", "many.log"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here; the writer must notice and stop.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn since_on_a_big_file_seeks_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = at("2024-05-01T00:00:00Z");
    let mut text = String::new();
    for i in 0..30_000i64 {
        let t = t0 + SignedDuration::from_secs(i);
        text.push_str(&record("svc", "hn", 30, t, &format!("r{i}"), ""));
        text.push('\n');
        if i % 50 == 0 {
            text.push_str(&format!("  trace of r{i}\n"));
        }
    }
    std::fs::write(dir.path().join("big.log"), text).unwrap();
    let out = logs(
        dir.path(),
        &[
            "-o",
            "simple",
            "--since",
            "2024-05-01T06:00:00Z",
            "--until",
            "2024-05-01T06:00:51Z",
            "big.log",
        ],
    );
    let mut want: Vec<String> = Vec::new();
    for i in 21_600..=21_651 {
        want.push(format!("INFO - r{i}"));
        if i % 50 == 0 {
            want.push(format!("  trace of r{i}"));
        }
    }
    assert_eq!(stdout_lines(&out), want);
}

/// The multi-threaded path must print exactly what the sequential one prints, whatever the batch
/// size: orphan lines, stack traces after shown and hidden records, time windows, `--strict`,
/// cut lines and the `--until` stop all cross batch boundaries here.
#[test]
fn parallel_batches_print_what_the_sequential_reader_prints() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("banner before any record\n(node) warning\n");
    let start = at("2024-05-01T10:00:00Z");
    for i in 0..400i64 {
        let t = start + SignedDuration::from_secs(i * 30);
        let level = [30, 30, 50, 40, 20][i as usize % 5];
        let extra = if i % 7 == 0 { r#""req_id":"r-7","# } else { "" };
        text.push_str(&record(
            "vmapi",
            "hn",
            level,
            t,
            &format!("record {i}"),
            extra,
        ));
        text.push('\n');
        if i % 9 == 0 {
            text.push_str("Error: socket hang up\n    at createHangUpError (http.js:1472:15)\n");
        }
        if i % 50 == 0 {
            text.push_str(&"z".repeat(300));
            text.push_str("\n{\"not\": \"a record\"}\n\n");
        }
    }
    std::fs::write(dir.path().join("v.log"), &text).unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["-l", "error"],
        &["-l", "warn", "--strict"],
        &[
            "-o",
            "short",
            "--since",
            "2024-05-01T11:00:00Z",
            "--until",
            "2024-05-01T12:00:00Z",
        ],
        &["--until", "2024-05-01T10:30:00Z"],
        &["--req-id", "r-7", "-o", "json"],
        &["--grep", "record 1", "-o", "bunyan"],
        &["--line-cap", "200", "-l", "error"],
    ];
    for args in cases {
        let with = |threads: &str, batch: &str| {
            let mut all = vec!["--threads", threads, "--batch-bytes", batch];
            all.extend_from_slice(args);
            all.push("v.log");
            logs(dir.path(), &all)
        };
        let sequential = with("1", "1");
        assert_eq!(sequential.status.code(), Some(0), "{args:?}");
        assert!(!sequential.stdout.is_empty(), "{args:?} printed nothing");
        for batch in ["1", "700", "65536"] {
            let parallel = with("3", batch);
            assert_eq!(parallel.status.code(), Some(0), "{args:?} batch {batch}");
            assert!(
                parallel.stdout == sequential.stdout,
                "{args:?} batch {batch}: parallel output differs:\n--- sequential\n{}\n--- parallel\n{}",
                String::from_utf8_lossy(&sequential.stdout),
                String::from_utf8_lossy(&parallel.stdout)
            );
            assert_eq!(parallel.stderr, sequential.stderr, "{args:?} batch {batch}");
        }
    }
}
