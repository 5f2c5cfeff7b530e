//! The common datacenter every scenario starts from: a headnode with its core zones, three
//! compute nodes with customer VMs, images, networks and packages, and the declared log streams.

use std::collections::BTreeMap;

use triton_fake::state::Service;

use crate::clock::{self, Ms, DAY, HOUR, MINUTE, SECOND};
use crate::logs::{Logs, Rotation};
use crate::rng::SimRng;
use crate::world::{Era, Host, Image, Network, Nic, Package, Svc, Vm, World};

/// How the story is placed in time.
pub struct Timing {
    /// When the story starts (headnode clock).
    pub anchor: Ms,
    /// When the operator looks.
    pub now: Ms,
}

/// Places a story of about `story_len` so that it crosses an hour boundary (the logs of the job
/// window are split between a rotated hour and the live log) and is looked at a little later.
pub fn timing(seed: u64, era: Era, story_len: Ms) -> Timing {
    let mut rng = SimRng::new(seed, "timing");
    let day = match era {
        Era::Modern => clock::days_from_civil(2024, 1, 8) + rng.range(0, 600),
        Era::Legacy => clock::days_from_civil(2013, 12, 2) + rng.range(0, 80),
    };
    let hour = rng.range(1, 22);
    let boundary = day * DAY + hour * HOUR;
    let anchor = boundary - rng.range(90, 200) * SECOND - rng.range(0, 1000);
    let now = anchor + story_len + rng.range(12, 35) * MINUTE + rng.range(0, 60_000);
    Timing { anchor, now }
}

pub fn build(scenario: &str, seed: u64, scale: u32, era: Era, timing: &Timing) -> World {
    let mut rng = SimRng::new(seed, "baseline");
    let now = timing.now;
    let history_start = clock::hour_floor(timing.anchor) - 3 * HOUR + rng.range(5, 40) * MINUTE;
    let datacenter = rng
        .pick(&[
            "us-east-1",
            "us-west-1",
            "eu-ams-1",
            "us-sw-1",
            "eu-central-1",
        ])
        .to_string();
    let admin_prefix = format!("10.{}.{}", rng.range(64, 200), rng.range(0, 250));
    let external_prefix = format!("172.{}.{}", rng.range(16, 31), rng.range(0, 250));
    let platform = match era {
        Era::Modern => {
            clock::compact_stamp(clock::hour_floor(timing.anchor) - rng.range(20, 120) * DAY)
        }
        Era::Legacy => "20131120T074720Z".to_string(),
    };

    let admin_net = Network {
        uuid: rng.uuid(),
        name: "admin".into(),
        nic_tag: "admin".into(),
        vlan_id: 0,
        prefix: admin_prefix.clone(),
        next_host: 20,
        provision_end: 250,
        owner: None,
    };
    let external_net = Network {
        uuid: rng.uuid(),
        name: "external".into(),
        nic_tag: "external".into(),
        vlan_id: rng.range(100, 900) as u32,
        prefix: external_prefix,
        next_host: 30,
        provision_end: 250,
        owner: None,
    };

    let mut hn = new_host(
        &mut rng,
        true,
        "headnode".into(),
        format!("{admin_prefix}.7"),
        0,
        &platform,
    );
    hn.ram_mb = 262_144;
    let mut cns = Vec::new();
    for i in 0..3 {
        let hostname = rng.serial();
        let skew = match i {
            0 => rng.range(2_000, 6_500) * if rng.chance(0.5) { 1 } else { -1 },
            _ => rng.range(-3_000, 3_000),
        };
        let ip = format!("{admin_prefix}.{}", 11 + i);
        cns.push(new_host(&mut rng, false, hostname, ip, skew, &platform));
    }
    for host in cns.iter_mut() {
        let agents: &[&str] = match era {
            Era::Modern => &["cn-agent", "vm-agent", "net-agent", "vmadmd"],
            Era::Legacy => &["provisioner", "heartbeater", "vmadmd"],
        };
        for agent in agents {
            host.pids.insert((*agent).to_string(), rng.pid());
        }
        host.services.insert(
            "global".into(),
            global_services(era, history_start - 20 * DAY),
        );
    }
    hn.services.insert(
        "global".into(),
        global_services(era, history_start - 40 * DAY),
    );

    let admin_uuid = rng.uuid();
    let customers: Vec<String> = (0..4).map(|_| rng.uuid()).collect();
    let images = images(&mut rng, era, timing.anchor);
    let packages = packages(&mut rng);

    let mut world = World {
        scenario: scenario.to_string(),
        seed,
        scale,
        rng: SimRng::new(seed, &format!("world-{scenario}")),
        era,
        datacenter,
        now,
        history_start,
        admin_uuid: admin_uuid.clone(),
        hn,
        cns,
        vms: Vec::new(),
        images,
        networks: vec![admin_net, external_net],
        packages,
        customers,
        svc_pids: BTreeMap::new(),
        logs: Logs::default(),
        jobs: Vec::new(),
        tasks: BTreeMap::new(),
        expected: Vec::new(),
        noise_vms: Vec::new(),
        noise_jobs: Vec::new(),
        files: Vec::new(),
        symlinks: Vec::new(),
        unavailable: Vec::new(),
    };

    add_core_zones(&mut world, &mut rng);
    add_customer_vms(&mut world, &mut rng);
    for host_i in 0..world.cns.len() {
        // Every CN has the images of its VMs; the first CN also has the common base image.
        let on_host: Vec<String> = world
            .vms
            .iter()
            .filter(|v| v.server.as_deref() == Some(world.cns[host_i].server_uuid.as_str()))
            .map(|v| v.image_uuid.clone())
            .collect();
        let host = &mut world.cns[host_i];
        for img in on_host {
            if !host.installed_images.contains(&img) {
                host.installed_images.push(img);
            }
        }
    }
    declare_streams(&mut world);
    world
}

