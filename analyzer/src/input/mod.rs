//! Inputs: bundles, archives, directories or single files, opened with `triton-bundle` and
//! streamed entry by entry; each entry is recognized (manifest, then path, then content) and
//! handed to its parser. One input gives one [`Observations`].

pub mod classify;
pub mod manifest;
pub mod observations;
pub mod observe;
pub mod paths;
pub mod place;
pub mod service_bundle;

use std::path::Path;

use triton_bundle::{Bundle, BundleError, BundleKind, Compression, NestedLimits};

pub use observations::Observations;
pub use place::Place;

/// Why an input could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: String,
    pub reason: String,
}

/// How an input is named in the report: its file name (never the full local path, which would
/// leak the engineer's machine layout into tickets and make output depend on where files sit).
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

fn kind_name(kind: BundleKind) -> &'static str {
    match kind {
        BundleKind::BgzfTar => "bundle (BGZF tar.gz)",
        BundleKind::GzipTar => "tar.gz",
        BundleKind::Tar => "tar",
        BundleKind::Zip => "zip",
        BundleKind::Directory => "directory",
        BundleKind::GzipFile => "gzip file",
        BundleKind::PlainFile => "file",
    }
}

/// How a service bundle is named in the report's input list.
fn service_kind_name(compression: Compression) -> String {
    let archive = match compression {
        Compression::Bzip2 => "tar.bz2",
        Compression::Gzip | Compression::Bgzf => "tar.gz",
        _ => "tar",
    };
    format!("sdc-sbcreate service bundle, {archive}")
}

/// Reads one input completely, inflating a BGZF bundle with up to `inflate_threads` threads
/// (the cores left over when there are fewer inputs than cores).
pub fn read_input(
    index: usize,
    path: &Path,
    inflate_threads: usize,
) -> Result<Observations, InputError> {
    let input = display_name(path);
    let fail = |reason: String| InputError {
        input: input.clone(),
        reason,
    };
    let mut bundle = Bundle::open(path).map_err(|e| fail(e.to_string()))?;
    bundle.set_threads(inflate_threads);
    // A service bundle is recognized on its first entries, then read again with its nested
    // archives opened (within the reader's depth, size and ratio limits).
    let service_server = match bundle.kind() {
        BundleKind::Tar | BundleKind::GzipTar => service_bundle::probe(&mut bundle),
        _ => None,
    };
    if service_server.is_some() {
        bundle = Bundle::open(path).map_err(|e| fail(e.to_string()))?;
        bundle.set_threads(inflate_threads);
        bundle.set_nested(Some(NestedLimits::default()));
    }
    let input_host = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .filter(|n| crate::parsers::is_uuid(n) && bundle.kind() == BundleKind::Directory);
    let single_file = matches!(bundle.kind(), BundleKind::PlainFile | BundleKind::GzipFile);
    let mut obs = Observations {
        input_index: index,
        input: input.clone(),
        input_kind: match &service_server {
            Some(_) => service_kind_name(bundle.compression()),
            None => kind_name(bundle.kind()).to_string(),
        },
        service_bundle_server: service_server.clone(),
        ..Default::default()
    };
    let summary = bundle.for_each_entry(&mut |entry| -> Result<(), BundleError> {
        let entry_path = if single_file && entry.path().is_empty() {
            input.clone()
        } else {
            entry.path().to_string()
        };
        let info = match &service_server {
            Some(server) => service_bundle::analyze(&entry_path, server),
            None => paths::analyze(&entry_path, input_host.as_deref()),
        };
        let place = Place {
            input: input.clone(),
            entry: entry_path.clone(),
            host: info.host.clone(),
            host_path: info.host_path.clone(),
            command: info.command.clone(),
            api: info.api.as_ref().map(|(svc, url)| format!("{svc} {url}")),
            origin: None,
        };
        let size = entry.size();
        observe::observe_entry(&mut obs, place, &info, size, entry);
        Ok(())
    });
    match summary {
        Ok(summary) => {
            for skipped in summary.skipped {
                obs.warnings
                    .push(format!("{}: not read: {}", skipped.path, skipped.reason));
            }
            obs.warnings.extend(summary.warnings);
        }
        Err(e) if obs.entry_count == 0 => return Err(fail(e.to_string())),
        Err(e) => obs.warnings.push(format!("reading stopped early: {e}")),
    }
    apply_manifest(&mut obs);
    Ok(obs)
}

/// Refines places with what the manifest says about each stored path (host, command line).
fn apply_manifest(obs: &mut Observations) {
    let Some(manifest) = obs.manifest.clone() else {
        return;
    };
    let by_path: std::collections::HashMap<&str, &manifest::ItemView> = manifest
        .items
        .iter()
        .filter_map(|i| i.path.as_deref().map(|p| (p, i)))
        .collect();
    let refine = |place: &mut Place| {
        if let Some(item) = by_path.get(place.entry.as_str()) {
            if place.host.is_none() {
                place.host = item.host.clone();
            }
            if let Some(file) = &item.file {
                place.host_path = Some(file.clone());
            }
            if let Some(argv) = &item.argv {
                place.command = Some(argv.clone());
            }
            place.origin = item.slice;
        }
    };
    macro_rules! refine_all {
        ($($field:ident),*) => { $( for x in obs.$field.iter_mut() { refine(&mut x.place); } )* };
    }
    refine_all!(
        jobs,
        vms,
        missing_vms,
        images,
        image_manifests,
        zfs,
        zpool,
        svcs,
        vm_logs,
        svc_logs,
        heartbeats,
        dapi,
        markers,
        command_errors,
        entries
    );
    for r in obs.records.iter_mut() {
        refine(&mut r.place);
    }
    for e in obs.extents.iter_mut() {
        refine(&mut e.place);
    }
}
