//! Recognizing a triton bundle inside an archive: a `bundle-format.json` at the root or one level
//! down, with every regular file before it under the same directory.
//!
//! Our writer puts it first; an archive re-made with stock `tar` or `zip` from an unpacked bundle
//! may list it later, so a few entries are looked at before deciding.

use crate::format::FORMAT_FILE;
use crate::paths::normalize_archive_name;

pub(crate) struct TopFinder {
    /// Distinct first components of the regular files seen so far, and whether one was at the root.
    first_components: Vec<String>,
    any_at_root: bool,
    seen: usize,
    limit: Option<usize>,
}

impl TopFinder {
    /// Looks at no more than `limit` regular files.
    pub(crate) fn bounded(limit: usize) -> Self {
        TopFinder {
            limit: Some(limit),
            ..TopFinder::unbounded()
        }
    }

    pub(crate) fn unbounded() -> Self {
        TopFinder {
            first_components: Vec::new(),
            any_at_root: false,
            seen: 0,
            limit: None,
        }
    }

    /// Whether enough files were looked at to give up.
    pub(crate) fn exhausted(&self) -> bool {
        self.limit.is_some_and(|limit| self.seen >= limit)
    }

    /// For `bundle-format.json` or `X/bundle-format.json`: the top directory (`""` or `X`).
    pub(crate) fn format_file_top(&self, raw_name: &[u8]) -> Option<String> {
        let name = normalize_archive_name(raw_name).ok()?;
        if name == FORMAT_FILE {
            return Some(String::new());
        }
        let (top, rest) = name.split_once('/')?;
        (rest == FORMAT_FILE).then(|| top.to_string())
    }

    /// Records a regular file.
    pub(crate) fn note(&mut self, raw_name: &[u8]) {
        self.seen += 1;
        let Ok(name) = normalize_archive_name(raw_name) else {
            return;
        };
        match name.split_once('/') {
            Some((first, _)) => {
                if !self.first_components.iter().any(|c| c == first) {
                    self.first_components.push(first.to_string());
                }
            }
            None => self.any_at_root = true,
        }
    }

    /// Whether every regular file noted lies under `top` (always true for a root-level bundle).
    pub(crate) fn all_under(&self, top: &str) -> bool {
        top.is_empty() || (!self.any_at_root && self.first_components.iter().all(|c| c == top))
    }
}
