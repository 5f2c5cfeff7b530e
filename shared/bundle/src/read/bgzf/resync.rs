//! Finding the next tar entry after damage.
//!
//! BGZF members end at arbitrary places of the tar stream, so after a lost member the alignment
//! of tar blocks is unknown. Two ways back in:
//!
//! - When the size of what was lost is known (every damaged member announced it) and the entry
//!   being read when the damage hit is known, its end — where the next header must be — is known
//!   too: the stream is read up to there and the header checked.
//! - Otherwise every byte position is tried, bounded by a budget of inflated bytes, for a block
//!   that is a tar header: the `ustar` magic, a checksum that verifies, a known type, and, in a
//!   triton bundle, a name under the bundle's top directory (which a tar stored inside the
//!   bundle, with its own valid headers, does not have).

use std::io::{self, Read};

use super::stream::{Gap, SharedStream};
use crate::read::detect::looks_like_tar_header;

const BLOCK: usize = 512;
/// Bytes after a header looked at to check the name of a GNU long-name or pax record.
const LOOKAHEAD: usize = 1024;
const CHUNK: usize = 64 * 1024;

/// Where reading resumed.
#[derive(Debug)]
pub(crate) struct Resumed {
    /// Tar-stream offset of the header found.
    pub(crate) tar_offset: u64,
    /// Its entry name, as stored (lossily made text).
    pub(crate) name: String,
    /// The header is exactly where the last entry seen ended: no other entry was lost.
    pub(crate) where_expected: bool,
}

pub(crate) enum Resync {
    Resumed(Resumed),
    /// No header found: the end of the data, or the budget spent (`scanned` bytes looked at).
    NotFound {
        scanned: u64,
        end_of_data: bool,
    },
    /// Reading the file failed.
    Failed(io::Error),
}

/// What is known when resuming.
pub(crate) struct Hints<'a> {
    /// Tar-stream offset where the next header should be (the end of the last entry seen).
    pub(crate) next_header: Option<u64>,
    /// The bundle's top directory, when it is a triton bundle with one.
    pub(crate) top: Option<&'a str>,
    /// Inflated bytes searched, at most.
    pub(crate) budget: u64,
}

/// Takes the pending gap (and any met while searching) into `gaps`, and positions `stream` at
/// the next tar header after them.
pub(crate) fn resume(stream: &SharedStream, gaps: &mut Vec<Gap>, hints: &Hints<'_>) -> Resync {
    let Some(first) = stream.take_gap() else {
        return Resync::NotFound {
            scanned: 0,
            end_of_data: false,
        };
    };
    let mut aligned = first.size_known();
    gaps.push(first);
    let mut reader = stream.clone();
    if let Some(target) = hints
        .next_header
        .filter(|t| aligned && *t >= stream.tar_offset())
    {
        match skip_to(&mut reader, gaps, target) {
            Ok(true) => {}
            Ok(false) => aligned = false,
            Err(e) => return Resync::Failed(e),
        }
    }
    let mut window: Vec<u8> = Vec::new();
    let mut window_at = stream.tar_offset();
    let mut scanned = 0u64;
    let mut end_of_data = false;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let ready = if end_of_data {
            window.len().saturating_sub(BLOCK - 1)
        } else {
            window.len().saturating_sub(BLOCK + LOOKAHEAD - 1)
        };
        if let Some(at) = (0..ready).find(|&i| plausible_header(&window[i..], hints.top)) {
            let offset = window_at + at as u64;
            let name = header_name(&window[at..]);
            stream.unread(window.split_off(at));
            let last_known = hints.next_header.filter(|_| aligned);
            return Resync::Resumed(Resumed {
                tar_offset: offset,
                name,
                where_expected: last_known == Some(offset),
            });
        }
        scanned += ready as u64;
        window.drain(..ready);
        window_at += ready as u64;
        if end_of_data {
            return Resync::NotFound {
                scanned,
                end_of_data: true,
            };
        }
        if scanned > hints.budget {
            return Resync::NotFound {
                scanned,
                end_of_data: false,
            };
        }
        match reader.read(&mut chunk) {
            Ok(0) => end_of_data = true,
            Ok(n) => window.extend_from_slice(&chunk[..n]),
            Err(e) => match stream.take_gap() {
                Some(gap) => {
                    // A header cannot straddle the gap: what came before it is dropped.
                    aligned &= gap.size_known();
                    end_of_data = gap.at_end;
                    scanned += window.len() as u64;
                    window.clear();
                    gaps.push(gap);
                    window_at = stream.tar_offset();
                }
                None => return Resync::Failed(e),
            },
        }
    }
}

