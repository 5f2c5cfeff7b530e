//! Facts: the merged, de-duplicated view of all inputs that rules reason over.
//!
//! - [`Provision`]: one per provision job (or per `POST /vms` refused before a job existed), with
//!   its era, ladder, failed task and error text.
//! - [`ComputeNode`]: what each host's files and commands say (images, datasets, pool history,
//!   zone service logs, vm.log, provisioning markers).
//! - [`coverage::Coverage`]: what was collected, so absence is only trusted where it was looked for.
//! - [`timeline::Timeline`]: per provision, the records of every host joined on its ids.
//! - [`clock::ClockOffset`]: how far each compute node's clock is off the headnode's.

pub mod clock;
pub mod coverage;
pub mod ladder;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::input::observations::{Located, LogExtent, LogRecord, Observations, ZoneSvcLog};
use crate::input::place::Place;
use crate::parsers::dapi::DapiSnapshot;
use crate::parsers::heartbeater::Heartbeater;
use crate::parsers::image_manifest::ImageManifest;
use crate::parsers::imgadm::ImageState;
use crate::parsers::job::Job;
use crate::parsers::service_log::KeptRecord;
use crate::parsers::svcs::BrokenService;
use crate::parsers::vmadm::VmObject;
use crate::parsers::vmlog::VmLog;
use crate::parsers::zfs_list::ZfsList;
use crate::parsers::zpool_history::ZpoolHistory;
use coverage::Coverage;
use ladder::{Era, LadderRow};

/// How a provision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobResult {
    Succeeded,
    Failed,
    Canceled,
    Running,
    Unknown,
}

impl JobResult {
    pub fn from_execution(execution: &str) -> JobResult {
        match execution {
            "succeeded" => JobResult::Succeeded,
            "failed" => JobResult::Failed,
            "canceled" => JobResult::Canceled,
            "running" | "queued" | "waiting" | "retried" => JobResult::Running,
            _ => JobResult::Unknown,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JobResult::Succeeded => "succeeded",
            JobResult::Failed => "failed",
            JobResult::Canceled => "canceled",
            JobResult::Running => "running",
            JobResult::Unknown => "unknown",
        }
    }
}

/// The task that failed (or the request that was refused), with its error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// Task name; `None` for the `workflow timeout` entry and for no-job failures.
    pub task: Option<String>,
    pub error: String,
    /// restify `restCode` / error name.
    pub code: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_s: Option<f64>,
    pub timeout_s: Option<f64>,
    /// Where the error text is (job object, or the vmapi log record).
    pub place: Place,
    pub line: Option<u64>,
}

/// An 8.2+ `POST /vms` that was refused before a job existed.
#[derive(Debug, Clone)]
pub struct RefusedRequest {
    pub record: LogRecord,
    pub status: u16,
    /// The response body (or err message) text.
    pub body: String,
}

/// A job of the same VM (destroy, start, ...), for timelines and the destroyed-during rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRef {
    pub uuid: String,
    pub name: String,
    pub execution: String,
    pub created_at: Option<String>,
    #[serde(skip)]
    pub place: Place,
}

#[derive(Debug, Clone)]
pub struct Provision {
    /// Stable id for the report: job uuid, or `req:<request id>` for no-job provisions.
    pub id: String,
    pub vm_uuid: Option<String>,
    pub job: Option<Located<Job>>,
    pub refused: Option<RefusedRequest>,
    /// Without `job`: the provision job as the logs show it ([`reconstruct`]).
    pub logged_job: Option<reconstruct::LoggedJob>,
    pub era: Era,
    pub workflow: Option<String>,
    pub brand: Option<String>,
    pub server_uuid: Option<String>,
    pub image_uuid: Option<String>,
    pub request_id: Option<String>,
    pub created_at: Option<String>,
    pub outcome: JobResult,
    pub failure: Option<Failure>,
    pub ladder: Vec<LadderRow>,
    /// Other jobs of the same VM.
    pub other_jobs: Vec<JobRef>,
    /// The VM object(s) seen (VMAPI, vmadm, archive).
    pub vm_objects: Vec<Located<VmObject>>,
}

