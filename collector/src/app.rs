//! One collection run, start to finish: identify the host, resolve the scope, plan, collect
//! under the limits, fan out to the compute nodes, merge, write the manifest, report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use triton_bundle::manifest::{self, Collector, CoreZone, HostInfo, HostRole, Manifest, Scope};
use triton_bundle::BundleWriter;

use crate::cli::{Cli, EXIT_COMPLETE, EXIT_INCOMPLETE, EXIT_NO_BUNDLE, EXIT_USAGE};
use crate::compute_nodes::{fan_out, fanout_servers, merge_compute_nodes};
use crate::context::{Context, HostIdentity};
use crate::discovery::{discover, empty_context, Discovery};
use crate::exec::CommandOutput;
use crate::plan::Task;
use crate::report::{self, Progress, SourceTally};
use crate::runner::{is_failure, Limits, Runner};
use crate::sources::plan_host;
use crate::timespec::{file_stamp, rfc3339};
use crate::window::{self, TimeWindow, WindowArgs};

/// Room kept free on the output file system beyond the bundle.
const FREE_SPACE_MARGIN: u64 = 64 << 20;

/// Runs the collector; returns the exit status.
pub fn run(cli: Cli, argv: Vec<String>) -> i32 {
    let started_at = Timestamp::now();
    crate::os::lower_priority();
    crate::os::install_signal_handlers();
    let progress = Progress::new(cli.quiet, cli.verbose);
    let window_args = WindowArgs {
        since: cli.since,
        until: cli.until,
        last: cli.last,
    };
    if window_args.since.is_some() && window_args.until.is_some() {
        if let Err(e) = window::choose(&window_args, &[], started_at) {
            eprintln!("triton-collect: error: {e}");
            return EXIT_USAGE;
        }
    }

    let headnode = !cli.cn_mode && crate::os::on_path("sdc-vmapi").is_some();
    let limits = Limits {
        max_bytes: cli.max_bytes,
        max_file_bytes: cli.max_file_bytes,
        command_timeout: Duration::from_secs(cli.command_timeout.max(1)),
        deadline: Instant::now() + Duration::from_secs(cli.deadline),
        redact: !cli.no_redact,
    };
    let (identity, sysinfo) = identify(&cli, &limits, &progress);
    progress.line(&format!(
        "collecting on {} ({}) as {}",
        identity.hostname,
        identity.server_uuid,
        if headnode { "headnode" } else { "compute node" }
    ));

    if cli.list_sources || cli.dry_run {
        return inspect(&cli, limits, &identity, headnode, &progress);
    }
    let run = Run {
        cli: &cli,
        argv,
        started_at,
        headnode,
        identity,
        progress: &progress,
    };
    run.collect(limits, sysinfo)
}

/// Runs `sysinfo` (who we are decides the bundle's name, so this comes before the bundle).
fn identify(
    cli: &Cli,
    limits: &Limits,
    progress: &Progress,
) -> (HostIdentity, Result<CommandOutput, String>) {
    let argv = vec!["sysinfo".to_string()];
    let sysinfo =
        Runner::new(cli.root.clone(), String::new(), limits.clone(), None).execute(&argv, None);
    let identity = sysinfo
        .as_ref()
        .ok()
        .filter(|o| o.status == Some(0))
        .and_then(|o| serde_json::from_slice(&o.stdout).ok())
        .and_then(|v| HostIdentity::from_sysinfo(&v))
        .unwrap_or_else(|| {
            let hostname = crate::os::hostname();
            progress.warn(&format!(
                "sysinfo gave no server uuid; this host is recorded as {hostname}"
            ));
            HostIdentity {
                server_uuid: hostname.clone(),
                hostname,
                platform_image: None,
            }
        });
    (identity, sysinfo)
}

/// `--list-sources` / `--dry-run`: discovery without a bundle, then print.
fn inspect(
    cli: &Cli,
    limits: Limits,
    identity: &HostIdentity,
    headnode: bool,
    progress: &Progress,
) -> i32 {
    let mut runner = Runner::new(cli.root.clone(), identity.server_uuid.clone(), limits, None);
    let discovery = match discover(cli, &mut runner, identity, headnode, progress) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("triton-collect: error: {e}");
            return EXIT_USAGE;
        }
    };
    if cli.list_sources {
        crate::inspect::print_sources(&discovery.ctx, &runner.items);
    } else {
        crate::inspect::print_plan(&discovery, cli, &runner.items);
    }
    EXIT_COMPLETE
}

/// One real collection.
struct Run<'a> {
    cli: &'a Cli,
    argv: Vec<String>,
    started_at: Timestamp,
    headnode: bool,
    identity: HostIdentity,
    progress: &'a Progress,
}

