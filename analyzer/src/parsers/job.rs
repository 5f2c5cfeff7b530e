//! node-workflow job objects, as `sdc-workflow /jobs/<uuid>` (full) and `sdc-vmapi
//! /vms/<uuid>/jobs` (trimmed: no `chain`, `elapsed`, `onerror_results`) return them.
//!
//! A real chain_results entry (guide, provision-7.0.24):
//!
//! ```text
//! {
//!   "result": "",
//!   "error": {
//!     "name": "Error",
//!     "message": "VM.create error: timed out waiting for /var/svc/provisioning to move for a8d2e0fd-1224-468d-ad0b-9411b63ab6d5"
//!   },
//!   "name": "cnapi.poll_task",
//!   "started_at": "2013-12-18T22:23:10.562Z",
//!   "finished_at": "2013-12-18T22:28:14.305Z"
//! }
//! ```
//!
//! `error` is `""` on success, else a string (`task timeout error`), `{name, message}`, or a whole
//! restify error (`statusCode`, `restCode`, `body`). A whole-job timeout appends `{"error":
//! "workflow timeout"}` with no `name` and no `started_at`.

use serde_json::Value;

/// The error of one chain_results entry.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    /// `""` or absent: the task succeeded.
    None,
    /// A plain string (`task timeout error`, `workflow timeout`, a cn-agent message).
    Text(String),
    /// A plain `Error` reduced to `{name, message}`.
    Named { name: String, message: String },
    /// A restify client error stored whole.
    Restify {
        name: Option<String>,
        message: String,
        status_code: Option<u16>,
        rest_code: Option<String>,
        body_message: Option<String>,
    },
}

impl TaskError {
    fn from_value(value: Option<&Value>) -> TaskError {
        let Some(value) = value else {
            return TaskError::None;
        };
        match value {
            Value::Null => TaskError::None,
            Value::String(s) if s.is_empty() => TaskError::None,
            Value::String(s) => TaskError::Text(s.clone()),
            Value::Object(map) => {
                let name = map.get("name").and_then(Value::as_str).map(str::to_string);
                let message = map
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let status_code = map
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok());
                let rest_code = map
                    .get("restCode")
                    .or_else(|| map.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let body_message = map
                    .get("body")
                    .and_then(|b| b.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if status_code.is_some() || rest_code.is_some() || map.contains_key("body") {
                    TaskError::Restify {
                        name,
                        message,
                        status_code,
                        rest_code,
                        body_message,
                    }
                } else {
                    TaskError::Named {
                        name: name.unwrap_or_else(|| "Error".to_string()),
                        message,
                    }
                }
            }
            other => TaskError::Text(other.to_string()),
        }
    }

    /// The human text of the error, if any.
    pub fn text(&self) -> Option<String> {
        match self {
            TaskError::None => None,
            TaskError::Text(s) => Some(s.clone()),
            TaskError::Named { message, .. } => Some(message.clone()),
            TaskError::Restify {
                message,
                body_message,
                ..
            } => Some(if message.is_empty() {
                body_message.clone().unwrap_or_default()
            } else {
                message.clone()
            }),
        }
    }

    pub fn is_error(&self) -> bool {
        !matches!(self, TaskError::None)
    }

    /// The restify `restCode` or error `name`, when the error carries one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TaskError::Restify {
                rest_code, name, ..
            } => rest_code.as_deref().or(name.as_deref()),
            TaskError::Named { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// One entry of `chain_results` / `onerror_results`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// Absent on the `workflow timeout` entry.
    pub name: Option<String>,
    pub result: String,
    pub error: TaskError,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl TaskResult {
    /// Seconds the task ran, when both ends are known.
    pub fn duration(&self) -> Option<f64> {
        super::time::seconds_between(self.started_at.as_deref()?, self.finished_at.as_deref()?)
    }

    /// The CNAPI task this entry queued, when its result names it (`Task id: <id> queued to
    /// CNAPI!`, `Provision task: <id> queued!`; reference §1.3).
    pub fn queued_task_id(&self) -> Option<String> {
        let lower = self.result.to_ascii_lowercase();
        if !(lower.contains("task") && lower.contains("queued")) {
            return None;
        }
        super::find_uuids(&self.result).into_iter().next()
    }

    pub fn is_workflow_timeout(&self) -> bool {
        self.name.is_none() && self.error.text().as_deref() == Some("workflow timeout")
    }
}

/// A task of the workflow `chain` (full jobs only).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainTask {
    pub name: String,
    /// Seconds.
    pub timeout: Option<f64>,
}

/// `provision-<major>.<minor>.<patch>` parsed from the job name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkflowVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl WorkflowVersion {
    /// Parses the part after the last `-` of a job name (`provision-8.2.4`).
    pub fn from_job_name(name: &str) -> Option<WorkflowVersion> {
        let (_, version) = name.rsplit_once('-')?;
        let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(WorkflowVersion {
            major,
            minor,
            patch,
        })
    }
}

