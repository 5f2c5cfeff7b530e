//! Cutting time-ordered logs to the window by record time (not file mtime).
//!
//! A log is read once, from where the window starts: for bunyan logs the log engine bisects the
//! file on byte offsets ([`triton_logs::seek::start_offset_for`]), and reading stops once the
//! records are clearly past the window. Lines that are not records (stack traces, SMF method
//! output) stay with the record before them; lines before the first record are kept only when
//! that first record is in the window. A file found out of order (a record much older than one
//! before it) is scanned whole instead, so nothing in the window is lost. What is kept then goes
//! through the per-file cap of [`budget`].

pub mod budget;
mod heartbeater;

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use triton_logs::{LineKind, LineReader, LogReader};

use budget::{FocusBuffer, KeptOrigin, LineOrigin};

/// How a file is read: whole (tail kept past the cap), or sliced to the window by record time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Not time-sliceable (qemu output, shell traces, configs, archives).
    #[default]
    Whole,
    /// Bunyan records (`time` field); bisected when sorted.
    Bunyan,
    /// Legacy heartbeater lines `[<ISO time>] ...`; small, so scanned.
    Heartbeater,
}

/// Records can be this much out of order (several processes writing one log, clock steps)
/// before a file counts as unsorted; reading also goes on this far past the window's end.
pub const ORDER_SLACK: SignedDuration = SignedDuration::from_mins(5);

/// How much of the window to keep and where its most valuable part is.
#[derive(Debug, Clone, Copy)]
pub struct SliceRequest {
    pub since: Timestamp,
    pub until: Timestamp,
    /// The time nearest the failure (see [`budget`]).
    pub focus: Timestamp,
    /// Per-file cap on the kept bytes.
    pub cap: u64,
}

impl SliceRequest {
    fn contains(&self, time: Timestamp) -> bool {
        self.since <= time && time <= self.until
    }
}

/// What slicing one file gave.
#[derive(Debug)]
pub struct Sliced {
    pub data: Vec<u8>,
    /// No line had a time: the file is not in this format, and `data` is its tail under the
    /// cap (the whole file was read anyway, so it is not read again).
    pub untimed: bool,
    /// The cap dropped part of the window.
    pub capped: bool,
    /// Bytes read by the slicing pass(es), excluding the bisection probes.
    pub stream_bytes: u64,
    /// The file was found out of order after a seek and scanned from its start.
    pub rescanned: bool,
    /// Where `data` starts in the file; `None` when nothing was kept.
    pub origin: Option<DataOrigin>,
}

/// Where kept bytes start in the original file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOrigin {
    /// Byte offset of the first kept byte (a line start).
    pub offset: u64,
    /// 1-based line number of the first kept line, known when the file was read from its start
    /// and the kept lines are one contiguous run of it (so kept line `n` is line
    /// `first_line + n - 1`).
    pub first_line: Option<u64>,
}

/// Slices an open file. `seek_path` reopens the same file for the engine's bisection (bunyan
/// only); without it the file is scanned from its start.
pub fn slice_file(
    file: &mut File,
    seek_path: Option<&Path>,
    format: LogFormat,
    request: &SliceRequest,
) -> io::Result<Sliced> {
    let start = match (format, seek_path) {
        (LogFormat::Bunyan, Some(path)) => {
            // A failed bisection only costs speed: scan instead.
            triton_logs::seek::start_offset_for(path, request.since).unwrap_or(0)
        }
        _ => 0,
    };
    let mut stream_bytes = 0;
    let first = pass(file, format, request, start, &mut stream_bytes)?;
    let (keeper, rescanned) = match first {
        PassEnd::Done(keeper) => (keeper, false),
        PassEnd::OutOfOrder => match pass(file, format, request, 0, &mut stream_bytes)? {
            PassEnd::Done(keeper) => (keeper, true),
            PassEnd::OutOfOrder => unreachable!("a scan from the start does not restart"),
        },
    };
    Ok(keeper.finish(stream_bytes, rescanned, start))
}

enum PassEnd {
    Done(Box<Keeper>),
    /// Disorder found after a seek: what lies before the seek point may hold window records.
    OutOfOrder,
}

/// One read of the file from `start` to the end (or to an early stop).
fn pass(
    file: &mut File,
    format: LogFormat,
    request: &SliceRequest,
    start: u64,
    stream_bytes: &mut u64,
) -> io::Result<PassEnd> {
    file.seek(SeekFrom::Start(start))?;
    let counted = CountingReader {
        inner: &mut *file,
        count: stream_bytes,
    };
    let mut lines = LineReader::new(BufReader::with_capacity(256 * 1024, counted));
    lines.set_offset(start);
    let mut keeper = Keeper::new(request, start > 0);
    let flow = match format {
        LogFormat::Bunyan => {
            let mut reader = LogReader::from_lines(lines);
            if start > 0 {
                reader.assume_record_seen();
            }
            let mut flow = Flow::Go;
            while let Some(line) = reader.next_line()? {
                let class = match line.kind {
                    LineKind::Record => Class::Entry(line.record.and_then(|r| r.time())),
                    LineKind::Continuation | LineKind::Orphan => Class::Follow,
                };
                flow = keeper.line(line.bytes, class, origin_of(&line.info));
                if flow != Flow::Go {
                    break;
                }
            }
            flow
        }
        LogFormat::Heartbeater | LogFormat::Whole => {
            let mut buf = Vec::new();
            let mut flow = Flow::Go;
            while let Some(info) = lines.read_line(&mut buf)? {
                let class = match format {
                    LogFormat::Heartbeater => heartbeater::classify(&buf),
                    _ => Class::Follow,
                };
                flow = keeper.line(&buf, class, origin_of(&info));
                if flow != Flow::Go {
                    break;
                }
            }
            flow
        }
    };
    Ok(match flow {
        Flow::Restart => PassEnd::OutOfOrder,
        Flow::Go | Flow::Stop => PassEnd::Done(Box::new(keeper)),
    })
}

