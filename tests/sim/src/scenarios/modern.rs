//! 8.x stories: vmadm failing outright, allocation refused before any job exists, a full
//! subnet, a job hitting the workflow timeout, and a task hitting its own timeout.

use serde_json::json;

use super::common;
use crate::baseline::Timing;
use crate::clock::{MINUTE, SECOND};
use crate::dapi;
use crate::formats::bunyan;
use crate::formats::restify::{self, Request};
use crate::provision::{self, Outcome, Spec};
use crate::workflow::Version;
use crate::world::{ExpectedProvision, Svc, World};

fn spec(
    vm: &str,
    version: Version,
    start: i64,
    outcome: Outcome,
    boot: i64,
    diagnosis: &str,
) -> Spec {
    Spec {
        vm_uuid: vm.to_string(),
        version,
        start,
        outcome,
        image_import: None,
        boot_time: boot,
        diagnosis: Some(diagnosis.into()),
        slow: Vec::new(),
    }
}

pub fn vmadm_create_failed(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_2_4);
    let mut rng = world.rng.fork("vmadm-failed");
    let vm = common::target_vm(world, "joyent", 0, 1, timing.anchor);
    let last = format!("zfs clone -F -o quota=80g zones/{}@final zones/{vm}: cannot create 'zones/{vm}': out of space", world.vm(&vm).image_uuid);
    let server = world.vm(&vm).server.clone().unwrap_or_default();
    let host = world.host(&server).clone();
    let at = world.local(&server, timing.anchor + 30 * SECOND);
    let vmadm = crate::formats::bunyan::Logger::new("vmadm", &host.hostname, rng.pid())
        .child("action", "create")
        .child("vm", vm.clone());
    let failed = vmadm.error(at, &[], &format!("zoneadm failed to install: {last}"));
    let message = crate::cn_side::vmadm_exit_message(&[failed], &last);
    let story = provision::run(
        world,
        spec(
            &vm,
            Version::V8_2_4,
            timing.anchor,
            Outcome::CreateFailed {
                message,
                after: rng.range(4, 12) * SECOND,
            },
            20 * SECOND,
            "vmadm-create-failed",
        ),
    );
    let _ = story;
    // vmadm rolled the zone back: nothing is left on the CN, not even in the pool history.
    let server = world.vm(&vm).server.clone().unwrap_or_default();
    world
        .host_mut(&server)
        .zpool
        .retain(|(_, c)| !c.contains(&vm));
    let v = world.vm_mut(&vm);
    v.on_host = false;
    v.zone_state = "failed".into();
    v.failed_provision = false;
    v.provisioning_marker = false;
    Ok(())
}

