//! Recognizing an entry's source: by its path first (bundle layout or original absolute path),
//! then by its content (the first 64 KiB). The manifest, read last, only refines host and origin.

use super::paths::{qemu_upload_name, zone_of, PathInfo};
use crate::parsers::{heartbeater, http, svclog, svcs, vmadm, vmlog, zfs_list, zpool_history};

/// What a source is, and so which parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// The bundle's `manifest.json`.
    Manifest,
    /// The bundle's `bundle-format.json` (nothing to analyze).
    BundleFormat,
    /// A JSON document (job, job list, VM, image...), possibly behind HTTP headers.
    Json,
    /// Bunyan records (core-zone service logs, agent logs).
    Bunyan,
    Heartbeater,
    /// qemu's vm.log of one VM.
    VmLog {
        vm: Option<String>,
    },
    /// An SMF log of a service inside a customer zone (zoneinit, mdata).
    ZoneSvcLog {
        zone: Option<String>,
        service: String,
        archived: bool,
    },
    /// `/zones/<vm>/root/var/svc/provisioning` and friends: their existence is the fact.
    ProvisionMarker {
        vm: String,
        marker: String,
    },
    ZpoolHistory,
    ZfsList,
    SvcsXv {
        zone: Option<String>,
    },
    /// `vmadm create` console output, `imgadm`/`vmadm` error text.
    CommandText,
    /// Not something any parser reads (binary dumps, zone XML, ...).
    Ignored,
}

impl SourceKind {
    /// A stable short name for coverage listings.
    pub fn label(&self) -> &'static str {
        match self {
            SourceKind::Manifest => "manifest",
            SourceKind::BundleFormat => "bundle-format",
            SourceKind::Json => "json",
            SourceKind::Bunyan => "bunyan-log",
            SourceKind::Heartbeater => "heartbeater-log",
            SourceKind::VmLog { .. } => "vm.log",
            SourceKind::ZoneSvcLog { .. } => "zone-svc-log",
            SourceKind::ProvisionMarker { .. } => "provision-marker",
            SourceKind::ZpoolHistory => "zpool-history",
            SourceKind::ZfsList => "zfs-list",
            SourceKind::SvcsXv { .. } => "svcs-xv",
            SourceKind::CommandText => "command-text",
            SourceKind::Ignored => "ignored",
        }
    }
}

/// Zone services the guide says to read for an OS zone whose provision timed out.
const ZONE_SERVICES: [&str; 3] = [
    "system-zoneinit",
    "smartdc-mdata:fetch",
    "smartdc-mdata:execute",
];

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Classification from the path alone; `None` means "look at the content".
pub fn by_path(entry: &str, info: &PathInfo) -> Option<SourceKind> {
    let name = file_name(entry);
    if entry == "manifest.json" {
        return Some(SourceKind::Manifest);
    }
    if entry == "bundle-format.json" {
        return Some(SourceKind::BundleFormat);
    }
    if info.api.is_some() {
        return Some(SourceKind::Json);
    }
    if let Some(command) = &info.command {
        // Bundle source names join words with `-`; a service bundle names the command line.
        let cmd = &command.replace(' ', "-");
        let kind = if cmd.starts_with("zpool-history") {
            SourceKind::ZpoolHistory
        } else if cmd.starts_with("zfs-list") {
            SourceKind::ZfsList
        } else if cmd.starts_with("svcs") && cmd.contains("--a") {
            // `svcs -Z -a` (every service, one line each): nothing broken is told there.
            SourceKind::Ignored
        } else if cmd.starts_with("svcs") {
            let zone = crate::parsers::find_uuids(cmd).into_iter().next();
            SourceKind::SvcsXv { zone }
        } else if cmd.starts_with("imgadm") || cmd.starts_with("vmadm") || cmd.starts_with("sdc-") {
            SourceKind::Json
        } else {
            return None;
        };
        return Some(kind);
    }
    let path = info.host_path.as_deref()?;
    if let Some((vm, _)) = qemu_upload_name(name) {
        return Some(SourceKind::VmLog { vm: Some(vm) });
    }
    if let Some((zone, archived, tail)) = zone_of(path) {
        if tail.starts_with("/root/tmp/vm.log") || (archived && tail.starts_with("/vmlogs/vm.log"))
        {
            return Some(SourceKind::VmLog { vm: Some(zone) });
        }
        for marker in ["provisioning", "provision_success", "provision_failure"] {
            if tail == format!("/root/var/svc/{marker}") {
                return Some(SourceKind::ProvisionMarker {
                    vm: zone,
                    marker: marker.to_string(),
                });
            }
        }
        let svc_dir = if archived {
            "/svclogs/"
        } else {
            "/root/var/svc/log/"
        };
        if let Some(log) = tail.strip_prefix(svc_dir) {
            let service = log.trim_end_matches(".log");
            if ZONE_SERVICES.iter().any(|s| service.starts_with(s)) {
                return Some(SourceKind::ZoneSvcLog {
                    zone: Some(zone),
                    service: service.to_string(),
                    archived,
                });
            }
        }
        if archived && tail == "/vm.json" {
            return Some(SourceKind::Json);
        }
        if archived && (tail == "/zfs.dump" || tail == "/zone.xml" || tail.starts_with("/cores/")) {
            return Some(SourceKind::Ignored);
        }
    }
    if path.ends_with("smartdc-agent-heartbeater:default.log") {
        return Some(SourceKind::Heartbeater);
    }
    None
}

