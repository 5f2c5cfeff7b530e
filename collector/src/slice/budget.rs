//! The per-file cap applied to a log already cut to the window.
//!
//! When the window's part of a log is bigger than the cap, what matters most is the failure and
//! what led up to it. The log is streamed once, so the choice is made while reading, with memory
//! bounded by the cap:
//! - records up to the focus time (the failure) are kept as a rolling tail: the newest ones win;
//! - records after the focus may use what the earlier part leaves, but always get a quarter of
//!   the cap (the earlier part is trimmed from its front to make room), and once the cap is full
//!   reading stops.
//!
//! Trimming happens at entry starts (a record with its stack trace), so a kept record keeps its
//! continuation lines.
//!
//! The buffer also remembers where its first byte was in the original file and whether the kept
//! lines are one contiguous run of it, so the bundle can say which original line a stored line is.

use std::collections::VecDeque;

/// Where a pushed line is in the file being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOrigin {
    /// Byte offset of the line's start in the file.
    pub offset: u64,
    /// 1-based number of the line among those read in this pass (the file's line number when
    /// the pass started at the file's start).
    pub seq: u64,
}

/// Where the kept bytes start in the file, and whether they are one contiguous run of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptOrigin {
    pub first: LineOrigin,
    /// No line between the first kept one and the last was left out.
    pub contiguous: bool,
}

/// A kept line whose origin does not follow from the line kept before it: after lines that
/// were left out (`gap`), or after a line whose stored bytes differ in length from the file's
/// (a `\r\n` ending, a line cut at the line cap).
#[derive(Debug, Clone, Copy)]
struct Anchor {
    /// Stream position where the line starts.
    position: u64,
    origin: LineOrigin,
    gap: bool,
}

/// Bytes kept under a cap, nearest the focus time first.
#[derive(Debug)]
pub struct FocusBuffer {
    cap: u64,
    data: Vec<u8>,
    /// Stream position of `data[0]`.
    base: u64,
    /// Stream position after the last byte pushed.
    end: u64,
    /// Stream positions where kept entries start (those still in `data`).
    entry_starts: VecDeque<u64>,
    /// Stream position of the first entry after the focus.
    after_focus: Option<u64>,
    /// Something was dropped because of the cap.
    pub capped: bool,
    /// The cap is full with the part after the focus: reading may stop.
    pub full: bool,
    /// Origin of `data[0]` (or of the next byte pushed, when `data` is empty).
    front: Option<LineOrigin>,
    /// Anchors past `base`, in stream order.
    anchors: VecDeque<Anchor>,
    /// Where a line following the last pushed one would be: its offset and sequence number.
    next: Option<LineOrigin>,
}

impl FocusBuffer {
    pub fn new(cap: u64) -> FocusBuffer {
        FocusBuffer {
            cap,
            data: Vec::new(),
            base: 0,
            end: 0,
            entry_starts: VecDeque::new(),
            after_focus: None,
            capped: false,
            full: false,
            front: None,
            anchors: VecDeque::new(),
            next: None,
        }
    }

    /// Marks that the next line starts an entry; `past_focus` when its time is after the focus.
    pub fn start_entry(&mut self, past_focus: bool) {
        if past_focus && self.after_focus.is_none() {
            self.after_focus = Some(self.end);
        }
        self.entry_starts.push_back(self.end);
    }

    /// Appends one line (its terminator added), or several joined by `\n` that follow each
    /// other in the file, `origin` being the first one's. Returns `false` when the line did not
    /// fit and nothing more will (`full`).
    pub fn push_line(&mut self, line: &[u8], origin: LineOrigin) -> bool {
        if self.full {
            return false;
        }
        let len = line.len() as u64 + 1;
        if self.end + len - self.base > self.cap {
            self.make_room(len);
            if self.end + len - self.base > self.cap {
                if self.after_focus.is_some() {
                    self.full = true;
                    self.capped = true;
                    return false;
                }
                // One entry longer than the cap before the focus: keep its last whole lines.
                self.drop_front_to(self.line_start_from(self.end + len - self.cap));
            }
        }
        self.note_origin(origin);
        let newlines = count_newlines(line);
        self.next = Some(LineOrigin {
            offset: origin.offset + len,
            seq: origin.seq + newlines + 1,
        });
        self.data.extend_from_slice(line);
        self.data.push(b'\n');
        self.end += len;
        true
    }

