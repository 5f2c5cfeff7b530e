//! The text of what the person running the collector sees on stderr: one line per source as it
//! completes (with the running totals), and the final summary. How it is shown (live line or
//! plain lines) is [`crate::progress`]'s job.

use std::collections::HashMap;

use triton_bundle::manifest::{HostInfo, Item};

use crate::plan::Task;
use crate::runner::is_failure;
use crate::size::human;

/// Counts tasks per source so a line can be printed when a source's last task is done.
pub struct SourceTally {
    remaining: HashMap<String, usize>,
    done: HashMap<String, (usize, u64, usize)>,
    sources_total: usize,
    sources_done: usize,
    /// Files stored and their bytes, over every source so far.
    files_total: u64,
    bytes_total: u64,
}

impl SourceTally {
    /// A tally of `tasks`, its running totals starting from the items already collected.
    pub fn new(tasks: &[Task], already: &[Item]) -> SourceTally {
        let mut remaining: HashMap<String, usize> = HashMap::new();
        for t in tasks {
            *remaining.entry(t.source.clone()).or_insert(0) += 1;
        }
        let sources_total = remaining.len();
        SourceTally {
            remaining,
            done: HashMap::new(),
            sources_total,
            sources_done: 0,
            files_total: already.iter().filter(|i| i.path.is_some()).count() as u64,
            bytes_total: already.iter().map(|i| i.bytes).sum(),
        }
    }

    /// Records a finished item; returns the progress line when its source is complete.
    pub fn finished(&mut self, item: &Item) -> Option<String> {
        let entry = self.done.entry(item.source.clone()).or_insert((0, 0, 0));
        entry.0 += 1;
        entry.1 += item.bytes;
        if is_failure(item) {
            entry.2 += 1;
        }
        self.files_total += u64::from(item.path.is_some());
        self.bytes_total += item.bytes;
        let left = self.remaining.get_mut(&item.source)?;
        *left = left.saturating_sub(1);
        if *left > 0 {
            return None;
        }
        self.sources_done += 1;
        let (count, bytes, failures) = self.done[&item.source];
        let failed = if failures > 0 {
            format!(", {failures} not collected")
        } else {
            String::new()
        };
        Some(format!(
            "[{}/{}] {}: {count} item(s), {}{failed} (bundle so far: {} file(s), {})",
            self.sources_done,
            self.sources_total,
            item.source,
            human(bytes),
            self.files_total,
            human(self.bytes_total)
        ))
    }
}

/// One line per source of the items gathered while resolving the scope (API answers, core-zone
/// lookups, `vmadm get`, `imgadm get`), in the order the sources were first asked.
pub fn discovery_lines(items: &[Item]) -> Vec<String> {
    let mut order: Vec<&str> = Vec::new();
    let mut tallies: HashMap<&str, (usize, u64, usize)> = HashMap::new();
    for item in items {
        let entry = tallies.entry(item.source.as_str()).or_insert_with(|| {
            order.push(item.source.as_str());
            (0, 0, 0)
        });
        entry.0 += 1;
        entry.1 += item.bytes;
        if is_failure(item) {
            entry.2 += 1;
        }
    }
    order
        .into_iter()
        .map(|source| {
            let (count, bytes, failures) = tallies[source];
            let failed = if failures > 0 {
                format!(", {failures} not collected")
            } else {
                String::new()
            };
            format!("{source}: {count} item(s), {}{failed}", human(bytes))
        })
        .collect()
}

/// One line describing an item that is missing from the bundle.
pub fn describe_failure(item: &Item) -> String {
    let what = match &item.origin {
        triton_bundle::manifest::Origin::File { path } => path.clone(),
        triton_bundle::manifest::Origin::Command { argv } => argv.join(" "),
    };
    let host = item
        .host
        .as_deref()
        .map(|h| format!(" on {h}"))
        .unwrap_or_default();
    let why = item.error.clone().unwrap_or_else(|| {
        if item.timed_out {
            "timed out".to_string()
        } else {
            "cut at the size cap".to_string()
        }
    });
    format!("{} ({}){host}: {why}", item.source, what)
}

/// The final lines: where the bundle is and what it lacks.
pub fn summary(
    path: &std::path::Path,
    bytes: u64,
    sha256: &str,
    items: &[Item],
    hosts: &[HostInfo],
) -> Vec<String> {
    let mut lines = vec![
        format!("bundle: {} ({})", path.display(), human(bytes)),
        format!("sha256: {sha256}"),
    ];
    let failures: Vec<&Item> = items.iter().filter(|i| is_failure(i)).collect();
    let host_errors: Vec<&HostInfo> = hosts.iter().filter(|h| h.error.is_some()).collect();
    if failures.is_empty() && host_errors.is_empty() {
        lines.push("everything looked for was collected".to_string());
        return lines;
    }
    lines.push(format!(
        "not collected: {} item(s), {} host(s) (details in manifest.json):",
        failures.len(),
        host_errors.len()
    ));
    for h in &host_errors {
        lines.push(format!(
            "  host {} ({}): {}",
            h.server_uuid,
            h.hostname,
            h.error.as_deref().unwrap_or("")
        ));
    }
    const SHOWN: usize = 20;
    for item in failures.iter().take(SHOWN) {
        lines.push(format!("  {}", describe_failure(item)));
    }
    if failures.len() > SHOWN {
        lines.push(format!("  ... and {} more", failures.len() - SHOWN));
    }
    lines
}
