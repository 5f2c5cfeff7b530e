//! Where a piece of evidence came from: the input, the path inside it, and — when known — the
//! host and the original absolute path, command or API URL it stands for.

use serde::Serialize;

/// Where an entry's bytes start in the original file, for an entry the collector cut (manifest
/// `items[].slice`, bundle format 1.1): lines cited in the entry are mapped back to the lines
/// a reader finds on the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryOrigin {
    /// Byte offset in the original of the entry's first byte.
    pub start_offset: u64,
    /// Original line number of the entry's first line, when the collector counted it (then the
    /// entry's lines are one contiguous run of the original).
    pub first_line: Option<u64>,
}

/// A line cited in an entry, as a reader of the original finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Citation {
    /// The original's line when known, else the entry's.
    pub line: Option<u64>,
    /// The entry's line, when `line` is the original's and the entry was cut.
    pub line_in_bundle: Option<u64>,
    /// Where the entry starts in the original, when `line` is only the entry's.
    pub original_offset_start: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Place {
    /// The input as given on the command line (its file name).
    pub input: String,
    /// Path of the entry inside the input (bundle path, or relative path in a directory).
    pub entry: String,
    /// Server uuid of the host the data is from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Absolute path on that host (`/zones/<uuid>/root/tmp/vm.log`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// Command whose output this is (`zpool history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// API object this is (`workflow /jobs/<uuid>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Set when the entry is a cut of the original (from the manifest).
    #[serde(skip)]
    pub origin: Option<EntryOrigin>,
}

impl Place {
    /// Maps a 1-based line of the entry to the original's when the manifest says how.
    pub fn cite(&self, line_in_entry: Option<u64>) -> Citation {
        let uncut = Citation {
            line: line_in_entry,
            line_in_bundle: None,
            original_offset_start: None,
        };
        let (Some(origin), Some(line)) = (self.origin, line_in_entry) else {
            return uncut;
        };
        match origin
            .first_line
            .and_then(|first| line.checked_sub(1)?.checked_add(first))
        {
            Some(original) => Citation {
                line: Some(original),
                line_in_bundle: Some(line),
                original_offset_start: None,
            },
            None => Citation {
                original_offset_start: Some(origin.start_offset),
                ..uncut
            },
        }
    }

    /// A short human label: `host:/abs/path` or the entry.
    pub fn label(&self) -> String {
        let host = self
            .host
            .as_deref()
            .map(|h| format!("{h}:"))
            .unwrap_or_default();
        if let Some(path) = &self.host_path {
            format!("{host}{path}")
        } else if let Some(cmd) = &self.command {
            format!("{host}`{cmd}`")
        } else if let Some(api) = &self.api {
            api.clone()
        } else {
            self.entry.clone()
        }
    }

    /// Identity of the underlying data regardless of which input carried it, so the same file in
    /// two bundles counts once.
    pub fn identity(&self) -> (Option<&str>, String) {
        let what = self
            .host_path
            .clone()
            .or_else(|| self.command.clone())
            .or_else(|| self.api.clone())
            .unwrap_or_else(|| format!("{}/{}", self.input, self.entry));
        (self.host.as_deref(), what)
    }
}
