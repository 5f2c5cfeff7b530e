//! Discovery: who this host is and what the collection is about (API scope on the headnode,
//! `vmadm`/`imgadm` on a compute node), before anything is planned.

use jiff::Timestamp;

use crate::cli::Cli;
use crate::context::{Context, HostIdentity};
use crate::failed_posts;
use crate::progress::Progress;
use crate::runner::Runner;
use crate::scope::{self, ApiScope};
use crate::window::{self, TimeWindow, WindowArgs};

/// What discovery found.
pub struct Discovery {
    pub ctx: Context,
    pub api: Option<ApiScope>,
}

pub fn discover(
    cli: &Cli,
    runner: &mut Runner,
    identity: &HostIdentity,
    headnode: bool,
    progress: &Progress,
) -> Result<Discovery, String> {
    let window_args = WindowArgs {
        since: cli.since,
        until: cli.until,
        last: cli.last,
    };
    if headnode {
        progress.line("resolving the scope with the headnode APIs");
        let lookback = |now: Timestamp| {
            window::choose(&window_args, &[], now).unwrap_or_else(|_| TimeWindow {
                since: now.checked_sub(window::DEFAULT_LOOKBACK).unwrap_or(now),
                until: now,
                derived_from: "default: last 24 hours".into(),
            })
        };
        // The core zones first: the vmapi zone's logs are searched while resolving the scope.
        let (core_zones, core_zone_error) = scope::find_core_zones(runner);
        let search = |lookback: &TimeWindow| failed_posts::search(&cli.root, &core_zones, lookback);
        let api = scope::resolve_headnode(runner, &cli.vms, &cli.jobs, &lookback, &search);
        let now = api.api_now.unwrap_or_else(Timestamp::now);
        let mut window = window::choose(&window_args, &api.focus_spans(now), now)?;
        let from_spans = window_args.since.is_none()
            && window_args.until.is_none()
            && window_args.last.is_none();
        if from_spans && !api.failed_posts.is_empty() {
            window.derived_from = format!(
                "jobs and failed POST /vms requests: created_at (or request time) - {m} .. end + {m}, \
                 union over {} job(s) and {} request(s)",
                api.focus_jobs.len(),
                api.failed_posts.len(),
                m = window::describe(window::JOB_MARGIN),
            );
        }
        progress.line(&format!(
            "scope: {} job(s), {} VM(s), {} server(s), {} image(s), {} failed POST /vms without job",
            api.jobs.len(),
            api.vms.len(),
            api.servers.len(),
            api.images.len(),
            api.failed_posts.len()
        ));
        let facts = api.vm_facts();
        let local: Vec<_> = facts
            .iter()
            .filter(|f| f.server_uuid.as_deref() == Some(identity.server_uuid.as_str()))
            .cloned()
            .collect();
        let cn_part = !local.is_empty();
        let (vms, images) = if cn_part {
            let uuids: Vec<String> = local.iter().map(|f| f.uuid.clone()).collect();
            scope::resolve_compute_node(runner, &cli.root, &uuids, &local, &api.images)
        } else {
            (Vec::new(), api.images.clone())
        };
        Ok(Discovery {
            ctx: Context {
                host_root: cli.root.clone(),
                host: identity.clone(),
                headnode: true,
                cn_part,
                window,
                vms,
                images,
                core_zones,
                core_zone_error,
            },
            api: Some(api),
        })
    } else {
        let now = Timestamp::now();
        let window = window::choose(&window_args, &[], now)?;
        let (vms, images) =
            scope::resolve_compute_node(runner, &cli.root, &cli.vms, &[], &cli.images);
        Ok(Discovery {
            ctx: Context {
                host_root: cli.root.clone(),
                host: identity.clone(),
                headnode: false,
                cn_part: true,
                window,
                vms,
                images,
                core_zones: Vec::new(),
                core_zone_error: None,
            },
            api: None,
        })
    }
}

pub fn empty_context(
    cli: &Cli,
    identity: &HostIdentity,
    headnode: bool,
    window: TimeWindow,
) -> Context {
    Context {
        host_root: cli.root.clone(),
        host: identity.clone(),
        headnode,
        cn_part: !headnode,
        window,
        vms: Vec::new(),
        images: cli.images.clone(),
        core_zones: Vec::new(),
        core_zone_error: None,
    }
}