impl Run<'_> {
    fn collect(self, mut limits: Limits, sysinfo: Result<CommandOutput, String>) -> i32 {
        let (cli, progress) = (self.cli, self.progress);
        let run_id = format!("{}-{}", file_stamp(self.started_at), std::process::id());
        let out_path = out_path(cli, &self.identity, self.started_at);
        let out_dir = out_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut notes = Vec::new();
        notes.extend(fit_to_free_space(&out_dir, &mut limits, progress));
        let mut writer = match BundleWriter::create(&out_path, &bundle_top(&out_path)) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("triton-collect: error: cannot write the bundle: {e}");
                return EXIT_NO_BUNDLE;
            }
        };

        let mut runner = Runner::new(
            cli.root.clone(),
            self.identity.server_uuid.clone(),
            limits.clone(),
            Some(&mut writer),
        );
        runner.record_command(
            "sysinfo",
            "sysinfo",
            &["sysinfo".to_string()],
            sysinfo.as_ref().map_err(String::as_str),
            &[],
        );
        let discovery = self.discover_or_fall_back(&mut runner, &mut notes);
        for line in report::discovery_lines(&runner.items) {
            progress.line(&line);
        }
        let ctx = &discovery.ctx;
        progress.line(&format!(
            "window {} .. {} ({})",
            rfc3339(ctx.window.since),
            rfc3339(ctx.window.until),
            ctx.window.derived_from
        ));
        let (tasks, not_applicable) = plan_host(ctx);
        notes.extend(not_applicable);
        runner.slice_to(&ctx.window);
        run_tasks(&mut runner, &tasks, progress);
        if let Some(note) = runner.slicing.note() {
            progress.detail(&note);
            notes.push(note);
        }

        let servers = fanout_servers(cli, &discovery, &self.identity);
        let (outcomes, fanout_dir) = if self.headnode && !servers.is_empty() {
            fan_out(
                cli, &discovery, &runner, &servers, &out_dir, &run_id, progress,
            )
        } else {
            (Vec::new(), None)
        };
        let interrupted = crate::os::interrupted();
        let deadline_hit = Instant::now() >= limits.deadline;
        let mut items = std::mem::take(&mut runner.items);
        drop(runner);

        let merged = merge_compute_nodes(&mut writer, outcomes, &discovery, progress);
        let mut hosts = vec![this_host(&self.identity, self.headnode, ctx)];
        hosts.extend(merged.hosts);
        items.extend(merged.items);
        notes.extend(merged.notes);
        if let Some(dir) = &fanout_dir {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                notes.push(format!("could not remove {}: {e}", dir.display()));
            }
        }
        if interrupted {
            notes.push("interrupted by a signal; collection stopped early".to_string());
        }
        if deadline_hit {
            notes.push(format!(
                "overall deadline ({} s) reached; the rest was not collected",
                cli.deadline
            ));
        }
        let complete =
            merged.complete && !interrupted && !deadline_hit && !items.iter().any(is_failure);

        let manifest = Manifest {
            format: manifest::FORMAT_NAME.to_string(),
            format_version: format!("{}.{}", manifest::FORMAT_MAJOR, manifest::FORMAT_MINOR),
            collector: Collector {
                name: "triton-collect".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                argv: self.argv.clone(),
                redacted: !cli.no_redact,
            },
            started_at: rfc3339(self.started_at),
            finished_at: rfc3339(Timestamp::now()),
            complete,
            scope: manifest_scope(cli, &discovery),
            hosts,
            items,
            notes,
        };
        match writer.finish(&manifest) {
            Ok(finished) => {
                for line in report::summary(
                    &finished.path,
                    finished.bytes,
                    &finished.sha256,
                    &manifest.items,
                    &manifest.hosts,
                ) {
                    eprintln!("triton-collect: {line}");
                }
                if complete {
                    EXIT_COMPLETE
                } else {
                    EXIT_INCOMPLETE
                }
            }
            Err(e) => {
                eprintln!(
                    "triton-collect: error: cannot finish the bundle {}: {e}",
                    out_path.display()
                );
                EXIT_NO_BUNDLE
            }
        }
    }

    /// Discovery; when the window cannot be made (e.g. --since after the jobs' end), the API
    /// answers gathered so far still make a bundle, with a note saying why nothing else is in it.
    fn discover_or_fall_back(&self, runner: &mut Runner, notes: &mut Vec<String>) -> Discovery {
        match discover(
            self.cli,
            runner,
            &self.identity,
            self.headnode,
            self.progress,
        ) {
            Ok(d) => {
                for note in d.api.iter().flat_map(|a| &a.notes) {
                    self.progress.line(note);
                    notes.push(note.clone());
                }
                for w in d.api.iter().flat_map(|a| &a.warnings) {
                    self.progress.warn(w);
                    notes.push(w.clone());
                }
                d
            }
            Err(e) => {
                eprintln!("triton-collect: error: {e}");
                notes.push(format!("scope could not be resolved: {e}"));
                let fallback = TimeWindow {
                    since: self.started_at,
                    until: self.started_at,
                    derived_from: "none (invalid window)".into(),
                };
                Discovery {
                    ctx: empty_context(self.cli, &self.identity, self.headnode, fallback),
                    api: None,
                }
            }
        }
    }
}

