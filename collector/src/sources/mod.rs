//! Every source the collector knows, declared as data: a name, where it applies, what it is,
//! and a planner that turns the context into tasks. One module per family.

pub mod api;
pub mod archive;
pub mod cn_agent;
pub mod commands;
pub mod hn_config;
pub mod hn_core_zones;
pub mod kvm;
pub mod task_scan;
pub mod vm_logs;
pub mod zone_svc;

use crate::confine::{Confinement, Refusal};
use crate::context::Context;
use crate::plan::{Cost, Task};
use crate::rotated::{RotatedName, TaskLogName};

/// Which part of a collection a source belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The headnode part: APIs and core zones.
    Headnode,
    /// The compute-node part, on the servers of the VMs in scope.
    ComputeNode,
    /// Any host.
    AnyHost,
}

/// One source.
pub struct SourceDecl {
    /// Logical name, used in the manifest (`vmapi.log`, `vm.log`, `zpool.history`).
    pub name: &'static str,
    pub part: Part,
    /// One line for `--list-sources`.
    pub what: &'static str,
    /// Plans the tasks of this source for this host (called only where `part` applies).
    pub plan: fn(&Context, &SourceDecl) -> Applies,
}

/// Whether a source applies here, why, and what it will collect.
pub enum Applies {
    No(String),
    Yes { why: String, tasks: Vec<Task> },
}

/// Every source, in declaration order.
pub fn all() -> Vec<&'static SourceDecl> {
    [
        api::SOURCES,
        hn_config::SOURCES,
        hn_core_zones::SOURCES,
        commands::SOURCES,
        cn_agent::SOURCES,
        vm_logs::SOURCES,
        kvm::SOURCES,
        zone_svc::SOURCES,
        archive::SOURCES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Plans every source; returns the ordered tasks and one note per source that does not apply.
pub fn plan_host(ctx: &Context) -> (Vec<Task>, Vec<String>) {
    let mut tasks = Vec::new();
    // Reasons in first-seen order, each with the sources it applies to.
    let mut reasons: Vec<(String, Vec<&str>)> = Vec::new();
    for source in all() {
        match plan(source, ctx) {
            Applies::Yes { tasks: t, .. } => tasks.extend(t),
            Applies::No(why) => match reasons.iter_mut().find(|(r, _)| *r == why) {
                Some((_, names)) => names.push(source.name),
                None => reasons.push((why, vec![source.name])),
            },
        }
    }
    let notes = reasons
        .into_iter()
        .map(|(why, names)| format!("not collected here ({why}): {}", names.join(", ")))
        .collect();
    (crate::plan::order(tasks), notes)
}

/// Plans one source, checking first that its part is collected on this host.
pub fn plan(source: &SourceDecl, ctx: &Context) -> Applies {
    match source.part {
        Part::Headnode if !ctx.headnode => {
            Applies::No("headnode source; this run collects a compute node".to_string())
        }
        Part::ComputeNode if !ctx.cn_part => Applies::No(if ctx.headnode {
            "compute-node source; no VM in scope is on this host (collected on its CN)".to_string()
        } else {
            "compute-node source; no VM in scope".to_string()
        }),
        _ => (source.plan)(ctx, source),
    }
}

// ---- shared by the source modules ----

/// File tasks for the files in `dir` (a host path) whose names `keep` accepts. A directory that
/// is absent or refused becomes one note task instead, so the manifest says so.
pub fn file_tasks(
    ctx: &Context,
    source: &str,
    cost: Cost,
    within: &str,
    dir: &str,
    keep: &dyn Fn(&str) -> bool,
) -> Vec<Task> {
    let confinement = if within == "/" {
        Confinement::global(&ctx.host_root)
    } else {
        Confinement::zone(&ctx.host_root, within)
    };
    match confinement.list_dir(dir) {
        Ok(entries) => entries
            .into_iter()
            .filter(|(name, meta)| !meta.is_dir() && keep(name))
            .map(|(name, meta)| Task::file(source, cost, join(dir, &name), within).listed_as(&meta))
            .collect(),
        Err(Refusal::NotFound) => vec![Task::note(
            source,
            dir,
            format!("{}: directory", crate::runner::NOT_FOUND),
        )],
        Err(refusal) => vec![Task::note(source, dir, refusal.to_string())],
    }
}

/// Keeps logadm-rotated files named `<name>_*_<stamp>.log` with one of `names` (or
/// `<name>-<instance>`), whose hour overlaps the window.
pub fn rotated_in_window<'a>(ctx: &'a Context, names: &'a [&'a str]) -> impl Fn(&str) -> bool + 'a {
    move |file: &str| {
        RotatedName::parse(file).is_some_and(|r| {
            names.iter().any(|n| {
                r.name == *n
                    || r.name
                        .strip_prefix(n)
                        .is_some_and(|rest| rest.starts_with('-'))
            }) && r.overlaps(&ctx.window)
        })
    }
}

/// Keeps per-task logs (`<ms>-<pid>-<task>.log`) started inside the window.
pub fn task_logs_in_window(ctx: &Context) -> impl Fn(&str) -> bool + '_ {
    move |file: &str| TaskLogName::parse(file).is_some_and(|t| ctx.window.contains(t.started))
}

pub fn join(dir: &str, name: &str) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), name)
}

/// Shorthand for `Applies::Yes`.
pub fn yes(why: impl Into<String>, tasks: Vec<Task>) -> Applies {
    Applies::Yes {
        why: why.into(),
        tasks,
    }
}

/// The note recorded when the core zones could not be listed at all.
pub fn plan_note_zone(source: &str, role: &str, error: &str) -> Task {
    Task::note(
        source,
        format!("vmadm lookup tags.smartdc_role={role}"),
        format!("core zone lookup failed: {error}"),
    )
}

/// `/zones/<vm>/root` when the zone is there; otherwise pushes the one note saying it is not,
/// so a missing zone gives one line in the manifest rather than one per file.
pub fn zone_root(ctx: &Context, source: &str, vm: &str, tasks: &mut Vec<Task>) -> Option<String> {
    let root = format!("/zones/{vm}/root");
    let problem = match Confinement::global(&ctx.host_root).resolve(&root) {
        Ok((_, meta)) if meta.is_dir() => return Some(root),
        Ok(_) => "not a directory".to_string(),
        Err(Refusal::NotFound) => format!(
            "{}: zone root (zone not installed here, or destroyed)",
            crate::runner::NOT_FOUND
        ),
        Err(refusal) => refusal.to_string(),
    };
    tasks.push(Task::note(source, root, problem));
    None
}

/// Whether any of these host paths exists (without following symlinks out of the host root).
pub fn any_exists(ctx: &Context, paths: &[&str]) -> bool {
    let confinement = Confinement::global(&ctx.host_root);
    paths.iter().any(|p| confinement.resolve(p).is_ok())
}
