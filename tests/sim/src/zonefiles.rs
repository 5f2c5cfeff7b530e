//! Files inside a customer zone's root on its compute node: qemu's vm.log and startvm for KVM,
//! the first-boot service logs and the provisioning marker for OS zones, and the archive VM.js
//! leaves behind when a zone is destroyed.

use crate::clock::{Ms, SECOND};
use crate::formats::qemu::{self, Boot};
use crate::formats::zoneinit::{self, Outcome as ZoneOutcome};
use crate::logs::{EvTag, Rotation};
use crate::world::{ev, World};

/// Which vm.log line carries the evidence.
pub enum QemuEvidence {
    None,
    /// The `=== OUTPUT (...) ===` header (nothing came after it).
    Header(String),
    /// Line `n` of qemu's output.
    Output(usize, String),
}

/// What qemu printed after the OUTPUT header, with optional evidence on one of those lines.
pub struct QemuRun {
    pub started: Ms,
    pub output: Vec<String>,
    pub evidence: QemuEvidence,
}

/// KVM zone files: `root/startvm`, `root/tmp/vm.log` (the last start) and `vm.log.0` (the one
/// before, when there was one). Returns the vm.log path.
pub fn kvm(world: &mut World, vm_uuid: &str, runs: &[QemuRun]) -> String {
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let macs: Vec<String> = vm.nics.iter().map(|n| n.mac.clone()).collect();
    let boot = Boot {
        vm_uuid: &vm.uuid,
        alias: &vm.alias,
        ram_mb: vm.ram_mb,
        vcpus: vm.vcpus,
        macs: &macs,
        vnc_port: 0,
    };
    let _ = boot.alias;
    world.add_file(
        &server,
        &format!("/zones/{}/root/startvm", vm.uuid),
        qemu::startvm(&boot),
    );
    let live = format!("/zones/{}/root/tmp/vm.log", vm.uuid);
    let count = runs.len();
    for (i, run) in runs.iter().enumerate() {
        // The newest start is vm.log, older ones were rotated to vm.log.0, vm.log.1, ...
        let path = if i + 1 == count {
            live.clone()
        } else {
            format!("{live}.{}", count - 2 - i)
        };
        world.declare(&server, &path, Rotation::None);
        let local = world.local(&server, run.started);
        let header = qemu::header(&boot, local);
        let last_run = i + 1 == count;
        let header_len = header.len();
        for (n, line) in header.into_iter().enumerate() {
            let tags: Vec<EvTag> = match &run.evidence {
                QemuEvidence::Header(contains) if last_run && n + 1 == header_len => {
                    vec![ev(vm_uuid, contains, 0)]
                }
                _ => Vec::new(),
            };
            world.host_log_ev(&server, &path, local, line, tags);
        }
        for (n, line) in run.output.iter().enumerate() {
            let tags: Vec<EvTag> = match &run.evidence {
                QemuEvidence::Output(idx, contains) if *idx == n && last_run => {
                    vec![ev(vm_uuid, contains, 0)]
                }
                _ => Vec::new(),
            };
            world.host_log_ev(&server, &path, local + 1 + n as Ms, line.clone(), tags);
        }
    }
    live
}

/// OS zone first-boot files. `failed`: mdata:fetch failed on the second boot, mdata:execute
/// never ran and `/var/svc/provisioning` stays. Returns the zoneinit log path; evidence goes on
/// the mdata:fetch log line containing `evidence`.
pub fn os_zone(
    world: &mut World,
    vm_uuid: &str,
    booted: Ms,
    failed: bool,
    evidence: Option<&str>,
) -> String {
    let base = format!("/zones/{vm_uuid}/root/var/svc");
    os_zone_at(
        world,
        vm_uuid,
        booted,
        failed,
        evidence,
        &format!("{base}/log"),
        Some(&base),
    )
}