/// Runs the planned tasks in order, one progress line per source as it completes.
fn run_tasks(runner: &mut Runner, tasks: &[Task], progress: &Progress) {
    let mut tally = SourceTally::new(tasks);
    for task in tasks {
        let index = runner.run(task);
        let item = &runner.items[index];
        let read = runner
            .slicing
            .read_by_item
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, read)| {
                format!(
                    " [sliced: kept {} bytes, read {} of {} bytes]",
                    item.bytes,
                    read,
                    item.original_bytes.unwrap_or(0)
                )
            })
            .unwrap_or_default();
        progress.detail(&format!(
            "{} {}{read}{}",
            item.source,
            item.path.as_deref().unwrap_or("-"),
            item.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
        if let Some(line) = tally.finished(item) {
            progress.line(&line);
        }
    }
}

/// Lowers the total cap to what the output file system can hold; returns the note saying so.
fn fit_to_free_space(out_dir: &Path, limits: &mut Limits, progress: &Progress) -> Option<String> {
    let free = crate::os::free_space(out_dir)?;
    let usable = free.saturating_sub(FREE_SPACE_MARGIN);
    if usable >= limits.max_bytes {
        return None;
    }
    let note = format!(
        "only {} free in {}; the total cap is lowered from {} to {}",
        crate::size::human(free),
        out_dir.display(),
        crate::size::human(limits.max_bytes),
        crate::size::human(usable)
    );
    progress.warn(&note);
    limits.max_bytes = usable;
    Some(note)
}

/// `--out`, a directory given as `--out` (the default name inside it), or the default.
fn out_path(cli: &Cli, identity: &HostIdentity, now: Timestamp) -> PathBuf {
    let default = default_out(&identity.hostname, now);
    match &cli.out {
        Some(dir) if dir.is_dir() => dir.join(default.file_name().unwrap_or_default()),
        Some(path) => path.clone(),
        None => default,
    }
}

fn this_host(identity: &HostIdentity, headnode: bool, ctx: &Context) -> HostInfo {
    HostInfo {
        role: if headnode {
            HostRole::Headnode
        } else {
            HostRole::ComputeNode
        },
        hostname: identity.hostname.clone(),
        server_uuid: identity.server_uuid.clone(),
        platform_image: identity.platform_image.clone(),
        core_zones: ctx
            .core_zones
            .iter()
            .map(|z| CoreZone {
                role: z.role.clone(),
                uuid: z.uuid.clone(),
                alias: z.alias.clone(),
            })
            .collect(),
        error: None,
    }
}

fn manifest_scope(cli: &Cli, discovery: &Discovery) -> Scope {
    match &discovery.api {
        Some(api) => Scope {
            vm_uuids: api.vms.keys().cloned().collect(),
            job_uuids: api.jobs.keys().cloned().collect(),
            window: Some(discovery.ctx.window.to_manifest()),
        },
        None => Scope {
            vm_uuids: cli.vms.clone(),
            job_uuids: cli.jobs.clone(),
            window: Some(discovery.ctx.window.to_manifest()),
        },
    }
}

/// `/var/tmp/triton-bundle-<hostname>-<UTC stamp>.tar.gz`.
fn default_out(hostname: &str, now: Timestamp) -> PathBuf {
    let safe: String = hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!(
        "/var/tmp/triton-bundle-{safe}-{}.tar.gz",
        file_stamp(now)
    ))
}

/// The bundle's top directory: the file name without `.tar.gz` / `.tgz`.
fn bundle_top(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "triton-bundle".to_string());
    let stem = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
        .or_else(|| name.strip_suffix(".tar"))
        .unwrap_or(&name);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        "triton-bundle".to_string()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_bundle() {
        let now: Timestamp = "2024-01-18T04:05:06Z".parse().expect("ts");
        assert_eq!(
            default_out("headnode 1", now),
            PathBuf::from("/var/tmp/triton-bundle-headnode_1-20240118T040506Z.tar.gz")
        );
        assert_eq!(
            bundle_top(Path::new("/x/triton-bundle-hn-1.tar.gz")),
            "triton-bundle-hn-1"
        );
        assert_eq!(bundle_top(Path::new("/x/b1.tgz")), "b1");
        assert_eq!(bundle_top(Path::new("/x/..")), "triton-bundle");
    }
}
