//! `manifest.json`: what a bundle holds, what it does not, and why.
//!
//! The analyzer must be able to tell "not there" from "not looked at", so every item the collector
//! tried is listed, including the ones that failed (with `error` set and no `path`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format name written in every manifest; readers refuse anything else.
pub const FORMAT_NAME: &str = "triton-support-bundle";
/// Major version of the format. Readers refuse a manifest with another major version.
pub const FORMAT_MAJOR: u32 = 1;
/// Minor version: additions that older readers can ignore.
pub const FORMAT_MINOR: u32 = 2;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// `"<major>.<minor>"`, e.g. `"1.0"`.
    pub format_version: String,
    pub collector: Collector,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    /// False when something could not be collected (an item has `error`, a host was unreachable,
    /// the deadline or a size cap was hit, the run was interrupted).
    pub complete: bool,
    pub scope: Scope,
    pub hosts: Vec<HostInfo>,
    pub items: Vec<Item>,
    /// Free-form warnings for the reader of the bundle (e.g. "deadline reached, 3 sources skipped").
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Which program wrote the bundle and how it was invoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collector {
    /// `triton-collect`.
    pub name: String,
    pub version: String,
    /// The command line as given.
    pub argv: Vec<String>,
    /// Whether redaction was on (`--no-redact` turns it off).
    pub redacted: bool,
}

/// What the collection was about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub vm_uuids: Vec<String>,
    pub job_uuids: Vec<String>,
    pub window: Option<Window>,
}

/// The time window logs were sliced to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// RFC 3339 UTC.
    pub since: String,
    /// RFC 3339 UTC.
    pub until: String,
    /// How it was made, e.g. `jobs` (created_at - margin .. created_at + elapsed + margin),
    /// `--since/--until`, `--last 2h`, `default: last 24 hours`.
    pub derived_from: String,
}

/// One host whose data is in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub role: HostRole,
    pub hostname: String,
    pub server_uuid: String,
    pub platform_image: Option<String>,
    /// Core zones (headnode only).
    #[serde(default)]
    pub core_zones: Vec<CoreZone>,
    /// Set when the host could not be collected (unreachable CN, ...).
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostRole {
    #[serde(rename = "HN")]
    Headnode,
    #[serde(rename = "CN")]
    ComputeNode,
}

/// A core service zone on the headnode (`vmapi0`, `cnapi0`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreZone {
    /// `tags.smartdc_role`, e.g. `vmapi`.
    pub role: String,
    pub uuid: String,
    /// e.g. `vmapi0`.
    pub alias: Option<String>,
}

/// One thing the collector tried to collect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Logical source name, e.g. `vmapi.log`, `cn-agent.tasks`, `vm.log`, `zpool.history`,
    /// `workflow.job`.
    pub source: String,
    /// Server uuid of the host the item comes from (`None` for API answers).
    pub host: Option<String>,
    /// Path inside the bundle, relative to its root; `None` when nothing was stored.
    pub path: Option<String>,
    pub origin: Origin,
    /// Exit status of a command.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// HTTP status of an API answer (`sdc-vmapi` and friends print it before the body).
    #[serde(default)]
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    /// Bytes stored in the bundle.
    pub bytes: u64,
    /// Bytes of the original (file size, command output size), when known.
    pub original_bytes: Option<u64>,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: Option<String>,
    /// Cut to the time window (records outside it left out).
    #[serde(default)]
    pub sliced: bool,
    /// Cut by a size cap.
    #[serde(default)]
    pub truncated: bool,
    /// Where the stored bytes start in the original, when they do not start at its first byte
    /// (cut to the window, or only the tail kept under a cap). Since 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<SliceOrigin>,
    /// The file changed while it was collected: between being listed and being copied, or
    /// during the copy (it grew or shrank, or its path was given to another file, as log
    /// rotation does), in words. The stored bytes are always one file's, as read; this says
    /// what differs on the host. Since 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_while_read: Option<String>,
    /// A command killed at its timeout (partial output kept).
    #[serde(default)]
    pub timed_out: bool,
    /// Redactions applied, by rule name.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// Why the item could not be collected (or was only partly collected).
    #[serde(default)]
    pub error: Option<String>,
}

/// Where a cut file's stored bytes come from in the original, so a line cited in the bundle can
/// be found on the host (`sed -n <line>p <file>`).
///
/// The kept lines may skip parts of the original (records outside the window inside an
/// unsorted log); `first_line` is set only when they are one contiguous run of whole lines, so
/// that stored line `n` is original line `first_line + n - 1` exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceOrigin {
    /// Byte offset in the original file of the first stored byte (a line start).
    pub start_offset: u64,
    /// 1-based line number in the original of the first stored line, when the collector counted
    /// it (it read from the file's start) and the stored lines are contiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<u64>,
}

impl SliceOrigin {
    /// The original line of stored line `line_in_bundle` (1-based), when it is known exactly.
    pub fn original_line(&self, line_in_bundle: u64) -> Option<u64> {
        let first = self.first_line?;
        line_in_bundle.checked_sub(1)?.checked_add(first)
    }
}

/// Where an item came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A file, by its absolute path on the host.
    File { path: String },
    /// A command and its arguments.
    Command { argv: Vec<String> },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item_json(extra: &str) -> String {
        format!(
            r#"{{"source":"vmapi.log","host":"h","path":"hosts/h/files/var/log/vmapi.log",
               "origin":{{"kind":"file","path":"/var/log/vmapi.log"}},"duration_ms":1,
               "bytes":10,"original_bytes":100,"sha256":null{extra}}}"#
        )
    }

    #[test]
    fn a_1_0_item_without_slice_still_reads_and_writes_without_it() {
        let item: Item = serde_json::from_str(&item_json("")).expect("1.0 item");
        assert_eq!(item.slice, None);
        assert_eq!(item.changed_while_read, None);
        let written = serde_json::to_string(&item).expect("json");
        assert!(!written.contains("\"slice\":"), "{written}");
        assert!(!written.contains("changed_while_read"), "{written}");
    }

    #[test]
    fn a_changed_file_says_so_and_round_trips() {
        let item: Item = serde_json::from_str(&item_json(
            r#","changed_while_read":"grew from 10 to 20 bytes while being read""#,
        ))
        .expect("1.2 item");
        assert_eq!(
            item.changed_while_read.as_deref(),
            Some("grew from 10 to 20 bytes while being read")
        );
        let back: Item =
            serde_json::from_str(&serde_json::to_string(&item).expect("json")).expect("reread");
        assert_eq!(back, item);
    }

    #[test]
    fn slice_origin_round_trips_and_maps_lines() {
        let item: Item = serde_json::from_str(&item_json(
            r#","sliced":true,"slice":{"start_offset":4096,"first_line":41}"#,
        ))
        .expect("1.1 item");
        let slice = item.slice.expect("slice");
        assert_eq!(slice.start_offset, 4096);
        assert_eq!(slice.original_line(1), Some(41));
        assert_eq!(slice.original_line(3), Some(43));
        assert_eq!(slice.original_line(0), None);
        let back: Item =
            serde_json::from_str(&serde_json::to_string(&item).expect("json")).expect("reread");
        assert_eq!(back, item);
        let offset_only = SliceOrigin {
            start_offset: 7,
            first_line: None,
        };
        assert_eq!(offset_only.original_line(5), None);
        assert_eq!(
            serde_json::to_string(&offset_only).expect("json"),
            r#"{"start_offset":7}"#
        );
    }
}