/// As [`os_zone`], with the svc logs written to `log_dir` (the archive's `svclogs/` for a
/// destroyed zone) and the provisioning marker under `svc_dir` when the zone still exists.
pub fn os_zone_at(
    world: &mut World,
    vm_uuid: &str,
    booted: Ms,
    failed: bool,
    evidence: Option<&str>,
    log_dir: &str,
    svc_dir: Option<&str>,
) -> String {
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let zoneinit_path = format!("{log_dir}/system-zoneinit:default.log");
    let local = world.local(&server, booted);
    world.declare(&server, &zoneinit_path, Rotation::None);
    let outcome = if failed {
        ZoneOutcome::MdataFetchFailed
    } else {
        ZoneOutcome::Ok
    };
    for (t, line) in zoneinit::zoneinit_log(local + 2 * SECOND, &vm.alias, vm_uuid) {
        world.host_log(&server, &zoneinit_path, t, line);
    }
    let fetch = format!("{log_dir}/smartdc-mdata:fetch.log");
    let execute = format!("{log_dir}/smartdc-mdata:execute.log");
    world.declare(&server, &fetch, Rotation::None);
    world.declare(&server, &execute, Rotation::None);
    // zoneinit schedules a reboot; mdata:fetch runs on the second boot.
    let second_boot = local + 25 * SECOND;
    for (t, line) in zoneinit::mdata_fetch_log(second_boot, outcome) {
        let tags = match evidence {
            Some(text) if line.contains(text) => vec![ev(vm_uuid, text, 0)],
            _ => Vec::new(),
        };
        world.host_log_ev(&server, &fetch, t, line, tags);
    }
    if failed {
        // mdata:execute depends on mdata:fetch and never ran: the marker is still there.
        if let Some(base) = svc_dir {
            world.add_file(&server, &format!("{base}/provisioning"), Vec::new());
        }
    } else {
        for (t, line) in zoneinit::mdata_execute_log(second_boot + 2 * SECOND) {
            world.host_log(&server, &execute, t, line);
        }
        if let Some(base) = svc_dir {
            world.add_file(&server, &format!("{base}/provision_success"), Vec::new());
        }
    }
    zoneinit_path
}

/// What VM.js copies to `/zones/archive/<uuid>/` when an OS zone is destroyed (besides
/// `svclogs/`, written by [`os_zone_at`]).
pub fn archive(world: &mut World, vm_uuid: &str) {
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let dir = format!("/zones/archive/{vm_uuid}");
    let mut vm_json =
        serde_json::to_string_pretty(&crate::objects::vmadm_get(world, &vm)).unwrap_or_default();
    vm_json.push('\n');
    world.add_file(&server, &format!("{dir}/vm.json"), vm_json);
    world.add_file(
        &server,
        &format!("{dir}/zone.xml"),
        crate::hostfiles::zone_xml(&vm),
    );
    let dump = format!(
        "zones/{vm_uuid}\ttype\tfilesystem\t-\nzones/{vm_uuid}\tcreation\t{}\t-\nzones/{vm_uuid}\tquota\t{}\tlocal\nzones/{vm_uuid}\torigin\tzones/{}@final\t-\n",
        vm.created / 1000,
        vm.quota_gb * 1024 * 1024 * 1024,
        vm.image_uuid
    );
    world.add_file(&server, &format!("{dir}/zfs.dump"), dump);
    world.add_file(
        &server,
        &format!("{dir}/admmsgs/messages"),
        format!(
            "{} {} genunix: [ID 408114 kern.info] /zone/{} (zone) online\n",
            crate::clock::smf_stamp(vm.created),
            vm.alias,
            vm_uuid
        ),
    );
}

/// The CN's hourly `rotate-kvm-logs.sh` (cron, `SDC_LOG_ROLL_BACKWARD=1`): once an hour has
/// passed since qemu wrote to `vm.log`, logadm copy-truncates it and appends the copy to
/// `/var/log/sdc/upload/qemu_<vm>@<server>_<YYYY-MM-DDTHH>:00:00.log`, stamped with the hour
/// the cron job ran (smartos-live `src/vm/sbin/rotate-kvm-logs.sh`). Only for a vm.log without
/// evidence on it: the tests point into the live file.
pub fn rotate_kvm_log(world: &mut World, vm_uuid: &str) {
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let host = world.host(&server).clone();
    let now = world.local(&server, world.now);
    let live = format!("/zones/{vm_uuid}/root/tmp/vm.log");
    let Some(entries) = world.logs.entries_mut(&host.root, &live) else {
        return;
    };
    let Some(last) = entries.iter().map(|e| e.t).max() else {
        return;
    };
    let ran_at = crate::clock::hour_floor(last) + crate::clock::HOUR;
    if ran_at > now || entries.iter().any(|e| !e.ev.is_empty()) {
        return;
    }
    let moved = std::mem::take(entries);
    let stamp = crate::clock::logadm_stamp(ran_at);
    let path = format!("/var/log/sdc/upload/qemu_{vm_uuid}@{server}_{stamp}.log");
    world.declare(&server, &path, Rotation::None);
    for e in moved {
        world.host_log(&server, &path, e.t, e.text);
    }
}
