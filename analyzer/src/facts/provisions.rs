//! Building [`Provision`]s: one per provision job, one per `POST /vms` refused before a job
//! existed (8.2+), one per failed VM with neither.

use std::collections::BTreeSet;

use super::ladder::{self, Era};
use super::{Facts, Failure, JobRef, JobResult, Provision, RefusedRequest};
use crate::input::observations::Located;
use crate::parsers::job::Job;

/// The stage a refused `POST /vms` failed at, from its error text.
pub fn refused_stage(body: &str) -> &'static str {
    let lower = body.to_ascii_lowercase();
    if lower.contains("no compute resources") || lower.contains("no allocatable servers") {
        "allocation"
    } else if lower.contains("free ips")
        || lower.contains("subnetfull")
        || lower.contains("subnetsexhausted")
        || lower.contains("out of subnets")
        || lower.contains("are full")
    {
        "nics"
    } else if lower.contains("validationfailed") || lower.contains("invalid parameters") {
        "validate"
    } else {
        "submit"
    }
}

/// The chain task after the last one that has a result (the one running when the job stopped).
pub fn running_task(job: &Job) -> Option<String> {
    let last = job
        .chain_results
        .iter()
        .rev()
        .find_map(|r| r.name.as_deref());
    let chain: Vec<&str> = job.chain.iter().map(|t| t.name.as_str()).collect();
    let next = match last {
        Some(name) => chain.iter().position(|n| *n == name).map(|i| i + 1),
        None => Some(0),
    }?;
    chain.get(next).map(|s| s.to_string())
}

fn failure_of(job: &Located<Job>, era: Era) -> Option<Failure> {
    let failed = job.value.failed_task()?;
    let running = running_task(&job.value);
    let timeout = failed
        .name
        .as_deref()
        .or(running.as_deref())
        .and_then(|name| {
            job.value
                .chain
                .iter()
                .find(|t| t.name == name)
                .and_then(|t| t.timeout)
                .or_else(|| {
                    era.expected_chain()
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, t)| *t)
                })
        });
    // The whole-job timeout names no task: the one running was the next in the chain.
    let task = failed.name.clone().or_else(|| running_task(&job.value));
    Some(Failure {
        task,
        error: failed.error.text().unwrap_or_default(),
        code: failed.error.code().map(str::to_string),
        started_at: failed.started_at.clone(),
        finished_at: failed.finished_at.clone(),
        duration_s: failed.duration(),
        timeout_s: if failed.is_workflow_timeout() {
            job.value.timeout
        } else {
            timeout
        },
        place: job.place.clone(),
        line: job.line,
    })
}

