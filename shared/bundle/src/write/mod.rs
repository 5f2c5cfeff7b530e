//! Streaming bundle writer: tar entries into a BGZF gzip stream, in bounded memory.
//!
//! The bundle is written under a temporary name beside its final path and renamed into place by
//! [`BundleWriter::finish`], so a crash or an early return never leaves a half-written file under
//! the real name (the temporary file is removed when the writer is dropped unfinished).

mod hashing;
mod source;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use noodles_bgzf as bgzf;

use self::hashing::HashingFile;
use self::source::ExactSource;
use crate::error::BundleError;
use crate::format::{FormatStamp, FORMAT_FILE, MANIFEST_FILE};
use crate::manifest::Manifest;
use crate::paths::check_writer_path;

type Archive = tar::Builder<bgzf::io::Writer<HashingFile>>;

/// What was stored for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Bytes stored (always the size asked for, padding included).
    pub bytes: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// How many of the stored bytes are zero padding because the source ended (or failed) early.
    pub short_by: u64,
    /// The source's read error, when padding was caused by one rather than by an early end.
    pub read_error: Option<String>,
    /// Length of the source file when it was opened ([`BundleWriter::add_file`] only), so a caller
    /// can tell a capped copy from a whole one.
    pub source_len: Option<u64>,
}

/// The finished bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub path: PathBuf,
    /// Size of the bundle file.
    pub bytes: u64,
    /// SHA-256 of the bundle file, lowercase hex (also in `<path>.sha256`).
    pub sha256: String,
}

/// Writes one bundle. Create it, add entries, then [`finish`](Self::finish) it with the manifest.
pub struct BundleWriter {
    final_path: PathBuf,
    temp_path: PathBuf,
    top: String,
    archive: Option<Archive>,
    names: HashSet<String>,
    mtime: u64,
    failed: bool,
}

