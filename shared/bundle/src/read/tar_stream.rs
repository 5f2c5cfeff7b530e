//! Walking a tar stream entry by entry, in bounded memory.
//!
//! The tar crate runs in raw mode and GNU long names and pax headers are handled here, with size
//! caps: in its default mode the crate reads a long-name record of any announced size into memory,
//! which a hostile archive could use to exhaust it.

use std::io::{self, Read};

use tar::EntryType;

use super::position::Position;
use super::source::{Flow, RawEntry, RawKind};
use crate::error::BundleError;

/// Longest path accepted from a GNU long-name record or a pax `path`.
const MAX_NAME_BYTES: u64 = 64 * 1024;
/// Largest pax extended header accepted.
const MAX_PAX_BYTES: u64 = 1024 * 1024;
/// Data after the tar's end read, at most, to check the compressed stream's end (tar pads to a
/// 10 KiB record; more is odd, and inflating gigabytes of it would only cost time).
const MAX_TRAILER_BYTES: u64 = 16 * 1024 * 1024;

pub(crate) enum StreamError {
    /// The callback refused (or a format check failed): passed through unchanged.
    Sink(BundleError),
    /// The compressed stream or the tar structure is damaged.
    Io(io::Error),
}

impl From<BundleError> for StreamError {
    fn from(e: BundleError) -> Self {
        StreamError::Sink(e)
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

pub(crate) struct TarEnd {
    /// The archive ended with its end-of-archive zero block (not just by running out of input).
    pub saw_end_marker: bool,
    /// A problem reading the compressed data after the tar end (e.g. a damaged gzip trailer).
    pub trailer_problem: Option<Trailer>,
}

/// What is wrong after the tar's end-of-archive block.
pub(crate) enum Trailer {
    /// The compressed data fails to read (a damaged member, a CRC that does not match).
    Damaged(String),
    /// More data than a tar's padding follows; it was not read.
    TooLong,
}

impl std::fmt::Display for Trailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trailer::Damaged(problem) => {
                write!(f, "damaged data after the end of the tar: {problem}")
            }
            Trailer::TooLong => write!(
                f,
                "more than {MAX_TRAILER_BYTES} bytes follow the end of the tar archive; not read"
            ),
        }
    }
}

/// Streams every entry of the tar in `input` to `on_entry`.
pub(crate) fn stream_tar(
    input: impl Read,
    position: &Position,
    on_entry: &mut dyn FnMut(RawEntry<'_>) -> Result<Flow, BundleError>,
) -> Result<TarEnd, StreamError> {
    let mut archive = tar::Archive::new(position.wrap(input));
    let mut stopped = false;
    {
        let entries = archive.entries()?.raw(true);
        let mut pending_name: Option<Vec<u8>> = None;
        let mut pending_pax_name: Option<Vec<u8>> = None;
        let mut pending_pax_size: Option<u64> = None;
        for item in entries {
            let mut entry = item?;
            let entry_type = entry.header().entry_type();
            match entry_type {
                EntryType::GNULongName => {
                    pending_name = Some(read_capped(&mut entry, MAX_NAME_BYTES, "GNU long name")?);
                    continue;
                }
                EntryType::GNULongLink | EntryType::XGlobalHeader => continue,
                EntryType::XHeader => {
                    let pax = read_capped(&mut entry, MAX_PAX_BYTES, "pax header")?;
                    (pending_pax_name, pending_pax_size) = pax_records(&pax)?;
                    continue;
                }
                _ => {}
            }
            if entry_type == EntryType::GNUSparse
                && entry.header().as_gnu().is_some_and(|gnu| gnu.is_extended())
            {
                return Err(StreamError::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "GNU sparse entry with extended sparse headers is not supported",
                )));
            }
            let mut name = pending_pax_name
                .take()
                .or_else(|| pending_name.take())
                .unwrap_or_else(|| entry.path_bytes().into_owned());
            pending_name = None;
            while name.last() == Some(&0) {
                name.pop();
            }
            let size = entry.size();
            // Raw mode positions entries by the header size; a pax size that differs (entries over
            // 8 GiB, which the writer never makes) cannot be followed.
            if pending_pax_size
                .take()
                .is_some_and(|pax_size| pax_size != size)
            {
                return Err(StreamError::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "pax size override (entry larger than 8 GiB) is not supported",
                )));
            }
            let kind = raw_kind(entry_type);
            let flow = on_entry(RawEntry {
                name: &name,
                kind,
                size,
                reader: &mut entry,
            })?;
            if flow == Flow::Stop {
                stopped = true;
                break;
            }
        }
    }
    if stopped {
        return Ok(TarEnd {
            saw_end_marker: false,
            trailer_problem: None,
        });
    }
    let saw_end_marker = !position.hit_end();
    let rest = archive.into_inner();
    let trailer_problem = match io::copy(&mut rest.take(MAX_TRAILER_BYTES + 1), &mut io::sink()) {
        Err(e) => Some(Trailer::Damaged(e.to_string())),
        Ok(n) if n > MAX_TRAILER_BYTES => Some(Trailer::TooLong),
        Ok(_) => None,
    };
    Ok(TarEnd {
        saw_end_marker,
        trailer_problem,
    })
}

fn raw_kind(entry_type: EntryType) -> RawKind {
    match entry_type {
        EntryType::Regular | EntryType::Continuous => RawKind::Regular,
        EntryType::Directory => RawKind::Directory,
        EntryType::Symlink => RawKind::Other("symbolic link"),
        EntryType::Link => RawKind::Other("hard link"),
        EntryType::Char => RawKind::Other("character device"),
        EntryType::Block => RawKind::Other("block device"),
        EntryType::Fifo => RawKind::Other("fifo"),
        EntryType::GNUSparse => RawKind::Other("GNU sparse file (not supported)"),
        _ => RawKind::Other("unknown tar entry type"),
    }
}

fn read_capped(reader: &mut dyn Read, cap: u64, what: &str) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    reader.take(cap + 1).read_to_end(&mut data)?;
    if data.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} longer than {cap} bytes"),
        ));
    }
    Ok(data)
}

/// The `path` and `size` records of a pax header.
fn pax_records(pax: &[u8]) -> io::Result<(Option<Vec<u8>>, Option<u64>)> {
    let (mut path, mut size) = (None, None);
    for ext in tar::PaxExtensions::new(pax) {
        let ext = ext?;
        match ext.key_bytes() {
            b"path" => path = Some(ext.value_bytes().to_vec()),
            b"size" => size = ext.value().ok().and_then(|v| v.trim().parse::<u64>().ok()),
            _ => {}
        }
    }
    Ok((path, size))
}
