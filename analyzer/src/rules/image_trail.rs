//! Image import failures read from the compute node's ZFS pool, for a provision whose job is not
//! in the input (an `sdc-sbcreate` service bundle holds no job, but it holds the node's
//! `zpool history` and `zfs list -t all`). What an engineer following the guide concludes from
//! them ("Common pathologies", the `-partial` datasets):
//!
//! - `imgadm import` receives an image into `<pool>/<uuid>-partial` and renames it to
//!   `<pool>/<uuid>` once complete; on an error it destroys the `-partial` dataset (smartos-live
//!   `src/img/lib/imgadm.js` `_installZfsImage`). The pool history records each command once it
//!   succeeded (illumos `zfs_main.c`), so a `zfs receive` line marks when a receive *ended*.
//! - An image with an `origin` needs the origin first: its import shows as the origin's own
//!   `-partial` receive (guide: `Origin image <uuid> is not installed: searching sources`).
//! - A provision that failed at the image step never got its zone: no `zfs clone ...
//!   <pool>/<vm>` record and no `<pool>/<vm>` dataset.
//!
//! From the failed provision's time (the workflow runner's `job completed` record of its job)
//! and the image's trail in the pool:
//!
//! - a `-partial` dataset of the image (or its origin) still listed → `image-import-partial-leftover`;
//! - an import of the image (or origin) that completed within [`IN_FLIGHT_MS`] after the
//!   provision failed was already running when the provision's own import tried to create the
//!   same `-partial` dataset → `image-import-race` (OS-2203 / CNAPI-340);
//! - the image put in place only later (another attempt) and there now → `image-import-transient`;
//! - the image absent, and an import's `-partial` dataset received and destroyed again around the
//!   failure (imgadm's rollback) → `image-import-failed`.
//!
//! Without the job the error text is unknown, so every such finding is `likely` at most; a
//! trail that does not fit one of these says nothing (a false diagnosis is worse than none).

use serde_json::Value;

use super::{commands, finding, records_with, Confidence, Evidence, Finding, Outcome};
use crate::facts::{Facts, JobResult, Provision};
use crate::input::observations::{Located, LogRecord};
use crate::input::place::Place;
use crate::parsers::time::{parse_iso, parse_zpool};
use crate::parsers::zfs_command::{self, ZfsOp};
use crate::parsers::zfs_list::{Dataset, ZfsList};

/// An import that completes within this long after the provision failed was already running
/// when the provision's own import tried to create the same `-partial` dataset (the losing
/// import fails at once on `destination ... exists`; the winner goes on receiving).
const IN_FLIGHT_MS: i64 = 5 * 60_000;

/// How far a compute node's clock and the headnode's may disagree after the estimated offset
/// is applied (pool history has one-second resolution; unestimated offsets are seconds).
const CLOCK_SLACK_MS: i64 = 60_000;

/// The timeout of `cnapi.poll_task_ensure_image` / `cnapi.wait_task_ensure_image`: a job that
/// ran this long timed out waiting, which is `workflow-timeout` / `task-timeout`, not an error.
const IMAGE_WAIT_TIMEOUT_MS: i64 = 3_600_000;

/// Origins followed from the image down (an image of an image of ...).
const MAX_ORIGIN_DEPTH: usize = 8;

/// One `zpool history` record, with its time on the headnode's clock.
struct PoolEvent<'a> {
    place: &'a Place,
    line: u64,
    /// As the node recorded it (`YYYY-MM-DD.HH:MM:SS`, shown to the reader).
    stamp: String,
    /// The same, normalized (the node's clock).
    iso: &'a str,
    /// Milliseconds, headnode clock.
    at: i64,
    command: &'a str,
}

impl PoolEvent<'_> {
    fn evidence(&self, note: String) -> Evidence {
        let mut e = Evidence::at(
            self.place,
            Some(self.line),
            format!("{} {}", self.stamp, self.command),
            note,
        );
        e.time = Some(self.iso.to_string());
        e
    }
}

/// A row of `zfs list -t all`.
struct Row<'a> {
    place: &'a Place,
    dataset: &'a Dataset,
}

impl Row<'_> {
    fn evidence(&self, note: String) -> Evidence {
        let d = self.dataset;
        Evidence::at(
            self.place,
            Some(d.line),
            format!(
                "{} {} {} {} {}",
                d.name, d.used, d.avail, d.refer, d.mountpoint
            ),
            note,
        )
    }
}

