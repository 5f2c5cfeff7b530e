//! Hardware VMs: qemu's log inside the zone (`/zones/<vm>/root/tmp/vm.log*`), the `startvm`
//! script, and the hourly copies in the global zone's `/var/log/sdc/upload/qemu_<vm>@<server>_*`
//! (reference fact 10, §3.4).

use super::{file_tasks, yes, zone_root, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, Task};
use crate::rotated::RotatedName;

pub const SOURCES: &[SourceDecl] = &[SourceDecl {
    name: "vm.log",
    part: Part::ComputeNode,
    what: "KVM VMs: /zones/<vm>/root/tmp/vm.log* (qemu output), startvm, rotated qemu logs",
    plan: plan_kvm,
}];

fn plan_kvm(ctx: &Context, decl: &SourceDecl) -> Applies {
    let vms: Vec<_> = ctx.vms.iter().filter(|v| v.may_be_kvm()).collect();
    if vms.is_empty() {
        return Applies::No("no KVM VM in scope on this host".to_string());
    }
    let mut tasks = Vec::new();
    for vm in &vms {
        let Some(root) = zone_root(ctx, decl.name, &vm.uuid, &mut tasks) else {
            tasks.extend(qemu_rotated(ctx, decl.name, &vm.uuid));
            continue;
        };
        tasks.extend(file_tasks(
            ctx,
            decl.name,
            Cost::Cheap,
            &root,
            &format!("{root}/tmp"),
            &|name: &str| name.starts_with("vm.log") || name == "vm.startvm.log",
        ));
        tasks.push(Task::file(
            decl.name,
            Cost::Cheap,
            format!("{root}/startvm"),
            &root,
        ));
        tasks.extend(qemu_rotated(ctx, decl.name, &vm.uuid));
    }
    let names: Vec<String> = vms
        .iter()
        .map(|v| match &v.brand {
            Some(b) => format!("{} ({b})", v.uuid),
            None => format!("{} (brand unknown)", v.uuid),
        })
        .collect();
    yes(format!("VM(s) {}", names.join(", ")), tasks)
}

/// The global zone's hourly copies of qemu's log: `/var/log/sdc/upload/qemu_<vm>@<server>_<stamp>.log`.
fn qemu_rotated(ctx: &Context, source: &str, vm: &str) -> Vec<Task> {
    file_tasks(
        ctx,
        source,
        Cost::Expensive,
        "/",
        "/var/log/sdc/upload",
        &|name: &str| {
            RotatedName::parse(name).is_some_and(|r| {
                r.name == "qemu" && r.nodename.starts_with(vm) && r.overlaps(&ctx.window)
            })
        },
    )
}
