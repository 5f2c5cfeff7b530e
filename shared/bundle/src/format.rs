//! `bundle-format.json`, the first entry of every bundle, and the version rules both JSON files
//! follow.
//!
//! The stamp is tiny and comes first so a reader can refuse a bundle it does not understand
//! before it has handed a single entry to its caller.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BundleError;
use crate::manifest::{FORMAT_MAJOR, FORMAT_MINOR, FORMAT_NAME};

/// Name of the first entry (below the top directory).
pub const FORMAT_FILE: &str = "bundle-format.json";
/// Name of the last entry (below the top directory).
pub const MANIFEST_FILE: &str = "manifest.json";

/// Largest `bundle-format.json` a reader accepts; it is a few dozen bytes when written by us.
pub(crate) const MAX_FORMAT_FILE_BYTES: u64 = 64 * 1024;

/// The content of `bundle-format.json`; `manifest.json` starts with the same two fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatStamp {
    pub format: String,
    pub format_version: String,
}

impl FormatStamp {
    /// The stamp this crate writes.
    pub fn current() -> FormatStamp {
        FormatStamp {
            format: FORMAT_NAME.to_string(),
            format_version: current_version(),
        }
    }
}

/// `"<major>.<minor>"` of the format this crate writes.
pub fn current_version() -> String {
    format!("{FORMAT_MAJOR}.{FORMAT_MINOR}")
}

/// Parses `"<major>.<minor>"` (a missing minor counts as 0).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().splitn(2, '.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(minor) => minor.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}

/// Checks a stamp read from `file` (`bundle-format.json` or `manifest.json`) of `bundle`.
///
/// Any minor version of our major is accepted: minor versions only add things older readers may
/// ignore.
pub(crate) fn check_stamp(
    bundle: &Path,
    file: &str,
    stamp: &FormatStamp,
) -> Result<(), BundleError> {
    if stamp.format != FORMAT_NAME {
        return Err(BundleError::UnknownFormat {
            path: bundle.to_path_buf(),
            file: file.to_string(),
            found: stamp.format.clone(),
            expected: FORMAT_NAME.to_string(),
        });
    }
    match parse_version(&stamp.format_version) {
        Some((major, _)) if major == FORMAT_MAJOR => Ok(()),
        Some(_) => Err(BundleError::UnsupportedVersion {
            path: bundle.to_path_buf(),
            file: file.to_string(),
            found: stamp.format_version.clone(),
            supported_major: FORMAT_MAJOR,
        }),
        None => Err(BundleError::BadFormatFile {
            path: bundle.to_path_buf(),
            file: file.to_string(),
            reason: format!(
                "format_version {:?} is not \"<major>.<minor>\"",
                stamp.format_version
            ),
        }),
    }
}

/// Parses and checks the bytes of `bundle-format.json` or the head of `manifest.json`.
pub(crate) fn read_stamp(
    bundle: &Path,
    file: &str,
    bytes: &[u8],
) -> Result<FormatStamp, BundleError> {
    let stamp: FormatStamp =
        serde_json::from_slice(bytes).map_err(|e| BundleError::BadFormatFile {
            path: bundle.to_path_buf(),
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    check_stamp(bundle, file, &stamp)?;
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("1.0"), Some((1, 0)));
        assert_eq!(parse_version("1.12"), Some((1, 12)));
        assert_eq!(parse_version("2"), Some((2, 0)));
        assert_eq!(parse_version("x.1"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn newer_minor_is_accepted_other_major_refused() {
        let p = Path::new("b.tar.gz");
        let mut stamp = FormatStamp::current();
        stamp.format_version = "1.7".into();
        assert!(check_stamp(p, FORMAT_FILE, &stamp).is_ok());
        stamp.format_version = "2.0".into();
        let msg = check_stamp(p, FORMAT_FILE, &stamp).unwrap_err().to_string();
        assert!(
            msg.contains("2.0") && msg.contains("1.x") && msg.contains("b.tar.gz"),
            "{msg}"
        );
        stamp.format = "other".into();
        assert!(matches!(
            check_stamp(p, FORMAT_FILE, &stamp),
            Err(BundleError::UnknownFormat { .. })
        ));
    }
}
