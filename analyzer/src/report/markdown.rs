//! The markdown report: renders well on GitHub and JIRA, and untrusted text can never break it
//! (see [`super::escape`]).

use std::fmt::Write;

use super::escape::{code, fenced, inline};
use super::model::{ProvisionReport, Report};
use super::sections;
use super::sentences::{self, Markup};
use crate::facts::clock::ClockOffset;
use crate::facts::ladder::StepStatus;
use crate::rules::Finding;

/// Most characters of one evidence excerpt shown.
const EXCERPT_MAX: usize = 4000;

/// A uuid by its first group (`6b45153b`), as engineers say them, so the summary table stays one
/// line per provision; the full uuid heads the provision's section. Full when `short` is false
/// (two provisions share a first group) or the id is not a uuid.
fn short_uuid(v: &Option<String>, short: bool) -> String {
    match v.as_deref() {
        Some(id) if short && is_uuid(id) => code(&id[..8]),
        Some(id) => code(id),
        None => "—".to_string(),
    }
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether every uuid in the summary table is told apart by its first group.
fn first_groups_unique(r: &Report) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    r.provisions
        .iter()
        .flat_map(|p| [&p.vm_uuid, &p.job_uuid])
        .flatten()
        .filter(|id| is_uuid(id))
        .all(|id| seen.insert(&id[..8]))
}

fn render_evidence(out: &mut String, f: &Finding) {
    for e in &f.evidence {
        let _ = writeln!(
            out,
            "- **{}** — {}",
            inline(&e.note),
            sentences::evidence_place(e, &MARKDOWN)
        );
        let excerpt = crate::parsers::clip(&super::excerpt::readable(&e.excerpt), EXCERPT_MAX);
        let _ = writeln!(out);
        out.push_str(&fenced("text", &excerpt));
        let _ = writeln!(out);
    }
}

fn ladder_table(out: &mut String, p: &ProvisionReport) {
    if p.ladder.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### How far it got\n");
    let _ = writeln!(
        out,
        "| guide step | stage | status | tasks (duration / timeout) |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for (row, left_out) in &sentences::ladder_rows(p) {
        let tasks: Vec<String> = row
            .tasks
            .iter()
            .map(|t| {
                let timing = sentences::task_timing(t);
                let mark = match t.status {
                    StepStatus::Failed => " **failed**",
                    StepStatus::NotReached => " not run",
                    _ => "",
                };
                format!("{}{}{}", code(&t.name), mark, inline(&timing))
            })
            .chain((*left_out > 0).then(|| inline(&sentences::more_tasks(*left_out))))
            .collect();
        let status = if row.status == StepStatus::Failed {
            "**FAILED**".to_string()
        } else {
            inline(row.status.label())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            inline(&row.guide_steps),
            inline(&row.title),
            status,
            if tasks.is_empty() {
                "—".to_string()
            } else {
                tasks.join("<br>")
            }
        );
    }
    let _ = writeln!(out);
    if let Some(line) = sentences::not_in_version_line(p, &MARKDOWN) {
        let _ = writeln!(out, "{line}\n");
    }
}

