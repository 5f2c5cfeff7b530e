//! Logs inside bundles: a `triton-collect` bundle, or any archive or directory the bundle reader
//! opens. Log entries are picked by path (bunyan-looking names under `hosts/<uuid>/files/`), then
//! by `--host` and `--source` (manifest source names, else path substrings).
//!
//! An unpacked bundle's logs are read where they are. An archive's entries can only be read
//! once, in archive order (hosts one after the other, rotated files by name), which is not time
//! order, so the selected entries are copied, inflated, to a capped [`Spool`] and merged from
//! there like any files. A streaming merge of entries whose time ranges overlap was not chosen:
//! HN and CN logs of one provision always overlap, so it would hold almost everything anyway,
//! in memory instead of on disk. In an archive the manifest is the last entry, so entries whose
//! hostname or source cannot be told from the path are spooled and dropped once it is read.

mod select;
mod spool;

use std::io;
use std::path::{Path, PathBuf};

use triton_bundle::{Bundle, BundleError, BundleKind, FORMAT_FILE};

pub use select::{describe, host_file_parts, is_log_entry, LogEntryInfo, LogSelection, Verdict};
pub use spool::{Spool, DEFAULT_SPOOL_CAP};

/// One selected log of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLog {
    pub info: LogEntryInfo,
    /// A plain or gzip file holding the log: in the unpacked bundle or in the spool. `None`
    /// when only listing.
    pub file: Option<PathBuf>,
}

/// What was found in one bundle.
#[derive(Debug, Default)]
pub struct BundleLogs {
    /// Selected logs, in bundle order.
    pub logs: Vec<BundleLog>,
    /// Problems that did not stop the reading.
    pub warnings: Vec<String>,
    /// The reading stopped early (damaged archive): `logs` holds what came before.
    pub error: Option<String>,
}

/// Opens `path` as a bundle when it is one: a tar, tar.gz or zip archive, or a directory holding
/// an unpacked triton bundle. Anything else (a log file, a `.gz` log, a plain directory of logs,
/// an unreadable path) is `None` and is read as a log as before.
pub fn open_bundle(path: &Path) -> Option<Bundle> {
    let bundle = Bundle::open(path).ok()?;
    match bundle.kind() {
        BundleKind::BgzfTar | BundleKind::GzipTar | BundleKind::Tar | BundleKind::Zip => {
            Some(bundle)
        }
        BundleKind::Directory if bundle.is_triton_bundle() => Some(bundle),
        _ => None,
    }
}

/// Finds the logs of `bundle` that `selection` picks. With a spool their data is made readable
/// (`BundleLog::file`); without one they are only listed. Fails when the spool cap is reached.
pub fn bundle_logs(
    bundle: &mut Bundle,
    selection: &LogSelection,
    spool: Option<&mut Spool>,
) -> Result<BundleLogs, String> {
    if bundle.kind() == BundleKind::Directory {
        return directory_logs(bundle, selection);
    }
    archive_logs(bundle, selection, spool)
}

/// An unpacked bundle: its manifest is known from the start and its files are read in place.
fn directory_logs(bundle: &Bundle, selection: &LogSelection) -> Result<BundleLogs, String> {
    let root = unpacked_root(bundle.path());
    let mut found = BundleLogs::default();
    let walker = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name();
    for item in walker {
        let item = match item {
            Ok(item) => item,
            Err(err) => {
                found.warnings.push(err.to_string());
                continue;
            }
        };
        if !item.file_type().is_file() {
            continue;
        }
        let Ok(relative) = item.path().strip_prefix(&root) else {
            continue;
        };
        let entry = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !is_log_entry(&entry) {
            continue;
        }
        let size = item.metadata().map_or(0, |m| m.len());
        let info = describe(&entry, size, bundle.manifest());
        if selection.verdict(&info, true) == Verdict::Yes {
            found.logs.push(BundleLog {
                info,
                file: Some(item.into_path()),
            });
        }
    }
    Ok(found)
}

/// Where an unpacked bundle's files are: the directory itself, or its only subdirectory when the
/// bundle was unpacked with its top directory.
fn unpacked_root(dir: &Path) -> PathBuf {
    if dir.join(FORMAT_FILE).is_file() {
        return dir.to_path_buf();
    }
    let mut children = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    match (children.next(), children.next()) {
        (Some(only), None) if only.path().join(FORMAT_FILE).is_file() => only.path(),
        _ => dir.to_path_buf(),
    }
}

/// An archive, streamed once: candidates are spooled as they pass, and the ones the manifest
/// (read last) rules out are dropped afterwards.
fn archive_logs(
    bundle: &mut Bundle,
    selection: &LogSelection,
    mut spool: Option<&mut Spool>,
) -> Result<BundleLogs, String> {
    let bundle_path = bundle.path().to_path_buf();
    let mut found = BundleLogs::default();
    let mut spool_failure: Option<io::Error> = None;
    let result = bundle.for_each_entry(&mut |entry| {
        if !is_log_entry(entry.path()) {
            return Ok(());
        }
        let info = describe(entry.path(), entry.size(), None);
        if selection.verdict(&info, false) == Verdict::No {
            return Ok(());
        }
        let file = match spool.as_deref_mut() {
            None => None,
            // Nothing to merge; not worth a file (an archive may hold a million of them).
            Some(_) if entry.size() == 0 => return Ok(()),
            Some(spool) => match spool.store(entry, &info.entry) {
                Ok(path) => Some(path),
                Err(err) => {
                    let source = io::Error::new(err.kind(), err.to_string());
                    spool_failure = Some(err);
                    return Err(BundleError::Io {
                        path: bundle_path.clone(),
                        what: format!("copying {} to the spool", info.entry),
                        source,
                    });
                }
            },
        };
        found.logs.push(BundleLog { info, file });
        Ok(())
    });
    if let Some(err) = spool_failure {
        let cap = spool.as_deref().map_or(0, Spool::cap);
        return Err(format!(
            "{}: cannot copy the selected logs (at most {cap} bytes): {err}",
            bundle_path.display()
        ));
    }
    match result {
        Ok(summary) => found.warnings = summary.warnings,
        Err(err) => found.error = Some(err.to_string()),
    }
    let manifest = bundle.manifest();
    let mut kept = Vec::with_capacity(found.logs.len());
    for log in found.logs.drain(..) {
        let info = describe(&log.info.entry, log.info.size, manifest);
        if selection.verdict(&info, true) == Verdict::Yes {
            kept.push(BundleLog { info, ..log });
        } else if let (Some(spool), Some(file)) = (spool.as_deref_mut(), &log.file) {
            spool.release(file);
        }
    }
    found.logs = kept;
    Ok(found)
}
