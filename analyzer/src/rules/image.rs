//! Image import failures in `cnapi.poll_task_ensure_image` / `cnapi.wait_task_ensure_image`
//! (guide, "Common pathologies"; reference §6.3). One analysis of the error and of the CN's image
//! state now, four keys:
//!
//! - `image-import-partial-leftover`: a `<pool>/<uuid>-partial` dataset is still there;
//! - `image-import-race`: `... -partial' exists` and the image is installed now (OS-2203/CNAPI-340);
//! - `image-import-transient`: another import error, and the image is installed now;
//! - `image-import-failed`: the import failed and the image is still absent.
//!
//! Without the job's error (a service bundle), [`image_trail`] reads the same four from the
//! compute node's pool.

use super::create::describe;
use super::image_trail;
use super::{
    add_evidence, commands, error_origin, failure_evidence, finding, records_with, Confidence,
    Evidence, Finding, Outcome, Rule,
};
use crate::facts::coverage::{Need, Seen};
use crate::facts::{Facts, Provision};
use crate::parsers::find_uuids;
use crate::parsers::imgadm::ImageState;

/// What the error and the CN say about the image.
struct ImportAnalysis {
    /// The image being imported.
    image: Option<String>,
    /// The error says a `-partial` dataset was in the way; its uuid.
    partial_in_error: Option<String>,
    /// Evidence the image is installed now.
    installed: Vec<Evidence>,
    /// Evidence the image is absent now (only from collected sources).
    absent: Vec<Evidence>,
    /// `-partial` datasets present now.
    leftovers: Vec<Evidence>,
    /// Where the CN's image state stands in coverage.
    state_seen: Seen,
}

fn is_import_failure(p: &Provision) -> bool {
    let task = p.failed_task().unwrap_or("");
    let text = p.error_text();
    if text.trim() == "workflow timeout" {
        // The job ran out of time while importing; that is workflow-timeout, not an import error.
        return false;
    }
    task.contains("ensure_image")
        || text.contains("Error importing image")
        || text.contains("imgadm import")
}

/// Extracts `<uuid>` from `destination 'zones/<uuid>-partial' exists` or `"zones/<uuid>-partial"
/// dataset exists`.
fn partial_uuid(text: &str) -> Option<String> {
    let at = text.find("-partial")?;
    let before = &text[..at];
    let start = before.len().saturating_sub(36);
    let candidate = before.get(start..)?;
    crate::parsers::is_uuid(candidate).then(|| candidate.to_ascii_lowercase())
}

fn analyze(facts: &Facts, p: &Provision) -> Option<ImportAnalysis> {
    if !is_import_failure(p) {
        return None;
    }
    let text = p.error_text();
    let image = text
        .split_once("Error importing image ")
        .and_then(|(_, rest)| find_uuids(rest).into_iter().next())
        .or_else(|| p.image_uuid.clone());
    let partial_in_error = if text.contains("-partial' exists")
        || text.contains("-partial\" dataset exists")
        || text.contains("partial dataset")
    {
        partial_uuid(text).or_else(|| image.clone())
    } else {
        None
    };
    let mut a = ImportAnalysis {
        image: image.clone(),
        partial_in_error,
        installed: Vec::new(),
        absent: Vec::new(),
        leftovers: Vec::new(),
        state_seen: Seen::Unknown,
    };
    let failed_at = p.failure.as_ref().and_then(|f| f.finished_at.clone());
    for node in facts.nodes_for(p.server_uuid.as_deref()) {
        for img in &node.images {
            if Some(img.value.uuid()) != image.as_deref() {
                continue;
            }
            match &img.value {
                ImageState::Installed { name, version, .. } => a.installed.push(Evidence::at(
                    &img.place,
                    img.line,
                    format!(
                        "imgadm get {}: installed ({} {})",
                        img.value.uuid(),
                        name.as_deref().unwrap_or("?"),
                        version.as_deref().unwrap_or("?")
                    ),
                    "the image is installed on the CN now",
                )),
                ImageState::NotInstalled { .. } => a.absent.push(Evidence::at(
                    &img.place,
                    img.line,
                    format!(
                        "imgadm: error (ImageNotInstalled): image \"{}\" was not found",
                        img.value.uuid()
                    ),
                    "the image is not installed on the CN",
                )),
            }
        }
        for list in &node.zfs {
            let mut has_image = false;
            for d in &list.value.datasets {
                let name_uuid = d.name.rsplit('/').next().unwrap_or("");
                if name_uuid.ends_with("-partial") {
                    let u = name_uuid.trim_end_matches("-partial");
                    if Some(u) == image.as_deref() || Some(u) == a.partial_in_error.as_deref() {
                        a.leftovers.push(Evidence::at(
                            &list.place,
                            Some(d.line),
                            format!(
                                "{} {} {} {} {}",
                                d.name, d.used, d.avail, d.refer, d.mountpoint
                            ),
                            "an import's -partial dataset is still there",
                        ));
                    }
                } else if Some(name_uuid) == image.as_deref() {
                    has_image = true;
                    a.installed.push(Evidence::at(
                        &list.place,
                        Some(d.line),
                        format!(
                            "{} {} {} {} {}",
                            d.name, d.used, d.avail, d.refer, d.mountpoint
                        ),
                        "the image dataset exists now",
                    ));
                }
            }
            if !has_image && !list.value.datasets.is_empty() {
                if let Some(img) = &image {
                    a.absent.push(Evidence::at(
                        &list.place,
                        None,
                        format!("no dataset named */{img} in zfs list"),
                        "the image dataset is not there",
                    ));
                }
            }
        }
        for hist in &node.zpool {
            let Some(img) = image.as_deref() else {
                continue;
            };
            // The last rename into place (or destroy) of the image dataset decides.
            let last = hist
                .value
                .mentioning(img)
                .filter(|r| {
                    (r.command.starts_with("zfs rename") && r.command.contains("-partial"))
                        || (r.command.starts_with("zfs destroy") && !r.command.contains('@'))
                })
                .last();
            if let Some(r) = last.filter(|r| r.command.starts_with("zfs rename")) {
                let after = match (&r.time, &failed_at) {
                    (Some(t), Some(f)) => {
                        crate::parsers::time::parse_iso(t) >= crate::parsers::time::parse_iso(f)
                    }
                    _ => false,
                };
                a.installed.push(Evidence {
                    place: hist.place.clone(),
                    line: Some(r.line),
                    line_in_bundle: None,
                    original_offset_start: None,
                    time: r.time.clone(),
                    excerpt: r.command.clone(),
                    note: if after {
                        "the image was imported after the failure (zpool history)"
                    } else {
                        "the image import completed (zpool history)"
                    }
                    .into(),
                });
            }
        }
    }
    let image_ref = image.clone().unwrap_or_default();
    a.state_seen = facts.coverage.seen(&Need {
        sources: &["imgadm.get", "zfs.list", "zpool.history"],
        about: if image.is_some() {
            Some(image_ref.as_str())
        } else {
            None
        },
        host: p.server_uuid.as_deref(),
        kinds: &["zfs-list", "zpool-history", "json"],
    });
    Some(a)
}

