//! Everything the parsers kept from one input, each item with its [`Place`]. Inputs are read in
//! parallel into separate `Observations`, then merged by `facts`.

use serde::Serialize;

use super::manifest::ManifestView;
use super::place::Place;
use crate::parsers::dapi::DapiSnapshot;
use crate::parsers::heartbeater::Heartbeater;
use crate::parsers::image_manifest::ImageManifest;
use crate::parsers::imgadm::ImageState;
use crate::parsers::job::Job;
use crate::parsers::service_log::KeptRecord;
use crate::parsers::svclog::SvcLog;
use crate::parsers::svcs::BrokenService;
use crate::parsers::vmadm::VmObject;
use crate::parsers::vmlog::VmLog;
use crate::parsers::zfs_list::ZfsList;
use crate::parsers::zpool_history::ZpoolHistory;

/// A parsed value and where it came from.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub place: Place,
    /// 1-based line of the value inside the entry, when meaningful.
    pub line: Option<u64>,
    pub value: T,
}

/// A kept log record, with the service that wrote it.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub place: Place,
    /// `vmapi`, `cnapi`, `wf-runner`, `cn-agent`, ... (bunyan `name`, or from the file name).
    pub service: String,
    pub record: KeptRecord,
}

/// A kept log file's extent, for coverage and the report header.
#[derive(Debug, Clone, Serialize)]
pub struct LogExtent {
    pub place: Place,
    pub service: String,
    pub lines: u64,
    pub records: u64,
    pub kept: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

/// A zone service log (zoneinit, mdata).
#[derive(Debug, Clone)]
pub struct ZoneSvcLog {
    pub zone: Option<String>,
    pub service: String,
    pub archived: bool,
    pub log: SvcLog,
}

/// Entries of no known kind remembered one by one; past this they are only counted (an archive
/// of a million unknown files must not hold a million places in memory).
pub const MAX_IGNORED_SEEN: usize = 10_000;

/// One entry seen, whatever it was.
#[derive(Debug, Clone, Serialize)]
pub struct EntrySeen {
    pub place: Place,
    pub kind: &'static str,
    pub size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// Index of the input on the command line (for deterministic merging).
    pub input_index: usize,
    pub input: String,
    /// `directory`, `file`, `tar.gz`, ...
    pub input_kind: String,
    /// The server uuid when the input is an `sdc-sbcreate` service bundle of that server.
    pub service_bundle_server: Option<String>,
    pub manifest: Option<ManifestView>,
    pub jobs: Vec<Located<Job>>,
    pub vms: Vec<Located<VmObject>>,
    /// VMs a command said do not exist (`No such zone configured`).
    pub missing_vms: Vec<Located<String>>,
    pub images: Vec<Located<ImageState>>,
    /// Image manifests (IMGAPI image lists, `imgadm get`), for their origins.
    pub image_manifests: Vec<Located<ImageManifest>>,
    pub zfs: Vec<Located<ZfsList>>,
    pub zpool: Vec<Located<ZpoolHistory>>,
    pub svcs: Vec<Located<(Option<String>, Vec<BrokenService>)>>,
    pub vm_logs: Vec<Located<(Option<String>, VmLog)>>,
    pub svc_logs: Vec<Located<ZoneSvcLog>>,
    pub heartbeats: Vec<Located<Heartbeater>>,
    pub records: Vec<LogRecord>,
    pub dapi: Vec<Located<(KeptRecord, DapiSnapshot)>>,
    pub markers: Vec<Located<(String, String)>>,
    pub command_errors: Vec<Located<String>>,
    pub extents: Vec<LogExtent>,
    /// Entries of a known kind, and the first [`MAX_IGNORED_SEEN`] of the others.
    pub entries: Vec<EntrySeen>,
    /// Every entry read, whatever its kind.
    pub entry_count: usize,
    /// Secret values found unredacted in its configuration files (`/usbkey/config`, service
    /// configs): they are never quoted, but the input must be handled as confidential.
    pub secrets_held: u64,
    /// Parse problems and skipped entries, with file and line.
    pub warnings: Vec<String>,
}
