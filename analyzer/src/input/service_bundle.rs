//! `sdc-sbcreate` service bundles (sdc-headnode `tools/bin/sdc-sbcreate`; layout in
//! docs/bundle-format.md): recognized by content, then each entry mapped to its host and to the
//! original path or command it stands for.
//!
//! The archive holds one directory named by the server uuid. Its nested archives were made with
//! `cd /` and relative names, so an inner name is the host's absolute path without its `/`
//! (`zone.logs.tar.gz//zones/<z>/root/var/svc/log/x.log`); `var.audit.tar.gz` was made with
//! `tar -C /var/audit ... .`, `vmlogs/<vm>.vm.log*` are `tail -n 10000` copies of each VM's
//! `/zones/<vm>/root/tmp/vm.log*`, and the other files are command output.

use triton_bundle::{Bundle, BundleError, NESTED_SEPARATOR};

use super::paths::PathInfo;
use crate::parsers::is_uuid;

/// Files `sdc-sbcreate` writes into the server directory (a sample: enough to recognize it).
const SBCREATE_FILES: [&str; 22] = [
    "sysinfo.json",
    "svcs.all",
    "svcs.all.xv",
    "zpool.status",
    "zfs.list",
    "zpool.history",
    "zonelist.vc",
    "vmadmlist",
    "vmadm.lookup.json",
    "zone.configs.tar",
    "gz-logs.tar.gz",
    "zone.logs.tar.gz",
    "usbkey.filelist",
    "usbkey.config.tar",
    "images.list",
    "vmapi_vms.gz",
    "servers.gz",
    "binder.status",
    "rabbitmq.list",
    "var.audit.tar.gz",
    "sdc-healthcheck",
    "sdcadm.insts",
];

/// Entries looked at, at most, to recognize a service bundle.
const PROBE_ENTRIES: usize = 64;

/// Lines `sdc-sbcreate` keeps of each vm.log (`tail -n 10000`).
pub const VM_LOG_TAIL_LINES: u64 = 10_000;

/// What the first entries of an archive say: a server directory holding `sdc-sbcreate` files.
#[derive(Debug, Default)]
struct Probe {
    top: Option<String>,
    other_top: bool,
    sysinfo: bool,
    known: usize,
    seen: usize,
}

impl Probe {
    fn offer(&mut self, path: &str) {
        self.seen += 1;
        let (top, rest) = path.split_once('/').unwrap_or((path, ""));
        match &self.top {
            None => self.top = Some(top.to_ascii_lowercase()),
            Some(t) if !t.eq_ignore_ascii_case(top) => self.other_top = true,
            Some(_) => {}
        }
        if rest == "sysinfo.json" {
            self.sysinfo = true;
        }
        if SBCREATE_FILES.contains(&rest) || rest.starts_with("vmlogs/") {
            self.known += 1;
        }
    }

    /// sysinfo.json and one more of the script's files, or three of them (sysinfo.json may
    /// come late: GNU tar stores files in directory order, and large logs may come first).
    fn decided(&self) -> bool {
        self.other_top || (self.sysinfo && self.known >= 2) || self.known >= 3
    }

    fn server(&self) -> Option<String> {
        let top = self.top.as_deref()?;
        let enough = (self.sysinfo && self.known >= 2) || self.known >= 3;
        (!self.other_top && enough && is_uuid(top)).then(|| top.to_string())
    }
}

/// The server uuid when `bundle` is a service bundle. Reads its first entries (stopping as
/// soon as it can tell), so the caller opens the input again to read it whole.
pub fn probe(bundle: &mut Bundle) -> Option<String> {
    if bundle.is_triton_bundle() {
        return None;
    }
    let mut probe = Probe::default();
    let stop = || BundleError::Io {
        path: Default::default(),
        what: "recognizing a service bundle".to_string(),
        source: std::io::Error::other("probe done"),
    };
    // The error only stops the walk early; what was seen is in `probe`.
    let _ = bundle.for_each_entry(&mut |entry| {
        probe.offer(entry.path());
        if probe.decided() || probe.seen >= PROBE_ENTRIES {
            return Err(stop());
        }
        Ok(())
    });
    probe.server()
}

/// The command whose output a top-level file of the server directory is, as the script runs
/// it (the `triton-collect` source names the classifier also knows are `-` joined).
fn command_of(file: &str) -> Option<&'static str> {
    Some(match file {
        "zpool.history" => "zpool history",
        "zfs.list" => "zfs list -t all",
        "zpool.status" => "zpool status -v",
        "svcs.all.xv" => "svcs -Z -xv",
        "svcs.all" => "svcs -Z -a",
        "vmadmlist" => "vmadm list",
        "vmadm.lookup.json" => "vmadm lookup -j",
        "zonelist.vc" => "zoneadm list -v -c",
        "sysinfo.json" => "sysinfo",
        "images.list" => "sdc-imgapi /images",
        "vmapi_vms.gz" => "sdc-vmapi /vms",
        "servers.gz" => "sdc-cnapi /servers",
        _ => return None,
    })
}

/// Where the inner names of a nested archive are rooted on the host.
fn inner_root(member: &str) -> Option<&'static str> {
    Some(match member {
        "zone.logs.tar.gz" | "gz-logs.tar.gz" | "usbkey.config.tar" | "zone.configs.tar"
        | "phonehome.tar.gz" => "/",
        "var.audit.tar.gz" => "/var/audit/",
        _ => return None,
    })
}

