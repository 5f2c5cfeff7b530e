//! The guide's "How provisioning works" steps, grouped into stages and mapped to the workflow
//! tasks that implement them in each era of VMAPI's provision workflow (reference §1.1).
//!
//! 7.0.x does everything in the job; 7.1–8.1 adds waitlist tickets and renames polling to
//! `cnapi.wait_task`; from 8.2.0 allocation, NIC provisioning and tickets run inside `POST /vms`,
//! before any job exists.

use serde::Serialize;

use crate::parsers::job::{Job, WorkflowVersion};

/// The provision workflow's shape, by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Era {
    /// `provision-7.0.x` (2012–2014).
    #[serde(rename = "7.0.x")]
    V70,
    /// `provision-7.1.0` .. `provision-8.1.2`.
    #[serde(rename = "7.1-8.1")]
    V71To81,
    /// `provision-8.2.0` and later.
    #[serde(rename = "8.2+")]
    V82Plus,
    /// Failed before a job existed (8.2+ `POST /vms` errors).
    #[serde(rename = "no-job")]
    NoJob,
    /// A job name we cannot place (pre-7.0 or unparsable).
    #[serde(rename = "unknown")]
    Unknown,
}

impl Era {
    pub fn of(version: Option<WorkflowVersion>) -> Era {
        match version {
            Some(v) if v.major == 7 && v.minor == 0 => Era::V70,
            Some(v) if (v.major == 7 && v.minor >= 1) || (v.major == 8 && v.minor < 2) => {
                Era::V71To81
            }
            Some(v) if v.major > 8 || (v.major == 8 && v.minor >= 2) => Era::V82Plus,
            _ => Era::Unknown,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Era::V70 => "7.0.x",
            Era::V71To81 => "7.1-8.1",
            Era::V82Plus => "8.2+",
            Era::NoJob => "no-job",
            Era::Unknown => "unknown",
        }
    }

    /// The chain of this era with task timeouts (seconds), used when the job is trimmed.
    pub fn expected_chain(self) -> &'static [(&'static str, f64)] {
        match self {
            Era::V70 => CHAIN_7_0_24,
            Era::V71To81 => CHAIN_8_1_2,
            Era::V82Plus => CHAIN_8_2_4,
            Era::NoJob | Era::Unknown => &[],
        }
    }
}

/// provision-7.0.24 (the guide's job).
const CHAIN_7_0_24: &[(&str, f64)] = &[
    ("common.validate_params", 10.0),
    ("imgapi.get_image", 10.0),
    ("imgapi.generate_passwords", 10.0),
    ("ufds.get_package", 10.0),
    ("ufds.add_customer_vm", 10.0),
    ("napi.get_nic_tags", 10.0),
    ("cnapi.get_servers", 60.0),
    ("cnapi.filter_servers", 10.0),
    ("dapi.get_allocation", 120.0),
    ("napi.provision_nics", 20.0),
    ("prepare_payload", 10.0),
    ("cnapi.ensure_image", 10.0),
    ("cnapi.poll_task_ensure_image", 3600.0),
    ("cnapi.provision_vm", 10.0),
    ("cnapi.poll_task", 3600.0),
    ("reduce_job_size", 10.0),
    ("vmapi.check_state", 120.0),
    ("fwapi.update", 10.0),
];

/// provision-8.1.2.
const CHAIN_8_1_2: &[(&str, f64)] = &[
    ("common.validate_params", 10.0),
    ("workflow.set_job_action", 10.0),
    ("imgapi.generate_passwords", 10.0),
    ("napi.validate_networks", 10.0),
    ("dapi.get_allocation_ticket", 30.0),
    ("dapi.wait_allocation_ticket", 120.0),
    ("dapi.get_allocation", 30.0),
    ("cnapi.acquire_vm_ticket", 30.0),
    ("dapi.release_allocation_ticket", 30.0),
    ("cnapi.wait_on_vm_ticket", 120.0),
    ("cnapi.get_server_nic_tags", 10.0),
    ("cnapi.check_manual_server_nics", 10.0),
    ("napi.provision_nics", 20.0),
    ("cnapi.ensure_image", 300.0),
    ("cnapi.wait_task_ensure_image", 3600.0),
    ("prepare_payload", 10.0),
    ("cnapi.provision_vm", 10.0),
    ("cnapi.wait_task", 3600.0),
    ("volapi.add_volumes_references", 120.0),
    ("vmapi.put_vm", 120.0),
    ("fwapi.update", 10.0),
    ("cnapi.release_vm_ticket", 60.0),
];

