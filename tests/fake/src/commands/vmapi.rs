//! `sdc-vmapi`: VMAPI's VM and job endpoints.
//!
//! Facts from sdc-vmapi: `lib/interceptors.js` (`VM not found`), `lib/endpoints/jobs.js`,
//! `lib/apis/wfapi.js` and `lib/common/vm-common.js` `translateJob` (the trimmed job view),
//! `lib/apis/moray.js` (`state=active` excludes destroyed and failed), `lib/vmapi.js` (headers).

use serde_json::{json, Map, Value};

use super::sdc_api::{Api, Request};
use super::workflow;
use crate::http::{Response, Service};
use crate::sim::Sim;

pub const API: Api = Api {
    command: "sdc-vmapi",
    service: Service { name: "vmapi", role: "vmapi", server: "VMAPI/9.16.0", full_response: false },
    usage: "error: no PATH argument given\n\nUsage:\n        /opt/smartdc/bin/sdc-vmapi [--no-headers] PATH [EXTRA-CURL-ARGS]\n\n",
    route,
};

/// Job fields VMAPI returns, in its order.
pub const TRIMMED_JOB_FIELDS: &[&str] = &[
    "name",
    "uuid",
    "execution",
    "params",
    "exec_after",
    "created_at",
    "timeout",
    "chain_results",
];

/// Params VMAPI strips from jobs it returns (`SENSIBLE_FIELDS`).
pub const HIDDEN_PARAMS: &[&str] = &["dapi_url", "napi_url", "cnapi_url", "vmapi_url", "expects"];

fn route(sim: &Sim, req: &Request) -> Response {
    match req.parts().as_slice() {
        ["ping"] => Response::ok(ping()),
        ["vms"] => {
            let vms = list_vms(sim, req);
            let count = vms.len();
            Response::ok(Value::Array(vms))
                .with_header("x-joyent-resource-count", count.to_string())
        }
        ["vms", uuid] => match sim.state.api.vms.get(*uuid) {
            Some(vm) => Response::ok(vm.clone()),
            None => vm_not_found(),
        },
        ["vms", uuid, "jobs"] => {
            if !sim.state.api.vms.contains_key(*uuid) {
                return vm_not_found();
            }
            let mut query = req.query.clone();
            query.retain(|(k, _)| k != "vm_uuid");
            query.push(("vm_uuid".to_string(), uuid.to_string()));
            let scoped = Request {
                path: req.path.clone(),
                segments: req.segments.clone(),
                query,
            };
            jobs_response(sim, &scoped)
        }
        ["jobs"] => jobs_response(sim, req),
        ["jobs", uuid] => match workflow::find_job(sim, uuid) {
            Some(job) => Response::ok(trim_job(job)),
            None => workflow::job_not_found(uuid),
        },
        _ => Response::no_route(&req.path),
    }
}

fn vm_not_found() -> Response {
    Response::error(404, "ResourceNotFound", "VM not found")
}

fn jobs_response(sim: &Sim, req: &Request) -> Response {
    match workflow::list_jobs(sim, req) {
        Ok(jobs) => Response::ok(Value::Array(jobs.into_iter().map(trim_job).collect())),
        Err(resp) => resp,
    }
}

/// VMAPI's view of a workflow job: only [`TRIMMED_JOB_FIELDS`], params without
/// [`HIDDEN_PARAMS`]. Missing fields stay missing (JSON.stringify drops `undefined`).
pub fn trim_job(job: &Value) -> Value {
    let mut out = Map::new();
    for &field in TRIMMED_JOB_FIELDS {
        let Some(value) = job.get(field) else {
            continue;
        };
        let value = match (field, value) {
            ("params", Value::Object(params)) => {
                let mut params = params.clone();
                for hidden in HIDDEN_PARAMS {
                    params.remove(*hidden);
                }
                Value::Object(params)
            }
            _ => value.clone(),
        };
        out.insert(field.to_string(), value);
    }
    Value::Object(out)
}

/// `GET /vms` with the common filters, newest first.
fn list_vms(sim: &Sim, req: &Request) -> Vec<Value> {
    let field = |vm: &Value, key: &str| vm.get(key).and_then(Value::as_str).map(str::to_string);
    let mut vms: Vec<&Value> = sim
        .state
        .api
        .vms
        .values()
        .filter(|vm| match req.query("state") {
            None => true,
            Some("active") => !matches!(
                field(vm, "state").as_deref(),
                Some("destroyed") | Some("failed")
            ),
            Some(s) => field(vm, "state").as_deref() == Some(s),
        })
        .filter(|vm| {
            ["owner_uuid", "server_uuid", "brand", "uuid"]
                .iter()
                .all(|k| {
                    req.query(k)
                        .is_none_or(|v| field(vm, k).as_deref() == Some(v))
                })
        })
        .filter(|vm| {
            req.query("alias")
                .is_none_or(|a| field(vm, "alias").is_some_and(|x| x.starts_with(a)))
        })
        .collect();
    vms.sort_by_key(|vm| std::cmp::Reverse(field(vm, "create_timestamp")));
    vms.into_iter().cloned().collect()
}

fn ping() -> Value {
    json!({
        "dataMigrations": {"latestCompletedMigrations": {"vms": 1}},
        "healthy": true,
        "initialization": {"moray": {"status": "BUCKETS_REINDEX_DONE"}},
        "pid": 4321,
        "pingErrors": {},
        "status": "OK",
        "services": {"moray": "online", "wfapi": "online"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_job_like_translate_job() {
        let job = json!({
            "chain": [], "uuid": "j", "name": "provision-8.2.4", "execution": "failed", "elapsed": 1.5,
            "params": {"vm_uuid": "v", "cnapi_url": "http://cnapi", "expects": "running", "x-request-id": "r"},
            "created_at": "2024-01-01T00:00:00.000Z", "timeout": 3810, "chain_results": [], "onerror_results": []
        });
        let trimmed = trim_job(&job);
        let keys: Vec<&String> = trimmed.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            vec![
                "name",
                "uuid",
                "execution",
                "params",
                "created_at",
                "timeout",
                "chain_results"
            ]
        );
        assert_eq!(
            trimmed["params"],
            json!({"vm_uuid": "v", "x-request-id": "r"})
        );
    }
}
