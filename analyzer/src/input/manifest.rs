//! A tolerant view of the bundle's `manifest.json` (format in `docs/bundle-format.md`): only the
//! fields the analyzer needs, read from JSON so a newer minor version still works.

use serde::Serialize;
use serde_json::Value;

use super::place::EntryOrigin;

/// One manifest item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemView {
    pub source: String,
    pub host: Option<String>,
    pub path: Option<String>,
    /// Original absolute file path, when the item is a file.
    pub file: Option<String>,
    /// Command line, when the item is command output.
    pub argv: Option<String>,
    pub http_status: Option<u16>,
    pub exit_status: Option<i32>,
    pub sliced: bool,
    pub truncated: bool,
    pub timed_out: bool,
    pub error: Option<String>,
    /// How the file changed on the host while it was read (rotated, truncated, grew; 1.2).
    pub changed_while_read: Option<String>,
    /// Where a cut file starts in the original (format 1.1).
    #[serde(skip)]
    pub slice: Option<EntryOrigin>,
}

/// One host of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostView {
    pub server_uuid: String,
    pub hostname: String,
    pub role: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestView {
    pub format_version: String,
    pub collector: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub complete: bool,
    pub window: Option<(String, String)>,
    pub scope_vms: Vec<String>,
    pub scope_jobs: Vec<String>,
    pub hosts: Vec<HostView>,
    pub items: Vec<ItemView>,
    pub notes: Vec<String>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `items[].slice`; a malformed one is ignored (lines are then cited as stored).
fn slice_origin(v: Option<&Value>) -> Option<EntryOrigin> {
    let v = v?;
    Some(EntryOrigin {
        start_offset: v.get("start_offset")?.as_u64()?,
        first_line: v
            .get("first_line")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0),
    })
}

/// Reads a manifest; refuses another format or major version.
pub fn parse(value: &Value) -> Result<ManifestView, String> {
    if s(value, "format").as_deref() != Some("triton-support-bundle") {
        return Err("not a triton-support-bundle manifest".to_string());
    }
    let version = s(value, "format_version").unwrap_or_default();
    if !version.starts_with("1.") && version != "1" {
        return Err(format!("unsupported bundle format version {version}"));
    }
    let collector = value.get("collector").cloned().unwrap_or(Value::Null);
    let scope = value.get("scope").cloned().unwrap_or(Value::Null);
    let window = scope
        .get("window")
        .and_then(|w| Some((s(w, "since")?, s(w, "until")?)));
    let hosts = value
        .get("hosts")
        .and_then(Value::as_array)
        .map(|hosts| {
            hosts
                .iter()
                .map(|h| HostView {
                    server_uuid: s(h, "server_uuid").unwrap_or_default(),
                    hostname: s(h, "hostname").unwrap_or_default(),
                    role: s(h, "role").unwrap_or_default(),
                    error: s(h, "error"),
                })
                .collect()
        })
        .unwrap_or_default();
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let origin = i.get("origin").cloned().unwrap_or(Value::Null);
                    let flag = |k: &str| i.get(k).and_then(Value::as_bool).unwrap_or(false);
                    ItemView {
                        source: s(i, "source").unwrap_or_default(),
                        host: s(i, "host"),
                        path: s(i, "path"),
                        file: s(&origin, "path"),
                        argv: origin
                            .get("argv")
                            .map(|a| strings(Some(a)).join(" "))
                            .filter(|a| !a.is_empty()),
                        http_status: i
                            .get("http_status")
                            .and_then(Value::as_u64)
                            .and_then(|c| u16::try_from(c).ok()),
                        exit_status: i
                            .get("exit_status")
                            .and_then(Value::as_i64)
                            .and_then(|c| i32::try_from(c).ok()),
                        sliced: flag("sliced"),
                        truncated: flag("truncated"),
                        timed_out: flag("timed_out"),
                        error: s(i, "error"),
                        changed_while_read: s(i, "changed_while_read"),
                        slice: slice_origin(i.get("slice")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ManifestView {
        format_version: version,
        collector: format!(
            "{} {}",
            s(&collector, "name").unwrap_or_default(),
            s(&collector, "version").unwrap_or_default()
        )
        .trim()
        .to_string(),
        started_at: s(value, "started_at"),
        finished_at: s(value, "finished_at"),
        complete: value
            .get("complete")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        window,
        scope_vms: strings(scope.get("vm_uuids")),
        scope_jobs: strings(scope.get("job_uuids")),
        hosts,
        items,
        notes: strings(value.get("notes")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slice_origins_are_read_and_malformed_ones_ignored() {
        let read = |v: Value| slice_origin(Some(&v));
        assert_eq!(
            read(json!({"start_offset": 4096, "first_line": 41})),
            Some(EntryOrigin {
                start_offset: 4096,
                first_line: Some(41)
            })
        );
        assert_eq!(
            read(json!({"start_offset": 7})).and_then(|o| o.first_line),
            None
        );
        assert_eq!(read(json!({"first_line": 3})), None);
        assert_eq!(read(json!("x")), None);
        assert_eq!(slice_origin(None), None);
    }

    #[test]
    fn reads_items_and_refuses_other_majors() {
        let m = json!({"format": "triton-support-bundle", "format_version": "1.0",
            "collector": {"name": "triton-collect", "version": "0.1.0", "argv": [], "redacted": true},
            "started_at": "2024-01-18T10:00:00Z", "finished_at": "2024-01-18T10:01:00Z", "complete": false,
            "scope": {"vm_uuids": ["a"], "job_uuids": [], "window": {"since": "s", "until": "u", "derived_from": "jobs"}},
            "hosts": [{"role": "HN", "hostname": "headnode", "server_uuid": "h", "platform_image": null}],
            "items": [{"source": "zpool.history", "host": "c", "path": null,
                       "origin": {"kind": "command", "argv": ["zpool", "history"]},
                       "duration_ms": 1, "bytes": 0, "original_bytes": null, "sha256": null,
                       "error": "host unreachable"}]});
        let v = parse(&m).expect("manifest");
        assert_eq!(v.items[0].argv.as_deref(), Some("zpool history"));
        assert_eq!(v.items[0].error.as_deref(), Some("host unreachable"));
        assert_eq!(v.window, Some(("s".into(), "u".into())));
        let mut bad = m.clone();
        bad["format_version"] = json!("2.0");
        assert!(parse(&bad).is_err());
    }
}
