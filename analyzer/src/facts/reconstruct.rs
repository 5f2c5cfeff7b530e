//! A failed VM whose workflow job is not in the input (an `sdc-sbcreate` service bundle has no
//! jobs): what the logs still tell about its provision.
//!
//! - the request: VMAPI's `POST /vms` audit record among the records with the VM's uuid gives
//!   the request id every service logs (`req_id`, `x-request-id`);
//! - the job: the workflow runner logs `job completed` with `job: {uuid, name, execution}` and
//!   `runtime` ms at the end of every job (node-workflow `lib/runner.js`); a record that names
//!   both the job and the VM or request links them directly (VMAPI's debug-level
//!   `Provision job <job> queued for VM <vm>`), otherwise the provision job whose start
//!   (end − runtime) is the closest after that `POST /vms`, within [`JOB_START_SLACK_MS`];
//! - the failure: the error-level records of that request: CNAPI's `posting task to cn-agent:
//!   <agent error>` is the text the job's wait task records (reference §1.4), else the CN's own
//!   (vmadm, cn-agent) error. The task is the job's wait task for the step that error belongs to.

use serde_json::Value;

use super::ladder::Era;
use super::{Facts, Failure};
use crate::input::observations::LogRecord;
use crate::input::place::Place;
use crate::parsers::job::WorkflowVersion;
use crate::parsers::time::parse_iso;

/// How far a job's start may lie from the `POST /vms` that created it (VMAPI answers 202 once
/// the job is queued; a busy runner may pick it up a while later).
const JOB_START_SLACK_MS: i64 = 120_000;

/// CNAPI's prefix when the agent answered the task with an error (sdc-cnapi `lib/models/server.js`).
const CNAPI_AGENT_PREFIX: &str = "posting task to cn-agent: ";

/// The provision job as the logs show it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedJob {
    pub uuid: String,
    pub name: String,
    pub execution: Option<String>,
    /// How the job was tied to the VM, in words (for the report).
    pub linked_by: String,
    pub place: Place,
    pub line: u64,
}

/// What the logs say about one provision without its job.
#[derive(Debug, Clone, Default)]
pub struct FromLogs {
    pub request_id: Option<String>,
    pub job: Option<LoggedJob>,
    pub failure: Option<Failure>,
    pub era: Option<Era>,
}

fn millis(time: Option<&str>) -> Option<i64> {
    time.and_then(parse_iso).map(|t| t.as_millisecond())
}

fn is_post_vms(r: &LogRecord) -> bool {
    r.record.audit.as_ref().is_some_and(|a| {
        a.method == "POST"
            && (a.url == "/vms" || a.url.starts_with("/vms?"))
            && a.status.is_some_and(|s| s < 400)
    })
}

/// A job as its `job completed` record shows it: (uuid, name, execution, start in ms).
type Completed = (String, String, Option<String>, Option<i64>);

/// A `job completed` record's job.
fn completed_job(r: &LogRecord) -> Option<Completed> {
    if !r.record.msg.starts_with("job completed") {
        return None;
    }
    let value: Value = serde_json::from_str(&r.record.raw).ok()?;
    let job = value.get("job")?;
    let uuid = job.get("uuid")?.as_str()?.to_ascii_lowercase();
    let name = job.get("name")?.as_str()?.to_string();
    let execution = job
        .get("execution")
        .and_then(Value::as_str)
        .map(str::to_string);
    let runtime = value.get("runtime").and_then(Value::as_i64);
    let start = millis(r.record.time.as_deref()).and_then(|end| Some(end - runtime?));
    Some((uuid, name, execution, start))
}

/// How far VMAPI's `create_timestamp` of a VM may lie from the `POST /vms` audit record (written
/// when the answer went out, after allocation and the job's creation).
const CREATE_SLACK_MS: i64 = 30_000;

