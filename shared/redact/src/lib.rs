//! Redaction of secrets before anything is stored: passwords, tokens and keys in JSON fields,
//! `key=value` configuration (`/usbkey/config`), HTTP authorization headers, PEM private keys
//! and `user:pass@` in URLs.
//!
//! It works line by line on text and never changes the number of lines, so line numbers in the
//! bundle are the line numbers on the host. Values that look like UUIDs or timestamps are never
//! touched: they are what the analyzer joins records on.
//!
//! One crate for both tools: `triton-collect` redacts what it stores, `triton-analyze` redacts
//! what it quotes from inputs nobody redacted (hand-gathered files, `sdc-sbcreate` service
//! bundles), with the same rules.

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
    let redaction = Redaction::plan(data);
    let mut out = Vec::with_capacity(redaction.redacted_len() as usize);
    std::io::Read::read_to_end(&mut redaction.reader(data, 0), &mut out)
        .expect("reading from memory");
    (out, redaction.counts)
}

/// What redaction changes in one text, found in one pass and applied while the text is copied
/// out, so the redacted copy never exists whole in memory: only the changed lines are kept
/// (usually a handful), and [`Redaction::reader`] splices them into the original.
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    /// Changed parts of lines, in order.
    edits: Vec<Edit>,
    /// Length of the redacted text.
    len: u64,
    pub counts: Counts,
}

/// One changed part of a line: the original bytes `start..end` become `text`. Only the part
/// between what the line and its redaction have in common at both ends is kept (usually the
/// secret and its mask), so even a log with a secret on every line costs little.
#[derive(Debug, Clone)]
struct Edit {
    start: usize,
    end: usize,
    text: Box<[u8]>,
}

impl Edit {
    /// The edit turning `line` (at `offset` in the text) into `redacted`.
    fn between(offset: usize, line: &[u8], redacted: &[u8]) -> Edit {
        let prefix = line
            .iter()
            .zip(redacted)
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = line[prefix..]
            .iter()
            .rev()
            .zip(redacted[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        Edit {
            start: offset + prefix,
            end: offset + line.len() - suffix,
            text: redacted[prefix..redacted.len() - suffix].into(),
        }
    }
}

impl Redaction {
    /// No change: the text is stored as it is (`--no-redact`).
    pub fn none(data: &[u8]) -> Redaction {
        Redaction {
            len: data.len() as u64,
            ..Default::default()
        }
    }

    /// Finds what to redact in `data`; binary data (a NUL in the first 8 KiB) is left alone, and
    /// so are lines that are not valid UTF-8.
    pub fn plan(data: &[u8]) -> Redaction {
        let mut redaction = Redaction::none(data);
        if data.iter().take(8192).any(|b| *b == 0) {
            return redaction;
        }
        let mut in_pem = false;
        let mut offset = 0;
        for raw in data.split_inclusive(|b| *b == b'\n') {
            let (body, _) = split_ending(raw);
            if let Ok(line) = std::str::from_utf8(body) {
                let redacted = redact_line(line, &mut in_pem, &mut redaction.counts);
                if redacted != line {
                    redaction.len = redaction.len - body.len() as u64 + redacted.len() as u64;
                    redaction
                        .edits
                        .push(Edit::between(offset, body, redacted.as_bytes()));
                }
            }
            offset += raw.len();
        }
        redaction
    }

    /// Length of the redacted text.
    pub fn redacted_len(&self) -> u64 {
        self.len
    }

    /// The redacted text of `data` (the text this was planned on) from `from` on, an offset in
    /// `data` at a line start.
    pub fn reader<'a>(&'a self, data: &'a [u8], from: usize) -> RedactedReader<'a> {
        let next = self.edits.partition_point(|e| e.start < from);
        RedactedReader {
            data,
            edits: &self.edits[next..],
            at: from,
            in_edit: None,
        }
    }

    /// The first line start of the redacted text at or after `at` (a redacted offset): where it
    /// is in the redacted text and in `data`, and how many lines come before it. When no line
    /// starts there, the end of the text (everything is cut).
    pub fn line_start_at_or_after(&self, data: &[u8], at: u64) -> LineStart {
        let mut edits = self.edits.iter().peekable();
        // Redacted minus original length of the edits wholly before the current line start.
        let mut shift: i64 = 0;
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', data).map(|i| i + 1));
        let mut lines = 0;
        for original in starts {
            // Edits lie inside a line's body: those starting before this line start are in
            // earlier lines (one starting right at it, an insertion, is in this line).
            while let Some(edit) = edits.next_if(|e| e.start < original) {
                shift += edit.text.len() as i64 - (edit.end - edit.start) as i64;
            }
            let redacted = (original as i64 + shift) as u64;
            if redacted >= at {
                return LineStart {
                    redacted,
                    original,
                    lines,
                };
            }
            lines += 1;
        }
        LineStart {
            redacted: self.len,
            original: data.len(),
            lines: lines.saturating_sub(1),
        }
    }
}

/// A line start, in the redacted text and in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStart {
    pub redacted: u64,
    pub original: usize,
    /// Lines before it.
    pub lines: u64,
}

/// Reads the redacted text: the original's bytes, with each changed line's body replaced.
pub struct RedactedReader<'a> {
    data: &'a [u8],
    edits: &'a [Edit],
    /// Next original byte to copy.
    at: usize,
    /// Inside a replacement: how much of it was already read.
    in_edit: Option<usize>,
}

