//! The HTML report: one self-contained file (inline CSS, a few lines of inline script for the
//! timeline's host filter, no external asset) with the markdown report's content, for reading in
//! a browser offline. The task chart is drawn as inline SVG from the job's task times.
//!
//! Every piece of text from the input goes through [`escape`]; the document is kept well-formed
//! (every element closed, void elements self-closed, only XML's predefined entities) so that a
//! strict XML parser can check it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::model::{ProvisionReport, Report};
use super::sections;
use super::sentences;
use crate::facts::clock::ClockOffset;
use crate::facts::ladder::StepStatus;
use crate::facts::timeline::TimelineEntry;
use crate::parsers::time::parse_iso;
use crate::rules::Finding;

/// Most characters of one evidence excerpt shown (as in the markdown report).
const EXCERPT_MAX: usize = 4000;

/// Escapes text for an HTML element or a quoted attribute. Control characters other than tab and
/// newline become U+FFFD: they have no business in a report and are not allowed in XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `<code>` around escaped text.
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

fn opt_code(v: &Option<String>) -> String {
    v.as_deref().map(code).unwrap_or_else(|| "—".to_string())
}

/// Renders the whole report, in the markdown report's order: the answer first (summary), then
/// one section per provision, then what the collection lacks, then the appendix.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>Triton provision analysis</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    let _ = writeln!(out, "<h1>Triton provision analysis</h1>");
    let _ = writeln!(
        out,
        "<p class=\"inputs\">{}</p>",
        sentences::inputs_line(r, &HTML)
    );
    if let Some(notice) = super::redaction::notice(r) {
        let _ = writeln!(
            out,
            "<p class=\"warn\"><strong>{}</strong></p>",
            escape(&notice)
        );
    }
    summary(&mut out, r);
    if r.provisions.len() > 1 {
        sections::fleet_summary(&mut out, r, &HTML);
    }
    if !r.provisions.is_empty() {
        let _ = writeln!(out, "<h2>Provisions</h2>");
    }
    for (index, p) in r.provisions.iter().enumerate() {
        let findings: Vec<&Finding> = r.findings.iter().filter(|f| f.provision == p.id).collect();
        provision_section(&mut out, index, p, &findings, &r.clock_offsets);
    }
    sections::coverage_warnings(&mut out, r, &HTML);
    sections::missing(&mut out, r, &HTML);
    let _ = writeln!(out, "<h2>Appendix</h2>");
    sections::inputs(&mut out, r, &HTML);
    sections::not_applicable(&mut out, r, &HTML);
    sections::skipped_rules(&mut out, r, &HTML);
    sections::input_warnings(&mut out, r, &HTML);
    out.push_str("</main>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// The anchor of a provision's section.
fn anchor(index: usize) -> String {
    format!("provision-{}", index + 1)
}

fn summary(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h2 id=\"summary\">Summary</h2>");
    if r.provisions.is_empty() {
        let _ = writeln!(
            out,
            "<p>No provision found in the input (no provision job, no refused <code>POST /vms</code>).</p>"
        );
        return;
    }
    out.push_str(
        "<table class=\"summary\">\n<thead><tr><th>VM</th><th>brand</th><th>job</th>\
         <th>workflow</th><th>result</th><th>furthest step</th><th>diagnosis</th>\
         <th>confidence</th></tr></thead>\n<tbody>\n",
    );
    for (index, p) in r.provisions.iter().enumerate() {
        let vm = p.vm_uuid.as_deref().unwrap_or(&p.id);
        let _ = writeln!(
            out,
            "<tr class=\"result-{}\"><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td><code class=\"key\">{}</code></td>\
             <td>{}</td></tr>",
            escape(p.result),
            anchor(index),
            code(vm),
            p.brand.as_deref().map(escape).unwrap_or_else(|| "—".into()),
            opt_code(&p.job_uuid),
            p.workflow
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "no job".into()),
            escape(p.result),
            p.furthest_step
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "—".into()),
            escape(p.diagnosis.key),
            escape(p.diagnosis.confidence.label()),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn provision_section(
    out: &mut String,
    index: usize,
    p: &ProvisionReport,
    findings: &[&Finding],
    offsets: &[ClockOffset],
) {
    let _ = writeln!(
        out,
        "<section class=\"provision\" id=\"{}\">\n<h3>{}</h3>",
        anchor(index),
        sentences::provision_title(p, &HTML)
    );
    let _ = writeln!(
        out,
        "<p class=\"verdict confidence-{}\"><strong>{}</strong> ({}) — {}</p>",
        escape(p.diagnosis.confidence.label()),
        escape(p.diagnosis.key),
        escape(p.diagnosis.confidence.label()),
        escape(&p.diagnosis.summary)
    );
    let _ = writeln!(
        out,
        "<p class=\"facts\">{}</p>",
        sentences::provision_facts(p, &HTML)
    );
    if !p.secondary.is_empty() {
        let keys: Vec<String> = p.secondary.iter().map(|k| code(k)).collect();
        let _ = writeln!(out, "<p>Also found: {}</p>", keys.join(", "));
    }
    // The answer's support first (evidence, what to do, what is missing), then the details.
    evidence(out, findings);
    next_steps(out, findings);
    let missing: Vec<&String> = findings.iter().flat_map(|f| f.missing.iter()).collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "<h4>What we could not see</h4>\n<ul>");
        for m in missing {
            let _ = writeln!(out, "<li>{}</li>", escape(m));
        }
        out.push_str("</ul>\n");
    }
    ladder_table(out, p);
    gantt(out, p);
    if !p.other_jobs.is_empty() {
        let _ = writeln!(
            out,
            "<p>Other jobs of this VM:</p>\n<pre>{}</pre>",
            escape(&p.other_jobs.join("\n"))
        );
    }
    timeline(out, index, p, offsets);
    out.push_str("</section>\n");
}

