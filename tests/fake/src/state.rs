//! The state a simulated datacenter's fake commands answer from: `DIR/sim/state.json`.
//!
//! This is the contract between the scenario generator (`triton-sim`), which writes it, and the
//! fake commands (`triton-fake`), which only read it. API objects are kept as raw JSON values on
//! purpose: real Triton objects differ between versions (a 7.0 job has fields an 8.2 job lacks),
//! and a scenario must be able to write exactly the shape of the version it simulates.
//!
//! Every file path in this model is an absolute path *as seen on that host* (`/var/log/...`); the
//! file itself lives at `DIR/<host.root>/<path>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Name of the state file, relative to the simulated datacenter's directory.
pub const STATE_FILE: &str = "sim/state.json";

/// Environment variable holding the simulated datacenter's directory (set by the `DIR/bin/`
/// wrappers and by `DIR/env.sh`).
pub const ENV_SIM_DIR: &str = "TRITON_SIM_DIR";

/// Environment variable naming the server uuid of the host a fake command runs "on". Unset means
/// the headnode. The fake `sdc-oneachnode` sets it for the commands it runs on a compute node.
pub const ENV_SIM_HOST: &str = "TRITON_SIM_HOST";

/// Everything the fake commands know about one simulated datacenter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    /// Scenario name, e.g. `kvm-qemu-out-of-memory`.
    pub scenario: String,
    /// Seed the scenario was generated from.
    pub seed: u64,
    /// Datacenter name, e.g. `us-east-1` (used in `sysinfo`, `imgadm` sources, config).
    pub datacenter: String,
    /// The simulated "now" (RFC 3339, UTC): the moment the operator runs commands. Jobs and logs
    /// lie before it.
    pub now: String,
    /// UUID of the UFDS `admin` user, owner of the core zones (`vmadm lookup owner_uuid=...`).
    pub admin_uuid: String,
    /// The headnode.
    pub headnode: Host,
    /// Compute nodes, healthy and involved.
    pub compute_nodes: Vec<Host>,
    /// What the HN's `sdc-*` API wrappers answer.
    pub api: Api,
}

/// One SmartOS host (the headnode or a compute node).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Host {
    pub server_uuid: String,
    pub hostname: String,
    pub role: HostRole,
    /// Directory of this host's file tree, relative to the simulated datacenter's directory:
    /// `hn` or `cn/<server-uuid>`.
    pub root: String,
    /// Whether `sdc-oneachnode` can reach this host (false: exit 10, node missing from replies).
    pub reachable: bool,
    /// Platform image stamp, e.g. `20240118T000000Z`.
    pub platform_image: String,
    pub admin_ip: String,
    /// The JSON `sysinfo` prints.
    pub sysinfo: Value,
    /// Zones and VMs on this host as `vmadm get` prints them (core zones on the HN, customer VMs
    /// on CNs). Destroyed VMs are absent (`vmadm get` answers "No such zone configured").
    pub vms: Vec<Value>,
    /// Installed images as `imgadm get` prints them: `{"manifest": {...}, "zpool": "zones",
    /// "source": "..."}`.
    pub images: Vec<Value>,
    /// Datasets for `zfs list`, in `zfs list -t all` order.
    pub datasets: Vec<Dataset>,
    /// Pool history records for `zpool history`, oldest first (one entry per pool).
    pub zpool_history: Vec<PoolHistory>,
    /// `zpool status` text, printed as is.
    pub zpool_status: String,
    /// SMF services per zone for `svcs`; key `global` is the global zone, otherwise a zone uuid.
    pub services: BTreeMap<String, Vec<Service>>,
    /// Commands that misbehave on this host, for collector fault tests.
    #[serde(default)]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    Headnode,
    ComputeNode,
}

/// One row of `zfs list -t all`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dataset {
    /// `zones/<uuid>`, `zones/<uuid>@final`, `zones/<uuid>-partial`, `zones/<vm>-disk0`, ...
    pub name: String,
    /// Human sizes as zfs prints them (`1.45G`, `206M`, `0`).
    pub used: String,
    /// `-` for snapshots.
    pub avail: String,
    pub refer: String,
    /// `-` for snapshots and volumes; `none`/`legacy` where zfs says so.
    pub mountpoint: String,
}