fn origin_of(info: &triton_logs::LineInfo) -> LineOrigin {
    LineOrigin {
        offset: info.offset,
        seq: info.number,
    }
}

/// How a line relates to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Starts an entry (a record), with its time when readable.
    Entry(Option<Timestamp>),
    /// Belongs to the entry before it (or precedes the first entry).
    Follow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// Past the window (sorted file) or the cap is full.
    Stop,
    /// Out of order after a seek: scan from the start instead.
    Restart,
}

/// Decides line by line what is kept.
struct Keeper {
    request: SliceRequest,
    seeked: bool,
    kept: FocusBuffer,
    /// Lines before the first timed entry, kept (as a tail under the cap) until it decides.
    leading: Option<FocusBuffer>,
    /// Whether the current entry is kept; `None` before the first timed entry.
    keep: Option<bool>,
    latest: Option<Timestamp>,
    out_of_order: bool,
}

impl Keeper {
    fn new(request: &SliceRequest, seeked: bool) -> Keeper {
        Keeper {
            request: *request,
            seeked,
            kept: FocusBuffer::new(request.cap),
            leading: Some(FocusBuffer::new(request.cap)),
            keep: None,
            latest: None,
            out_of_order: false,
        }
    }

    fn line(&mut self, bytes: &[u8], class: Class, origin: LineOrigin) -> Flow {
        match class {
            Class::Entry(Some(time)) => {
                if let Some(latest) = self.latest {
                    if time.checked_add(ORDER_SLACK).is_ok_and(|t| t < latest) {
                        if self.seeked {
                            return Flow::Restart;
                        }
                        self.out_of_order = true;
                    }
                }
                self.latest = Some(self.latest.map_or(time, |l| l.max(time)));
                let past_window = self
                    .request
                    .until
                    .checked_add(ORDER_SLACK)
                    .is_ok_and(|end| time > end);
                if past_window && !self.out_of_order {
                    return Flow::Stop;
                }
                let keep = self.request.contains(time);
                if let Some(leading) = self.leading.take() {
                    let (lines, leading_origin) = leading.into_parts();
                    if let (true, Some(from)) = (keep, leading_origin) {
                        self.kept.start_entry(time > self.request.focus);
                        self.kept.push_line(&lines[..lines.len() - 1], from.first);
                    }
                }
                self.keep = Some(keep);
                if keep {
                    self.kept.start_entry(time > self.request.focus);
                }
                self.push(bytes, origin)
            }
            Class::Entry(None) => {
                // A record without a readable time goes with the entry before it.
                if self.keep == Some(true) {
                    self.kept.start_entry(false);
                }
                self.push(bytes, origin)
            }
            Class::Follow => self.push(bytes, origin),
        }
    }

    fn push(&mut self, bytes: &[u8], origin: LineOrigin) -> Flow {
        match (&mut self.leading, self.keep) {
            (Some(leading), None) => {
                leading.start_entry(false);
                leading.push_line(bytes, origin);
                Flow::Go
            }
            (_, Some(true)) if !self.kept.push_line(bytes, origin) => Flow::Stop,
            _ => Flow::Go,
        }
    }

    /// `start` is where the pass began: line numbers are the file's only when it is 0.
    fn finish(self, stream_bytes: u64, rescanned: bool, start: u64) -> Sliced {
        let (data, untimed, capped, kept_origin) = match self.leading {
            Some(leading) if self.keep.is_none() => {
                let capped = leading.capped;
                let (data, origin) = leading.into_parts();
                (data, true, capped, origin)
            }
            _ => {
                let capped = self.kept.capped;
                let (data, origin) = self.kept.into_parts();
                (data, false, capped, origin)
            }
        };
        let origin = kept_origin.map(|KeptOrigin { first, contiguous }| DataOrigin {
            offset: first.offset,
            first_line: (start == 0 && contiguous).then_some(first.seq),
        });
        Sliced {
            data,
            untimed,
            capped,
            stream_bytes,
            rescanned,
            origin,
        }
    }
}

/// Counts the bytes a reader delivers (the measure of how much of a file slicing touched).
struct CountingReader<'a, R> {
    inner: R,
    count: &'a mut u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.count += n as u64;
        Ok(n)
    }
}

/// A path that opens the very file `file` is (not whatever a name points to by now), for the
/// engine's bisection, which opens by path.
pub fn reopen_path(file: &File) -> Option<std::path::PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let path = std::path::PathBuf::from(format!("/dev/fd/{}", file.as_raw_fd()));
        path.exists().then_some(path)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
}

#[cfg(test)]
mod tests;
