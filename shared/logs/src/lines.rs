//! Splitting a byte stream into lines with a per-line memory cap.
//!
//! Log files are read as bytes: a line with invalid UTF-8 must reach the output unchanged, and a
//! runaway line (a serialized buffer, a binary dump) must not be held in memory whole. Lines end
//! at `\n` or `\r\n`, as the bunyan CLI splits them.

use std::io::{self, BufRead};

/// Default cap on one line: longer lines keep their first `DEFAULT_LINE_CAP` bytes.
pub const DEFAULT_LINE_CAP: usize = 16 * 1024 * 1024;

/// What [`LineReader::read_line`] found besides the bytes it put in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// 1-based line number in the input.
    pub number: u64,
    /// Bytes of this line that were dropped because it was longer than the cap (0 when whole).
    pub cut_bytes: u64,
    /// Byte offset of the start of this line in the input.
    pub offset: u64,
}

/// Reads lines into a caller-owned buffer so the hot path allocates nothing per line.
pub struct LineReader<R> {
    inner: R,
    cap: usize,
    number: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_cap(inner, DEFAULT_LINE_CAP)
    }

    pub fn with_cap(inner: R, cap: usize) -> Self {
        LineReader {
            inner,
            cap: cap.max(1),
            number: 0,
            offset: 0,
        }
    }

    /// Starts counting offsets from `offset` (after the caller positioned the input there).
    pub fn set_offset(&mut self, offset: u64) {
        self.offset = offset;
    }

    /// Byte offset of the next line to be read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next line into `buf` (cleared first), without its terminator. Returns `None` at
    /// the end of input. A final line without a terminator is returned when it is not empty.
    pub fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        buf.clear();
        self.append_line(buf)
    }

    /// Like [`LineReader::read_line`] but appends the line to what `buf` holds (the cap applies
    /// to the line alone), so batches of lines are gathered without a copy per line.
    pub fn append_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        let base = buf.len();
        let start = self.offset;
        let mut cut_bytes: u64 = 0;
        let mut saw_any = false;
        let mut terminated = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if chunk.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (content, used, done) = match memchr::memchr(b'\n', chunk) {
                Some(pos) => (&chunk[..pos], pos + 1, true),
                None => (chunk, chunk.len(), false),
            };
            let room = self.cap.saturating_sub(buf.len() - base);
            if content.len() <= room {
                buf.extend_from_slice(content);
            } else {
                buf.extend_from_slice(&content[..room]);
                cut_bytes += (content.len() - room) as u64;
            }
            self.inner.consume(used);
            self.offset += used as u64;
            if done {
                terminated = true;
                break;
            }
        }
        // `\r\n` ends a line; a lone `\r` at the very end of the input is content.
        if terminated && cut_bytes == 0 && buf.len() > base && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        self.number += 1;
        Ok(Some(LineInfo {
            number: self.number,
            cut_bytes,
            offset: start,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<(Vec<u8>, u64)> {
        let mut reader = LineReader::with_cap(io::BufReader::with_capacity(7, input), cap);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(info) = reader.read_line(&mut buf).unwrap() {
            out.push((buf.clone(), info.cut_bytes));
        }
        out
    }

    #[test]
    fn splits_on_lf_and_crlf_and_keeps_empty_lines() {
        let got = lines(b"a\r\n\nbc\nlast\r", 100);
        let texts: Vec<&[u8]> = got.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(texts, vec![&b"a"[..], b"", b"bc", b"last\r"]);
    }

    #[test]
    fn trailing_newline_gives_no_extra_empty_line() {
        assert_eq!(lines(b"x\n", 100).len(), 1);
        assert!(lines(b"", 100).is_empty());
    }

    #[test]
    fn giant_line_is_cut_and_the_next_line_survives() {
        let mut input = vec![b'z'; 1000];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input, 64);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, vec![b'z'; 64]);
        assert_eq!(got[0].1, 1000 - 64);
        assert_eq!(got[1], (b"next".to_vec(), 0));
    }

    #[test]
    fn invalid_utf8_is_kept_byte_for_byte() {
        let got = lines(b"ok \xff\xfe bytes\n", 100);
        assert_eq!(got[0].0, b"ok \xff\xfe bytes".to_vec());
    }
}