fn base(
    facts: &Facts,
    key: &'static str,
    confidence: Confidence,
    p: &Provision,
    a: &ImportAnalysis,
    summary: String,
) -> Finding {
    let mut f = finding(key, confidence, p, summary);
    f.evidence.extend(failure_evidence(p));
    if let Some(img) = &a.image {
        add_evidence(
            &mut f,
            records_with(facts, p, &format!("Error importing image {img}"), 3),
        );
    }
    add_evidence(&mut f, error_origin(facts, p, 3));
    if let Some(img) = &a.image {
        f.next_steps.push(commands::imgadm_get(p, img));
        f.next_steps.push(commands::zfs_list(p, img));
        f.next_steps.push(commands::zpool_history(p, img));
    }
    if let Some(partial) = &a.partial_in_error {
        if a.image.as_deref() != Some(partial.as_str()) {
            f.next_steps.push(commands::zfs_list(p, partial));
        }
    }
    f
}

fn no_state_note(f: &mut Finding, a: &ImportAnalysis) {
    f.missing.push(format!(
        "the CN's image state: imgadm get / zfs list -t all / zpool history ({})",
        describe(&a.state_seen)
    ));
}

pub const PARTIAL_LEFTOVER: Rule = Rule {
    key: "image-import-partial-leftover",
    title: "a broken -partial image dataset is left on the CN",
    inputs: &["job (failed task, error)", "zfs list -t all (CN)", "zpool history (CN), without the job"],
    looks_for: "An image import failure, and `zfs list -t all` on the CN still listing `zones/<uuid>-partial` \
        for the image (or the origin named in the error). Needs operator cleanup before provisions can \
        import the image again. Without the job: a failed provision whose zone was never created, and \
        such a dataset of its image or the image's origin (likely).",
    generic: false,
    run: |facts, p| {
        let Some(a) = analyze(facts, p) else {
            return image_trail::outcome(facts, p, "image-import-partial-leftover");
        };
        if a.leftovers.is_empty() {
            return if a.state_seen.absence_counts() {
                Outcome::NotApplicable("zfs list collected, no -partial dataset for the image".into())
            } else {
                Outcome::Skipped(format!("zfs list -t all of the CN not available ({})", describe(&a.state_seen)))
            };
        }
        let mut f = base(facts, PARTIAL_LEFTOVER.key, Confidence::Confirmed, p, &a,
            "The image import failed and its -partial dataset is still on the CN; it will block imports until an operator removes it.".into());
        f.evidence.extend(a.leftovers.iter().cloned());
        Outcome::Fired(Box::new(f))
    },
};

