//! The inflated (tar) stream of a BGZF file, which stops at damage instead of ending there.
//!
//! Reading returns the data of good members in order. At the first damaged member (or bytes that
//! are no member) it returns an error and holds a [`Gap`] describing the damage: every damaged
//! member in a row, and where good data starts again. The caller decides what to do: give up (a
//! plain reader), or take the gap and read on from the good data after it (see `resync.rs`).

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::blocks::{Block, Blocks};

/// A damaged stretch of the compressed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gap {
    /// Compressed offset of the first damaged byte (the start of the bad member).
    pub(crate) offset: u64,
    /// Compressed offset where good data starts again (the end of the file when none does).
    pub(crate) end: u64,
    /// Damaged members in the stretch.
    pub(crate) members: u32,
    /// Compressed bytes in it that were not members at all.
    pub(crate) not_members: u64,
    /// Tar-stream bytes the stretch held, when every member in it announced a plausible size
    /// and no bytes were outside members; `None` when unknown.
    pub(crate) lost: Option<u64>,
    /// Tar-stream offset where the damage begins.
    pub(crate) tar_offset: u64,
    /// What is wrong with the first damaged member.
    pub(crate) why: String,
    /// No good data follows (end of file, or the member search gave up).
    pub(crate) at_end: bool,
    /// The member search gave up after this many bytes.
    pub(crate) gave_up_after: Option<u64>,
}

impl Gap {
    fn starting(block: &Block, tar_offset: u64) -> Gap {
        let mut gap = Gap {
            offset: 0,
            end: 0,
            members: 0,
            not_members: 0,
            lost: Some(0),
            tar_offset,
            why: String::new(),
            at_end: false,
            gave_up_after: None,
        };
        gap.absorb(block);
        gap
    }

    fn absorb(&mut self, block: &Block) {
        let first = self.why.is_empty();
        let (offset, end, why) = match block {
            Block::Damaged {
                offset,
                len,
                why,
                isize,
            } => {
                self.members += 1;
                self.lost = self.lost.zip(*isize).map(|(a, b)| a + u64::from(b));
                (*offset, offset + len, why.clone())
            }
            Block::Skipped { offset, len, why } => {
                self.not_members += len;
                self.lost = None;
                (*offset, offset + len, why.clone())
            }
            Block::GaveUp { offset, scanned } => {
                self.lost = None;
                self.at_end = true;
                self.gave_up_after = Some(*scanned);
                (
                    *offset,
                    *offset,
                    format!("no BGZF member header found in the {scanned} bytes searched"),
                )
            }
            Block::Data { .. } | Block::Failed(_) => return,
        };
        if first {
            self.offset = offset;
            self.why = why;
        }
        self.end = self.end.max(end);
    }

    /// Whether this gap and a later one can be told apart from the tar offsets: the lost size
    /// is known, so offsets after the gap still line up with those before it.
    pub(crate) fn size_known(&self) -> bool {
        self.lost.is_some()
    }

    /// E.g. `damaged BGZF data at compressed byte 1234: its CRC does not match its data`.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!(
            "damaged BGZF data at compressed byte {}: {}",
            self.offset, self.why
        );
        let mut parts = Vec::new();
        if self.members > 1 {
            parts.push(format!("{} damaged members in a row", self.members));
        }
        if self.not_members > 0 {
            parts.push(format!("{} bytes that are no member", self.not_members));
        }
        if !parts.is_empty() {
            text.push_str(&format!(", {}", parts.join(", ")));
        }
        text
    }

    fn error(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self.describe())
    }
}

/// The tar stream of a BGZF file.
pub(crate) struct BgzfStream {
    blocks: Blocks,
    data: Vec<u8>,
    pos: usize,
    /// The compressed offset the data being handed out comes from, for messages (shared with
    /// [`crate::read::position::Position`]).
    read_to: Arc<AtomicU64>,
    /// Tar-stream offset of the next byte handed out (lost stretches of known size counted).
    tar_offset: u64,
    gap: Option<Gap>,
    /// The good member that ends the pending gap, handed out once the gap is taken.
    after_gap: Option<(u64, Vec<u8>)>,
    /// An I/O error reading the file, handed out after the pending gap.
    failure: Option<io::Error>,
}

impl BgzfStream {
    pub(crate) fn new(blocks: Blocks, read_to: Arc<AtomicU64>) -> Self {
        BgzfStream {
            blocks,
            data: Vec::new(),
            pos: 0,
            read_to,
            tar_offset: 0,
            gap: None,
            after_gap: None,
            failure: None,
        }
    }

