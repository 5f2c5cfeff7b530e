//! Tells the story of one provision through every component it touches: cloudapi and VMAPI's
//! `POST /vms`, the workflow job and wf-runner, CNAPI tasks, cn-agent (or provisioner) task logs,
//! vmadm's log, the agents that report the new VM, and the job object workflow stores.
//!
//! A scenario decides the outcome; this module produces the consistent trail every outcome
//! leaves, and returns the facts (`Story`) the scenario needs to add its own specific evidence.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::baseline::VM_AGENT_LOG;
use crate::clock::{self, Ms, MINUTE, SECOND};
use crate::formats::bunyan::{self, Logger};
use crate::formats::restify::{self, Request};
use crate::rng::SimRng;
use crate::workflow::{self, Facts, Version};
use crate::world::{ExpectedProvision, Svc, World};

/// How the provision ends.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded,
    /// The CN's machine_create task failed with this message after running this long; the
    /// wait/poll task reports it.
    CreateFailed {
        message: String,
        after: Ms,
    },
    /// The CN's image_ensure_present task failed.
    ImageFailed {
        message: String,
        after: Ms,
    },
    /// A task hit its own timeout (`task timeout error`).
    TaskTimeout {
        task: &'static str,
    },
    /// A task failed with this error value after this long.
    TaskError {
        task: &'static str,
        error: Value,
        after: Ms,
    },
    /// The whole job hit its timeout while this task ran.
    WorkflowTimeout {
        task: &'static str,
    },
}

impl Outcome {
    fn failing_task(&self, version: Version) -> Option<&'static str> {
        match self {
            Outcome::Succeeded => None,
            Outcome::CreateFailed { .. } => Some(version.wait_task()),
            Outcome::ImageFailed { .. } => Some(version.wait_image_task()),
            Outcome::TaskTimeout { task }
            | Outcome::TaskError { task, .. }
            | Outcome::WorkflowTimeout { task } => Some(task),
        }
    }
}

