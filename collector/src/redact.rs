//! Redaction of secrets before anything is stored: passwords, tokens and keys in JSON fields,
//! `key=value` configuration (`/usbkey/config`), HTTP authorization headers, PEM private keys
//! and `user:pass@` in URLs.
//!
//! It works line by line on text and never changes the number of lines, so line numbers in the
//! bundle are the line numbers on the host. Values that look like UUIDs or timestamps are never
//! touched: they are what the analyzer joins records on.

use std::collections::BTreeMap;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// Rule names, as counted in the manifest.
pub const RULE_JSON_FIELD: &str = "json-secret-field";
pub const RULE_CONFIG: &str = "config-secret";
pub const RULE_HEADER: &str = "auth-header";
pub const RULE_PEM: &str = "pem-private-key";
pub const RULE_URL: &str = "url-credentials";

/// Redactions made, by rule.
pub type Counts = BTreeMap<String, u64>;

/// Redacts `data` if it looks like text; binary data (a NUL in the first 8 KiB) is returned as
/// is. Lines that are not valid UTF-8 are kept unchanged.
pub fn redact(data: &[u8]) -> (Vec<u8>, Counts) {
    let mut counts = Counts::new();
    if data.iter().take(8192).any(|b| *b == 0) {
        return (data.to_vec(), counts);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut in_pem = false;
    for raw in data.split_inclusive(|b| *b == b'\n') {
        let (body, ending) = split_ending(raw);
        match std::str::from_utf8(body) {
            Ok(line) => {
                let redacted = redact_line(line, &mut in_pem, &mut counts);
                out.extend_from_slice(redacted.as_bytes());
            }
            Err(_) => out.extend_from_slice(body),
        }
        out.extend_from_slice(ending);
    }
    (out, counts)
}

fn split_ending(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut cut = raw.len();
    if raw[..cut].ends_with(b"\n") {
        cut -= 1;
    }
    if raw[..cut].ends_with(b"\r") {
        cut -= 1;
    }
    raw.split_at(cut)
}

fn bump(counts: &mut Counts, rule: &str) {
    *counts.entry(rule.to_string()).or_insert(0) += 1;
}

fn redact_line(line: &str, in_pem: &mut bool, counts: &mut Counts) -> String {
    if *in_pem {
        if is_pem_end(line) {
            *in_pem = false;
            return line.to_string();
        }
        return if line.trim().is_empty() {
            line.to_string()
        } else {
            MASK.to_string()
        };
    }
    let mut text = redact_inline_pem(line, counts);
    if is_pem_begin(&text) && !is_pem_end(&text) {
        *in_pem = true;
        bump(counts, RULE_PEM);
        return text;
    }
    text = redact_json_fields(&text, counts);
    text = redact_assignment(&text, counts);
    text = redact_url_credentials(&text, counts);
    text
}

fn is_pem_begin(line: &str) -> bool {
    line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----")
}

fn is_pem_end(line: &str) -> bool {
    line.contains("-----END") && line.contains("PRIVATE KEY-----")
}

/// A whole PEM block on one line (a key inside a JSON string, `\n` escaped).
fn redact_inline_pem(line: &str, counts: &mut Counts) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(begin) = rest.find("-----BEGIN") {
        let Some(header_end) = rest[begin..]
            .find("PRIVATE KEY-----")
            .map(|i| begin + i + 16)
        else {
            break;
        };
        let Some(end) = rest[header_end..].find("-----END").map(|i| header_end + i) else {
            break;
        };
        out.push_str(&rest[..header_end]);
        out.push_str(MASK);
        bump(counts, RULE_PEM);
        rest = &rest[end..];
        // Skip past the END marker so the loop does not find it again.
        let marker_end = rest.find("KEY-----").map(|i| i + 8).unwrap_or(rest.len());
        out.push_str(&rest[..marker_end]);
        rest = &rest[marker_end..];
    }
    out.push_str(rest);
    out
}

/// Whether a field or variable name names a secret.
pub fn is_secret_name(name: &str) -> bool {
    let k = name.trim().to_ascii_lowercase();
    let k = k.trim_start_matches("x-");
    if k.ends_with("_uuid") || k.ends_with("_id") || k.contains("public") || k.ends_with("_file") {
        return false;
    }
    k.ends_with("_pw")
        || k == "pw"
        || k.ends_with("_pass")
        || k.contains("password")
        || k.contains("passwd")
        || k.contains("passphrase")
        || k.contains("secret")
        || k.contains("token")
        || k.contains("credential")
        || k == "authorization"
        || k == "proxy-authorization"
        || k.contains("private_key")
        || k.contains("privatekey")
        || k == "key"
        || k.ends_with("_key")
        || k.ends_with("-key")
        || k.ends_with("apikey")
        || k == "shadow"
        || k.ends_with("_shadow")
}

/// Values the analyzer needs and that are never secret.
fn is_protected_value(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == MASK || crate::ids::is_uuid(v) || v.parse::<jiff::Timestamp>().is_ok()
}

