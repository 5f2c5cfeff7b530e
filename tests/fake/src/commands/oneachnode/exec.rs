//! Runs a command with captured output and a deadline, as ur-agent does on a node.
//!
//! The command gets its own process group so a timeout kills everything it started (a hung
//! `zpool` under `sh -c`, say), not just the shell.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Output kept per stream; the rest is read and dropped so a flooding command cannot exhaust
/// memory (it runs until the deadline instead).
const CAPTURE_LIMIT: usize = 16 * 1024 * 1024;

/// What a finished command left behind.
#[derive(Debug)]
pub struct Finished {
    /// Exit code, or 128 + signal number when a signal ended it.
    pub exit_status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Why a command has no result.
#[derive(Debug)]
pub enum ExecError {
    TimedOut,
    Spawn(std::io::Error),
}

/// Runs `command` (stdin closed), returning its output, or `TimedOut` after killing its process
/// group when it (or anything still holding its output open) outlives `timeout`.
pub fn run(mut command: Command, timeout: Duration) -> Result<Finished, ExecError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(ExecError::Spawn)?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut status = None;
    loop {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
        }
        if status.is_some() && stdout.is_finished() && stderr.is_finished() {
            break;
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            let _ = stdout.join();
            let _ = stderr.join();
            return Err(ExecError::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let exit_status = status.map_or(1, |s| {
        s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
    });
    Ok(Finished {
        exit_status,
        stdout: String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
    })
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else { return kept };
        let mut buf = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = CAPTURE_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for this child;
        // it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let done = run(cmd, Duration::from_secs(10)).unwrap();
        assert_eq!(
            (done.exit_status, done.stdout.as_str(), done.stderr.as_str()),
            (3, "out\n", "err\n")
        );
    }

    #[test]
    fn kills_the_whole_group_at_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 | cat; echo never"]);
        let started = Instant::now();
        assert!(matches!(
            run(cmd, Duration::from_millis(300)),
            Err(ExecError::TimedOut)
        ));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
