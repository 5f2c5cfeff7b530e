//! VM objects: `vmadm get <uuid>` on a CN, `/zones/archive/<uuid>/vm.json` of a destroyed VM, and
//! VMAPI's `GET /vms/<uuid>` (which adds `server_uuid`). Also the console of a failed `vmadm
//! create` / `vmadm get` of a missing VM (`No such zone configured`).
//!
//! ```text
//! {
//!   "uuid": "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5",
//!   "brand": "kvm",
//!   "state": "failed",
//!   "zone_state": "installed",
//!   "server_uuid": "44454c4c-3000-1052-8043-b3c04f485331",
//!   ...
//! }
//! ```

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmObject {
    pub uuid: String,
    pub brand: Option<String>,
    pub state: Option<String>,
    pub zone_state: Option<String>,
    pub server_uuid: Option<String>,
    pub image_uuid: Option<String>,
    pub alias: Option<String>,
    pub create_timestamp: Option<String>,
    pub ram: Option<u64>,
}

/// Whether a JSON value is a VM object (has a uuid and a brand).
pub fn is_vm(value: &Value) -> bool {
    value
        .get("uuid")
        .and_then(Value::as_str)
        .is_some_and(super::is_uuid)
        && value.get("brand").and_then(Value::as_str).is_some()
        && value.get("chain_results").is_none()
}

pub fn from_json(value: &Value) -> Option<VmObject> {
    if !is_vm(value) {
        return None;
    }
    let s = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let image_uuid = s("image_uuid").or_else(|| {
        value.get("disks").and_then(Value::as_array).and_then(|d| {
            d.iter()
                .find_map(|d| d.get("image_uuid")?.as_str().map(str::to_string))
        })
    });
    Some(VmObject {
        uuid: s("uuid")?.to_ascii_lowercase(),
        brand: s("brand"),
        state: s("state"),
        zone_state: s("zone_state"),
        server_uuid: s("server_uuid").map(|u| u.to_ascii_lowercase()),
        image_uuid,
        alias: s("alias"),
        create_timestamp: s("create_timestamp"),
        ram: value
            .get("ram")
            .or_else(|| value.get("max_physical_memory"))
            .and_then(Value::as_u64),
    })
}

/// `vmadm`/`zoneadm` saying a VM does not exist: `... <uuid>: No such zone configured`.
pub fn missing_vm_from_text(text: &str) -> Option<(String, u64)> {
    text.lines().enumerate().find_map(|(idx, line)| {
        if line.contains("No such zone configured") {
            super::find_uuids(line)
                .into_iter()
                .next()
                .map(|u| (u, idx as u64 + 1))
        } else {
            None
        }
    })
}

/// Error lines in the console output of `vmadm create` (first few).
pub fn create_errors(text: &str) -> Vec<(u64, String)> {
    const SIGNS: [&str; 6] = [
        "timed out waiting for /var/svc/provisioning",
        "Failed to create VM",
        "vmadm exited with code",
        "zone setup failed",
        "Error: ",
        "failed to ",
    ];
    text.lines()
        .enumerate()
        .filter(|(_, l)| SIGNS.iter().any(|s| l.contains(s)))
        .take(10)
        .map(|(i, l)| (i as u64 + 1, super::clip(l, super::MAX_EXCERPT)))
        .collect()
}

/// Whether a text looks like a `vmadm create` console. VM.js prints `Successfully created VM
/// <uuid>` and `Failed to create VM <uuid>: ...` to stderr only: they show here, in the console,
/// and never in the vmadm bunyan log (`/var/log/vm/logs/<ms>-<pid>-vmadm.log`).
pub fn looks_like_vmadm_create(head: &str) -> bool {
    head.contains("Successfully created VM") || head.contains("Failed to create VM")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vm_object_and_missing() {
        let v = json!({"uuid": "A8D2E0FD-1224-468D-AD0B-9411B63AB6D5", "brand": "kvm", "state": "failed",
            "server_uuid": "44454c4c-3000-1052-8043-b3c04f485331",
            "disks": [{"image_uuid": "279936e6-5eae-4a87-8a37-dc3e13c36ff9"}], "ram": 4096});
        let vm = from_json(&v).expect("vm");
        assert_eq!(vm.uuid, "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5");
        assert_eq!(
            vm.image_uuid.as_deref(),
            Some("279936e6-5eae-4a87-8a37-dc3e13c36ff9")
        );
        assert_eq!(vm.ram, Some(4096));
        let text = "zoneadm: dfe792dc-6d37-4da6-b400-f736c5cbb445: No such zone configured\n";
        assert_eq!(
            missing_vm_from_text(text),
            Some(("dfe792dc-6d37-4da6-b400-f736c5cbb445".into(), 1))
        );
        let c = create_errors("ok\nFailed to create VM a8d2e0fd-1224-468d-ad0b-9411b63ab6d5: timed out waiting for /var/svc/provisioning to move for a8d2e0fd-1224-468d-ad0b-9411b63ab6d5\n");
        assert_eq!(c[0].0, 2);
    }
}
