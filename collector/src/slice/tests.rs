use super::*;
use std::io::Write;

fn rec(time: &str, msg: &str) -> String {
    format!(
        r#"{{"name":"n","hostname":"h","pid":1,"level":30,"msg":"{msg}","time":"{time}","v":0}}"#
    )
}

fn request(since: &str, until: &str, cap: u64) -> SliceRequest {
    let until: Timestamp = until.parse().expect("until");
    SliceRequest {
        since: since.parse().expect("since"),
        until,
        focus: until,
        cap,
    }
}

fn slice_text(text: &str, format: LogFormat, request: &SliceRequest) -> (String, Sliced) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.log");
    std::fs::write(&path, text).expect("write");
    let mut file = File::open(&path).expect("open");
    let sliced = slice_file(&mut file, Some(&path), format, request).expect("slice");
    (
        String::from_utf8(sliced.data.clone()).expect("utf8"),
        sliced,
    )
}

#[test]
fn keeps_window_records_with_traces_and_leading_lines_only_when_in_window() {
    let lines = [
        "[ Jan 18 03:59:00 Executing start method ]".to_string(),
        rec("2024-01-18T04:00:00Z", "first"),
        rec("2024-01-18T04:10:00Z", "in"),
        "    at boom (x.js:1)".to_string(),
        rec("2024-01-18T04:30:00Z", "after"),
        "    at later (y.js:2)".to_string(),
    ];
    let text = lines.join("\n") + "\n";
    let (got, sliced) = slice_text(
        &text,
        LogFormat::Bunyan,
        &request("2024-01-18T04:05:00Z", "2024-01-18T04:20:00Z", 1 << 20),
    );
    assert_eq!(got, format!("{}\n{}\n", lines[2], lines[3]));
    assert!(!sliced.untimed && !sliced.capped);
    let (got, _) = slice_text(
        &text,
        LogFormat::Bunyan,
        &request("2024-01-18T03:50:00Z", "2024-01-18T04:20:00Z", 1 << 20),
    );
    assert_eq!(got, lines[..4].join("\n") + "\n", "leading lines kept");
}

#[test]
fn a_file_without_records_comes_back_untimed_as_its_tail() {
    let (got, sliced) = slice_text(
        "one\ntwo\nthree\n",
        LogFormat::Bunyan,
        &request("2024-01-18T04:05:00Z", "2024-01-18T04:20:00Z", 12),
    );
    assert!(sliced.untimed && sliced.capped);
    assert_eq!(got, "two\nthree\n", "the tail under the cap, whole lines");
}

#[test]
fn a_sorted_file_is_entered_by_bisection_and_left_after_the_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.log");
    let mut out = std::io::BufWriter::new(File::create(&path).expect("create"));
    let base: Timestamp = "2024-01-18T00:00:00Z".parse().expect("ts");
    for i in 0..100_000i64 {
        let t = base + SignedDuration::from_secs(i * 2);
        writeln!(out, "{}", rec(&t.to_string(), &format!("r{i}"))).expect("write");
    }
    drop(out);
    let size = std::fs::metadata(&path).expect("meta").len();
    let req = SliceRequest {
        since: base + SignedDuration::from_secs(100_000),
        until: base + SignedDuration::from_secs(103_600),
        focus: base + SignedDuration::from_secs(103_600),
        cap: 1 << 30,
    };
    let mut file = File::open(&path).expect("open");
    let sliced = slice_file(&mut file, Some(&path), LogFormat::Bunyan, &req).expect("slice");
    let kept = sliced.data.iter().filter(|b| **b == b'\n').count();
    assert_eq!(kept, 1801, "records every 2 s over one hour, both ends in");
    assert!(
        sliced.stream_bytes < size / 10,
        "read {} of {size}",
        sliced.stream_bytes
    );
}

