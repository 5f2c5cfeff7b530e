//! The VM was destroyed while its provision was still waiting on it (guide, "Failure polling after
//! provision sent (instance was destroyed)").

use super::{commands, failure_evidence, finding, Confidence, Evidence, Outcome, Rule};
use crate::facts::{Facts, Provision};
use crate::parsers::time::parse_iso;

pub const RULE: Rule = Rule {
    key: "destroyed-during-provision",
    title: "the VM was destroyed during its provision",
    inputs: &["job (failed task)", "jobs of the VM (sdc-vmapi /vms/<uuid>/jobs)", "vmapi log"],
    looks_for: "A `destroy-*` job for the same VM created after the provision started and before its failed \
        task finished; or vmapi log records for the VM saying \"No such zone configured\" / \"VM <uuid> not \
        found\" during the provision.",
    generic: false,
    run,
};

fn run(facts: &Facts, p: &Provision) -> Outcome {
    let Some(vm) = p.vm_uuid.as_deref() else {
        return Outcome::Skipped("no vm uuid known".into());
    };
    if p.job.is_none() {
        return Outcome::NotApplicable("no provision job: nothing to destroy yet".into());
    }
    let (start, end) = p.window();
    let end = p
        .failure
        .as_ref()
        .and_then(|f| f.finished_at.clone())
        .or(end);
    let in_window = |t: Option<&str>| {
        let Some(t) = t.and_then(parse_iso) else {
            return false;
        };
        start.as_deref().and_then(parse_iso).is_none_or(|s| t >= s)
            && end.as_deref().and_then(parse_iso).is_none_or(|e| t <= e)
    };
    let destroys: Vec<_> = p
        .other_jobs
        .iter()
        .filter(|j| j.name.starts_with("destroy") && in_window(j.created_at.as_deref()))
        .collect();
    let gone: Vec<_> = facts
        .records_for(p)
        .filter(|r| {
            let t = r.record.text();
            t.contains("No such zone configured")
                && t.contains(vm)
                && in_window(r.record.time.as_deref())
        })
        .take(3)
        .collect();
    if destroys.is_empty() && gone.is_empty() {
        let looked = if p.other_jobs.is_empty() {
            " (no other jobs of this VM in the input)"
        } else {
            ""
        };
        return Outcome::NotApplicable(format!(
            "no destroy job or \"No such zone\" record during the provision{looked}"
        ));
    }
    let confidence = if destroys.is_empty() {
        Confidence::Likely
    } else {
        Confidence::Confirmed
    };
    let summary = match destroys.first() {
        Some(d) => format!(
            "The VM was destroyed while the provision was still running: {} ({}) was created at {}, before {} finished.",
            d.name,
            d.uuid,
            d.created_at.as_deref().unwrap_or("?"),
            p.failed_task().unwrap_or("the failed task")
        ),
        None => "The CN no longer knew the VM while the provision was waiting for it (\"No such zone configured\"): it was most likely destroyed.".into(),
    };
    let mut f = finding(RULE.key, confidence, p, summary);
    f.evidence.extend(failure_evidence(p));
    for d in destroys {
        f.evidence.push(Evidence::at(
            &d.place,
            None,
            format!(
                "{} {} {} {}",
                d.name,
                d.uuid,
                d.created_at.as_deref().unwrap_or("?"),
                d.execution
            ),
            "destroy job of the same VM",
        ));
    }
    for r in gone {
        f.evidence
            .push(Evidence::from_record(r, "the VM is gone on the CN"));
    }
    f.next_steps.push(format!(
        "sdc-vmapi /vms/{vm}/jobs | json -Ha name uuid created_at"
    ));
    f.next_steps.push(commands::grep_log(
        "vmapi",
        "smartdc-site-vmapi:default.log",
        vm,
    ));
    Outcome::Fired(Box::new(f))
}

/// Why we believe the VM no longer exists on its CN, if we do: a finished destroy job of the
/// VM, a VM object in state `destroyed`, files of its `/zones/archive/<uuid>/` (VM.js archives a
/// zone only when it is deleted), or the pool history destroying its dataset. Next steps point
/// at the archive only then; otherwise the live zone is where to look.
pub fn vm_destroyed(facts: &Facts, p: &Provision) -> Option<String> {
    let vm = p.vm_uuid.as_deref()?;
    if let Some(job) = p
        .other_jobs
        .iter()
        .find(|j| j.name.starts_with("destroy") && j.execution == "succeeded")
    {
        return Some(format!("{} {} succeeded", job.name, job.uuid));
    }
    if p.vm_objects
        .iter()
        .any(|v| v.value.state.as_deref() == Some("destroyed"))
    {
        return Some("the VM object is in state destroyed".into());
    }
    let archive = format!("/zones/archive/{vm}/");
    if facts.coverage.entries.iter().any(|e| {
        e.place
            .host_path
            .as_deref()
            .is_some_and(|h| h.starts_with(&archive))
    }) {
        return Some(format!("the input holds files of {archive}"));
    }
    let dataset = format!("zones/{vm}");
    facts
        .nodes_for(p.server_uuid.as_deref())
        .flat_map(|n| n.zpool.iter())
        .flat_map(|h| h.value.records.iter())
        .find(|r| {
            r.command.starts_with("zfs destroy")
                && r.command.split_whitespace().any(|w| w == dataset)
        })
        .map(|r| format!("zpool history: {}", r.command))
}
