//! OS zones: the zone's SMF logs (zoneinit, mdata-fetch, mdata-execute, any service in
//! maintenance), `/var/adm/messages`, and whether provisioning finished (`/var/svc/provisioning`
//! still there, `/var/svc/provision_success` written) (reference fact 9, §3.4).

use super::{file_tasks, yes, zone_root, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, Task};

pub const SOURCES: &[SourceDecl] = &[
    SourceDecl {
        name: "zone.svclog",
        part: Part::ComputeNode,
        what: "OS zones: /zones/<vm>/root/var/svc/log/* and /var/adm/messages",
        plan: plan_svc_logs,
    },
    SourceDecl {
        name: "zone.provisioning",
        part: Part::ComputeNode,
        what: "OS zones: whether /var/svc/provisioning and /var/svc/provision_success exist",
        plan: plan_markers,
    },
];

fn os_zones(ctx: &Context) -> Vec<&crate::context::VmFacts> {
    ctx.vms.iter().filter(|v| v.may_be_os_zone()).collect()
}

fn plan_svc_logs(ctx: &Context, decl: &SourceDecl) -> Applies {
    let vms = os_zones(ctx);
    if vms.is_empty() {
        return Applies::No("no OS zone in scope on this host".to_string());
    }
    let mut tasks = Vec::new();
    for vm in &vms {
        let Some(root) = zone_root(ctx, decl.name, &vm.uuid, &mut tasks) else {
            continue;
        };
        tasks.extend(file_tasks(
            ctx,
            decl.name,
            Cost::Cheap,
            &root,
            &format!("{root}/var/svc/log"),
            &|_| true,
        ));
        tasks.push(Task::file(
            decl.name,
            Cost::Cheap,
            format!("{root}/var/adm/messages"),
            &root,
        ));
        if vm.brand.as_deref() == Some("lx") {
            tasks.push(Task::file(
                decl.name,
                Cost::Cheap,
                format!("{root}/var/log/triton.log"),
                &root,
            ));
        }
    }
    yes(format!("{} zone(s) in scope", vms.len()), tasks)
}

fn plan_markers(ctx: &Context, decl: &SourceDecl) -> Applies {
    let vms = os_zones(ctx);
    if vms.is_empty() {
        return Applies::No("no OS zone in scope on this host".to_string());
    }
    let mut tasks = Vec::new();
    for vm in &vms {
        let Some(root) = zone_root(ctx, decl.name, &vm.uuid, &mut tasks) else {
            continue;
        };
        for marker in ["/var/svc/provisioning", "/var/svc/provision_success"] {
            tasks.push(Task::file(
                decl.name,
                Cost::Cheap,
                format!("{root}{marker}"),
                &root,
            ));
        }
    }
    yes(
        "recorded as collected (exists) or \"not found\" (absent)",
        tasks,
    )
}
