//! The few things that differ per operating system: signals, PATH lookup, the host name
//! (priority is in [`crate::priority`], free space in [`crate::space`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGINT/SIGTERM: stop collecting and write the bundle with what is there.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM mark the run interrupted instead of killing it, so a bundle is still
/// written (marked incomplete).
pub fn install_signal_handlers() {
    #[cfg(unix)]
    {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}

/// Where SmartOS keeps the commands the collector runs (`sysinfo`, `vmadm`, `zfs`, `sdc-*`).
/// Commands started through `sdc-oneachnode` get a minimal PATH, so these are appended to
/// whatever PATH there is (appended, so an operator's own PATH still wins).
const PLATFORM_PATH: &[&str] = &[
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/opt/smartdc/bin",
    "/smartdc/bin",
];

/// Appends the platform directories missing from PATH. Call before any thread starts.
pub fn ensure_platform_path() {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&current).collect();
    for dir in PLATFORM_PATH {
        if !dirs.iter().any(|d| d == Path::new(dir)) {
            dirs.push(PathBuf::from(dir));
        }
    }
    if let Ok(joined) = std::env::join_paths(dirs) {
        std::env::set_var("PATH", joined);
    }
}

/// The first executable `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        }
        #[cfg(not(unix))]
        Ok(m) => m.is_file(),
        Err(_) => false,
    }
}

/// This machine's node name, when `sysinfo` cannot say.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            if let Ok(name) = std::str::from_utf8(&buf[..end]) {
                if !name.is_empty() {
                    return name.to_string();
                }
            }
        }
    }
    "unknown-host".to_string()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_and_the_host_name() {
        assert!(on_path("sh").is_some());
        assert!(on_path("surely-not-a-program-xyz").is_none());
        assert!(!hostname().is_empty());
    }
}

/// Bytes this thread has read through `read(2)`-like calls so far (Linux `rchar` of
/// `/proc/thread-self/io`), to measure what slicing a log read, bisection probes included.
/// `None` where the OS does not say (illumos keeps it in a binary `lwpusage`; not read here).
pub fn thread_bytes_read() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("rchar:"))
            .and_then(|v| v.trim().parse().ok())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
