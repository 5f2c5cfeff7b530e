//! What the reader hands to its caller.

use std::io::{self, Read};

/// One regular file of a bundle, streamed: read it (or not) inside the callback.
pub struct Entry<'a> {
    path: &'a str,
    size: u64,
    reader: &'a mut dyn Read,
    consumed: u64,
    failure: Option<io::Error>,
    truncated: bool,
}

impl<'a> Entry<'a> {
    pub(crate) fn new(path: &'a str, size: u64, reader: &'a mut dyn Read) -> Self {
        Entry {
            path,
            size,
            reader,
            consumed: 0,
            failure: None,
            truncated: false,
        }
    }

    /// Normalized `/`-separated relative path; for triton bundles without the top directory.
    pub fn path(&self) -> &str {
        self.path
    }

    /// The path split at nested archives: `["a/zone.logs.tar.gz", "zones/x/root/var/log/y.log"]`
    /// for an entry read inside `a/zone.logs.tar.gz` (see [`crate::Bundle::set_nested`]); one
    /// element for an entry of the input itself.
    pub fn layers(&self) -> Vec<&str> {
        nested_layers(self.path)
    }

    /// Size announced by the archive; reading yields at most this many bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the rest of the entry as text, replacing invalid UTF-8.
    pub fn read_to_string_lossy(&mut self) -> io::Result<String> {
        let mut bytes = Vec::new();
        self.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Whether the data ended before the announced size.
    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }

    pub(crate) fn has_failure(&self) -> bool {
        self.failure.is_some()
    }

    /// The error of the underlying stream, if reading the entry's data hit one.
    pub(crate) fn take_failure(&mut self) -> Option<io::Error> {
        self.failure.take()
    }

    /// Reads what the callback left unread, so the archive can go on to the next entry.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
}

impl Read for Entry<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failure {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        let left = self.size - self.consumed;
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        loop {
            match self.reader.read(&mut buf[..want]) {
                Ok(0) => {
                    // Ending early is an error, not a short file: the caller must not take a
                    // truncated entry for a complete one.
                    self.truncated = true;
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "entry truncated after {} of {} bytes",
                            self.consumed, self.size
                        ),
                    );
                    let copy = io::Error::new(e.kind(), e.to_string());
                    self.failure = Some(e);
                    return Err(copy);
                }
                Ok(n) => {
                    let n = n.min(want);
                    self.consumed += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    self.failure = Some(e);
                    return Err(copy);
                }
            }
        }
    }
}

/// A delivered path split at nested archives (see [`Entry::layers`]); works on stored paths too.
pub fn nested_layers(path: &str) -> Vec<&str> {
    path.split(super::nested::NESTED_SEPARATOR).collect()
}

/// An entry that was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The name as found in the archive (lossily made UTF-8).
    pub path: String,
    /// Why, e.g. `symbolic link`, `unsafe name: contains '..'`.
    pub reason: String,
}

/// What a pass over a bundle saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Entries delivered to the callback.
    pub entries: u64,
    /// Entries not delivered (not regular files, unsafe names, outside the top directory), or
    /// handed out and then cut by damaged data (reason `lost: ...`).
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop the reading (unparsable manifest, missing BGZF EOF block, ...).
    pub warnings: Vec<String>,
}
