//! API and command objects derived from the world model: `vmadm get`, VMAPI VMs, CNAPI servers,
//! `imgadm get`, IMGAPI manifests, NAPI networks, `zfs list` rows, `sysinfo`.

use serde_json::{json, Value};
use triton_fake::state::Dataset;

use crate::clock::{self, Ms, DAY};
use crate::world::{Host, Image, Network, Vm, World};

fn nic_json(vm: &Vm) -> Vec<Value> {
    vm.nics
        .iter()
        .map(|n| {
            json!({
                "interface": n.interface,
                "mac": n.mac,
                "vlan_id": n.vlan_id,
                "nic_tag": n.nic_tag,
                "gateway": n.gateway,
                "gateways": [n.gateway],
                "netmask": n.netmask,
                "ip": n.ip,
                "ips": [format!("{}/24", n.ip)],
                "network_uuid": n.network_uuid,
                "primary": n.primary,
            })
        })
        .collect()
}

/// Secrets a zone's metadata holds (passwords generated from the image's users list).
fn internal_metadata(world: &World, vm: &Vm) -> Value {
    if vm.role.is_some() || vm.brand == "kvm" {
        return json!({});
    }
    let mut rng = crate::rng::SimRng::new(world.seed, &format!("pw-{}", vm.uuid));
    json!({ "root_pw": rng.hex(14), "admin_pw": rng.hex(14) })
}

fn tags(vm: &Vm) -> Value {
    match &vm.role {
        Some(role) => json!({ "smartdc_role": role, "smartdc_type": "core" }),
        None => json!({}),
    }
}

/// `vmadm get <uuid>` (also `/zones/archive/<uuid>/vm.json`).
pub fn vmadm_get(world: &World, vm: &Vm) -> Value {
    let host = vm.server.as_deref().map(|s| world.host(s));
    let last = vm.created + 40_000;
    let state = if (vm.failed_provision && vm.zone_state != "running") || vm.state == "failed" {
        "failed".to_string()
    } else {
        vm.state.clone()
    };
    let mut obj = json!({
        "zonename": vm.uuid,
        "autoboot": true,
        "brand": vm.brand,
        "limit_priv": if vm.brand == "kvm" { "default,-file_link_any,-net_access,-proc_fork,-proc_info,-proc_session" } else { "default" },
        "v": 1,
        "create_timestamp": clock::iso_ms(vm.created),
        "cpu_shares": vm.ram_mb / 8,
        "max_lwps": 4000,
        "max_msg_ids": 4096,
        "max_sem_ids": 4096,
        "max_shm_ids": 4096,
        "max_shm_memory": vm.ram_mb,
        "zfs_io_priority": 100,
        "max_physical_memory": vm.ram_mb + if vm.brand == "kvm" { 1024 } else { 0 },
        "max_locked_memory": vm.ram_mb + if vm.brand == "kvm" { 1024 } else { 0 },
        "max_swap": vm.ram_mb * 2,
        "cpu_cap": vm.vcpus * 100,
        "billing_id": vm.billing_id,
        "owner_uuid": vm.owner,
        "alias": vm.alias,
        "hostname": vm.alias,
        "dns_domain": "local",
        "archive_on_delete": true,
        "resolvers": ["8.8.8.8", "8.8.4.4"],
        "uuid": vm.uuid,
        "zone_state": vm.zone_state,
        "zonepath": format!("/zones/{}", vm.uuid),
        "last_modified": clock::iso_s(last),
        "firewall_enabled": false,
        "server_uuid": vm.server,
        "datacenter_name": world.datacenter,
        "platform_buildstamp": host.map(|h| h.platform.clone()),
        "state": state,
        "zpool": "zones",
        "nics": nic_json(vm),
        "customer_metadata": {},
        "internal_metadata": internal_metadata(world, vm),
        "tags": tags(vm),
        "routes": {},
        "snapshots": [],
    });
    if vm.brand == "kvm" {
        obj["ram"] = json!(vm.ram_mb);
        obj["vcpus"] = json!(vm.vcpus);
        obj["disks"] = json!([
            {"path": format!("/dev/zvol/rdsk/zones/{}-disk0", vm.uuid), "boot": true, "model": "virtio", "media": "disk", "image_uuid": vm.image_uuid, "zfs_filesystem": format!("zones/{}-disk0", vm.uuid), "zpool": "zones", "size": 10240, "compression": "off"},
        ]);
        obj["quota"] = json!(10);
    } else {
        obj["image_uuid"] = json!(vm.image_uuid);
        obj["quota"] = json!(vm.quota_gb);
        obj["zfs_filesystem"] = json!(format!("zones/{}", vm.uuid));
    }
    if vm.state == "running" {
        obj["boot_timestamp"] = json!(clock::iso_ms(vm.created + 30_000));
        obj["pid"] = json!(10_000 + (vm.created % 50_000));
    }
    if vm.state == "provisioning" {
        obj["transition_to"] = json!("running");
        obj["transition_expire"] = json!(vm.created + 300_000);
    }
    obj
}