/// What the pool says about one image (the provision's, or an origin of it).
struct ImageTrail<'a> {
    uuid: String,
    /// How it relates to the provision's image (`the image`, `its origin image <uuid>`).
    role: String,
    /// `zfs receive <pool>/<uuid>-partial`.
    received: Vec<PoolEvent<'a>>,
    /// The image put in place: `zfs rename <pool>/<uuid>-partial <pool>/<uuid>`, or a receive
    /// straight into `<pool>/<uuid>`.
    placed: Vec<PoolEvent<'a>>,
    /// `zfs destroy <pool>/<uuid>-partial` (imgadm's rollback of a failed import).
    rolled_back: Vec<PoolEvent<'a>>,
    /// Clones of one of its snapshots (VMs made from it).
    cloned: Vec<PoolEvent<'a>>,
    partial_now: Vec<Row<'a>>,
    present_now: Vec<Row<'a>>,
}

/// The provision's failure in time: the end of its job, and its start.
struct Window<'a> {
    start: i64,
    end: i64,
    job_record: Option<&'a LogRecord>,
}

/// Everything read for one provision.
struct Trail<'a> {
    window: Window<'a>,
    images: Vec<ImageTrail<'a>>,
    /// The node's `zfs list` outputs (for "not listed" evidence).
    lists: Vec<&'a Located<ZfsList>>,
    /// The chain task that waits for the image step, in the provision's era.
    task: Option<&'static str>,
}

/// A conclusion and what shows it.
struct Verdict {
    key: &'static str,
    summary: String,
    evidence: Vec<Evidence>,
    /// Images whose state the next steps should look at.
    images: Vec<String>,
}

fn millis(text: Option<&str>) -> Option<i64> {
    text.and_then(parse_iso).map(|t| t.as_millisecond())
}

fn minutes(ms: i64) -> String {
    let s = ms / 1000;
    if s.abs() < 120 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60)
    }
}

/// The dataset name's last component when it is `<pool>/<name>` (image and zone datasets).
fn top_level(dataset: &str) -> Option<&str> {
    let (pool, name) = dataset.split_once('/')?;
    (!pool.is_empty() && !name.contains('/')).then_some(name)
}

/// The workflow runner's `job completed` record of the provision's job, and the job's runtime.
fn job_end<'a>(facts: &'a Facts, p: &Provision) -> Option<(&'a LogRecord, Option<i64>)> {
    let job = p.logged_job.as_ref()?;
    let record = facts
        .records
        .iter()
        .find(|r| r.place == job.place && r.record.line == job.line)?;
    let runtime = serde_json::from_str::<Value>(&record.record.raw)
        .ok()
        .and_then(|v| v.get("runtime").and_then(Value::as_i64));
    Some((record, runtime))
}

fn window<'a>(facts: &'a Facts, p: &Provision) -> Result<Window<'a>, Outcome> {
    let (record, runtime) = match job_end(facts, p) {
        Some((record, runtime)) => (Some(record), runtime),
        None => (None, None),
    };
    if let Some(ms) = runtime.filter(|ms| *ms >= IMAGE_WAIT_TIMEOUT_MS) {
        return Err(Outcome::NotApplicable(format!(
            "the job ran {} s, as long as the image wait task's timeout: it timed out, which is not an import error",
            ms / 1000
        )));
    }
    let end = record
        .and_then(|r| millis(r.record.time.as_deref()))
        .or_else(|| millis(p.failure.as_ref()?.finished_at.as_deref()))
        .ok_or_else(|| {
            Outcome::Skipped(
                "when the provision failed is not in the input (no `job completed` record of its job)"
                    .into(),
            )
        })?;
    let start = runtime
        .map(|ms| end - ms)
        .or_else(|| millis(p.created_at.as_deref()))
        .unwrap_or(end);
    Ok(Window {
        start,
        end,
        job_record: record,
    })
}

/// The image and its origins, from the image manifests in the input.
fn lineage(facts: &Facts, image: &str) -> Vec<(String, String)> {
    let mut out = vec![(image.to_string(), "the image".to_string())];
    let mut current = image.to_string();
    for _ in 0..MAX_ORIGIN_DEPTH {
        let origin = facts
            .image_manifests
            .iter()
            .find(|m| m.value.uuid == current)
            .and_then(|m| m.value.origin.clone());
        match origin {
            Some(o) if !out.iter().any(|(u, _)| *u == o) => {
                out.push((o.clone(), format!("its origin image {o}")));
                current = o;
            }
            _ => break,
        }
    }
    out
}

