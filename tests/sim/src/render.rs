//! Writes a finished world to disk: host trees, `sim/state.json`, `expected.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use triton_fake::state::{Api, Host as StateHost, HostRole, PoolHistory, Service, SimState};

use crate::clock;
use crate::logs::FileEvidence;
use crate::objects;
use crate::world::{Host, World};

/// What was written.
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
}

fn host_file(dir: &Path, root: &str, abs: &str) -> PathBuf {
    dir.join(root).join(abs.trim_start_matches('/'))
}

fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

pub fn write(mut world: World, dir: &Path) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = 0usize;
    let mut bytes = 0u64;

    let logs = std::mem::take(&mut world.logs);
    let mut evidence: Vec<FileEvidence> = Vec::new();
    for file in logs.render() {
        let (text, ev) = file.text_and_evidence();
        evidence.extend(ev);
        let path = host_file(dir, &file.root, &file.path);
        if file.gzip {
            let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
            gz.write_all(text.as_bytes())?;
            let data = gz.finish()?;
            bytes += data.len() as u64;
            write_bytes(&path, &data)?;
        } else {
            bytes += text.len() as u64;
            write_bytes(&path, text.as_bytes())?;
        }
        files += 1;
    }
    for file in &world.files {
        write_bytes(&host_file(dir, &file.root, &file.path), &file.content)?;
        bytes += file.content.len() as u64;
        files += 1;
    }
    for (root, link, target) in &world.symlinks {
        let path = host_file(dir, root, link);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if path.symlink_metadata().is_ok() {
            std::fs::remove_file(&path)?;
        }
        symlink(target, &path)?;
        files += 1;
    }
    // Every SmartOS global zone has /var/tmp; sdc-oneachnode -g refuses a missing target directory.
    for root in std::iter::once(&world.hn.root).chain(world.cns.iter().map(|h| &h.root)) {
        let tmp = host_file(dir, root, "/var/tmp");
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
    }
    bytes += crate::noise::write_scale(&world, dir, world.scale)?;

    let state = sim_state(&world);
    state.save(dir)?;
    let expected = expected_json(&world, &evidence);
    let mut text = serde_json::to_string_pretty(&expected)?;
    text.push('\n');
    write_bytes(&dir.join("expected.json"), text.as_bytes())?;
    Ok(Summary { files, bytes })
}

#[cfg(unix)]
fn symlink(target: &str, path: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(target, path)
        .with_context(|| format!("cannot create symlink {}", path.display()))
}

#[cfg(not(unix))]
fn symlink(_target: &str, _path: &Path) -> anyhow::Result<()> {
    Ok(())
}

