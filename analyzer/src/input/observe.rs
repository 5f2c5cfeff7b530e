//! Runs the right parser over one entry and files what it kept into [`Observations`].

use std::io::{BufRead, BufReader, Read};

use serde_json::Value;

use super::classify::{by_content, by_path, SourceKind};
use super::observations::{EntrySeen, Located, LogExtent, LogRecord, Observations, ZoneSvcLog};
use super::paths::PathInfo;
use super::place::Place;
use crate::parsers::service_log::{self, Candidate, KeptRecord};
use crate::parsers::{
    dapi, heartbeater, http, image_manifest, imgadm, job, svclog, svcs, vmadm, vmlog, zfs_list,
    zpool_history,
};

/// Bytes looked at to recognize content.
const HEAD_BYTES: usize = 64 * 1024;
/// Largest JSON or command text read whole.
const MAX_WHOLE: u64 = 64 * 1024 * 1024;
/// Most records kept from one log file.
const MAX_KEPT_RECORDS: u64 = 20_000;
/// Largest decompressed size of a `.gz` entry.
const MAX_GUNZIP: u64 = 4 * 1024 * 1024 * 1024;
/// A `.gz` entry may inflate to this many times its compressed size (logs compress 10-30×)…
const MAX_GUNZIP_RATIO: u64 = 250;
/// …or to this much, whichever is more (small files of repetitive text compress very well).
const MIN_GUNZIP_ALLOWANCE: u64 = 16 * 1024 * 1024;
/// gzip inside gzip inside gzip is read; deeper nesting is only a bomb's trick.
const MAX_GZIP_LAYERS: u32 = 3;

/// Messages worth keeping at any level (the guide's and reference's signatures).
/// (`Successfully created VM <uuid>` is not one: VM.js prints it to stderr only, so it shows in
/// the console output of `vmadm create`, never in a vmadm bunyan log.)
const KEEP_PHRASES: [&str; 13] = [
    "Snapshot of request",
    "No compute resources available",
    "No allocatable servers",
    "Executing start method",
    "job completed",
    "Error talking to CNAPI",
    "No such zone configured",
    "VM allocated to Server",
    "Payload sent to DAPI",
    "timed out waiting for /var/svc/provisioning",
    "Failed to allocate memory",
    "-partial",
    "no more free IPs",
];

/// Raw-line markers of records `keep_record` may want, besides [`KEEP_PHRASES`].
const MARKERS: [&str; 11] = [
    "\"vm_uuid\"",
    "\"job_uuid\"",
    "\"snapshot\"",
    "\"error\":",
    "\"dapiPayload\"",
    "\"vm\":\"",
    "\"method\":\"POST\"",
    "\"statusCode\":4",
    "\"statusCode\":5",
    "\"task_id\"",
    crate::parsers::service_log::CNAPI_TASK_ID,
];

/// Every marker and phrase in one searcher: one pass over each line finds any of them (a
/// search per pattern, each building its own searcher, was most of the analysis time). The
/// packed (SIMD) searcher looks at 16 or 32 bytes per step; where the CPU lacks it, a DFA.
enum Interesting {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl Interesting {
    fn build() -> Interesting {
        let patterns = || MARKERS.iter().chain(KEEP_PHRASES.iter());
        if let Some(packed) = aho_corasick::packed::Searcher::new(patterns()) {
            return Interesting::Packed(packed);
        }
        Interesting::Automaton(
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(patterns())
                .expect("fixed patterns build"),
        )
    }

