//! Rules: one small function per diagnosis key. Each declares the inputs it reads and returns a
//! [`Outcome`]: a finding, "does not apply" (with why), or "skipped" (an input is missing).
//! The engine runs every rule on every provision, picks one primary diagnosis by [`PRIORITY`],
//! and drops generic findings when a specific one explains the failure.

mod allocation;
mod commands;
mod create;
mod destroyed;
mod evidence;
mod fallback;
mod image;
mod image_trail;
mod params;
mod state;
mod timeouts;

use serde::Serialize;

use crate::facts::{Facts, JobResult, Provision};

pub use evidence::Evidence;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The decisive evidence is in the input.
    Confirmed,
    /// Rests on a pattern alone (e.g. the KVM timeout with no vm.log collected).
    Likely,
    /// Not enough to say.
    Unknown,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Likely => "likely",
            Confidence::Unknown => "unknown",
        }
    }
}

/// A diagnosis for one provision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub key: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Provision id (job uuid or `req:<request id>`).
    pub provision: String,
    pub vm_uuid: Option<String>,
    pub job_uuid: Option<String>,
    pub server_uuid: Option<String>,
    /// One or two sentences: what happened.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Exact read-only commands.
    pub next_steps: Vec<String>,
    /// What would have made this certain, and is not in the input.
    pub missing: Vec<String>,
}

/// What a rule concluded for one provision.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Fired(Box<Finding>),
    /// The rule's signature is not there; the reason is shown by `--explain`.
    NotApplicable(String),
    /// An input the rule needs is missing.
    Skipped(String),
}

/// A rule and its documentation.
pub struct Rule {
    pub key: &'static str,
    pub title: &'static str,
    /// Inputs it reads.
    pub inputs: &'static [&'static str],
    /// What it looks for (shown by `--explain`).
    pub looks_for: &'static str,
    /// Generic rules are dropped when a specific rule explains the same provision.
    pub generic: bool,
    pub run: fn(&Facts, &Provision) -> Outcome,
}

/// Primary-diagnosis order: the first key that fired wins.
pub const PRIORITY: &[&str] = &[
    "destroyed-during-provision",
    "kvm-qemu-out-of-memory",
    "zone-setup-failed",
    "image-import-partial-leftover",
    "image-import-race",
    "image-import-transient",
    "image-import-failed",
    "no-allocatable-servers",
    "network-exhausted",
    "invalid-parameters",
    "cnapi-unreachable",
    "vmadm-create-failed",
    "workflow-timeout",
    "task-timeout",
    "unknown",
    "succeeded",
];

/// Every rule, in [`PRIORITY`] order.
pub fn all() -> Vec<Rule> {
    let mut rules = vec![
        destroyed::RULE,
        create::KVM_OOM,
        create::ZONE_SETUP,
        image::PARTIAL_LEFTOVER,
        image::RACE,
        image::TRANSIENT,
        image::FAILED,
        allocation::NO_SERVERS,
        allocation::NETWORK,
        params::RULE,
        state::CNAPI_UNREACHABLE,
        create::VMADM_FAILED,
        timeouts::WORKFLOW,
        timeouts::TASK,
        fallback::UNKNOWN,
        fallback::SUCCEEDED,
    ];
    rules.sort_by_key(|r| {
        PRIORITY
            .iter()
            .position(|k| *k == r.key)
            .unwrap_or(usize::MAX)
    });
    rules
}

pub fn find(key: &str) -> Option<Rule> {
    all().into_iter().find(|r| r.key == key)
}

/// A rule that did not run for a provision, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRule {
    pub rule: &'static str,
    pub provision: String,
    pub reason: String,
}

/// Everything the rules said about one provision.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub primary: Finding,
    pub secondary: Vec<Finding>,
    pub skipped: Vec<SkippedRule>,
    /// Per rule: fired / not applicable (why) / skipped (why), for `--explain`.
    pub trace: Vec<(&'static str, String)>,
}

