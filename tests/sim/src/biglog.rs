//! A large VMAPI-like bunyan log for benchmarks (`triton-sim biglog`): hours of restify audit
//! records with the mix a busy VMAPI writes — mostly `handled: 200` for listings and gets, some
//! `POST /vms` and 4xx/5xx answers with their error bodies, a few `ERROR` records with a
//! serialized `err`, and now and then raw non-JSON output (a thrown stack, a node warning)
//! between records. Records are in time order, as a real log is, so time slicing can bisect it.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::json;

use crate::clock::{self, Ms, HOUR};
use crate::formats::bunyan::{self, Logger};
use crate::formats::restify::{self, Request};
use crate::rng::SimRng;

/// What to write.
#[derive(Debug, Clone)]
pub struct BigLogOptions {
    /// Stop once the file holds at least this many bytes.
    pub bytes: u64,
    /// Spread the records evenly over this many hours, ending at `end`.
    pub hours: u32,
    /// Time of the last record (ms since the epoch).
    pub end: Ms,
    pub seed: u64,
}

/// Average size of one record, to space them over the requested hours.
const APPROX_RECORD_BYTES: u64 = 1040;

/// Writes the log; returns the bytes written and the number of records.
pub fn write(path: &Path, opts: &BigLogOptions) -> anyhow::Result<(u64, u64)> {
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = SimRng::new(opts.seed, "biglog");
    let log = Logger::new("vmapi", "b8b7a2c4-6d3e-4d6f-9a55-2f0c4a8e1d21", 4215);
    let span = i64::from(opts.hours.max(1)) * HOUR;
    let start = opts.end - span;
    let count = (opts.bytes / APPROX_RECORD_BYTES).max(1);
    let step_us = (span as u64 * 1000 / count).max(1);
    let vms: Vec<String> = (0..500).map(|_| rng.uuid()).collect();
    let owners: Vec<String> = (0..40).map(|_| rng.uuid()).collect();
    let (mut written, mut records, mut i) = (0u64, 0u64, 0u64);
    while written < opts.bytes {
        let t = start + (i * step_us / 1000) as Ms;
        i += 1;
        for line in request(&log, &mut rng, t, &vms, &owners) {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            written += line.len() as u64 + 1;
            records += 1;
        }
    }
    out.flush()?;
    Ok((written, records))
}

/// The lines one request leaves: its audit record, sometimes an error record before it and raw
/// output after it.
fn request(
    log: &Logger,
    rng: &mut SimRng,
    t: Ms,
    vms: &[String],
    owners: &[String],
) -> Vec<String> {
    let req_id = rng.uuid();
    let pick = rng.range(0, 1000);
    let vm = &vms[rng.range(0, vms.len() as i64) as usize];
    let owner = &owners[rng.range(0, owners.len() as i64) as usize];
    let (method, url, status) = match pick {
        0..=449 => ("GET", format!("/vms?owner_uuid={owner}&state=active"), 200),
        450..=799 => ("GET", format!("/vms/{vm}"), 200),
        800..=899 => ("GET", "/ping".to_string(), 200),
        900..=959 => ("PUT", format!("/vms/{vm}"), 200),
        960..=984 => ("POST", "/vms".to_string(), 202),
        985..=994 => ("GET", format!("/vms/{}", rng.uuid()), 404),
        _ => ("POST", "/vms".to_string(), 500),
    };
    let mut lines = Vec::with_capacity(3);
    let err = (status >= 400).then(|| {
        let (code, message) = if status == 404 {
            ("ResourceNotFound", "VM not found")
        } else {
            ("InternalError", "Error talking to CNAPI")
        };
        json!({"message": message, "name": format!("{code}Error"), "restCode": code,
               "statusCode": status, "body": {"code": code, "message": message}})
    });
    if status == 500 {
        let field = bunyan::err_field(
            "Error",
            "connect ECONNREFUSED",
            &[
                "errnoException (net.js:904:11)",
                "Object.afterConnect [as oncomplete] (net.js:895:19)",
            ],
        );
        let child = log.child("req_id", req_id.clone());
        lines.push(child.rec(
            bunyan::ERROR,
            t - 3,
            &[("err", field)],
            "Error talking to CNAPI",
        ));
    }
    let body = (status == 202).then(|| json!({"vm_uuid": vm, "job_uuid": rng.uuid()}));
    lines.push(restify::audit(
        log,
        t,
        &Request {
            req_id: &req_id,
            method,
            url: &url,
            remote: "10.99.99.38",
            remote_port: 30_000 + rng.range(0, 30_000) as u16,
            user_agent: "restify/2.8.5",
            status,
            latency_ms: rng.range(1, 80),
            body: body.or_else(|| err.as_ref().map(|e| e["body"].clone())),
            err,
        },
    ));
    if pick == 999 && rng.chance(0.3) {
        lines.push("(node) warning: possible EventEmitter memory leak detected. 11 listeners added. Use emitter.setMaxListeners() to increase limit.".to_string());
    }
    lines
}

/// The end time used when none is given: midnight after the simulated datacenter's day, so a
/// 24 h log covers whole UTC hours of 2024-05-11.
pub fn default_end() -> Ms {
    clock::at(2024, 5, 12, 0, 0, 0)
}
