//! One BGZF member (SAM/BAM specification, section 4.1; RFC 1952): recognizing its header, and
//! inflating it with every check its trailer allows, so a damaged member is found out and named
//! rather than delivered.

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// The fixed part of a gzip header: ID1 ID2 CM FLG MTIME(4) XFL OS, then XLEN (2).
const FIXED_HEADER: usize = 12;
/// CRC32 and ISIZE.
const TRAILER: usize = 8;
/// A BGZF member never holds more than 64 KiB of input.
const MAX_ISIZE: u32 = 65536;
/// `1f 8b` (gzip), CM 8 (deflate), FLG 4 (FEXTRA only), as every BGZF member starts.
pub(crate) const SIGNATURE: [u8; 4] = [0x1f, 0x8b, 0x08, 0x04];
/// Bytes needed to read the fixed header and the usual 6-byte extra field with `BSIZE`.
pub(crate) const USUAL_HEADER: usize = 18;

/// What the bytes at a position say about a member starting there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// A member header: its own length, and the member's total length (`BSIZE + 1`).
    Member {
        header_len: usize,
        total_len: usize,
    },
    /// Possibly a member header, but at least this many bytes are needed to tell.
    NeedMore(usize),
    Invalid,
}

/// Reads a member header from the start of `bytes`.
pub(crate) fn parse_header(bytes: &[u8]) -> Header {
    let known = bytes.len().min(SIGNATURE.len());
    if bytes[..known] != SIGNATURE[..known] {
        return Header::Invalid;
    }
    if bytes.len() < FIXED_HEADER {
        return Header::NeedMore(USUAL_HEADER);
    }
    let xlen = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));
    let header_len = FIXED_HEADER + xlen;
    let Some(extra) = bytes.get(FIXED_HEADER..header_len) else {
        return Header::NeedMore(header_len);
    };
    let Some(bsize) = bsize_of(extra) else {
        return Header::Invalid;
    };
    let total_len = bsize + 1;
    if total_len < header_len + TRAILER {
        return Header::Invalid;
    }
    Header::Member {
        header_len,
        total_len,
    }
}

/// `BSIZE` from the `BC` subfield of a gzip extra field.
fn bsize_of(extra: &[u8]) -> Option<usize> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let slen = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let data = rest.get(4..4 + slen)?;
        if rest[..2] == *b"BC" {
            return (slen == 2).then(|| usize::from(u16::from_le_bytes([data[0], data[1]])));
        }
        rest = &rest[4 + slen..];
    }
    None
}

/// Why a member could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    pub(crate) why: String,
    /// The inflated size its trailer announces, when that is plausible: how much of the tar
    /// stream the member held.
    pub(crate) isize: Option<u32>,
}

/// Inflates one whole member (`header_len` as [`parse_header`] found it), checking that the
/// deflate data ends where the trailer begins, and the trailer's length and CRC.
pub(crate) fn inflate(member: &[u8], header_len: usize) -> Result<Vec<u8>, Damage> {
    let trailer_at = member.len().saturating_sub(TRAILER).max(header_len);
    let cdata = &member[header_len..trailer_at];
    let trailer = &member[trailer_at..];
    if trailer.len() < TRAILER {
        return Err(Damage {
            why: "member too short for its trailer".to_string(),
            isize: None,
        });
    }
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if isize > MAX_ISIZE {
        return Err(Damage {
            why: format!("its trailer announces {isize} bytes, more than a BGZF member holds"),
            isize: None,
        });
    }
    let damaged = |why: String| Damage {
        why,
        isize: Some(isize),
    };
    // One byte more than announced, to notice data that inflates to more.
    let mut out = vec![0u8; isize as usize + 1];
    let mut inflater = Decompress::new(false);
    let status = inflater
        .decompress(cdata, &mut out, FlushDecompress::Finish)
        .map_err(|e| damaged(format!("invalid deflate data: {e}")))?;
    let produced = usize::try_from(inflater.total_out()).unwrap_or(usize::MAX);
    if status != Status::StreamEnd {
        return Err(damaged(if produced > isize as usize {
            format!("inflates to more than the {isize} bytes its trailer announces")
        } else {
            "its deflate data ends early".to_string()
        }));
    }
    if produced != isize as usize {
        return Err(damaged(format!(
            "inflates to {produced} bytes, its trailer announces {isize}"
        )));
    }
    out.truncate(produced);
    let mut check = Crc::new();
    check.update(&out);
    if check.sum() != crc {
        return Err(damaged("its CRC does not match its data".to_string()));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A BGZF member holding `data`, as the writer makes it.
    pub(crate) fn member_of(data: &[u8]) -> Vec<u8> {
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        deflate.write_all(data).expect("memory");
        let cdata = deflate.finish().expect("memory");
        let mut out = vec![
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
        ];
        out.extend_from_slice(&((cdata.len() + 25) as u16).to_le_bytes());
        out.extend_from_slice(&cdata);
        let mut crc = Crc::new();
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn reads_a_member_and_finds_each_kind_of_damage() {
        let data = b"hello bgzf ".repeat(300);
        let member = member_of(&data);
        let Header::Member {
            header_len,
            total_len,
        } = parse_header(&member)
        else {
            panic!("a header");
        };
        assert_eq!((header_len, total_len), (18, member.len()));
        assert_eq!(inflate(&member, header_len).expect("inflates"), data);
        assert_eq!(parse_header(&member[..3]), Header::NeedMore(USUAL_HEADER));
        assert_eq!(parse_header(&member[..14]), Header::NeedMore(18));
        assert_eq!(parse_header(b"\x1f\x8b\x08\x00rest"), Header::Invalid);

        let mut crc_damaged = member.clone();
        let crc_at = member.len() - 8;
        crc_damaged[crc_at] ^= 1;
        let damage = inflate(&crc_damaged, 18).unwrap_err();
        assert!(damage.why.contains("CRC does not match"), "{damage:?}");
        assert_eq!(damage.isize, Some(data.len() as u32));

        let mut size_damaged = member.clone();
        size_damaged[member.len() - 4] ^= 1;
        assert!(inflate(&size_damaged, 18).is_err());

        let mut huge = member.clone();
        let at = member.len() - 1;
        huge[at] = 0x7f;
        assert_eq!(inflate(&huge, 18).unwrap_err().isize, None);

        let mut garbled = member.clone();
        for b in &mut garbled[20..40] {
            *b ^= 0x5a;
        }
        assert!(inflate(&garbled, 18).is_err());

        let empty = member_of(b"");
        assert_eq!(inflate(&empty, 18).expect("empty member"), b"");
    }
}