/// provision-8.2.4.
const CHAIN_8_2_4: &[(&str, f64)] = &[
    ("common.validate_params", 10.0),
    ("workflow.set_job_action", 10.0),
    ("imgapi.generate_passwords", 10.0),
    ("cnapi.ensure_image", 300.0),
    ("cnapi.wait_task_ensure_image", 3600.0),
    ("prepare_payload", 10.0),
    ("cnapi.provision_vm", 10.0),
    ("cnapi.wait_task", 3600.0),
    ("volapi.add_volumes_references", 120.0),
    ("vmapi.put_vm", 120.0),
    ("fwapi.update", 10.0),
    ("cnapi.release_vm_ticket", 60.0),
];

/// A stage of the guide's walk-through.
pub struct Stage {
    pub key: &'static str,
    /// Guide step numbers.
    pub steps: &'static str,
    pub title: &'static str,
    /// Every task name that has implemented this stage in some era.
    pub tasks: &'static [&'static str],
    /// From 8.2.0 this stage runs inside `POST /vms`, before the job.
    pub before_job_from_8_2: bool,
}

pub const STAGES: &[Stage] = &[
    Stage {
        key: "submit",
        steps: "1-3",
        title: "POST /vms accepted, job created",
        tasks: &[],
        before_job_from_8_2: false,
    },
    Stage {
        key: "validate",
        steps: "4",
        title: "Validate parameters",
        tasks: &["common.validate_params", "workflow.set_job_action"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "image",
        steps: "5",
        title: "Get image manifest (IMGAPI)",
        tasks: &["imgapi.get_image"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "passwords",
        steps: "6",
        title: "Generate passwords",
        tasks: &["imgapi.generate_passwords"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "package",
        steps: "7",
        title: "Get package",
        tasks: &["ufds.get_package", "papi.get_package"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "customer",
        steps: "8",
        title: "Record customer VM (UFDS)",
        tasks: &["ufds.add_customer_vm"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "nic-tags",
        steps: "9",
        title: "NIC tag requirements (NAPI)",
        tasks: &[
            "napi.get_nic_tags",
            "napi.validate_networks",
            "napi.get_server_nics",
        ],
        before_job_from_8_2: true,
    },
    Stage {
        key: "servers",
        steps: "10-11",
        title: "Candidate servers",
        tasks: &[
            "cnapi.get_servers",
            "cnapi.filter_servers",
            "cnapi.get_server_nic_tags",
            "cnapi.check_manual_server_nics",
        ],
        before_job_from_8_2: true,
    },
    Stage {
        key: "allocation",
        steps: "12",
        title: "Allocate a server (DAPI)",
        tasks: &[
            "wfapi.wait_critical_section",
            "dapi.get_allocation_ticket",
            "dapi.wait_allocation_ticket",
            "dapi.get_allocation",
            "cnapi.acquire_vm_ticket",
            "dapi.release_allocation_ticket",
            "cnapi.wait_on_vm_ticket",
        ],
        before_job_from_8_2: true,
    },
    Stage {
        key: "nics",
        steps: "13",
        title: "Create NICs (NAPI)",
        tasks: &[
            "napi.provision_nics",
            "cnapi.acquire_fabric_nat_tickets",
            "napi.provision_fabric_nats",
        ],
        before_job_from_8_2: true,
    },
    Stage {
        key: "payload",
        steps: "14",
        title: "Prepare payload",
        tasks: &[
            "prepare_payload",
            "volapi.provision_nfs_volumes",
            "cnapi.wait_for_nfs_volumes_provisions",
            "cnapi.build_nfs_volumes_metadata",
        ],
        before_job_from_8_2: false,
    },
    Stage {
        key: "ensure-image",
        steps: "15-17",
        title: "Ensure image on the CN (image_ensure_present)",
        tasks: &[
            "cnapi.ensure_image",
            "cnapi.poll_task_ensure_image",
            "cnapi.wait_task_ensure_image",
            "cnapi.wait_for_fabric_nat_provisions",
        ],
        before_job_from_8_2: false,
    },
    Stage {
        key: "create",
        steps: "18-21",
        title: "Create the VM on the CN (machine_create)",
        tasks: &[
            "cnapi.provision_vm",
            "cnapi.poll_task",
            "cnapi.wait_task",
            "cnapi.fw_update",
            "cnapi.fw_poll",
        ],
        before_job_from_8_2: false,
    },
    Stage {
        key: "reduce",
        steps: "22",
        title: "Reduce job size",
        tasks: &["reduce_job_size"],
        before_job_from_8_2: false,
    },
    Stage {
        key: "state",
        steps: "23-27",
        title: "VM reaches running (heartbeat, VMAPI state)",
        tasks: &[
            "vmapi.check_state",
            "vmapi.put_vm",
            "volapi.add_volumes_references",
            "vmapi.check_propagated",
        ],
        before_job_from_8_2: false,
    },
    Stage {
        key: "firewall",
        steps: "28",
        title: "Update firewall (FWAPI)",
        tasks: &[
            "fwapi.update",
            "fwapi.get_firewall_data",
            "vmapi.get_firewall_targets",
            "fwapi.populate_firewall_data",
        ],
        before_job_from_8_2: false,
    },
    Stage {
        key: "release",
        steps: "-",
        title: "Release tickets",
        tasks: &[
            "cnapi.release_vm_ticket",
            "cnapi.release_fabric_nat_tickets",
        ],
        before_job_from_8_2: false,
    },
];

/// The stage a task belongs to.
pub fn stage_of(task: &str) -> Option<&'static Stage> {
    STAGES.iter().find(|s| s.tasks.contains(&task))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Done,
    Failed,
    /// Some tasks done, the rest not run.
    Partial,
    NotReached,
    /// Runs inside `POST /vms` in this version (8.2+), before the job.
    BeforeJob,
    NotInVersion,
}

impl StepStatus {
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Failed => "FAILED",
            StepStatus::Partial => "partly done",
            StepStatus::NotReached => "not reached",
            StepStatus::BeforeJob => "done before the job (POST /vms)",
            StepStatus::NotInVersion => "not in this version",
        }
    }
}

/// One task in a ladder row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskCell {
    pub name: String,
    pub status: StepStatus,
    pub duration_s: Option<f64>,
    pub timeout_s: Option<f64>,
    /// `result` or error text, shortened.
    pub outcome: Option<String>,
}

impl TaskCell {
    /// Share of the task timeout used, in percent.
    pub fn timeout_share(&self) -> Option<f64> {
        match (self.duration_s, self.timeout_s) {
            (Some(d), Some(t)) if t > 0.0 => Some(100.0 * d / t),
            _ => None,
        }
    }
}

/// One ladder row: a guide stage and its tasks in this job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderRow {
    pub stage: String,
    pub guide_steps: String,
    pub title: String,
    pub status: StepStatus,
    pub tasks: Vec<TaskCell>,
}

fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    crate::parsers::clip(first, 160)
}

/// Builds the ladder of a job.
pub fn for_job(job: &Job, era: Era) -> Vec<LadderRow> {
    // The task list: the job's own chain when full, else the era's, plus any task that ran.
    let mut chain: Vec<(String, Option<f64>)> = if job.chain.is_empty() {
        era.expected_chain()
            .iter()
            .map(|(n, t)| (n.to_string(), Some(*t)))
            .collect()
    } else {
        job.chain
            .iter()
            .map(|t| (t.name.clone(), t.timeout))
            .collect()
    };
    // Lookups by name: a job may carry thousands of tasks, and every step below asks by name.
    let mut result_of: std::collections::HashMap<&str, &crate::parsers::job::TaskResult> =
        std::collections::HashMap::new();
    for r in &job.chain_results {
        if let Some(name) = r.name.as_deref() {
            // The first result of a name, as a search from the start would find.
            result_of.entry(name).or_insert(r);
        }
    }
    let mut listed: std::collections::HashSet<String> =
        chain.iter().map(|(n, _)| n.clone()).collect();
    for r in &job.chain_results {
        if let Some(name) = &r.name {
            if listed.insert(name.clone()) {
                chain.push((name.clone(), None));
            }
        }
    }
    if job.chain.is_empty() {
        // Trimmed job: the era's chain is a guess; a task listed before the last task that ran but
        // absent from the results was not part of this exact version.
        let last_ran = chain
            .iter()
            .rposition(|(n, _)| result_of.contains_key(n.as_str()));
        if let Some(last) = last_ran {
            let mut index = 0;
            chain.retain(|(n, _)| {
                let keep = index > last || result_of.contains_key(n.as_str());
                index += 1;
                keep
            });
        }
    }
    let era_timeout = |name: &str| {
        era.expected_chain()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    };
    let cell = |name: &str, timeout: Option<f64>| {
        let result = result_of.get(name).copied();
        let status = match result {
            Some(r) if r.error.is_error() => StepStatus::Failed,
            Some(_) => StepStatus::Done,
            None => StepStatus::NotReached,
        };
        TaskCell {
            name: name.to_string(),
            status,
            duration_s: result.and_then(|r| r.duration()),
            timeout_s: timeout.or_else(|| era_timeout(name)),
            outcome: result.map(|r| short(&r.error.text().unwrap_or_else(|| r.result.clone()))),
        }
    };
    let mut rows = Vec::new();
    for stage in STAGES {
        let tasks: Vec<TaskCell> = chain
            .iter()
            .filter(|(n, _)| stage.tasks.contains(&n.as_str()))
            .map(|(n, t)| cell(n, *t))
            .collect();
        let status = if stage.key == "submit" {
            StepStatus::Done
        } else if tasks.is_empty() {
            if era == Era::V82Plus && stage.before_job_from_8_2 {
                StepStatus::BeforeJob
            } else {
                StepStatus::NotInVersion
            }
        } else if tasks.iter().any(|t| t.status == StepStatus::Failed) {
            StepStatus::Failed
        } else if tasks.iter().all(|t| t.status == StepStatus::Done) {
            StepStatus::Done
        } else if tasks.iter().any(|t| t.status == StepStatus::Done) {
            StepStatus::Partial
        } else {
            StepStatus::NotReached
        };
        rows.push(LadderRow {
            stage: stage.key.to_string(),
            guide_steps: stage.steps.to_string(),
            title: stage.title.to_string(),
            status,
            tasks,
        });
    }
    // Tasks no stage knows (new versions, spliced sub-chains) get a row of their own.
    let unknown: Vec<TaskCell> = chain
        .iter()
        .filter(|(n, _)| stage_of(n).is_none())
        .map(|(n, t)| cell(n, *t))
        .collect();
    if !unknown.is_empty() {
        let status = if unknown.iter().any(|t| t.status == StepStatus::Failed) {
            StepStatus::Failed
        } else if unknown.iter().all(|t| t.status == StepStatus::Done) {
            StepStatus::Done
        } else {
            StepStatus::NotReached
        };
        rows.push(LadderRow {
            stage: "other".to_string(),
            guide_steps: "-".to_string(),
            title: "Other tasks of this workflow".to_string(),
            status,
            tasks: unknown,
        });
    }
    if job.workflow_timed_out() {
        // The task running when the job timed out is the first one after the last result.
        let running = super::provisions::running_task(job);
        for row in rows.iter_mut() {
            for cell in row.tasks.iter_mut() {
                if Some(&cell.name) == running.as_ref() {
                    cell.status = StepStatus::Failed;
                    cell.outcome =
                        Some("workflow timeout (running when the job timed out)".to_string());
                    row.status = StepStatus::Failed;
                }
            }
        }
    }
    rows
}

