//! What the sources need to know to plan: which host this is, which VMs and images are in
//! scope, the window, and the core zones found.

use std::path::PathBuf;

use serde_json::Value;

use crate::window::TimeWindow;

/// This host, as `sysinfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    pub server_uuid: String,
    pub hostname: String,
    pub platform_image: Option<String>,
}

impl HostIdentity {
    /// Reads `sysinfo` JSON (`UUID`, `Hostname`, `Live Image`).
    pub fn from_sysinfo(sysinfo: &Value) -> Option<HostIdentity> {
        let server_uuid = sysinfo.get("UUID")?.as_str()?.to_ascii_lowercase();
        let hostname = sysinfo
            .get("Hostname")
            .and_then(Value::as_str)
            .unwrap_or(&server_uuid)
            .to_string();
        let platform_image = sysinfo
            .get("Live Image")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(HostIdentity {
            server_uuid,
            hostname,
            platform_image,
        })
    }
}

/// A VM in scope, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFacts {
    pub uuid: String,
    /// `kvm`, `bhyve`, `joyent`, `joyent-minimal`, `lx`; `None` when nothing says.
    pub brand: Option<String>,
    pub image_uuids: Vec<String>,
    pub server_uuid: Option<String>,
}

impl VmFacts {
    /// Reads a VM object (VMAPI or `vmadm get`; both use these field names).
    pub fn from_vm_object(uuid: &str, vm: &Value) -> VmFacts {
        let mut image_uuids = Vec::new();
        if let Some(img) = vm.get("image_uuid").and_then(Value::as_str) {
            image_uuids.push(img.to_ascii_lowercase());
        }
        for disk in vm
            .get("disks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(img) = disk.get("image_uuid").and_then(Value::as_str) {
                let img = img.to_ascii_lowercase();
                if !image_uuids.contains(&img) {
                    image_uuids.push(img);
                }
            }
        }
        VmFacts {
            uuid: uuid.to_string(),
            brand: vm.get("brand").and_then(Value::as_str).map(str::to_string),
            image_uuids,
            server_uuid: vm
                .get("server_uuid")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
        }
    }

    /// Whether the VM is (or may be) a hardware VM whose qemu log matters.
    pub fn may_be_kvm(&self) -> bool {
        self.brand.as_deref().is_none_or(|b| b == "kvm")
    }

    /// Whether the VM is (or may be) a zone with its own SMF services.
    pub fn may_be_os_zone(&self) -> bool {
        self.brand
            .as_deref()
            .is_none_or(|b| !matches!(b, "kvm" | "bhyve"))
    }
}

/// A core zone found on the headnode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundZone {
    pub role: String,
    pub uuid: String,
    pub alias: Option<String>,
}

/// Everything a source plans from.
#[derive(Debug, Clone)]
pub struct Context {
    /// `--root`.
    pub host_root: PathBuf,
    pub host: HostIdentity,
    /// Collecting the headnode part (APIs, core zones).
    pub headnode: bool,
    /// Collecting the compute-node part on this host (a CN in fan-out, or a headnode that hosts
    /// a VM in scope).
    pub cn_part: bool,
    pub window: TimeWindow,
    /// VMs in scope whose compute-node data is on this host.
    pub vms: Vec<VmFacts>,
    /// Image uuids in scope (with origins when known).
    pub images: Vec<String>,
    /// Core zones found with `vmadm lookup` (headnode only).
    pub core_zones: Vec<FoundZone>,
    /// Why core zones could not be found, when they could not.
    pub core_zone_error: Option<String>,
}

impl Context {
    /// Every uuid a relevant record might mention (VMs and images).
    pub fn needles(&self) -> Vec<String> {
        let mut out: Vec<String> = self.vms.iter().map(|v| v.uuid.clone()).collect();
        for img in &self.images {
            if !out.contains(img) {
                out.push(img.clone());
            }
        }
        out
    }
}

#[cfg(test)]
impl Context {
    /// A compute-node context over `root` with the window `since..until` (RFC 3339).
    pub fn for_test(root: &std::path::Path, since: &str, until: &str) -> Context {
        Context {
            host_root: root.to_path_buf(),
            host: HostIdentity {
                server_uuid: "test-host".into(),
                hostname: "test-host".into(),
                platform_image: None,
            },
            headnode: false,
            cn_part: true,
            window: TimeWindow {
                since: since.parse().expect("since"),
                until: until.parse().expect("until"),
                derived_from: "test".into(),
            },
            vms: Vec::new(),
            images: Vec::new(),
            core_zones: Vec::new(),
            core_zone_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_sysinfo() {
        let id = HostIdentity::from_sysinfo(&json!({"UUID": "ABC", "Hostname": "cn1",
            "Live Image": "20240118T000000Z"}))
        .expect("identity");
        assert_eq!(id.server_uuid, "abc");
        assert_eq!(id.hostname, "cn1");
        assert_eq!(id.platform_image.as_deref(), Some("20240118T000000Z"));
        assert!(HostIdentity::from_sysinfo(&json!({})).is_none());
    }

    #[test]
    fn reads_vm_objects() {
        let vm = json!({"brand": "kvm", "server_uuid": "S1",
            "disks": [{"image_uuid": "I1"}, {"size": 10}]});
        let f = VmFacts::from_vm_object("v", &vm);
        assert_eq!(f.image_uuids, vec!["i1"]);
        assert_eq!(f.server_uuid.as_deref(), Some("s1"));
        assert!(f.may_be_kvm() && !f.may_be_os_zone());
        let unknown = VmFacts {
            uuid: "v".into(),
            brand: None,
            image_uuids: vec![],
            server_uuid: None,
        };
        assert!(unknown.may_be_kvm() && unknown.may_be_os_zone());
    }
}
