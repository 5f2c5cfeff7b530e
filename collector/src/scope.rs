//! Resolving what to collect: on the headnode from the APIs (jobs → VMs → servers, images,
//! CNAPI tasks), on a compute node from `vmadm` and `imgadm`; and finding the core zones.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use crate::context::{FoundZone, VmFacts};
use crate::failed_posts::{FailedPost, FailedPostSearch};
use crate::runner::Runner;
use crate::window::{self, JobSpan, TimeWindow};

/// Most jobs fetched in full per VM (a VM's job list grows with every start and stop).
const MAX_JOBS_PER_VM: usize = 25;
/// How far image origins are followed.
const MAX_ORIGIN_DEPTH: usize = 5;

/// What the headnode APIs said.
#[derive(Debug, Default)]
pub struct ApiScope {
    /// Full job objects, by uuid.
    pub jobs: BTreeMap<String, Value>,
    /// Jobs the window is made from (the ones the collection is about).
    pub focus_jobs: Vec<String>,
    /// VM objects by uuid (`Null` when VMAPI did not answer).
    pub vms: BTreeMap<String, Value>,
    /// Server uuids involved (jobs' `params.server_uuid`, VMs' `server_uuid`).
    pub servers: BTreeSet<String>,
    /// CNAPI server objects by uuid.
    pub server_objects: BTreeMap<String, Value>,
    /// Images in scope, origins included.
    pub images: Vec<String>,
    /// The datacenter's "now" (the `Date` header of the first API answer).
    pub api_now: Option<Timestamp>,
    /// Failed `POST /vms` requests found in the vmapi logs (no job records them).
    pub failed_posts: Vec<FailedPost>,
    /// What the scope is made of beyond the API objects, for the manifest notes.
    pub notes: Vec<String>,
    /// Things the person running the collector should know.
    pub warnings: Vec<String>,
}

impl ApiScope {
    /// VMs in scope with what is known about them.
    pub fn vm_facts(&self) -> Vec<VmFacts> {
        self.vms
            .iter()
            .map(|(uuid, vm)| {
                let mut facts = VmFacts::from_vm_object(uuid, vm);
                if facts.server_uuid.is_none() {
                    facts.server_uuid = self
                        .jobs
                        .values()
                        .filter(|j| job_vm(j).as_deref() == Some(uuid.as_str()))
                        .find_map(job_server);
                }
                if facts.brand.is_none() {
                    facts.brand = self
                        .jobs
                        .values()
                        .filter(|j| job_vm(j).as_deref() == Some(uuid.as_str()))
                        .find_map(|j| {
                            j.pointer("/params/brand")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        });
                }
                facts
            })
            .collect()
    }

    /// Spans of the focus jobs and the moments of the failed `POST /vms` requests, for the
    /// window.
    pub fn focus_spans(&self, now: Timestamp) -> Vec<JobSpan> {
        self.focus_jobs
            .iter()
            .filter_map(|u| self.jobs.get(u))
            .filter_map(|j| window::job_span(j, now))
            .chain(self.failed_posts.iter().map(|f| JobSpan {
                created: f.time,
                end: f.time,
            }))
            .collect()
    }

    /// Takes in what the vmapi log search found: notes for the manifest, the VMs it names.
    fn add_failed_posts(&mut self, search: FailedPostSearch) -> Vec<String> {
        self.notes.extend(search.found.iter().map(FailedPost::note));
        if search.not_kept > 0 {
            self.notes.push(format!(
                "{} more failed POST /vms request(s) in the vmapi logs are not listed",
                search.not_kept
            ));
        }
        for problem in &search.problems {
            self.warnings.push(format!(
                "searching the vmapi logs for failed POST /vms: {problem}"
            ));
        }
        let vms = search.found.iter().filter_map(|f| f.vm_uuid.clone()).fold(
            Vec::new(),
            |mut vms: Vec<String>, vm| {
                if !vms.contains(&vm) {
                    vms.push(vm);
                }
                vms
            },
        );
        self.failed_posts = search.found;
        vms
    }
}

