//! A KVM instance whose qemu could not get its memory: the job fails in `cnapi.wait_task` with
//! cn-agent's `vmadm exited with code: 1: ... timed out waiting for /var/svc/provisioning to
//! move for <uuid>`, and the CN's `/zones/<uuid>/root/tmp/vm.log` shows why.

use serde_json::json;

use super::common;
use crate::baseline::{Timing, VMADMD_LOG};
use crate::clock::{MINUTE, SECOND};
use crate::formats::bunyan::Logger;
use crate::provision::{self, Outcome, Spec};
use crate::workflow::Version;
use crate::world::{ev, World};
use crate::zonefiles::{self, QemuEvidence, QemuRun};

pub fn oom(world: &mut World, timing: &Timing, variant: Option<&str>) -> anyhow::Result<()> {
    let variant = variant.unwrap_or("oom");
    if !["oom", "mlock", "silent"].contains(&variant) {
        anyhow::bail!("unknown variant {variant:?} (expected oom, mlock or silent)");
    }
    common::noise_provisions(world, timing, Version::V8_2_4);
    let mut rng = world.rng.fork("kvm-oom");
    // A big KVM instance on a CN whose free memory is mostly taken.
    let vm_uuid = common::target_vm(world, "kvm", 1, 3, timing.anchor);
    let after = provision::PROVISION_TIMEOUT + rng.range(40, 90) * SECOND;
    // vmadm's stderr (bunyan at debug level under cn-agent) ends with the timeout warning.
    let cn = world.cns[0].clone();
    let vmadm = Logger::new("vmadm", &cn.hostname, rng.pid())
        .child("action", "create")
        .child("vm", vm_uuid.clone());
    let warned = world.local(&cn.server_uuid, timing.anchor + after);
    let tail = vmadm.warn(
        warned,
        &[],
        &format!(
            "Marking VM {vm_uuid} as a \"failure\" because we hit waitForProvisioning() timeout."
        ),
    );
    let last = format!("timed out waiting for /var/svc/provisioning to move for {vm_uuid}");
    let message = crate::cn_side::vmadm_exit_message(&[tail], &last);
    let story = provision::run(
        world,
        Spec {
            vm_uuid: vm_uuid.clone(),
            version: Version::V8_2_4,
            start: timing.anchor,
            outcome: Outcome::CreateFailed { message, after },
            image_import: None,
            boot_time: provision::boot_time(&mut rng, "kvm"),
            diagnosis: Some("kvm-qemu-out-of-memory".into()),
            slow: Vec::new(),
        },
    );
    let ram = world.vm(&vm_uuid).ram_mb * 1024 * 1024;
    let (output, evidence) = match variant {
        "mlock" => {
            let locked = ram / 3 + rng.range(0, 1 << 20) as u64;
            let line =
                format!("qemu_mlock: have only locked {locked} of {ram} bytes; still trying...");
            (
                vec![line; 12],
                QemuEvidence::Output(11, "qemu_mlock: have only locked".into()),
            )
        }
        "silent" => (Vec::new(), QemuEvidence::Header("=== OUTPUT (".into())),
        _ => (
            vec!["Failed to allocate memory: Resource temporarily unavailable".into()],
            QemuEvidence::Output(
                0,
                "Failed to allocate memory: Resource temporarily unavailable".into(),
            ),
        ),
    };
    let first = QemuRun {
        started: story.booted,
        output: output.clone(),
        evidence: QemuEvidence::None,
    };
    let second = QemuRun {
        started: story.booted + rng.range(60, 150) * SECOND,
        output,
        evidence,
    };
    zonefiles::kvm(world, &vm_uuid, &[first, second]);

    // vmadmd keeps trying to reach qemu's QMP socket for the new VM.
    let server = world.cns[0].server_uuid.clone();
    let hostname = world.cns[0].hostname.clone();
    let vmadmd = Logger::new("vmadmd", &hostname, world.cns[0].pid("vmadmd"));
    let mut t = world.local(&server, story.booted + 2 * SECOND);
    for attempt in 0..4 {
        let line = vmadmd.rec(50, t, &[("vm", json!(vm_uuid)), ("err", json!({"message": "connect ECONNREFUSED", "name": "Error", "code": "ECONNREFUSED"}))], "checkHWSetup Error: connect ECONNREFUSED");
        let tags = if attempt == 0 {
            vec![ev(&vm_uuid, "checkHWSetup Error: connect ECONNREFUSED", 0)]
        } else {
            Vec::new()
        };
        world.host_log_ev(&server, VMADMD_LOG, t, line, tags);
        t += rng.range(20, 70) * SECOND;
    }
    world.host_log(
        &server,
        VMADMD_LOG,
        t,
        vmadmd.info(t, &[("vm", json!(vm_uuid))], "QMP socket was closed"),
    );
    let _ = MINUTE;
    Ok(())
}