impl Provision {
    /// The job's uuid: from the job itself, else from the logs.
    pub fn job_uuid(&self) -> Option<&str> {
        self.job
            .as_ref()
            .map(|j| j.value.uuid.as_str())
            .or_else(|| self.logged_job.as_ref().map(|j| j.uuid.as_str()))
    }

    /// A provision that had (or should have had) a workflow job that is not in the input; its
    /// diagnosis rests on logs alone.
    pub fn job_missing(&self) -> bool {
        self.job.is_none() && self.refused.is_none()
    }

    pub fn failed_task(&self) -> Option<&str> {
        self.failure.as_ref().and_then(|f| f.task.as_deref())
    }

    pub fn error_text(&self) -> &str {
        self.failure
            .as_ref()
            .map(|f| f.error.as_str())
            .unwrap_or("")
    }

    pub fn is_kvm(&self) -> Option<bool> {
        self.brand.as_deref().map(|b| b == "kvm" || b == "bhyve")
    }

    pub fn furthest_step(&self) -> Option<&LadderRow> {
        ladder::furthest(&self.ladder)
    }

    /// The time window of the provision: created .. last task end (or created + elapsed).
    pub fn window(&self) -> (Option<String>, Option<String>) {
        let start = self.created_at.clone();
        let end = self.job.as_ref().and_then(|j| {
            j.value
                .chain_results
                .iter()
                .filter_map(|r| r.finished_at.clone())
                .max()
        });
        (
            start,
            end.or_else(|| self.failure.as_ref().and_then(|f| f.finished_at.clone())),
        )
    }
}

/// What one host's files and commands say. Hand-made inputs often cannot name the host; their
/// data sits under `server_uuid: None`.
#[derive(Debug, Clone, Default)]
pub struct ComputeNode {
    pub server_uuid: Option<String>,
    pub images: Vec<Located<ImageState>>,
    pub zfs: Vec<Located<ZfsList>>,
    pub zpool: Vec<Located<ZpoolHistory>>,
    pub svcs: Vec<Located<(Option<String>, Vec<BrokenService>)>>,
    pub vm_logs: Vec<Located<(Option<String>, VmLog)>>,
    pub svc_logs: Vec<Located<ZoneSvcLog>>,
    pub markers: Vec<Located<(String, String)>>,
    pub heartbeats: Vec<Located<Heartbeater>>,
    pub missing_vms: Vec<Located<String>>,
}

/// One input, for the report header.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub name: String,
    pub kind: String,
    pub entries: usize,
    pub manifest: bool,
    pub collector: Option<String>,
    pub complete: Option<bool>,
    pub window: Option<(String, String)>,
    pub warnings: Vec<String>,
    /// Secret values (passwords, keys) its configuration files hold unredacted: such an input
    /// (a service bundle, hand-gathered files) is confidential.
    pub secrets_held: u64,
}

#[derive(Debug, Default)]
pub struct Facts {
    pub inputs: Vec<InputSummary>,
    pub provisions: Vec<Provision>,
    pub jobs: Vec<Located<Job>>,
    pub vms: Vec<Located<VmObject>>,
    /// Image manifests (IMGAPI, `imgadm get`), for image origins.
    pub image_manifests: Vec<Located<ImageManifest>>,
    pub nodes: BTreeMap<Option<String>, ComputeNode>,
    /// Kept log records of every input, by time.
    pub records: Vec<LogRecord>,
    /// Which records mention which id (for joining timelines).
    pub record_index: timeline::RecordIndex,
    /// Estimated clock offset of each compute node against the headnode.
    pub clock_offsets: Vec<clock::ClockOffset>,
    pub dapi: Vec<Located<(KeptRecord, DapiSnapshot)>>,
    pub extents: Vec<LogExtent>,
    pub command_errors: Vec<Located<String>>,
    pub coverage: Coverage,
}

