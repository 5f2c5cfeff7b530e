//! vmadm's own logs: one bunyan file per vmadm action under `/var/log/vm/logs/`, and the SMF
//! logs of vmadmd, vminfod and the metadata agent (reference §3.4).

use super::{file_tasks, task_logs_in_window, yes, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, LogFormat, Task};

pub const SOURCES: &[SourceDecl] = &[
    SourceDecl {
        name: "vmadm.log",
        part: Part::ComputeNode,
        what: "vmadm action logs (/var/log/vm/logs/<ms>-<pid>-<action>.log) started in the window",
        plan: plan_vmadm_logs,
    },
    SourceDecl {
        name: "vmadmd.log",
        part: Part::ComputeNode,
        what: "SMF logs of vmadmd, vminfod and the metadata agent",
        plan: plan_daemons,
    },
];

const DAEMON_LOGS: &[&str] = &[
    "/var/svc/log/system-smartdc-vmadmd:default.log",
    "/var/svc/log/system-smartdc-vminfod:default.log",
    "/var/svc/log/system-smartdc-metadata:default.log",
];

fn plan_vmadm_logs(ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "every VM create/start/stop leaves a vmadm log",
        file_tasks(
            ctx,
            decl.name,
            Cost::Medium,
            "/",
            "/var/log/vm/logs",
            &task_logs_in_window(ctx),
        ),
    )
}

fn plan_daemons(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "platform daemons on every compute node",
        DAEMON_LOGS
            .iter()
            .map(|p| Task::file(decl.name, Cost::Medium, *p, "/").time_sliced(LogFormat::Bunyan))
            .collect(),
    )
}
