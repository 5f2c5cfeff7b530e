//! Reading bundles, and anything a support engineer may be handed instead: a plain `.tar.gz`, a
//! `.tar.bz2` (a `sdc-sbcreate` service bundle), a `.tar`, a `.zip`, an unpacked directory or a
//! single file, compressed or not. On request, archives inside the input are read too
//! ([`Bundle::set_nested`]).
//!
//! Input is untrusted: only regular files with safe relative names are delivered; links, devices
//! and names with `..` are listed as skipped and never followed. Archives are streamed: memory
//! does not grow with the size of the bundle or of its entries.

mod bgzf;
mod compression;
mod deliver;
mod detect;
mod dir_source;
mod entry;
mod nested;
mod position;
mod resilient;
mod source;
mod tar_stream;
mod top;
mod zip_source;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use self::bgzf::SharedStream;
pub use self::compression::Compression;
use self::deliver::{parse_manifest, Delivery};
use self::detect::Detected;
pub use self::entry::{nested_layers, Entry, ReadSummary, Skipped};
use self::nested::Nesting;
use self::nested::RATIO_EXEMPT_BYTES;
pub use self::nested::{NestedLimits, NESTED_SEPARATOR};
use self::position::{CountingFile, Position};
use self::source::{Flow, RawEntry, RawKind};
use self::tar_stream::{stream_tar, StreamError, Trailer};
use self::top::TopFinder;
use crate::error::BundleError;
use crate::format::{read_stamp, FormatStamp, MAX_FORMAT_FILE_BYTES};
use crate::manifest::Manifest;

/// Regular files looked at, at most, when searching an archive for `bundle-format.json`.
const PROBE_ENTRIES: usize = 64;
/// Uncompressed entry bytes skipped over, at most, during that search.
const PROBE_BYTES: u64 = 16 * 1024 * 1024;

/// The 28-byte BGZF end-of-file block (SAM/BAM specification, section 4.1.2).
pub(crate) const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, b'B', b'C', 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

/// What kind of input a [`Bundle`] was opened from. [`Bundle::compression`] tells how it is
/// compressed; for bzip2 this says only `Tar` or `PlainFile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// BGZF multi-member gzip around a tar (what the writer makes); inflated in parallel.
    BgzfTar,
    /// Ordinary gzip around a tar (`tar czf`).
    GzipTar,
    /// A tar, uncompressed or bzip2-compressed (`tar cjf`, `sdc-sbcreate`).
    Tar,
    Zip,
    Directory,
    /// One gzip-compressed file that is not a tar: a single entry, inflated.
    GzipFile,
    /// One file, uncompressed or bzip2-compressed (then inflated): a single entry.
    PlainFile,
}

/// An opened bundle (or other readable input).
#[derive(Debug)]
pub struct Bundle {
    path: PathBuf,
    kind: BundleKind,
    compression: Compression,
    /// Where the bundle's files are: for directories the walked root.
    root: PathBuf,
    /// `Some` for a triton bundle: its top directory (`""` when files are at the root).
    top: Option<String>,
    stamp: Option<FormatStamp>,
    manifest: Option<Manifest>,
    open_warnings: Vec<String>,
    threads: usize,
    nested: Option<NestedLimits>,
}

