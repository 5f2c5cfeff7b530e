//! Sentences both sinks print, written once over a [`Markup`]: markdown and HTML differ only in
//! how text, code and emphasis are marked up, never in what is said.

use std::fmt::Write;

use super::model::Report;
use crate::facts::timeline::JoinKeys;

/// How a sink marks up untrusted text, identifiers and emphasis.
pub trait Markup {
    /// Untrusted text, escaped.
    fn text(&self, text: &str) -> String;
    /// An identifier or value shown as code.
    fn code(&self, text: &str) -> String;
    /// Already marked-up text, emphasized.
    fn strong(&self, marked: &str) -> String;
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
