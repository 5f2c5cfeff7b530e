//! The DAPI snapshot CNAPI logs for every allocation (sdc-cnapi `lib/endpoints/allocations.js`,
//! `bin/alloc-reasons.sh`): an INFO record, msg `Snapshot of request, results, and reasoning by
//! DAPI`, whose `snapshot` field is base64 of gzip of JSON `{serverChosen, servers, params,
//! tickets, defaults, steps}`. `steps` is `[{step: "Received by DAPI", remaining: [...]},
//! {step: "<algorithm>", remaining: [...], reasons: {"<server>"|"*"|"skip": "<text>"}}, ...]`.
//! Decoded here into the reason each server was dropped.

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use serde_json::Value;

/// Largest decompressed snapshot accepted (a bundle is untrusted: no gzip bombs).
const MAX_SNAPSHOT: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapiStep {
    pub step: String,
    pub remaining: usize,
    pub reasons: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapiSnapshot {
    pub server_chosen: Option<String>,
    pub steps: Vec<DapiStep>,
    /// Server uuid → (step that removed it, reason).
    pub dropped: BTreeMap<String, (String, String)>,
    /// `vm_uuid` or `uuid` of the request params, when present.
    pub vm_uuid: Option<String>,
}

impl DapiSnapshot {
    /// The last step that left no server, and its `*` reason, as CNAPI words the 409.
    pub fn failing_step(&self) -> Option<&DapiStep> {
        self.steps.iter().find(|s| s.remaining == 0)
    }
}

/// Decodes the `snapshot` field.
pub fn decode(field: &str) -> Result<DapiSnapshot, String> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(field.trim())
        .map_err(|e| format!("snapshot is not base64: {e}"))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(MAX_SNAPSHOT)
        .read_to_end(&mut json)
        .map_err(|e| format!("snapshot is not gzip: {e}"))?;
    let value: Value =
        serde_json::from_slice(&json).map_err(|e| format!("snapshot is not JSON: {e}"))?;
    Ok(from_json(&value))
}

pub fn from_json(value: &Value) -> DapiSnapshot {
    let mut steps = Vec::new();
    let mut dropped = BTreeMap::new();
    let mut previous: Vec<String> = Vec::new();
    for step in value
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = step
            .get("step")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let remaining: Vec<String> = step
            .get("remaining")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let reasons: BTreeMap<String, String> = step
            .get("reasons")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for server in &previous {
            if !remaining.contains(server) && !dropped.contains_key(server) {
                let reason = reasons
                    .get(server)
                    .or_else(|| reasons.get("*"))
                    .cloned()
                    .unwrap_or_default();
                dropped.insert(server.clone(), (name.clone(), reason));
            }
        }
        previous = remaining.clone();
        steps.push(DapiStep {
            step: name,
            remaining: remaining.len(),
            reasons,
        });
    }
    let params = value.get("params");
    DapiSnapshot {
        server_chosen: value.get("serverChosen").and_then(|s| {
            s.as_str()
                .map(str::to_string)
                .or_else(|| s.get("uuid")?.as_str().map(str::to_string))
        }),
        steps,
        dropped,
        vm_uuid: params
            .and_then(|p| {
                p.get("vm")
                    .and_then(|v| v.get("vm_uuid"))
                    .or_else(|| p.get("vm_uuid"))
            })
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    #[test]
    fn decodes_base64_gzip_snapshot() {
        let snap = json!({"serverChosen": null, "steps": [
            {"step": "Received by DAPI", "remaining": ["s1", "s2"]},
            {"step": "Servers which are currently running", "remaining": ["s1"], "reasons": {"s2": "Server has status: unknown"}},
            {"step": "Servers with enough unreserved RAM", "remaining": [], "reasons": {"s1": "VM's calculated 5120 RAM is less than server's spare 1024"}}
        ]});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(snap.to_string().as_bytes()).expect("gzip");
        let field = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
        let d = decode(&field).expect("decode");
        assert_eq!(d.steps.len(), 3);
        assert_eq!(
            d.failing_step().map(|s| s.step.as_str()),
            Some("Servers with enough unreserved RAM")
        );
        assert_eq!(d.dropped["s2"].1, "Server has status: unknown");
        assert!(d.dropped["s1"].1.contains("less than server's spare"));
        assert!(decode("%%%").is_err());
    }
}
