//! What a provision leaves on the compute node: the agent's task child log, the agent's own SMF
//! log lines about the child, the CNAPI task record, and vmadm's log of the create.
//!
//! Wording and record shapes follow the agents' sources: sdc-cn-agent
//! `lib/task_agent/task_worker.js` (the task log's bunyan `name` is the task module path
//! without `.js`, every record carries `req_id`), `task_runner.js` (`Child logging to ...`,
//! `Executing task module: ...`), `task.js` (events `start`, `error` `{error}`, `finish`),
//! `backends/smartos/tasks/*.js` and `backends/smartos/imgadm.js`; node-vmadm
//! `lib/index.sunos.js` (`setting req_id to "..."`, `error executing vmadm`); smartos-live
//! `VM.js` (`waitForProvisioning`, `markVMFailure`) and `vmadm.js` (log name `vmadm`, file
//! `/var/log/vm/logs/<ms>-<pid6>-vmadm.log`); sdc-cnapi `lib/models/server.js` (task record).

use serde_json::{json, Value};

use crate::baseline::{CN_AGENT_LOG, PROVISIONER_LOG};
use crate::clock::{self, Ms};
use crate::formats::bunyan::{self, Logger};
use crate::logs::Rotation;
use crate::provision::{Outcome, Spec};
use crate::rng::SimRng;
use crate::world::{ev, Svc, World};

/// Where cn-agent's task modules live on a CN (`bin/cn-agent.js` joins `../lib/backends/smartos/tasks`
/// to the agent's install directory).
pub const CN_AGENT_TASKS: &str =
    "/opt/smartdc/agents/lib/node_modules/cn-agent/lib/backends/smartos/tasks";
/// The same for the old provisioner agent (`lib/tasks/`).
pub const PROVISIONER_TASKS: &str = "/opt/smartdc/agents/lib/node_modules/provisioner/lib/tasks";

/// The agent that runs tasks on a CN of this era: (log dir, merged file, rotated name, SMF log,
/// agent name, tasks directory).
struct Agent {
    dir: &'static str,
    merged: &'static str,
    rotated: &'static str,
    smf_log: &'static str,
    name: &'static str,
    tasks: &'static str,
}

fn agent(legacy: bool) -> Agent {
    if legacy {
        Agent {
            dir: "/var/log/provisioner",
            merged: "provisioner.log",
            rotated: "provisioner_tasks",
            smf_log: PROVISIONER_LOG,
            name: "provisioner",
            tasks: PROVISIONER_TASKS,
        }
    } else {
        Agent {
            dir: "/var/log/cn-agent",
            merged: "cn-agent-tasks.log",
            rotated: "cn-agent-tasks",
            smf_log: CN_AGENT_LOG,
            name: "cn-agent",
            tasks: CN_AGENT_TASKS,
        }
    }
}

/// The bunyan `name` of a task child's log: the module path the worker was forked with.
pub fn task_module(legacy: bool, task: &str) -> String {
    format!("{}/{task}", agent(legacy).tasks)
}

/// Declares a task child's own log file and returns its path and logger.
pub fn task_log(
    world: &mut World,
    server: &str,
    legacy: bool,
    task: &str,
    started_local: Ms,
    pid: u32,
    req_id: &str,
) -> (String, Logger) {
    let a = agent(legacy);
    let hostname = world.host(server).hostname.clone();
    let path = format!("{}/logs/{started_local}-{pid}-{task}.log", a.dir);
    world.declare(
        server,
        &path,
        Rotation::TaskMerge {
            dir: a.dir.into(),
            merged: a.merged.into(),
            name: a.rotated.into(),
            nodename: hostname.clone(),
        },
    );
    let logger = Logger::new(&task_module(legacy, task), &hostname, pid).child("req_id", req_id);
    (path, logger)
}

