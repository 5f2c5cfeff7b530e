//! Misbehaving commands (`Host.faults`), so collector tests can see hangs, floods and failures.

use std::io::Write;
use std::time::Duration;

use crate::reply::{Reply, STATUS_BROKEN_PIPE};
use crate::state::{FaultKind, Host};

/// What a matching fault does to the command.
pub enum Action {
    /// Sleep this long, then answer normally.
    Hang(Duration),
    /// Write the normal answer over and over until the reader goes away.
    Flood,
    /// Answer with this failure instead.
    Fail(Reply),
    /// Ignore SIGTERM (and have a child that ignores it, its pid written to the file), sleep
    /// this long, then answer normally.
    IgnoreTerm {
        sleep: Duration,
        pid_file: Option<String>,
    },
}

/// The first fault of `host` matching this command line, if any.
pub fn find(host: &Host, command: &str, args: &[String]) -> Option<Action> {
    let joined = args.join(" ");
    let fault = host.faults.iter().find(|f| {
        f.command == command && (f.args_contain.is_empty() || joined.contains(&f.args_contain))
    })?;
    Some(match &fault.kind {
        FaultKind::Hang { seconds } => Action::Hang(Duration::from_secs(*seconds)),
        FaultKind::Flood => Action::Flood,
        FaultKind::Fail {
            status,
            stdout,
            stderr,
        } => {
            let mut text = stderr.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let mut reply = Reply::error(*status, text);
            reply.stdout = stdout.clone().into_bytes();
            Action::Fail(reply)
        }
        FaultKind::IgnoreTerm { seconds, pid_file } => Action::IgnoreTerm {
            sleep: Duration::from_secs(*seconds),
            pid_file: pid_file.clone(),
        },
    })
}

/// Makes this process deaf to SIGTERM, starts a `sleep` child that inherits the deafness and
/// writes its pid to `pid_file`, then sleeps `duration`. Failing to start the child is not an
/// error: the process itself still ignores SIGTERM.
pub fn ignore_term(duration: Duration, pid_file: Option<&str>) {
    #[cfg(unix)]
    // SAFETY: setting one signal's disposition to "ignore"; no handler runs.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
    let child = std::process::Command::new("sleep")
        .arg(duration.as_secs().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let (Ok(child), Some(path)) = (&child, pid_file) {
        let _ = std::fs::write(path, format!("{}\n", child.id()));
    }
    std::thread::sleep(duration);
}

/// Writes the reply's stdout (or a filler line when it has none) endlessly. Returns the status a
/// shell would see once the reader closes the pipe; never panics.
pub fn flood(reply: &Reply) -> i32 {
    let chunk: &[u8] = if reply.stdout.is_empty() {
        b"flood\n"
    } else {
        &reply.stdout
    };
    let mut stdout = std::io::stdout().lock();
    loop {
        if stdout.write_all(chunk).is_err() {
            return STATUS_BROKEN_PIPE;
        }
    }
}
