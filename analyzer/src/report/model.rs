//! The report as data: what both sinks (markdown, JSON) render. Built once from facts and the
//! rules' verdicts; everything is sorted so output does not depend on thread timing.

use std::collections::BTreeSet;

use serde::Serialize;

use super::fleet::FleetGroup;
use crate::facts::clock::ClockOffset;
use crate::facts::ladder::LadderRow;
use crate::facts::timeline::{JoinKeys, TimelineEntry};
use crate::facts::{Facts, InputSummary, Provision};
use crate::rules::{self, Confidence, Evidence, Finding, SkippedRule};

/// The primary diagnosis of a provision.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub key: &'static str,
    pub confidence: Confidence,
    pub summary: String,
}

/// A task's start and end, for the gantt chart.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSpan {
    pub name: String,
    pub started_at: String,
    pub finished_at: String,
    pub failed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvisionReport {
    pub id: String,
    pub vm_uuid: Option<String>,
    pub job_uuid: Option<String>,
    pub server_uuid: Option<String>,
    pub brand: Option<String>,
    pub workflow: Option<String>,
    pub era: &'static str,
    pub result: &'static str,
    pub created_at: Option<String>,
    pub request_id: Option<String>,
    pub furthest_step: Option<String>,
    pub failed_task: Option<String>,
    pub error: Option<String>,
    pub diagnosis: Diagnosis,
    /// Keys of the secondary findings.
    pub secondary: Vec<&'static str>,
    pub ladder: Vec<LadderRow>,
    pub tasks: Vec<TaskSpan>,
    /// The ids the timeline was joined on.
    pub joined_on: JoinKeys,
    /// The joined timeline around the failure, by time (see [`crate::facts::timeline`]).
    pub timeline: Vec<TimelineEntry>,
    /// Other jobs of the VM: `name uuid created_at execution`.
    pub other_jobs: Vec<String>,
    #[serde(skip)]
    pub trace: Vec<(&'static str, String)>,
}

/// Something the input lacks, and how to get it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    pub provision: String,
    pub what: String,
    pub collect: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub inputs: Vec<InputSummary>,
    /// Unreadable inputs and why.
    pub unreadable: Vec<(String, String)>,
    pub hosts: Vec<String>,
    /// Earliest and latest time seen in jobs and logs.
    pub window: Option<(String, String)>,
    /// Real gaps in the collection (failed, timed out, cut, unreachable, unreadable).
    pub coverage_warnings: Vec<String>,
    /// Sources that do not exist or do not apply on a host: not gaps.
    pub not_applicable: Vec<String>,
    /// What the collector says about how it collected (e.g. time slicing).
    pub collection_notes: Vec<String>,
    /// Estimated clock offset of each compute node against the headnode (see
    /// [`crate::facts::clock`]); timelines are ordered with them.
    pub clock_offsets: Vec<ClockOffset>,
    pub provisions: Vec<ProvisionReport>,
    /// Provisions grouped by diagnosis and error, largest group first.
    pub fleet: Vec<FleetGroup>,
    pub findings: Vec<Finding>,
    pub skipped_rules: Vec<SkippedRule>,
    pub missing: Vec<Missing>,
    /// Secret values quoted from the inputs and masked in this report (see `report::redaction`).
    pub redacted: u64,
}

