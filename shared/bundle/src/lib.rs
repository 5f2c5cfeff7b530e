//! The triton-support bundle format, version 1 (see `docs/bundle-format.md`).
//!
//! One bundle holds what `triton-collect` gathered on a headnode and the compute nodes it fanned
//! out to: a `manifest.json` describing every item (collected or not) and the items themselves,
//! kept apart per host. The writer is used by the collector, the reader by the analyzer; both live
//! here so the format is implemented exactly once.
//!
//! ```
//! use triton_bundle::{layout, Bundle, BundleWriter, Manifest};
//! # fn manifest() -> Manifest { serde_json::from_str(r#"{"format":"triton-support-bundle",
//! #   "format_version":"1.0","collector":{"name":"triton-collect","version":"0","argv":[],
//! #   "redacted":true},"started_at":"","finished_at":"","complete":true,
//! #   "scope":{"vm_uuids":[],"job_uuids":[],"window":null},"hosts":[],"items":[]}"#).unwrap() }
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("triton-bundle-hn-20240501T100000Z.tar.gz");
//! let mut writer = BundleWriter::create(&path, "triton-bundle-hn-20240501T100000Z")?;
//! let added = writer.add_bytes(&layout::api("workflow", "/jobs/j1"), b"{}")?;
//! assert_eq!(added.short_by, 0);
//! writer.finish(&manifest())?;
//!
//! let mut bundle = Bundle::open(&path)?;
//! let mut names = Vec::new();
//! let summary = bundle.for_each_entry(&mut |entry| {
//!     names.push(entry.path().to_string());
//!     Ok(())
//! })?;
//! assert_eq!(names, ["bundle-format.json", "api/workflow/jobs/j1.json", "manifest.json"]);
//! assert!(summary.skipped.is_empty() && bundle.manifest().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod format;
pub mod layout;
pub mod manifest;
mod paths;
pub mod read;
pub mod write;

pub use error::BundleError;
pub use format::{FormatStamp, FORMAT_FILE, MANIFEST_FILE};
pub use manifest::Manifest;
pub use read::{
    nested_layers, Bundle, BundleKind, Compression, Entry, NestedLimits, ReadSummary, Skipped,
    NESTED_SEPARATOR,
};
pub use write::{Added, BundleWriter, Finished};
