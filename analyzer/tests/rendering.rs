//! The markdown report as people see it: every simulated scenario is collected and analyzed, and
//! the markdown is parsed by a CommonMark + GFM parser (comrak, as GitHub renders it) to check
//! what a reader gets: the headings, one summary row per provision, code blocks that close,
//! no raw HTML but the report's own `<details>`, `<summary>` and `<br>`, well-formed mermaid
//! charts, and no link but http(s) or relative ones. Hostile log text must stay text.
//!
//! With `TRITON_REPORT_PREVIEW_DIR=DIR` the rendered HTML (GitHub-like style) is also written to
//! `DIR/<scenario>.md.html` for looking at it in a browser.

mod collected;

use comrak::nodes::{AstNode, NodeValue};
use comrak::{format_html, parse_document, Arena, Options};
use serde_json::Value;

use collected::{collect, for_every_scenario, plant_hostile_text, preview_dir, Collected, HOSTILE};

/// Tags the report writes on purpose: the collapsed appendix list and line breaks in table cells.
const ALLOWED_TAGS: &[&str] = &["details", "summary", "br"];

const SUMMARY_COLUMNS: &[&str] = &[
    "VM",
    "brand",
    "job",
    "workflow",
    "result",
    "furthest step",
    "diagnosis",
    "confidence",
];

/// GitHub's flavour: tables, strikethrough, autolinks, task lists.
fn gfm() -> Options<'static> {
    let mut options = Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    options
}