fn new_host(
    rng: &mut SimRng,
    headnode: bool,
    hostname: String,
    admin_ip: String,
    skew: Ms,
    platform: &str,
) -> Host {
    let server_uuid = rng.server_uuid();
    let root = if headnode {
        "hn".to_string()
    } else {
        format!("cn/{server_uuid}")
    };
    Host {
        server_uuid,
        hostname,
        headnode,
        root,
        admin_ip,
        skew,
        ram_mb: *rng.pick(&[131_072, 196_608, 262_144]),
        platform: platform.to_string(),
        reachable: true,
        installed_images: Vec::new(),
        partial_images: Vec::new(),
        zpool: Vec::new(),
        services: BTreeMap::new(),
        pids: BTreeMap::new(),
    }
}

fn svc(fmri: &str, state: &str, since: Ms, description: &str, log: &str) -> Service {
    Service {
        fmri: fmri.to_string(),
        state: state.to_string(),
        since: clock::iso_s(since),
        description: description.to_string(),
        log: log.to_string(),
        reason: None,
    }
}

fn global_services(era: Era, since: Ms) -> Vec<Service> {
    let mut out = vec![
        svc(
            "svc:/system/smartdc/vmadmd:default",
            "online",
            since,
            "VM Management Daemon",
            "/var/svc/log/system-smartdc-vmadmd:default.log",
        ),
        svc(
            "svc:/system/smartdc/metadata:default",
            "online",
            since,
            "Metadata agent",
            "/var/svc/log/system-smartdc-metadata:default.log",
        ),
    ];
    match era {
        Era::Modern => {
            out.push(svc(
                "svc:/smartdc/agent/cn-agent:default",
                "online",
                since,
                "Triton Compute Node Agent",
                "/var/svc/log/smartdc-agent-cn-agent:default.log",
            ));
            out.push(svc(
                "svc:/smartdc/agent/vm-agent:default",
                "online",
                since,
                "Triton VM Agent",
                "/var/svc/log/smartdc-agent-vm-agent:default.log",
            ));
            out.push(svc(
                "svc:/smartdc/agent/net-agent:default",
                "online",
                since,
                "Triton Net Agent",
                "/var/svc/log/smartdc-agent-net-agent:default.log",
            ));
        }
        Era::Legacy => {
            out.push(svc(
                "svc:/smartdc/agent/provisioner:default",
                "online",
                since,
                "Provisioner Agent",
                "/var/svc/log/smartdc-agent-provisioner:default.log",
            ));
            out.push(svc(
                "svc:/smartdc/agent/heartbeater:default",
                "online",
                since,
                "Heartbeater Agent",
                "/var/svc/log/smartdc-agent-heartbeater:default.log",
            ));
        }
    }
    out
}

