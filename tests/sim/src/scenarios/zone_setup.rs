//! An OS zone whose setup never finished: zoneinit ran and rebooted the zone, but on the second
//! boot mdata:fetch could not read the metadata and exited 95, so mdata:execute (which moves
//! `/var/svc/provisioning` away) never ran; VM.js timed out and cn-agent reported `vmadm exited
//! with code: 1: ...`. (A zoneinit that fails outright renames the marker to
//! `provision_failure` in its EXIT trap, which VM.js takes as "provisioning done", so only a
//! later service can leave the marker in place.) Either the zone is still there (mdata:fetch in
//! maintenance) or it was destroyed and only the archive remains.

use serde_json::json;
use triton_fake::state::Service;

use super::common;
use crate::baseline::Timing;
use crate::clock::{self, SECOND};
use crate::provision::{self, Outcome, Spec};
use crate::workflow::Version;
use crate::world::World;
use crate::zonefiles;

const FETCH_ERROR: &str = crate::formats::zoneinit::FETCH_FAILURE;

fn failed_zone(
    world: &mut World,
    timing: &Timing,
    destroyed: bool,
    version: Version,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, version);
    let mut rng = world.rng.fork("zone-setup");
    let vm = common::target_vm(world, "joyent", 0, 1, timing.anchor);
    let last = format!("timed out waiting for /var/svc/provisioning to move for {vm}");
    // Old provisioner prefixed VM.js's error; cn-agent reports vmadm's exit and stderr.
    let message = if version.is_legacy() {
        format!("VM.create error: {last}")
    } else {
        let server = world.vm(&vm).server.clone().unwrap_or_default();
        let host = world.host(&server).clone();
        let at = world.local(&server, timing.anchor + provision::PROVISION_TIMEOUT);
        let vmadm = crate::formats::bunyan::Logger::new("vmadm", &host.hostname, rng.pid())
            .child("action", "create")
            .child("vm", vm.clone());
        let warned = vmadm.warn(
            at,
            &[],
            &format!(
                "Marking VM {vm} as a \"failure\" because we hit waitForProvisioning() timeout."
            ),
        );
        let errored = vmadm.error(at + 300, &[], &last);
        crate::cn_side::vmadm_exit_message(&[warned, errored], &last)
    };
    let story = provision::run(
        world,
        Spec {
            vm_uuid: vm.clone(),
            version,
            start: timing.anchor,
            outcome: Outcome::CreateFailed {
                message,
                after: provision::PROVISION_TIMEOUT + rng.range(15, 40) * SECOND,
            },
            image_import: None,
            boot_time: provision::boot_time(&mut rng, "joyent"),
            diagnosis: Some("zone-setup-failed".into()),
            slow: Vec::new(),
        },
    );
    let server = world.vm(&vm).server.clone().unwrap_or_default();
    if destroyed {
        // The operator deleted the failed zone; VM.js archived its svc logs first.
        let dir = format!("/zones/archive/{vm}/svclogs");
        zonefiles::os_zone_at(
            world,
            &vm,
            story.booted,
            true,
            Some(FETCH_ERROR),
            &dir,
            None,
        );
        zonefiles::archive(world, &vm);
        let destroyed_at = world.local(&server, story.finished + rng.range(4, 9) * 60 * SECOND);
        let host = world.host_mut(&server);
        host.zpool
            .push((destroyed_at, format!("zfs destroy -r zones/{vm}")));
        let v = world.vm_mut(&vm);
        v.destroyed = true;
        v.state = "destroyed".into();
        v.zone_state = "destroyed".into();
    } else {
        zonefiles::os_zone(world, &vm, story.booted, true, Some(FETCH_ERROR));
        let since = clock::iso_s(world.local(&server, story.booted + 88 * SECOND));
        let host = world.host_mut(&server);
        host.services.insert(
            vm.clone(),
            vec![
                Service {
                    fmri: "svc:/system/zoneinit:default".into(),
                    state: "online".into(),
                    since: since.clone(),
                    description: "SmartOS zone init service".into(),
                    log: "/var/svc/log/system-zoneinit:default.log".into(),
                    reason: None,
                },
                Service {
                    fmri: "svc:/smartdc/mdata:fetch".into(),
                    state: "maintenance".into(),
                    since: since.clone(),
                    description: "Joyent SDC metadata handler".into(),
                    log: "/var/svc/log/smartdc-mdata:fetch.log".into(),
                    reason: Some("Start method exited with $SMF_EXIT_ERR_FATAL.".into()),
                },
                Service {
                    fmri: "svc:/smartdc/mdata:execute".into(),
                    state: "offline".into(),
                    since,
                    description: "Joyent SDC metadata handler".into(),
                    log: "/var/svc/log/smartdc-mdata:execute.log".into(),
                    reason: None,
                },
            ],
        );
        if let Some(e) = world.expected_mut(&vm) {
            e.evidence.push(json!({"host": server, "command": format!("svcs -z {vm} -xv"), "contains": "maintenance"}));
        }
    }
    Ok(())
}

pub fn alive(world: &mut World, timing: &Timing, _variant: Option<&str>) -> anyhow::Result<()> {
    failed_zone(world, timing, false, Version::V8_2_4)
}

pub fn destroyed(world: &mut World, timing: &Timing, _variant: Option<&str>) -> anyhow::Result<()> {
    failed_zone(world, timing, true, Version::V8_2_4)
}

/// The guide's own example: a 7.0.24 job failing in `cnapi.poll_task` with
/// `VM.create error: timed out waiting for /var/svc/provisioning to move for <uuid>`.
pub fn legacy(world: &mut World, timing: &Timing, _variant: Option<&str>) -> anyhow::Result<()> {
    failed_zone(world, timing, false, Version::V7_0_24)
}
