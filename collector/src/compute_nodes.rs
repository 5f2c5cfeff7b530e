//! The headnode's side of the compute-node fan-out: which CNs, what each is asked, running them
//! in parallel, and folding their bundles into this one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use triton_bundle::manifest::{HostInfo, HostRole, Item};
use triton_bundle::BundleWriter;

use crate::cli::{Cli, CnSelection};
use crate::context::HostIdentity;
use crate::discovery::Discovery;
use crate::fanout::{self, CnOutcome, CnRequest, FanoutNames};
use crate::progress::Progress;
use crate::runner::Runner;
use crate::scope;

/// Least time a compute node gets for its own collection.
const MIN_CN_DEADLINE: u64 = 30;

/// Collects the compute nodes in parallel; returns their outcomes and the local directory used.
pub fn fan_out(
    cli: &Cli,
    discovery: &Discovery,
    runner: &Runner,
    servers: &[String],
    out_dir: &Path,
    run_id: &str,
    progress: &Progress,
) -> (Vec<CnOutcome>, Option<PathBuf>) {
    let failed_all = |error: String| -> Vec<CnOutcome> {
        servers
            .iter()
            .map(|server| CnOutcome {
                server: server.clone(),
                pulled: None,
                error: Some(error.clone()),
                cleanup_error: None,
            })
            .collect()
    };
    if let Some(reason) = runner.stop_reason() {
        return (failed_all(reason), None);
    }
    let local_dir = out_dir.join(format!(".triton-collect-{run_id}"));
    let names = match FanoutNames::prepare(&local_dir, run_id) {
        Ok(names) => names,
        Err(e) => {
            progress.warn(&format!("cannot prepare the compute-node fan-out: {e}"));
            let _ = std::fs::remove_dir_all(&local_dir);
            return (failed_all(format!("fan-out not attempted: {e}")), None);
        }
    };
    let exec = runner.executor();
    let requests: Vec<CnRequest> = servers
        .iter()
        .map(|server| cn_request(cli, discovery, server, runner, servers.len()))
        .collect();
    progress.line(&format!(
        "compute nodes {}: shipping triton-collect with sdc-oneachnode",
        servers.join(", ")
    ));
    let shipped = fanout::ship(&exec, &names, servers);
    let outcomes: Vec<CnOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .zip(&requests)
            .map(|(server, request)| {
                let shipped = shipped
                    .get(server)
                    .cloned()
                    .unwrap_or_else(|| Err("not shipped".to_string()));
                let (exec, names) = (&exec, &names);
                scope.spawn(move || match shipped {
                    Ok(()) => fanout::collect_cn(exec, names, server, request),
                    Err(error) => CnOutcome {
                        server: server.clone(),
                        pulled: None,
                        error: Some(error),
                        cleanup_error: None,
                    },
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(servers)
            .map(|(handle, server)| {
                handle.join().unwrap_or_else(|_| CnOutcome {
                    server: server.clone(),
                    pulled: None,
                    error: Some("the collection thread for this CN failed".to_string()),
                    cleanup_error: None,
                })
            })
            .collect()
    });
    for (outcome, request) in outcomes.iter().zip(&requests) {
        match &outcome.error {
            None => progress.line(&format!("compute node {}: collected", outcome.server)),
            Some(e) => {
                progress.warn(&format!("compute node {}: {e}", outcome.server));
                progress.print(&format!(
                    "triton-collect: to collect it by hand, copy triton-collect to CN {} and run:\n  {}",
                    outcome.server,
                    request.manual_command(&outcome.server)
                ));
            }
        }
    }
    (outcomes, Some(local_dir))
}

/// The compute nodes to fan out to.
pub fn fanout_servers(cli: &Cli, discovery: &Discovery, identity: &HostIdentity) -> Vec<String> {
    let set: BTreeSet<String> = match &cli.cn {
        CnSelection::None => BTreeSet::new(),
        CnSelection::Listed(list) => list.iter().cloned().collect(),
        CnSelection::Auto => discovery
            .api
            .as_ref()
            .map(|a| a.servers.clone())
            .unwrap_or_default(),
    };
    set.into_iter()
        .filter(|s| *s != identity.server_uuid)
        .collect()
}

fn cn_request(
    cli: &Cli,
    discovery: &Discovery,
    server: &str,
    runner: &Runner,
    cn_count: usize,
) -> CnRequest {
    let api = discovery.api.as_ref();
    let vms: Vec<String> = api
        .map(|a| a.vm_facts())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.server_uuid.as_deref() == Some(server))
        .map(|f| f.uuid)
        .collect();
    let jobs: Vec<String> = api
        .map(|a| {
            a.focus_jobs
                .iter()
                .filter(|j| a.jobs.get(*j).and_then(scope::job_server).as_deref() == Some(server))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // The CNs run in parallel: each has the time left, and a share of the bytes left.
    let remaining = runner.remaining_time().as_secs();
    CnRequest {
        vms,
        jobs,
        images: api.map(|a| a.images.clone()).unwrap_or_default(),
        window: discovery.ctx.window.clone(),
        max_bytes: (runner.room_for_compute_nodes() / cn_count.max(1) as u64).max(1),
        max_file_bytes: cli.max_file_bytes,
        command_timeout: cli.command_timeout,
        deadline: remaining
            .saturating_sub(fanout::PULL_RESERVE.as_secs())
            .max(MIN_CN_DEADLINE),
        redact: !cli.no_redact,
    }
}

fn failed_host(server: &str, object: Option<&serde_json::Value>, error: String) -> HostInfo {
    let text = |k: &str| {
        object
            .and_then(|o| o.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    HostInfo {
        role: HostRole::ComputeNode,
        hostname: text("hostname").unwrap_or_else(|| server.to_string()),
        server_uuid: server.to_string(),
        platform_image: text("current_platform"),
        core_zones: Vec::new(),
        error: Some(error),
    }
}

/// What the compute nodes add to the bundle.
#[derive(Default)]
pub struct Merged {
    pub hosts: Vec<HostInfo>,
    pub items: Vec<Item>,
    pub notes: Vec<String>,
    /// False when a CN could not be collected or its own bundle is incomplete.
    pub complete: bool,
}

/// Copies each pulled CN bundle into `writer` and gathers the CN manifests' hosts, items and
/// notes; CNs that could not be collected become hosts with an error.
pub fn merge_compute_nodes(
    writer: &mut BundleWriter,
    outcomes: Vec<CnOutcome>,
    discovery: &Discovery,
    progress: &Progress,
) -> Merged {
    let mut merged = Merged {
        complete: true,
        ..Default::default()
    };
    for outcome in outcomes {
        let server = outcome.server.clone();
        let server_object = discovery
            .api
            .as_ref()
            .and_then(|a| a.server_objects.get(&server));
        let host_error = match &outcome.pulled {
            None => Some(
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "not collected".to_string()),
            ),
            Some(pulled) => match fanout::merge(writer, pulled) {
                Ok((cn_manifest, problems)) => {
                    merged.complete &= cn_manifest.complete;
                    for mut host in cn_manifest.hosts {
                        if host.error.is_none() {
                            host.error = outcome.error.clone();
                        }
                        merged.hosts.push(host);
                    }
                    merged.items.extend(cn_manifest.items);
                    merged.notes.extend(
                        cn_manifest
                            .notes
                            .into_iter()
                            .map(|n| format!("CN {server}: {n}")),
                    );
                    merged.notes.extend(
                        problems
                            .into_iter()
                            .map(|p| format!("CN {server} merge: {p}")),
                    );
                    progress.line(&format!("compute node {server}: merged"));
                    None
                }
                Err(e) => {
                    progress.warn(&format!(
                        "compute node {server}: cannot read its bundle: {e}"
                    ));
                    Some(format!("pulled bundle unreadable: {e}"))
                }
            },
        };
        if let Some(error) = host_error {
            merged
                .hosts
                .push(failed_host(&server, server_object, error));
            merged.complete = false;
        }
        if outcome.error.is_some() {
            merged.complete = false;
        }
        merged.notes.extend(outcome.cleanup_error);
    }
    merged
}