/// 8.2+: DAPI finds no server with enough RAM; `POST /vms` answers 409 and no job is created.
pub fn no_allocatable_servers(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_2_4);
    let mut rng = world.rng.fork("no-alloc");
    let vm_uuid = common::target_vm(world, "joyent", 0, 3, timing.anchor);
    let vm = world.vm(&vm_uuid).clone();
    // VMAPI never stored it: allocation comes before the VM is written to moray.
    world.vms.retain(|v| v.uuid != vm_uuid);
    let req_id = rng.uuid();
    let reason = format!(
        "no {}",
        dapi::RAM_STEP
            .to_lowercase()
            .trim_start_matches("servers")
            .trim_start()
    )
    .replace("no with", "no servers with");
    let message = format!("No compute resources available: {reason}");
    let t = timing.anchor;
    let vmapi = world.svc_logger(Svc::Vmapi);
    let vlog = vmapi.child("req_id", req_id.clone());
    world.svc_log(Svc::Vmapi, t + 30, vlog.info(t + 30, &[("dapiPayload", json!({"vm": {"vm_uuid": vm.uuid, "ram": vm.ram_mb, "owner_uuid": vm.owner, "brand": vm.brand}, "image": {"uuid": vm.image_uuid}, "package": {"uuid": vm.billing_id}, "nic_tags": ["external"]}))], "Payload sent to DAPI"));
    let snap = dapi::snapshot(world, &mut rng, &vm, None);
    let done = t + rng.range(800, 2000);
    let clog = world.svc_logger(Svc::Cnapi).child("req_id", req_id.clone());
    world.svc_log_ev(
        Svc::Cnapi,
        done - 40,
        clog.info(done - 40, &[("snapshot", json!(snap))], dapi::SNAPSHOT_MSG),
        &vm_uuid,
        dapi::SNAPSHOT_MSG,
    );
    let vmapi_ip = world.zone("vmapi").nics[0].ip.clone();
    let cloudapi_ip = world.zone("cloudapi").nics[0].ip.clone();
    let body = json!({"code": "NoAllocatableServersError", "message": message});
    let err = bunyan::err_field(
        "NoAllocatableServersError",
        &message,
        &["Allocator.allocate (/opt/smartdc/cnapi/lib/endpoints/allocations.js:150:24)"],
    );
    let audit = restify::audit(
        &world.svc_logger(Svc::Cnapi),
        done,
        &Request {
            req_id: &req_id,
            method: "POST",
            url: "/allocate",
            remote: &vmapi_ip,
            remote_port: 39_100,
            user_agent: "restify/2.8.5",
            status: 409,
            latency_ms: done - t - 40,
            body: Some(body.clone()),
            err: Some(err.clone()),
        },
    );
    world.svc_log(Svc::Cnapi, done, audit);
    let vdone = done + rng.range(30, 120);
    let audit = restify::audit(
        &vmapi,
        vdone,
        &Request {
            req_id: &req_id,
            method: "POST",
            url: "/vms",
            remote: &cloudapi_ip,
            remote_port: 52_100,
            user_agent: "restify/1.4.1 node/0.10.48",
            status: 409,
            latency_ms: vdone - t,
            body: Some(body.clone()),
            err: Some(err),
        },
    );
    world.svc_log_ev(
        Svc::Vmapi,
        vdone,
        audit,
        &vm_uuid,
        "No compute resources available",
    );
    let cl = world.svc_logger(Svc::Cloudapi);
    let cdone = vdone + 25;
    world.svc_log(
        Svc::Cloudapi,
        cdone,
        restify::audit(
            &cl,
            cdone,
            &Request {
                req_id: &req_id,
                method: "POST",
                url: "/my/machines",
                remote: "198.51.100.23",
                remote_port: 60_100,
                user_agent: "triton/7.15.4 (x64-darwin; node/18.17.1)",
                status: 409,
                latency_ms: cdone - t + 30,
                body: Some(body),
                err: None,
            },
        ),
    );
    world.expected.push(ExpectedProvision {
        vm_uuid: vm_uuid.clone(),
        job_uuid: None,
        server_uuid: None,
        brand: vm.brand.clone(),
        workflow: None,
        failed_task: None,
        diagnosis: "no-allocatable-servers".into(),
        evidence: Vec::new(),
    });
    Ok(())
}

/// 8.1.2: the job allocates a server, then NAPI has no free IP on the requested network.
pub fn network_exhausted(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_1_2);
    let mut rng = world.rng.fork("net-full");
    let vm = common::target_vm(world, "joyent", 0, 1, timing.anchor);
    let net = world.networks[1].clone();
    let mut error = restify::client_error(507, "SubnetFull", "no more free IPs");
    error["body"]["network_uuid"] = json!(net.uuid);
    let story = provision::run(
        world,
        spec(
            &vm,
            Version::V8_1_2,
            timing.anchor,
            Outcome::TaskError {
                task: "napi.provision_nics",
                error: error.clone(),
                after: rng.range(300, 900),
            },
            20 * SECOND,
            "network-exhausted",
        ),
    );
    let (begin, _) = story
        .tasks
        .get("napi.provision_nics")
        .copied()
        .unwrap_or((story.created_at, story.created_at));
    let napi = world
        .svc_logger(Svc::Napi)
        .child("req_id", story.req_id.clone());
    let err = bunyan::err_field(
        "SubnetFullError",
        "no more free IPs",
        &["Object.subnetFull (/opt/smartdc/napi/lib/util/errors.js:312:12)"],
    );
    world.svc_log_ev(
        Svc::Napi,
        begin + 100,
        napi.error(
            begin + 100,
            &[("network_uuid", json!(net.uuid)), ("err", err)],
            "no more free IPs",
        ),
        &vm,
        "no more free IPs",
    );
    if let Some(n) = world.networks.iter_mut().find(|n| n.uuid == net.uuid) {
        n.next_host = n.provision_end + 1;
    }
    let v = world.vm_mut(&vm);
    v.nics.clear();
    v.zone_state = "failed".into();
    Ok(())
}

