//! Running one command with a time limit and an output cap.
//!
//! The command gets its own process group so that a timeout kills everything it started (the
//! `sdc-*` wrappers are shell scripts running curl and json). The group is first asked to stop
//! (SIGTERM, so `sdc-oneachnode` and curl can close their connections), then killed (SIGKILL)
//! after a short grace period, whether or not the command ignored the request; members that
//! outlived their leader go too. Output read before the kill is kept. Reader threads that do not finish shortly after the kill (a grandchild that left the
//! group still holding the pipe) are abandoned rather than waited for.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Keeps or drops one complete output line (without its newline).
pub type LineFilter = Box<dyn FnMut(&[u8]) -> bool + Send>;

/// Most stderr kept: it is only used for error messages.
const STDERR_CAP: usize = 64 * 1024;
/// How long reader threads may take to drain after the process is gone.
const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// How long a command asked to stop (SIGTERM) may take before it is killed (SIGKILL).
pub const TERM_GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct CommandOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit status; `None` when killed by a signal or not waited for.
    pub status: Option<i32>,
    pub timed_out: bool,
    /// Killed because the collector was told to stop (SIGINT/SIGTERM).
    pub interrupted: bool,
    /// Stdout exceeded the cap; the process was killed and the output cut at the cap.
    pub truncated: bool,
    /// Stdout bytes the command printed (before filtering and capping), as far as read.
    pub original_bytes: u64,
    pub duration: Duration,
}

impl CommandOutput {
    /// The last non-empty stderr line, for error messages.
    pub fn stderr_tail(&self) -> String {
        String::from_utf8_lossy(&self.stderr)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

/// What a run may use.
pub struct RunLimits {
    pub timeout: Duration,
    pub max_stdout: u64,
}

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    seen: u64,
    over_cap: bool,
    done: bool,
}

/// Runs `argv` with stdin closed. Errors only when the command cannot be started.
pub fn run(
    argv: &[String],
    limits: &RunLimits,
    filter: Option<LineFilter>,
) -> std::io::Result<CommandOutput> {
    let started = Instant::now();
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let out = Arc::new(Mutex::new(Captured::default()));
    let err = Arc::new(Mutex::new(Captured::default()));
    let out_reader = stdout.map(|s| spawn_reader(s, Arc::clone(&out), limits.max_stdout, filter));
    let err_reader = stderr.map(|s| spawn_reader(s, Arc::clone(&err), STDERR_CAP as u64, None));

    let mut timed_out = false;
    let mut interrupted = false;
    let mut killed_for_size = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if crate::os::interrupted() {
            interrupted = true;
            break stop_group(&mut child);
        }
        if started.elapsed() >= limits.timeout {
            timed_out = true;
            break stop_group(&mut child);
        }
        if lock(&out).over_cap {
            killed_for_size = true;
            break stop_group(&mut child);
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Whatever the child left running in its group goes too (`stop_group` already killed the
    // group once; a member may have forked since).
    let killed = timed_out || killed_for_size || interrupted;
    if killed {
        kill_group(&child);
    }
    let grace_end = Instant::now() + DRAIN_GRACE;
    for reader in [out_reader, err_reader].into_iter().flatten() {
        while !reader.is_finished() && Instant::now() < grace_end {
            thread::sleep(Duration::from_millis(5));
        }
        if reader.is_finished() {
            let _ = reader.join();
        }
    }
    let out = std::mem::take(&mut *lock(&out));
    let err = std::mem::take(&mut *lock(&err));
    let exit = if killed {
        None
    } else {
        status.and_then(|s| s.code())
    };
    Ok(CommandOutput {
        stdout: out.kept,
        stderr: err.kept,
        status: exit,
        timed_out,
        interrupted,
        truncated: out.over_cap,
        original_bytes: out.seen,
        duration: started.elapsed(),
    })
}

fn lock(m: &Mutex<Captured>) -> std::sync::MutexGuard<'_, Captured> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn spawn_reader(
    mut source: impl Read + Send + 'static,
    sink: Arc<Mutex<Captured>>,
    cap: u64,
    mut filter: Option<LineFilter>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        let mut partial: Vec<u8> = Vec::new();
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut c = lock(&sink);
            c.seen += n as u64;
            if c.over_cap {
                continue;
            }
            match filter.as_mut() {
                None => keep(&mut c, &buf[..n], cap),
                Some(f) => {
                    partial.extend_from_slice(&buf[..n]);
                    while let Some(nl) = partial.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = partial.drain(..=nl).collect();
                        if f(&line[..line.len() - 1]) {
                            keep(&mut c, &line, cap);
                        }
                    }
                }
            }
        }
        let mut c = lock(&sink);
        if let Some(f) = filter.as_mut() {
            if !partial.is_empty() && f(&partial) {
                keep(&mut c, &partial, cap);
            }
        }
        c.done = true;
    })
}

