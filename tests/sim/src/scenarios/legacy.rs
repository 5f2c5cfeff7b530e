//! 7.0-era stories (provisioner and heartbeater on the CNs, everything in the job): a VM
//! destroyed while the job waited for it, CNAPI restarting under VMAPI's heartbeater, and the
//! image import failures of OS-2203 / CNAPI-340.

use serde_json::json;

use super::common;
use crate::baseline::Timing;
use crate::clock::{self, Ms, MINUTE, SECOND};
use crate::formats::bunyan;
use crate::formats::smf;
use crate::provision::{self, Outcome, Spec, Story};
use crate::workflow::{self, Version};
use crate::world::{Svc, World};

#[allow(clippy::too_many_arguments)]
fn legacy_provision(
    world: &mut World,
    timing: &Timing,
    version: Version,
    brand: &str,
    image: usize,
    outcome: Outcome,
    import: Option<Ms>,
    diagnosis: &str,
) -> (String, Story) {
    let mut rng = world.rng.fork("legacy-target");
    let vm = common::target_vm(world, brand, image, 1, timing.anchor);
    let story = provision::run(
        world,
        Spec {
            vm_uuid: vm.clone(),
            version,
            start: timing.anchor,
            outcome,
            image_import: import,
            boot_time: provision::boot_time(&mut rng, brand),
            diagnosis: Some(diagnosis.into()),
            slow: Vec::new(),
        },
    );
    (vm, story)
}

/// The `destroy-7.0.1` job an operator ran while the provision was still waiting.
fn destroy_job(world: &mut World, vm: &str, created: Ms) -> String {
    let mut rng = world.rng.fork("destroy-job");
    let uuid = rng.uuid();
    // destroy-7.0.1 (sdc-vmapi `lib/workflows/destroy.js` at 3bddb8f, 2013-12).
    let chain: Vec<(&str, u32)> = vec![
        ("common.validate_params", 10),
        ("common.setup_request", 10),
        ("cnapi.destroy_vm", 10),
        ("cnapi.poll_task", 120),
        ("vmapi.check_state", 60),
        ("ufds.delete_customer_vm", 10),
        ("fwapi.update", 10),
    ];
    let results = [
        "All parameters OK!",
        "Request has been setup!",
        "Task queued to CNAPI!",
        "Job succeeded!",
        "VM is now destroyed",
        "Customer VM usage deleted from UFDS",
        "No properties affecting FWAPI found: not updating",
    ];
    let mut t = created + rng.range(500, 1500);
    let mut chain_results = Vec::new();
    for ((name, _), result) in chain.iter().zip(results) {
        let end = t + rng.range(200, 3000);
        chain_results.push(workflow::result_entry(
            Some(name),
            result,
            json!(""),
            t,
            end,
        ));
        t = end + rng.range(20, 80);
    }
    let v = world.vm(vm).clone();
    world.jobs.push(json!({
        "name": "destroy-7.0.1",
        "uuid": uuid,
        "version": "7.0.1",
        "chain": workflow::task_objects(&chain),
        "onerror": workflow::task_objects(&[("On error", 10)]),
        "timeout": 180,
        "max_attempts": 1,
        "params": {"vm_uuid": vm, "owner_uuid": v.owner, "server_uuid": v.server, "task": "destroy", "target": format!("/destroy-{vm}"), "x-request-id": rng.uuid_v1(), "expects": "destroyed"},
        "target": format!("/destroy-{vm}"),
        "exec_after": clock::iso_ms(created),
        "num_attempts": 0,
        "execution": "succeeded",
        "chain_results": chain_results,
        "onerror_results": [],
        "oncancel_results": [],
        "created_at": clock::iso_ms(created),
        "elapsed": ((t - created) as f64) / 1000.0,
        "started": created + 200,
    }));
    uuid
}

