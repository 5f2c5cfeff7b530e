//! `--format html`: one self-contained file with the markdown report's content. Reports of
//! simulated scenarios are parsed with a strict XML parser (the report is written well-formed, so
//! an unclosed element or a stray `<` from log text fails here) and checked against the JSON
//! report of the same bundle: one SVG bar per task, the timeline's host filter listing exactly
//! the timeline's hosts, no external asset, hostile log text escaped.
//!
//! With `TRITON_REPORT_PREVIEW_DIR=DIR` the reports are also written to `DIR/<scenario>.html`.

mod collected;

use std::collections::BTreeSet;

use roxmltree::{Document, Node, ParsingOptions};
use serde_json::Value;

use collected::{collect, plant_hostile_text, preview_dir, Collected};

/// A failed provision of each kind of chart and timeline: KVM with a CN clock offset, an OS zone
/// destroyed after failing, one without a job at all, and a 7.0 job with a destroy job after it.
const SCENARIOS: &[&str] = &[
    "kvm-qemu-out-of-memory",
    "zone-setup-failed-destroyed",
    "no-allocatable-servers",
    "destroyed-during-provision",
];

/// Parses strictly as XML; `<!DOCTYPE html>` is the only DTD a report has.
fn parse(html: &str) -> Document<'_> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(html, options)
        .unwrap_or_else(|e| panic!("the HTML report is not well-formed: {e}"))
}

fn has_class(node: &Node, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

fn elements<'a, 'i>(root: Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
    root.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == name)
        .collect()
}

fn text(node: &Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// Every way the report could reach outside its own file.
fn external_references(doc: &Document) -> Vec<String> {
    let mut found = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        for attr in n.attributes() {
            let value = attr.value().trim().to_ascii_lowercase();
            let outside = match attr.name() {
                "href" => !value.starts_with('#'),
                "src" | "srcset" | "action" | "formaction" | "poster" | "data" => true,
                _ => value.starts_with("javascript:") || value.contains("url("),
            };
            if outside {
                found.push(format!(
                    "<{} {}={:?}>",
                    n.tag_name().name(),
                    attr.name(),
                    attr.value()
                ));
            }
        }
        if matches!(
            n.tag_name().name(),
            "link" | "iframe" | "img" | "object" | "embed"
        ) {
            found.push(format!("<{}>", n.tag_name().name()));
        }
    }
    for style in elements(doc.root(), "style") {
        if text(&style).contains("url(") || text(&style).contains("@import") {
            found.push("a stylesheet loading something".into());
        }
    }
    found
}

/// The HTML report checked against the JSON report of the same bundle.
fn check_html(html: &str, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let doc = parse(html);
    let root = doc.root();
    problems.extend(external_references(&doc));
    let h1: Vec<String> = elements(root, "h1").iter().map(text).collect();
    if h1 != ["Triton provision analysis"] {
        problems.push(format!("H1 {h1:?}"));
    }
    let provisions = report["provisions"].as_array().cloned().unwrap_or_default();
    let summary_rows = elements(root, "table")
        .into_iter()
        .find(|t| has_class(t, "summary"))
        .map(|t| {
            elements(t, "tbody")
                .iter()
                .map(|b| elements(*b, "tr").len())
                .sum()
        })
        .unwrap_or(0);
    if summary_rows != provisions.len() {
        problems.push(format!(
            "{summary_rows} summary rows for {} provisions",
            provisions.len()
        ));
    }
    let sections: Vec<Node> = elements(root, "section")
        .into_iter()
        .filter(|s| has_class(s, "provision"))
        .collect();
    if sections.len() != provisions.len() {
        problems.push(format!(
            "{} sections for {} provisions",
            sections.len(),
            provisions.len()
        ));
    }
    for (section, p) in sections.iter().zip(&provisions) {
        let id = p["id"].as_str().unwrap_or("?");
        let tasks: Vec<&Value> = p["tasks"].as_array().into_iter().flatten().collect();
        let bars: Vec<Node> = elements(*section, "rect")
            .into_iter()
            .filter(|r| has_class(r, "bar"))
            .collect();
        if bars.len() != tasks.len() {
            problems.push(format!(
                "{id}: {} bars for {} tasks",
                bars.len(),
                tasks.len()
            ));
        }
        let failed_bars = bars.iter().filter(|b| has_class(b, "failed")).count();
        let failed_tasks = tasks.iter().filter(|t| t["failed"] == true).count();
        if failed_bars != failed_tasks {
            problems.push(format!(
                "{id}: {failed_bars} red bars for {failed_tasks} failed tasks"
            ));
        }
        if !tasks.is_empty() && elements(*section, "svg").len() != 1 {
            problems.push(format!("{id}: not one <svg> chart"));
        }

        let timeline: Vec<&Value> = p["timeline"].as_array().into_iter().flatten().collect();
        let want_hosts: BTreeSet<String> = timeline
            .iter()
            .map(|e| e["place"]["host"].as_str().unwrap_or("-").to_string())
            .collect();
        let select = elements(*section, "select")
            .into_iter()
            .find(|s| has_class(s, "host-filter"));
        let Some(select) = select else {
            if !timeline.is_empty() {
                problems.push(format!("{id}: no host filter over its timeline"));
            }
            continue;
        };
        let listed: Vec<String> = elements(select, "option")
            .iter()
            .filter_map(|o| o.attribute("value"))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if listed.iter().cloned().collect::<BTreeSet<_>>() != want_hosts
            || listed.len() != want_hosts.len()
        {
            problems.push(format!(
                "{id}: the filter lists {listed:?}, the timeline has {want_hosts:?}"
            ));
        }
        let table_id = select.attribute("data-table").unwrap_or("");
        let rows: Vec<Node> = elements(root, "table")
            .into_iter()
            .filter(|t| t.attribute("id") == Some(table_id))
            .flat_map(|t| elements(t, "tbody"))
            .flat_map(|b| elements(b, "tr"))
            .collect();
        if rows.len() != timeline.len() {
            problems.push(format!(
                "{id}: {} timeline rows for {} entries (table {table_id:?})",
                rows.len(),
                timeline.len()
            ));
        }
        for (row, entry) in rows.iter().zip(&timeline) {
            let host = entry["place"]["host"].as_str().unwrap_or("-");
            if row.attribute("data-host") != Some(host) {
                problems.push(format!("{id}: a row of host {host} is not marked so"));
            }
        }
    }
    problems
}

