//! Where things go inside a bundle (paths relative to the top directory).
//!
//! - `hosts/<server-uuid>/files/<absolute path without leading />` for files of a host,
//! - `hosts/<server-uuid>/commands/<source>.out` for command output,
//! - `api/<service>/<url path>.json` for API answers (body only).
//!
//! Everything that comes from outside (paths, sources, URLs) is made into safe file names here, so
//! the writer's strict path check never rejects a layout path.

use sha2::{Digest, Sha256};

/// Longest component we produce; file systems allow 255 bytes.
const MAX_COMPONENT: usize = 200;

/// `hosts/<server>/files/<abs_path without leading '/'>`.
///
/// Components that would be unsafe (`..`, `.`, empty) are replaced or dropped; other characters are
/// kept as they are, so the path still reads like the original one.
pub fn host_file(server_uuid: &str, abs_path: &str) -> String {
    let mut out = format!("hosts/{}/files", safe_component(server_uuid));
    let mut any = false;
    for component in abs_path.split('/') {
        let component = match component {
            "" | "." => continue,
            ".." => "%2E%2E".to_string(),
            other => limit_length(other.replace('\0', "%00")),
        };
        out.push('/');
        out.push_str(&component);
        any = true;
    }
    if !any {
        out.push_str("/%2F");
    }
    out
}

/// `hosts/<server>/commands/<source>.out`, e.g. `host_command(s, "zpool-history")` gives
/// `hosts/<s>/commands/zpool-history.out`. Spaces and other unsafe characters in `source` become
/// `-`, so `"imgadm get <uuid>"` gives `imgadm-get-<uuid>.out`.
pub fn host_command(server_uuid: &str, source: &str) -> String {
    let stem = source.strip_suffix(".out").unwrap_or(source);
    let mut name: String = stem
        .chars()
        .map(|c| if is_plain(c) { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-');
    let name = if name.is_empty() || name.chars().all(|c| c == '.') {
        "command".to_string()
    } else {
        limit_length(name.to_string())
    };
    format!(
        "hosts/{}/commands/{}.out",
        safe_component(server_uuid),
        name
    )
}

/// `api/<service>/<url path>.json`, e.g. `api("workflow", "/jobs/<uuid>")` gives
/// `api/workflow/jobs/<uuid>.json`.
///
/// A query string is kept after `@` in the last component (`/vms?state=failed&limit=5` gives
/// `vms@state=failed&limit=5.json`); bytes outside `[A-Za-z0-9._~=&,+:-]` are percent-encoded so
/// distinct URLs give distinct names.
pub fn api(service: &str, url_path: &str) -> String {
    let (path, query) = match url_path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url_path, None),
    };
    let mut components: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(encode_url_component)
        .collect();
    if components.is_empty() {
        components.push("_root".to_string());
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        if let Some(last) = components.last_mut() {
            last.push('@');
            last.push_str(&encode_url_component(query));
        }
    }
    for component in &mut components {
        *component = limit_length(std::mem::take(component));
    }
    format!(
        "api/{}/{}.json",
        safe_component(service),
        components.join("/")
    )
}

fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// A single safe component for ids such as server uuids and service names.
fn safe_component(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if is_plain(c) { c } else { '_' })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        limit_length(cleaned)
    }
}

fn encode_url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let c = byte as char;
        if c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '~' | '=' | '&' | ',' | '+' | ':' | '-')
        {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out == "." || out == ".." {
        out = out.replace('.', "%2E");
    }
    out
}

/// Shortens an over-long component, keeping it unique with a hash of the whole.
fn limit_length(text: String) -> String {
    if text.len() <= MAX_COMPONENT {
        return text;
    }
    let mut cut = MAX_COMPONENT - 18;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    format!("{}~{}", &text[..cut], &digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::check_writer_path;

    const S: &str = "44454c4c-5700-1047-8051-b3c04f585131";

    #[test]
    fn documented_examples() {
        assert_eq!(
            host_file(S, "/zones/abc/root/tmp/vm.log"),
            format!("hosts/{S}/files/zones/abc/root/tmp/vm.log")
        );
        assert_eq!(
            host_command(S, "zpool-history"),
            format!("hosts/{S}/commands/zpool-history.out")
        );
        assert_eq!(
            host_command(S, "imgadm get 1234"),
            format!("hosts/{S}/commands/imgadm-get-1234.out")
        );
        assert_eq!(api("workflow", "/jobs/j1"), "api/workflow/jobs/j1.json");
        assert_eq!(api("vmapi", "/vms/v1/jobs"), "api/vmapi/vms/v1/jobs.json");
        assert_eq!(api("cnapi", "/servers/s1"), "api/cnapi/servers/s1.json");
        assert_eq!(
            api("vmapi", "/vms?state=failed&owner_uuid=o 1"),
            "api/vmapi/vms@state=failed&owner_uuid=o%201.json"
        );
    }

    #[test]
    fn hostile_inputs_still_give_valid_paths() {
        let long = "x".repeat(600);
        let candidates = [
            host_file(S, "/a/../../etc/passwd"),
            host_file(S, "/"),
            host_file("../..", "//x//./y"),
            host_file(S, &format!("/{long}")),
            host_command(S, "../../etc"),
            host_command(S, "..."),
            host_command(S, ""),
            api("..", "/../.."),
            api("vmapi", ""),
            api("vmapi", &format!("/vms?{long}")),
            api("vmapi", "/a/%2e%2e/b"),
        ];
        for path in &candidates {
            assert!(
                check_writer_path(path).is_ok(),
                "{path:?} is not a valid entry path"
            );
        }
        assert_ne!(
            api("vmapi", &format!("/vms?{long}a")),
            api("vmapi", &format!("/vms?{long}b"))
        );
    }
}
