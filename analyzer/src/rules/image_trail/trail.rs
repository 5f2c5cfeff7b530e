//! What a compute node's pool says about a provision's image: the `zpool history` records and
//! `zfs list -t all` rows of the image and its origins, on the headnode's clock, and when the
//! provision ran. The rule in the parent module decides what they mean.

use serde_json::Value;

use crate::facts::{Facts, JobResult, Provision};
use crate::input::observations::{Located, LogRecord};
use crate::input::place::Place;
use crate::parsers::time::{parse_iso, parse_zpool};
use crate::parsers::zfs_command::{self, ZfsOp};
use crate::parsers::zfs_list::{Dataset, ZfsList};
use crate::rules::{Evidence, Outcome};

/// How far a compute node's clock and the headnode's may disagree after the estimated offset
/// is applied (pool history has one-second resolution; unestimated offsets are seconds).
pub(super) const CLOCK_SLACK_MS: i64 = 60_000;

/// The timeout of `cnapi.poll_task_ensure_image` / `cnapi.wait_task_ensure_image`: a job that
/// ran this long timed out waiting, which is `workflow-timeout` / `task-timeout`, not an error.
pub(super) const IMAGE_WAIT_TIMEOUT_MS: i64 = 3_600_000;

/// Origins followed from the image down (an image of an image of ...).
pub(super) const MAX_ORIGIN_DEPTH: usize = 8;

/// One `zpool history` record, with its time on the headnode's clock.
pub(super) struct PoolEvent<'a> {
    pub(super) place: &'a Place,
    pub(super) line: u64,
    /// As the node recorded it (`YYYY-MM-DD.HH:MM:SS`, shown to the reader).
    pub(super) stamp: String,
    /// The same, normalized (the node's clock).
    pub(super) iso: &'a str,
    /// Milliseconds, headnode clock.
    pub(super) at: i64,
    pub(super) command: &'a str,
}

impl PoolEvent<'_> {
    pub(super) fn evidence(&self, note: String) -> Evidence {
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
pub(super) struct Row<'a> {
    pub(super) place: &'a Place,
    pub(super) dataset: &'a Dataset,
}

impl Row<'_> {
    pub(super) fn evidence(&self, note: String) -> Evidence {
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
pub(super) struct ImageTrail<'a> {
    pub(super) uuid: String,
    /// How it relates to the provision's image (`the image`, `its origin image <uuid>`).
    pub(super) role: String,
    /// `zfs receive <pool>/<uuid>-partial`.
    pub(super) received: Vec<PoolEvent<'a>>,
    /// The image put in place: `zfs rename <pool>/<uuid>-partial <pool>/<uuid>`, or a receive
    /// straight into `<pool>/<uuid>`.
    pub(super) placed: Vec<PoolEvent<'a>>,
    /// `zfs destroy <pool>/<uuid>-partial` (imgadm's rollback of a failed import).
    pub(super) rolled_back: Vec<PoolEvent<'a>>,
    /// Clones of one of its snapshots (VMs made from it).
    pub(super) cloned: Vec<PoolEvent<'a>>,
    pub(super) partial_now: Vec<Row<'a>>,
    pub(super) present_now: Vec<Row<'a>>,
}

/// The provision's failure in time: the end of its job, and its start.
pub(super) struct Window<'a> {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) job_record: Option<&'a LogRecord>,
}

/// Everything read for one provision.
pub(super) struct Trail<'a> {
    pub(super) window: Window<'a>,
    pub(super) images: Vec<ImageTrail<'a>>,
    /// The node's `zfs list` outputs (for "not listed" evidence).
    pub(super) lists: Vec<&'a Located<ZfsList>>,
    /// The chain task that waits for the image step, in the provision's era.
    pub(super) task: Option<&'static str>,
}

pub(super) fn millis(text: Option<&str>) -> Option<i64> {
    text.and_then(parse_iso).map(|t| t.as_millisecond())
}

pub(super) fn minutes(ms: i64) -> String {
    let s = ms / 1000;
    if s.abs() < 120 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60)
    }
}

/// The dataset name's last component when it is `<pool>/<name>` (image and zone datasets).
pub(super) fn top_level(dataset: &str) -> Option<&str> {
    let (pool, name) = dataset.split_once('/')?;
    (!pool.is_empty() && !name.contains('/')).then_some(name)
}

/// The workflow runner's `job completed` record of the provision's job, and the job's runtime.
pub(super) fn job_end<'a>(facts: &'a Facts, p: &Provision) -> Option<(&'a LogRecord, Option<i64>)> {
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

pub(super) fn window<'a>(facts: &'a Facts, p: &Provision) -> Result<Window<'a>, Outcome> {
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
pub(super) fn lineage(facts: &Facts, image: &str) -> Vec<(String, String)> {
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
pub(super) fn offset_of(facts: &Facts, server: &str) -> i64 {
    facts
        .clock_offsets
        .iter()
        .find(|o| o.host == server)
        .map_or(0, |o| o.offset_ms)
}

pub(super) fn read<'a>(facts: &'a Facts, p: &'a Provision) -> Result<Trail<'a>, Outcome> {
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
pub(super) fn parse_zpool_stamp(iso: &str) -> String {
    parse_iso(iso)
        .map(|t| t.strftime("%Y-%m-%d.%H:%M:%S").to_string())
        .filter(|s| parse_zpool(s).is_some())
        .unwrap_or_else(|| iso.to_string())
}

/// The chain task that waits for `image_ensure_present`, in the provision's era.
pub(super) fn image_wait_task(p: &Provision) -> Option<&'static str> {
    p.era
        .expected_chain()
        .iter()
        .map(|(name, _)| *name)
        .find(|name| {
            *name == "cnapi.wait_task_ensure_image" || *name == "cnapi.poll_task_ensure_image"
        })
}