/// The order of the work VMAPI does inside `POST /vms` from 8.2.0, before creating the job.
const POST_VMS_ORDER: [&str; 5] = ["validate", "nic-tags", "servers", "allocation", "nics"];

/// The ladder of a provision that failed in `POST /vms` (8.2+, no job): the request was refused
/// at `failed_stage`.
pub fn for_no_job(failed_stage: &str) -> Vec<LadderRow> {
    let failed_at = POST_VMS_ORDER.iter().position(|s| *s == failed_stage);
    STAGES
        .iter()
        .map(|stage| {
            let status = match (
                POST_VMS_ORDER.iter().position(|s| *s == stage.key),
                failed_at,
            ) {
                (Some(i), Some(f)) if i < f => StepStatus::Done,
                (Some(i), Some(f)) if i == f => StepStatus::Failed,
                _ if stage.key == failed_stage => StepStatus::Failed,
                _ if stage.key == "submit"
                    || CHAIN_8_2_4
                        .iter()
                        .any(|(task, _)| stage.tasks.contains(task))
                    || POST_VMS_ORDER.contains(&stage.key) =>
                {
                    StepStatus::NotReached
                }
                _ => StepStatus::NotInVersion,
            };
            LadderRow {
                stage: stage.key.to_string(),
                guide_steps: stage.steps.to_string(),
                title: stage.title.to_string(),
                status,
                tasks: Vec::new(),
            }
        })
        .collect()
}

