//! `sdc-workflow`: node-workflow's WF API (full job objects).
//!
//! Facts from node-workflow `lib/api.js` and `lib/errors.js`: a missing job is
//! `ResourceNotFound` "Job with uuid '<uuid>' does not exist"; the list filter `execution` must be
//! one of queued, failed, succeeded, canceled, running (409 otherwise); lists come newest first.

use serde_json::{json, Value};

use super::sdc_api::{Api, Request};
use crate::http::{Response, Service};
use crate::sim::Sim;

pub const API: Api = Api {
    command: "sdc-workflow",
    service: Service { name: "workflow", role: "workflow", server: "restify", full_response: true },
    usage: "error: no PATH argument given\n\nUsage:\n        /opt/smartdc/bin/sdc-workflow [--no-headers] PATH [EXTRA-CURL-ARGS]\n\n",
    route,
};

const EXECUTIONS: &[&str] = &["queued", "failed", "succeeded", "canceled", "running"];

fn route(sim: &Sim, req: &Request) -> Response {
    match req.parts().as_slice() {
        ["ping"] => Response::ok(json!({"pid": 1234, "backend": "up"})),
        ["jobs"] => match list_jobs(sim, req) {
            Ok(jobs) => Response::ok(Value::Array(jobs.into_iter().cloned().collect())),
            Err(resp) => resp,
        },
        ["jobs", uuid] => match find_job(sim, uuid) {
            Some(job) => Response::ok(job.clone()),
            None => job_not_found(uuid),
        },
        _ => Response::no_route(&req.path),
    }
}

/// The error body WF API (and VMAPI, which passes it through) gives for an unknown job.
pub fn job_not_found(uuid: &str) -> Response {
    Response::error(
        404,
        "ResourceNotFound",
        format!("Job with uuid '{uuid}' does not exist"),
    )
}

pub fn find_job<'a>(sim: &'a Sim, uuid: &str) -> Option<&'a Value> {
    sim.state
        .api
        .jobs
        .iter()
        .find(|j| j.get("uuid").and_then(Value::as_str) == Some(uuid))
}

/// Jobs matching the `execution`, `vm_uuid`, `task` and `name` query filters, newest first.
pub fn list_jobs<'a>(sim: &'a Sim, req: &Request) -> Result<Vec<&'a Value>, Response> {
    let execution = req.query("execution");
    if let Some(e) = execution {
        if !EXECUTIONS.contains(&e) {
            return Err(Response::error(
                409,
                "ConflictError",
                "Execution must be one of queued, failed, succeeded, canceled or running",
            ));
        }
    }
    let mut jobs: Vec<&Value> = sim
        .state
        .api
        .jobs
        .iter()
        .filter(|job| execution.is_none_or(|e| str_field(job, "execution") == Some(e)))
        .filter(|job| {
            req.query("vm_uuid")
                .is_none_or(|v| job_vm_uuid(job) == Some(v))
        })
        .filter(|job| req.query("task").is_none_or(|t| job_task(job) == Some(t)))
        .filter(|job| {
            req.query("name")
                .is_none_or(|n| str_field(job, "name") == Some(n))
        })
        .collect();
    jobs.sort_by(|a, b| str_field(b, "created_at").cmp(&str_field(a, "created_at")));
    Ok(jobs)
}

fn str_field<'a>(job: &'a Value, key: &str) -> Option<&'a str> {
    job.get(key).and_then(Value::as_str)
}

/// VMAPI stores the VM uuid both as `params.vm_uuid` and (as an indexed extra field) `vm_uuid`.
pub fn job_vm_uuid(job: &Value) -> Option<&str> {
    str_field(job, "vm_uuid").or_else(|| job.get("params").and_then(|p| str_field(p, "vm_uuid")))
}

/// The job's task (`provision`, `destroy`, ...): the `task` field/param, else the name prefix.
fn job_task(job: &Value) -> Option<&str> {
    str_field(job, "task")
        .or_else(|| job.get("params").and_then(|p| str_field(p, "task")))
        .or_else(|| str_field(job, "name").map(|n| n.split('-').next().unwrap_or(n)))
}
