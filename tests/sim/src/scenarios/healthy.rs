//! Provisions that succeed: the baseline a diagnosis must not flag.

use super::common;
use crate::baseline::Timing;
use crate::provision::{self, Outcome, Spec};
use crate::workflow::Version;
use crate::world::World;

fn healthy(world: &mut World, timing: &Timing, brand: &str, image: usize) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_2_4);
    let mut rng = world.rng.fork("healthy");
    let vm = common::target_vm(world, brand, image, 1, timing.anchor);
    let story = provision::run(
        world,
        Spec {
            vm_uuid: vm.clone(),
            version: Version::V8_2_4,
            start: timing.anchor,
            outcome: Outcome::Succeeded,
            image_import: None,
            boot_time: provision::boot_time(&mut rng, brand),
            diagnosis: Some("succeeded".into()),
            slow: Vec::new(),
        },
    );
    common::healthy_zone_files(world, &vm, story.booted);
    Ok(())
}

pub fn os(world: &mut World, timing: &Timing, _variant: Option<&str>) -> anyhow::Result<()> {
    healthy(world, timing, "joyent", 0)
}

pub fn kvm(world: &mut World, timing: &Timing, _variant: Option<&str>) -> anyhow::Result<()> {
    healthy(world, timing, "kvm", 1)
}
