//! The rules every container shares: which entries reach the caller, under which name, and the
//! format checks on `bundle-format.json` and `manifest.json`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::entry::{Entry, ReadSummary, Skipped};
use super::nested::Nesting;
use super::source::{RawEntry, RawKind};
use crate::error::BundleError;
use crate::format::{read_stamp, FORMAT_FILE, MANIFEST_FILE, MAX_FORMAT_FILE_BYTES};
use crate::manifest::Manifest;
use crate::paths::normalize_archive_name;

/// Largest `manifest.json` parsed (it is delivered to the caller whatever its size).
const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

pub(crate) type Callback<'f> = dyn FnMut(&mut Entry<'_>) -> Result<(), BundleError> + 'f;

/// Where the reader is, in words, for corruption errors.
pub(crate) type Locator<'l> = dyn Fn(Option<&str>) -> String + 'l;

pub(crate) struct Delivery<'f, 'l> {
    bundle: PathBuf,
    /// `Some(top)` for a triton bundle: names under `top/` are delivered without it (`Some("")`
    /// when the bundle's files are at the root). `None` for any other archive.
    top: Option<String>,
    callback: &'f mut Callback<'f>,
    locate: &'l Locator<'l>,
    pub(crate) summary: ReadSummary,
    pub(crate) manifest: Option<Manifest>,
    pub(crate) saw_manifest: bool,
    pub(crate) last_entry: Option<String>,
    /// `Some` when archives inside the input are opened (see `nested.rs`).
    pub(crate) nesting: Option<Nesting>,
}

impl<'f, 'l> Delivery<'f, 'l> {
    pub(crate) fn new(
        bundle: &Path,
        top: Option<String>,
        callback: &'f mut Callback<'f>,
        locate: &'l Locator<'l>,
    ) -> Self {
        Delivery {
            bundle: bundle.to_path_buf(),
            top,
            callback,
            locate,
            summary: ReadSummary::default(),
            manifest: None,
            saw_manifest: false,
            last_entry: None,
            nesting: None,
        }
    }

    pub(crate) fn is_triton_bundle(&self) -> bool {
        self.top.is_some()
    }

    fn skip(&mut self, name: &[u8], reason: &str) {
        self.skip_named(&String::from_utf8_lossy(name), reason);
    }

    pub(crate) fn skip_named(&mut self, path: &str, reason: &str) {
        self.summary.skipped.push(Skipped {
            path: path.to_string(),
            reason: reason.to_string(),
        });
    }

    pub(crate) fn warn(&mut self, warning: String) {
        self.summary.warnings.push(warning);
    }

    /// Gives one entry to the caller.
    pub(crate) fn hand_over(&mut self, entry: &mut Entry<'_>) -> Result<(), BundleError> {
        (self.callback)(entry)
    }

    /// Counts an entry the caller received whole.
    pub(crate) fn count_delivered(&mut self) {
        self.summary.entries += 1;
    }

    /// Delivers one member if it is a safe regular file; records why when it is not.
    pub(crate) fn offer(&mut self, raw: RawEntry<'_>) -> Result<(), BundleError> {
        let name = match normalize_archive_name(raw.name) {
            Ok(name) => name,
            Err(problem) => {
                self.skip(raw.name, problem.describe());
                return Ok(());
            }
        };
        match raw.kind {
            RawKind::Regular => {}
            // Directories are implied by the files in them.
            RawKind::Directory => return Ok(()),
            RawKind::Other(what) => {
                self.skip(raw.name, what);
                return Ok(());
            }
        }
        let rel = match self.top.as_deref() {
            None | Some("") => name,
            Some(top) => match name.strip_prefix(top).and_then(|r| r.strip_prefix('/')) {
                Some(rel) => rel.to_string(),
                None => {
                    self.skip(raw.name, "outside the bundle's top directory");
                    return Ok(());
                }
            },
        };
        if self.is_triton_bundle() && rel == FORMAT_FILE {
            let bytes = self.buffer(&rel, raw.size, MAX_FORMAT_FILE_BYTES, raw.reader)?;
            read_stamp(&self.bundle, FORMAT_FILE, &bytes)?;
            return self.deliver(&rel, bytes.len() as u64, &mut &bytes[..]);
        }
        if self.is_triton_bundle() && rel == MANIFEST_FILE {
            self.saw_manifest = true;
            if raw.size <= MAX_MANIFEST_BYTES {
                let bytes = self.buffer(&rel, raw.size, MAX_MANIFEST_BYTES, raw.reader)?;
                self.take_manifest(&bytes)?;
                return self.deliver(&rel, bytes.len() as u64, &mut &bytes[..]);
            }
            self.summary.warnings.push(format!(
                "{MANIFEST_FILE} is {} bytes, more than the {MAX_MANIFEST_BYTES} this reader parses",
                raw.size
            ));
        }
        self.deliver(&rel, raw.size, raw.reader)
    }

