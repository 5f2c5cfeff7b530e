//! `--upload`: hands the finished bundle to Triton's own `sdc-sbupload`, which encrypts a file
//! for Triton support (S/MIME, AES-256) and uploads it to the `sbapi_url` of the headnode's
//! configuration. The customer already trusts that channel; the collector only runs the tool.
//!
//! What the tool takes (sdc-headnode `tools/bin/sdc-sbupload`): `[-I ISSUE_ID] [-p PROXY_URL]
//! [-t BUNDLE_TYPE] FILENAME`. `-t` and `-I` only name the upload (`<issue>.<type>.<dc>...`);
//! versions before 2022 know only `-p` and answer anything else with their usage line, so the
//! upload is tried once more without them. The tool writes its encrypted copy beside the file
//! (about twice the bundle's size, base64 twice over) before sending it, so that room is checked
//! first.
//!
//! The outcome goes to stderr; the exit status stays the bundle's (0 complete, 1 incomplete), as
//! the bundle is written either way.

use std::path::Path;
use std::time::Duration;

use crate::exec::{self, CommandOutput, RunLimits};
use crate::size::human;

/// The tool, looked up on PATH (Triton installs it in `/opt/smartdc/bin`).
pub const TOOL: &str = "sdc-sbupload";
/// What the upload is labelled with (`-t`).
pub const BUNDLE_TYPE: &str = "triton-support";
/// Longest an upload may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Room the encrypted copy needs beside the bundle, as a multiple of the bundle's size.
pub const ENCRYPTED_COPY_FACTOR: u64 = 2;
/// Most of the tool's output kept (for the error message).
const OUTPUT_CAP: u64 = 1 << 20;

/// What `--upload` was given.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    /// The support ticket (`-I`).
    pub ticket: Option<String>,
    /// A proxy URL for curl (`-p`).
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// `sdc-sbupload` is not on PATH.
    NotPresent,
    /// Not attempted (not enough room for the encrypted copy).
    NotAttempted(String),
    Uploaded {
        command: String,
        seconds: u64,
        /// The tool predates `-t`/`-I`; the upload went without them.
        without_labels: bool,
    },
    Failed {
        command: String,
        why: String,
    },
}

impl UploadRequest {
    /// The argument vector for `bundle`, with the labels (`-I`, `-t`) or without them.
    pub fn argv(&self, tool: &str, bundle: &Path, labels: bool) -> Vec<String> {
        let mut argv = vec![tool.to_string()];
        if labels {
            if let Some(ticket) = &self.ticket {
                argv.extend(["-I".to_string(), ticket.clone()]);
            }
        }
        if let Some(proxy) = &self.proxy {
            argv.extend(["-p".to_string(), proxy.clone()]);
        }
        if labels {
            argv.extend(["-t".to_string(), BUNDLE_TYPE.to_string()]);
        }
        argv.push(bundle.display().to_string());
        argv
    }

    /// The command a person runs to upload `bundle` later.
    pub fn manual_command(&self, bundle: &Path) -> String {
        shell_words::join(self.argv(TOOL, bundle, true))
    }
}

/// Uploads `bundle` (of `bundle_bytes`) with `sdc-sbupload` when it is on PATH; `room` is the
/// free space left beside the bundle above the reserve, when known.
pub fn upload(
    bundle: &Path,
    bundle_bytes: u64,
    room: Option<u64>,
    request: &UploadRequest,
) -> UploadOutcome {
    let Some(tool) = crate::os::on_path(TOOL) else {
        return UploadOutcome::NotPresent;
    };
    let needed = bundle_bytes.saturating_mul(ENCRYPTED_COPY_FACTOR);
    if let Some(room) = room.filter(|room| *room < needed) {
        return UploadOutcome::NotAttempted(format!(
            "{TOOL} writes an encrypted copy beside the bundle (about {}), and only {} is free \
             there above the reserve",
            human(needed),
            human(room)
        ));
    }
    let tool = tool.display().to_string();
    let labelled = request.argv(&tool, bundle, true);
    let (argv, output, without_labels) = match run(&labelled) {
        Ok(out) if out.status != Some(0) && predates_labels(&out) => {
            let plain = request.argv(&tool, bundle, false);
            (plain.clone(), run(&plain), true)
        }
        other => (labelled, other, false),
    };
    let command = shell_words::join(&argv);
    match output {
        Ok(out) if out.status == Some(0) => UploadOutcome::Uploaded {
            command,
            seconds: out.duration.as_secs(),
            without_labels,
        },
        Ok(out) => UploadOutcome::Failed {
            command,
            why: failure_reason(&out),
        },
        Err(why) => UploadOutcome::Failed { command, why },
    }
}