/// The furthest stage reached: the failed one, else the last done.
pub fn furthest(rows: &[LadderRow]) -> Option<&LadderRow> {
    rows.iter()
        .find(|r| r.status == StepStatus::Failed)
        .or_else(|| {
            rows.iter().rev().find(|r| {
                matches!(
                    r.status,
                    StepStatus::Done | StepStatus::Partial | StepStatus::BeforeJob
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::job::parse_job;
    use serde_json::json;

    #[test]
    fn eras_from_versions() {
        let v = |s: &str| WorkflowVersion::from_job_name(s);
        assert_eq!(Era::of(v("provision-7.0.24")), Era::V70);
        assert_eq!(Era::of(v("provision-7.2.6")), Era::V71To81);
        assert_eq!(Era::of(v("provision-8.1.2")), Era::V71To81);
        assert_eq!(Era::of(v("provision-8.2.0")), Era::V82Plus);
        assert_eq!(Era::of(v("provision-8.2.4")), Era::V82Plus);
        assert_eq!(Era::of(v("provision")), Era::Unknown);
    }

    #[test]
    fn trimmed_8_2_job_ladder() {
        let job = parse_job(&json!({"uuid": "j", "name": "provision-8.2.4", "execution": "failed",
            "chain_results": [
              {"result": "All parameters OK!", "error": "", "name": "common.validate_params", "started_at": "2024-01-18T10:00:00.000Z", "finished_at": "2024-01-18T10:00:01.000Z"},
              {"result": "Action set", "error": "", "name": "workflow.set_job_action", "started_at": "2024-01-18T10:00:01.000Z", "finished_at": "2024-01-18T10:00:02.000Z"},
              {"result": "", "error": "vmadm exited with code: 1: timed out", "name": "cnapi.wait_task", "started_at": "2024-01-18T10:00:02.000Z", "finished_at": "2024-01-18T10:06:02.000Z"}
            ]})).expect("job");
        let rows = for_job(&job, Era::V82Plus);
        let by = |k: &str| rows.iter().find(|r| r.stage == k).expect("row");
        assert_eq!(by("validate").status, StepStatus::Done);
        assert_eq!(by("allocation").status, StepStatus::BeforeJob);
        assert_eq!(by("image").status, StepStatus::NotInVersion);
        assert_eq!(by("create").status, StepStatus::Failed);
        // cnapi.provision_vm has no result yet comes before the last task that ran: a trimmed
        // job's era chain is only a guess, so it is left out rather than shown "not reached".
        assert_eq!(by("create").tasks.len(), 1);
        let wait = &by("create").tasks[0];
        assert_eq!(wait.name, "cnapi.wait_task");
        assert_eq!(wait.duration_s, Some(360.0));
        assert_eq!(wait.timeout_s, Some(3600.0));
        assert_eq!(wait.timeout_share().map(|s| s.round()), Some(10.0));
        assert_eq!(
            by("ensure-image").status,
            StepStatus::NotInVersion,
            "skipped tasks before the failure were not in this version"
        );
        assert_eq!(furthest(&rows).map(|r| r.stage.as_str()), Some("create"));
    }

    #[test]
    fn no_job_ladder() {
        let rows = for_no_job("allocation");
        let by = |k: &str| rows.iter().find(|r| r.stage == k).expect("row");
        assert_eq!(by("allocation").status, StepStatus::Failed);
        assert_eq!(by("nic-tags").status, StepStatus::Done);
        assert_eq!(by("validate").status, StepStatus::Done);
        assert_eq!(by("nics").status, StepStatus::NotReached);
        assert_eq!(by("create").status, StepStatus::NotReached);
        assert_eq!(by("image").status, StepStatus::NotInVersion);
        assert_eq!(by("submit").status, StepStatus::NotReached);
        assert_eq!(
            furthest(&rows).map(|r| r.stage.as_str()),
            Some("allocation")
        );
    }
}