    pub(crate) fn tar_offset(&self) -> u64 {
        self.tar_offset
    }

    /// Whether damage stopped the reading (the gap is still pending).
    pub(crate) fn has_gap(&self) -> bool {
        self.gap.is_some()
    }

    /// Takes the pending gap: reading then goes on with the good data after it.
    pub(crate) fn take_gap(&mut self) -> Option<Gap> {
        let gap = self.gap.take()?;
        self.tar_offset += gap.lost.unwrap_or(0);
        if let Some((end, data)) = self.after_gap.take() {
            self.read_to.store(end, Ordering::Relaxed);
            self.data = data;
            self.pos = 0;
        }
        Some(gap)
    }

    /// Puts back bytes just read (they are read again first).
    pub(crate) fn unread(&mut self, bytes: Vec<u8>) {
        self.tar_offset -= bytes.len() as u64;
        let rest = self.data.split_off(self.pos);
        self.data = bytes;
        self.data.extend_from_slice(&rest);
        self.pos = 0;
    }

    fn open_gap(&mut self, first: Block) -> io::Error {
        let mut gap = Gap::starting(&first, self.tar_offset);
        loop {
            match self.blocks.next() {
                Some(Block::Data { offset, len, data }) => {
                    self.after_gap = Some((offset + len, data));
                    break;
                }
                Some(Block::Failed(e)) => {
                    self.failure = Some(e);
                    break;
                }
                Some(bad) => gap.absorb(&bad),
                None => {
                    gap.at_end = true;
                    break;
                }
            }
        }
        let error = gap.error();
        self.gap = Some(gap);
        error
    }
}

impl Read for BgzfStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(gap) = &self.gap {
            return Err(gap.error());
        }
        loop {
            if self.pos < self.data.len() {
                let n = buf.len().min(self.data.len() - self.pos);
                buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
                self.pos += n;
                self.tar_offset += n as u64;
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            if let Some(e) = self.failure.take() {
                return Err(e);
            }
            match self.blocks.next() {
                None => return Ok(0),
                Some(Block::Data { offset, len, data }) => {
                    self.read_to.store(offset + len, Ordering::Relaxed);
                    self.data = data;
                    self.pos = 0;
                }
                Some(Block::Failed(e)) => return Err(e),
                Some(bad) => return Err(self.open_gap(bad)),
            }
        }
    }
}

/// A [`BgzfStream`] shared by the tar parser and the code that resumes after damage.
#[derive(Clone)]
pub(crate) struct SharedStream(Rc<RefCell<BgzfStream>>);

impl SharedStream {
    pub(crate) fn new(stream: BgzfStream) -> Self {
        SharedStream(Rc::new(RefCell::new(stream)))
    }

    pub(crate) fn tar_offset(&self) -> u64 {
        self.0.borrow().tar_offset()
    }

    pub(crate) fn has_gap(&self) -> bool {
        self.0.borrow().has_gap()
    }

    pub(crate) fn take_gap(&self) -> Option<Gap> {
        self.0.borrow_mut().take_gap()
    }

    pub(crate) fn unread(&self, bytes: Vec<u8>) {
        self.0.borrow_mut().unread(bytes);
    }
}

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::super::member::tests::member_of;
    use super::*;

    #[test]
    fn stops_at_damage_and_goes_on_once_the_gap_is_taken() {
        let mut bytes = member_of(b"first ");
        let mut bad = member_of(&b"x".repeat(1000));
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        bytes.extend_from_slice(&bad);
        bytes.extend_from_slice(&member_of(b"third"));
        let counter = Arc::new(AtomicU64::new(0));
        let blocks = Blocks::new(Box::new(io::Cursor::new(bytes)), 1, 1 << 20);
        let mut stream = BgzfStream::new(blocks, Arc::clone(&counter));
        let mut out = Vec::new();
        let err = stream.read_to_end(&mut out).unwrap_err();
        assert_eq!(out, b"first ");
        assert!(err.to_string().contains("compressed byte"), "{err}");
        assert!(
            stream.read(&mut [0; 4]).is_err(),
            "the gap holds until taken"
        );
        let gap = stream.take_gap().expect("gap");
        assert_eq!((gap.members, gap.lost, gap.tar_offset), (1, Some(1000), 6));
        assert!(!gap.at_end);
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).expect("rest");
        assert_eq!(rest, b"third");
        assert_eq!(stream.tar_offset(), 6 + 1000 + 5);
        stream.unread(b"rd".to_vec());
        assert_eq!(stream.tar_offset(), 6 + 1000 + 3);
    }
}
