//! Secrets planted in a generated datacenter, so the collector's redaction can be tested against
//! the places real Triton keeps them, and the values written down as ground truth.
//!
//! Kinds: `/usbkey/config` passwords, shadow hash and RabbitMQ credentials; a proxy URL with
//! a password; the failed VMs' `*_pw` internal metadata, customer-metadata token, URL with a
//! password and PEM key, in VMAPI, `vmadm get` and the job params; `Authorization` (Basic and
//! HTTP Signature) and `x-api-key` headers in VMAPI's and CNAPI's restify audit records; the UFDS
//! root password in CloudAPI's rendered configuration.
//!
//! Planting runs on the written tree and never adds or removes a line of an existing log (an
//! audit record gains a header in place; `/usbkey/config` gains lines at its end), so evidence
//! line numbers and every scenario's diagnosis stay as they were. The values come from the seed.
//!
//! Ground truth: `DIR/sim/secrets.json` = `{"secrets": [{"kind", "value", "planted_in": [..]}]}`.
//! `value` is the exact text that must never reach a redacted bundle (for a header, the
//! credential after the scheme; for a PEM key, its body). `planted_in` names the host file
//! (`<server uuid>:<absolute path>`) or the state object (`state:api.vms/<uuid>`) holding it.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::{json, Value};

use crate::rng::SimRng;

/// Where the ground truth is written, relative to the datacenter directory.
pub const SECRETS_FILE: &str = "sim/secrets.json";

#[derive(Debug, Clone, Serialize)]
pub struct Planted {
    pub kind: &'static str,
    pub value: String,
    pub planted_in: Vec<String>,
}

/// Plants the secrets in the datacenter at `dir` and writes [`SECRETS_FILE`].
pub fn plant(dir: &Path, seed: u64) -> anyhow::Result<Vec<Planted>> {
    let mut rng = SimRng::new(seed, "planted-secrets");
    let expected: Value = read_json(&dir.join("expected.json"))?;
    let headnode = expected["headnode"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut planted = Vec::new();
    let usbkey = usbkey_config(dir, &headnode, &mut rng)?;
    let configs = service_configs(dir, &headnode, &usbkey)?;
    planted.extend(usbkey);
    planted.extend(vm_metadata_and_job_params(dir, &expected, &mut rng)?);
    planted.extend(restify_headers(dir, &headnode, &expected, &mut rng)?);
    planted.extend(configs);
    let text = serde_json::to_string_pretty(&json!({ "secrets": planted }))? + "\n";
    let path = dir.join(SECRETS_FILE);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(planted)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("cannot parse {}", path.display()))
}

