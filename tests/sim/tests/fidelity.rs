//! Fidelity of the simulated datacenter to real Triton, checked against the project's reference
//! (`shared/docs/triton-reference.md`) and the public sources it cites, not against the
//! simulator's own code: every file path matches a path the reference documents, every fake
//! command prints the real format, job chains are the real chains of their workflow version,
//! and every piece of evidence a scenario promises can actually be found.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{generate, is_uuid, Generated};

// ------------------------------------------------------------------------------------------
// Reference tables
// ------------------------------------------------------------------------------------------

/// Paths allowed in a host tree, from reference §3 (paths and file naming) and §7 (fixture
/// tree). Placeholders: `{uuid}`, `{ms}` (13 digits), `{n}` (digits), `{pid6}` (6 digits),
/// `{node}` (a hostname), `{ts}` (`%FT%H:%M:%S`), `{hour}` (`YYYY-MM-DDTHH:00:00`), `{task}`
/// (snake_case), `{name}` (a rotation name), `{gz}` (nothing or `.gz`: an old rotated copy
/// compressed by hand), `{rest}` (anything below a directory VM.js archives wholesale).
const HN_PATHS: &[(&str, &str)] = &[
    ("usbkey/config", "§7"),
    // CloudAPI's SAPI-rendered configuration: sdc-cloudapi `sapi_manifests/cloudapi/manifest.json`.
    (
        "zones/{uuid}/root/opt/smartdc/cloudapi/etc/cloudapi.cfg",
        "cloudapi manifest.json",
    ),
    ("etc/zones/index", "§7 (index-like list for vmadm lookup)"),
    ("etc/zones/{uuid}.xml", "§7"),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-site-vmapi:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-site-cnapi:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-site-imgapi:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-wf-api:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-wf-runner:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-napi:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-fwapi:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-adminui:default.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-ufds-master:ufds-{n}.log",
        "§3.2",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-cloudapi:cloudapi-{n}.log",
        "§3.2",
    ),
    // FMRIs smartdc/application/papi and .../sapi: sdc-papi `smf/manifests/papi.xml.in`,
    // sdc-sapi `smf/manifests/sapi.xml.in` (FMRI → log name rule of §3.2).
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-papi:default.log",
        "papi.xml.in",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-application-sapi:default.log",
        "sapi.xml.in",
    ),
    ("zones/{uuid}/root/var/log/rabbitmq/rabbit.log", "§3.2"),
    (
        "zones/{uuid}/root/var/log/sdc/upload/{name}_{uuid}_{hour}.log{gz}",
        "§3.3",
    ),
    (
        "zones/{uuid}/root/var/log/evil",
        "§7 (symlink pointing outside the zone root)",
    ),
];

const CN_PATHS: &[(&str, &str)] = &[
    ("etc/zones/index", "§7"),
    ("etc/zones/{uuid}.xml", "§7"),
    (
        "etc/shadow",
        "§7 (the GZ file the escaping symlink points at)",
    ),
    ("var/svc/log/smartdc-agent-cn-agent:default.log", "§3.4"),
    ("var/svc/log/smartdc-agent-vm-agent:default.log", "§3.4"),
    ("var/svc/log/smartdc-agent-net-agent:default.log", "§3.4"),
    ("var/svc/log/smartdc-agent-provisioner:default.log", "§3.4"),
    ("var/svc/log/smartdc-agent-heartbeater:default.log", "§3.4"),
    ("var/svc/log/system-smartdc-vmadmd:default.log", "§3.4"),
    ("var/log/cn-agent/logs/{ms}-{n}-{task}.log", "§3.4"),
    ("var/log/cn-agent/cn-agent-tasks.log", "§3.4"),
    (
        "var/log/cn-agent/cn-agent-tasks_{node}_{ts}.log{gz}",
        "§3.4",
    ),
    ("var/log/cn-agent/cn-agent_{node}_{ts}.log{gz}", "§3.4"),
    ("var/log/provisioner/logs/{ms}-{n}-{task}.log", "§3.4"),
    ("var/log/provisioner/provisioner.log", "§3.4"),
    (
        "var/log/provisioner/provisioner_tasks_{node}_{ts}.log{gz}",
        "§3.4",
    ),
    (
        "var/log/provisioner/provisioner_{node}_{ts}.log{gz}",
        "§3.4",
    ),
    ("var/log/vm-agent/vm-agent_{node}_{ts}.log{gz}", "§3.4"),
    ("var/log/net-agent/net-agent_{node}_{ts}.log{gz}", "§3.4"),
    // VM.js names the file after its logger (`VM.logname`, `vmadm` for vmadm.js).
    ("var/log/vm/logs/{ms}-{pid6}-{task}.log", "§3.4"),
    ("var/log/sdc/upload/qemu_{uuid}@{uuid}_{hour}.log", "§3.4"),
    ("zones/{uuid}/root/startvm", "§3.4"),
    ("zones/{uuid}/root/tmp/vm.log", "§3.4"),
    ("zones/{uuid}/root/tmp/vm.log.{n}", "§3.4"),
    (
        "zones/{uuid}/root/var/svc/log/system-zoneinit:default.log",
        "§3.4",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-mdata:fetch.log",
        "§3.4",
    ),
    (
        "zones/{uuid}/root/var/svc/log/smartdc-mdata:execute.log",
        "§3.4",
    ),
    (
        "zones/{uuid}/root/var/svc/log/evil.log",
        "§7 (symlink pointing outside the zone root)",
    ),
    ("zones/{uuid}/root/var/svc/provisioning", "§6.2"),
    ("zones/{uuid}/root/var/svc/provision_success", "§6.2"),
    ("zones/archive/{uuid}/vm.json", "§3.5"),
    ("zones/archive/{uuid}/zfs.dump", "§3.5"),
    ("zones/archive/{uuid}/zone.xml", "§3.5"),
    ("zones/archive/{uuid}/startvm", "§3.5"),
    ("zones/archive/{uuid}/svclogs/{rest}", "§3.5"),
    ("zones/archive/{uuid}/admmsgs/{rest}", "§3.5"),
    ("zones/archive/{uuid}/vmlogs/{rest}", "§3.5"),
    ("zones/archive/{uuid}/config/{rest}", "§3.5"),
    ("zones/archive/{uuid}/cores/{rest}", "§3.5"),
    ("zones/archive/{uuid}/console/{rest}", "§3.5"),
    ("zones/archive/{uuid}/platform/{rest}", "§3.5"),
];

