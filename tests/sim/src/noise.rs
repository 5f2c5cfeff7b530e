//! Background activity around the story: API chatter (pings, heartbeats, listings) in every
//! core service, agent chatter on every CN, non-JSON lines and stack traces between records,
//! rabbitmq connection blocks, and at `--scale N` about N×100 MB of extra history.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::json;

use crate::baseline::{
    CN_AGENT_LOG, HEARTBEATER_LOG, NET_AGENT_LOG, PROVISIONER_LOG, VMADMD_LOG, VM_AGENT_LOG,
};
use crate::clock::{self, Ms, HOUR, MINUTE, SECOND};
use crate::formats::bunyan::{self, Logger};
use crate::formats::heartbeater;
use crate::formats::restify::{self, Request};
use crate::formats::smf;
use crate::logs;
use crate::rng::SimRng;
use crate::world::{Era, Svc, World};

/// A node stack trace as it lands in an SMF log when a callback throws outside bunyan.
const STACK: &[&str] = &[
    "Uncaught exception in handler; restify will send 500",
    "Error: socket hang up",
    "    at createHangUpError (http.js:1472:15)",
    "    at Socket.socketOnEnd [as onend] (http.js:1568:23)",
    "    at Socket.g (events.js:180:16)",
    "    at Socket.emit (events.js:117:20)",
    "    at _stream_readable.js:944:16",
    "    at process._tickCallback (node.js:448:13)",
];

pub fn background(world: &mut World) {
    let mut rng = world.rng.fork("noise");
    let start = world.history_start;
    let end = world.now;
    for svc in Svc::ALL {
        core_chatter(world, &mut rng, svc, start, end);
    }
    rabbit(world, &mut rng, start, end);
    let cns: Vec<String> = world.cns.iter().map(|h| h.server_uuid.clone()).collect();
    for cn in cns {
        agent_chatter(world, &mut rng, &cn, start, end);
    }
}