/// The node's clock minus the headnode's, when it could be estimated.
fn offset_of(facts: &Facts, server: &str) -> i64 {
    facts
        .clock_offsets
        .iter()
        .find(|o| o.host == server)
        .map_or(0, |o| o.offset_ms)
}

fn read<'a>(facts: &'a Facts, p: &'a Provision) -> Result<Trail<'a>, Outcome> {
    let not = |why: &str| Err(Outcome::NotApplicable(why.to_string()));
    if !p.job_missing() {
        return not("not an image import failure");
    }
    if p.failure.is_some() {
        return not("the failure read from the logs is not an image import error");
    }
    if p.outcome != JobResult::Failed {
        return not("the provision did not fail");
    }
    let Some(server) = p.server_uuid.as_deref() else {
        return Err(Outcome::Skipped(
            "the provision's compute node is not known".into(),
        ));
    };
    let Some(image) = p.image_uuid.as_deref() else {
        return Err(Outcome::Skipped("the VM's image is not known".into()));
    };
    if !crate::parsers::is_uuid(image) {
        return not("the VM's image is not named by a uuid");
    }
    let image = image.to_ascii_lowercase();
    let window = window(facts, p)?;
    let nodes: Vec<_> = facts.nodes_for(Some(server)).collect();
    let histories: Vec<_> = nodes.iter().flat_map(|n| n.zpool.iter()).collect();
    if histories.is_empty() {
        return Err(Outcome::Skipped(
            "the compute node's zpool history is not in the input".into(),
        ));
    }
    let lists: Vec<&Located<ZfsList>> = nodes.iter().flat_map(|n| n.zfs.iter()).collect();
    let offset = offset_of(facts, server);
    let vm = p.vm_uuid.as_deref().unwrap_or("");
    let family = lineage(facts, &image);
    // Only records naming the VM or one of the images are read (a pool history holds thousands).
    let wanted: Vec<&str> = std::iter::once(vm)
        .filter(|v| !v.is_empty())
        .chain(family.iter().map(|(uuid, _)| uuid.as_str()))
        .collect();
    let events: Vec<(PoolEvent, ZfsOp)> = histories
        .iter()
        .flat_map(|h| {
            let wanted = &wanted;
            h.value.records.iter().filter_map(move |r| {
                if !wanted.iter().any(|w| r.command.contains(w)) {
                    return None;
                }
                let stamp = r.time.as_deref()?;
                let at = millis(Some(stamp))? - offset;
                let op = zfs_command::parse(&r.command);
                (op != ZfsOp::Other).then(|| {
                    let shown = parse_zpool_stamp(stamp);
                    (
                        PoolEvent {
                            place: &h.place,
                            line: r.line,
                            stamp: shown,
                            iso: stamp,
                            at,
                            command: &r.command,
                        },
                        op,
                    )
                })
            })
        })
        .collect();

    let is_zone = |name: &str| top_level(name).is_some_and(|n| !vm.is_empty() && n.starts_with(vm));
    if let Some((e, _)) = events.iter().find(|(_, op)| match op {
        ZfsOp::Clone { target, .. } | ZfsOp::Create { target } | ZfsOp::Receive { target } => {
            is_zone(target)
        }
        _ => false,
    }) {
        return not(&format!(
            "the VM's zone dataset was created ({} line {}: {}): the provision got past the image",
            e.place.label(),
            e.line,
            e.command
        ));
    }
    if let Some(row) = lists
        .iter()
        .find_map(|l| l.value.datasets.iter().find(|d| is_zone(&d.name)))
    {
        return not(&format!(
            "the VM's zone dataset {} exists: the provision got past the image",
            row.name
        ));
    }

    let mut images = Vec::new();
    for (uuid, role) in family {
        let partial = format!("{uuid}-partial");
        let mut t = ImageTrail {
            uuid: uuid.clone(),
            role,
            received: Vec::new(),
            placed: Vec::new(),
            rolled_back: Vec::new(),
            cloned: Vec::new(),
            partial_now: Vec::new(),
            present_now: Vec::new(),
        };
        for (e, op) in &events {
            let copy = || PoolEvent {
                place: e.place,
                line: e.line,
                stamp: e.stamp.clone(),
                iso: e.iso,
                at: e.at,
                command: e.command,
            };
            match op {
                ZfsOp::Receive { target } if top_level(target) == Some(&partial) => {
                    t.received.push(copy())
                }
                ZfsOp::Receive { target } if top_level(target) == Some(&uuid) => {
                    t.placed.push(copy())
                }
                ZfsOp::Rename { from, to }
                    if top_level(from) == Some(&partial) && top_level(to) == Some(&uuid) =>
                {
                    t.placed.push(copy())
                }
                ZfsOp::Destroy { target } if top_level(target) == Some(&partial) => {
                    t.rolled_back.push(copy())
                }
                ZfsOp::Clone { snapshot, .. }
                    if snapshot
                        .split_once('@')
                        .is_some_and(|(ds, _)| top_level(ds) == Some(&uuid)) =>
                {
                    t.cloned.push(copy())
                }
                _ => {}
            }
        }
        for list in &lists {
            for d in &list.value.datasets {
                let row = || Row {
                    place: &list.place,
                    dataset: d,
                };
                match top_level(&d.name) {
                    Some(n) if n == partial => t.partial_now.push(row()),
                    Some(n) if n == uuid => t.present_now.push(row()),
                    _ => {}
                }
            }
        }
        images.push(t);
    }

    let before = window.start - CLOCK_SLACK_MS;
    if let Some(e) = images[0]
        .placed
        .iter()
        .chain(images[0].cloned.iter())
        .find(|e| e.at < before)
    {
        return not(&format!(
            "the image was on the compute node before the provision started ({} line {}: {})",
            e.place.label(),
            e.line,
            e.command
        ));
    }
    Ok(Trail {
        window,
        images,
        lists,
        task: image_wait_task(p),
    })
}