/// Classification from the first bytes of the content.
pub fn by_content(name: &str, head: &str) -> SourceKind {
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    if http::looks_like_http(trimmed) {
        return SourceKind::Json;
    }
    if zpool_history::looks_like_zpool_history(trimmed) {
        return SourceKind::ZpoolHistory;
    }
    if zfs_list::looks_like_zfs_list(trimmed) {
        return SourceKind::ZfsList;
    }
    if vmlog::looks_like_vm_log(head) {
        return SourceKind::VmLog { vm: None };
    }
    if heartbeater::looks_like_heartbeater(head) {
        return SourceKind::Heartbeater;
    }
    let first_lines: Vec<&str> = trimmed.lines().take(50).collect();
    let bunyan_lines = first_lines
        .iter()
        .filter(|l| {
            triton_logs::Record::parse(l.as_bytes()).is_some()
                || crate::parsers::bunyan_text::parse(l, 0).is_some()
        })
        .count();
    if bunyan_lines > 0 {
        return SourceKind::Bunyan;
    }
    if svclog::looks_like_svc_log(head) {
        let lower = name.to_ascii_lowercase();
        let service = ZONE_SERVICES
            .iter()
            .find(|s| lower.contains(&s.replace("system-", "")))
            .map(|s| s.to_string())
            .unwrap_or_else(|| name.trim_end_matches(".log").to_string());
        return SourceKind::ZoneSvcLog {
            zone: None,
            service,
            archived: false,
        };
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return SourceKind::Json;
    }
    if svcs::looks_like_svcs_xv(trimmed) {
        return SourceKind::SvcsXv { zone: None };
    }
    if vmadm::looks_like_vmadm_create(head)
        || head.contains("No such zone configured")
        || head.contains("imgadm: error")
    {
        return SourceKind::CommandText;
    }
    SourceKind::Ignored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::paths::analyze;

    #[test]
    fn by_path_kinds() {
        let vm = "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5";
        let info = analyze(&format!("zones/{vm}/root/tmp/vm.log"), None);
        assert_eq!(
            by_path("x", &info),
            Some(SourceKind::VmLog {
                vm: Some(vm.into())
            })
        );
        let info = analyze(
            &format!("zones/archive/{vm}/svclogs/system-zoneinit:default.log"),
            None,
        );
        assert!(matches!(
            by_path("x", &info),
            Some(SourceKind::ZoneSvcLog { archived: true, .. })
        ));
        let info = analyze(&format!("zones/{vm}/root/var/svc/provisioning"), None);
        assert!(matches!(
            by_path("x", &info),
            Some(SourceKind::ProvisionMarker { .. })
        ));
        let info = analyze("zones/0c2b0000-0000-4000-8000-000000000000/root/var/svc/log/smartdc-site-vmapi:default.log", None);
        assert_eq!(by_path("x", &info), None);
    }

    #[test]
    fn by_content_kinds() {
        assert_eq!(by_content("a", "HTTP/1.1 200 OK\n\n{}"), SourceKind::Json);
        assert_eq!(
            by_content("a", "History for 'zones':\n"),
            SourceKind::ZpoolHistory
        );
        assert_eq!(
            by_content("a", "NAME USED AVAIL REFER MOUNTPOINT\n"),
            SourceKind::ZfsList
        );
        assert_eq!(
            by_content(
                "a",
                r#"{"name":"cnapi","hostname":"h","pid":1,"level":30,"msg":"m","time":"2024-01-18T10:00:00.000Z","v":0}"#
            ),
            SourceKind::Bunyan
        );
        assert_eq!(
            by_content("job.json", "{\n  \"uuid\": \"x\"\n}"),
            SourceKind::Json
        );
        assert_eq!(
            by_content("a", "=== OUTPUT (2014-01-29T06:33:54Z) ===\n"),
            SourceKind::VmLog { vm: None }
        );
        assert_eq!(
            by_content("a", "[2013-12-27T19:34:54.715Z] .Z(27,3)PMM...\n"),
            SourceKind::Heartbeater
        );
        assert!(matches!(
            by_content(
                "zoneinit.log",
                "[ Mar 25 21:42:38 Executing start method (\"/lib/svc/method/zoneinit\"). ]\n"
            ),
            SourceKind::ZoneSvcLog { .. }
        ));
        assert_eq!(by_content("a", "just text"), SourceKind::Ignored);
    }
}
