//! The `logs` command: a bunyan-compatible log view with time windows, id joins and merging.

mod args;
mod filter;
mod pager;
mod parallel;
mod sources;
mod view;

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};

use jiff::{tz::TimeZone, SignedDuration, Timestamp};

pub use args::LogsArgs;
pub use filter::{parse_level, Filters};

use crate::bundle_input::LogSelection;
use crate::input::{self, BoxedInput, InputSpec};
use crate::lines::LineReader;
use crate::merge::{MergeEvent, MergeInput, MergeReader};
use crate::reader::LogReader;
use crate::render::{OutputMode, OutputSpec, RenderOptions};
use crate::seek;
use crate::time::parse_time_bound;
use view::View;

const PROG: &str = "logs";

/// Runs `logs` with `args` (the arguments after `logs`, without a program name) and returns the
/// exit status: 0 on success (also when the reader of the output went away), 1 for bad usage,
/// else the number of inputs that could not be read, as the bunyan CLI counts them.
pub fn logs_main(args: &[OsString]) -> i32 {
    let parsed = match LogsArgs::parse_from_args(args) {
        Ok(parsed) => parsed,
        Err(err) => {
            let code = if err.use_stderr() { 1 } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    if let Err(message) = crate::select_json_validator(&parsed.json_validator) {
        eprintln!("{PROG}: error: {message}");
        return 1;
    }
    let settings = match Settings::from_args(&parsed) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{PROG}: error: {message}");
            return 1;
        }
    };
    run(&parsed, settings)
}

/// Options resolved from the command line.
struct Settings {
    render: RenderOptions,
    filters: Filters,
    /// Colors were asked for; bunyan then ends its output with an ANSI reset.
    color: bool,
}

impl Settings {
    fn from_args(args: &LogsArgs) -> Result<Settings, String> {
        let output = match (&args.output, args.json, args.bunyan) {
            (Some(text), _, _) => OutputSpec::parse(text)?,
            (None, true, _) => OutputSpec::parse("json")?,
            (None, false, true) => OutputSpec::parse("bunyan")?,
            (None, false, false) => OutputSpec::parse("long")?,
        };
        let local = match args.time.as_deref() {
            None => args.local,
            Some("utc") => false,
            Some("local") => true,
            Some(other) => return Err(format!("invalid time format: \"{other}\"")),
        };
        let color = if args.no_color {
            false
        } else if args.color {
            true
        } else {
            let disabled = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
            io::stdout().is_terminal() && !disabled("BUNYAN_NO_COLOR") && !disabled("NO_COLOR")
        };
        let now = Timestamp::now();
        let bound = |text: &Option<String>| -> Result<Option<Timestamp>, String> {
            text.as_deref()
                .map(|t| parse_time_bound(t, now))
                .transpose()
        };
        let mut fields = Vec::new();
        for pair in &args.fields {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--field wants KEY=VALUE, got \"{pair}\""))?;
            fields.push((key.to_string(), value.to_string()));
        }
        let mentions = [&args.req_id, &args.vm, &args.job]
            .into_iter()
            .flatten()
            .map(|id| id.as_bytes().to_vec())
            .collect();
        let filters = Filters {
            min_level: args.level.as_deref().map(parse_level).transpose()?,
            since: bound(&args.since)?,
            until: bound(&args.until)?,
            mentions,
            fields,
            grep: args.grep.clone(),
        };
        Ok(Settings {
            render: RenderOptions {
                output,
                color: color && output.mode != OutputMode::Inspect,
                local_time: local.then(TimeZone::system),
            },
            filters,
            color,
        })
    }
}

/// Where to start reading an input: near `since` in a plain file (found by bisection), else 0.
fn start_offset(spec: &InputSpec, since: Option<Timestamp>) -> io::Result<u64> {
    match (spec, since) {
        (InputSpec::File(path), Some(since)) => seek::start_offset_for(path, since),
        _ => Ok(0),
    }
}

/// Opens one input at `offset` (from [`start_offset`]; gzip input is always read from 0).
fn open_reader(spec: &InputSpec, offset: u64, cap: usize) -> io::Result<LogReader<BoxedInput>> {
    let (lines, after_seek) = open_lines(spec, offset, cap)?;
    let mut reader = LogReader::from_lines(lines);
    if after_seek {
        reader.assume_record_seen();
    }
    Ok(reader)
}

/// The lines of one input from `offset`, and whether it was entered after a seek (its first
/// lines then follow a record).
fn open_lines(
    spec: &InputSpec,
    offset: u64,
    cap: usize,
) -> io::Result<(LineReader<BoxedInput>, bool)> {
    if let (InputSpec::File(path), true) = (spec, offset > 0) {
        if let Some(plain) = input::open_plain_at(path, offset)? {
            let mut lines = LineReader::with_cap(plain, cap);
            lines.set_offset(offset);
            return Ok((lines, true));
        }
    }
    Ok((LineReader::with_cap(input::open_input(spec)?, cap), false))
}

/// Threads for the one-input fast path: `--threads`, else one per core.
fn threads(args: &LogsArgs) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Records this much later than `--until` end the reading of a (time-ordered) input.
const UNTIL_SLACK: SignedDuration = SignedDuration::from_secs(300);

/// How far into a file to look for its first record when planning the merge.
const FIRST_RECORD_SCAN: u64 = 16 * 1024 * 1024;