fn mermaid_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn mermaid_time(t: &str) -> Option<String> {
    let ts = crate::parsers::time::parse_iso(t)?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

fn gantt(out: &mut String, p: &ProvisionReport) {
    let spans: Vec<_> = p
        .tasks
        .iter()
        .filter_map(|t| {
            Some((
                t,
                mermaid_time(&t.started_at)?,
                mermaid_time(&t.finished_at)?,
            ))
        })
        .collect();
    if spans.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Task durations\n");
    let (spans, left_out) = sentences::capped(&spans, sentences::CHART_TASKS_MAX, |s| s.0.failed);
    let mut chart = String::from(
        "gantt\n    dateFormat YYYY-MM-DDTHH:mm:ss.SSS\n    axisFormat %H:%M:%S\n    section job\n",
    );
    for (i, (t, start, end)) in spans.iter().enumerate() {
        let tag = if t.failed { "crit, " } else { "done, " };
        let _ = writeln!(
            chart,
            "    {} :{tag}t{i}, {start}, {end}",
            mermaid_name(&t.name)
        );
    }
    out.push_str(&fenced("mermaid", &chart));
    let _ = writeln!(out);
    if left_out > 0 {
        let _ = writeln!(out, "{}\n", inline(&sentences::more_tasks(left_out)));
    }
}

fn timeline(out: &mut String, p: &ProvisionReport, offsets: &[ClockOffset]) {
    if p.timeline.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "#### Timeline (job tasks and log records about this provision)\n"
    );
    let _ = writeln!(
        out,
        "{}\n",
        sentences::joined_on_line(&p.joined_on, &MARKDOWN)
    );
    let corrected = p.timeline.iter().any(|e| e.clock_offset_ms.is_some());
    // Headnode time (the order of the lines); the date once above when every line shares it.
    let shown = |e: &crate::facts::timeline::TimelineEntry| -> String {
        e.corrected_time.clone().unwrap_or_else(|| e.time.clone())
    };
    let dates: std::collections::BTreeSet<String> = p
        .timeline
        .iter()
        .map(|e| shown(e).chars().take(10).collect())
        .collect();
    let one_day = (dates.len() == 1).then(|| dates.into_iter().next().unwrap_or_default());
    let mut text = String::new();
    if let Some(day) = &one_day {
        let _ = writeln!(text, "{day} (UTC)");
    }
    for e in &p.timeline {
        let time = shown(e);
        let time = match &one_day {
            Some(_) => time
                .get(11..)
                .map(|t| t.trim_end_matches('Z'))
                .unwrap_or(&time)
                .to_string(),
            None => time,
        };
        let shift = match (corrected, e.clock_offset_ms) {
            (false, _) => String::new(),
            (true, Some(ms)) => format!(" {:<9}", format!("[{:+.1}s]", ms as f64 / 1000.0)),
            (true, None) => format!(" {:<9}", ""),
        };
        // Where an engineer finds it on the host; the bundle path is in the JSON report.
        let place = e
            .place
            .host_path
            .clone()
            .or_else(|| e.place.command.clone())
            .or_else(|| e.place.api.clone())
            .unwrap_or_else(|| e.place.entry.clone());
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            text,
            "{time}{shift}  {:<5} {:<14} {}\n{:>w$}{place}{line}",
            e.level,
            e.source,
            e.text,
            "",
            w = time.len() + shift.len() + 2
        );
    }
    // Collapsed: it is the longest part and the details, not the answer. The log text stays in
    // a fenced block (markdown), never in the raw HTML around it.
    let hosts: std::collections::BTreeSet<&str> = p
        .timeline
        .iter()
        .filter_map(|e| e.place.host.as_deref())
        .collect();
    let _ = writeln!(
        out,
        "<details><summary>{} record{}{}</summary>\n",
        p.timeline.len(),
        if p.timeline.len() == 1 { "" } else { "s" },
        match hosts.len() {
            0 => String::new(),
            1 => " from 1 host".to_string(),
            n => format!(" from {n} hosts"),
        }
    );
    out.push_str(&fenced("text", &text));
    let _ = writeln!(out, "\n</details>\n");
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
            "Times are as each host logged them; no clock offset between hosts could be estimated \
             (no CNAPI task seen both sent by the headnode and received by a compute node).\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "Times are headnode time, in order. A line marked \\[±N s\\] was logged by a compute node \
         whose clock is estimated to be that far off the headnode's; it logged the shown time plus \
         that offset.\n"
    );
    let list: Vec<String> = applied
        .iter()
        .map(|o| {
            format!(
                "CN {} ≈ {} vs HN (from {} paired event{})",
                code(&o.host),
                o.seconds_label(),
                o.pairs,
                if o.pairs == 1 { "" } else { "s" }
            )
        })
        .collect();
    let _ = writeln!(out, "clock offsets: {}\n", list.join("; "));
}

fn provision_section(
    out: &mut String,
    p: &ProvisionReport,
    findings: &[&Finding],
    offsets: &[ClockOffset],
) {
    let _ = writeln!(out, "### {}\n", sentences::provision_title(p, &MARKDOWN));
    let _ = writeln!(
        out,
        "**{}** ({}) — {}\n",
        inline(p.diagnosis.key),
        inline(p.diagnosis.confidence.label()),
        inline(&p.diagnosis.summary)
    );
    let _ = writeln!(out, "{}\n", sentences::provision_facts(p, &MARKDOWN));
    if !p.secondary.is_empty() {
        let keys: Vec<String> = p.secondary.iter().map(|k| code(k)).collect();
        let _ = writeln!(out, "Also found: {}\n", keys.join(", "));
    }
    // The answer's support first (evidence, what to do, what is missing), then the details.
    let _ = writeln!(out, "#### Evidence\n");
    let mut any = false;
    for f in findings {
        if f.evidence.is_empty() {
            continue;
        }
        any = true;
        if findings.len() > 1 {
            let _ = writeln!(out, "For {}:\n", code(f.key));
        }
        render_evidence(out, f);
    }
    if !any {
        let _ = writeln!(out, "No evidence excerpts.\n");
    }
    let steps: Vec<&String> = findings.iter().flat_map(|f| f.next_steps.iter()).collect();
    if !steps.is_empty() {
        let _ = writeln!(out, "#### Next steps (read-only, from the headnode)\n");
        let mut seen = std::collections::BTreeSet::new();
        let text: Vec<&str> = steps
            .iter()
            .filter(|s| seen.insert(s.as_str()))
            .map(|s| s.as_str())
            .collect();
        out.push_str(&fenced("sh", &text.join("\n")));
        let _ = writeln!(out);
    }
    let missing: Vec<&String> = findings.iter().flat_map(|f| f.missing.iter()).collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "#### What we could not see\n");
        for m in missing {
            let _ = writeln!(out, "- {}", inline(m));
        }
        let _ = writeln!(out);
    }
    ladder_table(out, p);
    gantt(out, p);
    if !p.other_jobs.is_empty() {
        let _ = writeln!(out, "Other jobs of this VM:\n");
        out.push_str(&fenced("text", &p.other_jobs.join("\n")));
        let _ = writeln!(out);
    }
    timeline(out, p, offsets);
}

