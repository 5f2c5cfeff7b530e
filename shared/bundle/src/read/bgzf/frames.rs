//! Cutting the compressed file into BGZF members by their `BSIZE` fields, and finding the next
//! member when a header is not where the previous member said it would be.
//!
//! A member whose length field was damaged, or whose bytes were shifted by a lost or inserted
//! run, leaves the next expected position inside other data. The next member is then searched
//! for from just after the start of the previous one: a run of lost bytes puts the next header
//! *before* the expected position, so searching only forward from it would skip a good member.

use std::io::{self, Read};

use super::member::{parse_header, Header, SIGNATURE, USUAL_HEADER};

/// What the file holds next.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A member, whole (not inflated yet).
    Member {
        offset: u64,
        bytes: Vec<u8>,
        header_len: usize,
    },
    /// Bytes that are not a member: a damaged header and what follows up to the next member, or
    /// a member cut short by the end of the file.
    Skipped { offset: u64, len: u64, why: String },
    /// No member header found in `scanned` bytes from `offset`: the rest is not looked at.
    GaveUp { offset: u64, scanned: u64 },
}

/// Reads members from a compressed file.
pub(crate) struct FrameReader<R> {
    input: R,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    /// File offset of the next byte to look at.
    at: u64,
    /// File offset of the last member handed out: a search starts just after it.
    last_member: Option<u64>,
    /// Bytes before this file offset are no longer needed.
    keep_from: u64,
    eof: bool,
    done: bool,
    /// Compressed bytes searched, at most, for the next member header.
    scan_limit: u64,
}