pub const RACE: Rule = Rule {
    key: "image-import-race",
    title: "two imports of the same image raced (OS-2203 / CNAPI-340)",
    inputs: &["job (failed task, error)", "imgadm get / zfs list / zpool history (CN)"],
    looks_for: "An import failing with \"destination 'zones/<uuid>-partial' exists\" (or cn-agent's \"-partial\" \
        dataset wait), and the image installed on the CN now. Without the job: a failed provision whose \
        zone was never created, the image on the CN now, and an import of it (or its origin) put in \
        place within 5 minutes after the failure in zpool history (likely).",
    generic: false,
    run: |facts, p| {
        let Some(a) = analyze(facts, p) else {
            return image_trail::outcome(facts, p, "image-import-race");
        };
        if a.partial_in_error.is_none() {
            return Outcome::NotApplicable("the error does not mention an existing -partial dataset".into());
        }
        if !a.leftovers.is_empty() {
            return Outcome::NotApplicable("the -partial dataset is still there (see image-import-partial-leftover)".into());
        }
        let confidence = if a.installed.is_empty() { Confidence::Likely } else { Confidence::Confirmed };
        let mut f = base(facts, RACE.key, confidence, p, &a,
            "The provision started while another import of the same image was still running (its -partial dataset was in the way); the image is installed now, so a retry should work.".into());
        if a.installed.is_empty() {
            if !a.absent.is_empty() {
                return Outcome::NotApplicable("the image is still absent on the CN (see image-import-failed)".into());
            }
            f.summary = "The import failed because another import's -partial dataset was in the way (a race between concurrent imports); the CN's image state is not in the input to confirm the image is there now.".into();
            no_state_note(&mut f, &a);
        }
        f.evidence.extend(a.installed.iter().cloned());
        Outcome::Fired(Box::new(f))
    },
};

pub const TRANSIENT: Rule = Rule {
    key: "image-import-transient",
    title: "a transient import error; the image is on the CN now",
    inputs: &["job (failed task, error)", "imgadm get / zfs list / zpool history (CN)"],
    looks_for: "An import failing with another error (e.g. \"invalid backup stream\", download or checksum \
        errors), and the image installed on the CN now (imgadm get, the dataset, or a later \
        `zfs rename ...-partial` in zpool history). Without the job: a failed provision whose zone was \
        never created, and the image put in place later than 5 minutes after the failure (likely).",
    generic: false,
    run: |facts, p| {
        let Some(a) = analyze(facts, p) else {
            return image_trail::outcome(facts, p, "image-import-transient");
        };
        if a.partial_in_error.is_some() {
            return Outcome::NotApplicable("the error is the -partial race (see image-import-race)".into());
        }
        if a.installed.is_empty() {
            return if a.state_seen.absence_counts() || !a.absent.is_empty() {
                Outcome::NotApplicable("the image is not installed on the CN now".into())
            } else {
                Outcome::Skipped(format!("the CN's image state is not available ({})", describe(&a.state_seen)))
            };
        }
        let mut f = base(facts, TRANSIENT.key, Confidence::Confirmed, p, &a,
            "The image import failed once, but the image is installed on the CN now: the failure was transient and a retry should work.".into());
        f.evidence.extend(a.installed.iter().cloned());
        Outcome::Fired(Box::new(f))
    },
};

pub const FAILED: Rule = Rule {
    key: "image-import-failed",
    title: "the image import failed and the image is still absent",
    inputs: &["job (failed task, error)", "imgadm get / zfs list (CN)"],
    looks_for: "An import failure (not the -partial race) with the image still absent on the CN \
        (`imgadm get` says ImageNotInstalled, or a collected `zfs list -t all` lacks it). Without the \
        job: the image absent and an import's -partial dataset destroyed (imgadm's rollback) during the \
        provision, in zpool history (likely).",
    generic: false,
    run: |facts, p| {
        let Some(a) = analyze(facts, p) else {
            return image_trail::outcome(facts, p, "image-import-failed");
        };
        if !a.installed.is_empty() {
            return Outcome::NotApplicable("the image is installed on the CN now".into());
        }
        if !a.leftovers.is_empty() {
            return Outcome::NotApplicable(
                "a -partial dataset is left (see image-import-partial-leftover)".into(),
            );
        }
        if a.partial_in_error.is_some() && a.absent.is_empty() {
            return Outcome::NotApplicable(
                "the -partial race with unknown image state (see image-import-race)".into(),
            );
        }
        let confidence = if a.absent.is_empty() {
            Confidence::Likely
        } else {
            Confidence::Confirmed
        };
        let mut f = base(facts, FAILED.key, confidence, p, &a,
            "The image could not be imported on the CN and is still not there; try `imgadm import` on the CN to see whether it still fails.".into());
        f.evidence.extend(a.absent.iter().cloned());
        if a.absent.is_empty() {
            no_state_note(&mut f, &a);
        }
        if let Some(img) = &a.image {
            f.next_steps.push(format!(
                "sdc-imgapi /images/{img} | json -H state disabled files"
            ));
        }
        Outcome::Fired(Box::new(f))
    },
};

#[cfg(test)]
mod tests {
    use super::partial_uuid;

    #[test]
    fn partial_uuid_from_guide_error() {
        let e = "Stderr from zfs receive: cannot receive new filesystem stream: destination 'zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial' exists";
        assert_eq!(
            partial_uuid(e).as_deref(),
            Some("2b683a82-a066-11e3-97ab-2faa44701c5a")
        );
        assert_eq!(partial_uuid("no partial here"), None);
    }
}
