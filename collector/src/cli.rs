//! The command line, exactly as a support ticket tells a customer to type it.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use crate::size::parse_size;
use crate::timespec::TimeSpec;

/// Exit status: the bundle holds everything that was looked for.
pub const EXIT_COMPLETE: i32 = 0;
/// Exit status: a bundle was written, but the manifest lists things that could not be collected.
pub const EXIT_INCOMPLETE: i32 = 1;
/// Exit status: the command line was wrong (clap uses the same value).
pub const EXIT_USAGE: i32 = 2;
/// Exit status: no bundle could be written at all.
pub const EXIT_NO_BUNDLE: i32 = 3;

const AFTER_HELP: &str = "\
Without --vm or --job, every failed provision job of the last 24 hours is collected.

Run it as root on the headnode; it ships itself to the compute nodes involved (sdc-oneachnode),
collects there and merges everything into one bundle. On a compute node (no sdc-vmapi) it
collects that node only. Nothing is written anywhere but the output (and, during the fan-out,
this run's files in /var/tmp on each compute node, removed afterwards).

It runs at the lowest CPU priority (nice 19; on Linux also the lowest best-effort I/O priority;
illumos has no per-process I/O priority, so reads are kept bounded instead). It leaves free on
the output file system 5% of its size or 512 MiB, whichever is less: when space runs short, it
stops collecting and finishes the bundle marked incomplete, saying where space ran out.

Progress goes to stderr: a live line (source, files and bytes so far, elapsed time) on a
terminal, plain lines otherwise, only errors and the summary with -q.

Exit status (--upload does not change it):
  0  bundle written and complete
  1  bundle written but incomplete (manifest.json says what is missing and why)
  2  usage error
  3  no bundle could be written

Examples:
  triton-collect --vm 8f1f3c9e-2a5b-4c1d-9e0f-123456789abc
  triton-collect --vm 8f1f3c9e-2a5b-4c1d-9e0f-123456789abc --upload --ticket SUP-1234
  triton-collect --job 3c1a8d2e-7f4b-4e9a-b0c6-0d9e8f7a6b5c --cn none --last 2h
  triton-collect --vm 8f1f3c9e-2a5b-4c1d-9e0f-123456789abc --dry-run

Shell completions and the man page:
  triton-collect completions bash > /etc/bash_completion.d/triton-collect
  triton-collect man > triton-collect.1";

fn version() -> String {
    triton_clidoc::version_text(
        env!("CARGO_PKG_VERSION"),
        &triton_bundle::format::current_version(),
    )
}

/// Which compute nodes to fan out to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CnSelection {
    /// The servers of the jobs and VMs in scope.
    Auto,
    /// Headnode only.
    None,
    /// Exactly these server uuids.
    Listed(Vec<String>),
}

fn parse_cn(text: &str) -> Result<CnSelection, String> {
    match text {
        "auto" => Ok(CnSelection::Auto),
        "none" => Ok(CnSelection::None),
        list => {
            let uuids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_uuid)
                .collect::<Result<_, _>>()?;
            if uuids.is_empty() {
                return Err("expected auto, none or a comma-separated list of server uuids".into());
            }
            Ok(CnSelection::Listed(uuids))
        }
    }
}