fn preview(name: &str, html: &str) {
    if let Some(dir) = preview_dir() {
        std::fs::write(dir.join(format!("{name}.html")), html).expect("write the preview");
    }
}

#[test]
fn scenarios_render_as_self_contained_html() {
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for pair in SCENARIOS.chunks(2) {
            let problems = &problems;
            scope.spawn(move || {
                for scenario in pair {
                    let work = tempfile::tempdir().expect("temporary directory");
                    let c: Collected = collect(scenario, work.path(), |_, _| {});
                    let html = c.report("html");
                    preview(scenario, &html);
                    let found = check_html(&html, &c.json());
                    problems
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(found.into_iter().map(|p| format!("{scenario}: {p}")));
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn hostile_log_text_is_escaped() {
    let work = tempfile::tempdir().expect("temporary directory");
    let c = collect("kvm-qemu-out-of-memory", work.path(), plant_hostile_text);
    let html = c.report("html");
    preview("hostile", &html);
    let problems = check_html(&html, &c.json());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let doc = parse(&html);
    let root = doc.root();
    let scripts = elements(root, "script");
    assert_eq!(scripts.len(), 1, "only the report's own script");
    assert!(text(&scripts[0]).contains("host-filter"));
    for details in elements(root, "details") {
        let summary = elements(details, "summary")
            .first()
            .map(text)
            .unwrap_or_default();
        assert!(
            summary.starts_with(|c: char| c.is_ascii_digit()),
            "a <details> the report did not write: {summary:?}"
        );
    }
    let quoted = elements(root, "pre")
        .iter()
        .filter(|pre| text(pre).contains("</details><script>alert(1)</script> [x](javascript:"))
        .count();
    assert!(
        quoted >= 2,
        "the planted text is not quoted verbatim in the job error and vm.log excerpts"
    );
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let report = serde_json::json!({"provisions": [{"id": "j", "tasks": [
        {"name": "a", "started_at": "2024-01-01T00:00:00Z", "finished_at": "2024-01-01T00:00:01Z", "failed": true}],
        "timeline": [{"place": {"host": "h1"}}]}]});
    let html =
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"https://cdn.example/x.css\"/>\
        </head><body><h1>Triton provision analysis</h1><section class=\"provision\">\
        <svg><rect class=\"bar done\"/></svg><select class=\"host-filter\" data-table=\"t\">\
        <option value=\"\">all</option><option value=\"h2\">h2</option></select></section>\
        <table id=\"t\"><tbody><tr data-host=\"h2\"><td>x</td></tr></tbody></table></body></html>";
    let problems = check_html(html, &report).join("\n");
    for want in [
        "<link",
        "0 summary rows",
        "0 red bars",
        "the filter lists",
        "not marked",
    ] {
        assert!(problems.contains(want), "{want} not caught: {problems}");
    }
    let unclosed = std::panic::catch_unwind(|| {
        parse("<!DOCTYPE html><html><body><p>unclosed</body></html>");
    });
    assert!(unclosed.is_err(), "an unclosed element must not parse");
}
