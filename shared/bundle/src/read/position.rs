//! Byte counters that let an error say where in the file things broke.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts bytes read from the file itself. Shared atomically because the parallel BGZF reader
/// reads the file on its own thread.
pub(crate) struct CountingFile<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> CountingFile<R> {
    pub(crate) fn new(inner: R, read: Arc<AtomicU64>) -> Self {
        CountingFile { inner, read }
    }
}

impl<R: Read> Read for CountingFile<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Counts decompressed bytes handed to the tar parser, and whether the stream ran dry.
pub(crate) struct CountingStream<R> {
    inner: R,
    offset: Rc<Cell<u64>>,
    hit_end: Rc<Cell<bool>>,
}

impl<R: Read> Read for CountingStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_end.set(true);
        }
        self.offset.set(self.offset.get() + n as u64);
        Ok(n)
    }
}

/// Where the reader is, for error messages.
#[derive(Clone, Default)]
pub(crate) struct Position {
    uncompressed: Rc<Cell<u64>>,
    hit_end: Rc<Cell<bool>>,
    compressed: Option<Arc<AtomicU64>>,
}

impl Position {
    pub(crate) fn new(compressed: Option<Arc<AtomicU64>>) -> Self {
        Position {
            compressed,
            ..Position::default()
        }
    }

    pub(crate) fn wrap<R: Read>(&self, inner: R) -> CountingStream<R> {
        CountingStream {
            inner,
            offset: Rc::clone(&self.uncompressed),
            hit_end: Rc::clone(&self.hit_end),
        }
    }

    pub(crate) fn compressed_counter(&self) -> Option<Arc<AtomicU64>> {
        self.compressed.clone()
    }

    /// Moves the uncompressed offset (reading resumed elsewhere after damage).
    pub(crate) fn set_uncompressed(&self, offset: u64) {
        self.uncompressed.set(offset);
    }

    pub(crate) fn hit_end(&self) -> bool {
        self.hit_end.get()
    }

    /// E.g. `uncompressed byte 1536 (compressed input read to byte 700), in or after entry "x"`.
    pub(crate) fn describe(&self, entry: Option<&str>) -> String {
        let mut text = match &self.compressed {
            Some(compressed) => format!(
                "uncompressed byte {} (compressed input read to byte {})",
                self.uncompressed.get(),
                compressed.load(Ordering::Relaxed)
            ),
            None => format!("byte {}", self.uncompressed.get()),
        };
        match entry {
            Some(name) => text.push_str(&format!(", in or after entry {name:?}")),
            None => text.push_str(", before the first entry"),
        }
        text
    }
}