/// Accepts a UUID in its canonical 8-4-4-4-12 form and returns it lower-cased.
pub fn parse_uuid(text: &str) -> Result<String, String> {
    if crate::ids::is_uuid(text) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{text}` is not a UUID (expected 8-4-4-4-12 hex digits)"
        ))
    }
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    parse_size(text)
}

fn parse_time_arg(text: &str) -> Result<TimeSpec, String> {
    TimeSpec::parse(text)
}

/// A support ticket id as `sdc-sbupload -I` puts it into a file name: letters, digits, `.`,
/// `_`, `-`.
fn parse_ticket(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a ticket id (letters, digits, '.', '_' and '-' only)"
        ))
    }
}

fn parse_duration_arg(text: &str) -> Result<jiff::SignedDuration, String> {
    crate::timespec::parse_relative(text)
}

/// Collects what a failed Triton provision left behind (jobs, API objects, core-zone and
/// compute-node logs, command output) into one support bundle.
#[derive(Debug, Clone, Parser)]
#[command(name = "triton-collect", version = version(), after_help = AFTER_HELP)]
pub struct Cli {
    /// Collect this VM: its jobs (each in full from workflow), the VM, its server, its image and
    /// the CNAPI tasks the jobs reference. Repeatable.
    #[arg(long = "vm", value_name = "UUID", value_parser = parse_uuid)]
    pub vms: Vec<String>,

    /// Collect this job (and its VM, server, image, tasks). Repeatable.
    #[arg(long = "job", value_name = "UUID", value_parser = parse_uuid)]
    pub jobs: Vec<String>,

    /// Start of the time window: RFC 3339 (2024-01-18T04:00:00Z) or relative to now (2h, 90m,
    /// 1d). Default: derived from the jobs (created_at - 15 min).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub since: Option<TimeSpec>,

    /// End of the time window (same forms as --since). Default: derived from the jobs
    /// (created_at + elapsed + 15 min), or now.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub until: Option<TimeSpec>,

    /// Time window ending now, e.g. 2h or 1d (instead of --since/--until).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg,
          conflicts_with_all = ["since", "until"])]
    pub last: Option<jiff::SignedDuration>,

    /// Bundle to write (a directory: the default name inside it). Default:
    /// /var/tmp/triton-bundle-<hostname>-<UTC stamp>.tar.gz; a .sha256 file is written beside it.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Prefix for every file path read (production: /).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/",
        env = "TRITON_COLLECT_ROOT"
    )]
    pub root: PathBuf,

    /// Compute nodes to collect from: auto (the servers of the jobs and VMs), none (headnode
    /// only), or a comma-separated list of server uuids.
    #[arg(long, value_name = "auto|none|UUID,...", default_value = "auto", value_parser = parse_cn)]
    pub cn: CnSelection,

    /// Total size cap of the bundle's content (e.g. 1GiB, 500M).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size_arg)]
    pub max_bytes: u64,

    /// Size cap per file or command output; a longer file keeps its tail.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size_arg)]
    pub max_file_bytes: u64,

    /// Seconds a command may run before its process group is killed (partial output is kept).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub command_timeout: u64,

    /// Seconds for the whole collection; what is left when it expires is recorded as not
    /// collected.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub deadline: u64,

    /// Keep passwords, tokens and private keys instead of redacting them (recorded in the
    /// manifest).
    #[arg(long)]
    pub no_redact: bool,

    /// After writing the bundle, send it to Triton support with Triton's own `sdc-sbupload -t
    /// triton-support` (which encrypts it, writing the encrypted copy beside the bundle, and
    /// uploads it to the headnode's configured sbapi_url); says so when the tool is not on PATH.
    /// The bundle stays where it was written. (Not with --dry-run or --list-sources, which write
    /// no bundle.)
    #[arg(long, conflicts_with_all = ["dry_run", "list_sources"])]
    pub upload: bool,

    /// Support ticket to file the upload under (`sdc-sbupload -I`).
    #[arg(long, value_name = "ID", requires = "upload", value_parser = parse_ticket)]
    pub ticket: Option<String>,

    /// Proxy for the upload (`sdc-sbupload -p`, a curl --proxy URL).
    #[arg(long, value_name = "URL", requires = "upload")]
    pub upload_proxy: Option<String>,

    /// Print every source, whether it applies on this host and why, then exit.
    #[arg(long)]
    pub list_sources: bool,

    /// Print the plan (files with sizes, commands) without collecting anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Only print errors and the final summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print one line per collected item too.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Collect this host as a compute node (used by the headnode's fan-out).
    #[arg(long, hide = true)]
    pub cn_mode: bool,

    /// Bytes to keep free on the output file system, instead of 5% of it or 512 MiB. Also read
    /// from TRITON_COLLECT_MIN_FREE_BYTES, which a simulated datacenter's `env.sh` sets: its
    /// "headnode" writes to the developer's own disk, not a production zones pool.
    #[arg(
        long,
        value_name = "SIZE",
        hide = true,
        env = "TRITON_COLLECT_MIN_FREE_BYTES",
        value_parser = parse_size_arg
    )]
    pub min_free_bytes: Option<u64>,

    /// Take the output file system to have SIZE free at the start, less what the bundle
    /// stores, instead of measuring it (exercises running short of space without a full disk).
    #[arg(long, value_name = "SIZE", hide = true, value_parser = parse_size_arg)]
    pub assume_free_bytes: Option<u64>,

    /// Image uuids of the VMs in scope (passed by the headnode's fan-out, because a compute node
    /// cannot ask IMGAPI).
    #[arg(long = "image", hide = true, value_parser = parse_uuid)]
    pub images: Vec<String>,
}

impl Cli {
    /// The arguments this process was started with, for the manifest.
    pub fn argv() -> Vec<String> {
        std::env::args().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_documented_flags() {
        let cli = Cli::try_parse_from([
            "triton-collect",
            "--vm",
            "8F1F3C9E-2A5B-4C1D-9E0F-123456789ABC",
            "--cn",
            "none",
            "--max-file-bytes",
            "1MiB",
            "--last",
            "2h",
        ])
        .expect("valid command line");
        assert_eq!(cli.vms, vec!["8f1f3c9e-2a5b-4c1d-9e0f-123456789abc"]);
        assert_eq!(cli.cn, CnSelection::None);
        assert_eq!(cli.max_file_bytes, 1 << 20);
        assert_eq!(cli.last, Some(jiff::SignedDuration::from_hours(2)));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Cli::try_parse_from(["triton-collect", "--vm", "not-a-uuid"]).is_err());
        assert!(Cli::try_parse_from(["triton-collect", "--last", "2h", "--since", "1h"]).is_err());
        assert!(Cli::try_parse_from(["triton-collect", "--cn", "x,y"]).is_err());
        assert!(Cli::try_parse_from(["triton-collect", "--ticket", "SUP-1"]).is_err());
        assert!(Cli::try_parse_from(["triton-collect", "--upload", "--ticket", "a/b"]).is_err());
        let cli = Cli::try_parse_from(["triton-collect", "--upload", "--ticket", "SUP-1"])
            .expect("upload with ticket");
        assert!(cli.upload && cli.ticket.as_deref() == Some("SUP-1"));
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("3  no bundle could be written"), "{help}");
        for hidden in ["cn-mode", "min-free-bytes", "assume-free-bytes"] {
            assert!(!help.contains(hidden), "hidden flag {hidden} shown: {help}");
        }
        assert!(
            help.contains("512 MiB") && help.contains("nice 19"),
            "{help}"
        );
    }
}