/// VMAPI's view of a VM (`sdc-vmapi /vms/<uuid>`).
pub fn vmapi_vm(world: &World, vm: &Vm) -> Value {
    let host = vm.server.as_deref().map(|s| world.host(s));
    let mut obj = json!({
        "uuid": vm.uuid,
        "alias": vm.alias,
        "autoboot": true,
        "brand": vm.brand,
        "billing_id": vm.billing_id,
        "cpu_cap": vm.vcpus * 100,
        "cpu_shares": vm.ram_mb / 8,
        "create_timestamp": clock::iso_ms(vm.created),
        "customer_metadata": {},
        "datasets": [],
        "destroyed": if vm.destroyed { json!(clock::iso_ms(vm.created + DAY / 24)) } else { Value::Null },
        "firewall_enabled": false,
        "internal_metadata": internal_metadata(world, vm),
        "last_modified": clock::iso_ms(vm.created + 60_000),
        "limit_priv": "default",
        "max_locked_memory": vm.ram_mb,
        "max_lwps": 4000,
        "max_physical_memory": vm.ram_mb,
        "max_swap": vm.ram_mb * 2,
        "nics": nic_json(vm),
        "owner_uuid": vm.owner,
        "platform_buildstamp": host.map(|h| h.platform.clone()),
        "quota": vm.quota_gb,
        "ram": vm.ram_mb,
        "resolvers": ["8.8.8.8", "8.8.4.4"],
        "server_uuid": vm.server,
        "snapshots": [],
        "state": vm.state,
        "tags": tags(vm),
        "zfs_io_priority": 100,
        "zone_state": vm.zone_state,
        "zonepath": format!("/zones/{}", vm.uuid),
        "zpool": "zones",
    });
    if vm.brand == "kvm" {
        obj["disks"] = json!([{"image_uuid": vm.image_uuid, "boot": true, "size": 10240}]);
        obj["vcpus"] = json!(vm.vcpus);
    } else {
        obj["image_uuid"] = json!(vm.image_uuid);
    }
    obj
}

pub fn sysinfo(world: &World, host: &Host) -> Value {
    let boot = world.history_start - 20 * DAY;
    json!({
        "Live Image": host.platform,
        "System Type": "SunOS",
        "Boot Time": (boot / 1000).to_string(),
        "Datacenter Name": world.datacenter,
        "SDC Version": "7.0",
        "Manufacturer": "Dell Inc.",
        "Product": "PowerEdge R730xd",
        "Serial Number": host.hostname,
        "SKU Number": "SKU=NotProvided;ModelName=PowerEdge R730xd",
        "HW Version": "",
        "HW Family": "",
        "Setup": "true",
        "VM Capable": true,
        "CPU Type": "Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz",
        "CPU Virtualization": "vmx",
        "CPU Physical Cores": 2,
        "UUID": host.server_uuid,
        "Hostname": host.hostname,
        "CPU Total Cores": 56,
        "MiB of Memory": host.ram_mb.to_string(),
        "Zpool": "zones",
        "Zpool Disks": "c0t0d0,c0t1d0,c0t2d0,c0t3d0",
        "Zpool Profile": "mirror",
        "Zpool Creation": world.history_start / 1000 - 400 * 86_400,
        "Zpool Size in GiB": 3571,
        "Disks": {"c0t0d0": {"Size in GB": 1920}, "c0t1d0": {"Size in GB": 1920}},
        "Boot Parameters": {"console": "ttyb", "headnode": if host.headnode { "true" } else { "false" }},
        "Network Interfaces": {
            "ixgbe0": {"MAC Address": "90:e2:ba:00:00:01", "ip4addr": host.admin_ip, "Link Status": "up", "NIC Names": ["admin"]},
            "ixgbe1": {"MAC Address": "90:e2:ba:00:00:02", "ip4addr": "", "Link Status": "up", "NIC Names": ["external"]},
        },
        "Virtual Network Interfaces": {},
        "Link Aggregations": {},
    })
}

