//! Any bytes as a bunyan log: every line through the record view and every renderer, and the
//! whole input through the streaming reader, the entry grouping, the window slicer and the merge.
#![no_main]

use jiff::tz::TimeZone;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use triton_logs::render::render_value;
use triton_logs::{
    parse_record_time, parse_time_bound, render_record, slice_window, LogReader, MergeEvent,
    MergeReader, OutputMode, OutputSpec, Record, RenderOptions, TimeWindow,
};

const MODES: [OutputMode; 6] = [
    OutputMode::Long,
    OutputMode::Short,
    OutputMode::Simple,
    OutputMode::Json,
    OutputMode::Bunyan,
    OutputMode::Inspect,
];

fn exercise_record(record: &Record<'_>) {
    let _ = (
        record.time(),
        record.level_number(),
        record.level(),
        record.pid(),
    );
    let _ = (
        record.name(),
        record.hostname(),
        record.msg(),
        record.req_id(),
    );
    let _ = (
        record.vm_uuid(),
        record.job_uuid(),
        record.field_text("err"),
    );
    let _ = (record.raw_field("time"), record.mentions(b"uuid"));
    let mut out = Vec::new();
    for (i, mode) in MODES.into_iter().enumerate() {
        let opts = RenderOptions {
            output: OutputSpec {
                mode,
                json_indent: i % 3,
            },
            color: i % 2 == 0,
            local_time: (i % 3 == 1).then_some(TimeZone::fixed(jiff::tz::offset(-7))),
        };
        out.clear();
        render_record(record, &opts, &mut out);
        assert!(
            out.ends_with(b"\n"),
            "a rendered record ends with a newline"
        );
    }
    if let Some(value) = record.to_value() {
        let _ = render_value(value, &RenderOptions::default());
    }
}

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if let Some(record) = Record::parse(line) {
            exercise_record(&record);
        }
        if let Ok(text) = std::str::from_utf8(line) {
            let _ = parse_record_time(text);
            let _ = parse_time_bound(text, Timestamp::UNIX_EPOCH);
            let _ = OutputSpec::parse(text);
        }
    }

    let mut reader = LogReader::new(data);
    while let Ok(Some(line)) = reader.next_line() {
        if let Some(record) = line.record {
            let _ = (record.time(), record.msg());
        }
    }

    for entry in LogReader::new(data).entries() {
        let Ok(entry) = entry else { break };
        if let Some(record) = entry.record() {
            let _ = record.to_value();
        }
    }

    let mut copy = Vec::new();
    let everything = TimeWindow::default();
    if let Ok(stats) = slice_window(&mut LogReader::new(data), &everything, true, &mut copy) {
        assert_eq!(
            stats.lines_read, stats.lines_written,
            "an unbounded window keeps every line"
        );
    }
    let narrow = TimeWindow {
        since: Timestamp::from_second(1_500_000_000).ok(),
        until: Timestamp::from_second(1_700_000_000).ok(),
    };
    let _ = slice_window(&mut LogReader::new(data), &narrow, false, &mut Vec::new());

    let mut merge = MergeReader::new(vec![LogReader::new(data), LogReader::new(data)]);
    while let Some(event) = merge.next_event() {
        if let MergeEvent::Error { .. } = event {
            break;
        }
    }
});
