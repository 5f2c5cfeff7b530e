//! A private temporary directory holding the selected log entries of archives, decompressed.
//!
//! An archive entry can be read once, in archive order, and only while the archive is being
//! walked; a time merge needs all its inputs readable at once, in time order. Copying the
//! selected entries to plain files makes them ordinary log files again, so the file merge and
//! the time-window bisection apply unchanged. A cap bounds the disk used.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

/// Default for the bytes spooled from all bundles of one run.
pub const DEFAULT_SPOOL_CAP: u64 = 4 * 1024 * 1024 * 1024;

/// Most entries spooled in one run: an archive of a million tiny logs would otherwise cost a
/// million files (and minutes); real bundles hold hundreds.
pub const MAX_SPOOL_FILES: usize = 20_000;

/// The spool directory (removed with everything in it when dropped).
pub struct Spool {
    dir: tempfile::TempDir,
    cap: u64,
    used: u64,
    files: usize,
}

impl Spool {
    /// Creates the directory under the system temporary directory (`TMPDIR`).
    pub fn new(cap: u64) -> io::Result<Spool> {
        let dir = tempfile::Builder::new()
            .prefix("triton-logs-spool-")
            .tempdir()?;
        Ok(Spool {
            dir,
            cap,
            used: 0,
            files: 0,
        })
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Copies `reader` (inflated when it is gzip) to a new file and returns its path. Fails when
    /// the copy would take the spool past its cap; the partial copy is then removed.
    pub fn store(&mut self, reader: &mut dyn Read, entry: &str) -> io::Result<PathBuf> {
        if self.files >= MAX_SPOOL_FILES {
            return Err(io::Error::other(format!(
                "more than {MAX_SPOOL_FILES} log entries selected; narrow them with --host or --source"
            )));
        }
        self.files += 1;
        let base = entry.rsplit('/').next().unwrap_or("log");
        let base = base.strip_suffix(".gz").unwrap_or(base);
        let path = self.dir.path().join(format!("{:05}-{base}", self.files));
        let mut out = Capped {
            file: File::create(&path)?,
            left: self.cap - self.used,
            written: 0,
        };
        let result = copy_inflated(reader, &mut out).and_then(|()| out.file.flush());
        self.used += out.written;
        match result {
            Ok(()) => Ok(path),
            Err(err) => {
                self.release(&path);
                Err(err)
            }
        }
    }

    /// Removes a spooled file that turned out not to be wanted, giving its room back.
    pub fn release(&mut self, path: &Path) {
        if path.starts_with(self.dir.path()) {
            let size = fs::metadata(path).map_or(0, |m| m.len());
            if fs::remove_file(path).is_ok() {
                self.used = self.used.saturating_sub(size);
            }
        }
    }
}

fn copy_inflated(reader: &mut dyn Read, out: &mut Capped) -> io::Result<()> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        io::copy(&mut MultiGzDecoder::new(buffered), out)?;
    } else {
        io::copy(&mut buffered, out)?;
    }
    Ok(())
}

/// A file that refuses to grow past `left` bytes.
struct Capped {
    file: File,
    left: u64,
    written: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left - self.written {
            return Err(io::Error::other(
                "the spool cap is reached (raise --spool-cap, or narrow with --host, --source)",
            ));
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_inflated_and_the_cap_is_enforced() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"one\ntwo\n").unwrap();
        let gz = gz.finish().unwrap();
        let mut spool = Spool::new(12).unwrap();
        let path = spool.store(&mut &gz[..], "a/b.log.gz").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\ntwo\n");
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-b.log"));
        let err = spool
            .store(&mut &b"too much data"[..], "c.log")
            .unwrap_err();
        assert!(err.to_string().contains("spool cap"), "{err}");
        spool.release(&path);
        assert!(!path.exists());
        assert!(spool.store(&mut &b"fits now"[..], "d.log").is_ok());
    }

    #[test]
    fn the_number_of_files_is_capped() {
        let mut spool = Spool::new(1 << 20).unwrap();
        spool.files = MAX_SPOOL_FILES - 1;
        assert!(spool.store(&mut &b"last one\n"[..], "a.log").is_ok());
        let err = spool
            .store(&mut &b"one too many\n"[..], "b.log")
            .unwrap_err();
        assert!(err.to_string().contains("log entries selected"), "{err}");
    }
}
