//! `.zip` input: members in central-directory order, read through the zip crate.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use zip::result::ZipError;
use zip::ZipArchive;

use super::deliver::Delivery;
use super::source::{RawEntry, RawKind};
use super::top::TopFinder;
use crate::error::BundleError;
use crate::format::{read_stamp, FormatStamp, FORMAT_FILE, MAX_FORMAT_FILE_BYTES};

type Zip = ZipArchive<BufReader<File>>;

fn open_zip(path: &Path) -> Result<Zip, BundleError> {
    let file = File::open(path).map_err(|e| BundleError::io(path, "opening", e))?;
    ZipArchive::new(BufReader::new(file)).map_err(|e| BundleError::Corrupt {
        path: path.to_path_buf(),
        location: "the zip central directory".to_string(),
        source: io::Error::other(e),
    })
}

/// Finds the bundle's top directory from the central directory and checks `bundle-format.json`.
pub(crate) fn probe(path: &Path) -> Result<Option<(String, FormatStamp)>, BundleError> {
    let mut zip = open_zip(path)?;
    let mut finder = TopFinder::unbounded();
    let mut candidate = None;
    for index in 0..zip.len() {
        let Some(Ok(name)) = zip.name_for_index(index) else {
            continue;
        };
        if name.ends_with('/') {
            continue;
        }
        let name = name.into_owned();
        if candidate.is_none() {
            if let Some(top) = finder.format_file_top(name.as_bytes()) {
                candidate = Some((index, top));
            }
        }
        finder.note(name.as_bytes());
    }
    let Some((index, top)) = candidate else {
        return Ok(None);
    };
    if !finder.all_under(&top) {
        return Ok(None);
    }
    let file = zip.by_index(index).map_err(|e| BundleError::Corrupt {
        path: path.to_path_buf(),
        location: format!("zip member {FORMAT_FILE}"),
        source: io::Error::other(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FORMAT_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::Corrupt {
            path: path.to_path_buf(),
            location: format!("zip member {FORMAT_FILE}"),
            source: e,
        })?;
    let stamp = read_stamp(path, FORMAT_FILE, &bytes)?;
    Ok(Some((top, stamp)))
}

pub(crate) fn stream(path: &Path, delivery: &mut Delivery<'_, '_>) -> Result<(), BundleError> {
    let mut zip = open_zip(path)?;
    let mut spans = Spans::default();
    for index in 0..zip.len() {
        let raw_name = zip
            .name_for_index(index)
            .and_then(|n| n.ok())
            .map(|n| n.into_owned().into_bytes())
            .unwrap_or_default();
        let mut member = match zip.by_index(index) {
            Ok(member) => member,
            Err(ZipError::UnsupportedArchive(why)) => {
                delivery.summary.skipped.push(super::entry::Skipped {
                    path: String::from_utf8_lossy(&raw_name).into_owned(),
                    reason: format!("unsupported zip member: {why}"),
                });
                continue;
            }
            Err(e) => {
                let name = String::from_utf8_lossy(&raw_name).into_owned();
                return Err(delivery.corrupt(Some(&name), io::Error::other(e)));
            }
        };
        let start = member.header_start();
        let end = member.data_start().unwrap_or(start) + member.compressed_size();
        if !spans.claim(start, end) {
            // Many central-directory names for one compressed stream: the overlapping-file
            // zip bomb (10 GiB from a few hundred KiB). Each byte of the file is read once.
            delivery.skip_named(
                &String::from_utf8_lossy(&raw_name),
                "overlaps another member's data (a zip bomb?)",
            );
            continue;
        }
        let kind = member_kind(&member);
        let size = member.size();
        delivery.offer(RawEntry {
            name: &raw_name,
            kind,
            size,
            reader: &mut member,
        })?;
    }
    delivery.finish()
}

/// The byte ranges of the file taken by the members read so far.
#[derive(Default)]
struct Spans {
    /// start -> end (exclusive), non-overlapping.
    taken: BTreeMap<u64, u64>,
}

impl Spans {
    /// Takes `start..end` unless it overlaps a range already taken.
    fn claim(&mut self, start: u64, end: u64) -> bool {
        let end = end.max(start + 1);
        let before = self.taken.range(..=start).next_back();
        let after = self.taken.range(start..).next();
        if before.is_some_and(|(_, e)| *e > start) || after.is_some_and(|(s, _)| *s < end) {
            return false;
        }
        self.taken.insert(start, end);
        true
    }
}

fn member_kind(member: &zip::read::ZipFile<'_, BufReader<File>>) -> RawKind {
    if member.is_dir() {
        return RawKind::Directory;
    }
    if member.is_symlink() {
        return RawKind::Other("symbolic link");
    }
    if member.encrypted() {
        return RawKind::Other("encrypted zip member");
    }
    const S_IFMT: u32 = 0o170000;
    match member.unix_mode().map(|mode| mode & S_IFMT) {
        None | Some(0) | Some(0o100000) => RawKind::Regular,
        Some(0o010000) => RawKind::Other("fifo"),
        Some(0o020000) => RawKind::Other("character device"),
        Some(0o060000) => RawKind::Other("block device"),
        Some(0o140000) => RawKind::Other("socket"),
        Some(_) => RawKind::Other("not a regular file"),
    }
}

#[cfg(test)]
mod tests {
    use super::Spans;

    #[test]
    fn overlapping_spans_are_refused() {
        let mut spans = Spans::default();
        assert!(spans.claim(0, 100));
        assert!(spans.claim(100, 150));
        assert!(!spans.claim(0, 100), "the same data twice");
        assert!(!spans.claim(50, 60), "inside another");
        assert!(!spans.claim(140, 200), "across the end of another");
        assert!(spans.claim(150, 150), "an empty member after the others");
        assert!(!spans.claim(150, 150), "the same empty member again");
    }
}
