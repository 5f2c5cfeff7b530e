//! The failure stories, one module each, told on top of the common baseline.

mod common;
mod healthy;
mod kvm;
mod legacy;
mod modern;
mod zone_setup;

use crate::baseline::Timing;
use crate::clock::{Ms, HOUR, MINUTE};
use crate::world::{Era, World};

pub use common::target_vm;

/// One scenario: its name, what it shows, and the function that tells its story.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    pub era: Era,
    /// Roughly how long the story runs (places "now" after it).
    pub story_len: Ms,
    /// Variants accepted by `--variant`.
    pub variants: &'static [&'static str],
    pub tell: fn(&mut World, &Timing, Option<&str>) -> anyhow::Result<()>,
}

pub const DEFAULT: &str = "kvm-qemu-out-of-memory";

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "kvm-qemu-out-of-memory",
            description: "8.2.4 KVM provision fails in cnapi.wait_task: qemu could not allocate memory (vm.log)",
            era: Era::Modern,
            story_len: 9 * MINUTE,
            variants: &["oom", "mlock", "silent"],
            tell: kvm::oom,
        },
        Scenario {
            name: "kvm-qemu-mlock",
            description: "as kvm-qemu-out-of-memory, vm.log repeats `qemu_mlock: have only locked ... still trying...`",
            era: Era::Modern,
            story_len: 9 * MINUTE,
            variants: &[],
            tell: |w, t, _| kvm::oom(w, t, Some("mlock")),
        },
        Scenario {
            name: "kvm-qemu-silent",
            description: "as kvm-qemu-out-of-memory, nothing after vm.log's `=== OUTPUT (...) ===` header",
            era: Era::Modern,
            story_len: 9 * MINUTE,
            variants: &[],
            tell: |w, t, _| kvm::oom(w, t, Some("silent")),
        },
        Scenario {
            name: "healthy-os",
            description: "8.2.4 OS zone provision that succeeded",
            era: Era::Modern,
            story_len: 3 * MINUTE,
            variants: &[],
            tell: healthy::os,
        },
        Scenario {
            name: "healthy-kvm",
            description: "8.2.4 KVM provision that succeeded",
            era: Era::Modern,
            story_len: 4 * MINUTE,
            variants: &[],
            tell: healthy::kvm,
        },
        Scenario {
            name: "zone-setup-failed",
            description: "8.2.4 OS zone times out in cnapi.wait_task: mdata:fetch failed (exit 95), zone left in place (svcs: maintenance)",
            era: Era::Modern,
            story_len: 9 * MINUTE,
            variants: &[],
            tell: zone_setup::alive,
        },
        Scenario {
            name: "zone-setup-failed-destroyed",
            description: "as zone-setup-failed, but the zone was destroyed: only /zones/archive/<uuid>/svclogs remains",
            era: Era::Modern,
            story_len: 18 * MINUTE,
            variants: &[],
            tell: zone_setup::destroyed,
        },
        Scenario {
            name: "zone-setup-failed-legacy",
            description: "7.0.24 OS zone times out in cnapi.poll_task (`VM.create error: ...`): mdata:fetch failed",
            era: Era::Legacy,
            story_len: 9 * MINUTE,
            variants: &[],
            tell: zone_setup::legacy,
        },
        Scenario {
            name: "destroyed-during-provision",
            description: "7.0.24 vmapi.check_state `task timeout error`; a destroy-7.0.1 job ran before check_state",
            era: Era::Legacy,
            story_len: 6 * MINUTE,
            variants: &[],
            tell: legacy::destroyed_during_provision,
        },
        Scenario {
            name: "cnapi-unreachable",
            description: "7.0.24 vmapi.check_state times out while CNAPI restarts (vmapi heartbeater: Error talking to CNAPI)",
            era: Era::Legacy,
            story_len: 6 * MINUTE,
            variants: &[],
            tell: legacy::cnapi_unreachable,
        },
        Scenario {
            name: "image-import-race",
            description: "7.0.28 cnapi.poll_task_ensure_image `-partial' exists`; the image got imported anyway",
            era: Era::Legacy,
            story_len: 6 * MINUTE,
            variants: &[],
            tell: legacy::image_import_race,
        },
        Scenario {
            name: "image-import-partial-leftover",
            description: "as image-import-race, but zones/<image>-partial is left behind and imgadm get fails",
            era: Era::Legacy,
            story_len: 6 * MINUTE,
            variants: &[],
            tell: legacy::image_import_partial_leftover,
        },
        Scenario {
            name: "image-import-transient",
            description: "7.0.28 `invalid backup stream`; zpool history shows a good import ~10 minutes later",
            era: Era::Legacy,
            story_len: 16 * MINUTE,
            variants: &[],
            tell: legacy::image_import_transient,
        },
        Scenario {
            name: "vmadm-create-failed",
            description: "8.2.4 cnapi.wait_task fails with `vmadm exited with code: 1: ...` (not a timeout)",
            era: Era::Modern,
            story_len: 3 * MINUTE,
            variants: &[],
            tell: modern::vmadm_create_failed,
        },
        Scenario {
            name: "no-allocatable-servers",
            description: "8.2.4 POST /vms answers 409 No compute resources available; no job; DAPI snapshot in the cnapi log",
            era: Era::Modern,
            story_len: 3 * MINUTE,
            variants: &[],
            tell: modern::no_allocatable_servers,
        },
        Scenario {
            name: "network-exhausted",
            description: "8.1.2 napi.provision_nics fails with NAPI SubnetFull `no more free IPs` (507)",
            era: Era::Modern,
            story_len: 3 * MINUTE,
            variants: &[],
            tell: modern::network_exhausted,
        },
        Scenario {
            name: "workflow-timeout",
            description: "8.1.2 job hits its 3810 s timeout during a slow image import (chain_results entry without name)",
            era: Era::Modern,
            story_len: HOUR + 12 * MINUTE,
            variants: &[],
            tell: modern::workflow_timeout,
        },
        Scenario {
            name: "task-timeout",
            description: "8.2.4 vmapi.put_vm fails with `task timeout error` while VMAPI cannot reach moray",
            era: Era::Modern,
            story_len: 6 * MINUTE,
            variants: &[],
            tell: modern::task_timeout,
        },
    ]
}

pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}