    /// Records where a line about to be appended at `end` comes from.
    fn note_origin(&mut self, origin: LineOrigin) {
        if self.end == self.base {
            self.front = Some(origin);
            self.anchors.clear();
            return;
        }
        let gap = self.next.is_none_or(|next| next.seq != origin.seq);
        let shifted = self.next.is_none_or(|next| next.offset != origin.offset);
        if gap || shifted {
            self.anchors.push_back(Anchor {
                position: self.end,
                origin,
                gap,
            });
        }
    }

    /// The first line start at or after stream position `position` (the end when none).
    fn line_start_from(&self, position: u64) -> u64 {
        if position <= self.base {
            return self.base;
        }
        if position >= self.end {
            return self.end;
        }
        let from = (position - self.base) as usize;
        if self.data[from - 1] == b'\n' {
            return position;
        }
        match memchr::memchr(b'\n', &self.data[from..]) {
            Some(i) => position + i as u64 + 1,
            None => self.end,
        }
    }

    /// Drops whole entries from the front while that is allowed and needed.
    fn make_room(&mut self, len: u64) {
        // After the focus, the earlier part is trimmed only down to three quarters of the cap.
        let floor = match self.after_focus {
            Some(_) => self.cap - self.cap / 4,
            None => 0,
        };
        while self.end + len - self.base > self.cap {
            let before_focus = self.after_focus.unwrap_or(self.end) - self.base;
            let base = self.base;
            let Some(next) = self.entry_starts.iter().copied().find(|s| *s > base) else {
                break;
            };
            if self.after_focus.is_some_and(|f| next > f) || before_focus <= floor {
                break;
            }
            self.drop_front_to(next);
        }
    }

    fn drop_front_to(&mut self, position: u64) {
        let position = position.min(self.end);
        if position <= self.base {
            return;
        }
        // The new front's origin: from the last anchor at or before it, or the old front.
        let mut origin = self.front;
        let mut from = self.base;
        while let Some(anchor) = self.anchors.front().filter(|a| a.position <= position) {
            origin = Some(anchor.origin);
            from = anchor.position;
            self.anchors.pop_front();
        }
        if let Some(origin) = origin.as_mut() {
            let skipped = &self.data[(from - self.base) as usize..(position - self.base) as usize];
            origin.offset += skipped.len() as u64;
            origin.seq += count_newlines(skipped);
        }
        self.front = origin;
        self.data.drain(..(position - self.base) as usize);
        self.base = position;
        while self.entry_starts.front().is_some_and(|s| *s < position) {
            self.entry_starts.pop_front();
        }
        self.capped = true;
    }

    /// The kept bytes, and where they start in the file (`None` when nothing is kept).
    pub fn into_parts(self) -> (Vec<u8>, Option<KeptOrigin>) {
        let origin = match (self.front, self.data.is_empty()) {
            (Some(first), false) => Some(KeptOrigin {
                first,
                contiguous: !self.anchors.iter().any(|a| a.gap),
            }),
            _ => None,
        };
        (self.data, origin)
    }

    #[cfg(test)]
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes the line that follows the last one pushed in the file.
    fn push(buffer: &mut FocusBuffer, line: &[u8]) -> bool {
        let origin = buffer.next.unwrap_or(LineOrigin { offset: 0, seq: 1 });
        buffer.push_line(line, origin)
    }

    fn fill(buffer: &mut FocusBuffer, name: &str, count: usize, past_focus: bool) {
        for i in 0..count {
            buffer.start_entry(past_focus);
            push(buffer, format!("{name}{i:03}").as_bytes());
        }
    }

