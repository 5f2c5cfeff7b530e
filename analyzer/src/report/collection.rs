//! What the collection itself says about its gaps, sorted by whether the engineer must act.
//!
//! The collector records every source it considered. Most of the "not collected" entries are
//! not gaps at all: a file that does not exist on that host (`not found`), a device left out on
//! purpose (`skipped:`), or a source that does not apply to the host (a note `not collected
//! here (<why>): <sources>`). Listing those as warnings buries the real ones (a command that
//! timed out, a host that did not answer, a file cut by a size cap), so they are kept apart.

use serde::Serialize;

use crate::facts::Facts;
use crate::input::manifest::ItemView;

/// Manifest item error prefixes the collector uses for things that are simply not there.
const NOT_APPLICABLE_ERRORS: [&str; 2] = ["not found", "skipped:"];

/// Manifest note text of a source that does not apply to a host.
const NOT_APPLICABLE_NOTE: &str = "not collected here (";

/// Manifest note text that describes the collection without reporting a gap (a host's notes
/// come prefixed with `CN <uuid>: `).
const INFORMATIONAL_NOTES: [&str; 3] = ["time slicing:", "priority:", "free space:"];

/// Most failed items listed per input before the rest are counted.
const MAX_FAILED_ITEMS: usize = 20;

/// The collection's own account, split by what it means for the reader.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CollectionReport {
    /// Real gaps: failed, timed out, cut, unreachable host, unreadable input, no manifest.
    pub warnings: Vec<String>,
    /// Sources that do not exist or do not apply on a host (not a gap).
    pub not_applicable: Vec<String>,
    /// What the collector says about how it collected (e.g. time slicing).
    pub notes: Vec<String>,
}

/// Whether an item means the bundle misses something that exists.
fn item_failed(item: &ItemView) -> bool {
    item.timed_out
        || item.truncated
        || item
            .error
            .as_deref()
            .is_some_and(|e| !NOT_APPLICABLE_ERRORS.iter().any(|p| e.starts_with(p)))
}

fn item_line(input: &str, item: &ItemView) -> String {
    let what = match (item.timed_out, item.truncated, item.error.as_deref()) {
        (_, _, Some(err)) => err.to_string(),
        (true, _, None) => "timed out".to_string(),
        (false, true, None) => "cut by a size cap".to_string(),
        (false, false, None) => "collected".to_string(),
    };
    format!(
        "{input}: {} on {}: {what}",
        item.source,
        item.host.as_deref().unwrap_or("headnode API")
    )
}

fn push_unique(list: &mut Vec<String>, line: String) {
    if !list.contains(&line) {
        list.push(line);
    }
}

