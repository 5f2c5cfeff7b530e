//! Headnode configuration: `/usbkey/config` (datacenter settings; its passwords are redacted).

use super::{yes, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, Task};

pub const SOURCES: &[SourceDecl] = &[SourceDecl {
    name: "usbkey.config",
    part: Part::Headnode,
    what: "/usbkey/config (datacenter settings, secrets redacted)",
    plan: plan_config,
}];

fn plan_config(_ctx: &Context, decl: &SourceDecl) -> Applies {
    yes(
        "headnode",
        vec![Task::file(decl.name, Cost::Cheap, "/usbkey/config", "/")],
    )
}