fn status_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Done | StepStatus::BeforeJob => "done",
        StepStatus::Failed => "failed",
        StepStatus::Partial => "partial",
        StepStatus::NotReached => "not-reached",
        StepStatus::NotInVersion => "not-in-version",
    }
}

fn ladder_table(out: &mut String, p: &ProvisionReport) {
    if p.ladder.is_empty() {
        return;
    }
    out.push_str(
        "<h4>How far it got</h4>\n<table class=\"ladder\">\n<thead><tr><th>guide step</th>\
         <th>stage</th><th>status</th><th>tasks (duration / timeout)</th></tr></thead>\n<tbody>\n",
    );
    for (row, left_out) in &sentences::ladder_rows(p) {
        let tasks: Vec<String> = row
            .tasks
            .iter()
            .map(|t| {
                let timing = sentences::task_timing(t);
                let mark = match t.status {
                    StepStatus::Failed => " <strong class=\"failed\">failed</strong>",
                    StepStatus::NotReached => " not run",
                    _ => "",
                };
                format!("<div>{}{mark}{}</div>", code(&t.name), escape(&timing))
            })
            .chain(
                (*left_out > 0)
                    .then(|| format!("<div>{}</div>", escape(&sentences::more_tasks(*left_out)))),
            )
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"step-{}\"><td>{}</td><td>{}</td><td class=\"status\">{}</td><td>{}</td></tr>",
            status_class(row.status),
            escape(&row.guide_steps),
            escape(&row.title),
            escape(row.status.label()),
            if tasks.is_empty() {
                "—".to_string()
            } else {
                tasks.concat()
            }
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(line) = sentences::not_in_version_line(p, &HTML) {
        let _ = writeln!(out, "<p class=\"note\">{line}</p>");
    }
}

/// Layout of the task chart, in SVG user units.
const CHART_LABEL_W: f64 = 230.0;
const CHART_BARS_W: f64 = 740.0;
const CHART_DURATION_W: f64 = 90.0;
const CHART_ROW_H: f64 = 22.0;
const CHART_AXIS_H: f64 = 24.0;
const CHART_TICKS: usize = 5;

/// The job's tasks as horizontal bars on one time axis; the failed task in red. Each bar carries
/// a `<title>` (shown on hover) with the task's exact start and end.
fn gantt(out: &mut String, p: &ProvisionReport) {
    let spans: Vec<_> = p
        .tasks
        .iter()
        .filter_map(|t| {
            let start = parse_iso(&t.started_at)?.as_millisecond();
            let end = parse_iso(&t.finished_at)?.as_millisecond();
            Some((t, start, end.max(start)))
        })
        .collect();
    let (spans, left_out) = sentences::capped(&spans, sentences::CHART_TASKS_MAX, |s| s.0.failed);
    let (Some(first), Some(last)) = (
        spans.iter().map(|s| s.1).min(),
        spans.iter().map(|s| s.2).max(),
    ) else {
        return;
    };
    let total_ms = (last - first).max(1) as f64;
    let x_of = |ms: i64| CHART_LABEL_W + (ms - first) as f64 / total_ms * CHART_BARS_W;
    let width = CHART_LABEL_W + CHART_BARS_W + CHART_DURATION_W;
    let height = CHART_AXIS_H + CHART_ROW_H * spans.len() as f64 + 4.0;
    let _ = writeln!(out, "<h4>Task durations</h4>");
    let _ = writeln!(
        out,
        "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\">"
    );
    let _ = writeln!(
        out,
        "<title>Task durations of job {}</title>",
        escape(p.job_uuid.as_deref().unwrap_or(&p.id))
    );
    for tick in 0..=CHART_TICKS {
        let ms = first + (total_ms * tick as f64 / CHART_TICKS as f64) as i64;
        let x = x_of(ms);
        let label = jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%H:%M:%S").to_string())
            .unwrap_or_default();
        let anchor = match tick {
            0 => "start",
            t if t == CHART_TICKS => "end",
            _ => "middle",
        };
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\"/>\
             <text class=\"axis\" x=\"{x:.1}\" y=\"14\" text-anchor=\"{anchor}\">{label}</text>",
            CHART_AXIS_H - 4.0
        );
    }
    for (row, (t, start, end)) in spans.iter().enumerate() {
        let y = CHART_AXIS_H + CHART_ROW_H * row as f64;
        let x = x_of(*start);
        let w = (x_of(*end) - x).max(2.0);
        let seconds = (end - start) as f64 / 1000.0;
        let class = if t.failed { "bar failed" } else { "bar done" };
        let _ = writeln!(
            out,
            "<text class=\"task\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            CHART_LABEL_W - 8.0,
            y + CHART_ROW_H * 0.68,
            escape(&t.name)
        );
        let _ = writeln!(
            out,
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
             rx=\"2\"><title>{}: {} to {} ({seconds:.1} s){}</title></rect>",
            y + 4.0,
            CHART_ROW_H - 8.0,
            escape(&t.name),
            escape(&t.started_at),
            escape(&t.finished_at),
            if t.failed { ", failed" } else { "" }
        );
        let _ = writeln!(
            out,
            "<text class=\"duration\" x=\"{:.1}\" y=\"{:.1}\">{seconds:.1} s</text>",
            x + w + 6.0,
            y + CHART_ROW_H * 0.68
        );
    }
    out.push_str("</svg>\n");
    if left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{}</p>",
            escape(&sentences::more_tasks(left_out))
        );
    }
}

