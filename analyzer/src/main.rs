//! `triton-analyze [OPTIONS] PATH...`: why did each VM provision in these bundles fail?

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use triton_analyze::report::{self, Format, Scope};
use triton_analyze::{analyze, rules, Options};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Markdown,
    Json,
    /// One self-contained HTML file (inline CSS and SVG, no external asset).
    Html,
}

/// Reads triton-collect bundles (or hand-gathered files and directories) and reports, for each
/// VM provision, how far it got, why it failed, what proves it and what to do next.
#[derive(Debug, Parser)]
#[command(
    name = "triton-analyze",
    version = version(),
    after_help = "Log view: `triton-analyze logs [OPTIONS] PATH...` prints bunyan logs exactly as the \
                  bunyan CLI does, with time windows, request-id/VM/job filters and several files \
                  merged in time order (`triton-analyze logs --help`).\n\n\
                  Exit status: 0 report written, 2 usage error, 3 no readable input.\n\n\
                  Examples:\n  \
                  triton-analyze bundle.tar.gz -o report.md\n  \
                  triton-analyze ticket-1234/*.tar.gz --vm <uuid> --format json\n  \
                  triton-analyze --explain kvm-qemu-out-of-memory bundle.tar.gz\n  \
                  triton-analyze logs -l error --req-id <id> bundle.tar.gz\n\n\
                  Shell completions and the man page: `triton-analyze completions bash`, \
                  `triton-analyze man`."
)]
struct Cli {
    /// Bundles (.tar.gz, .tgz, .tar, .zip), directories or single files.
    #[arg(value_name = "PATH", required_unless_present = "explain")]
    paths: Vec<PathBuf>,

    /// Write the report here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    #[arg(long, value_enum, default_value = "markdown")]
    format: FormatArg,

    /// Only this VM.
    #[arg(long, value_name = "UUID")]
    vm: Option<String>,

    /// Only this job.
    #[arg(long, value_name = "UUID")]
    job: Option<String>,

    /// Threads for reading inputs (default: all cores).
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 0)]
    threads: usize,

    /// Print nothing but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,

    /// Print progress and input warnings on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Explain a diagnosis key: what the rule looks for and, with PATHs, why it did or did not
    /// fire for each provision.
    #[arg(long, value_name = "KEY")]
    explain: Option<String>,
}

fn explain(key: &str, analysis: Option<&triton_analyze::Analysis>) -> Result<String, String> {
    let rule = rules::find(key).ok_or_else(|| {
        let keys: Vec<&str> = rules::all().iter().map(|r| r.key).collect();
        format!(
            "unknown diagnosis key {key:?}; known keys: {}",
            keys.join(", ")
        )
    })?;
    let mut out = format!(
        "{}: {}\n\nLooks for: {}\n\nReads: {}\n",
        rule.key,
        rule.title,
        rule.looks_for
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        rule.inputs.join("; ")
    );
    if let Some(a) = analysis {
        out.push_str("\nIn this input:\n");
        if a.report.provisions.is_empty() {
            out.push_str("  no provision found\n");
        }
        for p in &a.report.provisions {
            let why = p
                .trace
                .iter()
                .find(|(k, _)| *k == rule.key)
                .map(|(_, why)| why.clone())
                .unwrap_or_else(|| {
                    if p.diagnosis.key == rule.key {
                        "fired".to_string()
                    } else {
                        "not evaluated: another rule explains this provision".to_string()
                    }
                });
            out.push_str(&format!(
                "  {} (vm {}): {}\n",
                p.id,
                p.vm_uuid.as_deref().unwrap_or("?"),
                why
            ));
        }
    }
    Ok(out)
}

fn version() -> String {
    triton_clidoc::version_text(
        env!("CARGO_PKG_VERSION"),
        &triton_bundle::format::current_version(),
    )
}

/// The whole command line, `logs` included, for completions and the man page.
fn command_with_logs() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().subcommand(
        <triton_logs::LogsArgs as CommandFactory>::command()
            .name("logs")
            .about("Filter and pretty-print bunyan logs (bunyan-compatible), with time windows and id joins"),
    )
}

fn main() -> ExitCode {
    triton_clidoc::install_panic_hook("triton-analyze");
    // `triton-analyze logs ...` is the bunyan-compatible log view; everything after `logs` belongs
    // to it. (A bundle that happens to be named `logs` can be given as `./logs`.)
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "logs") {
        let status = triton_logs::logs_main(&args[2..]);
        return ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    if let Some(status) = triton_clidoc::dispatch(&args[1.min(args.len())..], command_with_logs) {
        return ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    let cli = Cli::parse();
    if cli.paths.is_empty() {
        // --explain without inputs.
        return match explain(cli.explain.as_deref().unwrap_or(""), None) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("triton-analyze: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(key) = &cli.explain {
        if rules::find(key).is_none() {
            let _ = explain(key, None).map_err(|e| eprintln!("triton-analyze: {e}"));
            return ExitCode::from(2);
        }
    }
    let options = Options {
        inputs: cli.paths.clone(),
        scope: Scope {
            vm: cli.vm.as_ref().map(|s| s.to_ascii_lowercase()),
            job: cli.job.as_ref().map(|s| s.to_ascii_lowercase()),
        },
        threads: cli.threads,
    };
    let analysis = match analyze(&options) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("triton-analyze: {e:#}");
            return ExitCode::from(1);
        }
    };
    for bad in &analysis.unreadable {
        if !cli.quiet {
            eprintln!("triton-analyze: cannot read {}: {}", bad.input, bad.reason);
        }
    }
    if cli.verbose > 0 {
        for input in &analysis.report.inputs {
            eprintln!(
                "triton-analyze: {}: {} ({} entries)",
                input.name, input.kind, input.entries
            );
            for w in &input.warnings {
                eprintln!("triton-analyze:   {w}");
            }
        }
    }
    if analysis.unreadable.len() == cli.paths.len() {
        eprintln!("triton-analyze: no readable input");
        return ExitCode::from(3);
    }
    let text = match &cli.explain {
        Some(key) => match explain(key, Some(&analysis)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("triton-analyze: {e}");
                return ExitCode::from(2);
            }
        },
        None => report::render(
            &analysis.report,
            match cli.format {
                FormatArg::Markdown => Format::Markdown,
                FormatArg::Json => Format::Json,
                FormatArg::Html => Format::Html,
            },
        ),
    };
    let written = match &cli.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the report: {e}")),
    };
    if let Err(e) = written {
        eprintln!("triton-analyze: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