/// The history of one pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolHistory {
    pub pool: String,
    /// Records as `zpool history` prints them without `-i`/`-l`:
    /// `2014-03-25.23:55:39 zfs receive zones/<uuid>-partial`.
    pub records: Vec<String>,
}

/// One SMF service instance as `svcs` and `svcs -xv` see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    /// Full FMRI, e.g. `svc:/system/zoneinit:default`.
    pub fmri: String,
    /// `online`, `offline`, `maintenance`, `disabled`, `degraded`, `uninitialized`.
    pub state: String,
    /// When it entered that state (RFC 3339).
    pub since: String,
    /// The service description `svcs -xv` prints in parentheses.
    pub description: String,
    /// Log file path inside the zone, e.g. `/var/svc/log/system-zoneinit:default.log`.
    pub log: String,
    /// For services in maintenance: the `Reason:` text.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A command that misbehaves on a host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Command name (`zpool`, `vmadm`, `sdc-vmapi`, ...).
    pub command: String,
    /// Applies when the joined argument list contains this text (empty: always).
    #[serde(default)]
    pub args_contain: String,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// Sleeps this long before answering (a hang, when longer than the caller's timeout).
    Hang { seconds: u64 },
    /// Writes output endlessly.
    Flood,
    /// Exits with this status after printing `stdout` (an error body, default none) and
    /// `stderr`.
    Fail {
        status: i32,
        #[serde(default)]
        stdout: String,
        stderr: String,
    },
    /// Ignores SIGTERM, starts a child that ignores it too (its pid written to `pid_file`
    /// when given), and sleeps this long before answering: only SIGKILL stops it.
    IgnoreTerm {
        seconds: u64,
        #[serde(default)]
        pid_file: Option<String>,
    },
}

/// What the headnode's API wrappers (`sdc-vmapi`, `sdc-workflow`, `sdc-cnapi`, `sdc-imgapi`,
/// `sdc-napi`) answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Api {
    /// VMAPI VM objects by uuid (`sdc-vmapi /vms/<uuid>`).
    pub vms: BTreeMap<String, Value>,
    /// Full workflow job objects (`sdc-workflow /jobs/<uuid>`), any order; VMAPI's trimmed
    /// views are derived from them.
    pub jobs: Vec<Value>,
    /// CNAPI server objects by uuid.
    pub servers: BTreeMap<String, Value>,
    /// CNAPI task objects by task id.
    pub tasks: BTreeMap<String, Value>,
    /// IMGAPI image manifests by uuid.
    pub images: BTreeMap<String, Value>,
    /// NAPI network objects by uuid.
    pub networks: BTreeMap<String, Value>,
    /// Services whose API does not answer (curl cannot connect): `vmapi`, `cnapi`, `workflow`, ...
    #[serde(default)]
    pub unavailable: Vec<String>,
}

impl SimState {
    /// Reads `DIR/sim/state.json`.
    pub fn load(dir: &Path) -> anyhow::Result<SimState> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("cannot parse {}: {e}", path.display()))
    }

    /// Writes `DIR/sim/state.json`, pretty-printed so a person can read it.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(STATE_FILE);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    }

    /// Every host, headnode first.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        std::iter::once(&self.headnode).chain(self.compute_nodes.iter())
    }

    /// Finds a host by server uuid or hostname, as `sdc-oneachnode -n` does.
    pub fn host(&self, uuid_or_hostname: &str) -> Option<&Host> {
        self.hosts()
            .find(|h| h.server_uuid == uuid_or_hostname || h.hostname == uuid_or_hostname)
    }

    /// Where a host's absolute path lives in the simulated datacenter.
    pub fn host_path(&self, dir: &Path, host: &Host, abs_path: &str) -> PathBuf {
        dir.join(&host.root).join(abs_path.trim_start_matches('/'))
    }
}
