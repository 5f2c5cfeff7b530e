//! Command-line options of `logs`: the bunyan CLI's options plus time, id and text filters.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Parser};

#[derive(Debug, Parser)]
#[command(
    name = "triton-analyze logs",
    about = "Filter and pretty-print bunyan logs (bunyan-compatible output), with time windows, \
             request-id joins and merging of several logs by time.",
    disable_version_flag = true
)]
pub struct LogsArgs {
    /// Log files, .gz files, directories (every *.log* file below), bundles (triton-collect
    /// bundles, tar, tar.gz or zip archives, unpacked bundles) or `-` for stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Only show records at or above this level (trace, debug, info, warn, error, fatal, or a
    /// number).
    #[arg(
        short = 'l',
        long = "level",
        value_name = "LEVEL",
        overrides_with = "level"
    )]
    pub level: Option<String>,

    /// Output format: long (default), short, simple, json, json-N, bunyan, inspect.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "MODE",
        overrides_with = "output"
    )]
    pub output: Option<String>,

    /// Shortcut for `-o json`.
    #[arg(short = 'j', action = ArgAction::SetTrue)]
    pub json: bool,

    /// Shortcut for `-o bunyan`.
    #[arg(short = '0', action = ArgAction::SetTrue)]
    pub bunyan: bool,

    /// Suppress all but valid bunyan records (non-record lines are shown by default).
    #[arg(long)]
    pub strict: bool,

    /// Colorize output (default: when stdout is a terminal).
    #[arg(long, overrides_with = "no_color")]
    pub color: bool,

    /// Never colorize output.
    #[arg(long = "no-color", overrides_with = "color")]
    pub no_color: bool,

    /// Show times in local time (same as `--time local`).
    #[arg(short = 'L', action = ArgAction::SetTrue)]
    pub local: bool,

    /// Time zone of displayed times: utc (default) or local.
    #[arg(long = "time", value_name = "utc|local", overrides_with = "time")]
    pub time: Option<String>,

    /// Page output through $PAGER or `less` (the default on a terminal, unless
    /// BUNYAN_NO_PAGER is set).
    #[arg(long, overrides_with = "no_pager")]
    pub pager: bool,

    /// Do not page output.
    #[arg(long = "no-pager", overrides_with = "pager")]
    pub no_pager: bool,

    /// Only records at or after this time: RFC 3339 (2024-05-01T10:00:00Z) or a span back from
    /// now (90s, 15m, 2h, 3d, 1w).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only records at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only records that carry this request id (req_id, x-request-id, anywhere in the record).
    #[arg(long = "req-id", value_name = "ID")]
    pub req_id: Option<String>,

    /// Only records that mention this VM UUID.
    #[arg(long = "vm", value_name = "UUID")]
    pub vm: Option<String>,

    /// Only records that mention this workflow job UUID.
    #[arg(long = "job", value_name = "UUID")]
    pub job: Option<String>,

    /// Only records whose field KEY equals VALUE (KEY may be dotted: req.method). Repeatable.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,

    /// Only records whose line or message contains TEXT. Repeatable (all must match).
    #[arg(long = "grep", value_name = "TEXT")]
    pub grep: Vec<String>,

    /// Also show N records before and after each matching record.
    #[arg(short = 'C', long = "context", value_name = "N", default_value_t = 0)]
    pub context: usize,

    /// In bundles: only the logs of this host (server uuid or hostname).
    #[arg(long = "host", value_name = "UUID|HOSTNAME")]
    pub host: Option<String>,

    /// In bundles: only the logs of this source (manifest source name such as `vmapi.log`, or
    /// `vmapi` for all `vmapi.*`; a path substring for logs the manifest does not list).
    #[arg(long = "source", value_name = "NAME")]
    pub source: Option<String>,

    /// List the logs the inputs hold (host, hostname, source, size, path) instead of showing
    /// records.
    #[arg(long)]
    pub list: bool,

    /// Most bytes copied out of archives to a temporary directory ($TMPDIR) for merging.
    #[arg(long = "spool-cap", value_name = "BYTES", default_value_t = crate::bundle_input::DEFAULT_SPOOL_CAP, hide = true)]
    pub spool_cap: u64,

    /// Threads for classifying and rendering one input (default: one per core; 1 reads
    /// sequentially). Output is identical whatever the number.
    #[arg(long = "threads", value_name = "N", hide = true)]
    pub threads: Option<usize>,

    /// Input bytes per batch on the multi-threaded path.
    #[arg(long = "batch-bytes", value_name = "BYTES", default_value_t = super::parallel::BATCH_BYTES, hide = true)]
    pub batch_bytes: usize,

    /// JSON validator: auto (the fastest this CPU runs), scalar or sse2. Output is identical
    /// whichever runs; the choice lets the tests run each.
    #[arg(
        long = "json-validator",
        value_name = "NAME",
        default_value = "auto",
        hide = true
    )]
    pub json_validator: String,

    /// Longest line kept whole, in bytes; longer lines are cut with a notice.
    #[arg(long = "line-cap", value_name = "BYTES", default_value_t = crate::DEFAULT_LINE_CAP, hide = true)]
    pub line_cap: usize,
}

impl LogsArgs {
    /// Parses the arguments that follow `logs` (no program name).
    pub fn parse_from_args(args: &[OsString]) -> Result<LogsArgs, clap::Error> {
        let argv =
            std::iter::once(OsString::from("triton-analyze logs")).chain(args.iter().cloned());
        LogsArgs::try_parse_from(argv)
    }
}
