//! Paging output through `less` (or `$PAGER`) the way the bunyan CLI does: only when both stdin
//! and stdout are terminals and files were named, never when output goes to a pipe or a file.

use std::io::{self, IsTerminal};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Whether to page: `--pager` forces it (on a terminal), `--no-pager` or a non-empty
/// `BUNYAN_NO_PAGER` turns it off.
pub fn wanted(force: bool, refuse: bool, has_paths: bool) -> bool {
    let terminal = io::stdout().is_terminal() && io::stdin().is_terminal();
    let env_off = std::env::var_os("BUNYAN_NO_PAGER").is_some_and(|v| !v.is_empty());
    terminal && has_paths && !refuse && (force || !env_off)
}

/// A running pager and the pipe into it.
pub struct Pager {
    child: Child,
}

impl Pager {
    /// Starts `$PAGER` (split on whitespace) or `less`, with `LESS=FRX` unless `LESS` is set.
    pub fn start() -> io::Result<(Pager, ChildStdin)> {
        let command = std::env::var("PAGER")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "less".to_string());
        let mut words = command.split_whitespace();
        let program = words.next().unwrap_or("less");
        let mut cmd = Command::new(program);
        cmd.args(words).stdin(Stdio::piped());
        if std::env::var_os("LESS").is_none() {
            cmd.env("LESS", "FRX");
        }
        let mut child = cmd.spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("pager has no stdin"))?;
        Ok((Pager { child }, stdin))
    }

    /// Waits for the pager (after its input was closed) and returns its exit status.
    pub fn wait(mut self) -> i32 {
        self.child
            .wait()
            .ok()
            .and_then(|status| status.code())
            .unwrap_or(0)
    }
}