/// `2013-12-18T08:58:47.000Z` back to the history's own `2013-12-18.08:58:47`.
fn parse_zpool_stamp(iso: &str) -> String {
    parse_iso(iso)
        .map(|t| t.strftime("%Y-%m-%d.%H:%M:%S").to_string())
        .filter(|s| parse_zpool(s).is_some())
        .unwrap_or_else(|| iso.to_string())
}

/// The chain task that waits for `image_ensure_present`, in the provision's era.
fn image_wait_task(p: &Provision) -> Option<&'static str> {
    p.era
        .expected_chain()
        .iter()
        .map(|(name, _)| *name)
        .find(|name| {
            *name == "cnapi.wait_task_ensure_image" || *name == "cnapi.poll_task_ensure_image"
        })
}

impl Trail<'_> {
    fn step(&self) -> String {
        match self.task {
            Some(task) => format!("the image step ({task})"),
            None => "the image step".to_string(),
        }
    }

    fn since_failure(&self, at: i64) -> String {
        let d = at - self.window.end;
        if d >= 0 {
            format!("{} after the provision failed", minutes(d))
        } else {
            format!("{} before the provision failed", minutes(-d))
        }
    }

    /// Whether the provision's image is on the node now.
    fn image_here(&self) -> bool {
        let image = &self.images[0];
        if self.lists.is_empty() {
            image
                .placed
                .iter()
                .any(|e| e.at >= self.window.start - CLOCK_SLACK_MS)
        } else {
            !image.present_now.is_empty()
        }
    }

    fn verdict(&self) -> Result<Verdict, String> {
        let end = self.window.end;
        let start = self.window.start;
        let image = &self.images[0];

        for t in &self.images {
            let Some(row) = t.partial_now.first() else {
                continue;
            };
            let received = t.received.last();
            if received.is_some_and(|r| r.at > end + IN_FLIGHT_MS) {
                continue;
            }
            let mut evidence = vec![row.evidence(format!(
                "the -partial dataset of {} is still on the compute node",
                t.role
            ))];
            if let Some(r) = received {
                evidence.push(r.evidence(format!(
                    "received {}, never renamed into place nor destroyed",
                    self.since_failure(r.at)
                )));
            }
            return Ok(Verdict {
                key: "image-import-partial-leftover",
                summary: format!(
                    "The provision stopped at {}: the `{}-partial` dataset of {} is still on the compute node, left by an import that was received but never renamed into place. It blocks imports of the image until an operator removes it.",
                    self.step(),
                    t.uuid,
                    t.role
                ),
                evidence,
                images: vec![image.uuid.clone(), t.uuid.clone()],
            });
        }

        let image_here = self.image_here();
        if image_here {
            // An import put in place shortly after the failure; of several (the image and its
            // origin), the one whose `-partial` dataset was received first: it was certainly in
            // the way when the provision's import ran.
            let in_flight = self
                .images
                .iter()
                .filter_map(|t| {
                    let placed = t.placed.iter().find(|n| {
                        n.at >= end - CLOCK_SLACK_MS && n.at <= end + IN_FLIGHT_MS && n.at >= start
                    })?;
                    let received = t.received.iter().rev().find(|r| r.at <= placed.at);
                    Some((received.map_or(placed.at, |r| r.at), t, placed, received))
                })
                .min_by_key(|(first_seen, ..)| *first_seen);
            if let Some((_, t, placed, received)) = in_flight {
                let mut evidence = Vec::new();
                if let Some(r) = received {
                    evidence.push(r.evidence(format!(
                        "the -partial dataset of {} received {}",
                        t.role,
                        self.since_failure(r.at)
                    )));
                }
                evidence.push(placed.evidence(format!(
                    "{} put in place {}: that import was running when the provision failed",
                    t.role,
                    self.since_failure(placed.at)
                )));
                evidence.extend(
                    image.present_now.first().map(|row| {
                        row.evidence("the image is on the compute node now".to_string())
                    }),
                );
                return Ok(Verdict {
                    key: "image-import-race",
                    summary: format!(
                        "The provision stopped at {} while another import of {} was still running on the compute node: it was put in place {}, so the provision's own import found its `-partial` dataset in the way (OS-2203 / CNAPI-340). The image is on the node now; a retry should work.",
                        self.step(),
                        t.role,
                        self.since_failure(placed.at)
                    ),
                    evidence,
                    images: vec![image.uuid.clone(), t.uuid.clone()],
                });
            }
            if let Some(placed) = image.placed.iter().find(|n| n.at > end + IN_FLIGHT_MS) {
                let mut evidence = Vec::new();
                if let Some(r) = image.received.iter().rev().find(|r| r.at <= placed.at) {
                    evidence.push(r.evidence(format!(
                        "the -partial dataset of the image received {}",
                        self.since_failure(r.at)
                    )));
                }
                evidence.push(placed.evidence(format!(
                    "the image put in place {}: a later import succeeded",
                    self.since_failure(placed.at)
                )));
                evidence.extend(
                    image.present_now.first().map(|row| {
                        row.evidence("the image is on the compute node now".to_string())
                    }),
                );
                return Ok(Verdict {
                    key: "image-import-transient",
                    summary: format!(
                        "The provision stopped at {}; the image was not on the compute node then and was imported {}. The failure was transient: a retry should work.",
                        self.step(),
                        self.since_failure(placed.at)
                    ),
                    evidence,
                    images: vec![image.uuid.clone()],
                });
            }
            return Err(
                "the image is on the compute node, but no import of it (or its origin) is recorded around the failure"
                    .into(),
            );
        }

        if self.lists.is_empty() {
            return Err("the compute node's zfs list is not in the input".into());
        }
        for t in &self.images {
            let Some(destroyed) = t
                .rolled_back
                .iter()
                .find(|d| d.at >= start - CLOCK_SLACK_MS && d.at <= end + CLOCK_SLACK_MS)
            else {
                continue;
            };
            let mut evidence = Vec::new();
            if let Some(r) = t.received.iter().rev().find(|r| r.at <= destroyed.at) {
                evidence.push(r.evidence(format!(
                    "the -partial dataset of {} received {}",
                    t.role,
                    self.since_failure(r.at)
                )));
            }
            evidence.push(destroyed.evidence(format!(
                "the -partial dataset of {} destroyed {}: the import was rolled back",
                t.role,
                self.since_failure(destroyed.at)
            )));
            if let Some(list) = self.lists.first() {
                evidence.push(Evidence::at(
                    &list.place,
                    None,
                    format!("no dataset */{} in zfs list -t all", image.uuid),
                    "the image is not on the compute node",
                ));
            }
            return Ok(Verdict {
                key: "image-import-failed",
                summary: format!(
                    "The provision stopped at {}: an import of {} was rolled back (its -partial dataset destroyed) and the image is still not on the compute node. Try `imgadm import {}` on the node to see whether it still fails.",
                    self.step(),
                    t.role,
                    image.uuid
                ),
                evidence,
                images: vec![image.uuid.clone(), t.uuid.clone()],
            });
        }
        Err("no import of the image (or its origin) is recorded on the compute node around the failure".into())
    }
}