/// A password as generators make them: letters, digits and a little punctuation that is safe
/// in a URL's userinfo and in JSON.
fn password(rng: &mut SimRng, len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_-.~";
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

fn base64_body(rng: &mut SimRng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

/// A PEM private key whose body lines all start with `body` (the recorded value).
fn pem_key(rng: &mut SimRng, body: &str) -> String {
    let mut text = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    text.push_str(body);
    text.push('\n');
    for _ in 0..3 {
        text.push_str(&base64_body(rng, 64));
        text.push('\n');
    }
    text.push_str("-----END RSA PRIVATE KEY-----\n");
    text
}

/// `/usbkey/config`: the passwords the generator already wrote (`*_pw`, `*_password`,
/// `root_shadow`), the RabbitMQ credentials (`rabbitmq=user:pass:host:port`, the real format)
/// and a proxy URL with a password, appended.
fn usbkey_config(dir: &Path, headnode: &str, rng: &mut SimRng) -> anyhow::Result<Vec<Planted>> {
    let path = dir.join("hn/usbkey/config");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let at = vec![format!("{headnode}:/usbkey/config")];
    let mut planted = Vec::new();
    let mut out = String::with_capacity(text.len() + 256);
    let rabbit_pw = password(rng, 18);
    for line in text.lines() {
        match line.split_once('=') {
            Some((key, value)) if key.ends_with("_pw") || key.ends_with("_password") => {
                let kind = if key.starts_with("ufds") {
                    "usbkey-ufds-password"
                } else {
                    "usbkey-password"
                };
                planted.push(Planted {
                    kind,
                    value: value.to_string(),
                    planted_in: at.clone(),
                });
                out.push_str(line);
            }
            Some(("root_shadow", value)) => {
                planted.push(Planted {
                    kind: "usbkey-shadow-hash",
                    value: value.to_string(),
                    planted_in: at.clone(),
                });
                out.push_str(line);
            }
            Some(("rabbitmq", value)) => {
                // user:pass:host:port
                let mut parts: Vec<&str> = value.split(':').collect();
                if parts.len() == 4 {
                    parts[1] = &rabbit_pw;
                    planted.push(Planted {
                        kind: "usbkey-rabbitmq-password",
                        value: rabbit_pw.clone(),
                        planted_in: at.clone(),
                    });
                }
                out.push_str(&format!("rabbitmq={}", parts.join(":")));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    let proxy_pw = password(rng, 16);
    out.push_str(&format!(
        "http_proxy=http://proxyuser:{proxy_pw}@proxy.example.com:3128\n"
    ));
    planted.push(Planted {
        kind: "url-password",
        value: proxy_pw,
        planted_in: at,
    });
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(planted)
}

/// The failed VMs' metadata (`*_pw` in internal_metadata; a token, a URL with a password and a
/// PEM key in customer_metadata) in VMAPI and in `vmadm get` on their server, and the same
/// metadata in their provision jobs' params, as VMAPI passes it to the workflow.
fn vm_metadata_and_job_params(
    dir: &Path,
    expected: &Value,
    rng: &mut SimRng,
) -> anyhow::Result<Vec<Planted>> {
    let state_path = dir.join(triton_fake::state::STATE_FILE);
    let mut state = read_json(&state_path)?;
    let mut planted = Vec::new();
    for provision in expected["provisions"].as_array().into_iter().flatten() {
        let Some(vm) = provision["vm_uuid"].as_str() else {
            continue;
        };
        let root_pw = password(rng, 14);
        let admin_pw = password(rng, 14);
        let token = format!("tok_{}", base64_body(rng, 32).replace(['+', '/'], "x"));
        let backup_pw = password(rng, 12);
        let pem_body = base64_body(rng, 64);
        let internal = json!({ "root_pw": root_pw, "admin_pw": admin_pw });
        let customer = json!({
            "api_token": token,
            "backup_url": format!("https://backup:{backup_pw}@backup.example.com/vm/{vm}"),
            "tls_bundle": pem_key(rng, &pem_body),
        });
        let mut places = Vec::new();
        if let Some(obj) = state["api"]["vms"].get_mut(vm) {
            merge(obj, "internal_metadata", &internal);
            merge(obj, "customer_metadata", &customer);
            places.push(format!("state:api.vms/{vm}"));
        }
        for cn in state["compute_nodes"].as_array_mut().into_iter().flatten() {
            let server = cn["server_uuid"].as_str().unwrap_or_default().to_string();
            for obj in cn["vms"].as_array_mut().into_iter().flatten() {
                if obj["uuid"] == vm {
                    merge(obj, "internal_metadata", &internal);
                    merge(obj, "customer_metadata", &customer);
                    places.push(format!("state:vmadm/{server}/{vm}"));
                }
            }
        }
        if let Some(job_uuid) = provision["job_uuid"].as_str() {
            for job in state["api"]["jobs"].as_array_mut().into_iter().flatten() {
                if job["uuid"] == job_uuid && job["params"].is_object() {
                    merge(&mut job["params"], "internal_metadata", &internal);
                    merge(&mut job["params"], "customer_metadata", &customer);
                    places.push(format!("state:api.jobs/{job_uuid}"));
                }
            }
        }
        for (kind, value) in [
            ("internal-metadata-pw", root_pw),
            ("internal-metadata-pw", admin_pw),
            ("customer-metadata-token", token),
            ("url-password", backup_pw),
            ("pem-private-key", pem_body),
        ] {
            planted.push(Planted {
                kind,
                value,
                planted_in: places.clone(),
            });
        }
    }
    let text = serde_json::to_string_pretty(&state)? + "\n";
    std::fs::write(&state_path, text)
        .with_context(|| format!("cannot write {}", state_path.display()))?;
    Ok(planted)
}

/// Adds `add`'s keys to the object at `obj[key]` (made an object when it is not one).
fn merge(obj: &mut Value, key: &str, add: &Value) {
    if !obj[key].is_object() {
        obj[key] = json!({});
    }
    if let (Some(target), Some(source)) = (obj[key].as_object_mut(), add.as_object()) {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// `Authorization` and `x-api-key` request headers in the restify audit records of the VMAPI
/// and CNAPI SMF logs: the first two audit records of each log in the minutes after the first
/// provision's job was created (inside any collection window), changed in place.
fn restify_headers(
    dir: &Path,
    headnode: &str,
    expected: &Value,
    rng: &mut SimRng,
) -> anyhow::Result<Vec<Planted>> {
    let state = read_json(&dir.join(triton_fake::state::STATE_FILE))?;
    let job_uuid = expected["provisions"][0]["job_uuid"].as_str();
    let Some(created) = state["api"]["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j["uuid"].as_str().is_some() && j["uuid"].as_str() == job_uuid)
        .and_then(|j| j["created_at"].as_str())
        .map(str::to_string)
    else {
        return Ok(Vec::new());
    };
    let mut planted = Vec::new();
    let zones = dir.join("hn/zones");
    let mut logs: Vec<_> = std::fs::read_dir(&zones)
        .with_context(|| format!("cannot list {}", zones.display()))?
        .filter_map(|e| e.ok())
        .flat_map(|zone| {
            [
                "smartdc-site-vmapi:default.log",
                "smartdc-site-cnapi:default.log",
            ]
            .map(|name| {
                (
                    zone.file_name(),
                    zone.path().join("root/var/svc/log").join(name),
                )
            })
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    logs.sort();
    for (zone, path) in logs {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let host_path = format!(
            "{headnode}:/zones/{}/root/var/svc/log/{}",
            zone.to_string_lossy(),
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let mut out = String::with_capacity(text.len() + 256);
        let mut done = 0;
        for line in text.split_inclusive('\n') {
            let eligible = done < 3
                && line.contains("\"_audit\":true")
                && line.contains("\"headers\":{\"accept\":")
                && record_time(line).is_some_and(|t| t >= created.as_str());
            if !eligible {
                out.push_str(line);
                continue;
            }
            let (header, kind, value) = if done == 0 {
                let credential = base64_body(rng, 40);
                (
                    format!("\"authorization\":\"Basic {credential}\","),
                    "restify-authorization",
                    credential,
                )
            } else if done == 2 {
                let signature = base64_body(rng, 44);
                (
                    format!(
                        "\"authorization\":\"Signature keyId=\\\"/admin/keys/ops\\\",algorithm=\\\"rsa-sha256\\\",signature=\\\"{signature}\\\"\","
                    ),
                    "restify-signature",
                    signature,
                )
            } else {
                let key = password(rng, 32);
                (
                    format!("\"x-api-key\":\"{key}\","),
                    "restify-x-api-key",
                    key,
                )
            };
            out.push_str(&line.replacen("\"headers\":{", &format!("\"headers\":{{{header}"), 1));
            planted.push(Planted {
                kind,
                value,
                planted_in: vec![host_path.clone()],
            });
            done += 1;
        }
        std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(planted)
}

/// The `"time"` of a bunyan record line, as written.
fn record_time(line: &str) -> Option<&str> {
    let start = line.find("\"time\":\"")? + 8;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

/// The CloudAPI zone's configuration as SAPI renders it (sdc-cloudapi
/// `sapi_manifests/cloudapi/{manifest.json,template}`: `/opt/smartdc/cloudapi/etc/cloudapi.cfg`),
/// whose `ufds` and `ufds_master` sections carry the UFDS root password of `/usbkey/config`.
fn service_configs(dir: &Path, headnode: &str, usbkey: &[Planted]) -> anyhow::Result<Vec<Planted>> {
    let state = read_json(&dir.join(triton_fake::state::STATE_FILE))?;
    let zone = state["headnode"]["vms"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|vm| vm["tags"]["smartdc_role"] == "cloudapi")
        .and_then(|vm| vm["uuid"].as_str())
        .map(str::to_string);
    let config = std::fs::read_to_string(dir.join("hn/usbkey/config"))?;
    let setting = |key: &str| {
        config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_default()
            .to_string()
    };
    let root_pw = setting("ufds_ldap_root_pw");
    let (Some(zone), false) = (zone, root_pw.is_empty()) else {
        return Ok(Vec::new());
    };
    let ufds = |host: &str| {
        json!({
            "url": format!("ldaps://{host}"),
            "bindDN": setting("ufds_ldap_root_dn"),
            "bindPassword": root_pw,
            "cache": { "size": 5000, "expiry": 60 },
            "maxConnections": 1,
            "retry": { "initialDelay": 1000 },
            "clientTimeout": 120000,
        })
    };
    let cfg = json!({
        "port": 443,
        "bunyan": { "level": "info", "syslog": { "facility": "local0", "type": "udp" } },
        "read_only": false,
        "ufds": ufds("ufds.local"),
        "ufds_master": ufds(&setting("ufds_admin_ips")),
        "vmapi": { "url": "http://vmapi.local", "cache": { "size": 5000, "expiry": 60 } },
        "ufds_admin_uuid": setting("ufds_admin_uuid"),
    });
    let rel = "/opt/smartdc/cloudapi/etc/cloudapi.cfg";
    let path = dir.join(format!("hn/zones/{zone}/root{rel}"));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&cfg)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The same value as in /usbkey/config: one secret, two more places.
    Ok(usbkey
        .iter()
        .filter(|p| p.value == root_pw)
        .map(|p| Planted {
            kind: "service-config-ufds-password",
            value: p.value.clone(),
            planted_in: vec![format!("{headnode}:/zones/{zone}/root{rel}")],
        })
        .take(1)
        .collect())
}
