//! Any bytes as a bundle: `Bundle::open` recognizes the kind by content, then every entry is read
//! to the end, once as delivered and once with archives inside archives opened. Errors are fine;
//! panics, hangs and unbounded memory are not.
#![no_main]

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use triton_bundle::{Bundle, BundleError, NestedLimits};

/// One scratch file per fuzzing process, rewritten for every input (the reader wants a path).
fn scratch_file() -> &'static PathBuf {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory for the fuzz input");
        let path = dir.path().join("input.tar.gz");
        (dir, path)
    });
    path
}

fn read_everything(path: &PathBuf, nested: Option<NestedLimits>, threads: usize) {
    let Ok(mut bundle) = Bundle::open(path) else {
        return;
    };
    let _ = (bundle.kind(), bundle.compression(), bundle.format_version());
    bundle.set_threads(threads);
    bundle.set_nested(nested);
    let result = bundle.for_each_entry(&mut |entry| {
        let _ = (entry.path().len(), entry.layers().len(), entry.size());
        io::copy(entry, &mut io::sink()).map_err(|source| BundleError::Io {
            path: path.clone(),
            what: "reading an entry".to_string(),
            source,
        })?;
        Ok(())
    });
    if let Ok(summary) = result {
        let _ = (summary.skipped.len(), summary.warnings.len());
    }
    let _ = bundle.manifest().map(|m| m.items.len());
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_file();
    if std::fs::write(path, data).is_err() {
        return;
    }
    read_everything(path, None, 1);
    // Nested reading, with the parallel BGZF inflater: another code path for the same bytes.
    read_everything(path, Some(NestedLimits::default()), 2);
});