/// A workflow job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub uuid: String,
    /// `provision-8.2.4`, `destroy-7.0.1`, ...
    pub name: String,
    pub version: Option<WorkflowVersion>,
    /// `queued`, `running`, `succeeded`, `failed`, `canceled`, ...
    pub execution: String,
    pub created_at: Option<String>,
    pub elapsed: Option<f64>,
    /// Whole-job timeout in seconds.
    pub timeout: Option<f64>,
    pub vm_uuid: Option<String>,
    pub request_id: Option<String>,
    pub server_uuid: Option<String>,
    pub image_uuid: Option<String>,
    pub brand: Option<String>,
    pub owner_uuid: Option<String>,
    /// CNAPI task ids the job recorded (`taskId`, `params.taskId`).
    pub task_ids: Vec<String>,
    /// Empty for trimmed jobs.
    pub chain: Vec<ChainTask>,
    pub chain_results: Vec<TaskResult>,
    pub onerror_results: Vec<TaskResult>,
    /// True for VMAPI's trimmed view (no `chain`, no `elapsed`).
    pub trimmed: bool,
}

impl Job {
    /// What kind of job, from its name: `provision`, `destroy`, `start`, ...
    pub fn kind(&self) -> &str {
        match self.name.rsplit_once('-') {
            Some((kind, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => kind,
            _ => &self.name,
        }
    }

    pub fn is_provision(&self) -> bool {
        self.kind() == "provision"
    }

    /// The first chain_results entry carrying an error (the chain stops there), or the
    /// `workflow timeout` entry.
    pub fn failed_task(&self) -> Option<&TaskResult> {
        self.chain_results
            .iter()
            .find(|r| r.error.is_error() && !r.is_workflow_timeout())
            .or_else(|| self.chain_results.iter().find(|r| r.is_workflow_timeout()))
    }

    pub fn workflow_timed_out(&self) -> bool {
        self.chain_results
            .iter()
            .any(TaskResult::is_workflow_timeout)
    }

    /// The CNAPI tasks this job dispatched, each with the chain entry that asked CNAPI for it
    /// (its `started_at` is before the agent could have received the task). A task id the job
    /// only records as `taskId` belongs to `cnapi.provision_vm`, which sets it.
    pub fn dispatched_tasks(&self) -> Vec<(String, &TaskResult)> {
        let mut out: Vec<(String, &TaskResult)> = self
            .chain_results
            .iter()
            .filter_map(|r| Some((r.queued_task_id()?, r)))
            .collect();
        let provision = self
            .chain_results
            .iter()
            .find(|r| r.name.as_deref() == Some("cnapi.provision_vm"));
        for id in &self.task_ids {
            if let (false, Some(entry)) = (out.iter().any(|(known, _)| known == id), provision) {
                out.push((id.clone(), entry));
            }
        }
        out
    }

    /// How complete the record is; used to keep the richest copy when a job is seen twice.
    pub fn richness(&self) -> (bool, usize, usize) {
        (
            !self.trimmed,
            self.chain_results.len(),
            self.onerror_results.len(),
        )
    }
}

/// Whether a JSON value looks like a workflow job.
pub fn is_job(value: &Value) -> bool {
    value.get("chain_results").is_some_and(Value::is_array)
        && value.get("uuid").is_some_and(Value::is_string)
}

/// For an object that has a job's shape (`chain_results`, or `chain` with `execution`) but is
/// not readable as one, why not: such a file must be named in the report, not silently ignored.
pub fn unreadable_job(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    let shaped = object.contains_key("chain_results")
        || (object.contains_key("chain") && object.contains_key("execution"));
    if !shaped || is_job(value) {
        return None;
    }
    let kind = |v: Option<&Value>| match v {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "an object",
    };
    let mut problems = Vec::new();
    if !object.get("chain_results").is_some_and(Value::is_array) {
        problems.push(format!(
            "`chain_results` is {} (an array expected)",
            kind(object.get("chain_results"))
        ));
    }
    if !object.get("uuid").is_some_and(Value::is_string) {
        problems.push(format!(
            "`uuid` is {} (a string expected)",
            kind(object.get("uuid"))
        ));
    }
    Some(format!(
        "looks like a workflow job but cannot be read: {}",
        problems.join(", ")
    ))
}

/// Whether a JSON value is a list of jobs (`/vms/<uuid>/jobs`).
pub fn is_job_list(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(is_job))
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn a_job_with_wrong_types_is_named_not_ignored() {
        let bad = serde_json::json!({"uuid": 5, "chain_results": "x", "execution": "failed"});
        let why = unreadable_job(&bad).expect("job-shaped");
        assert!(why.contains("`chain_results` is a string"), "{why}");
        assert!(why.contains("`uuid` is a number"), "{why}");
        let good = serde_json::json!({"uuid": "u", "chain_results": []});
        assert_eq!(unreadable_job(&good), None);
        assert_eq!(unreadable_job(&serde_json::json!({"uuid": "vm"})), None);
    }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn results(value: Option<&Value>) -> Vec<TaskResult> {
    let Some(list) = value.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|entry| TaskResult {
            name: str_field(entry, "name"),
            result: match entry.get("result") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            },
            error: TaskError::from_value(entry.get("error")),
            started_at: str_field(entry, "started_at"),
            finished_at: str_field(entry, "finished_at"),
        })
        .collect()
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses one job object. Fails only when the value is not a job at all.
pub fn parse_job(value: &Value) -> Result<Job, String> {
    if !is_job(value) {
        return Err("not a workflow job (no uuid or chain_results)".to_string());
    }
    let params = value.get("params").cloned().unwrap_or(Value::Null);
    let name = str_field(value, "name").unwrap_or_default();
    let chain: Vec<ChainTask> = value
        .get("chain")
        .and_then(Value::as_array)
        .map(|tasks| {
            tasks
                .iter()
                .filter_map(|t| {
                    Some(ChainTask {
                        name: str_field(t, "name")?,
                        timeout: number(t.get("timeout")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut task_ids = Vec::new();
    for v in [value.get("taskId"), params.get("taskId")]
        .into_iter()
        .flatten()
    {
        if let Some(s) = v
            .as_str()
            .filter(|s| !task_ids.iter().any(|t: &String| t == s))
        {
            task_ids.push(s.to_ascii_lowercase());
        }
    }
    let brand = str_field(&params, "brand");
    let image_uuid = str_field(&params, "image_uuid").or_else(|| {
        params
            .get("disks")
            .and_then(Value::as_array)
            .and_then(|d| d.iter().find_map(|d| str_field(d, "image_uuid")))
    });
    Ok(Job {
        uuid: str_field(value, "uuid")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        version: WorkflowVersion::from_job_name(&name),
        name,
        execution: str_field(value, "execution").unwrap_or_else(|| "unknown".to_string()),
        created_at: str_field(value, "created_at"),
        elapsed: number(value.get("elapsed")),
        timeout: number(value.get("timeout")),
        vm_uuid: str_field(&params, "vm_uuid")
            .or_else(|| str_field(&params, "uuid"))
            .map(|s| s.to_ascii_lowercase()),
        request_id: str_field(&params, "x-request-id"),
        server_uuid: str_field(&params, "server_uuid").map(|s| s.to_ascii_lowercase()),
        image_uuid,
        brand,
        owner_uuid: str_field(&params, "owner_uuid"),
        task_ids,
        trimmed: value.get("chain").is_none() && value.get("elapsed").is_none(),
        chain,
        chain_results: results(value.get("chain_results")),
        onerror_results: results(value.get("onerror_results")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The failing tail of the guide's provision-7.0.24 job.
    fn guide_job() -> Value {
        json!({
            "uuid": "7c992699-6166-42bd-94ba-1de449d20d7e",
            "name": "provision-7.0.24",
            "execution": "failed",
            "created_at": "2013-12-18T22:21:32.992Z",
            "elapsed": 451.523,
            "params": {"x-request-id": "bf4d8930-6832-11e3-9e6c-91d56d6d04e1",
                       "vm_uuid": "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5", "brand": "kvm"},
            "chain": [{"name": "cnapi.provision_vm", "timeout": 10},
                      {"name": "cnapi.poll_task", "timeout": 3600}],
            "chain_results": [
                {"result": "Provision queued!", "error": "", "name": "cnapi.provision_vm",
                 "started_at": "2013-12-18T22:22:59.596Z", "finished_at": "2013-12-18T22:23:10.526Z"},
                {"result": "", "error": {"name": "Error", "message": "VM.create error: timed out waiting for /var/svc/provisioning to move for a8d2e0fd-1224-468d-ad0b-9411b63ab6d5"},
                 "name": "cnapi.poll_task",
                 "started_at": "2013-12-18T22:23:10.562Z", "finished_at": "2013-12-18T22:28:14.305Z"}
            ]
        })
    }

    #[test]
    fn parses_guide_job() {
        let job = parse_job(&guide_job()).expect("job");
        assert_eq!(job.name, "provision-7.0.24");
        assert_eq!(
            job.version,
            Some(WorkflowVersion {
                major: 7,
                minor: 0,
                patch: 24
            })
        );
        assert!(job.is_provision());
        assert!(!job.trimmed);
        assert_eq!(
            job.request_id.as_deref(),
            Some("bf4d8930-6832-11e3-9e6c-91d56d6d04e1")
        );
        let failed = job.failed_task().expect("failed task");
        assert_eq!(failed.name.as_deref(), Some("cnapi.poll_task"));
        assert!(failed
            .error
            .text()
            .unwrap_or_default()
            .contains("timed out waiting for /var/svc/provisioning"));
        assert_eq!(failed.duration(), Some(303.743));
        assert_eq!(job.chain[1].timeout, Some(3600.0));
    }

    #[test]
    fn error_shapes() {
        assert_eq!(TaskError::from_value(Some(&json!(""))), TaskError::None);
        assert_eq!(
            TaskError::from_value(Some(&json!("task timeout error"))),
            TaskError::Text("task timeout error".into())
        );
        let restify = json!({"message": "No compute resources available: no servers with enough unreserved RAM",
            "statusCode": 409, "restCode": "NoAllocatableServersError",
            "body": {"code": "NoAllocatableServersError", "message": "No compute resources available: no servers with enough unreserved RAM"}});
        let e = TaskError::from_value(Some(&restify));
        assert_eq!(e.code(), Some("NoAllocatableServersError"));
        assert!(matches!(
            e,
            TaskError::Restify {
                status_code: Some(409),
                ..
            }
        ));
        assert!(e
            .text()
            .unwrap_or_default()
            .starts_with("No compute resources available"));
    }

    #[test]
    fn workflow_timeout_entry_without_name() {
        let v = json!({"uuid": "24ba9505-0176-4bbe-bc50-eb7de8c987b4", "name": "provision-8.1.2",
            "execution": "failed",
            "chain_results": [
                {"result": "OK", "error": "", "name": "common.validate_params",
                 "started_at": "2019-01-01T00:00:00.000Z", "finished_at": "2019-01-01T00:00:01.000Z"},
                {"result": "", "error": "workflow timeout"}]});
        let job = parse_job(&v).expect("job");
        assert!(job.trimmed);
        assert!(job.workflow_timed_out());
        let f = job.failed_task().expect("failed");
        assert!(f.is_workflow_timeout());
        assert_eq!(f.name, None);
    }

    #[test]
    fn dispatched_tasks_from_results_and_task_id() {
        let v = json!({"uuid": "24ba9505-0176-4bbe-bc50-eb7de8c987b4", "name": "provision-7.0.24",
            "taskId": "5B1E0E4A-3F1B-4B8E-9E2A-1C2D3E4F5A6B",
            "chain_results": [
                {"result": "Ensure image task queued!", "error": "", "name": "cnapi.ensure_image",
                 "started_at": "2014-01-01T00:00:00.000Z", "finished_at": "2014-01-01T00:00:01.000Z"},
                {"result": "Task id: 0c2b1f2e-0000-4000-8000-000000000001 queued to CNAPI!", "error": "",
                 "name": "cnapi.start_vm",
                 "started_at": "2014-01-01T00:00:02.000Z", "finished_at": "2014-01-01T00:00:03.000Z"},
                {"result": "Provision queued!", "error": "", "name": "cnapi.provision_vm",
                 "started_at": "2014-01-01T00:00:04.000Z", "finished_at": "2014-01-01T00:00:05.000Z"},
                {"result": "VM allocated to Server 44454c4c-3000-1052-8043-b3c04f485331", "error": "",
                 "name": "dapi.get_allocation"}]});
        let job = parse_job(&v).expect("job");
        let got: Vec<(String, Option<&str>)> = job
            .dispatched_tasks()
            .into_iter()
            .map(|(id, r)| (id, r.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "0c2b1f2e-0000-4000-8000-000000000001".to_string(),
                    Some("cnapi.start_vm")
                ),
                (
                    "5b1e0e4a-3f1b-4b8e-9e2a-1c2d3e4f5a6b".to_string(),
                    Some("cnapi.provision_vm")
                ),
            ]
        );
        let named = TaskResult {
            name: None,
            result: "Provision task: 0c2b1f2e-0000-4000-8000-000000000002 queued!".into(),
            error: TaskError::None,
            started_at: None,
            finished_at: None,
        };
        assert_eq!(
            named.queued_task_id().as_deref(),
            Some("0c2b1f2e-0000-4000-8000-000000000002")
        );
    }

    #[test]
    fn job_list_and_kinds() {
        let list = json!([
            {"uuid": "24ba9505-0176-4bbe-bc50-eb7de8c987b4", "name": "destroy-7.0.1", "chain_results": []},
            {"uuid": "f8c13ee5-3c40-4844-9fb6-096883802461", "name": "provision-7.0.24", "chain_results": []}
        ]);
        assert!(is_job_list(&list));
        let j = parse_job(&list[0]).expect("job");
        assert_eq!(j.kind(), "destroy");
        assert!(!is_job(&json!({"uuid": "x"})));
        assert!(parse_job(&json!([])).is_err());
    }
}
