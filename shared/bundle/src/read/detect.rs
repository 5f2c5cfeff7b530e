//! Recognizing what we were given by its first bytes, never by its name.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::compression::{decoder, Compression};

/// What a path holds, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    /// gzip whose first member carries the BGZF `BC` extra subfield.
    Bgzf,
    /// Any other gzip.
    Gzip,
    Bzip2,
    Tar,
    Zip,
    Directory,
    Plain,
    /// Compressed with something we do not read (named in the string).
    Unsupported(&'static str),
}

pub(crate) fn detect(path: &Path) -> io::Result<Detected> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Ok(Detected::Directory);
    }
    let mut head = [0u8; 512];
    let len = read_up_to(&mut File::open(path)?, &mut head)?;
    Ok(classify(&head[..len]))
}

pub(crate) fn classify(head: &[u8]) -> Detected {
    if head.starts_with(&[0x1f, 0x8b]) {
        return if is_bgzf_header(head) {
            Detected::Bgzf
        } else {
            Detected::Gzip
        };
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Detected::Zip;
    }
    if head.len() == 512 && looks_like_tar_header(head) {
        return Detected::Tar;
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Detected::Unsupported("xz-compressed; unpack it first (xz -d)");
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Detected::Unsupported("zstd-compressed; unpack it first (zstd -d)");
    }
    if is_bzip2_header(head) {
        return Detected::Bzip2;
    }
    Detected::Plain
}

/// bzip2: `BZh`, the block size digit, then the magic of the first block or of the end of an
/// empty stream (bzip2 format, as in its reference implementation's `decompress.c`).
fn is_bzip2_header(head: &[u8]) -> bool {
    const BLOCK_MAGIC: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END_MAGIC: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == BLOCK_MAGIC || head[4..10] == END_MAGIC)
}

impl Detected {
    /// The compression of a detected compressed stream.
    pub(crate) fn compression(self) -> Option<Compression> {
        match self {
            Detected::Bgzf => Some(Compression::Bgzf),
            Detected::Gzip => Some(Compression::Gzip),
            Detected::Bzip2 => Some(Compression::Bzip2),
            _ => None,
        }
    }
}

/// BGZF (SAM/BAM specification, section 4.1): gzip with FEXTRA and a `BC` subfield of length 2.
pub(crate) fn is_bgzf_header(head: &[u8]) -> bool {
    if head.len() < 18 || head[2] != 8 || head[3] & 0x04 == 0 {
        return false;
    }
    let xlen = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let Some(extra) = head.get(12..12 + xlen) else {
        return false;
    };
    let mut rest = extra;
    while rest.len() >= 4 {
        let slen = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        if rest[0] == b'B' && rest[1] == b'C' && slen == 2 {
            return true;
        }
        match rest.get(4 + slen..) {
            Some(next) => rest = next,
            None => return false,
        }
    }
    false
}

/// A tar header block: its checksum field matches the sum of its bytes (as unsigned or, like some
/// old writers, signed bytes). An all-zero block is an empty archive.
pub(crate) fn looks_like_tar_header(block: &[u8]) -> bool {
    if block.len() != 512 {
        return false;
    }
    if block.iter().all(|b| *b == 0) {
        return true;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u32, 0i64);
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += u32::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::from(stored) == signed
}

/// Whether a compressed file holds a tar archive (else it is one compressed file).
pub(crate) fn compressed_holds_tar(path: &Path, compression: Compression) -> io::Result<bool> {
    let mut inflated = decoder(compression, io::BufReader::new(File::open(path)?));
    let mut block = [0u8; 512];
    let len = read_up_to(&mut inflated, &mut block).unwrap_or(0);
    Ok(len == 512 && looks_like_tar_header(&block))
}

/// The first `max` bytes of a stream (fewer when it is shorter).
pub(crate) fn read_head(reader: &mut dyn Read, max: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; max];
    let len = read_up_to(reader, &mut head)?;
    head.truncate(len);
    Ok(head)
}

pub(crate) fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_content() {
        assert_eq!(classify(b"PK\x03\x04rest"), Detected::Zip);
        assert_eq!(
            classify(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
            Detected::Gzip
        );
        assert_eq!(classify(b"hello world"), Detected::Plain);
        assert_eq!(classify(b"BZh is not enough"), Detected::Plain);
        let mut bz = Vec::new();
        let mut encoder = bzip2::write::BzEncoder::new(&mut bz, bzip2::Compression::fast());
        std::io::Write::write_all(&mut encoder, b"some text").unwrap();
        encoder.finish().unwrap();
        assert_eq!(classify(&bz), Detected::Bzip2);
        let mut empty = Vec::new();
        bzip2::write::BzEncoder::new(&mut empty, bzip2::Compression::best())
            .finish()
            .unwrap();
        assert_eq!(classify(&empty), Detected::Bzip2);
        let mut header = tar::Header::new_gnu();
        header.set_path("a/b").unwrap();
        header.set_size(3);
        header.set_cksum();
        assert_eq!(classify(header.as_bytes()), Detected::Tar);
        let mut broken = *header.as_bytes();
        broken[0] ^= 1;
        assert_eq!(classify(&broken), Detected::Plain);
    }
}