/// Where an excerpt is from as its host has it (host, path and line, command or API object, time).
fn evidence(out: &mut String, findings: &[&Finding]) {
    let _ = writeln!(out, "<h4>Evidence</h4>");
    let mut any = false;
    for f in findings {
        if f.evidence.is_empty() {
            continue;
        }
        any = true;
        if findings.len() > 1 {
            let _ = writeln!(out, "<p>For {}:</p>", code(f.key));
        }
        for e in &f.evidence {
            let excerpt = crate::parsers::clip(&super::excerpt::readable(&e.excerpt), EXCERPT_MAX);
            let _ = writeln!(
                out,
                "<div class=\"evidence\"><p><strong>{}</strong> — <span class=\"place\">{}</span>\
                 </p><pre>{}</pre></div>",
                escape(&e.note),
                sentences::evidence_place(e, &HTML),
                escape(&excerpt)
            );
        }
    }
    if !any {
        let _ = writeln!(out, "<p>No evidence excerpts.</p>");
    }
}

/// The `data-host` value of timeline rows without a host (job tasks, API objects).
const NO_HOST: &str = "-";

/// The timeline as a table, filterable by host with a `<select>` (see [`SCRIPT`]). Times are in
/// headnode time when the host's clock offset is known, with the host's own time beside them.
fn timeline(out: &mut String, index: usize, p: &ProvisionReport, offsets: &[ClockOffset]) {
    if p.timeline.is_empty() {
        return;
    }
    let table_id = format!("{}-timeline", anchor(index));
    let _ = writeln!(
        out,
        "<h4>Timeline (job tasks and log records about this provision)</h4>\n<p>{}</p>",
        sentences::joined_on_line(&p.joined_on, &HTML)
    );
    let mut hosts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &p.timeline {
        *hosts
            .entry(e.place.host.as_deref().unwrap_or(NO_HOST))
            .or_default() += 1;
    }
    let _ = writeln!(
        out,
        "<p class=\"filter\"><label>Host: <select class=\"host-filter\" data-table=\"{table_id}\">\
         <option value=\"\">all hosts ({} entries)</option>",
        p.timeline.len()
    );
    for (host, count) in &hosts {
        let label = if *host == NO_HOST {
            "no host (job, API objects)".to_string()
        } else if p.server_uuid.as_deref() == Some(*host) {
            format!("{host} (the VM's server)")
        } else {
            host.to_string()
        };
        let _ = writeln!(
            out,
            "<option value=\"{}\">{} ({count})</option>",
            escape(host),
            escape(&label)
        );
    }
    out.push_str("</select></label></p>\n");
    let corrected = p.timeline.iter().any(|e| e.clock_offset_ms.is_some());
    let _ = writeln!(
        out,
        "<table class=\"timeline\" id=\"{table_id}\">\n<thead><tr><th>{}</th><th>host</th>\
         <th>level</th><th>source</th><th>message (and where it is)</th></tr></thead>\n<tbody>",
        if corrected {
            "time (headnode clock)"
        } else {
            "time"
        }
    );
    for e in &p.timeline {
        let time = match (&e.corrected_time, e.clock_offset_ms) {
            (Some(hn), Some(ms)) => format!(
                "{}<div class=\"logged\">logged {} ({:+.1} s)</div>",
                escape(hn),
                escape(
                    e.time
                        .split_once('T')
                        .map_or(e.time.as_str(), |(_, clock)| clock)
                ),
                ms as f64 / 1000.0
            ),
            _ => escape(&e.time),
        };
        let host = e.place.host.as_deref().unwrap_or(NO_HOST);
        let _ = writeln!(
            out,
            "<tr class=\"level-{}\" data-host=\"{}\"><td class=\"time\">{time}</td>\
             <td class=\"host\" title=\"{}\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"message\">{}<div class=\"where\">{}</div></td></tr>",
            escape(&e.level.to_ascii_lowercase()),
            escape(host),
            escape(host),
            escape(short_host(host, p)),
            escape(&e.level),
            escape(&e.source),
            escape(&e.text),
            escape(&timeline_place(e))
        );
    }
    out.push_str("</tbody>\n</table>\n");
    clock_note(out, p, offsets);
}