/// Runs every rule on one provision.
pub fn evaluate(facts: &Facts, p: &Provision) -> Verdict {
    let mut fired: Vec<(bool, Finding)> = Vec::new();
    let mut skipped = Vec::new();
    let mut trace = Vec::new();
    for rule in all() {
        if rule.key == "unknown" || rule.key == "succeeded" {
            continue;
        }
        match (rule.run)(facts, p) {
            Outcome::Fired(f) => {
                trace.push((rule.key, format!("fired ({})", f.confidence.label())));
                fired.push((rule.generic, *f));
            }
            Outcome::NotApplicable(why) => trace.push((rule.key, format!("did not fire: {why}"))),
            Outcome::Skipped(why) => {
                trace.push((rule.key, format!("skipped: {why}")));
                skipped.push(SkippedRule {
                    rule: rule.key,
                    provision: p.id.clone(),
                    reason: why,
                });
            }
        }
    }
    let has_specific = fired.iter().any(|(generic, _)| !generic);
    let mut findings: Vec<Finding> = fired
        .into_iter()
        .filter(|(generic, f)| !has_specific || !generic || f.key == "workflow-timeout")
        .map(|(_, f)| f)
        .collect();
    if findings.is_empty() {
        let fallback = if p.outcome == JobResult::Succeeded {
            fallback::SUCCEEDED
        } else {
            fallback::UNKNOWN
        };
        if let Outcome::Fired(f) = (fallback.run)(facts, p) {
            trace.push((
                fallback.key,
                "fired (no other rule explains this provision)".to_string(),
            ));
            findings.push(*f);
        }
    }
    findings.sort_by_key(|f| (PRIORITY.iter().position(|k| *k == f.key), f.confidence));
    let mut iter = findings.into_iter();
    let mut primary = iter
        .next()
        .unwrap_or_else(|| fallback::unknown_finding(facts, p));
    let mut secondary: Vec<Finding> = iter.collect();
    if p.job_missing() {
        without_job(p, &mut primary, &mut secondary);
    }
    Verdict {
        primary,
        secondary,
        skipped,
        trace,
    }
}

/// A provision whose job is not in the input: no finding is more than `likely` (the job is
/// what confirms which task failed and with what), and the report names the job as missing.
fn without_job(p: &Provision, primary: &mut Finding, secondary: &mut [Finding]) {
    for f in std::iter::once(&mut *primary).chain(secondary.iter_mut()) {
        if f.confidence == Confidence::Confirmed {
            f.confidence = Confidence::Likely;
        }
    }
    let what = match &p.logged_job {
        Some(job) => format!(
            "the workflow job {} ({}) itself: not in the input; found in the logs ({}), so its failed task and error are read from logs",
            job.uuid, job.name, job.linked_by
        ),
        None => "the provision's workflow job: not in the input and not found in the logs".to_string(),
    };
    if !primary.missing.iter().any(|m| m.contains("workflow job")) {
        primary.missing.push(what);
    }
}

/// A finding skeleton for a provision.
pub(crate) fn finding(
    key: &'static str,
    confidence: Confidence,
    p: &Provision,
    summary: String,
) -> Finding {
    Finding {
        key,
        severity: if key == "succeeded" {
            Severity::Info
        } else {
            Severity::Fail
        },
        confidence,
        provision: p.id.clone(),
        vm_uuid: p.vm_uuid.clone(),
        job_uuid: p.job_uuid().map(str::to_string),
        server_uuid: p.server_uuid.clone(),
        summary,
        evidence: Vec::new(),
        next_steps: Vec::new(),
        missing: Vec::new(),
    }
}

/// The failed task's error as evidence.
pub(crate) fn failure_evidence(p: &Provision) -> Option<Evidence> {
    let f = p.failure.as_ref()?;
    let what = match &f.task {
        Some(task) => format!("job {} task {task} failed", p.id),
        None if p.job.is_some() => format!("job {} timed out (workflow timeout)", p.id),
        None => "POST /vms refused".to_string(),
    };
    Some(Evidence {
        place: f.place.clone(),
        line: f.line,
        line_in_bundle: None,
        original_offset_start: None,
        time: f.finished_at.clone(),
        excerpt: f.error.clone(),
        note: what,
    })
}

/// The collector command that would gather what a provision's report lacks.
pub fn commands_collect(p: &Provision) -> String {
    commands::collect(p)
}

