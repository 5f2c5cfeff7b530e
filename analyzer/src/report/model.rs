//! The report as data: what both sinks (markdown, JSON) render. Built once from facts and the
//! rules' verdicts; everything is sorted so output does not depend on thread timing.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::facts::ladder::LadderRow;
use crate::facts::{Facts, InputSummary, Provision};
use crate::input::place::Place;
use crate::rules::{self, Confidence, Evidence, Finding, SkippedRule};

/// The primary diagnosis of a provision.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub key: &'static str,
    pub confidence: Confidence,
    pub summary: String,
}

/// One line of the joined timeline around the failure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimelineEntry {
    pub time: String,
    pub source: String,
    pub level: String,
    pub text: String,
    pub place: Place,
    /// The original's line when known (see [`Place::cite`]), else the entry's.
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_in_bundle: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_offset_start: Option<u64>,
}

impl TimelineEntry {
    fn new(
        time: String,
        source: String,
        level: String,
        text: String,
        place: &Place,
        line: Option<u64>,
    ) -> TimelineEntry {
        let citation = place.cite(line);
        TimelineEntry {
            time,
            source,
            level,
            text,
            place: place.clone(),
            line: citation.line,
            line_in_bundle: citation.line_in_bundle,
            original_offset_start: citation.original_offset_start,
        }
    }
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
    pub provisions: Vec<ProvisionReport>,
    pub findings: Vec<Finding>,
    pub skipped_rules: Vec<SkippedRule>,
    pub missing: Vec<Missing>,
}

/// Longest timeline per provision.
const TIMELINE_MAX: usize = 40;

fn level_name(level: u8) -> &'static str {
    match level {
        0..=19 => "TRACE",
        20..=29 => "DEBUG",
        30..=39 => "INFO",
        40..=49 => "WARN",
        50..=59 => "ERROR",
        _ => "FATAL",
    }
}

fn timeline(facts: &Facts, p: &Provision) -> Vec<TimelineEntry> {
    let mut entries: BTreeSet<TimelineEntry> = BTreeSet::new();
    if let Some(job) = &p.job {
        for r in &job.value.chain_results {
            if let Some(t) = &r.finished_at {
                let what = match r.error.text() {
                    Some(e) => format!(
                        "{} failed: {}",
                        r.name.as_deref().unwrap_or("(workflow)"),
                        e.lines().next().unwrap_or("")
                    ),
                    None => format!("{} done: {}", r.name.as_deref().unwrap_or("?"), r.result),
                };
                entries.insert(TimelineEntry::new(
                    crate::parsers::time::normalize(t),
                    "job".into(),
                    if r.error.is_error() {
                        "ERROR".into()
                    } else {
                        "INFO".into()
                    },
                    crate::parsers::clip(&what, 300),
                    &job.place,
                    job.line,
                ));
            }
        }
    }
    let matching: Vec<_> = facts.records_for(p).collect();
    // Errors and direct matches first when cutting to length.
    let mut picked: Vec<_> = matching.iter().filter(|r| r.record.level >= 50).collect();
    picked.extend(matching.iter().filter(|r| r.record.level < 50));
    for r in picked.into_iter().take(TIMELINE_MAX) {
        let Some(time) = &r.record.time else { continue };
        entries.insert(TimelineEntry::new(
            crate::parsers::time::normalize(time),
            r.service.clone(),
            level_name(r.record.level).into(),
            crate::parsers::clip(r.record.msg.lines().next().unwrap_or(""), 300),
            &r.place,
            Some(r.record.line),
        ));
    }
    for node in facts.nodes_for(p.server_uuid.as_deref()) {
        for hist in &node.zpool {
            // The VM's datasets, and the image's records near the provision (not every clone of
            // the image since it was imported).
            let near = |t: Option<&str>| {
                let (start, end) = p.window();
                let t = t
                    .and_then(crate::parsers::time::parse_iso)
                    .map(|t| t.as_millisecond());
                let hour = 3_600_000;
                let s = start
                    .as_deref()
                    .and_then(crate::parsers::time::parse_iso)
                    .map(|x| x.as_millisecond() - hour);
                let e = end
                    .as_deref()
                    .and_then(crate::parsers::time::parse_iso)
                    .map(|x| x.as_millisecond() + hour);
                matches!((t, s), (Some(t), Some(s)) if t >= s)
                    && e.is_none_or(|e| t.is_some_and(|t| t <= e))
            };
            let relevant = hist.value.records.iter().filter(|r| {
                p.vm_uuid
                    .as_deref()
                    .is_some_and(|vm| r.command.contains(vm))
                    || (p
                        .image_uuid
                        .as_deref()
                        .is_some_and(|img| r.command.contains(img))
                        && near(r.time.as_deref()))
            });
            for r in relevant.take(10) {
                if let Some(t) = &r.time {
                    entries.insert(TimelineEntry::new(
                        t.clone(),
                        "zpool history".into(),
                        "INFO".into(),
                        r.command.clone(),
                        &hist.place,
                        Some(r.line),
                    ));
                }
            }
        }
    }
    entries.into_iter().take(TIMELINE_MAX * 2).collect()
}

fn provision_report(facts: &Facts, p: &Provision, v: &rules::Verdict) -> ProvisionReport {
    let job = p.job.as_ref().map(|j| &j.value);
    ProvisionReport {
        id: p.id.clone(),
        vm_uuid: p.vm_uuid.clone(),
        job_uuid: job.map(|j| j.uuid.clone()),
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
        timeline: timeline(facts, p),
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
    Report {
        tool: "triton-analyze",
        version: env!("CARGO_PKG_VERSION"),
        inputs: facts.inputs.clone(),
        unreadable,
        hosts: hosts.into_iter().collect(),
        window,
        coverage_warnings: collection.warnings,
        not_applicable: collection.not_applicable,
        collection_notes: collection.notes,
        provisions,
        findings,
        skipped_rules: skipped,
        missing: missing.into_iter().collect(),
    }
}