fn core_chatter(world: &mut World, rng: &mut SimRng, svc: Svc, start: Ms, end: Ms) {
    let log = world.svc_logger(svc);
    if matches!(svc, Svc::Vmapi | Svc::Cnapi) {
        // The big logs always carry some non-JSON output between records: an uncaught
        // exception's stack and a module warning, once early and once near "now".
        for at in [
            start + 35 * MINUTE + rng.range(0, 60_000),
            end - 40 * MINUTE + rng.range(0, 60_000),
        ] {
            let err = bunyan::err_field(
                "Error",
                "socket hang up",
                &["createHangUpError (http.js:1472:15)"],
            );
            world.svc_log(
                svc,
                at,
                log.rec(bunyan::ERROR, at, &[("err", err)], STACK[0]),
            );
            world.svc_log(svc, at + 1, STACK[1..].join("\n"));
            world.svc_log(svc, at + 2, "(node) warning: possible EventEmitter memory leak detected. 11 listeners added. Use emitter.setMaxListeners() to increase limit.".to_string());
        }
    }
    let zone_ip = world.zone(svc.role()).nics[0].ip.clone();
    let cn_ips: Vec<(String, String)> = world
        .cns
        .iter()
        .map(|h| (h.server_uuid.clone(), h.admin_ip.clone()))
        .collect();
    let vm_ids: Vec<String> = world
        .vms
        .iter()
        .filter(|v| v.role.is_none())
        .map(|v| v.uuid.clone())
        .collect();
    let mut t = start + rng.range(0, 30_000);
    let mut n = 0u64;
    while t < end {
        n += 1;
        let req_id = rng.uuid();
        let (method, url, status, remote): (&str, String, u16, String) = match (svc, n % 5) {
            (Svc::Vmapi, 0) => (
                "GET",
                format!(
                    "/vms?owner_uuid={}&state=active",
                    world.customers[(n as usize) % world.customers.len()]
                ),
                200,
                world.zone("cloudapi").nics[0].ip.clone(),
            ),
            (Svc::Vmapi, 1) if world.era == Era::Modern => {
                let (_, ip) = &cn_ips[(n as usize) % cn_ips.len()];
                (
                    "PUT",
                    format!("/vms?server_uuid={}", cn_ips[(n as usize) % cn_ips.len()].0),
                    200,
                    ip.clone(),
                )
            }
            (Svc::Vmapi, 2) => (
                "GET",
                format!("/vms/{}", vm_ids[(n as usize) % vm_ids.len()]),
                200,
                world.zone("adminui").nics[0].ip.clone(),
            ),
            (Svc::Cnapi, 0..=2) => {
                let (uuid, ip) = &cn_ips[(n as usize) % cn_ips.len()];
                if world.era == Era::Modern {
                    (
                        "POST",
                        format!("/servers/{uuid}/events/status"),
                        204,
                        ip.clone(),
                    )
                } else {
                    ("GET", format!("/servers/{uuid}"), 200, zone_ip.clone())
                }
            }
            (Svc::WfApi, 0 | 1) => (
                "GET",
                "/jobs?execution=running&limit=1000".to_string(),
                200,
                world.zone("adminui").nics[0].ip.clone(),
            ),
            (Svc::Imgapi, 0) => (
                "GET",
                "/images?state=active".to_string(),
                200,
                world.zone("cloudapi").nics[0].ip.clone(),
            ),
            (Svc::Napi, 0) => (
                "GET",
                "/networks?provisionable_by=".to_string() + &world.customers[0],
                200,
                world.zone("cloudapi").nics[0].ip.clone(),
            ),
            (Svc::Cloudapi, 0 | 1) => (
                "GET",
                "/my/machines".to_string(),
                200,
                "203.0.113.77".to_string(),
            ),
            _ => (
                "GET",
                "/ping".to_string(),
                200,
                format!(
                    "{}.{}",
                    zone_ip.rsplit_once('.').map(|x| x.0).unwrap_or("10.0.0"),
                    1 + n % 30
                ),
            ),
        };
        let record = if svc == Svc::WfRunner {
            match n % 3 {
                // node-workflow `lib/runner.js`.
                0 | 1 => log.debug(
                    t,
                    &[("runner", json!(world.zone("workflow").uuid))],
                    "Runner is active",
                ),
                _ => log.info(t, &[], "Runner idle."),
            }
        } else {
            restify::audit(
                &log,
                t,
                &Request {
                    req_id: &req_id,
                    method,
                    url: &url,
                    remote: &remote,
                    remote_port: 30_000 + (n % 30_000) as u16,
                    user_agent: "restify/2.8.5",
                    status,
                    latency_ms: rng.range(1, 60),
                    body: None,
                    err: None,
                },
            )
        };
        world.svc_log(svc, t, record);
        // Non-JSON output now and then (a warning a module prints with console.error).
        if rng.chance(0.01) {
            world.svc_log(svc, t + 1, "(node) warning: possible EventEmitter memory leak detected. 11 listeners added. Use emitter.setMaxListeners() to increase limit.".to_string());
        }
        if rng.chance(0.004) {
            let err = bunyan::err_field(
                "Error",
                "socket hang up",
                &[
                    "createHangUpError (http.js:1472:15)",
                    "Socket.socketOnEnd [as onend] (http.js:1568:23)",
                ],
            );
            world.svc_log(
                svc,
                t + 2,
                log.rec(
                    bunyan::ERROR,
                    t + 2,
                    &[("err", err)],
                    "Uncaught exception in handler; restify will send 500",
                ),
            );
            world.svc_log(svc, t + 3, STACK[1..].join("\n"));
        }
        t += rng.range(20, 75) * SECOND + rng.range(0, 999);
    }
}

fn rabbit(world: &mut World, rng: &mut SimRng, start: Ms, end: Ms) {
    let path = format!(
        "/zones/{}/root/var/log/rabbitmq/rabbit.log",
        world.zone("rabbitmq").uuid
    );
    let hn = world.hn.server_uuid.clone();
    let mut t = start;
    while t < end {
        let c = clock::civil(t);
        let stamp = format!(
            "{}-{}-{} {:02}:{:02}:{:02}",
            c.day,
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                [(c.month - 1) as usize],
            c.year,
            c.hour,
            c.minute,
            c.second
        );
        let peer = format!(
            "{}:{}",
            world.cns[rng.below(world.cns.len())].admin_ip,
            rng.range(40_000, 65_000)
        );
        let text = format!("=INFO REPORT==== {stamp} ===\naccepting AMQP connection <0.{}.0> ({peer} -> {}:5672)\n", rng.range(1000, 30_000), world.zone("rabbitmq").nics[0].ip);
        world.host_log(&hn, &path, t, text);
        t += rng.range(5, 25) * MINUTE;
    }
}