/// The records every task child writes before its task's own work, and the parent's lines about
/// it in the agent's SMF log.
#[allow(clippy::too_many_arguments)]
pub fn task_start_records(
    world: &mut World,
    server: &str,
    legacy: bool,
    path: &str,
    tl: &Logger,
    task_id: &str,
    at: Ms,
    req_id: &str,
    params: Value,
) {
    let a = agent(legacy);
    let host = world.host(server).clone();
    let parent = Logger::new(a.name, &host.hostname, host.pid(a.name));
    let task = task_of(path).to_string();
    let module = task_module(legacy, &task);
    world.host_log(
        server,
        a.smf_log,
        at - 30,
        parent.child("req_id", req_id).info(
            at - 30,
            &[("task", json!({"task": task, "params": params}))],
            &format!("{task} task params"),
        ),
    );
    world.host_log(
        server,
        a.smf_log,
        at - 25,
        parent.info(
            at - 25,
            &[("logging", json!(true)), ("req_id", json!(req_id))],
            &format!("Child logging to {path}"),
        ),
    );
    world.host_log(
        server,
        a.smf_log,
        at - 24,
        parent.info(
            at - 24,
            &[("pid", json!(tl.pid)), ("req_id", json!(req_id))],
            &format!("Executing task module: {module}"),
        ),
    );
    let lines = [
        (
            at,
            tl.debug(
                at,
                &[],
                "Child ready to start, sending ready event to parent",
            ),
        ),
        (
            at + 4,
            tl.debug(at + 4, &[], "Child received hydracp message from parent:"),
        ),
        (
            at + 6,
            tl.info(
                at + 6,
                &[("task_id", json!(task_id)), ("client_id", Value::Null)],
                &format!("Instantiating {module}"),
            ),
        ),
        (
            at + 9,
            tl.info(
                at + 9,
                &[("event", json!({"req_id": req_id}))],
                "Received event (start) from task instance",
            ),
        ),
    ];
    for (t, line) in lines {
        world.host_log(server, path, t, line);
    }
}

/// The parent's line when the child exits.
pub fn task_end_record(
    world: &mut World,
    server: &str,
    legacy: bool,
    pid: u32,
    at: Ms,
    req_id: &str,
) {
    let a = agent(legacy);
    let host = world.host(server).clone();
    let parent = Logger::new(a.name, &host.hostname, host.pid(a.name));
    world.host_log(
        server,
        a.smf_log,
        at,
        parent.info(
            at,
            &[("pid", json!(pid)), ("req_id", json!(req_id))],
            "Child terminated cleanly.",
        ),
    );
}

fn task_of(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    let file = file.strip_suffix(".log").unwrap_or(file);
    // `<ms>-<pid>-<task>`: the task name may itself contain `-`? It does not (snake_case).
    file.splitn(3, '-').nth(2).unwrap_or(file)
}

/// A prefix of `text` that survives JSON string escaping unchanged, so it can be evidence for a
/// bunyan line carrying `text`.
pub fn json_safe_prefix(text: &str, max: usize) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take_while(|c| *c != '"' && *c != '\\' && !c.is_control())
        .take(max)
        .collect()
}