/// The request that created `vm`: the `POST /vms` among the records naming it, else the one
/// answered closest after the VM's `create_timestamp` (older VMAPIs log nothing else naming it).
fn request_of(facts: &Facts, vm: &str, created: Option<&str>) -> Option<(String, Option<i64>)> {
    request_naming(facts, vm).or_else(|| {
        let created = millis(created)?;
        facts
            .records
            .iter()
            .filter(|r| is_post_vms(r) && r.service.contains("vmapi"))
            .filter_map(|r| {
                let at = millis(r.record.time.as_deref())?;
                let after = at - created;
                (0..=CREATE_SLACK_MS)
                    .contains(&after)
                    .then(|| (after, r.record.req_id.clone(), at))
            })
            .min_by_key(|(after, id, _)| (*after, id.clone()))
            .and_then(|(_, id, at)| Some((id?, Some(at))))
    })
}

fn request_naming(facts: &Facts, vm: &str) -> Option<(String, Option<i64>)> {
    let named: std::collections::BTreeSet<&str> = facts
        .records
        .iter()
        .filter(|r| r.record.vm_uuid.as_deref() == Some(vm) || r.record.raw.contains(vm))
        .filter_map(|r| r.record.req_id.as_deref())
        .collect();
    facts
        .records
        .iter()
        .filter(|r| is_post_vms(r))
        .find(|r| {
            r.record
                .req_id
                .as_deref()
                .is_some_and(|id| named.contains(id))
        })
        .and_then(|r| {
            let id = r.record.req_id.clone()?;
            Some((id, millis(r.record.time.as_deref())))
        })
}

fn find_job(facts: &Facts, vm: &str, request: Option<&(String, Option<i64>)>) -> Option<LoggedJob> {
    let completed: Vec<(&LogRecord, Completed)> = facts
        .records
        .iter()
        .filter_map(|r| Some((r, completed_job(r)?)))
        .filter(|(_, (_, name, _, _))| name.starts_with("provision"))
        .collect();
    let logged =
        |r: &LogRecord, job: &(String, String, Option<String>, Option<i64>), how: String| {
            LoggedJob {
                uuid: job.0.clone(),
                name: job.1.clone(),
                execution: job.2.clone(),
                linked_by: how,
                place: r.place.clone(),
                line: r.record.line,
            }
        };
    // A record naming a job and this VM (or its request) ties them for certain.
    for r in &facts.records {
        let Some(job_uuid) = r.record.job_uuid.as_deref() else {
            continue;
        };
        let names_vm = r.record.raw.contains(vm)
            || request.is_some_and(|(id, _)| r.record.req_id.as_deref() == Some(id.as_str()));
        if !names_vm {
            continue;
        }
        if let Some((end, job)) = completed.iter().find(|(_, j)| j.0 == job_uuid) {
            return Some(logged(
                end,
                job,
                format!("{} names the job and the VM", r.place.label()),
            ));
        }
    }
    let (_, Some(created)) = request? else {
        return None;
    };
    completed
        .iter()
        .filter_map(|(r, job)| {
            let start = job.3?;
            let after = start - created;
            (-JOB_START_SLACK_MS..=JOB_START_SLACK_MS)
                .contains(&after)
                .then_some((after.abs(), *r, job))
        })
        .min_by_key(|(distance, r, _)| (*distance, r.record.time.clone()))
        .map(|(distance, r, job)| {
            logged(
                r,
                job,
                format!(
                    "the provision job starting closest to the VM's POST /vms, {distance} ms apart (matched by time)"
                ),
            )
        })
}

/// The job's wait task for the step an error belongs to, in that era's chain.
fn wait_task(era: Era, error: &str) -> Option<String> {
    let lower = error.to_ascii_lowercase();
    let image_step = lower.contains("-partial")
        || lower.contains("imgadm")
        || lower.contains("image")
        || lower.contains("backup stream");
    let wanted: &[&str] = if image_step {
        &[
            "cnapi.wait_task_ensure_image",
            "cnapi.poll_task_ensure_image",
        ]
    } else {
        &["cnapi.wait_task", "cnapi.poll_task"]
    };
    era.expected_chain()
        .iter()
        .map(|(name, _)| *name)
        .find(|name| wanted.contains(name))
        .map(str::to_string)
}

