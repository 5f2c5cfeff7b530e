//! The simulated datacenter while a scenario is being told: hosts, core zones, customer VMs,
//! images, networks, jobs, CNAPI tasks, the log streams, and the clock.

use std::collections::BTreeMap;

use serde_json::Value;
use triton_fake::state::Service;

use crate::clock::Ms;
use crate::formats::bunyan::Logger;
use crate::logs::{EvTag, Logs, Rotation};
use crate::rng::SimRng;

/// Which generation of Triton the datacenter runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2013-2014: provisioner + heartbeater agents on the CNs.
    Legacy,
    /// cn-agent + vm-agent.
    Modern,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub server_uuid: String,
    pub hostname: String,
    pub headnode: bool,
    /// `hn` or `cn/<uuid>`.
    pub root: String,
    pub admin_ip: String,
    /// How far this host's clock is ahead of the headnode's.
    pub skew: Ms,
    pub ram_mb: u64,
    pub platform: String,
    pub reachable: bool,
    pub installed_images: Vec<String>,
    /// Image uuids with a leftover `zones/<uuid>-partial` dataset.
    pub partial_images: Vec<String>,
    /// `zpool history` records (time in the host's clock, command line).
    pub zpool: Vec<(Ms, String)>,
    /// SMF services per zone (`global` or a zone uuid).
    pub services: BTreeMap<String, Vec<Service>>,
    /// Agent pids by agent name (`cn-agent`, `vm-agent`, `provisioner`, ...).
    pub pids: BTreeMap<String, u32>,
}

impl Host {
    pub fn pid(&self, agent: &str) -> u32 {
        self.pids.get(agent).copied().unwrap_or(4242)
    }
}

#[derive(Debug, Clone)]
pub struct Nic {
    pub mac: String,
    pub ip: String,
    pub network_uuid: String,
    pub nic_tag: String,
    pub vlan_id: u32,
    pub gateway: String,
    pub netmask: String,
    pub primary: bool,
    pub interface: String,
}

#[derive(Debug, Clone)]
pub struct Vm {
    pub uuid: String,
    pub alias: String,
    pub owner: String,
    /// `joyent`, `joyent-minimal`, `kvm`.
    pub brand: String,
    pub image_uuid: String,
    pub ram_mb: u64,
    pub quota_gb: u64,
    pub vcpus: u32,
    pub billing_id: String,
    pub server: Option<String>,
    /// VMAPI state: `running`, `stopped`, `provisioning`, `failed`, `destroyed`.
    pub state: String,
    pub zone_state: String,
    pub created: Ms,
    pub nics: Vec<Nic>,
    /// `smartdc_role` tag of a core zone.
    pub role: Option<String>,
    /// Destroyed: gone from `vmadm`, kept in VMAPI as `destroyed`.
    pub destroyed: bool,
    /// zonecfg `failed=provisioning` was set by VM.js.
    pub failed_provision: bool,
    /// `/var/svc/provisioning` still in place (provisioning never finished).
    pub provisioning_marker: bool,
    /// The zone exists on its server (false when the provision failed before or while the zone
    /// was created and nothing was left behind).
    pub on_host: bool,
}

impl Vm {
    /// Whether `vmadm` on `server_uuid` knows this VM.
    pub fn on(&self, server_uuid: &str) -> bool {
        self.on_host && !self.destroyed && self.server.as_deref() == Some(server_uuid)
    }
}

#[derive(Debug, Clone)]
pub struct Image {
    pub uuid: String,
    pub name: String,
    pub version: String,
    pub os: String,
    /// `zone-dataset` or `zvol`.
    pub kind: String,
    pub size: u64,
    pub published: Ms,
    pub owner: String,
    pub origin: Option<String>,
    pub sha1: String,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub uuid: String,
    pub name: String,
    pub nic_tag: String,
    pub vlan_id: u32,
    /// First three octets, e.g. `10.99.99`.
    pub prefix: String,
    pub next_host: u32,
    pub provision_end: u32,
    pub owner: Option<String>,
}

impl Network {
    pub fn subnet(&self) -> String {
        format!("{}.0/24", self.prefix)
    }
    pub fn gateway(&self) -> String {
        format!("{}.1", self.prefix)
    }
}

#[derive(Debug, Clone)]
pub struct Package {
    pub uuid: String,
    pub name: String,
    pub ram_mb: u64,
    pub quota_gb: u64,
    pub vcpus: u32,
}

/// A core service on the headnode: which zone it runs in, its SMF log, its rotated-log name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Svc {
    Vmapi,
    Cnapi,
    WfApi,
    WfRunner,
    Imgapi,
    Napi,
    Fwapi,
    Ufds,
    Cloudapi,
    Adminui,
    Sapi,
    Papi,
}

impl Svc {
    pub const ALL: [Svc; 12] = [
        Svc::Vmapi,
        Svc::Cnapi,
        Svc::WfApi,
        Svc::WfRunner,
        Svc::Imgapi,
        Svc::Napi,
        Svc::Fwapi,
        Svc::Ufds,
        Svc::Cloudapi,
        Svc::Adminui,
        Svc::Sapi,
        Svc::Papi,
    ];