/// `"name": "value"` pairs, then the same pairs backslash-escaped inside another JSON string
/// (a bunyan `msg` or a job parameter holding serialized JSON).
fn redact_json_fields(line: &str, counts: &mut Counts) -> String {
    if !line.contains('"') {
        return line.to_string();
    }
    let plain = redact_plain_json(line, counts);
    if plain.contains("\\\"") {
        redact_escaped_json(&plain, counts)
    } else {
        plain
    }
}

fn redact_plain_json(line: &str, counts: &mut Counts) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(rel) = line.get(i..).and_then(|rest| rest.find('"')) {
        let key_start = i + rel + 1;
        let Some(key_end) = string_end(bytes, key_start) else {
            break;
        };
        let mut j = skip_ws(bytes, key_end + 1);
        if bytes.get(j) != Some(&b':') {
            i = key_end + 1;
            continue;
        }
        j = skip_ws(bytes, j + 1);
        if bytes.get(j) != Some(&b'"') {
            i = j;
            continue;
        }
        let value_start = j + 1;
        let Some(value_end) = string_end(bytes, value_start) else {
            break;
        };
        let key = &line[key_start..key_end];
        let value = &line[value_start..value_end];
        if is_secret_name(key) && !is_protected_value(value) {
            out.push_str(&line[copied..value_start]);
            out.push_str(MASK);
            copied = value_end;
            bump(counts, RULE_JSON_FIELD);
        }
        i = value_end + 1;
    }
    out.push_str(&line[copied..]);
    out
}

/// Where the plain JSON string starting at `start` ends (index of its closing quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `\"name\": \"value\"` inside a JSON string: the escaped quotes are paired up in order.
fn redact_escaped_json(line: &str, counts: &mut Counts) -> String {
    let quotes: Vec<usize> = line.match_indices("\\\"").map(|(i, _)| i).collect();
    let mut replacements: Vec<(usize, usize)> = Vec::new();
    let mut k = 0;
    while k + 3 < quotes.len() {
        let (k0, k1, v0, v1) = (quotes[k], quotes[k + 1], quotes[k + 2], quotes[k + 3]);
        let key = &line[k0 + 2..k1];
        let gap = &line[k1 + 2..v0];
        let value = &line[v0 + 2..v1];
        if gap.trim() == ":" && !key.contains('"') {
            if is_secret_name(key) && !is_protected_value(value) && !value.contains('"') {
                replacements.push((v0 + 2, v1));
            }
            k += 4;
        } else {
            k += 1;
        }
    }
    let mut out = line.to_string();
    for (start, end) in replacements.into_iter().rev() {
        out.replace_range(start..end, MASK);
        bump(counts, RULE_JSON_FIELD);
    }
    out
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// `NAME=value`, `export NAME=value`, `+ NAME=value` (shell traces) and `Name: value` headers.
fn redact_assignment(line: &str, counts: &mut Counts) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let mut body = trimmed.trim_start_matches('+').trim_start();
    let mut prefix_len = line.len() - body.len();
    if let Some(after) = body.strip_prefix("export ") {
        body = after.trim_start();
        prefix_len = line.len() - body.len();
    }
    let _ = indent;
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .unwrap_or(body.len());
    if name_len == 0 {
        return line.to_string();
    }
    let name = &body[..name_len];
    let after_name = &body[name_len..];
    let (separator_rule, value_offset) = if let Some(v) = after_name.strip_prefix('=') {
        (RULE_CONFIG, after_name.len() - v.len())
    } else if let Some(v) = after_name.strip_prefix(':') {
        if !v.starts_with(' ') && !v.is_empty() {
            return line.to_string();
        }
        let rule = if matches!(
            name.to_ascii_lowercase().as_str(),
            "authorization" | "x-api-key" | "proxy-authorization"
        ) {
            RULE_HEADER
        } else {
            RULE_CONFIG
        };
        (rule, after_name.len() - v.len())
    } else {
        return line.to_string();
    };
    let value = &after_name[value_offset..];
    if !is_secret_name(name) || is_protected_value(value.trim_matches(|c| c == '"' || c == '\'')) {
        return line.to_string();
    }
    let value_start = prefix_len + name_len + value_offset;
    let leading_ws = value.len() - value.trim_start().len();
    bump(counts, separator_rule);
    format!("{}{MASK}", &line[..value_start + leading_ws])
}