    fn is_match(&self, line: &[u8]) -> bool {
        match self {
            Interesting::Packed(searcher) => searcher.find(line).is_some(),
            Interesting::Automaton(automaton) => automaton.is_match(line),
        }
    }
}

static INTERESTING: std::sync::LazyLock<Interesting> = std::sync::LazyLock::new(Interesting::build);

/// Cheap test on a record's raw line: could `keep_record` want it? Records that fail it are
/// never copied (most of a busy service log: pings, polls, successful GETs).
fn maybe_interesting(candidate: &Candidate<'_>) -> bool {
    if candidate.level.is_none_or(|l| l >= 40) {
        return true;
    }
    INTERESTING.is_match(candidate.line)
}

fn keep_record(record: &KeptRecord) -> bool {
    if record.level >= 40 {
        return true;
    }
    if record.audit.as_ref().is_some_and(|a| {
        a.status.is_some_and(|s| s >= 400) || (a.method == "POST" && a.url.starts_with("/vms"))
    }) {
        return true;
    }
    // Task ids join the CN's task logs to CNAPI and the job (timeline, clock offsets).
    if record.vm_uuid.is_some() || record.job_uuid.is_some() || record.task_id.is_some() {
        return true;
    }
    // A task's error event (`"event":{"error":"..."}`) carries the failure text at INFO level.
    if record.raw.contains("\"error\":\"") || record.raw.contains("\"error\":{") {
        return true;
    }
    let text = record.text();
    KEEP_PHRASES
        .iter()
        .any(|p| text.contains(p) || record.raw.contains(p))
}

/// Configuration files that hold passwords on a real host (`sdc-sbcreate` copies them as they
/// are; `triton-collect` redacts them).
fn holds_configuration(place: &Place) -> bool {
    let path = place.host_path.as_deref().unwrap_or(&place.entry);
    path.ends_with("/usbkey/config")
        || path == "usbkey/config"
        || (path.contains("/opt/smartdc/")
            && (path.ends_with("/etc/config.json") || path.ends_with(".cfg")))
}

/// Reads one entry. Errors are recorded as warnings, never fatal for the input.
pub fn observe_entry(
    obs: &mut Observations,
    place: Place,
    info: &PathInfo,
    size: u64,
    reader: &mut dyn Read,
) {
    let allowance = size
        .saturating_mul(MAX_GUNZIP_RATIO)
        .clamp(MIN_GUNZIP_ALLOWANCE, MAX_GUNZIP);
    observe_layer(obs, place, info, size, reader, (0, allowance));
}

/// [`observe_entry`] inside `layers.0` gzip layers, each allowed to inflate to `layers.1` bytes.
fn observe_layer(
    obs: &mut Observations,
    place: Place,
    info: &PathInfo,
    size: u64,
    reader: &mut dyn Read,
    layers: (u32, u64),
) {
    let mut head = Vec::with_capacity(HEAD_BYTES.min(size as usize + 1));
    if let Err(e) = reader.take(HEAD_BYTES as u64).read_to_end(&mut head) {
        obs.warnings
            .push(format!("{}: cannot read: {e}", place.entry));
        return;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        // A gzip-compressed log (rotated `.gz`, hand-compressed file): read through it, within
        // a bound on how much it may inflate (a decompression bomb must not cost minutes).
        let (depth, allowance) = layers;
        if depth >= MAX_GZIP_LAYERS {
            obs.warnings.push(format!(
                "{}: gzip nested more than {MAX_GZIP_LAYERS} deep: not read",
                place.entry
            ));
            return;
        }
        let chained = head.as_slice().chain(reader);
        let mut gz = flate2::read::MultiGzDecoder::new(chained).take(allowance);
        let entry = place.entry.clone();
        let mut place = place;
        place.entry = place.entry.trim_end_matches(".gz").to_string();
        if let Some(p) = place.host_path.as_mut() {
            *p = p.trim_end_matches(".gz").to_string();
        }
        observe_layer(obs, place, info, size, &mut gz, (depth + 1, allowance));
        if gz.limit() == 0 && gz.into_inner().read(&mut [0u8; 1]).is_ok_and(|n| n > 0) {
            obs.warnings.push(format!(
                "{entry}: decompressed data larger than {allowance} bytes ({MAX_GUNZIP_RATIO}× \
                 its compressed size, at least {MIN_GUNZIP_ALLOWANCE}): the rest was not read"
            ));
        }
        return;
    }
    let name = place
        .entry
        .rsplit('/')
        .next()
        .unwrap_or(&place.entry)
        .to_string();
    let kind = match by_path(&place.entry, info) {
        Some(kind) => kind,
        None if head.contains(&0) => SourceKind::Ignored,
        None => by_content(&name, &String::from_utf8_lossy(&head)),
    };
    obs.entry_count += 1;
    if holds_configuration(&place) {
        // Read it all (it is small) to count the secrets it holds in clear.
        let mut rest = Vec::new();
        let _ = reader.take(MAX_WHOLE).read_to_end(&mut rest);
        head.extend_from_slice(&rest);
        let (_, counts) = triton_redact::redact(&head);
        let held: u64 = counts.values().sum();
        if held > 0 {
            obs.secrets_held += held;
            obs.warnings.push(format!(
                "{}: holds {held} unredacted secret value(s) (passwords, keys); they are masked \
                 in this report, but handle the input as confidential",
                place.entry
            ));
        }
    }
    let ignored = matches!(kind, SourceKind::Ignored);
    if !ignored || obs.entries.len() < super::observations::MAX_IGNORED_SEEN {
        obs.entries.push(EntrySeen {
            place: place.clone(),
            kind: kind.label(),
            size,
        });
    }
    let mut full = BufReader::new(head.as_slice().chain(reader));
    let result = match kind {
        SourceKind::Ignored | SourceKind::BundleFormat => Ok(()),
        SourceKind::Manifest => read_whole(&mut full).and_then(|text| {
            let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            obs.manifest = Some(super::manifest::parse(&value)?);
            Ok(())
        }),
        SourceKind::Json | SourceKind::CommandText => {
            read_whole(&mut full).map(|text| observe_text(obs, &place, &text))
        }
        SourceKind::Bunyan => observe_bunyan(obs, &place, &name, &mut full),
        SourceKind::Heartbeater => heartbeater::parse(&mut full)
            .map(|hb| {
                obs.heartbeats.push(Located {
                    place: place.clone(),
                    line: None,
                    value: hb,
                })
            })
            .map_err(|e| e.to_string()),
        SourceKind::VmLog { vm } => vmlog::parse(&mut full)
            .map(|log| {
                obs.vm_logs.push(Located {
                    place: place.clone(),
                    line: None,
                    value: (vm, log),
                })
            })
            .map_err(|e| e.to_string()),
        SourceKind::ZoneSvcLog {
            zone,
            service,
            archived,
        } => svclog::parse(&mut full)
            .map(|log| {
                obs.svc_logs.push(Located {
                    place: place.clone(),
                    line: None,
                    value: ZoneSvcLog {
                        zone,
                        service,
                        archived,
                        log,
                    },
                })
            })
            .map_err(|e| e.to_string()),
        SourceKind::ProvisionMarker { vm, marker } => {
            obs.markers.push(Located {
                place: place.clone(),
                line: None,
                value: (vm, marker),
            });
            Ok(())
        }
        SourceKind::ZpoolHistory => zpool_history::parse(&mut full)
            .map(|h| {
                obs.zpool.push(Located {
                    place: place.clone(),
                    line: None,
                    value: h,
                })
            })
            .map_err(|e| e.to_string()),
        SourceKind::ZfsList => zfs_list::parse(&mut full)
            .map(|l| {
                obs.zfs.push(Located {
                    place: place.clone(),
                    line: None,
                    value: l,
                })
            })
            .map_err(|e| e.to_string()),
        SourceKind::SvcsXv { zone } => read_whole(&mut full).map(|text| {
            let zone = zone.or_else(|| {
                place
                    .command
                    .as_deref()
                    .and_then(|c| crate::parsers::find_uuids(c).into_iter().next())
            });
            obs.svcs.push(Located {
                place: place.clone(),
                line: None,
                value: (zone, svcs::parse(&text)),
            })
        }),
    };
    if let Err(e) = result {
        obs.warnings.push(format!("{}: {e}", place.entry));
    }
}

fn read_whole(reader: &mut dyn Read) -> Result<String, String> {
    let mut buf = Vec::new();
    reader
        .take(MAX_WHOLE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > MAX_WHOLE {
        return Err(format!("larger than {MAX_WHOLE} bytes, not read"));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// JSON documents (possibly HTTP-wrapped) and command text.
fn observe_text(obs: &mut Observations, place: &Place, text: &str) {
    let (body, body_line, status) = match http::split(text) {
        Some(answer) => (answer.body, answer.body_line, Some(answer.status)),
        None => (text, 1, None),
    };
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(value) => {
                observe_json(obs, place, body_line, status, &value);
                return;
            }
            Err(e) if !text.contains("imgadm: error") && !text.contains("No such zone") => {
                obs.warnings.push(format!(
                    "{}:{}: not valid JSON: {e}",
                    place.entry,
                    body_line + e.line() as u64 - 1
                ));
                return;
            }
            Err(_) => {}
        }
    }
    if let Some((state, line)) = imgadm::not_installed_from_text(body) {
        obs.images.push(Located {
            place: place.clone(),
            line: Some(body_line + line - 1),
            value: state,
        });
    }
    if let Some((vm, line)) = vmadm::missing_vm_from_text(body) {
        obs.missing_vms.push(Located {
            place: place.clone(),
            line: Some(body_line + line - 1),
            value: vm,
        });
    }
    for (line, text) in vmadm::create_errors(body) {
        obs.command_errors.push(Located {
            place: place.clone(),
            line: Some(body_line + line - 1),
            value: text,
        });
    }
}

fn observe_json(
    obs: &mut Observations,
    place: &Place,
    line: u64,
    status: Option<u16>,
    value: &Value,
) {
    if status.is_some_and(|s| s >= 400) {
        // An API error answer (e.g. 404 for a destroyed VM): nothing to model, but keep the text.
        obs.command_errors.push(Located {
            place: place.clone(),
            line: Some(line),
            value: crate::parsers::clip(&value.to_string(), crate::parsers::MAX_EXCERPT),
        });
        return;
    }
    let one = |obs: &mut Observations, v: &Value| {
        if job::is_job(v) {
            match job::parse_job(v) {
                Ok(j) => obs.jobs.push(Located {
                    place: place.clone(),
                    line: Some(line),
                    value: j,
                }),
                Err(e) => obs.warnings.push(format!("{}:{line}: {e}", place.entry)),
            }
        } else if let Some(why) = job::unreadable_job(v) {
            obs.warnings.push(format!("{}:{line}: {why}", place.entry));
        } else if imgadm::is_image_info(v) {
            if let Some(img) = imgadm::from_json(v) {
                obs.images.push(Located {
                    place: place.clone(),
                    line: Some(line),
                    value: img,
                });
            }
            manifest_of(obs, place, line, v.get("manifest"));
        } else if image_manifest::is_manifest(v) {
            manifest_of(obs, place, line, Some(v));
        } else if let Some(vm) = vmadm::from_json(v) {
            obs.vms.push(Located {
                place: place.clone(),
                line: Some(line),
                value: vm,
            });
        }
    };
    match value {
        Value::Array(items) => items.iter().for_each(|v| one(obs, v)),
        v => one(obs, v),
    }
}

fn manifest_of(obs: &mut Observations, place: &Place, line: u64, value: Option<&Value>) {
    if let Some(manifest) = value.and_then(image_manifest::from_json) {
        obs.image_manifests.push(Located {
            place: place.clone(),
            line: Some(line),
            value: manifest,
        });
    }
}

fn service_from_name(name: &str) -> Option<String> {
    // `smartdc-site-vmapi:default.log`, `smartdc-application-wf-runner:default.log`,
    // `vmapi_<zone>_<ts>.log`, `cn-agent_<node>_<ts>.log`.
    let stem = name.trim_end_matches(".log");
    if let Some(rest) = stem
        .strip_prefix("smartdc-site-")
        .or_else(|| stem.strip_prefix("smartdc-application-"))
        .or_else(|| stem.strip_prefix("smartdc-agent-"))
    {
        return Some(rest.split(':').next().unwrap_or(rest).to_string());
    }
    stem.split_once('_').map(|(n, _)| n.to_string())
}

fn observe_bunyan(
    obs: &mut Observations,
    place: &Place,
    name: &str,
    reader: &mut dyn BufRead,
) -> Result<(), String> {
    let file_service = service_from_name(name);
    let mut kept = 0u64;
    let mut records = Vec::new();
    let mut snapshots = Vec::new();
    let mut snapshot_errors = Vec::new();
    let summary = service_log::scan_filtered(reader, maybe_interesting, |record, snapshot| {
        if let Some(field) = snapshot {
            match dapi::decode(&field) {
                Ok(snap) => {
                    let mut meta = record.clone();
                    meta.raw = crate::parsers::clip(&meta.raw, 400);
                    snapshots.push((meta, snap));
                }
                Err(e) => {
                    snapshot_errors.push(format!("{}:{}: DAPI {e}", place.entry, record.line))
                }
            }
        }
        if keep_record(&record) && kept < MAX_KEPT_RECORDS {
            kept += 1;
            records.push(record);
        }
    })
    .map_err(|e| e.to_string())?;
    let service = summary
        .names
        .first()
        .map(|(n, _)| n.clone())
        .or(file_service)
        .unwrap_or_else(|| "unknown".to_string());
    for record in records {
        obs.records.push(LogRecord {
            place: place.clone(),
            service: service.clone(),
            record,
        });
    }
    for (meta, snap) in snapshots {
        obs.dapi.push(Located {
            place: place.clone(),
            line: Some(meta.line),
            value: (meta, snap),
        });
    }
    obs.warnings.extend(snapshot_errors);
    obs.extents.push(LogExtent {
        place: place.clone(),
        service,
        lines: summary.lines,
        records: summary.records,
        kept,
        first_time: summary.first_time,
        last_time: summary.last_time,
    });
    Ok(())
}