impl Facts {
    /// Nodes whose data may be about `server` (that server, plus data of unknown host).
    pub fn nodes_for<'a>(
        &'a self,
        server: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ComputeNode> + 'a {
        self.nodes
            .values()
            .filter(move |n| match (server, n.server_uuid.as_deref()) {
                (Some(s), Some(h)) => s == h,
                _ => true,
            })
    }

    /// The joined timeline of a provision.
    pub fn timeline(&self, p: &Provision) -> timeline::Timeline {
        timeline::build(self, p)
    }

    /// Records about a provision: its vm uuid, job uuid or request id.
    pub fn records_for<'a>(&'a self, p: &'a Provision) -> impl Iterator<Item = &'a LogRecord> + 'a {
        let job_uuid = p.job.as_ref().map(|j| j.value.uuid.as_str());
        self.records.iter().filter(move |r| {
            let rec = &r.record;
            p.vm_uuid.as_deref().is_some_and(|vm| {
                rec.vm_uuid.as_deref() == Some(vm) || rec.msg.contains(vm) || rec.raw.contains(vm)
            }) || job_uuid
                .is_some_and(|j| rec.job_uuid.as_deref() == Some(j) || rec.raw.contains(j))
                || p.request_id
                    .as_deref()
                    .is_some_and(|id| rec.req_id.as_deref() == Some(id) || rec.raw.contains(id))
        })
    }
}

/// What a piece of data is, whichever input carried it, so the same file of the same host in two
/// bundles counts once. Without a host, the same path is not the same file (`/var/log/...` of
/// two compute nodes tarred by hand): such data is only itself, the entry of its input.
fn data_identity(place: &Place) -> (Option<String>, String) {
    match place.host.as_deref() {
        Some(_) => {
            let (host, what) = place.identity();
            (host.map(str::to_string), what)
        }
        None => (None, format!("{}/{}", place.input, place.entry)),
    }
}

fn dedupe_by_identity<T>(items: &mut Vec<Located<T>>) {
    let mut seen = BTreeSet::new();
    items.retain(|i| {
        let (host, what) = data_identity(&i.place);
        seen.insert((host, what, i.line))
    });
}

