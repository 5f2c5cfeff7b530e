//! Which entries of a bundle are logs, which host and source they belong to, and whether they
//! are the ones asked for (`--host`, `--source`).

use triton_bundle::Manifest;

use crate::input::is_log_file_name;

/// What `--host` and `--source` asked for (both optional; nothing set selects every log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSelection {
    /// A server uuid or a hostname.
    pub host: Option<String>,
    /// A manifest source name (`vmapi.log`, or `vmapi` for every `vmapi.*` source); when the
    /// entry has no manifest item, a substring of its path.
    pub source: Option<String>,
}

/// A log entry of a bundle, as far as its path and the manifest tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntryInfo {
    /// Path inside the bundle (relative to its top directory).
    pub entry: String,
    /// Server uuid from `hosts/<uuid>/files/...`.
    pub host: Option<String>,
    /// Hostname of that server, from the manifest.
    pub hostname: Option<String>,
    /// The manifest item's source name.
    pub source: Option<String>,
    /// Size stored in the bundle (compressed size for a `.gz` entry).
    pub size: u64,
}

/// The server uuid and the path on that host of an entry stored as a host file
/// (`hosts/<uuid>/files/<path>`).
pub fn host_file_parts(entry: &str) -> Option<(&str, &str)> {
    let rest = entry.strip_prefix("hosts/")?;
    let (host, rest) = rest.split_once('/')?;
    let path = rest.strip_prefix("files/")?;
    (!host.is_empty()).then_some((host, path))
}

/// Whether an entry looks like a bunyan log: a host file (or, in an archive that is not a
/// triton bundle, any file) whose name contains `.log` (`x.log`, rotated
/// `x_<uuid>_<time>.log`, `x.log.0`, `.gz` variants). Command output and API answers never are.
pub fn is_log_entry(entry: &str) -> bool {
    if entry.starts_with("api/")
        || (entry.starts_with("hosts/") && host_file_parts(entry).is_none())
    {
        return false;
    }
    is_log_file_name(std::path::Path::new(entry))
}

/// Looks an entry up in the manifest (when there is one yet).
pub fn describe(entry: &str, size: u64, manifest: Option<&Manifest>) -> LogEntryInfo {
    let host = host_file_parts(entry).map(|(host, _)| host.to_string());
    let hostname = manifest.and_then(|m| {
        m.hosts
            .iter()
            .find(|h| {
                host.as_deref()
                    .is_some_and(|u| h.server_uuid.eq_ignore_ascii_case(u))
            })
            .map(|h| h.hostname.clone())
    });
    let source = manifest.and_then(|m| {
        m.items
            .iter()
            .find(|item| item.path.as_deref() == Some(entry))
            .map(|item| item.source.clone())
    });
    LogEntryInfo {
        entry: entry.to_string(),
        host,
        hostname,
        source,
        size,
    }
}

/// The answer of a selection for one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No,
    /// Cannot be told before the manifest is read (the hostname or source is not known yet).
    Later,
}

impl LogSelection {
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.source.is_none()
    }

    /// Decides for `info`; `manifest_known` says whether the manifest has been read (or is known
    /// to be absent), so that a missing hostname or source is final.
    pub fn verdict(&self, info: &LogEntryInfo, manifest_known: bool) -> Verdict {
        let host = match &self.host {
            None => Verdict::Yes,
            Some(want) => host_verdict(want, info, manifest_known),
        };
        let source = match &self.source {
            None => Verdict::Yes,
            Some(want) => source_verdict(want, info, manifest_known),
        };
        match (host, source) {
            (Verdict::No, _) | (_, Verdict::No) => Verdict::No,
            (Verdict::Yes, Verdict::Yes) => Verdict::Yes,
            _ => Verdict::Later,
        }
    }
}

fn host_verdict(want: &str, info: &LogEntryInfo, manifest_known: bool) -> Verdict {
    let Some(uuid) = &info.host else {
        return Verdict::No;
    };
    if uuid.eq_ignore_ascii_case(want)
        || info
            .hostname
            .as_deref()
            .is_some_and(|name| name.eq_ignore_ascii_case(want))
    {
        Verdict::Yes
    } else if manifest_known || looks_like_uuid(want) {
        Verdict::No
    } else {
        Verdict::Later
    }
}