/// Sorts what the inputs and their manifests say into warnings, not-applicable sources and notes.
pub fn classify(facts: &Facts, unreadable: &[(String, String)]) -> CollectionReport {
    let mut out = CollectionReport::default();
    for (name, why) in unreadable {
        out.warnings.push(format!("{name}: unreadable: {why}"));
    }
    for input in &facts.inputs {
        if !input.manifest {
            out.warnings.push(format!(
                "{}: no manifest; absence of a file or record proves nothing for this input",
                input.name
            ));
        }
        if input.complete == Some(false) {
            out.warnings.push(format!(
                "{}: the collector reports the bundle incomplete",
                input.name
            ));
        }
    }
    for (input, m) in &facts.coverage.manifests {
        for h in m.hosts.iter().filter(|h| h.error.is_some()) {
            out.warnings.push(format!(
                "{input}: host {} ({}) not collected: {}",
                h.server_uuid,
                h.hostname,
                h.error.as_deref().unwrap_or("")
            ));
        }
        let (failed, absent): (Vec<&ItemView>, Vec<&ItemView>) = m
            .items
            .iter()
            .filter(|i| i.error.is_some() || i.timed_out || i.truncated)
            .partition(|i| item_failed(i));
        for item in failed.iter().take(MAX_FAILED_ITEMS) {
            push_unique(&mut out.warnings, item_line(input, item));
        }
        if failed.len() > MAX_FAILED_ITEMS {
            out.warnings.push(format!(
                "{input}: … and {} more items not (fully) collected",
                failed.len() - MAX_FAILED_ITEMS
            ));
        }
        for item in absent {
            push_unique(&mut out.not_applicable, item_line(input, item));
        }
        // A log rotated or grown while read is still one file's bytes: worth knowing when a
        // record seems missing, not a gap (when records may be missing, `error` says so above).
        for item in m.items.iter().filter(|i| i.error.is_none()) {
            if let Some(change) = &item.changed_while_read {
                out.notes.push(format!(
                    "{input}: {} on {}: changed while read: {change}",
                    item.source,
                    item.host.as_deref().unwrap_or("headnode")
                ));
            }
        }
        for note in &m.notes {
            let line = format!("{input}: {note}");
            if note.contains(NOT_APPLICABLE_NOTE) {
                out.not_applicable.push(line);
            } else if INFORMATIONAL_NOTES.iter().any(|p| note.contains(p)) {
                out.notes.push(line);
            } else {
                out.warnings.push(line);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::coverage::Coverage;
    use crate::input::manifest::{HostView, ManifestView};

    fn item(source: &str, error: Option<&str>, timed_out: bool) -> ItemView {
        ItemView {
            source: source.into(),
            host: Some("cn1".into()),
            path: None,
            file: None,
            argv: None,
            http_status: None,
            exit_status: None,
            sliced: false,
            truncated: false,
            timed_out,
            error: error.map(str::to_string),
            changed_while_read: None,
            slice: None,
        }
    }

    #[test]
    fn absent_and_not_applicable_sources_are_not_warnings() {
        let manifest = ManifestView {
            format_version: "1.0".into(),
            collector: "triton-collect 0.1.0".into(),
            started_at: None,
            finished_at: None,
            complete: false,
            window: None,
            scope_vms: vec![],
            scope_jobs: vec![],
            hosts: vec![HostView {
                server_uuid: "cn2".into(),
                hostname: "cn2".into(),
                role: "CN".into(),
                error: Some("sdc-oneachnode: host did not answer".into()),
            }],
            items: vec![
                item("vm.log", None, false),
                item("cloudapi.log", Some("not found"), false),
                item("vmadmd.log", Some("not found"), false),
                item("vmadmd.log", Some("not found"), false),
                item("dev", Some("skipped: not a regular file (fifo)"), false),
                item(
                    "zpool.history",
                    Some("exit status 1: permission denied"),
                    false,
                ),
                item("zfs.list", None, true),
                ItemView {
                    changed_while_read: Some("grew from 10 to 20 bytes while being read".into()),
                    ..item("imgapi.log", None, false)
                },
            ],
            notes: vec![
                "not collected here (headnode source; this run collects a compute node): vmapi.log"
                    .into(),
                "CN cn1: time slicing: 3 log(s) cut to the window by record time".into(),
                "priority: CPU nice 19 (was 0), inherited by every command run".into(),
                "free space: 40.0 GiB free in /var/tmp at the start; 512.0 MiB kept free (reserve)"
                    .into(),
                "free space ran short in /var/tmp: 1.0 MiB free with 512.0 MiB to stay free \
                 (reserve) after vmapi.log"
                    .into(),
                "interrupted by a signal; collection stopped early".into(),
            ],
        };
        let facts = Facts {
            coverage: Coverage {
                manifests: vec![("b.tar.gz".into(), manifest)],
                entries: vec![],
            },
            ..Facts::default()
        };
        let got = classify(&facts, &[("x.zip".into(), "not a bundle".into())]);
        assert_eq!(
            got.warnings,
            vec![
                "x.zip: unreadable: not a bundle",
                "b.tar.gz: host cn2 (cn2) not collected: sdc-oneachnode: host did not answer",
                "b.tar.gz: zpool.history on cn1: exit status 1: permission denied",
                "b.tar.gz: zfs.list on cn1: timed out",
                "b.tar.gz: free space ran short in /var/tmp: 1.0 MiB free with 512.0 MiB to stay \
                 free (reserve) after vmapi.log",
                "b.tar.gz: interrupted by a signal; collection stopped early",
            ]
        );
        assert_eq!(
            got.not_applicable,
            vec![
                "b.tar.gz: cloudapi.log on cn1: not found",
                "b.tar.gz: vmadmd.log on cn1: not found",
                "b.tar.gz: dev on cn1: skipped: not a regular file (fifo)",
                "b.tar.gz: not collected here (headnode source; this run collects a compute node): vmapi.log",
            ]
        );
        assert_eq!(
            got.notes,
            vec![
                "b.tar.gz: imgapi.log on cn1: changed while read: grew from 10 to 20 bytes while \
                 being read",
                "b.tar.gz: CN cn1: time slicing: 3 log(s) cut to the window by record time",
                "b.tar.gz: priority: CPU nice 19 (was 0), inherited by every command run",
                "b.tar.gz: free space: 40.0 GiB free in /var/tmp at the start; 512.0 MiB kept \
                 free (reserve)",
            ]
        );
    }
}
