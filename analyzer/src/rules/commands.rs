//! Read-only next-step commands from the guide, with uuids filled in.

use crate::facts::Provision;

fn or_placeholder(value: Option<&str>, placeholder: &str) -> String {
    value
        .map(str::to_string)
        .unwrap_or_else(|| placeholder.to_string())
}

pub fn vm(p: &Provision) -> String {
    or_placeholder(p.vm_uuid.as_deref(), "<vm_uuid>")
}

pub fn server(p: &Provision) -> String {
    or_placeholder(p.server_uuid.as_deref(), "<server_uuid>")
}

/// `sdc-vmapi /vms/<vm>/jobs | json -Ha uuid name created_at execution` (guide, "Where to start").
pub fn vm_jobs(p: &Provision) -> String {
    format!(
        "sdc-vmapi /vms/{}/jobs | json -Ha uuid name created_at execution",
        vm(p)
    )
}

/// `sdc-workflow /jobs/<job> | json -H chain_results` (guide, "How to read workflow jobs").
pub fn job_chain(p: &Provision) -> Option<String> {
    p.job.as_ref().map(|j| {
        format!(
            "sdc-workflow /jobs/{} | json -H chain_results",
            j.value.uuid
        )
    })
}

/// Runs a command on the provision's CN from the headnode.
pub fn on_cn(p: &Provision, command: &str) -> String {
    format!("sdc-oneachnode -n {} '{}'", server(p), command)
}

pub fn imgadm_get(p: &Provision, image: &str) -> String {
    on_cn(p, &format!("imgadm get {image}"))
}

pub fn zfs_list(p: &Provision, uuid: &str) -> String {
    on_cn(p, &format!("zfs list -t all | grep {uuid}"))
}

pub fn zpool_history(p: &Provision, uuid: &str) -> String {
    on_cn(p, &format!("zpool history | grep {uuid}"))
}

/// A core zone's service log as seen from the headnode global zone.
pub fn core_log(role: &str, service_log: &str) -> String {
    format!("/zones/$(vmadm lookup -1 tags.smartdc_role={role} state=running)/root/var/svc/log/{service_log}")
}

/// `bunyan -l error` over a core zone's service log (guide, "Where to find logs").
pub fn bunyan_errors(role: &str, service_log: &str) -> String {
    format!("bunyan -l error {}", core_log(role, service_log))
}

/// Grep a core zone's live log and its hourly rotations (`/var/log/sdc/upload/<name>_*.log`)
/// for an id.
pub fn grep_log(role: &str, service_log: &str, needle: &str) -> String {
    let zone = format!("/zones/$(vmadm lookup -1 tags.smartdc_role={role} state=running)/root");
    format!("grep {needle} {zone}/var/svc/log/{service_log} {zone}/var/log/sdc/upload/{role}_*.log")
}

/// The collector command that would gather what is missing.
pub fn collect(p: &Provision) -> String {
    match (&p.vm_uuid, p.job_uuid()) {
        (_, Some(job)) => format!("triton-collect --job {job}"),
        (Some(vm), None) => format!("triton-collect --vm {vm}"),
        (None, None) => "triton-collect --last 2h".to_string(),
    }
}