    /// The zone role (`smartdc_role` tag).
    pub fn role(self) -> &'static str {
        match self {
            Svc::Vmapi => "vmapi",
            Svc::Cnapi => "cnapi",
            Svc::WfApi | Svc::WfRunner => "workflow",
            Svc::Imgapi => "imgapi",
            Svc::Napi => "napi",
            Svc::Fwapi => "fwapi",
            Svc::Ufds => "ufds",
            Svc::Cloudapi => "cloudapi",
            Svc::Adminui => "adminui",
            Svc::Sapi => "sapi",
            Svc::Papi => "papi",
        }
    }

    /// SMF log file name in the zone's `/var/svc/log/`.
    pub fn smf_log(self) -> &'static str {
        match self {
            Svc::Vmapi => "smartdc-site-vmapi:default.log",
            Svc::Cnapi => "smartdc-site-cnapi:default.log",
            Svc::WfApi => "smartdc-application-wf-api:default.log",
            Svc::WfRunner => "smartdc-application-wf-runner:default.log",
            Svc::Imgapi => "smartdc-site-imgapi:default.log",
            Svc::Napi => "smartdc-application-napi:default.log",
            Svc::Fwapi => "smartdc-application-fwapi:default.log",
            Svc::Ufds => "smartdc-application-ufds-master:ufds-1390.log",
            Svc::Cloudapi => "smartdc-application-cloudapi:cloudapi-8081.log",
            Svc::Adminui => "smartdc-application-adminui:default.log",
            Svc::Sapi => "smartdc-application-sapi:default.log",
            Svc::Papi => "smartdc-application-papi:default.log",
        }
    }

    /// The `sdc_log_rotation_add` name.
    pub fn rotation_name(self) -> &'static str {
        match self {
            Svc::Vmapi => "vmapi",
            Svc::Cnapi => "cnapi",
            Svc::WfApi => "wf-api",
            Svc::WfRunner => "wf-runner",
            Svc::Imgapi => "imgapi",
            Svc::Napi => "napi",
            Svc::Fwapi => "fwapi",
            Svc::Ufds => "ufds-master-1390",
            Svc::Cloudapi => "cloudapi-8081",
            Svc::Adminui => "adminui",
            Svc::Sapi => "sapi",
            Svc::Papi => "papi",
        }
    }

    /// The bunyan `name` of its records.
    pub fn logger_name(self) -> &'static str {
        match self {
            Svc::WfApi => "workflow-api",
            Svc::WfRunner => "workflow-runner",
            Svc::Ufds => "ufds-master",
            other => other.rotation_name(),
        }
    }

    /// The command svc.startd runs to start it.
    pub fn start_method(self) -> String {
        match self {
            Svc::WfApi => "/opt/smartdc/workflow/build/node/bin/node /opt/smartdc/workflow/wf-api.js &".into(),
            Svc::WfRunner => "/opt/smartdc/workflow/build/node/bin/node /opt/smartdc/workflow/wf-runner.js &".into(),
            Svc::Ufds => "/opt/smartdc/ufds/build/node/bin/node /opt/smartdc/ufds/main.js -f /opt/smartdc/ufds/etc/config.json -p 1390 &".into(),
            Svc::Cloudapi => "/opt/smartdc/cloudapi/build/node/bin/node /opt/smartdc/cloudapi/main.js -f /opt/smartdc/cloudapi/etc/cloudapi.cfg -p 8081 &".into(),
            other => {
                let dir = other.rotation_name();
                format!("/opt/smartdc/{dir}/build/node/bin/node /opt/smartdc/{dir}/server.js &")
            }
        }
    }
}

/// Ground truth of one provision, filled as the story is told.
#[derive(Debug, Clone)]
pub struct ExpectedProvision {
    pub vm_uuid: String,
    pub job_uuid: Option<String>,
    pub server_uuid: Option<String>,
    pub brand: String,
    pub workflow: Option<String>,
    pub failed_task: Option<String>,
    pub diagnosis: String,
    /// API and command evidence (file evidence is resolved from log tags at render time).
    pub evidence: Vec<Value>,
}

/// A file written as is.
#[derive(Debug, Clone)]
pub struct PlainFile {
    pub root: String,
    pub path: String,
    pub content: Vec<u8>,
}

pub struct World {
    pub scenario: String,
    pub seed: u64,
    pub scale: u32,
    pub rng: SimRng,
    pub era: Era,
    pub datacenter: String,
    /// The headnode's "now": when the operator looks.
    pub now: Ms,
    /// Start of the simulated log history.
    pub history_start: Ms,
    pub admin_uuid: String,
    pub hn: Host,
    pub cns: Vec<Host>,
    pub vms: Vec<Vm>,
    pub images: Vec<Image>,
    pub networks: Vec<Network>,
    pub packages: Vec<Package>,
    pub customers: Vec<String>,
    /// Pids of the core services.
    pub svc_pids: BTreeMap<Svc, u32>,
    pub logs: Logs,
    pub jobs: Vec<Value>,
    pub tasks: BTreeMap<String, Value>,
    pub expected: Vec<ExpectedProvision>,
    pub noise_vms: Vec<String>,
    pub noise_jobs: Vec<String>,
    pub files: Vec<PlainFile>,
    /// Symlinks: (host root, link path, target).
    pub symlinks: Vec<(String, String, String)>,
    pub unavailable: Vec<String>,
}

