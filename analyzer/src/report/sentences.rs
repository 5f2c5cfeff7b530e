//! Sentences both sinks print, written once over a [`Markup`]: markdown and HTML differ only in
//! how text, code and emphasis are marked up, never in what is said.

use std::fmt::Write;

use super::model::{ProvisionReport, Report};
use crate::facts::ladder::{LadderRow, StepStatus, TaskCell};
use crate::facts::timeline::JoinKeys;
use crate::rules::Evidence;

/// How a sink marks up untrusted text, identifiers and emphasis.
pub trait Markup {
    /// Untrusted text, escaped.
    fn text(&self, text: &str) -> String;
    /// An identifier or value shown as code.
    fn code(&self, text: &str) -> String;
    /// Already marked-up text, emphasized.
    fn strong(&self, marked: &str) -> String;
    /// A heading of `level` (2: a part of the report, 3: a section) over plain text.
    fn heading(&self, level: u8, text: &str) -> String;
    /// A paragraph of marked-up text.
    fn paragraph(&self, marked: &str) -> String;
    /// A bulleted list of marked-up items.
    fn list(&self, items: &[String]) -> String;
    /// A table: plain column names, marked-up cells.
    fn table(&self, header: &[&str], rows: &[Vec<String>]) -> String;
    /// A block folded under a one-line plain-text summary, open on a click.
    fn details(&self, summary: &str, block: &str) -> String;
}

/// Most inputs named in the first line; the appendix lists them all.
const INPUTS_IN_LINE: usize = 3;

/// `triton-analyze 0.1.0 over `b.tar.gz` (bundle, complete), 2 hosts, data from … to ….`
pub fn inputs_line(r: &Report, m: &dyn Markup) -> String {
    let mut named: Vec<String> = r
        .inputs
        .iter()
        .take(INPUTS_IN_LINE)
        .map(|i| {
            let state = match (i.complete, i.manifest) {
                (Some(true), _) => "complete".to_string(),
                (Some(false), _) => m.strong("incomplete"),
                (None, true) => "manifest".to_string(),
                (None, false) => "no manifest".to_string(),
            };
            format!("{} ({}, {state})", m.code(&i.name), m.text(&i.kind))
        })
        .collect();
    if r.inputs.len() > INPUTS_IN_LINE {
        named.push(format!("{} more", r.inputs.len() - INPUTS_IN_LINE));
    }
    if !r.unreadable.is_empty() {
        named.push(m.strong(&format!("{} unreadable", r.unreadable.len())));
    }
    let mut line = format!(
        "{} {} over {}",
        m.text(r.tool),
        m.text(r.version),
        if named.is_empty() {
            "no readable input".to_string()
        } else {
            named.join(", ")
        }
    );
    if !r.hosts.is_empty() {
        let _ = write!(
            line,
            ", {} host{}",
            r.hosts.len(),
            if r.hosts.len() == 1 { "" } else { "s" }
        );
    }
    if let Some((a, b)) = &r.window {
        let _ = write!(line, ", data from {} to {}", m.code(a), m.code(b));
    }
    line.push('.');
    line
}

