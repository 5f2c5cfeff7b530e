//! The markdown report: renders well on GitHub and JIRA, and untrusted text can never break it
//! (see [`super::escape`]).

use std::fmt::Write;

use super::escape::{code, fenced, inline};
use super::model::{ProvisionReport, Report};
use super::sentences::{self, Markup};
use crate::facts::clock::ClockOffset;
use crate::facts::ladder::StepStatus;
use crate::rules::{Evidence, Finding};

/// Most characters of one evidence excerpt shown.
const EXCERPT_MAX: usize = 4000;

fn opt(v: &Option<String>) -> String {
    v.as_deref().map(code).unwrap_or_else(|| "—".to_string())
}

fn short_uuid(v: &Option<String>) -> String {
    v.as_deref().map(code).unwrap_or_else(|| "—".to_string())
}

fn place_label(e: &Evidence) -> String {
    let mut parts = Vec::new();
    if let Some(host) = &e.place.host {
        parts.push(format!("host {}", code(host)));
    }
    let original_line = e.line_in_bundle.and(e.line);
    if let Some(path) = &e.place.host_path {
        match original_line {
            Some(line) => parts.push(code(&format!("{path}:{line}"))),
            None => parts.push(code(path)),
        }
    } else if let Some(cmd) = &e.place.command {
        parts.push(format!("command {}", code(cmd)));
    } else if let Some(api) = &e.place.api {
        parts.push(format!("API {}", code(api)));
    }
    let line = e
        .line_in_bundle
        .or(e.line)
        .map(|l| format!(":{l}"))
        .unwrap_or_default();
    parts.push(format!(
        "in {} {}",
        code(&e.place.input),
        code(&format!("{}{line}", e.place.entry))
    ));
    if let Some(offset) = e.original_offset_start {
        parts.push(format!("(line counted from byte {offset} of the original)"));
    }
    if let Some(t) = &e.time {
        parts.push(format!("at {}", code(t)));
    }
    parts.join(" ")
}

fn render_evidence(out: &mut String, f: &Finding) {
    for e in &f.evidence {
        let _ = writeln!(out, "- **{}** — {}", inline(&e.note), place_label(e));
        let excerpt = crate::parsers::clip(&e.excerpt, EXCERPT_MAX);
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
    for row in &p.ladder {
        let tasks: Vec<String> = row
            .tasks
            .iter()
            .map(|t| {
                let timing = match (t.duration_s, t.timeout_s) {
                    (Some(d), Some(to)) => format!(
                        " {d:.1} s / {to:.0} s ({:.0}%)",
                        t.timeout_share().unwrap_or(0.0)
                    ),
                    (Some(d), None) => format!(" {d:.1} s"),
                    (None, Some(to)) => format!(" — / {to:.0} s"),
                    (None, None) => String::new(),
                };
                let mark = match t.status {
                    StepStatus::Failed => " **failed**",
                    StepStatus::NotReached => " not run",
                    _ => "",
                };
                format!("{}{}{}", code(&t.name), mark, inline(&timing))
            })
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
    out.push_str(&fenced("text", &text));
    let _ = writeln!(out);
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
    let title = match (&p.vm_uuid, &p.job_uuid) {
        (Some(vm), Some(job)) => format!("VM {} — job {}", code(vm), code(job)),
        (Some(vm), None) => format!("VM {} — no job", code(vm)),
        (None, Some(job)) => format!("job {}", code(job)),
        (None, None) => format!("request {}", code(&p.id)),
    };
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "**{}** ({}) — {}\n",
        inline(p.diagnosis.key),
        inline(p.diagnosis.confidence.label()),
        inline(&p.diagnosis.summary)
    );
    let mut facts_line = vec![
        format!("brand {}", opt(&p.brand)),
        format!("workflow {} (era {})", opt(&p.workflow), inline(p.era)),
        format!("result {}", inline(p.result)),
        format!("server {}", opt(&p.server_uuid)),
    ];
    if let Some(r) = &p.request_id {
        facts_line.push(format!("request id {}", code(r)));
    }
    if let Some(t) = &p.created_at {
        facts_line.push(format!("created {}", code(t)));
    }
    let _ = writeln!(out, "{}\n", facts_line.join(" · "));
    if !p.secondary.is_empty() {
        let keys: Vec<String> = p.secondary.iter().map(|k| code(k)).collect();
        let _ = writeln!(out, "Also found: {}\n", keys.join(", "));
    }
    ladder_table(out, p);
    gantt(out, p);
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
    if !p.other_jobs.is_empty() {
        let _ = writeln!(out, "Other jobs of this VM:\n");
        out.push_str(&fenced("text", &p.other_jobs.join("\n")));
        let _ = writeln!(out);
    }
    timeline(out, p, offsets);
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
        fleet_summary(&mut out, r);
    }
    if !r.provisions.is_empty() {
        let _ = writeln!(out, "## Provisions\n");
    }
    for p in &r.provisions {
        let findings: Vec<&Finding> = r.findings.iter().filter(|f| f.provision == p.id).collect();
        provision_section(&mut out, p, &findings, &r.clock_offsets);
    }
    coverage_warnings(&mut out, r);
    missing(&mut out, r);
    let _ = writeln!(out, "## Appendix\n");
    inputs_table(&mut out, r);
    not_applicable(&mut out, r);
    skipped_rules(&mut out, r);
    input_warnings(&mut out, r);
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
    for p in &r.provisions {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            short_uuid(&p.vm_uuid),
            p.brand.as_deref().map(inline).unwrap_or_else(|| "—".into()),
            short_uuid(&p.job_uuid),
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

fn coverage_warnings(out: &mut String, r: &Report) {
    if r.coverage_warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Coverage warnings\n");
    for w in &r.coverage_warnings {
        let _ = writeln!(out, "- {}", inline(w));
    }
    let _ = writeln!(out);
}

fn missing(out: &mut String, r: &Report) {
    if r.missing.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Missing from the input\n");
    let _ = writeln!(out, "| provision | what | how to collect it |");
    let _ = writeln!(out, "|---|---|---|");
    for m in &r.missing {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            code(&m.provision),
            inline(&m.what),
            code(&m.collect)
        );
    }
    let _ = writeln!(out);
}

fn inputs_table(out: &mut String, r: &Report) {
    let _ = writeln!(out, "### Inputs\n");
    let _ = writeln!(out, "| input | kind | entries | collector | complete |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for i in &r.inputs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code(&i.name),
            inline(&i.kind),
            i.entries,
            i.collector
                .as_deref()
                .map(inline)
                .unwrap_or_else(|| "no manifest".into()),
            match i.complete {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            }
        );
    }
    for (name, why) in &r.unreadable {
        let _ = writeln!(
            out,
            "| {} | unreadable | — | {} | — |",
            code(name),
            inline(why)
        );
    }
    let _ = writeln!(out);
    if !r.hosts.is_empty() {
        let hosts: Vec<String> = r.hosts.iter().map(|h| code(h)).collect();
        let _ = writeln!(out, "Hosts: {}\n", hosts.join(", "));
    }
    for note in &r.collection_notes {
        let _ = writeln!(out, "- {}", inline(note));
    }
    if !r.collection_notes.is_empty() {
        let _ = writeln!(out);
    }
}