fn run(argv: &[String]) -> Result<CommandOutput, String> {
    let limits = RunLimits {
        timeout: TIMEOUT,
        max_stdout: OUTPUT_CAP,
    };
    exec::run(argv, &limits, None).map_err(|e| format!("cannot run {}: {e}", argv[0]))
}

/// The usage line of a version that knows only `-p` (`Usage: ...: [-p PROXY_URL] FILENAME`).
fn predates_labels(out: &CommandOutput) -> bool {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.contains("Usage:") && !text.contains("BUNDLE_TYPE")
}

fn failure_reason(out: &CommandOutput) -> String {
    if out.interrupted {
        return "interrupted (SIGINT/SIGTERM)".to_string();
    }
    if out.timed_out {
        return format!("still running after {} min; killed", TIMEOUT.as_secs() / 60);
    }
    // The tool prints its own errors (`ERROR: sbapi_url not in config`) on stdout, curl on stderr.
    let last_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    let status = out
        .status
        .map_or("killed by a signal".to_string(), |s| format!("exit {s}"));
    match last_line(&out.stderr).or_else(|| last_line(&out.stdout)) {
        Some(line) => format!("{status}: {line}"),
        None => status,
    }
}

/// The lines telling the person what happened.
pub fn report(outcome: &UploadOutcome, bundle: &Path, request: &UploadRequest) -> Vec<String> {
    let later = request.manual_command(bundle);
    match outcome {
        UploadOutcome::NotPresent => vec![
            format!(
                "upload: {TOOL} is not on PATH (Triton installs it in /opt/smartdc/bin on the \
                 headnode); nothing was uploaded"
            ),
            format!(
                "upload: attach {} to the ticket, or run `{later}` where {TOOL} is",
                bundle.display()
            ),
        ],
        UploadOutcome::NotAttempted(why) => vec![
            format!("upload: not attempted: {why}"),
            format!("upload: once there is room, run: {later}"),
        ],
        UploadOutcome::Uploaded {
            command,
            seconds,
            without_labels,
        } => {
            let mut lines = vec![format!(
                "upload: done in {seconds} s, encrypted for Triton support ({command})"
            )];
            if *without_labels {
                let dir = bundle
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                lines.push(format!(
                    "upload: this {TOOL} does not know -t/-I (older than 2022); uploaded without \
                     the label, so tell support the bundle's file name; such versions leave their \
                     encrypted copy in {}",
                    dir.display()
                ));
            }
            lines
        }
        UploadOutcome::Failed { command, why } => vec![
            format!("upload: FAILED ({command}): {why}"),
            format!(
                "upload: the bundle is still at {}; to try again: {later}",
                bundle.display()
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_real_tools_arguments() {
        let request = UploadRequest {
            ticket: Some("SUP-1234".into()),
            proxy: Some("http://proxy:3128".into()),
        };
        let bundle = Path::new("/var/tmp/b.tar.gz");
        assert_eq!(
            request.argv(TOOL, bundle, true),
            [
                TOOL,
                "-I",
                "SUP-1234",
                "-p",
                "http://proxy:3128",
                "-t",
                "triton-support",
                "/var/tmp/b.tar.gz"
            ]
        );
        assert_eq!(
            request.argv(TOOL, bundle, false),
            [TOOL, "-p", "http://proxy:3128", "/var/tmp/b.tar.gz"]
        );
        assert_eq!(
            UploadRequest::default().manual_command(bundle),
            "sdc-sbupload -t triton-support /var/tmp/b.tar.gz"
        );
    }

    #[test]
    fn recognizes_the_usage_line_of_the_old_tool() {
        let old = CommandOutput {
            stdout: b"Usage: /opt/smartdc/bin/sdc-sbupload: [-p PROXY_URL] FILENAME\n".to_vec(),
            status: Some(1),
            ..Default::default()
        };
        assert!(predates_labels(&old));
        let new = CommandOutput {
            stdout: b"Usage: sdc-sbupload: [-p PROXY_URL] [-t BUNDLE_TYPE] FILENAME\n".to_vec(),
            status: Some(1),
            ..Default::default()
        };
        assert!(!predates_labels(&new));
        let config = CommandOutput {
            stdout: b"ERROR: sbapi_http_user not in config\n".to_vec(),
            status: Some(1),
            ..Default::default()
        };
        assert!(!predates_labels(&config));
        assert_eq!(
            failure_reason(&config),
            "exit 1: ERROR: sbapi_http_user not in config"
        );
    }
}
