//! Image manifests (IMGAPI `GET /images` and `/images/<uuid>`, sdc-sbcreate's `images.list`; the
//! `manifest` of `imgadm get`): what the analyzer needs of an image is its `origin`, the image
//! an incremental image is built on. `imgadm import` brings the origin in first when it is not
//! installed, so an image's import leaves `zfs receive <pool>/<origin>-partial` in the pool
//! history too (guide: `Origin image <uuid> is not installed: searching sources`).
//!
//! ```text
//! { "v": 2, "uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9", "name": "Pandarus",
//!   "version": "20140325T210902Z", "state": "active", "type": "zone-dataset",
//!   "os": "smartos", "files": [ ... ], "origin": "2b683a82-a066-11e3-97ab-2faa44701c5a" }
//! ```

use serde_json::Value;

use super::is_uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    pub uuid: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The image this one is an increment of.
    pub origin: Option<String>,
    /// `active`, `unactivated`, `disabled`, ...
    pub state: Option<String>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether a JSON value is an image manifest: a uuid, a name, and the image-only fields
/// (`files`, or `type` with `os`), and nothing of a VM (`brand`) or a job.
pub fn is_manifest(value: &Value) -> bool {
    let uuid = value
        .get("uuid")
        .and_then(Value::as_str)
        .is_some_and(is_uuid);
    let image_fields = value.get("files").is_some_and(Value::is_array)
        || (value.get("type").is_some_and(Value::is_string)
            && value.get("os").is_some_and(Value::is_string));
    uuid && image_fields
        && value.get("name").is_some_and(Value::is_string)
        && value.get("brand").is_none()
        && value.get("chain_results").is_none()
}

/// Reads a manifest ([`is_manifest`] first).
pub fn from_json(value: &Value) -> Option<ImageManifest> {
    if !is_manifest(value) {
        return None;
    }
    Some(ImageManifest {
        uuid: text(value, "uuid")?.to_ascii_lowercase(),
        name: text(value, "name"),
        version: text(value, "version"),
        origin: text(value, "origin")
            .filter(|o| is_uuid(o))
            .map(|o| o.to_ascii_lowercase()),
        state: text(value, "state"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_guides_manifest_with_its_origin() {
        let v = json!({
            "v": 2, "uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9",
            "owner": "7b315468-c6be-46dc-b99b-9c1f59224693", "name": "Pandarus",
            "version": "20140325T210902Z", "state": "active", "disabled": false,
            "type": "zone-dataset", "os": "smartos",
            "files": [{"sha1": "b83bef0abf09731982373c80028952233bf46621", "size": 453477472,
                       "compression": "gzip"}],
            "origin": "2B683A82-A066-11E3-97AB-2FAA44701C5A"
        });
        let m = from_json(&v).expect("a manifest");
        assert_eq!(m.name.as_deref(), Some("Pandarus"));
        assert_eq!(
            m.origin.as_deref(),
            Some("2b683a82-a066-11e3-97ab-2faa44701c5a")
        );
        assert_eq!(m.state.as_deref(), Some("active"));
    }

    #[test]
    fn vms_jobs_and_imgadm_info_are_not_manifests() {
        let vm = json!({"uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9", "brand": "joyent",
                        "name": "x", "type": "OS", "os": "smartos"});
        assert!(!is_manifest(&vm));
        let info = json!({"manifest": {"uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9"},
                          "zpool": "zones"});
        assert!(!is_manifest(&info));
        let no_uuid = json!({"uuid": "nope", "name": "x", "files": []});
        assert!(!is_manifest(&no_uuid));
    }
}
