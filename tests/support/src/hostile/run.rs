//! Running a command under a wall-clock limit, measuring its peak resident memory (from the
//! kernel's `wait4` accounting, so nothing outside the process is needed).

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a limited run did.
#[derive(Debug)]
pub struct Limited {
    /// The exit code, `None` when a signal ended it (a crash, or the kill at the time limit).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Peak resident set size, KiB, sampled every 10 ms (growth in the last few ms is missed).
    pub max_rss_kib: u64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `command` (its stdout and stderr captured), killing it after `limit`.
pub fn run_limited(command: &mut Command, limit: Duration) -> Limited {
    run_limited_to(command, limit, None)
}

/// As [`run_limited`], with stdout going to `stdout_file` when given (for large output).
pub fn run_limited_to(
    command: &mut Command,
    limit: Duration,
    stdout_file: Option<File>,
) -> Limited {
    // /usr/bin/time reports its child's peak exactly (see `high_water_kib` for why the test's own
    // accounting cannot); without it the peak is only sampled.
    let time_report = std::env::temp_dir().join(format!(
        "hostile-rss-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut timed = Command::new("/usr/bin/time");
    let command = if Path::new("/usr/bin/time").exists() {
        timed
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&time_report)
            .arg(command.get_program())
            .args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            timed.current_dir(dir);
        }
        &mut timed
    } else {
        command
    };
    let started = Instant::now();
    let stdout_to = match stdout_file {
        Some(file) => Stdio::from(file),
        None => Stdio::piped(),
    };
    // Reaped below with waitpid, which also lets the kernel's exit status be read exactly.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout_to)
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    let pid = child.id() as libc::pid_t;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut data = Vec::new();
            let _ = pipe.read_to_end(&mut data);
            data
        })
    };
    let stdout = child.stdout.take().map(|pipe| drain(Box::new(pipe)));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let mut status: libc::c_int = 0;
    let mut timed_out = false;
    let mut peak_kib = 0;
    loop {
        // The kernel's own accounting (wait4's ru_maxrss) cannot be used: a child started with
        // vfork inherits the high-water mark of the test process. VmHWM belongs to the child's
        // own address space, made at exec; it is sampled until the child ends.
        peak_kib = peak_kib.max(high_water_kib(pid));
        for child in children(pid) {
            peak_kib = peak_kib.max(high_water_kib(child));
        }
        // SAFETY: waits for our own child only; the pointers are to live locals.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        assert!(
            done == 0,
            "waitpid failed: {}",
            std::io::Error::last_os_error()
        );
        if !timed_out && started.elapsed() > limit {
            timed_out = true;
            // SAFETY: signals the process group of the child we started (its own group, made
            // at spawn) and have not reaped yet.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    let exited = libc::WIFEXITED(status);
    let mut code = exited.then(|| libc::WEXITSTATUS(status));
    let mut signal = (!exited && libc::WIFSIGNALED(status)).then(|| libc::WTERMSIG(status));
    if let Ok(text) = std::fs::read_to_string(&time_report) {
        let _ = std::fs::remove_file(&time_report);
        if let Some(kib) = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
        {
            peak_kib = peak_kib.max(kib);
        }
        // time exits with 128 + N for a child killed by signal N, and says so.
        if let Some(n) = text
            .lines()
            .find_map(|l| l.strip_prefix("Command terminated by signal "))
            .and_then(|n| n.trim().parse().ok())
        {
            signal = Some(n);
            code = None;
        }
    }
    Limited {
        code,
        signal,
        timed_out,
        elapsed,
        max_rss_kib: peak_kib,
        stdout: stdout
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The children of a live process (empty when the kernel does not list them).
fn children(pid: libc::pid_t) -> Vec<libc::pid_t> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `VmHWM` of a live process, KiB (0 once it is gone).
fn high_water_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_limits() {
        let quick = run_limited(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(quick.code, Some(3));
        assert_eq!(quick.stdout, b"out\n");
        assert_eq!(quick.stderr, b"err\n");
        let big = run_limited(
            Command::new("sh").args([
                "-c",
                "x=$(head -c 50000000 /dev/zero | tr '\\0' a); sleep 0.1",
            ]),
            Duration::from_secs(20),
        );
        assert!(big.max_rss_kib > 40_000, "{}", big.max_rss_kib);
        let crash = run_limited(
            Command::new("sh").args(["-c", "kill -SEGV $$"]),
            Duration::from_secs(10),
        );
        assert_eq!((crash.code, crash.signal), (None, Some(libc::SIGSEGV)));
        let slow = run_limited(Command::new("sleep").arg("30"), Duration::from_millis(200));
        assert!(slow.timed_out);
        assert_eq!(slow.signal, Some(libc::SIGKILL));
        assert!(slow.elapsed < Duration::from_secs(10));
    }
}
