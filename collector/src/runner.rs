//! The one place every limit is enforced: per-command timeout, per-file cap, total cap, overall
//! deadline, redaction, zone-root confinement. Every attempt becomes a manifest item, collected
//! or not, so the bundle tells "not there" from "not looked at".

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use triton_bundle::layout;
use triton_bundle::manifest::{Item, Origin, SliceOrigin};

use crate::api_output::{self, ApiAnswer};
use crate::confine::{Confinement, Refusal};
use crate::exec::{self, CommandOutput, LineFilter, RunLimits};
use crate::file_change::{self, Change, FileStamp};
use crate::plan::{Action, OutputFilter, Task};
use crate::progress::Progress;
use crate::redact::{LineStart, Redaction};
use crate::slice::{DataOrigin, LogFormat, SliceRequest};
use crate::space::SpaceGuard;
use crate::window::{TimeWindow, JOB_MARGIN};

/// Error text prefix for things that do not exist on the host: not a collection failure.
pub const NOT_FOUND: &str = "not found";
/// Error text prefix for things left out on purpose (devices, FIFOs, sockets): not a failure.
pub const SKIPPED: &str = "skipped:";

/// Where collected bytes go: exactly `size` bytes read from `data`, streamed (the redacted copy
/// of an item is never held whole in memory).
pub trait Sink {
    fn store(
        &mut self,
        rel_path: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<Stored, StoreError>;
}

/// Why an item could not be stored.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// This item only (e.g. its source ended early); the bundle is fine.
    Item(String),
    /// Writing the bundle failed (e.g. the file system is full): nothing more can be stored.
    Bundle(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Item(e) | StoreError::Bundle(e) => f.write_str(e),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub bytes: u64,
    pub sha256: String,
}

impl Sink for triton_bundle::BundleWriter {
    fn store(
        &mut self,
        rel_path: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<Stored, StoreError> {
        let added = self.add_reader(rel_path, size, data).map_err(|e| {
            let text = e.to_string();
            if matches!(e, triton_bundle::BundleError::BadEntryName { .. })
                || matches!(e, triton_bundle::BundleError::DuplicateEntry { .. })
            {
                StoreError::Item(text)
            } else {
                StoreError::Bundle(text)
            }
        })?;
        if added.short_by > 0 {
            // The entry is in the bundle, padded; say so rather than pass it off as the data.
            return Err(StoreError::Item(format!(
                "{rel_path}: {} of {size} bytes missing (padded with zeros)",
                added.short_by
            )));
        }
        Ok(Stored {
            bytes: added.bytes,
            sha256: added.sha256,
        })
    }
}

/// The limits of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_file_bytes: u64,
    pub command_timeout: Duration,
    pub deadline: Instant,
    pub redact: bool,
}

/// Whether an item means the bundle is missing something (as opposed to a thing that simply
/// does not exist on the host).
pub fn is_failure(item: &Item) -> bool {
    item.timed_out
        || item.truncated
        || item
            .error
            .as_deref()
            .is_some_and(|e| !e.starts_with(NOT_FOUND) && !e.starts_with(SKIPPED))
}

pub struct Runner<'a> {
    host_root: PathBuf,
    /// Server uuid of this host (bundle paths of files and commands).
    pub host: String,
    limits: Limits,
    sink: Option<&'a mut dyn Sink>,
    /// Keeps what is stored within the output file system's free space (none: not checked).
    space: Option<SpaceGuard>,
    /// Told which source is being collected and what each item added (the live line).
    progress: Option<&'a Progress>,
    stored_bytes: u64,
    stored_paths: std::collections::HashSet<String>,
    /// The window time-ordered logs are cut to (none: files are kept whole).
    window: Option<TimeWindow>,
    /// What slicing read, for the manifest and `-v`.
    pub slicing: SliceTally,
    pub items: Vec<Item>,
    /// The error that made the bundle unwritable, once one did: collection stops there.
    bundle_error: Option<String>,
}

/// Totals over the files cut to the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliceTally {
    pub files: u64,
    /// Sum of the files' sizes.
    pub original_bytes: u64,
    /// Bytes actually read from them (bisection probes included where the OS tells).
    pub bytes_read: u64,
    /// Files found out of order after the seek, and so scanned whole.
    pub rescanned: u64,
    /// Per item index: bytes read from that file.
    pub read_by_item: Vec<(usize, u64)>,
}

impl SliceTally {
    /// The manifest note summarizing slicing, when anything was sliced.
    pub fn note(&self) -> Option<String> {
        (self.files > 0).then(|| {
            let read = crate::size::human(self.bytes_read);
            let of = crate::size::human(self.original_bytes);
            let share = 100.0 * self.bytes_read as f64 / self.original_bytes.max(1) as f64;
            // Small logs are read whole, and the bisection's probes may read a block twice.
            let how_much = if self.bytes_read >= self.original_bytes {
                format!("read them whole ({read} read for {of})")
            } else {
                format!("read {read} of their {of} ({share:.2}%)")
            };
            format!(
                "time slicing: {} log(s) cut to the window by record time; {how_much}",
                self.files
            ) + &if self.rescanned > 0 {
                format!("; {} found out of order and scanned whole", self.rescanned)
            } else {
                String::new()
            }
        })
    }
}

