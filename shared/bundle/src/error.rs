//! Errors of the bundle writer and reader.
//!
//! Every variant names the bundle it is about, so a message printed on its own still tells the
//! operator which file to look at.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while writing or reading a bundle.
#[derive(Debug, Error)]
pub enum BundleError {
    /// An I/O operation on the bundle (or a file beside it) failed.
    #[error("bundle {}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being done, e.g. `creating the temporary file`.
        what: String,
        #[source]
        source: io::Error,
    },

    /// A path given to the writer is not a safe relative path.
    #[error("bundle {}: entry name {name:?} is not allowed: {reason}", path.display())]
    BadEntryName {
        path: PathBuf,
        name: String,
        reason: String,
    },

    /// The writer was asked to store the same path twice.
    #[error("bundle {}: entry {name:?} was already added", path.display())]
    DuplicateEntry { path: PathBuf, name: String },

    /// An earlier write to the bundle failed, so the archive can no longer be made consistent.
    #[error("bundle {}: an earlier write failed, the bundle cannot be completed", path.display())]
    WriterFailed { path: PathBuf },

    /// `bundle-format.json` or `manifest.json` names another format.
    #[error(
        "bundle {}: {file} says format {found:?}, but this reader reads {expected:?} only",
        path.display()
    )]
    UnknownFormat {
        path: PathBuf,
        file: String,
        found: String,
        expected: String,
    },

    /// `bundle-format.json` or `manifest.json` has a major version this reader does not know.
    #[error(
        "bundle {}: {file} says format version {found}, which is not supported by this reader \
         (reads {supported_major}.x); upgrade triton-analyze",
        path.display()
    )]
    UnsupportedVersion {
        path: PathBuf,
        file: String,
        found: String,
        supported_major: u32,
    },

    /// A file that decides how the bundle is read is malformed (not JSON, no version, too big).
    #[error("bundle {}: {file} is not valid: {reason}", path.display())]
    BadFormatFile {
        path: PathBuf,
        file: String,
        reason: String,
    },

    /// The compressed stream or the archive structure is damaged.
    #[error(
        "bundle {}: corrupt or truncated archive at {location}: {source}",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        /// Where it broke: byte offsets and the last entry read, in words.
        location: String,
        #[source]
        source: io::Error,
    },

    /// An entry ended before the size its header announced.
    #[error(
        "bundle {}: entry {entry:?} is truncated: header says {expected} bytes, only {got} present",
        path.display()
    )]
    TruncatedEntry {
        path: PathBuf,
        entry: String,
        expected: u64,
        got: u64,
    },

    /// A bundle that announced itself with `bundle-format.json` ended before its `manifest.json`.
    #[error(
        "bundle {}: archive ends after {entries} entries (last {last:?}) without manifest.json; \
         the bundle is truncated or was not finished",
        path.display()
    )]
    MissingManifest {
        path: PathBuf,
        entries: u64,
        last: Option<String>,
    },

    /// A compressed single-file input inflates to more than its size times the allowed ratio
    /// (see [`crate::NestedLimits::max_ratio`]); nothing of it is delivered.
    #[error(
        "bundle {}: not read: it inflates to more than {limit} bytes, over {max_ratio} times its \
         {compressed} compressed bytes (a decompression bomb?)",
        path.display()
    )]
    InflateLimit {
        path: PathBuf,
        /// Size of the compressed file.
        compressed: u64,
        /// Inflated bytes after which the reading stopped.
        limit: u64,
        max_ratio: u64,
    },

    /// The input is of a kind this reader cannot open.
    #[error("bundle {}: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },

    /// The manifest could not be serialized.
    #[error("bundle {}: cannot serialize manifest.json: {source}", path.display())]
    ManifestJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl BundleError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: impl Into<String>, source: io::Error) -> Self {
        BundleError::Io {
            path: path.into(),
            what: what.into(),
            source,
        }
    }
}