/// Plans one input of the merge. Files are opened once to find the time of their first record,
/// then closed until the merged stream gets there; a file that starts after `until` is left out.
/// stdin is read from the start.
fn merge_input(
    spec: InputSpec,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    cap: usize,
) -> io::Result<Option<MergeInput<BoxedInput>>> {
    if spec == InputSpec::Stdin {
        let reader = open_reader(&spec, 0, cap)?;
        return Ok(Some(MergeInput::Open(Box::new(reader))));
    }
    let offset = start_offset(&spec, since)?;
    let mut probe = open_reader(&spec, offset, cap)?;
    let start = probe.offset();
    let mut first_time = Timestamp::MIN;
    while probe.advance()? {
        if let Some(record) = probe.current().and_then(|line| line.record) {
            first_time = record.time().unwrap_or(Timestamp::MIN);
            break;
        }
        if probe.offset() - start > FIRST_RECORD_SCAN {
            break;
        }
    }
    drop(probe);
    if until.is_some_and(|until| first_time > until) {
        return Ok(None);
    }
    Ok(Some(MergeInput::Deferred {
        first_time,
        open: Box::new(move || open_reader(&spec, offset, cap)),
    }))
}

fn run(args: &LogsArgs, settings: Settings) -> i32 {
    let paths = if args.paths.is_empty() {
        vec!["-".into()]
    } else {
        args.paths.clone()
    };
    let selection = LogSelection {
        host: args.host.clone(),
        source: args.source.clone(),
    };
    if args.list {
        return sources::list(&paths, &selection, &mut io::stdout().lock());
    }
    let resolved = sources::resolve(&paths, &selection, args.spool_cap);
    let mut failures = resolved.failures;
    // The spooled copies of bundle entries are read until the end of the merge.
    let _spool = resolved.spool;
    let (since, until) = (settings.filters.since, settings.filters.until);
    // One input and no `--context`: classify and render on every core.
    let single = resolved.inputs.len() == 1 && args.context == 0 && threads(args) > 1;
    let mut names = Vec::new();
    let mut inputs = Vec::new();
    let mut lone = None;
    for sources::NamedInput { spec, name } in resolved.inputs {
        if single {
            match start_offset(&spec, since).and_then(|at| open_lines(&spec, at, args.line_cap)) {
                Ok(opened) => lone = Some(opened),
                Err(err) => {
                    eprintln!("{PROG}: {name}: {err}");
                    failures += 1;
                }
            }
            names.push(name);
            continue;
        }
        match merge_input(spec, since, until, args.line_cap) {
            Ok(Some(input)) => {
                names.push(name);
                inputs.push(input);
            }
            Ok(None) => {}
            Err(err) => {
                eprintln!("{PROG}: {name}: {err}");
                failures += 1;
            }
        }
    }

    let mut pager = None;
    let sink: Box<dyn Write> = if pager::wanted(args.pager, args.no_pager, !args.paths.is_empty()) {
        match pager::Pager::start() {
            Ok((started, stdin)) => {
                pager = Some(started);
                Box::new(stdin)
            }
            Err(_) => Box::new(io::stdout().lock()),
        }
    } else {
        Box::new(io::stdout().lock())
    };
    let mut out = io::BufWriter::with_capacity(128 * 1024, sink);
    let color = settings.color;
    let stop_after = until.and_then(|until| until.checked_add(UNTIL_SLACK).ok());
    let result = if let Some((lines, after_seek)) = lone {
        let plan = parallel::Plan {
            render: settings.render,
            filters: settings.filters,
            strict: args.strict,
            after_seek,
            stop_after,
            threads: threads(args),
            batch_bytes: args.batch_bytes,
        };
        parallel::run(
            lines,
            &names[0],
            args.line_cap,
            &plan,
            &mut out,
            &mut failures,
        )
        .and_then(|()| finish(&mut out, color))
    } else {
        let mut view = View::new(
            &mut out,
            settings.render,
            settings.filters,
            args.strict,
            args.context,
        );
        let mut merge = MergeReader::with_inputs(inputs);
        merge.stop_after(stop_after);
        pump(&mut merge, &mut view, &names, args.line_cap, &mut failures)
            .and_then(|()| view.finish(color))
    };
    // Closing the pipe lets the pager see the end of its input.
    drop(out);
    let pager_status = pager.map_or(0, pager::Pager::wait);
    match result {
        Ok(()) if pager_status != 0 => pager_status,
        Ok(()) => failures,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(err) => {
            eprintln!("{PROG}: error writing output: {err}");
            1
        }
    }
}

/// Ends the output as [`View::finish`] does.
fn finish<W: Write>(out: &mut W, ansi_reset: bool) -> io::Result<()> {
    if ansi_reset {
        out.write_all(b"\x1b[0m")?;
    }
    out.flush()
}

fn pump<R: BufRead, W: Write>(
    merge: &mut MergeReader<R>,
    view: &mut View<W>,
    names: &[String],
    cap: usize,
    failures: &mut i32,
) -> io::Result<()> {
    while let Some(event) = merge.next_event() {
        match event {
            MergeEvent::Line { source, line } => {
                if line.info.cut_bytes > 0 {
                    eprintln!(
                        "{PROG}: {}:{}: line longer than {cap} bytes cut ({} bytes dropped)",
                        names[source], line.info.number, line.info.cut_bytes
                    );
                }
                view.line(&line)?;
            }
            MergeEvent::Error { source, error } => {
                eprintln!("{PROG}: {}: {error}", names[source]);
                *failures += 1;
            }
        }
    }
    Ok(())
}