    #[test]
    fn before_the_focus_the_newest_entries_win() {
        let mut buffer = FocusBuffer::new(50);
        fill(&mut buffer, "b", 20, false);
        let text = String::from_utf8(buffer.into_bytes()).expect("utf8");
        // 5-byte lines: the last ten fit.
        assert_eq!(text.lines().next(), Some("b010"));
        assert_eq!(text.lines().last(), Some("b019"));
    }

    #[test]
    fn after_the_focus_a_quarter_of_the_cap_is_guaranteed_then_reading_stops() {
        let mut buffer = FocusBuffer::new(100);
        fill(&mut buffer, "b", 40, false);
        fill(&mut buffer, "a", 40, true);
        assert!(buffer.full && buffer.capped);
        let text = String::from_utf8(buffer.into_bytes()).expect("utf8");
        let before = text.lines().filter(|l| l.starts_with('b')).count();
        let after = text.lines().filter(|l| l.starts_with('a')).count();
        assert_eq!((before, after), (15, 5), "{text}");
        assert_eq!(text.lines().find(|l| l.starts_with('b')), Some("b025"));
        assert_eq!(text.lines().last(), Some("a004"));
    }

    #[test]
    fn continuation_lines_go_with_their_entry() {
        let mut buffer = FocusBuffer::new(30);
        for i in 0..5 {
            buffer.start_entry(false);
            push(&mut buffer, format!("rec{i}").as_bytes());
            push(&mut buffer, b" at x");
        }
        let text = String::from_utf8(buffer.into_bytes()).expect("utf8");
        assert!(text.starts_with("rec"), "{text}");
        assert!(text.ends_with("rec4\n at x\n"), "{text}");
    }

    #[test]
    fn the_front_origin_follows_the_trimming_and_gaps_are_noticed() {
        let mut buffer = FocusBuffer::new(50);
        fill(&mut buffer, "b", 20, false);
        let (data, origin) = buffer.into_parts();
        assert!(data.starts_with(b"b010\n"));
        // Ten 5-byte lines were dropped from the front.
        let want = LineOrigin {
            offset: 50,
            seq: 11,
        };
        assert_eq!(
            origin,
            Some(KeptOrigin {
                first: want,
                contiguous: true
            })
        );

        let mut buffer = FocusBuffer::new(1 << 10);
        buffer.start_entry(false);
        buffer.push_line(b"a", LineOrigin { offset: 0, seq: 1 });
        buffer.start_entry(false);
        buffer.push_line(b"c", LineOrigin { offset: 4, seq: 3 });
        let (_, origin) = buffer.into_parts();
        assert_eq!(
            origin.map(|o| o.contiguous),
            Some(false),
            "line 2 was left out"
        );
    }

    #[test]
    fn a_gap_trimmed_away_no_longer_counts() {
        let mut buffer = FocusBuffer::new(10);
        buffer.start_entry(false);
        buffer.push_line(b"aaaa", LineOrigin { offset: 0, seq: 1 });
        buffer.start_entry(false);
        buffer.push_line(b"cccc", LineOrigin { offset: 10, seq: 3 });
        buffer.start_entry(false);
        buffer.push_line(b"dddd", LineOrigin { offset: 15, seq: 4 });
        let (data, origin) = buffer.into_parts();
        assert_eq!(data, b"cccc\ndddd\n");
        let want = LineOrigin { offset: 10, seq: 3 };
        assert_eq!(
            origin,
            Some(KeptOrigin {
                first: want,
                contiguous: true
            })
        );
    }

    #[test]
    fn an_entry_longer_than_the_cap_is_cut_at_a_line_start() {
        let mut buffer = FocusBuffer::new(12);
        buffer.start_entry(false);
        for line in [&b"rec1"[..], b" at a", b" at bb"] {
            push(&mut buffer, line);
        }
        let (data, origin) = buffer.into_parts();
        assert_eq!(data, b" at bb\n");
        let want = LineOrigin { offset: 11, seq: 3 };
        assert_eq!(origin.map(|o| o.first), Some(want));
    }
}
