//! The joined timeline of one provision: the job's tasks, the log records of every host and
//! zone about it, and the pool history of its datasets, merged by time.
//!
//! Records are joined on the provision's own ids — vm uuid, job uuid, x-request-id (`req_id`)
//! and the CNAPI task ids the job dispatched (`taskId`, `Task id: <id> queued to CNAPI!`,
//! `Provision task: <id> queued!`) — and then transitively: a `req_id` carried by a record that
//! names one of the task ids joins too (the CN agent logs the task id once, then only the
//! request id), and so does a task id carried by a record of a joined request (CNAPI logs
//! `Task id = <id>` under the request that created the task). Entries of a compute node whose
//! clock offset was estimated ([`super::clock`]) are ordered by their time in headnode time.
//! The timeline is bounded: errors come first, then direct matches, then transitive ones, each
//! nearest the failure first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::clock::{offset_of, ClockOffset};
use super::{Facts, Provision};
use crate::input::observations::LogRecord;
use crate::input::place::Place;
use crate::parsers::service_log::SMF_NAME;
use crate::parsers::time::{format_ts, parse_iso};

/// Longest timeline per provision.
pub const TIMELINE_MAX: usize = 60;

/// Rounds of transitive joining (request id ↔ task id); real chains are two or three deep.
const MAX_JOIN_ROUNDS: usize = 4;

/// Most ids joined transitively, so one chatty id cannot pull in the whole log.
const MAX_DERIVED_IDS: usize = 16;

/// Most pool-history records about the provision's image near its window.
const MAX_POOL_RECORDS: usize = 10;

/// Why an entry is in the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinedBy {
    /// A task of the provision job itself.
    Job,
    /// Names the VM.
    Vm,
    /// Names the job uuid.
    JobUuid,
    /// Carries or names the provision's own request id.
    Request,
    /// Carries or names a CNAPI task id the job dispatched.
    Task,
    /// Carries or names a request id found on a record of one of the task ids.
    RequestViaTask,
    /// Carries or names a task id created under one of the joined requests.
    TaskViaRequest,
    /// Pool history about the VM's image near the provision.
    Image,
}

impl JoinedBy {
    /// Whether the entry names the provision's own ids (rather than ids found transitively).
    pub fn direct(self) -> bool {
        !matches!(
            self,
            JoinedBy::RequestViaTask | JoinedBy::TaskViaRequest | JoinedBy::Image
        )
    }
}

/// The ids a timeline was joined on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JoinKeys {
    pub vm_uuid: Option<String>,
    pub job_uuid: Option<String>,
    /// The provision's own request id first, then those joined through task ids.
    pub request_ids: Vec<String>,
    /// The job's own CNAPI task ids first, then those created under joined requests.
    pub task_ids: Vec<String>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// As the host logged it (normalized to `YYYY-MM-DDTHH:MM:SS.sssZ`).
    pub time: String,
    /// In headnode time, when the entry's host has an estimated clock offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_time: Option<String>,
    /// The offset taken off `time` (the host's clock minus the headnode's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<i64>,
    pub source: String,
    pub level: String,
    pub text: String,
    pub joined_by: JoinedBy,
    pub place: Place,
    /// The original's line when known (see [`Place::cite`]), else the entry's.
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_in_bundle: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_offset_start: Option<u64>,
    /// Milliseconds since the epoch in headnode time (corrected), for ordering.
    #[serde(skip)]
    pub at_ms: i64,
}

impl TimelineEntry {
    fn new(
        at: jiff::Timestamp,
        source: String,
        level: &str,
        text: String,
        joined_by: JoinedBy,
        place: &Place,
        line: Option<u64>,
    ) -> TimelineEntry {
        let citation = place.cite(line);
        TimelineEntry {
            time: format_ts(at),
            corrected_time: None,
            clock_offset_ms: None,
            source,
            level: level.to_string(),
            text: crate::parsers::clip(text.lines().next().unwrap_or(""), 300),
            joined_by,
            place: place.clone(),
            line: citation.line,
            line_in_bundle: citation.line_in_bundle,
            original_offset_start: citation.original_offset_start,
            at_ms: at.as_millisecond(),
        }
    }

