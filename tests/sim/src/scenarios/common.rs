//! Pieces every scenario uses: the provision under investigation and the other provisions
//! running at the same time.

use crate::baseline::{self, Timing};
use crate::clock::{Ms, MINUTE, SECOND};
use crate::provision::{self, Outcome, Spec};
use crate::rng::SimRng;
use crate::workflow::Version;
use crate::world::World;

/// Adds the VM the scenario is about, placed on the first CN, in state `provisioning`.
pub fn target_vm(
    world: &mut World,
    brand: &str,
    image: usize,
    package: usize,
    created: Ms,
) -> String {
    let mut rng = world.rng.fork("target-vm");
    let image_uuid = world.images[image].uuid.clone();
    let server = world.cns[0].server_uuid.clone();
    let mut vm = baseline::new_customer_vm(
        world,
        &mut rng,
        brand,
        &image_uuid,
        package,
        Some(&server),
        created,
    );
    vm.state = "provisioning".into();
    vm.zone_state = "configured".into();
    let uuid = vm.uuid.clone();
    world.vms.push(vm);
    uuid
}

/// Other provisions around the story that succeed on the healthy CNs.
pub fn noise_provisions(world: &mut World, timing: &Timing, version: Version) {
    let mut rng = world.rng.fork("noise-provisions");
    let offsets: [Ms; 3] = [-14 * MINUTE, 50 * SECOND, 7 * MINUTE];
    for (i, offset) in offsets.iter().enumerate() {
        let server = world.cns[1 + i % (world.cns.len() - 1)].server_uuid.clone();
        let (brand, image) = if i == 1 { ("kvm", 1) } else { ("joyent", 0) };
        let image_uuid = world.images[image].uuid.clone();
        let start = timing.anchor + offset + rng.range(0, 20_000);
        let mut vm = baseline::new_customer_vm(
            world,
            &mut rng,
            brand,
            &image_uuid,
            i % 3,
            Some(&server),
            start,
        );
        vm.state = "provisioning".into();
        let uuid = vm.uuid.clone();
        world.vms.push(vm);
        let boot = provision::boot_time(&mut rng, brand);
        let story = provision::run(
            world,
            Spec {
                vm_uuid: uuid.clone(),
                version,
                start,
                outcome: Outcome::Succeeded,
                image_import: None,
                boot_time: boot,
                diagnosis: None,
                slow: Vec::new(),
            },
        );
        healthy_zone_files(world, &uuid, story.booted);
    }
    noise_actions(world, &mut rng, timing, version);
}

/// A stop and a start of one running customer VM, and (on modern platforms) a reboot of
/// another, around the scenario's provision.
fn noise_actions(world: &mut World, rng: &mut SimRng, timing: &Timing, version: Version) {
    use crate::actions::{self, Action};
    let running: Vec<String> = world
        .vms
        .iter()
        .filter(|v| {
            v.state == "running"
                && !v.destroyed
                && v.on_host
                && v.owner != world.admin_uuid
                && v.server
                    .as_deref()
                    .is_some_and(|s| world.cns.iter().any(|c| c.server_uuid == s))
        })
        .map(|v| v.uuid.clone())
        .collect();
    if running.is_empty() {
        return;
    }
    let first = running[rng.below(running.len())].clone();
    let stop_at = timing.anchor - 25 * MINUTE + rng.range(0, 60_000);
    actions::run(world, rng, &first, Action::Stop, version, stop_at);
    let start_at = stop_at + 4 * MINUTE + rng.range(0, 60_000);
    actions::run(world, rng, &first, Action::Start, version, start_at);
    if !version.is_legacy() && running.len() > 1 {
        let other = running
            .iter()
            .find(|u| **u != first)
            .cloned()
            .unwrap_or_default();
        let at = timing.anchor + 3 * MINUTE + rng.range(0, 60_000);
        actions::run(world, rng, &other, Action::Reboot, version, at);
    }
}

/// The files a successfully provisioned VM leaves in its zone.
pub fn healthy_zone_files(world: &mut World, vm_uuid: &str, booted: Ms) {
    let brand = world.vm(vm_uuid).brand.clone();
    if brand == "kvm" {
        let run = crate::zonefiles::QemuRun {
            started: booted,
            output: vec!["char device redirected to /dev/pts/3 (label serial0)".into()],
            evidence: crate::zonefiles::QemuEvidence::None,
        };
        crate::zonefiles::kvm(world, vm_uuid, &[run]);
        crate::zonefiles::rotate_kvm_log(world, vm_uuid);
    } else {
        crate::zonefiles::os_zone(world, vm_uuid, booted, false, None);
    }
}