pub struct Spec {
    pub vm_uuid: String,
    pub version: Version,
    /// When the client sent the provision.
    pub start: Ms,
    pub outcome: Outcome,
    /// The image is not on the CN yet and importing it takes this long.
    pub image_import: Option<Ms>,
    /// How long the zone takes from boot to `provision_success` when all goes well.
    pub boot_time: Ms,
    /// `Some(diagnosis)` for a provision the scenario is about, `None` for background noise.
    pub diagnosis: Option<String>,
    /// Extra time some tasks take (waiting on tickets, a slow API).
    pub slow: Vec<(&'static str, Ms)>,
}

/// What happened, for the scenario to add its own details.
#[derive(Debug, Clone, Default)]
pub struct Story {
    pub vm_uuid: String,
    pub server_uuid: String,
    pub job_uuid: String,
    pub req_id: String,
    pub created_at: Ms,
    pub finished: Ms,
    pub failed_task: Option<String>,
    /// Task start/finish times (headnode clock).
    pub tasks: BTreeMap<String, (Ms, Ms)>,
    pub image_task_id: String,
    pub create_task_id: String,
    /// The CN task log of machine_create and when the task ran (headnode clock).
    pub create_task_log: Option<String>,
    pub create_started: Ms,
    pub create_finished: Ms,
    pub image_task_log: Option<String>,
    pub vmadm_log: Option<String>,
    /// When the zone was booted on the CN (headnode clock).
    pub booted: Ms,
}

const CLOUDAPI_UA: &str = "restify/1.4.1 (x64-sunos; v8/3.14.5.9; OpenSSL/1.0.1t) node/0.10.48";

pub fn run(world: &mut World, spec: Spec) -> Story {
    let mut rng = world.rng.fork(&format!("provision-{}", spec.vm_uuid));
    let version = spec.version;
    let legacy = version.is_legacy();
    let vm = world.vm(&spec.vm_uuid).clone();
    let server_uuid = vm.server.clone().unwrap_or_default();
    let req_id = if legacy { rng.uuid_v1() } else { rng.uuid() };
    let job_uuid = rng.uuid();
    let image = world.image(&vm.image_uuid).clone();
    let failing = spec.outcome.failing_task(version);
    let mut story = Story {
        vm_uuid: vm.uuid.clone(),
        server_uuid: server_uuid.clone(),
        job_uuid: job_uuid.clone(),
        req_id: req_id.clone(),
        failed_task: failing.map(str::to_string),
        image_task_id: rng.uuid(),
        create_task_id: rng.uuid(),
        ..Story::default()
    };

    // -- the client request and VMAPI's POST /vms --------------------------------------------
    let mut t = spec.start;
    let cloudapi = world.svc_logger(Svc::Cloudapi);
    let vmapi = world.svc_logger(Svc::Vmapi);
    let cnapi = world.svc_logger(Svc::Cnapi);
    let cloudapi_ip = world.zone("cloudapi").nics[0].ip.clone();
    let workflow_ip = world.zone("workflow").nics[0].ip.clone();
    let vmapi_ip = world.zone("vmapi").nics[0].ip.clone();
    let vmapi_logger = vmapi.child("req_id", req_id.clone());
    world.svc_log(
        Svc::Vmapi,
        t + 4,
        // sdc-vmapi `lib/endpoints/vms.js` (createVm's network pre-filtering).
        vmapi_logger.info(
            t + 4,
            &[(
                "filteredNetworks",
                json!({"netInfo": [], "networks": [world.networks[1].uuid], "fabrics": [], "pools": []}),
            )],
            "filteredNetworks complete",
        ),
    );
    t += rng.range(40, 300);
    if !legacy {
        t = allocate(world, &mut rng, &spec, &req_id, t);
    }
    let created_at = t + rng.range(20, 90);
    world.svc_log(
        Svc::WfApi,
        created_at + 15,
        restify::audit(
            &world.svc_logger(Svc::WfApi),
            created_at + 15,
            &Request {
                req_id: &req_id,
                method: "POST",
                url: "/jobs",
                remote: &vmapi_ip,
                remote_port: 41_000 + rng.range(0, 9000) as u16,
                user_agent: "restify/2.8.5 node/0.10.48",
                status: 201,
                latency_ms: 14,
                body: None,
                err: None,
            },
        ),
    );
    t = created_at + rng.range(25, 60);
    world.svc_log(
        Svc::Vmapi,
        t,
        restify::audit(
            &vmapi,
            t,
            &Request {
                req_id: &req_id,
                method: "POST",
                url: "/vms",
                remote: &cloudapi_ip,
                remote_port: 52_000 + rng.range(0, 9000) as u16,
                user_agent: CLOUDAPI_UA,
                status: 202,
                latency_ms: t - spec.start,
                body: None,
                err: None,
            },
        ),
    );
    world.svc_log(
        Svc::Cloudapi,
        t + 12,
        restify::audit(
            &cloudapi,
            t + 12,
            &Request {
                req_id: &req_id,
                method: "POST",
                url: &format!("/{}/machines", "my"),
                remote: "198.51.100.23",
                remote_port: 60_000,
                user_agent: "triton/7.15.4 (x64-darwin; node/18.17.1)",
                status: 201,
                latency_ms: t + 12 - spec.start + 30,
                body: None,
                err: None,
            },
        ),
    );
    story.created_at = created_at;

    // -- the workflow job --------------------------------------------------------------------
    let runner = world
        .svc_logger(Svc::WfRunner)
        .child("runner_uuid", world.zone("workflow").uuid.clone());
    let job_log = runner.child("job_uuid", job_uuid.clone());
    let started = created_at + rng.range(300, 2500);
    t = started + rng.range(5, 30);
    let mut chain_results = Vec::new();
    let mut vm_exists = false;
    let mut nics_provisioned = legacy || !matches!(version, Version::V8_2_4);
    let fw_update = if rng.chance(0.4) {
        Some(rng.uuid())
    } else {
        None
    };
    let import = spec.image_import;
    let mut image_done = t;
    let mut create_done = t;
    let mut failed_error: Option<Value> = None;
    let mut workflow_timed_out = false;

    for (task, timeout) in version.chain() {
        let begin = t;
        let extra: Ms = spec
            .slow
            .iter()
            .filter(|(name, _)| *name == task)
            .map(|(_, d)| *d)
            .sum();
        let mut end = begin + rng.range(60, 700) + extra;
        let facts = Facts {
            version,
            vm_uuid: &vm.uuid,
            server_uuid: &server_uuid,
            provision_task_id: &story.create_task_id,
            fwapi_update_uuid: fw_update.as_deref(),
            vm_exists,
            nics_provisioned,
        };
        let result = workflow::success_result(task, &facts);
        match task {
            "cnapi.wait_on_vm_ticket" => {
                let at = end - 20;
                let line = workflow::task_logger(world, &mut rng, task, &job_uuid).info(
                    at,
                    &[(
                        "ticket",
                        json!({"id": vm.uuid, "scope": "vm", "status": "active", "action": "provision"}),
                    )],
                    "ticket status after wait",
                );
                world.svc_log(Svc::WfRunner, at, line);
            }
            "cnapi.get_servers" | "cnapi.filter_servers" => end += rng.range(500, 4000),
            "dapi.get_allocation" => {
                end += rng.range(800, 3000);
                if !legacy {
                    cnapi_allocate_records(world, &mut rng, &spec, &req_id, begin, end);
                }
            }
            "napi.provision_nics" => {
                nics_provisioned = true;
                let napi = world.svc_logger(Svc::Napi);
                let status = if failing == Some(task) { 507 } else { 200 };
                let at = begin + 120;
                world.svc_log(
                    Svc::Napi,
                    at,
                    restify::audit(
                        &napi,
                        at,
                        &Request {
                            req_id: &req_id,
                            method: "POST",
                            url: "/nics",
                            remote: &workflow_ip,
                            remote_port: 40_100,
                            user_agent: "restify/2.8.5",
                            status,
                            latency_ms: 35,
                            body: None,
                            err: None,
                        },
                    ),
                );
            }
            "cnapi.ensure_image" => {
                let at = begin + 80;
                world.svc_log(
                    Svc::Cnapi,
                    at,
                    restify::audit(
                        &cnapi,
                        at,
                        &Request {
                            req_id: &req_id,
                            method: "POST",
                            url: &format!("/servers/{server_uuid}/ensure-image"),
                            remote: &workflow_ip,
                            remote_port: 40_200,
                            user_agent: "restify/2.8.5",
                            status: 202,
                            latency_ms: 44,
                            body: None,
                            err: None,
                        },
                    ),
                );
                let task_end = match (&spec.outcome, import) {
                    (Outcome::ImageFailed { after, .. }, _) => end + after,
                    (_, Some(d)) => end + d,
                    _ => end + rng.range(400, 1500),
                };
                image_done = task_end;
                let fail_msg = match &spec.outcome {
                    Outcome::ImageFailed { message, .. } => Some(message.clone()),
                    _ => None,
                };
                let id = story.image_task_id.clone();
                let path = crate::cn_side::cn_task(
                    world,
                    &mut rng,
                    &spec,
                    &req_id,
                    &id,
                    "image_ensure_present",
                    end + 40,
                    task_end,
                    fail_msg,
                    &image.uuid,
                    import.is_some(),
                );
                story.image_task_log = Some(path);
            }
            "cnapi.poll_task_ensure_image" | "cnapi.wait_task_ensure_image" => {
                end = end.max(image_done + rng.range(200, 1100));
                cnapi_wait_records(
                    world,
                    &spec,
                    &req_id,
                    &story.image_task_id,
                    begin,
                    end,
                    legacy,
                    &workflow_ip,
                );
            }
            "cnapi.provision_vm" => {
                vm_exists = true;
                let at = begin + 90;
                world.svc_log(
                    Svc::Cnapi,
                    at,
                    restify::audit(
                        &cnapi,
                        at,
                        &Request {
                            req_id: &req_id,
                            method: "POST",
                            url: &format!("/servers/{server_uuid}/vms"),
                            remote: &workflow_ip,
                            remote_port: 40_300,
                            user_agent: "restify/2.8.5",
                            status: 202,
                            latency_ms: 61,
                            body: None,
                            err: None,
                        },
                    ),
                );
                let begin_cn = end + 50;
                let task_end = match &spec.outcome {
                    Outcome::CreateFailed { after, .. } => begin_cn + after,
                    _ => begin_cn + spec.boot_time + rng.range(8_000, 16_000),
                };
                create_done = task_end;
                let fail_msg = match &spec.outcome {
                    Outcome::CreateFailed { message, .. } => Some(message.clone()),
                    _ => None,
                };
                let id = story.create_task_id.clone();
                let path = crate::cn_side::cn_task(
                    world,
                    &mut rng,
                    &spec,
                    &req_id,
                    &id,
                    "machine_create",
                    begin_cn,
                    task_end,
                    fail_msg,
                    &image.uuid,
                    false,
                );
                story.create_task_log = Some(path);
                story.create_started = begin_cn;
                story.create_finished = task_end;
                story.booted = begin_cn + rng.range(6_000, 11_000);
                story.vmadm_log = Some(crate::cn_side::vmadm_log(
                    world,
                    &mut rng,
                    &spec,
                    &req_id,
                    begin_cn,
                    story.booted,
                    task_end,
                ));
                zone_created(world, &mut rng, &spec, begin_cn, story.booted);
            }
            "cnapi.poll_task" | "cnapi.wait_task" => {
                end = end.max(create_done + rng.range(300, 1200));
                cnapi_wait_records(
                    world,
                    &spec,
                    &req_id,
                    &story.create_task_id,
                    begin,
                    end,
                    legacy,
                    &workflow_ip,
                );
            }
            "vmapi.check_state" | "vmapi.put_vm" => {
                end += rng.range(1000, 4000);
                let stuck = failing == Some(task);
                let at = if stuck { begin + 60_000 } else { end - 200 };
                let status = if stuck && !legacy { 500 } else { 200 };
                world.svc_log(
                    Svc::Vmapi,
                    at,
                    restify::audit(
                        &vmapi,
                        at,
                        &Request {
                            req_id: &req_id,
                            method: if legacy { "GET" } else { "PUT" },
                            url: &format!("/vms/{}", vm.uuid),
                            remote: &workflow_ip,
                            remote_port: 40_400,
                            user_agent: "restify/2.8.5",
                            status,
                            latency_ms: if status == 500 { 60_000 } else { 25 },
                            body: None,
                            err: None,
                        },
                    ),
                );
            }
            _ => {}
        }
        if failing == Some(task) {
            let (error, finished) = match &spec.outcome {
                Outcome::CreateFailed { message, .. } | Outcome::ImageFailed { message, .. } => {
                    let err = if legacy {
                        json!({"name": "Error", "message": message})
                    } else {
                        json!(message)
                    };
                    (err, end)
                }
                Outcome::TaskTimeout { .. } => (
                    json!("task timeout error"),
                    begin + i64::from(timeout) * SECOND + rng.range(5, 300),
                ),
                Outcome::TaskError { error, after, .. } => (error.clone(), begin + after),
                Outcome::WorkflowTimeout { .. } => {
                    workflow_timed_out = true;
                    (json!(""), begin + rng.range(2000, 6000))
                }
                Outcome::Succeeded => (json!(""), end),
            };
            end = finished;
            if workflow_timed_out {
                // The task was still running when the job's own timeout fired: it never
                // recorded a result; node-workflow appended the timeout entry instead.
                let limit = created_at + 3810 * SECOND;
                story.tasks.insert(task.to_string(), (begin, limit));
                chain_results.push(workflow::result_entry(
                    None,
                    "",
                    json!("workflow timeout"),
                    limit,
                    limit,
                ));
                t = limit + rng.range(10, 80);
                failed_error = Some(json!("workflow timeout"));
            } else {
                chain_results.push(workflow::result_entry(
                    Some(task),
                    "",
                    error.clone(),
                    begin,
                    end,
                ));
                story.tasks.insert(task.to_string(), (begin, end));
                t = end + rng.range(10, 80);
                failed_error = Some(error);
            }
            break;
        }
        chain_results.push(workflow::result_entry(
            Some(task),
            &result,
            json!(""),
            begin,
            end,
        ));
        story.tasks.insert(task.to_string(), (begin, end));
        t = end + rng.range(15, 60);
    }

    // -- onerror ------------------------------------------------------------------------------
    let mut onerror_results = Vec::new();
    if failed_error.is_some() {
        let facts = Facts {
            version,
            vm_uuid: &vm.uuid,
            server_uuid: &server_uuid,
            provision_task_id: &story.create_task_id,
            fwapi_update_uuid: None,
            vm_exists,
            nics_provisioned,
        };
        for (task, _) in version.onerror() {
            let begin = t;
            let end = begin + rng.range(40, 600);
            if task == "On error" {
                onerror_results.push(workflow::result_entry(
                    Some(task),
                    "",
                    json!("Error executing job"),
                    begin,
                    end,
                ));
            } else {
                onerror_results.push(workflow::result_entry(
                    Some(task),
                    &workflow::success_result(task, &facts),
                    json!(""),
                    begin,
                    end,
                ));
            }
            if task == "common.post_back" {
                world.svc_log(
                    Svc::Vmapi,
                    end - 30,
                    restify::audit(
                        &vmapi,
                        end - 30,
                        &Request {
                            req_id: &req_id,
                            method: "POST",
                            url: "/job_results",
                            remote: &workflow_ip,
                            remote_port: 40_500,
                            user_agent: "restify/2.8.5",
                            status: 200,
                            latency_ms: 21,
                            body: None,
                            err: None,
                        },
                    ),
                );
            }
            t = end + rng.range(10, 50);
        }
    }
    let finished = t;
    story.finished = finished;
    let execution = if failed_error.is_some() {
        "failed"
    } else {
        "succeeded"
    };
    let runtime = finished - started;
    let done = job_log.rec(
        if execution == "succeeded" {
            bunyan::INFO
        } else {
            bunyan::WARN
        },
        finished,
        &[
            (
                "job",
                json!({"uuid": job_uuid, "name": version.job_name(), "execution": execution}),
            ),
            ("runtime", json!(runtime)),
        ],
        "job completed",
    );
    world.svc_log(Svc::WfRunner, finished, done);
    // node-workflow `lib/runner.js` logs this once the queue worker is done, whatever the
    // job's outcome.
    world.svc_log(
        Svc::WfRunner,
        finished + 2,
        runner.info(
            finished + 2,
            &[],
            &format!("Job with uuid {job_uuid} ran successfully"),
        ),
    );

    // -- VM state after the job ----------------------------------------------------------------
    {
        let failed = failed_error.is_some();
        let v = world.vm_mut(&spec.vm_uuid);
        if failed {
            v.state = "failed".into();
            v.zone_state = if vm_exists {
                "installed".into()
            } else {
                "failed".into()
            };
            v.failed_provision = vm_exists;
            v.provisioning_marker = vm_exists;
            v.on_host = vm_exists;
        } else {
            v.state = "running".into();
            v.zone_state = "running".into();
        }
        v.created = created_at;
    }
    if failed_error.is_none() && !legacy {
        let req = rng.uuid();
        vm_agent_reports(
            world,
            &spec.vm_uuid,
            story.booted.max(create_done - 2000),
            &req,
        );
    }

    // -- the job object --------------------------------------------------------------------
    let job = job_object(
        world,
        &spec,
        &story,
        &req_id,
        chain_results,
        onerror_results,
        execution,
        started,
        finished,
    );
    world.jobs.push(job);
    if let Some(diagnosis) = &spec.diagnosis {
        let mut evidence = Vec::new();
        if failed_error.is_none() {
            evidence
                .push(json!({"api": format!("/jobs/{job_uuid}"), "contains": "Job succeeded!"}));
        }
        if let Some(err) = &failed_error {
            let text = match err {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            };
            let first = text.lines().next().unwrap_or_default();
            let snippet: String = if first.chars().count() <= 160 {
                first.to_string()
            } else {
                first.chars().take(160).collect()
            };
            if !snippet.is_empty() {
                evidence.push(json!({"api": format!("/jobs/{job_uuid}"), "contains": snippet}));
            }
            // The CNAPI task the wait/poll task read its message from.
            let cn_task_id = match &spec.outcome {
                Outcome::CreateFailed { .. } => Some(&story.create_task_id),
                Outcome::ImageFailed { .. } => Some(&story.image_task_id),
                _ => None,
            };
            if let Some(id) = cn_task_id {
                evidence.push(json!({"api": format!("/tasks/{id}"), "contains": "failure"}));
            }
        }
        world.expected.push(ExpectedProvision {
            vm_uuid: vm.uuid.clone(),
            job_uuid: Some(job_uuid.clone()),
            server_uuid: Some(server_uuid.clone()),
            brand: vm.brand.clone(),
            workflow: Some(version.job_name()),
            failed_task: failing.map(str::to_string),
            diagnosis: diagnosis.clone(),
            evidence,
        });
    } else {
        world.noise_vms.push(vm.uuid.clone());
        world.noise_jobs.push(job_uuid.clone());
    }
    story
}

/// VMAPI's modern allocation inside `POST /vms`: DAPI via CNAPI, tickets.
fn allocate(world: &mut World, rng: &mut SimRng, spec: &Spec, req_id: &str, t: Ms) -> Ms {
    let vmapi = world
        .svc_logger(Svc::Vmapi)
        .child("req_id", req_id.to_string());
    let vm = world.vm(&spec.vm_uuid).clone();
    world.svc_log(Svc::Vmapi, t, vmapi.info(t, &[("dapiPayload", json!({"vm": {"vm_uuid": vm.uuid, "ram": vm.ram_mb, "owner_uuid": vm.owner, "brand": vm.brand}, "image": {"uuid": vm.image_uuid}, "package": {"uuid": vm.billing_id}, "nic_tags": ["external"]}))], "Payload sent to DAPI"));
    let end = t + rng.range(600, 2500);
    cnapi_allocate_records(world, rng, spec, req_id, t + 20, end);
    let server = vm.server.clone().unwrap_or_default();
    world.svc_log(
        Svc::Vmapi,
        end + 5,
        vmapi.info(end + 5, &[], &format!("VM allocated to Server:  {server}")),
    );
    world.svc_log(
        Svc::Vmapi,
        end + 40,
        vmapi.info(
            end + 40,
            &[(
                "ticket",
                json!({"uuid": rng.uuid(), "scope": "vm-allocate", "id": "global"}),
            )],
            "got allocationTicket",
        ),
    );
    world.svc_log(
        Svc::Vmapi,
        end + 180,
        vmapi.info(
            end + 180,
            &[(
                "ticket",
                json!({"uuid": rng.uuid(), "scope": "vm", "id": vm.uuid, "server_uuid": server}),
            )],
            "got vmTicket",
        ),
    );
    end + 200
}

/// CNAPI's `POST /allocate` audit record and DAPI's reasoning snapshot for a successful choice.
fn cnapi_allocate_records(
    world: &mut World,
    rng: &mut SimRng,
    spec: &Spec,
    req_id: &str,
    begin: Ms,
    end: Ms,
) {
    let vm = world.vm(&spec.vm_uuid).clone();
    let chosen = vm.server.clone().unwrap_or_default();
    let snapshot = crate::dapi::snapshot(world, rng, &vm, Some(&chosen));
    let cnapi = world
        .svc_logger(Svc::Cnapi)
        .child("req_id", req_id.to_string());
    world.svc_log(
        Svc::Cnapi,
        end - 30,
        cnapi.info(
            end - 30,
            &[("snapshot", json!(snapshot))],
            crate::dapi::SNAPSHOT_MSG,
        ),
    );
    let vmapi_ip = world.zone("vmapi").nics[0].ip.clone();
    let audit = restify::audit(
        &world.svc_logger(Svc::Cnapi),
        end,
        &Request {
            req_id,
            method: "POST",
            url: "/allocate",
            remote: &vmapi_ip,
            remote_port: 39_000,
            user_agent: "restify/2.8.5",
            status: 200,
            latency_ms: end - begin,
            body: None,
            err: None,
        },
    );
    world.svc_log(Svc::Cnapi, end, audit);
}

#[allow(clippy::too_many_arguments)]
fn cnapi_wait_records(
    world: &mut World,
    spec: &Spec,
    req_id: &str,
    task_id: &str,
    begin: Ms,
    end: Ms,
    legacy: bool,
    workflow_ip: &str,
) {
    let cnapi = world.svc_logger(Svc::Cnapi);
    let _ = spec;
    if legacy {
        // pollTask asks every second; log the first and last few polls.
        let mut at = begin + 50;
        let mut n = 0;
        while at < end {
            if n < 3 || end - at < 3 * SECOND {
                world.svc_log(
                    Svc::Cnapi,
                    at,
                    restify::audit(
                        &cnapi,
                        at,
                        &Request {
                            req_id,
                            method: "GET",
                            url: &format!("/tasks/{task_id}"),
                            remote: workflow_ip,
                            remote_port: 40_600,
                            user_agent: "restify/2.6.0",
                            status: 200,
                            latency_ms: 3,
                            body: None,
                            err: None,
                        },
                    ),
                );
            }
            n += 1;
            at += SECOND;
        }
    } else {
        let at = end - 80;
        world.svc_log(
            Svc::Cnapi,
            at,
            restify::audit(
                &cnapi,
                at,
                &Request {
                    req_id,
                    method: "GET",
                    url: &format!("/tasks/{task_id}/wait?timeout=3600"),
                    remote: workflow_ip,
                    remote_port: 40_700,
                    user_agent: "restify/2.8.5",
                    status: 200,
                    latency_ms: at - begin,
                    body: None,
                    err: None,
                },
            ),
        );
    }
}

/// What creating the zone leaves outside the task logs: the pool history, and on 7.0-era CNs the
/// heartbeater noticing the new zone and VMAPI's heartbeater consumer seeing it.
fn zone_created(world: &mut World, rng: &mut SimRng, spec: &Spec, begin: Ms, booted: Ms) {
    let vm = world.vm(&spec.vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let at = world.local(&server, begin) + rng.range(900, 2000);
    let records: Vec<(Ms, String)> = if vm.brand == "kvm" {
        vec![
            (
                at,
                format!(
                    "zfs create -o canmount=noauto -o quota=10g zones/{}",
                    vm.uuid
                ),
            ),
            (
                at + 700,
                format!(
                    "zfs clone -F -o refreservation=10240M zones/{}@final zones/{}-disk0",
                    vm.image_uuid, vm.uuid
                ),
            ),
        ]
    } else {
        vec![(
            at,
            format!(
                "zfs clone -F -o quota={}g zones/{}@final zones/{}",
                vm.quota_gb, vm.image_uuid, vm.uuid
            ),
        )]
    };
    world.host_mut(&server).zpool.extend(records);
    if !spec.version.is_legacy() {
        return;
    }
    let running = world
        .vms
        .iter()
        .filter(|v| v.server.as_deref() == Some(server.as_str()) && v.state == "running")
        .count();
    let lb = world.local(&server, booted);
    let lines = [
        (lb - 4_000, format!(".Z({},{})cccc", running, 1)),
        (lb + 1_000, format!(".CCZ({},{})PMCM", running + 1, 0)),
        (lb + 6_000, format!(".Z({},{})cPMM", running + 1, 0)),
    ];
    for (t, events) in lines {
        world.host_log(
            &server,
            crate::baseline::HEARTBEATER_LOG,
            t,
            crate::formats::heartbeater::line(t, &events),
        );
    }
    if matches!(spec.outcome, Outcome::Succeeded) {
        let log = world
            .svc_logger(Svc::Vmapi)
            .child("component", "heartbeater");
        let t = booted + rng.range(3_000, 6_000);
        world.svc_log(
            Svc::Vmapi,
            t,
            log.info(
                t,
                &[("vm_uuid", json!(vm.uuid))],
                &format!("New VM {}, skipping updateState", vm.uuid),
            ),
        );
    }
}

/// vm-agent and VMAPI noticing the new VM running.
fn vm_agent_reports(world: &mut World, vm_uuid: &str, at: Ms, req: &str) {
    let vm = world.vm(vm_uuid).clone();
    let server = vm.server.clone().unwrap_or_default();
    let host = world.host(&server).clone();
    let la = world.local(&server, at);
    let log = Logger::new("vm-agent", &host.hostname, host.pid("vm-agent"));
    world.host_log(
        &server,
        VM_AGENT_LOG,
        la,
        log.info(
            la,
            &[],
            &format!(
                "VM (uuid={vm_uuid}, state=running, last_modified={}) updated",
                clock::iso_ms(at)
            ),
        ),
    );
    let vmapi = world.svc_logger(Svc::Vmapi);
    let at2 = at + 120;
    world.svc_log(
        Svc::Vmapi,
        at2,
        restify::audit(
            &vmapi,
            at2,
            &Request {
                req_id: req,
                method: "PUT",
                url: &format!("/vms/{vm_uuid}"),
                remote: &host.admin_ip,
                remote_port: 49_000,
                user_agent: "vm-agent/1.8.0",
                status: 200,
                latency_ms: 30,
                body: None,
                err: None,
            },
        ),
    );
}

#[allow(clippy::too_many_arguments)]
fn job_object(
    world: &World,
    spec: &Spec,
    story: &Story,
    req_id: &str,
    chain_results: Vec<Value>,
    onerror_results: Vec<Value>,
    execution: &str,
    started: Ms,
    finished: Ms,
) -> Value {
    let version = spec.version;
    let vm = world.vm(&spec.vm_uuid);
    let image = world.image(&vm.image_uuid);
    let zone_ip = |role: &str| world.zone(role).nics[0].ip.clone();
    let mut params = json!({
        "owner_uuid": vm.owner,
        "image_uuid": vm.image_uuid,
        "brand": vm.brand,
        "billing_id": vm.billing_id,
        "ram": vm.ram_mb,
        "max_physical_memory": vm.ram_mb,
        "quota": vm.quota_gb,
        "cpu_cap": vm.vcpus * 100,
        "alias": vm.alias,
        "networks": [{"uuid": world.networks[1].uuid, "primary": true}],
        "vm_uuid": vm.uuid,
        "uuid": vm.uuid,
        "server_uuid": story.server_uuid,
        "task": "provision",
        "target": format!("/provision-{}", vm.uuid),
        "x-request-id": req_id,
        "cnapi_url": format!("http://{}", zone_ip("cnapi")),
        "vmapi_url": format!("http://{}", zone_ip("vmapi")),
        "napi_url": format!("http://{}", zone_ip("napi")),
        "imgapi_url": format!("http://{}", zone_ip("imgapi")),
        "fwapi_url": format!("http://{}", zone_ip("fwapi")),
        "image": {"uuid": image.uuid, "name": image.name, "version": image.version, "os": image.os, "type": image.kind},
        "archive_on_delete": true,
        "nics": vm.nics.iter().map(|n| json!({"mac": n.mac, "ip": n.ip, "network_uuid": n.network_uuid, "nic_tag": n.nic_tag, "primary": n.primary, "vlan_id": n.vlan_id, "netmask": n.netmask, "gateway": n.gateway})).collect::<Vec<_>>(),
    });
    if version.is_legacy() {
        params["dapi_url"] = json!(format!("http://{}", zone_ip("cnapi")));
        params["ufds_url"] = json!(format!("ldaps://{}", zone_ip("ufds")));
        params["expects"] = json!("running");
    } else {
        params["sapi_url"] = json!(format!("http://{}", zone_ip("sapi")));
        params["current_state"] = json!("provisioning");
        params["vmTicket"] = json!({"uuid": story.job_uuid.chars().rev().collect::<String>(), "scope": "vm", "id": vm.uuid, "action": "provision"});
        params["filteredNetworks"] = json!({"netInfo": [], "networks": [world.networks[1].uuid], "fabrics": [], "pools": []});
        params["fabricNatNics"] = json!([]);
    }
    if vm.brand == "kvm" {
        params["disks"] =
            json!([{"image_uuid": vm.image_uuid, "boot": true}, {"size": vm.quota_gb * 1024}]);
    }
    let mut job = json!({
        "name": version.job_name(),
        "uuid": story.job_uuid,
        "version": version.as_str(),
        "workflow_uuid": format!("{}", crate::rng::SimRng::new(world.seed, version.as_str()).uuid()),
        "chain": workflow::task_objects(&version.chain()),
        "onerror": workflow::task_objects(&version.onerror()),
        "timeout": 3810,
        "max_attempts": 1,
        "params": params,
        "target": format!("/provision-{}", vm.uuid),
        "exec_after": clock::iso_ms(story.created_at),
        "num_attempts": 0,
        "execution": execution,
        "chain_results": chain_results,
        "onerror_results": onerror_results,
        "oncancel_results": [],
        "created_at": clock::iso_ms(story.created_at),
        "started": started,
        "elapsed": ((finished - story.created_at) as f64) / 1000.0,
        "runner_id": world.zone("workflow").uuid,
        "taskId": story.create_task_id,
        "markAsFailedOnError": !story.tasks.contains_key("cnapi.provision_vm"),
    });
    let oncancel = version.oncancel();
    if !oncancel.is_empty() {
        job["oncancel"] = workflow::task_objects(&oncancel);
    }
    job
}

/// How long a healthy boot takes per brand (KVM boots are slower).
pub fn boot_time(rng: &mut SimRng, brand: &str) -> Ms {
    if brand == "kvm" {
        rng.range(35, 70) * SECOND
    } else {
        rng.range(15, 40) * SECOND
    }
}

pub const PROVISION_TIMEOUT: Ms = 5 * MINUTE;
