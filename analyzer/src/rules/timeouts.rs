//! Generic timeouts: a task hit its own timeout (`task timeout error`), or the whole job hit the
//! workflow timeout (an extra chain_results entry with error `workflow timeout` and no name).

use super::{
    add_evidence, commands, failure_evidence, finding, related_errors, Confidence, Outcome, Rule,
};

pub const TASK: Rule = Rule {
    key: "task-timeout",
    title: "a workflow task hit its timeout",
    inputs: &["job (failed task, error)"],
    looks_for:
        "The failed task's error is `task timeout error` and no more specific rule explains why.",
    generic: true,
    run: |facts, p| {
        if p.error_text().trim() != "task timeout error" {
            return Outcome::NotApplicable(
                "the failed task's error is not `task timeout error`".into(),
            );
        }
        let f_ref = p.failure.as_ref();
        let share = f_ref
            .and_then(|f| Some(f.duration_s? / f.timeout_s?))
            .map(|s| format!(" after {:.0}% of its timeout", s * 100.0))
            .unwrap_or_default();
        let mut f = finding(
            TASK.key,
            Confidence::Confirmed,
            p,
            format!(
                "{} hit its task timeout{share}.",
                p.failed_task().unwrap_or("a task")
            ),
        );
        f.evidence.extend(failure_evidence(p));
        add_evidence(&mut f, related_errors(facts, p, 4));
        f.next_steps.extend(commands::job_chain(p));
        f.next_steps.push(commands::vm_jobs(p));
        Outcome::Fired(Box::new(f))
    },
};

pub const WORKFLOW: Rule = Rule {
    key: "workflow-timeout",
    title: "the whole job hit the workflow timeout",
    inputs: &["job (chain_results)"],
    looks_for:
        "A chain_results entry with error `workflow timeout` and no task name (the job ran longer \
        than its `timeout`, 3810 s for provisions).",
    generic: true,
    run: |_facts, p| {
        let Some(job) = &p.job else {
            return Outcome::NotApplicable("no job".into());
        };
        if !job.value.workflow_timed_out() {
            return Outcome::NotApplicable("no `workflow timeout` entry".into());
        }
        let running = job
            .value
            .chain_results
            .iter()
            .rev()
            .find(|r| r.name.is_some())
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| "?".into());
        let mut f = finding(
            WORKFLOW.key,
            Confidence::Confirmed,
            p,
            format!(
                "The job exceeded its workflow timeout ({} s); the last task recorded was {running}.",
                job.value.timeout.map(|t| format!("{t:.0}")).unwrap_or_else(|| "?".into())
            ),
        );
        f.evidence.extend(failure_evidence(p));
        f.next_steps.extend(commands::job_chain(p));
        Outcome::Fired(Box::new(f))
    },
};