/// Maps one entry of a service bundle of `server` (`<server>/...`).
pub fn analyze(entry: &str, server: &str) -> PathInfo {
    let host = Some(server.to_string());
    let unknown = PathInfo {
        host: host.clone(),
        ..Default::default()
    };
    let Some(rest) = entry
        .split_once('/')
        .filter(|(top, _)| top.eq_ignore_ascii_case(server))
        .map(|(_, rest)| rest)
    else {
        return unknown;
    };
    let (member, inner) = match rest.split_once(NESTED_SEPARATOR) {
        Some((member, inner)) => (member, Some(inner)),
        None => (rest, None),
    };
    if let Some(inner) = inner {
        if let Some(command) = command_of(member) {
            // A single compressed file (`vmapi_vms.gz//vmapi_vms`): the command's output.
            return PathInfo {
                host,
                command: Some(command.to_string()),
                ..Default::default()
            };
        }
        return match inner_root(member) {
            Some(root) => {
                // A compressed file inside (`x.log.gz//x.log`) stands for that file on the host.
                let inner = match inner.split_once(NESTED_SEPARATOR) {
                    Some((file, _)) => file.trim_end_matches(".gz").trim_end_matches(".bz2"),
                    None => inner,
                };
                let inner = inner.trim_start_matches("./");
                PathInfo {
                    host,
                    host_path: Some(format!("{root}{inner}")),
                    ..Default::default()
                }
            }
            None => unknown,
        };
    }
    if let Some(log) = member.strip_prefix("vmlogs/") {
        // `<vm>.vm.log`, `<vm>.vm.log.0`, ...
        if let Some((vm, base)) = log.split_once('.').filter(|(vm, _)| is_uuid(vm)) {
            return PathInfo {
                host,
                host_path: Some(format!(
                    "/zones/{}/root/tmp/{base}",
                    vm.to_ascii_lowercase()
                )),
                ..Default::default()
            };
        }
        return unknown;
    }
    match command_of(member) {
        Some(command) => PathInfo {
            host,
            command: Some(command.to_string()),
            ..Default::default()
        },
        None => unknown,
    }
}

/// Whether an entry of a service bundle is a `tail -n 10000` copy of a vm.log (its line numbers
/// are the original's only when the original was shorter).
pub fn is_vm_log_tail(entry: &str) -> bool {
    entry.contains("/vmlogs/") && !entry.contains(NESTED_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HN: &str = "44454c4c-538c-10ce-80b4-b937f30919bc";
    const VM: &str = "6b45153b-0955-4454-b9da-4a1119193dbd";

    #[test]
    fn nested_logs_map_to_host_paths() {
        let p = analyze(
            &format!("{HN}/zone.logs.tar.gz//zones/{VM}/root/var/svc/log/x.log"),
            HN,
        );
        assert_eq!(p.host.as_deref(), Some(HN));
        assert_eq!(
            p.host_path,
            Some(format!("/zones/{VM}/root/var/svc/log/x.log"))
        );
        let p = analyze(
            &format!("{HN}/gz-logs.tar.gz//var/svc/log/system-smartdc-vmadmd:default.log"),
            HN,
        );
        assert_eq!(
            p.host_path.as_deref(),
            Some("/var/svc/log/system-smartdc-vmadmd:default.log")
        );
        let p = analyze(
            &format!(
                "{HN}/zone.logs.tar.gz//zones/{VM}/root/var/log/sdc/upload/a_b.log.gz//a_b.log"
            ),
            HN,
        );
        assert_eq!(
            p.host_path,
            Some(format!("/zones/{VM}/root/var/log/sdc/upload/a_b.log"))
        );
        let p = analyze(&format!("{HN}/var.audit.tar.gz//./2024"), HN);
        assert_eq!(p.host_path.as_deref(), Some("/var/audit/2024"));
    }

    #[test]
    fn vm_logs_and_commands() {
        let p = analyze(&format!("{HN}/vmlogs/{VM}.vm.log.0"), HN);
        assert_eq!(p.host_path, Some(format!("/zones/{VM}/root/tmp/vm.log.0")));
        assert!(is_vm_log_tail(&format!("{HN}/vmlogs/{VM}.vm.log")));
        let c = |e: &str| analyze(&format!("{HN}/{e}"), HN).command;
        assert_eq!(c("zpool.history").as_deref(), Some("zpool history"));
        assert_eq!(c("svcs.all.xv").as_deref(), Some("svcs -Z -xv"));
        assert_eq!(
            c("vmapi_vms.gz//vmapi_vms").as_deref(),
            Some("sdc-vmapi /vms")
        );
        assert_eq!(c("images.list").as_deref(), Some("sdc-imgapi /images"));
        assert_eq!(c("binder.status"), None);
        assert_eq!(analyze("elsewhere/zpool.history", HN).command, None);
    }

    #[test]
    fn probe_needs_one_uuid_directory_and_the_scripts_files() {
        let mut p = Probe::default();
        for f in ["gz-logs.tar.gz", "svcs.all", "sysinfo.json"] {
            p.offer(&format!("{HN}/{f}"));
        }
        assert_eq!(p.server().as_deref(), Some(HN));
        let mut other = Probe::default();
        for f in ["a/sysinfo.json", "a/zfs.list", "a/zpool.history"] {
            other.offer(f);
        }
        assert_eq!(other.server(), None, "top directory is not a uuid");
        let mut mixed = Probe::default();
        for f in ["sysinfo.json", "zfs.list"] {
            mixed.offer(&format!("{HN}/{f}"));
        }
        mixed.offer("other/zpool.history");
        assert_eq!(mixed.server(), None);
    }
}