impl<'a> Runner<'a> {
    /// A runner storing into `sink`; without a sink (dry run) nothing is stored.
    pub fn new(
        host_root: PathBuf,
        host: String,
        limits: Limits,
        sink: Option<&'a mut dyn Sink>,
    ) -> Self {
        Runner {
            host_root,
            host,
            limits,
            sink,
            space: None,
            progress: None,
            stored_bytes: 0,
            stored_paths: Default::default(),
            window: None,
            slicing: SliceTally::default(),
            items: Vec::new(),
            bundle_error: None,
        }
    }

    /// The first error writing the bundle, if writing it failed (e.g. a full file system).
    pub fn bundle_error(&self) -> Option<&str> {
        self.bundle_error.as_deref()
    }

    /// Fits everything stored from now on into the free space `guard` watches.
    pub fn guard_space(&mut self, guard: SpaceGuard) {
        self.space = Some(guard);
    }

    /// Takes back the space guard, with what it saw (for the manifest's notes).
    pub fn take_space(&mut self) -> Option<SpaceGuard> {
        self.space.take()
    }

    /// Reports each source and item to `progress` from now on.
    pub fn report_to(&mut self, progress: &'a Progress) {
        self.progress = Some(progress);
    }

    fn working_on(&self, source: &str) {
        if let Some(progress) = self.progress {
            progress.working_on(source);
        }
    }

    /// Cuts time-ordered logs to `window` from now on.
    pub fn slice_to(&mut self, window: &TimeWindow) {
        self.window = Some(window.clone());
    }

    /// Bytes still allowed under the total cap.
    pub fn remaining_bytes(&self) -> u64 {
        self.limits.max_bytes.saturating_sub(self.stored_bytes)
    }

    /// Bytes the compute nodes may still bring, together: what the total cap allows, and half
    /// of the free space left, since each CN bundle sits on the output file system twice for a
    /// while (pulled, then copied into this bundle).
    pub fn room_for_compute_nodes(&self) -> u64 {
        let space = self.space.as_ref().map_or(u64::MAX, |s| s.room() / 2);
        self.remaining_bytes().min(space)
    }

    pub fn remaining_time(&self) -> Duration {
        self.limits
            .deadline
            .saturating_duration_since(Instant::now())
    }

    /// Why nothing more may be collected, if so.
    pub fn stop_reason(&self) -> Option<String> {
        if crate::os::interrupted() {
            return Some("not collected: interrupted (SIGINT/SIGTERM)".to_string());
        }
        if Instant::now() >= self.limits.deadline {
            return Some("not collected: overall deadline reached".to_string());
        }
        if let Some(e) = &self.bundle_error {
            return Some(format!("not collected: writing the bundle failed ({e})"));
        }
        if let Some(reason) = self.space.as_ref().and_then(SpaceGuard::stop_reason) {
            return Some(reason);
        }
        if self.remaining_bytes() == 0 {
            return Some(format!(
                "not collected: total size cap ({}) reached",
                crate::size::human(self.limits.max_bytes)
            ));
        }
        None
    }

    /// Executes one planned task and records its item; returns the item's index.
    pub fn run(&mut self, task: &Task) -> usize {
        self.working_on(&task.source);
        match &task.action {
            Action::File {
                path,
                within,
                format,
                listed,
            } => self.file_listed(&task.source, path, within, *format, *listed),
            Action::Command {
                argv,
                name,
                filter,
                absent_when,
            } => {
                self.command(&task.source, name, argv, filter.clone(), absent_when)
                    .0
            }
            Action::Note { path, error } => {
                let mut item = self.blank_item(&task.source, Origin::File { path: path.clone() });
                item.error = Some(error.clone());
                self.push(item)
            }
        }
    }

    fn blank_item(&self, source: &str, origin: Origin) -> Item {
        Item {
            source: source.to_string(),
            host: Some(self.host.clone()),
            path: None,
            origin,
            exit_status: None,
            http_status: None,
            duration_ms: 0,
            bytes: 0,
            original_bytes: None,
            sha256: None,
            sliced: false,
            truncated: false,
            slice: None,
            changed_while_read: None,
            timed_out: false,
            redactions: Default::default(),
            error: None,
        }
    }

    fn push(&mut self, item: Item) -> usize {
        if let Some(progress) = self.progress {
            progress.collected(&item);
        }
        self.items.push(item);
        self.items.len() - 1
    }

    /// Copies one file of this host: a time-ordered log (`format`) cut to the window, anything
    /// else whole with its tail kept past the per-file cap.
    #[cfg(test)]
    pub fn file(&mut self, source: &str, path: &str, within: &str, format: LogFormat) -> usize {
        self.file_listed(source, path, within, format, None)
    }

