//! Start, stop and reboot jobs on other instances: the everyday workflow traffic a support
//! engineer has to look past when reading `/vms/<uuid>/jobs` and the wf-runner log.
//!
//! Chains, timeouts and result strings from TritonDataCenter/sdc-vmapi `lib/workflows/start.js`,
//! `stop.js`, `reboot.js` and `job-common.js` (HEAD: start-7.0.8, stop-7.0.8, reboot-7.0.6;
//! at 3bddb8f, 2013-12: start-7.0.1, stop-7.0.1), `lib/apis/wfapi.js` (`task`, `target`).

use serde_json::json;

use crate::clock::{self, Ms, SECOND};
use crate::cn_side;
use crate::formats::bunyan;
use crate::rng::SimRng;
use crate::workflow::{self, Version};
use crate::world::{Svc, World};

/// A VM action as a workflow job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Reboot,
}

impl Action {
    fn task(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Reboot => "reboot",
        }
    }

    /// `(job name, chain, whole-job timeout)` for the era.
    pub fn workflow(self, legacy: bool) -> (&'static str, Vec<(&'static str, u32)>, u32) {
        match (self, legacy) {
            (Action::Start, false) => (
                "start-7.0.8",
                vec![
                    ("common.validate_params", 10),
                    ("cnapi.acquire_vm_ticket", 10),
                    ("cnapi.wait_on_vm_ticket", 120),
                    ("common.ensure_vm_state", 10),
                    ("setup_start_request", 10),
                    ("cnapi.start_vm", 10),
                    ("cnapi.wait_task", 120),
                    ("vmapi.put_vm", 60),
                    ("cnapi.release_vm_ticket", 60),
                ],
                410,
            ),
            (Action::Stop, false) => (
                "stop-7.0.8",
                vec![
                    ("common.validate_params", 10),
                    ("common.setup_request", 10),
                    ("cnapi.acquire_vm_ticket", 10),
                    ("cnapi.wait_on_vm_ticket", 120),
                    ("common.ensure_vm_state", 10),
                    ("cnapi.stop_vm", 10),
                    ("cnapi.wait_task", 300),
                    ("vmapi.put_vm", 60),
                    ("cnapi.release_vm_ticket", 60),
                ],
                530,
            ),
            (Action::Reboot, _) => (
                "reboot-7.0.6",
                vec![
                    ("common.validate_params", 10),
                    ("common.setup_request", 10),
                    ("cnapi.acquire_vm_ticket", 10),
                    ("cnapi.wait_on_vm_ticket", 120),
                    ("common.ensure_vm_state", 10),
                    ("cnapi.reboot_vm", 10),
                    ("cnapi.wait_task", 300),
                    ("vmapi.put_vm", 60),
                    ("cnapi.release_vm_ticket", 60),
                ],
                590,
            ),
            (Action::Start, true) => (
                "start-7.0.1",
                vec![
                    ("common.validate_params", 10),
                    ("common.setup_request", 10),
                    ("common.ensure_vm_state", 10),
                    ("cnapi.start_vm", 10),
                    ("cnapi.poll_task", 120),
                    ("vmapi.check_state", 60),
                ],
                210,
            ),
            (Action::Stop, true) => (
                "stop-7.0.1",
                vec![
                    ("common.validate_params", 10),
                    ("common.setup_request", 10),
                    ("common.ensure_vm_state", 10),
                    ("cnapi.stop_vm", 10),
                    ("cnapi.poll_task", 300),
                    ("vmapi.check_state", 60),
                ],
                390,
            ),
        }
    }

    /// The VM state `common.ensure_vm_state` requires before the action.
    fn required_state(self) -> &'static str {
        match self {
            Action::Start => "stopped",
            Action::Stop | Action::Reboot => "running",
        }
    }

    fn expects(self) -> &'static str {
        match self {
            Action::Stop => "stopped",
            Action::Start | Action::Reboot => "running",
        }
    }

    /// The cn-agent task CNAPI runs for the action.
    fn cn_task(self) -> &'static str {
        match self {
            Action::Start => "machine_boot",
            Action::Stop => "machine_shutdown",
            Action::Reboot => "machine_reboot",
        }
    }
}

/// The onerror chain of an action job.
fn onerror(legacy: bool) -> Vec<(&'static str, u32)> {
    if legacy {
        vec![("On error", 10)]
    } else {
        vec![("cnapi.release_vm_ticket_ignore_err", 60)]
    }
}

fn result(action: Action, task: &str, vm: &str, task_id: &str, legacy: bool) -> String {
    match task {
        "common.validate_params" => "All parameters OK!".into(),
        "common.setup_request" => "Request has been setup!".into(),
        "setup_start_request" => "Start request has been setup!".into(),
        "common.ensure_vm_state" => format!("VM is {}", action.required_state()),
        "cnapi.start_vm" | "cnapi.stop_vm" | "cnapi.reboot_vm" if legacy => {
            "Task queued to CNAPI!".into()
        }
        "cnapi.start_vm" | "cnapi.stop_vm" | "cnapi.reboot_vm" => {
            format!("Task id: {task_id} queued to CNAPI!")
        }
        "cnapi.wait_task" | "cnapi.poll_task" => "Job succeeded!".into(),
        "vmapi.check_state" => format!("VM is now {}", action.expects()),
        "vmapi.put_vm" => format!("put VM {vm} to VMAPI"),
        _ => "OK".into(),
    }
}