/// Reads and drops the stream up to tar offset `target`. `Ok(false)` when a gap of unknown
/// size was met on the way (then the offsets no longer line up and the stream is where that
/// gap ended).
fn skip_to(reader: &mut SharedStream, gaps: &mut Vec<Gap>, target: u64) -> io::Result<bool> {
    let mut sink = vec![0u8; CHUNK];
    loop {
        let at = reader.tar_offset();
        if at >= target {
            return Ok(true);
        }
        let want = usize::try_from(target - at).unwrap_or(CHUNK).min(CHUNK);
        match reader.read(&mut sink[..want]) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) => match reader.take_gap() {
                Some(gap) => {
                    let known = gap.size_known();
                    gaps.push(gap);
                    if !known {
                        return Ok(false);
                    }
                }
                None => return Err(e),
            },
        }
    }
}

/// Whether `bytes` start with a tar header this reader would take for an entry of the bundle
/// (see the module comment). `bytes` holds the header and what follows, when there is more.
pub(crate) fn plausible_header(bytes: &[u8], top: Option<&str>) -> bool {
    let Some(block) = bytes.get(..BLOCK) else {
        return false;
    };
    let magic = &block[257..265];
    let posix = magic == b"ustar\x0000";
    if !posix && magic != b"ustar  \x00" {
        return false;
    }
    if !b"01234567LKxgS\0".contains(&block[156]) || !size_field_ok(&block[124..136]) {
        return false;
    }
    if block[0] == 0 || !looks_like_tar_header(block) {
        return false;
    }
    let Some(top) = top.filter(|t| !t.is_empty()) else {
        return true;
    };
    let under_top = |name: &[u8]| {
        name.strip_prefix(top.as_bytes())
            .is_some_and(|rest| rest.is_empty() || rest[0] == b'/' || rest[0] == 0)
    };
    let following = &bytes[BLOCK.min(bytes.len())..];
    match block[156] {
        // A GNU long-name record: the name is the data that follows.
        b'L' => under_top(following),
        b'x' => {
            let needle = format!(" path={top}/");
            following
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        }
        b'g' | b'K' => false,
        _ if posix && block[345] != 0 => under_top(&block[345..500]),
        _ => under_top(&block[..100]),
    }
}

/// An octal number (spaces and NULs around it) or a GNU base-256 number.
fn size_field_ok(field: &[u8]) -> bool {
    if field[0] & 0x80 != 0 {
        return true;
    }
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .filter(|b| *b != b' ' && *b != 0)
        .collect();
    !digits.is_empty() && digits.iter().all(|b| (b'0'..=b'7').contains(b))
}

/// The name field of a header (the short name; a long name is in the record that follows).
fn header_name(bytes: &[u8]) -> String {
    let field = &bytes[..100];
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let name = String::from_utf8_lossy(&field[..end]).into_owned();
    if bytes[156] == b'L' {
        let following = bytes.get(BLOCK..).unwrap_or(&[]);
        let end = following
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(following.len());
        return String::from_utf8_lossy(&following[..end]).into_owned();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: tar::EntryType) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).expect("name");
        header.set_entry_type(kind);
        header.set_size(10);
        header.set_cksum();
        header.as_bytes().to_vec()
    }

    #[test]
    fn recognizes_bundle_headers_only() {
        let h = header("top/hosts/a.log", tar::EntryType::Regular);
        assert!(plausible_header(&h, Some("top")));
        assert!(plausible_header(&h, None));
        assert!(!plausible_header(&h, Some("other")));
        assert!(!plausible_header(&h, Some("to")));
        let inner = header("zones/x/root/var/log/y.log", tar::EntryType::Regular);
        assert!(!plausible_header(&inner, Some("top")));
        let mut broken = h.clone();
        broken[5] ^= 1;
        assert!(!plausible_header(&broken, Some("top")));
        assert!(!plausible_header(&[0u8; 512], None));
        let mut long = header("././@LongLink", tar::EntryType::GNULongName);
        long.extend_from_slice(b"top/hosts/a-very-long-name\0");
        assert!(plausible_header(&long, Some("top")));
        assert_eq!(header_name(&long), "top/hosts/a-very-long-name");
        long.truncate(512);
        long.extend_from_slice(b"elsewhere/x\0");
        assert!(!plausible_header(&long, Some("top")));
    }
}