pub fn destroyed_during_provision(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V7_0_24);
    let (vm, story) = legacy_provision(
        world,
        timing,
        Version::V7_0_24,
        "joyent",
        0,
        Outcome::TaskTimeout {
            task: "vmapi.check_state",
        },
        None,
        "destroyed-during-provision",
    );
    let mut rng = world.rng.fork("destroyed");
    let check_start = story
        .tasks
        .get("vmapi.check_state")
        .map(|t| t.0)
        .unwrap_or(story.finished);
    let created = check_start - rng.range(6, 14) * SECOND;
    let destroy = destroy_job(world, &vm, created);
    let server = world.vm(&vm).server.clone().unwrap_or_default();
    // VMAPI's heartbeater sees the VM vanish.
    let log = world
        .svc_logger(Svc::Vmapi)
        .child("component", "heartbeater");
    let t = check_start + rng.range(1500, 3000);
    let err = bunyan::err_field("InternalError", &format!("VM.load error: zoneadm: {vm}: No such zone configured"), &["parseResponse (/opt/smartdc/vmapi/node_modules/restify/lib/clients/json_client.js:67:39)", "IncomingMessage.done (/opt/smartdc/vmapi/node_modules/restify/lib/clients/string_client.js:152:33)"]);
    let line = log.error(
        t,
        &[
            ("vm_uuid", json!(vm)),
            ("server", json!(server)),
            ("err", err),
        ],
        &format!("Error invalidating cache state of VM {vm}: Error talking to CNAPI"),
    );
    world.svc_log_ev(Svc::Vmapi, t, line, &vm, "Error talking to CNAPI");
    // The zone had come up; VM.js archived its svc logs when the destroy job deleted it.
    let svclogs = format!("/zones/archive/{vm}/svclogs");
    crate::zonefiles::os_zone_at(world, &vm, story.booted, false, None, &svclogs, None);
    {
        let v = world.vm_mut(&vm);
        v.zone_state = "running".into();
        v.failed_provision = false;
        v.provisioning_marker = false;
    }
    crate::zonefiles::archive(world, &vm);
    {
        let v = world.vm_mut(&vm);
        v.destroyed = true;
        v.state = "destroyed".into();
        v.zone_state = "destroyed".into();
        v.failed_provision = false;
    }
    let local = world.local(&server, created + 5 * SECOND);
    let host = world.host_mut(&server);
    host.zpool
        .push((local, format!("zfs destroy -r zones/{vm}")));
    if let Some(e) = world.expected_mut(&vm) {
        e.evidence
            .push(json!({"api": format!("/jobs/{destroy}"), "contains": "destroy-7.0.1"}));
    }
    Ok(())
}

/// The guide's records: CNAPI is restarting, so VMAPI's heartbeater cannot load the new VM.
pub fn cnapi_unreachable(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V7_0_24);
    let (vm, story) = legacy_provision(
        world,
        timing,
        Version::V7_0_24,
        "joyent",
        0,
        Outcome::TaskTimeout {
            task: "vmapi.check_state",
        },
        None,
        "cnapi-unreachable",
    );
    let mut rng = world.rng.fork("cnapi-restart");
    let server = world.vm(&vm).server.clone().unwrap_or_default();
    let check_start = story
        .tasks
        .get("vmapi.check_state")
        .map(|t| t.0)
        .unwrap_or(story.finished);
    // CNAPI dies and is restarted by SMF while the job waits for the VM.
    let died = check_start - rng.range(5, 20) * SECOND;
    let cnapi_method = Svc::Cnapi.start_method();
    world.svc_log(Svc::Cnapi, died, smf::stopping_all_exited(died));
    world.svc_log(Svc::Cnapi, died + 20, smf::executing_stop_kill(died + 20));
    let restart = died + rng.range(60, 100) * SECOND;
    world.svc_log_ev(
        Svc::Cnapi,
        restart,
        smf::executing_start(restart, &cnapi_method),
        &vm,
        "Executing start method",
    );
    world.svc_log(
        Svc::Cnapi,
        restart + 300,
        smf::method_exited(restart + 300, "start", 0),
    );
    let new_pid = rng.pid();
    let old_pid = world.svc_logger(Svc::Cnapi).pid;
    world.svc_pids.insert(Svc::Cnapi, new_pid);
    // Background chatter already logged for this window: nothing while CNAPI was down, and
    // the restarted process's pid afterwards.
    let path = world.svc_path(Svc::Cnapi);
    let (old_field, new_field) = (format!("\"pid\":{old_pid},"), format!("\"pid\":{new_pid},"));
    if let Some(entries) = world.logs.entries_mut("hn", &path) {
        entries.retain(|e| {
            !(e.t > died + 20 && e.t < restart && e.text.starts_with('{') && e.ev.is_empty())
        });
        for e in entries.iter_mut() {
            if e.t > restart && e.text.starts_with('{') {
                e.text = e.text.replacen(&old_field, &new_field, 1);
            }
        }
    }
    let cnapi = world.svc_logger(Svc::Cnapi);
    world.svc_log(
        Svc::Cnapi,
        restart + 2100,
        cnapi.info(restart + 2100, &[("port", json!(80))], "CNAPI listening"),
    );

    let log = world
        .svc_logger(Svc::Vmapi)
        .child("component", "heartbeater");
    let mut t = died + rng.range(2, 5) * SECOND;
    world.svc_log(
        Svc::Vmapi,
        t,
        log.info(
            t,
            &[("vm_uuid", json!(vm))],
            &format!("New VM {vm}, skipping updateState"),
        ),
    );
    t += 1384;
    world.svc_log(
        Svc::Vmapi,
        t,
        log.debug(
            t,
            &[("vm_uuid", json!(vm))],
            &format!("Retry attempt #0 for VM {vm}"),
        ),
    );
    t += 2;
    let frames = [
        "parseResponse (/opt/smartdc/vmapi/node_modules/restify/lib/clients/json_client.js:67:39)",
        "IncomingMessage.done (/opt/smartdc/vmapi/node_modules/restify/lib/clients/string_client.js:152:33)",
        "IncomingMessage.g (events.js:192:14)",
        "IncomingMessage.EventEmitter.emit (events.js:126:20)",
        "IncomingMessage._emitEnd (http.js:366:10)",
        "HTTPParser.parserOnMessageComplete [as onMessageComplete] (http.js:149:23)",
        "Socket.socketOnData [as ondata] (http.js:1485:20)",
        "TCP.onread (net.js:407:27)",
    ];
    let err = bunyan::err_field(
        "ResourceNotFoundError",
        &format!("VM {vm} not found"),
        &frames,
    );
    let line = log.error(
        t,
        &[
            ("vm_uuid", json!(vm)),
            ("server", json!(server)),
            ("err", err),
        ],
        &format!("Error invalidating cache state of VM {vm}: Error talking to CNAPI"),
    );
    world.svc_log_ev(Svc::Vmapi, t, line, &vm, "Error talking to CNAPI");
    // The same error as the bunyan CLI renders it, printed by a debugging hook into the SMF log.
    let mut pretty = format!("    ResourceNotFoundError: VM {vm} not found");
    for f in frames {
        pretty.push_str("\n        at ");
        pretty.push_str(f);
    }
    world.svc_log(Svc::Vmapi, t + 1, pretty);
    t += 3506;
    world.svc_log(
        Svc::Vmapi,
        t,
        log.debug(
            t,
            &[("vm_uuid", json!(vm))],
            &format!(
                "Ignoring heartbeat from VM {vm}, current retry count is 1, will process at 8"
            ),
        ),
    );
    // The zone itself came up fine.
    common::healthy_zone_files(world, &vm, story.booted);
    let v = world.vm_mut(&vm);
    v.zone_state = "running".into();
    v.failed_provision = false;
    v.provisioning_marker = false;
    Ok(())
}