const READ_CHUNK: usize = 256 * 1024;

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(input: R, scan_limit: u64) -> Self {
        FrameReader {
            input,
            buf: Vec::new(),
            buf_offset: 0,
            at: 0,
            last_member: None,
            keep_from: 0,
            eof: false,
            done: false,
            scan_limit,
        }
    }

    /// Bytes available from file offset `from`.
    fn available(&self, from: u64) -> &[u8] {
        let start = usize::try_from(from.saturating_sub(self.buf_offset)).unwrap_or(usize::MAX);
        self.buf.get(start..).unwrap_or(&[])
    }

    /// Makes at least `len` bytes from `from` available, unless the file ends first. Bytes
    /// no longer needed are dropped first, so memory stays within a few chunks.
    fn fill(&mut self, from: u64, len: usize) -> io::Result<()> {
        let keep_from = self.keep_from.min(from);
        let drop = usize::try_from(keep_from.saturating_sub(self.buf_offset)).unwrap_or(0);
        if drop > READ_CHUNK {
            self.buf.drain(..drop);
            self.buf_offset += drop as u64;
        }
        while self.available(from).len() < len && !self.eof {
            let old = self.buf.len();
            self.buf.resize(old + READ_CHUNK, 0);
            let n = loop {
                match self.input.read(&mut self.buf[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.buf.truncate(old);
                        return Err(e);
                    }
                }
            };
            self.buf.truncate(old + n);
            self.eof = n == 0;
        }
        Ok(())
    }

    /// The header at `offset`, reading as much as needed to decide.
    fn header_at(&mut self, offset: u64) -> io::Result<Header> {
        let mut need = USUAL_HEADER;
        loop {
            self.fill(offset, need)?;
            match parse_header(self.available(offset)) {
                Header::NeedMore(more) if more > need && !self.eof => need = more,
                Header::NeedMore(_) if self.eof => return Ok(Header::NeedMore(need)),
                Header::NeedMore(more) => need = more.max(need + 1),
                decided => return Ok(decided),
            }
        }
    }

    /// The next position from `from` where a member header starts, within the scan limit.
    fn search(&mut self, from: u64) -> io::Result<Option<u64>> {
        let mut candidate = from;
        let limit = from.saturating_add(self.scan_limit);
        while candidate < limit {
            self.keep_from = candidate;
            self.fill(candidate, USUAL_HEADER)?;
            let window = self.available(candidate);
            if window.len() < SIGNATURE.len() {
                return Ok(None);
            }
            let Some(hit) = window.windows(SIGNATURE.len()).position(|w| w == SIGNATURE) else {
                // Keep the last bytes: a signature may straddle the next read.
                candidate += (window.len() - (SIGNATURE.len() - 1)) as u64;
                continue;
            };
            candidate += hit as u64;
            if candidate >= limit {
                break;
            }
            if let Header::Member { .. } = self.header_at(candidate)? {
                return Ok(Some(candidate));
            }
            candidate += 1;
        }
        Ok(None)
    }

    fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if self.done {
            return Ok(None);
        }
        let offset = self.at;
        self.keep_from = self.last_member.unwrap_or(offset);
        self.fill(offset, USUAL_HEADER)?;
        let left = self.available(offset).len() as u64;
        if left == 0 {
            self.done = true;
            return Ok(None);
        }
        match self.header_at(offset)? {
            Header::Member {
                header_len,
                total_len,
            } => {
                self.fill(offset, total_len)?;
                let have = self.available(offset).len();
                if have < total_len {
                    self.done = true;
                    return Ok(Some(Frame::Skipped {
                        offset,
                        len: have as u64,
                        why: format!(
                            "the file ends inside this {total_len}-byte member (truncated?)"
                        ),
                    }));
                }
                let bytes = self.available(offset)[..total_len].to_vec();
                self.last_member = Some(offset);
                self.at = offset + total_len as u64;
                Ok(Some(Frame::Member {
                    offset,
                    bytes,
                    header_len,
                }))
            }
            Header::NeedMore(_) => {
                self.done = true;
                Ok(Some(Frame::Skipped {
                    offset,
                    len: left,
                    why: "the file ends inside a member header (truncated?)".to_string(),
                }))
            }
            Header::Invalid => self.resynchronize(offset),
        }
    }

    /// No member starts at `offset`: finds the next one.
    fn resynchronize(&mut self, offset: u64) -> io::Result<Option<Frame>> {
        let from = self.last_member.map_or(offset + 1, |last| last + 1);
        let why = match self.last_member {
            Some(_) => "no BGZF member header where the previous member's length says the next \
                        one starts"
                .to_string(),
            None => "the file does not start with a BGZF member header".to_string(),
        };
        match self.search(from)? {
            Some(found) if found < offset => {
                // The previous member was shorter than its length field says (that member
                // fails its own checks): go back to the member found inside it.
                self.at = found;
                self.next_frame()
            }
            Some(found) => {
                self.at = found;
                Ok(Some(Frame::Skipped {
                    offset,
                    len: found - offset,
                    why,
                }))
            }
            None => {
                self.done = true;
                let end = self.buf_offset + self.buf.len() as u64;
                if self.eof && end.saturating_sub(from) <= self.scan_limit {
                    return Ok(Some(Frame::Skipped {
                        offset,
                        len: end.saturating_sub(offset),
                        why: format!("{why}, and no member follows"),
                    }));
                }
                Ok(Some(Frame::GaveUp {
                    offset,
                    scanned: self.scan_limit,
                }))
            }
        }
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = io::Result<Frame>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_frame() {
            Ok(frame) => frame.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::member::tests::member_of;
    use super::*;

    fn frames(bytes: &[u8], limit: u64) -> Vec<String> {
        FrameReader::new(bytes, limit)
            .map(|f| match f.expect("no I/O error") {
                Frame::Member { offset, bytes, .. } => format!("member {offset}+{}", bytes.len()),
                Frame::Skipped { offset, len, .. } => format!("skipped {offset}+{len}"),
                Frame::GaveUp { offset, scanned } => format!("gave up {offset} after {scanned}"),
            })
            .collect()
    }

    #[test]
    fn walks_members_and_finds_the_next_after_damage() {
        let a = member_of(&b"a".repeat(1000));
        let b = member_of(&b"b".repeat(2000));
        let c = member_of(&b"c".repeat(3000));
        let (la, lb, lc) = (a.len(), b.len(), c.len());
        let whole = [a.clone(), b.clone(), c.clone()].concat();
        assert_eq!(
            frames(&whole, 1 << 20),
            [
                "member 0+".to_string() + &la.to_string(),
                format!("member {la}+{lb}"),
                format!("member {}+{lc}", la + lb)
            ]
        );

        // b's length field damaged (points too far): c is found by searching.
        let mut long_b = whole.clone();
        long_b[la + 16] = long_b[la + 16].wrapping_add(7);
        let got = frames(&long_b, 1 << 20);
        assert_eq!(got[0], format!("member 0+{la}"));
        assert_eq!(got.last().unwrap(), &format!("member {}+{lc}", la + lb));

        // Ten bytes of b lost: its length now reaches into c; c is found before that point.
        let mut short = whole.clone();
        short.drain(la + 20..la + 30);
        let got = frames(&short, 1 << 20);
        assert_eq!(
            got.last().unwrap(),
            &format!("member {}+{lc}", la + lb - 10)
        );

        // Garbage where b's header was.
        let mut garbage = whole.clone();
        for byte in &mut garbage[la..la + 4] {
            *byte = 0;
        }
        let got = frames(&garbage, 1 << 20);
        assert_eq!(
            got,
            [
                format!("member 0+{la}"),
                format!("skipped {la}+{lb}"),
                format!("member {}+{lc}", la + lb)
            ]
        );

        // Cut inside c.
        let got = frames(&whole[..whole.len() - 5], 1 << 20);
        assert_eq!(
            got.last().unwrap(),
            &format!("skipped {}+{}", la + lb, lc - 5)
        );
    }

    #[test]
    fn the_search_is_bounded() {
        let a = member_of(b"start");
        let mut bytes = a.clone();
        bytes.extend(std::iter::repeat_n(0x1fu8, 10_000));
        bytes.extend_from_slice(&member_of(b"far away"));
        let got = frames(&bytes, 4096);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].starts_with("gave up"), "{got:?}");
        let got = frames(&bytes, 1 << 20);
        assert!(got.last().unwrap().starts_with("member"), "{got:?}");
    }
}
