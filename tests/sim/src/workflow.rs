//! VMAPI's provision workflow by version: the chain of tasks a job copies from its workflow,
//! the result strings those tasks record, and the job object node-workflow stores.
//!
//! The chains follow sdc-vmapi `lib/workflows/provision.js` for each era (fabric NAT and NFS
//! volume sub-chains are left out: they are only spliced in when those features are enabled).

use serde_json::{json, Value};

use crate::clock::{self, Ms};

/// A provision workflow version the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `provision-7.0.24` (2013-11 .. 2014-02): everything in the job, provisioner era.
    V7_0_24,
    /// `provision-7.0.28`: same chain as 7.0.24.
    V7_0_28,
    /// `provision-8.1.2`: allocation, tickets and NICs in the job; cn-agent era.
    V8_1_2,
    /// `provision-8.2.4`: allocation and NICs moved into `POST /vms`.
    V8_2_4,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V7_0_24 => "7.0.24",
            Version::V7_0_28 => "7.0.28",
            Version::V8_1_2 => "8.1.2",
            Version::V8_2_4 => "8.2.4",
        }
    }

    pub fn job_name(self) -> String {
        format!("provision-{}", self.as_str())
    }

    pub fn is_legacy(self) -> bool {
        matches!(self, Version::V7_0_24 | Version::V7_0_28)
    }

    /// The chain: task names with their timeouts (seconds).
    pub fn chain(self) -> Vec<(&'static str, u32)> {
        match self {
            Version::V7_0_24 | Version::V7_0_28 => vec![
                ("common.validate_params", 10),
                ("imgapi.get_image", 10),
                ("imgapi.generate_passwords", 10),
                ("ufds.get_package", 10),
                ("ufds.add_customer_vm", 10),
                ("napi.get_nic_tags", 10),
                ("cnapi.get_servers", 60),
                ("cnapi.filter_servers", 10),
                ("dapi.get_allocation", 120),
                ("napi.provision_nics", 20),
                ("prepare_payload", 10),
                ("cnapi.ensure_image", 10),
                ("cnapi.poll_task_ensure_image", 3600),
                ("cnapi.provision_vm", 10),
                ("cnapi.poll_task", 3600),
                ("reduce_job_size", 10),
                ("vmapi.check_state", 120),
                ("fwapi.update", 10),
            ],
            Version::V8_1_2 => vec![
                ("common.validate_params", 10),
                ("workflow.set_job_action", 10),
                ("imgapi.generate_passwords", 10),
                ("napi.validate_networks", 10),
                ("dapi.get_allocation_ticket", 30),
                ("dapi.wait_allocation_ticket", 120),
                ("dapi.get_allocation", 30),
                ("cnapi.acquire_vm_ticket", 30),
                ("dapi.release_allocation_ticket", 30),
                ("cnapi.wait_on_vm_ticket", 120),
                ("cnapi.get_server_nic_tags", 10),
                ("cnapi.check_manual_server_nics", 10),
                ("napi.provision_nics", 20),
                ("cnapi.ensure_image", 300),
                ("cnapi.wait_task_ensure_image", 3600),
                ("prepare_payload", 10),
                ("cnapi.provision_vm", 10),
                ("cnapi.wait_task", 3600),
                ("volapi.add_volumes_references", 120),
                ("vmapi.put_vm", 120),
                ("fwapi.update", 10),
                ("cnapi.release_vm_ticket", 60),
            ],
            Version::V8_2_4 => vec![
                ("common.validate_params", 10),
                ("workflow.set_job_action", 10),
                ("imgapi.generate_passwords", 10),
                ("cnapi.ensure_image", 300),
                ("cnapi.wait_task_ensure_image", 3600),
                ("prepare_payload", 10),
                ("cnapi.provision_vm", 10),
                ("cnapi.wait_task", 3600),
                ("volapi.add_volumes_references", 120),
                ("vmapi.put_vm", 120),
                ("fwapi.update", 10),
                ("cnapi.release_vm_ticket", 60),
            ],
        }
    }

    pub fn onerror(self) -> Vec<(&'static str, u32)> {
        match self {
            Version::V7_0_24 | Version::V7_0_28 => vec![
                ("ufds.delete_customer_vm", 10),
                ("napi.cleanup_nics", 10),
                ("set_post_back_failed", 10),
                ("common.post_back", 10),
                ("On error", 10),
            ],
            Version::V8_1_2 | Version::V8_2_4 => vec![
                ("napi.cleanup_nics", 10),
                ("set_post_back_failed", 10),
                ("common.post_back", 10),
                ("cnapi.cleanup_allocation_ticket", 10),
                ("cnapi.cleanup_vm_ticket", 10),
                ("vmapi.refresh_vm_on_error", 10),
                ("On error", 10),
            ],
        }
    }

    pub fn oncancel(self) -> Vec<(&'static str, u32)> {
        if self.is_legacy() {
            Vec::new()
        } else {
            vec![
                ("vmapi.refresh_vm", 10),
                ("cnapi.cleanup_vm_ticket", 10),
                ("cnapi.cleanup_allocation_ticket", 10),
            ]
        }
    }

    /// The task that waits for the CN's machine_create task.
    pub fn wait_task(self) -> &'static str {
        if self.is_legacy() {
            "cnapi.poll_task"
        } else {
            "cnapi.wait_task"
        }
    }

    /// The task that waits for the CN's image_ensure_present task.
    pub fn wait_image_task(self) -> &'static str {
        if self.is_legacy() {
            "cnapi.poll_task_ensure_image"
        } else {
            "cnapi.wait_task_ensure_image"
        }
    }

    /// The task that waits for the VM to show up as running.
    pub fn state_task(self) -> &'static str {
        if self.is_legacy() {
            "vmapi.check_state"
        } else {
            "vmapi.put_vm"
        }
    }
}