fn argv(command: &str, url: &str) -> Vec<String> {
    vec![command.to_string(), url.to_string()]
}

/// `sdc-<service>` with the url, stored under `api/<service>/...`; returns the JSON body of a
/// successful answer.
fn get(
    runner: &mut Runner,
    scope: &mut ApiScope,
    source: &str,
    command: &str,
    service: &str,
    url: &str,
) -> Option<Value> {
    let (_, answer) = runner.api(source, service, &argv(command, url), url);
    let answer = answer?;
    if scope.api_now.is_none() {
        scope.api_now = answer
            .header("date")
            .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
            .map(|z| z.timestamp());
    }
    if answer.is_success() {
        answer.json()
    } else {
        None
    }
}

pub fn job_vm(job: &Value) -> Option<String> {
    job.pointer("/params/vm_uuid")
        .or_else(|| job.get("vm_uuid"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

pub fn job_server(job: &Value) -> Option<String> {
    job.pointer("/params/server_uuid")
        .or_else(|| job.get("server_uuid"))
        .and_then(Value::as_str)
        .filter(|s| crate::ids::is_uuid(s))
        .map(str::to_ascii_lowercase)
}

/// CNAPI task ids a job references: `taskId`, `params.task_id`, and the `Provision task: <id>
/// queued` style results of its tasks.
pub fn job_task_ids(job: &Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut add = |id: &str| {
        let id = id.trim().trim_end_matches(['.', '!', ',']);
        if !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_string());
        }
    };
    for pointer in ["/taskId", "/task_id", "/params/task_id", "/params/taskId"] {
        if let Some(id) = job.pointer(pointer).and_then(Value::as_str) {
            add(id);
        }
    }
    for key in ["chain_results", "onerror_results"] {
        for result in job.get(key).and_then(Value::as_array).into_iter().flatten() {
            let Some(text) = result.get("result").and_then(Value::as_str) else {
                continue;
            };
            let mut rest = text;
            while let Some(pos) = rest.find("task: ").or_else(|| rest.find("task id ")) {
                let after = &rest[pos..];
                let after = after.split_once(' ').map(|(_, a)| a).unwrap_or("");
                let after = after.strip_prefix("id ").unwrap_or(after);
                if let Some(token) = after.split_whitespace().next() {
                    add(token);
                }
                rest = &rest[pos + 5..];
            }
        }
    }
    ids
}

/// Image uuids a job or VM names.
fn images_of(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for pointer in ["/params/image_uuid", "/image_uuid", "/params/image/uuid"] {
        if let Some(img) = value.pointer(pointer).and_then(Value::as_str) {
            out.push(img.to_ascii_lowercase());
        }
    }
    for disks in [value.pointer("/params/disks"), value.get("disks")]
        .into_iter()
        .flatten()
    {
        for disk in disks.as_array().into_iter().flatten() {
            if let Some(img) = disk.get("image_uuid").and_then(Value::as_str) {
                out.push(img.to_ascii_lowercase());
            }
        }
    }
    out.retain(|i| crate::ids::is_uuid(i));
    out
}

/// Asks the headnode APIs about the scope. When neither VMs nor jobs were given, the failed
/// provision jobs and the failed `POST /vms` requests (found by `search_failed_posts`) of the
/// `lookback` window are the scope; that window is resolved once the API's clock is known.
pub fn resolve_headnode(
    runner: &mut Runner,
    vms: &[String],
    jobs: &[String],
    lookback: &dyn Fn(Timestamp) -> TimeWindow,
    search_failed_posts: &dyn Fn(&TimeWindow) -> FailedPostSearch,
) -> ApiScope {
    let mut scope = ApiScope::default();
    let mut job_queue: Vec<String> = jobs.to_vec();
    scope.focus_jobs = jobs.to_vec();
    let mut vm_queue: Vec<String> = vms.to_vec();

    if vms.is_empty() && jobs.is_empty() {
        let url = "/jobs?execution=failed&limit=1000";
        let list = get(
            runner,
            &mut scope,
            "workflow.failed-jobs",
            "sdc-workflow",
            "workflow",
            url,
        );
        let now = scope.api_now.unwrap_or_else(Timestamp::now);
        let window = lookback(now);
        for job in list
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let is_provision = job
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("provision"));
            let created = job
                .get("created_at")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<Timestamp>().ok());
            let uuid = job.get("uuid").and_then(Value::as_str);
            if let (true, Some(created), Some(uuid)) = (is_provision, created, uuid) {
                if window.contains(created) && !job_queue.iter().any(|j| j == uuid) {
                    job_queue.push(uuid.to_string());
                    scope.focus_jobs.push(uuid.to_string());
                }
            }
        }
        for vm in scope.add_failed_posts(search_failed_posts(&window)) {
            if !vm_queue.contains(&vm) {
                vm_queue.push(vm);
            }
        }
    }

    for uuid in job_queue.clone() {
        if let Some(job) = get(
            runner,
            &mut scope,
            "workflow.job",
            "sdc-workflow",
            "workflow",
            &format!("/jobs/{uuid}"),
        ) {
            if let Some(vm) = job_vm(&job) {
                if !vm_queue.contains(&vm) {
                    vm_queue.push(vm);
                }
            }
            scope.jobs.insert(uuid.clone(), job);
        }
    }

    for vm in &vm_queue {
        let object = get(
            runner,
            &mut scope,
            "vmapi.vm",
            "sdc-vmapi",
            "vmapi",
            &format!("/vms/{vm}"),
        );
        scope.vms.insert(vm.clone(), object.unwrap_or(Value::Null));
        let listed = get(
            runner,
            &mut scope,
            "vmapi.vm-jobs",
            "sdc-vmapi",
            "vmapi",
            &format!("/vms/{vm}/jobs"),
        );
        let explicit_vm = vms.contains(vm);
        let mut vm_jobs: Vec<&Value> = listed
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        vm_jobs.truncate(MAX_JOBS_PER_VM);
        for trimmed in vm_jobs {
            let Some(uuid) = trimmed
                .get("uuid")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                continue;
            };
            if explicit_vm && is_focus(trimmed) && !scope.focus_jobs.contains(&uuid) {
                scope.focus_jobs.push(uuid.clone());
            }
            if scope.jobs.contains_key(&uuid) {
                continue;
            }
            if let Some(job) = get(
                runner,
                &mut scope,
                "workflow.job",
                "sdc-workflow",
                "workflow",
                &format!("/jobs/{uuid}"),
            ) {
                scope.jobs.insert(uuid, job);
            }
        }
    }
    // A --vm whose jobs are all fine and not provisions: every job of it is in focus.
    for vm in vms {
        let has_focus = scope
            .focus_jobs
            .iter()
            .any(|j| scope.jobs.get(j).and_then(job_vm).as_deref() == Some(vm.as_str()));
        if !has_focus {
            let all: Vec<String> = scope
                .jobs
                .iter()
                .filter(|(_, j)| job_vm(j).as_deref() == Some(vm.as_str()))
                .map(|(u, _)| u.clone())
                .collect();
            scope.focus_jobs.extend(all);
        }
    }

    for job in scope.jobs.values() {
        scope.servers.extend(job_server(job));
    }
    for vm in scope.vms.values() {
        if let Some(s) = vm
            .get("server_uuid")
            .and_then(Value::as_str)
            .filter(|s| crate::ids::is_uuid(s))
        {
            scope.servers.insert(s.to_ascii_lowercase());
        }
    }
    for server in scope.servers.clone() {
        if let Some(object) = get(
            runner,
            &mut scope,
            "cnapi.server",
            "sdc-cnapi",
            "cnapi",
            &format!("/servers/{server}"),
        ) {
            scope.server_objects.insert(server, object);
        }
    }

    let mut images: Vec<String> = Vec::new();
    for value in scope.jobs.values().chain(scope.vms.values()) {
        for img in images_of(value) {
            if !images.contains(&img) {
                images.push(img);
            }
        }
    }
    let mut i = 0;
    let mut depth_of: BTreeMap<String, usize> = images.iter().map(|i| (i.clone(), 0)).collect();
    while i < images.len() {
        let img = images[i].clone();
        i += 1;
        let object = get(
            runner,
            &mut scope,
            "imgapi.image",
            "sdc-imgapi",
            "imgapi",
            &format!("/images/{img}"),
        );
        let depth = depth_of.get(&img).copied().unwrap_or(0);
        if let Some(origin) = object
            .as_ref()
            .and_then(|o| o.get("origin"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            if depth < MAX_ORIGIN_DEPTH && !images.contains(&origin) {
                depth_of.insert(origin.clone(), depth + 1);
                images.push(origin);
            }
        }
    }
    scope.images = images;

    let mut task_ids: Vec<String> = Vec::new();
    for job in scope.jobs.values() {
        for id in job_task_ids(job) {
            if !task_ids.contains(&id) {
                task_ids.push(id);
            }
        }
    }
    for id in task_ids {
        get(
            runner,
            &mut scope,
            "cnapi.task",
            "sdc-cnapi",
            "cnapi",
            &format!("/tasks/{id}"),
        );
    }
    scope
}