    /// [`file`](Self::file) of a file the plan listed as `listed`: a file rotated or rewritten
    /// since, or while it is read, is noticed and the item says so (see `file_change.rs`).
    pub fn file_listed(
        &mut self,
        source: &str,
        path: &str,
        within: &str,
        format: LogFormat,
        listed: Option<FileStamp>,
    ) -> usize {
        let started = Instant::now();
        let mut item = self.blank_item(
            source,
            Origin::File {
                path: path.to_string(),
            },
        );
        if let Some(reason) = self.stop_reason() {
            item.error = Some(reason);
            return self.push(item);
        }
        let confinement = if within == "/" {
            Confinement::global(&self.host_root)
        } else {
            Confinement::zone(&self.host_root, within)
        };
        let cap = self.limits.max_file_bytes.min(self.remaining_bytes());
        let window = self.window.clone();
        let read_once = || match (format, &window) {
            (LogFormat::Whole, _) | (_, None) => {
                read_capped(&confinement, path, cap).map(|read| (read, None))
            }
            (format, Some(window)) => {
                let request = slice_request(window, cap);
                read_sliced(&confinement, path, format, &request)
                    .map(|(read, bytes_read)| (read, Some(bytes_read)))
            }
        };
        let mut read = read_once();
        let mut changed = Vec::new();
        let mut reread = None;
        if let Ok((first, _)) = &read {
            changed = changes_of(&confinement, path, listed, first);
            if changed.iter().any(Change::needs_reread) {
                // The bytes may mix what the file held before and after: read it again, once.
                read = read_once();
                if let Ok((second, _)) = &read {
                    let again = changes_of(&confinement, path, None, second);
                    if again.iter().any(Change::needs_reread) {
                        item.error = Some(format!(
                            "not collected: {}; and again when read a second time",
                            file_change::describe(&changed)
                        ));
                        item.duration_ms = started.elapsed().as_millis() as u64;
                        return self.push(item);
                    }
                    reread = Some(again);
                }
            }
        }
        let mut renamed = None;
        for change in &mut changed {
            if let Change::ReplacedSinceListed { renamed_to, .. } = change {
                *renamed_to = listed.and_then(|l| find_renamed(&confinement, path, &l));
                renamed = renamed_to.clone();
            }
        }
        if let (Err(Refusal::NotFound), Some(listed)) = (&read, listed) {
            // Listed, then gone: renamed away by a rotation with no new file yet, or removed.
            renamed = find_renamed(&confinement, path, &listed);
            let text = match &renamed {
                Some(to) => format!(
                    "renamed to {to} after it was listed (rotated), and collected there; no \
                     file is at this path any more"
                ),
                None => format!(
                    "removed or renamed away after it was listed ({} bytes; rotated?): not \
                     collected, and not found in this directory any more",
                    listed.size
                ),
            };
            if renamed.is_none() {
                item.error = Some(text.clone());
            } else {
                item.error = Some(format!("{NOT_FOUND}: {text}"));
            }
            item.changed_while_read = Some(text);
            item.duration_ms = started.elapsed().as_millis() as u64;
            let index = self.push(item);
            if let Some(renamed) = renamed {
                self.file_listed(source, &renamed, within, format, Some(listed));
            }
            return index;
        }
        match read {
            Ok((read, bytes_read)) => {
                if let Some(bytes_read) = bytes_read.filter(|_| read.sliced) {
                    self.slicing.files += 1;
                    self.slicing.original_bytes += read.original;
                    self.slicing.bytes_read += bytes_read;
                    self.slicing.rescanned += u64::from(read.rescanned);
                    self.slicing
                        .read_by_item
                        .push((self.items.len(), bytes_read));
                }
                item.original_bytes = Some(read.original);
                item.truncated = read.truncated;
                item.sliced = read.sliced;
                item.slice = read
                    .origin
                    .filter(|o| read.sliced || o.offset > 0)
                    .map(|o| SliceOrigin {
                        start_offset: o.offset,
                        first_line: o.first_line,
                    });
                if !changed.is_empty() {
                    let mut text = file_change::describe(&changed);
                    if let Some(again) = &reread {
                        text.push_str("; read a second time: the copy is of that read");
                        if !again.is_empty() {
                            text.push_str(&format!(
                                ", during which it {}",
                                file_change::describe(again)
                            ));
                        }
                    }
                    if changed.iter().any(Change::loses_records) {
                        item.error = Some(format!(
                            "{text}; records it held before may be missing from the bundle"
                        ));
                    }
                    item.changed_while_read = Some(text);
                }
                let rel = layout::host_file(&self.host, path);
                self.store(&mut item, rel, &read.data);
            }
            Err(Refusal::NotFound) => item.error = Some(NOT_FOUND.to_string()),
            Err(refusal) => item.error = Some(refusal.to_string()),
        }
        item.duration_ms = started.elapsed().as_millis() as u64;
        let index = self.push(item);
        if let Some(renamed) = renamed {
            // The file the plan listed, under its new name: its records are collected after all.
            self.file_listed(source, &renamed, within, format, listed);
        }
        index
    }

