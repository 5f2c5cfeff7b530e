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

use super::{commands, finding, records_with, Confidence, Evidence, Finding, Outcome};
use crate::facts::{Facts, Provision};

#[cfg(test)]
mod tests;
mod trail;

use trail::*;

/// An import that completes within this long after the provision failed was already running
/// when the provision's own import tried to create the same `-partial` dataset (the losing
/// import fails at once on `destination ... exists`; the winner goes on receiving).
const IN_FLIGHT_MS: i64 = 5 * 60_000;

/// A conclusion and what shows it.
struct Verdict {
    key: &'static str,
    summary: String,
    evidence: Vec<Evidence>,
    /// Images whose state the next steps should look at.
    images: Vec<String>,
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
