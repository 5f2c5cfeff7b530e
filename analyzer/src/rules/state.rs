//! VMAPI could not talk to CNAPI while waiting for the VM's state (guide: vmapi.check_state with
//! "Error talking to CNAPI"; CNAPI being restarted).

use super::{commands, failure_evidence, finding, Confidence, Evidence, Outcome, Rule};
use crate::facts::coverage::Need;
use crate::facts::Provision;

const STATE_TASKS: [&str; 2] = ["vmapi.check_state", "vmapi.put_vm"];

fn cnapi_task_failed(p: &Provision) -> bool {
    let task = p.failed_task().unwrap_or("");
    STATE_TASKS.contains(&task) || task.starts_with("cnapi.")
}

pub const CNAPI_UNREACHABLE: Rule = Rule {
    key: "cnapi-unreachable",
    title: "VMAPI could not reach CNAPI",
    inputs: &["job (failed task, error)", "vmapi log", "cnapi log"],
    looks_for: "A provision failing in vmapi.check_state/vmapi.put_vm (or a cnapi.* task) while the vmapi log \
        has \"Error talking to CNAPI\" for the VM, or the error itself is a connection failure to CNAPI \
        (ECONNREFUSED); and no destroy of the VM.",
    generic: false,
    run: |facts, p| {
        if !cnapi_task_failed(p) {
            return Outcome::NotApplicable("the failed task does not talk to CNAPI".into());
        }
        let text = p.error_text();
        let conn_error = text.contains("ECONNREFUSED") || text.contains("connect ETIMEDOUT") || text.contains("socket hang up");
        let talking: Vec<_> = facts
            .records_for(p)
            .filter(|r| {
                let t = r.record.text();
                t.contains("Error talking to CNAPI") && !t.contains("No such zone configured")
            })
            .take(3)
            .collect();
        let restarts: Vec<_> = facts
            .records
            .iter()
            .filter(|r| r.service.contains("cnapi") && r.record.text().contains("Executing start method"))
            .filter(|r| {
                let (start, end) = p.window();
                let t = r.record.time.as_deref().and_then(crate::parsers::time::parse_iso);
                t.is_some()
                    && start.as_deref().and_then(crate::parsers::time::parse_iso).is_none_or(|s| t >= Some(s))
                    && end.as_deref().and_then(crate::parsers::time::parse_iso).is_none_or(|e| t <= Some(e))
            })
            .take(2)
            .collect();
        if talking.is_empty() && !conn_error {
            let seen = facts.coverage.seen(&Need { sources: &["vmapi.log"], about: None, host: None, kinds: &["bunyan-log"] });
            if !seen.absence_counts() && STATE_TASKS.contains(&p.failed_task().unwrap_or("")) {
                return Outcome::Skipped(format!("vmapi log not available ({})", super::create::describe(&seen)));
            }
            return Outcome::NotApplicable("no \"Error talking to CNAPI\" record for this VM and no connection error".into());
        }
        let mut f = finding(
            CNAPI_UNREACHABLE.key,
            Confidence::Confirmed,
            p,
            format!(
                "VMAPI could not talk to CNAPI while {} was waiting for the VM{}.",
                p.failed_task().unwrap_or("the job"),
                if restarts.is_empty() { "" } else { " (CNAPI was restarting)" }
            ),
        );
        f.evidence.extend(failure_evidence(p));
        for r in talking.iter().chain(restarts.iter()) {
            f.evidence.push(Evidence::from_record(r, format!("{} log", r.service)));
        }
        f.next_steps.push(commands::bunyan_errors("vmapi", "smartdc-site-vmapi:default.log"));
        f.next_steps.push(commands::grep_log("cnapi", "smartdc-site-cnapi:default.log", "'Executing start method'"));
        f.next_steps.push(commands::vm_jobs(p));
        Outcome::Fired(Box::new(f))
    },
};