/// One CN agent task: the CNAPI task object, the agent's lines about the child, and the task's
/// own log file. Returns the task log path.
#[allow(clippy::too_many_arguments)]
pub fn cn_task(
    world: &mut World,
    rng: &mut SimRng,
    spec: &Spec,
    req_id: &str,
    task_id: &str,
    task: &str,
    begin: Ms,
    end: Ms,
    failure: Option<String>,
    image_uuid: &str,
    import: bool,
) -> String {
    let vm = world.vm(&spec.vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let legacy = spec.version.is_legacy();
    let pid = rng.pid();
    let lb = world.local(&server, begin);
    let le = world.local(&server, end);
    if !legacy {
        cnapi_post_records(world, &server, task_id, task, req_id, begin - 60);
    }
    let (path, tl) = task_log(world, &server, legacy, task, lb, pid, req_id);
    let params =
        json!({"uuid": vm.uuid, "image_uuid": image_uuid, "brand": vm.brand, "req_id": req_id});
    task_start_records(
        world, &server, legacy, &path, &tl, task_id, lb, req_id, params,
    );
    let dataset = format!("zones/{image_uuid}");
    let checking =
        format!("Checking whether zone template dataset {dataset} exists on the system.");
    world.host_log(&server, &path, lb + 40, tl.info(lb + 40, &[], &checking));
    match task {
        "image_ensure_present" => {
            if import {
                world.host_log(
                    &server,
                    &path,
                    lb + 300,
                    tl.info(lb + 300, &[], "Image didn't appear to be installed"),
                );
                let argv = [
                    "/usr/sbin/imgadm",
                    "import",
                    "-q",
                    "-P",
                    "zones",
                    image_uuid,
                ];
                world.host_log(
                    &server,
                    &path,
                    lb + 350,
                    tl.info(lb + 350, &[], &format!("Calling: {}", argv.join(" "))),
                );
                let ok = failure.is_none();
                let fields = [
                    ("argv", json!(argv)),
                    ("exitCode", json!(if ok { 0 } else { 1 })),
                    ("signal", Value::Null),
                    ("stdout", json!("")),
                    ("stderr", json!(failure.clone().unwrap_or_default())),
                ];
                let msg = format!(
                    "{} importing image {image_uuid} to zpool zones",
                    if ok { "Success" } else { "Error" }
                );
                let line = if ok {
                    tl.info(le - 40, &fields, &msg)
                } else {
                    tl.warn(le - 40, &fields, &msg)
                };
                world.host_log(&server, &path, le - 40, line);
            } else {
                world.host_log(
                    &server,
                    &path,
                    lb + 300,
                    tl.info(
                        lb + 300,
                        &[],
                        &format!("Image already installed ({dataset})"),
                    ),
                );
            }
        }
        _ => {
            world.host_log(
                &server,
                &path,
                lb + 200,
                tl.info(lb + 200, &[], &format!("Dataset {dataset} exists.")),
            );
            world.host_log(
                &server,
                &path,
                lb + 260,
                tl.info(lb + 260, &[], "No firewall rules to add in params"),
            );
            world.host_log(
                &server,
                &path,
                lb + 300,
                tl.info(lb + 300, &[], &format!("setting req_id to \"{req_id}\"")),
            );
        }
    }
    let history = match &failure {
        None => {
            let event = if task == "machine_create" {
                let v = world.vm(&spec.vm_uuid).clone();
                let mut obj = crate::objects::vmadm_get(world, &v);
                obj["state"] = json!("running");
                obj["zone_state"] = json!("running");
                json!({"vm": obj, "req_id": req_id})
            } else {
                json!({"req_id": req_id})
            };
            world.host_log(
                &server,
                &path,
                le - 20,
                tl.info(
                    le - 20,
                    &[("event", event.clone())],
                    "Received event (finish) from task instance",
                ),
            );
            task_end_record(world, &server, legacy, pid, le + 15, req_id);
            json!([{"name": "finish", "timestamp": clock::iso_ms(end), "event": event}])
        }
        Some(message) => {
            if task == "machine_create" && !legacy {
                // node-vmadm logs the failed child before cn-agent reports the task error.
                let stderr: Vec<&str> = message.split('\n').skip(1).collect();
                world.host_log(
                    &server,
                    &path,
                    le - 60,
                    tl.error(
                        le - 60,
                        &[
                            ("code", json!(1)),
                            ("signal", Value::Null),
                            ("cmdline", json!(["/usr/sbin/vmadm", "create"])),
                            ("stdout", json!("")),
                            ("stderrLines", json!(stderr)),
                        ],
                        "error executing vmadm",
                    ),
                );
            }
            let contains = json_safe_prefix(message, 48);
            world.host_log_ev(
                &server,
                &path,
                le - 20,
                tl.info(
                    le - 20,
                    &[("event", json!({"error": message, "req_id": req_id}))],
                    "Received event (error) from task instance",
                ),
                vec![ev(&vm.uuid, &contains, 0)],
            );
            world.host_log(
                &server,
                &path,
                le - 18,
                tl.info(
                    le - 18,
                    &[("event", json!({"req_id": req_id}))],
                    "Received event (finish) from task instance",
                ),
            );
            task_end_record(world, &server, legacy, pid, le + 15, req_id);
            if !legacy {
                let cnapi = world.svc_logger(Svc::Cnapi).child("req_id", req_id);
                let err = bunyan::err_field(
                    "VError",
                    &format!(
                        "posting task to cn-agent: {}",
                        message.lines().next().unwrap_or_default()
                    ),
                    &["/opt/smartdc/cnapi/lib/models/server.js:1690:29"],
                );
                world.svc_log(
                    Svc::Cnapi,
                    end + 5,
                    cnapi.error(end + 5, &[("err", err)], "posting task to cn-agent"),
                );
            }
            // Modern CNAPI records what cn-agent's HTTP answer carried (`{error: {message}}`);
            // the AMQP-era CNAPI stored the task's own error event (`{error: "<text>"}`).
            let error = if legacy {
                json!(message)
            } else {
                json!({"message": message})
            };
            json!([
                {"name": "error", "timestamp": clock::iso_ms(end - 10), "event": {"error": error}},
                {"name": "finish", "timestamp": clock::iso_ms(end), "event": {}}
            ])
        }
    };
    let status = if failure.is_some() {
        "failure"
    } else {
        "complete"
    };
    world.tasks.insert(
        task_id.to_string(),
        json!({
            "id": task_id,
            "req_id": req_id,
            "task": task,
            "server_uuid": server,
            "status": status,
            "timestamp": clock::iso_ms(begin - 60),
            "history": history,
        }),
    );
    path
}

/// What CNAPI logs when it hands a task to cn-agent over HTTP (sdc-cnapi
/// `lib/models/server.js` `sendTaskRequest`); `at` is the headnode clock.
fn cnapi_post_records(
    world: &mut World,
    server: &str,
    task_id: &str,
    task: &str,
    req_id: &str,
    at: Ms,
) {
    let admin_ip = world.host(server).admin_ip.clone();
    let cnapi = world.svc_logger(Svc::Cnapi).child("req_id", req_id);
    let records = [
        (at, cnapi.info(at, &[], &format!("Task id = {task_id}"))),
        (
            at + 2,
            cnapi.info(
                at + 2,
                &[
                    ("serverAdminIp", json!(admin_ip)),
                    ("serverAdminPort", json!(5309)),
                    ("serverUuid", json!(server)),
                    ("task", json!(task)),
                ],
                "found server location before task request",
            ),
        ),
        (
            at + 9,
            cnapi.info(
                at + 9,
                &[],
                &format!("posting task to http://{admin_ip}:5309/tasks (req_id={req_id})"),
            ),
        ),
    ];
    for (t, line) in records {
        world.svc_log(Svc::Cnapi, t, line);
    }
}

/// The bunyan logger VM.js uses for vmadm's create (`name: vmadm`, `req_id` from cn-agent's
/// `REQ_ID`, child fields `action` and `vm`).
pub fn vmadm_logger(world: &World, server: &str, pid: u32, req_id: &str, vm: &str) -> Logger {
    let host = world.host(server);
    Logger::new("vmadm", &host.hostname, pid)
        .child("req_id", req_id)
        .child("action", "create")
        .child("vm", vm)
}

/// `vmadm exited with code: 1: <last stderr line>\n...<stderr>`, as node-vmadm builds it from
/// vmadm's stderr (bunyan records at debug level, then the error message vmadm printed).
pub fn vmadm_exit_message(stderr_records: &[String], last: &str) -> String {
    let mut stderr: Vec<&str> = stderr_records.iter().map(String::as_str).collect();
    stderr.push(last);
    format!(
        "vmadm exited with code: 1: {last}\n...{}",
        stderr.join("\n")
    )
}

/// vmadm's own log of the create (`/var/log/vm/logs/<ms>-<pid6>-vmadm.log`, bunyan).
pub fn vmadm_log(
    world: &mut World,
    rng: &mut SimRng,
    spec: &Spec,
    req_id: &str,
    begin: Ms,
    booted: Ms,
    end: Ms,
) -> String {
    let vm = world.vm(&spec.vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let pid = rng.pid();
    let lb = world.local(&server, begin);
    let path = format!("/var/log/vm/logs/{lb}-{pid:06}-vmadm.log");
    world.declare(&server, &path, Rotation::None);
    let log = vmadm_logger(world, &server, pid, req_id, &vm.uuid);
    let payload = json!({"uuid": vm.uuid, "brand": vm.brand, "image_uuid": vm.image_uuid, "alias": vm.alias, "owner_uuid": vm.owner, "billing_id": vm.billing_id, "max_physical_memory": vm.ram_mb, "quota": vm.quota_gb, "archive_on_delete": true});
    let pretty = serde_json::to_string_pretty(&payload).unwrap_or_default();
    let lboot = world.local(&server, booted);
    let timeout_s = if vm.brand == "kvm" { 900 } else { 300 };
    let mut lines = vec![
        (
            lb + 5,
            log.info(
                lb + 5,
                &[],
                &format!("Creating VM, original payload:\n{pretty}"),
            ),
        ),
        (
            lb + 3200,
            log.info(lb + 3200, &[], "Writing config for zoneinit"),
        ),
        (
            lboot + 40,
            log.debug(
                lboot + 40,
                &[
                    ("transition_expire", json!(lboot + timeout_s * 1000)),
                    ("now", json!(lboot + 40)),
                ],
                &format!("waiting {timeout_s} sec(s) for provisioning"),
            ),
        ),
        (
            lboot + 42,
            log.debug(
                lboot + 42,
                &[],
                &format!("setting provision timeout for {}", vm.uuid),
            ),
        ),
    ];
    if vm.brand == "kvm" {
        lines.remove(1);
    }
    let le = world.local(&server, end);
    match &spec.outcome {
        Outcome::CreateFailed { message, .. } if !message.contains("timed out waiting for") => {
            // vmadm failed while setting the zone up: it never booted, and VM.js rolled back.
            let last = message
                .split('\n')
                .next_back()
                .unwrap_or_default()
                .to_string();
            lines.truncate(1);
            let err = bunyan::err_field(
                "Error",
                &last,
                &["ChildProcess.exithandler (child_process.js:204:12)"],
            );
            lines.push((
                le - 320,
                log.error(
                    le - 320,
                    &[
                        ("err", err.clone()),
                        ("stdout", json!("")),
                        ("stderr", json!(last)),
                    ],
                    &format!("zoneadm failed to install: {last}"),
                ),
            ));
            lines.push((
                le - 300,
                log.error(le - 300, &[("err", err)], "installZone error"),
            ));
        }
        Outcome::CreateFailed { .. } => {
            let timeout_msg = format!(
                "timed out waiting for /var/svc/provisioning to move for {}",
                vm.uuid
            );
            lines.push((
                le - 900,
                log.warn(
                    le - 900,
                    &[],
                    &format!(
                        "Marking VM {} as a \"failure\" because we hit waitForProvisioning() timeout.",
                        vm.uuid
                    ),
                ),
            ));
            lines.push((
                le - 700,
                log.warn(
                    le - 700,
                    &[("err", Value::Null)],
                    "zone setup failed, zone is being stopped for manual investigation.",
                ),
            ));
            lines.push((le - 600, log.error(le - 600, &[], &timeout_msg)));
            lines.push((
                le - 590,
                log.error(
                    le - 590,
                    &[(
                        "err",
                        bunyan::err_field(
                            "Error",
                            &timeout_msg,
                            &["Timeout._onTimeout (/usr/vm/node_modules/VM.js:7999:18)"],
                        ),
                    )],
                    &format!("error waiting for provisioning: {timeout_msg}"),
                ),
            ));
        }
        _ => {
            lines.push((
                le - 1600,
                log.debug(
                    le - 1600,
                    &[("err", Value::Null)],
                    "waited for provisioning",
                ),
            ));
            lines.push((
                le - 1500,
                log.info(
                    le - 1500,
                    &[],
                    "provisioning complete: /var/svc/provisioning is gone",
                ),
            ));
        }
    }
    let root = world.host(&server).root.clone();
    for (t, line) in lines {
        world.logs.push(&root, &path, t, line);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_name_comes_from_the_log_file_name() {
        assert_eq!(
            task_of("/var/log/cn-agent/logs/1700000000000-4242-machine_create.log"),
            "machine_create"
        );
    }

    #[test]
    fn json_safe_prefix_stops_before_escaped_characters() {
        assert_eq!(json_safe_prefix("abc\"def", 10), "abc");
        assert_eq!(json_safe_prefix("first\nsecond", 10), "first");
        assert_eq!(json_safe_prefix("abcdef", 3), "abc");
    }
}