fn state_host(world: &World, host: &Host) -> StateHost {
    let vms: Vec<Value> = world
        .vms
        .iter()
        .filter(|v| v.on(&host.server_uuid))
        .map(|v| objects::vmadm_get(world, v))
        .collect();
    let images: Vec<Value> = host
        .installed_images
        .iter()
        .filter_map(|u| world.images.iter().find(|i| &i.uuid == u))
        .map(|i| objects::imgadm_get(world, i))
        .collect();
    let mut services: BTreeMap<String, Vec<Service>> = host.services.clone();
    for vm in world.vms.iter().filter(|v| v.on(&host.server_uuid)) {
        if vm.brand == "kvm" || services.contains_key(&vm.uuid) {
            continue;
        }
        let since = clock::iso_s(vm.created + 40_000);
        let svc = |fmri: &str, state: &str, desc: &str, log: &str| Service {
            fmri: fmri.into(),
            state: state.into(),
            since: since.clone(),
            description: desc.into(),
            log: log.into(),
            reason: None,
        };
        let mut list = vec![
            svc(
                "svc:/system/zoneinit:default",
                "disabled",
                "zone initialization",
                "/var/svc/log/system-zoneinit:default.log",
            ),
            svc(
                "svc:/smartdc/mdata:fetch",
                "online",
                "Metadata fetch service",
                "/var/svc/log/smartdc-mdata:fetch.log",
            ),
            svc(
                "svc:/smartdc/mdata:execute",
                "online",
                "Metadata execution service",
                "/var/svc/log/smartdc-mdata:execute.log",
            ),
            svc(
                "svc:/network/ssh:default",
                "online",
                "SSH server",
                "/var/svc/log/network-ssh:default.log",
            ),
        ];
        if let Some(role) = &vm.role {
            for s in crate::world::Svc::ALL.iter().filter(|s| s.role() == role) {
                let name = s.smf_log().trim_end_matches(".log");
                let (service, inst) = name.split_once(':').unwrap_or((name, "default"));
                list.push(svc(
                    &format!("svc:/{}:{inst}", service.replace('-', "/")),
                    "online",
                    &format!("{} service", s.logger_name()),
                    &format!("/var/svc/log/{}", s.smf_log()),
                ));
            }
        }
        services.insert(vm.uuid.clone(), list);
    }
    StateHost {
        server_uuid: host.server_uuid.clone(),
        hostname: host.hostname.clone(),
        role: if host.headnode {
            HostRole::Headnode
        } else {
            HostRole::ComputeNode
        },
        root: host.root.clone(),
        reachable: host.reachable,
        platform_image: host.platform.clone(),
        admin_ip: host.admin_ip.clone(),
        sysinfo: objects::sysinfo(world, host),
        vms,
        images,
        datasets: objects::datasets(world, host),
        zpool_history: vec![PoolHistory {
            pool: "zones".into(),
            records: objects::zpool_history(world, host),
        }],
        zpool_status: objects::zpool_status(),
        services,
        faults: Vec::new(),
    }
}

pub fn sim_state(world: &World) -> SimState {
    let mut api = Api::default();
    for vm in &world.vms {
        api.vms
            .insert(vm.uuid.clone(), objects::vmapi_vm(world, vm));
    }
    api.jobs = world.jobs.clone();
    for host in std::iter::once(&world.hn).chain(world.cns.iter()) {
        api.servers
            .insert(host.server_uuid.clone(), objects::cnapi_server(world, host));
    }
    api.tasks = world.tasks.clone();
    for image in &world.images {
        api.images
            .insert(image.uuid.clone(), objects::image_manifest(image));
    }
    for net in &world.networks {
        api.networks
            .insert(net.uuid.clone(), objects::napi_network(net));
    }
    api.unavailable = world.unavailable.clone();
    SimState {
        scenario: world.scenario.clone(),
        seed: world.seed,
        datacenter: world.datacenter.clone(),
        now: clock::iso_ms(world.now),
        admin_uuid: world.admin_uuid.clone(),
        headnode: state_host(world, &world.hn),
        compute_nodes: world.cns.iter().map(|h| state_host(world, h)).collect(),
        api,
    }
}

fn expected_json(world: &World, file_evidence: &[FileEvidence]) -> Value {
    let provisions: Vec<Value> = world
        .expected
        .iter()
        .map(|p| {
            let mut evidence: Vec<Value> = file_evidence
                .iter()
                .filter(|e| e.vm == p.vm_uuid)
                .map(|e| json!({"host": e.server_uuid, "path": e.path, "line": e.line, "contains": e.contains}))
                .collect();
            evidence.extend(p.evidence.iter().cloned());
            json!({
                "vm_uuid": p.vm_uuid,
                "job_uuid": p.job_uuid,
                "server_uuid": p.server_uuid,
                "brand": p.brand,
                "workflow": p.workflow,
                "failed_task": p.failed_task,
                "diagnosis": p.diagnosis,
                "evidence": evidence,
            })
        })
        .collect();
    json!({
        "scenario": world.scenario,
        "seed": world.seed,
        "headnode": world.hn.server_uuid,
        "provisions": provisions,
        "noise": {"other_vms": world.noise_vms, "other_jobs": world.noise_jobs},
    })
}
