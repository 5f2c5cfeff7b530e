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
use crate::progress::Progress;
use crate::report::{self, SourceTally};
use crate::runner::{is_failure, Limits, Runner};
use crate::sources::plan_host;
use crate::space::{Probe, SpaceGuard};
use crate::timespec::{file_stamp, rfc3339};
use crate::upload::{self, UploadRequest};
use crate::window::{self, TimeWindow, WindowArgs};

/// Runs the collector; returns the exit status.
pub fn run(cli: Cli, argv: Vec<String>) -> i32 {
    let started_at = Timestamp::now();
    // First, before any thread or command: everything started later inherits it.
    let priority = crate::priority::lower();
    crate::os::install_signal_handlers();
    let progress = Progress::new(cli.quiet, cli.verbose);
    for line in &priority {
        progress.detail(line);
    }
    let window_args = WindowArgs {
        since: cli.since,
        until: cli.until,
        last: cli.last,
    };
    if window_args.since.is_some() && window_args.until.is_some() {
        if let Err(e) = window::choose(&window_args, &[], started_at) {
            progress.error(&e.to_string());
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
        priority,
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
            progress.error(&e.to_string());
            return EXIT_USAGE;
        }
    };
    progress.finish();
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
    /// What lowering the priority did (manifest notes).
    priority: Vec<String>,
    progress: &'a Progress,
}

