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

use std::collections::VecDeque;

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
        }
    }

    /// Marks that the next line starts an entry; `past_focus` when its time is after the focus.
    pub fn start_entry(&mut self, past_focus: bool) {
        if past_focus && self.after_focus.is_none() {
            self.after_focus = Some(self.end);
        }
        self.entry_starts.push_back(self.end);
    }

    /// Appends one line (its terminator added). Returns `false` when the line did not fit and
    /// nothing more will (`full`).
    pub fn push_line(&mut self, line: &[u8]) -> bool {
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
                // One entry longer than the cap before the focus: keep its last lines.
                self.drop_front_to(self.end + len - self.cap);
            }
        }
        self.data.extend_from_slice(line);
        self.data.push(b'\n');
        self.end += len;
        true
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
        self.data.drain(..(position - self.base) as usize);
        self.base = position;
        while self.entry_starts.front().is_some_and(|s| *s < position) {
            self.entry_starts.pop_front();
        }
        self.capped = true;
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(buffer: &mut FocusBuffer, name: &str, count: usize, past_focus: bool) {
        for i in 0..count {
            buffer.start_entry(past_focus);
            buffer.push_line(format!("{name}{i:03}").as_bytes());
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
            buffer.push_line(format!("rec{i}").as_bytes());
            buffer.push_line(b" at x");
        }
        let text = String::from_utf8(buffer.into_bytes()).expect("utf8");
        assert!(text.starts_with("rec"), "{text}");
        assert!(text.ends_with("rec4\n at x\n"), "{text}");
    }
}