/// Job chains by job name: reference §1.1 for provisions (bracketed tasks are optional
/// sub-chains), sdc-vmapi `lib/workflows/{destroy,start,stop,reboot}.js` for the others.
struct Chain {
    name: &'static str,
    tasks: &'static [&'static str],
    optional: &'static [&'static str],
    onerror: &'static [&'static str],
}

const PROVISION_7_0_OLD: &[&str] = &[
    "common.validate_params",
    "imgapi.get_image",
    "imgapi.generate_passwords",
    "ufds.get_package",
    "ufds.add_customer_vm",
    "napi.get_nic_tags",
    "cnapi.get_servers",
    "cnapi.filter_servers",
    "dapi.get_allocation",
    "napi.provision_nics",
    "prepare_payload",
    "cnapi.ensure_image",
    "cnapi.poll_task_ensure_image",
    "cnapi.provision_vm",
    "cnapi.poll_task",
    "reduce_job_size",
    "vmapi.check_state",
    "fwapi.update",
];
const ONERROR_7_0_OLD: &[&str] = &[
    "ufds.delete_customer_vm",
    "napi.cleanup_nics",
    "set_post_back_failed",
    "common.post_back",
    "On error",
];
const ONERROR_8: &[&str] = &[
    "napi.cleanup_nics",
    "set_post_back_failed",
    "common.post_back",
    "cnapi.cleanup_allocation_ticket",
    "cnapi.cleanup_vm_ticket",
    "vmapi.refresh_vm_on_error",
    "cnapi.release_fabric_nat_tickets",
    "On error",
];
const OPTIONAL_8: &[&str] = &[
    "cnapi.acquire_fabric_nat_tickets",
    "napi.provision_fabric_nats",
    "cnapi.wait_for_fabric_nat_provisions",
    "volapi.provision_nfs_volumes",
    "cnapi.wait_for_nfs_volumes_provisions",
    "cnapi.build_nfs_volumes_metadata",
    "cnapi.release_fabric_nat_tickets",
];

const CHAINS: &[Chain] = &[
    Chain {
        name: "provision-7.0.24",
        tasks: PROVISION_7_0_OLD,
        optional: &[],
        onerror: ONERROR_7_0_OLD,
    },
    Chain {
        name: "provision-7.0.28",
        tasks: PROVISION_7_0_OLD,
        optional: &[],
        onerror: ONERROR_7_0_OLD,
    },
    Chain {
        name: "provision-8.1.2",
        tasks: &[
            "common.validate_params",
            "workflow.set_job_action",
            "imgapi.generate_passwords",
            "napi.validate_networks",
            "dapi.get_allocation_ticket",
            "dapi.wait_allocation_ticket",
            "dapi.get_allocation",
            "cnapi.acquire_vm_ticket",
            "dapi.release_allocation_ticket",
            "cnapi.wait_on_vm_ticket",
            "cnapi.get_server_nic_tags",
            "cnapi.check_manual_server_nics",
            "napi.provision_nics",
            "cnapi.ensure_image",
            "cnapi.wait_task_ensure_image",
            "prepare_payload",
            "cnapi.provision_vm",
            "cnapi.wait_task",
            "volapi.add_volumes_references",
            "vmapi.put_vm",
            "fwapi.update",
            "cnapi.release_vm_ticket",
        ],
        optional: OPTIONAL_8,
        onerror: ONERROR_8,
    },
    Chain {
        name: "provision-8.2.4",
        tasks: &[
            "common.validate_params",
            "workflow.set_job_action",
            "imgapi.generate_passwords",
            "cnapi.ensure_image",
            "cnapi.wait_task_ensure_image",
            "prepare_payload",
            "cnapi.provision_vm",
            "cnapi.wait_task",
            "volapi.add_volumes_references",
            "vmapi.put_vm",
            "fwapi.update",
            "cnapi.release_vm_ticket",
        ],
        optional: OPTIONAL_8,
        onerror: ONERROR_8,
    },
    Chain {
        name: "destroy-7.0.1",
        tasks: &[
            "common.validate_params",
            "common.setup_request",
            "cnapi.destroy_vm",
            "cnapi.poll_task",
            "vmapi.check_state",
            "ufds.delete_customer_vm",
            "fwapi.update",
        ],
        optional: &[],
        onerror: &["On error"],
    },
    Chain {
        name: "start-7.0.1",
        tasks: &[
            "common.validate_params",
            "common.setup_request",
            "common.ensure_vm_state",
            "cnapi.start_vm",
            "cnapi.poll_task",
            "vmapi.check_state",
        ],
        optional: &[],
        onerror: &["On error"],
    },
    Chain {
        name: "stop-7.0.1",
        tasks: &[
            "common.validate_params",
            "common.setup_request",
            "common.ensure_vm_state",
            "cnapi.stop_vm",
            "cnapi.poll_task",
            "vmapi.check_state",
        ],
        optional: &[],
        onerror: &["On error"],
    },
    Chain {
        name: "start-7.0.8",
        tasks: &[
            "common.validate_params",
            "cnapi.acquire_vm_ticket",
            "cnapi.wait_on_vm_ticket",
            "common.ensure_vm_state",
            "setup_start_request",
            "cnapi.start_vm",
            "cnapi.wait_task",
            "vmapi.put_vm",
            "cnapi.release_vm_ticket",
        ],
        optional: &[],
        onerror: &["cnapi.release_vm_ticket_ignore_err"],
    },
    Chain {
        name: "stop-7.0.8",
        tasks: &[
            "common.validate_params",
            "common.setup_request",
            "cnapi.acquire_vm_ticket",
            "cnapi.wait_on_vm_ticket",
            "common.ensure_vm_state",
            "cnapi.stop_vm",
            "cnapi.wait_task",
            "vmapi.put_vm",
            "cnapi.release_vm_ticket",
        ],
        optional: &[],
        onerror: &["cnapi.release_vm_ticket_ignore_err"],
    },
    Chain {
        name: "reboot-7.0.6",
        tasks: &[
            "common.validate_params",
            "common.setup_request",
            "cnapi.acquire_vm_ticket",
            "cnapi.wait_on_vm_ticket",
            "common.ensure_vm_state",
            "cnapi.reboot_vm",
            "cnapi.wait_task",
            "vmapi.put_vm",
            "cnapi.release_vm_ticket",
        ],
        optional: &[],
        onerror: &["cnapi.release_vm_ticket_ignore_err"],
    },
];