/// Whether a record time lies in the provision's window (with a minute of slack each side, for
/// clocks that disagree a little).
fn in_provision_window(p: &Provision, time: Option<&str>) -> bool {
    use crate::parsers::time::parse_iso;
    let Some(t) = time.and_then(parse_iso) else {
        return false;
    };
    let (start, end) = p.window();
    let slack = 60_000;
    start
        .as_deref()
        .and_then(parse_iso)
        .is_none_or(|s| t.as_millisecond() >= s.as_millisecond() - slack)
        && end
            .as_deref()
            .and_then(parse_iso)
            .is_none_or(|e| t.as_millisecond() <= e.as_millisecond() + slack)
}

/// Error-level records about the provision (its vm, job or request id) during its window,
/// one per distinct message.
pub(crate) fn related_errors(facts: &Facts, p: &Provision, limit: usize) -> Vec<Evidence> {
    let mut seen = std::collections::BTreeSet::new();
    facts
        .records_for(p)
        .filter(|r| r.record.level >= 50 && in_provision_window(p, r.record.time.as_deref()))
        .filter(|r| seen.insert((r.service.clone(), r.record.msg.clone())))
        .take(limit)
        .map(|r| Evidence::from_record(r, format!("{} error about this provision", r.service)))
        .collect()
}

/// Records of any level containing `needle` during the provision's window.
pub(crate) fn records_with(
    facts: &Facts,
    p: &Provision,
    needle: &str,
    limit: usize,
) -> Vec<Evidence> {
    if needle.trim().is_empty() {
        return Vec::new();
    }
    let mut seen = std::collections::BTreeSet::new();
    facts
        .records
        .iter()
        .filter(|r| {
            in_provision_window(p, r.record.time.as_deref())
                && (r.record.raw.contains(needle) || r.record.text().contains(needle))
        })
        .filter(|r| seen.insert((r.service.clone(), r.record.msg.clone())))
        .take(limit)
        .map(|r| {
            Evidence::from_record(
                r,
                format!("{} log", crate::facts::timeline::source_label(&r.service)),
            )
        })
        .collect()
}

/// Appends evidence, skipping what is already there (same place and line).
pub(crate) fn add_evidence(f: &mut Finding, more: Vec<Evidence>) {
    for e in more {
        if !f
            .evidence
            .iter()
            .any(|x| x.place == e.place && x.line == e.line)
        {
            f.evidence.push(e);
        }
    }
}

/// Log records carrying the failed task's error text: where the failure was raised (cn-agent or
/// provisioner task logs, vmadm logs). Generic errors (`task timeout error`) are not searched.
pub(crate) fn error_origin(facts: &Facts, p: &Provision, limit: usize) -> Vec<Evidence> {
    let first = p.error_text().lines().next().unwrap_or("").trim();
    if first.len() < 20 || first == "task timeout error" || first == "workflow timeout" {
        return Vec::new();
    }
    // Cut before characters JSON would escape, so the needle matches the raw record too.
    let needle: String = first
        .chars()
        .take_while(|c| *c != '"' && *c != '\\')
        .take(100)
        .collect();
    // The compute node's own record (cn-agent, provisioner, vmadm) first, then the headnode's.
    let mut found = records_with(facts, p, &needle, limit.max(4));
    found.sort_by_key(|e| {
        !e.place
            .host_path
            .as_deref()
            .is_some_and(|h| h.starts_with("/var/"))
    });
    found.truncate(limit);
    found
        .into_iter()
        .map(|mut e| {
            e.note = format!("where the error was raised ({})", e.note);
            e
        })
        .collect()
}

/// Lines of command output (a failed `vmadm create` console, an API error answer) that name the
/// provision's VM.
pub(crate) fn command_errors_about(facts: &Facts, p: &Provision, limit: usize) -> Vec<Evidence> {
    let Some(vm) = p.vm_uuid.as_deref() else {
        return Vec::new();
    };
    facts
        .command_errors
        .iter()
        .filter(|c| c.value.contains(vm))
        .take(limit)
        .map(|c| {
            Evidence::at(
                &c.place,
                c.line,
                c.value.clone(),
                "command output about this VM",
            )
        })
        .collect()
}
