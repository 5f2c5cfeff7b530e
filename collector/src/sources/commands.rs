//! Command output: host identity, VM and image state, ZFS state, broken services.

use super::{yes, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, OutputFilter, Task};

pub const SOURCES: &[SourceDecl] = &[
    SourceDecl {
        name: "sysinfo",
        part: Part::AnyHost,
        what: "sysinfo (identifies the host; run first)",
        plan: discovered,
    },
    SourceDecl {
        name: "vmadm.lookup",
        part: Part::Headnode,
        what: "vmadm lookup -j tags.smartdc_role=<role> state=running (finds the core zones)",
        plan: discovered,
    },
    SourceDecl {
        name: "vmadm.get",
        part: Part::ComputeNode,
        what: "vmadm get <vm> for each VM in scope",
        plan: discovered,
    },
    SourceDecl {
        name: "imgadm.get",
        part: Part::ComputeNode,
        what: "imgadm get <image> for each image in scope and its origins",
        plan: discovered,
    },
    SourceDecl {
        name: "vmadm.list",
        part: Part::ComputeNode,
        what: "vmadm list (VMs and their memory)",
        plan: plan_vmadm_list,
    },
    SourceDecl {
        name: "zpool.status",
        part: Part::ComputeNode,
        what: "zpool status",
        plan: plan_zpool_status,
    },
    SourceDecl {
        name: "svcs.zone",
        part: Part::ComputeNode,
        what: "svcs -z <vm> -xv (services not running inside each OS zone in scope)",
        plan: plan_svcs_zone,
    },
    SourceDecl {
        name: "svcs.global",
        part: Part::AnyHost,
        what: "svcs -xv (services not running in the global zone)",
        plan: plan_svcs_global,
    },
    SourceDecl {
        name: "imgadm.list",
        part: Part::ComputeNode,
        what: "imgadm list -j (installed images)",
        plan: plan_imgadm_list,
    },
    SourceDecl {
        name: "zfs.list",
        part: Part::ComputeNode,
        what: "zfs list -t all (datasets, snapshots, -partial leftovers; capped)",
        plan: plan_zfs_list,
    },
    SourceDecl {
        name: "zpool.history",
        part: Part::ComputeNode,
        what: "zpool history, lines naming the VMs/images or -partial, or inside the window",
        plan: plan_zpool_history,
    },
];

/// Sources run while resolving the scope (their output decides what else to collect).
fn discovered(_ctx: &Context, _decl: &SourceDecl) -> Applies {
    yes("run while resolving the scope", Vec::new())
}

fn plan_vmadm_list(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "memory use of every VM on the host",
        vec![Task::command(
            decl.name,
            Cost::Cheap,
            "vmadm-list",
            &["vmadm", "list"],
        )],
    )
}

fn plan_zpool_status(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "pool health",
        vec![Task::command(
            decl.name,
            Cost::Cheap,
            "zpool-status",
            &["zpool", "status"],
        )],
    )
}

fn plan_svcs_global(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "agents in maintenance",
        vec![Task::command(
            decl.name,
            Cost::Cheap,
            "svcs-xv",
            &["svcs", "-xv"],
        )],
    )
}

fn plan_svcs_zone(ctx: &Context, decl: &SourceDecl) -> Applies {
    let zones: Vec<_> = ctx.vms.iter().filter(|v| v.may_be_os_zone()).collect();
    if zones.is_empty() {
        return Applies::No("no OS zone in scope on this host".to_string());
    }
    let tasks = zones
        .iter()
        .map(|vm| {
            Task::command(
                decl.name,
                Cost::Cheap,
                format!("svcs-xv-{}", vm.uuid),
                &["svcs", "-z", &vm.uuid, "-xv"],
            )
            .with_absent_when(&["invalid zone", "unknown zone", "No such zone"])
        })
        .collect();
    yes(format!("{} zone(s) in scope", zones.len()), tasks)
}

fn plan_imgadm_list(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "installed images",
        vec![Task::command(
            decl.name,
            Cost::Medium,
            "imgadm-list",
            &["imgadm", "list", "-j"],
        )],
    )
}

fn plan_zfs_list(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "datasets of the VMs and images",
        vec![Task::command(
            decl.name,
            Cost::Expensive,
            "zfs-list",
            &["zfs", "list", "-t", "all"],
        )],
    )
}

fn plan_zpool_history(ctx: &Context, decl: &SourceDecl) -> Applies {
    let task = Task::command(
        decl.name,
        Cost::Expensive,
        "zpool-history",
        &["zpool", "history"],
    )
    .with_filter(OutputFilter::ZpoolHistory {
        needles: ctx.needles(),
        window: ctx.window.clone(),
    });
    yes("image imports and dataset operations", vec![task])
}