    /// Runs a command and stores its output; returns the item index and the output (for
    /// callers that parse it).
    pub fn command(
        &mut self,
        source: &str,
        name: &str,
        argv: &[String],
        filter: Option<OutputFilter>,
        absent_when: &[&str],
    ) -> (usize, Option<CommandOutput>) {
        self.working_on(source);
        if let Some(reason) = self.stop_reason() {
            let mut item = self.blank_item(
                source,
                Origin::Command {
                    argv: argv.to_vec(),
                },
            );
            item.error = Some(reason);
            return (self.push(item), None);
        }
        let output = self.execute(argv, filter);
        let index = self.record_command(
            source,
            name,
            argv,
            output.as_ref().map_err(String::as_str),
            absent_when,
        );
        (index, output.ok())
    }

    /// Runs a command under the limits without recording it.
    pub fn execute(
        &self,
        argv: &[String],
        filter: Option<OutputFilter>,
    ) -> Result<CommandOutput, String> {
        let limits = RunLimits {
            timeout: self.limits.command_timeout.min(self.remaining_time()),
            max_stdout: self.limits.max_file_bytes.min(self.remaining_bytes()),
        };
        let line_filter: Option<LineFilter> = filter.map(|f| match f {
            OutputFilter::ZpoolHistory { needles, window } => Box::new(move |line: &[u8]| {
                crate::plan::zpool_history_keeps(line, &needles, &window)
            }) as LineFilter,
        });
        exec::run(argv, &limits, line_filter).map_err(|e| format!("cannot run {}: {e}", argv[0]))
    }

    /// The limits the compute-node fan-out runs under.
    pub fn executor(&self) -> crate::fanout::Executor {
        crate::fanout::Executor {
            command_timeout: self.limits.command_timeout,
            deadline: self.limits.deadline,
            max_output: self.limits.max_file_bytes,
        }
    }

    /// Records the result of a command run earlier (stored as `commands/<name>.out`).
    pub fn record_command(
        &mut self,
        source: &str,
        name: &str,
        argv: &[String],
        output: Result<&CommandOutput, &str>,
        absent_when: &[&str],
    ) -> usize {
        let mut item = self.blank_item(
            source,
            Origin::Command {
                argv: argv.to_vec(),
            },
        );
        let out = match output {
            Ok(out) => out,
            Err(e) => {
                item.error = Some(e.to_string());
                return self.push(item);
            }
        };
        item.duration_ms = out.duration.as_millis() as u64;
        item.exit_status = out.status;
        item.timed_out = out.timed_out;
        item.truncated = out.truncated;
        item.original_bytes = Some(out.original_bytes);
        item.sliced = out.original_bytes > out.stdout.len() as u64 && !out.truncated;
        let stderr_tail = out.stderr_tail();
        if out.interrupted {
            item.error = Some("interrupted (SIGINT/SIGTERM); partial output kept".to_string());
        } else if out.timed_out {
            item.error = Some(format!(
                "timed out after {} s (process group killed, partial output kept)",
                self.limits.command_timeout.as_secs()
            ));
        } else if out.truncated {
            item.error = Some(format!(
                "output cut at {} (process killed)",
                crate::size::human(out.stdout.len() as u64)
            ));
        } else if out.status != Some(0) {
            let absent = absent_when.iter().any(|m| {
                stderr_tail.contains(m) || String::from_utf8_lossy(&out.stderr).contains(m)
            });
            let status = out
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "signal".into());
            item.error = Some(if absent {
                format!("{NOT_FOUND}: {stderr_tail}")
            } else {
                format!("exit {status}: {stderr_tail}")
            });
        }
        if !out.stdout.is_empty() || item.error.is_none() {
            let rel = layout::host_command(&self.host, name);
            self.store(&mut item, rel, &out.stdout);
        }
        self.push(item)
    }

    /// Calls an `sdc-*` API wrapper and stores the body under `api/<service>/<url>.json`.
    pub fn api(
        &mut self,
        source: &str,
        service: &str,
        argv: &[String],
        url: &str,
    ) -> (usize, Option<ApiAnswer>) {
        let mut item = self.blank_item(
            source,
            Origin::Command {
                argv: argv.to_vec(),
            },
        );
        item.host = None;
        self.working_on(source);
        if let Some(reason) = self.stop_reason() {
            item.error = Some(reason);
            return (self.push(item), None);
        }
        let out = match self.execute(argv, None) {
            Ok(out) => out,
            Err(e) => {
                item.error = Some(e);
                return (self.push(item), None);
            }
        };
        item.duration_ms = out.duration.as_millis() as u64;
        item.exit_status = out.status;
        item.timed_out = out.timed_out;
        item.truncated = out.truncated;
        item.original_bytes = Some(out.original_bytes);
        let answer = api_output::parse(&out.stdout);
        item.http_status = answer.status;
        if out.interrupted {
            item.error = Some("interrupted (SIGINT/SIGTERM)".to_string());
        } else if out.timed_out {
            item.error = Some(format!(
                "timed out after {} s (process group killed)",
                self.limits.command_timeout.as_secs()
            ));
        } else if answer.status.is_none() {
            let why = if out.stderr_tail().is_empty() {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            } else {
                out.stderr_tail()
            };
            item.error = Some(format!(
                "no HTTP answer (exit {}): {why}",
                out.status.unwrap_or(-1)
            ));
        } else if answer.status == Some(404) {
            item.error = Some(format!("{NOT_FOUND}: {}", answer.error_summary()));
        } else if !answer.is_success() {
            item.error = Some(answer.error_summary());
        }
        if answer.status.is_some() {
            let rel = layout::api(service, url);
            self.store(&mut item, rel, &answer.body);
        }
        let index = self.push(item);
        (index, answer.status.map(|_| answer))
    }

    /// Redacts, applies the total cap and the free space, and stores; sets the item's path,
    /// sizes and hash. Redaction is planned in one pass and applied while the data streams into
    /// the bundle, so memory holds the data once, not twice.
    fn store(&mut self, item: &mut Item, rel: String, original: &[u8]) {
        let Some(sink) = self.sink.as_deref_mut() else {
            return;
        };
        if self.stored_paths.contains(&rel) {
            item.error = Some(format!("already collected as {rel}"));
            return;
        }
        let redaction = if self.limits.redact {
            let redaction = Redaction::plan(original);
            item.redactions = redaction.counts.clone();
            redaction
        } else {
            Redaction::none(original)
        };
        let length = redaction.redacted_len();
        let cap_room = self.limits.max_bytes.saturating_sub(self.stored_bytes);
        let room = match self.space.as_mut() {
            Some(space) => cap_room.min(space.allow(length)),
            None => cap_room,
        };
        if length > room && room < cap_room {
            if let Some(space) = self.space.as_mut() {
                space.run_short(describe(item));
            }
            item.truncated = true;
            if room == 0 {
                item.error = Some(
                    "not collected: output file system short of space (see the notes)".to_string(),
                );
                return;
            }
            item.error = Some("cut: output file system short of space (tail kept)".to_string());
        }
        // Past the room, the tail is kept from a line start, so line numbers still map to the
        // original (redaction keeps lines, not their lengths).
        let start = if length > room {
            item.truncated = true;
            item.error
                .get_or_insert_with(|| "cut at the total size cap (tail kept)".to_string());
            let cut = redaction.line_start_at_or_after(original, length - room);
            item.slice = Some(shift_origin(item.slice, &cut));
            cut
        } else {
            LineStart {
                redacted: 0,
                original: 0,
                lines: 0,
            }
        };
        let mut reader = redaction.reader(original, start.original);
        match sink.store(&rel, length - start.redacted, &mut reader) {
            Ok(stored) => {
                self.stored_bytes += stored.bytes;
                if let Some(space) = self.space.as_mut() {
                    space.stored(stored.bytes);
                }
                self.stored_paths.insert(rel.clone());
                item.path = Some(rel);
                item.bytes = stored.bytes;
                item.sha256 = Some(stored.sha256);
            }
            Err(e) => {
                if let StoreError::Bundle(text) = &e {
                    self.bundle_error.get_or_insert_with(|| text.clone());
                }
                item.error = Some(format!("could not store in the bundle: {e}"));
            }
        }
    }
}

