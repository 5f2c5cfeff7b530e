//! Destroyed VMs: what VM.js archived under `/zones/archive/<vm>/` (vm.json, zone.xml, svclogs/,
//! vmlogs/, admmsgs/, ...), except `zfs.dump`, which is large and says little (reference §3.5).

use super::{yes, Applies, Part, SourceDecl};
use crate::confine::{Confinement, Refusal};
use crate::context::Context;
use crate::plan::{Cost, Task};

pub const SOURCES: &[SourceDecl] = &[SourceDecl {
    name: "zones.archive",
    part: Part::ComputeNode,
    what: "destroyed VMs: /zones/archive/<vm>/ (vm.json, zone.xml, svclogs/, vmlogs/, admmsgs/; not zfs.dump)",
    plan: plan_archive,
}];

/// Files left out of the archive copy.
const SKIPPED: &[&str] = &["zfs.dump"];
/// How deep and how many files: an archive is small, anything bigger is not what we expect.
const MAX_DEPTH: usize = 4;
const MAX_FILES: usize = 500;

fn plan_archive(ctx: &Context, decl: &SourceDecl) -> Applies {
    let mut tasks = Vec::new();
    let mut archived = Vec::new();
    for vm in &ctx.vms {
        let dir = format!("/zones/archive/{}", vm.uuid);
        let confinement = Confinement::zone(&ctx.host_root, &dir);
        match confinement.list_dir(&dir) {
            Ok(_) => {
                archived.push(vm.uuid.clone());
                walk(&confinement, decl.name, &dir, 0, &mut tasks);
            }
            Err(Refusal::NotFound) => {}
            Err(refusal) => tasks.push(Task::note(decl.name, dir, refusal.to_string())),
        }
    }
    if archived.is_empty() && tasks.is_empty() {
        return Applies::No(
            "no /zones/archive/<vm> for the VMs in scope (not destroyed, or not archived)"
                .to_string(),
        );
    }
    yes(format!("archived VM(s) {}", archived.join(", ")), tasks)
}

fn walk(confinement: &Confinement, source: &str, dir: &str, depth: usize, tasks: &mut Vec<Task>) {
    let entries = match confinement.list_dir(dir) {
        Ok(entries) => entries,
        Err(refusal) => {
            tasks.push(Task::note(source, dir, refusal.to_string()));
            return;
        }
    };
    for (name, meta) in entries {
        let path = format!("{dir}/{name}");
        if depth == 0 && SKIPPED.contains(&name.as_str()) {
            continue;
        }
        if tasks.len() >= MAX_FILES {
            tasks.push(Task::note(
                source,
                dir,
                format!("more than {MAX_FILES} files; the rest not collected"),
            ));
            return;
        }
        if meta.is_dir() {
            if depth + 1 < MAX_DEPTH {
                walk(confinement, source, &path, depth + 1, tasks);
            } else {
                tasks.push(Task::note(
                    source,
                    path,
                    "directory nested too deep; not collected",
                ));
            }
        } else {
            tasks.push(Task::file(
                source,
                Cost::Expensive,
                path,
                &confinement.within,
            ));
        }
    }
}
