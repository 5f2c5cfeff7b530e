//! Compute-node agents: cn-agent (SMF log and per-task logs), the provisioner and heartbeater
//! of older platforms, vm-agent and net-agent (reference §3.4).

use super::task_scan::task_logs_naming_vms;
use super::{
    any_exists, file_tasks, rotated_in_window, task_logs_in_window, yes, Applies, Part, SourceDecl,
};
use crate::context::Context;
use crate::plan::{Cost, LogFormat, Task};

pub const SOURCES: &[SourceDecl] = &[
    SourceDecl {
        name: "cn-agent.log",
        part: Part::ComputeNode,
        what: "cn-agent SMF log and its rotated files overlapping the window",
        plan: plan_cn_agent_log,
    },
    SourceDecl {
        name: "cn-agent.tasks",
        part: Part::ComputeNode,
        what: "cn-agent per-task logs started in the window, the merged task log and its rotated files",
        plan: plan_cn_agent_tasks,
    },
    SourceDecl {
        name: "provisioner.log",
        part: Part::ComputeNode,
        what: "provisioner agent (platforms before 2016): SMF log, task logs, rotated logs",
        plan: plan_provisioner,
    },
    SourceDecl {
        name: "heartbeater.log",
        part: Part::ComputeNode,
        what: "heartbeater agent (platforms before 2016): SMF log",
        plan: plan_heartbeater,
    },
    SourceDecl {
        name: "vm-agent.log",
        part: Part::ComputeNode,
        what: "vm-agent SMF log and its rotated files overlapping the window",
        plan: plan_vm_agent,
    },
    SourceDecl {
        name: "net-agent.log",
        part: Part::ComputeNode,
        what: "net-agent SMF log and its rotated files overlapping the window",
        plan: plan_net_agent,
    },
];

const CN_AGENT_TASK_LOGS: &str = "/var/log/cn-agent/logs";
const CN_AGENT_SMF: &str = "/var/svc/log/smartdc-agent-cn-agent:default.log";
const PROVISIONER_SMF: &str = "/var/svc/log/smartdc-agent-provisioner:default.log";
const HEARTBEATER_SMF: &str = "/var/svc/log/smartdc-agent-heartbeater:default.log";

fn plan_cn_agent_log(ctx: &Context, decl: &SourceDecl) -> Applies {
    agent_log(ctx, decl, CN_AGENT_SMF, "/var/log/cn-agent", &["cn-agent"])
}

fn plan_vm_agent(ctx: &Context, decl: &SourceDecl) -> Applies {
    agent_log(
        ctx,
        decl,
        "/var/svc/log/smartdc-agent-vm-agent:default.log",
        "/var/log/vm-agent",
        &["vm-agent"],
    )
}

fn plan_net_agent(ctx: &Context, decl: &SourceDecl) -> Applies {
    agent_log(
        ctx,
        decl,
        "/var/svc/log/smartdc-agent-net-agent:default.log",
        "/var/log/net-agent",
        &["net-agent"],
    )
}

/// The live SMF log plus the rotated files of `names` in `rotated_dir`.
fn agent_log(
    ctx: &Context,
    decl: &SourceDecl,
    smf: &str,
    rotated_dir: &str,
    names: &[&str],
) -> Applies {
    let mut tasks =
        vec![Task::file(decl.name, Cost::Medium, smf, "/").time_sliced(LogFormat::Bunyan)];
    tasks.extend(
        file_tasks(
            ctx,
            decl.name,
            Cost::Expensive,
            "/",
            rotated_dir,
            &rotated_in_window(ctx, names),
        )
        .into_iter()
        .map(|t| t.time_sliced(LogFormat::Bunyan)),
    );
    yes("agent on every compute node", tasks)
}

/// Per-task logs are whole units, chosen by their start time or because they name a VM in
/// scope; the merged task log and its rotated files are cut to the window.
fn plan_cn_agent_tasks(ctx: &Context, decl: &SourceDecl) -> Applies {
    let mut tasks = file_tasks(
        ctx,
        decl.name,
        Cost::Medium,
        "/",
        CN_AGENT_TASK_LOGS,
        &task_logs_in_window(ctx),
    );
    tasks.extend(task_logs_naming_vms(ctx, decl.name, CN_AGENT_TASK_LOGS));
    tasks.push(
        Task::file(
            decl.name,
            Cost::Medium,
            "/var/log/cn-agent/cn-agent-tasks.log",
            "/",
        )
        .time_sliced(LogFormat::Bunyan),
    );
    tasks.extend(
        file_tasks(
            ctx,
            decl.name,
            Cost::Expensive,
            "/",
            "/var/log/cn-agent",
            &rotated_in_window(ctx, &["cn-agent-tasks"]),
        )
        .into_iter()
        .map(|t| t.time_sliced(LogFormat::Bunyan)),
    );
    yes(
        "one log per cn-agent task (machine_create, image_ensure_present, ...)",
        tasks,
    )
}