impl std::io::Read for RedactedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(edit) = self.edits.first() else {
                let rest = &self.data[self.at..];
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.at += n;
                return Ok(n);
            };
            match self.in_edit {
                None if self.at < edit.start => {
                    let rest = &self.data[self.at..edit.start];
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    self.at += n;
                    return Ok(n);
                }
                None => self.in_edit = Some(0),
                Some(done) => {
                    let rest = &edit.text[done..];
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    if done + n == edit.text.len() {
                        // The replacement is out: go on after the original line's body.
                        self.in_edit = None;
                        self.at = edit.end;
                        self.edits = &self.edits[1..];
                    } else {
                        self.in_edit = Some(done + n);
                    }
                    if n > 0 {
                        return Ok(n);
                    }
                }
            }
        }
    }
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

/// `8-4-4-4-12` hex digits.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Redacts one text for quoting; returns it unchanged (borrowed) when nothing needed masking.
pub fn redact_text(text: &str) -> (std::borrow::Cow<'_, str>, u64) {
    let (out, counts) = redact(text.as_bytes());
    let total: u64 = counts.values().sum();
    if total == 0 {
        return (std::borrow::Cow::Borrowed(text), 0);
    }
    (
        std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned()),
        total,
    )
}

/// Values the analyzer needs and that are never secret.
fn is_protected_value(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == MASK || is_uuid(v) || v.parse::<jiff::Timestamp>().is_ok()
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
    if separator_rule == RULE_CONFIG {
        if let Some(masked) = redact_colon_credentials(name, value) {
            bump(counts, RULE_CONFIG);
            return format!("{}{masked}", &line[..prefix_len + name_len + value_offset]);
        }
    }
    if !is_secret_name(name) || is_protected_value(value.trim_matches(|c| c == '"' || c == '\'')) {
        return line.to_string();
    }
    let value_start = prefix_len + name_len + value_offset;
    let leading_ws = value.len() - value.trim_start().len();
    bump(counts, separator_rule);
    format!("{}{MASK}", &line[..value_start + leading_ws])
}