/// Collapsed: these are not gaps, only the collector's account of what does not exist or does
/// not apply on each host. The lines are escaped like any other text, never raw HTML.
fn not_applicable(out: &mut String, r: &Report) {
    if r.not_applicable.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Not applicable on these hosts\n");
    let _ = writeln!(
        out,
        "<details><summary>{} source(s) absent or not applicable (not gaps)</summary>\n",
        r.not_applicable.len()
    );
    for line in &r.not_applicable {
        let _ = writeln!(out, "- {}", inline(line));
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn skipped_rules(out: &mut String, r: &Report) {
    if r.skipped_rules.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Rules skipped\n");
    let _ = writeln!(out, "| rule | provision | why |");
    let _ = writeln!(out, "|---|---|---|");
    for s in &r.skipped_rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            code(s.rule),
            code(&s.provision),
            inline(&s.reason)
        );
    }
    let _ = writeln!(out);
}

fn input_warnings(out: &mut String, r: &Report) {
    let warnings: Vec<(&str, &String)> = r
        .inputs
        .iter()
        .flat_map(|i| i.warnings.iter().map(move |w| (i.name.as_str(), w)))
        .collect();
    if warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Input warnings\n");
    for (input, w) in warnings.iter().take(50) {
        let _ = writeln!(out, "- {}: {}", code(input), inline(w));
    }
    if warnings.len() > 50 {
        let _ = writeln!(out, "- … and {} more", warnings.len() - 50);
    }
    let _ = writeln!(out);
}

/// The fleet view: provisions grouped by diagnosis and normalized error ("3 of 8 provisions").
fn fleet_summary(out: &mut String, r: &Report) {
    let _ = writeln!(out, "### Across all inputs\n");
    for g in &r.fleet {
        let on = if g.servers.is_empty() {
            String::new()
        } else {
            format!(
                " on CN {}",
                g.servers
                    .iter()
                    .map(|s| code(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "- {} of {} provisions: {}{}{}",
            g.count,
            g.of,
            code(g.key),
            if g.error.is_empty() {
                String::new()
            } else {
                format!(" — {}", inline(&g.error))
            },
            on
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
}
