//! Redaction against the secrets the simulated datacenter plants (`DIR/sim/secrets.json`): with
//! default settings none of them reaches the bundle, anywhere, while the join keys stay; the
//! manifest counts exactly what was masked; `--no-redact` keeps them and says so.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use common::{stderr, Dc, ReadBundle};

struct Secret {
    kind: String,
    value: String,
}

fn planted(dc: &Dc) -> Vec<Secret> {
    let text = std::fs::read(dc.dir.join("sim/secrets.json")).expect("sim/secrets.json");
    let doc: serde_json::Value = serde_json::from_slice(&text).expect("json");
    doc["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| Secret {
            kind: s["kind"].as_str().expect("kind").to_string(),
            value: s["value"].as_str().expect("value").to_string(),
        })
        .collect()
}

/// The whole bundle file decompressed: every entry's name, header and bytes, manifest included.
fn decompressed(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("open bundle"))
        .read_to_end(&mut out)
        .expect("gunzip bundle");
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    memfind(haystack, needle.as_bytes()).is_some()
}

fn memfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn occurrences(haystack: &[u8], needle: &str) -> u64 {
    let text = String::from_utf8_lossy(haystack);
    text.matches(needle).count() as u64
}

/// UUIDs and RFC 3339 timestamps in `text`, with how often each occurs.
fn join_keys(text: &str) -> BTreeMap<String, u64> {
    let bytes = text.as_bytes();
    let mut keys = BTreeMap::new();
    let hex = |b: u8| b.is_ascii_hexdigit();
    let digit = |b: u8| b.is_ascii_digit();
    let uuid_shape: Vec<fn(u8) -> bool> = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
        .bytes()
        .map(|c| if c == b'-' { |b: u8| b == b'-' } else { hex } as fn(u8) -> bool)
        .collect();
    let time_shape: Vec<fn(u8) -> bool> = "dddd-dd-ddTdd:dd:dd"
        .bytes()
        .map(|c| match c {
            b'd' => digit as fn(u8) -> bool,
            b'-' => |b: u8| b == b'-',
            b'T' => |b: u8| b == b'T',
            _ => |b: u8| b == b':',
        })
        .collect();
    for start in 0..bytes.len() {
        for shape in [&uuid_shape, &time_shape] {
            let end = start + shape.len();
            if end <= bytes.len() && shape.iter().zip(&bytes[start..end]).all(|(f, b)| f(*b)) {
                *keys.entry(text[start..end].to_string()).or_insert(0) += 1;
            }
        }
    }
    keys
}

#[test]
fn planted_secrets_never_reach_a_default_bundle_and_the_manifest_counts_them() {
    let dc = Dc::create();
    let secrets = planted(&dc);
    let distinct: std::collections::BTreeSet<&str> =
        secrets.iter().map(|s| s.value.as_str()).collect();
    assert!(
        distinct.len() >= 20,
        "{} distinct secrets planted",
        distinct.len()
    );
    let kinds: std::collections::BTreeSet<&str> = secrets.iter().map(|s| s.kind.as_str()).collect();
    assert!(kinds.len() >= 8, "{kinds:?}");

    let raw_path = dc.out("raw.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--no-redact",
        "--out",
        raw_path.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let redacted_path = dc.out("redacted.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--out",
        redacted_path.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );

    // Without redaction the secrets are there, and the manifest says nothing was redacted.
    let raw = ReadBundle::open(&raw_path);
    assert!(!raw.manifest.collector.redacted);
    assert!(raw.manifest.items.iter().all(|i| i.redactions.is_empty()));
    let raw_bytes = decompressed(&raw_path);
    let in_raw: Vec<&Secret> = secrets
        .iter()
        .filter(|s| contains(&raw_bytes, &s.value))
        .collect();
    let distinct_in_raw: std::collections::BTreeSet<&str> =
        in_raw.iter().map(|s| s.value.as_str()).collect();
    for kind in [
        "usbkey-password",
        "usbkey-ufds-password",
        "usbkey-rabbitmq-password",
        "usbkey-shadow-hash",
        "internal-metadata-pw",
        "customer-metadata-token",
        "pem-private-key",
        "url-password",
        "restify-authorization",
        "restify-x-api-key",
        "restify-signature",
    ] {
        assert!(
            in_raw.iter().any(|s| s.kind == kind),
            "no planted {kind} reaches a bundle, so redaction of it is not tested"
        );
    }
    assert!(
        distinct_in_raw.len() >= 20,
        "{} of the planted secrets collected",
        distinct_in_raw.len()
    );

    // With default settings none is anywhere: entry names, contents, manifest.
    let bundle = ReadBundle::open(&redacted_path);
    assert!(bundle.manifest.collector.redacted);
    let all = decompressed(&redacted_path);
    for secret in &secrets {
        assert!(
            !contains(&all, &secret.value),
            "planted {} {:?} is in the redacted bundle",
            secret.kind,
            secret.value
        );
        for (name, data) in &bundle.entries {
            assert!(!name.contains(&secret.value), "{name}");
            assert!(!contains(data, &secret.value), "{} in {name}", secret.kind);
        }
    }

    // The manifest counts, per file, exactly the planted secrets that were in it.
    let mut checked = 0;
    for item in &bundle.manifest.items {
        let Some(path) = item.path.as_deref() else {
            continue;
        };
        let original = raw
            .entries
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in the raw bundle"));
        let planted_here: u64 = distinct.iter().map(|v| occurrences(original, v)).sum();
        let counted: u64 = item.redactions.values().sum();
        assert_eq!(
            counted, planted_here,
            "{path}: manifest counts {:?}, {planted_here} planted secret(s) in it",
            item.redactions
        );
        checked += u64::from(planted_here > 0);
    }
    assert!(checked >= 6, "{checked} files with planted secrets");

    // UUIDs, request ids and timestamps are untouched: every one of the raw copy is in the
    // redacted copy as often, and redaction changed no line count.
    for (path, original) in &raw.entries {
        if path.ends_with("manifest.json") {
            continue;
        }
        let redacted = bundle
            .entries
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing"));
        let (original, redacted) = (
            String::from_utf8_lossy(original),
            String::from_utf8_lossy(redacted),
        );
        assert_eq!(original.lines().count(), redacted.lines().count(), "{path}");
        assert_eq!(join_keys(&original), join_keys(&redacted), "{path}");
    }
    for known in [dc.vm(), dc.job(), dc.cn(), dc.headnode()] {
        assert!(bundle.contains_anywhere(&known), "{known}");
    }
    // The audit records that carried the headers keep their request id and time.
    let audit_line = |b: &ReadBundle| -> Option<String> {
        b.entries.iter().find_map(|(p, d)| {
            p.ends_with("smartdc-site-vmapi:default.log").then(|| {
                String::from_utf8_lossy(d)
                    .lines()
                    .find(|l| l.contains("\"authorization\":"))
                    .map(str::to_string)
            })?
        })
    };
    let raw_line = audit_line(&raw).expect("the planted audit record is collected");
    let redacted_line = audit_line(&bundle).expect("the audit record is still there");
    let raw_record: serde_json::Value = serde_json::from_str(&raw_line).expect("record");
    let record: serde_json::Value =
        serde_json::from_str(&redacted_line).expect("redacted record stays JSON");
    for field in ["req_id", "time", "msg"] {
        assert_eq!(record[field], raw_record[field], "{field}");
    }
    assert_eq!(
        record["req"]["headers"]["x-request-id"],
        raw_record["req"]["headers"]["x-request-id"]
    );
    assert_eq!(record["req"]["headers"]["authorization"], "[REDACTED]");
}
