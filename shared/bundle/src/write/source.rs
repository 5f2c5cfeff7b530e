//! A source adapter that always yields exactly the number of bytes announced in the tar header.
//!
//! The tar header carries the entry size before the data, so a source that ends early (a log
//! file truncated while we read it) or fails must still be padded to that size, or every entry
//! after it would be misread. The padding is reported, never hidden.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

pub(crate) struct ExactSource<'a> {
    source: &'a mut dyn Read,
    remaining: u64,
    short_by: u64,
    source_done: bool,
    error: Option<io::Error>,
    hasher: Sha256,
}

/// What happened to the source once the entry was written.
pub(crate) struct SourceOutcome {
    pub short_by: u64,
    pub error: Option<io::Error>,
    pub sha256: String,
}

impl<'a> ExactSource<'a> {
    pub(crate) fn new(source: &'a mut dyn Read, size: u64) -> Self {
        ExactSource {
            source,
            remaining: size,
            short_by: 0,
            source_done: false,
            error: None,
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn outcome(self) -> SourceOutcome {
        SourceOutcome {
            short_by: self.short_by + self.remaining,
            error: self.error,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }

    fn read_source(&mut self, buf: &mut [u8]) -> usize {
        loop {
            match self.source.read(buf) {
                Ok(0) => {
                    self.source_done = true;
                    return 0;
                }
                Ok(n) => return n.min(buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    self.source_done = true;
                    return 0;
                }
            }
        }
    }
}

impl Read for ExactSource<'_> {
    /// Never fails: source errors turn into zero padding and are kept for [`Self::outcome`].
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let buf = &mut buf[..want];
        let mut got = 0;
        if !self.source_done {
            got = self.read_source(buf);
        }
        if self.source_done && got == 0 {
            buf.fill(0);
            got = want;
            self.short_by += want as u64;
        }
        self.hasher.update(&buf[..got]);
        self.remaining -= got as u64;
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.min(buf.len());
            buf[..n].fill(b'a');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn short_source_is_padded_and_reported() {
        let mut data: &[u8] = b"abc";
        let mut src = ExactSource::new(&mut data, 10);
        let mut out = Vec::new();
        src.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc\0\0\0\0\0\0\0");
        let outcome = src.outcome();
        assert_eq!(outcome.short_by, 7);
        assert!(outcome.error.is_none());
        assert_eq!(outcome.sha256, hex::encode(Sha256::digest(&out)));
    }

    #[test]
    fn long_source_is_cut_and_failing_source_padded() {
        let mut data: &[u8] = b"abcdef";
        let mut src = ExactSource::new(&mut data, 4);
        let mut out = Vec::new();
        src.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        assert_eq!(src.outcome().short_by, 0);

        let mut failing = Failing(2);
        let mut src = ExactSource::new(&mut failing, 5);
        let mut out = Vec::new();
        src.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"aa\0\0\0");
        let outcome = src.outcome();
        assert_eq!(outcome.short_by, 3);
        assert!(outcome.error.is_some());
    }
}