    /// Checks the manifest's format stamp (refusing another format or major version) and keeps the
    /// parsed manifest; a manifest that is otherwise unparsable is only a warning.
    pub(crate) fn take_manifest(&mut self, bytes: &[u8]) -> Result<(), BundleError> {
        match parse_manifest(&self.bundle, bytes)? {
            Ok(manifest) => self.manifest = Some(manifest),
            Err(warning) => self.summary.warnings.push(warning),
        }
        Ok(())
    }

    fn buffer(
        &mut self,
        rel: &str,
        size: u64,
        cap: u64,
        reader: &mut dyn Read,
    ) -> Result<Vec<u8>, BundleError> {
        if size > cap {
            return Err(BundleError::BadFormatFile {
                path: self.bundle.clone(),
                file: rel.to_string(),
                reason: format!("{size} bytes, more than the {cap} allowed"),
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        if let Err(e) = reader.take(size).read_to_end(&mut bytes) {
            return Err(self.corrupt(Some(rel), e));
        }
        if (bytes.len() as u64) < size {
            return Err(BundleError::TruncatedEntry {
                path: self.bundle.clone(),
                entry: rel.to_string(),
                expected: size,
                got: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    fn deliver(&mut self, rel: &str, size: u64, reader: &mut dyn Read) -> Result<(), BundleError> {
        let mut entry = Entry::new(rel, size, reader);
        let outcome = if self.nesting.is_some() {
            self.offer_nested(&mut entry, 1)
        } else {
            self.hand_over(&mut entry)
        };
        // A damaged stream is reported as such, whatever the callback made of the read error.
        if !entry.has_failure() {
            outcome?;
            let _ = entry.drain();
        }
        if entry.truncated() {
            return Err(BundleError::TruncatedEntry {
                path: self.bundle.clone(),
                entry: rel.to_string(),
                expected: size,
                got: entry.consumed(),
            });
        }
        if let Some(e) = entry.take_failure() {
            return Err(self.corrupt(Some(rel), e));
        }
        if self.nesting.is_none() {
            // With nesting, what was delivered inside was counted there.
            self.count_delivered();
        }
        self.last_entry = Some(rel.to_string());
        Ok(())
    }

    pub(crate) fn corrupt(&self, entry: Option<&str>, source: io::Error) -> BundleError {
        BundleError::Corrupt {
            path: self.bundle.clone(),
            location: (self.locate)(entry.or(self.last_entry.as_deref())),
            source,
        }
    }

    /// Checks made once the container is exhausted: a bundle must have ended with its manifest.
    pub(crate) fn finish(&self) -> Result<(), BundleError> {
        if self.is_triton_bundle() && !self.saw_manifest {
            return Err(BundleError::MissingManifest {
                path: self.bundle.clone(),
                entries: self.summary.entries,
                last: self.last_entry.clone(),
            });
        }
        Ok(())
    }
}

/// `Err` for a refused format or version; `Ok(Err(warning))` for a manifest that cannot be parsed.
pub(crate) fn parse_manifest(
    bundle: &Path,
    bytes: &[u8],
) -> Result<Result<Manifest, String>, BundleError> {
    match read_stamp(bundle, MANIFEST_FILE, bytes) {
        Ok(_) => {}
        Err(BundleError::BadFormatFile { reason, .. }) => {
            return Ok(Err(format!("{MANIFEST_FILE} cannot be read: {reason}")));
        }
        Err(refused) => return Err(refused),
    }
    Ok(serde_json::from_slice::<Manifest>(bytes)
        .map_err(|e| format!("{MANIFEST_FILE} does not match the expected structure: {e}")))
}