/// A job the collection is about: a provision or anything that failed.
fn is_focus(job: &Value) -> bool {
    let name = job.get("name").and_then(Value::as_str).unwrap_or("");
    let execution = job.get("execution").and_then(Value::as_str).unwrap_or("");
    name.starts_with("provision") || matches!(execution, "failed" | "canceled")
}

/// Finds the running core zones, one `vmadm lookup` per role.
pub fn find_core_zones(runner: &mut Runner) -> (Vec<FoundZone>, Option<String>) {
    let mut zones = Vec::new();
    let mut errors = Vec::new();
    for role in crate::sources::hn_core_zones::roles() {
        let filter = format!("tags.smartdc_role={role}");
        let argv: Vec<String> = ["vmadm", "lookup", "-j", filter.as_str(), "state=running"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (index, output) = runner.command(
            "vmadm.lookup",
            &format!("vmadm-lookup-{role}"),
            &argv,
            None,
            &[],
        );
        let parsed = output
            .filter(|o| o.status == Some(0))
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok());
        let Some(list) = parsed else {
            let why = runner.items[index]
                .error
                .clone()
                .unwrap_or_else(|| "unparsable output".to_string());
            errors.push(format!("{role}: {why}"));
            continue;
        };
        for vm in list.as_array().into_iter().flatten() {
            let state_ok = vm
                .get("state")
                .and_then(Value::as_str)
                .is_none_or(|s| s == "running");
            let Some(uuid) = vm.get("uuid").and_then(Value::as_str) else {
                continue;
            };
            if state_ok && crate::ids::is_uuid(uuid) {
                zones.push(FoundZone {
                    role: role.to_string(),
                    uuid: uuid.to_ascii_lowercase(),
                    alias: vm.get("alias").and_then(Value::as_str).map(str::to_string),
                });
            }
        }
    }
    let error = match errors.first() {
        Some(first) if zones.is_empty() => Some(format!(
            "vmadm lookup failed for {} role(s), first {first}",
            errors.len()
        )),
        _ => None,
    };
    (zones, error)
}