/// `scheme://user:password@host` → `scheme://user:[REDACTED]@host`.
fn redact_url_credentials(line: &str, counts: &mut Counts) -> String {
    if !line.contains("://") {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find("://") {
        let authority_start = pos + 3;
        out.push_str(&rest[..authority_start]);
        rest = &rest[authority_start..];
        let authority_end = rest
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                if colon + 1 < userinfo.len() && &userinfo[colon + 1..] != MASK {
                    out.push_str(&userinfo[..=colon]);
                    out.push_str(MASK);
                    out.push_str(&authority[at..]);
                    bump(counts, RULE_URL);
                    rest = &rest[authority_end..];
                    continue;
                }
            }
        }
        out.push_str(authority);
        rest = &rest[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Counts) {
        let (out, counts) = redact(text.as_bytes());
        (String::from_utf8(out).expect("utf8"), counts)
    }

    #[test]
    fn json_secret_fields() {
        let (out, counts) = run(concat!(
            "{\n",
            "  \"root_pw\": \"hunter2\",\n",
            "  \"admin_password\": \"s3cret\",\n",
            "  \"image_uuid\": \"8f1f3c9e-2a5b-4c1d-9e0f-123456789abc\",\n",
            "  \"req_id\": \"abc-1\",\n",
            "  \"api_key\": \"AKIA123\", \"token\": \"t0k\"\n",
            "}\n"
        ));
        assert!(!out.contains("hunter2") && !out.contains("s3cret"), "{out}");
        assert!(!out.contains("AKIA123") && !out.contains("t0k"), "{out}");
        assert!(out.contains("\"root_pw\": \"[REDACTED]\""), "{out}");
        assert!(out.contains("8f1f3c9e-2a5b-4c1d-9e0f-123456789abc"));
        assert!(out.contains("abc-1"));
        assert_eq!(out.lines().count(), 7);
        assert_eq!(counts.get(RULE_JSON_FIELD), Some(&4));
    }

    #[test]
    fn never_redacts_join_keys() {
        let (out, counts) = run(
            "{\"secret_uuid\":\"x\",\"token\":\"8f1f3c9e-2a5b-4c1d-9e0f-123456789abc\",\"key\":\"2024-01-18T04:00:00.000Z\"}\n",
        );
        assert!(out.contains("8f1f3c9e-2a5b-4c1d-9e0f-123456789abc"));
        assert!(out.contains("2024-01-18T04:00:00.000Z"));
        assert!(out.contains("\"secret_uuid\":\"x\""));
        assert!(counts.is_empty(), "{counts:?}");
    }

    #[test]
    fn nested_json_in_a_string() {
        let (out, _) = run("{\"msg\":\"params {\\\"root_pw\\\":\\\"hunter2\\\"}\"}\n");
        assert!(!out.contains("hunter2"), "{out}");
    }

    #[test]
    fn usbkey_config_lines() {
        let (out, counts) = run(concat!(
            "# comment\n",
            "adminui_admin_pw=Sup3rSecret\n",
            "root_shadow=$1$abc$def\n",
            "datacenter_name=us-east-1\n",
            "ufds_ldap_root_pw=\"quoted secret\"\n",
            "+ export ZONE_PASSWORD=trace\n",
        ));
        assert!(
            !out.contains("Sup3rSecret")
                && !out.contains("$1$abc")
                && !out.contains("quoted secret")
        );
        assert!(!out.contains("=trace"), "{out}");
        assert!(out.contains("datacenter_name=us-east-1"));
        assert!(out.contains("adminui_admin_pw=[REDACTED]"));
        assert_eq!(counts.get(RULE_CONFIG), Some(&4));
    }

    #[test]
    fn headers() {
        let (out, counts) =
            run("Authorization: Basic YWRtaW46cGFzcw==\nx-api-key: 1234\nHost: a\n");
        assert!(!out.contains("YWRtaW46") && !out.contains("1234"), "{out}");
        assert!(out.contains("Host: a"));
        assert_eq!(counts.get(RULE_HEADER), Some(&2));
    }

    #[test]
    fn pem_blocks() {
        let (out, counts) = run(concat!(
            "before\n",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            "MIIEowIBAAKCAQEA\n",
            "abcdef\n",
            "-----END RSA PRIVATE KEY-----\n",
            "after\n",
            "{\"k\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n\"}\n",
        ));
        assert!(!out.contains("MIIE") && !out.contains("abcdef"), "{out}");
        assert!(out.contains("before") && out.contains("after"));
        assert_eq!(out.lines().count(), 7);
        assert_eq!(counts.get(RULE_PEM), Some(&2));
    }

    #[test]
    fn url_credentials() {
        let (out, counts) =
            run("connecting to amqp://guest:guest@10.0.0.5:5672/ and http://host/x\n");
        assert_eq!(
            out,
            "connecting to amqp://guest:[REDACTED]@10.0.0.5:5672/ and http://host/x\n"
        );
        assert_eq!(counts.get(RULE_URL), Some(&1));
    }

    #[test]
    fn binary_is_untouched() {
        let data = b"\0\x01password=x";
        let (out, counts) = redact(data);
        assert_eq!(out, data);
        assert!(counts.is_empty());
    }

    #[test]
    fn names() {
        assert!(is_secret_name("adminui_admin_pw"));
        assert!(is_secret_name("X-Api-Key"));
        assert!(is_secret_name("ssh_private_key"));
        assert!(!is_secret_name("image_uuid"));
        assert!(!is_secret_name("key_id"));
        assert!(!is_secret_name("ssh_public_key"));
        assert!(!is_secret_name("hostname"));
    }
}