fn plan_provisioner(ctx: &Context, decl: &SourceDecl) -> Applies {
    if !any_exists(ctx, &[PROVISIONER_SMF, "/var/log/provisioner"]) {
        return Applies::No(
            "no provisioner on this host (replaced by cn-agent in 2016)".to_string(),
        );
    }
    let mut tasks = vec![
        Task::file(decl.name, Cost::Medium, PROVISIONER_SMF, "/").time_sliced(LogFormat::Bunyan),
        Task::file(
            decl.name,
            Cost::Medium,
            "/var/log/provisioner/provisioner.log",
            "/",
        )
        .time_sliced(LogFormat::Bunyan),
    ];
    tasks.extend(file_tasks(
        ctx,
        decl.name,
        Cost::Medium,
        "/",
        "/var/log/provisioner/logs",
        &task_logs_in_window(ctx),
    ));
    tasks.extend(task_logs_naming_vms(
        ctx,
        decl.name,
        "/var/log/provisioner/logs",
    ));
    tasks.extend(
        file_tasks(
            ctx,
            decl.name,
            Cost::Expensive,
            "/",
            "/var/log/provisioner",
            &rotated_in_window(ctx, &["provisioner", "provisioner_tasks"]),
        )
        .into_iter()
        .map(|t| t.time_sliced(LogFormat::Bunyan)),
    );
    yes("provisioner installed (older platform)", tasks)
}

fn plan_heartbeater(ctx: &Context, decl: &SourceDecl) -> Applies {
    if !any_exists(ctx, &[HEARTBEATER_SMF]) {
        return Applies::No("no heartbeater on this host (replaced by vm-agent)".to_string());
    }
    yes(
        "heartbeater installed (older platform)",
        vec![Task::file(decl.name, Cost::Medium, HEARTBEATER_SMF, "/")
            .time_sliced(LogFormat::Heartbeater)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn file_names(tasks: &[Task]) -> Vec<String> {
        let mut names: Vec<String> = tasks
            .iter()
            .filter_map(|t| match &t.action {
                Action::File { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn task_logs_are_chosen_by_their_start_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("var/log/cn-agent/logs");
        std::fs::create_dir_all(&logs).expect("mkdir");
        // 2024-01-18T03:15:00Z = 1705547700000 ms; one task inside the window, two outside.
        for name in [
            "1705547700000-100-machine_create.log",
            "1705540000000-101-machine_create.log",
            "1705560000000-102-image_ensure_present.log",
            "not-a-task-log.log",
        ] {
            std::fs::write(logs.join(name), "{}").expect("write");
        }
        let rotated = dir.path().join("var/log/cn-agent");
        for stamp in [
            "2024-01-18T03:00:02",
            "2024-01-18T04:00:02",
            "2024-01-18T05:00:02",
        ] {
            std::fs::write(
                rotated.join(format!("cn-agent-tasks_cn1_{stamp}.log")),
                "{}",
            )
            .expect("write");
        }
        let ctx = Context::for_test(dir.path(), "2024-01-18T03:10:00Z", "2024-01-18T03:20:00Z");
        let Applies::Yes { tasks, .. } = plan_cn_agent_tasks(&ctx, &SOURCES[1]) else {
            panic!("cn-agent.tasks applies on a CN");
        };
        assert_eq!(
            file_names(&tasks),
            vec![
                "/var/log/cn-agent/cn-agent-tasks.log",
                "/var/log/cn-agent/cn-agent-tasks_cn1_2024-01-18T04:00:02.log",
                "/var/log/cn-agent/logs/1705547700000-100-machine_create.log",
            ]
        );
    }

    #[test]
    fn legacy_agents_apply_only_where_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::for_test(dir.path(), "2024-01-18T03:10:00Z", "2024-01-18T03:20:00Z");
        assert!(matches!(
            plan_heartbeater(&ctx, &SOURCES[3]),
            Applies::No(_)
        ));
        std::fs::create_dir_all(dir.path().join("var/svc/log")).expect("mkdir");
        std::fs::write(
            dir.path().join(HEARTBEATER_SMF.trim_start_matches('/')),
            "[x] .",
        )
        .expect("write");
        assert!(matches!(
            plan_heartbeater(&ctx, &SOURCES[3]),
            Applies::Yes { .. }
        ));
    }
}