fn source_verdict(want: &str, info: &LogEntryInfo, manifest_known: bool) -> Verdict {
    match &info.source {
        Some(source) => {
            let family = source
                .strip_prefix(want)
                .is_some_and(|rest| rest.starts_with('.'));
            if source == want || family {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        None if manifest_known => {
            if info.entry.contains(want) {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        None => Verdict::Later,
    }
}

fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HN: &str = "44454c4c-5700-1047-8051-b3c04f585131";

    fn info(entry: &str, hostname: Option<&str>, source: Option<&str>) -> LogEntryInfo {
        LogEntryInfo {
            entry: entry.to_string(),
            host: host_file_parts(entry).map(|(h, _)| h.to_string()),
            hostname: hostname.map(str::to_string),
            source: source.map(str::to_string),
            size: 0,
        }
    }

    #[test]
    fn log_entries_are_host_files_named_like_logs() {
        let smf =
            format!("hosts/{HN}/files/zones/z/root/var/svc/log/smartdc-site-vmapi:default.log");
        let rotated =
            format!("hosts/{HN}/files/var/log/sdc/upload/vmapi_{HN}_2024-01-18T04:00:00.log.gz");
        assert!(is_log_entry(&smf) && is_log_entry(&rotated));
        assert!(is_log_entry("var/log/plain-archive.log"));
        assert!(!is_log_entry(&format!(
            "hosts/{HN}/commands/svcs-x.log.out"
        )));
        assert!(!is_log_entry("api/workflow/jobs/j.log.json"));
        assert!(!is_log_entry("manifest.json"));
        assert_eq!(
            host_file_parts(&smf),
            Some((
                HN,
                "zones/z/root/var/svc/log/smartdc-site-vmapi:default.log"
            ))
        );
    }

    #[test]
    fn host_matches_uuid_or_hostname_and_waits_for_the_manifest_for_names() {
        let entry = format!("hosts/{HN}/files/var/log/a.log");
        let by_name = LogSelection {
            host: Some("headnode".into()),
            source: None,
        };
        assert_eq!(
            by_name.verdict(&info(&entry, None, None), false),
            Verdict::Later
        );
        assert_eq!(
            by_name.verdict(&info(&entry, None, None), true),
            Verdict::No
        );
        let named = info(&entry, Some("HeadNode"), None);
        assert_eq!(by_name.verdict(&named, true), Verdict::Yes);
        let other_uuid = LogSelection {
            host: Some("00000000-0000-0000-0000-000000000000".into()),
            source: None,
        };
        assert_eq!(
            other_uuid.verdict(&info(&entry, None, None), false),
            Verdict::No
        );
        let by_uuid = LogSelection {
            host: Some(HN.to_uppercase()),
            source: None,
        };
        assert_eq!(
            by_uuid.verdict(&info(&entry, None, None), false),
            Verdict::Yes
        );
    }

    #[test]
    fn source_matches_manifest_names_and_families_else_path_substrings() {
        let entry = format!("hosts/{HN}/files/var/svc/log/smartdc-site-vmapi:default.log");
        let want = |s: &str| LogSelection {
            host: None,
            source: Some(s.into()),
        };
        let listed = info(&entry, None, Some("vmapi.log"));
        assert_eq!(want("vmapi.log").verdict(&listed, false), Verdict::Yes);
        assert_eq!(want("vmapi").verdict(&listed, false), Verdict::Yes);
        assert_eq!(want("vm").verdict(&listed, false), Verdict::No);
        assert_eq!(want("cnapi.log").verdict(&listed, true), Verdict::No);
        let unlisted = info(&entry, None, None);
        assert_eq!(want("site-vmapi").verdict(&unlisted, false), Verdict::Later);
        assert_eq!(want("site-vmapi").verdict(&unlisted, true), Verdict::Yes);
        assert_eq!(want("cnapi").verdict(&unlisted, true), Verdict::No);
    }
}