pub fn cnapi_server(world: &World, host: &Host) -> Value {
    let used: u64 = world
        .vms
        .iter()
        .filter(|v| v.on(&host.server_uuid))
        .map(|v| v.ram_mb)
        .sum();
    json!({
        "uuid": host.server_uuid,
        "hostname": host.hostname,
        "datacenter": world.datacenter,
        "headnode": host.headnode,
        "setup": true,
        "setting_up": false,
        "status": if host.reachable { "running" } else { "unknown" },
        "reserved": false,
        "reservation_ratio": 0.15,
        "ram": host.ram_mb,
        "memory_total_bytes": host.ram_mb * 1024 * 1024,
        "memory_available_bytes": host.ram_mb.saturating_sub(used) * 1024 * 1024,
        "memory_provisionable_bytes": host.ram_mb.saturating_sub(used + host.ram_mb / 7) * 1024 * 1024,
        "current_platform": host.platform,
        "boot_platform": host.platform,
        "last_heartbeat": clock::iso_ms(world.now - 3_000),
        "last_boot": clock::iso_ms(world.history_start - 20 * DAY),
        "transitional_status": "",
        "traits": {},
        "rack_identifier": "",
        "comments": "",
        "overprovision_ratios": {"ram": 1},
        "sysinfo": sysinfo(world, host),
    })
}

pub fn image_manifest(image: &Image) -> Value {
    let mut m = json!({
        "v": 2,
        "uuid": image.uuid,
        "owner": image.owner,
        "name": image.name,
        "version": image.version,
        "state": "active",
        "disabled": false,
        "public": true,
        "published_at": clock::iso_ms(image.published),
        "type": image.kind,
        "os": image.os,
        "files": [{"sha1": image.sha1, "size": image.size, "compression": "gzip"}],
        "description": format!("{} {} image", image.name, image.version),
        "requirements": {"networks": [{"name": "net0", "description": "public"}]},
    });
    if let Some(origin) = &image.origin {
        m["origin"] = json!(origin);
    }
    m
}

pub fn imgadm_get(world: &World, image: &Image) -> Value {
    json!({
        "manifest": image_manifest(image),
        "zpool": "zones",
        "source": format!("http://imgapi.{}.joyent.us", world.datacenter),
    })
}

pub fn napi_network(net: &Network) -> Value {
    json!({
        "uuid": net.uuid,
        "name": net.name,
        "family": "ipv4",
        "mtu": 1500,
        "nic_tag": net.nic_tag,
        "vlan_id": net.vlan_id,
        "subnet": net.subnet(),
        "netmask": "255.255.255.0",
        "gateway": net.gateway(),
        "provision_start_ip": format!("{}.{}", net.prefix, 20),
        "provision_end_ip": format!("{}.{}", net.prefix, net.provision_end),
        "resolvers": ["8.8.8.8", "8.8.4.4"],
        "owner_uuids": net.owner.as_ref().map(|o| vec![o.clone()]).unwrap_or_default(),
        "fabric": false,
    })
}

/// Human sizes as `zfs list` prints them.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        return bytes.to_string();
    }
    if value < 10.0 {
        format!("{value:.2}{}", UNITS[unit])
    } else if value < 100.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

fn ds(name: String, used: u64, avail: &str, refer: u64, mountpoint: String) -> Dataset {
    Dataset {
        name,
        used: if used == 0 { "0".into() } else { human(used) },
        avail: avail.to_string(),
        refer: human(refer),
        mountpoint,
    }
}

