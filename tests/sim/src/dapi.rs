//! DAPI's allocation reasoning as CNAPI logs it: an INFO record whose `snapshot` field is
//! base64(gzip(JSON `{serverChosen, servers, params, tickets, defaults, steps}`)).

use std::io::Write;

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

use crate::rng::SimRng;
use crate::world::{Vm, World};

pub const SNAPSHOT_MSG: &str = "Snapshot of request, results, and reasoning by DAPI";

/// The RAM step's description; its lower-cased "no servers ..." form is the 409 reason.
pub const RAM_STEP: &str = "Servers with enough unreserved RAM";

/// Builds the snapshot for `vm`. With `chosen == None` the RAM filter removes every server.
pub fn snapshot(world: &World, rng: &mut SimRng, vm: &Vm, chosen: Option<&str>) -> String {
    let json = snapshot_json(world, rng, vm, chosen);
    encode(&json)
}

pub fn encode(json: &Value) -> String {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(json.to_string().as_bytes());
    let bytes = gz.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn snapshot_json(world: &World, rng: &mut SimRng, vm: &Vm, chosen: Option<&str>) -> Value {
    let all: Vec<String> = world.cns.iter().map(|h| h.server_uuid.clone()).collect();
    let mut servers = Vec::new();
    let mut spare = Vec::new();
    for host in &world.cns {
        let used: u64 = world
            .vms
            .iter()
            .filter(|v| v.on(&host.server_uuid))
            .map(|v| v.ram_mb)
            .sum();
        let unreserved = if chosen.is_none() {
            // A full datacenter: every server has less spare RAM than asked for.
            vm.ram_mb
                .saturating_sub(1024 + rng.range(0, 8) as u64 * 1024)
                .max(512)
        } else {
            host.ram_mb.saturating_sub(used + 8192)
        };
        spare.push((host.server_uuid.clone(), unreserved));
        servers.push(json!({
            "uuid": host.server_uuid,
            "hostname": host.hostname,
            "setup": true,
            "status": "running",
            "reserved": false,
            "headnode": false,
            "ram": host.ram_mb,
            "memory_total_bytes": host.ram_mb * 1024 * 1024,
            "memory_available_bytes": unreserved * 1024 * 1024,
            "unreserved_ram": unreserved,
            "reservation_ratio": 0.15,
            "overprovision_ratios": {"ram": 1, "cpu": 4, "disk": 1},
            "sysinfo": {"UUID": host.server_uuid, "Live Image": host.platform, "Network Interfaces": {"ixgbe0": {"NIC Names": ["admin", "external"], "Link Status": "up"}}},
        }));
    }
    let ram_need = vm.ram_mb + if vm.brand == "kvm" { 1024 } else { 0 };
    let mut steps = vec![json!({"step": "Received by DAPI", "remaining": all})];
    for (step, reasons) in [
        ("Servers which have been setup", Value::Null),
        ("Servers which are currently running", Value::Null),
        ("Servers which have the required OS", Value::Null),
        ("Servers objects which are valid", Value::Null),
        ("Servers which are not reserved", Value::Null),
        ("Servers with enough free disk", Value::Null),
        ("Servers supporting required NIC Tags", Value::Null),
        (
            "Servers which meet image manifest and package platform requirements",
            Value::Null,
        ),
        ("Servers with correct traits", Value::Null),
        ("Servers which are not headnodes", Value::Null),
    ] {
        let mut entry = json!({"step": step, "remaining": all});
        if !reasons.is_null() {
            entry["reasons"] = reasons;
        }
        steps.push(entry);
    }
    steps.push(json!({"step": "load-server-vms", "remaining": all, "reasons": {"*": format!("{} VMs loaded", world.vms.len())}}));
    let mut reasons = serde_json::Map::new();
    let mut remaining = Vec::new();
    for (uuid, unreserved) in &spare {
        if chosen.is_some() && *unreserved >= ram_need {
            remaining.push(uuid.clone());
        } else {
            reasons.insert(
                uuid.clone(),
                json!(format!(
                    "VM's calculated {ram_need} RAM is less than server's spare {unreserved}"
                )),
            );
        }
    }
    if let Some(c) = chosen {
        if !remaining.iter().any(|r| r == c) {
            remaining.push(c.to_string());
        }
    }
    let mut ram = json!({"step": RAM_STEP, "remaining": remaining});
    if !reasons.is_empty() {
        ram["reasons"] = Value::Object(reasons);
    }
    steps.push(ram);
    if chosen.is_some() {
        steps.push(json!({"step": "Servers with enough unreserved CPU", "remaining": remaining}));
        steps.push(json!({"step": "Score servers by unreserved RAM", "remaining": remaining}));
        steps.push(json!({"step": "Pick a random server from the top 5", "remaining": chosen.map(|c| vec![c.to_string()]).unwrap_or_default()}));
    }
    let chosen_obj = chosen
        .and_then(|c| servers.iter().find(|s| s["uuid"] == json!(c)).cloned())
        .unwrap_or(Value::Null);
    json!({
        "serverChosen": chosen_obj,
        "servers": servers,
        "params": {
            "vm": {"vm_uuid": vm.uuid, "ram": vm.ram_mb, "quota": vm.quota_gb, "cpu_cap": vm.vcpus * 100, "owner_uuid": vm.owner, "brand": vm.brand, "nic_tags": ["external"]},
            "image": {"uuid": vm.image_uuid, "requirements": {}, "image_size": 10240},
            "package": {"uuid": vm.billing_id, "max_physical_memory": vm.ram_mb, "quota": vm.quota_gb * 1024, "cpu_cap": vm.vcpus * 100},
            "nic_tags": ["external"],
        },
        "tickets": [],
        "defaults": {
            "disable_override_overprovisioning": false,
            "overprovision_ratio_cpu": 4,
            "overprovision_ratio_ram": 1,
            "overprovision_ratio_disk": 1,
            "server_spread": "min-ram",
            "filter_headnode": true,
            "filter_min_resources": true,
            "filter_large_servers": true,
            "weight_current_platform": 1,
            "weight_next_reboot": 0.5,
            "weight_num_owner_zones": 0,
            "weight_uniform_random": 0.5,
            "weight_unreserved_disk": 1,
            "weight_unreserved_ram": 2,
        },
        "steps": steps,
    })
}