/// Success `result` prefixes per task: reference §1.3 (provision) and sdc-vmapi
/// `lib/workflows/job-common.js` (the other workflows). A task missing here fails the check.
const RESULTS: &[(&str, &[&str])] = &[
    ("common.validate_params", &["All parameters OK!"]),
    ("workflow.set_job_action", &["Action set"]),
    ("imgapi.get_image", &["Got image"]),
    (
        "imgapi.generate_passwords",
        &[
            "No need to generate passwords for image",
            "Image has generate_passwords=true but no users found",
            "Passwords generated for Image",
            "Image object was not set, skipping generatePasswords",
        ],
    ),
    (
        "ufds.get_package",
        &[
            "Package for provision found on UFDS",
            "No package details provided for this provision",
        ],
    ),
    ("ufds.add_customer_vm", &["Customer VM usage added to UFDS"]),
    ("napi.get_nic_tags", &["NIC Tags retrieved"]),
    (
        "napi.validate_networks",
        &["NIC Tag requirements retrieved"],
    ),
    (
        "cnapi.get_servers",
        &["Got servers", "Server UUID present, no need to get servers"],
    ),
    (
        "cnapi.filter_servers",
        &[
            "Filtered servers with NIC Tag requirements",
            "Server UUID present, no need to filter servers",
        ],
    ),
    (
        "cnapi.check_manual_server_nics",
        &["Server has all the required NIC tags"],
    ),
    (
        "dapi.get_allocation",
        &[
            "Server allocated!",
            "VM allocated to Server ",
            "Server UUID present, no need to get allocation from DAPI",
        ],
    ),
    (
        "napi.provision_nics",
        &["NICs allocated", "AddNics called with macs -- skipping"],
    ),
    ("prepare_payload", &["Payload prepared successfully"]),
    (
        "cnapi.ensure_image",
        &[
            "Ensure image task queued!",
            "Compute node not running SDC7, will import image itself",
        ],
    ),
    (
        "cnapi.provision_vm",
        &["Provision queued!", "Provision task: "],
    ),
    ("cnapi.poll_task", &["Job succeeded!", "Skipping pollTask"]),
    (
        "cnapi.poll_task_ensure_image",
        &["Job succeeded!", "Skipping pollTask"],
    ),
    ("cnapi.wait_task", &["Job succeeded!", "Skipping waitTask"]),
    (
        "cnapi.wait_task_ensure_image",
        &["Job succeeded!", "Skipping waitTask"],
    ),
    ("reduce_job_size", &["Removed servers listings"]),
    (
        "vmapi.check_state",
        &[
            "VM is now ",
            "No 'expects' state parameter provided",
            "Skipping checkState",
        ],
    ),
    ("vmapi.put_vm", &["put VM ", "VM has do_not_inventory set"]),
    (
        "fwapi.update",
        &[
            "Updated FWAPI with update UUID: ",
            "No properties affecting FWAPI found: not updating",
            "Error updating FWAPI",
        ],
    ),
    ("dapi.get_allocation_ticket", &["OK"]),
    ("dapi.wait_allocation_ticket", &["OK"]),
    ("dapi.release_allocation_ticket", &["OK"]),
    ("cnapi.acquire_vm_ticket", &["OK"]),
    ("cnapi.wait_on_vm_ticket", &["OK"]),
    ("cnapi.get_server_nic_tags", &["OK"]),
    ("cnapi.release_vm_ticket", &["OK"]),
    ("cnapi.cleanup_vm_ticket", &["OK"]),
    ("cnapi.cleanup_allocation_ticket", &["OK"]),
    ("cnapi.release_vm_ticket_ignore_err", &["OK - "]),
    (
        "volapi.add_volumes_references",
        &[
            "No created NFS volume to which a reference needs to be added",
            "References from VM ",
            "URL for volapi service not present",
        ],
    ),
    (
        "napi.cleanup_nics",
        &[
            "NICs removed",
            "No NICs were provisioned",
            "No MACs given, and no NICs were provisioned",
            "markAsFailedOnError was set to false",
        ],
    ),
    (
        "set_post_back_failed",
        &[
            "Set post back state as failed",
            "markAsFailedOnError was set to false",
        ],
    ),
    (
        "common.post_back",
        &[
            "Posted job results back to specified URLs",
            "Could not post back job results. See /info object",
        ],
    ),
    (
        "vmapi.refresh_vm_on_error",
        &[
            "VM data refreshed, new VM state is ",
            "markAsFailedOnError set, not doing sync GET",
        ],
    ),
    (
        "ufds.delete_customer_vm",
        &[
            "Customer VM usage deleted from UFDS",
            "Customer doesn't exist on UFDS",
            "Error deleting VM usage from UFDS. See /info",
            "markAsFailedOnError was set to false",
        ],
    ),
    ("common.setup_request", &["Request has been setup!"]),
    ("setup_start_request", &["Start request has been setup!"]),
    ("common.ensure_vm_state", &["VM is "]),
    ("cnapi.destroy_vm", &["Task queued to CNAPI!", "Task id: "]),
    ("cnapi.start_vm", &["Task queued to CNAPI!", "Task id: "]),
    ("cnapi.stop_vm", &["Task queued to CNAPI!", "Task id: "]),
    ("cnapi.reboot_vm", &["Task queued to CNAPI!", "Task id: "]),
];