/// Renders the whole report, answer first: title and inputs in one line, the summary table,
/// one section per provision, then what the collection lacks, then the appendix.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Triton provision analysis\n");
    let _ = writeln!(out, "{}\n", sentences::inputs_line(r, &MARKDOWN));
    if let Some(notice) = super::redaction::notice(r) {
        let _ = writeln!(out, "**{}**\n", inline(&notice));
    }
    summary(&mut out, r);
    if r.provisions.len() > 1 {
        sections::fleet_summary(&mut out, r, &MARKDOWN);
    }
    if !r.provisions.is_empty() {
        let _ = writeln!(out, "## Provisions\n");
    }
    for p in &r.provisions {
        let findings: Vec<&Finding> = r.findings.iter().filter(|f| f.provision == p.id).collect();
        provision_section(&mut out, p, &findings, &r.clock_offsets);
    }
    sections::coverage_warnings(&mut out, r, &MARKDOWN);
    sections::missing(&mut out, r, &MARKDOWN);
    let _ = writeln!(out, "## Appendix\n");
    sections::inputs(&mut out, r, &MARKDOWN);
    sections::not_applicable(&mut out, r, &MARKDOWN);
    sections::skipped_rules(&mut out, r, &MARKDOWN);
    sections::input_warnings(&mut out, r, &MARKDOWN);
    out
}

fn summary(out: &mut String, r: &Report) {
    let _ = writeln!(out, "## Summary\n");
    if r.provisions.is_empty() {
        let _ = writeln!(
            out,
            "No provision found in the input (no provision job, no refused `POST /vms`).\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "| VM | brand | job | workflow | result | furthest step | diagnosis | confidence |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let short = first_groups_unique(r);
    for p in &r.provisions {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            short_uuid(&p.vm_uuid, short),
            p.brand.as_deref().map(inline).unwrap_or_else(|| "—".into()),
            short_uuid(&p.job_uuid, short),
            p.workflow
                .as_deref()
                .map(inline)
                .unwrap_or_else(|| "no job".into()),
            inline(p.result),
            p.furthest_step
                .as_deref()
                .map(inline)
                .unwrap_or_else(|| "—".into()),
            code(p.diagnosis.key),
            inline(p.diagnosis.confidence.label())
        );
    }
    let _ = writeln!(out);
}

/// Markdown markup for the shared sentences.
struct Markdown;

const MARKDOWN: Markdown = Markdown;

impl Markup for Markdown {
    fn text(&self, text: &str) -> String {
        inline(text)
    }

    fn code(&self, text: &str) -> String {
        code(text)
    }

    fn strong(&self, marked: &str) -> String {
        format!("**{marked}**")
    }

    fn heading(&self, level: u8, text: &str) -> String {
        format!("{} {}\n\n", "#".repeat(usize::from(level)), inline(text))
    }

    fn paragraph(&self, marked: &str) -> String {
        format!("{marked}\n\n")
    }

    fn list(&self, items: &[String]) -> String {
        let mut out: String = items.iter().map(|i| format!("- {i}\n")).collect();
        out.push('\n');
        out
    }

    fn table(&self, header: &[&str], rows: &[Vec<String>]) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut out = line(header.iter().map(|h| inline(h)).collect());
        out.push_str(&line(vec!["---".to_string(); header.len()]).replace(' ', ""));
        for row in rows {
            out.push_str(&line(row.clone()));
        }
        out.push('\n');
        out
    }

    /// Raw HTML that GitHub and JIRA render; the summary is our own words, escaped as HTML, and
    /// the block inside stays markdown (log text never sits in the raw HTML).
    fn details(&self, summary: &str, block: &str) -> String {
        format!(
            "<details><summary>{}</summary>\n\n{block}</details>\n\n",
            super::html::escape(summary)
        )
    }
}
