//! Merging several logs into one stream ordered by record time.
//!
//! Each input is assumed to be in time order already (as a log file is), so only the next record
//! of each input is held: a k-way merge with one line of memory per input. Non-record lines are
//! handed out right behind the record they follow, so stack traces stay with their record.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, BufRead};

use jiff::Timestamp;

use crate::reader::{Line, LineKind, LogReader};

/// Something the merge hands out: a line of input `source`, or a read or open error of that
/// input (the input is then dropped and the others go on).
pub enum MergeEvent<'a> {
    Line { source: usize, line: Line<'a> },
    Error { source: usize, error: io::Error },
}

/// Opens an input when the merge gets to it.
pub type Opener<R> = Box<dyn FnOnce() -> io::Result<LogReader<R>>>;

/// One input of a merge.
pub enum MergeInput<R> {
    /// Already open: read from the start of the merge.
    Open(Box<LogReader<R>>),
    /// Opened only when the merged stream reaches `first_time` (the time of its first record),
    /// so a directory of thousands of rotated files never has them all open at once.
    Deferred {
        first_time: Timestamp,
        open: Opener<R>,
    },
}

struct Source<R> {
    reader: Option<LogReader<R>>,
    opener: Option<Opener<R>>,
    /// Time of the last record seen; a record without a readable time sorts with it.
    last_time: Timestamp,
    done: bool,
}

/// Pull-based k-way merge of [`LogReader`]s.
pub struct MergeReader<R> {
    sources: Vec<Source<R>>,
    /// Sources to read up to their first record (their leading lines are handed out first).
    to_prime: VecDeque<usize>,
    /// Sources waiting on a record (or deferred sources waiting to be opened), keyed by
    /// (time, source index): ties keep input order.
    ready: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// The source whose record was handed out last; its following lines come next.
    draining: Option<usize>,
    /// An input is closed at its first record later than this (see [`MergeReader::stop_after`]).
    stop_after: Option<Timestamp>,
}

enum Step {
    Emit(usize),
    Fail(usize, io::Error),
    Next,
    End,
}

impl<R: BufRead> MergeReader<R> {
    /// Merges readers that are all open already.
    pub fn new(readers: Vec<LogReader<R>>) -> Self {
        Self::with_inputs(
            readers
                .into_iter()
                .map(|reader| MergeInput::Open(Box::new(reader)))
                .collect(),
        )
    }

    pub fn with_inputs(inputs: Vec<MergeInput<R>>) -> Self {
        let mut merge = MergeReader {
            sources: Vec::with_capacity(inputs.len()),
            to_prime: VecDeque::new(),
            ready: BinaryHeap::new(),
            draining: None,
            stop_after: None,
        };
        for (index, input) in inputs.into_iter().enumerate() {
            let (reader, opener) = match input {
                MergeInput::Open(reader) => {
                    merge.to_prime.push_back(index);
                    (Some(*reader), None)
                }
                MergeInput::Deferred { first_time, open } => {
                    merge.ready.push(Reverse((first_time, index)));
                    (None, Some(open))
                }
            };
            merge.sources.push(Source {
                reader,
                opener,
                last_time: Timestamp::MIN,
                done: false,
            });
        }
        merge
    }

    /// Advances `index` and says what to do with the line it lands on.
    fn pull(&mut self, index: usize) -> Step {
        let source = &mut self.sources[index];
        let Some(reader) = source.reader.as_mut().filter(|_| !source.done) else {
            return Step::Next;
        };
        match reader.advance() {
            Ok(true) => {}
            Ok(false) => {
                source.done = true;
                source.reader = None;
                return Step::Next;
            }
            Err(error) => {
                source.done = true;
                source.reader = None;
                return Step::Fail(index, error);
            }
        }
        let Some(line) = reader.current() else {
            return Step::Next;
        };
        if line.kind == LineKind::Record {
            if let Some(time) = line.record.and_then(|r| r.time()) {
                if self.stop_after.is_some_and(|stop| time > stop) {
                    source.done = true;
                    source.reader = None;
                    return Step::Next;
                }
                source.last_time = time;
            }
            self.ready.push(Reverse((source.last_time, index)));
            Step::Next
        } else {
            Step::Emit(index)
        }
    }

    fn step(&mut self) -> Step {
        if let Some(index) = self.draining {
            match self.pull(index) {
                Step::Next => self.draining = None,
                other => return other,
            }
        }
        if let Some(&index) = self.to_prime.front() {
            let step = self.pull(index);
            if matches!(step, Step::Next | Step::Fail(..)) {
                self.to_prime.pop_front();
            }
            return step;
        }
        let Some(Reverse((_, index))) = self.ready.pop() else {
            return Step::End;
        };
        let source = &mut self.sources[index];
        if let Some(open) = source.opener.take() {
            match open() {
                Ok(reader) => {
                    source.reader = Some(reader);
                    self.to_prime.push_back(index);
                    return Step::Next;
                }
                Err(error) => {
                    source.done = true;
                    return Step::Fail(index, error);
                }
            }
        }
        self.draining = Some(index);
        Step::Emit(index)
    }