fn result_problems(job_name: &str, results: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for r in results.as_array().into_iter().flatten() {
        let (Some(task), Some(result)) = (r["name"].as_str(), r["result"].as_str()) else {
            continue;
        };
        if r["error"] != "" {
            continue;
        }
        match RESULTS.iter().find(|(t, _)| *t == task) {
            Some((_, allowed)) if allowed.iter().any(|a| result.starts_with(a)) => {}
            Some(_) => problems.push(format!(
                "{job_name}: {task} result {result:?} is not a real one"
            )),
            None => problems.push(format!("{job_name}: no reference results for task {task}")),
        }
    }
    problems
}

/// The keys VMAPI's `translateJob` keeps (reference fact 2) and the params it strips.
const TRIMMED_JOB_KEYS: &[&str] = &[
    "name",
    "uuid",
    "execution",
    "params",
    "exec_after",
    "created_at",
    "timeout",
    "chain_results",
];
const STRIPPED_PARAMS: &[&str] = &["dapi_url", "napi_url", "cnapi_url", "vmapi_url", "expects"];

/// `vmadm get` fields reference §5 documents for every VM.
const VMADM_FIELDS: &[&str] = &[
    "uuid",
    "zonename",
    "zonepath",
    "brand",
    "state",
    "zone_state",
    "owner_uuid",
    "create_timestamp",
    "max_physical_memory",
    "quota",
    "nics",
    "customer_metadata",
    "internal_metadata",
    "tags",
];

// ------------------------------------------------------------------------------------------
// Path patterns
// ------------------------------------------------------------------------------------------

/// Does `path` match `pattern` (placeholders as documented on [`HN_PATHS`])?
fn matches(pattern: &str, path: &str) -> bool {
    match pattern.find('{') {
        None => pattern == path,
        Some(open) => {
            let (lit, rest) = pattern.split_at(open);
            let Some(path_rest) = path.strip_prefix(lit) else {
                return false;
            };
            let Some(close) = rest.find('}') else {
                return false;
            };
            let token = &rest[1..close];
            let after = &rest[close + 1..];
            (0..=path_rest.len())
                .filter(|i| path_rest.is_char_boundary(*i))
                .any(|i| token_matches(token, &path_rest[..i]) && matches(after, &path_rest[i..]))
        }
    }
}