fn images(rng: &mut SimRng, era: Era, anchor: Ms) -> Vec<Image> {
    let specs: &[(&str, &str, &str, &str, u64)] = match era {
        Era::Modern => &[
            (
                "base-64-lts",
                "23.4.0",
                "smartos",
                "zone-dataset",
                155_000_000,
            ),
            (
                "ubuntu-certified-22.04",
                "20231215",
                "linux",
                "zvol",
                642_000_000,
            ),
            (
                "minimal-64-lts",
                "23.4.0",
                "smartos",
                "zone-dataset",
                61_000_000,
            ),
            ("centos-7", "20230622", "linux", "zvol", 803_000_000),
        ],
        Era::Legacy => &[
            ("base64", "13.3.0", "smartos", "zone-dataset", 113_000_000),
            ("ubuntu-12.04", "2.5.1", "linux", "zvol", 363_000_000),
            ("smartos64", "1.6.3", "smartos", "zone-dataset", 47_480_510),
            (
                "Pandarus",
                "20140115T210902Z",
                "smartos",
                "zone-dataset",
                453_477_472,
            ),
        ],
    };
    let joyent = rng.uuid();
    let mut out: Vec<Image> = specs
        .iter()
        .map(|(name, version, os, kind, size)| Image {
            uuid: rng.uuid(),
            name: (*name).to_string(),
            version: (*version).to_string(),
            os: (*os).to_string(),
            kind: (*kind).to_string(),
            size: *size + rng.range(0, 900_000) as u64,
            published: anchor - rng.range(30, 400) * DAY,
            owner: joyent.clone(),
            origin: None,
            sha1: rng.hex(40),
        })
        .collect();
    // The last (customer) image derives from a base image. In the legacy era it is a base of its
    // own that no other VM uses (as in the guide's race: `base 13.4.0` under `Pandarus`), so a
    // compute node can lack it while its other VMs run; drawn from a forked stream so the other
    // objects keep their ids.
    let base = match era {
        Era::Legacy => {
            let mut fork = rng.fork("customer-image-origin");
            let origin = Image {
                uuid: fork.uuid(),
                name: "base".to_string(),
                version: "13.4.0".to_string(),
                os: "smartos".to_string(),
                kind: "zone-dataset".to_string(),
                size: 118_000_000 + fork.range(0, 900_000) as u64,
                published: anchor - fork.range(30, 400) * DAY,
                owner: joyent.clone(),
                origin: None,
                sha1: fork.hex(40),
            };
            let uuid = origin.uuid.clone();
            out.push(origin);
            uuid
        }
        _ => out[0].uuid.clone(),
    };
    let customer = specs.len() - 1;
    if out[customer].kind == "zone-dataset" {
        out[customer].origin = Some(base);
    }
    out
}

fn packages(rng: &mut SimRng) -> Vec<Package> {
    [
        ("g4-highcpu-1G", 1024, 25, 1),
        ("g4-general-4G", 4096, 80, 2),
        ("g4-general-8G", 8192, 160, 4),
        ("g4-highram-32G", 32_768, 400, 8),
    ]
    .iter()
    .map(|(name, ram, quota, vcpus)| Package {
        uuid: rng.uuid(),
        name: (*name).to_string(),
        ram_mb: *ram,
        quota_gb: *quota,
        vcpus: *vcpus,
    })
    .collect()
}

fn add_core_zones(world: &mut World, rng: &mut SimRng) {
    let roles = [
        "vmapi", "cnapi", "workflow", "imgapi", "napi", "fwapi", "ufds", "cloudapi", "adminui",
        "rabbitmq", "sapi", "papi",
    ];
    let admin_net = world.networks[0].clone();
    let image = world.images[0].uuid.clone();
    for role in roles {
        let uuid = rng.uuid();
        let created = world.history_start - rng.range(30, 300) * DAY;
        let ip = world.next_ip(&admin_net.uuid);
        world.vms.push(Vm {
            uuid,
            alias: format!("{role}0"),
            owner: world.admin_uuid.clone(),
            brand: "joyent-minimal".into(),
            image_uuid: image.clone(),
            ram_mb: if role == "ufds" || role == "cloudapi" {
                1024
            } else {
                512
            },
            quota_gb: 25,
            vcpus: 1,
            billing_id: "00000000-0000-0000-0000-000000000000".into(),
            server: Some(world.hn.server_uuid.clone()),
            state: "running".into(),
            zone_state: "running".into(),
            created,
            nics: vec![Nic {
                mac: rng.mac(),
                ip,
                network_uuid: admin_net.uuid.clone(),
                nic_tag: "admin".into(),
                vlan_id: 0,
                gateway: admin_net.gateway(),
                netmask: "255.255.255.0".into(),
                primary: true,
                interface: "net0".into(),
            }],
            role: Some(role.to_string()),
            destroyed: false,
            failed_provision: false,
            provisioning_marker: false,
            on_host: true,
        });
    }
    for svc in Svc::ALL {
        let pid = rng.pid();
        world.svc_pids.insert(svc, pid);
    }
}

