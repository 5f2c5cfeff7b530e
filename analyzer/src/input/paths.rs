//! What an entry's path says about it: the bundle layout (`hosts/<server>/files/<abs path>`,
//! `hosts/<server>/commands/<source>.out`, `api/<service>/<url>.json`) or, for hand-gathered
//! inputs, an original absolute path found inside the relative path (`cn/<server>/zones/...`).

use crate::parsers::is_uuid;

/// First components of absolute paths we recognize inside hand-made trees.
const ABSOLUTE_ROOTS: [&str; 5] = ["zones", "var", "opt", "usbkey", "etc"];

/// The path facts of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathInfo {
    pub host: Option<String>,
    pub host_path: Option<String>,
    pub command: Option<String>,
    /// `(service, url)`, e.g. `("workflow", "/jobs/<uuid>")`.
    pub api: Option<(String, String)>,
}

/// Reads `entry` (relative, `/`-separated). `input_host` is a server uuid implied by the input
/// itself (a directory named after a server).
pub fn analyze(entry: &str, input_host: Option<&str>) -> PathInfo {
    let parts: Vec<&str> = entry
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.len() >= 4 && parts[0] == "hosts" {
        let host = Some(parts[1].to_ascii_lowercase());
        if parts[2] == "files" {
            return PathInfo {
                host,
                host_path: Some(format!("/{}", parts[3..].join("/"))),
                ..Default::default()
            };
        }
        if parts[2] == "commands" {
            let name = parts[3..].join("/");
            return PathInfo {
                host,
                command: Some(name.trim_end_matches(".out").to_string()),
                ..Default::default()
            };
        }
    }
    if parts.len() >= 3 && parts[0] == "api" {
        let url = format!("/{}", parts[2..].join("/"));
        return PathInfo {
            api: Some((
                parts[1].to_string(),
                url.trim_end_matches(".json").to_string(),
            )),
            ..Default::default()
        };
    }
    if let Some(start) = parts.iter().position(|p| ABSOLUTE_ROOTS.contains(p)) {
        // `zones/<uuid>/...` must be followed by something path-like to count.
        let host = start
            .checked_sub(1)
            .map(|i| parts[i])
            .filter(|p| is_uuid(p))
            .map(str::to_ascii_lowercase)
            .or_else(|| input_host.map(str::to_string));
        return PathInfo {
            host,
            host_path: Some(format!("/{}", parts[start..].join("/"))),
            ..Default::default()
        };
    }
    PathInfo {
        host: input_host.map(str::to_string),
        ..Default::default()
    }
}

/// For `/zones/<uuid>/...` (and `/zones/archive/<uuid>/...`): the zone uuid and the rest.
pub fn zone_of(host_path: &str) -> Option<(String, bool, String)> {
    let rest = host_path.strip_prefix("/zones/")?;
    let (archived, rest) = match rest.strip_prefix("archive/") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (zone, tail) = rest.split_once('/').unwrap_or((rest, ""));
    is_uuid(zone).then(|| (zone.to_ascii_lowercase(), archived, format!("/{tail}")))
}

/// `qemu_<vm>@<server>_<YYYY-MM-DDTHH>:00:00.log` → (vm, server).
pub fn qemu_upload_name(file_name: &str) -> Option<(String, String)> {
    let rest = file_name.strip_prefix("qemu_")?;
    let (vm, rest) = rest.split_once('@')?;
    let server = rest.get(..36)?;
    (is_uuid(vm) && is_uuid(server)).then(|| (vm.to_ascii_lowercase(), server.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_layout() {
        let p = analyze(
            "hosts/44454c4c-3000-1052-8043-b3c04f485331/files/zones/a8d2e0fd-1224-468d-ad0b-9411b63ab6d5/root/tmp/vm.log",
            None,
        );
        assert_eq!(
            p.host.as_deref(),
            Some("44454c4c-3000-1052-8043-b3c04f485331")
        );
        assert_eq!(
            p.host_path.as_deref(),
            Some("/zones/a8d2e0fd-1224-468d-ad0b-9411b63ab6d5/root/tmp/vm.log")
        );
        let c = analyze(
            "hosts/44454c4c-3000-1052-8043-b3c04f485331/commands/zpool-history.out",
            None,
        );
        assert_eq!(c.command.as_deref(), Some("zpool-history"));
        let a = analyze(
            "api/workflow/jobs/7c992699-6166-42bd-94ba-1de449d20d7e.json",
            None,
        );
        assert_eq!(
            a.api,
            Some((
                "workflow".into(),
                "/jobs/7c992699-6166-42bd-94ba-1de449d20d7e".into()
            ))
        );
    }

    #[test]
    fn hand_made_trees() {
        let p = analyze(
            "cn/44454c4c-3000-1052-8043-b3c04f485331/var/log/cn-agent/cn-agent.log",
            None,
        );
        assert_eq!(
            p.host.as_deref(),
            Some("44454c4c-3000-1052-8043-b3c04f485331")
        );
        assert_eq!(
            p.host_path.as_deref(),
            Some("/var/log/cn-agent/cn-agent.log")
        );
        let p = analyze(
            "hn/zones/0c2b/root/var/svc/log/smartdc-site-vmapi:default.log",
            None,
        );
        assert_eq!(p.host, None);
        assert!(p
            .host_path
            .as_deref()
            .unwrap_or("")
            .starts_with("/zones/0c2b/"));
        let loose = analyze("job.json", Some("44454c4c-3000-1052-8043-b3c04f485331"));
        assert_eq!(loose.host_path, None);
        assert_eq!(
            zone_of("/zones/archive/dfe792dc-6d37-4da6-b400-f736c5cbb445/svclogs/system-zoneinit:default.log"),
            Some((
                "dfe792dc-6d37-4da6-b400-f736c5cbb445".into(),
                true,
                "/svclogs/system-zoneinit:default.log".into()
            ))
        );
        assert_eq!(
            qemu_upload_name("qemu_dfe792dc-6d37-4da6-b400-f736c5cbb445@44454c4c-3000-1052-8043-b3c04f485331_2014-01-29T06:00:00.log"),
            Some(("dfe792dc-6d37-4da6-b400-f736c5cbb445".into(), "44454c4c-3000-1052-8043-b3c04f485331".into()))
        );
    }
}