fn provision_report(facts: &Facts, p: &Provision, v: &rules::Verdict) -> ProvisionReport {
    let job = p.job.as_ref().map(|j| &j.value);
    let timeline = facts.timeline(p);
    ProvisionReport {
        id: p.id.clone(),
        vm_uuid: p.vm_uuid.clone(),
        job_uuid: p.job_uuid().map(str::to_string),
        server_uuid: p.server_uuid.clone(),
        brand: p.brand.clone(),
        workflow: p.workflow.clone(),
        era: p.era.label(),
        result: p.outcome.label(),
        created_at: p.created_at.clone(),
        request_id: p.request_id.clone(),
        furthest_step: p.furthest_step().map(|r| {
            match r
                .tasks
                .iter()
                .find(|t| t.status == crate::facts::ladder::StepStatus::Failed)
            {
                Some(t) => format!("{} ({})", r.title, t.name),
                None => r.title.clone(),
            }
        }),
        failed_task: p.failed_task().map(str::to_string),
        error: p.failure.as_ref().map(|f| f.error.clone()),
        diagnosis: Diagnosis {
            key: v.primary.key,
            confidence: v.primary.confidence,
            summary: v.primary.summary.clone(),
        },
        secondary: v.secondary.iter().map(|f| f.key).collect(),
        ladder: p.ladder.clone(),
        tasks: job
            .map(|j| {
                j.chain_results
                    .iter()
                    .filter_map(|r| {
                        Some(TaskSpan {
                            name: r.name.clone()?,
                            started_at: r.started_at.clone()?,
                            finished_at: r.finished_at.clone()?,
                            failed: r.error.is_error(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        joined_on: timeline.keys,
        timeline: timeline.entries,
        other_jobs: p
            .other_jobs
            .iter()
            .map(|j| {
                format!(
                    "{} {} {} {}",
                    j.name,
                    j.uuid,
                    j.created_at.as_deref().unwrap_or("?"),
                    j.execution
                )
            })
            .collect(),
        trace: v.trace.clone(),
    }
}

/// Filters on the command line.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub vm: Option<String>,
    pub job: Option<String>,
}

impl Scope {
    fn admits(&self, p: &Provision) -> bool {
        self.vm
            .as_deref()
            .is_none_or(|vm| p.vm_uuid.as_deref() == Some(vm))
            && self
                .job
                .as_deref()
                .is_none_or(|job| p.job.as_ref().is_some_and(|j| j.value.uuid == job))
    }
}

/// Runs the rules over the facts and assembles the report.
pub fn build(facts: &Facts, unreadable: Vec<(String, String)>, scope: &Scope) -> Report {
    let mut provisions = Vec::new();
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    let mut missing = BTreeSet::new();
    for p in facts.provisions.iter().filter(|p| scope.admits(p)) {
        let verdict = rules::evaluate(facts, p);
        provisions.push(provision_report(facts, p, &verdict));
        for f in std::iter::once(&verdict.primary).chain(verdict.secondary.iter()) {
            for what in &f.missing {
                missing.insert(Missing {
                    provision: p.id.clone(),
                    what: what.clone(),
                    collect: rules::commands_collect(p),
                });
            }
        }
        findings.push(verdict.primary);
        findings.extend(verdict.secondary);
        skipped.extend(verdict.skipped);
    }
    // Lines are cited as a reader of the host's files finds them (cut logs mapped back).
    for f in findings.iter_mut() {
        f.evidence.iter_mut().for_each(Evidence::cite_original_line);
    }
    let mut hosts: BTreeSet<String> = facts.nodes.keys().flatten().cloned().collect();
    for p in &facts.provisions {
        hosts.extend(p.server_uuid.clone());
    }
    for (_, m) in &facts.coverage.manifests {
        hosts.extend(m.hosts.iter().map(|h| h.server_uuid.clone()));
    }
    let mut times: Vec<String> = facts
        .extents
        .iter()
        .flat_map(|e| [e.first_time.clone(), e.last_time.clone()])
        .flatten()
        .chain(facts.jobs.iter().filter_map(|j| j.value.created_at.clone()))
        .map(|t| crate::parsers::time::normalize(&t))
        .filter(|t| crate::parsers::time::parse_iso(t).is_some())
        .collect();
    times.sort();
    let window = times.first().cloned().zip(times.last().cloned());
    let collection = super::collection::classify(facts, &unreadable);
    let mut report = Report {
        tool: "triton-analyze",
        version: env!("CARGO_PKG_VERSION"),
        inputs: facts.inputs.clone(),
        unreadable,
        hosts: hosts.into_iter().collect(),
        window,
        coverage_warnings: collection.warnings,
        not_applicable: collection.not_applicable,
        collection_notes: collection.notes,
        clock_offsets: facts.clock_offsets.clone(),
        fleet: super::fleet::group(&provisions),
        provisions,
        findings,
        skipped_rules: skipped,
        missing: missing.into_iter().collect(),
        redacted: 0,
    };
    report.redacted = super::redaction::redact_report(&mut report);
    report
}