/// Settings whose value is `user:password:host:port` (`rabbitmq=` in `/usbkey/config`, read by
/// the headnode setup and by every agent that talks AMQP): the password is masked, the rest
/// (who and where) is kept.
fn redact_colon_credentials(name: &str, value: &str) -> Option<String> {
    if !name.eq_ignore_ascii_case("rabbitmq") {
        return None;
    }
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 4 || parts[1].is_empty() || parts[1] == MASK {
        return None;
    }
    Some(format!("{}:{MASK}:{}:{}", parts[0], parts[2], parts[3]))
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
    fn rabbitmq_credentials_in_usbkey_config() {
        let (out, counts) =
            run("rabbitmq=guest:Zx9-secret:10.99.99.20:5672\nrabbitmq_domain=local\n");
        assert_eq!(
            out,
            "rabbitmq=guest:[REDACTED]:10.99.99.20:5672\nrabbitmq_domain=local\n"
        );
        assert_eq!(counts.get(RULE_CONFIG), Some(&1));
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

    const MIXED: &str = concat!(
        "plain line\n",
        "admin_pw=hunter2\r\n",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "MIIEowIBAAKCAQEA\n",
        "\n",
        "D]\n",
        "abcdef\n",
        "-----END RSA PRIVATE KEY-----\n",
        "{\"token\":\"t0k\",\"req_id\":\"r1\"}\n",
        "last line without newline password=x"
    );

    /// The redaction as the old whole-copy code made it: each line redacted, endings kept.
    fn line_by_line(text: &str) -> String {
        let mut in_pem = false;
        let mut counts = Counts::new();
        text.split_inclusive('\n')
            .map(|raw| {
                let body = raw.trim_end_matches('\n').trim_end_matches('\r');
                redact_line(body, &mut in_pem, &mut counts) + &raw[body.len()..]
            })
            .collect()
    }

    #[test]
    fn the_streamed_copy_is_the_line_by_line_redaction_whatever_the_read_size() {
        let expected = line_by_line(MIXED);
        let redaction = Redaction::plan(MIXED.as_bytes());
        assert_eq!(redaction.redacted_len(), expected.len() as u64);
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let mut reader = redaction.reader(MIXED.as_bytes(), 0);
            let mut out = Vec::new();
            let mut buf = vec![0u8; chunk];
            loop {
                let n = std::io::Read::read(&mut reader, &mut buf).expect("read");
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(
                String::from_utf8(out).expect("utf8"),
                expected,
                "chunk {chunk}"
            );
        }
        assert!(!expected.contains("hunter2") && !expected.contains("abcdef"));
    }

    #[test]
    fn a_tail_read_from_inside_a_key_still_masks_the_key() {
        let data = MIXED.as_bytes();
        let redaction = Redaction::plan(data);
        let from = MIXED.find("abcdef").expect("key line");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut redaction.reader(data, from), &mut out).expect("read");
        assert!(out.starts_with("[REDACTED]\n-----END"), "{out}");
        assert!(line_by_line(MIXED).ends_with(&out));
    }

    #[test]
    fn line_starts_map_between_the_redacted_text_and_the_original() {
        let data = MIXED.as_bytes();
        let redacted = line_by_line(MIXED);
        let redaction = Redaction::plan(data);
        let redacted_starts: Vec<usize> = std::iter::once(0)
            .chain(redacted.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let original_starts: Vec<usize> = std::iter::once(0)
            .chain(MIXED.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for at in 0..=redacted.len() as u64 {
            let got = redaction.line_start_at_or_after(data, at);
            match redacted_starts.iter().position(|s| *s as u64 >= at) {
                Some(line) => {
                    assert_eq!(got.redacted, redacted_starts[line] as u64, "at {at}");
                    assert_eq!(got.original, original_starts[line], "at {at}");
                    assert_eq!(got.lines, line as u64, "at {at}");
                }
                None => {
                    assert_eq!(got.redacted, redacted.len() as u64, "at {at}");
                    assert_eq!(got.original, data.len(), "at {at}");
                }
            }
        }
    }

    #[test]
    fn only_changed_lines_are_kept_in_memory() {
        let text: String = (0..10_000)
            .map(|i| {
                if i % 1000 == 0 {
                    format!("password=secret{i}\n")
                } else {
                    format!("an ordinary log line number {i}\n")
                }
            })
            .collect();
        let redaction = Redaction::plan(text.as_bytes());
        assert_eq!(redaction.edits.len(), 10);
        assert_eq!(redaction.counts.get(RULE_CONFIG), Some(&10));
        // Of each line, only the secret's replacement is kept.
        for edit in &redaction.edits {
            assert_eq!(&*edit.text, MASK.as_bytes());
            assert!(text[edit.start..edit.end].starts_with("secret"));
        }
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
