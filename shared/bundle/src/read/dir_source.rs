//! An unpacked bundle (or any directory): walked in name order, symbolic links never followed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::deliver::Delivery;
use super::entry::Skipped;
use super::source::{RawEntry, RawKind};
use crate::error::BundleError;
use crate::format::{read_stamp, FormatStamp, FORMAT_FILE, MANIFEST_FILE, MAX_FORMAT_FILE_BYTES};

/// The directory whose files are delivered, and the stamp when it is a triton bundle.
pub(crate) struct DirRoot {
    pub root: PathBuf,
    pub stamp: Option<FormatStamp>,
}

/// A bundle unpacked in place (`dir/bundle-format.json`) or unpacked into `dir` with its top
/// directory (`dir/<top>/bundle-format.json`, `<top>` being the only thing in `dir`).
pub(crate) fn find_root(dir: &Path) -> Result<DirRoot, BundleError> {
    let mut root = dir.to_path_buf();
    if !is_regular(&dir.join(FORMAT_FILE)) {
        if let Some(only) = only_subdirectory(dir) {
            if is_regular(&only.join(FORMAT_FILE)) {
                root = only;
            }
        }
    }
    let stamp_path = root.join(FORMAT_FILE);
    if !is_regular(&stamp_path) {
        return Ok(DirRoot {
            root: dir.to_path_buf(),
            stamp: None,
        });
    }
    let bytes = read_small(dir, &stamp_path, MAX_FORMAT_FILE_BYTES)?;
    let stamp = read_stamp(dir, FORMAT_FILE, &bytes)?;
    Ok(DirRoot {
        root,
        stamp: Some(stamp),
    })
}

/// The manifest bytes of an unpacked bundle, if it has one.
pub(crate) fn manifest_bytes(dir: &Path, root: &Path) -> Result<Option<Vec<u8>>, BundleError> {
    let path = root.join(MANIFEST_FILE);
    if !is_regular(&path) {
        return Ok(None);
    }
    read_small(dir, &path, 256 * 1024 * 1024).map(Some)
}

pub(crate) fn stream(root: &Path, delivery: &mut Delivery<'_, '_>) -> Result<(), BundleError> {
    let walker = WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name();
    for item in walker {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| {
                        p.strip_prefix(root)
                            .unwrap_or(p)
                            .to_string_lossy()
                            .into_owned()
                    })
                    .unwrap_or_default();
                delivery.summary.skipped.push(Skipped {
                    path,
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let rel = item.path().strip_prefix(root).unwrap_or(item.path());
        let name = rel.as_os_str().as_encoded_bytes().to_vec();
        let file_type = item.file_type();
        let kind = if file_type.is_dir() {
            RawKind::Directory
        } else if file_type.is_symlink() {
            RawKind::Other("symbolic link")
        } else if file_type.is_fifo() {
            RawKind::Other("fifo")
        } else if file_type.is_socket() {
            RawKind::Other("socket")
        } else if file_type.is_block_device() {
            RawKind::Other("block device")
        } else if file_type.is_char_device() {
            RawKind::Other("character device")
        } else {
            RawKind::Regular
        };
        if kind != RawKind::Regular {
            delivery.offer(RawEntry {
                name: &name,
                kind,
                size: 0,
                reader: &mut io::empty(),
            })?;
            continue;
        }
        let mut file = match open_regular(item.path()) {
            Ok(file) => file,
            Err(e) => {
                delivery.summary.skipped.push(Skipped {
                    path: rel.to_string_lossy().into_owned(),
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let size = file
            .metadata()
            .map_err(|e| BundleError::io(item.path(), "reading metadata", e))?
            .len();
        delivery.offer(RawEntry {
            name: &name,
            kind,
            size,
            reader: &mut file,
        })?;
    }
    delivery.finish()
}

/// Opens without following a symbolic link and without blocking on a FIFO swapped in since the
/// walk looked at the name; refuses anything that is not a regular file by then.
fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

fn only_subdirectory(dir: &Path) -> Option<PathBuf> {
    let mut entries = fs::read_dir(dir).ok()?;
    let first = entries.next()?.ok()?;
    if entries.next().is_some() || !first.file_type().ok()?.is_dir() {
        return None;
    }
    Some(first.path())
}

fn read_small(bundle: &Path, path: &Path, cap: u64) -> Result<Vec<u8>, BundleError> {
    let what = || format!("reading {}", path.display());
    let file = open_regular(path).map_err(|e| BundleError::io(bundle, what(), e))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::io(bundle, what(), e))?;
    if bytes.len() as u64 > cap {
        return Err(BundleError::BadFormatFile {
            path: bundle.to_path_buf(),
            file: path.to_string_lossy().into_owned(),
            reason: format!("more than {cap} bytes"),
        });
    }
    Ok(bytes)
}