impl World {
    pub fn host(&self, server_uuid: &str) -> &Host {
        if self.hn.server_uuid == server_uuid {
            return &self.hn;
        }
        self.cns
            .iter()
            .find(|h| h.server_uuid == server_uuid)
            .unwrap_or(&self.hn)
    }

    pub fn host_mut(&mut self, server_uuid: &str) -> &mut Host {
        if self.hn.server_uuid == server_uuid {
            return &mut self.hn;
        }
        match self.cns.iter().position(|h| h.server_uuid == server_uuid) {
            Some(i) => &mut self.cns[i],
            None => &mut self.hn,
        }
    }

    pub fn vm(&self, uuid: &str) -> &Vm {
        self.vms
            .iter()
            .find(|v| v.uuid == uuid)
            .unwrap_or_else(|| panic!("no VM {uuid} in the simulated world"))
    }

    pub fn vm_mut(&mut self, uuid: &str) -> &mut Vm {
        self.vms
            .iter_mut()
            .find(|v| v.uuid == uuid)
            .unwrap_or_else(|| panic!("no VM {uuid} in the simulated world"))
    }

    pub fn image(&self, uuid: &str) -> &Image {
        self.images
            .iter()
            .find(|i| i.uuid == uuid)
            .unwrap_or_else(|| panic!("no image {uuid} in the simulated world"))
    }

    /// The core zone of a role.
    pub fn zone(&self, role: &str) -> &Vm {
        self.vms
            .iter()
            .find(|v| v.role.as_deref() == Some(role))
            .unwrap_or_else(|| panic!("no core zone {role}"))
    }

    pub fn svc_path(&self, svc: Svc) -> String {
        format!(
            "/zones/{}/root/var/svc/log/{}",
            self.zone(svc.role()).uuid,
            svc.smf_log()
        )
    }

    pub fn svc_logger(&self, svc: Svc) -> Logger {
        let pid = self.svc_pids.get(&svc).copied().unwrap_or(1);
        Logger::new(svc.logger_name(), &self.zone(svc.role()).uuid, pid)
    }

    /// Adds a record to a core service's log (time in the headnode's clock).
    pub fn svc_log(&mut self, svc: Svc, t: Ms, text: String) {
        let path = self.svc_path(svc);
        self.logs.push("hn", &path, t, text);
    }

    /// Adds an evidence record to a core service's log.
    pub fn svc_log_ev(&mut self, svc: Svc, t: Ms, text: String, vm: &str, contains: &str) {
        let path = self.svc_path(svc);
        self.logs
            .push_ev("hn", &path, t, text, vec![ev(vm, contains, 0)]);
    }

    /// Declares a log stream on a host with that host's "now".
    pub fn declare(&mut self, server_uuid: &str, path: &str, rotation: Rotation) {
        let host = self.host(server_uuid);
        let root = host.root.clone();
        let now = self.now + host.skew;
        self.logs.declare(&root, server_uuid, path, rotation, now);
    }

    /// Adds a record to a host's log; `t` is already in that host's clock (see [`World::local`]).
    pub fn host_log(&mut self, server_uuid: &str, path: &str, t: Ms, text: String) {
        self.host_log_ev(server_uuid, path, t, text, Vec::new());
    }

    pub fn host_log_ev(
        &mut self,
        server_uuid: &str,
        path: &str,
        t: Ms,
        text: String,
        tags: Vec<EvTag>,
    ) {
        let host = self.host(server_uuid);
        let root = host.root.clone();
        self.logs.push_ev(&root, path, t, text, tags);
    }

    /// The host-local time of a headnode instant.
    pub fn local(&self, server_uuid: &str, t: Ms) -> Ms {
        t + self.host(server_uuid).skew
    }

    pub fn add_file(&mut self, server_uuid: &str, path: &str, content: impl Into<Vec<u8>>) {
        let root = self.host(server_uuid).root.clone();
        self.files.push(PlainFile {
            root,
            path: path.to_string(),
            content: content.into(),
        });
    }

    pub fn expected_mut(&mut self, vm_uuid: &str) -> Option<&mut ExpectedProvision> {
        self.expected.iter_mut().find(|e| e.vm_uuid == vm_uuid)
    }

    /// Allocates the next free IP on a network.
    pub fn next_ip(&mut self, network_uuid: &str) -> String {
        match self.networks.iter_mut().find(|n| n.uuid == network_uuid) {
            Some(net) => {
                let ip = format!("{}.{}", net.prefix, net.next_host);
                net.next_host += 1;
                ip
            }
            None => "0.0.0.0".into(),
        }
    }
}

pub fn ev(vm: &str, contains: &str, line: usize) -> EvTag {
    EvTag {
        vm: vm.to_string(),
        contains: contains.to_string(),
        line,
    }
}