/// A host in a narrow column: the first group of its uuid, enough to tell hosts apart.
fn short_host<'a>(host: &'a str, p: &ProvisionReport) -> &'a str {
    if host == NO_HOST {
        return "—";
    }
    if p.server_uuid.as_deref() == Some(host) {
        return "VM's CN";
    }
    host.split('-').next().unwrap_or(host)
}

/// Where a timeline entry is: its path on the host when known (shorter and what an operator
/// greps), else its entry in the input; with the line.
fn timeline_place(e: &TimelineEntry) -> String {
    match (&e.place.host_path, e.line_in_bundle, e.line) {
        (Some(path), Some(_), Some(original)) => format!("{path}:{original}"),
        (Some(path), None, Some(line)) if e.original_offset_start.is_none() => {
            format!("{path}:{line}")
        }
        _ => {
            let line = match (e.line_in_bundle, e.line, e.original_offset_start) {
                (Some(in_bundle), Some(original), _) => {
                    format!(":{in_bundle}, original line {original}")
                }
                (None, Some(line), Some(offset)) => {
                    format!(":{line}, counted from byte {offset} of the original")
                }
                (_, Some(line), _) => format!(":{line}"),
                _ => String::new(),
            };
            format!("{}{line}", e.place.entry)
        }
    }
}

