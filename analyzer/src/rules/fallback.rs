//! The two keys that fire when nothing else does: `unknown` for a failure without a known
//! signature (show the last error and what is missing) and `succeeded`.

use super::{commands, failure_evidence, finding, Confidence, Finding, Outcome, Rule};
use crate::facts::coverage::Need;
use crate::facts::{Facts, JobResult, Provision};

pub const UNKNOWN: Rule = Rule {
    key: "unknown",
    title: "failed, no known signature",
    inputs: &["anything"],
    looks_for:
        "A failed provision no other rule explains; the report shows its last error and what the \
        input lacks.",
    generic: true,
    run: |facts, p| Outcome::Fired(Box::new(unknown_finding(facts, p))),
};

pub const SUCCEEDED: Rule = Rule {
    key: "succeeded",
    title: "the provision succeeded",
    inputs: &["job (execution)"],
    looks_for: "A provision job with execution `succeeded`.",
    generic: true,
    run: |_facts, p| {
        if p.outcome != JobResult::Succeeded {
            return Outcome::NotApplicable(format!("the job's execution is {}", p.outcome.label()));
        }
        let f = finding(
            SUCCEEDED.key,
            Confidence::Confirmed,
            p,
            "The provision succeeded.".into(),
        );
        Outcome::Fired(Box::new(f))
    },
};

pub fn unknown_finding(facts: &Facts, p: &Provision) -> Finding {
    let summary = match (&p.failure, p.outcome) {
        (Some(fail), _) => format!(
            "The provision failed in {} with an error no rule recognizes: {}",
            fail.task.as_deref().unwrap_or("the request"),
            fail.error.lines().next().unwrap_or("")
        ),
        (None, JobResult::Running) => {
            "The provision job is still running (or was when collected).".into()
        }
        (None, _) => {
            "The provision did not succeed, and the input does not say where it stopped.".into()
        }
    };
    let mut f = finding("unknown", Confidence::Unknown, p, summary);
    f.evidence.extend(failure_evidence(p));
    super::add_evidence(&mut f, super::related_errors(facts, p, 3));
    super::add_evidence(&mut f, super::command_errors_about(facts, p, 3));
    if p.job.is_none() && p.refused.is_none() {
        f.missing.push(
            "the provision job (sdc-vmapi /vms/<uuid>/jobs, sdc-workflow /jobs/<uuid>)".into(),
        );
    }
    let vm = p.vm_uuid.clone().unwrap_or_default();
    for (what, sources, kinds) in [
        ("vmapi log", &["vmapi.log"][..], &["bunyan-log"][..]),
        (
            "cn-agent task logs",
            &["cn-agent.tasks"][..],
            &["bunyan-log"][..],
        ),
    ] {
        let seen = facts.coverage.seen(&Need {
            sources,
            about: None,
            host: None,
            kinds,
        });
        if !seen.absence_counts() {
            f.missing
                .push(format!("{what} ({})", super::create::describe(&seen)));
        }
    }
    if !vm.is_empty() {
        f.next_steps.push(commands::vm_jobs(p));
    }
    f.next_steps.extend(commands::job_chain(p));
    f.next_steps.push(commands::bunyan_errors(
        "vmapi",
        "smartdc-site-vmapi:default.log",
    ));
    f
}