fn failure_of(facts: &Facts, request: &str, era: Option<Era>) -> Option<Failure> {
    let errors: Vec<&LogRecord> = facts
        .records
        .iter()
        .filter(|r| r.record.level >= 50 && r.record.req_id.as_deref() == Some(request))
        .collect();
    let (record, text) = errors
        .iter()
        .find_map(|r| {
            let err = r.record.err.as_deref()?;
            err.strip_prefix(CNAPI_AGENT_PREFIX)
                .map(|t| (*r, t.to_string()))
        })
        .or_else(|| {
            errors.iter().find_map(|r| {
                let text = r.record.err.clone().unwrap_or_else(|| r.record.msg.clone());
                (!text.is_empty()).then_some((*r, text))
            })
        })
        .or_else(|| {
            facts
                .records
                .iter()
                .filter(|r| r.record.req_id.as_deref() == Some(request))
                .find_map(|r| task_error_event(&r.record.raw).map(|t| (r, t)))
        })?;
    Some(Failure {
        task: era.and_then(|e| wait_task(e, &text)),
        error: text,
        code: None,
        started_at: None,
        finished_at: record.record.time.clone(),
        duration_s: None,
        timeout_s: None,
        place: record.place.clone(),
        line: Some(record.record.line),
    })
}

/// The error of an agent task's `error` event, logged at INFO: the 7.0-era provisioner's
/// `Publishing event to routing key (provisioner.<server>.event.error.<client>.<task>)` with
/// `message: {error}` (sdc-provisioner-agent `lib/task_agent/task_agent.js`, `task.js` `fatal`),
/// or a task child's `Received event (error) from task instance` with `event: {error}`
/// (`task_worker.js`). This is the text CNAPI stores and the job's wait task reports.
fn task_error_event(raw: &str) -> Option<String> {
    if !raw.contains("\"error\"") {
        return None;
    }
    let value: Value = serde_json::from_str(raw).ok()?;
    let error = value
        .pointer("/message/error")
        .or_else(|| value.pointer("/event/error"))?;
    let text = match error {
        Value::String(s) => s.clone(),
        other => other.get("message")?.as_str()?.to_string(),
    };
    (!text.trim().is_empty()).then_some(text)
}

/// What the logs say about the provision of `vm`.
pub fn from_logs(facts: &Facts, vm: &str, created: Option<&str>) -> FromLogs {
    let request = request_of(facts, vm, created);
    let job = find_job(facts, vm, request.as_ref());
    let era = job
        .as_ref()
        .map(|j| Era::of(WorkflowVersion::from_job_name(&j.name)));
    let failure = request
        .as_ref()
        .and_then(|(id, _)| failure_of(facts, id, era));
    FromLogs {
        request_id: request.map(|(id, _)| id),
        job,
        failure,
        era,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_tasks_by_era_and_step() {
        let timeout = "vmadm exited with code: 1: timed out waiting for /var/svc/provisioning";
        assert_eq!(
            wait_task(Era::V82Plus, timeout).as_deref(),
            Some("cnapi.wait_task")
        );
        assert_eq!(
            wait_task(Era::V70, timeout).as_deref(),
            Some("cnapi.poll_task")
        );
        assert_eq!(
            wait_task(Era::V70, "zfs: '-partial' exists").as_deref(),
            Some("cnapi.poll_task_ensure_image")
        );
        assert_eq!(wait_task(Era::NoJob, timeout), None);
    }

    #[test]
    fn task_error_events_carry_the_error() {
        let published = r#"{"name":"provisioner","hostname":"cn1","pid":5,"level":30,"message":{"error":"Error importing image 279936e6-5eae-4a87-8a37-dc3e13c36ff9 to zpool zones:\n\targv: []","req_id":"r1"},"req_id":"r1","msg":"Publishing event to routing key (provisioner.s1.event.error.c1.t1)","time":"2014-03-25T21:42:40.000Z","v":0}"#;
        assert_eq!(
            task_error_event(published).as_deref(),
            Some("Error importing image 279936e6-5eae-4a87-8a37-dc3e13c36ff9 to zpool zones:\n\targv: []")
        );
        let child = r#"{"name":"x","level":30,"event":{"error":{"message":"boom"}},"msg":"Received event (error) from task instance","v":0}"#;
        assert_eq!(task_error_event(child).as_deref(), Some("boom"));
        let finish = r#"{"name":"x","level":30,"event":{"req_id":"r1"},"msg":"Received event (finish) from task instance","v":0}"#;
        assert_eq!(task_error_event(finish), None);
        assert_eq!(task_error_event("not json \"error\""), None);
    }
}