/// On a compute node: what `vmadm get` (or the archived `vm.json` of a destroyed VM) says about
/// each VM, and `imgadm get` of the images and their origins.
pub fn resolve_compute_node(
    runner: &mut Runner,
    host_root: &std::path::Path,
    vms: &[String],
    known: &[VmFacts],
    images: &[String],
) -> (Vec<VmFacts>, Vec<String>) {
    let mut facts = Vec::new();
    let mut all_images: Vec<String> = images.to_vec();
    for vm in vms {
        let argv: Vec<String> = ["vmadm", "get", vm.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (_, output) = runner.command(
            "vmadm.get",
            &format!("vmadm-get-{vm}"),
            &argv,
            None,
            &["No such zone configured"],
        );
        let object = output
            .filter(|o| o.status == Some(0))
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
            .or_else(|| archived_vm_json(host_root, vm));
        let mut f = match object {
            Some(obj) => VmFacts::from_vm_object(vm, &obj),
            None => known
                .iter()
                .find(|k| &k.uuid == vm)
                .cloned()
                .unwrap_or(VmFacts {
                    uuid: vm.clone(),
                    brand: None,
                    image_uuids: Vec::new(),
                    server_uuid: None,
                }),
        };
        if f.brand.is_none() {
            f.brand = known
                .iter()
                .find(|k| &k.uuid == vm)
                .and_then(|k| k.brand.clone());
        }
        for img in &f.image_uuids {
            if !all_images.contains(img) {
                all_images.push(img.clone());
            }
        }
        facts.push(f);
    }
    // Each image and its origins, breadth first; an origin chain longer than
    // MAX_ORIGIN_DEPTH is cut (a loop in broken metadata cannot run forever).
    let mut queue: std::collections::VecDeque<(String, usize)> =
        all_images.iter().map(|img| (img.clone(), 0)).collect();
    while let Some((img, depth)) = queue.pop_front() {
        let argv: Vec<String> = ["imgadm", "get", img.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (_, output) = runner.command(
            "imgadm.get",
            &format!("imgadm-get-{img}"),
            &argv,
            None,
            &["ImageNotInstalled", "was not found"],
        );
        let origin = output
            .filter(|o| o.status == Some(0))
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
            .and_then(|v| {
                v.pointer("/manifest/origin")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            });
        if let Some(origin) = origin {
            if depth < MAX_ORIGIN_DEPTH && !all_images.contains(&origin) {
                all_images.push(origin.clone());
                queue.push_back((origin, depth + 1));
            }
        }
    }
    (facts, all_images)
}

/// `/zones/archive/<vm>/vm.json`, read through the archive's confinement.
fn archived_vm_json(host_root: &std::path::Path, vm: &str) -> Option<Value> {
    use std::io::Read;
    let dir = format!("/zones/archive/{vm}");
    let confinement = crate::confine::Confinement::zone(host_root, &dir);
    let (file, _) = confinement.open_file(&format!("{dir}/vm.json")).ok()?;
    let mut text = Vec::new();
    file.take(16 << 20).read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_task_ids_in_jobs() {
        let job = json!({
            "taskId": "4a8f1c2e",
            "params": {"task_id": "b7d0"},
            "chain_results": [
                {"name": "cnapi.provision_vm", "result": "Provision task: 9e2c11aa queued!"},
                {"name": "cnapi.wait_task", "result": "Job succeeded!"},
                {"name": "x", "result": 42}
            ]
        });
        assert_eq!(job_task_ids(&job), vec!["4a8f1c2e", "b7d0", "9e2c11aa"]);
    }

    #[test]
    fn reads_job_links() {
        let job = json!({"params": {"vm_uuid": "8F1F3C9E-2A5B-4C1D-9E0F-123456789ABC",
            "server_uuid": "not-allocated", "image_uuid": "11111111-2222-3333-4444-555555555555"}});
        assert_eq!(
            job_vm(&job).as_deref(),
            Some("8f1f3c9e-2a5b-4c1d-9e0f-123456789abc")
        );
        assert_eq!(job_server(&job), None);
        assert_eq!(
            images_of(&job),
            vec!["11111111-2222-3333-4444-555555555555"]
        );
    }
}
