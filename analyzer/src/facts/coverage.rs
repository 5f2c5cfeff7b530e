//! What was looked at. With a manifest we know what the collector tried, got, and failed to get;
//! without one we only know which files are there, so an absence proves nothing.

use serde::Serialize;

use crate::input::manifest::{ItemView, ManifestView};
use crate::input::observations::EntrySeen;

/// Whether a source was collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "detail")]
pub enum Seen {
    /// Present in the input.
    Present,
    /// The collector looked and it was not there, or the command answered (e.g. image absent).
    CollectedAbsent(String),
    /// The collector tried and failed.
    Failed(String),
    /// A manifest exists and did not try it.
    NotCollected,
    /// No manifest: nobody can tell whether it was looked for.
    Unknown,
}

impl Seen {
    /// Whether an absence of records in this source can count as evidence.
    pub fn absence_counts(&self) -> bool {
        matches!(self, Seen::Present | Seen::CollectedAbsent(_))
    }
}

/// A source the analysis needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need<'a> {
    /// Manifest `source` names that provide it (`vm.log`, `zone.svclog`).
    pub sources: &'a [&'a str],
    /// Text the item's path/argv must contain (a uuid), if any.
    pub about: Option<&'a str>,
    /// Host it must come from, if known.
    pub host: Option<&'a str>,
    /// Observed entry kinds that provide it (`vm.log`, `zone-svc-log`).
    pub kinds: &'a [&'a str],
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub manifests: Vec<(String, ManifestView)>,
    #[serde(skip)]
    pub entries: Vec<EntrySeen>,
}

fn item_matches(item: &ItemView, need: &Need<'_>) -> bool {
    if !need.sources.contains(&item.source.as_str()) {
        return false;
    }
    if let (Some(h), Some(ih)) = (need.host, item.host.as_deref()) {
        if h != ih {
            return false;
        }
    }
    match need.about {
        Some(about) => [
            item.path.as_deref(),
            item.file.as_deref(),
            item.argv.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|t| t.contains(about)),
        None => true,
    }
}

impl Coverage {
    pub fn has_manifest(&self) -> bool {
        !self.manifests.is_empty()
    }

    /// Where a needed source stands.
    pub fn seen(&self, need: &Need<'_>) -> Seen {
        let present = self.entries.iter().any(|e| {
            need.kinds.contains(&e.kind)
                && need
                    .host
                    .is_none_or(|h| e.place.host.as_deref().is_none_or(|eh| eh == h))
                && need.about.is_none_or(|a| {
                    e.place.entry.contains(a)
                        || e.place.host_path.as_deref().is_some_and(|p| p.contains(a))
                        || e.place.command.as_deref().is_some_and(|c| c.contains(a))
                })
        });
        if present {
            return Seen::Present;
        }
        if !self.has_manifest() {
            return Seen::Unknown;
        }
        let items: Vec<&ItemView> = self
            .manifests
            .iter()
            .flat_map(|(_, m)| m.items.iter())
            .filter(|i| item_matches(i, need))
            .collect();
        if let Some(ok) = items.iter().find(|i| i.error.is_none()) {
            return Seen::CollectedAbsent(format!("collected as {}", ok.source));
        }
        if let Some(failed) = items.first() {
            return Seen::Failed(failed.error.clone().unwrap_or_default());
        }
        // A host the collector could not reach is a failure, not an absence.
        if let Some(host) = need.host {
            for (_, m) in &self.manifests {
                if let Some(h) = m.hosts.iter().find(|h| h.server_uuid == host) {
                    if let Some(err) = &h.error {
                        return Seen::Failed(format!("host {host}: {err}"));
                    }
                }
            }
        }
        Seen::NotCollected
    }
}