/// Merges the inputs (in command-line order, so the result does not depend on thread timing).
pub fn build(mut all: Vec<Observations>) -> Facts {
    all.sort_by_key(|o| o.input_index);
    let mut facts = Facts::default();
    let mut nodes: BTreeMap<Option<String>, ComputeNode> = BTreeMap::new();
    let mut missing_vms = Vec::new();
    for mut obs in all {
        // A vm.log whose path does not say whose it is names its VM in qemu's ARGV.
        for log in obs.vm_logs.iter_mut() {
            if log.value.0.is_none() {
                log.value.0 = log.value.1.vm_uuid.clone();
            }
        }
        facts.inputs.push(InputSummary {
            name: obs.input.clone(),
            kind: obs.input_kind.clone(),
            entries: obs.entry_count,
            secrets_held: obs.secrets_held,
            manifest: obs.manifest.is_some(),
            collector: obs.manifest.as_ref().map(|m| m.collector.clone()),
            complete: obs.manifest.as_ref().map(|m| m.complete),
            window: obs.manifest.as_ref().and_then(|m| m.window.clone()),
            warnings: obs.warnings.clone(),
        });
        if let Some(m) = obs.manifest {
            facts.coverage.manifests.push((obs.input.clone(), m));
        }
        facts.coverage.entries.extend(obs.entries);
        facts.jobs.extend(obs.jobs);
        facts.vms.extend(obs.vms);
        facts.image_manifests.extend(obs.image_manifests);
        facts.records.extend(obs.records);
        facts.dapi.extend(obs.dapi);
        facts.extents.extend(obs.extents);
        facts.command_errors.extend(obs.command_errors);
        missing_vms.extend(obs.missing_vms);
        macro_rules! to_nodes {
            ($($field:ident),*) => {$(
                for item in obs.$field {
                    nodes.entry(item.place.host.clone()).or_default().$field.push(item);
                }
            )*};
        }
        to_nodes!(images, zfs, zpool, svcs, vm_logs, svc_logs, markers, heartbeats);
    }
    for item in missing_vms {
        nodes
            .entry(item.place.host.clone())
            .or_default()
            .missing_vms
            .push(item);
    }

    // Jobs: one per uuid, the richest copy (full beats trimmed).
    let mut best: BTreeMap<String, Located<Job>> = BTreeMap::new();
    for job in std::mem::take(&mut facts.jobs) {
        match best.get(&job.value.uuid) {
            Some(existing) if existing.value.richness() >= job.value.richness() => {}
            _ => {
                best.insert(job.value.uuid.clone(), job);
            }
        }
    }
    facts.jobs = best.into_values().collect();
    // A listing (`sdc-vmapi /vms`, `vmadm lookup -j`) holds many VMs at one line: the VM's uuid
    // is part of what makes a copy the same.
    let mut seen_vms = BTreeSet::new();
    facts.vms.retain(|v| {
        let (host, what) = data_identity(&v.place);
        seen_vms.insert((host, what, v.line, v.value.uuid.clone()))
    });

    // Which server each VM is on, to place hand-made files of unknown host.
    let mut vm_server: BTreeMap<String, String> = BTreeMap::new();
    for j in &facts.jobs {
        if let (Some(vm), Some(server)) = (&j.value.vm_uuid, &j.value.server_uuid) {
            vm_server
                .entry(vm.clone())
                .or_insert_with(|| server.clone());
        }
    }
    for vm in &facts.vms {
        if let Some(server) = &vm.value.server_uuid {
            vm_server
                .entry(vm.value.uuid.clone())
                .or_insert_with(|| server.clone());
        }
    }
    if let Some(unknown) = nodes.remove(&None) {
        let mut rest = ComputeNode::default();
        let place_host = |place: &Place| {
            place
                .host_path
                .as_deref()
                .and_then(crate::input::paths::zone_of)
                .and_then(|(zone, _, _)| vm_server.get(&zone).cloned())
        };
        macro_rules! rehome {
            ($($field:ident),*) => {$(
                for mut item in unknown.$field {
                    match place_host(&item.place) {
                        Some(server) => {
                            item.place.host = Some(server.clone());
                            nodes.entry(Some(server)).or_default().$field.push(item);
                        }
                        None => rest.$field.push(item),
                    }
                }
            )*};
        }
        rehome!(
            images,
            zfs,
            zpool,
            svcs,
            vm_logs,
            svc_logs,
            markers,
            heartbeats,
            missing_vms
        );
        nodes.insert(None, rest);
    }
    for (host, node) in nodes.iter_mut() {
        node.server_uuid = host.clone();
        dedupe_by_identity(&mut node.images);
        dedupe_by_identity(&mut node.zfs);
        dedupe_by_identity(&mut node.zpool);
        dedupe_by_identity(&mut node.svcs);
        dedupe_by_identity(&mut node.vm_logs);
        dedupe_by_identity(&mut node.svc_logs);
        dedupe_by_identity(&mut node.markers);
        dedupe_by_identity(&mut node.heartbeats);
        dedupe_by_identity(&mut node.missing_vms);
    }
    facts.nodes = nodes;

    // Records: the same record seen in two bundles counts once; then by time.
    let mut seen = BTreeSet::new();
    facts.records.retain(|r| {
        let (host, what) = data_identity(&r.place);
        seen.insert((host, what, r.record.line))
    });
    facts.records.sort_by(|a, b| {
        (a.record.time.as_deref(), &a.place, a.record.line).cmp(&(
            b.record.time.as_deref(),
            &b.place,
            b.record.line,
        ))
    });
    facts.record_index = timeline::RecordIndex::build(&facts.records);
    dedupe_by_identity(&mut facts.dapi);
    dedupe_by_identity(&mut facts.command_errors);

    facts.clock_offsets = clock::estimate(&facts);
    facts.provisions = provisions::build(&facts);
    facts
}

pub mod provisions;
pub mod reconstruct;