impl BundleWriter {
    /// Starts a bundle that will become `path`, with every entry under `top_dir/`.
    ///
    /// Writes `<top_dir>/bundle-format.json` as the first entry. Nothing is written anywhere but a
    /// temporary file (mode 0600) in the directory of `path`.
    pub fn create(path: &Path, top_dir: &str) -> Result<BundleWriter, BundleError> {
        if let Err(reason) = check_writer_path(top_dir).and_then(|()| {
            if top_dir.contains('/') {
                Err("the top directory must be a single component".to_string())
            } else {
                Ok(())
            }
        }) {
            return Err(BundleError::BadEntryName {
                path: path.to_path_buf(),
                name: top_dir.to_string(),
                reason,
            });
        }
        let temp_path = temp_path_for(path)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp_path)
            .map_err(|e| BundleError::io(path, format!("creating {}", temp_path.display()), e))?;
        let mtime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut archive = tar::Builder::new(bgzf::io::Writer::new(HashingFile::new(file)));
        archive.follow_symlinks(false);
        let mut writer = BundleWriter {
            final_path: path.to_path_buf(),
            temp_path,
            top: top_dir.to_string(),
            archive: Some(archive),
            names: HashSet::new(),
            mtime,
            failed: false,
        };
        let stamp = serde_json::to_vec_pretty(&FormatStamp::current()).map_err(|source| {
            BundleError::ManifestJson {
                path: path.to_path_buf(),
                source,
            }
        })?;
        writer.append(FORMAT_FILE, stamp.len() as u64, &mut &stamp[..])?;
        Ok(writer)
    }

    /// The final path of the bundle.
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    /// The top directory every entry is stored under.
    pub fn top_dir(&self) -> &str {
        &self.top
    }

    /// Stores `size` bytes read from `reader` as `<top>/<rel_path>`.
    ///
    /// Reads at most `size` bytes. A source that ends or fails early is padded with zeros up to
    /// `size` (reported in [`Added::short_by`] and [`Added::read_error`]) so the archive stays
    /// consistent; only a failure to write the bundle itself is an error.
    pub fn add_reader(
        &mut self,
        rel_path: &str,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<Added, BundleError> {
        self.check_name(rel_path)?;
        let added = self.append(rel_path, size, reader)?;
        self.names.insert(rel_path.to_string());
        Ok(added)
    }

    /// Stores `data` as `<top>/<rel_path>`.
    pub fn add_bytes(&mut self, rel_path: &str, data: &[u8]) -> Result<Added, BundleError> {
        let mut reader = data;
        self.add_reader(rel_path, data.len() as u64, &mut reader)
    }

    /// Stores the file at `path` (following symlinks) as `<top>/<rel_path>`, at most `max_bytes`
    /// from its start.
    ///
    /// The size is taken when the file is opened; a file that shrinks while read is padded, one
    /// that grows is cut at that size. Anything but a regular file is refused without blocking
    /// (a FIFO is opened non-blocking and rejected).
    pub fn add_file(
        &mut self,
        rel_path: &str,
        path: &Path,
        max_bytes: Option<u64>,
    ) -> Result<Added, BundleError> {
        self.check_name(rel_path)?;
        let what = || format!("reading source file {}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| BundleError::io(&self.final_path, what(), e))?;
        let meta = file
            .metadata()
            .map_err(|e| BundleError::io(&self.final_path, what(), e))?;
        if !meta.is_file() {
            return Err(BundleError::io(
                &self.final_path,
                what(),
                io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        let size = max_bytes.map_or(meta.len(), |max| max.min(meta.len()));
        let mut added = self.add_reader(rel_path, size, &mut file)?;
        added.source_len = Some(meta.len());
        Ok(added)
    }

    /// Writes `manifest.json` as the last entry, completes the tar and gzip streams (BGZF EOF
    /// block), syncs the file to disk, renames it into place and writes `<path>.sha256`.
    ///
    /// `format` and `format_version` of the manifest are set to this crate's values.
    pub fn finish(mut self, manifest: &Manifest) -> Result<Finished, BundleError> {
        let mut manifest = manifest.clone();
        let stamp = FormatStamp::current();
        manifest.format = stamp.format;
        manifest.format_version = stamp.format_version;
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|source| BundleError::ManifestJson {
                path: self.final_path.clone(),
                source,
            })?;
        self.append(MANIFEST_FILE, json.len() as u64, &mut &json[..])?;

        let archive = self.archive.take().ok_or_else(|| self.failed_error())?;
        let closed = close_streams(archive)
            .map_err(|e| BundleError::io(&self.final_path, "completing the archive", e))
            .and_then(|(file, bytes, sha256)| {
                file.sync_all()
                    .map_err(|e| BundleError::io(&self.final_path, "syncing to disk", e))?;
                drop(file);
                fs::rename(&self.temp_path, &self.final_path).map_err(|e| {
                    BundleError::io(
                        &self.final_path,
                        format!("renaming {} into place", self.temp_path.display()),
                        e,
                    )
                })?;
                Ok((bytes, sha256))
            });
        let (bytes, sha256) = match closed {
            Ok(done) => done,
            Err(err) => {
                // A bundle that could not be completed is not left behind (e.g. a full disk).
                let _ = fs::remove_file(&self.temp_path);
                return Err(err);
            }
        };
        sync_parent(&self.final_path);
        write_checksum_file(&self.final_path, &sha256)?;
        Ok(Finished {
            path: self.final_path.clone(),
            bytes,
            sha256,
        })
    }

    fn check_name(&self, rel_path: &str) -> Result<(), BundleError> {
        let refuse = |reason: &str| BundleError::BadEntryName {
            path: self.final_path.clone(),
            name: rel_path.to_string(),
            reason: reason.to_string(),
        };
        check_writer_path(rel_path).map_err(|reason| refuse(&reason))?;
        if rel_path == FORMAT_FILE || rel_path == MANIFEST_FILE {
            return Err(refuse("reserved for the bundle itself"));
        }
        if self.names.contains(rel_path) {
            return Err(BundleError::DuplicateEntry {
                path: self.final_path.clone(),
                name: rel_path.to_string(),
            });
        }
        Ok(())
    }

    fn failed_error(&self) -> BundleError {
        BundleError::WriterFailed {
            path: self.final_path.clone(),
        }
    }

    /// Appends one regular-file entry; any error here is an error writing the bundle, after
    /// which the archive is unusable.
    fn append(
        &mut self,
        rel_path: &str,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<Added, BundleError> {
        if self.failed {
            return Err(self.failed_error());
        }
        let archive = self
            .archive
            .as_mut()
            .ok_or_else(|| BundleError::WriterFailed {
                path: self.final_path.clone(),
            })?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        let full_name = format!("{}/{}", self.top, rel_path);
        let mut source = ExactSource::new(reader, size);
        if let Err(e) = archive.append_data(&mut header, &full_name, &mut source) {
            self.failed = true;
            return Err(BundleError::io(
                &self.final_path,
                format!("writing entry {full_name}"),
                e,
            ));
        }
        let outcome = source.outcome();
        Ok(Added {
            bytes: size,
            sha256: outcome.sha256,
            short_by: outcome.short_by,
            read_error: outcome.error.map(|e| e.to_string()),
            source_len: None,
        })
    }
}

impl Drop for BundleWriter {
    /// An unfinished bundle is not left behind under any name.
    fn drop(&mut self) {
        if let Some(archive) = self.archive.take() {
            drop(archive);
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

fn close_streams(archive: Archive) -> io::Result<(File, u64, String)> {
    let bgzf_writer = archive.into_inner()?;
    let mut hashing = bgzf_writer.finish()?;
    hashing.flush()?;
    Ok(hashing.into_parts())
}

fn temp_path_for(path: &Path) -> Result<PathBuf, BundleError> {
    let name = path.file_name().ok_or_else(|| BundleError::Unsupported {
        path: path.to_path_buf(),
        what: "the bundle path has no file name".to_string(),
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp_name = format!(
        ".{}.partial-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        nanos
    );
    Ok(path.with_file_name(temp_name))
}

/// Makes the rename durable; best effort, as some file systems refuse to sync directories.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// `<bundle>.sha256` in `sha256sum` format (`<hex>  <file name>`), so `sha256sum -c` works in the
/// bundle's directory.
fn write_checksum_file(bundle: &Path, sha256: &str) -> Result<(), BundleError> {
    let file_name = bundle
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut sum_path = bundle.as_os_str().to_owned();
    sum_path.push(".sha256");
    let sum_path = PathBuf::from(sum_path);
    let temp = temp_path_for(&sum_path)?;
    let what = || format!("writing {}", sum_path.display());
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(format!("{sha256}  {file_name}\n").as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, &sum_path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        BundleError::io(bundle, what(), e)
    })
}
