//! Finding where a time window starts in a big log without reading all of it.
//!
//! A log file is written in time order, so the first record at or after `since` can be found by
//! bisecting byte offsets: probe the middle, read forward to the next record, compare its time.
//! The result is only a place to start reading; the normal filter still checks every record, so
//! a file that is not quite sorted loses nothing after that place.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::Path;

use jiff::Timestamp;

use crate::lines::LineReader;
use crate::record::Record;

/// Below this span the bisection stops and the scan takes over.
const SCAN_SPAN: u64 = 256 * 1024;
/// How far past a probe point to look for a record with a time.
const PROBE_WINDOW: u64 = 4 * 1024 * 1024;

/// A byte offset at a line start, at or before the first record with `time >= since` (0 when
/// unsure). Only for plain (uncompressed) files.
pub fn start_offset_for(path: &Path, since: Timestamp) -> io::Result<u64> {
    start_offset_in(&mut File::open(path)?, since)
}

/// [`start_offset_for`] on a file already open (opened, say, without following symlinks out of a
/// zone root). Leaves the file's position anywhere: seek before reading.
pub fn start_offset_in(file: &mut File, since: Timestamp) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut lo = 0u64;
    let mut hi = len;
    while hi - lo > SCAN_SPAN {
        let mid = lo + (hi - lo) / 2;
        match probe(file, mid, hi)? {
            Some((offset, time)) if time < since && offset > lo => lo = offset,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// The first record (offset, time) starting after `at` and before `limit`.
fn probe(file: &mut File, at: u64, limit: u64) -> io::Result<Option<(u64, Timestamp)>> {
    file.seek(SeekFrom::Start(at))?;
    let mut lines = LineReader::new(BufReader::with_capacity(64 * 1024, &mut *file));
    lines.set_offset(at);
    let mut buf = Vec::new();
    // The first piece is the tail of a line that started before `at`.
    if lines.read_line(&mut buf)?.is_none() {
        return Ok(None);
    }
    while let Some(info) = lines.read_line(&mut buf)? {
        if info.offset >= limit || info.offset - at > PROBE_WINDOW {
            break;
        }
        if let Some(time) = Record::parse(&buf).and_then(|r| r.time()) {
            return Ok(Some((info.offset, time)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bisection_lands_before_the_window_and_close_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut file = std::io::BufWriter::new(File::create(&path).unwrap());
        let base: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        let mut offsets = Vec::new();
        let mut offset = 0u64;
        for i in 0..40_000i64 {
            let t = base + jiff::SignedDuration::from_secs(i);
            let line = format!(
                r#"{{"name":"n","hostname":"h","pid":1,"level":30,"msg":"record {i}","time":"{t}","v":0}}"#
            );
            offsets.push(offset);
            offset += line.len() as u64 + 1;
            writeln!(file, "{line}").unwrap();
            if i % 100 == 0 {
                let continuation = "  a continuation line";
                writeln!(file, "{continuation}").unwrap();
                offset += continuation.len() as u64 + 1;
            }
        }
        drop(file);
        let since = base + jiff::SignedDuration::from_secs(30_000);
        let start = start_offset_for(&path, since).unwrap();
        assert!(start <= offsets[30_000], "start {start} is past the window");
        assert!(
            offsets[30_000] - start <= 2 * SCAN_SPAN,
            "start {start} is far from the window"
        );
        assert!(
            offsets.contains(&start),
            "start {start} is not a record start"
        );
    }
}
