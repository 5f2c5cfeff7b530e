//! Turning command-line PATHs into named inputs: logs, directories of logs, stdin, and the
//! selected logs inside bundles (see [`crate::bundle_input`]).

use std::io::{self, Write};
use std::path::PathBuf;

use crate::bundle_input::{bundle_logs, open_bundle, BundleLog, LogSelection, Spool};
use crate::input::{self, InputSpec};

/// An input and the name used for it in messages (`bundle.tar.gz:hosts/<uuid>/files/...` for a
/// bundle entry).
pub struct NamedInput {
    pub spec: InputSpec,
    pub name: String,
}

/// The inputs of a run. `spool` holds copies of archive entries and must outlive the reading.
pub struct Resolved {
    pub inputs: Vec<NamedInput>,
    pub spool: Option<Spool>,
    /// Inputs that could not be read at all (counted in the exit status).
    pub failures: i32,
}

/// Expands `paths` in order; `spool_cap` bounds what archives may copy out.
pub fn resolve(paths: &[PathBuf], selection: &LogSelection, spool_cap: u64) -> Resolved {
    let mut resolved = Resolved {
        inputs: Vec::new(),
        spool: None,
        failures: 0,
    };
    for path in paths {
        let bundle = (path.as_os_str() != "-")
            .then(|| open_bundle(path))
            .flatten();
        let Some(mut bundle) = bundle else {
            let (specs, walk_errors) = input::expand_inputs(std::slice::from_ref(path));
            for (at, err) in walk_errors {
                eprintln!("{}: {}: {err}", super::PROG, at.display());
                resolved.failures += 1;
            }
            resolved
                .inputs
                .extend(specs.into_iter().map(|spec| NamedInput {
                    name: spec.display_name(),
                    spec,
                }));
            continue;
        };
        if resolved.spool.is_none() {
            match Spool::new(spool_cap) {
                Ok(spool) => resolved.spool = Some(spool),
                Err(err) => {
                    eprintln!(
                        "{}: cannot create a temporary directory: {err}",
                        super::PROG
                    );
                    resolved.failures += 1;
                    continue;
                }
            }
        }
        match bundle_logs(&mut bundle, selection, resolved.spool.as_mut()) {
            Ok(found) => {
                report_problems(&path.display().to_string(), &found.warnings, &found.error);
                if found.error.is_some() {
                    resolved.failures += 1;
                }
                for log in found.logs {
                    if let Some(file) = log.file {
                        resolved.inputs.push(NamedInput {
                            spec: InputSpec::File(file),
                            name: format!("{}:{}", path.display(), log.info.entry),
                        });
                    }
                }
            }
            Err(message) => {
                eprintln!("{}: {message}", super::PROG);
                resolved.failures += 1;
            }
        }
    }
    resolved
}

fn report_problems(input: &str, warnings: &[String], error: &Option<String>) {
    for warning in warnings {
        eprintln!("{}: {input}: warning: {warning}", super::PROG);
    }
    if let Some(error) = error {
        eprintln!("{}: {error}", super::PROG);
    }
}

/// `--list`: one line per log (host uuid, hostname, source, size, path; `-` when unknown),
/// plain log files included. Returns the exit status.
pub fn list(paths: &[PathBuf], selection: &LogSelection, out: &mut dyn Write) -> i32 {
    let mut failures = 0;
    let mut rows: Vec<[String; 5]> = Vec::new();
    for path in paths {
        let bundle = (path.as_os_str() != "-")
            .then(|| open_bundle(path))
            .flatten();
        let Some(mut bundle) = bundle else {
            let (specs, walk_errors) = input::expand_inputs(std::slice::from_ref(path));
            for (at, err) in walk_errors {
                eprintln!("{}: {}: {err}", super::PROG, at.display());
                failures += 1;
            }
            for spec in specs {
                let size = match &spec {
                    InputSpec::File(file) => std::fs::metadata(file).map(|m| m.len()),
                    InputSpec::Stdin => continue,
                };
                match size {
                    Ok(size) => rows.push(dashes(None, None, None, size, spec.display_name())),
                    Err(err) => {
                        eprintln!("{}: {}: {err}", super::PROG, spec.display_name());
                        failures += 1;
                    }
                }
            }
            continue;
        };
        match bundle_logs(&mut bundle, selection, None) {
            Ok(found) => {
                report_problems(&path.display().to_string(), &found.warnings, &found.error);
                failures += i32::from(found.error.is_some());
                rows.extend(found.logs.into_iter().map(|BundleLog { info, .. }| {
                    let name = format!("{}:{}", path.display(), info.entry);
                    dashes(info.host, info.hostname, info.source, info.size, name)
                }));
            }
            Err(message) => {
                eprintln!("{}: {message}", super::PROG);
                failures += 1;
            }
        }
    }
    match write_table(&rows, out) {
        Ok(()) => failures,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(err) => {
            eprintln!("{}: error writing output: {err}", super::PROG);
            1
        }
    }
}

fn dashes(
    host: Option<String>,
    hostname: Option<String>,
    source: Option<String>,
    size: u64,
    path: String,
) -> [String; 5] {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    [
        or_dash(host),
        or_dash(hostname),
        or_dash(source),
        size.to_string(),
        path,
    ]
}

fn write_table(rows: &[[String; 5]], out: &mut dyn Write) -> io::Result<()> {
    let header = ["HOST", "HOSTNAME", "SOURCE", "SIZE", "PATH"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 3 {
                line.push_str(&format!("{cell:>w$}  ", w = widths[3]));
            } else if i < 3 {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        writeln!(out, "{line}")?;
    }
    out.flush()
}
