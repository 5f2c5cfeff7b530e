//! Reading a log as a stream of classified lines, and grouping records with their continuation
//! lines (stack traces, SMF method output printed after a record).

use std::io::{self, BufRead};

use crate::lines::{LineInfo, LineReader};
use crate::record::{FieldSpans, Record};

/// How a line relates to the bunyan records around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A bunyan record.
    Record,
    /// A non-record line after a record: it belongs to that record (a stack trace, say).
    Continuation,
    /// A non-record line before the first record of the input.
    Orphan,
}

/// One line of a log, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub kind: LineKind,
    pub info: LineInfo,
    /// Set when `kind` is [`LineKind::Record`].
    pub record: Option<Record<'a>>,
}

/// Streaming reader of a bunyan log: one buffer, reused for every line.
pub struct LogReader<R> {
    lines: LineReader<R>,
    buf: Vec<u8>,
    seen_record: bool,
    current: Option<(LineInfo, LineKind, Option<FieldSpans>)>,
}

impl LogReader<crate::input::BoxedInput> {
    /// Opens a log file (gzip detected from its content).
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let spec = crate::input::InputSpec::File(path.to_path_buf());
        Ok(Self::new(crate::input::open_input(&spec)?))
    }
}

impl<R: BufRead> LogReader<R> {
    pub fn new(inner: R) -> Self {
        Self::from_lines(LineReader::new(inner))
    }

    pub fn with_cap(inner: R, cap: usize) -> Self {
        Self::from_lines(LineReader::with_cap(inner, cap))
    }

    pub fn from_lines(lines: LineReader<R>) -> Self {
        LogReader {
            lines,
            buf: Vec::with_capacity(4096),
            seen_record: false,
            current: None,
        }
    }

    /// Treats the coming lines as following a record (after seeking into the middle of a file).
    pub fn assume_record_seen(&mut self) {
        self.seen_record = true;
    }

    /// Byte offset of the next line.
    pub fn offset(&self) -> u64 {
        self.lines.offset()
    }

    /// The next line, classified. Bytes are kept as they are; a record's invalid UTF-8 reads
    /// as U+FFFD through [`Record`], as the bunyan CLI reads it.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.advance()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    /// Moves to the next line; `false` at the end of input. The line stays available through
    /// [`LogReader::current`] until the next call, which lets a merge hold one line per input.
    pub fn advance(&mut self) -> io::Result<bool> {
        self.current = None;
        let Some(info) = self.lines.read_line(&mut self.buf)? else {
            return Ok(false);
        };
        let spans = if info.cut_bytes == 0 {
            Record::parse(&self.buf).map(|r| r.spans())
        } else {
            None
        };
        let kind = if spans.is_some() {
            self.seen_record = true;
            LineKind::Record
        } else if self.seen_record {
            LineKind::Continuation
        } else {
            LineKind::Orphan
        };
        self.current = Some((info, kind, spans));
        Ok(true)
    }

    /// The line the reader is on (after [`LogReader::advance`] returned `true`).
    pub fn current(&self) -> Option<Line<'_>> {
        let (info, kind, spans) = self.current?;
        let bytes = &self.buf[..];
        Some(Line {
            bytes,
            kind,
            info,
            record: spans.map(|spans| Record::from_spans(bytes, spans)),
        })
    }

    /// Groups lines into [`Entry`] values (owned; for consumers that want a record together
    /// with its stack trace).
    pub fn entries(self) -> Entries<R> {
        Entries {
            reader: self,
            pending: None,
        }
    }
}

/// A record with the non-record lines that followed it, or a lone non-record line that came
/// before any record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record line (or the orphan line).
    pub head: Vec<u8>,
    pub is_record: bool,
    /// 1-based line number of `head`.
    pub line_number: u64,
    /// Continuation lines, in order.
    pub continuation: Vec<Vec<u8>>,
}

impl Entry {
    /// The record view of `head` (None for an orphan line).
    pub fn record(&self) -> Option<Record<'_>> {
        if self.is_record {
            Record::parse(&self.head)
        } else {
            None
        }
    }
}

/// Keeps one entry's continuation lines bounded; past this, lines come as separate entries.
const MAX_CONTINUATION_BYTES: usize = 64 * 1024 * 1024;

/// Iterator of [`Entry`] values.
pub struct Entries<R> {
    reader: LogReader<R>,
    pending: Option<Entry>,
}

impl<R: BufRead> Iterator for Entries<R> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.reader.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return self.pending.take().map(Ok),
                Err(err) => return Some(Err(err)),
            };
            let fresh = Entry {
                head: line.bytes.to_vec(),
                is_record: line.kind == LineKind::Record,
                line_number: line.info.number,
                continuation: Vec::new(),
            };
            match (line.kind, self.pending.as_mut()) {
                (LineKind::Continuation, Some(entry))
                    if entry.is_record
                        && entry.continuation.iter().map(Vec::len).sum::<usize>()
                            < MAX_CONTINUATION_BYTES =>
                {
                    entry.continuation.push(fresh.head);
                }
                _ => {
                    let done = self.pending.replace(fresh);
                    if done.is_some() {
                        return done.map(Ok);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str = r#"{"name":"a","hostname":"h","pid":1,"level":50,"msg":"boom","time":"2024-05-01T10:00:00Z","v":0}"#;

    #[test]
    fn continuation_lines_attach_to_the_preceding_record() {
        let text = format!("banner\n{REC}\n    at foo (x.js:1)\n    at bar (y.js:2)\n{REC}\n");
        let entries: Vec<Entry> = LogReader::new(text.as_bytes())
            .entries()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(entries.len(), 3);
        assert!(!entries[0].is_record);
        assert_eq!(entries[0].head, b"banner");
        assert!(entries[1].is_record);
        assert_eq!(entries[1].line_number, 2);
        assert_eq!(
            entries[1].continuation,
            vec![
                b"    at foo (x.js:1)".to_vec(),
                b"    at bar (y.js:2)".to_vec()
            ]
        );
        assert!(entries[2].continuation.is_empty());
        assert_eq!(entries[1].record().unwrap().level(), Some(50));
    }

    #[test]
    fn line_kinds_follow_the_first_record() {
        let text = format!("x\n{REC}\ny\n");
        let mut reader = LogReader::new(text.as_bytes());
        let mut kinds = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            kinds.push(line.kind);
        }
        assert_eq!(
            kinds,
            vec![LineKind::Orphan, LineKind::Record, LineKind::Continuation]
        );
    }

    #[test]
    fn invalid_utf8_in_plain_lines_survives_and_records_still_parse() {
        let mut text = b"caf\xe9 latin-1 line\n".to_vec();
        text.extend_from_slice(br#"{"name":"a","hostname":"h","pid":1,"level":30,"msg":"caf"#);
        text.push(0xe9);
        text.extend_from_slice(br#"","time":"2024-05-01T10:00:00Z","v":0}"#);
        let mut reader = LogReader::new(&text[..]);
        let first = reader.next_line().unwrap().unwrap();
        assert_eq!(first.bytes, b"caf\xe9 latin-1 line");
        let second = reader.next_line().unwrap().unwrap();
        assert_eq!(second.kind, LineKind::Record);
        assert_eq!(second.record.unwrap().msg().as_deref(), Some("caf\u{fffd}"));
    }
}
