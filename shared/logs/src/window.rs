//! Cutting the part of a log that falls in a time window, bytes unchanged: what a collector
//! needs to ship only the relevant hours of a big log.

use std::io::{self, BufRead, Write};
use std::path::Path;

use jiff::Timestamp;

use crate::input::{self, InputSpec};
use crate::lines::LineReader;
use crate::reader::{LineKind, LogReader};
use crate::seek;

/// A closed time interval; an open end is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeWindow {
    pub fn contains(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }
}

/// What [`slice_window`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SliceStats {
    pub lines_read: u64,
    pub lines_written: u64,
    pub records_written: u64,
    pub bytes_written: u64,
    /// Lines longer than the line cap (written cut).
    pub lines_cut: u64,
}

/// Copies the records of `reader` that fall in `window`, each with its continuation lines, to
/// `out`, byte for byte. A record without a readable time goes with the record before it.
/// Lines before the first record are kept when `keep_leading` is set.
pub fn slice_window<R: BufRead, W: Write>(
    reader: &mut LogReader<R>,
    window: &TimeWindow,
    keep_leading: bool,
    out: &mut W,
) -> io::Result<SliceStats> {
    let mut stats = SliceStats::default();
    let mut keep = keep_leading;
    while let Some(line) = reader.next_line()? {
        stats.lines_read += 1;
        if line.info.cut_bytes > 0 {
            stats.lines_cut += 1;
        }
        if line.kind == LineKind::Record {
            if let Some(time) = line.record.and_then(|r| r.time()) {
                keep = window.contains(time);
            }
        } else if line.kind == LineKind::Orphan {
            keep = keep_leading;
        }
        if keep {
            out.write_all(line.bytes)?;
            out.write_all(b"\n")?;
            stats.lines_written += 1;
            stats.bytes_written += line.bytes.len() as u64 + 1;
            if line.kind == LineKind::Record {
                stats.records_written += 1;
            }
        }
    }
    Ok(stats)
}

/// [`slice_window`] over a file: gzip is decompressed; a plain file is entered near
/// `window.since` by bisection instead of being read from the start.
pub fn slice_file_window<W: Write>(
    path: &Path,
    window: &TimeWindow,
    keep_leading: bool,
    out: &mut W,
) -> io::Result<SliceStats> {
    if let Some(since) = window.since {
        let offset = seek::start_offset_for(path, since)?;
        if offset > 0 {
            if let Some(plain) = input::open_plain_at(path, offset)? {
                let mut lines = LineReader::new(plain);
                lines.set_offset(offset);
                let mut reader = LogReader::from_lines(lines);
                reader.assume_record_seen();
                return slice_window(&mut reader, window, false, out);
            }
        }
    }
    let mut reader = LogReader::new(input::open_input(&InputSpec::File(path.to_path_buf()))?);
    slice_window(&mut reader, window, keep_leading, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(time: &str, msg: &str) -> String {
        format!(
            r#"{{"name":"n","hostname":"h","pid":1,"level":30,"msg":"{msg}","time":"{time}","v":0}}"#
        )
    }

    #[test]
    fn window_keeps_records_with_their_continuation_lines() {
        let text = [
            "banner".to_string(),
            rec("2024-05-01T09:59:59Z", "before"),
            "  before's trace".to_string(),
            rec("2024-05-01T10:00:00Z", "first"),
            "  first's trace".to_string(),
            r#"{"name":"n","hostname":"h","pid":1,"level":30,"msg":"no time","time":"?","v":0}"#
                .to_string(),
            rec("2024-05-01T10:30:00Z", "last"),
            rec("2024-05-01T10:30:00.001Z", "after"),
        ]
        .join("\n");
        let window = TimeWindow {
            since: Some("2024-05-01T10:00:00Z".parse().unwrap()),
            until: Some("2024-05-01T10:30:00Z".parse().unwrap()),
        };
        let mut out = Vec::new();
        let mut reader = LogReader::new(text.as_bytes());
        let stats = slice_window(&mut reader, &window, false, &mut out).unwrap();
        let got = String::from_utf8(out).unwrap();
        let want: Vec<String> = vec![
            rec("2024-05-01T10:00:00Z", "first"),
            "  first's trace".into(),
            r#"{"name":"n","hostname":"h","pid":1,"level":30,"msg":"no time","time":"?","v":0}"#
                .into(),
            rec("2024-05-01T10:30:00Z", "last"),
        ];
        assert_eq!(got, want.join("\n") + "\n");
        assert_eq!(stats.records_written, 3);
        assert_eq!(stats.lines_read, 8);
    }

    #[test]
    fn file_slicing_agrees_with_a_full_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let base: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        let mut text = String::new();
        for i in 0..20_000i64 {
            let t = base + jiff::SignedDuration::from_secs(i * 3);
            text.push_str(&rec(&t.to_string(), &format!("r{i}")));
            text.push('\n');
        }
        std::fs::write(&path, &text).unwrap();
        let window = TimeWindow {
            since: Some(base + jiff::SignedDuration::from_secs(40_000)),
            until: Some(base + jiff::SignedDuration::from_secs(41_000)),
        };
        let mut sliced = Vec::new();
        slice_file_window(&path, &window, false, &mut sliced).unwrap();
        let mut scanned = Vec::new();
        slice_window(
            &mut LogReader::new(text.as_bytes()),
            &window,
            false,
            &mut scanned,
        )
        .unwrap();
        assert_eq!(sliced, scanned);
        // Records every 3 s: 40002 s to 40998 s.
        assert_eq!(sliced.iter().filter(|b| **b == b'\n').count(), 333);
    }
}
