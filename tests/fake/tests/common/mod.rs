//! A small hand-built simulated datacenter and a runner for the real `triton-fake` binary.
//!
//! The objects follow real Triton shapes: a failed `provision-8.2.4` job (chain, chain_results
//! with a `cnapi.wait_task` error, onerror results), a KVM VM, a headnode with core zones, one
//! reachable compute node with a `-partial` image dataset and its `zpool history`, and one
//! unreachable compute node.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use triton_fake::state::{Api, Dataset, Host, HostRole, PoolHistory, Service, SimState};

pub const HN: &str = "564d9d7e-2c8b-4a7e-9b2b-6a1b3c3c1a01";
pub const CN1: &str = "44454c4c-3800-1056-8050-b4c04f383432";
pub const CN2: &str = "44454c4c-3800-1056-8050-c7c04f383499";
pub const ADMIN: &str = "930896af-bf8c-48d4-885c-6573a94b1853";
pub const VM: &str = "dfe792dc-6d37-4da6-b400-f736c5cbb445";
pub const OTHER_VM: &str = "7b1f6e4e-2f0a-4a39-9b8e-0b8bfbd2b6c3";
pub const JOB: &str = "7c992699-6166-42bd-94ba-1de449d20d7e";
pub const DESTROY_JOB: &str = "b0d9b3a4-5a61-4f52-9b7c-3d2a8c1e5f10";
pub const OTHER_JOB: &str = "0f4c7a2e-8d3b-4c1a-a5e6-9f8b7c6d5e4a";
pub const IMAGE: &str = "fd2cc906-8938-11e3-beab-4359c665ac99";
pub const KVM_IMAGE: &str = "2b683a82-a066-11e3-97ab-2faa44701c5a";
pub const VMAPI_ZONE: &str = "a8e2c9d2-1f7b-4a4d-9c3e-5b6a7d8e9f01";
pub const CNAPI_ZONE: &str = "b9f3dae3-2a8c-4b5e-8d4f-6c7b8e9f0a12";
pub const WORKFLOW_ZONE: &str = "c0a4ebf4-3b9d-4c6f-9e5a-7d8c9f0a1b23";
pub const TASK: &str = "5f3c6b1e-9a2d-4e7f-8b1c-2d3e4f5a6b7c";
pub const NETWORK: &str = "1c3e5f7a-9b2d-4f6e-8a1c-3e5f7a9b2d4f";

pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_triton-fake")
}

/// A simulated datacenter on disk: state.json, wrappers, a few host files.
pub struct Dc {
    pub tmp: tempfile::TempDir,
}

impl Dc {
    pub fn new() -> Dc {
        Dc::with(|_| {})
    }

    /// Builds the standard datacenter after letting the test adjust its state.
    pub fn with(adjust: impl FnOnce(&mut SimState)) -> Dc {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut state = standard_state();
        adjust(&mut state);
        state.save(tmp.path()).expect("save state");
        triton_fake::install(tmp.path(), Path::new(exe())).expect("install");
        let cn = tmp.path().join("cn").join(CN1);
        write(&cn.join("etc/motd"), "SmartOS (build: 20240118T000000Z)\n");
        write(
            &cn.join("var/log/vm/logs/1705575600000-012345-create.log"),
            "{\"msg\":\"create\"}\n",
        );
        write(&cn.join(format!("zones/{VM}/root/tmp/vm.log")), VM_LOG);
        std::fs::create_dir_all(cn.join("var/tmp")).expect("mkdir");
        write(&tmp.path().join("hn/etc/motd"), "headnode motd\n");
        Dc { tmp }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs `triton-fake <command> args...` as the headnode (`host` = None) or a node.
    pub fn run(&self, command: &str, args: &[&str], host: Option<&str>) -> Output {
        let mut cmd = Command::new(exe());
        cmd.arg(command)
            .args(args)
            .env("TRITON_SIM_DIR", self.dir())
            .env_remove("TRITON_SIM_HOST");
        if let Some(h) = host {
            cmd.env("TRITON_SIM_HOST", h);
        }
        cmd.stdin(Stdio::null()).output().expect("run triton-fake")
    }

    /// Runs a wrapper from `DIR/bin` through `sh`, like an operator would.
    pub fn sh(&self, script: &str) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg(format!(". '{}/env.sh'; {script}", self.dir().display()))
            .env_remove("TRITON_SIM_HOST")
            .stdin(Stdio::null())
            .output()
            .expect("run sh")
    }