/// The text of a node and its descendants, as a reader sees it.
fn text_of<'a>(node: &'a AstNode<'a>) -> String {
    let mut text = String::new();
    for n in node.descendants() {
        match &n.data().value {
            NodeValue::Text(t) => text.push_str(t),
            NodeValue::Code(c) => text.push_str(&c.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

/// Tag names (lowercase, without `/`) in a piece of raw HTML.
fn tags_in(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

/// A link target a reader may follow: http(s), an anchor, or a path relative to the report.
fn safe_target(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return true;
    }
    let scheme_end = lower.find(':');
    let path_end = lower.find(['/', '?', '#']).unwrap_or(lower.len());
    let has_scheme = scheme_end.is_some_and(|i| i < path_end);
    !has_scheme && !lower.starts_with("//")
}

/// The mermaid gantt source of every task with both times, by the report's JSON.
fn tasks_with_times(p: &Value) -> usize {
    p["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["started_at"].is_string() && t["finished_at"].is_string())
        .count()
}

/// Checks one mermaid block; returns its number of task lines.
fn check_mermaid(literal: &str, problems: &mut Vec<String>) -> usize {
    let mut lines = literal.lines();
    if lines.next().map(str::trim) != Some("gantt") {
        problems.push(format!(
            "mermaid block does not start with gantt: {literal:?}"
        ));
    }
    let mut tasks = 0;
    for line in lines {
        let line = line.trim();
        let keyword = line.split_whitespace().next().unwrap_or("");
        if line.is_empty() || ["dateFormat", "axisFormat", "section", "title"].contains(&keyword) {
            continue;
        }
        // `name :tag, id, start, end`
        let Some((name, spec)) = line.split_once(" :") else {
            problems.push(format!("mermaid line is not a task: {line:?}"));
            continue;
        };
        let fields: Vec<&str> = spec.split(',').map(str::trim).collect();
        if name.trim().is_empty() || name.contains(':') || name.contains('#') || fields.len() != 4 {
            problems.push(format!("mermaid task line malformed: {line:?}"));
        }
        tasks += 1;
    }
    tasks
}

/// Everything a reader would trip over in one rendered markdown report.
fn check_markdown(md: &str, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let arena = Arena::new();
    let root = parse_document(&arena, md, &gfm());
    let provisions = report["provisions"].as_array().cloned().unwrap_or_default();

    let headings: Vec<(u8, String)> = root
        .descendants()
        .filter_map(|n| match &n.data().value {
            NodeValue::Heading(h) => Some((h.level, text_of(n))),
            _ => None,
        })
        .collect();
    let h1: Vec<&String> = headings.iter().filter(|h| h.0 == 1).map(|h| &h.1).collect();
    if h1 != ["Triton provision analysis"] {
        problems.push(format!("H1 headings {h1:?}"));
    }
    for want in ["Summary", "Appendix"] {
        if !headings.iter().any(|h| h.0 == 2 && h.1 == want) {
            problems.push(format!("no H2 {want:?}"));
        }
    }
    for p in &provisions {
        let title = match (p["vm_uuid"].as_str(), p["job_uuid"].as_str()) {
            (Some(vm), Some(job)) => format!("VM {vm} — job {job}"),
            (Some(vm), None) => format!("VM {vm} — no job"),
            (None, Some(job)) => format!("job {job}"),
            (None, None) => format!("request {}", p["id"].as_str().unwrap_or("?")),
        };
        if !headings.iter().any(|h| h.0 == 3 && h.1 == title) {
            problems.push(format!("no H3 {title:?} for provision {}", p["id"]));
        }
    }

    // The answer first: in each provision's section the evidence comes before the details (the
    // ladder, the chart, the timeline).
    let mut sections: Vec<Vec<&str>> = Vec::new();
    for (level, text) in &headings {
        match level {
            3 => sections.push(Vec::new()),
            4 => {
                if let Some(section) = sections.last_mut() {
                    section.push(text.as_str());
                }
            }
            _ => {}
        }
    }
    for section in &sections {
        let at = |prefix: &str| section.iter().position(|h| h.starts_with(prefix));
        if let Some(evidence) = at("Evidence") {
            for detail in ["How far it got", "Task durations", "Timeline"] {
                if at(detail).is_some_and(|d| d < evidence) {
                    problems.push(format!("{detail:?} comes before the evidence: {section:?}"));
                }
            }
        }
    }
    if md.contains("| not in this version |") {
        problems.push("a ladder row for a step not in this workflow version".into());
    }

    // The summary table: the first table after the Summary heading.
    let summary = root
        .descendants()
        .skip_while(|n| {
            !matches!(&n.data().value, NodeValue::Heading(h) if h.level == 2)
                || text_of(n) != "Summary"
        })
        .find(|n| matches!(n.data().value, NodeValue::Table(_)));
    match summary {
        None if !provisions.is_empty() => problems.push("no summary table".into()),
        None => {}
        Some(table) => {
            let rows: Vec<(bool, Vec<String>)> = table
                .children()
                .filter_map(|row| match row.data().value {
                    NodeValue::TableRow(header) => {
                        Some((header, row.children().map(text_of).collect()))
                    }
                    _ => None,
                })
                .collect();
            let header: Vec<&Vec<String>> = rows.iter().filter(|r| r.0).map(|r| &r.1).collect();
            if header.len() != 1 || header[0] != SUMMARY_COLUMNS {
                problems.push(format!("summary header {header:?}"));
            }
            let body: Vec<&Vec<String>> = rows.iter().filter(|r| !r.0).map(|r| &r.1).collect();
            if body.len() != provisions.len() {
                problems.push(format!(
                    "summary has {} rows for {} provisions",
                    body.len(),
                    provisions.len()
                ));
            }
            for (row, p) in body.iter().zip(&provisions) {
                // The summary names a VM by its uuid's first group; its section has the whole.
                let want_vm = p["vm_uuid"]
                    .as_str()
                    .map_or("—", |vm| vm.split('-').next().unwrap_or(vm));
                let want_key = p["diagnosis"]["key"].as_str().unwrap_or("?");
                if row.len() != SUMMARY_COLUMNS.len() || row[0] != want_vm || row[6] != want_key {
                    problems.push(format!("summary row {row:?} (want {want_vm}, {want_key})"));
                }
            }
        }
    }

    let mut mermaid_tasks = Vec::new();
    for node in root.descendants() {
        match &node.data().value {
            NodeValue::CodeBlock(block) => {
                if block.fenced && !block.closed {
                    problems.push(format!(
                        "a {:?} code block is never closed: it swallows the rest of the report",
                        block.info
                    ));
                }
                if block.info == "mermaid" {
                    if block.fence_char != b'`' {
                        problems.push("mermaid block not fenced with backticks".into());
                    }
                    mermaid_tasks.push(check_mermaid(&block.literal, &mut problems));
                }
            }
            NodeValue::HtmlBlock(html) => {
                for tag in tags_in(&html.literal) {
                    if !ALLOWED_TAGS.contains(&tag.as_str()) {
                        problems.push(format!("raw HTML <{tag}> in block {:?}", html.literal));
                    }
                }
            }
            NodeValue::HtmlInline(html) => {
                for tag in tags_in(html) {
                    if !ALLOWED_TAGS.contains(&tag.as_str()) {
                        problems.push(format!("raw inline HTML {html:?}"));
                    }
                }
            }
            NodeValue::Link(link) | NodeValue::Image(link) if !safe_target(&link.url) => {
                problems.push(format!("link to {:?}", link.url));
            }
            _ => {}
        }
    }
    let want_tasks: Vec<usize> = provisions
        .iter()
        .map(tasks_with_times)
        .filter(|n| *n > 0)
        // The chart draws at most 60 tasks (the failed ones among them).
        .map(|n| n.min(60))
        .collect();
    if mermaid_tasks != want_tasks {
        problems.push(format!(
            "mermaid task lines per chart {mermaid_tasks:?}, tasks with times per provision {want_tasks:?}"
        ));
    }
    problems
}

/// The markdown rendered as GitHub shows it, in a page with a GitHub-like style, for a browser.
fn preview(name: &str, md: &str) {
    let Some(dir) = preview_dir() else {
        return;
    };
    let mut options = gfm();
    options.render.r#unsafe = true;
    let arena = Arena::new();
    let mut body = String::new();
    format_html(parse_document(&arena, md, &options), &options, &mut body).expect("render");
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{name}</title><style>{}</style>\
         </head><body><article class=\"markdown-body\">{body}</article></body></html>",
        GITHUB_STYLE
    );
    std::fs::write(dir.join(format!("{name}.md.html")), page).expect("write the preview");
}

#[test]
fn every_scenario_renders_as_intended() {
    let problems = for_every_scenario(|c: &Collected| {
        let md = c.report("markdown");
        preview(&c.scenario, &md);
        let report = c.json();
        let mut problems = check_markdown(&md, &report);
        if report["provisions"].as_array().map_or(0, Vec::len) == 0 {
            problems.push("no provision in the report".into());
        }
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let report = serde_json::json!({"provisions": []});
    let bad = "# Triton provision analysis\n\n## Summary\n\n## Appendix\n\n\
               <script>x</script>\n\n[a](javascript:alert(1))\n\n```mermaid\nflowchart\n```\n\n\
               ````text\nnever closed\n```\n";
    let problems = check_markdown(bad, &report).join("\n");
    for want in ["raw HTML <script>", "javascript:", "gantt", "never closed"] {
        assert!(problems.contains(want), "{want} not caught: {problems}");
    }
    assert!(safe_target("docs/diagnoses.md#kvm-qemu-out-of-memory"));
    assert!(safe_target("#provision-1"));
    assert!(!safe_target("JavaScript:alert(1)"));
    assert!(!safe_target("//evil.example/x"));
}

#[test]
fn hostile_log_text_renders_as_text() {
    let work = tempfile::tempdir().expect("temporary directory");
    let c = collect("kvm-qemu-out-of-memory", work.path(), plant_hostile_text);
    let md = c.report("markdown");
    preview("hostile", &md);
    let report = c.json();
    let problems = check_markdown(&md, &report);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let arena = Arena::new();
    let root = parse_document(&arena, &md, &gfm());
    // The hostile text is quoted: in code blocks, verbatim.
    let quoted = root.descendants().any(|n| match &n.data().value {
        NodeValue::CodeBlock(b) => b.literal.contains("</details><script>alert(1)</script>"),
        _ => false,
    });
    assert!(
        quoted,
        "the planted text is not quoted in a code block:\n{md}"
    );
    // Outside code nothing of it acts: no mention, no link, no HTML.
    for node in root.descendants() {
        if let NodeValue::Text(text) = &node.data().value {
            assert!(!text.contains("@here"), "a mention outside code: {text:?}");
        }
    }
    let mut options = gfm();
    options.render.r#unsafe = true;
    let mut html = String::new();
    format_html(root, &options, &mut html).expect("render");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("href=\"javascript"), "{html}");
    assert_eq!(
        html.matches("<details>").count(),
        html.matches("</details>").count(),
        "a planted </details> closes the report's own"
    );
    assert!(
        HOSTILE.lines().count() > 1,
        "the planted text spans lines, as fences need"
    );
}

/// Enough of GitHub's markdown style to judge the report by eye.
const GITHUB_STYLE: &str = r#"
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 45px;
  color: #1f2328; font: 16px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
.markdown-body h1, .markdown-body h2 { padding-bottom: .3em; border-bottom: 1px solid #d1d9e0; }
.markdown-body h1 { font-size: 2em; } .markdown-body h2 { font-size: 1.5em; }
.markdown-body h3 { font-size: 1.25em; } .markdown-body h4 { font-size: 1em; }
.markdown-body h1, .markdown-body h2, .markdown-body h3, .markdown-body h4 {
  margin: 24px 0 16px; font-weight: 600; line-height: 1.25; }
.markdown-body code { padding: .2em .4em; font-size: 85%; background: rgba(129,139,152,.12);
  border-radius: 6px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.markdown-body pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45;
  background: #f6f8fa; border-radius: 6px; }
.markdown-body pre code { padding: 0; background: transparent; font-size: 100%; white-space: pre; }
.markdown-body table { display: block; width: max-content; max-width: 100%; overflow: auto;
  border-spacing: 0; border-collapse: collapse; }
.markdown-body td, .markdown-body th { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body th { font-weight: 600; } .markdown-body tr:nth-child(2n) { background: #f6f8fa; }
"#;