/// `zfs list -t all` rows of a host, in zfs's (name) order.
pub fn datasets(world: &World, host: &Host) -> Vec<Dataset> {
    let avail = "2.06T";
    let mut rows = vec![
        ds(
            "zones".into(),
            811 * 1024 * 1024 * 1024,
            avail,
            1_200_000,
            "/zones".into(),
        ),
        ds(
            "zones/archive".into(),
            23 * 1024 * 1024,
            avail,
            23 * 1024 * 1024,
            "/zones/archive".into(),
        ),
        ds(
            "zones/config".into(),
            180 * 1024,
            avail,
            180 * 1024,
            "legacy".into(),
        ),
        ds(
            "zones/cores".into(),
            31 * 1024 * 1024,
            "10.0G",
            88 * 1024,
            "none".into(),
        ),
        ds(
            "zones/dump".into(),
            4 * 1024 * 1024 * 1024,
            avail,
            4 * 1024 * 1024 * 1024,
            "-".into(),
        ),
        ds(
            "zones/opt".into(),
            1_400_000_000,
            avail,
            1_400_000_000,
            "legacy".into(),
        ),
        ds(
            "zones/swap".into(),
            68 * 1024 * 1024 * 1024,
            avail,
            1_000_000,
            "-".into(),
        ),
        ds(
            "zones/var".into(),
            210_000_000,
            avail,
            210_000_000,
            "legacy".into(),
        ),
    ];
    if host.headnode {
        rows.push(ds(
            "zones/usbkey".into(),
            2_100_000_000,
            avail,
            2_100_000_000,
            "legacy".into(),
        ));
    }
    for img_uuid in &host.installed_images {
        if let Some(img) = world.images.iter().find(|i| &i.uuid == img_uuid) {
            let size = img.size * 3;
            let mount = if img.kind == "zvol" {
                "-".to_string()
            } else {
                format!("/zones/{}", img.uuid)
            };
            rows.push(ds(format!("zones/{}", img.uuid), size, avail, size, mount));
            rows.push(ds(
                format!("zones/{}@final", img.uuid),
                0,
                "-",
                size,
                "-".into(),
            ));
        }
    }
    for img_uuid in &host.partial_images {
        let size = world
            .images
            .iter()
            .find(|i| &i.uuid == img_uuid)
            .map(|i| i.size)
            .unwrap_or(1 << 27);
        rows.push(ds(
            format!("zones/{img_uuid}-partial"),
            size / 3,
            avail,
            size / 3,
            format!("/zones/{img_uuid}-partial"),
        ));
    }
    for vm in world.vms.iter().filter(|v| v.on(&host.server_uuid)) {
        let used = (vm.ram_mb * 1024 * 97) + (vm.created.rem_euclid(1000) as u64) * 1024 * 1024;
        rows.push(ds(
            format!("zones/{}", vm.uuid),
            used,
            if vm.brand == "kvm" { "10.0G" } else { avail },
            used,
            format!("/zones/{}", vm.uuid),
        ));
        if vm.brand == "kvm" {
            rows.push(ds(
                format!("zones/{}-disk0", vm.uuid),
                10 * 1024 * 1024 * 1024,
                avail,
                1_900_000_000,
                "-".into(),
            ));
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// The history of the `zones` pool: baseline imports and clones plus the scenario's records.
pub fn zpool_history(world: &World, host: &Host) -> Vec<String> {
    let mut records: Vec<(Ms, String)> = vec![(
        world.history_start - 400 * DAY,
        "zpool create -f zones mirror c0t0d0 c0t1d0 mirror c0t2d0 c0t3d0".into(),
    )];
    records.push((
        world.history_start - 400 * DAY + 5_000,
        "zfs create -o compression=lz4 -o mountpoint=/zones/archive zones/archive".into(),
    ));
    for (i, img_uuid) in host.installed_images.iter().enumerate() {
        // Scenario-provided records already describe the import of this image.
        if host
            .zpool
            .iter()
            .any(|(_, c)| c.contains(&format!("zfs receive zones/{img_uuid}-partial")))
        {
            continue;
        }
        let t = world.history_start - (300 - i as i64 * 7) * DAY;
        records.push((t, format!("zfs receive zones/{img_uuid}-partial")));
        records.push((
            t + 4_000,
            format!("zfs rename zones/{img_uuid}-partial zones/{img_uuid}"),
        ));
    }
    for vm in world
        .vms
        .iter()
        .filter(|v| v.server.as_deref() == Some(host.server_uuid.as_str()) && v.on_host)
    {
        if host
            .zpool
            .iter()
            .any(|(_, c)| c.contains(&format!("zones/{}", vm.uuid)))
        {
            continue;
        }
        let t = world.local(&host.server_uuid, vm.created) + 2_000;
        if vm.brand == "kvm" {
            records.push((
                t,
                format!(
                    "zfs create -o canmount=noauto -o quota=10g zones/{}",
                    vm.uuid
                ),
            ));
            records.push((
                t + 800,
                format!(
                    "zfs clone -F -o refreservation=10240M zones/{}@final zones/{}-disk0",
                    vm.image_uuid, vm.uuid
                ),
            ));
        } else {
            records.push((
                t,
                format!(
                    "zfs clone -F -o quota={}g zones/{}@final zones/{}",
                    vm.quota_gb, vm.image_uuid, vm.uuid
                ),
            ));
        }
        if vm.destroyed {
            records.push((t + 30 * 60_000, format!("zfs destroy -r zones/{}", vm.uuid)));
        }
    }
    records.extend(host.zpool.iter().cloned());
    records.sort_by_key(|r| r.0);
    records
        .into_iter()
        .map(|(t, cmd)| crate::formats::zpool::record(t, &cmd))
        .collect()
}

pub fn zpool_status() -> String {
    "  pool: zones\n state: ONLINE\n  scan: scrub repaired 0 in 2h13m with 0 errors\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\tzones       ONLINE       0     0     0\n\t  mirror-0  ONLINE       0     0     0\n\t    c0t0d0  ONLINE       0     0     0\n\t    c0t1d0  ONLINE       0     0     0\n\t  mirror-1  ONLINE       0     0     0\n\t    c0t2d0  ONLINE       0     0     0\n\t    c0t3d0  ONLINE       0     0     0\n\nerrors: No known data errors\n".to_string()
}