fn token_matches(token: &str, s: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let stamp = |s: &str| {
        let b = s.as_bytes();
        s.len() == 19
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    match token {
        "uuid" => is_uuid(s),
        "ms" => s.len() == 13 && digits(s),
        "n" => digits(s),
        "pid6" => s.len() == 6 && digits(s),
        "node" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "ts" => stamp(s),
        "hour" => stamp(s) && s.ends_with(":00:00"),
        "task" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "name" => {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        "gz" => s.is_empty() || s == ".gz",
        "rest" => !s.is_empty() && !s.split('/').any(|p| p.is_empty() || p == ".."),
        _ => false,
    }
}

/// Every non-directory entry (files and symlinks, not followed) under `root`, relative.
fn entries(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .filter_map(|e| {
            e.path()
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    out.sort();
    out
}

fn unmatched(root: &Path, table: &[(&str, &str)]) -> Vec<String> {
    entries(root)
        .into_iter()
        .filter(|p| !table.iter().any(|(pattern, _)| matches(pattern, p)))
        .collect()
}

// ------------------------------------------------------------------------------------------
// Running the fake commands
// ------------------------------------------------------------------------------------------

/// The fake command binary, freshly built.
fn fake_binary() -> PathBuf {
    triton_test_support::workspace_bin("triton-fake")
}

struct Dc {
    g: Generated,
    name: String,
}

impl Dc {
    fn new(scenario: &str, fake: &Path) -> Dc {
        let g = generate(scenario, None, 5);
        triton_fake::install(g.path(), fake)
            .unwrap_or_else(|e| panic!("{scenario}: install fakes: {e:#}"));
        Dc {
            g,
            name: scenario.to_string(),
        }
    }

    fn headnode(&self) -> String {
        self.g.state["headnode"]["server_uuid"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a fake command as if on `host` (`None` = the headnode); returns (exit code, stdout,
    /// stderr).
    fn run(&self, host: Option<&str>, cmd: &str, args: &[&str]) -> (i32, String, String) {
        let mut c = Command::new(self.g.path().join("bin").join(cmd));
        c.args(args).env("TRITON_SIM_DIR", self.g.path());
        match host {
            Some(h) if h != self.headnode() => {
                c.env("TRITON_SIM_HOST", h);
            }
            _ => {
                c.env_remove("TRITON_SIM_HOST");
            }
        }
        let out = c
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run {cmd}: {e}", self.name));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// An `sdc-*` answer, checked for the HTTP framing of reference §5; returns (status, body).
    fn api(&self, cmd: &str, path: &str) -> (u16, Value) {
        let (code, out, err) = self.run(None, cmd, &[path]);
        assert_eq!(code, 0, "{}: {cmd} {path}: exit {code}: {err}", self.name);
        let (status, body) =
            parse_http(&out).unwrap_or_else(|e| panic!("{}: {cmd} {path}: {e}\n{out}", self.name));
        (status, body)
    }

    fn hosts(&self) -> Vec<Value> {
        let mut out = vec![self.g.state["headnode"].clone()];
        out.extend(
            self.g.state["compute_nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        out
    }
}

/// `HTTP/1.1 <code> <text>`, `Name: value` headers, a blank line, then pretty JSON.
fn parse_http(out: &str) -> Result<(u16, Value), String> {
    let (head, body) = out
        .split_once("\r\n\r\n")
        .or_else(|| out.split_once("\n\n"))
        .ok_or("no blank line between headers and body")?;
    let mut lines = head.lines();
    let status_line = lines.next().ok_or("empty output")?;
    let mut parts = status_line.splitn(3, ' ');
    if parts.next() != Some("HTTP/1.1") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status code in {status_line:?}"))?;
    for line in lines {
        let line = line.trim_end_matches('\r');
        match line.split_once(": ") {
            Some((name, _))
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {}
            _ => return Err(format!("bad header line {line:?}")),
        }
    }
    let body: Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    Ok((code, body))
}

// ------------------------------------------------------------------------------------------
// Checks
// ------------------------------------------------------------------------------------------

fn check_paths(dc: &Dc) -> Vec<String> {
    let mut problems = Vec::new();
    for p in unmatched(&dc.g.path().join("hn"), HN_PATHS) {
        problems.push(format!("hn: undocumented path /{p}"));
    }
    let cn_dir = dc.g.path().join("cn");
    for cn in std::fs::read_dir(&cn_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        for p in unmatched(&cn, CN_PATHS) {
            problems.push(format!("{}: undocumented path /{p}", cn.display()));
        }
    }
    problems
}

fn chain_names(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

fn check_job(job: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let name = job["name"].as_str().unwrap_or_default();
    let Some(reference) = CHAINS.iter().find(|c| c.name == name) else {
        return vec![format!("job {} has unknown workflow {name:?}", job["uuid"])];
    };
    let chain = chain_names(&job["chain"]);
    let required: Vec<&String> = chain
        .iter()
        .filter(|t| !reference.optional.contains(&t.as_str()))
        .collect();
    if required
        .iter()
        .map(|s| s.as_str())
        .ne(reference.tasks.iter().copied())
    {
        problems.push(format!(
            "{name}: chain {chain:?} is not the reference chain"
        ));
    }
    for task in chain_names(&job["onerror"]) {
        if !reference.onerror.contains(&task.as_str()) {
            problems.push(format!(
                "{name}: onerror task {task:?} not in the reference"
            ));
        }
    }
    // chain_results follow the chain in order; a whole-job timeout adds one entry without name.
    let results = job["chain_results"].as_array().cloned().unwrap_or_default();
    for (i, r) in results.iter().enumerate() {
        for key in ["result", "error", "finished_at"] {
            if r.get(key).is_none() {
                problems.push(format!("{name}: chain_results[{i}] lacks {key}"));
            }
        }
        match r["name"].as_str() {
            Some(n) if chain.get(i).map(String::as_str) != Some(n) => {
                problems.push(format!(
                    "{name}: chain_results[{i}] is {n:?}, chain has {:?}",
                    chain.get(i)
                ));
            }
            None if !(r["error"] == "workflow timeout" && i + 1 == results.len()) => {
                problems.push(format!("{name}: chain_results[{i}] has no name"));
            }
            _ => {}
        }
    }
    problems.extend(result_problems(name, &job["chain_results"]));
    problems.extend(result_problems(name, &job["onerror_results"]));
    let execution = job["execution"].as_str().unwrap_or_default();
    if !["queued", "running", "succeeded", "failed", "canceled"].contains(&execution) {
        problems.push(format!("{name}: execution {execution:?}"));
    }
    if execution == "failed" {
        let last = chain_names(&job["onerror"]);
        let onerror_results = chain_names(&job["onerror_results"]);
        if last.last().map(String::as_str) == Some("On error")
            && onerror_results.last().map(String::as_str) != Some("On error")
        {
            problems.push(format!("{name}: failed job without the `On error` result"));
        }
    }
    problems
}

fn check_trimmed_jobs(dc: &Dc, vm: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (status, body) = dc.api("sdc-vmapi", &format!("/vms/{vm}/jobs"));
    if status != 200 {
        return vec![format!("/vms/{vm}/jobs answered {status}")];
    }
    let jobs = body.as_array().cloned().unwrap_or_default();
    let mut previous: Option<String> = None;
    for job in &jobs {
        let mut keys: Vec<&str> = job
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        let mut want = TRIMMED_JOB_KEYS.to_vec();
        want.sort_unstable();
        if keys != want {
            problems.push(format!("/vms/{vm}/jobs: job keys {keys:?}, want {want:?}"));
        }
        for p in STRIPPED_PARAMS {
            if job["params"].get(*p).is_some() {
                problems.push(format!("/vms/{vm}/jobs: params.{p} not stripped"));
            }
        }
        let created = job["created_at"].as_str().unwrap_or_default().to_string();
        if let Some(prev) = &previous {
            if created > *prev {
                problems.push(format!("/vms/{vm}/jobs: not newest first"));
            }
        }
        previous = Some(created);
    }
    problems
}

fn check_vmadm_get(dc: &Dc, host: &str, vm: &Value) -> Vec<String> {
    let uuid = vm["uuid"].as_str().unwrap_or_default();
    let (code, out, err) = dc.run(Some(host), "vmadm", &["get", uuid]);
    if code != 0 {
        return vec![format!("vmadm get {uuid} on {host}: exit {code}: {err}")];
    }
    let Ok(obj) = serde_json::from_str::<Value>(&out) else {
        return vec![format!("vmadm get {uuid}: not JSON")];
    };
    let mut problems: Vec<String> = VMADM_FIELDS
        .iter()
        .filter(|f| obj.get(**f).is_none())
        .map(|f| format!("vmadm get {uuid}: no {f}"))
        .collect();
    if obj["zonepath"] != Value::String(format!("/zones/{uuid}")) {
        problems.push(format!("vmadm get {uuid}: zonepath {}", obj["zonepath"]));
    }
    let hvm = matches!(obj["brand"].as_str(), Some("kvm") | Some("bhyve"));
    let image = if hvm {
        obj["disks"][0]["image_uuid"].as_str()
    } else {
        obj["image_uuid"].as_str()
    };
    if !image.is_some_and(is_uuid) {
        problems.push(format!(
            "vmadm get {uuid}: no image uuid where the brand keeps it"
        ));
    }
    if !out.starts_with("{\n  \"") {
        problems.push(format!(
            "vmadm get {uuid}: not pretty-printed with 2 spaces"
        ));
    }
    problems
}

fn check_imgadm_get(dc: &Dc, host: &str, image: &str) -> Vec<String> {
    let (code, out, err) = dc.run(Some(host), "imgadm", &["get", image]);
    if code != 0 {
        return vec![format!("imgadm get {image} on {host}: exit {code}: {err}")];
    }
    let Ok(obj) = serde_json::from_str::<Value>(&out) else {
        return vec![format!("imgadm get {image}: not JSON")];
    };
    let mut problems = Vec::new();
    for key in ["manifest", "zpool", "source"] {
        if obj.get(key).is_none() {
            problems.push(format!("imgadm get {image}: no {key}"));
        }
    }
    for key in [
        "v", "uuid", "name", "version", "state", "type", "os", "files",
    ] {
        if obj["manifest"].get(key).is_none() {
            problems.push(format!("imgadm get {image}: manifest has no {key}"));
        }
    }
    problems
}

fn check_zfs_list(dc: &Dc, host: &str) -> Vec<String> {
    let (code, out, err) = dc.run(Some(host), "zfs", &["list", "-t", "all"]);
    if code != 0 {
        return vec![format!("zfs list on {host}: exit {code}: {err}")];
    }
    let mut lines = out.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let mut problems = Vec::new();
    if header != ["NAME", "USED", "AVAIL", "REFER", "MOUNTPOINT"] {
        problems.push(format!("zfs list on {host}: header {header:?}"));
    }
    for line in lines {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() != 5 || !cols[0].starts_with("zones") {
            problems.push(format!("zfs list on {host}: bad row {line:?}"));
        } else if cols[0].contains('@') && (cols[2] != "-" || cols[4] != "-") {
            problems.push(format!("zfs list on {host}: snapshot row {line:?}"));
        }
    }
    problems
}

/// `^\d{4}-\d{2}-\d{2}\.\d{2}:\d{2}:\d{2} `
fn is_history_record(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20
        && b[..20].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'.',
            13 | 16 => *c == b':',
            19 => *c == b' ',
            _ => c.is_ascii_digit(),
        })
}

fn check_zpool_history(dc: &Dc, host: &str) -> Vec<String> {
    let (code, out, err) = dc.run(Some(host), "zpool", &["history"]);
    if code != 0 {
        return vec![format!("zpool history on {host}: exit {code}: {err}")];
    }
    let mut problems = Vec::new();
    let mut pool_open = false;
    for line in out.lines() {
        if line.starts_with("History for '") && line.ends_with("':") {
            pool_open = true;
        } else if line.is_empty() {
            pool_open = false;
        } else if !(pool_open && is_history_record(line)) {
            problems.push(format!("zpool history on {host}: bad line {line:?}"));
        }
    }
    if !out.starts_with("History for 'zones':\n") {
        problems.push(format!("zpool history on {host}: no header"));
    }
    problems
}

fn check_svcs(dc: &Dc, host: &str, zone: &str) -> Vec<String> {
    let args: Vec<&str> = if zone == "global" {
        vec!["-xv"]
    } else {
        vec!["-z", zone, "-xv"]
    };
    let (code, out, err) = dc.run(Some(host), "svcs", &args);
    if code != 0 {
        return vec![format!("svcs {args:?} on {host}: exit {code}: {err}")];
    }
    let mut problems = Vec::new();
    for block in out.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let lines: Vec<&str> = block.lines().collect();
        let first_ok = lines
            .first()
            .is_some_and(|l| l.starts_with("svc:/") && l.contains(" (") && l.ends_with(')'));
        let state_ok = lines.get(1).is_some_and(|l| l.starts_with(" State: "));
        let reason_ok = lines.get(2).is_some_and(|l| l.starts_with("Reason: "));
        let see_ok = lines
            .iter()
            .any(|l| l.starts_with("   See: http://illumos.org/msg/SMF-"));
        let log_ok = lines
            .iter()
            .any(|l| l.starts_with("   See: /") && l.ends_with(".log"));
        let impact_ok = lines.last().is_some_and(|l| l.starts_with("Impact: "));
        if !(first_ok && state_ok && reason_ok && see_ok && log_ok && impact_ok) {
            problems.push(format!(
                "svcs -xv on {host} zone {zone}: bad block\n{block}"
            ));
        }
    }
    problems
}

fn check_evidence(dc: &Dc) -> Vec<String> {
    let mut problems = Vec::new();
    let provisions = dc.g.expected["provisions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for p in provisions {
        for e in p["evidence"].as_array().into_iter().flatten() {
            let contains = e["contains"].as_str().unwrap_or_default();
            if let (Some(host), Some(path)) = (e["host"].as_str(), e["path"].as_str()) {
                let file = dc.g.host_root(host).join(path.trim_start_matches('/'));
                let line = e["line"].as_u64().unwrap_or(0) as usize;
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                match text.lines().nth(line.saturating_sub(1)) {
                    Some(l) if line > 0 && l.contains(contains) => {}
                    _ => problems.push(format!(
                        "evidence {}:{line} lacks {contains:?}",
                        file.display()
                    )),
                }
            } else if let (Some(host), Some(command)) = (e["host"].as_str(), e["command"].as_str())
            {
                let words: Vec<&str> = command.split_whitespace().collect();
                let (code, out, err) = dc.run(Some(host), words[0], &words[1..]);
                if !(out.contains(contains) || err.contains(contains)) {
                    problems.push(format!(
                        "evidence `{command}` on {host} (exit {code}) lacks {contains:?}"
                    ));
                }
            } else if let Some(api) = e["api"].as_str() {
                let cmd = if api.starts_with("/jobs/") {
                    "sdc-workflow"
                } else if api.starts_with("/tasks/") || api.starts_with("/servers/") {
                    "sdc-cnapi"
                } else if api.starts_with("/images/") {
                    "sdc-imgapi"
                } else {
                    "sdc-vmapi"
                };
                let (_, body) = dc.api(cmd, api);
                if !body.to_string().contains(
                    &serde_json::to_string(contains)
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string(),
                ) {
                    problems.push(format!("evidence {cmd} {api} lacks {contains:?}"));
                }
            } else {
                problems.push(format!("evidence of unknown kind: {e}"));
            }
        }
    }
    problems
}

fn check_task(dc: &Dc, id: &str) -> Vec<String> {
    let (status, task) = dc.api("sdc-cnapi", &format!("/tasks/{id}"));
    if status != 200 {
        return vec![format!("/tasks/{id} answered {status}")];
    }
    let mut problems = Vec::new();
    for key in [
        "id",
        "req_id",
        "task",
        "server_uuid",
        "status",
        "timestamp",
        "history",
    ] {
        if task.get(key).is_none() {
            problems.push(format!("/tasks/{id}: no {key}"));
        }
    }
    if !["active", "complete", "failure"].contains(&task["status"].as_str().unwrap_or_default()) {
        problems.push(format!("/tasks/{id}: status {}", task["status"]));
    }
    for h in task["history"].as_array().into_iter().flatten() {
        if h["name"].as_str().is_none()
            || h["timestamp"].as_str().is_none()
            || !h["event"].is_object()
        {
            problems.push(format!("/tasks/{id}: history entry {h}"));
        }
    }
    problems
}

/// How many things of each kind were checked, so a vacuous pass (nothing found to check)
/// fails instead.
#[derive(Default)]
struct Coverage {
    jobs: usize,
    trimmed_views: usize,
    tasks: usize,
    vms: usize,
    images: usize,
    hosts: usize,
    svcs_zones: usize,
    evidence: usize,
    job_names: std::collections::BTreeSet<String>,
}

fn check_scenario(dc: &Dc, cov: &mut Coverage) -> Vec<String> {
    let mut problems = check_paths(dc);
    cov.evidence += dc.g.expected["provisions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["evidence"].as_array().map_or(0, Vec::len))
        .sum::<usize>();
    problems.extend(check_evidence(dc));
    let jobs = dc.g.state["api"]["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for job in &jobs {
        let uuid = job["uuid"].as_str().unwrap_or_default();
        let (status, full) = dc.api("sdc-workflow", &format!("/jobs/{uuid}"));
        if status != 200 {
            problems.push(format!("/jobs/{uuid} answered {status}"));
            continue;
        }
        cov.jobs += 1;
        cov.job_names
            .insert(full["name"].as_str().unwrap_or_default().to_string());
        problems.extend(check_job(&full));
    }
    let mut vms_with_jobs: Vec<String> = jobs
        .iter()
        .filter_map(|j| j["params"]["vm_uuid"].as_str().map(str::to_string))
        .collect();
    vms_with_jobs.sort();
    vms_with_jobs.dedup();
    for vm in &vms_with_jobs {
        cov.trimmed_views += 1;
        problems.extend(check_trimmed_jobs(dc, vm));
    }
    let tasks: Vec<String> = dc.g.state["api"]["tasks"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    for id in tasks.iter().take(12) {
        cov.tasks += 1;
        problems.extend(check_task(dc, id));
    }
    for host in dc.hosts() {
        let uuid = host["server_uuid"].as_str().unwrap_or_default().to_string();
        if host["reachable"] == Value::Bool(false) {
            continue;
        }
        for vm in host["vms"].as_array().into_iter().flatten().take(6) {
            cov.vms += 1;
            problems.extend(check_vmadm_get(dc, &uuid, vm));
        }
        for image in host["images"].as_array().into_iter().flatten() {
            if let Some(id) = image["manifest"]["uuid"].as_str() {
                cov.images += 1;
                problems.extend(check_imgadm_get(dc, &uuid, id));
            }
        }
        cov.hosts += 1;
        problems.extend(check_zfs_list(dc, &uuid));
        problems.extend(check_zpool_history(dc, &uuid));
        for zone in host["services"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            cov.svcs_zones += 1;
            problems.extend(check_svcs(dc, &uuid, &zone));
        }
    }
    problems
}

#[test]
fn every_scenario_matches_the_reference() {
    let fake = fake_binary();
    let mut problems = Vec::new();
    let mut cov = Coverage::default();
    for (name, _) in triton_sim::list() {
        let dc = Dc::new(name, &fake);
        problems.extend(
            check_scenario(&dc, &mut cov)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    for (what, n) in [
        ("jobs", cov.jobs),
        ("trimmed job views", cov.trimmed_views),
        ("CNAPI tasks", cov.tasks),
        ("vmadm get", cov.vms),
        ("imgadm get", cov.images),
        ("hosts", cov.hosts),
        ("svcs -xv zones", cov.svcs_zones),
        ("evidence items", cov.evidence),
    ] {
        assert!(n > 0, "nothing of kind {what} was checked");
    }
    for name in [
        "provision-7.0.24",
        "provision-8.2.4",
        "destroy-7.0.1",
        "start-7.0.8",
        "stop-7.0.1",
    ] {
        assert!(
            cov.job_names.contains(name),
            "no {name} job in any scenario: {:?}",
            cov.job_names
        );
    }
    assert!(
        problems.is_empty(),
        "{} fidelity problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// The checks above must be able to fail: feed them what real Triton never prints.

#[test]
fn path_table_rejects_invented_paths() {
    let ok = |p: &str| CN_PATHS.iter().any(|(pattern, _)| matches(pattern, p));
    assert!(ok(
        "var/log/cn-agent/logs/1715417875495-30871-machine_create.log"
    ));
    assert!(ok("var/log/vm/logs/1715417875495-063784-vmadm.log"));
    assert!(ok(
        "var/log/sdc/upload/qemu_c6995242-5861-4484-9cce-db939c358d57@44454c4c-ed9f-10c4-808a-da328cf20315_2024-05-11T09:00:00.log"
    ));
    assert!(
        !ok("var/log/vm/logs/1715417875495-63784-vmadm.log"),
        "pid must be zero-padded"
    );
    assert!(!ok("var/log/cn-agent/machine_create.log"));
    assert!(!ok("var/log/sdc/upload/qemu_x@y_2024-05-11T09:17:00.log"));
    assert!(!ok(
        "zones/archive/c6995242-5861-4484-9cce-db939c358d57/../etc/shadow"
    ));
}

#[test]
fn chain_check_rejects_a_reordered_chain() {
    let job = serde_json::json!({
        "uuid": "x", "name": "destroy-7.0.1", "execution": "succeeded",
        "chain": [{"name": "common.validate_params"}, {"name": "cnapi.destroy_vm"}],
        "onerror": [{"name": "On error"}], "chain_results": [],
    });
    let problems = check_job(&job);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("not the reference chain")),
        "{problems:?}"
    );
}

#[test]
fn result_check_rejects_invented_results() {
    let results = serde_json::json!([
        {"name": "cnapi.destroy_vm", "result": "Destroy queued!", "error": ""},
        {"name": "cnapi.release_vm_ticket", "result": "OK", "error": ""},
    ]);
    let problems = result_problems("destroy-7.0.1", &results);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("Destroy queued!"));
}

#[test]
fn format_parsers_reject_wrong_output() {
    assert!(
        parse_http("{\"a\":1}").is_err(),
        "a bare body has no HTTP framing"
    );
    assert!(parse_http("HTTP/1.1 200 OK\nContent-Type: application/json\n\n{}").is_ok());
    assert!(parse_http("HTTP/1.1 200 OK\nbad header\n\n{}").is_err());
    assert!(is_history_record(
        "2014-03-25.23:55:39 zfs receive zones/x-partial"
    ));
    assert!(!is_history_record(
        "2014-03-25 23:55:39 zfs receive zones/x-partial"
    ));
}