    /// Moves the entry to headnode time.
    fn correct(&mut self, offset: &ClockOffset) {
        self.at_ms -= offset.offset_ms;
        self.clock_offset_ms = Some(offset.offset_ms);
        self.corrected_time = jiff::Timestamp::from_millisecond(self.at_ms)
            .ok()
            .map(format_ts);
    }

    fn is_error(&self) -> bool {
        self.level == "ERROR" || self.level == "FATAL"
    }
}

/// A provision's timeline and what it was joined on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    pub keys: JoinKeys,
    pub entries: Vec<TimelineEntry>,
    /// The clock offsets applied to its entries, by host.
    pub clock_offsets: Vec<ClockOffset>,
}

/// Which kept records mention which id: every uuid in the raw line, plus the structured
/// `req_id` and `task_id` (a request id need not be a uuid). Built once, so joining a provision
/// is a few lookups rather than a scan of every record per id.
#[derive(Debug, Default)]
pub struct RecordIndex {
    by_id: HashMap<String, Vec<usize>>,
}

impl RecordIndex {
    pub fn build(records: &[LogRecord]) -> RecordIndex {
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let mut ids: BTreeSet<String> = crate::parsers::find_uuids(&r.record.raw)
                .into_iter()
                .collect();
            ids.extend(r.record.req_id.as_deref().map(str::to_ascii_lowercase));
            ids.extend(r.record.task_id.clone());
            ids.extend(r.record.vm_uuid.clone());
            for id in ids {
                by_id.entry(id).or_default().push(i);
            }
        }
        RecordIndex { by_id }
    }

    /// Indices (into `Facts::records`) of the records mentioning `id`.
    pub fn mentioning(&self, id: &str) -> &[usize] {
        self.by_id
            .get(&id.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn level_name(level: u8) -> &'static str {
    match level {
        0..=19 => "TRACE",
        20..=29 => "DEBUG",
        30..=39 => "INFO",
        40..=49 => "WARN",
        50..=59 => "ERROR",
        _ => "FATAL",
    }
}

/// A short source label: a CN agent's task log is named after its task module's full path
/// (`/opt/smartdc/agents/lib/node_modules/cn-agent/lib/backends/smartos/tasks/machine_create`),
/// shown as `cn-agent:machine_create`.
pub(crate) fn source_label(service: &str) -> String {
    let Some((_, task)) = service.rsplit_once("/tasks/") else {
        return service.to_string();
    };
    let agent = service
        .split_once("node_modules/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or("agent");
    format!("{agent}:{task}")
}

/// The provision's own ids and those joined transitively through request ids and task ids.
fn join_keys(facts: &Facts, p: &Provision) -> (JoinKeys, BTreeSet<String>, BTreeSet<String>) {
    let own_requests: BTreeSet<String> = p
        .request_id
        .iter()
        .map(|r| r.to_ascii_lowercase())
        .collect();
    let own_tasks: BTreeSet<String> = p
        .job
        .iter()
        .flat_map(|j| j.value.dispatched_tasks())
        .map(|(id, _)| id)
        .collect();
    let mut requests = own_requests.clone();
    let mut tasks = own_tasks.clone();
    let mut new_requests: Vec<String> = requests.iter().cloned().collect();
    let mut new_tasks: Vec<String> = tasks.iter().cloned().collect();
    let mut derived = 0;
    for _ in 0..MAX_JOIN_ROUNDS {
        let mut found_requests = BTreeSet::new();
        let mut found_tasks = BTreeSet::new();
        for task in &new_tasks {
            for &i in facts.record_index.mentioning(task) {
                if let Some(req) = &facts.records[i].record.req_id {
                    let req = req.to_ascii_lowercase();
                    if !requests.contains(&req) {
                        found_requests.insert(req);
                    }
                }
            }
        }
        for req in &new_requests {
            for &i in facts.record_index.mentioning(req) {
                if let Some(task) = &facts.records[i].record.task_id {
                    if !tasks.contains(task) {
                        found_tasks.insert(task.clone());
                    }
                }
            }
        }
        if found_requests.is_empty() && found_tasks.is_empty() {
            break;
        }
        derived += found_requests.len() + found_tasks.len();
        if derived > MAX_DERIVED_IDS {
            break;
        }
        requests.extend(found_requests.iter().cloned());
        tasks.extend(found_tasks.iter().cloned());
        new_requests = found_requests.into_iter().collect();
        new_tasks = found_tasks.into_iter().collect();
    }
    let ordered = |own: &BTreeSet<String>, all: &BTreeSet<String>| -> Vec<String> {
        own.iter()
            .cloned()
            .chain(all.difference(own).cloned())
            .collect()
    };
    let keys = JoinKeys {
        vm_uuid: p.vm_uuid.clone(),
        job_uuid: p.job.as_ref().map(|j| j.value.uuid.clone()),
        request_ids: ordered(&own_requests, &requests),
        task_ids: ordered(&own_tasks, &tasks),
    };
    (keys, own_requests, own_tasks)
}

/// Records joined to the provision, each with the strongest reason it joined.
fn joined_records(
    facts: &Facts,
    keys: &JoinKeys,
    own_requests: &BTreeSet<String>,
    own_tasks: &BTreeSet<String>,
) -> BTreeMap<usize, JoinedBy> {
    let mut by_reason: Vec<(JoinedBy, &str)> = Vec::new();
    for task in &keys.task_ids {
        let why = if own_tasks.contains(task) {
            JoinedBy::Task
        } else {
            JoinedBy::TaskViaRequest
        };
        by_reason.push((why, task));
    }
    for req in &keys.request_ids {
        let why = if own_requests.contains(req) {
            JoinedBy::Request
        } else {
            JoinedBy::RequestViaTask
        };
        by_reason.push((why, req));
    }
    by_reason.extend(keys.job_uuid.as_deref().map(|j| (JoinedBy::JobUuid, j)));
    by_reason.extend(keys.vm_uuid.as_deref().map(|v| (JoinedBy::Vm, v)));
    let mut joined: BTreeMap<usize, JoinedBy> = BTreeMap::new();
    for (why, id) in by_reason {
        for &i in facts.record_index.mentioning(id) {
            joined
                .entry(i)
                .and_modify(|w| *w = (*w).min(why))
                .or_insert(why);
        }
    }
    joined
}

fn job_entries(p: &Provision, out: &mut Vec<TimelineEntry>) {
    let Some(job) = &p.job else { return };
    for r in &job.value.chain_results {
        let Some(at) = r.finished_at.as_deref().and_then(parse_iso) else {
            continue;
        };
        let what = match r.error.text() {
            Some(e) => format!(
                "{} failed: {}",
                r.name.as_deref().unwrap_or("(workflow)"),
                e.lines().next().unwrap_or("")
            ),
            None => format!("{} done: {}", r.name.as_deref().unwrap_or("?"), r.result),
        };
        let level = if r.error.is_error() { "ERROR" } else { "INFO" };
        out.push(TimelineEntry::new(
            at,
            "job".into(),
            level,
            what,
            JoinedBy::Job,
            &job.place,
            job.line,
        ));
    }
}

/// The VM's datasets, and the image's records near the provision (not every clone of the image
/// since it was imported).
fn pool_entries(facts: &Facts, p: &Provision, out: &mut Vec<TimelineEntry>) {
    const HOUR_MS: i64 = 3_600_000;
    let (start, end) = p.window();
    let start = start
        .as_deref()
        .and_then(parse_iso)
        .map(|t| t.as_millisecond());
    let end = end
        .as_deref()
        .and_then(parse_iso)
        .map(|t| t.as_millisecond());
    let near =
        |t: i64| start.is_some_and(|s| t >= s - HOUR_MS) && end.is_none_or(|e| t <= e + HOUR_MS);
    for node in facts.nodes_for(p.server_uuid.as_deref()) {
        for hist in &node.zpool {
            let mut taken = 0;
            for r in &hist.value.records {
                let Some(at) = r.time.as_deref().and_then(parse_iso) else {
                    continue;
                };
                let why = if p
                    .vm_uuid
                    .as_deref()
                    .is_some_and(|vm| r.command.contains(vm))
                {
                    JoinedBy::Vm
                } else if p
                    .image_uuid
                    .as_deref()
                    .is_some_and(|img| r.command.contains(img))
                    && near(at.as_millisecond())
                {
                    JoinedBy::Image
                } else {
                    continue;
                };
                if taken == MAX_POOL_RECORDS {
                    break;
                }
                taken += 1;
                out.push(TimelineEntry::new(
                    at,
                    "zpool history".into(),
                    "INFO",
                    r.command.clone(),
                    why,
                    &hist.place,
                    Some(r.line),
                ));
            }
        }
    }
}

/// The time the timeline is centred on: the failure, else the end of the provision.
fn anchor_ms(p: &Provision) -> Option<i64> {
    p.failure
        .as_ref()
        .and_then(|f| f.finished_at.clone())
        .or_else(|| p.window().1)
        .or_else(|| p.created_at.clone())
        .as_deref()
        .and_then(parse_iso)
        .map(|t| t.as_millisecond())
}

/// Builds the timeline of one provision.
pub fn build(facts: &Facts, p: &Provision) -> Timeline {
    let (keys, own_requests, own_tasks) = join_keys(facts, p);
    let mut candidates = Vec::new();
    job_entries(p, &mut candidates);
    for (i, why) in joined_records(facts, &keys, &own_requests, &own_tasks) {
        let r = &facts.records[i];
        let Some(at) = r.record.time.as_deref().and_then(parse_iso) else {
            continue;
        };
        // The record's own `name`: a merged task log holds the records of many tasks.
        let name = match r.record.name.as_str() {
            "" | SMF_NAME => r.service.as_str(),
            own => own,
        };
        candidates.push(TimelineEntry::new(
            at,
            source_label(name),
            level_name(r.record.level),
            r.record.msg.clone(),
            why,
            &r.place,
            Some(r.record.line),
        ));
    }
    pool_entries(facts, p, &mut candidates);
    for e in candidates.iter_mut() {
        if let Some(offset) = offset_of(&facts.clock_offsets, e.place.host.as_deref()) {
            e.correct(offset);
        }
    }
    let anchor = anchor_ms(p);
    // Errors first, then direct matches, then transitive ones; nearest the failure first.
    candidates.sort_by_key(|e| {
        let tier = if e.is_error() {
            0
        } else if e.joined_by.direct() {
            1
        } else {
            2
        };
        let distance = anchor.map(|a| (e.at_ms - a).abs()).unwrap_or(0);
        (tier, distance, e.at_ms)
    });
    candidates.truncate(TIMELINE_MAX);
    // At the same instant the headnode's own record comes first: a node's receipt corrected
    // onto the headnode's send time happened after it.
    candidates.sort_by(|a, b| {
        let key = |e: &TimelineEntry| (e.at_ms, e.clock_offset_ms.is_some());
        (key(a), &a.place, a.line, &a.text).cmp(&(key(b), &b.place, b.line, &b.text))
    });
    let applied: Vec<ClockOffset> = facts
        .clock_offsets
        .iter()
        .filter(|o| {
            candidates
                .iter()
                .any(|e| e.place.host.as_deref() == Some(o.host.as_str()))
        })
        .cloned()
        .collect();
    Timeline {
        keys,
        entries: candidates,
        clock_offsets: applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ladder::Era;
    use crate::facts::JobResult;
    use crate::input::observations::Located;

    const VM: &str = "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5";
    const REQ: &str = "473f4acd-a901-4001-809f-48156e923d28";
    const AGENT_REQ: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
    const TASK: &str = "1f7a00bf-a6c2-4423-8f63-0291479a4df8";
    const IMAGE_TASK: &str = "89a1a45c-655d-4321-a410-74d77df4321d";
    const OTHER_REQ: &str = "0b0b0b0b-0000-4000-8000-00000000000b";

    fn record(service: &str, host: Option<&str>, line: u64, json: &str) -> LogRecord {
        let mut got = Vec::new();
        crate::parsers::service_log::scan_filtered(json.as_bytes(), |_| true, |r, _| got.push(r))
            .expect("scan");
        let mut record = got.pop().expect("one record");
        record.line = line;
        LogRecord {
            place: Place {
                input: "in".into(),
                entry: format!("{service}.log"),
                host: host.map(str::to_string),
                ..Place::default()
            },
            service: service.into(),
            record,
        }
    }

    fn bunyan(name: &str, fields: &str, msg: &str, time: &str) -> String {
        format!(
            r#"{{"name":"{name}","hostname":"h","pid":1,"level":30,{fields}"msg":"{msg}","time":"{time}","v":0}}"#
        )
    }

    fn provision() -> Provision {
        let job = crate::parsers::job::parse_job(&serde_json::json!({
            "uuid": "b5d6e1c9-d70b-42c9-8838-87e55a90ea12", "name": "provision-8.2.4",
            "execution": "failed", "created_at": "2024-05-11T08:57:54.000Z",
            "params": {"vm_uuid": VM, "x-request-id": REQ},
            "chain_results": [
                {"result": format!("Provision task: {TASK} queued!"), "error": "",
                 "name": "cnapi.provision_vm",
                 "started_at": "2024-05-11T08:57:58.000Z", "finished_at": "2024-05-11T08:57:58.700Z"},
                {"result": "", "error": "boom", "name": "cnapi.wait_task",
                 "started_at": "2024-05-11T08:57:58.800Z", "finished_at": "2024-05-11T09:04:11.000Z"}]
        }))
        .expect("job");
        Provision {
            id: job.uuid.clone(),
            vm_uuid: Some(VM.into()),
            request_id: Some(REQ.into()),
            job: Some(Located {
                place: Place::default(),
                line: Some(1),
                value: job,
            }),
            refused: None,
            logged_job: None,
            era: Era::V82Plus,
            workflow: None,
            brand: None,
            server_uuid: None,
            image_uuid: None,
            created_at: Some("2024-05-11T08:57:54.000Z".into()),
            outcome: JobResult::Failed,
            failure: None,
            ladder: Vec::new(),
            other_jobs: Vec::new(),
            vm_objects: Vec::new(),
        }
    }

    #[test]
    fn joins_through_task_ids_and_request_ids() {
        let cn = Some("44454c4c-88a8-1087-80c8-183deff76814");
        let records = vec![
            // CNAPI creates the image task under the provision's request.
            record(
                "cnapi",
                None,
                1,
                &bunyan(
                    "cnapi",
                    &format!(r#""req_id":"{REQ}","#),
                    &format!("Task id = {IMAGE_TASK}"),
                    "2024-05-11T08:57:56.000Z",
                ),
            ),
            record(
                "cn-agent",
                cn,
                2,
                &bunyan(
                    "cn-agent",
                    &format!(r#""req_id":"{AGENT_REQ}","task_id":"{TASK}","#),
                    "Instantiating machine_create",
                    "2024-05-11T08:57:59.000Z",
                ),
            ),
            record(
                "cn-agent",
                cn,
                3,
                &bunyan(
                    "cn-agent",
                    &format!(r#""req_id":"{AGENT_REQ}","#),
                    "Child terminated cleanly.",
                    "2024-05-11T09:04:08.000Z",
                ),
            ),
            record(
                "cn-agent",
                cn,
                4,
                &bunyan(
                    "cn-agent",
                    &format!(r#""task_id":"{IMAGE_TASK}","#),
                    "Instantiating image_ensure_present",
                    "2024-05-11T08:57:57.000Z",
                ),
            ),
            // The VM named under another request: joins, but its request does not.
            record(
                "vmapi",
                None,
                5,
                &bunyan(
                    "vmapi",
                    &format!(r#""req_id":"{OTHER_REQ}","vm_uuid":"{VM}","#),
                    "GET /vms",
                    "2024-05-11T09:10:00.000Z",
                ),
            ),
            record(
                "vmapi",
                None,
                6,
                &bunyan(
                    "vmapi",
                    &format!(r#""req_id":"{OTHER_REQ}","#),
                    "handled: 200",
                    "2024-05-11T09:10:00.100Z",
                ),
            ),
        ];
        let mut facts = Facts {
            records,
            ..Facts::default()
        };
        facts.record_index = RecordIndex::build(&facts.records);
        let timeline = build(&facts, &provision());
        assert_eq!(timeline.keys.request_ids, vec![REQ, AGENT_REQ]);
        assert_eq!(timeline.keys.task_ids, vec![TASK, IMAGE_TASK]);
        let joined: Vec<(Option<u64>, JoinedBy)> = timeline
            .entries
            .iter()
            .filter(|e| e.source != "job")
            .map(|e| (e.line, e.joined_by))
            .collect();
        assert_eq!(
            joined,
            vec![
                (Some(1), JoinedBy::Request),
                (Some(4), JoinedBy::TaskViaRequest),
                (Some(2), JoinedBy::Task),
                (Some(3), JoinedBy::RequestViaTask),
                (Some(5), JoinedBy::Vm),
            ]
        );
        // The job's tasks are there, the failed one as an error.
        let job: Vec<&str> = timeline
            .entries
            .iter()
            .filter(|e| e.source == "job")
            .map(|e| e.level.as_str())
            .collect();
        assert_eq!(job, vec!["INFO", "ERROR"]);
    }

    #[test]
    fn errors_and_direct_matches_survive_the_cut() {
        let mut records = Vec::new();
        for i in 0..(TIMELINE_MAX as u64 + 20) {
            let time = format!("2024-05-11T08:{:02}:00.000Z", i % 60);
            records.push(record(
                "cn-agent",
                None,
                i + 1,
                &bunyan(
                    "cn-agent",
                    &format!(r#""req_id":"{AGENT_REQ}","task_id":"{TASK}","#),
                    "noise",
                    &time,
                ),
            ));
        }
        let error = format!(
            r#"{{"name":"vmapi","hostname":"h","pid":1,"level":50,"req_id":"{OTHER_REQ}","vm_uuid":"{VM}","msg":"far away error","time":"2024-05-11T03:00:00.000Z","v":0}}"#
        );
        records.push(record("vmapi", None, 999, &error));
        let mut facts = Facts {
            records,
            ..Facts::default()
        };
        facts.record_index = RecordIndex::build(&facts.records);
        let timeline = build(&facts, &provision());
        assert_eq!(timeline.entries.len(), TIMELINE_MAX);
        assert!(timeline.entries.iter().any(|e| e.text == "far away error"));
        assert_eq!(
            timeline
                .entries
                .iter()
                .filter(|e| e.source == "job")
                .count(),
            2
        );
        assert!(timeline
            .entries
            .windows(2)
            .all(|w| w[0].at_ms <= w[1].at_ms));
    }

    #[test]
    fn task_module_sources_are_shortened() {
        assert_eq!(
            source_label(
                "/opt/smartdc/agents/lib/node_modules/cn-agent/lib/backends/smartos/tasks/machine_create"
            ),
            "cn-agent:machine_create"
        );
        assert_eq!(source_label("vmapi"), "vmapi");
    }
}