/// What a task records on success, given the facts of this provision.
pub struct Facts<'a> {
    pub version: Version,
    pub vm_uuid: &'a str,
    pub server_uuid: &'a str,
    pub provision_task_id: &'a str,
    pub fwapi_update_uuid: Option<&'a str>,
    /// The VM was created on the CN (onerror keeps it and its NICs).
    pub vm_exists: bool,
    /// NICs were provisioned by this job.
    pub nics_provisioned: bool,
}

pub fn success_result(task: &str, f: &Facts) -> String {
    let legacy = f.version.is_legacy();
    match task {
        "common.validate_params" => "All parameters OK!".into(),
        "workflow.set_job_action" => "Action set".into(),
        "imgapi.get_image" => "Got image".into(),
        "imgapi.generate_passwords" if legacy => {
            "Image has generate_passwords=true but no users found".into()
        }
        "imgapi.generate_passwords" => "No need to generate passwords for image".into(),
        "ufds.get_package" => "Package for provision found on UFDS".into(),
        "ufds.add_customer_vm" => "Customer VM usage added to UFDS".into(),
        "napi.get_nic_tags" => "NIC Tags retrieved".into(),
        "napi.validate_networks" => "NIC Tag requirements retrieved".into(),
        "cnapi.get_servers" => "Got servers".into(),
        "cnapi.filter_servers" => "Filtered servers with NIC Tag requirements".into(),
        "cnapi.check_manual_server_nics" => "Server has all the required NIC tags".into(),
        "dapi.get_allocation" if legacy => "Server allocated!".into(),
        "dapi.get_allocation" => format!("VM allocated to Server {}", f.server_uuid),
        "napi.provision_nics" if legacy => "NICs allocated".into(),
        "napi.provision_nics" => "NICs allocated and updated".into(),
        "prepare_payload" => "Payload prepared successfully".into(),
        // sdc-vmapi `lib/workflows/nfs-volumes/index.js` (no NFS volumes in these provisions).
        "volapi.add_volumes_references" => {
            "No created NFS volume to which a reference needs to be added".into()
        }
        "cnapi.ensure_image" => "Ensure image task queued!".into(),
        "cnapi.poll_task_ensure_image"
        | "cnapi.wait_task_ensure_image"
        | "cnapi.poll_task"
        | "cnapi.wait_task" => "Job succeeded!".into(),
        "cnapi.provision_vm" if legacy => "Provision queued!".into(),
        "cnapi.provision_vm" => format!("Provision task: {} queued!", f.provision_task_id),
        "reduce_job_size" => "Removed servers listings".into(),
        "vmapi.check_state" => "VM is now running".into(),
        "vmapi.put_vm" => format!("put VM {} to VMAPI", f.vm_uuid),
        "fwapi.update" => match f.fwapi_update_uuid {
            Some(uuid) => format!("Updated FWAPI with update UUID: {uuid}"),
            None => "No properties affecting FWAPI found: not updating".into(),
        },
        "cnapi.release_vm_ticket" => "OK".into(),
        // onerror chain
        "ufds.delete_customer_vm" => "Customer VM usage deleted from UFDS".into(),
        "napi.cleanup_nics" if f.vm_exists => {
            "markAsFailedOnError was set to false, won't cleanup VM NICs".into()
        }
        "napi.cleanup_nics" if f.nics_provisioned => "NICs removed".into(),
        "napi.cleanup_nics" => "No NICs were provisioned".into(),
        "set_post_back_failed" if f.vm_exists => {
            "markAsFailedOnError was set to false, won't set postBackState for VM".into()
        }
        "set_post_back_failed" => "Set post back state as failed".into(),
        "common.post_back" => "Posted job results back to specified URLs".into(),
        "vmapi.refresh_vm_on_error" if f.vm_exists => {
            "VM data refreshed, new VM state is failed".into()
        }
        "vmapi.refresh_vm_on_error" => "markAsFailedOnError set, not doing sync GET".into(),
        _ => "OK".into(),
    }
}

/// One chain/onerror result entry.
pub fn result_entry(
    name: Option<&str>,
    result: &str,
    error: Value,
    started: Ms,
    finished: Ms,
) -> Value {
    let mut entry = json!({ "result": result, "error": error });
    if let Some(name) = name {
        entry["name"] = json!(name);
        entry["started_at"] = json!(clock::iso_ms(started));
        entry["finished_at"] = json!(clock::iso_ms(finished));
    } else {
        entry["finished_at"] = json!(clock::iso_ms(finished));
    }
    entry
}

/// Task objects as the job copies them from its workflow (`body` is the task function's source).
pub fn task_objects(tasks: &[(&str, u32)]) -> Value {
    Value::Array(
        tasks
            .iter()
            .map(|(name, timeout)| {
                let func = name.replace(['.', ' '], "_");
                json!({
                    "name": name,
                    "timeout": timeout,
                    "retry": 1,
                    "body": format!("function {func}(job, cb) {{\n    /* {name} */\n    return cb(null, 'OK');\n}}"),
                    "modules": {},
                })
            })
            .collect(),
    )
}

/// The bunyan logger node-workflow gives a task's body (`lib/task-runner.js`: `name` = the task
/// name, field `job_uuid`, level info, written to the runner child's stdout, which lands in the
/// wf-runner SMF log).
pub fn task_logger(
    world: &crate::world::World,
    rng: &mut crate::rng::SimRng,
    task: &str,
    job_uuid: &str,
) -> crate::formats::bunyan::Logger {
    crate::formats::bunyan::Logger::new(task, &world.zone("workflow").uuid, rng.pid())
        .child("job_uuid", job_uuid)
}