impl Run<'_> {
    fn collect(self, limits: Limits, sysinfo: Result<CommandOutput, String>) -> i32 {
        let (cli, progress) = (self.cli, self.progress);
        let run_id = format!("{}-{}", file_stamp(self.started_at), std::process::id());
        let out_path = out_path(cli, &self.identity, self.started_at);
        let out_dir = out_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut notes = self.priority.clone();
        let probe = match cli.assume_free_bytes {
            Some(free_at_start) => Probe::Assumed { free_at_start },
            None => Probe::FileSystem(out_dir.clone()),
        };
        let space = match SpaceGuard::start(&out_dir, probe, cli.min_free_bytes) {
            Ok(space) => space,
            Err(e) => {
                progress.error(&e);
                return EXIT_NO_BUNDLE;
            }
        };
        notes.push(space.as_ref().map_or_else(
            || {
                format!(
                    "free space of {} could not be measured; not checked",
                    out_dir.display()
                )
            },
            SpaceGuard::start_note,
        ));
        let existed_before = out_path.exists();
        let mut writer = match BundleWriter::create(&out_path, &bundle_top(&out_path)) {
            Ok(w) => w,
            Err(e) => {
                progress.error(&format!("cannot write the bundle: {e}"));
                return EXIT_NO_BUNDLE;
            }
        };

        let mut runner = Runner::new(
            cli.root.clone(),
            self.identity.server_uuid.clone(),
            limits.clone(),
            Some(&mut writer),
        );
        runner.report_to(progress);
        if let Some(space) = space {
            runner.guard_space(space);
        }
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
        let mut space = runner.take_space();
        let bundle_error = runner.bundle_error().map(str::to_string);
        drop(runner);

        if !outcomes.is_empty() {
            progress.working_on("merging the compute nodes' bundles");
        }
        let merged = merge_compute_nodes(&mut writer, outcomes, &discovery, progress);
        for item in &merged.items {
            progress.collected(item);
        }
        let merged_any = !merged.items.is_empty();
        let mut hosts = vec![this_host(&self.identity, self.headnode, ctx)];
        hosts.extend(merged.hosts);
        items.extend(merged.items);
        notes.extend(merged.notes);
        if let Some(dir) = &fanout_dir {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                notes.push(format!("could not remove {}: {e}", dir.display()));
            }
        }
        if let Some(space) = space.as_mut().filter(|_| merged_any) {
            // The compute nodes' bundles were copied in without the guard (their caps were
            // sized from it, leaving room for each to sit on disk twice); say so if they still
            // reached into the reserve. Nothing is missing, so the bundle is not incomplete.
            space.measure();
            if space.room() == 0 {
                let note = format!(
                    "after merging the compute nodes' bundles, only {} is free above the reserve",
                    crate::size::human(space.headroom())
                );
                progress.warn(&note);
                notes.push(note);
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
        let space_short = space.as_ref().is_some_and(|s| s.shortage().is_some());
        if let Some(note) = space.as_ref().and_then(SpaceGuard::shortage_note) {
            progress.warn(&note);
            notes.push(note);
        }
        let complete = merged.complete
            && !interrupted
            && !deadline_hit
            && !space_short
            && !items.iter().any(is_failure);

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
        progress.working_on("writing the manifest");
        let exit = if complete {
            EXIT_COMPLETE
        } else {
            EXIT_INCOMPLETE
        };
        let finished = match writer.finish(&manifest) {
            Ok(finished) => finished,
            Err(e) => {
                remove_partial_files(&out_path);
                if !existed_before && out_path.exists() {
                    // Renamed into place; only the checksum file beside it failed.
                    progress.warn(&format!(
                        "the bundle {} is complete, but: {e}",
                        out_path.display()
                    ));
                    return exit;
                }
                let cause = bundle_error
                    .map(|first| format!(" (first failure: {first})"))
                    .unwrap_or_default();
                progress.error(&format!(
                    "cannot finish the bundle {}: {e}{cause}; no bundle was written (its partial \
                     file was removed)",
                    out_path.display()
                ));
                return EXIT_NO_BUNDLE;
            }
        };
        for line in report::summary(
            &finished.path,
            finished.bytes,
            &finished.sha256,
            &manifest.items,
            &manifest.hosts,
        ) {
            progress.print(&format!("triton-collect: {line}"));
        }
        if cli.upload {
            self.upload(&finished, space.as_mut());
        }
        progress.finish();
        exit
    }

    /// `--upload`: the outcome is told on stderr; the exit status stays the bundle's.
    fn upload(&self, finished: &triton_bundle::Finished, space: Option<&mut SpaceGuard>) {
        let request = UploadRequest {
            ticket: self.cli.ticket.clone(),
            proxy: self.cli.upload_proxy.clone(),
        };
        let room = space.map(|s| {
            s.measure();
            s.headroom()
        });
        self.progress
            .working_on(&format!("uploading with {}", upload::TOOL));
        let outcome = upload::upload(&finished.path, finished.bytes, room, &request);
        for line in upload::report(&outcome, &finished.path, &request) {
            self.progress.print(&format!("triton-collect: {line}"));
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
                self.progress.error(&e.to_string());
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
    let mut tally = SourceTally::new(tasks, &runner.items);
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

/// Removes what an unfinished bundle may have left beside `bundle` (the writer's temporary
/// files, named `.<name>.partial-<pid>-<nanos>`, for the bundle and its `.sha256`).
fn remove_partial_files(bundle: &Path) {
    let (Some(dir), Some(name)) = (bundle.parent(), bundle.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    let prefixes = [
        format!(".{name}.partial-{}-", std::process::id()),
        format!(".{name}.sha256.partial-{}-", std::process::id()),
    ];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        if prefixes.iter().any(|p| file_name.starts_with(p.as_str())) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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

    #[test]
    fn leftovers_of_an_unfinished_bundle_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("b.tar.gz");
        let pid = std::process::id();
        let ours = [
            format!(".b.tar.gz.partial-{pid}-123"),
            format!(".b.tar.gz.sha256.partial-{pid}-456"),
        ];
        let theirs = [
            format!(".b.tar.gz.partial-{}-123", pid + 1),
            "b.tar.gz.old".to_string(),
        ];
        for name in ours.iter().chain(&theirs) {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        remove_partial_files(&bundle);
        for name in &ours {
            assert!(!dir.path().join(name).exists(), "{name} left");
        }
        for name in &theirs {
            assert!(dir.path().join(name).exists(), "{name} removed");
        }
    }
}