    /// The next line of the merged stream.
    pub fn next_event(&mut self) -> Option<MergeEvent<'_>> {
        loop {
            match self.step() {
                Step::Next => continue,
                Step::End => return None,
                Step::Fail(source, error) => return Some(MergeEvent::Error { source, error }),
                Step::Emit(source) => {
                    let line = self.sources[source].reader.as_ref()?.current()?;
                    return Some(MergeEvent::Line { source, line });
                }
            }
        }
    }

    /// Stops reading an input at its first record later than `time`: an input is in time
    /// order, so nothing after that record can be earlier. For `--until`, with some slack for
    /// slightly out-of-order lines.
    pub fn stop_after(&mut self, time: Option<Timestamp>) {
        self.stop_after = time;
    }

    /// How many inputs are open right now.
    pub fn open_inputs(&self) -> usize {
        self.sources.iter().filter(|s| s.reader.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, time: &str) -> String {
        format!(
            r#"{{"name":"{name}","hostname":"h","pid":1,"level":30,"msg":"m","time":"{time}","v":0}}"#
        )
    }

    fn merged(inputs: Vec<String>) -> Vec<(usize, String)> {
        let readers = inputs
            .iter()
            .map(|text| LogReader::new(text.as_bytes()))
            .collect();
        let mut merge = MergeReader::new(readers);
        let mut out = Vec::new();
        while let Some(event) = merge.next_event() {
            if let MergeEvent::Line { source, line } = event {
                let label = match line.record {
                    Some(r) => r.time().unwrap().to_string(),
                    None => String::from_utf8_lossy(line.bytes).into_owned(),
                };
                out.push((source, label));
            }
        }
        out
    }

    #[test]
    fn records_come_out_in_time_order_with_their_trailing_lines() {
        let hn = format!(
            "{}\n{}\ntrace of hn 3\n{}\n",
            rec("hn", "2024-05-01T10:00:01Z"),
            rec("hn", "2024-05-01T10:00:03Z"),
            rec("hn", "2024-05-01T10:00:05Z")
        );
        let cn = format!(
            "cn banner\n{}\n{}\ntrace of cn 4\n",
            rec("cn", "2024-05-01T10:00:02Z"),
            rec("cn", "2024-05-01T10:00:04Z")
        );
        let got = merged(vec![hn, cn]);
        let want: Vec<(usize, String)> = vec![
            (1, "cn banner".into()),
            (0, "2024-05-01T10:00:01Z".into()),
            (1, "2024-05-01T10:00:02Z".into()),
            (0, "2024-05-01T10:00:03Z".into()),
            (0, "trace of hn 3".into()),
            (1, "2024-05-01T10:00:04Z".into()),
            (1, "trace of cn 4".into()),
            (0, "2024-05-01T10:00:05Z".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn equal_times_keep_input_order() {
        let t = "2024-05-01T10:00:00Z";
        let got = merged(vec![rec("a", t), rec("b", t), rec("c", t)]);
        let sources: Vec<usize> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(sources, vec![0, 1, 2]);
    }

    #[test]
    fn deferred_inputs_open_only_when_their_time_comes() {
        let hours: Vec<String> = (10..14)
            .map(|h| {
                format!(
                    "{}\n{}\n",
                    rec("svc", &format!("2024-05-01T{h}:00:00Z")),
                    rec("svc", &format!("2024-05-01T{h}:30:00Z"))
                )
            })
            .collect();
        let inputs = hours
            .iter()
            .rev()
            .map(|text| {
                let first = LogReader::new(text.as_bytes())
                    .next_line()
                    .unwrap()
                    .and_then(|l| l.record)
                    .and_then(|r| r.time())
                    .unwrap();
                let owned = text.clone().into_bytes();
                MergeInput::Deferred {
                    first_time: first,
                    open: Box::new(move || Ok(LogReader::new(io::Cursor::new(owned)))),
                }
            })
            .collect();
        let mut merge = MergeReader::with_inputs(inputs);
        let mut times = Vec::new();
        let mut most_open = 0;
        while let Some(event) = merge.next_event() {
            if let MergeEvent::Line { line, .. } = event {
                times.push(line.record.unwrap().time().unwrap().to_string());
            }
            most_open = most_open.max(merge.open_inputs());
        }
        assert_eq!(times.len(), 8);
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        assert_eq!(
            most_open, 1,
            "rotated files should be read one after another"
        );
    }
}