fn agent_chatter(world: &mut World, rng: &mut SimRng, cn: &str, start: Ms, end: Ms) {
    let host = world.host(cn).clone();
    let era = world.era;
    let running = world
        .vms
        .iter()
        .filter(|v| v.server.as_deref() == Some(cn) && v.state == "running")
        .count() as u32;
    let stopped = world
        .vms
        .iter()
        .filter(|v| v.server.as_deref() == Some(cn) && v.state != "running" && !v.destroyed)
        .count() as u32;
    let mut t = world.local(cn, start);
    let local_end = world.local(cn, end);
    let mut n = 0u64;
    let root = host.root.clone();
    while t < local_end {
        n += 1;
        match era {
            Era::Modern => {
                // sdc-cn-agent `lib/app.js` (heartbeats and status posts to CNAPI),
                // `lib/task_agent/task_agent.js` (`<task> task params`).
                let cn_agent = Logger::new("cn-agent", &host.hostname, host.pid("cn-agent"));
                let line = if n.is_multiple_of(4) {
                    cn_agent.info(
                        t,
                        &[
                            ("req_id", json!(rng.uuid())),
                            ("task", json!({"task": "server_sysinfo", "params": {}})),
                        ],
                        "server_sysinfo task params",
                    )
                } else if n.is_multiple_of(2) {
                    cn_agent.debug(t, &[], "Posted status to CNAPI")
                } else {
                    cn_agent.debug(t, &[], "Posted heartbeat to CNAPI")
                };
                world.logs.push(&root, CN_AGENT_LOG, t, line);
                if n.is_multiple_of(3) {
                    // sdc-vm-agent `lib/vm-agent.js`: the periodic comparison with VMAPI.
                    let vm_agent = Logger::new("vm-agent", &host.hostname, host.pid("vm-agent"));
                    world.logs.push(
                        &root,
                        VM_AGENT_LOG,
                        t + 400,
                        vm_agent.info(
                            t + 400,
                            &[],
                            "No difference between vmadm and VMAPI, no need for PUT /vms",
                        ),
                    );
                }
                if n.is_multiple_of(5) {
                    // sdc-net-agent `lib/nic-fsm.js`, `lib/net-fsm.js`: periodic refreshes.
                    let net_agent = Logger::new("net-agent", &host.hostname, host.pid("net-agent"));
                    let msg = if n.is_multiple_of(10) {
                        "Refreshed network information"
                    } else {
                        "Refreshed NIC information"
                    };
                    world.logs.push(
                        &root,
                        NET_AGENT_LOG,
                        t + 700,
                        net_agent.info(t + 700, &[], msg),
                    );
                }
            }
            Era::Legacy => {
                let line = heartbeater::idle(t, running, stopped);
                world.logs.push(&root, HEARTBEATER_LOG, t, line);
                if n.is_multiple_of(5) {
                    let prov = Logger::new("provisioner", &host.hostname, host.pid("provisioner"));
                    world.logs.push(
                        &root,
                        PROVISIONER_LOG,
                        t + 300,
                        prov.info(t + 300, &[], "Received ping message"),
                    );
                }
            }
        }
        if n.is_multiple_of(17) {
            background_task(world, rng, cn, t);
        }
        if n.is_multiple_of(20) {
            let vmadmd = Logger::new("vmadmd", &host.hostname, host.pid("vmadmd"));
            world.logs.push(
                &root,
                VMADMD_LOG,
                t + 100,
                vmadmd.debug(t + 100, &[], "/usr/bin/sysinfo"),
            );
        }
        t += match era {
            Era::Modern => rng.range(25, 70) * SECOND,
            Era::Legacy => MINUTE + rng.range(0, 120),
        };
    }
    let _ = smf::enabled;
}