fn import_message(
    image: &crate::world::Image,
    origin: Option<&crate::world::Image>,
    source: &str,
    kind: &str,
) -> String {
    let uuid = &image.uuid;
    let mut stdout = format!(
        "Importing image {uuid} ({} {}) from \"{source}\"\n",
        image.name, image.version
    );
    if let Some(o) = origin {
        stdout.push_str(&format!("Origin image {} is not installed: searching sources\nImporting origin image {} ({} {}) from \"{source}\"\n", o.uuid, o.uuid, o.name, o.version));
    }
    let stderr = match kind {
        "partial" => format!(
            "Stderr from zfs receive: cannot receive new filesystem stream: destination 'zones/{}-partial' exists\nmust specify -F to overwrite it\n\n\nstream.js:81\n      throw er; // Unhandled stream error in pipe.\n            ^\nError: write EPIPE\n    at errnoException (net.js:773:11)\n    at Object.afterWrite (net.js:597:19)",
            origin.map(|o| o.uuid.as_str()).unwrap_or(uuid)
        ),
        _ => "Stderr from zfs receive: cannot receive new filesystem stream: invalid backup stream\n\nimgadm: error (InternalError): zfs receive error while importing: exit code 1".to_string(),
    };
    format!(
        "Error importing image {uuid} to zpool zones:\n\targv: [\"/usr/sbin/imgadm\",\"import\",\"-q\",\"-P\",\"zones\",\"{uuid}\"]\n\texit status: 1\n\tstdout:\n{stdout}\tstderr:\n{stderr}"
    )
}