/// An item as a person would name it: its source and what it was read from.
fn describe(item: &Item) -> String {
    let what = match &item.origin {
        Origin::File { path } => path.clone(),
        Origin::Command { argv } => argv.join(" "),
    };
    format!("{} ({what})", item.source)
}

/// Where the stored data starts in the original once the lines before `cut` are dropped, given
/// where it started before.
fn shift_origin(before: Option<SliceOrigin>, cut: &LineStart) -> SliceOrigin {
    let before = before.unwrap_or(SliceOrigin {
        start_offset: 0,
        first_line: Some(1),
    });
    SliceOrigin {
        start_offset: before.start_offset + cut.original as u64,
        first_line: before.first_line.map(|l| l + cut.lines),
    }
}

/// What was read of one file.
struct FileRead {
    data: Vec<u8>,
    /// The file's size.
    original: u64,
    /// Cut by the per-file cap.
    truncated: bool,
    /// Cut to the window by record time.
    sliced: bool,
    /// Scanned whole after the seek found it out of order.
    rescanned: bool,
    /// Where `data` starts in the file (`None`: at its start).
    origin: Option<DataOrigin>,
    /// The open file, when opened and after the read.
    opened: Option<FileStamp>,
    after: Option<FileStamp>,
}

/// How the file at `path` changed while `read` was made (see `file_change.rs`).
fn changes_of(
    confinement: &Confinement,
    path: &str,
    listed: Option<FileStamp>,
    read: &FileRead,
) -> Vec<Change> {
    let (Some(opened), Some(after)) = (read.opened, read.after) else {
        return Vec::new();
    };
    let at_path = match confinement.resolve(path) {
        Ok((_, meta)) => Some(FileStamp::of(&meta)),
        Err(Refusal::NotFound) => None,
        // Unknown: claim nothing about the path.
        Err(_) => Some(opened),
    };
    file_change::changes(listed, opened, after, at_path)
}