impl Bundle {
    /// Opens `path`, recognizing its kind by content. For a triton bundle, `bundle-format.json` is
    /// checked here: another format or major version is refused before anything is read.
    pub fn open(path: &Path) -> Result<Bundle, BundleError> {
        let detected = detect::detect(path).map_err(|e| BundleError::io(path, "opening", e))?;
        let compression = detected.compression().unwrap_or(Compression::None);
        let kind = match detected {
            Detected::Bgzf | Detected::Gzip | Detected::Bzip2 => {
                let holds_tar = detect::compressed_holds_tar(path, compression)
                    .map_err(|e| BundleError::io(path, "opening", e))?;
                match (holds_tar, detected) {
                    (false, Detected::Bzip2) => BundleKind::PlainFile,
                    (false, _) => BundleKind::GzipFile,
                    (true, Detected::Bgzf) => BundleKind::BgzfTar,
                    (true, Detected::Bzip2) => BundleKind::Tar,
                    (true, _) => BundleKind::GzipTar,
                }
            }
            Detected::Tar => BundleKind::Tar,
            Detected::Zip => BundleKind::Zip,
            Detected::Directory => BundleKind::Directory,
            Detected::Plain => BundleKind::PlainFile,
            Detected::Unsupported(what) => {
                return Err(BundleError::Unsupported {
                    path: path.to_path_buf(),
                    what: what.to_string(),
                })
            }
        };
        let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let mut bundle = Bundle {
            path: path.to_path_buf(),
            kind,
            compression,
            root: path.to_path_buf(),
            top: None,
            stamp: None,
            manifest: None,
            open_warnings: Vec::new(),
            threads: threads.min(8),
            nested: None,
        };
        match kind {
            BundleKind::BgzfTar | BundleKind::GzipTar | BundleKind::Tar => bundle.probe_tar()?,
            BundleKind::Zip => {
                if let Some((top, stamp)) = zip_source::probe(path)? {
                    bundle.top = Some(top);
                    bundle.stamp = Some(stamp);
                }
            }
            BundleKind::Directory => bundle.open_directory()?,
            BundleKind::GzipFile | BundleKind::PlainFile => {}
        }
        Ok(bundle)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn kind(&self) -> BundleKind {
        self.kind
    }

    /// How the input file is compressed (`None` for directories and zip files).
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether the input carries a `bundle-format.json` of our format.
    pub fn is_triton_bundle(&self) -> bool {
        self.top.is_some()
    }

    /// `format_version` from `bundle-format.json`, for a triton bundle.
    pub fn format_version(&self) -> Option<&str> {
        self.stamp.as_ref().map(|s| s.format_version.as_str())
    }

    /// The manifest: for directories from [`open`](Self::open), for archives once
    /// [`for_each_entry`](Self::for_each_entry) has reached `manifest.json` (it is the last entry).
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// Threads used to inflate BGZF blocks (default: the available cores, at most 8; 1 reads
    /// without extra threads).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Opens archives found inside the input within `limits` (`None`, the default, delivers
    /// them as they are).
    ///
    /// A member whose content is a tar, gzip or bzip2 stream (`zone.logs.tar.gz`,
    /// `usbkey.config.tar`, `vmapi_vms.gz`) is then not delivered itself: its entries are, named
    /// `<member>//<path inside>` (see [`NESTED_SEPARATOR`], [`Entry::layers`]); a single
    /// compressed file is delivered inflated as `<member>//<name without .gz or .bz2>`. Inner
    /// entries obey the same rules as outer ones, and a limit reached stops that member with a
    /// warning naming it, after the entries before it were delivered.
    pub fn set_nested(&mut self, limits: Option<NestedLimits>) {
        self.nested = limits;
    }

    /// Streams every deliverable entry, in archive order, to `callback`.
    ///
    /// On a damaged archive the entries before the damage have been delivered when the error is
    /// returned. A BGZF bundle reads on past a damaged member instead: the entry the damage cut
    /// fails its read and is listed in [`ReadSummary::skipped`] as lost, the entries after the
    /// damage are delivered, and a warning names the file, the compressed offset of the damage
    /// and what was skipped. An error returned by `callback` stops the reading and is returned as
    /// is.
    pub fn for_each_entry(
        &mut self,
        callback: &mut dyn FnMut(&mut Entry<'_>) -> Result<(), BundleError>,
    ) -> Result<ReadSummary, BundleError> {
        let path = self.path.clone();
        let position = Position::new(match self.compression {
            Compression::None => None,
            _ => Some(Arc::new(AtomicU64::new(0))),
        });
        let zip_locator = |entry: Option<&str>| match entry {
            Some(name) => format!("zip member {name:?}"),
            None => "the first zip member".to_string(),
        };
        let stream_locator = |entry: Option<&str>| position.describe(entry);
        let locate: &dyn Fn(Option<&str>) -> String = match self.kind {
            BundleKind::Zip => &zip_locator,
            _ => &stream_locator,
        };
        let mut delivery = Delivery::new(&path, self.top.clone(), callback, locate);
        delivery.nesting = self.nested.map(Nesting::new);
        let result = match self.kind {
            BundleKind::BgzfTar | BundleKind::GzipTar | BundleKind::Tar => {
                self.stream_tar_kind(&position, &mut delivery)
            }
            BundleKind::Zip => zip_source::stream(&path, &mut delivery),
            BundleKind::Directory => dir_source::stream(&self.root, &mut delivery),
            BundleKind::GzipFile | BundleKind::PlainFile => self.stream_single(&mut delivery),
        };
        if delivery.manifest.is_some() {
            self.manifest = delivery.manifest.take();
        }
        result?;
        let mut summary = delivery.summary;
        let mut warnings = self.open_warnings.clone();
        warnings.append(&mut summary.warnings);
        summary.warnings = warnings;
        if self.kind == BundleKind::BgzfTar && !self.has_bgzf_eof_block() {
            summary
                .warnings
                .push("the file does not end with the BGZF end-of-file block".to_string());
        }
        Ok(summary)
    }

    /// The decompressed (tar) stream of the file, counting compressed bytes read into `counter`.
    fn decompressed(
        &self,
        threads: usize,
        counter: Arc<AtomicU64>,
    ) -> Result<Box<dyn Read>, BundleError> {
        let file = File::open(&self.path).map_err(|e| BundleError::io(&self.path, "opening", e))?;
        if self.kind == BundleKind::BgzfTar {
            return Ok(Box::new(bgzf::stream(Box::new(file), threads, counter)));
        }
        let counted = CountingFile::new(file, counter);
        let buffered = BufReader::with_capacity(64 * 1024, counted);
        Ok(compression::decoder(self.compression, buffered))
    }

    fn stream_tar_kind(
        &self,
        position: &Position,
        delivery: &mut Delivery<'_, '_>,
    ) -> Result<(), BundleError> {
        let counter = Arc::new(AtomicU64::new(0));
        if self.kind == BundleKind::BgzfTar {
            let file =
                File::open(&self.path).map_err(|e| BundleError::io(&self.path, "opening", e))?;
            let read_to = position.compressed_counter().unwrap_or(counter);
            let stream = SharedStream::new(bgzf::stream(Box::new(file), self.threads, read_to));
            return resilient::stream_bgzf_tar(
                &self.path,
                self.top.as_deref(),
                &stream,
                position,
                delivery,
            );
        }
        let input = self.decompressed(
            self.threads,
            position.compressed_counter().unwrap_or(counter),
        )?;
        match stream_tar(input, position, &mut |raw| {
            delivery.offer(raw)?;
            Ok(Flow::Continue)
        }) {
            Ok(end) => {
                match end.trailer_problem {
                    // A gzip or bzip2 check covers the whole stream: what was delivered may be
                    // damaged too, not only what follows the tar.
                    Some(Trailer::Damaged(problem)) => delivery.summary.warnings.push(format!(
                        "the compressed data fails a check after the end of the tar archive \
                         ({problem}): the entries read may hold damaged bytes"
                    )),
                    Some(too_long) => delivery.summary.warnings.push(too_long.to_string()),
                    None => {}
                }
                delivery.finish()?;
                require_end_marker(delivery, end.saw_end_marker)
            }
            Err(StreamError::Sink(e)) => Err(e),
            Err(StreamError::Io(e)) => Err(delivery.corrupt(None, e)),
        }
    }

    /// Looks at the first entries of a tar for `bundle-format.json`; checks it when found.
    /// Damage found here is left for [`for_each_entry`](Self::for_each_entry) to report, after it
    /// has delivered what precedes it.
    fn probe_tar(&mut self) -> Result<(), BundleError> {
        let position = Position::new(None);
        let input = self.decompressed(1, Arc::new(AtomicU64::new(0)))?;
        let mut finder = TopFinder::bounded(PROBE_ENTRIES);
        let mut skipped_bytes = 0u64;
        let mut found: Option<(String, FormatStamp)> = None;
        let path = self.path.clone();
        let mut on_entry = |raw: RawEntry<'_>| -> Result<Flow, BundleError> {
            if raw.kind != RawKind::Regular {
                return Ok(Flow::Continue);
            }
            if let Some(top) = finder.format_file_top(raw.name) {
                if finder.all_under(&top) && raw.size <= MAX_FORMAT_FILE_BYTES {
                    let mut bytes = Vec::new();
                    if raw.reader.take(raw.size).read_to_end(&mut bytes).is_err() {
                        return Ok(Flow::Stop);
                    }
                    let stamp = read_stamp(&path, crate::format::FORMAT_FILE, &bytes)?;
                    found = Some((top, stamp));
                    return Ok(Flow::Stop);
                }
            }
            finder.note(raw.name);
            skipped_bytes += raw.size;
            if finder.exhausted() || skipped_bytes > PROBE_BYTES {
                return Ok(Flow::Stop);
            }
            Ok(Flow::Continue)
        };
        match stream_tar(input, &position, &mut on_entry) {
            Err(StreamError::Sink(e)) => return Err(e),
            Ok(_) | Err(StreamError::Io(_)) => {}
        }
        if let Some((top, stamp)) = found {
            self.top = Some(top);
            self.stamp = Some(stamp);
        }
        Ok(())
    }

    fn open_directory(&mut self) -> Result<(), BundleError> {
        let found = dir_source::find_root(&self.path)?;
        self.root = found.root;
        if let Some(stamp) = found.stamp {
            self.stamp = Some(stamp);
            self.top = Some(String::new());
            if let Some(bytes) = dir_source::manifest_bytes(&self.path, &self.root)? {
                match parse_manifest(&self.path, &bytes)? {
                    Ok(manifest) => self.manifest = Some(manifest),
                    Err(warning) => self.open_warnings.push(warning),
                }
            }
        }
        Ok(())
    }

    /// A single file (inflated when compressed) as one entry named after it.
    fn stream_single(&self, delivery: &mut Delivery<'_, '_>) -> Result<(), BundleError> {
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".to_string());
        let file_size = std::fs::metadata(&self.path)
            .map_err(|e| BundleError::io(&self.path, "reading metadata", e))?
            .len();
        let (name, size) = if self.compression != Compression::None {
            let name = compression::inner_file_name(&file_name, self.compression);
            // The size must be known before the entry is handed out: count it in a first pass,
            // which also stops a decompression bomb before anything is delivered.
            let max_ratio = self.nested.unwrap_or_default().max_ratio;
            let cap = file_size.saturating_mul(max_ratio).max(RATIO_EXEMPT_BYTES);
            let counting = self.decompressed(1, Arc::new(AtomicU64::new(0)))?;
            let size = io::copy(&mut counting.take(cap.saturating_add(1)), &mut io::sink())
                .map_err(|e| delivery.corrupt(Some(&name), e))?;
            if size > cap {
                return Err(BundleError::InflateLimit {
                    path: self.path.clone(),
                    compressed: file_size,
                    limit: cap,
                    max_ratio,
                });
            }
            (name, size)
        } else {
            (file_name, file_size)
        };
        let counter = Arc::new(AtomicU64::new(0));
        let mut reader = self.decompressed(1, counter)?;
        delivery.offer(RawEntry {
            name: name.as_bytes(),
            kind: RawKind::Regular,
            size,
            reader: &mut reader,
        })?;
        delivery.finish()
    }

    fn has_bgzf_eof_block(&self) -> bool {
        use std::io::{Seek, SeekFrom};
        let Ok(mut file) = File::open(&self.path) else {
            return false;
        };
        let mut tail = [0u8; 28];
        file.seek(SeekFrom::End(-28)).is_ok()
            && file.read_exact(&mut tail).is_ok()
            && tail == BGZF_EOF
    }
}

/// A tar stream must end with its end-of-archive block; without it the input was cut short.
fn require_end_marker(
    delivery: &mut Delivery<'_, '_>,
    saw_end_marker: bool,
) -> Result<(), BundleError> {
    if saw_end_marker {
        return Ok(());
    }
    Err(delivery.corrupt(
        None,
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "input ends without the tar end-of-archive block (truncated?)",
        ),
    ))
}
