//! Invalid provision parameters: `common.validate_params` failing, or VMAPI refusing `POST /vms`
//! with `ValidationFailed` / "Invalid Parameters".

use super::{commands, failure_evidence, finding, Confidence, Outcome, Rule};

pub const RULE: Rule = Rule {
    key: "invalid-parameters",
    title: "the provision request had invalid parameters",
    inputs: &["job (failed task, error) or vmapi log (POST /vms audit record)"],
    looks_for: "`common.validate_params` failing, or an error with code `ValidationFailed` / \
        `InvalidParameters` / message \"Invalid Parameters\" (e.g. `image_uuid`: \"Image must be active and \
        not disabled\", `billing_id`: package not found).",
    generic: false,
    run: |_facts, p| {
        let code = p.failure.as_ref().and_then(|f| f.code.clone()).unwrap_or_default();
        let text = p.error_text();
        let validate_failed = p.failed_task() == Some("common.validate_params");
        if !(validate_failed
            || code == "ValidationFailed"
            || code == "InvalidParameters"
            || text.contains("Invalid Parameters")
            || text.contains("ValidationFailed"))
        {
            return Outcome::NotApplicable("no validation error".into());
        }
        let mut f = finding(
            RULE.key,
            Confidence::Confirmed,
            p,
            format!("The provision request was refused as invalid: {}", text.lines().next().unwrap_or("")),
        );
        f.evidence.extend(failure_evidence(p));
        if let Some(id) = &p.request_id {
            f.next_steps.push(commands::grep_log("vmapi", "smartdc-site-vmapi:default.log", id));
        }
        f.next_steps.extend(commands::job_chain(p));
        Outcome::Fired(Box::new(f))
    },
};