fn keep(c: &mut Captured, data: &[u8], cap: u64) {
    let room = cap.saturating_sub(c.kept.len() as u64) as usize;
    if data.len() > room {
        c.kept.extend_from_slice(&data[..room]);
        c.over_cap = true;
    } else {
        c.kept.extend_from_slice(data);
    }
}

/// Asks the child's process group to stop, waits up to [`TERM_GRACE`] for the child, then
/// kills the group; returns the child's status.
fn stop_group(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    signal_group(child, Signal::Terminate);
    let asked = Instant::now();
    let mut status = None;
    while asked.elapsed() < TERM_GRACE {
        match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                break;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    kill_group(child);
    status.or_else(|| child.wait().ok())
}

enum Signal {
    Terminate,
    Kill,
}

/// Kills the child's whole process group.
fn kill_group(child: &std::process::Child) {
    signal_group(child, Signal::Kill);
}

#[cfg(unix)]
fn signal_group(child: &std::process::Child, signal: Signal) {
    let pid = child.id() as libc::pid_t;
    let signal = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: killpg only sends a signal; the group id is the child's pid because it was
    // started with process_group(0). The id stays taken while any member of the group lives;
    // once all are gone the call fails harmlessly (ESRCH).
    unsafe {
        libc::killpg(pid, signal);
    }
}

#[cfg(not(unix))]
fn signal_group(child: &std::process::Child, _signal: Signal) {
    // No process groups: the child alone.
    let _ = child.id();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    fn limits(secs: u64, cap: u64) -> RunLimits {
        RunLimits {
            timeout: Duration::from_secs(secs),
            max_stdout: cap,
        }
    }

    #[test]
    fn captures_output_and_status() {
        let out = run(
            &sh("echo hello; echo oops >&2; exit 3"),
            &limits(10, 1024),
            None,
        )
        .expect("run");
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr_tail(), "oops");
        assert_eq!(out.status, Some(3));
        assert!(!out.timed_out && !out.truncated);
    }

    #[test]
    fn timeout_kills_the_whole_group_and_keeps_partial_output() {
        let started = Instant::now();
        let out = run(
            &sh("echo partial; sleep 30 & sleep 30; echo never"),
            &limits(1, 1024),
            None,
        )
        .expect("run");
        assert!(out.timed_out);
        assert_eq!(out.status, None);
        assert_eq!(out.stdout, b"partial\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_command_ignoring_sigterm_is_killed_after_the_grace_with_its_children() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let script = format!(
            "trap '' TERM; sleep 30 & echo $! > '{}'; echo started; while :; do sleep 1; done",
            pids.display()
        );
        let started = Instant::now();
        let out = run(&sh(&script), &limits(1, 1024), None).expect("run");
        assert!(out.timed_out);
        assert_eq!(out.stdout, b"started\n");
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs(1) + TERM_GRACE / 2 && elapsed < Duration::from_secs(6),
            "{elapsed:?}"
        );
        let child: i32 = std::fs::read_to_string(&pids)
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        assert!(
            gone(child),
            "the child {child} that ignored SIGTERM still runs"
        );
    }

    /// Whether a process no longer runs (absent, or a zombie awaiting its reaper).
    fn gone(pid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next()))
                .flatten();
            // SAFETY: signal 0 only checks for existence.
            let exists = unsafe { libc::kill(pid, 0) } == 0;
            if !exists || state == Some('Z') {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn endless_output_is_capped() {
        let started = Instant::now();
        let out = run(&sh("yes flood"), &limits(20, 10_000), None).expect("run");
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), 10_000);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn filter_keeps_matching_lines() {
        let filter: LineFilter = Box::new(|l: &[u8]| l.starts_with(b"keep"));
        let out = run(
            &sh("printf 'keep 1\\ndrop\\nkeep 2'"),
            &limits(10, 1024),
            Some(filter),
        )
        .expect("run");
        assert_eq!(out.stdout, b"keep 1\nkeep 2");
        assert_eq!(out.original_bytes, 18);
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(run(&["/nonexistent/program".to_string()], &limits(1, 10), None).is_err());
    }
}