fn clock_note(out: &mut String, p: &ProvisionReport, offsets: &[ClockOffset]) {
    let applied: Vec<&ClockOffset> = offsets
        .iter()
        .filter(|o| {
            p.timeline
                .iter()
                .any(|e| e.clock_offset_ms.is_some() && e.place.host.as_deref() == Some(&o.host))
        })
        .collect();
    if applied.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">Times are as each host logged them; no clock offset between hosts \
             could be estimated (no CNAPI task seen both sent by the headnode and received by a \
             compute node).</p>"
        );
        return;
    }
    let list: Vec<String> = applied
        .iter()
        .map(|o| {
            format!(
                "CN {} ≈ {} vs HN (from {} paired event{})",
                code(&o.host),
                escape(&o.seconds_label()),
                o.pairs,
                if o.pairs == 1 { "" } else { "s" }
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "<p class=\"note\">Ordered and shown in headnode time; \"logged\" is the compute node's \
         own time. Clock offsets: {}.</p>",
        list.join("; ")
    );
}

fn next_steps(out: &mut String, findings: &[&Finding]) {
    let mut seen = BTreeSet::new();
    let steps: Vec<&str> = findings
        .iter()
        .flat_map(|f| f.next_steps.iter())
        .filter(|s| seen.insert(s.as_str()))
        .map(String::as_str)
        .collect();
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h4>Next steps (read-only, from the headnode)</h4>\n<pre class=\"commands\">{}</pre>",
        escape(&steps.join("\n"))
    );
}

/// The timeline's host filter. Written without `<` and `&` so the document stays well-formed.
const SCRIPT: &str = r#"
document.querySelectorAll("select.host-filter").forEach(function (select) {
  select.addEventListener("change", function () {
    var table = document.getElementById(select.getAttribute("data-table"));
    table.querySelectorAll("tbody tr").forEach(function (row) {
      row.hidden = !(select.value === "" || row.getAttribute("data-host") === select.value);
    });
  });
});
"#;

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328;
  font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
