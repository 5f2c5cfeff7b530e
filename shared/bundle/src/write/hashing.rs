//! The output file, hashed and counted as it is written, so the `.sha256` file costs no second
//! pass over a bundle of several gigabytes.

use std::fs::File;
use std::io::{self, Write};

use sha2::{Digest, Sha256};

pub(crate) struct HashingFile {
    pub(crate) file: File,
    hasher: Sha256,
    bytes: u64,
}

impl HashingFile {
    pub(crate) fn new(file: File) -> Self {
        HashingFile {
            file,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The file, the number of bytes written and their SHA-256 (lowercase hex).
    pub(crate) fn into_parts(self) -> (File, u64, String) {
        (self.file, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