#[test]
fn a_file_found_out_of_order_after_the_seek_is_scanned_from_the_start() {
    let base: Timestamp = "2024-01-18T00:00:00Z".parse().expect("ts");
    // An in-window record far before the seek point, a long sorted stretch before the window,
    // then records going back in time (a merged task log).
    let mut lines = vec![rec("2024-01-18T11:20:00Z", "out of place in window")];
    for i in 0..20_000i64 {
        let t = base + SignedDuration::from_secs(i);
        lines.push(rec(&t.to_string(), "old"));
    }
    lines.push(rec("2024-01-18T11:30:00Z", "in window"));
    lines.push(rec("2024-01-18T02:00:00Z", "back in time"));
    lines.push(rec("2024-01-18T11:40:00Z", "in window again"));
    let text = lines.join("\n") + "\n";
    let (got, sliced) = slice_text(
        &text,
        LogFormat::Bunyan,
        &request("2024-01-18T11:00:00Z", "2024-01-18T13:00:00Z", 1 << 30),
    );
    assert!(sliced.rescanned);
    let msgs: Vec<&str> = got
        .lines()
        .map(|l| {
            l.split("\"msg\":\"")
                .nth(1)
                .unwrap_or("")
                .split('"')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(
        msgs,
        vec!["out of place in window", "in window", "in window again"]
    );
}

#[test]
fn a_sorted_file_keeps_what_follows_the_seek_point_in_order() {
    let (got, sliced) = slice_text(
        &(rec("2024-01-18T11:30:00Z", "a") + "\n" + &rec("2024-01-18T11:31:00Z", "b") + "\n"),
        LogFormat::Bunyan,
        &request("2024-01-18T11:00:00Z", "2024-01-18T13:00:00Z", 1 << 30),
    );
    assert!(!sliced.rescanned);
    assert_eq!(got.lines().count(), 2);
}

#[test]
fn heartbeater_lines_are_cut_by_their_stamp() {
    let text = "[2014-03-25T22:59:00.000Z] .Z(3,0)PM\n\
                Connected 10.0.0.5:5672\n\
                [2014-03-25T23:01:00.000Z] .Z(4,0)PMC\n\
                zpool list error: busy\n\
                [2014-03-25T23:30:00.000Z] ....\n";
    let (got, _) = slice_text(
        text,
        LogFormat::Heartbeater,
        &request("2014-03-25T23:00:00Z", "2014-03-25T23:10:00Z", 1 << 20),
    );
    assert_eq!(
        got,
        "[2014-03-25T23:01:00.000Z] .Z(4,0)PMC\nzpool list error: busy\n"
    );
}

/// The 1-based number of the line starting at byte `offset` of `text`.
fn line_number_at(text: &str, offset: u64) -> u64 {
    let before = &text.as_bytes()[..offset as usize];
    assert!(before.is_empty() || before.ends_with(b"\n"), "a line start");
    before.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

#[test]
fn a_scan_from_the_start_knows_the_first_kept_line_and_its_offset() {
    let lines = [
        "[ Jan 18 03:59:00 Executing start method ]".to_string(),
        rec("2024-01-18T04:00:00Z", "first"),
        rec("2024-01-18T04:10:00Z", "in"),
        "    at boom (x.js:1)".to_string(),
        rec("2024-01-18T04:12:00Z", "in too"),
        rec("2024-01-18T04:30:00Z", "after"),
    ];
    let text = lines.join("\n") + "\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.log");
    std::fs::write(&path, &text).expect("write");
    let mut file = File::open(&path).expect("open");
    let req = request("2024-01-18T04:05:00Z", "2024-01-18T04:20:00Z", 1 << 20);
    let sliced = slice_file(&mut file, None, LogFormat::Bunyan, &req).expect("slice");
    let origin = sliced.origin.expect("origin");
    assert_eq!(origin.first_line, Some(3));
    assert_eq!(
        origin.first_line,
        Some(line_number_at(&text, origin.offset))
    );
    assert_eq!(
        &text.as_bytes()[origin.offset as usize..][..sliced.data.len()],
        &sliced.data[..]
    );
}

#[test]
fn after_a_bisection_only_the_offset_is_known() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.log");
    let base: Timestamp = "2024-01-18T00:00:00Z".parse().expect("ts");
    let mut text = String::new();
    for i in 0..50_000i64 {
        let t = base + SignedDuration::from_secs(i * 2);
        text.push_str(&rec(&t.to_string(), &format!("r{i}")));
        text.push('\n');
    }
    std::fs::write(&path, &text).expect("write");
    let req = SliceRequest {
        since: base + SignedDuration::from_secs(60_000),
        until: base + SignedDuration::from_secs(61_000),
        focus: base + SignedDuration::from_secs(61_000),
        cap: 1 << 30,
    };
    let mut file = File::open(&path).expect("open");
    let sliced = slice_file(&mut file, Some(&path), LogFormat::Bunyan, &req).expect("slice");
    let origin = sliced.origin.expect("origin");
    assert_eq!(
        origin.first_line, None,
        "lines before the seek point were not counted"
    );
    assert!(text[origin.offset as usize..].starts_with(&rec(
        &(base + SignedDuration::from_secs(60_000)).to_string(),
        "r30000"
    )));

    // The same file scanned from its start knows the line too.
    let mut file = File::open(&path).expect("open");
    let scanned = slice_file(&mut file, None, LogFormat::Bunyan, &req).expect("slice");
    assert_eq!(scanned.data, sliced.data);
    let origin = scanned.origin.expect("origin");
    assert_eq!(origin.first_line, Some(30_001));
    assert_eq!(
        origin.first_line,
        Some(line_number_at(&text, origin.offset))
    );
}

#[test]
fn kept_lines_with_a_hole_do_not_claim_a_first_line() {
    let text = [
        rec("2024-01-18T04:10:00Z", "in"),
        rec("2024-01-18T01:00:00Z", "far before"),
        rec("2024-01-18T04:11:00Z", "in again"),
    ]
    .join("\n")
        + "\n";
    let (got, sliced) = slice_text(
        &text,
        LogFormat::Bunyan,
        &request("2024-01-18T04:05:00Z", "2024-01-18T04:20:00Z", 1 << 20),
    );
    assert_eq!(got.lines().count(), 2);
    let origin = sliced.origin.expect("origin");
    assert_eq!((origin.offset, origin.first_line), (0, None));
}