    pub fn cn_path(&self, path: &str) -> PathBuf {
        self.dir()
            .join("cn")
            .join(CN1)
            .join(path.trim_start_matches('/'))
    }
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const VM_LOG: &str = "== Zone privileges ==\nfile_link_any\n=== ARGV ===\n/smartdc/bin/qemu-system-x86_64\n=== OUTPUT (2024-01-18T10:02:11Z) ===\nFailed to allocate memory: Resource temporarily unavailable\n";

fn task(name: &str, timeout: u64) -> Value {
    json!({"name": name, "timeout": timeout, "retry": 1, "body": "function (job, cb) { return cb(null); }", "modules": {}})
}

fn ok(name: &str, result: &str, started: &str, finished: &str) -> Value {
    json!({"result": result, "error": "", "name": name, "started_at": started, "finished_at": finished})
}

/// The failed provision: `cnapi.wait_task` fails with the qemu-out-of-memory vmadm error.
pub fn provision_job() -> Value {
    let chain: Vec<Value> = [
        ("common.validate_params", 10),
        ("workflow.set_job_action", 10),
        ("imgapi.generate_passwords", 10),
        ("cnapi.ensure_image", 300),
        ("cnapi.wait_task_ensure_image", 3600),
        ("prepare_payload", 10),
        ("cnapi.provision_vm", 10),
        ("cnapi.wait_task", 3600),
        ("volapi.add_volumes_references", 120),
        ("vmapi.put_vm", 120),
        ("fwapi.update", 10),
        ("cnapi.release_vm_ticket", 60),
    ]
    .iter()
    .map(|(n, t)| task(n, *t))
    .collect();
    let onerror: Vec<Value> = [
        "napi.cleanup_nics",
        "set_post_back_failed",
        "common.post_back",
        "cnapi.cleanup_allocation_ticket",
        "cnapi.cleanup_vm_ticket",
        "vmapi.refresh_vm_on_error",
        "On error",
    ]
    .iter()
    .map(|n| task(n, 10))
    .collect();
    json!({
        "name": "provision-8.2.4",
        "uuid": JOB,
        "chain": chain,
        "onerror": onerror,
        "timeout": 3810,
        "workflow_uuid": "3f7e9b0c-1d2a-4b5c-8e6f-7a8b9c0d1e2f",
        "exec_after": "2024-01-18T10:00:00.000Z",
        "params": {
            "task": "provision",
            "vm_uuid": VM,
            "owner_uuid": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "server_uuid": CN1,
            "image_uuid": KVM_IMAGE,
            "brand": "kvm",
            "ram": 4096,
            "x-request-id": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
            "cnapi_url": "http://cnapi.us-east-1.example.com",
            "vmapi_url": "http://vmapi.us-east-1.example.com",
            "napi_url": "http://napi.us-east-1.example.com",
            "dapi_url": "http://dapi.us-east-1.example.com",
            "expects": "running"
        },
        "target": format!("/provision-{VM}"),
        "execution": "failed",
        "num_attempts": 0,
        "chain_results": [
            ok("common.validate_params", "All parameters OK!", "2024-01-18T10:00:00.120Z", "2024-01-18T10:00:00.180Z"),
            ok("workflow.set_job_action", "Action set", "2024-01-18T10:00:00.200Z", "2024-01-18T10:00:00.260Z"),
            ok("imgapi.generate_passwords", "No need to generate passwords for image", "2024-01-18T10:00:00.280Z", "2024-01-18T10:00:00.350Z"),
            ok("cnapi.ensure_image", "Ensure image task queued!", "2024-01-18T10:00:00.370Z", "2024-01-18T10:00:00.450Z"),
            ok("cnapi.wait_task_ensure_image", "Job succeeded!", "2024-01-18T10:00:00.470Z", "2024-01-18T10:00:31.000Z"),
            ok("prepare_payload", "Payload prepared successfully", "2024-01-18T10:00:31.020Z", "2024-01-18T10:00:31.060Z"),
            ok("cnapi.provision_vm", "Provision queued as task 5f3c6b1e", "2024-01-18T10:00:31.080Z", "2024-01-18T10:00:31.200Z"),
            {
                "result": "",
                "error": {"name": "Error", "message": "vmadm exited with code: 1: timed out waiting for /var/svc/provisioning to move for dfe792dc-6d37-4da6-b400-f736c5cbb445"},
                "name": "cnapi.wait_task",
                "started_at": "2024-01-18T10:00:31.220Z",
                "finished_at": "2024-01-18T10:07:42.000Z"
            }
        ],
        "onerror_results": [
            ok("napi.cleanup_nics", "OK", "2024-01-18T10:07:42.100Z", "2024-01-18T10:07:42.300Z"),
            {"result": "", "error": "Error executing job", "name": "On error", "started_at": "2024-01-18T10:07:43.000Z", "finished_at": "2024-01-18T10:07:43.050Z"}
        ],
        "created_at": "2024-01-18T10:00:00.050Z",
        "started": 1_705_572_000_100u64,
        "elapsed": 463.2,
        "runner_id": WORKFLOW_ZONE
    })
}

fn small_job(uuid: &str, name: &str, vm: &str, execution: &str, created: &str) -> Value {
    json!({
        "name": name, "uuid": uuid, "chain": [task("cnapi.destroy_vm", 10)], "timeout": 180,
        "params": {"task": name.split('-').next().unwrap_or(name), "vm_uuid": vm, "vmapi_url": "http://vmapi"},
        "execution": execution, "chain_results": [], "created_at": created, "exec_after": created
    })
}

fn kvm_vm(state: &str) -> Value {
    json!({
        "uuid": VM, "zonename": VM, "zonepath": format!("/zones/{VM}"), "alias": "web-1", "brand": "kvm",
        "state": state, "zone_state": "installed", "ram": 4096, "max_physical_memory": 5120, "quota": 10,
        "owner_uuid": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "billing_id": "0ea54d9d-8d4d-4959-a87e-bf47c0f61a47",
        "create_timestamp": "2024-01-18T10:00:32.000Z", "server_uuid": CN1, "image_uuid": KVM_IMAGE,
        "nics": [{"mac": "90:b8:d0:aa:bb:cc", "ip": "10.88.88.50", "nic_tag": "external", "primary": true}],
        "disks": [{"path": format!("/dev/zvol/rdsk/zones/{VM}-disk0"), "image_uuid": KVM_IMAGE, "size": 10240}],
        "customer_metadata": {}, "internal_metadata": {}, "tags": {}, "archive_on_delete": true
    })
}

fn core_zone(uuid: &str, role: &str, ram: u64) -> Value {
    json!({
        "uuid": uuid, "zonename": uuid, "zonepath": format!("/zones/{uuid}"), "alias": format!("{role}0"),
        "brand": "joyent-minimal", "state": "running", "zone_state": "running", "max_physical_memory": ram,
        "owner_uuid": ADMIN, "tags": {"smartdc_role": role, "smartdc_type": "core"}, "image_uuid": IMAGE,
        "create_timestamp": "2023-11-02T08:00:00.000Z"
    })
}

fn image_info(
    uuid: &str,
    name: &str,
    version: &str,
    os: &str,
    kind: &str,
    published: &str,
) -> Value {
    json!({
        "manifest": {
            "v": 2, "uuid": uuid, "owner": "00000000-0000-0000-0000-000000000000", "name": name, "version": version,
            "state": "active", "disabled": false, "public": true, "published_at": published, "type": kind, "os": os,
            "files": [{"sha1": "97f20b32c2016782257176fb58a35e5044f05840", "size": 46271847, "compression": "bzip2"}]
        },
        "zpool": "zones",
        "source": "https://images.smartos.org"
    })
}

fn ds(name: &str, used: &str, avail: &str, refer: &str, mountpoint: &str) -> Dataset {
    Dataset {
        name: name.into(),
        used: used.into(),
        avail: avail.into(),
        refer: refer.into(),
        mountpoint: mountpoint.into(),
    }
}

fn svc(fmri: &str, state: &str, since: &str, description: &str, log: &str) -> Service {
    Service {
        fmri: fmri.into(),
        state: state.into(),
        since: since.into(),
        description: description.into(),
        log: log.into(),
        reason: None,
    }
}

fn host(uuid: &str, hostname: &str, role: HostRole, root: &str) -> Host {
    Host {
        server_uuid: uuid.into(),
        hostname: hostname.into(),
        role,
        root: root.into(),
        reachable: true,
        platform_image: "20240118T000000Z".into(),
        admin_ip: "10.99.99.7".into(),
        sysinfo: json!({
            "Live Image": "20240118T000000Z", "System Type": "SunOS", "Boot Time": "1705400000",
            "Datacenter Name": "us-east-1", "UUID": uuid, "Hostname": hostname, "Manufacturer": "Dell Inc.",
            "CPU Physical Cores": 2, "MiB of Memory": "131039", "Zpool": "zones", "Setup": "true",
            "Network Interfaces": {"ixgbe0": {"MAC Address": "00:1b:21:aa:bb:cc", "ip4addr": "10.99.99.7", "NIC Names": ["admin"]}}
        }),
        vms: Vec::new(),
        images: Vec::new(),
        datasets: vec![ds("zones", "512G", "1.20T", "640K", "/zones")],
        zpool_history: Vec::new(),
        zpool_status: "  pool: zones\n state: ONLINE\n  scan: none requested\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\tzones       ONLINE       0     0     0\n\t  c0t0d0    ONLINE       0     0     0\n\nerrors: No known data errors\n".into(),
        services: Default::default(),
        faults: Vec::new(),
    }
}

pub fn standard_state() -> SimState {
    let mut hn = host(HN, "headnode", HostRole::Headnode, "hn");
    hn.vms = vec![
        core_zone(VMAPI_ZONE, "vmapi", 512),
        core_zone(CNAPI_ZONE, "cnapi", 1024),
        core_zone(WORKFLOW_ZONE, "workflow", 512),
    ];
    hn.images = vec![image_info(
        IMAGE,
        "sdc-minimal-multiarch-lts",
        "15.4.1",
        "smartos",
        "zone-dataset",
        "2016-06-01T00:00:00.000Z",
    )];
    hn.services.insert(
        "global".into(),
        vec![svc(
            "svc:/smartdc/agent/cn-agent:default",
            "online",
            "2024-01-16T08:00:00Z",
            "Triton CN agent",
            "/var/svc/log/smartdc-agent-cn-agent:default.log",
        )],
    );

    let mut cn1 = host(CN1, "cn1", HostRole::ComputeNode, &format!("cn/{CN1}"));
    cn1.vms = vec![kvm_vm("failed")];
    cn1.images = vec![
        image_info(
            KVM_IMAGE,
            "ubuntu-certified-14.04",
            "20140227",
            "linux",
            "zvol",
            "2014-03-04T21:08:41.000Z",
        ),
        image_info(
            IMAGE,
            "sdc-minimal-multiarch-lts",
            "15.4.1",
            "smartos",
            "zone-dataset",
            "2016-06-01T00:00:00.000Z",
        ),
    ];
    cn1.datasets = vec![
        ds("zones", "512G", "1.20T", "640K", "/zones"),
        ds(
            &format!("zones/{KVM_IMAGE}"),
            "1.45G",
            "1.20T",
            "1.45G",
            "-",
        ),
        ds(&format!("zones/{KVM_IMAGE}@final"), "0", "-", "1.45G", "-"),
        ds(
            &format!("zones/{IMAGE}-partial"),
            "206M",
            "1.20T",
            "206M",
            &format!("/zones/{IMAGE}-partial"),
        ),
        ds(
            &format!("zones/{VM}"),
            "38.5K",
            "10.0G",
            "38.5K",
            &format!("/zones/{VM}"),
        ),
        ds(&format!("zones/{VM}-disk0"), "206K", "1.20T", "1.45G", "-"),
        ds("zones/var", "2.01G", "1.20T", "2.01G", "/var"),
    ];
    cn1.zpool_history = vec![PoolHistory {
        pool: "zones".into(),
        records: vec![
            "2014-03-25.23:55:39 zpool create -f zones c0t0d0".into(),
            format!("2024-01-18.10:00:05 zfs receive zones/{IMAGE}-partial"),
            format!("2024-01-18.10:00:30 zfs rename zones/{KVM_IMAGE}-partial zones/{KVM_IMAGE}"),
            format!(
                "2024-01-18.10:00:32 zfs clone -F -o quota=10g zones/{KVM_IMAGE}@final zones/{VM}"
            ),
        ],
    }];
    cn1.services.insert(
        "global".into(),
        vec![
            svc(
                "svc:/smartdc/agent/cn-agent:default",
                "online",
                "2024-01-16T08:00:00Z",
                "Triton CN agent",
                "/var/svc/log/smartdc-agent-cn-agent:default.log",
            ),
            svc(
                "svc:/system/smartdc/vmadmd:default",
                "online",
                "2024-01-18T11:30:00Z",
                "vmadmd",
                "/var/svc/log/system-smartdc-vmadmd:default.log",
            ),
            svc(
                "svc:/network/ntp:default",
                "disabled",
                "2024-01-16T08:00:00Z",
                "NTP",
                "/var/svc/log/network-ntp:default.log",
            ),
        ],
    );
    let mut zoneinit = svc(
        "svc:/system/zoneinit:default",
        "maintenance",
        "2024-01-18T10:05:31Z",
        "zone initialization",
        "/var/svc/log/system-zoneinit:default.log",
    );
    zoneinit.reason = Some("Start method failed repeatedly, last exited with status 1.".into());
    cn1.services.insert(VM.into(), vec![zoneinit]);

    let mut cn2 = host(CN2, "cn2", HostRole::ComputeNode, &format!("cn/{CN2}"));
    cn2.reachable = false;

    let mut api = Api::default();
    let mut api_vm = kvm_vm("failed");
    api_vm["state"] = json!("failed");
    api.vms.insert(VM.into(), api_vm);
    let mut other = kvm_vm("running");
    other["uuid"] = json!(OTHER_VM);
    other["create_timestamp"] = json!("2024-01-10T09:00:00.000Z");
    api.vms.insert(OTHER_VM.into(), other);
    api.jobs = vec![
        small_job(
            OTHER_JOB,
            "start-7.0.8",
            OTHER_VM,
            "succeeded",
            "2024-01-17T09:00:00.000Z",
        ),
        provision_job(),
        small_job(
            DESTROY_JOB,
            "destroy-8.0.2",
            VM,
            "succeeded",
            "2024-01-18T11:00:00.000Z",
        ),
    ];
    api.servers.insert(CN1.into(), json!({"uuid": CN1, "hostname": "cn1", "headnode": false, "setup": true, "status": "running", "ram": 131039}));
    api.servers.insert(HN.into(), json!({"uuid": HN, "hostname": "headnode", "headnode": true, "setup": true, "status": "running", "ram": 65536}));
    api.tasks.insert(TASK.into(), json!({"id": TASK, "req_id": "4a5b6c7d", "task": "machine_create", "server_uuid": CN1, "status": "failure", "timestamp": "2024-01-18T10:00:31.100Z", "history": [{"name": "error", "timestamp": "2024-01-18T10:07:41.900Z", "event": {"error": {"message": "vmadm exited with code: 1"}}}]}));
    api.images.insert(
        KVM_IMAGE.into(),
        image_info(
            KVM_IMAGE,
            "ubuntu-certified-14.04",
            "20140227",
            "linux",
            "zvol",
            "2014-03-04T21:08:41.000Z",
        )["manifest"]
            .clone(),
    );
    api.networks.insert(NETWORK.into(), json!({"uuid": NETWORK, "name": "external", "nic_tag": "external", "subnet": "10.88.88.0/24", "vlan_id": 0}));

    SimState {
        scenario: "kvm-qemu-out-of-memory".into(),
        seed: 1,
        datacenter: "us-east-1".into(),
        now: "2024-01-18T12:00:00Z".into(),
        admin_uuid: ADMIN.into(),
        headnode: hn,
        compute_nodes: vec![cn1, cn2],
        api,
    }
}

/// Splits `sdc-*` output into (status code, reason, headers, body JSON), checking the framing.
pub fn parse_http(text: &str) -> (u16, String, Vec<(String, String)>, Value) {
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("header block ends with CRLF CRLF");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(
        parts.next(),
        Some("HTTP/1.1"),
        "status line {status_line:?}"
    );
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let reason = parts.next().expect("reason").to_string();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("header line {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    let json: Value = serde_json::from_str(body).expect("body is JSON");
    (code, reason, headers, json)
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
