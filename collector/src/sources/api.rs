//! Headnode API answers (`sdc-workflow`, `sdc-vmapi`, `sdc-cnapi`, `sdc-imgapi`): fetched while
//! resolving the scope, because they decide what else is collected. Declared here so that
//! `--list-sources` shows them; see `scope.rs` for the calls.

use super::{yes, Applies, Part, SourceDecl};
use crate::context::Context;

pub const SOURCES: &[SourceDecl] = &[
    decl(
        "workflow.failed-jobs",
        "sdc-workflow /jobs?execution=failed (no scope: provision jobs of the last 24 h)",
    ),
    decl(
        "workflow.job",
        "sdc-workflow /jobs/<uuid> (each job in full)",
    ),
    decl("vmapi.vm", "sdc-vmapi /vms/<uuid>"),
    decl(
        "vmapi.vm-jobs",
        "sdc-vmapi /vms/<uuid>/jobs (the VM's jobs, trimmed view)",
    ),
    decl(
        "cnapi.server",
        "sdc-cnapi /servers/<uuid> (servers of the jobs and VMs)",
    ),
    decl(
        "imgapi.image",
        "sdc-imgapi /images/<uuid> (images of the jobs and VMs)",
    ),
    decl(
        "cnapi.task",
        "sdc-cnapi /tasks/<id> (CNAPI tasks the jobs reference)",
    ),
];

const fn decl(name: &'static str, what: &'static str) -> SourceDecl {
    SourceDecl {
        name,
        part: Part::Headnode,
        what,
        plan: resolved_with_scope,
    }
}

fn resolved_with_scope(_ctx: &Context, _decl: &SourceDecl) -> Applies {
    yes("asked while resolving the scope", Vec::new())
}