/// A short agent task (CNAPI's VmLoad → `machine_load`) with its own task log, so every hour
/// has task logs to merge and rotate.
fn background_task(world: &mut World, rng: &mut SimRng, cn: &str, t: Ms) {
    let host = world.host(cn).clone();
    let vms: Vec<String> = world
        .vms
        .iter()
        .filter(|v| v.server.as_deref() == Some(cn))
        .map(|v| v.uuid.clone())
        .collect();
    if vms.is_empty() {
        return;
    }
    let vm = vms[rng.below(vms.len())].clone();
    // The same child-task records as a provision's tasks (see `cn_side`), for machine_load.
    let legacy = world.era == Era::Legacy;
    let pid = rng.pid();
    let req_id = rng.uuid();
    let task_id = rng.uuid();
    let (path, log) = crate::cn_side::task_log(world, cn, legacy, "machine_load", t, pid, &req_id);
    let params = json!({"uuid": vm, "req_id": req_id});
    crate::cn_side::task_start_records(
        world, cn, legacy, &path, &log, &task_id, t, &req_id, params,
    );
    let root = host.root.clone();
    world.logs.push(
        &root,
        &path,
        t + 420,
        log.info(
            t + 420,
            &[("event", json!({"req_id": req_id}))],
            "Received event (finish) from task instance",
        ),
    );
    crate::cn_side::task_end_record(world, cn, legacy, pid, t + 440, &req_id);
}

/// Writes about `scale`×100 MB of older history into rotated files an hour before the rendered
/// history starts: vmapi and cnapi upload logs and the first CN's rotated cn-agent log. Nothing
/// the scenario's evidence points at moves.
pub fn write_scale(world: &World, dir: &Path, scale: u32) -> anyhow::Result<u64> {
    if scale == 0 {
        return Ok(0);
    }
    let per_file: u64 = u64::from(scale) * 100 * 1024 * 1024 / 3;
    let hour = clock::hour_floor(world.history_start) - HOUR;
    let mut written = 0;
    let hn_targets = [Svc::Vmapi, Svc::Cnapi];
    for svc in hn_targets {
        let zone = world.zone(svc.role()).uuid.clone();
        let rotation = logs::Rotation::Upload {
            dir: format!("/zones/{zone}/root/var/log/sdc/upload"),
            name: svc.rotation_name().into(),
            nodename: zone.clone(),
        };
        let path = logs::rotated_path(&rotation, hour);
        let full = dir.join("hn").join(path.trim_start_matches('/'));
        written += fill(
            &full,
            &world.svc_logger(svc),
            hour - HOUR,
            per_file,
            world.seed ^ svc as u64,
        )?;
    }
    let cn = &world.cns[0];
    let rotation = logs::Rotation::Agent {
        dir: "/var/log/cn-agent".into(),
        name: "cn-agent".into(),
        nodename: cn.hostname.clone(),
    };
    let path = logs::rotated_path(&rotation, hour);
    let full = dir.join(&cn.root).join(path.trim_start_matches('/'));
    let logger = Logger::new("cn-agent", &cn.hostname, cn.pid("cn-agent"));
    written += fill(
        &full,
        &logger,
        hour - HOUR + cn.skew,
        per_file,
        world.seed ^ 77,
    )?;
    Ok(written)
}

/// Streams audit-style records into one file until it holds `bytes`, spreading them over an hour.
fn fill(path: &Path, log: &Logger, from: Ms, bytes: u64, seed: u64) -> anyhow::Result<u64> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = SimRng::new(seed, "scale");
    let prefix = format!("{{\"name\":\"{}\",\"hostname\":\"{}\",\"pid\":{},\"audit\":true,\"level\":30,\"remoteAddress\":\"", log.name, log.hostname, log.pid);
    let mut written = 0u64;
    let approx_record = 420u64;
    let count = (bytes / approx_record).max(1);
    let step = (HOUR as u64 * 1000 / count).max(1);
    let mut time = String::with_capacity(32);
    let mut i = 0u64;
    while written < bytes {
        let t = from + ((i * step) / 1000) as Ms;
        i += 1;
        time.clear();
        clock::push_iso_ms(&mut time, t);
        let id = rng.u64();
        let line = format!(
            "{prefix}10.{}.{}.{}\",\"remotePort\":{},\"req_id\":\"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}\",\"req\":{{\"method\":\"GET\",\"url\":\"/ping\",\"headers\":{{\"accept\":\"application/json\",\"user-agent\":\"restify/2.8.5\"}},\"httpVersion\":\"1.1\"}},\"res\":{{\"statusCode\":200,\"headers\":{{\"content-type\":\"application/json\"}}}},\"latency\":{},\"_audit\":true,\"msg\":\"handled: 200\",\"time\":\"{time}\",\"v\":0}}\n",
            (id >> 8) & 0xff, (id >> 16) & 0xff, (id >> 24) & 0xff, 30_000 + (id % 30_000),
            id >> 32, (id >> 16) & 0xffff, id & 0xfff, (id >> 20) & 0xfff, id & 0xffff_ffff_ffff, id % 40,
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}