fn image_import(world: &mut World, timing: &Timing, leftover: bool) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V7_0_28);
    let mut rng = world.rng.fork("image-race");
    let image = world.images[3].clone();
    let origin = image.origin.as_ref().map(|o| world.image(o).clone());
    let source = format!("http://imgapi.{}.joyent.us", world.datacenter);
    let message = import_message(&image, origin.as_ref(), &source, "partial");
    let cn = world.cns[0].server_uuid.clone();
    // The origin is not on this CN yet; another provision's import of it is running.
    if let Some(o) = &origin {
        world
            .host_mut(&cn)
            .installed_images
            .retain(|i| i != &o.uuid);
    }
    let diagnosis = if leftover {
        "image-import-partial-leftover"
    } else {
        "image-import-race"
    };
    let (vm, story) = legacy_provision(
        world,
        timing,
        Version::V7_0_28,
        "joyent",
        3,
        Outcome::ImageFailed {
            message,
            after: rng.range(2000, 3000),
        },
        Some(3000),
        diagnosis,
    );
    let origin_uuid = origin
        .as_ref()
        .map(|o| o.uuid.clone())
        .unwrap_or_else(|| image.uuid.clone());
    let (fail_t, _) = story
        .tasks
        .get("cnapi.ensure_image")
        .copied()
        .unwrap_or((story.created_at, story.created_at));
    // zpool history logs a command when it has succeeded: a receive at its end, seconds before
    // imgadm renames the dataset into place (the guide's history: 23:55:39 receive, 23:55:43
    // rename). The competing import started before this provision and ends after its failure.
    let t0 = world.local(&cn, fail_t - rng.range(20, 60) * SECOND);
    let t1 = t0 + rng.range(70, 200) * SECOND;
    let received = if leftover { t0 } else { t1 - 4_000 };
    let host = world.host_mut(&cn);
    host.zpool
        .push((received, format!("zfs receive zones/{origin_uuid}-partial")));
    if leftover {
        host.partial_images.push(origin_uuid.clone());
        if let Some(e) = world.expected_mut(&vm) {
            e.evidence.push(json!({"host": cn, "command": "zfs list -t all", "contains": format!("zones/{origin_uuid}-partial")}));
        }
    } else {
        host.zpool.push((
            t1,
            format!("zfs rename zones/{origin_uuid}-partial zones/{origin_uuid}"),
        ));
        host.zpool.push((
            t1 + 27_000,
            format!("zfs receive zones/{}-partial", image.uuid),
        ));
        host.zpool.push((
            t1 + 31_000,
            format!(
                "zfs rename zones/{}-partial zones/{}",
                image.uuid, image.uuid
            ),
        ));
        host.installed_images.push(origin_uuid.clone());
        host.installed_images.push(image.uuid.clone());
        if let Some(e) = world.expected_mut(&vm) {
            e.evidence.push(json!({"host": cn, "command": format!("imgadm get {}", image.uuid), "contains": image.uuid}));
            e.evidence.push(json!({"host": cn, "command": "zfs list -t all", "contains": format!("zones/{}@final", image.uuid)}));
        }
    }
    Ok(())
}

pub fn image_import_race(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    image_import(world, timing, false)
}

pub fn image_import_partial_leftover(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    image_import(world, timing, true)
}

/// `invalid backup stream`, and the same image imported fine for another provision ~10 min later.
pub fn image_import_transient(
    world: &mut World,
    timing: &Timing,
    _v: Option<&str>,
) -> anyhow::Result<()> {
    common::noise_provisions(world, timing, Version::V7_0_28);
    let mut rng = world.rng.fork("image-transient");
    let image = world.images[2].clone();
    let source = format!("http://imgapi.{}.joyent.us", world.datacenter);
    let message = import_message(&image, None, &source, "stream");
    let cn = world.cns[0].server_uuid.clone();
    world
        .host_mut(&cn)
        .installed_images
        .retain(|i| i != &image.uuid);
    let (vm, story) = legacy_provision(
        world,
        timing,
        Version::V7_0_28,
        "joyent",
        2,
        Outcome::ImageFailed {
            message,
            after: rng.range(15_000, 22_000),
        },
        Some(20_000),
        "image-import-transient",
    );
    // The retry ten minutes later imports the image and provisions.
    let retry_start = story.finished + 10 * MINUTE + rng.range(0, 60_000);
    let mut vm2 = crate::baseline::new_customer_vm(
        world,
        &mut rng,
        "joyent",
        &image.uuid,
        1,
        Some(&cn),
        retry_start,
    );
    vm2.state = "provisioning".into();
    let vm2_uuid = vm2.uuid.clone();
    world.vms.push(vm2);
    let retry = provision::run(
        world,
        Spec {
            vm_uuid: vm2_uuid.clone(),
            version: Version::V7_0_28,
            start: retry_start,
            outcome: Outcome::Succeeded,
            image_import: Some(8_000),
            boot_time: 20 * SECOND,
            diagnosis: None,
            slow: Vec::new(),
        },
    );
    common::healthy_zone_files(world, &vm2_uuid, retry.booted);
    let t = world.local(
        &cn,
        retry
            .tasks
            .get("cnapi.ensure_image")
            .map(|t| t.1)
            .unwrap_or(retry_start)
            + 2_000,
    );
    let host = world.host_mut(&cn);
    host.zpool
        .push((t, format!("zfs receive zones/{}-partial", image.uuid)));
    host.zpool.push((
        t + 4_000,
        format!(
            "zfs rename zones/{}-partial zones/{}",
            image.uuid, image.uuid
        ),
    ));
    host.installed_images.push(image.uuid.clone());
    if let Some(e) = world.expected_mut(&vm) {
        e.evidence.push(json!({"host": cn, "command": "zpool history", "contains": format!("zfs rename zones/{}-partial zones/{}", image.uuid, image.uuid)}));
        e.evidence.push(json!({"host": cn, "command": format!("imgadm get {}", image.uuid), "contains": image.uuid}));
    }
    Ok(())
}