fn to_finding(facts: &Facts, p: &Provision, trail: &Trail<'_>, v: Verdict) -> Finding {
    let mut f = finding(v.key, Confidence::Likely, p, v.summary);
    if let Some(r) = trail.window.job_record {
        f.evidence.push(Evidence::from_record(
            r,
            "the provision's job ended failed (workflow runner); its error is not in the input",
        ));
    }
    f.evidence.extend(v.evidence);
    let mut images = v.images;
    images.dedup();
    for uuid in &images {
        super::add_evidence(
            &mut f,
            records_with(facts, p, &format!("{uuid}-partial"), 2),
        );
    }
    for uuid in &images {
        f.next_steps.push(commands::imgadm_get(p, uuid));
        f.next_steps.push(commands::zfs_list(p, uuid));
        f.next_steps.push(commands::zpool_history(p, uuid));
    }
    f.missing.push(
        "the image import's own error: in the job, or in the compute node's task logs (/var/log/provisioner/, /var/log/cn-agent/logs/), which sdc-sbcreate does not collect"
            .into(),
    );
    f
}

/// The outcome of rule `key` for a provision without its job, from the node's pool.
pub(super) fn outcome(facts: &Facts, p: &Provision, key: &str) -> Outcome {
    let trail = match read(facts, p) {
        Ok(trail) => trail,
        // The four keys share one reading of the pool: a missing input is reported once.
        Err(Outcome::Skipped(why)) if key != "image-import-partial-leftover" => {
            return Outcome::NotApplicable(format!(
                "{why} (reported as skipped by image-import-partial-leftover)"
            ))
        }
        Err(outcome) => return outcome,
    };
    match trail.verdict() {
        Ok(v) if v.key == key => Outcome::Fired(Box::new(to_finding(facts, p, &trail, v))),
        Ok(v) => Outcome::NotApplicable(format!("the compute node's pool shows {} instead", v.key)),
        Err(why) => Outcome::NotApplicable(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ladder::Era;
    use crate::facts::reconstruct::LoggedJob;
    use crate::facts::ComputeNode;
    use crate::parsers::image_manifest::ImageManifest;
    use crate::parsers::{zfs_list, zpool_history};

    const VM: &str = "9185c581-2252-ef4a-8b18-f8787d77e61b";
    const IMAGE: &str = "279936e6-5eae-4a87-8a37-dc3e13c36ff9";
    const ORIGIN: &str = "2b683a82-a066-11e3-97ab-2faa44701c5a";
    const SERVER: &str = "44454c4c-3000-1052-8043-b3c04f485331";
    const JOB: &str = "f8c13ee5-3c40-4844-9fb6-096883802461";
    const KEYS: [&str; 4] = [
        "image-import-partial-leftover",
        "image-import-race",
        "image-import-transient",
        "image-import-failed",
    ];

    fn place(entry: &str, command: Option<&str>) -> Place {
        Place {
            input: "sdc-support.cn1.tar.bz2".into(),
            entry: entry.into(),
            host: Some(SERVER.into()),
            command: command.map(str::to_string),
            ..Place::default()
        }
    }

    /// The workflow runner's end-of-job record (node-workflow `lib/runner.js`): the provision
    /// job failed at 21:42:41.531Z after `runtime_ms`.
    fn job_completed(runtime_ms: i64) -> LogRecord {
        let line = format!(
            r#"{{"name":"workflow-runner","hostname":"wf","pid":1,"job_uuid":"{JOB}","level":40,"job":{{"uuid":"{JOB}","name":"provision-7.0.24","execution":"failed"}},"runtime":{runtime_ms},"msg":"job completed","time":"2014-03-25T21:42:41.531Z","v":0}}"#
        );
        let mut got = Vec::new();
        crate::parsers::service_log::scan_filtered(line.as_bytes(), |_| true, |r, _| got.push(r))
            .expect("scan");
        LogRecord {
            place: place("wf-runner.log", None),
            service: "workflow-runner".into(),
            record: got.pop().expect("one record"),
        }
    }

    fn facts(history: &str, zfs: &str, runtime_ms: i64) -> Facts {
        let mut node = ComputeNode {
            server_uuid: Some(SERVER.into()),
            ..ComputeNode::default()
        };
        let history = format!("History for 'zones':\n{history}\n");
        node.zpool.push(Located {
            place: place(&format!("{SERVER}/zpool.history"), Some("zpool history")),
            line: None,
            value: zpool_history::parse(history.as_bytes()).expect("history"),
        });
        if !zfs.is_empty() {
            let zfs = format!("NAME USED AVAIL REFER MOUNTPOINT\n{zfs}\n");
            node.zfs.push(Located {
                place: place(&format!("{SERVER}/zfs.list"), Some("zfs list -t all")),
                line: None,
                value: zfs_list::parse(zfs.as_bytes()).expect("zfs list"),
            });
        }
        let mut facts = Facts {
            records: vec![job_completed(runtime_ms)],
            ..Facts::default()
        };
        facts.nodes.insert(Some(SERVER.into()), node);
        facts.image_manifests.push(Located {
            place: place("images.list", Some("sdc-imgapi /images")),
            line: Some(1),
            value: ImageManifest {
                uuid: IMAGE.into(),
                name: Some("Pandarus".into()),
                version: Some("20140325T210902Z".into()),
                origin: Some(ORIGIN.into()),
                state: Some("active".into()),
            },
        });
        facts
    }

    fn provision(facts: &Facts) -> Provision {
        let record = &facts.records[0];
        Provision {
            id: format!("vm:{VM}"),
            vm_uuid: Some(VM.into()),
            job: None,
            refused: None,
            logged_job: Some(LoggedJob {
                uuid: JOB.into(),
                name: "provision-7.0.24".into(),
                execution: Some("failed".into()),
                linked_by: "time".into(),
                place: record.place.clone(),
                line: record.record.line,
            }),
            era: Era::V70,
            workflow: Some("provision-7.0.24".into()),
            brand: Some("joyent".into()),
            server_uuid: Some(SERVER.into()),
            image_uuid: Some(IMAGE.into()),
            request_id: None,
            created_at: Some("2014-03-25T21:42:20.000Z".into()),
            outcome: JobResult::Failed,
            failure: None,
            ladder: Vec::new(),
            other_jobs: Vec::new(),
            vm_objects: Vec::new(),
        }
    }

    /// Which key fired, and its finding; else every rule's reason.
    fn diagnose(history: &str, zfs: &str) -> Result<Finding, String> {
        diagnose_with(&facts(history, zfs, 20_000), |_| {})
    }

    fn diagnose_with(
        facts: &Facts,
        change: impl FnOnce(&mut Provision),
    ) -> Result<Finding, String> {
        let mut p = provision(facts);
        change(&mut p);
        let mut why = Vec::new();
        for key in KEYS {
            match outcome(facts, &p, key) {
                Outcome::Fired(f) => return Ok(*f),
                Outcome::NotApplicable(w) | Outcome::Skipped(w) => why.push(w),
            }
        }
        Err(why.join(" / "))
    }

    fn row(name: &str) -> String {
        format!("{name} 1.45G 2.06T 1.81G /{name}")
    }

    #[test]
    fn an_origin_import_running_across_the_failure_is_a_race() {
        // The guide's OS-2203 case: the origin's -partial was in the way.
        let history = format!(
            "2014-03-25.21:41:50 zfs receive zones/{ORIGIN}-partial\n\
             2014-03-25.21:43:20 zfs rename zones/{ORIGIN}-partial zones/{ORIGIN}\n\
             2014-03-25.21:43:30 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.21:43:40 zfs rename zones/{IMAGE}-partial zones/{IMAGE}"
        );
        let zfs = format!(
            "{}\n{}",
            row(&format!("zones/{ORIGIN}")),
            row(&format!("zones/{IMAGE}"))
        );
        let f = diagnose(&history, &zfs).expect("a diagnosis");
        assert_eq!(f.key, "image-import-race");
        assert_eq!(f.confidence, Confidence::Likely);
        assert!(
            f.summary.contains("cnapi.poll_task_ensure_image"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains(ORIGIN), "{}", f.summary);
        let lines: Vec<Option<u64>> = f
            .evidence
            .iter()
            .filter(|e| e.place.command.as_deref() == Some("zpool history"))
            .map(|e| e.line)
            .collect();
        assert_eq!(
            lines,
            vec![Some(2), Some(3)],
            "the origin's receive and rename"
        );
        assert!(f
            .evidence
            .iter()
            .any(|e| e.excerpt.contains("job completed")));
    }

    #[test]
    fn the_guides_later_import_is_transient() {
        // As in the guide (failed, then imported some ten minutes later).
        let history = format!(
            "2014-03-25.21:55:39 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.21:55:43 zfs rename zones/{IMAGE}-partial zones/{IMAGE}\n\
             2014-03-25.21:55:44 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/11111111-2252-ef4a-8b18-f8787d77e61b"
        );
        let f = diagnose(&history, &row(&format!("zones/{IMAGE}"))).expect("a diagnosis");
        assert_eq!(f.key, "image-import-transient");
        assert!(f.summary.contains("13 min after"), "{}", f.summary);
    }

    #[test]
    fn a_listed_partial_dataset_is_a_leftover() {
        let history = format!("2014-03-25.21:42:10 zfs receive zones/{ORIGIN}-partial");
        let f = diagnose(&history, &row(&format!("zones/{ORIGIN}-partial"))).expect("a diagnosis");
        assert_eq!(f.key, "image-import-partial-leftover");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.place.command.as_deref() == Some("zfs list -t all")
                && e.excerpt.starts_with(&format!("zones/{ORIGIN}-partial "))));
    }

    #[test]
    fn a_rolled_back_import_of_an_absent_image_failed() {
        let history = format!(
            "2014-03-25.21:42:30 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.21:42:31 zfs destroy -r zones/{IMAGE}-partial [user 0 (root) on cn1:global]"
        );
        let f = diagnose(&history, &row("zones/archive")).expect("a diagnosis");
        assert_eq!(f.key, "image-import-failed");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.excerpt.contains("zfs destroy -r")));
    }

    #[test]
    fn no_trace_no_diagnosis() {
        // The image is absent and nothing was imported: not enough.
        let history = "2014-03-20.10:00:00 zfs create -o compression=lz4 zones/archive";
        assert!(diagnose(history, &row("zones/archive")).is_err());
        // An import rolled back long before the provision is not its import.
        let old = format!(
            "2014-03-25.20:00:00 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.20:00:01 zfs destroy -r zones/{IMAGE}-partial"
        );
        assert!(diagnose(&old, &row("zones/archive")).is_err());
    }

    #[test]
    fn past_the_image_step_or_with_the_image_there_is_no_image_failure() {
        // The zone was cloned: the image step was done.
        let cloned = format!(
            "2014-03-25.21:42:25 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.21:42:26 zfs rename zones/{IMAGE}-partial zones/{IMAGE}\n\
             2014-03-25.21:42:27 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/{VM}"
        );
        let why = diagnose(&cloned, &row(&format!("zones/{IMAGE}"))).expect_err("no diagnosis");
        assert!(why.contains("zone dataset was created"), "{why}");
        // The image was there before the provision started.
        let before = format!(
            "2014-02-01.10:00:00 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/11111111-2252-ef4a-8b18-f8787d77e61b\n\
             2014-03-25.21:43:20 zfs receive zones/{ORIGIN}-partial\n\
             2014-03-25.21:43:21 zfs rename zones/{ORIGIN}-partial zones/{ORIGIN}"
        );
        let why = diagnose(&before, &row(&format!("zones/{IMAGE}"))).expect_err("no diagnosis");
        assert!(why.contains("before the provision started"), "{why}");
    }

    #[test]
    fn a_job_that_ran_out_of_time_or_a_logged_error_is_not_read_from_the_pool() {
        let history = format!(
            "2014-03-25.21:43:20 zfs receive zones/{IMAGE}-partial\n\
             2014-03-25.21:43:21 zfs rename zones/{IMAGE}-partial zones/{IMAGE}"
        );
        let zfs = row(&format!("zones/{IMAGE}"));
        assert_eq!(
            diagnose(&history, &zfs).map(|f| f.key),
            Ok("image-import-race")
        );
        let timed_out = facts(&history, &zfs, 3_811_000);
        let why = diagnose_with(&timed_out, |_| {}).expect_err("a timeout");
        assert!(why.contains("timed out"), "{why}");
        let with_error = facts(&history, &zfs, 20_000);
        let why = diagnose_with(&with_error, |p| {
            p.failure = Some(crate::facts::Failure {
                task: Some("cnapi.poll_task".into()),
                error: "VM.create error: timed out waiting for /var/svc/provisioning".into(),
                code: None,
                started_at: None,
                finished_at: None,
                duration_s: None,
                timeout_s: None,
                place: Place::default(),
                line: None,
            })
        })
        .expect_err("the logged error decides");
        assert!(why.contains("not an image import error"), "{why}");
    }

    #[test]
    fn zpool_stamps_read_back() {
        assert_eq!(
            parse_zpool_stamp("2014-03-25T23:55:39.000Z"),
            "2014-03-25.23:55:39"
        );
        assert_eq!(top_level("zones/abc-partial"), Some("abc-partial"));
        assert_eq!(top_level("zones/abc/root"), None);
        assert_eq!(top_level("zones"), None);
    }
}