/// The file in the directory of `path` that is the one `listed` (renamed by a rotation), if any.
fn find_renamed(confinement: &Confinement, path: &str, listed: &FileStamp) -> Option<String> {
    let (dir, _) = path.rsplit_once('/')?;
    let dir = if dir.is_empty() { "/" } else { dir };
    confinement
        .list_dir(dir)
        .ok()?
        .into_iter()
        .find(|(_, meta)| meta.file_type().is_file() && FileStamp::of(meta).same_file(listed))
        .map(|(name, _)| crate::sources::join(dir, &name))
}

/// The slicing request for `window`: the failure is taken to be one job margin before the
/// window's end (where a window made from the jobs puts the last job's end), and the per-file
/// cap keeps the part nearest it (see [`crate::slice::budget`]).
fn slice_request(window: &TimeWindow, cap: u64) -> SliceRequest {
    let focus = window
        .until
        .checked_sub(JOB_MARGIN)
        .unwrap_or(window.until)
        .max(window.since);
    SliceRequest {
        since: window.since,
        until: window.until,
        focus,
        cap,
    }
}

/// Logs up to this size are read from their start rather than entered by bisection: that costs
/// little, and it lets the slicer count lines, so the bundle can say which original line each
/// kept line is (`slice.first_line`). Bigger logs are bisected, and their kept lines are only
/// placed by byte offset.
pub const SCAN_FROM_START_MAX_BYTES: u64 = 1024 * 1024;

/// Reads a time-ordered log cut to the window; returns it with the bytes read from the file.
/// A file with no timed line (not really in `format`) comes back whole, tail-capped, from the
/// same single read. A small file whose kept lines are not one run of the original (an
/// unsorted log) is kept whole instead, so its lines stay where the host has them.
fn read_sliced(
    confinement: &Confinement,
    path: &str,
    format: LogFormat,
    request: &SliceRequest,
) -> Result<(FileRead, u64), Refusal> {
    let (mut file, meta) = confinement.open_file(path)?;
    let opened = Some(FileStamp::of(&meta));
    let size = meta.len();
    let small = size <= SCAN_FROM_START_MAX_BYTES;
    let before = crate::os::thread_bytes_read();
    let seek_path = if small {
        None
    } else {
        crate::slice::reopen_path(&file)
    };
    let sliced = crate::slice::slice_file(&mut file, seek_path.as_deref(), format, request)
        .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
    if small && !sliced.untimed && sliced.origin.is_some_and(|o| o.first_line.is_none()) {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
        let mut read = read_tail(file, size, path, request.cap)?;
        read.opened = opened;
        return Ok((read, 0));
    }
    let bytes_read = match (before, crate::os::thread_bytes_read()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => sliced.stream_bytes,
    };
    let read = FileRead {
        original: size,
        truncated: sliced.capped,
        sliced: !sliced.untimed,
        rescanned: sliced.rescanned,
        origin: sliced.origin,
        data: sliced.data,
        opened,
        after: file.metadata().ok().map(|m| FileStamp::of(&m)),
    };
    Ok((read, bytes_read))
}

/// Reads a file through the confinement: the whole file, or its last `cap` bytes.
fn read_capped(confinement: &Confinement, path: &str, cap: u64) -> Result<FileRead, Refusal> {
    let (file, meta) = confinement.open_file(path)?;
    let mut read = read_tail(file, meta.len(), path, cap)?;
    read.opened = Some(FileStamp::of(&meta));
    Ok(read)
}

