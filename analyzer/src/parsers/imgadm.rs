//! `imgadm get <uuid>` (smartos-live `src/img/lib/cli.js`; guide): the installed image's info
//! object, or the `ImageNotInstalled` error when it is not on the pool.
//!
//! ```text
//! {
//!   "manifest": {
//!     "v": 2,
//!     "uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9",
//!     "name": "Pandarus",
//!     "version": "20140325T210902Z",
//!     ...
//!   },
//!   "zpool": "zones",
//!   "source": "http://imgapi.eu-ams-1.joyent.us"
//! }
//! imgadm: error (ImageNotInstalled): image "279936e6-5eae-4a87-8a37-dc3e13c36ff9" was not found on zpool "zones"
//! ```

use serde_json::Value;

/// What `imgadm get` said about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageState {
    Installed {
        uuid: String,
        name: Option<String>,
        version: Option<String>,
        zpool: Option<String>,
    },
    NotInstalled {
        uuid: String,
        zpool: Option<String>,
    },
}

impl ImageState {
    pub fn uuid(&self) -> &str {
        match self {
            ImageState::Installed { uuid, .. } | ImageState::NotInstalled { uuid, .. } => uuid,
        }
    }
}

/// Whether a JSON value is an `imgadm get` info object.
pub fn is_image_info(value: &Value) -> bool {
    value.get("manifest").and_then(|m| m.get("uuid")).is_some() && value.get("zpool").is_some()
}

/// Reads one info object (also the elements of `imgadm list -j`).
pub fn from_json(value: &Value) -> Option<ImageState> {
    let manifest = value.get("manifest")?;
    let get = |k: &str| manifest.get(k).and_then(Value::as_str).map(str::to_string);
    Some(ImageState::Installed {
        uuid: get("uuid")?.to_ascii_lowercase(),
        name: get("name"),
        version: get("version"),
        zpool: value
            .get("zpool")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Reads `imgadm: error (ImageNotInstalled): image "<uuid>" was not found on zpool "<pool>"`
/// anywhere in a text (command output with stderr).
pub fn not_installed_from_text(text: &str) -> Option<(ImageState, u64)> {
    for (idx, line) in text.lines().enumerate() {
        if !line.contains("ImageNotInstalled") && !line.contains("was not found on zpool") {
            continue;
        }
        let uuid = super::find_uuids(line).into_iter().next()?;
        let zpool = line
            .rsplit_once("zpool \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(pool, _)| pool.to_string());
        return Some((ImageState::NotInstalled { uuid, zpool }, idx as u64 + 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn installed_and_not_installed() {
        let v = json!({"manifest": {"v": 2, "uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9", "name": "Pandarus",
            "version": "20140325T210902Z", "state": "active"}, "zpool": "zones",
            "source": "http://imgapi.eu-ams-1.joyent.us"});
        assert!(is_image_info(&v));
        let s = from_json(&v).expect("image");
        assert_eq!(s.uuid(), "279936e6-5eae-4a87-8a37-dc3e13c36ff9");
        assert!(matches!(s, ImageState::Installed { .. }));
        let text = "imgadm: error (ImageNotInstalled): image \"279936e6-5eae-4a87-8a37-dc3e13c36ff9\" was not found on zpool \"zones\"\n";
        let (s, line) = not_installed_from_text(text).expect("error");
        assert_eq!(line, 1);
        assert_eq!(
            s,
            ImageState::NotInstalled {
                uuid: "279936e6-5eae-4a87-8a37-dc3e13c36ff9".into(),
                zpool: Some("zones".into())
            }
        );
    }
}