/// 8.1.2: tickets queue the job, then an image import outlives the job's 3810 s timeout.
pub fn workflow_timeout(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_1_2);
    let mut rng = world.rng.fork("wf-timeout");
    let vm = common::target_vm(world, "joyent", 3, 1, timing.anchor);
    let image = world.vm(&vm).image_uuid.clone();
    let cn = world.cns[0].server_uuid.clone();
    world.host_mut(&cn).installed_images.retain(|i| i != &image);
    let mut s = spec(
        &vm,
        Version::V8_1_2,
        timing.anchor,
        Outcome::WorkflowTimeout {
            task: "cnapi.wait_task_ensure_image",
        },
        20 * SECOND,
        "workflow-timeout",
    );
    s.image_import = Some(66 * MINUTE + rng.range(0, 120_000));
    s.slow = vec![
        ("dapi.wait_allocation_ticket", rng.range(95, 118) * SECOND),
        ("cnapi.wait_on_vm_ticket", rng.range(100, 118) * SECOND),
    ];
    provision::run(world, s);
    let v = world.vm_mut(&vm);
    v.zone_state = "failed".into();
    Ok(())
}

/// 8.2.4: the VM came up, but `vmapi.put_vm` hit its 120 s timeout (VMAPI's moray was stuck).
pub fn task_timeout(world: &mut World, timing: &Timing, _v: Option<&str>) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V8_2_4);
    let mut rng = world.rng.fork("task-timeout");
    let vm = common::target_vm(world, "joyent", 0, 1, timing.anchor);
    let story = provision::run(
        world,
        spec(
            &vm,
            Version::V8_2_4,
            timing.anchor,
            Outcome::TaskTimeout {
                task: "vmapi.put_vm",
            },
            provision::boot_time(&mut rng, "joyent"),
            "task-timeout",
        ),
    );
    let (begin, _) = story
        .tasks
        .get("vmapi.put_vm")
        .copied()
        .unwrap_or((story.finished, story.finished));
    let log = world
        .svc_logger(Svc::Vmapi)
        .child("req_id", story.req_id.clone());
    // node-moray's pool has no connection to hand out (`lib/pool.js`); VMAPI's PUT /vms/:uuid
    // logs `Error storing VM on moray` (`lib/endpoints/vms.js`).
    let err = bunyan::err_field(
        "NoBackendsError",
        "no connections available",
        &["MorayConnectionPool.alloc (/opt/smartdc/vmapi/node_modules/moray/lib/pool.js:227:16)"],
    );
    let mut t = begin + 4_100;
    for i in 0..5 {
        let line = log.error(
            t,
            &[
                ("vm_uuid", json!(vm)),
                ("err", err.clone()),
                ("uuid", json!(vm)),
            ],
            "Error storing VM on moray",
        );
        if i == 0 {
            world.svc_log_ev(Svc::Vmapi, t, line, &vm, "Error storing VM on moray");
        } else {
            world.svc_log(Svc::Vmapi, t, line);
        }
        t += 24_000 + rng.range(0, 500);
    }
    common::healthy_zone_files(world, &vm, story.booted);
    let v = world.vm_mut(&vm);
    v.state = "running".into();
    v.zone_state = "running".into();
    v.failed_provision = false;
    v.provisioning_marker = false;
    Ok(())
}
