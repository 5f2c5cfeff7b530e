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
        FaultKind::Fail { status, stderr } => {
            let mut text = stderr.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            Action::Fail(Reply::error(*status, text))
        }
    })
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