/// Runs `action` on `vm_uuid` at `start` (headnode clock): the job, its wf-runner lines, the
/// CNAPI task and the CN agent's task log. Returns the job uuid.
pub fn run(
    world: &mut World,
    rng: &mut SimRng,
    vm_uuid: &str,
    action: Action,
    version: Version,
    start: Ms,
) -> String {
    let legacy = version.is_legacy();
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let job_uuid = rng.uuid();
    let req_id = if legacy { rng.uuid_v1() } else { rng.uuid() };
    let task_id = rng.uuid();
    let (name, chain, timeout) = action.workflow(legacy);
    let runner = world
        .svc_logger(Svc::WfRunner)
        .child("runner_uuid", world.zone("workflow").uuid.clone());
    let job_log = runner.child("job_uuid", job_uuid.clone());
    let created = start;
    let started = created + rng.range(300, 1500);
    let mut t = started + rng.range(5, 30);
    let mut chain_results = Vec::new();
    let mut agent_done: Option<Ms> = None;
    for (task, _) in &chain {
        let begin = t;
        let mut end = begin + rng.range(40, 600);
        if *task == "cnapi.wait_on_vm_ticket" {
            let line = workflow::task_logger(world, rng, task, &job_uuid).info(
                end - 20,
                &[(
                    "ticket",
                    json!({"id": vm_uuid, "scope": "vm", "status": "active", "action": action.task()}),
                )],
                "ticket status after wait",
            );
            world.svc_log(Svc::WfRunner, end - 20, line);
        }
        if matches!(
            *task,
            "cnapi.start_vm" | "cnapi.stop_vm" | "cnapi.reboot_vm"
        ) {
            let task_end = end + rng.range(2, 9) * SECOND;
            let ids = (task_id.as_str(), req_id.as_str());
            agent_task(
                world, rng, &server, vm_uuid, legacy, action, ids, end, task_end,
            );
            agent_done = Some(task_end);
            end += 40;
        }
        if matches!(*task, "cnapi.wait_task" | "cnapi.poll_task") {
            if let Some(done) = agent_done {
                end = end.max(done + rng.range(100, 900));
            }
        }
        chain_results.push(workflow::result_entry(
            Some(task),
            &result(action, task, vm_uuid, &task_id, legacy),
            json!(""),
            begin,
            end,
        ));
        t = end + rng.range(15, 60);
    }
    let finished = t;
    world.svc_log(
        Svc::WfRunner,
        finished,
        job_log.rec(
            bunyan::INFO,
            finished,
            &[
                (
                    "job",
                    json!({"uuid": job_uuid, "name": name, "execution": "succeeded"}),
                ),
                ("runtime", json!(finished - started)),
            ],
            "job completed",
        ),
    );
    world.svc_log(
        Svc::WfRunner,
        finished + 2,
        runner.info(
            finished + 2,
            &[],
            &format!("Job with uuid {job_uuid} ran successfully"),
        ),
    );
    let version_str = name.split_once('-').map(|(_, v)| v).unwrap_or_default();
    let mut params = json!({
        "vm_uuid": vm_uuid,
        "owner_uuid": vm.owner,
        "server_uuid": server,
        "task": action.task(),
        "target": format!("/{}-{vm_uuid}", action.task()),
        "x-request-id": req_id,
        "cnapi_url": format!("http://{}", world.zone("cnapi").nics[0].ip),
        "vmapi_url": format!("http://{}", world.zone("vmapi").nics[0].ip),
    });
    if legacy {
        params["expects"] = json!(action.expects());
    }
    let mut job = json!({
        "name": name,
        "uuid": job_uuid,
        "version": version_str,
        "chain": workflow::task_objects(&chain),
        "onerror": workflow::task_objects(&onerror(legacy)),
        "timeout": timeout,
        "max_attempts": 1,
        "params": params,
        "target": format!("/{}-{vm_uuid}", action.task()),
        "exec_after": clock::iso_ms(created),
        "num_attempts": 0,
        "execution": "succeeded",
        "chain_results": chain_results,
        "onerror_results": [],
        "oncancel_results": [],
        "created_at": clock::iso_ms(created),
        "started": started,
        "elapsed": ((finished - created) as f64) / 1000.0,
        "runner_id": world.zone("workflow").uuid,
        "taskId": task_id,
    });
    if !legacy {
        job["oncancel"] = workflow::task_objects(&onerror(false));
    }
    world.jobs.push(job);
    world.noise_jobs.push(job_uuid.clone());
    job_uuid
}

/// The CN side of an action: cn-agent's child task log and the CNAPI task record.
#[allow(clippy::too_many_arguments)]
fn agent_task(
    world: &mut World,
    rng: &mut SimRng,
    server: &str,
    vm_uuid: &str,
    legacy: bool,
    action: Action,
    (task_id, req_id): (&str, &str),
    begin: Ms,
    end: Ms,
) {
    let task = action.cn_task();
    let pid = rng.pid();
    let lb = world.local(server, begin);
    let le = world.local(server, end);
    let (path, tl) = cn_side::task_log(world, server, legacy, task, lb, pid, req_id);
    let params = json!({"uuid": vm_uuid, "req_id": req_id});
    cn_side::task_start_records(
        world, server, legacy, &path, &tl, task_id, lb, req_id, params,
    );
    world.host_log(
        server,
        &path,
        le - 20,
        tl.info(
            le - 20,
            &[("event", json!({"req_id": req_id}))],
            "Received event (finish) from task instance",
        ),
    );
    cn_side::task_end_record(world, server, legacy, pid, le + 15, req_id);
    world.tasks.insert(
        task_id.to_string(),
        json!({
            "id": task_id,
            "req_id": req_id,
            "task": task,
            "server_uuid": server,
            "status": "complete",
            "timestamp": clock::iso_ms(begin - 60),
            "history": [{"name": "finish", "timestamp": clock::iso_ms(end), "event": {"req_id": req_id}}],
        }),
    );
}