pub(super) fn build(facts: &Facts) -> Vec<Provision> {
    let mut out = Vec::new();
    let job_ref = |j: &Located<Job>| JobRef {
        uuid: j.value.uuid.clone(),
        name: j.value.name.clone(),
        execution: j.value.execution.clone(),
        created_at: j.value.created_at.clone(),
        place: j.place.clone(),
    };
    for job in facts.jobs.iter().filter(|j| j.value.is_provision()) {
        let era = Era::of(job.value.version);
        let vm_uuid = job.value.vm_uuid.clone();
        let vm_objects: Vec<_> = facts
            .vms
            .iter()
            .filter(|v| Some(&v.value.uuid) == vm_uuid.as_ref())
            .cloned()
            .collect();
        let brand = job
            .value
            .brand
            .clone()
            .or_else(|| vm_objects.iter().find_map(|v| v.value.brand.clone()));
        let server_uuid = job
            .value
            .server_uuid
            .clone()
            .or_else(|| vm_objects.iter().find_map(|v| v.value.server_uuid.clone()));
        let image_uuid = job
            .value
            .image_uuid
            .clone()
            .or_else(|| vm_objects.iter().find_map(|v| v.value.image_uuid.clone()));
        let other_jobs = facts
            .jobs
            .iter()
            .filter(|o| {
                o.value.uuid != job.value.uuid
                    && o.value.vm_uuid.is_some()
                    && o.value.vm_uuid == vm_uuid
            })
            .map(job_ref)
            .collect();
        out.push(Provision {
            id: job.value.uuid.clone(),
            vm_uuid,
            era,
            workflow: Some(job.value.name.clone()),
            brand,
            server_uuid,
            image_uuid,
            request_id: job.value.request_id.clone(),
            created_at: job.value.created_at.clone(),
            outcome: JobResult::from_execution(&job.value.execution),
            failure: failure_of(job, era),
            ladder: ladder::for_job(&job.value, era),
            other_jobs,
            vm_objects,
            job: Some(job.clone()),
            refused: None,
            logged_job: None,
        });
    }

    // 8.2+: POST /vms refused before a job existed, seen in the vmapi log's audit records.
    let known_requests: BTreeSet<String> =
        out.iter().filter_map(|p| p.request_id.clone()).collect();
    let mut seen_requests = BTreeSet::new();
    for rec in &facts.records {
        let Some(audit) = &rec.record.audit else {
            continue;
        };
        let Some(status) = audit.status else { continue };
        let is_create =
            audit.method == "POST" && (audit.url == "/vms" || audit.url.starts_with("/vms?"));
        if !is_create || status < 400 || !rec.service.contains("vmapi") {
            continue;
        }
        let req_id = rec
            .record
            .req_id
            .clone()
            .unwrap_or_else(|| format!("line-{}", rec.record.line));
        if known_requests.contains(&req_id) || !seen_requests.insert(req_id.clone()) {
            continue;
        }
        let body = audit
            .res_body
            .clone()
            .or_else(|| rec.record.err.clone())
            .unwrap_or_default();
        let body_text = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let code = v.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let msg = v.get("message").and_then(|m| m.as_str())?;
                let mut text = if code.is_empty() {
                    msg.to_string()
                } else {
                    format!("{code}: {msg}")
                };
                if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
                    for e in errors {
                        let field = e.get("field").and_then(|f| f.as_str()).unwrap_or("?");
                        let m = e.get("message").and_then(|f| f.as_str()).unwrap_or("");
                        text.push_str(&format!("; {field}: {m}"));
                    }
                }
                Some(text)
            })
            .unwrap_or_else(|| body.clone());
        let same_request: Vec<_> = facts
            .records
            .iter()
            .filter(|r| r.record.req_id.as_deref() == Some(req_id.as_str()))
            .collect();
        let vm_uuid = same_request.iter().find_map(|r| r.record.vm_uuid.clone());
        let logged_brand = same_request.iter().find_map(|r| r.record.brand.clone());
        let vm_objects: Vec<_> = facts
            .vms
            .iter()
            .filter(|v| Some(&v.value.uuid) == vm_uuid.as_ref())
            .cloned()
            .collect();
        let code = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string));
        out.push(Provision {
            id: format!("req:{req_id}"),
            brand: vm_objects
                .iter()
                .find_map(|v| v.value.brand.clone())
                .or(logged_brand),
            server_uuid: None,
            image_uuid: vm_objects.iter().find_map(|v| v.value.image_uuid.clone()),
            vm_objects,
            vm_uuid,
            job: None,
            logged_job: None,
            era: Era::NoJob,
            workflow: None,
            request_id: Some(req_id),
            created_at: rec.record.time.clone(),
            outcome: JobResult::Failed,
            failure: Some(Failure {
                task: None,
                error: body_text.clone(),
                code,
                started_at: rec.record.time.clone(),
                finished_at: rec.record.time.clone(),
                duration_s: None,
                timeout_s: None,
                place: rec.place.clone(),
                line: Some(rec.record.line),
            }),
            ladder: ladder::for_no_job(refused_stage(&body_text)),
            other_jobs: Vec::new(),
            refused: Some(RefusedRequest {
                record: rec.clone(),
                status,
                body: body_text,
            }),
        });
    }

    // Failed VMs with no job and no refused request in the input.
    let covered: BTreeSet<String> = out.iter().filter_map(|p| p.vm_uuid.clone()).collect();
    let mut lone: BTreeSet<String> = BTreeSet::new();
    for vm in &facts.vms {
        if vm.value.state.as_deref() == Some("failed")
            && !covered.contains(&vm.value.uuid)
            && lone.insert(vm.value.uuid.clone())
        {
            let objects: Vec<_> = facts
                .vms
                .iter()
                .filter(|v| v.value.uuid == vm.value.uuid)
                .cloned()
                .collect();
            let logs = super::reconstruct::from_logs(
                facts,
                &vm.value.uuid,
                objects
                    .iter()
                    .find_map(|v| v.value.create_timestamp.as_deref()),
            );
            out.push(Provision {
                id: format!("vm:{}", vm.value.uuid),
                vm_uuid: Some(vm.value.uuid.clone()),
                job: None,
                refused: None,
                era: logs.era.unwrap_or(Era::NoJob),
                workflow: logs.job.as_ref().map(|j| j.name.clone()),
                logged_job: logs.job,
                brand: objects.iter().find_map(|v| v.value.brand.clone()),
                server_uuid: objects.iter().find_map(|v| v.value.server_uuid.clone()),
                image_uuid: objects.iter().find_map(|v| v.value.image_uuid.clone()),
                request_id: logs.request_id,
                created_at: vm.value.create_timestamp.clone(),
                outcome: JobResult::Failed,
                failure: logs.failure,
                ladder: Vec::new(),
                other_jobs: facts
                    .jobs
                    .iter()
                    .filter(|j| j.value.vm_uuid.as_deref() == Some(vm.value.uuid.as_str()))
                    .map(job_ref)
                    .collect(),
                vm_objects: objects,
            });
        }
    }
    out.sort_by(|a, b| (a.created_at.as_deref(), &a.id).cmp(&(b.created_at.as_deref(), &b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::refused_stage;

    #[test]
    fn stages_of_refusals() {
        assert_eq!(refused_stage("NoAllocatableServersError: No compute resources available: no servers with enough unreserved RAM"), "allocation");
        assert_eq!(refused_stage("SubnetFull: no more free IPs"), "nics");
        assert_eq!(refused_stage("ValidationFailed: Invalid Parameters; image_uuid: Image must be active and not disabled"), "validate");
        assert_eq!(refused_stage("boom"), "submit");
    }
}