/// Creates a customer VM record (not yet placed in any log).
pub fn new_customer_vm(
    world: &mut World,
    rng: &mut SimRng,
    brand: &str,
    image_uuid: &str,
    package: usize,
    server: Option<&str>,
    created: Ms,
) -> Vm {
    let owner = rng.pick(&world.customers).clone();
    let pkg = world.packages[package.min(world.packages.len() - 1)].clone();
    let ext = world.networks[1].clone();
    let ip = world.next_ip(&ext.uuid);
    let word = *rng.pick(&[
        "web", "db", "api", "cache", "build", "worker", "proxy", "mq",
    ]);
    Vm {
        uuid: rng.uuid(),
        alias: format!("{word}{}", rng.range(1, 40)),
        owner,
        brand: brand.to_string(),
        image_uuid: image_uuid.to_string(),
        ram_mb: pkg.ram_mb,
        quota_gb: pkg.quota_gb,
        vcpus: pkg.vcpus,
        billing_id: pkg.uuid.clone(),
        server: server.map(str::to_string),
        state: "running".into(),
        zone_state: "running".into(),
        created,
        nics: vec![Nic {
            mac: rng.mac(),
            ip,
            network_uuid: ext.uuid.clone(),
            nic_tag: "external".into(),
            vlan_id: ext.vlan_id,
            gateway: ext.gateway(),
            netmask: "255.255.255.0".into(),
            primary: true,
            interface: "net0".into(),
        }],
        role: None,
        destroyed: false,
        failed_provision: false,
        provisioning_marker: false,
        on_host: true,
    }
}

fn add_customer_vms(world: &mut World, rng: &mut SimRng) {
    for i in 0..world.cns.len() {
        let server = world.cns[i].server_uuid.clone();
        let count = rng.range(3, 6);
        for n in 0..count {
            let (brand, image) = if n % 3 == 2 {
                ("kvm", world.images[1].uuid.clone())
            } else {
                ("joyent", world.images[0].uuid.clone())
            };
            let created = world.history_start - rng.range(1, 200) * DAY - rng.range(0, DAY);
            let pkg = rng.below(3);
            let mut vm = new_customer_vm(world, rng, brand, &image, pkg, Some(&server), created);
            if rng.chance(0.15) {
                vm.state = "stopped".into();
                vm.zone_state = "installed".into();
            }
            world.vms.push(vm);
        }
    }
}

/// Declares every log stream of the baseline (core services on the HN, agents on the CNs).
fn declare_streams(world: &mut World) {
    let hn = world.hn.server_uuid.clone();
    for svc in Svc::ALL {
        let path = world.svc_path(svc);
        let zone = world.zone(svc.role()).uuid.clone();
        let rotation = Rotation::Upload {
            dir: format!("/zones/{zone}/root/var/log/sdc/upload"),
            name: svc.rotation_name().into(),
            nodename: zone,
        };
        world.declare(&hn, &path, rotation);
    }
    let rabbit = format!(
        "/zones/{}/root/var/log/rabbitmq/rabbit.log",
        world.zone("rabbitmq").uuid
    );
    world.declare(&hn, &rabbit, Rotation::None);
    let cns: Vec<(String, String)> = world
        .cns
        .iter()
        .map(|h| (h.server_uuid.clone(), h.hostname.clone()))
        .collect();
    for (uuid, hostname) in cns {
        for (path, rotation) in cn_streams(world.era, &hostname) {
            world.declare(&uuid, &path, rotation);
        }
    }
}

/// Live agent logs of a CN global zone and how each rotates.
pub fn cn_streams(era: Era, hostname: &str) -> Vec<(String, Rotation)> {
    let agent = |dir: &str, name: &str| Rotation::Agent {
        dir: dir.into(),
        name: name.into(),
        nodename: hostname.into(),
    };
    let mut out = vec![(
        "/var/svc/log/system-smartdc-vmadmd:default.log".to_string(),
        Rotation::None,
    )];
    match era {
        Era::Modern => {
            out.push((CN_AGENT_LOG.into(), agent("/var/log/cn-agent", "cn-agent")));
            out.push((VM_AGENT_LOG.into(), agent("/var/log/vm-agent", "vm-agent")));
            out.push((
                "/var/svc/log/smartdc-agent-net-agent:default.log".into(),
                agent("/var/log/net-agent", "net-agent"),
            ));
        }
        Era::Legacy => {
            out.push((
                PROVISIONER_LOG.into(),
                agent("/var/log/provisioner", "provisioner"),
            ));
            out.push((HEARTBEATER_LOG.into(), Rotation::None));
        }
    }
    out
}

pub const CN_AGENT_LOG: &str = "/var/svc/log/smartdc-agent-cn-agent:default.log";
pub const VM_AGENT_LOG: &str = "/var/svc/log/smartdc-agent-vm-agent:default.log";
pub const NET_AGENT_LOG: &str = "/var/svc/log/smartdc-agent-net-agent:default.log";
pub const PROVISIONER_LOG: &str = "/var/svc/log/smartdc-agent-provisioner:default.log";
pub const HEARTBEATER_LOG: &str = "/var/svc/log/smartdc-agent-heartbeater:default.log";
pub const VMADMD_LOG: &str = "/var/svc/log/system-smartdc-vmadmd:default.log";