/// `Joined on VM `…`, job `…`, request id `…`, CNAPI tasks `…`, `…`.`
pub fn joined_on_line(keys: &JoinKeys, m: &dyn Markup) -> String {
    let list = |ids: &[String]| ids.iter().map(|i| m.code(i)).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if let Some(vm) = &keys.vm_uuid {
        parts.push(format!("VM {}", m.code(vm)));
    }
    if let Some(job) = &keys.job_uuid {
        parts.push(format!("job {}", m.code(job)));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if !keys.request_ids.is_empty() {
        parts.push(format!(
            "request id{} {}",
            plural(keys.request_ids.len()),
            list(&keys.request_ids)
        ));
    }
    if !keys.task_ids.is_empty() {
        parts.push(format!(
            "CNAPI task{} {}",
            plural(keys.task_ids.len()),
            list(&keys.task_ids)
        ));
    }
    if parts.is_empty() {
        "Joined on nothing: the provision names no id.".to_string()
    } else {
        format!("Joined on {}.", parts.join(", "))
    }
}

/// Where an evidence excerpt is: when it was logged, on which host, in which file and line there;
/// then where to open it in the input. The input's entry is named only when it is not simply the
/// host's file under `hosts/<host>/files/` (the bundle layout), so a place is not said twice.
pub fn evidence_place(e: &Evidence, m: &dyn Markup) -> String {
    let place = &e.place;
    let mut parts = Vec::new();
    if let Some(t) = &e.time {
        parts.push(m.code(t));
    }
    if let Some(host) = &place.host {
        parts.push(format!("host {}", m.code(host)));
    }
    // The folder the host's file sits under in the input, when the entry is the host's file
    // copied whole or cut (`hosts/<host>/files/` in a bundle; anything in a hand-made tarball).
    let copy_prefix = place.host_path.as_deref().and_then(|path| {
        place
            .entry
            .strip_suffix(path.trim_start_matches('/'))
            .filter(|prefix| prefix.is_empty() || prefix.ends_with('/'))
    });
    let host_copy = copy_prefix.is_some();
    // The original's line: mapped from a cut copy's, or the copy's own when the copy is the
    // whole file (a cut copy always says where it starts, in the manifest).
    let line_on_host = match (e.line_in_bundle, e.original_offset_start) {
        (Some(_), _) => e.line,
        (None, None) if host_copy => e.line,
        _ => None,
    };
    if let Some(path) = &place.host_path {
        parts.push(match line_on_host {
            Some(line) => format!("{} line {line}", m.code(path)),
            None => m.code(path),
        });
    } else if let Some(cmd) = &place.command {
        parts.push(format!("command {}", m.code(cmd)));
    } else if let Some(api) = &place.api {
        parts.push(format!("API {}", m.code(api)));
    }
    let mut input = format!("in {}", m.code(&place.input));
    let bundle_layout = place
        .host
        .as_ref()
        .map(|host| format!("hosts/{host}/files/"));
    if let Some(prefix) =
        copy_prefix.filter(|p| !p.is_empty() && Some(*p) != bundle_layout.as_deref())
    {
        let _ = write!(input, " under {}", m.code(prefix));
    }
    let line_in_input = e.line_in_bundle.or(e.line);
    match (host_copy, line_in_input, e.original_offset_start) {
        (true, Some(line), None) if e.line_in_bundle.is_some() => {
            let _ = write!(input, " (line {line} of its cut copy)");
        }
        (true, Some(line), Some(offset)) => {
            let _ = write!(
                input,
                " (line {line} of its cut copy, which starts at byte {offset} of the original)"
            );
        }
        (true, _, _) => {}
        (false, line, offset) => {
            let entry = match line {
                Some(line) => format!("{}:{line}", place.entry),
                None => place.entry.clone(),
            };
            let _ = write!(input, " {}", m.code(&entry));
            if let Some(offset) = offset {
                let _ = write!(input, " (line counted from byte {offset} of the original)");
            }
        }
    }
    parts.push(input);
    parts.join(" · ")
}

/// The guide's steps this workflow version does not have, in one sentence under the ladder
/// instead of a table row each.
pub fn not_in_version_line(p: &ProvisionReport, m: &dyn Markup) -> Option<String> {
    let steps: Vec<String> = p
        .ladder
        .iter()
        .filter(|row| row.status == StepStatus::NotInVersion)
        .map(|row| format!("{} {}", m.text(&row.guide_steps), m.text(&row.title)))
        .collect();
    if steps.is_empty() {
        return None;
    }
    let version = match &p.workflow {
        Some(w) => m.code(w),
        None => "this workflow version".to_string(),
    };
    Some(format!(
        "Not part of {version} (guide step{}): {}.",
        if steps.len() == 1 { "" } else { "s" },
        steps.join("; ")
    ))
}

/// Most tasks drawn in the task chart, and listed in one ladder row. A real provision has a few
/// dozen; a broken or hostile job with thousands would make both unreadable (and the report
/// huge). The JSON report keeps every task.
pub const CHART_TASKS_MAX: usize = 60;
pub const ROW_TASKS_MAX: usize = 12;

/// At most `max` of `items`, in their order, those `needed` says first; and how many were left
/// out.
pub fn capped<T>(items: &[T], max: usize, needed: impl Fn(&T) -> bool) -> (Vec<&T>, usize) {
    if items.len() <= max {
        return (items.iter().collect(), 0);
    }
    let mut room_for_others = max.saturating_sub(items.iter().filter(|i| needed(i)).count());
    let mut room = max;
    let mut kept = Vec::with_capacity(max);
    for item in items {
        if room == 0 {
            break;
        }
        if needed(item) {
            kept.push(item);
            room -= 1;
        } else if room_for_others > 0 {
            kept.push(item);
            room -= 1;
            room_for_others -= 1;
        }
    }
    let left_out = items.len() - kept.len();
    (kept, left_out)
}

/// `… and 99 988 more tasks (the JSON report lists them)`.
pub fn more_tasks(left_out: usize) -> String {
    format!(
        "… and {left_out} more task{} (the JSON report lists them all)",
        if left_out == 1 { "" } else { "s" }
    )
}

/// ` 0.5 s / 10 s (5%)`: a task's duration against its timeout, as far as both are known.
pub fn task_timing(t: &TaskCell) -> String {
    match (t.duration_s, t.timeout_s) {
        (Some(d), Some(to)) => format!(
            " {d:.1} s / {to:.0} s ({:.0}%)",
            t.timeout_share().unwrap_or(0.0)
        ),
        (Some(d), None) => format!(" {d:.1} s"),
        (None, Some(to)) => format!(" — / {to:.0} s"),
        (None, None) => String::new(),
    }
}

/// The ladder's table rows: the steps not in this version left out (see
/// [`not_in_version_line`]), and consecutive steps done inside `POST /vms` before the job (8.2+:
/// NIC tags, candidate servers, allocation, NICs) in one row, since they say one thing. Each
/// row's tasks are capped at [`ROW_TASKS_MAX`] (failed ones first); the count left out is beside.
pub fn ladder_rows(p: &ProvisionReport) -> Vec<(LadderRow, usize)> {
    let mut rows: Vec<(LadderRow, usize)> = Vec::new();
    for row in &p.ladder {
        if row.status == StepStatus::NotInVersion {
            continue;
        }
        let folds = |last: &LadderRow| {
            [last.status, row.status] == [StepStatus::BeforeJob; 2]
                && last.tasks.is_empty()
                && row.tasks.is_empty()
        };
        match rows.last_mut() {
            Some((last, _)) if folds(last) => {
                let first = last.guide_steps.split('-').next().unwrap_or("").to_string();
                let end = row.guide_steps.rsplit('-').next().unwrap_or("");
                last.guide_steps = format!("{first}-{end}");
                last.title = format!("{}; {}", last.title, row.title);
            }
            _ => {
                let (tasks, left_out) = capped(&row.tasks, ROW_TASKS_MAX, |t| {
                    t.status == StepStatus::Failed
                });
                let shown = LadderRow {
                    stage: row.stage.clone(),
                    guide_steps: row.guide_steps.clone(),
                    title: row.title.clone(),
                    status: row.status,
                    tasks: tasks.into_iter().cloned().collect(),
                };
                rows.push((shown, left_out));
            }
        }
    }
    rows
}

/// `VM `…` — job `…``: what heads a provision's section.
pub fn provision_title(p: &ProvisionReport, m: &dyn Markup) -> String {
    match (&p.vm_uuid, &p.job_uuid) {
        (Some(vm), Some(job)) => format!("VM {} — job {}", m.code(vm), m.code(job)),
        (Some(vm), None) => format!("VM {} — no job", m.code(vm)),
        (None, Some(job)) => format!("job {}", m.code(job)),
        (None, None) => format!("request {}", m.code(&p.id)),
    }
}

/// `brand `kvm` · workflow `provision-8.2.4` (era 8.2+) · result failed · server `…` · …`.
pub fn provision_facts(p: &ProvisionReport, m: &dyn Markup) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(|v| m.code(v)).unwrap_or("—".into());
    let mut facts = vec![
        format!("brand {}", opt(&p.brand)),
        format!("workflow {} (era {})", opt(&p.workflow), m.text(p.era)),
        format!("result {}", m.text(p.result)),
        format!("server {}", opt(&p.server_uuid)),
    ];
    if let Some(r) = &p.request_id {
        facts.push(format!("request id {}", m.code(r)));
    }
    if let Some(t) = &p.created_at {
        facts.push(format!("created {}", m.code(t)));
    }
    facts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::place::Place;

    /// Plain markup, so the tests read the words.
    struct Plain;

    impl Markup for Plain {
        fn text(&self, text: &str) -> String {
            text.to_string()
        }
        fn code(&self, text: &str) -> String {
            format!("`{text}`")
        }
        fn strong(&self, marked: &str) -> String {
            marked.to_string()
        }
        fn heading(&self, _: u8, text: &str) -> String {
            text.to_string()
        }
        fn paragraph(&self, marked: &str) -> String {
            marked.to_string()
        }
        fn list(&self, items: &[String]) -> String {
            items.join("\n")
        }
        fn table(&self, _: &[&str], rows: &[Vec<String>]) -> String {
            rows.iter()
                .map(|r| r.join("|"))
                .collect::<Vec<_>>()
                .join("\n")
        }
        fn details(&self, summary: &str, block: &str) -> String {
            format!("{summary}: {block}")
        }
    }

    const HOST: &str = "44454c4c-88a8-1087-80c8-183deff76814";
    const LOG: &str = "/var/svc/log/system-smartdc-vmadmd:default.log";

    fn evidence(entry: &str, line: u64, line_in_bundle: Option<u64>) -> Evidence {
        Evidence {
            place: Place {
                input: "b.tar.gz".into(),
                entry: entry.into(),
                host: Some(HOST.into()),
                host_path: Some(LOG.into()),
                ..Place::default()
            },
            line: Some(line),
            line_in_bundle,
            original_offset_start: None,
            time: Some("2024-05-11T08:58:04.287Z".into()),
            excerpt: String::new(),
            note: String::new(),
        }
    }

    #[test]
    fn a_host_file_in_the_bundle_layout_is_named_once() {
        let entry = format!("hosts/{HOST}/files{LOG}");
        assert_eq!(
            evidence_place(&evidence(&entry, 14, Some(2)), &Plain),
            format!(
                "`2024-05-11T08:58:04.287Z` · host `{HOST}` · `{LOG}` line 14 · in `b.tar.gz` \
                 (line 2 of its cut copy)"
            )
        );
        assert_eq!(
            evidence_place(&evidence(&entry, 14, None), &Plain),
            format!("`2024-05-11T08:58:04.287Z` · host `{HOST}` · `{LOG}` line 14 · in `b.tar.gz`")
        );
    }

    #[test]
    fn capping_keeps_the_needed_items_and_the_order() {
        let items: Vec<u32> = (0..100).collect();
        let (kept, left_out) = capped(&items, 5, |i| *i == 97);
        assert_eq!(kept, [&0, &1, &2, &3, &97]);
        assert_eq!(left_out, 95);
        let (kept, left_out) = capped(&items[..4], 5, |_| false);
        assert_eq!((kept.len(), left_out), (4, 0));
    }

    #[test]
    fn a_hand_made_layout_names_the_folder_and_other_entries_in_full() {
        let placed = evidence_place(&evidence(&format!("{HOST}{LOG}"), 7, None), &Plain);
        assert!(
            placed.ends_with(&format!("`{LOG}` line 7 · in `b.tar.gz` under `{HOST}/`")),
            "{placed}"
        );
        let placed = evidence_place(&evidence("gz-logs.tar.gz//svc.log", 7, None), &Plain);
        assert!(
            placed.ends_with(&format!(
                "`{LOG}` · in `b.tar.gz` `gz-logs.tar.gz//svc.log:7`"
            )),
            "{placed}"
        );
    }
}