/// The whole of an open file, or its last `cap` bytes from a line start.
fn read_tail(
    mut file: std::fs::File,
    size: u64,
    path: &str,
    cap: u64,
) -> Result<FileRead, Refusal> {
    let truncated = size > cap;
    let mut lines_skipped = None;
    if truncated {
        let skipped = size - cap;
        if skipped <= SCAN_FROM_START_MAX_BYTES {
            // Cheap for a small file, and it lets the bundle cite the original's line numbers.
            let mut prefix = Vec::with_capacity(skipped as usize);
            (&mut file)
                .take(skipped)
                .read_to_end(&mut prefix)
                .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
            lines_skipped = Some(memchr::memchr_iter(b'\n', &prefix).count() as u64);
        }
        file.seek(SeekFrom::Start(skipped))
            .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
    }
    // What the file held when it was opened: a log still being written is not chased (the
    // bytes stay consistent with `original_bytes`), and one cut short meanwhile ends early.
    let mut data = Vec::with_capacity(size.min(cap) as usize);
    let mut limited = file.take(size.min(cap));
    limited
        .read_to_end(&mut data)
        .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
    let after = limited
        .into_inner()
        .metadata()
        .ok()
        .map(|m| FileStamp::of(&m));
    let mut origin = None;
    if truncated {
        // Start at a line: a cut line is useless to a reader and could hide a secret's name
        // from the redaction.
        let start = data
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |i| i + 1);
        data.drain(..start);
        // The line holding the first byte read was dropped through its end.
        origin = Some(DataOrigin {
            offset: size - cap + start as u64,
            first_line: lines_skipped.map(|n| n + 2),
        });
    }
    Ok(FileRead {
        data,
        original: size,
        truncated,
        sliced: false,
        rescanned: false,
        origin,
        opened: None,
        after,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct MemorySink {
        entries: BTreeMap<String, Vec<u8>>,
    }

    impl Sink for MemorySink {
        fn store(
            &mut self,
            rel_path: &str,
            size: u64,
            data: &mut dyn Read,
        ) -> Result<Stored, StoreError> {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)
                .map_err(|e| StoreError::Item(e.to_string()))?;
            assert_eq!(bytes.len() as u64, size, "{rel_path}: announced size");
            self.entries.insert(rel_path.to_string(), bytes);
            Ok(Stored {
                bytes: size,
                sha256: "x".into(),
            })
        }
    }

    fn limits(max_bytes: u64, max_file: u64) -> Limits {
        Limits {
            max_bytes,
            max_file_bytes: max_file,
            command_timeout: Duration::from_secs(1),
            deadline: Instant::now() + Duration::from_secs(30),
            redact: true,
        }
    }

    #[test]
    fn files_are_capped_redacted_and_missing_ones_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("var/log")).expect("mkdir");
        std::fs::write(
            dir.path().join("var/log/a.log"),
            "0123456789\nsecret_token=x\n",
        )
        .expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(1000, 20),
            Some(&mut sink),
        );
        let i = runner.file("a", "/var/log/a.log", "/", LogFormat::Whole);
        let item = runner.items[i].clone();
        assert!(item.truncated);
        assert_eq!(item.original_bytes, Some(26));
        assert_eq!(item.redactions.get(crate::redact::RULE_CONFIG), Some(&1));
        let j = runner.file("b", "/var/log/missing.log", "/", LogFormat::Whole);
        assert_eq!(runner.items[j].error.as_deref(), Some(NOT_FOUND));
        assert!(!is_failure(&runner.items[j]));
        drop(runner);
        let stored = &sink.entries["hosts/S/files/var/log/a.log"];
        assert_eq!(stored, b"secret_token=[REDACTED]\n");
    }

    fn bunyan(time: &str, msg: &str) -> String {
        format!(
            r#"{{"name":"vmapi","hostname":"h","pid":1,"level":30,"msg":"{msg}","time":"{time}","v":0}}"#
        )
    }

    fn window(since: &str, until: &str) -> TimeWindow {
        TimeWindow {
            since: since.parse().expect("since"),
            until: until.parse().expect("until"),
            derived_from: "test".into(),
        }
    }

    /// The original line a stored line stands for, by the manifest's `slice`.
    fn original_line_of(item: &Item, stored_line: u64) -> u64 {
        let slice = item.slice.expect("slice recorded");
        slice.original_line(stored_line).expect("first_line known")
    }

    #[test]
    fn a_small_sliced_log_says_where_its_lines_are_in_the_original() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("var/log")).expect("mkdir");
        let mut lines = vec!["[ Jan 18 03:00:00 Executing start method ]".to_string()];
        for minute in 0..60 {
            lines.push(bunyan(
                &format!("2024-01-18T04:{minute:02}:00Z"),
                &format!("m{minute}"),
            ));
            if minute == 30 {
                lines.push("    at boom (x.js:1)".to_string());
            }
        }
        let text = lines.join("\n") + "\n";
        std::fs::write(dir.path().join("var/log/vmapi.log"), &text).expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(1 << 20, 1 << 20),
            Some(&mut sink),
        );
        runner.slice_to(&window("2024-01-18T04:20:00Z", "2024-01-18T04:40:00Z"));
        let i = runner.file("vmapi.log", "/var/log/vmapi.log", "/", LogFormat::Bunyan);
        let item = runner.items[i].clone();
        drop(runner);
        assert!(item.sliced, "{item:?}");
        let stored = String::from_utf8(sink.entries["hosts/S/files/var/log/vmapi.log"].clone())
            .expect("utf8");
        assert!(stored.starts_with(&bunyan("2024-01-18T04:20:00Z", "m20")));
        let slice = item.slice.expect("slice");
        assert_eq!(
            &text.as_bytes()[slice.start_offset as usize..][..stored.len()],
            stored.as_bytes(),
            "the stored bytes are the original's from start_offset"
        );
        for (n, line) in stored.lines().enumerate() {
            let original = original_line_of(&item, n as u64 + 1);
            assert_eq!(text.lines().nth(original as usize - 1), Some(line));
        }
    }

    #[test]
    fn a_small_unsorted_log_whose_window_is_not_one_run_is_kept_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = [
            bunyan("2024-01-18T04:30:00Z", "in"),
            bunyan("2024-01-18T01:00:00Z", "long before"),
            bunyan("2024-01-18T04:31:00Z", "in again"),
        ]
        .join("\n")
            + "\n";
        std::fs::write(dir.path().join("t.log"), &text).expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(1 << 20, 1 << 20),
            Some(&mut sink),
        );
        runner.slice_to(&window("2024-01-18T04:20:00Z", "2024-01-18T04:40:00Z"));
        let i = runner.file("t", "/t.log", "/", LogFormat::Bunyan);
        let item = runner.items[i].clone();
        drop(runner);
        assert!(!item.sliced && item.slice.is_none(), "{item:?}");
        assert_eq!(sink.entries["hosts/S/files/t.log"], text.as_bytes());
    }

    #[test]
    fn the_total_cap_cuts_redacted_data_at_a_line_and_moves_the_origin() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Fits the room as read; redaction makes it longer than the room.
        let text = "password=a\nx\ny\n";
        std::fs::write(dir.path().join("f"), text).expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(text.len() as u64, 100),
            Some(&mut sink),
        );
        let i = runner.file("a", "/f", "/", LogFormat::Whole);
        let item = runner.items[i].clone();
        drop(runner);
        assert!(item.truncated);
        assert_eq!(sink.entries["hosts/S/files/f"], b"x\ny\n");
        let slice = item.slice.expect("slice");
        assert_eq!(slice.first_line, Some(2));
        assert_eq!(&text[slice.start_offset as usize..], "x\ny\n");
    }

    #[test]
    fn a_tail_capped_small_file_counts_the_lines_it_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text: String = (1..=50).map(|n| format!("line {n:02}\n")).collect();
        std::fs::write(dir.path().join("vm.log"), &text).expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(1 << 20, 40),
            Some(&mut sink),
        );
        let i = runner.file("vm.log", "/vm.log", "/", LogFormat::Whole);
        let item = runner.items[i].clone();
        drop(runner);
        let stored = String::from_utf8(sink.entries["hosts/S/files/vm.log"].clone()).expect("utf8");
        assert!(item.truncated && !stored.is_empty());
        let slice = item.slice.expect("slice");
        assert_eq!(&text[slice.start_offset as usize..], stored);
        for (n, line) in stored.lines().enumerate() {
            let original = original_line_of(&item, n as u64 + 1);
            assert_eq!(text.lines().nth(original as usize - 1), Some(line));
        }
    }

    #[test]
    fn a_file_growing_or_shrinking_while_read_gives_what_it_held_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("growing.log");
        std::fs::write(&path, "line 1\nline 2\n").expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let size = file.metadata().expect("meta").len();
        // The writer goes on after the open.
        std::fs::write(&path, "line 1\nline 2\nline 3 written later\n").expect("append");
        let read = read_tail(file, size, "/growing.log", 1 << 20).expect("read");
        assert_eq!(read.data, b"line 1\nline 2\n");
        assert_eq!(read.original, size);
        assert!(!read.truncated);

        // Cut short (copytruncate) after the open: what is left, no error, no panic.
        let file = std::fs::File::open(&path).expect("open");
        let size = file.metadata().expect("meta").len();
        std::fs::write(&path, "").expect("truncate");
        let read = read_tail(file, size, "/growing.log", 1 << 20).expect("read");
        assert!(read.data.is_empty());

        // Removed after the open: the open file is still read whole.
        std::fs::write(&path, "kept\n").expect("write");
        let file = std::fs::File::open(&path).expect("open");
        std::fs::remove_file(&path).expect("rm");
        let read = read_tail(file, 5, "/growing.log", 1 << 20).expect("read");
        assert_eq!(read.data, b"kept\n");
    }

    #[test]
    fn commands_time_out_and_are_recorded() {
        let mut sink = MemorySink::default();
        let mut runner = Runner::new("/".into(), "S".into(), limits(1000, 1000), Some(&mut sink));
        let argv: Vec<String> = ["/bin/sh", "-c", "echo part; sleep 20"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (i, _) = runner.command("slow", "slow", &argv, None, &[]);
        let item = runner.items[i].clone();
        assert!(item.timed_out);
        assert!(is_failure(&item));
        assert_eq!(item.path.as_deref(), Some("hosts/S/commands/slow.out"));
        let argv: Vec<String> = [
            "/bin/sh",
            "-c",
            "echo 'No such zone configured' >&2; exit 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (j, _) = runner.command("vmadm.get", "vmadm-get-x", &argv, None, &["No such zone"]);
        assert!(runner.items[j]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(NOT_FOUND)));
    }

    #[test]
    fn total_cap_and_deadline_stop_collection() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), "0123456789").expect("write");
        let mut sink = MemorySink::default();
        let mut runner = Runner::new(
            dir.path().into(),
            "S".into(),
            limits(10, 100),
            Some(&mut sink),
        );
        runner.file("a", "/f", "/", LogFormat::Whole);
        let i = runner.file("b", "/f", "/", LogFormat::Whole);
        assert!(runner.items[i]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("total size cap")));
        let mut l = limits(100, 100);
        l.deadline = Instant::now();
        let mut runner = Runner::new(dir.path().into(), "S".into(), l, None);
        let i = runner.file("a", "/f", "/", LogFormat::Whole);
        assert!(runner.items[i]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("deadline")));
    }
}