p.warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; }
h1 { font-size: 26px; margin: 0 0 4px; padding-bottom: 8px; border-bottom: 1px solid #d1d9e0; }
h2 { font-size: 20px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid #d1d9e0; }
h3 { font-size: 16px; margin: 24px 0 8px; }
h4 { font-size: 14px; margin: 20px 0 6px; color: #424a53; }
p.inputs { color: #59636e; margin-top: 8px; }
code, pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: #eff2f5; border-radius: 4px; padding: 1px 4px; overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 12px;
  white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 12px; }
pre.commands { background: #0d1117; color: #e6edf3; border-color: #0d1117; }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
table.summary td:nth-child(1) code, table.summary td:nth-child(3) code { white-space: nowrap; }
tr.result-failed td:nth-child(5) { color: #cf222e; font-weight: 600; }
code.key { font-weight: 600; white-space: nowrap; }
section.provision { border: 1px solid #d1d9e0; border-radius: 8px; padding: 4px 20px 12px;
  margin: 16px 0 28px; }
section.provision h3 { font-size: 17px; }
p.verdict { font-size: 15px; padding: 10px 14px; border-radius: 6px; border-left: 5px solid #9a6700;
  background: #fff8c5; }
p.verdict.confidence-confirmed { border-left-color: #cf222e; background: #ffebe9; }
p.verdict.confidence-unknown { border-left-color: #59636e; background: #f6f8fa; }
p.facts { color: #424a53; }
table.ladder td.status { white-space: nowrap; }
tr.step-failed { background: #ffebe9; }
tr.step-failed td.status, strong.failed { color: #cf222e; font-weight: 700; }
tr.step-done td.status { color: #1a7f37; }
tr.step-not-reached, tr.step-not-in-version { color: #818b98; }
svg.gantt { display: block; max-width: 100%; height: auto; margin: 4px 0 12px; }
svg.gantt text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: #1f2328; }
svg.gantt text.axis { fill: #59636e; }
svg.gantt line.tick { stroke: #d1d9e0; stroke-width: 1; }
svg.gantt rect.done { fill: #4c8ed9; }
svg.gantt rect.failed { fill: #cf222e; }
div.evidence p { margin: 12px 0 2px; }
span.place { color: #424a53; }
span.input { color: #818b98; font-size: 12px; }
p.filter select { font: inherit; padding: 2px 4px; }
table.timeline { font-size: 12px; }
table.timeline td.time { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; }
table.timeline td.message { overflow-wrap: anywhere; }
table.timeline td:not(.message), table.timeline th:not(:last-child) { width: 1%; white-space: nowrap; }
table.timeline div.where { color: #818b98; overflow-wrap: anywhere; font-size: 11px; }
table.timeline td.host { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; }
table.timeline div.logged { color: #818b98; font-size: 11px; }
tr.level-error td, tr.level-fatal td { background: #ffebe9; }
tr.level-warn td { background: #fff8c5; }
p.note { color: #59636e; font-size: 13px; }
details summary { cursor: pointer; color: #0969da; }
"#;

/// HTML markup for the shared sentences.
struct Html;

const HTML: Html = Html;

impl sentences::Markup for Html {
    fn text(&self, text: &str) -> String {
        escape(text)
    }

    fn code(&self, text: &str) -> String {
        code(text)
    }

    fn strong(&self, marked: &str) -> String {
        format!("<strong>{marked}</strong>")
    }

    fn heading(&self, level: u8, text: &str) -> String {
        format!("<h{level}>{}</h{level}>\n", escape(text))
    }

    fn paragraph(&self, marked: &str) -> String {
        format!("<p>{marked}</p>\n")
    }

    fn list(&self, items: &[String]) -> String {
        let mut out = String::from("<ul>\n");
        for item in items {
            let _ = writeln!(out, "<li>{item}</li>");
        }
        out.push_str("</ul>\n");
        out
    }

    fn table(&self, header: &[&str], rows: &[Vec<String>]) -> String {
        let mut out = String::from("<table>\n<thead><tr>");
        for h in header {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{cell}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }

    fn details(&self, summary: &str, block: &str) -> String {
        format!(
            "<details><summary>{}</summary>\n{block}</details>\n",
            escape(summary)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_leaves_no_markup() {
        let e = escape("</pre><script>alert('x')</script> & \"q\" \u{1b}[31m");
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        assert!(e.contains("&lt;/pre&gt;&lt;script&gt;"));
        assert!(e.contains("&amp; &quot;q&quot;"));
        assert!(!e.contains('\u{1b}'));
    }
}
